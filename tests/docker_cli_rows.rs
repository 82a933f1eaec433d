//! The core's `docker images` rows (`imagestore::formats::image_rows`, what the bindings'
//! `imageRows` gives the CLI and the page) against what the docker CLI 20.10 printed for the
//! docker20 fixtures: REPOSITORY, TAG, DIGEST and ID of every line of `docker images --digests
//! --format json` (expected/images.jsonl) and `docker images -a --format json`
//! (expected/images-all.jsonl), worked out from the Engine API answers dockerd gave for the
//! same store (expected/api/). The CLI's order between an image's repositories is Go map order,
//! so the rows are compared as sorted lists.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use futures::executor::block_on;
use imagestore::formats::image_rows::{image_rows, RowOptions};
use serde_json::Value;
use std::path::Path;
use support::docker_fixture::store_from_fixture;

fn expected(set: &str, file: &str) -> String {
    let path = Path::new("tests/fixtures/docker20").join(set).join("expected").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

type Row = (String, String, String, String);

/// The rows the CLI printed (`ID` as it printed it), sorted.
fn printed_rows(set: &str, printed: &str) -> Vec<Row> {
    let mut want: Vec<Row> = expected(set, printed)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            (s("ID"), s("Repository"), s("Tag"), s("Digest"))
        })
        .collect();
    want.sort();
    want
}

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
                let rows = image_rows(
                    &strings(&image["RepoTags"]),
                    &strings(&image["RepoDigests"]),
                    RowOptions { digests, ..Default::default() },
                );
                got.extend(rows.into_iter().map(|r| (id.to_string(), r.repository, r.tag, r.digest)));
            }
            let want = printed_rows(set, printed);
            assert!(want.len() >= images.len(), "{set} {printed}: a line per image at least");
            got.sort();
            assert_eq!(got, want, "{set}: {api} → {printed}");
        }
    }
}

#[test]
fn the_rows_of_a_stores_list_columns_are_the_ones_the_docker_cli_printed() {
    // What `Store.listImageRows` answers: rows worked out from the list's columns, not from
    // summaries written out and read back.
    for set in ["basic", "debian", "scale200"] {
        let store = block_on(store_from_fixture(&format!("tests/fixtures/docker20/{set}/image-store.tar")));
        for (all, printed, digests) in [(false, "images.jsonl", true), (true, "images-all.jsonl", false)] {
            let want = printed_rows(set, printed);
            let columns = store.list_images_columns(all, &Default::default()).unwrap();
            for no_trunc in [true, false] {
                let rows = columns.image_rows(RowOptions { digests, no_trunc }).unwrap();
                let images = columns.numbers.len() / 2;
                assert!(
                    rows.image.windows(2).all(|w| w[0] <= w[1]) && rows.image.iter().all(|&k| (k as usize) < images)
                );
                let mut got: Vec<Row> = (0..rows.image.len())
                    .map(|k| {
                        (rows.id[k].clone(), rows.repository[k].clone(), rows.tag[k].clone(), rows.digest[k].clone())
                    })
                    .collect();
                got.sort();
                let mut want = want.clone();
                if !no_trunc {
                    // The CLI printed whole IDs (`--no-trunc` in its format); truncated here.
                    for row in &mut want {
                        row.0 = imagestore::formats::image_rows::truncate_id(&row.0).to_string();
                    }
                    want.sort();
                }
                assert_eq!(got, want, "{set} all={all} no_trunc={no_trunc}");
            }
        }
    }
}
