/* Fuzzes the tokenizer.json loader (seeded with small trained tokenizers of every model,
 * normalizer, pre-tokenizer and decoder kind, which libFuzzer mutates): whatever the
 * bytes, loading either fails with a one-line message or gives a tokenizer that encodes
 * and decodes a multilingual line with ids inside its vocabulary. */
#include "buf.h"
#include "fuzz.h"
#include "tok.h"

#include <string.h>

/* Hello, digits, Latin accents, CJK, an emoji ZWJ family, invalid UTF-8, special-token
 * look-alikes, whitespace, a circled digit. */
static const char sample[] =
    "Hello  world, it's 2026! na\xc3\xafve caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac "
    "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 \xff\xc3 <s>[MASK]\t\n "
    "\xe2\x91\xa0";

FUZZ_TARGET(tok_load)
{
    struct tok *t = NULL;
    struct diag d = {0};
    int rc = tok_load_mem((const char *)data, size, "fuzz.json", &t, &d);
    if (rc) {
        FUZZ_ASSERT(t == NULL && rc < 0);
        FUZZ_ASSERT(d.msg[0] && !strchr(d.msg, '\n'));
        return 0;
    }
    struct tok_ids ids = {0};
    /* Without the post-processor every id comes from the model or the added tokens. */
    if (tok_encode(t, sample, sizeof sample - 1, false, &ids, &d) == 0) {
        for (size_t i = 0; i < ids.n; i++)
            FUZZ_ASSERT(ids.v[i] < tok_vocab_size(t));
        struct buf out;
        buf_init(&out, 0);
        FUZZ_ASSERT(tok_decode(t, ids.v, ids.n, true, &out) == 0);
        buf_free(&out);
    }
    tok_ids_free(&ids);
    tok_free(t);
    return 0;
}
