//! Server-side request parsing: multibulk (`*N\r\n$len\r\n...`) and inline
//! (`PING\r\n`) commands, incrementally, with Redis 7's limits and its exact
//! protocol-error texts.
//!
//! The parser works on the connection's read buffer (`BytesMut`). Complete
//! requests are split off the front of the buffer without copying: each
//! [`Request`] holds a `Bytes` view of its own bytes plus the argument spans.
//! A partly received multibulk request keeps its progress, so a huge request
//! arriving in many reads is scanned once (no quadratic re-parsing).
//!
//! IMPORTANT: a `Request`'s bytes share the read buffer's allocation. Code
//! that keeps an argument beyond the command (stores it in the keyspace) must
//! copy it, or a small value would pin a whole read buffer in memory.

use bytes::{Bytes, BytesMut};
use smallvec::SmallVec;

/// Longest header or inline line Redis accepts before giving up (`PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX_SIZE: usize = 64 * 1024;
/// Most arguments in one multibulk request (Redis 7: `INT_MAX`).
pub const MAX_MULTIBULK_LEN: i64 = i32::MAX as i64;
/// Most arguments an unauthenticated client may send in one request.
pub const UNAUTH_MULTIBULK_LEN: i64 = 10;
/// Largest bulk an unauthenticated client may send.
pub const UNAUTH_BULK_LEN: i64 = 16384;

/// A protocol violation. The connection gets `-ERR <text>` and is closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The reply text without the `ERR ` prefix, e.g. `Protocol error: invalid bulk length`.
    pub message: String,
}

impl ParseError {
    fn new(message: impl Into<String>) -> Self {
        ParseError {
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// One argument: offset and length inside the request's bytes.
type Span = (u32, u32);

/// One complete client request: its arguments, by reference into shared bytes.
#[derive(Clone, Debug)]
pub struct Request {
    buf: Bytes,
    args: SmallVec<[Span; 6]>,
    /// How many bytes this request occupied on the wire (for stats).
    wire_len: usize,
}

impl Request {
    /// Build a request from owned arguments (tests, internal callers, inline commands).
    pub fn from_args<I, A>(args: I) -> Request
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let mut buf = BytesMut::new();
        let mut spans = SmallVec::new();
        for a in args {
            let a = a.as_ref();
            spans.push((buf.len() as u32, a.len() as u32));
            buf.extend_from_slice(a);
        }
        let wire_len = buf.len();
        Request {
            buf: buf.freeze(),
            args: spans,
            wire_len,
        }
    }

    /// Number of arguments, command name included.
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// True for a request without arguments (never produced by the parser).
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// Argument `i` (0 is the command name), or an empty slice past the end.
    pub fn arg(&self, i: usize) -> &[u8] {
        match self.args.get(i) {
            Some(&(start, len)) => {
                let (s, l) = (start as usize, len as usize);
                self.buf.get(s..s + l).unwrap_or(&[])
            }
            None => &[],
        }
    }

    /// Argument `i` as a zero-copy `Bytes` (shares the read buffer: see the module note).
    pub fn arg_bytes(&self, i: usize) -> Bytes {
        match self.args.get(i) {
            Some(&(start, len)) => {
                let (s, l) = (start as usize, len as usize);
                if s + l <= self.buf.len() {
                    self.buf.slice(s..s + l)
                } else {
                    Bytes::new()
                }
            }
            None => Bytes::new(),
        }
    }

    /// All arguments, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        (0..self.args.len()).map(move |i| self.arg(i))
    }

    /// The command name (argument 0).
    pub fn name(&self) -> &[u8] {
        self.arg(0)
    }

    /// Bytes this request took on the wire.
    pub fn wire_len(&self) -> usize {
        self.wire_len
    }

    /// Sum of argument lengths.
    pub fn args_bytes(&self) -> usize {
        self.args.iter().map(|&(_, l)| l as usize).sum()
    }
}

/// Progress through a multibulk request that has not fully arrived.
#[derive(Debug, Default)]
struct Partial {
    /// Arguments still expected.
    remaining: i64,
    /// Spans found so far, relative to the request start (offset 0 of the buffer).
    spans: SmallVec<[Span; 6]>,
    /// Where parsing resumes, relative to the request start.
    pos: usize,
    /// Length of the bulk whose header was read but whose body has not fully arrived.
    bulk_len: Option<usize>,
}

/// Incremental request parser; one per connection.
#[derive(Debug)]
pub struct RequestParser {
    max_bulk_len: i64,
    partial: Option<Partial>,
}

impl Default for RequestParser {
    fn default() -> Self {
        RequestParser::new(512 * 1024 * 1024)
    }
}

enum Step {
    /// A complete request of `len` bytes from the buffer start, or an empty one to skip.
    Done {
        len: usize,
        spans: Option<SmallVec<[Span; 6]>>,
        owned: Option<BytesMut>,
    },
    Incomplete,
}

impl RequestParser {
    /// A parser enforcing `proto-max-bulk-len`.
    pub fn new(max_bulk_len: i64) -> Self {
        RequestParser {
            max_bulk_len,
            partial: None,
        }
    }

    /// Change `proto-max-bulk-len` (CONFIG SET).
    pub fn set_max_bulk_len(&mut self, max: i64) {
        self.max_bulk_len = max;
    }

    /// Bytes still needed to complete the bulk currently being received, if
    /// known: the caller can reserve that much read-buffer space at once.
    pub fn pending_bulk_remaining(&self, buffered: usize) -> Option<usize> {
        let p = self.partial.as_ref()?;
        let need = p.pos + p.bulk_len? + 2;
        need.checked_sub(buffered)
    }

    /// True while a request is partly received.
    pub fn has_partial(&self) -> bool {
        self.partial.is_some()
    }

    /// Parse up to `max` complete requests from the front of `buf`, splitting
    /// their bytes off it and appending them to `out`. Stops early at an
    /// incomplete request (its progress is kept). `authenticated: false`
    /// applies Redis's stricter limits for clients that have not authenticated.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        out: &mut Vec<Request>,
        max: usize,
        authenticated: bool,
    ) -> Result<(), ParseError> {
        let mut produced = 0;
        while produced < max && !buf.is_empty() {
            let step = if self.partial.is_some() || buf.first() == Some(&b'*') {
                self.multibulk(buf, authenticated)?
            } else {
                inline(buf)?
            };
            match step {
                Step::Incomplete => break,
                Step::Done { len, spans, owned } => {
                    let wire = buf.split_to(len).freeze();
                    match (spans, owned) {
                        (Some(args), Some(own)) => {
                            out.push(Request {
                                buf: own.freeze(),
                                args,
                                wire_len: len,
                            });
                            produced += 1;
                        }
                        (Some(args), None) => {
                            out.push(Request {
                                buf: wire,
                                args,
                                wire_len: len,
                            });
                            produced += 1;
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    fn multibulk(&mut self, buf: &BytesMut, authenticated: bool) -> Result<Step, ParseError> {
        let data: &[u8] = buf;
        let mut p = match self.partial.take() {
            Some(p) => p,
            None => {
                let Some(cr) = memchr::memchr(b'\r', data) else {
                    if data.len() > INLINE_MAX_SIZE {
                        return Err(ParseError::new(
                            "Protocol error: too big mbulk count string",
                        ));
                    }
                    return Ok(Step::Incomplete);
                };
                if cr + 2 > data.len() {
                    return Ok(Step::Incomplete);
                }
                let count = parse_len(data.get(1..cr).unwrap_or(&[]));
                let count = match count {
                    Some(n) if n <= MAX_MULTIBULK_LEN => n,
                    _ => return Err(ParseError::new("Protocol error: invalid multibulk length")),
                };
                if count <= 0 {
                    return Ok(Step::Done {
                        len: cr + 2,
                        spans: None,
                        owned: None,
                    });
                }
                if count > UNAUTH_MULTIBULK_LEN && !authenticated {
                    return Err(ParseError::new(
                        "Protocol error: unauthenticated multibulk length",
                    ));
                }
                let mut spans = SmallVec::new();
                // Reserve modestly: a hostile count must not allocate up front.
                spans.reserve(usize::try_from(count.min(1024)).unwrap_or(0));
                Partial {
                    remaining: count,
                    spans,
                    pos: cr + 2,
                    bulk_len: None,
                }
            }
        };
        while p.remaining > 0 {
            let len = match p.bulk_len {
                Some(len) => len,
                None => {
                    let rest = data.get(p.pos..).unwrap_or(&[]);
                    let Some(cr) = memchr::memchr(b'\r', rest) else {
                        if rest.len() > INLINE_MAX_SIZE {
                            return Err(ParseError::new(
                                "Protocol error: too big bulk count string",
                            ));
                        }
                        self.partial = Some(p);
                        return Ok(Step::Incomplete);
                    };
                    if cr + 2 > rest.len() {
                        self.partial = Some(p);
                        return Ok(Step::Incomplete);
                    }
                    match rest.first() {
                        Some(b'$') => {}
                        Some(&c) => {
                            return Err(ParseError::new(format!(
                                "Protocol error: expected '$', got '{}'",
                                char::from(c)
                            )))
                        }
                        None => {
                            self.partial = Some(p);
                            return Ok(Step::Incomplete);
                        }
                    }
                    let n = match parse_len(rest.get(1..cr).unwrap_or(&[])) {
                        Some(n) if n >= 0 && n <= self.max_bulk_len => n,
                        _ => return Err(ParseError::new("Protocol error: invalid bulk length")),
                    };
                    if n > UNAUTH_BULK_LEN && !authenticated {
                        return Err(ParseError::new(
                            "Protocol error: unauthenticated bulk length",
                        ));
                    }
                    p.pos += cr + 2;
                    let n = usize::try_from(n)
                        .map_err(|_| ParseError::new("Protocol error: invalid bulk length"))?;
                    p.bulk_len = Some(n);
                    n
                }
            };
            // Redis skips the two bytes after the bulk without checking them.
            if data.len() < p.pos + len + 2 {
                self.partial = Some(p);
                return Ok(Step::Incomplete);
            }
            let (Ok(start), Ok(l)) = (u32::try_from(p.pos), u32::try_from(len)) else {
                return Err(ParseError::new("Protocol error: invalid bulk length"));
            };
            p.spans.push((start, l));
            p.pos += len + 2;
            p.bulk_len = None;
            p.remaining -= 1;
        }
        Ok(Step::Done {
            len: p.pos,
            spans: Some(p.spans),
            owned: None,
        })
    }
}

/// Parse the digits of a `*N` or `$N` header like Redis's `string2ll`.
fn parse_len(s: &[u8]) -> Option<i64> {
    crate::numfmt::parse_i64(s)
}

/// One inline request (a line of space-separated words with quoting).
fn inline(buf: &BytesMut) -> Result<Step, ParseError> {
    let data: &[u8] = buf;
    let Some(nl) = memchr::memchr(b'\n', data) else {
        if data.len() > INLINE_MAX_SIZE {
            return Err(ParseError::new("Protocol error: too big inline request"));
        }
        return Ok(Step::Incomplete);
    };
    let mut line = data.get(..nl).unwrap_or(&[]);
    if let [head @ .., b'\r'] = line {
        line = head;
    }
    let args = split_args(line)
        .ok_or_else(|| ParseError::new("Protocol error: unbalanced quotes in request"))?;
    if args.is_empty() {
        return Ok(Step::Done {
            len: nl + 1,
            spans: None,
            owned: None,
        });
    }
    let mut own = BytesMut::with_capacity(args.iter().map(Vec::len).sum());
    let mut spans = SmallVec::new();
    for a in &args {
        spans.push((own.len() as u32, a.len() as u32));
        own.extend_from_slice(a);
    }
    Ok(Step::Done {
        len: nl + 1,
        spans: Some(spans),
        owned: Some(own),
    })
}

/// Split a line into arguments the way Redis's `sdssplitargs` does: words
/// separated by whitespace; `"..."` with `\n \r \t \b \a \\ \" \xHH` escapes;
/// `'...'` with only `\'`. A closing quote must be followed by a space or the
/// end. Returns `None` for unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    let at = |i: usize| line.get(i).copied();
    loop {
        while at(i).is_some_and(is_space) {
            i += 1;
        }
        let Some(_) = at(i) else {
            return Some(args);
        };
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            let c = at(i);
            if in_dq {
                match c {
                    None => return None,
                    Some(b'\\') => {
                        let next = at(i + 1);
                        let h1 = at(i + 2);
                        let h2 = at(i + 3);
                        if next == Some(b'x')
                            && h1.is_some_and(|c| c.is_ascii_hexdigit())
                            && h2.is_some_and(|c| c.is_ascii_hexdigit())
                        {
                            let v = hex(h1.unwrap_or(b'0')) * 16 + hex(h2.unwrap_or(b'0'));
                            cur.push(v);
                            i += 3;
                        } else if let Some(n) = next {
                            cur.push(match n {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'b' => 8,
                                b'a' => 7,
                                other => other,
                            });
                            i += 1;
                        } else {
                            return None;
                        }
                    }
                    Some(b'"') => {
                        if at(i + 1).is_some_and(|c| !is_space(c)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => cur.push(other),
                }
            } else if in_sq {
                match c {
                    None => return None,
                    Some(b'\\') if at(i + 1) == Some(b'\'') => {
                        cur.push(b'\'');
                        i += 1;
                    }
                    Some(b'\'') => {
                        if at(i + 1).is_some_and(|c| !is_space(c)) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => cur.push(other),
                }
            } else {
                match c {
                    None => break,
                    Some(c) if is_space(c) => break,
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(other) => cur.push(other),
                }
            }
            i += 1;
        }
        args.push(cur);
    }
}

fn is_space(c: u8) -> bool {
    // C isspace in the "C" locale: space, \t, \n, \v, \f, \r.
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ParseError> {
        let mut p = RequestParser::default();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        p.parse(&mut buf, &mut out, usize::MAX, true)?;
        Ok(out
            .iter()
            .map(|r| r.iter().map(<[u8]>::to_vec).collect())
            .collect())
    }

    fn words(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_and_inline() {
        let got = parse_all(b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n  \r\n*0\r\nSET a \"b c\"\n")
            .unwrap();
        assert_eq!(
            got,
            vec![
                words(&["ECHO", "hi"]),
                words(&["PING"]),
                words(&["SET", "a", "b c"])
            ]
        );
    }

    #[test]
    fn byte_at_a_time() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n";
        let mut p = RequestParser::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for &b in input.iter() {
            buf.extend_from_slice(&[b]);
            p.parse(&mut buf, &mut out, usize::MAX, true).unwrap();
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].arg(2), b"hello");
        assert_eq!(out[1].arg(0), b"PING");
        assert!(buf.is_empty());
        assert!(!p.has_partial());
    }

    #[test]
    fn errors_match_redis() {
        let e = |i: &[u8]| parse_all(i).unwrap_err().message;
        assert_eq!(
            e(b"*3000000000\r\n"),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(e(b"*x\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(
            e(b"*1\r\n$600000000\r\n"),
            "Protocol error: invalid bulk length"
        );
        assert_eq!(e(b"*1\r\n$-1\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(e(b"*1\r\n+ab\r\n"), "Protocol error: expected '$', got '+'");
        assert_eq!(
            e(b"ECHO \"a\"b\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            e(&vec![b'a'; 70000]),
            "Protocol error: too big inline request"
        );
        let mut big = b"*".to_vec();
        big.extend(vec![b'1'; 70000]);
        assert_eq!(e(&big), "Protocol error: too big mbulk count string");
        let mut big = b"*1\r\n$".to_vec();
        big.extend(vec![b'1'; 70000]);
        assert_eq!(e(&big), "Protocol error: too big bulk count string");
    }

    #[test]
    fn unauthenticated_limits() {
        let mut p = RequestParser::default();
        let mut out = Vec::new();
        let mut buf = BytesMut::from(&b"*11\r\n"[..]);
        let err = p.parse(&mut buf, &mut out, 1, false).unwrap_err();
        assert_eq!(
            err.message,
            "Protocol error: unauthenticated multibulk length"
        );
        let mut p = RequestParser::default();
        let mut buf = BytesMut::from(&b"*2\r\n$4\r\nAUTH\r\n$20000\r\n"[..]);
        let err = p.parse(&mut buf, &mut out, 1, false).unwrap_err();
        assert_eq!(err.message, "Protocol error: unauthenticated bulk length");
    }

    #[test]
    fn split_args_like_sds() {
        assert_eq!(split_args(b"a  b\tc").unwrap(), words(&["a", "b", "c"]));
        assert_eq!(
            split_args(b"\"\\x41\\n\" 'b\\'c'").unwrap(),
            vec![b"A\n".to_vec(), b"b'c".to_vec()]
        );
        assert_eq!(split_args(b"\"\"").unwrap(), vec![Vec::<u8>::new()]);
        assert!(split_args(b"\"abc").is_none());
        assert!(split_args(b"'abc'x").is_none());
        assert_eq!(split_args(b"   ").unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn max_requests_and_remaining() {
        let mut p = RequestParser::default();
        let mut out = Vec::new();
        let mut buf = BytesMut::from(&b"PING\r\nPING\r\n"[..]);
        p.parse(&mut buf, &mut out, 1, true).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(&buf[..], b"PING\r\n");
        let mut buf = BytesMut::from(&b"*1\r\n$10\r\nab"[..]);
        p.parse(&mut buf, &mut out, 10, true).unwrap();
        assert_eq!(p.pending_bulk_remaining(buf.len()), Some(10));
    }
}
