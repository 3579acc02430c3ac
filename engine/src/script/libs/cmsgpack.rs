//! `cmsgpack`: lua-cmsgpack 0.4.0 as Redis ships it — `pack(...)`,
//! `unpack(s)`, `unpack_one(s [, offset])`, `unpack_limit(s, limit [, offset])`.
//!
//! Packing: each argument is encoded in turn and the encodings
//! concatenated. A table is an array when its keys are exactly the integers
//! 1..n (`table_is_an_array`), else a map; tables nested 16 deep encode as
//! nil (which also stops reference cycles). Numbers that are integers in
//! int64 range use the smallest int/uint format, others float 32 when exact,
//! else float 64. Strings use fixstr/str8/str16/str32 headers; nil,
//! functions, userdata and threads encode as nil.
//!
//! Unpacking understands what the original does: no bin, ext or fixext
//! (those are "Bad data format in input."), uint 64 values wrap to negative
//! numbers, map entries with a nil or NaN key fail as Lua's `settable` does.
//! Nesting is not limited by a depth but by the Lua stack of the C function;
//! the slot counting is reproduced, so deep inputs fail with the same
//! "stack overflow (...)" messages.
//!
//! No known deviation from Redis.

use super::{
    arg_error, check_integer, check_string, function, located, opt_integer, trunc_i32, trunc_i64,
    Args, LibResult, Raise, Ret, Spine, LUA_MAX_C_STACK,
};
use mlua::{Lua, Table, Value};

/// Tables nested this deep are encoded as nil.
const MAX_NESTING: usize = 16;

/// The `cmsgpack` table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("pack", function(lua, pack)?)?;
    t.set(
        "unpack",
        function(lua, |lua, a| {
            let s = check_string(lua, &a, 1)?;
            unpack_full(lua, &s.as_bytes(), 0, 0)
        })?,
    )?;
    t.set(
        "unpack_one",
        function(lua, |lua, a| {
            let offset = opt_integer(lua, &a, 2, 0)?;
            let s = check_string(lua, &a, 1)?;
            unpack_full(lua, &s.as_bytes(), 1, offset)
        })?,
    )?;
    t.set(
        "unpack_limit",
        function(lua, |lua, a| {
            let limit = check_integer(lua, &a, 2)?;
            let offset = opt_integer(lua, &a, 3, 0)?;
            let s = check_string(lua, &a, 1)?;
            unpack_full(lua, &s.as_bytes(), limit, offset)
        })?,
    )?;
    t.set("_NAME", "cmsgpack")?;
    t.set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

/// `luaL_checkstack` as the C code uses it: `top` slots are in use.
fn check_stack(top: usize, extra: usize, what: &str) -> LibResult<()> {
    if top + extra > LUA_MAX_C_STACK {
        return located(format!("stack overflow ({what})"));
    }
    Ok(())
}

// ---------------------------------------------------------------- packing

/// `cmsgpack.pack(...)`.
fn pack(lua: &Lua, args: Args) -> LibResult<Ret> {
    let nargs = args.len();
    if nargs == 0 {
        return arg_error(0, "MessagePack pack needs input.");
    }
    // lua_checkstack(L, nargs) with the nargs arguments already there.
    if 2 * nargs > LUA_MAX_C_STACK {
        return arg_error(0, "Too many arguments for MessagePack pack.");
    }
    let mut buf = Vec::new();
    for i in 1..=nargs {
        // The C code keeps each argument's encoding on the stack until the
        // final concatenation, then pushes a copy of the next argument.
        let v = args.get(i).unwrap_or(Value::Nil);
        encode(&mut buf, &v, 0, nargs + i)?;
    }
    Ok(Value::String(lua.create_string(&buf)?).into())
}

/// Encode `v`, which the C code would have at stack slot `top`.
fn encode(buf: &mut Vec<u8>, v: &Value, level: usize, top: usize) -> LibResult<()> {
    match v {
        Value::String(s) => encode_bytes(buf, &s.as_bytes()),
        Value::Boolean(b) => buf.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_number(buf, *i as f64),
        Value::Number(n) => encode_number(buf, *n),
        Value::Table(t) if level < MAX_NESTING => {
            if is_array(t, top)? {
                encode_array(buf, t, level, top)?;
            } else {
                encode_map(buf, t, level, top)?;
            }
        }
        _ => buf.push(0xc0),
    }
    Ok(())
}

fn encode_bytes(buf: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        buf.push(0xa0 | len as u8);
    } else if len <= 0xff {
        buf.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        buf.push(0xda);
        buf.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        buf.push(0xdb);
        buf.extend_from_slice(&(len as u32).to_be_bytes());
    }
    buf.extend_from_slice(s);
}

/// Integers (as int64 sees them) in the smallest integer format, other
/// numbers as float 32 when that is exact, else float 64.
fn encode_number(buf: &mut Vec<u8>, n: f64) {
    let i = trunc_i64(n);
    if !n.is_infinite() && i as f64 == n {
        encode_int(buf, i);
        return;
    }
    let f = n as f32;
    if f64::from(f) == n {
        buf.push(0xca);
        buf.extend_from_slice(&f.to_be_bytes());
    } else {
        buf.push(0xcb);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_int(buf: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            buf.push(n as u8);
        } else if n <= 0xff {
            buf.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            buf.push(0xcd);
            buf.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            buf.push(0xce);
            buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            buf.push(0xcf);
            buf.extend_from_slice(&n.to_be_bytes());
        }
    } else if n >= -32 {
        buf.push(n as i8 as u8);
    } else if n >= -128 {
        buf.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        buf.push(0xd1);
        buf.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        buf.push(0xd2);
        buf.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        buf.push(0xd3);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_header(buf: &mut Vec<u8>, n: usize, fix: u8, short: u8, long: u8) {
    if n <= 15 {
        buf.push(fix | n as u8);
    } else if n <= 65535 {
        buf.push(short);
        buf.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        buf.push(long);
        buf.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// `table_is_an_array`: every key a positive number equal to its C `int`
/// conversion, and the largest one equal to the count.
fn is_array(t: &Table, top: usize) -> LibResult<bool> {
    check_stack(top, 2, "in function table_is_an_array")?;
    let mut count: i32 = 0;
    let mut max: i32 = 0;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(false),
        };
        if n <= 0.0 || n.is_infinite() || f64::from(trunc_i32(n)) != n {
            return Ok(false);
        }
        if n > f64::from(max) {
            max = trunc_i32(n);
        }
        count = count.wrapping_add(1);
    }
    Ok(max == count)
}

/// Elements 1..#t, read with metamethods as `lua_gettable` does.
fn encode_array(buf: &mut Vec<u8>, t: &Table, level: usize, top: usize) -> LibResult<()> {
    let len = t.raw_len();
    encode_header(buf, len, 0x90, 0xdc, 0xdd);
    check_stack(top, 1, "in function mp_encode_lua_table_as_array")?;
    for j in 1..=len {
        let v: Value = t.get(j)?;
        encode(buf, &v, level + 1, top + 1)?;
    }
    Ok(())
}

fn encode_map(buf: &mut Vec<u8>, t: &Table, level: usize, top: usize) -> LibResult<()> {
    check_stack(top, 3, "in function mp_encode_lua_table_as_map")?;
    let mut len = 0usize;
    for pair in t.pairs::<Value, Value>() {
        pair?;
        len += 1;
    }
    encode_header(buf, len, 0x80, 0xde, 0xdf);
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair?;
        // Stack: table, key, value, copy of key.
        encode(buf, &k, level + 1, top + 3)?;
        encode(buf, &v, level + 1, top + 2)?;
    }
    Ok(())
}

// -------------------------------------------------------------- unpacking

/// Why decoding stopped short (the cursor error of the C code).
enum Stop {
    /// Not enough bytes: "Missing bytes in input."
    Eof,
    /// A byte that starts no known type: "Bad data format in input."
    BadFormat,
    /// Any other error, raised as is.
    Raise(Raise),
}

impl From<Raise> for Stop {
    fn from(r: Raise) -> Self {
        Stop::Raise(r)
    }
}

impl From<mlua::Error> for Stop {
    fn from(e: mlua::Error) -> Self {
        Stop::Raise(Raise::Lua(e))
    }
}

/// `mp_unpack_full`: decode up to `limit` values from `offset` (both 0:
/// all values, and no offset result).
fn unpack_full(lua: &Lua, s: &[u8], limit: i64, offset: i64) -> LibResult<Ret> {
    let len = s.len();
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        // The original prints the input length where it means the limit.
        return located(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        ));
    }
    let Some(rest) = usize::try_from(offset).ok().and_then(|o| s.get(o..)) else {
        return located(format!(
            "Start offset {} greater than input length {}.",
            offset as i32, len as i32
        ));
    };
    let limit = if decode_all {
        i64::from(i32::MAX)
    } else {
        limit
    };
    let results = lua.create_table()?;
    // The offset result goes first; values follow.
    let first = if decode_all { 1 } else { 2 };
    let mut dec = Decoder {
        lua,
        data: rest,
        pos: 0,
        spine: Spine::new(lua)?,
    };
    let mut count = 0usize;
    while dec.pos < rest.len() && (count as i64) < limit {
        // The string argument and the values decoded so far are on the stack.
        match dec.value(1 + count) {
            Ok(v) => results.raw_set(first + count, v)?,
            Err(Stop::Eof) => return located("Missing bytes in input."),
            Err(Stop::BadFormat) => return located("Bad data format in input."),
            Err(Stop::Raise(r)) => return Err(r),
        }
        count += 1;
    }
    if decode_all {
        return Ok(Ret::Spread(results, count));
    }
    let left = rest.len() - dec.pos;
    let next = if left == 0 { -1 } else { (len - left) as i64 };
    results.raw_set(1, next)?;
    Ok(Ret::Spread(results, count + 1))
}

/// An open array or map while decoding.
struct Frame {
    /// Where the container's table is parked in the spine.
    slot: usize,
    /// Elements (or entries) still to read.
    remaining: u64,
    kind: FrameKind,
}

enum FrameKind {
    /// Next index to assign.
    Array(i64),
    /// Whether the key of the current entry has been read (and parked
    /// above the table).
    Map(bool),
}

struct Decoder<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    pos: usize,
    /// Tables under construction and pending map keys (see [`Spine`]).
    spine: Spine,
}

impl Decoder<'_> {
    fn need(&self, n: usize) -> Result<(), Stop> {
        if self.data.len() - self.pos < n {
            return Err(Stop::Eof);
        }
        Ok(())
    }

    /// The `n` bytes after the type byte, once `need(1 + n)` passed.
    fn bytes<const N: usize>(&self) -> Result<[u8; N], Stop> {
        self.need(1 + N)?;
        let mut b = [0u8; N];
        b.copy_from_slice(&self.data[self.pos + 1..self.pos + 1 + N]);
        Ok(b)
    }

    /// A string of `len` bytes after a `hdr`-byte header.
    fn string(&mut self, hdr: usize, len: usize) -> Result<Value, Stop> {
        self.need(hdr)?;
        let start = self.pos + hdr;
        if self.data.len() - start < len {
            return Err(Stop::Eof);
        }
        let s = self.lua.create_string(&self.data[start..start + len])?;
        self.pos = start + len;
        Ok(Value::String(s))
    }

    /// `mp_decode_to_lua_type` for one complete value, without recursion:
    /// containers are frames, their tables parked in the spine. `top` is
    /// how many stack slots the C code would be using before pushing it.
    fn value(&mut self, top: usize) -> Result<Value, Stop> {
        let mut frames: Vec<Frame> = Vec::new();
        let mut top = top;
        // The innermost open container's table, also parked in the spine.
        let mut current: Option<Table> = None;
        loop {
            let mut v = match self.scalar_or_open(top)? {
                Item::Value(v) => v,
                Item::Open(table, n, array) => {
                    if n == 0 {
                        Value::Table(table)
                    } else {
                        self.spine.push(Value::Table(table.clone()))?;
                        frames.push(Frame {
                            slot: self.spine.len(),
                            remaining: n,
                            kind: if array {
                                FrameKind::Array(1)
                            } else {
                                FrameKind::Map(false)
                            },
                        });
                        current = Some(table);
                        // Array: table and index; map: table.
                        top += if array { 2 } else { 1 };
                        continue;
                    }
                }
            };
            // Store the finished value into its container; closing
            // containers as they fill up.
            loop {
                let Some(frame) = frames.last_mut() else {
                    return Ok(v);
                };
                let table = match &current {
                    Some(t) => t,
                    None => {
                        return Err(Stop::Raise(Raise::Lua(mlua::Error::runtime(
                            "cmsgpack: lost the container being decoded",
                        ))))
                    }
                };
                match &mut frame.kind {
                    FrameKind::Array(index) => {
                        table.raw_set(*index, v)?;
                        *index += 1;
                    }
                    FrameKind::Map(has_key) if !*has_key => {
                        self.spine.push(v)?;
                        *has_key = true;
                        top += 1;
                        break;
                    }
                    FrameKind::Map(has_key) => {
                        let key = self.spine.pop()?;
                        *has_key = false;
                        top -= 1;
                        match &key {
                            Value::Nil => {
                                return Err(Stop::Raise(Raise::Bare(
                                    b"table index is nil".to_vec(),
                                )))
                            }
                            Value::Number(n) if n.is_nan() => {
                                return Err(Stop::Raise(Raise::Bare(
                                    b"table index is NaN".to_vec(),
                                )))
                            }
                            _ => {}
                        }
                        table.raw_set(key, v)?;
                    }
                }
                frame.remaining -= 1;
                if frame.remaining > 0 {
                    break;
                }
                // Container complete: it becomes the value for its parent.
                let array = matches!(frame.kind, FrameKind::Array(_));
                frames.pop();
                self.spine.pop()?;
                top -= if array { 2 } else { 1 };
                let done = current.take();
                current = match frames.last() {
                    Some(parent) => match self.spine.get(parent.slot)? {
                        Value::Table(t) => Some(t),
                        _ => None,
                    },
                    None => None,
                };
                v = done.map_or(Value::Nil, Value::Table);
            }
        }
    }

    /// Read one scalar, or the header of an array or map (whose table is
    /// created and returned with its element count).
    fn scalar_or_open(&mut self, top: usize) -> Result<Item, Stop> {
        self.need(1)?;
        check_stack(
            top,
            1,
            "too many return values at once; use unpack_one or unpack_limit instead.",
        )?;
        let b = self.data[self.pos];
        let (v, used) = match b {
            0xcc => (num(f64::from(self.bytes::<1>()?[0])), 2),
            0xd0 => (num(f64::from(self.bytes::<1>()?[0] as i8)), 2),
            0xcd => (num(f64::from(u16::from_be_bytes(self.bytes()?))), 3),
            0xd1 => (num(f64::from(i16::from_be_bytes(self.bytes()?))), 3),
            0xce => (num(f64::from(u32::from_be_bytes(self.bytes()?))), 5),
            0xd2 => (num(f64::from(i32::from_be_bytes(self.bytes()?))), 5),
            // Pushed as a lua_Integer: values from 2^63 up wrap.
            0xcf => (num(u64::from_be_bytes(self.bytes()?) as i64 as f64), 9),
            0xd3 => (num(i64::from_be_bytes(self.bytes()?) as f64), 9),
            0xc0 => (Value::Nil, 1),
            0xc3 => (Value::Boolean(true), 1),
            0xc2 => (Value::Boolean(false), 1),
            0xca => (num(f64::from(f32::from_be_bytes(self.bytes()?))), 5),
            0xcb => (num(f64::from_be_bytes(self.bytes()?)), 9),
            0xd9 => {
                let len = usize::from(self.bytes::<1>()?[0]);
                return self.string(2, len).map(Item::Value);
            }
            0xda => {
                let len = usize::from(u16::from_be_bytes(self.bytes()?));
                return self.string(3, len).map(Item::Value);
            }
            0xdb => {
                let len = u32::from_be_bytes(self.bytes()?) as usize;
                return self.string(5, len).map(Item::Value);
            }
            0xdc => {
                let n = u16::from_be_bytes(self.bytes()?);
                self.pos += 3;
                return self.open(top, u64::from(n), true);
            }
            0xdd => {
                let n = u32::from_be_bytes(self.bytes()?);
                self.pos += 5;
                return self.open(top, u64::from(n), true);
            }
            0xde => {
                let n = u16::from_be_bytes(self.bytes()?);
                self.pos += 3;
                return self.open(top, u64::from(n), false);
            }
            0xdf => {
                let n = u32::from_be_bytes(self.bytes()?);
                self.pos += 5;
                return self.open(top, u64::from(n), false);
            }
            b if b & 0x80 == 0 => (num(f64::from(b)), 1),
            b if b & 0xe0 == 0xe0 => (num(f64::from(b as i8)), 1),
            b if b & 0xe0 == 0xa0 => {
                return self.string(1, usize::from(b & 0x1f)).map(Item::Value);
            }
            b if b & 0xf0 == 0x90 => {
                self.pos += 1;
                return self.open(top, u64::from(b & 0xf), true);
            }
            b if b & 0xf0 == 0x80 => {
                self.pos += 1;
                return self.open(top, u64::from(b & 0xf), false);
            }
            _ => return Err(Stop::BadFormat),
        };
        self.pos += used;
        Ok(Item::Value(v))
    }

    /// A new table for an array or map of `n` elements.
    fn open(&mut self, top: usize, n: u64, array: bool) -> Result<Item, Stop> {
        let table = self.lua.create_table()?;
        if array {
            // After lua_newtable.
            check_stack(top + 1, 1, "in function mp_decode_to_lua_array")?;
        }
        Ok(Item::Open(table, n, array))
    }
}

enum Item {
    Value(Value),
    /// A container's table, its element count, and whether it is an array.
    Open(Table, u64, bool),
}

fn num(n: f64) -> Value {
    Value::Number(n)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{err, lua, ok};

    // Expected values were taken from redis-server 7.0.15.

    const HEX: &str = "local function hex(s) return (s:gsub('.', function(c) \
                       return string.format('%02x', c:byte()) end)) end ";

    fn hex(l: &mlua::Lua, expr: &str) -> String {
        ok(l, &format!("{HEX} return hex({expr})"))
    }

    #[test]
    fn pack_numbers() {
        let l = lua();
        assert_eq!(
            hex(
                &l,
                "cmsgpack.pack(1, -1, -33, 128, 256, 65536, 2^32, 2^53, -2^63, 2^63, \
                 1.5, 0.1, 1/0, 0/0)"
            ),
            "01ffd0dfcc80cd0100ce00010000cf0000000100000000cf0020000000000000\
             d38000000000000000ca5f000000ca3fc00000cb3fb999999999999aca7f800000\
             cbfff8000000000000"
        );
    }

    #[test]
    fn pack_tables_and_other_types() {
        let l = lua();
        assert_eq!(
            hex(
                &l,
                "cmsgpack.pack({1,2,3}, {a=1}, {}, {[1]=1,[3]=3}, {[1.5]=1}, true, false, \
                 nil, 'abc', string.rep('x', 40))"
            ),
            format!(
                "9301020381a1610190820101030381ca3fc0000001c3c2c0a3616263d928{}",
                "78".repeat(40)
            )
        );
        assert_eq!(
            hex(
                &l,
                "(function() local t = {} t[1] = t return cmsgpack.pack(t) end)()"
            ),
            format!("{}c0", "91".repeat(16))
        );
        assert_eq!(hex(&l, "cmsgpack.pack(cjson.null, type)"), "c0c0");
        assert_eq!(hex(&l, "cmsgpack.pack({[2^31]=1})"), "81ce8000000001");
        assert_eq!(hex(&l, "cmsgpack.pack({[-1]=1})"), "81ff01");
        assert_eq!(
            hex(&l, "cmsgpack.pack(string.rep('x', 256)):sub(1, 6)"),
            "da0100787878"
        );
        assert_eq!(
            hex(&l, "cmsgpack.pack(string.rep('x', 65536)):sub(1, 8)"),
            "db00010000787878"
        );
    }

    #[test]
    fn unpack_values() {
        let l = lua();
        let t = |code: &str| ok(&l, &format!("return table.concat({{{code}}}, ',')"));
        assert_eq!(t("cmsgpack.unpack(cmsgpack.pack(1, 2, 3))"), "1,2,3");
        assert_eq!(t("cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))"), "1,1");
        assert_eq!(t("cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)"), "2,2");
        assert_eq!(t("cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)"), "-1,3");
        assert_eq!(t("cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 3)"), "-1");
        assert_eq!(
            t("cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)"),
            "2,1,2"
        );
        assert_eq!(
            t("cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 1)"),
            "1"
        );
        assert_eq!(t("cmsgpack.unpack_one('\\1\\2', '1')"), "-1,2");
        assert_eq!(
            t("cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255')"),
            "-1"
        );
        assert_eq!(t("cmsgpack.unpack('\\209\\255\\1')"), "-255");
        assert_eq!(t("cmsgpack.unpack('\\210\\255\\255\\255\\1')"), "-255");
        assert_eq!(t("cmsgpack.unpack('\\208\\128', '\\224')"), "-128");
        assert_eq!(
            t("tostring(cmsgpack.unpack('\\211\\128\\0\\0\\0\\0\\0\\0\\1'))"),
            "-9.2233720368548e+18"
        );
        assert_eq!(t("cmsgpack.unpack('\\202\\63\\192\\0\\0')"), "1.5");
        assert_eq!(ok(&l, "return select('#', cmsgpack.unpack(''))"), "0");
        assert_eq!(
            ok(
                &l,
                "local t = cmsgpack.unpack('\\147\\1\\192\\3') return #t .. ',' .. t[3]"
            ),
            "1,3"
        );
        assert_eq!(
            ok(
                &l,
                "local t = cmsgpack.unpack(cmsgpack.pack({a={b={1,2,{c='d'}}}})) return t.a.b[3].c"
            ),
            "d"
        );
    }

    #[test]
    fn errors() {
        let l = lua();
        let cases = [
            (
                "cmsgpack.pack()",
                "user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.)",
            ),
            (
                "cmsgpack.unpack('\\193')",
                "user_script:1: Bad data format in input.",
            ),
            (
                "cmsgpack.unpack('\\196\\1a')",
                "user_script:1: Bad data format in input.",
            ),
            (
                "cmsgpack.unpack('\\146\\1')",
                "user_script:1: Missing bytes in input.",
            ),
            (
                "cmsgpack.unpack('\\217\\5abc')",
                "user_script:1: Missing bytes in input.",
            ),
            ("cmsgpack.unpack('\\129\\192\\1')", "table index is nil"),
            (
                "cmsgpack.unpack('\\129\\203\\127\\248\\0\\0\\0\\0\\0\\0\\1')",
                "table index is NaN",
            ),
            (
                "cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 4)",
                "user_script:1: Start offset 4 greater than input length 3.",
            ),
            (
                "cmsgpack.unpack_one(cmsgpack.pack(1,2,3), -1)",
                "user_script:1: Invalid request to unpack with offset of -1 and limit of 3.",
            ),
            (
                "cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), -1)",
                "user_script:1: Invalid request to unpack with offset of 0 and limit of 3.",
            ),
            (
                "cmsgpack.unpack()",
                "user_script:1: bad argument #1 to 'unpack' (string expected, got no value)",
            ),
            (
                "cmsgpack.unpack_limit('a')",
                "user_script:1: bad argument #2 to 'unpack_limit' (number expected, got no value)",
            ),
            (
                "cmsgpack.unpack_one('\\1\\2', 'x')",
                "user_script:1: bad argument #2 to 'unpack_one' (number expected, got string)",
            ),
        ];
        for (code, want) in cases {
            assert_eq!(err(&l, &format!("return {code}")), want, "{code}");
        }
    }

    #[test]
    fn deep_and_long_inputs_hit_the_c_stack_limits() {
        let l = lua();
        assert_eq!(
            err(
                &l,
                "return cmsgpack.unpack(string.rep('\\145', 5000) .. '\\1')"
            ),
            "user_script:1: stack overflow (in function mp_decode_to_lua_array)"
        );
        assert_eq!(
            err(&l, "return cmsgpack.unpack(string.rep('\\1', 8000))"),
            "user_script:1: stack overflow (too many return values at once; \
             use unpack_one or unpack_limit instead.)"
        );
        assert_eq!(
            ok(
                &l,
                "return select('#', cmsgpack.unpack(string.rep('\\1', 7998)))"
            ),
            "7998"
        );
    }
}
