#include "engine.h"
#include "test.h"
#include "xalloc.h"

#include <stdlib.h>

TEST(sched_ring_fifo_and_full)
{
    struct ring *r = xcalloc(1, sizeof *r);
    struct item items[8];
    CHECK(!ring_peek(r));
    CHECK(ring_pop(r) == NULL);
    for (size_t i = 0; i < RING_CAP; i++)
        REQUIRE(ring_push(r, &items[i % 8]));
    CHECK(!ring_push(r, &items[0])); /* full */
    for (size_t i = 0; i < RING_CAP; i++)
        REQUIRE(ring_pop(r) == &items[i % 8]);
    CHECK(ring_pop(r) == NULL);
    free(r);
}

TEST(sched_lateness_histogram_quantiles)
{
    struct lhist *h = xcalloc(1, sizeof *h);
    for (int i = 1; i <= 1000; i++)
        lhist_add(h, i * 1000); /* 1 us .. 1 ms */
    struct lhist *hs[1] = {h};
    double p50 = lhist_quantile(hs, 1, 0.5), p99 = lhist_quantile(hs, 1, 0.99);
    /* Log-linear buckets, 8 per power of two: within 12.5 % above the true value. */
    CHECK(p50 >= 500000 && p50 <= 500000 * 1.13);
    CHECK(p99 >= 990000 && p99 <= 990000 * 1.13);
    lhist_add(h, -5); /* early (spin overshoot never makes it negative, but be safe) */
    CHECK(lhist_quantile(hs, 1, 0.0) <= 1);
    free(h);
}
