//! Start-up from the AOF: read every shard's files, decide how much of
//! each to replay, replay it.
//!
//! 1. [`prepare`] (main thread, before the shards start): read the
//!    manifest and files, split each shard's incr stream into records and
//!    blocks (`MULTI`…`EXEC`, with the `#TX:<id>:<shards>` annotation for a
//!    multi-shard transaction's part).
//! 2. The cut: a torn record at the end is cut off; so is a `MULTI` never
//!    closed by `EXEC` (Redis's "Revert incomplete MULTI/EXEC"). A
//!    transaction is complete when every shard it names has its part; each
//!    shard's log is cut before its first part of an incomplete one, and
//!    since cutting can make other transactions incomplete, this repeats
//!    until nothing moves. So recovery applies every multi-shard write
//!    whole or not at all, and each shard replays a prefix of its log.
//! 3. With `aof-load-truncated yes` the files are truncated at the cut
//!    (logged); with `no` a needed cut refuses the start, naming file and
//!    offset. Damage anywhere but the tail of the last file refuses too.
//! 4. [`load_shard`] (each shard, on its executor): replay the base and
//!    the records up to the cut into a private one-shard loader — every
//!    command runs exactly as for a client, with expiry frozen (the log
//!    says when keys went) — then take the loader's databases. When the
//!    shard count changed, each shard replays every old log and keeps the
//!    keys it owns now.

use super::manifest::{self, Manifest};
use crate::command::ctx::{Batch, Conn};
use crate::shard::clients::ClientInfo;
use crate::shard::{mesh::Mesh, owner_of, Shard, ShardState};
use resp::{Proto, Request};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::Ordering;

/// One incr file, read.
pub struct Incr {
    /// Its path.
    pub path: PathBuf,
    /// Its bytes, up to the cut.
    pub bytes: Vec<u8>,
    /// Its length on disk, preallocated zeros included.
    disk_len: u64,
}

/// One shard's log, read and cut.
pub struct ShardLog {
    /// The base file's path and bytes.
    pub base: (PathBuf, Vec<u8>),
    /// Incr files in order.
    pub incrs: Vec<Incr>,
}

/// Every shard's log (what [`prepare`] found).
pub struct Logs {
    /// The manifest read.
    pub manifest: Manifest,
    /// Per shard that wrote them.
    pub shards: Vec<ShardLog>,
    /// The highest transaction id in them (new ids continue above it).
    pub max_tx: u64,
}

/// One parsed record: its arguments (empty for an annotation).
enum Rec<'a> {
    Cmd(Vec<&'a [u8]>),
    Note(&'a [u8]),
}

/// Parse the record at `pos`: Ok(None) when the bytes end inside it.
fn parse_at(b: &[u8], pos: usize) -> Result<Option<(Rec<'_>, usize)>, ()> {
    let line = |p: usize| -> Option<(&[u8], usize)> {
        let rest = b.get(p..)?;
        let nl = memchr::memchr(b'\n', rest)?;
        let l = rest.get(..nl)?;
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        Some((l, p + nl + 1))
    };
    let Some(&first) = b.get(pos) else {
        return Ok(None);
    };
    if first == b'#' {
        return Ok(line(pos).map(|(l, next)| (Rec::Note(l.get(1..).unwrap_or(&[])), next)));
    }
    if first != b'*' {
        return Err(());
    }
    let Some((head, mut p)) = line(pos) else {
        return Ok(None);
    };
    let n: usize = std::str::from_utf8(head.get(1..).unwrap_or(&[]))
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n >= 1)
        .ok_or(())?;
    let mut args = Vec::with_capacity(n);
    for _ in 0..n {
        let Some((h, next)) = line(p) else {
            return Ok(None);
        };
        if h.first() != Some(&b'$') {
            return Err(());
        }
        let len: usize = std::str::from_utf8(h.get(1..).unwrap_or(&[]))
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(())?;
        let end = next + len;
        if b.len() < end + 2 {
            return Ok(None);
        }
        if b.get(end..end + 2) != Some(b"\r\n") {
            return Err(());
        }
        args.push(b.get(next..end).ok_or(())?);
        p = end + 2;
    }
    Ok(Some((Rec::Cmd(args), p)))
}

/// A transaction part found in a shard's stream.
struct Part {
    id: u64,
    shards: Vec<usize>,
    /// Offset (in the shard's stream) where the part starts.
    start: u64,
    complete: bool,
}

/// How one shard's stream ends.
struct Scan {
    /// End of the last complete record or block.
    valid: u64,
    /// Multi-shard parts, in order.
    parts: Vec<Part>,
    /// Why it stops before its end, if it does.
    torn: Option<&'static str>,
}

fn parse_tx(note: &[u8]) -> Option<(u64, Vec<usize>)> {
    let s = std::str::from_utf8(note.strip_prefix(b"TX:")?).ok()?;
    let (id, shards) = s.split_once(':')?;
    let shards = shards
        .split(',')
        .map(|x| x.parse().ok())
        .collect::<Option<Vec<usize>>>()?;
    Some((id.parse().ok()?, shards))
}

/// A transaction part's id and shards.
type TxTag = (u64, Vec<usize>);

/// Scan a shard's concatenated incr stream. Err names a bad format offset.
fn scan(stream: &[u8]) -> Result<Scan, u64> {
    let mut pos = 0usize;
    let mut valid = 0u64;
    let mut parts = Vec::new();
    // Inside MULTI: where the block started (before its annotation) and its part.
    let mut open: Option<(u64, Option<TxTag>)> = None;
    let mut pending_tx: Option<(u64, u64, Vec<usize>)> = None;
    loop {
        match parse_at(stream, pos) {
            Err(()) if unwritten_after(stream, pos) => {
                let torn = Some("the log ends in space a crash left unwritten");
                return Ok(Scan { valid, parts, torn });
            }
            Err(()) => return Err(pos as u64),
            Ok(None) => {
                let torn = if pos < stream.len() {
                    Some("the last record is incomplete")
                } else if open.is_some() {
                    Some("a MULTI/EXEC transaction is incomplete")
                } else {
                    None
                };
                return Ok(Scan { valid, parts, torn });
            }
            Ok(Some((rec, next))) => {
                let here = pos as u64;
                pos = next;
                match rec {
                    Rec::Note(n) => {
                        if let Some((id, shards)) = parse_tx(n) {
                            pending_tx = Some((here, id, shards));
                        } else if open.is_none() {
                            valid = pos as u64;
                        }
                    }
                    Rec::Cmd(args) => {
                        let name = args.first().copied().unwrap_or_default();
                        if name.eq_ignore_ascii_case(b"MULTI") {
                            let (start, tx) = match pending_tx.take() {
                                Some((s, id, shards)) => (s, Some((id, shards))),
                                None => (here, None),
                            };
                            open = Some((start, tx));
                        } else if name.eq_ignore_ascii_case(b"EXEC") && open.is_some() {
                            if let Some((start, Some((id, shards)))) = open.take() {
                                parts.push(Part {
                                    id,
                                    shards,
                                    start,
                                    complete: true,
                                });
                            }
                            valid = pos as u64;
                        } else if open.is_none() {
                            valid = pos as u64;
                        }
                    }
                }
            }
        }
    }
}

/// Whether a malformed record at `pos` is explained by a crash while the
/// log was written into its preallocated zeros ([`super::prealloc`]): page
/// writeback is unordered, so a later page of records may reach the disk
/// while an earlier one did not, leaving at least a sector of zeros in
/// between. Such a tail was never acknowledged (an fdatasync covering it
/// had not returned), so it is handled as a torn tail, not as damage.
fn unwritten_after(stream: &[u8], pos: usize) -> bool {
    const SECTOR: usize = 512;
    let rest = stream.get(pos..).unwrap_or(&[]);
    let mut run = 0usize;
    for &b in rest {
        run = if b == 0 { run + 1 } else { 0 };
        if run >= SECTOR {
            return true;
        }
    }
    false
}

/// Where each shard's replay must stop so every multi-shard transaction
/// is whole or absent (see the module doc). `scans[s]` is shard s's scan.
fn cuts(scans: &[Scan]) -> Vec<u64> {
    let mut cut: Vec<u64> = scans.iter().map(|s| s.valid).collect();
    loop {
        // The shards keeping a part of each transaction.
        let mut kept: HashMap<u64, Vec<usize>> = HashMap::new();
        for (s, sc) in scans.iter().enumerate() {
            for p in &sc.parts {
                if p.complete && p.start < cut.get(s).copied().unwrap_or(0) {
                    let v = kept.entry(p.id).or_default();
                    if !v.contains(&s) {
                        v.push(s);
                    }
                }
            }
        }
        let mut moved = false;
        for (s, sc) in scans.iter().enumerate() {
            let Some(c) = cut.get_mut(s) else { continue };
            for p in &sc.parts {
                if p.start >= *c {
                    break;
                }
                let whole = kept
                    .get(&p.id)
                    .is_some_and(|v| p.shards.iter().all(|x| v.contains(x)));
                if !whole {
                    *c = p.start;
                    moved = true;
                    break;
                }
            }
        }
        if !moved {
            return cut;
        }
    }
}

/// The AOF directory for `config`.
pub fn aof_dir(config: &crate::config::Config) -> PathBuf {
    crate::server::working_dir().join(config.get("appenddirname").unwrap_or("appendonlydir"))
}

/// Read and cut the logs named by the manifest (see the module doc).
/// Ok(None) when there is no manifest (a first start with the AOF on).
pub fn prepare(config: &crate::config::Config) -> Result<Option<Logs>, String> {
    let dir = aof_dir(config);
    let prefix = config.get("appendfilename").unwrap_or("appendonly.aof");
    let mpath = manifest::path(&dir, prefix);
    let text = match std::fs::read_to_string(&mpath) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "Can't open the AOF manifest {}: {e}",
                mpath.display()
            ))
        }
    };
    let m = Manifest::parse(&text).map_err(|e| format!("{e} ({})", mpath.display()))?;
    let truncate_ok = config.get("aof-load-truncated") != Some("no");
    let mut shards = Vec::new();
    let mut scans = Vec::new();
    for s in 0..m.shards {
        let files = m.files(prefix, s);
        let mut base = None;
        let mut incrs = Vec::new();
        for (name, is_base) in files {
            let path = dir.join(&name);
            let mut bytes = std::fs::read(&path)
                .map_err(|e| format!("Can't open the append-only file {}: {e}", path.display()))?;
            if is_base {
                base = Some((path, bytes));
            } else {
                let disk_len = bytes.len() as u64;
                bytes.truncate(super::prealloc::records_end(&bytes));
                incrs.push(Incr {
                    path,
                    bytes,
                    disk_len,
                });
            }
        }
        let Some(base) = base else {
            return Err(format!(
                "The AOF manifest {} names no base",
                mpath.display()
            ));
        };
        // One stream per shard: every incr file but the last must be whole.
        let mut stream = Vec::new();
        let last = incrs.len().saturating_sub(1);
        for (i, f) in incrs.iter().enumerate() {
            if i < last {
                let sc = scan(&f.bytes).map_err(|off| bad_format(&f.path, off))?;
                if sc.torn.is_some() || sc.valid != f.bytes.len() as u64 {
                    return Err(format!(
                        "Fatal error: the truncated file {} is not the last file",
                        f.path.display()
                    ));
                }
            }
            stream.extend_from_slice(&f.bytes);
        }
        let sc = scan(&stream).map_err(|off| {
            let (path, at) = locate(&incrs, off);
            bad_format(path, at)
        })?;
        scans.push(sc);
        shards.push(ShardLog { base, incrs });
    }
    let cut = cuts(&scans);
    let max_tx = scans
        .iter()
        .flat_map(|s| s.parts.iter().map(|p| p.id))
        .max()
        .unwrap_or(0);
    for (s, (log, sc)) in shards.iter_mut().zip(&scans).enumerate() {
        let keep = cut.get(s).copied().unwrap_or(0);
        let total: u64 = log.incrs.iter().map(|f| f.bytes.len() as u64).sum();
        if keep == total {
            continue;
        }
        let why = if keep < sc.valid {
            "a multi-shard transaction is incomplete (a part on another shard was lost)"
        } else {
            sc.torn.unwrap_or("the last record is incomplete")
        };
        let (path, at) = locate(&log.incrs, keep);
        let path = path.to_path_buf();
        let last = log.incrs.last().map(|f| f.path.clone());
        if !truncate_ok {
            return Err(format!(
                "Unexpected end of file reading the append only file {} at offset {at}: {why}. \
                 Set 'aof-load-truncated yes' to start with the log cut there, or repair it",
                path.display()
            ));
        }
        if last.as_ref() != Some(&path) {
            return Err(format!(
                "Fatal error: the truncated file {} is not the last file",
                path.display()
            ));
        }
        log::warn!(
            "!!! Warning: short read while loading the AOF file {}: {why} !!!",
            path.display()
        );
        truncate_file(&path, at)?;
        log::warn!(
            "AOF {} loaded anyway because aof-load-truncated is enabled; truncated at offset {at}",
            path.display()
        );
        if let Some(f) = log.incrs.last_mut() {
            f.bytes.truncate(at as usize);
            f.disk_len = at;
        }
    }
    // Only now that the start goes ahead: the zeros written ahead of the
    // records (super::prealloc) are cut off before appending resumes.
    for f in shards.iter_mut().flat_map(|l| l.incrs.iter_mut()) {
        let end = f.bytes.len() as u64;
        if f.disk_len != end {
            log::info!(
                "Trimming {} bytes of preallocated space from the end of {}",
                f.disk_len - end,
                f.path.display()
            );
            truncate_file(&f.path, end)?;
            f.disk_len = end;
        }
    }
    Ok(Some(Logs {
        manifest: m,
        shards,
        max_tx,
    }))
}

fn bad_format(path: &Path, off: u64) -> String {
    format!(
        "Bad file format reading the append only file {} at offset {off}: \
         make a backup of your AOF file, then use redis-check-aof --fix <filename.manifest>",
        path.display()
    )
}

/// The file and in-file offset of stream offset `off`.
fn locate(incrs: &[Incr], off: u64) -> (&Path, u64) {
    let mut start = 0u64;
    for (i, f) in incrs.iter().enumerate() {
        let len = f.bytes.len() as u64;
        if off < start + len || i + 1 == incrs.len() {
            return (&f.path, off.saturating_sub(start));
        }
        start += len;
    }
    (Path::new(""), off)
}

fn truncate_file(path: &Path, at: u64) -> Result<(), String> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(at).map(|()| f))
        .and_then(|f| f.sync_all());
    f.map_err(|e| format!("Error truncating the AOF file {}: {e}", path.display()))
}

/// A private one-shard server to replay one log into.
fn loader(home: &Shard) -> Rc<Shard> {
    let config = home.state.borrow().config.clone();
    let sh = Rc::new(Shard {
        id: 0,
        count: 1,
        state: std::cell::RefCell::new(ShardState::new(config, 0x5eed)),
        shared: home.shared.clone(),
        mesh: Mesh::new(None),
        replies: Default::default(),
        scripting: Default::default(),
    });
    {
        let mut st = sh.state.borrow_mut();
        st.blocking.init(0, 1);
        for d in &mut st.dbs {
            d.frozen = true;
        }
    }
    sh
}

/// Run the commands of `bytes` (a whole base or the kept part of incr
/// files) on `sh`. Err names the file and offset of an unknown command.
async fn replay(sh: &Rc<Shard>, bytes: &[u8], path: &Path) -> Result<u64, String> {
    let info = Rc::new(ClientInfo::new(0, String::new(), String::new(), -1, 0));
    let mut conn = Conn::detached(info, 0, Proto::Resp2, crate::clock::now_ms(), 0);
    let mut batch = Batch::new(1);
    let mut pos = 0usize;
    let mut n = 0u64;
    while let Ok(Some((rec, next))) = parse_at(bytes, pos) {
        let at = pos;
        pos = next;
        let Rec::Cmd(args) = rec else { continue };
        let name = args.first().copied().unwrap_or_default();
        if name.eq_ignore_ascii_case(b"MULTI") || name.eq_ignore_ascii_case(b"EXEC") {
            continue;
        }
        let req = Request::from_args(args.iter());
        conn.now_ms = crate::clock::now_ms();
        crate::command::dispatch(sh, &mut conn, &mut batch, &req);
        if batch.has_barrier() || !batch.is_settled() {
            batch.flush(sh).await;
        }
        if batch.out.starts_with(b"-ERR unknown command") {
            return Err(format!(
                "Unknown command '{}' reading the append only file {} at offset {at}",
                String::from_utf8_lossy(name),
                path.display()
            ));
        }
        batch.out.clear();
        n += 1;
    }
    Ok(n)
}

/// Load shard `home`'s data from `logs` (see the module doc). Returns the
/// records replayed.
pub async fn load_shard(home: &Rc<Shard>, logs: &Logs) -> Result<u64, String> {
    let same = logs.manifest.shards == home.count;
    let sources: Vec<usize> = if same {
        vec![home.id]
    } else {
        (0..logs.manifest.shards).collect()
    };
    let mut records = 0;
    for s in sources {
        let Some(log) = logs.shards.get(s) else {
            continue;
        };
        let sh = loader(home);
        let (bpath, bbytes) = &log.base;
        if bbytes.starts_with(b"REDIS") {
            crate::rdb::file::check(bbytes)
                .map_err(|e| format!("Bad base file {}: {e}", bpath.display()))?;
            let dump = crate::server::snapshot::Dump {
                path: bpath.clone(),
                bytes: bbytes.clone(),
            };
            crate::server::snapshot::load_shard(&sh, &dump)?;
        } else {
            records += replay(&sh, bbytes, bpath).await?;
        }
        for f in &log.incrs {
            records += replay(&sh, &f.bytes, &f.path).await?;
        }
        adopt(home, &sh, same);
    }
    let mut st = home.state.borrow_mut();
    let mut keys = 0;
    for d in &mut st.dbs {
        d.frozen = false;
        d.events.take();
        keys += d.len() as u64;
    }
    home.shared
        .aof
        .loaded_keys
        .fetch_add(keys, Ordering::Relaxed);
    Ok(records)
}

/// Move the loader's keys (all, or those `home` owns) and functions into `home`.
fn adopt(home: &Rc<Shard>, sh: &Rc<Shard>, all: bool) {
    let mut st = home.state.borrow_mut();
    let mut from = sh.state.borrow_mut();
    if all {
        std::mem::swap(&mut st.dbs, &mut from.dbs);
    } else {
        for (i, d) in from.dbs.iter_mut().enumerate() {
            for e in d.take_all() {
                if owner_of(e.key_bytes(), home.count) == home.id {
                    st.db(i).insert_entry(e);
                }
            }
        }
    }
    drop(st);
    drop(from);
    let codes = sh.scripting.functions.borrow().codes();
    if codes.is_empty() {
        return;
    }
    if let Ok(vm) = home.scripting.function_vm() {
        let mut f = home.scripting.functions.borrow_mut();
        for code in codes {
            let _ = f.load(&vm, &code, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(args: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        super::super::feed::encode(&mut v, args.iter().map(|a| a.as_bytes()));
        v
    }

    #[test]
    fn scan_finds_torn_tails_and_parts() {
        let mut s = rec(&["SET", "a", "1"]);
        let one = s.len() as u64;
        s.extend_from_slice(b"#TX:7:0,1\r\n");
        s.extend(rec(&["MULTI"]));
        s.extend(rec(&["SET", "b", "2"]));
        s.extend(rec(&["EXEC"]));
        let two = s.len() as u64;
        s.extend(rec(&["MULTI"]));
        s.extend(rec(&["SET", "c", "3"]));
        let sc = scan(&s).expect("parses");
        assert_eq!(sc.valid, two);
        assert_eq!(sc.torn, Some("a MULTI/EXEC transaction is incomplete"));
        assert_eq!(sc.parts.len(), 1);
        assert_eq!(sc.parts.first().map(|p| p.start), Some(one));
        let mut t = s.clone();
        t.truncate(s.len() - 3);
        assert!(scan(&t).is_ok());
        assert!(scan(b"garbage").is_err());
    }

    #[test]
    fn an_unwritten_gap_is_a_torn_tail_not_damage() {
        let mut s = rec(&["SET", "a", "1"]);
        let one = s.len() as u64;
        // A record cut by a page that never reached the disk, then a later
        // page that did.
        s.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$9000\r\nxx");
        s.extend(std::iter::repeat_n(0u8, 4096));
        s.extend(rec(&["SET", "c", "3"]));
        let sc = scan(&s).expect("a torn tail");
        assert_eq!(sc.valid, one);
        assert!(sc.torn.is_some());
        // The same damage without a sector of zeros is a bad format.
        let mut bad = rec(&["SET", "a", "1"]);
        bad.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$2\r\nxxyy");
        bad.extend(std::iter::repeat_n(0u8, 100));
        bad.extend(rec(&["SET", "c", "3"]));
        assert_eq!(scan(&bad).err(), Some(one));
    }

    #[test]
    fn cuts_reach_a_fixpoint() {
        // Shard 0 has tx 1 (with 1) then tx 2 (with 1); shard 1 has only tx 1.
        let part = |id, start| Part {
            id,
            shards: vec![0, 1],
            start,
            complete: true,
        };
        let s0 = Scan {
            valid: 100,
            parts: vec![part(1, 10), part(2, 50)],
            torn: None,
        };
        let s1 = Scan {
            valid: 80,
            parts: vec![part(1, 20)],
            torn: None,
        };
        assert_eq!(cuts(&[s0, s1]), vec![50, 80]);
        // Tx 1 lost on shard 1: both cut before it.
        let s0 = Scan {
            valid: 100,
            parts: vec![part(1, 10), part(2, 50)],
            torn: None,
        };
        let s1 = Scan {
            valid: 5,
            parts: vec![],
            torn: None,
        };
        assert_eq!(cuts(&[s0, s1]), vec![10, 5]);
    }
}
