# Synthetic pack: a valid zstd file whose inspect --json matches the golden shape
# (testdata/trace/synthetic.inspect.json; regenerate with UPDATE_GOLDEN=1).
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
"$METRONOME" pack -m llama,qwen --num-conversations 20 --isl 64 --isl-stddev 8 --osl 32 \
    --request-rate 10 --arrival-pattern gamma --arrival-smoothness 0.5 \
    --num-prefix-prompts 3 --prefix-prompt-length 16 --session-turns-mean 2 \
    --session-turns-stddev 1 --session-turn-delay-mean 500 --random-seed 11 --streaming \
    --extra-inputs ignore_eos:true,temperature:0.5 -o t.jsonl.zst
zstd -q -t t.jsonl.zst || fail "zstd -t rejects the trace"
zstdcat t.jsonl.zst > t.jsonl  # whole: a pipe into head would SIGPIPE zstdcat under pipefail
head -1 t.jsonl | grep -q '"metronome_trace":1' || fail "no header line"
"$METRONOME" inspect --json --expand t.jsonl.zst > got.json
# compressed_bytes depends on the zstd build; everything else is exact.
python3 - "$E2E_ROOT/testdata/trace/synthetic.inspect.json" got.json <<'PY'
import json, os, sys
got = json.load(open(sys.argv[2])); got.pop("compressed_bytes")
if os.environ.get("UPDATE_GOLDEN"):
    json.dump(got, open(sys.argv[1], "w"), indent=1); open(sys.argv[1], "a").write("\n")
want = json.load(open(sys.argv[1])); want.pop("compressed_bytes", None)
if want != got:
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            print(f"{k}: want {want.get(k)!r} got {got.get(k)!r}")
    sys.exit(1)
PY
# Every body is valid JSON with the requested extras, and streamed bodies ask for usage.
"$METRONOME" inspect t.jsonl.zst | grep -q "valid metronome trace v1" || fail "text inspect"
