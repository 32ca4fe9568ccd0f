/*
 * jscan: a small, allocation-free JSON scanner for the hot paths (dataset lines, trace
 * lines). It walks the members of one object or the elements of one array and hands out
 * views into the caller's buffer; nested values are validated and skipped, never built
 * into a tree. Nothing is copied until the caller asks (jval_str decodes escapes into a
 * struct buf). Bytes are never read past the end given, so a line need not be
 * NUL-terminated. Not thread-safe per iterator; iterators over the same buffer are
 * independent.
 *
 * Strictness: RFC 8259 grammar (no comments, no trailing commas, no leading zeros, no
 * raw control characters in strings), nesting up to JSCAN_MAX_DEPTH. String bytes >= 0x80
 * are passed through unchecked.
 */
#ifndef METRONOME_JSCAN_H
#define METRONOME_JSCAN_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSCAN_MAX_DEPTH 64

enum jtype {
    JT_STRING, /* p/n: the raw bytes between the quotes (escapes not decoded) */
    JT_NUMBER, /* p/n: the number's text */
    JT_TRUE,
    JT_FALSE,
    JT_NULL,
    JT_OBJECT, /* p/n: the whole object text, braces included */
    JT_ARRAY,  /* p/n: the whole array text, brackets included */
};

struct jval {
    enum jtype type;
    const char *p;
    size_t n;
    bool esc; /* strings: contains a backslash escape */
};

/* An iterator over one object's members or one array's elements. */
struct jiter {
    const char *p;   /* next byte to read */
    const char *end; /* one past the last byte */
    const char *base;
    bool array;
    bool first;
    bool done;
    bool trusted;     /* iterating a value already validated (jscan_enter): skip, not check */
    bool lazy;        /* jscan_object_lazy and its descendants: containers handed out unscanned */
    int depth;        /* nesting depth of this iterator's values (the top level's are at 1) */
    const char *open; /* lazy: the '{' or '[' of the container value handed out last, not
                       * yet passed (the next call validates and skips it) */
    struct jiter *parent; /* jscan_open descended from it: told where this one ends */
    const char *start;    /* the bracket this iterator began at */
    const char *err;      /* static reason after a parse error */
    size_t err_off;       /* byte offset of the error from base */
};

/* Starts iterating the object (or, with jscan_array, the array) that is the whole of
 * s[0..n) apart from surrounding whitespace. 0 or ERR_PARSE (it->err says why). */
int jscan_object(struct jiter *it, const char *s, size_t n);
int jscan_array(struct jiter *it, const char *s, size_t n);
/* Iterates a nested object or array value found earlier. Its bytes were validated when it
 * was found, so its members are delimited without checking them again (a response's
 * "choices" is entered three levels deep); a jval that did not come from this scanner
 * still never makes it read outside v->p[0..n), it just may not report every error. */
int jscan_enter(struct jiter *it, const struct jval *v);

/* Iterates the members of an array value's first element, when that is an object,
 * without delimiting the element first (jscan_enter on it would walk its bytes once more
 * to find its end: a response's choices[0] is most of the response). 0, or ERR_INVALID
 * when arr is not an array, is empty or its first element is not an object. */
int jscan_enter_first(struct jiter *it, const struct jval *arr);

/* As jscan_object, but an object or array member value is handed out unscanned (type set,
 * p at its bracket, n 0) so that the caller can walk it once, validating as it goes, with
 * jscan_open, instead of having it validated here and then walked again: a response's
 * "choices" and "usage" are most of its bytes. A container the caller does not open (or
 * leaves before its end) is validated and skipped by the next call on this iterator, so
 * the whole input is checked exactly as jscan_object checks it, errors and offsets
 * included; what a caller took from a container that later turns out malformed is its
 * own to undo when the walk fails. Iterators opened from it are lazy too. */
int jscan_object_lazy(struct jiter *it, const char *s, size_t n);
/* Iterates the container value v that `from` (NULL: none) handed out: lazily, validating,
 * when it is the container `from` left open, and then the walk of `from` goes on after
 * it once this iterator has returned 0; otherwise as jscan_enter (v a whole value).
 * 0, ERR_INVALID when v is not an object or array, ERR_PARSE when nested too deep. */
int jscan_open(struct jiter *it, struct jiter *from, const struct jval *v);
/* Makes v, a value `it` just handed out, whole: a container left open is validated and
 * delimited (v->n set) so it can be kept and entered later; any other value is whole
 * already. 0 or ERR_PARSE. */
int jscan_complete(struct jiter *it, struct jval *v);

/* Scans the one value that starts at s[0] (no leading whitespace) and may be followed by
 * anything: *used is its length. 0, or ERR_PARSE with *why set. */
int jscan_prefix(const char *s, size_t n, struct jval *v, size_t *used, const char **why);

/* Next member: 1 with *key (a JT_STRING) and *val, 0 after the closing brace (trailing
 * bytes after a top-level value are checked then), ERR_PARSE on malformed input. */
int jscan_member(struct jiter *it, struct jval *key, struct jval *val);
/* Next array element: 1, 0 at the end, or ERR_PARSE. */
int jscan_elem(struct jiter *it, struct jval *val);

/* The key equals the literal (raw comparison; keys with escapes never match). Always
 * inlined so the literal's length folds at compile time: it runs for every key of every
 * line, and the default build's UBSan checks made the compiler keep it out of line, with
 * a strlen call each time (callgrind: 96,000 calls for 8,000 responses). */
static inline __attribute__((always_inline)) bool jval_is(const struct jval *key, const char *lit)
{
    size_t n = __builtin_strlen(lit);
    return key->type == JT_STRING && key->n == n && __builtin_memcmp(key->p, lit, n) == 0;
}
/* A JSON number that is an integer within int64 (a float with no fractional part, like
 * 1000.0, is accepted as AIPerf's lax parser does). 0 or ERR_INVALID. */
int jval_int(const struct jval *v, int64_t *out);
/* The one range-checked integer conversion for numbers read from files: an integer (as
 * jval_int accepts it) within [lo, hi]. 0; ERR_INVALID when v is not an integral number;
 * ERR_TOO_LARGE when it is one but lies outside [lo, hi] (1e19, or INT64_MAX where the
 * caller allows less). Never converts an out-of-range double (that is undefined in C). */
int jval_int_in(const struct jval *v, int64_t lo, int64_t hi, int64_t *out);
/* Finds the value at a path of object keys (path[0] in the top-level object s[0..n),
 * path[1] inside that, ...), the first member of each name as cJSON does. 1 with *out, 0
 * when a key is absent (or a level is not an object), ERR_PARSE on malformed JSON. */
int jscan_find(const char *s, size_t n, const char *const *path, size_t depth, struct jval *out);
/* Any JSON number as a double. 0 or ERR_INVALID. */
int jval_double(const struct jval *v, double *out);
/* Appends the decoded string (escapes resolved, \u surrogate pairs joined into UTF-8)
 * to b. 0, ERR_INVALID for a non-string or a lone surrogate, ERR_TOO_LARGE from b. */
int jval_str(const struct jval *v, struct buf *b);
/* A name for the type, for error messages: "string", "number", ... */
const char *jval_type_name(enum jtype t);

#endif
