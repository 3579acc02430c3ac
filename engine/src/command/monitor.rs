//! MONITOR: every command any client runs, on any shard, as Redis's line
//! `+<unix>.<micros> [<db> <addr>] "arg" ...`.
//!
//! A monitor's lines wait in its connection's mailbox, as Pub/Sub messages
//! do ([`crate::shard::pubsub`]). Dispatch feeds the line of each command it
//! is about to run ([`feed`]) to the monitors of every shard — only when
//! some monitor exists anywhere (one atomic load per command otherwise).
//! Administrative commands and those flagged `skip_monitor` are not shown;
//! AUTH and HELLO's credentials are redacted.

use super::ctx::{Conn, Ctx};
use super::errors::CmdResult;
use super::spec::{acl, flags, flags::*, CommandSpec};
use crate::shard::Shard;
use resp::Request;
use std::rc::Rc;
use std::sync::atomic::Ordering;

/// Quote an argument as Redis's `sdscatrepr` does.
fn repr(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'"');
    for &c in arg {
        match c {
            b'\\' | b'"' => {
                out.push(b'\\');
                out.push(c);
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// The MONITOR line of `req` run by `conn` (without `+` and CRLF).
pub fn line(req: &Request, conn: &Conn, now_us: i64) -> Vec<u8> {
    let mut out = format!(
        "{}.{:06} [{} {}]",
        now_us / 1_000_000,
        now_us % 1_000_000,
        conn.db,
        conn.info.addr
    )
    .into_bytes();
    let name = req.name();
    let redact_from = if name.eq_ignore_ascii_case(b"auth") {
        1
    } else if name.eq_ignore_ascii_case(b"hello") {
        // HELLO [protover [AUTH username password] [SETNAME name]]
        req.iter()
            .position(|a| a.eq_ignore_ascii_case(b"auth"))
            .map_or(usize::MAX, |p| p + 1)
    } else {
        usize::MAX
    };
    for (i, a) in req.iter().enumerate() {
        out.push(b' ');
        if i >= redact_from && i < redact_from.saturating_add(2) {
            repr(&mut out, b"(redacted)");
        } else {
            repr(&mut out, a);
        }
    }
    out
}

/// Show a script invocation (EVAL, FCALL, ...) to every monitor: they are
/// `skip_monitor` so dispatch does not, and Redis shows them itself before
/// the script's own commands.
pub fn feed_script(shard: &Rc<Shard>, conn: &Conn, req: &Request) {
    if shard.shared.monitors.load(Ordering::Relaxed) != 0 {
        send(shard, conn, req);
    }
}

/// Show `req` to every monitor, if there are any and the command may be shown.
pub fn feed(shard: &Rc<Shard>, conn: &Conn, spec: &CommandSpec, req: &Request) {
    if shard.shared.monitors.load(Ordering::Relaxed) != 0
        && !spec.has(flags::ADMIN)
        && !spec.has(flags::SKIP_MONITOR)
    {
        send(shard, conn, req);
    }
}

fn send(shard: &Rc<Shard>, conn: &Conn, req: &Request) {
    let line = line(req, conn, crate::clock::now_us());
    crate::shard::pubsub::everywhere(shard, move |ps, config| ps.feed_monitors(&line, config));
}

fn monitor(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    if ctx.conn.info.monitor.get() {
        return Ok(());
    }
    let subs = ctx.conn.subs.get_or_insert_with(Default::default);
    subs.mailbox.attach(&ctx.conn.info);
    let mb = subs.mailbox.clone();
    ctx.shard
        .state
        .borrow_mut()
        .pubsub
        .add_monitor(ctx.conn.id, &mb);
    ctx.conn.info.monitor.set(true);
    ctx.shard.shared.monitors.fetch_add(1, Ordering::Relaxed);
    ctx.w().ok();
    Ok(())
}

/// Stop monitoring (the connection closes).
pub fn stop(shard: &Shard, conn: &Conn) {
    if shard.state.borrow_mut().pubsub.remove_monitor(conn.id) {
        conn.info.monitor.set(false);
        shard.shared.monitors.fetch_sub(1, Ordering::Relaxed);
    }
}

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new("monitor", 1, monitor)
    .flags(ADMIN | NOSCRIPT | LOADING | STALE)
    .acl(acl::DANGEROUS)
    .doc(
        "server",
        "1.0.0",
        "Listens for all requests received by the server in real-time.",
    )];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_like_sdscatrepr() {
        let mut out = Vec::new();
        repr(&mut out, b"a\"b\\c\n\x01 \xff");
        assert_eq!(out, b"\"a\\\"b\\\\c\\n\\x01 \\xff\"");
    }
}
