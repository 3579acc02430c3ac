//! A shard: one executor's slice of the keyspace and everything it owns.
//!
//! | module | owns |
//! |---|---|
//! | this file | [`Shard`] (the per-executor handle) and [`ShardState`] (its data), key → shard routing |
//! | [`mesh`] | typed messages between shards (glommio channel mesh), `call`/`call_async` |
//! | [`locks`] | intent locks that make multi-shard commands atomic and isolated |
//! | [`tx`] | the transaction coordinator: ordered locking, then per-shard parts |
//! | [`batch`] | running a batch of pipelined single-shard jobs on their shard |
//! | [`stats`] | per-shard counters and latency histograms |
//! | [`clients`] | the connections living on this shard |
//! | [`blocking`] | clients blocked in BLPOP & co: waiters per key, deliveries |
//! | [`pubsub`] | this shard's subscribers and their mailboxes |
//! | [`slowlog`] | the slow log and latency-monitor samples |
//!
//! Shared-nothing: a `Shard` lives in an `Rc` on its executor thread and is
//! never touched by another thread; other shards reach it only by message.
//! `ShardState` sits in a `RefCell` that is borrowed for the duration of one
//! synchronous operation — never across an `.await`.

pub mod batch;
pub mod blocking;
pub mod clients;
pub mod locks;
pub mod mesh;
pub mod pubsub;
pub mod slowlog;
pub mod stats;
pub mod tx;

use crate::config::Config;
use crate::keyspace::{key_slot, Db};
use crate::server::Shared;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// Index of a shard (0..threads).
pub type ShardId = usize;

/// Data owned by one shard.
pub struct ShardState {
    /// The logical databases (SELECT 0..databases).
    pub dbs: Vec<Db>,
    /// Counters.
    pub stats: stats::ShardStats,
    /// Intent locks of in-flight multi-shard commands.
    pub locks: locks::LockTable,
    /// Connections accepted by this shard.
    pub clients: clients::ClientRegistry,
    /// This shard's copy of the configuration.
    pub config: Arc<Config>,
    /// CLIENT PAUSE in force, if any.
    pub pause: Option<crate::command::client::Pause>,
    /// Blocked clients and the keys they wait on.
    pub blocking: blocking::Blocking,
    /// Subscriptions of this shard's connections.
    pub pubsub: pubsub::PubSub,
    /// SLOWLOG entries and LATENCY samples of commands sent here.
    pub observed: slowlog::Observed,
    /// This shard's feed into its append-only log.
    pub aof: crate::aof::Feed,
    rng: u64,
}

impl ShardState {
    /// Fresh state with `config.databases` empty databases.
    pub fn new(config: Arc<Config>, seed: u64) -> Self {
        let dbs = (0..config.databases)
            .map(|_| {
                let mut d = Db::default();
                d.events.set_flags(config.notify_flags);
                d
            })
            .collect();
        let stats = stats::ShardStats {
            latency_tracking: config.latency_tracking,
            ..Default::default()
        };
        ShardState {
            dbs,
            stats,
            locks: locks::LockTable::default(),
            clients: clients::ClientRegistry::default(),
            config,
            pause: None,
            blocking: blocking::Blocking::default(),
            pubsub: pubsub::PubSub::default(),
            observed: slowlog::Observed::default(),
            aof: crate::aof::Feed::default(),
            rng: seed | 1,
        }
    }

    /// Database `i`. Indexes are validated by SELECT against `databases`,
    /// which cannot change at run time.
    #[inline]
    pub fn db(&mut self, i: usize) -> &mut Db {
        let n = self.dbs.len();
        match self.dbs.get_mut(i) {
            Some(db) => db,
            None => panic!("db index {i} out of range (databases = {n})"),
        }
    }

    /// A pseudo-random number (xorshift64*), for RANDOMKEY and sampling.
    pub fn rand(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A stream of pseudo-random numbers seeded from [`ShardState::rand`],
    /// for operations that need many (random picks) without holding the state.
    pub fn rand_stream(&mut self) -> impl FnMut() -> u64 + use<> {
        let mut s = self.rand() | 1;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    /// Log what the command that just ran did to the AOF (a no-op unless
    /// the AOF is on): `req` is given for write commands, `reply` is what
    /// it answered.
    #[inline]
    pub fn log_command(&mut self, db: usize, req: Option<&resp::Request>, reply: &[u8]) {
        if self.aof.on() {
            self.aof.finish_command(&mut self.dbs, db, req, reply);
            // Pops this command served to blocked clients come right after it.
            blocking::log_pending(self);
        }
    }

    /// Start or stop logging writes (and expiries) to the AOF.
    pub fn enable_aof(&mut self, on: bool, fsync: crate::aof::Fsync) {
        self.aof.enable(on, fsync);
        for d in &mut self.dbs {
            d.expired_log = on.then(Vec::new);
        }
    }

    /// Install a new configuration (CONFIG SET).
    pub fn set_config(&mut self, config: Arc<Config>) {
        if config.generation < self.config.generation {
            return;
        }
        self.stats.latency_tracking = config.latency_tracking;
        if self.aof.on() {
            let fsync = crate::aof::Fsync::parse(config.get("appendfsync").unwrap_or("everysec"));
            self.aof.set_fsync(fsync);
        }
        for d in &mut self.dbs {
            d.events.set_flags(config.notify_flags);
        }
        self.config = config;
    }

    /// True when an operation left work for other clients or shards:
    /// deliveries to blocked clients, or keyspace notifications.
    #[inline]
    pub fn has_outbox(&self) -> bool {
        self.blocking.has_outbox()
            || (self.config.notify_flags != 0 && self.dbs.iter().any(|d| d.events.pending()))
    }

    /// Expired/hit/miss counters of all databases.
    pub fn keyspace_counters(&self) -> (u64, u64, u64) {
        self.dbs.iter().fold((0, 0, 0), |(e, h, m), db| {
            (e + db.stats.expired, h + db.stats.hits, m + db.stats.misses)
        })
    }
}

/// The per-executor handle: identity, state, links to the other shards.
pub struct Shard {
    /// This shard's index.
    pub id: ShardId,
    /// Number of shards.
    pub count: usize,
    /// The data.
    pub state: RefCell<ShardState>,
    /// Process-wide, read-mostly facts.
    pub shared: Arc<Shared>,
    pub(crate) mesh: mesh::Mesh,
    /// Answers this shard awaits from others.
    pub(crate) replies: mesh::Replies,
    /// The shard's Lua state and script cache (EVAL, FUNCTION).
    pub scripting: crate::script::Scripting,
}

impl Shard {
    /// The shard owning `key`: Redis Cluster's slot, then slot mod shards.
    #[inline]
    pub fn owner(&self, key: &[u8]) -> ShardId {
        owner_of(key, self.count)
    }
}

/// The shard owning `key` among `count` shards.
#[inline]
pub fn owner_of(key: &[u8], count: usize) -> ShardId {
    if count <= 1 {
        return 0;
    }
    usize::from(key_slot(key)) % count
}

/// Send what operations left behind ([`ShardState::has_outbox`]): pops for
/// blocked clients, keyspace notifications for subscribers.
pub fn flush_outbox(shard: &Rc<Shard>) {
    blocking::flush(shard);
    pubsub::flush_events(shard);
}

/// The shared handle type passed around on an executor.
pub type ShardRef = Rc<Shard>;
