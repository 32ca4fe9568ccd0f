# The mock's TTFT counts from a request's kernel arrival, not from when its worker got to
# read it. `--spin 20ms` with a stream in progress keeps the one worker busy-waiting, so
# requests sit unread for milliseconds; their arrive_ns must still fall inside the
# client's sendall() (loopback delivers there), and start_ns must equal it.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 1ms --itl 5ms --spin 20ms \
    --timing-log "$E2E_TMP/timing.jsonl" >/dev/null 2>"$E2E_TMP/err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
python3 - "$port" "$E2E_TMP/client.json" <<'PY' || fail "client"
import json, socket, sys, threading, time
port, out = int(sys.argv[1]), sys.argv[2]
def request(body, rid=None, close=False):
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
    if rid:
        head += b"X-Request-Id: %s\r\n" % rid.encode()
    if close:
        head += b"Connection: close\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body
def stream():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request(json.dumps({"messages": [{"role": "user", "content": "x"}],
                                  "stream": True, "max_tokens": 200}).encode()))
    buf = b""
    while b"[DONE]" not in buf:
        k = s.recv(65536)
        assert k
        buf += k
busy = threading.Thread(target=stream)
busy.start()
time.sleep(0.05)
res = []
body = json.dumps({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1}).encode()
for i in range(20):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = time.perf_counter_ns()
    s.sendall(request(body, "q%d" % i, close=True))
    t1 = time.perf_counter_ns()
    while s.recv(65536):
        pass
    res.append([t0, t1])
    time.sleep(0.013)
busy.join()
json.dump(res, open(out, "w"))
PY
kill -TERM $pid
wait $pid
trap - EXIT
python3 - "$E2E_TMP/client.json" "$E2E_TMP/timing.jsonl" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))
srv = {t["request_id"]: t for t in map(json.loads, open(sys.argv[2])) if t["request_id"]}
late = 0
for i, (t0, t1) in enumerate(res):
    t = srv["q%d" % i]
    assert t["start_ns"] == t["arrive_ns"], t
    # arrival inside sendall(), give or take the clock conversion
    assert t0 <= t["arrive_ns"] <= t1 + 200000, (i, t0, t["arrive_ns"], t1)
    late += t["body_ns"] - t["arrive_ns"] > 2000000
print("requests read more than 2 ms after they arrived: %d of %d" % (late, len(res)))
# without unread requests the test would prove nothing
assert late >= len(res) // 2, late
PY
