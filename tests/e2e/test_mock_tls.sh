#!/usr/bin/env bash
# HTTPS: --tls-self-signed DIR makes a CA and a server certificate and serves with them;
# curl trusting DIR/ca.pem gets every kind of reply, curl trusting nothing is refused;
# --tls --cert --key serves a given pair; half-given TLS options are usage errors.
. "$E2E_ROOT/tests/e2e/lib.sh"
pki=$E2E_TMP/pki
mkdir -p "$pki"
port=$(free_port)
"$METRONOME" mock --port "$port" --tls-self-signed "$pki" --ttft 1 --itl 0 --osl 5 \
    >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
grep -q "listening on https://127.0.0.1:$port" "$E2E_TMP/out" || fail "no https listening line"
for f in ca.pem server.pem server.key; do [ -s "$pki/$f" ] || fail "missing $f"; done
[ "$(stat -c %a "$pki/server.key")" = 600 ] || fail "server.key is not 0600"
u=https://localhost:$port
c() { curl -sS --max-time 10 --cacert "$pki/ca.pem" "$@"; }
c "$u/v1/chat/completions" -d '{"messages":[{"content":"a"}],"stream":true}' >"$E2E_TMP/s"
[ "$(grep -c '^data: ' "$E2E_TMP/s")" = 7 ] || fail "TLS stream: $(cat "$E2E_TMP/s")"
tail -2 "$E2E_TMP/s" | grep -q '^data: \[DONE\]$' || fail "TLS stream end"
c "$u/v1/completions" -d '{"prompt":"a","max_tokens":50000}' | python3 -c "import json,sys; j=json.load(sys.stdin); assert j['usage']['completion_tokens']==50000" || fail "large TLS body"
c "https://127.0.0.1:$port/health" -o /dev/null -w '%{http_code}' | grep -qx 200 || fail "IP SAN"
if curl -sS --max-time 5 "$u/health" 2>/dev/null; then fail "an untrusted certificate was accepted"; fi
kill -TERM $pid; wait $pid
"$METRONOME" mock --port "$port" --tls --cert "$pki/server.pem" --key "$pki/server.key" >/dev/null 2>&1 &
pid=$!
wait_port "$port"
c "$u/v1/models" | grep -q '"object":"list"' || fail "--tls --cert --key"
kill -TERM $pid; wait $pid
trap - EXIT
expect_exit 2 "$METRONOME" mock --tls --cert "$pki/server.pem"
expect_exit 2 "$METRONOME" mock --key "$pki/server.key"
expect_exit 1 "$METRONOME" mock --port "$port" --tls --cert "$pki/ca.pem" --key "$pki/server.key"
grep -q "does not match" "$E2E_TMP/stderr" || fail "mismatched key not explained: $(cat "$E2E_TMP/stderr")"
