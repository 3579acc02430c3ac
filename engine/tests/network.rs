//! The socket layer under stress, on both network backends (the default
//! io_uring one and glommio's sockets): big values both ways, a client that
//! never reads its replies (memory must stay bounded), clients that vanish
//! with replies pending, and connection churn (no descriptor leaks).

#![allow(clippy::unwrap_used)]

mod common;

use resp::client::Client;
use resp::Frame;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use testkit::Server;

const BACKENDS: [&str; 2] = ["uring", "glommio"];
const MB: usize = 1 << 20;

fn start(backend: &str) -> Server {
    let s = common::shoal()
        .directive("network-backend", backend)
        .start();
    let want = match backend {
        "uring" => "Network backend: io_uring",
        _ => "Network backend: glommio",
    };
    // The line may reach the log file a moment after the port accepts.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !s.log().contains(want) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        s.log().contains(want),
        "{backend}: log lacks '{want}':\n{}",
        s.log()
    );
    s
}

fn info_field(c: &mut Client, section: &str, field: &str) -> i64 {
    let text = c.call(["INFO", section]).unwrap().as_text().unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO {section} lacks {field}"))
}

/// The server's open descriptors and what they point at.
fn open_fds(server: &Server) -> Vec<String> {
    let dir = format!("/proc/{}/fd", server.pid().unwrap());
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            Some(format!(
                "{} -> {}",
                e.file_name().to_string_lossy(),
                target.display()
            ))
        })
        .collect();
    v.sort();
    v
}

/// True when no more sockets are open than in `before` (other kinds of
/// descriptor, such as io_uring's lazily created ones, do not count).
fn no_new_sockets(server: &Server, before: &[String]) -> bool {
    let sockets = |v: &[String]| v.iter().filter(|f| f.contains("socket:")).count();
    sockets(&open_fds(server)) <= sockets(before)
}

/// Only `c` is left connected and no socket beyond those in `fds` is open
/// (waits for the server to notice the hang-ups).
fn assert_cleaned_up(server: &Server, c: &mut Client, fds: &[String], backend: &str) {
    assert!(
        eventually(Duration::from_secs(20), || info_field(
            c,
            "clients",
            "connected_clients"
        ) == 1),
        "{backend}: connections left behind"
    );
    // A closing connection may spend up to 5 s handing its last replies
    // to a peer that hung up (conn.rs CLOSE_FLUSH) before its socket closes.
    assert!(
        eventually(Duration::from_secs(12), || no_new_sockets(server, fds)),
        "{backend}: sockets leaked: before {fds:?}, after {:?}",
        open_fds(server)
    );
}

/// Poll `f` until it holds or `limit` passes.
fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

fn get_cmd(key: &str) -> Vec<u8> {
    format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).into_bytes()
}

#[test]
fn big_values_travel_both_ways() {
    for backend in BACKENDS {
        let server = start(backend);
        let mut c = server.client();
        let value: Vec<u8> = (0..48 * MB).map(|i| (i % 251) as u8).collect();
        assert_eq!(
            c.call([&b"SET"[..], b"big", &value]).unwrap(),
            Frame::simple("OK")
        );
        assert_eq!(
            c.call(["GET", "big"]).unwrap(),
            Frame::Bulk(value.into()),
            "{backend}"
        );
        // 60 x 1 MB in one reply (the value lives on one shard, the
        // connection possibly on the other).
        c.call([&b"SET"[..], b"m", &vec![b'x'; MB]]).unwrap();
        let mut args = vec!["MGET".to_string()];
        args.extend(std::iter::repeat_n("m".to_string(), 60));
        let Frame::Array(items) = c.call(args).unwrap() else {
            panic!("{backend}: MGET")
        };
        assert_eq!(items.len(), 60);
        assert!(items
            .iter()
            .all(|f| matches!(f, Frame::Bulk(b) if b.len() == MB)));
    }
}

#[test]
fn pipelined_input_far_beyond_the_receive_window() {
    for backend in BACKENDS {
        let server = start(backend);
        let mut s = TcpStream::connect(server.addr()).unwrap();
        let value = vec![b'v'; 1000];
        let mut one = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n", value.len()).into_bytes();
        one.extend_from_slice(&value);
        one.extend_from_slice(b"\r\n");
        let n = 24_000; // ~24 MB, several times the per-connection input bound
        let writer = {
            let mut s = s.try_clone().unwrap();
            std::thread::spawn(move || {
                for _ in 0..n {
                    s.write_all(&one).unwrap();
                }
                s.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
            })
        };
        let want = [b"+OK\r\n".repeat(n), b"+PONG\r\n".to_vec()].concat();
        let mut got = vec![0u8; want.len()];
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.read_exact(&mut got).unwrap();
        writer.join().unwrap();
        assert!(got == want, "{backend}: replies differ");
    }
}

#[test]
fn a_client_that_never_reads_holds_bounded_memory() {
    for backend in BACKENDS {
        let server = start(backend);
        let mut c = server.client();
        c.call([&b"SET"[..], b"m", &vec![b'x'; MB]]).unwrap();
        let base = info_field(&mut c, "memory", "used_memory");
        // 1 GB of replies requested, none read for a while.
        let mut s = TcpStream::connect(server.addr()).unwrap();
        let n = 1000;
        s.write_all(&get_cmd("m").repeat(n)).unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let held = info_field(&mut c, "memory", "used_memory") - base;
        // Bound: two rounds of at most 64 collected replies (1 MB each
        // here) and the send queue; redis-server would hold the whole 1 GB.
        assert!(
            held < 200 * MB as i64,
            "{backend}: {held} bytes held for a stalled reader"
        );
        // The other clients are served meanwhile.
        assert_eq!(c.call(["PING"]).unwrap(), Frame::simple("PONG"));
        // Every reply still arrives, in full.
        let per = format!("${MB}\r\n").len() + MB + 2;
        let mut total = 0usize;
        let mut buf = vec![0u8; 4 * MB];
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        while total < n * per {
            let k = s.read(&mut buf).unwrap();
            assert!(k > 0, "{backend}: closed after {total} bytes");
            total += k;
        }
        assert_eq!(total, n * per, "{backend}");
    }
}

#[test]
fn vanished_clients_are_cleaned_up() {
    for backend in BACKENDS {
        let server = start(backend);
        let mut c = server.client();
        c.call([&b"SET"[..], b"m", &vec![b'x'; MB]]).unwrap();
        let fds = open_fds(&server);
        // Clients that ask for 20 MB each and hang up at once.
        for _ in 0..60 {
            let mut s = TcpStream::connect(server.addr()).unwrap();
            s.write_all(&get_cmd("m").repeat(20)).unwrap();
        }
        assert_cleaned_up(&server, &mut c, &fds, backend);
        assert_eq!(c.call(["GET", "nope"]).unwrap(), Frame::Null);
    }
}

#[test]
fn connection_churn_leaks_nothing() {
    for backend in BACKENDS {
        let server = start(backend);
        let mut c = server.client();
        c.call(["PING"]).unwrap(); // accepted and counted before the snapshot
        let fds = open_fds(&server);
        for i in 0..1500 {
            let mut s = TcpStream::connect(server.addr()).unwrap();
            s.write_all(b"PING\r\n").unwrap();
            if i % 3 == 0 {
                // Some hang up without reading the reply.
                continue;
            }
            let mut r = [0u8; 7];
            s.read_exact(&mut r).unwrap();
            assert_eq!(&r, b"+PONG\r\n");
        }
        assert_cleaned_up(&server, &mut c, &fds, backend);
        let total = info_field(&mut c, "stats", "total_connections_received");
        assert!(total > 1500, "{backend}: {total} connections counted");
    }
}
