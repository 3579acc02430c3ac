//! Argument parsing shared by every command family: one cursor over a
//! request's arguments, and number parsers with Redis's exact rules
//! (`string2ll` for integers, `strtod`/`strtold` for floats).

use super::errors::{self, CmdError, CmdResult};
use bytes::Bytes;
use resp::Request;
use std::ffi::c_char;

/// A cursor over a request's arguments, starting after the command name
/// (or after the subcommand for container commands).
pub struct Args<'a> {
    req: &'a Request,
    pos: usize,
}

impl<'a> Args<'a> {
    /// Arguments of `req` from index `start`.
    pub fn new(req: &'a Request, start: usize) -> Self {
        Args { req, pos: start }
    }

    /// How many arguments are left.
    pub fn remaining(&self) -> usize {
        self.req.len().saturating_sub(self.pos)
    }

    /// True when all arguments were consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next argument (a syntax error when there is none). Not an
    /// `Iterator`: running out of arguments is an error, not the end.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> CmdResult<&'a [u8]> {
        if self.pos >= self.req.len() {
            return Err(errors::SYNTAX);
        }
        let a = self.req.arg(self.pos);
        self.pos += 1;
        Ok(a)
    }

    /// The next argument as zero-copy `Bytes`.
    pub fn next_bytes(&mut self) -> CmdResult<Bytes> {
        if self.pos >= self.req.len() {
            return Err(errors::SYNTAX);
        }
        let a = self.req.arg_bytes(self.pos);
        self.pos += 1;
        Ok(a)
    }

    /// The next argument without consuming it.
    pub fn peek(&self) -> Option<&'a [u8]> {
        (self.pos < self.req.len()).then(|| self.req.arg(self.pos))
    }

    /// The next argument parsed as an integer.
    pub fn next_i64(&mut self) -> CmdResult<i64> {
        parse_i64(self.next()?)
    }

    /// Everything not consumed yet.
    pub fn rest(&mut self) -> Vec<&'a [u8]> {
        let v = (self.pos..self.req.len())
            .map(|i| self.req.arg(i))
            .collect();
        self.pos = self.req.len();
        v
    }

    /// Index of the next argument in the request.
    pub fn position(&self) -> usize {
        self.pos
    }
}

/// ASCII case-insensitive comparison of an argument with a keyword.
#[inline]
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// A signed 64-bit integer (`ERR value is not an integer or out of range`).
pub fn parse_i64(b: &[u8]) -> CmdResult<i64> {
    resp::numfmt::parse_i64(b).ok_or(errors::NOT_INTEGER)
}

/// An integer with a custom error.
pub fn parse_i64_or(b: &[u8], err: CmdError) -> CmdResult<i64> {
    resp::numfmt::parse_i64(b).ok_or(err)
}

/// A double parsed as C's `strtod` with Redis's checks (no leading space,
/// whole string consumed, no NaN, no overflow to ±HUGE_VAL, no underflow to 0).
pub fn parse_f64(b: &[u8]) -> CmdResult<f64> {
    strtod_exact(b).ok_or(errors::NOT_FLOAT)
}

/// Like [`parse_f64`] but returning `None` instead of an error.
pub fn strtod_exact(b: &[u8]) -> Option<f64> {
    if b.is_empty() || b.len() > 4096 {
        return None;
    }
    if b.first()
        .is_some_and(|c| c.is_ascii_whitespace() || *c == 0x0b)
    {
        return None;
    }
    let mut buf = Vec::with_capacity(b.len() + 1);
    buf.extend_from_slice(b);
    buf.push(0);
    let mut end: *mut c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated and outlives the call; errno is read
    // right after on this thread.
    let (v, consumed, errno) = unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(buf.as_ptr().cast::<c_char>(), &mut end);
        let consumed = end.offset_from(buf.as_ptr().cast::<c_char>());
        (v, consumed, *libc::__errno_location())
    };
    if usize::try_from(consumed).ok() != Some(b.len()) || v.is_nan() {
        return None;
    }
    if errno == libc::ERANGE && (v.is_infinite() || v == 0.0) {
        return None;
    }
    Some(v)
}

/// C's `atof`: the longest numeric prefix, 0 when there is none.
pub fn atof(b: &[u8]) -> f64 {
    let mut buf = Vec::with_capacity(b.len() + 1);
    buf.extend(b.iter().take_while(|&&c| c != 0));
    buf.push(0);
    // SAFETY: `buf` is NUL-terminated and lives across the call.
    unsafe { libc::atof(buf.as_ptr().cast::<c_char>()) }
}

extern "C" {
    fn shoal_ld_add(
        cur: *const c_char,
        cur_len: usize,
        inc: *const c_char,
        inc_len: usize,
        out: *mut c_char,
        cap: usize,
    ) -> i32;
    fn shoal_ld_valid(s: *const c_char, len: usize) -> i32;
}

/// Why a long-double increment failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LdError {
    /// The stored value is not a valid float.
    BadCurrent,
    /// The increment is not a valid float.
    BadIncrement,
    /// The result would be NaN or infinite.
    NanOrInf,
}

/// `current + increment` in C long double, formatted as Redis does
/// (INCRBYFLOAT). `current: None` means 0.
pub fn long_double_add(current: Option<&[u8]>, increment: &[u8]) -> Result<Vec<u8>, LdError> {
    let mut out = vec![0u8; 5200];
    let (cp, cl) = match current {
        Some(c) => (c.as_ptr().cast::<c_char>(), c.len()),
        None => (std::ptr::null(), 0),
    };
    // SAFETY: all pointers are valid for the given lengths; the helper
    // copies inputs into its own buffers and writes at most `cap` bytes.
    let n = unsafe {
        shoal_ld_add(
            cp,
            cl,
            increment.as_ptr().cast::<c_char>(),
            increment.len(),
            out.as_mut_ptr().cast::<c_char>(),
            out.len(),
        )
    };
    match n {
        -1 => Err(LdError::BadCurrent),
        -2 => Err(LdError::BadIncrement),
        -3 => Err(LdError::NanOrInf),
        n if n < 0 => Err(LdError::NanOrInf),
        n => {
            out.truncate(usize::try_from(n).unwrap_or(0));
            Ok(out)
        }
    }
}

/// True when `b` is a valid long double for Redis (`string2ld`).
pub fn long_double_valid(b: &[u8]) -> bool {
    // SAFETY: pointer and length describe `b`.
    unsafe { shoal_ld_valid(b.as_ptr().cast::<c_char>(), b.len()) == 1 }
}

/// The optional count argument of LPOP / SPOP / ZPOPMIN and friends at
/// position 2 (`None` without one); `extra` is the error for more arguments.
pub fn optional_count(req: &resp::Request, extra: CmdError) -> CmdResult<Option<usize>> {
    match req.len() {
        2 => Ok(None),
        3 => match parse_i64(req.arg(2)) {
            Ok(c) if c >= 0 => Ok(Some(usize::try_from(c).unwrap_or(usize::MAX))),
            _ => Err(CmdError::fixed(
                "ERR value is out of range, must be positive",
            )),
        },
        _ => Err(extra),
    }
}

/// Parse a SCAN cursor like Redis's `strtoul`-based parser (negative values wrap).
pub fn parse_cursor(b: &[u8]) -> CmdResult<u64> {
    if b.is_empty() || b.first().is_some_and(u8::is_ascii_whitespace) {
        // strtoul("") yields 0 with an empty tail; Redis accepts "" as cursor 0.
        return if b.is_empty() {
            Ok(0)
        } else {
            Err(errors::INVALID_CURSOR)
        };
    }
    let (neg, digits) = match b {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, b),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(errors::INVALID_CURSOR);
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .ok_or(errors::INVALID_CURSOR)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_strtod() {
        assert_eq!(strtod_exact(b"1.5"), Some(1.5));
        assert_eq!(strtod_exact(b"inf"), Some(f64::INFINITY));
        assert_eq!(strtod_exact(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod_exact(b"0x10"), Some(16.0));
        assert_eq!(strtod_exact(b"1e400"), None);
        assert_eq!(strtod_exact(b"nan"), None);
        assert_eq!(strtod_exact(b" 1"), None);
        assert_eq!(strtod_exact(b"1 "), None);
        assert_eq!(strtod_exact(b""), None);
        assert_eq!(strtod_exact(b"abc"), None);
    }

    #[test]
    fn long_double_matches_redis_examples() {
        assert_eq!(long_double_add(Some(b"10.50"), b"0.1").unwrap(), b"10.6");
        assert_eq!(long_double_add(Some(b"5.0e3"), b"2.0e2").unwrap(), b"5200");
        assert_eq!(long_double_add(None, b"3").unwrap(), b"3");
        assert_eq!(long_double_add(Some(b"x"), b"3"), Err(LdError::BadCurrent));
        assert_eq!(
            long_double_add(Some(b"1"), b"y"),
            Err(LdError::BadIncrement)
        );
        assert_eq!(long_double_add(Some(b"1"), b"inf"), Err(LdError::NanOrInf));
        assert_eq!(long_double_add(Some(b"-1"), b"1").unwrap(), b"0");
    }

    #[test]
    fn cursors() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert!(parse_cursor(b"x").is_err());
        assert!(parse_cursor(b"18446744073709551616").is_err());
    }
}
