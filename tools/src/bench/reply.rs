//! Scanning replies on the hot path, without building frames.
//!
//! The load generator only needs to know where each reply ends and whether it
//! is an error; [`scan`] answers that with no allocation and no recursion (a
//! counter of elements still to skip replaces the call stack, so nested
//! arrays, maps and attributes cost nothing extra). Error texts are looked at
//! only when a reply is an error: [`redirect`] reads cluster `MOVED`/`ASK`.
//!
//! Full decoding into `resp::Frame` (for setup commands and INFO) lives in
//! `resp::decode`; this module must stay allocation-free.

/// One complete reply at the front of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scanned {
    /// Bytes the reply occupies.
    pub len: usize,
    /// True for a top-level error (`-...` or `!n`).
    pub error: bool,
}

/// Bytes that are not RESP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanError(pub String);

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid RESP reply: {}", self.0)
    }
}

impl std::error::Error for ScanError {}

fn parse_len(line: &[u8]) -> Result<i64, ScanError> {
    let (neg, digits) = match line.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, line),
    };
    if digits.is_empty() || digits.len() > 18 {
        return Err(ScanError(format!(
            "bad length {:?}",
            String::from_utf8_lossy(line)
        )));
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(ScanError(format!(
                "bad length {:?}",
                String::from_utf8_lossy(line)
            )));
        }
        n = n * 10 + i64::from(d - b'0');
    }
    Ok(if neg { -n } else { n })
}

/// Find the end of the first reply in `buf`: `Ok(None)` while it is incomplete.
pub fn scan(buf: &[u8]) -> Result<Option<Scanned>, ScanError> {
    let mut pos = 0usize;
    // Elements still to skip, the top-level reply included.
    let mut remaining: u64 = 1;
    let mut error = false;
    let mut first = true;
    while remaining > 0 {
        let Some(&kind) = buf.get(pos) else {
            return Ok(None);
        };
        let Some(rest) = buf.get(pos + 1..) else {
            return Ok(None);
        };
        let Some(nl) = memchr::memchr(b'\n', rest) else {
            return Ok(None);
        };
        let line = rest.get(..nl).unwrap_or(&[]);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos += 1 + nl + 1;
        remaining -= 1;
        if first {
            error = kind == b'-' || kind == b'!';
            first = false;
        }
        match kind {
            b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => {}
            b'$' | b'!' | b'=' => {
                let n = parse_len(line)?;
                if n >= 0 {
                    let end = pos + usize::try_from(n).unwrap_or(usize::MAX / 2) + 2;
                    if buf.len() < end {
                        return Ok(None);
                    }
                    pos = end;
                }
            }
            b'*' | b'~' | b'>' => {
                let n = parse_len(line)?;
                if n > 0 {
                    remaining += n.unsigned_abs();
                }
            }
            b'%' => {
                let n = parse_len(line)?;
                if n > 0 {
                    remaining += 2 * n.unsigned_abs();
                }
            }
            // Attributes describe the value that follows them.
            b'|' => {
                let n = parse_len(line)?;
                remaining += 2 * n.max(0).unsigned_abs() + 1;
            }
            other => {
                return Err(ScanError(format!(
                    "unknown type byte {:?}",
                    char::from(other)
                )));
            }
        }
    }
    Ok(Some(Scanned { len: pos, error }))
}

/// The element count of an array reply (RESP2 `*n`, RESP3 `*n`), `None` for
/// any other kind; `Some(-1)` for the null array. `reply` starts at the reply's
/// first byte (as [`scan`] delimits it).
pub fn array_len(reply: &[u8]) -> Option<i64> {
    let rest = reply.strip_prefix(b"*")?;
    let nl = memchr::memchr(b'\r', rest)?;
    parse_len(rest.get(..nl)?).ok()
}

/// The first line of a reply, for messages about replies that are not errors.
pub fn first_line(reply: &[u8]) -> String {
    let end = memchr::memchr(b'\r', reply).unwrap_or(reply.len()).min(60);
    String::from_utf8_lossy(reply.get(..end).unwrap_or(reply)).into_owned()
}

/// The text of an error reply (after `-`, or the body of `!n`), for messages.
pub fn error_text(reply: &[u8]) -> String {
    let body = match reply.first() {
        Some(b'-') => reply.get(1..).unwrap_or(&[]),
        Some(b'!') => {
            let start = memchr::memchr(b'\n', reply).map_or(reply.len(), |i| i + 1);
            reply.get(start..).unwrap_or(&[])
        }
        _ => reply,
    };
    let body = body.strip_suffix(b"\r\n").unwrap_or(body);
    String::from_utf8_lossy(body).into_owned()
}

/// A cluster redirection read from an error reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    /// `ASK` (one-shot, needs `ASKING`) rather than `MOVED` (permanent).
    pub ask: bool,
    /// The hash slot.
    pub slot: u16,
    /// `host:port` of the node to ask.
    pub addr: String,
}

/// Parse `MOVED <slot> <host:port>` or `ASK <slot> <host:port>`.
pub fn redirect(text: &str) -> Option<Redirect> {
    let mut it = text.split_ascii_whitespace();
    let ask = match it.next()? {
        "MOVED" => false,
        "ASK" => true,
        _ => return None,
    };
    let slot: u16 = it.next()?.parse().ok()?;
    let addr = it.next()?.to_string();
    (slot < 16384).then_some(Redirect { ask, slot, addr })
}

#[cfg(test)]
mod tests {
    use super::*;
    use resp::Frame;

    #[test]
    fn scans_every_frame_kind_and_waits_for_the_rest() {
        let frames = vec![
            Frame::simple("OK"),
            Frame::error("ERR x"),
            Frame::Integer(-3),
            Frame::bulk("hello\r\nworld"),
            Frame::Null,
            Frame::NullArray,
            Frame::Array(vec![
                Frame::Integer(1),
                Frame::Array(vec![Frame::bulk("a")]),
            ]),
            Frame::Map(vec![(Frame::bulk("a"), Frame::Double(1.5))]),
            Frame::Set(vec![Frame::bulk("x")]),
            Frame::Boolean(true),
            Frame::Push(vec![Frame::bulk("message")]),
            Frame::Attribute(
                vec![(Frame::bulk("k"), Frame::Integer(1))],
                Box::new(Frame::bulk("v")),
            ),
        ];
        for f in frames {
            let mut v = Vec::new();
            f.write_to(&mut v);
            let tail = b"+NEXT\r\n";
            let mut with_tail = v.clone();
            with_tail.extend_from_slice(tail);
            let s = scan(&with_tail).unwrap().unwrap();
            assert_eq!(s.len, v.len(), "{f:?}");
            assert_eq!(s.error, f.is_error(), "{f:?}");
            for cut in 0..v.len() {
                assert_eq!(scan(&v[..cut]).unwrap(), None, "cut {cut} of {f:?}");
            }
        }
    }

    #[test]
    fn blob_errors_count_as_errors() {
        let s = scan(b"!5\r\nERR x\r\n").unwrap().unwrap();
        assert_eq!(
            s,
            Scanned {
                len: 11,
                error: true
            }
        );
        assert_eq!(error_text(b"!5\r\nERR x\r\n"), "ERR x");
        assert_eq!(error_text(b"-ERR y\r\n"), "ERR y");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(scan(b"?x\r\n").is_err());
        assert!(scan(b"$abc\r\n").is_err());
    }

    #[test]
    fn reads_array_headers() {
        assert_eq!(array_len(b"*3\r\n+OK\r\n+OK\r\n+OK\r\n"), Some(3));
        assert_eq!(array_len(b"*-1\r\n"), Some(-1));
        assert_eq!(array_len(b"*0\r\n"), Some(0));
        assert_eq!(array_len(b"-EXECABORT x\r\n"), None);
        assert_eq!(array_len(b"$3\r\nabc\r\n"), None);
        assert_eq!(first_line(b"*-1\r\n"), "*-1");
    }

    #[test]
    fn reads_redirects() {
        assert_eq!(
            redirect("MOVED 3999 127.0.0.1:6381"),
            Some(Redirect {
                ask: false,
                slot: 3999,
                addr: "127.0.0.1:6381".into()
            })
        );
        assert_eq!(
            redirect("ASK 1 10.0.0.1:7000"),
            Some(Redirect {
                ask: true,
                slot: 1,
                addr: "10.0.0.1:7000".into()
            })
        );
        assert_eq!(redirect("ERR wrong"), None);
        assert_eq!(redirect("MOVED 99999 h:1"), None);
    }
}
