/*
 * xalloc: the one allocation wrapper. Every heap allocation in metronome goes through
 * these; on failure they print the requested size and abort, so callers never check for
 * NULL. Memory returned is owned by the caller and released with free().
 * Thread-safe (thin wrappers over the C library).
 */
#ifndef METRONOME_XALLOC_H
#define METRONOME_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
/* Resizes p (which may be NULL); after the call the old pointer is invalid. */
void *xrealloc(void *p, size_t n);
/* A NUL-terminated copy of s, or of the first n bytes of s for xstrndup. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
