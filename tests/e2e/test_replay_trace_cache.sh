# A trace that fits replay's cache (docs/replay.md, "The trace is read once") is parsed
# once, before the run, and cycled from memory: the run sends exactly the requests it
# validated even when the file is replaced while it runs (it used to reopen the path at
# every wrap and send whatever trace was there by then).
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
"$METRONOME" pack -m m --request-count 5 --isl 4 --osl 2 -o t.jsonl.zst 2>/dev/null
"$METRONOME" pack -m other --request-count 2 --isl 4 --osl 2 -o other.jsonl.zst 2>/dev/null
"$METRONOME" mock --port 0 --ttft 0 --itl 0 >mock.out 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening mock.out && break; sleep 0.1; done
port=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' mock.out | head -1)
[ -n "$port" ] || fail "mock did not start: $(cat mock.out)"
# --start-at holds the first send until the trace was validated (the run directory is
# made after that) and replaced.
"$METRONOME" replay t.jsonl.zst --url "127.0.0.1:$port" --concurrency 2 --request-count 15 \
    --start-at +10 -q -o run >replay.out 2>&1 &
replay=$!
for _ in $(seq 90); do [ -d run ] && break; sleep 0.1; done
[ -d run ] || fail "no run directory after 9 s"
mv other.jsonl.zst t.jsonl.zst
wait $replay || fail "replay: $(cat replay.out)"
python3 - <<'PY' || fail "records"
import json, subprocess
recs = [json.loads(l) for l in subprocess.run(["zstd", "-dcq", "run/records.jsonl.zst"],
        capture_output=True, check=True, text=True).stdout.splitlines()]
assert len(recs) == 15, len(recs)
assert all("error" not in r for r in recs), recs
assert {r["model"] for r in recs} == {"m"}, sorted({r["model"] for r in recs})
# every wrap renames the sessions (s0, s0#1, s0#2, ...): the same five, three times
assert sorted(r["conv"] for r in recs) == sorted(
    "s%d%s" % (i % 5, "#%d" % (i // 5) if i >= 5 else "") for i in range(15)), recs
PY
