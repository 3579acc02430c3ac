//! HyperLogLog commands: PFADD PFCOUNT PFMERGE over Redis-format HLL
//! strings ([`crate::hll`]). PFCOUNT of several keys and PFMERGE read
//! through [`super::multikey::gather`], so keys may span shards.

use super::access::err;
use super::ctx::Ctx;
use super::errors::{self, CmdError, CmdResult};
use super::multikey::{gather, Combined};
use super::spec::{acl, flags::*, CommandSpec, KeySpecDef};
use super::string::op_get;
use crate::hll::{self, HllError};
use crate::keyspace::events::STRING;
use crate::keyspace::{Db, RStr, Value};
use crate::shard::ShardState;
use bytes::Bytes;
use resp::Request;

const NOT_HLL: CmdError = CmdError::fixed("WRONGTYPE Key is not a valid HyperLogLog string value.");
const CORRUPT: CmdError = CmdError::fixed("INVALIDOBJ Corrupted HLL object detected");

fn hll_err(e: HllError) -> CmdError {
    match e {
        HllError::NotHll => NOT_HLL,
        HllError::Corrupt => CORRUPT,
    }
}

/// The HLL string at `key` for modification (None when missing).
fn hll_mut<'d>(db: &'d mut Db, key: &[u8], now: i64) -> CmdResult<Option<&'d mut Vec<u8>>> {
    match db.write(key, now).map(|e| e.value_mut()) {
        None => Ok(None),
        Some(Value::Str(s)) => {
            hll::check(&s.as_bytes()).map_err(hll_err)?;
            Ok(Some(s.make_raw()))
        }
        Some(_) => Err(errors::WRONGTYPE),
    }
}

fn pfadd(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let elems: Vec<Bytes> = (2..req.len()).map(|i| req.arg_bytes(i)).collect();
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        let refs: Vec<&[u8]> = elems.iter().map(|e| &e[..]).collect();
        let r = match hll_mut(db, key, now) {
            Err(e) => Err(e),
            Ok(Some(v)) => hll::add(v, &refs).map_err(hll_err),
            Ok(None) => {
                let mut v = hll::empty();
                let _ = hll::add(&mut v, &refs);
                db.set(
                    key,
                    Value::Str(RStr::raw(v)),
                    crate::keyspace::ExpirePolicy::Clear,
                    now,
                );
                Ok(true)
            }
        };
        if let Ok(true) = r {
            db.notify(STRING, "pfadd", key);
        }
        match r {
            Ok(changed) => w.int(i64::from(changed)),
            Err(e) => err(w, &e),
        }
    });
    Ok(())
}

/// A source's registers and whether it is dense; None when missing.
type Regs = CmdResult<Option<(Vec<u8>, bool)>>;

fn read_regs(st: &mut ShardState, db: usize, key: &[u8], now: i64) -> Regs {
    let Some(s) = op_get(st.db(db), key, now)? else {
        return Ok(None);
    };
    let b = s.as_bytes();
    let regs = hll::registers(&b).map_err(hll_err)?;
    Ok(Some((regs, hll::is_dense(&b))))
}

/// Register-wise maximum of the sources, and whether any was dense.
fn union(snaps: Vec<Regs>) -> CmdResult<(Vec<u8>, bool)> {
    let mut max = vec![0u8; hll::REGISTERS];
    let mut dense = false;
    for s in snaps {
        if let Some((regs, d)) = s? {
            dense |= d;
            for (m, r) in max.iter_mut().zip(regs) {
                *m = (*m).max(r);
            }
        }
    }
    Ok((max, dense))
}

fn pfcount(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    if req.len() == 2 {
        ctx.run_key(req.arg_bytes(1), move |x, key| {
            let now = x.now;
            let (db, w) = x.split();
            let r = match hll_mut(db, key, now) {
                Err(e) => Err(e),
                Ok(None) => Ok(0),
                Ok(Some(v)) => hll::count(v).map_err(hll_err),
            };
            match r {
                Ok(n) => w.int(n as i64),
                Err(e) => err(w, &e),
            }
        });
        return Ok(());
    }
    let keys = (1..req.len()).map(|i| req.arg_bytes(i)).collect();
    gather(ctx, keys, None, read_regs, |snaps| {
        let r = union(snaps).map(|(regs, _)| hll::estimate(&regs));
        Combined {
            reply: Box::new(move |w| match r {
                Ok(n) => w.int(n as i64),
                Err(e) => err(w, &e),
            }),
            store: None,
        }
    });
    Ok(())
}

fn pfmerge(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    // Like Redis, the destination is also one of the sources.
    let keys: Vec<Bytes> = (1..req.len()).map(|i| req.arg_bytes(i)).collect();
    let dst = req.arg_bytes(1);
    gather(ctx, keys, Some(dst), read_regs, |snaps| {
        match union(snaps) {
            Err(e) => Combined {
                reply: Box::new(move |w| err(w, &e)),
                store: None,
            },
            Ok((regs, dense)) => Combined {
                reply: Box::new(|w| w.ok()),
                store: Some(Box::new(move |st, db, k, now| {
                    let d = st.db(db);
                    let mut v = match hll_mut(d, k, now) {
                        Ok(Some(v)) => std::mem::take(v),
                        _ => hll::empty(),
                    };
                    if hll::merge_into(&mut v, &regs, dense).is_ok() {
                        d.set(
                            k,
                            Value::Str(RStr::raw(v)),
                            crate::keyspace::ExpirePolicy::Keep,
                            now,
                        );
                        // Redis calls a merge a mass PFADD.
                        d.notify(STRING, "pfadd", k);
                    }
                })),
            },
        }
    });
    Ok(())
}

// ---- table ----

const H: u32 = acl::HYPERLOGLOG;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("pfadd", -2, pfadd)
        .flags(WRITE | DENYOOM | FAST)
        .acl(H)
        .keys(1, 1, 1)
        .key_specs(&[KeySpecDef::range(&["RW", "INSERT"], 1, 0, 1, 0)])
        .doc("hyperloglog", "2.8.9", "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist."),
    CommandSpec::new("pfcount", -2, pfcount)
        .flags(READONLY)
        .acl(H)
        .keys(1, -1, 1)
        .key_specs(&[KeySpecDef::range(&["RW", "ACCESS"], 1, -1, 1, 0)])
        .doc("hyperloglog", "2.8.9", "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s)."),
    CommandSpec::new("pfmerge", -2, pfmerge)
        .flags(WRITE | DENYOOM)
        .acl(H)
        .keys(1, -1, 1)
        .key_specs(&[
            KeySpecDef::range(&["RW", "ACCESS", "INSERT"], 1, 0, 1, 0),
            KeySpecDef::range(&["RO", "ACCESS"], 2, -1, 1, 0),
        ])
        .doc("hyperloglog", "2.8.9", "Merges one or more HyperLogLog values into a single key."),
];
