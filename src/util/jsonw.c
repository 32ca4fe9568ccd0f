#include "jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(struct jsonw *w, struct buf *b)
{
    w->b = b;
    w->depth = 0;
    w->first[0] = true;
    w->after_key = false;
    w->err = 0;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
    int rc = buf_append(w->b, s, n);
    if (rc && !w->err)
        w->err = rc;
}

/* Called before every value or key: emits the separating comma. */
static void sep(struct jsonw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth])
        put(w, ",", 1);
    w->first[w->depth] = false;
}

static void open(struct jsonw *w, char c)
{
    sep(w);
    put(w, &c, 1);
    if (w->depth < JSONW_MAX_DEPTH)
        w->depth++;
    w->first[w->depth] = true;
}

static void close_(struct jsonw *w, char c)
{
    if (w->depth > 0)
        w->depth--;
    put(w, &c, 1);
}

void jsonw_obj_begin(struct jsonw *w)
{
    open(w, '{');
}

void jsonw_obj_end(struct jsonw *w)
{
    close_(w, '}');
}

void jsonw_arr_begin(struct jsonw *w)
{
    open(w, '[');
}

void jsonw_arr_end(struct jsonw *w)
{
    close_(w, ']');
}

void jsonw_key(struct jsonw *w, const char *key)
{
    sep(w);
    int rc = json_escape(w->b, key, strlen(key));
    if (rc && !w->err)
        w->err = rc;
    put(w, ":", 1);
    w->after_key = true;
}

void jsonw_str(struct jsonw *w, const char *s)
{
    jsonw_strn(w, s, strlen(s));
}

void jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
    sep(w);
    int rc = json_escape(w->b, s, n);
    if (rc && !w->err)
        w->err = rc;
}

void jsonw_int(struct jsonw *w, int64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    sep(w);
    put(w, tmp, (size_t)n);
}

void jsonw_uint(struct jsonw *w, uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    sep(w);
    put(w, tmp, (size_t)n);
}

int json_format_double(char *out, double v)
{
    if (!isfinite(v))
        return snprintf(out, 32, "null");
    if (v == floor(v) && fabs(v) < 1e15)
        return snprintf(out, 32, "%.1f", v);
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return n;
    }
    return snprintf(out, 32, "%.17g", v);
}

void jsonw_double(struct jsonw *w, double v)
{
    char tmp[32];
    int n = json_format_double(tmp, v);
    sep(w);
    put(w, tmp, (size_t)n);
}

void jsonw_fixed(struct jsonw *w, double v, int decimals)
{
    char tmp[64];
    int n = isfinite(v) ? snprintf(tmp, sizeof tmp, "%.*f", decimals, v)
                        : snprintf(tmp, sizeof tmp, "null");
    sep(w);
    put(w, tmp, (size_t)n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
    sep(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_null(struct jsonw *w)
{
    sep(w);
    put(w, "null", 4);
}

void jsonw_raw(struct jsonw *w, const char *json, size_t n)
{
    sep(w);
    put(w, json, n);
}

int json_escape(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int rc = buf_reserve(b, n + 2);
    if (rc)
        return rc;
    buf_putc(b, '"');
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20) {
            u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = hex[c >> 4], u[5] = hex[c & 15];
        } else
            continue;
        if ((rc = buf_append(b, s + run, i - run)))
            return rc;
        rc = esc ? buf_puts(b, esc) : buf_append(b, u, 6);
        if (rc)
            return rc;
        run = i + 1;
    }
    if ((rc = buf_append(b, s + run, n - run)))
        return rc;
    return buf_putc(b, '"');
}
