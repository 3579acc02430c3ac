//! What is sent: redis-benchmark's tests, the user's command, and the presets.
//!
//! A [`Workload`] is a list of weighted operations; an operation is one
//! [`Template`]: one or more commands encoded once as RESP, with the byte
//! offsets of their 12-digit random fields. Filling a template copies its bytes
//! and writes digits in place, so the hot path never re-encodes.
//!
//! Placeholders (substituted only when a keyspace is set, `-r` or a preset):
//! - `__rand_int__`: a fresh random number for every occurrence, as in redis-benchmark;
//! - `__rand_key__`: one random number per operation, shared by all its
//!   occurrences (a preset's HSET and PEXPIRE hit the same key).
//!
//! The standard tests send exactly what redis-benchmark 7 sends (names, key
//! patterns, the `LPUSH (needed to benchmark LRANGE)` fill before each LRANGE).
//!
//! An operation may also say what its last reply must be ([`Expect`]: the
//! `tx` preset's EXEC must be an array of 3), and a workload may need
//! subscribers beside the load ([`Subscribers`], the `publish` preset).

use rand::rngs::SmallRng;
use rand::{Rng, RngCore};
use rand_distr::{Distribution, Zipf};

/// Placeholder replaced per occurrence.
pub const RAND_INT: &[u8] = b"__rand_int__";
/// Placeholder replaced once per operation.
pub const RAND_KEY: &[u8] = b"__rand_key__";
const FIELD_LEN: usize = 12;

/// How a random field draws its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Draw {
    PerField,
    PerOp,
}

/// What the last reply of an operation must be, beyond not being an error.
/// A reply that does not match counts as an error of the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// An array of exactly this many elements (EXEC of that many commands;
    /// a null array, from an aborted transaction, does not match).
    Array(i64),
}

impl Expect {
    /// Whether `reply`, one whole reply, matches. Allocation-free (hot path).
    pub fn matches(self, reply: &[u8]) -> bool {
        match self {
            Expect::Array(n) => crate::bench::reply::array_len(reply) == Some(n),
        }
    }
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Array(n) => write!(f, "an array of {n}"),
        }
    }
}

/// One operation: commands encoded once, with the offsets of their random fields.
#[derive(Clone, Debug)]
pub struct Template {
    bytes: Vec<u8>,
    fields: Vec<(usize, Draw)>,
    commands: u32,
    /// Position of the routing key (the first command's first argument).
    key: Option<(usize, usize)>,
    /// What the last reply must be.
    last: Option<Expect>,
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    memchr::memmem::find_iter(hay, needle).collect()
}

impl Template {
    /// Encode `commands` (argument vectors). `inline` sends the first command as
    /// an inline command (`PING\r\n`). Without `substitute`, placeholders are sent as they are.
    pub fn new(commands: &[Vec<Vec<u8>>], inline: bool, substitute: bool) -> Template {
        let mut t = Template {
            bytes: Vec::new(),
            fields: Vec::new(),
            commands: 0,
            key: None,
            last: None,
        };
        for (ci, args) in commands.iter().enumerate() {
            t.commands += 1;
            if inline {
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        t.bytes.push(b' ');
                    }
                    t.bytes.extend_from_slice(a);
                }
                t.bytes.extend_from_slice(b"\r\n");
                continue;
            }
            t.bytes
                .extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for (ai, a) in args.iter().enumerate() {
                t.bytes
                    .extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                let base = t.bytes.len();
                if ci == 0 && ai == 1 {
                    t.key = Some((base, a.len()));
                }
                if substitute {
                    for (needle, draw) in [(RAND_INT, Draw::PerField), (RAND_KEY, Draw::PerOp)] {
                        for off in find_all(a, needle) {
                            t.fields.push((base + off, draw));
                        }
                    }
                }
                t.bytes.extend_from_slice(a);
                t.bytes.extend_from_slice(b"\r\n");
            }
        }
        t.fields.sort_unstable();
        t
    }

    /// Number of commands (replies) in one operation.
    pub fn commands(&self) -> u32 {
        self.commands
    }

    /// Require the operation's last reply to match `e`.
    pub fn expecting_last(mut self, e: Expect) -> Template {
        self.last = Some(e);
        self
    }

    /// What the last reply must be, if anything beyond not an error.
    pub fn last_reply(&self) -> Option<Expect> {
        self.last
    }

    /// The encoded bytes with placeholders as they are.
    pub fn raw(&self) -> &[u8] {
        &self.bytes
    }

    /// Append one operation to `out`, drawing random numbers from `keys`.
    /// Returns where the routing key sits in `out`, if the command has one.
    pub fn fill(
        &self,
        keys: &Keys,
        rng: &mut SmallRng,
        out: &mut Vec<u8>,
    ) -> Option<(usize, usize)> {
        let base = out.len();
        out.extend_from_slice(&self.bytes);
        if !self.fields.is_empty() {
            let shared = keys.draw(rng);
            for &(off, draw) in &self.fields {
                let n = match draw {
                    Draw::PerField => keys.draw(rng),
                    Draw::PerOp => shared,
                };
                if let Some(slot) = out.get_mut(base + off..base + off + FIELD_LEN) {
                    write_digits(slot, n);
                }
            }
        }
        self.key.map(|(off, len)| (base + off, len))
    }
}

/// Write `n` as zero-padded decimal digits filling `slot`.
fn write_digits(slot: &mut [u8], mut n: u64) {
    for b in slot.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// How random numbers are drawn for placeholders.
#[derive(Clone, Debug)]
pub struct Keys {
    space: u64,
    zipf: Option<Zipf<f64>>,
}

/// Key popularity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyDist {
    /// Every key equally likely.
    Uniform,
    /// Zipf with this exponent (0.99 is YCSB's default): a few hot keys.
    Zipf(f64),
}

impl Keys {
    /// Numbers in `0..space` with the given distribution.
    pub fn new(space: u64, dist: KeyDist) -> Result<Keys, String> {
        let space = space.max(1);
        let zipf = match dist {
            KeyDist::Uniform => None,
            KeyDist::Zipf(s) => Some(
                Zipf::new(space as f64, s).map_err(|e| format!("bad zipf exponent {s}: {e}"))?,
            ),
        };
        Ok(Keys { space, zipf })
    }

    /// One number.
    pub fn draw(&self, rng: &mut SmallRng) -> u64 {
        match &self.zipf {
            // Zipf yields 1..=space, rank 1 the most popular; spread ranks over the
            // keyspace so hot keys do not all share a prefix (and a cluster slot).
            Some(z) => {
                let rank = z.sample(rng) as u64;
                rank.saturating_sub(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) % self.space
            }
            None => rng.random_range(0..self.space),
        }
    }
}

/// One weighted operation of a workload.
#[derive(Clone, Debug)]
pub struct Op {
    /// Short label (`read`, `write`, `op`), for per-operation counts.
    pub label: &'static str,
    /// Relative weight.
    pub weight: u32,
    /// What to send.
    pub template: Template,
}

/// A named test: what runs, measured as one histogram.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Title as redis-benchmark prints it (`SET`, `LRANGE_100 (first 100 elements)`).
    pub title: String,
    /// The `-t` name (`set`, `lrange_100`); the CSV uses the upper-case title.
    pub id: String,
    /// Operations and weights.
    pub ops: Vec<Op>,
    /// Commands run once on every node before the test (SCRIPT LOAD).
    pub setup: Vec<Vec<Vec<u8>>>,
    /// Connections that subscribe before the test and read during it.
    pub subscribers: Option<Subscribers>,
}

/// The subscribers a workload needs beside its load connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscribers {
    /// The channel they SUBSCRIBE to.
    pub channel: Vec<u8>,
    /// How many connections.
    pub count: usize,
}

impl Workload {
    fn single(id: &str, title: &str, t: Template) -> Workload {
        Workload {
            title: title.to_string(),
            id: id.to_string(),
            ops: vec![Op {
                label: "op",
                weight: 1,
                template: t,
            }],
            setup: Vec::new(),
            subscribers: None,
        }
    }

    /// Pick an operation index by weight.
    pub fn pick(&self, rng: &mut SmallRng) -> usize {
        if self.ops.len() <= 1 {
            return 0;
        }
        let total: u32 = self.ops.iter().map(|o| o.weight).sum();
        let mut r = rng.random_range(0..total.max(1));
        for (i, o) in self.ops.iter().enumerate() {
            if r < o.weight {
                return i;
            }
            r -= o.weight;
        }
        0
    }
}

/// The value redis-benchmark-style tests store: `size` printable bytes.
pub fn value(size: usize) -> Vec<u8> {
    // A fixed pseudo-random letter sequence: deterministic, not compressible to nothing.
    let mut x: u32 = 0x2545_F491;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            b'A' + (x % 58) as u8
        })
        .map(|b| if b.is_ascii_alphabetic() { b } else { b'x' })
        .collect()
}

fn args(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

/// Every test name redis-benchmark knows, in its default order.
pub const STANDARD_TESTS: &[&str] = &[
    "ping_inline",
    "ping_mbulk",
    "set",
    "get",
    "incr",
    "lpush",
    "rpush",
    "lpop",
    "rpop",
    "sadd",
    "hset",
    "spop",
    "zadd",
    "zpopmin",
    "lrange_100",
    "lrange_300",
    "lrange_500",
    "lrange_600",
    "mset",
];

/// Options that shape the standard tests.
#[derive(Clone, Debug)]
pub struct TestOptions {
    /// `-d`
    pub datasize: usize,
    /// `-r` given: substitute placeholders.
    pub random: bool,
    /// `--cluster`: MSET keys share a hash tag so they land in one slot.
    pub cluster: bool,
}

/// Whether `-t` (lower-cased, comma-separated) selects `name`.
fn selected(list: &[String], name: &str) -> bool {
    list.iter().any(|t| {
        t == name
            || (t == "ping" && name.starts_with("ping_"))
            || (t == "lrange" && name.starts_with("lrange_"))
    })
}

/// Check `-t` names: unknown names are an error, not silently ignored.
pub fn check_test_names(list: &[String]) -> Result<(), String> {
    for t in list {
        if t != "ping" && t != "lrange" && !STANDARD_TESTS.contains(&t.as_str()) {
            return Err(format!(
                "unknown test '{t}' in -t; known tests: ping, lrange, {}",
                STANDARD_TESTS.join(", ")
            ));
        }
    }
    Ok(())
}

/// The standard tests selected by `-t` (all when empty), in redis-benchmark's order.
pub fn standard(list: &[String], o: &TestOptions) -> Vec<Workload> {
    let v = value(o.datasize);
    let v = v.as_slice();
    let t = |cmd: &[&[u8]]| Template::new(&[args(cmd)], false, o.random);
    let mut out = Vec::new();
    for &name in STANDARD_TESTS {
        if !list.is_empty() && !selected(list, name) {
            continue;
        }
        match name {
            "ping_inline" => out.push(Workload::single(
                name,
                "PING_INLINE",
                Template::new(&[args(&[b"PING"])], true, false),
            )),
            "ping_mbulk" => out.push(Workload::single(name, "PING_MBULK", t(&[b"PING"]))),
            "set" => out.push(Workload::single(
                name,
                "SET",
                t(&[b"SET", b"key:__rand_int__", v]),
            )),
            "get" => out.push(Workload::single(
                name,
                "GET",
                t(&[b"GET", b"key:__rand_int__"]),
            )),
            "incr" => out.push(Workload::single(
                name,
                "INCR",
                t(&[b"INCR", b"counter:__rand_int__"]),
            )),
            "lpush" => out.push(Workload::single(
                name,
                "LPUSH",
                t(&[b"LPUSH", b"mylist", v]),
            )),
            "rpush" => out.push(Workload::single(
                name,
                "RPUSH",
                t(&[b"RPUSH", b"mylist", v]),
            )),
            "lpop" => out.push(Workload::single(name, "LPOP", t(&[b"LPOP", b"mylist"]))),
            "rpop" => out.push(Workload::single(name, "RPOP", t(&[b"RPOP", b"mylist"]))),
            "sadd" => out.push(Workload::single(
                name,
                "SADD",
                t(&[b"SADD", b"myset", b"element:__rand_int__"]),
            )),
            "hset" => out.push(Workload::single(
                name,
                "HSET",
                t(&[b"HSET", b"myhash", b"element:__rand_int__", v]),
            )),
            "spop" => out.push(Workload::single(name, "SPOP", t(&[b"SPOP", b"myset"]))),
            "zadd" => out.push(Workload::single(
                name,
                "ZADD",
                t(&[b"ZADD", b"myzset", b"0", b"element:__rand_int__"]),
            )),
            "zpopmin" => out.push(Workload::single(
                name,
                "ZPOPMIN",
                t(&[b"ZPOPMIN", b"myzset"]),
            )),
            "lrange_100" | "lrange_300" | "lrange_500" | "lrange_600" => {
                let n = name.trim_start_matches("lrange_");
                let last = (n.parse::<u32>().unwrap_or(100) - 1).to_string();
                out.push(Workload::single(
                    "lpush_fill",
                    "LPUSH (needed to benchmark LRANGE)",
                    t(&[b"LPUSH", b"mylist", v]),
                ));
                out.push(Workload::single(
                    name,
                    &format!("LRANGE_{n} (first {n} elements)"),
                    t(&[b"LRANGE", b"mylist", b"0", last.as_bytes()]),
                ));
            }
            "mset" => {
                let key: &[u8] = if o.cluster {
                    b"key:{__rand_key__}:__rand_int__"
                } else {
                    b"key:__rand_int__"
                };
                let mut cmd: Vec<&[u8]> = vec![b"MSET"];
                for _ in 0..10 {
                    cmd.push(key);
                    cmd.push(v);
                }
                out.push(Workload::single(name, "MSET (10 keys)", t(&cmd)));
            }
            _ => {}
        }
    }
    out
}

/// A command given on the command line; its title is the command line itself.
pub fn custom(argv: &[String], random: bool) -> Workload {
    let a: Vec<Vec<u8>> = argv.iter().map(|s| s.as_bytes().to_vec()).collect();
    Workload::single(
        "custom",
        &argv.join(" "),
        Template::new(&[a], false, random),
    )
}

/// `--preset session` options.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// Fraction of operations that are reads (HGETALL), 0..=1.
    pub read_ratio: f64,
    /// Session lifetime set by PEXPIRE on every write.
    pub ttl_ms: u64,
    /// Size of the `data` field.
    pub datasize: usize,
}

/// Session store: HSET of a 5-field hash + PEXPIRE on write, HGETALL on read.
pub fn session(o: &SessionOptions) -> Workload {
    let data = value(o.datasize);
    let key: &[u8] = b"session:__rand_key__";
    let ttl = o.ttl_ms.to_string();
    let write = Template::new(
        &[
            args(&[
                b"HSET",
                key,
                b"user_id",
                b"__rand_key__",
                b"created",
                b"1700000000",
                b"last_seen",
                b"__rand_int__",
                b"csrf",
                b"__rand_int__",
                b"data",
                &data,
            ]),
            args(&[b"PEXPIRE", key, ttl.as_bytes()]),
        ],
        false,
        true,
    );
    let read = Template::new(&[args(&[b"HGETALL", key])], false, true);
    let per_mille = (o.read_ratio.clamp(0.0, 1.0) * 1000.0).round() as u32;
    let mut ops = Vec::new();
    if per_mille > 0 {
        ops.push(Op {
            label: "read",
            weight: per_mille,
            template: read,
        });
    }
    if per_mille < 1000 {
        ops.push(Op {
            label: "write",
            weight: 1000 - per_mille,
            template: write,
        });
    }
    Workload {
        title: format!(
            "SESSION ({:.0}% HGETALL, {:.0}% HSET+PEXPIRE)",
            f64::from(per_mille) / 10.0,
            100.0 - f64::from(per_mille) / 10.0
        ),
        id: "session".into(),
        ops,
        setup: Vec::new(),
        subscribers: None,
    }
}

/// How `--preset ratelimit` counts a hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimitMode {
    /// `INCR key` + `PEXPIRE key window NX`, pipelined as one operation.
    IncrExpire,
    /// `EVALSHA` of a script doing the same atomically.
    Script,
}

/// The rate-limit script: count a hit, start the window on the first one.
pub const RATELIMIT_SCRIPT: &str = "local n = redis.call('INCR', KEYS[1])\n\
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end\n\
return n";

/// Rate limiter: fixed-window counters.
pub fn ratelimit(mode: RateLimitMode, window_ms: u64) -> Workload {
    let key: &[u8] = b"ratelimit:__rand_key__";
    let window = window_ms.to_string();
    match mode {
        RateLimitMode::IncrExpire => Workload {
            title: "RATELIMIT (INCR+PEXPIRE NX)".into(),
            id: "ratelimit".into(),
            ops: vec![Op {
                label: "hit",
                weight: 1,
                template: Template::new(
                    &[
                        args(&[b"INCR", key]),
                        args(&[b"PEXPIRE", key, window.as_bytes(), b"NX"]),
                    ],
                    false,
                    true,
                ),
            }],
            setup: Vec::new(),
            subscribers: None,
        },
        RateLimitMode::Script => {
            let sha = sha1_smol::Sha1::from(RATELIMIT_SCRIPT).digest().to_string();
            Workload {
                title: "RATELIMIT (EVALSHA)".into(),
                id: "ratelimit".into(),
                ops: vec![Op {
                    label: "hit",
                    weight: 1,
                    template: Template::new(
                        &[args(&[
                            b"EVALSHA",
                            sha.as_bytes(),
                            b"1",
                            key,
                            window.as_bytes(),
                        ])],
                        false,
                        true,
                    ),
                }],
                setup: vec![args(&[b"SCRIPT", b"LOAD", RATELIMIT_SCRIPT.as_bytes()])],
                subscribers: None,
            }
        }
    }
}

/// Where `--preset tx` puts the keys of one transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxKeys {
    /// One hash tag for the three keys: one Redis Cluster slot, one Shoal shard.
    OneShard,
    /// Three hash tags on three consecutive slots: Shoal puts slot `s` on shard
    /// `s mod shards`, so consecutive slots land on min(3, shards) shards.
    CrossShard,
}

/// Keys per transaction of `--preset tx`.
pub const TX_KEYS: usize = 3;

/// Hash tags (`t<n>`) whose slots are `s, s+1, ..., s+count-1` for some `s`,
/// found by a deterministic scan (the same tags on every run).
pub fn consecutive_slot_tags(count: usize) -> Vec<String> {
    use crate::bench::cluster::slot;
    let mut by_slot: Vec<Option<u32>> = vec![None; 16384];
    for n in 0..1_000_000u32 {
        let s = usize::from(slot(format!("t{n}").as_bytes()));
        if let Some(e) = by_slot.get_mut(s) {
            e.get_or_insert(n);
        }
        // The window ending at s, or any window through s.
        let lo = s.saturating_sub(count - 1);
        for start in lo..=s {
            let tags: Option<Vec<u32>> = (start..start + count)
                .map(|i| by_slot.get(i).copied().flatten())
                .collect();
            if let Some(tags) = tags {
                return tags.into_iter().map(|t| format!("t{t}")).collect();
            }
        }
    }
    // Unreachable: 16384 slots fill up long before a million tags.
    (0..count).map(|i| format!("t{i}")).collect()
}

/// Transaction: `MULTI`, three `SET`s, `EXEC`, written together as one
/// operation timed until EXEC's reply; EXEC must be an array of 3.
pub fn tx(keys: TxKeys, datasize: usize) -> Workload {
    let v = value(datasize);
    let names: Vec<Vec<u8>> = match keys {
        TxKeys::OneShard => ["a", "b", "c"]
            .iter()
            .map(|suffix| format!("{{tx:__rand_key__}}{suffix}").into_bytes())
            .collect(),
        TxKeys::CrossShard => consecutive_slot_tags(TX_KEYS)
            .iter()
            .map(|tag| format!("{{{tag}}}:__rand_key__").into_bytes())
            .collect(),
    };
    let mut commands = vec![args(&[b"MULTI"])];
    for k in &names {
        commands.push(args(&[b"SET", k, &v]));
    }
    commands.push(args(&[b"EXEC"]));
    let template = Template::new(&commands, false, true).expecting_last(Expect::Array(3));
    let title = match keys {
        TxKeys::OneShard => "TX (MULTI, 3 SET, EXEC; keys on one shard)",
        TxKeys::CrossShard => "TX (MULTI, 3 SET, EXEC; keys on 3 slots, cross-shard)",
    };
    Workload {
        title: title.into(),
        id: "tx".into(),
        ops: vec![Op {
            label: "tx",
            weight: 1,
            template,
        }],
        setup: Vec::new(),
        subscribers: None,
    }
}

/// The channel of `--preset publish`.
pub const PUBLISH_CHANNEL: &[u8] = b"shoal-benchmark:channel";

/// Pub/Sub fan-out: `PUBLISH` of a `datasize`-byte message to one channel
/// that `subscribers` connections read.
pub fn publish(subscribers: usize, datasize: usize) -> Workload {
    let v = value(datasize);
    Workload {
        title: format!("PUBLISH ({subscribers} subscribers)"),
        id: "publish".into(),
        ops: vec![Op {
            label: "publish",
            weight: 1,
            template: Template::new(&[args(&[b"PUBLISH", PUBLISH_CHANNEL, &v])], false, false),
        }],
        setup: Vec::new(),
        // No subscribers, nothing to deliver or check.
        subscribers: (subscribers > 0).then(|| Subscribers {
            channel: PUBLISH_CHANNEL.to_vec(),
            count: subscribers,
        }),
    }
}

/// A seeded generator for one client (distinct streams per client).
pub fn client_rng(seed: u64, client: usize) -> SmallRng {
    use rand::SeedableRng;
    let mut base =
        SmallRng::seed_from_u64(seed ^ (client as u64).wrapping_mul(0xA076_1D64_78BD_642F));
    SmallRng::seed_from_u64(base.next_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Split multibulk commands back into arguments (test helper, trusting input).
    fn parse_all(bytes: &[u8]) -> Vec<Vec<String>> {
        fn line<'a>(b: &'a [u8], pos: &mut usize) -> &'a [u8] {
            let end = *pos + memchr::memmem::find(&b[*pos..], b"\r\n").unwrap();
            let l = &b[*pos..end];
            *pos = end + 2;
            l
        }
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            let n: usize = std::str::from_utf8(&line(bytes, &mut pos)[1..])
                .unwrap()
                .parse()
                .unwrap();
            let mut cmd = Vec::new();
            for _ in 0..n {
                let len: usize = std::str::from_utf8(&line(bytes, &mut pos)[1..])
                    .unwrap()
                    .parse()
                    .unwrap();
                cmd.push(String::from_utf8_lossy(&bytes[pos..pos + len]).into_owned());
                pos += len + 2;
            }
            out.push(cmd);
        }
        out
    }

    #[test]
    fn set_is_what_redis_benchmark_sends() {
        let o = TestOptions {
            datasize: 3,
            random: false,
            cluster: false,
        };
        let tests = standard(&["set".into()], &o);
        assert_eq!(tests.len(), 1);
        let mut rng = client_rng(1, 0);
        let mut out = Vec::new();
        tests[0].ops[0].template.fill(
            &Keys::new(10, KeyDist::Uniform).unwrap(),
            &mut rng,
            &mut out,
        );
        let cmds = parse_all(&out);
        assert_eq!(cmds[0][0], "SET");
        assert_eq!(
            cmds[0][1], "key:__rand_int__",
            "no -r: the placeholder is sent as is"
        );
        assert_eq!(cmds[0][2].len(), 3);
    }

    #[test]
    fn random_fields_are_twelve_digits_in_range() {
        let t = Template::new(
            &[args(&[
                b"MSET",
                b"a:__rand_int__",
                b"v",
                b"b:__rand_int__",
                b"v",
            ])],
            false,
            true,
        );
        let keys = Keys::new(5, KeyDist::Uniform).unwrap();
        let mut rng = client_rng(7, 3);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let mut out = Vec::new();
            t.fill(&keys, &mut rng, &mut out);
            let c = &parse_all(&out)[0];
            for k in [&c[1], &c[3]] {
                let digits = &k[2..];
                assert_eq!(digits.len(), 12);
                let n: u64 = digits.parse().unwrap();
                assert!(n < 5);
                seen.insert(n);
            }
        }
        assert_eq!(seen.len(), 5, "every key of the space is drawn");
    }

    #[test]
    fn rand_key_is_shared_within_an_operation() {
        let w = session(&SessionOptions {
            read_ratio: 0.0,
            ttl_ms: 1000,
            datasize: 8,
        });
        assert_eq!(w.ops.len(), 1);
        let keys = Keys::new(1_000_000, KeyDist::Uniform).unwrap();
        let mut rng = client_rng(1, 1);
        let mut out = Vec::new();
        let key = w.ops[0].template.fill(&keys, &mut rng, &mut out).unwrap();
        let cmds = parse_all(&out);
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0][0], "HSET");
        assert_eq!(cmds[0].len(), 12, "5 fields");
        assert_eq!(cmds[1][0], "PEXPIRE");
        assert_eq!(cmds[0][1], cmds[1][1]);
        assert_eq!(&out[key.0..key.0 + key.1], cmds[0][1].as_bytes());
    }

    #[test]
    fn lrange_is_preceded_by_its_fill_and_names_match() {
        let o = TestOptions {
            datasize: 3,
            random: false,
            cluster: false,
        };
        let all = standard(&[], &o);
        let titles: Vec<_> = all.iter().map(|w| w.title.as_str()).collect();
        assert_eq!(titles[0], "PING_INLINE");
        assert_eq!(titles.len(), 19 + 4);
        let i = titles
            .iter()
            .position(|t| t.starts_with("LRANGE_300"))
            .unwrap();
        assert_eq!(titles[i - 1], "LPUSH (needed to benchmark LRANGE)");
        assert_eq!(all[0].ops[0].template.raw(), b"PING\r\n");
        assert!(check_test_names(&["foo".into()]).is_err());
        assert!(check_test_names(&["ping".into(), "mset".into()]).is_ok());
        assert_eq!(standard(&["ping".into()], &o).len(), 2);
    }

    #[test]
    fn cluster_mset_keys_share_a_slot() {
        let o = TestOptions {
            datasize: 3,
            random: true,
            cluster: true,
        };
        let w = &standard(&["mset".into()], &o)[0];
        let keys = Keys::new(1_000_000, KeyDist::Uniform).unwrap();
        let mut rng = client_rng(2, 0);
        let mut out = Vec::new();
        w.ops[0].template.fill(&keys, &mut rng, &mut out);
        let c = &parse_all(&out)[0];
        let slots: std::collections::HashSet<_> = (1..c.len())
            .step_by(2)
            .map(|i| crate::bench::cluster::slot(c[i].as_bytes()))
            .collect();
        assert_eq!(slots.len(), 1);
    }

    #[test]
    fn zipf_prefers_a_few_keys() {
        let keys = Keys::new(10_000, KeyDist::Zipf(0.99)).unwrap();
        let mut rng = client_rng(3, 0);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..20_000 {
            *counts.entry(keys.draw(&mut rng)).or_insert(0u32) += 1;
        }
        let mut c: Vec<u32> = counts.values().copied().collect();
        c.sort_unstable_by(|a, b| b.cmp(a));
        let top10: u32 = c.iter().take(10).sum();
        // Uniform would put ~0.1% of draws on the 10 most drawn keys; Zipf(0.99) ~25%.
        assert!(top10 > 2_000, "top 10 keys got {top10} of 20000");
        assert!(Keys::new(10, KeyDist::Zipf(-1.0)).is_err());
    }

    #[test]
    fn tx_one_shard_keys_share_a_slot_and_exec_must_be_an_array_of_3() {
        let w = tx(TxKeys::OneShard, 4);
        let t = &w.ops[0].template;
        assert_eq!(t.commands(), 5);
        assert_eq!(t.last_reply(), Some(Expect::Array(3)));
        let keys = Keys::new(1_000_000, KeyDist::Uniform).unwrap();
        let mut rng = client_rng(5, 0);
        let mut seen_slots = std::collections::HashSet::new();
        for _ in 0..50 {
            let mut out = Vec::new();
            t.fill(&keys, &mut rng, &mut out);
            let c = parse_all(&out);
            let names: Vec<_> = c.iter().map(|c| c[0].as_str()).collect();
            assert_eq!(names, ["MULTI", "SET", "SET", "SET", "EXEC"]);
            let slots: std::collections::HashSet<_> = c[1..4]
                .iter()
                .map(|c| crate::bench::cluster::slot(c[1].as_bytes()))
                .collect();
            assert_eq!(slots.len(), 1, "{c:?}");
            assert!(c[1][1].ends_with('a') && c[3][1].ends_with('c'));
            seen_slots.extend(slots);
        }
        assert!(seen_slots.len() > 40, "transactions spread over slots");
        assert!(Expect::Array(3).matches(b"*3\r\n+OK\r\n+OK\r\n+OK\r\n"));
        assert!(!Expect::Array(3).matches(b"*-1\r\n"));
        assert!(!Expect::Array(3).matches(b"*2\r\n+OK\r\n+OK\r\n"));
    }

    #[test]
    fn tx_cross_shard_keys_are_on_consecutive_slots() {
        let w = tx(TxKeys::CrossShard, 4);
        let keys = Keys::new(1_000_000, KeyDist::Uniform).unwrap();
        let mut rng = client_rng(5, 0);
        let mut out = Vec::new();
        w.ops[0].template.fill(&keys, &mut rng, &mut out);
        let c = parse_all(&out);
        let slots: Vec<u16> = c[1..4]
            .iter()
            .map(|c| crate::bench::cluster::slot(c[1].as_bytes()))
            .collect();
        assert_eq!(slots[1], slots[0] + 1, "{c:?}");
        assert_eq!(slots[2], slots[0] + 2, "{c:?}");
        // The three keys of one transaction share their random part.
        let suffix = |k: &str| k.rsplit(':').next().unwrap().to_string();
        assert_eq!(suffix(&c[1][1]), suffix(&c[3][1]));
        for shards in 2..=8u16 {
            let owners: std::collections::HashSet<_> = slots.iter().map(|s| s % shards).collect();
            assert_eq!(owners.len(), usize::from(shards.min(3)), "{shards} shards");
        }
    }

    #[test]
    fn publish_names_its_subscribers() {
        let w = publish(10, 16);
        let s = w.subscribers.as_ref().unwrap();
        assert_eq!((s.channel.as_slice(), s.count), (PUBLISH_CHANNEL, 10));
        let c = parse_all(w.ops[0].template.raw());
        assert_eq!(c[0][0], "PUBLISH");
        assert_eq!(c[0][2].len(), 16);
        assert_eq!(w.title, "PUBLISH (10 subscribers)");
        assert_eq!(publish(0, 3).subscribers, None);
    }

    #[test]
    fn ratelimit_script_sha_matches_what_redis_computes() {
        let w = ratelimit(RateLimitMode::Script, 1000);
        let t = w.ops[0].template.raw();
        let sha = sha1_smol::Sha1::from(RATELIMIT_SCRIPT).digest().to_string();
        assert!(memchr::memmem::find(t, sha.as_bytes()).is_some());
        assert_eq!(w.setup.len(), 1);
    }
}
