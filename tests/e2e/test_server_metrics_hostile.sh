#!/usr/bin/env bash
# Issue 13's bad-input must-hold, end to end: a replay scraping five hostile targets
# (garbage, an endless body, 100k series, a 1 GB line, a hang; tests/e2e/hostile_metrics.py)
# beside the mock completes every request, prints exactly one warning per hostile target,
# notes each in run.json, and its peak RSS exceeds the same replay's without scraping by
# less than the documented cap (docs/server-metrics.md: per target 16 MiB of encoded
# samples plus 256 KiB of buffers).
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 5ms --itl 1ms >/dev/null 2>&1 &
mock=$!
python3 "$E2E_ROOT/tests/e2e/hostile_metrics.py" 120 >"$E2E_TMP/ports" &
hostile=$!
trap 'kill $mock $hostile 2>/dev/null || true' EXIT
wait_port "$port"
for _ in $(seq 100); do [ -s "$E2E_TMP/ports" ] && break; sleep 0.1; done
read -r -a hp <"$E2E_TMP/ports"
[ "${#hp[@]}" = 5 ] || fail "hostile server: ports '${hp[*]}'"
"$METRONOME" pack -m m --streaming --request-count 60 --isl 20 --osl 8 \
    -o "$E2E_TMP/t.jsonl.zst" >/dev/null 2>&1 || fail "pack"
urls=$(printf 'http://127.0.0.1:%s/metrics,' "${hp[@]}")
python3 - "$METRONOME" "$E2E_TMP" "$port" "${urls%,}" <<'PY' || fail "hostile targets"
import json, os, subprocess, sys
m, d, port, urls = sys.argv[1:5]
def run(out, *extra):
    p = subprocess.Popen([m, "replay", d + "/t.jsonl.zst", "--url", "127.0.0.1:" + port,
                          "--request-rate", "20", "--arrival-pattern", "constant",
                          "-o", d + "/" + out, *extra], stdout=subprocess.PIPE,
                         stderr=open(d + "/" + out + ".err", "w"), text=True)
    p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)  # this child's own peak RSS
    p.returncode = os.waitstatus_to_exitcode(status)
    p.stderr = open(d + "/" + out + ".err").read()
    return p, ru.ru_maxrss
p0, rss0 = run("run-off", "--no-server-metrics")
assert p0.returncode == 0, p0.stderr[-500:]
p1, rss1 = run("run-hostile", "--server-metrics", urls, "--server-metrics-interval", "0.5")
assert p1.returncode == 0, p1.stderr[-500:]
warn = [l for l in p1.stderr.splitlines() if "warning: server metrics" in l]
print("\n".join(warn))
for u in urls.split(","):
    n = sum(u in l for l in warn)
    assert n == 1, (u, n, warn)
assert len(warn) == 5, warn
run_json = json.load(open(d + "/run-hostile/run.json"))
t = run_json["telemetry"]["targets"]
assert t[0]["scrapes_ok"] >= 2, t[0]  # the mock itself, scraped all along
for x in t[1:]:
    assert x["scrapes_ok"] == 0 and x.get("note"), x
cap_kib = 5 * (16 * 1024 + 256)
print("peak RSS: %d KiB without scraping, %d KiB with five hostile targets (+%d KiB, cap %d KiB)"
      % (rss0, rss1, rss1 - rss0, cap_kib))
assert rss1 - rss0 < cap_kib, (rss0, rss1)
PY
zstdcat "$E2E_TMP/run-hostile/records.jsonl.zst" | python3 -c '
import json, sys
r = [json.loads(l) for l in sys.stdin if "\"status\"" in l]
ok = sum(x.get("status") == 200 for x in r)
assert ok == 60, ok' || fail "not every request completed while scraping hostile targets"
