//! SLOWLOG GET/LEN/RESET and LATENCY LATEST/HISTORY/RESET/DOCTOR/GRAPH
//! (+ HISTOGRAM, whose handler lives with INFO's latencystats in
//! [`super::info`]). Every shard keeps its own records
//! ([`crate::shard::slowlog`]); these commands gather and merge them.

use super::args::parse_i64_or;
use super::ctx::{encode, Ctx};
use super::errors::{self, CmdError, CmdResult};
use super::spec::{flags::*, CommandSpec};
use crate::shard::slowlog::{LatencyEvent, SlowEntry};
use resp::Request;
use std::collections::BTreeMap;

fn slowlog_get(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    if req.len() > 3 {
        return Err(errors::subcommand_syntax(req.arg(1), "slowlog"));
    }
    let count = if req.len() == 3 {
        let err = CmdError::fixed("ERR count should be greater than or equal to -1");
        let n = parse_i64_or(req.arg(2), err.clone())?;
        if n < -1 {
            return Err(err);
        }
        n
    } else {
        10
    };
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let max_len = home.state.borrow().config.slowlog_max_len;
        let lists = home
            .broadcast(|s| {
                s.state
                    .borrow()
                    .observed
                    .slow
                    .iter()
                    .cloned()
                    .collect::<Vec<SlowEntry>>()
            })
            .await;
        let mut all: Vec<SlowEntry> = lists.into_iter().flatten().collect();
        all.sort_unstable_by_key(|e| std::cmp::Reverse(e.id));
        all.truncate(max_len);
        if count >= 0 {
            all.truncate(usize::try_from(count).unwrap_or(usize::MAX));
        }
        encode(proto, |w| {
            w.array(all.len());
            for e in &all {
                w.array(6);
                w.int(i64::try_from(e.id).unwrap_or(i64::MAX));
                w.int(e.time);
                w.int(i64::try_from(e.micros).unwrap_or(i64::MAX));
                w.array(e.argv.len());
                for a in &e.argv {
                    w.bulk(a);
                }
                w.bulk(e.peer.as_bytes());
                w.bulk(&e.name);
            }
        })
    });
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let max_len = home.state.borrow().config.slowlog_max_len;
        let n: usize = home
            .broadcast(|s| s.state.borrow().observed.slow.len())
            .await
            .into_iter()
            .sum();
        encode(proto, |w| w.int(n.min(max_len) as i64))
    });
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        home.broadcast(|s| s.state.borrow_mut().observed.slow.clear())
            .await;
        encode(proto, |w| w.ok())
    });
    Ok(())
}

fn slowlog_help(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    super::help_reply(
        ctx,
        "SLOWLOG",
        &[
            (
                "GET [<count>]",
                "the newest <count> entries (default 10, -1 for all): id, Unix time, microseconds, arguments, client address, client name",
            ),
            ("LEN", "the number of entries"),
            ("RESET", "forget every entry"),
            ("HELP", "this list"),
        ],
    );
    Ok(())
}

/// Every shard's latency events, merged by name.
async fn gather_events(
    home: &std::rc::Rc<crate::shard::Shard>,
) -> BTreeMap<&'static str, LatencyEvent> {
    let lists = home
        .broadcast(|s| s.state.borrow().observed.latency.clone())
        .await;
    let mut all: BTreeMap<&'static str, LatencyEvent> = BTreeMap::new();
    for events in lists {
        for (name, ev) in events {
            all.entry(name).or_default().merge(&ev);
        }
    }
    all
}

fn latency_latest(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let all = gather_events(&home).await;
        encode(proto, |w| {
            w.array(all.len());
            for (name, ev) in &all {
                let (t, ms) = ev.samples.back().copied().unwrap_or((0, 0));
                w.array(4);
                w.bulk(name.as_bytes());
                w.int(t);
                w.int(i64::try_from(ms).unwrap_or(i64::MAX));
                w.int(i64::try_from(ev.max).unwrap_or(i64::MAX));
            }
        })
    });
    Ok(())
}

fn latency_history(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let event = req.arg(2).to_vec();
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let all = gather_events(&home).await;
        let samples: Vec<(i64, u64)> = all
            .iter()
            .find(|(n, _)| n.as_bytes() == event.as_slice())
            .map(|(_, e)| e.samples.iter().copied().collect())
            .unwrap_or_default();
        encode(proto, |w| {
            w.array(samples.len());
            for (t, ms) in &samples {
                w.array(2);
                w.int(*t);
                w.int(i64::try_from(*ms).unwrap_or(i64::MAX));
            }
        })
    });
    Ok(())
}

fn latency_reset(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let names: Vec<Vec<u8>> = (2..req.len()).map(|i| req.arg(i).to_vec()).collect();
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let before = gather_events(&home).await;
        let reset: Vec<&'static str> = before
            .keys()
            .copied()
            .filter(|n| names.is_empty() || names.iter().any(|x| x.as_slice() == n.as_bytes()))
            .collect();
        let count = reset.len();
        home.broadcast(move |s| {
            let mut st = s.state.borrow_mut();
            for n in &reset {
                st.observed.latency.remove(n);
            }
        })
        .await;
        encode(proto, |w| w.int(count as i64))
    });
    Ok(())
}

fn latency_doctor(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    let threshold = ctx.shard.state.borrow().config.latency_threshold_ms;
    ctx.run_async(async move {
        let all = gather_events(&home).await;
        let mut text = String::new();
        if threshold <= 0 {
            text.push_str(
                "Latency monitoring is disabled. Enable it with \"CONFIG SET latency-monitor-threshold <milliseconds>\".\n",
            );
        } else if all.is_empty() {
            text.push_str("No latency spikes were observed above the configured threshold.\n");
        } else {
            text.push_str("Latency events observed (latest, highest, average over the kept samples):\n\n");
            for (name, ev) in &all {
                let n = ev.samples.len().max(1) as u64;
                let avg = ev.samples.iter().map(|(_, ms)| ms).sum::<u64>() / n;
                let latest = ev.samples.back().map_or(0, |s| s.1);
                text.push_str(&format!(
                    "- {name}: {} samples, latest {latest} ms, highest {} ms, average {avg} ms.\n",
                    ev.samples.len(),
                    ev.max
                ));
            }
            text.push_str(
                "\nSlow commands are listed by SLOWLOG GET; LATENCY HISTOGRAM shows the distribution per command.\n",
            );
        }
        encode(proto, |w| w.verbatim(b"txt", text.as_bytes()))
    });
    Ok(())
}

fn latency_graph(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let event = req.arg(2).to_vec();
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let all = gather_events(&home).await;
        let Some((name, ev)) = all.iter().find(|(n, _)| n.as_bytes() == event.as_slice()) else {
            let msg = format!(
                "ERR No samples available for event '{}'",
                String::from_utf8_lossy(&event)
            );
            return encode(proto, |w| w.error(msg.as_bytes()));
        };
        // One column per sample, 10 rows scaled to the highest sample.
        let top = ev.samples.iter().map(|s| s.1).max().unwrap_or(1).max(1);
        let mut text = format!(
            "{name} - high {top} ms, low {} ms\n\n",
            ev.samples.iter().map(|s| s.1).min().unwrap_or(0)
        );
        for row in (1..=10u64).rev() {
            for (_, ms) in &ev.samples {
                text.push(if ms * 10 >= row * top { '#' } else { ' ' });
            }
            text.push('\n');
        }
        encode(proto, |w| w.verbatim(b"txt", text.as_bytes()))
    });
    Ok(())
}

fn latency_help(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    super::help_reply(
        ctx,
        "LATENCY",
        &[
            ("LATEST", "the latest and highest sample of every event"),
            (
                "HISTORY <event>",
                "the samples of <event>: Unix time and milliseconds",
            ),
            (
                "RESET [<event> ...]",
                "forget the samples of the events (all by default)",
            ),
            ("DOCTOR", "a summary of the observed latency"),
            ("GRAPH <event>", "an ASCII graph of the samples of <event>"),
            (
                "HISTOGRAM [<command> ...]",
                "cumulative latency distribution per command, in power-of-two microsecond buckets",
            ),
            ("HELP", "this list"),
        ],
    );
    Ok(())
}

// ---- table ----

const ADMIN_ACL: u32 = super::spec::acl::DANGEROUS;

const SLOWLOG_SUBS: &[CommandSpec] = &[
    CommandSpec::new("get", -2, slowlog_get)
        .flags(ADMIN | LOADING | STALE)
        .acl(ADMIN_ACL)
        .tips(&["request_policy:all_nodes", "nondeterministic_output"])
        .doc("server", "2.2.12", "Returns the slow log's entries."),
    CommandSpec::new("help", 2, slowlog_help)
        .flags(LOADING | STALE)
        .doc(
            "server",
            "6.2.0",
            "Show helpful text about the different subcommands",
        ),
    CommandSpec::new("len", 2, slowlog_len)
        .flags(ADMIN | LOADING | STALE)
        .acl(ADMIN_ACL)
        .tips(&[
            "request_policy:all_nodes",
            "response_policy:agg_sum",
            "nondeterministic_output",
        ])
        .doc(
            "server",
            "2.2.12",
            "Returns the number of entries in the slow log.",
        ),
    CommandSpec::new("reset", 2, slowlog_reset)
        .flags(ADMIN | LOADING | STALE)
        .acl(ADMIN_ACL)
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
        .doc("server", "2.2.12", "Clears all entries from the slow log."),
];

const LATENCY_TIPS: &[&str] = &[
    "nondeterministic_output",
    "request_policy:all_nodes",
    "response_policy:special",
];

const LATENCY_SUBS: &[CommandSpec] = &[
    CommandSpec::new("doctor", 2, latency_doctor)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .acl(ADMIN_ACL)
        .tips(LATENCY_TIPS)
        .doc(
            "server",
            "2.8.13",
            "Returns a human-readable latency analysis report.",
        ),
    CommandSpec::new("graph", 3, latency_graph)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .acl(ADMIN_ACL)
        .tips(LATENCY_TIPS)
        .doc("server", "2.8.13", "Returns a latency graph for an event."),
    CommandSpec::new("help", 2, latency_help)
        .flags(LOADING | STALE)
        .doc(
            "server",
            "2.8.13",
            "Returns helpful text about the different subcommands.",
        ),
    CommandSpec::new("histogram", -2, super::info::latency_histogram)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .acl(ADMIN_ACL)
        .tips(LATENCY_TIPS)
        .doc(
            "server",
            "7.0.0",
            "Returns the cumulative distribution of command latencies.",
        ),
    CommandSpec::new("history", 3, latency_history)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .acl(ADMIN_ACL)
        .tips(LATENCY_TIPS)
        .doc(
            "server",
            "2.8.13",
            "Returns timestamp-latency samples for an event.",
        ),
    CommandSpec::new("latest", 2, latency_latest)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .acl(ADMIN_ACL)
        .tips(LATENCY_TIPS)
        .doc(
            "server",
            "2.8.13",
            "Returns the latest latency samples for all events.",
        ),
    CommandSpec::new("reset", -2, latency_reset)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .acl(ADMIN_ACL)
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
        .doc(
            "server",
            "2.8.13",
            "Resets the latency data for one or more events.",
        ),
];

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::container("slowlog", -2, SLOWLOG_SUBS).doc(
        "server",
        "2.2.12",
        "A container for slow log commands.",
    ),
    CommandSpec::container("latency", -2, LATENCY_SUBS).doc(
        "server",
        "2.8.13",
        "Latency diagnostics.",
    ),
];
