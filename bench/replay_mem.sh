#!/usr/bin/env bash
# Client memory against run length and output length (issue 16):
#   1. closed loop at full speed (64 connections, non-streaming, mock, one worker): peak
#      RSS of a SHORT s run and of a LONG s run; target: the long run's peak within 64 MB
#      of the short run's (records must not pile up ahead of the writer);
#   2. STREAMS concurrent SSE streams of 35 and of 200 tokens (1 s to the first token,
#      then 20 ms apart): memory per stream = (peak RSS at STREAMS - peak at 100) /
#      (STREAMS - 100); target <= 16 KB at 10,000 streams, and not growing with the
#      output length.
# Peak RSS from /usr/bin/time (%M).   bench/replay_mem.sh [BINARY] [SHORT] [LONG] [STREAMS]
. "$(dirname "$0")/replay_common.sh"
short=${2:-10} long=${3:-60} streams=${4:-10000}
command -v /usr/bin/time >/dev/null || "$root/scripts/ensure-deb" time
"$bin" pack -m m --request-count 20000 --isl 16 --osl 1 -o "$out/c.jsonl.zst" 2>/dev/null
start_mock mock --ttft 0 --itl 0 --osl 1
declare -A peak
for s in "$short" "$long"; do
    /usr/bin/time -f "%M" -o "$out/time-$s" $CLIENT "$bin" replay "$out/c.jsonl.zst" --url "127.0.0.1:$port" \
        --concurrency 64 --workers 1 --benchmark-duration "$s" -o "$out/closed-$s" -q
    peak[$s]=$(tail -1 "$out/time-$s")
    sent=$(python3 -c "import json; c = json.load(open('$out/closed-$s/run.json'))['counts']; print(c['sent'], c.get('writer_waits', 0), c.get('writer_wait_ns', 0))")
    read -r n waits wait_ns <<<"$sent"
    echo "closed loop, $s s: $n requests, peak RSS $((peak[$s] / 1024)) MB; workers waited for the writer $waits times ($((wait_ns / 1000000)) ms)"
done
stop_mocks
growth=$(((peak[$long] - peak[$short]) / 1024))
echo "closed loop: $long s peak - $short s peak = $growth MB (target <= 64 MB)"
result "closed_loop_peak_rss_${short}s" "$((peak[$short] / 1024))" MB
result "closed_loop_peak_rss_${long}s" "$((peak[$long] / 1024))" MB
result "closed_loop_rss_growth_${short}s_to_${long}s" "$growth" MB

for osl in 35 200; do
    start_mock "smock-$osl" --ttft 1s --itl 20ms --osl "$osl" --max-connections 100000
    kb=()
    for n in 100 "$streams"; do
        "$bin" pack -m m --streaming --request-count "$n" --isl 8 --osl "$osl" -o "$out/s$n.jsonl.zst" 2>/dev/null
        /usr/bin/time -f "%M" -o "$out/stime" $CLIENT "$bin" replay "$out/s$n.jsonl.zst" --url "127.0.0.1:$port" \
            --concurrency "$n" --workers 1 --connect-timeout-seconds 60 -o "$out/streams-$osl-$n" -q || true
        kb+=("$(tail -1 "$out/stime")")
    done
    stop_mocks
    errs=$(zstd -dcq "$out/streams-$osl-$streams/records.jsonl.zst" | grep -c '"error"' || true)
    per=$(python3 -c "print(f'{(${kb[1]} - ${kb[0]}) * 1024 / ($streams - 100) / 1000:.1f}')")
    echo "$streams streams of $osl tokens: peak RSS $((kb[1] / 1024)) MB (100 streams: $((kb[0] / 1024)) MB): $per KB per stream, $errs errors"
    result "kb_per_stream_${streams}_osl$osl" "$per" KB
done
