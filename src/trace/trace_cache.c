#include "trace_cache.h"

#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* One request: its fields with the strings as offsets into c->bytes (which moves as it
 * grows). */
struct tc_entry {
    struct trace_request q; /* session, model and body are NULL here */
    size_t session, model, body;
    bool has_model;
};

void tcache_init(struct trace_cache *c, size_t max)
{
    memset(c, 0, sizeof *c);
    buf_init(&c->bytes, 0);
    c->max = max;
}

void tcache_free(struct trace_cache *c)
{
    buf_free(&c->bytes);
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}

static bool give_up(struct trace_cache *c)
{
    tcache_free(c);
    c->over = true;
    return false;
}

/* Appends s[0..n) and a NUL; its offset in *off. */
static bool put(struct trace_cache *c, const char *s, size_t n, size_t *off)
{
    *off = c->bytes.len;
    return buf_append(&c->bytes, s, n) == 0 && buf_append(&c->bytes, "", 1) == 0;
}

bool tcache_add(struct trace_cache *c, const struct trace_request *q)
{
    if (c->over)
        return false;
    const char *session = q->session ? q->session : "";
    size_t slen = strlen(session), mlen = q->model ? strlen(q->model) : 0;
    size_t need = slen + mlen + q->body_len + 3 + sizeof(struct tc_entry);
    size_t held = c->bytes.len + c->n * sizeof(struct tc_entry);
    if (need > c->max || held > c->max - need)
        return give_up(c);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    struct tc_entry *e = &c->v[c->n];
    e->q = *q;
    e->q.session = e->q.model = e->q.body = NULL;
    e->has_model = q->model != NULL;
    if (!put(c, session, slen, &e->session) || !put(c, q->model ? q->model : "", mlen, &e->model) ||
        !put(c, q->body ? q->body : "", q->body_len, &e->body))
        return give_up(c);
    c->n++;
    return true;
}

void tcache_get(const struct trace_cache *c, size_t i, struct trace_request *out)
{
    const struct tc_entry *e = &c->v[i];
    *out = e->q;
    out->session = c->bytes.p + e->session;
    out->model = e->has_model ? c->bytes.p + e->model : NULL;
    out->body = c->bytes.p + e->body;
}
