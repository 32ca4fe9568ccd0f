# The whole pipeline into the report: pack a trace, replay it against the mock (with
# reasoning output and injected faults), report the run dir; then cut the records file as
# a crash would and report again.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 20ms --itl 1ms --reasoning-tokens 3 \
    --fault "status=500@every=10" >"$E2E_TMP/mock.log" 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
wait_port "$port"
"$METRONOME" pack -m m --streaming --request-count 60 --isl 50 --osl 20 \
    -o "$E2E_TMP/trace.jsonl.zst" >/dev/null 2>&1 || fail "pack"
"$METRONOME" replay "$E2E_TMP/trace.jsonl.zst" --url "127.0.0.1:$port" --concurrency 4 \
    --warmup-request-count 5 --api-key sk-pipeline-secret -o "$E2E_TMP/run" >/dev/null 2>&1 ||
    fail "replay"
expect_exit 0 "$METRONOME" report "$E2E_TMP/run" -o "$E2E_TMP/out" \
    --fail-on "time_to_first_token.p50<15ms,request_count.avg<50"
j="$E2E_TMP/out/profile_export_aiperf.json"
python3 - "$j" <<'PY' || fail "summary does not match the mock's settings"
import json, sys
j = json.load(open(sys.argv[1]))
ttft = j["time_to_first_token"]
assert 19 <= ttft["p50"] <= 60, ttft
assert j["request_count"]["avg"] == 54, j["request_count"]          # 60 - every 10th failed
assert j["error_request_count"]["avg"] == 6, j["error_request_count"]
assert j["reasoning_token_count"]["avg"] == 3, j["reasoning_token_count"]
assert j["output_sequence_length"]["avg"] == 23, j["output_sequence_length"]  # 20 + 3 reasoning
assert 0.5 <= j["inter_token_latency"]["p50"] <= 5, j["inter_token_latency"]
assert j["warmup_metrics"]["request_count"]["avg"] >= 4, j["warmup_metrics"]
assert j["metronome"]["output_tokens_source"] == "usage"
assert j["error_summary"][0]["error_details"]["code"] == 500
assert j["error_summary"][0]["count"] == 6
PY
grep -rq 'sk-pipeline-secret' "$E2E_TMP/out" "$E2E_TMP/run" && fail "API key reached disk"
# AIPerf 0.13 writes the warmup records too (benchmark_phase "warmup")
[ "$(wc -l <"$E2E_TMP/out/profile_export.jsonl")" = 65 ] || fail "want 65 per-record lines"
[ "$(grep -c '"benchmark_phase":"warmup"' "$E2E_TMP/out/profile_export.jsonl")" = 5 ] ||
    fail "want 5 warmup lines"

# A crash: keep the first 70% of the compressed records (the replay wrote several frames
# only if it ran long enough; either way the report must read what is complete).
size=$(stat -c %s "$E2E_TMP/run/records.jsonl.zst")
head -c $((size * 7 / 10)) "$E2E_TMP/run/records.jsonl.zst" >"$E2E_TMP/cut.zst"
mv "$E2E_TMP/cut.zst" "$E2E_TMP/run/records.jsonl.zst"
set +e
"$METRONOME" report -q "$E2E_TMP/run" -o "$E2E_TMP/out2" >"$E2E_TMP/stdout" 2>"$E2E_TMP/stderr"
rc=$?
set -e
[ "$rc" = 0 ] || [ "$rc" = 3 ] || fail "report of a cut file exited $rc: $(cat "$E2E_TMP/stderr")"
grep -q 'incomplete' "$E2E_TMP/stderr" || fail "cut file not reported as incomplete"
