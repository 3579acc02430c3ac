//! BGSAVE without fork (engine/src/server/bgsave.rs, keyspace/snap.rs),
//! black-box with real processes: the file holds the dataset as it was
//! when BGSAVE answered, whatever writers (on both shards, cross-shard
//! MSETs, RENAME, MOVE), FLUSHALL or SWAPDB do during the walk; it passes
//! `redis-check-rdb` and loads into redis-server 7.0 with the same
//! contents, and WATCH still sees a FLUSHALL during the walk. The replies,
//! save points and `stop-writes-on-bgsave-error` are in bgsave_replies.rs.

#![allow(clippy::unwrap_used)]

mod common;
mod persist_support;

use persist_support::{
    call, check_rdb, field, info, keys_read, log_with, num, ok, shoal, wait_idle,
};
use resp::client::Client;
use resp::Frame;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use testkit::{Server, ServerBuilder};

/// Send `cmds` pipelined, 500 at a time (so neither side's socket buffer
/// fills up while the other waits); every reply must be a success.
fn run(c: &mut Client, cmds: &[Vec<String>]) {
    for chunk in cmds.chunks(500) {
        let replies = c.pipeline(chunk).unwrap();
        for (cmd, r) in chunk.iter().zip(replies) {
            assert!(!r.is_error(), "{}: {r}", cmd.join(" "));
        }
    }
}

fn cmd(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// CRC16/XMODEM, as Redis Cluster's key slots use.
fn crc16(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// A key's hash slot (its `{tag}` when non-empty).
fn slot(key: &str) -> u16 {
    let tagged = key
        .find('{')
        .and_then(|open| {
            let rest = &key[open + 1..];
            rest.find('}').map(|close| &rest[..close])
        })
        .filter(|t| !t.is_empty());
    crc16(tagged.unwrap_or(key).as_bytes()) & 0x3fff
}

/// Two hash tags whose keys live on different shards of 2 (Shoal routes a
/// key to its slot modulo the shard count; engine/src/shard/mod.rs).
struct Tags {
    a: String,
    b: String,
}

fn two_shard_tags() -> Tags {
    // Values of CLUSTER KEYSLOT on redis-server 7.
    assert_eq!(slot("123456789"), 12739);
    assert_eq!(slot("foo"), 12182);
    assert_eq!(slot("{user1000}.following"), slot("user1000"));
    let a = "1".to_string();
    let b = (2..100)
        .map(|i| i.to_string())
        .find(|t| slot(t) % 2 != slot(&a) % 2)
        .unwrap();
    Tags { a, b }
}

/// Keys per shard from Shoal's `INFO shards`.
fn shard_keys(c: &mut Client) -> Vec<i64> {
    let i = info(c, "shards");
    (0..2)
        .map(|s| {
            let line = field(&i, &format!("shard{s}"));
            line.strip_prefix("keys=")
                .and_then(|r| r.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{i}"))
        })
        .collect()
}

// ---- Datasets ----

/// One key as read back: its type, its contents (sets and hashes in a
/// canonical order), its PTTL.
#[derive(Clone, Debug)]
struct Item {
    kind: String,
    value: Vec<Vec<u8>>,
    pttl: i64,
}

/// Every key of every database: (db, key) → item.
type Dataset = BTreeMap<(usize, Vec<u8>), Item>;

fn bulks(f: Frame) -> Vec<Vec<u8>> {
    match f {
        Frame::Bulk(b) => vec![b.to_vec()],
        Frame::Array(v) => v
            .into_iter()
            .map(|x| match x {
                Frame::Bulk(b) => b.to_vec(),
                other => panic!("element {other}"),
            })
            .collect(),
        other => panic!("value {other}"),
    }
}

/// Read the whole dataset (16 databases) over one connection.
fn read_dataset(c: &mut Client) -> Dataset {
    let mut out = Dataset::new();
    for db in 0..16 {
        ok(c, &format!("SELECT {db}"));
        let keys = bulks(call(c, "KEYS *"));
        for chunk in keys.chunks(1000) {
            let meta: Vec<Vec<&[u8]>> = chunk
                .iter()
                .flat_map(|k| {
                    [
                        vec![&b"TYPE"[..], k.as_slice()],
                        vec![&b"PTTL"[..], k.as_slice()],
                    ]
                })
                .collect();
            let meta = c.pipeline(meta).unwrap();
            let mut live = Vec::new();
            for (k, m) in chunk.iter().zip(meta.chunks(2)) {
                let (Frame::Simple(t), Frame::Integer(pttl)) = (&m[0], &m[1]) else {
                    panic!("TYPE/PTTL {}: {m:?}", show(k))
                };
                let kind = String::from_utf8_lossy(t).into_owned();
                if kind != "none" {
                    live.push((k, kind, *pttl));
                }
            }
            let reads: Vec<Vec<&[u8]>> = live
                .iter()
                .map(|(k, kind, _)| (k.as_slice(), kind))
                .map(|(k, kind)| match kind.as_str() {
                    "string" => vec![&b"GET"[..], k],
                    "list" => vec![&b"LRANGE"[..], k, b"0", b"-1"],
                    "set" => vec![&b"SMEMBERS"[..], k],
                    "hash" => vec![&b"HGETALL"[..], k],
                    "zset" => vec![&b"ZRANGE"[..], k, b"0", b"-1", b"WITHSCORES"],
                    other => panic!("type {other} of {}", show(k)),
                })
                .collect();
            let values = c.pipeline(reads).unwrap();
            for ((k, kind, pttl), v) in live.into_iter().zip(values) {
                let mut value = bulks(v);
                match kind.as_str() {
                    "set" => value.sort(),
                    "hash" => {
                        let mut pairs: Vec<Vec<Vec<u8>>> =
                            value.chunks(2).map(<[Vec<u8>]>::to_vec).collect();
                        pairs.sort();
                        value = pairs.concat();
                    }
                    _ => {}
                }
                out.insert((db, k.clone()), Item { kind, value, pttl });
            }
        }
    }
    ok(c, "SELECT 0");
    out
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.len() > 60 {
        format!("{}…", &s[..60])
    } else {
        s.into_owned()
    }
}

fn show_item(i: &Item) -> String {
    let head: Vec<String> = i.value.iter().take(6).map(|v| show(v)).collect();
    let more = if i.value.len() > 6 { " …" } else { "" };
    format!("{} [{}{more}] pttl {}", i.kind, head.join(", "), i.pttl)
}

/// Same types and contents, a TTL on the same keys (±60 s: the file is
/// loaded a little later).
fn same_item(a: &Item, b: &Item) -> bool {
    a.kind == b.kind
        && a.value == b.value
        && (a.pttl < 0) == (b.pttl < 0)
        && (a.pttl < 0 || (a.pttl - b.pttl).abs() < 60_000)
}

/// `got` must hold exactly `expected`; lists the first differences.
fn assert_same(expected: &Dataset, got: &Dataset, what: &str) {
    let mut diffs = Vec::new();
    for ((db, k), e) in expected {
        match got.get(&(*db, k.clone())) {
            None => diffs.push(format!(
                "db {db} {}: missing, was {}",
                show(k),
                show_item(e)
            )),
            Some(g) if !same_item(e, g) => diffs.push(format!(
                "db {db} {}: {} but was {}",
                show(k),
                show_item(g),
                show_item(e)
            )),
            Some(_) => {}
        }
    }
    for ((db, k), g) in got {
        if !expected.contains_key(&(*db, k.clone())) {
            diffs.push(format!("db {db} {}: extra {}", show(k), show_item(g)));
        }
    }
    assert!(
        diffs.is_empty(),
        "{what}: {} differences ({} keys expected, {} found); first ones:\n{}",
        diffs.len(),
        expected.len(),
        got.len(),
        diffs
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// ---- Data ----

/// Sizes of [`fill`]'s dataset besides its `k:` strings.
const COUNTERS: u64 = 5_000;
const AGGREGATES: u64 = 2_000;
const PAIRS: u64 = 5_000;
const VOLATILE: u64 = 5_000;

/// A dataset over both shards (the server needs DEBUG enabled): in db 0,
/// `strings` strings `k:<i>` (DEBUG POPULATE), counters `n:<i>`, lists
/// `l:`, hashes `h:` (every tenth with a TTL), sets `s:`, sorted sets
/// `z:`, strings with a TTL `t:`, pairs `a{A}:<i>` / `b{B}:<i>` on the
/// two shards; 5k strings `d3:<i>` in db 3.
fn fill(c: &mut Client, strings: u64, tags: &Tags) {
    ok(c, &format!("DEBUG POPULATE {strings} k"));
    let mut cmds = Vec::new();
    let mset = |cmds: &mut Vec<Vec<String>>, pairs: Vec<(String, String)>| {
        for chunk in pairs.chunks(200) {
            let mut c = vec!["MSET".to_string()];
            for (k, v) in chunk {
                c.push(k.clone());
                c.push(v.clone());
            }
            cmds.push(c);
        }
    };
    mset(
        &mut cmds,
        (0..COUNTERS)
            .map(|i| (format!("n:{i}"), i.to_string()))
            .collect(),
    );
    let (ta, tb) = (&tags.a, &tags.b);
    mset(
        &mut cmds,
        (0..PAIRS)
            .flat_map(|i| {
                [
                    (format!("a{{{ta}}}:{i}"), format!("p{i}")),
                    (format!("b{{{tb}}}:{i}"), format!("p{i}")),
                ]
            })
            .collect(),
    );
    for i in 0..AGGREGATES {
        let (a, b) = (format!("x{i}"), format!("y{i}"));
        cmds.push(cmd(&["RPUSH", &format!("l:{i}"), "e0", &a, &b]));
        cmds.push(cmd(&["HSET", &format!("h:{i}"), "f0", &a, "f1", &b]));
        cmds.push(cmd(&["SADD", &format!("s:{i}"), "m0", &a, &b]));
        cmds.push(cmd(&["ZADD", &format!("z:{i}"), "1", "m0", "2.5", &a]));
        if i % 10 == 0 {
            cmds.push(cmd(&["EXPIRE", &format!("h:{i}"), "7200"]));
        }
    }
    for i in 0..VOLATILE {
        cmds.push(cmd(&["SET", &format!("t:{i}"), "ttl", "PX", "3600000"]));
    }
    cmds.push(cmd(&["SELECT", "3"]));
    cmds.push(cmd(&["DEBUG", "POPULATE", "5000", "d3"]));
    cmds.push(cmd(&["SELECT", "0"]));
    run(c, &cmds);
}

/// A small xorshift generator (the writers' choices).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A writer of [`writers`].
struct Writer {
    c: Client,
    id: u64,
    strings: u64,
    tags: (String, String),
}

impl Writer {
    /// Write until `stop`: every kind of change to existing keys of
    /// [`fill`]'s dataset and to keys 10% past its ranges (new keys), type
    /// changes, cross-shard MSET and DEL, RENAME, MOVE to db 3. Returns
    /// how many commands were answered (also counted in `answered`).
    fn run(mut self, stop: &AtomicBool, answered: &AtomicU64) -> u64 {
        let id = self.id;
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (id + 1).wrapping_mul(0x1234_5678_9ABC_DEF1));
        let (ta, tb) = &self.tags;
        let more = |n: u64| n + n / 10;
        let mut seq = 0u64;
        let mut sent = 0;
        while !stop.load(Ordering::Relaxed) {
            let mut batch = Vec::new();
            for _ in 0..20 {
                seq += 1;
                let v = format!("w{id}:{seq}");
                let k = format!("k:{}", rng.below(more(self.strings)));
                let n = format!("n:{}", rng.below(more(COUNTERS)));
                let agg = rng.below(more(AGGREGATES));
                let (l, h, s, z) = (
                    format!("l:{agg}"),
                    format!("h:{agg}"),
                    format!("s:{agg}"),
                    format!("z:{agg}"),
                );
                let p = rng.below(more(PAIRS));
                let (a, b) = (format!("a{{{ta}}}:{p}"), format!("b{{{tb}}}:{p}"));
                let t = format!("t:{}", rng.below(VOLATILE));
                let fresh = format!("new:{id}:{seq}");
                let score = seq.to_string();
                batch.push(match rng.below(22) {
                    0 | 1 => cmd(&["SET", &k, &v]),
                    2 => cmd(&["INCR", &n]),
                    3 => cmd(&["DEL", &k]),
                    4 => cmd(&["LPUSH", &l, &v]),
                    5 => cmd(&["HSET", &h, &format!("f{}", seq % 4), &v]),
                    6 => cmd(&["SADD", &s, &v]),
                    7 => cmd(&["ZADD", &z, &score, &v]),
                    8 => cmd(&["SET", &fresh, &v]),
                    9 => cmd(&["MSET", &a, &v, &b, &v]),
                    10 => cmd(&["DEL", &a, &b]),
                    11 => cmd(&["EXPIRE", &k, "100000"]),
                    12 => cmd(&["PERSIST", &t]),
                    13 => cmd(&["MOVE", &k, "3"]),
                    14 => cmd(&["LPOP", &l]),
                    15 => cmd(&["HDEL", &h, "f1"]),
                    16 => cmd(&["APPEND", &k, "+"]),
                    17 => cmd(&["GETDEL", &n]),
                    18 => cmd(&["SET", &t, &v, "PX", "50000000"]),
                    19 => cmd(&["SET", &h, &v]),
                    20 => cmd(&["ZINCRBY", &z, "1", "m0"]),
                    _ => cmd(&["RENAME", &k, &fresh]),
                });
            }
            let replies = self.c.pipeline(&batch).unwrap();
            for (cmd, r) in batch.iter().zip(replies) {
                // RENAME of a missing key; a hash, list, set or sorted set
                // command on a key a SET turned into a string.
                let allowed = match &r {
                    Frame::Error(e) => {
                        (cmd[0] == "RENAME" && &e[..] == b"ERR no such key")
                            || e.starts_with(b"WRONGTYPE ")
                    }
                    _ => true,
                };
                assert!(allowed, "{}: {r}", cmd.join(" "));
            }
            sent += batch.len() as u64;
            answered.fetch_add(batch.len() as u64, Ordering::Relaxed);
        }
        sent
    }
}

/// `n` writers, connected already (no connect delay once they start).
fn writers(s: &Server, n: u64, strings: u64, tags: &Tags) -> Vec<Writer> {
    (0..n)
        .map(|id| Writer {
            c: s.client(),
            id,
            strings,
            tags: (tags.a.clone(), tags.b.clone()),
        })
        .collect()
}

/// A redis-server (DEBUG enabled) that loaded a copy of `s`'s dump.rdb
/// (a later save cannot change the copy), and redis-check-rdb's report on
/// that copy.
fn redis_on_copy(s: &Server, name: &str) -> (Server, String) {
    let copy = s.dir().join(name);
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(s.dir().join("dump.rdb"), copy.join("dump.rdb")).unwrap();
    let report = check_rdb(&copy.join("dump.rdb"));
    let redis = ServerBuilder::redis()
        .directive("enable-debug-command", "yes")
        .directive("dir", copy.to_str().unwrap())
        .directive("dbfilename", "dump.rdb")
        .start();
    log_with(&redis, "Done loading RDB");
    (redis, report)
}

/// The two redis-servers hold the same data: DEBUG DIGEST (keys, types,
/// contents, TTL presence of every database) first; on a difference,
/// both datasets are read to list what differs.
fn assert_same_redis(expected: &Server, got: &Server, what: &str) {
    let (mut e, mut g) = (expected.client(), got.client());
    let de = call(&mut e, "DEBUG DIGEST");
    let dg = call(&mut g, "DEBUG DIGEST");
    if de == dg {
        return;
    }
    assert_same(&read_dataset(&mut e), &read_dataset(&mut g), what);
    panic!("{what}: DEBUG DIGEST {de} vs {dg}, yet the same keys and values");
}

// ---- Tests ----

/// When [`bgsave_under_load`]'s writers start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// As soon as BGSAVE has answered `+Background saving started`.
    AtReply,
    /// 50 ms after INFO shows the save running: well past the cut, while
    /// the walk runs (copy-on-write alone, whenever the cut is taken).
    OnceWalking,
}

/// Requirement 1 (and 2 on a file written under load): the file of a
/// BGSAVE during heavy writes holds the dataset as it was when BGSAVE
/// answered. Writers start once BGSAVE has answered (their connections
/// are open already): in Redis the fork happens before the reply, so
/// nothing written after it is in the file.
#[test]
fn bgsave_under_load_writes_the_dataset_as_it_was_at_the_reply() {
    bgsave_under_load(Start::AtReply);
}

/// Copy-on-write per key alone: writers start while the walk runs, well
/// after the cut; the file holds the dataset as it was before BGSAVE.
#[test]
fn bgsave_under_load_keeps_values_changed_during_the_walk() {
    bgsave_under_load(Start::OnceWalking);
}

/// ~205k keys over both shards and two databases; a SAVE just before
/// BGSAVE is the reference (no write in flight, nothing changes until
/// BGSAVE has answered); 3 writers run during the walk (every kind of
/// change, new keys, cross-shard MSET/DEL, RENAME, MOVE); both files are
/// loaded into redis-servers and compared there.
fn bgsave_under_load(start: Start) {
    if !testkit::have_redis() {
        return;
    }
    const STRINGS: u64 = 170_000;
    let tags = two_shard_tags();
    let s = shoal().directive("enable-debug-command", "yes").start();
    let mut c = s.client();
    // The two tags really are on different shards.
    ok(
        &mut c,
        &format!("MSET a{{{}}}:x 1 b{{{}}}:x 1", tags.a, tags.b),
    );
    assert_eq!(shard_keys(&mut c), [1, 1], "one key on each shard");
    ok(&mut c, "FLUSHALL");

    let t = Instant::now();
    fill(&mut c, STRINGS, &tags);
    println!("filled in {:?}", t.elapsed());
    let mut sizes = Vec::new();
    for db in [0, 3] {
        ok(&mut c, &format!("SELECT {db}"));
        sizes.push(call(&mut c, "DBSIZE"));
    }
    ok(&mut c, "SELECT 0");
    // The reference: every write of the fill has been answered.
    assert_eq!(call(&mut c, "SAVE"), Frame::simple("OK"));
    let (reference, report) = redis_on_copy(&s, "reference");
    let keys = keys_read(&report);
    assert!(keys > 200_000, "{keys} keys");
    let mut r = reference.client();
    for (db, size) in [0, 3].into_iter().zip(sizes) {
        ok(&mut r, &format!("SELECT {db}"));
        assert_eq!(call(&mut r, "DBSIZE"), size, "reference file, db {db}");
    }
    let saves = num(&info(&mut c, "persistence"), "rdb_saves");

    // Writers connected already, waiting for `go`.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let go = Arc::new(Barrier::new(4));
    let threads: Vec<_> = writers(&s, 3, STRINGS, &tags)
        .into_iter()
        .map(|w| {
            let (stop, answered, go) = (stop.clone(), answered.clone(), go.clone());
            std::thread::spawn(move || {
                go.wait();
                w.run(&stop, &answered)
            })
        })
        .collect();
    assert_eq!(
        call(&mut c, "BGSAVE"),
        Frame::simple("Background saving started")
    );
    let t0 = Instant::now();
    if start == Start::OnceWalking {
        let i = info(&mut c, "persistence");
        assert_eq!(field(&i, "rdb_bgsave_in_progress"), "1", "{i}");
        std::thread::sleep(Duration::from_millis(50));
    }
    go.wait();
    let mut saw_running = false;
    let done = loop {
        let i = info(&mut c, "persistence");
        if field(&i, "rdb_bgsave_in_progress") == "1" {
            saw_running = true;
        } else {
            break i;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "BGSAVE stuck:\n{i}");
        std::thread::sleep(Duration::from_millis(2));
    };
    let walk = t0.elapsed();
    let during = answered.load(Ordering::Relaxed);
    // The writers' pace without a save, for comparison.
    std::thread::sleep(Duration::from_millis(500));
    let idle = answered.load(Ordering::Relaxed) - during;
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    println!(
        "BGSAVE took {walk:?} with {during} writes answered meanwhile ({:.0}/s); \
         without a save: {:.0}/s",
        during as f64 / walk.as_secs_f64(),
        idle as f64 / 0.5
    );
    assert_eq!(field(&done, "rdb_last_bgsave_status"), "ok", "{done}");
    assert_eq!(num(&done, "rdb_saves"), saves + 1, "{done}");
    assert!(saw_running, "rdb_bgsave_in_progress:1 never seen:\n{done}");
    assert!(during > 0, "no write answered during the walk");
    // Writers did change keys the walker had not reached yet.
    assert!(
        num(&done, "rdb_last_cow_size") > 0,
        "no value kept aside: the walk ended before the writers changed anything:\n{done}"
    );
    log_with(&s, "Background saving terminated with success");

    let (file, report) = redis_on_copy(&s, "bgsave");
    assert_same_redis(
        &reference,
        &file,
        &format!(
            "dump.rdb of BGSAVE under load, writers started {start:?} \
             (values `w<writer>:<seq>` are theirs, seq 1..20 their first pipeline)"
        ),
    );
    assert_eq!(keys_read(&report), keys, "{report}");
}

/// Requirement 2: every type and encoding, TTLs, several databases and a
/// function library: the file passes redis-check-rdb and redis-server 7.0
/// loads it with the same contents.
#[test]
fn bgsave_file_passes_redis_check_rdb_and_loads_into_redis() {
    if !testkit::have_redis() {
        return;
    }
    let s = shoal().start();
    let mut c = s.client();
    for line in [
        "SET s hello",
        "SET n 12345",
        "SET neg -7",
        "SET big 9223372036854775807",
        "SET empty \"\"",
        "SET bin \"a\\x00b\\xffc\"",
        "SETEX ttl 1000 v",
        "PFADD hll a b c d e",
        "SETBIT bits 1000 1",
        "RPUSH list a b c 1 2 -3",
        "SADD ints 1 2 3 -100 100000",
        "SADD strs a b c",
        "HSET hash f v n 1 long 123456789012",
        "ZADD zset 1 a 2.5 b -3 c inf d -inf e",
        "EXPIRE hash 2000",
        "SELECT 1",
        "SET db1 one",
        "SELECT 15",
        "RPUSH db15list x y",
        "PEXPIRE db15list 3000000",
        "SELECT 0",
        "FUNCTION LOAD \"#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 'hi' end)\"",
    ] {
        ok(&mut c, line);
    }
    let long = "compressible-".repeat(100);
    let mut cmds = vec![
        cmd(&["SET", "long", &long]),
        cmd(&["HSET", "widehash", "f", &long]),
        cmd(&["ZADD", "widezset", "1", &long]),
    ];
    for i in 0..1000 {
        let (m, v) = (format!("m{i}"), format!("v{i}"));
        cmds.push(cmd(&["RPUSH", "biglist", &m]));
        cmds.push(cmd(&["SADD", "bigints", &i.to_string()]));
        cmds.push(cmd(&["SADD", "bigstrs", &m]));
        cmds.push(cmd(&["HSET", "bighash", &m, &v]));
        cmds.push(cmd(&["ZADD", "bigzset", &format!("{}.5", i - 500), &m]));
        cmds.push(cmd(&["SET", &format!("key:{i}"), &v]));
    }
    run(&mut c, &cmds);
    let before = read_dataset(&mut c);
    assert_eq!(
        call(&mut c, "BGSAVE"),
        Frame::simple("Background saving started")
    );
    let done = wait_idle(&mut c, Duration::from_secs(20));
    assert_eq!(field(&done, "rdb_last_bgsave_status"), "ok", "{done}");
    assert_eq!(num(&done, "rdb_saves"), 1, "{done}");
    assert_eq!(num(&done, "rdb_changes_since_last_save"), 0, "{done}");

    let copy = s.dir().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(s.dir().join("dump.rdb"), copy.join("dump.rdb")).unwrap();
    let report = check_rdb(&copy.join("dump.rdb"));
    assert_eq!(keys_read(&report), before.len() as i64, "{report}");
    let redis = ServerBuilder::redis()
        .directive("dir", copy.to_str().unwrap())
        .directive("dbfilename", "dump.rdb")
        .start();
    log_with(&redis, "Done loading RDB");
    let mut r = redis.client();
    assert_same(&before, &read_dataset(&mut r), "dump.rdb of an idle BGSAVE");
    assert_eq!(call(&mut r, "FCALL myfunc 0"), Frame::Bulk("hi".into()));
}

/// Requirement 3: FLUSHALL, FLUSHDB and SWAPDB while the walk runs
/// change nothing in the file: each database's image stays with its
/// index at the cut.
#[test]
fn flushall_and_swapdb_during_the_walk_leave_the_image_alone() {
    if !testkit::have_redis() {
        return;
    }
    let tags = two_shard_tags();
    let s = shoal().directive("enable-debug-command", "yes").start();
    let mut c = s.client();
    fill(&mut c, 200_000, &tags);
    for line in [
        "SELECT 1",
        "DEBUG POPULATE 20000 one",
        "RPUSH one:list a b",
        "SELECT 0",
    ] {
        ok(&mut c, line);
    }
    assert_eq!(call(&mut c, "SAVE"), Frame::simple("OK"));
    let (reference, _) = redis_on_copy(&s, "reference");

    assert_eq!(
        call(&mut c, "BGSAVE"),
        Frame::simple("Background saving started")
    );
    let i = info(&mut c, "persistence");
    assert_eq!(field(&i, "rdb_bgsave_in_progress"), "1", "{i}");
    for line in [
        // db 0's image now sits at index 1 and db 1's at 0.
        "SWAPDB 0 1",
        "SET one:1 changed",
        "DEL one:2",
        "SET after:swap x",
        "SELECT 1",
        "SET k:1 changed",
        "DEL k:2 k:3",
        "LPUSH l:1 more",
        "SELECT 0",
        // Both images' tables are held aside.
        "FLUSHALL",
        "SET after:flush y",
        "SET k:1 again",
        "SELECT 1",
        "SET one:1 again",
        "SWAPDB 1 3",
        "SELECT 3",
        "FLUSHDB",
        "SET d3:1 changed",
        "SELECT 0",
    ] {
        ok(&mut c, line);
    }
    let i = info(&mut c, "persistence");
    assert_eq!(
        field(&i, "rdb_bgsave_in_progress"),
        "1",
        "the walk ended before the test was done with it; the test needs a bigger dataset"
    );
    let done = wait_idle(&mut c, Duration::from_secs(30));
    assert_eq!(field(&done, "rdb_last_bgsave_status"), "ok", "{done}");

    // The live server: db 0 and 3 hold what was written after the flushes.
    let live = read_dataset(&mut c);
    let live_keys: Vec<(usize, String)> = live
        .keys()
        .map(|(db, k)| (*db, String::from_utf8_lossy(k).into_owned()))
        .collect();
    let expect = [(0, "after:flush"), (0, "k:1"), (3, "d3:1")];
    assert_eq!(
        live_keys,
        expect.map(|(d, k)| (d, k.to_string())),
        "live keys"
    );

    let (file, _) = redis_on_copy(&s, "bgsave");
    assert_same_redis(
        &reference,
        &file,
        "dump.rdb with FLUSHALL and SWAPDB during the walk",
    );
}

/// The cut, seen from clients: writes sent on other connections once
/// BGSAVE has answered are not in the file (Redis forks before replying).
/// Up to twenty tries; each opens 4 connections first (so that some live
/// on each shard), and each connection then sets a key on each shard.
#[test]
fn a_write_sent_after_the_bgsave_reply_is_not_in_the_file() {
    let tags = two_shard_tags();
    let s = shoal().directive("enable-debug-command", "yes").start();
    let mut c = s.client();
    ok(&mut c, "DEBUG POPULATE 100000 k");
    let mut found = Vec::new();
    for trial in 0..20 {
        let mut others: Vec<Client> = (0..4).map(|_| s.client()).collect();
        // Short keys: stored as they are (no LZF below 21 bytes).
        let marks: Vec<Vec<String>> = (0..others.len())
            .map(|o| {
                [&tags.a, &tags.b]
                    .iter()
                    .map(|t| format!("m{{{t}}}:{trial}:{o}"))
                    .collect()
            })
            .collect();
        assert_eq!(
            call(&mut c, "BGSAVE"),
            Frame::simple("Background saving started")
        );
        for (o, m) in others.iter_mut().zip(&marks) {
            o.send(["MSET", &m[0], "after"]).unwrap();
            o.send(["SET", &m[1], "after"]).unwrap();
        }
        for o in &mut others {
            assert_eq!(o.read().unwrap(), Frame::simple("OK"));
            assert_eq!(o.read().unwrap(), Frame::simple("OK"));
        }
        let i = wait_idle(&mut c, Duration::from_secs(30));
        assert_eq!(field(&i, "rdb_last_bgsave_status"), "ok", "{i}");
        let file = std::fs::read(s.dir().join("dump.rdb")).unwrap();
        let file = String::from_utf8_lossy(&file);
        for m in marks.iter().flatten() {
            if file.contains(m.as_str()) {
                found.push(m.clone());
            }
            ok(&mut c, &format!("DEL {m}"));
        }
        if !found.is_empty() {
            break;
        }
    }
    assert!(
        found.is_empty(),
        "written after BGSAVE answered, yet in its file: {found:?}"
    );
}

/// FLUSHALL while a BGSAVE walks still breaks a WATCH on a key it removed
/// (the image keeps the old table; WATCH must see the flush first).
#[test]
fn flushall_during_the_walk_still_breaks_watch() {
    let s = shoal().directive("enable-debug-command", "yes").start();
    let mut c = s.client();
    ok(&mut c, "DEBUG POPULATE 200000 k");
    ok(&mut c, "SET watched 1");
    let mut w = s.client();
    ok(&mut w, "WATCH watched");
    assert_eq!(
        call(&mut c, "BGSAVE"),
        Frame::Simple("Background saving started".into())
    );
    let i = info(&mut c, "persistence");
    let running = field(&i, "rdb_bgsave_in_progress").to_string();
    ok(&mut c, "FLUSHALL");
    ok(&mut w, "MULTI");
    ok(&mut w, "SET watched 2");
    assert_eq!(
        call(&mut w, "EXEC"),
        Frame::NullArray,
        "walk running: {running}"
    );
    wait_idle(&mut c, Duration::from_secs(30));
}
