//! Client sockets: how a connection reads and writes bytes.
//!
//! | module | backend |
//! |---|---|
//! | [`uring`] | default: a per-shard io_uring of our own (COOP_TASKRUN, multishot accept and recv into a provided-buffer ring, sends batched into one submission) driven by a glommio task |
//! | this file | the fallback: glommio's `TcpStream` (used when the kernel lacks what [`uring`] needs, or with `network-backend glommio`) |
//!
//! Why two: glommio 0.9 arms a one-shot io_uring poll for every read and
//! its rings run task work through inter-processor interrupts, which costs
//! more kernel time per request than Redis's epoll (profiled in
//! docs/benchmarks). The dedicated ring removes both; glommio still owns
//! tasks, timers, cross-shard channels and files.

pub mod uring;

use bytes::BytesMut;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// A connected client socket.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// The socket's file descriptor (for socket options and CLIENT KILL).
    fn fd(&self) -> RawFd;
    /// Wait for input and append it to `buf`; `Ok(0)` at end of stream.
    async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize>;
    /// Send all of `out` and leave it empty (its bytes may still be in
    /// flight when this returns; the buffer may be swapped for another).
    async fn write_buf(&mut self, out: &mut Vec<u8>) -> io::Result<()>;
    /// Wait until everything written has been handed to the kernel.
    async fn flush(&mut self) -> io::Result<()>;
}

/// glommio's TCP stream as a [`Transport`].
pub struct GlommioTransport {
    stream: glommio::net::TcpStream,
    scratch: Vec<u8>,
}

impl GlommioTransport {
    /// Wrap an accepted stream.
    pub fn new(stream: glommio::net::TcpStream) -> Self {
        let _ = stream.set_nodelay(true);
        GlommioTransport {
            stream,
            scratch: vec![0u8; 16 * 1024],
        }
    }
}

impl Transport for GlommioTransport {
    fn fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }

    async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let n = self.stream.read(&mut self.scratch).await?;
        buf.extend_from_slice(self.scratch.get(..n).unwrap_or(&[]));
        Ok(n)
    }

    async fn write_buf(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let r = self.stream.write_all(out).await;
        out.clear();
        r
    }

    async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A transport whose first read returns bytes read from the socket before
/// it was handed over (see `server::loading`).
pub struct Prefixed<T> {
    pre: Vec<u8>,
    inner: T,
}

impl<T> Prefixed<T> {
    /// `inner`, whose stream continues after `pre`.
    pub fn new(pre: Vec<u8>, inner: T) -> Self {
        Prefixed { pre, inner }
    }
}

impl<T: Transport> Transport for Prefixed<T> {
    fn fd(&self) -> RawFd {
        self.inner.fd()
    }

    async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        if self.pre.is_empty() {
            return self.inner.read_into(buf).await;
        }
        let pre = std::mem::take(&mut self.pre);
        buf.extend_from_slice(&pre);
        Ok(pre.len())
    }

    async fn write_buf(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        self.inner.write_buf(out).await
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().await
    }
}

/// Run `f` on the open socket `fd` (socket options, addresses).
pub fn with_socket<R>(fd: RawFd, f: impl FnOnce(socket2::SockRef<'_>) -> R) -> R {
    use std::os::fd::BorrowedFd;
    // SAFETY: callers pass a socket that stays open for the duration of
    // this call (the connection owning it is alive).
    let b = unsafe { BorrowedFd::borrow_raw(fd) };
    f(socket2::SockRef::from(&b))
}

/// Peer and local addresses of a socket.
pub fn addrs(fd: RawFd) -> (Option<std::net::SocketAddr>, Option<std::net::SocketAddr>) {
    with_socket(fd, |s| {
        let peer = s.peer_addr().ok().and_then(|a| a.as_socket());
        let local = s.local_addr().ok().and_then(|a| a.as_socket());
        (peer, local)
    })
}
