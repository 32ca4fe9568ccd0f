#!/usr/bin/env bash
# --show-trace-timing (AIPerf 0.13): a second console table, "NVIDIA AIPerf | HTTP Trace
# Timing", with the http_req_* metrics (k6 naming), also kept in profile_export_console.txt;
# without the flag neither the table nor those rows are printed.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 1ms --itl 100us >/dev/null 2>"$E2E_TMP/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
cd "$E2E_TMP"
export COLUMNS=200
expect_exit 0 "$METRONOME" profile -m m --url "127.0.0.1:$port" --request-count 5 \
    --no-server-metrics --show-trace-timing --output-artifact-dir on
for want in "NVIDIA AIPerf | HTTP Trace Timing" "HTTP Waiting (TTFB) (ms)" "HTTP Connecting (ms)" \
    "HTTP Sending (ms)" "HTTP Receiving (ms)" "HTTP Total Time (ms)" "HTTP Data Received (KB)"; do
    grep -qF "$want" "$E2E_TMP/stdout" || fail "no '$want' on the console"
    grep -qF "$want" on/profile_export_console.txt || fail "no '$want' in profile_export_console.txt"
done
expect_exit 0 "$METRONOME" profile -m m --url "127.0.0.1:$port" --request-count 5 \
    --no-server-metrics --output-artifact-dir off
! grep -q "HTTP Trace Timing\|HTTP Waiting" "$E2E_TMP/stdout" || fail "trace timing shown without the flag"
