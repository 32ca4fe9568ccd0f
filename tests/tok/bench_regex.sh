#!/usr/bin/env bash
# Regex throughput, ours beside tokenizers' Split pre-tokenizer, on one corpus (a benchmark,
# not a timed test). Usage: tests/tok/bench_regex.sh [CORPUS]; default: the multilingual
# corpus of the differential test (tests/tok/diff_gen.py) repeated to ~4 MB.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
venv=.cache/tokvenv
if ! "$venv/bin/python" -c 'import tokenizers' 2>/dev/null; then
    python3 -m venv "$venv" && "$venv/bin/pip" install -q "tokenizers==0.23.3"
fi
corpus=${1:-}
if [ -z "$corpus" ]; then
    out=.cache/tokbench && mkdir -p "$out"
    [ -f "$out/regex.jsonl" ] || "$venv/bin/python" tests/tok/diff_gen.py "$out" vendor/src/ucd vendor/src/corpus/shakespeare.txt
    corpus=$out/corpus.txt
    "$venv/bin/python" - "$out/regex.jsonl" "$corpus" <<'PY'
import json, sys
lines = []
with open(sys.argv[1], encoding="utf-8") as f:
    next(f)
    for l in f:
        r = json.loads(l)
        if r[0] == 0:
            lines.append(r[1].replace("\n", " "))
text = "\n".join(lines)
with open(sys.argv[2], "w", encoding="utf-8") as o:
    o.write("\n".join([text] * max(1, 4_000_000 // len(text.encode()))))
PY
fi
TOK_BENCH=$corpus nice -n 0 zig-out/bin/metronome-tests regex_bench | grep regex_bench
"$venv/bin/python" tests/tok/bench_regex.py "$corpus"
