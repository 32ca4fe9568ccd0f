#include "hash.h"
#include "shard.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

TEST(shard_parse_table)
{
    static const struct {
        const char *s;
        int ok, i, n;
    } t[] = {
        {"0/1", 1, 0, 1},
        {"0/4", 1, 0, 4},
        {"3/4", 1, 3, 4},
        {"4095/4096", 1, 4095, 4096},
        {"4/4", 0, 0, 0},
        {"0/0", 0, 0, 0},
        {"5/4", 0, 0, 0},
        {"0/4097", 0, 0, 0},
        {"", 0, 0, 0},
        {"/", 0, 0, 0},
        {"1", 0, 0, 0},
        {"1/", 0, 0, 0},
        {"/4", 0, 0, 0},
        {"-1/4", 0, 0, 0},
        {"1/-4", 0, 0, 0},
        {" 1/4", 0, 0, 0},
        {"1/4 ", 0, 0, 0},
        {"1/4/5", 0, 0, 0},
        {"a/4", 0, 0, 0},
        {"1/4x", 0, 0, 0},
        {"+1/4", 0, 0, 0},
        {"3\n", 0, 0, 0},
        {"1\x1b[2J/4", 0, 0, 0},
        {"1.0/4", 0, 0, 0},
        {"99999999999/4", 0, 0, 0},
        {"1/99999999999999999999", 0, 0, 0},
    };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        int i = -1, n = -1;
        struct diag d = {0};
        int rc = shard_parse(t[k].s, &i, &n, &d);
        if ((rc == 0) != t[k].ok)
            test_fail(__FILE__, __LINE__, "'%s': rc %d (%s)", t[k].s, rc, d.msg);
        if (t[k].ok && (i != t[k].i || n != t[k].n))
            test_fail(__FILE__, __LINE__, "'%s': %d/%d", t[k].s, i, n);
        if (!t[k].ok) {
            CHECK(strstr(d.msg, "--shard") != NULL);
            CHECK(strchr(d.msg, '\n') == NULL);
        }
    }
}

#define S 1000000000LL
TEST(shard_start_at_table)
{
    const int64_t now = 1796205600LL * S; /* 2026-12-02T10:00:00Z */
    static const struct {
        const char *s;
        int ok;
        int64_t at; /* seconds past now, and ns */
        int64_t ns;
    } t[] = {
        {"+30", 1, 30, 0},
        {"+0.5", 1, 0, 500000000},
        {"+1.000000001", 1, 1, 1},
        {"1796205660", 1, 60, 0},
        {"1796205660.25", 1, 60, 250000000},
        {"2026-12-02T10:01:00Z", 1, 60, 0},
        {"2026-12-02t10:01:00z", 1, 60, 0},
        {"2026-12-02 10:01:00Z", 1, 60, 0},
        {"2026-12-02T10:01:00.5Z", 1, 60, 500000000},
        {"2026-12-02T11:01:00+01:00", 1, 60, 0},
        {"2026-12-02T09:31:00-00:30", 1, 60, 0},
        {"2026-12-03T00:00:00Z", 1, 14 * 3600, 0},
        {"2028-02-29T00:00:00Z", 1, 1835395200LL - 1796205600LL, 0},
        /* the latest start is 2^62 ns (run.json's bound); later would overflow int64 ns */
        {"4611686017", 1, 4611686017LL - 1796205600LL, 0},
        {"2100-01-01T00:00:00Z", 1, 4102444800LL - 1796205600LL, 0},
        {"4611686018", 0, 0, 0},
        {"9999-12-31T23:59:59Z", 0, 0, 0},
        {"2117-01-01T00:00:00Z", 0, 0, 0},
        /* the past, now itself */
        {"+0", 0, 0, 0},
        {"1796205600", 0, 0, 0},
        {"1796205599.999", 0, 0, 0},
        {"2026-12-02T10:00:00Z", 0, 0, 0},
        {"2026-12-02T09:59:59.5Z", 0, 0, 0},
        {"1970-01-01T00:00:00Z", 0, 0, 0},
        /* unparseable */
        {"", 0, 0, 0},
        {"+", 0, 0, 0},
        {"+-5", 0, 0, 0},
        {"+5s", 0, 0, 0},
        {"+5.", 0, 0, 0},
        {"+1.0000000001", 0, 0, 0},
        {"+100000001", 0, 0, 0},
        {"now", 0, 0, 0},
        {"-5", 0, 0, 0},
        {"1796205660x", 0, 0, 0},
        {"99999999999999999999", 0, 0, 0},
        {"2026-12-02T10:01:00", 0, 0, 0}, /* no offset: local time differs per host */
        {"2026-12-02T10:01Z", 0, 0, 0},
        {"2026-13-02T10:01:00Z", 0, 0, 0},
        {"2026-02-29T10:01:00Z", 0, 0, 0},
        {"2026-04-31T10:01:00Z", 0, 0, 0},
        {"2026-12-02T24:01:00Z", 0, 0, 0},
        {"2026-12-02T10:60:00Z", 0, 0, 0},
        {"2026-12-02T10:01:00+1:00", 0, 0, 0},
        {"2026-12-02T10:01:00+24:00", 0, 0, 0},
        {"2026-12-02T10:01:00Zjunk", 0, 0, 0},
        {"2026-12-02X10:01:00Z", 0, 0, 0},
        {"2026-12-02T10:01:00.Z", 0, 0, 0},
    };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        int64_t out = 0;
        struct diag d = {0};
        int rc = start_at_parse(t[k].s, now, &out, &d);
        if ((rc == 0) != t[k].ok)
            test_fail(__FILE__, __LINE__, "'%s': rc %d (%s)", t[k].s, rc, d.msg);
        if (t[k].ok && out != now + t[k].at * S + t[k].ns)
            test_fail(__FILE__, __LINE__, "'%s': %lld", t[k].s, (long long)(out - now));
        if (!t[k].ok)
            CHECK(strstr(d.msg, "--start-at") != NULL);
    }
    /* every split point of a valid time is refused as a prefix */
    const char *full = "2026-12-02T10:01:00.125+01:00";
    char cut[64];
    for (size_t n = 0; n < strlen(full); n++) {
        snprintf(cut, sizeof cut, "%.*s", (int)n, full);
        int64_t out;
        struct diag d = {0};
        int rc = start_at_parse(cut, 0, &out, &d);
        /* prefixes that are plain digits are Unix seconds (e.g. "2026") */
        bool digits_only = strspn(cut, "0123456789") == n && n > 0;
        if ((rc == 0) != digits_only)
            test_fail(__FILE__, __LINE__, "prefix '%s': rc %d", cut, rc);
    }
}

TEST(shard_deal_round_robin_and_sessions)
{
    /* single-turn entries: each of 4 shards takes every 4th, exactly once */
    struct shard_deal sh[4];
    for (int i = 0; i < 4; i++)
        sh[i] = (struct shard_deal){.index = i, .count = 4};
    int taken[1001] = {0};
    for (int k = 0; k < 1001; k++)
        for (int i = 0; i < 4; i++)
            if (shard_take(&sh[i], NULL, false)) {
                taken[k]++;
                CHECK_INT(k % 4, i);
            }
    for (int k = 0; k < 1001; k++)
        CHECK_INT(taken[k], 1);
    /* sessions: every turn of a session on the one shard hash % N says; interleaved
     * single-turn entries keep their own round-robin */
    for (int i = 0; i < 4; i++)
        sh[i] = (struct shard_deal){.index = i, .count = 4};
    int per[4] = {0};
    for (int turn = 0; turn < 3; turn++)
        for (int sess = 0; sess < 200; sess++) {
            char id[32];
            snprintf(id, sizeof id, "s%d", sess);
            int owner = -1;
            for (int i = 0; i < 4; i++)
                if (shard_take(&sh[i], id, true)) {
                    CHECK(owner < 0);
                    owner = i;
                }
            CHECK_INT(owner, (int)(hash64_str(id) % 4));
            per[owner]++;
        }
    for (int i = 0; i < 4; i++)
        CHECK(per[i] > 3 * 200 / 4 / 2); /* FNV spreads 200 ids over 4 shards */
    /* count 1 takes everything */
    struct shard_deal one = {.index = 0, .count = 1};
    CHECK(shard_take(&one, "x", true) && shard_take(&one, NULL, false));
}

TEST(shard_concurrency_rounding)
{
    long sum = 0;
    for (int i = 0; i < 4; i++)
        sum += shard_concurrency(10, i, 4);
    CHECK_INT(sum, 10);
    CHECK_INT(shard_concurrency(10, 0, 4), 3);
    CHECK_INT(shard_concurrency(10, 1, 4), 3);
    CHECK_INT(shard_concurrency(10, 2, 4), 2);
    CHECK_INT(shard_concurrency(10, 3, 4), 2);
    CHECK_INT(shard_concurrency(3, 3, 4), 0);
    CHECK_INT(shard_concurrency(7, 0, 1), 7);
}
