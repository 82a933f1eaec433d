//! Benchmark helper for `make bench`: streams a file through `Sha256Hasher` in 1 MiB chunks
//! and prints the digest and the throughput, for comparison with `sha256sum` on the same file.
//!
//!     cargo run --release --example sha256_throughput -- FILE

use imagestore::digest::Sha256Hasher;
use std::io::Read;
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).expect("usage: sha256_throughput FILE");
    let mut file = std::fs::File::open(&path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut hasher = Sha256Hasher::new();
    let start = Instant::now();
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let bytes = hasher.len();
    let digest = hasher.finish();
    let secs = start.elapsed().as_secs_f64();
    println!("{digest}  {:.0} MB/s ({} MiB in {secs:.2} s)", bytes as f64 / 1e6 / secs, bytes >> 20);
    Ok(())
}
