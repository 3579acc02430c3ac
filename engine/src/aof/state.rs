//! Records that recreate keys from their current values.
//!
//! A multi-shard command (MSET over shards, cross-shard RENAME, SMOVE,
//! SINTERSTORE, FLUSHALL, …) cannot be logged as its request: each shard's
//! log must hold only that shard's effects. So while such a command's part
//! runs, the databases note the keys it changes ([`crate::keyspace::Touched`]),
//! and afterwards each is logged in its new state: `DEL k` when gone,
//! `SET k v [PXAT ms]` for a string, `RESTORE k <ms|0> <payload> REPLACE
//! ABSTTL` for the other types (the DUMP payload Redis reads too), and
//! `FLUSHDB` first when the part emptied the database.

use super::feed::encode;
use crate::keyspace::{Entry, Touched, Value};
use crate::shard::ShardState;

/// Encode the record(s) that give `key` the state `entry` into `out`.
pub fn key_record(out: &mut Vec<u8>, key: &[u8], entry: Option<&Entry>) {
    let Some(e) = entry else {
        encode(out, [&b"DEL"[..], key].into_iter());
        return;
    };
    let at = e.expire_at().unwrap_or(0).to_string();
    match e.value() {
        Value::Str(s) => {
            let v = s.as_bytes();
            if e.expire_at().is_some() {
                encode(
                    out,
                    [&b"SET"[..], key, &v, b"PXAT", at.as_bytes()].into_iter(),
                );
            } else {
                encode(out, [&b"SET"[..], key, &v].into_iter());
            }
        }
        v => {
            let payload = crate::rdb::dump_payload(v, false);
            encode(
                out,
                [
                    &b"RESTORE"[..],
                    key,
                    at.as_bytes(),
                    &payload,
                    b"REPLACE",
                    b"ABSTTL",
                ]
                .into_iter(),
            );
        }
    }
}

/// Start noting changed keys in every database (AOF on only).
pub fn begin(st: &mut ShardState) {
    if st.aof.on() {
        for d in &mut st.dbs {
            d.touched = Some(Touched::default());
        }
    }
}

/// Stop noting and log the state of every key changed since [`begin`]
/// into the feed's current target.
pub fn finish(st: &mut ShardState) {
    if !st.aof.on() {
        return;
    }
    let mut rec = Vec::new();
    // FLUSHALL empties every database: one record says so.
    let all = st
        .dbs
        .iter()
        .all(|d| d.touched.as_ref().is_some_and(|t| t.flushed));
    if all {
        encode(&mut rec, [&b"FLUSHALL"[..]].into_iter());
        st.aof.put(0, &rec);
    }
    for i in 0..st.dbs.len() {
        let Some(t) = st.dbs.get_mut(i).and_then(|d| d.touched.take()) else {
            continue;
        };
        if t.flushed && !all {
            rec.clear();
            encode(&mut rec, [&b"FLUSHDB"[..]].into_iter());
            st.aof.put(i, &rec);
        }
        let mut keys = t.keys;
        keys.sort_unstable();
        keys.dedup();
        for k in keys {
            rec.clear();
            let entry = st.dbs.get(i).and_then(|d| d.peek(&k));
            key_record(&mut rec, &k, entry);
            st.aof.put(i, &rec);
        }
    }
    let (aof, dbs) = (&mut st.aof, &mut st.dbs);
    aof.log_expired(dbs);
}
