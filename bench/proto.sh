#!/usr/bin/env bash
# Protocol-layer throughput on one core (bench/proto_bench.c), beside its floors (bare
# memchr/memmem/memcpy over the same bytes) and beside Python SSE parsers (sseclient-py
# from PyPI, and AIPerf's own framing: split on "\n\n", then per-line field parsing), all
# in the same run. The Python peers get a venv under bench/out/.
#   bench/proto.sh [EVENTS]     (default 1000000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
events=${1:-1000000}
out="$root/bench/out"
mkdir -p "$out"
.tools/zig/zig cc -O3 -std=c11 -D_GNU_SOURCE -I include bench/proto_bench.c src/net/http1.c \
    src/net/sse.c src/util/buf.c src/util/xalloc.c src/util/err.c -o "$out/proto_bench"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared with other builds)"
"$out/proto_bench" "$events" 2>/dev/null | tee "$out/proto_c.txt"

if [ ! -x "$out/venv/bin/python" ]; then
    python3 -m venv "$out/venv"
    "$out/venv/bin/pip" install -q sseclient-py==1.9.0
fi
py_events=$((events / 5))
"$out/venv/bin/python" - "$py_events" <<'PY' | tee "$out/proto_py.txt"
import sys, time
import sseclient
n = int(sys.argv[1])
chunk = ('{"id":"chatcmpl-8f1c2d3e4b5a69788796a5b4c3d2e1f0","object":"chat.completion.chunk",'
         '"created":1764201600,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[{'
         '"index":0,"delta":{"content":" token"},"logprobs":null,"finish_reason":null}]}')
stream = ("data: %s\n\n" % chunk).encode() * n
pieces = [stream[i:i + 16384] for i in range(0, len(stream), 16384)]

t0 = time.perf_counter()
count = sum(1 for _ in sseclient.SSEClient(iter(pieces)).events())
t1 = time.perf_counter()
print("python sseclient-py %d events: %.3f M events/s" % (count, count / (t1 - t0) / 1e6))

# AIPerf 0.13's framing (seed-client-timing.md §2): messages split on b"\n\n", then each
# line stripped and split on ":" once.
t0 = time.perf_counter()
count = 0
for msg in stream.split(b"\n\n"):
    text = msg.decode("utf-8").strip()
    if not text:
        continue
    fields = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        parts = line.split(":", 1)
        fields.append((parts[0].strip(), parts[1].strip() if len(parts) > 1 else None))
    count += 1
t1 = time.perf_counter()
print("python aiperf-style framing %d events: %.3f M events/s" % (count, count / (t1 - t0) / 1e6))
PY
ours=$(sed -n 's/^sse parse LF .*: \([0-9.]*\) M events\/s,.*/\1/p' "$out/proto_c.txt")
for peer in "sseclient-py" "aiperf-style framing"; do
    theirs=$(grep "$peer" "$out/proto_py.txt" | sed 's/.*: \([0-9.]*\) M events\/s/\1/')
    awk -v a="$ours" -v b="$theirs" -v p="$peer" \
        'BEGIN { printf "ratio: metronome SSE parse (LF) / python %s = %.0fx\n", p, a / b }'
done
