//! Number formatting exactly as Redis prints numbers.
//!
//! Redis formats doubles with C's `printf("%.17g")` (RESP2 bulk strings and
//! RESP3 `,` doubles in Redis 7.0). Rust's `{:e}` formatting is exactly
//! rounded like glibc's, so `%.17g` is rebuilt from it: pick fixed or
//! exponential notation by the exponent, then strip trailing zeros.

use std::io::Write;

/// Append `d` formatted as C's `%.{precision}g` (no `#` flag).
pub fn write_g(out: &mut Vec<u8>, d: f64, precision: usize) {
    if d.is_nan() {
        out.extend_from_slice(if d.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
        return;
    }
    if d.is_infinite() {
        out.extend_from_slice(if d > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    let p = precision.max(1);
    // Scientific form with p significant digits, e.g. "1.2345000000000000e3".
    let sci = format!("{:.*e}", p - 1, d);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let p_i32 = i32::try_from(p).unwrap_or(i32::MAX);
    if exp < -4 || exp >= p_i32 {
        // Exponential notation: mantissa without trailing zeros, then e±XX.
        out.extend_from_slice(strip_zeros(mantissa).as_bytes());
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else {
        let decimals = usize::try_from(p_i32 - 1 - exp).unwrap_or(0);
        let fixed = format!("{:.*}", decimals, d);
        out.extend_from_slice(strip_zeros(&fixed).as_bytes());
    }
}

/// `%.17g`, the format of Redis 7.0 double replies.
pub fn write_g17(out: &mut Vec<u8>, d: f64) {
    write_g(out, d, 17);
}

/// A RESP3 double body: `inf`, `-inf`, `nan`, or `%.17g`.
pub fn write_double_resp3(out: &mut Vec<u8>, d: f64) {
    if d.is_nan() {
        out.extend_from_slice(b"nan");
    } else {
        write_g17(out, d);
    }
}

/// `%.17g` as a `String` (convenience for tests and the engine).
pub fn g17(d: f64) -> String {
    let mut v = Vec::with_capacity(24);
    write_g17(&mut v, d);
    String::from_utf8(v).unwrap_or_default()
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Append the decimal form of an integer without allocating.
pub fn write_int(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        // `n % 10` is below 10, so the cast cannot truncate.
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

/// Append the decimal form of an unsigned integer.
pub fn write_uint(out: &mut Vec<u8>, v: u64) {
    let mut buf = [0u8; 20];
    let mut n = v;
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Parse a signed 64-bit integer the way Redis's `string2ll` does: no
/// leading `+`, no leading zeros (except "0" itself), no spaces, no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [] => return None,
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [] => return None,
        [b'0'] if !neg => return Some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    if digits.len() > 19 {
        return None;
    }
    let mut acc: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        acc = acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if acc > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((acc as i64).wrapping_neg())
        }
    } else {
        i64::try_from(acc).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(d: f64) -> String {
        g17(d)
    }

    #[test]
    fn g17_matches_printf() {
        assert_eq!(g(0.0), "0");
        assert_eq!(g(1.0), "1");
        assert_eq!(g(1.5), "1.5");
        assert_eq!(g(0.1), "0.10000000000000001");
        assert_eq!(g(1.1), "1.1000000000000001");
        assert_eq!(g(100.0), "100");
        assert_eq!(g(1e17), "1e+17");
        assert_eq!(g(1e16), "10000000000000000");
        assert_eq!(g(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(g(0.0001), "0.0001");
        assert_eq!(g(0.00001), "1.0000000000000001e-05");
        assert_eq!(g(-2.5), "-2.5");
        assert_eq!(g(f64::INFINITY), "inf");
        assert_eq!(g(f64::NEG_INFINITY), "-inf");
        assert_eq!(g(3.0e-300), "3.0000000000000002e-300");
    }

    #[test]
    fn ints() {
        let mut v = Vec::new();
        write_int(&mut v, i64::MIN);
        assert_eq!(v, b"-9223372036854775808");
        v.clear();
        write_int(&mut v, 0);
        assert_eq!(v, b"0");
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b"12a"), None);
    }
}
