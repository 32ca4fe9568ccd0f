/* shard: parsing --shard and --start-at, and dealing a trace out to shards (shard.h). */
#include "shard.h"
#include "hash.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The latest start: 2^62 ns (2116-02-20), the bound report reads run.json's times with,
 * well inside int64 nanoseconds. */
#define START_AT_MAX_S 4611686017LL

/* The value as messages show it: at most 48 bytes, any byte outside printable ASCII as
 * \xNN, so a value with a newline or an escape sequence keeps the message one line. */
static const char *shown(const char *s, char out[200])
{
    size_t k = 0;
    for (size_t i = 0; s[i] && i < 48; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            out[k++] = (char)c;
        else
            k += (size_t)snprintf(out + k, 5, "\\x%02x", c);
    }
    if (strlen(s) > 48) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

/* Parses [0-9]+ at *p into *v (no sign, no overflow past max); advances *p. */
static bool digits(const char **p, long long max, long long *v)
{
    const char *s = *p;
    long long x = 0;
    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9') {
        if (x > (max - (*s - '0')) / 10)
            return false;
        x = x * 10 + (*s++ - '0');
    }
    *p = s;
    *v = x;
    return true;
}

int shard_parse(const char *s, int *index, int *count, struct diag *d)
{
    char q[200];
    const char *p = s;
    long long i, n;
    if (!digits(&p, INT_MAX, &i) || *p++ != '/' || !digits(&p, INT_MAX, &n) || *p)
        return diag_set(d, ERR_INVALID, "--shard '%s': expected INDEX/COUNT, e.g. 0/4",
                        shown(s, q));
    if (n < 1 || n > SHARD_COUNT_MAX)
        return diag_set(d, ERR_INVALID, "--shard '%s': the count must be 1 to %d", shown(s, q),
                        SHARD_COUNT_MAX);
    if (i >= n)
        return diag_set(d, ERR_INVALID,
                        "--shard '%s': index %lld is not below the count %lld (indexes "
                        "count from 0)",
                        shown(s, q), i, n);
    *index = (int)i;
    *count = (int)n;
    return 0;
}

/* Exactly n digits at *p. */
static bool fixed(const char **p, int n, int *v)
{
    int x = 0;
    for (int k = 0; k < n; k++) {
        char c = (*p)[k];
        if (c < '0' || c > '9')
            return false;
        x = x * 10 + (c - '0');
    }
    *p += n;
    *v = x;
    return true;
}

/* ".ddd" (1 to 9 digits) after seconds: nanoseconds; none: 0. */
static bool frac_ns(const char **p, int64_t *ns)
{
    *ns = 0;
    if (**p != '.')
        return true;
    (*p)++;
    int k = 0;
    int64_t x = 0;
    while (**p >= '0' && **p <= '9') {
        if (k == 9)
            return false;
        x = x * 10 + (**p - '0');
        (*p)++;
        k++;
    }
    if (k == 0)
        return false;
    for (; k < 9; k++)
        x *= 10;
    *ns = x;
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; y >= 1970). */
static int64_t days_from_civil(int y, int m, int dd)
{
    static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t days = 0;
    for (int k = 1970; k < y; k++)
        days += leap(k) ? 366 : 365;
    return days + before[m - 1] + (m > 2 && leap(y)) + dd - 1;
}

/* RFC 3339 date-time; false when s is not one. */
static bool rfc3339(const char *s, int64_t *out)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    int y, mo, dd, h, mi, se;
    if (!fixed(&p, 4, &y) || *p++ != '-' || !fixed(&p, 2, &mo) || *p++ != '-' || !fixed(&p, 2, &dd))
        return false;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return false;
    p++;
    if (!fixed(&p, 2, &h) || *p++ != ':' || !fixed(&p, 2, &mi) || *p++ != ':' || !fixed(&p, 2, &se))
        return false;
    int64_t ns;
    if (!frac_ns(&p, &ns))
        return false;
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!fixed(&p, 2, &oh) || *p++ != ':' || !fixed(&p, 2, &om) || oh > 23 || om > 59)
            return false;
        off = sign * (oh * 60 + om) * 60;
    } else {
        return false; /* RFC 3339 requires the offset: a local time would differ per host */
    }
    if (*p || y < 1970 || y > 2116 || mo < 1 || mo > 12 || dd < 1 || dd > mdays[mo - 1] ||
        (mo == 2 && dd == 29 && !leap(y)) || h > 23 || mi > 59 || se > 60)
        return false;
    if (se == 60)
        se = 59; /* a leap second: CLOCK_REALTIME repeats 59 */
    int64_t t = ((days_from_civil(y, mo, dd) * 24 + h) * 60 + mi) * 60 + se - off;
    if (t < 0 || t > START_AT_MAX_S)
        return false;
    *out = t * 1000000000 + ns;
    return true;
}

int start_at_parse(const char *s, int64_t now_real_ns, int64_t *out, struct diag *d)
{
    char q[200];
    int64_t t;
    const char *p = s;
    long long sec;
    int64_t ns;
    if (*p == '+') {
        p++;
        if (!digits(&p, 100000000LL, &sec) || !frac_ns(&p, &ns) || *p)
            return diag_set(d, ERR_INVALID,
                            "--start-at '%s': expected +SECONDS (up to 10^8), a Unix time "
                            "or an RFC 3339 time",
                            shown(s, q));
        t = now_real_ns + (int64_t)sec * 1000000000 + ns;
        if (t <= now_real_ns)
            return diag_set(d, ERR_INVALID, "--start-at '%s': the start must be after now",
                            shown(s, q));
    } else if (!rfc3339(s, &t)) {
        p = s;
        if (!digits(&p, START_AT_MAX_S, &sec) || !frac_ns(&p, &ns) || *p)
            return diag_set(d, ERR_INVALID,
                            "--start-at '%s': expected an RFC 3339 time "
                            "(2026-12-02T10:00:00Z), Unix seconds or +SECONDS, before 2116",
                            shown(s, q));
        t = (int64_t)sec * 1000000000 + ns;
    }
    if (t <= now_real_ns)
        return diag_set(d, ERR_INVALID,
                        "--start-at '%s': that is %.3f s in the past (this host's clock)",
                        shown(s, q), (double)(now_real_ns - t) / 1e9);
    *out = t;
    return 0;
}

bool shard_take(struct shard_deal *s, const char *session, bool multi_turn)
{
    if (s->count <= 1)
        return true;
    if (multi_turn && session && *session)
        return hash64_str(session) % (uint64_t)s->count == (uint64_t)s->index;
    return s->single++ % (uint64_t)s->count == (uint64_t)s->index;
}

long shard_concurrency(long c, int index, int count)
{
    if (count <= 1)
        return c;
    return c / count + (index < c % count ? 1 : 0);
}
