//! Benchmark helper for `make bench` (issue #11's figures), natively:
//!
//!     cargo run --release --example analysis_bench -- make-image OUT [LAYERS FILES]
//!     cargo run --release --example analysis_bench -- measure FILE NAME [IMAGE]
//!     cargo run --release --example analysis_bench -- profile FILE IMAGE [N]
//!     cargo run --release --example analysis_bench -- profile-search FILE PATTERN [N]
//!
//! `make-image` writes a `docker save` archive of one image, `bench/big:latest`, with LAYERS
//! layers (default 20) holding FILES files in all (default 50,000): every layer adds its share
//! of new files, rewrites some of the layer below's (wasted space), chmods others and deletes
//! a few with whiteouts, so every analysis has work to do. `measure` imports FILE into the
//! memory backend and prints `bench: NAME native: …` lines: dive's efficiency and the layer
//! changes of IMAGE (cold: tar-splits parsed; warm), and a store-wide search (the index built,
//! then from the index in a reopened store, then warm).

use imagestore::analysis::dive::CiRules;
use imagestore::import::ImportOptions;
use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::{Backend, Op, Space};
use imagestore::store::Store;
use std::io::{Read, Write};
use std::time::Instant;

fn layer_tar(entries: &[(String, Vec<u8>, u32)], whiteouts: &[String]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _, _) in entries.iter() {
        let mut at = String::new();
        for part in path.split('/').rev().skip(1).collect::<Vec<_>>().into_iter().rev() {
            at = if at.is_empty() { part.to_string() } else { format!("{at}/{part}") };
            dirs.insert(at.clone());
        }
    }
    for w in whiteouts {
        if let Some((dir, _)) = w.rsplit_once('/') {
            dirs.insert(dir.to_string());
        }
    }
    for d in &dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, format!("{d}/"), &[][..]).unwrap();
    }
    for (path, data, mode) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, path, &data[..]).unwrap();
    }
    for w in whiteouts {
        let (dir, base) = w.rsplit_once('/').unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, format!("{dir}/.wh.{base}"), &[][..]).unwrap();
    }
    b.into_inner().unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    imagestore::Digest::sha256_of(data).hex().to_string()
}

fn make_image(out: &str, layers: usize, files: usize) {
    let per_layer = files / layers;
    let mut tars = Vec::new();
    let mut history = Vec::new();
    let mut seed = 1u64;
    for i in 0..layers {
        let mut entries = Vec::new();
        for j in 0..per_layer {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let size = (seed >> 33) as usize % 2048;
            let path = format!("usr/share/l{i:02}/d{:02}/file{j:05}.dat", j % 40);
            entries.push((path, vec![(i + j) as u8; size], 0o644));
        }
        let mut whiteouts = Vec::new();
        if i > 0 {
            // Rewritten (same size, other bytes: the CRC-64 tells) and chmod'ed files of the layer below.
            for j in (0..per_layer).step_by(25) {
                let path = format!("usr/share/l{:02}/d{:02}/file{j:05}.dat", i - 1, j % 40);
                let old = entries_size(i - 1, j, per_layer);
                entries.push((path, vec![0xAB; old], if j % 50 == 0 { 0o755 } else { 0o644 }));
            }
            for j in (3..per_layer).step_by(100) {
                whiteouts.push(format!("usr/share/l{:02}/d{:02}/file{j:05}.dat", i - 1, j % 40));
            }
        }
        tars.push(layer_tar(&entries, &whiteouts));
        history.push(format!(r#"{{"created":"2023-11-14T22:13:20Z","created_by":"/bin/sh -c make layer {i}"}}"#));
    }
    let diff_ids: Vec<String> = tars.iter().map(|t| format!("\"sha256:{}\"", sha256_hex(t))).collect();
    let config = format!(
        r#"{{"architecture":"amd64","config":{{"Env":["PATH=/usr/bin"]}},"created":"2023-11-14T22:13:20Z","history":[{}],"os":"linux","rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
        history.join(","),
        diff_ids.join(",")
    );
    let config_hex = sha256_hex(config.as_bytes());
    let mut archive = tar::Builder::new(std::fs::File::create(out).unwrap());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        archive.append_data(&mut h, name, data).unwrap();
    };
    let mut layer_names = Vec::new();
    for t in &tars {
        let name = format!("{}/layer.tar", sha256_hex(t));
        add(&name, t);
        layer_names.push(format!("\"{name}\""));
    }
    add(&format!("{config_hex}.json"), config.as_bytes());
    let manifest = format!(
        r#"[{{"Config":"{config_hex}.json","RepoTags":["bench/big:latest"],"Layers":[{}]}}]"#,
        layer_names.join(",")
    );
    add("manifest.json", manifest.as_bytes());
    archive.into_inner().unwrap().flush().unwrap();
    eprintln!("analysis_bench: wrote {out}: 1 image, {layers} layers, ~{files} files");
}

/// The size `make_image` gave file `j` of layer `i` (replays its generator).
fn entries_size(i: usize, j: usize, per_layer: usize) -> usize {
    let mut seed = 1u64;
    for _ in 0..(i * per_layer + j + 1) {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    }
    (seed >> 33) as usize % 2048
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

/// This thread's CPU time in ms (utime + stime of /proc/thread-self/stat, 10 ms ticks): on a
/// loaded machine wall time says more about the load than about the code.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) * 10.0
}

fn measure(file: &str, name: &str, image: Option<&str>) {
    let mut bytes = Vec::new();
    std::fs::File::open(file).unwrap().read_to_end(&mut bytes).unwrap();
    let backend = MemoryBackend::new();
    let (t, c) = (Instant::now(), cpu_ms());
    let store = futures::executor::block_on(async {
        let mut store = Store::open(backend.clone()).await.unwrap();
        let chunks: Vec<Vec<u8>> = bytes.chunks(1 << 20).map(|c| c.to_vec()).collect();
        store.import(futures::stream::iter(chunks.into_iter().map(Ok)), ImportOptions::default()).await.unwrap();
        store
    });
    let (import, import_cpu) = (ms(t), cpu_ms() - c);
    // The import ends by bringing the search index up to date (every layer new): the same work
    // again, on a reopened store whose analysis records (index and entries) were deleted.
    futures::executor::block_on(async {
        let drop = Op::DeletePrefix { space: Space::Meta, prefix: "analysis/".into() };
        backend.commit(vec![drop]).await.unwrap();
        let reopened = Store::open(backend.clone()).await.unwrap();
        let (t, c) = (Instant::now(), cpu_ms());
        let update = reopened.update_search_index().await.unwrap();
        let (index, index_cpu) = (ms(t), cpu_ms() - c);
        println!(
            "bench: {name} native: import {import:.0} ms ({import_cpu:.0} ms CPU), the search index brought up to date in it; that update again from nothing: {index:.0} ms ({index_cpu:.0} ms CPU, {} layers, {:.0} % of the import's CPU)",
            update.added,
            100.0 * index_cpu / import_cpu.max(1.0)
        );
    });
    futures::executor::block_on(async {
        if let Some(image) = image {
            let (t, c) = (Instant::now(), cpu_ms());
            let e = store.efficiency(image, &CiRules::default()).await.unwrap();
            let (cold, cold_cpu) = (ms(t), cpu_ms() - c);
            let (t, c) = (Instant::now(), cpu_ms());
            store.efficiency(image, &CiRules::default()).await.unwrap();
            let (warm, warm_cpu) = (ms(t), cpu_ms() - c);
            let files: usize = store.dive_file_lists(image).await.unwrap().iter().map(Vec::len).sum();
            println!(
                "bench: {name} native: efficiency of {image} ({} layers, {files} entries): {cold:.0} ms cold ({cold_cpu:.0} ms CPU), {warm:.0} ms warm ({warm_cpu:.0} ms CPU)",
                e.layers.len()
            );
            let (t, c) = (Instant::now(), cpu_ms());
            let changes = store.layer_changes(image).await.unwrap();
            let n: usize = changes.iter().map(|l| l.changes.len()).sum();
            println!(
                "bench: {name} native: layerChanges of {image} ({n} changes): {:.0} ms ({:.0} ms CPU)",
                ms(t),
                cpu_ms() - c
            );
        }
        let (t, c) = (Instant::now(), cpu_ms());
        let hits = store.find_files("**/*.pem", None).await.unwrap().files.len();
        let (build, build_cpu) = (ms(t), cpu_ms() - c);
        let reopened = Store::open(backend.clone()).await.unwrap();
        let (t, c) = (Instant::now(), cpu_ms());
        reopened.find_files("**/*.pem", None).await.unwrap();
        let (from_index, index_cpu) = (ms(t), cpu_ms() - c);
        let (t, c) = (Instant::now(), cpu_ms());
        let again = reopened.find_files("passwd", None).await.unwrap().files.len();
        let (warm, warm_cpu) = (ms(t), cpu_ms() - c);
        let images = store.docker().images.map().count();
        println!(
            "bench: {name} native: findFiles over {images} images: {build:.0} ms for the first search after the import ({build_cpu:.0} ms CPU), {from_index:.0} ms from the persisted index after reopening ({index_cpu:.0} ms CPU), {warm:.0} ms warm ({warm_cpu:.0} ms CPU; {hits} and {again} hits)"
        );
    });
}

/// `profile FILE IMAGE N`: N cold efficiency runs (a reopened store each), for `perf record`.
fn profile(file: &str, image: &str, n: usize) {
    let bytes = std::fs::read(file).unwrap();
    let backend = MemoryBackend::new();
    futures::executor::block_on(async {
        let mut store = Store::open(backend.clone()).await.unwrap();
        let chunks: Vec<Vec<u8>> = bytes.chunks(1 << 20).map(|c| c.to_vec()).collect();
        store.import(futures::stream::iter(chunks.into_iter().map(Ok)), ImportOptions::default()).await.unwrap();
        let (mut cold, mut warm, mut changes) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let store = Store::open(backend.clone()).await.unwrap();
            let c = cpu_ms();
            store.efficiency(image, &CiRules::default()).await.unwrap();
            cold += cpu_ms() - c;
            let c = cpu_ms();
            store.efficiency(image, &CiRules::default()).await.unwrap();
            warm += cpu_ms() - c;
            let c = cpu_ms();
            store.layer_changes(image).await.unwrap();
            changes += cpu_ms() - c;
        }
        println!(
            "profile: efficiency of {image}: {:.0} ms CPU cold, {:.0} ms CPU warm; then layer changes {:.0} ms CPU (mean of {n})",
            cold / n as f64,
            warm / n as f64,
            changes / n as f64
        );
    });
}

/// `profile-search FILE PATTERN N`: N searches each from a freshly reopened store (answered
/// from the persisted search snapshot), N made again from the search index (the snapshot
/// deleted first: the subjects made, the index's records read and the snapshot rewritten), then
/// N warm ones, for `perf record`. CPU times are means.
fn profile_search(file: &str, pattern: &str, n: usize) {
    let bytes = std::fs::read(file).unwrap();
    let backend = MemoryBackend::new();
    futures::executor::block_on(async {
        let mut store = Store::open(backend.clone()).await.unwrap();
        let chunks: Vec<Vec<u8>> = bytes.chunks(1 << 20).map(|c| c.to_vec()).collect();
        store.import(futures::stream::iter(chunks.into_iter().map(Ok)), ImportOptions::default()).await.unwrap();
        let hits = store.find_files(pattern, None).await.unwrap().files.len();
        let mut cold = 0.0;
        for _ in 0..n {
            let store = Store::open(backend.clone()).await.unwrap();
            let c = cpu_ms();
            store.find_files(pattern, None).await.unwrap();
            cold += cpu_ms() - c;
        }
        let mut remade = 0.0;
        for _ in 0..n {
            let drop = vec![Op::delete_meta(imagestore::schema::analysis::SEARCH_SNAPSHOT)];
            backend.commit(drop).await.unwrap();
            let store = Store::open(backend.clone()).await.unwrap();
            let c = cpu_ms();
            store.find_files(pattern, None).await.unwrap();
            remade += cpu_ms() - c;
        }
        let store = Store::open(backend.clone()).await.unwrap();
        store.find_files(pattern, None).await.unwrap();
        let c = cpu_ms();
        for _ in 0..n {
            store.find_files(pattern, None).await.unwrap();
        }
        let warm = cpu_ms() - c;
        let n = n as f64;
        println!(
            "profile: findFiles {pattern:?} ({hits} hits): {:.1} ms CPU in a reopened store (from the persisted search snapshot); {:.1} ms with the snapshot made again (subjects, the index's records, the snapshot written); {:.1} ms warm (means of {n})",
            cold / n,
            remade / n,
            warm / n
        );
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("make-image") if args.len() >= 2 => make_image(
            &args[1],
            args.get(2).map_or(20, |n| n.parse().unwrap()),
            args.get(3).map_or(50_000, |n| n.parse().unwrap()),
        ),
        Some("measure") if args.len() >= 3 => measure(&args[1], &args[2], args.get(3).map(String::as_str)),
        Some("profile") if args.len() >= 4 => {
            profile(&args[1], &args[2], args.get(3).map_or(20, |n| n.parse().unwrap()))
        }
        Some("profile-search") if args.len() >= 3 => {
            profile_search(&args[1], &args[2], args.get(3).map_or(10, |n| n.parse().unwrap()))
        }
        _ => {
            eprintln!("usage: analysis_bench make-image OUT [LAYERS FILES] | measure FILE NAME [IMAGE] | profile FILE IMAGE [N] | profile-search FILE PATTERN [N]");
            std::process::exit(64);
        }
    }
}
