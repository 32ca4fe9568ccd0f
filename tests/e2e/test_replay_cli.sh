# replay's command line: usage errors exit 2 with one line, --help documents every flag.
. "$E2E_ROOT/tests/e2e/lib.sh"
expect_exit 0 "$METRONOME" replay --help
for f in --request-rate --arrival-pattern --concurrency --benchmark-grace-period \
    --fixed-schedule-auto-offset --request-cancellation-rate --api-key --insecure; do
    grep -q -- "$f" "$E2E_TMP/stdout" || fail "--help does not mention $f"
done
expect_exit 2 "$METRONOME" replay
grep -q "^metronome: error: no trace given" "$E2E_TMP/stderr" || fail "no-trace message"
expect_exit 2 "$METRONOME" replay --concurrancy 4 t.jsonl.zst
grep -q "did you mean '--concurrency'" "$E2E_TMP/stderr" || fail "no suggestion"
expect_exit 2 "$METRONOME" replay --arrival-pattern weird t.jsonl.zst
expect_exit 2 "$METRONOME" replay --request-rate -3 t.jsonl.zst
[ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "more than one line for a usage error"

# Preflight: too few file descriptors for the concurrency is refused with the fix; an
# unreachable server is one line before anything is written.
cd "$E2E_TMP"
"$METRONOME" pack -m m --request-count 3 --isl 4 --osl 2 -o t.jsonl.zst 2>/dev/null
port=$(free_port)
( ulimit -n 256
  expect_exit 1 "$METRONOME" replay t.jsonl.zst --url "127.0.0.1:$port" --concurrency 5000 -o fd )
grep -q "ulimit -Hn" "$E2E_TMP/stderr" || fail "no ulimit fix: $(cat "$E2E_TMP/stderr")"
[ ! -e fd ] || fail "run dir written despite the preflight failure"
expect_exit 1 "$METRONOME" replay t.jsonl.zst --url "127.0.0.1:$port" -o unreach
grep -q "^metronome: error: cannot connect to 127.0.0.1:$port.*refused" "$E2E_TMP/stderr" ||
    fail "unreachable: $(cat "$E2E_TMP/stderr")"
[ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "more than one line"
[ ! -e unreach ] || fail "run dir written for an unreachable server"
# A bad trace is one FILE:LINE line, exit 1.
printf 'not a trace\n' >bad.jsonl
expect_exit 1 "$METRONOME" replay bad.jsonl --url "127.0.0.1:$port" -o bad
grep -q "^metronome: error: bad.jsonl:1: " "$E2E_TMP/stderr" || fail "bad trace: $(cat "$E2E_TMP/stderr")"
