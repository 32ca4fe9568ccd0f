/*
 * i64map: an open-addressing hash map from int64 keys to uint32 values (indexes into a
 * caller's array). Used for hash-block tables, where a trace may hold ~10^5 ids. The map
 * owns its slots; not thread-safe.
 */
#ifndef METRONOME_I64MAP_H
#define METRONOME_I64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct i64map {
    int64_t *keys;
    uint32_t *vals; /* UINT32_MAX marks an empty slot */
    size_t cap;     /* power of two */
    size_t count;
};

void i64map_init(struct i64map *m);
void i64map_free(struct i64map *m);
/* Finds key; true with *val set when present. */
bool i64map_get(const struct i64map *m, int64_t key, uint32_t *val);
/* Inserts key -> val (val != UINT32_MAX); an existing key keeps its value and returns
 * false. */
bool i64map_put(struct i64map *m, int64_t key, uint32_t val);

#endif
