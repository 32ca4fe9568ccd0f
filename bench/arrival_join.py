#!/usr/bin/env python3
"""Schedule accuracy seen by the server: joins a replay run's records (RUN_DIR) with the
mock's --timing-log (TIMING) by request id and prints percentiles of arrive_ns (kernel
receive time of the request's last byte at the server) minus the intended send time,
beside the client's own t_start - t_intended and the two legs after it (t_sent - t_start,
and arrive_ns - t_sent: the send call and loopback).
    bench/arrival_join.py RUN_DIR TIMING [LABEL]   (prints one JSON line)"""
import json
import subprocess
import sys

run_dir, timing = sys.argv[1], sys.argv[2]
label = sys.argv[3] if len(sys.argv) > 3 else run_dir
anchor = json.load(open(run_dir + "/run.json"))["anchor"]["mono_ns"]
z = subprocess.run(["zstd", "-dcq", run_dir + "/records.jsonl.zst"], stdout=subprocess.PIPE,
                   check=True)
intended, sent, starts, own, build, errors = {}, {}, {}, [], [], 0
for line in z.stdout.splitlines():
    r = json.loads(line)
    if r.get("phase") != "profile":
        continue
    if "error" in r:
        errors += 1
    if "t_start" in r and "t_intended" in r:
        intended[str(r["i"])] = anchor + r["t_intended"]
        starts[str(r["i"])] = anchor + r["t_start"]
        own.append(r["t_start"] - r["t_intended"])
        if "t_sent" in r:
            sent[str(r["i"])] = anchor + r["t_sent"]
            build.append(r["t_sent"] - r["t_start"])
server, wire, legs = [], [], []
for line in open(timing):
    t = json.loads(line)
    rid = t.get("request_id")
    if rid in intended and t.get("arrive_ns"):
        server.append(t["arrive_ns"] - intended[rid])
        if rid in sent:
            wire.append(t["arrive_ns"] - sent[rid])
            # (server lateness, own, build, wire) of one request, for the tail breakdown
            s0 = starts[rid]
            legs.append((server[-1], s0 - intended[rid], sent[rid] - s0, t["arrive_ns"] - sent[rid]))


def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))] / 1e3 if v else float("nan")


out = {"label": label, "requests": len(intended), "joined": len(server), "errors": errors}
# server = own (t_start - intended: timer wake-up, spin, preemption, a busy loop)
#        + build (t_sent - t_start: the request's bytes up to the send call)
#        + wire (arrive_ns - t_sent: the send call and loopback to the server's socket)
for name, v in (("server", server), ("own", own), ("build", build), ("wire", wire)):
    for p, k in ((0.5, "p50"), (0.99, "p99"), (0.999, "p99.9")):
        out[f"{name}_{k}_us"] = round(q(v, p), 1)
    out[f"{name}_max_us"] = round(max(v) / 1e3, 1) if v else None
# What the tail is made of: the requests at or above the server-seen p99 (and p99.9), each
# leg's share of their summed lateness, and the leg that was the largest in how many of them.
for k, p in (("tail99", 0.99), ("tail999", 0.999)):
    if not legs:
        break
    cut = sorted(x[0] for x in legs)[min(len(legs) - 1, int(p * len(legs)))]
    tail = [x for x in legs if x[0] >= cut]
    total = sum(x[0] for x in tail) or 1
    for i, name in ((1, "own"), (2, "build"), (3, "wire")):
        out[f"{k}_{name}_share"] = round(sum(x[i] for x in tail) / total, 3)
        out[f"{k}_{name}_largest"] = sum(1 for x in tail if max(x[1:]) == x[i])
    out[f"{k}_n"] = len(tail)
print(json.dumps(out))
