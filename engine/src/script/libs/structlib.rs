//! `struct`: Roberto Ierusalimschy's struct library (1.4) with the fixes
//! Redis applied (integral size overflow, offset and bounds checks):
//! `struct.pack(fmt, ...)`, `struct.unpack(fmt, data [, pos])` and
//! `struct.size(fmt)`.
//!
//! Format characters: `>` big endian, `<` little endian (the default, as on
//! x86-64), `![n]` maximum alignment (default 8), `x` a zero byte, `b`/`B`
//! signed/unsigned char, `h`/`H` short (2), `l`/`L` long (8), `T` size_t
//! (8), `i[n]`/`I[n]` integers of `n` bytes (default 4, at most 32), `f`
//! float, `d` double, `c[n]` `n` chars (`c0`: the whole string when packing,
//! the previous result as length when unpacking), `s` a zero-terminated
//! string, space ignored. Sizes and alignment are those of Redis on x86-64.
//!
//! Numbers go through the same C conversions as the original on x86-64
//! (truncation, out-of-range values becoming 2^63), integers wider than 8
//! bytes keep only 64 bits, and the odd shift counts of the original's sign
//! extension are reproduced. No known deviation from Redis.

use super::{
    arg_error, check_number_at, check_string, check_string_at, function, located, narg,
    opt_integer, trunc_i64, trunc_u64, Args, LibResult, Ret, LUA_MAX_C_STACK,
};
use mlua::{Lua, Table, Value};

/// Largest `i`/`I` size.
const MAX_INT_SIZE: usize = 32;
/// Default of `!` and the alignment of doubles on x86-64.
const MAX_ALIGN: usize = 8;

/// The `struct` table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("pack", function(lua, pack)?)?;
    t.set("unpack", function(lua, unpack)?)?;
    t.set("size", function(lua, size)?)?;
    Ok(t)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endian {
    Big,
    Little,
}

/// Current byte order and maximum alignment while walking a format.
struct Header {
    endian: Endian,
    align: usize,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            endian: Endian::Little,
            align: 1,
        }
    }
}

/// A cursor over the format string.
struct Format<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Format<'_> {
    /// Next option character; the format ends at its end or at a NUL byte,
    /// as the C string would.
    fn next_opt(&mut self) -> Option<u8> {
        let c = *self.bytes.get(self.pos)?;
        if c == 0 {
            return None;
        }
        self.pos += 1;
        Some(c)
    }

    /// `getnum`: a decimal number following the option, or `default`.
    fn number(&mut self, default: usize) -> LibResult<usize> {
        if !self.peek_digit() {
            return Ok(default);
        }
        let mut a: i32 = 0;
        while let Some(d) = self.peek_digit().then(|| self.bytes[self.pos] - b'0') {
            let d = i32::from(d);
            if a > i32::MAX / 10 || a * 10 > i32::MAX - d {
                return located("integral size overflow");
            }
            a = a * 10 + d;
            self.pos += 1;
        }
        Ok(a as usize)
    }

    fn peek_digit(&self) -> bool {
        self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit)
    }
}

/// `optsize`: how many bytes an option takes (0 for control options and
/// unknown ones, which `controloptions` then judges).
fn opt_size(opt: u8, fmt: &mut Format<'_>) -> LibResult<usize> {
    Ok(match opt {
        b'B' | b'b' | b'x' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' | b'd' => 8,
        b'f' => 4,
        b'c' => fmt.number(1)?,
        b'i' | b'I' => {
            let size = fmt.number(4)?;
            if size > MAX_INT_SIZE {
                return located(format!(
                    "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                ));
            }
            size
        }
        _ => 0,
    })
}

/// `gettoalign`: padding needed before an item of `size` bytes at `len`.
/// The arithmetic is the C one, also for sizes that are not powers of 2.
fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    size.wrapping_sub(len & size.wrapping_sub(1)) & size.wrapping_sub(1)
}

/// `controloptions`: endianness, alignment, spaces; anything else is an
/// invalid option.
fn control(opt: u8, fmt: &mut Format<'_>, h: &mut Header) -> LibResult<()> {
    match opt {
        b' ' => {}
        b'>' => h.endian = Endian::Big,
        b'<' => h.endian = Endian::Little,
        b'!' => {
            let a = fmt.number(MAX_ALIGN)?;
            if !a.is_power_of_two() {
                return located(format!("alignment {a} is not a power of 2"));
            }
            h.align = a;
        }
        _ => {
            let mut msg = b"invalid format option '".to_vec();
            msg.push(opt);
            msg.push(b'\'');
            return arg_error(1, msg);
        }
    }
    Ok(())
}

fn is_integer_opt(opt: u8) -> bool {
    matches!(
        opt,
        b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I'
    )
}

/// `struct.pack(fmt, ...)`.
fn pack(lua: &Lua, args: Args) -> LibResult<Ret> {
    let fmt_s = check_string(lua, &args, 1)?;
    let fmt_b = fmt_s.as_bytes();
    let mut fmt = Format {
        bytes: &fmt_b,
        pos: 0,
    };
    let mut h = Header::default();
    let mut arg = 2;
    let mut out: Vec<u8> = Vec::new();
    while let Some(opt) = fmt.next_opt() {
        let mut size = opt_size(opt, &mut fmt)?;
        let pad = to_align(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            o if is_integer_opt(o) => {
                let n = check_number_at(lua, pack_slot(&args, arg).as_ref(), narg(arg))?;
                arg += 1;
                put_integer(&mut out, n, h.endian, size);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = check_number_at(lua, pack_slot(&args, arg).as_ref(), narg(arg))? as f32;
                arg += 1;
                out.extend_from_slice(&match h.endian {
                    Endian::Little => f.to_le_bytes(),
                    Endian::Big => f.to_be_bytes(),
                });
            }
            b'd' => {
                let d = check_number_at(lua, pack_slot(&args, arg).as_ref(), narg(arg))?;
                arg += 1;
                out.extend_from_slice(&match h.endian {
                    Endian::Little => d.to_le_bytes(),
                    Endian::Big => d.to_be_bytes(),
                });
            }
            b'c' | b's' => {
                let s = check_string_at(lua, pack_slot(&args, arg).as_ref(), narg(arg))?;
                arg += 1;
                let s = s.as_bytes();
                if size == 0 {
                    size = s.len();
                }
                // The C code reports the argument after the string.
                let Some(part) = s.get(..size) else {
                    return arg_error(narg(arg), "string too short");
                };
                out.extend_from_slice(part);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => control(opt, &mut fmt, &mut h)?,
        }
    }
    Ok(Value::String(lua.create_string(&out)?).into())
}

/// What `b_pack` finds at stack index `k`: the arguments, then the nil it
/// pushes to separate them from its `luaL_Buffer`. The first missing
/// argument is therefore reported as "nil", not "no value" (and, failing,
/// stops the walk before anything beyond it is looked at).
fn pack_slot(args: &Args, k: usize) -> Option<Value> {
    if k == args.len() + 1 {
        Some(Value::Nil)
    } else {
        args.get(k)
    }
}

/// `putinteger`: the number as a C `unsigned long`, `size` bytes of it
/// (zeros beyond the 8th), in the given byte order.
fn put_integer(out: &mut Vec<u8>, n: f64, endian: Endian, size: usize) {
    let mut value = if n < 0.0 {
        trunc_i64(n) as u64
    } else {
        trunc_u64(n)
    };
    let start = out.len();
    for _ in 0..size {
        out.push((value & 0xff) as u8);
        value >>= 8;
    }
    if endian == Endian::Big {
        out[start..].reverse();
    }
}

/// `getinteger`: `size` bytes as an integer (only the last 64 bits read
/// survive), sign-extended with the C code's mask.
fn get_integer(bytes: &[u8], endian: Endian, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let mut add = |b: u8| l = (l << 8) | u64::from(b);
    match endian {
        Endian::Big => bytes.iter().for_each(|&b| add(b)),
        Endian::Little => bytes.iter().rev().for_each(|&b| add(b)),
    }
    if !signed {
        return l as f64;
    }
    // C shifts by size*8 - 1, which x86-64 takes modulo 64 (also for the
    // -1 of size 0 and for sizes beyond 8 bytes).
    let shift = (bytes.len() as u32).wrapping_mul(8).wrapping_sub(1);
    let mask = u64::MAX.wrapping_shl(shift);
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

/// `struct.unpack(fmt, data [, pos])`: the values, then the position after
/// the last byte read.
fn unpack(lua: &Lua, args: Args) -> LibResult<Ret> {
    let fmt_s = check_string(lua, &args, 1)?;
    let fmt_b = fmt_s.as_bytes();
    let mut fmt = Format {
        bytes: &fmt_b,
        pos: 0,
    };
    let data_s = check_string(lua, &args, 2)?;
    let data = data_s.as_bytes();
    let ld = data.len();
    // size_t in C: a negative offset wraps to a huge one and fails the bounds check.
    let pos = opt_integer(lua, &args, 3, 1)? as u64 as usize;
    if pos == 0 {
        return arg_error(3, "offset must be 1 or greater");
    }
    let mut pos = pos - 1;
    let mut h = Header::default();
    let results = lua.create_table()?;
    let mut n = 0usize;
    let too_short = || arg_error(2, "data string too short");
    while let Some(opt) = fmt.next_opt() {
        let mut size = opt_size(opt, &mut fmt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        if size > ld || pos > ld - size {
            return too_short();
        }
        if args.len() + n + 2 > LUA_MAX_C_STACK {
            return located("stack overflow (too many results)");
        }
        match opt {
            o if is_integer_opt(o) => {
                let v = get_integer(&data[pos..pos + size], h.endian, o.is_ascii_lowercase());
                n += 1;
                results.raw_set(n, v)?;
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[pos..pos + 4]);
                let f = match h.endian {
                    Endian::Little => f32::from_le_bytes(b),
                    Endian::Big => f32::from_be_bytes(b),
                };
                n += 1;
                results.raw_set(n, f64::from(f))?;
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[pos..pos + 8]);
                let d = match h.endian {
                    Endian::Little => f64::from_le_bytes(b),
                    Endian::Big => f64::from_be_bytes(b),
                };
                n += 1;
                results.raw_set(n, d)?;
            }
            b'c' => {
                if size == 0 {
                    // The length is the previous result, which must be a number.
                    let prev: Value = if n == 0 {
                        Value::Nil
                    } else {
                        results.raw_get(n)?
                    };
                    let Some(len) = super::to_number(lua, Some(&prev))? else {
                        return located("format 'c0' needs a previous size");
                    };
                    size = trunc_u64(len) as usize;
                    results.raw_set(n, Value::Nil)?;
                    n -= 1;
                    if size > ld || pos > ld - size {
                        return too_short();
                    }
                }
                n += 1;
                results.raw_set(n, lua.create_string(&data[pos..pos + size])?)?;
            }
            b's' => {
                let Some(end) = memchr::memchr(0, &data[pos..]) else {
                    return located("unfinished string in data");
                };
                size = end + 1;
                n += 1;
                results.raw_set(n, lua.create_string(&data[pos..pos + end])?)?;
            }
            _ => control(opt, &mut fmt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    n += 1;
    results.raw_set(n, Value::Number(pos.wrapping_add(1) as f64))?;
    Ok(Ret::Spread(results, n))
}

/// `struct.size(fmt)`: bytes a format packs to; `s` and `c0` have none.
fn size(lua: &Lua, args: Args) -> LibResult<Ret> {
    let fmt_s = check_string(lua, &args, 1)?;
    let fmt_b = fmt_s.as_bytes();
    let mut fmt = Format {
        bytes: &fmt_b,
        pos: 0,
    };
    let mut h = Header::default();
    let mut pos = 0usize;
    while let Some(opt) = fmt.next_opt() {
        let size = opt_size(opt, &mut fmt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        if opt == b's' {
            return arg_error(1, "option 's' has no fixed size");
        } else if opt == b'c' && size == 0 {
            return arg_error(1, "option 'c0' has no fixed size");
        }
        if !opt.is_ascii_alphanumeric() {
            control(opt, &mut fmt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(Value::Number(pos as f64).into())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{err, lua, ok};

    // Expected values were taken from redis-server 7.0.15.

    fn hex(l: &mlua::Lua, expr: &str) -> String {
        ok(
            l,
            &format!(
                "return (({expr}):gsub('.', function(c) \
                 return string.format('%02x', c:byte()) end))"
            ),
        )
    }

    #[test]
    fn pack_integers_and_floats() {
        let l = lua();
        assert_eq!(hex(&l, "struct.pack('>h', -2)"), "fffe");
        assert_eq!(hex(&l, "struct.pack('<i', 258)"), "02010000");
        assert_eq!(hex(&l, "struct.pack('>I3', 1)"), "000001");
        assert_eq!(hex(&l, "struct.pack('b', 1e20)"), "00");
        assert_eq!(hex(&l, "struct.pack('B', -1)"), "ff");
        assert_eq!(hex(&l, "struct.pack('>L', 2^64)"), "0000000000000000");
        assert_eq!(hex(&l, "struct.pack('>l', -2^63)"), "8000000000000000");
        assert_eq!(hex(&l, "struct.pack('>L', 0/0)"), "8000000000000000");
        assert_eq!(hex(&l, "struct.pack('>L', 1e19)"), "8ac7230489e80000");
        assert_eq!(hex(&l, "struct.pack('<i', '0x10')"), "10000000");
        assert_eq!(hex(&l, "struct.pack('>f', 1.5)"), "3fc00000");
        assert_eq!(hex(&l, "struct.pack('d', 1.5)"), "000000000000f83f");
        assert_eq!(
            hex(&l, "struct.pack('>i16', -1)"),
            "0000000000000000ffffffffffffffff"
        );
        assert_eq!(hex(&l, "struct.pack('i0', 1)"), "");
    }

    #[test]
    fn pack_strings_padding_alignment() {
        let l = lua();
        assert_eq!(hex(&l, "struct.pack('s', 'ab')"), "616200");
        assert_eq!(hex(&l, "struct.pack('c0', 12)"), "3132");
        assert_eq!(hex(&l, "struct.pack('c3', 'abcd')"), "616263");
        assert_eq!(hex(&l, "struct.pack('!4bi', 1, 2)"), "0100000002000000");
        assert_eq!(hex(&l, "struct.pack('bxh', 1, 2)"), "01000200");
        assert_eq!(hex(&l, "struct.pack('!bxh', 1, 2)"), "01000200");
        assert_eq!(
            hex(&l, "struct.pack('!bd', 1, 0)"),
            format!("01{}", "00".repeat(15))
        );
    }

    #[test]
    fn unpack() {
        let l = lua();
        let t = |code: &str| ok(&l, &format!("return table.concat({{{code}}}, ',')"));
        assert_eq!(t("struct.unpack('>i3', 'abc')"), "6382179,4");
        assert_eq!(t("struct.unpack('<i16', string.rep('\\255', 16))"), "-1,17");
        assert_eq!(t("struct.unpack('<i12', string.rep('\\255', 12))"), "-1,13");
        assert_eq!(t("struct.unpack('<h', '\\255\\127', 1)"), "32767,3");
        assert_eq!(
            t("struct.unpack('!4bi', 'a\\0\\0\\0\\1\\0\\0\\0')"),
            "97,1,9"
        );
        assert_eq!(
            t("struct.unpack('!2bi3', '\\1\\0\\2\\0\\0\\0\\0')"),
            "1,2,6"
        );
        assert_eq!(t("struct.unpack('bc0', '\\2abc')"), "ab,4");
        assert_eq!(t("struct.unpack('c1c0', '3abcdef')"), "abc,5");
        assert_eq!(t("struct.unpack('ss', 'ab\\0cd\\0')"), "ab,cd,7");
        assert_eq!(t("struct.unpack('i0', '')"), "0,1");
        assert_eq!(t("struct.unpack('b', 'abc', '2')"), "98,3");
        assert_eq!(t("struct.unpack('b', 'x', 1.9)"), "120,2");
        assert_eq!(t("struct.unpack('x', 'a')"), "2");
        assert_eq!(t("struct.unpack('b b', 'ab')"), "97,98,3");
        assert_eq!(
            t("tostring(struct.unpack('>f', struct.pack('>f', 0.1)))"),
            "0.10000000149012"
        );
        assert_eq!(t("struct.unpack('>d', struct.pack('>d', -2.5))"), "-2.5,9");
    }

    #[test]
    fn size() {
        let l = lua();
        assert_eq!(ok(&l, "return struct.size('!8bd')"), "16");
        assert_eq!(ok(&l, "return struct.size('z')"), "0");
        assert_eq!(ok(&l, "return struct.size('<>! x')"), "1");
        assert_eq!(ok(&l, "return struct.size('!4bi3')"), "6");
        assert_eq!(ok(&l, "return struct.size('bi3')"), "4");
        assert_eq!(ok(&l, "return struct.size('!bi3i')"), "12");
        assert_eq!(ok(&l, "return struct.size('!2b!8d')"), "16");
        assert_eq!(ok(&l, "return struct.size('!16d')"), "8");
        assert_eq!(ok(&l, "return struct.size('c20')"), "20");
    }

    #[test]
    fn errors() {
        let l = lua();
        let cases = [
            (
                "struct.pack('z')",
                "bad argument #1 to 'pack' (invalid format option 'z')",
            ),
            (
                "struct.pack('c5', 'ab')",
                "bad argument #3 to 'pack' (string too short)",
            ),
            ("struct.pack('c99999999999', 'a')", "integral size overflow"),
            (
                "struct.pack('i33', 1)",
                "integral size 33 is larger than limit of 32",
            ),
            ("struct.pack('!3i', 1)", "alignment 3 is not a power of 2"),
            ("struct.pack('!0')", "alignment 0 is not a power of 2"),
            (
                "struct.pack('i', 'ab')",
                "bad argument #2 to 'pack' (number expected, got string)",
            ),
            (
                "struct.pack('s')",
                "bad argument #2 to 'pack' (string expected, got nil)",
            ),
            (
                "struct.pack()",
                "bad argument #1 to 'pack' (string expected, got no value)",
            ),
            (
                "struct.pack(12)",
                "bad argument #1 to 'pack' (invalid format option '1')",
            ),
            (
                "struct.unpack('c0', 'abc', 1)",
                "format 'c0' needs a previous size",
            ),
            (
                "struct.unpack('c1c0', 'xabcdef')",
                "format 'c0' needs a previous size",
            ),
            (
                "struct.unpack('i1c0', '\\250abc', 1)",
                "bad argument #2 to 'unpack' (data string too short)",
            ),
            (
                "struct.unpack('i', 'abc')",
                "bad argument #2 to 'unpack' (data string too short)",
            ),
            ("struct.unpack('s', 'abc')", "unfinished string in data"),
            (
                "struct.unpack('b', 'abc', 0)",
                "bad argument #3 to 'unpack' (offset must be 1 or greater)",
            ),
            (
                "struct.unpack('b', 'abc', -1)",
                "bad argument #2 to 'unpack' (data string too short)",
            ),
            (
                "struct.unpack('b', 'x', 'y')",
                "bad argument #3 to 'unpack' (number expected, got string)",
            ),
            (
                "struct.unpack('b')",
                "bad argument #2 to 'unpack' (string expected, got no value)",
            ),
            (
                "struct.size('s')",
                "bad argument #1 to 'size' (option 's' has no fixed size)",
            ),
            (
                "struct.size('c0')",
                "bad argument #1 to 'size' (option 'c0' has no fixed size)",
            ),
            (
                "struct.size('#')",
                "bad argument #1 to 'size' (invalid format option '#')",
            ),
        ];
        for (code, want) in cases {
            assert_eq!(
                err(&l, &format!("return {code}")),
                format!("user_script:1: {want}"),
                "{code}"
            );
        }
    }
}
