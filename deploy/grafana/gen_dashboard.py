#!/usr/bin/env python3
"""Writes dashboards/shoal-overview.json, the Shoal Grafana dashboard.

The dashboard is generated so that its panels stay consistent (ids, grid,
datasource, selectors); edit the PANELS table below and run this script.
Every `expr` is evaluated against a real Prometheus by
exporter/tests/prometheus.rs, which substitutes the template variables
($job, $instance, $cmd -> ".*", $__rate_interval -> 1m, $__interval -> 15s).
Metric names are redis_exporter's, so the panels also work with it (except
the ones marked beyond redis_exporter: latency histograms need redis_exporter
>= 1.48, shard panels need shoal-server).
"""
import json
import os

DS = {"type": "prometheus", "uid": "shoal-prometheus"}
SEL = 'job=~"$job", instance=~"$instance"'

# (row title, [panel]) ; panel = (type, title, unit, width, height, [(expr, legend)], extra)
ROWS = [
    ("Overview (seed 004)", [
        ("stat", "Up", "none", 4, 4, [(f'sum(redis_up{{{SEL}}})', "up")], {}),
        ("stat", "Max uptime", "s", 4, 4, [(f'max(max_over_time(redis_uptime_in_seconds{{{SEL}}}[$__interval]))', "uptime")], {}),
        ("stat", "Clients", "none", 4, 4, [(f'sum(redis_connected_clients{{{SEL}}})', "clients")], {}),
        ("gauge", "Memory usage of maxmemory", "percent", 4, 4,
         [(f'max(100 * redis_memory_used_bytes{{{SEL}}} / (redis_memory_max_bytes{{{SEL}}} > 0))', "used %")],
         {"max": 100}),
        ("stat", "Keys", "none", 4, 4, [(f'sum(redis_db_keys{{{SEL}}})', "keys")], {}),
        ("stat", "Hit rate (5m)", "percentunit", 4, 4,
         [(f'sum(rate(redis_keyspace_hits_total{{{SEL}}}[5m])) / (sum(rate(redis_keyspace_hits_total{{{SEL}}}[5m])) + sum(rate(redis_keyspace_misses_total{{{SEL}}}[5m])))', "hit rate")], {}),
    ]),
    ("Commands", [
        ("timeseries", "Commands/s", "ops", 12, 8,
         [(f'sum by (instance) (rate(redis_commands_processed_total{{{SEL}}}[$__rate_interval]))', "{{instance}}")], {}),
        ("timeseries", "Commands/s by command", "ops", 12, 8,
         [(f'sum by (cmd) (rate(redis_commands_total{{{SEL}}}[$__rate_interval]))', "{{cmd}}")], {}),
        ("timeseries", "Average time per command", "s", 12, 8,
         [(f'sum by (cmd) (irate(redis_commands_duration_seconds_total{{{SEL}}}[1m])) / sum by (cmd) (irate(redis_commands_total{{{SEL}}}[1m]))', "{{cmd}}")], {}),
        ("timeseries", "Hits / misses per second", "ops", 12, 8,
         [(f'sum by (instance) (irate(redis_keyspace_hits_total{{{SEL}}}[5m]))', "hits {{instance}}"),
          (f'sum by (instance) (irate(redis_keyspace_misses_total{{{SEL}}}[5m]))', "misses {{instance}}")], {}),
        ("timeseries", "Errors per second by type", "ops", 12, 8,
         [(f'sum by (err) (rate(redis_errors_total{{{SEL}}}[$__rate_interval]))', "{{err}}")], {}),
        ("timeseries", "Slowlog length and latency spikes", "none", 12, 8,
         [(f'max by (instance) (redis_slowlog_length{{{SEL}}})', "slowlog {{instance}}"),
          (f'max by (instance, event_name) (redis_latency_spike_duration_seconds{{{SEL}}})', "spike {{event_name}}")], {}),
    ]),
    ("Latency (LATENCY HISTOGRAM, beyond redis_exporter 1.45)", [
        ("timeseries", "p50 / p99 / p99.9 by command", "s", 12, 9,
         [(f'histogram_quantile({q}, sum by (cmd, le) (rate(redis_commands_latencies_usec_bucket{{{SEL}, cmd=~"$cmd"}}[$__rate_interval]))) / 1e6', f"p{label} {{{{cmd}}}}")
          for q, label in (("0.5", "50"), ("0.99", "99"), ("0.999", "99.9"))], {}),
        ("heatmap", "Latency heatmap", "s", 12, 9,
         [(f'sum by (le) (increase(redis_commands_latencies_usec_bucket{{{SEL}, cmd=~"$cmd"}}[$__rate_interval]))', "{{le}}")],
         {"format": "heatmap"}),
        ("timeseries", "Server-side p99 (INFO latencystats)", "µs", 24, 7,
         [(f'max by (cmd) (redis_latency_percentiles_usec{{{SEL}, cmd=~"$cmd", quantile="99"}})', "{{cmd}}")], {}),
    ]),
    ("CPU and memory", [
        ("timeseries", "CPU seconds per second", "percentunit", 12, 8,
         [(f'sum by (instance) (rate(redis_cpu_sys_seconds_total{{{SEL}}}[$__rate_interval]))', "sys {{instance}}"),
          (f'sum by (instance) (rate(redis_cpu_user_seconds_total{{{SEL}}}[$__rate_interval]))', "user {{instance}}")], {}),
        ("timeseries", "Memory", "bytes", 12, 8,
         [(f'redis_memory_used_bytes{{{SEL}}}', "used {{instance}}"),
          (f'redis_memory_max_bytes{{{SEL}}}', "max {{instance}}"),
          (f'redis_memory_used_rss_bytes{{{SEL}}}', "rss {{instance}}")], {}),
    ]),
    ("Clients and network", [
        ("timeseries", "Connected / blocked clients", "none", 8, 8,
         [(f'sum by (instance) (redis_connected_clients{{{SEL}}})', "connected {{instance}}"),
          (f'sum by (instance) (redis_blocked_clients{{{SEL}}})', "blocked {{instance}}")], {}),
        ("timeseries", "Rejected connections per second", "ops", 8, 8,
         [(f'sum by (instance) (rate(redis_rejected_connections_total{{{SEL}}}[$__rate_interval]))', "{{instance}}")], {}),
        ("timeseries", "Network I/O", "Bps", 8, 8,
         [(f'sum by (instance) (rate(redis_net_input_bytes_total{{{SEL}}}[5m]))', "in {{instance}}"),
          (f'sum by (instance) (rate(redis_net_output_bytes_total{{{SEL}}}[5m]))', "out {{instance}}")], {}),
    ]),
    ("Keys", [
        ("timeseries", "Keys per DB", "none", 8, 8,
         [(f'sum by (db, instance) (redis_db_keys{{{SEL}}}) > 0', "{{instance}} {{db}}")], {}),
        ("timeseries", "Expiring vs not expiring keys", "none", 8, 8,
         [(f'sum by (instance) (redis_db_keys{{{SEL}}}) - sum by (instance) (redis_db_keys_expiring{{{SEL}}})', "not expiring {{instance}}"),
          (f'sum by (instance) (redis_db_keys_expiring{{{SEL}}})', "expiring {{instance}}")], {}),
        ("timeseries", "Expired / evicted keys per second", "ops", 8, 8,
         [(f'sum by (instance) (rate(redis_expired_keys_total{{{SEL}}}[5m]))', "expired {{instance}}"),
          (f'sum by (instance) (rate(redis_evicted_keys_total{{{SEL}}}[5m]))', "evicted {{instance}}")], {}),
    ]),
    ("Replication", [
        ("timeseries", "Replication offsets", "bytes", 8, 8,
         [(f'redis_master_repl_offset{{{SEL}, role="primary"}}', "primary {{instance}}"),
          (f'redis_connected_slave_offset_bytes{{{SEL}}}', "replica {{slave_ip}}:{{slave_port}}")], {}),
        ("timeseries", "Replication lag", "s", 8, 8,
         [(f'max by (instance, slave_ip, slave_port) (redis_connected_slave_lag_seconds{{{SEL}}})', "{{slave_ip}}:{{slave_port}} (s since ACK)")],
         {"thresholds": 5}),
        ("timeseries", "Replication lag in bytes", "bytes", 8, 8,
         [(f'max by (instance) (redis_master_repl_offset{{{SEL}}}) - on (instance) group_right max by (instance, slave_ip, slave_port) (redis_connected_slave_offset_bytes{{{SEL}}})', "{{slave_ip}}:{{slave_port}}")], {}),
        ("stat", "Connected replicas", "none", 8, 4,
         [(f'sum by (instance) (redis_connected_slaves{{{SEL}, role="primary"}})', "{{instance}}")], {}),
        ("stat", "Replica link up", "none", 8, 4,
         [(f'min by (instance) (redis_master_link_up{{{SEL}}})', "{{instance}}")], {}),
        ("stat", "Last RDB save ok", "none", 8, 4,
         [(f'min by (instance) (redis_rdb_last_bgsave_status{{{SEL}}})', "{{instance}}")], {}),
    ]),
    ("Sentinel", [
        ("table", "Masters seen by sentinels", "none", 12, 8,
         [(f'max by (instance, master_name, master_address, master_status) (redis_sentinel_master_status{{{SEL}}})', "")],
         {"instant": True}),
        ("timeseries", "Replicas and sentinels per master (ok / known)", "none", 12, 8,
         [(f'max by (master_name) (redis_sentinel_master_ok_slaves{{{SEL}}})', "ok replicas {{master_name}}"),
          (f'max by (master_name) (redis_sentinel_master_slaves{{{SEL}}})', "replicas {{master_name}}"),
          (f'max by (master_name) (redis_sentinel_master_ok_sentinels{{{SEL}}})', "ok sentinels {{master_name}}"),
          (f'max by (master_name) (redis_sentinel_master_sentinels{{{SEL}}})', "sentinels {{master_name}}")], {}),
        ("stat", "Failovers (config epoch changes, 1h)", "none", 8, 4,
         [(f'changes((max by (master_name) (redis_sentinel_master_config_epoch{{{SEL}}}))[1h:])', "{{master_name}}")], {}),
        ("stat", "Quorum reachable", "none", 8, 4,
         [(f'min by (master_name) (redis_sentinel_master_ckquorum_status{{{SEL}}})', "{{master_name}}")], {}),
        ("stat", "Sentinels in TILT", "none", 8, 4,
         [(f'sum(redis_sentinel_tilt{{{SEL}}})', "tilt")], {}),
    ]),
    ("Shards (shoal-server)", [
        ("timeseries", "Keys per shard", "none", 8, 8,
         [(f'sum by (instance, shard) (redis_shard_keys{{{SEL}}})', "{{instance}} shard {{shard}}")], {}),
        ("timeseries", "Commands/s per shard", "ops", 8, 8,
         [(f'sum by (instance, shard) (rate(redis_shard_commands_total{{{SEL}}}[$__rate_interval]))', "{{instance}} shard {{shard}}")], {}),
        ("timeseries", "Cross-shard hops/s", "ops", 8, 8,
         [(f'sum by (instance, shard) (rate(redis_shard_hops_out_total{{{SEL}}}[$__rate_interval]))', "out {{instance}} shard {{shard}}"),
          (f'sum by (instance, shard) (rate(redis_shard_hops_in_total{{{SEL}}}[$__rate_interval]))', "in {{instance}} shard {{shard}}")], {}),
        ("timeseries", "Memory per shard", "bytes", 12, 8,
         [(f'sum by (instance, shard) (redis_shard_memory_used_bytes{{{SEL}}})', "{{instance}} shard {{shard}}")], {}),
        ("timeseries", "Clients per shard", "none", 12, 8,
         [(f'sum by (instance, shard) (redis_shard_connected_clients{{{SEL}}})', "{{instance}} shard {{shard}}")], {}),
    ]),
]


def panel(pid, kind, title, unit, w, h, x, y, exprs, extra):
    targets = []
    for i, (expr, legend) in enumerate(exprs):
        t = {"datasource": DS, "expr": expr, "legendFormat": legend, "refId": chr(ord("A") + i)}
        if extra.get("format"):
            t["format"] = extra["format"]
        if extra.get("instant"):
            t["instant"] = True
            t["format"] = "table"
        targets.append(t)
    p = {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": DS,
        "gridPos": {"h": h, "w": w, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "targets": targets,
    }
    if "max" in extra:
        p["fieldConfig"]["defaults"]["max"] = extra["max"]
    if "thresholds" in extra:
        p["fieldConfig"]["defaults"]["thresholds"] = {
            "mode": "absolute",
            "steps": [{"color": "green", "value": None}, {"color": "red", "value": extra["thresholds"]}],
        }
    if kind == "heatmap":
        p["options"] = {"calculate": False, "yAxis": {"unit": "µs"}, "cellGap": 1}
    return p


def dashboard():
    panels, pid, y = [], 1, 0
    for row_title, row_panels in ROWS:
        panels.append({"id": pid, "type": "row", "title": row_title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid += 1
        y += 1
        x, row_h = 0, 0
        for kind, title, unit, w, h, exprs, extra in row_panels:
            if x + w > 24:
                x, y = 0, y + row_h
                row_h = 0
            panels.append(panel(pid, kind, title, unit, w, h, x, y, exprs, extra))
            pid += 1
            x += w
            row_h = max(row_h, h)
        y += row_h
    def var(name, query, label):
        return {
            "name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": name}, "definition": query,
            "includeAll": True, "multi": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "refresh": 2, "sort": 1,
        }
    return {
        "uid": "shoal-overview",
        "title": "Shoal / Redis overview",
        "description": "shoal-server, redis-server and sentinels through shoal-exporter (redis_exporter metric names). Generated by deploy/grafana/gen_dashboard.py.",
        "tags": ["shoal", "redis"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [
            var("job", "label_values(redis_up, job)", "Job"),
            var("instance", 'label_values(redis_up{job=~"$job"}, instance)', "Instance"),
            var("cmd", 'label_values(redis_commands_latencies_usec_bucket{job=~"$job", instance=~"$instance"}, cmd)', "Command"),
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }


if __name__ == "__main__":
    import sys
    text = json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"
    if "--stdout" in sys.argv:
        sys.stdout.write(text)
    else:
        out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboards", "shoal-overview.json")
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
        print(out)
