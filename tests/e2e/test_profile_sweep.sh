#!/usr/bin/env bash
# Sweeps and repeated runs (issue 12 §1-2):
#  1. `--concurrency 1,2,4,8,16,32` against the mock gives AIPerf 0.13's layout: the same
#     points, directory names, files and summary fields as AIPerf's own run of the same
#     command line (captured fixture tests/e2e/data/aiperf-0.13-sweep-layout.txt; the
#     compare is also shown to fail on a layout with a file missing);
#  2. 5 repeated runs against a mock with known TTFT jitter: the 95 % CI of mean TTFT holds
#     the configured TTFT, and matches a Student-t computation done here (closed-form CDF,
#     no scipy) to 1e-9 relative;
#  3. SIGINT during a sweep keeps the finished points, marks the rest not_run, names them,
#     exits 130; the summary marks the gap;
#  4. a point whose directory is gone is reported as missing when the summary is rebuilt.
. "$E2E_ROOT/tests/e2e/lib.sh"
M=$METRONOME
port=$(free_port)
"$M" mock --port "$port" --ttft 5ms --itl 1ms --osl 16 >/dev/null 2>"$E2E_TMP/mock.err" &
mpid=$!
port2=$(free_port)
# TTFT 40 ms with a 15 ms normal jitter, seeded (seed 1's draws give run means around 40 ms;
# the CI, about +-8 ms wide with 6 requests a run, leaves room for a loaded machine's few
# ms of timer lateness, which --spin keeps small).
"$M" mock --port "$port2" --ttft 40ms --ttft-jitter 15ms --itl 1ms --osl 4 --seed 1 --spin 2ms >/dev/null 2>"$E2E_TMP/mock2.err" &
mpid2=$!
trap 'kill $mpid $mpid2 2>/dev/null || true' EXIT
wait_port "$port"
wait_port "$port2"
cd "$E2E_TMP"

# 1. The sweep and its layout.
"$M" profile --model metronome-mock --url "http://127.0.0.1:$port" --endpoint-type chat --streaming \
    --concurrency 1,2,4,8,16,32 --request-count 32 --isl 32 --osl 16 --ui none --artifact-dir sw \
    >sw.out 2>sw.err || fail "sweep exit $?: $(tail -3 sw.err)"
python3 "$E2E_ROOT/tests/e2e/aiperf_layout.py" check "$E2E_ROOT/tests/e2e/data/aiperf-0.13-sweep-layout.txt" sw \
    || fail "layout differs from AIPerf 0.13's"
cp -r sw sw-broken && rm sw-broken/sweep_aggregate/profile_export_aiperf_sweep.csv sw-broken/concurrency_8/inputs.json
if python3 "$E2E_ROOT/tests/e2e/aiperf_layout.py" check "$E2E_ROOT/tests/e2e/data/aiperf-0.13-sweep-layout.txt" sw-broken >broken.out; then
    fail "the layout check passed a layout with files missing"
fi
grep -q "missing file concurrency_8/inputs.json" broken.out || fail "broken layout: $(cat broken.out)"
python3 - <<'PY' || fail "sweep manifest / summary"
import csv, json
m = json.load(open("sw/metronome_sweep.json"))
dirs = [p["dir"] for p in m["points"]]
assert dirs == ["concurrency_%d" % c for c in (1, 2, 4, 8, 16, 32)], dirs
assert all(r["status"] == "ok" for p in m["points"] for r in p["runs"]), m
assert m["complete"] and not m["cancelled"]
s = json.load(open("sw/sweep_summary.json"))
assert [p["parameters"]["concurrency"] for p in s["points"]] == [1, 2, 4, 8, 16, 32]
for p in s["points"]:
    assert p["status"] == "ok", p
    for k in ("request_throughput_avg", "output_token_throughput_avg", "output_token_throughput_per_user_avg",
              "time_to_first_token_p99", "request_latency_p99"):
        assert k in p["metrics"], (p["dir"], k)
    # one run per point: the run's own value (JSON numbers carry 15 significant digits),
    # CI collapsed
    run = json.load(open("sw/%s/profile_export_aiperf.json" % p["dir"]))
    mt = p["metrics"]["time_to_first_token_p99"]
    want = run["time_to_first_token"]["p99"]
    assert abs(mt["mean"] - want) <= 1e-14 * want, (mt, want)
    assert mt["ci_low"] == mt["mean"] == mt["ci_high"] and mt["n"] == 1 and mt["std"] == 0
rows = list(csv.DictReader(open("sw/sweep_summary.csv")))
assert [r["concurrency"] for r in rows] == ["1", "2", "4", "8", "16", "32"], rows
assert float(rows[0]["request_throughput_avg_mean"]) > 0
sj = json.load(open("sw/sweep_aggregate/profile_export_aiperf_sweep.json"))
assert [c["parameters"]["concurrency"] for c in sj["per_combination_metrics"]] == [1, 2, 4, 8, 16, 32]
PY

# 2. Repeated runs and their confidence interval.
"$M" profile --model metronome-mock --url "http://127.0.0.1:$port2" --endpoint-type chat --streaming \
    --concurrency 1 --request-count 6 --isl 16 --osl 4 --num-profile-runs 5 --ui none --artifact-dir rep \
    >rep.out 2>rep.err || fail "repeated runs exit $?: $(tail -3 rep.err)"
python3 - <<'PY' || fail "confidence interval"
import json, math
def cdf(t, df):
    # Student-t CDF for an integer df (Abramowitz & Stegun 26.7.3/4)
    th = math.atan(t / math.sqrt(df)); c2 = math.cos(th) ** 2; s = math.sin(th)
    if df % 2:
        acc, term = 0.0, 1.0
        for k in range(0, (df - 3) // 2 + 1 if df >= 3 else 0):
            if k: term *= c2 * (2 * k) / (2 * k + 1)
            acc += term
        a = 2 / math.pi * (th + (s * math.cos(th) * acc if df >= 3 else 0))
    else:
        acc, term = 0.0, 1.0
        for k in range(0, (df - 2) // 2 + 1):
            if k: term *= c2 * (2 * k - 1) / (2 * k)
            acc += term
        a = s * acc
    return 0.5 + 0.5 * a
def ppf(p, df):
    lo, hi = 0.0, 1.0
    while cdf(hi, df) < p: hi *= 2
    for _ in range(300):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2
vals = [json.load(open("rep/profile_runs/run_%04d/profile_export_aiperf.json" % i))["time_to_first_token"]["avg"]
        for i in range(1, 6)]
n = len(vals); mean = sum(vals) / n
sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1))
t = ppf(1 - (1 - 0.95) / 2, n - 1)
lo, hi = mean - t * sd / math.sqrt(n), mean + t * sd / math.sqrt(n)
a = json.load(open("rep/aggregate/profile_export_aiperf_aggregate.json"))
assert a["metadata"]["num_profile_runs"] == 5 and a["metadata"]["num_successful_runs"] == 5, a["metadata"]
assert a["metadata"]["run_labels"] == ["run_%04d" % i for i in range(1, 6)]
m = a["metrics"]["time_to_first_token_avg"]
rel = lambda x, y: abs(x - y) / abs(y)
for k, want in (("mean", mean), ("std", sd), ("ci_low", lo), ("ci_high", hi), ("t_critical", t)):
    assert rel(m[k], want) <= 1e-9, (k, m[k], want)
print(f"TTFT run means {['%.3f' % v for v in vals]} ms; 95% CI [{lo:.3f}, {hi:.3f}] ms; t {t:.12f}")
assert lo <= 40.0 <= hi, ("configured TTFT 40 ms outside the CI", lo, hi)
s = json.load(open("rep/sweep_summary.json"))
p = s["points"][0]
assert p["status"] == "ok" and p["runs_ok"] == 5 and p["metrics"]["time_to_first_token_avg"]["n"] == 5
assert rel(p["metrics"]["time_to_first_token_avg"]["ci_low"], lo) <= 1e-9
PY

# 3. SIGINT in the middle of a sweep.
python3 - "$M" "$port" <<'PY' || fail "SIGINT"
import json, signal, subprocess, sys, time
M, port = sys.argv[1], sys.argv[2]
p = subprocess.Popen([M, "profile", "--model", "metronome-mock", "--url", "http://127.0.0.1:" + port,
                      "--endpoint-type", "chat", "--streaming", "--concurrency", "1,2,4", "--request-count", "400",
                      "--osl", "16", "--ui", "none", "--artifact-dir", "intr"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
deadline = time.time() + 20
import os
while time.time() < deadline and not os.path.exists("intr/concurrency_1/run.json.tmp") and not os.path.exists("intr/concurrency_1/records.jsonl.zst"):
    time.sleep(0.05)
time.sleep(0.5)
p.send_signal(signal.SIGINT)
rc = p.wait(timeout=60)
err = p.stderr.read()
assert rc == 130, (rc, err)
last = err.strip().splitlines()[-1]
assert last == "metronome: error: sweep interrupted: 2 of 3 point(s) did not run: concurrency_2, concurrency_4", last
m = json.load(open("intr/metronome_sweep.json"))
assert [p["runs"][0]["status"] for p in m["points"]] == ["cancelled", "not_run", "not_run"], m["points"]
assert m["cancelled"] and not m["complete"]
assert os.path.exists("intr/concurrency_1/profile_export_aiperf.json")
assert not os.path.exists("intr/concurrency_2")
s = json.load(open("intr/sweep_summary.json"))
assert [p["status"] for p in s["points"]] == ["cancelled", "not_run", "not_run"], s["points"]
assert s["points"][1]["note"] == "the sweep ended before this point ran"
PY

# 4. `metronome report` over a sweep base with a point gone, over several runs, and bad input.
cp -r sw sw-gap && rm -rf sw-gap/concurrency_8 sw-gap/sweep_summary.json sw-gap/sweep_summary.csv
"$M" report sw-gap -q >/dev/null 2>gap.err || fail "report over a sweep with a gap: $(tail -2 gap.err)"
python3 - <<'PY' || fail "gap"
import csv, json
s = json.load(open("sw-gap/sweep_summary.json"))
st = {p["dir"]: (p["status"], p["note"]) for p in s["points"]}
assert len(s["points"]) == 6, st
assert st["concurrency_8"][0] == "missing" and "concurrency_8/profile_export_aiperf.json" in st["concurrency_8"][1], st
assert all(v[0] == "ok" for k, v in st.items() if k != "concurrency_8"), st
rows = list(csv.DictReader(open("sw-gap/sweep_summary.csv")))
assert [r["status"] for r in rows] == ["ok", "ok", "ok", "missing", "ok", "ok"], rows
assert rows[3]["request_throughput_avg_mean"] == "", rows[3]
PY
"$M" report sw/concurrency_1 sw/concurrency_4 -o cmp -q >/dev/null 2>cmp.err || fail "report over two runs: $(tail -2 cmp.err)"
python3 -c "
import json; s = json.load(open('cmp/sweep_summary.json'))
assert s['source'] == 'runs' and [p['label'] for p in s['points']] == ['concurrency_1', 'concurrency_4'], s['points']
assert all(p['status'] == 'ok' and p['metrics']['request_throughput_avg']['n'] == 1 for p in s['points'])
" || fail "summary over two runs"
# The points' traces differ only in their seeds (42 + i): no warning. A trace packed with
# other options (here a changed ISL in a copy's header) still gets one.
! grep -q "runs differ" cmp.err || fail "seeded points warned: $(cat cmp.err)"
cp -r sw/concurrency_4 isl && sed -i "s/\"isl\":32.0,/\"isl\":33.0,/" isl/run.json
grep -q "\"isl\":33.0," isl/run.json || fail "no isl in the trace header to change"
"$M" report sw/concurrency_1 isl -o cmpi -q >/dev/null 2>cmpi.err || fail "$(cat cmpi.err)"
grep -q "runs differ in trace (sha256): concurrency_1 has" cmpi.err || fail "other options: $(cat cmpi.err)"
expect_exit 1 "$M" report sw/concurrency_1 sw/no-such-point -o cmp2 -q
[ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] && grep -q "^metronome: error: .*no-such-point" "$E2E_TMP/stderr" \
    || fail "missing run dir: $(cat "$E2E_TMP/stderr")"
# html alone over several runs: the summary needs each run's JSON export, so a note says it
# was not written (it failed on the missing file) and report.html is there
"$M" report --exports html sw/concurrency_1 sw/concurrency_4 -o cmph -q >/dev/null 2>cmph.err \
    || fail "report --exports html over two runs: $(tail -2 cmph.err)"
[ -s cmph/report.html ] && [ ! -e cmph/sweep_summary.json ] && grep -q "^metronome: note: sweep_summary.json/.csv and sweep_report.html need the json export" cmph.err \
    || fail "html alone over two runs: $(cat cmph.err)"
# runs of different run.json format versions: a one-line error naming the file and both versions
cp -r sw/concurrency_2 v7 && sed -i 's/"version":1,/"version":7,/' v7/run.json
expect_exit 1 "$M" report sw/concurrency_1 v7 -o cmpv -q
[ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] && grep -q "^metronome: error: v7/run.json: run format version 7 is not supported (this build reads 1)" "$E2E_TMP/stderr" \
    || fail "different versions: $(cat "$E2E_TMP/stderr")"
cp -r sw sw-bad && echo '{"format": "metronome-sweep", "version": 2, "points": []}' >sw-bad/metronome_sweep.json
expect_exit 1 "$M" report sw-bad -q
grep -q "^metronome: error: sw-bad/metronome_sweep.json: field 'version': only version 1 is known" "$E2E_TMP/stderr" \
    || fail "manifest version: $(cat "$E2E_TMP/stderr")"

# 5. Sweep x repeated runs: AIPerf's layouts for both modes, seeds (base + point index),
#    warmup in the first trial only, and convergence stopping a point early.
common=(--model metronome-mock --url "http://127.0.0.1:$port" --endpoint-type chat --streaming
        --request-count 4 --osl 4 --ui none)
COLUMNS=60 "$M" profile "${common[@]}" --concurrency 1,2 --num-profile-runs 2 --warmup-request-count 2 --warmup-duration=5 \
    --random-seed 5 --artifact-dir rr >/dev/null 2>rr.err || fail "repeated sweep: $(tail -2 rr.err)"
# the live sweep table: a line per finished run, cut to the width (COLUMNS=60: 59 chars)
[ "$(grep -c '^metronome: sweep [1-4]/4 concurrency_[12] trial [12]: ' rr.err)" = 4 ] \
    || fail "live sweep lines: $(grep '^metronome: sweep' rr.err)"
awk '/^metronome: sweep [0-9]/ && length($0) > 59 {bad = 1} END {exit bad}' rr.err \
    || fail "a live sweep line is wider than COLUMNS: $(grep '^metronome: sweep [0-9]' rr.err)"
"$M" profile "${common[@]}" --concurrency 1,2 --num-profile-runs 2 --parameter-sweep-mode independent \
    --artifact-dir ri >/dev/null 2>ri.err || fail "independent sweep: $(tail -2 ri.err)"
"$M" profile "${common[@]}" --num-profile-runs 4 --convergence-metric request_count --convergence-mode cv \
    --artifact-dir rc >/dev/null 2>rc.err || fail "convergence: $(tail -2 rc.err)"
# --vary-seed-per-trial: AIPerf's SHA-256 seed per (point, trial); --convergence-mode
# distribution: the KS test on the per-request values stops a point once p > threshold
# (a tiny threshold: after 2 runs), and never with a metric no record has.
"$M" profile "${common[@]}" --concurrency 1,2 --num-profile-runs 2 --vary-seed-per-trial --random-seed 7 \
    --artifact-dir rv >/dev/null 2>rv.err || fail "vary seed: $(tail -2 rv.err)"
"$M" profile "${common[@]}" --num-profile-runs 2 --vary-seed-per-trial --artifact-dir rv1 >/dev/null 2>rv1.err \
    || fail "vary seed, no sweep: $(tail -2 rv1.err)"
"$M" profile "${common[@]}" --request-count 8 --num-profile-runs 3 --convergence-metric request_latency \
    --convergence-mode distribution --convergence-threshold 0.000001 --artifact-dir rks >/dev/null 2>rks.err \
    || fail "distribution convergence: $(tail -2 rks.err)"
"$M" profile "${common[@]}" --num-profile-runs 3 --convergence-metric no_such_metric \
    --convergence-mode distribution --artifact-dir rks2 >/dev/null 2>rks2.err \
    || fail "distribution convergence, unknown metric: $(tail -2 rks2.err)"
expect_exit 2 "$M" profile "${common[@]}" --num-profile-runs 3 --convergence-metric request_latency \
    --convergence-mode distribution --export-level summary --artifact-dir rks3
grep -q "^metronome: error: --convergence-mode distribution needs the per-request records" "$E2E_TMP/stderr" \
    || fail "distribution with summary export: $(cat "$E2E_TMP/stderr")"
python3 - <<'PY' || fail "vary seed / distribution convergence"
import hashlib, json
def j(p): return json.load(open(p))
def derived(root, label, t):  # AIPerf's derive_variation_seed(root, f"{label}:trial:{t}")
    h = hashlib.sha256(f"{root}:variation:{label}:trial:{t}".encode()).digest()
    return int.from_bytes(h[:8], "big") & (2**63 - 1)
seen = set()
for t in (1, 2):
    for c in (1, 2):
        d = "rv/profile_runs/trial_%04d/concurrency_%d" % (t, c)
        want = derived(7, "phases.profiling.concurrency=%d" % c, t - 1)
        e = j(d + "/profile_export_aiperf.json")
        got = e["run_info"]["random_seed"]
        assert got == want, (d, got, want)
        # the config echoes too, exact (cJSON printed a 63-bit seed as 9.0e+18)
        assert e["metronome"]["input_config"]["random_seed"] == want, e["metronome"]["input_config"]
        assert e["input_config"]["datasets"][0]["random_seed"] == want, e["input_config"]["datasets"]
        seen.add(got)
assert len(seen) == 4
m = j("rv/metronome_sweep.json")
assert m["points"][1]["runs"][1]["seed"] == str(derived(7, "phases.profiling.concurrency=2", 1)), m["points"][1]
for t in (1, 2):  # no sweep: label "base", root 42 (--set-consistent-seed)
    got = j("rv1/profile_runs/run_%04d/profile_export_aiperf.json" % t)["run_info"]["random_seed"]
    assert got == derived(42, "base", t - 1), (t, got)
m = j("rks/metronome_sweep.json")
assert m["convergence"]["mode"] == "distribution" and m["convergence"]["threshold"] == 0.000001, m["convergence"]
assert [r["status"] for r in m["points"][0]["runs"]] == ["ok", "ok", "skipped_converged"], m["points"][0]["runs"]
m = j("rks2/metronome_sweep.json")
assert m["convergence"]["threshold"] == 0.05, m["convergence"]
assert [r["status"] for r in m["points"][0]["runs"]] == ["ok", "ok", "ok"], m["points"][0]["runs"]
PY
python3 - <<'PY' || fail "sweep x repeated runs"
import json, os
def j(p): return json.load(open(p))
for t in (1, 2):
    for c, seed in ((1, 5), (2, 6)):
        d = "rr/profile_runs/trial_%04d/concurrency_%d" % (t, c)
        e = j(d + "/profile_export_aiperf.json")
        assert e["run_info"]["random_seed"] == seed, (d, e["run_info"])
        cfg = j(d + "/run.json")["config"]
        assert cfg["warmup_request_count"] == (2 if t == 1 else 0), d
        # every warmup option is dropped after the first trial, the '=' form too
        assert (cfg.get("warmup_duration") or 0) == (5 if t == 1 else 0), (d, cfg.get("warmup_duration"))
        assert ("warmup_metrics" in e) == (t == 1), d
for c in (1, 2):
    a = j("rr/aggregate/concurrency_%d/profile_export_aiperf_aggregate.json" % c)
    assert a["metadata"]["variation_label"] == "phases.profiling.concurrency=%d" % c, a["metadata"]
    assert a["metadata"]["num_profile_runs"] == 2 and a["metadata"]["sweep_mode"] == "repeated"
s = j("rr/aggregate/sweep_aggregate/profile_export_aiperf_sweep.json")
assert s["metadata"]["num_trials_per_value"] == 2
assert "request_throughput_avg" in s["per_combination_metrics"][0]["metrics"]
assert s["best_configurations"]["best_throughput"]["parameters"] in ({"concurrency": 1}, {"concurrency": 2})
for c in (1, 2):
    for t in (1, 2):
        assert os.path.exists("ri/concurrency_%d/profile_runs/trial_%04d/profile_export_aiperf.json" % (c, t))
    assert os.path.exists("ri/concurrency_%d/aggregate/profile_export_aiperf_aggregate.json" % c)
assert os.path.exists("ri/sweep_aggregate/profile_export_aiperf_sweep.json")
m = j("ri/metronome_sweep.json")
# seeds: repeated runs without --random-seed use 42 (+ point index)
assert [p["seed"] for p in m["points"]] == [42, 43], m["points"]
m = j("rc/metronome_sweep.json")
assert [r["status"] for r in m["points"][0]["runs"]] == ["ok", "ok", "skipped_converged", "skipped_converged"], m
a = j("rc/aggregate/profile_export_aiperf_aggregate.json")
assert a["metadata"]["num_profile_runs"] == 2 and a["metadata"]["run_labels"] == ["run_0001", "run_0002"], a["metadata"]
assert not os.path.exists("rc/profile_runs/run_0003")
PY
# report over a repeated sweep's base finds the runs two levels down (it stopped at
# "rr/run.json: cannot open") and rebuilds the summary and its page.
for base in rr ri; do
    rm -f "$base/sweep_summary.json" "$base/sweep_report.html"
    "$M" report "$base" -q >/dev/null 2>"$base.rep.err" || fail "report $base: $(tail -2 "$base.rep.err")"
    [ -s "$base/sweep_summary.json" ] && [ -s "$base/sweep_report.html" ] || fail "report $base: no summary or page"
done

# 6. Hostile manifests: a one-line error or a summary, never a crash.
python3 - "$M" <<'PY' || fail "hostile manifests"
import json, shutil, subprocess, sys
M = sys.argv[1]
good = json.load(open("sw/metronome_sweep.json"))
def variant(f):
    m = json.loads(json.dumps(good)); f(m); return m
cases = {
    "not json": "{",
    "no points": {"format": "metronome-sweep", "version": 1},
    "points not array": {"format": "metronome-sweep", "version": 1, "points": {}},
    "runs not array": variant(lambda m: m["points"][0].update(runs=7)),
    "absolute run dir": variant(lambda m: m["points"][0]["runs"][0].update(dir="/etc")),
    "dotdot run dir": variant(lambda m: m["points"][0]["runs"][0].update(dir="../sw")),
    "huge numbers": variant(lambda m: (m.update(trials=1e300, confidence_level=7),
                                       m["points"][0]["runs"][0].update(trial=-1e300, exit_code=1e300),
                                       m["points"][1]["runs"][0].update(status="failed", exit_code="x"))),
    "wrong types": variant(lambda m: (m.update(parameters=[{"name": 5, "values": "x"}]),
                                      m["points"][2].update(parameters=[1, 2], variation_values=None),
                                      m["points"][3]["runs"][0].update(status="who knows"))),
    "missing run dir": variant(lambda m: m["points"][4]["runs"][0].update(dir="nowhere")),
    "many runs": variant(lambda m: m["points"][0].update(runs=[{"trial": i, "dir": "concurrency_1", "status": "ok"} for i in range(700)])),
}
for name, m in cases.items():
    shutil.rmtree("hm", ignore_errors=True)
    shutil.copytree("sw", "hm")
    for c in (4, 8, 16, 32):  # fewer runs to re-report: the rest is "missing"
        shutil.rmtree("hm/concurrency_%d" % c)
    with open("hm/metronome_sweep.json", "w") as f:
        f.write(m if isinstance(m, str) else json.dumps(m))
    p = subprocess.run([M, "report", "hm", "-q"], capture_output=True, text=True, timeout=120)
    err = [l for l in p.stderr.splitlines() if not l.startswith("metronome: wrote ")]
    assert p.returncode in (0, 1), (name, p.returncode, p.stderr[-500:])
    if p.returncode == 1:
        assert len(err) == 1 and err[0].startswith("metronome: error: "), (name, err)
    else:
        s = json.load(open("hm/sweep_summary.json"))
        assert isinstance(s["points"], list), name
PY

# 7. validate-config knows sweeps (a list in the file too) and names a bad value.
printf 'model-names: [m]\nconcurrency: "1,2,4"\n' >sw.yaml
"$M" profile validate-config sw.yaml >vc.out || fail "validate-config of a sweep"
grep -q "^configuration is valid: 3 point(s) x 1 run(s) (grid, repeated): concurrency_1 concurrency_2 concurrency_4$" vc.out \
    || fail "validate-config: $(cat vc.out)"
expect_exit 2 "$M" profile validate-config --config sw.yaml --osl 8,-1
grep -q "^metronome: error: --osl: value '-1' (item 2 of '8,-1'): not a positive integer$" "$E2E_TMP/stderr" \
    || fail "validate-config bad list: $(cat "$E2E_TMP/stderr")"
