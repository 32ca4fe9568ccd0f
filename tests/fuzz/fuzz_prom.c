/* Prometheus text: feeding an exposition whole, in pieces of a size chosen by the input,
 * and one byte at a time gives the same samples, the same error and the same error line;
 * every view stays inside its bounds and no label value is longer than the line cap. */
#include "fuzz.h"
#include "prom.h"

#include <math.h>
#include <string.h>

#define CAP_LINE 256

struct digest {
    unsigned long long h;
    size_t samples;
};

static void mix(struct digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        d->h = (d->h ^ b[i]) * 1099511628211ULL;
    d->h = (d->h ^ n) * 1099511628211ULL;
}

static int on_sample(void *ctx, const struct prom_sample *s)
{
    struct digest *d = ctx;
    FUZZ_ASSERT(s->name_len > 0 && s->name_len <= CAP_LINE);
    FUZZ_ASSERT(s->family_len > 0 && s->family_len <= s->name_len);
    FUZZ_ASSERT(s->nlabels <= 8 && s->help_len <= CAP_LINE);
    mix(d, s->name, s->name_len);
    mix(d, s->family, s->family_len);
    mix(d, s->help, s->help_len);
    for (size_t i = 0; i < s->nlabels; i++) {
        FUZZ_ASSERT(s->labels[i].value_len <= CAP_LINE);
        mix(d, s->labels[i].name, s->labels[i].name_len);
        mix(d, s->labels[i].value, s->labels[i].value_len);
    }
    unsigned t = (unsigned)s->type;
    mix(d, &t, sizeof t);
    double v = isnan(s->value) ? 0.123 : s->value; /* NaN payloads need not match */
    mix(d, &v, sizeof v);
    if (s->has_timestamp)
        mix(d, &s->timestamp_ms, sizeof s->timestamp_ms);
    d->samples++;
    return 0;
}

static int run(const char *buf, size_t len, size_t piece, enum prom_dialect dia, struct digest *d,
               unsigned long long *eline)
{
    struct prom_parser p;
    FUZZ_ASSERT(prom_parser_init(&p, dia, CAP_LINE, 8, 64) == 0);
    memset(d, 0, sizeof *d);
    int rc = 0;
    for (size_t pos = 0; pos < len && !rc;) {
        size_t n = piece && piece < len - pos ? piece : len - pos;
        rc = prom_parser_feed(&p, buf + pos, n, on_sample, d);
        pos += n;
    }
    if (!rc)
        rc = prom_parser_finish(&p, on_sample, d);
    FUZZ_ASSERT(p.samples == d->samples && p.samples <= 64);
    *eline = p.error_line;
    prom_parser_free(&p);
    return rc;
}

FUZZ_TARGET(prom)
{
    if (size < 1)
        return 0;
    enum prom_dialect dia = data[0] & 0x80 ? PROM_OPENMETRICS : PROM_TEXT_004;
    size_t piece = data[0] % 17 + 1;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    struct digest a, b, c;
    unsigned long long la, lb, lc;
    int ra = run(buf, len, 0, dia, &a, &la);
    int rb = run(buf, len, piece, dia, &b, &lb);
    int rc = run(buf, len, 1, dia, &c, &lc);
    FUZZ_ASSERT(ra == rb && ra == rc && la == lb && la == lc);
    FUZZ_ASSERT(a.h == b.h && a.h == c.h && a.samples == b.samples && a.samples == c.samples);
    return 0;
}
