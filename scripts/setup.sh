#!/usr/bin/env bash
# Installs every tool the build and the tests need, skipping what is already there, so it is
# quiet and quick on a machine that has run it before:
#   - the wasm32-unknown-unknown Rust target, and rustfmt and clippy (the lint tier);
#   - wasm-bindgen CLI (+ wasm-bindgen-test-runner) of exactly the version in Cargo.lock;
#   - the npm dev dependencies from package-lock.json (fake-indexeddb, playwright-core, and
#     binaryen for wasm-opt: never Debian's binaryen, whose output crashes at load time);
#   - Debian's chromium and chromium-driver (headless browser tests);
#   - Debian's docker.io (the docker CLI, used by tests/node/serve.test.mjs against `imagestore
#     serve`, and dockerd, which tests/node/real-tools.test.mjs starts privately (vfs driver, no
#     network; needs root) to `docker load` our exports), skopeo and umoci (they read our
#     `docker save` and OCI layout exports in the same test);
#   - a C++ compiler (g++), which `make fuzz` needs to build libFuzzer (libfuzzer-sys, from crates.io).
. "$(dirname "$0")/lib.sh"

command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"
command -v npm >/dev/null || die "npm not found: install Node.js >= 20 first"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "setup: adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

for component in rustfmt clippy; do
    if ! rustup component list --installed | grep -q "^$component"; then
        say "setup: adding the $component component"
        rustup component add "$component"
    fi
done

want="$(wasm_bindgen_version)"
[ -n "$want" ] || die "no wasm-bindgen in Cargo.lock"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ] || ! command -v wasm-bindgen-test-runner >/dev/null; then
    say "setup: installing wasm-bindgen-cli $want (was: ${have:-none}; takes a few minutes)"
    # No --locked: one of the CLI's locked dependency versions is missing from the registry.
    cargo install --quiet wasm-bindgen-cli --version "$want"
fi

# npm ci wipes and reinstalls node_modules; only do it when the lockfile changed since.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ ! -x node_modules/.bin/wasm-opt ]; then
    say "setup: installing npm dev dependencies (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
fi

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
{ command -v docker >/dev/null && command -v dockerd >/dev/null; } || missing+=(docker.io)
command -v skopeo >/dev/null || missing+=(skopeo)
command -v umoci >/dev/null || missing+=(umoci)
command -v c++ >/dev/null || missing+=(g++)   # libFuzzer's C++ runtime (make fuzz)
if [ ${#missing[@]} -gt 0 ]; then
    say "setup: installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
