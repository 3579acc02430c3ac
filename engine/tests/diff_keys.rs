//! Differential tests of the generic key commands (expiry, rename, copy,
//! move, scan, keys, dump/restore, object) against redis-server.

#![allow(clippy::unwrap_used)]

mod common;

use common::{words, Pair};
use resp::Frame;
use std::collections::BTreeSet;

const SCRIPT: &str = r#"
SET a 1
SET b 2
SET {t}x 3
SET {t}y 4
EXISTS a b c a
EXISTS
TOUCH a c b
DEL a c
DEL a
UNLINK b {t}x
TYPE {t}y
TYPE nope
# EXPIRE family
SET e v
EXPIRE e 100
TTL e
PTTL nope
TTL nope
EXPIRE e 100 NX
EXPIRE e 200 XX
EXPIRE e 50 GT
EXPIRE e 500 GT
EXPIRE e 600 LT
EXPIRE e 50 LT
EXPIRE e 10 NX XX
EXPIRE e 10 GT LT
EXPIRE e 10 NX GT
EXPIRE e 10 FOO
EXPIRE e abc
EXPIRE e 9223372036854775807
EXPIRE e -9223372036854775808
PEXPIRE e 9223372036854775807
EXPIRE nope 10
SET p v
EXPIRE p 10 XX
EXPIRE p 10 GT
EXPIRE p 10 LT
TTL p
PERSIST p
PERSIST p
PERSIST nope
EXPIREAT p 99999999999
EXPIRETIME p
PEXPIRETIME p
PEXPIREAT p 99999999999999
PEXPIRETIME p
EXPIRETIME nope
SET nottl v
EXPIRETIME nottl
EXPIRE p -1
EXISTS p
SET q v
PEXPIREAT q 1
GET q
EXPIREAT q 1
# RENAME RENAMENX COPY MOVE
SET r1 v1
SET r2 v2
RENAME r1 r3
GET r3
RENAME nope x
RENAME r3 r3
RENAME nope nope
RENAMENX r3 r2
RENAMENX r3 r4
RENAMENX r4 r4
GET r4
SET {u}a 1
RENAME {u}a {u}b
GET {u}b
SET ttlkey v
EXPIRE ttlkey 1000
RENAME ttlkey ttlkey2
TTL ttlkey2
COPY r2 r5
GET r5
COPY r2 r5
COPY r2 r5 REPLACE
COPY nope r6
COPY r2 r2
COPY r2 r2 DB 1
COPY r2 x DB 16
COPY r2 x DB abc
COPY r2 x FOO
COPY ttlkey2 ttlcopy
TTL ttlcopy
SELECT 1
GET r2
SELECT 0
MOVE r2 1
MOVE r2 1
MOVE r5 0
MOVE r5 16
MOVE r5 abc
MOVE nope 1
SELECT 1
GET r2
MOVE r2 0
EXISTS r2
SELECT 0
# OBJECT
OBJECT ENCODING r4
OBJECT FREQ r4
OBJECT FOO r4
OBJECT
OBJECT ENCODING
# DUMP / RESTORE
SET dumpme hello
DUMP nope
RESTORE restored 0 "\x00\x05hello\x0a\x00cr\xdfve4\x20\x0a"
RESTORE restored 0 "\x00\x05hello\x0a\x00cr\xdfve4\x20\x0a"
RESTORE restored 0 "\x00\x05hello\x0a\x00cr\xdfve4\x20\x0a" REPLACE
GET restored
RESTORE r7 0 "garbage"
RESTORE r7 -1 "\x00\x05hello\x0a\x00cr\xdfve4\x20\x0a"
RESTORE r7 x "\x00\x05hello\x0a\x00cr\xdfve4\x20\x0a"
RESTORE r7 0 "\x00\x05hello\x0a\x00cr\xdfve4\x20\x0a" FOO
RESTORE r7 0 "\x00\x05hello\x0a\x00cr\xdfve4\x20\x0a" IDLETIME -1
RESTORE r7 0 "\x00\x05hello\x0a\x00cr\xdfve4\x20\x0a" FREQ 300
RESTORE r7 0 "\x00\x05hello\x0a\x00cr\xdfve4\x20\x0a" IDLETIME 10 FREQ 5
RESTORE r7 1000000 "\x00\x05hello\x0a\x00cr\xdfve4\x20\x0a"
TTL r7
RESTORE r8 1 "\x00\x05hello\x0a\x00cr\xdfve4\x20\x0a" ABSTTL
EXISTS r8
RESTORE r9 0 "\x00\x05hello\x0a\x00cr\xdfve4\x20\x0a" IDLETIME 1000
RESTORE r4 x "\x00"
# SCAN argument errors
SCAN x
SCAN 0 COUNT 0
SCAN 0 COUNT x
SCAN 0 MATCH
SCAN 0 FOO bar
"#;

#[test]
fn keys_resp2() {
    let pair = Pair::start();
    let mut d = pair.diff();
    d.script(SCRIPT);
}

#[test]
fn keys_resp3() {
    let pair = Pair::start();
    let mut d = pair.diff();
    d.resp3();
    d.script(SCRIPT);
}

fn scan_all(c: &mut resp::client::Client, extra: &str) -> BTreeSet<Vec<u8>> {
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    for _ in 0..100_000 {
        let mut cmd = words(&format!("SCAN {cursor} {extra}"));
        cmd.retain(|w| !w.is_empty());
        let r = c.call(&cmd).unwrap();
        let Frame::Array(parts) = r else {
            panic!("SCAN reply {r}")
        };
        cursor = parts[0].as_text().unwrap();
        for k in parts[1].as_array().unwrap() {
            seen.insert(k.as_bytes().unwrap().to_vec());
        }
        if cursor == "0" {
            return seen;
        }
    }
    panic!("SCAN did not terminate");
}

#[test]
fn restore_idletime_is_kept() {
    // Not in the script: a second boundary between RESTORE and OBJECT
    // IDLETIME on one server but not the other would make them differ by 1.
    let pair = Pair::start();
    for s in [&pair.shoal, &pair.redis] {
        let mut c = s.client();
        c.call(["SET", "k", "v"]).unwrap();
        let Frame::Bulk(p) = c.call(["DUMP", "k"]).unwrap() else {
            panic!()
        };
        c.call([&b"RESTORE"[..], b"r", b"0", &p, b"IDLETIME", b"1000"])
            .unwrap();
        let r = c.call(["OBJECT", "IDLETIME", "r"]).unwrap();
        assert!(matches!(r, Frame::Integer(1000 | 1001)), "{r}");
    }
    // Past 2^24 seconds the idle time wraps, in Redis's 24-bit LRU clock
    // and in ours alike.
    let mut idle = Vec::new();
    for s in [&pair.shoal, &pair.redis] {
        let mut c = s.client();
        let Frame::Bulk(p) = c.call(["DUMP", "k"]).unwrap() else {
            panic!()
        };
        c.call([&b"RESTORE"[..], b"big", b"0", &p, b"IDLETIME", b"100000000"])
            .unwrap();
        match c.call(["OBJECT", "IDLETIME", "big"]).unwrap() {
            Frame::Integer(i) => idle.push(i),
            r => panic!("{r}"),
        }
    }
    assert!(idle[0].abs_diff(idle[1]) <= 1, "shoal {idle:?} redis");
    assert!(idle[0] < 1 << 24, "{idle:?}");
}

#[test]
fn keys_scan_and_randomkey_agree_as_sets() {
    let pair = Pair::start();
    let mut d = pair.diff();
    for i in 0..500 {
        d.same(&format!("SET key:{i} {i}"));
    }
    d.same("SET other x");
    d.same("INCR counter");
    d.same_unordered("KEYS *");
    d.same_unordered("KEYS key:1*");
    d.same_unordered("KEYS key:?");
    d.same_unordered("KEYS key:[1-2]?");
    d.same_unordered("KEYS nomatch*");
    d.same("DBSIZE");
    for extra in [
        "",
        "COUNT 7",
        "MATCH key:4*",
        "COUNT 100 MATCH *1",
        "TYPE string",
        "TYPE list",
    ] {
        let a = scan_all(&mut d.shoal, extra);
        let b = scan_all(&mut d.redis, extra);
        assert_eq!(a, b, "SCAN {extra}");
    }
    // RANDOMKEY returns existing keys; on an empty db, nil.
    for _ in 0..20 {
        let k = d.shoal.call(["RANDOMKEY"]).unwrap();
        let k = k.as_bytes().unwrap().to_vec();
        assert_eq!(
            d.shoal.call([&b"EXISTS"[..], &k]).unwrap(),
            Frame::Integer(1)
        );
    }
    d.same("FLUSHDB");
    d.same("RANDOMKEY");
    d.same("DBSIZE");
}

#[test]
fn dump_payloads_cross_between_servers() {
    let pair = Pair::start();
    let mut d = pair.diff();
    let long = "abcdefghij".repeat(50);
    let values = [
        "hello",
        "12",
        "-129",
        "40000",
        "2147483648",
        "12345678901234567890",
        "",
        &long,
    ];
    for (i, v) in values.iter().enumerate() {
        let key = format!("v{i}");
        d.same(&format!("SET {key} \"{v}\""));
        let from_redis = d.redis.call(["DUMP", &key]).unwrap();
        let from_shoal = d.shoal.call(["DUMP", &key]).unwrap();
        // Identical bytes, so they restore anywhere.
        assert_eq!(from_shoal, from_redis, "DUMP of {v:?}");
        let payload = from_redis.as_bytes().unwrap().to_vec();
        for c in [&mut d.shoal, &mut d.redis] {
            let r = c
                .call([
                    &b"RESTORE"[..],
                    format!("copy{i}").as_bytes(),
                    b"0",
                    &payload,
                ])
                .unwrap();
            assert_eq!(r, Frame::simple("OK"));
        }
        d.same(&format!("GET copy{i}"));
        d.same(&format!("OBJECT ENCODING copy{i}"));
    }
}

#[test]
fn lazy_and_active_expiry() {
    let pair = Pair::start();
    let mut d = pair.diff();
    for i in 0..100 {
        d.same(&format!("SET k{i} v PX 50"));
    }
    d.same("SET keep v");
    std::thread::sleep(std::time::Duration::from_millis(100));
    // Lazy: a read of an expired key finds nothing.
    d.same("GET k1");
    d.same("EXISTS k2");
    // Active: without touching the keys, the background cycle reclaims them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let n = d.shoal.call(["DBSIZE"]).unwrap();
        if n == Frame::Integer(1) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "active expiry left {n} keys"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let info = d.shoal.call(["INFO", "stats"]).unwrap().as_text().unwrap();
    assert!(info.contains("expired_keys:100\r\n"), "{info}");
}
