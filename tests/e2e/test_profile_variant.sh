#!/usr/bin/env bash
# --variant (AIPerf 0.13's ScenarioSweep from the CLI): each occurrence is one run of the
# sweep, '[name:] key=value, ...' with keys the profile options without their dashes
# (kebab or snake case):
#  1. two variants, one named, one not (v1), run with their own ISL/OSL/concurrency/
#     streaming/request count (checked in each run's input_config and metrics), into
#     directories named after them, seeds 42 and 43, the sweep aggregate keyed by
#     "benchmark" (the overrides as JSON text);
#  2. bad variants (one occurrence, unknown key, no '=', a bad value in the second variant,
#     with a sweep list or a recipe, two variants on one directory) exit 2 with one line,
#     nothing written.
. "$E2E_ROOT/tests/e2e/lib.sh"
M=$METRONOME
port=$(free_port)
"$M" mock --port "$port" --ttft 2ms --itl 1ms >/dev/null 2>"$E2E_TMP/mock.err" &
mpid=$!
trap 'kill $mpid 2>/dev/null || true' EXIT
wait_port "$port"
cd "$E2E_TMP"
common=(--model metronome-mock --url "http://127.0.0.1:$port" --endpoint-type chat --ui none --request-count 4)

"$M" profile "${common[@]}" --variant 'small: isl=16, osl=4, concurrency=1' \
    --sweep-variant 'osl = 8, concurrency=2, streaming=true, request_count=6' --artifact-dir v \
    >v.out 2>v.err || fail "variant sweep exit $?: $(tail -3 v.err)"
python3 - <<'PY' || fail "variant sweep"
import json
m = json.load(open("v/metronome_sweep.json"))
assert [(p["dir"], p["label"], p["seed"]) for p in m["points"]] == [("small", "small", 42), ("v1", "v1", 43)], m["points"]
want = {
    "small": dict(isl=16, osl=4, conc=1, stream=False, n=4),
    "v1": dict(osl=8, conc=2, stream=True, n=6),
}
for d, w in want.items():
    e = json.load(open(f"v/{d}/profile_export_aiperf.json"))
    ic = e["input_config"]
    pr = ic["datasets"][0]["prompts"]
    assert ic["phases"][0]["concurrency"] == w["conc"], (d, ic)
    assert ic["phases"][0]["requests"] == w["n"], (d, ic)
    assert ic["endpoint"]["streaming"] is w["stream"], (d, ic)
    assert pr["osl"]["mean"] == w["osl"], (d, pr)
    if "isl" in w:
        assert pr["isl"]["mean"] == w["isl"], (d, pr)
    assert e["output_sequence_length"]["avg"] == w["osl"], (d, e["output_sequence_length"])
    assert ("time_to_first_token" in e) is w["stream"], d
agg = json.load(open("v/sweep_aggregate/profile_export_aiperf_sweep.json"))
bench = ['{"isl":16,"osl":4,"concurrency":1}', '{"osl":8,"concurrency":2,"streaming":true,"request_count":6}']
assert agg["metadata"]["sweep_parameters"] == [{"name": "benchmark", "values": bench}], agg["metadata"]
assert [r["parameters"] for r in agg["per_combination_metrics"]] == [{"benchmark": b} for b in bench], agg
PY

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
bad "--variant: a single occurrence is rejected" --variant 'a: isl=8'
bad "--variant 'a: colour=red': unknown key 'colour'" --variant 'a: colour=red' --variant 'b: isl=8'
bad "--variant 'b: isl': token 'isl' is missing '='" --variant 'a: isl=8' --variant 'b: isl'
bad "--variant 'a: streaming=yes': streaming=yes: the flag takes true or false" --variant 'a: streaming=yes' --variant 'b: isl=8'
bad "--concurrency: expected an integer, got 'many'" --variant 'a: isl=8' --variant 'b: concurrency=many'
bad "--variant cannot be combined with the --concurrency list" --concurrency 1,2 --variant 'a: isl=8' --variant 'b: isl=9'
bad "--variant cannot be combined with --search-recipe" --search-recipe concurrency-ramp --variant 'a: isl=8' --variant 'b: isl=9'
bad "--variant: two variants would write the directory 'a'" --variant 'a: isl=8' --variant 'a: isl=9'
