//! Messages between shards, over glommio's channel mesh (one lock-free
//! SPSC queue per ordered pair of executors).
//!
//! A message is a boxed closure that runs on the target shard with its
//! handle. Replies travel back through a oneshot channel owned by the
//! caller. The receive loop never awaits: it runs each closure to
//! completion, and closures that must wait (for locks) spawn a task, so two
//! shards messaging each other can never deadlock on full queues.
//!
//! This is one of the few modules that names glommio.

use super::{Shard, ShardId};
use futures_channel::oneshot;
use glommio::channels::channel_mesh::{Receivers, Senders};
use std::future::Future;
use std::rc::Rc;

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

impl Shard {
    /// Send `msg` to shard `to` (which must not be this shard).
    pub async fn post(&self, to: ShardId, msg: Msg) -> Result<(), ShardGone> {
        let Some(s) = self.mesh.senders.as_ref() else {
            return Err(ShardGone);
        };
        self.state.borrow_mut().stats.hops_out += 1;
        s.send_to(to, msg).await.map_err(|_| ShardGone)
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
        let (tx, rx) = oneshot::channel();
        self.post(
            to,
            Box::new(move |s| {
                let _ = tx.send(f(s));
            }),
        )
        .await?;
        rx.await.map_err(|_| ShardGone)
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
        let (tx, rx) = oneshot::channel();
        self.post(
            to,
            Box::new(move |s| {
                let fut = f(s.clone());
                glommio::spawn_local(async move {
                    let _ = tx.send(fut.await);
                })
                .detach();
            }),
        )
        .await?;
        rx.await.map_err(|_| ShardGone)
    }

    /// Run `f` on every shard (this one included) and collect the results in shard order.
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
            let (tx, rx) = oneshot::channel();
            let g = f.clone();
            let sent = self
                .post(
                    to,
                    Box::new(move |s| {
                        let _ = tx.send(g(s));
                    }),
                )
                .await;
            pending.push((to, sent.ok().map(|_| rx)));
        }
        let mut out: Vec<Option<R>> = (0..self.count).map(|_| None).collect();
        if let Some(slot) = out.get_mut(self.id) {
            *slot = Some(f(self));
        }
        for (to, rx) in pending {
            if let Some(rx) = rx {
                if let (Ok(r), Some(slot)) = (rx.await, out.get_mut(to)) {
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
