# A run in which no request succeeded is not a benchmark: `replay` and `profile` exit 1 and
# their last line says so (replay used to exit 0), while the run dir (and profile's reports,
# error summary included) are still written. One success among failures keeps exit 0.
. "$E2E_ROOT/tests/e2e/lib.sh"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
from replay_lib import *

trace = pack("t.jsonl.zst", "--request-count", "4", "--isl", "8", "--osl", "5")
with Mock("--ttft", "1ms", "--itl", "1ms", "--fault", "status=500", log=False) as m:
    recs, run, stderr = replay(trace, m.url, "--concurrency", "2", expect=1)
    check(len(recs) == 4 and all(err(r) == "http" for r in recs), "records", len(recs))
    check(run["complete"] is True, "run dir not complete")
    last = stderr.strip().splitlines()[-1]
    check(last.startswith("metronome: error: no request succeeded: 4 of 4 failed (first: http 500: "),
          "last line:", last)

    out = os.path.join(TMP, "prof")
    p = subprocess.run([BIN, "profile", "-m", "m", "--url", m.url, "--ui", "none",
                        "--request-count", "3", "--artifact-dir", out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 1, "profile exit", p.returncode, p.stderr[-500:])
    last = p.stderr.strip().splitlines()[-1]
    check(last == "metronome: error: no request succeeded: 3 of 3 failed; the error summary "
          "is in %s" % out, "profile last line:", last)
    exp = json.load(open(os.path.join(out, "profile_export_aiperf.json")))
    check(exp.get("error_summary"), "profile wrote no error summary")
    check(os.path.exists(os.path.join(out, "report.html")), "profile wrote no report.html")

# One success is enough for exit 0 (failed requests are data).
with Mock("--ttft", "1ms", "--itl", "1ms", "--fault", "status=500@every=2", log=False) as m:
    recs, run, _ = replay(trace, m.url, "--concurrency", "1", expect=0)
    check(sum(1 for r in recs if err(r)) == 2, "every=2", [err(r) for r in recs])
print("all-failed ok")
PY
