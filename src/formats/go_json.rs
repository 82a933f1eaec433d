//! JSON bytes as Go's `encoding/json` writes them, for documents whose digest must equal what
//! containerd or moby computed (generated manifests, indexes, tar-split lines): compact, fields
//! in struct order (callers write them in that order), and Go's extra string escapes.

/// A JSON string literal as Go writes it.
pub fn string(s: &str) -> String {
    html_escape(serde_json::to_string(s).expect("strings serialise"))
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
}
