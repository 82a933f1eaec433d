#!/usr/bin/env bash
# `make fuzz`: coverage-guided fuzzing (libFuzzer, on stable Rust) of every parser that reads
# uploads, one target each (src/fuzz_targets.rs; the binaries are in fuzz/):
#   tar_header tar_stream tar_split gzip bbolt meta_db image_config docker_save_manifest oci
#   filters reference
# Each target starts from the saved corpus (fuzz/corpus/<target>/) plus seeds cut from the real
# fixtures, runs FUZZ_RUNS inputs (default 10^7) with a fixed seed, then merges the inputs that
# found new coverage into fuzz/corpus/<target>/ (`make test` replays that folder: see the replay
# tests in src/fuzz_targets.rs). A crash, a timeout (FUZZ_TIMEOUT s for one input) or an
# out-of-memory is saved to fuzz/regressions/<target>/ (replayed by `make test` from then on)
# and fails the run. Ends with one line per target:
#   fuzz: <target>: <runs> execs in <s> s (<rate>/s), <n> crashes, <n> timeouts
# and "fuzz: N passed, M failed".
# Usage: scripts/fuzz.sh [TARGET…]     FUZZ_RUNS=N  FUZZ_SEED=N  FUZZ_TIMEOUT=S
. "$(dirname "$0")/lib.sh"

RUNS="${FUZZ_RUNS:-10000000}"
SEED="${FUZZ_SEED:-1}"
TIMEOUT="${FUZZ_TIMEOUT:-10}"
ALL=(tar_header tar_stream tar_split gzip bbolt meta_db image_config docker_save_manifest oci filters reference)
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL[@]}")

HOST="$(rustc -vV | sed -n 's/^host: //p')"
WORK="$ROOT/target/fuzz"
export CARGO_TARGET_DIR="$WORK/build"
# What cargo-fuzz passes, minus -Zsanitizer (nightly only): libFuzzer's coverage counters, compare
# tracing, and debug assertions and overflow checks on. --target keeps build scripts uninstrumented.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
command -v c++ >/dev/null || die "a C++ compiler is needed to build libFuzzer (apt-get install g++)"
say "fuzz: building the targets (release, sanitizer coverage)"
cargo build --quiet --release --manifest-path fuzz/Cargo.toml --target "$HOST"
BIN="$CARGO_TARGET_DIR/$HOST/release"

# ---- seeds: real inputs of each kind, cut from the fixtures ----
SEEDS="$WORK/seeds.$$"
U="$WORK/unpacked.$$"
trap 'rm -rf "$SEEDS" "$U"' EXIT
mkdir -p "$U"
for t in "${ALL[@]}"; do mkdir -p "$SEEDS/$t"; done
F=tests/fixtures
tar -xf $F/docker20/basic/image-store.tar -C "$U" --one-top-level=store
tar -xf $F/docker20/basic/docker-save.tar -C "$U" --one-top-level=save
tar -xf $F/docker20/basic/oci-archive.tar -C "$U" --one-top-level=oci
tar -xf $F/docker20/basic/containerd-root.tar -C "$U" --one-top-level=ctrd --wildcards '*meta.db'
n=0
seed() { # seed TARGET FILE [PREFIX-BYTE]: one seed file (with a first byte for targets that take one)
    n=$((n + 1))
    if [ -n "${3:-}" ]; then { printf "\\x$3"; cat "$2"; } >"$SEEDS/$1/seed-$n"; else cp "$2" "$SEEDS/$1/seed-$n"; fi
}
for f in $F/docker20/basic/*.tar; do
    head -c 16384 "$f" >"$U/head.tar"
    seed tar_stream "$U/head.tar" 07
    head -c 1536 "$f" >"$U/head.tar"
    seed tar_header "$U/head.tar"
done
for f in "$U"/store/layerdb/sha256/*/tar-split.json.gz; do
    gzip -dc "$f" | head -c 8192 >"$U/ts.json"
    seed tar_split "$U/ts.json"
    seed gzip "$f" 05
done
printf 'hello\n' | gzip >"$U/one.gz" && seed gzip "$U/one.gz" 05
{ cat "$U/one.gz"; printf 'world\n' | gzip; } >"$U/two.gz" && seed gzip "$U/two.gz" 09
for f in "$U"/oci/blobs/sha256/*; do
    if [ "$(head -c 2 "$f" | od -An -tx1 | tr -d ' ')" = 1f8b ] && [ "$(stat -c %s "$f")" -le 8192 ]; then seed gzip "$f" 03; fi
    if [ "$(head -c 1 "$f")" = "{" ]; then
        for mt in 00 01 02 03; do seed oci "$f" $mt; done
        seed image_config "$f"
    fi
done
for f in "$U"/oci/index.json $F/wild/go-containerregistry/pkg/v1/layout/testdata/*/index.json; do seed oci "$f" 00; done
for f in "$U"/store/imagedb/content/sha256/*; do seed image_config "$f"; done
for f in "$U"/save/manifest.json $(find $F/wild -name manifest.json -size -64k); do seed docker_save_manifest "$f"; done
for f in "$U"/ctrd/*/meta.db $F/wild/osv-scalibr/extractor/filesystem/containers/containerd/testdata/*.db; do
    [ "$(stat -c %s "$f")" -le 131072 ] || continue
    seed bbolt "$f"
    seed meta_db "$f"
done
while IFS= read -r line; do
    printf '%s' "$line" >"$U/line" && seed filters "$U/line"
done <<'EOF'
name==docker.io/library/busybox:latest
labels."tier"==gold,name~=^docker\.io/
target.mediatype~=index
labels.tier!=silver
name~="a\"b",labels."a.b/c"
name~=[
name=="x" ,  labels.tier
EOF
cut -f1 tests/data/reference-v2.8.tsv | head -n 150 | while IFS= read -r line; do
    printf '%s\nbusybox' "$line" >"$U/line" && seed reference "$U/line"
done

# ---- runs ----
FAILED=0
PASSED=0
SUMMARY=()
for t in "${TARGETS[@]}"; do
    case $t in
        bbolt | meta_db) max_len=131072 ;;
        tar_stream) max_len=16384 ;;
        tar_split | gzip) max_len=8192 ;;
        filters | reference) max_len=1024 ;;
        *) max_len=16384 ;;
    esac
    corpus="fuzz/corpus/$t"
    fresh="$WORK/new/$t"
    artifacts="$WORK/artifacts/$t"
    rm -rf "$fresh" "$artifacts"
    mkdir -p "$corpus" "$fresh" "$artifacts"
    log="$WORK/$t.log"
    say "fuzz: $t: $RUNS runs (log: ${log#"$ROOT"/})"
    rc=0
    "$BIN/$t" -runs="$RUNS" -seed="$SEED" -timeout="$TIMEOUT" -rss_limit_mb=2048 -max_len="$max_len" \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$fresh" "$corpus" "$SEEDS/$t" >"$log" 2>&1 || rc=$?
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)$/\1/p' "$log" | tail -n 1)
    secs=$(sed -nE 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/p' "$log" | tail -n 1)
    crashes=$(find "$artifacts" -name 'crash-*' -o -name 'oom-*' | wc -l)
    timeouts=$(find "$artifacts" -name 'timeout-*' -o -name 'slow-unit-*' | wc -l)
    if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ] || [ "$timeouts" -gt 0 ] || [ "${execs:-0}" -lt "$RUNS" ]; then
        FAILED=$((FAILED + 1))
        mkdir -p "fuzz/regressions/$t"
        find "$artifacts" -type f -exec cp {} "fuzz/regressions/$t/" \;
        say "fuzz: $t FAILED (exit $rc); its inputs are in fuzz/regressions/$t/ (make test replays them):"
        tail -n 30 "$log" >&2
    else
        PASSED=$((PASSED + 1))
    fi
    # Keep only what adds coverage to the saved corpus.
    "$BIN/$t" -merge=1 -max_len="$max_len" "$corpus" "$fresh" "$SEEDS/$t" >"$WORK/$t.merge.log" 2>&1 ||
        say "fuzz: $t: merging into $corpus failed (see $WORK/$t.merge.log)"
    rate=$(awk -v e="${execs:-0}" -v s="${secs:-0}" 'BEGIN { if (s > 0) printf "%d", e / s; else print "-" }')
    SUMMARY+=("fuzz: $t: ${execs:-0} execs in ${secs:-?} s (${rate}/s), $crashes crashes, $timeouts timeouts, corpus $(find "$corpus" -type f | wc -l) inputs")
done
echo ""
printf '%s\n' "${SUMMARY[@]}"
echo "fuzz: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
