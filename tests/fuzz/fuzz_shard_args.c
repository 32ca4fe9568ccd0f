/* --shard and --start-at (src/replay/shard.c) over arbitrary strings (the input, split at
 * its first NUL: the --shard value, then the --start-at value): a refusal is ERR_INVALID
 * with a one-line message; an accepted shard is 0 <= I < N <= SHARD_COUNT_MAX, only
 * digits and a slash, and reads back from its own "I/N"; an accepted start is after now
 * and reads back the same from its Unix-seconds and its RFC 3339 spelling (gmtime's
 * calendar, not the parser's). */
#include "fuzz.h"
#include "shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOW 1796205600000000000LL /* 2026-12-02T10:00:00Z */

static int64_t reread(const char *s)
{
    int64_t t = 0;
    struct diag d = {0};
    FUZZ_ASSERT(start_at_parse(s, NOW, &t, &d) == 0);
    return t;
}

FUZZ_TARGET(shard_args)
{
    if (size > 4096)
        return 0;
    char *in = malloc(size + 2);
    memcpy(in, data, size);
    in[size] = in[size + 1] = '\0';
    const char *sh = in, *at = in + strlen(in) + (strlen(in) < size ? 1 : 0);
    struct diag d = {0};
    int i = -1, n = -1;
    int rc = shard_parse(sh, &i, &n, &d);
    FUZZ_ASSERT(rc == 0 || rc == ERR_INVALID);
    if (rc) {
        FUZZ_ASSERT(d.msg[0] && !strchr(d.msg, '\n'));
    } else {
        FUZZ_ASSERT(0 <= i && i < n && n <= SHARD_COUNT_MAX);
        char back[32];
        snprintf(back, sizeof back, "%d/%d", i, n);
        int i2 = -1, n2 = -1;
        FUZZ_ASSERT(shard_parse(back, &i2, &n2, &d) == 0 && i2 == i && n2 == n);
        /* digits and one slash, nothing else (leading zeros are harmless) */
        FUZZ_ASSERT(strspn(sh, "0123456789/") == strlen(sh) && strchr(sh, '/') == strrchr(sh, '/'));
    }
    memset(&d, 0, sizeof d);
    int64_t t = 0;
    rc = start_at_parse(at, NOW, &t, &d);
    FUZZ_ASSERT(rc == 0 || rc == ERR_INVALID);
    if (rc) {
        FUZZ_ASSERT(d.msg[0] && !strchr(d.msg, '\n'));
    } else {
        FUZZ_ASSERT(t > NOW);
        char s[64];
        snprintf(s, sizeof s, "%lld.%09lld", (long long)(t / 1000000000),
                 (long long)(t % 1000000000));
        FUZZ_ASSERT(reread(s) == t);
        time_t sec = (time_t)(t / 1000000000);
        struct tm tm;
        if (gmtime_r(&sec, &tm) && tm.tm_year + 1900 <= 9999) {
            snprintf(s, sizeof s, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long long)(t % 1000000000));
            FUZZ_ASSERT(reread(s) == t);
        }
    }
    free(in);
    return 0;
}
