# The Unicode foundations of the tokenizer engine against the PyPI `tokenizers` package
# itself (pinned; a git-ignored venv under .cache/): the regex engine's match spans of the
# Split patterns real tokenizers ship (GPT-2, cl100k/Llama-3, o200k, Qwen2, DeepSeek,
# Metaspace/BERT-style) on a multilingual corpus, and NFC/NFD/NFKC/NFKD/Lowercase over
# every assigned code point and every column of NormalizationTest.txt. One difference
# fails. tests/tok/diff_gen.py writes the expectations; the unit runner compares.
. "$E2E_ROOT/tests/e2e/lib.sh"
venv="$E2E_ROOT/.cache/tokvenv"
if ! "$venv/bin/python" -c 'import tokenizers, sys; sys.exit(tokenizers.__version__ != "0.23.3")' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "tokenizers==0.23.3"
fi
tests=$(dirname "$METRONOME")/metronome-tests
[ -x "$tests" ] || fail "no unit runner next to $METRONOME"
"$venv/bin/python" "$E2E_ROOT/tests/tok/diff_gen.py" "$E2E_TMP" "$E2E_ROOT/vendor/src/ucd" \
    "$E2E_ROOT/vendor/src/corpus/shakespeare.txt"
cd "$E2E_ROOT"
TOK_DIFF_DIR="$E2E_TMP" "$tests" _differential_tokenizers | tee "$E2E_TMP/result"
grep -q '^2 passed, 0 failed' "$E2E_TMP/result" || fail "differences from tokenizers (see above)"
