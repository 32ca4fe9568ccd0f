# AIPerf 0.13 runs a rate-mode warmup (--warmup-request-rate) before a closed-loop
# profile too: through `metronome profile` against the mock, the warmup's send times in
# the records against the rate (constant: k / R from the warmup's start, within 1 ms), its
# cap (--warmup-concurrency, else an explicit --concurrency, else none, as AIPerf), the
# closed loop after it, and bad values refused before anything is packed or sent.
. "$E2E_ROOT/tests/e2e/lib.sh"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import json, os, subprocess
from replay_lib import BIN, TMP, Mock, records, check, err

MS = 1e6


def profile(url, name, *args, expect=0):
    out = os.path.join(TMP, name)
    p = subprocess.run([BIN, "profile", "-m", "m", "--url", url, "--ui", "none",
                        "--artifact-dir", out, "--isl", "8", "--osl", "2", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == expect, name, "exit", p.returncode, p.stderr[-2000:])
    if expect:
        return p.stderr, out
    return records(out)


def peak(recs):
    ev = sorted([(r["t_start"], 1) for r in recs] + [(r["t_end"], -1) for r in recs],
                key=lambda e: (e[0], e[1]))
    n = m = 0
    for _, d in ev:
        n += d
        m = max(m, n)
    return m


def split(recs):
    warm = sorted((r for r in recs if r["phase"] == "warmup"), key=lambda r: r["t_intended"])
    prof = sorted((r for r in recs if r["phase"] == "profile"), key=lambda r: r["t_start"])
    check(not any(err(r) for r in recs), "errors")
    return warm, prof


with Mock("--ttft", "30ms", "--itl", "1ms") as m:
    # constant 50 req/s, no cap (no --concurrency given): every 20 ms, overlapping
    warm, prof = split(profile(m.url, "const", "--warmup-request-rate", "50",
                               "--warmup-arrival-pattern", "constant",
                               "--warmup-request-count", "10", "--request-count", "6"))
    check(len(warm) == 10 and len(prof) == 6, "const counts", len(warm), len(prof))
    w0 = warm[0]["t_intended"]
    for k, r in enumerate(warm):
        check(abs(r["t_intended"] - w0 - k * 20 * MS) < 1 * MS, "const schedule", k,
              (r["t_intended"] - w0) / MS)
    late = sorted(r["t_start"] - r["t_intended"] for r in warm)
    check(late[len(late) // 2] < 1 * MS and late[-1] < 250 * MS, "const lateness", late)
    check(peak(warm) >= 2, "no cap: the warmup's requests overlap", peak(warm))
    # then the closed loop: one slot (the default), after every warmup request ended
    check(prof[0]["t_start"] >= max(r["t_end"] for r in warm), "warmup drained")
    check(peak(prof) == 1, "closed loop of 1", peak(prof))

    # 200 req/s capped by --concurrency 2 (AIPerf's warmup cap when no
    # --warmup-concurrency): never more than 2 in flight, and the closed loop of 2 after it
    warm, prof = split(profile(m.url, "cap", "--concurrency", "2", "--warmup-request-rate",
                               "200", "--warmup-arrival-pattern", "constant",
                               "--warmup-request-count", "12", "--request-count", "6"))
    check(len(warm) == 12 and peak(warm) == 2, "cap 2", len(warm), peak(warm))
    check(peak(prof) == 2, "closed loop of 2", peak(prof))
    # --warmup-concurrency wins
    warm, prof = split(profile(m.url, "wcap", "--concurrency", "2", "--warmup-concurrency",
                               "4", "--warmup-request-rate", "200", "--warmup-arrival-pattern",
                               "constant", "--warmup-request-count", "12",
                               "--request-count", "6"))
    check(peak(warm) == 4 and peak(prof) == 2, "warmup cap 4", peak(warm), peak(prof))
    # poisson (AIPerf's default pattern): the mean gap about 1/R
    warm, prof = split(profile(m.url, "pois", "--warmup-request-rate", "100",
                               "--warmup-request-count", "40", "--request-count", "2"))
    gaps = [(b["t_intended"] - a["t_intended"]) / MS for a, b in zip(warm, warm[1:])]
    mean = sum(gaps) / len(gaps)
    check(5 < mean < 20 and len(set(round(g, 3) for g in gaps)) > 10, "poisson gaps", mean)

# ---- bad values: one line naming the option and the value, exit 2, nothing written -------
bad = [
    (["--warmup-request-rate", "0", "--warmup-request-count", "2"], "--warmup-request-rate: 0"),
    (["--warmup-request-rate", "x", "--warmup-request-count", "2"], "--warmup-request-rate"),
    (["--warmup-arrival-pattern", "constant", "--warmup-request-count", "2"],
     "--warmup-arrival-pattern constant: needs --request-rate or --warmup-request-rate"),
    (["--warmup-request-rate", "5", "--warmup-arrival-pattern", "burst",
      "--warmup-request-count", "2"], "--warmup-arrival-pattern burst"),
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
