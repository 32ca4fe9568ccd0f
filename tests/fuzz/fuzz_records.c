/* Fuzzes the records line scanner: any input parses or fails with a column inside it,
 * never reads outside it, and a parsed record's arrays are consistent. */
#include "fuzz.h"
#include "records_read.h"

FUZZ_TARGET(records)
{
    struct rec_parser p;
    rec_parser_init(&p);
    p.max_chunks = 4096;
    struct rec r;
    size_t col = 0;
    const char *what = NULL;
    int rc = rec_parse(&p, (const char *)data, size, &r, &col, &what);
    if (rc) {
        FUZZ_ASSERT(what != NULL);
        FUZZ_ASSERT(col >= 1 && col <= size + 1);
    } else {
        FUZZ_ASSERT(r.nchunks <= 4096 && r.nrchunks <= 4096);
        FUZZ_ASSERT(r.nchunks == 0 || (r.chunk_t && r.chunk_tok));
        FUZZ_ASSERT(r.nrchunks == 0 || (r.rchunk_t && r.rchunk_tok));
        FUZZ_ASSERT(r.conv.n == 0 || r.conv.p >= (const char *)data);
        FUZZ_ASSERT(r.conv.p == NULL || r.conv.p + r.conv.n <= (const char *)data + size);
    }
    size_t n = rec_zstd_complete_prefix(data, size);
    FUZZ_ASSERT(n <= size);
    rec_parser_free(&p);
    return 0;
}
