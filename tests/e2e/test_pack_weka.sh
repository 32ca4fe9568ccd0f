# weka_trace (AIPerf 0.13's loader for kv-cache-tester agentic traces) and the four
# options only it reads (the three delay options, then --max-context-length).
# testdata/weka/agent.json is one trace of five requests, each extending the previous one's
# context (t 0, 2.5, 3, 10, 12.25 s; api_time 1, 0.5, 0.25,
# 2, null; think_time null, 0.8, null, 1.5, 0.1). The delays below are worked by hand
# from AIPerf's rules (docs/cli-pack.md) and were checked against AIPerf 0.13 itself run
# on the same file against `metronome mock` (docs/cli-pack.md, weka_trace).
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
W="$E2E_ROOT/testdata/weka"
S="--custom-dataset-type weka_trace --input-file $W/agent.json"
pk() { # pk OUT ARGS...: packs and dumps the request lines
    local out=$1; shift
    expect_exit 0 "$METRONOME" pack -m m -o "$out.zst" "$@"
    zstd -dcq "$out.zst" | tail -n +2 | grep '"session"' >"$out.jsonl"
}
check() { # check OUT PYTHON-EXPECTATION: {session: [delay_ms or None per turn]}
    python3 - "$1.jsonl" "$2" <<'PY' || fail "$1: schedule differs"
import json, sys
got = {}
for l in open(sys.argv[1]):
    q = json.loads(l)
    assert "t_ms" not in q, q            # untimed: AIPerf does not fix-schedule weka
    got.setdefault(q["session"], []).append(q.get("delay_ms"))
want = eval(sys.argv[2])
if got != want:
    print("got ", got, "\nwant", want, file=sys.stderr)
    sys.exit(1)
PY
}

# default: the idle gap t_k - (t_{k-1} + api_{k-1}) in ms (a null api_time counts 0)
#   2500-1000, 3000-2500-500, 10000-3000-250, 12250-10000-2000
pk def $S
check def '{"agent-a": [None, 1500.0, 0.0, 6750.0, 250.0]}'
# --use-think-time-only: the recorded think_time where there is one, else the idle gap
pk think $S --use-think-time-only
check think '{"agent-a": [None, 800.0, 0.0, 1500.0, 100.0]}'
# --ignore-trace-delays: no delay at all (each turn right after the previous reply)
pk ign $S --ignore-trace-delays
check ign '{"agent-a": [None, None, None, None, None]}'
# --inter-turn-delay-cap-seconds 1 caps those delays at 1000 ms
pk cap $S --inter-turn-delay-cap-seconds 1
check cap '{"agent-a": [None, 1000.0, 0.0, 1000.0, 250.0]}'
# --trace-idle-gap-cap-seconds 2: start gaps 2.5 0.5 7 2.25 s become 2 0.5 2 2, so the
# starts are 0 2 2.5 4.5 6.5; idle gaps on that timeline: 2000-1000, 500-500, 2000-250,
# 2000-2000. It takes precedence over --inter-turn-delay-cap-seconds (not applied) and
# over think times.
pk idle $S --trace-idle-gap-cap-seconds 2
check idle '{"agent-a": [None, 1000.0, 0.0, 1750.0, 0.0]}'
pk idle2 $S --trace-idle-gap-cap-seconds 2 --inter-turn-delay-cap-seconds 1 --use-think-time-only
check idle2 '{"agent-a": [None, 1000.0, 0.0, 1750.0, 0.0]}'
# 0 is allowed (AIPerf: ge=0): every gap collapses, delays are 0 after api times
pk idle0 $S --trace-idle-gap-cap-seconds 0
check idle0 '{"agent-a": [None, 0.0, 0.0, 0.0, 0.0]}'

# bodies: the recorded input length made from the hash blocks (each id one block of the
# trace's block_size, 4), the rest corpus text; max tokens = out (0 -> 1); the trace's
# model is --model-names' first; every body complete (no live history)
python3 - <<'PY' || fail "bodies"
import json
L = [json.loads(l) for l in open("def.jsonl")]
assert [q["isl"] for q in L] == [10, 20, 24, 30, 33], L
want_blocks = [[1, 2], [1, 2, 3, 4], [1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6, 7], list(range(1, 9))]
for q, ids in zip(L, want_blocks):
    b = q["body"]
    assert b["model"] == "m" and q["model"] == "m", q
    assert "history" not in q, q
    text = b["messages"][0]["$text"] if "$text" in b["messages"][0] else b["messages"][0]["content"]["$text"]
    assert [p for p in text if isinstance(p, int)] == ids, (text, ids)
    assert len(b["messages"]) == 1 and b["messages"][0]["role"] == "user", b
assert [q["body"]["max_completion_tokens"] for q in L] == [5, 3, 4, 1, 6], L
PY
# --synthesis-max-isl leaves requests out before the delays are taken (AIPerf's filter)
pk isl $S --synthesis-max-isl 25
check isl '{"agent-a": [None, 1500.0, 0.0]}'
pk osl $S --synthesis-max-osl 2
python3 -c '
import json
assert [json.loads(l)["body"]["max_completion_tokens"] for l in open("osl.jsonl")] == [2, 2, 2, 1, 2]
' || fail "--synthesis-max-osl"

# a directory: its *.json files sorted by name, each one session named by its id; hash
# ids are local to each trace (id 1 is a 4-token block in one, an 8-token one in the other)
pk dir --custom-dataset-type weka_trace --input-file "$W/dir"
check dir '{"first": [None, 500.0], "second": [None]}'
python3 - <<'PY' || fail "directory blocks"
import json
L = [json.loads(l) for l in open("dir.jsonl")]
ids = [[p for p in q["body"]["messages"][0]["content"]["$text"] if isinstance(p, int)] for q in L]
assert ids[0] == [1, 2] and ids[1] == [1, 2, 3] and len(ids[2]) == 1 and ids[2][0] != 1, ids
PY

# profile takes AIPerf's spelling and packs with it; replay against the mock: each later
# turn is due its delay after the previous reply ended (records' intended times)
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 30ms >/dev/null 2>mock.err &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
wait_port "$port"
expect_exit 0 "$METRONOME" profile -m m --url "127.0.0.1:$port" $S --use-think-time-only \
    --artifact-dir prof --ui none --no-server-metrics
zstd -dcq prof/trace.jsonl.zst | tail -n +2 | grep '"session"' >prof.jsonl
check prof '{"agent-a": [None, 800.0, 0.0, 1500.0, 100.0]}'
pk rfast $S --trace-idle-gap-cap-seconds 0.5
expect_exit 0 "$METRONOME" replay rfast.zst --url "127.0.0.1:$port" -q -o rr
kill $mock && wait $mock 2>/dev/null || true
trap - EXIT
python3 - <<'PY' || fail "replay send times"
import json, subprocess
def recs(d):
    out = subprocess.run(["zstd", "-dcq", d + "/records.jsonl.zst"], capture_output=True,
                         check=True, text=True).stdout.splitlines()
    return [json.loads(l) for l in out if l.strip()]
# idle cap 0.5: starts 0 0.5 1 1.5 2 -> delays 0, 0, 250, 0 ms after the previous reply
want = {"rr": [None, 0, 0, 250, 0], "prof": [None, 800, 0, 1500, 100]}
for d in ("rr", "prof"):
    R = sorted(recs(d), key=lambda r: r["turn"])
    assert len(R) == 5 and all(r["status"] == 200 for r in R), (d, R)
    for k in range(1, 5):
        gap = R[k]["t_intended"] - R[k - 1]["t_end"]
        assert abs(gap - want[d][k] * 1_000_000) <= 1_000_000, (d, k, gap)
PY

# bad input: one line naming the file, line and field; nothing written
bad() { # bad EXIT REGEX ARGS...
    local code=$1 want=$2; shift 2
    expect_exit "$code" "$METRONOME" pack -m m -o out.zst "$@"
    [ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "more than one line: $(cat "$E2E_TMP/stderr")"
    grep -Eq "^metronome: error: $want" "$E2E_TMP/stderr" ||
        fail "stderr '$(cat "$E2E_TMP/stderr")' does not match '$want'"
    [ -z "$(ls | grep -E '^out\.zst')" ] || fail "output left behind: $(ls)"
}
mk() { # mk NAME: a trace file from stdin
    cat >"$1"
}
hdr='"id": "t", "models": ["x"], "block_size": 4, "hash_id_scope": "local"'
mk neg_out.json <<EOF
{$hdr,
 "requests": [
  {"t": 0, "type": "n", "model": "x", "in": 8, "out": 2, "hash_ids": [1, 2]},
  {"t": 1, "type": "n", "model": "x", "in": 8, "out": -2, "hash_ids": [1, 2]}
 ]}
EOF
bad 1 ".*neg_out.json:4: field 'out': must be an integer >= 0" --custom-dataset-type weka_trace --input-file neg_out.json
mk no_t.json <<EOF
{$hdr,
 "requests": [
  {"type": "n", "model": "x", "in": 8, "out": 2}
 ]}
EOF
bad 1 ".*no_t.json:3: field 't' is missing" --custom-dataset-type weka_trace --input-file no_t.json
mk extra.json <<EOF
{$hdr,
 "requests": [
  {"t": 0, "type": "n", "model": "x", "in": 8, "out": 2, "colour": "red"}
 ]}
EOF
bad 1 ".*extra.json:3: field 'colour': not a field of a weka_trace request" --custom-dataset-type weka_trace --input-file extra.json
mk sub.json <<EOF
{$hdr,
 "requests": [
  {"t": 0, "type": "n", "model": "x", "in": 8, "out": 2, "hash_ids": [1, 2]},
  {"t": 1, "type": "subagent", "agent_id": "a1", "subagent_type": "Explore", "status": "completed",
   "requests": [], "models": ["x"]}
 ]}
EOF
bad 1 ".*sub.json:4: field 'type': \"subagent\" entries are not supported yet" --custom-dataset-type weka_trace --input-file sub.json
mk scope.json <<EOF
{"id": "t", "models": ["x"], "block_size": 4,
 "hash_id_scope": "global", "requests": []}
EOF
bad 1 ".*scope.json:2: field 'hash_id_scope': must be \"local\"" --custom-dataset-type weka_trace --input-file scope.json
mk nobs.json <<EOF
{"id": "t", "models": ["x"], "hash_id_scope": "local", "requests": []}
EOF
bad 1 ".*nobs.json:1: field 'block_size' is missing" --custom-dataset-type weka_trace --input-file nobs.json
mk twomodels.json <<EOF
{$hdr,
 "requests": [
  {"t": 0, "type": "n", "model": "x", "in": 8, "out": 2, "hash_ids": [1, 2]},
  {"t": 1, "type": "n", "model": "y", "in": 12, "out": 2, "hash_ids": [1, 2, 3]}
 ]}
EOF
bad 1 ".*twomodels.json:4: not supported yet: 'model' differs" --custom-dataset-type weka_trace --input-file twomodels.json
mk fork.json <<EOF
{$hdr,
 "requests": [
  {"t": 0, "type": "n", "model": "x", "in": 8, "out": 2, "hash_ids": [1, 2]},
  {"t": 1, "type": "n", "model": "x", "in": 12, "out": 2, "hash_ids": [1, 5, 6]}
 ]}
EOF
bad 1 ".*fork.json:4: not supported yet: 'hash_ids' do not start" --custom-dataset-type weka_trace --input-file fork.json
mk overlap.json <<EOF
{$hdr,
 "requests": [
  {"t": 0, "type": "n", "model": "x", "in": 8, "out": 2, "hash_ids": [1, 2], "api_time": 2},
  {"t": 1, "type": "n", "model": "x", "in": 12, "out": 2, "hash_ids": [1, 2, 3]}
 ]}
EOF
bad 1 ".*overlap.json:4: not supported yet: 't' is before the previous request ended" --custom-dataset-type weka_trace --input-file overlap.json
printf '{"id": "t", "models": [' >cut.json
bad 1 ".*cut.json:1: malformed JSON" --custom-dataset-type weka_trace --input-file cut.json
mkdir dup && cp "$W/agent.json" dup/1.json && cp "$W/agent.json" dup/2.json
bad 1 ".*dup/2.json:1: field 'id': duplicate trace id 'agent-a'" --custom-dataset-type weka_trace --input-file dup

# bad option values; the pair AIPerf refuses (with any dataset file)
bad 2 "--ignore-trace-delays and --use-think-time-only are mutually exclusive" $S --ignore-trace-delays --use-think-time-only
bad 2 "--trace-idle-gap-cap-seconds" $S --trace-idle-gap-cap-seconds -1
bad 2 "--trace-idle-gap-cap-seconds" $S --trace-idle-gap-cap-seconds soon
printf '{"timestamp": 0, "input_length": 8, "output_length": 2}\n{"session_id": "s", "timestamp": 0, "input_length": 8, "output_length": 2}\n{"session_id": "s", "delay": 700, "input_length": 8, "output_length": 2}\n' >mc.jsonl
bad 2 "--ignore-trace-delays and --use-think-time-only are mutually exclusive" --input-file mc.jsonl --ignore-trace-delays --use-think-time-only
# with other datasets AIPerf 0.13 accepts the three and they change nothing: the same
# trace as without them, and a warning saying so
expect_exit 0 "$METRONOME" pack -m m -o plain.zst --input-file mc.jsonl
for o in --ignore-trace-delays --use-think-time-only "--trace-idle-gap-cap-seconds 0"; do
    expect_exit 0 "$METRONOME" pack -m m -o other.zst --input-file mc.jsonl $o
    grep -q "warning: ${o%% *} has no effect with mooncake_trace" "$E2E_TMP/stderr" ||
        fail "$o: no warning: $(cat "$E2E_TMP/stderr")"
    cmp <(zstd -dcq plain.zst | tail -n +2) <(zstd -dcq other.zst | tail -n +2) ||
        fail "$o changed a mooncake_trace trace"
done
expect_exit 0 "$METRONOME" pack -m m -o syn.zst --conversation-num 1 --ignore-trace-delays --use-think-time-only
grep -q "has no effect with a synthetic dataset" "$E2E_TMP/stderr" || fail "synthetic: $(cat "$E2E_TMP/stderr")"
expect_exit 2 "$METRONOME" profile -m m --url 127.0.0.1:1 --hf-weka-dataset some/repo --ui none
grep -q "not supported yet: --hf-weka-dataset" "$E2E_TMP/stderr" || fail "--hf-weka-dataset: $(cat "$E2E_TMP/stderr")"

# --max-context-length N: a trace whose peak recorded context (the largest in + max tokens
# over its requests; max tokens = out capped by --synthesis-max-osl, at least 1; a
# subagent's requests count, uncapped) is above N is left out whole. testdata/weka/ctx
# (peaks): fits 23 (15, 23), exact 40, over 41, zero-out 41 (in 40, out 0 sent as 1),
# early-peak 42 (42 then 36), subagent 50 (its parent 14, its subagent's request 30 + 20),
# long-out 50 (in 30, out 20). Without the option the directory is refused (the subagent).
C="--custom-dataset-type weka_trace --input-file $W/ctx"
sessions() { # sessions OUT WANT: WANT "name:turns ..." in file order
    local got
    got=$(python3 -c '
import json, sys
order, n = [], {}
for l in open(sys.argv[1]):
    s = json.loads(l)["session"]
    if s not in n:
        order.append(s)
    n[s] = n.get(s, 0) + 1
print(" ".join(f"{s}:{n[s]}" for s in order))' "$1.jsonl")
    [ "$got" = "$2" ] || fail "$1: sessions '$got', want '$2'"
}
bad 1 ".*f-sub.json:4: field 'type': \"subagent\" entries are not supported yet" $C
pk c40 $C --max-context-length 40
sessions c40 "fits:2 exact:1"
grep -qx "metronome: left out 5 of 7 weka traces with a peak context (in + max tokens) above --max-context-length 40 (peaks 23 to 50)" \
    "$E2E_TMP/stderr" || fail "no count of the traces left out: $(cat "$E2E_TMP/stderr")"
pk c41 $C --max-context-length 41
sessions c41 "fits:2 exact:1 over:1 zero-out:1"
# --synthesis-max-osl 10 caps the outs counted (early-peak 40, long-out 40), not the
# subagent's (still 50: kept, it would be refused)
pk c40osl $C --max-context-length 40 --synthesis-max-osl 10
sessions c40osl "fits:2 exact:1 early-peak:2 long-out:1"
pk c23 $C --max-context-length 23
sessions c23 "fits:2"
# filter, then cap: --num-dataset-entries N (else --conversation-num N) keeps the first N
# traces that pass, as AIPerf sizes a dataset file's pool; a trace left out takes no place
pk n3 $C --max-context-length 41 --num-dataset-entries 3
sessions n3 "fits:2 exact:1 over:1"
pk cn2 $C --max-context-length 41 --conversation-num 2
sessions cn2 "fits:2 exact:1"
pk n1 $C --num-dataset-entries 1
sessions n1 "fits:2"
# requests --synthesis-max-isl leaves out still count (fits keeps its peak 23), and no
# trace left is an error naming the smallest peak; one file alike
bad 1 ".*ctx: no trace left: the peak context \(in \+ max tokens\) of each of the 7 traces is above --max-context-length 22; the smallest is 23 \(--max-context-length 23 keeps that trace\)" \
    $C --max-context-length 22 --synthesis-max-isl 15
bad 1 ".*agent.json: no trace left: .* of the 1 trace is above --max-context-length 38; the smallest is 39" \
    $S --max-context-length 38
pk a39 $S --max-context-length 39
cmp def.jsonl a39.jsonl || fail "--max-context-length 39 changed agent.json (peak 39)"
# bad values and the datasets AIPerf refuses it with: exit 2, one line, nothing written
for v in 0 -5 1.5 forty ""; do
    bad 2 "--max-context-length: " $C --max-context-length "$v"
done
bad 2 "--max-context-length 40: only the weka_trace loader reads it \(AIPerf 0.13 refuses it with synthetic data\)" \
    --max-context-length 40
bad 2 "--max-context-length 40: only the weka_trace loader reads it \(AIPerf 0.13 refuses it with mooncake_trace\)" \
    --custom-dataset-type mooncake_trace --input-file mc.jsonl --max-context-length 40
printf '[{"id": "c", "conversations": [{"from": "human", "value": "hello there"}, {"from": "gpt", "value": "hi"}]}]\n' >sg.json
bad 2 "--max-context-length 40: only the weka_trace loader reads it \(AIPerf 0.13 refuses it with sharegpt\)" \
    --public-dataset sharegpt --input-file sg.json --max-context-length 40
# a file with no --custom-dataset-type AIPerf lets through (it might detect a weka trace)
# and then ignores the option: unchanged, with a warning
expect_exit 0 "$METRONOME" pack -m m -o mcl.zst --input-file mc.jsonl --max-context-length 1
grep -q "warning: --max-context-length has no effect with mooncake_trace" "$E2E_TMP/stderr" ||
    fail "no warning: $(cat "$E2E_TMP/stderr")"
cmp <(zstd -dcq plain.zst | tail -n +2) <(zstd -dcq mcl.zst | tail -n +2) ||
    fail "--max-context-length changed a mooncake_trace trace"

# profile: AIPerf's spelling, packed and sent to the mock (the sessions the records show);
# a bad value exits 2 and leaves no run directory
port=$(free_port)
"$METRONOME" mock --port "$port" --osl 4 >/dev/null 2>mock2.err &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
wait_port "$port"
expect_exit 0 "$METRONOME" profile -m m --url "127.0.0.1:$port" $C --max-context-length 41 \
    --concurrency 1 --request-count 5 --artifact-dir pc41 --ui none --no-server-metrics
expect_exit 2 "$METRONOME" profile -m m --url "127.0.0.1:$port" $C --max-context-length 0 \
    --artifact-dir pbad --ui none --no-server-metrics
grep -q "max-context-length" "$E2E_TMP/stderr" && [ ! -e pbad ] || fail "profile 0: $(cat "$E2E_TMP/stderr")"
expect_exit 2 "$METRONOME" profile -m m --url "127.0.0.1:$port" --max-context-length 40 \
    --artifact-dir pbad --ui none --no-server-metrics
grep -q "max-context-length 40" "$E2E_TMP/stderr" && [ ! -e pbad ] || fail "profile synthetic: $(cat "$E2E_TMP/stderr")"
conv() { # conv DIR: "session:requests ..." from DIR/profile_export.jsonl, sorted (a session
    # sent again when the pool wraps is "ID#k" in metronome's, ID in AIPerf's: counted as ID)
    python3 -c '
import collections, json, sys
n = collections.Counter(json.loads(l)["metadata"]["conversation_id"].split("#")[0] for l in open(sys.argv[1] + "/profile_export.jsonl"))
print(" ".join(f"{k}:{v}" for k, v in sorted(n.items())))' "$1"
}
got=$(conv pc41)
[ "$got" = "exact:1 fits:2 over:1 zero-out:1" ] || fail "profile --max-context-length 41 sent $got"
# a pool of the first 2 that pass, 6 requests: the pool wraps (fits, exact, fits, ...)
expect_exit 0 "$METRONOME" profile -m m --url "127.0.0.1:$port" $C --max-context-length 41 \
    --num-dataset-entries 2 --request-count 6 --concurrency 1 --artifact-dir pn2 --ui none \
    --no-server-metrics
[ "$(conv pn2)" = "exact:2 fits:4" ] || fail "profile --num-dataset-entries 2 sent $(conv pn2)"
# AIPerf 0.13 itself on the same directory, when it is at hand ($AIPERF, else the venv
# test_aiperf_loaders installs): the same sessions, as many requests each. It needs an
# offline tokenizer (bench/profile_make_tokenizer.py).
aiperf=${AIPERF:-$E2E_ROOT/.cache/aiperf/bin/aiperf}
if [ -x "$aiperf" ]; then
    export HF_HUB_CACHE=$E2E_TMP/hf HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
    "$(dirname "$aiperf")/python" "$E2E_ROOT/bench/profile_make_tokenizer.py" >/dev/null 2>&1 ||
        fail "cannot make the offline tokenizer"
    # every request of the sessions kept: 5 at 41, 6 at 40 with --synthesis-max-osl 10
    for run in "41 5" "40 6 --synthesis-max-osl 10" "n41 6 --num-dataset-entries 2"; do
        set -- $run
        "$aiperf" profile -m m --url "http://127.0.0.1:$port" --endpoint-type chat $C \
            --max-context-length "${1#n}" --request-count "$2" "${@:3}" --concurrency 1 \
            --tokenizer local/shakespeare-bpe --ui none --artifact-dir "ai$1" \
            >"ai$1.log" 2>&1 || fail "aiperf --max-context-length $run: $(tail -5 "ai$1.log")"
    done
    [ "$(conv ai41)" = "$got" ] || fail "AIPerf 0.13 sent $(conv ai41), metronome $got"
    expect_exit 0 "$METRONOME" profile -m m --url "127.0.0.1:$port" $C --max-context-length 40 \
        --synthesis-max-osl 10 --concurrency 1 --request-count 6 --artifact-dir pc40 --ui none \
        --no-server-metrics
    [ "$(conv ai40)" = "$(conv pc40)" ] || fail "osl: AIPerf 0.13 sent $(conv ai40), metronome $(conv pc40)"
    [ "$(conv ain41)" = "$(conv pn2)" ] || fail "entries: AIPerf 0.13 sent $(conv ain41), metronome $(conv pn2)"
    "$aiperf" profile -m m --url "http://127.0.0.1:$port" --max-context-length 40 --request-count 2 \
        --tokenizer local/shakespeare-bpe --ui none --artifact-dir aisyn >aisyn.log 2>&1 &&
        fail "AIPerf 0.13 took --max-context-length with synthetic data"
    grep -q "max-context-length" aisyn.log || fail "AIPerf's refusal: $(tail -3 aisyn.log)"
else
    echo "note: AIPerf 0.13 not found (\$AIPERF or $aiperf): its sessions not compared"
fi
kill $mock && wait $mock 2>/dev/null || true
trap - EXIT
echo ok
