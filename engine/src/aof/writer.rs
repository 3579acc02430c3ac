//! One shard's log writer: a task on the shard's executor that moves what
//! the feed appended into the current incr file.
//!
//! Group commit (`appendfsync always`): the writer takes everything
//! appended so far, writes it, fdatasyncs, and only then publishes the new
//! durable offset, which releases the replies waiting on it. Whatever is
//! appended meanwhile is taken together by the next round, so one
//! fdatasync covers every write that queued behind it. `everysec` writes as
//! soon as bytes arrive and fdatasyncs (through io_uring, off the reply
//! path) at most once a second and a second after the last unsynced write;
//! `no` never syncs.
//!
//! How: the page-cache write (`pwrite`, microseconds) and, with `always`,
//! the fdatasync run in the shard's thread, as Redis runs them in its event
//! loop; io_uring punts both to worker threads that compete for the shard's
//! CPU, which measured twice as slow (see [`sync_now`]). The exception is a
//! round holding a part of a multi-shard transaction: other shards need
//! this executor's hops (settle, the next transactions' lock and run)
//! while the sync runs, so that fdatasync goes to the shard's sync thread
//! ([`super::syncer`]) and the executor stays free. Opening, renaming and
//! the other syncs go through glommio. Records land in zeros written
//! ahead of the log's end ([`super::prealloc`]), so the fdatasync has no
//! size or allocation change to commit; a retired file is trimmed to its
//! records.
//!
//! A failed write is logged, recorded on the feed (writes are then refused
//! with MISCONF and waiting replies fail) and retried every second from
//! where it stopped; success clears it. A failed fdatasync is final until a
//! restart (the feed is poisoned: the kernel may have dropped the pages).
//! A sync thread that cannot be used is no fdatasync failure: that round
//! syncs inline and the next one starts a new thread.

use super::feed::{Fsync, WriteError};
use super::prealloc::Prealloc;
use super::syncer::Syncer;
use crate::shard::Shard;
use glommio::io::BufferedFile;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::{Duration, Instant};

/// The file being appended to.
pub struct Target {
    /// The open file (shared with the fdatasyncs in flight).
    pub file: Rc<BufferedFile>,
    /// Where the next byte goes.
    pub pos: u64,
    /// The zeros written ahead of `pos`.
    room: Prealloc,
}

/// Open `path` for appending (created when missing).
pub async fn open(path: &std::path::Path) -> std::io::Result<Target> {
    let file = glommio::io::OpenOptions::new()
        .write(true)
        .create(true)
        .buffered_open(path)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let pos = file
        .file_size()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let file = Rc::new(file);
    let mut room = Prealloc::new(path, pos);
    // Zeros start to go ahead of the records before the first one.
    room.after_write(&file, pos);
    Ok(Target { file, pos, room })
}

/// Append `bytes` at the target's position, into the zeros written ahead
/// of it where there are some. On failure, the bytes not written come back
/// with the error.
async fn append(t: &mut Target, bytes: Vec<u8>) -> Result<(), (String, Vec<u8>)> {
    t.room.before_write(t.pos + bytes.len() as u64).await;
    write_all(t, bytes)?;
    t.room.after_write(&t.file, t.pos);
    Ok(())
}

/// Retire `t`: wait for its zeros, cut them off, close it.
async fn retire(mut t: Target) {
    t.room.settle().await;
    if let Err(e) = t.file.truncate(t.pos).await {
        log::warn!(
            "Can't trim the preallocated end of an AOF file: {}",
            strerror(e)
        );
    }
    if let Ok(f) = Rc::try_unwrap(t.file) {
        let _ = f.close().await;
    }
}

/// Write all of `bytes` at the target's position. On failure, the bytes
/// not written come back with the error.
fn write_all(t: &mut Target, bytes: Vec<u8>) -> Result<(), (String, Vec<u8>)> {
    let fd = t.file.as_raw_fd();
    let mut off = 0usize;
    while off < bytes.len() {
        let rest = bytes.get(off..).unwrap_or(&[]);
        // SAFETY: `rest` is a live buffer of `rest.len()` bytes; `fd` is open.
        let n =
            unsafe { libc::pwrite(fd, rest.as_ptr().cast(), rest.len(), (t.pos) as libc::off_t) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err((os_text(&e), bytes.get(off..).unwrap_or(&[]).to_vec()));
        }
        if n == 0 {
            return Err((
                "short write (no space left on device?)".into(),
                bytes.get(off..).unwrap_or(&[]).to_vec(),
            ));
        }
        off += n as usize;
        t.pos += n as u64;
    }
    Ok(())
}

pub(crate) fn os_text(e: &std::io::Error) -> String {
    let t = e.to_string();
    match t.find(" (os error") {
        Some(i) => t.get(..i).unwrap_or(&t).to_string(),
        None => t,
    }
}

/// The OS's text for an I/O error, as Redis prints `strerror(errno)`
/// ("No space left on device"), without glommio's decoration.
fn strerror(e: glommio::GlommioError<()>) -> String {
    let io: std::io::Error = match e {
        glommio::GlommioError::EnhancedIoError { source, .. } => source,
        other => other.into(),
    };
    match io.raw_os_error() {
        Some(code) => os_text(&std::io::Error::from_raw_os_error(code)),
        None => io.to_string(),
    }
}

enum Step {
    /// Bytes, the offset of their end, and whether they hold a part of a
    /// multi-shard transaction.
    Write(Vec<u8>, u64, bool),
    Rotate(Vec<u8>, u64, std::path::PathBuf),
    Switch,
    Idle,
}

fn next_step(shard: &Shard) -> Step {
    let mut st = shard.state.borrow_mut();
    let feed = &mut st.aof;
    if let Some(r) = feed.rotate.as_mut() {
        if !r.old_done {
            let pre = std::mem::take(&mut r.pre);
            return Step::Rotate(pre, r.at, r.next.clone());
        }
        if r.go {
            feed.rotate = None;
            return Step::Switch;
        }
        return Step::Idle;
    }
    if feed.has_pending() {
        let (b, end) = feed.take();
        return Step::Write(b, end, feed.take_tx_parts());
    }
    Step::Idle
}

fn fail(shard: &Shard, what: &str, e: &str) {
    let mut st = shard.state.borrow_mut();
    if st.aof.error.is_none() {
        log::warn!("Error {what} the AOF file: {e}");
        let g = &shard.shared.aof;
        g.failing.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut l) = g.last_error.lock() {
            *l = e.to_string();
        }
    }
    st.aof.set_error(Some(WriteError(e.to_string())));
}

fn recovered(shard: &Shard) {
    let mut st = shard.state.borrow_mut();
    if st.aof.error.is_some() && !st.aof.poisoned() {
        log::warn!("AOF write error looks solved. Shoal can write again.");
        shard.shared.aof.failing.fetch_sub(1, Ordering::SeqCst);
        st.aof.set_error(None);
    }
}

/// After a sync thread failed to start, how long rounds sync inline before
/// the next try.
const RETRY_SYNCER: Duration = Duration::from_secs(60);

/// How often an idle writer looks at the clock (everysec's sync, shutdown).
const TICK: Duration = Duration::from_millis(100);

/// Wake the writer every [`TICK`] until it stops: one timer for the
/// writer's life, not one per idle spell (arming and cancelling a timer
/// each time the writer caught up cost an io_uring submission each; with
/// `everysec` that was 4× the network's `io_uring_enter` calls).
async fn ticker(shard: Rc<Shard>, stopped: Rc<std::cell::Cell<bool>>) {
    while !stopped.get() {
        glommio::timer::sleep(TICK).await;
        shard.state.borrow_mut().aof.wake_writer();
    }
}

/// Wait until the feed has work or the ticker wakes the writer (any wake
/// ends the wait: the loop looks at the clock and at shutdown then).
async fn idle(shard: &Rc<Shard>) {
    let mut parked = false;
    std::future::poll_fn(|cx| {
        let mut st = shard.state.borrow_mut();
        let f = &mut st.aof;
        // While a rotation waits for the manifest (`go`), new bytes wait too.
        let ready = match f.rotate.as_ref() {
            Some(r) => !r.old_done || r.go,
            None => f.has_pending(),
        };
        if ready || parked {
            Poll::Ready(())
        } else {
            f.park_writer(cx.waker());
            parked = true;
            Poll::Pending
        }
    })
    .await;
}

/// Record how an fdatasync covering everything up to `end` went: `end` is
/// durable, or the failure poisons the feed (after a failed fsync the
/// kernel may have dropped the dirty pages, so no later fsync can vouch
/// for them; writes stay refused until a restart). Returns success.
fn synced(shard: &Shard, end: u64, r: Result<(), String>) -> bool {
    match r {
        Ok(()) => {
            shard.state.borrow_mut().aof.set_durable(end);
            true
        }
        Err(e) => {
            fail(shard, "fsyncing", &e);
            shard.state.borrow_mut().aof.poison();
            false
        }
    }
}

/// fdatasync through glommio (io_uring), off the reply path.
async fn sync(shard: &Rc<Shard>, t: &Target, end: u64) -> bool {
    synced(shard, end, t.file.fdatasync().await.map_err(strerror))
}

/// fdatasync in the shard's own thread (`appendfsync always`), as Redis
/// does in its event loop; false (the feed poisoned) when it fails.
///
/// Measured (docs/benchmarks/persistence.md): through io_uring, buffered
/// writes and fdatasync are punted to io-wq worker threads, which share the
/// shard's CPU and wait for it — 230 µs per 1 KB write and 590 µs per
/// fdatasync under load against 7 µs and 340 µs inline — so a round took
/// twice as long as Redis's.
fn sync_now(shard: &Rc<Shard>, t: &Target, end: u64) -> bool {
    // SAFETY: fdatasync on the open file's descriptor.
    let rc = unsafe { libc::fdatasync(t.file.as_raw_fd()) };
    let r = if rc == 0 {
        Ok(())
    } else {
        Err(os_text(&std::io::Error::last_os_error()))
    };
    synced(shard, end, r)
}

/// The writer loop (see the module doc); `target` is the incr file, or
/// None until the first rotation names one. Ends when the server stops,
/// after writing and syncing everything appended.
pub async fn run(shard: Rc<Shard>, mut target: Option<Target>) {
    let global = &shard.shared.aof;
    let mut pending_new: Option<Target> = None;
    let mut unsynced: Option<u64> = None;
    let mut last_sync = Instant::now();
    let stopped = Rc::new(std::cell::Cell::new(false));
    glommio::spawn_local(ticker(shard.clone(), stopped.clone())).detach();
    let mut syncer: Option<Syncer> = None;
    // When starting one last failed: rounds sync inline until RETRY_SYNCER
    // has passed.
    let mut syncer_failed: Option<Instant> = None;
    loop {
        let closing = global.closing.load(Ordering::SeqCst);
        let step = next_step(&shard);
        let fsync = shard.state.borrow().aof.fsync();
        match step {
            Step::Write(bytes, end, tx_parts) => {
                let Some(t) = target.as_mut() else {
                    // No file yet: keep the bytes until one is named.
                    shard.state.borrow_mut().aof.untake(bytes);
                    glommio::timer::sleep(Duration::from_millis(1)).await;
                    continue;
                };
                let n = bytes.len() as u64;
                if let Err((e, left)) = append(t, bytes).await {
                    shard.state.borrow_mut().aof.untake(left);
                    fail(&shard, "writing to", &e);
                    glommio::timer::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                global.add_incr_size(shard.id, n);
                match fsync {
                    // Another shard's transaction waits on this sync, and
                    // its next hops must not wait behind it: see the
                    // module doc.
                    Fsync::Always if tx_parts => {
                        let retry = syncer_failed.is_none_or(|at| at.elapsed() >= RETRY_SYNCER);
                        if syncer.is_none() && retry {
                            syncer = Syncer::start(shard.id)
                                .map_err(|e| log::warn!("Can't start a sync thread: {e}"))
                                .ok();
                            syncer_failed = syncer.is_none().then(Instant::now);
                        }
                        let outcome = match syncer.as_ref() {
                            Some(s) => s.sync(t.file.as_raw_fd()).await,
                            None => Err("none running".into()),
                        };
                        let ok = match outcome {
                            Ok(r) => synced(&shard, end, r),
                            Err(e) => {
                                if syncer.take().is_some() {
                                    log::warn!("Sync thread unusable ({e}); syncing inline");
                                }
                                sync_now(&shard, t, end)
                            }
                        };
                        if !ok {
                            glommio::timer::sleep(Duration::from_secs(1)).await;
                            continue;
                        }
                        last_sync = Instant::now();
                    }
                    Fsync::Always => {
                        if !sync_now(&shard, t, end) {
                            glommio::timer::sleep(Duration::from_secs(1)).await;
                            continue;
                        }
                        last_sync = Instant::now();
                    }
                    Fsync::Everysec => {
                        unsynced = Some(end);
                        if last_sync.elapsed() >= Duration::from_secs(1) {
                            if !sync(&shard, t, end).await {
                                continue;
                            }
                            unsynced = None;
                            last_sync = Instant::now();
                        }
                    }
                    Fsync::No => shard.state.borrow_mut().aof.set_durable(end),
                }
                recovered(&shard);
            }
            Step::Rotate(pre, at, next) => {
                let n = pre.len() as u64;
                if let Some(t) = target.as_mut() {
                    if let Err((e, left)) = append(t, pre).await {
                        if let Some(r) = shard.state.borrow_mut().aof.rotate.as_mut() {
                            r.pre = left;
                        }
                        fail(&shard, "writing to", &e);
                        glommio::timer::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                    global.add_incr_size(shard.id, n);
                    if !sync(&shard, t, at).await {
                        glommio::timer::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                }
                match open(&next).await {
                    Ok(t) => pending_new = Some(t),
                    Err(e) => {
                        fail(&shard, "opening", &format!("{}: {e}", next.display()));
                        glommio::timer::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                }
                unsynced = None;
                last_sync = Instant::now();
                if let Some(r) = shard.state.borrow_mut().aof.rotate.as_mut() {
                    r.old_done = true;
                }
            }
            Step::Switch => {
                if let Some(old) = target.take() {
                    retire(old).await;
                }
                target = pending_new.take();
                global.set_incr_size(shard.id, target.as_ref().map_or(0, |t| t.pos));
            }
            Step::Idle => {
                if closing {
                    if let (Some(t), Some(end)) = (target.as_ref(), unsynced) {
                        sync(&shard, t, end).await;
                    }
                    if let Some(t) = target.take() {
                        retire(t).await;
                    }
                    stopped.set(true);
                    global.closed.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                match (unsynced, target.as_ref()) {
                    (Some(end), Some(t)) if last_sync.elapsed() >= Duration::from_secs(1) => {
                        if sync(&shard, t, end).await {
                            unsynced = None;
                        }
                        last_sync = Instant::now();
                    }
                    _ => idle(&shard).await,
                }
            }
        }
    }
}
