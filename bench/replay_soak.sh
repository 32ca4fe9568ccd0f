#!/usr/bin/env bash
# Client memory over a long closed loop (issue 16: "bounded by configuration, never by run
# length"): 64 connections at full speed against the mock, non-streaming, one worker, for
# SECS seconds; the replay's RSS (/proc/PID/status) every STEP seconds, then the peak
# (/usr/bin/time), RSS growth from the end of the first minute to the end, in KB per
# minute, and the request items the scheduler allocated (run.json). A heap that grows with
# the run shows as a steady per-minute growth (it was ~1.4 MB a minute); a bounded one as
# a flat line after the first minute.
#   bench/replay_soak.sh [BINARY] [SECS] [STEP]        (defaults 600 s, 10 s)
. "$(dirname "$0")/replay_common.sh"
secs=${2:-600} step=${3:-10}
[ "$secs" -ge 120 ] || { echo "replay_soak: SECS must be at least 120 (growth is measured after the first minute)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || "$root/scripts/ensure-deb" time
"$bin" pack -m m --request-count 20000 --isl 16 --osl 1 -o "$out/c.jsonl.zst" 2>/dev/null
start_mock mock --ttft 0 --itl 0 --osl 1
/usr/bin/time -f "%M" -o "$out/time" $CLIENT "$bin" replay "$out/c.jsonl.zst" --url "127.0.0.1:$port" \
    --concurrency 64 --workers 1 --benchmark-duration "$secs" -o "$out/run" -q &
tp=$!
rp=
for _ in $(seq 100); do
    rp=$(pgrep -P "$tp" -f "replay $out/c.jsonl.zst" | head -1) && [ -n "$rp" ] && break
    sleep 0.05
done
[ -n "$rp" ] || { echo "replay_soak: the replay did not start" >&2; exit 1; }
: >"$out/rss"
t0=$(date +%s.%N)
while kill -0 "$rp" 2>/dev/null; do
    sleep "$step"
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$rp/status" 2>/dev/null) || break
    [ -n "$kb" ] && echo "$(python3 -c "print(round($(date +%s.%N) - $t0))") $kb" >>"$out/rss"
done
wait "$tp"
stop_mocks
python3 - "$out" "$secs" <<'PY'
import json, sys
out, secs = sys.argv[1], int(sys.argv[2])
rows = [tuple(map(int, l.split())) for l in open(out + "/rss") if l.strip()]
c = json.load(open(out + "/run/run.json"))["counts"]
peak = int(open(out + "/time").read().split()[-1])
at60 = min(rows, key=lambda r: abs(r[0] - 60))
last = max((r for r in rows if r[0] <= secs), key=lambda r: r[0])
per_min = (last[1] - at60[1]) / ((last[0] - at60[0]) / 60)
print("RSS (s, MB): " + ", ".join("%d %.1f" % (t, kb / 1024) for t, kb in rows[::max(1, len(rows) // 12)]))
print("closed loop %d s: %d requests (%.0f/s), peak RSS %.1f MB, RSS %.1f MB at %d s and %.1f MB at %d s: "
      "%+.0f KB per minute; %s request items allocated" %
      (secs, c["sent"], c["sent"] / secs, peak / 1024, at60[1] / 1024, at60[0], last[1] / 1024,
       last[0], per_min, c.get("request_items_allocated", "no count of")))
with open(out + "/figures", "w") as f:
    f.write("%d %.1f %.0f %s\n" % (c["sent"], peak / 1024, per_min, c.get("request_items_allocated", -1)))
PY
read -r sent peak_mb per_min items <"$out/figures"
result "soak_${secs}s_peak_rss" "$peak_mb" MB
result "soak_${secs}s_rss_growth_after_1min" "$per_min" KB/min
result "soak_${secs}s_request_items_allocated" "$items"
