#!/usr/bin/env bash
# The crate's layering rules that a compiler does not check (the lint tier runs this):
#   - only src/wasm/ (the bindings and the platform code: IndexedDB, the host) names a
#     JavaScript binding crate: js_sys, web_sys, wasm_bindgen(_futures), indexed_db_futures,
#     serde_wasm_bindgen; the core gets what the platform gives through src/host.rs;
#   - src/docker and src/containerd never name crate::store (the façade knows both views).
# Prints each offending line and exits 1 if any; comments count too (they would be stale).
# Usage: scripts/check-layers.sh [SRC_DIR] (default: the repository's src/).
set -uo pipefail
SRC="${1:-$(cd "$(dirname "$0")/.." && pwd)/src}"
status=0

js=$(grep -rnE --include='*.rs' '\b(js_sys|web_sys|wasm_bindgen|wasm_bindgen_futures|indexed_db_futures|serde_wasm_bindgen)\b' "$SRC" |
     grep -vE "^$SRC/wasm/" || true)
if [ -n "$js" ]; then
    echo "check-layers: JavaScript bindings named outside src/wasm/ (pass what is needed in through src/host.rs):"
    echo "$js"
    status=1
fi

store=$(grep -rnE --include='*.rs' 'crate::store\b' "$SRC/docker" "$SRC/containerd" || true)
if [ -n "$store" ]; then
    echo "check-layers: src/docker or src/containerd names crate::store (only the façade knows both views):"
    echo "$store"
    status=1
fi

[ "$status" -eq 0 ] && echo "check-layers: ok"
exit "$status"
