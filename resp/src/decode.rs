//! Client-side decoding of RESP2/RESP3 replies into [`Frame`]s.
//!
//! [`decode`] looks at the front of a buffer and returns one frame and the
//! number of bytes it used, `Ok(None)` when the frame has not fully arrived,
//! or an error for bytes that are not RESP. Nesting is bounded so a hostile
//! peer cannot overflow the stack.

use crate::frame::Frame;
use bytes::Bytes;

/// Deepest nesting accepted.
const MAX_DEPTH: usize = 512;

/// Bytes that are not a valid RESP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid RESP: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

/// Decode one frame from the front of `buf`.
///
/// An incomplete frame costs a scan of its headers only (no copies), so a
/// reader that retries after every chunk of a large reply stays linear.
pub fn decode(buf: &[u8]) -> Result<Option<(Frame, usize)>, DecodeError> {
    let mut pos = 0;
    if !skip(buf, &mut pos, 0)? {
        return Ok(None);
    }
    pos = 0;
    match frame(buf, &mut pos, 0)? {
        Some(f) => Ok(Some((f, pos))),
        None => Ok(None),
    }
}

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = buf.get(*pos..)?;
    let cr = memchr::memchr(b'\n', rest)?;
    let body = rest.get(..cr)?;
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    *pos += cr + 1;
    Some(body)
}

fn int(b: &[u8]) -> Result<i64, DecodeError> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| DecodeError(format!("bad integer {:?}", String::from_utf8_lossy(b))))
}

fn blob(buf: &[u8], pos: &mut usize, len: i64) -> Result<Option<Bytes>, DecodeError> {
    let len = usize::try_from(len).map_err(|_| DecodeError("negative length".into()))?;
    let end = *pos + len;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    let b = Bytes::copy_from_slice(buf.get(*pos..end).unwrap_or(&[]));
    *pos = end + 2;
    Ok(Some(b))
}

fn frames(
    buf: &[u8],
    pos: &mut usize,
    n: i64,
    depth: usize,
) -> Result<Option<Vec<Frame>>, DecodeError> {
    let n = usize::try_from(n).map_err(|_| DecodeError("negative count".into()))?;
    let mut v = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        match frame(buf, pos, depth + 1)? {
            Some(f) => v.push(f),
            None => return Ok(None),
        }
    }
    Ok(Some(v))
}

fn pairs(
    buf: &[u8],
    pos: &mut usize,
    n: i64,
    depth: usize,
) -> Result<Option<Vec<(Frame, Frame)>>, DecodeError> {
    let Some(flat) = frames(buf, pos, n.saturating_mul(2), depth)? else {
        return Ok(None);
    };
    let mut it = flat.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(Some(out))
}

/// Move `pos` past one complete frame; false when `buf` ends first.
fn skip(buf: &[u8], pos: &mut usize, depth: usize) -> Result<bool, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError("nesting too deep".into()));
    }
    let Some(&kind) = buf.get(*pos) else {
        return Ok(false);
    };
    *pos += 1;
    let Some(body) = line(buf, pos) else {
        return Ok(false);
    };
    let children = match kind {
        b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => return Ok(true),
        b'$' | b'!' | b'=' => {
            let Ok(n) = usize::try_from(int(body)?) else {
                return Ok(true);
            };
            *pos = pos.saturating_add(n).saturating_add(2);
            return Ok(*pos <= buf.len());
        }
        b'*' | b'~' | b'>' => int(body)?,
        b'%' => int(body)?.saturating_mul(2),
        // Attributes, then the value they annotate.
        b'|' => int(body)?.saturating_mul(2).saturating_add(1),
        other => {
            return Err(DecodeError(format!(
                "unknown type byte {:?}",
                char::from(other)
            )));
        }
    };
    for _ in 0..children.max(0) {
        if !skip(buf, pos, depth + 1)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn frame(buf: &[u8], pos: &mut usize, depth: usize) -> Result<Option<Frame>, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError("nesting too deep".into()));
    }
    let Some(&kind) = buf.get(*pos) else {
        return Ok(None);
    };
    let start = *pos;
    *pos += 1;
    let Some(body) = line(buf, pos) else {
        *pos = start;
        return Ok(None);
    };
    let result = match kind {
        b'+' => Some(Frame::Simple(Bytes::copy_from_slice(body))),
        b'-' => Some(Frame::Error(Bytes::copy_from_slice(body))),
        b':' => Some(Frame::Integer(int(body)?)),
        b'_' => Some(Frame::Null),
        b'#' => Some(Frame::Boolean(body == b"t")),
        b',' => {
            let s = String::from_utf8_lossy(body);
            let d = match s.as_ref() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                other => other
                    .parse()
                    .map_err(|_| DecodeError(format!("bad double {other}")))?,
            };
            Some(Frame::Double(d))
        }
        b'(' => Some(Frame::BigNumber(Bytes::copy_from_slice(body))),
        b'$' | b'!' | b'=' => {
            let n = int(body)?;
            if n < 0 {
                Some(Frame::Null)
            } else {
                match blob(buf, pos, n)? {
                    None => None,
                    Some(b) if kind == b'!' => Some(Frame::Error(b)),
                    Some(b) if kind == b'=' => {
                        let (fmt, txt) = if b.len() >= 4 {
                            (b.slice(0..3), b.slice(4..))
                        } else {
                            (Bytes::new(), b)
                        };
                        Some(Frame::Verbatim(fmt, txt))
                    }
                    Some(b) => Some(Frame::Bulk(b)),
                }
            }
        }
        b'*' | b'~' | b'>' => {
            let n = int(body)?;
            if n < 0 {
                Some(Frame::NullArray)
            } else {
                frames(buf, pos, n, depth)?.map(|v| match kind {
                    b'~' => Frame::Set(v),
                    b'>' => Frame::Push(v),
                    _ => Frame::Array(v),
                })
            }
        }
        b'%' => pairs(buf, pos, int(body)?, depth)?.map(Frame::Map),
        b'|' => {
            let Some(attrs) = pairs(buf, pos, int(body)?, depth)? else {
                *pos = start;
                return Ok(None);
            };
            frame(buf, pos, depth + 1)?.map(|v| Frame::Attribute(attrs, Box::new(v)))
        }
        other => {
            return Err(DecodeError(format!(
                "unknown type byte {:?}",
                char::from(other)
            )));
        }
    };
    if result.is_none() {
        *pos = start;
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let frames = vec![
            Frame::simple("OK"),
            Frame::error("ERR x"),
            Frame::Integer(-3),
            Frame::bulk("hi"),
            Frame::Null,
            Frame::NullArray,
            Frame::Array(vec![Frame::Integer(1), Frame::Array(vec![])]),
            Frame::Map(vec![(Frame::bulk("a"), Frame::Double(1.5))]),
            Frame::Set(vec![Frame::bulk("x")]),
            Frame::Boolean(true),
            Frame::Verbatim(Bytes::from_static(b"txt"), Bytes::from_static(b"hello")),
            Frame::Push(vec![Frame::bulk("message")]),
            Frame::Attribute(
                vec![(Frame::simple("ttl"), Frame::Integer(3))],
                Box::new(Frame::Array(vec![Frame::bulk("v"), Frame::Null])),
            ),
        ];
        for f in frames {
            let mut v = Vec::new();
            f.write_to(&mut v);
            let (g, used) = decode(&v).unwrap().unwrap();
            assert_eq!(used, v.len());
            assert_eq!(g, f);
            for cut in 0..v.len() {
                assert_eq!(decode(&v[..cut]).unwrap(), None, "cut {cut} of {f:?}");
            }
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(decode(b"?what\r\n").is_err());
        assert!(decode(b":abc\r\n").is_err());
    }
}
