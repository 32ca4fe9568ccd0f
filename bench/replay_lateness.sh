#!/usr/bin/env bash
# Schedule lateness at a constant 5,000 requests/s for 30 s against the mock (non-streaming,
# instant replies): lateness = t_start - t_intended of every request, and the achieved
# rate against the asked one. Targets (issue 4): p50 <= 20 us, p99 <= 200 us, rate within
# 0.5 %.   bench/replay_lateness.sh [BINARY] [RATE] [SECONDS]
. "$(dirname "$0")/replay_common.sh"
rate=${2:-5000} secs=${3:-30}
n=$(python3 -c "print(int($rate * $secs))")
"$bin" pack -m m --request-count "$n" --isl 4 --osl 1 -o "$out/t.jsonl.zst" 2>/dev/null
start_mock mock --ttft 0 --itl 0 --osl 1
for spin in 30 0; do
    $CLIENT "$bin" replay "$out/t.jsonl.zst" --url "127.0.0.1:$port" --request-rate "$rate" \
        --arrival-pattern constant --workers 1 --spin-us "$spin" -o "$out/run-spin$spin" -q
    zstd -dcq "$out/run-spin$spin/records.jsonl.zst" | python3 -c "
import json, sys
late, starts, intended, errs = [], [], [], 0
for l in sys.stdin:
    r = json.loads(l)
    late.append(r['t_start'] - r['t_intended']); starts.append(r['t_start']); intended.append(r['t_intended'])
    errs += 'error' in r
late.sort(); starts.sort(); intended.sort()
q = lambda p: late[min(len(late) - 1, int(p * len(late)))] / 1e3
got = (len(starts) - 1) / ((starts[-1] - starts[0]) / 1e9)
print(f'spin {$spin:>2} us: {len(late)} requests at {$rate}/s asked: achieved {got:.1f}/s ({(got / $rate - 1) * 100:+.3f} %), '
      f'lateness p50 {q(.5):.1f} us, p90 {q(.9):.1f} us, p99 {q(.99):.1f} us, p99.9 {q(.999):.1f} us, max {late[-1] / 1e3:.1f} us; errors {errs}')
"
done
