#!/usr/bin/env bash
# What the server-seen lateness tail at a fixed rate is made of (issue 16 item 2): metronome
# replay at RATE req/s (constant, one worker, default --spin-us 30, instant replies) against
# the mock pinned to CPU 1, with the scheduler's context switches and wake-ups recorded on
# every CPU (perf record -e sched:sched_switch,sched:sched_wakeup -k CLOCK_MONOTONIC, the
# records' clock). bench/tail_breakdown.py then splits the lateness of every request at or
# above the server-seen p99 into: asleep past the due time (timer wake-up), waiting for a
# new connection's handshake, runnable but preempted (and by which threads), on the CPU
# but busy, and the wire (send call and loopback). Three placements, one run each:
#   free       the kernel places the client's threads (the mock alone is pinned)
#   pinned     the whole client on CPU 0 (worker, scheduler and writer share it)
#   split      the worker alone on CPU 0; the scheduler and writer moved to CPU 1 (the mock's)
#   fifo       (only when asked: TAIL_PLACES="free fifo") the kernel's placement, with the
#              worker thread alone under SCHED_FIFO (chrt -f -p 1), so no ordinary thread
#              can preempt it: what remains of the tail is not preemption by other work
# The perf trace itself costs CPU (a few % at 10,000 req/s): lateness here is a little
# worse than in bench/replay_arrival.sh; the shares are what this script is for.
#   bench/replay_tail.sh [BINARY] [RATE] [SECONDS]     (defaults: 10000 3)
. "$(dirname "$0")/replay_common.sh"
rate=${2:-10000} secs=${3:-3}
command -v perf >/dev/null || "$root/scripts/ensure-deb" linux-perf
if ! perf record -q -e sched:sched_switch -a -o "$out/probe.data" -- true 2>/dev/null; then
    echo "replay_tail.sh: perf cannot record sched tracepoints here (perf_event_paranoid, no root?): no breakdown"
    exit 0
fi
"$bin" pack -m m --request-count 20000 --isl 16 --osl 1 -o "$out/t.jsonl.zst" 2>/dev/null
n=$((rate * secs))
for place in ${TAIL_PLACES:-free pinned split}; do
    start_mock "mock-$place" --ttft 0 --itl 0 --osl 1 --timing-log "$out/timing-$place.jsonl"
    client=""
    [ "$place" != free ] && [ "$(nproc)" -ge 2 ] && client="taskset -c 0"
    perf record -q -k CLOCK_MONOTONIC -e sched:sched_switch,sched:sched_wakeup -a -o "$out/sched-$place.data" -- \
        $client "$bin" replay "$out/t.jsonl.zst" --url "127.0.0.1:$port" --request-rate "$rate" \
        --arrival-pattern constant --request-count "$n" --workers 1 -o "$out/run-$place" -q &
    rp=$!
    if [ "$place" = fifo ]; then
        for _ in $(seq 100); do
            pid=$(pgrep -f "replay $out/t.jsonl.zst --url 127.0.0.1:$port" | head -1 || true)
            [ -n "$pid" ] && grep -qs replay-w0 /proc/"$pid"/task/*/comm && break
            sleep 0.01
        done
        for t in /proc/"$pid"/task/*; do
            [ "$(cat "$t/comm" 2>/dev/null)" = replay-w0 ] && chrt -f -p 1 "${t##*/}"
        done
    fi
    if [ "$place" = split ] && [ "$(nproc)" -ge 2 ]; then
        # The replay process is perf's child; move its scheduler and writer threads once
        # they exist (they are named), before most of the run.
        for _ in $(seq 50); do
            pid=$(pgrep -f "replay $out/t.jsonl.zst --url 127.0.0.1:$port" | head -1 || true)
            [ -n "$pid" ] && grep -qs replay-writer /proc/"$pid"/task/*/comm && break
            sleep 0.02
        done
        for t in /proc/"$pid"/task/*; do
            case "$(cat "$t/comm" 2>/dev/null)" in replay-sched | replay-writer) taskset -pc 1 "${t##*/}" >/dev/null ;; esac
        done
    fi
    wait "$rp"
    stop_mocks
    perf script -i "$out/sched-$place.data" -F cpu,time,event,trace 2>/dev/null >"$out/sched-$place.txt"
    j=$(python3 "$root/bench/arrival_join.py" "$out/run-$place" "$out/timing-$place.jsonl" "$place")
    b=$(python3 "$root/bench/tail_breakdown.py" "$out/run-$place" "$out/timing-$place.jsonl" "$out/sched-$place.txt" "$place")
    rm -f "$out/sched-$place.data" "$out/sched-$place.txt"
    read -r line p99 p999 < <(python3 -c "
import json, sys
j, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
shares = ', '.join(f\"{k[6:]} {v * 100:.0f} %\" for k, v in b.items() if k.startswith('share_'))
by = ', '.join(f'{k} {v * 100:.0f} %' for k, v in b['preempted_by'].items()) or 'nobody'
print(f\"{b['label']}: $rate req/s, {j['requests']} requests, {j['errors']} errors; at the server p50 {j['server_p50_us']} us, p99 {j['server_p99_us']} us, p99.9 {j['server_p99.9_us']} us; tail (>= p99, {b['tail_n']} requests, {b['tail_new_connections']} on a new connection): {shares}; preempted by: {by}\".replace(' ', '~'), j['server_p99_us'], j['server_p99.9_us'])" "$j" "$b")
    echo "${line//\~/ }"
    result "traced_server_lateness_p99_${rate}_$place" "$p99" us
    result "traced_server_lateness_p99.9_${rate}_$place" "$p999" us
done
