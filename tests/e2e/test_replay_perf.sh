# Performance invariants of replay (issue 16): a spin longer than the gap between sends
# never stops the worker from reading responses.
. "$E2E_ROOT/tests/e2e/lib.sh"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
from replay_lib import *

# --spin-us 1000 at 2,000 req/s on one worker: every send falls inside the previous one's
# spin. The worker must still read the responses, so keep-alive connections are reused
# (a worker that never reads opens a connection per request until it runs out of fds).
t = pack("spin.jsonl.zst", "--request-count", "1500", "--isl", "8", "--osl", "1")
with Mock("--ttft", "0", "--itl", "0", "--osl", "1") as m:
    recs, run, _ = replay(t, m.url, "--request-rate", "2000", "--arrival-pattern", "constant",
                          "--spin-us", "1000", "--workers", "1")
    check(len(recs) == 1500, "records", len(recs))
    bad = [r for r in recs if err(r)]
    check(not bad, "errors", len(bad), bad[:1])
    conns = len({r["conn"] for r in recs})
    # ~1,470 before the fix; a reading worker needs a handful (up to ~100 seen when a
    # loaded machine preempts it for tens of ms)
    check(conns <= 300, "connections opened", conns)
    late = sorted(r["t_start"] - r["t_intended"] for r in recs)
    # a worker that cannot read falls seconds behind; a busy shared machine, milliseconds
    check(late[len(late) // 2] < 50e6, "lateness p50", late[len(late) // 2])
    # The spin's cost is reported: a spin as long as the gap keeps the worker polling for
    # the whole 0.75 s schedule; without a spin there is none.
    check(run["counts"]["spin_ns"] > 0.3e9, "spin_ns", run["counts"]["spin_ns"])
    recs, run, _ = replay(t, m.url, "--request-rate", "2000", "--request-count", "200",
                          "--spin-us", "0", "--workers", "1")
    check(run["counts"]["spin_ns"] == 0, "spin_ns without a spin", run["counts"]["spin_ns"])
PY

# --send-tick-us trades send accuracy for wake-ups: a worker sleeps from one tick's end to
# the next (ticks counted from the records' anchor) and sends what has come due, never
# before its intended time. 2,000 req/s on a 5 ms tick is 10 sends a tick, so the sends
# go out in bursts just past each tick's end; without a tick they spread over the tick.
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
from replay_lib import *

tick = 5_000_000
def past_tick(recs):
    """Share of sends under 1 ms past a tick's end; the median of how far past."""
    off = sorted(r["t_start"] % tick for r in recs)
    return sum(o < 1e6 for o in off) / len(off), off[len(off) // 2]

t = pack("tick.jsonl.zst", "--request-count", "1000", "--isl", "8", "--osl", "1")
with Mock("--ttft", "0", "--itl", "0", "--osl", "1", log=False) as m:
    args = ("--request-rate", "2000", "--arrival-pattern", "constant", "--workers", "1")
    recs, run, _ = replay(t, m.url, *args, "--send-tick-us", "5000")
    check(len(recs) == 1000 and not [r for r in recs if err(r)], "errors",
          [r for r in recs if err(r)][:1])
    check(run["config"]["send_tick_ns"] == tick and run["config"]["spin_ns"] == 0,
          "run.json config", run["config"]["send_tick_ns"], run["config"]["spin_ns"])
    early = [r for r in recs if r["t_start"] < r["t_intended"]]
    check(not early, "sent before the intended time", len(early), early[:1])
    share, p50 = past_tick(recs)
    starts = sorted(r["t_start"] for r in recs)
    bursts = 1 + sum(y - x > 200_000 for x, y in zip(starts, starts[1:]))
    print("tick 5 ms: %.3f of sends under 1 ms past a tick's end (p50 %.0f us), %d bursts" % (
        share, p50 / 1e3, bursts))
    # a loaded machine wakes some ticks late; a tick ignored spreads them evenly (0.2)
    check(share >= 0.8, "share of sends just past a tick's end", share)
    # ~100 bursts (sends under 200 us apart) for the 0.5 s schedule; 1,000 without
    check(bursts <= 300, "bursts of sends", bursts)
    recs, run, _ = replay(t, m.url, *args, "--spin-us", "0")
    share, p50 = past_tick(recs)
    print("no tick: %.3f of sends under 1 ms past a 5 ms grid's tick (p50 %.0f us)" % (share, p50 / 1e3))
    check(share < 0.5, "share of sends just past the grid without a tick", share)
    check(run["config"]["send_tick_ns"] == 0, "send_tick_ns default", run["config"]["send_tick_ns"])
    _, _, err_text = replay(t, m.url, *args, "--spin-us", "10", "--send-tick-us", "1000", expect=2)
    check("not with --send-tick-us" in err_text, "spin and tick together", err_text)
PY

# At a fixed rate no send opens a connection on its own critical path when the pool could
# have opened it earlier (issue 16 item 2: the server-seen tail was the requests sent on a
# new connection). 1,000 req/s against 20 ms replies keeps ~20 requests in flight, so the
# keep-alive pool must grow to ~20: before the pool opened connections ahead of the
# sends, each step of that growth was a connect inside a send (~20-40 per run, none
# opened ahead). A send may still open one when it was not foreseen: it fell due beyond
# the horizon of the pool's last fill (the worker or the scheduler held off its CPU for
# longer than the pool looks ahead, on a loaded machine); those are counted apart.
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
from replay_lib import *

t = pack("pool.jsonl.zst", "--request-count", "2000", "--isl", "8", "--osl", "1")
with Mock("--ttft", "20ms", "--itl", "0", "--osl", "1", log=False) as m:
    recs, run, _ = replay(t, m.url, "--request-rate", "1000", "--arrival-pattern", "constant",
                          "--request-count", "2000", "--workers", "1")
    c = run["counts"]
    print("connections: %d opened ahead, %d at send (%d of them not foreseen)" % (
        c["connections_opened_ahead"], c["connections_opened_at_send"],
        c["connections_opened_at_send_late"]))
    check(len(recs) == 2000 and not [r for r in recs if err(r)], "errors",
          [r for r in recs if err(r)][:1])
    foreseen = c["connections_opened_at_send"] - c["connections_opened_at_send_late"]
    check(foreseen == 0, "sends that opened a connection the pool should have opened", foreseen)
    # before: none; the first fill alone opens the first 5 ms of sends' worth (5), and
    # a loaded machine's stalls may open the rest at send (counted above as not foreseen)
    check(c["connections_opened_ahead"] >= 5, "connections opened ahead",
          c["connections_opened_ahead"])
    conns = len({r["conn"] for r in recs})
    # in flight (~20) plus the horizon's worth (5 ms at 1,000/s) plus what stalls add
    check(conns <= 200, "connections", conns)
    # closed loop keeps its slots' connections: the pool opens nothing there
    recs, run, _ = replay(t, m.url, "--concurrency", "4", "--request-count", "100",
                          "--workers", "1")
    check(run["counts"]["connections_opened_ahead"] == 0, "closed loop pool",
          run["counts"]["connections_opened_ahead"])
PY

# After a stall the run catches up instead of collapsing (issue 16): the replay process is
# stopped (SIGSTOP) for 200 ms at 5,000 req/s, so ~1,000 sends are overdue when it
# resumes, against a pool of ~25 idle connections. Before the fix every overdue send past
# the pool opened a connection of its own (1,300-1,500 on a quiet machine, ~10,000 once a
# loaded machine tipped it into the collapse: the worker sent its whole backlog before
# reading a response, so no connection came back); now an overdue send that finds the
# pool empty first reads the responses already there (140-210 opened at send). The client
# is on CPU 0 and the mock on CPU 1, so the mock answers while the client catches up.
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import json, os, signal, subprocess, time
from replay_lib import *

t = pack("stall.jsonl.zst", "--request-count", "15000", "--isl", "8", "--osl", "1")
two = os.cpu_count() and os.cpu_count() >= 2


def stalled_run(out):
    m = Mock("--ttft", "0", "--itl", "0", "--osl", "1", log=False)
    try:
        if two:
            subprocess.run(["taskset", "-p", "-c", "1", str(m.p.pid)], stdout=subprocess.DEVNULL,
                           check=True)
        p = subprocess.Popen((["taskset", "-c", "0"] if two else []) +
                             [BIN, "replay", t, "--url", m.url, "-o", out, "-q",
                              "--no-server-metrics", "--request-rate", "5000",
                              "--arrival-pattern", "constant", "--request-count", "15000",
                              "--workers", "1"])
        time.sleep(1.0)
        p.send_signal(signal.SIGSTOP)
        time.sleep(0.2)
        p.send_signal(signal.SIGCONT)
        check(p.wait(60) == 0, "replay exit", p.returncode)
    finally:
        m.stop()
    run = json.load(open(os.path.join(out, "run.json")))
    recs = records(out)
    late = [(r["t_intended"], r["t_start"] - r["t_intended"]) for r in recs]
    behind = [x for x in late if x[1] > 20e6]
    c = run["counts"]
    print("stall: %d sends over 20 ms late, %d connections opened at send, %d ahead" % (
        len(behind), c["connections_opened_at_send"], c["connections_opened_ahead"]))
    return recs, c, late, behind


# Before the fix every overdue send past the pool opened a connection: more than the sends
# held back (the worker before 8f6e7bc: 1,491 for 1,321 and 1,506 for 1,335). Now 140-210 on a quiet machine; a
# loaded host that slows the mock's answers pushes it up (a send opens a connection when
# nothing has come back: a constant-rate client never waits for one), 845 of 1,288 seen in
# CI, so the bound is a share of the sends held back, and a run over it is rerun once: the
# old behaviour fails both.
for attempt in (1, 2):
    recs, c, late, behind = stalled_run(os.path.join(TMP, "stall-run%d" % attempt))
    if c["connections_opened_at_send"] <= 0.75 * len(behind) or attempt == 2:
        break
    print("more connections opened at send than a quiet host opens: once more")
check(len(recs) == 15000 and not [r for r in recs if err(r)], "errors",
      [r for r in recs if err(r)][:1])
# the stall happened (a machine that did not stop the process tests nothing)
check(len(behind) >= 300, "sends held back by the stall", len(behind))
check(c["connections_opened_at_send"] <= 0.75 * len(behind),
      "connections opened at send after the stall", c["connections_opened_at_send"],
      "for sends held back", len(behind))
# and the run recovered: from ~0.5 s after the stall on, sends are on time again (a quiet
# machine: p99 ~1 ms). The stall is placed by the median due time of the held-back sends
# (~100 ms into it), so a late send elsewhere in the run does not move it.
mid = sorted(x[0] for x in behind)[len(behind) // 2]
after = sorted(l for ti, l in late if ti > mid + 600e6)
check(len(after) > 2000, "sends after the recovery", len(after))
check(after[len(after) * 99 // 100] < 20e6, "lateness p99 after the stall", after[len(after) * 99 // 100])
PY

# Memory is bounded by configuration, never by the run's length: a closed-loop replay at
# full speed (64 connections, non-streaming, instant replies), with the client and the
# mock on ONE CPU so the record writer competes with a saturated worker (where a writer
# at nice 19 starved and records piled up at ~600 B per request, 206 MB after 10 s). RSS
# is sampled every 100 ms; after the first 2 s (buffers and pools at their working size)
# it may grow by at most 64 B per request sent: the slope criterion of issue 16 (a 60 s
# run's peak within 64 MB of a 10 s run's) applied to an 8 s run, plus a 64 MB ceiling.
# A slower growth the slope cannot see in 8 s (~0.3 B per request, 23 KB/s, from blocks
# one thread allocated and another freed: docs/replay.md, *Memory*) is ruled out by count:
# the scheduler allocates request items only up to the workers' stock (256 at 64 slots)
# plus the slots, and reuses the ones handed back after that. Then the same with 4-turn
# sessions, cycled: the scheduler's map of open sessions kept every session it had seen
# (~80 B each, ~20 B per request: 14.8 MB after 10 s, 25.4 MB after 40 s); it may grow by
# at most 8 B per request (~0.6 measured since it drops a session at its last turn).
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import json, os, subprocess, time
from replay_lib import *

cpu = ["taskset", "-c", "0"] if os.cpu_count() and os.cpu_count() >= 2 else []


def rss_run(t, name):
    """8 s closed loop at 64 connections; RSS every 100 ms. Returns run.json, the growth
    per request after the first 2 s, and the peak."""
    m = Mock("--ttft", "0", "--itl", "0", "--osl", "1", log=False)
    try:
        out = os.path.join(TMP, name)
        p = subprocess.Popen(cpu + [BIN, "replay", t, "--url", m.url, "-o", out, "-q",
                                    "--concurrency", "64", "--workers", "1",
                                    "--benchmark-duration", "8"])
        subprocess.run(["taskset", "-p", "-c", "0", str(m.p.pid)] if cpu else ["true"],
                       stdout=subprocess.DEVNULL, check=True)
        t0, samples = time.monotonic(), []
        while p.poll() is None:
            try:
                with open("/proc/%d/status" % p.pid) as f:
                    kb = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
                samples.append((time.monotonic() - t0, kb * 1024))
            except (OSError, StopIteration):
                pass
            time.sleep(0.1)
        check(p.wait() == 0, "replay exit", p.returncode)
    finally:
        m.stop()
    run = json.load(open(os.path.join(out, "run.json")))
    sent = run["counts"]["sent"]
    early = max(b for s, b in samples if s <= 2.0)
    peak = max(b for s, b in samples)
    # requests sent after the first 2 s, about (sending stops at 8 s, whenever the run ends)
    window = sent / 8.0 * (min(samples[-1][0], 8.0) - 2.0)
    per_req = (peak - early) / max(window, 1)
    print("%s: sent %d, RSS at 2 s %.1f MB, peak %.1f MB, growth %.1f B/request, writer waits %s, "
          "request items allocated %d" % (name, sent, early / 1e6, peak / 1e6, per_req,
                                          run["counts"].get("writer_waits"),
                                          run["counts"]["request_items_allocated"]))
    check(sent > 10000, "too few requests to judge", sent)
    check(peak < 64e6, "peak RSS", peak)
    return run, per_req


run, per_req = rss_run(pack("closed.jsonl.zst", "--request-count", "2000", "--isl", "16",
                            "--osl", "1"), "rss-run")
check(per_req < 64, "RSS grows with the run: B/request", per_req)
items = run["counts"]["request_items_allocated"]
check(items <= 256 + 64 + 16, "request items allocated (reuse broken?)", items)

run, per_req = rss_run(pack("sessions.jsonl.zst", "--conversation-num", "500",
                            "--conversation-turn-mean", "4", "--isl", "16", "--osl", "1"),
                       "rss-sessions")
check(run["counts"]["sessions_completed"] > 2000, "sessions", run["counts"]["sessions_completed"])
check(per_req < 8, "RSS grows with the sessions run: B/request", per_req)
PY

# The non-streaming body cap is global too (issue 17 item 12: 16 concurrent 64 MiB bodies
# reached 237 MB): six ~2 MB bodies that stall half-way hold ~1 MB each; with
# --max-body-bytes-total 3 MiB the ones past the budget fail with protocol at once, the
# others end on the idle timeout; with the default budget none fails on it.
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
from replay_lib import *

t = pack("big.jsonl.zst", "--request-count", "6", "--isl", "8", "--osl", "400000")
with Mock("--ttft", "0", "--itl", "0", "--fault", "stall-after=1", log=False) as m:
    for budget, want_over in (("3145728", True), (None, False)):
        extra = ["--max-body-bytes-total", budget] if budget else []
        # every request fails (budget or idle timeout): exit 1, "no request succeeded"
        recs, run, _ = replay(t, m.url, "--concurrency", "6", "--workers", "1",
                              "--idle-timeout-seconds", "1", *extra, expect=1)
        over = [r for r in recs if "max-body-bytes-total" in (r.get("error") or {}).get("message", "")]
        idle = [r for r in recs if err(r) == "timeout_idle"]
        check(len(recs) == 6 and len(over) + len(idle) == 6, "outcomes", [r.get("error") for r in recs])
        if want_over:
            check(1 <= len(over) <= 4 and all(err(r) == "protocol" for r in over), "over budget", len(over))
            check(run["config"]["max_body_bytes_total"] == 3145728, "config")
        else:
            check(not over, "default budget hit", len(over))
PY

# Fixed rate: the scheduler hands requests over in batches (one wake-up per ~10 ms of
# requests), not one wake-up per request: 4,000 requests at 2,000 req/s. Its thread's
# voluntary context switches are sampled from /proc while it runs (~4,000 before).
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import glob, os, subprocess, time
from replay_lib import *

t = pack("rate.jsonl.zst", "--request-count", "4000", "--isl", "8", "--osl", "1")
with Mock("--ttft", "0", "--itl", "0", "--osl", "1", log=False) as m:
    p = subprocess.Popen([BIN, "replay", t, "--url", m.url, "-o", os.path.join(TMP, "rate-run"), "-q",
                          "--request-rate", "2000", "--arrival-pattern", "constant", "--workers", "1"])
    switches = 0
    while p.poll() is None:
        for task in glob.glob("/proc/%d/task/*" % p.pid):
            try:
                if open(task + "/comm").read().strip() != "replay-sched":
                    continue
                for l in open(task + "/status"):
                    if l.startswith("voluntary_ctxt_switches:"):
                        switches = max(switches, int(l.split()[1]))
            except OSError:
                pass
        time.sleep(0.05)
    check(p.returncode == 0, "replay exit", p.returncode)
print("scheduler voluntary context switches:", switches)
check(0 < switches < 1000, "scheduler wake-ups for 4,000 requests", switches)
PY

# Fixed rate: one wake-up of the worker per send (issue 16 item 3). It sleeps until its
# next send without being woken by the sockets (a nap, when the send is at most 500 us
# away), sends, then reads the responses that came back meanwhile; before, the response
# to each send woke it a second time (~2 voluntary context switches per request on a quiet
# machine, 1.4-1.6 on a loaded one). 5,000 requests at 2,500 req/s (a 400 us gap),
# non-streaming; the worker thread's voluntary switches are sampled from /proc.
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import glob, json, os, subprocess, time
from replay_lib import *

t = pack("nap.jsonl.zst", "--request-count", "5000", "--isl", "8", "--osl", "1")
with Mock("--ttft", "0", "--itl", "0", "--osl", "1", log=False) as m:
    out = os.path.join(TMP, "nap-run")
    p = subprocess.Popen([BIN, "replay", t, "--url", m.url, "-o", out, "-q", "--no-server-metrics",
                          "--request-rate", "2500", "--arrival-pattern", "constant", "--workers", "1"])
    switches = 0
    while p.poll() is None:
        for task in glob.glob("/proc/%d/task/*" % p.pid):
            try:
                if open(task + "/comm").read().strip() != "replay-w0":
                    continue
                for l in open(task + "/status"):
                    if l.startswith("voluntary_ctxt_switches:"):
                        switches = max(switches, int(l.split()[1]))
            except OSError:
                pass
        time.sleep(0.05)
    check(p.returncode == 0, "replay exit", p.returncode)
recs = records(out)
check(len(recs) == 5000 and not [r for r in recs if err(r)], "errors", [r for r in recs if err(r)][:1])
print("worker voluntary context switches: %d for 5,000 requests" % switches)
check(500 < switches < 6500, "worker wake-ups per request", switches / 5000)
PY

# The nap is not taken while a streamed request is in flight: its chunks are stamped at
# their reads, and chunks read together would share the last one's stamp. 2,500 req/s
# (sends 400 us apart), streamed replies of 6 tokens 100 us apart: the worker must read
# each chunk as it comes. Judged against what the mock sent (its timing log, joined by
# request id): a record must carry about as many distinct stamps as the mock made
# emissions at least 60 us after the one before (1.03-1.06 of them measured; a worker
# napping between sends, tried by dropping the check, 0.39-0.40). Counting zero gaps
# between our own stamps instead failed whenever the host delayed the mock's timers, which
# then sent two emissions at once. A host stall (sends over 20 ms late) reruns it once.
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import json
from replay_lib import *

t = pack("napstream.jsonl.zst", "--streaming", "--request-count", "1000", "--isl", "8", "--osl", "6")
for attempt in (1, 2):
    with Mock("--ttft", "200us", "--itl", "100us", "--osl", "6") as m:
        recs, run, _ = replay(t, m.url, "--request-rate", "2500", "--arrival-pattern", "constant",
                              "--workers", "1")
        srv = {x["request_id"]: x for x in m.timing() if x.get("request_id")}
    check(len(recs) == 1000 and not [r for r in recs if err(r)], "errors",
          [r for r in recs if err(r)][:1])
    separable = distinct = 0
    for r in recs:
        e = [c[0] for c in srv[str(r["i"])]["chunks"]]
        separable += 1 + sum(1 for a, b in zip(e, e[1:]) if b - a >= 60000)
        distinct += len({c[0] for c in r["chunks"]})
    gaps = sorted(b[0] - a[0] for r in recs for a, b in zip(r["chunks"], r["chunks"][1:]))
    late = late_sends(recs)
    print("streamed chunks: %d distinct stamps for %d mock emissions 60 us apart (%.2f); our gaps "
          "p50 %.0f us; %d sends over 20 ms late" %
          (distinct, separable, distinct / separable, gaps[len(gaps) // 2] / 1e3, late))
    if distinct >= 0.8 * separable or not late or attempt == 2:
        break
    print("the host stalled the run: once more")
check(distinct >= 0.8 * separable, "chunks read together: distinct stamps", distinct,
      "for emissions", separable)
PY
