//! Differential tests of the sorted-set commands against redis-server
//! (RESP2 and RESP3), errors, edge ranges and score formatting included.

#![allow(clippy::unwrap_used)]

mod common;

use common::{encoding, Pair};

const SCRIPT: &str = r#"
ZADD z 1 a 2 b 3 c
ZADD z 1.5 a 4 d
ZADD z NX 9 a 5 e
ZADD z XX 7 a 8 nothere
ZADD z CH 1 a 2 b 10 f
ZADD z GT 0 a
ZADD z LT 0 a
ZADD z GT CH 20 f
ZADD z INCR 2 b
ZADD z INCR NX 2 b
ZADD z INCR XX 2 nothere
ZADD z NX XX 1 a
ZADD z GT LT 1 a
ZADD z NX GT 1 a
ZADD z INCR 1 a 2 b
ZADD z 1 a 2
ZADD z x a
ZADD z nan a
ZADD z inf top -inf bottom
ZADD z FOO 1 a
ZRANGE z 0 -1 WITHSCORES
ZCARD z
ZCARD nokey
ZSCORE z a
ZSCORE z nothere
ZSCORE nokey a
ZMSCORE z a nothere top
ZMSCORE nokey a
ZINCRBY z 0.5 a
ZINCRBY z 1 newmember
ZINCRBY z x a
ZINCRBY z 1 top
ZADD z 1.1 fl 0.1 fl2 1e-300 tiny 123456789012345678 huge
ZSCORE z fl
ZSCORE z huge
ZRANGE z 0 -1 WITHSCORES
ZRANK z a
ZREVRANK z a
ZRANK z nothere
ZRANK nokey a
ZCOUNT z 1 3
ZCOUNT z (1 3
ZCOUNT z -inf +inf
ZCOUNT z (3 (3
ZCOUNT z x 3
ZCOUNT nokey 0 1
ZRANGE z 1 3
ZRANGE z -3 -1 WITHSCORES
ZRANGE z 5 1
ZRANGE z 0 100
ZRANGE z -100 -50
ZRANGE z 0 -1 REV
ZRANGE z 0 2 REV WITHSCORES
ZRANGE z 1 3 BYSCORE
ZRANGE z (1 +inf BYSCORE WITHSCORES
ZRANGE z +inf -inf BYSCORE REV
ZRANGE z 5 (1 BYSCORE REV WITHSCORES
ZRANGE z -inf +inf BYSCORE LIMIT 1 2
ZRANGE z -inf +inf BYSCORE LIMIT 1 -1
ZRANGE z -inf +inf BYSCORE LIMIT -1 2
ZRANGE z -inf +inf BYSCORE REV LIMIT 0 3 WITHSCORES
ZRANGE z 0 -1 LIMIT 0 1
ZRANGE z x 1
ZRANGE z 0 1 FOO
ZRANGE z (x 1 BYSCORE
ZRANGE nokey 0 -1
ZREVRANGE z 0 2 WITHSCORES
ZREVRANGE z 0 2 LIMIT 0 1
ZRANGEBYSCORE z 1 3 WITHSCORES
ZRANGEBYSCORE z -inf +inf LIMIT 2 2
ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 0 1
ZRANGEBYSCORE z 1 3 REV
ZREVRANGEBYSCORE z 3 1 WITHSCORES
ZREVRANGEBYSCORE z +inf -inf LIMIT 1 1
ZADD lex 0 a 0 b 0 c 0 d 0 e 0 f
ZRANGEBYLEX lex - +
ZRANGEBYLEX lex [b (e
ZRANGEBYLEX lex (b [e LIMIT 1 1
ZRANGEBYLEX lex a c
ZRANGEBYLEX lex [b [e WITHSCORES
ZREVRANGEBYLEX lex + -
ZREVRANGEBYLEX lex (e [b
ZRANGE lex [b [d BYLEX
ZRANGE lex [d [b BYLEX REV
ZRANGE lex - + BYLEX WITHSCORES
ZLEXCOUNT lex - +
ZLEXCOUNT lex [b (d
ZLEXCOUNT lex x y
ZREMRANGEBYLEX lex [e +
ZRANGE lex 0 -1
ZREMRANGEBYRANK lex 0 0
ZREMRANGEBYRANK lex -1 -1
ZRANGE lex 0 -1
ZREMRANGEBYSCORE z -inf (1
ZREMRANGEBYSCORE z (100 +inf
ZREMRANGEBYSCORE z x 1
ZREMRANGEBYRANK z x 1
ZRANGE z 0 -1 WITHSCORES
ZREM z a nothere b
ZREM nokey a
ZREM z
# pops
ZADD p 1 a 2 b 3 c 4 d
ZPOPMIN p
ZPOPMAX p
ZPOPMIN p 0
ZPOPMIN p 5
EXISTS p
ZPOPMIN nokey
ZPOPMIN nokey 2
ZPOPMIN p -1
ZPOPMIN p x
ZPOPMAX p 1 2
# random, scan
ZADD r 1 a 2 b
ZRANDMEMBER nokey
ZRANDMEMBER nokey 2
ZRANDMEMBER r 0
~ ZRANDMEMBER r 5
~ ZRANDMEMBER r 5 WITHSCORES
ZRANDMEMBER r 1 FOO
ZRANDMEMBER r x
ZSCAN r 0
ZSCAN r 0 MATCH a*
ZSCAN r x
ZSCAN nokey 0 COUNT 0
ZSCAN r 0 COUNT 0
# wrong types
SET str v
ZADD str 1 a
ZRANGE str 0 -1
ZSCORE str a
ZCARD str
ZRANK str a
ZREM str a
ZPOPMIN str
ZINCRBY str 1 a
ZCOUNT str 0 1
ZSCAN str 0
ZADD z2 1 a
GET z2
LPUSH z2 a
OBJECT ENCODING z2
TYPE z2
# algebra (k1 and k2 live on different shards, {t}* on one)
ZADD k1 1 a 2 b 3 c
ZADD k2 10 b 20 c 30 d
SADD sset a d x
ZUNION 2 k1 k2
ZUNION 2 k1 k2 WITHSCORES
ZUNION 2 k1 k2 WEIGHTS 2 0.5 WITHSCORES
ZUNION 2 k1 k2 AGGREGATE MIN WITHSCORES
ZUNION 2 k1 k2 AGGREGATE MAX WITHSCORES
ZUNION 3 k1 k2 sset WITHSCORES
ZUNION 3 k1 nokey k2 WITHSCORES
ZINTER 2 k1 k2 WITHSCORES
ZINTER 2 k1 k2 WEIGHTS 1 -1 AGGREGATE SUM WITHSCORES
ZINTER 2 k1 nokey
ZINTER 2 k1 sset WITHSCORES
ZDIFF 2 k1 k2 WITHSCORES
ZDIFF 2 k2 k1
ZDIFF 1 nokey
ZUNIONSTORE dst 2 k1 k2
ZRANGE dst 0 -1 WITHSCORES
ZINTERSTORE dst 2 k1 k2 AGGREGATE MAX
ZRANGE dst 0 -1 WITHSCORES
ZDIFFSTORE dst 2 k1 k2
ZRANGE dst 0 -1 WITHSCORES
ZINTERSTORE dst 2 k1 nokey
EXISTS dst
ZUNIONSTORE {t}d 2 {t}a {t}b
ZADD {t}a 1 x
ZUNIONSTORE {t}d 2 {t}a {t}b
ZRANGE {t}d 0 -1 WITHSCORES
ZUNION 0 k1
ZUNION x k1
ZUNION 3 k1 k2
ZUNION 2 k1 k2 WEIGHTS 1
ZUNION 2 k1 k2 WEIGHTS 1 x
ZUNION 2 k1 k2 AGGREGATE AVG
ZUNION 2 k1 k2 FOO
ZUNIONSTORE dst 0 k1
ZUNIONSTORE dst 2 k1 k2 WITHSCORES
ZDIFF 2 k1 k2 WEIGHTS 1 1
ZUNION 2 k1 str
ZUNIONSTORE dst 2 str k1
ZINTERCARD 2 k1 k2
ZINTERCARD 2 k1 k2 LIMIT 1
ZINTERCARD 0 k1
ZINTERCARD 3 k1 k2
ZINTERCARD 2 k1 k2 LIMIT -1
ZINTERCARD 1 str
# ZRANGESTORE
ZRANGESTORE dst k2 0 1
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst k2 (10 +inf BYSCORE LIMIT 0 1
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst k2 0 -1 REV
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst nokey 0 -1
EXISTS dst
ZRANGESTORE dst k2 0 -1 WITHSCORES
ZRANGESTORE dst str 0 -1
# ZMPOP
ZADD mp2 1 a 2 b 3 c
ZMPOP 2 mp1 mp2 MIN
ZMPOP 2 mp1 mp2 MAX COUNT 5
ZMPOP 2 mp1 mp2 MIN
ZMPOP 0 mp1 MIN
ZMPOP 1 mp1 UP
ZMPOP 1 mp1 MIN COUNT 0
ZMPOP 2 str mp2 MIN
BZPOPMIN nokey 0.01
BZMPOP 0.01 1 nokey MIN
ZADD bz 1 a 2 b 3 c 4 d
BZPOPMIN nokey bz 0
BZPOPMAX bz 0
BZMPOP 0 1 bz MIN COUNT 2
BZPOPMIN str 0
BZPOPMIN bz x
"#;

#[test]
fn sorted_sets_resp2() {
    Pair::start().script(false, SCRIPT);
}

#[test]
fn sorted_sets_resp3() {
    Pair::start().script(true, SCRIPT);
}

#[test]
fn encodings_and_dumps() {
    let pair = Pair::start();
    let mut d = pair.diff();
    for i in 0..128 {
        d.same(&format!("ZADD big {i} m{i}"));
    }
    d.same("OBJECT ENCODING big");
    d.same("ZADD big 200 m200");
    d.same("OBJECT ENCODING big");
    d.same("ZRANGE big 0 -1 WITHSCORES");
    d.same("ZRANGE big 50 60 REV");
    d.same("ZRANGEBYSCORE big (10 20 LIMIT 2 3");
    d.same("ZRANK big m77");
    d.same(&format!("ZADD long 1 {}", "x".repeat(65)));
    d.same("OBJECT ENCODING long");
    d.same("ZADD small 1 a 2 b");
    for key in ["big", "small", "long"] {
        d.swap_dumps(key, key);
        d.same(&format!("ZRANGE {key} 0 -1 WITHSCORES"));
    }
    d.same("OBJECT ENCODING small");
    assert_eq!(encoding(&mut d.shoal, "big"), "skiplist");
}
