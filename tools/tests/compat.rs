//! redis-benchmark compatibility against a real redis-server: the tests and
//! commands it knows, its flags (-r, -P, --threads, --dbnum, -a, -s, -k 0),
//! counts that add up to -n, and clear messages for bad input.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used)]

mod common;

use common::{csv, ok, run};
use resp::Frame;
use std::time::Duration;
use testkit::{Server, ServerBuilder};

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn every_standard_test_completes_n_requests_without_errors() {
    let server = Server::redis();
    let port = server.port().to_string();
    for extra in [&["-P", "1"][..], &["-P", "7", "--threads", "2"][..]] {
        let mut args = vec!["-p", &port, "-n", "1000", "-c", "5", "-r", "1000", "--csv"];
        args.extend_from_slice(extra);
        let rows = csv(&ok(&args, LIMIT));
        let names: Vec<&str> = rows.iter().map(|r| r.test.as_str()).collect();
        assert_eq!(names.len(), 23, "{names:?}");
        for want in [
            "PING_INLINE",
            "PING_MBULK",
            "SET",
            "GET",
            "INCR",
            "LPUSH",
            "RPUSH",
            "LPOP",
            "RPOP",
            "SADD",
            "HSET",
            "SPOP",
            "ZADD",
            "ZPOPMIN",
            "LRANGE_100 (first 100 elements)",
            "LRANGE_600 (first 600 elements)",
            "MSET (10 keys)",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        for r in &rows {
            assert_eq!(r.num("errors"), 0.0, "{r:?}");
            assert!(r.num("rps") > 0.0, "{r:?}");
            assert!(r.num("p50_latency_ms") <= r.num("p99_latency_ms"));
            assert!(r.num("p99_latency_ms") <= r.num("p99_9_latency_ms"));
            assert!(r.num("p99_9_latency_ms") <= r.num("max_latency_ms"));
        }
    }
    // INCR ran 2 × 1000 times over keys counter:<12 digits>.
    let mut c = server.client();
    let keys = c.call(["KEYS", "counter:*"]).unwrap();
    let keys = keys.as_array().unwrap();
    assert!(!keys.is_empty());
    let mut total = 0;
    for k in keys {
        let name = k.as_text().unwrap();
        let digits = name.strip_prefix("counter:").unwrap();
        assert_eq!(digits.len(), 12, "{name}");
        assert!(digits.parse::<u64>().unwrap() < 1000);
        total += c
            .call(["GET", &name])
            .unwrap()
            .as_text()
            .unwrap()
            .parse::<i64>()
            .unwrap();
    }
    assert_eq!(total, 2000, "INCR count adds up to 2 × -n");
}

#[test]
fn counts_add_up_in_the_server() {
    let server = Server::redis();
    let port = server.port().to_string();
    // Without -r the literal key is used, as redis-benchmark does.
    ok(
        &[
            "-p",
            &port,
            "-n",
            "1234",
            "-c",
            "7",
            "-P",
            "3",
            "-q",
            "rpush",
            "mylist",
            "__rand_int__",
        ],
        LIMIT,
    );
    let mut c = server.client();
    assert_eq!(c.call(["LLEN", "mylist"]).unwrap(), Frame::Integer(1234));
    assert_eq!(
        c.call(["LINDEX", "mylist", "0"]).unwrap(),
        Frame::bulk("__rand_int__")
    );
    // With -r, every occurrence is a 12-digit number below the keyspace.
    ok(
        &[
            "-p",
            &port,
            "-n",
            "500",
            "-r",
            "10",
            "-q",
            "sadd",
            "myset",
            "m:__rand_int__",
        ],
        LIMIT,
    );
    let members = c.call(["SMEMBERS", "myset"]).unwrap();
    let members = members.as_array().unwrap();
    assert!(members.len() <= 10 && members.len() >= 5, "{members:?}");
    for m in members {
        let m = m.as_text().unwrap();
        assert!(m.starts_with("m:00000000000"), "{m}");
    }
}

#[test]
fn dbnum_auth_unix_socket_and_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("redis.sock");
    let server = ServerBuilder::redis()
        .directive("requirepass", "s3cret")
        .directive("unixsocket", sock.to_str().unwrap())
        .start_with_auth_wait("s3cret");
    let port = server.port().to_string();
    // No password: redis-benchmark exits on NOAUTH; so do we, with a sentence.
    let out = run(&["-p", &port, "-n", "10", "-t", "set", "-q"], LIMIT);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("NOAUTH"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Password, db 3, -k 0 (a new connection per request), over the unix socket.
    ok(
        &[
            "-s",
            sock.to_str().unwrap(),
            "-a",
            "s3cret",
            "--dbnum",
            "3",
            "-k",
            "0",
            "-c",
            "3",
            "-n",
            "30",
            "-r",
            "5",
            "-t",
            "set",
            "-q",
        ],
        LIMIT,
    );
    let mut c = server.client();
    c.call(["AUTH", "s3cret"]).unwrap();
    c.call(["SELECT", "3"]).unwrap();
    let n = c.call(["DBSIZE"]).unwrap().as_int().unwrap();
    assert!((1..=5).contains(&n), "{n} keys in db 3");
    c.call(["SELECT", "0"]).unwrap();
    assert_eq!(c.call(["DBSIZE"]).unwrap(), Frame::Integer(0));
    let clients = c.call(["INFO", "stats"]).unwrap().as_text().unwrap();
    let conns: u64 = clients
        .lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        conns >= 30,
        "-k 0 reconnects for every request: {conns} connections"
    );
}

trait AuthStart {
    fn start_with_auth_wait(self, pass: &str) -> Server;
}

impl AuthStart for ServerBuilder {
    /// testkit waits for PONG, which a password-protected server refuses: wait here.
    fn start_with_auth_wait(self, pass: &str) -> Server {
        let server = self.no_wait().start();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut c) = resp::client::Client::connect(server.addr()) {
                if c.call(["AUTH", pass])
                    .map(|f| f == Frame::simple("OK"))
                    .unwrap_or(false)
                {
                    return server;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn error_replies_are_counted_not_fatal() {
    let server = Server::redis();
    let port = server.port().to_string();
    server.client().call(["SET", "notanumber", "abc"]).unwrap();
    let out = run(
        &[
            "-p",
            &port,
            "-n",
            "200",
            "-c",
            "4",
            "--csv",
            "incr",
            "notanumber",
        ],
        LIMIT,
    );
    assert!(out.status.success());
    let rows = csv(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(rows[0].num("errors"), 200.0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.is_empty() || !err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_gives_a_message_not_a_panic() {
    let cases: &[&[&str]] = &[
        &["-c", "0"],
        &["-t", "nosuchtest"],
        &["-p", "99999"],
        &["--rate", "-5"],
        &["--target", "nonsense"],
        &["--key-dist", "pareto"],
        &["--no-such-flag"],
    ];
    for args in cases {
        let out = run(args, LIMIT);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            !err.trim().is_empty() && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
    let port = common::dead_port().to_string();
    let out = run(&["-p", &port, "-n", "10", "-q"], LIMIT);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("Could not connect to server at 127.0.0.1:"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // --help works although -h is the host, as in redis-benchmark.
    let out = run(&["--help"], LIMIT);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--rate"));
}

#[test]
fn the_server_going_away_mid_run_is_reported() {
    let mut server = Server::redis();
    let port = server.port().to_string();
    let child = std::thread::spawn(move || {
        run(
            &[
                "-p",
                &port,
                "-c",
                "4",
                "--threads",
                "2",
                "--duration",
                "30",
                "-t",
                "get",
                "-q",
            ],
            LIMIT,
        )
    });
    std::thread::sleep(Duration::from_millis(700));
    server.kill9();
    let out = child.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("closed the connection") || err.contains("failed"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !err.contains("stopped because"),
        "the cause is reported: {err}"
    );
}

#[test]
fn acl_user_authenticates_with_user_and_password() {
    let server = Server::redis();
    let port = server.port().to_string();
    let reply = server
        .client()
        .call(["ACL", "SETUSER", "bench", "on", ">pw", "~*", "+@all"])
        .unwrap();
    assert_eq!(reply, Frame::simple("OK"));
    server
        .client()
        .call(["ACL", "SETUSER", "default", "off"])
        .unwrap();
    ok(
        &[
            "-p", &port, "--user", "bench", "-a", "pw", "-n", "100", "-r", "10", "-t", "set", "-q",
        ],
        LIMIT,
    );
    let out = run(
        &[
            "-p", &port, "--user", "bench", "-a", "wrong", "-n", "10", "-t", "set", "-q",
        ],
        LIMIT,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("AUTH failed"), "{err}");
}

#[test]
fn progress_bar_only_on_a_terminal() {
    let server = Server::redis();
    let port = server.port();
    // util-linux `script` gives the program a terminal; a pipe does not.
    let line = format!("{} -p {port} -t set -r 100 -n 60000 -c 10", common::BIN);
    let tty = common::run_program("script", &["-qec", &line, "/dev/null"], LIMIT);
    assert!(
        tty.status.success(),
        "{}",
        String::from_utf8_lossy(&tty.stderr)
    );
    let shown = String::from_utf8_lossy(&tty.stdout);
    assert!(
        shown.contains("SET [#") || shown.contains("SET [-"),
        "no progress bar on a terminal:\n{shown}"
    );
    let piped = run(
        &[
            "-p",
            &port.to_string(),
            "-t",
            "set",
            "-r",
            "100",
            "-n",
            "200000",
            "-c",
            "10",
        ],
        LIMIT,
    );
    let err = String::from_utf8_lossy(&piped.stderr);
    let out = String::from_utf8_lossy(&piped.stdout);
    assert!(
        !err.contains('[') && !out.contains("SET ["),
        "progress bar without a terminal:\n{err}"
    );
}

#[test]
fn loop_mode_repeats_the_tests_until_stopped() {
    let server = Server::redis();
    let mut child = std::process::Command::new(common::BIN)
        .args([
            "-p",
            &server.port().to_string(),
            "-l",
            "-q",
            "-n",
            "200",
            "-c",
            "2",
            "-t",
            "ping_mbulk",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "-l must keep running");
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let rounds = text
        .lines()
        .filter(|l| l.starts_with("PING_MBULK: "))
        .count();
    assert!(rounds >= 3, "{rounds} rounds in 1.5 s:\n{text}");
}
