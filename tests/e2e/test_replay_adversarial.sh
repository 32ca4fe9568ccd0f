# Adversarial servers (tests/e2e/rawserver.py writes scripted raw bytes): every response a
# server can send ends its request promptly with the right status and error type. The
# first cases are issue 17 item 1: a Content-Length: 0 response (a rate limiter's 429)
# used to hang until --request-timeout-seconds.
. "$E2E_ROOT/tests/e2e/lib.sh"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import os, subprocess, time
from replay_lib import *
from rawserver import RawServer, CLOSE, HOLD

N = 4
plain = pack("p.jsonl.zst", "--request-count", str(N), "--isl", "8", "--osl", "5")
stream = pack("s.jsonl.zst", "--streaming", "--request-count", str(N), "--isl", "8", "--osl", "5")

# A hang shows as timeout_total after TIMEOUT s; a correct answer takes milliseconds.
TIMEOUT = "15"
PROMPT_NS = 3e9

SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
def chunk(b):
    return b"%x\r\n%s\r\n" % (len(b), b)
def ev(text):
    return b'data: {"choices":[{"delta":{"content":"%s"}}]}\n\n' % text
SSE_BODY = (chunk(ev(b"a")) + chunk(ev(b"b")) + chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
OK_JSON = b'{"choices":[{"message":{"content":"hello"}}],"usage":{"completion_tokens":5}}'
def ok_plain(body=OK_JSON, extra=b""):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
            % (len(body), extra)) + body

def replay_any(trace, url, *args):
    """replay, whatever its exit status says about failed requests (issue 10 item 7 makes
    a run where every request failed exit non-zero): the run must end, complete."""
    out = os.path.join(TMP, "run-%d" % time.monotonic_ns())
    p = subprocess.run([BIN, "replay", trace, "--url", url, "-o", out, "-q", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode in (0, 1, 2), "replay exited", p.returncode, p.stderr)
    runj = json.load(open(os.path.join(out, "run.json")))
    check(runj["complete"] is True, "run not complete", p.stderr)
    return records(out), runj, p.stderr

def run(script, trace=plain, flags=(), expect=None, name=""):
    with RawServer(script) as s:
        t0 = time.monotonic()
        recs, runj, _ = replay_any(trace, s.url, "--request-timeout-seconds", TIMEOUT,
                                   "--concurrency", "2", *flags)
        wall = time.monotonic() - t0
        nreq = s.count
    check(len(recs) == N, name, "records:", len(recs))
    check(wall < 10, name, "run took %.1f s" % wall)
    for r in recs:
        check(r["t_end"] - r["t_start"] < PROMPT_NS, name, "request took",
              (r["t_end"] - r["t_start"]) / 1e9, "s:", json.dumps(r)[:300])
    return recs, nreq

def expect_all(recs, name, status, etype, code="same"):
    for r in recs:
        check(r["status"] == status, name, "status", r["status"], "wanted", status, json.dumps(r)[:300])
        check(err(r) == etype, name, "error", r.get("error"), "wanted", etype)
        if etype == "http":
            want = status if code == "same" else code
            check(r["error"]["code"] == want, name, "code", r["error"])

# ---- issue 17 item 1: bodies of length zero end with the head --------------------------
for status in (200, 201, 400, 401, 404, 429, 500, 503):
    for close in (False, True):
        head = b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n%s\r\n" % (
            status, b"Connection: close\r\n" if close else b"")
        name = "CL0 %d close=%s" % (status, close)
        recs, nreq = run(lambda req, h=head: [h], name=name, expect=1 if status != 200 else 0)
        expect_all(recs, name, status, "http" if status != 200 else None)
        if not close:   # kept alive: the connection is reused after an empty body
            check(any(r["reused"] for r in recs), name, "no connection reused")

# The same with the head arriving in two pieces and the empty body in neither.
recs, _ = run(lambda req: [b"HTTP/1.1 429 Too Many\r\nContent-Le", 0.05, b"ngth: 0\r\n\r\n"],
              name="CL0 split", expect=1)
expect_all(recs, "CL0 split", 429, "http")
# Statuses that never have a body, whatever the headers say.
for status in (204, 304):
    for extra in (b"", b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n"):
        name = "%d %r" % (status, extra)
        recs, _ = run(lambda req, s=status, e=extra: [b"HTTP/1.1 %d X\r\n%s\r\n" % (s, e)],
                      name=name, expect=1)
        expect_all(recs, name, status, "http")
        check(any(r["reused"] for r in recs), name, "no connection reused")
# Interim 1xx heads before an empty final response, in one write and split.
for steps in ([b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 X\r\nContent-Length: 0\r\n\r\n"],
              [b"HTTP/1.1 100 Continue\r\n\r\n", 0.05, b"HTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n",
               0.05, b"HTTP/1.1 429 X\r\nContent-Length: 0\r\n\r\n"]):
    recs, _ = run(lambda req, s=steps: s, name="1xx then CL0", expect=1)
    expect_all(recs, "1xx then CL0", 429, "http")
# An empty chunked body right after the head (same write, next write), any status.
for status in (200, 500):
    for steps in ([b"HTTP/1.1 %d X\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % status],
                  [b"HTTP/1.1 %d X\r\nTransfer-Encoding: chunked\r\n\r\n" % status, 0.05,
                   b"0\r\n\r\n"],
                  [b"HTTP/1.1 %d X\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" % status, 0.05,
                   b"\r\n"]):
        name = "empty chunked %d %d" % (status, len(steps))
        recs, _ = run(lambda req, s=steps: s, name=name, expect=1 if status != 200 else 0)
        expect_all(recs, name, status, "http" if status != 200 else None)
        check(any(r["reused"] for r in recs), name, "no connection reused")
# A streaming request answered with an empty 429 (the rate limiter does not care).
recs, _ = run(lambda req: [b"HTTP/1.1 429 X\r\nContent-Length: 0\r\n\r\n"], trace=stream,
              name="stream CL0", expect=1)
expect_all(recs, "stream CL0", 429, "http")
# An empty close-delimited body: ends at the close.
recs, _ = run(lambda req: [b"HTTP/1.1 503 X\r\n\r\n", CLOSE], name="close-delimited empty",
              expect=1)
expect_all(recs, "close-delimited empty", 503, "http")

# An early answer: a gateway that rate-limits from the head alone, while a large body is
# still being sent (it fills the small receive buffer and the client's send stalls). The
# 429 is recorded as a 429, and that connection is not reused.
big = pack("big.jsonl.zst", "--request-count", "2", "--isl", "2000000", "--osl", "5")
with RawServer(lambda req: [b"HTTP/1.1 429 Too Many\r\nContent-Length: 0\r\n\r\n"],
               rcvbuf=4096, head_only=True) as s:
    recs, _, _ = replay_any(big, s.url, "--request-timeout-seconds", TIMEOUT, "--concurrency", "1")
check(len(recs) == 2, "early records", len(recs))
for r in recs:
    check(r["status"] == 429 and err(r) == "http" and not r["reused"], "early 429", json.dumps(r)[:300])
    check(r["t_end"] - r["t_start"] < PROMPT_NS, "early 429 took", (r["t_end"] - r["t_start"]) / 1e9)

# ---- heads split at every byte ---------------------------------------------------------
# Request n (of 2 * len(head)) has its head split after byte n % len(head); the second half
# of the requests get a streamed body. Every split parses to the same record.
head = SSE_HEAD
M = len(head)
many = pack("m.jsonl.zst", "--streaming", "--request-count", str(M), "--isl", "8", "--osl", "5")
def split_script(req):
    k = req.n % M
    return [head[:k], 0.002, head[k:] + SSE_BODY] if k else [head + SSE_BODY]
with RawServer(split_script) as s:
    recs, _, _ = replay_any(many, s.url, "--request-timeout-seconds", TIMEOUT, "--concurrency", "8")
check(len(recs) == M, "split records", len(recs))
for r in recs:
    check(err(r) is None and r["status"] == 200 and len(r["chunks"]) == 2, "split", json.dumps(r)[:300])
plain_head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(OK_JSON)
M2 = len(plain_head) + len(OK_JSON)
many2 = pack("m2.jsonl.zst", "--request-count", str(M2), "--isl", "8", "--osl", "5")
whole = plain_head + OK_JSON
with RawServer(lambda req: [whole[:req.n % M2], 0.002, whole[req.n % M2:]]) as s:
    recs, _, _ = replay_any(many2, s.url, "--request-timeout-seconds", TIMEOUT, "--concurrency", "8")
for r in recs:
    check(err(r) is None and r["status"] == 200 and r["chunks"][0][1] == 5, "split plain",
          json.dumps(r)[:300])

# ---- bodies that disagree with their framing --------------------------------------------
# Longer than Content-Length: the request succeeds, but the connection is not reused
# (the extra bytes would be read as the next response).
recs, nreq = run(lambda req: [ok_plain() + b"GARBAGE"], name="body longer than CL")
expect_all(recs, "body longer than CL", 200, None)
check(not any(r["reused"] for r in recs), "longer than CL: a connection was reused")
# Shorter than Content-Length, then close: closed mid-body.
recs, _ = run(lambda req: [ok_plain()[:-3], CLOSE], name="body shorter than CL", expect=1)
expect_all(recs, "body shorter than CL", 200, "closed")
check(all("mid-body" in r["error"]["message"] for r in recs), recs[0]["error"])
# Garbage instead of a status line, with and without a blank line after it.
for g in (b"garbage\r\n\r\n", b"HTTP/1.1 2OO OK\r\n\r\n", b"SSH-2.0-OpenSSH_9.2\r\n", b"\x00\x01\x02"):
    recs, _ = run(lambda req, g=g: [g, HOLD], name="garbage %r" % g, expect=1)
    expect_all(recs, "garbage %r" % g, 0, "protocol")
# Closed in the middle of the head.
recs, _ = run(lambda req: [b"HTTP/1.1 200 OK\r\nContent-Le", CLOSE], name="close mid-head", expect=1)
for r in recs:
    check(err(r) == "closed" and r["status"] == 0, "close mid-head", r)
# An SSE stream cut in the middle of an event: closed, the whole events before it kept.
cut = SSE_HEAD + chunk(ev(b"a")) + chunk(ev(b"b")[:20])
recs, _ = run(lambda req: [cut, CLOSE], trace=stream, name="sse cut", expect=1)
for r in recs:
    check(err(r) == "closed" and r["status"] == 200 and len(r["chunks"]) == 1, "sse cut", r)
# Bad chunked framing.
recs, _ = run(lambda req: [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", HOLD],
              name="bad chunk", expect=1)
expect_all(recs, "bad chunk", 200, "protocol")
# An unrequested 101.
recs, _ = run(lambda req: [b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", HOLD],
              name="101", expect=1)
expect_all(recs, "101", 101, "protocol", code=101)
# A server's reason is kept whole (issue 10 item 10: vLLM's 249-byte "maximum context
# length" 400 was cut at 200 bytes in the records, so in every export).
reason = (b'{"object":"error","message":"This model\'s maximum context length is 2048 tokens. '
          + b"However, you requested 4133 tokens " + b"x" * 900 + b'. Please reduce the length.",'
          + b'"type":"BadRequestError","param":null,"code":400}')
bad = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
       % len(reason)) + reason
recs, _ = run(lambda req: [bad], name="long reason", expect=1)
expect_all(recs, "long reason", 400, "http", code=400)
for r in recs:
    check(r["error"]["message"] == reason.decode(), "long reason cut:", len(r["error"]["message"]))
# Past REC_ERROR_MSG_MAX (4 KiB) the reason is cut there, not lost.
huge = b"y" * 20000
recs, _ = run(lambda req: [b"HTTP/1.1 503 Busy\r\nContent-Length: %d\r\n\r\n%s" % (len(huge), huge)],
              name="huge reason", expect=1)
for r in recs:
    check(r["error"]["message"] == "y" * 4095, "huge reason:", len(r["error"]["message"]))
print("adversarial ok")
PY
