//! File search patterns: an absolute path (`/etc/passwd`: that path and everything below
//! it), a basename (`passwd`: any file of that name), or a glob (`**/*.pem`, `/etc/ssl/**`,
//! `*.so.?`): `*` and `?` stay within one path segment, `**` spans any number of segments,
//! `[abc]`/`[a-z]`/`[!a]` match one character. A glob without a `/` matches basenames.

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Path(String),
    Basename(String),
    /// Segments of a glob over whole paths.
    Glob(Vec<String>),
    /// A glob over the last path segment.
    BasenameGlob(String),
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern> {
        let t = text.trim();
        if t.is_empty() {
            return Err(Error::invalid("empty file pattern"));
        }
        let globby = t.contains(['*', '?', '[']);
        if globby {
            check_classes(t)?;
        }
        Ok(match (globby, t.contains('/')) {
            (false, true) => Pattern::Path(super::clean_path(t)),
            (false, false) => Pattern::Basename(t.to_string()),
            (true, false) => Pattern::BasenameGlob(t.to_string()),
            (true, true) => {
                let t = t.trim_start_matches('/');
                Pattern::Glob(t.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect())
            }
        })
    }

    /// Whether an absolute, cleaned `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            Pattern::Path(p) => super::paths::is_within(path, p),
            Pattern::Basename(b) => super::paths::base_name(path) == b,
            Pattern::BasenameGlob(g) => segment_matches(g.as_bytes(), super::paths::base_name(path).as_bytes()),
            Pattern::Glob(segs) => {
                // A last segment other than `**` must match the last part: checked first, as it
                // turns most paths away without splitting them.
                if let Some(last) = segs.last().filter(|s| *s != "**") {
                    let base = path.rsplit('/').find(|s| !s.is_empty());
                    if !base.is_some_and(|b| segment_matches(last.as_bytes(), b.as_bytes())) {
                        return false;
                    }
                }
                let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
                glob_segments(segs, &parts)
            }
        }
    }
}

fn check_classes(t: &str) -> Result<()> {
    let mut open = false;
    for c in t.chars() {
        match c {
            '[' if !open => open = true,
            ']' if open => open = false,
            _ => {}
        }
    }
    if open {
        return Err(Error::invalid(format!("file pattern {t:?}: unclosed '['")));
    }
    Ok(())
}

fn glob_segments(pat: &[String], parts: &[&str]) -> bool {
    match pat.split_first() {
        None => parts.is_empty(),
        Some((first, rest)) if first == "**" => (0..=parts.len()).any(|skip| glob_segments(rest, &parts[skip..])),
        Some((first, rest)) => match parts.split_first() {
            Some((p, more)) => segment_matches(first.as_bytes(), p.as_bytes()) && glob_segments(rest, more),
            None => false,
        },
    }
}

/// `*`, `?` and `[...]` within one segment (bytes; a multi-byte character counts as its bytes
/// for `?`, which only matters for non-ASCII names).
fn segment_matches(pat: &[u8], s: &[u8]) -> bool {
    match pat.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| segment_matches(&pat[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && segment_matches(&pat[1..], &s[1..]),
        Some(b'[') => {
            let Some(close) = pat[1..].iter().position(|&c| c == b']').map(|i| i + 1) else { return false };
            let Some(&c) = s.first() else { return false };
            let class = &pat[1..close];
            let (negate, class) = match class.first() {
                Some(b'!') | Some(b'^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negate && segment_matches(&pat[close + 1..], &s[1..])
        }
        Some(&p) => s.first() == Some(&p) && segment_matches(&pat[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, path: &str) -> bool {
        Pattern::parse(p).unwrap().matches(path)
    }

    #[test]
    fn paths_basenames_and_globs() {
        assert!(m("/etc/ssl", "/etc/ssl/certs/a.pem") && m("/etc/ssl/", "/etc/ssl") && !m("/etc/ssl", "/etc/ssl2"));
        assert!(m("passwd", "/etc/passwd") && !m("passwd", "/etc/passwd-"));
        assert!(m("**/*.pem", "/a.pem") && m("**/*.pem", "/etc/ssl/certs/x.pem") && !m("**/*.pem", "/x.pem.bak"));
        assert!(m("/etc/ssl/**", "/etc/ssl/a/b") && m("/etc/ssl/**", "/etc/ssl") && !m("/etc/ssl/**", "/etc/x"));
        assert!(m("*.so.?", "/lib/libc.so.6") && !m("*.so.?", "/lib/libc.so.61"));
        assert!(m("/usr/*/lib[a-c]", "/usr/local/libb") && !m("/usr/*/lib[!a-c]", "/usr/local/libb"));
        assert!(!m("/usr/*", "/usr/local/lib"));
        // The last segment is checked against the basename first: the rest must still match.
        assert!(m("/a/**/b", "/a/b") && m("/a/**/b", "/a/x/y/b") && !m("/a/**/b", "/a/b/c") && !m("/a/**/b", "/c/b"));
        assert!(m("**", "/") && !m("/*", "/") && m("/*/[0-9]", "/x/7") && !m("/*/[0-9]", "/7"));
        assert_eq!(Pattern::parse(" ").unwrap_err().code, crate::ErrorCode::InvalidArgument);
        assert!(Pattern::parse("/a/[b").is_err());
    }
}
