//! What each write appends to its shard's AOF (docs/design/aof-propagation.md
//! §2): relative times become absolute ones, random picks become what was
//! removed, blocking pops become their non-blocking forms (served at once
//! or later, a move across shards as a pop here and a push there), and a
//! write that changed nothing leaves no record. Then a restart on the same
//! directory, after a crash, brings back every key as it was: type, value
//! and expiry time.

#![allow(clippy::unwrap_used)]

mod common;

use common::key_on;
use common::words;
use resp::client::Client;
use resp::Frame;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use testkit::{Server, ServerBuilder};

const SHARDS: usize = 2;

/// How far an absolute time in a record may be from the one expected
/// (the test's clock against the server's, and the time a command takes).
const SLACK_MS: i64 = 3000;

fn aof_shoal() -> ServerBuilder {
    common::shoal()
        .threads(SHARDS)
        .directive("appendonly", "yes")
        .directive("appendfsync", "always")
        .directive("save", "")
}

/// Start `b` and wait until the base files of the start-up rewrite are
/// written, so that the records this file looks at are the only writes.
fn start(b: ServerBuilder) -> Server {
    let s = b.start();
    let mut c = s.client();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = ok(&mut c, "INFO persistence").as_text().unwrap_or_default();
        if info.contains("aof_rewrite_in_progress:0") {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "start-up rewrite never ended: {info}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn now_ms() -> i64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(d.as_millis()).unwrap()
}

fn call(c: &mut Client, line: &str) -> Frame {
    c.call(words(line))
        .unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn ok(c: &mut Client, line: &str) -> Frame {
    let r = call(c, line);
    assert!(!r.is_error(), "{line}: {r}");
    r
}

/// One record: its arguments.
type Record = Vec<Vec<u8>>;

fn show(r: &Record) -> String {
    r.iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parse whole RESP arrays from `buf`, skipping `#` annotation lines:
/// the records and how many bytes they took (a torn tail is left).
fn parse(buf: &[u8]) -> (Vec<Record>, usize) {
    let all = common::aof_records(buf);
    let used = all.last().map_or(0, |r| r.end);
    let recs = all
        .into_iter()
        .filter(|r| !r.args.is_empty())
        .map(|r| r.args)
        .collect();
    (recs, used)
}

/// The shard incr files of a server's AOF directory, and how much of each
/// the test has read.
struct Log {
    dir: PathBuf,
    read: HashMap<PathBuf, usize>,
}

impl Log {
    fn new(server: &Server) -> Log {
        let mut log = Log {
            dir: server.dir().join("appendonlydir"),
            read: HashMap::new(),
        };
        log.take();
        log
    }

    fn files(&self) -> Vec<PathBuf> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut v: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".incr.aof"))
            .collect();
        v.sort();
        v
    }

    /// Records appended since the last call, file by file, SELECTs left out.
    fn take(&mut self) -> Vec<Record> {
        let mut out = Vec::new();
        for f in self.files() {
            let bytes = std::fs::read(&f).unwrap_or_default();
            let from = self.read.get(&f).copied().unwrap_or(0);
            let (recs, used) = parse(bytes.get(from..).unwrap_or(&[]));
            self.read.insert(f, from + used);
            out.extend(
                recs.into_iter()
                    .filter(|r| !r.first().is_some_and(|n| n.eq_ignore_ascii_case(b"SELECT"))),
            );
        }
        out
    }

    /// Records appended since the last call, waiting up to 2 s for `n` of
    /// them (effects of blocked clients may land after the reply that
    /// caused them).
    fn take_n(&mut self, n: usize) -> Vec<Record> {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut got = self.take();
        while got.len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            got.extend(self.take());
        }
        std::thread::sleep(Duration::from_millis(20));
        got.extend(self.take());
        got
    }
}

/// Does `rec` match `pattern`: words compared exactly, except `@+N` (an
/// absolute Unix ms near now + N), `@` followed by digits only compared
/// as they are, and `*` (anything).
fn matches(rec: &Record, pattern: &str, now: i64) -> bool {
    let pat: Vec<&str> = pattern.split_whitespace().collect();
    if pat.len() != rec.len() {
        return false;
    }
    pat.iter().zip(rec).all(|(p, a)| {
        if *p == "*" {
            return true;
        }
        if let Some(rel) = p.strip_prefix("@+") {
            let rel: i64 = rel.parse().unwrap();
            let Some(at) = std::str::from_utf8(a)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
            else {
                return false;
            };
            return (at - (now + rel)).abs() <= SLACK_MS;
        }
        p.as_bytes() == a.as_slice()
    })
}

/// Run `line` and check that exactly the `expected` records were
/// appended, in order.
fn expect(log: &mut Log, c: &mut Client, line: &str, expected: &[&str]) {
    let now = now_ms();
    call(c, line);
    let got = log.take_n(expected.len());
    let shown: Vec<String> = got.iter().map(show).collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "{line}: logged {shown:#?}, expected {expected:#?}"
    );
    for (r, p) in got.iter().zip(expected) {
        assert!(
            matches(r, p, now),
            "{line}: logged {shown:#?}, expected {expected:#?}"
        );
    }
}

/// Like [`expect`] in any order (records of several shards).
fn expect_unordered(got: &[Record], what: &str, expected: &[&str]) {
    let now = now_ms();
    let shown: Vec<String> = got.iter().map(show).collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "{what}: logged {shown:#?}, expected {expected:#?}"
    );
    let mut left: Vec<&Record> = got.iter().collect();
    for p in expected {
        let i = left
            .iter()
            .position(|r| matches(r, p, now))
            .unwrap_or_else(|| panic!("{what}: no record like {p:?} in {shown:#?}"));
        left.remove(i);
    }
}

fn members(f: &Frame) -> Vec<Vec<u8>> {
    f.as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_bytes().unwrap().to_vec())
        .collect()
}

/// Wait until `n` clients are blocked.
fn wait_blocked(c: &mut Client, n: usize) {
    let want = format!("blocked_clients:{n}\r");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = ok(c, "INFO clients").as_text().unwrap_or_default();
        if info.contains(&want) {
            // Registrations on other shards land just after the count.
            std::thread::sleep(Duration::from_millis(50));
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never {n} blocked clients: {info}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Send `line` on a fresh connection that blocks; its reply comes from the
/// returned thread.
fn block(server: &Server, line: &str) -> std::thread::JoinHandle<Frame> {
    let mut c = server.client();
    let args = words(line);
    let line = line.to_string();
    std::thread::spawn(move || c.call(args).unwrap_or_else(|e| panic!("{line}: {e}")))
}

#[test]
fn strings_log_absolute_times_and_results() {
    let s = start(aof_shoal());
    let mut c = s.client();
    let mut log = Log::new(&s);
    let l = &mut log;
    let c = &mut c;

    expect(l, c, "SET s1 v EX 100", &["SET s1 v PXAT @+100000"]);
    expect(
        l,
        c,
        "SET s1 v PX 100000 XX GET",
        &["SET s1 v PXAT @+100000"],
    );
    expect(l, c, "SET s1 w NX", &[]);
    expect(l, c, "SET s1 w NX GET", &[]);
    expect(l, c, "SET nokey w XX", &[]);
    expect(l, c, "SET s1 v2 GET", &["SET s1 v2"]);
    expect(l, c, "set s1 v3 KEEPTTL get", &["set s1 v3 KEEPTTL"]);
    expect(l, c, "SET s1 v4", &["SET s1 v4"]);
    let secs = now_ms() / 1000 + 500;
    expect(
        l,
        c,
        &format!("SET s1 v5 EXAT {secs}"),
        &[&format!("SET s1 v5 PXAT {}", secs * 1000)],
    );
    let ms = now_ms() + 400_000;
    expect(
        l,
        c,
        &format!("SET s1 v6 PXAT {ms}"),
        &[&format!("SET s1 v6 PXAT {ms}")],
    );
    expect(l, c, "SETEX s2 100 v", &["SET s2 v PXAT @+100000"]);
    expect(l, c, "PSETEX s2 200000 v", &["SET s2 v PXAT @+200000"]);
    expect(l, c, "SETNX s2 x", &[]);
    expect(l, c, "SETNX s3 x", &["SETNX s3 x"]);
    expect(l, c, "GETSET s3 y", &["SET s3 y"]);
    expect(l, c, "GETDEL s3", &["DEL s3"]);
    expect(l, c, "GETDEL s3", &[]);
    expect(l, c, "GETEX s2", &[]);
    expect(l, c, "GETEX s2 EX 300", &["PEXPIREAT s2 @+300000"]);
    expect(l, c, "GETEX s2 PX 250000", &["PEXPIREAT s2 @+250000"]);
    expect(l, c, "GETEX s2 PERSIST", &["PERSIST s2"]);
    expect(l, c, "GETEX s2 PERSIST", &[]);
    expect(l, c, "GETEX s2 PXAT 1", &["DEL s2"]);
    expect(l, c, "GETEX s2 EX 10", &[]);
    expect(l, c, "INCRBYFLOAT f 1.5", &["SET f 1.5 KEEPTTL"]);
    expect(l, c, "INCRBYFLOAT f 0.25", &["SET f 1.75 KEEPTTL"]);
    expect(l, c, "SETRANGE f 0 \"\"", &[]);
    expect(l, c, "MSETNX {t}a 1 {t}b 2", &["MSETNX {t}a 1 {t}b 2"]);
    expect(l, c, "MSETNX {t}a 1 {t}c 2", &[]);
    expect(l, c, "SETBIT bits 7 1", &["SETBIT bits 7 1"]);
    expect(l, c, "SETBIT bits 7 1", &[]);
    expect(l, c, "APPEND f x", &["APPEND f x"]);
}

#[test]
fn expiry_and_restore_log_absolute_times() {
    let s = start(aof_shoal());
    let mut c = s.client();
    let mut log = Log::new(&s);
    let l = &mut log;
    let c = &mut c;

    ok(c, "SET e v");
    l.take();
    expect(l, c, "EXPIRE e 100", &["PEXPIREAT e @+100000"]);
    expect(l, c, "EXPIRE e 50 GT", &[]);
    expect(l, c, "PEXPIRE e 200000 GT", &["PEXPIREAT e @+200000 GT"]);
    expect(l, c, "EXPIRE e 300 XX LT", &[]);
    expect(l, c, "EXPIRE e 150 XX LT", &["PEXPIREAT e @+150000 XX LT"]);
    let secs = now_ms() / 1000 + 600;
    expect(
        l,
        c,
        &format!("EXPIREAT e {secs}"),
        &[&format!("PEXPIREAT e {}", secs * 1000)],
    );
    let ms = now_ms() + 700_000;
    expect(
        l,
        c,
        &format!("pexpireat e {ms}"),
        &[&format!("pexpireat e {ms}")],
    );
    expect(l, c, "EXPIRE nokey 10", &[]);
    expect(l, c, "PERSIST e", &["PERSIST e"]);
    expect(l, c, "PERSIST e", &[]);
    expect(l, c, "EXPIRE e -1", &["DEL e"]);
    ok(c, "SET e v");
    l.take();
    expect(l, c, "PEXPIREAT e 1", &["DEL e"]);
    expect(l, c, "DEL e nokey", &[]);
    ok(c, "SET e v");
    l.take();
    expect(l, c, "DEL e", &["DEL e"]);
    ok(c, "SET e v");
    l.take();
    expect(l, c, "RENAME e e", &[]);

    // RESTORE: a relative TTL becomes absolute with ABSTTL appended.
    ok(c, "RPUSH r a b c");
    let payload = c.call(["DUMP", "r"]).unwrap().as_bytes().unwrap().to_vec();
    l.take();
    let restore = |c: &mut Client, args: &[&[u8]]| {
        let r = c.call(args.iter().copied()).unwrap();
        assert!(!r.is_error(), "RESTORE: {r}");
    };
    let now = now_ms();
    restore(c, &[b"RESTORE", b"r", b"100000", &payload, b"REPLACE"]);
    let got = l.take();
    assert_eq!(
        got.len(),
        1,
        "{:?}",
        got.iter().map(show).collect::<Vec<_>>()
    );
    let rec = got.first().unwrap();
    assert_eq!(rec.len(), 6);
    assert!(
        matches(&rec[..3].to_vec(), "RESTORE r @+100000", now),
        "{}",
        show(rec)
    );
    assert_eq!(rec[3], payload);
    assert_eq!(rec[4..], [b"REPLACE".to_vec(), b"ABSTTL".to_vec()]);

    restore(c, &[b"RESTORE", b"r2", b"0", &payload]);
    let got = l.take();
    assert_eq!(
        got,
        vec![vec![
            b"RESTORE".to_vec(),
            b"r2".to_vec(),
            b"0".to_vec(),
            payload.clone()
        ]]
    );
    // Already expired: a replaced key is deleted, else nothing.
    restore(
        c,
        &[b"RESTORE", b"r2", b"1", &payload, b"ABSTTL", b"REPLACE"],
    );
    assert_eq!(l.take(), vec![vec![b"DEL".to_vec(), b"r2".to_vec()]]);
    restore(c, &[b"RESTORE", b"r3", b"1", &payload, b"ABSTTL"]);
    assert!(l.take().is_empty());
    assert_eq!(call(c, "EXISTS r2 r3"), Frame::Integer(0));
}

#[test]
fn aggregates_log_what_changed() {
    let s = start(aof_shoal());
    let mut c = s.client();
    let mut log = Log::new(&s);
    let l = &mut log;
    let c = &mut c;

    expect(l, c, "HINCRBYFLOAT h f 2.5", &["HSET h f 2.5"]);
    expect(l, c, "HINCRBYFLOAT h f 0.5", &["HSET h f 3"]);
    expect(l, c, "HSETNX h f x", &[]);
    expect(l, c, "HSETNX h g x", &["HSETNX h g x"]);
    expect(l, c, "HDEL h nope", &[]);
    expect(l, c, "HDEL h g", &["HDEL h g"]);

    expect(l, c, "SADD st a b c d e f", &["SADD st a b c d e f"]);
    expect(l, c, "SADD st a", &[]);
    expect(l, c, "SREM st zz", &[]);
    // SPOP: what was removed, never the random pick.
    let m = call(c, "SPOP st");
    let got = l.take();
    assert_eq!(
        got,
        vec![vec![
            b"SREM".to_vec(),
            b"st".to_vec(),
            m.as_bytes().unwrap().to_vec()
        ]]
    );
    let ms = members(&call(c, "SPOP st 2"));
    let got = l.take();
    let mut want = vec![b"SREM".to_vec(), b"st".to_vec()];
    want.extend(ms);
    assert_eq!(got, vec![want]);
    expect(l, c, "SPOP st 0", &[]);
    expect(l, c, "SPOP st 10", &["DEL st"]);
    expect(l, c, "SPOP st", &[]);
    expect(l, c, "SPOP st 3", &[]);
    ok(c, "SADD st a");
    l.take();
    expect(l, c, "SPOP st", &["SREM st a"]);

    ok(c, "RPUSH {l}a 1 2 3 4 5");
    l.take();
    expect(l, c, "LMPOP 2 {l}none {l}a LEFT COUNT 3", &["LPOP {l}a 3"]);
    expect(l, c, "LMPOP 1 {l}a RIGHT COUNT 10", &["RPOP {l}a 2"]);
    expect(l, c, "LMPOP 1 {l}a RIGHT", &[]);
    expect(l, c, "LPOP {l}a", &[]);
    expect(l, c, "LPUSHX {l}a x", &[]);
    ok(c, "RPUSH {l}a x y x");
    l.take();
    expect(l, c, "LREM {l}a 0 nope", &[]);
    expect(l, c, "LREM {l}a 0 x", &["LREM {l}a 0 x"]);
    expect(l, c, "LINSERT {l}a BEFORE nope z", &[]);
    expect(l, c, "LTRIM {l}a 0 -1", &[]);
    expect(l, c, "LMOVE {l}none {l}a LEFT LEFT", &[]);

    ok(c, "ZADD z 1 a 2 b 3 c 4 d");
    l.take();
    expect(l, c, "ZMPOP 1 z MIN COUNT 2", &["ZPOPMIN z 2"]);
    expect(l, c, "ZMPOP 1 z MAX", &["ZPOPMAX z 1"]);
    expect(l, c, "ZREM z nope", &[]);
    expect(l, c, "ZPOPMIN nokey", &[]);
}

#[test]
fn blocking_pops_log_their_non_blocking_forms() {
    let s = start(aof_shoal());
    let mut c = s.client();
    let mut log = Log::new(&s);
    let l = &mut log;
    let c = &mut c;

    // Served at once.
    ok(c, "RPUSH bl x y z");
    l.take();
    expect(l, c, "BLPOP nokey bl 1", &["LPOP bl"]);
    expect(l, c, "BRPOP bl 1", &["RPOP bl"]);
    ok(c, "RPUSH {b}src 1 2 3 4");
    l.take();
    expect(
        l,
        c,
        "BLMOVE {b}src {b}dst LEFT RIGHT 1",
        &["LMOVE {b}src {b}dst LEFT RIGHT"],
    );
    expect(
        l,
        c,
        "BRPOPLPUSH {b}src {b}dst 1",
        &["RPOPLPUSH {b}src {b}dst"],
    );
    expect(l, c, "BLMPOP 1 1 {b}src LEFT COUNT 5", &["LPOP {b}src 2"]);
    expect(l, c, "BLMPOP 1 1 {b}dst RIGHT", &["RPOP {b}dst 1"]);
    ok(c, "ZADD bz 1 a 2 b 3 c 4 d");
    l.take();
    expect(l, c, "BZPOPMIN bz 1", &["ZPOPMIN bz"]);
    expect(l, c, "BZPOPMAX bz 1", &["ZPOPMAX bz"]);
    expect(l, c, "BZMPOP 1 1 bz MIN COUNT 5", &["ZPOPMIN bz 2"]);
    expect(l, c, "BLPOP nokey 0.05", &[]);
    expect(l, c, "BZPOPMIN nokey 0.05", &[]);

    // A move across shards: the pop on the source's shard, the push on
    // the destination's.
    let (src, dst) = (key_on("src", 0), key_on("dst", 1));
    ok(c, &format!("RPUSH {src} a b"));
    l.take();
    call(c, &format!("BLMOVE {src} {dst} RIGHT LEFT 1"));
    let got = l.take_n(2);
    expect_unordered(
        &got,
        "BLMOVE across shards",
        &[&format!("RPOP {src}"), &format!("LPUSH {dst} b")],
    );

    // Served later, by a push: the push, then the pop (same shard, so in
    // this order in its file).
    let t = block(&s, "BLPOP wl 10");
    wait_blocked(c, 1);
    expect(l, c, "LPUSH wl a", &["LPUSH wl a", "LPOP wl"]);
    assert_eq!(
        t.join().unwrap(),
        Frame::Array(vec![Frame::bulk("wl"), Frame::bulk("a")])
    );

    let t = block(&s, "BLMPOP 10 1 wl2 LEFT COUNT 2");
    wait_blocked(c, 1);
    expect(l, c, "RPUSH wl2 a b c", &["RPUSH wl2 a b c", "LPOP wl2 2"]);
    t.join().unwrap();

    let t = block(&s, "BZPOPMAX wz 10");
    wait_blocked(c, 1);
    expect(l, c, "ZADD wz 1 a 2 b", &["ZADD wz 1 a 2 b", "ZPOPMAX wz"]);
    t.join().unwrap();

    let t = block(&s, "BRPOPLPUSH {w}src {w}dst 10");
    wait_blocked(c, 1);
    expect(
        l,
        c,
        "RPUSH {w}src a",
        &["RPUSH {w}src a", "RPOPLPUSH {w}src {w}dst"],
    );
    t.join().unwrap();

    let (src, dst) = (key_on("wsrc", 1), key_on("wdst", 0));
    let t = block(&s, &format!("BLMOVE {src} {dst} LEFT RIGHT 10"));
    wait_blocked(c, 1);
    let line = format!("RPUSH {src} a");
    call(c, &line);
    let got = l.take_n(3);
    expect_unordered(
        &got,
        &line,
        &[&line, &format!("LPOP {src}"), &format!("RPUSH {dst} a")],
    );
    // On the source's shard the pop follows the push that fed it.
    let on_src: Vec<String> = got
        .iter()
        .filter(|r| r.get(1).is_some_and(|k| k == src.as_bytes()))
        .map(show)
        .collect();
    assert_eq!(on_src, [line.clone(), format!("LPOP {src}")]);
    assert_eq!(t.join().unwrap(), Frame::bulk("a"));
}

/// Pipelined pushes that serve blocked clients: each pop is logged right
/// after the push that fed it, before the next command's record, whether
/// the key's shard ran the pipeline inline or as a batch from another
/// shard (one key per shard, so one of the two is remote).
#[test]
fn pipelined_pushes_log_each_pop_after_its_push() {
    let s = start(aof_shoal());
    let mut c = s.client();
    let mut log = Log::new(&s);
    let keys = [key_on("pipe", 0), key_on("pipe", 1)];
    let waiters: Vec<_> = keys
        .iter()
        .map(|k| block(&s, &format!("BLPOP {k} 10")))
        .collect();
    wait_blocked(&mut c, 2);
    let mut cmds = Vec::new();
    for k in &keys {
        cmds.push(words(&format!("LPUSH {k} a")));
        cmds.push(words(&format!("LPUSH {k} b")));
    }
    for r in c.pipeline(cmds).unwrap() {
        assert_eq!(r, Frame::Integer(1));
    }
    for t in waiters {
        t.join().unwrap();
    }
    let got = log.take_n(6);
    for k in &keys {
        let of_k: Vec<String> = got
            .iter()
            .filter(|r| r.get(1).is_some_and(|x| x == k.as_bytes()))
            .map(show)
            .collect();
        assert_eq!(
            of_k,
            [
                format!("LPUSH {k} a"),
                format!("LPOP {k}"),
                format!("LPUSH {k} b")
            ]
        );
    }
}

/// Every key of db 0 and db 1: type, value, expiry time (PEXPIRETIME).
fn snapshot(c: &mut Client) -> BTreeMap<(u8, String), (String, String, i64)> {
    let mut out = BTreeMap::new();
    for db in [0u8, 1] {
        ok(c, &format!("SELECT {db}"));
        let keys = ok(c, "KEYS *");
        for k in keys.as_array().unwrap() {
            let k = k.as_text().unwrap();
            let ty = ok(c, &format!("TYPE {k}")).as_text().unwrap();
            let v = match ty.as_str() {
                "string" => ok(c, &format!("GET {k}")),
                "list" => ok(c, &format!("LRANGE {k} 0 -1")),
                "set" => common::sorted(ok(c, &format!("SMEMBERS {k}"))),
                "hash" => common::sorted(ok(c, &format!("HGETALL {k}"))),
                "zset" => ok(c, &format!("ZRANGE {k} 0 -1 WITHSCORES")),
                other => panic!("{k}: unexpected type {other}"),
            };
            let at = ok(c, &format!("PEXPIRETIME {k}")).as_int().unwrap();
            out.insert((db, k), (ty, format!("{v}"), at));
        }
    }
    ok(c, "SELECT 0");
    out
}

#[test]
fn a_restart_after_a_crash_brings_back_every_key() {
    let mut first = start(aof_shoal());
    let mut c = first.client();
    let payload = {
        ok(&mut c, "HSET dumped f v g w");
        let p = c.call(["DUMP", "dumped"]).unwrap();
        p.as_bytes().unwrap().to_vec()
    };
    let secs = now_ms() / 1000 + 5000;
    let ms = now_ms() + 6_000_000;
    let (exat, pxat, expireat) = (
        format!("SET exat v EXAT {secs}"),
        format!("SET pxat v PXAT {ms}"),
        format!("EXPIREAT exp {}", secs + 10),
    );
    for line in [
        "SET plain v",
        "SET ex v EX 1000",
        "SET px v PX 2000000 GET",
        exat.as_str(),
        pxat.as_str(),
        "SET kept v EX 3000",
        "SET kept v2 KEEPTTL GET",
        "SETEX setex 4000 v",
        "PSETEX psetex 5000000 v",
        "SETNX setnx v",
        "SETNX setnx w",
        "GETSET getset v",
        "SET getdel v",
        "GETDEL getdel",
        "SET getex v",
        "GETEX getex EX 7000",
        "SET getexp v EX 100",
        "GETEX getexp PERSIST",
        "SET getexdel v",
        "GETEX getexdel PXAT 1",
        "INCRBYFLOAT float 10.5",
        "EXPIRE float 8000",
        "INCRBYFLOAT float 0.125",
        "HINCRBYFLOAT hash f 1.25",
        "HINCRBYFLOAT hash f 1e3",
        "SET exp v",
        "EXPIRE exp 9000",
        "PEXPIRE exp 9500000 GT",
        expireat.as_str(),
        "SET gone v",
        "EXPIRE gone 0",
        "SADD set a b c d e f g h i j k l",
        "SPOP set",
        "SPOP set 3",
        "SADD set2 a b",
        "SPOP set2 5",
        "RPUSH list a b c d e f g",
        "LMPOP 1 list LEFT COUNT 2",
        "LMPOP 1 list RIGHT",
        "BLPOP list 1",
        "BRPOP list 1",
        "RPUSH {m}src 1 2 3 4 5",
        "BLMOVE {m}src {m}dst LEFT RIGHT 1",
        "BRPOPLPUSH {m}src {m}dst 1",
        "BLMPOP 1 1 {m}src RIGHT COUNT 2",
        "ZADD zset 1 a 2 b 3 c 4 d 5 e 6 f",
        "ZMPOP 1 zset MIN COUNT 2",
        "BZPOPMIN zset 1",
        "BZPOPMAX zset 1",
        "BZMPOP 1 1 zset MAX COUNT 1",
        "EXPIRE zset 11000",
        "SELECT 1",
        "SET db1 v EX 12000",
        "INCRBYFLOAT db1f 3.5",
        "SELECT 0",
    ] {
        ok(&mut c, line);
    }
    let restores: [&[&[u8]]; 3] = [
        &[b"RESTORE", b"restored", b"13000000", &payload],
        &[b"RESTORE", b"restored0", b"0", &payload],
        &[b"RESTORE", b"dumped", b"1", &payload, b"ABSTTL", b"REPLACE"],
    ];
    for args in restores {
        let r = c.call(args.iter().copied()).unwrap();
        assert!(!r.is_error(), "{r}");
    }
    // Served later, also across shards.
    let t = block(&first, "BLPOP later 10");
    wait_blocked(&mut c, 1);
    ok(&mut c, "RPUSH later a b c");
    t.join().unwrap();
    let (src, dst) = (key_on("msrc", 0), key_on("mdst", 1));
    let t = block(&first, &format!("BLMOVE {src} {dst} LEFT LEFT 10"));
    wait_blocked(&mut c, 1);
    ok(&mut c, &format!("RPUSH {src} x y"));
    t.join().unwrap();

    let before = snapshot(&mut c);
    assert!(before.len() > 25, "{before:#?}");
    for gone in ["getdel", "getexdel", "gone", "set2", "dumped"] {
        assert!(!before.contains_key(&(0, gone.to_string())), "{gone}");
    }
    first.kill9();

    let again = start(aof_shoal().directive("dir", first.dir().to_str().unwrap()));
    let mut c = again.client();
    let after = snapshot(&mut c);
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "{k:?} after the restart");
    }
    assert_eq!(after.len(), before.len(), "{after:#?}");
}
