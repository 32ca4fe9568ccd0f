# Expected values of tests/unit/test_report.c report_throughput_sweeps, from AIPerf 0.13's own
# sweep functions on the same three records (times in ns). Run with the Python of the
# aiperf==0.13.0 venv: .cache/aiperf/bin/python tests/unit/aiperf_sweeps_expected.py
# (metronome's window opens at the first request, AIPerf's at the phase start just before
# it: the 0 held in between counts for min, so effective_concurrency and tokens_in_flight
# have min 0 in metronome's test where this script, windowed at the first request, says 1 and 5).
import numpy as np
from aiperf.analysis import sweepline as S
from aiperf.analysis import sweepline_kv_cache as K
ms = 1_000_000
base = 1_000_000_000
start = np.array([0, 5, 25], float) * ms + base
gen = np.array([10, 15, 35], float) * ms + base
end = np.array([22, 30, 40], float) * ms + base
isl = np.array([10, 20, 5], float)
osl = np.array([3, 4, 1], float)
icl = np.array([2, 8, 1, 0, 14], float) * ms
rec = np.array([0, 0, 1, 1, 1], np.int32)
off = np.array([0, 2, 5], np.int64)
conc = S.concurrency_sweep_line(start, end)
gc = S.concurrency_sweep_line(gen, end)
pc = S.concurrency_sweep_line(start, gen)
tp = S.throughput_sweep_line_icl(gen, osl, icl, rec, icl_offsets=off)
pt = S.prefill_throughput_sweep_line(start, gen, isl)
tt = S.total_throughput_sweep_line(start, gen, end, isl, output_tokens=osl)
tpu = S.divide_step_functions(*tp, *gc)
ptu = S.divide_step_functions(*pt, *pc)
tif = K.tokens_in_flight_sweep_line_icl(start, gen, end, isl, output_tokens=osl, icl_values=icl,
                                        icl_record_indices=rec, icl_offsets=off)
c = S.SweepLineCurves(conc[0], conc[1], tp[0], tp[1], pt[0], pt[1], gc[0], gc[1], pc[0], pc[1],
                      tt[0], tt[1], tpu[0], tpu[1], ptu[0], ptu[1], tif[0], tif[1])
for tag, r in c.compute_metrics(float(start.min()), float(end.max())).items():
    print(tag, {k: getattr(r, k) for k in ("avg", "min", "max", "p50", "p90", "p95", "p99", "std")})

# report_throughput_sweeps_request_level: two streaming records of one chunk each (no gaps:
# AIPerf's request-level curves), OSL from usage.
start = np.array([0, 5.0]) * ms + base
gen = np.array([10, 20.0]) * ms + base
end = np.array([30, 40.0]) * ms + base
isl = np.array([10, 20.0])
osl = np.array([5, 3.0])
conc = S.concurrency_sweep_line(start, end)
gc = S.concurrency_sweep_line(gen, end)
pc = S.concurrency_sweep_line(start, gen)
tp = S.throughput_sweep_line(gen, end, osl)
pt = S.prefill_throughput_sweep_line(start, gen, isl)
tt = S.total_throughput_sweep_line(start, gen, end, isl, output_tokens=osl)
tpu = S.divide_step_functions(*tp, *gc)
ptu = S.divide_step_functions(*pt, *pc)
tif = K.tokens_in_flight_sweep_line(start, gen, end, isl, output_tokens=osl)
c = S.SweepLineCurves(conc[0], conc[1], tp[0], tp[1], pt[0], pt[1], gc[0], gc[1], pc[0], pc[1],
                      tt[0], tt[1], tpu[0], tpu[1], ptu[0], ptu[1], tif[0], tif[1])
for tag, r in c.compute_metrics(float(start.min()), float(end.max())).items():
    print(tag, {k: getattr(r, k) for k in ("avg", "min", "max", "p50", "p90", "p95", "p99", "std")})

# report_throughput_sweeps_gap_cap: the three records of report_throughput_sweeps with the
# gaps over the cap, so AIPerf's request-level (tdigest-fallback) curves.
start = np.array([0, 5, 25], float) * ms + base
gen = np.array([10, 15, 35], float) * ms + base
end = np.array([22, 30, 40], float) * ms + base
isl = np.array([10, 20, 5], float)
osl = np.array([3, 4, 1], float)
tp = S.throughput_sweep_line(gen, end, osl)
gc = S.concurrency_sweep_line(gen, end)
tif = K.tokens_in_flight_sweep_line(start, gen, end, isl, output_tokens=osl)
w0, w1 = float(start.min()), float(end.max())
for tag, (ts, v), scale in (("effective_decode_throughput", tp, 1e9), ("tokens_in_flight", tif, 1.0)):
    st = S.compute_time_weighted_stats(ts, v, w0, w1)
    print(tag, {k: getattr(st, k) * scale for k in st._fields})
st = S.compute_active_weighted_stats(tp[0], tp[1], gc[0], gc[1], w0, w1)
print("active_decode_throughput", {k: getattr(st, k) * 1e9 for k in st._fields})
