# --dataset-sampling-strategy (AIPerf 0.13's dataset samplers) in pack and profile: each
# session takes its conversation among the --num-dataset-entries unique ones in order
# (sequential, AIPerf's default: A B C A B C, what AIPerf 0.13 sent for --num-dataset-entries
# 3 --request-count 9), as a permutation per pass (shuffle) or with replacement (random);
# the same over an untimed dataset file's sessions; a bad value, or random/shuffle over a
# timed file, is one line naming the option and the value, exit 2, nothing written.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
M=$METRONOME
order() { # the conversation (by its body) of each request, numbered by first appearance
    zstdcat "$1" | python3 -c '
import json, sys
seen, out = {}, []
for l in sys.stdin:
    r = json.loads(l)
    if "body" in r:
        k = json.dumps(r["body"], sort_keys=True)
        out.append(str(seen.setdefault(k, len(seen))))
print(" ".join(out))'
}
$M pack -m m -o seq.zst --num-dataset-entries 3 --request-count 9 --isl 6 --osl 2 2>/dev/null
[ "$(order seq.zst)" = "0 1 2 0 1 2 0 1 2" ] || fail "sequential: $(order seq.zst)"
$M pack -m m -o seq2.zst --num-dataset-entries 3 --request-count 9 --isl 6 --osl 2 \
    --dataset-sampling-strategy sequential 2>/dev/null
cmp -s <(zstdcat seq.zst | tail -n +2) <(zstdcat seq2.zst | tail -n +2) || fail "sequential is the default"
# --conversation-num 5 over 2 entries: 5 sessions drawn from 2 conversations
$M pack -m m -o conv.zst --num-dataset-entries 2 --conversation-num 5 --isl 6 --osl 2 2>/dev/null
[ "$(order conv.zst)" = "0 1 0 1 0" ] || fail "conversation-num over entries: $(order conv.zst)"
$M pack -m m -o shuf.zst --num-dataset-entries 4 --request-count 16 --isl 6 --osl 2 \
    --dataset-sampling-strategy SHUFFLE 2>/dev/null
python3 - "$(order shuf.zst)" <<'PY' || fail "shuffle: $(order shuf.zst)"
import sys
o = sys.argv[1].split()
assert len(o) == 16 and all(sorted(o[i:i + 4]) == ["0", "1", "2", "3"] for i in range(0, 16, 4)), o
assert o != ["0", "1", "2", "3"] * 4, o
PY
zstdcat shuf.zst | head -1 | grep -q '"dataset_sampling_strategy":"shuffle"' || fail "header"
$M pack -m m -o rnd.zst --num-dataset-entries 4 --request-count 16 --isl 6 --osl 2 \
    --dataset-sampling-strategy random 2>/dev/null
python3 - "$(order rnd.zst)" <<'PY' || fail "random: $(order rnd.zst)"
import sys
o = sys.argv[1].split()
assert len(o) == 16 and any(len(set(o[i:i + 4])) < 4 for i in range(0, 16, 4)), o
PY
# dataset files (untimed): the sessions are drawn again from the packed file
printf '%s\n' '{"text":"alpha"}' '{"text":"beta"}' '{"text":"gamma"}' '{"text":"delta"}' > st.jsonl
words() { zstdcat "$1" | python3 -c '
import json, sys
h = json.loads(sys.stdin.readline())
rs = [r for r in map(json.loads, sys.stdin) if "session" in r]
assert h["requests"] == len(rs) and h["sessions"] == len({r["session"] for r in rs}), h
print(" ".join(r["session"] + "=" + r["body"]["messages"][0]["content"] for r in rs))'; }
$M pack -m m -o fs.zst --input-file st.jsonl --custom-dataset-type single_turn \
    --dataset-sampling-strategy shuffle --request-count 8 2>/dev/null
python3 - "$(words fs.zst)" <<'PY' || fail "file shuffle: $(words fs.zst)"
import sys
w = [x.split("=")[1] for x in sys.argv[1].split()]
s = [x.split("=")[0] for x in sys.argv[1].split()]
assert len(w) == 8 and all(sorted(w[i:i + 4]) == ["alpha", "beta", "delta", "gamma"] for i in (0, 4)), w
assert len(set(s)) == 8, s  # a session drawn again is renamed ID#k
PY
$M pack -m m -o fr.zst --input-file st.jsonl --custom-dataset-type single_turn \
    --dataset-sampling-strategy random --request-count 8 --random-seed 3 2>/dev/null
$M pack -m m -o fr2.zst --input-file st.jsonl --custom-dataset-type single_turn \
    --dataset-sampling-strategy random --request-count 8 --random-seed 3 2>/dev/null
[ "$(words fr.zst)" = "$(words fr2.zst)" ] || fail "random: not the same draws for the same seed"
python3 - "$(words fr.zst)" <<'PY' || fail "file random: $(words fr.zst)"
import sys
w = [x.split("=")[1] for x in sys.argv[1].split()]
assert len(w) == 8 and len(set(w)) < 8 and set(w) <= {"alpha", "beta", "gamma", "delta"}, w
PY
# a session's turns stay together and in order when it is drawn (untimed mooncake lines)
printf '%s\n' '{"session_id":"a","text_input":"a0"}' '{"session_id":"b","text_input":"b0"}' \
    '{"session_id":"a","text_input":"a1"}' > mt.jsonl
$M pack -m m -o mt.zst --input-file mt.jsonl --dataset-sampling-strategy shuffle --request-count 6 2>/dev/null
python3 - "$(words mt.zst)" <<'PY' || fail "sessions: $(words mt.zst)"
import sys
w = [x.split("=")[1] for x in sys.argv[1].split()]
assert len(w) == 6 and sorted(w) == ["a0", "a0", "a1", "a1", "b0", "b0"], w
for i, x in enumerate(w):
    if x == "a0":
        assert w[i + 1] == "a1", w
PY
# a timed dataset is sent in its timestamps' order: refused, nothing written
printf '%s\n' '{"timestamp":0,"input_length":4,"output_length":1}' > timed.jsonl
expect_exit 2 $M pack -m m -o timed.zst --input-file timed.jsonl --dataset-sampling-strategy shuffle
grep -q -- "--dataset-sampling-strategy shuffle: the dataset has timestamps" "$E2E_TMP/stderr" ||
    fail "timed: $(cat "$E2E_TMP/stderr")"
[ ! -e timed.zst ] || fail "a trace was written for a timed dataset"
# bad values: one line naming the option and the value, exit 2, no trace
for args in "--dataset-sampling-strategy bogus" "--dataset-sampling-strategy rand"; do
    # shellcheck disable=SC2086
    expect_exit 2 $M pack -m m -o bad.zst $args
    [ "$(wc -l < "$E2E_TMP/stderr")" = 1 ] || fail "one line: $(cat "$E2E_TMP/stderr")"
    grep -q -- "--dataset-sampling-strategy" "$E2E_TMP/stderr" || fail "names the option: $args"
    grep -q "$(echo "$args" | awk '{print $NF}')" "$E2E_TMP/stderr" || fail "names the value: $args"
    [ ! -e bad.zst ] || fail "a trace was written for $args"
done
# profile routes it to pack (refused there before anything is sent)
expect_exit 2 $M profile -m m --url 127.0.0.1:9 --dataset-sampling-strategy bogus \
    --artifact-dir prof --ui none
grep -q -- "--dataset-sampling-strategy: 'bogus'" "$E2E_TMP/stderr" || fail "profile: $(cat "$E2E_TMP/stderr")"
[ ! -e prof ] || fail "profile wrote artifacts for a bad value"
echo ok
