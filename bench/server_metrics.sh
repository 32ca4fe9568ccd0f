#!/usr/bin/env bash
# The collector's cost (issue 13): the same open-loop run against the mock twice, with the
# /metrics + DCGM scrapes at 1 s and with --no-server-metrics, alternating, REPS times
# each. Prints, per mode, the client's CPU seconds (user + sys of the replay process), CPU
# per second of run, and schedule lateness p50 / p99 (replay's own summary), and the load
# average before each run (the machine is shared: read the figures with it).
#   bench/server_metrics.sh [BINARY] [SECONDS] [RATE] [REPS]   (defaults: zig-out, 60, 50, 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/zig-out/bin/metronome}
secs=${2:-60}
rate=${3:-50}
reps=${4:-3}
out=$root/bench/out/server_metrics
rm -rf "$out" && mkdir -p "$out"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" mock --port "$port" --ttft 20ms --itl 2ms --osl 32 --dcgm >"$out/mock.log" 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
sleep 0.5
n=$((secs * rate))
"$bin" pack -m m --streaming --request-count "$n" --isl 64 --osl 32 -o "$out/t.zst" >/dev/null 2>&1
for i in $(seq "$reps"); do
    for mode in on off; do
        flags=(--server-metrics-interval 1 --gpu-telemetry "127.0.0.1:$port/dcgm")
        [ "$mode" = off ] && flags=(--no-server-metrics)
        load=$(cut -d' ' -f1 /proc/loadavg)
        python3 - "$bin" "$out/t.zst" "$port" "$rate" "$out/run-$mode-$i" "$load" "$mode" \
            "${flags[@]}" <<'PY' | tee -a "$out/results.txt"
import re, resource, subprocess, sys, time
bin_, trace, port, rate, out, load, mode, *flags = sys.argv[1:]
t0 = time.monotonic()
p = subprocess.run([bin_, "replay", trace, "--url", "127.0.0.1:" + port, "--request-rate", rate,
                    "--arrival-pattern", "constant", "-o", out, *flags],
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = ru.ru_utime + ru.ru_stime
m = re.search(r"lateness p50 (\d+) us, p99 (\d+) us", p.stdout)
print(f"{mode:3s} load {load:>5s}  cpu {cpu:6.3f} s  ({cpu / wall * 100:5.2f} % of a core over "
      f"{wall:5.1f} s)  lateness p50 {m.group(1) if m else '?'} us p99 {m.group(2) if m else '?'} us")
PY
    done
done
