#!/usr/bin/env bash
# Client-added TTFT error at N concurrent streams: our TTFT (t_first - t_start) minus the
# mock's own TTFT from its timing log (first chunk sent - request admitted), joined by the
# X-Request-Id header replay sends. Both clocks are CLOCK_MONOTONIC on this host.
# Target (issue 4): p99 <= 100 us at 1,000 streams.   bench/replay_ttft.sh [BINARY] [STREAMS]
#
# Both sides stamp with kernel receive times by default (docs/replay.md, "Timestamps"):
# the mock's TTFT counts from the request's arrival on its socket, ours up to the first
# chunk's arrival on ours, so neither side's read lateness under load lands in the other's
# figure. RX_TIMESTAMPS=user runs both with --rx-timestamps user, the stamps taken when a
# read returned, for comparison.
. "$(dirname "$0")/replay_common.sh"
streams=${2:-1000}
"$bin" pack -m m --streaming --request-count $((streams * 4)) --isl 16 --osl 50 -o "$out/t.jsonl.zst" 2>/dev/null
rx=${RX_TIMESTAMPS:-kernel}
echo "# receive timestamps: $rx"
start_mock mock --ttft 100ms --itl 20ms --timing-log "$out/timing.jsonl" --rx-timestamps "$rx"
# --preconnect: the connections are open before t0, so no TTFT carries a TCP handshake.
$CLIENT "$bin" replay "$out/t.jsonl.zst" --url "127.0.0.1:$port" --concurrency "$streams" \
    --workers 1 --preconnect --rx-timestamps "$rx" -o "$out/run" -q
stop_mocks
zstd -dcq "$out/run/records.jsonl.zst" | python3 -c "
import json, sys
anchor = json.load(open('$out/run/run.json'))['anchor']['mono_ns']
srv = {}
for l in open('$out/timing.jsonl'):
    t = json.loads(l)
    if t.get('request_id') is not None and t['chunks']:
        srv[t['request_id']] = t
errs, send, recv, tot, later, write, readlag = 0, [], [], [], [], [], []
for l in sys.stdin:
    r = json.loads(l)
    t = srv.get(str(r['i']))
    if 'error' in r or not t or 't_first' not in r:
        errs += 1; continue
    ours = r['t_first'] - r['t_start']
    theirs = t['chunks'][0][0] - t['start_ns']
    tot.append(ours - theirs)
    if r['reused']:
        later.append(ours - theirs)
    send.append(t['start_ns'] - (r['t_start'] + anchor))
    write.append(r['t_sent'] - r['t_start'])
    recv.append((r['t_first'] + anchor) - t['chunks'][0][0])
    readlag.append(t['head_ns'] - t['arrive_ns'])
def q(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(p * len(v)))] / 1e3
print(f'$streams concurrent streams, {len(tot)} requests ({errs} unmatched or failed): client-added TTFT error '
      f'p50 {q(tot, .5):.1f} us, p99 {q(tot, .99):.1f} us, max {q(tot, 1):.1f} us '
      f'(after the first round, {len(later)} requests: p50 {q(later, .5):.1f} us, p99 {q(later, .99):.1f} us)')
print(f'  send side: our request start -> the mock\'s TTFT origin p50 {q(send, .5):.1f} p99 {q(send, .99):.1f} us '
      f'(our last write() call begins after p50 {q(write, .5):.1f} p99 {q(write, .99):.1f} us)')
print(f'  receive side: first chunk sent (mock, after send()) -> our stamp p50 {q(recv, .5):.1f} p99 {q(recv, .99):.1f} us')
if '$rx' == 'kernel':
    print(f'  for reference, the mock reading late: arrival -> head parsed p50 {q(readlag, .5):.1f} p99 {q(readlag, .99):.1f} us')
"
