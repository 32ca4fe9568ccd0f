#!/usr/bin/env bash
# AIPerf 0.13's network latency calibration (--network-latency-mean / -automatic /
# -ping-interval; its network_latency/ and metrics/network_adjusted_analyzer.py): the mean
# RTT is subtracted from request latency, TTFT and TTFO of every profiling record, clamped
# at 0, and summarized as network_adjusted_* (plus network_rtt, one value); automatic mode
# times a fresh TCP handshake to the --url's host:port every interval during profiling and
# writes each probe to profile_export_network_latency.jsonl. The statistics are recomputed
# here from the per-record export (numpy's linear percentiles, population std).
# Bad values: exit 2, one line naming the option and value, nothing written.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
port=$(free_port)
U=127.0.0.1:$port
"$METRONOME" mock --port "$port" --ttft 20ms --ttft-jitter 8ms --itl 1ms --osl 8 \
    --model m1 >/dev/null 2>mock.err &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
run() { # run DIR ARGS...: exit code in $rc, stdout in out, stderr in err
    local dir=$1; shift
    set +e
    "$METRONOME" profile -m m1 --url "$U" --ui none --no-server-metrics --streaming \
        --concurrency 2 --isl 16 --osl 8 --artifact-dir "$dir" "$@" >out 2>err
    rc=$?
    set -e
}

# Bad values and combinations: refused before anything is packed.
for bad in "--network-latency-mean -1" "--network-latency-mean x" \
    "--network-latency-ping-interval 0 --network-latency-automatic" \
    "--network-latency-ping-interval 0" "--network-latency-ping-interval -2" \
    "--network-latency-ping-interval 1" \
    "--network-latency-automatic --network-latency-mean 5"; do
    # shellcheck disable=SC2086
    run bad --request-count 2 $bad
    [ "$rc" = 2 ] || fail "$bad: exit $rc"
    [ "$(wc -l <err)" = 1 ] || fail "$bad: not one line: $(cat err)"
    opt=$(echo "$bad" | cut -d' ' -f1)
    grep -q -- "$opt" err || fail "$bad: error does not name $opt: $(cat err)"
    val=$(echo "$bad" | cut -d' ' -f2)
    case $val in --*) ;; *) [ "$val" = 1 ] || grep -q -- "$val" err ||
        fail "$bad: error does not name $val: $(cat err)" ;; esac
    [ ! -e bad ] || fail "$bad: wrote bad/"
done

# check DIR MEAN_MS|auto: the adjusted metrics against the per-record export
check() {
    python3 - "$@" <<'PY' || fail "check $*"
import json, math, sys
d, mode = sys.argv[1], sys.argv[2]
j = json.load(open(f"{d}/profile_export_aiperf.json"))
recs = [json.loads(l) for l in open(f"{d}/profile_export.jsonl")]
recs = [r for r in recs if r["metadata"]["benchmark_phase"] == "profiling"]
if mode == "auto":
    probes = [json.loads(l) for l in open(f"{d}/profile_export_network_latency.jsonl")]
    ok = [p["rtt_ns"] for p in probes if p["success"]]
    mean_ms = sum(ok) / len(ok) / 1e6
else:
    mean_ms = float(mode)
rtt = j["network_rtt"]
assert rtt["count"] == 1 and rtt["std"] == 0 and rtt["unit"] == "ms", rtt
for k in ("avg", "min", "max", "p1", "p50", "p99"):
    assert abs(rtt[k] - mean_ms) < 1e-9, (k, rtt[k], mean_ms)

def pct(v, q):
    pos = (len(v) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)

clamped = 0
for adj, src in (("network_adjusted_request_latency", "request_latency"),
                 ("network_adjusted_time_to_first_token", "time_to_first_token"),
                 ("network_adjusted_time_to_first_output_token", "time_to_first_output_token")):
    raw = [r["metrics"][src]["value"] for r in recs if src in r["metrics"]]
    assert raw, src
    want = sorted(max(x - mean_ms, 0.0) for x in raw)
    clamped += sum(1 for x in raw if x < mean_ms)
    got = j[adj]
    assert got["unit"] == "ms" and got["count"] == len(want), (adj, got)
    avg = sum(want) / len(want)
    exp = {"avg": avg, "min": want[0], "max": want[-1], "sum": sum(want),
           "std": math.sqrt(sum((x - avg) ** 2 for x in want) / len(want))}
    for q in (1, 5, 10, 25, 50, 75, 90, 95, 99):
        exp[f"p{q}"] = pct(want, q)
    for k, v in exp.items():
        assert abs(got[k] - v) <= 1e-6 * max(1.0, abs(v)), (adj, k, got[k], v)
    # AIPerf computes them at summary time only: never in a record
    assert all(adj not in r["metrics"] for r in recs), adj
csv = open(f"{d}/profile_export_aiperf.csv").read()
for h in ("Network-Adjusted Request Latency (ms)", "Network-Adjusted Time to First Token (ms)",
          "Network RTT (ms)"):
    assert h in csv, h
print(f"mean {mean_ms:.6f} ms, {len(recs)} records, {clamped} clamped values")
PY
}

# --network-latency-mean: a fixed RTT near the median TTFT, so that some values clamp.
run mean --request-count 24 --network-latency-mean 20
[ "$rc" = 0 ] || fail "mean run: exit $rc: $(cat err)"
check mean 20 >mean.txt
cat mean.txt
grep -q " 0 clamped" mean.txt && fail "no TTFT below the 20 ms mean: the clamp is untested"
grep -q "subtracting a fixed mean RTT of 20.000 ms" mean/profile_export_console.txt ||
    fail "console notice missing"
[ ! -e mean/profile_export_network_latency.jsonl ] || fail "probes written without probing"
[ ! -e mean/network_latency.jsonl ] || fail "replay probed with --network-latency-mean"
# the report stage alone: another mean over the same run dir; 0 means no adjustment (AIPerf)
"$METRONOME" report mean -o rep5 --exports json,jsonl,csv --network-latency-mean 5 >/dev/null
check rep5 5 >/dev/null
"$METRONOME" report mean -o rep0 --exports json --network-latency-mean 0 >/dev/null
! grep -q -e "\"network_adjusted_" -e "\"network_rtt\"" rep0/profile_export_aiperf.json || fail "a 0 ms mean still adjusted"
expect_exit 2 "$METRONOME" report mean -o repbad --network-latency-mean -1
[ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] && grep -q -- "--network-latency-mean: -1" "$E2E_TMP/stderr" ||
    fail "report bad mean: $(cat "$E2E_TMP/stderr")"
[ ! -e repbad ] || fail "report with a bad mean wrote repbad/"

# --network-latency-automatic every 0.2 s over a run of about 2 s: loopback RTTs.
run auto --benchmark-duration 2 --network-latency-automatic --network-latency-ping-interval 0.2
[ "$rc" = 0 ] || fail "auto run: exit $rc: $(cat err)"
check auto auto
python3 - "$port" <<'PY' || fail "probe file"
import json, sys
port = int(sys.argv[1])
rows = [json.loads(l) for l in open("auto/profile_export_network_latency.jsonl")]
keys = {"timestamp_ns", "target_url", "target_host", "target_port", "probe_type", "rtt_ns", "success"}
for r in rows:
    assert set(r) == keys, r
    assert r["success"] and r["probe_type"] == "tcp_connect", r
    assert r["target_host"] == "127.0.0.1" and r["target_port"] == port, r
    assert 1000 <= r["rtt_ns"] < 20_000_000, r  # a loopback handshake
# about 2 s / 0.2 s probes, at the interval
assert 8 <= len(rows) <= 14, len(rows)
ts = [r["timestamp_ns"] for r in rows]
gaps = sorted(b - a for a, b in zip(ts, ts[1:]))
med = gaps[len(gaps) // 2]
assert 0.18e9 <= med <= 0.25e9, gaps
run = json.load(open("auto/run.json"))
nl = run["network_latency"]
assert nl["probes"] == len(rows) and nl["successes"] == len(rows) and nl["ping_interval_s"] == 0.2, nl
assert run["config"]["network_latency_automatic"] is True
print(len(rows), "probes, median gap", med / 1e6, "ms")
PY
grep -q "subtracting measured mean RTT of .* ms (over [0-9]* TCP-handshake probes)" \
    auto/profile_export_console.txt || fail "console notice missing (auto)"

# A short run (2 requests) still gets AIPerf's floor of 5 successful probes (the top-up at
# the end of profiling), at the default 1 s interval.
run short --request-count 2 --network-latency-automatic
[ "$rc" = 0 ] || fail "short run: exit $rc: $(cat err)"
n=$(grep -c '"success":true' short/profile_export_network_latency.jsonl)
[ "$n" -ge 5 ] || fail "short run: $n successful probes, wanted at least 5"
check short auto

# A server that goes away mid-run: the probes after it fail as AIPerf records them (asyncio's
# ConnectionRefusedError, its repr as the message), and only the successes make the mean.
port2=$(free_port)
"$METRONOME" mock --port "$port2" --ttft 5ms --itl 1ms --osl 4 --model m1 >/dev/null 2>&1 &
pid2=$!
trap 'kill $pid $pid2 2>/dev/null || true' EXIT
wait_port "$port2"
set +e
"$METRONOME" profile -m m1 --url "127.0.0.1:$port2" --ui none --no-server-metrics --streaming \
    --concurrency 1 --isl 8 --osl 4 --benchmark-duration 3 --network-latency-automatic \
    --network-latency-ping-interval 0.1 --artifact-dir gone >gone.out 2>&1 &
ppid=$!
set -e
for _ in $(seq 100); do [ -s gone/network_latency.jsonl ] && break; sleep 0.05; done
sleep 0.5
kill "$pid2"
wait "$ppid" || true
python3 - "$port2" <<'PY' || fail "failed probes"
import json, sys
port = int(sys.argv[1])
rows = [json.loads(l) for l in open("gone/profile_export_network_latency.jsonl")]
ok = [r for r in rows if r["success"]]
bad = [r for r in rows if not r["success"]]
assert ok and bad, (len(ok), len(bad))
want = {"type": "ConnectionRefusedError",
        "message": f"ConnectionRefusedError(111, \"Connect call failed ('127.0.0.1', {port})\")",
        "cause_chain": ["ConnectionRefusedError"]}
for r in bad:
    assert "rtt_ns" not in r and r["error"] == want, r
mean = sum(r["rtt_ns"] for r in ok) / len(ok) / 1e6
j = json.load(open("gone/profile_export_aiperf.json"))
assert abs(j["network_rtt"]["avg"] - mean) < 1e-9, (j["network_rtt"], mean)
print(len(ok), "ok,", len(bad), "refused")
PY

# replay alone: the interval needs the automatic flag; a bad one writes nothing
expect_exit 2 "$METRONOME" replay auto/trace.jsonl.zst --url "$U" -o rbad \
    --network-latency-ping-interval 0 --network-latency-automatic
grep -q -- "--network-latency-ping-interval: 0" "$E2E_TMP/stderr" || fail "replay bad interval"
[ ! -e rbad ] || fail "replay with a bad interval wrote rbad/"
expect_exit 2 "$METRONOME" replay auto/trace.jsonl.zst --url "$U" -o rbad \
    --network-latency-ping-interval 1
[ ! -e rbad ] || fail "replay with an interval and no probing wrote rbad/"
echo ok
