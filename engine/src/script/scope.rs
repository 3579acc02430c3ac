//! Can this EVAL script touch only its declared keys? A conservative
//! reading of the source.
//!
//! A script proven to reach keys only through `KEYS[<n>]` can run on the
//! shard of its keys holding that shard alone; anything else runs holding
//! every shard (always correct, and the cost is measured). The proof is
//! deliberately narrow: every `redis` is `redis.call(` / `redis.pcall(` or
//! a harmless field; each call names its command with a string literal,
//! the command's key positions are fixed, and the arguments at those
//! positions are literally `KEYS[<n>]`; `KEYS` is only ever indexed or
//! counted, never rebound; nothing reaches the globals by name (`_G`,
//! `getfenv`, `loadstring`, ...). Anything unusual (long strings, escapes
//! in literals, a call's arguments we cannot split) means "no".
//!
//! The run still checks every command against its shard at run time
//! ([`super::run`]); this only decides where to start.

/// Identifiers that could reach `redis` or the globals indirectly.
const FORBIDDEN: &[&[u8]] = &[
    b"_G",
    b"getfenv",
    b"setfenv",
    b"loadstring",
    b"load",
    b"rawget",
    b"rawset",
    b"require",
    b"module",
    b"debug",
    b"coroutine",
];

/// Fields of `redis` that run no command.
const HARMLESS: &[&[u8]] = &[
    b"log",
    b"LOG_DEBUG",
    b"LOG_VERBOSE",
    b"LOG_NOTICE",
    b"LOG_WARNING",
    b"sha1hex",
    b"error_reply",
    b"status_reply",
    b"setresp",
    b"set_repl",
    b"REPL_NONE",
    b"REPL_AOF",
    b"REPL_SLAVE",
    b"REPL_REPLICA",
    b"REPL_ALL",
    b"replicate_commands",
    b"breakpoint",
    b"REDIS_VERSION",
    b"REDIS_VERSION_NUM",
];

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while s.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// The end (exclusive) of the string literal opening at `i`, if simple.
fn literal_end(s: &[u8], i: usize) -> Option<usize> {
    let q = *s.get(i)?;
    let mut j = i + 1;
    loop {
        match *s.get(j)? {
            b'\\' | b'\n' => return None,
            c if c == q => return Some(j + 1),
            _ => j += 1,
        }
    }
}

/// Split the arguments of a call whose `(` is at `open`: the top-level
/// argument texts and the index after `)`.
fn split_args(s: &[u8], open: usize) -> Option<(Vec<&[u8]>, usize)> {
    let mut depth = 0usize;
    let mut args = Vec::new();
    let mut start = open + 1;
    let mut i = open + 1;
    loop {
        let c = *s.get(i)?;
        match c {
            b'\'' | b'"' => {
                i = literal_end(s, i)?;
                continue;
            }
            b'-' if s.get(i + 1) == Some(&b'-') => return None,
            b'(' | b'{' | b'[' => depth += 1,
            b')' | b'}' | b']' if depth > 0 => depth -= 1,
            b')' => {
                let last = s.get(start..i)?;
                if !last.iter().all(u8::is_ascii_whitespace) || !args.is_empty() {
                    args.push(last);
                }
                return Some((args, i + 1));
            }
            b',' if depth == 0 => {
                args.push(s.get(start..i)?);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
}

fn trim(a: &[u8]) -> &[u8] {
    let a = a
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .map_or(&a[a.len()..], |p| &a[p..]);
    let end = a
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    &a[..end]
}

/// `KEYS[<digits>]`
fn is_key_ref(a: &[u8]) -> bool {
    let Some(inner) = a.strip_prefix(b"KEYS[").and_then(|r| r.strip_suffix(b"]")) else {
        return false;
    };
    let inner = trim(inner);
    !inner.is_empty() && inner.iter().all(u8::is_ascii_digit)
}

/// The arguments of one `redis.call(...)` keep to declared keys.
fn call_is_declared(args: &[&[u8]]) -> bool {
    use crate::command::spec::flags;
    let Some(name) = args.first().map(|a| trim(a)) else {
        return false;
    };
    let Some(name) = name
        .strip_prefix(b"'")
        .and_then(|n| n.strip_suffix(b"'"))
        .or_else(|| name.strip_prefix(b"\"").and_then(|n| n.strip_suffix(b"\"")))
    else {
        return false;
    };
    let t = crate::command::table::table();
    let Some(id) = t.lookup(name) else {
        // Unknown commands fail anyway; nothing is touched.
        return true;
    };
    let spec = t.get(id).spec;
    if !spec.subcommands.is_empty() || spec.has(flags::MOVABLE_KEYS) {
        return false;
    }
    if spec.key_specs.is_empty() {
        return !(spec.has(flags::WRITE) || spec.has(flags::READONLY));
    }
    if matches!(spec.name, "move" | "copy") {
        return false;
    }
    let (first, last, step) = (spec.first_key, spec.last_key, spec.key_step);
    let (Ok(first), Ok(step)) = (usize::try_from(first), usize::try_from(step)) else {
        return false;
    };
    if first == 0 || step == 0 {
        return false;
    }
    let n = args.len();
    let last = if last < 0 {
        // Variadic keys: every argument counts, so none may expand.
        if args
            .last()
            .is_some_and(|a| trim(a).contains(&b'(') || trim(a) == b"...")
        {
            return false;
        }
        let back = usize::try_from(-last).unwrap_or(usize::MAX);
        n.saturating_sub(back)
    } else {
        usize::try_from(last).unwrap_or(0)
    };
    let mut p = first;
    while p <= last {
        match args.get(p) {
            Some(a) if is_key_ref(trim(a)) => {}
            Some(_) => return false,
            None => break,
        }
        p += step;
    }
    true
}

/// True when the script provably touches only keys it reads from `KEYS`.
pub fn declared_only(body: &[u8]) -> bool {
    if body.windows(2).any(|w| w == b"[[" || w == b"[=") {
        return false;
    }
    let mut i = 0;
    while i < body.len() {
        let Some(&c) = body.get(i) else { break };
        if c == b'\'' || c == b'"' {
            match literal_end(body, i) {
                Some(e) => {
                    i = e;
                    continue;
                }
                None => return false,
            }
        }
        if c == b'-' && body.get(i + 1) == Some(&b'-') {
            // A line comment.
            while body.get(i).is_some_and(|&c| c != b'\n') {
                i += 1;
            }
            continue;
        }
        if !is_ident(c) || (i > 0 && body.get(i - 1).is_some_and(|&p| is_ident(p) || p == b'.')) {
            i += 1;
            continue;
        }
        let end = (i..body.len())
            .find(|&j| !body.get(j).is_some_and(|&c| is_ident(c)))
            .unwrap_or(body.len());
        let word = body.get(i..end).unwrap_or(&[]);
        if FORBIDDEN.contains(&word) {
            return false;
        }
        if word == b"KEYS" {
            let prev = body.get(..i).map(trim).and_then(|p| p.last().copied());
            let next = skip_ws(body, end);
            let indexed = body.get(next) == Some(&b'[');
            let counted = prev == Some(b'#');
            if !(indexed || counted) {
                return false;
            }
            if indexed {
                let close = body
                    .get(next..)
                    .and_then(|r| r.iter().position(|&c| c == b']'));
                let Some(close) = close else { return false };
                let after = skip_ws(body, next + close + 1);
                if body.get(after) == Some(&b'=') && body.get(after + 1) != Some(&b'=') {
                    return false;
                }
            }
        }
        if word == b"redis" {
            let dot = skip_ws(body, end);
            if body.get(dot) != Some(&b'.') {
                return false;
            }
            let f0 = skip_ws(body, dot + 1);
            let f1 = (f0..body.len())
                .find(|&j| !body.get(j).is_some_and(|&c| is_ident(c)))
                .unwrap_or(body.len());
            let field = body.get(f0..f1).unwrap_or(&[]);
            if field == b"call" || field == b"pcall" {
                let open = skip_ws(body, f1);
                if body.get(open) != Some(&b'(') {
                    return false;
                }
                let Some((args, after)) = split_args(body, open) else {
                    return false;
                };
                if !call_is_declared(&args) {
                    return false;
                }
                // Arguments were checked; KEYS inside them were too.
                let _ = after;
            } else if !HARMLESS.contains(&field) {
                return false;
            }
            i = f1;
            continue;
        }
        i = end;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::declared_only;

    #[test]
    fn proves_simple_scripts() {
        assert!(declared_only(
            b"local n = redis.call('INCR', KEYS[1])\nif n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end\nreturn n"
        ));
        assert!(declared_only(
            b"if redis.call(\"get\",KEYS[1]) == ARGV[1] then return redis.call(\"del\",KEYS[1]) else return 0 end"
        ));
        assert!(declared_only(
            b"return redis.call('mset', KEYS[1], ARGV[1], KEYS[2], ARGV[2])"
        ));
        assert!(declared_only(b"return #KEYS"));
        assert!(declared_only(
            b"-- redis.call('get', 'x')\nreturn redis.call('ping')"
        ));
    }

    #[test]
    fn refuses_anything_else() {
        for s in [
            &b"return redis.call('incr', KEYS[1]) + redis.call('incr', 'bar')"[..],
            b"local k = KEYS[1] .. ':x'; return redis.call('get', k)",
            b"local r = redis.call; return r('get', 'x')",
            b"return pcall(redis.call, 'get', 'x')",
            b"local KEYS = {'x'}; return redis.call('get', KEYS[1])",
            b"KEYS[1] = 'x'; return redis.call('get', KEYS[1])",
            b"return redis.call('del', unpack(KEYS))",
            b"return redis.call('del', KEYS[1], f())",
            b"return redis['call']('get', 'x')",
            b"return _G.redis.call('get', 'x')",
            b"return redis.call(cmd, KEYS[1])",
            b"return redis.call('keys', '*')",
            b"return redis.call('eval', 'x', 1, KEYS[1])",
            b"return redis.call('get', [[x]])",
            b"return redis.call('get', 'a\\'b')",
        ] {
            assert!(!declared_only(s), "{}", String::from_utf8_lossy(s));
        }
    }
}
