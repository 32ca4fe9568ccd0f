# --dataset-sampling-strategy (AIPerf 0.13's dataset samplers) in pack and profile: each
# session takes its conversation among the --num-dataset-entries unique ones in order
# (sequential, AIPerf's default: A B C A B C, what AIPerf 0.13 sent for --num-dataset-entries
# 3 --request-count 9), as a permutation per pass (shuffle) or with replacement (random);
# a bad value, or random/shuffle over a dataset file, is one line naming the option and
# the value, exit 2, nothing written.
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
# bad values: one line naming the option and the value, exit 2, no trace
for args in "--dataset-sampling-strategy bogus" "--dataset-sampling-strategy rand" \
            "--input-file seq.zst --custom-dataset-type single_turn --dataset-sampling-strategy random"; do
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
