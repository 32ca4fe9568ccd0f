#!/usr/bin/env bash
# metronome profile beside AIPerf 0.13 (PyPI) on the same mock and the same workload:
# artifact file names, JSON field names, metric values, and each client's overhead
# (achieved req/s against the ideal C / latency, and TTFT error: the client's TTFT minus
# the mock's own TTFT for the same request, joined by X-Request-Id in the mock's timing
# log; both clocks are this host's, the mock's TTFT has no jitter).
#   bench/profile_vs_aiperf.sh [BINARY] [CONCURRENCY] [REQUESTS]
# Installs aiperf==0.13.0 into the git-ignored venv .tools/venv-profile and makes an
# offline tokenizer for it (bench/profile_make_tokenizer.py): AIPerf cannot fetch one here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$root/zig-out/bin/metronome}")
conc=${2:-32}
n=${3:-2000}
out=$root/bench/out/profile_vs_aiperf
rm -rf "$out" && mkdir -p "$out"
venv=$root/.tools/venv-profile
if [ ! -x "$venv/bin/aiperf" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q aiperf==0.13.0
fi
export HF_HUB_CACHE=$venv/hf-cache HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
[ -d "$HF_HUB_CACHE/models--local--shakespeare-bpe" ] ||
    "$venv/bin/python" "$root/bench/profile_make_tokenizer.py" 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mock_pid=
start_mock() {
    "$bin" mock --port "$port" --ttft 20ms --itl 2ms --osl 64 --timing-log "$1" >/dev/null 2>&1 &
    mock_pid=$!
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return; sleep 0.1; done
    echo "mock did not start" >&2; exit 1
}
stop_mock() { kill "$mock_pid" 2>/dev/null; wait "$mock_pid" 2>/dev/null || true; }
trap stop_mock EXIT
common=(--model bench-model --url "http://127.0.0.1:$port" --endpoint-type chat --streaming
    --concurrency "$conc" --request-count "$n" --isl 100 --osl 64 --random-seed 1 --ui none)

echo "mock: TTFT 20 ms, ITL 2 ms, 64 tokens (ideal latency 146 ms); concurrency $conc, $n requests"
start_mock "$out/timing_metronome.jsonl"
t0=$(date +%s.%N)
"$bin" profile "${common[@]}" --artifact-dir "$out/metronome" >"$out/metronome.out" 2>"$out/metronome.err"
t1=$(date +%s.%N)
stop_mock
start_mock "$out/timing_aiperf.jsonl"
t2=$(date +%s.%N)
"$venv/bin/aiperf" profile "${common[@]}" --tokenizer local/shakespeare-bpe \
    --use-server-token-count --artifact-dir "$out/aiperf" >"$out/aiperf.out" 2>&1
t3=$(date +%s.%N)
stop_mock

python3 - "$out" "$conc" "$t0" "$t1" "$t2" "$t3" <<'PY'
import json, os, sys
out, conc = sys.argv[1], int(sys.argv[2])
wall = {"metronome": float(sys.argv[4]) - float(sys.argv[3]), "aiperf": float(sys.argv[6]) - float(sys.argv[5])}
tools = ("aiperf", "metronome")

def files(d):
    return {os.path.relpath(os.path.join(p, f), d) for p, _, fs in os.walk(d) for f in fs}

fa, fm = files(f"{out}/aiperf"), files(f"{out}/metronome")
print("\n== artifact files")
print("  both:          ", " ".join(sorted(fa & fm)))
print("  AIPerf only:   ", " ".join(sorted(fa - fm)) or "-")
print("  metronome only:", " ".join(sorted(fm - fa)) or "-")

J = {t: json.load(open(f"{out}/{t}/profile_export_aiperf.json")) for t in tools}
ka, km = set(J["aiperf"]), set(J["metronome"])
print("\n== profile_export_aiperf.json top-level keys")
print(f"  both ({len(ka & km)}):", " ".join(sorted(ka & km)))
print(f"  AIPerf only ({len(ka - km)}):", " ".join(sorted(ka - km)))
print(f"  metronome only ({len(km - ka)}):", " ".join(sorted(km - ka)))
stats = set()
for k in ka & km:
    if isinstance(J["aiperf"][k], dict) and "unit" in J["aiperf"][k]:
        sa, sm = set(J["aiperf"][k]) - {"unit"}, set(J["metronome"][k]) - {"unit"}
        if sa != sm:
            stats.add(f"{k}: AIPerf {sorted(sa - sm)} metronome {sorted(sm - sa)}")
        if J["aiperf"][k]["unit"] != J["metronome"][k]["unit"]:
            stats.add(f"{k}: unit {J['aiperf'][k]['unit']} vs {J['metronome'][k]['unit']}")
print("  per-metric field differences:", "; ".join(sorted(stats)) or "none")

L = {}
for t in tools:
    lines = [json.loads(l) for l in open(f"{out}/{t}/profile_export.jsonl")]
    L[t] = lines
ra = set(lines_key for l in L["aiperf"][:1] for lines_key in l)
rm = set(lines_key for l in L["metronome"][:1] for lines_key in l)
ma = set(L["aiperf"][0]["metadata"]); mm = set(L["metronome"][0]["metadata"])
print("\n== profile_export.jsonl: record keys", "same" if ra == rm else f"AIPerf {sorted(ra)} metronome {sorted(rm)}")
print("  metadata in both:", " ".join(sorted(ma & mm)))
print("  metadata AIPerf only:", " ".join(sorted(ma - mm)) or "-")
print("  metadata metronome only:", " ".join(sorted(mm - ma)) or "-")

print("\n== metric values (AIPerf -> metronome, relative difference)")
rows = [("time_to_first_token", "ms"), ("time_to_second_token", "ms"), ("inter_token_latency", "ms"),
        ("request_latency", "ms"), ("output_token_throughput_per_user", ""),
        ("output_sequence_length", ""), ("input_sequence_length", ""),
        ("output_token_throughput", ""), ("request_throughput", ""), ("request_count", "")]
for tag, _ in rows:
    a, m = J["aiperf"].get(tag), J["metronome"].get(tag)
    if not a or not m:
        print(f"  {tag:34s} missing in {'AIPerf' if not a else 'metronome'}"); continue
    parts = []
    for s in ("avg", "p50", "p99"):
        if s in a and s in m and a[s] is not None and m[s] is not None:
            rel = (m[s] - a[s]) / a[s] * 100 if a[s] else float("nan")
            parts.append(f"{s} {a[s]:.3f} -> {m[s]:.3f} ({rel:+.1f}%)")
    print(f"  {tag:34s} [{a['unit']}] " + "; ".join(parts))

print("\n== client overhead against the same mock")
def ttft_err(tool):
    srv = {}
    for l in open(f"{out}/timing_{tool}.jsonl"):
        t = json.loads(l)
        if t.get("request_id") and t["chunks"] and t["start_ns"]:
            first = next((c[0] for c in t["chunks"] if c[1] > 0), t["chunks"][0][0])
            srv[t["request_id"]] = (first - t["start_ns"]) / 1e3
    errs, server = [], []
    for r in L[tool]:
        rid = r["metadata"].get("x_request_id")
        v = r.get("metrics", {}).get("time_to_first_token")
        if rid in srv and v:
            errs.append(v["value"] * 1e3 - srv[rid]); server.append(srv[rid])
    errs.sort(); server.sort()
    q = lambda v, p: v[min(len(v) - 1, int(p * len(v)))] if v else float("nan")
    return len(errs), q(errs, .5), q(errs, .99), q(server, .5), q(server, .99)
res = {}
for t in tools:
    k, e50, e99, s50, s99 = ttft_err(t)
    rps = J[t]["request_throughput"]["avg"]
    lat = J[t]["request_latency"]["p50"]
    res[t] = (rps, e50, e99)
    print(f"  {t:9s}: {rps:8.1f} req/s achieved (ideal {conc / 0.146:.1f} = {conc} / 146 ms); "
          f"TTFT error p50 {e50:8.1f} us, p99 {e99:8.1f} us over {k} requests "
          f"(mock TTFT p50 {s50:.1f} us, p99 {s99:.1f} us); process wall time {wall[t]:.1f} s")
a, m = res["aiperf"], res["metronome"]
print(f"  ratios metronome/AIPerf: req/s {m[0] / a[0]:.3f}x; TTFT error p50 {m[1] / a[1]:.3f}x, "
      f"p99 {m[2] / a[2]:.3f}x; wall time {wall['metronome'] / wall['aiperf']:.3f}x")
PY
