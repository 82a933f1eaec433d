//! Where Go's `regexp/syntax` reads braces differently from regex-lite, a `~=` pattern is
//! rewritten into what Go means before regex-lite compiles it:
//! - Go reads `{` as a repetition only in the forms `{n}`, `{n,}` and `{n,m}` with decimal
//!   numbers without leading zeros (`parseRepeat`, `parseInt`); any other `{` is a literal
//!   brace (`a{,2}`, `a{02}`, `a{x}`), so it is escaped here.
//! - a count over 1000 (or `n > m`) is an error in Go ("invalid repeat count"). regex-lite
//!   accepts it, and `a{98465}` builds a machine that takes seconds to run over one value.
//!
//! Escapes (`\{`, `\x{41}`, `\p{Greek}`) and character classes (`[{}]`) are copied as they are.

use std::borrow::Cow;

/// Go's limit on a repetition count (`regexp/syntax`).
const MAX_REPEAT: u32 = 1000;

/// `pattern` with the braces Go reads as literals escaped, or Go's error for a repetition
/// count it refuses.
pub(super) fn go_braces(pattern: &str) -> Result<Cow<'_, str>, String> {
    if !pattern.contains(['{', '}']) {
        return Ok(Cow::Borrowed(pattern));
    }
    let b = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut copied = 0; // bytes of `pattern` before this are in `out`
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i = skip_escape(b, i),
            b'[' => i = skip_class(b, i),
            b'{' => match repeat(&b[i..]) {
                Some((true, len)) => i += len,
                Some((false, len)) => {
                    return Err(format!("invalid repeat count: `{}`", &pattern[i..i + len]));
                }
                None => {
                    out.push_str(&pattern[copied..i]);
                    out.push_str("\\{");
                    i += 1;
                    copied = i;
                }
            },
            b'}' => {
                out.push_str(&pattern[copied..i]);
                out.push_str("\\}");
                i += 1;
                copied = i;
            }
            _ => i += 1,
        }
    }
    if copied == 0 {
        return Ok(Cow::Borrowed(pattern));
    }
    out.push_str(&pattern[copied..]);
    Ok(Cow::Owned(out))
}

/// A repetition at the start of `s` (which starts with `{`), as Go parses it: `None` when Go
/// reads the `{` as a literal; else whether its counts are allowed, and its length.
fn repeat(s: &[u8]) -> Option<(bool, usize)> {
    let (min, mut at) = number(s, 1)?;
    let max = match s.get(at)? {
        b',' if s.get(at + 1) == Some(&b'}') => {
            at += 1;
            None
        }
        b',' => {
            let (max, end) = number(s, at + 1)?;
            at = end;
            Some(max)
        }
        _ => Some(min),
    };
    if s.get(at) != Some(&b'}') {
        return None;
    }
    let allowed = min <= MAX_REPEAT && max.is_none_or(|m| m <= MAX_REPEAT && min <= m);
    Some((allowed, at + 1))
}

/// A decimal number at `s[at..]` without a leading zero (Go's `parseInt`): its value (capped
/// past the limit) and where it ends.
fn number(s: &[u8], at: usize) -> Option<(u32, usize)> {
    let digits = s[at.min(s.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || (digits > 1 && s[at] == b'0') {
        return None;
    }
    let value = s[at..at + digits].iter().try_fold(0u32, |n, d| {
        let n = n * 10 + u32::from(d - b'0');
        (n <= MAX_REPEAT).then_some(n)
    });
    Some((value.unwrap_or(MAX_REPEAT + 1), at + digits))
}

/// Past the escape at `b[i]` (`\`): one character, or a braced `\x{…}`, `\p{…}`, `\P{…}`.
fn skip_escape(b: &[u8], i: usize) -> usize {
    match b.get(i + 1) {
        None => i + 1,
        Some(b'x' | b'p' | b'P') if b.get(i + 2) == Some(&b'{') => {
            b[i + 3..].iter().position(|&c| c == b'}').map_or(b.len(), |n| i + 3 + n + 1)
        }
        Some(_) => next_char(b, i + 1),
    }
}

/// Past the character class opening at `b[i]` (`[`): a `]` right after `[` or `[^` is a
/// member, `[:name:]` is a POSIX class, escapes are skipped.
fn skip_class(b: &[u8], i: usize) -> usize {
    let mut at = i + 1;
    if b.get(at) == Some(&b'^') {
        at += 1;
    }
    if b.get(at) == Some(&b']') {
        at += 1;
    }
    while at < b.len() {
        match b[at] {
            b']' => return at + 1,
            b'\\' => at = skip_escape(b, at),
            b'[' if b.get(at + 1) == Some(&b':') => {
                at = match b[at + 2..].windows(2).position(|w| w == b":]") {
                    Some(n) => at + 2 + n + 2,
                    None => at + 1,
                }
            }
            _ => at += 1,
        }
    }
    b.len()
}

/// Past the UTF-8 character starting at `b[i]`.
fn next_char(b: &[u8], i: usize) -> usize {
    let mut at = i + 1;
    while at < b.len() && b[at] & 0xC0 == 0x80 {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_read_as_go_reads_them() {
        for (pattern, go_means) in [
            ("abc", "abc"),
            ("a{2}", "a{2}"),
            ("a{2,}", "a{2,}"),
            ("a{2,5}", "a{2,5}"),
            ("a{1000}", "a{1000}"),
            ("a{0}", "a{0}"),
            // Literal braces in Go.
            ("a{,5}", "a\\{,5\\}"),
            ("a{02}", "a\\{02\\}"),
            ("a{0074498465}", "a\\{0074498465\\}"),
            ("a{x}", "a\\{x\\}"),
            ("a{2", "a\\{2"),
            ("a{2,", "a\\{2,"),
            ("a{ 2}", "a\\{ 2\\}"),
            ("}", "\\}"),
            ("{", "\\{"),
            // Escapes and classes are left alone.
            ("\\{0}", "\\{0\\}"),
            ("\\x{41}{2}", "\\x{41}{2}"),
            ("\\p{Greek}", "\\p{Greek}"),
            ("[{}]", "[{}]"),
            ("[]{]{3}", "[]{]{3}"),
            ("[^]}]", "[^]}]"),
            ("[[:alpha:]{]x{,1}", "[[:alpha:]{]x\\{,1\\}"),
            ("[\\]{]", "[\\]{]"),
            ("é{2}ü{,}", "é{2}ü\\{,\\}"),
        ] {
            assert_eq!(go_braces(pattern).as_deref(), Ok(go_means), "{pattern}");
            assert!(regex_lite::Regex::new(go_means).is_ok() || pattern.starts_with("\\p"), "{go_means}");
        }
        for refused in ["a{1001}", "a{2,1001}", "a{5,2}", "a{100000000000}", "x{98465}"] {
            let why = go_braces(refused).unwrap_err();
            assert!(why.starts_with("invalid repeat count: `{"), "{refused}: {why}");
        }
    }

    #[test]
    fn literal_braces_match_as_literals() {
        let re = regex_lite::Regex::new(&go_braces("^v{,2}$").unwrap()).unwrap();
        assert!(re.is_match("v{,2}"));
        assert!(!re.is_match("vv"));
    }
}
