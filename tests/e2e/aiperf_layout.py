"""The artifact layout of a sweep: file names and JSON/CSV field names, never values.

  python3 aiperf_layout.py capture DIR 'NOTE' > FIXTURE   (run once on AIPerf's own output)
  python3 aiperf_layout.py check FIXTURE DIR              (our output against the fixture)

check fails (exit 1, one line per difference) when a file AIPerf wrote is missing from DIR
(except the per-run files in KNOWN_GAPS, which are the per-run report's business and
listed in docs/aiperf-compatibility.md), when a JSON object AIPerf wrote lacks a field, or
when a CSV header differs. Extra files and fields of ours are allowed.
"""
import csv
import json
import os
import re
import sys

# Per-run files AIPerf 0.13 writes that a metronome run does not (yet).
KNOWN_GAPS = {"run_config.json"}
# Metric blocks whose field names are compared (AIPerf's metric set per run is the
# report's; these are the ones sweep charts read).
METRICS = ["request_throughput", "time_to_first_token", "request_latency", "inter_token_latency",
           "output_token_throughput", "output_token_throughput_per_user"]


def files(d):
    out = []
    for root, _, fs in os.walk(d):
        for f in fs:
            out.append(os.path.relpath(os.path.join(root, f), d))
    return sorted(out)


def keys(o):
    return " ".join(o.keys())


def capture(d, note):
    lines = ["# " + l for l in note.splitlines()]
    for f in files(d):
        if f.startswith("logs/") or "/logs/" in f:
            continue
        lines.append("file " + f)
    sj = json.load(open(os.path.join(d, "sweep_aggregate/profile_export_aiperf_sweep.json")))
    S = "sweep_aggregate/profile_export_aiperf_sweep.json"
    lines.append(f"json {S} . {keys(sj)}")
    lines.append(f"json {S} metadata {keys(sj['metadata'])}")
    lines.append(f"json {S} metadata.sweep_parameters[0] {keys(sj['metadata']['sweep_parameters'][0])}")
    pc = sj["per_combination_metrics"][0]
    lines.append(f"json {S} per_combination_metrics[0] {keys(pc)}")
    lines.append(f"json {S} per_combination_metrics[0].parameters {keys(pc['parameters'])}")
    for m in METRICS:
        lines.append(f"json {S} per_combination_metrics[0].metrics.{m} {keys(pc['metrics'][m])}")
    for f in files(d):
        if f.endswith("profile_export_aiperf_aggregate.json"):
            aj = json.load(open(os.path.join(d, f)))
            lines.append(f"json {f} . {keys(aj)}")
            lines.append(f"json {f} metadata {keys(aj['metadata'])}")
            for m in METRICS:
                lines.append(f"json {f} metrics.{m}_avg {keys(aj['metrics'][m + '_avg'])}")
        if f.endswith("profile_export_aiperf_aggregate.csv"):
            lines.append(f"csvhead {f} " + open(os.path.join(d, f)).readline().strip())
    sc = list(csv.reader(open(os.path.join(d, "sweep_aggregate/profile_export_aiperf_sweep.csv"))))
    lines.append("csvcols sweep_aggregate/profile_export_aiperf_sweep.csv " + " ".join(
        c for c in sc[0] if c == "concurrency" or any(c.startswith(m + "_") and c[len(m) + 1:] in
        ("mean", "std", "min", "max", "cv") for m in METRICS)))
    print("\n".join(lines))


def get(o, path):
    if path == ".":
        return o
    for part in path.split("."):
        m = re.fullmatch(r"(\w+)\[(\d+)\]", part)
        o = o[m.group(1)][int(m.group(2))] if m else o[part]
    return o


def check(fixture, d):
    bad = []
    have = set(files(d))
    for line in open(fixture):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        kind, rest = line.split(" ", 1)
        if kind == "file":
            if rest not in have and os.path.basename(rest) not in KNOWN_GAPS:
                bad.append(f"missing file {rest}")
        elif kind == "json":
            f, path, *want = rest.split(" ")
            try:
                o = get(json.load(open(os.path.join(d, f))), path)
            except (OSError, KeyError, IndexError, ValueError) as e:
                bad.append(f"{f} {path}: {e!r}")
                continue
            miss = [k for k in want if k not in o]
            if miss:
                bad.append(f"{f} {path}: no {' '.join(miss)}")
        elif kind == "csvhead":
            f, want = rest.split(" ", 1)
            try:
                got = open(os.path.join(d, f)).readline().strip()
            except OSError as e:
                bad.append(f"{f}: {e!r}")
                continue
            if got != want:
                bad.append(f"{f}: header {got!r}, AIPerf {want!r}")
        elif kind == "csvcols":
            f, *want = rest.split(" ")
            try:
                head = next(csv.reader(open(os.path.join(d, f))))
            except (OSError, StopIteration) as e:
                bad.append(f"{f}: {e!r}")
                continue
            miss = [c for c in want if c not in head]
            if miss:
                bad.append(f"{f}: no columns {' '.join(miss)}")
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "capture":
        capture(sys.argv[2], sys.argv[3])
    else:
        sys.exit(check(sys.argv[2], sys.argv[3]))
