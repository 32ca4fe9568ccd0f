# replay --shard I/N and --start-at: four shards of one trace send exactly the single
# process's requests (each once), on one schedule from one instant; sessions stay whole;
# the closed loop's concurrency is divided; bad values are refused before anything is sent.
. "$E2E_ROOT/tests/e2e/lib.sh"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import json, os, subprocess, time
from replay_lib import *

def run_shards(trace, url, n, *args, start=None):
    """n shards at once, one --start-at; returns [(records, run.json)]."""
    start = start or "%.3f" % (time.time() + 1.5)
    procs, outs = [], []
    for i in range(n):
        out = os.path.join(TMP, "shard-%d-%d" % (time.monotonic_ns(), i))
        outs.append(out)
        procs.append(subprocess.Popen([BIN, "replay", trace, "--url", url, "-o", out, "-q",
                                       "--shard", "%d/%d" % (i, n), "--start-at", start, *args],
                                      stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, e = p.communicate(60)
        check(p.returncode == 0, "shard exit", p.returncode, e)
    return [(records(o), json.load(open(os.path.join(o, "run.json")))) for o in outs]

def rel(r, run):  # intended send time from the run's t0, ns
    return r["t_intended"] - (run["start"]["t0_mono_ns"] - run["anchor"]["mono_ns"])

def real(r, run):  # on the wall clock
    return run["anchor"]["real_ns"] + r["t_intended"]

t = pack("t.jsonl.zst", "--request-count", "202", "--isl", "4", "--osl", "2")
sha = subprocess.run(["sha256sum", t], capture_output=True, text=True).stdout.split()[0]
with Mock("--ttft", "1ms", "--itl", "1ms") as m:
    # Constant rate: shard i sends entries i, i+4, ...; together the single schedule.
    single, srun, _ = replay(t, m.url, "--request-rate", "400", "--arrival-pattern", "constant")
    at = "%.6f" % (time.time() + 1.5)
    sh = run_shards(t, m.url, 4, "--request-rate", "400", "--arrival-pattern", "constant",
                    start=at)
    idx = sorted(r["i"] for recs, _ in sh for r in recs)
    check(idx == sorted(r["i"] for r in single) == list(range(202)), "union of shards", idx[:8])
    for k, (recs, run) in enumerate(sh):
        check(run["shard"] == {"index": k, "count": 4}, run["shard"])
        check(run["trace"]["sha256"] == sha, "sha256")
        check(all(r["i"] % 4 == k for r in recs), "round-robin", k)
        check(len(recs) in (50, 51), "share", len(recs))
        # from the text given, not round(float * 1e6): the two round differently at 1e-7 s
        check(run["start"]["at_real_ns"] == int(at.replace(".", "")) * 1000, "at", at,
              run["start"])
        # the schedule is the single process's, from the common instant on the wall clock
        for r in recs:
            want = run["start"]["at_real_ns"] + r["i"] * 2500000
            check(abs(real(r, run) - want) < 1000000, "intended", r["i"], real(r, run) - want)
        c = run["clock"]
        check(c is None or (c["source"] == "adjtimex" and c["maxerror_ns"] >= 0), "clock", c)
    base = {r["i"]: rel(r, srun) for r in single}
    for recs, run in sh:
        for r in recs:
            check(rel(r, run) == base[r["i"]], "offset", r["i"], rel(r, run), base[r["i"]])
    # Poisson: the same seed on every shard (from the trace without --random-seed), so the
    # shards' offsets are the single process's with that seed.
    sh = run_shards(t, m.url, 4, "--request-rate", "400")
    sh2 = run_shards(t, m.url, 2, "--request-rate", "400")
    a = {r["i"]: rel(r, run) for recs, run in sh for r in recs}
    b = {r["i"]: rel(r, run) for recs, run in sh2 for r in recs}
    check(len(a) == 202 and a == b, "poisson schedule shared by 4 and 2 shards")
    check(sorted(a.values()) != sorted(base.values()), "poisson differs from constant")

    # Cancellation picks: each request keeps the single process's (same seed).
    cx = ["--request-rate", "400", "--arrival-pattern", "constant",
          "--request-cancellation-rate", "30", "--random-seed", "5"]
    single, _, _ = replay(t, m.url, *cx)
    sh = run_shards(t, m.url, 4, *cx)
    want = sorted(r["i"] for r in single if r.get("cancelled"))
    got = sorted(r["i"] for recs, _ in sh for r in recs if r.get("cancelled"))
    check(20 < len(want) < 110 and got == want, "cancelled", len(want), len(got))

    # Multi-turn sessions: every turn of a conversation on one shard.
    mt = pack("mt.jsonl.zst", "--request-count", "40", "--isl", "4", "--osl", "2",
              "--conversation-turn-mean", "3")
    sh = run_shards(mt, m.url, 3, "--concurrency", "6")
    owner = {}
    for k, (recs, run) in enumerate(sh):
        for r in recs:
            check(owner.setdefault(r["conv"], k) == k, "session split", r["conv"])
    single, _, _ = replay(mt, m.url, "--concurrency", "6")
    check(sorted((r["conv"], r["turn"]) for recs, _ in sh for r in recs) ==
          sorted((r["conv"], r["turn"]) for r in single), "sessions union")
    check(len({o for o in owner.values()}) == 3, "sessions spread", owner)
    # Closed loop: --concurrency 6 over 3 shards is 2 each; 10 over 4 is 3,3,2,2.
    check([run["config"]["concurrency"] for _, run in sh] == [2, 2, 2], "conc")
    sh = run_shards(t, m.url, 4, "--concurrency", "10")
    check([run["config"]["concurrency"] for _, run in sh] == [3, 3, 2, 2], "conc 10/4")
    check(all(run["shard"]["concurrency_total"] == 10 for _, run in sh), "total")
    check(sorted(r["i"] for recs, _ in sh for r in recs) == list(range(202)), "closed union")

# Bad input: one line, exit 2, no run dir, nothing sent (the mock saw no request).
with Mock() as m:
    for bad in (["--shard", "4/4"], ["--shard", "0/0"], ["--shard", "x"], ["--shard", "1/4",
                "--concurrency", "3"], ["--start-at", "+0"], ["--start-at", "1000"],
                ["--start-at", "soon"], ["--start-at", "2026-01-01T00:00:00"]):
        out = os.path.join(TMP, "bad-%d" % time.monotonic_ns())
        p = subprocess.run([BIN, "replay", t, "--url", m.url, "-o", out, *bad],
                           capture_output=True, text=True)
        check(p.returncode == 2, bad, p.returncode, p.stderr)
        check(p.stderr.count("\n") == 1 and "error" in p.stderr, bad, p.stderr)
        check(not os.path.exists(out), bad, "run dir created")
    check(m.timing() == [], "requests sent on bad input")
PY
# profile checks --shard and --start-at before its pack stage: nothing written.
expect_exit 2 "$METRONOME" profile -m m --shard 2/2 --artifact-dir "$E2E_TMP/prof"
grep -q "index 2 is not below the count 2" "$E2E_TMP/stderr" || fail "profile --shard message"
[ ! -e "$E2E_TMP/prof" ] || fail "profile wrote $E2E_TMP/prof"
expect_exit 2 "$METRONOME" profile -m m --start-at yesterday --artifact-dir "$E2E_TMP/prof"
[ ! -e "$E2E_TMP/prof" ] || fail "profile wrote $E2E_TMP/prof"
