//! Connection commands: PING ECHO HELLO AUTH SELECT QUIT RESET.
//!
//! They change or read only the connection's own state, so they reply at
//! once on the connection's shard.

use super::args::{is, parse_i64_or, Args};
use super::ctx::{Ctx, ReplyMode};
use super::errors::{self, CmdError, CmdResult};
use super::spec::{acl, flags::*, CommandSpec};
use crate::server::REDIS_VERSION;
use resp::{Proto, Request};

// ---- parsing ----

/// HELLO's options.
struct Hello {
    proto: Option<Proto>,
    auth: Option<(Vec<u8>, Vec<u8>)>,
    setname: Option<Vec<u8>>,
}

fn parse_hello(req: &Request) -> CmdResult<Hello> {
    let mut a = Args::new(req, 1);
    let mut h = Hello {
        proto: None,
        auth: None,
        setname: None,
    };
    if a.is_empty() {
        return Ok(h);
    }
    let v = parse_i64_or(
        a.next()?,
        CmdError::fixed("ERR Protocol version is not an integer or out of range"),
    )?;
    h.proto = Some(match v {
        2 => Proto::Resp2,
        3 => Proto::Resp3,
        _ => return Err(errors::NOPROTO),
    });
    while let Some(opt) = a.peek() {
        a.next()?;
        let more = a.remaining();
        if is(opt, "AUTH") && more >= 2 {
            let user = a.next()?.to_vec();
            let pass = a.next()?.to_vec();
            h.auth = Some((user, pass));
        } else if is(opt, "SETNAME") && more >= 1 {
            let name = a.next()?.to_vec();
            check_client_name(&name)?;
            h.setname = Some(name);
        } else {
            return Err(CmdError::owned(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    Ok(h)
}

/// Client names: no spaces, newlines or other special characters.
pub fn check_client_name(name: &[u8]) -> CmdResult {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::fixed(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

/// Check credentials against the default user. Shoal has one user,
/// `default`, whose password is `requirepass` (none: any password works).
fn check_auth(ctx: &Ctx<'_>, user: Option<&[u8]>, pass: &[u8]) -> CmdResult {
    let config = ctx.shard.state.borrow().config.clone();
    if let Some(u) = user {
        if u != b"default" {
            return Err(errors::WRONGPASS);
        }
    }
    match &config.requirepass {
        None if user.is_none() => Err(errors::AUTH_NOT_CONFIGURED),
        None => Ok(()),
        Some(p) if constant_time_eq(p, pass) => Ok(()),
        Some(_) => Err(errors::WRONGPASS),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---- handlers ----

fn ping(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    if super::pubsub::subscribed_ping(ctx.conn) {
        if req.len() > 2 {
            return Err(errors::wrong_arity("ping"));
        }
        let mut w = ctx.w();
        w.array(2);
        w.bulk(b"pong");
        w.bulk(if req.len() == 2 { req.arg(1) } else { b"" });
        return Ok(());
    }
    match req.len() {
        1 => ctx.w().simple(b"PONG"),
        2 => ctx.w().bulk(req.arg(1)),
        _ => return Err(errors::wrong_arity("ping")),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    ctx.w().bulk(req.arg(1));
    Ok(())
}

fn hello(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let h = parse_hello(req)?;
    if let Some((user, pass)) = &h.auth {
        check_auth(ctx, Some(user), pass)?;
        ctx.conn.authenticated = true;
    }
    if !ctx.conn.authenticated {
        return Err(CmdError::fixed(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(name) = h.setname {
        *ctx.conn.info.name.borrow_mut() = name;
    }
    if let Some(p) = h.proto {
        ctx.conn.proto = p;
        ctx.conn.info.resp.set(p.version() as u8);
    }
    let (id, proto) = (ctx.conn.id, ctx.conn.proto);
    let mut w = ctx.w();
    w.map(7);
    w.bulk(b"server");
    w.bulk(b"redis");
    w.bulk(b"version");
    w.bulk(REDIS_VERSION.as_bytes());
    w.bulk(b"proto");
    w.int(proto.version());
    w.bulk(b"id");
    w.int(i64::try_from(id).unwrap_or(i64::MAX));
    w.bulk(b"mode");
    w.bulk(b"standalone");
    w.bulk(b"role");
    w.bulk(b"master");
    w.bulk(b"modules");
    w.array(0);
    Ok(())
}

fn auth(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (user, pass) = match req.len() {
        2 => (None, req.arg(1)),
        3 => (Some(req.arg(1)), req.arg(2)),
        _ => return Err(errors::SYNTAX),
    };
    check_auth(ctx, user, pass)?;
    ctx.conn.authenticated = true;
    ctx.w().ok();
    Ok(())
}

fn select(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let idx = parse_i64_or(req.arg(1), errors::NOT_INTEGER)?;
    let dbs = ctx.shard.state.borrow().dbs.len();
    let idx = usize::try_from(idx)
        .ok()
        .filter(|&i| i < dbs)
        .ok_or(errors::DB_INDEX)?;
    ctx.conn.db = idx;
    ctx.conn.info.db.set(idx);
    ctx.w().ok();
    Ok(())
}

fn quit(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    ctx.conn.close_after_reply = true;
    ctx.w().ok();
    Ok(())
}

fn reset(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let needs_auth = ctx.shard.state.borrow().config.requirepass.is_some();
    let c = &mut *ctx.conn;
    c.db = 0;
    c.proto = Proto::Resp2;
    c.reply_mode = ReplyMode::On;
    c.authenticated = !needs_auth;
    c.info.db.set(0);
    c.info.resp.set(2);
    c.info.name.borrow_mut().clear();
    c.info.no_evict.set(false);
    c.info.no_touch.set(false);
    c.multi = None;
    c.info.multi.set(-1);
    super::pubsub::unsubscribe_all(ctx.shard, c);
    super::monitor::stop(ctx.shard, c);
    if !c.watched.is_empty() {
        c.pending = Some(super::multi::ConnTask::Unwatch);
    }
    ctx.set_suppress_self(false);
    ctx.w().simple(b"RESET");
    Ok(())
}

// ---- table ----

const CONN: u32 = acl::CONNECTION;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("ping", -1, ping)
        .flags(FAST | SENTINEL)
        .acl(CONN)
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc(
            "connection",
            "1.0.0",
            "Checks that the server is alive; returns PONG or the given message.",
        ),
    CommandSpec::new("echo", 2, echo)
        .flags(LOADING | STALE | FAST)
        .acl(CONN)
        .doc("connection", "1.0.0", "Returns its argument."),
    CommandSpec::new("hello", -1, hello)
        .flags(NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY)
        .acl(CONN)
        .doc(
            "connection",
            "6.0.0",
            "Negotiates the protocol version, optionally authenticating and naming the connection.",
        ),
    CommandSpec::new("auth", -2, auth)
        .flags(NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY)
        .acl(CONN)
        .doc("connection", "1.0.0", "Authenticates the connection."),
    CommandSpec::new("select", 2, select)
        .flags(LOADING | STALE | FAST)
        .acl(CONN)
        .doc(
            "connection",
            "1.0.0",
            "Changes the connection's current database.",
        ),
    CommandSpec::new("quit", -1, quit)
        .flags(ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH)
        .acl(CONN)
        .doc(
            "connection",
            "1.0.0",
            "Closes the connection after replying.",
        ),
    CommandSpec::new("reset", 1, reset)
        .flags(NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY)
        .acl(CONN)
        .doc(
            "connection",
            "6.2.0",
            "Resets the connection to its initial state.",
        ),
];
