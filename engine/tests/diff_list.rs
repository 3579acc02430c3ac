//! Differential tests of the list commands against redis-server (RESP2 and
//! RESP3), errors included; LMOVE / RPOPLPUSH / LMPOP over keys on both
//! shards and on one. Small lists are `listpack` in Redis 7.2 but always
//! `quicklist` in the 7.0 reference, so encodings are checked against 7.2's
//! rules directly.

#![allow(clippy::unwrap_used)]

mod common;

use common::{encoding, Pair};

const SCRIPT: &str = r#"
RPUSH l a b c
LPUSH l z y
LRANGE l 0 -1
LLEN l
LLEN nokey
LPUSHX nokey a
RPUSHX nokey a
LPUSHX l x0
RPUSHX l x9
LRANGE l 0 -1
LRANGE l -3 -1
LRANGE l 2 1
LRANGE l 100 200
LRANGE l -100 100
LRANGE l 0 -100
LRANGE nokey 0 -1
LRANGE l 0 x
LINDEX l 0
LINDEX l -1
LINDEX l 100
LINDEX l x
LINDEX nokey 0
LPOP l
RPOP l
LPOP l 2
RPOP l 0
LPOP nokey
LPOP nokey 2
LPOP nokey 0
LPOP l -1
LPOP l x
LPOP l 1 2
LRANGE l 0 -1
LSET l 0 first
LSET l -1 last
LSET l 99 x
LSET nokey 0 x
LSET l x v
LRANGE l 0 -1
LINSERT l BEFORE b b0
LINSERT l AFTER b b1
LINSERT l AFTER nothere v
LINSERT nokey AFTER a v
LINSERT l MIDDLE a v
LRANGE l 0 -1
RPUSH r a b a c a d a
LREM r 2 a
LRANGE r 0 -1
LREM r -1 a
LRANGE r 0 -1
LREM r 0 a
LREM r 0 zz
LREM nokey 0 a
LREM r x a
LRANGE r 0 -1
RPUSH t 1 2 3 4 5 6
LTRIM t 1 -2
LRANGE t 0 -1
LTRIM t 2 1
EXISTS t
LTRIM nokey 0 1
LTRIM r x 1
RPUSH p a b c a b c a
LPOS p a
LPOS p a RANK 2
LPOS p a RANK -1
LPOS p a RANK -2
LPOS p a COUNT 0
LPOS p a COUNT 2
LPOS p a COUNT 2 RANK -1
LPOS p a MAXLEN 3 COUNT 0
LPOS p zz
LPOS p zz COUNT 0
LPOS nokey a
LPOS nokey a COUNT 0
LPOS p a RANK 0
LPOS p a COUNT -1
LPOS p a MAXLEN -1
LPOS p a FOO 1
LPOS p a RANK
LPOS p a RANK x
# LMOVE / RPOPLPUSH, keys on both shards (k1, k2) and one ({t}a, {t}b)
RPUSH k1 1 2 3
LMOVE k1 k2 LEFT RIGHT
LMOVE k1 k2 RIGHT LEFT
LRANGE k1 0 -1
LRANGE k2 0 -1
RPOPLPUSH k1 k2
EXISTS k1
RPOPLPUSH k1 k2
LMOVE nokey k2 LEFT LEFT
LMOVE k2 k2 LEFT RIGHT
LRANGE k2 0 -1
LMOVE k2 k1 UP LEFT
RPUSH {t}a x y
LMOVE {t}a {t}b LEFT LEFT
LRANGE {t}b 0 -1
SET str v
LMOVE str k2 LEFT LEFT
LMOVE k2 str LEFT LEFT
LRANGE k2 0 -1
RPOPLPUSH str k2
# LMPOP
RPUSH m2 a b c
LMPOP 2 m1 m2 LEFT
LMPOP 2 m1 m2 RIGHT COUNT 5
LMPOP 2 m1 m2 LEFT
LMPOP 0 m1 LEFT
LMPOP 2 m1 LEFT
LMPOP 1 m1 MIDDLE
LMPOP 1 m1 LEFT COUNT 0
LMPOP 1 m1 LEFT COUNT -1
LMPOP 1 m1 LEFT COUNT 1 COUNT 2
LMPOP 1 m1 LEFT FOO
LMPOP x m1 LEFT
LMPOP 2 str m2 LEFT
# wrong types
LPUSH str a
RPUSH str a
LPOP str
LLEN str
LRANGE str 0 -1
LINDEX str 0
LSET str 0 a
LINSERT str BEFORE a b
LREM str 0 a
LTRIM str 0 1
LPOS str a
LPUSHX str a
# blocking commands with data or errors (no waiting)
RPUSH b1 x y
BLPOP nokey b1 0
BRPOP b1 0
EXISTS b1
BLPOP b1 x
BLPOP b1 -1
BLPOP str 0
RPUSH b2 q
BLMOVE b2 b3 LEFT LEFT 0
LRANGE b3 0 -1
BRPOPLPUSH b3 b2 0
BLMOVE b2 b3 UP LEFT 0
BLMPOP 0 2 nokey b2 LEFT COUNT 3
BLMPOP 0 0 b2 LEFT
BLMPOP x 1 b2 LEFT
BLPOP nokey 0.01
BRPOP nokey 0.01
BLMOVE nokey b3 LEFT LEFT 0.01
BRPOPLPUSH nokey b3 0.01
BLMPOP 0.01 1 nokey LEFT
"#;

#[test]
fn lists_resp2() {
    Pair::start().script(false, SCRIPT);
}

#[test]
fn lists_resp3() {
    Pair::start().script(true, SCRIPT);
}

#[test]
fn encodings_follow_redis_7_2_and_dumps_interoperate() {
    let pair = Pair::start();
    let mut d = pair.diff();
    let c = &mut d.shoal;
    c.call(["RPUSH", "small", "a", "b"]).unwrap();
    assert_eq!(encoding(c, "small"), "listpack");
    // 8 KiB of listpack (list-max-listpack-size -2): 100-byte elements take
    // 103 bytes each, so the 80th crosses the limit.
    let big = "x".repeat(100);
    for i in 0..79 {
        c.call(["RPUSH", "grow", &big]).unwrap();
        assert_eq!(encoding(c, "grow"), "listpack", "element {i}");
    }
    c.call(["RPUSH", "grow", &big]).unwrap();
    assert_eq!(encoding(c, "grow"), "quicklist");
    // Shrinking under half the limit converts back.
    c.call(["LTRIM", "grow", "0", "30"]).unwrap();
    assert_eq!(encoding(c, "grow"), "listpack");
    // A count limit (positive size).
    c.call(["CONFIG", "SET", "list-max-listpack-size", "3"])
        .unwrap();
    c.call(["RPUSH", "cnt", "1", "2", "3"]).unwrap();
    assert_eq!(encoding(c, "cnt"), "listpack");
    c.call(["RPUSH", "cnt", "4"]).unwrap();
    assert_eq!(encoding(c, "cnt"), "quicklist");
    c.call(["CONFIG", "SET", "list-max-ziplist-size", "-2"])
        .unwrap();
    // DUMP/RESTORE both ways (Redis writes quicklist-of-listpack payloads).
    d.same(&format!("RPUSH dumped a 1 -70000 {big} z"));
    d.swap_dumps("dumped", "restored");
    d.same("LRANGE restored 0 -1");
}
