#include "record.h"

#include "jsonw.h"
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
    [RECERR_NONE] = "",
    [RECERR_HTTP] = "http",
    [RECERR_CONNECT] = "connect",
    [RECERR_TLS] = "tls",
    [RECERR_TIMEOUT_CONNECT] = "timeout_connect",
    [RECERR_TIMEOUT_FIRST_BYTE] = "timeout_first_byte",
    [RECERR_TIMEOUT_IDLE] = "timeout_idle",
    [RECERR_TIMEOUT_TOTAL] = "timeout_total",
    [RECERR_PROTOCOL] = "protocol",
    [RECERR_CLOSED] = "closed",
    [RECERR_CANCELLED] = "cancelled",
    [RECERR_NOT_SENT] = "not_sent",
};

const char *rec_error_name(enum rec_error e)
{
    return names[e];
}

void rec_init(struct rec *r)
{
    memset(r, 0, sizeof *r);
    r->isl = r->osl_req = -1;
    r->prompt_tokens = r->completion_tokens = r->reasoning_tokens = -1;
    r->error_code = -1;
    r->conn = -1;
    r->phase = PHASE_PROFILE;
    r->chunks.max = r->rchunks.max = 1u << 22;
}

void rec_free(struct rec *r)
{
    free(r->conv);
    free(r->model);
    free(r->chunks.v);
    free(r->rchunks.v);
    r->conv = r->model = NULL;
    r->chunks.v = r->rchunks.v = NULL;
}

void rec_chunks_add(struct rec_chunks *c, int64_t t, int32_t tokens)
{
    if (c->n == c->cap) {
        if (c->n >= c->max) {
            c->dropped++;
            return;
        }
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n].t = t;
    c->v[c->n].tokens = tokens;
    c->n++;
}

void rec_set_error(struct rec *r, enum rec_error e, int code, const char *fmt, ...)
{
    if (r->error != RECERR_NONE)
        return;
    r->error = e;
    r->error_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error_msg, sizeof r->error_msg, fmt, ap);
    va_end(ap);
}

/* Integers without printf: records are written once per request on the hot path. */
static void jint(struct jsonw *w, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    jsonw_raw(w, p, (size_t)(tmp + sizeof tmp - p));
}

static void key_time(struct jsonw *w, const char *k, int64_t t, int64_t anchor)
{
    if (t) {
        jsonw_key(w, k);
        jint(w, t - anchor);
    }
}

static void chunks(struct jsonw *w, const char *k, const struct rec_chunks *c, int64_t anchor)
{
    jsonw_key(w, k);
    jsonw_arr_begin(w);
    for (uint32_t i = 0; i < c->n; i++) {
        jsonw_arr_begin(w);
        jint(w, c->v[i].t - anchor);
        jint(w, c->v[i].tokens);
        jsonw_arr_end(w);
    }
    jsonw_arr_end(w);
}

int rec_write_json(struct buf *out, const struct rec *r, int64_t anchor)
{
    struct jsonw w;
    jsonw_init(&w, out);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "i");
    jint(&w, r->index);
    jsonw_key(&w, "conv");
    jsonw_str(&w, r->conv ? r->conv : "");
    jsonw_key(&w, "turn");
    jint(&w, r->turn);
    jsonw_key(&w, "phase");
    jsonw_str(&w, r->phase == PHASE_WARMUP ? "warmup" : "profile");
    jsonw_key(&w, "worker");
    jint(&w, r->worker);
    if (r->conn >= 0) {
        jsonw_key(&w, "conn");
        jint(&w, r->conn);
        jsonw_key(&w, "reused");
        jsonw_bool(&w, r->reused);
    }
    jsonw_key(&w, "url");
    jint(&w, r->url);
    if (r->model) {
        jsonw_key(&w, "model");
        jsonw_str(&w, r->model);
    }
    jsonw_key(&w, "stream");
    jsonw_bool(&w, r->stream);
    if (r->isl >= 0) {
        jsonw_key(&w, "isl");
        jint(&w, r->isl);
    }
    if (r->osl_req >= 0) {
        jsonw_key(&w, "osl_req");
        jint(&w, r->osl_req);
    }
    if (r->preconnect_ns) {
        jsonw_key(&w, "preconnect_ns");
        jint(&w, r->preconnect_ns);
    }
    key_time(&w, "t_intended", r->t_intended, anchor);
    key_time(&w, "t_dispatch", r->t_dispatch, anchor);
    key_time(&w, "t_start", r->t_start, anchor);
    key_time(&w, "t_connected", r->t_connected, anchor);
    key_time(&w, "t_tls", r->t_tls, anchor);
    key_time(&w, "t_sent", r->t_sent, anchor);
    key_time(&w, "t_head", r->t_head, anchor);
    key_time(&w, "t_first", r->t_first, anchor);
    key_time(&w, "t_last", r->t_last, anchor);
    key_time(&w, "t_end", r->t_end, anchor);
    jsonw_key(&w, "status");
    jint(&w, r->status);
    chunks(&w, "chunks", &r->chunks, anchor);
    if (r->rchunks.n)
        chunks(&w, "rchunks", &r->rchunks, anchor);
    if (r->chunks.dropped + r->rchunks.dropped) {
        jsonw_key(&w, "chunks_dropped");
        jint(&w, r->chunks.dropped + r->rchunks.dropped);
    }
    if (r->has_usage) {
        jsonw_key(&w, "usage");
        jsonw_obj_begin(&w);
        if (r->prompt_tokens >= 0) {
            jsonw_key(&w, "prompt_tokens");
            jint(&w, r->prompt_tokens);
        }
        if (r->completion_tokens >= 0) {
            jsonw_key(&w, "completion_tokens");
            jint(&w, r->completion_tokens);
        }
        if (r->reasoning_tokens >= 0) {
            jsonw_key(&w, "reasoning_tokens");
            jint(&w, r->reasoning_tokens);
        }
        jsonw_obj_end(&w);
    }
    if (r->finish[0]) {
        jsonw_key(&w, "finish");
        jsonw_str(&w, r->finish);
    }
    jsonw_key(&w, "bad_chunks");
    jint(&w, r->bad_chunks);
    if (r->error != RECERR_NONE) {
        jsonw_key(&w, "error");
        jsonw_obj_begin(&w);
        jsonw_key(&w, "code");
        if (r->error_code >= 0)
            jint(&w, r->error_code);
        else
            jsonw_null(&w);
        jsonw_key(&w, "type");
        jsonw_str(&w, rec_error_name(r->error));
        jsonw_key(&w, "message");
        jsonw_str(&w, r->error_msg);
        jsonw_obj_end(&w);
    }
    jsonw_key(&w, "cancelled");
    jsonw_bool(&w, r->cancelled);
    jsonw_obj_end(&w);
    buf_putc(out, '\n');
    return w.err;
}
