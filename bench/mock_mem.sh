#!/usr/bin/env bash
# Memory per idle keep-alive connection of `metronome mock` (target <= 16 KB): RSS of the
# server before and after N clients each connect, send one request, read the reply and
# stay connected. Kernel socket buffers are not in RSS and not counted.
#   bench/mock_mem.sh [N]     (default 10000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
bin="$root/zig-out/bin/metronome"
ulimit -n $((n + 1024))
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$bin" mock --port "$port" --threads 1 --ttft 0 --itl 0 >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
rss() { awk '/^VmRSS/{print $2}' "/proc/$pid/status"; }
python3 - "$port" "$n" "$pid" <<'PY'
import socket, sys, time
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def rss():
    for l in open("/proc/%s/status" % pid):
        if l.startswith("VmRSS"):
            return int(l.split()[1])
# warm the server's per-thread buffers with one request first, so they are not counted
w = socket.create_connection(("127.0.0.1", port))
w.sendall(b'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 29\r\n\r\n{"prompt":"a","max_tokens":1}')
w.recv(65536)
time.sleep(0.2)
before = rss()
socks = []
req = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    socks.append(s)
for s in socks:
    assert s.recv(4096).startswith(b"HTTP/1.1 200")
time.sleep(0.5)
after = rss()
print("idle keep-alive connections: %d, server RSS %d KiB -> %d KiB" % (n, before, after))
print("memory per idle connection: %.2f KiB (target <= 16 KB)" % ((after - before) / n))
PY
