# `metronome report` as CI uses it: exports, exit codes of verdicts, usage errors, bad
# input, crashed runs, comparisons.
. "$E2E_ROOT/tests/e2e/lib.sh"
golden="$E2E_ROOT/testdata/report/golden"
out="$E2E_TMP/out"
# AIPerf's full-width table in UTF-8 (the console-width cases below vary both).
export COLUMNS=200 LC_ALL=C.UTF-8

expect_exit 0 "$METRONOME" report --count-empty-chunks "$golden" -o "$out"
for f in profile_export_aiperf.json profile_export_aiperf.csv profile_export.jsonl report.html; do
    [ -s "$out/$f" ] || fail "$f not written"
done
grep -q 'Time to First Token (ms) │  40.00 │ 30.00 │  50.00 │  49.80 │  48.00 │  45.00 │ 10.00 │' \
    "$E2E_TMP/stdout" || fail "console table differs"
! grep -rqE 'sk-secret|hunter2' "$out" || fail "secret leaked"
ls "$out" | grep -q tmp && fail "temporary file left behind"

# Verdicts: a violated rule exits 3 with one line per rule; a passing one exits 0.
expect_exit 3 "$METRONOME" report --count-empty-chunks -q --exports none "$golden" \
    --fail-on "time_to_first_token.p99>45ms,error_rate>0.01,request_throughput.avg<10"
[ "$(grep -c 'verdict: rule' "$E2E_TMP/stderr")" = 2 ] || fail "want 2 violation lines"
grep -q "rule 'time_to_first_token.p99>45ms' failed" "$E2E_TMP/stderr" || fail "rule line"
expect_exit 0 "$METRONOME" report --count-empty-chunks -q --exports none "$golden" --fail-on "ttft.p99>50ms"
# A malformed rule is a usage error.
expect_exit 2 "$METRONOME" report --count-empty-chunks -q "$golden" --fail-on "ttft.p99"
grep -q 'metronome: error: --fail-on' "$E2E_TMP/stderr" || fail "usage message"
expect_exit 2 "$METRONOME" report --count-empty-chunks -q "$golden" --goodput "nosuch:3"
expect_exit 2 "$METRONOME" report --count-empty-chunks -q "$golden" --bogus
# Goodput at report time.
expect_exit 0 "$METRONOME" report --count-empty-chunks -q --exports json "$golden" -o "$out" \
    --goodput "time_to_first_token:45"
grep -q '"good_request_count"' "$out/profile_export_aiperf.json" || fail "goodput missing"

# Every request failed: errors still exported, exit non-zero.
failed="$E2E_TMP/failed"
mkdir -p "$failed"
cp "$golden/run.json" "$failed/"
printf '%s\n' '{"i":0,"t_start":5,"status":503,"error":{"code":503,"type":"http","message":"busy"}}' \
    '{"i":1,"t_start":6,"status":0,"error":{"code":null,"type":"connect","message":"refused"}}' \
    | zstd -q >"$failed/records.jsonl.zst"
expect_exit 3 "$METRONOME" report "$failed" -o "$E2E_TMP/fo"
grep -q 'every request failed' "$E2E_TMP/stderr" || fail "all-failed message"
grep -q '"busy"' "$E2E_TMP/fo/profile_export_aiperf.json" || fail "error summary missing"
grep -q 'Error Summary' "$E2E_TMP/stdout" || fail "console error table missing"
expect_exit 0 "$METRONOME" report -q --allow-all-failed "$failed" -o "$E2E_TMP/fo"

# A crashed run: the last zstd frame is cut; the report covers the complete frames and
# says the run is incomplete.
crash="$E2E_TMP/crash"
mkdir -p "$crash"
sed 's/"complete":true/"complete":false/' "$golden/run.json" >"$crash/run.json"
head -n 2 "$golden/records.jsonl" | zstd -q >"$crash/records.jsonl.zst"
tail -n 2 "$golden/records.jsonl" | zstd -q >"$E2E_TMP/frame2"
head -c 40 "$E2E_TMP/frame2" >>"$crash/records.jsonl.zst"
expect_exit 0 "$METRONOME" report "$crash" -o "$E2E_TMP/co"
grep -q 'incomplete' "$E2E_TMP/stderr" || fail "incomplete warning missing"
grep -q 'Run incomplete' "$E2E_TMP/stdout" || fail "console does not say incomplete"
grep -q '"request_count"' "$E2E_TMP/co/profile_export_aiperf.json" || fail "no metrics"
grep -A2 '"request_count"' "$E2E_TMP/co/profile_export_aiperf.json" | grep -q '"avg": 2.0' ||
    fail "want the 2 records of the complete frame"

# Bad input: one line naming file and line, exit 1, nothing written.
bad="$E2E_TMP/bad"
mkdir -p "$bad"
cp "$golden/run.json" "$bad/"
printf '{"i":0}\n{"i":1,"t_start":[}\n' >"$bad/records.jsonl"
expect_exit 1 "$METRONOME" report "$bad" -o "$E2E_TMP/bo"
grep -q "^metronome: error: $bad/records.jsonl:2: column 18: " "$E2E_TMP/stderr" ||
    fail "diagnostic: $(cat "$E2E_TMP/stderr")"
[ ! -e "$E2E_TMP/bo/profile_export_aiperf.json" ] || fail "half-written export"
expect_exit 1 "$METRONOME" report "$E2E_TMP/nonexistent"

# Two runs side by side: per-run exports and a comparison with deltas.
expect_exit 0 "$METRONOME" report --count-empty-chunks "$golden" "$crash" -o "$E2E_TMP/cmp"
grep -q 'Comparison' "$E2E_TMP/stdout" || fail "no comparison table"
[ -s "$E2E_TMP/cmp/golden/profile_export_aiperf.json" ] || fail "per-run export missing"
[ -s "$E2E_TMP/cmp/crash/profile_export_aiperf.json" ] || fail "per-run export missing"
[ -s "$E2E_TMP/cmp/report.html" ] || fail "comparison html missing"

# Time slices.
expect_exit 0 "$METRONOME" report --count-empty-chunks -q "$golden" -o "$out" --slice-duration 0.01
[ -s "$out/profile_export_aiperf_timeslices.json" ] || fail "timeslices json"
[ -s "$out/profile_export_aiperf_timeslices.csv" ] || fail "timeslices csv"

# A run killed before it wrote any record: reported as empty and incomplete, exit 3.
empty="$E2E_TMP/empty"
mkdir -p "$empty"
sed 's/"complete":true/"complete":false/' "$golden/run.json" >"$empty/run.json"
expect_exit 3 "$METRONOME" report "$empty" -o "$E2E_TMP/eo"
grep -q 'no records file' "$E2E_TMP/stdout" || fail "missing records file not reported"

# The verdict is the last line printed: PASS, or FAIL: and the first rule that held.
expect_exit 3 "$METRONOME" report --count-empty-chunks "$golden" -o "$out" --fail-on "ttft.p99>45ms"
[ "$(tail -n 1 "$E2E_TMP/stdout")" = "FAIL: rule 'ttft.p99>45ms' failed: time_to_first_token.p99 = 49.8 ms" ] ||
    fail "verdict not last: $(tail -n 1 "$E2E_TMP/stdout")"
expect_exit 0 "$METRONOME" report --count-empty-chunks -q "$golden" -o "$out" --fail-on "ttft.p99>450ms"
[ "$(tail -n 1 "$E2E_TMP/stdout")" = "PASS" ] || fail "no PASS line"
expect_exit 0 "$METRONOME" report --count-empty-chunks "$golden" -o "$out"
grep -qE '^(PASS|FAIL)' "$E2E_TMP/stdout" && fail "a verdict line without rules"

# --label: one per run, a path component, distinct.
expect_exit 1 "$METRONOME" report -q "$golden" "$crash" --label a -o "$E2E_TMP/lb"
grep -q -- "--label given 1 time(s) for 2 run(s)" "$E2E_TMP/stderr" || fail "label count"
expect_exit 2 "$METRONOME" report -q "$golden" "$crash" --label a/b --label c -o "$E2E_TMP/lb"
expect_exit 2 "$METRONOME" report -q "$golden" "$crash" --label x --label x -o "$E2E_TMP/lb"
expect_exit 0 "$METRONOME" report -q --count-empty-chunks "$golden" "$crash" --label old --label new -o "$E2E_TMP/lb"
[ -s "$E2E_TMP/lb/new/profile_export_aiperf.json" ] || fail "--label did not name the dir"

# Console width: tables fit COLUMNS (the ioctl first on a terminal), 80 when piped with
# nothing set; ASCII boxes when the locale is not UTF-8.
twoway() { "$METRONOME" report --count-empty-chunks --exports console "$golden" "$crash"; }
widest() { python3 -c 'import sys; print(max(len(l) for l in sys.stdin.read().splitlines() if l[:1] in "┏┃┡│└+|"))'; }
w=$(COLUMNS=60 twoway 2>/dev/null | widest)
[ "$w" -le 60 ] || fail "COLUMNS=60: a table line is $w wide"
COLUMNS=60 twoway >"$E2E_TMP/c60.txt" 2>/dev/null
grep -q 'columns left out to fit 60' "$E2E_TMP/c60.txt" || fail "no note of hidden columns"
w=$(COLUMNS=200 twoway 2>/dev/null | widest)
[ "$w" -gt 100 ] && [ "$w" -le 200 ] || fail "COLUMNS=200: widest table line $w"
COLUMNS=200 twoway >"$E2E_TMP/c200.txt" 2>/dev/null
grep -q 'columns left out' "$E2E_TMP/c200.txt" && fail "columns hidden at 200"
w=$(env -u COLUMNS "$METRONOME" report --count-empty-chunks --exports console "$golden" "$crash" 2>/dev/null | widest)
[ "$w" -le 80 ] || fail "piped without COLUMNS: a table line is $w wide"
LC_ALL=C twoway >"$E2E_TMP/ascii.txt" 2>/dev/null
LC_ALL= LC_CTYPE= LANG=C twoway >"$E2E_TMP/ascii2.txt" 2>/dev/null
for f in ascii.txt ascii2.txt; do
    LC_ALL=C grep -q '[^ -~]' "$E2E_TMP/$f" && fail "non-ASCII output in the C locale ($f)"
    grep -q '^+=' "$E2E_TMP/$f" || fail "no ASCII table in $f"
done
grep -q '| *d crash |' "$E2E_TMP/ascii.txt" || fail "the delta header in ASCII"
LC_ALL=en_US.UTF-8 twoway >"$E2E_TMP/utf8.txt" 2>/dev/null
grep -q '┏' "$E2E_TMP/utf8.txt" || fail "no box drawing in a UTF-8 locale"
