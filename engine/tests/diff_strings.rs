//! Differential tests of the string commands: the same command lines go to
//! shoal-server (2 shards) and redis-server, and the replies must match,
//! errors included, in RESP2 and RESP3.

#![allow(clippy::unwrap_used)]

mod common;

use common::Pair;

const SCRIPT: &str = r#"
# GET / SET and options
GET missing
SET k v
GET k
SET k v2 XX
GET k
SET k v3 NX
SET newk v NX
SET newk2 v XX
GET newk2
SET k v4 GET
SET nothere v GET
SET k v NX GET
SET k v XX GET
SET k v EX 100
SET k v PX 100000
SET k v KEEPTTL
SET k v EXAT 99999999999
SET k v PXAT 99999999999999
SET k v NX XX
SET k v EX 10 PX 10
SET k v KEEPTTL EX 10
SET k v EX 10 KEEPTTL
SET k v EX
SET k v FOO
SET k v EX 0
SET k v EX -5
SET k v EX abc
SET k v PX 9223372036854775807
SET k v EX 9223372036854775807
SET k v EXAT 0
SET k v EX 10 EX 20
SET k v GET GET
SET
SET k
GET a b
# SETNX SETEX PSETEX GETSET GETDEL GETEX
SETNX sn 1
SETNX sn 2
GET sn
SETEX se 100 v
SETEX se 0 v
SETEX se -1 v
SETEX se x v
PSETEX pse 100000 v
PSETEX pse 0 v
GETSET gs a
GETSET gs b
GETDEL gs
GETDEL gs
GETEX k
GETEX k EX 100
GETEX k PX 100000
GETEX k PERSIST
GETEX k EXAT 99999999999
GETEX k PXAT 99999999999999
GETEX k EX 0
GETEX k PERSIST EX 10
GETEX k EX 10 PERSIST
GETEX k FOO
GETEX k KEEPTTL
GETEX nope EX 100
# APPEND STRLEN GETRANGE SETRANGE SUBSTR
APPEND ap hello
APPEND ap " world"
GET ap
STRLEN ap
STRLEN nope
GETRANGE ap 0 4
GETRANGE ap -5 -1
GETRANGE ap 5 100
GETRANGE ap -1 -5
GETRANGE ap 0 -100
GETRANGE ap 100 200
GETRANGE nope 0 10
GETRANGE ap x 1
SUBSTR ap 0 2
SETRANGE ap 6 WORLD
GET ap
SETRANGE sr 5 x
GET sr
SETRANGE sr2 0 ""
EXISTS sr2
SETRANGE sr -1 x
SETRANGE sr x y
SETRANGE ap 0 ""
SETRANGE ap 536870912 x
APPEND num 5
APPEND num 1
GET num
# counters
INCR c
INCR c
INCRBY c 10
DECR c
DECRBY c 5
INCRBY c -100
DECRBY c -9223372036854775808
INCRBY c x
INCR k
SET big 9223372036854775807
INCR big
SET small -9223372036854775808
DECR small
INCRBY small -1
SET spaces " 1"
INCR spaces
SET lead 01
INCR lead
INCRBYFLOAT fl 10.50
INCRBYFLOAT fl 0.1
INCRBYFLOAT fl -5.0e3
INCRBYFLOAT fl 1e400
INCRBYFLOAT fl inf
INCRBYFLOAT fl x
INCRBYFLOAT k 1
SET ff 3.0
INCRBYFLOAT ff 0
SET ff 5.0e3
INCRBYFLOAT ff 2.0e2
INCRBYFLOAT newf 3
INCRBYFLOAT newf -3
GET newf
# encodings
SET e1 123
OBJECT ENCODING e1
SET e2 abc
OBJECT ENCODING e2
SET e3 01234
OBJECT ENCODING e3
SET e4 12345678901234567890123456789012345678901234
OBJECT ENCODING e4
SET e5 123456789012345678901234567890123456789012345
OBJECT ENCODING e5
APPEND e1 4
OBJECT ENCODING e1
INCR c
OBJECT ENCODING c
OBJECT ENCODING fl
SETRANGE e2 0 x
OBJECT ENCODING e2
OBJECT ENCODING nope
OBJECT REFCOUNT e1
SET shared 5
OBJECT REFCOUNT shared
# MGET / MSET / MSETNX across shards
MSET m1 a m2 b m3 c m4 d m5 e m6 f
MGET m1 m2 m3 m4 m5 m6 nope
MSET m1
MSET m1 a m2
MSETNX m1 x n1 y
MGET m1 n1
MSETNX n1 x n2 y n3 z
MGET n1 n2 n3
MSET dup 1 dup 2
GET dup
MGET
# LCS
SET lcs1 ohmytext
SET lcs2 mynewtext
LCS lcs1 lcs2
LCS lcs1 lcs2 LEN
LCS lcs1 lcs2 IDX
LCS lcs1 lcs2 IDX MINMATCHLEN 4
LCS lcs1 lcs2 IDX MINMATCHLEN 4 WITHMATCHLEN
LCS lcs1 lcs2 IDX WITHMATCHLEN
LCS lcs1 lcs2 LEN IDX
LCS lcs1 lcs2 FOO
LCS lcs1 missing
LCS missing1 missing2 IDX
LCS lcs1 lcs2 MINMATCHLEN -1 IDX
"#;

#[test]
fn strings_resp2() {
    let pair = Pair::start();
    let mut d = pair.diff();
    d.script(SCRIPT);
}

#[test]
fn strings_resp3() {
    let pair = Pair::start();
    let mut d = pair.diff();
    d.resp3();
    d.script(SCRIPT);
}

#[test]
fn ttl_after_set_options() {
    let pair = Pair::start();
    let mut d = pair.diff();
    d.script(
        "SET k v EX 100\nTTL k\nSET k v KEEPTTL\nTTL k\nSET k v\nTTL k\n\
         SET k v PX 50000\nTTL k\nGETSET k z\nTTL k\nSETEX k 30 v\nTTL k\nAPPEND k x\nTTL k\n\
         INCR n\nEXPIRE n 100\nINCR n\nTTL n\nGETEX n PERSIST\nTTL n",
    );
}

#[test]
fn huge_and_binary_values() {
    let pair = Pair::start();
    let mut d = pair.diff();
    let big = "x".repeat(1 << 20);
    d.same(&format!("SET big {big}"));
    d.same("STRLEN big");
    d.same("GETRANGE big 1048570 2000000");
    let bin: Vec<u8> = (0u8..=255).collect();
    for c in [&mut d.shoal, &mut d.redis] {
        let r = c.call([&b"SET"[..], b"bin", &bin]).unwrap();
        assert_eq!(r, resp::Frame::simple("OK"));
        assert_eq!(c.call(["GET", "bin"]).unwrap(), resp::Frame::bulk(&bin));
    }
}
