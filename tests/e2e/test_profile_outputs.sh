#!/usr/bin/env bash
# AIPerf 0.13's output options (config/artifacts.py): --profile-export-prefix (alias
# --profile-export-file) names every export after a base (an absolute path's directory and
# one known suffix dropped): BASE.json, BASE.csv, BASE.jsonl, BASE_console.txt,
# BASE_timeslices.{json,csv}, BASE_server_metrics.{json,csv}, the per-phase files too; the
# default names are then not written. Bad values: exit 2, one line, nothing written.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 1ms --itl 100us --osl 8 >/dev/null 2>"$E2E_TMP/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
cd "$E2E_TMP"
run() { # run DIR ARGS...: exit code in $rc
    local dir=$1; shift
    set +e
    "$METRONOME" profile -m m --url "127.0.0.1:$port" --ui none --request-count 4 \
        --artifact-dir "$dir" "$@" >out 2>err
    rc=$?
    set -e
}

run pfx --profile-export-file /elsewhere/dir/foo_raw.jsonl --slice-duration 1 \
    --warmup-request-count 1
[ "$rc" = 0 ] || { cat err >&2; fail "prefix: exit $rc"; }
for f in foo.json foo.csv foo.jsonl foo_console.txt foo_timeslices.json foo_timeslices.csv \
    foo_server_metrics.json foo_server_metrics.csv phases/profiling/foo.json \
    phases/profiling/foo.csv phases/warmup/foo.json .aiperf_results_ready.json; do
    [ -s "pfx/$f" ] || fail "prefix: no pfx/$f"
done
left=$(cd pfx && find . -name 'profile_export*' -o -name 'server_metrics_export*' | sort)
[ -z "$left" ] || fail "prefix: default names still written: $left"
[ ! -e /elsewhere ] || fail "prefix: wrote outside the artifact dir"
python3 -c '
import json
m = json.load(open("pfx/phase_manifest.json"))
assert [p["metrics_json"] for p in m["phases"]] == ["phases/warmup/foo.json", "phases/profiling/foo.json"], m
d = json.load(open("pfx/foo.json"))
assert d["request_count"]["avg"] == 4, d["request_count"]
n = sum(1 for _ in open("pfx/foo.jsonl"))
assert n == 5, n' || fail "prefix: contents"
grep -q "Request Latency" pfx/foo_console.txt || fail "prefix: console capture"

# A sweep reads each run's export under the prefix for its summary.
run sw --profile-export-prefix bar.json --concurrency 1,2 --no-server-metrics
[ "$rc" = 0 ] || { cat err >&2; fail "prefix sweep: exit $rc"; }
[ -s sw/concurrency_2/bar.json ] && [ -s sw/sweep_summary.json ] || fail "prefix sweep: files"
python3 -c '
import json
d = json.load(open("sw/sweep_summary.json"))
p = d["points"]
assert [x["status"] for x in p] == ["ok", "ok"] and all(x["metrics"]["request_throughput_avg"]["n"] == 1 for x in p), p' || fail "prefix sweep: summary"

for bad in "--profile-export-prefix sub/foo" "--profile-export-prefix .json" \
    "--profile-export-file _raw.jsonl"; do
    # shellcheck disable=SC2086
    run bad $bad
    [ "$rc" = 2 ] || fail "$bad: exit $rc"
    [ "$(wc -l <err)" = 1 ] || fail "$bad: not one line: $(cat err)"
    grep -q -- "${bad#* }" err || fail "$bad: value not named: $(cat err)"
    [ ! -e bad ] || fail "$bad: wrote bad/"
done
# --export-outputs-json: outputs.json as AIPerf 0.13 writes it: profiling records only,
# sorted by (session_num, turn_index), six metrics in display units, the generated text
# (replay records it for this); with --export-level summary too (no profile_export.jsonl).
run oj --export-outputs-json --streaming --warmup-request-count 2 --no-server-metrics
[ "$rc" = 0 ] || { cat err >&2; fail "outputs.json: exit $rc"; }
python3 - <<'PY' || fail "outputs.json: contents"
import json, subprocess
d = json.load(open("oj/outputs.json"))
assert list(d) == ["schema_version", "data"] and d["schema_version"] == "1.0", list(d)
rows = d["data"]
assert len(rows) == 4, len(rows)
recs = [json.loads(l) for l in subprocess.run(["zstd", "-dcq", "oj/records.jsonl.zst"],
        capture_output=True, check=True).stdout.splitlines()]
prof = [r for r in recs if r["phase"] == "profile"]
jl = [json.loads(l) for l in open("oj/profile_export.jsonl")]
jl = [x for x in jl if x["metadata"]["benchmark_phase"] == "profiling"]
assert [(x["session_num"], x["turn_index"]) for x in rows] == sorted((x["session_num"], x["turn_index"]) for x in rows)
keys = ["session_num", "conversation_id", "turn_index", "x_request_id", "request_start_ns",
        "request_end_ns", "metrics", "response_text"]
for x, r, j in zip(rows, prof, jl):
    assert list(x) == keys, list(x)
    assert x["response_text"] == r["text"] and x["response_text"], (x["response_text"], r.get("text"))
    m = j["metrics"]
    assert list(x["metrics"]) == ["input_sequence_length", "output_token_count",
                                  "output_sequence_length", "request_latency",
                                  "time_to_first_token", "inter_token_latency"], x["metrics"]
    for k, v in x["metrics"].items():
        assert v == m[k]["value"], (k, v, m[k])
    for k in ("session_num", "conversation_id", "x_request_id", "request_start_ns", "request_end_ns"):
        assert x[k] == j["metadata"][k], (k, x[k], j["metadata"][k])
PY
run ojs --export-outputs-json --export-level summary --no-server-metrics
[ "$rc" = 0 ] || { cat err >&2; fail "outputs.json summary: exit $rc"; }
[ ! -e ojs/profile_export.jsonl ] || fail "summary: wrote profile_export.jsonl"
python3 -c '
import json
d = json.load(open("ojs/outputs.json"))["data"]
assert len(d) == 4 and all(x["metrics"]["request_latency"] > 0 and x["response_text"] for x in d), d' ||
    fail "outputs.json with --export-level summary"
run none --no-server-metrics
[ ! -e none/outputs.json ] || fail "outputs.json written without the option"
run bad --export-outputs-json --profile-export-prefix outputs.json
[ "$rc" = 2 ] && [ "$(wc -l <err)" = 1 ] && grep -q "prefix outputs.json" err && [ ! -e bad ] ||
    fail "prefix colliding with outputs.json: exit $rc: $(cat err)"
# --per-chunk-usage (AIPerf 0.13: inter-token latency divides by OSL minus the server's
# usage.completion_tokens on the first content chunk, asked for with
# continuous_usage_stats): the mock sends 4 tokens per chunk, so the divisor is 12 - 4 = 8,
# where without the option it is 12 - 1 = 11.
port2=$(free_port)
"$METRONOME" mock --port "$port2" --ttft 2ms --itl 1ms --osl 12 --tokens-per-chunk 4 \
    >/dev/null 2>mock2.err &
pid2=$!
trap 'kill $pid $pid2 2>/dev/null || true' EXIT
wait_port "$port2"
for d in pcu pcu0; do
    extra=()
    [ "$d" = pcu ] && extra=(--per-chunk-usage)
    "$METRONOME" profile -m m --url "127.0.0.1:$port2" --ui none --request-count 3 --streaming \
        --use-server-token-count "${extra[@]}" --no-server-metrics --artifact-dir "$d" \
        >out 2>err || { cat err >&2; fail "$d: exit $?"; }
done
zstd -dcq pcu/trace.jsonl.zst | grep -q '"continuous_usage_stats":true' || fail "per-chunk-usage: body"
python3 - <<'PY' || fail "per-chunk-usage: inter_token_latency"
import json
for d, div in (("pcu", 8), ("pcu0", 11)):
    for l in open(d + "/profile_export.jsonl"):
        m = json.loads(l)["metrics"]
        assert m["output_sequence_length"]["value"] == 12, m["output_sequence_length"]
        want = (m["request_latency"]["value"] - m["time_to_first_token"]["value"]) / div
        got = m["inter_token_latency"]["value"]
        assert abs(got - want) < 1e-6 * max(1, want), (d, got, want)
PY
echo ok
