/* Chunked decoding: the same bytes fed whole, split at a point chosen by the input, and
 * one byte at a time give the same body, the same consumed count and the same verdict;
 * body bytes are views inside what was fed and never outnumber it. */
#include "fuzz.h"
#include "http1.h"

#include <stdlib.h>
#include <string.h>

struct result {
    long consumed; /* or HTTP1_ERROR */
    bool done;
    size_t body_len;
    unsigned long long sum; /* position-weighted checksum of the body */
};

static void decode(const char *buf, size_t len, size_t piece, struct result *res)
{
    struct http1_chunked c;
    http1_chunked_init(&c);
    memset(res, 0, sizeof *res);
    size_t pos = 0;
    while (pos < len && !c.done) {
        size_t end = piece && pos + piece < len ? pos + piece : len;
        while (pos < end && !c.done) {
            const char *d;
            size_t dl;
            long n = http1_chunked_feed(&c, buf + pos, end - pos, &d, &dl);
            if (n < 0) {
                res->consumed = n;
                return;
            }
            FUZZ_ASSERT(n > 0 && (size_t)n <= end - pos);
            if (dl) {
                FUZZ_ASSERT(d >= buf + pos && d + dl <= buf + pos + n);
                for (size_t i = 0; i < dl; i++)
                    res->sum = res->sum * 31 + (unsigned char)d[i];
            }
            res->body_len += dl;
            pos += (size_t)n;
        }
    }
    res->consumed = (long)pos;
    res->done = c.done;
    FUZZ_ASSERT(res->body_len <= pos);
}

FUZZ_TARGET(chunked)
{
    if (size < 1)
        return 0;
    size_t split = data[0] % 17 + 1;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    struct result whole, pieces, bytes;
    decode(buf, len, 0, &whole);
    decode(buf, len, split, &pieces);
    decode(buf, len, 1, &bytes);
    /* An error found late in a piece may be found at the same byte in any split. */
    FUZZ_ASSERT(whole.consumed == pieces.consumed && whole.consumed == bytes.consumed);
    if (whole.consumed >= 0) {
        FUZZ_ASSERT(whole.done == pieces.done && whole.done == bytes.done);
        FUZZ_ASSERT(whole.body_len == pieces.body_len && whole.body_len == bytes.body_len);
        FUZZ_ASSERT(whole.sum == pieces.sum && whole.sum == bytes.sum);
    }
    return 0;
}
