//! Redis's conversion rules between replies and Lua values.
//!
//! Reply → Lua (what `redis.call` returns; written on the raw Lua stack by
//! [`super::call`]): integer → number, bulk →
//! string, null bulk and null array → false, array → table, status →
//! `{ok=...}`, error → `{err=...}`; RESP3 (after `redis.setresp(3)`): map →
//! `{map={...}}`, set → `{set={member=true}}`, null → nil, boolean →
//! boolean, double → `{double=n}`, big number → `{big_number=s}`, verbatim
//! → `{verbatim_string={format=f, string=s}}`.
//!
//! Lua → reply (what a script returns): string → bulk, number → integer
//! (truncated), boolean → 1 / null under RESP2 script semantics or a RESP3
//! boolean after `redis.setresp(3)`, table → error (`err`), status (`ok`),
//! double, big number, verbatim, map, set, else an array up to the first
//! nil; anything else → null.

use mlua::{Lua, Table, Value};
use resp::ReplyWriter;

/// Deepest table nesting converted into a reply (Redis is bounded by its
/// Lua C stack); deeper levels become an error element.
const MAX_DEPTH: usize = 1000;

/// The error table of `text` as Redis builds it (`luaPushErrorBuff`):
/// `-CODE msg` keeps its code, a bare message gets `ERR`; trailing CR/LF
/// are trimmed.
pub fn err_table(lua: &Lua, text: &[u8]) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(error_text(text))?)?;
    Ok(t)
}

/// `CODE msg` from `-CODE msg` or `msg` (see [`err_table`]).
pub fn error_text(text: &[u8]) -> Vec<u8> {
    let (code, msg): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(rest) => match memchr::memchr(b' ', rest) {
            Some(i) => (
                rest.get(..i).unwrap_or(b"ERR"),
                rest.get(i + 1..).unwrap_or(b""),
            ),
            None => (b"ERR", rest),
        },
        None => (b"ERR", text),
    };
    let mut out = Vec::with_capacity(code.len() + msg.len() + 1);
    out.extend_from_slice(code);
    out.push(b' ');
    out.extend_from_slice(trim(msg));
    out
}

/// `s` without leading and trailing CR/LF.
fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if *first == b'\r' || *first == b'\n' {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if *last == b'\r' || *last == b'\n' {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn string_field(t: &Table, name: &str) -> Option<mlua::String> {
    match t.raw_get::<Value>(name) {
        Ok(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// Write a script's return value as a reply. `script_resp3`: the script
/// switched to RESP3 with `redis.setresp(3)` (booleans then stay booleans).
pub fn write_reply(w: &mut ReplyWriter<'_>, v: &Value, script_resp3: bool) {
    write_value(w, v, script_resp3, 0);
}

fn write_value(w: &mut ReplyWriter<'_>, v: &Value, resp3: bool, depth: usize) {
    if depth > MAX_DEPTH {
        w.error(b"ERR reached lua stack limit");
        return;
    }
    match v {
        Value::String(s) => w.bulk(&s.as_bytes()),
        Value::Integer(i) => w.int(*i),
        Value::Number(n) => w.int(truncate(*n)),
        Value::Boolean(b) => {
            if resp3 {
                w.boolean(*b);
            } else if *b {
                w.int(1);
            } else {
                w.null();
            }
        }
        Value::Table(t) => write_table(w, t, resp3, depth),
        _ => w.null(),
    }
}

/// C's `(long long)` of a double, saturating where C is undefined.
fn truncate(n: f64) -> i64 {
    if n.is_nan() {
        i64::MIN
    } else {
        n as i64
    }
}

fn write_table(w: &mut ReplyWriter<'_>, t: &Table, resp3: bool, depth: usize) {
    if let Some(e) = string_field(t, "err") {
        w.error(&e.as_bytes());
        return;
    }
    if let Some(s) = string_field(t, "ok") {
        w.simple(&s.as_bytes());
        return;
    }
    if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
        w.double(d);
        return;
    }
    if let Ok(Value::Integer(d)) = t.raw_get::<Value>("double") {
        w.double(d as f64);
        return;
    }
    if let Some(n) = string_field(t, "big_number") {
        let text: Vec<u8> = n
            .as_bytes()
            .iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect();
        if w.is_resp3() {
            w.raw(b"(");
            w.raw(&text);
            w.raw(b"\r\n");
        } else {
            w.bulk(&text);
        }
        return;
    }
    if let Ok(Value::Table(v)) = t.raw_get::<Value>("verbatim_string") {
        if let (Some(f), Some(s)) = (string_field(&v, "format"), string_field(&v, "string")) {
            let fb = f.as_bytes();
            let mut format = [b' '; 3];
            for (d, s) in format.iter_mut().zip(fb.iter()) {
                *d = *s;
            }
            w.verbatim(&format, &s.as_bytes());
            return;
        }
    }
    // IMPORTANT: mlua holds every live value handle in a bounded stack, so
    // large tables are walked twice (count, then write) instead of being
    // collected into a Vec of handles.
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        w.map(m.pairs::<Value, Value>().count());
        for (k, v) in m.pairs::<Value, Value>().filter_map(Result::ok) {
            write_value(w, &k, resp3, depth + 1);
            write_value(w, &v, resp3, depth + 1);
        }
        return;
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        w.set(s.pairs::<Value, Value>().count());
        for (k, _) in s.pairs::<Value, Value>().filter_map(Result::ok) {
            write_value(w, &k, resp3, depth + 1);
        }
        return;
    }
    let mut n = 0usize;
    while !matches!(t.raw_get::<Value>(n + 1), Ok(Value::Nil) | Err(_)) {
        n += 1;
    }
    w.array(n);
    for i in 1..=n {
        let v = t.raw_get::<Value>(i).unwrap_or(Value::Nil);
        write_value(w, &v, resp3, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resp::Proto;

    #[test]
    fn error_texts_follow_redis() {
        assert_eq!(error_text(b"-E1 z"), b"E1 z");
        assert_eq!(error_text(b"-nocode"), b"ERR nocode");
        assert_eq!(error_text(b"nocode"), b"ERR nocode");
        assert_eq!(
            error_text(b"-WRONGTYPE Operation\r\n"),
            b"WRONGTYPE Operation"
        );
    }

    #[test]
    fn values_to_replies() {
        let lua = Lua::new();
        let reply = |src: &str, resp3: bool| {
            let v: Value = lua.load(src).eval().expect("eval");
            let mut out = Vec::new();
            write_reply(&mut ReplyWriter::new(&mut out, Proto::Resp2), &v, resp3);
            String::from_utf8(out).expect("utf8")
        };
        assert_eq!(reply("return 3.99", false), ":3\r\n");
        assert_eq!(reply("return true", false), ":1\r\n");
        assert_eq!(reply("return false", false), "$-1\r\n");
        assert_eq!(
            reply("return {1,'a',nil,5}", false),
            "*2\r\n:1\r\n$1\r\na\r\n"
        );
        assert_eq!(reply("return {err='oops'}", false), "-oops\r\n");
        assert_eq!(reply("return {ok='fine'}", false), "+fine\r\n");
        assert_eq!(reply("return nil", false), "$-1\r\n");
    }
}
