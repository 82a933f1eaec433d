# imagestore: the two commands to know are `make serve` (build and open the page) and
# `make test` (every test tier). The work is done by the scripts in scripts/.
PORT ?= 8080

.PHONY: setup build test serve bench sample clean

# Install the toolchain (wasm target, wasm-bindgen CLI, npm dev deps, Chromium); skips what is there.
setup:
	@bash scripts/setup.sh

# Build the npm package into pkg/ and print the wasm size.
build: setup
	@bash scripts/build.sh

# Run all tiers (native, node-wasm, chromium-wasm, e2e); ends with one summary line per tier.
test: setup
	@bash scripts/test.sh

# Serve www/ (and the built package at /pkg/) on http://127.0.0.1:$(PORT)/.
serve: build sample
	@PORT=$(PORT) node scripts/serve.mjs

# Speed and memory figures: SHA-256 and whole imports of generated ~200 MB inputs, natively, in Node and in Chromium.
bench: setup
	@bash scripts/bench.sh

# Hook for the sample store: generates files under www/sample/ once scripts/sample.sh exists.
sample: setup
	@if [ -f scripts/sample.sh ]; then bash scripts/sample.sh; else echo "no scripts/sample.sh yet"; fi

clean:
	rm -rf pkg www/pkg target/test-logs tests/e2e/screenshots/tmp
