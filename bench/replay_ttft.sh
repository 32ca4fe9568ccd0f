#!/usr/bin/env bash
# Client-added TTFT error at N concurrent streams: our TTFT (t_first - t_start) minus the
# mock's own TTFT from its timing log (first chunk sent - request admitted), joined by the
# X-Request-Id header replay sends. Both clocks are CLOCK_MONOTONIC on this host.
# Target (issue 4): p99 <= 100 us at 1,000 streams.   bench/replay_ttft.sh [BINARY] [STREAMS]
. "$(dirname "$0")/replay_common.sh"
streams=${2:-1000}
"$bin" pack -m m --streaming --request-count $((streams * 4)) --isl 16 --osl 50 -o "$out/t.jsonl.zst" 2>/dev/null
start_mock mock --ttft 100ms --itl 20ms --timing-log "$out/timing.jsonl"
# --preconnect: the connections are open before t0, so no TTFT carries a TCP handshake.
$CLIENT "$bin" replay "$out/t.jsonl.zst" --url "127.0.0.1:$port" --concurrency "$streams" \
    --workers 1 --preconnect -o "$out/run" -q
stop_mocks
zstd -dcq "$out/run/records.jsonl.zst" | python3 -c "
import json, sys
anchor = json.load(open('$out/run/run.json'))['anchor']['mono_ns']
srv = {}
for l in open('$out/timing.jsonl'):
    t = json.loads(l)
    if t.get('request_id') is not None and t['chunks']:
        srv[t['request_id']] = t
errs, send, recv, tot, later, write = 0, [], [], [], [], []
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
def q(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(p * len(v)))] / 1e3
print(f'$streams concurrent streams, {len(tot)} requests ({errs} unmatched or failed): client-added TTFT error '
      f'p50 {q(tot, .5):.1f} us, p99 {q(tot, .99):.1f} us, max {q(tot, 1):.1f} us '
      f'(after the first round, {len(later)} requests: p50 {q(later, .5):.1f} us, p99 {q(later, .99):.1f} us) '
      f'(send side: request start -> server admission p50 {q(send, .5):.1f} p99 {q(send, .99):.1f} us, '
      f'of which our write p50 {q(write, .5):.1f} p99 {q(write, .99):.1f} us and the rest the server reading it; '
      f'receive side: first chunk sent -> our stamp p50 {q(recv, .5):.1f} p99 {q(recv, .99):.1f} us)')
"
