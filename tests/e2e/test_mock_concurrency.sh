#!/usr/bin/env bash
# --max-concurrency queues requests (their TTFT counts from admission, so client latency
# rises in steps), /metrics shows the queue, and --batch-slowdown stretches the ITL.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --threads 2 --max-concurrency 2 --ttft 200ms --itl 0 --osl 1 \
    --timing-log "$E2E_TMP/q.jsonl" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
for i in 1 2 3 4 5 6; do
    curl -sS -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/v1/completions" \
        -d '{"prompt":"x"}' >"$E2E_TMP/lat$i" &
done
sleep 0.1
curl -sS "http://127.0.0.1:$port/metrics" >"$E2E_TMP/metrics"
wait %2 %3 %4 %5 %6 %7
kill -TERM $pid; wait $pid
grep -q '^vllm:num_requests_running{model_name="metronome-mock"} 2$' "$E2E_TMP/metrics" || fail "running != 2"
grep -q '^vllm:num_requests_waiting{model_name="metronome-mock"} 4$' "$E2E_TMP/metrics" || fail "waiting != 4"
python3 - "$E2E_TMP" <<'PY' || fail "queueing"
import glob, json, sys
d = sys.argv[1]
lat = sorted(float(open(f).read()) for f in glob.glob(d + "/lat*"))
print("client latencies (s):", " ".join("%.3f" % x for x in lat))
assert all(abs(a - b) < 0.08 for a, b in zip(lat, [0.2, 0.2, 0.4, 0.4, 0.6, 0.6])), lat
log = [json.loads(l) for l in open(d + "/q.jsonl") if '"/v1/completions"' in l]
waits = sorted((r["start_ns"] - r["body_ns"]) / 1e6 for r in log)
print("queue waits (ms):", " ".join("%.1f" % w for w in waits))
assert waits[1] < 20 and waits[2] > 150 and waits[4] > 350, waits
PY
# batch slowdown: 3 streams at once with F=0.5 run at ITL 5ms * (1 + 0.5*2) = 10ms
"$METRONOME" mock --port "$port" --ttft 0 --itl 5ms --osl 30 --batch-slowdown 0.5 \
    --timing-log "$E2E_TMP/b.jsonl" >/dev/null 2>&1 &
pid=$!
wait_port "$port"
for i in 1 2 3; do
    curl -sS -o /dev/null "http://127.0.0.1:$port/v1/completions" -d '{"prompt":"x","stream":true}' &
done
wait %2 %3 %4
kill -TERM $pid; wait $pid
trap - EXIT
python3 - "$E2E_TMP/b.jsonl" <<'PY' || fail "batch slowdown"
import json, statistics, sys
gaps = []
for l in open(sys.argv[1]):
    t = [c[0] for c in json.loads(l)["chunks"]]
    gaps += [(b - a) / 1e6 for a, b in zip(t, t[1:])]
m = statistics.median(gaps)
print("median ITL with 3 running and --batch-slowdown 0.5: %.2f ms (10 expected)" % m)
assert 8.5 < m < 11.5, m
PY
