//! BGSAVE's replies next to redis-server: while a save (or an AOF
//! rewrite) runs, BGSAVE's syntax, what is scheduled; save points; and
//! `stop-writes-on-bgsave-error` (the MISCONF refusal next to redis-server
//! in the same situation).

#![allow(clippy::unwrap_used)]

mod common;
mod persist_support;

use common::words;
use persist_support::{call, check_rdb, field, info, keys_read, log_with, num, ok, wait_idle};
use resp::client::Client;
use resp::Frame;
use std::time::{Duration, Instant};

/// Requirement 4: BGSAVE, BGSAVE SCHEDULE and SAVE while a BGSAVE runs,
/// and BGSAVE's syntax, as redis-server answers.
#[test]
fn bgsave_and_save_while_one_runs_and_bgsave_syntax_answer_like_redis() {
    if !testkit::have_redis() {
        return;
    }
    let pair = common::Pair::start_with(&[("save", "")]);
    let mut d = pair.diff();

    // While one runs (a dataset big enough for the walk to take a while).
    let c = &mut d.shoal;
    ok(c, "DEBUG POPULATE 200000 k");
    assert_eq!(
        call(c, "BGSAVE"),
        Frame::simple("Background saving started")
    );
    let busy = Frame::error("ERR Background save already in progress");
    assert_eq!(call(c, "BGSAVE"), busy, "BGSAVE during BGSAVE");
    assert_eq!(call(c, "SAVE"), busy, "SAVE during BGSAVE");
    assert_eq!(
        call(c, "BGSAVE SCHEDULE"),
        busy,
        "BGSAVE SCHEDULE during BGSAVE"
    );
    let i = info(c, "persistence");
    assert_eq!(
        field(&i, "rdb_bgsave_in_progress"),
        "1",
        "the walk ended before the test was done with it:\n{i}"
    );
    let i = wait_idle(c, Duration::from_secs(30));
    assert_eq!(field(&i, "rdb_last_bgsave_status"), "ok", "{i}");
    assert_eq!(num(&i, "rdb_saves"), 1, "{i}");
    // Pipelined: the second one is refused too.
    let replies = c.pipeline([["BGSAVE"], ["BGSAVE"]]).unwrap();
    assert_eq!(
        replies,
        [Frame::simple("Background saving started"), busy.clone()]
    );
    wait_idle(c, Duration::from_secs(30));
    ok(c, "FLUSHALL");

    // The same on redis-server (its fork makes a tiny dataset's save
    // take a few milliseconds: pipelined).
    let r = &mut d.redis;
    let replies = r.pipeline([["BGSAVE"], ["BGSAVE"], ["SAVE"]]).unwrap();
    assert_eq!(
        replies,
        [
            Frame::simple("Background saving started"),
            busy.clone(),
            busy.clone()
        ],
        "redis-server"
    );
    wait_idle(r, Duration::from_secs(30));

    // Syntax, idle.
    d.same_error("BGSAVE FOO");
    d.same_error("BGSAVE SCHEDULE FOO");
    d.same_error("BGSAVE SCHEDULE SCHEDULE");
    d.same("bgsave schedule");
    wait_idle(&mut d.shoal, Duration::from_secs(30));
    wait_idle(&mut d.redis, Duration::from_secs(30));

    // While an AOF rewrite runs, BGSAVE is refused and BGSAVE SCHEDULE
    // is scheduled (it runs once the rewrite is done). Pipelined, so that
    // redis-server's child is still running; Shoal's dataset makes its
    // rewrite take a while.
    ok(&mut d.shoal, "DEBUG POPULATE 200000 k");
    pipelined_like_redis(&mut d, &["BGREWRITEAOF", "BGSAVE", "BGSAVE SCHEDULE"], 1);
}

/// Send `lines` pipelined to both servers: the same replies; then wait
/// until both made `saves` more saves and no background job remains.
fn pipelined_like_redis(d: &mut common::Diff, lines: &[&str], saves: i64) {
    let before: Vec<i64> = [&mut d.shoal, &mut d.redis]
        .map(|c| num(&info(c, "persistence"), "rdb_saves"))
        .to_vec();
    let cmds: Vec<Vec<Vec<u8>>> = lines.iter().map(|l| words(l)).collect();
    let a = d.shoal.pipeline(cmds.clone()).unwrap();
    let b = d.redis.pipeline(cmds).unwrap();
    assert_eq!(a, b, "{lines:?}: shoal, then redis");
    for (c, n) in [&mut d.shoal, &mut d.redis].into_iter().zip(before) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let i = info(c, "persistence");
            if num(&i, "rdb_saves") == n + saves
                && field(&i, "rdb_bgsave_in_progress") == "0"
                && field(&i, "aof_rewrite_in_progress") == "0"
                && field(&i, "aof_rewrite_scheduled") == "0"
            {
                break;
            }
            assert!(Instant::now() < deadline, "{lines:?}: not done:\n{i}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Background work asked while other background work runs is scheduled
/// in Redis: BGSAVE inside MULTI/EXEC (`+Background saving scheduled`,
/// started right after the transaction), BGREWRITEAOF while BGSAVE runs
/// (`+Background append only file rewriting scheduled`).
#[test]
fn background_work_asked_meanwhile_is_scheduled_as_in_redis() {
    if !testkit::have_redis() {
        return;
    }
    let pair = common::Pair::start_with(&[("save", "")]);
    let mut d = pair.diff();
    d.same("SET k v");
    pipelined_like_redis(&mut d, &["MULTI", "BGSAVE", "EXEC"], 1);
    ok(&mut d.shoal, "DEBUG POPULATE 200000 k");
    pipelined_like_redis(&mut d, &["BGSAVE", "BGREWRITEAOF"], 1);
}

/// Requirement 5: `save 1 1`: one change starts a BGSAVE within a couple
/// of seconds; none without changes; `CONFIG SET save` applies at once.
#[test]
fn save_points_start_a_bgsave() {
    let s = common::shoal().directive("save", "1 1").start();
    let mut c = s.client();
    let file = s.dir().join("dump.rdb");
    let i = info(&mut c, "persistence");
    assert_eq!(num(&i, "rdb_saves"), 0, "{i}");
    assert!(!file.exists());

    let wait_saves = |c: &mut Client, n: i64, limit: Duration| -> String {
        let deadline = Instant::now() + limit;
        loop {
            let i = info(c, "persistence");
            if num(&i, "rdb_saves") >= n && field(&i, "rdb_bgsave_in_progress") == "0" {
                return i;
            }
            assert!(Instant::now() < deadline, "no save {n} in {limit:?}:\n{i}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    ok(&mut c, "SET k v");
    let t = Instant::now();
    let i = wait_saves(&mut c, 1, Duration::from_secs(3));
    println!("saved {:?} after the write", t.elapsed());
    assert_eq!(num(&i, "rdb_saves"), 1, "{i}");
    assert_eq!(field(&i, "rdb_last_bgsave_status"), "ok", "{i}");
    assert_eq!(num(&i, "rdb_changes_since_last_save"), 0, "{i}");
    assert!(file.exists());
    log_with(&s, "1 changes in 1 seconds. Saving...");
    log_with(&s, "Background saving terminated with success");
    if testkit::have_redis() {
        assert_eq!(keys_read(&check_rdb(&file)), 1);
    }

    // No change, no save.
    std::thread::sleep(Duration::from_millis(1500));
    let i = info(&mut c, "persistence");
    assert_eq!(num(&i, "rdb_saves"), 1, "saved without changes:\n{i}");

    // Live reconfiguration: 3 changes needed now.
    ok(&mut c, "CONFIG SET save \"1 3\"");
    ok(&mut c, "SET a 1");
    ok(&mut c, "SET b 2");
    std::thread::sleep(Duration::from_millis(1300));
    let i = info(&mut c, "persistence");
    assert_eq!(num(&i, "rdb_saves"), 1, "saved after 2 of 3 changes:\n{i}");
    ok(&mut c, "SET c 3");
    wait_saves(&mut c, 2, Duration::from_secs(3));
    if testkit::have_redis() {
        assert_eq!(keys_read(&check_rdb(&file)), 4);
    }
}

/// Requirement 6: with save points, a failed BGSAVE makes writes fail
/// with Redis's MISCONF error (same text as redis-server in the same
/// situation) until `stop-writes-on-bgsave-error no`, `save ""` or a
/// successful save.
#[test]
fn failed_bgsave_stops_writes_like_redis() {
    if !testkit::have_redis() {
        return;
    }
    // "3600 1": configured, but no save point comes due during the test.
    let pair = common::Pair::start_with(&[("save", "3600 1")]);
    let mut d = pair.diff();
    d.same("CONFIG GET save");
    d.same("SET k v");
    // A directory where the file should go: the final rename fails (also
    // as root, where permissions would not stop the save).
    for dir in [pair.shoal.dir(), pair.redis.dir()] {
        std::fs::create_dir(dir.join("dump.rdb")).unwrap();
    }
    d.same("BGSAVE");
    for c in [&mut d.shoal, &mut d.redis] {
        let i = wait_idle(c, Duration::from_secs(30));
        assert_eq!(field(&i, "rdb_last_bgsave_status"), "err", "{i}");
    }
    log_with(&pair.shoal, "Error moving temp DB file");

    let refused = d.same("SET k2 v");
    assert!(
        matches!(&refused, Frame::Error(e) if e.starts_with(b"MISCONF ")),
        "{refused}"
    );
    d.script(
        "
        GET k
        DEL k
        INCR n
        MSET a 1 b 2
        EXISTS k k2 n a
        PING
        MULTI
        SET x 1
        GET k
        EXEC
        EVAL \"return redis.call('set', 'x', '1')\" 0
        EVAL_RO \"return redis.call('get', 'k')\" 0
        CONFIG SET stop-writes-on-bgsave-error no
        SET k2 v
        CONFIG SET stop-writes-on-bgsave-error yes
        SET k3 v
        CONFIG SET save \"\"
        SET k3 v
        CONFIG SET save \"3600 1\"
        SET k4 v
        ",
    );
    // Once the obstacle is gone, a successful BGSAVE lifts the refusal.
    for dir in [pair.shoal.dir(), pair.redis.dir()] {
        std::fs::remove_dir(dir.join("dump.rdb")).unwrap();
    }
    d.same("BGSAVE");
    for c in [&mut d.shoal, &mut d.redis] {
        let i = wait_idle(c, Duration::from_secs(30));
        assert_eq!(field(&i, "rdb_last_bgsave_status"), "ok", "{i}");
    }
    d.same("SET k4 v");
    d.same("GET k4");
}
