#!/usr/bin/env bash
# Reruns the benchmark page (docs/benchmarks.md): each script 5 times (issue 16 figures) or 3
# (the others), the load average noted before each run, and prints a ready-to-paste markdown summary:
# each figure's min / median / max over the runs, the script and its arguments, the
# binary, the load before the runs. Run it ALONE on an idle machine (it warns when the
# load average is above 1). Works from a fresh clone: builds the binary when missing and
# installs what it needs through scripts/ensure-deb.
#   [WRK2=/path/to/wrk2] bench/all.sh [--quick] [BINARY]   (RUNS=N: N runs of every script)
#     --quick   smoke test: one run of each script at small sizes (about 3 minutes)
# Output: bench/out/all/ (one log per script, results.jsonl, summary.md); the summary
# is also printed at the end. Full mode budget: under 30 minutes on 2 cores.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=0
[ "${1:-}" = "--quick" ] && { quick=1; shift; }
bin=${1:-$root/zig-out/bin/metronome}
cd "$root"
[ -x "$bin" ] || ./dev build || exit 1
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
"$root/scripts/ensure-deb" wrk zstd time nginx-light openssl python3 >/dev/null || exit 1
out=$root/bench/out/all
rm -rf "$out" && mkdir -p "$out"
if [ -n "${WRK2:-}" ] && [ -x "$WRK2" ]; then
    echo "bench/all.sh: fixed-rate peer wrk2: $WRK2"
else
    echo "bench/all.sh: WRK2 not set: the wrk2 rows of replay_arrival.sh are skipped (wrk2 is not packaged; docs/benchmarks.md says how the page's wrk2 figures were made)" >&2
fi
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l > 1) }'; then
    echo "bench/all.sh: load average $load: figures from a busy machine are not the page's figures" >&2
fi
# NAME|SCRIPT ARGS (full)|SCRIPT ARGS (quick)|RUNS (full). The issue-16 figures get 5 runs
# (RUNS overrides); 10,000 streams 3; the older pages' throughput figures (mock, pack,
# report) 2, to stay within 30 minutes: about 1,780 s from the per-run estimates in
# docs/benchmarks.md.
jobs=(
    "closed loop vs wrk|replay_wrk.sh BIN 64 10 1|replay_wrk.sh BIN 64 3 1|${RUNS:-5}"
    "closed loop, syscalls and instructions per request|replay_cost.sh BIN 4000 2|replay_cost.sh BIN 1000 1|${RUNS_COST:-3}"
    "fixed rate, seen by the server|replay_arrival.sh BIN '5000 10000' 4|replay_arrival.sh BIN 5000 2|${RUNS:-5}"
    "fixed rate, syscalls and wake-ups per request|replay_rate_cost.sh BIN '5000 10000' 3|replay_rate_cost.sh BIN 5000 1|${RUNS_COST:-2}"
    "what the lateness tail is made of|replay_tail.sh BIN 10000 3|replay_tail.sh BIN 2000 1|${RUNS_TAIL:-1}"
    "memory vs run and output length|replay_mem.sh BIN 10 60 10000|replay_mem.sh BIN 2 6 500|${RUNS:-5}"
    "TTFT error at 1,000 streams|replay_ttft.sh BIN 1000|replay_ttft.sh BIN 200|${RUNS:-5}"
    "10,000 streams, TLS|replay_scale.sh BIN 10000 1000|replay_scale.sh BIN 500 200|${RUNS:-3}"
    "mock vs nginx, uvicorn|mock_wrk.sh 3|mock_wrk.sh 2|${RUNS:-2}"
    "pack and inspect|pack.sh BIN 1000000|pack.sh BIN 100000|${RUNS:-2}"
    "report exports|report.sh BIN 1000000 100|report.sh BIN 50000 20|${RUNS:-2}"
)
# The load average cannot tell a busy machine from this script's own previous run (on 2
# cores one benchmark alone holds it near 1-2), so each run also measures the CPU that
# processes OUTSIDE it used meanwhile: the machine's busy time (/proc/stat: user, nice,
# system, irq, softirq and the hypervisor's steal) minus the run's own (a cpuacct cgroup
# that every process of the run inherits). Runs where others used more than 0.1 of a core
# are marked BUSY in the summary. Without a writable cpuacct hierarchy the load average is
# all there is.
cg=/sys/fs/cgroup/cpuacct/metronome-bench.$$
mkdir "$cg" 2>/dev/null && [ -w "$cg/tasks" ] || cg=
trap '[ -n "$cg" ] && rmdir "$cg" 2>/dev/null' EXIT
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# The hypervisor's steal on its own too: on a shared host it comes in slices of
# milliseconds taken from a running vCPU, which is what a lateness tail is made of
# (bench/replay_arrival.sh's machine floor), even when it is a small part of a core.
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }
hz=$(getconf CLK_TCK)
start=$(date +%s)
: >"$out/results.jsonl"
: >"$out/runs.jsonl"
for job in "${jobs[@]}"; do
    IFS='|' read -r name full small runs <<<"$job"
    [ $quick = 1 ] && runs=1
    cmdline=$([ $quick = 1 ] && echo "$small" || echo "$full")
    script=${cmdline%% *}
    for run in $(seq "$runs"); do
        l=$(cut -d' ' -f1-3 /proc/loadavg)
        t0=$(date +%s)
        echo "== $name: bench/$cmdline (run $run/$runs, load $l)" | tee -a "$out/$script.log"
        eval "set -- ${cmdline#* }"
        args=()
        for a in "$@"; do [ "$a" = BIN ] && args+=("$bin") || args+=("$a"); done
        w0=$(date +%s%N) b0=$(busy_ticks) s0=$(steal_ticks) u0=$([ -n "$cg" ] && cat "$cg/cpuacct.usage" || echo 0)
        (
            [ -n "$cg" ] && echo "$BASHPID" >"$cg/tasks"
            BENCH_RESULTS="$out/results.jsonl" BENCH_RUN=$run bash "$root/bench/$script" "${args[@]}" 2>&1 |
                tee -a "$out/$script.log" | tee "$out/last.log" | grep -v '^#' | sed 's/^/   /'
        )
        w1=$(date +%s%N) b1=$(busy_ticks) s1=$(steal_ticks) u1=$([ -n "$cg" ] && cat "$cg/cpuacct.usage" || echo 0)
        # cores used by other processes during the run; -1 when it cannot be measured
        other=$([ -n "$cg" ] && awk -v b=$((b1 - b0)) -v hz="$hz" -v u=$((u1 - u0)) -v w=$((w1 - w0)) \
            'BEGIN { o = (b / hz - u / 1e9) / (w / 1e9); printf "%.3f", o < 0 ? 0 : o }' || echo -1)
        steal=$(awk -v s=$((s1 - s0)) -v hz="$hz" -v w=$((w1 - w0)) 'BEGIN { printf "%.3f", s / hz / (w / 1e9) }')
        [ "$other" != -1 ] && echo "   (other processes used $other of a core during this run, the host's steal $steal of it)"
        BENCH_RUN=$run python3 "$root/bench/all_extract.py" "$script" "$out/last.log" >>"$out/results.jsonl"
        printf '{"script":"%s","cmd":"%s","run":%d,"load":"%s","other_cores":%s,"steal_cores":%s,"seconds":%d}\n' "$script" \
            "bench/$cmdline" "$run" "$l" "$other" "$steal" $(($(date +%s) - t0)) >>"$out/runs.jsonl"
    done
done
desc=$(git -C "$root" describe --always --dirty --tags 2>/dev/null || echo "not a git checkout")
python3 "$root/bench/all_extract.py" --summary "$out" "$("$bin" --version | head -1); checkout $desc" $(($(date +%s) - start)) $quick \
    | tee "$out/summary.md"
