# A dataset's image and audio fields may name local files (AIPerf 0.13's
# MediaConversionMixin): the request carries the file's bytes, base64-encoded, as a data
# URL (PNG, JPEG) or as "wav,<base64>" (.wav, .mp3); URLs and already-encoded content go
# as written. The bodies `metronome profile` sends are checked against the files and, when
# AIPerf 0.13 is installed, against the bodies `aiperf profile` sends for the same dataset:
# the same text, the same URLs and audio byte for byte, the same PNG pixels (AIPerf
# re-encodes a file with Pillow, we send it as it is on disk), a JPEG of the same size.
# Bad files: one line naming the dataset's line and field, exit 1, nothing written.
. "$E2E_ROOT/tests/e2e/lib.sh"
venv="$E2E_ROOT/.cache/pillow" # the one test_pack_media makes (Pillow 12.3.0, AIPerf's)
if ! "$venv/bin/python" -c 'import PIL, sys; sys.exit(PIL.__version__ != "12.3.0")' 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "pillow==12.3.0"
fi
aiperf=${AIPERF:-}
for c in /work/aiperf/bin/aiperf "$E2E_ROOT/.cache/aiperf/bin/aiperf"; do
    [ -z "$aiperf" ] && [ -x "$c" ] && aiperf=$c
done
cd "$E2E_TMP"
AIPERF=$aiperf PYTHONPATH="$E2E_ROOT/tests/e2e" "$venv/bin/python" - <<'PY'
import base64, io, json, os, random, subprocess, wave
from PIL import Image
from replay_lib import BIN, TMP, check, word_tokenizer
from rawserver import RawServer, chat_answer

os.makedirs("media", exist_ok=True)
img = Image.new("RGB", (8, 6))
img.putdata([(x * 30, y * 40, (x + y) * 10) for y in range(6) for x in range(8)])
img.save("red.png")
rnd = random.Random(7)
noise = Image.new("RGB", (16, 16))
noise.putdata([tuple(rnd.randrange(256) for _ in range(3)) for _ in range(256)])
noise.save("media/photo.jpg", quality=90)
w = wave.open("beep.wav", "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(bytes(rnd.randrange(256) for _ in range(400)))
w.close()
b64 = lambda path: base64.b64encode(open(path, "rb").read()).decode()
PNG, JPG, WAV = b64("red.png"), b64("media/photo.jpg"), b64("beep.wav")
here = os.path.abspath("red.png")
rows = [
    {"text": "png", "image": "red.png"},
    {"text": "jpg", "images": ["media/photo.jpg", "https://example.com/a.png",
                               "data:image/png;base64,QUFB", here]},
    {"text": "wav", "audio": "beep.wav"},
    {"text": "wavs", "audios": ["wav,QUFB", "beep.wav"]},
]
with open("st.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")

def sent(cmd):
    """The chat bodies a profile command sent, by their text."""
    with RawServer(chat_answer) as s:
        p = subprocess.run(cmd + ["--url", "http://" + s.url], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=300,
                           env=dict(os.environ, HOME=TMP))
        check(p.returncode == 0, cmd[0], p.stdout[-3000:], p.stderr[-3000:])
        bodies = [json.loads(r.body) for r in s.requests
                  if r.head.startswith(b"POST /v1/chat/completions")]
    return {b["messages"][-1]["content"][0]["text"]: b for b in bodies}

def parts(body, kind):
    return [c[kind] for c in body["messages"][-1]["content"] if c["type"] == kind]

ours = sent([BIN, "profile", "-m", "m", "--ui", "none", "--artifact-dir", os.path.join(TMP, "ours"),
             "--input-file", "st.jsonl", "--custom-dataset-type", "single_turn",
             "--request-count", "4", "--concurrency", "1"])
check(sorted(ours) == ["jpg", "png", "wav", "wavs"], "texts", sorted(ours))
check(parts(ours["png"], "image_url") == [{"url": "data:image/png;base64," + PNG}], "png",
      parts(ours["png"], "image_url"))
check(parts(ours["jpg"], "image_url") ==
      [{"url": "data:image/jpeg;base64," + JPG}, {"url": "https://example.com/a.png"},
       {"url": "data:image/png;base64,QUFB"}, {"url": "data:image/png;base64," + PNG}],
      "jpg and the others", parts(ours["jpg"], "image_url"))
check(parts(ours["wav"], "input_audio") == [{"data": WAV, "format": "wav"}], "wav")
check(parts(ours["wavs"], "input_audio") ==
      [{"data": "QUFB", "format": "wav"}, {"data": WAV, "format": "wav"}], "wavs")

aip = os.environ.get("AIPERF")
if not aip:
    print("aiperf not installed: the comparison with AIPerf 0.13's own bodies is skipped")
else:
    tok = word_tokenizer(os.path.join(TMP, "tok"), ["png", "jpg", "wav", "wavs"])
    theirs = sent([aip, "profile", "-m", "m", "--endpoint-type", "chat",
                   "--input-file", "st.jsonl", "--custom-dataset-type", "single_turn",
                   "--request-count", "4", "--concurrency", "1", "--tokenizer", tok,
                   "--artifact-dir", os.path.join(TMP, "aip"), "--ui-type", "none",
                   "--no-server-metrics", "--no-gpu-telemetry"])
    check(sorted(theirs) == sorted(ours), "AIPerf's texts", sorted(theirs))
    def decoded(url):
        head, data = url.split(",", 1)
        return head, Image.open(io.BytesIO(base64.b64decode(data)))
    for t in ours:
        a, b = ours[t], theirs[t]
        check(parts(a, "input_audio") == parts(b, "input_audio"), "AIPerf's audio", t)
        ia, ib = parts(a, "image_url"), parts(b, "image_url")
        check(len(ia) == len(ib), "AIPerf's images", t, len(ib))
        for x, y in zip(ia, ib):
            if not x["url"].startswith("data:image/") or x["url"].endswith(",QUFB"):
                check(x == y, "AIPerf's URL", t, y)
                continue
            (hx, px), (hy, py) = decoded(x["url"]), decoded(y["url"])
            check(hx == hy and px.size == py.size, "AIPerf's image", t, hy, py.size)
            if px.format == "PNG":
                check(px.convert("RGB").tobytes() == py.convert("RGB").tobytes(),
                      "AIPerf's PNG pixels", t)
    print("AIPerf 0.13 sent the same text, URLs and audio, and the same PNG pixels")
PY

# bad files: FILE:LINE: field, exit 1, nothing written
echo hi >note.txt
bad_row() { # bad_row ROW WHAT
    printf '{"text":"a"}\n%s\n' "$1" >row.jsonl
    expect_exit 1 "$METRONOME" pack -m m -o bad.zst --input-file row.jsonl --custom-dataset-type single_turn
    [ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "not one line: $(cat "$E2E_TMP/stderr")"
    grep -qF -- "row.jsonl:2: $2" "$E2E_TMP/stderr" || fail "want row.jsonl:2: $2: $(cat "$E2E_TMP/stderr")"
    [ ! -e bad.zst ] || fail "bad.zst written for $1"
}
bad_row '{"text":"b","image":"nope.png"}' "field 'image': nope.png: No such file or directory"
bad_row '{"text":"b","images":["red.png","note.txt"]}' "field 'images': note.txt: not a PNG or JPEG image"
bad_row '{"text":"b","audio":"note.txt"}' "field 'audio': note.txt: not a .wav or .mp3 file"
bad_row '{"text":"b","audios":["media"]}' "field 'audios': media: not a .wav or .mp3 file"
bad_row '{"text":"b","image":"media"}' "field 'image': media: Is a directory"
bad_row '{"text":"b","image":"http:///x.png"}' "field 'image': 'http:///x.png': a URL needs both a scheme and a host"
bad_row '{"text":"b","audio":"https://h/a.wav"}' "field 'audio': must be \"format,base64\""
echo ok
