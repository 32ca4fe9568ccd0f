# --connection-reuse-strategy (AIPerf 0.13): pooled reuses each worker's keep-alive
# connections; never opens a connection per request (sent with "Connection: close") and
# closes it after the response; sticky-user-sessions keeps one connection per conversation
# across its turns, closes it after the last turn, and gives it up after a failed turn (the
# next turn opens another). Checked from the records (worker, conn, reused), from run.json
# (connections_opened) and from outside: the mock's timing log names the connection each
# request came on. Bad values: one line naming the option and the value, exit 2, nothing
# written. Also --model-selection-strategy's refusals (weighted, unknown values).
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import json, os, subprocess
from replay_lib import *
from rawserver import RawServer

# 4 conversations of 3 turns
trace = pack("mt.jsonl.zst", "--conversation-num", "4", "--conversation-turn-mean", "3",
             "--isl", "8", "--osl", "5")
single = pack("st.jsonl.zst", "--request-count", "8", "--isl", "8", "--osl", "5")

def run(strategy, *args, tr=None, mock_args=()):
    """Replays against a fresh mock; returns (records, run.json, mock's chat lines)."""
    with Mock("--ttft", "1ms", "--itl", "1ms", *mock_args) as m:
        recs, rj, _ = replay(tr or trace, m.url, "--no-preflight",
                             "--connection-reuse-strategy", strategy, *args)
        lines = [l for l in m.timing() if l["path"] == "/v1/chat/completions"]
    check(len(lines) == len(recs), strategy, "requests the mock saw", len(lines), len(recs))
    # the mock's connection of each record (joined by X-Request-Id = the record index)
    by_rid = {int(l["request_id"]): (l["worker"], l["conn"]) for l in lines}
    for r in recs:
        r["server_conn"] = by_rid[r["i"]]
    return recs, rj, lines

def conns(recs):
    return {(r["worker"], r["conn"]) for r in recs}

def server_conns(recs):
    return {r["server_conn"] for r in recs}

def convs(recs):
    out = {}
    for r in sorted(recs, key=lambda r: r["turn"]):
        out.setdefault(r["conv"], []).append(r)
    return out

# ---- pooled (the default): the closed loop's 2 slots reuse their 2 connections ----
recs, rj, _ = run("pooled", "--concurrency", "2")
check(len(recs) == 12 and all(not err(r) for r in recs), "pooled records", recs)
check(len(conns(recs)) <= 2 and len(server_conns(recs)) == len(conns(recs)),
      "pooled: at most 2 connections", conns(recs), server_conns(recs))
check(sum(r["reused"] for r in recs) >= 10, "pooled: reused", [r["reused"] for r in recs])
check(rj["counts"]["connections_opened"] == len(conns(recs)), "pooled run.json", rj["counts"])
check(rj["config"]["connection_reuse_strategy"] == "pooled", rj["config"])

# ---- never: a connection per request, closed after it ----
recs, rj, lines = run("never", "--concurrency", "2")
check(len(recs) == 12 and all(not err(r) for r in recs), "never records", recs)
check(len(conns(recs)) == 12 and not any(r["reused"] for r in recs),
      "never: 12 connections, none reused", [(r["worker"], r["conn"], r["reused"]) for r in recs])
check(len(server_conns(recs)) == 12, "never: the mock saw 12 connections", server_conns(recs))
check(rj["counts"]["connections_opened"] == 12, "never run.json", rj["counts"])
check(rj["config"]["connection_reuse_strategy"] == "never", rj["config"])
# every request connects inside its latency (nothing opened ahead)
check(all(r["t_connected"] > r["t_start"] and "preconnect_ns" not in r for r in recs),
      "never: connect inside each request", [(r["t_start"], r["t_connected"]) for r in recs])
# rate mode: the pool opens nothing ahead either
recs, rj, _ = run("never", "--request-rate", "200", "--arrival-pattern", "constant",
                  "--random-seed", "1")
check(len(conns(recs)) == 12 and len(server_conns(recs)) == 12 and
      rj["counts"]["connections_opened"] == 12 and rj["counts"]["connections_opened_ahead"] == 0,
      "never at a rate", conns(recs), rj["counts"])

# ---- sticky-user-sessions: one connection per conversation ----
recs, rj, _ = run("sticky-user-sessions", "--concurrency", "2")
check(len(recs) == 12 and all(not err(r) for r in recs), "sticky records", recs)
cv = convs(recs)
check(len(cv) == 4 and all(len(t) == 3 for t in cv.values()), "4 x 3 turns", cv.keys())
for c, turns in cv.items():
    ids = {(r["worker"], r["conn"]) for r in turns}
    sids = {r["server_conn"] for r in turns}
    check(len(ids) == 1 and len(sids) == 1, "sticky: one connection for", c, ids, sids)
    check([r["reused"] for r in turns] == [False, True, True], "sticky: reused", c,
          [r["reused"] for r in turns])
check(len(conns(recs)) == 4 and len(server_conns(recs)) == 4, "sticky: 4 connections",
      conns(recs), server_conns(recs))
check(rj["counts"]["connections_opened"] == 4, "sticky run.json", rj["counts"])
# pooled on the same trace shares connections between conversations: the difference shows
recs_p, _, _ = run("pooled", "--concurrency", "2")
check(len(conns(recs_p)) < 4, "pooled shares connections across conversations", conns(recs_p))

# a failed turn gives its connection up: the next turn opens another (AIPerf 0.13 releases
# the lease on an error). One slot: the mock's request 1 is the first conversation's turn 1.
recs, rj, _ = run("sticky-user-sessions", "--concurrency", "1", "--workers", "1",
                  mock_args=("--fault", "status=500@idx=1"))
first = convs(recs)[recs[0]["conv"]]
check([err(r) for r in first] == [None, "http", None], "the failed turn", [err(r) for r in first])
check(first[0]["conn"] == first[1]["conn"] and first[2]["conn"] != first[1]["conn"] and
      not first[2]["reused"], "sticky: a new connection after the failed turn",
      [(r["conn"], r["reused"]) for r in first])
check(len(conns(recs)) == 5 and len(server_conns(recs)) == 5, "sticky after a failure: 5",
      conns(recs), server_conns(recs))

# a cancelled turn gives its connection up too; a turn after a good one keeps it
recs, rj, _ = run("sticky-user-sessions", "--concurrency", "2", "--random-seed", "3",
                  "--request-cancellation-rate", "50", "--request-cancellation-delay", "0.01",
                  mock_args=("--ttft", "100ms"))
ncancel = sum(err(r) == "cancelled" for r in recs)
check(0 < ncancel < 12, "some turns cancelled", ncancel)
opened = 0
for c, turns in convs(recs).items():
    opened += 1
    for a, b in zip(turns, turns[1:]):
        same = (a["worker"], a["conn"]) == (b["worker"], b["conn"])
        check(same == (err(a) is None) and b["reused"] == same, "sticky after", err(a), c,
              [(r["conn"], r["reused"], err(r)) for r in turns])
        opened += not same
check(len(conns(recs)) == opened and len(server_conns(recs)) == opened and
      rj["counts"]["connections_opened"] == opened, "sticky with cancels", opened, conns(recs))

# single-turn conversations: each request is its conversation's last turn
recs, rj, _ = run("sticky-user-sessions", "--concurrency", "2", tr=single)
check(len(recs) == 8 and len(conns(recs)) == 8 and len(server_conns(recs)) == 8 and
      not any(r["reused"] for r in recs), "sticky, single turns: a connection each", conns(recs))

# ---- the request head: never sends Connection: close, the others do not ----
OK = b'{"choices":[{"message":{"content":"hello"}}],"usage":{"completion_tokens":5}}'
def answer(req):
    return [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(OK) + OK]
for strategy, want in [("never", True), ("pooled", False), ("sticky-user-sessions", False)]:
    with RawServer(answer) as s:
        replay(single, "127.0.0.1:%d" % s.port, "--connection-reuse-strategy", strategy,
               "--concurrency", "1")
        heads = [r.head.decode().lower() for r in s.requests if r.head.startswith(b"POST")]
    check(len(heads) == 8 and all(("\r\nconnection: close\r\n" in h) == want for h in heads),
          strategy, "Connection: close", heads[:1])

# ---- profile passes it on (AIPerf's spelling, case and '_' as AIPerf's enums allow) ----
with Mock("--ttft", "1ms", "--itl", "1ms") as m:
    out = os.path.join(TMP, "prof")
    p = subprocess.run([BIN, "profile", "-m", "m", "--url", m.url, "--ui", "none",
                        "--conversation-num", "3", "--conversation-turn-mean", "2", "--isl", "8",
                        "--osl", "5", "--no-server-metrics", "--concurrency", "1",
                        "--connection-reuse-strategy", "Sticky_User_Sessions",
                        "--artifact-dir", out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 0, "profile", p.stderr)
    lines = [l for l in m.timing() if l["path"] == "/v1/chat/completions"]
    run_dirs = [d for d, _, f in os.walk(out) if "records.jsonl.zst" in f]
    check(len(run_dirs) == 1, "profile run dir", run_dirs)
    recs = records(run_dirs[0])
    check(len(recs) == 6 and len(conns(recs)) == 3 and len({(l["worker"], l["conn"]) for l in lines}) == 3,
          "profile sticky: 3 connections for 3 conversations", conns(recs))

# ---- bad values: one line naming option and value, exit 2, nothing written ----
def refused(cmd, out, *words):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 2, cmd, p.returncode, p.stderr)
    check(len(lines) == 1 and all(w in lines[0] for w in words), cmd, p.stderr)
    check(not os.path.exists(out), "nothing written", cmd)

out = os.path.join(TMP, "bad")
for bad in ["bogus", "sticky", ""]:
    refused([BIN, "replay", trace, "--url", "127.0.0.1:9", "-o", out, "-q",
             "--connection-reuse-strategy", bad], out, "--connection-reuse-strategy", "'%s'" % bad)
    refused([BIN, "profile", "-m", "m", "--url", "127.0.0.1:9", "--ui", "none",
             "--connection-reuse-strategy", bad, "--artifact-dir", out], out,
            "--connection-reuse-strategy", "'%s'" % bad)
refused([BIN, "replay", trace, "--url", "127.0.0.1:9", "-o", out, "-q", "--preconnect",
         "--connection-reuse-strategy", "never"], out, "--preconnect", "never")
for bad, words in [("weighted", ("--model-selection-strategy weighted", "weights")),
                   ("bogus", ("--model-selection-strategy", "'bogus'"))]:
    refused([BIN, "profile", "-m", "a", "-m", "b", "--url", "127.0.0.1:9", "--ui", "none",
             "--model-selection-strategy", bad, "--artifact-dir", out], out, *words)
print("ok")
PY
