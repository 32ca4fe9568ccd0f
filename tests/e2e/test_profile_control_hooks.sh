#!/usr/bin/env bash
# AIPerf 0.13's control hooks (--reset-kv-cache*, --server-profiler*; docs/tutorials/
# benchmark-control-hooks.md): empty POSTs to each unique --url origin. The mock answers
# vLLM's routes and logs every request with its server-side times, so the order is checked
# on the server's clock: the reset before any inference request (warmup included), the
# profiler start after the last warmup response and before the first profiling request,
# the stop after the last profiling response. Failures: a failed reset or profiler start
# ends the run (nothing more sent), a failed stop is a warning. Bad values: exit 2, one
# line naming the option and value, nothing written.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 1ms --itl 100us --timing-log "$E2E_TMP/tl.jsonl" \
    >/dev/null 2>"$E2E_TMP/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
cd "$E2E_TMP"
tl_mark() { wc -l <tl.jsonl; }
# check FROM-LINE EXPECT...: python checks over the timing-log lines after FROM-LINE
check() {
    sleep 0.3 # the mock flushes its log when idle
    python3 - "$@" <<'PY' || fail "timing log check: $*"
import json, sys
start, mode = int(sys.argv[1]), sys.argv[2]
rows = [json.loads(l) for l in open("tl.jsonl")][start:]
rows = [r for r in rows if r["path"] != "/metrics"]
inf = [r for r in rows if r["path"].startswith("/v1/")]
warm = [r for r in inf if str(r["request_id"]).startswith("w")]
prof = [r for r in inf if not str(r["request_id"]).startswith("w")]
ctl = [r for r in rows if not r["path"].startswith("/v1/")]
paths = [r["path"] for r in ctl]
if mode == "order":
    reset, start_p, stop = sys.argv[3], sys.argv[4], sys.argv[5]
    assert paths == [reset, start_p, stop], paths
    assert all(r["method"] == "POST" for r in ctl)
    assert len(warm) == 3 and len(prof) == 6, (len(warm), len(prof))
    assert ctl[0]["end_ns"] < min(r["head_ns"] for r in inf), "reset after a request"
    assert max(r["end_ns"] for r in warm) < ctl[1]["head_ns"] < min(r["head_ns"] for r in prof)
    assert ctl[2]["head_ns"] > max(r["end_ns"] for r in prof), "stop before the last response"
elif mode == "count":  # N control posts, M inference requests
    assert len(ctl) == int(sys.argv[3]) and len(inf) == int(sys.argv[4]), (paths, len(inf))
PY
}
U=127.0.0.1:$port

# Defaults, as the tutorial's quick start: vLLM's paths.
m=$(tl_mark)
expect_exit 0 "$METRONOME" profile -m m --url "$U" --endpoint-type chat --streaming \
    --warmup-request-count 3 --request-count 6 --reset-kv-cache --server-profiler \
    --no-server-metrics --output-artifact-dir a1
check "$m" order /reset_prefix_cache /start_profile /stop_profile
python3 -c '
import json
j = json.load(open("a1/profile_export_aiperf.json"))
assert j["request_count"]["avg"] == 6, j["request_count"]  # control POSTs are not requests
n = sum(1 for _ in open("a1/profile_export.jsonl"))
assert n == 9, n' || fail "control POSTs counted as requests"

# Paths (SGLang's flush, a query) turn the hooks on by themselves; one POST per origin even
# with the same origin twice (a path-qualified second URL).
m=$(tl_mark)
expect_exit 0 "$METRONOME" profile -m m --url "$U" --url "http://$U/v1" --warmup-request-count 3 \
    --request-count 6 --reset-kv-cache-path '/flush_cache?timeout=30' \
    --server-profiler-start-path /start_profile --server-profiler-timeout-seconds 5 \
    --no-server-metrics --output-artifact-dir a2
check "$m" order '/flush_cache?timeout=30' /start_profile /stop_profile

# A failed reset ends the run before anything is sent.
m=$(tl_mark)
expect_exit 1 "$METRONOME" profile -m m --url "$U" --request-count 4 --reset-kv-cache-path /nope \
    --reset-kv-cache-timeout-seconds 2 --no-server-metrics --output-artifact-dir a3
grep -q "error: --reset-kv-cache: POST http://$U/nope: HTTP 404" "$E2E_TMP/stderr" ||
    fail "reset failure not reported: $(cat "$E2E_TMP/stderr")"
check "$m" count 1 0
[ ! -e a3/records.jsonl.zst ] || fail "records written after a failed reset"

# A failed profiler start: warmup ran, profiling does not begin, the run fails.
m=$(tl_mark)
expect_exit 1 "$METRONOME" profile -m m --url "$U" --warmup-request-count 3 --request-count 6 \
    --server-profiler-start-path /nope --no-server-metrics --output-artifact-dir a4
grep -q "error: --server-profiler start: POST http://$U/nope: HTTP 404" "$E2E_TMP/stderr" ||
    fail "start failure not reported"
check "$m" count 1 3

# A failed stop is a warning; the run and its report are complete.
m=$(tl_mark)
expect_exit 0 "$METRONOME" profile -m m --url "$U" --request-count 6 \
    --server-profiler-stop-path /nope --no-server-metrics --output-artifact-dir a5
grep -q "warning: --server-profiler stop: POST http://$U/nope: HTTP 404" "$E2E_TMP/stderr" ||
    fail "stop failure not a warning"
[ -s a5/profile_export_aiperf.json ] || fail "no report after a failed stop"
check "$m" count 2 6

# Bad values: exit 2, one line naming option and value, nothing written, nothing sent.
m=$(tl_mark)
bad() {
    local want=$1; shift
    expect_exit 2 "$METRONOME" profile -m m --url "$U" --request-count 2 "$@" --output-artifact-dir bad
    [ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "not one line: $(cat "$E2E_TMP/stderr")"
    grep -qF -- "$want" "$E2E_TMP/stderr" || fail "wanted '$want': $(cat "$E2E_TMP/stderr")"
    [ ! -e bad ] || fail "$* wrote bad/"
}
bad "--reset-kv-cache-path: 'http://evil/x' must be a relative path" --reset-kv-cache-path http://evil/x
bad "--reset-kv-cache-path: 'reset' must be a relative path" --reset-kv-cache-path reset
bad "--server-profiler-start-path: '/a://b' must be a relative path" --server-profiler-start-path /a://b
bad "--server-profiler-stop-path: space" --server-profiler-stop-path '/a b'
bad "--reset-kv-cache-timeout-seconds: 0 is out of range" --reset-kv-cache-timeout-seconds 0
bad "--server-profiler-timeout-seconds: expected a number, got 'soon'" --server-profiler-timeout-seconds soon
check "$m" count 0 0
