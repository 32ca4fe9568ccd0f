/* numfmt: the fast shortest formatter agrees with the slow reference everywhere. */
#include "jsonw.h"
#include "numfmt.h"
#include "rng.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static void same(double v)
{
    char a[64], b[64];
    numfmt_double(a, v);
    json_format_double(b, v);
    if (strcmp(a, b) != 0)
        test_fail(__FILE__, __LINE__, "%.17g: fast '%s' reference '%s'", v, a, b);
}

TEST(numfmt_known_values)
{
    char out[64];
    numfmt_double(out, 66.66666666666666);
    CHECK_STR(out, "66.66666666666666");
    numfmt_double(out, 0.1 + 0.2);
    CHECK_STR(out, "0.30000000000000004");
    numfmt_double(out, 5.0);
    CHECK_STR(out, "5.0");
    numfmt_double(out, 4898437 * 1e-06);
    CHECK_STR(out, "4.8984369999999995");
    numfmt_double(out, 0.000123);
    CHECK_STR(out, "0.000123");
    numfmt_double(out, 3999.9999999999995);
    CHECK_STR(out, "3999.9999999999995");
    numfmt_double(out, NAN);
    CHECK_STR(out, "null");
}

TEST(numfmt_matches_reference_on_random_doubles)
{
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 300000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        /* Latency-like ms values, ratios and throughputs across the fast range. */
        int64_t ns = (int64_t)(s % 5000000000ULL);
        same((double)ns * 1e-06);
        same((double)(s >> 11) * 0x1p-53 * pow(10, (double)(s % 19) - 4));
        same(1.0 / ((double)(ns + 1) * 1e-09));
        same((double)(s % 100000) / (double)((s >> 40) % 997 + 1));
    }
    for (int e = -4; e < 15; e++) {
        same(pow(10, e));
        same(nextafter(pow(10, e), 0));
        same(nextafter(pow(10, e), INFINITY));
    }
}
