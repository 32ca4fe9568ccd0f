#!/usr/bin/env bash
# Bad requests get 400/404/405/413/431 with an OpenAI-style error body; garbage bytes do not
# stop the server, which keeps answering on other and on the same connections.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 0 --itl 0 --osl 2 --max-body 1000 >/dev/null 2>"$E2E_TMP/err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
url=http://127.0.0.1:$port
code() { curl -sS -o "$E2E_TMP/body" -w '%{http_code}' "$@"; }
errbody() { python3 -c "import json; e=json.load(open('$E2E_TMP/body'))['error']; assert e['message'] and e['type'] and 'code' in e and 'param' in e" || fail "not an OpenAI error body: $(cat "$E2E_TMP/body")"; }
[ "$(code "$url/v1/chat/completions" -d '{not json')" = 400 ] || fail "bad JSON"; errbody
[ "$(code "$url/v1/chat/completions" -d '{"messages":"x"}')" = 400 ] || fail "bad field"; errbody
grep -q "messages" "$E2E_TMP/body" || fail "400 does not name the field"
[ "$(code "$url/v1/chat/completions" -d '{"messages":[{"content":"a"}],"max_tokens":-1}')" = 400 ] || fail "bad max_tokens"
[ "$(code "$url/v1/nothing" -d '{}')" = 404 ] || fail "404"; errbody
[ "$(code "$url/v1/chat/completions")" = 405 ] || fail "GET on POST route"; errbody
[ "$(code -X PUT "$url/health")" = 405 ] || fail "PUT on GET route"
big=$(python3 -c "print('{\"prompt\":\"' + 'a '*800 + '\"}')")
[ "$(code "$url/v1/completions" -d "$big")" = 413 ] || fail "413"; errbody
# raw garbage on sockets, then a normal request still works
python3 - "$port" <<'PY' || fail "garbage handling"
import socket, sys
port = int(sys.argv[1])
def talk(data, shut=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the server may answer and close before reading everything
    out = b""
    while True:
        try:
            k = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not k:
            break
        out += k
    s.close()
    return out
r = talk(b"\x00\xff garbage \r\n\r\n")
assert r.startswith(b"HTTP/1.1 400 "), r[:60]
assert b'"error"' in r
r = talk(b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n")
# the answer may be lost to the reset of a socket closed with unread input
assert r == b"" or r.startswith(b"HTTP/1.1 431 ") or r.startswith(b"HTTP/1.1 400 "), r[:60]
r = talk(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
assert r.startswith(b"HTTP/1.1 400 "), r[:60]
# chunked request body, then a pipelined second request on the same connection
body = b'{"prompt":"a b","max_tokens":1}'
req = (b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
       b"%x\r\n" % 5 + body[:5] + b"\r\n" + b"%x\r\n" % (len(body) - 5) + body[5:] + b"\r\n0\r\n\r\n")
req2 = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
r = talk(req + req2)
assert r.count(b"HTTP/1.1 200 OK") == 2, r
assert b'"text_completion"' in r
# one byte at a time
s = socket.create_connection(("127.0.0.1", port), timeout=5)
for b in b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n":
    s.send(bytes([b]))
assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
s.close()
PY
[ "$(code "$url/v1/completions" -d '{"prompt":"still alive","max_tokens":1}')" = 200 ] || fail "server stopped serving"
kill -0 $pid || fail "server died"
# a second server on the busy port fails instead of silently sharing it (SO_REUSEPORT)
expect_exit 1 "$METRONOME" mock --port "$port"
grep -q "cannot listen on 127.0.0.1 port $port" "$E2E_TMP/stderr" || fail "busy port not reported"
