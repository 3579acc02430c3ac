//! Blocking pops: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP on lists, BZPOPMIN
//! BZPOPMAX BZMPOP on sorted sets.
//!
//! The command's future visits its keys in argument order on their owner
//! shards ([`blocking::try_or_register`]): the first non-empty list is
//! popped at once; empty ones register the client as a waiter. If nothing
//! was popped, the future waits for a delivery (a push served it,
//! [`blocking::signal`]) or the timeout. The pipeline behind it waits too,
//! as a blocked Redis client's does. Mechanism: [`crate::shard::blocking`].

use super::args::{long_double_valid, strtod_exact};
use super::ctx::{encode, Ctx};
use super::errors::{self, CmdError, CmdResult};
use super::list::{parse_mpop, parse_side, reply_mpop, MpopArgs};
use super::spec::{acl, flags::*, CommandSpec, KeySpecDef};
use crate::shard::blocking::{self, Attempt, Claim, Delivery, MoveCmd, PopOp, Waiter};
use crate::shard::Shard;
use bytes::Bytes;
use resp::{Proto, ReplyWriter, Request};
use std::rc::Rc;
use std::time::Duration;

/// Parse a blocking timeout in seconds (Redis's `getTimeoutFromObjectOrReply`):
/// `None` blocks forever.
pub fn parse_timeout(arg: &[u8]) -> CmdResult<Option<Duration>> {
    let secs = long_double_valid(arg)
        .then(|| strtod_exact(arg))
        .flatten()
        .ok_or(errors::TIMEOUT_NOT_FLOAT)?;
    let ms = (secs * 1000.0).ceil();
    if ms > i64::MAX as f64 {
        return Err(CmdError::fixed("ERR timeout is out of range"));
    }
    if ms < 0.0 {
        return Err(CmdError::fixed("ERR timeout is negative"));
    }
    Ok((ms > 0.0).then(|| Duration::from_millis(ms as u64)))
}

/// What the client asked for, and how its reply looks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// BLPOP / BRPOP: `[key, element]`.
    KeyElem,
    /// BLMOVE / BRPOPLPUSH: the element.
    Elem,
    /// BLMOVE / BRPOPLPUSH inside EXEC: the element, or a null (bulk)
    /// rather than a timeout's null array when there is none.
    ElemNoBlock,
    /// BLMPOP: `[key, [elements]]`.
    KeyElems,
    /// BZPOPMIN / BZPOPMAX: `[key, member, score]`.
    KeyMemberScore,
    /// BZMPOP: `[key, [[member, score], ...]]`.
    KeyPairs,
}

/// Member/score pairs from a delivery's alternating items.
fn pairs_of(items: &[Vec<u8>]) -> Vec<(Vec<u8>, f64)> {
    items
        .chunks_exact(2)
        .filter_map(|c| match c {
            [m, s] => Some((m.clone(), std::str::from_utf8(s).ok()?.parse().ok()?)),
            _ => None,
        })
        .collect()
}

/// Every blocking list command times out with the null array, BLMOVE too;
/// inside EXEC, BLMOVE answers an empty source with a null bulk.
fn reply_timeout(w: &mut ReplyWriter<'_>, shape: Shape) {
    if shape == Shape::ElemNoBlock {
        w.null();
    } else {
        w.null_array();
    }
}

fn reply_items(w: &mut ReplyWriter<'_>, shape: Shape, key: &[u8], items: Vec<Vec<u8>>) {
    match shape {
        Shape::KeyElem => {
            w.array(2);
            w.bulk(key);
            w.bulk(items.first().map_or(&[][..], |v| &v[..]));
        }
        Shape::Elem | Shape::ElemNoBlock => match items.first() {
            Some(v) => w.bulk(v),
            None => w.null(),
        },
        Shape::KeyElems => reply_mpop(w, Ok(Some((Bytes::copy_from_slice(key), items)))),
        Shape::KeyMemberScore => {
            let pairs = pairs_of(&items);
            let Some((m, s)) = pairs.first() else {
                return w.null_array();
            };
            w.array(3);
            w.bulk(key);
            w.bulk(m);
            w.double(*s);
        }
        Shape::KeyPairs => {
            w.array(2);
            w.bulk(key);
            super::zset::reply_pair_list(w, &pairs_of(&items));
        }
    }
}

/// The registrations of one blocked command, undone however it ends.
struct Blocked {
    shard: Rc<Shard>,
    token: u64,
    claim: Claim,
    db: usize,
    registered: Vec<Bytes>,
    done: bool,
}

impl Blocked {
    /// Stop waiting: drop the registrations and, unless this command
    /// popped directly (`popped`, its own claim), take the claim back if
    /// nobody has it; returns a delivery that is there or on its way.
    async fn finish(mut self, popped: bool) -> Option<Delivery> {
        self.done = true;
        blocking::unregister_all(&self.shard, self.token, self.db, &self.registered);
        if popped || blocking::take(&self.claim) {
            self.shard.state.borrow_mut().blocking.close(self.token);
            return None;
        }
        // Served meanwhile: the delivery is coming, if not here already.
        blocking::wait(&self.shard, self.token, None).await;
        self.shard.state.borrow_mut().blocking.close(self.token)
    }
}

impl Drop for Blocked {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // The client went away while blocked: nobody may serve it any more;
        // a delivery already on its way finds no slot and is given back.
        blocking::unregister_all(&self.shard, self.token, self.db, &self.registered);
        blocking::take(&self.claim);
        if let Some(d) = self.shard.state.borrow_mut().blocking.close(self.token) {
            blocking::give_back(&self.shard, d);
        }
    }
}

/// Push a moved element onto its destination (on the destination's shard).
async fn push_moved(shard: &Rc<Shard>, db: usize, d: &Delivery) -> CmdResult {
    let PopOp::Move { to_left, dst, .. } = &d.op else {
        return Ok(());
    };
    let (dst, left, items) = (dst.clone(), *to_left, d.items.clone());
    let ok = shard
        .call(shard.owner(&dst), move |s| {
            let now = crate::clock::now_ms();
            let mut st = s.state.borrow_mut();
            let lim = st.config.limits.list;
            let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
            let d = st.db(db);
            let ok = blocking::push_items(d, &dst, &refs, left, now, lim).is_some();
            if ok {
                d.notify(
                    crate::keyspace::events::LIST,
                    blocking::push_event(left),
                    &dst,
                );
                // The source's shard logged the pop; this is the push.
                blocking::log_push(&mut st, db, &dst, &refs, left);
                blocking::signal(&mut st, db, &dst, now);
            }
            drop(st);
            crate::shard::flush_outbox(s);
            ok
        })
        .await
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(errors::WRONGTYPE)
    }
}

/// With `appendfsync always`, wait until shard `on` may acknowledge
/// everything its log holds so far: the record of a pop it served to this
/// client (logged there, right after the push that served it) is among
/// it. False when it cannot be made durable (the reply must not claim the
/// pop).
async fn logged(shard: &Rc<Shard>, on: usize) -> bool {
    if !shard.state.borrow().aof.acks_wait() {
        return true;
    }
    shard
        .call_async(
            on,
            |s| async move { crate::aof::ack_logged(&s).await.is_ok() },
        )
        .await
        .unwrap_or(false)
}

/// For a move, the push's record too (on the destination's shard).
async fn moved_logged(shard: &Rc<Shard>, d: &Delivery) -> bool {
    match &d.op {
        PopOp::Move { dst, .. } => logged(shard, shard.owner(dst)).await,
        _ => true,
    }
}

/// Run a blocking pop over `keys` and encode its reply.
#[allow(clippy::too_many_arguments)]
async fn run_blocking(
    shard: Rc<Shard>,
    client: u64,
    db: usize,
    keys: Vec<Bytes>,
    op: PopOp,
    timeout: Option<Duration>,
    shape: Shape,
    proto: Proto,
) -> Vec<u8> {
    let token = shard.state.borrow_mut().blocking.open(client);
    let mut b = Blocked {
        shard: shard.clone(),
        token,
        claim: Claim::default(),
        db,
        registered: Vec::new(),
        done: false,
    };
    let mut outcome: Option<CmdResult<Delivery>> = None;
    for key in &keys {
        let waiter = Waiter {
            claim: b.claim.clone(),
            home: shard.id,
            token,
            op: op.clone(),
        };
        let k = key.clone();
        let r = shard
            .call(shard.owner(key), move |s| {
                let now = crate::clock::now_ms();
                let r = blocking::try_or_register(&mut s.state.borrow_mut(), db, &k, waiter, now);
                crate::shard::flush_outbox(s);
                r
            })
            .await
            .unwrap_or(Attempt::Claimed);
        match r {
            Attempt::Registered => b.registered.push(key.clone()),
            Attempt::Claimed => break,
            Attempt::WrongType => {
                outcome = Some(Err(errors::WRONGTYPE));
                break;
            }
            Attempt::Popped {
                items,
                push_pending,
            } => {
                outcome = Some(Ok(Delivery {
                    db,
                    key: key.clone(),
                    items,
                    push_pending,
                    op: op.clone(),
                    wrongtype: false,
                }));
                break;
            }
        }
    }
    let outcome = match outcome {
        Some(Ok(d)) => {
            // Popped directly: whatever registered before is withdrawn.
            if let Some(late) = b.finish(true).await {
                blocking::give_back(&shard, late);
            }
            Some(Ok(d))
        }
        Some(Err(e)) => {
            if let Some(late) = b.finish(false).await {
                blocking::give_back(&shard, late);
            }
            Some(Err(e))
        }
        None => {
            blocking::wait(&shard, token, timeout).await;
            let unblocked = shard.state.borrow().blocking.unblocked(token);
            match (b.finish(false).await, unblocked) {
                (Some(d), _) => Some(Ok(d)),
                (None, Some(true)) => Some(Err(CmdError::fixed(
                    "UNBLOCKED client unblocked via CLIENT UNBLOCK",
                ))),
                (None, _) => None,
            }
        }
    };
    let result = match outcome {
        None => return encode(proto, |w| reply_timeout(w, shape)),
        Some(Err(e)) => Err(e),
        Some(Ok(d)) if d.wrongtype => Err(errors::WRONGTYPE),
        Some(Ok(d)) => {
            if d.push_pending {
                push_moved(&shard, db, &d).await.map(|_| d)
            } else {
                Ok(d)
            }
        }
    };
    if let Ok(d) = &result {
        if !logged(&shard, shard.owner(&d.key)).await || !moved_logged(&shard, d).await {
            return crate::aof::failed_reply(&shard, proto);
        }
    }
    encode(proto, |w| match result {
        Ok(d) => reply_items(w, shape, &d.key, d.items),
        Err(e) => w.error(e.text().as_bytes()),
    })
}

fn start(ctx: &mut Ctx<'_>, keys: Vec<Bytes>, op: PopOp, timeout: Option<Duration>, shape: Shape) {
    let shard = ctx.shard.clone();
    let (db, proto, client) = (ctx.db(), ctx.proto(), ctx.conn.id);
    // Inside EXEC nothing blocks: an empty key times out at once, as in Redis.
    let (timeout, shape) = match (ctx.conn.exec_owner != 0, shape) {
        (false, shape) => (timeout, shape),
        (true, Shape::Elem) => (Some(Duration::ZERO), Shape::ElemNoBlock),
        (true, shape) => (Some(Duration::ZERO), shape),
    };
    ctx.run_blocking(run_blocking(
        shard, client, db, keys, op, timeout, shape, proto,
    ));
}

/// BLPOP / BRPOP / BZPOPMIN / BZPOPMAX: `key [key ...] timeout`.
fn keys_then_timeout(ctx: &mut Ctx<'_>, req: &Request, op: PopOp, shape: Shape) -> CmdResult {
    let timeout = parse_timeout(req.arg(req.len() - 1))?;
    let keys = (1..req.len() - 1).map(|i| req.arg_bytes(i)).collect();
    start(ctx, keys, op, timeout, shape);
    Ok(())
}

fn bpop(ctx: &mut Ctx<'_>, req: &Request, left: bool) -> CmdResult {
    keys_then_timeout(ctx, req, PopOp::Pop { left, count: None }, Shape::KeyElem)
}

fn blpop(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    bpop(ctx, req, true)
}

fn brpop(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    bpop(ctx, req, false)
}

fn bmove(
    ctx: &mut Ctx<'_>,
    req: &Request,
    from_left: bool,
    to_left: bool,
    logged_as: MoveCmd,
) -> CmdResult {
    let timeout_arg = match logged_as {
        MoveCmd::Lmove => 5,
        MoveCmd::Rpoplpush => 3,
    };
    let timeout = parse_timeout(req.arg(timeout_arg))?;
    let op = PopOp::Move {
        from_left,
        to_left,
        dst: req.arg_bytes(2),
        logged_as,
    };
    start(ctx, vec![req.arg_bytes(1)], op, timeout, Shape::Elem);
    Ok(())
}

fn blmove(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let (from_left, to_left) = (parse_side(req.arg(3))?, parse_side(req.arg(4))?);
    bmove(ctx, req, from_left, to_left, MoveCmd::Lmove)
}

fn brpoplpush(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    bmove(ctx, req, false, true, MoveCmd::Rpoplpush)
}

fn bzpop(ctx: &mut Ctx<'_>, req: &Request, max: bool) -> CmdResult {
    keys_then_timeout(
        ctx,
        req,
        PopOp::ZPop { max, count: None },
        Shape::KeyMemberScore,
    )
}

fn bzpopmin(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    bzpop(ctx, req, false)
}

fn bzpopmax(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    bzpop(ctx, req, true)
}

fn bzmpop(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let timeout = parse_timeout(req.arg(1))?;
    let a = super::zset_multi::parse_zmpop(req, 2)?;
    start(
        ctx,
        a.keys,
        PopOp::ZPop {
            max: a.max,
            count: Some(a.count),
        },
        timeout,
        Shape::KeyPairs,
    );
    Ok(())
}

fn blmpop(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let timeout = parse_timeout(req.arg(1))?;
    let MpopArgs { keys, left, count } = parse_mpop(req, 2)?;
    start(
        ctx,
        keys,
        PopOp::Pop {
            left,
            count: Some(count),
        },
        timeout,
        Shape::KeyElems,
    );
    Ok(())
}

// ---- table ----

const L: u32 = acl::LIST;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("blpop", -3, blpop)
        .flags(WRITE | NOSCRIPT | BLOCKING)
        .acl(L)
        .keys(1, -2, 1)
        .key_specs(&[KeySpecDef::range(&["RW", "ACCESS", "DELETE"], 1, -2, 1, 0)])
        .doc("list", "2.0.0", "Removes and returns the first element in a list, blocking until one is available."),
    CommandSpec::new("brpop", -3, brpop)
        .flags(WRITE | NOSCRIPT | BLOCKING)
        .acl(L)
        .keys(1, -2, 1)
        .key_specs(&[KeySpecDef::range(&["RW", "ACCESS", "DELETE"], 1, -2, 1, 0)])
        .doc("list", "2.0.0", "Removes and returns the last element in a list, blocking until one is available."),
    CommandSpec::new("blmove", 6, blmove)
        .flags(WRITE | DENYOOM | NOSCRIPT | BLOCKING)
        .acl(L)
        .keys(1, 2, 1)
        .key_specs(&[
            KeySpecDef::range(&["RW", "ACCESS", "DELETE"], 1, 0, 1, 0),
            KeySpecDef::range(&["RW", "INSERT"], 2, 0, 1, 0),
        ])
        .doc("list", "6.2.0", "Pops an element from a list, pushes it to another list, blocking until one is available."),
    CommandSpec::new("brpoplpush", 4, brpoplpush)
        .flags(WRITE | DENYOOM | NOSCRIPT | BLOCKING)
        .acl(L)
        .keys(1, 2, 1)
        .key_specs(&[
            KeySpecDef::range(&["RW", "ACCESS", "DELETE"], 1, 0, 1, 0),
            KeySpecDef::range(&["RW", "INSERT"], 2, 0, 1, 0),
        ])
        .doc("list", "2.2.0", "Pops the last element of a list, pushes it to another list, blocking until one is available."),
    CommandSpec::new("blmpop", -5, blmpop)
        .flags(WRITE | BLOCKING | MOVABLE_KEYS)
        .acl(L)
        .keys(0, 0, 0)
        .key_specs(&[KeySpecDef::keynum(&["RW", "ACCESS", "DELETE"], 2, 0, 1, 1)])
        .doc("list", "7.0.0", "Pops elements from the first non-empty list, blocking until one is available."),
    CommandSpec::new("bzpopmin", -3, bzpopmin)
        .flags(WRITE | NOSCRIPT | FAST | BLOCKING)
        .acl(acl::SORTEDSET)
        .keys(1, -2, 1)
        .key_specs(&[KeySpecDef::range(&["RW", "ACCESS", "DELETE"], 1, -2, 1, 0)])
        .doc("sorted_set", "5.0.0", "Removes and returns the member with the lowest score from one or more sorted sets, blocking until one is available."),
    CommandSpec::new("bzpopmax", -3, bzpopmax)
        .flags(WRITE | NOSCRIPT | FAST | BLOCKING)
        .acl(acl::SORTEDSET)
        .keys(1, -2, 1)
        .key_specs(&[KeySpecDef::range(&["RW", "ACCESS", "DELETE"], 1, -2, 1, 0)])
        .doc("sorted_set", "5.0.0", "Removes and returns the member with the highest score from one or more sorted sets, blocking until one is available."),
    CommandSpec::new("bzmpop", -5, bzmpop)
        .flags(WRITE | BLOCKING | MOVABLE_KEYS)
        .acl(acl::SORTEDSET)
        .keys(0, 0, 0)
        .key_specs(&[KeySpecDef::keynum(&["RW", "ACCESS", "DELETE"], 2, 0, 1, 1)])
        .doc("sorted_set", "7.0.0", "Removes and returns members by score from one or more sorted sets, blocking until one is available."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_like_redis() {
        assert_eq!(parse_timeout(b"0").unwrap(), None);
        assert_eq!(
            parse_timeout(b"0.5").unwrap(),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_timeout(b"0.0001").unwrap(),
            Some(Duration::from_millis(1))
        );
        assert_eq!(parse_timeout(b"x"), Err(errors::TIMEOUT_NOT_FLOAT));
        assert!(parse_timeout(b"-1").is_err());
        assert!(parse_timeout(b"1e30").is_err());
    }
}
