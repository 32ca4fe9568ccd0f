# Shared by bench/replay_*.sh: paths, a mock on a free port pinned to CPU 1, the client on
# CPU 0 (when the machine has two), and a record reader. Source it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$(cd "$(dirname "${1:-$root/zig-out/bin/metronome}")" && pwd)/$(basename "${1:-$root/zig-out/bin/metronome}")
out=$root/bench/out/$(basename "$0" .sh)
rm -rf "$out" && mkdir -p "$out"
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# BENCH_PIN=1 pins the client to CPU 0 and the server to CPU 1; by default only the server
# is pinned and the kernel places the client's threads (on a machine shared with other
# work, a pinned client waits behind whatever else runs on its one CPU).
if [ "$(nproc)" -ge 2 ]; then SERVER="taskset -c 1"; else SERVER=""; fi
if [ "${BENCH_PIN:-0}" = 1 ] && [ "$(nproc)" -ge 2 ]; then CLIENT="taskset -c 0"; else CLIENT=""; fi
# BENCH_CLIENT_WRAP="chrt -f 1" (say) runs the clients under that command too: how much of
# a tail is preemption by other work is seen by taking it away (docs/benchmarks.md).
CLIENT="${BENCH_CLIENT_WRAP:+$BENCH_CLIENT_WRAP }$CLIENT"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
# start_mock LOGNAME ARGS...: starts the mock, sets $port.
start_mock() {
    local name=$1; shift
    $SERVER "$bin" mock --port 0 "$@" >"$out/$name.out" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do grep -q listening "$out/$name.out" && break; sleep 0.05; done
    port=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$out/$name.out" | head -1)
}
stop_mocks() { cleanup; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; pids=(); }
echo "# $(basename "$0"): $(date -u +%FT%TZ), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# binary: $("$bin" --version | head -1); client pinned: ${CLIENT:-no}, server pinned: ${SERVER:-no}"
# result METRIC VALUE [UNIT]: one figure of this run, as a JSON line in $BENCH_RESULTS (set
# by bench/all.sh, which aggregates runs into min / median / max), else $out/results.jsonl.
result() {
    printf '{"script":"%s","run":%d,"metric":"%s","value":%s,"unit":"%s"}\n' "$(basename "$0")" "${BENCH_RUN:-1}" "$1" "$2" "${3:-}" \
        >>"${BENCH_RESULTS:-$out/results.jsonl}"
}
