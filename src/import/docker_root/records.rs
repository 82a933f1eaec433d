//! `repositories.json` and `distribution/` records of a staged store folder, parsed the way
//! dockerd loads them: a bad record is skipped with a warning, never fatal.

use crate::digest::Digest;
use crate::docker::model::{DistributionRecords, RepositoryMap, V2Metadata};
use crate::formats::reference::Reference;
use serde_json::Value;
use std::collections::BTreeMap;

/// Parses `repositories.json` (`{"Repositories": {repo: {reference: image id}}}`). Keys are
/// kept exactly as written, even those that don't parse as references (dockerd keeps them
/// too, it just never lists them); those get a warning.
pub(super) fn parse_repositories(bytes: &[u8], warnings: &mut Vec<String>) -> RepositoryMap {
    let mut map = RepositoryMap::new();
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            warnings.push(format!("repositories.json is not valid JSON ({e}): no references imported"));
            return map;
        }
    };
    // Go matches the `Repositories` key case-insensitively.
    let repos = match &doc {
        Value::Object(o) => o
            .get("Repositories")
            .or_else(|| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("repositories")).map(|(_, v)| v)),
        _ => None,
    };
    let repos = match repos {
        None | Some(Value::Null) => return map,
        Some(Value::Object(r)) => r,
        Some(_) => {
            warnings.push("repositories.json: \"Repositories\" is not an object: no references imported".into());
            return map;
        }
    };
    for (repo, refs) in repos {
        let Value::Object(refs) = refs else {
            warnings.push(format!("repositories.json: the entry for {repo:?} is not an object, skipped"));
            continue;
        };
        let mut inner = BTreeMap::new();
        for (key, id) in refs {
            let Some(id) = id.as_str().and_then(|s| Digest::parse(s).ok()) else {
                warnings.push(format!("repositories.json: {key:?} does not point to an image ID ({id}), skipped"));
                continue;
            };
            // dockerd's reference store skips such a key when it indexes references.
            if let Err(e) = Reference::parse_normalized_named(key) {
                warnings.push(format!(
                    "repositories.json: reference {key:?} does not parse ({}); kept as dockerd keeps it",
                    e.message
                ));
            }
            inner.insert(key.clone(), id);
        }
        map.insert(repo.clone(), inner);
    }
    map
}

/// Parses `distribution/diffid-by-digest` and `distribution/v2metadata-by-diffid` files.
pub(super) fn parse_distribution(
    diffid_by_digest: &BTreeMap<String, Vec<u8>>,
    v2metadata_by_diffid: &BTreeMap<String, Vec<u8>>,
    warnings: &mut Vec<String>,
) -> DistributionRecords {
    let mut out = DistributionRecords::default();
    for (hex, bytes) in diffid_by_digest {
        let key = Digest::from_sha256_hex(hex).expect("file names were checked to be sha256 hex");
        match std::str::from_utf8(bytes).ok().and_then(|s| Digest::parse(s).ok()) {
            Some(diff_id) => drop(out.diffid_by_digest.insert(key, diff_id)),
            None => warnings.push(format!(
                "distribution/diffid-by-digest/sha256/{hex}: not a digest ({:?}), skipped",
                String::from_utf8_lossy(&bytes[..bytes.len().min(80)])
            )),
        }
    }
    for (hex, bytes) in v2metadata_by_diffid {
        let key = Digest::from_sha256_hex(hex).expect("file names were checked to be sha256 hex");
        match serde_json::from_slice::<Option<Vec<V2Metadata>>>(bytes) {
            Ok(list) => drop(out.v2metadata_by_diffid.insert(key, list.unwrap_or_default())),
            Err(e) => {
                warnings.push(format!("distribution/v2metadata-by-diffid/sha256/{hex}: unreadable ({e}), skipped"))
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "sha256:8d851c0513d4c5b71eb620c4136f6ae99da5c520484abd95bbe96c29a245c13e";

    #[test]
    fn repositories_keep_keys_and_warn_on_bad_ones() {
        let json = format!(
            r#"{{"Repositories":{{"alpine":{{"alpine:3.20":"{ID}","alpine@{ID}":"{ID}","Alpine:x":"{ID}","alpine:bad":"nope"}},
               "127.0.0.1:5000/team/edge":{{"127.0.0.1:5000/team/edge:v2":"{ID}"}}}}}}"#
        );
        let mut w = Vec::new();
        let map = parse_repositories(json.as_bytes(), &mut w);
        assert_eq!(map["alpine"].len(), 3, "{map:?}");
        assert!(map["alpine"].contains_key("Alpine:x"));
        assert_eq!(map["127.0.0.1:5000/team/edge"].len(), 1);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w.iter().any(|w| w.contains("Alpine:x")) && w.iter().any(|w| w.contains("alpine:bad")));

        let mut w = Vec::new();
        assert!(parse_repositories(b"{oops", &mut w).is_empty());
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn distribution_records_skip_bad_ones() {
        let hex = &ID[7..];
        let ids = BTreeMap::from([(hex.to_string(), ID.as_bytes().to_vec()), ("0".repeat(64), b"junk".to_vec())]);
        let v2 = BTreeMap::from([
            (
                hex.to_string(),
                format!(r#"[{{"Digest":"{ID}","SourceRepository":"docker.io/library/alpine","HMAC":""}}]"#)
                    .into_bytes(),
            ),
            ("1".repeat(64), b"{}".to_vec()),
        ]);
        let mut w = Vec::new();
        let d = parse_distribution(&ids, &v2, &mut w);
        assert_eq!(d.diffid_by_digest.len(), 1);
        assert_eq!(d.v2metadata_by_diffid.len(), 1);
        assert_eq!(d.v2metadata_by_diffid.values().next().unwrap()[0].source_repository, "docker.io/library/alpine");
        assert_eq!(w.len(), 2, "{w:?}");
    }
}
