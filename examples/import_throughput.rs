//! Benchmark helper for `make bench`: imports a tarball natively into a `Store` over the
//! `MemoryBackend`, read from disk in 1 MiB chunks, and prints the throughput, the peak RSS
//! (VmHWM from /proc/self/status) and how much of that is blob chunks held by the backend at
//! their peak (staged layers live there during an import: that is storage, not working memory;
//! a disk-backed IndexedDB keeps them out of memory).
//!
//!     cargo run --release --example import_throughput -- FILE NAME
//!
//! Output: `bench: <NAME> native: ...` lines (see scripts/bench.sh).

use imagestore::storage::memory::MemoryBackend;
use imagestore::storage::{Backend, Op, Space};
use imagestore::store::Store;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Read;
use std::rc::Rc;
use std::time::Instant;

const CHUNK: usize = 1 << 20;

/// A `/proc/self/status` field in kB, e.g. `VmHWM` (peak resident set size).
fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    line[field.len() + 1..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// The memory backend, counting the bytes of blob chunks it holds (now and at most).
#[derive(Clone, Default)]
struct Counting {
    inner: MemoryBackend,
    chunk_sizes: Rc<RefCell<BTreeMap<String, u64>>>,
    held: Rc<RefCell<(u64, u64)>>,
}

impl Counting {
    fn peak(&self) -> u64 {
        self.held.borrow().1
    }
    fn account(&self, ops: &[Op]) {
        let mut sizes = self.chunk_sizes.borrow_mut();
        let mut held = self.held.borrow_mut();
        for op in ops {
            match op {
                Op::Put { space: Space::Chunks, key, value } => {
                    held.0 += value.len() as u64;
                    held.0 -= sizes.insert(key.clone(), value.len() as u64).unwrap_or(0);
                }
                Op::Delete { space: Space::Chunks, key } => held.0 -= sizes.remove(key).unwrap_or(0),
                Op::DeletePrefix { space: Space::Chunks, prefix } => {
                    let doomed: Vec<String> = sizes
                        .range(prefix.clone()..)
                        .take_while(|(k, _)| k.starts_with(prefix.as_str()))
                        .map(|(k, _)| k.clone())
                        .collect();
                    for k in doomed {
                        held.0 -= sizes.remove(&k).unwrap_or(0);
                    }
                }
                _ => {}
            }
            held.1 = held.1.max(held.0);
        }
    }
}

impl Backend for Counting {
    async fn get(&self, space: Space, key: &str) -> imagestore::Result<Option<Vec<u8>>> {
        self.inner.get(space, key).await
    }
    async fn scan(&self, space: Space, prefix: &str) -> imagestore::Result<Vec<(String, Vec<u8>)>> {
        self.inner.scan(space, prefix).await
    }
    async fn keys(&self, space: Space, prefix: &str) -> imagestore::Result<Vec<String>> {
        self.inner.keys(space, prefix).await
    }
    async fn commit(&self, ops: Vec<Op>) -> imagestore::Result<()> {
        let counted = ops.iter().any(|op| {
            matches!(
                op,
                Op::Put { space: Space::Chunks, .. }
                    | Op::Delete { space: Space::Chunks, .. }
                    | Op::DeletePrefix { space: Space::Chunks, .. }
            )
        });
        // Only chunk operations are counted; the memory backend applies a commit whole or not at all.
        let accounted = if counted { Some(ops.clone()) } else { None };
        self.inner.commit(ops).await?;
        if let Some(ops) = accounted {
            self.account(&ops);
        }
        Ok(())
    }
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

    let backend = Counting::default();
    let start = Instant::now();
    let report = futures::executor::block_on(async {
        let mut store = Store::open(backend.clone()).await?;
        store.import(chunks, Default::default()).await
    });
    let secs = start.elapsed().as_secs_f64();
    let peak_kb = proc_status_kb("VmHWM").unwrap_or(0);
    // What opening the store again costs (a restart of the tool over the same storage).
    // `REOPENS=N` opens it N times and reports the median (for profiling the open).
    let reopens: usize = std::env::var("REOPENS").ok().and_then(|n| n.parse().ok()).unwrap_or(1).max(1);
    let mut reopen_times = Vec::new();
    let mut reopened = None;
    for _ in 0..reopens {
        // The previous store is dropped before the clock starts.
        drop(reopened.take());
        let reopen_start = Instant::now();
        reopened = Some(futures::executor::block_on(Store::open(backend.clone())));
        reopen_times.push(reopen_start.elapsed().as_secs_f64() * 1e3);
    }
    reopen_times.sort_by(|a, b| a.total_cmp(b));
    let reopen_ms = reopen_times[reopen_times.len() / 2];
    let reopened = reopened.expect("opened at least once");
    match report {
        Ok(r) => {
            let (stored, staged_peak) = (backend.held.borrow().0, backend.peak());
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
                "bench: {name} native peak RSS: {:.0} MB ({:.0} MB before the import; blob chunks held by the memory backend: {:.0} MB at most, {:.0} MB at the end)",
                peak_kb as f64 / 1e3,
                rss_before as f64 / 1e3,
                staged_peak as f64 / 1e6,
                stored as f64 / 1e6
            );
            match reopened {
                Ok(mut s) => {
                    println!(
                        "bench: {name} native reopen: {reopen_ms:.0} ms ({} images; median of {reopens})",
                        s.docker().images.len()
                    );
                    list_figures(&name, &mut s);
                    mutation_figures(&name, &mut s);
                }
                Err(e) => println!("bench: {name} native reopen: failed: {}: {}", e.code.as_str(), e.message),
            }
        }
        Err(e) => {
            // scripts/bench.sh tells "format not supported yet" from real failures by this line.
            println!("bench: {name} native: failed: {}: {}", e.code.as_str(), e.message);
            std::process::exit(2);
        }
    }
}

/// Median times of a tag and of an rmi that only untags (what the page's tag dialog and
/// delete button do): they must cost what they touch, not the size of the store.
fn mutation_figures(name: &str, store: &mut Store<Counting>) {
    let Some(id) = store.docker().images.map().next().map(|i| i.id().to_string()) else { return };
    let (mut tag_ms, mut rmi_ms) = (Vec::new(), Vec::new());
    for round in 0..7 {
        let tag = format!("t{round}");
        let t = Instant::now();
        futures::executor::block_on(store.tag_image(&id, "bench/mutation", &tag)).expect("tag");
        tag_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        futures::executor::block_on(store.remove_image(&format!("bench/mutation:{tag}"), false, false)).expect("rmi");
        rmi_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    println!(
        "bench: {name} native tag: {:.2} ms, rmi (untag): {:.2} ms (median of 7)",
        median(&mut tag_ms),
        median(&mut rmi_ms)
    );
}

/// `listImages({all: true})` as JSON text on the reopened store: the first call (chain sizes
/// worked out), a repeated call (the remembered answer), and a call after a change (a tag: the
/// answer is computed again, chain sizes known).
fn list_figures(name: &str, store: &mut Store<Counting>) {
    let all = Default::default();
    let t = Instant::now();
    let bytes = store.list_images_json(true, &all).expect("list").len();
    let first = t.elapsed().as_secs_f64() * 1e3;
    let mut repeated = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        store.list_images_json(true, &all).expect("list");
        repeated.push(t.elapsed().as_secs_f64() * 1e3);
    }
    repeated.sort_by(|a, b| a.total_cmp(b));
    let (mut changed, mut columns) = (Vec::new(), Vec::new());
    let id = store.docker().images.map().next().map(|i| i.id().to_string());
    for round in 0..5 {
        if let Some(id) = &id {
            futures::executor::block_on(store.tag_image(id, "bench/list", &format!("t{round}"))).expect("tag");
        }
        let t = Instant::now();
        store.list_images_json(true, &all).expect("list");
        changed.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        store.list_images_columns(true, &all).expect("list");
        columns.push(t.elapsed().as_secs_f64() * 1e3);
    }
    for round in 0..5 {
        futures::executor::block_on(store.remove_image(&format!("bench/list:t{round}"), false, false)).expect("rmi");
    }
    changed.sort_by(|a, b| a.total_cmp(b));
    columns.sort_by(|a, b| a.total_cmp(b));
    println!(
        "bench: {name} native listImages(all) as JSON text ({bytes} bytes): first after reopen {first:.1} ms, repeated {:.3} ms, after a tag {:.1} ms (medians of 5); as columns (what listImages builds its rows from) after a tag {:.1} ms",
        repeated[2], changed[2], columns[2]
    );
}
