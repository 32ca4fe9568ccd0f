#!/usr/bin/env bash
# --uuid-and-strip (AIPerf 0.13, for vLLM's multimodal processor cache) on a single_turn
# file whose rows carry image ids (image_uuids, an image object's uuids), repeated within
# and across session_ids: rows of one session_id are one session sent in file order, each
# row on its own; an image whose id an earlier row of the session sent with its bytes goes
# with an empty url and its id, ids new in a row keep their bytes (even twice in it), an
# id-only reference counts as not sent, other sessions keep theirs. Without the option the
# ids are still sent and nothing is emptied. The bodies the server receives from
# `metronome profile` are compared with the ones written out below and, when AIPerf 0.13
# is installed, with what `aiperf profile` sends for the same file (byte for byte). Bad
# values and files: one line naming the option or FILE:LINE:field, nothing written.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
M=$METRONOME
aiperf=${AIPERF:-}
for c in /work/aiperf/bin/aiperf "$E2E_ROOT/.cache/aiperf/bin/aiperf"; do
    [ -z "$aiperf" ] && [ -x "$c" ] && aiperf=$c
done
AIPERF=$aiperf PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import json, os, shutil, subprocess
from replay_lib import BIN, TMP, check, word_tokenizer
from rawserver import RawServer, chat_answer

A, B, C, D, E = ("data:image/png;base64," + x for x in ("QUFB", "QkJC", "Q0ND", "REREA", "RUVF"))
rows = [
    {"session_id": "s1", "text": "look 1", "images": [A, B], "image_uuids": ["img-a", "img-b"]},
    {"session_id": "s2", "text": "other 1", "images": [A], "image_uuids": ["img-a"]},
    {"image_uuids": ["img-a", "img-c", "img-c"], "session_id": "s1", "text": "look 2",
     "images": [A, C, C]},
    {"session_id": "s1", "text": "look 3",
     "images": [{"name": "x", "contents": [D, ""]}, {"uuids": ["img-c", "img-e"]}]},
    {"session_id": "s1", "text": "look 4", "images": [E, B], "image_uuids": ["img-e", "img-b"]},
    {"text": "alone", "images": [A], "image_uuids": ["img-a"]},
    {"session_id": "s2", "text": "other 2", "image_uuids": ["img-a"]},
    {"session_id": "s2", "text": "other 3", "images": [A], "image_uuids": ["img-a"]},
]
with open("st.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")

# The image parts each row's body must hold: (url, id) with id None for no "uuid" key.
# strip[i] lists the parts with the option; plain[i] without it.
plain = [
    [(A, "img-a"), (B, "img-b")],
    [(A, "img-a")],
    [(A, "img-a"), (C, "img-c"), (C, "img-c")],
    [(D, None), ("", "img-c"), ("", "img-e")],
    [(E, "img-e"), (B, "img-b")],
    [(A, "img-a")],
    [("", "img-a")],
    [(A, "img-a")],
]
strip = [list(p) for p in plain]
strip[2][0] = ("", "img-a")  # s1's row 1 sent img-a with bytes; img-c is new, twice
strip[4][1] = ("", "img-b")  # img-e was only referenced (row 4), img-b sent by row 1
strip[7][0] = ("", "img-a")  # s2's row 1 sent img-a

def body(i, parts, system=None):
    content = [{"type": "text", "text": rows[i]["text"]}]
    for url, uid in parts:
        p = {"type": "image_url", "image_url": {"url": url}}
        if uid is not None:
            p["uuid"] = uid
        content.append(p)
    msgs = [{"role": "system", "content": system}] if system else []
    msgs.append({"role": "user", "content": content})
    return json.dumps({"messages": msgs, "model": "m", "stream": False},
                      separators=(",", ":")).encode()

def chat_bodies(s):
    return [r.body for r in s.requests if r.head.startswith(b"POST /v1/chat/completions")]

def metronome(name, *flags):
    with RawServer(chat_answer) as s:
        p = subprocess.run([BIN, "profile", "-m", "m", "--url", s.url, "--ui", "none",
                            "--artifact-dir", os.path.join(TMP, name), "--input-file", "st.jsonl",
                            "--custom-dataset-type", "single_turn", "--request-count", "8",
                            "--concurrency", "2", *flags],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check(p.returncode == 0, name, p.stderr)
        return chat_bodies(s)

def same(got, want, what):
    check(sorted(got) == sorted(want), what, "\n got:", sorted(got), "\nwant:", sorted(want))

want_strip = [body(i, strip[i]) for i in range(8)]
want_plain = [body(i, plain[i]) for i in range(8)]
check(want_strip != want_plain, "the file exercises no stripping")
got = metronome("strip", "--uuid-and-strip")
same(got, want_strip, "--uuid-and-strip bodies")
# a session's rows go in file order, one at a time (a stripped row after the one that
# sent the bytes), with two sessions running at once
order = [json.loads(b)["messages"][0]["content"][0]["text"] for b in got]
check([t for t in order if t.startswith("look")] == ["look 1", "look 2", "look 3", "look 4"] and
      [t for t in order if t.startswith("other")] == ["other 1", "other 2", "other 3"], order)
# inputs.json holds the bodies sent, one entry per session as AIPerf writes it (the
# sessions in the order of their first rows, though their rows interleave in the file)
inp = json.load(open(os.path.join(TMP, "strip", "inputs.json")))
check([e["session_id"] for e in inp["data"]] == ["s1", "s2", "line-6"], inp)
sess = {e["session_id"]: [json.dumps(p, separators=(",", ":")).encode() for p in e["payloads"]]
        for e in inp["data"]}
check(sess.get("s1") == [want_strip[i] for i in (0, 2, 3, 4)], "inputs.json s1", sess.get("s1"))
check(sess.get("s2") == [want_strip[i] for i in (1, 6, 7)], "inputs.json s2", sess.get("s2"))
same(metronome("plain"), want_plain, "bodies without --uuid-and-strip")
# each row is sent on its own, so a --system-prompt heads every one (AIPerf puts its
# system message on every request)
want_sys = [body(i, strip[i], "Be brief.") for i in range(8)]
same(metronome("sys", "--uuid-and-strip", "--system-prompt", "Be brief."), want_sys,
     "--system-prompt bodies")

aip = os.environ.get("AIPERF")
if not aip:
    print("aiperf not installed: the comparison with AIPerf 0.13's own bodies is skipped")
else:
    tok = word_tokenizer(os.path.join(TMP, "tok"),
                         {w for r in rows for w in r["text"].split()} | {"Be", "brief", "hi"})
    # one at a time: at --concurrency 2 AIPerf 0.13 does not hold --request-count's
    # budget for a session in flight, so when s1 replies slowly it starts s1 again
    # (`look 1` twice, `look 4` never sent: seen in CI). The bodies do not depend on
    # the concurrency (the strip is decided when the file is loaded).
    def aiperf(name, *flags):
        with RawServer(chat_answer) as s:
            d = os.path.join(TMP, name)
            p = subprocess.run([aip, "profile", "-m", "m", "--url", "http://" + s.url,
                                "--endpoint-type", "chat", "--input-file", "st.jsonl",
                                "--custom-dataset-type", "single_turn", "--request-count", "8",
                                "--concurrency", "1", "--tokenizer", tok,
                                "--artifact-dir", d, "--ui-type", "none",
                                "--no-server-metrics", "--no-gpu-telemetry", *flags],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=300, env=dict(os.environ, HOME=TMP))
            check(p.returncode == 0, "aiperf", name, p.stdout[-3000:], p.stderr[-3000:])
            return chat_bodies(s)
    same(aiperf("aip-strip", "--uuid-and-strip"), want_strip, "AIPerf 0.13's bodies")
    same(aiperf("aip-plain"), want_plain, "AIPerf 0.13's bodies without the option")
    same(aiperf("aip-sys", "--uuid-and-strip", "--system-prompt", "Be brief."), want_sys,
         "AIPerf 0.13's bodies with --system-prompt")
    print("AIPerf 0.13 sent the same bodies")
PY

# bad values: one line naming the option, exit 2, no trace
refused() { # refused WHAT PACK-ARGS...
    local what=$1; shift
    expect_exit 2 "$M" pack -m m -o bad.zst "$@"
    [ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "not one line: $(cat "$E2E_TMP/stderr")"
    grep -qF -- "$what" "$E2E_TMP/stderr" || fail "'$what' not in: $(cat "$E2E_TMP/stderr")"
    [ ! -e bad.zst ] || fail "bad.zst written for $*"
}
refused "--uuid-and-strip requires --endpoint-type chat (not responses)" --uuid-and-strip \
    --endpoint-type responses --input-file st.jsonl --custom-dataset-type single_turn
printf '{"session_id":"s","turns":[{"text":"a"}]}\n' >mt.jsonl
refused "--uuid-and-strip: not with --custom-dataset-type multi_turn" --uuid-and-strip \
    --input-file mt.jsonl --custom-dataset-type multi_turn
# a source that cannot strip: a warning, and the same trace as without the option
"$M" pack -m m -o syn1.zst --isl 8 --osl 2 --random-seed 3 --uuid-and-strip 2>warn
grep -q "uuid-and-strip has no effect with a synthetic dataset" warn || fail "no warning: $(cat warn)"
"$M" pack -m m -o syn2.zst --isl 8 --osl 2 --random-seed 3
[ "$(zstd -dcq syn1.zst | tail -n +2 | sha256sum)" = "$(zstd -dcq syn2.zst | tail -n +2 | sha256sum)" ] ||
    fail "--uuid-and-strip changed a synthetic trace"

# bad rows: FILE:LINE: field, exit 1 (bad input, as every pack file error), no trace; the
# same through profile, which leaves no run directory
bad_row() { # bad_row ROW WHAT
    printf '{"session_id":"s","text":"a"}\n%s\n' "$1" >row.jsonl
    expect_exit 1 "$M" pack -m m -o bad.zst --input-file row.jsonl --custom-dataset-type single_turn \
        --uuid-and-strip
    [ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "not one line: $(cat "$E2E_TMP/stderr")"
    grep -qF -- "row.jsonl:2: field '$2'" "$E2E_TMP/stderr" || fail "want row.jsonl:2 $2: $(cat "$E2E_TMP/stderr")"
    [ ! -e bad.zst ] || fail "bad.zst written for $1"
}
bad_row '{"text":"b","images":["x","y"],"image_uuids":["u"]}' image_uuids
bad_row '{"text":"b","image":"x","image_uuids":["u"]}' image_uuids
bad_row '{"text":"b","images":["x"],"image_uuids":[""]}' image_uuids
bad_row '{"text":"b","images":[{"contents":["x"]}],"image_uuids":["u"]}' image_uuids
bad_row '{"text":"b","images":[{"contents":["x","y"],"uuids":["u"]}]}' images
bad_row '{"text":"b","session_id":7}' session_id
printf '{"text":"a","images":["x"],"image_uuids":"u"}\n' >row.jsonl
expect_exit 1 "$M" profile -m m --url 127.0.0.1:9 --ui none --artifact-dir runs/bad \
    --input-file row.jsonl --custom-dataset-type single_turn --uuid-and-strip
[ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] && grep -qF "row.jsonl:1: field 'image_uuids'" "$E2E_TMP/stderr" ||
    fail "profile, bad row: $(cat "$E2E_TMP/stderr")"
[ ! -e runs/bad ] || fail "runs/bad left behind"
echo ok
