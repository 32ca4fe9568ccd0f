# report.html in headless Chromium with the network off (unshare -n) and JavaScript
# disabled (a profile whose content settings block scripts): every table and chart is
# in the page (SVG drawn by metronome itself), the screenshot is not blank; with
# JavaScript on, the page logs no console message and requests nothing. A 4-run
# comparison at 1400 px: measured in a 1400 px frame (no sideways scroll of the page or of
# any scrolling box) and screenshotted for a human look; screenshots are kept in tests/out/.
# Comparison deltas: 0 -> 2.8 % errors shows "+2.80 pp" as a regression, a 0.1 % change
# is neutral, no verdict badge without rules, --label names runs, differing models warn.
. "$E2E_ROOT/tests/e2e/lib.sh"
command -v chromium >/dev/null || "$E2E_ROOT/scripts/ensure-deb" chromium ||
    fail "chromium not installed and cannot be installed"
golden="$E2E_ROOT/testdata/report/golden"
gen="$E2E_ROOT/tests/e2e/gen_runs.py"
out="$E2E_TMP/out"
export COLUMNS=200 LC_ALL=C.UTF-8 # the console comparison below is read whole
expect_exit 0 "$METRONOME" report -q "$golden" "$golden" -o "$out/cmp"
expect_exit 0 "$METRONOME" report -q "$golden" -o "$out/one" --goodput "time_to_first_token:45" \
    --plots "$out/plots"

# Profiles of our own (other Chromium users on the machine hold the default one); the
# "nojs" profile blocks every page script through its content settings.
mkdir -p "$E2E_TMP/js" "$E2E_TMP/nojs/Default"
echo '{"profile":{"default_content_setting_values":{"javascript":2}}}' \
    >"$E2E_TMP/nojs/Default/Preferences"
# Browser-internal background traffic (component updates) is not the page's; the flags
# switch most of it off and the filter drops the rest.
chrome() {
    local prof=$1
    shift
    timeout 120 unshare -n chromium --headless --no-sandbox --disable-gpu \
        --user-data-dir="$E2E_TMP/$prof" --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --disable-default-apps \
        --disable-extensions --hide-scrollbars --enable-logging=stderr --v=0 "$@"
}
# not_blank PNG: the screenshot has ink (more than 1 % of pixels not background) and
# colour (some pixel whose channels differ: a chart line, not only grey text).
not_blank() {
    python3 - "$1" <<'EOF' || fail "$1 is blank"
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n"
w, h, depth, ctype = struct.unpack(">IIBB", d[16:26])
idat, p = b"", 8
while p < len(d):
    n, t = struct.unpack(">I4s", d[p:p + 8])
    if t == b"IDAT":
        idat += d[p + 8:p + 8 + n]
    p += 12 + n
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4}[ctype]
stride = w * bpp
rows, prev, i = [], bytearray(stride), 0
for y in range(min(h, 1600)):  # the top of the page: enough to tell, and quick
    f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line); prev = line
ink = colour = 0
for line in rows[::4]:
    for x in range(0, stride, bpp * 4):
        r, g, b = line[x], line[x + 1], line[x + 2]
        ink += (r, g, b) != (255, 255, 255)
        colour += max(r, g, b) - min(r, g, b) > 60
total = (len(rows) // 4) * (w // 4)
sys.exit(0 if ink > total * 0.01 and colour > 50 else 1)
EOF
}
# charts PAGE: the SVG charts in Chromium's DOM of PAGE with scripts off.
check_static() {
    local page=$1 want_svgs=$2
    chrome nojs --dump-dom "file://$page" >"$E2E_TMP/dom.html" 2>"$E2E_TMP/chrome.err" ||
        fail "chromium failed on $page"
    svgs=$(grep -o '<svg' "$E2E_TMP/dom.html" | wc -l)
    paths=$(grep -o '<path ' "$E2E_TMP/dom.html" | wc -l)
    rects=$(grep -o '<rect ' "$E2E_TMP/dom.html" | wc -l)
    [ "$svgs" -ge "$want_svgs" ] || fail "$page: only $svgs charts without JavaScript"
    [ "$paths" -ge 8 ] || fail "$page: only $paths lines drawn"
    [ "$rects" -ge 6 ] || fail "$page: only $rects histogram bars"
    grep -q '<table id="summary"' "$E2E_TMP/dom.html" || fail "$page: summary table missing"
}

for page in "$out/one/report.html" "$out/cmp/report.html"; do
    [ -s "$page" ] || fail "$page missing"
    grep -qE '(src|href)="https?:' "$page" && fail "$page references the network"
    grep -qi '<script' "$page" && fail "$page has a script: the page must read without one"
    check_static "$page" 14
    grep -q 'Time to First Token (ms)' "$E2E_TMP/dom.html" || fail "summary table missing"
    grep -q 'Internal Server Error' "$E2E_TMP/dom.html" || fail "error table missing"
    grep -q '&lt;redacted&gt;' "$E2E_TMP/dom.html" || fail "configuration missing"
    grep -q 'sk-secret' "$E2E_TMP/dom.html" && fail "secret in the page"
    # With JavaScript on: no console message, no request.
    net="$E2E_TMP/net.json"
    rm -f "$net"
    chrome js --log-net-log="$net" --dump-dom "file://$page" >/dev/null 2>"$E2E_TMP/chrome.err"
    if grep 'CONSOLE' "$E2E_TMP/chrome.err" | grep -q 'source: file://'; then
        grep 'CONSOLE' "$E2E_TMP/chrome.err" >&2
        fail "console messages from $page"
    fi
    reqs=$(grep -oE '"url":"[^"]*"' "$net" | grep -vE 'google|gvt1|chrome://|file://' | sort -u || true)
    [ -z "$reqs" ] || fail "page made requests: $reqs"
done
grep -q 'Δ golden-2' "$E2E_TMP/dom.html" || fail "comparison deltas missing"
# No rules, no verdict badge (a green "passed" without rules was the bug).
grep -q 'verdict:' "$out/cmp/report.html" && fail "verdict badge without rules"
expect_exit 3 "$METRONOME" report -q --exports html "$golden" -o "$out/rules" --fail-on "ttft.p99>1ms"
grep -q 'verdict: failed' "$out/rules/report.html" || fail "no verdict badge with a rule"

# --plots: one standalone, well-formed SVG file per chart of the page.
nplots=$(ls "$out/plots" | grep -c '\.svg$')
ncharts=$(grep -o '<svg' "$out/one/report.html" | wc -l)
[ "$nplots" = "$ncharts" ] || fail "--plots wrote $nplots files for $ncharts charts"
python3 - "$out/plots" <<'EOF' || fail "a --plots file is not a standalone SVG"
import os, sys, xml.etree.ElementTree as ET
for f in os.listdir(sys.argv[1]):
    root = ET.parse(os.path.join(sys.argv[1], f)).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", f
    assert root.get("width") and root.get("viewBox"), f
EOF
ls "$out/plots" | grep -q 'time-to-first-token\.svg' || fail "TTFT time series not in --plots"
# Time series carry p50 and p99 lines, not only the mean.
grep -q '<title>p99</title>' "$out/plots/"*time-to-first-token.svg || fail "no TTFT p99 line"

# Comparison deltas on synthetic runs: base (no error), a run with 2.8 % errors, a run
# 0.1 % slower (noise), a run of another model.
python3 "$gen" "$E2E_TMP/base" --records 500 --seed 1
python3 "$gen" "$E2E_TMP/errs" --records 500 --seed 1 --error-pct 2.8
python3 "$gen" "$E2E_TMP/noise" --records 500 --seed 1 --ttft-ms 40.04
python3 "$gen" "$E2E_TMP/other" --records 500 --seed 2 --concurrency 16 --ttft-ms 90 --model other
expect_exit 0 "$METRONOME" report "$E2E_TMP/base" "$E2E_TMP/errs" "$E2E_TMP/noise" \
    "$E2E_TMP/other" --label before --label errors --label noise --label bigger -o "$out/four"
grep -q 'runs differ in model: before has .m., bigger has .other.' "$E2E_TMP/stderr" ||
    fail "no warning for runs of different models"
grep -E 'Error Rate \(%\)' "$E2E_TMP/stdout" | grep -q '+2.80 pp' || fail "console: no 0 -> 2.8 % delta"
html="$out/four/report.html"
[ -d "$out/four/errors" ] || fail "--label did not name the run's dir"
python3 - "$html" <<'EOF' || fail "comparison deltas wrong in report.html"
import re, sys
h = open(sys.argv[1]).read()
rows = re.findall(r"<tr>(.*?)</tr>", h, re.S)
def row(label, stat):
    cur = None
    for r in rows:
        m = re.search(r'<th scope="rowgroup"[^>]*>([^<]*)</th>', r)
        if m:
            cur = m.group(1)
        if cur and cur.startswith(label) and f'<td class="l">{stat}</td>' in r:
            return re.findall(r'<td class="(up|down|same)"[^>]*>([^<]*)</td>', r)
    sys.exit(f"no row {label} {stat}")
err = row("Error Rate", "avg")
assert err[0] == ("up", "+2.80 pp"), err          # 0 -> 2.8 %: a regression, shown
ttft = row("Time to First Token", "avg")
assert ttft[1][0] == "same" and ttft[1][1].startswith("+0.1"), ttft  # noise: neutral
assert ttft[2][0] == "up", ttft
assert 'id="differ"' in h and "runs differ in model" in h
assert "verdict:" not in h
for t in ("Pareto: output tokens/s per user vs total output tokens/s",
          "Pareto: TTFT p99 vs request throughput",
          "Pareto: request latency p99 vs request throughput"):
    assert t in h, t
assert 'id="sweep-table"' in h
EOF
check_static "$html" 20
# With repeated runs the noise band is the CI of the mean from the set's aggregate
# (profile's layout X/profile_runs/run_NNNN -> X/aggregate/): TTFT +10 % is inside a
# +-5 ms interval (neutral, "~" on the console), outside a +-1 ms one (coloured), and
# without an aggregate the 2 % threshold colours it.
python3 "$gen" "$E2E_TMP/setA/profile_runs/run_0001" --records 500 --seed 1
python3 "$gen" "$E2E_TMP/setB/profile_runs/run_0001" --records 500 --seed 1 --ttft-ms 44
agg() { # DIR HALF-WIDTH: an aggregate of 3 runs with that CI on TTFT avg
    mkdir -p "$1/aggregate"
    printf '{"schema_version":"1.0","metadata":{"num_profile_runs":3,"num_successful_runs":3},"metrics":{"time_to_first_token_avg":{"mean":40,"ci_low":%s,"ci_high":%s,"unit":"ms"}}}' \
        "$(echo "40 - $2" | bc -l)" "$(echo "40 + $2" | bc -l)" >"$1/aggregate/profile_export_aiperf_aggregate.json"
}
ttft_delta() { # -> "CLASS TEXT" of the TTFT avg delta in report.html, and the console line
    expect_exit 0 "$METRONOME" report "$E2E_TMP/setA/profile_runs/run_0001" \
        "$E2E_TMP/setB/profile_runs/run_0001" --label a --label b -o "$out/ci"
    python3 - "$out/ci/report.html" <<'PY'
import re, sys
h = open(sys.argv[1]).read()
r = re.search(r'Time to First Token[^<]*</th><td class="l">avg</td>(.*?)</tr>', h, re.S).group(1)
print(*re.findall(r'<td class="(up|down|same)"[^>]*>([^<]*)</td>', r)[0])
PY
    grep -E 'Time to First Token \(ms\) . +avg ' "$E2E_TMP/stdout" | tail -1
}
agg "$E2E_TMP/setA" 5
got=$(ttft_delta)
echo "$got" | head -1 | grep -q '^same +' && echo "$got" | tail -1 | grep -q '% ~' ||
    fail "TTFT +10 % inside the set's +-5 ms CI is not neutral: $got"
agg "$E2E_TMP/setA" 1
got=$(ttft_delta)
echo "$got" | head -1 | grep -q '^up +' && ! echo "$got" | tail -1 | grep -q '% ~' ||
    fail "TTFT +10 % outside a +-1 ms CI is not coloured: $got"
agg "$E2E_TMP/setB" 3.5 # both sides: 1 + 3.5 >= the ~4 ms delta
got=$(ttft_delta)
echo "$got" | head -1 | grep -q '^same +' || fail "overlapping CIs not neutral: $got"
rm -r "$E2E_TMP/setA/aggregate" "$E2E_TMP/setB/aggregate"
got=$(ttft_delta)
echo "$got" | head -1 | grep -q '^up +' || fail "no aggregate: the 2 % threshold: $got"
# A sweep's own page (sweep_report.html): a profile sweep with repeats against the mock
# gives CI bands; a sweep whose point dir is gone marks the gap; both read without script.
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 20ms --ttft-jitter 4ms --itl 2ms --model m \
    >/dev/null 2>"$E2E_TMP/mock.err" &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
wait_port "$port"
sweep() { # DIR RUNS
    "$METRONOME" profile --model m --streaming --url "127.0.0.1:$port" --ui none \
        --synthetic-input-tokens-mean 20 --output-tokens-mean 8 --concurrency 1,2,4 \
        --request-count 12 --num-profile-runs "$2" --artifact-dir "$1" \
        >"$E2E_TMP/sweep.out" 2>"$E2E_TMP/sweep.err" || { cat "$E2E_TMP/sweep.err" >&2; fail "sweep $1"; }
}
sweep "$out/sw3" 2
sweep "$out/sw1" 1
kill $mock
grep -q 'sweep_report.html' "$E2E_TMP/sweep.out" || fail "profile does not name the sweep page"
rm -rf "$out/sw1/concurrency_2"
expect_exit 0 "$METRONOME" report -q "$out/sw1" --plots "$out/swplots"
ls "$out/swplots/sweep/" | grep -q 'pareto-ttft-p99-vs-request-throughput.svg' || fail "sweep --plots"
for page in "$out/sw3/sweep_report.html" "$out/sw1/sweep_report.html"; do
    grep -qi '<script' "$page" && fail "$page has a script"
    chrome nojs --dump-dom "file://$page" >"$E2E_TMP/dom.html" 2>/dev/null || fail "chromium on $page"
    [ "$(grep -o '<svg' "$E2E_TMP/dom.html" | wc -l)" -ge 10 ] || fail "$page: charts missing"
    [ "$(grep -o '<tr><th scope="row">' "$E2E_TMP/dom.html" | wc -l)" = 3 ] || fail "$page: want 3 rows"
    grep -q 'Pareto: output tokens/s per user vs total output tokens/s' "$E2E_TMP/dom.html" ||
        fail "$page: Pareto chart missing"
done
grep -q 'fill-opacity="0.18"' "$out/sw3/sweep_report.html" || fail "no CI band with repeats"
grep -q ' ± ' "$out/sw3/sweep_report.html" || fail "no CI in the sweep table"
grep -q 'fill-opacity="0.18"' "$out/sw1/sweep_report.html" && fail "a CI band without repeats"
grep -q 'concurrency=2</li>\|concurrency=2: missing' "$out/sw1/sweep_report.html" ||
    fail "the missing point is not marked"
chrome nojs --window-size=1400,1500 --screenshot="$E2E_TMP/sweep-1400.png" "file://$out/sw3/sweep_report.html" 2>/dev/null
not_blank "$E2E_TMP/sweep-1400.png"

chrome nojs --window-size=1400,4000 --screenshot="$E2E_TMP/compare4-1400.png" "file://$html" 2>/dev/null
chrome nojs --window-size=1280,2400 --screenshot="$E2E_TMP/desktop.png" "file://$out/one/report.html" 2>/dev/null
chrome nojs --window-size=390,2400 --screenshot="$E2E_TMP/phone.png" "file://$out/cmp/report.html" 2>/dev/null
chrome nojs --print-to-pdf="$E2E_TMP/print.pdf" --no-pdf-header-footer "file://$out/one/report.html" 2>/dev/null
for f in compare4-1400.png desktop.png phone.png print.pdf; do
    [ -s "$E2E_TMP/$f" ] || fail "$f not produced"
done
not_blank "$E2E_TMP/compare4-1400.png"
# Readable at 1400 px: the 4-run comparison laid out in a 1400 px frame neither scrolls
# sideways nor hides columns in a scrolling box (a wrapper page measures the frame's
# document; at 700 px the comparison table does scroll, which shows the check can fail).
measure() { # WIDTH -> data-result="doc=<scrollWidth> worst=<px a scroll box overflows> <which>"
    cat >"$out/four/measure.html" <<EOF
<!doctype html><html><body style="margin:0"><iframe id="f" src="report.html" style="width:$1px;height:900px;border:0"></iframe>
<script>
document.getElementById('f').onload = function () {
  var d = this.contentDocument, worst = 0, what = '';
  d.querySelectorAll('*').forEach(function (e) {
    if (!(e instanceof d.defaultView.HTMLElement) || !e.clientWidth) return;
    var x = d.defaultView.getComputedStyle(e).overflowX, over = e.scrollWidth - e.clientWidth;
    if ((x == 'auto' || x == 'scroll') && over > worst) { worst = over; what = e.tagName + '.' + e.className; }
  });
  document.body.setAttribute('data-result', 'doc=' + d.documentElement.scrollWidth + ' worst=' + worst + ' ' + what);
};
</script></body></html>
EOF
    chrome js --allow-file-access-from-files --virtual-time-budget=5000 --window-size=1500,900 \
        --dump-dom "file://$out/four/measure.html" 2>/dev/null | grep -o 'data-result="[^"]*"'
}
got=$(measure 1400)
echo "$got" | grep -Eq '^data-result="doc=(1[0-3][0-9][0-9]|1400) worst=0 ' || fail "4-run comparison at 1400 px: $got"
got=$(measure 700)
echo "$got" | grep -q 'worst=[1-9]' || fail "the width check cannot fail (700 px): $got"
not_blank "$E2E_TMP/desktop.png"
mkdir -p "$E2E_ROOT/tests/out"
cp "$E2E_TMP"/*.png "$E2E_TMP"/print.pdf "$E2E_ROOT/tests/out/" 2>/dev/null || true
