//! `cjson.decode`: JSON text to Lua values, following the C tokenizer,
//! and a `strtod` that reads numbers as glibc does.

use super::super::{
    arg_error, check_string, located, Args, LibResult, Ret, Spine, LUA_MAX_C_STACK,
};
use super::{null, Config};
use mlua::{Lua, Table, Value};
use std::borrow::Cow;

/// `cjson.decode(text)`.
pub(super) fn decode(lua: &Lua, args: &Args, cfg: Config) -> LibResult<Ret> {
    if args.len() != 1 {
        return arg_error(1, "expected 1 argument");
    }
    let text = check_string(lua, args, 1)?;
    let data = text.as_bytes();
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return located("JSON parser does not support UTF-16 or UTF-32");
    }
    let mut p = Parser {
        lua,
        data: &data,
        ptr: 0,
        cfg,
        depth: 0,
        spine: Spine::new(lua)?,
    };
    let first = p.next_token();
    let v = p.value(first)?;
    let last = p.next_token();
    if !matches!(last.kind, Tok::End) {
        return p.fail("the end", &last);
    }
    Ok(v.into())
}

enum Tok<'a> {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Cow<'a, [u8]>),
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    /// A token error, with its description.
    Error(&'static str),
}

struct Token<'a> {
    kind: Tok<'a>,
    /// 0-based offset where it starts (or where the error is).
    index: usize,
}

impl Tok<'_> {
    /// The name errors print for it.
    fn name(&self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str(_) => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

/// An array or object being read.
struct Nest {
    /// Its table's slot in the spine.
    slot: usize,
    /// C stack slot of the table.
    top: usize,
    /// Next array index, or `None` for an object.
    index: Option<i64>,
    /// The key whose value is being read (objects).
    key: Vec<u8>,
}

struct Parser<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    ptr: usize,
    cfg: Config,
    depth: usize,
    spine: Spine,
}

impl<'a> Parser<'a> {
    /// The byte at `i`; the C string's terminating NUL past the end.
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn fail<T>(&self, expected: &str, found: &Token<'_>) -> LibResult<T> {
        located(format!(
            "Expected {expected} but found {} at character {}",
            found.kind.name(),
            found.index + 1
        ))
    }

    /// `json_decode_descend`: one level deeper, with `slots` free stack
    /// slots needed above `top`.
    fn descend(&mut self, top: usize, slots: usize) -> LibResult<()> {
        self.depth += 1;
        if self.depth <= self.cfg.decode_max_depth as usize && top + slots <= LUA_MAX_C_STACK {
            return Ok(());
        }
        located(format!(
            "Found too many nested data structures ({}) at character {}",
            self.depth, self.ptr
        ))
    }

    /// `json_process_value` and the array/object contexts, iteratively.
    fn value(&mut self, first: Token<'a>) -> LibResult<Value> {
        let mut nests: Vec<Nest> = Vec::new();
        let mut current: Option<Table> = None;
        let mut tok = first;
        // C stack slot the next value goes to: the decode argument is slot 1.
        let mut top = 1usize;
        loop {
            let mut v = match tok.kind {
                Tok::Str(s) => Value::String(self.lua.create_string(&s)?),
                Tok::Num(n) => Value::Number(n),
                Tok::Bool(b) => Value::Boolean(b),
                Tok::Null => null(),
                Tok::ObjBegin | Tok::ArrBegin => {
                    let array = matches!(tok.kind, Tok::ArrBegin);
                    self.descend(top, if array { 2 } else { 3 })?;
                    let t = self.lua.create_table()?;
                    let next = self.next_token();
                    if matches!(next.kind, Tok::ArrEnd if array)
                        || matches!(next.kind, Tok::ObjEnd if !array)
                    {
                        self.depth -= 1;
                        Value::Table(t)
                    } else {
                        let (index, key, next) = if array {
                            (Some(1), Vec::new(), next)
                        } else {
                            let (key, next) = self.member_start(next)?;
                            (None, key, next)
                        };
                        self.spine.push(Value::Table(t.clone()))?;
                        nests.push(Nest {
                            slot: self.spine.len(),
                            top,
                            index,
                            key,
                        });
                        current = Some(t);
                        // Array: table; object: table and key.
                        top += if array { 1 } else { 2 };
                        tok = next;
                        continue;
                    }
                }
                _ => return self.fail("value", &tok),
            };
            // Store the value; close the containers it completes.
            loop {
                let Some(nest) = nests.last_mut() else {
                    return Ok(v);
                };
                let Some(table) = current.as_ref() else {
                    return Err(mlua::Error::runtime("cjson: lost the table being decoded").into());
                };
                match &mut nest.index {
                    Some(i) => {
                        table.raw_set(*i, v)?;
                        *i += 1;
                    }
                    None => table.raw_set(self.lua.create_string(&nest.key)?, v)?,
                }
                let array = nest.index.is_some();
                let next = self.next_token();
                let end = if array {
                    matches!(next.kind, Tok::ArrEnd)
                } else {
                    matches!(next.kind, Tok::ObjEnd)
                };
                if !end {
                    if !matches!(next.kind, Tok::Comma) {
                        let expected = if array {
                            "comma or array end"
                        } else {
                            "comma or object end"
                        };
                        return self.fail(expected, &next);
                    }
                    let next = self.next_token();
                    tok = if array {
                        next
                    } else {
                        let (key, next) = self.member_start(next)?;
                        nest.key = key;
                        next
                    };
                    break;
                }
                self.depth -= 1;
                top = nest.top;
                nests.pop();
                self.spine.pop()?;
                let done = current.take();
                current = match nests.last() {
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

    /// `"key" :` at the start of an object member; the key and the token
    /// after the colon.
    fn member_start(&mut self, tok: Token<'a>) -> LibResult<(Vec<u8>, Token<'a>)> {
        let Tok::Str(key) = tok.kind else {
            return self.fail("object key string", &tok);
        };
        let colon = self.next_token();
        if !matches!(colon.kind, Tok::Colon) {
            return self.fail("colon", &colon);
        }
        Ok((key.into_owned(), self.next_token()))
    }

    /// `json_next_token`.
    fn next_token(&mut self) -> Token<'a> {
        while matches!(self.at(self.ptr), b' ' | b'\t' | b'\n' | b'\r') {
            self.ptr += 1;
        }
        let index = self.ptr;
        let single = |kind| Token { kind, index };
        let ch = self.at(self.ptr);
        let kind = match ch {
            b'{' => Tok::ObjBegin,
            b'}' => Tok::ObjEnd,
            b'[' => Tok::ArrBegin,
            b']' => Tok::ArrEnd,
            b',' => Tok::Comma,
            b':' => Tok::Colon,
            0 => return single(Tok::End),
            b'"' => return self.string_token(),
            b'-' | b'0'..=b'9' => {
                if !self.cfg.decode_invalid_numbers && self.is_invalid_number() {
                    return single(Tok::Error("invalid number"));
                }
                return self.number_token();
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                let rest = &self.data[self.ptr..];
                if rest.starts_with(b"true") {
                    self.ptr += 4;
                    return single(Tok::Bool(true));
                } else if rest.starts_with(b"false") {
                    self.ptr += 5;
                    return single(Tok::Bool(false));
                } else if rest.starts_with(b"null") {
                    self.ptr += 4;
                    return single(Tok::Null);
                } else if self.cfg.decode_invalid_numbers && self.is_invalid_number() {
                    return self.number_token();
                }
                return single(Tok::Error("invalid token"));
            }
            _ => return single(Tok::Error("invalid token")),
        };
        self.ptr += 1;
        single(kind)
    }

    /// `json_is_invalid_number`: a number strict JSON refuses (leading `+`,
    /// hex, leading zeros, inf, nan) but `strtod` would read.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.ptr;
        match self.at(p) {
            b'+' => return true,
            b'-' => p += 1,
            _ => {}
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return c2 | 0x20 == b'x' || c2.is_ascii_digit();
        }
        if c <= b'9' {
            return false;
        }
        let word = |w: &[u8]| {
            self.data
                .get(p..p + 3)
                .is_some_and(|s| s.eq_ignore_ascii_case(w))
        };
        word(b"inf") || word(b"nan")
    }

    fn number_token(&mut self) -> Token<'a> {
        let index = self.ptr;
        match strtod(&self.data[self.ptr..]) {
            Some((n, used)) => {
                self.ptr += used;
                Token {
                    kind: Tok::Num(n),
                    index,
                }
            }
            None => Token {
                kind: Tok::Error("invalid number"),
                index,
            },
        }
    }

    /// `json_next_string_token`, with `ptr` at the opening quote.
    fn string_token(&mut self) -> Token<'a> {
        let index = self.ptr;
        self.ptr += 1;
        let start = self.ptr;
        // Fast path: no escapes, borrow the bytes.
        while let Some(&c) = self.data.get(self.ptr) {
            if c == b'"' {
                let s = &self.data[start..self.ptr];
                self.ptr += 1;
                return Token {
                    kind: Tok::Str(Cow::Borrowed(s)),
                    index,
                };
            }
            if c == b'\\' || c == 0 {
                break;
            }
            self.ptr += 1;
        }
        let mut buf = self.data[start..self.ptr].to_vec();
        let error = |p: &Self, what| Token {
            kind: Tok::Error(what),
            index: p.ptr,
        };
        loop {
            let c = self.at(self.ptr);
            match c {
                b'"' => break,
                0 => return error(self, "unexpected end of string"),
                b'\\' => {
                    let translated = match self.at(self.ptr + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b't' => b'\t',
                        b'n' => b'\n',
                        b'f' => 0x0c,
                        b'r' => b'\r',
                        b'u' => {
                            if !self.unicode_escape(&mut buf) {
                                return error(self, "invalid unicode escape code");
                            }
                            continue;
                        }
                        _ => return error(self, "invalid escape code"),
                    };
                    buf.push(translated);
                    self.ptr += 2;
                }
                c => {
                    buf.push(c);
                    self.ptr += 1;
                }
            }
        }
        self.ptr += 1;
        Token {
            kind: Tok::Str(Cow::Owned(buf)),
            index,
        }
    }

    /// `json_append_unicode_escape` with `ptr` at the backslash of `\uXXXX`
    /// (a surrogate pair takes two escapes); false on a malformed escape.
    fn unicode_escape(&mut self, buf: &mut Vec<u8>) -> bool {
        let Some(mut cp) = self.hex4(self.ptr + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            // A high surrogate, then \u and a low one.
            if cp & 0x400 != 0 || self.at(self.ptr + 6) != b'\\' || self.at(self.ptr + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.ptr + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let mut utf8 = [0u8; 4];
        let encoded: &[u8] = match char::from_u32(cp) {
            Some(c) => c.encode_utf8(&mut utf8).as_bytes(),
            None => return false,
        };
        buf.extend_from_slice(encoded);
        self.ptr += len;
        true
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0u32;
        for i in 0..4 {
            let d = char::from(self.at(at + i)).to_digit(16)?;
            v = (v << 4) | d;
        }
        Some(v)
    }
}

/// glibc's `strtod` on the start of `s` (which ends at a NUL): the value
/// and how many bytes it used, `None` when no number starts there. Accepts
/// a sign, decimal and hexadecimal (`0x1.8p3`) forms, `inf`, `infinity`,
/// `nan` and `nan(chars)`, case-insensitively.
pub(crate) fn strtod(s: &[u8]) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    let negative = match at(0) {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let sign = |x: f64| if negative { -x } else { x };
    let word = |i: usize, w: &[u8]| {
        s.get(i..i + w.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(w))
    };
    if word(i, b"inf") {
        let used = if word(i, b"infinity") { i + 8 } else { i + 3 };
        return Some((sign(f64::INFINITY), used));
    }
    if word(i, b"nan") {
        let mut used = i + 3;
        if at(used) == b'(' {
            let mut j = used + 1;
            while at(j).is_ascii_alphanumeric() || at(j) == b'_' {
                j += 1;
            }
            if at(j) == b')' {
                used = j + 1;
            }
        }
        return Some((sign(f64::NAN), used));
    }
    if at(i) == b'0' && at(i + 1) | 0x20 == b'x' {
        if let Some((v, used)) = hex_float(s, i + 2) {
            return Some((sign(v), used));
        }
        // "0x" with no hex digits: just the zero.
        return Some((sign(0.0), i + 1));
    }
    let start = i;
    let mut digits = 0;
    while at(i).is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if at(i) == b'.' {
        i += 1;
        while at(i).is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if at(i) | 0x20 == b'e' {
        let mut j = i + 1;
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        if at(j).is_ascii_digit() {
            while at(j).is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    let text = std::str::from_utf8(&s[start..i]).ok()?;
    let v: f64 = text.parse().ok()?;
    Some((sign(v), i))
}

/// The hex digits of a `0x` float from `i`: the value (correctly rounded)
/// and the end, or `None` when there is no hex digit.
fn hex_float(s: &[u8], mut i: usize) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let hex = |c: u8| char::from(c).to_digit(16);
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut sticky = false;
    let mut any = false;
    let mut add = |d: u32, fraction: bool, exp: &mut i64| {
        if mant >> 60 == 0 {
            mant = (mant << 4) | u64::from(d);
            if fraction {
                *exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !fraction {
                *exp += 4;
            }
        }
    };
    while let Some(d) = hex(at(i)) {
        add(d, false, &mut exp);
        any = true;
        i += 1;
    }
    if at(i) == b'.' {
        let mut j = i + 1;
        while let Some(d) = hex(at(j)) {
            add(d, true, &mut exp);
            any = true;
            j += 1;
        }
        if any {
            i = j;
        }
    }
    if !any {
        return None;
    }
    if at(i) | 0x20 == b'p' {
        let mut j = i + 1;
        let neg = match at(j) {
            b'-' => {
                j += 1;
                true
            }
            b'+' => {
                j += 1;
                false
            }
            _ => false,
        };
        if at(j).is_ascii_digit() {
            let mut e: i64 = 0;
            while at(j).is_ascii_digit() {
                e = (e * 10 + i64::from(at(j) - b'0')).min(1 << 40);
                j += 1;
            }
            exp += if neg { -e } else { e };
            i = j;
        }
    }
    Some((compose(mant, exp, sticky), i))
}

/// `mant * 2^exp` rounded to nearest-even (`sticky`: nonzero bits were
/// dropped below `mant`).
fn compose(mant: u64, exp: i64, sticky: bool) -> f64 {
    if mant == 0 {
        return 0.0;
    }
    let lz = i64::from(mant.leading_zeros());
    let mant = mant << lz;
    // Exponent of the top bit.
    let top = exp - lz + 63;
    if top > 1023 {
        return f64::INFINITY;
    }
    // Significant bits the result keeps (fewer for subnormals).
    let keep = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
    if keep <= 0 {
        // At most half the smallest subnormal.
        let above_half = keep == 0 && (mant > 1 << 63 || (mant == 1 << 63 && sticky));
        return if above_half { f64::from_bits(1) } else { 0.0 };
    }
    let drop = (64 - keep) as u32;
    let mut m = mant >> drop;
    let rem = mant & ((1u64 << drop) - 1);
    let half = 1u64 << (drop - 1);
    if rem > half || (rem == half && (sticky || m & 1 == 1)) {
        m += 1;
    }
    if top >= -1022 {
        // m is in [2^52, 2^53]; 2^53 carries into the exponent.
        let (m, top) = if m == 1 << 53 {
            (m >> 1, top + 1)
        } else {
            (m, top)
        };
        if top > 1023 {
            return f64::INFINITY;
        }
        f64::from_bits((((top + 1023) as u64) << 52) | (m & ((1 << 52) - 1)))
    } else {
        // Subnormal: the bits are the count of 2^-1074 units (a carry into
        // 2^52 is the smallest normal, which these bits also spell).
        f64::from_bits(m)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::{err, lua, ok};
    use super::strtod;

    // Expected values were taken from redis-server 7.0.15.

    #[test]
    fn strtod_like_glibc() {
        let v = |s: &str| strtod(s.as_bytes());
        assert_eq!(v("0x10"), Some((16.0, 4)));
        assert_eq!(v("0x"), Some((0.0, 1)));
        assert_eq!(v("0x1p3"), Some((8.0, 5)));
        assert_eq!(v("0x1.8p1"), Some((3.0, 7)));
        assert_eq!(v("0x1p"), Some((1.0, 3)));
        assert_eq!(v("1.5e"), Some((1.5, 3)));
        assert_eq!(v("1e400"), Some((f64::INFINITY, 5)));
        assert_eq!(v("-.5"), Some((-0.5, 3)));
        assert_eq!(v("Infinity"), Some((f64::INFINITY, 8)));
        assert_eq!(v("-infinit"), Some((f64::NEG_INFINITY, 4)));
        let nan = |s: &str| v(s).map(|(n, u)| (n.is_nan(), n.is_sign_negative(), u));
        assert_eq!(nan("nan(123)x"), Some((true, false, 8)));
        assert_eq!(nan("nan(12"), Some((true, false, 3)));
        assert_eq!(nan("-NaN"), Some((true, true, 4)));
        assert_eq!(v("-"), None);
        assert_eq!(v("."), None);
        assert_eq!(v("0x1.fffffffffffff8p0"), Some((2.0, 20)));
        assert_eq!(v("0x1p-1074"), Some((5e-324, 9)));
    }

    #[test]
    fn decode() {
        let l = lua();
        let rt = |json: &str| {
            ok(
                &l,
                &format!(
                    "local ok, v = pcall(cjson.decode, {json:?}) if not ok then return 'ERR ' .. v end \
                     local ok2, e = pcall(cjson.encode, v) if not ok2 then return 'ENC ' .. tostring(v) end \
                     return e"
                ),
            )
        };
        let cases = [
            ("0x10", "16"),
            ("+1", "1"),
            ("Infinity", "ENC inf"),
            ("-nan", "ENC -nan"),
            (" [1, 2 ] ", "[1,2]"),
            (
                "[1]x",
                "ERR Expected the end but found invalid token at character 4",
            ),
            ("01", "1"),
            ("\"\\u00e9\"", "\"\u{e9}\""),
            ("\"\\ud83d\\ude00\"", "\"\u{1f600}\""),
            ("{\"a\":null}", "{\"a\":null}"),
            ("[1,2,null,4]", "[1,2,null,4]"),
            (
                "\"abc",
                "ERR Expected value but found unexpected end of string at character 5",
            ),
            (
                "[1,]",
                "ERR Expected value but found T_ARR_END at character 4",
            ),
            (
                "{1:2}",
                "ERR Expected object key string but found T_NUMBER at character 2",
            ),
            ("", "ERR Expected value but found T_END at character 1"),
            ("  ", "ERR Expected value but found T_END at character 3"),
            (
                "tru",
                "ERR Expected value but found invalid token at character 1",
            ),
            (
                "-",
                "ERR Expected value but found invalid number at character 1",
            ),
            (
                "1.5e",
                "ERR Expected the end but found invalid token at character 4",
            ),
            (
                ".5",
                "ERR Expected value but found invalid token at character 1",
            ),
            (
                "0x",
                "ERR Expected the end but found invalid token at character 2",
            ),
            (
                "\"\\ud800\"",
                "ERR Expected value but found invalid unicode escape code at character 2",
            ),
            (
                "\"\\udc00\"",
                "ERR Expected value but found invalid unicode escape code at character 2",
            ),
            (
                "\"\\u12\"",
                "ERR Expected value but found invalid unicode escape code at character 2",
            ),
            (
                "\"\\x\"",
                "ERR Expected value but found invalid escape code at character 2",
            ),
            (
                "1 2",
                "ERR Expected the end but found T_NUMBER at character 3",
            ),
            ("0x1.8p1", "3"),
            ("-0", "-0"),
            ("\"a/b\"", "\"a\\/b\""),
            (
                "{\"a\" 1}",
                "ERR Expected colon but found T_NUMBER at character 6",
            ),
            (
                "{\"a\":1 \"b\"}",
                "ERR Expected comma or object end but found T_STRING at character 8",
            ),
            (
                "[1 2]",
                "ERR Expected comma or array end but found T_NUMBER at character 4",
            ),
        ];
        for (json, want) in cases {
            assert_eq!(rt(json), want, "{json}");
        }
    }

    #[test]
    fn decode_limits_and_arguments() {
        let l = lua();
        let cases = [
            (
                "cjson.decode(string.rep('[', 1001))",
                "Found too many nested data structures (1001) at character 1001",
            ),
            (
                "cjson.decode(string.rep('[', 1000))",
                "Expected value but found T_END at character 1001",
            ),
            (
                "cjson.decode(string.rep('{\"a\":', 1001))",
                "Found too many nested data structures (1001) at character 5001",
            ),
            (
                "cjson.decode('[1]', 2)",
                "bad argument #1 to 'decode' (expected 1 argument)",
            ),
            (
                "cjson.decode()",
                "bad argument #1 to 'decode' (expected 1 argument)",
            ),
            (
                "cjson.decode({})",
                "bad argument #1 to 'decode' (string expected, got table)",
            ),
            (
                "cjson.decode('\\0a')",
                "JSON parser does not support UTF-16 or UTF-32",
            ),
        ];
        for (code, want) in cases {
            assert_eq!(
                err(&l, &format!("return {code}")),
                format!("user_script:1: {want}"),
                "{code}"
            );
        }
        assert_eq!(ok(&l, "return cjson.decode(12)"), "12");
        assert_eq!(ok(&l, "return cjson.decode('[1]\\0a')[1]"), "1");
        assert_eq!(ok(&l, "return cjson.decode('null') == cjson.null"), "true");
        assert_eq!(
            ok(&l, "local t = cjson.decode('{\"a\":[1,{\"b\":true}],\"c\":\"d\"}') return t.a[2].b and t.c"),
            "d"
        );
    }

    #[test]
    fn deep_structures_within_raised_limits() {
        let l = lua();
        // Raised limits hit the C stack of the original instead.
        assert_eq!(
            ok(
                &l,
                "local c = cjson.new() c.encode_max_depth(100000) local t = {} t[1] = t \
                    local ok, e = pcall(c.encode, t) return e"
            ),
            "Cannot serialise, excessive nesting (7998)"
        );
        assert_eq!(
            ok(
                &l,
                "local c = cjson.new() c.encode_max_depth(100000) local t = {} t.a = t \
                    local ok, e = pcall(c.encode, t) return e"
            ),
            "Cannot serialise, excessive nesting (4000)"
        );
        assert_eq!(
            ok(
                &l,
                "local c = cjson.new() c.decode_max_depth(100000) \
                    local ok, e = pcall(c.decode, string.rep('[', 10000)) return e"
            ),
            "Found too many nested data structures (7999) at character 7999"
        );
        assert_eq!(
            ok(
                &l,
                "local c = cjson.new() c.decode_max_depth(100000) \
                    local ok, e = pcall(c.decode, string.rep('{\"a\":', 10000)) return e"
            ),
            "Found too many nested data structures (4000) at character 19996"
        );
        assert_eq!(
            ok(
                &l,
                "local c = cjson.new() c.decode_max_depth(100000) c.encode_max_depth(100000) \
                    local v = c.decode(string.rep('[', 5000) .. string.rep(']', 5000)) \
                    return #c.encode(v)"
            ),
            "10000"
        );
    }
}
