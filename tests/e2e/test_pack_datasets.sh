# Every dataset source packs into a valid trace whose inspect --json matches its golden
# (testdata/trace/<case>.inspect.json; regenerate with UPDATE_GOLDEN=1).
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
T="$E2E_ROOT/testdata/trace"
check() {
    local name=$1; shift
    "$METRONOME" pack -m llama --random-seed 3 "$@" -o "$name.jsonl.zst" 2>pack.err ||
        { cat pack.err; fail "$name: pack failed"; }
    zstd -q -t "$name.jsonl.zst" || fail "$name: zstd -t rejects the trace"
    "$METRONOME" inspect --json --expand "$name.jsonl.zst" > "$name.json"
    "$METRONOME" inspect --bodies "$name.jsonl.zst" > "$name.bodies"
    python3 - "$T/$name.inspect.json" "$name.json" "$name.bodies" <<'PY' || fail "$name: golden differs"
import json, os, sys
golden, got_path, bodies = sys.argv[1:4]
got = json.load(open(got_path)); got.pop("compressed_bytes")
for line in open(bodies):
    json.loads(line)  # every expanded body is valid JSON
if os.environ.get("UPDATE_GOLDEN"):
    json.dump(got, open(golden, "w"), indent=1); open(golden, "a").write("\n")
want = json.load(open(golden))
if want != got:
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            print(f"{k}: want {want.get(k)!r} got {got.get(k)!r}")
    sys.exit(1)
PY
}
check mooncake --input-file "$T/mooncake.jsonl"
check mooncake_zst --input-file "$T/mooncake.jsonl.zst" --custom-dataset-type mooncake_trace
check single_turn --input-file "$T/single_turn.jsonl" --custom-dataset-type single_turn
check multi_turn --input-file "$T/multi_turn.jsonl" --custom-dataset-type multi_turn
check random_pool --input-file "$T/pool" --custom-dataset-type random_pool --num-conversations 6
check sharegpt --input-file "$T/sharegpt.json" --public-dataset sharegpt --endpoint-type completions
check azure --input-file "$T/azure.csv" --custom-dataset-type azure_trace --streaming
check burstgpt --input-file "$T/burstgpt.csv" --custom-dataset-type burst_gpt_trace --osl 16
# The earlier spelling packs the same trace.
"$METRONOME" pack -m llama --random-seed 3 --input-file "$T/burstgpt.csv" --custom-dataset-type burstgpt_trace \
    --osl 16 -o burstgpt2.jsonl.zst 2>/dev/null
cmp burstgpt.jsonl.zst burstgpt2.jsonl.zst || fail "burstgpt_trace and burst_gpt_trace differ"

# Mooncake specifics: shared hash_ids give byte-identical prefixes across requests.
python3 - mooncake.bodies <<'PY' || fail "mooncake: shared prefix not byte-identical"
import json, sys
c = [json.loads(l)["messages"][0]["content"] for l in open(sys.argv[1])]
# lines 1, 2 and 4 share blocks 501+502; line 3 has no blocks
assert c[0][:2000] == c[1][:2000] == c[3][:2000], "prefix differs"
assert c[2][:200] != c[0][:200]
assert c[4] == 'Hello "world"\n'
PY
# multi_turn merges lines by session_id, in file order, with delays.
python3 - <<'PY' || fail "multi_turn: sessions not merged"
import json, subprocess, os
lines = subprocess.run(["zstdcat", "multi_turn.jsonl.zst"], capture_output=True, text=True).stdout.splitlines()
reqs = [json.loads(l) for l in lines if '"session"' in l]
s7 = [r for r in reqs if r["session"] == "support-7"]
assert [r["turn"] for r in s7] == [0, 1, 2], s7
assert s7[1]["delay_ms"] == 4000 and s7[2]["delay_ms"] == 2500
assert s7[1]["history"] == "live"
PY
# An input out of time order comes out sorted by session start (stable), sessions intact.
printf '%s\n' '{"timestamp": 10, "input_length": 10}' '{"timestamp": 5, "input_length": 11, "session_id": "a"}' \
    '{"timestamp": 7, "input_length": 12}' '{"session_id": "a", "input_length": 13, "delay": 3}' \
    '{"timestamp": 5, "input_length": 14}' > unsorted.jsonl
"$METRONOME" pack -m m --input-file unsorted.jsonl -o unsorted.jsonl.zst 2>/dev/null
got=$(zstdcat unsorted.jsonl.zst | python3 -c '
import json, sys
print(" ".join("%s/%d/%d" % (r["session"], r["turn"], r["isl"]) for r in map(json.loads, sys.stdin) if "session" in r))')
[ "$got" = "a/0/11 a/1/13 line-5/0/14 line-3/0/12 line-1/0/10" ] || fail "unsorted input: $got"
"$METRONOME" inspect unsorted.jsonl.zst > /dev/null || fail "sorted trace does not inspect"
