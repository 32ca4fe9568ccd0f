# AIPerf 0.13's own loaders accept metronome's artifact directory: JsonExportData
# (profile_export_aiperf.json and phases/*), MetricRecordInfo (every profile_export.jsonl
# line), the CSV exactly as AIPerf's exporter writes it, phase_manifest.json, and
# `aiperf plot` on the directory (tests/e2e/aiperf_check.py says what is checked).
# aiperf==0.13.0 comes from PyPI into the git-ignored venv .cache/aiperf (reused when
# present; a cold install took 3 min 21 s on the 2-core dev VM).
. "$E2E_ROOT/tests/e2e/lib.sh"
venv="$E2E_ROOT/.cache/aiperf"
if ! "$venv/bin/python" -c 'import aiperf, sys; sys.exit(aiperf.__version__ != "0.13.0")' 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q aiperf==0.13.0 || fail "cannot install aiperf==0.13.0 from PyPI"
fi
py="$venv/bin/python"
check="$E2E_ROOT/tests/e2e/aiperf_check.py"
cd "$E2E_TMP"

port=$(free_port)
# every 7th request a 500, every 11th connection cut mid-body: errors of both kinds
"$METRONOME" mock --port "$port" --ttft 5ms --itl 1ms --osl 16 \
    --fault status=500@every=7 --fault close-after=2@every=11 >mock.log 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null; wait $mock 2>/dev/null || true' EXIT
wait_port "$port"

# 1. streaming chat, closed loop, warmup, errors
expect_exit 0 "$METRONOME" profile -m e2e-model --url "http://127.0.0.1:$port" --endpoint-type chat \
    --streaming --concurrency 2 --request-count 30 --warmup-request-count 4 --isl 50 --osl 16 \
    --random-seed 3 --slice-duration 0.1 --ui none --artifact-dir stream
"$py" "$check" stream --warmup --errors --streaming --slices || fail "AIPerf 0.13 rejects the streaming run"

# 2. non-streaming completions at a constant request rate, no warmup
expect_exit 0 "$METRONOME" profile -m e2e-model --url "http://127.0.0.1:$port" \
    --endpoint-type completions --request-rate 50 --arrival-pattern constant --request-count 20 \
    --isl 40 --osl 8 --random-seed 4 --ui none --artifact-dir rate
"$py" "$check" rate --errors || fail "AIPerf 0.13 rejects the request-rate run"
"$py" - rate <<'PY' || fail "input_config does not say what ran"
import json, sys
j = json.load(open(sys.argv[1] + "/profile_export_aiperf.json"))
ph = j["input_config"]["phases"]
assert [p["type"] for p in ph] == ["constant"] and ph[0]["rate"] == 50 and ph[0]["requests"] == 20, ph
assert j["input_config"]["endpoint"]["type"] == "completions", j["input_config"]["endpoint"]
assert j["input_config"]["endpoint"]["streaming"] is False
assert j["run_info"]["random_seed"] == 4 and j["run_info"]["cli_command"].startswith("metronome profile")
assert j["metronome"]["input_config"]["mode"] == "request_rate"  # ours, under our own name
PY

# 3. a whole trace replayed alone, then reported (no request count, no profile command
#    line); 4. a timed mooncake trace (fixed schedule, file dataset)
"$METRONOME" pack -m e2e-model --streaming --request-count 10 --isl 30 --osl 8 \
    -o alone.trace.jsonl.zst >/dev/null 2>&1 || fail "pack"
"$METRONOME" replay alone.trace.jsonl.zst --url "127.0.0.1:$port" --request-rate 40 -o alone -q \
    >/dev/null 2>&1 || fail "replay"
expect_exit 0 "$METRONOME" report alone -q
"$py" "$check" alone --streaming --errors || fail "AIPerf 0.13 rejects a replay reported alone"
"$py" -c 'import json,sys; c=json.load(open(sys.argv[1]))["run_info"]["cli_command"]; \
    assert c.startswith("metronome replay alone.trace.jsonl.zst"), c' alone/profile_export_aiperf.json ||
    fail "run_info.cli_command of a replay"
python3 -c 'import json
with open("mc.jsonl", "w") as f:
    for i in range(12):
        f.write(json.dumps({"timestamp": i * 40, "input_length": 40, "output_length": 8, "hash_ids": [i]}) + "\n")'
expect_exit 0 "$METRONOME" profile -m e2e-model --url "http://127.0.0.1:$port" --input-file mc.jsonl \
    --custom-dataset-type mooncake_trace --fixed-schedule --ui none --artifact-dir fixed
"$py" "$check" fixed || fail "AIPerf 0.13 rejects the fixed-schedule run"

# 5. --export-http-trace and --export-level raw: every trace_data validates with AIPerf's
#    aiohttp trace export model and dumps back to the same keys, order and values; every
#    raw line validates with RawRecordInfo (streaming, warmup, errors)
expect_exit 0 "$METRONOME" profile -m e2e-model --url "http://127.0.0.1:$port" --endpoint-type chat \
    --streaming --concurrency 2 --request-count 16 --warmup-request-count 2 --isl 30 --osl 8 \
    --export-http-trace --export-level raw --api-key sk-loaders --ui none --artifact-dir traced
"$py" - traced <<'PY' || fail "AIPerf 0.13 rejects trace_data or the raw lines"
import json, sys
from aiperf.common.models import MetricRecordInfo, RawRecordInfo
from aiperf.common.models.trace_models import AioHttpTraceDataExport
d = sys.argv[1]
n = 0
for line in open(d + "/profile_export.jsonl"):
    MetricRecordInfo.model_validate_json(line)
    t = json.loads(line)["trace_data"]
    back = json.loads(AioHttpTraceDataExport.model_validate(t).model_dump_json(exclude_none=True))
    assert back == t and list(back) == list(t), (t, back)
    n += 1
m = sum(1 for line in open(d + "/profile_export_raw.jsonl") if RawRecordInfo.model_validate_json(line))
assert n == m == 18, (n, m)
PY

# 6. aiperf plot reads the directory (offline; needs no GPU telemetry)
# (its plotting library renders through a Chromium it finds on PATH: a fresh machine has none)
command -v chromium >/dev/null || "$E2E_ROOT/scripts/ensure-deb" chromium ||
    fail "chromium not installed and cannot be installed (aiperf plot needs it)"
mkdir -p home
HOME="$E2E_TMP/home" timeout 300 "$venv/bin/aiperf" plot stream --output plots >plot.log 2>&1 ||
    { tail -20 plot.log; fail "aiperf plot failed"; }
[ -s plots/ttft_over_time.png ] || { tail -20 plot.log; fail "aiperf plot made no TTFT plot"; }
