#!/usr/bin/env bash
# Every fault of `metronome mock`, checked on the wire: one mock per fault (--port 0, the
# port read from its listening line), raw sockets to see the exact bytes, curl for some.
. "$E2E_ROOT/tests/e2e/lib.sh"
python3 - "$METRONOME" "$E2E_TMP" <<'PY'
import json, socket, subprocess, sys, time
BIN, TMP = sys.argv[1], sys.argv[2]

class Mock:
    def __init__(self, *args):
        self.p = subprocess.Popen([BIN, "mock", "--port", "0", "--ttft", "0", "--itl", "0", "--osl", "4",
                                   "--timing-log", TMP + "/t.jsonl", *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, (line, self.p.stderr.read())
        self.port = int(line.split(":")[-1].split()[0])
    def __enter__(self):
        return self
    def __exit__(self, *a):
        self.p.terminate()
        assert self.p.wait(10) == 0

def raw(port, path="/v1/chat/completions", body=None, stream=True, timeout=5, close=True, recvs=None):
    """Sends one request; returns (head bytes, body bytes as sent on the wire) read to EOF."""
    if body is None:
        body = {"messages": [{"role": "user", "content": "hi"}], "stream": stream}
    b = json.dumps(body).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n" %
              (path.encode(), b"Connection: close\r\n" if close else b"", len(b)) + b)
    out = b""
    n = 0
    try:
        while True:
            k = s.recv(1 << 20)
            if not k:
                break
            out += k
            n += 1
    except socket.timeout:
        pass
    s.close()
    if recvs is not None:
        recvs.append(n)
    head, _, rest = out.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest

def dechunk(body, allow_ext=False):
    """Decodes chunked framing; returns (data, sizes, trailer text)."""
    data, sizes, at = b"", [], 0
    while True:
        eol = body.index(b"\r\n", at)
        line = body[at:eol].decode()
        if ";" in line:
            assert allow_ext, line
            line = line.split(";")[0]
        n = int(line, 16)
        at = eol + 2
        if n == 0:
            return data, sizes, body[at:].decode()
        sizes.append(n)
        data += body[at:at + n]
        assert body[at + n:at + n + 2] == b"\r\n"
        at += n + 2

def events(data, eol="\n"):
    """Data payloads of an SSE body written with one kind of line end."""
    out = []
    for block in data.decode().split(eol + eol):
        lines = [l[6:] for l in block.split(eol) if l.startswith("data: ")]
        if lines:
            out.append("\n".join(lines))
    return out

def content_events(evs):
    return [e for e in evs if e != "[DONE]" and '"content":"' in e and '"role"' not in e]

# status codes, by probability and by pattern
with Mock("--fault", "status=429@every=2", "--fault", "status=503@idx=1", "--fault", "status=500@p=0") as m:
    codes = []
    for i in range(4):
        head, body = raw(m.port, stream=False)
        codes.append(int(head.split()[1]))
        if codes[-1] != 200:
            e = json.loads(body)["error"]
            assert e["message"] and e["type"] and "code" in e, e
            if codes[-1] == 429:
                assert "Retry-After: 1" in head and e["code"] == "rate_limit_exceeded"
    assert codes == [429, 503, 429, 200], codes
with Mock("--fault", "status=500@p=0.5", "--seed", "3") as m:
    codes = [int(raw(m.port, stream=False)[0].split()[1]) for _ in range(40)]
    assert 8 <= codes.count(500) <= 32 and set(codes) == {200, 500}, codes
print("status: ok")

with Mock("--osl", "10", "--fault", "close-after=3") as m:
    head, body = raw(m.port, close=False)
    assert "200 OK" in head
    assert body.count(b'"content":"') == 4 and b"[DONE]" not in body, body  # role + 3
    assert not body.endswith(b"0\r\n\r\n")
print("close-after: ok")

with Mock("--osl", "10", "--fault", "stall-after=2") as m:
    t = time.time()
    head, body = raw(m.port, close=False, timeout=0.8)
    assert time.time() - t >= 0.7
    assert body.count(b'"content":"') == 3 and b"[DONE]" not in body, body
print("stall-after: ok")

with Mock("--fault", "sse-invalid-json=1") as m:
    data, _, _ = dechunk(raw(m.port)[1])
    bad = []
    for e in events(data):
        if e != "[DONE]":
            try:
                json.loads(e)
            except ValueError:
                bad.append(e)
    assert len(bad) == 1 and events(data)[-1] == "[DONE]", bad
print("sse-invalid-json: ok")

for name, eol in [("sse-cr", "\r"), ("sse-crlf", "\r\n")]:
    with Mock("--fault", name) as m:
        data, _, _ = dechunk(raw(m.port)[1])
        if eol == "\r":
            assert b"\n" not in data and data.endswith(b"\r\r"), data[:200]
        else:
            assert data.count(b"\n") == data.count(b"\r\n") and data.endswith(b"\r\n\r\n")
        evs = events(data, eol)
        assert len(evs) == 6 and evs[-1] == "[DONE]", evs
        [json.loads(e) for e in evs[:-1]]
    print(name + ": ok")

with Mock("--fault", "sse-comments", "--fault", "sse-fields") as m:
    data, _, _ = dechunk(raw(m.port)[1])
    lines = data.decode().split("\n")
    assert sum(l.startswith(":") for l in lines) == 6
    assert sum(l.startswith("id: ") for l in lines) == 6 and sum(l == "retry: 3000" for l in lines) == 6
print("sse-comments, sse-fields: ok")

with Mock("--fault", "sse-multiline") as m:
    data, _, _ = dechunk(raw(m.port)[1])
    blocks = [b for b in data.decode().split("\n\n") if b]
    assert all(b.count("data: ") > 3 for b in blocks[:-1]), blocks[0]
    evs = events(data)
    [json.loads(e) for e in evs[:-1]]
print("sse-multiline: ok")

with Mock("--fault", "byte-writes", "--ttft", "50") as m:
    # loopback delivers the one-byte segments faster than Python reads them, so the number
    # of reads is only shown; what is checked is that the stream survives the trickle
    n = []
    head, body = raw(m.port, recvs=n)
    data, _, _ = dechunk(body)
    assert events(data)[-1] == "[DONE]" and len(events(data)) == 6
    print("byte-writes: ok (%d recv calls for %d bytes)" % (n[0], len(body)))

with Mock("--fault", "big-event") as m:
    data, _, _ = dechunk(raw(m.port, timeout=20)[1])
    evs = events(data)
    sizes = sorted(len(e) for e in evs)
    assert sizes[-1] > 8 * 1024 * 1024 and sizes[-2] < 1000, sizes
    json.loads(max(evs, key=len))
print("big-event: ok (8 MiB event)")

with Mock("--fault", "chunk-ext") as m:
    body = raw(m.port)[1]
    assert b";mock=1;" in body
    data, _, _ = dechunk(body, allow_ext=True)
    assert events(data)[-1] == "[DONE]"
print("chunk-ext: ok")

with Mock("--fault", "tiny-chunks", "--fault", "trailers") as m:
    data, sizes, trailer = dechunk(raw(m.port)[1])
    assert max(sizes) <= 3 and events(data)[-1] == "[DONE]", sizes[:10]
    assert "X-Mock-Tokens: 4\r\n" in trailer and trailer.endswith("\r\n\r\n"), trailer
    head, body = raw(m.port, stream=False)
    data, sizes, _ = dechunk(body)
    assert "Transfer-Encoding: chunked" in head and json.loads(data)["object"] == "chat.completion"
print("tiny-chunks, trailers: ok")

with Mock("--fault", "slow-head=300") as m:
    t = time.time()
    s = socket.create_connection(("127.0.0.1", m.port))
    b = b'{"messages":[{"content":"a"}],"stream":true}'
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
    first = s.recv(10)
    assert first.startswith(b"HTTP/1.1") and time.time() - t >= 0.29, time.time() - t
    s.close()
print("slow-head: ok")

with Mock("--fault", "wrong-content-type") as m:
    assert "Content-Type: text/plain" in raw(m.port)[0]
    assert "Content-Type: text/plain" in raw(m.port, stream=False)[0]
print("wrong-content-type: ok")

with Mock("--fault", "close-delimited") as m:
    head, body = raw(m.port, close=False)
    h = head.lower()
    assert "connection: close" in h and "content-length" not in h and "transfer-encoding" not in h, head
    assert events(body)[-1] == "[DONE]" and len(events(body)) == 6
    head, body = raw(m.port, close=False, stream=False)
    assert "content-length" not in head.lower() and json.loads(body)["object"] == "chat.completion"
print("close-delimited: ok")

# curl's view of the faults that a real client meets
def curl(port, *args, stream=True):
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "stream": stream})
    p = subprocess.run(["curl", "-sS", "--max-time", "5", "-H", "Content-Type: application/json",
                        "http://127.0.0.1:%d/v1/chat/completions" % port, "-d", body, *args],
                       capture_output=True)  # bytes: text mode would turn CRLF into LF
    return p.returncode, p.stdout.decode()
with Mock("--fault", "status=503") as m:
    rc, out = curl(m.port, "-w", "\n%{http_code}")
    assert out.endswith("\n503") and json.loads(out.rsplit("\n", 1)[0])["error"]["code"] == "service_unavailable"
with Mock("--osl", "10", "--fault", "close-after=3") as m:
    rc, out = curl(m.port)
    assert rc == 18 and "[DONE]" not in out, rc  # 18: transfer closed with data outstanding
with Mock("--osl", "10", "--fault", "stall-after=2") as m:
    rc, out = curl(m.port, "--max-time", "1")
    assert rc == 28 and out.count("data: ") == 3, (rc, out)  # 28: timeout
for f in ["chunk-ext", "tiny-chunks", "trailers", "close-delimited", "byte-writes"]:
    with Mock("--fault", f) as m:
        rc, out = curl(m.port)
        assert rc == 0 and out.count("data: ") == 6 and out.endswith("data: [DONE]\n\n"), (f, rc, out)
with Mock("--fault", "wrong-content-type") as m:
    rc, out = curl(m.port, "-o", "/dev/null", "-w", "%{content_type}")
    assert out == "text/plain", out
with Mock("--fault", "slow-head=300") as m:
    rc, out = curl(m.port, "-o", "/dev/null", "-w", "%{time_starttransfer}")
    assert float(out) >= 0.29, out
with Mock("--fault", "sse-crlf") as m:
    rc, out = curl(m.port)
    assert out.count("\r\n\r\n") == 6, out
print("curl: ok")

# the timing log names the faults
log = [json.loads(l) for l in open(TMP + "/t.jsonl")]
assert log[0]["faults"] == ["sse-crlf"] and log[0]["outcome"] == "ok", log[0]
PY
