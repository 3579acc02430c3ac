//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP.
//!
//! The server's configuration is one immutable `Config` per shard plus the
//! authoritative copy in `Shared`. CONFIG SET validates all pairs, builds a
//! new `Config` (all or nothing), stores it and installs it on every shard.

use super::ctx::{encode, Ctx};
use super::errors::{self, CmdError, CmdResult};
use super::spec::{flags::*, CommandSpec};
use crate::config::Config;
use resp::Request;

fn get(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let config = ctx.shard.shared.config();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |name: &str, value: &str| {
        if !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), value.to_string()));
        }
    };
    for pat in req.iter().skip(2) {
        let pat_s = String::from_utf8_lossy(pat).to_string();
        let is_glob = pat.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
        for (name, value) in config.all() {
            let hit = if is_glob {
                crate::glob::matches_nocase(pat, name.as_bytes())
            } else {
                name.eq_ignore_ascii_case(&pat_s)
            };
            if hit {
                push(if is_glob { name } else { &pat_s }, value);
            }
        }
        for (alias, canonical) in Config::aliases() {
            let hit = if is_glob {
                crate::glob::matches_nocase(pat, alias.as_bytes())
            } else {
                alias.eq_ignore_ascii_case(&pat_s)
            };
            if hit {
                let v = config.get(canonical).unwrap_or("").to_string();
                push(if is_glob { alias } else { &pat_s }, &v);
            }
        }
    }
    let mut w = ctx.w();
    w.map(out.len());
    for (n, v) in out {
        w.bulk(n.as_bytes());
        w.bulk(v.as_bytes());
    }
    Ok(())
}

fn set(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    if !req.len().is_multiple_of(2) {
        return Err(errors::SYNTAX);
    }
    let pairs: Vec<(String, String)> = (2..req.len())
        .step_by(2)
        .map(|i| {
            (
                String::from_utf8_lossy(req.arg(i)).into_owned(),
                String::from_utf8_lossy(req.arg(i + 1)).into_owned(),
            )
        })
        .collect();
    let shared = ctx.shard.shared.clone();
    let was_on = shared.config().get("appendonly") == Some("yes");
    let next = shared
        .update_config(|current| {
            let next = current.with_set(&pairs)?;
            if next.dir != current.dir && !next.dir.is_empty() {
                std::env::set_current_dir(&next.dir).map_err(|e| {
                    format!("ERR CONFIG SET failed (possibly related to argument 'dir') - {e}")
                })?;
            }
            if next.loglevel != current.loglevel {
                crate::log::set_level(next.loglevel);
            }
            for (name, value) in next.stored_only_overrides() {
                if current.get(name) != Some(value.as_str()) {
                    log::warn!("CONFIG SET {name} {value}: accepted but not implemented yet, it has no effect");
                }
            }
            Ok(next)
        })
        .map_err(CmdError::owned)?;
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    let now_on = next.get("appendonly") == Some("yes");
    ctx.run_async(async move {
        home.broadcast(move |s| s.state.borrow_mut().set_config(next.clone()))
            .await;
        if was_on != now_on {
            crate::aof::switch(&home, now_on).await;
        }
        crate::server::snapshot::update_refusal(&home);
        encode(proto, |w| w.ok())
    });
    Ok(())
}

fn resetstat(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        home.broadcast(|s| {
            let mut st = s.state.borrow_mut();
            st.stats.reset();
            for db in &mut st.dbs {
                db.stats = Default::default();
            }
        })
        .await;
        encode(proto, |w| w.ok())
    });
    Ok(())
}

fn rewrite(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let config = ctx.shard.shared.config();
    let Some(path) = config.file.clone() else {
        return Err(CmdError::fixed(
            "ERR The server is running without a config file",
        ));
    };
    let original = std::fs::read_to_string(&path).unwrap_or_default();
    let text = config.rewrite_text(&original);
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        if let Some(dir) = path.parent() {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    match res {
        Ok(()) => {
            log::info!("CONFIG REWRITE executed with success.");
            ctx.w().ok();
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            log::warn!("CONFIG REWRITE failed: {e}");
            Err(CmdError::owned(format!("ERR Rewriting config file: {e}")))
        }
    }
}

fn help(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    super::help_reply(
        ctx,
        "CONFIG",
        &[
            (
                "GET <pattern> [<pattern> ...]",
                "directives matching the glob patterns, with their values",
            ),
            (
                "SET <directive> <value> [<directive> <value> ...]",
                "change directives at run time, all or none",
            ),
            ("RESETSTAT", "zero the statistics INFO reports"),
            (
                "REWRITE",
                "write the effective configuration back to the config file",
            ),
            ("HELP", "this list"),
        ],
    );
    Ok(())
}

const SUBS: &[CommandSpec] = &[
    CommandSpec::new("get", -3, get)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .doc(
            "server",
            "2.0.0",
            "Returns the values of configuration parameters.",
        ),
    CommandSpec::new("help", 2, help)
        .flags(LOADING | STALE)
        .doc("server", "5.0.0", "Lists the CONFIG subcommands."),
    CommandSpec::new("resetstat", 2, resetstat)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .doc("server", "2.0.0", "Resets the server's statistics."),
    CommandSpec::new("rewrite", 2, rewrite)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .doc(
            "server",
            "2.8.0",
            "Writes the effective configuration back to the config file.",
        ),
    CommandSpec::new("set", -4, set)
        .flags(ADMIN | NOSCRIPT | LOADING | STALE)
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
        .doc(
            "server",
            "2.0.0",
            "Sets configuration parameters at run time.",
        ),
];

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::container("config", -2, SUBS).doc(
    "server",
    "2.0.0",
    "Reads and changes the server's configuration.",
)];
