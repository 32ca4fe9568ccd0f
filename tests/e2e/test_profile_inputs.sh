#!/usr/bin/env bash
# AIPerf 0.13's input options (issue 15 §2): each profile run against the mock must put
# into the request bodies what AIPerf defines, checked in inputs.json (the trace's bodies,
# as sent); bad values are refused with exit 2 and leave nothing behind.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 1ms --itl 100us --osl 8 >/dev/null 2>"$E2E_TMP/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
cd "$E2E_TMP"
p() { # p DIR ARGS...: a run into runs/DIR; exit code kept in $rc
    local dir=$1; shift
    set +e
    "$METRONOME" profile -m m --url "127.0.0.1:$port" --ui none --artifact-dir "runs/$dir" "$@" \
        >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    rc=$?
    set -e
}
ok() { [ "$rc" = 0 ] || { cat "$E2E_TMP/err" >&2; fail "exit $rc: $*"; }; }
# py DIR CODE: CODE runs with B = every body of inputs.json (session order) and T = the
# trace's request lines
py() { python3 - "$1" "$2" <<'PY' || fail "$1: $2"
import json, subprocess, sys
d, code = sys.argv[1], sys.argv[2]
B = [p for s in json.load(open(f"runs/{d}/inputs.json"))["data"] for p in s["payloads"]]
raw = subprocess.run(["zstd", "-dcq", f"runs/{d}/trace.jsonl.zst"], capture_output=True).stdout
T = [json.loads(l) for l in raw.decode().splitlines() if '"session"' in l]
exec(code)
PY
}
refused() { # refused WHAT ARGS...: exit 2, a one-line error naming WHAT, no directory left
    local what=$1; shift
    p bad "$@"
    [ "$rc" = 2 ] || fail "exit $rc (want 2) for $*"
    [ "$(wc -l <"$E2E_TMP/err")" = 1 ] || fail "more than one line for $*: $(cat "$E2E_TMP/err")"
    grep -qF -- "$what" "$E2E_TMP/err" || fail "error does not name '$what': $(cat "$E2E_TMP/err")"
    [ ! -e runs/bad ] || fail "runs/bad left behind by $*"
}

# --seq-dist: each request's (ISL, OSL) is one of the pairs, both pairs occur
p sd --seq-dist "100,10:50;300,30:50" --request-count 40
ok seq-dist
py sd '
pairs = {(t["isl"], t["body"]["max_completion_tokens"]) for t in T}
assert pairs == {(100, 10), (300, 30)}, pairs
assert len(T) == 40'
# bracket and JSON spellings, the alias, and a pair with a standard deviation
p sd2 --sequence-distribution "[(64,8):100]" --request-count 3
ok bracket
py sd2 'assert {(t["isl"], t["osl"]) for t in T} == {(64, 8)}'
p sd3 --seq-dist '{"pairs":[{"isl":50,"isl_stddev":10,"osl":5,"prob":100}]}' --request-count 30
ok json
py sd3 '
isl = [t["isl"] for t in T]
assert len(set(isl)) > 5 and 20 < sum(isl) / len(isl) < 80, isl
assert {t["osl"] for t in T} == {5}'

# --random-range-ratio: vllm window [floor(m(1-r)), ceil(m(1+r))], sglang [int(m r), m]
p rr --isl 100 --osl 20 --random-range-ratio 0.5 --request-count 40
ok random-range-ratio
py rr '
isl = [t["isl"] for t in T]; osl = [t["osl"] for t in T]
assert min(isl) >= 50 and max(isl) <= 150 and len(set(isl)) > 10, isl
assert min(osl) >= 10 and max(osl) <= 30 and len(set(osl)) > 5, osl
assert min(isl) < 100 < max(isl)'
p rrs --isl 100 --osl 20 --random-range-ratio 0.5 --random-corpus-style sglang --request-count 40
ok sglang
py rrs '
isl = [t["isl"] for t in T]; osl = [t["osl"] for t in T]
assert min(isl) >= 50 and max(isl) <= 100 and min(osl) >= 10 and max(osl) <= 20, (isl, osl)'

# --system-prompt: the first message of every conversation; isl counts it; legacy max_tokens
p sys --system-prompt "Answer in one word." --isl 20 --osl 4 --use-legacy-max-tokens \
    --request-count 4 --prompt-corpus sonnet
ok system-prompt
py sys '
for b in B:
    assert b["messages"][0] == {"role": "system", "content": "Answer in one word."}, b
    assert b["messages"][1]["role"] == "user" and b["max_tokens"] == 4
    assert "max_completion_tokens" not in b
assert {t["isl"] for t in T} == {25}, [t["isl"] for t in T]  # 20 + 5 (4 words and the stop)'
printf 'You are a terse assistant.\nNever apologise.\n' >sys.txt
p sysf --system-prompt-file sys.txt --endpoint-type responses --request-count 2
ok system-prompt-file
py sysf '
for b in B:
    assert b["instructions"] == "You are a terse assistant.\nNever apologise.\n", b'
# with a multi-turn file: only the first turn carries it (later turns inherit it through
# the live history, as AIPerf sends it once at the head of the conversation)
cat >mt.jsonl <<'JSONL'
{"session_id": "a", "turns": [{"text": "hello"}, {"text": "and then?"}]}
JSONL
p sysmt --system-prompt "S" --input-file mt.jsonl --custom-dataset-type multi_turn
ok system-prompt multi_turn
py sysmt '
assert B[0]["messages"][0] == {"role": "system", "content": "S"}, B[0]
assert B[1]["messages"][0]["role"] == "user", B[1]'
# mooncake "messages" lines: joined into a leading system message, else put first
cat >mc.jsonl <<'JSONL'
{"messages": [{"role": "system", "content": "own"}, {"role": "user", "content": "q"}], "output_length": 3}
{"messages": [{"role": "user", "content": "q2"}], "output_length": 3}
JSONL
p sysmc --system-prompt "S" --input-file mc.jsonl --custom-dataset-type mooncake_trace
ok system-prompt mooncake messages
py sysmc '
m = [b["messages"] for b in B]
assert m[0] == [{"role": "system", "content": "S\n\nown"}, {"role": "user", "content": "q"}], m[0]
assert m[1] == [{"role": "system", "content": "S"}, {"role": "user", "content": "q2"}], m[1]'

# --shared-system-prompt-length / --user-context-prompt-length: the same synthetic system
# message for all, a user context per conversation, first turns only
p ctx --shared-system-prompt-length 30 --user-context-prompt-length 20 --isl 10 \
    --conversation-num 3 --conversation-turn-mean 2
ok context prompts
py ctx '
first = [b for b, t in zip(B, T) if t["turn"] == 0]
later = [b for b, t in zip(B, T) if t["turn"] == 1]
assert len(first) == 3 and len(later) == 3
sysm = {b["messages"][0]["content"] for b in first}
ctxm = {b["messages"][1]["content"] for b in first}
assert all(b["messages"][0]["role"] == "system" and b["messages"][1]["role"] == "user" for b in first)
assert len(sysm) == 1 and len(ctxm) == 3, (sysm, ctxm)
assert all(len(b["messages"]) == 3 for b in first)
assert all(len(b["messages"]) == 1 for b in later)
assert {t["isl"] for t in T if t["turn"] == 0} == {60}, [t["isl"] for t in T]'

# --per-chunk-usage: streamed chat asks for continuous usage too
p pcu --per-chunk-usage --use-server-token-count --streaming --request-count 2
ok per-chunk-usage
py pcu '
for b in B:
    assert b["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}, b'

# --synthesis-*: AIPerf 0.13's Synthesizer over a mooncake trace. The expected lines are
# what AIPerf 0.13's own Synthesizer (aiperf.dataset.synthesis) gives for this file with
# prefix 2.5, prompt 0.5, output 1.5, speedup 2 (block size 512): timestamp, input_length,
# output_length, hash_ids; the last line has no hash_ids (its prompt is a plain window).
cat >syn.jsonl <<'JSONL'
{"timestamp": 0, "input_length": 1536, "output_length": 10, "hash_ids": [1, 2, 3]}
{"timestamp": 105, "input_length": 1500, "output_length": 25, "hash_ids": [1, 2, 4]}
{"timestamp": 230, "input_length": 700, "output_length": 3, "hash_ids": [1, 5]}
{"timestamp": 400, "input_length": 2000, "output_length": 7, "hash_ids": [1, 2, 3, 6]}
{"timestamp": 555, "input_length": 300, "output_length": 1, "hash_ids": [9]}
{"timestamp": 600, "input_length": 100, "output_length": 5}
JSONL
p syn --input-file syn.jsonl --custom-dataset-type mooncake_trace --synthesis-speedup-ratio 2 \
    --synthesis-prefix-len-multiplier 2.5 --synthesis-prompt-len-multiplier 0.5 \
    --synthesis-output-len-multiplier 1.5
ok synthesis
py syn '
want = [(0, 4096, 15, [2, 3, 4, 5, 6, 7, 9, 10]), (52, 2798, 38, [2, 3, 4, 5, 11, 12]),
        (115, 1630, 4, [2, 3, 13, 14]), (200, 4328, 10, [2, 3, 4, 5, 6, 7, 15, 16, 17]),
        (277, 150, 2, [18]), (300, 100, 8, None)]
def ids(t):
    c = t["body"]["messages"][0]["content"]["$text"]
    return c if all(isinstance(x, int) for x in c) else None
got = [(int(t["t_ms"]), t["isl"], t["osl"], ids(t)) for t in T]
assert got == want, got'
# --synthesis-max-isl leaves out the 2000-token line before the shared prefixes are found
# (so block 3 is no longer shared); --synthesis-max-osl caps; prompt 0 keeps prefixes only
p synmax --input-file syn.jsonl --custom-dataset-type mooncake_trace \
    --synthesis-prompt-len-multiplier 0 --synthesis-max-isl 1600 --synthesis-max-osl 9
ok synthesis max
py synmax '
got = [(int(t["t_ms"]), t["isl"], t["osl"]) for t in T]
assert got == [(0, 1024, 9), (105, 1024, 9), (230, 512, 3), (555, 300, 1), (600, 100, 5)], got'
# --synthesis-prefix-root-multiplier: lines sharing a prefix land in different trees, each
# tree keeping the prefix shared among its own lines
python3 -c '
import json
for i in range(30):
    print(json.dumps({"input_length": 1100, "output_length": 2, "hash_ids": [1, 2, 100 + i]}))' >root.jsonl
p synroot --input-file root.jsonl --custom-dataset-type mooncake_trace \
    --synthesis-prefix-root-multiplier 3
ok synthesis root
py synroot '
firsts = [t["body"]["messages"][0]["content"]["$text"][:2] for t in T]
trees = {tuple(f) for f in firsts}
assert len(trees) == 3, trees
assert all(f[1] - f[0] == 1 for f in firsts), firsts'

# rankings: AIPerf 0.13's three body shapes (endpoints/nim_rankings.py, cohere_rankings.py,
# hf_tei_rankings.py) at their default paths, each answered by the mock, with the
# --rankings-* counts and lengths
p nim --endpoint-type nim_rankings --rankings-passages-mean 4 --rankings-passages-stddev 2 \
    --rankings-passages-prompt-token-mean 12 --rankings-query-prompt-token-mean 7 --request-count 20
ok nim rankings
py nim '
for b, t in zip(B, T):
    assert list(b) == ["model", "query", "passages"] and b["model"] == "m", b
    assert isinstance(b["query"]["text"], str) and all(isinstance(p["text"], str) for p in b["passages"])
    assert t["isl"] == 7 + 12 * len(b["passages"]), (t["isl"], len(b["passages"]))
n = [len(b["passages"]) for b in B]
assert len(set(n)) > 2 and 2.5 < sum(n) / len(n) < 6, n
j = json.load(open("runs/nim/profile_export_aiperf.json"))
assert j["request_count"]["avg"] == 20 and "time_to_first_token" not in j, j["request_count"]
import subprocess as sp
assert sp.run(["grep", "-q", "/v1/ranking", "runs/nim/run.json"]).returncode == 0'
p cohere --endpoint-type cohere-rankings --rankings-passages-mean 2 --request-count 3 --streaming
ok cohere rankings
py cohere '
for b in B:
    assert list(b) == ["model", "query", "documents"] and len(b["documents"]) == 2, b
    assert all(isinstance(x, str) for x in b["documents"]) and isinstance(b["query"], str)
assert {t["isl"] for t in T} == {550 * 3}, [t["isl"] for t in T]
assert "stream" not in B[0]'
grep -q "does not stream" "$E2E_TMP/err" || fail "cohere: no note that streaming is off"
p tei --endpoint-type hf-tei-rankings --rankings-passages-mean 2 --rankings-query-prompt-token-mean 3 \
    --rankings-passages-prompt-token-mean 4 --request-count 3
ok tei rankings
py tei '
for b in B:
    assert list(b) == ["query", "texts"] and len(b["texts"]) == 2, b
assert {t["isl"] for t in T} == {11}'

# --osl / --osl-stddev as AIPerf 0.13's _set_max_tokens draws them (inputs.json of
# `aiperf profile --osl 30 --osl-stddev 5` has max_completion_tokens, chat, or max_tokens,
# completions): the stddev truncated to an integer (0.7 draws nothing, 2.9 draws with 2),
# ceil of the draw, at least 1
p osl0 --isl 10 --osl 20 --osl-stddev 0.7 --request-count 40
ok osl0
py osl0 'assert [b["max_completion_tokens"] for b in B] == [20] * 40, B'
p osl2 --isl 10 --osl 20 --osl-stddev 2.9 --request-count 800
ok osl2
py osl2 'import statistics
v = [b["max_completion_tokens"] for b in B]
assert min(v) >= 1 and abs(statistics.mean(v) - 20.5) < 0.3, statistics.mean(v)
assert 1.8 < statistics.pstdev(v) < 2.25, statistics.pstdev(v)'
p oslc --isl 10 --osl 7 --request-count 3 --endpoint-type completions
ok oslc
py oslc 'assert [b["max_tokens"] for b in B] == [7] * 3 and all("max_completion_tokens" not in b for b in B)'

# bad values: one line naming the option and the value, exit 2, nothing left behind
refused "--prompt-output-tokens-mean: expected an integer, got '20.5'" --osl 20.5
refused "--seq-dist '100,10:60': probabilities sum to 60" --seq-dist "100,10:60"
refused "--seq-dist 'x'" --seq-dist x
refused "--seq-dist '0,10:100': sequence lengths must be positive" --sequence-distribution "0,10:100"
refused "--random-range-ratio '1.5'" --isl 10 --osl 10 --random-range-ratio 1.5
refused "--random-range-ratio '0.3': needs --isl and --osl" --random-range-ratio 0.3
refused "--random-range-ratio cannot be combined with --seq-dist" --isl 9 --osl 9 \
    --random-range-ratio 0.1 --seq-dist "1,1:100"
refused "--random-corpus-style gpt" --random-corpus-style gpt
refused "--system-prompt ' '" --system-prompt " "
refused "--system-prompt-file nope.txt" --system-prompt-file nope.txt
refused "--system-prompt: the completions endpoint" --system-prompt S --endpoint-type completions
refused "--shared-system-prompt-length" --shared-system-prompt-length 0
refused "--user-context-prompt-length" --user-context-prompt-length x
refused "--per-chunk-usage requires --use-server-token-count" --per-chunk-usage --streaming
refused "--per-chunk-usage needs the chat endpoint type and --streaming" --per-chunk-usage \
    --use-server-token-count
refused "not supported yet: --prompt-corpus coding" --prompt-corpus coding
refused "--synthesis-prefix-root-multiplier" --input-file syn.jsonl --synthesis-prefix-root-multiplier 0
refused "--synthesis-speedup-ratio" --input-file syn.jsonl --synthesis-speedup-ratio -1
refused "--synthesis-max-isl: applies to a mooncake_trace" --synthesis-max-isl 10
refused "--rankings-passages-mean" --endpoint-type nim_rankings --rankings-passages-mean 0
refused "--rankings-query-prompt-token-mean: applies to the rankings endpoint types" \
    --rankings-query-prompt-token-mean 5
refused "not supported yet: --endpoint-type image_generation" --endpoint-type image_generation
echo "ok"
