#include "record.h"

#include "err.h"
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
    r->first_chunk_tokens = -1;
    r->error_code = -1;
    r->conn = -1;
    r->phase = PHASE_PROFILE;
    r->chunks.max = r->rchunks.max = 1u << 22;
}

void rec_free(struct rec *r)
{
    rec_free_results(r);
    free(r->conv);
    free(r->model);
    r->conv = r->model = NULL;
}

void rec_free_results(struct rec *r)
{
    free(r->chunks.v);
    free(r->rchunks.v);
    free(r->error_msg);
    free(r->text);
    free(r->rtext);
    if (r->http) {
        free(r->http->req_h);
        free(r->http->resp_h);
        free(r->http->tx.v);
        free(r->http->rx.v);
        free(r->http->payload);
        free(r->http->ev.v);
        buf_free(&r->http->evs);
        free(r->http);
        r->http = NULL;
    }
    r->error_msg = r->text = r->rtext = NULL;
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
 * they are written straight into the output buffer through a cursor: room for the fixed
 * part is reserved once (REC_FIXED_MAX covers every key and number), strings and chunk
 * lists reserve their own (exact for strings, a batch at a time for chunks), numbers go
 * through a printf-free itoa that writes its digits in place. No call per field into the
 * buffer layer, no staging copy. */

/* Every key, punctuation and number outside the strings and the chunk lists: about 40
 * keys (< 600 bytes) and 30 numbers of at most 20 characters each. */
#define REC_FIXED_MAX 1536
/* Each chunk: "[" + two numbers + "," + "]" + ","; a batch reserves this many at once. */
#define REC_CHUNK_MAX   48
#define REC_CHUNK_BATCH 256

struct rw {
    struct buf *b;
    char *p; /* the cursor: b->p + the bytes written so far; room is reserved ahead */
    int err;
};

/* Makes room for n more bytes at the cursor (the buffer may move). False on error (the
 * cursor is left where it was; the caller stops writing). */
static bool rw_room(struct rw *w, size_t n)
{
    if (w->err)
        return false;
    size_t at = (size_t)(w->p - w->b->p);
    if (at + n + 1 <= w->b->cap && n <= w->b->max - at)
        return true;
    w->b->len = at;
    w->err = buf_reserve(w->b, n);
    w->p = w->b->p + at;
    return !w->err;
}

static inline void rw_lit(struct rw *w, const char *s, size_t n)
{
    memcpy(w->p, s, n);
    w->p += n;
}
#define LIT(w, s) rw_lit((w), (s), sizeof(s) - 1)

/* "00" .. "99": two digits per division (a record holds ~25 numbers of 7-10 digits). */
static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930"
    "31323334353637383940414243444546474849505152535455565758596061"
    "62636465666768697071727374757677787980818283848586878889909192"
    "93949596979899";

static inline unsigned ndigits(uint64_t u)
{
    unsigned n = 1;
    for (;;) {
        if (u < 10)
            return n;
        if (u < 100)
            return n + 1;
        if (u < 1000)
            return n + 2;
        if (u < 10000)
            return n + 3;
        u /= 10000;
        n += 4;
    }
}

/* printf's %lld, written in place (at most 20 bytes: room is the caller's). */
static void rw_int(struct rw *w, int64_t v)
{
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (v < 0)
        *w->p++ = '-';
    unsigned n = ndigits(u);
    char *q = w->p + n;
    w->p = q;
    while (u >= 100) {
        unsigned d = (unsigned)(u % 100) * 2;
        u /= 100;
        q -= 2;
        memcpy(q, digit_pairs + d, 2);
    }
    if (u >= 10)
        memcpy(q - 2, digit_pairs + u * 2, 2);
    else
        q[-1] = (char)('0' + u);
}

/* The 8 bytes at s hold a quote, a backslash or a control character (SWAR, as jscan's
 * string scan: a byte b has (b - k) & ~b & 0x80 set when b == k or b < k). */
static inline bool special8(const char *s)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t x;
    memcpy(&x, s, 8);
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    return ((((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x)) & high) != 0;
}

static inline bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* The string as json_escape writes it (quotes, \" \\ \n \r \t, \u00XX for the other
 * control characters, every other byte as it is). */
static void rw_str(struct rw *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s), i = 0;
    while (i + 8 <= n && !special8(s + i))
        i += 8;
    while (i < n && !needs_escape((unsigned char)s[i]))
        i++;
    if (i == n) { /* nothing to escape: the usual case, one copy */
        if (!rw_room(w, n + 2))
            return;
        *w->p++ = '"';
        memcpy(w->p, s, n);
        w->p += n;
        *w->p++ = '"';
        return;
    }
    size_t extra = 0; /* the escaped length, exactly, so a long text reserves no more */
    for (size_t k = i; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t')
            extra += 1;
        else if (c < 0x20)
            extra += 5;
    }
    if (!rw_room(w, n + extra + 2))
        return;
    char *p = w->p;
    *p++ = '"';
    memcpy(p, s, i);
    p += i;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!needs_escape(c)) {
            *p++ = (char)c;
            continue;
        }
        *p++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *p++ = (char)c;
            break;
        case '\n':
            *p++ = 'n';
            break;
        case '\r':
            *p++ = 'r';
            break;
        case '\t':
            *p++ = 't';
            break;
        default:
            memcpy(p, "u00", 3);
            p[3] = hex[c >> 4];
            p[4] = hex[c & 15];
            p += 5;
        }
    }
    *p++ = '"';
    w->p = p;
}

static void rw_bool(struct rw *w, bool v)
{
    if (v)
        LIT(w, "true");
    else
        LIT(w, "false");
}

/* ,"KEY":T  for a time that was taken (0 means never) */
static inline void rw_time(struct rw *w, const char *key, size_t klen, int64_t t, int64_t anchor)
{
    if (!t)
        return;
    rw_lit(w, key, klen);
    rw_int(w, t - anchor);
}
#define TIME(w, k, t, a) rw_time((w), (k), sizeof(k) - 1, (t), (a))

/* Leaves REC_FIXED_MAX bytes of room after it, for the fixed fields that follow. */
static void rw_chunks(struct rw *w, const struct rec_chunks *c, int64_t anchor)
{
    LIT(w, "[");
    for (uint32_t i = 0; i < c->n; i++) {
        if (i % REC_CHUNK_BATCH == 0 &&
            !rw_room(w, (size_t)REC_CHUNK_BATCH * REC_CHUNK_MAX + REC_FIXED_MAX))
            return;
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

/* Room for the fixed fields is kept at REC_FIXED_MAX ahead of the cursor: every variable
 * part (strings, chunks) reserves its own bytes plus REC_FIXED_MAX again. */
static void rw_strf(struct rw *w, const char *s)
{
    rw_str(w, s);
    rw_room(w, REC_FIXED_MAX);
}

/* [["name","value"],...] from n "name\0value\0" pairs. */
static void rw_pairs(struct rw *w, const char *p, uint32_t n)
{
    LIT(w, "[");
    for (uint32_t i = 0; i < n && !w->err; i++) {
        if (i)
            LIT(w, ",");
        LIT(w, "[");
        rw_strf(w, p);
        p += strlen(p) + 1;
        LIT(w, ",");
        rw_strf(w, p);
        p += strlen(p) + 1;
        LIT(w, "]");
    }
    LIT(w, "]");
}

/* ,"http":{...} for --record-http (docs/records-format.md). */
static void rw_http(struct rw *w, const struct rec_http *h, int64_t anchor)
{
    LIT(w, ",\"http\":{\"head_sent\":");
    if (h->t_head_sent)
        rw_int(w, h->t_head_sent - anchor);
    else
        LIT(w, "null");
    LIT(w, ",\"tx\":");
    rw_chunks(w, &h->tx, anchor);
    LIT(w, ",\"rx\":");
    rw_chunks(w, &h->rx, anchor);
    if (h->tx.dropped + h->rx.dropped) {
        LIT(w, ",\"dropped\":");
        rw_int(w, (int64_t)h->tx.dropped + h->rx.dropped);
    }
    LIT(w, ",\"req_headers\":");
    rw_pairs(w, h->req_h, h->nreq_h);
    LIT(w, ",\"resp_headers\":");
    rw_pairs(w, h->resp_h, h->nresp_h);
    LIT(w, ",\"reason\":");
    rw_strf(w, h->reason);
    LIT(w, ",\"local\":");
    rw_strf(w, h->local);
    LIT(w, ",\"local_port\":");
    rw_int(w, h->local_port);
    LIT(w, ",\"remote\":");
    rw_strf(w, h->remote);
    LIT(w, ",\"remote_port\":");
    rw_int(w, h->remote_port);
    if (h->payload) { /* --record-responses */
        LIT(w, ",\"payload\":");
        rw_strf(w, h->payload); /* a body with a NUL in it is cut there */
        LIT(w, ",\"resp\":[");
        const char *p = h->evs.p;
        for (uint32_t i = 0; i < h->ev.n && !w->err; i++) {
            if (i)
                LIT(w, ",");
            LIT(w, "[");
            rw_int(w, h->ev.v[i].t - anchor);
            LIT(w, ",");
            rw_strf(w, p);
            p += strlen(p) + 1;
            LIT(w, ",");
            rw_strf(w, p);
            p += strlen(p) + 1;
            LIT(w, "]");
        }
        LIT(w, "]");
        if (h->ev_dropped) {
            LIT(w, ",\"resp_dropped\":");
            rw_int(w, h->ev_dropped);
        }
    }
    LIT(w, "}");
}

int rec_write_json(struct buf *out, const struct rec *r, int64_t anchor)
{
    struct rw w = {.b = out};
    size_t start = out->len;
    if (buf_reserve(out, REC_FIXED_MAX))
        return ERR_TOO_LARGE;
    w.p = out->p + out->len;
    LIT(&w, "{\"i\":");
    rw_int(&w, r->index);
    LIT(&w, ",\"conv\":");
    rw_strf(&w, r->conv ? r->conv : "");
    if (w.err)
        goto out;
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
        rw_strf(&w, r->model);
        if (w.err)
            goto out;
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
    if (w.err)
        goto out;
    if (r->rchunks.n) {
        LIT(&w, ",\"rchunks\":");
        rw_chunks(&w, &r->rchunks, anchor);
        if (w.err)
            goto out;
    }
    if (r->chunks.dropped + r->rchunks.dropped) {
        LIT(&w, ",\"chunks_dropped\":");
        rw_int(&w, (int64_t)r->chunks.dropped + r->rchunks.dropped);
    }
    if (r->first_chunk_tokens >= 0) {
        LIT(&w, ",\"first_chunk_tokens\":");
        rw_int(&w, r->first_chunk_tokens);
    }
    if (r->has_usage) {
        LIT(&w, ",\"usage\":{");
        bool first = true;
        static const char *const ukeys[3] = {
            "\"prompt_tokens\":", "\"completion_tokens\":", "\"reasoning_tokens\":"};
        static const size_t ulens[3] = {sizeof "\"prompt_tokens\":" - 1,
                                        sizeof "\"completion_tokens\":" - 1,
                                        sizeof "\"reasoning_tokens\":" - 1};
        long vals[3] = {r->prompt_tokens, r->completion_tokens, r->reasoning_tokens};
        for (int i = 0; i < 3; i++) {
            if (vals[i] < 0)
                continue;
            if (!first)
                LIT(&w, ",");
            first = false;
            rw_lit(&w, ukeys[i], ulens[i]);
            rw_int(&w, vals[i]);
        }
        LIT(&w, "}");
    }
    if (r->finish[0]) {
        LIT(&w, ",\"finish\":");
        rw_strf(&w, r->finish);
        if (w.err)
            goto out;
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
        rw_strf(&w, rec_error_name(r->error));
        if (w.err)
            goto out;
        LIT(&w, ",\"message\":");
        rw_strf(&w, r->error_msg ? r->error_msg : "");
        if (w.err)
            goto out;
        LIT(&w, "}");
    }
    LIT(&w, ",\"cancelled\":");
    rw_bool(&w, r->cancelled);
    if (r->text) { /* --record-text */
        LIT(&w, ",\"text\":");
        rw_strf(&w, r->text);
        if (w.err)
            goto out;
        LIT(&w, ",\"reasoning_text\":");
        rw_strf(&w, r->rtext ? r->rtext : "");
        if (w.err)
            goto out;
    }
    if (r->http) {
        rw_http(&w, r->http, anchor);
        if (w.err)
            goto out;
    }
    LIT(&w, "}\n");
    out->len = (size_t)(w.p - out->p);
    out->p[out->len] = '\0';
    return 0;
out:
    /* A record that did not fit leaves nothing of itself behind. */
    out->len = start;
    if (out->p)
        out->p[start] = '\0';
    return w.err;
}
