#!/usr/bin/env bash
# The tokenizer.json engine against the PyPI `tokenizers` package (pinned), line by line,
# on a >= 1 MB multilingual corpus with invalid UTF-8: ids and decoded text must be equal
# for every trained configuration and every real tokenizer.json we ship a pin for
# (tests/tok/exactness.py says how). tokenizers comes from PyPI into a git-ignored venv.
source "$E2E_ROOT/tests/e2e/lib.sh"
venv="$E2E_ROOT/.cache/tok-venv"
want=0.23.3
if ! "$venv/bin/python" -c "import tokenizers, sys; sys.exit(tokenizers.__version__ != '$want')" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "tokenizers==$want"
fi
real=()
if [ -x "$E2E_ROOT/tests/tok/real.sh" ]; then
    dir=$("$E2E_ROOT/tests/tok/real.sh" "$venv" "$E2E_ROOT/.cache/tok-real")
    real=(--real "$dir")
fi
nice -n 5 "$venv/bin/python" "$E2E_ROOT/tests/tok/exactness.py" "$METRONOME" "$E2E_TMP/work" "${real[@]}"
