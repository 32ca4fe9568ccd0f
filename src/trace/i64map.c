#include "i64map.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

void i64map_init(struct i64map *m)
{
    memset(m, 0, sizeof *m);
}

void i64map_free(struct i64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t slot_of(int64_t key, size_t cap)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32 ^ h) & (cap - 1);
}

bool i64map_get(const struct i64map *m, int64_t key, uint32_t *val)
{
    if (!m->cap)
        return false;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->vals[i] == UINT32_MAX)
            return false;
        if (m->keys[i] == key) {
            *val = m->vals[i];
            return true;
        }
    }
}

static void grow(struct i64map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    int64_t *keys = xmalloc(ncap * sizeof *keys);
    uint32_t *vals = xmalloc(ncap * sizeof *vals);
    memset(vals, 0xFF, ncap * sizeof *vals);
    for (size_t j = 0; j < m->cap; j++) {
        if (m->vals[j] == UINT32_MAX)
            continue;
        size_t i = slot_of(m->keys[j], ncap);
        while (vals[i] != UINT32_MAX)
            i = (i + 1) & (ncap - 1);
        keys[i] = m->keys[j];
        vals[i] = m->vals[j];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = ncap;
}

bool i64map_put(struct i64map *m, int64_t key, uint32_t val)
{
    if ((m->count + 1) * 4 > m->cap * 3)
        grow(m);
    size_t i = slot_of(key, m->cap);
    for (; m->vals[i] != UINT32_MAX; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == key)
            return false;
    m->keys[i] = key;
    m->vals[i] = val;
    m->count++;
    return true;
}
