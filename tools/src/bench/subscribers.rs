//! The subscribers of `--preset publish`: connections that SUBSCRIBE to the
//! channel before a run, read and count every message during it, and say at
//! the end how many each received ([`Delivery`]).
//!
//! One thread drives all of them with its own mio poll, so the load threads
//! never wait on them and they never wait on the load. They must keep reading:
//! a server disconnects a subscriber whose unread output passes its
//! `client-output-buffer-limit pubsub`, and that shows here as a shortfall
//! with the reason.
//!
//! Neighbours: [`crate::bench::runner`] starts them around each run;
//! [`crate::bench::reply`] delimits the messages (no allocation per message).

use crate::bench::conn::{text, Blocking, Endpoint, Handshake, Stream};
use crate::bench::reply;
use mio::{Events, Interest, Poll, Token};
use serde::{Deserialize, Serialize};
use std::io::{ErrorKind, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the subscribers of one run received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Messages each subscriber should have received: the PUBLISHes that got
    /// a reply other than an error.
    pub expected: u64,
    /// Messages each subscriber received, in connection order.
    pub received: Vec<u64>,
    /// Why a subscriber stopped reading early (the server closed it, ...).
    pub failure: Option<String>,
}

impl Delivery {
    /// Messages missing over all subscribers (0 when every one got them all).
    pub fn shortfall(&self) -> u64 {
        self.received
            .iter()
            .map(|&r| self.expected.saturating_sub(r))
            .sum()
    }

    /// One sentence for the output: all delivered, or what is missing.
    pub fn describe(&self) -> String {
        let n = self.received.len();
        let short = self.received.iter().filter(|&&r| r < self.expected).count();
        if short == 0 && self.failure.is_none() {
            return format!(
                "each of {n} subscribers received all {} messages",
                self.expected
            );
        }
        let min = self.received.iter().min().copied().unwrap_or(0);
        let mut s = format!(
            "{short} of {n} subscribers missed messages: {} of {} missing (the fewest received: {min})",
            self.shortfall(),
            self.expected * n as u64
        );
        if let Some(f) = &self.failure {
            s.push_str(&format!("; {f}"));
        }
        s
    }
}

/// Subscribers reading on their own thread.
pub struct Subscribers {
    counts: Arc<Vec<AtomicU64>>,
    stop: Arc<AtomicBool>,
    failure: Arc<Mutex<Option<String>>>,
    thread: Option<JoinHandle<()>>,
}

/// Give up waiting for the last messages after this long without progress.
pub const PATIENCE: Duration = Duration::from_secs(2);

const POLL_TICK: Duration = Duration::from_millis(20);

/// One subscriber connection on the reading thread.
struct Sub {
    stream: Stream,
    name: String,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Subscribers {
    /// Connect `count` subscribers to `ep`, SUBSCRIBE each to `channel` (its
    /// confirmation read before this returns), and start reading.
    pub fn start(
        ep: &Endpoint,
        hs: &Handshake,
        channel: &[u8],
        count: usize,
    ) -> Result<Subscribers, String> {
        let poll = Poll::new().map_err(|e| format!("cannot create an event loop: {e}"))?;
        let mut subs = Vec::with_capacity(count);
        for i in 0..count {
            let mut b = Blocking::connect(ep, hs)?;
            let reply = b.call(&[b"SUBSCRIBE".as_slice(), channel])?;
            if reply.is_error() {
                return Err(format!("SUBSCRIBE failed on {ep}: {}", text(&reply)));
            }
            let name = b.endpoint().to_string();
            let mut stream = b.into_stream()?;
            poll.registry()
                .register(&mut stream, Token(i), Interest::READABLE)
                .map_err(|e| format!("cannot watch a subscriber of {name}: {e}"))?;
            subs.push(Sub {
                stream,
                name,
                buf: vec![0; 64 * 1024],
                start: 0,
                end: 0,
            });
        }
        let counts: Arc<Vec<AtomicU64>> = Arc::new((0..count).map(|_| AtomicU64::new(0)).collect());
        let stop = Arc::new(AtomicBool::new(false));
        let failure = Arc::new(Mutex::new(None));
        let thread = {
            let (counts, stop, failure) = (counts.clone(), stop.clone(), failure.clone());
            std::thread::Builder::new()
                .name("subscribers".into())
                .spawn(move || {
                    if let Err(e) = read_all(poll, subs, &counts, &stop) {
                        if let Ok(mut f) = failure.lock() {
                            *f = Some(e);
                        }
                    }
                })
                .map_err(|e| format!("cannot start the subscriber thread: {e}"))?
        };
        Ok(Subscribers {
            counts,
            stop,
            failure,
            thread: Some(thread),
        })
    }

    fn received(&self) -> Vec<u64> {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// Wait until every subscriber received `expected` messages (or nothing
    /// arrived for [`PATIENCE`], or reading failed), then stop and tell.
    /// Waiting is needed: a server may reply to PUBLISH before every
    /// subscriber's copy is written (Shoal delivers through other shards).
    pub fn finish(mut self, expected: u64) -> Delivery {
        let mut last = self.received();
        let mut progress_at = Instant::now();
        loop {
            let done = last.iter().all(|&r| r >= expected);
            let failed = self.failure.lock().map(|f| f.is_some()).unwrap_or(true);
            if done || failed || progress_at.elapsed() >= PATIENCE {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
            let now = self.received();
            if now != last {
                last = now;
                progress_at = Instant::now();
            }
        }
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        Delivery {
            expected,
            received: self.received(),
            failure: self.failure.lock().ok().and_then(|f| f.clone()),
        }
    }
}

impl Drop for Subscribers {
    /// A run that failed drops its subscribers: stop the thread (it closes the connections).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The reading thread: count every `message` push until told to stop.
fn read_all(
    mut poll: Poll,
    mut subs: Vec<Sub>,
    counts: &[AtomicU64],
    stop: &AtomicBool,
) -> Result<(), String> {
    let mut events = Events::with_capacity(256);
    while !stop.load(Ordering::Relaxed) {
        match poll.poll(&mut events, Some(POLL_TICK)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("subscriber event loop failed: {e}")),
        }
        for ev in events.iter() {
            let i = ev.token().0;
            if let (Some(sub), Some(count)) = (subs.get_mut(i), counts.get(i)) {
                drain(sub, count)?;
            }
        }
    }
    Ok(())
}

/// Read everything the socket has (edge-triggered) and count whole messages.
fn drain(sub: &mut Sub, count: &AtomicU64) -> Result<(), String> {
    loop {
        if sub.end == sub.buf.len() {
            if sub.start > 0 {
                sub.buf.copy_within(sub.start..sub.end, 0);
                sub.end -= sub.start;
                sub.start = 0;
            } else {
                let len = sub.buf.len();
                sub.buf.resize(len * 2, 0);
            }
        }
        match sub
            .stream
            .read(sub.buf.get_mut(sub.end..).unwrap_or(&mut []))
        {
            Ok(0) => {
                return Err(format!(
                    "{} closed a subscriber's connection after {} messages (client-output-buffer-limit pubsub?)",
                    sub.name,
                    count.load(Ordering::Relaxed)
                ))
            }
            Ok(n) => sub.end += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("read from a subscriber of {} failed: {e}", sub.name)),
        }
        let mut messages = 0u64;
        while sub.start < sub.end {
            let buf = sub.buf.get(sub.start..sub.end).unwrap_or(&[]);
            let Some(s) = reply::scan(buf).map_err(|e| format!("{}: {e}", sub.name))? else {
                break;
            };
            if is_message(buf.get(..s.len).unwrap_or(&[])) {
                messages += 1;
            }
            sub.start += s.len;
        }
        if sub.start == sub.end {
            sub.start = 0;
            sub.end = 0;
        }
        count.fetch_add(messages, Ordering::Relaxed);
    }
}

/// A `message` push: `*3` (RESP2) or `>3` (RESP3), then the bulk `message`.
fn is_message(reply: &[u8]) -> bool {
    reply
        .get(1..)
        .is_some_and(|r| r.starts_with(b"3\r\n$7\r\nmessage\r\n"))
        && matches!(reply.first(), Some(b'*' | b'>'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_messages_in_both_protocols() {
        assert!(is_message(b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nx\r\n"));
        assert!(is_message(b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nx\r\n"));
        assert!(!is_message(b"*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"));
        assert!(!is_message(b"+OK\r\n"));
    }

    #[test]
    fn delivery_reports_the_shortfall() {
        let all = Delivery {
            expected: 100,
            received: vec![100, 100],
            failure: None,
        };
        assert_eq!(all.shortfall(), 0);
        assert_eq!(
            all.describe(),
            "each of 2 subscribers received all 100 messages"
        );
        let short = Delivery {
            expected: 100,
            received: vec![100, 90, 40],
            failure: Some("x closed".into()),
        };
        assert_eq!(short.shortfall(), 70);
        assert_eq!(
            short.describe(),
            "2 of 3 subscribers missed messages: 70 of 300 missing (the fewest received: 40); x closed"
        );
    }
}
