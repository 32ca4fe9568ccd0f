#!/usr/bin/env bash
# AIPerf 0.13's readiness probe (--wait-for-model-timeout/-mode/-interval; its
# common/readiness_probe.py): before the run each --url is probed until ready. inference:
# a 1-token POST to the request URL, any status < 500; models: GET /v1/models until the
# model's id is listed; both: models, then inference. The mock's timing log shows what
# was sent, in order, on the server's clock. Out of time: exit 1, nothing sent, no run.json.
# Bad values: exit 2, one line naming the option and value, nothing written.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
port=$(free_port)
U=127.0.0.1:$port
run() { # run DIR ARGS...: exit code in $rc, stderr in err
    local dir=$1; shift
    set +e
    "$METRONOME" profile -m m1 --url "$U" --ui none --no-server-metrics --request-count 2 \
        --artifact-dir "$dir" "$@" >out 2>err
    rc=$?
    set -e
}
# probes FROM-LINE EXPECT: the non-benchmark requests after FROM-LINE, as "METHOD path:tokens"
probes() {
    sleep 0.3 # the mock flushes its log when idle
    python3 - "$@" <<'PY' || fail "timing log: $*"
import json, sys
rows = [json.loads(l) for l in open("tl.jsonl")][int(sys.argv[1]):]
got = [f'{r["method"]} {r["path"]}:{r["completion_tokens"]}' for r in rows if r["request_id"] is None]
want = sys.argv[2].split(",") if sys.argv[2] else []
assert got == want, (got, want)
bench = [r for r in rows if r["request_id"] is not None]
assert len(bench) == 2, len(bench)
# every probe before the first benchmark request
assert all(r["end_ns"] < min(b["head_ns"] for b in bench) for r in rows if r["request_id"] is None)
PY
}

# Bad values: refused before anything is packed.
for bad in "--wait-for-model-mode ready --wait-for-model-timeout 5" \
    "--wait-for-model-interval 0 --wait-for-model-timeout 5" \
    "--wait-for-model-interval x --wait-for-model-timeout 5" \
    "--wait-for-model-timeout -1" \
    "--wait-for-model-interval 2" \
    "--wait-for-model-mode models"; do
    # shellcheck disable=SC2086
    run bad $bad
    [ "$rc" = 2 ] || fail "$bad: exit $rc"
    [ "$(wc -l <err)" = 1 ] || fail "$bad: not one line: $(cat err)"
    opt=$(echo "$bad" | cut -d' ' -f1)
    grep -q -- "$opt" err || fail "$bad: error does not name $opt: $(cat err)"
    [ ! -e bad ] || fail "$bad: wrote bad/"
done
grep -q "has no effect unless --wait-for-model-timeout" err || fail "mode without a timeout: $(cat err)"

# The server comes up 1.5 s after the run starts: the inference probe retries every 0.2 s,
# then the run goes ahead (one probe answered, then the 2 requests).
(sleep 1.5; exec "$METRONOME" mock --port "$port" --ttft 1ms --itl 100us --model m1 \
    --timing-log tl.jsonl >/dev/null 2>mock.err) &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
start=$(date +%s%N)
run late --wait-for-model-timeout 30 --wait-for-model-interval 0.2
[ "$rc" = 0 ] || { cat err >&2; fail "late server: exit $rc"; }
took=$((($(date +%s%N) - start) / 1000000))
[ "$took" -ge 1400 ] || fail "late server: the run did not wait (${took} ms)"
probes 0 "POST /v1/chat/completions:1"
# probes are not requests of the run
[ "$(wc -l <late/profile_export.jsonl)" = 2 ] || fail "a probe was exported"

m=$(wc -l <tl.jsonl)
run models --wait-for-model-timeout 5 --wait-for-model-mode models
[ "$rc" = 0 ] || { cat err >&2; fail "models: exit $rc"; }
probes "$m" "GET /v1/models:0"
m=$(wc -l <tl.jsonl)
run both --wait-for-model-timeout 5 --wait-for-model-mode BOTH --endpoint-type completions
[ "$rc" = 0 ] || { cat err >&2; fail "both: exit $rc"; }
probes "$m" "GET /v1/models:0,POST /v1/completions:1"

# A model the server does not list: models mode polls until the timeout, then the run
# ends before anything is sent (4 GETs: at 0, 0.3, 0.6, 0.9 s).
m=$(wc -l <tl.jsonl)
"$METRONOME" profile -m nosuch --url "$U" --ui none --no-server-metrics --request-count 2 \
    --artifact-dir gone --wait-for-model-timeout 1 --wait-for-model-interval 0.3 \
    --wait-for-model-mode models >out 2>err && fail "unknown model: exit 0"
grep -q "timed out after 1 s waiting for model 'nosuch'" err || fail "timeout message: $(cat err)"
[ ! -e gone/run.json ] && [ ! -e gone/profile_export.jsonl ] || fail "timeout: a run was written"
sleep 0.3
python3 -c "
import json
rows = [json.loads(l) for l in open('tl.jsonl')][$m:]
assert all(r['method'] == 'GET' and r['path'] == '/v1/models' for r in rows), rows
assert 3 <= len(rows) <= 5, len(rows)" || fail "models mode polling"
echo ok
