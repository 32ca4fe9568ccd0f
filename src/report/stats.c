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

/* ---- scratch pool ---- */

#define SCRATCH_SLOTS 32
/* Free blocks larger than this go back to the system at once. Kept, they counted in full
 * at the report's peak (a 10^6-record run's sweeps leave blocks of 16-64 MiB behind each
 * curve); mapping one again costs its page faults, about 1 ms per 16 MiB here, next to
 * the seconds such a run takes. The many small blocks of per-bucket and per-point
 * summaries are what the pool is for. */
#define SCRATCH_KEEP_MAX ((size_t)4 << 20)

struct scratch_slot {
    void *p;    /* owned; NULL when the slot is empty */
    size_t cap; /* bytes */
    bool used;  /* handed out by stats_scratch_get, not yet put back */
};

/* Per thread: the report runs on one thread, but profile may report from another. */
static _Thread_local struct scratch_slot pool[SCRATCH_SLOTS];

void *stats_scratch_get(size_t bytes)
{
    if (!bytes)
        bytes = 1;
    int best = -1, big = -1, empty = -1;
    for (int i = 0; i < SCRATCH_SLOTS; i++) {
        struct scratch_slot *s = &pool[i];
        if (!s->p) {
            if (empty < 0)
                empty = i;
            continue;
        }
        if (s->used)
            continue;
        if (s->cap >= bytes && (best < 0 || s->cap < pool[best].cap))
            best = i;
        if (big < 0 || s->cap > pool[big].cap)
            big = i;
    }
    if (best < 0) {
        /* nothing free is large enough: replace the largest free block (the pool keeps
         * at most as many blocks as were ever in use at once), else take an empty slot */
        best = big >= 0 ? big : empty;
        if (best < 0)
            return xmalloc(bytes); /* every slot in use: a plain block, freed on put */
        free(pool[best].p);
        /* a little headroom: the next run of a sweep is often slightly larger */
        size_t cap = bytes + bytes / 8;
        pool[best].p = xmalloc(cap);
        pool[best].cap = cap;
    }
    pool[best].used = true;
    return pool[best].p;
}

void stats_scratch_put(void *p)
{
    if (!p)
        return;
    for (int i = 0; i < SCRATCH_SLOTS; i++)
        if (pool[i].p == p) {
            pool[i].used = false;
            if (pool[i].cap > SCRATCH_KEEP_MAX) {
                free(pool[i].p);
                pool[i].p = NULL;
                pool[i].cap = 0;
            }
            return;
        }
    free(p); /* handed out when the pool was full */
}

void *stats_scratch_grow(void *p, size_t bytes)
{
    if (!p)
        return stats_scratch_get(bytes);
    size_t cap = 0;
    bool pooled = false;
    for (int i = 0; i < SCRATCH_SLOTS; i++)
        if (pool[i].p == p) {
            cap = pool[i].cap;
            pooled = true;
        }
    if (pooled && cap >= bytes)
        return p;
    if (!pooled)
        return xrealloc(p, bytes); /* a plain block stays plain */
    void *q = stats_scratch_get(bytes);
    memcpy(q, p, cap);
    stats_scratch_put(p);
    return q;
}

void stats_scratch_trim(void)
{
    for (int i = 0; i < SCRATCH_SLOTS; i++)
        if (pool[i].p && !pool[i].used) {
            free(pool[i].p);
            pool[i].p = NULL;
            pool[i].cap = 0;
        }
}

static inline uint64_t dkey(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return (u >> 63) ? ~u : u | (1ULL << 63);
}

/* LSD radix sort on an order-preserving key, stable: digits of 8 bits below 2048 values
 * (2 KiB of counters), else 11 bits (6 digits, 48 KiB of counters: the scatter's 2048
 * write positions stay in cache, where 16-bit digits' 65536 did not, and small inputs no
 * longer pay for clearing and scanning 65536 counters per pass -- the report's
 * per-bucket percentiles sort thousands of arrays of ~100 values). All digits are
 * counted in one pass; a digit the same for every value is skipped (latencies share
 * their top bits). ELEM is the element type, KEY(e) its double key. */
#define RADIX_SORT_BODY(ELEM, KEY)                                                                 \
    do {                                                                                           \
        if (n < 2)                                                                                 \
            return;                                                                                \
        int bits = n < 2048 ? 8 : 11, nd = (64 + bits - 1) / bits;                                 \
        size_t nb = (size_t)1 << bits, mask = nb - 1;                                              \
        uint32_t *cnt = stats_scratch_get((size_t)nd * nb * sizeof *cnt);                          \
        memset(cnt, 0, (size_t)nd *nb * sizeof *cnt);                                              \
        for (size_t i = 0; i < n; i++) {                                                           \
            uint64_t k = dkey(KEY(a[i]));                                                          \
            for (int d = 0; d < nd; d++)                                                           \
                cnt[(size_t)d * nb + ((k >> (d * bits)) & mask)]++;                                \
        }                                                                                          \
        ELEM *src = a, *dst = tmp;                                                                 \
        uint64_t k0 = dkey(KEY(a[0]));                                                             \
        for (int d = 0; d < nd; d++) {                                                             \
            uint32_t *c = cnt + (size_t)d * nb;                                                    \
            int sh = d * bits;                                                                     \
            if (c[(k0 >> sh) & mask] == n)                                                         \
                continue;                                                                          \
            uint32_t sum = 0;                                                                      \
            for (size_t x = 0; x < nb; x++) {                                                      \
                uint32_t t = c[x];                                                                 \
                c[x] = sum;                                                                        \
                sum += t;                                                                          \
            }                                                                                      \
            for (size_t i = 0; i < n; i++)                                                         \
                dst[c[(dkey(KEY(src[i])) >> sh) & mask]++] = src[i];                               \
            ELEM *t = src;                                                                         \
            src = dst;                                                                             \
            dst = t;                                                                               \
        }                                                                                          \
        if (src != a)                                                                              \
            memcpy(a, src, n * sizeof *a);                                                         \
        stats_scratch_put(cnt);                                                                    \
    } while (0)

#define KEY_SELF(e) (e)
#define KEY_PAIR(e) ((e).k)

void stats_sort(double *a, double *tmp, size_t n)
{
    RADIX_SORT_BODY(double, KEY_SELF);
}

/* as stats_sort, moving each pair whole: LSD passes are stable, so equal keys keep their
 * order */
void stats_sort_pairs(struct stats_pair *a, struct stats_pair *tmp, size_t n)
{
    RADIX_SORT_BODY(struct stats_pair, KEY_PAIR);
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
    double *tmp = stats_scratch_get(n * sizeof *tmp);
    stats_sort(scratch, tmp, n);
    stats_scratch_put(tmp);
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
