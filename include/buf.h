/*
 * buf: a growable byte buffer with a hard cap. Growing past `max` fails with
 * ERR_TOO_LARGE instead of allocating without bound (runaway SSE events, huge lines).
 * The buffer owns p; buf_free releases it. Always NUL-terminated after a successful
 * append (the terminator is not counted in len). Not thread-safe.
 */
#ifndef METRONOME_BUF_H
#define METRONOME_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
    char *p;    /* owned; NULL until the first append */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
    size_t max; /* hard cap on len; 0 means SIZE_MAX/2 */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* Empties the buffer, keeping its memory. */
static inline void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}
/* Ensures room for n more bytes (plus the terminator). 0 or ERR_TOO_LARGE. */
int buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *data, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Removes the first n bytes, moving the rest to the front. */
void buf_consume(struct buf *b, size_t n);
/* Hands the memory to the caller (who frees it) and leaves b empty. */
char *buf_release(struct buf *b);

#endif
