//! The append-only file under real crashes: shoal-server (2 shards) is
//! killed with SIGKILL while writers run, then restarted on the same
//! directory. With `appendfsync always` every acknowledged write comes
//! back; with either policy every multi-shard write comes back whole or
//! not at all. Damaged logs (a torn last record, a multi-shard
//! transaction whose other part is missing) are cut to a consistent prefix
//! with `aof-load-truncated yes` and refuse the start with `no`. A log
//! that several runs appended to (multi-shard transaction ids from each)
//! loads whole. A BGREWRITEAOF under load loses no acknowledged INCR.

#![allow(clippy::unwrap_used)]

mod common;

use common::{key_on, words};
use resp::client::Client;
use resp::Frame;
use shoal::shard::owner_of;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use testkit::{Server, ServerBuilder};

const SHARDS: usize = 2;

/// Writer connections in the load tests.
const WRITERS: usize = 4;

/// How long the writers run before the kill.
const LOAD: Duration = Duration::from_millis(1500);

/// A writer gives up after this long even if the server still answers
/// (the kill did not happen: the test fails rather than hangs).
const WRITER_LIMIT: Duration = Duration::from_secs(20);

fn aof_shoal(fsync: &str) -> ServerBuilder {
    common::shoal()
        .threads(SHARDS)
        .directive("appendonly", "yes")
        .directive("appendfsync", fsync)
        .directive("save", "")
}

/// A server on `dir` (the directory of an earlier, killed one).
fn restart(dir: &Path, fsync: &str) -> ServerBuilder {
    aof_shoal(fsync).directive("dir", dir.to_str().unwrap())
}

/// A connection whose reads give up after 5 s (a hung server fails the
/// test instead of stalling it).
fn connect(addr: &str) -> Client {
    let mut c = Client::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c
}

fn client(s: &Server) -> Client {
    connect(&s.addr())
}

fn call(c: &mut Client, line: &str) -> Frame {
    c.call(words(line))
        .unwrap_or_else(|e| panic!("{line}: no reply ({e})"))
}

fn ok(c: &mut Client, line: &str) -> Frame {
    let r = call(c, line);
    assert!(!r.is_error(), "{line}: {r}");
    r
}

/// GET every key, pipelined in chunks: the values (None for a missing key).
fn get_all(c: &mut Client, keys: &[String]) -> Vec<Option<Vec<u8>>> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(2000) {
        let cmds = chunk
            .iter()
            .map(|k| vec![b"GET".to_vec(), k.as_bytes().to_vec()]);
        for (k, r) in chunk.iter().zip(c.pipeline(cmds).unwrap()) {
            match r {
                Frame::Null => out.push(None),
                Frame::Bulk(b) => out.push(Some(b.to_vec())),
                other => panic!("GET {k}: {other}"),
            }
        }
    }
    out
}

fn show(v: &Option<Vec<u8>>) -> String {
    match v {
        None => "(nil)".into(),
        Some(b) => format!("{:?}", String::from_utf8_lossy(b)),
    }
}

// ---------------------------------------------------------------------------
// The log on disk.

/// The AOF directory of a server started in `dir`.
fn aof_dir(dir: &Path) -> PathBuf {
    dir.join("appendonlydir")
}

/// The incr file that shard `shard` appends to now: the last one the
/// manifest names for it.
fn last_incr(dir: &Path, shard: usize) -> PathBuf {
    let adir = aof_dir(dir);
    let manifest = std::fs::read_to_string(adir.join("appendonly.aof.manifest"))
        .unwrap_or_else(|e| panic!("manifest in {}: {e}", adir.display()));
    let mut best: Option<(u64, String)> = None;
    for line in manifest.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let field = |name: &str| {
            w.iter()
                .position(|x| *x == name)
                .and_then(|i| w.get(i + 1))
                .copied()
        };
        if field("type") != Some("i") || field("shard") != Some(&shard.to_string()) {
            continue;
        }
        let (Some(file), Some(seq)) = (field("file"), field("seq")) else {
            panic!("manifest line {line:?}");
        };
        let seq: u64 = seq.parse().unwrap();
        if best.as_ref().is_none_or(|(s, _)| seq > *s) {
            best = Some((seq, file.to_string()));
        }
    }
    let (_, file) =
        best.unwrap_or_else(|| panic!("no incr file for shard {shard} in:\n{manifest}"));
    adir.join(file)
}

/// A command as the log holds it.
fn resp_command(args: &[&str]) -> Vec<u8> {
    Frame::command(args.iter().map(|a| a.as_bytes()))
}

/// Where the records of `path` end (a running server writes zeros after
/// them: engine/src/aof/prealloc.rs).
fn records_end(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    common::aof_records(&bytes)
        .last()
        .map_or(0, |r| r.end as u64)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .len()
}

/// Start on `dir` with `aof-load-truncated no` and expect a refusal: a
/// non-zero exit whose log names `file`.
fn expect_refusal(dir: &Path, file: &Path) {
    let mut s = restart(dir, "always")
        .directive("aof-load-truncated", "no")
        .no_wait()
        .start();
    let code = s.wait_exit(Duration::from_secs(10));
    let log = s.log();
    assert!(
        matches!(code, Some(c) if c != 0),
        "started anyway with aof-load-truncated no (exit {code:?}); log:\n{log}"
    );
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        log.contains(&name),
        "the refusal does not name {name}; log:\n{log}"
    );
}

// ---------------------------------------------------------------------------
// Writers under load, killed with SIGKILL.

/// What op `n` of writer `w` writes: a SET on one key, or an MSET of two
/// keys on different shards (a multi-shard transaction).
enum Op {
    Set { key: String, val: String },
    Pair { a: String, b: String, val: String },
}

fn op(w: usize, n: u64) -> Op {
    if n.is_multiple_of(2) {
        return Op::Set {
            key: format!("s:{w}:{n}"),
            val: format!("v{w}:{n}"),
        };
    }
    let a = format!("a:{w}:{n}");
    let home = owner_of(a.as_bytes(), SHARDS);
    let b = (0..)
        .map(|j| format!("b:{w}:{n}:{j}"))
        .find(|k| owner_of(k.as_bytes(), SHARDS) != home)
        .unwrap();
    Op::Pair {
        a,
        b,
        val: n.to_string(),
    }
}

impl Op {
    fn command(&self) -> Vec<&str> {
        match self {
            Op::Set { key, val } => vec!["SET", key, val],
            Op::Pair { a, b, val } => vec!["MSET", a, val, b, val],
        }
    }
}

/// What one writer did: ops `0..attempted` were sent, `acked` got `+OK`.
#[derive(Default)]
struct Tally {
    attempted: u64,
    acked: Vec<bool>,
    /// Error replies (none expected).
    errors: Vec<String>,
}

/// Run ops on one connection until it fails (the server was killed).
fn writer(addr: String, w: usize) -> Tally {
    let mut c = connect(&addr);
    let mut t = Tally::default();
    let until = Instant::now() + WRITER_LIMIT;
    while Instant::now() < until {
        let n = t.attempted;
        let o = op(w, n);
        if c.send(o.command()).is_err() {
            break;
        }
        t.attempted += 1;
        match c.read() {
            Ok(Frame::Simple(s)) if &s[..] == b"OK" => t.acked.push(true),
            Ok(other) => {
                t.acked.push(false);
                t.errors.push(format!("{:?}: {other}", o.command()));
            }
            Err(_) => break,
        }
    }
    t
}

/// How a crash under load ended.
struct Crash {
    acked: usize,
    /// Acknowledged writes missing after the restart.
    lost: Vec<String>,
}

/// Writers on both shards, SIGKILL mid-load, restart on the same
/// directory; checks that every MSET pair is whole or absent and that
/// nothing appeared that was not written.
fn crash_under_load(fsync: &str) -> Crash {
    let mut first = aof_shoal(fsync).start();
    let writers: Vec<JoinHandle<Tally>> = (0..WRITERS)
        .map(|w| {
            let addr = first.addr();
            std::thread::spawn(move || writer(addr, w))
        })
        .collect();
    std::thread::sleep(LOAD);
    first.kill9();
    let tallies: Vec<Tally> = writers.into_iter().map(|h| h.join().unwrap()).collect();

    let again = restart(first.dir(), fsync).start();
    let mut c = client(&again);
    let mut crash = Crash {
        acked: 0,
        lost: Vec::new(),
    };
    let mut written_keys = 0u64;
    for (w, t) in tallies.iter().enumerate() {
        assert!(t.errors.is_empty(), "writer {w} got errors: {:?}", t.errors);
        let acked = t.acked.iter().filter(|a| **a).count();
        assert!(
            acked > 0,
            "writer {w} got no reply in {LOAD:?} ({} sent); per writer (sent, acknowledged): {:?}",
            t.attempted,
            tallies
                .iter()
                .map(|t| (t.attempted, t.acked.len()))
                .collect::<Vec<_>>()
        );
        crash.acked += acked;
        let ops: Vec<Op> = (0..t.attempted).map(|n| op(w, n)).collect();
        let keys: Vec<String> = ops
            .iter()
            .flat_map(|o| match o {
                Op::Set { key, .. } => vec![key.clone()],
                Op::Pair { a, b, .. } => vec![a.clone(), b.clone()],
            })
            .collect();
        written_keys += keys.len() as u64;
        let mut vals = get_all(&mut c, &keys).into_iter();
        for (n, o) in ops.iter().enumerate() {
            let acked = t.acked.get(n).copied().unwrap_or(false);
            match o {
                Op::Set { key, val } => {
                    let got = vals.next().unwrap();
                    match &got {
                        Some(v) if v == val.as_bytes() => {}
                        None if acked => crash.lost.push(format!("SET {key} {val}")),
                        None => {}
                        Some(_) => panic!("{key}: {} instead of {val}", show(&got)),
                    }
                }
                Op::Pair { a, b, val } => {
                    let (ga, gb) = (vals.next().unwrap(), vals.next().unwrap());
                    let want = Some(val.as_bytes().to_vec());
                    if ga.is_none() && gb.is_none() {
                        if acked {
                            crash.lost.push(format!("MSET {a} {val} {b} {val}"));
                        }
                        continue;
                    }
                    assert!(
                        ga == want && gb == want,
                        "MSET {a} {val} {b} {val} (acknowledged: {acked}) came back \
                         half or changed: {a}={} {b}={}",
                        show(&ga),
                        show(&gb)
                    );
                }
            }
        }
    }
    let dbsize = ok(&mut c, "DBSIZE").as_int().unwrap();
    assert!(
        u64::try_from(dbsize).unwrap() <= written_keys,
        "{dbsize} keys after the restart, only {written_keys} written"
    );
    crash
}

#[test]
fn always_keeps_every_acknowledged_write() {
    let crash = crash_under_load("always");
    assert!(
        crash.lost.is_empty(),
        "appendfsync always lost {} of {} acknowledged writes, first: {:?}",
        crash.lost.len(),
        crash.acked,
        crash.lost.iter().take(10).collect::<Vec<_>>()
    );
    println!("always: {} acknowledged writes, none lost", crash.acked);
}

#[test]
fn everysec_keeps_multi_shard_writes_whole() {
    let crash = crash_under_load("everysec");
    // SIGKILL leaves the page cache, so 0 is expected here; a power loss
    // could lose up to a second.
    println!(
        "everysec: {} acknowledged writes, {} lost after SIGKILL",
        crash.acked,
        crash.lost.len()
    );
    assert!(crash.lost.len() <= crash.acked);
}

// ---------------------------------------------------------------------------
// Damaged logs.

/// Keys on both shards, the last write a SET of a shard-0 key, then
/// SIGKILL. Returns the killed server (it owns the directory), the keys
/// written before the last one, the last key, and shard 0's incr file.
fn logged_then_killed() -> (Server, Vec<String>, String, PathBuf) {
    let mut s = aof_shoal("always").start();
    let mut c = client(&s);
    let mut keys = Vec::new();
    for i in 0..20 {
        let k = format!("t{i}");
        ok(&mut c, &format!("SET {k} {k}"));
        keys.push(k);
    }
    // A multi-shard write among them.
    let (a, b) = (key_on("ma", 0), key_on("mb", 1));
    ok(&mut c, &format!("MSET {a} {a} {b} {b}"));
    keys.extend([a, b]);
    let last = key_on("last", 0);
    ok(&mut c, &format!("SET {last} {last}"));
    s.kill9();
    let file = last_incr(s.dir(), 0);
    (s, keys, last, file)
}

/// Every key in `keys` holds its own name (as the tests write them).
fn assert_present(c: &mut Client, keys: &[String]) {
    for (k, v) in keys.iter().zip(get_all(c, keys)) {
        assert_eq!(show(&v), show(&Some(k.clone().into_bytes())), "{k}");
    }
}

/// Cut the last 5 bytes of `file`'s records (inside its last record),
/// with the zeros preallocated after them. Returns the end of the last
/// complete record before the tear.
fn tear(file: &Path, last_key: &str) -> u64 {
    let bytes = std::fs::read(file).unwrap();
    let recs = common::aof_records(&bytes);
    let last = recs.last().unwrap();
    // After a SIGKILL the file goes on with the zeros written ahead of the
    // log (whole pages of them), and nothing else.
    let tail = bytes.get(last.end..).unwrap_or(&[]);
    assert!(
        tail.iter().all(|&b| b == 0),
        "{} does not end with a whole record and zeros",
        file.display()
    );
    assert!(
        tail.len() >= 4096,
        "{}: no space preallocated after the records ({} bytes)",
        file.display(),
        tail.len()
    );
    assert_eq!(
        last.args,
        [
            b"SET".to_vec(),
            last_key.as_bytes().to_vec(),
            last_key.as_bytes().to_vec()
        ],
        "last record of {}",
        file.display()
    );
    std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .unwrap()
        .set_len(last.end as u64 - 5)
        .unwrap();
    last.start as u64
}

#[test]
fn torn_tail_truncated_yes() {
    let (first, keys, last, file) = logged_then_killed();
    let cut = tear(&file, &last);
    let again = restart(first.dir(), "always")
        .directive("aof-load-truncated", "yes")
        .start();
    let mut c = client(&again);
    assert_present(&mut c, &keys);
    assert_eq!(show(&get_all(&mut c, &[last])[0]), "(nil)", "the torn SET");
    assert_eq!(
        records_end(&file),
        cut,
        "{} not truncated to the end of its last whole record; log:\n{}",
        file.display(),
        again.log()
    );
    // The log goes on from the cut: a new write and another crash.
    ok(&mut c, "SET after tear");
    drop(c);
    drop(again);
    let third = restart(first.dir(), "always").start();
    let mut c = client(&third);
    assert_present(&mut c, &keys);
    assert_eq!(show(&get_all(&mut c, &["after".into()])[0]), "\"tear\"");
}

#[test]
fn torn_tail_refused_no() {
    let (first, _, last, file) = logged_then_killed();
    tear(&file, &last);
    let len = file_len(&file);
    expect_refusal(first.dir(), &file);
    assert_eq!(
        file_len(&file),
        len,
        "a refused start changed {}",
        file.display()
    );
}

#[test]
fn torn_multi_shard_transaction_is_cut() {
    let (first, keys, last, file) = logged_then_killed();
    let mut bytes = std::fs::read(&file).unwrap();
    // Where the records end (the preallocated zeros after them go).
    let whole = common::aof_records(&bytes).last().unwrap().end;
    bytes.truncate(whole);
    let whole = whole as u64;
    // Shard 0's part of transaction 999 over shards 0 and 1; shard 1's
    // part never made it. Then a plain record after it.
    let (x, y, after) = (key_on("txa", 0), key_on("txb", 0), key_on("after", 0));
    let mut block = b"#TX:999:0,1\r\n".to_vec();
    block.extend(resp_command(&["MULTI"]));
    block.extend(resp_command(&["SET", &x, "1"]));
    block.extend(resp_command(&["SET", &y, "1"]));
    block.extend(resp_command(&["EXEC"]));
    block.extend(resp_command(&["SET", &after, "1"]));
    bytes.extend(&block);
    std::fs::write(&file, &bytes).unwrap();

    expect_refusal(first.dir(), &file);
    assert_eq!(
        file_len(&file),
        bytes.len() as u64,
        "a refused start changed the file"
    );

    let again = restart(first.dir(), "always")
        .directive("aof-load-truncated", "yes")
        .start();
    let mut c = client(&again);
    assert_present(&mut c, &keys);
    assert_present(&mut c, &[last]);
    let gone = get_all(&mut c, &[x.clone(), y.clone(), after.clone()]);
    for (k, v) in [x, y, after].iter().zip(&gone) {
        assert_eq!(
            show(v),
            "(nil)",
            "{k} of the incomplete transaction or after it"
        );
    }
    assert_eq!(
        records_end(&file),
        whole,
        "{} not cut where the incomplete transaction starts; log:\n{}",
        file.display(),
        again.log()
    );
}

/// Multi-shard transaction ids are written in every run; a log that
/// several runs appended to must still load whole.
#[test]
fn multi_shard_writes_survive_several_restarts() {
    let mut servers = vec![aof_shoal("always").start()];
    let dir = servers[0].dir().to_path_buf();
    let mut keys: Vec<String> = Vec::new();
    for run in 0..3 {
        let s = servers.last_mut().unwrap();
        let mut c = client(s);
        assert_present(&mut c, &keys);
        for i in 0..3 {
            let a = key_on(&format!("r{run}:{i}:a"), 0);
            let b = key_on(&format!("r{run}:{i}:b"), 1);
            ok(&mut c, &format!("MSET {a} {a} {b} {b}"));
            keys.extend([a, b]);
        }
        s.kill9();
        servers.push(restart(&dir, "always").start());
    }
    let s = servers.last().unwrap();
    let mut c = client(s);
    let got = get_all(&mut c, &keys);
    let missing: Vec<&String> = keys
        .iter()
        .zip(&got)
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty(),
        "after 3 runs with 3 cross-shard MSETs each, {} of {} keys are missing: {missing:?}; log:\n{}",
        missing.len(),
        keys.len(),
        s.log()
    );
    assert_present(&mut c, &keys);
}

/// Pipelined cross-shard MSETs settle in the background while the
/// pipeline runs on; their replies must still wait until every part is on
/// disk. Killed right after the last reply, the restart has them all.
#[test]
fn pipelined_multi_shard_writes_are_durable_when_answered() {
    let mut s = aof_shoal("always").start();
    let dir = s.dir().to_path_buf();
    let mut c = client(&s);
    let mut keys: Vec<String> = Vec::new();
    for round in 0..5 {
        let pairs: Vec<(String, String)> = (0..200)
            .map(|i| {
                let a = key_on(&format!("p{round}:{i}:a"), 0);
                let b = key_on(&format!("p{round}:{i}:b"), 1);
                (a, b)
            })
            .collect();
        let cmds = pairs.iter().map(|(a, b)| {
            ["MSET", a, a, b, b]
                .iter()
                .map(|w| w.as_bytes().to_vec())
                .collect::<Vec<_>>()
        });
        for r in c.pipeline(cmds).unwrap() {
            assert_eq!(r, Frame::Simple("OK".into()));
        }
        keys.extend(pairs.into_iter().flat_map(|(a, b)| [a, b]));
    }
    s.kill9();
    let again = restart(&dir, "always").start();
    let mut c = client(&again);
    assert_present(&mut c, &keys);
}

// ---------------------------------------------------------------------------
// BGREWRITEAOF under load.

/// Whether `INFO persistence` says no rewrite is running or scheduled.
fn rewrite_idle(c: &mut Client) -> bool {
    let info = ok(c, "INFO persistence");
    let text = String::from_utf8_lossy(info.as_bytes().unwrap()).into_owned();
    text.contains("aof_rewrite_in_progress:0") && text.contains("aof_rewrite_scheduled:0")
}

/// A counter: INCRs sent and INCRs acknowledged.
struct Count {
    key: String,
    attempted: u64,
    acked: u64,
}

impl Count {
    fn new(key: String) -> Count {
        Count {
            key,
            attempted: 0,
            acked: 0,
        }
    }
}

/// INCR on this writer's own counters, round robin, until the connection
/// fails or `stop`.
fn counter_writer(addr: String, w: usize, stop: Arc<AtomicBool>) -> Vec<Count> {
    let mut counts: Vec<Count> = (0..4).map(|j| Count::new(format!("c:{w}:{j}"))).collect();
    let mut c = connect(&addr);
    let until = Instant::now() + WRITER_LIMIT;
    for i in 0.. {
        if Instant::now() >= until || stop.load(Ordering::Relaxed) {
            break;
        }
        let n = counts.len();
        let k = &mut counts[i % n];
        if c.send(["INCR", k.key.as_str()]).is_err() {
            break;
        }
        k.attempted += 1;
        match c.read() {
            Ok(Frame::Integer(v)) => {
                assert_eq!(u64::try_from(v).unwrap(), k.acked + 1, "{}", k.key);
                k.acked += 1;
            }
            Ok(other) => panic!("INCR {}: {other}", k.key),
            Err(_) => break,
        }
    }
    counts
}

/// `MULTI`, INCR of a counter on each shard, `EXEC`, until the connection
/// fails or `stop`: a multi-shard transaction each time.
fn pair_writer(addr: String, stop: Arc<AtomicBool>) -> [Count; 2] {
    let mut pair = [
        Count::new(key_on("pair:x", 0)),
        Count::new(key_on("pair:y", 1)),
    ];
    let mut c = connect(&addr);
    let mut tx = resp_command(&["MULTI"]);
    for k in &pair {
        tx.extend(resp_command(&["INCR", &k.key]));
    }
    tx.extend(resp_command(&["EXEC"]));
    let until = Instant::now() + WRITER_LIMIT;
    while Instant::now() < until && !stop.load(Ordering::Relaxed) {
        if c.send_raw(&tx).is_err() {
            break;
        }
        for k in &mut pair {
            k.attempted += 1;
        }
        let replies: Result<Vec<Frame>, _> = (0..4).map(|_| c.read()).collect();
        let Ok(replies) = replies else { break };
        let want = Frame::Integer(i64::try_from(pair[0].acked).unwrap() + 1);
        assert_eq!(
            replies.last(),
            Some(&Frame::Array(vec![want.clone(), want])),
            "MULTI/INCR/INCR/EXEC: {replies:?}"
        );
        for k in &mut pair {
            k.acked += 1;
        }
    }
    pair
}

/// The counter's value after the restart, within what was acknowledged
/// and what was sent.
fn check_count(c: &mut Client, k: &Count) -> u64 {
    let v = get_all(c, std::slice::from_ref(&k.key)).remove(0);
    let n: u64 = v.map_or(0, |v| String::from_utf8(v).unwrap().parse().unwrap());
    assert!(
        k.acked <= n && n <= k.attempted,
        "{} = {n} after the restart: acknowledged {}, sent {}",
        k.key,
        k.acked,
        k.attempted
    );
    n
}

#[test]
fn rewrite_under_load_keeps_every_write() {
    let mut first = aof_shoal("always").start();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<JoinHandle<Vec<Count>>> = (0..WRITERS)
        .map(|w| {
            let (addr, stop) = (first.addr(), stop.clone());
            std::thread::spawn(move || counter_writer(addr, w, stop))
        })
        .collect();
    let pairs = {
        let (addr, stop) = (first.addr(), stop.clone());
        std::thread::spawn(move || pair_writer(addr, stop))
    };
    let mut c = client(&first);
    std::thread::sleep(Duration::from_millis(200));
    for round in 0..3 {
        let r = ok(&mut c, "BGREWRITEAOF");
        assert_eq!(
            r.as_text().as_deref(),
            Some("Background append only file rewriting started"),
            "round {round}"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !rewrite_idle(&mut c) {
            assert!(
                Instant::now() < deadline,
                "rewrite {round} still running after 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let info = ok(&mut c, "INFO persistence");
    let info = String::from_utf8_lossy(info.as_bytes().unwrap()).into_owned();
    assert!(
        info.contains("aof_last_bgrewrite_status:ok") && info.contains("aof_rewrites:"),
        "INFO persistence:\n{info}"
    );
    drop(c);
    // Killed while the writers still run.
    first.kill9();
    stop.store(true, Ordering::Relaxed);
    let counts: Vec<Count> = writers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let pair = pairs.join().unwrap();

    let again = restart(first.dir(), "always").start();
    let mut c = client(&again);
    let mut total = 0;
    for k in &counts {
        check_count(&mut c, k);
        total += k.acked;
    }
    let (x, y) = (check_count(&mut c, &pair[0]), check_count(&mut c, &pair[1]));
    assert_eq!(
        x, y,
        "the two counters of one MULTI/EXEC on two shards differ"
    );
    assert!(
        total > 0 && pair[0].acked > 0,
        "too few writes acknowledged"
    );
    println!(
        "rewrite under load: {total} INCRs and {} multi-shard transactions acknowledged, none lost",
        pair[0].acked
    );
}

/// A multi-shard command where one shard changed nothing (DEL of a key
/// that exists on one shard only) still logs a part on every shard it
/// names: otherwise recovery finds the transaction incomplete and cuts
/// everything after it. Later writes on both shards survive a kill.
#[test]
fn multi_shard_write_with_an_empty_part_keeps_what_follows() {
    let mut s = aof_shoal("always").start();
    let dir = s.dir().to_path_buf();
    let (a, b) = (key_on("a", 0), key_on("b", 1));
    let (c0, c1) = (key_on("c", 0), key_on("c", 1));
    let mut cl = client(&s);
    ok(&mut cl, &format!("SET {a} 1"));
    assert_eq!(call(&mut cl, &format!("DEL {a} {b}")), Frame::Integer(1));
    ok(&mut cl, &format!("SET {c0} after"));
    ok(&mut cl, &format!("SET {c1} after"));
    s.kill9();
    let again = restart(&dir, "always").start();
    let mut cl = client(&again);
    let got = get_all(&mut cl, &[a, c0, c1]);
    assert_eq!(
        got,
        vec![None, Some(b"after".to_vec()), Some(b"after".to_vec())],
        "log:\n{}",
        again.log()
    );
}
