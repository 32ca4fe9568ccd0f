/* Comparisons that tell the truth (issue 12 §5) and the time-series bucket width. */
#include "../../src/report/report_int.h"
#include "test.h"

#include <math.h>
#include <string.h>

/* 0 -> 2.8 % errors: the most important delta on the page, never "N/A". */
TEST(compare_delta_from_zero_error_rate)
{
    struct report_delta d;
    report_delta(M_ERROR_RATE, true, 0.0, true, 0.028, REPORT_NOISE_PCT, NAN, NAN, &d);
    CHECK_STR(d.text, "+2.80 pp");
    CHECK_INT(d.cls, DELTA_WORSE);
    CHECK(!d.noise);
    char v[64];
    report_cmp_value(M_ERROR_RATE, 0.028, v, sizeof v);
    CHECK_STR(v, "2.80 %");
    /* and back: better */
    report_delta(M_ERROR_RATE, true, 0.028, true, 0.0, REPORT_NOISE_PCT, NAN, NAN, &d);
    CHECK_STR(d.text, "-2.80 pp");
    CHECK_INT(d.cls, DELTA_BETTER);
    /* any change from 0 of a count is shown, absolute */
    report_delta(M_ERR_COUNT, true, 0, true, 8, REPORT_NOISE_PCT, NAN, NAN, &d);
    CHECK_STR(d.text, "+8.00");
    CHECK_INT(d.cls, DELTA_WORSE);
}

/* 0.1 % of TTFT is noise: neutral, not a red regression. */
TEST(compare_delta_noise_is_neutral)
{
    struct report_delta d;
    report_delta(M_TTFT, true, 100.0, true, 100.1, REPORT_NOISE_PCT, NAN, NAN, &d);
    CHECK_STR(d.text, "+0.1%");
    CHECK_INT(d.cls, DELTA_NEUTRAL);
    CHECK(d.noise);
    report_delta(M_TTFT, true, 100.0, true, 110.0, REPORT_NOISE_PCT, NAN, NAN, &d);
    CHECK_INT(d.cls, DELTA_WORSE);
    report_delta(M_REQ_TPUT, true, 10.0, true, 11.0, REPORT_NOISE_PCT, NAN, NAN, &d);
    CHECK_INT(d.cls, DELTA_BETTER);
    /* with repeats, the CIs decide: 10 % apart but the intervals overlap */
    report_delta(M_TTFT, true, 100.0, true, 110.0, REPORT_NOISE_PCT, 6.0, 6.0, &d);
    CHECK_INT(d.cls, DELTA_NEUTRAL);
    report_delta(M_TTFT, true, 100.0, true, 110.0, REPORT_NOISE_PCT, 2.0, 2.0, &d);
    CHECK_INT(d.cls, DELTA_WORSE);
    /* repeats on one side only: that side's interval is the band (the other a point) */
    report_delta(M_TTFT, true, 100.0, true, 110.0, REPORT_NOISE_PCT, 12.0, NAN, &d);
    CHECK_INT(d.cls, DELTA_NEUTRAL);
    CHECK(d.noise);
    report_delta(M_TTFT, true, 100.0, true, 110.0, REPORT_NOISE_PCT, NAN, 8.0, &d);
    CHECK_INT(d.cls, DELTA_WORSE);
    /* a 0.5 % change is inside the 2 % threshold, but outside a 0.1-wide interval */
    report_delta(M_TTFT, true, 100.0, true, 100.5, REPORT_NOISE_PCT, 0.1, NAN, &d);
    CHECK_INT(d.cls, DELTA_WORSE);
    /* a 1 % error-rate change of 10 % is noise at 2 %? no: 0.1 pp of 10 % is 1 % */
    report_delta(M_ERROR_RATE, true, 0.10, true, 0.101, REPORT_NOISE_PCT, NAN, NAN, &d);
    CHECK_INT(d.cls, DELTA_NEUTRAL);
    /* no direction: shown, never coloured */
    report_delta(M_OSL, true, 100, true, 150, REPORT_NOISE_PCT, NAN, NAN, &d);
    CHECK_STR(d.text, "+50.0%");
    CHECK_INT(d.cls, DELTA_NEUTRAL);
}

TEST(compare_delta_one_side_missing)
{
    struct report_delta d;
    report_delta(M_GOODPUT, false, NAN, true, 3, REPORT_NOISE_PCT, NAN, NAN, &d);
    CHECK_STR(d.text, "new");
    report_delta(M_GOODPUT, true, 3, false, NAN, REPORT_NOISE_PCT, NAN, NAN, &d);
    CHECK_STR(d.text, "gone");
    report_delta(M_GOODPUT, false, NAN, false, NAN, REPORT_NOISE_PCT, NAN, NAN, &d);
    CHECK_INT(d.cls, DELTA_NONE);
}

/* A closed-loop run: 4 slots, every request 1 s (+- 1 ms), 60 s. Completions come in
 * waves one second apart; 1 s buckets (the old choice: one per second) see 0, 4 or 8 of
 * them. The chosen width holds >= 10 waves, so interior buckets differ by <= 1 wave. */
TEST(report_ts_bucket_closed_loop_does_not_alias)
{
    double bw = report_ts_bucket_ns(60e9, 1e9);
    CHECK(bw >= 7.5e9 - 1);
    int nb = (int)round(60e9 / bw);
    double cnt[64] = {0};
    unsigned seed = 7;
    for (int slot = 0; slot < 4; slot++) {
        double t = 0;
        for (;;) {
            seed = seed * 1103515245u + 12345u;
            t += 1e9 + ((double)(seed >> 16 & 0x7fff) / 0x7fff - 0.5) * 2e6;
            if (t >= 60e9)
                break;
            cnt[(int)(t / bw)]++;
        }
    }
    double lo = INFINITY, hi = 0;
    for (int b = 0; b < nb - 1; b++) { /* the last bucket holds the run's tail */
        lo = fmin(lo, cnt[b]);
        hi = fmax(hi, cnt[b]);
    }
    CHECK(lo > 0);
    CHECK(hi / lo <= 1.15);
    /* a long open run: ~120 buckets; a short one: 8 at least */
    CHECK_NEAR(report_ts_bucket_ns(600e9, 1e6), 5e9, 1);
    CHECK_NEAR(report_ts_bucket_ns(4e9, 1e9), 0.5e9, 1);
}
