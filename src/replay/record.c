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
    free(r->error_msg);
    free(r->text);
    free(r->rtext);
    r->conv = r->model = r->error_msg = r->text = r->rtext = NULL;
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

void rec_chunks_reserve(struct rec_chunks *c, uint32_t n)
{
    if (c->cap || !n)
        return;
    if (n > 65536)
        n = 65536;
    if (n > c->max)
        n = c->max;
    c->v = xmalloc(n * sizeof *c->v);
    c->cap = n;
}

void rec_set_error(struct rec *r, enum rec_error e, int code, const char *fmt, ...)
{
    if (r->error != RECERR_NONE)
        return;
    r->error = e;
    r->error_code = code;
    char msg[REC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
    r->error_msg = xmalloc(len + 1);
    memcpy(r->error_msg, msg, len);
    r->error_msg[len] = '\0';
}

/* The record writer: records are written once per request on the worker's hot path, so
 * the fixed parts go through a stack buffer with memcpy and a printf-free itoa, and only
 * the strings that need escaping go through json_escape. */
struct rw {
    struct buf *b;
    size_t n;
    char t[1024];
    int err;
};

static void rw_flush(struct rw *w)
{
    if (w->n && !w->err)
        w->err = buf_append(w->b, w->t, w->n);
    w->n = 0;
}

static void rw_lit(struct rw *w, const char *s, size_t n)
{
    if (w->n + n > sizeof w->t)
        rw_flush(w);
    memcpy(w->t + w->n, s, n);
    w->n += n;
}
#define LIT(w, s) rw_lit((w), (s), sizeof(s) - 1)

/* "00" .. "99": two digits per division (a record holds ~25 numbers of 7-10 digits). */
static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930"
    "31323334353637383940414243444546474849505152535455565758596061"
    "62636465666768697071727374757677787980818283848586878889909192"
    "93949596979899";

static void rw_int(struct rw *w, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    while (u >= 100) {
        unsigned d = (unsigned)(u % 100) * 2;
        u /= 100;
        p -= 2;
        memcpy(p, digit_pairs + d, 2);
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, digit_pairs + u * 2, 2);
    } else {
        *--p = (char)('0' + u);
    }
    if (v < 0)
        *--p = '-';
    rw_lit(w, p, (size_t)(tmp + sizeof tmp - p));
}

static void rw_str(struct rw *w, const char *s)
{
    rw_flush(w);
    if (!w->err)
        w->err = json_escape(w->b, s, strlen(s));
}

static void rw_bool(struct rw *w, bool v)
{
    if (v)
        LIT(w, "true");
    else
        LIT(w, "false");
}

/* ,"KEY":T  for a time that was taken (0 means never) */
static void rw_time(struct rw *w, const char *key, size_t klen, int64_t t, int64_t anchor)
{
    if (!t)
        return;
    rw_lit(w, key, klen);
    rw_int(w, t - anchor);
}
#define TIME(w, k, t, a) rw_time((w), (k), sizeof(k) - 1, (t), (a))

static void rw_chunks(struct rw *w, const struct rec_chunks *c, int64_t anchor)
{
    LIT(w, "[");
    for (uint32_t i = 0; i < c->n; i++) {
        if (i)
            LIT(w, ",");
        LIT(w, "[");
        rw_int(w, c->v[i].t - anchor);
        LIT(w, ",");
        rw_int(w, c->v[i].tokens);
        LIT(w, "]");
    }
    LIT(w, "]");
}

int rec_write_json(struct buf *out, const struct rec *r, int64_t anchor)
{
    struct rw w = {.b = out};
    LIT(&w, "{\"i\":");
    rw_int(&w, r->index);
    LIT(&w, ",\"conv\":");
    rw_str(&w, r->conv ? r->conv : "");
    LIT(&w, ",\"turn\":");
    rw_int(&w, r->turn);
    if (r->phase == PHASE_WARMUP)
        LIT(&w, ",\"phase\":\"warmup\",\"worker\":");
    else
        LIT(&w, ",\"phase\":\"profile\",\"worker\":");
    rw_int(&w, r->worker);
    if (r->conn >= 0) {
        LIT(&w, ",\"conn\":");
        rw_int(&w, r->conn);
        LIT(&w, ",\"reused\":");
        rw_bool(&w, r->reused);
    }
    LIT(&w, ",\"url\":");
    rw_int(&w, r->url);
    if (r->model) {
        LIT(&w, ",\"model\":");
        rw_str(&w, r->model);
    }
    LIT(&w, ",\"stream\":");
    rw_bool(&w, r->stream);
    if (r->isl >= 0) {
        LIT(&w, ",\"isl\":");
        rw_int(&w, r->isl);
    }
    if (r->osl_req >= 0) {
        LIT(&w, ",\"osl_req\":");
        rw_int(&w, r->osl_req);
    }
    if (r->preconnect_ns) {
        LIT(&w, ",\"preconnect_ns\":");
        rw_int(&w, r->preconnect_ns);
    }
    TIME(&w, ",\"t_intended\":", r->t_intended, anchor);
    TIME(&w, ",\"t_dispatch\":", r->t_dispatch, anchor);
    TIME(&w, ",\"t_start\":", r->t_start, anchor);
    TIME(&w, ",\"t_connected\":", r->t_connected, anchor);
    TIME(&w, ",\"t_tls\":", r->t_tls, anchor);
    TIME(&w, ",\"t_sent\":", r->t_sent, anchor);
    TIME(&w, ",\"t_head\":", r->t_head, anchor);
    TIME(&w, ",\"t_first\":", r->t_first, anchor);
    TIME(&w, ",\"t_last\":", r->t_last, anchor);
    TIME(&w, ",\"t_end\":", r->t_end, anchor);
    LIT(&w, ",\"status\":");
    rw_int(&w, r->status);
    LIT(&w, ",\"chunks\":");
    rw_chunks(&w, &r->chunks, anchor);
    if (r->rchunks.n) {
        LIT(&w, ",\"rchunks\":");
        rw_chunks(&w, &r->rchunks, anchor);
    }
    if (r->chunks.dropped + r->rchunks.dropped) {
        LIT(&w, ",\"chunks_dropped\":");
        rw_int(&w, (int64_t)r->chunks.dropped + r->rchunks.dropped);
    }
    if (r->has_usage) {
        LIT(&w, ",\"usage\":{");
        bool first = true;
        const char *ukeys[3] = {
            "\"prompt_tokens\":", "\"completion_tokens\":", "\"reasoning_tokens\":"};
        long vals[3] = {r->prompt_tokens, r->completion_tokens, r->reasoning_tokens};
        for (int i = 0; i < 3; i++) {
            if (vals[i] < 0)
                continue;
            if (!first)
                LIT(&w, ",");
            first = false;
            rw_lit(&w, ukeys[i], strlen(ukeys[i]));
            rw_int(&w, vals[i]);
        }
        LIT(&w, "}");
    }
    if (r->finish[0]) {
        LIT(&w, ",\"finish\":");
        rw_str(&w, r->finish);
    }
    LIT(&w, ",\"bad_chunks\":");
    rw_int(&w, r->bad_chunks);
    if (r->tx_writes || r->t_sent) { /* sent, if with an empty body */
        LIT(&w, ",\"tx_bytes\":");
        rw_int(&w, (int64_t)r->tx_bytes);
        LIT(&w, ",\"tx_writes\":");
        rw_int(&w, r->tx_writes);
        LIT(&w, ",\"rx_bytes\":");
        rw_int(&w, (int64_t)r->rx_bytes);
        LIT(&w, ",\"rx_reads\":");
        rw_int(&w, r->rx_reads);
    }
    if (r->error != RECERR_NONE) {
        LIT(&w, ",\"error\":{\"code\":");
        if (r->error_code >= 0)
            rw_int(&w, r->error_code);
        else
            LIT(&w, "null");
        LIT(&w, ",\"type\":");
        rw_str(&w, rec_error_name(r->error));
        LIT(&w, ",\"message\":");
        rw_str(&w, r->error_msg ? r->error_msg : "");
        LIT(&w, "}");
    }
    LIT(&w, ",\"cancelled\":");
    rw_bool(&w, r->cancelled);
    if (r->text) { /* --record-text */
        LIT(&w, ",\"text\":");
        rw_str(&w, r->text);
        LIT(&w, ",\"reasoning_text\":");
        rw_str(&w, r->rtext ? r->rtext : "");
    }
    LIT(&w, "}\n");
    rw_flush(&w);
    return w.err;
}
