#!/usr/bin/env bash
# The runner of `cargo test --target wasm32-unknown-unknown` (.cargo/config.toml): wasm-bindgen's
# test runner, as is in Node. In headless Chromium (WASM_BINDGEN_USE_BROWSER=1) a run whose test
# page never loads waits 300 s for chromedriver to give up ("Timed out receiving message from
# renderer") and runs no test. Seen when the package had a fifth wasm-bindgen snippet module: the
# page's module requests queued behind the 30-40 MB debug wasm's download, which is read only once
# they are in (Chromium opens six connections per host), and one load in five stalled. The snippets
# are four again (see src/wasm/upload_hasher.rs); this stays as the guard against it coming back.
# Such a run is stopped after STARTUP_SECONDS and started again, up to four times in all; a run
# whose page loaded is never repeated, so a test that hangs or fails still fails. Output is printed
# when a run ends.
set -u
if [ -z "${WASM_BINDGEN_USE_BROWSER:-}" ]; then
    exec wasm-bindgen-test-runner "$@"
fi
STARTUP_SECONDS=${WASM_TEST_STARTUP_SECONDS:-45}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for attempt in 1 2 3 4; do
    # Its own process group, so that chromedriver and the browser go with it.
    setsid wasm-bindgen-test-runner "$@" >"$log" 2>&1 </dev/null &
    pid=$!
    waited=0
    started=0
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$started" = 0 ]; then
            if grep -qaE '^Loading Wasm module|^running [0-9]+ tests?$' "$log"; then
                started=1
            elif [ "$waited" -ge "$STARTUP_SECONDS" ]; then
                kill -- -"$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
                sleep 1
                echo "wasm-test-runner: the browser had not loaded the test page after ${STARTUP_SECONDS} s (attempt $attempt of 4): started again"
                continue 2
            fi
        fi
        sleep 1
        waited=$((waited + 1))
    done
    wait "$pid"
    rc=$?
    cat "$log"
    exit "$rc"
done
echo "wasm-test-runner: the browser never loaded the test page (4 attempts of ${STARTUP_SECONDS} s)"
exit 1
