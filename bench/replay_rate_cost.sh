#!/usr/bin/env bash
# What one request at a fixed rate costs the client in counts a shared machine blurs
# least: system calls and context switches per request (perf stat tracepoints
# raw_syscalls:sys_enter and sched:sched_switch, every thread), beside the CPU time per
# request (perf's task-clock, which a busy machine does inflate), for metronome replay at
# a constant RATE against the mock (non-streaming, instant replies, one worker) with
# --spin-us 0 and 30 and with --send-tick-us 1000 (sends held to 1 ms ticks, as wrk2's),
# and for wrk2 at the same rate when WRK2=/path/to/wrk2 is set (as in
# bench/replay_arrival.sh: not packaged, built by hand). Plus the floor of any client
# that wakes once per request: a bare clock_nanosleep loop at the same rate (the cost of
# one wake-up on this machine), built with zig cc from a few lines below.
#   [WRK2=/path/to/wrk2] bench/replay_rate_cost.sh [BINARY] [RATES] [SECONDS]
#                                                  (defaults: "5000 10000" 3)
. "$(dirname "$0")/replay_common.sh"
rates=${2:-5000 10000} secs=${3:-3}
command -v perf >/dev/null || "$root/scripts/ensure-deb" linux-perf
"$bin" pack -m m --request-count 20000 --isl 16 --osl 1 -o "$out/t.jsonl.zst" 2>/dev/null
body=$("$bin" inspect --bodies "$out/t.jsonl.zst" 2>/dev/null | head -1 || true)
python3 -c "import json,sys; b=sys.argv[1]; print('wrk.method = \"POST\"\nwrk.body = ' + json.dumps(b) + '\nwrk.headers[\"Content-Type\"] = \"application/json\"')" "$body" >"$out/post.lua"
cat >"$out/wake.c" <<'C'
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv)
{
    long gap = atol(argv[1]), n = atol(argv[2]);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    for (long i = 0; i < n; i++) {
        t.tv_nsec += gap;
        while (t.tv_nsec >= 1000000000) {
            t.tv_nsec -= 1000000000;
            t.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
    }
    return 0;
}
C
zig=$(command -v zig || echo "$root/.tools/zig/zig")
"$zig" cc -O2 -o "$out/wake" "$out/wake.c"
events=task-clock,raw_syscalls:sys_enter,sched:sched_switch
# per_request LABEL PERFOUT REQUESTS: prints and records the three counts per request
per_request() {
    python3 - "$@" <<'PY'
import sys
label, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
v = {}
for l in open(path):
    f = l.strip().split(",")
    if len(f) > 3 and f[0] and f[0][0].isdigit():
        v[f[2]] = float(f[0])
print("%s: %d requests; %.2f system calls, %.2f context switches, %.1f us CPU (task-clock) per request" % (
    label, n, v["raw_syscalls:sys_enter"] / n, v["sched:sched_switch"] / n, v["task-clock"] * 1e3 / n))
print(v["raw_syscalls:sys_enter"] / n, v["sched:sched_switch"] / n, v["task-clock"] * 1e3 / n, file=open(path + ".v", "w"))
PY
}
for rate in $rates; do
    n=$((rate * secs))
    for spin in 0 30 tick1000; do
        opt=(--spin-us "$spin") lbl="spin $spin"
        [ "$spin" = tick1000 ] && opt=(--send-tick-us 1000) lbl="tick 1000 us"
        start_mock "mock-$rate-$spin" --ttft 0 --itl 0 --osl 1
        perf stat -x, -e "$events" -o "$out/m-$rate-$spin.perf" $CLIENT "$bin" replay "$out/t.jsonl.zst" \
            --url "127.0.0.1:$port" --request-rate "$rate" --arrival-pattern constant --request-count "$n" \
            --workers 1 "${opt[@]}" --no-server-metrics -o "$out/run-$rate-$spin" -q
        stop_mocks
        per_request "metronome $rate/s $lbl" "$out/m-$rate-$spin.perf" "$n"
        read -r sc sw cpu <"$out/m-$rate-$spin.perf.v"
        result "rate_syscalls_per_request_${rate}_spin$spin" "$sc"
        result "rate_switches_per_request_${rate}_spin$spin" "$sw"
        result "rate_cpu_per_request_${rate}_spin$spin" "$cpu" us
    done
    if [ -n "${WRK2:-}" ] && [ -x "$WRK2" ]; then
        start_mock "mock-wrk2-$rate" --ttft 0 --itl 0 --osl 1 --timing-log "$out/timing-wrk2-$rate.jsonl"
        perf stat -x, -e "$events" -o "$out/w2-$rate.perf" $CLIENT "$WRK2" -t1 -c50 -R"$rate" -d"${secs}s" \
            -s "$out/post.lua" "http://127.0.0.1:$port/v1/chat/completions" >"$out/wrk2-$rate.out" 2>&1
        stop_mocks
        wn=$(grep -c . "$out/timing-wrk2-$rate.jsonl")
        per_request "wrk2 -R$rate" "$out/w2-$rate.perf" "$wn"
        read -r sc sw cpu <"$out/w2-$rate.perf.v"
        result "wrk2_syscalls_per_request_${rate}" "$sc"
        result "wrk2_switches_per_request_${rate}" "$sw"
        result "wrk2_cpu_per_request_${rate}_perf" "$cpu" us
    else
        echo "wrk2 row skipped: set WRK2=/path/to/wrk2 (docs/benchmarks.md)"
    fi
    perf stat -x, -e "$events" -o "$out/wake-$rate.perf" $CLIENT "$out/wake" $((1000000000 / rate)) "$n"
    per_request "bare clock_nanosleep loop, one wake-up per 1/$rate s" "$out/wake-$rate.perf" "$n"
    read -r sc sw cpu <"$out/wake-$rate.perf.v"
    result "wake_cpu_per_wakeup_${rate}" "$cpu" us
done
