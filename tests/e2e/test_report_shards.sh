# report over the shards of one run: the merged summary equals the single process's report
# of the same records (split into 4 shard dirs with their own clock anchors); a shared
# directory holding the shard dirs is found; missing and unfinished shards are named, the
# start skew is stated and warned about; shards of different traces are refused.
. "$E2E_ROOT/tests/e2e/lib.sh"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import copy, json, os, shutil, subprocess
from replay_lib import *

def report(*dirs, expect=0, out=None):
    cmd = [BIN, "report", *dirs] + (["-o", out] if out else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    check(p.returncode == expect, "report exit", p.returncode, p.stderr)
    return p

def metrics(d):
    j = json.load(open(os.path.join(d, "profile_export_aiperf.json")))
    return {k: v for k, v in j.items() if isinstance(v, dict) and "unit" in v}, j

TIMES = ("t_intended", "t_dispatch", "t_start", "t_connected", "t_tls", "t_sent", "t_head",
         "t_first", "t_last", "t_end")

def split(single, parent, n, shift_ns, t0_err=None):
    """single's records dealt to n shard dirs (i % n), each with its own anchor."""
    run = json.load(open(os.path.join(single, "run.json")))
    recs = records(single)
    dirs = []
    for s in range(n):
        d = os.path.join(parent, "shard-%d" % s)
        os.makedirs(d)
        r = copy.deepcopy(run)
        delta = shift_ns * s + 12345 * s
        r["shard"] = {"index": s, "count": n}
        r.pop("counts", None)  # the single run's: report would call each shard's file cut
        r["anchor"]["mono_ns"] -= delta
        r["anchor"]["real_ns"] -= delta
        r["start"]["t0_mono_ns"] += (t0_err or {}).get(s, 0)
        json.dump(r, open(os.path.join(d, "run.json"), "w"))
        with open(os.path.join(d, "records.jsonl"), "w") as f:
            for x in recs:
                if x["i"] % n != s:
                    continue
                x = copy.deepcopy(x)
                for k in TIMES:
                    if k in x:
                        x[k] += delta
                for k in ("chunks", "rchunks"):
                    for c in x.get(k, []):
                        c[0] += delta
                f.write(json.dumps(x) + "\n")
        dirs.append(d)
    return dirs

t = pack("t.jsonl.zst", "--request-count", "400", "--isl", "8", "--osl", "6", "--streaming")
with Mock("--ttft", "3ms", "--itl", "1ms", "--itl-jitter", "1ms") as m:
    _, run, _ = replay(t, m.url, "--request-rate", "300", "--name" if False else "-q",
                       name="single")
single = os.path.join(TMP, "single")
report(single, "--exports", "json" if False else "all")
want, wj = metrics(single)
check(len(want) > 20, "metrics", len(want))

# Four shards with anchors seconds apart, named one by one: the same numbers.
p1 = os.path.join(TMP, "p1")
dirs = split(single, p1, 4, 3_000_000_000)
r = report(*dirs, out=os.path.join(TMP, "m1"))
got, gj = metrics(os.path.join(TMP, "m1"))
check(set(got) == set(want), "metric set", set(want) ^ set(got))
def same(a, b):
    """Equal; the float moments (avg, std, sum) to 1e-12: they are summed in record order,
    which is the merge's shard by shard, not the single file's completion order."""
    if set(a) != set(b):
        return False
    for f in a:
        x, y = a[f], b[f]
        if f in ("avg", "std", "sum") and isinstance(x, float) and isinstance(y, float):
            if abs(x - y) > 1e-12 * max(abs(x), abs(y), 1e-300):
                return False
        elif x != y:
            return False
    return True
for k in want:
    check(same(got[k], want[k]), "metric", k, got[k], want[k])
ss = gj["metronome"]["shard_set"]
check(ss["count"] == 4 and ss["missing"] == [] and not ss["partial"], ss)
check(ss["start_skew_ms"] == 0, "skew", ss)
sh = gj["metronome"]["shards"]
check([x["index"] for x in sh] == [0, 1, 2, 3], sh)
check(all(x["schedule_lateness_p99_ms"] is not None for x in sh), sh)
check("Schedule lateness p99 per shard (ms): 0: " in r.stdout, r.stdout)
check("partial" not in r.stderr, r.stderr)

# The shared directory holding them: found, merged, written there.
r = report(p1)
got, _ = metrics(p1)
check(all(same(got[k], want[k]) for k in want), "parent dir merge")

# A killed shard (complete false) and a missing one: named, flagged partial.
rj = os.path.join(dirs[1], "run.json")
x = json.load(open(rj))
x["complete"] = False
json.dump(x, open(rj, "w"))
shutil.rmtree(dirs[2])
r = report(p1)
_, gj = metrics(p1)
ss = gj["metronome"]["shard_set"]
check(ss["partial"] and ss["missing"] == [2], ss)
check("partial run: 1 of 4 shards missing (2/4)" in r.stderr, r.stderr)
check("partial run: shard 1/4 (%s) did not finish" % dirs[1] in r.stderr, r.stderr)
check("Partial run: shard(s) 2/4 missing." in r.stdout, r.stdout)
check(gj["is_complete"] is False, "is_complete")

# A start 40 ms off on one shard: the skew is stated and more than the lateness: warned.
p2 = os.path.join(TMP, "p2")
split(single, p2, 4, 1_000_000_000, t0_err={3: 40_000_000})
r = report(p2)
_, gj = metrics(p2)
check(abs(gj["metronome"]["shard_set"]["start_skew_ms"] - 40) < 1e-6, gj["metronome"]["shard_set"])
check("the shards started up to 40.000 ms apart" in r.stderr, r.stderr)

# Across hosts the skew adds the two largest clock error estimates (adjtimex esterror in
# run.json): starts 1 ms apart + 300 ms + 200 ms = 501 ms, above the lateness p99 (which a
# loaded machine can push past a few ms): warned.
p5 = os.path.join(TMP, "p5")
d5 = split(single, p5, 4, 1_000_000_000, t0_err={3: 1_000_000})
def hosts(dirs, est, synced):
    for s, d in enumerate(dirs):
        rj = os.path.join(d, "run.json")
        x = json.load(open(rj))
        x["host"]["hostname"] = "host-%d" % s
        x["clock"] = {"source": "adjtimex", "synchronized": synced[s], "esterror_ns": est[s],
                      "maxerror_ns": 4 * est[s]}
        json.dump(x, open(rj, "w"))
hosts(d5, [100_000, 200_000_000, 500_000, 300_000_000], [True] * 4)
r = report(p5)
_, gj = metrics(p5)
ss = gj["metronome"]["shard_set"]
check(abs(ss["start_skew_ms"] - 501) < 1e-6, ss)
check("1.000 ms apart on the hosts' clocks + their error estimates 500.000 ms" in ss["start_skew_basis"], ss)
check("the shards started up to 501.000 ms apart" in r.stderr, r.stderr)
# The same four on one host: one clock, no error estimate added, 1 ms.
hosts(d5, [100_000, 200_000_000, 500_000, 300_000_000], [True] * 4)
for d in d5:
    rj = os.path.join(d, "run.json")
    x = json.load(open(rj))
    x["host"]["hostname"] = "one-host"
    json.dump(x, open(rj, "w"))
report(p5)
_, gj = metrics(p5)
check(abs(gj["metronome"]["shard_set"]["start_skew_ms"] - 1) < 1e-6, gj["metronome"]["shard_set"])
# A host whose clock the kernel calls unsynchronized: the skew cannot be told, and is said so.
hosts(d5, [100_000, 200_000_000, 500_000, 300_000_000], [True, True, False, True])
r = report(p5)
_, gj = metrics(p5)
ss = gj["metronome"]["shard_set"]
check(ss["start_skew_ms"] is None and "not synchronized" in ss["start_skew_basis"], ss)
check("the skew between the shards' starts cannot be told (%s: the host's clock is not "
      "synchronized (adjtimex))" % d5[2] in r.stderr, r.stderr)

# Shards of different traces: one line, no report.
p3 = os.path.join(TMP, "p3")
d3 = split(single, p3, 2, 0)
rj = os.path.join(d3[1], "run.json")
x = json.load(open(rj))
x["trace"]["sha256"] = "0" * 64
json.dump(x, open(rj, "w"))
r = report(p3, expect=1)
check(r.stderr.count("\n") == 1 and "shards of different traces" in r.stderr, r.stderr)
check(not os.path.exists(os.path.join(p3, "profile_export_aiperf.json")), "written")
# The same shard twice (one --start-at): refused.
p4 = os.path.join(TMP, "p4")
d4 = split(single, p4, 2, 0)
for d in d4:
    rj = os.path.join(d, "run.json")
    x = json.load(open(rj))
    x["start"]["at_real_ns"] = 1796205600000000000
    json.dump(x, open(rj, "w"))
shutil.copytree(d4[0], os.path.join(p4, "again"))
r = report(p4, expect=1)
check("both are shard 0/2" in r.stderr, r.stderr)
PY
