# inspect on a run directory: validates run.json and every record; a pack -> mock ->
# replay -> inspect round trip sends every request of the trace.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
"$METRONOME" inspect --json "$E2E_ROOT/testdata/report/golden" > golden.json
python3 - golden.json <<'PY' || fail "golden run dir: $(cat golden.json)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["kind"] == "run" and j["complete"] and j["records"] == 4 and j["errors"] == 1, j
assert j["isl"]["min"] == 80 and j["isl"]["max"] == 120, j
PY
# A malformed record names its line.
mkdir bad && cp "$E2E_ROOT/testdata/report/golden/run.json" bad/
sed '2s/"i":[0-9]*/"i":"x"/' "$E2E_ROOT/testdata/report/golden/records.jsonl" > bad/records.jsonl
expect_exit 1 "$METRONOME" inspect bad
grep -q "^metronome: error: bad/records.jsonl:2: " "$E2E_TMP/stderr" || fail "$(cat "$E2E_TMP/stderr")"
mkdir empty
expect_exit 1 "$METRONOME" inspect empty
grep -q "run.json" "$E2E_TMP/stderr" || fail "$(cat "$E2E_TMP/stderr")"

# Round trip through the mock.
"$METRONOME" pack -m metronome-mock --num-conversations 12 --isl 40 --osl 8 --streaming \
    --session-turns-mean 2 -o t.jsonl.zst 2>/dev/null
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 1ms --itl 0 > mock.log 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null' EXIT
wait_port "$port"
"$METRONOME" replay --url "http://127.0.0.1:$port" --concurrency 4 -o run t.jsonl.zst > replay.log 2>&1 ||
    { cat replay.log; fail "replay failed"; }
"$METRONOME" inspect --json run > run.json.out
python3 - run.json.out <<'PY' || fail "round trip: $(cat run.json.out)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["complete"] and j["records"] == 24 and j["errors"] == 0, j
assert j["isl"]["min"] >= 40 and j["output_tokens"]["max"] == 8, j
PY
