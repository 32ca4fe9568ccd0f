/* The load-shape schedules (loadshape.h) against AIPerf 0.13's definitions, worked by
 * hand in the tables below. */
#include "loadshape.h"
#include "err.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(loadshape_concurrency_ramp_instants)
{
    /* a 10 s ramp to 64: level L opens at 10 s * (L - 1) / 63 */
    static const struct {
        long level, target;
        int64_t ramp_ns, want;
    } cases[] = {
        {1, 64, 10000000000LL, 0},
        {2, 64, 10000000000LL, 158730158},
        {33, 64, 10000000000LL, 5079365079},
        {63, 64, 10000000000LL, 9841269841},
        {64, 64, 10000000000LL, 10000000000LL},
        {2, 2, 1000000000, 1000000000}, /* to 2 slots: the second at D */
        {3, 5, 2000000000, 1000000000},
        {1, 1, 2000000000, 0}, /* a ramp to 1 slot has nothing to do */
        {5, 8, 0, 0},          /* no ramp: every level at once */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_INT(ramp_level_at_ns(cases[i].level, cases[i].target, cases[i].ramp_ns),
                  cases[i].want);
}

TEST(loadshape_concurrency_ramp_level_now_agrees)
{
    /* at, just before and just after every instant, for a few shapes */
    static const struct {
        long target;
        int64_t ramp_ns;
    } shapes[] = {{64, 10000000000LL}, {7, 1000000000}, {2, 1500000000}, {100, 3}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        long c = shapes[s].target;
        int64_t d = shapes[s].ramp_ns;
        CHECK_INT(ramp_level_now(c, d, -5), 1);
        CHECK_INT(ramp_level_now(c, d, d), c);
        CHECK_INT(ramp_level_now(c, d, d * 2), c);
        for (long l = 2; l <= c; l++) {
            int64_t t = ramp_level_at_ns(l, c, d);
            CHECK(ramp_level_now(c, d, t) >= l);
            if (t > 0 && ramp_level_at_ns(l - 1, c, d) < t)
                CHECK_INT(ramp_level_now(c, d, t - 1), l - 1);
        }
    }
}

TEST(loadshape_worker_shares)
{
    /* the shares of every level sum to it, and slot j of worker id opens at the level
     * whose share first exceeds j */
    for (int nw = 1; nw <= 5; nw++)
        for (long level = 0; level <= 23; level++) {
            long sum = 0;
            for (int id = 0; id < nw; id++) {
                long sh = ramp_worker_share(level, nw, id);
                sum += sh;
                for (long j = 0; j < 6; j++) {
                    long at = ramp_slot_level(j, nw, id);
                    CHECK((sh > j) == (level >= at));
                }
            }
            CHECK_INT(sum, level);
        }
}

static double const_gap(void *ctx, double rate)
{
    (void)ctx;
    return 1.0 / rate;
}

TEST(loadshape_rate_ramp_constant_schedule)
{
    /* to 100 req/s over 2 s: s = 5 req/s; the rate at update k (every 0.1 s) is
     * 5 + 95 * k / 20. Worked by hand:
     *   first send: drawn at 5/s -> 200 ms; the 100 ms update (9.75/s) would give
     *     202.56 ms, later, so 200 ms stays;
     *   then 200 + 1/9.75 s = 302.56 ms, pulled in by the 200 ms update (14.5/s) to
     *     200 + 68.97 = 268.97 ms;
     *   then 268.97 + 68.97 = 337.93 ms (the 300 ms update, 19.25/s, gives 351.9: later). */
    struct rate_ramp r;
    rate_ramp_init(&r, 100, 2000000000);
    CHECK_NEAR(r.start, 5.0, 1e-12);
    CHECK_NEAR(rate_ramp_rate_at(&r, 1), 9.75, 1e-12);
    CHECK_NEAR(rate_ramp_rate_at(&r, 19), 95.25, 1e-12);
    CHECK_NEAR(rate_ramp_rate_at(&r, 20), 100, 1e-12);
    double rate = 0;
    int64_t t = rate_ramp_next(&r, &rate, -1, const_gap, NULL);
    CHECK_INT(t, 200000000);
    t = rate_ramp_next(&r, &rate, t, const_gap, NULL);
    CHECK_INT(t, 200000000 + 68965517);
    CHECK_NEAR(rate, 14.5, 1e-12);
    t = rate_ramp_next(&r, &rate, t, const_gap, NULL);
    CHECK_INT(t, 200000000 + 2 * 68965517);
    /* after the ramp the gaps are 10 ms, and the rate stays 100 */
    int64_t prev = t;
    while (t < 2000000000) {
        prev = t;
        t = rate_ramp_next(&r, &rate, t, const_gap, NULL);
    }
    CHECK(r.done);
    CHECK_NEAR(rate, 100, 1e-12);
    CHECK(t - prev <= 10498688 + 1); /* the gap across D is at most one at 95.25/s */
    int64_t t2 = rate_ramp_next(&r, &rate, t, const_gap, NULL);
    CHECK_INT(t2 - t, 10000000);
}

TEST(loadshape_rate_ramp_gaps_shrink)
{
    /* any ramp: every gap at most the one before it (the rate only rises), and the gaps
     * within the ramp between 1/R and 1/s */
    static const struct {
        double rate;
        int64_t ramp_ns;
    } cases[] = {{100, 2000000000}, {7, 1000000000}, {1000, 150000000}, {0.5, 10000000000LL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rate_ramp r;
        rate_ramp_init(&r, cases[i].rate, cases[i].ramp_ns);
        double rate = 0;
        int64_t prev = rate_ramp_next(&r, &rate, -1, const_gap, NULL);
        int64_t last_gap = prev;
        for (int n = 0; n < 400 && prev < cases[i].ramp_ns + 1000000000; n++) {
            int64_t t = rate_ramp_next(&r, &rate, prev, const_gap, NULL);
            CHECK(t > prev);
            CHECK(t - prev <= last_gap + 1);
            CHECK(t - prev >= (int64_t)(1e9 / cases[i].rate) - 1);
            last_gap = t - prev;
            prev = t;
        }
    }
}

TEST(loadshape_rate_series_value)
{
    /* AIPerf 0.13's value_at: the first rate before the first point, the last from the
     * last point on, linear in between */
    static const double t[] = {1, 2, 4}, q[] = {10, 30, 20};
    struct rate_series s;
    rate_series_init(&s, t, q, 3, 0);
    static const struct {
        double e, want;
    } cases[] = {{0, 10}, {0.5, 10},   {1, 10}, {1.5, 20}, {2, 30},
                 {3, 25}, {3.9, 20.5}, {4, 20}, {9, 20}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_NEAR(rate_series_value(&s, cases[i].e), cases[i].want, 1e-9);
}

TEST(loadshape_rate_series_constant_schedule)
{
    /* 10 -> 20 req/s over the first second, then 20. Worked by hand:
     *   send 1: 100 ms at 10/s (the update at 0 keeps 10: no change; the one at 100 ms is
     *     not before the send);
     *   send 2: 200 ms pending; the 100 ms update (11/s) pulls it to 100 + 90.909 ms;
     *   send 3: 190.909 + 90.909 = 281.818 pending; the 200 ms update (12/s) gives
     *     200 + 83.333 = 283.333, later: 281.818 stays. */
    static const double t[] = {0, 1}, q[] = {10, 20};
    struct rate_ramp r;
    struct rate_series s;
    rate_ramp_init(&r, 10, 0);
    rate_series_init(&s, t, q, 2, 0);
    double rate = 10;
    int64_t x = rate_shape_next(&r, &s, &rate, -1, const_gap, NULL);
    CHECK_INT(x, 100000000);
    x = rate_shape_next(&r, &s, &rate, x, const_gap, NULL);
    CHECK_INT(x, 100000000 + 90909090);
    x = rate_shape_next(&r, &s, &rate, x, const_gap, NULL);
    CHECK_INT(x, 190909090 + 90909090);
    /* far past the last point: 50 ms gaps at 20/s */
    for (int i = 0; i < 40; i++)
        x = rate_shape_next(&r, &s, &rate, x, const_gap, NULL);
    int64_t y = rate_shape_next(&r, &s, &rate, x, const_gap, NULL);
    CHECK_INT(y - x, 50000000);
    CHECK(s.done);
}

TEST(loadshape_rate_series_after_ramp)
{
    /* a 0.25 s ramp to 10 (from 4/s), then the series from 0.25 s: its update at 0.25 s
     * sets 10 before the ramp's last one (at 0.3 s) does */
    static const double t[] = {0, 10}, q[] = {10, 10};
    struct rate_ramp r;
    struct rate_series s;
    rate_ramp_init(&r, 10, 250000000);
    rate_series_init(&s, t, q, 2, 250000000);
    double rate = 0;
    /* 4/s: 250 ms pending; the 100 ms update (4 + 6 * 0.4 = 6.4/s) gives 256.25 ms: stays;
     * the 200 ms one (8.8/s) gives 313.6: stays */
    int64_t x = rate_shape_next(&r, &s, &rate, -1, const_gap, NULL);
    CHECK_INT(x, 250000000);
    CHECK_NEAR(rate, 8.8, 1e-9);
    /* 250 + 113.636 pending; the series at 250 (10/s): 350, earlier; the ramp's 300 (10/s)
     * is no change */
    x = rate_shape_next(&r, &s, &rate, x, const_gap, NULL);
    CHECK_INT(x, 350000000);
    CHECK_NEAR(rate, 10, 1e-12);
}

static int load_series(const char *text, double **t, double **q, int *n, struct diag *d)
{
    char path[512];
    snprintf(path, sizeof path, "%s/series.json", test_tmpdir());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return rate_series_load(path, t, q, n, d);
}

TEST(loadshape_rate_series_files)
{
    static const struct {
        const char *text;
        int n;           /* points when good, 0 when refused */
        const char *why; /* in the message */
    } cases[] = {
        {"[{\"time_s\":0,\"qps\":1},{\"time_s\":2.5,\"qps\":4}]", 2, NULL},
        {"{\"points\":[{\"time_s\":0,\"qps\":1},{\"qps\":2,\"time_s\":1},{\"time_s\":3,\"qps\":0.5}"
         "]}",
         3, NULL},
        {"[{\"time_s\":0,\"qps\":1}]", 0, "at least two points"},
        {"[]", 0, "at least two points"},
        {"{\"points\":[],\"x\":1}", 0, "exactly one key"},
        {"{\"pts\":[]}", 0, "exactly one key"},
        {"7", 0, "expected an array"},
        {"[{\"time_s\":0,\"qps\":1},", 0, "not valid JSON"},
        {"[{\"time_s\":0,\"qps\":1},{\"time_s\":0,\"qps\":2}]", 0, "strictly increasing"},
        {"[{\"time_s\":1,\"qps\":1},{\"time_s\":0.5,\"qps\":2}]", 0, "strictly increasing"},
        {"[{\"time_s\":0,\"qps\":0},{\"time_s\":1,\"qps\":2}]", 0, "point 0: qps 0 is not > 0"},
        {"[{\"time_s\":-1,\"qps\":1},{\"time_s\":1,\"qps\":2}]", 0,
         "point 0: time_s -1 is negative"},
        {"[{\"time_s\":0,\"qps\":1},{\"time_s\":1,\"qps\":\"2\"}]", 0,
         "point 1: qps: expected a number"},
        {"[{\"time_s\":0,\"qps\":1},{\"time_s\":1}]", 0, "point 1: qps: expected a number"},
        {"[{\"time_s\":0,\"qps\":1,\"x\":2},{\"time_s\":1,\"qps\":2}]", 0,
         "point 0: unknown key x"},
        {"[1,2]", 0, "point 0: expected an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double *t = NULL, *q = NULL;
        int n = 0;
        struct diag d = {0};
        int rc = load_series(cases[i].text, &t, &q, &n, &d);
        if (cases[i].n) {
            CHECK_INT(rc, 0);
            CHECK_INT(n, cases[i].n);
        } else {
            CHECK(rc != 0);
            CHECK(strstr(d.msg, cases[i].why) != NULL);
            CHECK(strstr(d.msg, "--request-rate-series ") == d.msg);
        }
        free(t);
        free(q);
    }
    double *t = NULL, *q = NULL;
    int n = 0;
    struct diag d = {0};
    CHECK(rate_series_load("/nonexistent/series.json", &t, &q, &n, &d) != 0);
    CHECK(strstr(d.msg, "No such file") != NULL);
}
