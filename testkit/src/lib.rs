//! # testkit: real servers for black-box tests
//!
//! Starts real processes — `shoal-server` and Debian's `redis-server` — on
//! free loopback ports in throwaway directories, waits until they answer
//! `PING`, and kills them when dropped. Nothing here mocks a server.
//!
//! Ports come from an unusual range (20000–29999, bus port +10000 also free),
//! chosen at random and checked by binding, so tests in parallel processes
//! and other servers on this machine (6379, 16379) do not collide.
//!
//! Finding `shoal-server`: [`ServerBuilder::shoal`] uses `$SHOAL_SERVER_BIN`,
//! else `target/<profile>/shoal-server` of this workspace; the engine's own
//! tests pass `env!("CARGO_BIN_EXE_shoal-server")` explicitly.

use resp::client::Client;
use resp::Frame;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Which program a [`Server`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Our `shoal-server`.
    Shoal,
    /// The reference `redis-server`.
    Redis,
}

static SEED: AtomicU64 = AtomicU64::new(0);

fn next_random() -> u64 {
    let mut s = SEED.load(Ordering::Relaxed);
    if s == 0 {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        s = t ^ (u64::from(std::process::id()) << 32) | 1;
    }
    // xorshift64*
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    SEED.store(s, Ordering::Relaxed);
    s.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn bindable(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A free loopback port in 20000..30000 whose +10000 (cluster bus) is free too.
pub fn free_port() -> u16 {
    for _ in 0..1000 {
        let port = 20000 + (next_random() % 10000) as u16;
        if bindable(port) && bindable(port + 10000) {
            return port;
        }
    }
    panic!("no free port found in 20000..30000");
}

/// The workspace's target directory for a binary of this workspace.
pub fn workspace_bin(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("..").join("target"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    target.join(profile).join(name)
}

/// Options for starting a server.
#[derive(Clone, Debug)]
pub struct ServerBuilder {
    kind: Kind,
    bin: PathBuf,
    args: Vec<String>,
    port: Option<u16>,
    config: Option<String>,
    wait: bool,
}

impl ServerBuilder {
    /// shoal-server with 2 shards (tests must exercise cross-shard paths).
    /// `SHOAL_NETWORK_BACKEND` in the environment picks its socket backend
    /// (the test script runs the engine suite once per backend).
    pub fn shoal() -> Self {
        let bin = std::env::var_os("SHOAL_SERVER_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_bin("shoal-server"));
        let mut args = vec!["--threads".to_string(), "2".to_string()];
        if let Ok(b) = std::env::var("SHOAL_NETWORK_BACKEND") {
            args.extend(["--network-backend".to_string(), b]);
        }
        ServerBuilder {
            kind: Kind::Shoal,
            bin,
            args,
            port: None,
            config: None,
            wait: true,
        }
    }

    /// Debian's redis-server, with persistence off.
    pub fn redis() -> Self {
        ServerBuilder {
            kind: Kind::Redis,
            bin: PathBuf::from(std::env::var("REDIS_SERVER_BIN").unwrap_or("redis-server".into())),
            args: vec![
                "--save".into(),
                "".into(),
                "--appendonly".into(),
                "no".into(),
            ],
            port: None,
            config: None,
            wait: true,
        }
    }

    /// Use this binary instead of the default one.
    pub fn bin(mut self, bin: impl Into<PathBuf>) -> Self {
        self.bin = bin.into();
        self
    }

    /// Add `--name value` (or any raw arguments).
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    /// Add `--name value`.
    pub fn directive(mut self, name: &str, value: &str) -> Self {
        self.args.push(format!("--{name}"));
        self.args.push(value.to_string());
        self
    }

    /// Shard count for shoal-server (`--threads`).
    pub fn threads(mut self, n: usize) -> Self {
        if let Some(i) = self.args.iter().position(|a| a == "--threads") {
            if let Some(v) = self.args.get_mut(i + 1) {
                *v = n.to_string();
            }
        }
        self
    }

    /// A fixed port instead of a free random one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Write this text as the config file and pass it as the first argument.
    pub fn config(mut self, text: &str) -> Self {
        self.config = Some(text.to_string());
        self
    }

    /// Do not wait for the server to answer PING.
    pub fn no_wait(mut self) -> Self {
        self.wait = false;
        self
    }

    /// Start the server.
    pub fn start(self) -> Server {
        let dir = tempfile::Builder::new()
            .prefix(match self.kind {
                Kind::Shoal => "shoal-test-",
                Kind::Redis => "redis-test-",
            })
            .tempdir()
            .expect("create temp dir");
        let port = self.port.unwrap_or_else(free_port);
        let mut cmd = Command::new(&self.bin);
        if let Some(text) = &self.config {
            let path = dir.path().join("server.conf");
            std::fs::write(&path, text).expect("write config");
            cmd.arg(path);
        }
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(dir.path());
        cmd.args(&self.args);
        let log = dir.path().join("server.log");
        let out = std::fs::File::create(&log).expect("create log");
        let err = out.try_clone().expect("clone log");
        cmd.stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .stdin(Stdio::null());
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.bin.display()));
        let mut server = Server {
            kind: self.kind,
            child: Some(child),
            port,
            dir,
            log,
        };
        if self.wait {
            server.wait_ready(Duration::from_secs(20));
        }
        server
    }
}

/// A running server process; killed on drop.
#[derive(Debug)]
pub struct Server {
    kind: Kind,
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Server {
    /// Start shoal-server with default test options.
    pub fn shoal() -> Server {
        ServerBuilder::shoal().start()
    }

    /// Start redis-server with default test options.
    pub fn redis() -> Server {
        ServerBuilder::redis().start()
    }

    /// Which program this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's working directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A new client connection.
    pub fn client(&self) -> Client {
        Client::connect(self.addr()).unwrap_or_else(|e| panic!("connect {}: {e}", self.addr()))
    }

    /// Everything the server wrote to stdout/stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until the server answers PING with PONG.
    pub fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "{:?} exited early ({status}); log:\n{}",
                    self.kind,
                    self.log()
                );
            }
            if let Ok(mut c) = Client::connect(self.addr()) {
                let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                match c.call(["PING"]) {
                    Ok(Frame::Simple(s)) if &s[..] == b"PONG" => return,
                    // Answering, but behind a password: ready.
                    Ok(Frame::Error(e)) if e.starts_with(b"NOAUTH") => return,
                    _ => {}
                }
            }
            assert!(
                Instant::now() < deadline,
                "{:?} on port {} not ready; log:\n{}",
                self.kind,
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait for the process to exit by itself; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return status.code().or(Some(-1));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGKILL the process (crash tests).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait up to 10 s, then SIGKILL.
    pub fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            if let Ok(pid) = i32::try_from(c.id()) {
                // SAFETY: kill(2) with a pid we spawned and still own; no memory is touched.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() && std::env::var_os("TESTKIT_SHOW_LOGS").is_some() {
            eprintln!(
                "--- {:?} log (port {}) ---\n{}",
                self.kind,
                self.port,
                self.log()
            );
        }
    }
}

/// True when a `redis-server` binary is on PATH.
pub fn have_redis() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
