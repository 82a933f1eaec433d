#!/usr/bin/env bash
# Runs every test tier, each to the end even if an earlier one failed, keeps each tier's full
# log in target/test-logs/<tier>.log, and ends with one summary line per tier:
#   lint           cargo fmt --check, cargo clippy --all-targets -D warnings natively and for
#                  wasm32, and scripts/check-layers.sh (each of the four is one check)
#   native         cargo test (unit, integration and doc tests, native)
#   node-wasm      the wasm test binaries under wasm-bindgen-test-runner in Node, fake-indexeddb preloaded
#   chromium-wasm  the same binaries in headless Chromium (real IndexedDB; webdriver.json)
#   e2e            the built npm package (tests/node: npm pack + install) and the page in
#                  Chromium driven by playwright-core (tests/e2e)
# Counts are parsed from the runners' own output. A tier fails if a test failed, if its runner
# failed without a test result (build error, crash), or if it ran no tests at all; the script
# then exits non-zero. Run `scripts/setup.sh` first (`make test` does).
. "$(dirname "$0")/lib.sh"

exec 2>&1   # one stream, so the summary really is the last thing printed
LOGS="$ROOT/target/test-logs"
mkdir -p "$LOGS"
export LOGS FAKE_INDEXEDDB="$ROOT/node_modules/fake-indexeddb/auto/index.js"
TIER_TIMEOUT="${TIER_TIMEOUT:-1800}"   # seconds; a hung browser must not eat the CI budget

# These make wasm-bindgen-test-runner skip suites and still exit 0: never inherit them.
unset WASM_BINDGEN_TEST_ONLY_NODE WASM_BINDGEN_TEST_ONLY_WEB WASM_BINDGEN_USE_BROWSER \
      WASM_BINDGEN_USE_DENO WASM_BINDGEN_USE_DEDICATED_WORKER WASM_BINDGEN_USE_SHARED_WORKER \
      WASM_BINDGEN_USE_SERVICE_WORKER WASM_BINDGEN_NO_DEBUG NODE_OPTIONS

declare -A PASSED FAILED
TIERS=()
PROBLEMS=()

# Sums "N passed; M failed" over libtest / wasm-bindgen-test "test result:" lines.
count_cargo() {
    grep -aE '^test result: ' "$1" |
        sed -nE 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/p' |
        awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }'
}

# node --test with the TAP reporter ends with "# pass N", "# fail N", "# cancelled N".
count_tap() {
    awk '/^# pass [0-9]+$/ { p = $3 } /^# (fail|cancelled) [0-9]+$/ { f += $3 } END { print p + 0, f + 0 }' "$1"
}

# The lint tier ends with "lint: N passed, M failed" (checks, not tests).
count_lint() {
    sed -nE 's/^lint: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$1" | tail -n 1 | awk '{ print $1 + 0, $2 + 0 } END { if (NR == 0) print 0, 0 }'
}

# record TIER RC LOG COUNTER: parses the counts and decides whether the tier failed.
record() {
    local tier=$1 rc=$2 log=$3 counter=$4 passed failed why=""
    read -r passed failed < <("$counter" "$log")
    if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1   # the runner failed outside any test (build error, crash, timeout)
        why="runner exited with status $rc without a failed test (build error or crash?)"
    elif [ "$failed" -gt 0 ]; then
        why="$failed test(s) failed"
    elif [ "$passed" -eq 0 ]; then
        why="ran no tests"
    fi
    TIERS+=("$tier"); PASSED[$tier]=$passed; FAILED[$tier]=$failed
    if [ -n "$why" ]; then
        PROBLEMS+=("$tier: $why (log: ${log#"$ROOT"/})")
        say "---- $tier FAILED: $why; last lines of ${log#"$ROOT"/}:"
        tail -n 40 "$log" >&2
        say "----"
    else
        say "   ok: $passed passed"
    fi
}

# tier NAME COUNTER FUNCTION: runs one tier (a function below) with its output in its log.
tier() {
    local name=$1 counter=$2 fn=$3 rc=0
    local log="$LOGS/$name.log"
    say "== $name (log: ${log#"$ROOT"/})"
    export -f "$fn"
    timeout "$TIER_TIMEOUT" bash -c "$fn" >"$log" 2>&1 </dev/null || rc=$?
    record "$name" "$rc" "$log" "$counter"
}

lint() {
    local passed=0 failed=0
    check() {
        local name=$1
        shift
        echo "---- lint check: $name ($*)"
        if "$@"; then
            passed=$((passed + 1))
        else
            echo "---- lint check FAILED: $name"
            failed=$((failed + 1))
        fi
    }
    check "rustfmt" cargo fmt --check
    check "clippy native" cargo clippy --all-targets -- -D warnings
    check "clippy wasm32" cargo clippy --all-targets --target wasm32-unknown-unknown -- -D warnings
    check "layers" bash scripts/check-layers.sh
    echo "lint: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

native() { cargo test --no-fail-fast; }

node_wasm() {
    NODE_OPTIONS="--require=$FAKE_INDEXEDDB" cargo test --target wasm32-unknown-unknown --tests --no-fail-fast
}

chromium_wasm() {
    local rc=0
    # WASM_BINDGEN_TEST_TIMEOUT bounds one test binary's whole run in the browser. Every binary but
    # the malformed-upload corpus (hundreds of imports into real IndexedDB) gets a short one, so a
    # hang is caught in minutes; the corpus then runs alone with 600 s.
    local corpus_tests=(every_malformed_upload_is_refused_with_its_code_and_changes_nothing
        uploads_that_explode_when_walked_are_refused_or_answered)
    local skip=()
    for t in "${corpus_tests[@]}"; do skip+=(--skip "$t"); done
    WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=120 \
        cargo test --target wasm32-unknown-unknown --tests --no-fail-fast -- "${skip[@]}" || rc=$?
    WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=600 \
        cargo test --target wasm32-unknown-unknown --test wasm_malformed_corpus --no-fail-fast || rc=$?
    # Guard against a silent fallback to Node: every suite that ran must have run in Chrome.
    local suites browser
    suites=$(grep -acE '^running [0-9]+ tests?$' "$LOGS/chromium-wasm.log" || true)
    browser=$(grep -acE '^Running headless tests in Chrome' "$LOGS/chromium-wasm.log" || true)
    if [ "$suites" -gt 0 ] && [ "$browser" -lt "$suites" ]; then
        echo "only $browser of $suites suites ran in headless Chrome"
        return 1
    fi
    return $rc
}

e2e() {
    scripts/build.sh || { echo "make build failed: no package to test"; return 1; }
    bash scripts/sample.sh || { echo "the sample store could not be generated"; return 1; }
    node --test --test-reporter=tap tests/node/*.test.mjs tests/e2e/*.test.mjs
}

tier lint count_lint lint
tier native count_cargo native
tier node-wasm count_cargo node_wasm
tier chromium-wasm count_cargo chromium_wasm
tier e2e count_tap e2e

if [ ${#PROBLEMS[@]} -gt 0 ]; then
    say ""
    for p in "${PROBLEMS[@]}"; do say "FAILED $p"; done
fi
echo ""
for t in "${TIERS[@]}"; do
    echo "$t: ${PASSED[$t]} passed, ${FAILED[$t]} failed"
done
[ ${#PROBLEMS[@]} -eq 0 ]
