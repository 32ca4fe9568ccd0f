#!/usr/bin/env python3
"""bench/all.sh's helper.
  all_extract.py SCRIPT LOG          figures of one run of a script that does not write
                                     result() lines itself, as JSON lines (from its text)
  all_extract.py --summary DIR VERSION SECONDS QUICK
                                     the markdown summary of DIR/results.jsonl and runs.jsonl
"""
import json
import os
import re
import statistics
import sys

# Figures read from the text of scripts that print prose: (metric, regex, unit).
PATTERNS = {
    "replay_ttft.sh": [
        ("ttft_error_p50", r"client-added TTFT error p50 (-?[\d.]+) us", "us"),
        ("ttft_error_p99", r"client-added TTFT error p50 -?[\d.]+ us, p99 (-?[\d.]+) us", "us"),
    ],
    "replay_scale.sh": [
        ("plain_kb_per_stream", r"plain: .*: ([\d.]+) KB per stream", "KB"),
        ("plain_errors", r"plain: \d+ concurrent streams: \d+ records, (\d+) errors", ""),
        ("tls_kb_per_stream", r"TLS: .*: ([\d.]+) KB per stream", "KB"),
        ("tls_errors", r"TLS: \d+ concurrent streams: \d+ records, (\d+) errors", ""),
    ],
    "mock_wrk.sh": [
        ("mock_vs_nginx_ratio", r"non-streaming: mock \d+ req/s, nginx static \d+ req/s: ratio ([\d.]+)x", ""),
        ("mock_sse_events_per_s", r"streaming: mock ([\d.]+) M SSE events/s", "M/s"),
    ],
    "pack.sh": [
        ("pack_mb_per_s_cpu", r"metronome pack \(input\) +[\d.]+ +[\d.]+ +[\d.]+ +([\d.]+)", "MB/s"),
        ("pack_peak_rss", r"metronome pack \(input\) +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +([\d.]+)", "MB"),
        ("inspect_mb_per_s_cpu", r"metronome inspect \(JSON\) +[\d.]+ +[\d.]+ +[\d.]+ +([\d.]+)", "MB/s"),
    ],
    "report.sh": [
        ("slowest_export_cpu_s", r"slowest single export ([\d.]+) s cpu", "s"),
        ("report_peak_rss", r"target <= 256 MB: peak (\d+) MB", "MB"),
    ],
}

TARGETS = {
    "closed_loop_req_s_ratio": ">= 0.9",
    "closed_loop_cpu_ratio": "<= 1.3",
    "server_lateness_p99_10000_spin30": "<= 50 us",
    "server_lateness_p99.9_10000_spin30": "<= 500 us",
    "server_lateness_p99_10000_spingap": "<= 50 us (spin = the gap: a core)",
    "server_lateness_p99.9_10000_spingap": "<= 500 us (spin = the gap: a core)",
    # the machine's own floor for the same schedule (bench/sched_floor.c): no target,
    # the figure the two above cannot go below in that minute
    "cpu_ratio_5000_spin30": "<= 2 (spin cost included)",
    "cpu_ratio_5000_spin0": "<= 2",
    "cpu_ratio_10000_spin0": "<= 2",
    "cpu_ratio_wrk2_5000_spin30": "<= 2 (spin cost included)",
    "cpu_ratio_wrk2_5000_spin0": "<= 2",
    "cpu_ratio_wrk2_10000_spin30": "<= 2 (spin cost included)",
    "cpu_ratio_wrk2_10000_spin0": "<= 2",
    "cpu_ratio_wrk2_5000_spintick1000": "<= 2 (1 ms ticks, as wrk2)",
    "cpu_ratio_wrk2_10000_spintick1000": "<= 2 (1 ms ticks, as wrk2)",
    "closed_loop_rss_growth_10s_to_60s": "<= 64 MB",
    "kb_per_stream_10000_osl35": "<= 16 KB",
    "kb_per_stream_10000_osl200": "<= 16 KB",
    "ttft_error_p99": "<= 100 us",
    "plain_kb_per_stream": "<= 16 KB",
    "tls_kb_per_stream": "<= 64 KB",
    "mock_vs_nginx_ratio": ">= 0.7",
    "mock_sse_events_per_s": ">= 1 M/s",
    "pack_mb_per_s_cpu": ">= 50 MB/s",
    "pack_peak_rss": "< 256 MB",
    "inspect_mb_per_s_cpu": ">= 200 MB/s",
    "slowest_export_cpu_s": "<= 10 s",
    "report_peak_rss": "<= 256 MB",
}


def extract(script, log):
    text = open(log, errors="replace").read()
    run = int(os.environ.get("BENCH_RUN", "1"))
    for metric, rx, unit in PATTERNS.get(script, []):
        m = re.search(rx, text)
        if m:
            print(json.dumps({"script": script, "run": run, "metric": metric,
                              "value": float(m.group(1)), "unit": unit}))


def verdict(target, median):
    """'met' / 'NOT met' for a target like '>= 0.9' or '<= 50 us' (by the median)."""
    m = re.match(r"\s*(>=|<=|<|>)\s*([\d.]+)", target or "")
    if not m:
        return ""
    op, x = m.group(1), float(m.group(2))
    ok = {">=": median >= x, "<=": median <= x, "<": median < x, ">": median > x}[op]
    return "met" if ok else "NOT met"


def fmt(v):
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def summary(d, version, seconds, quick):
    res = [json.loads(l) for l in open(os.path.join(d, "results.jsonl")) if l.strip()]
    runs = [json.loads(l) for l in open(os.path.join(d, "runs.jsonl")) if l.strip()]
    cmd, loads, others, steals, secs = {}, {}, {}, {}, {}
    for r in runs:
        cmd[r["script"]] = r["cmd"]
        loads.setdefault(r["script"], []).append(float(r["load"].split()[0]))
        if r.get("other_cores", -1) >= 0:
            others.setdefault(r["script"], []).append(r["other_cores"])
        if "steal_cores" in r:
            steals.setdefault(r["script"], []).append(r["steal_cores"])
        secs[r["script"]] = secs.get(r["script"], 0) + r["seconds"]
    order, vals, units = [], {}, {}
    for r in res:
        k = (r["script"], r["metric"])
        if k not in vals:
            order.append(k)
            vals[k] = []
        vals[k].append(r["value"])
        units[k] = r.get("unit", "")
    mode = "QUICK (smoke test, 1 run at small sizes: not figures of record)" if quick == "1" else "full"
    print(f"Measured by `bench/all.sh` ({mode}) with `{version}` in {int(seconds) // 60} min "
          f"{int(seconds) % 60} s; each figure: min / median / max over its runs; load = the "
          "1-minute load average before each run (min–max; it includes the previous benchmark "
          "run's own load); others = the cores that processes outside the benchmark used during "
          "its runs (max; `-` when not measurable), of which the hypervisor's steal in brackets.\n")
    print("| script | figure | min | median | max | unit | runs | load before | others | target | median vs target |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    met, missed = [], []
    for k in order:
        v = sorted(vals[k])
        l = loads.get(k[0], [0])
        o = f"{max(others[k[0]]):.2f}" if k[0] in others else "-"
        if k[0] in steals:
            o += f" ({max(steals[k[0]]):.2f})"
        med = statistics.median(v)
        vd = verdict(TARGETS.get(k[1]), med)
        (met if vd == "met" else missed if vd else []).append(k[1])
        print(f"| `{cmd.get(k[0], k[0])}` | {k[1]} | {fmt(v[0])} | {fmt(med)} | "
              f"{fmt(v[-1])} | {units[k]} | {len(v)} | {min(l):.2f}–{max(l):.2f} | {o} | "
              f"{TARGETS.get(k[1], '')} | {vd} |")
    print(f"\nTargets met ({len(met)}): {', '.join(met) or 'none'}.")
    print(f"Targets NOT met ({len(missed)}): {', '.join(missed) or 'none'}.")
    # Measured interference decides; the load average only where it could not be measured.
    # Steal counts on its own: the run's cgroup is charged for time stolen while it ran,
    # so "others" can miss it, and 5 % of a core taken in millisecond slices is already
    # the whole lateness tail.
    busy = sorted({s for s, o in others.items() if max(o) > 0.1} |
                  {s for s, t in steals.items() if max(t) > 0.05} |
                  {s for s, l in loads.items() if s not in others and max(l) > 1})
    if busy:
        print(f"\nBUSY: other processes used more than 0.1 of a core, or the host stole more than "
              f"0.05, during runs of (or, where that could not be measured, the load average was "
              f"above 1 before) {', '.join(busy)}: their figures are not the page's figures.")
    print()
    print("Time per script: " + ", ".join(f"{s} {t} s" for s, t in secs.items()))


if sys.argv[1] == "--summary":
    summary(*sys.argv[2:6])
else:
    extract(sys.argv[1], sys.argv[2])
