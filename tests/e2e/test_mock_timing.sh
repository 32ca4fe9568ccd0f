#!/usr/bin/env bash
# TTFT and ITL accuracy at --ttft 50ms --itl 5ms, from the client side (a standard-library
# Python client stamping each recv() with CLOCK_MONOTONIC, and curl's total time) and from
# the server's own timing log. Prints the medians; fails above MOCK_TIMING_TOL_US (default
# 2000 us, loose for a loaded shared CI machine; the target on a quiet machine is 200 us).
. "$E2E_ROOT/tests/e2e/lib.sh"
tol=${MOCK_TIMING_TOL_US:-2000}
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 50ms --itl 5ms --osl 20 ${MOCK_SPIN:+--spin $MOCK_SPIN} --timing-log "$E2E_TMP/timing.jsonl" \
    >/dev/null 2>"$E2E_TMP/err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
python3 - "$port" "$E2E_TMP/client.json" <<'PY' || fail "client"
import json, socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
body = json.dumps({"messages": [{"role": "user", "content": "hi"}], "stream": True, "max_tokens": 20}).encode()
res = []
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(20):
    req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"X-Request-Id: t%d\r\nContent-Length: %d\r\n\r\n" % (i, len(body)) + body)
    t0 = time.perf_counter_ns()
    s.sendall(req)
    sent = time.perf_counter_ns()
    times, buf = [], b""
    while b"data: [DONE]" not in buf:
        k = s.recv(65536)
        now = time.perf_counter_ns()
        assert k
        # every content event in this read arrived at `now`
        times += [now] * k.count(b'"delta":{"content":"')
        buf += k
    # drain the terminating chunk
    while not buf.endswith(b"0\r\n\r\n"):
        buf += s.recv(65536)
    res.append({"rid": "t%d" % i, "send": t0, "sent": sent, "times": times})
json.dump(res, open(out, "w"))
PY
# curl: the whole 20-token stream takes TTFT + 19 ITL = 145 ms
curl_total=$(curl -sS -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/v1/chat/completions" \
    -d '{"messages":[{"role":"user","content":"x"}],"stream":true,"max_tokens":20}')
kill -TERM $pid
wait $pid
trap - EXIT
python3 - "$E2E_TMP/client.json" "$E2E_TMP/timing.jsonl" "$tol" "$curl_total" <<'PY'
import json, statistics as st, sys
client = {r["rid"]: r for r in json.load(open(sys.argv[1]))}
tol, curl_total = float(sys.argv[3]), float(sys.argv[4])
srv = [json.loads(l) for l in open(sys.argv[2])]
srv = {r["request_id"]: r for r in srv if r["request_id"]}
ttft_s, itl_s, ttft_c, itl_c, add, late = [], [], [], [], [], []
for rid, c in client.items():
    s = srv[rid]
    ch = [t for t, _ in s["chunks"]]
    assert len(ch) == 20 and len(c["times"]) == 20, (len(ch), len(c["times"]))
    ttft_s.append((ch[0] - s["start_ns"]) / 1e3 - 50000)
    itl_s += [(b - a) / 1e3 - 5000 for a, b in zip(ch, ch[1:])]
    ttft_c.append((c["times"][0] - c["send"]) / 1e3 - 50000)
    itl_c += [(b - a) / 1e3 - 5000 for a, b in zip(c["times"], c["times"][1:])]
    add.append((c["times"][0] - ch[0]) / 1e3)  # same clock: server write -> client recv
    # The TTFT counts from the request's kernel arrival, which happens inside the client's
    # sendall() on loopback; the mock parsed it after that.
    assert s["start_ns"] == s["arrive_ns"], (rid, s["start_ns"], s["arrive_ns"])
    # Never before the send; usually within it (the median below), but a loaded machine can
    # leave the loopback softirq to ksoftirqd for milliseconds (2.8 ms seen once at load 3).
    assert c["send"] <= s["arrive_ns"] <= c["sent"] + 50_000_000, (rid, c["send"], s["arrive_ns"], c["sent"])
    late.append((s["arrive_ns"] - c["sent"]) / 1e3)
    assert s["arrive_ns"] <= s["body_ns"], (rid, s["arrive_ns"], s["body_ns"])
med = lambda v: st.median(v)
assert med(late) <= 200, ("request arrival stamps: median %.1f us after sendall returned" % med(late), late)
print("server log: TTFT error median %+.1f us, ITL error median %+.1f us (p90 |err| %.1f us)" %
      (med(ttft_s), med(itl_s), sorted(abs(x) for x in itl_s)[int(0.9 * len(itl_s))]))
print("client:     TTFT error median %+.1f us, ITL error median %+.1f us" % (med(ttft_c), med(itl_c)))
print("server write -> client recv of the first event: median %.1f us" % med(add))
print("curl: 20-token stream total %.2f ms (expected 145 ms)" % (curl_total * 1e3))
bad = [n for n, v in [("server TTFT", med(ttft_s)), ("server ITL", med(itl_s)),
                      ("client TTFT", med(ttft_c)), ("client ITL", med(itl_c))] if abs(v) > tol]
if bad or abs(curl_total * 1e3 - 145) > 20:
    sys.exit("timing outside tolerance (%s us): %s" % (tol, bad or "curl total"))
PY
