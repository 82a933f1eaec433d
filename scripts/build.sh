#!/usr/bin/env bash
# Builds the npm package into pkg/:
#   pkg/node/  wasm-bindgen --target nodejs (CommonJS, loads the wasm synchronously) + the Node-only
#              JS from node/ (entries that add the fs backend, the `imagestore` command, serve)
#   pkg/web/   wasm-bindgen --target web + an ESM entry that initialises itself (top-level await)
#   pkg/package.json, README.md, LICENSE from scripts/pkg-template/ (version from Cargo.toml)
# then prints the wasm size, raw and gzipped. When pkg/ was already made from the same wasm and
# the same template (a stamp in cargo's target dir says so), it is left as it is: the slow steps
# (wasm-bindgen, wasm-opt) run only when something changed, so `make serve` after `make build`
# starts at once.
. "$(dirname "$0")/lib.sh"

TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
WASM="$TARGET_DIR/wasm32-unknown-unknown/release/imagestore.wasm"
TEMPLATE="$ROOT/scripts/pkg-template"
PKG="$ROOT/pkg"
WASM_OPT="$ROOT/node_modules/.bin/wasm-opt"   # npm's binaryen; Debian's breaks the output

say "build: cargo build --release --target wasm32-unknown-unknown"
cargo build --quiet --release --target wasm32-unknown-unknown --lib

print_size() {
    local wasm="$PKG/web/imagestore_bg.wasm" raw gz
    raw=$(wc -c <"$wasm")
    gz=$(gzip -9 -c "$wasm" | wc -c)
    printf 'wasm size: %d bytes raw, %d bytes gzipped (%s)\n' "$raw" "$gz" "${wasm#"$ROOT"/}"
}

# wasm-opt's passes. By default binaryen inlines every function that has one caller, whatever its
# size, and that made the import's futures huge: read_tar's 36 KB, Importer::finish_inner's 103 KB
# with every archive format's code in it. V8 compiles a wasm function whole, lazily on its first
# call and again when it optimises it, so a first import in a fresh page compiled code it never
# ran, and TurboFan spent 120 ms on one future while the import ran. With that inlining capped at
# small functions, the first scale200 import takes about 0.12 s instead of 0.14-0.19 s, and the
# 10,000-image import is 8-10 % faster (README, "Store size", session 24).
WASM_OPT_FLAGS=(-O3 --one-caller-inline-max-function-size=100)

# What pkg/ is made from: the wasm, the template, node/, the bindgen version, the crate version
# and wasm-opt's passes.
STAMP="$TARGET_DIR/imagestore-pkg.stamp"
inputs="$( { sha256sum "$WASM"; find "$TEMPLATE" "$ROOT/node" -type f -print0 | sort -z | xargs -0 sha256sum;
             wasm-bindgen --version; crate_version; echo "${WASM_OPT_FLAGS[*]}"; } | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$inputs" ] && [ -f "$PKG/package.json" ] &&
   [ -f "$PKG/web/imagestore_bg.wasm" ] && [ -f "$PKG/node/imagestore_bg.wasm" ]; then
    say "build: pkg/ is up to date (same wasm and template)"
    print_size
    exit 0
fi
rm -f "$STAMP"

rm -rf "$PKG"
mkdir -p "$PKG"
for target in nodejs web; do
    out="$PKG/${target%js}"   # nodejs -> node, web -> web
    wasm-bindgen --target "$target" --out-dir "$out" --out-name imagestore "$WASM"
    if [ -x "$WASM_OPT" ]; then
        "$WASM_OPT" "${WASM_OPT_FLAGS[@]}" "$out/imagestore_bg.wasm" -o "$out/imagestore_bg.wasm"
    else
        say "build: $WASM_OPT missing (run make setup): wasm left unoptimised"
    fi
    rm -f "$out/.gitignore"
done
cp -r "$TEMPLATE/web" "$PKG/"
cp -r "$ROOT/node/." "$PKG/node/"
cp "$TEMPLATE/README.md" "$TEMPLATE/LICENSE" "$PKG/"
VERSION="$(crate_version)" node -e '
    const fs = require("fs");
    const pkg = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    pkg.version = process.env.VERSION;
    fs.writeFileSync(process.argv[2], JSON.stringify(pkg, null, 2) + "\n");
' "$TEMPLATE/package.json" "$PKG/package.json"

printf '%s\n' "$inputs" >"$STAMP"
print_size
