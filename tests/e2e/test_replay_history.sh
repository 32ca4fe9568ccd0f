# Multi-turn chat with live history, pack → replay → a stub server that logs every body:
# turn k carries every earlier turn's user message and the reply actually received, in
# order, then its own message. (The first turn's exchange used to be dropped: turn 2 went
# out with no history and turn 3 with turn 2's exchange only.)
. "$E2E_ROOT/tests/e2e/lib.sh"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import http.server
import threading
from replay_lib import *

bodies, lock = [], threading.Lock()

class Stub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock:
            bodies.append(body)
        reply = "re:" + body["messages"][-1]["content"]
        out = json.dumps({"object": "chat.completion", "choices": [{"index": 0, "message": {
            "role": "assistant", "content": reply}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
threading.Thread(target=srv.serve_forever, daemon=True).start()
try:
    src = os.path.join(TMP, "mt.jsonl")
    with open(src, "w") as f:
        for s in ("a", "b"):
            f.write(json.dumps({"session_id": s, "turns": [{"text": "%s one" % s},
                    {"text": "%s two" % s, "delay": 5}, {"text": "%s three" % s}]}) + "\n")
    t = pack("mt.jsonl.zst", "--input-file", src, "--custom-dataset-type", "multi_turn")
    recs, run, _ = replay(t, "127.0.0.1:%d" % srv.server_address[1], "--concurrency", "2")
    check(len(recs) == 6 and not any(err(r) for r in recs), "records", recs)
    # A mooncake session whose lines carry `messages` with the recorded replies: each body
    # is the whole conversation and goes out exactly as written (nothing prepended).
    mc = os.path.join(TMP, "mc.jsonl")
    conv = [[{"role": "user", "content": "c one"}],
            [{"role": "user", "content": "c one"}, {"role": "assistant", "content": "canned"},
             {"role": "user", "content": "c two"}],
            [{"role": "user", "content": "c one"}, {"role": "assistant", "content": "canned"},
             {"role": "user", "content": "c two"}, {"role": "assistant", "content": "more"},
             {"role": "user", "content": "c three"}]]
    with open(mc, "w") as f:
        for m in conv:
            f.write(json.dumps({"session_id": "c", "messages": m, "output_length": 4}) + "\n")
    t = pack("mc.jsonl.zst", "--input-file", mc, "--custom-dataset-type", "mooncake_trace")
    with lock:
        mt_bodies = list(bodies)
        del bodies[:]
    recs, run, _ = replay(t, "127.0.0.1:%d" % srv.server_address[1])
    check(len(recs) == 3 and not any(err(r) for r in recs), "mooncake records", recs)
    recorded = [b["messages"] for b in bodies]
    check(recorded == conv, "mooncake messages sent", json.dumps(recorded))
finally:
    srv.shutdown()

def u(s):
    return {"role": "user", "content": s}

def a(s):
    return {"role": "assistant", "content": "re:" + s}

for s in ("a", "b"):
    sent = [b["messages"] for b in mt_bodies if b["messages"][-1]["content"].startswith(s + " ")]
    want = [[u(s + " one")],
            [u(s + " one"), a(s + " one"), u(s + " two")],
            [u(s + " one"), a(s + " one"), u(s + " two"), a(s + " two"), u(s + " three")]]
    check(sent == want, "session", s, "sent", json.dumps(sent), "wanted", json.dumps(want))
print("history ok")
PY
