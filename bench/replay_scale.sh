#!/usr/bin/env bash
# 10,000 concurrent SSE streams on this machine: errors, and the client's memory per stream
# (peak RSS at N streams minus peak RSS at 100 streams, over N - 100). Plain, then TLS
# through nginx (Debian) in front of the mock at 1,000 streams.
# Targets (issue 4): 0 errors; <= 16 KB per stream plain, <= 64 KB TLS.
#   bench/replay_scale.sh [BINARY] [STREAMS] [TLS_STREAMS]
. "$(dirname "$0")/replay_common.sh"
streams=${2:-10000} tls_streams=${3:-1000}
# Streams of about 8 s: 1 s to the first token, then 5 tokens/s.
start_mock mock --ttft 1s --itl 200ms --osl 35 --max-connections 100000
peak() { # CMD...: runs CMD, prints its peak RSS in kB (sampled every 50 ms) then its records
    "$@" & local p=$! max=0
    while kill -0 $p 2>/dev/null; do
        local r; r=$(awk '/VmRSS/ {print $2}' /proc/$p/status 2>/dev/null || echo 0)
        [ "${r:-0}" -gt "$max" ] && max=$r
        sleep 0.05
    done
    wait $p || true
    echo "$max"
}
summary() { zstd -dcq "$1/records.jsonl.zst" | python3 -c "
import json, sys, collections
rs = [json.loads(l) for l in sys.stdin]
e = collections.Counter((r.get('error') or {}).get('type') for r in rs if 'error' in r)
print(len(rs), sum(e.values()), ','.join(f'{k}:{v}' for k, v in e.items()) or '-')"; }
run() { # NAME STREAMS URL [ARGS]
    local name=$1 n=$2 url=$3; shift 3
    "$bin" pack -m m --streaming --request-count "$n" --isl 8 -o "$out/$name.jsonl.zst" 2>/dev/null
    local kb; kb=$(peak $CLIENT "$bin" replay "$out/$name.jsonl.zst" --url "$url" --concurrency "$n" \
        --workers 1 --connect-timeout-seconds 60 -o "$out/$name" -q "$@")
    echo "$kb $(summary "$out/$name")"
}
read -r base_kb base_n base_e _ <<<"$(run small 100 "127.0.0.1:$port")"
read -r big_kb big_n big_e big_types <<<"$(run big "$streams" "127.0.0.1:$port")"
python3 -c "print(f'plain: $streams concurrent streams: $big_n records, $big_e errors ($big_types); peak RSS {$big_kb/1024:.1f} MiB (100 streams: {$base_kb/1024:.1f} MiB): {($big_kb - $base_kb) * 1024 / ($streams - 100) / 1000:.1f} KB per stream')"

# TLS: nginx terminates TLS (ECDSA P-256 test certificate) and proxies to the mock.
command -v nginx >/dev/null || "$root/scripts/ensure-deb" nginx-light
cd "$out"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out cert.pem \
    -days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
tport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >nginx.conf <<CONF
daemon off; master_process off; worker_processes 1; worker_rlimit_nofile 100000;
error_log $out/nginx.err; pid $out/nginx.pid;
events { worker_connections 50000; }
http { access_log off; client_body_temp_path $out/b; proxy_temp_path $out/p;
  fastcgi_temp_path $out/f; uwsgi_temp_path $out/u; scgi_temp_path $out/s;
  upstream mock { server 127.0.0.1:$port; keepalive 2048; }
  server { listen 127.0.0.1:$tport ssl backlog=8192; ssl_certificate $out/cert.pem; ssl_certificate_key $out/key.pem;
    location / { proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; } } }
CONF
$SERVER nginx -c "$out/nginx.conf" -e "$out/nginx.err" &
pids+=($!)
sleep 0.5
read -r tbase_kb _ _ _ <<<"$(run tsmall 100 "https://localhost:$tport" --ca-file cert.pem)"
read -r tbig_kb tbig_n tbig_e tbig_types <<<"$(run tbig "$tls_streams" "https://localhost:$tport" --ca-file cert.pem)"
python3 -c "print(f'TLS: $tls_streams concurrent streams: $tbig_n records, $tbig_e errors ($tbig_types); peak RSS {$tbig_kb/1024:.1f} MiB (100 streams: {$tbase_kb/1024:.1f} MiB): {($tbig_kb - $tbase_kb) * 1024 / ($tls_streams - 100) / 1000:.1f} KB per stream')"
