/* The replay connection's response side (http1_rx, then the SSE parser for an event
 * stream, as the worker drives them) fed arbitrary server bytes: the same bytes fed whole,
 * in pieces of a size the input picks, and one byte at a time end in the same event with
 * the same status, body, SSE events and bytes left over, and the close that follows agrees
 * too. Body bytes are views inside the piece fed; the head buffer never exceeds its cap;
 * a reader never asks for more input while holding some back (no hang on a complete
 * response, such as a body of length 0). The first input byte picks the piece size. */
#include "fuzz.h"
#include "http1.h"
#include "sse.h"

#include <stdlib.h>
#include <string.h>

struct result {
    enum http1_rx_event ev, eof;
    enum http1_rx_error err;
    int status, heads;
    bool sse;
    size_t body_len, left, events;
    unsigned long long sum, esum; /* checksums of the body and of the SSE event data */
};

static int on_event(void *ctx, const struct sse_event *ev)
{
    struct result *r = ctx;
    r->events++;
    for (size_t i = 0; i < ev->data_len; i++)
        r->esum = r->esum * 131 + (unsigned char)ev->data[i];
    return 0;
}

static void drive(const char *buf, size_t len, size_t piece, struct result *r)
{
    memset(r, 0, sizeof *r);
    struct buf head;
    buf_init(&head, HTTP1_MAX_HEAD);
    struct http1_rx rx;
    struct http1_response resp;
    struct sse_parser sp;
    sse_parser_init(&sp, 1 << 16);
    http1_rx_init(&rx, &head, false);
    r->ev = HTTP1_RX_MORE;
    size_t pos = 0;
    while (pos < len && r->ev == HTTP1_RX_MORE) {
        size_t end = piece && pos + piece < len ? pos + piece : len;
        const char *p = buf + pos;
        size_t n = end - pos;
        for (;;) {
            const char *d;
            size_t dl;
            const char *before = p;
            enum http1_rx_event ev = http1_rx_feed(&rx, &resp, &p, &n, &d, &dl);
            FUZZ_ASSERT(p >= before && p + n == buf + end);
            FUZZ_ASSERT(head.len <= HTTP1_MAX_HEAD);
            if (ev == HTTP1_RX_HEAD) {
                FUZZ_ASSERT(resp.status >= 200 && resp.status <= 999 && resp.status == rx.status);
                r->heads++;
                r->sse = http1_content_type_is(resp.content_type, resp.content_type_len,
                                               "text/event-stream");
                continue;
            }
            if (ev == HTTP1_RX_DATA) {
                FUZZ_ASSERT(dl > 0 && d >= before && d + dl <= p);
                for (size_t i = 0; i < dl; i++)
                    r->sum = r->sum * 31 + (unsigned char)d[i];
                r->body_len += dl;
                if (r->sse)
                    (void)sse_parser_feed(&sp, d, dl, 0, on_event, r);
                continue;
            }
            r->ev = ev;
            if (ev == HTTP1_RX_MORE)
                FUZZ_ASSERT(n == 0); /* more is asked for only when all was taken */
            if (ev == HTTP1_RX_DONE)
                r->left = n + (len - end);
            break;
        }
        pos = end;
    }
    FUZZ_ASSERT(r->heads <= 1);
    r->eof = http1_rx_eof(&rx);
    r->err = rx.error;
    r->status = rx.status;
    FUZZ_ASSERT((r->eof == HTTP1_RX_ERROR) == (r->err != HTTP1_RX_OK));
    FUZZ_ASSERT(r->ev != HTTP1_RX_DONE || r->eof == HTTP1_RX_DONE);
    if (r->sse && r->eof == HTTP1_RX_DONE)
        (void)sse_parser_finish(&sp);
    sse_parser_free(&sp);
    buf_free(&head);
}

static void same(const struct result *a, const struct result *b)
{
    FUZZ_ASSERT(a->ev == b->ev && a->eof == b->eof && a->err == b->err);
    FUZZ_ASSERT(a->status == b->status && a->heads == b->heads && a->sse == b->sse);
    FUZZ_ASSERT(a->body_len == b->body_len && a->sum == b->sum && a->left == b->left);
    FUZZ_ASSERT(a->events == b->events && a->esum == b->esum);
}

FUZZ_TARGET(http1_rx)
{
    if (size < 1)
        return 0;
    size_t piece = data[0] % 31 + 1;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    struct result whole, pieces, bytes;
    drive(buf, len, 0, &whole);
    drive(buf, len, piece, &pieces);
    drive(buf, len, 1, &bytes);
    same(&whole, &pieces);
    same(&whole, &bytes);
    return 0;
}
