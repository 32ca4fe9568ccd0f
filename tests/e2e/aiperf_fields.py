"""Field names of AIPerf 0.13's server-metrics and GPU-telemetry exports in an artifact dir,
as one JSON object, so metronome's exports can be compared with a captured AIPerf run
(testdata/aiperf/server_metrics_fields.json) without installing AIPerf.
    python3 aiperf_fields.py DIR            prints the fields of DIR's exports
"""
import json
import os
import sys


def fields(d):
    out = {}
    p = os.path.join(d, "server_metrics_export.jsonl")
    if os.path.exists(p):
        recs = [json.loads(l) for l in open(p)]
        keys = set().union(*[set(r) for r in recs]) if recs else set()
        fams, hist, val = set(), set(), set()
        for r in recs:
            for name, samples in r["metrics"].items():
                fams.add(name)
                for s in samples:
                    (hist if "buckets" in s else val).update(s.keys())
        out["server_metrics_export.jsonl"] = {
            "record_keys": sorted(keys),
            "families": sorted(fams),
            "histogram_sample_keys": sorted(hist),
            "value_sample_keys": sorted(val),
        }
    p = os.path.join(d, "gpu_telemetry_export.jsonl")
    if os.path.exists(p):
        recs = [json.loads(l) for l in open(p)]
        out["gpu_telemetry_export.jsonl"] = {
            "record_keys": sorted(set().union(*[set(r) for r in recs])),
            "telemetry_data_keys": sorted(set().union(*[set(r["telemetry_data"]) for r in recs])),
        }
    p = os.path.join(d, "server_metrics_export.json")
    if os.path.exists(p):
        j = json.load(open(p))
        out["server_metrics_export.json"] = {
            "top_keys": sorted(j),
            "summary_keys": sorted(j.get("summary", {})),
            "metric_keys": sorted(set().union(*[set(m) for m in j["metrics"].values()])),
            "series_keys": sorted(set().union(*[set(s) for m in j["metrics"].values()
                                                for s in m["series"]])),
            "stats_keys": {t: sorted(set().union(*[set(s["stats"]) for m in j["metrics"].values()
                                                   if m["type"] == t for s in m["series"]]))
                           for t in sorted({m["type"] for m in j["metrics"].values()})},
        }
    p = os.path.join(d, "server_metrics_export.csv")
    if os.path.exists(p):
        out["server_metrics_export.csv"] = {
            "header_lines": [l.rstrip("\n") for l in open(p) if not l.startswith("#")][:1]}
    return out


if __name__ == "__main__":
    json.dump(fields(sys.argv[1]), sys.stdout, indent=1, sort_keys=True)
    print()
