# AIPerf 0.13's prefill limits (--prefill-concurrency, its ramp, the warmup's) and
# --num-warmup-sessions through `metronome profile` against the mock: the in-flight counts
# and send times in the records checked against AIPerf's definition (a prefill slot is
# taken at the send and given back at the first token; ramp level L of N over D opens at
# D * (L - 1) / (N - 1)), and every bad value refused before anything is packed or sent.
. "$E2E_ROOT/tests/e2e/lib.sh"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import json, os, subprocess
from replay_lib import BIN, TMP, Mock, records, check, err

MS = 1e6


def profile(url, name, *args, expect=0):
    out = os.path.join(TMP, name)
    p = subprocess.run([BIN, "profile", "-m", "m", "--url", url, "--ui", "none",
                        "--artifact-dir", out, "--isl", "8", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == expect, name, "exit", p.returncode, p.stderr[-2000:])
    if expect:
        return p.stderr, out
    run = json.load(open(os.path.join(out, "run.json")))
    recs = records(out)
    t0 = run["start"]["t0_mono_ns"] - run["anchor"]["mono_ns"]
    return recs, t0


def in_prefill(recs, t):
    """Requests sent and without their first token at t."""
    return sum(1 for r in recs if r["t_start"] <= t < r["t_first"])


def in_flight(recs, t):
    return sum(1 for r in recs if r["t_start"] <= t < r["t_end"])


def lateness_ok(recs, what):
    late = sorted(r["t_start"] - r["t_intended"] for r in recs)
    # the schedule is exact; the machine (2 shared cores) may preempt a send now and then
    check(late[len(late) // 2] < 1 * MS, what, "lateness p50", late[len(late) // 2])
    check(late[-1] < 50 * MS, what, "lateness max", late[-1])


def freed_by(recs, r):
    """The instant of the event that let r go (another request's first token or end),
    within 1 ms of r's intended time, or None."""
    ev = [x["t_first"] for x in recs if x is not r] + [x["t_end"] for x in recs if x is not r]
    best = min(ev, key=lambda t: abs(t - r["t_intended"]))
    return best if abs(best - r["t_intended"]) < 1 * MS else None


# ---- --prefill-concurrency in closed loop: at most P requests before their first token ----
# 300 ms to the first token, 700 ms of decode: with 4 session slots and 2 prefill slots the
# 3rd and 4th requests go at the first tokens of the 1st and 2nd, not at once
with Mock("--ttft", "300ms", "--itl", "100ms") as m:
    recs, t0 = profile(m.url, "pf", "--streaming", "--osl", "8", "--concurrency", "4",
                       "--prefill-concurrency", "2", "--request-count", "8", "--workers-max", "2")
    prof = sorted((r for r in recs if r["phase"] == "profile"), key=lambda r: r["t_start"])
    check(len(prof) == 8 and not any(err(r) for r in prof), "pf records", len(prof))
    peak = max(in_prefill(prof, r["t_start"]) for r in prof)
    check(peak == 2, "pf prefill in flight peak", peak)
    check(max(in_flight(prof, r["t_start"]) for r in prof) <= 4, "pf session slots")
    for r in prof[:2]:
        check(abs(r["t_intended"] - t0) < 2 * MS, "pf first two at the start",
              (r["t_intended"] - t0) / MS)
    for r in prof[2:]:
        # each later request is intended when the slot it waited for came free
        check(freed_by(prof, r) is not None, "pf intended at a release",
              (r["t_intended"] - t0) / MS)
    # the 3rd and 4th: at the first tokens of the 1st and 2nd (the prefill slots), long
    # before any session slot frees (1 s)
    firsts = sorted(r["t_first"] for r in prof[:2])
    for r, f in zip(sorted(prof[2:4], key=lambda r: r["t_intended"]), firsts):
        check(abs(r["t_intended"] - f) < 1 * MS, "pf 3rd/4th at the first tokens",
              (r["t_intended"] - t0) / MS, (f - t0) / MS)
    lateness_ok(prof, "pf")

# ---- --prefill-concurrency-ramp-duration: limit level L at D * (L - 1) / (N - 1) ----------
with Mock("--ttft", "1500ms", "--itl", "10ms") as m:
    N, D = 4, 0.9
    recs, t0 = profile(m.url, "pframp", "--streaming", "--osl", "2", "--concurrency", "6",
                       "--prefill-concurrency", str(N), "--prefill-concurrency-ramp-duration",
                       str(D), "--request-count", "6", "--workers-max", "2")
    prof = sorted((r for r in recs if r["phase"] == "profile"), key=lambda r: r["t_start"])
    check(len(prof) == 6 and not any(err(r) for r in prof), "pframp records", len(prof))
    for lvl, r in enumerate(prof[:N], 1):
        want = t0 + D * 1e9 * (lvl - 1) / (N - 1)
        check(abs(r["t_intended"] - want) < 1 * MS, "pframp level", lvl, "intended",
              (r["t_intended"] - t0) / MS, "want", (want - t0) / MS)
        check(in_prefill(prof, r["t_start"]) <= lvl, "pframp in prefill at level", lvl)
        check(r["t_start"] - want < 20 * MS, "pframp level", lvl, "sent",
              (r["t_start"] - t0) / MS)
    # the 5th and 6th wait for the first tokens (1.5 s), not for session slots
    for r in prof[N:]:
        check(freed_by(prof[:N], r) is not None, "pframp later at a first token")

    # ---- the warmup's own prefill limit, then profiling's -------------------------------
    recs, t0 = profile(m.url, "wpf", "--streaming", "--osl", "2", "--concurrency", "3",
                       "--warmup-request-count", "3", "--warmup-prefill-concurrency", "1",
                       "--prefill-concurrency", "3", "--request-count", "3", "--workers-max", "2")
    warm = [r for r in recs if r["phase"] == "warmup"]
    prof = [r for r in recs if r["phase"] == "profile"]
    check(len(warm) == 3 and len(prof) == 3, "wpf counts", len(warm), len(prof))
    check(max(in_prefill(warm, r["t_start"]) for r in warm) == 1, "warmup prefill 1")
    check(max(in_prefill(prof, r["t_start"]) for r in prof) == 3, "profile prefill 3")

# ---- with --request-rate: a send due while the prefill slots are taken waits for one ------
with Mock("--ttft", "100ms", "--itl", "1ms") as m:
    recs, t0 = profile(m.url, "pfrate", "--streaming", "--osl", "2", "--request-rate", "100",
                       "--arrival-pattern", "constant", "--prefill-concurrency", "1",
                       "--request-count", "5")
    prof = sorted((r for r in recs if r["phase"] == "profile"), key=lambda r: r["t_intended"])
    check(len(prof) == 5 and not any(err(r) for r in prof), "pfrate records", len(prof))
    for k, r in enumerate(prof):
        check(abs(r["t_intended"] - t0 - k * 10 * MS) < 1 * MS, "pfrate schedule", k)
    # the waiting sends go one at a time, each at the first token of the one before it
    prof.sort(key=lambda r: r["t_start"])
    for k, r in enumerate(prof):
        check(in_prefill(prof, r["t_start"]) == 1, "pfrate one in prefill", k)
        if k:
            f = prof[k - 1]["t_first"]
            check(f <= r["t_start"] < f + 20 * MS, "pfrate sent at the first token", k,
                  (r["t_start"] - t0) / MS, (f - t0) / MS)

# ---- --num-warmup-sessions: N sessions started, every turn of each sent ------------------
with Mock("--ttft", "2ms") as m:
    recs, t0 = profile(m.url, "wsess", "--osl", "2", "--concurrency", "2",
                       "--conversation-turn-mean", "3", "--num-warmup-sessions", "2",
                       "--conversation-num", "3")
    warm = [r for r in recs if r["phase"] == "warmup"]
    prof = [r for r in recs if r["phase"] == "profile"]
    convs = sorted(set(r["conv"] for r in warm))
    check(len(convs) == 2 and len(warm) == 6, "warmup sessions", convs, len(warm))
    for c in convs:
        check(sorted(r["turn"] for r in warm if r["conv"] == c) == [0, 1, 2], "whole session", c)
    check(len(prof) == 9, "profiling after the warmup sessions", len(prof))
    check(min(r["t_start"] for r in prof) >= max(r["t_end"] for r in warm), "warmup drained")
    # with --warmup-request-count too, the first limit reached ends the warmup (AIPerf)
    recs, t0 = profile(m.url, "wsess2", "--osl", "2", "--request-rate", "50", "--arrival-pattern",
                       "constant", "--conversation-turn-mean", "2", "--num-warmup-sessions", "2",
                       "--warmup-request-count", "3", "--request-count", "4")
    warm = [r for r in recs if r["phase"] == "warmup"]
    check(len(warm) == 3 and len(set(r["conv"] for r in warm)) == 2, "sessions and count",
          [(r["conv"], r["turn"]) for r in warm])
    # single-turn requests: a session each
    recs, t0 = profile(m.url, "wsess3", "--osl", "2", "--num-warmup-sessions", "3",
                       "--request-count", "4")
    check(sum(r["phase"] == "warmup" for r in recs) == 3, "single-turn warmup sessions")

# ---- --request-rate-series: AIPerf 0.13's piecewise-linear rate ---------------------------
def series_value(pts, e):
    if e <= pts[0][0]:
        return pts[0][1]
    if e >= pts[-1][0]:
        return pts[-1][1]
    for (ta, qa), (tb, qb) in zip(pts, pts[1:]):
        if ta <= e < tb:
            return qa + (qb - qa) * (e - ta) / (tb - ta)


def aiperf_series(pts, n, ramp=0.0, gap=lambda r: 1.0 / r, ui=0.1):
    """AIPerf 0.13's rate series (timing/rate_series.py, started after the rate ramp) and
    rate ramp (to the first point's rate), in seconds from the phase start: each update
    that changes the rate pulls the pending send in to update + a gap at the new rate."""
    R, ev = pts[0][1], []
    cur = R
    if ramp:
        s0, k = R * ui / ramp, 1
        while True:
            t = k * ui
            ev.append((t, 0, R if t >= ramp - 1e-12 else s0 + (R - s0) * (t / ramp)))
            if t >= ramp - 1e-12:
                break
            k += 1
        cur = s0
    j = 0
    while True:
        e = j * ui
        ev.append((ramp + e, 1, series_value(pts, e)))
        if e >= pts[-1][0] - 1e-12:
            break
        j += 1
    ev.sort(key=lambda x: (x[0], x[1]))
    out, prev, i = [], 0.0, 0
    for _ in range(n):
        p = prev + gap(cur)
        while i < len(ev) and ev[i][0] < p - 1e-12:
            t, _, v = ev[i]
            i += 1
            if v != cur:
                cur = v
                p = min(p, t + gap(cur))
        out.append(p)
        prev = p
    return out


PTS = [(0, 10), (1, 50), (1.5, 50), (2, 20)]
series = os.path.join(TMP, "series.json")
with open(series, "w") as f:
    json.dump({"points": [{"time_s": t, "qps": q} for t, q in PTS]}, f)
with Mock("--ttft", "2ms") as m:
    for name, extra, ramp in (("ser", [], 0.0),
                              ("serramp", ["--request-rate-ramp-duration", "0.55"], 0.55)):
        recs, t0 = profile(m.url, name, "--osl", "1", "--request-rate-series", series,
                           "--arrival-pattern", "constant", "--request-count", "60", *extra)
        prof = sorted((r for r in recs if r["phase"] == "profile"), key=lambda r: r["t_intended"])
        want = aiperf_series(PTS, 60, ramp)
        check(len(prof) == 60 and not any(err(r) for r in prof), name, "records", len(prof))
        for k, (r, w) in enumerate(zip(prof, want)):
            check(abs(r["t_intended"] - t0 - w * 1e9) < 1 * MS, name, "send", k,
                  (r["t_intended"] - t0) / MS, "want", w * 1e3)
        lateness_ok(prof, name)
    # Poisson: about the integral of the rate in each stretch (10 -> 50 over 1 s: ~30)
    recs, t0 = profile(m.url, "serp", "--osl", "1", "--request-rate-series", series,
                       "--request-count", "200", "--random-seed", "3")
    t = [(r["t_intended"] - t0) / 1e9 for r in recs if r["phase"] == "profile"]
    first, flat = sum(1 for x in t if x < 1), sum(1 for x in t if 1 <= x < 1.5)
    check(15 < first < 50 and 12 < flat < 40, "poisson series", first, flat)
    # a warmup at its own rate, then the series from profiling's start
    recs, t0 = profile(m.url, "serw", "--osl", "1", "--request-rate-series", series,
                       "--arrival-pattern", "constant", "--warmup-request-count", "3",
                       "--warmup-request-rate", "100", "--request-count", "5")
    prof = sorted(r["t_intended"] - t0 for r in recs if r["phase"] == "profile")
    check(sum(r["phase"] == "warmup" for r in recs) == 3, "serw warmup")
    check(all(abs(a - b * 1e9) < 1 * MS for a, b in zip(prof, aiperf_series(PTS, 5))),
          "serw series from the profiling start")

with open(os.path.join(TMP, "series-bad.json"), "w") as f:
    f.write('[{"time_s": 0, "qps": 5}, {"time_s": 0, "qps": 6}]')

# ---- bad values: one line naming the option and the value, exit 2, nothing written -------
bad = [
    (["--streaming", "--prefill-concurrency", "0"], "--prefill-concurrency: 0"),
    (["--streaming", "--prefill-concurrency", "x"], "--prefill-concurrency"),
    (["--prefill-concurrency", "1"], "--prefill-concurrency 1: needs --streaming"),
    (["--streaming", "--concurrency", "2", "--prefill-concurrency", "3"],
     "--prefill-concurrency 3: more than --concurrency 2"),
    (["--streaming", "--prefill-concurrency", "2"], "--prefill-concurrency 2: more than --concurrency 1"),
    (["--streaming", "--concurrency", "4", "--prefill-concurrency", "2",
      "--prefill-concurrency-ramp-duration", "0"], "--prefill-concurrency-ramp-duration: 0"),
    (["--prefill-concurrency-ramp-duration", "2"],
     "--prefill-concurrency-ramp-duration 2: needs --prefill-concurrency"),
    (["--streaming", "--warmup-prefill-concurrency", "0"], "--warmup-prefill-concurrency: 0"),
    (["--streaming", "--concurrency", "4", "--warmup-request-count", "2", "--warmup-concurrency",
      "1", "--warmup-prefill-concurrency", "2"], "--warmup-prefill-concurrency 2: more than"),
    (["--warmup-prefill-concurrency-ramp-duration", "1"],
     "--warmup-prefill-concurrency-ramp-duration 1: needs --warmup-prefill-concurrency"),
    (["--request-rate-series", os.path.join(TMP, "series-bad.json")],
     "point 1: time_s 0 is not after 0"),
    (["--request-rate-series", series, "--request-rate", "5"],
     "not with --request-rate"),
    (["--request-rate-series", series, "--warmup-request-count", "2"],
     "needs --warmup-request-rate"),
    (["--num-warmup-sessions", "0"], "--num-warmup-sessions: 0"),
    (["--num-warmup-sessions", "2.5"], "--num-warmup-sessions"),
]
with Mock("--ttft", "1ms") as m:
    for i, (args, want) in enumerate(bad):
        stderr, out = profile(m.url, "bad%d" % i, "--osl", "1", *args, expect=2)
        lines = stderr.strip().splitlines()
        check(len(lines) == 1 and want in lines[0], "bad", args, stderr)
        check(not os.path.exists(out), "bad", args, "wrote", out)
    # an unreadable file: exit 1, as an unreadable --input-file
    stderr, out = profile(m.url, "badfile", "--osl", "1", "--request-rate-series",
                          os.path.join(TMP, "none.json"), expect=1)
    check(stderr.strip().count("\n") == 0 and "--request-rate-series" in stderr and
          "No such file" in stderr and not os.path.exists(out), "unreadable series", stderr)
    timing = m.timing()
    check(not timing, "bad values sent requests", len(timing))
print("ok")
PY
