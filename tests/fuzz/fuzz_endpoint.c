/* endpoint_parse over arbitrary payloads, for every endpoint type, streamed and whole:
 * never crashes, never reads past the payload (guard page), and its counts agree with
 * the text it collects, and the one-pass walk (chat, completions) agrees with the two-pass
 * one. The first input byte picks the type and the mode. */
#include "endpoint.h"
#include "fuzz.h"

#include <string.h>

FUZZ_TARGET(endpoint)
{
    if (size < 1)
        return 0;
    enum endpoint_type t = (enum endpoint_type)(data[0] % 6);
    bool stream = (data[0] >> 3) & 1;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    struct buf text;
    buf_init(&text, 1 << 20);
    struct ep_chunk c;
    endpoint_parse(t, stream, p, n, &c, &text); /* p ends at the guard page */
    FUZZ_ASSERT(!(c.bad && c.has_content && t != EP_RAW));
    FUZZ_ASSERT(!c.has_content || c.content_len == text.len || text.len == text.max ||
                t == EP_EMBEDDINGS || t == EP_RANKINGS || t == EP_RAW);
    FUZZ_ASSERT(c.finish[sizeof c.finish - 1] == '\0');
    FUZZ_ASSERT(!c.done || (n == 6 && !memcmp(p, "[DONE]", 6)));
    /* chat and completions are walked once; the two-pass walk must find the same */
    struct buf text2, r1, r2;
    buf_init(&text2, 1 << 20), buf_init(&r1, 1 << 20), buf_init(&r2, 1 << 20);
    struct ep_chunk c2;
    buf_reset(&text);
    endpoint_parse_text(t, stream, p, n, &c, &text, &r1);
    endpoint_parse_twopass(t, stream, p, n, &c2, &text2, &r2);
    FUZZ_ASSERT(!memcmp(&c, &c2, sizeof c) && text.len == text2.len && r1.len == r2.len);
    FUZZ_ASSERT(!text.len || !memcmp(text.p, text2.p, text.len));
    FUZZ_ASSERT(!r1.len || !memcmp(r1.p, r2.p, r1.len));
    buf_free(&text2), buf_free(&r1), buf_free(&r2);
    buf_free(&text);
    return 0;
}
