#!/usr/bin/env bash
# A tokenizer.json the engine cannot handle is one line naming the JSON path, exit 1.
source "$E2E_ROOT/tests/e2e/lib.sh"
d=$E2E_TMP
good='{"version":"1.0","added_tokens":[],"normalizer":null,"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},"post_processor":null,"decoder":{"type":"ByteLevel"},"model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,"end_of_word_suffix":null,"fuse_unk":false,"byte_fallback":false,"vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}}'
printf '%s' "$good" >"$d/good.json"
printf 'ab\nba\n' >"$d/in.txt"
"$METRONOME" tokenize --tokenizer "$d/good.json" --input "$d/in.txt" >"$d/out"
[ "$(cat "$d/out")" = "$(printf '2\n1 0')" ] || fail "good tokenizer: $(cat "$d/out")"

check() { # NAME EXPECTED-MESSAGE-PART OLD NEW: the good file with OLD replaced by NEW
    python3 -c 'import sys; g=open(sys.argv[1]).read(); assert sys.argv[2] in g; open(sys.argv[4],"w").write(g.replace(sys.argv[2],sys.argv[3],1))' \
        "$d/good.json" "$3" "$4" "$d/$1.json"
    expect_exit 1 "$METRONOME" tokenize --tokenizer "$d/$1.json" --input "$d/in.txt"
    [ "$(wc -l <"$E2E_TMP/stderr")" -eq 1 ] || fail "$1: not one line: $(cat "$E2E_TMP/stderr")"
    grep -qF -- "$2" "$E2E_TMP/stderr" || fail "$1: wanted '$2', got: $(cat "$E2E_TMP/stderr")"
    [ ! -s "$E2E_TMP/stdout" ] || fail "$1: wrote output"
}
check truncated 'truncated.json:1: malformed JSON' '"merges":["a b"]}}' '"merges":["a b"'
check seqtype 'pre_tokenizer.pretokenizers[1].type "Nope" is not supported' \
    '"pre_tokenizer":{' '"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Whitespace"},{"type":"Nope"}]},"x":{'
check model 'model.type "WordLevel" is not supported' '"type":"BPE"' '"type":"WordLevel"'
check dropout 'model.dropout is not supported' '"dropout":null' '"dropout":0.1'
check merge 'model.merges[0] token "c" is not in the vocabulary' '"a b"' '"a c"'
check regex 'normalizer.pattern regex cannot be compiled' '"normalizer":null' \
    '"normalizer":{"type":"Replace","pattern":{"Regex":"("},"content":"x"}'
check decoder 'decoder.decoders[1].type "Magic" is not supported' '"decoder":{"type":"ByteLevel"}' \
    '"decoder":{"type":"Sequence","decoders":[{"type":"Fuse"},{"type":"Magic"}]}'
check behavior 'pre_tokenizer.pretokenizers[0].behavior "Sideways" is not supported' '"pre_tokenizer":{' \
    '"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"String":" "},"behavior":"Sideways","invert":false}]},"x":{'
check version 'version is not "1.0"' '"version":"1.0"' '"version":"2.0"'
expect_exit 1 "$METRONOME" tokenize --tokenizer "$d/absent.json"
grep -q "absent.json" "$E2E_TMP/stderr" || fail "absent file not named"
