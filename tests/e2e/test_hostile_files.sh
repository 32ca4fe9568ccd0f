# Hostile files and faults (issue 17): run.json and records with numbers past int64 or
# past what the report can subtract, outputs that are not regular files, a full disk,
# signals during pack, truncated and random records under inspect.
. "$E2E_ROOT/tests/e2e/lib.sh"
golden="$E2E_ROOT/testdata/report/golden"

# --- run.json and records numbers out of range: one line naming file and field, exit 1,
# never a trap (exit 132 before).
for edit in 's/"ended_real_ns":[0-9]*/"ended_real_ns":1e19/' \
            's/"real_ns":[0-9]*/"real_ns":9223372036854775807/' \
            's/"index":0/"index":1e300/' 's/"seed":7/"seed":1e19/'; do
    rd="$E2E_TMP/range"
    rm -rf "$rd" && mkdir -p "$rd"
    cp "$golden/records.jsonl" "$rd/"
    sed "$edit" "$golden/run.json" >"$rd/run.json"
    expect_exit 1 "$METRONOME" report -q "$rd" -o "$E2E_TMP/ro"
    grep -q "^metronome: error: $rd/run.json: field '.*': value out of range" "$E2E_TMP/stderr" ||
        fail "range message for $edit: $(cat "$E2E_TMP/stderr")"
done
rd="$E2E_TMP/range"
cp "$golden/run.json" "$rd/run.json"
printf '%s\n' '{"i":0,"t_start":-9223372036854775807,"t_end":9223372036854775807,"status":200}' \
    >"$rd/records.jsonl"
expect_exit 1 "$METRONOME" report -q "$rd" -o "$E2E_TMP/ro"
grep -q "records.jsonl:1: column 18: field 't_start': value out of range" "$E2E_TMP/stderr" ||
    fail "records range message: $(cat "$E2E_TMP/stderr")"
