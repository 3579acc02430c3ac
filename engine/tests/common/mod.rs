//! Shared helpers for the engine's black-box tests: a shoal-server (2
//! shards) and a redis-server started side by side, and a differential
//! runner that sends the same commands to both and compares the replies.
#![allow(dead_code, clippy::unwrap_used)]

use resp::client::Client;
use resp::Frame;
use testkit::{Server, ServerBuilder};

/// The first key `<prefix><n>` that shard `shard` owns when there are 2
/// shards (what these tests run).
pub fn key_on(prefix: &str, shard: usize) -> String {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|k| shoal::shard::owner_of(k.as_bytes(), 2) == shard)
        .unwrap()
}

/// shoal-server under test, built by cargo for this test run.
pub fn shoal() -> ServerBuilder {
    ServerBuilder::shoal().bin(env!("CARGO_BIN_EXE_shoal-server"))
}

/// Both servers with DEBUG enabled, persistence off.
pub struct Pair {
    pub shoal: Server,
    pub redis: Server,
}

impl Pair {
    pub fn start() -> Pair {
        Pair::start_with(&[])
    }

    /// Start both with extra `--name value` directives.
    pub fn start_with(directives: &[(&str, &str)]) -> Pair {
        let mut s = shoal().directive("enable-debug-command", "yes");
        let mut r = ServerBuilder::redis().directive("enable-debug-command", "yes");
        for (k, v) in directives {
            s = s.directive(k, v);
            r = r.directive(k, v);
        }
        Pair {
            shoal: s.start(),
            redis: r.start(),
        }
    }

    /// Run `script` on a fresh pair of connections, in RESP3 when asked.
    pub fn script(&self, resp3: bool, script: &str) {
        let mut d = self.diff();
        if resp3 {
            d.resp3();
        }
        d.script(script);
    }

    pub fn diff(&self) -> Diff {
        Diff {
            shoal: self.shoal.client(),
            redis: self.redis.client(),
        }
    }
}

/// Two connections, one per server.
pub struct Diff {
    pub shoal: Client,
    pub redis: Client,
}

/// Split a command line like redis-cli does (quotes, escapes).
pub fn words(line: &str) -> Vec<Vec<u8>> {
    resp::request::split_args(line.as_bytes()).unwrap_or_else(|| panic!("bad test line: {line}"))
}

/// Sort the elements of array replies, recursively one level (unordered replies).
pub fn sorted(f: Frame) -> Frame {
    match f {
        Frame::Array(mut v) => {
            v.sort_by_key(|x| format!("{x:?}"));
            Frame::Array(v)
        }
        Frame::Set(mut v) => {
            v.sort_by_key(|x| format!("{x:?}"));
            Frame::Set(v)
        }
        Frame::Map(mut v) => {
            v.sort_by_key(|(k, _)| format!("{k:?}"));
            Frame::Map(v)
        }
        other => other,
    }
}

impl Diff {
    /// Send one command line to both, return (shoal, redis).
    pub fn both(&mut self, line: &str) -> (Frame, Frame) {
        let w = words(line);
        let a = self
            .shoal
            .call(&w)
            .unwrap_or_else(|e| panic!("shoal: {line}: {e}"));
        let b = self
            .redis
            .call(&w)
            .unwrap_or_else(|e| panic!("redis: {line}: {e}"));
        (a, b)
    }

    /// The replies must be identical.
    pub fn same(&mut self, line: &str) -> Frame {
        let (a, b) = self.both(line);
        assert_eq!(a, b, "\ncommand: {line}\n  shoal: {a}\n  redis: {b}");
        a
    }

    /// The replies must be identical up to element order.
    pub fn same_unordered(&mut self, line: &str) -> Frame {
        let (a, b) = self.both(line);
        let (a, b) = (sorted(a), sorted(b));
        assert_eq!(a, b, "\ncommand: {line}\n  shoal: {a}\n  redis: {b}");
        a
    }

    /// Both replies must be errors with the same text.
    pub fn same_error(&mut self, line: &str) {
        let r = self.same(line);
        assert!(r.is_error(), "{line}: expected an error, got {r}");
    }

    /// Run every non-empty, non-comment line of `script` through
    /// [`Diff::same`]; a line starting with `~ ` goes through
    /// [`Diff::same_unordered`] (replies whose order is the hash table's).
    pub fn script(&mut self, script: &str) {
        for line in script
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            match line.strip_prefix("~ ") {
                Some(rest) => {
                    self.same_unordered(rest);
                }
                None => {
                    self.same(line);
                }
            }
        }
    }

    /// Switch both connections to RESP3.
    pub fn resp3(&mut self) {
        let (a, b) = self.both("HELLO 3");
        assert!(matches!(a, Frame::Map(_)), "shoal HELLO 3: {a}");
        assert!(matches!(b, Frame::Map(_)), "redis HELLO 3: {b}");
    }
}

/// `OBJECT ENCODING key` on one connection.
pub fn encoding(c: &mut Client, key: &str) -> String {
    match c.call(["OBJECT", "ENCODING", key]).unwrap() {
        Frame::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
        other => panic!("OBJECT ENCODING {key}: {other}"),
    }
}

impl Diff {
    /// DUMP `key` on each server and RESTORE it (REPLACE) as `to` on the
    /// other: each server then holds the other's copy.
    pub fn swap_dumps(&mut self, key: &str, to: &str) {
        let a = self.shoal.call(["DUMP", key]).unwrap();
        let b = self.redis.call(["DUMP", key]).unwrap();
        for (c, payload) in [(&mut self.redis, a), (&mut self.shoal, b)] {
            let Frame::Bulk(p) = payload else {
                panic!("DUMP {key}: {payload}")
            };
            let r = c
                .call([&b"RESTORE"[..], to.as_bytes(), b"0", &p, b"REPLACE"])
                .unwrap();
            assert_eq!(r, Frame::simple("OK"), "RESTORE {to}");
        }
    }
}

/// Raw-bytes helpers on a server.
pub trait ServerExt {
    /// Send `bytes` on a new connection; return everything received until
    /// the server is quiet for 300 ms or closes the connection.
    fn raw(&self, bytes: &[u8]) -> Vec<u8>;
    /// Like [`ServerExt::raw`], also telling whether the server closed the connection.
    fn raw_closed(&self, bytes: &[u8]) -> (Vec<u8>, bool);
}

impl ServerExt for Server {
    fn raw(&self, bytes: &[u8]) -> Vec<u8> {
        self.raw_closed(bytes).0
    }

    fn raw_closed(&self, bytes: &[u8]) -> (Vec<u8>, bool) {
        let mut c = self.client();
        c.send_raw(bytes).unwrap();
        c.read_raw(std::time::Duration::from_millis(300)).unwrap()
    }
}

/// One record of an incr file: where it starts and ends, its arguments
/// (empty for a `#` annotation line).
#[derive(Debug)]
pub struct AofRecord {
    pub start: usize,
    pub end: usize,
    pub args: Vec<Vec<u8>>,
}

/// The whole records of an AOF file's bytes, in order (a torn tail is
/// left out).
pub fn aof_records(buf: &[u8]) -> Vec<AofRecord> {
    fn line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
        let rest = buf.get(at..)?;
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        Some((rest.get(..end)?, at + end + 2))
    }
    fn num(b: &[u8]) -> usize {
        std::str::from_utf8(b).unwrap().parse().unwrap()
    }
    let mut out = Vec::new();
    let mut start = 0;
    'records: while start < buf.len() {
        let Some((head, mut at)) = line(buf, start) else {
            break;
        };
        if head.first() == Some(&b'#') {
            out.push(AofRecord {
                start,
                end: at,
                args: Vec::new(),
            });
            start = at;
            continue;
        }
        assert_eq!(head.first(), Some(&b'*'), "not a record at offset {start}");
        let n = num(head.get(1..).unwrap());
        let mut args = Vec::with_capacity(n);
        for _ in 0..n {
            let Some((h, next)) = line(buf, at) else {
                break 'records;
            };
            assert_eq!(h.first(), Some(&b'$'), "not a bulk at offset {at}");
            let len = num(h.get(1..).unwrap());
            let Some(arg) = buf.get(next..next + len) else {
                break 'records;
            };
            if buf.get(next + len..next + len + 2) != Some(b"\r\n") {
                break 'records;
            }
            args.push(arg.to_vec());
            at = next + len + 2;
        }
        out.push(AofRecord {
            start,
            end: at,
            args,
        });
        start = at;
    }
    out
}

/// Run redis-check-rdb on `path`: its report, which must say the file is OK.
pub fn check_rdb(path: &std::path::Path) -> String {
    let out = std::process::Command::new("redis-check-rdb")
        .arg(path)
        .output()
        .expect("run redis-check-rdb");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "redis-check-rdb {}:\n{text}{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The server's log once it contains `needle` (lines written after the
/// server already answers may lag a little).
pub fn log_with(s: &Server, needle: &str) -> String {
    for _ in 0..250 {
        let log = s.log();
        if log.contains(needle) {
            return log;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("log never contained {needle:?}:\n{}", s.log())
}
