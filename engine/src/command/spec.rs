//! The shape of a command-table row: name, arity, flags, key positions, key
//! specs, ACL categories, docs, handler. Each family file declares its rows
//! with the `const fn` builder below; [`super::table`] assembles them.
//!
//! Everything that needs command metadata reads these rows: dispatch (arity,
//! auth, routing), COMMAND / COMMAND INFO / DOCS / COUNT / LIST / GETKEYS,
//! INFO commandstats, and later cluster CROSSSLOT checks and replication.

use super::ctx::Ctx;
use super::errors::CmdResult;
use resp::Request;

/// Index of a command (or subcommand) in the assembled table.
pub type CmdId = u16;

/// A command handler: parses on the connection's shard and either replies
/// at once or hands work to the owning shard(s) through the [`Ctx`].
pub type Handler = fn(&mut Ctx<'_>, &Request) -> CmdResult;

/// Command flags, as COMMAND reports them.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const ASKING: u32 = 1 << 11;
    pub const FAST: u32 = 1 << 12;
    pub const NO_AUTH: u32 = 1 << 13;
    pub const MAY_REPLICATE: u32 = 1 << 14;
    pub const SENTINEL: u32 = 1 << 15;
    pub const ONLY_SENTINEL: u32 = 1 << 16;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 17;
    pub const PROTECTED: u32 = 1 << 18;
    pub const NO_ASYNC_LOADING: u32 = 1 << 19;
    pub const NO_MULTI: u32 = 1 << 20;
    pub const MOVABLE_KEYS: u32 = 1 << 21;
    pub const ALLOW_BUSY: u32 = 1 << 22;

    /// Wire names in the order Redis prints them.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (ASKING, "asking"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// ACL categories. Some are implied by flags (write, read, admin, ...).
pub mod acl {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const READ: u32 = 1 << 1;
    pub const WRITE: u32 = 1 << 2;
    pub const SET: u32 = 1 << 3;
    pub const SORTEDSET: u32 = 1 << 4;
    pub const LIST: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const STRING: u32 = 1 << 7;
    pub const BITMAP: u32 = 1 << 8;
    pub const HYPERLOGLOG: u32 = 1 << 9;
    pub const GEO: u32 = 1 << 10;
    pub const STREAM: u32 = 1 << 11;
    pub const PUBSUB: u32 = 1 << 12;
    pub const ADMIN: u32 = 1 << 13;
    pub const FAST: u32 = 1 << 14;
    pub const SLOW: u32 = 1 << 15;
    pub const BLOCKING: u32 = 1 << 16;
    pub const DANGEROUS: u32 = 1 << 17;
    pub const CONNECTION: u32 = 1 << 18;
    pub const TRANSACTION: u32 = 1 << 19;
    pub const SCRIPTING: u32 = 1 << 20;

    /// Names in Redis's category order.
    pub const NAMES: &[(u32, &str)] = &[
        (KEYSPACE, "keyspace"),
        (READ, "read"),
        (WRITE, "write"),
        (SET, "set"),
        (SORTEDSET, "sortedset"),
        (LIST, "list"),
        (HASH, "hash"),
        (STRING, "string"),
        (BITMAP, "bitmap"),
        (HYPERLOGLOG, "hyperloglog"),
        (GEO, "geo"),
        (STREAM, "stream"),
        (PUBSUB, "pubsub"),
        (ADMIN, "admin"),
        (FAST, "fast"),
        (SLOW, "slow"),
        (BLOCKING, "blocking"),
        (DANGEROUS, "dangerous"),
        (CONNECTION, "connection"),
        (TRANSACTION, "transaction"),
        (SCRIPTING, "scripting"),
    ];
}

/// How the first key is found (begin_search).
#[derive(Clone, Copy, Debug)]
pub enum BeginSearch {
    /// Fixed argument index.
    Index(i32),
    /// After a keyword, searching from `start_from`.
    Keyword(&'static str, i32),
}

/// How the keys are found after the first one (find_keys).
#[derive(Clone, Copy, Debug)]
pub enum FindKeys {
    /// `lastkey` (relative, -1 = last arg), `keystep`, `limit`.
    Range(i32, i32, i32),
    /// `keynumidx`, `firstkey`, `keystep`.
    Keynum(i32, i32, i32),
}

/// One key specification (Redis 7 key specs, as COMMAND INFO prints them).
#[derive(Clone, Copy, Debug)]
pub struct KeySpecDef {
    /// Flags such as `RW`, `ACCESS`, `UPDATE`.
    pub flags: &'static [&'static str],
    /// Where the first key is.
    pub begin: BeginSearch,
    /// Where the others are.
    pub find: FindKeys,
}

impl KeySpecDef {
    /// A key spec starting at a fixed index with a range.
    pub const fn range(
        flags: &'static [&'static str],
        index: i32,
        lastkey: i32,
        step: i32,
        limit: i32,
    ) -> Self {
        KeySpecDef {
            flags,
            begin: BeginSearch::Index(index),
            find: FindKeys::Range(lastkey, step, limit),
        }
    }

    /// A key spec whose key count is an argument (`numkeys key ...`): the
    /// count at `index + keynumidx`, the keys from `index + firstkey`.
    pub const fn keynum(
        flags: &'static [&'static str],
        index: i32,
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    ) -> Self {
        KeySpecDef {
            flags,
            begin: BeginSearch::Index(index),
            find: FindKeys::Keynum(keynumidx, firstkey, step),
        }
    }
}

/// The key specs of commands whose one key is argument 1, by flags.
pub mod ks {
    use super::KeySpecDef;

    const fn one(flags: &'static [&'static str]) -> [KeySpecDef; 1] {
        [KeySpecDef::range(flags, 1, 0, 1, 0)]
    }

    pub const RO: &[KeySpecDef] = &one(&["RO"]);
    pub const RO_ACCESS: &[KeySpecDef] = &one(&["RO", "ACCESS"]);
    pub const RW_INSERT: &[KeySpecDef] = &one(&["RW", "INSERT"]);
    pub const RW_UPDATE: &[KeySpecDef] = &one(&["RW", "UPDATE"]);
    pub const RW_DELETE: &[KeySpecDef] = &one(&["RW", "DELETE"]);
    pub const RW_ACCESS_UPDATE: &[KeySpecDef] = &one(&["RW", "ACCESS", "UPDATE"]);
    pub const RW_ACCESS_DELETE: &[KeySpecDef] = &one(&["RW", "ACCESS", "DELETE"]);
    pub const OW_UPDATE: &[KeySpecDef] = &one(&["OW", "UPDATE"]);
    pub const OW_INSERT: &[KeySpecDef] = &one(&["OW", "INSERT"]);
}

/// One row of the command table.
#[derive(Clone, Copy)]
pub struct CommandSpec {
    /// Lowercase name (for a subcommand: its own name, e.g. `setname`).
    pub name: &'static str,
    /// Redis arity: `n` exactly n arguments, `-n` at least n (name included).
    pub arity: i32,
    /// [`flags`] bits.
    pub flags: u32,
    /// First key index, last key index (negative: from the end), step.
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    /// Explicit [`acl`] categories (the implied ones are added on output).
    pub acl: u32,
    /// Command tips (`nondeterministic_output`, `request_policy:...`).
    pub tips: &'static [&'static str],
    /// Key specs.
    pub key_specs: &'static [KeySpecDef],
    /// Docs group (`string`, `generic`, `connection`, `server`).
    pub group: &'static str,
    /// Version that introduced the command.
    pub since: &'static str,
    /// One-line summary, in our own words.
    pub summary: &'static str,
    /// The handler; `None` for a container whose work is in subcommands.
    pub handler: Option<Handler>,
    /// Subcommands of a container command (CLIENT, CONFIG, ...).
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// A row with no flags, no keys, no docs.
    pub const fn new(name: &'static str, arity: i32, handler: Handler) -> Self {
        CommandSpec {
            name,
            arity,
            flags: 0,
            first_key: 0,
            last_key: 0,
            key_step: 0,
            acl: 0,
            tips: &[],
            key_specs: &[],
            group: "generic",
            since: "1.0.0",
            summary: "",
            handler: Some(handler),
            subcommands: &[],
        }
    }

    /// A container command dispatching to `subs`.
    pub const fn container(name: &'static str, arity: i32, subs: &'static [CommandSpec]) -> Self {
        let mut c = CommandSpec::new(name, arity, noop);
        c.handler = None;
        c.subcommands = subs;
        c
    }

    /// Set flags.
    pub const fn flags(mut self, f: u32) -> Self {
        self.flags = f;
        self
    }

    /// Set first/last/step key positions.
    pub const fn keys(mut self, first: i32, last: i32, step: i32) -> Self {
        self.first_key = first;
        self.last_key = last;
        self.key_step = step;
        self
    }

    /// Set explicit ACL categories.
    pub const fn acl(mut self, a: u32) -> Self {
        self.acl = a;
        self
    }

    /// Set tips.
    pub const fn tips(mut self, t: &'static [&'static str]) -> Self {
        self.tips = t;
        self
    }

    /// Set key specs.
    pub const fn key_specs(mut self, k: &'static [KeySpecDef]) -> Self {
        self.key_specs = k;
        self
    }

    /// Set docs: group, since, summary.
    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
    ) -> Self {
        self.group = group;
        self.since = since;
        self.summary = summary;
        self
    }

    /// True when this row has the flag.
    #[inline]
    pub const fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// ACL categories including those Redis derives from flags.
    pub fn acl_with_implied(&self) -> u32 {
        let mut a = self.acl;
        if self.has(flags::WRITE) {
            a |= acl::WRITE;
        }
        if self.has(flags::READONLY) && a & acl::SCRIPTING == 0 {
            a |= acl::READ;
        }
        if self.has(flags::ADMIN) {
            a |= acl::ADMIN | acl::DANGEROUS;
        }
        if self.has(flags::PUBSUB) {
            a |= acl::PUBSUB;
        }
        if self.has(flags::FAST) {
            a |= acl::FAST;
        }
        if self.has(flags::BLOCKING) {
            a |= acl::BLOCKING;
        }
        if a & acl::FAST == 0 {
            a |= acl::SLOW;
        }
        a
    }
}

fn noop(_: &mut Ctx<'_>, _: &Request) -> CmdResult {
    Ok(())
}
