#!/usr/bin/env bash
# Runs every end-to-end case tests/e2e/test_*.sh against the built binary.
#   tests/e2e/run.sh BINARY [NAME-FILTER]
# Each case is a bash script run with METRONOME (absolute path of the binary), E2E_TMP (a
# fresh scratch directory) and E2E_ROOT (the repository) set; it exits 0 on success. The
# last line is "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
filter=${2:-}
passed=0 failed=0 failures=()
out_root="$root/tests/out"
rm -rf "$out_root" && mkdir -p "$out_root"
for t in "$root"/tests/e2e/test_*.sh; do
    name=$(basename "$t" .sh)
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    tmp="$out_root/$name"
    mkdir -p "$tmp"
    start=$(date +%s.%N)
    if METRONOME="$bin" E2E_TMP="$tmp" E2E_ROOT="$root" timeout 600 bash "$t" >"$tmp/log" 2>&1; then
        passed=$((passed + 1))
        printf 'ok   %-40s %6.1fs\n' "$name" "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')"
        rm -rf "$tmp"
    else
        failed=$((failed + 1))
        failures+=("$name")
        printf 'FAIL %-40s (log: tests/out/%s/log)\n' "$name" "$name"
        tail -n 20 "$tmp/log" | sed 's/^/     | /'
    fi
done
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
