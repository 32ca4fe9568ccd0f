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
"$METRONOME" report "$E2E_TMP/run" -o "$E2E_TMP/out" --server-metrics-formats jsonl,json \
    --server-metrics-formats csv >"$E2E_TMP/report.out" 2>&1 || fail "report"
# AIPerf's default formats: the aggregated json and csv, not the per-scrape jsonl
"$METRONOME" report "$E2E_TMP/run" -o "$E2E_TMP/out-default" -q >/dev/null 2>&1 ||
    fail "report (default formats)"
[ -f "$E2E_TMP/out-default/server_metrics_export.json" ] &&
    [ -f "$E2E_TMP/out-default/server_metrics_export.csv" ] &&
    [ ! -e "$E2E_TMP/out-default/server_metrics_export.jsonl" ] ||
    fail "default --server-metrics-formats: want json and csv only: $(ls "$E2E_TMP/out-default")"
"$METRONOME" report "$E2E_TMP/run" -o "$E2E_TMP/out-bad" -q --server-metrics-formats parquet \
    >/dev/null 2>"$E2E_TMP/bad.err" && fail "parquet accepted"
grep -q "not supported yet: 'parquet'" "$E2E_TMP/bad.err" || fail "parquet: $(cat "$E2E_TMP/bad.err")"
grep -q "time_to_first_token" "$E2E_TMP/report.out" || fail "no cross-check on the console"
grep -q "GPU power W" "$E2E_TMP/report.out" || fail "no GPU series on the console"
python3 - "$E2E_TMP" <<'PY' || fail "cross-check"
import json, sys
d = sys.argv[1]
tl = [json.loads(l) for l in open(d + "/tl.jsonl")]
tl = [r for r in tl if r["path"] == "/v1/chat/completions" and r["chunks"]]
tl_ttft = sum((r["chunks"][0][0] - r["recv_ns"]) / 1e6 for r in tl) / len(tl)
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
for f in ("server_metrics_export.jsonl", "gpu_telemetry_export.jsonl",
          "server_metrics_export.json", "server_metrics_export.csv"):
    assert got[f] == want[f], (f, got[f], want[f])
# every CSV section header (type, stat and label columns) as in AIPerf's captured file, and
# the JSON's keys at every level where AIPerf wrote them
cap = os.path.join(os.environ["E2E_ROOT"], "testdata/aiperf/server_metrics_capture")
heads = lambda p: [l.rstrip("\r\n") for l in open(p, newline="") if l.startswith("Endpoint,")]
assert heads(d + "/out/server_metrics_export.csv") == heads(cap + "/server_metrics_export.csv"), \
    heads(d + "/out/server_metrics_export.csv")
theirs = json.load(open(cap + "/server_metrics_export.json"))
ours = json.load(open(d + "/out/server_metrics_export.json"))
def same_keys(a, b, path):
    if isinstance(a, dict):
        assert isinstance(b, dict), path
        if path not in (".metrics", ".input_config") and not path.endswith(".buckets") \
                and not path.endswith(".endpoint_info") and not path.endswith(".labels"):
            assert list(a) == list(b), (path, list(a), list(b))
        for k in a:
            if k in b and path not in (".input_config",):
                same_keys(a[k], b[k], path + "." + k)
    elif isinstance(a, list) and a and b:
        same_keys(a[0], b[0], path + "[0]")
same_keys(theirs, ours, "")
assert sorted(theirs["metrics"]) == sorted(ours["metrics"]), (sorted(ours["metrics"]))
for name, m in theirs["metrics"].items():
    assert (m["type"], m.get("unit")) == (ours["metrics"][name]["type"], ours["metrics"][name].get("unit")), name
# the aggregates agree with the run: 30 requests in the window, TTFT mean as the cross-check's
om = ours["metrics"]
h = om["vllm:time_to_first_token_seconds"]["series"][0]["stats"]
assert h["count"] == 30 and abs(h["avg"] * 1e3 - row["server_mean_ms"]) < 1e-6, (h, row)
ok = [s for s in om["vllm:request_success"]["series"] if s["labels"]["finished_reason"] == "length"]
assert ok[0]["stats"]["total"] == 30, ok
assert om["vllm:num_requests_running"]["series"][0]["stats"]["max"] >= 1, om["vllm:num_requests_running"]
assert ours["summary"]["endpoints_configured"][1].startswith("http://127.0.0.1:"), ours["summary"]
assert len(ours["summary"]["endpoints_successful"]) == 1, ours["summary"]
PY
for f in "$E2E_TMP"/run/* "$E2E_TMP"/out/*; do
    [ -f "$f" ] || continue
    case "$f" in *.zst) zstdcat "$f" ;; *) cat "$f" ;; esac | grep -q sk-e2e-metrics-secret &&
        fail "the API key reached $f"
done
# concurrency 16 against a mock running at most 4 at once: the queueing is the server's,
# so its TTFT and e2e histograms (from arrival, as vLLM's) must agree with ours within 1 ms
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 20ms --itl 2ms --max-concurrency 4 \
    --timing-log "$E2E_TMP/tlq.jsonl" >/dev/null 2>&1 &
mock=$!
wait_port "$port"
"$METRONOME" pack -m m --streaming --request-count 64 --isl 20 --osl 10 \
    -o "$E2E_TMP/traceq.jsonl.zst" >/dev/null 2>&1 || fail "pack (queued)"
"$METRONOME" replay "$E2E_TMP/traceq.jsonl.zst" --url "127.0.0.1:$port" --concurrency 16 \
    --server-metrics-interval 0.2 -q -o "$E2E_TMP/runq" >/dev/null 2>&1 || fail "replay (queued)"
kill -TERM $mock; wait $mock || true
"$METRONOME" report "$E2E_TMP/runq" -o "$E2E_TMP/outq" -q >/dev/null 2>&1 || fail "report (queued)"
python3 - "$E2E_TMP" <<'PY' || fail "cross-check at concurrency 16 with the server queueing"
import json, sys
d = sys.argv[1]
tl = [json.loads(l) for l in open(d + "/tlq.jsonl")]
tl = [r for r in tl if r["path"] == "/v1/chat/completions" and r["chunks"]]
queued = sum(r["start_ns"] > r["arrive_ns"] for r in tl)
tl_ttft = sum((r["chunks"][0][0] - r["recv_ns"]) / 1e6 for r in tl) / len(tl)
x = json.load(open(d + "/outq/server_metrics_crosscheck.json"))
rows = {r["metric"]: r for r in x["crosscheck"]}
for m in ("time_to_first_token", "request_latency"):
    r = rows[m]
    print("%s: server %.3f ms, ours %.3f ms, overhead %.3f ms (%d of %d queued)"
          % (m, r["server_mean_ms"], r["ours_mean_ms"], r["overhead_ms"], queued, len(tl)))
    assert r["server_count"] == 64 and abs(r["overhead_ms"]) < 1.0, r
assert queued >= 32, queued  # the check means something only when most requests waited
lo, hi = rows["time_to_first_token"]["server_mean_bucket_ms"]
assert lo <= tl_ttft <= hi, (tl_ttft, lo, hi)
PY
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
kill $mock 2>/dev/null; wait $mock 2>/dev/null || true
# profile takes AIPerf's lists (`--server-metrics-formats json csv jsonl`, a bare
# `--gpu-telemetry`: the DCGM defaults) and scrapes --url + /metrics as AIPerf does, /v1 kept
port=$(free_port)
"$METRONOME" mock --port "$port" >/dev/null 2>&1 &
mock=$!
wait_port "$port"
"$METRONOME" profile --model m --url "http://127.0.0.1:$port/v1" --endpoint-type chat --streaming \
    --request-count 2 --isl 8 --osl 4 --ui none --gpu-telemetry --server-metrics-formats json \
    csv jsonl --server-metrics "127.0.0.1:$port" --artifact-dir "$E2E_TMP/prof" \
    >"$E2E_TMP/prof.out" 2>&1 || fail "profile: $(tail -3 "$E2E_TMP/prof.out")"
kill $mock 2>/dev/null; wait $mock 2>/dev/null || true
python3 - "$E2E_TMP/prof" "$port" <<'PY' || fail "profile's telemetry targets"
import json, os, sys
d, port = sys.argv[1], sys.argv[2]
t = [(x["kind"], x["url"]) for x in json.load(open(d + "/run.json"))["telemetry"]["targets"]]
assert t == [("server", f"http://127.0.0.1:{port}/v1/metrics"),
             ("server", f"http://127.0.0.1:{port}/metrics"),
             ("gpu", "http://localhost:9400/metrics"), ("gpu", "http://localhost:9401/metrics")], t
for f in ("json", "csv", "jsonl"):
    assert os.path.exists(f"{d}/server_metrics_export.{f}"), f
PY
