//! The rows `docker images` prints for an image (docker CLI 20.10, `cli/command/formatter/
//! image.go`): REPOSITORY, TAG, DIGEST and IMAGE ID from an `ImageSummary`'s `RepoTags`,
//! `RepoDigests` and `Id`. The one copy of this rule: the `imagestore` command and the page
//! get their rows from it (`imageRows` in the bindings).

use super::reference::Reference;

const NONE: &str = "<none>";

/// One printed row of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRow {
    pub repository: String,
    pub tag: String,
    /// The repository digest (`sha256:…`), `<none>`, or empty: a digest-only repository listed
    /// without `digests` (the CLI leaves its DIGEST empty).
    pub digest: String,
}

/// What the CLI's options change about the rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowOptions {
    /// `--digests` (or a format naming `{{.Digest}}`): a row per tag and repository digest.
    pub digests: bool,
    /// `--no-trunc`: the IMAGE ID column holds whole IDs (see [`RowColumns`]).
    pub no_trunc: bool,
}

/// The rows of many images as columns: row `k` is of image number `image[k]`, with its
/// `repository[k]`, `tag[k]`, `digest[k]` and `id[k]` (IMAGE ID as the CLI prints it).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RowColumns {
    pub image: Vec<u32>,
    pub repository: Vec<String>,
    pub tag: Vec<String>,
    pub digest: Vec<String>,
    pub id: Vec<String>,
}

impl RowColumns {
    /// Adds the rows ([`image_rows`]) of image number `image`, whose ID is `id`.
    pub fn push_image<S: AsRef<str>>(
        &mut self,
        image: u32,
        id: &str,
        repo_tags: &[S],
        repo_digests: &[S],
        options: RowOptions,
    ) {
        let shown = if options.no_trunc { id } else { truncate_id(id) };
        for row in image_rows(repo_tags, repo_digests, options) {
            self.image.push(image);
            self.repository.push(row.repository);
            self.tag.push(row.tag);
            self.digest.push(row.digest);
            self.id.push(shown.to_string());
        }
    }
}

/// The rows of one image, as the CLI makes them: a dangling image (exactly `<none>:<none>` and
/// `<none>@<none>`) is one `<none>` row; otherwise a row per tag of each repository (per tag
/// and digest with `digests`), then a row for each repository known only by digest (per
/// digest with `digests`). References that do not parse, or are not tagged (digested), are
/// skipped, so an image may have no row. The CLI walks Go maps here, so its order between
/// repositories varies; ours is sorted. Names are familiar (`docker.io/library/x` → `x`).
pub fn image_rows<S: AsRef<str>>(repo_tags: &[S], repo_digests: &[S], options: RowOptions) -> Vec<ImageRow> {
    let row = |repository: &str, tag: &str, digest: &str| ImageRow {
        repository: repository.to_string(),
        tag: tag.to_string(),
        digest: digest.to_string(),
    };
    let dangling = |list: &[S], none: &str| list.len() == 1 && list[0].as_ref() == none;
    if dangling(repo_tags, "<none>:<none>") && dangling(repo_digests, "<none>@<none>") {
        return vec![row(NONE, NONE, NONE)];
    }
    let mut tags: Vec<(String, Vec<String>)> = Vec::new();
    for r in repo_tags.iter().filter_map(|s| Reference::parse_normalized_named(s.as_ref()).ok()) {
        if let Some(tag) = r.tag() {
            push_grouped(&mut tags, r.familiar_name(), tag.to_string());
        }
    }
    let mut digests: Vec<(String, Vec<String>)> = Vec::new();
    for r in repo_digests.iter().filter_map(|s| Reference::parse_normalized_named(s.as_ref()).ok()) {
        if let Some(d) = r.digest() {
            push_grouped(&mut digests, r.familiar_name(), d.to_string());
        }
    }
    tags.sort_by(|a, b| a.0.cmp(&b.0));
    digests.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rows = Vec::new();
    for (repo, repo_tags) in &tags {
        // A tagged repository's digests go on its tag rows (or nowhere), never rows of their own.
        let own = digests.iter().position(|(r, _)| r == repo).map(|i| digests.remove(i).1);
        let shown = own.filter(|_| options.digests).unwrap_or_default();
        for tag in repo_tags {
            if shown.is_empty() {
                rows.push(row(repo, tag, NONE));
            }
            for d in &shown {
                rows.push(row(repo, tag, d));
            }
        }
    }
    for (repo, repo_digests) in &digests {
        if options.digests {
            rows.extend(repo_digests.iter().map(|d| row(repo, NONE, d)));
        } else {
            rows.push(row(repo, NONE, ""));
        }
    }
    rows
}

/// `stringid.TruncateID`: what follows the first `:`, at most 12 characters (`IMAGE ID`).
pub fn truncate_id(id: &str) -> &str {
    let hex = id.split_once(':').map_or(id, |(_, h)| h);
    hex.char_indices().nth(12).map_or(hex, |(at, _)| &hex[..at])
}

fn push_grouped(groups: &mut Vec<(String, Vec<String>)>, key: String, value: String) {
    match groups.iter_mut().find(|(k, _)| *k == key) {
        Some((_, values)) => values.push(value),
        None => groups.push((key, vec![value])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(tags: &[&str], digests: &[&str], with_digests: bool) -> Vec<(String, String, String)> {
        image_rows(tags, digests, RowOptions { digests: with_digests, ..Default::default() })
            .into_iter()
            .map(|r| (r.repository, r.tag, r.digest))
            .collect()
    }
    fn t(r: &str, tag: &str, d: &str) -> (String, String, String) {
        (r.into(), tag.into(), d.into())
    }

    const D1: &str = "sha256:a12f393f6889cd5a6a78e8f3d30590b0e4c2c25f7d74075501fbad53d3bb5606";
    const D2: &str = "sha256:31432fe200a0fed0f6a44596d90c76e6cd597bb65295102e90e97f58adc7d2e7";

    #[test]
    fn digest_only_repositories_get_a_none_tag_row_with_an_empty_digest_unless_digests_are_shown() {
        let digests = [format!("a/b@{D1}"), format!("a/b@{D2}"), format!("docker.io/library/x@{D1}")];
        let digests: Vec<&str> = digests.iter().map(String::as_str).collect();
        assert_eq!(rows(&[], &digests, false), vec![t("a/b", NONE, ""), t("x", NONE, "")]);
        assert_eq!(rows(&[], &digests, true), vec![t("a/b", NONE, D1), t("a/b", NONE, D2), t("x", NONE, D1)]);
    }

    #[test]
    fn unparsable_or_untagged_references_are_skipped_and_names_are_familiar() {
        assert_eq!(
            rows(&["Upper:1", "docker.io/library/busybox:1", "plain"], &[], false),
            vec![t("busybox", "1", NONE)]
        );
        assert!(rows(&["<none>:<none>"], &[], false).is_empty(), "only the exact pair is dangling");
    }

    #[test]
    fn truncate_id_is_stringid_truncate_id() {
        assert_eq!(truncate_id(D1), "a12f393f6889");
        assert_eq!(truncate_id("abc"), "abc");
        assert_eq!(truncate_id("x:0123456789abcdef"), "0123456789ab");
    }
}
