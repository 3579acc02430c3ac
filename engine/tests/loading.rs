//! While a snapshot loads, the port answers `-LOADING` (INFO says
//! `loading:1`), as redis-server does; once loaded, the data is served.

#![allow(clippy::unwrap_used)]

use resp::client::Client;
use resp::Frame;
use std::time::{Duration, Instant};
use testkit::ServerBuilder;

/// A shard server (`ServerBuilder` `threads`) starting on a copy of a
/// 400k-key snapshot, long enough to load that tests see it loading; the
/// server is started without waiting for it. The first server returned
/// owns the directory the copy lives in.
fn loading_server(threads: usize) -> (testkit::Server, testkit::Server, u16) {
    let mut first = ServerBuilder::shoal()
        .threads(1)
        .directive("save", "")
        .start();
    let mut c = first.client();
    for chunk in 0..4 {
        let from = (chunk * 100_000 + 1).to_string();
        let to = ((chunk + 1) * 100_000).to_string();
        let r = c
            .call([
                "EVAL",
                "for i=tonumber(ARGV[1]),tonumber(ARGV[2]) do redis.call('SET','key:'..i,'v') end return 1",
                "0",
                &from,
                &to,
            ])
            .unwrap();
        assert_eq!(r, Frame::Integer(1));
    }
    assert_eq!(c.call(["SAVE"]).unwrap(), Frame::Simple("OK".into()));
    let dir = first.dir().to_path_buf();
    let copy = dir.join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(dir.join("dump.rdb"), copy.join("dump.rdb")).unwrap();
    first.kill9();

    let port = testkit::free_port();
    let s = ServerBuilder::shoal()
        .threads(threads)
        .port(port)
        .directive("save", "")
        .directive("dir", copy.to_str().unwrap())
        .no_wait()
        .start();
    (first, s, port)
}

/// A new connection to `port` and its answer to `GET key:7` (None: no
/// connection).
fn probe(port: u16) -> Option<(Client, std::io::Result<Frame>)> {
    let mut c = Client::connect(format!("127.0.0.1:{port}")).ok()?;
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    let answer = c.call(["GET", "key:7"]);
    Some((c, answer))
}

/// Wait until a new connection to `port` is served the data.
fn wait_served(s: &testkit::Server, port: u16, deadline: Instant) {
    while Instant::now() < deadline {
        if matches!(probe(port), Some((_, Ok(Frame::Bulk(_))))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the data was never served; log:\n{}", s.log());
}

#[test]
fn loading_answers_until_the_data_is_there() {
    let (_first, mut s, port) = loading_server(1);
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut loading, mut info_loading, mut served) = (false, false, false);
    while Instant::now() < deadline {
        let Some((mut c, answer)) = probe(port) else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        match answer {
            Ok(Frame::Error(e)) => {
                assert_eq!(&e[..], b"LOADING Redis is loading the dataset in memory");
                loading = true;
                if let Ok(Frame::Bulk(b)) = c.call(["INFO", "persistence"]) {
                    info_loading |= String::from_utf8_lossy(&b).contains("loading:1\r\n");
                }
            }
            Ok(Frame::Bulk(v)) => {
                assert_eq!(&v[..], b"v");
                served = true;
                break;
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(loading, "never saw -LOADING; log:\n{}", s.log());
    assert!(info_loading, "INFO never said loading:1");
    assert!(served, "the data was never served; log:\n{}", s.log());
    let mut c = s.client();
    assert_eq!(c.call(["DBSIZE"]).unwrap(), Frame::Integer(400_000));
    s.wait_ready(Duration::from_secs(5));
}

/// As with Redis, a connection made while loading stays open and is served
/// once the data is there, including a request it had half sent.
#[test]
fn a_connection_made_while_loading_is_served_after() {
    for threads in [1, 2] {
        let (_first, mut s, port) = loading_server(threads);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut early = None;
        while Instant::now() < deadline && early.is_none() {
            let Some((c, answer)) = probe(port) else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            match answer {
                Ok(Frame::Error(e)) => {
                    assert_eq!(&e[..], b"LOADING Redis is loading the dataset in memory");
                    early = Some(c);
                }
                Ok(Frame::Bulk(_)) => panic!("loaded before a connection saw it loading"),
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        let mut early = early.expect("never saw -LOADING");
        // Half a request, read by the responder before the switch.
        early.send_raw(b"*2\r\n$3\r\nGET\r\n$5\r\nke").unwrap();
        wait_served(&s, port, deadline);
        early.send_raw(b"y:7\r\n").unwrap();
        assert_eq!(early.read().unwrap(), Frame::Bulk(b"v".to_vec().into()));
        assert_eq!(early.call(["DBSIZE"]).unwrap(), Frame::Integer(400_000));
        assert_eq!(
            early.call(["SET", "after", "1"]).unwrap(),
            Frame::Simple("OK".into())
        );
        assert_eq!(
            early.call(["GET", "after"]).unwrap(),
            Frame::Bulk(b"1".to_vec().into())
        );
        s.wait_ready(Duration::from_secs(5));
    }
}

/// A client that pipelines while loading and does not read until it is
/// over gets every answer, in order across the switch: -LOADING for what
/// it sent while loading, values after. (Replies the socket could not take
/// would be handed over with the connection; the kernel's send buffer
/// usually takes these, so that path is not forced here.)
#[test]
fn a_pipelining_client_gets_every_answer_in_order_across_the_switch() {
    use std::io::{BufRead, BufReader, Write};
    use std::os::fd::AsRawFd;
    let (_first, mut s, port) = loading_server(2);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut conn = None;
    while Instant::now() < deadline && conn.is_none() {
        let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        // A small receive buffer, so the server's writes stop short.
        let small: libc::c_int = 4096;
        // SAFETY: setsockopt on an open socket with a live c_int.
        unsafe {
            libc::setsockopt(
                c.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&small as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(b"GET key:7\r\n").unwrap();
        let mut line = String::new();
        let mut r = BufReader::new(c.try_clone().unwrap());
        if r.read_line(&mut line).is_ok() && line.starts_with("-LOADING") {
            conn = Some((c, r));
        } else {
            assert!(
                !line.starts_with('$'),
                "loaded before a connection saw it loading"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let (mut c, mut r) = conn.expect("never saw -LOADING");
    // Sent while loading, not read until it is over: the responder answers
    // them, and what the socket could not take is handed over with it.
    const N: usize = 4000;
    const M: usize = 100;
    c.write_all("GET key:7\r\n".repeat(N).as_bytes()).unwrap();
    wait_served(&s, port, deadline);
    c.write_all("GET key:7\r\n".repeat(M).as_bytes()).unwrap();
    let mut line = String::new();
    for i in 0..N + M {
        line.clear();
        r.read_line(&mut line)
            .unwrap_or_else(|e| panic!("answer {i}: {e}; log:\n{}", s.log()));
        if i < N {
            assert!(line.starts_with("-LOADING"), "answer {i}: {line}");
        } else {
            assert_eq!(line, "$1\r\n", "answer {i}");
            line.clear();
            r.read_line(&mut line).unwrap();
            assert_eq!(line, "v\r\n", "answer {i}");
        }
    }
    s.wait_ready(Duration::from_secs(5));
}
