/* Fuzzes the Arrow IPC reader the baseten_trace loader stands on: whatever the bytes, every
 * accessor stays inside them, and what it hands out holds together (strings inside the
 * file, list ranges inside their child column). */
#include "arrow.h"
#include "fuzz.h"

#include <stdlib.h>

FUZZ_TARGET(arrow)
{
    struct arrow_file *a = malloc(sizeof *a);
    struct arrow_batch *b = malloc(sizeof *b);
    struct diag d;
    const uint8_t *lo = data, *hi = data + size;
    if (a && b && arrow_open(a, data, size, &d) == 0) {
        for (size_t i = 0; i < a->nbatches && i < 64; i++) {
            if (arrow_batch(a, i, b, &d))
                continue;
            for (int f = 0; f < a->nf; f++) {
                int64_t n = b->c[f].len < 4096 ? b->c[f].len : 4096;
                for (int64_t r = -1; r <= n; r++) {
                    int64_t v, l0, l1;
                    const char *s;
                    size_t sn;
                    (void)arrow_null(a, b, f, r);
                    (void)arrow_int(a, b, f, r, &v);
                    if (arrow_str(a, b, f, r, &s, &sn) == 0)
                        FUZZ_ASSERT((const uint8_t *)s >= lo && (const uint8_t *)s + sn <= hi);
                    if (arrow_list(a, b, f, r, &l0, &l1) == 0) {
                        FUZZ_ASSERT(l0 >= 0 && l0 <= l1 && a->f[f].child >= 0);
                        FUZZ_ASSERT(l1 <= b->c[a->f[f].child].len);
                    }
                }
            }
        }
    }
    free(a);
    free(b);
    return 0;
}
