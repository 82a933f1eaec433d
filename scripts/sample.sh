#!/usr/bin/env bash
# Makes the sample Docker image store the page imports on first load
# (www/sample/sample-store.tar, ~30 images), unless it is already there.
# IMAGES=N OUT=FILE SCALE=PERCENT override the defaults (e.g. a 10,000-image store for benchmarks:
# IMAGES=10000 SCALE=10 OUT=.bench/sample-10k.tar bash scripts/sample.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGES="${IMAGES:-30}"
OUT="${OUT:-www/sample/sample-store.tar}"
SCALE="${SCALE:-100}"

if [ -s "$OUT" ]; then
  echo "sample store: $OUT is there (delete it to make a new one)"
  exit 0
fi
cargo run --quiet --release --example sample_store -- --images "$IMAGES" --scale "$SCALE" --out "$OUT"
