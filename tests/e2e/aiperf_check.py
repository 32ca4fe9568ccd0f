"""Checks a metronome artifact directory with AIPerf 0.13's own models and exporter rules.

Run with the Python of a venv where aiperf==0.13.0 is installed:
    python aiperf_check.py ARTIFACT_DIR [--warmup] [--errors] [--streaming]
Exits non-zero with one line per problem. What it checks:
  * profile_export_aiperf.json and phases/*/profile_export_aiperf.json validate with
    JsonExportData.model_validate_json (AIPerf's pydantic model), schema_version is AIPerf's,
    run_info carries random_seed and cli_command, every metric block's tag that AIPerf
    registers has AIPerf's display unit;
  * server_metrics_export.json (when the mock's /metrics was scraped) validates with
    ServerMetricsExportData and holds the mock's TTFT histogram;
  * every profile_export.jsonl line validates with MetricRecordInfo, warmup records are there
    (when --warmup) and carry benchmark_phase/phase_* metadata; metric units are AIPerf's;
  * profile_export_aiperf.csv is what AIPerf's MetricsCsvExporter writes for the same
    statistics: header = "Metric" + STAT_KEYS, rows named header (unit) by AIPerf's rule from
    its metric registry, sorted by tag, numbers "%.2f", then "Metric,Value" rows;
  * phase_manifest.json names files that exist, with AIPerf's keys; inputs.json validates
    with InputsFile; the time-slice JSON with TimesliceCollectionExportData;
  * AIPerf's top-level keys that metronome must carry for this configuration are present
    (all 14 time-weighted sweeps with AIPerf's units, the http_req_* family with the byte and
    read counts), every other key is AIPerf's or a documented addition, and error types are
    AIPerf's names (--errors).
"""
import csv
import io
import json
import math
import os
import sys

import numpy as np

from aiperf.analysis.sweepline import SweepLineCurves
from aiperf.common.constants import STAT_KEYS
from aiperf.common.models.export_models import JsonExportData
from aiperf.common.models.record_models import MetricRecordInfo
from aiperf.metrics.metric_registry import MetricRegistry

d = sys.argv[1]
flags = set(sys.argv[2:])
problems = []


def bad(msg):
    problems.append(msg)


def registered(tag):
    try:
        return MetricRegistry.get_class(tag)
    except Exception:
        return None


def display_unit(cls):
    return str(cls.display_unit or cls.unit)


# AIPerf's time-weighted sweeps, as its SweepLineCurves.compute_metrics names them (tag ->
# MetricResult with header and unit): AIPerf emits every one of them for any phase with
# records (zero statistics for an empty curve), so metronome must too.
_empty = np.zeros(0)
SWEEPS = SweepLineCurves(*([_empty] * 18)).compute_metrics(0.0, 1.0)

# Headers of the metrics AIPerf computes outside its registry (derived_latency.py and
# accumulator_sweeps.py)
UNREGISTERED = {
    "credit_to_start_latency": "Credit-to-Start Latency",
    "effective_latency": "Effective Latency (CO-aware)",
    **{t: r.header for t, r in SWEEPS.items()},
}

def label(tag, unit):
    """AIPerf's MetricsCsvExporter._format_metric_name for this tag."""
    if tag.startswith("adj_"):
        cls = registered(tag[4:])
        name = f"{cls.header} (error-adjusted)"
    else:
        cls = registered(tag)
        name = cls.header if cls else UNREGISTERED.get(tag, tag)
    if unit and unit.lower() not in {"count", "requests"}:
        name = f"{name} ({unit})"
    return name


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v}"
    return f"{float(v):.2f}"


def check_json(path, top):
    text = open(path).read()
    try:
        JsonExportData.model_validate_json(text)
    except Exception as e:  # pydantic.ValidationError
        bad(f"{path}: JsonExportData rejects it: {e}")
        return None
    j = json.loads(text)
    if j.get("schema_version") != JsonExportData.SCHEMA_VERSION:
        bad(f"{path}: schema_version {j.get('schema_version')} != {JsonExportData.SCHEMA_VERSION}")
    ri = j.get("run_info") or {}
    if top and (ri.get("random_seed") is None or not ri.get("cli_command")):
        bad(f"{path}: run_info lacks random_seed or cli_command: {ri}")
    for tag, blk in j.items():
        if not (isinstance(blk, dict) and "unit" in blk):
            continue
        cls = registered(tag[4:] if tag.startswith("adj_") else tag)
        if cls and blk["unit"] != display_unit(cls):
            bad(f"{path}: {tag} unit {blk['unit']!r}, AIPerf's is {display_unit(cls)!r}")
        for k, v in blk.items():
            if k != "unit" and isinstance(v, float) and not math.isfinite(v):
                bad(f"{path}: {tag}.{k} is {v}")
    return j


def check_csv(path, j):
    rows = list(csv.reader(io.StringIO(open(path, newline="").read())))
    raw = open(path, "rb").read()
    if raw and b"\r\n" not in raw:
        bad(f"{path}: not CRLF line ends (Python's csv.writer writes CRLF)")
    rec = {t: b for t, b in j.items() if isinstance(b, dict) and "unit" in b
           and any(b.get(k) is not None for k in STAT_KEYS if k.startswith("p"))}
    sysm = {t: b for t, b in j.items() if isinstance(b, dict) and "unit" in b and t not in rec}
    ours = {"time_to_first_token_from_intended", "request_latency_from_intended",
            "schedule_lateness", "error_rate"}
    want = []
    if rec:
        want.append(["Metric"] + list(STAT_KEYS))
        for t in sorted(rec):
            if t in ours:
                continue
            want.append([label(t, rec[t]["unit"])] + [fmt(rec[t].get(k)) for k in STAT_KEYS])
    if rec and sysm:
        want.append([])
    if sysm:
        want.append(["Metric", "Value"])
        for t in sorted(sysm):
            if t in ours:
                continue
            want.append([label(t, sysm[t]["unit"]), fmt(sysm[t].get("avg"))])
    if rows != want:
        for i in range(max(len(rows), len(want))):
            a = rows[i] if i < len(rows) else None
            b = want[i] if i < len(want) else None
            if a != b:
                bad(f"{path}: row {i}: {a} != AIPerf's {b}")
                break


j = check_json(f"{d}/profile_export_aiperf.json", True)
if j:
    check_csv(f"{d}/profile_export_aiperf.csv", {k: v for k, v in j.items() if k != "warmup_metrics"})
    need = ["request_count", "request_throughput", "request_latency", "benchmark_duration",
            "completed_request_count", "request_error_rate", "input_sequence_length",
            "output_sequence_length", "output_token_count", "total_output_tokens",
            "input_token_throughput", "total_token_throughput", "output_token_throughput",
            "total_isl", "total_osl", "e2e_output_token_throughput", "usage_prompt_tokens",
            "usage_completion_tokens", "usage_total_tokens", "total_usage_prompt_tokens",
            "total_usage_completion_tokens", "total_usage_total_tokens", "osl_mismatch_count",
            "osl_mismatch_diff_pct", "http_req_connection_reused", "http_req_connecting",
            "http_req_sending", "http_req_waiting", "http_req_receiving", "http_req_duration",
            "http_req_total", "http_req_blocked", "http_req_dns_lookup",
            "http_req_connection_overhead", "credit_to_start_latency", "effective_latency",
            "http_req_data_sent", "http_req_data_received", "http_req_chunks_sent",
            "http_req_chunks_received",
            *SWEEPS,
            "is_complete", "start_time", "end_time", "error_summary"]
    if "--streaming" in flags:
        need += ["time_to_first_token", "time_to_second_token", "inter_token_latency",
                 "inter_chunk_latency", "output_token_throughput_per_user", "decode_duration",
                 "time_to_first_output_token", "prefill_throughput_per_user"]
    if "--errors" in flags:
        need += ["error_request_count", "context_overflow_count", "adj_request_latency"]
        types = {e["error_details"]["type"] for e in j["error_summary"]}
        if types & {"http", "closed", "connect", "timeout_total", "protocol"}:
            bad(f"error types are metronome's, not AIPerf's: {sorted(types)}")
        if j["request_error_rate"]["unit"] != "%":
            bad("request_error_rate is not in %")
    if "--warmup" in flags:
        need += ["warmup_metrics"]
    for k in need:
        if k not in j:
            bad(f"profile_export_aiperf.json lacks AIPerf's key {k}")
    # the other direction: every top-level key is AIPerf's (a field of its export model, a
    # registered metric, a sweep, a derived latency, adj_<registered>) or one of the few
    # metronome adds under its own names (docs/aiperf-compatibility.md)
    ours = {"time_to_first_token_from_intended", "request_latency_from_intended",
            "schedule_lateness", "error_rate", "runtime_submission_invalid_reasons", "metronome"}
    for k in j:
        known = (k in JsonExportData.model_fields or registered(k) or k in UNREGISTERED
                 or (k.startswith("adj_") and registered(k[4:])) or k in ours)
        if not known:
            bad(f"profile_export_aiperf.json: key {k} is neither AIPerf's nor a documented addition")
    for k, r in SWEEPS.items():
        if k in j and j[k].get("unit") != r.unit:
            bad(f"{k}: unit {j[k].get('unit')!r} is not AIPerf's {r.unit!r}")

phases = set()
nlines = 0
for i, line in enumerate(open(f"{d}/profile_export.jsonl")):
    nlines += 1
    try:
        r = MetricRecordInfo.model_validate_json(line)
    except Exception as e:
        bad(f"profile_export.jsonl line {i + 1}: MetricRecordInfo rejects it: {e}")
        continue
    phases.add(str(r.metadata.benchmark_phase))
    x = json.loads(line)["metadata"]
    if "phase_name" not in x or "phase_index" not in x:
        bad(f"profile_export.jsonl line {i + 1}: no phase_name/phase_index")
    for tag, mv in r.metrics.items():
        cls = registered(tag)
        if cls and mv.unit != display_unit(cls):
            bad(f"profile_export.jsonl line {i + 1}: {tag} unit {mv.unit!r}, AIPerf's {display_unit(cls)!r}")
    if r.error is not None and r.error.type in {"http", "closed"}:
        bad(f"profile_export.jsonl line {i + 1}: error type {r.error.type!r} is not AIPerf's")
if not nlines:
    bad("profile_export.jsonl is empty")
if "--warmup" in flags and not any("warmup" in p for p in phases):
    bad(f"profile_export.jsonl has no warmup records (phases {phases})")

try:
    man = json.load(open(f"{d}/phase_manifest.json"))
except OSError as e:
    bad(f"phase_manifest.json: {e}")
    man = {"schema_version": 1}
if man.get("schema_version") != 1:
    bad("phase_manifest.json: schema_version is not 1")
keys = {"end_ns", "error_request_count", "error_summary", "metrics_csv", "metrics_json",
        "phase_index", "phase_kind", "phase_name", "profiling_index", "start_ns",
        "successful_request_count", "total_request_count", "was_cancelled"}
names = []
for p in man.get("phases", []):
    if set(p) != keys:
        bad(f"phase_manifest.json: keys {sorted(set(p) ^ keys)} differ from AIPerf's")
    names.append(p.get("phase_name"))
    for k in ("metrics_json", "metrics_csv"):
        if not os.path.exists(os.path.join(d, p.get(k, "?"))):
            bad(f"phase_manifest.json: {p.get(k)} does not exist")
    pj = check_json(os.path.join(d, p["metrics_json"]), False)
    if pj:
        check_csv(os.path.join(d, p["metrics_csv"]), pj)
want_names = (["warmup"] if "--warmup" in flags else []) + ["profiling"]
if names != want_names:
    bad(f"phase_manifest.json phases {names}, expected {want_names}")

if os.path.exists(f"{d}/inputs.json"):  # profile writes it; a replay reported alone does not
    from aiperf.common.models.dataset_models import InputsFile
    try:
        InputsFile.model_validate_json(open(f"{d}/inputs.json").read())
    except Exception as e:
        bad(f"inputs.json: InputsFile rejects it: {e}")

sm = f"{d}/server_metrics_export.json"
if os.path.exists(sm):  # the mock's /metrics was scraped (on by default)
    from aiperf.common.models.server_metrics_models import ServerMetricsExportData
    try:
        smj = ServerMetricsExportData.model_validate_json(open(sm).read())
        if not smj.metrics or "vllm:time_to_first_token_seconds" not in smj.metrics:
            bad(f"{sm}: no vllm:time_to_first_token_seconds among {sorted(smj.metrics)}")
    except Exception as e:
        bad(f"{sm}: ServerMetricsExportData rejects it: {e}")

ts = f"{d}/profile_export_aiperf_timeslices.json"
if os.path.exists(ts):
    from aiperf.common.models.export_models import TimesliceCollectionExportData
    try:
        tj = TimesliceCollectionExportData.model_validate_json(open(ts).read())
        if not tj.timeslices or any(t.start_ns is None or t.end_ns is None for t in tj.timeslices):
            bad(f"{ts}: slices without start_ns/end_ns")
    except Exception as e:
        bad(f"{ts}: TimesliceCollectionExportData rejects it: {e}")
    rows = list(csv.reader(open(f"{d}/profile_export_aiperf_timeslices.csv", newline="")))
    if rows[0] != ["Timeslice", "Start_NS", "End_NS", "Metric", "Unit", "Stat", "Value"]:
        bad(f"timeslices CSV header {rows[0]} is not AIPerf's")
    if any(len(r) != 7 or r[5] not in STAT_KEYS for r in rows[1:]):
        bad("timeslices CSV rows are not AIPerf's tidy rows")
elif "--slices" in flags:
    bad("no profile_export_aiperf_timeslices.json")

for p in problems:
    print("aiperf_check:", p)
print(f"aiperf_check: {d}: {len(problems)} problem(s), {nlines} records")
sys.exit(1 if problems else 0)
