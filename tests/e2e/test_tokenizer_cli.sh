#!/usr/bin/env bash
# --tokenizer in pack and report, checked against the PyPI `tokenizers` package (the
# reference metronome's engine must match): two tokenizer.json files trained here
# (byte-level BPE with the GPT-2 regex; Metaspace BPE with byte fallback), found as a
# path, a directory and a Hugging Face cache entry. Synthetic prompts must re-encode to
# exactly --isl tokens (with a prefix pool: prefix + prompt exactly), every hash block to
# exactly its size, every isl field to the true count; the report's OSL must be the
# response text's token count, and --use-server-token-count the server's. Bad input: one
# line, exit 1 (2 for a flag), no trace written.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
M=$METRONOME
venv="$E2E_ROOT/.cache/tokenizers"
if ! "$venv/bin/python" -c 'import tokenizers, sys; sys.exit(tokenizers.__version__ != "0.23.3")' 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q tokenizers==0.23.3 || fail "cannot install tokenizers==0.23.3 from PyPI"
fi
py="$venv/bin/python"
tools="$E2E_ROOT/tests/e2e/tok_tools.py"
corpus="$E2E_ROOT/vendor/src/corpus/shakespeare.txt"

# every_equal FILE N: every number in FILE is N (and there is at least one)
every_equal() {
    awk -v n="$2" '{for(i=1;i<=NF;i++){c++; if($i!=n){bad++; if(bad<4) print "count " $i " != " n > "/dev/stderr"}}}
        END{if(c==0){print "no counts" > "/dev/stderr"; exit 1} if(bad){print bad "/" c " off" > "/dev/stderr"; exit 1}}' "$1"
}
# isl_matches TRACE TOKENIZER: each request's isl field is the reference count of its texts
isl_matches() {
    "$M" inspect --bodies "$1" >bodies.jsonl
    "$py" "$tools" counts "$2" <bodies.jsonl | awk '{s=0; for(i=1;i<=NF;i++) s+=$i; print s}' >ref
    zstdcat "$1" | grep '^{"session"' | sed 's/.*"isl":\([0-9]*\).*/\1/' >isl
    cmp -s ref isl || { paste ref isl | head >&2; fail "$1: isl fields differ from the tokenizers counts"; }
}

for kind in bytelevel metaspace; do
    mkdir -p "$kind"
    "$py" "$tools" train "$kind/tokenizer.json" "$corpus" "$kind" || fail "train $kind"
    tj="$kind/tokenizer.json"

    # Synthetic: every prompt is exactly --isl tokens; a directory is accepted.
    "$M" pack -m m --tokenizer "$kind" --isl 300 --conversation-num 40 -o s.jsonl.zst 2>pack.log ||
        { cat pack.log >&2; fail "$kind: pack"; }
    "$M" inspect --bodies s.jsonl.zst | "$py" "$tools" counts "$tj" >counts
    every_equal counts 300 || fail "$kind: synthetic prompts are not 300 tokens"
    isl_matches s.jsonl.zst "$tj"
    # sed reads to the end: `head -1 | grep -q` under pipefail failed when zstdcat got SIGPIPE
    zstdcat s.jsonl.zst | sed -n 1p >hdr
    grep -q "\"sha256\":\"$(sha256sum "$tj" | cut -d' ' -f1)\"" hdr ||
        fail "$kind: the header lacks the tokenizer's sha256"
    "$M" inspect s.jsonl.zst | grep -q "tokens     $kind (exact" || fail "$kind: inspect does not say exact"

    # A prefix pool: prefix + prompt exactly 50 + 200; a spread of lengths: isl true.
    "$M" pack -m m --tokenizer "$tj" --isl 200 --num-prefix-prompts 3 --prefix-prompt-length 50 \
        --conversation-num 30 -o p.jsonl.zst 2>/dev/null || fail "$kind: pack with prefixes"
    "$M" inspect --bodies p.jsonl.zst | "$py" "$tools" counts "$tj" >counts
    every_equal counts 250 || fail "$kind: prefix + prompt is not 250 tokens"
    "$M" pack -m m --tokenizer "$tj" --isl 120 --isl-stddev 40 --batch-size 2 --conversation-num 30 \
        --endpoint-type completions -o b.jsonl.zst 2>/dev/null || fail "$kind: pack with a spread"
    isl_matches b.jsonl.zst "$tj"

    # Mooncake hash blocks: each block exactly its size, shared blocks the same text.
    "$M" pack -m m --tokenizer "$tj" --input-file "$E2E_ROOT/testdata/trace/mooncake.jsonl" \
        -o mc.jsonl.zst 2>/dev/null || fail "$kind: pack mooncake"
    zstdcat mc.jsonl.zst | "$py" "$tools" blocks "$tj" >blocks
    [ -s blocks ] || fail "$kind: no literal blocks"
    awk '$2 != $3 {print; bad=1} END{exit bad}' blocks >&2 || fail "$kind: a block is not its size"
    isl_matches mc.jsonl.zst "$tj"
done

# The Hugging Face cache: refs/main names the snapshot; the header records where from.
tj=bytelevel/tokenizer.json
sha=$(sha256sum "$tj" | cut -d' ' -f1)
commit=0123456789abcdef0123456789abcdef01234567
mkdir -p "hub/models--test--bpe/refs" "hub/models--test--bpe/snapshots/$commit"
echo "$commit" >hub/models--test--bpe/refs/main
cp "$tj" "hub/models--test--bpe/snapshots/$commit/"
HF_HUB_CACHE=$PWD/hub "$M" pack -m m --tokenizer test/bpe --isl 64 --conversation-num 3 \
    -o h.jsonl.zst 2>/dev/null || fail "pack from the hub cache"
zstdcat h.jsonl.zst | sed -n 1p >hdr
grep -q "\"tokenizer\":{\"name\":\"test/bpe\",\"approximate\":false,\"sha256\":\"$sha\",\"source\":\"hf-cache\",\"revision\":\"main\",\"commit\":\"$commit\"}" hdr ||
    fail "hub header: $(cut -c1-400 hdr)"

# Bad input: one line, the exit code, nothing written.
bad() { # bad CODE MESSAGE-PIECE ARGS...
    local code=$1 msg=$2; shift 2
    rm -f x.jsonl.zst
    expect_exit "$code" env HF_HUB_CACHE="$PWD/hub" "$M" pack -m m -o x.jsonl.zst "$@"
    [ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "not one line: $(cat "$E2E_TMP/stderr")"
    grep -qF -- "$msg" "$E2E_TMP/stderr" || fail "wanted '$msg', got '$(cat "$E2E_TMP/stderr")'"
    [ ! -e x.jsonl.zst ] || fail "a refused pack wrote a trace"
    ls | grep -q '\.tmp\.' && fail "a refused pack left a temporary file" || true
}
bad 1 "No such file or directory" --tokenizer ./missing/tokenizer.json
bad 1 "looked in: $PWD/hub/models--test--none (absent)" --tokenizer test/none
bad 1 "refs/v9 (absent or not a commit hash)" --tokenizer test/bpe --tokenizer-revision v9
bad 2 "not a branch, tag or commit name" --tokenizer test/bpe --tokenizer-revision ../main
bad 2 "refused: metronome runs no remote code" --tokenizer test/bpe --tokenizer-trust-remote-code
printf '{"model": {"type": "BPE", "vocab": {' >trunc.json
bad 1 "trunc.json" --tokenizer trunc.json
expect_exit 2 "$M" profile -m m --tokenizer test/bpe --tokenizer-trust-remote-code
[ ! -e artifacts ] || fail "a refused profile left artifacts"

# report: OSL is the response text's count (reasoning counted apart), as AIPerf's default.
port=$(free_port)
"$M" mock --port "$port" --ttft 1ms --itl 0ms --reasoning-tokens 3 >mock.log 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
wait_port "$port"
HF_HUB_CACHE=$PWD/hub "$M" pack -m m --streaming --tokenizer test/bpe --isl 40 --osl 30 \
    --request-count 20 -o r.jsonl.zst 2>/dev/null || fail "pack for the report"
"$M" replay r.jsonl.zst --url "127.0.0.1:$port" --concurrency 2 --record-text -o run >/dev/null 2>&1 ||
    fail "replay --record-text"
# profile end to end: --tokenizer to pack, --record-text to replay, the report counts text
HF_HUB_CACHE=$PWD/hub "$M" profile -m m --streaming --tokenizer test/bpe --isl 32 --osl 8 \
    --request-count 6 --url "127.0.0.1:$port" --ui-type none --artifact-dir prof >prof.log 2>&1 ||
    { cat prof.log >&2; fail "profile --tokenizer"; }
grep -q "output of 6 request(s) from tokenizer test/bpe" prof/profile_export_console.txt ||
    fail "profile: the report did not count with the tokenizer"
"$M" inspect --bodies prof/trace.jsonl.zst | "$py" "$tools" counts "$tj" >counts
every_equal counts 32 || fail "profile: prompts are not 32 tokens"
kill $mock
# the tokenizer comes from run.json's trace header, found in the cache again
HF_HUB_CACHE=$PWD/hub "$M" report run -o out >console.txt 2>report.log || fail "report"
grep -q "output of 20 request(s) from tokenizer test/bpe on the response text" console.txt ||
    fail "console: $(grep -i 'token counts' console.txt)"
HF_HUB_CACHE=$PWD/hub "$M" report run -o out2 --use-server-token-count >console2.txt 2>&1 ||
    fail "report --use-server-token-count"
"$py" - "$tj" run/records.jsonl.zst out/profile_export.jsonl out2/profile_export.jsonl <<'PY' || fail "report OSL"
import json, subprocess, sys
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
recs = {}
for line in subprocess.run(["zstdcat", sys.argv[2]], capture_output=True, text=True).stdout.splitlines():
    r = json.loads(line)
    recs[r["i"]] = r
def osl(path):
    out = {}
    for line in open(path):
        j = json.loads(line)
        m = j["metrics"]
        out[int(j["metadata"]["x_request_id"])] = (m["output_sequence_length"]["value"],
                                                   m.get("reasoning_token_count", {}).get("value"))
    return out
mine, server = osl(sys.argv[3]), osl(sys.argv[4])
n = 0
for i, r in recs.items():
    t = len(tok.encode(r["text"], add_special_tokens=False).ids)
    rt = len(tok.encode(r["reasoning_text"], add_special_tokens=False).ids)
    assert r["reasoning_text"], "the mock sent no reasoning text"
    assert mine[i] == (t + rt, rt), (i, mine[i], t, rt)
    assert server[i][0] == r["usage"]["completion_tokens"], (i, server[i], r["usage"])
    n += 1
assert n == 20, n
import os
for d, want in ((os.path.dirname(sys.argv[3]), False), (os.path.dirname(sys.argv[4]), True)):
    ic = json.load(open(os.path.join(d, "profile_export_aiperf.json")))["input_config"]
    assert ic["endpoint"]["use_server_token_count"] is want, (d, ic["endpoint"])
PY
