//! Benchmark input for `make bench`: a deterministic, realistic archive of about `--size-mb`
//! megabytes, so the benchmark needs no Docker engine.
//!
//!     cargo run --release --example bench_input -- --format docker-save --size-mb 200 --out FILE
//!     cargo run --release --example bench_input -- --format docker-root --size-mb 200 \
//!         --image-store tests/fixtures/docker20/basic/image-store.tar --out FILE
//!
//! `docker-save`: what `docker save` writes in the legacy layout — `manifest.json`,
//! `repositories`, `<id>.json` (the image config, whose `rootfs.diff_ids` are the sha256 of the
//! layer tars) and `<v1 id>/{VERSION,json,layer.tar}` per layer. Each layer is a real tar of
//! many files (directories, small and large files, part random bytes, part compressible text).
//!
//! `docker-root`: a tar of a `/var/lib/docker`-like folder: the given image-store tar under
//! `image/overlay2/`, beside `overlay2/<cache id>/diff/` folders holding the same kind of files
//! (the layer contents, which an image-store import streams past).

use imagestore::digest::Sha256Hasher;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use tar::{Builder, EntryType, Header};

const MB: u64 = 1_000_000;
/// Every timestamp in the archive (2023-11-14), so the output is byte-for-byte reproducible.
const MTIME: u64 = 1_700_000_000;
const CREATED: &str = "2023-11-14T22:13:20Z";
const LAYERS: u64 = 8;

/// splitmix64: tiny, fast, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hex_id(&mut self) -> String {
        let mut h = Sha256Hasher::new();
        h.update(&self.next().to_le_bytes());
        h.finish().hex().to_string()
    }
}

const WORDS: [&str; 16] = [
    "lib", "usr", "share", "config", "debian", "package", "version", "depends", "static", "void", "return", "struct",
    "include", "license", "the", "of",
];

/// A file's content: random bytes (like compressed or binary data) or word salad (like text,
/// scripts and docs, which gzip well), about half each.
fn file_content(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 16);
    if rng.below(2) == 0 {
        while out.len() < size {
            out.extend_from_slice(&rng.next().to_le_bytes());
        }
    } else {
        while out.len() < size {
            let r = rng.next();
            out.extend_from_slice(WORDS[(r & 15) as usize].as_bytes());
            out.push(if r >> 60 == 0 { b'\n' } else { b' ' });
        }
    }
    out.truncate(size);
    out
}

/// Mostly small files, some large ones, as in a distribution root.
fn file_size(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=59 => rng.below(8 << 10) as usize,
        60..=94 => rng.below(256 << 10) as usize,
        _ => (rng.below(4 << 20) + (256 << 10)) as usize,
    }
}

fn header(kind: EntryType, size: u64, mode: u32) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(MTIME);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// Appends directories and files under `prefix` until about `budget` bytes of file content.
fn append_files<W: Write>(out: &mut Builder<W>, rng: &mut Rng, prefix: &str, budget: u64) -> std::io::Result<()> {
    let mut written = 0u64;
    let mut dir_no = 0;
    while written < budget {
        let dir = format!("{prefix}usr/lib/pkg{dir_no:04}/");
        out.append_data(&mut header(EntryType::Directory, 0, 0o755), &dir, std::io::empty())?;
        for file_no in 0..(1 + rng.below(40)) {
            let size = file_size(rng).min((budget - written) as usize);
            let data = file_content(rng, size);
            let path = format!("{dir}file{file_no:03}.{}", ["so", "txt", "py", "bin"][rng.below(4) as usize]);
            out.append_data(&mut header(EntryType::Regular, size as u64, 0o644), &path, &data[..])?;
            written += size as u64;
            if written >= budget {
                break;
            }
        }
        dir_no += 1;
    }
    Ok(())
}

fn append_bytes<W: Write>(out: &mut Builder<W>, path: &str, bytes: &[u8]) -> std::io::Result<()> {
    out.append_data(&mut header(EntryType::Regular, bytes.len() as u64, 0o644), path, bytes)
}

fn docker_save<W: Write>(out: &mut Builder<W>, rng: &mut Rng, total: u64) -> std::io::Result<()> {
    let mut diff_ids = Vec::new();
    let mut layer_paths = Vec::new();
    let mut parent: Option<String> = None;
    for i in 0..LAYERS {
        let mut layer = Builder::new(Vec::new());
        append_files(&mut layer, rng, "", total / LAYERS)?;
        let layer = layer.into_inner()?;
        let mut h = Sha256Hasher::new();
        h.update(&layer);
        diff_ids.push(h.finish().to_string());

        let v1 = rng.hex_id();
        let mut v1_json = serde_json::json!({
            "id": v1, "created": CREATED,
            "container_config": { "Cmd": [format!("/bin/sh -c #(nop) ADD layer{i}")] },
        });
        if let Some(p) = &parent {
            v1_json["parent"] = p.clone().into();
        }
        out.append_data(&mut header(EntryType::Directory, 0, 0o755), format!("{v1}/"), std::io::empty())?;
        append_bytes(out, &format!("{v1}/VERSION"), b"1.0")?;
        append_bytes(out, &format!("{v1}/json"), v1_json.to_string().as_bytes())?;
        append_bytes(out, &format!("{v1}/layer.tar"), &layer)?;
        layer_paths.push(format!("{v1}/layer.tar"));
        parent = Some(v1);
    }
    let history: Vec<_> = (0..LAYERS)
        .map(|i| serde_json::json!({ "created": CREATED, "created_by": format!("/bin/sh -c #(nop) ADD layer{i}") }))
        .collect();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": CREATED,
        "config": { "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["bash"] },
        "history": history,
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    })
    .to_string();
    let mut h = Sha256Hasher::new();
    h.update(config.as_bytes());
    let config_name = format!("{}.json", h.finish().hex());
    append_bytes(out, &config_name, config.as_bytes())?;
    let manifest =
        serde_json::json!([{ "Config": config_name, "RepoTags": ["bench/big:latest"], "Layers": layer_paths }]);
    append_bytes(out, "manifest.json", manifest.to_string().as_bytes())?;
    let repositories = serde_json::json!({ "bench/big": { "latest": parent.expect("at least one layer") } });
    append_bytes(out, "repositories", repositories.to_string().as_bytes())
}

fn docker_root<W: Write>(out: &mut Builder<W>, rng: &mut Rng, total: u64, image_store: &str) -> std::io::Result<()> {
    let mut store = tar::Archive::new(File::open(image_store)?);
    for entry in store.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().trim_start_matches("./").to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        let mut h = entry.header().clone();
        out.append_data(&mut h, format!("image/overlay2/{path}"), &data[..])?;
    }
    for _ in 0..LAYERS {
        let cache_id = rng.hex_id();
        append_files(out, rng, &format!("overlay2/{cache_id}/diff/"), total / LAYERS)?;
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let usage = "usage: bench_input --format docker-save|docker-root --size-mb N --out FILE [--image-store TAR]";
    let format = arg("--format").expect(usage);
    let total = arg("--size-mb").and_then(|s| s.parse::<u64>().ok()).expect(usage) * MB;
    let path = arg("--out").expect(usage);

    let tmp = format!("{path}.partial");
    let mut out = Builder::new(BufWriter::with_capacity(1 << 20, File::create(&tmp)?));
    let mut rng = Rng(0x1a6e_570e);
    match format.as_str() {
        "docker-save" => docker_save(&mut out, &mut rng, total)?,
        "docker-root" => docker_root(&mut out, &mut rng, total, &arg("--image-store").expect(usage))?,
        other => panic!("unknown --format {other:?}; {usage}"),
    }
    out.into_inner()?.flush()?;
    // Renamed only when complete, so an interrupted run never leaves a usable-looking file.
    std::fs::rename(&tmp, &path)?;
    println!("{path}: {} bytes", std::fs::metadata(&path)?.len());
    Ok(())
}
