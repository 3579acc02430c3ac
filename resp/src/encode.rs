//! Reply encoding, aware of the connection's protocol version.
//!
//! Redis downgrades RESP3 types for RESP2 connections in fixed ways, and
//! clients depend on them: maps become flat arrays, sets and pushes become
//! arrays, doubles become bulk strings, booleans become integers, verbatim
//! strings become bulk strings, and both kinds of null keep their RESP2
//! spelling (`$-1` for a missing string, `*-1` for a missing array).

use crate::numfmt;

/// The protocol a connection speaks (set by `HELLO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Proto {
    /// RESP2, the default for every new connection.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}

impl Proto {
    /// The number `HELLO` reports.
    pub fn version(self) -> i64 {
        match self {
            Proto::Resp2 => 2,
            Proto::Resp3 => 3,
        }
    }
}

/// Writes replies into a byte buffer for one protocol version.
#[derive(Debug)]
pub struct ReplyWriter<'a> {
    out: &'a mut Vec<u8>,
    proto: Proto,
}

impl<'a> ReplyWriter<'a> {
    /// A writer appending to `out`.
    pub fn new(out: &'a mut Vec<u8>, proto: Proto) -> Self {
        ReplyWriter { out, proto }
    }

    /// The protocol replies are encoded for.
    pub fn proto(&self) -> Proto {
        self.proto
    }

    /// True on a RESP3 connection.
    pub fn is_resp3(&self) -> bool {
        self.proto == Proto::Resp3
    }

    /// Bytes written so far into the underlying buffer.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// True when nothing has been written to the underlying buffer.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Drop everything written after `len` (used to replace a partial reply by an error).
    pub fn truncate(&mut self, len: usize) {
        self.out.truncate(len);
    }

    /// Raw access for pre-encoded replies.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn line(&mut self, prefix: u8, body: &[u8]) {
        self.out.push(prefix);
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(b"\r\n");
    }

    fn header(&mut self, prefix: u8, n: usize) {
        self.out.push(prefix);
        numfmt::write_uint(self.out, n as u64);
        self.out.extend_from_slice(b"\r\n");
    }

    /// `+OK`
    pub fn ok(&mut self) {
        self.out.extend_from_slice(b"+OK\r\n");
    }

    /// A simple string. Newlines are replaced by spaces, as Redis does.
    pub fn simple(&mut self, s: &[u8]) {
        self.out.push(b'+');
        push_sanitized(self.out, s);
        self.out.extend_from_slice(b"\r\n");
    }

    /// An error reply; `text` includes the code, e.g. `ERR syntax error`.
    /// Newlines are replaced by spaces, as Redis does.
    pub fn error(&mut self, text: &[u8]) {
        self.out.push(b'-');
        push_sanitized(self.out, text);
        self.out.extend_from_slice(b"\r\n");
    }

    /// `:n`
    pub fn int(&mut self, n: i64) {
        self.out.push(b':');
        numfmt::write_int(self.out, n);
        self.out.extend_from_slice(b"\r\n");
    }

    /// `$len\r\nbytes\r\n`
    pub fn bulk(&mut self, b: &[u8]) {
        self.header(b'$', b.len());
        self.out.extend_from_slice(b);
        self.out.extend_from_slice(b"\r\n");
    }

    /// An integer as a bulk string (`$2\r\n42\r\n`).
    pub fn bulk_int(&mut self, n: i64) {
        let mut v = Vec::with_capacity(20);
        numfmt::write_int(&mut v, n);
        self.bulk(&v);
    }

    /// A missing string: `$-1` (RESP2) or `_` (RESP3).
    pub fn null(&mut self) {
        match self.proto {
            Proto::Resp2 => self.out.extend_from_slice(b"$-1\r\n"),
            Proto::Resp3 => self.out.extend_from_slice(b"_\r\n"),
        }
    }

    /// A missing array: `*-1` (RESP2) or `_` (RESP3).
    pub fn null_array(&mut self) {
        match self.proto {
            Proto::Resp2 => self.out.extend_from_slice(b"*-1\r\n"),
            Proto::Resp3 => self.out.extend_from_slice(b"_\r\n"),
        }
    }

    /// Array header for `n` elements.
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n);
    }

    /// Map header for `n` pairs (a flat array of `2n` in RESP2).
    pub fn map(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', n * 2),
            Proto::Resp3 => self.header(b'%', n),
        }
    }

    /// Set header for `n` members (an array in RESP2).
    pub fn set(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', n),
            Proto::Resp3 => self.header(b'~', n),
        }
    }

    /// Push header for `n` elements (an array in RESP2).
    pub fn push(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', n),
            Proto::Resp3 => self.header(b'>', n),
        }
    }

    /// A double: RESP3 `,` or a RESP2 bulk string, both `%.17g` (`inf`, `-inf`).
    pub fn double(&mut self, d: f64) {
        let mut tmp = Vec::with_capacity(32);
        match self.proto {
            Proto::Resp2 => {
                numfmt::write_g17(&mut tmp, d);
                self.bulk(&tmp);
            }
            Proto::Resp3 => {
                numfmt::write_double_resp3(&mut tmp, d);
                self.line(b',', &tmp);
            }
        }
    }

    /// A boolean: RESP3 `#t`/`#f`, RESP2 `:1`/`:0`.
    pub fn boolean(&mut self, b: bool) {
        match self.proto {
            Proto::Resp2 => self.int(i64::from(b)),
            Proto::Resp3 => self.line(b'#', if b { b"t" } else { b"f" }),
        }
    }

    /// A verbatim string (`=len\r\ntxt:...`), a plain bulk string in RESP2.
    pub fn verbatim(&mut self, format: &[u8; 3], text: &[u8]) {
        match self.proto {
            Proto::Resp2 => self.bulk(text),
            Proto::Resp3 => {
                self.header(b'=', text.len() + 4);
                self.out.extend_from_slice(format);
                self.out.push(b':');
                self.out.extend_from_slice(text);
                self.out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// An array of bulk strings.
    pub fn bulk_array<I, B>(&mut self, items: I)
    where
        I: ExactSizeIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        self.array(items.len());
        for b in items {
            self.bulk(b.as_ref());
        }
    }
}

fn push_sanitized(out: &mut Vec<u8>, s: &[u8]) {
    if memchr::memchr2(b'\r', b'\n', s).is_none() {
        out.extend_from_slice(s);
    } else {
        out.extend(
            s.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(proto: Proto, f: impl FnOnce(&mut ReplyWriter<'_>)) -> String {
        let mut v = Vec::new();
        f(&mut ReplyWriter::new(&mut v, proto));
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn downgrades() {
        assert_eq!(enc(Proto::Resp2, |w| w.map(2)), "*4\r\n");
        assert_eq!(enc(Proto::Resp3, |w| w.map(2)), "%2\r\n");
        assert_eq!(enc(Proto::Resp2, |w| w.null()), "$-1\r\n");
        assert_eq!(enc(Proto::Resp2, |w| w.null_array()), "*-1\r\n");
        assert_eq!(enc(Proto::Resp3, |w| w.null_array()), "_\r\n");
        assert_eq!(enc(Proto::Resp2, |w| w.double(1.5)), "$3\r\n1.5\r\n");
        assert_eq!(enc(Proto::Resp3, |w| w.double(f64::INFINITY)), ",inf\r\n");
        assert_eq!(enc(Proto::Resp2, |w| w.boolean(true)), ":1\r\n");
        assert_eq!(enc(Proto::Resp3, |w| w.boolean(false)), "#f\r\n");
        assert_eq!(
            enc(Proto::Resp3, |w| w.verbatim(b"txt", b"hi")),
            "=6\r\ntxt:hi\r\n"
        );
        assert_eq!(
            enc(Proto::Resp2, |w| w.error(b"ERR a\r\nb")),
            "-ERR a  b\r\n"
        );
        assert_eq!(enc(Proto::Resp2, |w| w.bulk_int(-12)), "$3\r\n-12\r\n");
        assert_eq!(
            enc(Proto::Resp2, |w| w.int(i64::MIN)),
            ":-9223372036854775808\r\n"
        );
    }
}
