//! A decoded RESP value, as a client sees a reply.
//!
//! The server never builds `Frame`s on its hot path (it writes replies straight
//! into an output buffer through [`crate::encode::ReplyWriter`]); frames are for
//! clients, tests and tools, which need to look at what came back.

use bytes::Bytes;
use std::fmt;

/// One RESP2 or RESP3 value.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// `+text`
    Simple(Bytes),
    /// `-ERR text` (the whole line after `-`)
    Error(Bytes),
    /// `:123`
    Integer(i64),
    /// `$3\r\nabc`
    Bulk(Bytes),
    /// RESP2 `$-1`, or RESP3 `_`
    Null,
    /// RESP2 `*-1`
    NullArray,
    /// `*n`
    Array(Vec<Frame>),
    /// RESP3 `%n`
    Map(Vec<(Frame, Frame)>),
    /// RESP3 `~n`
    Set(Vec<Frame>),
    /// RESP3 `,1.5`
    Double(f64),
    /// RESP3 `#t` / `#f`
    Boolean(bool),
    /// RESP3 `(123...`
    BigNumber(Bytes),
    /// RESP3 `=n\r\ntxt:...`: the three-letter format and the text
    Verbatim(Bytes, Bytes),
    /// RESP3 `>n`
    Push(Vec<Frame>),
    /// RESP3 `|n` attributes, followed by the value they describe
    Attribute(Vec<(Frame, Frame)>, Box<Frame>),
}

impl Frame {
    /// A bulk string frame from anything byte-like.
    pub fn bulk(b: impl AsRef<[u8]>) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(b.as_ref()))
    }

    /// A simple string frame.
    pub fn simple(s: &str) -> Frame {
        Frame::Simple(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// An error frame (text without the leading `-`).
    pub fn error(s: &str) -> Frame {
        Frame::Error(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// True for an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }

    /// The bytes of a string-like frame (simple, bulk, error, verbatim text, big number).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Frame::Simple(b)
            | Frame::Error(b)
            | Frame::Bulk(b)
            | Frame::BigNumber(b)
            | Frame::Verbatim(_, b) => Some(b),
            _ => None,
        }
    }

    /// A string-like frame as UTF-8 text (lossy).
    pub fn as_text(&self) -> Option<String> {
        self.as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// The integer of an `Integer` frame.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Frame::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The elements of an array-like frame (array, set, push).
    pub fn as_array(&self) -> Option<&[Frame]> {
        match self {
            Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => Some(v),
            _ => None,
        }
    }

    /// Serialize this frame as RESP (RESP3 types kept as they are).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        fn line(out: &mut Vec<u8>, prefix: u8, body: &[u8]) {
            out.push(prefix);
            out.extend_from_slice(body);
            out.extend_from_slice(b"\r\n");
        }
        fn header(out: &mut Vec<u8>, prefix: u8, n: usize) {
            line(out, prefix, n.to_string().as_bytes());
        }
        match self {
            Frame::Simple(b) => line(out, b'+', b),
            Frame::Error(b) => line(out, b'-', b),
            Frame::Integer(i) => line(out, b':', i.to_string().as_bytes()),
            Frame::Bulk(b) => {
                header(out, b'$', b.len());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Null => out.extend_from_slice(b"_\r\n"),
            Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
                let p = match self {
                    Frame::Set(_) => b'~',
                    Frame::Push(_) => b'>',
                    _ => b'*',
                };
                header(out, p, v.len());
                for f in v {
                    f.write_to(out);
                }
            }
            Frame::Map(kv) => {
                header(out, b'%', kv.len());
                for (k, v) in kv {
                    k.write_to(out);
                    v.write_to(out);
                }
            }
            Frame::Double(d) => {
                let mut s = Vec::new();
                crate::numfmt::write_double_resp3(&mut s, *d);
                line(out, b',', &s);
            }
            Frame::Boolean(b) => line(out, b'#', if *b { b"t" } else { b"f" }),
            Frame::BigNumber(b) => line(out, b'(', b),
            Frame::Verbatim(fmt, txt) => {
                header(out, b'=', txt.len() + 4);
                out.extend_from_slice(fmt);
                out.push(b':');
                out.extend_from_slice(txt);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Attribute(kv, value) => {
                header(out, b'|', kv.len());
                for (k, v) in kv {
                    k.write_to(out);
                    v.write_to(out);
                }
                value.write_to(out);
            }
        }
    }

    /// Encode a command (array of bulk strings), as clients send it.
    pub fn command<I, A>(args: I) -> Vec<u8>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let args: Vec<A> = args.into_iter().collect();
        let mut out =
            Vec::with_capacity(16 + args.iter().map(|a| a.as_ref().len() + 16).sum::<usize>());
        out.push(b'*');
        out.extend_from_slice(args.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        for a in &args {
            let a = a.as_ref();
            out.push(b'$');
            out.extend_from_slice(a.len().to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }
}

/// Renders frames the way `redis-cli` does (roughly): handy in test failure messages.
impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Simple(b) => write!(f, "{}", String::from_utf8_lossy(b)),
            Frame::Error(b) => write!(f, "(error) {}", String::from_utf8_lossy(b)),
            Frame::Integer(i) => write!(f, "(integer) {i}"),
            Frame::Bulk(b) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            Frame::Null | Frame::NullArray => write!(f, "(nil)"),
            Frame::Double(d) => write!(f, "(double) {d}"),
            Frame::Boolean(b) => write!(f, "({b})"),
            Frame::BigNumber(b) => write!(f, "(big number) {}", String::from_utf8_lossy(b)),
            Frame::Verbatim(_, t) => write!(f, "{:?}", String::from_utf8_lossy(t)),
            Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
                write!(f, "[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{x}")?;
                }
                write!(f, "]")
            }
            Frame::Map(kv) | Frame::Attribute(kv, _) => {
                write!(f, "{{")?;
                for (i, (k, v)) in kv.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}
