#!/usr/bin/env bash
# Closed-loop non-streaming requests/s against the mock: metronome replay beside wrk
# (Debian's) with the same connections and threads, in the same run, same server, same
# body. metronome also parses every response and writes every record (zstd); wrk does
# neither. Target (issue 4): >= 0.8x wrk.   bench/replay_wrk.sh [BINARY] [CONNS] [SECONDS]
. "$(dirname "$0")/replay_common.sh"
conns=${2:-64} secs=${3:-10}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
"$bin" pack -m m --request-count 200000 --isl 16 --osl 1 -o "$out/t.jsonl.zst" 2>/dev/null
body=$("$bin" inspect --bodies "$out/t.jsonl.zst" 2>/dev/null | head -1 || true)
python3 -c "import json,sys; b=sys.argv[1]; print('wrk.method = \"POST\"\nwrk.body = ' + json.dumps(b) + '\nwrk.headers[\"Content-Type\"] = \"application/json\"')" "$body" >"$out/post.lua"
start_mock mock --ttft 0 --itl 0 --osl 1
for round in 1 2; do
    w=$($CLIENT wrk -t1 -c"$conns" -d"${secs}s" -s "$out/post.lua" "http://127.0.0.1:$port/v1/chat/completions" |
        awk '/Requests\/sec/ {print $2}')
    $CLIENT "$bin" replay "$out/t.jsonl.zst" --url "127.0.0.1:$port" --concurrency "$conns" \
        --workers 1 --benchmark-duration "$secs" --benchmark-grace-period 5 -o "$out/run$round" -q
    m=$(zstd -dcq "$out/run$round/records.jsonl.zst" | python3 -c "
import json, sys
rs = [json.loads(l) for l in sys.stdin]
ok = [r for r in rs if 'error' not in r]
t0 = min(r['t_start'] for r in rs); t1 = max(r['t_end'] for r in rs)
print(f'{len(ok) / ((t1 - t0) / 1e9):.0f} {len(rs) - len(ok)}')")
    python3 -c "w=float('$w'); m, e = '$m'.split(); print(f'round $round: $conns connections, 1 thread each side: wrk {w:.0f} req/s, metronome {float(m):.0f} req/s ({e} errors): ratio {float(m) / w:.2f}')"
done
