//! containerd's filter language (pkg/filters), parsed exactly as containerd parses it and
//! evaluated over any object through the [`Adaptor`] trait.
//!
//! `name==foo,labels."a.b"~=^x` is one filter: comma-separated selectors that must all match.
//! Several filter strings ([`parse_all`]) match when any of them does; `""` matches all.
//! Semantics (containerd's filters package, adaptors.go): no operator = field present; `==` = present and equal;
//! `!=` = not equal, so an absent field (read as "") matches; `~=` = unanchored regex search
//! on the value ("" when absent); a regex that does not compile matches nothing.
//!
//! Regex engine: `regex-lite`, not `regex`. containerd uses Go's RE2 `regexp`; both crates take
//! the same RE2-style syntax, and regex-lite's ASCII-only `\w \d \s \b` equal Go's (`regex`'s
//! are Unicode-aware, so it would differ there anyway). regex-lite lacks Unicode classes
//! (`\pL`) and Unicode case folding — such patterns fail to compile and so match nothing —
//! but it costs roughly a tenth of `regex`'s wasm size, which matters for a browser bundle.
//! Where the two read braces differently (`a{,2}` and `a{02}` are literal text in Go; counts
//! over 1000 are an error in Go), the pattern is first rewritten to Go's meaning ([`go_regexp`]).

mod go_regexp;
mod parser;
mod quote;
mod scanner;

use crate::error::{Error, Result};

/// Maps a field path (`["labels", "a.b"]`, `["target", "digest"]`) to the object's value:
/// `Some(value)` when the field is present, `None` when absent.
pub trait Adaptor {
    fn field(&self, path: &[String]) -> Option<String>;
}

/// A selector's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// No operator: the field must be present.
    Present,
    Equal,
    NotEqual,
    /// `~=`: regular-expression search.
    Matches,
}

/// One `fieldpath [op value]` term.
#[derive(Debug, Clone)]
pub struct Selector {
    fieldpath: Vec<String>,
    operator: Operator,
    /// Bytes, since quoted escapes like `\xff` can make non-UTF-8 values (Go strings allow it).
    value: Vec<u8>,
    /// The compiled `~=` pattern; `None` when it does not compile (the selector never matches).
    regex: Option<regex_lite::Regex>,
}

impl Selector {
    fn new(fieldpath: Vec<String>, operator: Operator, value: Vec<u8>) -> Self {
        let regex = match operator {
            Operator::Matches => std::str::from_utf8(&value).ok().and_then(|p| compile(p).ok()),
            _ => None,
        };
        Selector { fieldpath, operator, value, regex }
    }

    pub fn fieldpath(&self) -> &[String] {
        &self.fieldpath
    }
    pub fn operator(&self) -> Operator {
        self.operator
    }
    /// The unquoted value bytes (empty for `Present`).
    pub fn value(&self) -> &[u8] {
        &self.value
    }
    /// False for a `~=` whose pattern failed to compile (it then never matches).
    pub fn regex_compiled(&self) -> bool {
        self.regex.is_some()
    }

    pub fn matches(&self, obj: &dyn Adaptor) -> bool {
        let found = obj.field(&self.fieldpath);
        match self.operator {
            Operator::Present => found.is_some(),
            Operator::Equal => found.is_some_and(|v| v.as_bytes() == self.value.as_slice()),
            Operator::NotEqual => found.unwrap_or_default().as_bytes() != self.value.as_slice(),
            Operator::Matches => match &self.regex {
                Some(re) => re.is_match(&found.unwrap_or_default()),
                None => false,
            },
        }
    }
}

/// A parsed filter (or set of filters).
#[derive(Debug, Clone)]
pub enum Filter {
    /// Matches everything (`""`, or no filters at all).
    Always,
    /// Comma-separated selectors: all must match.
    All(Vec<Selector>),
    /// Several filter strings: any may match.
    Any(Vec<Filter>),
}

impl Filter {
    pub fn matches(&self, obj: &dyn Adaptor) -> bool {
        match self {
            Filter::Always => true,
            Filter::All(selectors) => selectors.iter().all(|s| s.matches(obj)),
            Filter::Any(filters) => filters.iter().any(|f| f.matches(obj)),
        }
    }
}

/// Parses one filter string like containerd's `filters.Parse`. Errors are `invalid_argument`
/// with containerd's text, e.g. `filters: parse error: [name >|=|< =x]: unsupported operator "="`.
pub fn parse(input: &str) -> Result<Filter> {
    if input.is_empty() {
        return Ok(Filter::Always);
    }
    let mut p = parser::Parser::new(input);
    p.selectors().map(Filter::All).map_err(|e| Error::invalid(format!("filters: parse error: {}", e.render(p.input()))))
}

/// Parses several filter strings like containerd's `filters.ParseAll` (what images.List and
/// content Walk call): any may match; none = match all. Errors end in `: invalid argument`,
/// as containerd's do. Unlike containerd, a `~=` pattern that does not compile is an error
/// here (containerd logs it on the daemon and matches nothing, which looks like "no images").
pub fn parse_all<S: AsRef<str>>(inputs: &[S]) -> Result<Filter> {
    if inputs.is_empty() {
        return Ok(Filter::Always);
    }
    let filters = inputs
        .iter()
        .map(|s| {
            let filter = parse(s.as_ref()).map_err(|e| Error::invalid(format!("{}: invalid argument", e.message)))?;
            check_patterns(s.as_ref(), &filter)?;
            Ok(filter)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Filter::Any(filters))
}

/// The most memory one compiled `~=` pattern may take (regex-lite's default is 10 MiB). Go
/// accepts nested counts like `((a{1000}){1000})` that no filter needs; a machine of this size
/// still holds tens of thousands of states, and a page compiles the pattern on every keystroke.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A `~=` pattern compiled as Go reads it ([`go_regexp`]), or why it does not compile.
fn compile(pattern: &str) -> std::result::Result<regex_lite::Regex, String> {
    let pattern = go_regexp::go_braces(pattern)?;
    regex_lite::RegexBuilder::new(&pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| e.to_string().lines().last().unwrap_or_default().trim().to_string())
}

/// The error for the first `~=` pattern of `filter` that does not compile, with the reason.
fn check_patterns(input: &str, filter: &Filter) -> Result<()> {
    let Filter::All(selectors) = filter else { return Ok(()) };
    let Some(s) = selectors.iter().find(|s| s.operator == Operator::Matches && s.regex.is_none()) else {
        return Ok(());
    };
    let pattern = String::from_utf8_lossy(&s.value);
    let why = match compile(&pattern) {
        Err(e) => e,
        Ok(_) => "not UTF-8".to_string(),
    };
    Err(Error::invalid(format!(
        "filters: [{input}]: invalid regular expression {pattern:?} after ~=: {why}: invalid argument"
    )))
}

#[cfg(test)]
mod tests;
