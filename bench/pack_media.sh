#!/usr/bin/env bash
# Measures `metronome pack` making a 1,000-request image trace (issue 15 §3): one noise
# image per request at AIPerf's default size (512 x 512), as JPEG (AIPerf 0.13's effective
# default) and as PNG, plus a 10 s 16 kHz WAV clip per request; wall and CPU time (user +
# sys, what counts on a shared machine) of each, the trace size, and beside it the peer:
# Pillow (the encoder AIPerf uses) making and base64-encoding the same images in Python.
#   bench/pack_media.sh [BINARY] [REQUESTS] [RUNS]    (defaults: zig-out/bin/metronome, 1000, 3)
# Files go to bench/out/ (git-ignored). Pillow comes from PyPI into .cache/pillow (the venv
# tests/e2e/test_pack_media.sh uses). Prints one markdown row per case with min / median /
# max over the runs; BUSY when the 1-minute load average was above 1 before a run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/zig-out/bin/metronome}
n=${2:-1000}
runs=${3:-3}
out=$root/bench/out/pack_media
mkdir -p "$out"
command -v /usr/bin/time >/dev/null || "$root/scripts/ensure-deb" time
venv=$root/.cache/pillow
if ! "$venv/bin/python" -c 'import PIL, sys; sys.exit(PIL.__version__ != "12.3.0")' 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "pillow==12.3.0"
fi
measure() { # prints: wall-seconds cpu-seconds
    /usr/bin/time -v "$@" 2> "$out/time.txt" > /dev/null
    awk -F': ' '/Elapsed \(wall clock\)/ {k=split($2,a,":"); s=0; for(i=1;i<=k;i++) s=s*60+a[i]; w=s}
                /User time/ {u=$2} /System time/ {y=$2}
                END {printf "%s %.2f\n", w, u+y}' "$out/time.txt"
}
stats() { # min median max of the numbers on stdin
    sort -g | awk '{v[NR]=$1} END {printf "%s %s %s", v[1], v[int((NR+1)/2)], v[NR]}'
}
echo "binary: $("$bin" --version 2>/dev/null | head -1), $n requests, $runs runs, $(nproc) CPUs"
echo
echo "| case | wall s (min / median / max) | CPU s (median) | requests/s of CPU (median) | trace MB | load before | |"
echo "|---|---|---|---|---|---|---|"
row() { # row NAME CMD...
    local name=$1; shift
    local walls=() cpus=() busy="" loads=""
    for _ in $(seq "$runs"); do
        local load
        load=$(cut -d' ' -f1 /proc/loadavg)
        loads="$loads $load"
        awk -v l="$load" 'BEGIN { exit !(l > 1) }' && busy=BUSY
        read -r w c < <(measure "$@")
        walls+=("$w")
        cpus+=("$c")
    done
    local ws cs cm size
    ws=$(printf '%s\n' "${walls[@]}" | stats)
    cs=$(printf '%s\n' "${cpus[@]}" | stats)
    cm=$(echo "$cs" | cut -d' ' -f2)
    size=$( [ -f "$out/t.zst" ] && stat -c %s "$out/t.zst" || echo 0)
    rm -f "$out/t.zst"
    printf '| %s | %s | %s | %s | %s |%s | %s |\n' "$name" "$(echo "$ws" | sed 's/ / \/ /g')" "$cm" \
        "$(awk -v n="$n" -v c="$cm" 'BEGIN { printf "%.0f", (c > 0 ? n / c : 0) }')" \
        "$(awk -v b="$size" 'BEGIN { printf "%.0f", b / 1e6 }')" "$loads" "$busy"
}
img=(--image-width-mean 512 --image-height-mean 512)
row "pack, JPEG 512x512" "$bin" pack -m m --request-count "$n" --isl 100 "${img[@]}" --image-format jpeg -o "$out/t.zst"
row "pack, PNG 512x512" "$bin" pack -m m --request-count "$n" --isl 100 "${img[@]}" --image-format png -o "$out/t.zst"
row "pack, WAV 10 s 16 kHz" "$bin" pack -m m --request-count "$n" --isl 100 --audio-length-mean 10 -o "$out/t.zst"
# Pillow: noise pixels, JPEG q85 4:4:4 (AIPerf's settings) or PNG level 6, base64
cat > "$out/peer.py" <<'PY'
import base64, io, os, sys
from PIL import Image
n, fmt = int(sys.argv[1]), sys.argv[2]
for _ in range(n):
    img = Image.frombytes("RGB", (512, 512), os.urandom(512 * 512 * 3))
    b = io.BytesIO()
    if fmt == "JPEG":
        img.save(b, format="JPEG", quality=85, subsampling=0)
    else:
        img.save(b, format="PNG", compress_level=6, optimize=False)
    base64.b64encode(b.getvalue())
PY
row "peer: Pillow JPEG (encode + base64 only)" "$venv/bin/python" "$out/peer.py" "$n" JPEG
row "peer: Pillow PNG (encode + base64 only)" "$venv/bin/python" "$out/peer.py" "$n" PNG
