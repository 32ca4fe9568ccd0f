#!/usr/bin/env bash
# Measures `metronome pack` on a generated mooncake-style trace and `metronome inspect` on
# the result, beside peers run on the same files in the same run:
#   pack input MB/s     vs  python3 json.loads over the same lines (parse only, no output)
#   inspect MB/s of decompressed JSON  vs  zstd -dc of the same trace to /dev/null
# by wall time and by CPU time (user + sys: what counts on a shared machine), with peak
# RSS, all from /usr/bin/time -v.
#   bench/pack.sh [BINARY] [LINES]      (defaults: zig-out/bin/metronome, 1000000)
# Files go to bench/out/ (git-ignored). The generated input has ~10^5 unique 512-token
# blocks shared through prefix groups, like production traces.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/zig-out/bin/metronome}
lines=${2:-1000000}
out=$root/bench/out
mkdir -p "$out"
command -v /usr/bin/time >/dev/null || "$root/scripts/ensure-deb" time
input=$out/mooncake-$lines.jsonl
if [ ! -s "$input" ]; then
    python3 - "$lines" > "$input" <<'PY'
import random, sys
n = int(sys.argv[1]); r = random.Random(1); t = 0
groups = max(1, n // 50)  # prefix groups: each a chain of up to 8 shared full blocks
for i in range(n):
    t += r.randint(0, 6)
    g = int(r.paretovariate(1.2)) % groups
    k = r.randint(1, 8)
    ids = [g * 16 + j for j in range(k)]
    length = k * 512
    if r.random() < 0.1:  # a unique partial tail block
        ids.append(10_000_000 + i)
        length += r.randint(1, 511)
    print('{"timestamp": %d, "input_length": %d, "output_length": %d, "hash_ids": [%s]}'
          % (t, length, r.randint(1, 1024), ", ".join(map(str, ids))))
PY
fi
bytes=$(stat -c %s "$input")
trace=$out/mooncake-$lines.jsonl.zst
# wall seconds, CPU seconds (user + sys) and peak RSS (MB) of a command, from GNU time.
# The machine may be shared: CPU seconds say what the program itself cost.
measure() {
    /usr/bin/time -v "$@" 2> "$out/time.txt" > /dev/null
    awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; w=s}
                /User time/ {u=$2} /System time/ {y=$2}
                /Maximum resident set size/ {r=$2/1024}
                END {printf "%s %.2f %.1f\n", w, u+y, r}' "$out/time.txt"
}
load=$(cut -d' ' -f1-3 /proc/loadavg)
read -r pack_s pack_c pack_rss < <(measure "$bin" pack -m bench --input-file "$input" -o "$trace")
read -r insp_s insp_c insp_rss < <(measure "$bin" inspect "$trace")
read -r expd_s expd_c expd_rss < <(measure "$bin" inspect --expand "$trace")
read -r zstd_s zstd_c zstd_rss < <(measure zstd -q -dc "$trace")
dec=$(zstd -q -dc "$trace" | wc -c)
read -r py_s py_c py_rss < <(measure python3 -c '
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)' "$input")
blocks=$("$bin" inspect --json "$trace" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["blocks"], j["block_refs"], j["requests"])')
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", b / 1e6 / s; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
echo "host: $(nproc) cores, $(uname -m), load average before the run: $load"
echo "input: $lines lines, $(mbps "$bytes" 1) MB; trace $(stat -c %s "$trace") bytes, $(mbps "$dec" 1) MB decompressed; blocks, block refs, requests: $blocks"
printf '%-30s %8s %8s %12s %12s %9s\n' "step" "wall s" "CPU s" "MB/s wall" "MB/s CPU" "peak MB"
row() { printf '%-30s %8s %8s %12s %12s %9s\n' "$1" "$2" "$3" "$(mbps "$4" "$2")" "$(mbps "$4" "$3")" "$5"; }
row "metronome pack (input)" "$pack_s" "$pack_c" "$bytes" "$pack_rss"
row "python3 json.loads (input)" "$py_s" "$py_c" "$bytes" "$py_rss"
row "metronome inspect (JSON)" "$insp_s" "$insp_c" "$dec" "$insp_rss"
row "metronome inspect --expand" "$expd_s" "$expd_c" "$dec" "$expd_rss"
row "zstd -dc (JSON)" "$zstd_s" "$zstd_c" "$dec" "$zstd_rss"
echo "CPU time: pack is $(ratio "$pack_c" "$py_c")x faster than python's json.loads alone; inspect costs $(ratio "$zstd_c" "$insp_c")x bare zstd -dc"

# Scale (ARCHITECTURE §2): ~10^4 requests over ~10^5 unique 512-token blocks. What the
# trace weighs against the prompt text it describes, and what reading it costs.
scale=$out/scale-10k.jsonl
if [ ! -s "$scale" ]; then
    python3 - > "$scale" <<'PY'
import random
r = random.Random(2); nid = 0; pool = []
for i in range(10000):
    k = r.randint(5, 20)
    base = r.choice(pool)[:r.randint(1, 5)] if pool and r.random() < 0.5 else []
    ids = base + list(range(nid, nid + k)); nid += k
    pool.append(ids)
    print('{"timestamp": %d, "input_length": %d, "output_length": 100, "hash_ids": %s}'
          % (i * 10, len(ids) * 512, ids))
PY
fi
read -r s_pack_s s_pack_c s_pack_rss < <(measure "$bin" pack -m bench --input-file "$scale" -o "$out/scale.jsonl.zst")
read -r s_exp_s s_exp_c s_exp_rss < <(measure "$bin" inspect --expand "$out/scale.jsonl.zst")
"$bin" inspect --expand --json "$out/scale.jsonl.zst" | python3 -c '
import json, sys, os
j = json.load(sys.stdin); b = j["body_bytes"]
print("scale: %d requests, %d unique blocks, %d block refs; bodies spelled out: %.1f MB; trace: %.2f MB (%.2f MB decompressed)"
      % (j["requests"], j["blocks"], j["block_refs"], b["avg"] * b["count"] / 1e6,
         j["compressed_bytes"] / 1e6, j["decompressed_bytes"] / 1e6))'
echo "scale: pack $s_pack_c CPU s, peak $s_pack_rss MB; read and expand every body: $s_exp_c CPU s, peak $s_exp_rss MB"
