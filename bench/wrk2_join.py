#!/usr/bin/env python3
"""Arrival lateness at the server for a wrk2 run (bench/replay_arrival.sh, WRK2=...): wrk2
sends no request id and logs no intended times, so each connection's schedule is rebuilt
from the mock's --timing-log. wrk2 paces every connection on its own constant grid (the
thread's start plus k times connections/rate); per connection (the mock's worker, conn),
the requests in arrival order are matched to grid points k = 0, 1, 2, ..., and the grid is
placed as early as the arrivals allow: t0 = min(arrive_k - k * interval). Lateness is
arrive_k - (t0 + k * interval). Placing the grid at its best case makes this a LOWER
BOUND of wrk2's true lateness (its real start is at or before t0), the opposite of
metronome's figure, which uses the true intended times from its records.
    bench/wrk2_join.py TIMING RATE CONNECTIONS [LABEL]   (prints one JSON line)"""
import json
import sys

timing, rate, conns = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
label = sys.argv[4] if len(sys.argv) > 4 else "wrk2"
interval = conns / rate * 1e9
per = {}
for line in open(timing):
    t = json.loads(line)
    if t.get("arrive_ns") and t.get("path", "").startswith("/v1/"):
        per.setdefault((t["worker"], t["conn"]), []).append(t["arrive_ns"])
late = []
for arr in per.values():
    arr.sort()
    t0 = min(a - k * interval for k, a in enumerate(arr))
    late += [a - (t0 + k * interval) for k, a in enumerate(arr)]


def q(p):
    v = sorted(late)
    return round(v[min(len(v) - 1, int(p * len(v)))] / 1e3, 1) if v else float("nan")


print(json.dumps({"label": label, "requests": len(late), "connections": len(per),
                  "server_p50_us": q(0.5), "server_p99_us": q(0.99), "server_p99.9_us": q(0.999),
                  "server_max_us": round(max(late) / 1e3, 1) if late else None}))
