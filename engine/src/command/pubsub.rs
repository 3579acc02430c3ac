//! Pub/Sub: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE SSUBSCRIBE
//! SUNSUBSCRIBE PUBLISH SPUBLISH PUBSUB.
//!
//! A connection's subscriptions live on its home shard
//! ([`crate::shard::pubsub`]); PUBLISH visits every shard, each delivering
//! to its own subscribers, and replies with the total reached. Messages
//! wait in the subscriber's mailbox until its connection writes them
//! ([`crate::server::conn`]). Shard channels (SSUBSCRIBE/SPUBLISH) are a
//! separate namespace, as in Redis outside cluster mode.
//!
//! In RESP2 a subscribed connection accepts only the (P|S)(UN)SUBSCRIBE
//! commands, PING, QUIT and RESET ([`check_subscribed_mode`]); in RESP3
//! pushes interleave with ordinary replies.

use super::ctx::{encode, Conn, Ctx};
use super::errors::{CmdError, CmdResult};
use super::spec::{acl, flags::*, CommandSpec, KeySpecDef};
use crate::shard::pubsub::Mailbox;
use crate::shard::Shard;
use bytes::Bytes;
use resp::{Proto, Request};
use std::rc::Rc;

/// Subscription namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn sub_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }

    fn unsub_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

/// A connection's subscriptions, in subscription order.
#[derive(Debug, Default)]
pub struct Subscriptions {
    /// Where this connection's messages wait.
    pub mailbox: Rc<Mailbox>,
    channels: Vec<Bytes>,
    patterns: Vec<Bytes>,
    shard_channels: Vec<Bytes>,
}

impl Subscriptions {
    fn list(&mut self, kind: Kind) -> &mut Vec<Bytes> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    /// The count Redis reports in (un)subscribe replies: channels and
    /// patterns together, shard channels on their own.
    fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard_channels.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }

    /// Publish the counts and the pubsub kind on CLIENT LIST.
    fn show(&self, info: &crate::shard::clients::ClientInfo) {
        let n = |v: &Vec<Bytes>| u32::try_from(v.len()).unwrap_or(u32::MAX);
        info.subs.set((
            n(&self.channels),
            n(&self.patterns),
            n(&self.shard_channels),
        ));
        info.kind.set(if self.active() {
            crate::shard::clients::ClientKind::Pubsub
        } else {
            crate::shard::clients::ClientKind::Normal
        });
    }

    /// True while subscribed to anything.
    pub fn active(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard_channels.is_empty())
    }
}

/// The RESP2 subscribed-mode rule: the error for any other command.
pub fn check_subscribed_mode(conn: &Conn, top_name: &str, fullname: &str) -> Option<CmdError> {
    let subscribed = conn.subs.as_ref().is_some_and(|s| s.active());
    if !subscribed || conn.proto != Proto::Resp2 {
        return None;
    }
    let allowed = matches!(
        top_name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    );
    (!allowed).then(|| {
        CmdError::owned(format!(
            "ERR Can't execute '{fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        ))
    })
}

/// PING in RESP2 subscribed mode: `["pong", message-or-empty]`.
pub fn subscribed_ping(conn: &Conn) -> bool {
    conn.proto == Proto::Resp2 && conn.subs.as_ref().is_some_and(|s| s.active())
}

fn register(shard: &Shard, kind: Kind, name: Bytes, client: u64, mb: &Rc<Mailbox>) {
    let mut st = shard.state.borrow_mut();
    match kind {
        Kind::Channel => st.pubsub.subscribe(name, client, mb),
        Kind::Pattern => st.pubsub.psubscribe(name, client, mb),
        Kind::Shard => st.pubsub.ssubscribe(name, client, mb),
    }
}

fn unregister(shard: &Shard, kind: Kind, name: &[u8], client: u64) {
    let mut st = shard.state.borrow_mut();
    match kind {
        Kind::Channel => st.pubsub.unsubscribe(name, client),
        Kind::Pattern => st.pubsub.punsubscribe(name, client),
        Kind::Shard => st.pubsub.sunsubscribe(name, client),
    }
}

fn subscribe_generic(ctx: &mut Ctx<'_>, req: &Request, kind: Kind) -> CmdResult {
    let client = ctx.conn.id;
    let resp3 = ctx.conn.proto == Proto::Resp3;
    let subs = ctx.conn.subs.get_or_insert_with(Default::default);
    subs.mailbox.resp3.set(resp3);
    subs.mailbox.attach(&ctx.conn.info);
    let mb = subs.mailbox.clone();
    let mut replies = Vec::with_capacity(req.len() - 1);
    for i in 1..req.len() {
        let name = req.arg_bytes(i);
        if !subs.list(kind).contains(&name) {
            subs.list(kind).push(name.clone());
            register(ctx.shard, kind, name.clone(), client, &mb);
        }
        replies.push((name, subs.count(kind)));
    }
    subs.show(&ctx.conn.info);
    let mut w = ctx.w();
    for (name, count) in replies {
        w.push(3);
        w.bulk(kind.sub_word());
        w.bulk(&name);
        w.int(count as i64);
    }
    Ok(())
}

fn unsubscribe_generic(ctx: &mut Ctx<'_>, req: &Request, kind: Kind) -> CmdResult {
    let client = ctx.conn.id;
    let subs = ctx.conn.subs.get_or_insert_with(Default::default);
    let names: Vec<Bytes> = if req.len() > 1 {
        (1..req.len()).map(|i| req.arg_bytes(i)).collect()
    } else {
        subs.list(kind).clone()
    };
    let mut replies = Vec::with_capacity(names.len().max(1));
    for name in names {
        let list = subs.list(kind);
        if let Some(pos) = list.iter().position(|n| *n == name) {
            list.remove(pos);
            unregister(ctx.shard, kind, &name, client);
        }
        replies.push((Some(name), subs.count(kind)));
    }
    if replies.is_empty() {
        replies.push((None, subs.count(kind)));
    }
    subs.show(&ctx.conn.info);
    let mut w = ctx.w();
    for (name, count) in replies {
        w.push(3);
        w.bulk(kind.unsub_word());
        match name {
            Some(n) => w.bulk(&n),
            None => w.null(),
        }
        w.int(count as i64);
    }
    Ok(())
}

/// Drop every subscription of a closing connection (or RESET).
pub fn unsubscribe_all(shard: &Shard, conn: &mut Conn) {
    let Some(mut subs) = conn.subs.take() else {
        return;
    };
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        for name in std::mem::take(subs.list(kind)) {
            unregister(shard, kind, &name, conn.id);
        }
    }
    subs.show(&conn.info);
}

fn subscribe(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    subscribe_generic(ctx, req, Kind::Channel)
}

fn psubscribe(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    subscribe_generic(ctx, req, Kind::Pattern)
}

fn ssubscribe(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    subscribe_generic(ctx, req, Kind::Shard)
}

fn unsubscribe(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    unsubscribe_generic(ctx, req, Kind::Channel)
}

fn punsubscribe(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    unsubscribe_generic(ctx, req, Kind::Pattern)
}

fn sunsubscribe(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    unsubscribe_generic(ctx, req, Kind::Shard)
}

fn publish_generic(ctx: &mut Ctx<'_>, req: &Request, sharded: bool) -> CmdResult {
    let (channel, msg) = (req.arg_bytes(1), req.arg_bytes(2));
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let counts = home
            .broadcast(move |s| {
                let mut st = s.state.borrow_mut();
                let config = st.config.clone();
                if sharded {
                    st.pubsub.spublish(&channel, &msg, &config)
                } else {
                    st.pubsub.publish(&channel, &msg, &config)
                }
            })
            .await;
        let n: usize = counts.into_iter().sum();
        encode(proto, |w| w.int(n as i64))
    });
    Ok(())
}

fn publish(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    publish_generic(ctx, req, false)
}

fn spublish(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    publish_generic(ctx, req, true)
}

fn channels_generic(ctx: &mut Ctx<'_>, req: &Request, sharded: bool) -> CmdResult {
    if req.len() > 3 {
        return Err(super::errors::subcommand_syntax(req.arg(1), "pubsub"));
    }
    let pattern = (req.len() == 3).then(|| req.arg_bytes(2));
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let lists = home
            .broadcast(move |s| {
                s.state
                    .borrow()
                    .pubsub
                    .channels(pattern.as_deref(), sharded)
            })
            .await;
        let mut all: Vec<Bytes> = lists.into_iter().flatten().collect();
        all.sort();
        all.dedup();
        encode(proto, |w| {
            w.array(all.len());
            for c in &all {
                w.bulk(c);
            }
        })
    });
    Ok(())
}

fn numsub_generic(ctx: &mut Ctx<'_>, req: &Request, sharded: bool) -> CmdResult {
    let names: Vec<Bytes> = (2..req.len()).map(|i| req.arg_bytes(i)).collect();
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let asked = names.clone();
        let per_shard = home
            .broadcast(move |s| {
                let st = s.state.borrow();
                asked
                    .iter()
                    .map(|c| st.pubsub.numsub(c, sharded))
                    .collect::<Vec<_>>()
            })
            .await;
        encode(proto, |w| {
            // A flat array in RESP3 too, as Redis sends it.
            w.array(names.len() * 2);
            for (i, c) in names.iter().enumerate() {
                w.bulk(c);
                let n: usize = per_shard.iter().filter_map(|v| v.get(i)).sum();
                w.int(n as i64);
            }
        })
    });
    Ok(())
}

fn pubsub_channels(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    channels_generic(ctx, req, false)
}

fn pubsub_shardchannels(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    channels_generic(ctx, req, true)
}

fn pubsub_numsub(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    numsub_generic(ctx, req, false)
}

fn pubsub_shardnumsub(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    numsub_generic(ctx, req, true)
}

fn pubsub_numpat(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    let home = ctx.shard.clone();
    let proto = ctx.proto();
    ctx.run_async(async move {
        let lists = home.broadcast(|s| s.state.borrow().pubsub.patterns()).await;
        let mut all: Vec<Bytes> = lists.into_iter().flatten().collect();
        all.sort();
        all.dedup();
        encode(proto, |w| w.int(all.len() as i64))
    });
    Ok(())
}

fn pubsub_help(ctx: &mut Ctx<'_>, _req: &Request) -> CmdResult {
    super::help_reply(
        ctx,
        "PUBSUB",
        &[
            (
                "CHANNELS [<pattern>]",
                "the active channels (with a subscriber), optionally matching a pattern",
            ),
            ("NUMPAT", "the number of distinct subscribed patterns"),
            (
                "NUMSUB [<channel> ...]",
                "the subscriber count of each channel",
            ),
            (
                "SHARDCHANNELS [<pattern>]",
                "the active shard channels, optionally matching a pattern",
            ),
            (
                "SHARDNUMSUB [<shardchannel> ...]",
                "the subscriber count of each shard channel",
            ),
            ("HELP", "this text"),
        ],
    );
    Ok(())
}

// ---- table ----

const PS: u32 = acl::PUBSUB;
const NOT_KEY: &[KeySpecDef] = &[KeySpecDef::range(&["NOT_KEY"], 1, -1, 1, 0)];

const PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("channels", -2, pubsub_channels)
        .flags(PUBSUB | LOADING | STALE)
        .acl(PS)
        .doc("pubsub", "2.8.0", "Returns the active channels."),
    CommandSpec::new("help", 2, pubsub_help)
        .flags(LOADING | STALE)
        .doc(
            "pubsub",
            "6.2.0",
            "Returns helpful text about the different subcommands.",
        ),
    CommandSpec::new("numpat", 2, pubsub_numpat)
        .flags(PUBSUB | LOADING | STALE)
        .acl(PS)
        .doc(
            "pubsub",
            "2.8.0",
            "Returns a count of unique pattern subscriptions.",
        ),
    CommandSpec::new("numsub", -2, pubsub_numsub)
        .flags(PUBSUB | LOADING | STALE)
        .acl(PS)
        .doc(
            "pubsub",
            "2.8.0",
            "Returns a count of subscribers to channels.",
        ),
    CommandSpec::new("shardchannels", -2, pubsub_shardchannels)
        .flags(PUBSUB | LOADING | STALE)
        .acl(PS)
        .doc("pubsub", "7.0.0", "Returns the active shard channels."),
    CommandSpec::new("shardnumsub", -2, pubsub_shardnumsub)
        .flags(PUBSUB | LOADING | STALE)
        .acl(PS)
        .doc(
            "pubsub",
            "7.0.0",
            "Returns the count of subscribers of shard channels.",
        ),
];

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("subscribe", -2, subscribe)
        .flags(PUBSUB | NOSCRIPT | LOADING | STALE)
        .acl(PS)
        .doc(
            "pubsub",
            "2.0.0",
            "Listens for messages published to channels.",
        ),
    CommandSpec::new("unsubscribe", -1, unsubscribe)
        .flags(PUBSUB | NOSCRIPT | LOADING | STALE)
        .acl(PS)
        .doc(
            "pubsub",
            "2.0.0",
            "Stops listening to messages posted to channels.",
        ),
    CommandSpec::new("psubscribe", -2, psubscribe)
        .flags(PUBSUB | NOSCRIPT | LOADING | STALE)
        .acl(PS)
        .doc(
            "pubsub",
            "2.0.0",
            "Listens for messages published to channels that match one or more patterns.",
        ),
    CommandSpec::new("punsubscribe", -1, punsubscribe)
        .flags(PUBSUB | NOSCRIPT | LOADING | STALE)
        .acl(PS)
        .doc(
            "pubsub",
            "2.0.0",
            "Stops listening to messages published to channels that match one or more patterns.",
        ),
    CommandSpec::new("ssubscribe", -2, ssubscribe)
        .flags(PUBSUB | NOSCRIPT | LOADING | STALE)
        .acl(PS)
        .keys(1, -1, 1)
        .key_specs(NOT_KEY)
        .doc(
            "pubsub",
            "7.0.0",
            "Listens for messages published to shard channels.",
        ),
    CommandSpec::new("sunsubscribe", -1, sunsubscribe)
        .flags(PUBSUB | NOSCRIPT | LOADING | STALE)
        .acl(PS)
        .keys(1, -1, 1)
        .key_specs(NOT_KEY)
        .doc(
            "pubsub",
            "7.0.0",
            "Stops listening to messages posted to shard channels.",
        ),
    CommandSpec::new("publish", 3, publish)
        .flags(PUBSUB | LOADING | STALE | FAST)
        .acl(PS)
        .doc("pubsub", "2.0.0", "Posts a message to a channel."),
    CommandSpec::new("spublish", 3, spublish)
        .flags(PUBSUB | LOADING | STALE | FAST)
        .acl(PS)
        .keys(1, 1, 1)
        .key_specs(&[KeySpecDef::range(&["NOT_KEY"], 1, 0, 1, 0)])
        .doc("pubsub", "7.0.0", "Post a message to a shard channel"),
    CommandSpec::container("pubsub", -2, PUBSUB_SUBCOMMANDS).doc(
        "pubsub",
        "2.8.0",
        "A container for Pub/Sub commands.",
    ),
];
