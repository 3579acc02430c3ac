//! BGSAVE without fork: every shard writes its keyspace as it was at one
//! instant, a slice at a time, while it keeps serving.
//!
//! 1. The cut: lock every shard whole in read mode (no write in flight, so
//!    a multi-shard write is in the image whole or not at all) and start
//!    an image of each database there ([`crate::keyspace::snap`]: held
//!    table, copy-on-write of keys changed before the walker reaches
//!    them). The locks go at once; the shards serve writes again.
//! 2. The coordinator (the shard that runs BGSAVE) asks every shard for a
//!    slice at a time; each slice runs in the shard's low-share snapshot
//!    task queue, so client commands keep most of the CPU. Slices from all
//!    shards go into one temp file through io_uring, each starting with
//!    its database's SELECTDB, with a running CRC-64.
//! 3. EOF and checksum, fdatasync, rename over `dbfilename`, directory
//!    fsync — as SAVE.
//!
//! Memory: the slices in flight plus the values changed during the walk
//! (reported as `rdb_last_cow_size`), not the whole dataset as SAVE's
//! serialize-then-write needs.

use super::snapshot::{self, Saved};
use crate::rdb::file;
use crate::shard::locks::Mode;
use crate::shard::tx::Session;
use crate::shard::{Shard, ShardId};
use glommio::{Latency, Shares, TaskQueueHandle};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Buckets per slice.
const SLICE_BUCKETS: usize = 2048;
/// A slice stops growing past this many bytes.
const SLICE_BYTES: usize = 1 << 20;

thread_local! {
    static QUEUE: Cell<Option<TaskQueueHandle>> = const { Cell::new(None) };
}

/// This shard's low-share task queue for snapshot slices.
fn queue() -> TaskQueueHandle {
    QUEUE.with(|q| match q.get() {
        Some(h) => h,
        None => {
            let h = glommio::executor().create_task_queue(
                Shares::Static(25),
                Latency::NotImportant,
                "snapshot",
            );
            q.set(Some(h));
            h
        }
    })
}

/// One slice of this shard's images: the bytes `emit` wrote (each
/// database's run preceded by `select`), entries, true when done.
pub fn slice_with(
    sh: &Shard,
    emit: crate::keyspace::snap::Emit<'_>,
    select: fn(&mut Vec<u8>, usize),
) -> (Vec<u8>, u64, bool) {
    let mut st = sh.state.borrow_mut();
    let mut out = Vec::new();
    let mut n = 0;
    let mut body = Vec::new();
    for d in st.dbs.iter_mut() {
        if !d.snapshot_running() {
            continue;
        }
        body.clear();
        let Some((index, written, _)) = d.snapshot_step(SLICE_BUCKETS, &mut body, &mut *emit)
        else {
            continue;
        };
        if written > 0 {
            select(&mut out, index);
            out.extend_from_slice(&body);
            n += written;
        }
        if out.len() >= SLICE_BYTES {
            break;
        }
    }
    let done = !st.dbs.iter().any(|d| d.snapshot_running());
    let kept: usize = st.dbs.iter().map(|d| d.snapshot_kept_bytes()).sum();
    sh.shared
        .persistence
        .cow_peak
        .fetch_max(kept as u64, Ordering::Relaxed);
    (out, n, done)
}

fn slice(sh: &Shard, compress: bool) -> (Vec<u8>, u64, bool) {
    let mut emit = crate::keyspace::snap::rdb_entry(compress);
    slice_with(sh, &mut emit, file::write_select)
}

/// Run `f` as a task in this shard's low-share snapshot queue.
pub fn in_snapshot_queue(f: impl std::future::Future<Output = ()> + 'static) {
    if let Ok(t) = glommio::spawn_local_into(f, queue()) {
        t.detach();
    }
}

fn abort_all(home: &Rc<Shard>) {
    home.post_others(|sh| {
        for d in &mut sh.state.borrow_mut().dbs {
            d.snapshot_abort();
        }
    });
    for d in &mut home.state.borrow_mut().dbs {
        d.snapshot_abort();
    }
}

/// BGSAVE's reply when one runs already.
pub const IN_PROGRESS: &str = "ERR Background save already in progress";

/// Start a BGSAVE in the background on `home`; with `after_rewrite`, once
/// the running AOF rewrite is done (BGSAVE SCHEDULE).
pub fn spawn(home: Rc<Shard>, after_rewrite: bool) {
    glommio::spawn_local(async move {
        if after_rewrite {
            let status = &home.shared.persistence;
            status.bg_scheduled.store(true, Ordering::SeqCst);
            while home.shared.aof.rewriting.load(Ordering::SeqCst) {
                glommio::timer::sleep(Duration::from_millis(10)).await;
            }
            status.bg_scheduled.store(false, Ordering::SeqCst);
        }
        let _ = bgsave(&home, 0).await;
    })
    .detach();
}

/// Run a BGSAVE (see the module doc), updating the shared status.
pub async fn bgsave(home: &Rc<Shard>, owner: u64) -> Result<Saved, String> {
    let cut = begin(home, owner).await?;
    finish(home, cut).await
}

/// Take a BGSAVE's cut and leave the writing to a background task; Ok once
/// the cut is taken, so nothing written after this returns is in the file
/// (Redis forks before it answers BGSAVE).
pub async fn start(home: &Rc<Shard>, owner: u64) -> Result<(), String> {
    let cut = begin(home, owner).await?;
    let home = home.clone();
    glommio::spawn_local(async move {
        let _ = finish(&home, cut).await;
    })
    .detach();
    Ok(())
}

/// What the cut captured.
struct Cut {
    now: i64,
    writes: u64,
    functions: Vec<bytes::Bytes>,
    started: std::time::Instant,
}

/// Claim the BGSAVE slot and take the cut (step 1).
async fn begin(home: &Rc<Shard>, owner: u64) -> Result<Cut, String> {
    let status = &home.shared.persistence;
    if status.bg_running.swap(true, Ordering::SeqCst) {
        return Err("Background save already in progress".into());
    }
    // One image per database at a time: an AOF rewrite takes them too.
    if home.shared.aof.rewriting.load(Ordering::SeqCst) {
        status.bg_running.store(false, Ordering::SeqCst);
        return Err("Background save refused: an AOF rewrite is in progress".into());
    }
    log::info!("Background saving started");
    status
        .bg_started_ms
        .store(crate::clock::now_ms(), Ordering::Relaxed);
    let started = std::time::Instant::now();
    match cut(home, owner).await {
        Ok((now, writes, functions)) => Ok(Cut {
            now,
            writes,
            functions,
            started,
        }),
        Err(e) => {
            abort_all(home);
            snapshot::record(home, &Err(e.clone()), "");
            status.bg_running.store(false, Ordering::SeqCst);
            Err(e)
        }
    }
}

/// Write the image (steps 2 and 3) and record the outcome.
async fn finish(home: &Rc<Shard>, cut: Cut) -> Result<Saved, String> {
    let status = &home.shared.persistence;
    let started = cut.started;
    let r = run(home, cut).await;
    if r.is_err() {
        abort_all(home);
    }
    status
        .last_bg_secs
        .store(started.elapsed().as_secs() as i64, Ordering::Relaxed);
    snapshot::record(home, &r, "Background saving terminated with success");
    status.bg_running.store(false, Ordering::SeqCst);
    r
}

/// Step 1: every shard read-locked at once, every database's image begun.
async fn cut(home: &Rc<Shard>, owner: u64) -> Result<(i64, u64, Vec<bytes::Bytes>), String> {
    let unavailable = || "Background saving failed: a shard is unavailable".to_string();
    let session = Session::lock_all(home, owner, Mode::Read)
        .await
        .map_err(|_| unavailable())?;
    let now = crate::clock::now_ms();
    let mut writes = 0;
    for s in 0..home.count {
        let w = home
            .call(s, move |sh| {
                let mut st = sh.state.borrow_mut();
                for (i, d) in st.dbs.iter_mut().enumerate() {
                    d.snapshot_begin(i, now);
                }
                snapshot::write_calls(&st.stats.cmds)
            })
            .await;
        match w {
            Ok(w) => writes += w,
            Err(_) => {
                let _ = session.release().await;
                return Err(unavailable());
            }
        }
    }
    let functions = home.scripting.functions.borrow().codes();
    let _ = session.release().await;
    Ok((now, writes, functions))
}

async fn run(home: &Rc<Shard>, cut: Cut) -> Result<Saved, String> {
    let config = home.state.borrow().config.clone();
    let compress = config.get("rdbcompression") != Some("no");
    let checksum = config.get("rdbchecksum") != Some("no");
    let unavailable = || "Background saving failed: a shard is unavailable".to_string();
    let Cut {
        now,
        writes,
        functions,
        ..
    } = cut;

    // 2. Slices into the temp file.
    let (target, dir, temp) = snapshot::paths(home, &config, "bg");
    let io = |e: glommio::GlommioError<()>| e.to_string();
    let f = glommio::io::BufferedFile::create(&temp)
        .await
        .map_err(|e| snapshot::open_failed(&temp, &dir, &io(e)))?;
    let mut sum = file::Checksum::new();
    let mut pos = 0u64;
    let header = snapshot::header(now, &functions, compress);
    let result: Result<u64, String> = async {
        let mut keys = 0u64;
        let mut put = async |bytes: Vec<u8>, pos: &mut u64| -> Result<(), String> {
            if bytes.is_empty() {
                return Ok(());
            }
            sum.update(&bytes);
            let len = bytes.len();
            let n = f.write_at(bytes, *pos).await.map_err(io)?;
            if n != len {
                return Err("No space left on device".into());
            }
            *pos += n as u64;
            Ok(())
        };
        put(header, &mut pos).await?;
        let mut active: Vec<ShardId> = (0..home.count).collect();
        while !active.is_empty() {
            let mut waiting = Vec::new();
            for &s in &active {
                let answer = home
                    .request_start::<(Vec<u8>, u64, bool), _>(s, move |sh, reply| {
                        let sh2 = sh.clone();
                        in_snapshot_queue(async move {
                            let r = slice(&sh2, compress);
                            reply.send(&sh2, r);
                        });
                    })
                    .await
                    .map_err(|_| unavailable())?;
                waiting.push((s, answer));
            }
            let mut next = Vec::new();
            for (s, a) in waiting {
                let (bytes, n, done) = a.await.map_err(|_| unavailable())?;
                keys += n;
                put(bytes, &mut pos).await?;
                if !done {
                    next.push(s);
                }
            }
            active = next;
        }
        let mut eof = Vec::new();
        file::write_eof(&mut eof);
        put(eof, &mut pos).await?;
        Ok(keys)
    }
    .await;
    let keys = match result {
        Ok(k) => k,
        Err(e) => {
            let _ = f.close().await;
            let _ = glommio::io::remove(&temp).await;
            return Err(snapshot::open_failed(&temp, &dir, &e));
        }
    };
    let trailer = sum.trailer(checksum).to_vec();
    let tail = async {
        let n = trailer.len();
        if f.write_at(trailer, pos).await? != n {
            return Err(std::io::Error::other("No space left on device").into());
        }
        pos += n as u64;
        // IMPORTANT: durable before the rename makes it the snapshot.
        f.fdatasync().await?;
        f.close().await
    }
    .await;
    if let Err(e) = tail {
        let _ = glommio::io::remove(&temp).await;
        return Err(snapshot::open_failed(&temp, &dir, &io(e)));
    }
    snapshot::install(&temp, &target, &dir).await?;
    let cow = kept_peak(home);
    home.shared
        .persistence
        .last_cow
        .store(cow, Ordering::Relaxed);
    Ok(Saved {
        keys,
        bytes: pos,
        writes,
    })
}

fn kept_peak(home: &Shard) -> u64 {
    home.shared.persistence.cow_peak.swap(0, Ordering::Relaxed)
}

/// Shard 0's watch for save points (`save <seconds> <changes> ...`): once a
/// second, start a BGSAVE when some point's time has passed since the last
/// save with at least its changes made; after a failure, wait 5 seconds
/// before trying again (as Redis does). Never returns.
pub async fn save_points(shard: Rc<Shard>) {
    let status = &shard.shared.persistence;
    loop {
        glommio::timer::sleep(Duration::from_secs(1)).await;
        let points = parse_points(shard.state.borrow().config.get("save").unwrap_or(""));
        if points.is_empty() || status.bg_running.load(Ordering::SeqCst) {
            continue;
        }
        let now = crate::clock::now_ms() / 1000;
        let since = now - status.last_save.load(Ordering::Relaxed);
        if status.last_failed.load(Ordering::Relaxed)
            && now - status.last_try.load(Ordering::Relaxed) < 5
        {
            continue;
        }
        let counts = shard
            .broadcast(|sh| snapshot::write_calls(&sh.state.borrow().stats.cmds))
            .await;
        let changes = counts
            .iter()
            .sum::<u64>()
            .saturating_sub(status.writes_at_save.load(Ordering::Relaxed));
        let Some((secs, ch)) = points
            .iter()
            .find(|&&(secs, ch)| changes >= ch && since >= secs as i64)
        else {
            continue;
        };
        log::info!("{ch} changes in {secs} seconds. Saving...");
        status.last_try.store(now, Ordering::Relaxed);
        let _ = bgsave(&shard, 0).await;
    }
}

/// `save`'s (seconds, changes) pairs.
pub fn parse_points(s: &str) -> Vec<(u64, u64)> {
    let w: Vec<u64> = s
        .split_ascii_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    w.chunks_exact(2)
        .filter_map(|p| Some((*p.first()?, *p.get(1)?)))
        .collect()
}
