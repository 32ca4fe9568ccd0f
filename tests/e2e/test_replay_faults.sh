# Every fault the mock offers ends as a correctly classified record, and every request ends
# within its timeout + 1 s (no hangs).
. "$E2E_ROOT/tests/e2e/lib.sh"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
from replay_lib import *

trace = pack("t.jsonl.zst", "--streaming", "--request-count", "6", "--isl", "8", "--osl", "5")
nostream = pack("n.jsonl.zst", "--request-count", "4", "--isl", "8", "--osl", "5")
FAST = ["--ttft", "1ms", "--itl", "1ms"]
OK = None
# (fault flags, replay flags, expected error type, extra check on each record)
cases = [
    (["status=429"], [], "http", lambda r: r["error"]["code"] == 429 and r["status"] == 429),
    (["status=500"], [], "http", lambda r: r["error"]["code"] == 500),
    (["close-after=2"], [], "closed", lambda r: len(r["chunks"]) >= 2),
    (["close-after=0"], [], "closed", lambda r: r["status"] == 200 and not r["chunks"]),
    (["stall-after=1"], ["--idle-timeout-seconds", "0.4"], "timeout_idle", None),
    (["stall-after=1"], ["--request-timeout-seconds", "1"], "timeout_total", None),
    (["slow-head=1500"], ["--first-byte-timeout-seconds", "0.4"], "timeout_first_byte", None),
    (["sse-invalid-json=1"], [], OK, lambda r: r["bad_chunks"] == 1 and len(r["chunks"]) == 5),
    (["big-event=2000000"], [], OK, lambda r: len(r["chunks"]) >= 5),
    (["big-event=2000000"], ["--max-event-bytes", "100000"], "protocol", None),
    # An SSE body under a JSON content type: a 200 that cannot be parsed names its error
    # (issue 17 item 12), it no longer passes as a success with nothing in it.
    (["wrong-content-type"], [], "protocol", lambda r: r["bad_chunks"] == 1
     and r["error"]["code"] == 200 and "is not chat JSON" in r["error"]["message"]),
]
for f in ["sse-cr", "sse-crlf", "sse-comments", "sse-fields", "sse-multiline", "byte-writes",
          "chunk-ext", "tiny-chunks", "trailers", "close-delimited"]:
    cases.append(([f], [], OK, lambda r: len(r["chunks"]) == 6 and r["bad_chunks"] == 0
                  and r.get("usage", {}).get("completion_tokens") == 5))

for faults, flags, want, extra in cases:
    args = sum((["--fault", f] for f in faults), [])
    with Mock(*FAST, *args, log=False) as m:
        # a run in which every request failed exits 1 (its run dir is still complete)
        recs, run, _ = replay(trace, m.url, "--concurrency", "3", *flags,
                              expect=0 if want is OK else 1)
    check(len(recs) == 6, faults, "records:", len(recs))
    check(run["complete"] is True, faults, "run not complete")
    limit = 600.0
    for i, k in enumerate(flags):
        if k.endswith("timeout-seconds"):
            limit = min(limit, float(flags[i + 1]))
    for r in recs:
        check(err(r) == want, faults, flags, "error", r.get("error"), "wanted", want)
        if want in ("timeout_idle", "timeout_total", "timeout_first_byte"):
            check(r["t_end"] - r["t_start"] <= (limit + 1) * 1e9, faults, "ended late")
        if extra:
            check(extra(r), faults, flags, "record:", json.dumps(r)[:400])

# Non-streaming bodies with the body faults.
for f in ["close-after=1", "stall-after=1", "chunk-ext", "close-delimited"]:
    want = {"close-after=1": "closed", "stall-after=1": "timeout_idle"}.get(f)
    with Mock(*FAST, "--fault", f, log=False) as m:
        recs, run, _ = replay(nostream, m.url, "--idle-timeout-seconds", "0.4",
                              expect=0 if want is None else 1)
    for r in recs:
        check(err(r) == want, f, "non-stream error", r.get("error"))
        if want is None:
            check(len(r["chunks"]) == 1 and r["chunks"][0][1] == 5, f, r["chunks"])

# A fault on some requests only: the others succeed on reused connections.
with Mock(*FAST, "--fault", "status=503@every=3", log=False) as m:
    recs, run, _ = replay(trace, m.url, "--concurrency", "1")
bad = [r for r in recs if err(r)]
check(len(bad) == 2 and all(r["error"]["code"] == 503 for r in bad), "every=3:", len(bad))
check(run["counts"]["errors"] == 2, run["counts"])
print("faults ok")
PY
