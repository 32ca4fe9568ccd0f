# --custom-dataset-type bailian_trace (AIPerf 0.13's loader for Alibaba's Qwen serving
# traces) in pack and profile. data/bailian_chains.jsonl was also run through AIPerf 0.13
# itself (--fixed-schedule, against our mock): it sent session 159 as 3 turns (the file
# lists turn 2 first), 7, 1 as 2 turns (a parent cycle, cut where AIPerf cuts it: chat 2,
# turn 0, first) and 50 (a missing parent: its own root), with ISLs 40, 5, 3, 4 on the
# first turns. The same grouping, turn order, 16-token blocks and max_tokens here; a bad
# line is one FILE:LINE: field: reason error and nothing is written.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
M=$METRONOME
IN="$E2E_ROOT/tests/e2e/data/bailian_chains.jsonl"
$M pack -m m -o bl.zst --input-file "$IN" --custom-dataset-type bailian_trace 2>/dev/null
got=$(zstdcat bl.zst | python3 -c '
import json, sys
h = json.loads(sys.stdin.readline())
assert h["timed"] and h["requests"] == 7 and h["sessions"] == 4, h
out = []
for l in sys.stdin:
    r = json.loads(l)
    if "session" in r:
        out.append("%s/%d/%d/%d/%s" % (r["session"], r["turn"], r["isl"], r["osl"], r.get("t_ms", r.get("delay_ms"))))
print(" ".join(out))')
want="159/0/40/13/100.0 159/1/40/8/400.0 159/2/20/2/400.0 7/0/5/3/200.0 1/0/3/1/400.0 1/1/3/1/0.0 50/0/4/1/600.0"
[ "$got" = "$want" ] || fail "bailian trace: $got"
# 16-token blocks unless --isl-block-size says otherwise: 159's first turn is 3 blocks
zstdcat bl.zst | grep '"session":"159","turn":0' | grep -q '"\$text":\[1089,1090,1091\]' || fail "blocks"
expect_exit 1 $M pack -m m -o bl32.zst --input-file "$IN" --custom-dataset-type bailian_trace \
    --isl-block-size 32
grep -q "bailian_chains.jsonl:2: input_length 40 does not fit 3 hash_ids of 32 tokens" "$E2E_TMP/stderr" ||
    fail "block size: $(cat "$E2E_TMP/stderr")"
[ ! -e bl32.zst ] || fail "a trace was written"
# a bad line: one line naming file, line and field; nothing written
printf '%s\n' '{"chat_id":1,"timestamp":0,"input_length":3,"output_length":1}' \
    '{"chat_id":2,"timestamp":0,"input_length":3}' > bad.jsonl
expect_exit 1 $M pack -m m -o bad.zst --input-file bad.jsonl --custom-dataset-type bailian_trace
[ "$(cat "$E2E_TMP/stderr")" = "metronome: error: bad.jsonl:2: field 'output_length' is missing" ] ||
    fail "bad line: $(cat "$E2E_TMP/stderr")"
[ ! -e bad.zst ] || fail "a trace was written for a bad line"
# synthesis multipliers are refused with bailian (AIPerf's Synthesizer is not ours there)
expect_exit 2 $M pack -m m -o s.zst --input-file "$IN" --custom-dataset-type bailian_trace \
    --synthesis-speedup-ratio 2
grep -q -- "--synthesis-speedup-ratio: not supported yet with bailian_trace" "$E2E_TMP/stderr" || fail "synthesis"
# profile: AIPerf's spelling (kebab case too) runs to a report against the mock
PORT=$(free_port)
$M mock --port "$PORT" --ttft 1ms --itl 0ms --osl 4 >/dev/null 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true' EXIT
wait_port "$PORT"
$M profile -m m --url "127.0.0.1:$PORT" --input-file "$IN" --custom-dataset-type bailian-trace \
    --artifact-dir prof --ui none --no-server-metrics >/dev/null 2>&1 || fail "profile"
n=$(zstdcat prof/records.jsonl.zst | python3 -c '
import json, sys
rs = [json.loads(l) for l in sys.stdin]
assert all(not r.get("error") for r in rs), rs
print(" ".join(sorted("%s/%d/%d" % (r["conv"], r["turn"], r["isl"]) for r in rs)))')
[ "$n" = "1/0/3 1/1/3 159/0/40 159/1/40 159/2/20 50/0/4 7/0/5" ] || fail "profile records: $n"
echo ok
