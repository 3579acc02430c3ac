//! Targets that are down, silent or not Redis: `redis_up 0`, an error
//! message, a growing scrape error counter, and never a failed /metrics.

mod common;

use common::{find, http_get, Exporter};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn closed_port() -> u16 {
    let port = testkit::free_port();
    // free_port checked it is bindable; nothing listens there now.
    port
}

#[test]
fn unreachable_target_is_up_0_and_counts_errors() {
    let port = closed_port();
    let addr = format!("127.0.0.1:{port}");
    let ex = Exporter::start(&["--redis.addr", &addr, "--connection-timeout", "2s"]);
    for round in 1..=3 {
        let (status, body) = http_get(&ex.url("/metrics")).expect("http");
        assert_eq!(status, 200, "{body}");
        let s = common::parse_exposition(&body);
        assert_eq!(find(&s, "redis_up", &[]).map(|x| x.value), Some(0.0));
        let err = find(&s, "redis_exporter_last_scrape_error", &[])
            .map(|x| (x.value, x.label("err").unwrap_or("").to_string()));
        let (v, msg) = err.expect("error gauge");
        assert_eq!(v, 1.0);
        assert!(msg.contains(&addr) && msg.contains("connect"), "{msg}");
        assert_eq!(
            find(
                &s,
                "redis_exporter_scrape_errors_total",
                &[("target", &addr)]
            )
            .map(|x| x.value),
            Some(f64::from(round))
        );
    }
}

/// A listener that accepts and then behaves badly, until dropped.
struct BadServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl BadServer {
    fn start(reply: Option<&'static [u8]>) -> BadServer {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.set_nonblocking(true).expect("nonblocking");
        let port = l.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            // Bounded: at most 10 minutes, stops when the test drops it.
            for _ in 0..60_000 {
                if s2.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok((mut sock, _)) = l.accept() {
                    let _ = sock.set_nonblocking(false);
                    if let Some(r) = reply {
                        let mut buf = [0u8; 1024];
                        let _ = sock.set_read_timeout(Some(std::time::Duration::from_millis(500)));
                        let _ = sock.read(&mut buf);
                        let _ = sock.write_all(r);
                    }
                    held.push(sock); // silent: keep it open, never answer
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        });
        BadServer { port, stop }
    }
}

impl Drop for BadServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn silent_target_is_bounded_by_the_scrape_timeout() {
    let bad = BadServer::start(None);
    let ex = Exporter::start(&["--redis.addr", "", "--connection-timeout", "500ms"]);
    let s = ex.samples(&format!("/scrape?target=127.0.0.1:{}", bad.port));
    assert_eq!(find(&s, "redis_up", &[]).map(|x| x.value), Some(0.0));
    let err = find(&s, "redis_exporter_last_scrape_error", &[])
        .and_then(|x| x.label("err"))
        .unwrap_or("")
        .to_string();
    assert!(err.contains("timed out"), "{err}");
}

#[test]
fn garbage_replies_are_up_0_not_a_crash() {
    let bad = BadServer::start(Some(b"HTTP/1.1 400 Bad Request\r\n\r\n"));
    let ex = Exporter::start(&["--redis.addr", "", "--connection-timeout", "2s"]);
    let s = ex.samples(&format!("/scrape?target=127.0.0.1:{}", bad.port));
    assert_eq!(find(&s, "redis_up", &[]).map(|x| x.value), Some(0.0));
    let err = find(&s, "redis_exporter_last_scrape_error", &[])
        .and_then(|x| x.label("err"))
        .unwrap_or("")
        .to_string();
    assert!(err.contains("protocol error"), "{err}");
    // The exporter is still serving.
    let (status, _) = http_get(&ex.url("/health")).expect("http");
    assert_eq!(status, 200);
}

#[test]
fn one_target_down_does_not_hide_the_others() {
    let good = testkit::Server::redis();
    let down = format!("127.0.0.1:{}", closed_port());
    let ex = Exporter::start(&[
        "--redis.addr",
        &format!("{},{down}", good.addr()),
        "--connection-timeout",
        "2s",
    ]);
    let s = ex.samples("/metrics");
    assert_eq!(
        find(&s, "redis_up", &[("target", &good.addr())]).map(|x| x.value),
        Some(1.0)
    );
    assert_eq!(
        find(&s, "redis_up", &[("target", &down)]).map(|x| x.value),
        Some(0.0)
    );
    assert!(find(
        &s,
        "redis_commands_processed_total",
        &[("target", &good.addr())]
    )
    .is_some());
}
