#!/usr/bin/env bash
# AIPerf options beyond the tutorials that docs/aiperf-compatibility.md calls supported:
# each run against the mock must do what the option says, visibly in the artifacts.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 1ms --itl 100us --osl 8 >/dev/null 2>"$E2E_TMP/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
cd "$E2E_TMP"
p() { # p DIR ARGS...: a run into artifacts/DIR (given explicitly); exit code kept in $rc
    local dir=$1; shift
    local model=(-m m)
    [[ " $* " == *" -m "* ]] && model=()
    set +e
    "$METRONOME" profile "${model[@]}" --url "127.0.0.1:$port" --ui none --artifact-dir "runs/$dir" "$@" \
        >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    rc=$?
    set -e
}
ok() { [ "$rc" = 0 ] || { cat "$E2E_TMP/err" >&2; fail "exit $rc: $*"; }; }
j() { python3 -c "import json,sys; d=json.load(open('runs/$1/profile_export_aiperf.json')); $2" ||
    fail "$1: $2"; }

p dur --benchmark-duration 2 --benchmark-grace-period 1 --slice-duration 1 --concurrency 4 --streaming
ok duration
[ -s runs/dur/profile_export_aiperf_timeslices.json ] || fail "no timeslices"
j dur 'assert 1.5 < d["benchmark_duration"]["avg"] / (1e3 if d["benchmark_duration"]["unit"] == "ms" else 1) < 4, d["benchmark_duration"]'

# Multi-turn: synthetic sessions are packed with their turns and delays...
p turns --conversation-turn-mean 3 --conversation-turn-delay-mean 50 --num-conversations 5 \
    --request-count 15 --streaming
ok turns
zstd -dcq runs/turns/trace.jsonl.zst | grep '"turn":2' >/dev/null || fail "no third turns in the trace"
# --conversation-num sends every turn of every conversation (AIPerf 0.13: 10 x 3 = 30
# requests at --concurrency 2, where the default count used to cut it to 10 over 4
# sessions); with --request-count too, the first limit reached ends it.
p convs --conversation-num 10 --conversation-turn-mean 3 --concurrency 2 --streaming
ok conversation-num
j convs 'assert d["request_count"]["avg"] == 30, d["request_count"]'
[ "$(zstd -dcq runs/convs/records.jsonl.zst | grep -o '"conv":"[^"]*"' | sort -u | wc -l)" = 10 ] ||
    fail "conversation-num: 10 sessions"
p convs12 --conversation-num 10 --conversation-turn-mean 3 --request-count 12
ok conversation-num with request-count
j convs12 'assert d["request_count"]["avg"] == 12, d["request_count"]'
p convs60 --conversation-num 4 --conversation-turn-mean 3 --request-count 60
ok conversation-num reached first
j convs60 'assert d["request_count"]["avg"] == 12, d["request_count"]'
# ... over --num-dataset-entries unique ones: 6 conversations drawn in order from 2 (what
# AIPerf 0.13 sent for --conversation-num 6 --num-dataset-entries 2: 6 requests, 2 prompts)
p convpool --conversation-num 6 --num-dataset-entries 2 --concurrency 1
ok conversation-num with num-dataset-entries
j convpool 'assert d["request_count"]["avg"] == 6, d["request_count"]'
[ "$(python3 -c "import json; d = json.load(open('runs/convpool/inputs.json'))['data']
print(len(d), len({json.dumps(e['payloads']) for e in d}))")" = "6 2" ] ||
    fail "conversation-num 6 over num-dataset-entries 2: not 6 sessions of 2 prompts"
# With a duration too, the conversations are sent once, not started over until it ends.
p convsdur --conversation-num 3 --conversation-turn-mean 2 --benchmark-duration 2
ok conversation-num with a duration
j convsdur 'assert d["request_count"]["avg"] == 6, d["request_count"]'
# ...and a multi_turn file is replayed whole, every turn after the previous one.
cat >mt.jsonl <<'JSONL'
{"session_id": "a", "turns": [{"text": "hello"}, {"text": "and then?", "delay": 20}, {"text": "bye"}]}
{"session_id": "b", "turns": [{"text": "hi"}, {"text": "more", "delay": 10}, {"text": "end"}]}
JSONL
p mt --input-file mt.jsonl --custom-dataset-type multi_turn --streaming
ok multi_turn
[ "$(zstd -dcq runs/mt/records.jsonl.zst | grep -c '"turn":2')" = 2 ] || fail "multi_turn: third turns"
j mt 'assert d["request_count"]["avg"] == 6, d["request_count"]' 

p prefix --num-prefix-prompts 3 --prefix-prompt-length 20 --request-count 6
ok prefix

p emb --batch-size 2 --endpoint-type embeddings --request-count 4
ok embeddings
j emb 'assert "time_to_first_token" not in d and d["request_count"]["avg"] == 4'
grep -q '"input":\[' runs/emb/inputs.json || fail "embeddings payload"

for ep in completions responses; do
    p "$ep" --endpoint-type "$ep" --request-count 4 --streaming
    ok "$ep"
    j "$ep" 'assert d["time_to_first_token"]["count"] == 4'
done

p models -m a,b --model-selection-strategy random --request-count 16
ok models
grep -q '"model":"a"' runs/models/inputs.json && grep -q '"model":"b"' runs/models/inputs.json ||
    fail "both models expected in the payloads"

p extra --extra-inputs ignore_eos:true --extra-inputs '{"temperature":0.5}' --request-count 2
ok extra-inputs
grep -q '"ignore_eos":true' runs/extra/inputs.json && grep -q '"temperature":0.5' runs/extra/inputs.json ||
    fail "extra inputs not in the payloads"

p gamma --request-rate 50 --arrival-pattern gamma --arrival-smoothness 0.5 --request-count 20
ok gamma
grep -q '"mode":"request_rate"\|"mode": "request_rate"' runs/gamma/run.json || fail "rate mode"

p summary --warmup-request-count 3 --request-count 3 --export-level summary
ok summary
[ ! -e runs/summary/profile_export.jsonl ] || fail "--export-level summary wrote records"
j summary 'assert d["request_count"]["avg"] == 3'

p verdict --fail-on "request_latency.p99>1ms" --request-count 3
[ "$rc" = 3 ] || fail "--fail-on: exit $rc, wanted 3"
echo ok
