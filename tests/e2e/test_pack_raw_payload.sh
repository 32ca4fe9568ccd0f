# --custom-dataset-type raw_payload (AIPerf 0.13): each line a whole request body sent as
# it is (the server receives the line's bytes); a file's lines are single-turn sessions, a
# directory's *.jsonl files one multi-turn session each (sorted by name, named by the
# stem), recorded replies included (no live history); a line that is not an object with a
# "messages" array is one FILE:LINE error and nothing is written.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
M=$METRONOME
DIR="$E2E_ROOT/tests/e2e/data/raw_payload_dir"
printf '%s\n' '{"model":"x","messages":[{"role":"user","content":"one two three"}],"max_tokens":7,"temperature":0.5}' \
    '{"messages":[{"role":"user","content":"hi"}],"extra_body":{"a":[1,2]}}' > rp.jsonl
$M pack -m m -o rp.zst --input-file rp.jsonl --custom-dataset-type raw_payload 2>/dev/null
$M pack -m m -o dir.zst --input-file "$DIR" --custom-dataset-type raw-payload 2>/dev/null &&
    fail "pack takes AIPerf's snake case only (profile maps kebab case)"
$M pack -m m -o dir.zst --input-file "$DIR" --custom-dataset-type raw_payload 2>/dev/null
got=$(zstdcat dir.zst | python3 -c '
import json, sys
h = json.loads(sys.stdin.readline())
print(" ".join("%s/%d/%s" % (r["session"], r["turn"], r.get("history", "-")) for r in map(json.loads, sys.stdin) if "session" in r))')
[ "$got" = "a-solo/0/- b-chat/0/- b-chat/1/-" ] || fail "directory sessions: $got"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import os, subprocess
from replay_lib import *
from rawserver import RawServer
OK = b'{"choices":[{"message":{"content":"hello"}}],"usage":{"completion_tokens":5}}'
def answer(req):
    return [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(OK) + OK]
for trace, src in [("rp.zst", ["rp.jsonl"]),
                   ("dir.zst", [os.path.join(os.environ["E2E_ROOT"], "tests/e2e/data/raw_payload_dir", f)
                                for f in ("a-solo.jsonl", "b-chat.jsonl")])]:
    want = [l.rstrip(b"\n") for f in src for l in open(f, "rb") if l.strip()]
    with RawServer(answer) as s:
        p = subprocess.run([BIN, "replay", trace, "--url", "127.0.0.1:%d" % s.port, "-o", trace + ".run", "-q",
                            "--no-server-metrics"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check(p.returncode == 0, trace, p.stderr)
        got = [r.body for r in s.requests]
    check(got == want, trace, "bodies differ from the lines:", got, want)
print("wire ok")
PY
# bad lines: FILE:LINE, exit 1, no trace
printf '%s\n' '{"messages":[]}' '{"model":"x"}' > bad.jsonl
expect_exit 1 $M pack -m m -o bad.zst --input-file bad.jsonl --custom-dataset-type raw_payload
[ "$(cat "$E2E_TMP/stderr")" = "metronome: error: bad.jsonl:2: field 'messages': raw_payload line missing required 'messages' array (got nothing)" ] ||
    fail "bad line: $(cat "$E2E_TMP/stderr")"
[ ! -e bad.zst ] || fail "a trace was written"
mkdir empty
expect_exit 1 $M pack -m m -o e.zst --input-file empty --custom-dataset-type raw_payload
grep -q "empty: no .jsonl files in the directory" "$E2E_TMP/stderr" || fail "empty dir: $(cat "$E2E_TMP/stderr")"
# profile: AIPerf's spelling, to a report against the mock
PORT=$(free_port)
$M mock --port "$PORT" --ttft 1ms --itl 0ms --osl 4 >/dev/null 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true' EXIT
wait_port "$PORT"
$M profile -m m --url "127.0.0.1:$PORT" --input-file "$DIR" --custom-dataset-type raw-payload \
    --artifact-dir prof --ui none --no-server-metrics >/dev/null 2>"$E2E_TMP/stderr" || fail "profile: $(cat "$E2E_TMP/stderr")"
[ "$(zstdcat prof/records.jsonl.zst | grep -c '"conv":"b-chat"')" = 2 ] || fail "profile records"
echo ok
