//! Starting and stopping the server: one glommio executor per shard, each
//! pinned to a CPU, each listening on the port (SO_REUSEPORT) and serving
//! the connections it accepts.
//!
//! | module | owns |
//! |---|---|
//! | this file | [`Shared`] (process-wide facts), [`run`] (boot, memlock, pinning, signals, shutdown) |
//! | [`conn`] | one client connection: read, parse, dispatch, write |
//! | [`loading`] | `-LOADING` answers on the port while the data loads |
//! | [`background`] | per-shard background work (active expiry) in a low-share task queue |
//! | [`snapshot`] | RDB files: SAVE's coordination and file I/O, loading at start-up |
//! | [`bgsave`] | BGSAVE without fork: incremental point-in-time images, save points |
//!
//! Together with `shard::mesh`, these are the modules that name glommio.

pub mod background;
pub mod bgsave;
pub mod conn;
pub mod loading;
pub mod net;
pub mod snapshot;

use crate::config::Config;
use crate::shard::mesh::{self, Mesh, Msg};
use crate::shard::{Shard, ShardState};
use glommio::channels::channel_mesh::MeshBuilder;
use glommio::net::TcpListener;
use glommio::{LocalExecutorBuilder, Placement};
use std::cell::RefCell;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{FromRawFd, RawFd};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The Redis version Shoal reports (INFO, HELLO): the behaviour it targets.
pub const REDIS_VERSION: &str = "7.2.4";
/// Shoal's own version.
pub const SHOAL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Facts and counters shared by all shards. Read-mostly; the only writes
/// on a hot path are two relaxed atomics per connection open/close.
pub struct Shared {
    /// 40 hex characters, new at every start (INFO run_id).
    pub run_id: String,
    /// Start time, Unix ms.
    pub start_ms: i64,
    /// Start instant (uptime).
    pub started: Instant,
    /// Number of shards.
    pub shards: usize,
    /// The authoritative configuration (CONFIG SET replaces it, then every shard's copy).
    pub config: RwLock<Arc<Config>>,
    /// Connected clients, all shards.
    pub clients: AtomicUsize,
    /// Next CLIENT ID.
    pub next_client_id: AtomicU64,
    /// Next SLOWLOG entry id, all shards.
    pub slowlog_ids: AtomicU64,
    /// MONITOR clients, all shards (dispatch formats lines only when > 0).
    pub monitors: AtomicUsize,
    /// Path of the running binary.
    pub executable: String,
    /// Set to stop the server (SHUTDOWN, SIGTERM).
    pub shutdown: AtomicBool,
    /// CPUs the shards run on.
    pub cpus: Vec<usize>,
    /// The TCP port actually in use.
    pub port: u16,
    /// Last save, saves, keys loaded (INFO persistence, LASTSAVE).
    pub persistence: snapshot::Status,
    /// The append-only file's process-wide facts.
    pub aof: crate::aof::Global,
    /// Shards done loading at start-up.
    pub loaded_shards: AtomicUsize,
    /// Every shard has loaded: the shards may bind.
    pub may_listen: AtomicBool,
    /// The switch from the -LOADING responder to the shards.
    pub switch: loading::Switch,
}

impl Shared {
    /// Current authoritative configuration.
    pub fn config(&self) -> Arc<Config> {
        match self.config.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Read-modify-write the authoritative configuration under its lock,
    /// so concurrent CONFIG SETs never lose each other's changes. Returns
    /// the new configuration (with a higher generation) for the shards.
    pub fn update_config<E>(
        &self,
        f: impl FnOnce(&Config) -> Result<Config, E>,
    ) -> Result<Arc<Config>, E> {
        let mut g = match self.config.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut next = f(&g)?;
        next.generation = g.generation + 1;
        let next = Arc::new(next);
        *g = next.clone();
        Ok(next)
    }

    /// Seconds since start.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

static SIGNALLED: AtomicBool = AtomicBool::new(false);
static SIGNAL_NAME: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNAL_NAME.store(usize::try_from(sig).unwrap_or(0), Ordering::SeqCst);
    SIGNALLED.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores into atomics, which is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
    // A client that disconnects mid-write must not kill the process, nor
    // a file-size limit (RLIMIT_FSIZE): that write fails instead (EFBIG) and
    // the AOF or snapshot reports it.
    // SAFETY: ignoring signals has no memory-safety preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// CPUs this process may run on (respects `taskset`).
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: sched_getaffinity fills the zeroed set we own.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let ok =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) }
            == 0;
    let mut cpus = Vec::new();
    if ok {
        for cpu in 0..1024usize {
            // SAFETY: `cpu` is below CPU_SETSIZE (1024).
            if unsafe { libc::CPU_ISSET(cpu, &set) } {
                cpus.push(cpu);
            }
        }
    }
    if cpus.is_empty() {
        let n = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        cpus = (0..n).collect();
    }
    cpus
}

/// io_uring registered-buffer size per executor, within RLIMIT_MEMLOCK.
///
/// glommio registers `io_memory` with each of its 3 rings, so each executor
/// locks about 3× that. We want 512 KiB per executor (the network has its own
/// ring; only glommio file I/O uses these buffers); we raise the limit when
/// allowed (root), else shrink the buffers to fit, else refuse to start.
fn size_io_memory(executors: usize) -> Result<usize, String> {
    const WANT: usize = 512 << 10;
    const MIN: usize = 128 << 10;
    const RING_SLACK: usize = 256 << 10;
    let per_exec = |io: usize| 3 * io + RING_SLACK;
    let need = executors * per_exec(WANT);
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into `lim`.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return Ok(WANT);
    }
    let cur = usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX);
    if cur >= need {
        return Ok(WANT);
    }
    let want = need as libc::rlim_t;
    let raised = libc::rlimit {
        rlim_cur: want,
        rlim_max: lim.rlim_max.max(want),
    };
    // SAFETY: setrlimit reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &raised) } == 0 {
        log::info!("Raised the locked-memory limit (RLIMIT_MEMLOCK) from {cur} to {need} bytes for io_uring");
        return Ok(WANT);
    }
    let hard = usize::try_from(lim.rlim_max).unwrap_or(usize::MAX);
    let budget = if hard > cur {
        let soft = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above; raising the soft limit up to the hard limit is always allowed.
        if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &soft) } == 0 {
            hard
        } else {
            cur
        }
    } else {
        cur
    };
    let per = budget / executors.max(1);
    let io = per.saturating_sub(RING_SLACK) / 3 / (64 << 10) * (64 << 10);
    if io < MIN {
        return Err(format!(
            "The locked-memory limit (RLIMIT_MEMLOCK) is {budget} bytes, too small for {executors} io_uring executors \
             (need at least {} bytes). Raise it (`ulimit -l`, systemd LimitMEMLOCK=) or run with fewer --threads.",
            executors * per_exec(MIN)
        ));
    }
    log::warn!(
        "Locked-memory limit is {budget} bytes: using {io} bytes of io_uring buffers per executor"
    );
    Ok(io)
}

fn random_run_id() -> String {
    let mut bytes = [0u8; 20];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    if bytes.iter().all(|&b| b == 0) {
        let t = crate::clock::now_us() as u64 ^ u64::from(std::process::id());
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (t >> ((i % 8) * 8)) as u8 ^ (i as u8).wrapping_mul(37);
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Resolve `bind` entries into addresses. A leading `-` marks an address
/// that may be unavailable; `*` is every IPv4 address, `::*` every IPv6 one.
fn bind_addrs(config: &Config) -> Result<Vec<(SocketAddr, bool)>, String> {
    let mut out = Vec::new();
    for b in &config.bind {
        let (optional, host) = match b.strip_prefix('-') {
            Some(h) => (true, h),
            None => (false, b.as_str()),
        };
        let host = match host {
            "*" => "0.0.0.0",
            "::*" => "::",
            h => h,
        };
        let addr = if host.contains(':') {
            format!("[{host}]:{}", config.port)
        } else {
            format!("{host}:{}", config.port)
        };
        match addr.to_socket_addrs() {
            Ok(mut it) => match it.next() {
                Some(a) => out.push((a, optional)),
                None if optional => {}
                None => return Err(format!("Invalid bind address '{b}'")),
            },
            Err(_) if optional => {}
            Err(e) => return Err(format!("Invalid bind address '{b}': {e}")),
        }
    }
    Ok(out)
}

/// Start the server and block until it shuts down. Returns the exit code.
pub fn run(config: Config) -> i32 {
    install_signal_handlers();
    crate::clock::calibrate();
    let cpus_allowed = allowed_cpus();
    let threads = if config.threads == 0 {
        cpus_allowed.len().max(1)
    } else {
        config.threads
    };
    let io_memory = match size_io_memory(threads) {
        Ok(io) => io,
        Err(e) => {
            log::warn!("{e}");
            eprintln!("{e}");
            return 1;
        }
    };
    let addrs = match bind_addrs(&config) {
        Ok(a) => a,
        Err(e) => {
            log::warn!("{e}");
            return 1;
        }
    };
    let cpus: Vec<usize> = (0..threads)
        .map(|i| {
            cpus_allowed
                .get(i % cpus_allowed.len())
                .copied()
                .unwrap_or(i)
        })
        .collect();
    if !config.pidfile.is_empty() {
        if let Err(e) = std::fs::write(&config.pidfile, format!("{}\n", std::process::id())) {
            log::warn!("Failed to write PID file {}: {e}", config.pidfile);
        }
    }
    for (name, value) in config.stored_only_overrides() {
        log::warn!(
            "Directive '{name} {value}' is accepted but not implemented yet: it has no effect"
        );
    }
    let port = config.port;
    let config = Arc::new(config);
    let start_ms = crate::clock::now_ms();
    let shared = Arc::new(Shared {
        run_id: random_run_id(),
        start_ms,
        started: Instant::now(),
        shards: threads,
        config: RwLock::new(config.clone()),
        clients: AtomicUsize::new(0),
        next_client_id: AtomicU64::new(1),
        slowlog_ids: AtomicU64::new(0),
        monitors: AtomicUsize::new(0),
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        shutdown: AtomicBool::new(false),
        cpus: cpus.clone(),
        port,
        persistence: snapshot::Status::new(start_ms / 1000),
        loaded_shards: AtomicUsize::new(0),
        may_listen: AtomicBool::new(false),
        switch: loading::Switch::default(),
        aof: crate::aof::Global::new(
            crate::aof::load::aof_dir(&config),
            config
                .get("appendfilename")
                .unwrap_or("appendonly.aof")
                .to_string(),
        ),
    });
    log::info!(
        "Shoal {SHOAL_VERSION} (Redis {REDIS_VERSION} compatible) starting: port={port}, threads={threads}, cpus={cpus:?}, pid={}",
        std::process::id()
    );

    // The snapshot, if any, is loaded before any shard serves a client: read
    // and checked here, then parsed by every shard for the keys it owns.
    let load_started = Instant::now();
    let backlog0 = config
        .get("tcp-backlog")
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(511);
    let responder = loading::start(
        &addrs,
        backlog0,
        start_ms / 1000,
        config.requirepass.is_none(),
        &shared.switch,
    );
    let appendonly = config.get("appendonly") == Some("yes");
    let logs = if appendonly {
        match crate::aof::load::prepare(&config) {
            Ok(l) => l.map(Arc::new),
            Err(e) => {
                log::warn!("{e}");
                eprintln!("{e}");
                log::logger().flush();
                return 1;
            }
        }
    } else {
        None
    };
    shared.aof.ids_after(logs.as_ref().map_or(0, |l| l.max_tx));
    if let Some(l) = &logs {
        let base: u64 = l.shards.iter().map(|s| s.base.1.len() as u64).sum();
        shared.aof.base_size.store(base, Ordering::Relaxed);
        if let Ok(mut m) = shared.aof.manifest.lock() {
            *m = Some(l.manifest.clone());
        }
    }
    // With the AOF on and logs present, they are the data (Redis ignores the RDB then).
    // Logs written with another shard count, or by Redis, are loaded and
    // then rewritten; only our own with the same count are appended to.
    let resume = logs
        .as_ref()
        .map(|l| l.manifest.shards == threads && l.manifest.foreign.is_none());
    let mut dump = match snapshot::read_dump(&config).map(|d| d.filter(|_| logs.is_none())) {
        Ok(d) => d.map(Arc::new),
        Err(e) => {
            log::warn!("{e}");
            log::logger().flush();
            return 1;
        }
    };
    let mesh_builder = (threads > 1).then(|| MeshBuilder::<Msg, _>::full(threads, 1024));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<usize, String>>();
    let mut handles = Vec::new();
    for (id, cpu) in cpus.iter().copied().enumerate() {
        let shared = shared.clone();
        let mesh = mesh_builder.clone();
        let ready = ready_tx.clone();
        let addrs = addrs.clone();
        let dump = dump.clone();
        let logs = logs.clone();
        let builder = LocalExecutorBuilder::new(Placement::Fixed(cpu))
            .name(&format!("shoal-shard-{id}"))
            .io_memory(io_memory);
        match builder.spawn(move || {
            shard_main(
                id,
                shared,
                mesh,
                addrs,
                (dump, logs, appendonly.then_some(resume == Some(true))),
                ready,
            )
        }) {
            Ok(h) => handles.push(h),
            Err(e) => {
                log::warn!("Could not start executor {id} on CPU {cpu}: {e}");
                return 1;
            }
        }
    }
    drop(ready_tx);
    // Every shard loads first; then the shards bind the port beside the
    // -LOADING responder (SO_REUSEPORT) without accepting yet, and once all
    // are bound the responder lets go and hands its connections over: no
    // connection attempt is refused at the switch, and none is answered
    // -LOADING after any shard has served one.
    let mut ready = 0;
    while shared.loaded_shards.load(Ordering::SeqCst) < threads {
        match ready_rx.recv_timeout(Duration::from_millis(2)) {
            Ok(Ok(_)) => ready += 1,
            Ok(Err(e)) => {
                log::warn!("{e}");
                eprintln!("{e}");
                log::logger().flush();
                return 1;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                log::warn!("An executor exited during start-up");
                return 1;
            }
        }
    }
    shared.may_listen.store(true, Ordering::SeqCst);
    for _ in ready..threads {
        match ready_rx.recv() {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                log::warn!("{e}");
                eprintln!("{e}");
                log::logger().flush();
                return 1;
            }
            Err(_) => {
                log::warn!("An executor exited during start-up");
                return 1;
            }
        }
    }
    shared.switch.hand_over(responder, threads);
    if logs.is_some() {
        log::info!(
            "DB loaded from append only file: {:.3} seconds, keys loaded: {}",
            load_started.elapsed().as_secs_f64(),
            shared.aof.loaded_keys.load(Ordering::Relaxed)
        );
    }
    if dump.take().is_some() {
        let p = &shared.persistence;
        log::info!(
            "Done loading RDB, keys loaded: {}, keys expired: {}.",
            p.loaded_keys.load(Ordering::Relaxed),
            p.loaded_expired.load(Ordering::Relaxed)
        );
        log::info!(
            "DB loaded from disk: {:.3} seconds",
            load_started.elapsed().as_secs_f64()
        );
    }
    crate::alloc::mark_startup();
    log::info!("Ready to accept connections tcp");

    // A signal shuts down at once, or, with save points configured, once
    // shard 0 has saved (see `snapshot::save_on_request`); a second signal
    // while that save runs exits without waiting, as Redis does.
    let mut saving = false;
    loop {
        std::thread::sleep(Duration::from_millis(50));
        if SIGNALLED.swap(false, Ordering::SeqCst) {
            let sig = match i32::try_from(SIGNAL_NAME.load(Ordering::SeqCst)).unwrap_or(0) {
                libc::SIGINT => "SIGINT",
                _ => "SIGTERM",
            };
            if saving {
                log::warn!("You insist... exiting now.");
                break;
            }
            log::warn!("Received {sig} scheduling shutdown...");
            if !snapshot::save_points_configured(&shared.config()) {
                break;
            }
            saving = true;
            shared.persistence.request_exit_save();
        }
        if shared.shutdown.load(Ordering::SeqCst) {
            break;
        }
        if saving && shared.persistence.exit_save_failed() {
            // The save failed: keep serving, as Redis does.
            saving = false;
        }
    }
    log::warn!("User requested shutdown...");
    if shared.aof.writers.load(Ordering::SeqCst) > 0 {
        log::info!("Calling fsync() on the AOF file.");
        crate::aof::close(&shared.aof, Duration::from_secs(10));
    }
    if !config.pidfile.is_empty() {
        let _ = std::fs::remove_file(&config.pidfile);
    }
    log::warn!("Shoal is now ready to exit, bye bye...");
    log::logger().flush();
    0
}

/// How a shard tells the main thread that its start-up ended: once, ready
/// or failed. Dropped without a word (a panic while loading unwinds through
/// it) it reports the failure itself; otherwise the main thread would wait
/// for it forever, the other shards' ends of the channel still open.
struct Ready {
    id: usize,
    tx: Option<std::sync::mpsc::Sender<Result<usize, String>>>,
}

impl Ready {
    fn new(id: usize, tx: std::sync::mpsc::Sender<Result<usize, String>>) -> Ready {
        Ready { id, tx: Some(tx) }
    }

    fn ok(mut self) {
        let id = self.id;
        self.send(Ok(id));
    }

    fn fail(mut self, why: String) {
        self.send(Err(why));
    }

    /// Report `r`, the first time only.
    fn send(&mut self, r: Result<usize, String>) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(r);
        }
    }
}

impl Drop for Ready {
    fn drop(&mut self) {
        let why = format!("shard {}: stopped during start-up", self.id);
        self.send(Err(why));
    }
}

async fn shard_main(
    id: usize,
    shared: Arc<Shared>,
    mesh: Option<MeshBuilder<Msg, glommio::channels::channel_mesh::Full>>,
    addrs: Vec<(SocketAddr, bool)>,
    (dump, logs, aof): (
        Option<Arc<snapshot::Dump>>,
        Option<Arc<crate::aof::load::Logs>>,
        Option<bool>,
    ),
    ready: std::sync::mpsc::Sender<Result<usize, String>>,
) {
    let ready = Ready::new(id, ready);
    let (senders, receivers) = match mesh {
        Some(m) => match m.join().await {
            Ok((s, r)) => (Some(s), Some(r)),
            Err(_) => {
                ready.fail(format!("shard {id}: could not join the channel mesh"));
                return;
            }
        },
        None => (None, None),
    };
    let config = shared.config();
    let seed = crate::clock::now_us() as u64 ^ ((id as u64 + 1) << 48);
    let shard = Rc::new(Shard {
        id,
        count: shared.shards,
        state: RefCell::new(ShardState::new(config, seed)),
        shared: shared.clone(),
        mesh: Mesh::new(senders),
        replies: Default::default(),
        scripting: Default::default(),
    });
    shard.state.borrow_mut().blocking.init(id, shared.shards);
    if let Some(r) = receivers {
        mesh::serve(shard.clone(), r);
    }
    if let Some(dump) = dump {
        if let Err(e) = snapshot::load_shard(&shard, &dump) {
            ready.fail(e);
            return;
        }
    }
    if let Some(logs) = logs {
        if let Err(e) = crate::aof::load::load_shard(&shard, &logs).await {
            ready.fail(e);
            return;
        }
    }
    if let Some(resume) = aof {
        if let Err(e) = crate::aof::start_shard(&shard, resume).await {
            ready.fail(e);
            return;
        }
    }
    // Bind once every shard has loaded; accept only after the -LOADING
    // responder has handed over (see `run` and `loading`).
    shared.loaded_shards.fetch_add(1, Ordering::SeqCst);
    while !shared.may_listen.load(Ordering::SeqCst) {
        glommio::timer::sleep(Duration::from_millis(1)).await;
    }
    let backlog = shared
        .config()
        .get("tcp-backlog")
        .and_then(|v| v.parse::<i32>().ok())
        .unwrap_or(511);
    let mut listeners = Vec::new();
    let taken = shared.switch.taken(id);
    for (addr, optional) in &addrs {
        if taken.contains(addr) {
            continue;
        }
        match listen(*addr, backlog) {
            Ok(l) => listeners.push(l),
            Err(e) if *optional => log::info!("Skipping optional bind address {addr}: {e}"),
            Err(e) => {
                let why = e.to_string();
                let why = why
                    .split(" (os error")
                    .next()
                    .unwrap_or_default()
                    .to_string();
                ready.fail(format!(
                    "Warning: Could not create server TCP listening socket {addr}: bind: {why}"
                ));
                return;
            }
        }
    }
    let backend = shared
        .config()
        .get("network-backend")
        .unwrap_or("auto")
        .to_string();
    let ring = match backend.as_str() {
        "glommio" => None,
        _ => match net::uring::NetRing::new() {
            Ok(r) => Some(r),
            Err(e) if backend == "auto" => {
                if id == 0 {
                    log::info!(
                        "io_uring network backend unavailable ({e}); using glommio's sockets"
                    );
                }
                None
            }
            Err(e) => {
                ready.fail(format!(
                    "network-backend uring: cannot set up the network ring: {e}"
                ));
                return;
            }
        },
    };
    if id == 0 {
        let name = if ring.is_some() {
            "io_uring (own ring per shard)"
        } else {
            "glommio sockets"
        };
        log::info!("Network backend: {name}");
    }
    ready.ok();
    background::start(shard.clone());
    if id == 0 {
        glommio::spawn_local(snapshot::save_on_request(shard.clone())).detach();
        glommio::spawn_local(bgsave::save_points(shard.clone())).detach();
    }
    // Connections queue on the bound listeners until the -LOADING responder
    // has stopped; then its connections come first (see `loading`).
    listeners.extend(loading::take_over(&shard, ring.as_ref()).await);
    if let Some(ring) = ring {
        for fd in listeners {
            ring.listen(fd);
        }
        ring.drive(shard).await;
        return;
    }
    let mut accepts = Vec::new();
    for fd in listeners {
        // SAFETY: `fd` is a bound, listening TCP socket we own; ownership
        // moves into the glommio listener, which closes it on drop.
        let l = unsafe { TcpListener::from_raw_fd(fd) };
        let shard = shard.clone();
        accepts.push(glommio::spawn_local(async move {
            loop {
                match l.accept().await {
                    Ok(stream) => {
                        let t = net::GlommioTransport::new(stream);
                        glommio::spawn_local(conn::serve(shard.clone(), t)).detach();
                    }
                    Err(e) => {
                        log::debug!("Accepting client connection: {e}");
                        glommio::timer::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }));
    }
    for a in accepts {
        a.await;
    }
}

/// A listening socket on `addr` shared by every executor: SO_REUSEPORT so
/// the kernel spreads connections over them, SO_REUSEADDR so a restart is
/// not refused because of connections left in TIME_WAIT (as Redis does),
/// IPV6_V6ONLY on IPv6 so `0.0.0.0` and `::` can both be bound.
fn listen(addr: SocketAddr, backlog: i32) -> std::io::Result<RawFd> {
    use socket2::{Domain, Protocol, Socket, Type};
    use std::os::fd::IntoRawFd;
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.bind(&addr.into())?;
    s.listen(backlog.max(1))?;
    Ok(s.into_raw_fd())
}

/// Where the server writes files (`dir`), as an absolute path.
pub fn working_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::Ready;

    /// A shard whose start-up panics still reports, so the start fails
    /// instead of waiting forever; a report is sent once.
    #[test]
    fn a_shard_that_panics_while_starting_reports_it() {
        let (tx, rx) = std::sync::mpsc::channel();
        let keep = tx.clone();
        let t = std::thread::spawn(move || {
            let _ready = Ready::new(3, tx);
            panic!("while loading");
        });
        assert!(t.join().is_err());
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(5)),
            Ok(Err("shard 3: stopped during start-up".to_string()))
        );
        Ready::new(1, keep.clone()).ok();
        Ready::new(2, keep).fail("bind".into());
        assert_eq!(rx.recv(), Ok(Ok(1)));
        assert_eq!(rx.recv(), Ok(Err("bind".to_string())));
        assert!(rx.try_recv().is_err());
    }
}
