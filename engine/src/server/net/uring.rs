//! The default socket backend: one io_uring per shard, owned by a glommio
//! task (the *driver*), for accepting, receiving and sending.
//!
//! - Set up with `SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG`: completion
//!   work never interrupts the shard (no inter-processor interrupts); it
//!   waits until the driver asks for completions, and the kernel signals
//!   the ring's eventfd when some is waiting.
//! - Multishot accept per listener; multishot receive per connection into a
//!   ring of provided buffers (received bytes are copied into the
//!   connection's inbox and the buffer is handed back at once).
//! - Sends are queued per connection and submitted together: one
//!   `io_uring_enter` covers every reply of a scheduling round.
//! - The driver sleeps by reading an eventfd registered with the ring
//!   through glommio, so glommio's own timers and channels keep working and
//!   are polled between every two batches the driver handles.
//!
//! Memory: the buffer ring is fixed (`NBUFS` × `BUF_SIZE` per shard). A
//! connection's unread input is bounded: past `INBOX_HIGH` the multishot
//! receive is cancelled and resumed once the connection has drained it (TCP
//! flow control then pushes back on the client).
//!
//! IMPORTANT (buffer lifetimes): a send's bytes live in its connection slot
//! (`inflight`) and are not touched until the send completes; a slot and its
//! fd are released only when no receive and no send is in flight. Stale
//! completions of a reused slot are recognised by a generation number.

use super::Transport;
use crate::shard::Shard;
use bytes::BytesMut;
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::{Poll, Waker};

const RING_ENTRIES: u32 = 4096;
const BGID: u16 = 1;
const NBUFS: u16 = 128;
const BUF_SIZE: usize = 16 * 1024;
/// Unread input per connection before receiving pauses.
const INBOX_HIGH: usize = 4 << 20;
/// Unsent output per connection before writers wait (like a blocking
/// write: a client that does not read holds at most about this much).
const OUT_HIGH: usize = 2 << 20;

const KIND_ACCEPT: u64 = 1;
const KIND_RECV: u64 = 2;
const KIND_SEND: u64 = 3;
const KIND_CANCEL: u64 = 4;

fn user_data(kind: u64, gen: u32, slot: u32) -> u64 {
    (kind << 56) | (u64::from(gen & 0x00ff_ffff) << 32) | u64::from(slot)
}

fn split(ud: u64) -> (u64, u32, u32) {
    (ud >> 56, ((ud >> 32) & 0x00ff_ffff) as u32, ud as u32)
}

#[derive(Default)]
struct ConnState {
    fd: RawFd,
    inbox: Vec<u8>,
    eof: bool,
    err: Option<i32>,
    read_waker: Option<Waker>,
    recv_armed: bool,
    recv_paused: bool,
    cancel_pending: bool,
    out: Vec<u8>,
    inflight: Vec<u8>,
    inflight_off: usize,
    sending: bool,
    send_waker: Option<Waker>,
    closing: bool,
}

struct Slot {
    gen: u32,
    conn: Option<ConnState>,
}

/// A shard's network ring.
pub struct NetRing {
    ring: RefCell<IoUring>,
    bufs: Box<[u8]>,
    /// The provided-buffer ring (mmap'ed, shared with the kernel).
    br: *mut types::BufRingEntry,
    br_len: usize,
    br_tail: Cell<u16>,
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<u32>>,
    listeners: RefCell<Vec<RawFd>>,
    eventfd: OwnedFd,
    notified: Cell<bool>,
    driver_waker: RefCell<Option<Waker>>,
}

impl Drop for NetRing {
    fn drop(&mut self) {
        // SAFETY: `br` was returned by mmap with length `br_len` and is
        // unmapped once, here; the ring that used it is dropped with `self`.
        unsafe {
            libc::munmap(self.br.cast(), self.br_len);
        }
    }
}

impl NetRing {
    /// Set up the ring, its eventfd and its buffer ring. Fails on kernels
    /// without the features used (the caller then falls back to glommio).
    pub fn new() -> io::Result<Rc<NetRing>> {
        // DEFER_TASKRUN: completions are produced only when this thread
        // asks (an enter with GETEVENTS), so they never interrupt it; the
        // kernel signals the registered eventfd when work is waiting.
        let ring = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_taskrun_flag()
            .setup_cqsize(RING_ENTRIES * 4)
            .build(RING_ENTRIES)?;
        // Blocking on purpose: glommio reads it through its own ring, which
        // would fail a read of a non-blocking eventfd with EAGAIN instead
        // of waiting for it.
        // SAFETY: eventfd(2) has no memory-safety preconditions.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor, owned from here on.
        let eventfd = unsafe { OwnedFd::from_raw_fd(raw) };
        ring.submitter().register_eventfd(eventfd.as_raw_fd())?;
        let br_len = usize::from(NBUFS) * std::mem::size_of::<types::BufRingEntry>();
        // SAFETY: an anonymous private mapping; checked for failure below.
        let br = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                br_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_ANONYMOUS | libc::MAP_PRIVATE,
                -1,
                0,
            )
        };
        if br == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let br = br.cast::<types::BufRingEntry>();
        // SAFETY: `br` is a page-aligned mapping of NBUFS entries that stays
        // mapped for the ring's lifetime (unmapped in Drop).
        let registered = unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(br as u64, NBUFS, BGID, 0)
        };
        if let Err(e) = registered {
            // SAFETY: the mapping made above, not used by anything.
            unsafe { libc::munmap(br.cast(), br_len) };
            return Err(e);
        }
        let net = NetRing {
            ring: RefCell::new(ring),
            bufs: vec![0u8; usize::from(NBUFS) * BUF_SIZE].into_boxed_slice(),
            br,
            br_len,
            br_tail: Cell::new(0),
            slots: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            listeners: RefCell::new(Vec::new()),
            eventfd,
            notified: Cell::new(false),
            driver_waker: RefCell::new(None),
        };
        for bid in 0..NBUFS {
            net.give_buffer(bid);
        }
        net.publish_buffers();
        Ok(Rc::new(net))
    }

    /// Hand buffer `bid` (back) to the kernel; visible after [`Self::publish_buffers`].
    fn give_buffer(&self, bid: u16) {
        let tail = self.br_tail.get();
        let idx = usize::from(tail & (NBUFS - 1));
        let addr = self.bufs.as_ptr() as u64 + u64::from(bid) * BUF_SIZE as u64;
        // SAFETY: `idx` < NBUFS, inside the mapping; only this thread writes
        // entries, and the kernel reads them only after the tail moves.
        unsafe {
            let e = &mut *self.br.add(idx);
            e.set_addr(addr);
            e.set_len(BUF_SIZE as u32);
            e.set_bid(bid);
        }
        self.br_tail.set(tail.wrapping_add(1));
    }

    fn publish_buffers(&self) {
        // SAFETY: the tail field overlaps entry 0's reserved field, per the
        // io_uring ABI; the kernel reads it with acquire ordering.
        unsafe {
            let tail = types::BufRingEntry::tail(self.br).cast::<AtomicU16>();
            (*tail).store(self.br_tail.get(), Ordering::Release);
        }
    }

    fn push(&self, sqe: &squeue::Entry) {
        let mut ring = self.ring.borrow_mut();
        // SAFETY: every SQE we push references memory that outlives the
        // operation (see the module note on buffer lifetimes).
        if unsafe { ring.submission().push(sqe) }.is_err() {
            let _ = ring.submit();
            // SAFETY: as above.
            if unsafe { ring.submission().push(sqe) }.is_err() {
                log::warn!("network ring submission queue full; operation dropped");
            }
        }
        drop(ring);
        self.wake_driver();
    }

    fn wake_driver(&self) {
        self.notified.set(true);
        if let Some(w) = self.driver_waker.borrow_mut().take() {
            w.wake();
        }
    }

    /// Start accepting on a listening socket (kept open for the process lifetime).
    pub fn listen(&self, fd: RawFd) {
        let idx = {
            let mut l = self.listeners.borrow_mut();
            l.push(fd);
            (l.len() - 1) as u32
        };
        self.arm_accept(idx);
    }

    fn arm_accept(&self, idx: u32) {
        let Some(&fd) = self.listeners.borrow().get(idx as usize) else {
            return;
        };
        let sqe = opcode::AcceptMulti::new(types::Fd(fd))
            .build()
            .user_data(user_data(KIND_ACCEPT, 0, idx));
        self.push(&sqe);
    }

    fn arm_recv(&self, slot: u32, gen: u32, fd: RawFd) {
        let sqe = opcode::RecvMulti::new(types::Fd(fd), BGID)
            .build()
            .user_data(user_data(KIND_RECV, gen, slot));
        self.push(&sqe);
    }

    fn submit_send(&self, slot: u32, gen: u32, c: &ConnState) {
        let rest = c.inflight.get(c.inflight_off..).unwrap_or(&[]);
        let sqe = opcode::Send::new(types::Fd(c.fd), rest.as_ptr(), rest.len() as u32)
            .build()
            .user_data(user_data(KIND_SEND, gen, slot));
        self.push(&sqe);
    }

    /// Register an accepted socket; returns its slot and generation.
    fn add_conn(&self, fd: RawFd) -> (u32, u32) {
        let mut slots = self.slots.borrow_mut();
        let idx = match self.free.borrow_mut().pop() {
            Some(i) => i,
            None => {
                slots.push(Slot { gen: 0, conn: None });
                (slots.len() - 1) as u32
            }
        };
        let Some(slot) = slots.get_mut(idx as usize) else {
            return (idx, 0);
        };
        slot.gen = slot.gen.wrapping_add(1) & 0x00ff_ffff;
        slot.conn = Some(ConnState {
            fd,
            recv_armed: true,
            ..ConnState::default()
        });
        (idx, slot.gen)
    }

    /// Run `f` on a live connection slot of generation `gen`.
    fn with_conn<R>(&self, slot: u32, gen: u32, f: impl FnOnce(&mut ConnState) -> R) -> Option<R> {
        let mut slots = self.slots.borrow_mut();
        let s = slots.get_mut(slot as usize)?;
        if s.gen != gen {
            return None;
        }
        s.conn.as_mut().map(f)
    }

    /// Close and release a slot once nothing is in flight on it.
    fn maybe_release(&self, slot: u32, gen: u32) {
        let done = self
            .with_conn(slot, gen, |c| c.closing && !c.recv_armed && !c.sending)
            .unwrap_or(false);
        if !done {
            return;
        }
        let fd = {
            let mut slots = self.slots.borrow_mut();
            let Some(s) = slots.get_mut(slot as usize) else {
                return;
            };
            s.conn.take().map(|c| c.fd)
        };
        if let Some(fd) = fd {
            // SAFETY: the connection's fd, closed exactly once, after every
            // operation referencing it has completed.
            unsafe {
                libc::close(fd);
            }
            self.free.borrow_mut().push(slot);
        }
    }

    /// Process every available completion. Returns how many there were.
    fn reap(self: &Rc<Self>, shard: &Rc<Shard>) -> usize {
        let cqes: Vec<cqueue::Entry> = {
            let mut ring = self.ring.borrow_mut();
            let _ = ring.submit();
            ring.completion().collect()
        };
        let n = cqes.len();
        let mut recycled = false;
        for c in cqes {
            let (kind, gen, slot) = split(c.user_data());
            match kind {
                KIND_ACCEPT => self.on_accept(shard, slot, &c),
                KIND_RECV => recycled |= self.on_recv(slot, gen, &c),
                KIND_SEND => self.on_send(slot, gen, c.result()),
                _ => {}
            }
        }
        if recycled {
            self.publish_buffers();
        }
        n
    }

    /// The connected socket `fd` (owned from here on) on this ring.
    pub fn adopt(self: &Rc<Self>, fd: RawFd) -> NetConn {
        let _ = super::with_socket(fd, |s| s.set_tcp_nodelay(true));
        let (slot, gen) = self.add_conn(fd);
        self.arm_recv(slot, gen, fd);
        NetConn {
            net: self.clone(),
            slot,
            gen,
            fd,
        }
    }

    fn on_accept(self: &Rc<Self>, shard: &Rc<Shard>, idx: u32, c: &cqueue::Entry) {
        let res = c.result();
        if res >= 0 {
            let conn = self.adopt(res);
            glommio::spawn_local(crate::server::conn::serve(shard.clone(), conn)).detach();
        } else {
            log::debug!("accept: {}", io::Error::from_raw_os_error(-res));
        }
        if !cqueue::more(c.flags()) {
            if res == -libc::EMFILE || res == -libc::ENFILE || res == -libc::ENOMEM {
                // Out of descriptors: retry a little later instead of spinning.
                let me = self.clone();
                glommio::spawn_local(async move {
                    glommio::timer::sleep(std::time::Duration::from_millis(50)).await;
                    me.arm_accept(idx);
                })
                .detach();
            } else {
                self.arm_accept(idx);
            }
        }
    }

    /// Handle a receive completion; true when a buffer was recycled.
    fn on_recv(&self, slot: u32, gen: u32, c: &cqueue::Entry) -> bool {
        let res = c.result();
        let more = cqueue::more(c.flags());
        let mut recycled = false;
        if let Some(bid) = cqueue::buffer_select(c.flags()) {
            if res > 0 {
                let start = usize::from(bid) * BUF_SIZE;
                let data = self.bufs.get(start..start + res as usize).unwrap_or(&[]);
                let _ = self.with_conn(slot, gen, |conn| conn.inbox.extend_from_slice(data));
            }
            self.give_buffer(bid);
            recycled = true;
        }
        let mut rearm = None;
        let mut cancel = false;
        let _ = self.with_conn(slot, gen, |conn| {
            if res == 0 {
                conn.eof = true;
            } else if res < 0 && res != -libc::ENOBUFS && res != -libc::ECANCELED {
                conn.err = Some(-res);
            }
            if !more {
                conn.recv_armed = false;
                conn.cancel_pending = false;
                let healthy = !conn.eof && conn.err.is_none() && !conn.closing;
                if healthy && conn.inbox.len() < INBOX_HIGH {
                    conn.recv_armed = true;
                    conn.recv_paused = false;
                    rearm = Some(conn.fd);
                } else if healthy {
                    conn.recv_paused = true;
                }
            } else if conn.inbox.len() >= INBOX_HIGH && !conn.cancel_pending {
                conn.cancel_pending = true;
                cancel = true;
            }
            if let Some(w) = conn.read_waker.take() {
                w.wake();
            }
        });
        if let Some(fd) = rearm {
            self.arm_recv(slot, gen, fd);
        }
        if cancel {
            let sqe = opcode::AsyncCancel::new(user_data(KIND_RECV, gen, slot))
                .build()
                .user_data(user_data(KIND_CANCEL, gen, slot));
            self.push(&sqe);
        }
        if !more {
            self.maybe_release(slot, gen);
        }
        recycled
    }

    fn on_send(&self, slot: u32, gen: u32, res: i32) {
        let resubmit = self.with_conn(slot, gen, |conn| {
            if res < 0 {
                conn.err = Some(-res);
                conn.sending = false;
                conn.inflight.clear();
                conn.out.clear();
            } else {
                conn.inflight_off += res as usize;
                if conn.inflight_off >= conn.inflight.len() {
                    conn.inflight.clear();
                    conn.inflight_off = 0;
                    if conn.out.is_empty() {
                        conn.sending = false;
                    } else {
                        std::mem::swap(&mut conn.inflight, &mut conn.out);
                    }
                }
            }
            if let Some(w) = conn.send_waker.take() {
                w.wake();
            }
            conn.sending
        });
        match resubmit {
            Some(true) => {
                let slots = self.slots.borrow();
                if let Some(c) = slots.get(slot as usize).and_then(|s| s.conn.as_ref()) {
                    self.submit_send(slot, gen, c);
                }
            }
            _ => self.maybe_release(slot, gen),
        }
    }

    /// The driver: handle completions, submit queued work, sleep on the
    /// eventfd when idle. Runs for the life of the shard.
    pub async fn drive(self: Rc<Self>, shard: Rc<Shard>) {
        // SAFETY: dup(2) of our eventfd; the copy is owned by the glommio file.
        let evfd = unsafe { libc::dup(self.eventfd.as_raw_fd()) };
        if evfd < 0 {
            log::warn!(
                "network ring: cannot dup the eventfd: {}",
                io::Error::last_os_error()
            );
            return;
        }
        // SAFETY: `evfd` is a fresh descriptor owned by the file from here on.
        let evfile = Rc::new(unsafe { glommio::io::BufferedFile::from_raw_fd(evfd) });
        let mut ev_read: Option<Pin<Box<dyn Future<Output = ()>>>> = None;
        // IMPORTANT (fairness): completions are handled only after the
        // eventfd read completes, which glommio reports from its own I/O
        // poll. So glommio's reactor (timers, cross-shard channels) runs
        // between any two batches, however busy the network is. Local wake-ups
        // (connections queuing sends) only submit, they never dispatch work.
        self.reap(&shard);
        loop {
            let woke_by_io = std::future::poll_fn(|cx| {
                if self.notified.replace(false) {
                    return Poll::Ready(false);
                }
                *self.driver_waker.borrow_mut() = Some(cx.waker().clone());
                let fut = ev_read.get_or_insert_with(|| {
                    let f = evfile.clone();
                    Box::pin(async move {
                        let _ = f.read_at(0, 8).await;
                    })
                });
                match fut.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        ev_read = None;
                        Poll::Ready(true)
                    }
                    Poll::Pending => Poll::Pending,
                }
            })
            .await;
            if woke_by_io {
                self.reap(&shard);
            } else {
                let _ = self.ring.borrow_mut().submit();
            }
        }
    }
}

/// One connection on a [`NetRing`].
pub struct NetConn {
    net: Rc<NetRing>,
    slot: u32,
    gen: u32,
    fd: RawFd,
}

impl Transport for NetConn {
    fn fd(&self) -> RawFd {
        self.fd
    }

    async fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        std::future::poll_fn(|cx| {
            let mut resume = None;
            let r = self.net.with_conn(self.slot, self.gen, |c| {
                if !c.inbox.is_empty() {
                    buf.extend_from_slice(&c.inbox);
                    let n = c.inbox.len();
                    if c.inbox.capacity() > 1 << 20 {
                        c.inbox = Vec::new();
                    } else {
                        c.inbox.clear();
                    }
                    if c.recv_paused && !c.recv_armed && !c.closing {
                        c.recv_paused = false;
                        c.recv_armed = true;
                        resume = Some(c.fd);
                    }
                    return Poll::Ready(Ok(n));
                }
                if let Some(e) = c.err {
                    return Poll::Ready(Err(io::Error::from_raw_os_error(e)));
                }
                if c.eof {
                    return Poll::Ready(Ok(0));
                }
                c.read_waker = Some(cx.waker().clone());
                Poll::Pending
            });
            if let Some(fd) = resume {
                self.net.arm_recv(self.slot, self.gen, fd);
            }
            r.unwrap_or(Poll::Ready(Ok(0)))
        })
        .await
    }

    async fn write_buf(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        // Wait while too much output is queued (a client not reading).
        std::future::poll_fn(|cx| {
            self.net
                .with_conn(self.slot, self.gen, |c| {
                    if c.err.is_some() || c.out.len() + c.inflight.len() < OUT_HIGH {
                        Poll::Ready(())
                    } else {
                        c.send_waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                })
                .unwrap_or(Poll::Ready(()))
        })
        .await;
        let start = self.net.with_conn(self.slot, self.gen, |c| {
            if let Some(e) = c.err {
                out.clear();
                return Err(io::Error::from_raw_os_error(e));
            }
            if c.sending {
                c.out.extend_from_slice(out);
                out.clear();
                Ok(false)
            } else {
                // Zero-copy hand-over: the caller gets the idle buffer back.
                std::mem::swap(&mut c.inflight, out);
                out.clear();
                c.inflight_off = 0;
                c.sending = true;
                Ok(true)
            }
        });
        match start {
            Some(Ok(true)) => {
                let slots = self.net.slots.borrow();
                if let Some(c) = slots.get(self.slot as usize).and_then(|s| s.conn.as_ref()) {
                    self.net.submit_send(self.slot, self.gen, c);
                }
                Ok(())
            }
            Some(Ok(false)) => Ok(()),
            Some(Err(e)) => Err(e),
            None => {
                out.clear();
                Err(io::Error::from(io::ErrorKind::NotConnected))
            }
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| {
            self.net
                .with_conn(self.slot, self.gen, |c| {
                    if let Some(e) = c.err {
                        return Poll::Ready(Err(io::Error::from_raw_os_error(e)));
                    }
                    if !c.sending && c.out.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                    c.send_waker = Some(cx.waker().clone());
                    Poll::Pending
                })
                .unwrap_or(Poll::Ready(Ok(())))
        })
        .await
    }
}

impl Drop for NetConn {
    fn drop(&mut self) {
        let _ = self.net.with_conn(self.slot, self.gen, |c| {
            c.closing = true;
            c.read_waker = None;
            c.send_waker = None;
        });
        // Ends the multishot receive (it completes with 0); the slot and the
        // fd are released when the last operation on them completes.
        // SAFETY: shutdown(2) on this connection's own, still open, socket.
        unsafe {
            libc::shutdown(self.fd, libc::SHUT_RDWR);
        }
        self.net.maybe_release(self.slot, self.gen);
        self.net.wake_driver();
    }
}
