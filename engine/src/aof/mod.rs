//! The append-only file: one log per shard, written through io_uring.
//!
//! | module | owns |
//! |---|---|
//! | this file | [`Global`] (process-wide AOF facts: paths, manifest, INFO counters, transaction ids) |
//! | [`feed`] | a shard's feed: which records each write appends, units and multi-shard transaction blocks, group-commit offsets |
//! | [`writer`] | a shard's writer task: write, fdatasync, publish the durable offset |
//! | [`syncer`] | a shard's sync thread, for the fdatasyncs other shards wait on |
//! | [`prealloc`] | zeros written ahead of the log's end, so a sync commits no metadata |
//! | [`manifest`] | which files make up the logs; atomic replacement |
//! | [`load`] | start-up: read the logs, cut incomplete transactions and torn tails, replay |
//! | [`rewrite`] | BGREWRITEAOF: new bases from live data, the manifest switch |
//! | [`state`] | records that recreate a key from its current value |
//!
//! Layout: `<dir>/<appenddirname>/` holds, per shard `i`, a base
//! (`<appendfilename>.<seq>.s<i>.base.rdb`, an RDB image; `.aof` with
//! commands when `aof-use-rdb-preamble no`) and incr files
//! (`<appendfilename>.<seq>.s<i>.incr.aof`) of RESP commands as Redis writes
//! them, plus one manifest naming them all. Each shard appends and syncs
//! its own file on its own executor; nothing is shared on the write path.
//!
//! IMPORTANT: a reply to a write leaves only once the feed says its record
//! may be acknowledged ([`wait_ack`]): with `appendfsync always` that is
//! after an fdatasync covered it (and, for records behind a multi-shard
//! transaction, after every part of it is on disk everywhere).

pub mod feed;
pub mod load;
pub mod manifest;
pub mod prealloc;
pub mod rewrite;
pub mod state;
pub mod syncer;
pub mod writer;

pub use feed::{Feed, Fsync};

use crate::shard::Shard;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::Poll;

/// Process-wide AOF facts, in [`crate::server::Shared`].
#[derive(Default)]
pub struct Global {
    /// The AOF directory (`dir`/`appenddirname`), fixed at start.
    pub dir: PathBuf,
    /// `appendfilename`, the files' prefix.
    pub prefix: String,
    /// The current manifest (None while the AOF is off).
    pub manifest: Mutex<Option<manifest::Manifest>>,
    /// Next multi-shard transaction id.
    next_tx: AtomicU64,
    /// A rewrite is running.
    pub rewriting: AtomicBool,
    /// BGREWRITEAOF asked while a rewrite (or save) ran.
    pub scheduled: AtomicBool,
    /// The last rewrite failed.
    pub last_rewrite_failed: AtomicBool,
    /// Seconds the last rewrite took (-1: none yet).
    pub last_rewrite_secs: AtomicI64,
    /// Unix ms the running rewrite started.
    pub rewrite_started: AtomicI64,
    /// Rewrites done.
    pub rewrites: AtomicU64,
    /// Bytes of the bases, all shards.
    pub base_size: AtomicU64,
    /// Bytes of every file right after the last rewrite (or load): the
    /// base auto-aof-rewrite-percentage measures growth against.
    pub rewrite_base: AtomicU64,
    /// Rewrites that failed in a row.
    pub consecutive_failures: AtomicU64,
    /// Bytes of each shard's incr files.
    incr_sizes: Mutex<Vec<u64>>,
    /// Set at shutdown: writers write and sync everything, then stop.
    pub closing: AtomicBool,
    /// Writers that stopped after closing.
    pub closed: AtomicUsize,
    /// Writers running.
    pub writers: AtomicUsize,
    /// Shards done loading at start-up.
    pub loaded: AtomicUsize,
    /// Start-up's first rewrite is over (the others may serve).
    pub started: AtomicBool,
    /// Keys loaded from the AOF at start-up, all shards.
    pub loaded_keys: AtomicU64,
    /// Shards whose log cannot be written right now (MISCONF while > 0).
    pub failing: AtomicUsize,
    /// The last write error's text.
    pub last_error: Mutex<String>,
}

impl Global {
    /// Facts for an AOF in `dir` with files named `prefix`.
    pub fn new(dir: PathBuf, prefix: String) -> Global {
        Global {
            dir,
            prefix,
            last_rewrite_secs: AtomicI64::new(-1),
            ..Global::default()
        }
    }

    /// Transaction ids continue above `id` (the highest in the logs read),
    /// and above the start time in microseconds, so ids never repeat in a
    /// log across restarts.
    pub fn ids_after(&self, id: u64) {
        let floor = id.max(crate::clock::now_us() as u64);
        self.next_tx.fetch_max(floor, Ordering::Relaxed);
    }

    /// A fresh transaction id (never 0).
    pub fn next_tx(&self) -> u64 {
        self.next_tx.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Shard `shard` appended `n` bytes to its incr file.
    pub fn add_incr_size(&self, shard: usize, n: u64) {
        if let Ok(mut v) = self.incr_sizes.lock() {
            if v.len() <= shard {
                v.resize(shard + 1, 0);
            }
            if let Some(s) = v.get_mut(shard) {
                *s += n;
            }
        }
    }

    /// Shard `shard`'s incr files now hold `n` bytes.
    pub fn set_incr_size(&self, shard: usize, n: u64) {
        if let Ok(mut v) = self.incr_sizes.lock() {
            if v.len() <= shard {
                v.resize(shard + 1, 0);
            }
            if let Some(s) = v.get_mut(shard) {
                *s = n;
            }
        }
    }

    /// Bytes of every base and incr file (`aof_current_size`).
    pub fn current_size(&self) -> u64 {
        let incr: u64 = self.incr_sizes.lock().map(|v| v.iter().sum()).unwrap_or(0);
        self.base_size.load(Ordering::Relaxed) + incr
    }
}

/// Wait until `reached(feed)` holds on this shard; Err when the log cannot
/// be written meanwhile.
async fn wait_for(
    shard: &Rc<Shard>,
    reached: impl Fn(&Feed) -> bool,
) -> Result<(), feed::WriteError> {
    std::future::poll_fn(|cx| {
        let mut st = shard.state.borrow_mut();
        if reached(&st.aof) {
            return Poll::Ready(Ok(()));
        }
        if let Some(e) = st.aof.error.clone() {
            return Poll::Ready(Err(e));
        }
        st.aof.park(cx.waker());
        Poll::Pending
    })
    .await
}

/// Wait until this shard may acknowledge records ending at `lsn`. Err when
/// the log cannot be written (the reply must not claim success).
pub async fn wait_ack(shard: &Rc<Shard>, lsn: u64) -> Result<(), feed::WriteError> {
    wait_for(shard, |f| f.ackable() >= lsn).await
}

/// With `appendfsync always`, wait until everything this shard has logged
/// so far may be acknowledged (the records of a write done here for a
/// client of another shard, or served to one later). Err when it cannot
/// be made durable.
pub async fn ack_logged(shard: &Rc<Shard>) -> Result<(), feed::WriteError> {
    let lsn = {
        let st = shard.state.borrow();
        if !st.aof.acks_wait() {
            return Ok(());
        }
        st.aof.lsn()
    };
    wait_ack(shard, lsn).await
}

/// Wait until this shard's log is synced up to `lsn` whatever the fsync
/// policy (WAITAOF), or the AOF is switched off.
pub async fn wait_synced(shard: &Rc<Shard>, lsn: u64) -> Result<(), feed::WriteError> {
    wait_for(shard, |f| f.synced_to(lsn)).await
}

/// Wait until this shard's log is on disk up to `lsn` (a transaction part).
pub async fn wait_durable(shard: &Rc<Shard>, lsn: u64) -> Result<(), feed::WriteError> {
    wait_for(shard, |f| !f.acks_wait() || f.durable() >= lsn).await
}

/// Wait until this shard's log is on disk up to `lsn`, or no reply waits
/// for the disk any more, through write errors (the writer retries them;
/// after a failed fdatasync this never ends).
pub async fn wait_on_disk(shard: &Rc<Shard>, lsn: u64) {
    std::future::poll_fn(|cx| {
        let mut st = shard.state.borrow_mut();
        if !st.aof.acks_wait() || st.aof.durable() >= lsn {
            return Poll::Ready(());
        }
        st.aof.park(cx.waker());
        Poll::Pending
    })
    .await
}

/// The MISCONF error for writes while the log cannot be written.
pub fn misconf(e: &feed::WriteError) -> String {
    format!("MISCONF Errors writing to the AOF file: {}", e.0)
}

/// The MISCONF error with the last write error's text.
pub fn misconf_now(g: &Global) -> String {
    let text = g.last_error.lock().map(|e| e.clone()).unwrap_or_default();
    misconf(&feed::WriteError(text))
}

/// The reply for a write whose record could not be made durable.
pub fn failed_reply(shard: &Shard, proto: resp::Proto) -> Vec<u8> {
    let msg = misconf_now(&shard.shared.aof);
    crate::command::ctx::encode(proto, |w| w.error(msg.as_bytes()))
}

/// Start the AOF on a shard whose data is loaded: switch its feed on,
/// start its writer — appending to the last incr file when `resume` (the
/// manifest's logs were loaded with the same shard count), else with no
/// file until shard 0's initial rewrite (run here once every shard is
/// loaded) writes the first bases and names new incr files.
pub async fn start_shard(shard: &Rc<Shard>, resume: bool) -> Result<(), String> {
    let g = &shard.shared.aof;
    let fsync = Fsync::parse(
        shard
            .state
            .borrow()
            .config
            .get("appendfsync")
            .unwrap_or("everysec"),
    );
    shard.state.borrow_mut().enable_aof(true, fsync);
    let current = g.manifest.lock().map(|m| m.clone()).unwrap_or(None);
    let target = match (resume, current) {
        (true, Some(m)) => {
            let path = g.dir.join(manifest::Manifest::incr_name(
                &g.prefix,
                m.last_incr(),
                shard.id,
            ));
            let t = writer::open(&path)
                .await
                .map_err(|e| format!("Can't open the append-only file {}: {e}", path.display()))?;
            g.set_incr_size(shard.id, t.pos);
            Some(t)
        }
        _ => None,
    };
    shard.state.borrow_mut().aof.writer_started = true;
    glommio::spawn_local(writer::run(shard.clone(), target)).detach();
    g.writers.fetch_add(1, Ordering::SeqCst);
    g.loaded.fetch_add(1, Ordering::SeqCst);
    // Like Redis, no client is served before the first base and manifest
    // exist: shard 0 writes them once every shard is loaded, the others
    // wait for it (serving the rewrite's messages meanwhile).
    if !resume {
        if shard.id == 0 {
            while g.loaded.load(Ordering::SeqCst) < shard.count {
                glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
            }
            let r = rewrite::run(shard, 0, false).await;
            g.started.store(true, Ordering::SeqCst);
            r?;
        } else {
            while !g.started.load(Ordering::SeqCst) {
                glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
    }
    if shard.id == 0 {
        g.rewrite_base.store(g.current_size(), Ordering::Relaxed);
        glommio::spawn_local(auto_rewrite(shard.clone())).detach();
    }
    Ok(())
}

/// At shutdown: let every writer write and sync what it holds, waiting at
/// most `limit`.
pub fn close(g: &Global, limit: std::time::Duration) {
    g.closing.store(true, Ordering::SeqCst);
    let until = std::time::Instant::now() + limit;
    while g.closed.load(Ordering::SeqCst) < g.writers.load(Ordering::SeqCst)
        && std::time::Instant::now() < until
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// CONFIG SET appendonly: on — start a writer on every shard and run a
/// rewrite that switches the feeds on at its cut (in the background, as
/// Redis does); off — let every shard's writer write what it holds, then
/// stop logging.
pub async fn switch(home: &Rc<Shard>, on: bool) {
    let g = &home.shared.aof;
    if on {
        for s in 0..home.count {
            let _ = home
                .call(s, |sh| {
                    if !sh.state.borrow().aof.writer_started {
                        sh.state.borrow_mut().aof.writer_started = true;
                        sh.shared.aof.writers.fetch_add(1, Ordering::SeqCst);
                        glommio::spawn_local(writer::run(sh.clone(), None)).detach();
                    }
                })
                .await;
        }
        let home = home.clone();
        glommio::spawn_local(async move {
            if rewrite::run(&home, 0, true).await.is_ok() && home.id == 0 {
                auto_rewrite(home).await;
            }
        })
        .detach();
        return;
    }
    for s in 0..home.count {
        let _ = home
            .call_async(s, |sh| async move {
                for _ in 0..10_000 {
                    let busy = {
                        let st = sh.state.borrow();
                        st.aof.has_pending() || st.aof.rotate.is_some()
                    };
                    if !busy {
                        break;
                    }
                    glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
                }
                sh.state.borrow_mut().enable_aof(false, Fsync::Everysec);
            })
            .await;
    }
    if let Ok(mut m) = g.manifest.lock() {
        *m = None;
    }
    log::info!("Background append only file logging stopped (appendonly no)");
}

/// Shard 0's watch for `auto-aof-rewrite-percentage`/`-min-size`: once a
/// second, rewrite when the logs grew past the minimum and by the
/// percentage over their size after the last rewrite. Ends when the AOF is
/// switched off.
pub async fn auto_rewrite(shard: Rc<Shard>) {
    let g = &shard.shared.aof;
    loop {
        glommio::timer::sleep(std::time::Duration::from_secs(1)).await;
        let (on, pct, min) = {
            let st = shard.state.borrow();
            let c = &st.config;
            (
                st.aof.on(),
                c.get("auto-aof-rewrite-percentage")
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(100),
                c.get("auto-aof-rewrite-min-size")
                    .and_then(crate::config::directives::parse_memory)
                    .map_or(64 << 20, |v| v.max(0) as u64),
            )
        };
        if !on {
            return;
        }
        if pct == 0 || g.rewriting.load(Ordering::SeqCst) {
            continue;
        }
        let size = g.current_size();
        let base = g.rewrite_base.load(Ordering::Relaxed).max(1);
        if size < min || (size.saturating_sub(base)) * 100 / base < pct {
            continue;
        }
        log::info!(
            "Starting automatic rewriting of AOF on {}% growth",
            size.saturating_sub(base) * 100 / base
        );
        let _ = rewrite::run(&shard, 0, false).await;
    }
}
