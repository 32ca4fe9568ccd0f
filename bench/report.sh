#!/usr/bin/env bash
# Times every `metronome report` export on one core over a generated run dir and
# reports peak RSS, against the issue's targets (<= 10 s, <= 256 MB per export), beside
# two peers measured in the same run on the same input: `zstd -dc` (the floor: just
# decompressing the records) and a Python json.loads pass (what a cJSON-per-line or
# scripting approach costs).
#   bench/report.sh [BINARY] [RECORDS] [CHUNKS]      (defaults: zig-out/bin/metronome 1000000 100)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/zig-out/bin/metronome}
n=${2:-1000000}
chunks=${3:-100}
out=$root/bench/out/report
mkdir -p "$out"
zig=$root/.tools/zig/zig
[ -x "$out/report_gen" ] && [ "$out/report_gen" -nt "$root/bench/report_gen.c" ] ||
    "$zig" cc -O2 -o "$out/report_gen" "$root/bench/report_gen.c"
run=$out/run-$n-$chunks
if [ ! -s "$run/records.jsonl.zst" ]; then
    mkdir -p "$run"
    echo "generating $n records x ~$chunks chunks ..."
    "$out/report_gen" "$run" "$n" "$chunks" 1 | zstd -q -3 -T2 >"$run/records.jsonl.zst.tmp"
    mv "$run/records.jsonl.zst.tmp" "$run/records.jsonl.zst"
fi
comp=$(stat -c %s "$run/records.jsonl.zst")
echo "input: $run ($n records, $((comp / 1048576)) MiB compressed)"
echo "host: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: other builds may run)"
"$bin" --version | head -1
# The machine is shared: wall time includes waiting for the core, so the CPU time the
# process used (user + sys) is printed beside it and the targets are judged on both.
one() { # label command...: prints wall s, cpu s (user+sys), peak RSS MB
    local label=$1
    shift
    /usr/bin/time -f "%e %U %S %M" -o "$out/time.txt" taskset -c 0 "$@" >/dev/null 2>"$out/err.txt" ||
        { cat "$out/err.txt"; exit 1; }
    read -r wall user sys rss <"$out/time.txt"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')
    printf '%-34s %8.2f s %8.2f s %8.0f MB\n' "$label" "$wall" "$cpu" "$((rss / 1024))"
    echo "$label $wall $cpu $((rss / 1024))" >>"$out/results.txt"
}
: >"$out/results.txt"
printf '%-34s %10s %10s %11s\n' "export (one core: taskset -c 0)" "wall" "cpu" "peak RSS"
one "zstd -dc (decompress only)" sh -c "zstd -dc '$run/records.jsonl.zst' >/dev/null"
for e in console json csv jsonl html; do
    one "metronome report --exports $e" "$bin" report --exports "$e" "$run" -o "$out/exp-$e"
done
one "metronome report (all exports)" "$bin" report -q --exports all "$run" -o "$out/exp-all"
if [ "${PYTHON_PEER:-1}" = 1 ]; then
    # Python's json module on a 10% sample, scaled x10 (a full pass takes minutes).
    sample=$((n / 10))
    one "python json.loads, 10% sample" sh -c "zstd -dc '$run/records.jsonl.zst' | head -n $sample |
        python3 -c 'import sys,json
for l in sys.stdin: json.loads(l)'"
fi
awk -v n="$n" '
    /^zstd/ { zw=$(NF-2); zc=$(NF-1) }
    /^metronome report --exports/ { if ($(NF-2) > maxw) maxw=$(NF-2); if ($(NF-1) > maxc) maxc=$(NF-1) }
    /^metronome report \(all/ { aw=$(NF-2); ac=$(NF-1); allrss=$NF }
    /^python/ { pc=$(NF-1)*10 }
    END {
        printf "\nall exports in one process: %.2f s cpu (%.0f records/s), %.1fx the cpu of zstd -dc alone; %.2f s wall\n", ac, n/ac, ac/zc, aw
        if (pc) printf "python json.loads on every line (scaled from 10%%): %.1f s cpu = %.1fx the cpu of all metronome exports together\n", pc, pc/ac
        printf "target <= 10 s per export: slowest single export %.2f s cpu (%s), %.2f s wall (%s)\n", maxc, (maxc<=10?"met":"MISSED"), maxw, (maxw<=10?"met":"MISSED on this shared machine")
        printf "target <= 256 MB: peak %d MB (%s)\n", allrss, (allrss<=256?"met":"MISSED")
    }' "$out/results.txt"
