#include "trace.h"

#include "buf.h"
#include "i64map.h"
#include "jscan.h"
#include "jsonw.h"
#include "xalloc.h"
#include "zio.h"

#include <stdlib.h>
#include <string.h>

/* Lines hold whole pieces of source text (up to the corpus size) and request bodies. */
#define TRACE_MAX_LINE (1u << 30)

struct piece {
    uint32_t off; /* corpus offset of the piece's first byte */
    uint32_t len; /* bytes */
    size_t pos;   /* into r->text */
    bool plain;   /* no byte needs escaping in a JSON string: slices copy as they are */
};

struct bpart {
    bool lit;     /* escaped JSON string bytes in r->lits, else a corpus slice */
    uint32_t off; /* corpus offset, or offset into r->lits */
    uint32_t len;
};

struct bdef {
    long tokens;
    size_t part0, nparts;
};

struct trace_reader {
    struct zreader *zr;
    char *path;
    struct trace_header hdr;
    struct buf hjson; /* header line copy */
    struct buf htype, hpath, htok, htoksha;

    struct buf text; /* decoded piece text */
    struct piece *pieces;
    size_t npieces, pieces_cap;
    bool pieces_sorted;

    struct i64map bmap;
    struct bdef *bdefs;
    size_t nbdefs, bdefs_cap;
    struct bpart *bparts;
    size_t nbparts, bparts_cap;
    struct buf lits;

    const char *pending; /* a request line read ahead by trace_open */
    size_t pending_len;
    bool expand;
    long index;
    struct buf body, session, model, tmp;
};

static int line_err(struct trace_reader *r, struct diag *d, int code, const char *fmt,
                    const char *a)
{
    return diag_at(d, code, r->path, zr_lineno(r->zr), fmt, a);
}

static int json_err(struct trace_reader *r, struct diag *d, const struct jiter *it)
{
    return diag_at(d, ERR_PARSE, r->path, zr_lineno(r->zr), "malformed JSON at byte %zu: %s",
                   it->err_off + 1, it->err ? it->err : "bad value");
}

/* Finds the piece holding corpus range [off, off+len); NULL if none does. */
static const struct piece *find_piece(const struct trace_reader *r, uint32_t off, uint32_t len)
{
    size_t lo = 0, hi = r->npieces;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->pieces[mid].off <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct piece *p = &r->pieces[lo - 1];
    if ((uint64_t)off + len > (uint64_t)p->off + p->len)
        return NULL;
    return p;
}

/* A slice [off, len] value. */
static int slice_of(const struct jval *v, uint32_t *off, uint32_t *len)
{
    struct jiter it;
    struct jval a, b, c;
    int64_t x, y;
    if (jscan_enter(&it, v) || jscan_elem(&it, &a) != 1 || jscan_elem(&it, &b) != 1 ||
        jscan_elem(&it, &c) != 0 || jval_int(&a, &x) || jval_int(&b, &y) || x < 0 || y < 0 ||
        x > UINT32_MAX || y > UINT32_MAX)
        return ERR_INVALID;
    *off = (uint32_t)x;
    *len = (uint32_t)y;
    return 0;
}

static int add_piece(struct trace_reader *r, int64_t off, const struct jval *text, struct diag *d)
{
    if (off < 0 || off > UINT32_MAX || text->type != JT_STRING)
        return line_err(r, d, ERR_INVALID, "piece: %s", "needs an offset and a text string");
    if (r->npieces == r->pieces_cap) {
        r->pieces_cap = r->pieces_cap ? r->pieces_cap * 2 : 16;
        r->pieces = xrealloc(r->pieces, r->pieces_cap * sizeof *r->pieces);
    }
    size_t pos = r->text.len;
    if (jval_str(text, &r->text))
        return line_err(r, d, ERR_INVALID, "piece: %s", "bad string");
    struct piece *p = &r->pieces[r->npieces];
    p->off = (uint32_t)off;
    p->len = (uint32_t)(r->text.len - pos);
    p->pos = pos;
    p->plain = true;
    for (size_t i = pos; i < r->text.len; i++) {
        unsigned char c = (unsigned char)r->text.p[i];
        if (c < 0x20 || c == '"' || c == '\\') {
            p->plain = false;
            break;
        }
    }
    if (r->npieces &&
        r->pieces[r->npieces - 1].off + (uint64_t)r->pieces[r->npieces - 1].len > p->off)
        return line_err(r, d, ERR_INVALID, "piece: %s", "pieces must be in order and not overlap");
    r->npieces++;
    return 0;
}

static int add_block(struct trace_reader *r, int64_t id, int64_t tokens, const struct jval *text,
                     struct diag *d)
{
    struct jiter it;
    struct jval v;
    if (text->type != JT_ARRAY || jscan_enter(&it, text))
        return line_err(r, d, ERR_INVALID, "block: %s", "'text' must be an array of parts");
    if (r->nbdefs == r->bdefs_cap) {
        r->bdefs_cap = r->bdefs_cap ? r->bdefs_cap * 2 : 1024;
        r->bdefs = xrealloc(r->bdefs, r->bdefs_cap * sizeof *r->bdefs);
    }
    struct bdef *b = &r->bdefs[r->nbdefs];
    b->tokens = (long)tokens;
    b->part0 = r->nbparts;
    b->nparts = 0;
    int rc;
    while ((rc = jscan_elem(&it, &v)) == 1) {
        if (r->nbparts == r->bparts_cap) {
            r->bparts_cap = r->bparts_cap ? r->bparts_cap * 2 : 1024;
            r->bparts = xrealloc(r->bparts, r->bparts_cap * sizeof *r->bparts);
        }
        struct bpart *p = &r->bparts[r->nbparts];
        if (v.type == JT_STRING) {
            p->lit = true;
            p->off = (uint32_t)r->lits.len;
            p->len = (uint32_t)v.n;
            buf_append(&r->lits, v.p, v.n);
        } else if (v.type == JT_ARRAY && slice_of(&v, &p->off, &p->len) == 0) {
            p->lit = false;
            if (!find_piece(r, p->off, p->len))
                return line_err(r, d, ERR_INVALID, "block: %s",
                                "a slice lies outside the stored pieces");
        } else {
            return line_err(r, d, ERR_INVALID, "block: %s",
                            "parts must be strings or [offset, length] slices");
        }
        r->nbparts++;
        b->nparts++;
    }
    if (rc < 0)
        return json_err(r, d, &it);
    if (!i64map_put(&r->bmap, id, (uint32_t)r->nbdefs))
        return diag_at(d, ERR_INVALID, r->path, zr_lineno(r->zr), "block %lld defined twice",
                       (long long)id);
    r->nbdefs++;
    return 0;
}

static void put_slice(struct trace_reader *r, struct buf *out, uint32_t off, uint32_t len)
{
    const struct piece *p = find_piece(r, off, len);
    const char *s = r->text.p + p->pos + (off - p->off);
    if (p->plain) {
        buf_append(out, s, len);
        return;
    }
    /* json_escape adds quotes; splice without them. */
    size_t mark = out->len;
    json_escape(out, s, len);
    memmove(out->p + mark, out->p + mark + 1, out->len - mark - 2);
    out->len -= 2;
    out->p[out->len] = '\0';
}

/* Expands (or, with out NULL, only checks) one {"$text":[...]} object; counts blocks. */
static int expand_text(struct trace_reader *r, const struct jval *obj, struct buf *out,
                       long *blocks, struct diag *d)
{
    struct jiter it, arr;
    struct jval k, v, e;
    if (jscan_enter(&it, obj) || jscan_member(&it, &k, &v) != 1 || !jval_is(&k, "$text") ||
        v.type != JT_ARRAY || jscan_member(&it, &k, &e) != 0)
        return line_err(r, d, ERR_INVALID, "body: %s",
                        "a {\"$text\":[...]} reference must hold only its array");
    jscan_enter(&arr, &v);
    if (out)
        buf_putc(out, '"');
    int rc;
    while ((rc = jscan_elem(&arr, &e)) == 1) {
        if (e.type == JT_STRING) {
            if (out)
                buf_append(out, e.p, e.n); /* already escaped */
        } else if (e.type == JT_NUMBER) {
            int64_t id;
            uint32_t bi;
            if (jval_int(&e, &id) || !i64map_get(&r->bmap, id, &bi))
                return diag_at(d, ERR_INVALID, r->path, zr_lineno(r->zr),
                               "body: block %.*s is not defined", (int)e.n, e.p);
            (*blocks)++;
            const struct bdef *b = &r->bdefs[bi];
            for (size_t i = 0; out && i < b->nparts; i++) {
                const struct bpart *p = &r->bparts[b->part0 + i];
                if (p->lit)
                    buf_append(out, r->lits.p + p->off, p->len);
                else
                    put_slice(r, out, p->off, p->len);
            }
        } else if (e.type == JT_ARRAY) {
            uint32_t off, len;
            if (slice_of(&e, &off, &len) || !find_piece(r, off, len))
                return line_err(r, d, ERR_INVALID, "body: %s",
                                "a slice lies outside the stored pieces");
            if (out)
                put_slice(r, out, off, len);
        } else {
            return line_err(r, d, ERR_INVALID, "body: %s",
                            "$text parts must be strings, block ids or [offset, length] slices");
        }
    }
    if (rc < 0)
        return json_err(r, d, &arr);
    if (out)
        buf_putc(out, '"');
    return 0;
}

#define TEXT_MARK_LEN 9 /* strlen("{\"$text\":") */

/* Finds the next {"$text": mark. '$' is rare in bodies, so memchr for it beats a
 * general substring search. */
static const char *find_mark(const char *p, const char *end)
{
    while (p < end) {
        const char *q = memchr(p, '$', (size_t)(end - p));
        if (!q)
            return NULL;
        if (q - p >= 2 && q[-1] == '"' && q[-2] == '{' && end - q >= 7 && !memcmp(q, "$text\":", 7))
            return q - 2;
        p = q + 1;
    }
    return NULL;
}

static void put_block(struct trace_reader *r, struct buf *out, uint32_t bi)
{
    const struct bdef *b = &r->bdefs[bi];
    for (size_t i = 0; i < b->nparts; i++) {
        const struct bpart *p = &r->bparts[b->part0 + i];
        if (p->lit)
            buf_append(out, r->lits.p + p->off, p->len);
        else
            put_slice(r, out, p->off, p->len);
    }
}

/* Reads a non-negative integer of up to 18 digits at *pp (the compact form pack writes). */
static bool fast_uint(const char **pp, const char *end, uint64_t *v)
{
    const char *p = *pp;
    uint64_t x = 0;
    int n = 0;
    while (p < end && *p >= '0' && *p <= '9' && n < 18) {
        x = x * 10 + (uint64_t)(*p++ - '0');
        n++;
    }
    if (n == 0 || (p < end && *p >= '0' && *p <= '9'))
        return false;
    *pp = p;
    *v = x;
    return true;
}

/* The common, compact shape of a reference as pack writes it: {"$text":[N,[O,L],...]}
 * with block ids, slices and no string parts or whitespace. Returns the bytes used, or 0
 * to let the general path take it (which also produces the error messages). The line was
 * validated as JSON before this runs. */
static size_t fast_text(struct trace_reader *r, const char *m, const char *end, struct buf *out,
                        long *blocks)
{
    const char *p = m + TEXT_MARK_LEN;
    if (p >= end || *p != '[')
        return 0;
    p++;
    size_t mark = out ? out->len : 0;
    long nb = 0;
    if (out)
        buf_putc(out, '"');
    for (bool first = true;; first = false) {
        if (p < end && *p == ']' && first) {
            p++;
            break;
        }
        uint64_t a, b;
        bool neg = p < end && *p == '-';
        const char *q = p + neg;
        if (q < end && *q >= '0' && *q <= '9') {
            uint32_t bi;
            if (!fast_uint(&q, end, &a) ||
                !i64map_get(&r->bmap, neg ? -(int64_t)a : (int64_t)a, &bi))
                goto slow;
            nb++;
            if (out)
                put_block(r, out, bi);
        } else if (!neg && q < end && *q == '[') {
            q++;
            if (!fast_uint(&q, end, &a) || q >= end || *q != ',')
                goto slow;
            q++;
            if (!fast_uint(&q, end, &b) || q >= end || *q != ']' || a > UINT32_MAX ||
                b > UINT32_MAX || !find_piece(r, (uint32_t)a, (uint32_t)b))
                goto slow;
            q++;
            if (out)
                put_slice(r, out, (uint32_t)a, (uint32_t)b);
        } else {
            goto slow;
        }
        p = q;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == ']') {
            p++;
            break;
        }
        goto slow;
    }
    if (p >= end || *p != '}')
        goto slow;
    if (out)
        buf_putc(out, '"');
    *blocks += nb;
    return (size_t)(p + 1 - m);
slow:
    if (out)
        out->len = mark;
    return 0;
}

/* Copies the body, replacing every $text reference by its string. Inside JSON strings a
 * quote is always escaped, so the mark can only match real structure. */
static int build_body(struct trace_reader *r, const struct jval *body, long *blocks, struct diag *d)
{
    const char *p = body->p, *end = body->p + body->n;
    struct buf *out = r->expand ? &r->body : NULL;
    if (out)
        buf_reset(out);
    *blocks = 0;
    for (;;) {
        const char *m = find_mark(p, end);
        if (!m)
            break;
        if (out)
            buf_append(out, p, (size_t)(m - p));
        size_t used = fast_text(r, m, end, out, blocks);
        if (used == 0) {
            struct jval obj;
            const char *why;
            if (jscan_prefix(m, (size_t)(end - m), &obj, &used, &why))
                return line_err(r, d, ERR_PARSE, "body: %s", why);
            int rc = expand_text(r, &obj, out, blocks, d);
            if (rc)
                return rc;
        }
        p = m + used;
    }
    if (out)
        buf_append(out, p, (size_t)(end - p));
    if (out && out->p)
        out->p[out->len] = '\0';
    return 0;
}

static int parse_header(struct trace_reader *r, const char *line, size_t len, struct diag *d)
{
    struct jiter it, sub;
    struct jval k, v, k2, v2;
    int64_t x;
    int rc = jscan_object(&it, line, len);
    bool seen_version = false;
    r->hdr.requests = r->hdr.sessions = -1;
    while (rc == 0 && (rc = jscan_member(&it, &k, &v)) == 1) {
        rc = 0;
        if (jval_is(&k, "metronome_trace")) {
            if (jval_int(&v, &x))
                return line_err(r, d, ERR_INVALID, "header: %s",
                                "'metronome_trace' must be an integer");
            if (x != TRACE_FORMAT_VERSION)
                return diag_at(d, ERR_UNSUPPORTED, r->path, 1,
                               "trace format version %lld is not supported (this build reads %d)",
                               (long long)x, TRACE_FORMAT_VERSION);
            r->hdr.version = (int)x;
            seen_version = true;
        } else if (jval_is(&k, "endpoint") && v.type == JT_OBJECT) {
            jscan_enter(&sub, &v);
            while (jscan_member(&sub, &k2, &v2) == 1) {
                if (jval_is(&k2, "type") && v2.type == JT_STRING)
                    jval_str(&v2, &r->htype);
                else if (jval_is(&k2, "path") && v2.type == JT_STRING)
                    jval_str(&v2, &r->hpath);
                else if (jval_is(&k2, "streaming"))
                    r->hdr.streaming = v2.type == JT_TRUE;
            }
        } else if (jval_is(&k, "tokenizer") && v.type == JT_OBJECT) {
            jscan_enter(&sub, &v);
            while (jscan_member(&sub, &k2, &v2) == 1) {
                if (jval_is(&k2, "name") && v2.type == JT_STRING)
                    jval_str(&v2, &r->htok);
                else if (jval_is(&k2, "sha256") && v2.type == JT_STRING)
                    jval_str(&v2, &r->htoksha);
                else if (jval_is(&k2, "approximate"))
                    r->hdr.tokens_approx = v2.type == JT_TRUE;
            }
        } else if (jval_is(&k, "timed")) {
            r->hdr.timed = v.type == JT_TRUE;
        } else if (jval_is(&k, "requests") && !jval_int(&v, &x)) {
            r->hdr.requests = (long)x;
        } else if (jval_is(&k, "sessions") && !jval_int(&v, &x)) {
            r->hdr.sessions = (long)x;
        } else if (jval_is(&k, "warmup_requests") && !jval_int(&v, &x) && x >= 0) {
            r->hdr.warmup_requests = (long)x;
        } else if (jval_is(&k, "warmup_concurrency") && !jval_int(&v, &x) && x > 0) {
            r->hdr.warmup_concurrency = (long)x;
        } else if (jval_is(&k, "warmup_rate") && v.type == JT_NUMBER) {
            double f;
            if (!jval_double(&v, &f) && f > 0 && f <= 1e9)
                r->hdr.warmup_rate = f;
        } else if (jval_is(&k, "blocks") && !jval_int(&v, &x)) {
            r->hdr.blocks = (long)x;
        } else if (jval_is(&k, "pieces") && !jval_int(&v, &x)) {
            r->hdr.pieces = (long)x;
        }
    }
    if (rc < 0)
        return diag_at(d, ERR_PARSE, r->path, 1,
                       "not a trace header (malformed JSON at byte %zu: %s)", it.err_off + 1,
                       it.err ? it.err : "bad value");
    if (!seen_version)
        return diag_at(d, ERR_INVALID, r->path, 1,
                       "not a metronome trace (the header has no 'metronome_trace' version)");
    if (!r->htype.len || !r->hpath.len || r->hdr.requests < 0 || r->hdr.sessions < 0)
        return diag_at(d, ERR_INVALID, r->path, 1,
                       "header: endpoint type and path, requests and sessions are required");
    buf_append(&r->hjson, line, len);
    r->hdr.endpoint_type = r->htype.p;
    r->hdr.endpoint_path = r->hpath.p;
    r->hdr.tokenizer = r->htok.p ? r->htok.p : "";
    r->hdr.tokenizer_sha256 = r->htoksha.p ? r->htoksha.p : "";
    r->hdr.json = r->hjson.p;
    r->hdr.json_len = r->hjson.len;
    return 0;
}

/* Handles a piece or block line: 1 if it was one, 0 if it is something else. */
static int definition_line(struct trace_reader *r, const char *line, size_t len, struct diag *d)
{
    static const char pk[] = "{\"piece\":", bk[] = "{\"block\":";
    bool piece = len > sizeof pk && !memcmp(line, pk, sizeof pk - 1);
    bool block = len > sizeof bk && !memcmp(line, bk, sizeof bk - 1);
    if (!piece && !block)
        return 0;
    struct jiter it;
    struct jval k, v, text = {0};
    int64_t id = 0, tokens = -1;
    bool has_text = false;
    int rc = jscan_object(&it, line, len);
    while (rc == 0 && (rc = jscan_member(&it, &k, &v)) == 1) {
        rc = 0;
        if ((jval_is(&k, "piece") || jval_is(&k, "block")) && jval_int(&v, &id))
            return line_err(r, d, ERR_INVALID, "%s: the id must be an integer",
                            piece ? "piece" : "block");
        if (jval_is(&k, "tokens") && jval_int(&v, &tokens))
            return line_err(r, d, ERR_INVALID, "%s", "block: 'tokens' must be an integer");
        if (jval_is(&k, "text")) {
            text = v;
            has_text = true;
        }
    }
    if (rc < 0)
        return json_err(r, d, &it);
    if (!has_text)
        return line_err(r, d, ERR_INVALID, "%s: 'text' is required", piece ? "piece" : "block");
    rc = piece ? add_piece(r, id, &text, d) : add_block(r, id, tokens, &text, d);
    return rc ? rc : 1;
}

int trace_open(struct trace_reader **out, const char *path, struct diag *d)
{
    struct trace_reader *r = xcalloc(1, sizeof *r);
    r->path = xstrdup(path);
    r->expand = true;
    buf_init(&r->hjson, 0);
    buf_init(&r->htype, 4096);
    buf_init(&r->hpath, 4096);
    buf_init(&r->htok, 4096);
    buf_init(&r->htoksha, 128);
    buf_init(&r->text, 0);
    buf_init(&r->lits, 0);
    buf_init(&r->body, 0);
    buf_init(&r->session, 1 << 16);
    buf_init(&r->model, 1 << 16);
    buf_init(&r->tmp, 0);
    i64map_init(&r->bmap);
    int rc = zr_open(&r->zr, path, TRACE_MAX_LINE, d);
    if (rc) {
        r->zr = NULL;
        trace_close(r);
        return rc;
    }
    const char *line;
    size_t len;
    rc = zr_getline(r->zr, &line, &len, d);
    if (rc == 0)
        rc = diag_at(d, ERR_INVALID, path, 0, "empty file, not a trace");
    if (rc > 0)
        rc = parse_header(r, line, len, d);
    while (rc == 0) {
        rc = zr_getline(r->zr, &line, &len, d);
        if (rc <= 0)
            break;
        rc = definition_line(r, line, len, d);
        if (rc == 0) {
            r->pending = line;
            r->pending_len = len;
        }
        if (rc == 1)
            rc = 0;
        else
            break;
    }
    if (rc < 0) {
        trace_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

const struct trace_header *trace_get_header(const struct trace_reader *r)
{
    return &r->hdr;
}

void trace_set_expand(struct trace_reader *r, bool expand)
{
    r->expand = expand;
}

static int parse_request(struct trace_reader *r, const char *line, size_t len,
                         struct trace_request *q, struct diag *d)
{
    struct jiter it;
    struct jval k, v, body = {0};
    bool has_body = false, has_session = false;
    int64_t x;
    memset(q, 0, sizeof *q);
    q->osl = -1;
    q->isl = -1;
    q->history = TRACE_HISTORY_RECORDED;
    buf_reset(&r->model);
    int rc = jscan_object(&it, line, len);
    if (rc)
        return json_err(r, d, &it);
    while ((rc = jscan_member(&it, &k, &v)) == 1) {
        if (jval_is(&k, "session")) {
            buf_reset(&r->session);
            if (v.type != JT_STRING || jval_str(&v, &r->session))
                return line_err(r, d, ERR_INVALID, "field '%s': must be a string", "session");
            has_session = true;
        } else if (jval_is(&k, "turn")) {
            if (jval_int(&v, &x) || x < 0 || x > 1000000000)
                return line_err(r, d, ERR_INVALID, "field '%s': must be an integer >= 0", "turn");
            q->turn = (int)x;
        } else if (jval_is(&k, "t_ms")) {
            if (jval_double(&v, &q->t_ms) || q->t_ms < 0)
                return line_err(r, d, ERR_INVALID, "field '%s': must be a number >= 0", "t_ms");
            q->timed = true;
        } else if (jval_is(&k, "gap_ms")) {
            if (jval_double(&v, &q->gap_ms) || q->gap_ms < 0)
                return line_err(r, d, ERR_INVALID, "field '%s': must be a number >= 0", "gap_ms");
        } else if (jval_is(&k, "warmup")) {
            q->warmup = v.type == JT_TRUE;
        } else if (jval_is(&k, "delay_ms")) {
            if (jval_double(&v, &q->delay_ms) || q->delay_ms < 0)
                return line_err(r, d, ERR_INVALID, "field '%s': must be a number >= 0", "delay_ms");
        } else if (jval_is(&k, "isl")) {
            if (jval_int(&v, &x) || x < 0)
                return line_err(r, d, ERR_INVALID, "field '%s': must be an integer >= 0", "isl");
            q->isl = (long)x;
        } else if (jval_is(&k, "osl")) {
            if (jval_int(&v, &x) || x < 0)
                return line_err(r, d, ERR_INVALID, "field '%s': must be an integer >= 0", "osl");
            q->osl = (long)x;
        } else if (jval_is(&k, "model")) {
            if (v.type != JT_STRING || jval_str(&v, &r->model))
                return line_err(r, d, ERR_INVALID, "field '%s': must be a string", "model");
        } else if (jval_is(&k, "stream")) {
            q->stream = v.type == JT_TRUE;
        } else if (jval_is(&k, "history")) {
            if (jval_is(&v, "live"))
                q->history = TRACE_HISTORY_LIVE;
            else if (!jval_is(&v, "recorded"))
                return line_err(r, d, ERR_INVALID, "field '%s': must be \"live\" or \"recorded\"",
                                "history");
        } else if (jval_is(&k, "body")) {
            if (v.type != JT_OBJECT)
                return line_err(r, d, ERR_INVALID, "field '%s': must be an object", "body");
            body = v;
            has_body = true;
        }
    }
    if (rc < 0)
        return json_err(r, d, &it);
    if (!has_session)
        return line_err(r, d, ERR_INVALID, "request: field '%s' is required", "session");
    if (!has_body)
        return line_err(r, d, ERR_INVALID, "request: field '%s' is required", "body");
    if (q->isl < 0)
        return line_err(r, d, ERR_INVALID, "request: field '%s' is required", "isl");
    rc = build_body(r, &body, &q->blocks, d);
    if (rc)
        return rc;
    q->index = r->index++;
    q->session = r->session.p;
    q->model = r->model.len ? r->model.p : NULL;
    if (r->expand) {
        q->body = r->body.p;
        q->body_len = r->body.len;
    } else {
        q->body = body.p;
        q->body_len = body.n;
    }
    q->line = zr_lineno(r->zr);
    return 1;
}

int trace_next(struct trace_reader *r, struct trace_request *out, struct diag *d)
{
    for (;;) {
        const char *line;
        size_t len;
        int rc;
        if (r->pending) {
            line = r->pending;
            len = r->pending_len;
            r->pending = NULL;
        } else {
            rc = zr_getline(r->zr, &line, &len, d);
            if (rc <= 0) {
                if (rc == 0 && r->index != r->hdr.requests)
                    return diag_at(d, ERR_INVALID, r->path, zr_lineno(r->zr),
                                   "the header promises %ld requests but the trace holds %ld",
                                   r->hdr.requests, r->index);
                return rc;
            }
        }
        if (len == 0 || (len == 1 && line[0] == '\r'))
            continue;
        rc = definition_line(r, line, len, d);
        if (rc < 0)
            return rc;
        if (rc == 1)
            continue;
        return parse_request(r, line, len, out, d);
    }
}

size_t trace_bytes_in(const struct trace_reader *r)
{
    return zr_bytes_in(r->zr);
}

size_t trace_bytes_out(const struct trace_reader *r)
{
    return zr_bytes_out(r->zr);
}

void trace_close(struct trace_reader *r)
{
    if (!r)
        return;
    if (r->zr)
        zr_close(r->zr);
    free(r->path);
    buf_free(&r->hjson);
    buf_free(&r->htype);
    buf_free(&r->hpath);
    buf_free(&r->htok);
    buf_free(&r->htoksha);
    buf_free(&r->text);
    buf_free(&r->lits);
    buf_free(&r->body);
    buf_free(&r->session);
    buf_free(&r->model);
    buf_free(&r->tmp);
    free(r->pieces);
    i64map_free(&r->bmap);
    free(r->bdefs);
    free(r->bparts);
    free(r);
}
