//! `cjson.encode`: Lua values to JSON text, and C's `%g` for numbers.

use super::super::{
    arg_error, located, trunc_i32, type_name, Args, LibResult, Ret, Spine, LUA_MAX_C_STACK,
};
use super::Config;
use mlua::{Function, Lua, Table, Value};

/// `cjson.encode(value)`.
pub(super) fn encode(lua: &Lua, args: &Args, cfg: Config, next: &Function) -> LibResult<Ret> {
    if args.len() != 1 {
        return arg_error(1, "expected 1 argument");
    }
    let mut enc = Encoder {
        cfg,
        out: Vec::new(),
        next,
        spine: Spine::new(lua)?,
    };
    enc.run(args.get(1).unwrap_or(Value::Nil))?;
    Ok(Value::String(lua.create_string(&enc.out)?).into())
}

/// A table being written.
struct Open {
    /// Its slot in the spine (the table stays there until closed).
    slot: usize,
    /// C stack slot of the table: children sit 1 (array) or 2 (object) above.
    top: usize,
    state: Walk,
}

enum Walk {
    /// Next index and length.
    Array(usize, usize),
    /// Not started yet.
    ObjectStart,
    /// Stopped at a key (parked in the spine above the table) to write a
    /// table value; resume with `next`.
    ObjectAt,
}

struct Encoder<'a> {
    cfg: Config,
    out: Vec<u8>,
    next: &'a Function,
    spine: Spine,
}

impl Encoder<'_> {
    fn fail<T>(&self, what: &str, reason: &str) -> LibResult<T> {
        located(format!("Cannot serialise {what}: {reason}"))
    }

    /// `json_append_data` for the root value, iteratively.
    fn run(&mut self, root: Value) -> LibResult<()> {
        let mut open: Vec<Open> = Vec::new();
        // The value to write next and its C stack slot.
        let mut pending = Some((root, 1usize));
        // The innermost open table.
        let mut current: Option<Table> = None;
        loop {
            if let Some((v, top)) = pending.take() {
                match v {
                    Value::Table(t) => {
                        let depth = open.len() + 1;
                        // json_check_encode_depth: the depth, and lua_checkstack(l, 3).
                        if depth > self.cfg.encode_max_depth as usize || top + 3 > LUA_MAX_C_STACK {
                            return located(format!(
                                "Cannot serialise, excessive nesting ({depth})"
                            ));
                        }
                        let len = self.array_length(&t)?;
                        self.spine.push(Value::Table(t.clone()))?;
                        let state = if len > 0 {
                            self.out.push(b'[');
                            Walk::Array(1, len as usize)
                        } else {
                            self.out.push(b'{');
                            Walk::ObjectStart
                        };
                        open.push(Open {
                            slot: self.spine.len(),
                            top,
                            state,
                        });
                        current = Some(t);
                    }
                    v => self.scalar(&v)?,
                }
            }
            let Some(frame) = open.last_mut() else {
                return Ok(());
            };
            let Some(table) = current.as_ref() else {
                return Err(mlua::Error::runtime("cjson: lost the table being encoded").into());
            };
            let child_top = frame.top;
            let descend = match &mut frame.state {
                Walk::Array(i, len) => {
                    if *i > *len {
                        self.out.push(b']');
                        None
                    } else {
                        if *i > 1 {
                            self.out.push(b',');
                        }
                        let v: Value = table.raw_get(*i)?;
                        *i += 1;
                        Some((v, child_top + 1))
                    }
                }
                Walk::ObjectStart => {
                    let mut descend = None;
                    for pair in table.pairs::<Value, Value>() {
                        let (k, v) = pair?;
                        if let Some(d) = self.member(k, v, child_top)? {
                            descend = Some(d);
                            break;
                        }
                    }
                    match descend {
                        Some((key, v)) => {
                            self.spine.push(key)?;
                            frame.state = Walk::ObjectAt;
                            Some(v)
                        }
                        None => {
                            self.out.push(b'}');
                            None
                        }
                    }
                }
                Walk::ObjectAt => {
                    let mut key = self.spine.pop()?;
                    let mut descend = None;
                    loop {
                        let (k, v): (Value, Value) = self.next.call((table, &key))?;
                        if k.is_nil() {
                            break;
                        }
                        if let Some(d) = self.member(k.clone(), v, child_top)? {
                            descend = Some(d);
                            break;
                        }
                        key = k;
                    }
                    match descend {
                        Some((key, v)) => {
                            self.spine.push(key)?;
                            frame.state = Walk::ObjectAt;
                            Some(v)
                        }
                        None => {
                            self.out.push(b'}');
                            None
                        }
                    }
                }
            };
            match descend {
                Some(v) => pending = Some(v),
                None => {
                    // Table finished: back to its parent.
                    open.pop();
                    self.spine.pop()?;
                    current = match open.last() {
                        Some(parent) => match self.spine.get(parent.slot)? {
                            Value::Table(t) => Some(t),
                            _ => None,
                        },
                        None => None,
                    };
                }
            }
        }
    }

    /// Write `key:` and, unless the value is a table, the value. Returns
    /// the key and the table value (with its C stack slot) to descend into.
    fn member(
        &mut self,
        k: Value,
        v: Value,
        top: usize,
    ) -> LibResult<Option<(Value, (Value, usize))>> {
        if self.out.last() != Some(&b'{') {
            self.out.push(b',');
        }
        match &k {
            Value::Integer(_) | Value::Number(_) => {
                self.out.push(b'"');
                self.number(number_of(&k))?;
                self.out.extend_from_slice(b"\":");
            }
            Value::String(s) => {
                self.string(&s.as_bytes());
                self.out.push(b':');
            }
            other => {
                return self.fail(
                    type_name(Some(other)),
                    "table key must be a number or string",
                )
            }
        }
        // Stack: table, key, value.
        if let Value::Table(_) = v {
            return Ok(Some((k, (v, top + 2))));
        }
        self.scalar(&v)?;
        Ok(None)
    }

    fn scalar(&mut self, v: &Value) -> LibResult<()> {
        match v {
            Value::String(s) => self.string(&s.as_bytes()),
            Value::Integer(_) | Value::Number(_) => self.number(number_of(v))?,
            Value::Boolean(true) => self.out.extend_from_slice(b"true"),
            Value::Boolean(false) => self.out.extend_from_slice(b"false"),
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::LightUserData(p) if p.0.is_null() => self.out.extend_from_slice(b"null"),
            other => return self.fail(type_name(Some(other)), "type not supported"),
        }
        Ok(())
    }

    /// `lua_array_length`: the array length, or -1 (or another value below
    /// 1, from the C int conversion of huge keys) for an object.
    fn array_length(&self, t: &Table) -> LibResult<i32> {
        let mut max: i32 = 0;
        let mut items: i32 = 0;
        for pair in t.pairs::<Value, Value>() {
            let (k, _) = pair?;
            let k = match k {
                Value::Integer(i) => i as f64,
                Value::Number(n) => n,
                _ => return Ok(-1),
            };
            if k == 0.0 || k.floor() != k || k < 1.0 {
                return Ok(-1);
            }
            if k > f64::from(max) {
                max = trunc_i32(k);
            }
            items = items.wrapping_add(1);
        }
        let cfg = &self.cfg;
        if cfg.sparse_ratio > 0
            && max > items.wrapping_mul(cfg.sparse_ratio)
            && max > cfg.sparse_safe
        {
            if !cfg.sparse_convert {
                return self.fail("table", "excessively sparse array");
            }
            return Ok(-1);
        }
        Ok(max)
    }

    fn number(&mut self, n: f64) -> LibResult<()> {
        if !n.is_finite() {
            match self.cfg.encode_invalid_numbers {
                0 => return self.fail("number", "must not be NaN or Inf"),
                1 if n.is_nan() => {
                    self.out.extend_from_slice(b"nan");
                    return Ok(());
                }
                1 => {}
                _ => {
                    self.out.extend_from_slice(b"null");
                    return Ok(());
                }
            }
        }
        format_g(&mut self.out, n, self.cfg.number_precision as usize);
        Ok(())
    }

    fn string(&mut self, s: &[u8]) {
        self.out.reserve(s.len() + 2);
        self.out.push(b'"');
        for &c in s {
            match c {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'/' => self.out.extend_from_slice(b"\\/"),
                b'\x08' => self.out.extend_from_slice(b"\\b"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\x0c' => self.out.extend_from_slice(b"\\f"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                0..=0x1f | 0x7f => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.out.extend_from_slice(b"\\u00");
                    self.out.push(HEX[usize::from(c >> 4)]);
                    self.out.push(HEX[usize::from(c & 15)]);
                }
                c => self.out.push(c),
            }
        }
        self.out.push(b'"');
    }
}

fn number_of(v: &Value) -> f64 {
    match v {
        Value::Integer(i) => *i as f64,
        Value::Number(n) => *n,
        _ => 0.0,
    }
}

/// C's `%.{prec}g` (glibc: exact value, ties to even), which is also how
/// Lua prints numbers with precision 14.
pub(crate) fn format_g(out: &mut Vec<u8>, x: f64, prec: usize) {
    if x.is_nan() {
        out.extend_from_slice(if x.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    if x == 0.0 {
        out.extend_from_slice(if x.is_sign_negative() { b"-0" } else { b"0" });
        return;
    }
    let p = prec.max(1);
    // Rust's exact formatting rounds ties to even, like glibc.
    let sci = format!("{:.*e}", p - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        out.extend_from_slice(strip_fraction_zeros(mantissa).as_bytes());
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        out.extend_from_slice(format!("{:02}", exp.unsigned_abs()).as_bytes());
    } else {
        let fixed = format!("{:.*}", (p as i32 - 1 - exp) as usize, x);
        out.extend_from_slice(strip_fraction_zeros(&fixed).as_bytes());
    }
}

/// `%g` without `#`: no trailing zeros in the fraction, no lone point.
fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::testutil::{err, lua, ok};
    use super::format_g;

    // Expected values were taken from redis-server 7.0.15.

    fn g(x: f64, p: usize) -> String {
        let mut out = Vec::new();
        format_g(&mut out, x, p);
        String::from_utf8(out).expect("ascii")
    }

    #[test]
    fn formats_numbers_like_printf_g() {
        assert_eq!(g(0.1, 14), "0.1");
        assert_eq!(g(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(g(1e21, 14), "1e+21");
        assert_eq!(g(123456789012345.0, 14), "1.2345678901234e+14");
        assert_eq!(g(0.00001, 14), "1e-05");
        assert_eq!(g(0.0001, 14), "0.0001");
        assert_eq!(g(-0.0, 14), "-0");
        assert_eq!(g(5e-324, 14), "4.9406564584125e-324");
        assert_eq!(g(1.7976931348623157e308, 14), "1.7976931348623e+308");
        assert_eq!(g(100000000000000.5, 14), "1e+14");
        assert_eq!(g(123456.7890123456, 14), "123456.78901235");
        assert_eq!(g(0.125, 2), "0.12");
        assert_eq!(g(0.375, 2), "0.38");
        assert_eq!(g(std::f64::consts::PI, 3), "3.14");
        assert_eq!(g(f64::INFINITY, 14), "inf");
        assert_eq!(g(-f64::NAN, 14), "-nan");
    }

    #[test]
    fn encode() {
        let l = lua();
        let cases = [
            ("{1,2,3,nil,5}", "[1,2,3,null,5]"),
            ("{[1]=1,[2]=2,[4]=4}", "[1,2,null,4]"),
            (
                "{[10]=1}",
                "[null,null,null,null,null,null,null,null,null,1]",
            ),
            ("{[1e10]=1}", "{\"10000000000\":1}"),
            ("{[2^31]=1}", "{\"2147483648\":1}"),
            ("{[2^53]=1}", "{\"9.007199254741e+15\":1}"),
            ("{[-1]=1}", "{\"-1\":1}"),
            ("{[0]=1}", "{\"0\":1}"),
            ("{[1.5]=1}", "{\"1.5\":1}"),
            ("{}", "{}"),
            ("{a={b={c={}}}}", "{\"a\":{\"b\":{\"c\":{}}}}"),
            ("{cjson.null}", "[null]"),
            ("cjson.null", "null"),
            ("nil", "null"),
            ("true", "true"),
            ("-0.0", "-0"),
            ("2^63", "9.2233720368548e+18"),
            ("{{1,{2,{}}},{x='y'}}", "[[1,[2,{}]],{\"x\":\"y\"}]"),
        ];
        for (lua_value, json) in cases {
            assert_eq!(
                ok(&l, &format!("return cjson.encode({lua_value})")),
                json,
                "{lua_value}"
            );
        }
        let escaped = super::super::super::testutil::run(
            &l,
            "return cjson.encode('\\0\\1\\31\\127\\128\\255\"\\\\/\\t')",
        );
        assert_eq!(
            escaped,
            Ok(b"\"\\u0000\\u0001\\u001f\\u007f\x80\xff\\\"\\\\\\/\\t\"".to_vec())
        );
    }

    #[test]
    fn encode_errors() {
        let l = lua();
        let cases = [
            (
                "cjson.encode({[1]=1,[20]=2})",
                "Cannot serialise table: excessively sparse array",
            ),
            (
                "cjson.encode({[11]=1})",
                "Cannot serialise table: excessively sparse array",
            ),
            (
                "cjson.encode({[true]=1})",
                "Cannot serialise boolean: table key must be a number or string",
            ),
            (
                "cjson.encode(1/0)",
                "Cannot serialise number: must not be NaN or Inf",
            ),
            (
                "cjson.encode(type)",
                "Cannot serialise function: type not supported",
            ),
            (
                "cjson.encode({f=type})",
                "Cannot serialise function: type not supported",
            ),
            (
                "cjson.encode()",
                "bad argument #1 to 'encode' (expected 1 argument)",
            ),
            (
                "cjson.encode(1, 2)",
                "bad argument #1 to 'encode' (expected 1 argument)",
            ),
        ];
        for (code, want) in cases {
            assert_eq!(
                err(&l, &format!("return {code}")),
                format!("user_script:1: {want}"),
                "{code}"
            );
        }
        assert_eq!(
            err(&l, "local t = {} t[1] = t return cjson.encode(t)"),
            "user_script:1: Cannot serialise, excessive nesting (1001)"
        );
        assert_eq!(
            err(&l, "local t = {} t.a = t return cjson.encode(t)"),
            "user_script:1: Cannot serialise, excessive nesting (1001)"
        );
    }
}
