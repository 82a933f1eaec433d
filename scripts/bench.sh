#!/usr/bin/env bash
# Prints throughput figures (run by `make bench`):
#   - SHA-256 of a 256 MiB file streamed natively through Sha256Hasher, beside `sha256sum`
#     on the same file (and the two digests must agree);
#   - SHA-256 of 256 MiB inside the wasm build (release profile), in Node.
# Scratch data lives in .bench/ (git-ignored).
. "$(dirname "$0")/lib.sh"

DATA="$ROOT/.bench/random-256MiB.bin"
mkdir -p "$(dirname "$DATA")"
[ -f "$DATA" ] || head -c 256M /dev/urandom >"$DATA"
BYTES=$(wc -c <"$DATA")

say "bench: building (release)"
cargo build --quiet --release --example sha256_throughput

cat "$DATA" >/dev/null   # warm the page cache so both sides read from memory
native=$(cargo run --quiet --release --example sha256_throughput -- "$DATA")
start=$(date +%s.%N)
coreutils=$(sha256sum "$DATA" | awk '{print $1}')
secs=$(echo "$(date +%s.%N) - $start" | bc -l)

[ "${native%% *}" = "sha256:$coreutils" ] || die "digest mismatch: Sha256Hasher ${native%% *}, sha256sum $coreutils"
wasm=$(cargo test --release --target wasm32-unknown-unknown --test wasm_bench -- --include-ignored --nocapture 2>&1 |
    sed -n 's/^BENCH wasm sha256: //p' || true)
[ -n "$wasm" ] || die "the wasm benchmark printed no figure"

printf '%-34s %s\n' \
    "sha256 native (Sha256Hasher):" "${native#* }" \
    "sha256 native (sha256sum):" "$(printf '%.0f MB/s (%d MiB in %.2f s)' "$(echo "$BYTES / 1000000 / $secs" | bc -l)" $((BYTES >> 20)) "$secs")" \
    "sha256 wasm in Node $(node --version):" "${wasm% sha256:*}"
