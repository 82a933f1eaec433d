//! The core's `docker images` rows (`imagestore::formats::image_rows`, what the bindings'
//! `imageRows` gives the CLI and the page) against what the docker CLI 20.10 printed for the
//! docker20 fixtures: REPOSITORY, TAG, DIGEST and ID of every line of `docker images --digests
//! --format json` (expected/images.jsonl) and `docker images -a --format json`
//! (expected/images-all.jsonl), worked out from the Engine API answers dockerd gave for the
//! same store (expected/api/). The CLI's order between an image's repositories is Go map order,
//! so the rows are compared as sorted lists.
#![cfg(not(target_arch = "wasm32"))]

use imagestore::formats::image_rows::{image_rows, RowOptions};
use serde_json::Value;
use std::path::Path;

fn expected(set: &str, file: &str) -> String {
    let path = Path::new("tests/fixtures/docker20").join(set).join("expected").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

type Row = (String, String, String, String);

#[test]
fn the_rows_of_every_image_are_the_ones_the_docker_cli_printed() {
    for set in ["basic", "debian", "scale200"] {
        for (api, printed, digests) in
            [("api/images.json", "images.jsonl", true), ("api/images-all.json", "images-all.jsonl", false)]
        {
            let images: Vec<Value> = serde_json::from_str(&expected(set, api)).unwrap();
            let mut got: Vec<Row> = Vec::new();
            for image in &images {
                let id = image["Id"].as_str().unwrap();
                let rows =
                    image_rows(&strings(&image["RepoTags"]), &strings(&image["RepoDigests"]), RowOptions { digests });
                got.extend(rows.into_iter().map(|r| (id.to_string(), r.repository, r.tag, r.digest)));
            }
            let mut want: Vec<Row> = expected(set, printed)
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let v: Value = serde_json::from_str(l).unwrap();
                    let s = |k: &str| v[k].as_str().unwrap().to_string();
                    (s("ID"), s("Repository"), s("Tag"), s("Digest"))
                })
                .collect();
            assert!(want.len() >= images.len(), "{set} {printed}: a line per image at least");
            got.sort();
            want.sort();
            assert_eq!(got, want, "{set}: {api} → {printed}");
        }
    }
}
