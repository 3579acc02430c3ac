//! SCAN's options, and for HSCAN / SSCAN (later ZSCAN) the reply shape
//! and dict walk shared by the element-scanning commands (Redis's
//! `scanGenericCommand` with an object). Compact encodings are returned whole with cursor 0, as Redis
//! does; hashtables are walked with the dict's reverse-binary cursor.
//!
//! Order of checks, as in Redis: the cursor, then the key (missing → empty
//! scan, wrong type → WRONGTYPE), then the options.

use super::args::{is, parse_i64, Args};
use super::errors::{self, CmdResult};
use crate::glob;
use crate::keyspace::dict::{Dict, Keyed};
use resp::{ReplyWriter, Request};

/// Parsed options of an element scan.
#[derive(Clone, Debug)]
pub struct ElemScanOpts {
    /// COUNT (buckets' worth of work per call).
    pub count: usize,
    /// MATCH pattern, if not `*`.
    pub pattern: Option<Vec<u8>>,
    /// NOVALUES (HSCAN only).
    pub novalues: bool,
    /// TYPE, lowercased (SCAN only).
    pub type_name: Option<Vec<u8>>,
}

/// The option a command accepts beyond MATCH and COUNT.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    /// None (SSCAN).
    None,
    /// `TYPE type` (SCAN).
    Type,
    /// `NOVALUES` (HSCAN; Redis 7.4 / Valkey 8).
    NoValues,
}

/// Parse the options from `start`.
pub fn parse(req: &Request, start: usize, extra: Extra) -> CmdResult<ElemScanOpts> {
    let mut o = ElemScanOpts {
        count: 10,
        pattern: None,
        novalues: false,
        type_name: None,
    };
    let mut a = Args::new(req, start);
    while let Ok(opt) = a.next() {
        if extra == Extra::NoValues && is(opt, "NOVALUES") {
            o.novalues = true;
            continue;
        }
        if a.is_empty() {
            return Err(errors::SYNTAX);
        }
        if is(opt, "COUNT") {
            let c = parse_i64(a.next()?)?;
            if c < 1 {
                return Err(errors::SYNTAX);
            }
            o.count = usize::try_from(c).unwrap_or(usize::MAX);
        } else if is(opt, "MATCH") {
            let p = a.next()?;
            o.pattern = (p != b"*").then(|| p.to_vec());
        } else if extra == Extra::Type && is(opt, "TYPE") {
            o.type_name = Some(a.next()?.to_ascii_lowercase());
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(o)
}

impl ElemScanOpts {
    /// True when `elem` passes MATCH.
    pub fn keep(&self, elem: &[u8]) -> bool {
        self.pattern
            .as_deref()
            .is_none_or(|p| glob::matches(p, elem, false))
    }
}

/// Walk `dict` from `cursor` until about `count` entries were collected
/// (at most `count * 10` buckets, Redis's bound); returns the next cursor.
pub fn walk<E: Keyed>(dict: &Dict<E>, cursor: u64, count: usize, mut f: impl FnMut(&E)) -> u64 {
    let mut cur = cursor;
    let mut seen = 0usize;
    let mut buckets = count.saturating_mul(10);
    loop {
        cur = dict.scan(cur, |e| {
            seen += 1;
            f(e)
        });
        buckets = buckets.saturating_sub(1);
        if cur == 0 || seen >= count || buckets == 0 {
            return cur;
        }
    }
}

/// The reply: the next cursor as a bulk string, then the elements.
pub fn reply(w: &mut ReplyWriter<'_>, cursor: u64, elems: &[Vec<u8>]) {
    w.array(2);
    w.bulk(cursor.to_string().as_bytes());
    w.array(elems.len());
    for e in elems {
        w.bulk(e);
    }
}

/// The reply for a missing key.
pub fn empty(w: &mut ReplyWriter<'_>) {
    reply(w, 0, &[]);
}

/// Run HSCAN / SSCAN / ZSCAN: parse the cursor and options, look the key
/// up as `T`, and let `scan` fill the elements and return the next cursor.
pub fn run<T, F>(ctx: &mut super::ctx::Ctx<'_>, req: &Request, extra: Extra, scan: F) -> CmdResult
where
    T: super::access::Typed,
    F: FnOnce(T::Ref<'_>, u64, &ElemScanOpts, &mut Vec<Vec<u8>>) -> u64 + Send + 'static,
{
    let cursor = super::args::parse_cursor(req.arg(2))?;
    let opts = parse(req, 3, extra);
    super::access::with::<T, _>(ctx, req, move |v, w| {
        let Some(v) = v else {
            return empty(w);
        };
        let opts = match opts {
            Ok(o) => o,
            Err(e) => return super::access::err(w, &e),
        };
        let mut out = Vec::new();
        let next = scan(v, cursor, &opts, &mut out);
        reply(w, next, &out);
    });
    Ok(())
}
