//! Bad flags and bad config files: a clear message naming the culprit
//! (flag, or file + line + key), a non-zero exit, never a panic.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shoal-exporter"))
        .args(args)
        .env_remove("REDIS_ADDR")
        .output()
        .expect("run shoal-exporter");
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("panicked"), "panic for {args:?}:\n{text}");
    (out.status.code().unwrap_or(-1), text)
}

fn config(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, text).expect("write");
    let s = p.to_string_lossy().into_owned();
    (dir, s)
}

#[test]
fn unknown_flag_and_bad_values() {
    let (code, msg) = run(&["--no-such-flag"]);
    assert_ne!(code, 0);
    assert!(msg.contains("--no-such-flag"), "{msg}");
    let (code, msg) = run(&["--connection-timeout", "soon"]);
    assert_ne!(code, 0);
    assert!(
        msg.contains("--connection-timeout") && msg.contains("soon"),
        "{msg}"
    );
    let (code, msg) = run(&["--redis.addr", "rediss://h:1"]);
    assert_ne!(code, 0);
    assert!(msg.contains("--redis.addr") && msg.contains("TLS"), "{msg}");
    let (code, msg) = run(&["--redis.labels", "9bad=x"]);
    assert_ne!(code, 0);
    assert!(
        msg.contains("--redis.labels") && msg.contains("9bad"),
        "{msg}"
    );
    let (code, msg) = run(&["--otlp-endpoint", "https://collector:4318"]);
    assert_ne!(code, 0);
    assert!(msg.contains("--otlp-endpoint"), "{msg}");
}

#[test]
fn go_style_single_dash_flags_are_accepted() {
    // -web.listen-address with a port that is taken makes it exit quickly with a clear error.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let (code, msg) = run(&["-redis.addr", "", "-web.listen-address", &addr]);
    assert_ne!(code, 0);
    assert!(
        msg.contains("cannot listen on") && msg.contains(&addr),
        "{msg}"
    );
}

#[test]
fn config_file_errors_name_file_line_and_key() {
    let (_d, path) = config(
        "namespace = \"redis\"\n\n[[targets]]\naddr = \"redis://h:1\"\nlables = { a = \"b\" }\n",
    );
    let (code, msg) = run(&["--config", &path]);
    assert_ne!(code, 0);
    assert!(
        msg.contains(&path) && msg.contains("line 5") && msg.contains("lables"),
        "{msg}"
    );

    let (_d, path) = config("[[targets]]\naddr = \"http://h:1\"\n");
    let (code, msg) = run(&["--config", &path]);
    assert_ne!(code, 0);
    assert!(
        msg.contains(&path) && msg.contains("line 2") && msg.contains("scheme"),
        "{msg}"
    );

    let (_d, path) = config("connection_timeout = 5\n");
    let (code, msg) = run(&["--config", &path]);
    assert_ne!(code, 0);
    assert!(
        msg.contains("line 1") && msg.contains("connection_timeout"),
        "{msg}"
    );

    let (_d, path) = config("[[targets]]\naddr = \"h:1\"\nlabels = { \"bad-name\" = \"x\" }\n");
    let (code, msg) = run(&["--config", &path]);
    assert_ne!(code, 0);
    assert!(msg.contains("line 3") && msg.contains("bad-name"), "{msg}");

    let (code, msg) = run(&["--config", "/nonexistent/shoal-exporter.toml"]);
    assert_ne!(code, 0);
    assert!(msg.contains("/nonexistent/shoal-exporter.toml"), "{msg}");

    let (_d, path) = config("{\"redis://h:1\": 5}");
    let (code, msg) = run(&["--redis.password-file", &path]);
    assert_ne!(code, 0);
    assert!(
        msg.contains("password file") && msg.contains(&path),
        "{msg}"
    );
}
