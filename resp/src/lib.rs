//! # shoal-resp: the Redis serialization protocol, and nothing else
//!
//! This crate owns the bytes on the wire. It has no engine, runtime or socket
//! dependency beyond `std::net` for the small blocking [`client`], so the
//! server, the sentinel, the exporter and the tools all share one codec.
//!
//! | module | what it owns |
//! |---|---|
//! | [`request`] | server side: incremental parser of client requests (multibulk and inline), with Redis's protocol-error texts and limits |
//! | [`encode`] | server side: protocol-aware reply writer (RESP2 downgrades of maps, sets, doubles, booleans, pushes) |
//! | [`frame`] | a decoded reply value ([`Frame`]), as clients see it |
//! | [`decode`] | client side: incremental decoder of RESP2/RESP3 replies into [`Frame`]s |
//! | [`client`] | a blocking client over `std::net::TcpStream` for tests and tools |
//! | [`numfmt`] | number formatting shared by the encoder and the engine (`%.17g`, Redis's long-double style) |
//!
//! What this crate must not do: know about commands, keys or shards.

pub mod client;
pub mod decode;
pub mod encode;
pub mod frame;
pub mod numfmt;
pub mod request;

pub use encode::{Proto, ReplyWriter};
pub use frame::Frame;
pub use request::{ParseError, Request, RequestParser};
