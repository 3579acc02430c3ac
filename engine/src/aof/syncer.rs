//! A shard's sync thread: the fdatasyncs that must leave the shard's
//! executor free while they run.
//!
//! Why: with `appendfsync always` a shard syncs in its own thread
//! ([`super::writer`]), which is fastest for its own clients but blocks
//! the executor for the sync (~150–300 µs here). When the round holds a
//! part of a multi-shard transaction, the other shards need this executor
//! meanwhile: the transaction's settle and the next transactions' lock and
//! run hops would otherwise wait one sync each, and a pipeline of
//! cross-shard MSETs would advance one sync at a time.
//!
//! How: a plain thread per shard (started on first use; it inherits the
//! shard's CPU, where it mostly sleeps in the sync) takes a duplicate of
//! the file's descriptor, runs `fdatasync(2)` on it, and reports the
//! outcome through an eventfd that the writer reads through io_uring. The
//! sync is an ordinary system call of this process, so tools that watch
//! or delay fdatasync (strace, the ack tests) see it as they see the
//! inline ones. io_uring's own fsync was measured as fast, but runs in a
//! kernel worker no such tool sees.

use glommio::io::BufferedFile;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

/// One shard's sync thread and the eventfd it answers on.
pub struct Syncer {
    requests: Option<mpsc::Sender<OwnedFd>>,
    /// errno of the last sync (0: success), set before the eventfd is written.
    outcome: Arc<AtomicI32>,
    /// The eventfd, read through glommio.
    done: BufferedFile,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Syncer {
    /// Start shard `shard`'s sync thread.
    pub fn start(shard: usize) -> std::io::Result<Syncer> {
        // SAFETY: eventfd(2) has no memory preconditions; the result is checked.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let signal = unsafe { OwnedFd::from_raw_fd(raw) };
        let reader = signal.try_clone()?;
        // SAFETY: `reader` is an open descriptor whose ownership moves to the file.
        let done = unsafe { BufferedFile::from_raw_fd(into_raw(reader)) };
        let outcome = Arc::new(AtomicI32::new(0));
        let (requests, rx) = mpsc::channel::<OwnedFd>();
        let out = outcome.clone();
        let thread = std::thread::Builder::new()
            .name(format!("shoal-sync-{shard}"))
            .spawn(move || serve(&rx, &out, &signal))?;
        Ok(Syncer {
            requests: Some(requests),
            outcome,
            done,
            thread: Some(thread),
        })
    }

    /// fdatasync `fd` on the thread and wait for it without blocking the
    /// executor: the fdatasync's outcome (Err: the OS's text). The outer
    /// Err says the thread could not be used (no descriptor left to
    /// duplicate, the thread gone, the signal unreadable), with nothing
    /// known about the sync: the caller must drop this syncer (a signal
    /// may still be on its way) and sync by itself.
    pub async fn sync(&self, fd: RawFd) -> Result<Result<(), String>, String> {
        // SAFETY: `fd` is open (the caller's file outlives this call); the
        // duplicate is owned by the request and closed by the thread.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!("dup: {}", super::writer::os_text(&e)));
        }
        // SAFETY: `dup` is a fresh descriptor nobody else owns.
        let dup = unsafe { OwnedFd::from_raw_fd(dup) };
        let sent = self.requests.as_ref().is_some_and(|r| r.send(dup).is_ok());
        if !sent {
            return Err("the sync thread stopped".into());
        }
        if let Err(e) = self.done.read_at(0, 8).await {
            return Err(format!("waiting for the sync thread: {e}"));
        }
        let code = self.outcome.load(Ordering::Acquire);
        Ok(if code == 0 {
            Ok(())
        } else {
            let e = std::io::Error::from_raw_os_error(code);
            Err(super::writer::os_text(&e))
        })
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn into_raw(fd: OwnedFd) -> RawFd {
    std::os::fd::IntoRawFd::into_raw_fd(fd)
}

/// The thread: one fdatasync per request, each answered on `signal`.
fn serve(rx: &mpsc::Receiver<OwnedFd>, outcome: &AtomicI32, signal: &OwnedFd) {
    while let Ok(fd) = rx.recv() {
        // SAFETY: `fd` is an open descriptor owned by this request.
        let rc = unsafe { libc::fdatasync(fd.as_raw_fd()) };
        let code = if rc == 0 {
            0
        } else {
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO)
        };
        drop(fd);
        outcome.store(code, Ordering::Release);
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of a live u64 to our own eventfd.
        let _ = unsafe { libc::write(signal.as_raw_fd(), (&raw const one).cast(), 8) };
    }
}
