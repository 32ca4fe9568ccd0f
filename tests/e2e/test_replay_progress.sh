# The progress line (issue 12 §6): a piped `profile` prints a line every 10 s with the
# elapsed time, percent done, an ETA that follows the fixed schedule (request rate x
# count: the last send is due at 12 s), and live TTFT / ITL p50; every line fits
# COLUMNS; the verdict is the last line printed.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 30ms --itl 4ms --model m >/dev/null 2>"$E2E_TMP/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
cd "$E2E_TMP"
# 60 requests at 5/s: sent by 12 s; the 10 s line says ~83 % and an ETA of about 2 s.
COLUMNS=70 "$METRONOME" profile --model m --streaming --url "127.0.0.1:$port" \
    --synthetic-input-tokens-mean 20 --output-tokens-mean 20 --output-tokens-stddev 0 \
    --request-rate 5 --arrival-pattern constant --request-count 60 --artifact-dir art \
    --fail-on "time_to_first_token.p50>5s" >out.txt 2>err.txt ||
    { cat err.txt >&2; fail "profile failed"; }
grep '^replay: ' err.txt >&2 || true
line=$(grep -E '^replay: 1[0-9]s  ' err.txt | head -1)
[ -n "$line" ] || fail "no progress line after 10 s of a piped run"
python3 - "$line" <<'PY' || fail "progress line: $line"
import re, sys
l = sys.argv[1]
m = re.match(r"replay: (\d+)s  (\d+)%  ETA (\d+)s  TTFT p50 ([\d.]+) ms  ITL p50 ([\d.]+) ms", l)
assert m, l
el, pct, eta, ttft, itl = int(m[1]), int(m[2]), int(m[3]), float(m[4]), float(m[5])
assert 10 <= el <= 11, el
assert abs(eta - (12 - el)) <= 1, eta        # the schedule's end, not a rate guess
assert 75 <= pct <= 90, pct
assert 28 <= ttft <= 40 and 3 <= itl <= 6, (ttft, itl)
PY
while IFS= read -r l; do
    [ "${#l}" -lt 70 ] || fail "progress line wider than COLUMNS=70: $l"
done < <(grep -E '^replay: [0-9]+s  ' err.txt)
[ "$(grep -cE '^replay: [0-9]+s  ' err.txt)" -ge 2 ] || fail "no final progress line"
[ "$(tail -n 1 out.txt)" = "PASS" ] || fail "the verdict is not the last line: $(tail -n 2 out.txt)"
