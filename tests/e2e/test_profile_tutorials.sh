#!/usr/bin/env bash
# Command lines copied from AIPerf's own tutorials (ai-dynamo/aiperf docs/tutorials/*.md:
# openai-text-endpoints, request-rate-concurrency, fixed-schedule, goodput,
# request-cancellation), with `aiperf` replaced by `metronome` and localhost:8000 by the
# mock's free port. Each must produce AIPerf's artifact layout in AIPerf 0.13's directory
# (artifacts/<model>-openai-<type>-<stimulus>) with the request count the tutorial asks for.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 1ms --itl 100us --model Qwen/Qwen3-0.6B \
    >/dev/null 2>"$E2E_TMP/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
cd "$E2E_TMP"

# check_run DIR MIN MAX: every file of the layout, and MIN <= completed + failed <= MAX.
check_run() {
    local dir=artifacts/$1
    for f in profile_export_aiperf.json profile_export_aiperf.csv profile_export.jsonl inputs.json \
        profile_export_console.txt .aiperf_results_ready.json \
        logs/aiperf.log trace.jsonl.zst run.json records.jsonl.zst report.html; do
        [ -s "$dir/$f" ] || fail "$dir/$f missing after: $last"
    done
    zstd -tq "$dir/trace.jsonl.zst" "$dir/records.jsonl.zst" || fail "zstd -t $dir"
    python3 - "$dir" "$2" "$3" <<'PY' || fail "$dir: counts ($last)"
import json, sys
d, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
j = json.load(open(d + "/profile_export_aiperf.json"))
for k in ("input_config", "error_summary", "start_time", "end_time", "was_cancelled",
          "request_latency", "request_throughput", "request_count"):
    assert k in j, k
ok = j["request_count"]["avg"]
err = j.get("error_request_count", {}).get("avg", 0)
# AIPerf 0.13 writes the warmup records too; the profiling ones are the counted ones
lines = sum(1 for l in open(d + "/profile_export.jsonl")
            if json.loads(l)["metadata"]["benchmark_phase"] == "profiling")
assert lo <= ok + err <= hi, (ok, err, lo, hi)
assert lines == ok + err, (lines, ok, err)
inp = json.load(open(d + "/inputs.json"))["data"]
assert inp and all(e["session_id"] and e["payloads"] for e in inp), "inputs.json"
assert json.load(open(d + "/.aiperf_results_ready.json"))["ready"] is True
PY
}
run() {
    last="$*"
    "$@" --ui none >"$E2E_TMP/out" 2>"$E2E_TMP/err" || { cat "$E2E_TMP/err" >&2; fail "exit $?: $last"; }
}
U=localhost:$port

# openai-text-endpoints.md: chat and completions, synthetic and single_turn files.
run "$METRONOME" profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --endpoint /v1/chat/completions \
    --streaming \
    --synthetic-input-tokens-mean 100 \
    --synthetic-input-tokens-stddev 0 \
    --output-tokens-mean 200 \
    --output-tokens-stddev 0 \
    --url $U \
    --request-count 20
check_run Qwen_Qwen3-0.6B-openai-chat-concurrency1 20 20
grep -q "Time to First Token" "$E2E_TMP/out" || fail "no console table"
python3 -c '
import json,sys
j=json.load(open("artifacts/Qwen_Qwen3-0.6B-openai-chat-concurrency1/profile_export_aiperf.json"))
assert j["output_sequence_length"]["avg"] == 200, j["output_sequence_length"]
assert j["error_request_count"]["avg"] == 0 if "error_request_count" in j else True
' || fail "OSL 200 not honoured"

printf '{"texts": ["Hello!"]}\n{"texts": ["Tell me a joke."]}\n' >inputs.jsonl
run "$METRONOME" profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --endpoint /v1/chat/completions \
    --streaming \
    --input-file inputs.jsonl \
    --custom-dataset-type single_turn \
    --url $U \
    --request-count 10
check_run Qwen_Qwen3-0.6B-openai-chat-concurrency1 10 10

run "$METRONOME" profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type completions \
    --endpoint /v1/completions \
    --synthetic-input-tokens-mean 64 \
    --synthetic-input-tokens-stddev 4 \
    --output-tokens-mean 128 \
    --output-tokens-stddev 4 \
    --url $U \
    --request-count 32
check_run Qwen_Qwen3-0.6B-openai-completions-concurrency1 32 32

printf '{"texts": ["How are you?"]}\n{"texts": ["Give me a poem."]}\n' >inputs.jsonl
run "$METRONOME" profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type completions \
    --endpoint /v1/completions \
    --input-file inputs.jsonl \
    --custom-dataset-type single_turn \
    --url $U \
    --request-count 10
check_run Qwen_Qwen3-0.6B-openai-completions-concurrency1 10 10

# request-rate-concurrency.md: a rate with a concurrency cap, poisson and constant.
run "$METRONOME" profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --endpoint /v1/chat/completions \
    --streaming \
    --url $U \
    --concurrency 100 \
    --request-rate 200 \
    --request-rate-mode poisson \
    --random-seed 42 \
    --request-count 500 \
    --synthetic-input-tokens-mean 500 \
    --output-tokens-mean 200
check_run Qwen_Qwen3-0.6B-openai-chat-concurrency100-request_rate200.0 500 500

run "$METRONOME" profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --endpoint /v1/chat/completions \
    --streaming \
    --url $U \
    --concurrency 50 \
    --request-rate 50 \
    --request-rate-mode constant \
    --request-count 300 \
    --synthetic-input-tokens-mean 800 \
    --output-tokens-mean 400
check_run Qwen_Qwen3-0.6B-openai-chat-concurrency50-request_rate50.0 300 300

# fixed-schedule.md: the whole schedule with auto-offset, then a window of it.
cat > precise_schedule.jsonl << 'JSONL'
{"timestamp": 0, "input_length": 100, "hash_ids": [3001]}
{"timestamp": 500, "input_length": 200, "hash_ids": [3002]}
{"timestamp": 750, "input_length": 150, "hash_ids": [3003]}
{"timestamp": 1000, "input_length": 300, "hash_ids": [3004]}
{"timestamp": 1250, "input_length": 180, "hash_ids": [3005]}
{"timestamp": 2000, "input_length": 400, "hash_ids": [3006]}
{"timestamp": 2500, "input_length": 250, "hash_ids": [3007]}
{"timestamp": 3000, "input_length": 350, "hash_ids": [3008]}
{"timestamp": 4000, "input_length": 500, "hash_ids": [3009]}
{"timestamp": 5000, "input_length": 600, "hash_ids": [3010, 3050]}
JSONL
run "$METRONOME" profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --endpoint /v1/chat/completions \
    --streaming \
    --url $U \
    --input-file precise_schedule.jsonl \
    --custom-dataset-type mooncake_trace \
    --fixed-schedule \
    --fixed-schedule-auto-offset
check_run Qwen_Qwen3-0.6B-openai-chat-fixed_schedule 10 10

run "$METRONOME" profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --endpoint /v1/chat/completions \
    --streaming \
    --url $U \
    --input-file precise_schedule.jsonl \
    --custom-dataset-type mooncake_trace \
    --fixed-schedule \
    --fixed-schedule-start-offset 2000 \
    --fixed-schedule-end-offset 4000
check_run Qwen_Qwen3-0.6B-openai-chat-fixed_schedule 2 4

# goodput.md
run "$METRONOME" profile \
    -m Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --streaming \
    --url $U \
    --request-count 20 \
    --goodput "time_to_first_token:100 inter_token_latency:3.40"
check_run Qwen_Qwen3-0.6B-openai-chat-concurrency1 20 20
grep -q '"goodput"' artifacts/Qwen_Qwen3-0.6B-openai-chat-concurrency1/profile_export_aiperf.json ||
    fail "no goodput in the export"

# request-cancellation.md: 10 % after 0.5 s with a warmup, then 30 % immediately.
run "$METRONOME" profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --endpoint /v1/chat/completions \
    --streaming \
    --url $U \
    --request-cancellation-rate 10 \
    --request-cancellation-delay 0.5 \
    --synthetic-input-tokens-mean 800 \
    --synthetic-input-tokens-stddev 80 \
    --output-tokens-mean 400 \
    --output-tokens-stddev 40 \
    --concurrency 8 \
    --request-count 50 \
    --warmup-request-count 5
check_run Qwen_Qwen3-0.6B-openai-chat-concurrency8 50 50

run "$METRONOME" profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --endpoint /v1/chat/completions \
    --streaming \
    --url $U \
    --request-cancellation-rate 30 \
    --request-cancellation-delay 0.0 \
    --synthetic-input-tokens-mean 500 \
    --output-tokens-mean 100 \
    --concurrency 15 \
    --request-count 60
check_run Qwen_Qwen3-0.6B-openai-chat-concurrency15 60 60
python3 -c '
import json
j=json.load(open("artifacts/Qwen_Qwen3-0.6B-openai-chat-concurrency15/profile_export_aiperf.json"))
err=j.get("error_request_count",{}).get("avg",0)
assert 5 <= err <= 35, err   # about 30 % of 60 cancelled
' || fail "30 % cancellation not visible as errors"
# Secrets never reach the artifact directory, compressed or not.
run "$METRONOME" profile -m Qwen/Qwen3-0.6B --url $U --request-count 3 --api-key sk-e2e-SECRET \
    -H "X-Api-Token: hdr-e2e-SECRET" --artifact-dir secret-run
for f in $(find secret-run -type f); do
    case $f in *.zst) zstd -dcq "$f" ;; *) cat "$f" ;; esac | grep -q "e2e-SECRET" && fail "secret in $f"
done
# Ctrl-C: the partial run is still reported (AIPerf's "cancelled early"), exit code 130.
"$METRONOME" profile -m Qwen/Qwen3-0.6B --url $U --request-count 5000 --concurrency 2 --ui none \
    --artifact-dir int-run >"$E2E_TMP/int.out" 2>"$E2E_TMP/int.err" &
ppid=$!
sleep 1.5
kill -INT $ppid
set +e; wait $ppid; rc=$?; set -e
[ $rc = 130 ] || fail "SIGINT: exit $rc"
grep -q "cancelled early" "$E2E_TMP/int.err" || fail "no cancelled warning"
python3 -c '
import json
j = json.load(open("int-run/profile_export_aiperf.json"))
assert j["was_cancelled"] is True and 0 < j["request_count"]["avg"] < 5000, j["request_count"]
assert json.load(open("int-run/.aiperf_results_ready.json"))["was_cancelled"] is True
' || fail "SIGINT: partial results"
echo "11 tutorial command lines ok"
