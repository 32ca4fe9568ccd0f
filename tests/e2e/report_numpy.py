#!/usr/bin/env python3
"""Reference for `metronome report`: generates random records, then recomputes every
statistic with numpy (AIPerf's definitions, written independently of the C code) and
compares it with profile_export_aiperf.json.

  report_numpy.py gen RUN_DIR N SEED
  report_numpy.py check RUN_DIR OUT_DIR
"""
import json
import math
import random
import sys

import numpy as np


def gen(run_dir, n, seed):
    rnd = random.Random(seed)
    run = {
        "format": "metronome-run", "version": 1,
        "anchor": {"mono_ns": 5_000_000_000, "real_ns": 1_760_000_000_123_456_789},
        "host": {"hostname": "numpy"}, "shard": {"index": 0, "count": 1},
        "trace": {"sha256": "ref"},
        "config": {"endpoint_type": "chat", "streaming": True, "api_key": "sk-do-not-leak"},
        "started_real_ns": 1_760_000_000_123_456_789, "complete": True, "cancelled": False,
    }
    with open(f"{run_dir}/run.json", "w") as f:
        json.dump(run, f)
    with open(f"{run_dir}/records.jsonl", "w") as f:
        t = 1_000_000
        for i in range(n):
            t += rnd.randint(0, 20_000_000)
            late = rnd.choice([0, 0, rnd.randint(0, 5_000_000), rnd.randint(-1000, 1000)])
            rec = {"i": i, "conv": str(i), "turn": 0,
                   "phase": "warmup" if i < 20 else "profile",
                   "worker": rnd.randint(0, 3), "stream": True,
                   "isl": rnd.randint(1, 4000),
                   "t_intended": t, "t_start": t + late}
            start = t + late
            kind = rnd.random()
            if kind < 0.05:
                rec["status"] = 500
                rec["t_end"] = start + rnd.randint(1000, 100000)
                rec["error"] = {"code": 500, "type": "http", "message": rnd.choice(["a", "b\"q"])}
            else:
                nch = rnd.choice([1, 1, 2, rnd.randint(2, 200)])
                ct = start + rnd.randint(1, 900_000_000)
                chunks = []
                for k in range(nch):
                    chunks.append([ct, rnd.choice([0, 1, 1, 1, 2, 3]) if k else rnd.choice([0, 1])])
                    ct += rnd.choice([0, rnd.randint(1, 30_000_000), rnd.randint(1, 3000)])
                if rnd.random() < 0.2:
                    # Reasoning first: messages before (and sometimes at) the first content.
                    rt = start + rnd.randint(1, max(1, chunks[0][0] - start))
                    rchunks = []
                    for _ in range(rnd.randint(1, 5)):
                        rchunks.append([rt, rnd.randint(0, 3)])
                        rt = min(chunks[0][0], rt + rnd.randint(0, 2_000_000))
                    rec["rchunks"] = rchunks
                rec["chunks"] = chunks
                rec["t_first"] = chunks[0][0]
                rec["t_last"] = chunks[-1][0]
                rec["t_end"] = chunks[-1][0] + 1000
                rec["status"] = 200
                if rnd.random() < 0.3:
                    rec["usage"] = {"prompt_tokens": rnd.randint(1, 4000),
                                    "completion_tokens": rnd.randint(0, 500)}
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")


def reference(run_dir):
    recs = [json.loads(l) for l in open(f"{run_dir}/records.jsonl")]
    cols = {k: [] for k in ["time_to_first_token", "time_to_second_token", "request_latency",
                            "inter_token_latency", "output_token_throughput_per_user",
                            "output_sequence_length", "input_sequence_length",
                            "schedule_lateness", "time_to_first_token_from_intended",
                            "request_latency_from_intended", "prefill_throughput_per_user"]}
    icl = []
    valid = 0
    invalid = 0
    tmin, tmax, tot_osl = None, None, 0
    for r in recs:
        if r["phase"] != "profile":
            continue
        cols["schedule_lateness"].append(r["t_start"] - r["t_intended"])
        ch = r.get("chunks", [])
        rch = r.get("rchunks", [])
        # AIPerf 0.13: an empty-content message (0 tokens) is no response.
        resp = [c for c in ch if c[1] > 0] + rch
        if "error" in r or not resp:
            invalid += 1
            continue
        valid += 1
        s = r["t_start"]
        counted = sum(c[1] for c in ch) + sum(c[1] for c in rch)
        # A usage count below the messages with text received contradicts them (each
        # carries at least one token): then the counted tokens are used (docs/metrics.md).
        msgs = sum(1 for c in ch if c[1] > 0) + sum(1 for c in rch if c[1] > 0)
        osl = r["usage"]["completion_tokens"] if "usage" in r else counted
        if "usage" in r and osl < msgs:
            osl = counted
        # Responses: content and reasoning messages in time order (content first on ties).
        ch = sorted(resp, key=lambda c: c[0])
        isl = r["usage"]["prompt_tokens"] if "usage" in r else r["isl"]
        ttft = ch[0][0] - s
        lat = ch[-1][0] - s
        cols["time_to_first_token"].append(ttft)
        if len(ch) >= 2:
            cols["time_to_second_token"].append(ch[1][0] - ch[0][0])
        cols["request_latency"].append(lat)
        if osl >= 2:
            itl = (lat - ttft) / (osl - 1)
            cols["inter_token_latency"].append(itl)
            if itl != 0:
                cols["output_token_throughput_per_user"].append(1 / (itl * 1e-09))
        cols["output_sequence_length"].append(osl)
        cols["input_sequence_length"].append(isl)
        if ttft != 0:
            cols["prefill_throughput_per_user"].append(isl / (ttft * 1e-09))
        cols["time_to_first_token_from_intended"].append(ch[0][0] - r["t_intended"])
        cols["request_latency_from_intended"].append(ch[-1][0] - r["t_intended"])
        icl.extend(ch[k][0] - ch[k - 1][0] for k in range(1, len(ch)))
        tmin = s if tmin is None else min(tmin, s)
        tmax = ch[-1][0] if tmax is None else max(tmax, ch[-1][0])
        tot_osl += osl
    return cols, icl, valid, invalid, tmin, tmax, tot_osl


FLOAT = {"inter_token_latency", "output_token_throughput_per_user", "prefill_throughput_per_user"}
MS = {"time_to_first_token", "time_to_second_token", "request_latency", "inter_token_latency",
      "schedule_lateness", "time_to_first_token_from_intended", "request_latency_from_intended"}
PCT = [("p1", 1), ("p5", 5), ("p10", 10), ("p25", 25), ("p50", 50), ("p75", 75), ("p90", 90),
       ("p95", 95), ("p99", 99)]


def check(run_dir, out_dir):
    got = json.load(open(f"{out_dir}/profile_export_aiperf.json"))
    cols, icl, valid, invalid, tmin, tmax, tot_osl = reference(run_dir)
    bad = []
    checked = 0

    def cmp(tag, field, want, have, rel=0.0):
        nonlocal checked
        checked += 1
        if have is None or (rel == 0.0 and want != have) or \
                (rel and abs(want - have) > rel * max(abs(want), 1e-300)):
            bad.append(f"{tag}.{field}: numpy {want!r} metronome {have!r}")

    for tag, vals in cols.items():
        arr = np.array(vals, dtype=np.float64 if tag in FLOAT else np.int64)
        blk = got.get(tag)
        if blk is None:
            bad.append(f"{tag}: missing")
            continue
        conv = (lambda x: float(x) * 1e-06) if tag in MS else float
        cmp(tag, "count", len(arr), blk["count"])
        cmp(tag, "avg", conv(np.mean(arr)), blk["avg"])
        cmp(tag, "min", conv(arr.min()), blk["min"])
        cmp(tag, "max", conv(arr.max()), blk["max"])
        cmp(tag, "std", conv(np.std(arr, ddof=1)), blk["std"])
        cmp(tag, "sum", conv(np.sum(arr)), blk["sum"], rel=1e-15 if tag in FLOAT else 0.0)
        for name, q in PCT:
            cmp(tag, name, conv(np.percentile(arr, q, method="linear")), blk[name])
    a = np.array(icl, dtype=np.int64)
    blk = got["inter_chunk_latency"]
    cmp("inter_chunk_latency", "count", len(a), blk["count"])
    cmp("inter_chunk_latency", "min", float(a.min()) * 1e-06, blk["min"])
    cmp("inter_chunk_latency", "max", float(a.max()) * 1e-06, blk["max"])
    cmp("inter_chunk_latency", "avg", float(np.mean(a)) * 1e-06, blk["avg"], rel=1e-12)
    cmp("inter_chunk_latency", "std", float(np.std(a, ddof=1)) * 1e-06, blk["std"], rel=1e-9)
    for name, q in PCT:
        want = float(np.percentile(a, q, method="linear")) * 1e-06
        # Histogram percentiles: bucket width <= 0.1% of the value; allow one bucket
        # (and an absolute 1 ns for values under 1024 ns, which are exact buckets).
        if abs(want - blk[name]) > 2e-3 * abs(want) + 2e-6:
            bad.append(f"inter_chunk_latency.{name}: numpy {want!r} metronome {blk[name]!r}")
        checked += 1
    dur = tmax - tmin
    cmp("request_count", "avg", float(valid), got["request_count"]["avg"])
    cmp("error_request_count", "avg", float(invalid), got["error_request_count"]["avg"])
    cmp("benchmark_duration", "avg", dur * 1e-09, got["benchmark_duration"]["avg"])
    cmp("request_throughput", "avg", valid / (dur * 1e-09), got["request_throughput"]["avg"])
    cmp("output_token_throughput", "avg", tot_osl / (dur * 1e-09),
        got["output_token_throughput"]["avg"])
    if "sk-do-not-leak" in json.dumps(got):
        bad.append("api key leaked into the JSON")
    for b in bad:
        print("MISMATCH", b)
    print(f"numpy reference: {checked} statistics compared, {len(bad)} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(check(sys.argv[2], sys.argv[3]))
