/*
 * arrow: a reader for Apache Arrow IPC *files* ("ARROW1" magic, footer at the end), the
 * columnar format AIPerf 0.13's baseten_trace loader reads besides Parquet. Only what a
 * trace needs: the schema's fields (nested lists included), uncompressed record batches,
 * and per-row access to integer, floating-point, UTF-8 and list columns. Everything is a
 * view into the caller's bytes (nothing is copied); every offset and length the file
 * states is checked against them before use, so hostile input gives an error value,
 * never a read outside the buffer.
 *
 * Not supported (ERR_UNSUPPORTED with the reason): compressed bodies, dictionary-encoded
 * fields, big-endian files, and the view/union/run-end layouts (a field of such a type
 * may be present as long as it is not read).
 */
#ifndef METRONOME_ARROW_H
#define METRONOME_ARROW_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARROW_MAX_FIELDS 256 /* fields of the flattened schema (nested ones included) */

enum arrow_kind {
    ARROW_K_NULL,  /* the Null type: every row null, no buffers */
    ARROW_K_INT,   /* Int of bits 8/16/32/64, signed or not */
    ARROW_K_FLOAT, /* FloatingPoint, 32 or 64 bits (16 is read as "other") */
    ARROW_K_UTF8,  /* Utf8/Binary (32-bit offsets) or their Large forms (64-bit) */
    ARROW_K_LIST,  /* List or LargeList: one child */
    ARROW_K_OTHER, /* present, skipped, not readable */
};

struct arrow_field {
    const char *name; /* into the file's bytes; not NUL-terminated */
    size_t name_len;
    int type; /* the IPC Type union tag */
    enum arrow_kind kind;
    int bits;       /* Int/FloatingPoint width */
    bool is_signed; /* Int */
    bool large;     /* 64-bit offsets */
    int child;      /* LIST: index of the child field; else -1 */
    int nbuf;       /* buffers the field itself takes in a record batch */
    int nchildren;
    bool unreadable; /* a layout this reader cannot walk past (union, views, run-end) */
};

struct arrow_file {
    const uint8_t *p; /* the whole file, owned by the caller */
    size_t n;
    struct arrow_field f[ARROW_MAX_FIELDS]; /* flattened, depth-first pre-order */
    int nf;
    int top[ARROW_MAX_FIELDS]; /* indices of the top-level fields */
    int ntop;
    const uint8_t *blocks; /* the footer's record batch blocks (24 bytes each) */
    size_t nbatches;
};

/* One field's buffers in one record batch. */
struct arrow_col {
    int64_t len, nulls;
    const uint8_t *validity; /* NULL: no row is null */
    const uint8_t *offsets;  /* UTF8/LIST */
    const uint8_t *values;   /* INT/FLOAT values, UTF8 bytes */
    uint64_t values_len;
};

struct arrow_batch {
    int64_t rows;
    struct arrow_col c[ARROW_MAX_FIELDS]; /* by field index */
};

/* Reads the footer and the schema. 0, or ERR_PARSE/ERR_UNSUPPORTED with d set (no file
 * name: the caller adds it). */
int arrow_open(struct arrow_file *a, const void *p, size_t n, struct diag *d);

/* The top-level field named name (field index), or -1. */
int arrow_find(const struct arrow_file *a, const char *name);

/* Reads record batch i's metadata and checks every buffer of every readable field
 * (bounds, offsets in order and inside their data). */
int arrow_batch(const struct arrow_file *a, size_t i, struct arrow_batch *b, struct diag *d);

bool arrow_null(const struct arrow_file *a, const struct arrow_batch *b, int f, int64_t row);
/* The value at row as an integer: INT (uint64 above INT64_MAX refused) or an integral
 * FLOAT. ERR_INVALID for anything else (null included). */
int arrow_int(const struct arrow_file *a, const struct arrow_batch *b, int f, int64_t row,
              int64_t *out);
/* UTF8 bytes at row (a view). ERR_INVALID for a null or another type. */
int arrow_str(const struct arrow_file *a, const struct arrow_batch *b, int f, int64_t row,
              const char **s, size_t *n);
/* LIST: the child rows [*lo, *hi) of row. ERR_INVALID for a null or another type. */
int arrow_list(const struct arrow_file *a, const struct arrow_batch *b, int f, int64_t row,
               int64_t *lo, int64_t *hi);

#endif
