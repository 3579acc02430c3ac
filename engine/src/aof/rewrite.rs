//! BGREWRITEAOF: compact every shard's log into a new base.
//!
//! Coordinated by the shard that runs the command (or shard 0 at start-up
//! and on `CONFIG SET appendonly yes`):
//! 1. Lock every shard whole in read mode (no write in flight anywhere, so
//!    no transaction is half-logged) and, on each shard at once, cut its
//!    log — later records go to a new incr file — and start a point-in-time
//!    image of its data ([`crate::keyspace::snap`], as BGSAVE does).
//!    Release: the shards serve again.
//! 2. Each writer finishes the old incr file up to the cut and syncs it.
//! 3. Persist the manifest with the new incr files added; only then do the
//!    writers write into them (so a crash never loses records that no
//!    manifest names).
//! 4. Every shard writes its image as its new base, a slice at a time in
//!    its low-share snapshot task queue while it serves (temp file,
//!    fdatasync, rename); then persist the manifest naming the new bases
//!    and new incrs only, fsync the directory, delete the old files.
//!
//! A crash before step 4's manifest leaves the old bases with every incr
//! file, a complete log; after it, the new bases with the new incrs.
//! A BGSAVE and a rewrite do not run together (one image per database):
//! a rewrite waits for a running BGSAVE (`aof_rewrite_scheduled:1`).

use super::manifest::{self, BaseKind, Manifest};
use crate::rdb::file;
use crate::shard::locks::Mode;
use crate::shard::tx::Session;
use crate::shard::{Shard, ShardState};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The reply when a rewrite is already running.
pub const IN_PROGRESS: &str = "ERR Background append only file rewriting already in progress";

/// Start a rewrite in the background (BGREWRITEAOF).
pub fn spawn(home: Rc<Shard>) {
    glommio::spawn_local(async move {
        let _ = run(&home, 0, false).await;
    })
    .detach();
}

/// Write this shard's running image to `path` as a base in `kind`
/// (temp file, slices in the snapshot queue, fdatasync, rename); returns
/// its size.
async fn write_base(
    sh: &Rc<Shard>,
    path: &Path,
    kind: BaseKind,
    functions: &[bytes::Bytes],
) -> std::io::Result<u64> {
    let io = |e: glommio::GlommioError<()>| std::io::Error::other(e.to_string());
    let compress = sh.state.borrow().config.get("rdbcompression") != Some("no");
    let temp = path.with_extension("tmp");
    let f = glommio::io::BufferedFile::create(&temp).await.map_err(io)?;
    let mut pos = 0u64;
    let mut sum = file::Checksum::new();
    let head = match kind {
        BaseKind::Rdb => {
            crate::server::snapshot::header(crate::clock::now_ms(), functions, compress)
        }
        BaseKind::Aof => {
            let mut out = Vec::new();
            for code in functions {
                super::feed::encode(&mut out, [&b"FUNCTION"[..], b"LOAD", code].into_iter());
            }
            out
        }
    };
    let mut chunk = head;
    loop {
        if !chunk.is_empty() {
            sum.update(&chunk);
            let len = chunk.len();
            if f.write_at(chunk, pos).await.map_err(io)? != len {
                return Err(std::io::Error::other(
                    "short write (no space left on device?)",
                ));
            }
            pos += len as u64;
        }
        let (bytes, _, done) = match kind {
            BaseKind::Rdb => {
                let mut emit = crate::keyspace::snap::rdb_entry(compress);
                crate::server::bgsave::slice_with(sh, &mut emit, file::write_select)
            }
            BaseKind::Aof => {
                let mut emit = |out: &mut Vec<u8>, e: &crate::keyspace::Entry| {
                    super::state::key_record(out, e.key_bytes(), Some(e));
                    true
                };
                crate::server::bgsave::slice_with(sh, &mut emit, select_record)
            }
        };
        chunk = bytes;
        if done {
            break;
        }
        glommio::yield_if_needed().await;
    }
    if kind == BaseKind::Rdb {
        file::write_eof(&mut chunk);
        sum.update(&chunk);
        chunk.extend_from_slice(&sum.trailer(true));
    }
    let len = chunk.len();
    if len > 0 && f.write_at(chunk, pos).await.map_err(io)? != len {
        return Err(std::io::Error::other(
            "short write (no space left on device?)",
        ));
    }
    pos += len as u64;
    f.fdatasync().await.map_err(io)?;
    f.close().await.map_err(io)?;
    glommio::io::rename(&temp, path).await.map_err(io)?;
    Ok(pos)
}

fn select_record(out: &mut Vec<u8>, db: usize) {
    let n = db.to_string();
    super::feed::encode(out, [&b"SELECT"[..], n.as_bytes()].into_iter());
}

/// Run a rewrite (see the module doc). With `enable`, the shards' feeds are
/// switched on at the cut (a first start, CONFIG SET appendonly yes).
pub async fn run(home: &Rc<Shard>, owner: u64, enable: bool) -> Result<(), String> {
    let g = &home.shared.aof;
    if g.rewriting.swap(true, Ordering::SeqCst) {
        return Err(IN_PROGRESS.into());
    }
    // One image per database at a time: wait for a running BGSAVE.
    let status = &home.shared.persistence;
    while status.bg_running.load(Ordering::SeqCst) {
        g.scheduled.store(true, Ordering::SeqCst);
        glommio::timer::sleep(Duration::from_millis(10)).await;
    }
    g.scheduled.store(false, Ordering::SeqCst);
    let started = std::time::Instant::now();
    g.rewrite_started
        .store(crate::clock::now_ms(), Ordering::Relaxed);
    let r = run_inner(home, owner, enable).await;
    if r.is_err() {
        for s in 0..home.count {
            let _ = home
                .call(s, |sh| {
                    for d in &mut sh.state.borrow_mut().dbs {
                        d.snapshot_abort();
                    }
                })
                .await;
        }
    }
    g.rewriting.store(false, Ordering::SeqCst);
    g.last_rewrite_secs
        .store(started.elapsed().as_secs() as i64, Ordering::Relaxed);
    match &r {
        Ok(()) => {
            g.rewrites.fetch_add(1, Ordering::Relaxed);
            g.last_rewrite_failed.store(false, Ordering::Relaxed);
            g.consecutive_failures.store(0, Ordering::Relaxed);
            g.rewrite_base.store(g.current_size(), Ordering::Relaxed);
            log::info!("Background AOF rewrite finished successfully");
        }
        Err(e) => {
            g.last_rewrite_failed.store(true, Ordering::Relaxed);
            g.consecutive_failures.fetch_add(1, Ordering::Relaxed);
            log::warn!("Background AOF rewrite failed: {e}");
        }
    }
    r
}

async fn run_inner(home: &Rc<Shard>, owner: u64, enable: bool) -> Result<(), String> {
    let g = &home.shared.aof;
    let config = home.state.borrow().config.clone();
    let kind = if config.get("aof-use-rdb-preamble") == Some("no") {
        BaseKind::Aof
    } else {
        BaseKind::Rdb
    };
    let fsync = super::Fsync::parse(config.get("appendfsync").unwrap_or("everysec"));
    let old = g.manifest.lock().map(|m| m.clone()).unwrap_or(None);
    let seq = old
        .as_ref()
        .map(|m| m.last_incr().max(m.base.0) + 1)
        .unwrap_or(1);
    let dir = g.dir.clone();
    let prefix = g.prefix.clone();
    if old.is_none() {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("Can't create the AOF directory {}: {e}", dir.display()))?;
    }
    let unavailable = || "a shard is unavailable".to_string();
    // BGREWRITEAOF with the AOF off writes bases and empty incr files only.
    let live = enable || home.state.borrow().aof.on();

    // 1. The cut, everywhere at one point in time.
    let session = Session::lock_all(home, owner, Mode::Read)
        .await
        .map_err(|_| unavailable())?;
    let functions = home.scripting.functions.borrow().codes();
    let now = crate::clock::now_ms();
    for s in 0..home.count {
        let next = dir.join(Manifest::incr_name(&prefix, seq, s));
        home.call(s, move |sh| {
            let mut st = sh.state.borrow_mut();
            if enable {
                st.enable_aof(true, fsync);
            }
            if live {
                st.aof.cut(next);
            }
            for (i, d) in st.dbs.iter_mut().enumerate() {
                d.snapshot_begin(i, now);
            }
        })
        .await
        .map_err(|_| unavailable())?;
    }
    let _ = session.release().await;

    // 2. The old incr files end at the cut, synced.
    if live {
        wait_all(home, |st| st.aof.rotate.as_ref().is_none_or(|r| r.old_done)).await?;
    } else {
        for s in 0..home.count {
            let path = dir.join(Manifest::incr_name(&prefix, seq, s));
            crate::server::snapshot::write_file(&path, Vec::new())
                .await
                .map_err(|e| format!("Can't create {}: {e}", path.display()))?;
        }
    }

    // 3-4. Manifests and bases.
    let next = Manifest {
        shards: home.count,
        base: (seq, kind),
        incrs: vec![seq],
        foreign: None,
    };
    let bases: Vec<String> = (0..home.count)
        .map(|s| next.base_name(&prefix, s))
        .collect();
    match &old {
        // Switching the AOF on makes a fresh log: the old files lack what
        // was written meanwhile.
        Some(m) if m.shards == home.count && m.foreign.is_none() && !enable && live => {
            let mut mid = m.clone();
            mid.incrs.push(seq);
            manifest::persist(&dir, &prefix, &mid)
                .await
                .map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
            set_manifest(home, mid);
            go(home).await?;
            write_bases(home, &dir, &bases, kind, functions).await?;
        }
        _ => {
            write_bases(home, &dir, &bases, kind, functions).await?;
        }
    }
    manifest::persist(&dir, &prefix, &next)
        .await
        .map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
    if live {
        set_manifest(home, next.clone());
        // Records before the cut are in the new bases, on disk now.
        go(home).await?;
    }
    if let Some(m) = old {
        let keep: Vec<String> = (0..next.shards)
            .flat_map(|s| next.files(&prefix, s))
            .map(|(n, _)| n)
            .collect();
        let history = m
            .foreign
            .as_ref()
            .map(|f| f.history.clone())
            .unwrap_or_default();
        let gone = (0..m.shards)
            .flat_map(|s| m.files(&prefix, s))
            .map(|(n, _)| n)
            .chain(history);
        for name in gone.filter(|n| !keep.contains(n)) {
            let _ = glommio::io::remove(dir.join(name)).await;
        }
    }
    Ok(())
}

fn set_manifest(home: &Shard, m: Manifest) {
    if let Ok(mut g) = home.shared.aof.manifest.lock() {
        *g = Some(m);
    }
}

/// Every shard writes its base (in parallel, each on its own executor).
async fn write_bases(
    home: &Rc<Shard>,
    dir: &Path,
    names: &[String],
    kind: BaseKind,
    functions: Vec<bytes::Bytes>,
) -> Result<(), String> {
    let mut waiting = Vec::new();
    for (s, name) in names.iter().enumerate() {
        let path = dir.join(name);
        let f = functions.clone();
        let answer = home
            .request_start::<Result<u64, String>, _>(s, move |sh, reply| {
                let sh = sh.clone();
                crate::server::bgsave::in_snapshot_queue(async move {
                    let r = write_base(&sh, &path, kind, &f)
                        .await
                        .map_err(|e| format!("Can't write the AOF base {}: {e}", path.display()));
                    reply.send(&sh, r);
                });
            })
            .await
            .map_err(|_| "a shard is unavailable".to_string())?;
        waiting.push(answer);
    }
    let mut total = 0;
    let mut failed = None;
    for a in waiting {
        match a.await {
            Ok(Ok(n)) => total += n,
            Ok(Err(e)) => failed = Some(e),
            Err(_) => failed = Some("a shard is unavailable".into()),
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    home.shared.aof.base_size.store(total, Ordering::Relaxed);
    Ok(())
}

/// Let every writer write into its new incr file; the bytes before the
/// cut are durable (in the old incr file or in the new base).
async fn go(home: &Rc<Shard>) -> Result<(), String> {
    for s in 0..home.count {
        home.call(s, |sh| {
            let mut st = sh.state.borrow_mut();
            if let Some(r) = st.aof.rotate.as_mut() {
                r.go = true;
                let at = r.at;
                st.aof.set_durable(at);
                st.aof.wake_writer();
            }
        })
        .await
        .map_err(|_| "a shard is unavailable".to_string())?;
    }
    Ok(())
}

/// Wait (polling, bounded to a minute) until `done` holds on every shard.
async fn wait_all(home: &Rc<Shard>, done: fn(&ShardState) -> bool) -> Result<(), String> {
    for _ in 0..60_000 {
        let mut all = true;
        for s in 0..home.count {
            let ok = home
                .call(s, move |sh| done(&sh.state.borrow()))
                .await
                .map_err(|_| "a shard is unavailable".to_string())?;
            all &= ok;
        }
        if all {
            return Ok(());
        }
        glommio::timer::sleep(Duration::from_millis(1)).await;
    }
    Err("the AOF writers did not finish the old files in time".into())
}
