#!/usr/bin/env bash
# The tokenizer engine beside the Rust `tokenizers` crate (PyPI tokenizers 0.23.3, which
# wraps it), single thread, same corpus, same tokenizer.json files, one after the other:
#   - encode throughput (MB/s of input, tokens/s): ours `metronome tokenize --bench R`
#     (every line encoded R times); theirs encode_batch over the same lines R times with
#     RAYON_NUM_THREADS=1 (one call per pass, so Python's per-call cost is amortised);
#   - load time (wall and CPU) and memory of a ~10 MB tokenizer.json: ours from
#     `--load-only` (tok_memory: the bytes the loaded tokenizer holds), theirs the time of
#     Tokenizer.from_file and the growth of the process's resident set.
# Files: the real Llama-3.2 (9.1 MB) and Qwen2 (11.4 MB) tokenizer.json pinned in
# tests/tok/real.sh, and the exactness test's 1.1 MB multilingual corpus.
#   bench/tokenize.sh [BINARY] [REPEAT]      (default zig-out/bin/metronome, 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/zig-out/bin/metronome}
rep=${2:-3}
cd "$root"
[ -x "$bin" ] || ./dev build
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
venv=$root/.cache/tok-venv
want=0.23.3
if ! "$venv/bin/python" -c "import tokenizers, sys; sys.exit(tokenizers.__version__ != '$want')" 2>/dev/null; then
    rm -rf "$venv" && python3 -m venv "$venv" && "$venv/bin/pip" install -q "tokenizers==$want"
fi
out=$root/bench/out/tokenize
mkdir -p "$out"
dir=$(tests/tok/real.sh "$venv" "$root/.cache/tok-real")
"$venv/bin/python" tests/tok/exactness.py "$bin" "$out" --corpus-only >/dev/null
corpus=$out/corpus.txt
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (figures from a busy machine are noisy)"
printf '%-10s %-10s %10s %12s %10s %10s %12s\n' tokenizer engine "MB/s" "tokens/s" "load ms" "load CPU" "memory MB"
for f in "$dir"/*.json; do
    name=$(basename "$f" .json)
    size=$(stat -c %s "$f")
    # Ours.
    b=$("$bin" tokenize --tokenizer "$f" --input "$corpus" --bench "$rep")
    l=$( { /usr/bin/time -f 'cpu %U %S' "$bin" tokenize --tokenizer "$f" --load-only; } 2>&1)
    mbs=$(awk '/^MB_per_s/ {print $2}' <<<"$b")
    tps=$(awk '/^tokens_per_s/ {print $2}' <<<"$b")
    lms=$(awk '/^load_ms/ {print $2}' <<<"$l")
    lcpu=$(awk '/^cpu/ {printf "%.0f", ($2 + $3) * 1000}' <<<"$l")
    mem=$(awk '/^memory_bytes/ {printf "%.1f", $2 / 1e6}' <<<"$l")
    printf '%-10s %-10s %10s %12s %10s %10s %12s\n' "$name" metronome "$mbs" "$tps" "$lms" "$lcpu" "$mem"
    # Theirs.
    RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$venv/bin/python" - "$f" "$corpus" "$rep" <<'PY'
import os, resource, sys, time
from tokenizers import Tokenizer
path, corpus, rep = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [l.decode("utf-8", "replace") for l in open(corpus, "rb").read().split(b"\n")[:-1]]
nbytes = sum(len(l.encode()) for l in lines)
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
r0 = rss()
c0, t0 = time.process_time(), time.perf_counter()
tok = Tokenizer.from_file(path)
load_ms, load_cpu = (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3
mem = (rss() - r0) / 1e6
tok.no_truncation()
tok.no_padding()
tok.encode_batch(lines[:200])  # warm-up
t0 = time.perf_counter()
ntok = 0
for _ in range(rep):
    ntok += sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=True))
el = time.perf_counter() - t0
print("%-10s %-10s %10.2f %12.0f %10.1f %10.0f %12.1f" % (os.path.basename(path)[:-5], "tokenizers",
      nbytes * rep / el / 1e6, ntok / el, load_ms, load_cpu, mem))
PY
done
