# A replay against a streaming server nobody here wrote: uvicorn + sse-starlette from PyPI
# (installed into a git-ignored venv), CRLF-framed events, keep-alive, a final usage chunk.
. "$E2E_ROOT/tests/e2e/lib.sh"
venv="$E2E_ROOT/.tools/venv-replay"
if ! "$venv/bin/python" -c "import uvicorn, sse_starlette" 2>/dev/null; then
    python3 -m venv "$venv" && "$venv/bin/pip" install -q uvicorn sse-starlette ||
        fail "cannot install uvicorn and sse-starlette from PyPI"
fi
port=$(free_port)
cd "$E2E_ROOT/tests/e2e"
"$venv/bin/python" -m uvicorn sse_app:app --host 127.0.0.1 --port "$port" --log-level warning \
    >"$E2E_TMP/uvicorn.log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null' EXIT
wait_port "$port"
cd "$E2E_TMP"
"$METRONOME" pack -m m --streaming --request-count 40 --isl 8 --osl 6 -o s.jsonl.zst 2>/dev/null
"$METRONOME" pack -m m --request-count 10 --isl 8 --osl 6 -o n.jsonl.zst 2>/dev/null
expect_exit 0 "$METRONOME" replay s.jsonl.zst --url "http://127.0.0.1:$port" --concurrency 8 -o s -q
expect_exit 0 "$METRONOME" replay n.jsonl.zst --url "http://127.0.0.1:$port" --concurrency 2 -o n -q
python3 - <<'PY'
import json, subprocess
def recs(d):
    out = subprocess.run(["zstd", "-dc", d + "/records.jsonl.zst"], stdout=subprocess.PIPE)
    return [json.loads(l) for l in out.stdout.decode().splitlines()]
s = recs("s")
assert len(s) == 40, len(s)
for r in s:
    assert "error" not in r, r
    assert r["status"] == 200 and r["bad_chunks"] == 0, r
    assert len(r["chunks"]) == 7 and r["chunks"][0][1] == 0, r["chunks"]   # role "" + 6 tokens
    assert r["usage"]["completion_tokens"] == 6 and r["finish"] == "length", r
    assert r["t_first"] < r["t_last"] <= r["t_end"], r
assert any(r["reused"] for r in s), "keep-alive never reused"
n = recs("n")
assert len(n) == 10 and all("error" not in r and r["chunks"][0][1] == 6 for r in n), n[0]
PY
