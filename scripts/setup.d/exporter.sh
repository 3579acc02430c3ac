# shellcheck shell=bash
# Sourced by scripts/setup.sh (which defines apt_install): what the
# shoal-exporter tests need.
#   prometheus                 real Prometheus + promtool (tests/prometheus.rs, tests/deploy.rs)
#   prometheus-redis-exporter  the reference for metric names (tests/parity.rs)
#   redis-sentinel             a real sentinel target (tests/sentinel.rs, parity, prometheus)
apt_install prometheus prometheus-redis-exporter redis-sentinel
# Debian starts these as services when it can (prometheus on 9090, the
# exporter on 9121); tests never use those ports, so they are left alone.
