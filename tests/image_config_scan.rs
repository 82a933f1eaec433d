//! The import's config scan (`formats::image_config_scan`) against the whole parse
//! (`ImageConfig::parse`): on every config of the recorded dockerd stores, and on many damaged
//! and re-spelt variants of them, a config the scan answers for parses whole with the same
//! facts, and one the whole parse refuses is never answered for by the scan.

use imagestore::formats::image_config::ImageConfig;
use imagestore::formats::image_config_scan::{scan, ScannedConfig};
use std::io::Read;

/// The facts the scan keeps, taken from the whole parse.
fn facts_of(c: &ImageConfig) -> ScannedConfig {
    ScannedConfig {
        created: c.created(),
        os: c.os_raw().to_string(),
        has_config: c.config().is_some(),
        labels: c.labels().cloned(),
        diff_ids: c.diff_ids().to_vec(),
        non_empty_history: c.history().iter().filter(|h| !h.empty_layer).count(),
    }
}

/// Checks one input; returns whether the scan answered for it.
fn agrees(raw: &[u8]) -> bool {
    let whole = ImageConfig::parse(raw.to_vec());
    match (scan(raw), whole) {
        (Some(scanned), Ok(parsed)) => {
            assert_eq!(scanned, facts_of(&parsed), "{}", String::from_utf8_lossy(raw));
            true
        }
        (Some(scanned), Err(e)) => {
            panic!(
                "the scan took what the whole parse refuses ({}): {scanned:?}\n{}",
                e.message,
                String::from_utf8_lossy(raw)
            )
        }
        (None, _) => false,
    }
}

fn fixture_configs() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for store in ["basic", "debian", "scale200"] {
        let path = format!("{}/tests/fixtures/docker20/{store}/image-store.tar", env!("CARGO_MANIFEST_DIR"));
        let mut archive = tar::Archive::new(std::fs::File::open(&path).unwrap());
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            if name.contains("imagedb/content/sha256/") && entry.header().entry_type().is_file() {
                let mut raw = Vec::new();
                entry.read_to_end(&mut raw).unwrap();
                out.push(raw);
            }
        }
    }
    out
}

#[test]
fn every_recorded_config_is_scanned_with_the_whole_parse_facts() {
    let configs = fixture_configs();
    assert!(configs.len() > 600, "{} configs", configs.len());
    for raw in &configs {
        assert!(agrees(raw), "a config dockerd wrote is the plain case: {}", String::from_utf8_lossy(raw));
    }
    // Some of them carry labels, history without layers, several layers: the facts are not all empty.
    let scanned: Vec<ScannedConfig> = configs.iter().map(|c| scan(c).unwrap()).collect();
    assert!(scanned.iter().any(|s| s.labels.as_ref().is_some_and(|l| !l.is_empty())));
    assert!(scanned.iter().any(|s| s.diff_ids.len() > 1));
    assert!(scanned.iter().any(|s| s.non_empty_history < s.diff_ids.len() + 1 && s.created.is_some()));
}

const L1: &str = "sha256:e100af7cf35b6cd513e8fe4dc94432aab1abdfeddecdc7f033a2a51db55e4d3b";

#[test]
fn what_is_not_the_plain_case_is_left_to_the_whole_parse() {
    let plain = format!(
        r#"{{"os":"linux","config":{{"Labels":{{"a":"1","a":"2","n":null}}}},"rootfs":{{"type":"layers","diff_ids":["{L1}"]}},"history":[null,{{"empty_layer":true}}]}}"#
    );
    assert!(agrees(plain.as_bytes()));
    let s = scan(plain.as_bytes()).unwrap();
    assert_eq!(s.labels.unwrap().into_iter().collect::<Vec<_>>(), [("a".into(), "2".into()), ("n".into(), "".into())]);
    assert_eq!(s.non_empty_history, 1, "a null entry is an empty object: it adds a layer");
    for json in [
        // Spelt differently (Go matches case-insensitively) or given twice (the last counts).
        format!(r#"{{"OS":"windows","rootfs":{{"diff_ids":["{L1}"]}}}}"#),
        format!(r#"{{"rootfs":{{"Diff_IDs":["{L1}"]}}}}"#),
        r#"{"rootfs":{},"container_config":{"hostname":"h"}}"#.to_string(),
        r#"{"rootfs":{},"os":"linux","os":"windows"}"#.to_string(),
        // Refused by the whole parse.
        r#"{"rootfs":null}"#.to_string(),
        r#"{"os":"linux"}"#.to_string(),
        "null".to_string(),
        "[]".to_string(),
        r#"{"rootfs":{}} x"#.to_string(),
        r#"{"rootfs":{},"created":"yesterday"}"#.to_string(),
        r#"{"rootfs":{},"config":{"Tty":"yes"}}"#.to_string(),
        r#"{"rootfs":{},"config":{"StopTimeout":1.0}}"#.to_string(),
        r#"{"rootfs":{},"config":{"StopTimeout":9223372036854775808}}"#.to_string(),
        r#"{"rootfs":{},"config":{"Volumes":{"/v":1}}}"#.to_string(),
        r#"{"rootfs":{"diff_ids":[null]}}"#.to_string(),
        r#"{"rootfs":{},"history":[5]}"#.to_string(),
        r#"{"rootfs":{},"unknown":1e999}"#.to_string(),
        r#"{"rootfs":{},"unknown":"\ud800"}"#.to_string(),
        format!(r#"{{"rootfs":{{}},"unknown":{}1{}}}"#, "[".repeat(200), "]".repeat(200)),
    ] {
        assert!(scan(json.as_bytes()).is_none(), "{json}");
        agrees(json.as_bytes());
    }
    // Fine for both: nulls, StrSlice strings, unknown keys, escapes, deep unknown values.
    for json in [
        r#"{"rootfs":{"diff_ids":null},"config":null,"history":null,"created":null}"#.to_string(),
        r#"{"rootfs":{},"config":{"Cmd":"sh","Entrypoint":["a",null],"Healthcheck":{"Interval":-5},"StopTimeout":9223372036854775807}}"#.to_string(),
        r#"{"rootfs":{},"x\u0041":{"deep":[1,2.5,{"a":null}]},"comment":"\u0026\u003c"}"#.to_string(),
        format!(r#"{{"rootfs":{{}},"unknown":{}1{}}}"#, "[".repeat(100), "]".repeat(100)),
    ] {
        assert!(agrees(json.as_bytes()), "{json}");
    }
}

/// A small deterministic generator (no dependency for it).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

#[test]
fn damaged_configs_never_pass_the_scan_alone() {
    let configs = fixture_configs();
    let mut rng = Lcg(12);
    let replacements: [&[u8]; 12] =
        [b"null", b"1", b"1.5", b"\"x\"", b"true", b"{}", b"[]", b"[null]", b"\"", b"}", b"\\u0000", b"-"];
    let mut scanned = 0;
    for round in 0..6000 {
        let base = &configs[rng.next(configs.len())];
        let mut raw = base.clone();
        match round % 3 {
            // A byte flipped.
            0 => {
                let at = rng.next(raw.len());
                raw[at] ^= 1 << rng.next(8);
            }
            // A value-looking piece replaced: after a ':' or a ',', or at a random place.
            1 => {
                let colons: Vec<usize> =
                    raw.iter().enumerate().filter(|(_, b)| **b == b':').map(|(i, _)| i + 1).collect();
                let at = colons[rng.next(colons.len())];
                let end = (at + 1 + rng.next(12)).min(raw.len());
                let with = replacements[rng.next(replacements.len())];
                raw.splice(at..end, with.iter().copied());
            }
            // A key's case changed.
            _ => {
                let quotes: Vec<usize> =
                    raw.iter().enumerate().filter(|(_, b)| **b == b'"').map(|(i, _)| i + 1).collect();
                let at = quotes[rng.next(quotes.len())];
                if raw[at].is_ascii_alphabetic() {
                    raw[at] ^= 0x20;
                }
            }
        }
        scanned += usize::from(agrees(&raw));
    }
    assert!(scanned > 500, "the variants cover both outcomes ({scanned} scanned)");
}
