//! DUMP and RESTORE: values serialized in Redis's DUMP payload format
//! (RDB encoding + version + CRC-64, see [`crate::rdb`]), so payloads move
//! between Shoal and Redis in both directions (MIGRATE will use them too).

use super::args::{is, parse_i64, Args};
use super::ctx::Ctx;
use super::errors::{self, CmdError, CmdResult};
use super::spec::{acl, flags::*, CommandSpec, KeySpecDef};
use crate::keyspace::{Entry, LruClock};
use crate::rdb;
use resp::Request;

/// Parsed RESTORE options.
#[derive(Clone, Copy, Debug, Default)]
struct RestoreOpts {
    replace: bool,
    absttl: bool,
    idle: Option<i64>,
}

fn parse_restore_opts(req: &Request) -> CmdResult<RestoreOpts> {
    let mut o = RestoreOpts::default();
    let mut freq_given = false;
    let mut a = Args::new(req, 4);
    while !a.is_empty() {
        let opt = a.next()?;
        let more = a.remaining();
        if is(opt, "REPLACE") {
            o.replace = true;
        } else if is(opt, "ABSTTL") {
            o.absttl = true;
        } else if is(opt, "IDLETIME") && more >= 1 && !freq_given {
            let v = parse_i64(a.next()?)?;
            if v < 0 {
                return Err(CmdError::fixed("ERR Invalid IDLETIME value, must be >= 0"));
            }
            o.idle = Some(v);
        } else if is(opt, "FREQ") && more >= 1 && o.idle.is_none() {
            let v = parse_i64(a.next()?)?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::fixed(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq_given = true;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(o)
}

fn dump(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let compress = x.st.config.get("rdbcompression") != Some("no");
        let (db, w) = x.split();
        match db.read(key, now, true) {
            None => w.null(),
            Some(e) => w.bulk(&rdb::dump_payload(e.value(), compress)),
        }
    });
    Ok(())
}

fn restore(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let opts = parse_restore_opts(req)?;
    // Redis checks, in order: BUSYKEY, the TTL, the payload. The first two
    // need the key's shard, so the other results travel there with it.
    let ttl = match parse_i64(req.arg(2)) {
        Ok(t) if t < 0 => Err(errors::BAD_TTL),
        other => other,
    };
    let (max, limits) = {
        let st = ctx.shard.state.borrow();
        let max = usize::try_from(st.config.proto_max_bulk_len).unwrap_or(usize::MAX);
        (max, st.config.limits)
    };
    let value = match rdb::verify_payload(req.arg(3)) {
        None => Err(errors::BAD_DUMP),
        Some(body) => rdb::load_payload_body(body, max, &limits)
            .map_err(|_| CmdError::fixed("ERR Bad data format")),
    };
    // A relative TTL is logged as an absolute one (the request is kept to
    // rebuild the record; only then).
    let relative = (!opts.absttl && matches!(ttl, Ok(t) if t > 0)).then(|| req.clone());
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        if !opts.replace && db.contains(key, now) {
            w.error(errors::BUSYKEY.text().as_bytes());
            return;
        }
        let (ttl, value) = match (ttl, value) {
            (Err(e), _) | (_, Err(e)) => {
                w.error(e.text().as_bytes());
                return;
            }
            (Ok(t), Ok(v)) => (t, v),
        };
        let replaced = opts.replace && db.remove(key).is_some();
        let expire_at = match ttl {
            0 => 0,
            t if opts.absttl => t,
            t => t.saturating_add(now),
        };
        if expire_at != 0 && expire_at <= now {
            // Already expired: nothing is created, and a replaced key is gone.
            if replaced {
                db.notify(crate::keyspace::events::GENERIC, "del", key);
            }
            w.ok();
            if replaced {
                x.st.aof.replace(x.db, &[b"DEL", key]);
            } else {
                x.st.aof.suppress();
            }
            return;
        }
        let clock = LruClock::idle_since(now, opts.idle.unwrap_or(0));
        db.insert_entry(Entry::new(key, value, expire_at, clock));
        db.notify(crate::keyspace::events::GENERIC, "restore", key);
        w.ok();
        let db = x.db;
        if let Some(req) = relative.as_ref().filter(|_| x.st.aof.on()) {
            // Redis's form: the TTL argument made absolute, ABSTTL appended.
            let ms = expire_at.to_string();
            let mut args: Vec<&[u8]> = req.iter().collect();
            if let Some(t) = args.get_mut(2) {
                *t = ms.as_bytes();
            }
            args.push(b"ABSTTL");
            x.st.aof.replace(db, &args);
        }
        crate::shard::blocking::signal(x.st, db, key, now);
    });
    Ok(())
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("dump", 2, dump)
        .flags(READONLY)
        .acl(acl::KEYSPACE)
        .keys(1, 1, 1)
        .tips(&["nondeterministic_output"])
        .key_specs(&[KeySpecDef::range(&["RO", "ACCESS"], 1, 0, 1, 0)])
        .doc(
            "generic",
            "2.6.0",
            "Returns a serialized form of a key's value.",
        ),
    CommandSpec::new("restore", -4, restore)
        .flags(WRITE | DENYOOM)
        .acl(acl::KEYSPACE | acl::DANGEROUS)
        .keys(1, 1, 1)
        .key_specs(&[KeySpecDef::range(&["OW", "UPDATE"], 1, 0, 1, 0)])
        .doc(
            "generic",
            "2.6.0",
            "Creates a key from a serialized value produced by DUMP.",
        ),
];
