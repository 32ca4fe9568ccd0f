#!/usr/bin/env python3
"""What the server-seen lateness tail is made of, request by request.

Joins a replay run's records (RUN_DIR), the mock's --timing-log (TIMING: arrive_ns, the
kernel receive time at the server) and a `perf script` dump of sched:sched_switch and
sched:sched_wakeup recorded on every CPU with `perf record -k CLOCK_MONOTONIC` (the clock
the records use). For every request at or above the server-seen p99 (the tail), the time
from its intended send to its arrival is split, without overlap, into:
  sleeping   the worker thread was asleep past the due time (timer wake-up late)
  connect    asleep after t_start waiting for a new connection's handshake (no idle one)
  runnable   the worker was ready but another thread held its CPU (preemption; the
             threads that ran there are listed by name)
  on_cpu     the worker was running but busy elsewhere (reading other responses, parsing,
             recording, the send call itself)
  wire       t_sent to arrival at the server (the send call's tail and loopback)
and each part's share of the tail's summed lateness is printed, with the threads that
preempted the worker. Without a perf dump only the connect / wire / rest split is given.
    bench/tail_breakdown.py RUN_DIR TIMING [PERF_SCRIPT] [LABEL]   (prints one JSON line)"""
import bisect
import collections
import json
import re
import subprocess
import sys

run_dir, timing = sys.argv[1], sys.argv[2]
perf_txt = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
label = sys.argv[4] if len(sys.argv) > 4 else run_dir
anchor = json.load(open(run_dir + "/run.json"))["anchor"]["mono_ns"]
recs = {}
z = subprocess.run(["zstd", "-dcq", run_dir + "/records.jsonl.zst"], stdout=subprocess.PIPE, check=True)
for line in z.stdout.splitlines():
    r = json.loads(line)
    if r.get("phase") == "profile" and "t_sent" in r and "t_intended" in r and "error" not in r:
        recs[str(r["i"])] = r
joined = []
for line in open(timing):
    t = json.loads(line)
    r = recs.get(t.get("request_id"))
    if r and t.get("arrive_ns"):
        a = lambda k: anchor + r[k]
        new = not r.get("reused") and not r.get("preconnect_ns")
        joined.append((t["arrive_ns"] - a("t_intended"), a("t_intended"), a("t_start"), a("t_sent"),
                       t["arrive_ns"], new))
if not joined:
    print(json.dumps({"label": label, "error": "no request joined"}))
    sys.exit(0)
joined.sort()
cut = joined[min(len(joined) - 1, int(0.99 * len(joined)))][0]
tail = [j for j in joined if j[0] >= cut]

# The worker's timeline from the scheduler trace: (time, state) changes, state one of
# "run", "runnable", "sleep"; and for each CPU the switch-ins (time, comm) to name who ran
# while the worker waited.
changes, worker_cpu, cpu_runs = [], [], collections.defaultdict(list)
if perf_txt:
    sw = re.compile(r"\[(\d+)\]\s+([\d.]+):\s+sched:sched_switch:.*?prev_comm=(.*?) prev_pid=(\d+) "
                    r"prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)")
    wk = re.compile(r"\[(\d+)\]\s+([\d.]+):\s+sched:sched_wakeup:.*?comm=(.*?) pid=(\d+)")
    wtid = None
    lines = open(perf_txt, errors="replace").read().splitlines()
    for ln in lines:  # the worker thread: replay-w0
        m = sw.search(ln)
        if m and m.group(6) == "replay-w0":
            wtid = m.group(7)
            break
    for ln in lines:
        m = sw.search(ln)
        if m:
            cpu, ts = int(m.group(1)), int(round(float(m.group(2)) * 1e9))
            cpu_runs[cpu].append((ts, m.group(6)))
            if m.group(4) == wtid:
                changes.append((ts, "runnable" if m.group(5).startswith("R") else "sleep"))
                worker_cpu.append((ts, cpu))
            if m.group(7) == wtid:
                changes.append((ts, "run"))
                worker_cpu.append((ts, cpu))
            continue
        m = wk.search(ln)
        if m and m.group(4) == wtid:
            changes.append((int(round(float(m.group(2)) * 1e9)), "runnable"))
    changes.sort()
    for c in cpu_runs.values():
        c.sort()
ctimes = [c[0] for c in changes]
wctimes = [c[0] for c in worker_cpu]


def state_at(t):
    i = bisect.bisect_right(ctimes, t) - 1
    return changes[i][1] if i >= 0 else "sleep"


def split(lo, hi):
    """Time in [lo, hi) the worker spent in each state."""
    out = collections.Counter()
    if hi <= lo:
        return out
    i = bisect.bisect_right(ctimes, lo)
    t, s = lo, state_at(lo)
    while i < len(changes) and changes[i][0] < hi:
        out[s] += changes[i][0] - t
        t, s = changes[i][0], changes[i][1]
        i += 1
    out[s] += hi - t
    return out


def who_ran(lo, hi, acc):
    """Names of the threads on the worker's CPU over [lo, hi), by time."""
    i = bisect.bisect_right(wctimes, lo) - 1
    cpu = worker_cpu[i][1] if i >= 0 else None
    runs = cpu_runs.get(cpu, [])
    j = max(bisect.bisect_right(runs, (lo, "\U0010ffff")) - 1, 0)
    while j < len(runs) and runs[j][0] < hi:
        start = max(runs[j][0], lo)
        end = min(runs[j + 1][0] if j + 1 < len(runs) else hi, hi)
        if runs[j][1] != "replay-w0" and end > start:
            acc[re.sub(r"\d+$", "", runs[j][1])] += end - start
        j += 1


parts, preempt = collections.Counter(), collections.Counter()
for late, i_t, s_t, t_t, arr, new in tail:
    parts["wire"] += arr - t_t
    if changes:
        before = split(i_t, s_t)  # due -> start
        after = split(s_t, t_t)  # start -> sent (a new connection's handshake)
        parts["sleeping"] += before["sleep"]
        parts["connect" if new else "sleeping"] += after["sleep"]
        for k in ("runnable", "run"):
            parts["on_cpu" if k == "run" else k] += before[k] + after[k]
        if before["runnable"] + after["runnable"]:
            who_ran(i_t, t_t, preempt)
    else:
        parts["connect" if new else "before_send"] += t_t - i_t
total = sum(j[0] for j in tail) or 1
out = {"label": label, "requests": len(joined), "tail_from_us": round(cut / 1e3, 1), "tail_n": len(tail),
       "tail_new_connections": sum(1 for j in tail if j[5]), "traced": bool(changes)}
for k, v in parts.most_common():
    out[f"share_{k}"] = round(v / total, 3)
ptotal = sum(preempt.values()) or 1
out["preempted_by"] = {k: round(v / ptotal, 3) for k, v in preempt.most_common(6)}
print(json.dumps(out))
