//! CLIENT subcommands: ID SETNAME GETNAME SETINFO LIST INFO KILL REPLY PAUSE
//! UNPAUSE NO-EVICT NO-TOUCH HELP.
//!
//! Connections live on the shard that accepted them, so LIST and KILL ask
//! every shard; PAUSE installs the pause on every shard, and connections
//! check it before running each command.

use super::args::{is, parse_i64, parse_i64_or};
use super::connection::check_client_name;
use super::ctx::{encode, Ctx, ReplyMode};
use super::errors::{self, CmdError, CmdResult};
use super::spec::{acl, flags::*, CommandSpec};
use crate::shard::clients::{ClientInfo, ClientKind};
use resp::Request;
use std::rc::Rc;

fn id(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let id = ctx.conn.id;
    ctx.w().int(i64::try_from(id).unwrap_or(i64::MAX));
    Ok(())
}

fn setname(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let name = req.arg(2);
    check_client_name(name)?;
    *ctx.conn.info.name.borrow_mut() = name.to_vec();
    ctx.w().ok();
    Ok(())
}

fn getname(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let name = ctx.conn.info.name.borrow().clone();
    let mut w = ctx.w();
    if name.is_empty() {
        w.null();
    } else {
        w.bulk(&name);
    }
    Ok(())
}

fn setinfo(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let attr = req.arg(2);
    let value = req.arg(3);
    let field = if is(attr, "LIB-NAME") {
        &ctx.conn.info.lib_name
    } else if is(attr, "LIB-VER") {
        &ctx.conn.info.lib_ver
    } else {
        return Err(CmdError::owned(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        )));
    };
    if value.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::owned(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr)
        )));
    }
    *field.borrow_mut() = value.to_vec();
    ctx.w().ok();
    Ok(())
}

/// Which connections a CLIENT LIST / KILL matches.
#[derive(Clone, Debug, Default)]
struct Filter {
    ids: Option<Vec<u64>>,
    kind: Option<Kind>,
    addr: Option<String>,
    laddr: Option<String>,
    user: Option<String>,
    max_age: Option<i64>,
    skip_me: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Normal,
    Pubsub,
    Master,
    Replica,
}

fn parse_kind(v: &[u8]) -> CmdResult<Kind> {
    if is(v, "normal") {
        Ok(Kind::Normal)
    } else if is(v, "pubsub") {
        Ok(Kind::Pubsub)
    } else if is(v, "master") {
        Ok(Kind::Master)
    } else if is(v, "replica") || is(v, "slave") {
        Ok(Kind::Replica)
    } else {
        Err(CmdError::owned(format!(
            "ERR Unknown client type '{}'",
            String::from_utf8_lossy(v)
        )))
    }
}

impl Filter {
    fn matches(&self, c: &ClientInfo, now_ms: i64) -> bool {
        if let Some(ids) = &self.ids {
            if !ids.contains(&c.id) {
                return false;
            }
        }
        if let Some(k) = self.kind {
            let mine = match c.kind.get() {
                ClientKind::Normal => Kind::Normal,
                ClientKind::Pubsub => Kind::Pubsub,
            };
            if k != mine {
                return false;
            }
        }
        if self.addr.as_ref().is_some_and(|a| *a != c.addr) {
            return false;
        }
        if self.laddr.as_ref().is_some_and(|a| *a != c.laddr) {
            return false;
        }
        if self.user.as_ref().is_some_and(|u| u != "default") {
            return false;
        }
        if let Some(age) = self.max_age {
            if (now_ms - c.created_ms) / 1000 < age {
                return false;
            }
        }
        if self.skip_me == Some(c.id) {
            return false;
        }
        true
    }
}

fn all_lines(ctx: &mut Ctx<'_>, filter: Filter) {
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let per_shard = home
            .broadcast(move |s| {
                let now = crate::clock::now_ms();
                let st = s.state.borrow();
                st.clients
                    .iter()
                    .filter(|c| filter.matches(c, now))
                    .map(|c| (c.id, c.line(now)))
                    .collect::<Vec<_>>()
            })
            .await;
        let mut lines: Vec<(u64, String)> = per_shard.into_iter().flatten().collect();
        lines.sort_by_key(|(id, _)| *id);
        let mut text = String::new();
        for (_, l) in &lines {
            text.push_str(l);
            text.push('\n');
        }
        encode(proto, |w| w.verbatim(b"txt", text.as_bytes()))
    });
}

fn list(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let mut filter = Filter::default();
    let mut i = 2;
    while i < req.len() {
        let opt = req.arg(i);
        if is(opt, "TYPE") && i + 1 < req.len() {
            filter.kind = Some(parse_kind(req.arg(i + 1))?);
            i += 2;
        } else if is(opt, "ID") && i + 1 < req.len() {
            let mut ids = Vec::new();
            i += 1;
            while i < req.len() {
                let v = parse_i64_or(req.arg(i), CmdError::fixed("ERR Invalid client ID"))?;
                ids.push(u64::try_from(v).map_err(|_| CmdError::fixed("ERR Invalid client ID"))?);
                i += 1;
            }
            filter.ids = Some(ids);
        } else {
            return Err(errors::SYNTAX);
        }
    }
    all_lines(ctx, filter);
    Ok(())
}

fn info(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let mut line = ctx.conn.info.line(crate::clock::now_ms());
    line.push('\n');
    ctx.w().verbatim(b"txt", line.as_bytes());
    Ok(())
}

fn kill(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let me = ctx.conn.id;
    if req.len() == 3 {
        // Old form: CLIENT KILL addr:port, may kill the caller itself.
        let addr = String::from_utf8_lossy(req.arg(2)).into_owned();
        let filter = Filter {
            addr: Some(addr),
            ..Filter::default()
        };
        let home = ctx.shard.clone();
        let proto = ctx.proto();
        ctx.run_async(async move {
            let n: usize = kill_everywhere(&home, filter).await;
            encode(proto, |w| {
                if n > 0 {
                    w.ok()
                } else {
                    w.error(b"ERR No such client")
                }
            })
        });
        return Ok(());
    }
    if !req.len().is_multiple_of(2) {
        return Err(errors::SYNTAX);
    }
    let mut filter = Filter {
        skip_me: Some(me),
        ..Filter::default()
    };
    for pair in (2..req.len()).step_by(2) {
        let (opt, v) = (req.arg(pair), req.arg(pair + 1));
        if is(opt, "ID") {
            let id = parse_i64(v).ok().filter(|&i| i > 0);
            let id = id.ok_or(CmdError::fixed("ERR client-id should be greater than 0"))?;
            filter.ids = Some(vec![u64::try_from(id).unwrap_or(0)]);
        } else if is(opt, "TYPE") {
            filter.kind = Some(parse_kind(v)?);
        } else if is(opt, "ADDR") {
            filter.addr = Some(String::from_utf8_lossy(v).into_owned());
        } else if is(opt, "LADDR") {
            filter.laddr = Some(String::from_utf8_lossy(v).into_owned());
        } else if is(opt, "USER") {
            filter.user = Some(String::from_utf8_lossy(v).into_owned());
        } else if is(opt, "SKIPME") {
            if is(v, "yes") {
                filter.skip_me = Some(me);
            } else if is(v, "no") {
                filter.skip_me = None;
            } else {
                return Err(errors::SYNTAX);
            }
        } else if is(opt, "MAXAGE") {
            filter.max_age = Some(parse_i64(v).map_err(|_| errors::SYNTAX)?);
        } else {
            return Err(errors::SYNTAX);
        }
    }
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let n = kill_everywhere(&home, filter).await;
        encode(proto, |w| w.int(i64::try_from(n).unwrap_or(0)))
    });
    Ok(())
}

async fn kill_everywhere(home: &Rc<crate::shard::Shard>, filter: Filter) -> usize {
    home.broadcast(move |s| {
        let now = crate::clock::now_ms();
        let st = s.state.borrow();
        let victims: Vec<Rc<ClientInfo>> = st
            .clients
            .iter()
            .filter(|c| filter.matches(c, now) && !c.killed.get())
            .cloned()
            .collect();
        drop(st);
        for c in &victims {
            crate::server::conn::kill(c);
        }
        victims.len()
    })
    .await
    .into_iter()
    .sum()
}

fn reply(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let mode = req.arg(2);
    if is(mode, "ON") {
        ctx.conn.reply_mode = ReplyMode::On;
        ctx.set_suppress_self(false);
        ctx.w().ok();
    } else if is(mode, "OFF") {
        ctx.conn.reply_mode = ReplyMode::Off;
        ctx.set_suppress_self(true);
    } else if is(mode, "SKIP") {
        if ctx.conn.reply_mode != ReplyMode::Off {
            ctx.conn.reply_mode = ReplyMode::SkipNext;
        }
        ctx.set_suppress_self(true);
    } else {
        return Err(errors::SYNTAX);
    }
    Ok(())
}

/// Pause state installed on every shard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pause {
    /// Unix ms when the pause ends (0: not paused).
    pub until: i64,
    /// Pause every command, not only writes.
    pub all: bool,
}

fn pause(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let ms = parse_i64_or(
        req.arg(2),
        CmdError::fixed("ERR timeout is not an integer or out of range"),
    )?;
    if ms < 0 {
        return Err(CmdError::fixed("ERR timeout is negative"));
    }
    let all = match req.len() {
        3 => true,
        4 if is(req.arg(3), "ALL") => true,
        4 if is(req.arg(3), "WRITE") => false,
        4 => {
            return Err(CmdError::fixed(
                "ERR CLIENT PAUSE mode must be WRITE or ALL",
            ))
        }
        _ => return Err(errors::SYNTAX),
    };
    let p = Pause {
        until: crate::clock::now_ms().saturating_add(ms),
        all,
    };
    set_pause(ctx, Some(p));
    Ok(())
}

fn unblock(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let id = u64::try_from(parse_i64(req.arg(2))?).unwrap_or(0);
    let error = match req.len() {
        3 => false,
        4 if is(req.arg(3), "TIMEOUT") => false,
        4 if is(req.arg(3), "ERROR") => true,
        4 => {
            return Err(CmdError::fixed(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
        _ => return Err(errors::SYNTAX),
    };
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let hits = home
            .broadcast(move |s| s.state.borrow_mut().blocking.unblock(id, error))
            .await;
        encode(proto, |w| w.int(i64::from(hits.into_iter().any(|h| h))))
    });
    Ok(())
}

fn unpause(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    set_pause(ctx, None);
    Ok(())
}

fn set_pause(ctx: &mut Ctx<'_>, p: Option<Pause>) {
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        home.broadcast(move |s| {
            let mut st = s.state.borrow_mut();
            // The latest CLIENT PAUSE replaces any running one.
            st.pause = p;
        })
        .await;
        encode(proto, |w| w.ok())
    });
}

fn on_off(ctx: &mut Ctx<'_>, req: &Request, set: fn(&ClientInfo, bool)) -> CmdResult {
    let v = req.arg(2);
    let on = if is(v, "ON") {
        true
    } else if is(v, "OFF") {
        false
    } else {
        return Err(errors::SYNTAX);
    };
    set(&ctx.conn.info, on);
    ctx.w().ok();
    Ok(())
}

fn no_evict(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    on_off(ctx, req, |c, on| c.no_evict.set(on))
}

fn no_touch(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    on_off(ctx, req, |c, on| c.no_touch.set(on))
}

fn help(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    super::help_reply(
        ctx,
        "CLIENT",
        &[
            ("ID", "this connection's id"),
            ("INFO", "one CLIENT LIST line about this connection"),
            (
                "LIST [TYPE <type>] [ID <id> ...]",
                "every connection, one line each",
            ),
            (
                "KILL <addr:port> | KILL <filter> <value> ...",
                "close connections (filters: ID TYPE USER ADDR LADDR SKIPME MAXAGE)",
            ),
            (
                "GETNAME | SETNAME <name>",
                "read or set this connection's name",
            ),
            (
                "SETINFO <LIB-NAME|LIB-VER> <value>",
                "record the client library's name or version",
            ),
            (
                "REPLY <ON|OFF|SKIP>",
                "turn replies to this connection on or off",
            ),
            (
                "PAUSE <ms> [WRITE|ALL] | UNPAUSE",
                "hold (writing) clients back for a while, or release them",
            ),
            (
                "NO-EVICT <ON|OFF> | NO-TOUCH <ON|OFF>",
                "exempt this connection from eviction / from updating access times",
            ),
            ("HELP", "this list"),
        ],
    );
    Ok(())
}

const C: u32 = acl::CONNECTION;
const ADMIN_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

const SUBS: &[CommandSpec] = &[
    CommandSpec::new("getname", 2, getname)
        .flags(NOSCRIPT | LOADING | STALE)
        .acl(C)
        .doc("connection", "2.6.9", "Returns the name of the connection."),
    CommandSpec::new("help", 2, help)
        .flags(LOADING | STALE)
        .acl(C)
        .doc("connection", "5.0.0", "Lists the CLIENT subcommands."),
    CommandSpec::new("id", 2, id)
        .flags(NOSCRIPT | LOADING | STALE)
        .acl(C)
        .doc(
            "connection",
            "5.0.0",
            "Returns the unique id of the connection.",
        ),
    CommandSpec::new("info", 2, info)
        .flags(NOSCRIPT | LOADING | STALE)
        .acl(C)
        .tips(&["nondeterministic_output"])
        .doc(
            "connection",
            "6.2.0",
            "Returns information about the connection.",
        ),
    CommandSpec::new("kill", -3, kill)
        .flags(ADMIN_FLAGS)
        .acl(C)
        .doc("connection", "2.4.0", "Terminates open connections."),
    CommandSpec::new("list", -2, list)
        .flags(ADMIN_FLAGS)
        .acl(C)
        .tips(&["nondeterministic_output"])
        .doc("connection", "2.4.0", "Lists open connections."),
    CommandSpec::new("no-evict", 3, no_evict)
        .flags(ADMIN_FLAGS)
        .acl(C)
        .doc(
            "connection",
            "7.0.0",
            "Sets the client eviction mode of the connection.",
        ),
    CommandSpec::new("no-touch", 3, no_touch)
        .flags(NOSCRIPT | LOADING | STALE)
        .acl(C)
        .doc(
            "connection",
            "7.2.0",
            "Controls whether the connection's commands update keys' access times.",
        ),
    CommandSpec::new("pause", -3, pause)
        .flags(ADMIN_FLAGS)
        .acl(C)
        .doc("connection", "3.0.0", "Suspends commands processing."),
    CommandSpec::new("reply", 3, reply)
        .flags(NOSCRIPT | LOADING | STALE)
        .acl(C)
        .doc(
            "connection",
            "3.2.0",
            "Instructs the server whether to reply to commands.",
        ),
    CommandSpec::new("setinfo", 4, setinfo)
        .flags(NOSCRIPT | LOADING | STALE)
        .acl(C)
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
        .doc(
            "connection",
            "7.2.0",
            "Sets information specific to the client or connection.",
        ),
    CommandSpec::new("setname", 3, setname)
        .flags(NOSCRIPT | LOADING | STALE)
        .acl(C)
        .doc("connection", "2.6.9", "Sets the connection name."),
    CommandSpec::new("unblock", -3, unblock)
        .flags(ADMIN_FLAGS)
        .acl(C)
        .doc(
            "connection",
            "5.0.0",
            "Unblocks a client blocked by a blocking command from a different connection.",
        ),
    CommandSpec::new("unpause", 2, unpause)
        .flags(ADMIN_FLAGS)
        .acl(C)
        .doc(
            "connection",
            "6.2.0",
            "Resumes processing of clients that were paused.",
        ),
];

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::container("client", -2, SUBS).doc(
    "connection",
    "2.4.0",
    "Commands about client connections.",
)];
