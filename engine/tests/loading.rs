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
        let mut served = false;
        while Instant::now() < deadline && !served {
            served = matches!(probe(port), Some((_, Ok(Frame::Bulk(_)))));
            if !served {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        assert!(served, "the data was never served; log:\n{}", s.log());
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
