#!/usr/bin/env bash
# Closed-loop non-streaming requests/s against the mock: metronome replay beside wrk
# (Debian's) with the same connections and one I/O thread each, in the same run, same
# server, same body, alternating ROUNDS times. metronome also parses every response and
# writes every record (zstd); wrk does neither. Besides req/s (which a shared machine
# makes noisy), the CPU time each tool spent per request (user + sys, all its threads,
# /usr/bin/time) and metronome's peak RSS.
# Targets (issue 16): >= 0.9x wrk's req/s, <= 1.3x wrk's CPU per request.
#   bench/replay_wrk.sh [BINARY] [CONNS] [SECONDS] [ROUNDS]
. "$(dirname "$0")/replay_common.sh"
conns=${2:-64} secs=${3:-10} rounds=${4:-3}
command -v wrk >/dev/null || "$root/scripts/ensure-deb" wrk
command -v /usr/bin/time >/dev/null || "$root/scripts/ensure-deb" time
# 20,000 requests, cycled: a longer trace only adds its validation (before t0) to the CPU.
"$bin" pack -m m --request-count 20000 --isl 16 --osl 1 -o "$out/t.jsonl.zst" 2>/dev/null
body=$("$bin" inspect --bodies "$out/t.jsonl.zst" 2>/dev/null | head -1 || true)
python3 -c "import json,sys; b=sys.argv[1]; print('wrk.method = \"POST\"\nwrk.body = ' + json.dumps(b) + '\nwrk.headers[\"Content-Type\"] = \"application/json\"')" "$body" >"$out/post.lua"
start_mock mock --ttft 0 --itl 0 --osl 1
: >"$out/ratios"
for round in $(seq "$rounds"); do
    /usr/bin/time -f "%U %S %M" -o "$out/wrk.time" $CLIENT wrk -t1 -c"$conns" -d"${secs}s" -s "$out/post.lua" \
        "http://127.0.0.1:$port/v1/chat/completions" >"$out/wrk.out"
    w=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.out")
    wn=$(awk '/requests in/ {print $1}' "$out/wrk.out")
    /usr/bin/time -f "%U %S %M" -o "$out/m.time" $CLIENT "$bin" replay "$out/t.jsonl.zst" --url "127.0.0.1:$port" \
        --concurrency "$conns" --workers 1 --benchmark-duration "$secs" --benchmark-grace-period 5 \
        -o "$out/run$round" -q
    read -r line metrics < <(zstd -dcq "$out/run$round/records.jsonl.zst" | python3 -c "
import json, sys
rs = [json.loads(l) for l in sys.stdin]
ok = [r for r in rs if 'error' not in r]
t0 = min(r['t_start'] for r in rs); t1 = max(r['t_end'] for r in rs)
m = len(ok) / ((t1 - t0) / 1e9)
w, wn = float('$w'), int('$wn')
wu, ws, wk = map(float, open('$out/wrk.time').read().split())
mu, ms, mk = map(float, open('$out/m.time').read().split())
wc, mc = (wu + ws) / wn * 1e6, (mu + ms) / len(rs) * 1e6
print(f'round $round: $conns connections, one I/O thread each: wrk {w:.0f} req/s ({wc:.1f} us CPU/request, {wk / 1024:.0f} MB), '
      f'metronome {m:.0f} req/s ({mc:.1f} us CPU/request, peak RSS {mk / 1024:.0f} MB, {len(rs) - len(ok)} errors): '
      f'ratio {m / w:.2f}, CPU ratio {mc / wc:.2f}'.replace(' ', '~'), m / w, mc / wc, w, m, wc, mc, mk / 1024)")
    echo "${line//\~/ }"
    read -r ratio cratio wr mr wc mc mrss <<<"$metrics"
    result closed_loop_req_s_ratio "$ratio"
    result closed_loop_cpu_ratio "$cratio"
    result wrk_req_s "$wr" req/s
    result metronome_req_s "$mr" req/s
    result wrk_cpu_per_request "$wc" us
    result metronome_cpu_per_request "$mc" us
    result metronome_closed_loop_peak_rss "$mrss" MB
    echo "$ratio" >>"$out/ratios"
done
python3 -c "
import statistics
r = [float(x) for x in open('$out/ratios')]
print(f'median ratio over {len(r)} rounds: {statistics.median(r):.2f} (min {min(r):.2f}, max {max(r):.2f})')"
