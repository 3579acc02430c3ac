//! Per-shard background work, in a task queue with a low share of the CPU
//! so it cannot starve client commands (glommio's scheduler splits CPU time
//! between queues by shares when both are busy).
//!
//! Active expiry: `hz` times per second, sweep each database's table from
//! where the last sweep stopped, removing expired keys, in slices of about
//! 1 ms with a yield between slices. A database is left for this tick once
//! a slice finds fewer than 10% of its volatile keys expired (Redis's
//! "acceptable stale" idea), once its sweep wrapped around, or when the
//! tick's budget (25% of the period) is spent.
//!
//! Idle clients: about once a second, close the shard's connections idle
//! for more than `timeout` seconds (as Redis's clientsCron does), and let
//! the allocator return freed memory to the OS.

use crate::shard::Shard;
use glommio::{Latency, Shares};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Buckets visited per sweep step.
const STEP_BUCKETS: usize = 256;

/// Start the background tasks of `shard`.
pub fn start(shard: Rc<Shard>) {
    let tq = glommio::executor().create_task_queue(
        Shares::Static(50),
        Latency::NotImportant,
        "background",
    );
    let id = shard.id;
    let task = async move {
        let mut idle_check = Instant::now();
        loop {
            let hz = shard.state.borrow().config.hz.max(1);
            let period = Duration::from_millis(u64::from(1000 / hz));
            glommio::timer::sleep(period).await;
            shard.state.borrow_mut().stats.sample();
            active_expire_cycle(&shard, period / 4).await;
            if idle_check.elapsed() >= Duration::from_secs(1) {
                idle_check = Instant::now();
                close_idle_clients(&shard);
                crate::alloc::collect();
            }
            if shard.id == 0 {
                crate::alloc::sample_peak();
            }
        }
    };
    match glommio::spawn_local_into(task, tq) {
        Ok(t) => {
            t.detach();
        }
        Err(e) => {
            log::warn!("shard {id}: could not start background tasks: {e}");
        }
    }
}

async fn active_expire_cycle(shard: &Rc<Shard>, budget: Duration) {
    let start = Instant::now();
    let ndbs = shard.state.borrow().dbs.len();
    for db in 0..ndbs {
        let mut slice = Instant::now();
        loop {
            let (removed, seen, wrapped) = {
                let mut st = shard.state.borrow_mut();
                let d = st.db(db);
                if d.is_empty() {
                    break;
                }
                let r = d.active_expire(crate::clock::now_ms(), STEP_BUCKETS);
                // The AOF logs each expired key as a DEL.
                let st = &mut *st;
                st.aof.log_expired(&mut st.dbs);
                r
            };
            if removed > 0 {
                // Expiry breaks watches and raises `expired` notifications.
                crate::shard::flush_outbox(shard);
            }
            if wrapped || (seen > 0 && removed * 10 < seen) {
                break;
            }
            if start.elapsed() > budget {
                return;
            }
            if slice.elapsed() > Duration::from_millis(1) {
                futures_lite::future::yield_now().await;
                slice = Instant::now();
            }
        }
    }
}

/// Close connections idle for longer than `timeout` (seconds; 0 = never).
fn close_idle_clients(shard: &Shard) {
    let st = shard.state.borrow();
    let limit = st.config.timeout_secs;
    if limit == 0 {
        return;
    }
    let now = crate::clock::now_ms();
    let limit_ms = i64::try_from(limit.saturating_mul(1000)).unwrap_or(i64::MAX);
    for c in st.clients.iter() {
        if !c.killed.get() && now - c.last_ms.get() > limit_ms {
            log::debug!("Closing idle client: id={} addr={}", c.id, c.addr);
            crate::server::conn::kill(c);
        }
    }
}
