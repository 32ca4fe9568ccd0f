# Hostile runs (issue 17): what profile, replay and inspect do with failed reports,
# existing run dirs, bad --extra-inputs, corrupt traces, cut records, API keys.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 0 --itl 0 >/dev/null 2>"$E2E_TMP/mock.err" &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
wait_port "$port"
cd "$E2E_TMP"
PROF=("$METRONOME" profile -m m --url "127.0.0.1:$port" --request-count 3 --isl 8 --osl 2 --ui none)

# --- the results-ready marker tells the truth or is absent: a report that fails (an
# export path that is a directory) leaves no marker, and removes an earlier run's.
expect_exit 0 "${PROF[@]}" --output-artifact-dir art
grep -q '"ready":true' art/.aiperf_results_ready.json || fail "marker after a good run"
rm art/profile_export_aiperf.json && mkdir art/profile_export_aiperf.json
expect_exit 1 "${PROF[@]}" --output-artifact-dir art
grep -q "profile_export_aiperf.json: is a directory" "$E2E_TMP/stderr" ||
    fail "report failure message: $(cat "$E2E_TMP/stderr")"
[ ! -e art/.aiperf_results_ready.json ] || fail "results-ready marker after a failed report"
