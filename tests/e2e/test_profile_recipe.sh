#!/usr/bin/env bash
# AIPerf 0.13's grid search recipes against a mock that serves 2 requests at once (more
# queue), with TTFT 40 ms: a third concurrent client waits a whole request, so the SLA
# "p95 TTFT < 65 ms" holds up to concurrency 2 and breaks at 3.
#  1. max-concurrency-under-sla --search-style grid over 1..8 runs AIPerf's 8-step log grid
#     (1,2,3,4,6,8) and writes sweep_aggregate/sla_breach.json: max passing 2, first failing
#     3 on time_to_first_token;
#  2. concurrency-ramp 1..16 in 3 steps (1,4,16) finds the first point whose p99
#     request_latency passes 1.5 x concurrency 1's
#     (degradation_knee.json); `metronome report` on the base writes it again;
#  3. bad recipe values exit 2 naming the option and value, with nothing written.
. "$E2E_ROOT/tests/e2e/lib.sh"
M=$METRONOME
port=$(free_port)
"$M" mock --port "$port" --ttft 40ms --itl 1ms --osl 4 --max-concurrency 2 --spin 2ms >/dev/null 2>"$E2E_TMP/mock.err" &
mpid=$!
trap 'kill $mpid 2>/dev/null || true' EXIT
wait_port "$port"
cd "$E2E_TMP"
common=(--model metronome-mock --url "http://127.0.0.1:$port" --endpoint-type chat --streaming
    --request-count 12 --isl 16 --osl 4 --ui none)

# 1. max concurrency under a TTFT SLA
"$M" profile "${common[@]}" --search-recipe max-concurrency-under-sla --search-style grid \
    --concurrency-max 8 --ttft-sla-ms 65 --artifact-dir sla >sla.out 2>sla.err \
    || fail "sla recipe exit $?: $(tail -3 sla.err)"
python3 - <<'PY' || fail "sla_breach.json"
import json
m = json.load(open("sla/metronome_sweep.json"))
assert [p["dir"] for p in m["points"]] == ["concurrency_%d" % c for c in (1, 2, 3, 4, 6, 8)], m["points"]
b = json.load(open("sla/sweep_aggregate/sla_breach.json"))
assert b["swept_param"] == "phases.profiling.concurrency", b
assert b["max_passing_concurrency"] == 2 and b["first_failing_concurrency"] == 3, b
fb = b["first_failing_breach"]
assert fb["metric_tag"] == "time_to_first_token" and fb["stat"] == "p95" and fb["observed"] >= 65, fb
assert [p["concurrency"] for p in b["all_points"]] == [1, 2, 3, 4, 6, 8]
assert b["monotonicity_check"] is True, b
assert b["filters"] == [{"metric_tag": "time_to_first_token", "stat": "p95", "op": "lt", "threshold": 65}], b
PY

# 2. the degradation knee
"$M" profile "${common[@]}" --search-recipe concurrency-ramp --concurrency-max 16 --concurrency-steps 3 \
    --degradation-threshold 0.5 --artifact-dir ramp >ramp.out 2>ramp.err \
    || fail "ramp recipe exit $?: $(tail -3 ramp.err)"
check_knee() {
    python3 - "$1" <<'PY' || fail "degradation_knee.json ($1)"
import json, sys
k = json.load(open(sys.argv[1]))
pts = k["all_points"]
assert k["baseline_concurrency"] == 1 and k["baseline_p99"] == pts[0]["p99"], k
# the knee: the first point past baseline * 1.5 (16 clients on 2 slots: ~6 requests' time)
first = next(p for p in pts[1:] if p["p99"] > 1.5 * pts[0]["p99"])
assert k["knee_concurrency"] == first["concurrency"] and k["knee_p99"] == first["p99"], k
assert k["swept_metric"] == "request_latency" and k["stat"] == "p99" and k["threshold_pct"] == 0.5, k
assert [p["concurrency"] for p in pts] == [1, 4, 16], k
PY
}
check_knee ramp/sweep_aggregate/degradation_knee.json
rm ramp/sweep_aggregate/degradation_knee.json
"$M" report ramp >rep.out 2>rep.err || fail "report on the ramp: $(tail -3 rep.err)"
check_knee ramp/sweep_aggregate/degradation_knee.json

# 3. bad values: exit 2, one line naming option and value, nothing written
bad() {
    local want=$1
    shift
    local rc=0
    "$M" profile "${common[@]}" --artifact-dir bad "$@" >bad.out 2>bad.err || rc=$?
    [ "$rc" = 2 ] || fail "$*: exit $rc, want 2"
    grep -qF -- "$want" bad.err || fail "$*: $(cat bad.err)"
    [ "$(wc -l <bad.err)" = 1 ] || fail "$*: more than one line: $(cat bad.err)"
    [ ! -e bad ] || fail "$*: wrote bad/"
}
bad "--ttft-sla-ms: 'abc'" --search-recipe max-concurrency-under-sla --search-style grid --ttft-sla-ms abc
bad "--search-style: 'smooth_isotonic' is not supported" --search-recipe max-concurrency-under-sla --e2e-sla-ms 100
bad "--search-recipe: 'max-goodput-under-slo' is not supported" --search-recipe max-goodput-under-slo
bad "--concurrency-steps" --search-recipe concurrency-ramp --concurrency-steps 1
