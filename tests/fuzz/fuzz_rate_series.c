/* --request-rate-series files (src/replay/loadshape.c rate_series_parse) over arbitrary
 * bytes: a refusal is ERR_INVALID with a one-line message naming the option; an accepted
 * series has at least two points, finite, time_s >= 0 strictly increasing, qps > 0, and
 * its value at any instant lies between the smallest and largest qps. */
#include "err.h"
#include "fuzz.h"
#include "loadshape.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

FUZZ_TARGET(rate_series)
{
    if (size > 65536)
        return 0;
    double *t = NULL, *q = NULL;
    int n = 0;
    struct diag d = {0};
    int rc = rate_series_parse((const char *)data, size, "f.json", &t, &q, &n, &d);
    FUZZ_ASSERT(rc == 0 || rc == ERR_INVALID);
    if (rc) {
        FUZZ_ASSERT(d.msg[0] && !strchr(d.msg, '\n'));
        FUZZ_ASSERT(strncmp(d.msg, "--request-rate-series f.json: ", 30) == 0);
        FUZZ_ASSERT(!t && !q);
        return 0;
    }
    FUZZ_ASSERT(n >= 2);
    double lo = q[0], hi = q[0];
    for (int i = 0; i < n; i++) {
        FUZZ_ASSERT(isfinite(t[i]) && isfinite(q[i]) && t[i] >= 0 && q[i] > 0);
        FUZZ_ASSERT(i == 0 || t[i] > t[i - 1]);
        lo = q[i] < lo ? q[i] : lo;
        hi = q[i] > hi ? q[i] : hi;
    }
    struct rate_series s;
    rate_series_init(&s, t, q, n, 0);
    for (int i = 0; i <= 16; i++) {
        double e = t[0] - 1 + (t[n - 1] - t[0] + 2) * i / 16.0;
        double v = rate_series_value(&s, e);
        FUZZ_ASSERT(v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12));
    }
    free(t);
    free(q);
    return 0;
}
