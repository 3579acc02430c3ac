//! Randomized differential tests: long random command sequences over a few
//! keys of each type (hashes, sets, lists) go to shoal-server and
//! redis-server, and every reply must match — errors (WRONGTYPE when keys
//! change type) included. Seeded, so a failure reproduces; bounded in count.

#![allow(clippy::unwrap_used)]

mod common;

use common::Pair;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// Keys on both shards (and one shared with another type now and then).
const KEYS: &[&str] = &["left", "right", "k1", "k2", "{t}a", "{t}b"];
const ELEMS: &[&str] = &["a", "b", "c", "d", "1", "2", "10", "-5", "xyz", "e"];

/// Commands whose reply order is the hash table's: compared sorted.
const UNORDERED: &[&str] = &["SMEMBERS", "SINTER", "SUNION", "SDIFF"];

fn run(seed: u64, n: usize, gen: fn(&mut Rng) -> String) {
    let pair = Pair::start();
    let mut d = pair.diff();
    let mut rng = Rng(seed);
    for _ in 0..n {
        let line = gen(&mut rng);
        let name = line.split(' ').next().unwrap_or("");
        if UNORDERED.contains(&name) {
            d.same_unordered(&line);
        } else {
            d.same(&line);
        }
    }
}

fn hash_cmd(r: &mut Rng) -> String {
    let k = r.pick(KEYS);
    let (f, v) = (r.pick(ELEMS), r.pick(ELEMS));
    match r.next() % 12 {
        0 | 1 => format!("HSET {k} {f} {v} {} {}", r.pick(ELEMS), r.pick(ELEMS)),
        2 => format!("HDEL {k} {f} {}", r.pick(ELEMS)),
        3 => format!("HGET {k} {f}"),
        4 => format!("HGETALL {k}"),
        5 => format!("HINCRBY {k} {f} {}", r.int(-3, 3)),
        6 => format!("HSETNX {k} {f} {v}"),
        7 => format!("HMGET {k} {f} {v}"),
        8 => format!("HLEN {k}"),
        9 => format!("HEXISTS {k} {f}"),
        10 => format!("HKEYS {k}"),
        _ => format!("HSTRLEN {k} {f}"),
    }
}

fn set_cmd(r: &mut Rng) -> String {
    let (k, k2) = (r.pick(KEYS), r.pick(KEYS));
    let m = r.pick(ELEMS);
    match r.next() % 12 {
        0 | 1 => format!("SADD {k} {m} {}", r.pick(ELEMS)),
        2 => format!("SREM {k} {m}"),
        3 => format!("SMEMBERS {k}"),
        4 => format!("SISMEMBER {k} {m}"),
        5 => format!("SCARD {k}"),
        6 => format!("SINTER {k} {k2}"),
        7 => format!("SUNION {k} {k2}"),
        8 => format!("SDIFF {k} {k2}"),
        9 => format!("SMOVE {k} {k2} {m}"),
        10 => format!("SUNIONSTORE {k} {k} {k2}"),
        _ => format!("SINTERCARD 2 {k} {k2}"),
    }
}

fn list_cmd(r: &mut Rng) -> String {
    let (k, k2) = (r.pick(KEYS), r.pick(KEYS));
    let e = r.pick(ELEMS);
    let side = r.pick(&["LEFT", "RIGHT"]);
    match r.next() % 14 {
        0 | 1 => format!("RPUSH {k} {e} {}", r.pick(ELEMS)),
        2 => format!("LPUSH {k} {e}"),
        3 => format!("LPOP {k}"),
        4 => format!("RPOP {k} {}", r.int(0, 3)),
        5 => format!("LRANGE {k} {} {}", r.int(-5, 5), r.int(-5, 5)),
        6 => format!("LINDEX {k} {}", r.int(-4, 4)),
        7 => format!("LREM {k} {} {e}", r.int(-2, 2)),
        8 => format!("LINSERT {k} BEFORE {e} {}", r.pick(ELEMS)),
        9 => format!("LMOVE {k} {k2} {side} LEFT"),
        10 => format!("LTRIM {k} {} {}", r.int(-4, 4), r.int(-4, 4)),
        11 => format!("LPOS {k} {e} COUNT 0"),
        12 => format!("LSET {k} {} {e}", r.int(-3, 3)),
        _ => format!("LMPOP 2 {k} {k2} {side} COUNT {}", r.int(1, 3)),
    }
}

fn zset_cmd(r: &mut Rng) -> String {
    let (k, k2) = (r.pick(KEYS), r.pick(KEYS));
    let m = r.pick(ELEMS);
    let s = r.int(-3, 3);
    match r.next() % 16 {
        0 | 1 => format!("ZADD {k} {s} {m} {} {}", r.int(-3, 3), r.pick(ELEMS)),
        2 => format!(
            "ZADD {k} {} {s} {m}",
            r.pick(&["NX", "XX", "GT", "LT", "CH"])
        ),
        3 => format!("ZINCRBY {k} {s} {m}"),
        4 => format!("ZREM {k} {m}"),
        5 => format!("ZRANGE {k} {} {} WITHSCORES", r.int(-4, 4), r.int(-4, 4)),
        6 => format!(
            "ZRANGE {k} ({} {} BYSCORE LIMIT {} 2",
            r.int(-3, 3),
            r.int(-3, 3),
            r.int(0, 2)
        ),
        7 => format!("ZRANK {k} {m}"),
        8 => format!("ZREVRANGE {k} 0 {}", r.int(0, 5)),
        9 => format!("ZCOUNT {k} {} +inf", r.int(-3, 3)),
        10 => format!("ZPOPMIN {k} {}", r.int(0, 2)),
        11 => format!("ZUNIONSTORE {k} 2 {k} {k2} WEIGHTS 1 2"),
        12 => format!("ZINTER 2 {k} {k2} WITHSCORES"),
        13 => format!("ZSCORE {k} {m}"),
        14 => format!("ZREMRANGEBYRANK {k} 0 {}", r.int(-2, 1)),
        _ => format!("ZMPOP 2 {k} {k2} MAX COUNT 2"),
    }
}

fn bitmap_cmd(r: &mut Rng) -> String {
    let k = r.pick(KEYS);
    let ty = r.pick(&["u1", "u3", "u8", "i4", "i8", "i16", "u15", "i64"]);
    let ow = r.pick(&["WRAP", "SAT", "FAIL"]);
    match r.next() % 9 {
        0 | 1 => format!("SETBIT {k} {} {}", r.int(0, 80), r.int(0, 1)),
        2 => format!("GETBIT {k} {}", r.int(0, 90)),
        3 => format!(
            "BITCOUNT {k} {} {} {}",
            r.int(-12, 12),
            r.int(-12, 12),
            r.pick(&["BIT", "BYTE"])
        ),
        4 => format!(
            "BITPOS {k} {} {} {}",
            r.int(0, 1),
            r.int(-6, 6),
            r.int(-6, 6)
        ),
        5 => format!("BITPOS {k} {}", r.int(0, 1)),
        6 => format!(
            "BITFIELD {k} OVERFLOW {ow} INCRBY {ty} {} {}",
            r.int(0, 40),
            r.int(-300, 300)
        ),
        7 => format!(
            "BITFIELD {k} OVERFLOW {ow} SET {ty} #{} {} GET {ty} 0",
            r.int(0, 4),
            r.int(-200, 200)
        ),
        _ => format!(
            "BITOP {} {k} {} {}",
            r.pick(&["AND", "OR", "XOR"]),
            r.pick(KEYS),
            r.pick(KEYS)
        ),
    }
}

/// All four families over the same keys: type clashes give WRONGTYPE.
fn mixed_cmd(r: &mut Rng) -> String {
    match r.next() % 6 {
        0 => hash_cmd(r),
        1 => set_cmd(r),
        2 => list_cmd(r),
        3 => zset_cmd(r),
        4 => bitmap_cmd(r),
        _ => format!("DEL {}", r.pick(KEYS)),
    }
}

#[test]
fn random_hash_commands_match_redis() {
    run(0x5eed_0001, 3000, hash_cmd);
}

#[test]
fn random_set_commands_match_redis() {
    run(0x5eed_0002, 3000, set_cmd);
}

#[test]
fn random_list_commands_match_redis() {
    run(0x5eed_0003, 3000, list_cmd);
}

#[test]
fn random_sorted_set_commands_match_redis() {
    run(0x5eed_0005, 3000, zset_cmd);
}

#[test]
fn random_bitmap_commands_match_redis() {
    run(0x5eed_0006, 3000, bitmap_cmd);
}

#[test]
fn random_mixed_types_match_redis() {
    run(0x5eed_0004, 4000, mixed_cmd);
}
