"""AIPerf 0.13's own sweep and repeated runs beside metronome's, on one metronome mock
(issue 12): the same command line to both, then
  1. the layout (file names, JSON and CSV field names) of AIPerf's sweep, captured now,
     must be found in ours (tests/e2e/aiperf_layout.py; the e2e tier checks the same
     against a fixture captured once);
  2. AIPerf's ConfidenceAggregation (scipy's Student-t) run on our per-run exports must
     give our aggregate's numbers (mean, std, se, CI bounds, t) to 1e-9 relative.

  python3 sweep_vs_aiperf.py METRONOME AIPERF_VENV HF_CACHE TOKENIZER OUT RESULTS.jsonl
Appends one {"name", "ok", "detail"} line per check to RESULTS.jsonl.
"""
import glob, json, os, socket, subprocess, sys, time

M, VENV, HF, TOK, OUT, RES = sys.argv[1:7]
HERE = os.path.dirname(os.path.abspath(__file__))
LAYOUT = os.path.join(HERE, "..", "e2e", "aiperf_layout.py")


def check(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + detail), flush=True)
    with open(RES, "a") as f:
        f.write(json.dumps({"name": name, "ok": bool(ok), "detail": detail}) + "\n")


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


os.makedirs(OUT, exist_ok=True)
port = free_port()
mock = subprocess.Popen([M, "mock", "--port", str(port), "--ttft", "5ms", "--itl", "1ms", "--osl", "16"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close(); break
        except OSError:
            time.sleep(0.1)
    args = ["--model", "metronome-mock", "--url", f"http://127.0.0.1:{port}", "--endpoint-type", "chat",
            "--streaming", "--concurrency", "1,2,4,8,16,32", "--request-count", "32", "--isl", "32",
            "--osl", "16", "--ui", "none"]
    env = dict(os.environ, HF_HUB_CACHE=HF, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    theirs, ours = os.path.join(OUT, "sweep-aiperf"), os.path.join(OUT, "sweep-metronome")
    a = subprocess.run([os.path.join(VENV, "bin", "aiperf"), "profile", *args, "--tokenizer", TOK,
                        "--artifact-dir", theirs], env=env, capture_output=True, text=True, timeout=1200)
    o = subprocess.run([M, "profile", *args, "--artifact-dir", ours], capture_output=True, text=True, timeout=600)
    ok = a.returncode == 0 and o.returncode == 0
    check("sweep --concurrency 1,2,4,8,16,32: AIPerf 0.13 and metronome both complete", ok,
          f"aiperf exit {a.returncode}: {a.stderr[-300:]}; metronome exit {o.returncode}: {o.stderr[-300:]}")
    if ok:
        fx = os.path.join(OUT, "aiperf-layout-now.txt")
        with open(fx, "w") as f:
            subprocess.run([sys.executable, LAYOUT, "capture", theirs, "captured by tests/real"], stdout=f, check=True)
        c = subprocess.run([sys.executable, LAYOUT, "check", fx, ours], capture_output=True, text=True)
        check("sweep layout: every file and field AIPerf 0.13 wrote is in ours", c.returncode == 0, c.stdout[-600:])
    rep = os.path.join(OUT, "repeat-metronome")
    one = [("2" if x == "1,2,4,8,16,32" else x) for x in args]
    o = subprocess.run([M, "profile", *one, "--num-profile-runs", "3", "--artifact-dir", rep],
                       capture_output=True, text=True, timeout=600)
finally:
    mock.terminate(); mock.wait()

code = r'''
import glob, json, sys
from aiperf.orchestrator.aggregation.confidence import ConfidenceAggregation
d = sys.argv[1]
agg = ConfidenceAggregation(0.95)
ours = json.load(open(d + "/aggregate/profile_export_aiperf_aggregate.json"))["metrics"]
runs = [json.load(open(f)) for f in sorted(glob.glob(d + "/profile_runs/run_*/profile_export_aiperf.json"))]
worst, n, bad = 0.0, 0, []
for key, o in ours.items():
    tag, stat = key.rsplit("_", 1)
    vals = [r[tag][stat] for r in runs if isinstance(r.get(tag), dict) and isinstance(r[tag].get(stat), (int, float))]
    if len(vals) < 2:
        continue
    ref = agg._compute_confidence_stats(vals, key, o["unit"])
    for f in ("mean", "std", "se", "ci_low", "ci_high", "t_critical"):
        a, b = o[f], getattr(ref, f)
        if a == b:
            n += 1; continue
        r = abs(a - b) / max(abs(b), 1e-300)
        n += 1; worst = max(worst, r)
        if r > 1e-9:
            bad.append(f"{key}.{f}: ours {a}, AIPerf {b}")
print(json.dumps({"n": n, "worst": worst, "bad": bad[:5], "runs": len(runs)}))
'''
if o.returncode == 0:
    r = subprocess.run([os.path.join(VENV, "bin", "python"), "-c", code, rep], capture_output=True, text=True)
    try:
        res = json.loads(r.stdout.strip().splitlines()[-1])
        check(f"repeated runs: our aggregate = AIPerf's ConfidenceAggregation on our runs "
              f"({res['n']} fields, worst relative {res['worst']:.1e})",
              res["runs"] == 3 and res["n"] > 100 and not res["bad"], "; ".join(res["bad"]))
    except (ValueError, IndexError, KeyError):
        check("repeated runs: our aggregate = AIPerf's ConfidenceAggregation on our runs", False, r.stderr[-400:])
else:
    check("repeated runs: metronome --num-profile-runs 3 completes", False, o.stderr[-400:])
