#include "mock_fault.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct kind_info {
    const char *name;
    int arg;  /* 0 none, 1 optional, 2 required */
    long def; /* default argument */
    long min, max;
};

static const struct kind_info kinds[MOCK_FAULT_COUNT] = {
    [MOCK_FAULT_STATUS] = {"status", 2, 500, 400, 599},
    [MOCK_FAULT_CLOSE_AFTER] = {"close-after", 1, 1, 0, 1000000},
    [MOCK_FAULT_STALL_AFTER] = {"stall-after", 1, 1, 0, 1000000},
    [MOCK_FAULT_SSE_INVALID_JSON] = {"sse-invalid-json", 1, 1, 0, 1000000},
    [MOCK_FAULT_SSE_CR] = {"sse-cr", 0, 0, 0, 0},
    [MOCK_FAULT_SSE_CRLF] = {"sse-crlf", 0, 0, 0, 0},
    [MOCK_FAULT_SSE_COMMENTS] = {"sse-comments", 0, 0, 0, 0},
    [MOCK_FAULT_SSE_FIELDS] = {"sse-fields", 0, 0, 0, 0},
    [MOCK_FAULT_SSE_MULTILINE] = {"sse-multiline", 0, 0, 0, 0},
    [MOCK_FAULT_BYTE_WRITES] = {"byte-writes", 0, 0, 0, 0},
    [MOCK_FAULT_BIG_EVENT] = {"big-event", 1, 8 << 20, 1, 256L << 20},
    [MOCK_FAULT_CHUNK_EXT] = {"chunk-ext", 0, 0, 0, 0},
    [MOCK_FAULT_TINY_CHUNKS] = {"tiny-chunks", 0, 0, 0, 0},
    [MOCK_FAULT_TRAILERS] = {"trailers", 0, 0, 0, 0},
    [MOCK_FAULT_SLOW_HEAD] = {"slow-head", 1, 1000, 0, 3600000},
    [MOCK_FAULT_WRONG_CTYPE] = {"wrong-content-type", 0, 0, 0, 0},
    [MOCK_FAULT_CLOSE_DELIMITED] = {"close-delimited", 0, 0, 0, 0},
};

const char *mock_fault_name(enum mock_fault_kind k)
{
    return (unsigned)k < MOCK_FAULT_COUNT ? kinds[k].name : "?";
}

static int parse_long(const char *s, size_t n, long *out)
{
    char tmp[32];
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    long v = strtol(tmp, &end, 10);
    if (errno || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

static int parse_when(const char *w, struct mock_fault *f, const char *spec, struct diag *d)
{
    if (strcmp(w, "all") == 0)
        return 0;
    if (strncmp(w, "p=", 2) == 0) {
        char *end;
        errno = 0;
        double p = strtod(w + 2, &end);
        if (errno || *end || end == w + 2 || !(p >= 0.0 && p <= 1.0))
            return diag_set(d, ERR_INVALID, "fault '%s': p= needs a probability in [0, 1]", spec);
        f->prob = p;
        return 0;
    }
    if (strncmp(w, "every=", 6) == 0) {
        const char *s = w + 6, *plus = strchr(s, '+');
        size_t n = plus ? (size_t)(plus - s) : strlen(s);
        if (parse_long(s, n, &f->every) || f->every < 1 ||
            (plus && parse_long(plus + 1, strlen(plus + 1), &f->offset)) || f->offset >= f->every)
            return diag_set(d, ERR_INVALID, "fault '%s': every= needs N[+K] with N >= 1, K < N",
                            spec);
        return 0;
    }
    if (strncmp(w, "idx=", 4) == 0) {
        const char *s = w + 4;
        while (*s) {
            const char *comma = strchr(s, ',');
            size_t n = comma ? (size_t)(comma - s) : strlen(s);
            const char *dash = memchr(s, '-', n);
            long lo, hi;
            int bad = dash ? parse_long(s, (size_t)(dash - s), &lo) ||
                                 parse_long(dash + 1, n - (size_t)(dash - s) - 1, &hi)
                           : parse_long(s, n, &lo);
            if (!dash)
                hi = lo;
            if (bad || hi < lo || f->nranges == MOCK_FAULT_MAX_RANGES)
                return diag_set(d, ERR_INVALID,
                                "fault '%s': idx= needs up to %d indexes or ranges A-B", spec,
                                MOCK_FAULT_MAX_RANGES);
            f->lo[f->nranges] = lo;
            f->hi[f->nranges] = hi;
            f->nranges++;
            s += n;
            if (*s == ',')
                s++;
        }
        if (f->nranges == 0)
            return diag_set(d, ERR_INVALID, "fault '%s': idx= is empty", spec);
        return 0;
    }
    return diag_set(d, ERR_INVALID,
                    "fault '%s': after @ expected all, p=P, every=N[+K] or idx=LIST", spec);
}

int mock_fault_parse(const char *spec, struct mock_fault *f, struct diag *d)
{
    memset(f, 0, sizeof *f);
    f->prob = -1.0;
    const char *at = strchr(spec, '@');
    size_t head = at ? (size_t)(at - spec) : strlen(spec);
    const char *eq = memchr(spec, '=', head);
    size_t name_len = eq ? (size_t)(eq - spec) : head;
    int k = -1;
    for (int i = 0; i < MOCK_FAULT_COUNT; i++)
        if (strlen(kinds[i].name) == name_len && memcmp(kinds[i].name, spec, name_len) == 0)
            k = i;
    if (k < 0)
        return diag_set(d, ERR_INVALID, "unknown fault '%.*s' (see docs/mock.md)", (int)name_len,
                        spec);
    f->kind = (enum mock_fault_kind)k;
    f->arg = kinds[k].def;
    if (eq) {
        if (kinds[k].arg == 0)
            return diag_set(d, ERR_INVALID, "fault '%s' takes no argument", kinds[k].name);
        long v;
        if (parse_long(eq + 1, head - name_len - 1, &v) || v < kinds[k].min || v > kinds[k].max)
            return diag_set(d, ERR_INVALID, "fault '%s': argument must be an integer in [%ld, %ld]",
                            kinds[k].name, kinds[k].min, kinds[k].max);
        f->arg = v;
    } else if (kinds[k].arg == 2) {
        return diag_set(d, ERR_INVALID, "fault '%s' needs an argument (%s=N)", kinds[k].name,
                        kinds[k].name);
    }
    return at ? parse_when(at + 1, f, spec, d) : 0;
}

static uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

bool mock_fault_applies(const struct mock_fault *f, uint64_t seed, int pos, uint64_t index)
{
    if (f->prob >= 0.0) {
        uint64_t h = mix(seed ^ mix(index + 0x9e3779b97f4a7c15ULL * (uint64_t)(pos + 1)));
        return (double)(h >> 11) * 0x1.0p-53 < f->prob;
    }
    if (f->every > 0)
        return index % (uint64_t)f->every == (uint64_t)f->offset;
    if (f->nranges > 0) {
        for (int i = 0; i < f->nranges; i++)
            if (index >= (uint64_t)f->lo[i] && index <= (uint64_t)f->hi[i])
                return true;
        return false;
    }
    return true;
}

void mock_fault_select(const struct mock_fault *f, int n, uint64_t seed, uint64_t index,
                       struct mock_fault_set *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n; i++) {
        if (!mock_fault_applies(&f[i], seed, i, index))
            continue;
        out->mask |= 1u << f[i].kind;
        out->arg[f[i].kind] = f[i].arg;
    }
}
