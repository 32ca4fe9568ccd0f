#!/usr/bin/env bash
# --export-level raw (AIPerf 0.13): profile_export_raw.jsonl, one line per request (warmup
# and failed ones too) with the keys and JSON types of AIPerf's own lines
# (testdata/aiperf/http_trace, captured against the mock): the metadata of the
# profile_export.jsonl line, the request headers (the --api-key <redacted>), the status, every
# SSE event (or the body) with its monotonic time inside the request, and the body sent.
# Streaming and not; without it no raw file and no body in the records; a bad level refused.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 2ms --itl 200us --fault status=503@every=4+1 \
    >/dev/null 2>"$E2E_TMP/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
cd "$E2E_TMP"
ref="$E2E_ROOT/testdata/aiperf/http_trace"
secret="sk-e2eSECRETraw77"

for mode in stream nostream; do
    flag=--streaming
    [ $mode = nostream ] && flag=
    expect_exit 0 "$METRONOME" profile -m m --url "127.0.0.1:$port" $flag --request-count 9 \
        --warmup-request-count 2 --concurrency 2 --synthetic-input-tokens-mean 20 \
        --output-tokens-mean 8 --api-key "$secret" --no-server-metrics --export-level raw \
        --output-artifact-dir "$mode"
    python3 - "$mode" "$ref/${mode}_profile_export_raw.jsonl" "$secret" <<'EOF' || fail "$mode"
import json, sys, glob, os, subprocess
d, ref_file, secret = sys.argv[1], sys.argv[2], sys.argv[3]
streaming = d == "stream"
def fail(m):
    sys.exit("FAIL: %s: %s" % (d, m))
ref = json.loads(open(ref_file).readline())
ty = lambda v: type(v).__name__
raw = [json.loads(l) for l in open(os.path.join(d, "profile_export_raw.jsonl"))]
main = [json.loads(l) for l in open(os.path.join(d, "profile_export.jsonl"))]
if len(raw) != len(main) or len(raw) != 11:
    fail("%d raw lines, %d profile lines, want 11" % (len(raw), len(main)))
if any("trace_data" in l for l in main):
    fail("trace_data without --export-http-trace")
errors = 0
for l, p in zip(raw, main):
    if l["metadata"] != p["metadata"]:
        fail("metadata differs from profile_export.jsonl's")
    allowed = set(ref) | {"error"}
    if set(l) - allowed:
        fail("keys AIPerf does not write: %s" % sorted(set(l) - allowed))
    for k in ref:
        if k not in l:
            fail("no %s" % k)
        if ty(l[k]) != ty(ref[k]):
            fail("%s is %s, AIPerf writes %s" % (k, ty(l[k]), ty(ref[k])))
    if set(l["request_headers"]) - set(ref["request_headers"]) - {"X-Request-Id"}:
        fail("headers AIPerf does not list: %s" % l["request_headers"])
    if l["request_headers"]["Authorization"] != "<redacted>":
        fail("Authorization not redacted")
    pl = l["payload"]
    if pl.get("model") != "m" or not pl.get("messages") or bool(pl.get("stream")) != streaming:
        fail("payload %s" % pl)
    rs = l["responses"]
    if not rs:
        fail("no responses")
    ts = [r["perf_ns"] for r in rs]
    if ts != sorted(ts) or ts[0] < l["start_perf_ns"]:
        fail("response times out of order or before the start")
    m = l["metadata"]
    if ts[-1] - l["start_perf_ns"] > m["request_end_ns"] - m["request_start_ns"]:
        fail("responses after the request's end")
    if l.get("error"):
        errors += 1
        if l["status"] != 503 or l["error"] != p["error"] or "text" not in rs[0] or \
                "Rate limit" not in rs[0]["text"] and "overloaded" not in rs[0]["text"]:
            fail("an HTTP error line: %s" % l)
        continue
    if l["status"] != 200:
        fail("status %s" % l["status"])
    if streaming:
        kinds = [set(r) for r in rs]
        if any(k != set(ref["responses"][0]) for k in kinds):
            fail("SSE entries keyed %s, AIPerf %s" % (kinds[0], set(ref["responses"][0])))
        data = [pk["value"] for r in rs for pk in r["packets"] if pk["name"] == "data"]
        if data[-1] != "[DONE]":
            fail("the last event is not [DONE]")
        text = "".join((json.loads(x)["choices"] or [{}])[0].get("delta", {}).get("content") or ""
                       for x in data[:-1])
        if len(text.split()) < 1:
            fail("no text in the events")
    else:
        if len(rs) != 1 or set(rs[0]) != set(ref["responses"][0]):
            fail("non-streaming responses %s" % rs)
        json.loads(rs[0]["text"])["choices"][0]["message"]["content"]
        if rs[0]["content_type"] != "application/json":
            fail("content_type %s" % rs[0]["content_type"])
if not errors:
    fail("no error line")
if {l["metadata"]["benchmark_phase"] for l in raw} != {"warmup", "profiling"}:
    fail("phases")
for p in glob.glob(os.path.join(d, "**", "*"), recursive=True):
    if os.path.isdir(p):
        continue
    data = open(p, "rb").read()
    if p.endswith(".zst"):
        data = subprocess.run(["zstd", "-dc", p], capture_output=True).stdout
    if secret.encode() in data:
        fail("the API key is in %s" % p)
EOF
done
# both options: both files, trace_data in the profile lines
expect_exit 0 "$METRONOME" profile -m m --url "127.0.0.1:$port" --streaming --request-count 3 \
    --api-key "$secret" --no-server-metrics --export-level raw --export-http-trace \
    --output-artifact-dir both
[ "$(grep -c trace_data both/profile_export.jsonl)" = 3 ] || fail "trace_data with both options"
[ "$(wc -l <both/profile_export_raw.jsonl)" = 3 ] || fail "raw lines with both options"

# without it: no raw file, no body or events in the records
expect_exit 0 "$METRONOME" profile -m m --url "127.0.0.1:$port" --streaming --request-count 3 \
    --api-key "$secret" --no-server-metrics --output-artifact-dir off
[ ! -e off/profile_export_raw.jsonl ] || fail "raw file without --export-level raw"
! zstd -dc off/records.jsonl.zst | grep -q '"payload"' || fail "bodies recorded without raw"

# a level AIPerf does not have: one line naming option and value, exit 2, nothing written
expect_exit 2 "$METRONOME" profile -m m --url "127.0.0.1:$port" --request-count 1 \
    --export-level rawest --output-artifact-dir bad
grep -q -- "--export-level.*rawest" "$E2E_TMP/stderr" || fail "message: $(cat "$E2E_TMP/stderr")"
[ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "more than one line: $(cat "$E2E_TMP/stderr")"
[ ! -e bad ] || fail "a refused run wrote bad/"
