# What --url, --custom-endpoint and --header put on the wire (a raw server records each
# request head), and that no secret a URL carries reaches an output file:
#  - issue 17 item 7: the query stays after the path; user:password@ is Basic auth; both
#    are redacted in run.json, the exports, report.html and profile's artifacts and log.
#  - issue 10 item 6: a base URL ending in /v1 does not double it.
#  - issue 17 item 6: CR/LF (and other bytes that would break the request) are refused in
#    every value that reaches the wire, with a one-line error naming the option.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import base64, glob, os, subprocess
from replay_lib import *
from rawserver import RawServer

OK = b'{"choices":[{"message":{"content":"hello"}}],"usage":{"completion_tokens":5}}'
def answer(req):
    return [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(OK) + OK]
trace = pack("t.jsonl.zst", "--request-count", "2", "--isl", "8", "--osl", "5")

def request_lines(url_path, *flags, trace=trace):
    """Runs replay against a raw server at --url http://127.0.0.1:PORT<url_path>; returns
    (request heads, run dir)."""
    with RawServer(answer) as s:
        out = os.path.join(TMP, "run-%d" % len(glob.glob(os.path.join(TMP, "run-*"))))
        url = url_path.replace("HOST", "127.0.0.1:%d" % s.port)
        p = subprocess.run([BIN, "replay", trace, "--url", url, "-o", out, "-q", "--no-server-metrics", *flags],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check(p.returncode == 0, url_path, p.stderr)
        return [r.head.decode() for r in s.requests], out

def no_secret(where, *secrets):
    """No file under `where` (recursively, zstd records decoded) holds any secret."""
    for f in glob.glob(os.path.join(where, "**"), recursive=True):
        if os.path.isdir(f):
            continue
        data = open(f, "rb").read()
        if f.endswith(".zst"):
            data = subprocess.run(["zstd", "-dc", f], stdout=subprocess.PIPE).stdout
        for sec in secrets:
            check(sec.encode() not in data, f, "holds the secret", sec)

# ---- the request target ----
for path, want in [("HOST", "/v1/chat/completions"),
                   ("http://HOST/", "/v1/chat/completions"),
                   ("http://HOST/v1", "/v1/chat/completions"),          # issue 10 item 6
                   ("http://HOST/v1/", "/v1/chat/completions"),
                   ("http://HOST/api/v1", "/api/v1/chat/completions"),
                   ("http://HOST/v1?key=SECRETK", "/v1/chat/completions?key=SECRETK"),
                   ("http://HOST/base?key=SECRETK&b=2#frag", "/base/v1/chat/completions?key=SECRETK&b=2")]:
    heads, out = request_lines(path)
    check(len(heads) == 2, path, heads)
    for h in heads:
        check(h.startswith("POST %s HTTP/1.1\r\n" % want), path, "sent", h.split("\r\n")[0])
# A custom endpoint is joined as given (AIPerf), with the URL's query after its own.
heads, _ = request_lines("http://HOST/v1?key=SECRETK", "--custom-endpoint", "/v1/x?api-version=1")
check(heads[0].startswith("POST /v1/v1/x?api-version=1&key=SECRETK HTTP/1.1"), heads[0])

# ---- secrets in the URL: sent, and redacted everywhere ----
heads, out = request_lines("http://user:SECRETPW@HOST/v1?key=SECRETK&tok=SECRETT")
basic = base64.b64encode(b"user:SECRETPW").decode()
for h in heads:
    check("\r\nAuthorization: Basic %s\r\n" % basic in h, "no Basic auth:", h)
    check("Host: 127.0.0.1:" in h and "SECRETPW" not in h, h)
run = json.load(open(os.path.join(out, "run.json")))
check(run["config"]["url"] == ["http://<redacted>@127.0.0.1:%s/v1?key=<redacted>&tok=<redacted>"
                               % heads[0].split("Host: 127.0.0.1:")[1].split("\r\n")[0]],
      run["config"]["url"])
check(run["config"]["endpoint_path"] == "/v1/chat/completions?key=<redacted>&tok=<redacted>",
      run["config"]["endpoint_path"])
p = subprocess.run([BIN, "report", out, "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
check(p.returncode == 0, p.stderr)
check(os.path.exists(os.path.join(out, "report.html")), os.listdir(out))
no_secret(out, "SECRETPW", "SECRETK", "SECRETT", basic)
# A key passed with --url=... is redacted in argv too.
with RawServer(answer) as s:
    out = os.path.join(TMP, "eq")
    p = subprocess.run([BIN, "replay", trace, "--url=http://u:SECRETPW@127.0.0.1:%d?k=SECRETK" % s.port,
                        "-o", out, "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
check(p.returncode == 0, p.stderr)
no_secret(out, "SECRETPW", "SECRETK")

# profile: every artifact and its log.
with RawServer(answer) as s:
    os.makedirs("prof", exist_ok=True)
    p = subprocess.run([BIN, "profile", "-m", "m", "--url",
                        "http://user:SECRETPW@127.0.0.1:%d/v1?key=SECRETK" % s.port,
                        "--request-count", "3", "--isl", "8", "--osl", "5",
                        "--artifact-dir", "prof/a", "--ui-type", "none"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 0, p.stdout[-2000:], p.stderr)
    # besides the requests, profile scrapes the URL + /metrics (AIPerf 0.13's default)
    posts = [r for r in s.requests if not r.head.startswith(b"GET /v1/metrics ")]
    check(len(posts) >= 3, "profile sent", len(posts))
    check(all(r.head.startswith(b"POST /v1/chat/completions?key=SECRETK ") for r in posts),
          posts[0].head[:80])
no_secret("prof", "SECRETPW", "SECRETK", basic)
check("SECRETPW" not in p.stdout + p.stderr and "SECRETK" not in p.stdout + p.stderr,
      "console shows a secret")
print("url ok")
PY

# ---- nothing that would break the request reaches the wire (issue 17 item 6) ----
M=$METRONOME
"$M" pack -m m -o t.jsonl.zst --request-count 1 --isl 8 --osl 5 2>/dev/null
refused() { # refused OPTION-IN-MESSAGE ARGS... : exit 2, one line naming the option
    local opt=$1; shift
    expect_exit 2 "$M" "$@"
    [ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "not one line: $(cat "$E2E_TMP/stderr")"
    grep -q "^metronome: error: .*$opt" "$E2E_TMP/stderr" || fail "wanted $opt: $(cat "$E2E_TMP/stderr")"
    ! grep -q "SECRET" "$E2E_TMP/stderr" || fail "the error shows a secret: $(cat "$E2E_TMP/stderr")"
    [ ! -e r ] || fail "a refused run left r/ behind"
}
refused -- "--url" replay t.jsonl.zst -o r --url $'http://127.0.0.1:9/v1\r\nX-Evil: 1'
refused -- "--url" replay t.jsonl.zst -o r --url $'127.0.0.1:9/v1?key=SECRET\nX'
refused -- "--url" replay t.jsonl.zst -o r --url 'http://127.0.0.1:9/a b'
refused -- "--url" replay t.jsonl.zst -o r --url $'http://127.0.0.1\r\n:9/'
refused -- "--url" replay t.jsonl.zst -o r --url 'http://u:SECRET@127.0.0.1:99999/'
refused -- "--custom-endpoint" replay t.jsonl.zst -o r --url 127.0.0.1:9 --custom-endpoint $'/v1\r\nX-Evil: 1'
refused -- "--header" replay t.jsonl.zst -o r --url 127.0.0.1:9 --header $'X-A: 1\r\nX-Evil: 1'
refused -- "--header" replay t.jsonl.zst -o r --url 127.0.0.1:9 --header 'X Y: 1'
refused -- "--header" replay t.jsonl.zst -o r --url 127.0.0.1:9 --header $'X-A: a\x01b'
refused -- "--api-key" replay t.jsonl.zst -o r --url 127.0.0.1:9 --api-key $'SECRET\r\nX-Evil: 1'
refused -- "--custom-endpoint" pack -m m -o r --request-count 1 --custom-endpoint $'/v1\nX: 1'
refused -- "--url" profile -m m --url $'http://127.0.0.1:9/v1\r\nX-Evil: 1' --artifact-dir r
refused -- "--custom-endpoint" profile -m m --url 127.0.0.1:9 --custom-endpoint $'/x\r\n' --artifact-dir r
refused -- "--header" profile -m m --url 127.0.0.1:9 --header $'X-A: 1\r\nX-Evil: 1' --artifact-dir r
echo "refusals ok"
