//! # shoal-server: a thread-per-core, Redis-compatible data node
//!
//! One glommio executor per CPU, each owning one shard of the keyspace
//! (shared-nothing); every executor accepts connections on the port
//! (SO_REUSEPORT). A command runs on the shard owning its key — inline when
//! that is the connection's own shard, otherwise as a message; commands over
//! several shards go through one transaction layer (ordered intent locks).
//!
//! ## Where does X live?
//!
//! | concern | module |
//! |---|---|
//! | process start, memlock, executors, pinning, listeners, signals | [`server`] |
//! | one client connection: read, parse, dispatch, write | [`server::conn`] |
//! | active expiry and other background work | [`server::background`] |
//! | shard state, key → slot → shard routing | [`shard`] |
//! | messages between shards | [`shard::mesh`] |
//! | multi-shard atomicity (intent locks, coordinator) | [`shard::locks`], [`shard::tx`] |
//! | pipelined single-shard jobs on their shard | [`shard::batch`] |
//! | commandstats, latency histograms, errorstats | [`shard::stats`] |
//! | connected clients (CLIENT LIST/KILL) | [`shard::clients`] |
//! | keyspace: dict, values and their encodings, databases, expiry | [`keyspace`] |
//! | the command table, dispatch, handler context | [`command`] |
//! | one file per command family | [`command`]`::{string, multikey, keys, hash, set, list, blocking, zset, zset_multi, bitmap, hll, connection, client, server, persistence, config, info, introspect}` |
//! | blocked clients (BLPOP & co) | [`shard::blocking`] |
//! | HyperLogLog in Redis's format | [`hll`] |
//! | every wire error string | [`command::errors`] |
//! | DUMP/RESTORE payloads, RDB value encoding | [`command::dump`], [`rdb`] |
//! | RDB files: format and loader | [`rdb::file`] (older compact encodings: [`rdb::legacy`]) |
//! | SAVE, SHUTDOWN's save, start-up load: coordination and file I/O | [`server::snapshot`] |
//! | the append-only file: per-shard logs, group commit, recovery, rewrite | [`aof`] |
//! | redis.conf parsing, CONFIG directives | [`config`] |
//! | memory accounting (INFO used_memory) | [`alloc`] |
//! | log lines in Redis's format | [`log`] |
//! | the RESP codec | the `shoal-resp` crate |
//!
//! glommio is named only in `server` (snapshot files included) and
//! `shard::mesh` (plus task spawning in `shard::batch`); command and
//! keyspace code never touch the runtime.

pub mod alloc;
pub mod aof;
pub mod clock;
pub mod command;
pub mod config;
pub mod glob;
pub mod hll;
pub mod keyspace;
pub mod log;
pub mod rdb;
pub mod script;
pub mod server;
pub mod shard;
