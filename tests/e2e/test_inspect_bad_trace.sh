# inspect exits non-zero on an invalid trace, naming the file and the line.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
"$METRONOME" pack -m m --num-conversations 50 --isl 40 -o good.jsonl.zst 2>/dev/null
expect_exit 0 "$METRONOME" inspect good.jsonl.zst
# A request line with a field of the wrong type (the 3rd request from the end).
n=$(( $(zstdcat good.jsonl.zst | wc -l) - 2 ))
zstdcat good.jsonl.zst | sed "${n}s/\"isl\":[0-9]*/\"isl\":\"x\"/" | zstd -q -o badline.jsonl.zst
expect_exit 1 "$METRONOME" inspect badline.jsonl.zst
grep -q "^metronome: error: badline.jsonl.zst:$n: field 'isl'" "$E2E_TMP/stderr" || fail "$(cat "$E2E_TMP/stderr")"
# A reference to a block nobody defined.
zstdcat good.jsonl.zst | sed "${n}s/\"\$text\":\[/\"\$text\":[12345,/" | zstd -q -o badref.jsonl.zst
expect_exit 1 "$METRONOME" inspect badref.jsonl.zst
grep -q "^metronome: error: badref.jsonl.zst:$n: body: block 12345 is not defined" "$E2E_TMP/stderr" || fail "$(cat "$E2E_TMP/stderr")"
# Truncated compressed stream.
head -c $(( $(stat -c %s good.jsonl.zst) - 20 )) good.jsonl.zst > trunc.jsonl.zst
expect_exit 1 "$METRONOME" inspect trunc.jsonl.zst
grep -q "^metronome: error: trunc.jsonl.zst:[0-9]*: truncated zstd stream" "$E2E_TMP/stderr" || fail "$(cat "$E2E_TMP/stderr")"
# A request dropped: the header's count no longer matches.
zstdcat good.jsonl.zst | sed '$d' | zstd -q -o short.jsonl.zst
expect_exit 1 "$METRONOME" inspect short.jsonl.zst
grep -q "promises 50 requests but the trace holds 49" "$E2E_TMP/stderr" || fail "$(cat "$E2E_TMP/stderr")"
# Not a trace at all.
echo '{"hello": 1}' > notrace.jsonl
expect_exit 1 "$METRONOME" inspect notrace.jsonl
grep -q "^metronome: error: notrace.jsonl:1: not a metronome trace" "$E2E_TMP/stderr" || fail "$(cat "$E2E_TMP/stderr")"
expect_exit 1 "$METRONOME" inspect missing.jsonl.zst
grep -q "^metronome: error: missing.jsonl.zst" "$E2E_TMP/stderr" || fail "$(cat "$E2E_TMP/stderr")"
expect_exit 2 "$METRONOME" inspect
true
