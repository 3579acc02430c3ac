//! Sorted-set values in Redis's two encodings: `listpack` (a [`Pack`] of
//! member, score, member, score ... kept in (score, member) order) while
//! small, `skiplist` past `zset-max-listpack-entries` / `-value`. Our
//! `skiplist` is a [`Ranked`] order (rank/select in O(log n)) plus a
//! [`Dict`] from member to score, the pair Redis keeps too.
//!
//! Order: by score, then by member bytes; scores are never NaN.
//!
//! In the listpack a score is stored in binary ([`score_bytes`]): an
//! integral score in the fewest two's-complement bytes that hold it (0 to
//! 7), any other as its 8 IEEE-754 bytes. Exact, at most 8 bytes, and
//! cheaper to read than the `%.17g` text Redis 7.0 keeps there (up to 24
//! bytes: a score of 12345.6 is `12345.600000000000364`).

use super::compact::CompactBytes;
use super::dict::{Dict, Keyed};
use super::hash::PackLimits;
use super::pack::Pack;
use super::ranked::Ranked;
use std::cmp::Ordering;

/// A member in score order.
#[derive(Clone, Debug)]
pub struct Item {
    /// The score.
    pub score: f64,
    /// The member.
    pub member: CompactBytes,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Item {}

impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_entry(self.score, &self.member, other.score, &other.member)
    }
}

/// Redis's order of two (score, member) entries.
pub fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    s1.partial_cmp(&s2)
        .unwrap_or(Ordering::Equal)
        .then_with(|| m1.cmp(m2))
}

/// Member → score in the `skiplist` encoding.
#[derive(Clone, Debug)]
pub struct ZMember {
    /// The member.
    pub member: CompactBytes,
    /// Its score.
    pub score: f64,
}

impl Keyed for ZMember {
    fn key(&self) -> &[u8] {
        self.member.as_slice()
    }
}

/// The `skiplist` encoding.
#[derive(Clone, Debug, Default)]
pub struct Skip {
    order: Ranked<Item>,
    /// Member → score (ZSCORE in O(1), ZSCAN's cursor).
    pub dict: Dict<ZMember>,
}

/// A sorted-set value.
#[derive(Clone, Debug)]
pub enum ZSetVal {
    /// `listpack`.
    Pack(Pack),
    /// `skiplist`.
    Skip(Box<Skip>),
}

impl PartialEq for ZSetVal {
    fn eq(&self, other: &Self) -> bool {
        self.all() == other.all()
    }
}

/// An owned (member, score) pair.
pub type Pair = (Vec<u8>, f64);

/// A score as stored in the listpack (see the module docs).
fn score_bytes(s: f64) -> Vec<u8> {
    // -0.0 keeps its sign (ZSCORE replies "-0"), so it is no integer here.
    let integral = s.fract() == 0.0 && !(s == 0.0 && s.is_sign_negative());
    if integral && s.abs() < (1u64 << 55) as f64 {
        let i = s as i64;
        let bytes = i.to_le_bytes();
        // Fewest low bytes that sign-extend back to `i`.
        let n = (0..8)
            .find(|&n| sign_extend(bytes.get(..n).unwrap_or(&[])) == i)
            .unwrap_or(8);
        if n < 8 {
            return bytes.get(..n).unwrap_or(&[]).to_vec();
        }
    }
    s.to_le_bytes().to_vec()
}

fn sign_extend(b: &[u8]) -> i64 {
    let fill = match b.last() {
        Some(&top) if top & 0x80 != 0 => 0xff,
        _ => 0,
    };
    let mut full = [fill; 8];
    if let Some(dst) = full.get_mut(..b.len()) {
        dst.copy_from_slice(b);
    }
    i64::from_le_bytes(full)
}

/// The score stored as `b` by [`score_bytes`].
fn read_score(b: &[u8]) -> f64 {
    match *b {
        [a, b, c, d, e, f, g, h] => f64::from_le_bytes([a, b, c, d, e, f, g, h]),
        _ if b.len() < 8 => sign_extend(b) as f64,
        _ => 0.0,
    }
}

fn decode(p: &Pack) -> Vec<Pair> {
    let mut it = p.iter();
    let mut out = Vec::with_capacity(p.len() / 2);
    while let (Some(m), Some(s)) = (it.next(), it.next()) {
        out.push((m.to_vec(), read_score(s)));
    }
    out
}

fn encode(pairs: &[Pair]) -> Pack {
    let scores: Vec<Vec<u8>> = pairs.iter().map(|(_, s)| score_bytes(*s)).collect();
    Pack::from_items(
        pairs
            .iter()
            .zip(&scores)
            .flat_map(|((m, _), s)| [m.as_slice(), s.as_slice()]),
    )
}

impl ZSetVal {
    /// An empty sorted set fit for about `hint` members of up to
    /// `max_len` bytes (Redis's `zsetTypeCreate`).
    pub fn create(hint: usize, max_len: usize, lim: PackLimits) -> ZSetVal {
        if hint <= lim.entries && max_len <= lim.value {
            ZSetVal::Pack(Pack::new())
        } else {
            ZSetVal::Skip(Box::default())
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            ZSetVal::Pack(p) => p.len() / 2,
            ZSetVal::Skip(s) => s.order.len(),
        }
    }

    /// True when empty (the caller deletes the key).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `OBJECT ENCODING` name.
    pub fn encoding(&self) -> &'static str {
        match self {
            ZSetVal::Pack(_) => "listpack",
            ZSetVal::Skip(_) => "skiplist",
        }
    }

    /// The score of `m`.
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            ZSetVal::Pack(p) => {
                let off = p.find(m, 2)?;
                let (_, next) = p.get(off)?;
                Some(read_score(p.get(next)?.0))
            }
            ZSetVal::Skip(s) => s.dict.get(m).map(|z| z.score),
        }
    }

    fn convert_to_skip(&mut self) {
        if let ZSetVal::Pack(p) = self {
            let mut s = Skip::default();
            for (m, score) in decode(p) {
                s.insert_new(&m, score);
            }
            *self = ZSetVal::Skip(Box::new(s));
        }
    }

    /// Set `m`'s score (adding it when new); true when it is new.
    pub fn insert(&mut self, m: &[u8], score: f64, lim: PackLimits) -> bool {
        if m.len() > lim.value {
            self.convert_to_skip();
        }
        let new = match self {
            ZSetVal::Pack(p) => {
                let mut pairs = decode(p);
                let old = pairs.iter().position(|(x, _)| x == m);
                if let Some(i) = old {
                    pairs.remove(i);
                }
                let at =
                    pairs.partition_point(|(x, s)| cmp_entry(*s, x, score, m) == Ordering::Less);
                pairs.insert(at, (m.to_vec(), score));
                *p = encode(&pairs);
                old.is_none()
            }
            ZSetVal::Skip(s) => match s.dict.get(m).map(|z| z.score) {
                Some(old) => {
                    s.order.remove(&Item {
                        score: old,
                        member: CompactBytes::new(m),
                    });
                    s.order.insert(Item {
                        score,
                        member: CompactBytes::new(m),
                    });
                    if let Some(z) = s.dict.get_mut(m) {
                        z.score = score;
                    }
                    false
                }
                None => {
                    s.insert_new(m, score);
                    true
                }
            },
        };
        if self.len() > lim.entries {
            self.convert_to_skip();
        }
        new
    }

    /// Remove `m`; true when it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            ZSetVal::Pack(p) => match p.find(m, 2) {
                Some(off) => {
                    p.remove(off, 2);
                    true
                }
                None => false,
            },
            ZSetVal::Skip(s) => match s.dict.remove(m) {
                Some(z) => {
                    s.order.remove(&Item {
                        score: z.score,
                        member: z.member,
                    });
                    true
                }
                None => false,
            },
        }
    }

    /// 0-based position of `m` in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        match self {
            ZSetVal::Pack(p) => decode(p).iter().position(|(x, _)| x == m),
            ZSetVal::Skip(s) => {
                let score = s.dict.get(m)?.score;
                s.order.rank(&Item {
                    score,
                    member: CompactBytes::new(m),
                })
            }
        }
    }

    /// How many leading members (ascending) satisfy `pred`, which must hold
    /// on a prefix of the order.
    pub fn count_while(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSetVal::Pack(p) => decode(p).partition_point(|(m, s)| pred(*s, m)),
            ZSetVal::Skip(s) => s.order.partition_point(|i| pred(i.score, &i.member)),
        }
    }

    /// Members at positions `from..=to` (ascending; bounds must be valid).
    pub fn range(&self, from: usize, to: usize) -> Vec<Pair> {
        if from > to || from >= self.len() {
            return Vec::new();
        }
        let n = to - from + 1;
        match self {
            ZSetVal::Pack(p) => decode(p).into_iter().skip(from).take(n).collect(),
            ZSetVal::Skip(s) => s
                .order
                .iter_from(from)
                .take(n)
                .map(|i| (i.member.to_vec(), i.score))
                .collect(),
        }
    }

    /// Every member, ascending.
    pub fn all(&self) -> Vec<Pair> {
        self.range(0, self.len().saturating_sub(1))
    }

    /// The member at position `i`.
    pub fn at(&self, i: usize) -> Option<Pair> {
        match self {
            ZSetVal::Pack(_) => self.range(i, i).into_iter().next(),
            ZSetVal::Skip(s) => s.order.get(i).map(|x| (x.member.to_vec(), x.score)),
        }
    }

    /// Remove and return up to `n` members from the low end (or the high
    /// end when `max`), in pop order.
    pub fn pop(&mut self, max: bool, n: usize) -> Vec<Pair> {
        let n = n.min(self.len());
        if n == 0 {
            return Vec::new();
        }
        let out = if max {
            let mut v = self.range(self.len() - n, self.len() - 1);
            v.reverse();
            v
        } else {
            self.range(0, n - 1)
        };
        for (m, _) in &out {
            self.remove(m);
        }
        out
    }

    /// Bytes the value occupies (MEMORY USAGE).
    pub fn mem_usage(&self) -> usize {
        match self {
            ZSetVal::Pack(p) => p.bytes() + 16,
            ZSetVal::Skip(s) => {
                s.dict.overhead_bytes()
                    + s.dict
                        .iter()
                        .map(|z| 2 * (std::mem::size_of::<Item>() + z.member.heap_bytes()))
                        .sum::<usize>()
            }
        }
    }
}

impl Skip {
    fn insert_new(&mut self, m: &[u8], score: f64) {
        self.order.insert(Item {
            score,
            member: CompactBytes::new(m),
        });
        self.dict.insert_new(ZMember {
            member: CompactBytes::new(m),
            score,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: PackLimits = PackLimits {
        entries: 4,
        value: 8,
    };

    #[test]
    fn listpack_scores_are_exact_and_short() {
        let cases = [
            (0.0, 0),
            (-0.0, 8),
            (1.0, 1),
            (-1.0, 1),
            (127.0, 1),
            (128.0, 2),
            (-129.0, 2),
            (1_700_000_000_000.0, 6),
            (18_014_398_509_481_984.0, 7),
            (-36_028_797_018_963_968.0, 8),
            (12345.6, 8),
            (-1e300, 8),
            (f64::INFINITY, 8),
            (f64::NEG_INFINITY, 8),
            (f64::MIN_POSITIVE, 8),
            (9.2e18, 8),
        ];
        for (s, len) in cases {
            let b = score_bytes(s);
            assert_eq!(b.len(), len, "{s}");
            let back = read_score(&b);
            assert_eq!(back.to_bits(), s.to_bits(), "{s}");
        }
        for i in (-70_000i64..70_000).step_by(7) {
            let s = i as f64;
            assert_eq!(read_score(&score_bytes(s)), s);
        }
    }

    #[test]
    fn both_encodings_keep_score_then_member_order() {
        for start_big in [false, true] {
            let mut z = ZSetVal::create(if start_big { 100 } else { 1 }, 1, LIM);
            for (m, s) in [("b", 2.0), ("a", 2.0), ("c", 1.0), ("d", f64::INFINITY)] {
                assert!(z.insert(m.as_bytes(), s, LIM));
            }
            assert!(!z.insert(b"c", 3.0, LIM), "update");
            let names: Vec<Vec<u8>> = z.all().into_iter().map(|(m, _)| m).collect();
            assert_eq!(
                names,
                vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"d".to_vec()]
            );
            assert_eq!(z.rank(b"c"), Some(2));
            assert_eq!(z.score(b"d"), Some(f64::INFINITY));
            assert_eq!(z.count_while(|s, _| s < 3.0), 2);
            assert!(z.remove(b"a"));
            assert_eq!(z.at(0).map(|p| p.0), Some(b"b".to_vec()));
        }
        let mut z = ZSetVal::create(1, 1, LIM);
        for i in 0..5 {
            z.insert(format!("m{i}").as_bytes(), f64::from(i), LIM);
        }
        assert_eq!(z.encoding(), "skiplist");
    }
}
