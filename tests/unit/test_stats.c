/* stats: numpy-exact sums, percentiles and std; the chunk histogram's error bound. */
#include "stats.h"
#include "test.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

TEST(stats_seed_worked_example)
{
    /* seed-metrics.md §5.6: TTFT 50, 30, 40 ms in ns, arrival order. */
    double v[3] = {50e6, 30e6, 40e6}, s[3];
    struct stats_summary o;
    stats_summarize_int(v, 3, s, &o);
    CHECK_INT(o.count, 3);
    CHECK(o.avg == 40000000.0);
    CHECK(o.min == 30000000.0 && o.max == 50000000.0);
    CHECK(o.pct[0] == 30200000.0);
    CHECK(o.pct[1] == 31000000.0);
    CHECK(o.pct[3] == 35000000.0);
    CHECK(o.pct[8] == 49800000.0);
    CHECK(o.std == 10000000.0);
    double itl[2] = {15000000.0, 30000000.0}, s2[2];
    stats_summarize(itl, 2, s2, &o);
    CHECK(o.std == 10606601.717798213);
    CHECK(o.pct[8] == 29850000.0);
    double ott[2] = {66.66666666666666, 33.33333333333333};
    stats_summarize(ott, 2, s2, &o);
    CHECK(o.avg == 49.99999999999999);
    CHECK(o.std == 23.57022603955158);
    CHECK(o.pct[8] == 66.33333333333333);
}

TEST(stats_single_value_has_nan_std)
{
    double v[1] = {7}, s[1];
    struct stats_summary o;
    stats_summarize(v, 1, s, &o);
    CHECK(isnan(o.std));
    for (int k = 0; k < STATS_NPCT; k++)
        CHECK(o.pct[k] == 7.0);
    stats_summarize(v, 0, s, &o);
    CHECK_INT(o.count, 0);
}

/* Pairwise summation differs from a left-to-right loop; the expected sums are what
 * numpy 2.x prints for the same arrays (np.sum), while Python's sum() gives 1e16 and
 * 248441305.1. */
TEST(stats_pairwise_matches_numpy)
{
    enum { N = 5000 };
    double *a = malloc(N * sizeof *a);
    for (int i = 0; i < 1000; i++)
        a[i] = i % 3 == 0 ? 1e16 : i % 3 == 1 ? 1.0 : -1e16;
    CHECK(stats_np_sum(a, 1000) == 1.000000000000001e+16);
    for (int i = 0; i < N; i++)
        a[i] = (double)(((long long)i * 7919) % 1000003) * 0.1;
    CHECK(stats_np_sum(a, N) == 248441305.10000002);
    free(a);
}

TEST(stats_sort_orders_negative_and_positive)
{
    double v[] = {3.5, -1.0, 0.0, -0.5, 1e300, -1e300, 2.0, 2.0};
    double tmp[8];
    stats_sort(v, tmp, 8);
    for (int i = 1; i < 8; i++)
        CHECK(v[i - 1] <= v[i]);
    CHECK(v[0] == -1e300 && v[7] == 1e300);
}

TEST(stats_percentile_matches_lerp)
{
    double s[] = {1, 2, 3, 4, 10};
    CHECK(stats_percentile_sorted(s, 5, 0.5) == 3.0);
    CHECK_NEAR(stats_percentile_sorted(s, 5, 0.99), 9.76, 1e-12);
    CHECK_NEAR(stats_percentile_sorted(s, 5, 0.9), 7.6, 1e-12);
    CHECK(stats_percentile_sorted(s, 5, 0.0) == 1.0);
}

TEST(stats_hist_bounded_error)
{
    struct stats_hist h;
    stats_hist_init(&h);
    enum { N = 20000 };
    double *v = malloc(N * sizeof *v), *s = malloc(N * sizeof *s);
    unsigned x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        int64_t ns = 1000 + (int64_t)(x % 50000000u);
        v[i] = (double)ns;
        stats_hist_add(&h, ns);
    }
    struct stats_summary exact, approx;
    stats_summarize_int(v, N, s, &exact);
    stats_hist_summarize(&h, &approx);
    CHECK_INT(approx.count, N);
    CHECK(approx.min == exact.min && approx.max == exact.max);
    CHECK_NEAR(approx.avg, exact.avg, exact.avg * 1e-12);
    CHECK_NEAR(approx.std, exact.std, exact.std * 1e-9);
    for (int k = 0; k < STATS_NPCT; k++)
        CHECK_NEAR(approx.pct[k], exact.pct[k], exact.pct[k] * 2e-3);
    CHECK(!approx.exact);
    stats_hist_free(&h);
    free(v);
    free(s);
}

static int cmp_key(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    /* -0.0 before +0.0, as the radix key orders them */
    if (x == y)
        return (signbit(y) != 0) - (signbit(x) != 0);
    return x < y ? -1 : 1;
}

/* The radix sort at every digit width (8-bit below 2048 values, 11-bit above), around the
 * switch, with negatives, zeros of both signs, duplicates and values sharing top bits;
 * pairs keep equal keys in input order (stable). */
TEST(stats_sort_all_sizes_and_stable_pairs)
{
    static const size_t sizes[] = {0, 1, 2, 3, 7, 100, 255, 256, 2047, 2048, 2049, 5000, 70000};
    unsigned seed = 11;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        double *a = xmalloc((n + 1) * sizeof *a), *ref = xmalloc((n + 1) * sizeof *ref);
        double *tmp = xmalloc((n + 1) * sizeof *tmp);
        struct stats_pair *p = xmalloc((n + 1) * sizeof *p), *pt = xmalloc((n + 1) * sizeof *pt);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            int r = (int)(seed >> 16 & 0x7fff);
            double v = r % 5 == 0   ? (r & 1 ? -0.0 : 0.0)
                       : r % 5 == 1 ? -(double)(r % 97) * 1.5
                       : r % 5 == 2 ? 1e9 + (double)(r % 13) /* shared top bits, repeats */
                                    : (double)r * 1e-3;
            a[i] = ref[i] = v;
            p[i] = (struct stats_pair){(double)(r % 31), (double)i};
        }
        qsort(ref, n, sizeof *ref, cmp_key);
        stats_sort(a, tmp, n);
        for (size_t i = 0; i < n; i++)
            CHECK(memcmp(&a[i], &ref[i], sizeof a[i]) == 0);
        stats_sort_pairs(p, pt, n);
        for (size_t i = 1; i < n; i++) {
            CHECK(p[i - 1].k <= p[i].k);
            if (p[i - 1].k == p[i].k)
                CHECK(p[i - 1].x < p[i].x);
        }
        free(a);
        free(ref);
        free(tmp);
        free(p);
        free(pt);
    }
    stats_scratch_trim();
}

/* Scratch blocks: a block put back is handed out again (no fresh pages), two blocks in use
 * at once are distinct, grow keeps the contents, trim frees what is not in use. */
TEST(stats_scratch_reuses_blocks)
{
    stats_scratch_trim();
    double *a = stats_scratch_get(1 << 20);
    a[0] = 42;
    stats_scratch_put(a);
    double *b = stats_scratch_get(1 << 19);
    CHECK(b == a); /* the free block that fits */
    double *c = stats_scratch_get(1 << 20);
    CHECK(c != b);
    c[0] = 7;
    c[(1 << 17) - 1] = 8;
    double *g = stats_scratch_grow(c, 1 << 22);
    CHECK(g[0] == 7 && g[(1 << 17) - 1] == 8);
    stats_scratch_put(b);
    stats_scratch_put(g);
    stats_scratch_trim();
    double *e = stats_scratch_get(16);
    stats_scratch_put(e);
    stats_scratch_trim();
}
