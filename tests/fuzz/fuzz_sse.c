/* SSE: feeding a stream whole, in pieces of a size chosen by the input, and one byte at a
 * time gives the same events (type, data, id, retry) and the same comment count. */
#include "fuzz.h"
#include "sse.h"

#include <string.h>

struct digest {
    unsigned long long h;
    size_t events;
    size_t bytes;
    size_t max_data;
};

static void mix(struct digest *d, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d->h = (d->h ^ (unsigned char)p[i]) * 1099511628211ULL;
    d->h = (d->h ^ n) * 1099511628211ULL;
}

static int on_event(void *ctx, const struct sse_event *ev)
{
    struct digest *d = ctx;
    FUZZ_ASSERT(ev->type_len > 0);
    mix(d, ev->type, ev->type_len);
    mix(d, ev->data, ev->data_len);
    mix(d, ev->id, ev->id_len);
    d->h = (d->h ^ (unsigned long long)ev->retry) * 1099511628211ULL;
    d->events++;
    d->bytes += ev->data_len;
    if (ev->data_len > d->max_data)
        d->max_data = ev->data_len;
    return 0;
}

static void run(const char *buf, size_t len, size_t piece, struct digest *d, uint64_t *comments,
                bool *partial)
{
    struct sse_parser p;
    sse_parser_init(&p, 1 << 24);
    memset(d, 0, sizeof *d);
    for (size_t pos = 0; pos < len;) {
        size_t n = piece && piece < len - pos ? piece : len - pos;
        FUZZ_ASSERT(sse_parser_feed(&p, buf + pos, n, (int64_t)pos, on_event, d) == 0);
        pos += n;
    }
    FUZZ_ASSERT(p.events == d->events);
    *comments = p.comments;
    *partial = sse_parser_finish(&p);
    sse_parser_free(&p);
}

FUZZ_TARGET(sse)
{
    if (size < 1)
        return 0;
    size_t piece = data[0] % 13 + 1;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    struct digest a, b, c;
    uint64_t ca, cb, cc;
    bool pa, pb, pc;
    run(buf, len, 0, &a, &ca, &pa);
    run(buf, len, piece, &b, &cb, &pb);
    run(buf, len, 1, &c, &cc, &pc);
    FUZZ_ASSERT(a.h == b.h && a.h == c.h && a.events == b.events && a.events == c.events);
    FUZZ_ASSERT(ca == cb && ca == cc && pa == pb && pa == pc);
    /* Data is the input minus framing: never more bytes than were fed. */
    FUZZ_ASSERT(a.max_data <= len);
    return 0;
}
