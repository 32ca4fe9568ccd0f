#!/usr/bin/env bash
# metronome demo from an empty directory: exits 0 within 15 s, prints the console report
# (with the injected errors) and the path of report.html, and leaves AIPerf's files.
. "$E2E_ROOT/tests/e2e/lib.sh"
# As root, in an empty chroot holding only the binary (no /etc, /dev, /lib, /tmp): what a
# fresh host gives it. Otherwise in an empty directory.
cd "$E2E_TMP"
run=("$METRONOME" demo)
if [ "$(id -u)" = 0 ] && command -v chroot >/dev/null; then
    mkdir -p root && cp "$METRONOME" root/metronome
    run=(chroot "$E2E_TMP/root" /metronome demo)
    echo "running in an empty chroot"
else
    mkdir -p root
fi
start=$(date +%s.%N)
(cd root && timeout 30 "${run[@]}") >out 2>err || { cat err >&2; fail "demo exited $?"; }
cd root
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
echo "demo took ${elapsed}s"
awk -v e="$elapsed" 'BEGIN{exit !(e <= 15)}' || fail "demo took ${elapsed}s (> 15 s)"
grep -q "NVIDIA AIPerf | LLM Metrics" ../out || fail "no metrics table"
grep -q "Error Summary" ../out || fail "no error summary (the demo injects faults)"
grep -q "HTML report: artifacts/demo/report.html" ../out || fail "no report path"
for f in report.html profile_export_aiperf.json profile_export_aiperf.csv profile_export.jsonl \
    trace.jsonl.zst records.jsonl.zst run.json logs/aiperf.log; do
    [ -s "artifacts/demo/$f" ] || fail "artifacts/demo/$f missing"
done
python3 - <<'PY' || fail "demo numbers"
import json
j = json.load(open("artifacts/demo/profile_export_aiperf.json"))
ok, err = j["request_count"]["avg"], j["error_request_count"]["avg"]
assert err == 4, err                  # 2 x 500, 1 x 429, 1 stream cut
assert ok + err >= 90, (ok, err)      # the whole schedule was sent
assert j["time_to_first_token"]["p50"] >= 30, j["time_to_first_token"]  # the mock's TTFT
# the mock's /metrics histograms count its queueing as vLLM's do: the client-minus-server
# overhead is the client's own (it was 8 ms at the demo's 16 slots when they did not)
x = {r["metric"]: r for r in json.load(open("artifacts/demo/server_metrics_crosscheck.json"))["crosscheck"]}
for m in ("time_to_first_token", "request_latency"):
    assert abs(x[m]["overhead_ms"]) < 1.0, x[m]
PY
grep -q "http" artifacts/demo/run.json
