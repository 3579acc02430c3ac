//! Keyspace notifications: the `notify-keyspace-events` classes and the
//! per-database queue of events raised by commands and by expiry.
//!
//! A command's shard operation calls [`Events::raise`] (through
//! [`super::Db::notify`]) with its class and Redis's event name; the call
//! costs one branch when the class is off (the default: no classes). The
//! shard drains the queues after each operation and publishes
//! `__keyspace@<db>__:<key>` / `__keyevent@<db>__:<event>` messages to
//! every shard's subscribers ([`crate::shard::pubsub`]).

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: DEL, EXPIRE, RENAME, ...
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted-set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: a key expired (lazily or by the active sweep).
pub const EXPIRED: u32 = 1 << 8;
/// `e`: a key was evicted for maxmemory.
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u32 = 1 << 10;
/// `m`: a read found no key.
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module events.
pub const MODULE: u32 = 1 << 12;
/// `n`: a key was created.
pub const NEW: u32 = 1 << 13;
/// `A`: every class but `m` and `n`.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

const CLASSES: &[(char, u32)] = &[
    ('g', GENERIC),
    ('$', STRING),
    ('l', LIST),
    ('s', SET),
    ('h', HASH),
    ('z', ZSET),
    ('x', EXPIRED),
    ('e', EVICTED),
    ('t', STREAM),
    ('d', MODULE),
    ('n', NEW),
];

/// Parse a `notify-keyspace-events` value; `None` on an unknown character.
pub fn parse(s: &str) -> Option<u32> {
    s.chars().try_fold(0, |acc, c| {
        let bit = match c {
            'A' => ALL,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            'm' => KEY_MISS,
            _ => CLASSES.iter().find(|(ch, _)| *ch == c)?.1,
        };
        Some(acc | bit)
    })
}

/// The canonical spelling Redis reports (`Egx` reads back as `gxE`). As
/// in Redis 7.0, `n` is not spelled out next to `A` (`AKEmn` reads back
/// as `AKEm`).
pub fn format(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (c, bit) in CLASSES {
            if flags & bit != 0 {
                s.push(*c);
            }
        }
    }
    for (c, bit) in [('K', KEYSPACE), ('E', KEYEVENT), ('m', KEY_MISS)] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// One raised event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Redis's event name (`set`, `del`, `expired`, ...).
    pub name: &'static str,
    /// The key.
    pub key: Box<[u8]>,
    /// Raise order on this thread: one operation may raise events in two
    /// databases (MOVE: `new` and `move_to` in the target between them
    /// `move_from` in the source), and the shard publishes the queues of
    /// all its databases merged back into this order.
    pub seq: u64,
}

thread_local! {
    /// The next [`Event::seq`] (one shard per thread).
    static NEXT_SEQ: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn next_seq() -> u64 {
    NEXT_SEQ.with(|c| {
        let v = c.get();
        c.set(v.wrapping_add(1));
        v
    })
}

/// The events a database raised since the shard last drained them.
#[derive(Debug, Default)]
pub struct Events {
    flags: u32,
    queue: Vec<Event>,
}

impl Events {
    /// Install the configured classes.
    pub fn set_flags(&mut self, flags: u32) {
        self.flags = flags;
        if !self.publishes() {
            self.queue.clear();
        }
    }

    /// True when some class and a channel kind (K or E) are on.
    fn publishes(&self) -> bool {
        self.flags & (KEYSPACE | KEYEVENT) != 0
    }

    /// Raise `name` for `key` if `class` is enabled.
    #[inline]
    pub fn raise(&mut self, class: u32, name: &'static str, key: &[u8]) {
        if self.flags & class == 0 || !self.publishes() {
            return;
        }
        self.queue.push(Event {
            name,
            key: key.into(),
            seq: next_seq(),
        });
    }

    /// True when events wait to be published.
    pub fn pending(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Take the queued events.
    pub fn take(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.queue)
    }

    /// The configured classes.
    pub fn flags(&self) -> u32 {
        self.flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_spelling_matches_redis() {
        // Values read back from redis-server 7.0 after CONFIG SET.
        for (set, get) in [
            ("Egx", "gxE"),
            ("KEA", "AKE"),
            ("g", "g"),
            ("Kmn", "nKm"),
            ("", ""),
            ("AKEmn", "AKEm"),
        ] {
            assert_eq!(format(parse(set).unwrap()), get, "{set}");
        }
        assert_eq!(parse("Q"), None);
    }

    #[test]
    fn nothing_is_queued_without_a_channel_kind() {
        let mut e = Events::default();
        e.set_flags(parse("g").unwrap());
        e.raise(GENERIC, "del", b"k");
        assert!(!e.pending());
        e.set_flags(parse("gE").unwrap());
        e.raise(STRING, "set", b"k");
        assert!(!e.pending());
        e.raise(GENERIC, "del", b"k");
        assert!(e.pending());
    }
}
