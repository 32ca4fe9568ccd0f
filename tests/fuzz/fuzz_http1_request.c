/* Request heads, as the mock sees them from a hostile client: same invariants as the
 * response harness, plus the smuggling guards (never both a length and chunked). */
#include "fuzz.h"
#include "http1.h"

FUZZ_TARGET(http1_request)
{
    const char *buf = (const char *)data;
    struct http1_request r;
    int whole = http1_parse_request(buf, size, 0, &r);
    FUZZ_ASSERT(whole == HTTP1_ERROR || whole == HTTP1_INCOMPLETE || whole > 0);
    if (whole > 0) {
        FUZZ_ASSERT((size_t)whole <= size && whole <= HTTP1_MAX_HEAD);
        FUZZ_ASSERT(r.method >= buf && r.method + r.method_len <= buf + whole);
        FUZZ_ASSERT(r.path >= buf && r.path + r.path_len <= buf + whole);
        FUZZ_ASSERT(r.method_len > 0 && r.path_len > 0);
        FUZZ_ASSERT(r.framing != HTTP1_BODY_CLOSE);
        for (size_t i = 0; i < r.nheaders; i++) {
            const struct http1_header *h = &r.headers[i];
            FUZZ_ASSERT(h->name >= buf && h->name + h->name_len <= buf + whole);
            FUZZ_ASSERT(h->value >= buf && h->value + h->value_len <= buf + whole);
        }
        bool has_cl = http1_find_header(r.headers, r.nheaders, "content-length") != NULL;
        if (r.framing == HTTP1_BODY_CHUNKED)
            FUZZ_ASSERT(!has_cl);
        struct http1_request r2;
        FUZZ_ASSERT(http1_parse_request(buf, (size_t)whole, 0, &r2) == whole);
    }
    size_t last = 0;
    for (size_t k = 1; k < size; k += size / 5 + 1) {
        int rc = http1_parse_request(buf, k, last, &r);
        if (rc != HTTP1_INCOMPLETE) {
            FUZZ_ASSERT(rc == whole || (rc == HTTP1_ERROR && whole == HTTP1_ERROR));
            return 0;
        }
        last = k;
    }
    FUZZ_ASSERT(http1_parse_request(buf, size, last, &r) == whole);
    return 0;
}
