#!/usr/bin/env bash
# AIPerf 0.13 input options, second batch (issue 15): --cache-bust puts AIPerf's per-session
# marker "[rid:" + sha256("RUN:K:K:SESSION")[:12] + "]" (RUN the header's fresh run id, K
# the session's ordinal) into the packed bodies: "marker\n\n" before (prefix) or "\n\nmarker"
# after (suffix) the system text when there is one (system_*), else the first turn's first
# prompt; later chat turns carry it through the live history, responses repeat it in
# "instructions". --allow-dataset-wrap is accepted and changes nothing (AIPerf reads it in
# agentic replay only). Each option also runs under `profile` against the mock; bad values,
# warmup-isolation targets, endpoints AIPerf does not bust, --max-context-length (with
# synthetic data, as AIPerf 0.13 refuses it) and --uuid-and-strip off chat exit 2 with one
# line naming the option, and write nothing.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
M=$METRONOME

# check TRACE CODE: CODE runs with H = the header, T = the request lines, mk(k, session,
# prefix) = the marker AIPerf's formula gives with the header's run id
check() { python3 - "$1" "$2" <<'PY' || fail "$1: $2"
import hashlib, json, subprocess, sys
raw = subprocess.run(["zstd", "-dcq", sys.argv[1]], capture_output=True, check=True).stdout
L = [json.loads(l) for l in raw.decode().splitlines()]
H, T = L[0], [l for l in L if "session" in l]
def mk(k, s, prefix):
    rid = "[rid:%s]" % hashlib.sha256(f"{H['cache_bust']['run_id']}:{k}:{k}:{s}".encode()).hexdigest()[:12]
    return rid + "\n\n" if prefix else "\n\n" + rid
def parts(v):  # a packed text value as its list of parts
    return v["$text"] if isinstance(v, dict) else [v]
first = [t for t in T if t["turn"] == 0]
exec(sys.argv[2])
PY
}
syn=(-m m --isl 40 --osl 3 --random-seed 7 --conversation-num 3 --conversation-turn-mean 2)

# system_prefix with a shared system prompt: the marker opens the system message of each
# session's first turn; the user prompts and the later turns are untouched
$M pack "${syn[@]}" --shared-system-prompt-length 30 --cache-bust system_prefix -o sp.zst 2>/dev/null
$M pack "${syn[@]}" --shared-system-prompt-length 30 -o plain.zst 2>/dev/null
check sp.zst '
assert H["cache_bust"]["target"] == "system_prefix" and len(H["cache_bust"]["run_id"]) == 32, H
assert len(first) == 3
for k, t in enumerate(first):
    m = t["body"]["messages"]
    assert m[0]["role"] == "system" and parts(m[0]["content"])[0] == mk(k, t["session"], True), m[0]
    assert all("[rid:" not in json.dumps(x) for x in m[1:]), m
assert len({json.dumps(parts(t["body"]["messages"][0]["content"])[0]) for t in first}) == 3
assert all("[rid:" not in json.dumps(t["body"]) for t in T if t["turn"] > 0)'
# AIPerf's ISL compensation: the marker's tokens come off the shared system prompt (its
# block is shorter; the user prompts and later turns are the very bytes of the trace
# without --cache-bust; the first turn's isl stays near it: the mean of AIPerf's 8 sample
# markers comes off and each marker costs its own count, a few tokens either way, where
# without compensation it would be 11 or more tokens longer)
python3 - <<'PY' || fail "system_prefix compensation"
import json, subprocess
def lines(f):
    raw = subprocess.run(["zstd", "-dcq", f], capture_output=True, check=True).stdout.decode()
    return [json.loads(l) for l in raw.splitlines()]
a, b = lines("sp.zst"), lines("plain.zst")
blk = lambda L: [l for l in L if "block" in l][0]["tokens"]
assert 1 <= blk(a) < blk(b) == 30, (blk(a), blk(b))
ra, rb = [l for l in a if "session" in l], [l for l in b if "session" in l]
for x, y in zip(ra, rb):
    if x["turn"] > 0:
        assert x == y, (x, y)
    else:
        assert x["body"]["messages"][1:] == y["body"]["messages"][1:], (x, y)
        assert abs(x["isl"] - y["isl"]) <= 6, (x["isl"], y["isl"])
PY
zstdcat plain.zst | head -1 | grep -q cache_bust && fail "header names cache_bust without it"
# a fresh run id per pack (AIPerf's uuid4 benchmark id): the same seed, other markers
$M pack "${syn[@]}" --shared-system-prompt-length 30 --cache-bust system_prefix -o sp2.zst 2>/dev/null
[ "$(zstdcat sp.zst | head -1 | grep -o '"run_id":"[0-9a-f]*"')" != \
  "$(zstdcat sp2.zst | head -1 | grep -o '"run_id":"[0-9a-f]*"')" ] || fail "run id repeated"

# system_suffix with --system-prompt: appended to the verbatim system text
$M pack "${syn[@]}" --system-prompt "Be brief." --cache-bust SYSTEM_SUFFIX -o ss.zst 2>/dev/null
check ss.zst '
for k, t in enumerate(first):
    c = t["body"]["messages"][0]["content"]
    assert t["body"]["messages"][0]["role"] == "system"
    assert c == "Be brief." + mk(k, t["session"], False), c'

# system_prefix with no system message falls back to the first user prompt, as AIPerf's
# worker does; first_turn_prefix is the same place
for tgt in system_prefix first_turn_prefix; do
    $M pack "${syn[@]}" --cache-bust $tgt -o $tgt.zst 2>/dev/null
    check $tgt.zst '
for k, t in enumerate(first):
    m = t["body"]["messages"]
    assert len(m) == 1 and m[0]["role"] == "user", m
    assert parts(m[0]["content"])[0] == mk(k, t["session"], True), m
assert all("[rid:" not in json.dumps(t["body"]) for t in T if t["turn"] > 0)'
    # the first prompt is shorter by the marker (AIPerf keeps the wire ISL at --isl): the
    # prompt without it holds fewer tokens, the isl with it within a few tokens of 40
    python3 - $tgt.zst <<'PY' || fail "$tgt compensation"
import json, subprocess, sys
raw = subprocess.run(["zstd", "-dcq", sys.argv[1]], capture_output=True, check=True).stdout.decode()
T = [json.loads(l) for l in raw.splitlines() if l.startswith('{"session"')]
for t in T:
    assert abs(t["isl"] - 40) <= 6 if t["turn"] == 0 else t["isl"] == 40, t
PY
done
# the marker's length comes off the prompt: a plain prompt of 40 tokens is longer
python3 - <<'PY' || fail "first_turn_prefix prompt not shortened"
import json, subprocess
def first(f):
    raw = subprocess.run(["zstd", "-dcq", f], capture_output=True, check=True).stdout.decode()
    return [json.loads(l) for l in raw.splitlines() if l.startswith('{"session"')][0]
a, b = first("first_turn_prefix.zst"), first("plain.zst")
la, lb = a["body"]["messages"][0]["content"]["$text"][1], b["body"]["messages"][1]["content"]["$text"][0]
assert la[1] < lb[1], (la, lb)
PY
# first_turn_suffix with a system prompt: the user prompt, not the system message, and with
# two prompts per request only the first
$M pack "${syn[@]}" --system-prompt "S." -b 2 --cache-bust first_turn_suffix -o fs.zst 2>/dev/null
check fs.zst '
for k, t in enumerate(first):
    m = t["body"]["messages"]
    assert m[0] == {"role": "system", "content": "S."}, m[0]
    c = m[1]["content"]
    assert parts(c[0]["text"])[-1] == mk(k, t["session"], False), c
    assert "[rid:" not in json.dumps(c[1]), c'
# a conversation drawn twice (--num-dataset-entries) still gets a marker per session
$M pack -m m --isl 12 --num-dataset-entries 2 --conversation-num 4 --cache-bust first_turn_prefix \
    -o draw.zst 2>/dev/null
check draw.zst '
mks = [parts(t["body"]["messages"][0]["content"])[0] for t in first]
assert len(set(mks)) == 4 and all(mks[k] == mk(k, first[k]["session"], True) for k in range(4)), mks
rest = [json.dumps(parts(t["body"]["messages"][0]["content"])[1:]) for t in first]
assert rest[0] == rest[2] and rest[1] == rest[3], rest'
# responses: "instructions" carries it on every turn of the session
$M pack "${syn[@]}" --endpoint-type responses --system-prompt "Be brief." --cache-bust system_prefix \
    -o resp.zst 2>/dev/null
check resp.zst '
ks = {t["session"]: k for k, t in enumerate(first)}
assert len(T) == 6
for t in T:
    assert t["body"]["instructions"] == mk(ks[t["session"]], t["session"], True) + "Be brief.", t'
# a dataset file: each session's first prompt
printf '%s\n' '{"text":"hello there"}' '{"text":"second one"}' >st.jsonl
$M pack -m m --input-file st.jsonl --custom-dataset-type single_turn --cache-bust first_turn_suffix \
    -o st.zst 2>/dev/null
check st.zst '
assert [t["body"]["messages"][0]["content"] for t in T] == [
    "hello there" + mk(0, T[0]["session"], False), "second one" + mk(1, T[1]["session"], False)], T'
# --cache-bust none and --allow-dataset-wrap / --no-allow-dataset-wrap: the same bytes as
# without them
for extra in "--cache-bust none" "--allow-dataset-wrap" "--no-allow-dataset-wrap"; do
    # shellcheck disable=SC2086
    $M pack "${syn[@]}" --shared-system-prompt-length 30 $extra -o same.zst 2>/dev/null
    cmp -s <(zstdcat same.zst | tail -n +2) <(zstdcat plain.zst | tail -n +2) ||
        fail "$extra changed the requests"
done

# refusals: exit 2, one line naming the option and value, no trace written
bad() { # bad WHAT ARGS...
    local what=$1; shift
    expect_exit 2 "$M" pack -m m -o bad.zst "$@"
    [ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "not one line for $*: $(cat "$E2E_TMP/stderr")"
    grep -qF -- "$what" "$E2E_TMP/stderr" || fail "error does not name '$what': $(cat "$E2E_TMP/stderr")"
    [ ! -e bad.zst ] || fail "bad.zst written by $*"
}
bad "--cache-bust: 'rid'" --cache-bust rid
bad "--cache-bust warmup_isolation_system" --cache-bust warmup_isolation_system
bad "--cache-bust warmup_isolation_first_turn" --cache-bust warmup_isolation_first_turn
bad "--cache-bust system_prefix: not supported by endpoint type completions" \
    --cache-bust system_prefix --endpoint-type completions
bad "--cache-bust first_turn_prefix" --cache-bust first_turn_prefix --input-file st.jsonl \
    --custom-dataset-type single_turn --dataset-sampling-strategy shuffle
bad "--allow-dataset-wrap" --allow-dataset-wrap=maybe
# a dataset's own messages arrays: refused (exit 1, bad input), nothing written
printf '%s\n' '{"session_id":"x","messages":[{"role":"user","content":"hi"}],"output_length":3}' >mm.jsonl
expect_exit 1 "$M" pack -m m --input-file mm.jsonl --cache-bust first_turn_prefix -o bad.zst
grep -qF -- "--cache-bust: not supported yet" "$E2E_TMP/stderr" || fail "messages: $(cat "$E2E_TMP/stderr")"
[ ! -e bad.zst ] || fail "bad.zst written for messages"

# profile against the mock: what inputs.json (the bodies sent) holds, per option
port=$(free_port)
"$M" mock --port "$port" --ttft 1ms --itl 100us --osl 4 >/dev/null 2>"$E2E_TMP/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
p() { # p DIR ARGS...: a profile run into runs/DIR; exit code in $rc
    local dir=$1; shift
    set +e
    "$M" profile -m m --url "127.0.0.1:$port" --ui none --artifact-dir "runs/$dir" \
        --isl 12 --osl 3 --random-seed 7 --concurrency 1 "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    rc=$?
    set -e
}
ok() { [ "$rc" = 0 ] || { cat "$E2E_TMP/err" >&2; fail "profile exit $rc: $*"; }; }
p cb --request-count 6 --conversation-turn-mean 2 --shared-system-prompt-length 30 --cache-bust system_prefix
ok cache-bust
python3 - <<'PY' || fail "profile --cache-bust: inputs.json"
import hashlib, json, re, subprocess
d = json.load(open("runs/cb/inputs.json"))["data"]
h = json.loads(subprocess.run(["zstd", "-dcq", "runs/cb/trace.jsonl.zst"], capture_output=True,
                              check=True).stdout.decode().splitlines()[0])
assert len(d) == 3 and all(len(s["payloads"]) == 2 for s in d), d
for k, s in enumerate(d):
    sysmsg = s["payloads"][0]["messages"][0]
    want = "[rid:%s]\n\n" % hashlib.sha256(
        f"{h['cache_bust']['run_id']}:{k}:{k}:{s['session_id']}".encode()).hexdigest()[:12]
    assert sysmsg["role"] == "system" and sysmsg["content"].startswith(want), sysmsg
    assert "[rid:" not in json.dumps(s["payloads"][1]), s
rec = [json.loads(l) for l in open("runs/cb/profile_export.jsonl")]
assert len(rec) == 6 and not any(r.get("error") for r in rec), rec[:1]
PY
p cbr --request-count 2 --endpoint-type responses --system-prompt "Be brief." --cache-bust system_suffix
ok cache-bust responses
python3 - <<'PY' || fail "profile responses --cache-bust"
import json, re
d = json.load(open("runs/cbr/inputs.json"))["data"]
ins = [p["instructions"] for s in d for p in s["payloads"]]
assert len(ins) == 2 and all(re.fullmatch(r"Be brief\.\n\n\[rid:[0-9a-f]{12}\]", i) for i in ins), ins
assert ins[0] != ins[1], ins
PY
p w0 --request-count 3
ok plain
for f in --allow-dataset-wrap --no-allow-dataset-wrap; do
    p "w$f" --request-count 3 "$f"
    ok "$f"
    cmp -s runs/w0/inputs.json "runs/w$f/inputs.json" || fail "$f changed the bodies sent"
done
refused() { # refused WHAT ARGS...: exit 2, one line naming WHAT, no run directory
    local what=$1; shift
    p bad "$@"
    [ "$rc" = 2 ] || fail "profile exit $rc (want 2) for $*"
    [ "$(wc -l <"$E2E_TMP/err")" = 1 ] || fail "not one line for $*: $(cat "$E2E_TMP/err")"
    grep -qF -- "$what" "$E2E_TMP/err" || fail "error does not name '$what': $(cat "$E2E_TMP/err")"
    [ ! -e runs/bad ] || fail "runs/bad left behind by $*"
}
refused "--cache-bust: 'bogus'" --cache-bust bogus
refused "--cache-bust warmup_isolation_system" --cache-bust warmup_isolation_system
refused "--cache-bust first_turn_suffix: not supported by endpoint type embeddings" \
    --cache-bust first_turn_suffix --endpoint-type embeddings
refused "--max-context-length" --max-context-length 4096
refused "--uuid-and-strip requires --endpoint-type chat (not completions)" --uuid-and-strip \
    --endpoint-type completions
echo ok
