# --session-header NAME (AIPerf 0.13: the per-conversation correlation header, renamed):
# every request of a conversation carries "NAME: <session id>", the same on each of its
# turns and different between conversations, and the value is the record's "conv"; a
# --header of the same name wins (AIPerf merges the user's headers after it); without the
# option no such header is sent; a bad name is refused with one line naming the option and
# the value (exit 2) before anything is sent or written. A raw server records each head.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import os, subprocess
from replay_lib import *
from rawserver import RawServer

OK = b'{"choices":[{"message":{"content":"hello"}}],"usage":{"completion_tokens":5}}'
def answer(req):
    return [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(OK) + OK]
# 3 conversations of 2 turns (the second turn carries the live history)
trace = pack("t.jsonl.zst", "--conversation-num", "3", "--conversation-turn-mean", "2",
             "--isl", "8", "--osl", "5")

def heads(*flags, name):
    with RawServer(answer) as s:
        out = os.path.join(TMP, name)
        p = subprocess.run([BIN, "replay", trace, "--url", "127.0.0.1:%d" % s.port, "-o", out, "-q",
                            "--no-server-metrics", "--concurrency", "2", *flags],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check(p.returncode == 0, flags, p.stderr)
        return [r.head.decode() for r in s.requests], out

def values(head, name):
    """Every value of header `name` (case-insensitive) in a request head."""
    out = []
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.lower() == name.lower():
            out.append(v.strip())
    return out

# ---- the header on every request, one value per conversation ----
hs, out = heads("--session-header", "X-Session-ID", name="on")
check(len(hs) == 6, "requests", len(hs))
recs = records(out)
by_index = {}
for h in hs:
    vs = values(h, "X-Session-ID")
    check(len(vs) == 1, "one X-Session-ID per request", h)
    rid = values(h, "X-Request-Id")
    check(len(rid) == 1, "one X-Request-Id", h)
    by_index[int(rid[0])] = vs[0]
check(sorted(by_index) == [r["i"] for r in recs], by_index, [r["i"] for r in recs])
for r in recs:
    check(by_index[r["i"]] == r["conv"], "the value is the record's conv", r["i"], by_index[r["i"]], r["conv"])
convs = {}
for r in recs:
    convs.setdefault(r["conv"], []).append(r["turn"])
check(len(convs) == 3 and all(sorted(t) == [0, 1] for t in convs.values()),
      "3 conversations of 2 turns, each with its own value", convs)
check('"session_header":"X-Session-ID"' in open(os.path.join(out, "run.json")).read(), "run.json")

# ---- without it: no such header; with a --header of the same name, the user's value ----
hs, _ = heads(name="off")
check(all(not values(h, "X-Session-ID") for h in hs), "no header without the option")
hs, _ = heads("--session-header", "x-session-id", "-H", "X-Session-ID: mine", name="user")
check(all(values(h, "X-Session-ID") == ["mine"] for h in hs), "the user's header wins", hs[0])

# ---- profile passes it to replay (AIPerf's command line) ----
with RawServer(answer) as s:
    p = subprocess.run([BIN, "profile", "-m", "m", "--url", "127.0.0.1:%d" % s.port, "--ui", "none",
                        "--conversation-num", "2", "--conversation-turn-mean", "2", "--isl", "8",
                        "--osl", "5", "--no-server-metrics", "--session-header", "X-Session-ID",
                        "--artifact-dir", os.path.join(TMP, "prof")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 0, "profile", p.stderr)
    posts = [r.head.decode() for r in s.requests if r.head.startswith(b"POST")]
    vals = [values(h, "X-Session-ID") for h in posts]
    check(len(posts) == 4 and all(len(v) == 1 for v in vals) and len({v[0] for v in vals}) == 2,
          "profile: 2 sessions of 2 turns", vals)
p = subprocess.run([BIN, "profile", "-m", "m", "--url", "127.0.0.1:9", "--ui", "none",
                    "--session-header", "X Y", "--artifact-dir", os.path.join(TMP, "prof-bad")],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
check(p.returncode == 2 and "--session-header 'X Y'" in p.stderr and not os.path.exists(os.path.join(TMP, "prof-bad")),
      "profile refuses a bad name first", p.returncode, p.stderr)

# ---- a session id with a control byte: percent-encoded in the header (CR LF would end it) ----
with open("ctl.jsonl", "w") as f:
    f.write('{"session_id":"a\\r\\nX-Evil: 1%","input_length":8,"output_length":2}\n')
    f.write('{"session_id":"a\\r\\nX-Evil: 1%","input_length":8,"output_length":2}\n')
subprocess.run([BIN, "pack", "-m", "m", "-o", "ctl.jsonl.zst", "--input-file", "ctl.jsonl",
                "--custom-dataset-type", "mooncake_trace"], check=True)
trace = "ctl.jsonl.zst"
hs, _ = heads("--session-header", "X-Session-ID", name="ctl")
check(len(hs) == 2 and all(values(h, "X-Session-ID") == ["a%0D%0AX-Evil: 1%25"] for h in hs)
      and all(not values(h, "X-Evil") for h in hs), "control bytes encoded", hs)
trace = os.path.join(TMP, "t.jsonl.zst")

# ---- bad names: one line naming the option and the value, exit 2, nothing written ----
for bad, why in [("X Session", "byte 0x20"), ("", "empty"), ("Host", "writes that header itself"),
                 ("content-length", "writes that header itself"), ("a\r\nb", "byte 0x0d"),
                 ("X" * 129, "longer than 128")]:
    out = os.path.join(TMP, "bad")
    p = subprocess.run([BIN, "replay", trace, "--url", "127.0.0.1:9", "-o", out, "-q",
                        "--no-server-metrics", "--session-header", bad],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 2, repr(bad), p.returncode, p.stderr)
    check(len(lines) == 1 and "--session-header" in lines[0] and why in lines[0], repr(bad), p.stderr)
    check(not os.path.exists(out), "nothing written for", repr(bad))
print("ok")
PY
