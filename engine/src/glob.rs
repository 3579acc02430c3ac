//! Glob-style pattern matching with Redis's rules (`KEYS`, `SCAN MATCH`,
//! `CONFIG GET`, later `PSUBSCRIBE`): `*` any run, `?` one byte, `[abc]`,
//! `[^a]` / `[!a]` negation, `[a-z]` ranges (either order), `\x` escapes.
//! Bytes, not characters. An unclosed `[` matches up to the end of the
//! pattern, as in Redis. Recursion on `*` is bounded by skipping runs of
//! stars and bailing out early when the rest cannot match, so a hostile
//! pattern cannot blow up the stack.

/// True when `s` matches `pattern`.
pub fn matches(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    match_at(pattern, s, nocase, 0).unwrap_or(false)
}

/// Like [`matches`], ASCII case-insensitively.
pub fn matches_nocase(pattern: &[u8], s: &[u8]) -> bool {
    matches(pattern, s, true)
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// `None` means "give up: no match possible further up" (a `*` already
/// consumed the rest of the string without success).
fn match_at(p: &[u8], s: &[u8], nocase: bool, depth: usize) -> Option<bool> {
    if depth > 1000 {
        return Some(false);
    }
    let (mut pi, mut si) = (0usize, 0usize);
    // Like Redis's stringmatchlen: the loop runs while both sides have bytes.
    while pi < p.len() && si < s.len() {
        let c = p.get(pi).copied()?;
        match c {
            b'*' => {
                while p.get(pi + 1) == Some(&b'*') {
                    pi += 1;
                }
                if pi + 1 == p.len() {
                    return Some(true);
                }
                while si < s.len() {
                    let rest_s = s.get(si..).unwrap_or(&[]);
                    let rest_p = p.get(pi + 1..).unwrap_or(&[]);
                    match match_at(rest_p, rest_s, nocase, depth + 1) {
                        Some(true) => return Some(true),
                        None => return None,
                        Some(false) => {}
                    }
                    si += 1;
                }
                return None;
            }
            b'?' => {
                if si >= s.len() {
                    return Some(false);
                }
                si += 1;
            }
            b'[' => {
                let Some(&sc) = s.get(si) else {
                    return Some(false);
                };
                pi += 1;
                let not = p.get(pi) == Some(&b'^');
                if not {
                    pi += 1;
                }
                let mut hit = false;
                loop {
                    match p.get(pi).copied() {
                        None => {
                            // Unclosed class: stop at the pattern's end.
                            pi -= 1;
                            break;
                        }
                        Some(b'\\') if pi + 2 <= p.len() => {
                            pi += 1;
                            if p.get(pi).is_some_and(|&x| eq(x, sc, nocase)) {
                                hit = true;
                            }
                        }
                        Some(b']') => break,
                        Some(start) if p.get(pi + 1) == Some(&b'-') && pi + 2 < p.len() => {
                            let end = p.get(pi + 2).copied().unwrap_or(start);
                            let (lo, hi) = if start <= end {
                                (start, end)
                            } else {
                                (end, start)
                            };
                            let (lo, hi, x) = if nocase {
                                (
                                    lo.to_ascii_lowercase(),
                                    hi.to_ascii_lowercase(),
                                    sc.to_ascii_lowercase(),
                                )
                            } else {
                                (lo, hi, sc)
                            };
                            if x >= lo && x <= hi {
                                hit = true;
                            }
                            pi += 2;
                        }
                        Some(x) => {
                            if eq(x, sc, nocase) {
                                hit = true;
                            }
                        }
                    }
                    pi += 1;
                }
                if not {
                    hit = !hit;
                }
                if !hit {
                    return Some(false);
                }
                si += 1;
            }
            b'\\' if pi + 1 < p.len() => {
                pi += 1;
                let lit = p.get(pi).copied()?;
                if !s.get(si).is_some_and(|&x| eq(lit, x, nocase)) {
                    return Some(false);
                }
                si += 1;
            }
            lit => {
                if !s.get(si).is_some_and(|&x| eq(lit, x, nocase)) {
                    return Some(false);
                }
                si += 1;
            }
        }
        pi += 1;
        if si >= s.len() {
            while p.get(pi) == Some(&b'*') {
                pi += 1;
            }
            break;
        }
    }
    Some(pi >= p.len() && si >= s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        matches(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn redis_glob_rules() {
        assert!(m("*", "anything"));
        // As in Redis, `*` needs at least one byte; KEYS/SCAN special-case a lone `*`.
        assert!(!m("*", ""));
        assert!(m("a*", "a"));
        assert!(m("a*b", "ab"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"));
        assert!(m("key:*", "key:1"));
        assert!(!m("key:*", "kex:1"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!m("*a*b*c*d", "xxaxxbxxcxx"));
        // An unclosed class is the rest of the pattern (redis-server agrees).
        assert!(!m("a[", "a["));
        assert!(m("a[b", "ab"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("user:*:name", "user:12:name"));
        assert!(matches_nocase(b"HeLLo*", b"hello world"));
    }

    #[test]
    fn pathological_patterns_terminate() {
        let p = "*a".repeat(50) + "b";
        let s = "a".repeat(100);
        assert!(!m(&p, &s));
    }
}
