//! Zero-filled space ahead of the end of the incr file being appended to.
//!
//! Why: appending grows the file, so every fdatasync also has to commit
//! the new size and block allocation to the ext4/xfs journal, a second
//! round of device writes and flushes. Records written into blocks that
//! already exist (allocated and written, with the file's length past
//! them) change no metadata, and their fdatasync writes only the data.
//! Measured on this project's VM: 4 B–2 KB write + fdatasync ~250 µs
//! appending, ~190 µs over zeros; `appendfsync always` SET 1.10× → 1.24×
//! Redis (docs/benchmarks.md).
//!
//! How: when less than half a [`CHUNK`] of zeros is left ahead of the
//! log's end, a background task writes the next chunk of zeros past it
//! (through io_uring, in pieces, each piece fdatasynced so no record sync
//! has to carry more than one piece of zeros with it) and reports the new
//! end. The writer never writes into a region whose zeros are still being
//! written: a write that would reach it waits for the extension first.
//! Unwritten extents (`fallocate`) were measured slower than written
//! zeros because the first write to them is itself a metadata change.
//!
//! The file therefore ends in zeros while it is appended to. A clean
//! shutdown and the retirement of a file at a rewrite truncate it to its
//! records; after a crash, start-up strips the zero tail
//! ([`super::load`]). A record never starts with a zero byte, so the
//! boundary is unambiguous.

use glommio::io::BufferedFile;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Zeros written ahead of the log's end per extension.
pub const CHUNK: u64 = 8 << 20;
/// One write (and fdatasync) of zeros.
const PIECE: usize = 256 << 10;
/// After a failed extension (disk full, file size limit), the next try.
const RETRY: Duration = Duration::from_secs(5);
/// While extensions keep failing, the warning is repeated this often.
const WARN_EVERY: Duration = Duration::from_secs(60);

type Growing = glommio::Task<Result<u64, String>>;

/// One incr file's zero-filled space.
pub struct Prealloc {
    path: PathBuf,
    /// End of the zeros known to be written (the log's end when none are).
    zeroed: u64,
    /// An extension in flight: how far its zeros are durable (nothing at
    /// or past that may be written yet), and its task.
    growing: Option<(Rc<Cell<u64>>, Growing)>,
    /// No new extension before this instant (after a failure).
    retry_at: Option<Instant>,
    /// When a failure was last logged.
    warned_at: Option<Instant>,
}

impl Prealloc {
    /// For `path`, whose records end at `end` (its length when opened).
    pub fn new(path: &Path, end: u64) -> Prealloc {
        Prealloc {
            path: path.to_path_buf(),
            zeroed: end,
            growing: None,
            retry_at: None,
            warned_at: None,
        }
    }

    /// Before writing up to `end`: collect a finished extension; if one
    /// runs, wait until its zeros are written past `end` (only a file's
    /// first writes ever wait, for the first piece).
    pub async fn before_write(&mut self, end: u64) {
        loop {
            let Some((done, task)) = self.growing.as_mut() else {
                return;
            };
            if let Some(r) = futures_lite::future::poll_once(&mut *task).await {
                self.growing = None;
                self.finished(r);
                return;
            }
            if end <= done.get() {
                return;
            }
            glommio::timer::sleep(Duration::from_micros(50)).await;
        }
    }

    /// After writing up to `end`: start an extension when less than half a
    /// chunk of zeros is left past it.
    pub fn after_write(&mut self, file: &Rc<BufferedFile>, end: u64) {
        if self.growing.is_some() || self.zeroed.saturating_sub(end) >= CHUNK / 2 {
            return;
        }
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        // Whole pages only, so no page holding records is written here.
        let from = self.zeroed.max(end).next_multiple_of(4096);
        let done = Rc::new(Cell::new(from));
        let task = glommio::spawn_local(zero_fill(file.clone(), done.clone(), from + CHUNK));
        self.growing = Some((done, task));
    }

    /// Wait for an extension in flight (before truncating or closing).
    pub async fn settle(&mut self) {
        if let Some((_, task)) = self.growing.take() {
            let r = task.await;
            self.finished(r);
        }
    }

    fn finished(&mut self, r: Result<u64, String>) {
        match r {
            Ok(end) => {
                self.zeroed = end;
                self.retry_at = None;
                self.warned_at = None;
            }
            Err(e) => {
                // Not an AOF error: records still fit in what is left, and
                // a write that does not gets its own error.
                let now = Instant::now();
                if self
                    .warned_at
                    .is_none_or(|t| now.duration_since(t) >= WARN_EVERY)
                {
                    log::warn!(
                        "Can't preallocate space for the AOF file {}: {e}",
                        self.path.display()
                    );
                    self.warned_at = Some(now);
                }
                self.retry_at = Some(now + RETRY);
            }
        }
    }
}

/// Write zeros from `done` up to `to` in `file`, a piece at a time, each
/// piece made durable before `done` moves past it (so its blocks are
/// allocated and written, and a record fdatasync meanwhile flushes at most
/// one piece of zeros).
async fn zero_fill(file: Rc<BufferedFile>, done: Rc<Cell<u64>>, to: u64) -> Result<u64, String> {
    let mut at = done.get();
    while at < to {
        let n = PIECE.min((to - at) as usize);
        let wrote = file
            .write_at(vec![0u8; n], at)
            .await
            .map_err(|e| e.to_string())?;
        if wrote == 0 {
            return Err("short write".into());
        }
        file.fdatasync().await.map_err(|e| e.to_string())?;
        at += wrote as u64;
        done.set(at);
    }
    Ok(to)
}

/// The length of `bytes` without its trailing zeros: the end of the
/// records of an incr file that was being appended to.
pub fn records_end(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::records_end;

    #[test]
    fn records_end_strips_only_the_zero_tail() {
        assert_eq!(records_end(b""), 0);
        assert_eq!(records_end(&[0, 0, 0]), 0);
        assert_eq!(records_end(b"*1\r\n$4\r\nPING\r\n\0\0\0"), 14);
        // Zeros inside a value are not the tail.
        assert_eq!(records_end(b"$2\r\n\0\0\r\n\0"), 8);
        assert_eq!(records_end(b"*1\r\n"), 4);
    }
}
