//! One function per parser that reads uploads, each taking arbitrary bytes: the bodies of the
//! `make fuzz` targets (`fuzz/`, libFuzzer) and of the saved-corpus replay that `cargo test`
//! runs. A target may return errors (that is the parser refusing bad input); it must never
//! panic, hang or allocate without bound, and where two ways of reading the same bytes exist
//! it checks that they agree. Built only for tests and for `--cfg fuzzing` builds.

use crate::formats::bbolt::{Bucket, Db, Value};
use crate::formats::containerd_meta::read_meta_db;
use crate::formats::docker_save::{parse_docker_ref, parse_manifest_json};
use crate::formats::filters::{self, Adaptor};
use crate::formats::image_config::ImageConfig;
use crate::formats::oci;
use crate::formats::reference::{familiar_match, parse_any_reference, Reference};
use crate::formats::tar_header::{checksum_sums, pax_records, BLOCK};
use crate::formats::tar_split::{parse_tar_split, visit_pieces, visit_tar_split_at};
use crate::import::stream::gzip::Decompressor;
use crate::import::stream::tar::{Event, TarReader};
use crate::import::InflationLimits;

/// A target: takes any bytes, may refuse them, never panics.
pub type Target = fn(&[u8]);

/// Every target by name, as `make fuzz` and the replay test name them (`fuzz/corpus/<name>/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("tar_header", tar_header),
    ("tar_stream", tar_stream),
    ("tar_split", tar_split),
    ("gzip", gzip),
    ("bbolt", bbolt),
    ("meta_db", meta_db),
    ("image_config", image_config),
    ("docker_save_manifest", docker_save_manifest),
    ("oci", oci_documents),
    ("filters", containerd_filters),
    ("reference", reference),
];

/// Small limits, so one input can never inflate past a few MiB however it is built.
const FUZZ_INFLATION: InflationLimits = InflationLimits { ratio: 200, grace: 1 << 20, max_tar_bytes: 16 << 20 };

/// Splits `data` into chunks whose lengths come from `seed` (1..=4096 bytes, deterministic).
fn chunks(data: &[u8], seed: u8) -> impl Iterator<Item = &[u8]> {
    let mut state = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let len = if seed == 0 { rest.len() } else { (state % 4096) as usize + 1 };
        let (head, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        Some(head)
    })
}

/// What a tar stream read gives, in a form two reads can be compared by.
#[derive(Debug, PartialEq, Eq)]
struct TarSummary {
    entries: Vec<(String, u64, u64, String)>,
    data_bytes: u64,
    result: crate::Result<()>,
}

fn read_tar(data: &[u8], seed: u8) -> TarSummary {
    let mut reader = TarReader::new();
    let mut summary = TarSummary { entries: Vec::new(), data_bytes: 0, result: Ok(()) };
    let mut current: Option<(u64, u64)> = None; // (announced size, bytes seen)
    let mut run = || -> crate::Result<()> {
        for chunk in chunks(data, seed) {
            let mut input = chunk;
            while let Some(event) = reader.next(&mut input)? {
                match event {
                    Event::Entry(e) => {
                        assert!(current.is_none(), "an entry began before the previous one ended");
                        current = Some((e.size, 0));
                        summary.entries.push((e.path, e.size, e.offset, e.link));
                    }
                    Event::Data(d) => {
                        let c = current.as_mut().expect("data outside an entry");
                        c.1 += d.len() as u64;
                        assert!(c.1 <= c.0, "more data than the entry's size");
                        summary.data_bytes += d.len() as u64;
                    }
                    Event::EntryEnd => {
                        let (size, seen) = current.take().expect("an entry end without an entry");
                        assert_eq!(size, seen, "entry ended before its size");
                    }
                }
            }
        }
        reader.finish()
    };
    let result = run();
    TarSummary { result, ..summary }
}

/// One header block (with what follows it) through the tar reader, and the header helpers
/// on the same bytes.
pub fn tar_header(data: &[u8]) {
    let _ = pax_records(data);
    for block in data.chunks_exact(BLOCK) {
        let _ = checksum_sums(block);
    }
    let _ = read_tar(data, 0);
}

/// The streaming tar reader: the same bytes fed whole and in random chunks give the same
/// entries, data and verdict; data never exceeds an entry's size.
pub fn tar_stream(data: &[u8]) {
    let Some((&seed, rest)) = data.split_first() else { return };
    let whole = read_tar(rest, 0);
    let chunked = read_tar(rest, seed | 1);
    assert_eq!(whole, chunked, "chunking changed what the tar reader read");
}

/// Wraps `data` in gzip without compressing it: a fixed header, stored deflate blocks, then the
/// CRC-32 and length. Written out here because miniz's encoder (even at level 0, and instrumented
/// for coverage) cost more than the three parses it feeds and held the target near 500 inputs/s.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    const MAX_STORED: usize = 0xffff;
    let mut gz = Vec::with_capacity(data.len() + data.len() / MAX_STORED * 5 + 32);
    gz.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut blocks = data.chunks(MAX_STORED).peekable();
    if blocks.peek().is_none() {
        gz.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let last = u8::from(blocks.peek().is_none());
        let len = block.len() as u16;
        gz.push(last);
        gz.extend_from_slice(&len.to_le_bytes());
        gz.extend_from_slice(&(!len).to_le_bytes());
        gz.extend_from_slice(block);
    }
    gz.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    gz.extend_from_slice(&(data.len() as u32).to_le_bytes());
    gz
}

/// tar-split JSON lines (gzipped here, as the file is): the listing, the pieces and the
/// offsets agree about how many members there are.
pub fn tar_split(data: &[u8]) {
    let gz = gzip_stored(data);
    let listed = parse_tar_split(&gz[..]);
    let mut offsets = 0usize;
    let at = visit_tar_split_at(&gz[..], |_, _| {
        offsets += 1;
        Ok(())
    });
    let mut pieces = 0usize;
    let _ = visit_pieces(&gz[..], |_| {
        pieces += 1;
        Ok(())
    });
    match (&listed, &at) {
        (Ok(l), Ok(size)) => {
            assert_eq!(l.tar_size, *size, "two reads of one tar-split disagree on the tar size");
            assert_eq!(l.entries.len(), offsets, "two reads of one tar-split disagree on the members");
        }
        (Err(_), Err(_)) => {}
        _ => panic!("one read of a tar-split failed and the other did not: {listed:?} / {at:?}"),
    }
}

fn inflate(data: &[u8], seed: u8) -> Result<Vec<u8>, String> {
    let mut dec = Decompressor::with_limits(FUZZ_INFLATION);
    let mut out = Vec::new();
    for chunk in chunks(data, seed) {
        let mut input = chunk;
        while !input.is_empty() {
            let (used, produced) = dec.feed(input).map_err(|e| e.message)?;
            assert!(used > 0, "the decompressor consumed nothing");
            out.extend_from_slice(produced);
            input = &input[used..];
        }
    }
    out.extend_from_slice(dec.finish().map_err(|e| e.message)?);
    Ok(out)
}

/// gzip framing (multi-member, trailers, plain pass-through): chunking never changes the
/// result, and what inflates equals what flate2's own reader gives.
pub fn gzip(data: &[u8]) {
    let Some((&seed, rest)) = data.split_first() else { return };
    let whole = inflate(rest, 0);
    let chunked = inflate(rest, seed | 1);
    match (&whole, &chunked) {
        (Ok(a), Ok(b)) => assert!(a == b, "chunking changed the inflated bytes"),
        (Err(_), Err(_)) => {}
        _ => {
            panic!("chunking changed the verdict: {:?} / {:?}", whole.as_ref().map(Vec::len), chunked.map(|v| v.len()))
        }
    }
    if let Ok(out) = whole {
        if rest.starts_with(&[0x1f, 0x8b]) {
            let mut reference = Vec::new();
            let mut reader = flate2::read::MultiGzDecoder::new(rest);
            if std::io::Read::read_to_end(&mut reader, &mut reference).is_ok() {
                assert!(out == reference, "inflated bytes differ from flate2's MultiGzDecoder");
            }
        }
    }
}

/// Walks every bucket of a bbolt file: entries, lookups of each key, nested buckets.
fn walk_bucket(bucket: Bucket, budget: &mut usize) {
    let Ok(entries) = bucket.entries() else { return };
    for e in entries {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let _ = bucket.get(e.key);
        if let Value::Bucket(child) = e.value {
            walk_bucket(child, budget);
        }
    }
}

/// bbolt pages: meta pages, branch and leaf pages, inline and page buckets, overflow.
pub fn bbolt(data: &[u8]) {
    let Ok(db) = Db::open(data) else { return };
    let _ = db.meta();
    let mut budget = 100_000;
    walk_bucket(db.root(), &mut budget);
}

/// containerd's meta.db records (images, content, ingests, leases, labels) over bbolt.
pub fn meta_db(data: &[u8]) {
    let _ = read_meta_db(data);
}

/// Image configs, and everything the stores read from one.
pub fn image_config(data: &[u8]) {
    let Ok(config) = ImageConfig::parse(data.to_vec()) else { return };
    let _ = config.check_history_layers();
    let _ = (config.id(), config.created(), config.created_or_zero(), config.os(), config.architecture());
    let _ = (config.parent(), config.labels(), config.config(), config.history().len(), config.diff_ids().len());
    if let Some(t) = config.created() {
        let _ = t.to_rfc3339_nano();
    }
}

/// `docker save` manifest.json, with the references and paths it names.
pub fn docker_save_manifest(data: &[u8]) {
    let Ok(items) = parse_manifest_json(data) else { return };
    for item in &items {
        for tag in item.repo_tags() {
            let _ = parse_docker_ref(tag);
        }
        let _ = item.layers().len();
    }
}

const MEDIA_TYPES: &[&str] = &[
    oci::OCI_INDEX,
    oci::OCI_MANIFEST,
    oci::DOCKER_MANIFEST,
    oci::DOCKER_MANIFEST_LIST,
    oci::OCI_CONFIG,
    oci::OCI_LAYER_GZIP,
    "",
    "application/octet-stream",
];

/// OCI / Docker index and manifest documents, read as each media type.
pub fn oci_documents(data: &[u8]) {
    let Some((&pick, doc)) = data.split_first() else { return };
    let media_type = MEDIA_TYPES[usize::from(pick) % MEDIA_TYPES.len()];
    let _ = oci::validate_media_type(doc, media_type);
    if let Ok(m) = oci::parse_manifest(doc, media_type) {
        let _ = format!("{m:?}");
    }
    if let Ok(i) = oci::parse_index(doc, media_type) {
        let _ = format!("{i:?}");
    }
}

/// A containerd object for filters to look at: a few fields, labels with odd keys.
struct FuzzObject;

impl Adaptor for FuzzObject {
    fn field(&self, path: &[String]) -> Option<String> {
        match path {
            [name] if name == "name" => Some("docker.io/library/busybox:latest".into()),
            [name] if name == "target" => None,
            [labels, key] if labels == "labels" => match key.as_str() {
                "tier" => Some("gold".into()),
                "a.b/c" => Some(String::new()),
                _ => None,
            },
            [target, field] if target == "target" && field == "mediatype" => Some(oci::OCI_INDEX.into()),
            _ => None,
        }
    }
}

/// containerd's filter language: parse (one string, or several NUL-separated as an OR) and
/// evaluate.
pub fn containerd_filters(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(f) = filters::parse(&text) {
        let _ = f.matches(&FuzzObject);
    }
    let parts: Vec<&str> = text.split('\0').collect();
    if let Ok(f) = filters::parse_all(&parts) {
        let _ = f.matches(&FuzzObject);
    }
}

/// Image references as distribution v2.8.2 parses them; what parses prints back to itself.
pub fn reference(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (first, second) = text.split_once('\n').unwrap_or((&text, "busybox"));
    let _ = parse_any_reference(first);
    let _ = parse_docker_ref(first);
    if let Ok(r) = Reference::parse_reference(first) {
        let again = Reference::parse_reference(&r.to_string());
        assert!(again.as_ref() == Ok(&r), "{first:?} parsed as {r} which parses as {again:?}");
    }
    if let Ok(r) = Reference::parse_normalized_named(first) {
        let _ = (r.familiar_name(), r.familiar_string(), r.name());
        let _ = familiar_match(second, &r);
        if let Ok(t) = r.with_tag("fuzz") {
            let _ = t.to_string();
        }
    }
}

#[cfg(test)]
mod replay {
    //! `make test` replays what `make fuzz` saved (`fuzz/corpus/<target>/`) and every input
    //! that once crashed a target (`fuzz/regressions/<target>/`).
    use super::TARGETS;
    use std::path::Path;

    fn replay(target: &str) -> usize {
        let run = TARGETS.iter().find(|(name, _)| *name == target).expect("a known target").1;
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut count = 0;
        for dir in ["corpus", "regressions"] {
            let Ok(files) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
            let mut files: Vec<_> = files.map(|f| f.expect("a corpus entry").path()).collect();
            files.sort();
            for file in files {
                let data = std::fs::read(&file).expect("a corpus file");
                run(&data);
                count += 1;
            }
        }
        count
    }

    macro_rules! replay_tests {
        ($($name:ident),*) => {$(
            #[test]
            fn $name() {
                let n = replay(stringify!($name));
                assert!(n >= 1, "fuzz/corpus/{} holds {n} inputs: run `make fuzz` (or scripts/fuzz.sh --seed-only)", stringify!($name));
            }
        )*};
    }

    replay_tests!(
        tar_header,
        tar_stream,
        tar_split,
        gzip,
        bbolt,
        meta_db,
        image_config,
        docker_save_manifest,
        oci,
        filters,
        reference
    );

    #[test]
    fn the_hand_made_stored_gzip_inflates_to_its_input() {
        use std::io::Read;
        for len in [0usize, 1, 0xfffe, 0xffff, 0x10000, 3 * 0xffff + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 300) as u8).collect();
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&super::gzip_stored(&data)[..])
                .read_to_end(&mut back)
                .expect("a valid gzip member (CRC-32 and length checked)");
            assert_eq!(back, data, "length {len}");
        }
    }

    #[test]
    fn every_target_has_a_replay_test() {
        assert_eq!(super::TARGETS.len(), 11);
    }
}
