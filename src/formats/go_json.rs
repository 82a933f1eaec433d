//! JSON bytes as Go's `encoding/json` writes them, for documents whose digest must equal what
//! containerd or moby computed (generated manifests, indexes, tar-split lines): compact, fields
//! in struct order (callers write them in that order), and Go's extra string escapes.

/// A JSON string literal as Go writes it.
pub fn string(s: &str) -> String {
    html_escape(serde_json::to_string(s).expect("strings serialise"))
}

/// Appends a JSON string literal as dockerd's API answers write it: Go's encoder with
/// `SetEscapeHTML(false)` (api/server/httputils.WriteJSON): `"`, `\\`, `\n`, `\r`, `\t`, other
/// control characters as `\u00xx`, U+2028 and U+2029 as `\u2028`/`\u2029`; `<`, `>`, `&` as is.
pub fn write_api_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let bytes = s.as_bytes();
    // Nearly every string needs no escape: one tight scan, one copy.
    if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\' || b == 0xE2) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut plain = 0;
    let mut i = 0;
    // A byte scan: everything to escape is ASCII, or U+2028/U+2029 (E2 80 A8/A9 in UTF-8).
    while i < bytes.len() {
        let b = bytes[i];
        let (escaped, len): (&str, usize) = match b {
            b'"' => ("\\\"", 1),
            b'\\' => ("\\\\", 1),
            b'\n' => ("\\n", 1),
            b'\r' => ("\\r", 1),
            b'\t' => ("\\t", 1),
            0..0x20 => ("", 1),
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => ("\\u2028", 3),
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => ("\\u2029", 3),
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[plain..i]);
        if escaped.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escaped);
        }
        i += len;
        plain = i;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// Appends a map of strings (labels) as dockerd's API answers write it: an object, keys in byte
/// order (Go's encoder sorts map keys, and a `BTreeMap` is in that order), each string as
/// [`write_api_string`] writes it.
pub fn write_api_string_map(out: &mut String, map: &std::collections::BTreeMap<String, String>) {
    let mut first = true;
    for (k, v) in map {
        out.push(if first { '{' } else { ',' });
        first = false;
        write_api_string(out, k);
        out.push(':');
        write_api_string(out, v);
    }
    out.push_str(if first { "{}" } else { "}" });
}

/// Whether `text` is what [`write_api_string_map`] writes: a compact JSON object whose values
/// are strings, each escape one JSON knows (no lone surrogate), so that parsing it as a map of
/// strings cannot fail. One pass over the bytes, for text a store kept and reads back.
pub fn is_api_string_map(text: &str) -> bool {
    let b = text.as_bytes();
    // The end of the string literal starting at `at` (just past its closing quote).
    let string_end = |mut at: usize| -> Option<usize> {
        if b.get(at) != Some(&b'"') {
            return None;
        }
        at += 1;
        loop {
            match *b.get(at)? {
                b'"' => return Some(at + 1),
                b'\\' => match *b.get(at + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at += 2,
                    b'u' => {
                        let hex = std::str::from_utf8(b.get(at + 2..at + 6)?).ok()?;
                        let unit = u16::from_str_radix(hex, 16).ok()?;
                        if hex.starts_with('+') || (0xD800..=0xDFFF).contains(&unit) {
                            return None;
                        }
                        at += 6;
                    }
                    _ => return None,
                },
                0..0x20 => return None,
                _ => at += 1,
            }
        }
    };
    if text == "{}" {
        return true;
    }
    let mut at = 0;
    loop {
        if b.get(at) != Some(if at == 0 { &b'{' } else { &b',' }) {
            return false;
        }
        let Some(after_key) = string_end(at + 1) else { return false };
        if b.get(after_key) != Some(&b':') {
            return false;
        }
        let Some(after_value) = string_end(after_key + 1) else { return false };
        at = after_value;
        if b.get(at) == Some(&b'}') {
            return at + 1 == b.len();
        }
    }
}

/// What Go's `json.Marshal(v)` writes for a JSON value (object keys in the value's order).
pub fn marshal(v: &serde_json::Value) -> Vec<u8> {
    html_escape(v.to_string()).into_bytes()
}

/// What Go's `json.NewEncoder(w).Encode(v)` writes: [`marshal`] and a newline.
pub fn encoder_line(v: &serde_json::Value) -> Vec<u8> {
    let mut b = marshal(v);
    b.push(b'\n');
    b
}

/// Applies Go's escapes that serde_json does not: `<`, `>`, `&`, U+2028 and U+2029 become
/// `\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`. Safe on whole documents: outside strings
/// JSON never contains these characters.
pub fn html_escape(json: String) -> String {
    if !json.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_like_go() {
        assert_eq!(super::string("a<b>&\"c\u{2028}"), r#""a\u003cb\u003e\u0026\"c\u2028""#);
        assert_eq!(super::string("plain"), "\"plain\"");
    }

    #[test]
    fn api_strings_keep_html_characters() {
        let written = |s: &str| {
            let mut out = String::new();
            super::write_api_string(&mut out, s);
            out
        };
        assert_eq!(written("<none>:<none> & é"), r#""<none>:<none> & é""#);
        assert_eq!(written("q\"b\\n\n\r\t\u{1}\u{1f}\u{2028}x"), r#""q\"b\\n\n\r\t\u0001\u001f\u2028x""#);
        // Whatever it writes is JSON for the same string.
        let odd = "a\u{7f}\u{0}\u{2029}\"😀";
        assert_eq!(serde_json::from_str::<String>(&written(odd)).unwrap(), odd);
    }

    #[test]
    fn string_maps_are_written_as_objects_and_recognised() {
        let map = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let written = |m: &std::collections::BTreeMap<String, String>| {
            let mut out = String::new();
            super::write_api_string_map(&mut out, m);
            out
        };
        let odd = map(&[("b", "q\"\n\u{2028}é"), ("a", ""), ("<k>", "\u{1}")]);
        for m in [map(&[]), map(&[("only", "one")]), odd] {
            let text = written(&m);
            assert!(super::is_api_string_map(&text), "{text}");
            assert_eq!(serde_json::from_str::<std::collections::BTreeMap<String, String>>(&text).unwrap(), m);
        }
        assert_eq!(written(&map(&[("b", "2"), ("a", "1")])), r#"{"a":"1","b":"2"}"#);
        // Anything else is refused: what a map of strings cannot parse from, or another shape.
        for bad in [
            "",
            "{",
            "}",
            "null",
            "[]",
            r#"{"a":1}"#,
            r#"{"a":"1",}"#,
            r#"{"a":"1"} "#,
            r#"{"a" :"1"}"#,
            r#"{"a":"1""b":"2"}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\u12"}"#,
            r#"{"a":"\u+123"}"#,
            "{\"a\":\"\n\"}",
            r#"{"a":"1"#,
            r#"{"a"}"#,
        ] {
            assert!(!super::is_api_string_map(bad), "{bad:?}");
        }
    }
}
