//! RDB snapshots on disk: SAVE's file writing and the start-up load. The
//! format itself is [`crate::rdb::file`]; this module decides what runs
//! where and does the I/O.
//!
//! SAVE (also SHUTDOWN SAVE), coordinated by the connection's shard:
//! 1. lock every shard whole in read mode, in shard order (the transaction
//!    layer), so no write is in flight anywhere: the snapshot is one point
//!    in time across shards and a multi-shard write is in it whole or not;
//! 2. every shard serializes its own databases at once, remote ones in
//!    parallel with the coordinator's ([`crate::rdb::file::write_db_entries`]);
//! 3. release the locks (the copy is in memory), then write a temp file in
//!    `dir` through glommio (io_uring), fdatasync it, rename it over
//!    `dbfilename`, fsync the directory.
//!
//! IMPORTANT: the rename comes after the temp file's fdatasync and the
//! directory fsync after the rename, so a crash leaves either the old file
//! or the complete new one, never a torn file under the real name.
//!
//! Start-up: the main thread reads the file and checks its header and
//! checksum ([`read_dump`]); then every shard parses the same bytes on its
//! own executor and keeps the keys it owns ([`load_shard`]), stepping over
//! the others' values without building them. Parsing is parallel and no
//! value crosses threads; the price is that every shard reads every key.
//!
//! Writes are held up during step 2 only (reads go on); the whole snapshot
//! is held in memory until written, so SAVE needs about the dataset's
//! serialized size in extra memory. Incremental fork-less BGSAVE is issue 5's
//! next slice.

use crate::command::spec::CmdId;
use crate::config::Config;
use crate::keyspace::{Entry, LruClock, Value};
use crate::rdb::file::{self, DbPart, Loaded};
use crate::shard::locks::Mode;
use crate::shard::stats::CmdStats;
use crate::shard::tx::Session;
use crate::shard::{owner_of, Shard, ShardState};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Process-wide persistence facts (INFO persistence, LASTSAVE).
#[derive(Debug, Default)]
pub struct Status {
    /// Unix seconds of the last successful save (start time until then).
    pub last_save: AtomicI64,
    /// Successful saves since start (`rdb_saves`).
    pub saves: AtomicU64,
    /// The last save failed (`rdb_last_bgsave_status:err`).
    pub last_failed: AtomicBool,
    /// Keys loaded at start-up.
    pub loaded_keys: AtomicU64,
    /// Keys in the file skipped at start-up because they had expired.
    pub loaded_expired: AtomicU64,
    /// Makes temp file names unique when SAVEs overlap.
    temp_seq: AtomicU64,
    /// 0 idle; 1 a signal asked for the final save; 2 it failed.
    exit_save: AtomicU64,
    /// [`write_calls`] of every shard when the last successful save cut its
    /// snapshot (`rdb_changes_since_last_save` counts from there).
    pub writes_at_save: AtomicU64,
    /// A BGSAVE runs.
    pub bg_running: AtomicBool,
    /// Unix ms the running BGSAVE started.
    pub bg_started_ms: AtomicI64,
    /// Seconds the last BGSAVE took (-1: none yet).
    pub last_bg_secs: AtomicI64,
    /// Bytes the last BGSAVE kept aside for keys changed during its walk.
    pub last_cow: AtomicU64,
    /// The running BGSAVE's largest kept-aside bytes seen on a shard.
    pub cow_peak: AtomicU64,
    /// Unix seconds of the last save-point attempt.
    pub last_try: AtomicI64,
    /// BGSAVE SCHEDULE asked while a rewrite ran.
    pub bg_scheduled: AtomicBool,
    /// Writes are refused: the last save failed, save points are set and
    /// `stop-writes-on-bgsave-error` is yes.
    pub refuse_writes: AtomicBool,
}

impl Status {
    /// Fresh status: "saved" at `start_secs`, as Redis considers the data
    /// saved when it starts.
    pub fn new(start_secs: i64) -> Self {
        Status {
            last_save: AtomicI64::new(start_secs),
            last_bg_secs: AtomicI64::new(-1),
            ..Status::default()
        }
    }
}

impl Status {
    /// Ask shard 0 for the final save before exiting (SIGTERM, SIGINT).
    pub fn request_exit_save(&self) {
        self.exit_save.store(EXIT_SAVE_ASKED, Ordering::SeqCst);
    }

    /// True once, after a requested final save failed.
    pub fn exit_save_failed(&self) -> bool {
        self.exit_save
            .compare_exchange(EXIT_SAVE_FAILED, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }
}

const EXIT_SAVE_ASKED: u64 = 1;
const EXIT_SAVE_FAILED: u64 = 2;

/// Shard 0's watch for [`Status::request_exit_save`]: save, then set the
/// shutdown flag (or report the failure and keep serving, as Redis does).
/// Checks ten times a second; never returns.
pub async fn save_on_request(shard: Rc<Shard>) {
    let status = &shard.shared.persistence;
    loop {
        glommio::timer::sleep(std::time::Duration::from_millis(100)).await;
        if status.exit_save.load(Ordering::SeqCst) != EXIT_SAVE_ASKED {
            continue;
        }
        log::info!("Saving the final RDB snapshot before exiting.");
        if save(&shard, 0).await.is_ok() {
            shard.shared.shutdown.store(true, Ordering::SeqCst);
        } else {
            log::warn!("Error trying to save the DB, can't exit.");
            status.exit_save.store(EXIT_SAVE_FAILED, Ordering::SeqCst);
        }
    }
}

/// The snapshot file under the configured name, relative to `dir` (the
/// process's working directory, which `dir` changes).
pub fn dump_path(config: &Config) -> PathBuf {
    let name = config.get("dbfilename").unwrap_or("dump.rdb");
    super::working_dir().join(name)
}

/// True when `save` names save points (SHUTDOWN without SAVE/NOSAVE saves then).
pub fn save_points_configured(config: &Config) -> bool {
    config.get("save").is_some_and(|s| !s.trim().is_empty())
}

/// Write commands that succeeded, from commandstats (by command id): what
/// `rdb_changes_since_last_save` counts. Redis counts changed keys and
/// elements instead, so a write that changed nothing counts here, and
/// CONFIG RESETSTAT restarts the count.
pub fn write_calls(cmds: &[CmdStats]) -> u64 {
    let t = crate::command::table::table();
    cmds.iter()
        .enumerate()
        .filter(|(id, _)| {
            CmdId::try_from(*id)
                .is_ok_and(|id| t.get(id).spec.has(crate::command::spec::flags::WRITE))
        })
        .map(|(_, c)| c.calls.saturating_sub(c.failed))
        .sum()
}

/// One shard's databases, serialized, and its [`write_calls`].
fn serialize_shard(st: &ShardState, now: i64, compress: bool) -> (Vec<DbPart>, u64) {
    let parts = st
        .dbs
        .iter()
        .map(|db| file::write_db_entries(db, now, compress))
        .collect();
    (parts, write_calls(&st.stats.cmds))
}

/// What a successful save wrote.
#[derive(Clone, Copy, Debug)]
pub struct Saved {
    /// Keys written.
    pub keys: u64,
    /// File size.
    pub bytes: u64,
    /// [`write_calls`] of every shard at the snapshot's cut.
    pub writes: u64,
}

/// Save every database of every shard to `dir/dbfilename` (see the module
/// doc). `owner` is the client running EXEC, 0 otherwise. Failures are
/// logged and returned as a sentence; the status is updated either way.
/// Runs on `home`, awaiting other shards and the disk.
pub async fn save(home: &Rc<Shard>, owner: u64) -> Result<Saved, String> {
    let config = home.state.borrow().config.clone();
    let status = &home.shared.persistence;
    if status.bg_running.load(Ordering::SeqCst) {
        return Err("Background save already in progress".into());
    }
    let r = save_inner(home, owner, &config).await;
    record(home, &r, "DB saved on disk");
    r
}

/// Update the status after a save (`done` is logged on success).
pub fn record(home: &Shard, r: &Result<Saved, String>, done: &str) {
    let status = &home.shared.persistence;
    match r {
        Ok(saved) => {
            status.writes_at_save.store(saved.writes, Ordering::Relaxed);
            status
                .last_save
                .store(crate::clock::now_ms() / 1000, Ordering::Relaxed);
            status.saves.fetch_add(1, Ordering::Relaxed);
            status.last_failed.store(false, Ordering::Relaxed);
            log::info!("{done}");
        }
        Err(e) => {
            status.last_failed.store(true, Ordering::Relaxed);
            log::warn!("{e}");
        }
    }
    update_refusal(home);
}

/// Recompute whether writes are refused after a failed save (Redis's
/// `stop-writes-on-bgsave-error` with save points configured).
pub fn update_refusal(home: &Shard) {
    let config = home.shared.config();
    let status = &home.shared.persistence;
    let refuse = status.last_failed.load(Ordering::Relaxed)
        && config.get("stop-writes-on-bgsave-error") != Some("no")
        && save_points_configured(&config);
    status.refuse_writes.store(refuse, Ordering::Relaxed);
}

/// The snapshot's path, its directory, and a fresh temp file name there
/// (`tag` tells SAVE's from BGSAVE's).
pub fn paths(home: &Shard, config: &Config, tag: &str) -> (PathBuf, PathBuf, PathBuf) {
    let target = dump_path(config);
    let dir = target
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(super::working_dir);
    let seq = home
        .shared
        .persistence
        .temp_seq
        .fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(
        "temp-{tag}-{}-{}-{seq}.rdb",
        std::process::id(),
        home.id
    ));
    (target, dir, temp)
}

/// The message for a temp file that could not be written.
pub fn open_failed(temp: &Path, dir: &Path, e: &str) -> String {
    format!(
        "Failed opening or writing the temp RDB file {} (in server root dir {}) for saving: {e}",
        temp.display(),
        dir.display()
    )
}

/// Rename the synced temp file over the snapshot and fsync the directory.
pub async fn install(temp: &Path, target: &Path, dir: &Path) -> Result<(), String> {
    if let Err(e) = glommio::io::rename(temp, target).await {
        let _ = glommio::io::remove(temp).await;
        return Err(format!(
            "Error moving temp DB file {} on the final destination {} (in server root dir {}): {e}",
            temp.display(),
            target.display(),
            dir.display()
        ));
    }
    let synced = async {
        let d = glommio::io::Directory::open(dir).await?;
        d.sync().await?;
        d.close().await
    }
    .await;
    synced.map_err(|e| {
        format!(
            "Failed to fsync the directory {} after saving the DB: {e}",
            dir.display()
        )
    })
}

async fn save_inner(home: &Rc<Shard>, owner: u64, config: &Config) -> Result<Saved, String> {
    let compress = config.get("rdbcompression") != Some("no");
    let checksum = config.get("rdbchecksum") != Some("no");
    let session = Session::lock_all(home, owner, Mode::Read)
        .await
        .map_err(|_| "Failed saving the DB: a shard is unavailable".to_string())?;
    let now = crate::clock::now_ms();
    // Remote shards first, so they serialize while this one does.
    let mut waiting = Vec::new();
    for s in (0..home.count).filter(|&s| s != home.id) {
        let answer = home
            .request_start::<(Vec<DbPart>, u64), _>(s, move |sh, reply| {
                let parts = serialize_shard(&sh.state.borrow(), now, compress);
                reply.send(sh, parts);
            })
            .await;
        waiting.push(answer);
    }
    let (mine, mut writes) = serialize_shard(&home.state.borrow(), now, compress);
    let mut shards = vec![mine];
    let mut lost = false;
    for a in waiting {
        match a {
            Ok(a) => match a.await {
                Ok((parts, w)) => {
                    shards.push(parts);
                    writes += w;
                }
                Err(_) => lost = true,
            },
            Err(_) => lost = true,
        }
    }
    let functions = home.scripting.functions.borrow().codes();
    let _ = session.release().await;
    if lost {
        return Err("Failed saving the DB: a shard is unavailable".into());
    }

    let header = header(now, &functions, compress);
    // Chunks in file order: header, then per database its start and every
    // shard's part.
    let mut chunks = vec![header];
    let mut keys = 0;
    let databases = shards.first().map(Vec::len).unwrap_or(0);
    let mut per_shard: Vec<std::vec::IntoIter<DbPart>> =
        shards.into_iter().map(Vec::into_iter).collect();
    for db in 0..databases {
        let parts: Vec<DbPart> = per_shard.iter_mut().filter_map(Iterator::next).collect();
        let (k, e) = parts
            .iter()
            .fold((0, 0), |(k, e), p| (k + p.keys, e + p.expires));
        if k == 0 {
            continue;
        }
        keys += k;
        let mut start = Vec::new();
        file::write_db_start(&mut start, db, k, e);
        chunks.push(start);
        chunks.extend(parts.into_iter().map(|p| p.bytes));
    }
    let mut eof = Vec::new();
    file::write_eof(&mut eof);
    chunks.push(eof);
    let mut sum = file::Checksum::new();
    for c in &chunks {
        sum.update(c);
    }
    chunks.push(sum.trailer(checksum).to_vec());

    let (target, dir, temp) = paths(home, config, "save");
    let bytes = match write_file(&temp, chunks).await {
        Ok(n) => n,
        Err(e) => {
            let _ = glommio::io::remove(&temp).await;
            return Err(open_failed(&temp, &dir, &e.to_string()));
        }
    };
    install(&temp, &target, &dir).await?;
    Ok(Saved {
        keys,
        bytes,
        writes,
    })
}

/// An RDB header (Redis's aux fields, the function libraries) for a
/// snapshot taken at Unix ms `now`.
pub fn header(now: i64, functions: &[bytes::Bytes], compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    file::write_header(
        &mut out,
        &file::Header {
            redis_ver: super::REDIS_VERSION,
            ctime: now / 1000,
            used_mem: crate::alloc::used_memory(),
            functions,
        },
        compress,
    );
    out
}

/// Write `chunks` to a new file at `path` and fdatasync it; returns its size.
pub async fn write_file(path: &Path, chunks: Vec<Vec<u8>>) -> glommio::Result<u64, ()> {
    /// glommio takes each buffer by value; slices of this size are copied
    /// out so a short write (a full disk) can go on from where it stopped.
    const PIECE: usize = 4 << 20;
    let f = glommio::io::BufferedFile::create(path).await?;
    let mut pos = 0u64;
    for chunk in chunks {
        let mut off = 0;
        while off < chunk.len() {
            let end = chunk.len().min(off + PIECE);
            let piece = chunk.get(off..end).unwrap_or_default().to_vec();
            let n = match f.write_at(piece, pos).await {
                Ok(0) => Err(std::io::Error::new(
                    std::io::ErrorKind::WriteZero,
                    "No space left on device",
                )
                .into()),
                other => other,
            };
            let n = match n {
                Ok(n) => n,
                Err(e) => {
                    let _ = f.close().await;
                    return Err(e);
                }
            };
            off += n;
            pos += n as u64;
        }
    }
    // IMPORTANT: durable before the rename makes it the snapshot.
    f.fdatasync().await?;
    f.close().await?;
    Ok(pos)
}

/// A snapshot file read at start-up, checked, shared by every shard.
pub struct Dump {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Read and check `dir/dbfilename` if it exists (before the shards start).
/// An unreadable or damaged file is an error naming the file: the server
/// must not start without the data it was asked to load.
pub fn read_dump(config: &Config) -> Result<Option<Dump>, String> {
    let path = dump_path(config);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "Fatal error loading the DB from {}: {e}. Exiting.",
                path.display()
            ))
        }
    };
    file::check(&bytes).map_err(|e| {
        format!(
            "Fatal error loading the DB from {}: {e}. Exiting.",
            path.display()
        )
    })?;
    Ok(Some(Dump { path, bytes }))
}

struct ShardSink<'a> {
    shard: &'a Shard,
    st: &'a mut ShardState,
    now: i64,
    /// Shard 0 logs the file's origin, like Redis does.
    talk: bool,
}

impl file::Sink for ShardSink<'_> {
    fn owns(&self, key: &[u8]) -> bool {
        owner_of(key, self.shard.count) == self.shard.id
    }

    fn entry(
        &mut self,
        db: usize,
        key: &[u8],
        value: Value,
        expire_at: i64,
        idle: Option<i64>,
    ) -> Result<(), String> {
        let d = self.st.db(db);
        if d.peek(key).is_some() {
            return Err(format!(
                "Duplicate key '{}' found in RDB file",
                String::from_utf8_lossy(key)
            ));
        }
        let clock = match idle {
            Some(secs) => LruClock::idle_since(self.now, secs),
            None => LruClock::at(self.now),
        };
        d.insert_entry(Entry::new(key, value, expire_at, clock));
        Ok(())
    }

    fn function(&mut self, code: &[u8]) -> Result<(), String> {
        let vm = self
            .shard
            .scripting
            .function_vm()
            .map_err(|e| e.to_string())?;
        self.shard
            .scripting
            .functions
            .borrow_mut()
            .load(&vm, &bytes::Bytes::copy_from_slice(code), false)
            .map(|_| ())
    }

    fn aux(&mut self, name: &[u8], value: &[u8]) {
        if !self.talk {
            return;
        }
        let v = String::from_utf8_lossy(value);
        match name {
            b"redis-ver" => log::info!("Loading RDB produced by version {v}"),
            b"ctime" => {
                if let Ok(t) = v.parse::<i64>() {
                    log::info!("RDB age {} seconds", (self.now / 1000 - t).max(0));
                }
            }
            b"used-mem" => {
                if let Ok(m) = v.parse::<f64>() {
                    log::info!("RDB memory usage when created {:.2} Mb", m / 1048576.0);
                }
            }
            _ => {}
        }
    }
}

/// Load the keys of `dump` that `shard` owns into its databases (before the
/// shard serves anyone). Counts go into the shared status.
pub fn load_shard(shard: &Shard, dump: &Dump) -> Result<Loaded, String> {
    let now = crate::clock::now_ms();
    let mut st = shard.state.borrow_mut();
    let (databases, limits) = (st.dbs.len(), st.config.limits);
    let mut sink = ShardSink {
        shard,
        st: &mut st,
        now,
        talk: shard.id == 0,
    };
    let loaded = file::parse(&dump.bytes, now, databases, &limits, &mut sink).map_err(|e| {
        format!(
            "Fatal error loading the DB from {}: {e}. Exiting.",
            dump.path.display()
        )
    })?;
    // Nobody could subscribe yet: drop the "new key" events loading raised.
    for d in &mut st.dbs {
        d.events.take();
    }
    let status = &shard.shared.persistence;
    status.loaded_keys.fetch_add(loaded.keys, Ordering::Relaxed);
    status
        .loaded_expired
        .fetch_add(loaded.expired, Ordering::Relaxed);
    Ok(loaded)
}
