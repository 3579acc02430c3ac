//! `-LOADING` while the data loads, as Redis answers.
//!
//! The shards bind their listeners only once their data is loaded. Until
//! then a thread of the main process holds the same addresses (SO_REUSEPORT)
//! and answers every command with `-LOADING Redis is loading the dataset in
//! memory` — `INFO` with `loading:1`, `QUIT` with `+OK` — so clients and
//! tools see what they see from Redis and retry. Once every shard serves,
//! the thread closes its listeners and connections; clients reconnect and
//! reach the shards.

use bytes::BytesMut;
use resp::RequestParser;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The reply to any other command while loading.
pub const LOADING: &[u8] = b"-LOADING Redis is loading the dataset in memory\r\n";

/// The running responder.
pub struct Responder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    /// Close the listeners and connections and wait for the thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
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
fn serve(c: &mut Client, start_secs: i64) -> bool {
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
    if c.parser.parse(&mut c.buf, &mut reqs, 1024, false).is_err() {
        c.out.extend_from_slice(b"-ERR Protocol error\r\n");
        c.closing = true;
    }
    for r in &reqs {
        let name = r.name().to_ascii_lowercase();
        match name.as_slice() {
            b"info" => c.out.extend_from_slice(&info(start_secs)),
            b"quit" => {
                c.out.extend_from_slice(b"+OK\r\n");
                c.closing = true;
            }
            _ => c.out.extend_from_slice(LOADING),
        }
    }
    if !c.out.is_empty() {
        if c.stream.write_all(&c.out).is_err() {
            return false;
        }
        c.out.clear();
    }
    !c.closing
}

/// Start answering on `addrs` (those that cannot be bound are skipped: the
/// shards report bind errors themselves).
pub fn start(addrs: &[(SocketAddr, bool)], backlog: i32, start_secs: i64) -> Responder {
    let mut listeners = Vec::new();
    for (addr, _) in addrs {
        if let Ok(fd) = super::listen(*addr, backlog) {
            // SAFETY: `listen` returns a fresh socket we now own.
            let l = unsafe { TcpListener::from_raw_fd(fd) };
            if l.set_nonblocking(true).is_ok() {
                listeners.push(l);
            }
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("shoal-loading".into())
        .spawn(move || {
            let mut clients: Vec<Client> = Vec::new();
            while !flag.load(Ordering::SeqCst) {
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
                clients.retain_mut(|c| serve(c, start_secs));
                std::thread::sleep(Duration::from_millis(5));
            }
        })
        .ok();
    Responder { stop, thread }
}
