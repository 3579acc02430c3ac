//! The AOF manifest: which files make up each shard's log.
//!
//! Redis 7's multi-part layout and line syntax, one manifest for all
//! shards so that switching generations (a rewrite) is one atomic rename:
//!
//! ```text
//! file appendonly.aof.2.s0.base.rdb seq 2 type b shard 0
//! file appendonly.aof.2.s1.base.rdb seq 2 type b shard 1
//! file appendonly.aof.3.s0.incr.aof seq 3 type i shard 0
//! file appendonly.aof.3.s1.incr.aof seq 3 type i shard 1
//! ```
//!
//! Every shard has one base (an RDB image, or commands with
//! `aof-use-rdb-preamble no`) and one or more incr files replayed in seq
//! order. All shards share the seqs.
//!
//! The manifest is replaced by writing a temp file, fsyncing it, renaming
//! it over the old one and fsyncing the directory, so a crash leaves the
//! old or the new one whole.
//!
//! Redis's own manifest (no `shard`, files named `<prefix>.<seq>.base.rdb`
//! and `<prefix>.<seq>.incr.aof`) reads as one shard's log with the names it
//! gives ([`Manifest::foreign`]), so a Redis `appendonlydir` copied into
//! Shoal's `dir` loads; the start then rewrites it into Shoal's layout.

use std::path::{Path, PathBuf};

/// A base file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaseKind {
    /// An RDB image (`aof-use-rdb-preamble yes`).
    Rdb,
    /// Commands.
    Aof,
}

/// The files of every shard's log (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Shards the logs were written by.
    pub shards: usize,
    /// The bases' seq and format.
    pub base: (u64, BaseKind),
    /// Incr seqs, oldest first.
    pub incrs: Vec<u64>,
    /// Files named otherwise than Shoal names them (a Redis manifest).
    /// Such logs are loaded, never appended to.
    pub foreign: Option<Foreign>,
}

/// A Redis manifest's files, as it names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Foreign {
    /// The one shard's files, base first (name, is the base).
    pub files: Vec<(String, bool)>,
    /// History files (`type h`) Redis has not removed yet.
    pub history: Vec<String>,
}

impl Manifest {
    /// File name of shard `shard`'s base.
    pub fn base_name(&self, prefix: &str, shard: usize) -> String {
        let ext = match self.base.1 {
            BaseKind::Rdb => "rdb",
            BaseKind::Aof => "aof",
        };
        format!("{prefix}.{}.s{shard}.base.{ext}", self.base.0)
    }

    /// File name of shard `shard`'s incr file `seq`.
    pub fn incr_name(prefix: &str, seq: u64, shard: usize) -> String {
        format!("{prefix}.{seq}.s{shard}.incr.aof")
    }

    /// The incr file writes currently go to.
    pub fn last_incr(&self) -> u64 {
        self.incrs.last().copied().unwrap_or(self.base.0)
    }

    /// Every file of shard `shard`, base first (name, is the base).
    pub fn files(&self, prefix: &str, shard: usize) -> Vec<(String, bool)> {
        if let Some(f) = &self.foreign {
            return f.files.clone();
        }
        let mut v = vec![(self.base_name(prefix, shard), true)];
        v.extend(
            self.incrs
                .iter()
                .map(|&s| (Manifest::incr_name(prefix, s, shard), false)),
        );
        v
    }

    /// The manifest's text.
    pub fn render(&self, prefix: &str) -> String {
        let mut out = String::new();
        for s in 0..self.shards {
            out.push_str(&format!(
                "file {} seq {} type b shard {s}\n",
                self.base_name(prefix, s),
                self.base.0
            ));
        }
        for &seq in &self.incrs {
            for s in 0..self.shards {
                out.push_str(&format!(
                    "file {} seq {seq} type i shard {s}\n",
                    Manifest::incr_name(prefix, seq, s)
                ));
            }
        }
        out
    }

    /// Parse a manifest's text; errors name the line.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut base: Option<(u64, BaseKind)> = None;
        let mut incrs: Vec<u64> = Vec::new();
        let mut shards = 0usize;
        // (seq, is the base, name) of every file, for the foreign check.
        let mut named: Vec<(u64, bool, String)> = Vec::new();
        let mut history: Vec<String> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_ascii_whitespace().collect();
            let get = |k: &str| {
                words
                    .chunks(2)
                    .find(|p| p.first() == Some(&k))
                    .and_then(|p| p.get(1).copied())
            };
            let bad = || format!("Invalid AOF manifest file format at line {}: {line}", i + 1);
            let (Some(name), Some(seq), Some(ty)) = (get("file"), get("seq"), get("type")) else {
                return Err(bad());
            };
            // As Redis: a file name, never a path.
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                return Err(format!(
                    "Invalid AOF manifest file format at line {}: file can't be a path, just a filename: {line}",
                    i + 1
                ));
            }
            let seq: u64 = seq.parse().map_err(|_| bad())?;
            let shard: usize = get("shard").unwrap_or("0").parse().map_err(|_| bad())?;
            shards = shards.max(shard + 1);
            if ty == "b" || ty == "i" {
                named.push((seq, ty == "b", name.to_string()));
            }
            match ty {
                "b" => {
                    let kind = if name.ends_with(".rdb") {
                        BaseKind::Rdb
                    } else {
                        BaseKind::Aof
                    };
                    if base.is_some_and(|b| b != (seq, kind)) {
                        return Err(bad());
                    }
                    base = Some((seq, kind));
                }
                "i" => {
                    if !incrs.contains(&seq) {
                        if incrs.last().is_some_and(|&l| l > seq) {
                            return Err(bad());
                        }
                        incrs.push(seq);
                    }
                }
                "h" => history.push(name.to_string()),
                _ => return Err(bad()),
            }
        }
        let Some(base) = base else {
            return Err("Invalid AOF manifest: no base file".into());
        };
        let mut m = Manifest {
            shards,
            base,
            incrs,
            foreign: None,
        };
        let ours = |(seq, is_base, name): &(u64, bool, String)| {
            (0..m.shards).any(|s| {
                *name
                    == if *is_base {
                        m.base_name(prefix_of(name, *seq), s)
                    } else {
                        Manifest::incr_name(prefix_of(name, *seq), *seq, s)
                    }
            })
        };
        if !named.iter().all(ours) {
            if m.shards != 1 {
                return Err("Invalid AOF manifest: unexpected file names for a sharded log".into());
            }
            // Base first, then the incr files in seq order (as listed).
            named.sort_by_key(|(_, is_base, _)| !*is_base);
            m.foreign = Some(Foreign {
                files: named.into_iter().map(|(_, b, n)| (n, b)).collect(),
                history,
            });
        }
        Ok(m)
    }
}

/// The prefix a file named `<prefix>.<seq>.…` was given (the whole name
/// when it does not have that shape).
fn prefix_of(name: &str, seq: u64) -> &str {
    let mark = format!(".{seq}.");
    name.rfind(&mark)
        .map_or(name, |i| name.get(..i).unwrap_or(name))
}

/// Path of the manifest in `aof_dir` for files named `prefix`.
pub fn path(aof_dir: &Path, prefix: &str) -> PathBuf {
    aof_dir.join(format!("{prefix}.manifest"))
}

/// Replace the manifest atomically from a blocking context (start-up):
/// temp file, fsync, rename, directory fsync.
pub fn persist_blocking(aof_dir: &Path, prefix: &str, m: &Manifest) -> std::io::Result<()> {
    use std::io::Write;
    let target = path(aof_dir, prefix);
    let temp = aof_dir.join(format!("temp-{prefix}.manifest"));
    let mut f = std::fs::File::create(&temp)?;
    f.write_all(m.render(prefix).as_bytes())?;
    f.sync_data()?;
    drop(f);
    std::fs::rename(&temp, &target)?;
    std::fs::File::open(aof_dir)?.sync_all()
}

/// Replace the manifest atomically from a shard (io_uring).
pub async fn persist(aof_dir: &Path, prefix: &str, m: &Manifest) -> std::io::Result<()> {
    let target = path(aof_dir, prefix);
    let temp = aof_dir.join(format!("temp-{prefix}.manifest"));
    let io = |e: glommio::GlommioError<()>| std::io::Error::other(e.to_string());
    let f = glommio::io::BufferedFile::create(&temp).await.map_err(io)?;
    let text = m.render(prefix).into_bytes();
    let len = text.len();
    let n = f.write_at(text, 0).await.map_err(io)?;
    if n != len {
        return Err(std::io::Error::other("short write of the AOF manifest"));
    }
    f.fdatasync().await.map_err(io)?;
    f.close().await.map_err(io)?;
    glommio::io::rename(&temp, &target).await.map_err(io)?;
    let d = glommio::io::Directory::open(aof_dir).await.map_err(io)?;
    d.sync().await.map_err(io)?;
    d.close().await.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let m = Manifest {
            shards: 2,
            base: (2, BaseKind::Rdb),
            incrs: vec![2, 3],
            foreign: None,
        };
        let text = m.render("appendonly.aof");
        assert!(text.starts_with("file appendonly.aof.2.s0.base.rdb seq 2 type b shard 0\n"));
        assert_eq!(Manifest::parse(&text), Ok(m));
        assert!(Manifest::parse("file x seq y type b\n").is_err());
        assert!(Manifest::parse("").is_err());
    }

    #[test]
    fn redis_manifests_read_as_one_foreign_shard() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\n\
                    file appendonly.aof.1.incr.aof seq 1 type i\n\
                    file appendonly.aof.0.incr.aof seq 0 type h\n\
                    file appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.shards, 1);
        assert_eq!(m.base, (1, BaseKind::Rdb));
        assert_eq!(m.incrs, vec![1, 2]);
        assert_eq!(
            m.files("appendonly.aof", 0),
            vec![
                ("appendonly.aof.1.base.rdb".to_string(), true),
                ("appendonly.aof.1.incr.aof".to_string(), false),
                ("appendonly.aof.2.incr.aof".to_string(), false),
            ]
        );
        assert_eq!(
            m.foreign.map(|f| f.history),
            Some(vec!["appendonly.aof.0.incr.aof".to_string()])
        );
        // Names, never paths (Redis refuses them too).
        for bad in ["/srv/x.rdb", "../x.rdb", "d/x.rdb", ".."] {
            let e = Manifest::parse(&format!("file {bad} seq 1 type b\n")).unwrap_err();
            assert!(e.contains("can't be a path"), "{bad}: {e}");
        }
        // Shoal's own names are not foreign, whatever the prefix.
        let ours = Manifest::parse("file x.aof.3.s0.base.aof seq 3 type b shard 0\n").unwrap();
        assert_eq!(ours.foreign, None);
        assert_eq!(ours.base, (3, BaseKind::Aof));
    }
}
