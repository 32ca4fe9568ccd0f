#!/usr/bin/env bash
# Fixed-rate sending, seen by the server: metronome replay at a constant RATE against the
# mock (non-streaming, instant replies), one worker, with the default 30 us spin, with
# --spin-us 0, with a spin as long as the gap between sends ("gap": the worker never
# sleeps, a core's worth of CPU chosen knowingly, which shows what a client can reach on
# this machine against the floor below), and with --send-tick-us 1000 ("tick1000": sends
# held to the end of 1 ms ticks, wrk2's own granularity: its CPU beside wrk2's at the same
# accuracy). The figure of record is arrival at the server: the mock's --timing-log
# arrive_ns (the kernel receive time of the request's last byte) joined by X-Request-Id,
# minus the intended send time (bench/arrival_join.py); our own t_start - t_intended is
# printed beside it. Client CPU per request from /usr/bin/time, less the CPU of a
# one-request run (start-up), so short runs are not charged for it.
# Peers for the CPU: wrk (Debian) paced by a Lua delay() to about the same rate over 50
# connections, one thread; and wrk2 (wrk with a constant-rate scheduler, the issue's
# peer) when WRK2=/path/to/wrk2 names a binary: wrk2 is not packaged by Debian and this
# project neither vendors nor builds code fetched from GitHub, so the person running the
# benchmark builds it (docs/benchmarks.md says how the page's figures were made). wrk2's
# row also gets its arrival lateness from the mock's log (bench/wrk2_join.py: a lower
# bound, its intended times being rebuilt from its per-connection grid). Without WRK2
# the row is skipped with a message.
# Targets (issue 16): server-seen p99 <= 50 us and p99.9 <= 500 us at 10,000 req/s;
# CPU per request <= 2x the fixed-rate peer's.
#   [WRK2=/path/to/wrk2] bench/replay_arrival.sh [BINARY] [RATES] [SECONDS]
#                                            (defaults: "1000 5000 10000" 10)
. "$(dirname "$0")/replay_common.sh"
rates=${2:-1000 5000 10000} secs=${3:-10}
command -v wrk >/dev/null || "$root/scripts/ensure-deb" wrk
command -v /usr/bin/time >/dev/null || "$root/scripts/ensure-deb" time
"$bin" pack -m m --request-count 20000 --isl 16 --osl 1 -o "$out/t.jsonl.zst" 2>/dev/null
# The machine's own floor (bench/sched_floor.c): how late a thread that only spins on the
# clock sees each instant of the same schedule. On a VM the host takes the vCPU away now
# and then (steal); no client can be more exact than this, and it moves from minute to
# minute, so it is measured right before each rate's runs and printed beside them.
"$root/.tools/zig/zig" cc -O2 -std=c11 -Wall -Wextra -Werror -o "$out/sched_floor" "$root/bench/sched_floor.c"
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }
tick_ms=$((1000 / $(getconf CLK_TCK)))
body=$("$bin" inspect --bodies "$out/t.jsonl.zst" 2>/dev/null | head -1 || true)
# The fixed cost of a run (start-up: reading and checking the trace, threads, preflight),
# subtracted from each run's CPU so the figure is per request: one request, same settings.
start_mock mock-base --ttft 0 --itl 0 --osl 1
/usr/bin/time -f "%U %S" -o "$out/base.time" "$bin" replay "$out/t.jsonl.zst" --url "127.0.0.1:$port" \
    --request-rate 1000 --request-count 1 --workers 1 -o "$out/run-base" -q
stop_mocks
base=$(awk '{print $1 + $2}' "$out/base.time")
echo "fixed cost of a run (one request): $base s CPU, subtracted below"
for rate in $rates; do
    n=$((rate * secs))
    f=$("$out/sched_floor" "$rate" "$secs")
    python3 -c "
import json, sys
f = json.loads(sys.argv[1])
print(f\"machine floor at $rate/s (a thread spinning alone, $secs s): p50 {f['p50_us']} us, p99 {f['p99_us']} us, p99.9 {f['p99.9_us']} us, max {f['max_us']} us; it lost the CPU {f['stalls_over_50us']} times for > 50 us ({f['over_500us']} > 500 us, longest {f['max_stall_us']} us)\")" "$f"
    result "machine_floor_p99_$rate" "$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['p99_us'])" "$f")" us
    result "machine_floor_p99.9_$rate" "$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['p99.9_us'])" "$f")" us
    for tag in ${SPINS:-30 0 gap tick1000}; do
        opt=(--spin-us "$tag") lbl="$rate/s spin $tag"
        if [ "$tag" = gap ]; then
            opt=(--spin-us $((1000000 / rate))) lbl="$rate/s spin $((1000000 / rate)) (the whole gap)"
        elif [ "$tag" = tick1000 ]; then # wrk2's own granularity, chosen knowingly
            opt=(--send-tick-us 1000) lbl="$rate/s tick 1000 us (sends held to 1 ms ticks, as wrk2's)"
        fi
        start_mock "mock-$rate-$tag" --ttft 0 --itl 0 --osl 1 --timing-log "$out/timing-$rate-$tag.jsonl"
        st0=$(steal_ticks)
        /usr/bin/time -f "%U %S" -o "$out/m.time" $CLIENT "$bin" replay "$out/t.jsonl.zst" --url "127.0.0.1:$port" \
            --request-rate "$rate" --arrival-pattern constant --request-count "$n" --workers 1 \
            "${opt[@]}" -o "$out/run-$rate-$tag" -q
        steal=$((($(steal_ticks) - st0) * tick_ms))
        stop_mocks
        j=$(python3 "$root/bench/arrival_join.py" "$out/run-$rate-$tag" "$out/timing-$rate-$tag.jsonl" "$lbl")
        read -r line vals < <(python3 -c "
import json, sys
j = json.loads(sys.argv[1]); u, s = map(float, open('$out/m.time').read().split())
cpu = max(u + s - $base, 0) / max(j['requests'], 1) * 1e6
print(f\"{j['label']}: {j['requests']} requests, {j['errors']} errors; at the server (arrive_ns - intended) p50 {j['server_p50_us']} us, p99 {j['server_p99_us']} us, p99.9 {j['server_p99.9_us']} us, max {j['server_max_us']} us; own stamp p50 {j['own_p50_us']} p99 {j['own_p99_us']} us; client CPU {cpu:.1f} us/request ({(u + s) / $secs * 100:.0f} % of a core)\".replace(' ', '~'),
      j['server_p50_us'], j['server_p99_us'], j['server_p99.9_us'], cpu)" "$j")
        echo "${line//\~/ } (the host took $steal ms of CPU time from this VM meanwhile: steal)"
        result "steal_ms_${rate}_spin$tag" "$steal" ms
        # connections the pool opened ahead, and sends that opened one themselves (the
        # tail's usual cause; docs/replay.md)
        python3 -c "import json; c = json.load(open('$out/run-$rate-$tag/run.json'))['counts']; print('  connections: %d opened ahead of their sends, %d at send (%d not foreseen by the pool)' % (c.get('connections_opened_ahead', 0), c.get('connections_opened_at_send', 0), c.get('connections_opened_at_send_late', 0)))"
        read -r p50 p99 p999 cpu <<<"$vals"
        result "server_lateness_p50_${rate}_spin$tag" "$p50" us
        result "server_lateness_p99_${rate}_spin$tag" "$p99" us
        result "server_lateness_p99.9_${rate}_spin$tag" "$p999" us
        result "cpu_per_request_${rate}_spin$tag" "$cpu" us
    done
    # The peer: wrk, 50 connections each waiting 50,000/RATE ms after every response.
    conns=50
    delay=$(python3 -c "print($conns * 1000 / $rate)")
    python3 -c "import json,sys; b=sys.argv[1]; print('wrk.method = \"POST\"\nwrk.body = ' + json.dumps(b) + '\nwrk.headers[\"Content-Type\"] = \"application/json\"\nfunction delay() return $delay end')" "$body" >"$out/paced.lua"
    start_mock "mock-wrk-$rate" --ttft 0 --itl 0 --osl 1
    /usr/bin/time -f "%U %S" -o "$out/w.time" $CLIENT wrk -t1 -c"$conns" -d"${secs}s" -s "$out/paced.lua" \
        "http://127.0.0.1:$port/v1/chat/completions" >"$out/wrk-$rate.out"
    stop_mocks
    read -r wline wvals < <(python3 -c "
u, s = map(float, open('$out/w.time').read().split())
n = int(open('$out/wrk-$rate.out').read().split(' requests in')[0].split()[-1])
cpu = (u + s) / max(n, 1) * 1e6
print(f'wrk paced to {$rate}/s ({$conns} connections, delay {$delay:g} ms): {n / $secs:.0f} req/s achieved; client CPU {cpu:.1f} us/request ({(u + s) / $secs * 100:.0f} % of a core)'.replace(' ', '~'), cpu)")
    echo "${wline//\~/ }"
    result "peer_cpu_per_request_${rate}" "$wvals" us
    if [ -n "${WRK2:-}" ] && [ -x "$WRK2" ]; then
        start_mock "mock-wrk2-$rate" --ttft 0 --itl 0 --osl 1 --timing-log "$out/timing-wrk2-$rate.jsonl"
        python3 -c "import json,sys; b=sys.argv[1]; print('wrk.method = \"POST\"\nwrk.body = ' + json.dumps(b) + '\nwrk.headers[\"Content-Type\"] = \"application/json\"')" "$body" >"$out/post.lua"
        /usr/bin/time -f "%U %S" -o "$out/w2.time" $CLIENT "$WRK2" -t1 -c"$conns" -R"$rate" -d"${secs}s" \
            -s "$out/post.lua" "http://127.0.0.1:$port/v1/chat/completions" >"$out/wrk2-$rate.out" 2>&1
        stop_mocks
        j2=$(python3 "$root/bench/wrk2_join.py" "$out/timing-wrk2-$rate.jsonl" "$rate" "$conns" "wrk2 $rate/s")
        read -r w2line w2vals < <(python3 -c "
import json, sys
j = json.loads(sys.argv[1]); u, s = map(float, open('$out/w2.time').read().split())
n = max(j['requests'], 1); cpu = (u + s) / n * 1e6
print(f\"wrk2 -R{$rate} ({$conns} connections, one thread): {j['requests']} requests; at the server (lower bound, grid rebuilt from the log) p50 {j['server_p50_us']} us, p99 {j['server_p99_us']} us, p99.9 {j['server_p99.9_us']} us, max {j['server_max_us']} us; client CPU {cpu:.1f} us/request ({(u + s) / $secs * 100:.0f} % of a core)\".replace(' ', '~'),
      j['server_p50_us'], j['server_p99_us'], j['server_p99.9_us'], cpu)" "$j2")
        echo "${w2line//\~/ }"
        read -r p50 p99 p999 cpu <<<"$w2vals"
        result "wrk2_server_lateness_p50_${rate}" "$p50" us
        result "wrk2_server_lateness_p99_${rate}" "$p99" us
        result "wrk2_server_lateness_p99.9_${rate}" "$p999" us
        result "wrk2_cpu_per_request_${rate}" "$cpu" us
    else
        echo "wrk2 row skipped: set WRK2=/path/to/wrk2 (not packaged; built by hand from github.com/giltene/wrk2, docs/benchmarks.md)"
    fi
    python3 - "$out/results.jsonl" "${BENCH_RESULTS:-$out/results.jsonl}" "$rate" <<'PY'
import json, os, sys
rs = [json.loads(l) for l in open(sys.argv[2])]
rate = sys.argv[3]
last = {}
for r in rs:
    if r["script"] == "replay_arrival.sh":
        last[r["metric"]] = r["value"]
for key, name, tag in (("peer_cpu_per_request", "the paced wrk's", "cpu_ratio"),
                       ("wrk2_cpu_per_request", "wrk2's", "cpu_ratio_wrk2")):
    peer = last.get(f"{key}_{rate}")
    for spin in ("30", "0", "tick1000"):
        m = last.get(f"cpu_per_request_{rate}_spin{spin}")
        if peer and m:
            how = "tick 1000 us" if spin == "tick1000" else f"spin {spin}"
            print(f"  CPU per request at {rate}/s, {how}: {m / peer:.2f}x {name}")
            with open(sys.argv[2], "a") as f:
                f.write(json.dumps({"script": "replay_arrival.sh", "run": int(os.environ.get("BENCH_RUN", "1")),
                                    "metric": f"{tag}_{rate}_spin{spin}",
                                    "value": m / peer, "unit": ""}) + "\n")
PY
done
