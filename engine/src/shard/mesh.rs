//! Messages between shards, over glommio's channel mesh (one lock-free
//! SPSC queue per ordered pair of executors).
//!
//! A message is a boxed closure that runs on the target shard with its
//! handle. A request carries a [`ReplyTo`]: the answer travels back as
//! another mesh message and completes a slot in the requester's
//! [`Replies`], waking the waiting task locally.
//!
//! IMPORTANT: replies must come back through the mesh, never through a
//! cross-thread waker (e.g. a `futures` oneshot). glommio re-checks its
//! channels after announcing that an executor goes to sleep, but not the
//! queue of foreign wakers, so a wake-up from another thread can be lost
//! until some unrelated event wakes the executor (seen as multi-millisecond
//! stalls of cross-shard commands before this design).
//!
//! The receive loop never awaits: it runs each closure to completion;
//! closures that must wait (for locks) spawn a task, and replies that find
//! a full queue are sent from a spawned task, so two shards messaging each
//! other can never deadlock on full queues.
//!
//! This is one of the few modules that names glommio.

use super::{Shard, ShardId};
use glommio::channels::channel_mesh::{Receivers, Senders};
use glommio::{GlommioError, ResourceType};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A message: work to run on the target shard.
pub type Msg = Box<dyn FnOnce(&Rc<Shard>) + Send>;

/// The target shard is gone (the server is shutting down).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardGone;

impl std::fmt::Display for ShardGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("shard unavailable")
    }
}

/// This shard's sending side of the mesh.
pub struct Mesh {
    senders: Option<Senders<Msg>>,
}

impl Mesh {
    /// A mesh over glommio senders (`None` for a single shard).
    pub fn new(senders: Option<Senders<Msg>>) -> Self {
        Mesh { senders }
    }
}

type Answer = Box<dyn Any + Send>;

#[derive(Default)]
struct Slot {
    value: Option<Answer>,
    waker: Option<Waker>,
}

/// Answers this shard is waiting for, by token.
#[derive(Default)]
pub struct Replies {
    next: Cell<u64>,
    slots: RefCell<HashMap<u64, Slot>>,
}

impl Replies {
    fn register(&self) -> u64 {
        let t = self.next.get().wrapping_add(1);
        self.next.set(t);
        self.slots.borrow_mut().insert(t, Slot::default());
        t
    }

    /// Store an answer and wake its waiter. Answers nobody waits for any
    /// more (the waiter was dropped) are discarded.
    fn complete(&self, token: u64, value: Answer) {
        let waker = {
            let mut slots = self.slots.borrow_mut();
            let Some(slot) = slots.get_mut(&token) else {
                return;
            };
            slot.value = Some(value);
            slot.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Where an answer goes: the requesting shard and its token.
pub struct ReplyTo {
    home: ShardId,
    token: u64,
}

impl ReplyTo {
    /// Deliver `value` to the requester; `here` is the shard answering.
    pub fn send<R: Send + 'static>(self, here: &Rc<Shard>, value: R) {
        let token = self.token;
        if here.id == self.home {
            here.replies.complete(token, Box::new(value));
        } else {
            here.post_now(
                self.home,
                Box::new(move |s| s.replies.complete(token, Box::new(value))),
            );
        }
    }
}

/// Future of an answer of type `R`.
pub struct Answered<R> {
    shard: Rc<Shard>,
    token: u64,
    _r: PhantomData<R>,
}

impl<R: 'static> Future for Answered<R> {
    type Output = Result<R, ShardGone>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slots = self.shard.replies.slots.borrow_mut();
        let Some(slot) = slots.get_mut(&self.token) else {
            return Poll::Ready(Err(ShardGone));
        };
        match slot.value.take() {
            Some(v) => {
                slots.remove(&self.token);
                Poll::Ready(v.downcast::<R>().map(|b| *b).map_err(|_| ShardGone))
            }
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<R> Drop for Answered<R> {
    fn drop(&mut self) {
        self.shard.replies.slots.borrow_mut().remove(&self.token);
    }
}

impl Shard {
    /// Send `msg` to shard `to` (which must not be this shard), waiting for
    /// room in the queue.
    pub async fn post(&self, to: ShardId, msg: Msg) -> Result<(), ShardGone> {
        let Some(s) = self.mesh.senders.as_ref() else {
            return Err(ShardGone);
        };
        self.state.borrow_mut().stats.hops_out += 1;
        s.send_to(to, msg).await.map_err(|_| ShardGone)
    }

    /// Send `msg` to shard `to` from synchronous code: at once when there is
    /// room, else from a spawned task.
    pub fn post_now(self: &Rc<Self>, to: ShardId, msg: Msg) {
        let Some(s) = self.mesh.senders.as_ref() else {
            return;
        };
        self.state.borrow_mut().stats.hops_out += 1;
        match s.try_send_to(to, msg) {
            Ok(()) => {}
            Err(GlommioError::WouldBlock(ResourceType::Channel(msg))) => {
                let me = self.clone();
                glommio::spawn_local(async move {
                    if let Some(s) = me.mesh.senders.as_ref() {
                        let _ = s.send_to(to, msg).await;
                    }
                })
                .detach();
            }
            Err(_) => log::debug!(
                "shard {}: message to shard {to} dropped (shutting down)",
                self.id
            ),
        }
    }

    /// Run `f` on shard `to`, which answers through the [`ReplyTo`] it is
    /// given (possibly later, from a task); return the answer.
    pub async fn request<R, F>(self: &Rc<Self>, to: ShardId, f: F) -> Result<R, ShardGone>
    where
        F: FnOnce(&Rc<Shard>, ReplyTo) + Send + 'static,
        R: Send + 'static,
    {
        self.request_start(to, f).await?.await
    }

    /// Like [`Shard::request`], but return once the request is sent: the
    /// caller can send several before awaiting their answers.
    pub async fn request_start<R, F>(
        self: &Rc<Self>,
        to: ShardId,
        f: F,
    ) -> Result<Answered<R>, ShardGone>
    where
        F: FnOnce(&Rc<Shard>, ReplyTo) + Send + 'static,
        R: Send + 'static,
    {
        let token = self.replies.register();
        let answered = Answered::<R> {
            shard: self.clone(),
            token,
            _r: PhantomData,
        };
        let reply = ReplyTo {
            home: self.id,
            token,
        };
        if to == self.id {
            f(self, reply);
        } else {
            self.post(to, Box::new(move |s| f(s, reply))).await?;
        }
        Ok(answered)
    }

    /// Run `f` on shard `to` and return its result (inline when `to` is this shard).
    pub async fn call<R, F>(self: &Rc<Self>, to: ShardId, f: F) -> Result<R, ShardGone>
    where
        F: FnOnce(&Rc<Shard>) -> R + Send + 'static,
        R: Send + 'static,
    {
        if to == self.id {
            return Ok(f(self));
        }
        self.request(to, move |s, reply| reply.send(s, f(s))).await
    }

    /// Run the future made by `f` as a task on shard `to` and return its output.
    pub async fn call_async<R, F, Fut>(self: &Rc<Self>, to: ShardId, f: F) -> Result<R, ShardGone>
    where
        F: FnOnce(Rc<Shard>) -> Fut + Send + 'static,
        Fut: Future<Output = R> + 'static,
        R: Send + 'static,
    {
        if to == self.id {
            return Ok(f(self.clone()).await);
        }
        self.request(to, move |s, reply| {
            let fut = f(s.clone());
            let here = s.clone();
            glommio::spawn_local(async move {
                let v = fut.await;
                reply.send(&here, v);
            })
            .detach();
        })
        .await
    }

    /// Run `f` on every other shard without waiting for it (fire and
    /// forget; each shard runs it when it reads its mailbox).
    pub fn post_others<F>(self: &Rc<Self>, f: F)
    where
        F: Fn(&Rc<Shard>) + Send + Sync + 'static,
    {
        if self.count <= 1 {
            return;
        }
        let f = std::sync::Arc::new(f);
        for to in (0..self.count).filter(|&s| s != self.id) {
            let f = f.clone();
            self.post_now(to, Box::new(move |s| f(s)));
        }
    }

    /// Run `f` on every shard (this one included) and collect the results in
    /// shard order. The messages go out before any answer is awaited.
    pub async fn broadcast<R, F>(self: &Rc<Self>, f: F) -> Vec<R>
    where
        F: Fn(&Rc<Shard>) -> R + Send + Clone + 'static,
        R: Send + 'static,
    {
        let mut pending = Vec::with_capacity(self.count);
        for to in 0..self.count {
            if to == self.id {
                continue;
            }
            let token = self.replies.register();
            let answered = Answered::<R> {
                shard: self.clone(),
                token,
                _r: PhantomData,
            };
            let reply = ReplyTo {
                home: self.id,
                token,
            };
            let g = f.clone();
            let sent = self.post(to, Box::new(move |s| reply.send(s, g(s)))).await;
            pending.push((to, sent.ok().map(|_| answered)));
        }
        let mut out: Vec<Option<R>> = (0..self.count).map(|_| None).collect();
        if let Some(slot) = out.get_mut(self.id) {
            *slot = Some(f(self));
        }
        for (to, answered) in pending {
            if let Some(a) = answered {
                if let (Ok(r), Some(slot)) = (a.await, out.get_mut(to)) {
                    *slot = Some(r);
                }
            }
        }
        out.into_iter().flatten().collect()
    }
}

/// Start one receive loop per peer: each runs incoming closures in order.
pub fn serve(shard: Rc<Shard>, mut receivers: Receivers<Msg>) {
    for (_peer, rx) in receivers.streams() {
        let shard = shard.clone();
        glommio::spawn_local(async move {
            while let Some(msg) = rx.recv().await {
                shard.state.borrow_mut().stats.hops_in += 1;
                msg(&shard);
            }
        })
        .detach();
    }
}
