//! Unmodified clients against shoal-server: the `redis` crate, redis-cli
//! (plain, --pipe, --scan, -3, --bigkeys, auth). (redis-py 8 runs in
//! tests/python.)

#![allow(clippy::unwrap_used)]

mod common;

use redis::Commands;
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn redis_crate_roundtrip() {
    let server = common::shoal().start();
    let client = redis::Client::open(format!("redis://{}/", server.addr())).unwrap();
    let mut con = client.get_connection().unwrap();
    let _: () = con.set("user:1", "alice").unwrap();
    let v: String = con.get("user:1").unwrap();
    assert_eq!(v, "alice");
    let n: i64 = con.incr("visits", 5).unwrap();
    assert_eq!(n, 5);
    let _: () = con.set_ex("session", "x", 100).unwrap();
    let ttl: i64 = con.ttl("session").unwrap();
    assert!((99..=100).contains(&ttl));
    let _: () = redis::cmd("MSET")
        .arg("a")
        .arg(1)
        .arg("b")
        .arg(2)
        .arg("c")
        .arg(3)
        .query(&mut con)
        .unwrap();
    let vals: Vec<Option<i64>> = redis::cmd("MGET")
        .arg(&["a", "b", "c", "nope"])
        .query(&mut con)
        .unwrap();
    assert_eq!(vals, vec![Some(1), Some(2), Some(3), None]);
    let (x, y): (i64, String) = redis::pipe()
        .incr("p", 1)
        .ignore()
        .incr("p", 2)
        .get("user:1")
        .query(&mut con)
        .unwrap();
    assert_eq!((x, y), (3, "alice".to_string()));
    let deleted: i64 = con.del(&["a", "b", "c", "nope"]).unwrap();
    assert_eq!(deleted, 3);
    let err = redis::cmd("INCR")
        .arg("user:1")
        .query::<i64>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("not an integer"), "{err}");
    let keys: Vec<String> = con
        .scan_match("user:*")
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(keys, vec!["user:1".to_string()]);
}

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .output()
        .expect("run redis-cli");
    assert!(
        out.status.success(),
        "redis-cli {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redis_cli_works_unmodified() {
    let server = common::shoal().start();
    let p = server.port();
    assert_eq!(cli(p, &["PING"]), "PONG\n");
    assert_eq!(cli(p, &["SET", "greeting", "hello world"]), "OK\n");
    assert_eq!(cli(p, &["GET", "greeting"]), "hello world\n");
    assert_eq!(cli(p, &["--no-raw", "GET", "nope"]), "(nil)\n");
    assert_eq!(cli(p, &["-n", "2", "SET", "k", "in2"]), "OK\n");
    assert_eq!(cli(p, &["-n", "2", "GET", "k"]), "in2\n");
    assert!(cli(p, &["-3", "HELLO", "3"]).contains("proto 3"));
    assert!(cli(p, &["INFO", "server"]).contains("redis_version:"));
    assert!(cli(p, &["FOOBAR"]).contains("ERR unknown command 'FOOBAR'"));

    // Mass insertion with --pipe (RESP on stdin).
    let mut input = Vec::new();
    for i in 0..5000 {
        input.extend_from_slice(&resp::Frame::command([
            "SET",
            &format!("bulk:{i}"),
            &i.to_string(),
        ]));
    }
    let mut child = Command::new("redis-cli")
        .args(["-p", &p.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("errors: 0, replies: 5000"), "{text}");

    // --scan walks every shard.
    let scanned = cli(p, &["--scan", "--pattern", "bulk:*"]);
    assert_eq!(scanned.lines().count(), 5000);
    // --bigkeys uses SCAN, TYPE and STRLEN.
    let big = cli(p, &["--bigkeys"]);
    assert!(big.contains("Biggest string found"), "{big}");
    assert_eq!(cli(p, &["DBSIZE"]), "5001\n");
}

#[test]
fn redis_cli_with_password() {
    let server = common::shoal().directive("requirepass", "hunter2").start();
    let p = server.port().to_string();
    let out = Command::new("redis-cli")
        .args(["-p", &p, "GET", "x"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOAUTH"));
    let out = Command::new("redis-cli")
        .args([
            "-p",
            &p,
            "-a",
            "hunter2",
            "--no-auth-warning",
            "SET",
            "x",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\n");
    let out = Command::new("redis-cli")
        .args(["-p", &p, "-a", "wrong", "--no-auth-warning", "PING"])
        .output()
        .unwrap();
    // redis-cli reports the failed AUTH on stderr, then the command gets NOAUTH.
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("WRONGPASS"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("NOAUTH"));
}
