//! `bit`: LuaBitOp 1.0.2, the bit operations Redis exposes to scripts.
//!
//! Every operand is normalised to a signed 32-bit integer the way LuaBitOp
//! does on doubles: add 2^52 + 2^51 and keep the low 32 bits of the result's
//! representation. That rounds to nearest and wraps modulo 2^32 (so
//! `bit.tobit(2^32 + 1) == 1` and `bit.tobit(1.5) == 2`), and for huge or
//! non-finite values yields whatever those bits are, exactly as in C.
//! Results are returned as signed 32-bit numbers. Strings convert as Lua
//! converts them; other types fail with "number expected, got <type>".
//!
//! No known deviation from Redis.

use super::{function, type_error, Args, LibResult, Ret};
use mlua::{Lua, Table, Value};

/// The `bit` table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("tobit", function(lua, |lua, a| ret(barg(lua, &a, 1)?))?)?;
    t.set("bnot", function(lua, |lua, a| ret(!barg(lua, &a, 1)?))?)?;
    t.set("band", function(lua, |lua, a| fold(lua, &a, |x, y| x & y))?)?;
    t.set("bor", function(lua, |lua, a| fold(lua, &a, |x, y| x | y))?)?;
    t.set("bxor", function(lua, |lua, a| fold(lua, &a, |x, y| x ^ y))?)?;
    t.set(
        "lshift",
        function(lua, |lua, a| shift(lua, &a, |b, n| b << n))?,
    )?;
    t.set(
        "rshift",
        function(lua, |lua, a| shift(lua, &a, |b, n| b >> n))?,
    )?;
    t.set(
        "arshift",
        function(lua, |lua, a| {
            shift(lua, &a, |b, n| ((b as i32) >> n) as u32)
        })?,
    )?;
    t.set(
        "rol",
        function(lua, |lua, a| shift(lua, &a, u32::rotate_left))?,
    )?;
    t.set(
        "ror",
        function(lua, |lua, a| shift(lua, &a, u32::rotate_right))?,
    )?;
    t.set(
        "bswap",
        function(lua, |lua, a| ret(barg(lua, &a, 1)?.swap_bytes()))?,
    )?;
    t.set("tohex", function(lua, tohex)?)?;
    Ok(t)
}

/// LuaBitOp's double-to-bits conversion (see the module doc).
pub(crate) fn tobit(n: f64) -> u32 {
    // Truncation to the low 32 bits is the point.
    (n + 6_755_399_441_055_744.0).to_bits() as u32
}

/// Argument `n` as bits: `lua_tonumber`, then the conversion; a value that
/// is not a number and converts to 0 is a type error (`barg` in C).
fn barg(lua: &Lua, args: &Args, n: usize) -> LibResult<u32> {
    let x = super::to_number(lua, args.get(n).as_ref())?;
    let b = tobit(x.unwrap_or(0.0));
    if b == 0 && x.is_none() {
        return type_error(args, n, "number");
    }
    Ok(b)
}

/// Bits back to a Lua number, as a signed 32-bit value.
fn ret(b: u32) -> LibResult<Ret> {
    Ok(Value::Number(f64::from(b as i32)).into())
}

/// band/bor/bxor: the first argument combined with every other one. C
/// converts the others from the last to the second, which decides which
/// bad argument is reported.
fn fold(lua: &Lua, args: &Args, op: fn(u32, u32) -> u32) -> LibResult<Ret> {
    let mut b = barg(lua, args, 1)?;
    for i in (2..=args.len()).rev() {
        b = op(b, barg(lua, args, i)?);
    }
    ret(b)
}

/// Shifts and rotations: the count is taken modulo 32.
fn shift(lua: &Lua, args: &Args, op: fn(u32, u32) -> u32) -> LibResult<Ret> {
    let b = barg(lua, args, 1)?;
    let n = barg(lua, args, 2)? & 31;
    ret(op(b, n))
}

/// `bit.tohex(x [, n])`: `n` hex digits (default 8, at most 8), upper case
/// when `n` is negative.
fn tohex(lua: &Lua, args: Args) -> LibResult<Ret> {
    let mut b = barg(lua, &args, 1)?;
    let mut n: i32 = if args.get(2).is_none() {
        8
    } else {
        barg(lua, &args, 2)? as i32
    };
    let digits: &[u8; 16] = if n < 0 {
        n = n.wrapping_neg();
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    // n == i32::MIN stays negative after negation; C would then push a
    // string of absurd length. Treat it as empty.
    let n = usize::try_from(n.min(8)).unwrap_or(0);
    let mut buf = [0u8; 8];
    for slot in buf[..n].iter_mut().rev() {
        *slot = digits[(b & 15) as usize];
        b >>= 4;
    }
    Ok(Value::String(lua.create_string(&buf[..n])?).into())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{err, lua, ok};

    // Expected values were taken from redis-server 7.0.15.

    #[test]
    fn normalises_like_luabitop() {
        let l = lua();
        assert_eq!(ok(&l, "return bit.tobit(0xffffffff)"), "-1");
        assert_eq!(ok(&l, "return bit.tobit(2^32 + 1)"), "1");
        assert_eq!(ok(&l, "return bit.tobit(1.5)"), "2");
        assert_eq!(ok(&l, "return bit.tobit(2.5)"), "2");
        assert_eq!(ok(&l, "return bit.tobit(-1.5)"), "-2");
        assert_eq!(ok(&l, "return bit.tobit('12')"), "12");
        assert_eq!(ok(&l, "return bit.tobit(' 0x10 ')"), "16");
        assert_eq!(ok(&l, "return bit.tobit(2^53)"), "0");
        assert_eq!(ok(&l, "return bit.tobit(1/0)"), "0");
    }

    #[test]
    fn operations() {
        let l = lua();
        assert_eq!(ok(&l, "return bit.bnot(0)"), "-1");
        assert_eq!(ok(&l, "return bit.band(0xff, 0x0f, 0x3)"), "3");
        assert_eq!(ok(&l, "return bit.bor(1, 2, 4, 8)"), "15");
        assert_eq!(ok(&l, "return bit.bxor(0xf0, 0xff)"), "15");
        assert_eq!(ok(&l, "return bit.band(7)"), "7");
        assert_eq!(ok(&l, "return bit.lshift(1, 31)"), "-2147483648");
        assert_eq!(ok(&l, "return bit.lshift(1, 33)"), "2");
        assert_eq!(ok(&l, "return bit.rshift(-1, 28)"), "15");
        assert_eq!(ok(&l, "return bit.arshift(-256, 4)"), "-16");
        assert_eq!(ok(&l, "return bit.rol(0x12345678, 12)"), "1164411171");
        assert_eq!(ok(&l, "return bit.ror(0x12345678, 12)"), "1736516421");
        assert_eq!(ok(&l, "return bit.bswap(0x12345678)"), "2018915346");
    }

    #[test]
    fn tohex() {
        let l = lua();
        assert_eq!(ok(&l, "return bit.tohex(1)"), "00000001");
        assert_eq!(ok(&l, "return bit.tohex(-1)"), "ffffffff");
        assert_eq!(ok(&l, "return bit.tohex(-1, -8)"), "FFFFFFFF");
        assert_eq!(ok(&l, "return bit.tohex(0x1234abcd, 4)"), "abcd");
        assert_eq!(ok(&l, "return bit.tohex(0x1234abcd, -3)"), "BCD");
        assert_eq!(ok(&l, "return bit.tohex(255, 20)"), "000000ff");
        assert_eq!(ok(&l, "return bit.tohex(255, 0)"), "");
    }

    #[test]
    fn errors_name_the_function_and_argument() {
        let l = lua();
        assert_eq!(
            err(&l, "return bit.band('x')"),
            "user_script:1: bad argument #1 to 'band' (number expected, got string)"
        );
        assert_eq!(
            err(&l, "return bit.bor(1, 2, {}, nil)"),
            "user_script:1: bad argument #4 to 'bor' (number expected, got nil)"
        );
        assert_eq!(
            err(&l, "return bit.tobit()"),
            "user_script:1: bad argument #1 to 'tobit' (number expected, got no value)"
        );
        assert_eq!(
            err(&l, "return bit.tohex(1, nil)"),
            "user_script:1: bad argument #2 to 'tohex' (number expected, got nil)"
        );
        assert_eq!(
            ok(&l, "local ok, e = pcall(bit.lshift, 1) return e"),
            "bad argument #2 to '?' (number expected, got no value)"
        );
        assert_eq!(
            ok(
                &l,
                "local f = bit.rol local ok, e = pcall(function() return f(true, 1) end) return e"
            ),
            "user_script:1: bad argument #1 to 'f' (number expected, got boolean)"
        );
    }
}
