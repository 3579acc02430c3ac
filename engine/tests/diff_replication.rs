//! What a master answers about replication, against redis-server: ROLE,
//! REPLICAOF / SLAVEOF NO ONE and their errors, and the block real
//! redis-sentinel sends when it promotes a server (`MULTI / SLAVEOF NO ONE /
//! CONFIG REWRITE / CLIENT KILL TYPE normal / EXEC`), which must run.

#![allow(clippy::unwrap_used)]

mod common;

use common::Pair;

const SCRIPT: &str = r#"
ROLE
REPLICAOF NO ONE
SLAVEOF NO ONE
SLAVEOF no one
REPLICAOF no two
REPLICAOF 127.0.0.1 notaport
REPLICAOF 127.0.0.1 99999
REPLICAOF
MULTI
SLAVEOF NO ONE
CONFIG REWRITE
CLIENT KILL TYPE normal
EXEC
ROLE
"#;

#[test]
fn master_answers_like_redis() {
    if !testkit::have_redis() {
        eprintln!("redis-server not installed; skipping");
        return;
    }
    let pair = Pair::start();
    pair.script(false, SCRIPT);
    pair.script(true, SCRIPT);
}

/// The promotion block with a config file: CONFIG REWRITE succeeds too.
#[test]
fn sentinel_promotion_block_runs_with_a_config_file() {
    let server = common::shoal().config("hz 10\n").start();
    let mut c = server.client();
    for cmd in [
        &["MULTI"][..],
        &["SLAVEOF", "NO", "ONE"],
        &["CONFIG", "REWRITE"],
        &["CLIENT", "KILL", "TYPE", "normal"],
    ] {
        c.call(cmd).unwrap();
    }
    let r = c.call(["EXEC"]).unwrap();
    assert_eq!(r.to_string(), "[OK, OK, (integer) 0]", "{r}");
}
