//! LCS: the longest common subsequence of two string values, with Redis's
//! LEN / IDX / MINMATCHLEN / WITHMATCHLEN reply forms.
//!
//! The two values are read on their shards (under shared intent locks when
//! the keys live on different shards), then the dynamic-programming table
//! is built and walked back from the end, emitting matched ranges from the
//! last to the first — the order Redis replies in.

use super::args::{is, parse_i64, Args};
use super::ctx::{encode, Ctx};
use super::errors::{self, CmdError, CmdResult};
use crate::keyspace::{Db, Value};
use crate::shard::locks::{LockSet, Mode};
use crate::shard::tx::{self, Part};
use resp::{ReplyWriter, Request};

#[derive(Clone, Copy, Debug, Default)]
struct LcsOpts {
    len: bool,
    idx: bool,
    withmatchlen: bool,
    minmatchlen: u64,
}

fn parse(req: &Request) -> CmdResult<LcsOpts> {
    let mut o = LcsOpts::default();
    let mut a = Args::new(req, 3);
    while !a.is_empty() {
        let opt = a.next()?;
        if is(opt, "IDX") {
            o.idx = true;
        } else if is(opt, "LEN") {
            o.len = true;
        } else if is(opt, "WITHMATCHLEN") {
            o.withmatchlen = true;
        } else if is(opt, "MINMATCHLEN") && !a.is_empty() {
            o.minmatchlen = u64::try_from(parse_i64(a.next()?)?).unwrap_or(0);
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(o)
}

/// One side of the comparison: the string, or an error for a wrong type.
type Side = Result<Vec<u8>, ()>;

fn read_side(db: &mut Db, key: &[u8], now: i64) -> Side {
    match db.read(key, now, true) {
        None => Ok(Vec::new()),
        Some(e) => match e.value() {
            Value::Str(s) => Ok(s.as_bytes().into_owned()),
            _ => Err(()),
        },
    }
}

/// Compute and write the reply.
fn reply(w: &mut ReplyWriter<'_>, a: Side, b: Side, o: LcsOpts, max_table: i64) {
    let (Ok(a), Ok(b)) = (a, b) else {
        w.error(b"ERR The specified keys must contain string values");
        return;
    };
    if o.idx && o.len {
        w.error(b"ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    let (alen, blen) = (a.len(), b.len());
    if alen >= (u32::MAX - 1) as usize || blen >= (u32::MAX - 1) as usize {
        w.error(b"ERR String too long for LCS");
        return;
    }
    let cells = (alen + 1).saturating_mul(blen + 1);
    if cells.saturating_mul(4) > usize::try_from(max_table).unwrap_or(usize::MAX) {
        w.error(b"ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    // table[i * (blen + 1) + j] = LCS length of a[..i] and b[..j].
    let width = blen + 1;
    let mut table = vec![0u32; cells];
    for i in 1..=alen {
        for j in 1..=blen {
            let v = if a.get(i - 1) == b.get(j - 1) {
                table.get((i - 1) * width + j - 1).copied().unwrap_or(0) + 1
            } else {
                let up = table.get((i - 1) * width + j).copied().unwrap_or(0);
                let left = table.get(i * width + j - 1).copied().unwrap_or(0);
                up.max(left)
            };
            if let Some(c) = table.get_mut(i * width + j) {
                *c = v;
            }
        }
    }
    let at = |i: usize, j: usize| table.get(i * width + j).copied().unwrap_or(0);
    let total = at(alen, blen);
    if o.len && !o.idx {
        w.int(i64::from(total));
        return;
    }

    // Walk back from the end, collecting the subsequence and the ranges.
    let mut result = vec![0u8; total as usize];
    let mut ranges: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut range: Option<(usize, usize, usize, usize)> = None; // (a_start, a_end, b_start, b_end)
    let (mut i, mut j, mut k) = (alen, blen, total as usize);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a.get(i - 1) == b.get(j - 1) {
            if let Some(slot) = result.get_mut(k.wrapping_sub(1)) {
                *slot = a.get(i - 1).copied().unwrap_or(0);
            }
            match range.as_mut() {
                None => range = Some((i - 1, i - 1, j - 1, j - 1)),
                Some(r) if r.0 == i && r.2 == j => {
                    r.0 -= 1;
                    r.2 -= 1;
                }
                Some(_) => emit = true,
            }
            if range.is_some_and(|r| r.0 == 0 || r.2 == 0) {
                emit = true;
            }
            k = k.wrapping_sub(1);
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            if range.is_some() {
                emit = true;
            }
        }
        if emit {
            if let Some(r) = range.take() {
                let len = (r.1 - r.0 + 1) as u64;
                if o.minmatchlen == 0 || len >= o.minmatchlen {
                    ranges.push(r);
                }
            }
        }
    }
    if !o.idx {
        w.bulk(&result);
        return;
    }
    w.map(2);
    w.bulk(b"matches");
    w.array(ranges.len());
    for (a0, a1, b0, b1) in ranges {
        w.array(if o.withmatchlen { 3 } else { 2 });
        w.array(2);
        w.int(a0 as i64);
        w.int(a1 as i64);
        w.array(2);
        w.int(b0 as i64);
        w.int(b1 as i64);
        if o.withmatchlen {
            w.int((a1 - a0 + 1) as i64);
        }
    }
    w.bulk(b"len");
    w.int(i64::from(total));
}

/// The LCS handler.
pub fn handle(ctx: &mut Ctx<'_>, req: &Request) -> CmdResult {
    let opts = parse(req)?;
    let k1 = req.arg_bytes(1);
    let k2 = req.arg_bytes(2);
    let db = ctx.db();
    let max = ctx.shard.state.borrow().config.proto_max_bulk_len;
    let (s1, s2) = (ctx.owner(&k1), ctx.owner(&k2));
    if s1 == s2 {
        let keys = [k1.clone(), k2.clone()];
        ctx.run(s1, &keys, move |x| {
            let now = x.now;
            let (d, w) = x.split();
            let a = read_side(d, &k1, now);
            let b = read_side(d, &k2, now);
            reply(w, a, b, opts, max);
        });
        return Ok(());
    }
    let parts = vec![
        Part {
            shard: s1,
            locks: LockSet::of_keys(db, [&k1[..]], Mode::Read),
            op: Box::new(move |st, now| read_side(st.db(db), &k1, now)),
        },
        Part {
            shard: s2,
            locks: LockSet::of_keys(db, [&k2[..]], Mode::Read),
            op: Box::new(move |st, now| read_side(st.db(db), &k2, now)),
        },
    ];
    let home = ctx.shard.clone();
    let owner = ctx.lock_owner();
    let proto = ctx.proto();
    ctx.run_async(async move {
        match tx::run(&home, owner, parts).await {
            Ok(mut sides) if sides.len() == 2 => {
                let b = sides.pop().unwrap_or(Err(()));
                let a = sides.pop().unwrap_or(Err(()));
                encode(proto, |w| reply(w, a, b, opts, max))
            }
            _ => encode(proto, |w| {
                w.error(CmdError::fixed("ERR shard unavailable").text().as_bytes())
            }),
        }
    });
    Ok(())
}
