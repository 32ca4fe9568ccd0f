# report.html in headless Chromium with the network off (unshare -n): the page logs no
# console message, requests nothing, and draws its charts (SVG with content). A
# screenshot is kept in tests/out/ for a human look when the case fails.
. "$E2E_ROOT/tests/e2e/lib.sh"
command -v chromium >/dev/null || "$E2E_ROOT/scripts/ensure-deb" chromium ||
    fail "chromium not installed and cannot be installed"
golden="$E2E_ROOT/testdata/report/golden"
out="$E2E_TMP/out"
expect_exit 0 "$METRONOME" report -q "$golden" "$golden" -o "$out/cmp"
expect_exit 0 "$METRONOME" report -q "$golden" -o "$out/one" --goodput "time_to_first_token:45"

# Browser-internal background traffic (component updates) is not the page's; the flags
# switch most of it off and the filter drops the rest.
chrome() {
    unshare -n chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --disable-default-apps \
        --disable-extensions --hide-scrollbars --enable-logging=stderr --v=0 "$@"
}
for page in "$out/one/report.html" "$out/cmp/report.html"; do
    [ -s "$page" ] || fail "$page missing"
    grep -qE '(src|href)="https?:' "$page" && fail "$page references the network"
    net="$E2E_TMP/net.json"
    rm -f "$net"
    chrome --log-net-log="$net" --dump-dom "file://$page" >"$E2E_TMP/dom.html" 2>"$E2E_TMP/chrome.err"
    if grep 'CONSOLE' "$E2E_TMP/chrome.err" | grep -q 'source: file://'; then
        grep 'CONSOLE' "$E2E_TMP/chrome.err" >&2
        fail "console messages from $page"
    fi
    reqs=$(grep -oE '"url":"[^"]*"' "$net" | grep -vE 'google|gvt1|chrome://|file://' | sort -u || true)
    [ -z "$reqs" ] || fail "page made requests: $reqs"
    svgs=$(grep -o '<svg' "$E2E_TMP/dom.html" | wc -l)
    paths=$(grep -o '<path d="M' "$E2E_TMP/dom.html" | wc -l)
    rects=$(grep -o '<rect' "$E2E_TMP/dom.html" | wc -l)
    [ "$svgs" -ge 12 ] || fail "$page: only $svgs charts"
    [ "$paths" -ge 8 ] || fail "$page: only $paths lines drawn"
    [ "$rects" -ge 6 ] || fail "$page: only $rects histogram bars"
    grep -q 'Time to First Token (ms)' "$E2E_TMP/dom.html" || fail "summary table missing"
    grep -q 'Internal Server Error' "$E2E_TMP/dom.html" || fail "error table missing"
    grep -q '&lt;redacted&gt;' "$E2E_TMP/dom.html" || fail "configuration missing"
    grep -q 'sk-secret' "$E2E_TMP/dom.html" && fail "secret in the page"
done
grep -q 'Δ avg' "$E2E_TMP/dom.html" || fail "comparison deltas missing"
chrome --window-size=1280,2400 --screenshot="$E2E_TMP/desktop.png" "file://$out/one/report.html" 2>/dev/null
chrome --window-size=390,2400 --screenshot="$E2E_TMP/phone.png" "file://$out/cmp/report.html" 2>/dev/null
chrome --print-to-pdf="$E2E_TMP/print.pdf" --no-pdf-header-footer "file://$out/one/report.html" 2>/dev/null
[ -s "$E2E_TMP/desktop.png" ] && [ -s "$E2E_TMP/phone.png" ] && [ -s "$E2E_TMP/print.pdf" ] ||
    fail "screenshots or PDF not produced"
cp "$E2E_TMP"/*.png "$E2E_TMP"/print.pdf "$E2E_ROOT/tests/out/" 2>/dev/null || true
