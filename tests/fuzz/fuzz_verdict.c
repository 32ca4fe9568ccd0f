/* Fuzzes the --fail-on and --goodput parsers: any text parses or fails with a message,
 * and what parses has in-range fields. */
#include "fuzz.h"
#include "metrics.h"
#include "verdict.h"

#include <string.h>

FUZZ_TARGET(verdict)
{
    char text[1024];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    struct verdict_spec v;
    struct diag d = {0};
    memset(&v, 0, sizeof v);
    if (verdict_parse_fail_on(&v, text, &d) == 0) {
        FUZZ_ASSERT(v.nrule >= 1 && v.nrule <= VERDICT_MAX);
        for (size_t i = 0; i < v.nrule; i++) {
            FUZZ_ASSERT(v.rule[i].metric >= 0 && v.rule[i].metric < M_COUNT);
            FUZZ_ASSERT(v.rule[i].stat <= VS_LAST);
        }
    } else {
        FUZZ_ASSERT(d.msg[0] != '\0');
    }
    memset(&v, 0, sizeof v);
    d.msg[0] = '\0';
    if (verdict_parse_goodput(&v, text, &d) == 0) {
        FUZZ_ASSERT(v.nslo >= 1 && v.nslo <= VERDICT_MAX);
        for (size_t i = 0; i < v.nslo; i++)
            FUZZ_ASSERT(v.slo[i].metric >= 0 && v.slo[i].metric < M_NRECORD);
    } else {
        FUZZ_ASSERT(d.msg[0] != '\0');
    }
    return 0;
}
