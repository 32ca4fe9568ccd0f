#include "jscan.h"

#include "err.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int fail(struct jiter *it, const char *at, const char *why)
{
    it->err = why;
    it->err_off = (size_t)(at - it->base);
    it->done = true;
    return ERR_PARSE;
}

static const char *skip_ws(const char *p, const char *end)
{
    if (p < end && (unsigned char)*p > ' ') /* the usual case: compact JSON */
        return p;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "special8_at assumes a little-endian load (the first byte in the low bits)"
#endif

/* The offset (0-7) of the first quote, backslash or control character among the 8 bytes
 * loaded little-endian into x, or 8 when there is none (the usual SWAR byte tests: a byte
 * b has (b - k) & ~b & 0x80 set when b == k or b < k). A borrow can flag a byte above a
 * true match, never one below it, so the lowest flag is exact: the scan jumps straight to
 * the closing quote of a short key instead of testing its bytes one by one. */
static unsigned special8_at(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t t = (((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x)) & high;
    return t ? (unsigned)__builtin_ctzll(t) >> 3 : 8;
}

/* p points after the opening quote; returns the closing quote or NULL. */
static const char *scan_string(struct jiter *it, const char *p, bool *esc)
{
    const char *end = it->end;
    for (;;) {
        /* Plain text (the bulk of every prompt) goes 8 bytes at a time, up to the first
         * byte that needs a look. */
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            unsigned k = special8_at(x);
            p += k;
            if (k < 8)
                break;
        }
        if (p >= end)
            break;
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p;
        if (c < 0x20) {
            fail(it, p, "control character in string");
            return NULL;
        }
        if (c == '\\') {
            *esc = true;
            if (p + 1 >= end)
                break;
            char e = p[1];
            if (e == 'u') {
                if (end - p < 6) {
                    p = end;
                    break;
                }
                for (int i = 2; i < 6; i++)
                    if (hexval(p[i]) < 0) {
                        fail(it, p, "bad \\u escape");
                        return NULL;
                    }
                p += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == '\0') {
                fail(it, p, "bad escape in string");
                return NULL;
            }
            p += 2;
            continue;
        }
        p++;
    }
    fail(it, p, "unterminated string");
    return NULL;
}

static const char *scan_number(struct jiter *it, const char *p)
{
    const char *end = it->end, *s = p;
    if (p < end && *p == '-')
        p++;
    if (p >= end || *p < '0' || *p > '9') {
        fail(it, s, "bad number");
        return NULL;
    }
    if (*p == '0')
        p++;
    else
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') {
            fail(it, s, "bad number");
            return NULL;
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9') {
            fail(it, s, "bad number");
            return NULL;
        }
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

/* A literal (true, false, null) at p: the byte after it, or NULL. */
static const char *scan_literal(struct jiter *it, const char *p)
{
    const char *lit = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
    size_t n = *p == 'f' ? 5 : 4;
    if ((size_t)(it->end - p) < n || memcmp(p, lit, n) != 0) {
        fail(it, p, "bad literal");
        return NULL;
    }
    return p + n;
}

/* Validates the object or array at p ('{' or '['), scanned as a value at `depth`, and
 * returns the byte after it (NULL on error). One loop with a stack of one bit per open
 * level (1: object) instead of a call per nested value: a response's "choices" is four
 * levels of small objects, and the calls were most of what scanning it cost. It checks
 * exactly what the recursive grammar did, in the same order, so the errors and their
 * offsets are the same (tests/unit/test_trace_jscan.c compares it with that grammar). */
static const char *scan_container(struct jiter *it, const char *p, int depth)
{
    const char *end = it->end;
    uint64_t objs = 0; /* bit i: the container open at level i is an object */
    int top = 0;       /* open containers; the innermost is at depth + top - 1 */
    const char *q = p;
    bool obj;
    /* q at '{' or '[': open it (its values are scanned at depth + top). */
open:
    if (depth + top >= JSCAN_MAX_DEPTH) {
        fail(it, q, "nesting too deep");
        return NULL;
    }
    obj = *q == '{';
    objs = obj ? objs | (1ull << top) : objs & ~(1ull << top);
    top++;
    q = skip_ws(q + 1, end);
    if (q < end && *q == (obj ? '}' : ']')) {
        q++;
        goto closed;
    }
    for (;;) {
        /* a member (key, ':', value) or an element */
        if (obj) {
            if (q >= end || *q != '"') {
                fail(it, q, "object key expected");
                return NULL;
            }
            bool esc = false;
            q = scan_string(it, q + 1, &esc);
            if (!q)
                return NULL;
            q = skip_ws(q + 1, end);
            if (q >= end || *q != ':') {
                fail(it, q, "':' expected");
                return NULL;
            }
            q = skip_ws(q + 1, end);
        }
        if (q >= end) {
            fail(it, q, "value expected");
            return NULL;
        }
        switch (*q) {
        case '"': {
            bool esc = false;
            q = scan_string(it, q + 1, &esc);
            if (!q)
                return NULL;
            q++;
            break;
        }
        case '{':
        case '[':
            goto open;
        case 't':
        case 'f':
        case 'n':
            q = scan_literal(it, q);
            if (!q)
                return NULL;
            break;
        default:
            q = scan_number(it, q);
            if (!q)
                return NULL;
        }
        /* after a value: ',' and the next, or the innermost container's end */
    next:
        q = skip_ws(q, end);
        if (q < end && *q == ',') {
            q = skip_ws(q + 1, end);
            continue;
        }
        if (q < end && *q == (obj ? '}' : ']')) {
            q++;
            goto closed;
        }
        fail(it, q, obj ? "',' or '}' expected" : "',' or ']' expected");
        return NULL;
    closed:
        if (--top == 0)
            return q;
        obj = (objs >> (top - 1)) & 1;
        goto next;
    }
}

/* Scans one value starting at p (no leading whitespace); returns the byte after it. */
static const char *scan_value(struct jiter *it, const char *p, struct jval *v, int depth)
{
    const char *end = it->end;
    if (p >= end) {
        fail(it, p, "value expected");
        return NULL;
    }
    v->p = p;
    v->esc = false;
    switch (*p) {
    case '"': {
        const char *q = scan_string(it, p + 1, &v->esc);
        if (!q)
            return NULL;
        v->type = JT_STRING;
        v->p = p + 1;
        v->n = (size_t)(q - p - 1);
        return q + 1;
    }
    case '{':
    case '[': {
        const char *q = scan_container(it, p, depth);
        if (!q)
            return NULL;
        v->type = *p == '{' ? JT_OBJECT : JT_ARRAY;
        v->n = (size_t)(q - p);
        return q;
    }
    case 't':
    case 'f':
    case 'n': {
        const char *q = scan_literal(it, p);
        if (!q)
            return NULL;
        v->type = *p == 't' ? JT_TRUE : *p == 'f' ? JT_FALSE : JT_NULL;
        v->n = (size_t)(q - p);
        return q;
    }
    default: {
        const char *q = scan_number(it, p);
        if (!q)
            return NULL;
        v->type = JT_NUMBER;
        v->n = (size_t)(q - p);
        return q;
    }
    }
}

/* ---- already-validated values (jscan_enter): delimit, do not check ---- */

/* p after the opening quote: the closing quote, or NULL at the end. */
static const char *trusted_string_end(const char *p, const char *end, bool *esc)
{
    while (p < end) {
        if (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            unsigned k = special8_at(x);
            p += k;
            if (k == 8)
                continue;
        }
        if (*p == '"')
            return p;
        if (*p == '\\') {
            *esc = true;
            p += 2; /* \uXXXX: the hex digits are plain bytes */
        } else {
            p++;
        }
    }
    return NULL;
}

/* One value of validated JSON at p: bracket depth and string ends only. */
static const char *trusted_value(struct jiter *it, const char *p, struct jval *v)
{
    const char *end = it->end;
    v->p = p;
    v->esc = false;
    switch (*p) {
    case '"': {
        const char *q = trusted_string_end(p + 1, end, &v->esc);
        if (!q)
            break;
        v->type = JT_STRING;
        v->p = p + 1;
        v->n = (size_t)(q - p - 1);
        return q + 1;
    }
    case '{':
    case '[': {
        int depth = 0;
        for (const char *q = p; q < end; q++) {
            char c = *q;
            if (c == '"') {
                bool esc;
                q = trusted_string_end(q + 1, end, &esc);
                if (!q)
                    break;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if ((c == '}' || c == ']') && --depth == 0) {
                v->type = *p == '{' ? JT_OBJECT : JT_ARRAY;
                v->n = (size_t)(q + 1 - p);
                return q + 1;
            }
        }
        break;
    }
    case 't':
    case 'f':
    case 'n': {
        size_t n = *p == 'f' ? 5 : 4;
        if ((size_t)(end - p) < n)
            break;
        v->type = *p == 't' ? JT_TRUE : *p == 'f' ? JT_FALSE : JT_NULL;
        v->n = n;
        return p + n;
    }
    default: {
        const char *q = p;
        while (q < end && ((*q >= '0' && *q <= '9') || *q == '-' || *q == '+' || *q == '.' ||
                           *q == 'e' || *q == 'E'))
            q++;
        if (q == p)
            break;
        v->type = JT_NUMBER;
        v->n = (size_t)(q - p);
        return q;
    }
    }
    fail(it, p, "value expected");
    return NULL;
}

static int begin(struct jiter *it, const char *s, size_t n, bool array, bool top)
{
    it->base = s;
    it->end = s + n;
    it->array = array;
    it->first = true;
    it->done = false;
    it->trusted = !top;
    it->lazy = false;
    it->depth = 1;
    it->open = NULL;
    it->parent = NULL;
    it->err = NULL;
    it->err_off = 0;
    const char *p = top ? skip_ws(s, it->end) : s;
    it->start = p;
    if (p >= it->end || *p != (array ? '[' : '{'))
        return fail(it, p, array ? "array expected" : "object expected");
    it->p = p + 1;
    if (!top)
        return 0;
    /* A top-level value must be alone on its line: find its end now by trimming. */
    const char *e = it->end;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        e--;
    it->end = e;
    return 0;
}

int jscan_object(struct jiter *it, const char *s, size_t n)
{
    return begin(it, s, n, false, true);
}

int jscan_array(struct jiter *it, const char *s, size_t n)
{
    return begin(it, s, n, true, true);
}

int jscan_object_lazy(struct jiter *it, const char *s, size_t n)
{
    int rc = begin(it, s, n, false, true);
    it->lazy = true;
    return rc;
}

int jscan_complete(struct jiter *it, struct jval *v)
{
    if (!it->open || v->p != it->open)
        return 0;
    const char *q = scan_container(it, it->open, it->depth);
    if (!q)
        return ERR_PARSE;
    v->n = (size_t)(q - v->p);
    it->p = q;
    it->open = NULL;
    return 0;
}

int jscan_open(struct jiter *it, struct jiter *from, const struct jval *v)
{
    if (!from || !from->open || v->p != from->open)
        return jscan_enter(it, v);
    *it = (struct jiter){.p = v->p + 1,
                         .end = from->end,
                         .base = from->base,
                         .array = *v->p == '[',
                         .first = true,
                         .lazy = true,
                         .depth = from->depth + 1,
                         .parent = from,
                         .start = v->p};
    /* where scanning it whole would stop (scan_container at from->depth) */
    if (from->depth >= JSCAN_MAX_DEPTH)
        return fail(it, v->p, "nesting too deep");
    return 0;
}

int jscan_prefix(const char *s, size_t n, struct jval *v, size_t *used, const char **why)
{
    struct jiter it = {.p = s, .end = s + n, .base = s};
    const char *q = scan_value(&it, s, v, 0);
    if (!q) {
        *why = it.err;
        return ERR_PARSE;
    }
    *used = (size_t)(q - s);
    return 0;
}

int jscan_enter(struct jiter *it, const struct jval *v)
{
    if (v->type != JT_OBJECT && v->type != JT_ARRAY)
        return ERR_INVALID;
    /* The value was validated when scanned, so its last byte is the closing bracket. */
    int rc = begin(it, v->p, v->n, v->type == JT_ARRAY, false);
    return rc;
}

int jscan_enter_first(struct jiter *it, const struct jval *arr)
{
    if (arr->type != JT_ARRAY || arr->n < 2)
        return ERR_INVALID;
    const char *end = arr->p + arr->n;
    const char *p = skip_ws(arr->p + 1, end);
    if (p >= end || *p != '{')
        return ERR_INVALID;
    return begin(it, p, (size_t)(end - p), false, false);
}

/* After the closing bracket: only the end of the iterated span may follow. */
static int finish(struct jiter *it, const char *q)
{
    it->done = true;
    /* An entered value ends at its closing bracket by construction (and one entered by
     * jscan_enter_first ends inside a larger span): only a top-level value is checked. */
    if (it->parent) {
        /* opened lazily: the parent's walk goes on after this container (unless the
         * parent has been moved on meanwhile, which rescanned it) */
        if (it->parent->open == it->start) {
            it->parent->p = q + 1;
            it->parent->open = NULL;
        }
    } else if (!it->trusted && q + 1 != it->end) {
        return fail(it, q + 1, "unexpected bytes after the value");
    }
    it->p = q + 1;
    return 0;
}

static int next(struct jiter *it, struct jval *key, struct jval *val)
{
    if (it->done)
        return it->err ? ERR_PARSE : 0;
    if (it->open) { /* the caller did not walk the last container: validate it here */
        struct jval last = {.p = it->open};
        if (jscan_complete(it, &last))
            return ERR_PARSE;
    }
    const char *end = it->end;
    const char *q = skip_ws(it->p, end);
    char close = it->array ? ']' : '}';
    if (it->first) {
        it->first = false;
        if (q < end && *q == close)
            return finish(it, q);
    } else {
        if (q < end && *q == close)
            return finish(it, q);
        if (q >= end || *q != ',')
            return fail(it, q, it->array ? "',' or ']' expected" : "',' or '}' expected");
        q = skip_ws(q + 1, end);
    }
    if (!it->array) {
        if (q >= end || *q != '"')
            return fail(it, q, "object key expected");
        q = it->trusted ? trusted_value(it, q, key) : scan_value(it, q, key, it->depth);
        if (!q)
            return ERR_PARSE;
        q = skip_ws(q, end);
        if (q >= end || *q != ':')
            return fail(it, q, "':' expected");
        q = skip_ws(q + 1, end);
    }
    if (q >= end)
        return fail(it, q, "value expected");
    if (it->lazy && (*q == '{' || *q == '[')) {
        *val = (struct jval){.type = *q == '{' ? JT_OBJECT : JT_ARRAY, .p = q};
        it->p = it->open = q;
        return 1;
    }
    q = it->trusted ? trusted_value(it, q, val) : scan_value(it, q, val, it->depth);
    if (!q)
        return ERR_PARSE;
    it->p = q;
    return 1;
}

int jscan_member(struct jiter *it, struct jval *key, struct jval *val)
{
    if (it->array)
        return ERR_INVALID;
    return next(it, key, val);
}

int jscan_elem(struct jiter *it, struct jval *val)
{
    if (!it->array)
        return ERR_INVALID;
    return next(it, NULL, val);
}

int jval_int(const struct jval *v, int64_t *out)
{
    if (v->type != JT_NUMBER)
        return ERR_INVALID;
    const char *p = v->p, *end = v->p + v->n;
    bool neg = p < end && *p == '-';
    if (neg)
        p++;
    uint64_t acc = 0;
    const char *digits = p;
    while (p < end && *p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return ERR_INVALID;
        acc = acc * 10 + d;
        p++;
    }
    if (p == digits)
        return ERR_INVALID;
    if (p != end) {
        /* 1000.0 or 1e3: accept only when the value is a whole number in range. */
        double d;
        if (jval_double(v, &d) || d != floor(d) || d < -9.2e18 || d > 9.2e18)
            return ERR_INVALID;
        *out = (int64_t)d;
        return 0;
    }
    if (neg) {
        if (acc > (uint64_t)INT64_MAX + 1)
            return ERR_INVALID;
        *out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    } else {
        if (acc > (uint64_t)INT64_MAX)
            return ERR_INVALID;
        *out = (int64_t)acc;
    }
    return 0;
}

int jval_int_in(const struct jval *v, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t x;
    if (jval_int(v, &x) == 0) {
        if (x < lo || x > hi)
            return ERR_TOO_LARGE;
        *out = x;
        return 0;
    }
    /* jval_int refuses both 1.5 and 1e19; only the second is a range problem. */
    double dv;
    if (v->type == JT_NUMBER && jval_double(v, &dv) == 0 && dv == floor(dv))
        return ERR_TOO_LARGE;
    if (v->type == JT_NUMBER && v->n > 0 && memchr(v->p, 'e', v->n) == NULL &&
        memchr(v->p, 'E', v->n) == NULL && memchr(v->p, '.', v->n) == NULL)
        return ERR_TOO_LARGE; /* an integer literal too long for a double: strtod says inf */
    return ERR_INVALID;
}

int jscan_find(const char *s, size_t n, const char *const *path, size_t depth, struct jval *out)
{
    struct jiter it;
    if (jscan_object(&it, s, n))
        return ERR_PARSE;
    for (size_t lvl = 0; lvl < depth; lvl++) {
        struct jval k, v;
        int rc;
        while ((rc = jscan_member(&it, &k, &v)) == 1)
            if (jval_is(&k, path[lvl]))
                break;
        if (rc < 0)
            return ERR_PARSE;
        if (rc == 0)
            return 0;
        if (lvl + 1 == depth) {
            *out = v;
            return 1;
        }
        if (v.type != JT_OBJECT)
            return 0;
        jscan_enter(&it, &v);
    }
    return 0;
}

int jval_double(const struct jval *v, double *out)
{
    if (v->type != JT_NUMBER)
        return ERR_INVALID;
    /* Short decimals without an exponent (every t_ms a trace holds) are exact as
     * mantissa / 10^k when the mantissa fits 2^53 and 10^k is exact: one correctly
     * rounded division, the same double strtod gives, without strtod's cost. */
    static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    const char *p = v->p, *end = v->p + v->n;
    bool neg = *p == '-';
    p += neg;
    uint64_t m = 0;
    int digits = 0, frac = -1;
    for (; p < end; p++) {
        if (*p == '.' && frac < 0) {
            frac = 0;
            continue;
        }
        if (*p < '0' || *p > '9')
            break;
        m = m * 10 + (uint64_t)(*p - '0');
        digits++;
        frac += frac >= 0;
    }
    if (p == end && digits <= 15) {
        double x = (double)m / pow10[frac > 0 ? frac : 0];
        *out = neg ? -x : x;
        return 0;
    }
    char tmp[64];
    if (v->n >= sizeof tmp) {
        /* Absurdly long numbers (many digits) still parse through a heap copy. */
        char *h = xstrndup(v->p, v->n);
        char *e;
        *out = strtod(h, &e);
        int bad = *e != '\0';
        free(h);
        return bad ? ERR_INVALID : 0;
    }
    memcpy(tmp, v->p, v->n);
    tmp[v->n] = '\0';
    char *e;
    *out = strtod(tmp, &e);
    return *e == '\0' && isfinite(*out) ? 0 : ERR_INVALID;
}

static int put_utf8(struct buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_append(b, u, n);
}

static uint32_t hex4(const char *p)
{
    return (uint32_t)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

int jval_str(const struct jval *v, struct buf *b)
{
    if (v->type != JT_STRING)
        return ERR_INVALID;
    if (!v->esc)
        return buf_append(b, v->p, v->n);
    const char *p = v->p, *end = v->p + v->n;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        if (!bs)
            return buf_append(b, p, (size_t)(end - p));
        int rc = buf_append(b, p, (size_t)(bs - p));
        if (rc)
            return rc;
        char e = bs[1], c;
        p = bs + 2;
        switch (e) {
        case 'b':
            c = '\b';
            break;
        case 'f':
            c = '\f';
            break;
        case 'n':
            c = '\n';
            break;
        case 'r':
            c = '\r';
            break;
        case 't':
            c = '\t';
            break;
        case 'u': {
            uint32_t cp = hex4(p);
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                    return ERR_INVALID;
                uint32_t lo = hex4(p + 2);
                if (lo < 0xDC00 || lo >= 0xE000)
                    return ERR_INVALID;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                return ERR_INVALID;
            }
            rc = put_utf8(b, cp);
            if (rc)
                return rc;
            continue;
        }
        default:
            c = e; /* " \ / */
        }
        rc = buf_putc(b, c);
        if (rc)
            return rc;
    }
    return 0;
}

const char *jval_type_name(enum jtype t)
{
    switch (t) {
    case JT_STRING:
        return "string";
    case JT_NUMBER:
        return "number";
    case JT_TRUE:
    case JT_FALSE:
        return "boolean";
    case JT_NULL:
        return "null";
    case JT_OBJECT:
        return "object";
    case JT_ARRAY:
        return "array";
    }
    return "value";
}
