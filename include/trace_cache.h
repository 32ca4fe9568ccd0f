/*
 * trace_cache: a trace's requests parsed once and kept, for replay to hand out again
 * without reading, decompressing and scanning each line every time (a closed-loop run
 * cycles a short trace tens of times a second; the line reader was about a quarter of
 * the client's instructions per request). Bounded: past `max` bytes the cache gives up
 * (frees what it held) and the caller reads the file as before, so memory never depends
 * on the trace's length beyond that cap.
 *
 * Owns copies of every string (session, model, body); the views tcache_get hands out stay
 * valid until tcache_free. Not thread-safe (replay's scheduler thread alone reads it).
 */
#ifndef METRONOME_TRACE_CACHE_H
#define METRONOME_TRACE_CACHE_H

#include "buf.h"
#include "trace.h"

#include <stdbool.h>
#include <stddef.h>

struct tc_entry;

struct trace_cache {
    struct buf bytes;   /* the strings, each NUL-terminated */
    struct tc_entry *v; /* owned */
    size_t n, cap;
    size_t max; /* bytes of strings and entries together (the allocations, which
                 * double as they grow, may hold up to twice that) */
    bool over;  /* went past max: empty for good */
};

/* Empty, taking at most max bytes (strings plus the per-request entries). */
void tcache_init(struct trace_cache *c, size_t max);
/* Copies q in (its body as given: expanded, or not). False once the cap is passed (then
 * and from then on the cache is empty and its memory freed). */
bool tcache_add(struct trace_cache *c, const struct trace_request *q);
/* The i-th request added, i < c->n: views into the cache. */
void tcache_get(const struct trace_cache *c, size_t i, struct trace_request *out);
void tcache_free(struct trace_cache *c);

#endif
