#include "embedded.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

const struct embedded_blob *embedded_find(const char *name)
{
    for (size_t i = 0; i < embedded_count; i++)
        if (strcmp(embedded_blobs[i].name, name) == 0)
            return &embedded_blobs[i];
    return NULL;
}

int embedded_load(const char *name, char **out, size_t *len, struct diag *d)
{
    const struct embedded_blob *b = embedded_find(name);
    if (!b)
        return diag_set(d, ERR_INVALID, "no embedded data named '%s'", name);
    char *p = xmalloc(b->raw_len + 1);
    if (b->zstd) {
        size_t n = ZSTD_decompress(p, b->raw_len, b->data, b->len);
        if (ZSTD_isError(n) || n != b->raw_len) {
            free(p);
            return diag_set(d, ERR_PARSE, "embedded data '%s' is corrupt", name);
        }
    } else {
        memcpy(p, b->data, b->len);
    }
    p[b->raw_len] = '\0';
    *out = p;
    *len = b->raw_len;
    return 0;
}
