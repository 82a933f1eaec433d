//! Unquoting of quoted filter literals: Go string-literal escapes with `"`, `/` or `|` as the
//! quote (containerd's pkg/filters/quote.go, adapted from Go's strconv). The result is bytes:
//! `\xHH` and octal escapes may produce invalid UTF-8, as Go strings may.

/// Any failure is Go's single `quote syntax error`.
pub(super) struct QuoteSyntaxError;

pub(super) fn unquote(s: &str) -> Result<Vec<u8>, QuoteSyntaxError> {
    let b = s.as_bytes();
    let n = b.len();
    if n < 2 || b[0] != b[n - 1] || !matches!(b[0], b'"' | b'/' | b'|') {
        return Err(QuoteSyntaxError);
    }
    let quote = b[0];
    let inner = &s[1..n - 1];
    if inner.contains('\n') {
        return Err(QuoteSyntaxError);
    }
    if !inner.contains('\\') && !inner.as_bytes().contains(&quote) {
        return Ok(inner.as_bytes().to_vec());
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut rest = inner;
    while !rest.is_empty() {
        rest = unquote_char(rest, quote, &mut out)?;
    }
    Ok(out)
}

/// Decodes one (possibly escaped) character from `s` into `out`; returns the rest.
fn unquote_char<'s>(s: &'s str, quote: u8, out: &mut Vec<u8>) -> Result<&'s str, QuoteSyntaxError> {
    let c = s.as_bytes()[0];
    if c == quote {
        return Err(QuoteSyntaxError);
    }
    if c != b'\\' {
        let ch = s.chars().next().expect("non-empty");
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        return Ok(&s[ch.len_utf8()..]);
    }
    let bytes = s.as_bytes();
    if bytes.len() < 2 {
        return Err(QuoteSyntaxError);
    }
    let esc = bytes[1];
    let rest = &s[2..];
    let simple = match esc {
        b'a' => Some(0x07),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(0x0b),
        b'\\' => Some(b'\\'),
        b'\'' | b'"' | b'|' | b'/' if esc == quote => Some(esc),
        _ => None,
    };
    if let Some(v) = simple {
        out.push(v);
        return Ok(rest);
    }
    match esc {
        b'x' | b'u' | b'U' => {
            let len = match esc {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let digits = rest.get(..len).ok_or(QuoteSyntaxError)?;
            if !digits.bytes().all(|d| d.is_ascii_hexdigit()) {
                return Err(QuoteSyntaxError);
            }
            let v = u32::from_str_radix(digits, 16).map_err(|_| QuoteSyntaxError)?;
            if esc == b'x' {
                out.push(v as u8);
            } else {
                if v > 0x10FFFF {
                    return Err(QuoteSyntaxError);
                }
                // Go's utf8.EncodeRune writes U+FFFD for surrogates.
                let ch = char::from_u32(v).unwrap_or('\u{FFFD}');
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            Ok(&rest[len..])
        }
        b'0'..=b'7' => {
            let digits = rest.get(..2).ok_or(QuoteSyntaxError)?;
            let mut v = (esc - b'0') as u32;
            for d in digits.bytes() {
                if !(b'0'..=b'7').contains(&d) {
                    return Err(QuoteSyntaxError);
                }
                v = v << 3 | (d - b'0') as u32;
            }
            if v > 255 {
                return Err(QuoteSyntaxError);
            }
            out.push(v as u8);
            Ok(&rest[2..])
        }
        _ => Err(QuoteSyntaxError),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uq(s: &str) -> Option<Vec<u8>> {
        unquote(s).ok()
    }

    #[test]
    fn unquotes_go_escapes() {
        assert_eq!(uq("\"a.b\"").unwrap(), b"a.b");
        assert_eq!(uq("\"\\t\\x41\\101\\u00e9\"").unwrap(), "\tAAé".as_bytes());
        assert_eq!(uq("/a\\/b/").unwrap(), b"a/b");
        assert_eq!(uq("|a\\|b|").unwrap(), b"a|b");
        assert_eq!(uq("\"\\xff\"").unwrap(), vec![0xff]);
        assert_eq!(uq("\"\\ud800\"").unwrap(), "\u{FFFD}".as_bytes());
        assert!(uq("\"\\777\"").is_none()); // > 255
        assert!(uq("\"\\U00110000\"").is_none());
        assert!(uq("/a\\\"b/").is_none()); // \" only inside "..."
        assert!(uq("'a'").is_none());
        assert!(uq("\"").is_none());
    }
}
