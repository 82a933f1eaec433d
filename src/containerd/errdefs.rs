//! containerd's error texts. containerd wraps its errdefs sentinels with `fmt.Errorf("...: %w")`,
//! so every message ends in the sentinel's word (`not found`, `already exists`, ...) and `ctr`
//! prints exactly that string. These helpers build the same strings with our error codes.

use crate::error::Error;
use std::fmt::Display;

pub fn not_found(what: impl Display) -> Error {
    Error::not_found(format!("{what}: not found"))
}
pub fn already_exists(what: impl Display) -> Error {
    Error::already_exists(format!("{what}: already exists"))
}
pub fn invalid_argument(what: impl Display) -> Error {
    Error::invalid(format!("{what}: invalid argument"))
}
pub fn failed_precondition(what: impl Display) -> Error {
    Error::precondition(format!("{what}: failed precondition"))
}
pub fn unavailable(what: impl Display) -> Error {
    Error::unavailable(format!("{what}: unavailable"))
}

/// Go's `%q` for a string: double-quoted with Go escapes (printable Unicode is kept).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c == ' ' || !(c.is_control() || c.is_whitespace()) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_end_in_the_errdefs_word() {
        let e = not_found(format!("image {}", go_quote("a")));
        assert_eq!(e.code, crate::ErrorCode::NotFound);
        assert_eq!(e.message, "image \"a\": not found");
        assert_eq!(unavailable("ref x locked").message, "ref x locked: unavailable");
    }

    #[test]
    fn go_quote_escapes_like_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("tab\there\u{1}"), r#""tab\there\x01""#);
        assert_eq!(go_quote("héllo wörld"), "\"héllo wörld\"");
        assert_eq!(go_quote("\u{85}"), r#""\u0085""#);
    }
}
