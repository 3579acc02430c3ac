//! Real redis-sentinel processes monitoring shoal-server as a master: they
//! see it up (PING, INFO), and discover each other through its Pub/Sub
//! (`__sentinel__:hello` is published and subscribed over connections that
//! land on either shard). Neither log may show an error.

#![allow(clippy::unwrap_used)]

mod common;

use resp::client::Client;
use resp::Frame;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A redis-sentinel process, killed on drop.
struct Sentinel {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Sentinel {
    fn start(dir: &Path, n: usize, master_port: u16) -> Sentinel {
        let port = testkit::free_port();
        let conf = dir.join(format!("sentinel{n}.conf"));
        let log = dir.join(format!("sentinel{n}.log"));
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\nlogfile {}\n\
                 sentinel monitor mymaster 127.0.0.1 {master_port} 1\n\
                 sentinel down-after-milliseconds mymaster 3000\n",
                dir.display(),
                log.display()
            ),
        )
        .unwrap();
        let child = Command::new("redis-sentinel")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-sentinel (apt-get install redis-sentinel or redis-server)");
        Sentinel { child, port, log }
    }

    fn client(&self) -> Option<Client> {
        Client::connect(("127.0.0.1", self.port)).ok()
    }

    /// SENTINEL MASTER mymaster as a map.
    fn master(&self) -> Option<BTreeMap<String, String>> {
        let mut c = self.client()?;
        let Frame::Array(v) = c.call(["SENTINEL", "MASTER", "mymaster"]).ok()? else {
            return None;
        };
        let text = |f: &Frame| String::from_utf8_lossy(f.as_bytes().unwrap_or(b"")).into_owned();
        Some(v.chunks(2).map(|kv| (text(&kv[0]), text(&kv[1]))).collect())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sentinels_monitor_shoal_and_find_each_other() {
    if !testkit::have_redis()
        || Command::new("redis-sentinel")
            .arg("--version")
            .output()
            .is_err()
    {
        panic!("redis-sentinel is required (scripts/setup.sh installs it)");
    }
    let shoal = common::shoal().start();
    let dir = tempdir();
    let sentinels: Vec<Sentinel> = (0..2)
        .map(|n| Sentinel::start(&dir, n, shoal.port()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = |s: &Sentinel| {
        s.master().is_some_and(|m| {
            m.get("flags").map(String::as_str) == Some("master")
                && m.get("num-other-sentinels").map(String::as_str) == Some("1")
                && m.get("role-reported").map(String::as_str) == Some("master")
        })
    };
    while !sentinels.iter().all(ready) {
        assert!(
            Instant::now() < deadline,
            "sentinels did not settle: {:?}\n{}\n{}",
            sentinels.iter().map(Sentinel::master).collect::<Vec<_>>(),
            sentinels[0].log(),
            sentinels[1].log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The hello channel is live on the master.
    let mut c = shoal.client();
    let Frame::Array(ch) = c.call(["PUBSUB", "CHANNELS"]).unwrap() else {
        panic!()
    };
    assert!(
        ch.contains(&Frame::Bulk("__sentinel__:hello".into())),
        "{ch:?}"
    );
    // Sentinel marks problems with `-` events (e.g. `-sdown`) and `+sdown`.
    for s in &sentinels {
        let log = s.log();
        assert!(!log.contains("+sdown"), "{log}");
        assert!(!log.contains("+odown"), "{log}");
        assert!(log.contains("+sentinel sentinel"), "{log}");
    }
    let log = shoal.log();
    assert!(
        !log.lines()
            .any(|l| l.contains(" # ") || l.to_lowercase().contains("error")),
        "{log}"
    );
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "shoal-sentinel-{}-{}",
        std::process::id(),
        testkit::free_port()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
