/*
 * numpy-exact statistics. The summation must follow numpy's pairwise_sum exactly
 * (block of 128, eight interleaved accumulators, recursive halves rounded down to a
 * multiple of 8), or avg and std drift by an ulp from AIPerf's. Build without
 * -ffast-math and without FP contraction (zig cc defaults to -ffp-contract=off for C).
 */
#include "stats.h"

#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const double stats_pct_q[STATS_NPCT] = {0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99};
const char *const stats_pct_name[STATS_NPCT] = {"p1",  "p5",  "p10", "p25", "p50",
                                                "p75", "p90", "p95", "p99"};

static double pairwise(const double *a, size_t n)
{
    if (n < 8) {
        double r = -0.0;
        for (size_t i = 0; i < n; i++)
            r += a[i];
        return r;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++)
            r[j] = a[j];
        size_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[i + (size_t)j];
        double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            s += a[i];
        return s;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise(a, n2) + pairwise(a + n2, n - n2);
}

double stats_np_sum(const double *a, size_t n)
{
    return 0.0 + pairwise(a, n);
}

/* numpy.mean of an int64 array: the cast to float64 goes through 8192-element buffers,
 * each summed pairwise and added to the running total. */
static double np_sum_int_buffered(const double *a, size_t n)
{
    if (n <= 8192)
        return stats_np_sum(a, n);
    double acc = 0.0;
    for (size_t i = 0; i < n; i += 8192) {
        size_t k = n - i < 8192 ? n - i : 8192;
        acc += pairwise(a + i, k);
    }
    return acc;
}

double stats_percentile_sorted(const double *s, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo, hi;
    double g;
    if (h >= (double)(n - 1)) {
        lo = hi = n - 1;
        g = 0.0;
    } else {
        lo = (size_t)floor(h);
        hi = lo + 1;
        g = h - (double)lo;
    }
    double d = s[hi] - s[lo];
    /* numpy's _lerp: interpolate from the nearer end so the result stays in [a, b]. */
    return g >= 0.5 ? s[hi] - d * (1.0 - g) : s[lo] + d * g;
}

static inline uint64_t dkey(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return (u >> 63) ? ~u : u | (1ULL << 63);
}

void stats_sort(double *a, double *tmp, size_t n)
{
    if (n < 2)
        return;
    /* LSD radix on 16-bit digits of an order-preserving key; passes whose digit is the
     * same for every value are skipped (latencies share their top bits). */
    static const int shifts[4] = {0, 16, 32, 48};
    uint32_t *cnt = xcalloc(65536, sizeof *cnt);
    double *src = a, *dst = tmp;
    for (int p = 0; p < 4; p++) {
        memset(cnt, 0, 65536 * sizeof *cnt);
        int sh = shifts[p];
        for (size_t i = 0; i < n; i++)
            cnt[(dkey(src[i]) >> sh) & 0xffff]++;
        if (cnt[(dkey(src[0]) >> sh) & 0xffff] == n)
            continue;
        uint32_t sum = 0;
        for (size_t d = 0; d < 65536; d++) {
            uint32_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[(dkey(src[i]) >> sh) & 0xffff]++] = src[i];
        double *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
    free(cnt);
}

void stats_sort_pairs(struct stats_pair *a, struct stats_pair *tmp, size_t n)
{
    if (n < 2)
        return;
    /* as stats_sort, moving each pair whole: LSD passes are stable, so equal keys keep
     * their order */
    static const int shifts[4] = {0, 16, 32, 48};
    uint32_t *cnt = xcalloc(65536, sizeof *cnt);
    struct stats_pair *src = a, *dst = tmp;
    for (int p = 0; p < 4; p++) {
        memset(cnt, 0, 65536 * sizeof *cnt);
        int sh = shifts[p];
        for (size_t i = 0; i < n; i++)
            cnt[(dkey(src[i].k) >> sh) & 0xffff]++;
        if (cnt[(dkey(src[0].k) >> sh) & 0xffff] == n)
            continue;
        uint32_t sum = 0;
        for (size_t d = 0; d < 65536; d++) {
            uint32_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[(dkey(src[i].k) >> sh) & 0xffff]++] = src[i];
        struct stats_pair *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
    free(cnt);
}

static void summarize(const double *v, size_t n, double *scratch, bool int_valued,
                      struct stats_summary *o)
{
    memset(o, 0, sizeof *o);
    o->exact = true;
    o->std = NAN;
    if (n == 0)
        return;
    o->count = n;
    o->sum = int_valued ? np_sum_int_buffered(v, n) : stats_np_sum(v, n);
    o->avg = o->sum / (double)n;
    if (n >= 2) {
        for (size_t i = 0; i < n; i++) {
            double d = o->avg - v[i];
            scratch[i] = d * d;
        }
        o->std = sqrt(stats_np_sum(scratch, n) / (double)(n - 1));
    }
    /* numpy's sum of an int array for "sum" is an exact integer sum. */
    if (int_valued) {
        __int128 s = 0;
        for (size_t i = 0; i < n; i++)
            s += (int64_t)v[i];
        o->sum = (double)s;
    }
    memcpy(scratch, v, n * sizeof *v);
    double *tmp = xmalloc(n * sizeof *tmp);
    stats_sort(scratch, tmp, n);
    free(tmp);
    o->min = scratch[0];
    o->max = scratch[n - 1];
    for (int k = 0; k < STATS_NPCT; k++)
        o->pct[k] = stats_percentile_sorted(scratch, n, stats_pct_q[k]);
}

void stats_summarize(const double *v, size_t n, double *scratch, struct stats_summary *out)
{
    summarize(v, n, scratch, false, out);
}

void stats_summarize_int(const double *v, size_t n, double *scratch, struct stats_summary *out)
{
    summarize(v, n, scratch, true, out);
}

/* ---- histogram ---- */

static inline size_t hist_index(uint64_t v)
{
    if (v < (1u << STATS_HIST_SUBBITS))
        return (size_t)v;
    int e = 63 - __builtin_clzll(v); /* >= SUBBITS */
    int shift = e - STATS_HIST_SUBBITS;
    size_t sub = (size_t)((v >> shift) & ((1u << STATS_HIST_SUBBITS) - 1));
    return ((size_t)(shift + 1) << STATS_HIST_SUBBITS) + sub;
}

/* Smallest value of bucket i and its width. */
static inline void hist_bounds(size_t i, double *lo, double *width)
{
    size_t blk = i >> STATS_HIST_SUBBITS;
    size_t sub = i & ((1u << STATS_HIST_SUBBITS) - 1);
    if (blk == 0) {
        *lo = (double)sub;
        *width = 1.0;
        return;
    }
    int shift = (int)blk - 1;
    *lo = ldexp((double)((1u << STATS_HIST_SUBBITS) + sub), shift);
    *width = ldexp(1.0, shift);
}

void stats_hist_init(struct stats_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = INT64_MAX;
    h->max = INT64_MIN;
    h->bucket = xcalloc(STATS_HIST_NBUCKETS, sizeof *h->bucket);
}

void stats_hist_free(struct stats_hist *h)
{
    free(h->bucket);
    h->bucket = NULL;
}

void stats_hist_add(struct stats_hist *h, int64_t v)
{
    if (v < 0)
        v = 0;
    h->count++;
    h->sum += v;
    h->sumsq += (__int128)v * v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->bucket[hist_index((uint64_t)v)]++;
}

void stats_hist_merge(struct stats_hist *into, const struct stats_hist *from)
{
    if (!from->count)
        return;
    into->count += from->count;
    into->sum += from->sum;
    into->sumsq += from->sumsq;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
    for (size_t i = 0; i < STATS_HIST_NBUCKETS; i++)
        into->bucket[i] += from->bucket[i];
}

/* The k-th smallest value (0-based), interpolated evenly within its bucket and clamped
 * to the exact min and max. */
static double hist_kth(const struct stats_hist *h, uint64_t k)
{
    uint64_t seen = 0;
    for (size_t i = 0; i < STATS_HIST_NBUCKETS; i++) {
        uint64_t c = h->bucket[i];
        if (!c)
            continue;
        if (k < seen + c) {
            double lo, w;
            hist_bounds(i, &lo, &w);
            double v = w <= 1.0 ? lo : lo + w * ((double)(k - seen) + 0.5) / (double)c;
            if (v < (double)h->min)
                v = (double)h->min;
            if (v > (double)h->max)
                v = (double)h->max;
            return v;
        }
        seen += c;
    }
    return (double)h->max;
}

void stats_hist_summarize(const struct stats_hist *h, struct stats_summary *o)
{
    memset(o, 0, sizeof *o);
    o->std = NAN;
    o->exact = false;
    if (!h->count)
        return;
    uint64_t n = h->count;
    o->count = (size_t)n;
    o->sum = (double)h->sum;
    o->avg = o->sum / (double)n;
    o->min = (double)h->min;
    o->max = (double)h->max;
    if (n >= 2) {
        /* var = (n*sumsq - sum^2) / (n*(n-1)), numerator exact in 128 bits when it fits,
         * else in long double. */
        long double s = (long double)h->sum, ss = (long double)h->sumsq;
        long double var = (ss - s * s / (long double)n) / (long double)(n - 1);
        o->std = var > 0 ? (double)sqrtl(var) : 0.0;
    }
    for (int k = 0; k < STATS_NPCT; k++) {
        double hh = (double)(n - 1) * stats_pct_q[k];
        uint64_t lo = (uint64_t)floor(hh);
        double g = hh - (double)lo;
        double a = hist_kth(h, lo);
        double b = lo + 1 < n ? hist_kth(h, lo + 1) : a;
        o->pct[k] = g >= 0.5 ? b - (b - a) * (1.0 - g) : a + (b - a) * g;
    }
}
