//! The core's go-units formatting (`imagestore::formats::go_units`, what the bindings' `humanSize`
//! and `humanDuration` return to the CLI and the page) against what the docker CLI 20.10 printed
//! for the docker20 fixtures: every SIZE and CREATED of `docker images --format json`, `docker
//! history --format json` and `docker system df -v --format json`, computed from the Engine API
//! answers dockerd gave for the same store (expected/api/).
#![cfg(not(target_arch = "wasm32"))]

use imagestore::formats::go_units::{human_duration, human_size, human_size_with_precision};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const SETS: [&str; 3] = ["basic", "debian", "scale200"];
const SECOND: i64 = 1_000_000_000;

fn expected(set: &str, file: &str) -> String {
    let path = Path::new("tests/fixtures/docker20").join(set).join("expected").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_lines(set: &str, file: &str) -> Vec<Value> {
    expected(set, file).lines().filter(|l| !l.is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// `2026-11-23 13:52:44 +0000 UTC` or `2026-11-23T13:52:44Z` as Unix seconds.
fn unix(text: &str) -> i64 {
    let t = text.replace(" +0000 UTC", "Z").replacen(' ', "T", 1);
    imagestore::formats::gotime::GoTime::parse_rfc3339(&t).unwrap_or_else(|e| panic!("{text}: {e}")).unix()
}

/// The instant (Unix nanoseconds) the CLI printed `lines`: each line in seconds or minutes
/// bounds it (`N seconds ago`: N to N+1 seconds after its creation; `N minutes ago`: N to N+1
/// minutes); the middle of where all the bounds meet is taken.
fn printed_at(lines: &[(i64, &str)], what: &str) -> i64 {
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    for (created, since) in lines {
        let words: Vec<&str> = since.split(' ').collect();
        let (n, unit) = match words.as_slice() {
            ["About", "a", "minute", "ago"] => (1, 60),
            [n, "second" | "seconds", "ago"] => (n.parse().unwrap(), 1),
            [n, "minute" | "minutes", "ago"] => (n.parse().unwrap(), 60),
            _ => continue,
        };
        lo = lo.max((created + n * unit) * SECOND);
        hi = hi.min((created + (n + 1) * unit) * SECOND);
    }
    assert!(lo < hi, "{what}: no instant prints every line (or no line in seconds or minutes)");
    lo + (hi - lo) / 2
}

/// Every `(created, CreatedSince)` of a listing matches `human_duration(now - created) ago`;
/// returns how many kinds of duration (`N seconds`, `About a minute`, `N minutes`, …) it held.
fn check_since(lines: &[(i64, &str)], what: &str) -> usize {
    let now = printed_at(lines, what);
    let mut kinds = std::collections::BTreeSet::new();
    for (created, since) in lines {
        assert_eq!(format!("{} ago", human_duration(now - created * SECOND)), *since, "{what}: created {created}");
        kinds.insert(since.replace(|c: char| c.is_ascii_digit(), ""));
    }
    kinds.len()
}

fn by_id(answer: &Value) -> BTreeMap<String, Value> {
    answer.as_array().unwrap().iter().map(|i| (i["Id"].as_str().unwrap().to_string(), i.clone())).collect()
}

#[test]
fn docker_images_sizes_and_created_since() {
    let mut kinds = 0;
    for set in SETS {
        let api = by_id(&serde_json::from_str(&expected(set, "api/images-all.json")).unwrap());
        for file in ["images.jsonl", "images-all.jsonl"] {
            let lines = json_lines(set, file);
            assert!(!lines.is_empty(), "{set}/{file}");
            let mut since = Vec::new();
            for l in &lines {
                let image = &api[l["ID"].as_str().unwrap()];
                let (size, virtual_size) = (image["Size"].as_i64().unwrap(), image["VirtualSize"].as_i64().unwrap());
                assert_eq!(human_size_with_precision(size, 3), l["Size"], "{set}/{file}: {}", l["ID"]);
                assert_eq!(human_size(virtual_size), l["VirtualSize"], "{set}/{file}: {}", l["ID"]);
                assert_eq!(unix(l["CreatedAt"].as_str().unwrap()), image["Created"].as_i64().unwrap());
                since.push((image["Created"].as_i64().unwrap(), l["CreatedSince"].as_str().unwrap()));
            }
            kinds = kinds.max(check_since(&since, &format!("{set}/{file}")));
        }
    }
    // Seconds, "About a minute" and minutes all occur in the fixtures.
    assert!(kinds >= 3, "{kinds} kinds of duration");
}

#[test]
fn docker_history_sizes_and_created_since() {
    for set in ["basic", "debian"] {
        // Each history step of any image, by (created, created by): its size in bytes.
        let mut sizes: BTreeMap<(i64, String), i64> = BTreeMap::new();
        let dir = Path::new("tests/fixtures/docker20").join(set).join("expected/api/history");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let answer: Value = serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
            for item in answer.as_array().unwrap() {
                let key = (item["Created"].as_i64().unwrap(), item["CreatedBy"].as_str().unwrap().to_string());
                sizes.insert(key, item["Size"].as_i64().unwrap());
            }
        }
        let dir = Path::new("tests/fixtures/docker20").join(set).join("expected/history");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let lines = json_lines(set, &format!("history/{name}"));
            let mut since = Vec::new();
            for l in &lines {
                let created = unix(l["CreatedAt"].as_str().unwrap());
                let size = sizes[&(created, l["CreatedBy"].as_str().unwrap().to_string())];
                assert_eq!(human_size_with_precision(size, 3), l["Size"], "{set}/{name}: {}", l["CreatedBy"]);
                since.push((created, l["CreatedSince"].as_str().unwrap()));
            }
            check_since(&since, &format!("{set}/history/{name}"));
            files += 1;
        }
        assert!(files >= 8, "{set}: {files} history files");
    }
}

#[test]
fn docker_system_df_sizes() {
    for set in SETS {
        let api: Value = serde_json::from_str(&expected(set, "api/system-df.json")).unwrap();
        let api = by_id(&api["Images"]);
        let cli: Value = serde_json::from_str(&expected(set, "system-df.json")).unwrap();
        let mut since = Vec::new();
        for l in cli["Images"].as_array().unwrap() {
            let image = &api[l["ID"].as_str().unwrap()];
            let (size, shared) = (image["Size"].as_i64().unwrap(), image["SharedSize"].as_i64().unwrap());
            assert_eq!(human_size_with_precision(size, 3), l["Size"], "{set}: {}", l["ID"]);
            assert_eq!(human_size(size), l["VirtualSize"], "{set}: {}", l["ID"]);
            assert_eq!(human_size(shared), l["SharedSize"], "{set}: {}", l["ID"]);
            assert_eq!(human_size(size - shared), l["UniqueSize"], "{set}: {}", l["ID"]);
            since.push((image["Created"].as_i64().unwrap(), l["CreatedSince"].as_str().unwrap()));
        }
        check_since(&since, &format!("{set}/system-df.json"));
    }
}

#[test]
fn durations_past_the_fixtures_follow_go_units() {
    // The fixtures were printed seconds to minutes after the images were made; the longer
    // ranges, at their boundaries, as go-units' HumanDuration cuts them.
    let h = |hours: i64, minutes: i64| human_duration((hours * 3600 + minutes * 60) * SECOND);
    assert_eq!(h(0, 59), "59 minutes");
    assert_eq!(h(1, 29), "About an hour");
    assert_eq!(h(1, 30), "2 hours");
    assert_eq!(h(47, 29), "47 hours");
    assert_eq!(h(47, 30), "2 days");
    assert_eq!(h(14 * 24, 0), "2 weeks");
    assert_eq!(h(60 * 24, 0), "2 months");
    assert_eq!(h(2 * 365 * 24, 0), "2 years");
}
