//! One client connection, served on the shard that accepted it.
//!
//! Loop: read what is available, parse every complete request, dispatch
//! them in order (each joins the pipeline batch; barriers flush it), flush
//! the batch, write all replies with one `write`, repeat. A protocol error
//! is answered with Redis's `-ERR Protocol error: ...` after the replies of
//! the requests before it, then the connection closes; the server never
//! does anything else about bad input.

use super::net::{self, Transport};
use crate::command::ctx::{Batch, Conn, ReplyMode};
use crate::command::{dispatch, errors, multi};
use crate::shard::clients::ClientInfo;
use crate::shard::Shard;
use bytes::BytesMut;
use resp::{Proto, RequestParser};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Duration;

const READ_CHUNK: usize = 16 * 1024;
/// Requests parsed per round before replies are written (bounds reply memory).
const MAX_BATCH: usize = 1024;
/// Replies buffered before they are written mid-batch.
const OUT_CHUNK: usize = 1 << 20;
/// Commands of a pipeline sent to other shards before their replies are
/// collected and written (bounds what one client's pipeline holds).
const MAX_QUEUED: usize = 64;

const DENIED: &str = "-DENIED Shoal is running in protected mode: protected mode is enabled and no password is set for the default user, so only loopback connections are accepted. To accept others, set a password (requirepass), or turn protected mode off with 'CONFIG SET protected-mode no' from a loopback connection, or start the server with '--protected-mode no'.\r\n";

fn set_keepalive(fd: i32, secs: u64) {
    if secs == 0 {
        return;
    }
    // As Redis: first probe after `secs` idle, then every secs/3, 3 probes.
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(secs))
        .with_interval(Duration::from_secs((secs / 3).max(1)))
        .with_retries(3);
    let _ = net::with_socket(fd, |s| s.set_tcp_keepalive(&ka));
}

/// Mark a client killed and wake its reader (CLIENT KILL).
pub fn kill(info: &ClientInfo) {
    info.killed.set(true);
    // SAFETY: shutdown(2) on the connection's own socket fd; the fd stays
    // open (owned by the stream) until the connection task drops it.
    unsafe {
        libc::shutdown(info.fd, libc::SHUT_RD);
    }
}

/// Close a client at once, even one stuck writing to a peer that does not
/// read (a subscriber past its output-buffer limit).
pub fn kill_now(info: &ClientInfo) {
    info.killed.set(true);
    // SAFETY: shutdown(2) on the connection's own socket fd, which stays
    // open (owned by the stream) until the connection task drops it.
    unsafe {
        libc::shutdown(info.fd, libc::SHUT_RDWR);
    }
}

/// How long a closing connection may take to hand its last replies over.
const CLOSE_FLUSH: Duration = Duration::from_secs(5);

/// Serve one accepted connection until it closes.
pub async fn serve<T: Transport>(shard: Rc<Shard>, mut stream: T) {
    serve_inner(&shard, &mut stream).await;
    // Hand the last replies (QUIT's +OK, a protocol error) to the kernel
    // before the socket closes, unless the peer never reads them.
    futures_lite::future::or(
        async { stream.flush().await.map(|_| ()).unwrap_or(()) },
        async {
            glommio::timer::sleep(CLOSE_FLUSH).await;
        },
    )
    .await;
}

async fn serve_inner<T: Transport>(shard: &Rc<Shard>, stream: &mut T) {
    let shared = shard.shared.clone();
    let config = shard.state.borrow().config.clone();
    let connected = shared.clients.fetch_add(1, Ordering::SeqCst) + 1;
    if connected > config.maxclients {
        shared.clients.fetch_sub(1, Ordering::SeqCst);
        shard.state.borrow_mut().stats.rejected_connections += 1;
        let mut msg = format!("-{}\r\n", errors::MAX_CLIENTS).into_bytes();
        let _ = stream.write_buf(&mut msg).await;
        return;
    }
    let fd = stream.fd();
    let (peer, local) = net::addrs(fd);
    let is_local = peer.is_some_and(|p| p.ip().is_loopback());
    if config.protected_mode && config.requirepass.is_none() && !is_local {
        shared.clients.fetch_sub(1, Ordering::SeqCst);
        let _ = stream.write_buf(&mut DENIED.as_bytes().to_vec()).await;
        return;
    }
    set_keepalive(fd, config.tcp_keepalive);

    let id = shared.next_client_id.fetch_add(1, Ordering::Relaxed);
    let now = crate::clock::now_ms();
    let info = Rc::new(ClientInfo::new(
        id,
        peer.map(|p| p.to_string()).unwrap_or_default(),
        local.map(|p| p.to_string()).unwrap_or_default(),
        fd,
        now,
    ));
    {
        let mut st = shard.state.borrow_mut();
        st.stats.connections += 1;
        st.clients.add(info.clone());
    }
    let mut conn = Conn {
        id,
        db: 0,
        proto: Proto::Resp2,
        authenticated: config.requirepass.is_none(),
        info: info.clone(),
        reply_mode: ReplyMode::On,
        close_after_reply: false,
        is_local,
        now_ms: now,
        multi: None,
        watched: Vec::new(),
        pending: None,
        exec_owner: 0,
        subs: None,
    };
    drop(config);

    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut parser = RequestParser::new(shard.state.borrow().config.proto_max_bulk_len);
    let mut reqs = Vec::with_capacity(64);
    let mut batch = Batch::new(shard.count);
    batch.client = Some(info.clone());

    'conn: loop {
        if info.killed.get() {
            break;
        }
        let mailbox = conn.subs.as_ref().map(|s| s.mailbox.clone());
        let read = match &mailbox {
            None => stream.read_into(&mut rbuf).await,
            Some(mb) => {
                mb.resp3.set(conn.proto == Proto::Resp3);
                let woke = futures_lite::future::or(
                    async { Some(stream.read_into(&mut rbuf).await) },
                    async {
                        mb.ready().await;
                        None
                    },
                )
                .await;
                match woke {
                    Some(r) => r,
                    None => {
                        if mb.overflowed() {
                            break;
                        }
                        mb.drain_into(&mut batch.out);
                        if !write_out(shard, &info, stream, &mut batch.out).await {
                            break;
                        }
                        continue;
                    }
                }
            }
        };
        let n = match read {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Killed while the read was in flight (CLIENT KILL from another
        // shard): what arrived is not served, as in Redis.
        if info.killed.get() {
            break;
        }
        let (limit, max_bulk) = {
            let mut st = shard.state.borrow_mut();
            st.stats.net_in += n as u64;
            st.stats.reads += 1;
            (
                st.config.client_query_buffer_limit,
                st.config.proto_max_bulk_len,
            )
        };
        info.tot_net_in.set(info.tot_net_in.get() + n as u64);
        conn.now_ms = crate::clock::now_ms();
        info.last_ms.set(conn.now_ms);
        if rbuf.len() > limit {
            log::warn!(
                "Closing client that reached max query buffer length: id={} addr={} (qbuf={})",
                id,
                info.addr,
                rbuf.len()
            );
            break;
        }
        parser.set_max_bulk_len(max_bulk);
        if let Some(more) = parser.pending_bulk_remaining(rbuf.len()) {
            rbuf.reserve(more.min(1 << 20));
        }

        // Parse and run everything complete; an unauthenticated client is
        // parsed one request at a time so AUTH changes the limits in time.
        let mut protocol_error = None;
        loop {
            let max = if conn.authenticated { MAX_BATCH } else { 1 };
            if let Err(e) = parser.parse(&mut rbuf, &mut reqs, max, conn.authenticated) {
                protocol_error = Some(e);
            }
            if reqs.is_empty() {
                break;
            }
            for req in reqs.drain(..) {
                while let Some(until) = crate::command::paused_until(shard, &req) {
                    batch.flush(shard).await;
                    let wait = (until - crate::clock::now_ms()).clamp(1, 100);
                    glommio::timer::sleep(Duration::from_millis(wait as u64)).await;
                }
                dispatch(shard, &mut conn, &mut batch, &req);
                if let Some(task) = conn.pending.take() {
                    batch.flush(shard).await;
                    multi::run_task(shard, &mut conn, &mut batch.out, task).await;
                }
                if batch.barrier_blocks() {
                    let limit = shard.state.borrow().config.client_query_buffer_limit;
                    info.blocked.set(true);
                    let alive = flush_watching(shard, &mut batch, stream, &mut rbuf, limit).await;
                    info.blocked.set(false);
                    if !alive {
                        break 'conn;
                    }
                } else if batch.has_barrier() {
                    batch.flush(shard).await;
                }
                if conn.close_after_reply {
                    break;
                }
                // Replies leave in bounded rounds, so a long pipeline of
                // large GETs holds a few of them, not all.
                let (bytes, queued) = batch.held();
                if bytes > OUT_CHUNK || queued >= MAX_QUEUED {
                    batch.flush(shard).await;
                    if !acked(shard, &mut batch).await
                        || !write_out(shard, &info, stream, &mut batch.out).await
                    {
                        break 'conn;
                    }
                }
            }
            reqs.clear();
            if conn.close_after_reply || protocol_error.is_some() {
                break;
            }
        }
        batch.flush(shard).await;
        if let Some(e) = protocol_error {
            batch.out.extend_from_slice(b"-ERR ");
            batch.out.extend_from_slice(e.message.as_bytes());
            batch.out.extend_from_slice(b"\r\n");
            shard.state.borrow_mut().stats.count_error(b"-ERR");
            log::debug!(
                "Protocol error ({}) from client: id={} addr={}",
                e.message,
                id,
                info.addr
            );
            conn.close_after_reply = true;
        }
        if let Some(subs) = conn.subs.as_ref() {
            if subs.mailbox.overflowed() {
                break;
            }
            subs.mailbox.drain_into(&mut batch.out);
        }
        info.qbuf.set(rbuf.len());
        info.qbuf_free.set(rbuf.capacity() - rbuf.len());
        if !acked(shard, &mut batch).await || !write_out(shard, &info, stream, &mut batch.out).await
        {
            break;
        }
        if conn.close_after_reply {
            break;
        }
        if rbuf.is_empty() && rbuf.capacity() > (1 << 20) {
            rbuf = BytesMut::with_capacity(READ_CHUNK);
        }
    }

    multi::unwatch_all(shard, &mut conn).await;
    crate::command::pubsub::unsubscribe_all(shard, &mut conn);
    crate::command::monitor::stop(shard, &conn);
    shard.state.borrow_mut().clients.remove(id);
    shared.clients.fetch_sub(1, Ordering::SeqCst);
}

/// Wait until the records behind the replies in `batch` may be
/// acknowledged (group commit): the home shard's, and those of the
/// multi-shard transactions it ran. False when they cannot be made
/// durable: the connection then closes without claiming success.
async fn acked(shard: &Rc<Shard>, batch: &mut Batch) -> bool {
    let need = std::mem::take(&mut batch.aof_need);
    let home = need == 0 || crate::aof::wait_ack(shard, need).await.is_ok();
    batch.acks.wait().await && home
}

/// Flush a batch whose barrier blocks (BLPOP & co) while watching the
/// socket: input arriving meanwhile is kept in `rbuf` for later, and the
/// peer going away (or flooding past `limit`) ends the wait, dropping the
/// blocked command. False when the connection must close.
async fn flush_watching<T: Transport>(
    shard: &Rc<Shard>,
    batch: &mut Batch,
    stream: &mut T,
    rbuf: &mut BytesMut,
    limit: usize,
) -> bool {
    enum Event {
        Done,
        Read(std::io::Result<usize>),
    }
    let mut flush = std::pin::pin!(batch.flush(shard));
    loop {
        let ev = futures_lite::future::or(
            async {
                flush.as_mut().await;
                Event::Done
            },
            async { Event::Read(stream.read_into(rbuf).await) },
        )
        .await;
        match ev {
            Event::Done => return true,
            Event::Read(Ok(0) | Err(_)) => return false,
            Event::Read(Ok(_)) if rbuf.len() > limit => return false,
            Event::Read(Ok(n)) => shard.state.borrow_mut().stats.net_in += n as u64,
        }
    }
}

/// Write and clear `out`. False when the peer is gone.
async fn write_out<T: Transport>(
    shard: &Rc<Shard>,
    info: &ClientInfo,
    stream: &mut T,
    out: &mut Vec<u8>,
) -> bool {
    if out.is_empty() {
        return true;
    }
    let len = out.len() as u64;
    let ok = stream.write_buf(out).await.is_ok();
    {
        let mut st = shard.state.borrow_mut();
        st.stats.net_out += len;
        st.stats.writes += 1;
    }
    info.tot_net_out.set(info.tot_net_out.get() + len);
    out.clear();
    if out.capacity() > (4 << 20) {
        *out = Vec::with_capacity(16 * 1024);
    }
    ok
}
