#!/usr/bin/env bash
# The merge's cost: `metronome report --exports json` over SHARDS shard dirs that together
# hold N records, against the same N records as one run (issue 14: under 2x). The shards are
# the single run's records dealt round-robin (as replay --shard deals single-turn entries)
# into SHARDS dirs whose run.json say shard I of SHARDS of one trace, so both reports read
# the same records and must give the same numbers (checked: the metric blocks are compared).
#   bench/report_shards.sh [BINARY] [RECORDS] [SHARDS] [CHUNKS]
#   (defaults: zig-out/bin/metronome 1000000 16 10)
# 16 shards of 1M records each (16M records) do not fit: the report holds every record in
# memory (521 MB at 1M records x 10 chunks, docs/benchmarks.md), so the default is 16 shards
# of 62,500 records (1M in all). The machine is shared: the load average is printed with
# each figure, and the CPU time (user + sys) beside the wall time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/zig-out/bin/metronome}
n=${2:-1000000}
shards=${3:-16}
chunks=${4:-10}
out=$root/bench/out/report_shards
mkdir -p "$out"
zig=$root/.tools/zig/zig
gen=$root/bench/out/report/report_gen
mkdir -p "$(dirname "$gen")"
[ -x "$gen" ] && [ "$gen" -nt "$root/bench/report_gen.c" ] ||
    "$zig" cc -O2 -o "$gen" "$root/bench/report_gen.c"
single=$out/single-$n-$chunks
if [ ! -s "$single/records.jsonl.zst" ]; then
    mkdir -p "$single"
    echo "generating $n records x ~$chunks chunks ..."
    "$gen" "$single" "$n" "$chunks" 1 | zstd -q -3 -T2 >"$single/records.jsonl.zst.tmp"
    mv "$single/records.jsonl.zst.tmp" "$single/records.jsonl.zst"
fi
set_shard() { # RUN_JSON_IN INDEX COUNT > RUN_JSON_OUT
    sed "s/\"shard\":{\"index\":0,\"count\":1}/\"shard\":{\"index\":$2,\"count\":$3}/" "$1"
}
sharded=$out/sharded-$n-$chunks-$shards
if [ ! -s "$sharded/shard-$((shards - 1))/records.jsonl.zst" ]; then
    rm -rf "$sharded"
    for i in $(seq 0 $((shards - 1))); do
        mkdir -p "$sharded/shard-$i"
        set_shard "$single/run.json" "$i" "$shards" >"$sharded/shard-$i/run.json"
    done
    zstd -dc "$single/records.jsonl.zst" |
        awk -v s="$shards" -v d="$sharded" '{ print > (d "/shard-" (NR - 1) % s "/records.jsonl") }'
    for i in $(seq 0 $((shards - 1))); do
        zstd -q --rm -3 "$sharded/shard-$i/records.jsonl"
    done
fi
"$bin" --version | head -1
echo "host: $(nproc) cores; $n records x ~$chunks chunks; $shards shards of $((n / shards))"
one() { # label command...
    local label=$1
    shift
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    /usr/bin/time -f "%e %U %S %M" -o "$out/time.txt" "$@" >/dev/null 2>"$out/err.txt" ||
        { cat "$out/err.txt"; exit 1; }
    read -r wall user sys rss <"$out/time.txt"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')
    printf '%-36s wall %7.2f s  cpu %7.2f s  peak RSS %5d MB  (load %s)\n' "$label" "$wall" \
        "$cpu" "$((rss / 1024))" "$load"
    echo "$label|$wall|$cpu|$((rss / 1024))|$load" >>"$out/results.txt"
}
: >"$out/results.txt"
rounds=${ROUNDS:-2}
for r in $(seq "$rounds"); do
    one "one run, $n records" "$bin" report -q --exports json "$single" -o "$out/exp-single"
    one "$shards shards merged" "$bin" report -q --exports json "$sharded" -o "$out/exp-merged"
done
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = [l.rstrip("\n").split("|") for l in open(os.path.join(out, "results.txt"))]
single = [r for r in rows if r[0].startswith("one run")]
merged = [r for r in rows if not r[0].startswith("one run")]
med = lambda xs: sorted(xs)[len(xs) // 2]
for k, name in ((1, "wall"), (2, "cpu")):
    a, b = med([float(r[k]) for r in single]), med([float(r[k]) for r in merged])
    print("merged / single %s (medians of %d rounds): %.2f s / %.2f s = %.2fx (target < 2x)" %
          (name, len(single), b, a, b / a))
    for x, y in zip(single, merged):
        print("  round: %.2f s / %.2f s = %.2fx (load %s, %s)" % (float(y[k]), float(x[k]),
                                                             float(y[k]) / float(x[k]), x[4], y[4]))
def blocks(d):
    j = json.load(open(os.path.join(out, d, "profile_export_aiperf.json")))
    return {k: v for k, v in j.items() if isinstance(v, dict) and "unit" in v}, j
a, _ = blocks("exp-single")
b, j = blocks("exp-merged")
assert set(a) == set(b), set(a) ^ set(b)
bad = [k for k in a for f in a[k] if f not in ("avg", "std", "sum") and a[k][f] != b[k][f]]
assert not bad, bad
ss = j["metronome"]["shard_set"]
assert ss["count"] > 1 and not ss["partial"], ss
print("same metric blocks (percentiles, min, max, counts exact; avg/std/sum summed in "
      "another order)")
PY
