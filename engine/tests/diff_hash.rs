//! Differential tests of the hash commands against redis-server (RESP2 and
//! RESP3), errors and encoding conversions included, plus properties of
//! the random commands (whose picks cannot match Redis's).

#![allow(clippy::unwrap_used)]

mod common;

use common::Pair;
use resp::Frame;

const SCRIPT: &str = r#"
HSET h a 1 b 2 c 3
HSET h a 10 d 4
HGET h a
HGET h zz
HGET nokey a
HMGET h a zz b
HMGET nokey a b
HGETALL h
HGETALL nokey
HKEYS h
HVALS h
HLEN h
HLEN nokey
HEXISTS h a
HEXISTS h zz
HSTRLEN h a
HSTRLEN h zz
HSETNX h a 99
HSETNX h e 5
HMSET h f 6 g 7
HMSET h f
HSET h a
HSET h
HGET h
HDEL h a zz b
HDEL h zz
HDEL nokey a
HGETALL h
OBJECT ENCODING h
HDEL h c d e f g
EXISTS h
HGETALL h
# increments
HINCRBY n x 5
HINCRBY n x -7
HINCRBY n x abc
HINCRBY n x 9223372036854775807
HSET n s hello big 9223372036854775807
HINCRBY n s 1
HINCRBY n big 1
HINCRBYFLOAT n f 1.5
HINCRBYFLOAT n f 0.1
HINCRBYFLOAT n f -3e2
HINCRBYFLOAT n x 2
HINCRBYFLOAT n s 1
HINCRBYFLOAT n f abc
HINCRBYFLOAT n f inf
HINCRBYFLOAT n f nan
HINCRBYFLOAT n f 1e400
~ HGETALL n
# wrong types
SET str v
HSET str a 1
HGET str a
HGETALL str
HDEL str a
HLEN str
HINCRBY str a 1
HSCAN str 0
HRANDFIELD str
HSET h2 a 1
GET h2
INCR h2
TYPE h2
# HRANDFIELD arguments (the picks themselves are random)
HRANDFIELD nokey
HRANDFIELD nokey 5
HRANDFIELD nokey -5 WITHVALUES
HRANDFIELD h2 0
HRANDFIELD h2 1 WITHVALUES
HRANDFIELD h2 -9223372036854775808
HRANDFIELD h2 1 WITHVALUES x
HRANDFIELD h2 x
HRANDFIELD h2 1 foo
HRANDFIELD h2 5 WITHVALUES
# HSCAN
HSCAN h2 0
HSCAN h2 0 MATCH a*
HSCAN h2 0 MATCH z*
HSCAN h2 0 COUNT 100
HSCAN h2 x
HSCAN h2 0 COUNT 0
HSCAN h2 0 COUNT x
HSCAN h2 0 FOO bar
HSCAN h2 0 MATCH
HSCAN nokey 0 COUNT 0
HSCAN h2 0 TYPE string
"#;

#[test]
fn hashes_resp2() {
    Pair::start().script(false, SCRIPT);
}

#[test]
fn hashes_resp3() {
    Pair::start().script(true, SCRIPT);
}

#[test]
fn encoding_conversions_follow_the_thresholds() {
    let pair = Pair::start();
    let mut d = pair.diff();
    // Entries: 512 fields (the built-in default) stay listpack, the 513th converts.
    for i in 0..512 {
        d.same(&format!("HSET big f{i} v{i}"));
    }
    d.same("OBJECT ENCODING big");
    d.same("HGETALL big");
    d.same("HSET big f512 v");
    d.same("OBJECT ENCODING big");
    d.same("HLEN big");
    d.same_unordered("HGETALL big");
    d.same_unordered("HKEYS big");
    // Conversion is one-way.
    d.same("HDEL big f0 f1 f2 f3 f4 f5 f6 f7 f8 f9");
    d.same("OBJECT ENCODING big");
    // Value length: 64 bytes fit, 65 do not (fields too).
    let v64 = "x".repeat(64);
    d.same(&format!("HSET lv a {v64}"));
    d.same("OBJECT ENCODING lv");
    d.same(&format!("HSET lv b {v64}y"));
    d.same("OBJECT ENCODING lv");
    d.same(&format!("HSET lf {v64}yy 1"));
    d.same("OBJECT ENCODING lf");
    // The thresholds are configurable (and the ziplist alias too).
    d.same("CONFIG SET hash-max-listpack-entries 2");
    d.same("CONFIG GET hash-max-ziplist-entries");
    d.same("HSET small a 1 b 2");
    d.same("OBJECT ENCODING small");
    d.same("HSET small c 3");
    d.same("OBJECT ENCODING small");
    d.same("CONFIG SET hash-max-ziplist-value 1");
    d.same("HSET tiny a 22");
    d.same("OBJECT ENCODING tiny");
    d.same("CONFIG SET hash-max-listpack-entries 512");
    d.same("CONFIG SET hash-max-listpack-value 64");
    // Hash values survive DUMP/RESTORE in both directions (Redis's
    // listpack payloads and our plain ones).
    d.same("HSET dumped name shoal n 7 neg -70000 big 12345678901");
    d.swap_dumps("dumped", "restored");
    d.same("HGETALL restored");
    d.same("OBJECT ENCODING restored");
    d.same_unordered("HGETALL big");
    let big = d.shoal.call(["DUMP", "big"]).unwrap();
    let Frame::Bulk(p) = big else { panic!() };
    let r = d.redis.call([&b"RESTORE"[..], b"big2", b"0", &p]).unwrap();
    assert_eq!(r, Frame::simple("OK"));
    d.shoal.call([&b"RESTORE"[..], b"big2", b"0", &p]).unwrap();
    d.same_unordered("HGETALL big2");
    d.same("OBJECT ENCODING big2");
}

#[test]
fn hscan_walks_a_big_hash_completely() {
    let pair = Pair::start();
    let mut c = pair.shoal.client();
    for i in 0..1000 {
        c.call(["HSET", "h", &format!("f{i}"), &format!("{i}")])
            .unwrap();
    }
    let mut cursor = "0".to_string();
    let mut seen = std::collections::BTreeMap::new();
    let mut calls = 0;
    loop {
        let r = c.call(["HSCAN", "h", &cursor, "COUNT", "50"]).unwrap();
        let Frame::Array(parts) = r else {
            panic!("{r}")
        };
        let [Frame::Bulk(next), Frame::Array(items)] = &parts[..] else {
            panic!()
        };
        for pair in items.chunks(2) {
            let [Frame::Bulk(f), Frame::Bulk(v)] = pair else {
                panic!()
            };
            seen.insert(f.clone(), v.clone());
        }
        cursor = String::from_utf8(next.to_vec()).unwrap();
        calls += 1;
        if cursor == "0" {
            break;
        }
        assert!(calls < 1000, "HSCAN does not terminate");
    }
    assert_eq!(seen.len(), 1000);
    assert!(calls > 1, "a hashtable is scanned in steps");
    let f7 = seen
        .iter()
        .find(|(k, _)| &k[..] == b"f7")
        .map(|(_, v)| v.to_vec());
    assert_eq!(f7, Some(b"7".to_vec()));
    // NOVALUES (Redis 7.4 / Valkey 8): fields only.
    let r = c
        .call(["HSCAN", "h", "0", "COUNT", "2000", "NOVALUES"])
        .unwrap();
    let Frame::Array(parts) = r else { panic!() };
    let Frame::Array(items) = &parts[1] else {
        panic!()
    };
    assert_eq!(items.len(), 1000);
}

#[test]
fn hrandfield_picks_are_members_and_distinct_when_asked() {
    let pair = Pair::start();
    let mut c = pair.shoal.client();
    for h in ["small", "large"] {
        let n = if h == "small" { 10 } else { 300 };
        for i in 0..n {
            c.call(["HSET", h, &format!("f{i}"), &format!("v{i}")])
                .unwrap();
        }
        let fields = |f: Frame| -> Vec<Vec<u8>> {
            let Frame::Array(v) = f else { panic!("{f}") };
            v.into_iter()
                .map(|x| match x {
                    Frame::Bulk(b) => b.to_vec(),
                    o => panic!("{o}"),
                })
                .collect()
        };
        let picks = fields(c.call(["HRANDFIELD", h, "5"]).unwrap());
        assert_eq!(picks.len(), 5);
        let distinct: std::collections::BTreeSet<_> = picks.iter().collect();
        assert_eq!(distinct.len(), 5, "positive count: distinct fields");
        let picks = fields(c.call(["HRANDFIELD", h, "-50"]).unwrap());
        assert_eq!(
            picks.len(),
            50,
            "negative count: exactly |count|, repeats allowed"
        );
        let pairs = fields(c.call(["HRANDFIELD", h, "-20", "WITHVALUES"]).unwrap());
        assert_eq!(pairs.len(), 40);
        for p in pairs.chunks(2) {
            let (f, v) = (
                String::from_utf8_lossy(&p[0]),
                String::from_utf8_lossy(&p[1]),
            );
            assert_eq!(f.replacen('f', "v", 1), v, "value belongs to its field");
        }
        let all = fields(c.call(["HRANDFIELD", h, "100000"]).unwrap());
        assert_eq!(all.len(), n, "count past the size returns the whole hash");
        let one = c.call(["HRANDFIELD", h]).unwrap();
        assert!(
            matches!(one, Frame::Bulk(ref b) if b.starts_with(b"f")),
            "{one}"
        );
    }
    // Many picks are spread over the hash, not stuck on one field.
    let Frame::Array(v) = c.call(["HRANDFIELD", "large", "-3000"]).unwrap() else {
        panic!()
    };
    let distinct: std::collections::BTreeSet<String> = v.iter().map(|f| format!("{f}")).collect();
    assert!(
        distinct.len() > 200,
        "only {} distinct fields in 3000 picks",
        distinct.len()
    );
    // A client cannot ask for an unbounded reply.
    let r = c
        .call(["HRANDFIELD", "large", "-9223372036854775807"])
        .unwrap();
    assert!(r.is_error(), "{r}");
}
