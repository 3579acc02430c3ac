//! HyperLogLog against redis-server: the same PFADD/PFMERGE sequences give
//! the same PFCOUNT (same hash, registers and estimator), errors match, and
//! HLL values cross between the servers with DUMP/RESTORE in both
//! directions, sparse and dense.

#![allow(clippy::unwrap_used)]

mod common;

use common::Pair;

const SCRIPT: &str = r#"
PFADD h a b c d e f g
PFADD h a b
PFADD h
PFADD newh
PFCOUNT newh
PFCOUNT h
PFCOUNT nokey
PFADD h2 c d e x y z
PFCOUNT h h2
PFCOUNT h h2 nokey
PFMERGE m h h2
PFCOUNT m
PFMERGE m
PFMERGE empty
PFCOUNT empty
EXISTS empty
SET s notanhll
PFADD s a
PFCOUNT s
PFCOUNT h s
PFMERGE m s
PFMERGE s h
HSET hh f v
PFADD hh a
PFCOUNT hh
PFMERGE m hh
PFCOUNT
PFADD
PFMERGE
"#;

#[test]
fn hyperloglog_resp2() {
    Pair::start().script(false, SCRIPT);
}

#[test]
fn hyperloglog_resp3() {
    Pair::start().script(true, SCRIPT);
}

#[test]
fn counts_match_redis_from_small_to_dense_and_values_interoperate() {
    let pair = Pair::start();
    let mut d = pair.diff();
    // Grow one HLL through the sparse range into dense (Redis converts
    // somewhere past a few hundred elements), checking the count as it goes.
    let mut n = 0;
    for batch in [5, 50, 200, 500, 2000, 10000, 40000] {
        let mut line = String::from("PFADD big");
        for _ in 0..batch {
            line.push_str(&format!(" el{n}"));
            n += 1;
        }
        d.same(&line);
        d.same("PFCOUNT big");
    }
    d.same("PFADD small x y z");
    d.same("PFMERGE merged small big");
    d.same("PFCOUNT merged");
    d.same("PFCOUNT small big");
    // Values cross in both directions and keep their counts.
    for key in ["small", "big", "merged"] {
        d.swap_dumps(key, &format!("{key}-copy"));
        d.same(&format!("PFCOUNT {key}-copy"));
        d.same(&format!("PFADD {key}-copy more1 more2 more3"));
        d.same(&format!("PFCOUNT {key}-copy"));
    }
}
