# TLS against a server nobody here wrote: nginx from Debian terminating TLS in front of the
# mock, with certificates made by openssl. Verification is on by default: expired,
# wrong-host and untrusted-root certificates are refused before the run starts with one
# line; --insecure connects anyway, warns, and says so in run.json.
. "$E2E_ROOT/tests/e2e/lib.sh"
command -v nginx >/dev/null || "$E2E_ROOT/scripts/ensure-deb" nginx-light || fail "nginx not installed and cannot be installed"
cd "$E2E_TMP"
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
sign() { # NAME SAN CAKEY CAPEM
    ec "$1.key"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
    printf 'subjectAltName=%s\n' "$2" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$4" -CAkey "$3" -CAcreateserial -out "$1.pem" -days 10 \
        -extfile "$1.ext" 2>/dev/null
}
ec ca.key && openssl req -x509 -new -key ca.key -out ca.pem -days 30 -subj /CN=test-ca 2>/dev/null
ec other.key && openssl req -x509 -new -key other.key -out other.pem -days 30 -subj /CN=other 2>/dev/null
sign good "DNS:localhost,IP:127.0.0.1" ca.key ca.pem
sign wronghost "DNS:other.example" ca.key ca.pem
sign untrusted "DNS:localhost,IP:127.0.0.1" other.key other.pem
mkdir -p db && : >db/index && echo 01 >db/serial
printf '[ca]\ndefault_ca=d\n[d]\ndatabase=db/index\nserial=db/serial\nnew_certs_dir=db\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n' >ca.cnf
ec expired.key
openssl req -new -key expired.key -out expired.csr -subj /CN=expired \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
    -startdate 20200101000000Z -enddate 20200201000000Z 2>/dev/null

"$METRONOME" mock --port 0 --ttft 2ms --itl 1ms >mock.out 2>&1 &
mock=$!
for _ in $(seq 50); do grep -q listening mock.out && break; sleep 0.1; done
mport=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' mock.out | head -1)
p1=$(free_port) p2=$(free_port) p3=$(free_port) p4=$(free_port)
srv() { echo "server { listen 127.0.0.1:$1 ssl; ssl_certificate $PWD/$2.pem; ssl_certificate_key $PWD/$2.key;
  location / { proxy_pass http://127.0.0.1:$mport; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; } }"; }
cat >nginx.conf <<CONF
daemon off; master_process off; worker_processes 1;
error_log $PWD/error.log; pid $PWD/nginx.pid;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $PWD/b; proxy_temp_path $PWD/p;
  fastcgi_temp_path $PWD/f; uwsgi_temp_path $PWD/u; scgi_temp_path $PWD/s;
  $(srv $p1 good) $(srv $p2 expired) $(srv $p3 wronghost) $(srv $p4 untrusted) }
CONF
nginx -c "$PWD/nginx.conf" -e "$PWD/error.log" &
ngx=$!
trap 'kill $mock $ngx 2>/dev/null' EXIT
wait_port "$p1"

"$METRONOME" pack -m m --streaming --request-count 20 --isl 8 --osl 5 -o t.jsonl.zst 2>/dev/null
expect_exit 0 "$METRONOME" replay t.jsonl.zst --url "https://localhost:$p1" --ca-file ca.pem \
    --concurrency 4 -o good -q
python3 - <<'PY'
import json, subprocess
recs = [json.loads(l) for l in subprocess.run(["zstd", "-dc", "good/records.jsonl.zst"],
        stdout=subprocess.PIPE).stdout.decode().splitlines()]
assert len(recs) == 20, len(recs)
for r in recs:
    assert "error" not in r and len(r["chunks"]) == 6, r
    if not r["reused"]:
        assert r["t_tls"] > r["t_connected"] >= r["t_start"], r
run = json.load(open("good/run.json"))
assert run["insecure"] is False
PY
for bad in "$p2:expired" "$p3:not valid for host name" "$p4:not signed by a trusted CA"; do
    port=${bad%%:*} msg=${bad#*:}
    expect_exit 1 "$METRONOME" replay t.jsonl.zst --url "https://localhost:$port" --ca-file ca.pem -o "bad$port" -q
    grep -q "$msg" "$E2E_TMP/stderr" || { cat "$E2E_TMP/stderr"; fail "port $port: wanted '$msg'"; }
    [ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "more than one line"
done
# Without --ca-file the system bundle does not know our CA either.
expect_exit 1 "$METRONOME" replay t.jsonl.zst --url "https://localhost:$p1" -o sys -q
grep -q "trusted CA" "$E2E_TMP/stderr" || fail "system bundle accepted a test CA"
expect_exit 0 "$METRONOME" replay t.jsonl.zst --url "https://localhost:$p4" --insecure -o insec -q --request-count 4
grep -q "warning: --insecure" "$E2E_TMP/stderr" || fail "no --insecure warning"
grep -q '"insecure":true' insec/run.json || fail "insecure not recorded"

# The mock's own HTTPS with its self-signed CA: every request streams over TLS, faults too.
mkdir -p pki
mp=$(free_port)
"$METRONOME" mock --port "$mp" --tls-self-signed pki --ttft 1ms --itl 1ms \
    --fault close-after=2@every=5 >mock-tls.out 2>&1 &
mt=$!
trap 'kill $mock $ngx $mt 2>/dev/null' EXIT
wait_port "$mp"
expect_exit 0 "$METRONOME" replay t.jsonl.zst --url "https://localhost:$mp" --ca-file pki/ca.pem \
    --concurrency 4 -o mocktls -q
python3 - <<'PY'
import json, subprocess
recs = [json.loads(l) for l in subprocess.run(["zstd", "-dc", "mocktls/records.jsonl.zst"],
        stdout=subprocess.PIPE).stdout.decode().splitlines()]
assert len(recs) == 20, len(recs)
closed = [r for r in recs if (r.get("error") or {}).get("type") == "closed"]
ok = [r for r in recs if "error" not in r]
assert len(closed) == 4 and len(ok) == 16, (len(closed), len(ok))
assert all(len(r["chunks"]) == 6 for r in ok)
PY
expect_exit 1 "$METRONOME" replay t.jsonl.zst --url "https://localhost:$mp" -o mocktls2 -q
grep -q "not signed by a trusted CA" "$E2E_TMP/stderr" || fail "mock CA trusted without --ca-file"
