#!/usr/bin/env bash
# TLS costs through tls.h (bench/tls_bench.c), beside OpenSSL's figures for the same work in
# the same run: `openssl speed` for ECDSA P-256 sign/verify and AES-128-GCM on 256-byte and
# 16 KiB blocks. mbedTLS and zstd are compiled from vendor/src with zig cc -O2 (objects are
# cached by zig), with the source lists read from build/deps.zig.
#   bench/tls.sh [RECORDS]     (default 200000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
records=${1:-200000}
out="$root/bench/out"
mkdir -p "$out"
vendor_list() { sed -n "/^const $1 = /,/^};/p" build/deps.zig | grep -o '"[^"]*\.c"' | tr -d '"'; }
srcs=(bench/tls_bench.c src/net/tls.c src/net/rxstamp.c src/util/xalloc.c src/util/err.c src/util/buf.c src/util/zio.c)
for s in $(vendor_list mbedtls_files); do srcs+=("vendor/src/mbedtls/library/$s"); done
for s in $(vendor_list zstd_files); do srcs+=("vendor/src/zstd/lib/$s"); done
.tools/zig/zig cc -O2 -std=c11 -w -D_GNU_SOURCE -I include -I build -I vendor/src/mbedtls/include \
    -I vendor/src/mbedtls/library -I vendor/src/zstd/lib \
    '-DMBEDTLS_CONFIG_FILE="metronome_mbedtls_config.h"' -DZSTD_DISABLE_ASM=1 \
    -DXXH_NAMESPACE=ZSTD_ "${srcs[@]}" -lpthread -o "$out/tls_bench"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared with other builds)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$out/tls_bench" "$dir" "$records" | tee "$out/tls_c.txt"
suite=$(sed -n 's/^tls cipher suite: //p' "$out/tls_c.txt")
case "$suite" in
*AES-256-GCM*) evp=aes-256-gcm ;;
*CHACHA20*) evp=chacha20-poly1305 ;;
*) evp=aes-128-gcm ;;
esac
echo "openssl $(openssl version | cut -d' ' -f2), same machine, same run:"
openssl speed -seconds 2 ecdsap256 2>/dev/null | grep -E "^ *256 bits ecdsa" |
    awk '{ printf "  openssl ecdsa P-256: %s sign/s, %s verify/s\n", $(NF-1), $NF }' |
    tee "$out/tls_ossl.txt"
openssl speed -seconds 2 -bytes 256 -evp $evp 2>/dev/null | grep -iE "^$evp" |
    awk -v e="$evp" '{ v = $NF; sub("k", "", v); printf "  openssl " e " 256 B: %.0f MB/s (%.3f us per block)\n", v / 1000, 256 / (v * 1000) * 1e6 }' |
    tee -a "$out/tls_ossl.txt"
openssl speed -seconds 2 -bytes 16384 -evp $evp 2>/dev/null | grep -iE "^$evp" |
    awk -v e="$evp" '{ v = $NF; sub("k", "", v); printf "  openssl " e " 16 KiB: %.0f MB/s\n", v / 1000 }' |
    tee -a "$out/tls_ossl.txt"
ours=$(sed -n 's/^tls bulk.*: \([0-9]*\) MB\/s.*/\1/p' "$out/tls_c.txt")
theirs=$(sed -n 's/.*16 KiB: \([0-9]*\) MB\/s/\1/p' "$out/tls_ossl.txt")
awk -v a="$ours" -v b="$theirs" 'BEGIN { if (b > 0) printf "ratio: metronome TLS bulk (encrypt+decrypt+2 syscalls, one thread) / openssl same cipher, one direction = %.2f\n", a / b }'
