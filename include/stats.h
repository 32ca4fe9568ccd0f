/*
 * stats: the summary statistics AIPerf computes with pandas/numpy, reproduced bit for bit
 * (spec/seed-metrics.md §2.3, §5.2): numpy's pairwise summation for the mean and for the
 * two-pass sample standard deviation (ddof = 1), and numpy's "linear" percentiles
 * (Hyndman-Fan type 7, with numpy's _lerp). Values are summed in the order given (AIPerf
 * sums in arrival order); percentiles need a sorted copy, which stats_summarize makes in
 * caller-provided scratch.
 *
 * Chunk-level values (one per SSE message: 10^8 of them in a big run) do not fit in memory
 * as exact arrays, so struct stats_hist keeps exact count/sum/min/max and a log-linear
 * histogram whose buckets are at most 2^-STATS_HIST_SUBBITS wide relative to their value;
 * its percentiles are interpolated inside buckets and its std comes from exact integer
 * moments. Everything here is pure computation: no I/O, no globals, thread-compatible.
 */
#ifndef METRONOME_STATS_H
#define METRONOME_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The percentiles AIPerf 0.13 exports, in export order. */
#define STATS_NPCT 9
extern const double stats_pct_q[STATS_NPCT];         /* 0.01 ... 0.99 */
extern const char *const stats_pct_name[STATS_NPCT]; /* "p1" ... "p99" */

struct stats_summary {
    size_t count; /* 0: no values, every other field is meaningless */
    double sum;   /* numpy pairwise sum */
    double avg;   /* sum / count, as numpy.mean */
    double min, max;
    double pct[STATS_NPCT]; /* stats_pct_q order */
    double std;             /* sample std (ddof = 1); NaN when count < 2 */
    bool exact;             /* false when percentiles came from a histogram */
};

/* numpy's sum of a[0..n) (pairwise, blocks of 128, 8 accumulators). */
double stats_np_sum(const double *a, size_t n);

/* numpy.percentile(sorted[0..n), q*100, method="linear"). n > 0. */
double stats_percentile_sorted(const double *sorted, size_t n, double q);

/* Summarizes v[0..n) (arrival order, not modified). scratch must hold n doubles; it ends
 * up holding the sorted values. */
void stats_summarize(const double *v, size_t n, double *scratch, struct stats_summary *out);
/* The same for integer-valued metrics (stored exactly as doubles): the mean sums in
 * 8192-value buffers as numpy does when it casts int64 to float64, and `sum` is exact. */
void stats_summarize_int(const double *v, size_t n, double *scratch, struct stats_summary *out);

/* Sorts a[0..n) ascending (NaN-free input). O(n) radix sort on the IEEE bit patterns,
 * using tmp[0..n) as scratch. */
void stats_sort(double *a, double *tmp, size_t n);

/* A value k with a payload x. stats_sort_pairs sorts a[0..n) by k ascending (NaN-free),
 * stably (equal keys keep their order), with tmp[0..n) as scratch; n < 2^32. */
struct stats_pair {
    double k, x;
};
void stats_sort_pairs(struct stats_pair *a, struct stats_pair *tmp, size_t n);

/* ---- scratch blocks reused across calls (per thread) ----
 * The report's sorts and sweep curves need large temporary buffers, the same sizes again
 * for every run of a sweep. musl hands blocks above ~128 KiB back to the kernel on free(),
 * so a fresh malloc per call paid a page fault per 4 KiB touched (1.4-2.0 s of a 5 s
 * 32-point report). stats_scratch_get returns a block of at least `bytes` (contents
 * undefined), reusing one put back earlier; the caller owns it until stats_scratch_put.
 * stats_scratch_grow is realloc for a scratch block (contents kept up to the old size).
 * stats_scratch_trim frees every block not in use (end of a report). Never NULL. */
void *stats_scratch_get(size_t bytes);
void *stats_scratch_grow(void *p, size_t bytes);
void stats_scratch_put(void *p);
void stats_scratch_trim(void);

/* ---- chunk-level histogram (non-negative integer nanoseconds) ---- */

#define STATS_HIST_SUBBITS  10 /* 1024 sub-buckets per power of two: <= 0.1% bucket width */
#define STATS_HIST_NBUCKETS ((64 - STATS_HIST_SUBBITS + 1) << STATS_HIST_SUBBITS)

struct stats_hist {
    uint64_t count;
    int64_t min, max;
    __int128 sum, sumsq; /* exact moments */
    uint64_t *bucket;    /* owned, STATS_HIST_NBUCKETS counters */
};

void stats_hist_init(struct stats_hist *h);
void stats_hist_free(struct stats_hist *h);
/* Negative values are clamped to 0 (chunk gaps never go backwards in valid records). */
void stats_hist_add(struct stats_hist *h, int64_t v);
void stats_hist_merge(struct stats_hist *into, const struct stats_hist *from);
/* count/sum/avg/min/max exact; std from exact moments (ddof = 1); percentiles
 * interpolated within buckets (relative error <= 2^-STATS_HIST_SUBBITS); exact = false. */
void stats_hist_summarize(const struct stats_hist *h, struct stats_summary *out);

#endif
