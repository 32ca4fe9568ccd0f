#!/usr/bin/env bash
# Server metrics end to end (issue 13): replay scrapes the mock's /metrics (vLLM names) and
# its --dcgm page while it runs; report's cross-check puts the server's TTFT histogram mean
# within one bucket of the mock's own timing log and the overhead row within 1 ms of ours
# minus that log; the AIPerf-named exports are written; a target that never answers costs
# one warning and a note in run.json; --no-server-metrics scrapes nothing; no secret leaks.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 30ms --itl 2ms --dcgm \
    --timing-log "$E2E_TMP/tl.jsonl" >"$E2E_TMP/mock.log" 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
wait_port "$port"
dead=$(free_port)
"$METRONOME" pack -m m --streaming --request-count 30 --isl 20 --osl 20 \
    -o "$E2E_TMP/trace.jsonl.zst" >/dev/null 2>&1 || fail "pack"
"$METRONOME" replay "$E2E_TMP/trace.jsonl.zst" --url "127.0.0.1:$port" --concurrency 2 \
    --server-metrics-interval 0.2 --gpu-telemetry "127.0.0.1:$port/dcgm" \
    --server-metrics "http://127.0.0.1:$dead/metrics" --api-key sk-e2e-metrics-secret \
    -o "$E2E_TMP/run" >"$E2E_TMP/replay.out" 2>"$E2E_TMP/replay.err" || fail "replay"
[ "$(grep -c 'warning: server metrics' "$E2E_TMP/replay.err")" = 1 ] ||
    fail "wanted one warning for the dead target: $(cat "$E2E_TMP/replay.err")"
kill -TERM $mock; wait $mock || true
"$METRONOME" report "$E2E_TMP/run" -o "$E2E_TMP/out" >"$E2E_TMP/report.out" 2>&1 || fail "report"
grep -q "time_to_first_token" "$E2E_TMP/report.out" || fail "no cross-check on the console"
grep -q "GPU power W" "$E2E_TMP/report.out" || fail "no GPU series on the console"
python3 - "$E2E_TMP" <<'PY' || fail "cross-check"
import json, sys
d = sys.argv[1]
tl = [json.loads(l) for l in open(d + "/tl.jsonl")]
tl = [r for r in tl if r["path"] == "/v1/chat/completions" and r["chunks"]]
tl_ttft = sum((r["chunks"][0][0] - r["start_ns"]) / 1e6 for r in tl) / len(tl)
x = json.load(open(d + "/out/server_metrics_crosscheck.json"))
row = {r["metric"]: r for r in x["crosscheck"]}["time_to_first_token"]
print("timing log TTFT %.3f ms; server %.3f ms in bucket %s; ours %.3f ms; overhead %.3f ms"
      % (tl_ttft, row["server_mean_ms"], row["server_mean_bucket_ms"], row["ours_mean_ms"],
         row["overhead_ms"]))
assert row["server_histogram"] == "vllm:time_to_first_token_seconds", row
lo, hi = row["server_mean_bucket_ms"]
assert lo <= tl_ttft <= hi, (tl_ttft, lo, hi)
assert abs(row["overhead_ms"] - (row["ours_mean_ms"] - tl_ttft)) < 1.0, row
assert x["window"]["requests_ours"] == 30 and x["window"]["requests_server"] == 30, x["window"]
assert row["server_count"] == 30 and row["ours_count"] == 30, row
s = x["series"]
assert s["num_requests_running"]["max"] >= 1, s
assert s["gpu_power_w"]["max"] > 70 and s["gpu_energy_per_output_token_j"] > 0, s
run = json.load(open(d + "/run/run.json"))
tg = run["telemetry"]["targets"]
assert [t["kind"] for t in tg] == ["server", "server", "gpu"], tg
assert tg[0]["scrapes_ok"] >= 3 and tg[2]["scrapes_ok"] >= 3, tg
assert tg[1]["scrapes_ok"] == 0 and "never answered" in tg[1]["note"], tg[1]
srv = [json.loads(l) for l in open(d + "/out/server_metrics_export.jsonl")]
assert srv and all(set(r) >= {"endpoint_url", "timestamp_ns", "endpoint_latency_ns", "metrics"}
                   for r in srv), srv[0].keys()
h = srv[-1]["metrics"]["vllm:time_to_first_token_seconds"][0]
assert set(h) == {"labels", "buckets", "sum", "count"} and h["count"] == 30, h
gpu = [json.loads(l) for l in open(d + "/out/gpu_telemetry_export.jsonl")]
assert gpu and gpu[0]["gpu_uuid"].startswith("GPU-") and "nvidia_power_usage" in gpu[0]["telemetry_data"]
# the same field names as AIPerf 0.13's exports of the same mock (captured fixture)
import os
sys.path.insert(0, os.path.join(os.environ["E2E_ROOT"], "tests/e2e"))
import aiperf_fields
want = json.load(open(os.path.join(os.environ["E2E_ROOT"],
                                   "testdata/aiperf/server_metrics_fields.json")))["fields"]
got = aiperf_fields.fields(d + "/out")
for f in ("server_metrics_export.jsonl", "gpu_telemetry_export.jsonl"):
    assert got[f] == want[f], (f, got[f], want[f])
PY
for f in "$E2E_TMP"/run/* "$E2E_TMP"/out/*; do
    [ -f "$f" ] || continue
    case "$f" in *.zst) zstdcat "$f" ;; *) cat "$f" ;; esac | grep -q sk-e2e-metrics-secret &&
        fail "the API key reached $f"
done
# --no-server-metrics: nothing scraped, no file
port=$(free_port)
"$METRONOME" mock --port "$port" >/dev/null 2>&1 &
mock=$!
wait_port "$port"
"$METRONOME" replay "$E2E_TMP/trace.jsonl.zst" --url "127.0.0.1:$port" --request-count 3 \
    --no-server-metrics -q -o "$E2E_TMP/run2" >/dev/null 2>&1 || fail "replay --no-server-metrics"
[ ! -e "$E2E_TMP/run2/server_metrics.jsonl.zst" ] || fail "--no-server-metrics still scraped"
python3 -c "import json,sys; assert 'telemetry' not in json.load(open(sys.argv[1]))" \
    "$E2E_TMP/run2/run.json" || fail "telemetry in run.json without scraping"
kill $mock 2>/dev/null; wait $mock 2>/dev/null || true
# over TLS, verified against the mock's CA, as the requests are
port=$(free_port)
"$METRONOME" mock --port "$port" --tls-self-signed "$E2E_TMP/pki" >/dev/null 2>&1 &
mock=$!
wait_port "$port"
"$METRONOME" replay "$E2E_TMP/trace.jsonl.zst" --url "https://localhost:$port" --request-count 3 \
    --ca-file "$E2E_TMP/pki/ca.pem" -q -o "$E2E_TMP/run3" >/dev/null 2>&1 || fail "replay over TLS"
python3 - "$E2E_TMP/run3/run.json" <<'PY' || fail "TLS scrape"
import json, sys
t = json.load(open(sys.argv[1]))["telemetry"]["targets"]
assert t[0]["url"].startswith("https://localhost:") and t[0]["scrapes_ok"] >= 2, t
PY
