#!/usr/bin/env bash
# Throughput of `metronome mock` beside peers, all in this run, each server pinned to
# core 1 and wrk (Debian) pinned to core 0, same threads and connections:
#   1. non-streaming tiny replies: mock POST /v1/completions (max_tokens 1, ~250 B JSON)
#      vs nginx (Debian) serving a static 200-byte file; ratio mock/nginx (target >= 0.7)
#   2. streaming: chat streams of 1000 one-token events (+ role event + [DONE]) with
#      --ttft 0 --itl 0; SSE events/s, and events per CPU-second of the server (its
#      utime+stime over the run), vs uvicorn + FastAPI (PyPI) serving the same stream
#   3. the same streams read by bench/mock_sse_count.py (4 connections discarding bytes
#      with recv_into, no parsing), so the client is less of a bottleneck than wrk's
#      parser: mock 1M-token streams vs uvicorn 20k-token streams
#   bench/mock_wrk.sh [SECONDS]     (default 10)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
secs=${1:-10}
out="$root/bench/out/mock"
mkdir -p "$out"
bin="$root/zig-out/bin/metronome"
[ -x "$bin" ] || .tools/zig/zig build -Doptimize=fast
command -v wrk >/dev/null || "$root/scripts/ensure-deb" wrk
command -v nginx >/dev/null || "$root/scripts/ensure-deb" nginx-light
if [ ! -x "$out/venv/bin/uvicorn" ]; then
    python3 -m venv "$out/venv"
    "$out/venv/bin/pip" install -q "fastapi==0.115.6" "uvicorn[standard]==0.34.0"
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing on $1" >&2; exit 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

cat >"$out/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"prompt":"hello world","max_tokens":1}'
wrk.headers["Content-Type"] = "application/json"
LUA
cat >"$out/stream.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":1000}'
wrk.headers["Content-Type"] = "application/json"
LUA
head -c 200 /dev/zero | tr '\0' 'x' >"$out/static200.json"
ngport=$(free_port)
cat >"$out/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $out/nginx.pid;
error_log $out/nginx.err;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    server { listen 127.0.0.1:$ngport; root $out; }
}
CONF

# run_wrk NAME PID WRK-ARGS...: prints req/s and the server's CPU seconds for the run
run_wrk() {
    local name=$1 pid=$2; shift 2
    local t0; t0=$(cpu_ticks "$pid")
    taskset -c 0 wrk "$@" >"$out/$name.wrk"
    local t1; t1=$(cpu_ticks "$pid")
    local rps; rps=$(awk '/^Requests\/sec/{print $2}' "$out/$name.wrk")
    local errs; errs=$(grep -E "Non-2xx|Socket errors" "$out/$name.wrk" || true)
    echo "$name $rps $(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN{print (b-a)/hz}')" >>"$out/results"
    printf '%-28s %12.0f req/s  server CPU %5.2f s  %s\n' "$name" "$rps" \
        "$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN{print (b-a)/hz}')" "$errs"
}

: >"$out/results"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: other engineers build here)"
echo "binary: $($bin --version | head -1)"
echo "servers pinned to core 1, wrk to core 0; ${secs}s per run"
echo

mport=$(free_port)
taskset -c 1 "$bin" mock --port "$mport" --threads 1 --ttft 0 --itl 0 >/dev/null &
pids+=($!); mpid=$!
taskset -c 1 nginx -c "$out/nginx.conf" -p "$out" &
pids+=($!)
wait_port "$mport"; wait_port "$ngport"
sleep 0.5
ngpid=$(cat "$out/nginx.pid")
ngworker=$(pgrep -P "$ngpid" | head -1)
echo "1. non-streaming tiny replies (wrk -t1 -c64)"
run_wrk mock_post "$mpid" -t1 -c64 -d"${secs}s" -s "$out/post.lua" "http://127.0.0.1:$mport/v1/completions"
run_wrk nginx_static "$ngworker" -t1 -c64 -d"${secs}s" "http://127.0.0.1:$ngport/static200.json"
run_wrk mock_get_models "$mpid" -t1 -c64 -d"${secs}s" "http://127.0.0.1:$mport/v1/models"
kill "$ngpid" 2>/dev/null || true

uport=$(free_port)
(cd "$root/bench" && exec taskset -c 1 "$out/venv/bin/uvicorn" --no-access-log --log-level warning \
    --host 127.0.0.1 --port "$uport" mock_sse_server:app) &
pids+=($!); upid=$!
wait_port "$uport"
sleep 0.5
echo
echo "2. streaming: 1000-token chat streams, 1002 SSE events each (wrk -t1 -c8)"
run_wrk mock_stream "$mpid" -t1 -c8 -d"${secs}s" -s "$out/stream.lua" "http://127.0.0.1:$mport/v1/chat/completions"
run_wrk uvicorn_stream "$upid" -t1 -c8 -d"${secs}s" -s "$out/stream.lua" "http://127.0.0.1:$uport/v1/chat/completions"
run_wrk uvicorn_post "$upid" -t1 -c64 -d"${secs}s" -s "$out/post.lua" "http://127.0.0.1:$uport/v1/completions"
echo
echo "3. streaming read by a byte-discarding client (4 connections)"
# count NAME PID PORT TOKENS: events/s wall and per server CPU-second
count() {
    local t0 s e t1
    t0=$(cpu_ticks "$2"); s=$(date +%s.%N)
    taskset -c 0 python3 "$root/bench/mock_sse_count.py" "$3" 4 "$4" >/dev/null
    e=$(date +%s.%N); t1=$(cpu_ticks "$2")
    awk -v n="$1" -v s="$s" -v e="$e" -v a="$t0" -v b="$t1" -v hz="$hz" -v tok="$4" 'BEGIN {
        ev = 4 * (tok + 2); w = e - s; c = (b - a) / hz
        printf "%-28s %8.3f M SSE events/s  server CPU %5.2f s = %6.3f M events per CPU-second\n", n, ev / w / 1e6, c, (c > 0 ? ev / c / 1e6 : 0)
        print n " " ev / w " " (c > 0 ? ev / c : 0) >> "'"$out/results"'"
    }'
}
count mock_count "$mpid" "$mport" 1000000
count uvicorn_count "$upid" "$uport" 20000
echo
awk '
{ rps[$1] = $2; cpu[$1] = $3 }
END {
    printf "non-streaming: mock %.0f req/s, nginx static %.0f req/s: ratio %.2fx (target >= 0.7x)\n",
        rps["mock_post"], rps["nginx_static"], rps["mock_post"] / rps["nginx_static"]
    mp = rps["mock_post"] * '"$secs"' / cpu["mock_post"]; np = rps["nginx_static"] * '"$secs"' / cpu["nginx_static"]
    printf "non-streaming per server CPU-second: mock %.0f, nginx %.0f requests: ratio %.2fx\n", mp, np, mp / np
    printf "non-streaming: mock %.0f req/s vs uvicorn+FastAPI %.0f req/s: %.1fx\n",
        rps["mock_post"], rps["uvicorn_post"], rps["mock_post"] / rps["uvicorn_post"]
    me = rps["mock_stream"] * 1002; ue = rps["uvicorn_stream"] * 1002
    mc = cpu["mock_stream"] > 0 ? me * '"$secs"' / cpu["mock_stream"] : 0
    uc = cpu["uvicorn_stream"] > 0 ? ue * '"$secs"' / cpu["uvicorn_stream"] : 0
    printf "streaming: mock %.2f M SSE events/s (%.2f M per server CPU-second; target >= 1M on one core)\n", me / 1e6, mc / 1e6
    printf "streaming: uvicorn+FastAPI %.3f M SSE events/s (%.3f M per CPU-second)\n", ue / 1e6, uc / 1e6
    printf "streaming ratio mock/uvicorn (wrk): %.1fx events/s, %.1fx per CPU-second\n", me / ue, (uc > 0 ? mc / uc : 0)
    printf "streaming, byte-discarding client: mock %.2f M events/s (%.2f M per CPU-second), uvicorn %.3f M events/s (%.3f M per CPU-second): %.1fx, %.1fx per CPU-second\n",
        rps["mock_count"] / 1e6, cpu["mock_count"] / 1e6, rps["uvicorn_count"] / 1e6, cpu["uvicorn_count"] / 1e6,
        rps["mock_count"] / rps["uvicorn_count"], cpu["mock_count"] / cpu["uvicorn_count"]
}' "$out/results"
