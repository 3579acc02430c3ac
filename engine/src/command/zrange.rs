//! The ZRANGE family's grammar and selection, shared by ZRANGE and its
//! older forms, ZRANGESTORE, ZCOUNT/ZLEXCOUNT and the ZREMRANGEBY*
//! commands: score bounds (`(1.5`, `-inf`), lex bounds (`[a`, `-`),
//! rank/score/lex ranges with REV and LIMIT, and the reply shapes.

use super::args::{is, parse_i64, strtod_exact};
use super::errors::{self, CmdError, CmdResult};
use super::list::clamp_range;
use crate::keyspace::zset::Pair;
use crate::keyspace::ZSetVal;
use resp::{Proto, ReplyWriter, Request};

/// A score, or "not a valid float" (NaN included).
pub fn parse_score(b: &[u8]) -> CmdResult<f64> {
    strtod_exact(b)
        .filter(|v| !v.is_nan())
        .ok_or(errors::NOT_FLOAT)
}

/// One end of a BYSCORE range.
#[derive(Clone, Copy, Debug)]
pub struct ScoreBound {
    pub v: f64,
    pub excl: bool,
}

/// `1.5`, `(1.5`, `-inf`, `+inf`.
pub fn parse_score_bound(b: &[u8]) -> CmdResult<ScoreBound> {
    let (excl, body) = match b.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, b),
    };
    let v = strtod_exact(body)
        .filter(|v| !v.is_nan())
        .ok_or(CmdError::fixed("ERR min or max is not a float"))?;
    Ok(ScoreBound { v, excl })
}

/// One end of a BYLEX range.
#[derive(Clone, Debug)]
pub enum LexBound {
    Min,
    Max,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

/// `-`, `+`, `[a`, `(a`.
pub fn parse_lex_bound(b: &[u8]) -> CmdResult<LexBound> {
    match b.split_first() {
        Some((b'-', [])) => Ok(LexBound::Min),
        Some((b'+', [])) => Ok(LexBound::Max),
        Some((b'[', rest)) => Ok(LexBound::Incl(rest.to_vec())),
        Some((b'(', rest)) => Ok(LexBound::Excl(rest.to_vec())),
        _ => Err(CmdError::fixed(
            "ERR min or max not valid string range item",
        )),
    }
}

/// What a range selects.
#[derive(Clone, Debug)]
pub enum RangeKind {
    /// Positions `start..=stop` (Redis indexes, negative from the end).
    Rank(i64, i64),
    /// Scores between two bounds (min, max).
    Score(ScoreBound, ScoreBound),
    /// Members between two bounds (min, max).
    Lex(LexBound, LexBound),
}

/// A parsed ZRANGE-family request.
#[derive(Clone, Debug)]
pub struct RangeSpec {
    pub kind: RangeKind,
    pub rev: bool,
    pub limit: Option<(i64, i64)>,
    pub withscores: bool,
}

/// Positions `[lo, hi)` (ascending) of the members in the score range.
pub fn score_span(z: &ZSetVal, min: ScoreBound, max: ScoreBound) -> (usize, usize) {
    let lo = z.count_while(|s, _| s < min.v || (min.excl && s == min.v));
    let hi = z.count_while(|s, _| s < max.v || (!max.excl && s == max.v));
    (lo, hi.max(lo))
}

fn below_min(m: &[u8], min: &LexBound) -> bool {
    match min {
        LexBound::Min => false,
        LexBound::Max => true,
        LexBound::Incl(b) => m < &b[..],
        LexBound::Excl(b) => m <= &b[..],
    }
}

fn within_max(m: &[u8], max: &LexBound) -> bool {
    match max {
        LexBound::Min => false,
        LexBound::Max => true,
        LexBound::Incl(b) => m <= &b[..],
        LexBound::Excl(b) => m < &b[..],
    }
}

/// Positions `[lo, hi)` of the members in the lex range.
pub fn lex_span(z: &ZSetVal, min: &LexBound, max: &LexBound) -> (usize, usize) {
    let lo = z.count_while(|_, m| below_min(m, min));
    let hi = z.count_while(|_, m| within_max(m, max));
    (lo, hi.max(lo))
}

/// The members a range selects, in reply order.
pub fn select(z: &ZSetVal, spec: &RangeSpec) -> Vec<Pair> {
    let len = z.len();
    let (lo, hi) = match &spec.kind {
        RangeKind::Rank(start, stop) => {
            let Some((s, e)) = clamp_range(*start, *stop, len) else {
                return Vec::new();
            };
            if spec.rev {
                (len - 1 - e, len - s)
            } else {
                (s, e + 1)
            }
        }
        RangeKind::Score(min, max) => score_span(z, *min, *max),
        RangeKind::Lex(min, max) => lex_span(z, min, max),
    };
    let (offset, count) = spec.limit.unwrap_or((0, -1));
    if offset < 0 || lo >= hi {
        return Vec::new();
    }
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let n = (hi - lo).saturating_sub(offset).min(count);
    if n == 0 {
        return Vec::new();
    }
    if spec.rev {
        let top = hi - 1 - offset;
        let mut v = z.range(top + 1 - n, top);
        v.reverse();
        v
    } else {
        z.range(lo + offset, lo + offset + n - 1)
    }
}

/// Reply with members, with their scores when asked (RESP3: pairs).
pub fn reply_pairs(w: &mut ReplyWriter<'_>, items: &[Pair], withscores: bool) {
    if !withscores {
        w.array(items.len());
        for (m, _) in items {
            w.bulk(m);
        }
    } else if w.proto() == Proto::Resp3 {
        w.array(items.len());
        for (m, s) in items {
            w.array(2);
            w.bulk(m);
            w.double(*s);
        }
    } else {
        w.array(items.len() * 2);
        for (m, s) in items {
            w.bulk(m);
            w.double(*s);
        }
    }
}

/// Parse a ZRANGE-family request: `min max` at `first`, options after.
/// `by` presets BYSCORE/BYLEX for the old commands; `rev` likewise.
pub fn parse_range(
    req: &Request,
    first: usize,
    by: Option<&str>,
    rev: bool,
    name: &str,
) -> CmdResult<RangeSpec> {
    let mut spec_by = by.map(str::to_string);
    let mut rev = rev;
    let mut limit = None;
    let mut withscores = false;
    let mut i = first + 2;
    let modern = name == "zrange" || name == "zrangestore";
    while i < req.len() {
        let a = req.arg(i);
        if is(a, "WITHSCORES") {
            withscores = true;
        } else if is(a, "LIMIT") && i + 2 < req.len() {
            limit = Some((parse_i64(req.arg(i + 1))?, parse_i64(req.arg(i + 2))?));
            i += 2;
        } else if modern && is(a, "BYSCORE") {
            spec_by = Some("score".into());
        } else if modern && is(a, "BYLEX") {
            spec_by = Some("lex".into());
        } else if modern && is(a, "REV") {
            rev = true;
        } else {
            return Err(errors::SYNTAX);
        }
        i += 1;
    }
    if limit.is_some() && spec_by.is_none() {
        return Err(CmdError::fixed(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && spec_by.as_deref() == Some("lex") {
        return Err(CmdError::fixed(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    // With REV (or the ZREV* commands) the first bound is the maximum.
    let (a, b) = (req.arg(first), req.arg(first + 1));
    let (lo, hi) = if rev && spec_by.is_some() {
        (b, a)
    } else {
        (a, b)
    };
    let kind = match spec_by.as_deref() {
        None => RangeKind::Rank(parse_i64(a)?, parse_i64(b)?),
        Some("score") => RangeKind::Score(parse_score_bound(lo)?, parse_score_bound(hi)?),
        _ => RangeKind::Lex(parse_lex_bound(lo)?, parse_lex_bound(hi)?),
    };
    Ok(RangeSpec {
        kind,
        rev,
        limit,
        withscores,
    })
}
