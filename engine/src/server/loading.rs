//! `-LOADING` while the data loads, as Redis answers.
//!
//! The shards bind their listeners only once their data is loaded. Until
//! then a thread of the main process holds the same addresses (SO_REUSEPORT)
//! and answers every command with `-LOADING Redis is loading the dataset in
//! memory` — `INFO` with `loading:1`, `QUIT` with `+OK` — so clients and
//! tools see what they see from Redis and retry. Once every shard has bound
//! its listeners (connections then queue on them, not yet accepted), the
//! thread stops and hands its open connections (with any partial request
//! already read and any replies not yet taken) to the shards, and its
//! listeners to shard 0, which binds none of its own for those addresses;
//! the shards serve the connections and only then start accepting. As with
//! Redis, a connection made while loading stays usable after it, no
//! connection attempt is refused or reset at the switch (no listener
//! closes), and no reply says -LOADING once any connection has been served.

use super::net::{GlommioTransport, Prefixed, Transport};
use bytes::BytesMut;
use resp::RequestParser;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Unsent replies a client may have before it is dropped.
const OUT_LIMIT: usize = 1 << 20;

/// The reply to any other command while loading.
pub const LOADING: &[u8] = b"-LOADING Redis is loading the dataset in memory\r\n";

/// The running responder.
pub struct Responder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(Vec<Client>, Vec<TcpListener>)>>,
}

/// An open client connection handed over.
struct Handover {
    fd: OwnedFd,
    /// Bytes read from it that do not yet make a whole request.
    input: Vec<u8>,
    /// Replies it has not taken yet (they go out first).
    output: Vec<u8>,
}

/// The switch from the responder to the shards, in `Shared`.
#[derive(Default)]
pub struct Switch {
    /// Addresses the responder listens on (shard 0 takes these listeners
    /// over instead of binding its own).
    holds: Mutex<Vec<SocketAddr>>,
    /// What it handed over, once it has stopped.
    handed: Mutex<Option<Handed>>,
}

/// What the responder hands over.
struct Handed {
    /// Its connections, per shard.
    conns: Vec<Vec<Handover>>,
    /// Its listeners (shard 0's).
    listeners: Vec<OwnedFd>,
}

impl Switch {
    /// Addresses shard `shard` must not bind (the responder's, for shard 0).
    pub fn taken(&self, shard: usize) -> Vec<SocketAddr> {
        match self.holds.lock() {
            Ok(h) if shard == 0 => h.clone(),
            _ => Vec::new(),
        }
    }

    /// Stop `r` and hand its connections (spread over `shards`) and its
    /// listeners over.
    pub fn hand_over(&self, r: Responder, shards: usize) {
        let (all, listeners) = r.stop();
        let mut conns: Vec<Vec<Handover>> = (0..shards).map(|_| Vec::new()).collect();
        for (i, h) in all.into_iter().enumerate() {
            if let Some(v) = conns.get_mut(i % shards) {
                v.push(h);
            }
        }
        if let Ok(mut h) = self.handed.lock() {
            *h = Some(Handed { conns, listeners });
        }
    }
}

impl Responder {
    /// Stop the thread; take its connections and its listeners.
    fn stop(mut self) -> (Vec<Handover>, Vec<OwnedFd>) {
        self.stop.store(true, Ordering::SeqCst);
        let (clients, listeners) = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let listeners = listeners
            .into_iter()
            .filter(|l| l.set_nonblocking(false).is_ok())
            .map(OwnedFd::from)
            .collect();
        let conns = clients
            .into_iter()
            .filter(|c| !c.closing)
            .filter(|c| c.stream.set_nonblocking(false).is_ok())
            .map(|c| Handover {
                fd: OwnedFd::from(c.stream),
                input: c.buf.to_vec(),
                output: c.out,
            })
            .collect();
        (conns, listeners)
    }
}

fn info(start_secs: i64) -> Vec<u8> {
    let body = format!(
        "# Server\r\nredis_version:{}\r\n\r\n# Persistence\r\nloading:1\r\nasync_loading:0\r\n\
         loading_start_time:{start_secs}\r\n",
        super::REDIS_VERSION
    );
    format!("${}\r\n{body}\r\n", body.len()).into_bytes()
}

struct Client {
    stream: TcpStream,
    buf: BytesMut,
    parser: RequestParser,
    out: Vec<u8>,
    closing: bool,
}

/// Answer this client's complete requests; false when it must go.
fn serve(c: &mut Client, start_secs: i64, open: bool) -> bool {
    if !c.closing && !answer(c, start_secs, open) {
        return false;
    }
    // Non-blocking: what the socket does not take now waits for the next
    // pass (a client that stops reading is dropped past OUT_LIMIT).
    while !c.out.is_empty() {
        match c.stream.write(&c.out) {
            Ok(0) => return false,
            Ok(n) => {
                c.out.drain(..n.min(c.out.len()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    if c.out.len() > OUT_LIMIT {
        return false;
    }
    !c.closing || !c.out.is_empty()
}

/// Read what arrived and queue the answers; false when the client must go.
fn answer(c: &mut Client, start_secs: i64, open: bool) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match c.stream.read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => c.buf.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(_) => return false,
        }
        if c.buf.len() > 1 << 20 {
            return false;
        }
    }
    let mut reqs = Vec::new();
    let bad = c.parser.parse(&mut c.buf, &mut reqs, 1024, open).is_err();
    for r in &reqs {
        let name = r.name().to_ascii_lowercase();
        match name.as_slice() {
            b"info" => c.out.extend_from_slice(&info(start_secs)),
            b"quit" => {
                c.out.extend_from_slice(b"+OK\r\n");
                c.closing = true;
                break;
            }
            _ => c.out.extend_from_slice(LOADING),
        }
    }
    if bad && !c.closing {
        c.out.extend_from_slice(b"-ERR Protocol error\r\n");
        c.closing = true;
    }
    true
}

/// Start answering on `addrs` (those that cannot be bound are skipped: the
/// shards report bind errors themselves).
/// `open`: no password is required (clients count as authenticated for
/// the request size limits, as in Redis).
/// The addresses it holds are recorded in `switch`.
pub fn start(
    addrs: &[(SocketAddr, bool)],
    backlog: i32,
    start_secs: i64,
    open: bool,
    switch: &Switch,
) -> Responder {
    let mut listeners = Vec::new();
    let mut holds = Vec::new();
    for (addr, _) in addrs {
        if let Ok(fd) = super::listen(*addr, backlog) {
            // SAFETY: `listen` returns a fresh socket we now own.
            let l = unsafe { TcpListener::from_raw_fd(fd) };
            if l.set_nonblocking(true).is_ok() {
                listeners.push(l);
                holds.push(*addr);
            }
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("shoal-loading".into())
        .spawn(move || {
            let mut clients: Vec<Client> = Vec::new();
            loop {
                // Once told to stop, one last pass: what is queued on the
                // listeners is accepted and what arrived is answered; the
                // rest goes to the shards, the listeners to shard 0.
                let last = flag.load(Ordering::SeqCst);
                for l in &listeners {
                    while let Ok((stream, _)) = l.accept() {
                        if stream.set_nonblocking(true).is_ok() && clients.len() < 1024 {
                            clients.push(Client {
                                stream,
                                buf: BytesMut::new(),
                                parser: RequestParser::default(),
                                out: Vec::new(),
                                closing: false,
                            });
                        }
                    }
                }
                clients.retain_mut(|c| serve(c, start_secs, open));
                if last {
                    return (clients, listeners);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
        .ok();
    if let Ok(mut h) = switch.holds.lock() {
        *h = holds;
    }
    Responder { stop, thread }
}

/// Wait until the responder has stopped, then serve the connections it
/// handed to this shard (see the module doc). Returns the listeners it
/// handed over (shard 0's), for the shard to accept on from then on.
pub async fn take_over(
    shard: &std::rc::Rc<crate::shard::Shard>,
    ring: Option<&std::rc::Rc<super::net::uring::NetRing>>,
) -> Vec<RawFd> {
    let (mine, listeners) = loop {
        let taken = shard.shared.switch.handed.lock().ok().and_then(|mut h| {
            let h = h.as_mut()?;
            let conns = h.conns.get_mut(shard.id).map(std::mem::take);
            let listeners = if shard.id == 0 {
                std::mem::take(&mut h.listeners)
            } else {
                Vec::new()
            };
            Some((conns.unwrap_or_default(), listeners))
        });
        match taken {
            Some(t) => break t,
            None => glommio::timer::sleep(Duration::from_millis(1)).await,
        }
    };
    for h in mine {
        let fd = h.fd.into_raw_fd();
        match ring {
            Some(r) => {
                let t = Prefixed::new(h.input, r.adopt(fd));
                glommio::spawn_local(serve_handed(shard.clone(), t, h.output)).detach();
            }
            None => {
                // SAFETY: a connected TCP socket we own; the stream owns it from here on.
                let stream = unsafe { glommio::net::TcpStream::from_raw_fd(fd) };
                let t = Prefixed::new(h.input, GlommioTransport::new(stream));
                glommio::spawn_local(serve_handed(shard.clone(), t, h.output)).detach();
            }
        }
    }
    listeners.into_iter().map(IntoRawFd::into_raw_fd).collect()
}

/// Serve a handed-over connection: its unsent replies first.
async fn serve_handed<T: Transport>(
    shard: std::rc::Rc<crate::shard::Shard>,
    mut t: Prefixed<T>,
    mut output: Vec<u8>,
) {
    if !output.is_empty() && t.write_buf(&mut output).await.is_err() {
        return;
    }
    super::conn::serve(shard, t).await;
}
