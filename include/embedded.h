/*
 * embedded: read-only data compiled into the binary by tools/embed.c at build time (the
 * prompt corpus, report templates). Blobs are static; embedded_load returns a heap copy
 * (decompressed if the blob is zstd) that the caller frees. Thread-safe.
 */
#ifndef METRONOME_EMBEDDED_H
#define METRONOME_EMBEDDED_H

#include "err.h"

#include <stddef.h>

struct embedded_blob {
    const char *name;
    const unsigned char *data;
    size_t len;     /* stored bytes */
    size_t raw_len; /* bytes after decompression */
    int zstd;       /* data is one zstd frame */
};

extern const struct embedded_blob embedded_blobs[];
extern const size_t embedded_count;

const struct embedded_blob *embedded_find(const char *name);
/* Decompresses blob `name` into a NUL-terminated heap buffer (*out, caller frees). */
int embedded_load(const char *name, char **out, size_t *len, struct diag *d);

#endif
