# baseten_trace (AIPerf 0.13's Baseten loader, Arrow IPC) and its replay options: the
# trace must say when each request goes, as AIPerf's definitions give it. The expected
# times below are worked by hand from testdata/baseten/make.py's rows (offsets in ms from
# the first row; session a: 0, 1000, 20000 with recorded e2e 400, 500, 100; b: 250, 5000
# with e2e 300, 200; rows 4 and 7 have no session: 1200, 21000; c: 21500) and were
# checked against AIPerf 0.13 itself run on the same file (docs/datasets-baseten.md).
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
B="$E2E_ROOT/testdata/baseten"
pk() { # pk OUT ARGS...: packs sessions.arrow (or what ARGS name) and dumps the lines
    local out=$1; shift
    expect_exit 0 "$METRONOME" pack -m m -o "$out.zst" "$@"
    zstd -dcq "$out.zst" | tail -n +2 >"$out.jsonl"
}
check() { # check OUT PYTHON-EXPECTATION: {session: [(turn, t_ms or None, delay_ms or None)]}
    python3 - "$1.jsonl" "$2" <<'PY' || fail "$1: schedule differs"
import json, sys
got = {}
for l in open(sys.argv[1]):
    q = json.loads(l)
    if "session" not in q:
        continue
    got.setdefault(q["session"], []).append((q["turn"], q.get("t_ms"), q.get("delay_ms")))
want = eval(sys.argv[2])
if got != want:
    print("got ", got, "\nwant", want, file=sys.stderr)
    sys.exit(1)
PY
}
S="--custom-dataset-type baseten_trace --input-file $B/sessions.arrow"

# open loop (the default): every turn keeps its own time
pk open $S
check open '{"a":[(0,0.0,None),(1,1000.0,None),(2,20000.0,None)],"b":[(0,250.0,None),(1,5000.0,None)],
 "row-4":[(0,1200.0,None)],"row-7":[(0,21000.0,None)],"c":[(0,21500.0,None)]}'
# the body is the recorded row: prompt as sent, max tokens, min_tokens and the KV hints
python3 - <<'PY' || fail "open: bodies"
import json
L = [json.loads(l) for l in open("open.jsonl")]
a0 = [q for q in L if q.get("session") == "a" and q["turn"] == 0][0]
b = a0["body"]
assert b["messages"] == [{"role": "user", "content": "row 1 of session a"}], b
assert (b["max_completion_tokens"], b["min_tokens"], b["hash_ids"], b["block_size"]) == (5, 5, [1, 2], 16), b
b1 = [q for q in L if q.get("session") == "b" and q["turn"] == 1][0]["body"]
assert "hash_ids" not in b1 and b1["min_tokens"] == 7, b1          # null total_hashes
b0 = [q for q in L if q.get("session") == "b" and q["turn"] == 0][0]["body"]
assert b0["max_completion_tokens"] == 1 and b0["min_tokens"] == 1, b0  # output_tokens 0 -> 1
assert all("history" not in q for q in L), "later turns carry only their recorded prompt"
PY
# .arrow input without --custom-dataset-type is read as baseten_trace, as AIPerf infers it
pk inferred --input-file "$B/sessions.arrow"
cmp open.jsonl inferred.jsonl || fail "an .arrow input is not read as baseten_trace"

# --omit-kv-hints drops the KV hints, --no-force-min-tokens min_tokens; then an
# --extra-inputs key of the same name is the user's (refused while the loader sets it)
pk nohints $S --omit-kv-hints --no-force-min-tokens --extra-inputs min_tokens:3
python3 - <<'PY' || fail "--omit-kv-hints / --no-force-min-tokens"
import json
for l in open("nohints.jsonl"):
    b = json.loads(l)["body"]
    assert "hash_ids" not in b and "block_size" not in b and b["min_tokens"] == 3, b
PY
pk hints $S --omit-kv-hints --extra-inputs hash_ids:7
python3 - <<'PY' || fail "--omit-kv-hints: the user's hash_ids"
import json
b = json.loads(open("hints.jsonl").readline())["body"]
assert b["hash_ids"] == 7 and b["min_tokens"] == 5 and "block_size" not in b, b
PY

# --max-idle-gap-cap-seconds 3 (open loop): gaps over all rows 250 750 200 3800 15000 1000
# 500 become 250 750 200 3000 3000 1000 500
pk gap $S --max-idle-gap-cap-seconds 3
check gap '{"a":[(0,0.0,None),(1,1000.0,None),(2,7200.0,None)],"b":[(0,250.0,None),(1,4200.0,None)],
 "row-4":[(0,1200.0,None)],"row-7":[(0,8200.0,None)],"c":[(0,8700.0,None)]}'

# --replay-speedup 4: times divided by 4, fractions kept
pk fast $S --replay-speedup 4
check fast '{"a":[(0,0.0,None),(1,250.0,None),(2,5000.0,None)],"b":[(0,62.5,None),(1,1250.0,None)],
 "row-4":[(0,300.0,None)],"row-7":[(0,5250.0,None)],"c":[(0,5375.0,None)]}'

# --open-loop-strict: every row its own single-turn session at its own time
pk strict $S --open-loop-strict
check strict '{"a#0":[(0,0.0,None)],"a#1":[(0,1000.0,None)],"a#2":[(0,20000.0,None)],"b#0":[(0,250.0,None)],
 "b#1":[(0,5000.0,None)],"row-4#0":[(0,1200.0,None)],"row-7#0":[(0,21000.0,None)],"c#0":[(0,21500.0,None)]}'

# --no-open-loop-replay with --replay-speedup 2, --inter-turn-delay-cap-seconds 2.3 and
# --max-idle-gap-cap-seconds 3: times halved (a 0 500 10000, b 125 2500, rows 600 10500,
# c 10750); later turns wait the start-to-start gap minus the previous turn's e2e/2 (a:
# 500-200=300, 9500-250=9250 capped to 2300; b: 2375-150=2225); then the session starts
# 0 125 600 10500 10750 are reflowed (gap 9900 -> 3000)
pk closed $S --no-open-loop-replay --replay-speedup 2 --inter-turn-delay-cap-seconds 2.3 \
    --max-idle-gap-cap-seconds 3
check closed '{"a":[(0,0.0,None),(1,None,300.0),(2,None,2300.0)],"b":[(0,125.0,None),(1,None,2225.0)],
 "row-4":[(0,600.0,None)],"row-7":[(0,3600.0,None)],"c":[(0,3850.0,None)]}'

# --trace-session-sample-ratio: whole sessions, seeded; 1 keeps all; a tiny ratio keeps one
pk s1 $S --trace-session-sample-ratio 1
cmp open.jsonl s1.jsonl || fail "ratio 1 changed the trace"
for seed in 1 2 3 4 5; do
    pk "half$seed" $S --trace-session-sample-ratio 0.5 --random-seed "$seed"
    pk "halfb$seed" $S --trace-session-sample-ratio 0.5 --random-seed "$seed"
    cmp "half$seed.jsonl" "halfb$seed.jsonl" || fail "sampling not deterministic"
    python3 - "half$seed.jsonl" <<'PY' || fail "sampling split a session"
import json, sys
n = {}
for l in open(sys.argv[1]):
    q = json.loads(l)
    n[q["session"]] = n.get(q["session"], 0) + 1
full = {"a": 3, "b": 2, "c": 1}
assert all(n[s] == full[s] for s in n if s in full), n
PY
done
pk tiny $S --trace-session-sample-ratio 0.000001
[ "$(grep -cv '"session":"row-' tiny.jsonl)" -ge 1 ] || fail "a tiny ratio kept no session"

# no session column, unsigned and large-string columns, rows out of order
pk rows --input-file "$B/rows.arrow"
check rows '{"row-2":[(0,0.0,None)],"row-3":[(0,10.0,None)],"row-1":[(0,40.0,None)]}'
grep -q '"content":"first".*"max_completion_tokens":10' rows.jsonl || fail "rows: body"

# --inter-turn-delay-cap-seconds caps authored delays of mooncake and multi_turn too
printf '%s\n' '{"session_id":"s","timestamp":0,"input_length":5}' \
    '{"session_id":"s","delay":5000,"input_length":5}' '{"session_id":"s","delay":500,"input_length":5}' >mc.jsonl
pk mc --input-file mc.jsonl --inter-turn-delay-cap-seconds 1
check mc '{"s":[(0,0.0,None),(1,None,1000.0),(2,None,500.0)]}'
printf '%s\n' '{"session_id":"s","turns":[{"text":"x"},{"text":"y","delay":4000}]}' >mt.jsonl
pk mt --custom-dataset-type multi_turn --input-file mt.jsonl --inter-turn-delay-cap-seconds 0
check mt '{"s":[(0,None,None),(1,None,0.0)]}'

# bad input: one line naming the file, row and field; nothing written
bad() { # bad EXIT REGEX ARGS...
    local code=$1 want=$2; shift 2
    expect_exit "$code" "$METRONOME" pack -m m -o out.zst "$@"
    [ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "more than one line: $(cat "$E2E_TMP/stderr")"
    grep -Eq "^metronome: error: $want" "$E2E_TMP/stderr" ||
        fail "stderr '$(cat "$E2E_TMP/stderr")' does not match '$want'"
    [ -z "$(ls | grep -E '^out\.zst')" ] || fail "output left behind: $(ls)"
}
bad 1 ".*bad_osl.arrow:3: field 'output_tokens': must be an integer >= 0" --input-file "$B/bad_osl.arrow"
bad 1 ".*no_prompt.arrow: baseten_trace: column 'prompt' is required" --input-file "$B/no_prompt.arrow"
head -c 1000 "$B/sessions.arrow" >cut.arrow
bad 1 "cut.arrow: not a valid Arrow IPC file" --input-file cut.arrow
printf 'PAR1xxxxPAR1' >t.parquet
bad 1 "t.parquet: baseten_trace: Parquet is not supported yet" --input-file t.parquet
bad 2 "--replay-speedup is only supported by the baseten_trace loader" --input-file mc.jsonl --replay-speedup 2
bad 2 "--open-loop-strict is only supported by the baseten_trace loader" --input-file mc.jsonl --open-loop-strict
bad 2 "--replay-speedup: must be > 0" $S --replay-speedup 0
bad 2 "--trace-session-sample-ratio" $S --trace-session-sample-ratio 1.5
bad 2 "--max-idle-gap-cap-seconds: must be > 0" $S --max-idle-gap-cap-seconds 0
bad 2 "--inter-turn-delay-cap-seconds" $S --inter-turn-delay-cap-seconds -1
bad 2 "--extra-inputs min_tokens is overwritten per-turn" $S --extra-inputs min_tokens:3
bad 2 "--extra-inputs hash_ids is overwritten per-turn.*--omit-kv-hints" $S --extra-inputs hash_ids:3
bad 2 "--omit-kv-hints is only supported by the baseten_trace loader" --input-file mc.jsonl --omit-kv-hints
bad 2 "--force-min-tokens is only supported by the baseten_trace loader" --input-file mc.jsonl --no-force-min-tokens
bad 2 "--synthesis-speedup-ratio is not supported with --custom-dataset-type baseten_trace" $S \
    --synthesis-speedup-ratio 2

# replay: the fixed schedule sends open-loop later turns at max(own time, previous reply)
# and closed-loop ones a think time after the previous reply (checked on the records'
# intended times, which do not depend on how fast this machine is)
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 100ms >/dev/null 2>mock.err &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
wait_port "$port"
pk ofast $S --replay-speedup 20
expect_exit 0 "$METRONOME" replay ofast.zst --url "127.0.0.1:$port" -q -o ro
pk cfast $S --replay-speedup 20 --no-open-loop-replay
expect_exit 0 "$METRONOME" replay cfast.zst --url "127.0.0.1:$port" -q -o rc
# profile takes AIPerf's spelling of both options and packs with them
expect_exit 0 "$METRONOME" profile -m m --url "127.0.0.1:$port" $S --replay-speedup 50 \
    --omit-kv-hints --no-force-min-tokens --artifact-dir prof --ui none --no-server-metrics
zstd -dcq prof/trace.jsonl.zst | tail -n +2 | python3 -c '
import json, sys
B = [json.loads(l)["body"] for l in sys.stdin]
assert len(B) == 8 and all("hash_ids" not in b and "min_tokens" not in b for b in B), B
' || fail "profile --omit-kv-hints --no-force-min-tokens"
kill $mock && wait $mock 2>/dev/null || true
trap - EXIT
python3 - <<'PY' || fail "replay send times"
import json, subprocess
def recs(d):
    out = subprocess.run(["zstd", "-dcq", d + "/records.jsonl.zst"], capture_output=True,
                         check=True, text=True).stdout.splitlines()
    return [json.loads(l) for l in out if l.strip()]
def trace(f):
    return [json.loads(l) for l in open(f)]
for d, f in (("ro", "ofast.jsonl"), ("rc", "cfast.jsonl")):
    R = recs(d)
    assert len(R) == 8 and all(r["status"] == 200 for r in R), d
    by = {(r["conv"], r["turn"]): r for r in R}
    T = {(q["session"], q["turn"]): q for q in trace(f)}
    t0 = by[("a", 0)]["t_intended"] - int(T[("a", 0)]["t_ms"] * 1e6)
    for k, q in T.items():
        r = by[k]
        if q["turn"] == 0:
            want = t0 + int(round(q["t_ms"] * 1e6))
        else:
            prev = by[(k[0], k[1] - 1)]["t_end"]
            if "t_ms" in q:   # open loop: max(own time, previous reply)
                want = max(prev, t0 + int(round(q["t_ms"] * 1e6)))
            else:             # closed loop: think time after the previous reply
                want = prev + int(round(q["delay_ms"] * 1e6))
        assert abs(r["t_intended"] - want) <= 1, (d, k, r["t_intended"] - t0, want - t0)
# a's second turn is due at 50 ms but a's first reply takes >= 100 ms: it waits for it
ro = {(r["conv"], r["turn"]): r for r in recs("ro")}
assert ro[("a", 1)]["t_intended"] == ro[("a", 0)]["t_end"], "open loop did not wait for the reply"
PY
