# Synthetic images and audio (issue 15 §3): every PNG and JPEG in a packed trace decodes
# with Pillow and every WAV with Python's wave, at the sizes, lengths, rates, depths and
# channels asked for; our JPEG loses no more than libjpeg at AIPerf's settings; the same
# seed gives the same bytes; bad values are one line naming the option and the value,
# exit 2, nothing written; `profile` sends them to the mock. Pillow (pinned, the version
# AIPerf 0.13 installs) comes from PyPI into the git-ignored venv .cache/pillow.
. "$E2E_ROOT/tests/e2e/lib.sh"
venv="$E2E_ROOT/.cache/pillow"
if ! "$venv/bin/python" -c 'import PIL, sys; sys.exit(PIL.__version__ != "12.3.0")' 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "pillow==12.3.0"
fi
py="$venv/bin/python"
check="$E2E_ROOT/tests/e2e/media_check.py"
cd "$E2E_TMP"
pack() { expect_exit 0 "$METRONOME" pack -m m "$@"; }

# Everything at once: mixed formats, sizes with spread, every depth, two rates, stereo.
opts=(--request-count 12 --isl 16 --image-width-mean 64 --image-width-stddev 12
    --image-height-mean 40 --batch-size-image 2 --image-format random
    --audio-length-mean 0.4 --audio-length-stddev 0.1 --audio-depths 8,16 --audio-depths 24,32
    --audio-sample-rates 8,44100 --audio-num-channels 2 --batch-size-audio 1)
pack "${opts[@]}" --random-seed 7 -o a.jsonl.zst
zstd -dqf a.jsonl.zst -o a.jsonl
"$py" "$check" a.jsonl '{"requests": 12, "texts": 1, "images": 2, "audios": 1,
    "width": [1, 140], "height": [40, 40], "formats": ["jpeg", "png"], "length": [0.01, 1.2],
    "rates": [8000, 44100], "depths": [8, 16, 24, 32], "channels": 2}' ||
    fail "decoded media differ from the options"

# AIPerf's defaults: a width alone turns on one 512-high JPEG per request; audio alone
# (--isl 0: no text) is 10 s of 16 kHz 16-bit mono WAV.
pack --request-count 2 --isl 16 --image-width-mean 100 -o d1.jsonl.zst
zstd -dqf d1.jsonl.zst -o d1.jsonl
"$py" "$check" d1.jsonl '{"requests": 2, "texts": 1, "images": 1, "audios": 0,
    "width": [100, 100], "height": [512, 512], "formats": ["jpeg"]}' || fail "image defaults"
pack --request-count 2 --isl 0 --audio-batch-size 1 -o d2.jsonl.zst
zstd -dqf d2.jsonl.zst -o d2.jsonl
"$py" "$check" d2.jsonl '{"requests": 2, "texts": 0, "images": 0, "audios": 1,
    "length": [10, 10], "rates": [16000], "depths": [16], "channels": 1}' || fail "audio defaults"

# Our JPEG against libjpeg on the same pixels: png and jpeg with one seed draw the same noise.
pack --request-count 3 --isl 4 --image-width-mean 96 --image-height-mean 72 --image-format png -o p.jsonl.zst
pack --request-count 3 --isl 4 --image-width-mean 96 --image-height-mean 72 --image-format jpeg -o j.jsonl.zst
zstd -dqf p.jsonl.zst -o p.jsonl && zstd -dqf j.jsonl.zst -o j.jsonl
"$py" "$check" pair p.jsonl j.jsonl || fail "JPEG quality"

# Same seed, same bytes; another seed, other media.
pack "${opts[@]}" --random-seed 7 -o b.jsonl.zst
cmp -s a.jsonl.zst b.jsonl.zst || fail "same seed gave different traces"
pack "${opts[@]}" --random-seed 8 -o c.jsonl.zst
zstd -dqf c.jsonl.zst -o c.jsonl
[ "$(sed -n 2p a.jsonl | head -c 100000 | md5sum)" != "$(sed -n 2p c.jsonl | head -c 100000 | md5sum)" ] ||
    fail "another seed gave the same first request"

# Bad values: one line naming the option and the value, exit 2, no output.
bad() { # bad STDERR-REGEX ARGS...
    local want=$1; shift
    expect_exit 2 "$METRONOME" pack -m m --request-count 2 -o bad.jsonl.zst "$@"
    [ "$(wc -l < "$E2E_TMP/stderr")" = 1 ] || fail "more than one line: $(cat "$E2E_TMP/stderr")"
    grep -Eq "^metronome: error: $want" "$E2E_TMP/stderr" ||
        fail "stderr '$(cat "$E2E_TMP/stderr")' does not match '$want'"
    [ -z "$(ls | grep '^bad\.jsonl')" ] || fail "output left behind: $(ls)"
}
bad "--audio-depths: 12 is not a supported bit depth" --audio-length-mean 1 --audio-depths 16,12
bad "--audio-format: 'mp3' is not supported: it needs an MP3 encoder" --audio-format mp3
bad "--audio-sample-rates: '-8' is not a positive number" --audio-sample-rates=-8
bad "--audio-num-channels: 3 is out of range" --audio-num-channels 3
bad "--audio-length-mean: 0.005 is below 0.01 s" --audio-length-mean 0.005
bad "--image-width-mean: 9000 is out of range" --image-width-mean 9000
bad "--image-height-stddev: expected a number, got 'wide'" --image-height-stddev wide
bad "--image-format: 'gif' is not one of" --image-format gif
bad "--image-source: 'assets' is not supported" --image-source assets
bad "--image-source-sampling: 'shuffle-cycle' needs a finite source pool" --image-source-sampling shuffle-cycle
bad "--image-batch-size: synthetic images and audio need --endpoint-type chat" --image-width-mean 8 --endpoint-type completions

# profile: the same options reach pack, the mock answers every request, and the trace kept
# in the artifacts holds the media.
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 1ms --itl 100us --osl 4 >/dev/null 2>"$E2E_TMP/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
expect_exit 0 "$METRONOME" profile -m m --url "127.0.0.1:$port" --ui none --artifact-dir prof \
    --request-count 6 --concurrency 2 --image-width-mean 48 --image-height-mean 32 \
    --image-format png --audio-length-mean 0.2 --audio-sample-rates 16000
python3 -c "
import json
d = json.load(open('prof/profile_export_aiperf.json'))
assert d['request_count']['avg'] == 6, d['request_count']
assert d.get('error_request_count', {}).get('avg', 0) == 0, d.get('error_request_count')
" || fail "profile with media: not every request succeeded"
zstd -dqf prof/trace.jsonl.zst -o prof.jsonl
"$py" "$check" prof.jsonl '{"requests": 6, "texts": 1, "images": 1, "audios": 1,
    "width": [48, 48], "height": [32, 32], "formats": ["png"], "length": [0.2, 0.2],
    "rates": [16000], "depths": [16], "channels": 1}' || fail "profile's trace media"
expect_exit 2 "$METRONOME" profile -m m --url "127.0.0.1:$port" --ui none --artifact-dir prof2 \
    --audio-depths 12
grep -q "^metronome: error: --audio-depths: 12" "$E2E_TMP/stderr" || fail "profile: $(cat "$E2E_TMP/stderr")"
[ ! -e prof2 ] || fail "profile wrote artifacts for a bad value"
