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
    # --extra-inputs (JSON and k:v, typed) and --no-streaming rewrite every body; the
    # API key reaches the server but never the run dir.
    t = pack("x.jsonl.zst", "--streaming", "--request-count", "4", "--isl", "6", "--osl", "6")
    for extra in ('{"max_completion_tokens": 2}', "max_completion_tokens:2"):
        recs, run, _ = replay(t, m.url, "--extra-inputs", extra, "--api-key", "sk-TOPSECRET",
                              "-H", "X-Api-Key:also-secret", "-H", "X-Trace:a:b", name="x")
        check(all(sum(n for _, n in r["chunks"]) == 2 for r in recs), extra, recs[0]["chunks"])
        blob = open(os.path.join(TMP, "x", "run.json")).read()
        blob += subprocess.run(["zstd", "-dc", os.path.join(TMP, "x", "records.jsonl.zst")],
                               stdout=subprocess.PIPE).stdout.decode()
        check("sk-TOPSECRET" not in blob and "also-secret" not in blob, "a secret reached disk")
        check("X-Trace:a:b" in blob, "plain header not recorded")
        subprocess.run(["rm", "-rf", os.path.join(TMP, "x")])
    # The mock answers 400 to stream_options without "stream": true, as vLLM does: a
    # --no-streaming body must lose the trace's stream_options (it used to keep it).
    recs, _, _ = replay(t, m.url, "--no-streaming")
    check(all("error" not in r for r in recs), "--no-streaming", recs[0].get("error"))
    check(all(not r["stream"] and len(r["chunks"]) == 1 for r in recs), "--no-streaming")
    # Forced on, a body packed without streaming asks for the usage chunk.
    t2 = pack("y.jsonl.zst", "--request-count", "4", "--isl", "6", "--osl", "6")
    recs, _, _ = replay(t2, m.url, "--streaming")
    check(all("error" not in r and r["stream"] and len(r["chunks"]) == 7 for r in recs),
          "--streaming", json.dumps(recs[0])[:300])
    check(all(r.get("usage", {}).get("completion_tokens", 0) >= 6 for r in recs),
          "--streaming without stream_options.include_usage", recs[0].get("usage"))
print("endpoints ok")
PY
