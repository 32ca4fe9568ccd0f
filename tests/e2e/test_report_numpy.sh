# Every statistic of `metronome report` against numpy on random records (AIPerf's
# definitions re-derived in Python): exact equality for request-level values, the
# histogram bound for chunk-level ones. numpy comes from PyPI into a git-ignored venv.
. "$E2E_ROOT/tests/e2e/lib.sh"
venv="$E2E_ROOT/bench/out/venv"
if ! "$venv/bin/python" -c 'import numpy' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q numpy
fi
for seed in 1 2; do
    run="$E2E_TMP/run$seed"
    mkdir -p "$run"
    "$venv/bin/python" "$E2E_ROOT/tests/e2e/report_numpy.py" gen "$run" $((seed * 9000)) "$seed"
    [ "$seed" = 2 ] && zstd -q --rm "$run/records.jsonl"
    expect_exit 0 "$METRONOME" report -q --exports json "$run" -o "$E2E_TMP/out$seed"
    [ "$seed" = 2 ] && zstd -dq "$run/records.jsonl.zst"
    "$venv/bin/python" "$E2E_ROOT/tests/e2e/report_numpy.py" check "$run" "$E2E_TMP/out$seed" ||
        fail "statistics differ from numpy (seed $seed)"
done
