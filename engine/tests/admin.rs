//! Operator-facing behaviour that needs several connections or a network:
//! CLIENT KILL across shards, CLIENT PAUSE, idle `timeout`, and protected
//! mode seen from another host (a network namespace of our own).

#![allow(clippy::unwrap_used)]

mod common;

use resp::Frame;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn client_kill_reaches_connections_on_every_shard() {
    let server = common::shoal().start();
    let mut admin = server.client();
    // Enough connections that both shards hold some (SO_REUSEPORT spreads them).
    let mut victims: Vec<_> = (0..12).map(|_| server.client()).collect();
    let mut ids = Vec::new();
    for (i, v) in victims.iter_mut().enumerate() {
        v.call(["CLIENT", "SETNAME", &format!("victim{i}")])
            .unwrap();
        ids.push(v.call(["CLIENT", "ID"]).unwrap().as_int().unwrap());
    }
    let list = admin.call(["CLIENT", "LIST"]).unwrap().as_text().unwrap();
    assert_eq!(
        list.lines().filter(|l| l.contains("name=victim")).count(),
        12,
        "{list}"
    );
    // By id.
    assert_eq!(
        admin
            .call(["CLIENT", "KILL", "ID", &ids[0].to_string()])
            .unwrap(),
        Frame::Integer(1)
    );
    assert!(
        victims[0].call(["PING"]).is_err(),
        "killed connection still answers"
    );
    // By address (old form).
    let addr = list.lines().find(|l| l.contains("name=victim1 ")).unwrap();
    let addr = addr
        .split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .unwrap()
        .to_string();
    assert_eq!(
        admin.call(["CLIENT", "KILL", &addr]).unwrap(),
        Frame::simple("OK")
    );
    // All normal clients but the caller.
    assert_eq!(
        admin.call(["CLIENT", "KILL", "TYPE", "normal"]).unwrap(),
        Frame::Integer(10)
    );
    for v in victims.iter_mut().skip(2) {
        assert!(v.call(["PING"]).is_err());
    }
    assert_eq!(
        admin.call(["PING"]).unwrap(),
        Frame::simple("PONG"),
        "SKIPME yes is the default"
    );
    // Killing oneself replies first, then closes.
    assert_eq!(
        admin
            .call(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"])
            .unwrap(),
        Frame::Integer(1)
    );
    assert!(admin.call(["PING"]).is_err());
    let list = server
        .client()
        .call(["CLIENT", "LIST"])
        .unwrap()
        .as_text()
        .unwrap();
    assert_eq!(list.lines().count(), 1, "{list}");
}

#[test]
fn client_pause_holds_writes_then_releases() {
    let server = common::shoal().start();
    let mut admin = server.client();
    let mut writers: Vec<_> = (0..4).map(|_| server.client()).collect();
    assert_eq!(
        admin.call(["CLIENT", "PAUSE", "400", "WRITE"]).unwrap(),
        Frame::simple("OK")
    );
    let t0 = Instant::now();
    // Reads pass during a WRITE pause...
    assert_eq!(writers[0].call(["GET", "k"]).unwrap(), Frame::Null);
    assert!(t0.elapsed() < Duration::from_millis(300));
    // ...writes wait for its end, on every shard.
    for (i, w) in writers.iter_mut().enumerate() {
        assert_eq!(
            w.call(["SET", &format!("k{i}"), "v"]).unwrap(),
            Frame::simple("OK")
        );
    }
    assert!(
        t0.elapsed() >= Duration::from_millis(350),
        "a write ran during the pause: {:?}",
        t0.elapsed()
    );
    // UNPAUSE (not a write) releases a WRITE pause early.
    admin.call(["CLIENT", "PAUSE", "10000", "WRITE"]).unwrap();
    let mut w = server.client();
    let h = std::thread::spawn(move || {
        let t = Instant::now();
        w.call(["SET", "k0", "again"]).unwrap();
        t.elapsed()
    });
    std::thread::sleep(Duration::from_millis(200));
    admin.call(["CLIENT", "UNPAUSE"]).unwrap();
    let waited = h.join().unwrap();
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let server = common::shoal().directive("timeout", "1").start();
    let mut idle = server.client();
    idle.call(["PING"]).unwrap();
    let mut busy = server.client();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(2500) {
        busy.call(["PING"]).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        idle.call(["PING"]).is_err(),
        "idle connection survived timeout 1"
    );
    assert_eq!(busy.call(["PING"]).unwrap(), Frame::simple("PONG"));
}

/// A network namespace linked to this one by a veth pair: `host_ip` is on
/// our side, the namespace connects from `peer_ip`. Removed on drop.
struct Netns {
    name: String,
    host_ip: String,
}

impl Netns {
    fn create() -> Netns {
        let id = std::process::id() % 250;
        let name = format!("shoal-pm-{}", std::process::id());
        let (h, p) = (format!("vsh{id}a"), format!("vsh{id}b"));
        let host_ip = format!("10.213.{id}.1");
        let peer_ip = format!("10.213.{id}.2");
        let run = |args: &[&str]| {
            let st = Command::new("ip").args(args).status().unwrap();
            assert!(st.success(), "ip {args:?}");
        };
        run(&["netns", "add", &name]);
        run(&["link", "add", &h, "type", "veth", "peer", "name", &p]);
        run(&["link", "set", &p, "netns", &name]);
        run(&["addr", "add", &format!("{host_ip}/30"), "dev", &h]);
        run(&["link", "set", &h, "up"]);
        run(&[
            "netns",
            "exec",
            &name,
            "ip",
            "addr",
            "add",
            &format!("{peer_ip}/30"),
            "dev",
            &p,
        ]);
        run(&["netns", "exec", &name, "ip", "link", "set", &p, "up"]);
        run(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"]);
        Netns { name, host_ip }
    }

    fn cli(&self, port: u16, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.name,
                "redis-cli",
                "-h",
                &self.host_ip,
                "-p",
                &port.to_string(),
            ])
            .args(args)
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[test]
fn protected_mode_denies_remote_clients_without_password() {
    let ns = Netns::create();
    let bind = format!("127.0.0.1 {}", ns.host_ip);
    let protected = common::shoal().directive("bind", &bind).start();
    let out = ns.cli(protected.port(), &["PING"]);
    assert!(out.contains("DENIED"), "{out}");
    // The same server still serves loopback clients.
    assert_eq!(
        protected.client().call(["PING"]).unwrap(),
        Frame::simple("PONG")
    );
    // Turning it off (from loopback) lets the remote client in.
    protected
        .client()
        .call(["CONFIG", "SET", "protected-mode", "no"])
        .unwrap();
    assert_eq!(ns.cli(protected.port(), &["PING"]).trim(), "PONG");
    // With a password, protected mode lets remote clients authenticate.
    let with_pass = common::shoal()
        .directive("bind", &bind)
        .directive("requirepass", "pw")
        .start();
    assert_eq!(
        ns.cli(with_pass.port(), &["-a", "pw", "--no-auth-warning", "PING"])
            .trim(),
        "PONG"
    );
    // Redis behaves the same way (reference).
    let redis = testkit::ServerBuilder::redis()
        .directive("bind", &bind)
        .start();
    assert!(ns.cli(redis.port(), &["PING"]).contains("DENIED"));
}
