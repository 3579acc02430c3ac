//! REPLICAOF SLAVEOF ROLE: the replication commands a master answers.
//!
//! Shoal has no replication yet (a later issue), so it is always a master
//! without replicas. `REPLICAOF NO ONE` is then exactly Redis's answer for
//! a master (OK, nothing to do), which is what Sentinel's promotion block
//! (`MULTI / SLAVEOF NO ONE / CONFIG REWRITE / CLIENT KILL TYPE normal /
//! EXEC`) needs; `REPLICAOF host port` is refused with an error rather than
//! pretending to follow a master.

use super::ctx::Ctx;
use super::errors::{CmdError, CmdResult};
use super::spec::{acl, flags::*, CommandSpec};
use resp::Request;

fn replicaof(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    if req.arg(1).eq_ignore_ascii_case(b"no") && req.arg(2).eq_ignore_ascii_case(b"one") {
        ctx.w().ok();
        return Ok(());
    }
    let port = resp::numfmt::parse_i64(req.arg(2));
    if !port.is_some_and(|p| (0..=65535).contains(&p)) {
        return Err(CmdError::fixed("ERR Invalid master port"));
    }
    Err(CmdError::fixed(
        "ERR Shoal does not replicate from a master yet (REPLICAOF host port); only REPLICAOF NO ONE is accepted",
    ))
}

fn role(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let mut w = ctx.w();
    w.array(3);
    w.bulk(b"master");
    w.int(0);
    w.array(0);
    Ok(())
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("replicaof", 3, replicaof)
        .flags(ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING)
        .doc(
            "server",
            "5.0.0",
            "Configures a server as replica of another, or promotes it to a master.",
        ),
    CommandSpec::new("slaveof", 3, replicaof)
        .flags(ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING)
        .doc(
            "server",
            "1.0.0",
            "Sets a Redis server as a replica of another, or promotes it to being a master.",
        ),
    CommandSpec::new("role", 1, role)
        .flags(NOSCRIPT | LOADING | STALE | FAST)
        .acl(acl::ADMIN | acl::DANGEROUS)
        .doc("server", "2.8.12", "Returns the replication role."),
];
