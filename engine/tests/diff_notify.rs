//! Keyspace notifications against redis-server: the same commands run on
//! both servers while a subscriber on each (PSUBSCRIBE `__key*@*__:*`)
//! records what is published, with `notify-keyspace-events` set to `KEA`,
//! `AKEn` (with `new`) and narrower class sets; then the `expired` flows
//! (active sweep, and EXISTS forcing the expiry as Spring Session does),
//! blocked clients served by a later push, classes that are off, and
//! CONFIG GET's spelling.
//!
//! With 2 shards `{foo}` keys live on shard 0 and `{bar}` keys on shard 1.
//! Each shard publishes its own events in order, but when one command
//! touches keys on both shards (RENAME, LMOVE, SMOVE, *STORE, MSET, ...)
//! the subscriber may receive the two shards' messages interleaved
//! differently than single-threaded Redis sends them. So each command's
//! messages are compared per owning shard: within a shard the sequence
//! must be Redis's exactly, which still checks the order of events on one
//! key and between keys of one shard.

#![allow(clippy::unwrap_used)]

mod common;

use common::{sorted, words, Pair};
use resp::client::Client;
use resp::Frame;
use std::io;
use std::thread;
use std::time::{Duration, Instant};

/// One published message: (channel, payload).
type Msg = (Vec<u8>, Vec<u8>);

/// How long Redis's subscriber must stay quiet before a command's messages
/// are taken as complete (Redis writes them before it answers the command).
const REDIS_IDLE: Duration = Duration::from_millis(30);
/// How long Shoal's subscriber must stay quiet after Redis's count of
/// messages arrived (extra messages would show up here).
const SHOAL_IDLE: Duration = Duration::from_millis(30);
/// How long to wait for Shoal to publish as many messages as Redis did.
const PATIENCE: Duration = Duration::from_secs(3);

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn bytes(f: &Frame) -> Vec<u8> {
    match f {
        Frame::Bulk(b) | Frame::Simple(b) => b.to_vec(),
        other => panic!("expected a bulk string, got {other}"),
    }
}

/// A `pmessage` frame as (channel, payload).
fn message(f: Frame) -> Msg {
    match f {
        Frame::Array(v) if v.len() == 4 && bytes(&v[0]) == b"pmessage" => {
            (bytes(&v[2]), bytes(&v[3]))
        }
        other => panic!("expected a pmessage, got {other}"),
    }
}

/// Read messages until at least `min` arrived (waiting up to `patience`)
/// and then nothing more for `idle`.
fn read_messages(sub: &mut Client, min: usize, patience: Duration, idle: Duration) -> Vec<Msg> {
    let mut out = Vec::new();
    let deadline = Instant::now() + patience;
    loop {
        let wait = if out.len() >= min {
            idle
        } else {
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        };
        sub.set_read_timeout(Some(wait)).unwrap();
        match sub.read() {
            Ok(f) => out.push(message(f)),
            Err(e) if is_timeout(&e) => {
                if out.len() >= min || Instant::now() >= deadline {
                    break;
                }
            }
            Err(e) => panic!("subscriber: {e}"),
        }
    }
    sub.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    out
}

/// The key a message is about: the channel's tail for `__keyspace@`,
/// the payload for `__keyevent@`.
fn key_of(m: &Msg) -> &[u8] {
    let (ch, payload) = m;
    if ch.starts_with(b"__keyspace@") {
        let at = ch.windows(3).position(|w| w == b"__:").unwrap();
        &ch[at + 3..]
    } else {
        payload
    }
}

/// Messages split by the shard owning their key (2 shards).
fn per_shard(msgs: &[Msg]) -> [Vec<Msg>; 2] {
    let mut out: [Vec<Msg>; 2] = [Vec::new(), Vec::new()];
    for m in msgs {
        out[shoal::shard::owner_of(key_of(m), 2)].push(m.clone());
    }
    out
}

fn show(msgs: &[Msg]) -> String {
    msgs.iter()
        .map(|(c, p)| {
            format!(
                "{} {}",
                String::from_utf8_lossy(c),
                String::from_utf8_lossy(p)
            )
        })
        .collect::<Vec<_>>()
        .join("\n    ")
}

/// A command connection and a subscriber on each server.
struct Watch {
    /// shoal, redis
    cmd: [Client; 2],
    sub: [Client; 2],
}

impl Watch {
    /// Set `flags` on both servers and subscribe to every keyspace channel.
    fn new(pair: &Pair, flags: &str) -> Watch {
        let mut w = Watch {
            cmd: [pair.shoal.client(), pair.redis.client()],
            sub: [pair.shoal.client(), pair.redis.client()],
        };
        for c in &mut w.cmd {
            let r = c
                .call(["CONFIG", "SET", "notify-keyspace-events", flags])
                .unwrap();
            assert_eq!(r, Frame::Simple("OK".into()), "CONFIG SET {flags}");
        }
        for s in &mut w.sub {
            let r = s.call(["PSUBSCRIBE", "__key*@*__:*"]).unwrap();
            assert!(matches!(r, Frame::Array(_)), "PSUBSCRIBE: {r}");
        }
        w
    }

    /// Run `line` on both servers; the replies must match (up to element
    /// order when `unordered`), and so must the messages it published, per
    /// shard.
    fn step(&mut self, line: &str, unordered: bool) {
        let w = words(line);
        let mut replies: Vec<Frame> = self
            .cmd
            .iter_mut()
            .map(|c| c.call(&w).unwrap_or_else(|e| panic!("{line}: {e}")))
            .collect();
        if unordered {
            replies = replies.into_iter().map(sorted).collect();
        }
        assert_eq!(
            replies[0], replies[1],
            "\ncommand: {line}\n  shoal: {}\n  redis: {}",
            replies[0], replies[1]
        );
        self.expect_same_messages(line);
    }

    /// The messages both subscribers received since the last check must
    /// match per shard.
    fn expect_same_messages(&mut self, what: &str) {
        let [s, r] = &mut self.sub;
        let theirs = read_messages(r, 0, PATIENCE, REDIS_IDLE);
        let ours = read_messages(s, theirs.len(), PATIENCE, SHOAL_IDLE);
        let (a, b) = (per_shard(&ours), per_shard(&theirs));
        for shard in 0..2 {
            assert_eq!(
                a[shard],
                b[shard],
                "\ncommand: {what}\nshard {shard} messages\n  shoal:\n    {}\n  redis:\n    {}",
                show(&a[shard]),
                show(&b[shard])
            );
        }
    }

    /// Run every non-empty, non-comment line of `script` through
    /// [`Watch::step`] (a `~ ` prefix compares the reply unordered).
    fn script(&mut self, script: &str) {
        for line in script
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            match line.strip_prefix("~ ") {
                Some(rest) => self.step(rest, true),
                None => self.step(line, false),
            }
        }
    }
}

const STRINGS: &str = r#"
SET s{foo} v
SET s{foo} v2 EX 100
SET s{foo} v3 NX
SET s{foo} v4 XX KEEPTTL
SET s{foo} v5 GET
SET nope{foo} v5 XX
SET s{bar} 1 PX 100000
SETNX s{bar} 2
SETNX n{bar} 2
SETEX e{foo} 100 x
PSETEX e{bar} 100000 y
SETEX e{foo} 0 x
GETSET s{foo} g
GETSET g{foo} g
INCR i{foo}
INCRBY i{foo} 5
DECR i{foo}
DECRBY i{foo} 2
INCR s{foo}
INCRBY i{foo} 9223372036854775807
INCRBYFLOAT f{bar} 1.5
INCRBYFLOAT f{bar} 1.5
INCRBYFLOAT s{foo} 1
APPEND a{foo} hello
APPEND a{foo} world
SETRANGE a{foo} 2 XY
SETRANGE r{bar} 0 ""
SETRANGE r{bar} 3 abc
SETRANGE r{bar} 1 ""
STRLEN a{foo}
GETRANGE a{foo} 0 3
GET a{foo}
GETDEL a{foo}
GETDEL a{foo}
GETEX s{bar} EX 1000
GETEX s{bar} PERSIST
GETEX s{bar} PERSIST
GETEX s{bar}
GETEX s{bar} PXAT 1
GETEX s{bar} EX 10
MSET m{foo} 1 m{bar} 2 m2{foo} 3
MSET m3{foo} 1 m4{foo} 2
MSETNX m{foo} 1 mm{bar} 2
MSETNX mn{foo} 1 mm{bar} 2
MGET m{foo} m{bar} nope{foo}
LCS m{foo} m2{foo}
LPUSH s{foo} x
"#;

const GENERIC: &str = r#"
DEL m{foo} m{bar} nosuch{foo}
DEL m3{foo} m4{foo}
UNLINK m2{foo} mm{bar}
EXISTS mn{foo} nosuch{foo}
TOUCH mn{foo}
TYPE mn{foo}
EXPIRE mn{foo} 100
EXPIRE mn{foo} 50 NX
EXPIRE mn{foo} 200 GT
PEXPIRE mn{foo} 100000 LT
EXPIREAT mn{foo} 99999999999
PEXPIREAT mn{foo} 99999999999999 XX
PERSIST mn{foo}
PERSIST mn{foo}
EXPIRE nosuch{foo} 10
EXPIRE mn{foo} 10 XX
SET x{foo} 1
EXPIRE x{foo} -1
SET x{bar} 1
PEXPIREAT x{bar} 1
EXISTS x{foo} x{bar}
RENAME mn{foo} r2{foo}
RENAME r2{foo} r2{foo}
RENAMENX r2{foo} s{foo}
RENAME r2{foo} s{foo}
RENAME s{foo} r3{bar}
RENAMENX r3{bar} r4{foo}
RENAMENX r4{foo} r4{foo}
RENAME nosuch{foo} x
SET r4{foo} val EX 100
COPY r4{foo} c{foo}
COPY r4{foo} c{foo}
COPY r4{foo} c{foo} REPLACE
COPY r4{foo} c{bar}
COPY r4{foo} c{foo} DB 1
COPY nosuch{foo} c{foo}
MOVE c{foo} 1
MOVE c{bar} 1
MOVE nosuch{foo} 1
SELECT 1
MOVE c{foo} 0
COPY c{foo} c2{foo} DB 0
SET k1{bar} v
GETDEL k1{bar}
SELECT 0
MULTI
SET t{foo} 1
INCR t{foo}
SET t{bar} 2
DEL t{foo} t{bar}
EXEC
"#;

const HASHES: &str = r#"
HSET h{foo} a 1 b 2
HSET h{foo} a 1
HMSET h{foo} c 3
HSETNX h{foo} a 9
HSETNX h{foo} d 4
HSETNX hn{bar} a 1
HINCRBY h{foo} a 5
HINCRBYFLOAT h{foo} b 1.5
HINCRBY h{foo} nf 1
HINCRBY h{foo} b 1
HDEL h{foo} zz
HDEL h{foo} a b
HGET h{foo} c
HGETALL hn{bar}
HDEL hn{bar} a
HDEL h{foo} c d nf
HDEL h{foo} c
HSET s{bar} f v
"#;

const LISTS: &str = r#"
LPUSH l{foo} a b c
RPUSH l{foo} d e
LPUSHX lx{foo} a
RPUSHX l{foo} f
LPUSHX l{foo} g
LINSERT l{foo} BEFORE a z
LINSERT l{foo} AFTER nope z
LINSERT nosuch{foo} AFTER a z
LSET l{foo} 0 q
LSET l{foo} 100 q
LSET nosuch{foo} 0 q
LREM l{foo} 0 nope
LREM l{foo} 1 q
LTRIM l{foo} 0 -1
LTRIM l{foo} 1 5
LTRIM nosuch{foo} 0 1
LPOP l{foo}
RPOP l{foo} 0
RPOP l{foo} 1
LPOP nosuch{foo}
LRANGE l{foo} 0 -1
LINDEX l{foo} 0
LLEN l{foo}
LPOS l{foo} d
RPUSH one{foo} x
RPOPLPUSH one{foo} one{foo}
LMOVE one{foo} one{foo} LEFT LEFT
LMOVE one{foo} two{foo} LEFT RIGHT
RPUSH two{foo} y
LMOVE two{foo} one{bar} RIGHT LEFT
LMOVE two{foo} one{bar} RIGHT LEFT
LMOVE nosuch{foo} one{bar} LEFT LEFT
LMOVE one{bar} s{bar} LEFT LEFT
RPUSH mp{foo} 1 2 3
LMPOP 2 nosuch{foo} mp{foo} LEFT COUNT 2
LMPOP 1 mp{foo} RIGHT COUNT 5
LMPOP 2 nosuch{foo} one{bar} LEFT
LMPOP 1 nosuch{foo} LEFT
LTRIM l{foo} 5 1
RPUSH l2{bar} a a b a
LREM l2{bar} -2 a
LREM l2{bar} 0 a
LPOP l2{bar} 5
RPUSH bl{foo} a b
BLPOP nosuch{foo} bl{foo} 0
BRPOP bl{foo} 0
RPUSH bl{foo} x y
BLMOVE bl{foo} bl2{foo} LEFT RIGHT 0
BRPOPLPUSH bl{foo} bl3{bar} 0
BLMOVE bl2{foo} bl2{foo} LEFT RIGHT 0
BLMPOP 0 2 bl2{foo} bl3{bar} LEFT COUNT 3
BLMPOP 0 1 bl3{bar} RIGHT COUNT 3
LPUSH s{bar} x
"#;

const SETS: &str = r#"
SADD st{foo} a b c
SADD st{foo} a
SREM st{foo} z
SREM st{foo} a
SREM nosuch{foo} a
SMOVE st{foo} st2{foo} b
SMOVE st{foo} st2{foo} b
SADD st2{foo} c
SMOVE st{foo} st2{foo} c
SMOVE st2{foo} st3{bar} b
SMOVE st2{foo} st2{foo} c
SMOVE st2{foo} st3{bar} zz
SADD u{foo} 1 2 3
SADD u{bar} 3 4
~ SINTERSTORE d{foo} u{foo} u{bar}
~ SUNIONSTORE d{foo} u{foo} u{bar}
~ SDIFFSTORE d{bar} u{foo} u{bar}
SINTERSTORE d{foo} u{foo} nosuch{foo}
SINTERSTORE d{foo} u{foo} nosuch{foo}
SDIFFSTORE d{bar} u{foo} u{foo}
SUNIONSTORE d{bar} nosuch{foo}
~ SMEMBERS u{foo}
SPOP u{foo} 0
~ SPOP u{foo} 10
SPOP nosuch{foo}
SADD sp{bar} x
SPOP sp{bar}
SADD sp{bar} x y
~ SPOP sp{bar} 2
SADD s{bar} x
"#;

const ZSETS: &str = r#"
ZADD z{foo} 1 a 2 b
ZADD z{foo} 1 a
ZADD z{foo} CH 5 a
ZADD z{foo} XX 1 nope
ZADD zx{foo} XX 1 a
ZADD zx{foo} XX INCR 1 a
ZADD z{foo} NX 1 a
ZADD z{foo} GT 0 a
ZADD z{foo} LT 0 a
ZADD z{foo} INCR 1 a
ZADD z{foo} INCR 0 a
ZINCRBY z{foo} 2 b
ZINCRBY z{foo} 0 b
ZINCRBY z{foo} 1 c
ZREM z{foo} nope
ZREM z{foo} c
ZADD z{foo} 10 c 11 d 12 e
ZREMRANGEBYSCORE z{foo} 100 200
ZREMRANGEBYSCORE z{foo} 10 10
ZREMRANGEBYRANK z{foo} 0 0
ZREMRANGEBYRANK nosuch{foo} 0 0
ZADD zl{bar} 0 a 0 b 0 c
ZREMRANGEBYLEX zl{bar} [x [z
ZREMRANGEBYLEX zl{bar} [a [b
ZREMRANGEBYLEX zl{bar} - +
ZRANGE z{foo} 0 -1 WITHSCORES
ZPOPMIN z{foo}
ZPOPMAX z{foo} 0
ZPOPMAX z{foo} 10
ZPOPMIN nosuch{foo}
ZADD za{foo} 1 a 2 b
ZADD za{bar} 2 b 3 c
ZUNIONSTORE zd{foo} 2 za{foo} za{bar}
ZINTERSTORE zd{foo} 2 za{foo} za{bar}
ZDIFFSTORE zd{bar} 2 za{foo} za{bar}
ZINTERSTORE zd{foo} 2 za{foo} nosuch{foo}
ZINTERSTORE zd{foo} 2 za{foo} nosuch{foo}
ZDIFFSTORE zd{bar} 2 za{foo} za{foo}
ZRANGESTORE zr{foo} za{foo} 0 -1
ZRANGESTORE zr{foo} za{foo} 5 6
ZRANGESTORE zr{bar} za{foo} 0 0
ZRANGESTORE zr{bar} nosuch{foo} 0 0
ZRANGESTORE zr{bar} za{foo} 0 0
ZMPOP 2 nosuch{foo} za{foo} MIN COUNT 1
ZMPOP 1 za{foo} MAX COUNT 5
ZMPOP 2 nosuch{foo} za{bar} MAX
BZPOPMIN za{bar} 0
ZADD za{bar} 1 a 2 b 3 c
BZPOPMAX za{bar} 0
BZMPOP 0 1 za{bar} MIN COUNT 5
ZADD s{bar} 1 a
"#;

const BITS: &str = r#"
SETBIT b{foo} 7 1
SETBIT b{foo} 7 1
SETBIT b{foo} 100 0
SETBIT b{foo} 1 2
GETBIT b{foo} 7
BITFIELD b{foo} GET u8 0
BITFIELD b{foo} SET u8 0 255
BITFIELD b{foo} OVERFLOW FAIL INCRBY u8 0 10
BITFIELD bf{bar} GET u8 0
BITFIELD bf{bar} INCRBY u8 0 1
BITFIELD_RO b{foo} GET u8 0
BITOP OR bo{foo} b{foo} bf{bar}
BITOP NOT bo{bar} bf{bar}
BITOP AND bo{foo} nosuch{foo}
BITOP AND bo{foo} nosuch{foo}
BITCOUNT b{foo}
BITPOS b{foo} 1
PFADD p{foo} a b c
PFADD p{foo} a
PFADD p2{foo}
PFADD p2{foo}
PFCOUNT p{foo}
PFCOUNT p{foo} p2{foo}
PFMERGE pm{foo} p{foo} p2{foo}
PFMERGE pm{bar} p{foo}
PFMERGE pm{bar}
PFADD h{bar} a
SETBIT h{bar} 1 1
"#;

const SERVER: &str = r#"
SET k{foo} 1
SET k{bar} 2
SWAPDB 0 1
SWAPDB 0 1
FLUSHDB
SET k{foo} 1
FLUSHALL
DBSIZE
"#;

fn run_all(pair: &Pair, flags: &str) {
    let mut w = Watch::new(pair, flags);
    w.step("FLUSHALL", false);
    for script in [STRINGS, GENERIC, HASHES, LISTS, SETS, ZSETS, BITS, SERVER] {
        w.script(script);
    }
}

#[test]
fn every_family_raises_redis_events() {
    let pair = Pair::start();
    run_all(&pair, "KEA");
}

#[test]
fn key_creation_events_fall_where_redis_raises_them() {
    let pair = Pair::start();
    run_all(&pair, "AKEn");
}

#[test]
fn class_subsets_publish_only_their_events() {
    let pair = Pair::start();
    // Only generic events, keyspace channels only; then only keyevent
    // channels for expiry; then strings and lists without generic.
    let runs: &[(&str, &[&str])] = &[
        ("Kg", &[GENERIC, LISTS]),
        ("Ex", &[GENERIC]),
        ("E$l", &[STRINGS, LISTS]),
        ("Kszh", &[HASHES, SETS, ZSETS]),
    ];
    for (flags, scripts) in runs {
        let mut w = Watch::new(&pair, flags);
        w.step("FLUSHALL", false);
        for s in *scripts {
            w.script(s);
        }
    }
}

/// Resolve `RESTORE` payloads per server: DUMP on each and RESTORE what
/// that server dumped.
#[test]
fn restore_raises_restore_and_del() {
    let pair = Pair::start();
    let mut w = Watch::new(&pair, "KEA");
    w.script("FLUSHALL\nRPUSH src{foo} a b\nSET v{bar} x");
    let payloads: Vec<Vec<u8>> = w
        .cmd
        .iter_mut()
        .map(|c| bytes(&c.call(["DUMP", "src{foo}"]).unwrap()))
        .collect();
    let cases: &[&[&str]] = &[
        &["RESTORE", "r{foo}", "0", "$"],
        &["RESTORE", "r{foo}", "0", "$"],
        &["RESTORE", "r{foo}", "0", "$", "REPLACE"],
        &["RESTORE", "r{bar}", "100000", "$"],
        &["RESTORE", "v{bar}", "1", "$", "REPLACE", "ABSTTL"],
        &["RESTORE", "gone{bar}", "1", "$", "ABSTTL"],
        &["RESTORE", "r{bar}", "0", "$", "REPLACE", "IDLETIME", "5"],
    ];
    for case in cases {
        let mut replies = Vec::new();
        for (c, payload) in w.cmd.iter_mut().zip(&payloads) {
            let args: Vec<Vec<u8>> = case
                .iter()
                .map(|a| {
                    if *a == "$" {
                        payload.clone()
                    } else {
                        a.as_bytes().to_vec()
                    }
                })
                .collect();
            replies.push(c.call(&args).unwrap());
        }
        assert_eq!(replies[0], replies[1], "{case:?}");
        w.expect_same_messages(&case.join(" "));
    }
    w.script("LRANGE r{foo} 0 -1\nEXISTS v{bar} gone{bar}");
}

/// Blocked clients served by a later push: the push's events, then the
/// pop's (and the source's `del`), as Redis serves them after the command.
#[test]
fn blocked_clients_served_later_raise_pop_events() {
    let pair = Pair::start();
    let mut w = Watch::new(&pair, "KEA");
    w.step("FLUSHALL", false);
    let mut blocked = [pair.shoal.client(), pair.redis.client()];
    let cases: &[(&str, &[&str])] = &[
        ("BLPOP q{foo} 0", &["RPUSH q{foo} a"]),
        ("BRPOP q{foo} q{bar} 0", &["RPUSH q{bar} a"]),
        ("BLMOVE q{foo} d{foo} LEFT RIGHT 0", &["RPUSH q{foo} x"]),
        ("BLMOVE q{foo} d{bar} RIGHT LEFT 0", &["LPUSH q{foo} y"]),
        (
            "BLMPOP 0 2 q{foo} q{bar} LEFT COUNT 5",
            &["RPUSH q{foo} 1 2"],
        ),
        ("BZPOPMIN zq{bar} 0", &["ZADD zq{bar} 1 a"]),
        (
            "BZMPOP 0 1 zq{bar} MAX COUNT 2",
            &["ZADD zq{bar} 1 a 2 b 3 c"],
        ),
        ("BLPOP q{bar} 0", &["LMOVE d{bar} q{bar} LEFT LEFT"]),
    ];
    for (block, then) in cases {
        for c in &mut blocked {
            c.send(words(block)).unwrap();
        }
        // Let both servers register the waiter.
        thread::sleep(Duration::from_millis(150));
        w.expect_same_messages(block);
        for line in *then {
            w.step(line, false);
        }
        let replies: Vec<Frame> = blocked.iter_mut().map(|c| c.read().unwrap()).collect();
        assert_eq!(replies[0], replies[1], "{block}");
        w.expect_same_messages(block);
    }
    w.script("LRANGE d{foo} 0 -1\nLRANGE d{bar} 0 -1\nZRANGE zq{bar} 0 -1");
}

/// Wait up to `patience` for the next message on `sub`.
fn next_message(sub: &mut Client, patience: Duration) -> Option<Msg> {
    sub.set_read_timeout(Some(patience)).unwrap();
    let r = match sub.read() {
        Ok(f) => Some(message(f)),
        Err(e) if is_timeout(&e) => None,
        Err(e) => panic!("subscriber: {e}"),
    };
    sub.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    r
}

/// Spring Session's setup: `CONFIG SET notify-keyspace-events Egx`, then it
/// listens on `__keyevent@0__:expired` for sessions that timed out.
#[test]
fn expired_events_for_spring_session() {
    let pair = Pair::start();
    let mut w = Watch::new(&pair, "Egx");
    for c in &mut w.cmd {
        let r = c.call(["CONFIG", "GET", "notify-keyspace-events"]).unwrap();
        assert_eq!(
            r,
            Frame::Array(vec![
                Frame::Bulk("notify-keyspace-events".into()),
                Frame::Bulk("gxE".into()),
            ])
        );
    }
    w.script("FLUSHALL\nSET sess{foo} a\nSET sess{bar} b");
    // The active sweep removes them (nobody touches the keys), whenever it
    // passes: read the subscribers without the per-command window.
    for c in &mut w.cmd {
        for key in ["sess{foo}", "sess{bar}"] {
            assert_eq!(c.call(["PEXPIRE", key, "50"]).unwrap(), Frame::Integer(1));
        }
    }
    let event = |name: &str, key: &str| {
        (
            format!("__keyevent@0__:{name}").into_bytes(),
            key.as_bytes().to_vec(),
        )
    };
    for (i, sub) in w.sub.iter_mut().enumerate() {
        let mut got: Vec<Msg> = (0..4)
            .filter_map(|_| next_message(sub, Duration::from_secs(5)))
            .collect();
        // Each key's `expire` comes before its `expired`.
        for key in ["sess{foo}", "sess{bar}"] {
            let at = |name: &str| got.iter().position(|m| *m == event(name, key));
            assert!(at("expire") < at("expired"), "server {i}: {}", show(&got));
        }
        got.sort();
        assert_eq!(
            got,
            vec![
                event("expire", "sess{bar}"),
                event("expire", "sess{foo}"),
                event("expired", "sess{bar}"),
                event("expired", "sess{foo}"),
            ],
            "server {i}"
        );
    }
    w.expect_same_messages("active expiry");
    // EXISTS finds the key expired and removes it (or the sweep got there
    // first): either way exactly one `expired`, published by the time
    // EXISTS answers 0.
    for key in ["sess{foo}", "sess{bar}"] {
        w.script(&format!("SET {key} a\nPEXPIRE {key} 300"));
        for (i, c) in w.cmd.iter_mut().enumerate() {
            // The `expire` of PEXPIRE is read by the script's step.
            let start = Instant::now();
            while c.call(["EXISTS", key]).unwrap() != Frame::Integer(0) {
                assert!(start.elapsed() < Duration::from_secs(5), "{key} lives on");
                thread::sleep(Duration::from_millis(1));
            }
            let got = next_message(&mut w.sub[i], Duration::from_secs(3));
            assert_eq!(
                got,
                Some((b"__keyevent@0__:expired".to_vec(), key.as_bytes().to_vec())),
                "server {i}"
            );
        }
        w.expect_same_messages("EXISTS after expiry");
    }
    // A past expiry time deletes at once: `del`, not `expired`.
    w.script("SET gone{foo} a\nPEXPIRE gone{foo} -1\nSET gone{bar} a\nEXPIREAT gone{bar} 1");
}

/// Classes that are off publish nothing, and neither does a class without
/// K or E.
#[test]
fn classes_off_are_not_published() {
    let pair = Pair::start();
    for flags in ["K$", "g", "Ez"] {
        let mut w = Watch::new(&pair, flags);
        w.script(
            "FLUSHALL
            HSET h{foo} a 1
            LPUSH l{bar} a
            SADD s{foo} a
            ZADD z{bar} 1 a
            SET x{foo} 1
            EXPIRE x{foo} 100
            DEL h{foo} l{bar} x{foo}
            INCR n{bar}",
        );
    }
    // Everything off: nothing at all arrives on Shoal's subscriber.
    let mut w = Watch::new(&pair, "");
    w.script("SET x{foo} 1\nDEL x{foo}\nLPUSH l{bar} a");
    assert_eq!(
        next_message(&mut w.sub[0], Duration::from_millis(200)),
        None
    );
}

/// Events name their database.
#[test]
fn events_carry_the_database_index() {
    let pair = Pair::start();
    let mut w = Watch::new(&pair, "KEA");
    w.script(
        "FLUSHALL
        SELECT 3
        SET k{foo} v
        RPUSH l{bar} a
        MOVE k{foo} 0
        COPY l{bar} l2{bar} DB 5
        SELECT 0
        MOVE k{foo} 3
        DEL k{foo}",
    );
}
