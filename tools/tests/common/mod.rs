//! Helpers shared by the black-box tests: run the real binary with a time
//! limit, read its report.json. Servers come from testkit, never mocks.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_shoal-benchmark");

/// Run shoal-benchmark with `args`; kill it after `limit` (a test failure).
pub fn run(args: &[&str], limit: Duration) -> Output {
    run_program(BIN, args, limit)
}

/// Run any program with a time limit.
pub fn run_program(program: &str, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {program}: {e}"));
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().expect("wait for the child").is_some() {
            return child.wait_with_output().expect("collect the output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect the output");
            panic!(
                "{program} {args:?} ran past {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run and require success; returns stdout.
pub fn ok(args: &[&str], limit: Duration) -> String {
    let out = run(args, limit);
    assert!(
        out.status.success(),
        "shoal-benchmark {args:?} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One parsed CSV row: test name and numeric columns by header.
#[derive(Debug, Clone)]
pub struct Row {
    pub test: String,
    pub cols: std::collections::HashMap<String, String>,
}

impl Row {
    pub fn num(&self, col: &str) -> f64 {
        self.cols
            .get(col)
            .unwrap_or_else(|| panic!("no column {col} in {self:?}"))
            .parse()
            .unwrap_or_else(|_| panic!("column {col} is not a number in {self:?}"))
    }
}

/// Parse redis-benchmark / shoal-benchmark CSV output.
pub fn csv(text: &str) -> Vec<Row> {
    let split = |l: &str| -> Vec<String> {
        l.trim()
            .trim_matches('"')
            .split("\",\"")
            .map(|s| s.to_string())
            .collect()
    };
    let mut lines = text.lines().filter(|l| l.starts_with('"'));
    let header = split(lines.next().expect("a CSV header"));
    lines
        .map(|l| {
            let v = split(l);
            Row {
                test: v[0].clone(),
                cols: header.iter().cloned().zip(v.iter().cloned()).collect(),
            }
        })
        .collect()
}

/// Read report.json from a report directory.
pub fn report(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
    serde_json::from_str(&text).expect("report.json is JSON")
}

/// The JSON schema of report.json.
pub const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/report.schema.json");

/// Check report.json in `dir` against the schema (Python's jsonschema, Draft 2020-12).
pub fn validate(dir: &Path) {
    let script = "import json,sys,jsonschema\n\
schema=json.load(open(sys.argv[1])); doc=json.load(open(sys.argv[2]))\n\
jsonschema.Draft202012Validator.check_schema(schema)\n\
errs=sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=str)\n\
[print(list(e.absolute_path), e.message) for e in errs[:10]]\n\
sys.exit(1 if errs else 0)\n";
    let json = dir.join("report.json");
    let out = run_program(
        "python3",
        &["-c", script, SCHEMA, json.to_str().expect("a UTF-8 path")],
        Duration::from_secs(120),
    );
    assert!(
        out.status.success(),
        "report.json does not validate (scripts/setup.d/tools.sh installs python3-jsonschema):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port where nothing listens (bound then released).
pub fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    l.local_addr().expect("local address").port()
}
