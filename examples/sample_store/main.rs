//! Generates a realistic, deterministic Docker image store tarball (a tar of
//! `/var/lib/docker/image/<driver>/`) for the web page and for benchmarks.
//!
//!     cargo run --release --example sample_store -- --images 30 --out www/sample/sample-store.tar
//!
//! Options: `--images N` (default 30), `--out FILE` (required), `--seed S` (default 1),
//! `--scale PERCENT` (file sizes relative to realistic ones, default 100).

mod config;
mod crc64;
mod layer;
mod members;
mod output;
mod plan;
mod rng;
mod store;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

/// The generator's entry points, by the names the command and its tests use.
mod sample_store {
    pub(crate) use super::output::write_store_tar;
    pub(crate) use super::plan::{generate, Options};
}

use std::io::BufWriter;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sample_store: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut opts = sample_store::Options { images: 30, seed: 1, scale_percent: 100 };
    let mut out = None;
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--images" => opts.images = number(&flag, &value()?)? as usize,
            "--seed" => opts.seed = number(&flag, &value()?)?,
            "--scale" => opts.scale_percent = number(&flag, &value()?)?,
            "--out" => out = Some(value()?),
            _ => {
                return Err(format!("unknown option {flag:?}; use --images N --out FILE [--seed S] [--scale PERCENT]"))
            }
        }
    }
    let out = out.ok_or("--out FILE is required")?;
    let store = sample_store::generate(&opts);
    if let Some(dir) = std::path::Path::new(&out).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    // Write next to the target and rename, so a half-written file is never picked up.
    let tmp = format!("{out}.partial");
    let file = std::fs::File::create(&tmp).map_err(|e| format!("cannot create {tmp}: {e}"))?;
    let mtime = 1_761_868_800;
    sample_store::write_store_tar(&store, BufWriter::new(file), mtime)
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .map_err(|e| format!("cannot write {tmp}: {e}"))?;
    std::fs::rename(&tmp, &out).map_err(|e| format!("cannot rename {tmp} to {out}: {e}"))?;
    let tagged = store.images.iter().filter(|i| store.is_tagged(&i.id)).count();
    eprintln!("sample_store: wrote {out}: {} images ({tagged} tagged), {} layers", store.len(), store.layers.len());
    Ok(())
}

fn number(flag: &str, v: &str) -> Result<u64, String> {
    v.parse().map_err(|_| format!("{flag} takes a whole number, got {v:?}"))
}
