#!/usr/bin/env bash
# Closed-loop non-streaming requests/s against the mock: metronome replay beside wrk
# (Debian's) with the same connections and one I/O thread each, in the same run, same
# server, same body, alternating ROUNDS times. metronome also parses every response and
# writes every record (zstd); wrk does neither. Besides req/s (which a shared machine
# makes noisy), the CPU time each tool spent per request (user + sys, all its threads).
# Target (issue 4): >= 0.8x wrk.   bench/replay_wrk.sh [BINARY] [CONNS] [SECONDS] [ROUNDS]
. "$(dirname "$0")/replay_common.sh"
conns=${2:-64} secs=${3:-10} rounds=${4:-3}
command -v wrk >/dev/null || "$root/scripts/ensure-deb" wrk
"$bin" pack -m m --request-count 400000 --isl 16 --osl 1 -o "$out/t.jsonl.zst" 2>/dev/null
body=$("$bin" inspect --bodies "$out/t.jsonl.zst" 2>/dev/null | head -1 || true)
python3 -c "import json,sys; b=sys.argv[1]; print('wrk.method = \"POST\"\nwrk.body = ' + json.dumps(b) + '\nwrk.headers[\"Content-Type\"] = \"application/json\"')" "$body" >"$out/post.lua"
start_mock mock --ttft 0 --itl 0 --osl 1
: >"$out/ratios"
for round in $(seq "$rounds"); do
    /usr/bin/time -f "%U %S" -o "$out/wrk.time" $CLIENT wrk -t1 -c"$conns" -d"${secs}s" -s "$out/post.lua" \
        "http://127.0.0.1:$port/v1/chat/completions" >"$out/wrk.out"
    w=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.out")
    wn=$(awk '/requests in/ {print $1}' "$out/wrk.out")
    /usr/bin/time -f "%U %S" -o "$out/m.time" $CLIENT "$bin" replay "$out/t.jsonl.zst" --url "127.0.0.1:$port" \
        --concurrency "$conns" --workers 1 --benchmark-duration "$secs" --benchmark-grace-period 5 \
        -o "$out/run$round" -q
    zstd -dcq "$out/run$round/records.jsonl.zst" | python3 -c "
import json, sys
rs = [json.loads(l) for l in sys.stdin]
ok = [r for r in rs if 'error' not in r]
t0 = min(r['t_start'] for r in rs); t1 = max(r['t_end'] for r in rs)
m = len(ok) / ((t1 - t0) / 1e9)
w, wn = float('$w'), int('$wn')
wu, ws = map(float, open('$out/wrk.time').read().split())
mu, ms = map(float, open('$out/m.time').read().split())
print(f'round $round: $conns connections, one I/O thread each: wrk {w:.0f} req/s ({(wu + ws) / wn * 1e6:.1f} us CPU/request), '
      f'metronome {m:.0f} req/s ({(mu + ms) / len(rs) * 1e6:.1f} us CPU/request, {len(rs) - len(ok)} errors): ratio {m / w:.2f}')
open('$out/ratios', 'a').write(f'{m / w}\n')"
done
python3 -c "
import statistics
r = [float(x) for x in open('$out/ratios')]
print(f'median ratio over {len(r)} rounds: {statistics.median(r):.2f} (min {min(r):.2f}, max {max(r):.2f})')"
