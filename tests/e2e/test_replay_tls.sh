# TLS against nginx (Debian's, OpenSSL inside) with every common certificate kind, made by
# openssl here: RSA-2048/4096, ECDSA P-256/P-384/P-521, Ed25519 and RSA-PSS-only keys (both
# unsupported by mbedTLS 3.6: a clear error), a chain leaf <- intermediate <-
# root (nginx sends leaf + intermediate, the client trusts the root only), an IP-only SAN,
# on TLS 1.2-only, TLS 1.3-only and nginx's default protocols, plus a TLS 1.2 server that
# insists on RSA-PSS. nginx's access log records the version it negotiated and the SNI it
# got, so "TLS 1.2" below is what was spoken, not what was configured. Failures (expired,
# wrong host, untrusted root, Ed25519) are one line, exit 1, and no request reaches nginx.
# replay and profile run through nginx; the mock serves an RSA key itself (--cert/--key)
# and its own self-signed ECDSA PKI (--tls-self-signed). --insecure is warned and recorded.
. "$E2E_ROOT/tests/e2e/lib.sh"
command -v nginx >/dev/null || "$E2E_ROOT/scripts/ensure-deb" nginx-light || fail "nginx not installed and cannot be installed"
command -v curl >/dev/null || "$E2E_ROOT/scripts/ensure-deb" curl || fail "cannot install curl"
cd "$E2E_TMP"
M=$METRONOME

# ---- certificates ----
key() { # key FILE KIND
    case $2 in
        rsapss) openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out "$1" ;;
        rsa*) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${2#rsa}" -out "$1" ;;
        p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" ;;
        p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1" ;;
        p521) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$1" ;;
        ed25519) openssl genpkey -algorithm ED25519 -out "$1" ;;
    esac 2>/dev/null || fail "openssl genpkey $2"
}
root() { # root NAME KIND: a self-signed CA
    key "$1.key" "$2"
    openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 30 -subj "/CN=$1" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>/dev/null || fail "root $1"
}
leaf() { # leaf NAME KIND SAN ISSUER [extra x509 args]: NAME.key, NAME.pem signed by ISSUER
    local name=$1 kind=$2 san=$3 issuer=$4
    shift 4
    key "$name.key" "$kind"
    openssl req -new -key "$name.key" -out "$name.csr" -subj "/CN=$name" 2>/dev/null || fail "csr $name"
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >"$name.ext"
    openssl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" -CAcreateserial \
        -out "$name.pem" -days 10 -extfile "$name.ext" "$@" 2>/dev/null || fail "sign $name"
}
LH="DNS:localhost,IP:127.0.0.1"
root ca p256
root other p256
leaf rsa2048 rsa2048 "$LH" ca
leaf rsa4096 rsa4096 "$LH" ca
leaf ecp256 p256 "$LH" ca
leaf ecp384 p384 "$LH" ca
leaf ecp521 p521 "$LH" ca
leaf ed25519 ed25519 "$LH" ca
leaf rsapss rsapss "$LH" ca
leaf iponly rsa2048 "IP:127.0.0.1" ca
leaf dnsonly rsa2048 "DNS:localhost" ca
leaf wronghost rsa2048 "DNS:other.example" ca
leaf untrusted rsa2048 "$LH" other
# The chain: root2 (RSA) <- inter (RSA, a CA) <- chainleaf (RSA); nginx sends leaf + inter.
root root2 rsa2048
key inter.key rsa2048
openssl req -new -key inter.key -out inter.csr -subj /CN=inter 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >inter.ext
openssl x509 -req -in inter.csr -CA root2.pem -CAkey root2.key -CAcreateserial -out inter.pem \
    -days 20 -extfile inter.ext 2>/dev/null || fail "sign inter"
leaf chainleaf rsa2048 "$LH" inter
cat chainleaf.pem inter.pem >chain.pem && cp chainleaf.key chain.key
# Expired: openssl ca can back-date, x509 -req cannot.
mkdir -p db && : >db/index && echo 01 >db/serial
printf '[ca]\ndefault_ca=d\n[d]\ndatabase=db/index\nserial=db/serial\nnew_certs_dir=db\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n' >ca.cnf
key expired.key rsa2048
openssl req -new -key expired.key -out expired.csr -subj /CN=expired -addext "subjectAltName=$LH" 2>/dev/null
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem \
    -startdate 20200101000000Z -enddate 20200201000000Z 2>/dev/null || fail "sign expired"

# ---- nginx in front of the mock ----
"$M" mock --port 0 --ttft 1ms --itl 1ms >mock.out 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -qs listening mock.out && break; sleep 0.1; done
mport=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' mock.out | head -1)
[ -n "$mport" ] || fail "mock did not start"

# NAME CERT PROTOCOLS (default = nginx's own) [extra directives]
servers=(
    "rsa2048_default rsa2048 default"
    "rsa2048_12 rsa2048 TLSv1.2"
    "rsa2048_13 rsa2048 TLSv1.3"
    "rsa4096_12 rsa4096 TLSv1.2"
    "rsa4096_13 rsa4096 TLSv1.3"
    "ecp256_12 ecp256 TLSv1.2"
    "ecp256_13 ecp256 TLSv1.3"
    "ecp384_12 ecp384 TLSv1.2"
    "ecp384_13 ecp384 TLSv1.3"
    "chain_12 chain TLSv1.2"
    "chain_13 chain TLSv1.3"
    "leafonly_13 chainleaf TLSv1.3"
    "iponly_13 iponly TLSv1.3"
    "iponly_12 iponly TLSv1.2"
    "dnsonly_13 dnsonly TLSv1.3"
    "ecp521_12 ecp521 TLSv1.2"
    "ecp521_13 ecp521 TLSv1.3"
    "ed25519_13 ed25519 TLSv1.3"
    "rsapss_13 rsapss TLSv1.3"
    "expired_13 expired TLSv1.3"
    "wronghost_12 wronghost TLSv1.2"
    "untrusted_13 untrusted TLSv1.3"
    "psspref_12 rsa2048 TLSv1.2 ssl_prefer_server_ciphers on; ssl_conf_command SignatureAlgorithms rsa_pss_rsae_sha256:rsa_pkcs1_sha256;"
)
declare -A port
blocks=""
for s in "${servers[@]}"; do
    read -r name cert proto extra <<<"$s"
    port[$name]=$(free_port)
    protos=""
    [ "$proto" = default ] || protos="ssl_protocols $proto;"
    blocks+="server { listen 127.0.0.1:${port[$name]} ssl; ssl_certificate $PWD/$cert.pem;
      ssl_certificate_key $PWD/$cert.key; $protos $extra
      location / { proxy_pass http://127.0.0.1:$mport; proxy_http_version 1.1;
        proxy_set_header Connection \"\"; proxy_buffering off; } }
"
done
cat >nginx.conf <<CONF
daemon off; master_process off; worker_processes 1;
error_log $PWD/error.log; pid $PWD/nginx.pid;
events { worker_connections 1024; }
http { client_body_temp_path $PWD/b; proxy_temp_path $PWD/p;
  fastcgi_temp_path $PWD/f; uwsgi_temp_path $PWD/u; scgi_temp_path $PWD/s;
  log_format t '\$server_port \$ssl_protocol sni="\$ssl_server_name" \$status';
  access_log $PWD/access.log t;
$blocks}
CONF
nginx -c "$PWD/nginx.conf" -e "$PWD/error.log" &
ngx=$!
trap 'kill $mock $ngx 2>/dev/null || true' EXIT
wait_port "${port[psspref_12]}"

"$M" pack -m m --streaming --request-count 6 --isl 8 --osl 5 -o t.jsonl.zst 2>/dev/null

# good NAME VERSION HOST CA: 6 streamed requests, every one answered, over VERSION.
good() {
    local name=$1 want=$2 host=$3 ca=$4 p=${port[$1]}
    expect_exit 0 "$M" replay t.jsonl.zst --url "https://$host:$p" --ca-file "$ca" \
        --concurrency 2 -o "ok_$name" -q --no-server-metrics
    python3 - "ok_$name" <<'PY' || fail "$name: records"
import json, subprocess, sys
recs = [json.loads(l) for l in subprocess.run(["zstd", "-dc", sys.argv[1] + "/records.jsonl.zst"],
        stdout=subprocess.PIPE, check=True).stdout.decode().splitlines()]
assert len(recs) == 6, len(recs)
for r in recs:
    assert "error" not in r and r["status"] == 200 and len(r["chunks"]) == 6, r
    if not r["reused"]:
        assert r["t_tls"] > r["t_connected"] >= r["t_start"], r
assert json.load(open(sys.argv[1] + "/run.json"))["insecure"] is False
PY
    local lines
    lines=$(grep -c "^$p " access.log || true)
    [ "$lines" = 6 ] || fail "$name: nginx logged $lines requests, wanted 6"
    if [ "$want" != any ]; then
        grep "^$p " access.log | grep -qv "^$p $want " && fail "$name: not all over $want: $(grep "^$p " access.log | head -1)"
    fi
    return 0
}
good rsa2048_default any localhost ca.pem
good rsa2048_12 TLSv1.2 localhost ca.pem
good rsa2048_13 TLSv1.3 localhost ca.pem
good rsa4096_12 TLSv1.2 localhost ca.pem
good rsa4096_13 TLSv1.3 localhost ca.pem
good ecp256_12 TLSv1.2 localhost ca.pem
good ecp256_13 TLSv1.3 localhost ca.pem
good ecp384_12 TLSv1.2 localhost ca.pem
good ecp384_13 TLSv1.3 localhost ca.pem
good ecp521_12 TLSv1.2 localhost ca.pem
good ecp521_13 TLSv1.3 localhost ca.pem
good chain_12 TLSv1.2 localhost root2.pem
good chain_13 TLSv1.3 localhost root2.pem
# SNI carries the DNS name; an IP literal is verified against the IP SAN but, as RFC 6066
# requires, not sent as SNI (nginx logs "-" for no SNI).
grep "^${port[rsa2048_13]} " access.log | grep -q 'sni="localhost"' || fail "no SNI for localhost"
good iponly_13 TLSv1.3 127.0.0.1 ca.pem
good iponly_12 TLSv1.2 127.0.0.1 ca.pem
grep "^${port[iponly_13]} " access.log | grep -qv 'sni="-"' && fail "an IP literal was sent as SNI"
grep "^${port[iponly_12]} " access.log | grep -qv 'sni="-"' && fail "an IP literal was sent as SNI (1.2)"

# A TLS 1.2 server that signs with RSA-PSS by its own preference: mbedTLS 3.6.6 cannot
# verify that in TLS 1.2, so the run says so and speaks TLS 1.2 without offering PSS.
good psspref_12 TLSv1.2 localhost ca.pem
grep -q "warning: .*RSA-PSS" "$E2E_TMP/stderr" || fail "no RSA-PSS fallback warning"

# ---- failures: one line, exit 1, no request reached nginx ----
bad() { # bad NAME HOST CA MESSAGE
    local name=$1 host=$2 ca=$3 msg=$4 p=${port[$1]} before
    before=$(grep -c "^${port[$1]} " access.log || true)
    expect_exit 1 "$M" replay t.jsonl.zst --url "https://$host:$p" --ca-file "$ca" -o "bad_$name" -q
    grep -q -- "$msg" "$E2E_TMP/stderr" || { cat "$E2E_TMP/stderr"; fail "$name: wanted '$msg'"; }
    [ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || { cat "$E2E_TMP/stderr"; fail "$name: more than one line"; }
    [ ! -e "bad_$name/records.jsonl.zst" ] || fail "$name: records written"
    [ "$(grep -c "^$p " access.log || true)" = "$before" ] || fail "$name: a request reached nginx"
}
bad expired_13 localhost ca.pem "certificate has expired"
bad wronghost_12 localhost ca.pem "not valid for host name 'localhost'"
bad untrusted_13 localhost ca.pem "not signed by a trusted CA"
bad dnsonly_13 127.0.0.1 ca.pem "not valid for host name '127.0.0.1'"
bad chain_12 localhost ca.pem "not signed by a trusted CA"
# Without the intermediate on the wire the root alone cannot vouch for the leaf.
bad leafonly_13 localhost root2.pem "not signed by a trusted CA"
# Ed25519: mbedTLS 3.6 has no EdDSA. As the server's certificate nginx cannot sign for
# anything the client offers and refuses; as a CA file it does not parse.
bad ed25519_13 localhost ca.pem "handshake_failure.*not Ed25519"
# A key restricted to RSA-PSS (id-RSASSA-PSS): mbedTLS 3.6 cannot use one either.
bad rsapss_13 localhost ca.pem "handshake_failure.*RSA-PSS-only keys"
root edroot ed25519
expect_exit 1 "$M" replay t.jsonl.zst --url "https://localhost:${port[ecp256_13]}" --ca-file edroot.pem -o edca -q
grep -q "edroot.pem: no usable CA certificate: .*Ed25519, Ed448 and RSA-PSS-only keys are not" "$E2E_TMP/stderr" ||
    { cat "$E2E_TMP/stderr"; fail "Ed25519 CA: unclear error"; }
[ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "Ed25519 CA: more than one line"

# Without --ca-file the system bundle does not know our CA either; --insecure connects
# anyway, warns, and says so in run.json.
expect_exit 1 "$M" replay t.jsonl.zst --url "https://localhost:${port[rsa2048_13]}" -o sys -q
grep -q "trusted CA" "$E2E_TMP/stderr" || fail "system bundle accepted a test CA"
expect_exit 0 "$M" replay t.jsonl.zst --url "https://localhost:${port[untrusted_13]}" --insecure -o insec -q
grep -q "warning: --insecure" "$E2E_TMP/stderr" || fail "no --insecure warning"
grep -q '"insecure":true' insec/run.json || fail "insecure not recorded"

# ---- profile through nginx (RSA over TLS 1.2, and the chain over TLS 1.3) ----
for name in rsa2048_12 chain_13; do
    ca=ca.pem
    [ "$name" = chain_13 ] && ca=root2.pem
    expect_exit 0 "$M" profile -m m --url "https://localhost:${port[$name]}" --ca-file "$ca" \
        --request-count 5 --concurrency 2 --streaming --ui none --artifact-dir "prof_$name"
    python3 - "prof_$name" <<'PY' || fail "profile $name"
import json, sys
d = json.load(open(sys.argv[1] + "/profile_export_aiperf.json"))
rc = d["request_count"]
n = rc["avg"] if isinstance(rc, dict) else rc
assert n == 5, rc
assert not d.get("error_summary"), d.get("error_summary")
PY
done
expect_exit 1 "$M" profile -m m --url "https://localhost:${port[rsa2048_12]}" --request-count 2 \
    --ui none --artifact-dir prof_sys
grep -q "trusted CA" "$E2E_TMP/stderr" || fail "profile: the system bundle trusted a test CA"

# ---- the mock serving an RSA key itself ----
cat rsa2048.pem ca.pem >mockchain.pem
mp=$(free_port)
"$M" mock --port "$mp" --tls --cert mockchain.pem --key rsa2048.key --ttft 1ms --itl 1ms >mock-tls.out 2>&1 &
mt=$!
trap 'kill $mock $ngx $mt 2>/dev/null || true' EXIT
wait_port "$mp"
expect_exit 0 "$M" replay t.jsonl.zst --url "https://localhost:$mp" --ca-file ca.pem -o mockrsa -q
[ "$(zstd -dc mockrsa/records.jsonl.zst | grep -c '"status":200')" = 6 ] || fail "mock RSA: not 6 answers"
# OpenSSL as the client, both versions, against the mock's RSA key.
for v in "--tlsv1.2 --tls-max 1.2" "--tlsv1.3"; do
    # shellcheck disable=SC2086
    curl -sS --max-time 10 --cacert ca.pem $v "https://localhost:$mp/v1/models" -o /dev/null ||
        fail "curl $v against the mock's RSA certificate"
done
expect_exit 0 "$M" profile -m m --url "https://127.0.0.1:$mp" --ca-file ca.pem --request-count 3 \
    --ui none --artifact-dir prof_mock

# ---- the mock's own HTTPS with its self-signed CA: every request streams over TLS,
# faults too; its CA is trusted only when named.
mkdir -p pki
mp2=$(free_port)
"$M" mock --port "$mp2" --tls-self-signed pki --ttft 1ms --itl 1ms \
    --fault close-after=2@every=5 >mock-tls2.out 2>&1 &
mt2=$!
trap 'kill $mock $ngx $mt $mt2 2>/dev/null || true' EXIT
wait_port "$mp2"
"$M" pack -m m --streaming --request-count 20 --isl 8 --osl 5 -o t20.jsonl.zst 2>/dev/null
expect_exit 0 "$M" replay t20.jsonl.zst --url "https://localhost:$mp2" --ca-file pki/ca.pem \
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
expect_exit 1 "$M" replay t20.jsonl.zst --url "https://localhost:$mp2" -o mocktls2 -q
grep -q "not signed by a trusted CA" "$E2E_TMP/stderr" || fail "mock CA trusted without --ca-file"
