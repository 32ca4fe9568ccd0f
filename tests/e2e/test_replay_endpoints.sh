# Every endpoint type the mock serves, streamed and not: content events, usage, finish
# reason and reasoning tokens land in the records.
. "$E2E_ROOT/tests/e2e/lib.sh"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
from replay_lib import *

with Mock("--ttft", "1ms", "--itl", "1ms", "--osl", "6", "--reasoning-tokens", "3", log=False) as m:
    for ep, stream, want_chunks in (("chat", True, 7), ("chat", False, 1), ("completions", True, 6),
                                    ("completions", False, 1), ("responses", True, 6),
                                    ("responses", False, 1), ("embeddings", False, 1)):
        args = ["--endpoint-type", ep, "--request-count", "5", "--isl", "6"]
        if stream:
            args.append("--streaming")
        t = pack("%s-%d.jsonl.zst" % (ep, stream), *args)
        recs, run, _ = replay(t, m.url, "--concurrency", "2")
        check(len(recs) == 5, ep, stream, len(recs))
        for r in recs:
            check("error" not in r and r["bad_chunks"] == 0, ep, stream, json.dumps(r)[:300])
            check(len(r["chunks"]) == want_chunks, ep, stream, "chunks", len(r["chunks"]))
            if ep != "embeddings":
                check(r.get("usage", {}).get("completion_tokens", 0) >= 6 or not stream, ep, r.get("usage"))
            if ep == "chat" and stream:
                check(len(r.get("rchunks", [])) == 3, "reasoning chunks", r.get("rchunks"))
                first_text = min(t for t, n in r["chunks"] if n > 0)
                check(r["rchunks"][-1][0] <= first_text, "reasoning before content")
            if ep == "chat" and not stream:
                check(r["chunks"][0][1] == 9 or r["chunks"][0][1] == 6, "credited tokens", r["chunks"])
print("endpoints ok")
PY
