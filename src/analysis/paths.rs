//! Path spelling shared by the analyses.

/// A tar member name as an absolute, cleaned path (Go's `path.Clean` of `/` + name):
/// `./etc/` → `/etc`, `a/../b` → `/b`, `./` → `/`.
pub fn clean_path(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `/etc/a` → `/etc`; `/a` → `/`.
pub(super) fn parent_dir(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((dir, _)) => dir,
    }
}

/// `/etc/a` → `a`.
pub(super) fn base_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, b)| b)
}

/// Whether `path` is `dir` or lies below it.
pub(super) fn is_within(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_and_parts() {
        assert_eq!(clean_path("./etc/"), "/etc");
        assert_eq!(clean_path("./"), "/");
        assert_eq!(clean_path("a/../b//c"), "/b/c");
        assert_eq!(clean_path("../x"), "/x");
        assert_eq!((parent_dir("/etc/a"), parent_dir("/a")), ("/etc", "/"));
        assert_eq!(base_name("/etc/a"), "a");
        assert!(is_within("/etc/a", "/etc") && is_within("/etc", "/etc") && !is_within("/etcx", "/etc"));
        assert!(is_within("/x", "/"));
    }
}
