#include "seqdist.h"
#include "test.h"

#include <string.h>

/* Every spelling AIPerf 0.13 accepts, and the refusals, by table. */
TEST(seqdist_parse_table)
{
    static const struct {
        const char *v;
        int npairs;        /* -1: refused */
        long isl0, osl0;   /* first pair */
        double sd0, prob0; /* its ISL stddev and probability */
        const char *why;   /* a word the refusal must contain */
    } cases[] = {
        {"128,64:100", 1, 128, 64, 0, 100, NULL},
        {"128,64:25;512,128:50;1024,256:25", 3, 128, 64, 0, 25, NULL},
        {" 256|10,128|5:40 ; 512|20,256|10:60 ;", 2, 256, 128, 10, 40, NULL},
        {"128 , 64 : 100", 1, 128, 64, 0, 100, NULL},
        {"100,10:33.3;100,20:33.3;100,30:33.4", 3, 100, 10, 0, 33.3, NULL},
        {"1,1:.5e0", -1, 0, 0, 0, 0, "ISL"},
        {"[(256,128):40,(512,256):60]", 2, 256, 128, 0, 40, NULL},
        {"[( 256|2.5 , 128 ) : 40, junk (512,256):60]", 2, 256, 128, 2.5, 40, NULL},
        {"{\"pairs\":[{\"isl\":256,\"osl\":128,\"prob\":100,\"isl_stddev\":3}]}", 1, 256, 128, 3,
         100, NULL},
        {"128,64:50", -1, 0, 0, 0, 0, "sum to 50"},
        {"0,64:100", -1, 0, 0, 0, 0, "positive"},
        {"128,0:100", -1, 0, 0, 0, 0, "positive"},
        {"128,64:150;1,1:-50", -1, 0, 0, 0, 0, "probability"},
        {"128,64", -1, 0, 0, 0, 0, "ISL"},
        {"a,b:100", -1, 0, 0, 0, 0, "ISL"},
        {"", -1, 0, 0, 0, 0, "empty"},
        {"   ", -1, 0, 0, 0, 0, "empty"},
        {";;", -1, 0, 0, 0, 0, "no pairs"},
        {"[]", -1, 0, 0, 0, 0, "no ("},
        {"{\"pairs\":[{\"isl\":1,\"osl\":1}]}", -1, 0, 0, 0, 0, "prob"},
        {"{\"nopairs\":1}", -1, 0, 0, 0, 0, "pairs"},
        {"{bad json", -1, 0, 0, 0, 0, "JSON"},
        {"1234567890,1:100", -1, 0, 0, 0, 0, "ISL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        static struct seqdist s;
        struct diag d = {0};
        int rc = seqdist_parse(&s, "--seq-dist", cases[i].v, &d);
        if (cases[i].npairs < 0) {
            CHECK(rc == ERR_INVALID);
            CHECK(strstr(d.msg, "--seq-dist") != NULL);
            if (!strstr(d.msg, cases[i].why))
                test_fail(__FILE__, __LINE__, "case %zu '%s': '%s' lacks '%s'", i, cases[i].v,
                          d.msg, cases[i].why);
            continue;
        }
        if (rc) {
            test_fail(__FILE__, __LINE__, "case %zu '%s': %s", i, cases[i].v, d.msg);
            continue;
        }
        CHECK(s.npairs == cases[i].npairs);
        CHECK(s.pairs[0].isl == cases[i].isl0 && s.pairs[0].osl == cases[i].osl0);
        CHECK(s.pairs[0].isl_sd == cases[i].sd0 && s.pairs[0].prob == cases[i].prob0);
    }
}

/* Each pair is drawn about as often as its percentage says; a range stays in its window. */
TEST(seqdist_sample_frequencies)
{
    static struct seqdist s;
    struct diag d = {0};
    CHECK(seqdist_parse(&s, "--seq-dist", "10,1:20;20,2:80", &d) == 0);
    struct rng r;
    rng_seed(&r, 7);
    int n10 = 0;
    for (int i = 0; i < 10000; i++) {
        long isl, osl;
        seqdist_sample(&s, &r, &isl, &osl);
        CHECK((isl == 10 && osl == 1) || (isl == 20 && osl == 2));
        n10 += isl == 10;
    }
    CHECK(n10 > 1800 && n10 < 2200);

    CHECK(seqdist_range(&s, "0.25", "vllm", 10, 4, &d) == 0);
    CHECK(s.in_lo == 7 && s.in_hi == 13 && s.out_lo == 3 && s.out_hi == 5);
    CHECK(seqdist_range(&s, "{\"input\":0.5,\"output\":0}", "vllm", 10, 4, &d) == 0);
    CHECK(s.in_lo == 5 && s.in_hi == 15 && s.out_lo == 4 && s.out_hi == 4);
    CHECK(seqdist_range(&s, "0.25", "sglang", 10, 4, &d) == 0);
    CHECK(s.in_lo == 2 && s.in_hi == 10 && s.out_lo == 1 && s.out_hi == 4);
    bool lo = false, hi = false;
    for (int i = 0; i < 2000; i++) {
        long isl, osl;
        seqdist_sample(&s, &r, &isl, &osl);
        CHECK(isl >= 2 && isl <= 10 && osl >= 1 && osl <= 4);
        lo |= isl == 2;
        hi |= isl == 10;
    }
    CHECK(lo && hi);
    CHECK(seqdist_range(&s, "{\"input\":0.5,\"output\":0}", "sglang", 10, 4, &d) == ERR_INVALID);
    CHECK(seqdist_range(&s, "1", "vllm", 10, 4, &d) == ERR_INVALID);
    CHECK(seqdist_range(&s, "-0.1", "vllm", 10, 4, &d) == ERR_INVALID);
    CHECK(seqdist_range(&s, "{\"input\":0.5}", "vllm", 10, 4, &d) == ERR_INVALID);
    CHECK(seqdist_range(&s, "0.9", "vllm", 1, 4, &d) == ERR_INVALID); /* floor(0.1) = 0 */
    CHECK(strstr(d.msg, "--random-range-ratio '0.9'") != NULL);
}
