//! Benchmark helper for `make bench`: imports a tarball natively into a `Store` over the
//! `MemoryBackend`, read from disk in 1 MiB chunks, and prints the throughput, the peak RSS
//! (VmHWM from /proc/self/status) and how much of that the backend's stored chunks account for.
//!
//!     cargo run --release --example import_throughput -- FILE NAME
//!
//! Output: `bench: <NAME> native: ...` lines (see scripts/bench.sh).

use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::{Backend, Space};
use imagestore::store::Store;
use std::io::Read;
use std::time::Instant;

const CHUNK: usize = 1 << 20;

/// A `/proc/self/status` field in kB, e.g. `VmHWM` (peak resident set size).
fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    line[field.len() + 1..].trim().trim_end_matches("kB").trim().parse().ok()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (path, name) = match (args.next(), args.next()) {
        (Some(p), Some(n)) => (p, n),
        _ => panic!("usage: import_throughput FILE NAME"),
    };
    let mut file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let rss_before = proc_status_kb("VmRSS").unwrap_or(0);

    // Chunks are read lazily, as the importer asks for them, so the file is never in memory whole.
    let chunks = futures::stream::iter(std::iter::from_fn(move || {
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some(Ok(buf))
            }
            Err(e) => Some(Err(imagestore::Error::unavailable(format!("reading the input: {e}")))),
        }
    }));

    let backend = MemoryBackend::new();
    let start = Instant::now();
    let report = futures::executor::block_on(async {
        let mut store = Store::open(backend.clone()).await?;
        store.import(chunks, Default::default()).await
    });
    let secs = start.elapsed().as_secs_f64();
    let peak_kb = proc_status_kb("VmHWM").unwrap_or(0);
    match report {
        Ok(r) => {
            let stored: u64 = futures::executor::block_on(backend.scan(Space::Chunks, ""))
                .map(|all| all.iter().map(|(_, v)| v.len() as u64).sum())
                .unwrap_or(0);
            println!(
                "bench: {name} native: {:.0} MB/s ({:.1} MB in {secs:.2} s; {} images, {} layers, {} blobs, format {})",
                size as f64 / 1e6 / secs,
                size as f64 / 1e6,
                r.images,
                r.layers,
                r.blobs,
                r.format
            );
            println!(
                "bench: {name} native peak RSS: {:.0} MB (of which {:.0} MB stored in the memory backend, {:.0} MB before the import)",
                peak_kb as f64 / 1e3,
                stored as f64 / 1e6,
                rss_before as f64 / 1e3
            );
        }
        Err(e) => {
            // scripts/bench.sh tells "format not supported yet" from real failures by this line.
            println!("bench: {name} native: failed: {}: {}", e.code.as_str(), e.message);
            std::process::exit(2);
        }
    }
}
