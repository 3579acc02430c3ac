//! RDB snapshots between Shoal and redis-server 7.0, in both directions:
//! Shoal's SAVE passes `redis-check-rdb` and loads into redis-server with
//! the same contents; redis-server's dump.rdb (compact encodings) loads
//! into Shoal, and so does its AOF directory; Shoal reloads its own file
//! (with another shard count);
//! SHUTDOWN SAVE / NOSAVE; a damaged file stops the start with a log line.

#![allow(clippy::unwrap_used)]

mod common;

use common::{check_rdb, log_with, sorted, words};
use resp::client::Client;
use resp::Frame;
use std::path::Path;
use std::time::Duration;
use testkit::{Server, ServerBuilder};

fn call(c: &mut Client, line: &str) -> Frame {
    c.call(words(line))
        .unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn ok(c: &mut Client, line: &str) {
    let r = call(c, line);
    assert!(!r.is_error(), "{line}: {r}");
}

/// Every type, small and big encodings, TTLs, several databases, and a
/// function library.
fn fill(c: &mut Client) {
    for line in [
        "SET s hello",
        "SET n 12345",
        "SET neg -7",
        "SET big 9223372036854775807",
        "SET float 3.25",
        "SET empty \"\"",
        "SET bin \"a\\x00b\\xffc\"",
        "SETEX ttl 1000 v",
        "SET pttl v PX 500000",
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
        "RPUSH db1list x",
        "SELECT 5",
        "SET db5 five",
        "PEXPIRE db5 3000000",
        "SELECT 0",
        "FUNCTION LOAD \"#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 'hi' end)\"",
    ] {
        ok(c, line);
    }
    // Long values and big aggregates (hashtable, skiplist, quicklist).
    let long = "compressible-".repeat(100);
    ok(c, &format!("SET long {long}"));
    ok(c, &format!("RPUSH list {long}"));
    let mut bigs = Vec::new();
    for i in 0..1000 {
        bigs.push(format!("RPUSH biglist item{i}"));
        bigs.push(format!("SADD bigints {i}"));
        bigs.push(format!("SADD bigstrs m{i}"));
        bigs.push(format!("HSET bighash f{i} v{i}"));
        bigs.push(format!("ZADD bigzset {}.5 m{i}", i as i64 - 500));
        bigs.push(format!("SET key:{i} {i}"));
        if i % 10 == 0 {
            bigs.push(format!("EXPIRE key:{i} {}", 1000 + i));
        }
    }
    ok(c, &format!("HSET widehash f {long}"));
    ok(c, &format!("ZADD widezset 1 {long}"));
    ok(c, &format!("SADD widestrs {long}"));
    let cmds: Vec<Vec<Vec<u8>>> = bigs.iter().map(|l| words(l)).collect();
    for r in c.pipeline(cmds).unwrap() {
        assert!(!r.is_error(), "{r}");
    }
}

fn frame_keys(f: Frame) -> Vec<String> {
    let Frame::Array(v) = f else {
        panic!("KEYS: {f}")
    };
    let mut keys: Vec<String> = v
        .into_iter()
        .map(|k| match k {
            Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("key {other}"),
        })
        .collect();
    keys.sort();
    keys
}

/// Compare every key of every database: type, contents, TTL (±5 s).
/// Returns how many keys were compared.
fn compare(a: &mut Client, b: &mut Client) -> usize {
    let mut n = 0;
    for db in 0..16 {
        ok(a, &format!("SELECT {db}"));
        ok(b, &format!("SELECT {db}"));
        let keys = frame_keys(call(a, "KEYS *"));
        assert_eq!(keys, frame_keys(call(b, "KEYS *")), "keys of db {db}");
        let types: Vec<Vec<Vec<u8>>> = keys.iter().map(|k| words(&format!("TYPE {k}"))).collect();
        let ta = a.pipeline(types.clone()).unwrap();
        assert_eq!(ta, b.pipeline(types).unwrap(), "types in db {db}");
        // Per key: its contents, then its PTTL.
        let mut reads: Vec<Vec<Vec<u8>>> = Vec::new();
        for (k, ty) in keys.iter().zip(&ta) {
            let Frame::Simple(t) = ty else {
                panic!("TYPE {k}: {ty}")
            };
            let read: &[&str] = match &t[..] {
                b"string" => &["GET"],
                b"list" => &["LRANGE", "0", "-1"],
                b"set" => &["SMEMBERS"],
                b"hash" => &["HGETALL"],
                b"zset" => &["ZRANGE", "0", "-1", "WITHSCORES"],
                other => panic!("type {}", String::from_utf8_lossy(other)),
            };
            let mut cmd = vec![read[0].as_bytes().to_vec(), k.as_bytes().to_vec()];
            cmd.extend(read[1..].iter().map(|s| s.as_bytes().to_vec()));
            reads.push(cmd);
            reads.push(vec![b"PTTL".to_vec(), k.as_bytes().to_vec()]);
        }
        let ra = a.pipeline(reads.clone()).unwrap();
        let rb = b.pipeline(reads).unwrap();
        for (i, k) in keys.iter().enumerate() {
            let (va, vb) = (&ra[2 * i], &rb[2 * i]);
            assert_eq!(
                sorted(va.clone()),
                sorted(vb.clone()),
                "contents of {k} in db {db}"
            );
            let (Frame::Integer(ta), Frame::Integer(tb)) = (&ra[2 * i + 1], &rb[2 * i + 1]) else {
                panic!("PTTL {k}: {} / {}", ra[2 * i + 1], rb[2 * i + 1])
            };
            assert_eq!(*ta < 0, *tb < 0, "TTL presence of {k}: {ta} vs {tb}");
            assert!((ta - tb).abs() < 5000, "TTL of {k}: {ta} vs {tb}");
            n += 1;
        }
    }
    ok(a, "SELECT 0");
    ok(b, "SELECT 0");
    assert_eq!(call(a, "FCALL myfunc 0"), call(b, "FCALL myfunc 0"));
    n
}

fn shoal_in(dir: &Path) -> ServerBuilder {
    common::shoal().directive("dir", dir.to_str().unwrap())
}

#[test]
fn shoal_snapshot_passes_redis_check_and_loads_into_redis() {
    if !testkit::have_redis() {
        return;
    }
    let shoal = common::shoal().start();
    let mut c = shoal.client();
    fill(&mut c);
    let before = match call(&mut c, "LASTSAVE") {
        Frame::Integer(t) => t,
        other => panic!("LASTSAVE {other}"),
    };
    let changes = |c: &mut Client| -> (u64, String) {
        let Frame::Bulk(info) = call(c, "INFO persistence") else {
            panic!()
        };
        let info = String::from_utf8_lossy(&info).into_owned();
        let n = info
            .split("rdb_changes_since_last_save:")
            .nth(1)
            .and_then(|r| r.split("\r\n").next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{info}"));
        (n, info)
    };
    assert!(changes(&mut c).0 > 5000);
    assert_eq!(call(&mut c, "SAVE"), Frame::simple("OK"));
    let (n, info) = changes(&mut c);
    assert_eq!(n, 0, "{info}");
    assert!(info.contains("rdb_saves:1\r\n"), "{info}");
    assert!(info.contains("rdb_last_bgsave_status:ok\r\n"), "{info}");
    let Frame::Integer(after) = call(&mut c, "LASTSAVE") else {
        panic!()
    };
    assert!(after >= before);
    let file = shoal.dir().join("dump.rdb");
    let report = check_rdb(&file);
    println!("{report}");
    assert!(report.contains("keys read"), "{report}");

    let redis = ServerBuilder::redis()
        .directive("dir", shoal.dir().to_str().unwrap())
        .directive("dbfilename", "dump.rdb")
        .start();
    log_with(&redis, "Done loading RDB");
    let n = compare(&mut c, &mut redis.client());
    println!("shoal -> redis: {n} keys compared");
    assert!(n > 1000, "{n}");
}

#[test]
fn redis_snapshot_loads_into_shoal() {
    if !testkit::have_redis() {
        return;
    }
    let redis = Server::redis();
    let mut r = redis.client();
    fill(&mut r);
    assert_eq!(call(&mut r, "SAVE"), Frame::simple("OK"));
    // Redis's compact encodings really are in the file.
    assert_eq!(common::encoding(&mut r, "hash"), "listpack");
    assert_eq!(common::encoding(&mut r, "ints"), "intset");
    assert_eq!(common::encoding(&mut r, "list"), "quicklist");
    assert_eq!(common::encoding(&mut r, "zset"), "listpack");
    let shoal = shoal_in(redis.dir()).start();
    let log = log_with(&shoal, "DB loaded from disk");
    assert!(log.contains("Loading RDB produced by version 7.0"), "{log}");
    let mut s = shoal.client();
    let n = compare(&mut s, &mut r);
    println!("redis -> shoal: {n} keys compared");
    assert!(n > 1000, "{n}");
    let Frame::Bulk(info) = call(&mut s, "INFO persistence") else {
        panic!()
    };
    let info = String::from_utf8_lossy(&info);
    assert!(
        info.contains(&format!("rdb_last_load_keys_loaded:{n}\r\n")),
        "{info}"
    );
}

/// Wait until no AOF rewrite runs on `c`'s server.
fn rewrite_done(c: &mut Client) {
    for _ in 0..500 {
        let Frame::Bulk(info) = call(c, "INFO persistence") else {
            panic!()
        };
        let info = String::from_utf8_lossy(&info).into_owned();
        if info.contains("aof_rewrite_in_progress:0\r\n")
            && info.contains("aof_rewrite_scheduled:0\r\n")
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the AOF rewrite never ended");
}

/// A Redis `appendonlydir` (an RDB base and an incr file of commands,
/// transactions and SELECTs included) copied into Shoal's `dir` loads with
/// the same contents, with one shard or two, and is rewritten into Shoal's
/// layout, which a restart then loads again.
#[test]
fn redis_aof_directory_loads_into_shoal() {
    if !testkit::have_redis() {
        return;
    }
    let redis = ServerBuilder::redis()
        .directive("appendonly", "yes")
        .directive("appendfsync", "always")
        .start();
    let mut r = redis.client();
    fill(&mut r);
    ok(&mut r, "BGREWRITEAOF");
    rewrite_done(&mut r);
    for line in [
        "SET after-rewrite 1",
        "MULTI",
        "INCR n",
        "SADD strs z",
        "EXEC",
        "SELECT 7",
        "SET db7 seven",
        "SELECT 0",
        "EXPIRE s 5000",
        "DEL neg",
    ] {
        ok(&mut r, line);
    }
    let from = redis.dir().join("appendonlydir");
    let manifest = std::fs::read_to_string(from.join("appendonly.aof.manifest")).unwrap();
    let redis_files: Vec<&str> = manifest.split_whitespace().skip(1).step_by(6).collect();
    assert_eq!(redis_files.len(), 2, "{manifest}");
    assert!(redis_files[0].ends_with(".base.rdb"), "{manifest}");
    assert!(redis_files[1].ends_with(".incr.aof"), "{manifest}");
    for threads in [1, 2] {
        let dir = redis.dir().join(format!("shoal-{threads}"));
        let to = dir.join("appendonlydir");
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(&from).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
        // A history file Redis had not removed yet goes too.
        std::fs::write(to.join("appendonly.aof.1.incr.aof"), b"").unwrap();
        std::fs::write(
            to.join("appendonly.aof.manifest"),
            format!("{manifest}file appendonly.aof.1.incr.aof seq 1 type h\n"),
        )
        .unwrap();
        let mut shoal = shoal_in(&dir)
            .threads(threads)
            .directive("appendonly", "yes")
            .start();
        let mut s = shoal.client();
        let n = compare(&mut s, &mut r);
        assert!(n > 1000, "{n}");
        // Rewritten into Shoal's own layout, Redis's files gone.
        let ours = std::fs::read_to_string(to.join("appendonly.aof.manifest")).unwrap();
        assert!(ours.contains(".s0.base.rdb seq"), "{ours}");
        for name in redis_files.iter().chain(&["appendonly.aof.1.incr.aof"]) {
            assert!(!to.join(name).exists(), "{name} is still there");
        }
        ok(&mut s, "SET written-by-shoal 1");
        ok(&mut r, "SET written-by-shoal 1");
        drop(s);
        shoal.kill9();
        let shoal = shoal_in(&dir)
            .threads(threads)
            .directive("appendonly", "yes")
            .start();
        let mut s = shoal.client();
        assert_eq!(compare(&mut s, &mut r), n + 1);
        ok(&mut r, "DEL written-by-shoal");
    }
}

#[test]
fn shoal_reloads_its_own_snapshot_with_any_shard_count() {
    let first = common::shoal().start();
    let mut c = first.client();
    fill(&mut c);
    // A key that expires before the reload is skipped, not loaded.
    ok(&mut c, "SET soon v PX 300");
    assert_eq!(call(&mut c, "SAVE"), Frame::simple("OK"));
    std::thread::sleep(Duration::from_millis(400));
    for threads in [2, 1, 3] {
        let again = shoal_in(first.dir()).threads(threads).start();
        log_with(&again, "keys expired: 1.");
        let n = compare(&mut c, &mut again.client());
        assert!(n > 1000, "{n} keys with {threads} shards");
    }
}

/// The keys a fresh Shoal loads from `dir`'s dump.rdb.
fn file_keys(dir: &Path) -> Vec<String> {
    let s = shoal_in(dir).directive("save", "").start();
    let mut c = s.client();
    let dbsize = call(&mut c, "DBSIZE");
    let keys = frame_keys(call(&mut c, "KEYS *"));
    assert_eq!(dbsize, Frame::Integer(keys.len() as i64));
    keys
}

fn shutdown(mut s: Server, line: &str) {
    let mut c = s.client();
    let _ = c.call(words(line));
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0), "{line}");
}

#[test]
fn shutdown_saves_unless_told_not_to() {
    let holder = common::shoal().directive("save", "").start();
    let dir = holder.dir().to_path_buf();
    let file = dir.join("dump.rdb");
    // `save ""` and plain SHUTDOWN: nothing written.
    let mut c = holder.client();
    ok(&mut c, "SET a 1");
    assert!(call(&mut c, "SHUTDOWN SAVE NOSAVE").is_error());
    drop(c);
    let mut holder = holder;
    let _ = holder.client().call(["SHUTDOWN"]);
    assert_eq!(holder.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(!file.exists(), "nothing saved without save points");

    // Default save points: SHUTDOWN saves.
    let s = shoal_in(&dir).start();
    ok(&mut s.client(), "SET b 2");
    shutdown(s, "SHUTDOWN");
    assert!(file.exists(), "SHUTDOWN with save points saves");
    assert_eq!(file_keys(&dir), ["b"]);

    // NOSAVE: the change is lost, the file stays as it was.
    let s = shoal_in(&dir).start();
    ok(&mut s.client(), "SET c 3");
    shutdown(s, "SHUTDOWN NOSAVE");
    assert_eq!(file_keys(&dir), ["b"]);

    // SIGTERM with save points saves too (Redis does).
    let mut s = shoal_in(&dir).start();
    ok(&mut s.client(), "SET e 5");
    s.terminate();
    assert_eq!(file_keys(&dir), ["b", "e"]);

    // SAVE even without save points.
    let s = shoal_in(&dir).directive("save", "").start();
    ok(&mut s.client(), "SET d 4");
    shutdown(s, "SHUTDOWN SAVE NOW");
    assert_eq!(file_keys(&dir), ["b", "d", "e"]);
}

fn refuses_to_start(dir: &Path, why: &str) {
    let mut s = shoal_in(dir).no_wait().start();
    let code = s.wait_exit(Duration::from_secs(20));
    let log = s.log();
    assert_eq!(code, Some(1), "{why}: exit code; log:\n{log}");
    let path = dir.join("dump.rdb");
    assert!(
        log.contains("Fatal error loading the DB from") && log.contains(path.to_str().unwrap()),
        "{why}: log names the file:\n{log}"
    );
    assert!(!log.contains("panicked"), "{why}: no panic:\n{log}");
}

#[test]
fn damaged_snapshot_stops_the_start_without_panic() {
    let mut first = common::shoal().start();
    let mut c = first.client();
    fill(&mut c);
    assert_eq!(call(&mut c, "SAVE"), Frame::simple("OK"));
    first.kill9();
    let file = first.dir().join("dump.rdb");
    let good = std::fs::read(&file).unwrap();

    std::fs::write(&file, &good[..good.len() / 2]).unwrap();
    refuses_to_start(first.dir(), "truncated");

    // No checksum to catch it: the parser must.
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 8..].fill(0);
    let mid = n / 3;
    bad[mid..mid + 64].fill(0xC3);
    std::fs::write(&file, &bad).unwrap();
    refuses_to_start(first.dir(), "garbage inside, no checksum");

    std::fs::write(&file, b"not an rdb file").unwrap();
    refuses_to_start(first.dir(), "not an RDB file");

    // The intact file still loads.
    std::fs::write(&file, &good).unwrap();
    let again = shoal_in(first.dir()).start();
    let Frame::Integer(keys) = call(&mut again.client(), "DBSIZE") else {
        panic!()
    };
    assert!(keys > 1000);
}

#[test]
fn shutdown_during_a_busy_script_needs_nosave_as_in_redis() {
    if !testkit::have_redis() {
        return;
    }
    let mut pair = common::Pair::start_with(&[("busy-reply-threshold", "200")]);
    let mut replies = Vec::new();
    for port in [pair.shoal.port(), pair.redis.port()] {
        std::thread::spawn(move || {
            let mut c = Client::connect(("127.0.0.1", port)).unwrap();
            let _ = c.call(["EVAL", "while true do end", "0"]);
        });
        std::thread::sleep(Duration::from_millis(500));
        let mut other = Client::connect(("127.0.0.1", port)).unwrap();
        let mut r = Vec::new();
        for line in ["SHUTDOWN", "SHUTDOWN SAVE"] {
            r.push(call(&mut other, line));
        }
        replies.push(r);
        let _ = other.call(["SHUTDOWN", "NOSAVE"]);
    }
    assert!(replies[0][0].is_error(), "{:?}", replies[0]);
    assert_eq!(replies[0], replies[1]);
    for s in [&mut pair.shoal, &mut pair.redis] {
        assert!(s.wait_exit(Duration::from_secs(10)).is_some());
    }
}

#[test]
fn save_is_one_point_in_time_across_shards() {
    // "a" and "c" hash to shard 1 of 2, "b" to shard 0: each MSET spans both
    // shards, and a snapshot must hold all three from the same MSET. With
    // 4 writers and 20 snapshots, a save without its locks is caught.
    let s = common::shoal().start();
    let port = s.port();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(("127.0.0.1", port)).unwrap();
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let v = format!("{w}:{i}");
                    let r = c.call(["MSET", "a", &v, "b", &v, "c", &v]).unwrap();
                    assert_eq!(r, Frame::simple("OK"));
                    i += 1;
                }
                i
            })
        })
        .collect();
    let mut c = s.client();
    let copy = s.dir().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(call(&mut c, "SAVE"), Frame::simple("OK"));
        std::fs::copy(s.dir().join("dump.rdb"), copy.join("dump.rdb")).unwrap();
        let again = shoal_in(&copy).directive("save", "").start();
        let got = call(&mut again.client(), "MGET a b c");
        let Frame::Array(v) = &got else {
            panic!("{got}")
        };
        assert!(v.iter().all(|x| *x == v[0]), "torn snapshot: {got}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        assert!(w.join().unwrap() > 0);
    }
}

#[test]
fn failed_save_answers_like_redis_and_keeps_serving() {
    if !testkit::have_redis() {
        return;
    }
    let pair = common::Pair::start();
    // A directory where the snapshot should go: the final rename fails.
    for dir in [pair.shoal.dir(), pair.redis.dir()] {
        std::fs::create_dir(dir.join("dump.rdb")).unwrap();
    }
    let mut d = pair.diff();
    d.same("SET k v");
    d.same_error("SAVE");
    d.same_error("SHUTDOWN SAVE");
    d.same("GET k");
    let Frame::Bulk(info) = call(&mut d.shoal, "INFO persistence") else {
        panic!()
    };
    let info = String::from_utf8_lossy(&info);
    assert!(info.contains("rdb_last_bgsave_status:err\r\n"), "{info}");
    assert!(info.contains("rdb_saves:0\r\n"), "{info}");
    log_with(&pair.shoal, "Error moving temp DB file");
    log_with(&pair.shoal, "Error trying to save the DB, can't exit.");
    let leftovers: Vec<_> = std::fs::read_dir(pair.shoal.dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("temp-"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    // Once the obstacle is gone, SAVE works again.
    for dir in [pair.shoal.dir(), pair.redis.dir()] {
        std::fs::remove_dir(dir.join("dump.rdb")).unwrap();
    }
    d.same("SAVE");
    let Frame::Bulk(info) = call(&mut d.shoal, "INFO persistence") else {
        panic!()
    };
    assert!(String::from_utf8_lossy(&info).contains("rdb_last_bgsave_status:ok\r\n"));
}
