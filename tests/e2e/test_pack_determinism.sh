# Same inputs and seed -> byte-identical trace; another seed -> other prompts.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
args=(-m m --num-conversations 30 --isl 100 --isl-stddev 20 --osl 50 --request-rate 5
      --num-prefix-prompts 2 --prefix-prompt-length 32 --session-turns-mean 2)
"$METRONOME" pack "${args[@]}" --random-seed 42 -o a.jsonl.zst
"$METRONOME" pack "${args[@]}" --random-seed 42 -o b.jsonl.zst
cmp a.jsonl.zst b.jsonl.zst || fail "same seed gave different traces"
"$METRONOME" pack "${args[@]}" --random-seed 43 -o c.jsonl.zst
# Skip the header (it names the seed): the request lines themselves must differ.
if cmp -s <(zstdcat a.jsonl.zst | tail -n +2) <(zstdcat c.jsonl.zst | tail -n +2); then
    fail "another seed gave the same prompts"
fi
ls | grep -q tmp && fail "temporary files left behind: $(ls)"
true
