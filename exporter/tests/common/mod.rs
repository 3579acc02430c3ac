//! Shared helpers of the black-box tests: the shoal-exporter and Prometheus
//! processes (killed on drop), a small HTTP client, and a parser of the
//! Prometheus text format (to compare expositions by name, labels, value).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One sample of a text exposition.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, k: &str) -> Option<&str> {
        self.labels.get(k).map(String::as_str)
    }
}

fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parse Prometheus text format (0.0.4) into samples; panics on a malformed line.
pub fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("bad labels in {line:?}"));
                let mut labels = BTreeMap::new();
                // Split on `",` boundaries (values may contain commas).
                let mut rest = body;
                while !rest.is_empty() {
                    let (k, r) = rest
                        .split_once("=\"")
                        .unwrap_or_else(|| panic!("bad label in {line:?}"));
                    let mut end = 0;
                    let b = r.as_bytes();
                    while end < b.len() {
                        if b[end] == b'\\' {
                            end += 2;
                            continue;
                        }
                        if b[end] == b'"' {
                            break;
                        }
                        end += 1;
                    }
                    labels.insert(k.trim_start_matches(',').to_string(), unescape(&r[..end]));
                    rest = r.get(end + 1..).unwrap_or("").trim_start_matches(',');
                }
                (name.to_string(), labels)
            }
        };
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

/// Find the sample with this name whose labels include `want`.
pub fn find<'a>(samples: &'a [Sample], name: &str, want: &[(&str, &str)]) -> Option<&'a Sample> {
    samples
        .iter()
        .find(|s| s.name == name && want.iter().all(|(k, v)| s.label(k) == Some(v)))
}

/// GET a URL; returns (status, body). Transport errors are an Err.
pub fn http_get(url: &str) -> Result<(u16, String), String> {
    http_get_accept(url, None)
}

/// GET with an Accept header.
pub fn http_get_accept(url: &str, accept: Option<&str>) -> Result<(u16, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut req = agent.get(url);
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    let mut resp = req.call().map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("GET {url} body: {e}"))?;
    Ok((status, body))
}

/// A running process killed on drop.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
    pub name: String,
}

impl Proc {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Exit status if it has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn spawn(name: &str, cmd: &mut Command, dir: &Path) -> Proc {
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::File::create(&log).expect("create log");
    let err = out.try_clone().expect("clone log");
    let child = cmd
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {name}: {e}"));
    Proc {
        child,
        log,
        name: name.to_string(),
    }
}

/// Poll `f` every 100 ms until it returns Some or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A running shoal-exporter.
pub struct Exporter {
    pub proc: Proc,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Exporter {
    /// Start the binary with these extra arguments on a free port; waits for /health.
    pub fn start(args: &[&str]) -> Exporter {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = testkit::free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shoal-exporter"));
        cmd.arg("--web.listen-address")
            .arg(format!("127.0.0.1:{port}"))
            .args(args);
        let mut proc = spawn("shoal-exporter", &mut cmd, dir.path());
        let ok = wait_for(Duration::from_secs(10), || {
            if proc.exited().is_some() {
                return Some(false);
            }
            http_get(&format!("http://127.0.0.1:{port}/health"))
                .ok()
                .filter(|(s, _)| *s == 200)
                .map(|_| true)
        });
        assert_eq!(
            ok,
            Some(true),
            "shoal-exporter did not start; log:\n{}",
            proc.log_text()
        );
        Exporter {
            proc,
            port,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// GET a path and parse the exposition (asserting 200).
    pub fn samples(&self, path: &str) -> Vec<Sample> {
        let (status, body) = http_get(&self.url(path)).expect("exporter reachable");
        assert_eq!(status, 200, "{path}: {body}");
        parse_exposition(&body)
    }
}

/// True when a program is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Tests that need a Debian tool fail loudly when it is missing (scripts/setup.d/exporter.sh installs it).
pub fn require(program: &str) {
    assert!(
        have(program),
        "{program} not found: run scripts/setup.sh (scripts/setup.d/exporter.sh installs it)"
    );
}

/// A replica of `primary` built from `base`.
pub fn replica_of(base: testkit::ServerBuilder, primary: &testkit::Server) -> testkit::Server {
    base.arg("--replicaof")
        .arg("127.0.0.1")
        .arg(primary.port().to_string())
        .start()
}

/// A redis-sentinel (redis-server --sentinel) monitoring `primary` as `name`
/// with quorum 1 and a 1 s down-after.
pub fn sentinel_for(
    primary: &testkit::Server,
    name: &str,
    failover_timeout_ms: u32,
) -> testkit::Server {
    testkit::ServerBuilder::redis()
        .config(&format!(
            "sentinel monitor {name} 127.0.0.1 {} 1\nsentinel down-after-milliseconds {name} 1000\n\
             sentinel failover-timeout {name} {failover_timeout_ms}\n",
            primary.port()
        ))
        .arg("--sentinel")
        .start()
}

/// One field of an INFO section, from a new connection.
pub fn info_field(server: &testkit::Server, section: &str, field: &str) -> Option<String> {
    let text = server.client().call(["INFO", section]).ok()?.as_text()?;
    text.lines().find_map(|l| {
        l.trim()
            .strip_prefix(&format!("{field}:"))
            .map(str::to_string)
    })
}
