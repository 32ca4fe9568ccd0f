/* The load-shape schedules (loadshape.h) against AIPerf 0.13's definitions, worked by
 * hand in the tables below. */
#include "loadshape.h"
#include "test.h"

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
