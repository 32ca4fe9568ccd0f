/*
 * hash: FNV-1a, 64-bit. For hash tables keyed by strings and for folding a name into a
 * seed; not for anything an adversary chooses. Values are stable across versions and
 * platforms (seeds derived with it shape traces, which must stay byte-identical).
 */
#ifndef METRONOME_HASH_H
#define METRONOME_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH64_INIT 0xcbf29ce484222325ULL

/* Continues hash h over n bytes at p; start from HASH64_INIT. */
static inline uint64_t hash64_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}

static inline uint64_t hash64(const void *p, size_t n)
{
    return hash64_more(HASH64_INIT, p, n);
}

static inline uint64_t hash64_str(const char *s)
{
    uint64_t h = HASH64_INIT;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

#endif
