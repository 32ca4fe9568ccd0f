#!/usr/bin/env python3
"""Synthetic run dirs for report tests and the report benchmark (no server needed).

gen_runs.py OUT_DIR [--records N] [--concurrency C] [--ttft-ms T] [--itl-ms I]
            [--osl N] [--error-pct P] [--jitter J] [--seed S] [--model M] [--mode MODE]
            [--rate R]

A closed-loop run: C slots, each sends its next request when the previous one ends.
TTFT and ITL are drawn around the given values (relative jitter J); P percent of the
requests fail with HTTP 500 (deterministically spread). Writes OUT_DIR/run.json and
OUT_DIR/records.jsonl in the format of docs/records-format.md.
"""
import argparse
import json
import os
import random

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--records", type=int, default=200)
p.add_argument("--concurrency", type=int, default=4)
p.add_argument("--ttft-ms", type=float, default=40.0)
p.add_argument("--itl-ms", type=float, default=8.0)
p.add_argument("--osl", type=int, default=20)
p.add_argument("--error-pct", type=float, default=0.0)
p.add_argument("--jitter", type=float, default=0.1)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--model", default="m")
p.add_argument("--mode", default="concurrency")
p.add_argument("--rate", type=float, default=None)
p.add_argument("--url", default="http://127.0.0.1:8000")
a = p.parse_args()
rng = random.Random(a.seed)
os.makedirs(a.out, exist_ok=True)
base = 1_000_000_000
slots = [base] * a.concurrency
nerr = 0
end_max = base
with open(os.path.join(a.out, "records.jsonl"), "w") as f:
    for i in range(a.records):
        k = min(range(a.concurrency), key=lambda s: slots[s])
        t0 = slots[k]
        fail = a.error_pct > 0 and (i + 1) * a.error_pct / 100.0 >= nerr + 1
        rec = {"i": i, "conv": str(i), "turn": 0, "phase": "profile", "worker": 0, "conn": k,
               "reused": i >= a.concurrency, "url": 0, "model": a.model, "stream": True,
               "isl": 100, "t_intended": t0, "t_start": t0}
        if fail:
            nerr += 1
            t_end = t0 + int(5e6 * (1 + a.jitter * rng.uniform(-1, 1)))
            rec.update({"t_end": t_end, "status": 500,
                        "error": {"code": 500, "type": "http", "message": "boom"}})
        else:
            t = t0 + int(a.ttft_ms * 1e6 * (1 + a.jitter * rng.uniform(-1, 1)))
            chunks = [[t, 1]]
            for _ in range(a.osl - 1):
                t += int(a.itl_ms * 1e6 * (1 + a.jitter * rng.uniform(-1, 1)))
                chunks.append([t, 1])
            t_end = t + 200_000
            rec.update({"t_first": chunks[0][0], "t_last": t, "t_end": t_end, "status": 200,
                        "chunks": chunks, "finish": "stop", "bad_chunks": 0,
                        "cancelled": False})
        slots[k] = t_end
        end_max = max(end_max, t_end)
        f.write(json.dumps(rec, separators=(",", ":")) + "\n")
run = {
    "format": "metronome-run", "version": 1, "metronome": {"version": "0.1.0"},
    "anchor": {"mono_ns": 0, "real_ns": 1699999999000000000},
    "host": {"hostname": "synthetic", "cores": 2, "kernel": "test"},
    "shard": {"index": 0, "count": 1},
    "trace": {"path": "synthetic.jsonl.zst", "sha256": "ab" * 32,
              "header": {"options": {"models": [a.model]}}},
    "config": {"endpoint_type": "chat", "streaming": True, "url": a.url, "mode": a.mode,
               "arrival_pattern": "poisson" if a.rate else "closed",
               "concurrency": a.concurrency, "request_rate": a.rate,
               "request_count": a.records, "seed": a.seed},
    "started_real_ns": 1699999999000000000 + base,
    "ended_real_ns": 1699999999000000000 + end_max,
    "complete": True, "cancelled": False, "insecure": False,
    "counts": {"sent": a.records, "completed": a.records - nerr, "errors": nerr, "cancelled": 0},
}
with open(os.path.join(a.out, "run.json"), "w") as f:
    json.dump(run, f, indent=1)
