# Bad input (issue 2 §5): one line "metronome: error: FILE:LINE: what", exit 1, and no
# output file or temporary left behind.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
T="$E2E_ROOT/testdata/trace"
# bad EXPECTED-STDERR-REGEX PACK-ARGS...
bad() {
    local want=$1; shift
    expect_exit 1 "$METRONOME" pack -m m -o out.jsonl.zst "$@"
    [ "$(wc -l < "$E2E_TMP/stderr")" = 1 ] || fail "more than one line: $(cat "$E2E_TMP/stderr")"
    grep -Eq "^metronome: error: $want" "$E2E_TMP/stderr" ||
        fail "stderr '$(cat "$E2E_TMP/stderr")' does not match '$want'"
    [ -z "$(ls | grep -E '^out\.jsonl\.zst')" ] || fail "output left behind: $(ls)"
}
printf '{"timestamp": 0, "input_length": 5}\n{"timestamp": 0, "input_length": 5\n' > malformed.jsonl
bad "malformed.jsonl:2: malformed JSON at byte 35" --input-file malformed.jsonl
printf '{"timestamp": 0, "input_length": "ten"}\n' > wrongtype.jsonl
bad "wrongtype.jsonl:1: field 'input_length': must be an integer" --input-file wrongtype.jsonl
printf '{"timestamp": 0, "input_length": 5, "hash_ids": "1,2"}\n' > wrongtype2.jsonl
bad "wrongtype2.jsonl:1: field 'hash_ids': must be an array" --input-file wrongtype2.jsonl
printf '{"text": 5}\n' > wrongtype3.jsonl
bad "wrongtype3.jsonl:1: field 'text': must be a string" --input-file wrongtype3.jsonl --custom-dataset-type single_turn
printf '\n\n{"timestamp": 0, "input_length": -4}\n' > negative.jsonl
bad "negative.jsonl:3: field 'input_length': must be an integer >= 0" --input-file negative.jsonl
printf '{"timestamp": -1, "input_length": 4}\n' > negative2.jsonl
bad "negative2.jsonl:1: field 'timestamp': must be a number >= 0" --input-file negative2.jsonl
printf 'Timestamp,Model,Request tokens,Response tokens\n5,x,-3,4\n' > negative.csv
bad "negative.csv:2: column 'Request tokens': '-3' is not an integer >= 0" --input-file negative.csv --custom-dataset-type burstgpt_trace
bad "--custom-dataset-type: 'sharegpt_trace' is not one of" --input-file "$T/mooncake.jsonl" --custom-dataset-type sharegpt_trace
bad "missing.jsonl: No such file or directory" --input-file missing.jsonl
: > empty.jsonl
bad "empty.jsonl: empty file" --input-file empty.jsonl
printf '\n   \n' > blank.jsonl
bad "blank.jsonl: no requests to pack" --input-file blank.jsonl
zstd -q -c "$T/mooncake.jsonl" > whole.jsonl.zst && head -c 60 whole.jsonl.zst > truncated.jsonl.zst
bad "truncated.jsonl.zst:[0-9]+: truncated zstd stream" --input-file truncated.jsonl.zst
printf 'TIMESTAMP,ContextTokens\n2023-11-16 18:15:46.6805900,374\n' > azure_missing.csv
bad "azure_missing.csv:1: missing column 'GeneratedTokens'" --input-file azure_missing.csv --custom-dataset-type azure_trace
printf 'Timestamp,Request tokens,Response tokens\n5,10\n' > short_row.csv
bad "short_row.csv:2: row has 2 columns" --input-file short_row.csv --custom-dataset-type burstgpt_trace
printf '{"text": "a", "texts": ["b"]}\n' > both.jsonl
bad "both.jsonl:1: fields 'text' and 'texts' cannot both be set" --input-file both.jsonl --custom-dataset-type single_turn
printf '{"turns": []}\n' > noturns.jsonl
bad "noturns.jsonl:1: field 'turns'" --input-file noturns.jsonl --custom-dataset-type multi_turn
printf '{"timestamp": 0, "input_length": 600, "hash_ids": [1]}\n{"timestamp": 1, "input_length": 100, "hash_ids": [1]}\n' > blocksize.jsonl
bad "blocksize.jsonl:2: hash_id 1 is a 512-token block but is used here as 100 tokens" --input-file blocksize.jsonl
printf '{"timestamp": 0, "input_length": 1000, "hash_ids": [1,2,3]}\n' > toomany.jsonl
bad "toomany.jsonl:1: input_length 1000 does not fit 3 hash_ids" --input-file toomany.jsonl
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2024-01-01 00:00:09,5,5\n2024-01-01 00:00:03,5,5\n' > unsorted.csv
bad "unsorted.csv:3: TIMESTAMP is earlier than the first row's" --input-file unsorted.csv --custom-dataset-type azure_trace
printf '{"timestamp": 9, "input_length": 5}\n{"input_length": 5}\n' > mixed.jsonl
bad "mixed.jsonl:2: field 'timestamp' is missing" --input-file mixed.jsonl
printf '{"input_length": 5, "type": "single_turn"}\n' > wrongtag.jsonl
bad "wrongtag.jsonl:1: field 'type': must be \"mooncake_trace\"" --input-file wrongtag.jsonl
printf '{"conversations": 5}' > sharegpt_bad.json
bad "sharegpt_bad.json:1: not a ShareGPT file" --input-file sharegpt_bad.json --public-dataset sharegpt
mkdir emptypool && : > emptypool/a.jsonl
bad "emptypool/a.jsonl: empty pool" --input-file emptypool --custom-dataset-type random_pool
# A failure after many good lines still leaves nothing behind.
python3 -c "
import json
for i in range(20000): print(json.dumps({'timestamp': i, 'input_length': 50, 'hash_ids': [i % 7]}))
print('{oops')" > late.jsonl
bad "late.jsonl:20001: malformed JSON" --input-file late.jsonl
[ -z "$(ls -a | grep tmp)" ] || fail "temporaries left: $(ls -a)"
true
