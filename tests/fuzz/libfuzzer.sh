#!/usr/bin/env bash
# Real fuzzing of the protocol parsers with libFuzzer (Debian clang, ASan + UBSan, glibc):
# builds each tests/fuzz/fuzz_<name>.c harness as a libFuzzer target, runs it for SECONDS
# from its saved corpus, and merges new inputs that add coverage back into
# testdata/fuzz/<name>/ (libFuzzer's -merge keeps only those). A crash leaves its input
# in the work directory and fails the script.
#   tests/fuzz/libfuzzer.sh [SECONDS] [NAME...]     (default 60 s; http1_response
#                                                    http1_request chunked sse http1_rx url prom
#                                                    tok_load tok_encode tok_regex shard_args rate_series)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
secs=${1:-60}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(http1_response http1_request chunked sse http1_rx url prom tok_load tok_encode tok_regex shard_args rate_series)
scripts/ensure-deb clang-14 libclang-rt-14-dev
cc=$(command -v clang-14 || command -v clang)
out="$root/.zig-cache/libfuzzer"
mkdir -p "$out"
srcs=(src/net/http1.c src/net/sse.c src/net/endpoint.c src/trace/jscan.c src/util/buf.c src/util/xalloc.c
      src/util/err.c src/telemetry/prom.c src/replay/shard.c)
for n in "${names[@]}"; do
    bin="$out/fuzz_$n"
    extra=()
    maxlen=4096
    if [[ "$n" == tok_* ]]; then
        # The tokenizer engine: its sources, the Unicode tables the build generated, cJSON
        # and mbedTLS's sha256 (tokenizer files are larger than protocol messages).
        [ -e zig-out/bin/metronome ] || ./dev build
        ucd=$(ls -t .zig-cache/o/*/ucd/ucd_tables.c | head -1)
        extra=(src/tok/*.c "$ucd" -I "$(dirname "$ucd")" vendor/src/cjson/cJSON.c -I vendor/src/cjson
               vendor/src/mbedtls/library/sha256.c vendor/src/mbedtls/library/platform_util.c
               vendor/src/mbedtls/library/platform.c
               -I vendor/src/mbedtls/include -I build
               '-DMBEDTLS_CONFIG_FILE="metronome_mbedtls_config.h"')
        maxlen=65536
    fi
    "$cc" -std=c11 -O1 -g -D_GNU_SOURCE -DFUZZ_LIBFUZZER -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=undefined -I include -I tests "tests/fuzz/fuzz_$n.c" "${srcs[@]}" \
        "${extra[@]}" -o "$bin"
    work="$out/corpus_$n"
    rm -rf "$work" && mkdir -p "$work"
    cp "testdata/fuzz/$n"/* "$work"/
    before=$(ls "testdata/fuzz/$n" | wc -l)
    echo "fuzz $n: ${secs}s from $before saved inputs"
    (cd "$out" && "$bin" -max_total_time="$secs" -max_len="$maxlen" -print_final_stats=1 \
        "$work" 2>"$out/$n.log") || { tail -30 "$out/$n.log"; echo "fuzz $n: FAILED"; exit 1; }
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$out/$n.log" | sed "s/^/  /"
    # Keep the saved corpus small: only inputs that add coverage over what is saved.
    "$bin" -merge=1 "testdata/fuzz/$n" "$work" >/dev/null 2>&1
    echo "  saved inputs: $before -> $(ls "testdata/fuzz/$n" | wc -l)"
done
