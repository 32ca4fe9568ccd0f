# Hostile runs (issue 17): what profile, replay and inspect do with failed reports,
# existing run dirs, bad --extra-inputs, corrupt traces, cut records, API keys.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 0 --itl 0 >/dev/null 2>"$E2E_TMP/mock.err" &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
wait_port "$port"
cd "$E2E_TMP"
PROF=("$METRONOME" profile -m m --url "127.0.0.1:$port" --request-count 3 --isl 8 --osl 2 --ui none)

# --- the results-ready marker tells the truth or is absent: a report that fails (an
# export path that is a directory) leaves no marker, and removes an earlier run's.
expect_exit 0 "${PROF[@]}" --output-artifact-dir art
grep -q '"ready":true' art/.aiperf_results_ready.json || fail "marker after a good run"
rm art/profile_export_aiperf.json && mkdir art/profile_export_aiperf.json
expect_exit 1 "${PROF[@]}" --output-artifact-dir art
grep -q "profile_export_aiperf.json: is a directory" "$E2E_TMP/stderr" ||
    fail "report failure message: $(cat "$E2E_TMP/stderr")"
[ ! -e art/.aiperf_results_ready.json ] || fail "results-ready marker after a failed report"

# --- replay --extra-inputs: what pack refuses, replay refuses (exit 2, one line), with
# pack's message; a good value reaches every body.
"$METRONOME" pack -m m --request-count 40 --isl 8 --osl 2 -o t.zst 2>/dev/null
for bad in nocolon '[1,2' '{"a":' 'a:[1,2'; do
    expect_exit 2 "$METRONOME" pack -m m --request-count 1 --extra-inputs "$bad" -o x.zst
    packmsg=$(cat "$E2E_TMP/stderr")
    expect_exit 2 "$METRONOME" replay t.zst --url "127.0.0.1:$port" --extra-inputs "$bad" -o xr
    [ "$(cat "$E2E_TMP/stderr")" = "$packmsg" ] || fail "replay and pack differ on '$bad'"
    [ ! -e xr ] || fail "run dir written for a bad --extra-inputs"
done
expect_exit 0 "$METRONOME" replay t.zst --url "127.0.0.1:$port" --extra-inputs 'top_k:5,x:a b' -q -o xok
grep -q '"extra_inputs":"{\\"top_k\\":5,\\"x\\":\\"a b\\"}"' xok/run.json || fail "extra inputs in run.json"

# --- a trace corrupt near its end fails before the first request is sent.
"$METRONOME" pack -m m --request-count 4000 --isl 8 --osl 2 -o long.zst 2>/dev/null
size=$(stat -c %s long.zst)
head -c $((size - 20)) long.zst >cut.zst
expect_exit 1 "$METRONOME" replay cut.zst --url "127.0.0.1:$port" --concurrency 4 -q -o cutrun
grep -q "cut.zst:[0-9]*: truncated zstd stream" "$E2E_TMP/stderr" || fail "cut trace: $(cat "$E2E_TMP/stderr")"
[ ! -e cutrun ] || fail "requests were sent from a corrupt trace (run dir exists)"

# --- inspect checks a complete run's records against run.json; report refuses duplicates
# and warns about records that end before they start.
for k in cut rand dup back lost; do cp -r xok "$k"; done
size=$(stat -c %s xok/records.jsonl.zst)
head -c $((size / 2)) xok/records.jsonl.zst >cut/records.jsonl.zst
head -c 3000 /dev/urandom | tr -d '\n' >rand/records.jsonl.zst
zstd -dc xok/records.jsonl.zst >dup/records.jsonl && head -1 dup/records.jsonl >>dup/records.jsonl
zstd -dc xok/records.jsonl.zst | sed '1s/"t_end":[0-9]*/"t_end":5/' >back/records.jsonl
zstd -dc xok/records.jsonl.zst | head -n 30 >lost/records.jsonl
rm dup/records.jsonl.zst back/records.jsonl.zst lost/records.jsonl.zst
for k in cut rand; do
    expect_exit 1 "$METRONOME" inspect "$k"
    grep -q "bytes after the last complete record in a run marked complete" "$E2E_TMP/stderr" ||
        fail "inspect $k: $(cat "$E2E_TMP/stderr")"
done
expect_exit 1 "$METRONOME" inspect lost
grep -q "30 records, but run.json counts 40 (completed 40 + not_sent 0)" "$E2E_TMP/stderr" ||
    fail "inspect lost: $(cat "$E2E_TMP/stderr")"
expect_exit 0 "$METRONOME" report -q lost -o lost/o
grep -q "warning: .*30 records, but run.json counts 40" "$E2E_TMP/stderr" || fail "report lost"
grep -q "incomplete" "$E2E_TMP/stderr" || fail "report lost: not incomplete"
expect_exit 1 "$METRONOME" inspect dup
expect_exit 1 "$METRONOME" report -q dup -o dup/o
grep -q "dup/records.jsonl:41: duplicate record (profile i=0, first at line 1)" "$E2E_TMP/stderr" ||
    fail "report dup: $(cat "$E2E_TMP/stderr")"
expect_exit 0 "$METRONOME" report -q back -o back/o
grep -q "warning: .*back/records.jsonl:1: 1 record(s) end before they start" "$E2E_TMP/stderr" ||
    fail "report back: $(cat "$E2E_TMP/stderr")"
sed 's/"version":1,/"version":7,/' xok/run.json >back/run.json
expect_exit 1 "$METRONOME" report -q back -o back/o
grep -q "run format version 7 is not supported (this build reads 1)" "$E2E_TMP/stderr" ||
    fail "report version: $(cat "$E2E_TMP/stderr")"

# --- replay -o an earlier run: refused unless --overwrite (profile above reused its
# artifact dir, as AIPerf does, through --overwrite).
expect_exit 1 "$METRONOME" replay t.zst --url "127.0.0.1:$port" -q -o xok
grep -q "xok already holds a run (run.json): pass --overwrite" "$E2E_TMP/stderr" ||
    fail "existing run: $(cat "$E2E_TMP/stderr")"
expect_exit 0 "$METRONOME" replay t.zst --url "127.0.0.1:$port" -q -o xok --overwrite

# --- a server answering 200 with a body that is not JSON (and logging the Authorization
# header it gets): the record names the error; the API key comes from --api-key, then
# --api-key-file, then $OPENAI_API_KEY, and is in no file of the run.
bport=$(free_port)
cat >bad200.py <<'PY'
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); s.settimeout(60)
log = open(sys.argv[2], "a")
def serve(c):
    buf = b""
    while True:
        d = c.recv(65536)
        if not d: return
        buf += d
        while b"\r\n\r\n" in buf:
            head, rest = buf.split(b"\r\n\r\n", 1)
            n = 0
            for l in head.split(b"\r\n"):
                if l.lower().startswith(b"content-length:"): n = int(l.split(b":")[1])
                if l.lower().startswith(b"authorization:"): log.write(l.decode() + "\n"); log.flush()
            if len(rest) < n: break
            buf = rest[n:]
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\nnot json!")
try:
    while True:
        c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
except socket.timeout: pass
PY
python3 bad200.py "$bport" auth.log &
srv=$!
trap 'kill $mock $srv 2>/dev/null || true' EXIT
wait_port "$bport"
"$METRONOME" pack -m m --request-count 2 --isl 8 --osl 2 -o two.zst 2>/dev/null
R=("$METRONOME" replay two.zst --url "127.0.0.1:$bport" -q --concurrency 1 --no-server-metrics)
expect_exit 1 "${R[@]}" -o k0
zstd -dc k0/records.jsonl.zst | sed -n 1p |
    grep -q '"error":{"code":200,"type":"protocol","message":"response body is not chat JSON: not json!"}' ||
    fail "200 with a bad body: $(zstd -dc k0/records.jsonl.zst | head -1)"
expect_exit 3 "$METRONOME" report -q k0 -o k0/o
grep -q "response body is not chat JSON" k0/o/profile_export_aiperf.json || fail "error summary empty"
printf 'sk-from-file\n' >key.txt
: >auth.log
OPENAI_API_KEY=sk-from-env expect_exit 1 "${R[@]}" -o k1 --api-key-file key.txt
OPENAI_API_KEY=sk-from-env expect_exit 1 "${R[@]}" -o k2
OPENAI_API_KEY=sk-from-env expect_exit 1 "${R[@]}" -o k3 --api-key sk-from-argv --api-key-file key.txt
sort -u auth.log >auth.sorted
printf 'Authorization: Bearer %s\n' sk-from-argv sk-from-env sk-from-file | diff - auth.sorted ||
    fail "key precedence: $(cat auth.log)"
[ "$(grep -c sk-from-file auth.log)" = 2 ] && [ "$(grep -c sk-from-env auth.log)" = 2 ] ||
    fail "key per run: $(cat auth.log)"
! grep -rq 'sk-from' k1 k2 k3 || fail "an API key reached a run file"
printf '\n' >empty.txt
expect_exit 1 "${R[@]}" -o k4 --api-key-file empty.txt
grep -q "api-key-file empty.txt: the first line is empty" "$E2E_TMP/stderr" || fail "empty key file"
expect_exit 1 "${R[@]}" -o k4 --api-key-file nosuch.txt
grep -q "api-key-file: nosuch.txt: cannot open" "$E2E_TMP/stderr" || fail "missing key file: $(cat "$E2E_TMP/stderr")"
[ ! -e k4 ] || fail "run dir written despite a bad key file"

# --- pack counts are bounded by what a trace holds (1e12 conversations used to run for days).
expect_exit 2 "$METRONOME" pack -m m --num-conversations 1000000000000 -o big.zst
grep -q "out of range \[1, 2147483647\]" "$E2E_TMP/stderr" || fail "count bound"
expect_exit 1 "$METRONOME" pack -m m --num-conversations 100000000 --conversation-turn-mean 100 -o big.zst
grep -q "more than a trace holds" "$E2E_TMP/stderr" || fail "turns bound"
[ ! -e big.zst ] || fail "trace written past the bound"
