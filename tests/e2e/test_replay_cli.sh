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
