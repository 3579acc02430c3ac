//! While a snapshot loads, the port answers `-LOADING` (INFO says
//! `loading:1`), as redis-server does; once loaded, the data is served.

#![allow(clippy::unwrap_used)]

use resp::client::Client;
use resp::Frame;
use std::time::{Duration, Instant};
use testkit::ServerBuilder;

#[test]
fn loading_answers_until_the_data_is_there() {
    let mut first = ServerBuilder::shoal()
        .threads(1)
        .directive("save", "")
        .start();
    let mut c = first.client();
    // 400k keys: long enough to load that the test sees it loading.
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
    let mut s = ServerBuilder::shoal()
        .threads(1)
        .port(port)
        .directive("save", "")
        .directive("dir", copy.to_str().unwrap())
        .no_wait()
        .start();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut loading, mut info_loading, mut served) = (false, false, false);
    while Instant::now() < deadline {
        let Ok(mut c) = Client::connect(format!("127.0.0.1:{port}")) else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
        match c.call(["GET", "key:7"]) {
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
