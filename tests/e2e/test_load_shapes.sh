# AIPerf 0.13's load shapes through `metronome profile` against the mock: each option's
# send times in the records checked against the schedule AIPerf's definition gives
# (include/loadshape.h; recomputed here independently), the intended instants within
# 1 ms, and every bad value refused before anything is packed or sent.
. "$E2E_ROOT/tests/e2e/lib.sh"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import json, os, subprocess
from replay_lib import BIN, TMP, Mock, records, check, err

MS = 1e6


def profile(url, name, *args, expect=0):
    out = os.path.join(TMP, name)
    p = subprocess.run([BIN, "profile", "-m", "m", "--url", url, "--ui", "none",
                        "--artifact-dir", out, "--isl", "8", "--osl", "1", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == expect, name, "exit", p.returncode, p.stderr[-2000:])
    if expect:
        return p.stderr, out
    run = json.load(open(os.path.join(out, "run.json")))
    recs = records(out)
    t0 = run["start"]["t0_mono_ns"] - run["anchor"]["mono_ns"]
    return recs, t0


def in_flight_at(recs, t):
    return sum(1 for r in recs if r["t_start"] <= t < r["t_end"])


def lateness_ok(recs, what):
    late = sorted(r["t_start"] - r["t_intended"] for r in recs)
    # the schedule is exact; the machine (2 shared cores) may preempt a send now and then
    check(late[len(late) // 2] < 1 * MS, what, "lateness p50", late[len(late) // 2])
    check(late[-1] < 50 * MS, what, "lateness max", late[-1])


def aiperf_rate_ramp(rate, dur, n, gap=lambda r: 1.0 / r, ui=0.1):
    """AIPerf 0.13's request-rate ramp (timing/ramping.py continuous mode + the rate
    strategy's reschedule on update), in seconds from the phase start: the rate starts at
    rate * ui / dur, is updated every ui to the linear value, to `rate` at the first update
    at or after dur; an update before the pending send pulls it in to update + gap."""
    start = rate * ui / dur
    def rate_at(k):
        return rate if k * ui >= dur - 1e-12 else start + (rate - start) * (k * ui / dur)
    cur, k, done, out, prev = rate_at(0), 1, False, [], None
    for _ in range(n):
        p = (0 if prev is None else prev) + gap(cur)
        while not done and k * ui < p - 1e-12:
            cur = rate_at(k)
            p = min(p, k * ui + gap(cur))
            done = k * ui >= dur - 1e-12
            k += 1
        out.append(p)
        prev = p
    return out


# ---- --concurrency-ramp-duration: level L at D * (L - 1) / (C - 1) -----------------------
with Mock("--ttft", "1500ms") as m:
    C, D = 8, 1.4
    recs, t0 = profile(m.url, "cramp", "--concurrency", str(C), "--concurrency-ramp-duration",
                       str(D), "--request-count", str(C), "--workers-max", "2")
    prof = sorted((r for r in recs if r["phase"] == "profile"), key=lambda r: r["t_intended"])
    check(len(prof) == C and not any(err(r) for r in prof), "cramp records", len(prof))
    for lvl, r in enumerate(prof, 1):
        want = t0 + D * 1e9 * (lvl - 1) / (C - 1)
        check(abs(r["t_intended"] - want) < 1 * MS, "cramp level", lvl, "intended",
              (r["t_intended"] - t0) / MS, "ms, want", (want - t0) / MS)
        # never more in flight than the level open at that instant
        check(in_flight_at(prof, r["t_start"]) <= lvl, "cramp in flight at level", lvl)
    lateness_ok(prof, "cramp")

    # --warmup-concurrency with its own ramp, then profiling ramps again from 1
    recs, t0 = profile(m.url, "wramp", "--concurrency", "2", "--warmup-concurrency", "4",
                       "--warmup-request-count", "4", "--warmup-concurrency-ramp-duration", "0.6",
                       "--request-count", "2", "--concurrency-ramp-duration", "0.5",
                       "--workers-max", "2")
    warm = sorted((r for r in recs if r["phase"] == "warmup"), key=lambda r: r["t_intended"])
    prof = sorted((r for r in recs if r["phase"] == "profile"), key=lambda r: r["t_intended"])
    check(len(warm) == 4 and len(prof) == 2, "wramp counts", len(warm), len(prof))
    w0 = warm[0]["t_intended"]
    for lvl, r in enumerate(warm, 1):
        want = w0 + 0.6e9 * (lvl - 1) / 3
        check(abs(r["t_intended"] - want) < 1 * MS, "warmup ramp level", lvl,
              (r["t_intended"] - w0) / MS)
    check(min(r["t_start"] for r in prof) >= max(r["t_end"] for r in warm), "warmup drained")
    check(abs(prof[0]["t_intended"] - t0) < 1 * MS and
          abs(prof[1]["t_intended"] - t0 - 0.5e9) < 1 * MS, "profile ramp after warmup",
          [(r["t_intended"] - t0) / MS for r in prof])

    # --warmup-duration + --warmup-grace-period: sends stop at the duration, what is in
    # flight at duration + grace is cancelled, and profiling starts then
    recs, t0 = profile(m.url, "wgrace", "--concurrency", "2", "--warmup-duration", "0.3",
                       "--warmup-grace-period", "0.2", "--request-count", "2", "--workers-max", "1")
    warm = [r for r in recs if r["phase"] == "warmup"]
    prof = [r for r in recs if r["phase"] == "profile"]
    check(len(warm) == 2 and all(err(r) == "cancelled" for r in warm), "wgrace warmup",
          [(err(r), r.get("error")) for r in warm])
    wt0 = min(r["t_intended"] for r in warm)
    for r in warm:
        check(abs(r["t_end"] - (wt0 + 0.5e9)) < 30 * MS, "cancelled at duration + grace",
              (r["t_end"] - wt0) / MS)
    check(len(prof) == 2 and all(not err(r) for r in prof), "wgrace profile")
    check(t0 >= wt0 + 0.5e9, "profiling after the grace period", (t0 - wt0) / MS)

    # with --request-rate the ramp raises the --concurrency cap (AIPerf ramps the session
    # limit in every mode): 8 sends due 10 ms apart start as the cap reaches 1, 2, 3, 4
    recs, t0 = profile(m.url, "capramp", "--request-rate", "100", "--arrival-pattern",
                       "constant", "--concurrency", "4", "--concurrency-ramp-duration", "0.6",
                       "--request-count", "8", "--workers-max", "2")
    starts = sorted(r["t_start"] - t0 for r in recs if r["phase"] == "profile")
    check(len(starts) == 8, "capramp count", len(starts))
    for lvl in range(1, 5):
        want = 0.6e9 * (lvl - 1) / 3
        # the actual send (the cap makes it later than t_intended): the level opens on the
        # clock; what is left is two thread wake-ups, which a loaded 2-core machine (load
        # 9, shared with other runs) was seen to stretch to 6 ms
        check(want <= starts[lvl - 1] + 0.1 * MS < want + 20 * MS, "cap level", lvl,
              starts[lvl - 1] / MS, "want", want / MS)
    check(starts[4] >= 1400 * MS, "cap 4 held until a response", starts[4] / MS)

    # --warmup-concurrency with --request-rate: the warmup's own cap
    recs, t0 = profile(m.url, "wcap", "--request-rate", "200", "--arrival-pattern", "constant",
                       "--concurrency", "6", "--warmup-concurrency", "2",
                       "--warmup-request-count", "4", "--request-count", "6")
    warm = [r for r in recs if r["phase"] == "warmup"]
    prof = [r for r in recs if r["phase"] == "profile"]
    check(max(in_flight_at(warm, r["t_start"]) for r in warm) == 2, "warmup cap 2")
    check(max(in_flight_at(prof, r["t_start"]) for r in prof) == 6, "profile cap 6")

with Mock("--ttft", "2ms") as m:
    # ---- --request-rate-ramp-duration (constant arrivals: deterministic) -----------------
    R, D, N = 50, 1.0, 40
    recs, t0 = profile(m.url, "rramp", "--request-rate", str(R), "--request-rate-ramp-duration",
                       str(D), "--arrival-pattern", "constant", "--request-count", str(N))
    prof = sorted((r for r in recs if r["phase"] == "profile"), key=lambda r: r["t_intended"])
    want = aiperf_rate_ramp(R, D, N)
    check(len(prof) == N, "rramp count", len(prof))
    for r, w in zip(prof, want):
        check(abs(r["t_intended"] - t0 - w * 1e9) < 1 * MS, "rramp send",
              (r["t_intended"] - t0) / MS, "want", w * 1e3)
    check(abs(want[-1] - want[-2] - 1 / R) < 1e-9, "rramp ends at the target rate")
    lateness_ok(prof, "rramp")

    # Poisson under a ramp: the gaps shrink on average as the rate rises
    recs, t0 = profile(m.url, "rrampp", "--request-rate", "200", "--request-rate-ramp-duration",
                       "1", "--request-count", "200", "--random-seed", "5")
    t = sorted(r["t_intended"] - t0 for r in recs if r["phase"] == "profile")
    first = sum(1 for x in t if x < 0.5e9)
    second = sum(1 for x in t if 0.5e9 <= x < 1e9)
    # expected sends: integral of the rate, ~27 in the first half, ~77 in the second
    check(10 < first < 50 and 50 < second < 110 and second > first * 1.5, "poisson ramp",
          first, second)

    # ---- warmup in rate mode: its own rate, pattern and ramp -----------------------------
    recs, t0 = profile(m.url, "wrate", "--request-rate", "100", "--arrival-pattern", "poisson",
                       "--warmup-request-rate", "20", "--warmup-arrival-pattern", "constant",
                       "--warmup-request-count", "5", "--request-count", "5")
    warm = sorted(r["t_intended"] for r in recs if r["phase"] == "warmup")
    check(len(warm) == 5, "wrate count", len(warm))
    gaps = [b - a for a, b in zip(warm, warm[1:])]
    check(all(abs(g - 50 * MS) < 1 * MS for g in gaps), "warmup constant 20/s", gaps)

    recs, t0 = profile(m.url, "wrramp", "--request-rate", "100", "--arrival-pattern", "constant",
                       "--warmup-request-count", "12", "--warmup-request-rate-ramp-duration", "0.5",
                       "--request-count", "3")
    warm = sorted(r["t_intended"] for r in recs if r["phase"] == "warmup")
    want = aiperf_rate_ramp(100, 0.5, 12)
    gaps = [b - a for a, b in zip(warm, warm[1:])]
    wgaps = [(b - a) * 1e9 for a, b in zip(want, want[1:])]
    check(all(abs(g - w) < 1 * MS for g, w in zip(gaps, wgaps)), "warmup rate ramp", gaps, wgaps)

    # --warmup-duration in rate mode: sends stop at the duration
    recs, t0 = profile(m.url, "wdur", "--request-rate", "40", "--arrival-pattern", "constant",
                       "--warmup-duration", "0.5", "--request-count", "4")
    warm = sorted(r["t_intended"] for r in recs if r["phase"] == "warmup")
    check(len(warm) == 20 and warm[-1] - warm[0] < 0.5e9, "warmup 0.5 s at 40/s", len(warm))

# ---- --failed-request-threshold: stop once the failed share passes it ----------------------
# failures cut a stream as late as a success ends (a fast 500 would make the first records
# all failures, the in-flight successes then cancelled: an all-failed run, exit 3)
with Mock("--ttft", "10ms", "--itl", "1ms", "--fault", "close-after=3@p=0.6", "--seed", "3") as m:
    out = os.path.join(TMP, "thr")
    p = subprocess.run([BIN, "profile", "-m", "m", "--url", m.url, "--ui", "none",
                        "--artifact-dir", out, "--isl", "8", "--osl", "4", "--streaming",
                        "--concurrency", "12",
                        "--request-count", "400", "--failed-request-threshold", "0.3"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 1, "threshold exit", p.returncode, p.stderr[-1500:])
    check("--failed-request-threshold 0.3 exceeded" in p.stderr, "threshold message", p.stderr)
    run = json.load(open(os.path.join(out, "run.json")))
    check(run["cancelled"] is True, "threshold run marked cancelled")
    recs = records(out)
    done = [r for r in recs if err(r) != "cancelled"]
    # the floor is max(concurrency, 10) = 12 records; the run stopped long before 400
    check(12 <= len(done) < 200, "threshold stopped early", len(done))
    check(os.path.exists(os.path.join(out, "profile_export_aiperf.json")), "partial run reported")
    # under the threshold the run completes
    recs, t0 = profile(m.url, "thr-ok", "--concurrency", "4", "--request-count", "40",
                       "--failed-request-threshold", "0.9")
    check(len(recs) == 40, "threshold 0.9: complete run", len(recs))

# ---- bad values: one line naming the option and the value, exit 2, nothing written -------
bad = [
    (["--concurrency-ramp-duration", "0"], "--concurrency-ramp-duration: 0"),
    (["--concurrency-ramp-duration", "x"], "--concurrency-ramp-duration: expected a number, got 'x'"),
    (["--request-rate", "5", "--concurrency-ramp-duration", "1"],
     "--concurrency-ramp-duration 1: needs --concurrency (the cap it ramps) with --request-rate"),
    (["--request-rate-ramp-duration", "2"], "--request-rate-ramp-duration 2: needs --request-rate"),
    (["--request-rate", "5", "--request-rate-ramp-duration", "-1"], "--request-rate-ramp-duration: -1"),
    (["--warmup-duration", "0"], "--warmup-duration: 0"),
    (["--warmup-duration", "1", "--warmup-grace-period", "-2"], "--warmup-grace-period: -2"),
    (["--warmup-request-count", "2", "--warmup-grace-period", "1"], "--warmup-grace-period 1"),
    (["--warmup-concurrency", "0"], "--warmup-concurrency: 0"),
    (["--warmup-request-rate", "-1"], "--warmup-request-rate: -1"),
    (["--request-rate", "5", "--warmup-request-rate", "0"], "--warmup-request-rate: 0"),
    (["--request-rate", "5", "--warmup-arrival-pattern", "zipf"], "--warmup-arrival-pattern zipf"),
    (["--warmup-arrival-pattern", "constant"], "--warmup-arrival-pattern constant"),
    (["--warmup-concurrency-ramp-duration", "0"], "--warmup-concurrency-ramp-duration: 0"),
    (["--warmup-request-rate-ramp-duration", "1"], "--warmup-request-rate-ramp-duration 1"),
    (["--failed-request-threshold", "1.5"], "--failed-request-threshold: 1.5"),
    (["--failed-request-threshold", "-0.1"], "--failed-request-threshold: -0.1"),
]
with Mock("--ttft", "1ms") as m:
    for i, (args, want) in enumerate(bad):
        stderr, out = profile(m.url, "bad%d" % i, *args, expect=2)
        lines = stderr.strip().splitlines()
        check(len(lines) == 1 and want in lines[0], "bad", args, stderr)
        check(not os.path.exists(out), "bad", args, "wrote", out)
    timing = m.timing()
    check(not timing, "bad values sent requests", len(timing))
print("ok")
PY
