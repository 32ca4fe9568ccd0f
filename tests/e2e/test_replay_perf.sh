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
    check(conns <= 64, "connections opened", conns)
    late = sorted(r["t_start"] - r["t_intended"] for r in recs)
    check(late[len(late) // 2] < 1e6, "lateness p50", late[len(late) // 2])
PY
