//! Configuration as operators use it: redis.conf files, command-line
//! overrides, fatal errors naming file, line and directive, CONFIG REWRITE
//! surviving a restart, logfile/pidfile, port conflicts.

#![allow(clippy::unwrap_used)]

mod common;

use resp::Frame;
use std::process::Command;
use std::time::Duration;

fn run_to_exit(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shoal-server"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn bad_config_file_names_file_line_and_directive() {
    let dir = tempfile_dir();
    let path = dir.join("bad.conf");
    std::fs::write(&path, "# a comment\nport 7777\n\nmaxclients lots\n").unwrap();
    let (code, text) = run_to_exit(&[path.to_str().unwrap()]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(&format!("{}:4", path.display())),
        "file and line: {text}"
    );
    assert!(text.contains(">>> 'maxclients lots'"), "directive: {text}");
    assert!(
        text.contains("argument couldn't be parsed into an integer"),
        "reason: {text}"
    );

    std::fs::write(&path, "port 7777\nnosuchdirective yes\n").unwrap();
    let (code, text) = run_to_exit(&[path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        text.contains(":2") && text.contains("nosuchdirective") && text.contains("Bad directive"),
        "{text}"
    );

    let (code, text) = run_to_exit(&["--port", "99999"]);
    assert_eq!(code, 1);
    assert!(
        text.contains("command line")
            && text.contains("port 99999")
            && text.contains("between 0 and 65535"),
        "{text}"
    );

    let (code, text) = run_to_exit(&["/nonexistent/shoal.conf"]);
    assert_eq!(code, 1);
    assert!(text.contains("/nonexistent/shoal.conf"), "{text}");
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "shoal-cfgtest-{}-{}",
        std::process::id(),
        testkit::free_port()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn config_file_directives_apply_and_rewrite_survives_restart() {
    let dir = tempfile_dir();
    let log = dir.join("shoal.log");
    let pid = dir.join("shoal.pid");
    let text = format!(
        "# Shoal test config\nthreads 1\nmaxclients 123\ntimeout 0\nlogfile {}\npidfile {}\nloglevel verbose\n",
        log.display(),
        pid.display()
    );
    let builder = common::shoal().threads(1).config(&text);
    let mut server = builder.clone().start();
    let mut c = server.client();
    let info = c.call(["INFO", "server"]).unwrap().as_text().unwrap();
    assert!(info.contains("shoal_shards:1\r\n"), "{info}");
    assert_eq!(
        c.call(["CONFIG", "GET", "maxclients"]).unwrap(),
        Frame::Array(vec![Frame::bulk("maxclients"), Frame::bulk("123")])
    );
    // Start-up line: version, port, threads, pid.
    let logged = std::fs::read_to_string(&log).unwrap();
    let pid_text = std::fs::read_to_string(&pid).unwrap();
    assert!(
        logged.contains(&format!("port={}", server.port())) && logged.contains("threads=1"),
        "{logged}"
    );
    assert!(
        logged.contains(&format!("pid={}", pid_text.trim())) && logged.contains("Shoal "),
        "{logged}"
    );

    assert_eq!(
        c.call(["CONFIG", "SET", "maxclients", "77", "hz", "20"])
            .unwrap(),
        Frame::simple("OK")
    );
    assert_eq!(c.call(["CONFIG", "REWRITE"]).unwrap(), Frame::simple("OK"));
    let conf = server.dir().join("server.conf");
    let rewritten = std::fs::read_to_string(&conf).unwrap();
    assert!(
        rewritten.starts_with("# Shoal test config\n"),
        "comments kept: {rewritten}"
    );
    assert!(
        rewritten.contains("maxclients 77\n") && rewritten.contains("hz 20\n"),
        "{rewritten}"
    );
    assert!(!rewritten.contains("maxclients 123"), "{rewritten}");

    // Restart from the rewritten file: the values stick.
    server.terminate();
    let again = common::shoal().config(&rewritten).start();
    let mut c = again.client();
    assert_eq!(
        c.call(["CONFIG", "GET", "maxclients"]).unwrap(),
        Frame::Array(vec![Frame::bulk("maxclients"), Frame::bulk("77")])
    );
    assert_eq!(
        c.call(["CONFIG", "GET", "hz"]).unwrap(),
        Frame::Array(vec![Frame::bulk("hz"), Frame::bulk("20")])
    );
}

#[test]
fn port_in_use_is_a_clear_error() {
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blocker.local_addr().unwrap().port().to_string();
    // SO_REUSEPORT lets a second socket bind only if both set it; a plain
    // listener blocks us.
    let (code, text) = run_to_exit(&["--port", &port, "--bind", "127.0.0.1"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("Could not create server TCP listening socket") && text.contains(&port),
        "{text}"
    );
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let mut server = common::shoal().start();
    assert_eq!(
        server.client().call(["PING"]).unwrap(),
        Frame::simple("PONG")
    );
    let pid = server.pid().unwrap();
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert_eq!(server.wait_exit(Duration::from_secs(5)), Some(0));
    assert!(
        server.log().contains("Received SIGTERM"),
        "{}",
        server.log()
    );
}

#[test]
fn shutdown_command_stops_the_server() {
    let mut server = common::shoal().start();
    let mut c = server.client();
    c.send(["SHUTDOWN", "NOSAVE"]).unwrap();
    assert_eq!(server.wait_exit(Duration::from_secs(5)), Some(0));
}
