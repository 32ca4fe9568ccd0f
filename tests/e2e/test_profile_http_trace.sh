#!/usr/bin/env bash
# --export-http-trace (AIPerf 0.13): each profile_export.jsonl line gains a trace_data object
# with the keys and JSON types of AIPerf's own lines (testdata/aiperf/http_trace, captured
# from AIPerf 0.13 against the mock), times that follow the request's order and lie inside
# it, byte counts that add up, and the --api-key redacted in every file. Streaming and not,
# warmup and error lines too; without the option neither the records nor the export change.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
# every 4th request (from index 1) is a 503: an error line with a response but no exception
"$METRONOME" mock --port "$port" --ttft 2ms --itl 200us --fault status=503@every=4+1 \
    >/dev/null 2>"$E2E_TMP/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
cd "$E2E_TMP"
ref="$E2E_ROOT/testdata/aiperf/http_trace"
secret="sk-e2eSECRETvalue42"

check() { # DIR STREAMING(1|0) REFERENCE_LINE_FILE
    python3 - "$1" "$2" "$3" "$port" "$secret" <<'EOF'
import json, sys, glob, os, subprocess
d, streaming, ref_file, port, secret = sys.argv[1], sys.argv[2] == "1", sys.argv[3], int(sys.argv[4]), sys.argv[5]
def fail(m):
    sys.exit("FAIL: " + m)
# every key AIPerf 0.13's aiohttp trace export model can write (fields and computed fields)
MODEL = {"trace_type", "request_send_start_ns", "request_headers", "request_headers_sent_ns",
         "request_chunks", "request_send_end_ns", "request_chunks_count", "request_bytes_total",
         "response_status_code", "response_reason", "response_receive_start_ns",
         "response_headers", "response_headers_received_ns", "response_chunks",
         "response_chunks_count", "response_bytes_total", "response_receive_end_ns",
         "error_timestamp_ns", "connection_pool_wait_start_ns", "connection_pool_wait_end_ns",
         "tcp_connect_start_ns", "tcp_connect_end_ns", "connection_reused_ns",
         "dns_cache_hit_ns", "dns_cache_miss_ns", "dns_lookup_start_ns", "dns_lookup_end_ns",
         "local_ip", "local_port", "remote_ip", "remote_port", "sending_ns", "waiting_ns",
         "receiving_ns", "duration_ns", "blocked_ns", "dns_lookup_ns", "connecting_ns"}
ref = json.loads(open(ref_file).readline())["trace_data"]
ty = lambda v: type(v).__name__
lines = [json.loads(l) for l in open(os.path.join(d, "profile_export.jsonl"))]
if not lines:
    fail("no lines")
phases, errors, fresh, reused = set(), 0, 0, 0
for l in lines:
    if "trace_data" not in l or not isinstance(l["trace_data"], dict):
        fail("a line without trace_data: %s" % l["metadata"])
    t, m = l["trace_data"], l["metadata"]
    phases.add(m["benchmark_phase"])
    extra = set(t) - MODEL
    if extra:
        fail("keys AIPerf does not define: %s" % sorted(extra))
    for k, v in t.items():
        if v is None:
            fail("%s is null (AIPerf leaves unset fields out)" % k)
        if k in ref and ty(v) != ty(ref[k]):
            fail("%s is %s, AIPerf writes %s" % (k, ty(v), ty(ref[k])))
    if t["trace_type"] != "aiohttp":
        fail("trace_type %r" % t["trace_type"])
    # the request's headers as sent, the key redacted
    h = t["request_headers"]
    if h.get("Authorization") != "<redacted>":
        fail("Authorization not redacted: %r" % h.get("Authorization"))
    if h.get("Accept") != ("text/event-stream" if streaming else "application/json"):
        fail("Accept %r" % h.get("Accept"))
    if int(h["Content-Length"]) != t["request_bytes_total"]:
        fail("Content-Length %s, request_bytes_total %s" % (h["Content-Length"], t["request_bytes_total"]))
    # byte counts add up
    rq, rs = t["request_chunks"], t["response_chunks"]
    if sum(c[1] for c in rq) != t["request_bytes_total"] or len(rq) != t["request_chunks_count"]:
        fail("request chunks %s do not make %d bytes in %d" % (rq, t["request_bytes_total"], t["request_chunks_count"]))
    if sum(c[1] for c in rs) != t["response_bytes_total"] or len(rs) != t["response_chunks_count"]:
        fail("response chunks do not add up")
    if t["remote_ip"] != "127.0.0.1" or t["remote_port"] != port or t["local_ip"] != "127.0.0.1" \
            or not 1 <= t["local_port"] <= 65535:
        fail("addresses %s:%s -> %s:%s" % (t["local_ip"], t["local_port"], t["remote_ip"], t["remote_port"]))
    # the phases in order, inside the request
    start, end = m["request_start_ns"], m["request_end_ns"]
    seq = ["request_send_start_ns", "tcp_connect_start_ns", "tcp_connect_end_ns",
           "request_headers_sent_ns", "request_send_end_ns", "response_headers_received_ns",
           "response_receive_start_ns", "response_receive_end_ns"]
    got = [(k, t[k]) for k in seq if k in t]
    for (ka, a), (kb, b) in zip(got, got[1:]):
        if a > b:
            fail("%s %d after %s %d" % (ka, a, kb, b))
    if got[0][1] < start or got[-1][1] > end:
        fail("trace times outside the request [%d, %d]: %s" % (start, end, got))
    for lst in (rq, rs):
        ts = [c[0] for c in lst]
        if ts != sorted(ts) or (ts and (ts[0] < start or ts[-1] > end)):
            fail("chunk times out of order or outside the request")
    if rq and rq[-1][0] != t["request_send_end_ns"]:
        fail("request_send_end_ns is not the last write")
    if rs and (rs[0][0] != t["response_receive_start_ns"] or rs[-1][0] != t["response_receive_end_ns"]):
        fail("response receive start/end are not the first/last read")
    # AIPerf's computed durations
    if t["sending_ns"] != t["request_send_end_ns"] - t["request_send_start_ns"]:
        fail("sending_ns")
    if t["waiting_ns"] != t["response_receive_start_ns"] - t["request_send_end_ns"]:
        fail("waiting_ns")
    if t["duration_ns"] != t["response_receive_end_ns"] - t["request_send_start_ns"]:
        fail("duration_ns")
    want_rcv = 0 if len(rs) == 1 else t["response_receive_end_ns"] - t["response_receive_start_ns"]
    if t["receiving_ns"] != want_rcv:
        fail("receiving_ns")
    if len(rs) > 1 and t["sending_ns"] + t["waiting_ns"] + t["receiving_ns"] != t["duration_ns"]:
        fail("sending + waiting + receiving != duration")
    if ("tcp_connect_start_ns" in t) == ("connection_reused_ns" in t):
        fail("a connection is either opened for the request or reused")
    if "tcp_connect_start_ns" in t:
        fresh += 1
        if t["connecting_ns"] != t["tcp_connect_end_ns"] - t["tcp_connect_start_ns"]:
            fail("connecting_ns")
    else:
        reused += 1
    if l.get("error"):
        errors += 1
        if t["response_status_code"] != 503 or "error_timestamp_ns" in t:
            fail("an HTTP error has its status and no exception time: %s" % t)
    else:
        if t["response_status_code"] != 200 or t["response_reason"] != "OK":
            fail("status %s %s" % (t["response_status_code"], t.get("response_reason")))
        if streaming and t["response_headers"].get("Content-Type") != "text/event-stream":
            fail("response headers %s" % t["response_headers"])
        # which connection keys a line has depends on its connection, not on the client
        conn_keys = {"connecting_ns", "tcp_connect_start_ns", "tcp_connect_end_ns",
                     "connection_reused_ns"}
        missing = set(ref) - set(t) - conn_keys
        if missing:
            fail("keys AIPerf wrote and metronome did not: %s" % sorted(missing))
if phases != {"warmup", "profiling"}:
    fail("phases %s" % phases)
if not errors or not fresh or not reused:
    fail("want error, fresh and reused lines: %d %d %d" % (errors, fresh, reused))
# the key is in no file the run wrote (compressed ones read decompressed)
for p in glob.glob(os.path.join(d, "**", "*"), recursive=True):
    if os.path.isdir(p):
        continue
    data = open(p, "rb").read()
    if p.endswith(".zst"):
        data = subprocess.run(["zstd", "-dc", p], capture_output=True).stdout
    if secret.encode() in data:
        fail("the API key is in %s" % p)
EOF
}

for mode in stream nostream; do
    flag=--streaming
    [ $mode = nostream ] && flag=
    expect_exit 0 "$METRONOME" profile -m m --url "127.0.0.1:$port" $flag --request-count 9 \
        --warmup-request-count 2 --concurrency 2 --synthetic-input-tokens-mean 20 \
        --output-tokens-mean 8 --api-key "$secret" --no-server-metrics --export-http-trace \
        --output-artifact-dir "$mode"
    check "$mode" "$([ $mode = stream ] && echo 1 || echo 0)" "$ref/${mode}_profile_export.jsonl" ||
        fail "$mode"
done
zstd -dc stream/records.jsonl.zst | grep -q '"http":{' || fail "records without their http object"

# without the option: no trace_data, no http object in the records, the same line keys
expect_exit 0 "$METRONOME" profile -m m --url "127.0.0.1:$port" --streaming --request-count 9 \
    --warmup-request-count 2 --concurrency 2 --synthetic-input-tokens-mean 20 \
    --output-tokens-mean 8 --api-key "$secret" --no-server-metrics --output-artifact-dir off
! grep -q trace_data off/profile_export.jsonl || fail "trace_data without --export-http-trace"
! zstd -dc off/records.jsonl.zst | grep -q '"http":{' || fail "http object without the option"
python3 - <<'EOF' || fail "the export's keys changed"
import json
a = [sorted(k for k in json.loads(l) if k != "trace_data") for l in open("stream/profile_export.jsonl")]
b = [sorted(json.loads(l)) for l in open("off/profile_export.jsonl")]
assert a == b, (a[:1], b[:1])
EOF

# --export-http-trace takes no value
rm -rf bad
expect_exit 2 "$METRONOME" profile -m m --url "127.0.0.1:$port" --request-count 1 \
    --export-http-trace=yes --output-artifact-dir bad
grep -q -- "--export-http-trace" "$E2E_TMP/stderr" || fail "message does not name the option"
[ ! -e bad ] || fail "a refused run wrote bad/"
