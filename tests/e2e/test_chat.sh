# metronome chat (issue 15 §5, AIPerf 0.13's `aiperf chat`): two lines piped to it against
# the mock give two streamed replies, each followed by TTFT, TPS (tokens and latency) and
# ITL consistent with the mock's timing; the second request carries the conversation
# (--no-history: it does not); the API key is sent and never printed; a failed turn is one
# "request failed" line and the chat carries on; bad options exit 2 with one line.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
port=$(free_port)
mock() { # starts the mock writing its timing log to $1
    "$METRONOME" mock --port "$port" --ttft 40ms --itl 1ms --osl 8 --timing-log "$1" \
        --fault status=503@idx=2 >/dev/null 2>"$E2E_TMP/mock.err" &
    pid=$!
    wait_port "$port"
}
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap stop EXIT
key=sk-chat-secret-4242
mock tl1.jsonl
printf 'hello there\nand a second question\n' |
    OPENAI_API_KEY=$key "$METRONOME" chat -m m --url "127.0.0.1:$port" >out1 2>err1 ||
    fail "chat exited $?: $(cat err1)"
stop
grep -q "^Please enter a message for the chat model (Ctrl-D to exit):$" out1 || fail "no prompt: $(cat out1)"
! grep -q "$key" out1 err1 || fail "the API key was printed"
[ ! -s err1 ] || fail "stderr: $(cat err1)"
python3 - out1 tl1.jsonl <<'PY' || fail "chat stats do not match the mock"
import json, re, sys
out = open(sys.argv[1]).read()
log = [json.loads(l) for l in open(sys.argv[2])]
ttft = [float(x) for x in re.findall(r"^TTFT: ([0-9.]+) ms$", out, re.M)]
tps = re.findall(r"^TPS:  ([0-9.]+) tokens/s \((\d+) tokens in ([0-9.]+)s\)$", out, re.M)
itl = re.findall(r"^ITL:  ([0-9.]+) ms/token \(decode ([0-9.]+) tokens/s\)$", out, re.M)
assert len(ttft) == 2 and len(tps) == 2 and len(itl) == 2, out
for t in ttft:  # the mock waits 40 ms before the first token; loopback adds little
    assert 40 <= t < 1000, ttft
for rate, n, lat in tps:
    assert int(n) == 8, tps  # the mock's usage.completion_tokens
    assert abs(8 / float(rate) - float(lat)) <= 0.0051, tps  # latency printed to 0.01 s
for (ms, dec), t, (rate, n, lat) in zip(itl, ttft, tps):
    # (latency - TTFT) / (OSL - 1), AIPerf's ITL; latency from the unrounded rate
    lat_ms = 8000 / float(rate)
    assert abs(float(ms) * 7 + t - lat_ms) <= 0.1, (ms, t, lat_ms)
    if float(ms) >= 0.1:  # a loaded client may read every event at once: ITL ~ 0.01
        assert abs(float(dec) - 1000 / float(ms)) <= 0.01 * float(dec), (ms, dec)
# the replies were streamed to the terminal: each reply line precedes its stats
assert out.count("> ") >= 3, out
assert len(log) == 2 and all(r["stream"] and r["status"] == 200 for r in log), log
# the second request holds the first message and its reply: more prompt tokens
assert log[1]["prompt_tokens"] > log[0]["prompt_tokens"] + 8, [r["prompt_tokens"] for r in log]
PY

# --no-history: the same message twice costs the same prompt; a failing turn (the mock's
# third request answers 503) is reported and the chat goes on.
mock tl2.jsonl
printf 'same words\nsame words\nthird fails\nfourth works\n' |
    "$METRONOME" chat -m m --url "http://127.0.0.1:$port/v1" --no-history --system-prompt "be brief" \
        >out2 2>err2 || fail "chat --no-history exited $?: $(cat err2)"
stop
grep -q "^request failed: HTTP 503 Service Unavailable: " err2 || fail "503 not reported: $(cat err2)"
[ "$(wc -l < err2)" = 1 ] || fail "stderr: $(cat err2)"
[ "$(grep -c '^TTFT: ' out2)" = 3 ] || fail "wanted 3 replies: $(cat out2)"
python3 -c "
import json
log = [json.loads(l) for l in open('tl2.jsonl')]
p = [r['prompt_tokens'] for r in log]
assert len(log) == 4 and p[0] == p[1], p
assert all(r['path'] == '/v1/chat/completions' for r in log), [r['path'] for r in log]
" || fail "--no-history resent the conversation, or the /v1 base was doubled"

# --quick: one message, exit 0; a server that is not there: exit 1 and one line.
mock tl3.jsonl
expect_exit 0 "$METRONOME" chat -m m -u "127.0.0.1:$port" -q "just once"
grep -q "^TTFT: " "$E2E_TMP/stdout" || fail "--quick printed no stats"
stop
expect_exit 1 "$METRONOME" chat -m m -u "127.0.0.1:$port" -q "nobody home" --connect-timeout 2
grep -q "^metronome: error: request failed: cannot connect to 127.0.0.1:$port" "$E2E_TMP/stderr" ||
    fail "$(cat "$E2E_TMP/stderr")"
# bad options: one line naming the option and value, exit 2
expect_exit 2 "$METRONOME" chat -m m --endpoint-type completions -q x
grep -q "^metronome: error: --endpoint-type: 'completions' is not supported" "$E2E_TMP/stderr" ||
    fail "$(cat "$E2E_TMP/stderr")"
expect_exit 2 "$METRONOME" chat -q x
grep -q "^metronome: error: --model is required" "$E2E_TMP/stderr" || fail "$(cat "$E2E_TMP/stderr")"
expect_exit 2 "$METRONOME" chat -m m --url "ftp://$key@h" -q x
! grep -q "$key" "$E2E_TMP/stderr" || fail "a URL secret reached stderr: $(cat "$E2E_TMP/stderr")"
# a key that would split the request head (CR) is refused before anything is sent, as replay does
OPENAI_API_KEY=$'sk-a\rInjected: 1' expect_exit 2 "$METRONOME" chat -m m --url "http://127.0.0.1:9" -q x
grep -q "^metronome: error: the API key: control character" "$E2E_TMP/stderr" ||
    fail "a CR in the key: $(cat "$E2E_TMP/stderr")"
# HTTPS: the mock's own CA trusted with --ca-file gives a streamed reply; without it, the
# certificate is refused (verification is on by default) in one line, exit 1.
"$METRONOME" mock --port "$port" --ttft 5ms --itl 1ms --osl 4 --tls-self-signed tlsdir \
    >/dev/null 2>"$E2E_TMP/mock.err" &
pid=$!
wait_port "$port"
expect_exit 0 "$METRONOME" chat -m m -u "https://127.0.0.1:$port" --ca-file tlsdir/ca.pem -q "over tls"
grep -q "^TTFT: " "$E2E_TMP/stdout" || fail "https: no stats: $(cat "$E2E_TMP/stderr")"
expect_exit 1 "$METRONOME" chat -m m -u "https://127.0.0.1:$port" -q "untrusted"
[ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] && grep -q "certificate" "$E2E_TMP/stderr" ||
    fail "https without the CA: $(cat "$E2E_TMP/stderr")"
stop
