#!/usr/bin/env bash
# The merge's cost (issue 14: "the merge of 16 shards of 1M records each takes under 2x the
# time of reporting the same 16M records from one run"): `metronome report --exports json`
# over SHARDS shard dirs of PER_SHARD records each, against the same SHARDS x PER_SHARD
# records as one run. bench/report_gen.c writes both in one pass: the single run's lines,
# and the same lines dealt round-robin (as replay --shard deals single-turn entries) into
# SHARDS dirs whose run.json say shard I of SHARDS of one trace; so both reports read the
# same records and must give the same numbers (checked: the metric blocks are compared).
#   bench/report_shards.sh [BINARY] [PER_SHARD] [SHARDS] [CHUNKS]
#   (defaults: zig-out/bin/metronome 1000000 16 10; ROUNDS=3 alternating runs of each)
# Prints wall, CPU (user + sys) and peak RSS of every run, then min / median / max of each.
# The machine is shared: a run during which other processes used more than 10 % of one
# core (the machine's busy time in /proc/stat minus the run's own CPU time) is marked
# BUSY, and CPU time, not wall time, is the figure to judge then. Runs under nice -n 10.
# Disk: ~110 MB per 10^6 records for each copy (3.5 GB at the defaults); memory: the report
# holds every record, 8.1 GB peak RSS at the defaults (docs/scale.md): check `free -m` first.
# Time: each report took 10-15 min of wall time (200 s of CPU) at nice 10 on the shared
# 2-core machine; ROUNDS=2 halves that.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/zig-out/bin/metronome}
per=${2:-1000000}
shards=${3:-16}
chunks=${4:-10}
n=$((per * shards))
out=$root/bench/out/report_shards
mkdir -p "$out"
zig=$root/.tools/zig/zig
gen=$root/bench/out/report/report_gen
mkdir -p "$(dirname "$gen")"
[ -x "$gen" ] && [ "$gen" -nt "$root/bench/report_gen.c" ] ||
    "$zig" cc -O2 -o "$gen" "$root/bench/report_gen.c"
single=$out/single-$n-$chunks
sharded=$out/sharded-$n-$chunks-$shards
if [ ! -s "$single/records.jsonl.zst" ] || [ ! -s "$sharded/shard-$((shards - 1))/records.jsonl.zst" ]; then
    rm -rf "$single" "$sharded"
    mkdir -p "$single" "$sharded"
    echo "generating $n records x ~$chunks chunks, and the same in $shards shards ..."
    t=$(date +%s)
    nice -n 10 "$gen" "$single" "$n" "$chunks" 1 "$shards" "$sharded" |
        nice -n 10 zstd -q -1 -T2 >"$single/records.jsonl.zst.tmp"
    mv "$single/records.jsonl.zst.tmp" "$single/records.jsonl.zst"
    echo "generated in $(($(date +%s) - t)) s: $(du -sh "$single" | cut -f1) + $(du -sh "$sharded" | cut -f1)"
fi
"$bin" --version | head -1
echo "host: $(nproc) cores, $(awk '/MemAvailable/ {printf "%d MB available", $2/1024}' /proc/meminfo);" \
    "$n records x ~$chunks chunks; $shards shards of $per"
busy_s() { # the machine's non-idle CPU seconds so far (/proc/stat: user nice system irq softirq steal)
    awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { print ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat
}
one() { # label command...
    local label=$1
    shift
    local load b0 b1
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    b0=$(busy_s)
    /usr/bin/time -f "%e %U %S %M" -o "$out/time.txt" nice -n 10 "$@" >/dev/null 2>"$out/err.txt" ||
        { cat "$out/err.txt" "$out/time.txt"; exit 1; }
    b1=$(busy_s)
    read -r wall user sys rss <"$out/time.txt"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')
    # others' CPU seconds during the run, as a share of one core
    others=$(awk -v a="$b0" -v b="$b1" -v c="$cpu" -v w="$wall" \
        'BEGIN{o = (b - a - c) / (w > 0 ? w : 1); printf "%.2f", o < 0 ? 0 : o}')
    mark=$(awk -v o="$others" 'BEGIN{print (o > 0.10) ? "BUSY" : "quiet"}')
    printf '%-30s wall %7.2f s  cpu %7.2f s  peak RSS %6d MB  others %.2f cores (%s; load %s)\n' \
        "$label" "$wall" "$cpu" "$((rss / 1024))" "$others" "$mark" "$load"
    echo "$label|$wall|$cpu|$((rss / 1024))|$others|$mark|$load" >>"$out/results.txt"
}
: >"$out/results.txt"
rounds=${ROUNDS:-3}
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
def mmm(rs, k):
    xs = [float(r[k]) for r in rs]
    return min(xs), med(xs), max(xs)
for k, name, unit in ((1, "wall", "s"), (2, "cpu", "s"), (3, "peak RSS", "MB")):
    a, b = mmm(single, k), mmm(merged, k)
    print("%-8s one run min/median/max %s %s; merged %s %s; merged / one run (medians) %.2fx%s" %
          (name, "/".join("%.2f" % x for x in a), unit, "/".join("%.2f" % x for x in b), unit,
           b[1] / a[1], " (target < 2x)" if k < 3 else ""))
busy = sum(r[5] == "BUSY" for r in rows)
print("%d of %d runs BUSY (others used > 10 %% of a core)" % (busy, len(rows)))
def blocks(d):
    j = json.load(open(os.path.join(out, d, "profile_export_aiperf.json")))
    return {k: v for k, v in j.items() if isinstance(v, dict) and "unit" in v}, j
a, _ = blocks("exp-single")
b, j = blocks("exp-merged")
assert set(a) == set(b), set(a) ^ set(b)
bad = [k for k in a for f in a[k] if f not in ("avg", "std", "sum") and a[k][f] != b[k][f]]
assert not bad, bad
assert a["request_count"]["avg"] == b["request_count"]["avg"], (a["request_count"], b["request_count"])
ss = j["metronome"]["shard_set"]
assert ss["count"] > 1 and not ss["partial"], ss
print("same metric blocks, request_count %d (percentiles, min, max, counts exact; avg/std/sum "
      "summed in another order)" % a["request_count"]["avg"])
PY
