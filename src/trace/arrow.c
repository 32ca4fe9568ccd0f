/*
 * Arrow IPC file reader (include/arrow.h). The metadata is FlatBuffers: a table starts
 * with a signed offset back to its vtable, the vtable lists each field's offset inside
 * the table (0: absent), and references (tables, vectors, strings) are unsigned offsets
 * from where they are stored. Every read below goes through rd()/span(), which check the
 * position against the region being read, so no value in the file can move a read out of
 * it. Multi-byte values are little-endian (big-endian files are refused by the schema).
 */
#include "arrow.h"

#include <math.h>
#include <string.h>

/* A FlatBuffers region: [p, p+n). */
struct fb {
    const uint8_t *p;
    size_t n;
};

/* A table: its position in the region and its vtable's. */
struct fbt {
    const struct fb *b;
    size_t pos, vt, vtn;
};

static bool span(const struct fb *b, size_t at, size_t len)
{
    return at <= b->n && len <= b->n - at;
}

static uint64_t le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Reads `bytes` at `at`; false if out of the region. */
static bool rd(const struct fb *b, size_t at, int bytes, uint64_t *v)
{
    if (!span(b, at, (size_t)bytes))
        return false;
    *v = le(b->p + at, bytes);
    return true;
}

static bool fb_table(const struct fb *b, size_t pos, struct fbt *t)
{
    uint64_t so, vn;
    if (!rd(b, pos, 4, &so))
        return false;
    int64_t vt = (int64_t)pos - (int64_t)(int32_t)(uint32_t)so;
    if (vt < 0 || !rd(b, (size_t)vt, 2, &vn) || vn < 4 || (vn & 1) || !span(b, (size_t)vt, vn))
        return false;
    t->b = b;
    t->pos = pos;
    t->vt = (size_t)vt;
    t->vtn = (size_t)vn;
    return true;
}

/* Position of field i inside table t, or 0 if absent. */
static size_t fb_field(const struct fbt *t, int i)
{
    size_t at = 4 + 2 * (size_t)i;
    if (at + 2 > t->vtn)
        return 0;
    size_t off = (size_t)le(t->b->p + t->vt + at, 2);
    return off ? t->pos + off : 0;
}

static bool fb_scalar(const struct fbt *t, int i, int bytes, uint64_t dflt, uint64_t *v)
{
    size_t at = fb_field(t, i);
    if (!at) {
        *v = dflt;
        return true;
    }
    return rd(t->b, at, bytes, v);
}

/* Follows the reference in field i; *to = 0 when absent. */
static bool fb_ref(const struct fbt *t, int i, size_t *to)
{
    size_t at = fb_field(t, i);
    uint64_t off;
    *to = 0;
    if (!at)
        return true;
    if (!rd(t->b, at, 4, &off) || off == 0 || off > t->b->n - at)
        return false;
    *to = at + (size_t)off;
    return true;
}

/* Vector in field i: *n elements of `elem` bytes from *data (n = 0 when absent). */
static bool fb_vec(const struct fbt *t, int i, size_t elem, size_t *data, size_t *n)
{
    size_t to;
    uint64_t len;
    *n = 0;
    *data = 0;
    if (!fb_ref(t, i, &to))
        return false;
    if (!to)
        return true;
    if (!rd(t->b, to, 4, &len) || (elem && len > (t->b->n - to - 4) / elem))
        return false;
    *data = to + 4;
    *n = (size_t)len;
    return true;
}

/* Table element j of a vector of tables at data. */
static bool fb_vec_table(const struct fb *b, size_t data, size_t j, struct fbt *t)
{
    uint64_t off;
    size_t at = data + 4 * j;
    if (!rd(b, at, 4, &off) || off == 0 || off > b->n - at)
        return false;
    return fb_table(b, at + (size_t)off, t);
}

static int bad(struct diag *d, const char *what)
{
    return diag_set(d, ERR_PARSE, "not a valid Arrow IPC file (%s)", what);
}

/* Adds field table ft (and its children) to a->f in pre-order. */
static int add_field(struct arrow_file *a, const struct fbt *ft, int depth, struct diag *d)
{
    if (depth > 16)
        return bad(d, "fields nested too deep");
    if (a->nf >= ARROW_MAX_FIELDS)
        return diag_set(d, ERR_UNSUPPORTED, "more than %d Arrow fields", ARROW_MAX_FIELDS);
    int idx = a->nf++;
    struct arrow_field *f = &a->f[idx];
    memset(f, 0, sizeof *f);
    f->child = -1;
    size_t s;
    uint64_t len, tt;
    if (!fb_ref(ft, 0, &s))
        return bad(d, "field name");
    if (s) {
        if (!rd(ft->b, s, 4, &len) || !span(ft->b, s + 4, len))
            return bad(d, "field name");
        f->name = (const char *)ft->b->p + s + 4;
        f->name_len = (size_t)len;
    } else {
        f->name = "";
    }
    if (!fb_scalar(ft, 2, 1, 0, &tt))
        return bad(d, "field type");
    f->type = (int)tt;
    size_t typos;
    struct fbt ty;
    bool has_ty = fb_ref(ft, 3, &typos) && typos && fb_table(ft->b, typos, &ty);
    size_t dict;
    if (!fb_ref(ft, 4, &dict))
        return bad(d, "field dictionary");
    f->kind = ARROW_K_OTHER;
    switch (f->type) {
    case 1: /* Null */
        f->kind = ARROW_K_NULL;
        break;
    case 2: { /* Int */
        uint64_t bw, sg;
        if (!has_ty || !fb_scalar(&ty, 0, 4, 0, &bw) || !fb_scalar(&ty, 1, 1, 0, &sg))
            return bad(d, "Int type");
        f->nbuf = 2;
        if (bw == 8 || bw == 16 || bw == 32 || bw == 64) {
            f->kind = ARROW_K_INT;
            f->bits = (int)bw;
            f->is_signed = sg != 0;
        }
        break;
    }
    case 3: { /* FloatingPoint */
        uint64_t pr;
        if (!has_ty || !fb_scalar(&ty, 0, 2, 0, &pr))
            return bad(d, "FloatingPoint type");
        f->nbuf = 2;
        if (pr == 1 || pr == 2) {
            f->kind = ARROW_K_FLOAT;
            f->bits = pr == 1 ? 32 : 64;
        }
        break;
    }
    case 4:  /* Binary */
    case 5:  /* Utf8 */
    case 19: /* LargeBinary */
    case 20: /* LargeUtf8 */
        f->kind = ARROW_K_UTF8;
        f->large = f->type >= 19;
        f->nbuf = 3;
        break;
    case 12: /* List */
    case 21: /* LargeList */
        f->kind = ARROW_K_LIST;
        f->large = f->type == 21;
        f->nbuf = 2;
        break;
    case 6:
    case 7:
    case 8:
    case 9:
    case 10:
    case 11:
    case 15:
    case 18:
        f->nbuf = 2; /* Bool, Decimal, Date, Time, Timestamp, Interval, FixedSizeBinary, Duration */
        break;
    case 17: /* Map */
        f->nbuf = 2;
        break;
    case 13: /* Struct */
    case 16: /* FixedSizeList */
        f->nbuf = 1;
        break;
    case 22: /* RunEndEncoded */
        f->nbuf = 0;
        break;
    case 25: /* ListView */
    case 26: /* LargeListView */
        f->nbuf = 3;
        break;
    default: /* Union (its buffers depend on its mode and version), views, unknown */
        f->unreadable = true;
        break;
    }
    if (dict) /* the column holds indices into a dictionary batch */
        f->kind = ARROW_K_OTHER;
    size_t kids, nk;
    if (!fb_vec(ft, 5, 4, &kids, &nk))
        return bad(d, "field children");
    if (f->kind == ARROW_K_LIST && nk != 1)
        return bad(d, "a list field needs exactly one child");
    f->nchildren = (int)nk;
    for (size_t j = 0; j < nk; j++) {
        struct fbt ct;
        if (!fb_vec_table(ft->b, kids, j, &ct))
            return bad(d, "child field");
        if (j == 0 && f->kind == ARROW_K_LIST)
            a->f[idx].child = a->nf;
        int rc = add_field(a, &ct, depth + 1, d);
        if (rc)
            return rc;
    }
    return 0;
}

int arrow_open(struct arrow_file *a, const void *p, size_t n, struct diag *d)
{
    memset(a, 0, sizeof *a);
    a->p = p;
    a->n = n;
    const uint8_t *u = p;
    if (n < 6 + 2 + 4 + 6 || memcmp(u, "ARROW1", 6) || memcmp(u + n - 6, "ARROW1", 6))
        return bad(d, "no ARROW1 magic at both ends");
    size_t flen = (size_t)le(u + n - 10, 4);
    if (flen > n - 10 - 8)
        return bad(d, "footer length");
    struct fb fb = {u + n - 10 - flen, flen};
    uint64_t root;
    struct fbt footer, schema;
    size_t sp;
    if (!rd(&fb, 0, 4, &root) || !fb_table(&fb, (size_t)root, &footer))
        return bad(d, "footer");
    if (!fb_ref(&footer, 1, &sp) || !sp || !fb_table(&fb, sp, &schema))
        return bad(d, "schema");
    uint64_t endian;
    if (!fb_scalar(&schema, 0, 2, 0, &endian))
        return bad(d, "schema");
    if (endian != 0)
        return diag_set(d, ERR_UNSUPPORTED, "big-endian Arrow files are not supported");
    size_t fields, nfields;
    if (!fb_vec(&schema, 1, 4, &fields, &nfields))
        return bad(d, "schema fields");
    for (size_t j = 0; j < nfields; j++) {
        struct fbt ft;
        if (!fb_vec_table(&fb, fields, j, &ft))
            return bad(d, "schema field");
        if (a->ntop >= ARROW_MAX_FIELDS)
            return diag_set(d, ERR_UNSUPPORTED, "more than %d Arrow fields", ARROW_MAX_FIELDS);
        a->top[a->ntop++] = a->nf;
        int rc = add_field(a, &ft, 0, d);
        if (rc)
            return rc;
    }
    size_t blocks, nb;
    if (!fb_vec(&footer, 3, 24, &blocks, &nb))
        return bad(d, "record batch blocks");
    a->blocks = blocks ? fb.p + blocks : NULL;
    a->nbatches = nb;
    return 0;
}

int arrow_find(const struct arrow_file *a, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < a->ntop; i++) {
        const struct arrow_field *f = &a->f[a->top[i]];
        if (f->name_len == n && !memcmp(f->name, name, n))
            return a->top[i];
    }
    return -1;
}

/* Checks an offsets buffer of len+1 entries: in order and at most `limit`. */
static bool offsets_ok(const uint8_t *o, bool large, int64_t len, uint64_t limit)
{
    int w = large ? 8 : 4;
    int64_t prev = 0;
    for (int64_t i = 0; i <= len; i++) {
        int64_t v = large ? (int64_t)le(o + i * w, 8) : (int64_t)(int32_t)le(o + i * w, 4);
        if (v < 0 || (uint64_t)v > limit || (i > 0 && v < prev))
            return false;
        prev = v;
    }
    return true;
}

static int64_t off_at(const uint8_t *o, bool large, int64_t i)
{
    return large ? (int64_t)le(o + i * 8, 8) : (int64_t)(int32_t)le(o + i * 4, 4);
}

int arrow_batch(const struct arrow_file *a, size_t i, struct arrow_batch *b, struct diag *d)
{
    if (i >= a->nbatches)
        return diag_set(d, ERR_INVALID, "no record batch %zu", i);
    const uint8_t *blk = a->blocks + 24 * i;
    uint64_t off = le(blk, 8), mlen = le(blk + 8, 4), blen = le(blk + 16, 8);
    struct fb file = {a->p, a->n};
    if (!span(&file, (size_t)off, mlen) || off > SIZE_MAX || mlen < 8 ||
        !span(&file, (size_t)(off + mlen), blen) || blen > SIZE_MAX)
        return bad(d, "record batch block");
    size_t at = (size_t)off;
    uint64_t cont, flen;
    rd(&file, at, 4, &cont);
    if (cont == 0xFFFFFFFFu) {
        rd(&file, at + 4, 4, &flen);
        at += 8;
    } else {
        flen = cont;
        at += 4;
    }
    if (flen > mlen - (at - (size_t)off))
        return bad(d, "message length");
    struct fb mb = {a->p + at, (size_t)flen};
    uint64_t root, ht;
    struct fbt msg, rb;
    size_t hp;
    if (!rd(&mb, 0, 4, &root) || !fb_table(&mb, (size_t)root, &msg) ||
        !fb_scalar(&msg, 1, 1, 0, &ht))
        return bad(d, "message");
    if (ht != 3)
        return bad(d, "a block that is not a record batch");
    if (!fb_ref(&msg, 2, &hp) || !hp || !fb_table(&mb, hp, &rb))
        return bad(d, "record batch");
    uint64_t rows;
    size_t nodes, nn, bufs, nbufs, comp;
    if (!fb_scalar(&rb, 0, 8, 0, &rows) || (int64_t)rows < 0 || !fb_vec(&rb, 1, 16, &nodes, &nn) ||
        !fb_vec(&rb, 2, 16, &bufs, &nbufs) || !fb_ref(&rb, 3, &comp))
        return bad(d, "record batch");
    if (comp)
        return diag_set(d, ERR_UNSUPPORTED,
                        "compressed Arrow record batches are not supported (write the file "
                        "with compression=None)");
    const uint8_t *body = a->p + off + mlen;
    b->rows = (int64_t)rows;
    size_t ni = 0, bi = 0;
    for (int k = 0; k < a->nf; k++) {
        const struct arrow_field *f = &a->f[k];
        struct arrow_col *c = &b->c[k];
        memset(c, 0, sizeof *c);
        if (f->unreadable)
            return diag_set(d, ERR_UNSUPPORTED,
                            "Arrow field '%.*s' has a layout this reader does not support "
                            "(type %d)",
                            (int)f->name_len, f->name, f->type);
        if (ni >= nn)
            return bad(d, "fewer field nodes than fields");
        c->len = (int64_t)le(mb.p + nodes + 16 * ni, 8);
        c->nulls = (int64_t)le(mb.p + nodes + 16 * ni + 8, 8);
        ni++;
        if (c->len < 0 || c->nulls < 0 || c->nulls > c->len)
            return bad(d, "field node");
        if ((size_t)f->nbuf > nbufs - bi || bi > nbufs)
            return bad(d, "fewer buffers than fields need");
        const uint8_t *bp[3] = {0};
        uint64_t bl[3] = {0};
        for (int j = 0; j < f->nbuf; j++, bi++) {
            uint64_t bo = le(mb.p + bufs + 16 * bi, 8), bn = le(mb.p + bufs + 16 * bi + 8, 8);
            if (bo > blen || bn > blen - bo)
                return bad(d, "buffer outside the record batch body");
            if (j < 3) {
                bp[j] = body + bo;
                bl[j] = bn;
            }
        }
        if (f->kind == ARROW_K_OTHER || f->kind == ARROW_K_NULL) {
            if (f->kind == ARROW_K_NULL)
                c->nulls = c->len;
            continue;
        }
        if (c->nulls > 0) {
            if (bl[0] < (uint64_t)(c->len + 7) / 8)
                return bad(d, "validity buffer too short");
            c->validity = bp[0];
        }
        if (f->kind == ARROW_K_INT || f->kind == ARROW_K_FLOAT) {
            if (bl[1] / (uint64_t)(f->bits / 8) < (uint64_t)c->len)
                return bad(d, "values buffer too short");
            c->values = bp[1];
            c->values_len = bl[1];
            continue;
        }
        /* UTF8 and LIST: len+1 offsets */
        if (c->len > 0) {
            uint64_t w = f->large ? 8 : 4;
            if (bl[1] / w < (uint64_t)c->len + 1)
                return bad(d, "offsets buffer too short");
            c->offsets = bp[1];
        }
        if (f->kind == ARROW_K_UTF8) {
            c->values = bp[2];
            c->values_len = bl[2];
            if (c->offsets && !offsets_ok(c->offsets, f->large, c->len, bl[2]))
                return bad(d, "string offsets out of order or past the data");
        }
    }
    /* Lists: the child's rows must cover the offsets (the child's node is read above). */
    for (int k = 0; k < a->nf; k++) {
        const struct arrow_field *f = &a->f[k];
        struct arrow_col *c = &b->c[k];
        if (f->kind == ARROW_K_LIST && c->offsets &&
            !offsets_ok(c->offsets, f->large, c->len, (uint64_t)b->c[f->child].len))
            return bad(d, "list offsets out of order or past the child");
    }
    for (int k = 0; k < a->ntop; k++)
        if (b->c[a->top[k]].len < b->rows)
            return bad(d, "a column shorter than its record batch");
    return 0;
}

bool arrow_null(const struct arrow_file *a, const struct arrow_batch *b, int f, int64_t row)
{
    const struct arrow_col *c = &b->c[f];
    if (a->f[f].kind == ARROW_K_NULL || row < 0 || row >= c->len)
        return true;
    return c->validity && !(c->validity[row >> 3] >> (row & 7) & 1);
}

int arrow_int(const struct arrow_file *a, const struct arrow_batch *b, int f, int64_t row,
              int64_t *out)
{
    const struct arrow_field *fd = &a->f[f];
    const struct arrow_col *c = &b->c[f];
    if (arrow_null(a, b, f, row))
        return ERR_INVALID;
    if (fd->kind == ARROW_K_INT) {
        int w = fd->bits / 8;
        uint64_t v = le(c->values + (size_t)row * (size_t)w, w);
        if (fd->is_signed) {
            int sh = 64 - fd->bits;
            *out = sh ? (int64_t)(v << sh) >> sh : (int64_t)v;
        } else {
            if (v > INT64_MAX)
                return ERR_INVALID;
            *out = (int64_t)v;
        }
        return 0;
    }
    if (fd->kind == ARROW_K_FLOAT) {
        double x;
        if (fd->bits == 64) {
            uint64_t v = le(c->values + (size_t)row * 8, 8);
            memcpy(&x, &v, 8);
        } else {
            uint32_t v = (uint32_t)le(c->values + (size_t)row * 4, 4);
            float y;
            memcpy(&y, &v, 4);
            x = y;
        }
        if (!isfinite(x) || x != floor(x) || fabs(x) > 9.0e15)
            return ERR_INVALID;
        *out = (int64_t)x;
        return 0;
    }
    return ERR_INVALID;
}

int arrow_str(const struct arrow_file *a, const struct arrow_batch *b, int f, int64_t row,
              const char **s, size_t *n)
{
    const struct arrow_field *fd = &a->f[f];
    const struct arrow_col *c = &b->c[f];
    if (fd->kind != ARROW_K_UTF8 || arrow_null(a, b, f, row) || !c->offsets)
        return ERR_INVALID;
    int64_t lo = off_at(c->offsets, fd->large, row), hi = off_at(c->offsets, fd->large, row + 1);
    *s = (const char *)c->values + lo;
    *n = (size_t)(hi - lo);
    return 0;
}

int arrow_list(const struct arrow_file *a, const struct arrow_batch *b, int f, int64_t row,
               int64_t *lo, int64_t *hi)
{
    const struct arrow_field *fd = &a->f[f];
    const struct arrow_col *c = &b->c[f];
    if (fd->kind != ARROW_K_LIST || arrow_null(a, b, f, row) || !c->offsets)
        return ERR_INVALID;
    *lo = off_at(c->offsets, fd->large, row);
    *hi = off_at(c->offsets, fd->large, row + 1);
    return 0;
}
