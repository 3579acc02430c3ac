//! Pub/Sub on one shard: the subscribers whose connections live here, by
//! channel and by pattern, and each connection's [`Mailbox`] of encoded
//! messages waiting to be written.
//!
//! PUBLISH runs on every shard (a broadcast from the publisher's shard):
//! each shard delivers to its own subscribers and answers how many it
//! reached. The mesh keeps messages between two shards in order, so one
//! publisher's messages arrive in publish order everywhere.
//!
//! A subscriber that does not read is bounded by `client-output-buffer-limit
//! pubsub <hard> <soft> <seconds>` (Redis's defaults: 32mb 8mb 60): past the
//! hard limit, or above the soft limit for longer than the given seconds,
//! its mailbox stops taking messages and the connection is closed.

use super::clients::ClientInfo;
use crate::glob::matches as glob_match;
use bytes::Bytes;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Encoded pushes waiting for one connection, and its limits state.
#[derive(Debug, Default)]
pub struct Mailbox {
    /// RESP3 connections get `>` push frames, RESP2 ones arrays.
    pub resp3: Cell<bool>,
    queue: RefCell<Vec<u8>>,
    waker: RefCell<Option<Waker>>,
    /// Past the output-buffer limit: the connection must close.
    overflowed: Cell<bool>,
    /// Since when (Unix ms) the queue has been above the soft limit.
    soft_since: Cell<Option<i64>>,
    /// The connection, to close it when it overflows.
    client: RefCell<Option<Rc<ClientInfo>>>,
}

impl Mailbox {
    /// Tie the mailbox to its connection (closed on overflow).
    pub fn attach(&self, info: &Rc<ClientInfo>) {
        let mut c = self.client.borrow_mut();
        if c.is_none() {
            *c = Some(info.clone());
        }
    }

    /// Take everything queued.
    pub fn drain_into(&self, out: &mut Vec<u8>) {
        let mut q = self.queue.borrow_mut();
        if out.is_empty() {
            std::mem::swap(out, &mut q);
        } else {
            out.extend_from_slice(&q);
            q.clear();
        }
        self.soft_since.set(None);
    }

    /// True when messages are waiting.
    pub fn has_mail(&self) -> bool {
        !self.queue.borrow().is_empty()
    }

    /// True once the output-buffer limit was passed.
    pub fn overflowed(&self) -> bool {
        self.overflowed.get()
    }

    /// Completes when mail arrives (or the mailbox overflows).
    pub fn ready(self: &Rc<Self>) -> MailReady {
        MailReady(self.clone())
    }

    fn wake(&self) {
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    /// Queue one message; false (and nothing queued) when the limits are hit.
    fn post(&self, limits: Limits, now: i64, encode: impl FnOnce(&mut Vec<u8>, bool)) -> bool {
        if self.overflowed.get() {
            return false;
        }
        let mut q = self.queue.borrow_mut();
        encode(&mut q, self.resp3.get());
        let len = q.len() as u64;
        drop(q);
        let soft_expired = if limits.soft > 0 && len > limits.soft {
            let since = self.soft_since.get().unwrap_or(now);
            self.soft_since.set(Some(since));
            now - since > limits.soft_secs.saturating_mul(1000)
        } else {
            self.soft_since.set(None);
            false
        };
        if (limits.hard > 0 && len > limits.hard) || soft_expired {
            self.overflowed.set(true);
            self.queue.borrow_mut().clear();
            if let Some(info) = self.client.borrow().as_ref() {
                log::warn!(
                    "Client id={} addr={} closed for overcoming of output buffer limits.",
                    info.id,
                    info.addr
                );
                crate::server::conn::kill_now(info);
            }
            self.wake();
            return false;
        }
        self.wake();
        true
    }
}

/// Future of [`Mailbox::ready`].
pub struct MailReady(Rc<Mailbox>);

impl Future for MailReady {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.has_mail() || self.0.overflowed() {
            Poll::Ready(())
        } else {
            *self.0.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// `client-output-buffer-limit pubsub` in bytes and seconds (0 = none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    hard: u64,
    soft: u64,
    soft_secs: i64,
}

impl Limits {
    /// The `pubsub` class of a normalized `client-output-buffer-limit` value.
    pub fn parse(directive: &str) -> Limits {
        Self::parse_class(directive, "pubsub")
    }

    /// A class (`pubsub`, `slave`) of a `client-output-buffer-limit` value.
    pub fn parse_class(directive: &str, class: &str) -> Limits {
        let w: Vec<&str> = directive.split_whitespace().collect();
        w.chunks(4)
            .find(|c| c.first() == Some(&class))
            .and_then(|c| {
                Some(Limits {
                    hard: c.get(1)?.parse().ok()?,
                    soft: c.get(2)?.parse().ok()?,
                    soft_secs: c.get(3)?.parse().ok()?,
                })
            })
            .unwrap_or(Limits {
                hard: 32 << 20,
                soft: 8 << 20,
                soft_secs: 60,
            })
    }
}

type Subscribers = Vec<(u64, Rc<Mailbox>)>;

/// The subscriptions of this shard's connections.
#[derive(Default)]
pub struct PubSub {
    channels: HashMap<Bytes, Subscribers>,
    patterns: HashMap<Bytes, Subscribers>,
    shard_channels: HashMap<Bytes, Subscribers>,
    /// (config generation, pubsub-class limits, slave-class limits).
    limits: Option<(u64, Limits, Limits)>,
    /// MONITOR clients of this shard (limited as replicas are, like Redis).
    monitors: Subscribers,
}

fn add(map: &mut HashMap<Bytes, Subscribers>, name: Bytes, client: u64, mb: &Rc<Mailbox>) {
    let subs = map.entry(name).or_default();
    if !subs.iter().any(|(c, _)| *c == client) {
        subs.push((client, mb.clone()));
    }
}

fn remove(map: &mut HashMap<Bytes, Subscribers>, name: &[u8], client: u64) {
    if let Some(subs) = map.get_mut(name) {
        subs.retain(|(c, _)| *c != client);
        if subs.is_empty() {
            map.remove(name);
        }
    }
}

fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(b.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

impl PubSub {
    /// Subscribe `client` to a channel.
    pub fn subscribe(&mut self, channel: Bytes, client: u64, mb: &Rc<Mailbox>) {
        add(&mut self.channels, channel, client, mb);
    }

    /// Unsubscribe `client` from a channel.
    pub fn unsubscribe(&mut self, channel: &[u8], client: u64) {
        remove(&mut self.channels, channel, client);
    }

    /// Subscribe `client` to a pattern.
    pub fn psubscribe(&mut self, pattern: Bytes, client: u64, mb: &Rc<Mailbox>) {
        add(&mut self.patterns, pattern, client, mb);
    }

    /// Unsubscribe `client` from a pattern.
    pub fn punsubscribe(&mut self, pattern: &[u8], client: u64) {
        remove(&mut self.patterns, pattern, client);
    }

    /// Subscribe `client` to a shard channel.
    pub fn ssubscribe(&mut self, channel: Bytes, client: u64, mb: &Rc<Mailbox>) {
        add(&mut self.shard_channels, channel, client, mb);
    }

    /// Unsubscribe `client` from a shard channel.
    pub fn sunsubscribe(&mut self, channel: &[u8], client: u64) {
        remove(&mut self.shard_channels, channel, client);
    }

    /// The (pubsub, slave) class limits, parsed once per configuration.
    fn class_limits(&mut self, config: &crate::config::Config) -> (Limits, Limits) {
        match self.limits {
            Some((g, p, s)) if g == config.generation => (p, s),
            _ => {
                let d = config.get("client-output-buffer-limit").unwrap_or("");
                let (p, s) = (Limits::parse(d), Limits::parse_class(d, "slave"));
                self.limits = Some((config.generation, p, s));
                (p, s)
            }
        }
    }

    fn limits(&mut self, config: &crate::config::Config) -> Limits {
        self.class_limits(config).0
    }

    /// Deliver `[kind, channel, msg]` to `subs`; how many took it.
    fn deliver(
        subs: &Subscribers,
        limits: Limits,
        kind: &[u8],
        channel: &[u8],
        msg: &[u8],
    ) -> usize {
        let now = crate::clock::now_ms();
        let mut n = 0;
        for (_, mb) in subs {
            let sent = mb.post(limits, now, |out, resp3| {
                out.extend_from_slice(if resp3 { b">3\r\n" } else { b"*3\r\n" });
                bulk(out, kind);
                bulk(out, channel);
                bulk(out, msg);
            });
            n += usize::from(sent);
        }
        n
    }

    /// Deliver a shard-channel message (SPUBLISH) to this shard's subscribers.
    pub fn spublish(
        &mut self,
        channel: &[u8],
        msg: &[u8],
        config: &crate::config::Config,
    ) -> usize {
        if self.shard_channels.is_empty() {
            return 0;
        }
        let limits = self.limits(config);
        match self.shard_channels.get(channel) {
            Some(subs) => Self::deliver(subs, limits, b"smessage", channel, msg),
            None => 0,
        }
    }

    /// Deliver a message to this shard's subscribers; returns how many
    /// received it (channel subscribers plus matching pattern subscriptions).
    pub fn publish(&mut self, channel: &[u8], msg: &[u8], config: &crate::config::Config) -> usize {
        if self.channels.is_empty() && self.patterns.is_empty() {
            return 0;
        }
        let limits = self.limits(config);
        let now = crate::clock::now_ms();
        let mut n = 0;
        if let Some(subs) = self.channels.get(channel) {
            n += Self::deliver(subs, limits, b"message", channel, msg);
        }
        for (pattern, subs) in &self.patterns {
            if !glob_match(pattern, channel, false) {
                continue;
            }
            for (_, mb) in subs {
                let sent = mb.post(limits, now, |out, resp3| {
                    out.extend_from_slice(if resp3 { b">4\r\n" } else { b"*4\r\n" });
                    bulk(out, b"pmessage");
                    bulk(out, pattern);
                    bulk(out, channel);
                    bulk(out, msg);
                });
                n += usize::from(sent);
            }
        }
        n
    }

    /// Add a MONITOR client.
    pub fn add_monitor(&mut self, client: u64, mb: &Rc<Mailbox>) {
        if !self.monitors.iter().any(|(c, _)| *c == client) {
            self.monitors.push((client, mb.clone()));
        }
    }

    /// Remove a MONITOR client; true when it was one.
    pub fn remove_monitor(&mut self, client: u64) -> bool {
        let before = self.monitors.len();
        self.monitors.retain(|(c, _)| *c != client);
        self.monitors.len() != before
    }

    /// Send one MONITOR line (a status reply) to this shard's monitors.
    pub fn feed_monitors(&mut self, line: &[u8], config: &crate::config::Config) {
        if self.monitors.is_empty() {
            return;
        }
        let limits = self.class_limits(config).1;
        let now = crate::clock::now_ms();
        for (_, mb) in &self.monitors {
            mb.post(limits, now, |out, _| {
                out.push(b'+');
                out.extend_from_slice(line);
                out.extend_from_slice(b"\r\n");
            });
        }
    }

    /// Channels (or shard channels) with at least one subscriber here,
    /// matching `pattern` if given.
    pub fn channels(&self, pattern: Option<&[u8]>, sharded: bool) -> Vec<Bytes> {
        let map = if sharded {
            &self.shard_channels
        } else {
            &self.channels
        };
        map.keys()
            .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of `channel` (or of the shard channel) here.
    pub fn numsub(&self, channel: &[u8], sharded: bool) -> usize {
        let map = if sharded {
            &self.shard_channels
        } else {
            &self.channels
        };
        map.get(channel).map_or(0, Vec::len)
    }

    /// The patterns subscribed here.
    pub fn patterns(&self) -> Vec<Bytes> {
        self.patterns.keys().cloned().collect()
    }
}

/// Publish the keyspace notifications the databases of `shard` queued:
/// `__keyspace@<db>__:<key>` (K) and `__keyevent@<db>__:<event>` (E), on
/// this shard and, in the same order, on every other.
pub fn flush_events(shard: &Rc<super::Shard>) {
    let messages = {
        let mut st = shard.state.borrow_mut();
        let flags = st.config.notify_flags;
        if flags == 0 {
            return;
        }
        let mut raised: Vec<(usize, crate::keyspace::events::Event)> = Vec::new();
        for (i, d) in st.dbs.iter_mut().enumerate() {
            if d.events.pending() {
                raised.extend(d.events.take().into_iter().map(|e| (i, e)));
            }
        }
        // Events of several databases (MOVE, COPY ... DB) go out in the
        // order they were raised, as Redis publishes them.
        raised.sort_by_key(|(_, e)| e.seq);
        let mut out: Vec<(Bytes, Bytes)> = Vec::new();
        for (i, e) in raised {
            if flags & crate::keyspace::events::KEYSPACE != 0 {
                let mut ch = format!("__keyspace@{i}__:").into_bytes();
                ch.extend_from_slice(&e.key);
                out.push((ch.into(), Bytes::from_static(e.name.as_bytes())));
            }
            if flags & crate::keyspace::events::KEYEVENT != 0 {
                let ch = format!("__keyevent@{i}__:{}", e.name);
                out.push((ch.into(), Bytes::from(e.key.into_vec())));
            }
        }
        out
    };
    if messages.is_empty() {
        return;
    }
    everywhere(shard, move |ps, config| {
        for (ch, msg) in &messages {
            ps.publish(ch, msg, config);
        }
    });
}

/// Run `f` on this shard's registry now, then on every other shard's (one
/// mesh message each, so what one shard sends arrives in order).
pub fn everywhere<F>(shard: &Rc<super::Shard>, f: F)
where
    F: Fn(&mut PubSub, &crate::config::Config) + Send + Sync + 'static,
{
    let run = |s: &super::Shard, f: &F| {
        let mut st = s.state.borrow_mut();
        let config = st.config.clone();
        f(&mut st.pubsub, &config);
    };
    run(shard, &f);
    shard.post_others(move |s| run(s, &f));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_the_pubsub_class() {
        let l = Limits::parse("normal 0 0 0 slave 268435456 67108864 60 pubsub 100 50 2");
        assert_eq!(
            l,
            Limits {
                hard: 100,
                soft: 50,
                soft_secs: 2
            }
        );
    }

    #[test]
    fn hard_limit_overflows() {
        let mb = Rc::new(Mailbox::default());
        let l = Limits::parse("pubsub 100 0 0");
        assert!(mb.post(l, 0, |o, _| o.extend_from_slice(&[b'x'; 60])));
        assert!(!mb.post(l, 0, |o, _| o.extend_from_slice(&[b'x'; 60])));
        assert!(mb.overflowed());
        assert!(!mb.has_mail());
        assert!(!mb.post(l, 0, |o, _| o.push(b'x')));
    }
}
