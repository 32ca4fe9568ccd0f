#!/usr/bin/env bash
# Times `metronome report` over a 32-point sweep (issue 12: under 5 s on one core): 32
# run dirs of 10,000 records each (concurrency 1..32, ~20 chunks a record, written once
# by tests/e2e/gen_runs.py and kept), reported together on one core (taskset -c $CPU), with
# the exports a sweep report writes (html with the sweep table, Pareto and trend charts;
# json and csv per point) and with html alone. Prints wall and CPU (user + sys) seconds
# and the load average before each run: the machine is shared, judge on CPU time. REPS
# runs of each (default 5): CPU min / median / max; BUSY when a run started with the
# 1-minute load average above 1. CPU=N pins to another core (default 1).
#   bench/report_sweep.sh [BINARY] [POINTS] [RECORDS]   (defaults: zig-out/bin/metronome 32 10000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/zig-out/bin/metronome}
points=${2:-32}
n=${3:-10000}
reps=${REPS:-5}
cpu=${CPU:-1}
out=$root/bench/out/report_sweep
data=$out/sweep-$points-$n
mkdir -p "$out"
if [ ! -s "$data/p$points/run.json" ]; then
    echo "generating $points points x $n records ..."
    for c in $(seq 1 "$points"); do
        python3 "$root/tests/e2e/gen_runs.py" "$data/p$c" --records "$n" --concurrency "$c" \
            --seed "$c" --ttft-ms $((30 + c * 3)) --osl 20
    done
fi
dirs=()
for c in $(seq 1 "$points"); do dirs+=("$data/p$c"); done
"$bin" --version | head -1
one() { # label args...: REPS runs; CPU (user + sys) min / median / max, wall median
    local label=$1
    shift
    local load cpus=() walls=() rss=0 busy=""
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    for _ in $(seq 1 "$reps"); do
        awk '{exit !($1 > 1)}' /proc/loadavg && busy=" BUSY"
        rm -rf "$out/o"
        /usr/bin/time -f "%e %U %S %M" -o "$out/time.txt" taskset -c "$cpu" "$bin" report -q "$@" \
            "${dirs[@]}" -o "$out/o" >/dev/null 2>"$out/err.txt" || { cat "$out/err.txt"; exit 1; }
        read -r wall user sys r <"$out/time.txt"
        cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')")
        walls+=("$wall")
        rss=$((r > rss ? r : rss))
    done
    mapfile -t cpus < <(printf '%s\n' "${cpus[@]}" | sort -n)
    mapfile -t walls < <(printf '%s\n' "${walls[@]}" | sort -n)
    printf '%-40s cpu min %5.2f / median %5.2f / max %5.2f s  wall median %6.2f s  peak RSS %4d MB  (%d runs; load before: %s)%s\n' \
        "$label" "${cpus[0]}" "${cpus[$((reps / 2))]}" "${cpus[$((reps - 1))]}" "${walls[$((reps / 2))]}" \
        "$((rss / 1024))" "$reps" "$load" "$busy"
}
one "report --exports html,json,csv" --exports html,json,csv
one "report --exports html" --exports html
one "report --exports none (reading + stats)" --exports none
