/* Response heads: a parsed head never exceeds the input, its views stay inside it, the
 * verdict does not depend on how the bytes arrived (resuming at any last_len gives the
 * same answer), and a head is self-delimiting (its own prefix parses to the same length). */
#include "fuzz.h"
#include "http1.h"

#include <string.h>

static void check_views(const struct http1_response *r, const char *buf, int n)
{
    FUZZ_ASSERT(r->nheaders <= HTTP1_MAX_HEADERS);
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct http1_header *h = &r->headers[i];
        FUZZ_ASSERT(h->name >= buf && h->name + h->name_len <= buf + n);
        FUZZ_ASSERT(h->value >= buf && h->value + h->value_len <= buf + n);
        FUZZ_ASSERT(h->name_len > 0);
    }
    FUZZ_ASSERT(r->reason >= buf && r->reason + r->reason_len <= buf + n);
    FUZZ_ASSERT(r->status >= 100 && r->status <= 999);
    if (r->framing == HTTP1_BODY_CLOSE)
        FUZZ_ASSERT(!r->keep_alive);
    if (r->framing != HTTP1_BODY_LENGTH)
        FUZZ_ASSERT(r->content_length == 0);
}

FUZZ_TARGET(http1_response)
{
    if (size < 1)
        return 0;
    bool head = data[0] & 1;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    struct http1_response r;
    int whole = http1_parse_response(buf, len, 0, head, &r);
    FUZZ_ASSERT(whole == HTTP1_ERROR || whole == HTTP1_INCOMPLETE || whole > 0);
    if (whole > 0) {
        FUZZ_ASSERT((size_t)whole <= len && whole <= HTTP1_MAX_HEAD);
        check_views(&r, buf, whole);
        struct http1_response r2;
        FUZZ_ASSERT(http1_parse_response(buf, (size_t)whole, 0, head, &r2) == whole);
        FUZZ_ASSERT(r2.framing == r.framing && r2.status == r.status);
    }
    /* Arriving in pieces: every prefix answers INCOMPLETE until the same verdict. */
    size_t step = len / 7 + 1, last = 0;
    for (size_t k = step; k < len; k += step) {
        int rc = http1_parse_response(buf, k, last, head, &r);
        if (rc != HTTP1_INCOMPLETE) {
            FUZZ_ASSERT(rc == whole || (rc == HTTP1_ERROR && whole == HTTP1_ERROR));
            return 0;
        }
        last = k;
    }
    FUZZ_ASSERT(http1_parse_response(buf, len, last, head, &r) == whole);
    return 0;
}
