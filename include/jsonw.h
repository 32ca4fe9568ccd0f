/*
 * jsonw: a small streaming JSON writer into a struct buf. It tracks commas and nesting
 * (up to JSONW_MAX_DEPTH levels) so callers write values in order. Strings are escaped
 * per RFC 8259 (control characters as \u00XX; bytes >= 0x80 passed through, so UTF-8
 * stays UTF-8). Doubles print in the shortest form that reads back exactly; NaN and
 * infinities become null. The writer borrows the buf; it owns nothing.
 */
#ifndef METRONOME_JSONW_H
#define METRONOME_JSONW_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONW_MAX_DEPTH 32

struct jsonw {
    struct buf *b;
    int depth;
    bool first[JSONW_MAX_DEPTH + 1]; /* no value written yet at this depth */
    bool after_key;
    int err; /* first error (ERR_TOO_LARGE from the buf), sticky */
};

void jsonw_init(struct jsonw *w, struct buf *b);
void jsonw_obj_begin(struct jsonw *w);
void jsonw_obj_end(struct jsonw *w);
void jsonw_arr_begin(struct jsonw *w);
void jsonw_arr_end(struct jsonw *w);
void jsonw_key(struct jsonw *w, const char *key);
void jsonw_str(struct jsonw *w, const char *s);
void jsonw_strn(struct jsonw *w, const char *s, size_t n);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_uint(struct jsonw *w, uint64_t v);
void jsonw_double(struct jsonw *w, double v);
/* A double printed with a fixed number of decimals (for rounded report values). */
void jsonw_fixed(struct jsonw *w, double v, int decimals);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* Already-serialized JSON text, inserted as one value. */
void jsonw_raw(struct jsonw *w, const char *json, size_t n);

/* Appends s[0..n) to b as a quoted, escaped JSON string. */
int json_escape(struct buf *b, const char *s, size_t n);
/* Formats v into out (>= 32 bytes) in the shortest round-trip form; returns the length. */
int json_format_double(char *out, double v);

#endif
