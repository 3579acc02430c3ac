//! Differential tests of the set commands against redis-server (RESP2 and
//! RESP3), errors included. Multi-key commands run over keys spread on both
//! shards (plain names) and on one shard (hash tags). Small sets of strings
//! are `listpack` in Redis 7.2 but `hashtable` in the 7.0 reference, so
//! their encodings are checked against 7.2's rules directly.

#![allow(clippy::unwrap_used)]

mod common;

use common::{encoding, Pair};
use resp::Frame;

const SCRIPT: &str = r#"
SADD s a b c
SADD s a d
SCARD s
SCARD nokey
~ SMEMBERS s
SMEMBERS nokey
SISMEMBER s a
SISMEMBER s z
SISMEMBER nokey a
SMISMEMBER s a z b
SMISMEMBER nokey a
SREM s a z
SREM nokey a
SCARD s
SREM s b c d
EXISTS s
SADD
SADD s
SREM s
# integers: intset, sorted replies
SADD i 5 -3 100 70000 5
SMEMBERS i
OBJECT ENCODING i
SISMEMBER i 100
SISMEMBER i 0100
SADD i 9223372036854775807 -9223372036854775808
SMEMBERS i
OBJECT ENCODING i
SADD i x
~ SMEMBERS i
# algebra, keys on both shards
SADD k1 1 2 3 4 5
SADD k2 4 5 6 7
SADD k3 a b 5
SINTER k1 k2
SINTER k1 k2 k3
SINTER k1 nokey
~ SUNION k1 k2
~ SUNION k1 k2 k3
SUNION nokey
SDIFF k1 k2
SDIFF k2 k1 k3
SDIFF nokey k1
SINTERSTORE dst k1 k2
SMEMBERS dst
OBJECT ENCODING dst
SUNIONSTORE dst k1 k2
SMEMBERS dst
SDIFFSTORE dst k1 k2
SMEMBERS dst
SINTERSTORE dst k1 nokey
EXISTS dst
SET dst string
SUNIONSTORE dst k1
TYPE dst
SUNIONSTORE k1 k1 k2
SMEMBERS k1
SINTERCARD 2 k1 k2
SINTERCARD 2 k1 k2 LIMIT 1
SINTERCARD 2 k1 k2 LIMIT 0
SINTERCARD 1 nokey
SINTERCARD 0 k1
SINTERCARD 3 k1 k2
SINTERCARD 2 k1 k2 LIMIT -1
SINTERCARD 2 k1 k2 LIMIT
SINTERCARD 2 k1 k2 FOO 1
SINTERCARD x k1
# the same on one shard
SADD {t}a 1 2 3
SADD {t}b 2 3 4
SINTER {t}a {t}b
SUNIONSTORE {t}c {t}a {t}b
SMEMBERS {t}c
SDIFFSTORE {t}c {t}a {t}b
SMEMBERS {t}c
# SMOVE (across shards and within one)
SADD m1 a b
SADD m2 c
SMOVE m1 m2 a
SMOVE m1 m2 zz
SMOVE nokey m2 a
~ SMEMBERS m2
SMOVE m1 m1 b
SMOVE m1 m1 zz
SMOVE m1 m2 b
EXISTS m1
SMOVE {t}a {t}b 1
SMEMBERS {t}b
SET str v
SMOVE str m2 a
SMOVE m2 str c
SMOVE nokey str c
# wrong types
SADD str a
SREM str a
SMEMBERS str
SCARD str
SISMEMBER str a
SPOP str
SRANDMEMBER str
SINTER k2 str
SUNION str k2
SDIFF nokey str
SINTERSTORE dst k2 str
SINTERCARD 2 k2 str
SSCAN str 0
# SPOP / SRANDMEMBER arguments
SPOP nokey
SPOP nokey 3
SPOP k2 0
SPOP k2 -1
SPOP k2 x
SPOP k2 1 2
SRANDMEMBER nokey
SRANDMEMBER nokey 3
SRANDMEMBER k2 0
SRANDMEMBER k2 -9223372036854775808
SRANDMEMBER k2 x
SRANDMEMBER k2 1 2
SADD one only
SPOP one 5
EXISTS one
SADD one only
SRANDMEMBER one
SRANDMEMBER one -3
SPOP one
EXISTS one
# SSCAN
SSCAN k1 0 COUNT 100
SSCAN k2 0 MATCH 4*
SSCAN k2 x
SSCAN k2 0 COUNT 0
SSCAN nokey 0 COUNT 0
SSCAN k2 0 TYPE set
SSCAN k2 0 NOVALUES
"#;

#[test]
fn sets_resp2() {
    Pair::start().script(false, SCRIPT);
}

#[test]
fn sets_resp3() {
    Pair::start().script(true, SCRIPT);
}

#[test]
fn encodings_follow_redis_7_2() {
    let pair = Pair::start();
    let mut d = pair.diff();
    // Integer sets: intset up to set-max-intset-entries (shared with 7.0).
    for i in 0..512 {
        d.same(&format!("SADD ints {i}"));
    }
    d.same("OBJECT ENCODING ints");
    d.same("SMEMBERS ints");
    d.same("SADD ints 512");
    d.same("OBJECT ENCODING ints");
    d.same_unordered("SMEMBERS ints");
    // Strings: listpack in 7.2 (7.0 has no listpack sets), in insertion order.
    let c = &mut d.shoal;
    c.call(["SADD", "strs", "b", "a", "c"]).unwrap();
    assert_eq!(encoding(c, "strs"), "listpack");
    assert_eq!(
        c.call(["SMEMBERS", "strs"]).unwrap(),
        Frame::Array(vec![Frame::bulk("b"), Frame::bulk("a"), Frame::bulk("c")])
    );
    for i in 0..125 {
        c.call(["SADD", "strs", &format!("m{i}")]).unwrap();
    }
    assert_eq!(encoding(c, "strs"), "listpack", "128 members fit");
    c.call(["SADD", "strs", "one-more"]).unwrap();
    assert_eq!(encoding(c, "strs"), "hashtable");
    // A small intset meeting a string becomes a listpack; a long member or
    // a big intset goes straight to hashtable.
    c.call(["SADD", "mix", "1", "2"]).unwrap();
    c.call(["SADD", "mix", "x"]).unwrap();
    assert_eq!(encoding(c, "mix"), "listpack");
    c.call(["SADD", "mix", &"y".repeat(65)]).unwrap();
    assert_eq!(encoding(c, "mix"), "hashtable");
    c.call(["SADD", "intsbig", "x"]).unwrap();
    for i in 0..200 {
        c.call(["SADD", "intsbig2", &i.to_string()]).unwrap();
    }
    c.call(["SADD", "intsbig2", "x"]).unwrap();
    assert_eq!(
        encoding(c, "intsbig2"),
        "hashtable",
        "200 > set-max-listpack-entries"
    );
    // The thresholds are configurable.
    c.call(["CONFIG", "SET", "set-max-intset-entries", "2"])
        .unwrap();
    c.call(["SADD", "tiny", "1", "2", "3"]).unwrap();
    assert_eq!(
        encoding(c, "tiny"),
        "listpack",
        "created for 3 members: past the intset limit"
    );
    c.call(["SADD", "tiny1", "1", "2"]).unwrap();
    assert_eq!(encoding(c, "tiny1"), "intset");
    c.call(["SADD", "tiny1", "3"]).unwrap();
    assert_eq!(
        encoding(c, "tiny1"),
        "hashtable",
        "an intset outgrowing its limit"
    );
    c.call(["CONFIG", "SET", "set-max-listpack-entries", "1"])
        .unwrap();
    c.call(["SADD", "tiny2", "a", "b"]).unwrap();
    assert_eq!(encoding(c, "tiny2"), "hashtable");
    c.call(["CONFIG", "SET", "set-max-intset-entries", "512"])
        .unwrap();
    c.call(["CONFIG", "SET", "set-max-listpack-entries", "128"])
        .unwrap();
    // DUMP/RESTORE in both directions, Redis's intset payloads included.
    d.same("SADD dumped 3 1 2");
    d.same("SADD sdumped x y z");
    for key in ["dumped", "sdumped", "ints"] {
        d.swap_dumps(key, key);
        d.same_unordered(&format!("SMEMBERS {key}"));
    }
    d.same("OBJECT ENCODING dumped");
}

#[test]
fn spop_and_srandmember_pick_members() {
    let pair = Pair::start();
    let mut c = pair.shoal.client();
    for (key, n) in [("small", 10), ("ints", 50), ("large", 400)] {
        for i in 0..n {
            let m = if key == "ints" {
                i.to_string()
            } else {
                format!("m{i}")
            };
            c.call(["SADD", key, &m]).unwrap();
        }
        let items = |f: Frame| -> Vec<String> {
            match f {
                Frame::Array(v) | Frame::Set(v) => v.iter().map(|x| format!("{x}")).collect(),
                o => panic!("{o}"),
            }
        };
        let r = items(c.call(["SRANDMEMBER", key, "7"]).unwrap());
        let distinct: std::collections::BTreeSet<_> = r.iter().collect();
        assert_eq!((r.len(), distinct.len()), (7, 7));
        assert_eq!(
            items(c.call(["SRANDMEMBER", key, "-40"]).unwrap()).len(),
            40
        );
        let popped = items(c.call(["SPOP", key, "4"]).unwrap());
        assert_eq!(popped.len(), 4);
        let Frame::Integer(left) = c.call(["SCARD", key]).unwrap() else {
            panic!()
        };
        assert_eq!(left, n - 4);
        for p in &popped {
            let m = p.trim_matches('"');
            assert_eq!(
                c.call(["SISMEMBER", key, m]).unwrap(),
                Frame::Integer(0),
                "{m} popped"
            );
        }
        let rest = items(c.call(["SPOP", key, "1000"]).unwrap());
        assert_eq!(rest.len() as i64, left);
        assert_eq!(c.call(["EXISTS", key]).unwrap(), Frame::Integer(0));
    }
}

#[test]
fn cross_shard_set_algebra_is_atomic() {
    // SUNIONSTORE over keys on both shards while writers move members
    // between them: every stored union must hold all members exactly once.
    let pair = Pair::start();
    let mut setup = pair.shoal.client();
    for i in 0..20 {
        setup.call(["SADD", "left", &format!("e{i}")]).unwrap();
    }
    let addr = pair.shoal.addr();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mover = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut c = resp::client::Client::connect(addr).unwrap();
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && i < 20_000 {
                let m = format!("e{}", i % 20);
                let (a, b) = if (i / 20).is_multiple_of(2) {
                    ("left", "right")
                } else {
                    ("right", "left")
                };
                c.call(["SMOVE", a, b, &m]).unwrap();
                i += 1;
            }
        })
    };
    for _ in 0..300 {
        let r = setup.call(["SUNIONSTORE", "all", "left", "right"]).unwrap();
        assert_eq!(r, Frame::Integer(20), "a union saw a member in flight");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    mover.join().unwrap();
}
