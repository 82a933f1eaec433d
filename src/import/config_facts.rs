//! The few facts of an image config that dockerd's restore looks at: `rootfs.diff_ids` and
//! `os`, plus whether Go's `json.Unmarshal` into moby's `Image` would accept the document at all.
//!
//! TODO(dformats): replace with `crate::formats::image_config` once it lands; this is a
//! deliberately small stand-in. Like Go's decoder it matches keys case-insensitively (an exact
//! match wins) and ignores unknown keys; it checks the types of the fields it reads but not,
//! for instance, the time format of `created`.
//!
//! The "too many non-empty layers in History section" rule is deliberately not applied:
//! moby checks it in `Create` only, while `restore()` goes through `Get` → `NewFromJSON`,
//! which accepts such configs. History is only type-checked here.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFacts {
    /// `rootfs.diff_ids`, as written (validated later: an invalid one means no layer).
    pub diff_ids: Vec<String>,
    /// `os`, empty when absent.
    pub os: String,
}

/// Parses a config the way moby's `NewFromJSON` does; the error is the skip reason.
pub fn parse(bytes: &[u8]) -> Result<ConfigFacts, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid image JSON: {e}"))?;
    let obj = match &doc {
        Value::Object(o) => o,
        // Go decodes `null` into the zero Image, which then has no RootFS.
        Value::Null => return Err(no_rootfs()),
        other => return Err(format!("invalid image JSON: expected an object, found {}", kind(other))),
    };
    let os = match field(obj, "os") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(type_error("os", "a string", other)),
    };
    if let Some(history) = field(obj, "history") {
        check_history(history)?;
    }
    let rootfs = match field(obj, "rootfs") {
        None | Some(Value::Null) => return Err(no_rootfs()),
        Some(Value::Object(r)) => r,
        Some(other) => return Err(type_error("rootfs", "an object", other)),
    };
    if let Some(t) = field(rootfs, "type") {
        if !matches!(t, Value::String(_) | Value::Null) {
            return Err(type_error("rootfs.type", "a string", t));
        }
    }
    let diff_ids = match field(rootfs, "diff_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                // Go leaves a null array element as the zero value.
                Value::Null => Ok(String::new()),
                other => Err(type_error("rootfs.diff_ids[]", "a string", other)),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(type_error("rootfs.diff_ids", "an array", other)),
    };
    Ok(ConfigFacts { diff_ids, os })
}

fn check_history(history: &Value) -> Result<(), String> {
    let items = match history {
        Value::Null => return Ok(()),
        Value::Array(items) => items,
        other => return Err(type_error("history", "an array", other)),
    };
    for item in items {
        match item {
            Value::Null => {}
            Value::Object(h) => match field(h, "empty_layer") {
                None | Some(Value::Null) | Some(Value::Bool(_)) => {}
                Some(other) => return Err(type_error("history[].empty_layer", "a boolean", other)),
            },
            other => return Err(type_error("history[]", "an object", other)),
        }
    }
    Ok(())
}

/// Go's `encoding/json` key matching: the exact name, else any case-insensitive match.
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

fn no_rootfs() -> String {
    "invalid image JSON, no RootFS key".to_string()
}

fn type_error(what: &str, want: &str, found: &Value) -> String {
    format!("invalid image JSON: {what} must be {want}, found {}", kind(found))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_diff_ids_and_os() {
        let f = parse(br#"{"os":"linux","RootFS":{"type":"layers","diff_ids":["sha256:a","sha256:b"]},"history":[{"empty_layer":true},{}]}"#).unwrap();
        assert_eq!(f.diff_ids, vec!["sha256:a", "sha256:b"]);
        assert_eq!(f.os, "linux");
        assert_eq!(parse(br#"{"rootfs":{"type":"layers"}}"#).unwrap().diff_ids, Vec::<String>::new());
    }

    #[test]
    fn rejects_what_go_rejects() {
        assert_eq!(parse(b"{}").unwrap_err(), "invalid image JSON, no RootFS key");
        assert_eq!(parse(b"null").unwrap_err(), "invalid image JSON, no RootFS key");
        assert!(parse(b"{not json").unwrap_err().starts_with("invalid image JSON:"));
        assert!(parse(br#"{"rootfs":{"diff_ids":"x"}}"#).unwrap_err().contains("rootfs.diff_ids"));
        assert!(parse(br#"{"rootfs":{},"os":3}"#).unwrap_err().contains("os"));
        assert!(parse(br#"{"rootfs":{},"history":[{"empty_layer":"yes"}]}"#).unwrap_err().contains("empty_layer"));
    }
}
