/*
 * Run directory reader: run.json through cJSON (small, read once) and the records file
 * through a hand-written scanner for the one flat object shape records-format.md fixes.
 */
#include "records_read.h"

#include "i64map.h"
#include "jscan.h"
#include "membyte.h"
#include "xalloc.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

size_t strv_unescape(struct strv s, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return 0;
    for (size_t i = 0; i < s.n && o + 1 < cap; i++) {
        char c = s.p[i];
        if (c != '\\' || i + 1 >= s.n) {
            out[o++] = c;
            continue;
        }
        char e = s.p[++i];
        switch (e) {
        case 'n':
            out[o++] = '\n';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'u': {
            unsigned v = 0;
            size_t k;
            for (k = 0; k < 4 && i + 1 + k < s.n; k++) {
                char h = s.p[i + 1 + k];
                v = v * 16 + (unsigned)(h >= 'a'   ? h - 'a' + 10
                                        : h >= 'A' ? h - 'A' + 10
                                                   : h - '0');
            }
            i += k;
            /* BMP only; surrogates become '?', which is enough for error messages. */
            if (v < 0x80) {
                out[o++] = (char)v;
            } else if (v < 0x800 && o + 2 < cap) {
                out[o++] = (char)(0xc0 | (v >> 6));
                out[o++] = (char)(0x80 | (v & 0x3f));
            } else if ((v < 0xd800 || v > 0xdfff) && o + 3 < cap) {
                out[o++] = (char)(0xe0 | (v >> 12));
                out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
                out[o++] = (char)(0x80 | (v & 0x3f));
            } else {
                out[o++] = '?';
            }
            break;
        }
        default:
            out[o++] = e;
            break;
        }
    }
    out[o] = '\0';
    return o;
}

/* ------------------------------------------------------------------ run.json */

static const char *jstr(const cJSON *o, const char *k, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : def;
}

static bool jbool(const cJSON *o, const char *k, bool def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

/* Bounds of the numbers run.json holds. They keep every later sum and difference inside
 * int64 (a cast of 1e19 or INT64_MAX - INT64_MIN is undefined, and a trap in this build):
 * wall clocks up to 2^62 ns (year 2116), the monotonic anchor up to 2^60 ns (36 years of
 * uptime), counts up to 2^53. */
#define META_REAL_MAX   ((int64_t)1 << 62)
#define META_MONO_MAX   ((int64_t)1 << 60)
#define META_COUNT_MAX  ((int64_t)1 << 53)
#define META_SHARDS_MAX 4096

/* Every integer of run.json is read here, exactly (cJSON keeps numbers as doubles, and
 * nanoseconds since 1970 exceed 2^53) and range-checked: 1 with *out, 0 when absent or
 * null (*out = def), < 0 with d filled ("FILE: field 'a.b': value out of range"). */
static int meta_int(const char *path, const char *text, size_t len, const char *k0, const char *k1,
                    int64_t lo, int64_t hi, int64_t def, int64_t *out, struct diag *d)
{
    const char *keys[2] = {k0, k1};
    char name[96];
    snprintf(name, sizeof name, "%s%s%s", k0, k1 ? "." : "", k1 ? k1 : "");
    *out = def;
    struct jval v;
    int rc = jscan_find(text, len, keys, k1 ? 2 : 1, &v);
    if (rc < 0)
        return diag_at(d, ERR_PARSE, path, 0, "not valid JSON");
    if (rc == 0 || v.type == JT_NULL)
        return 0;
    rc = jval_int_in(&v, lo, hi, out);
    if (rc == ERR_TOO_LARGE)
        return diag_at(d, ERR_INVALID, path, 0,
                       "field '%s': value out of range (%.*s; expected %lld..%lld)", name,
                       v.n > 40 ? 40 : (int)v.n, v.p, (long long)lo, (long long)hi);
    if (rc)
        return diag_at(d, ERR_INVALID, path, 0, "field '%s': must be an integer", name);
    return 1;
}

int run_meta_parse(struct run_meta *m, const char *dir, const char *path, const char *text,
                   size_t len, struct diag *d)
{
    memset(m, 0, sizeof *m);
    /* jscan checks the whole document first (strict RFC 8259, every nested value), so the
     * numbers below are read from text cJSON agrees is JSON. */
    struct jiter it;
    struct jval k, v;
    int rc = jscan_object(&it, text, len);
    while (rc == 0 && (rc = jscan_member(&it, &k, &v)) == 1)
        rc = 0;
    if (rc < 0) {
        long line = 1;
        for (size_t i = 0; i < it.err_off && i < len; i++)
            line += text[i] == '\n';
        return diag_at(d, ERR_PARSE, path, line, "not a JSON object (%s)",
                       it.err ? it.err : "malformed");
    }
    cJSON *j = cJSON_ParseWithLength(text, len);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return diag_at(d, ERR_PARSE, path, 1, "not a JSON object");
    }
    const char *fmt = jstr(j, "format", NULL);
    if (!fmt || strcmp(fmt, "metronome-run") != 0) {
        cJSON_Delete(j);
        return diag_at(d, ERR_INVALID, path, 1, "field 'format': expected \"metronome-run\"");
    }
    int64_t version = 0, idx = 0, cnt = 1;
    rc = meta_int(path, text, len, "version", NULL, INT64_MIN, INT64_MAX, 0, &version, d);
    if (rc >= 0 && version != RUN_FORMAT_VERSION) {
        /* A later format may change what fields mean: refuse, never guess. */
        rc = rc == 0 ? diag_at(d, ERR_UNSUPPORTED, path, 0, "field 'version' is missing")
                     : diag_at(d, ERR_UNSUPPORTED, path, 0,
                               "run format version %lld is not supported (this build reads %d)",
                               (long long)version, RUN_FORMAT_VERSION);
    }
    const cJSON *anchor = cJSON_GetObjectItemCaseSensitive(j, "anchor");
    if (rc >= 0 &&
        (!cJSON_IsObject(anchor) || !cJSON_IsNumber(cJSON_GetObjectItem(anchor, "mono_ns")) ||
         !cJSON_IsNumber(cJSON_GetObjectItem(anchor, "real_ns"))))
        rc = diag_at(d, ERR_INVALID, path, 1, "field 'anchor': needs mono_ns and real_ns");
    if (rc >= 0)
        rc =
            meta_int(path, text, len, "anchor", "mono_ns", 0, META_MONO_MAX, 0, &m->anchor_mono, d);
    if (rc >= 0)
        rc =
            meta_int(path, text, len, "anchor", "real_ns", 0, META_REAL_MAX, 0, &m->anchor_real, d);
    if (rc >= 0)
        rc = meta_int(path, text, len, "started_real_ns", NULL, 0, META_REAL_MAX, 0,
                      &m->started_real, d);
    if (rc >= 0)
        rc = meta_int(path, text, len, "ended_real_ns", NULL, 0, META_REAL_MAX, 0, &m->ended_real,
                      d);
    if (rc >= 0)
        rc = meta_int(path, text, len, "shard", "count", 1, META_SHARDS_MAX, 1, &cnt, d);
    if (rc >= 0)
        rc = meta_int(path, text, len, "shard", "index", 0, cnt - 1, 0, &idx, d);
    static const char *const counts[] = {"sent", "completed", "errors", "cancelled", "not_sent"};
    int64_t cv[5];
    for (size_t i = 0; i < 5 && rc >= 0; i++)
        rc = meta_int(path, text, len, "counts", counts[i], 0, META_COUNT_MAX, -1, &cv[i], d);
    if (rc >= 0)
        rc = meta_int(path, text, len, "counts", "reads_kernel_stamped", 0, META_COUNT_MAX, -1,
                      &m->reads_kernel, d);
    if (rc >= 0)
        rc = meta_int(path, text, len, "counts", "reads_user_stamped", 0, META_COUNT_MAX, -1,
                      &m->reads_user, d);
    if (rc >= 0)
        rc = meta_int(path, text, len, "start", "at_real_ns", 0, META_REAL_MAX, 0,
                      &m->start_at_real, d);
    if (rc >= 0)
        rc = meta_int(path, text, len, "start", "at_mono_ns", 0, META_MONO_MAX, 0,
                      &m->start_at_mono, d);
    if (rc >= 0)
        rc = meta_int(path, text, len, "start", "t0_mono_ns", 0, META_MONO_MAX, 0, &m->t0_mono, d);
    if (rc >= 0)
        rc = meta_int(path, text, len, "clock", "esterror_ns", 0, META_REAL_MAX, -1,
                      &m->clock_esterror, d);
    if (rc >= 0)
        rc = meta_int(path, text, len, "clock", "maxerror_ns", 0, META_REAL_MAX, -1,
                      &m->clock_maxerror, d);
    if (rc >= 0)
        rc = meta_int(path, text, len, "config", "seed", INT64_MIN, INT64_MAX, 0, &m->seed, d);
    /* replay writes config.random_seed: read from the text, exact (as a cJSON double a
     * 63-bit seed such as --vary-seed-per-trial's would round, and the export said null) */
    if (rc == 0)
        rc = meta_int(path, text, len, "config", "random_seed", 0, INT64_MAX, 0, &m->seed, d);
    if (rc < 0) {
        cJSON_Delete(j);
        memset(m, 0, sizeof *m);
        return rc;
    }
    m->has_seed = rc == 1;
    m->sent = cv[0];
    m->completed = cv[1];
    m->errors = cv[2];
    m->cancelled_n = cv[3];
    m->not_sent = cv[4];
    m->json = j;
    m->dir = xstrdup(dir);
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    size_t b = dl;
    while (b > 0 && dir[b - 1] != '/')
        b--;
    m->label = xstrndup(dir + b, dl - b);
    m->shard_index = (int)idx;
    m->shard_count = (int)cnt;
    m->hostname = jstr(cJSON_GetObjectItemCaseSensitive(j, "host"), "hostname", "");
    m->trace_sha256 = jstr(cJSON_GetObjectItemCaseSensitive(j, "trace"), "sha256", "");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
    m->endpoint = jstr(cfg, "endpoint_type", jstr(cfg, "endpoint-type", jstr(cfg, "type", "chat")));
    m->streaming = jbool(cfg, "streaming", jbool(cfg, "stream", true));
    m->record_http = jbool(cfg, "record_http", false);
    m->clock_synced = jbool(cJSON_GetObjectItemCaseSensitive(j, "clock"), "synchronized", false);
    m->complete = jbool(j, "complete", false);
    m->cancelled = jbool(j, "cancelled", false);
    return 0;
}

int run_meta_load(struct run_meta *m, const char *dir, struct diag *d)
{
    memset(m, 0, sizeof *m);
    char path[4096];
    snprintf(path, sizeof path, "%s/run.json", dir);
    char *text = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return diag_at(d, ERR_IO, path, 0, "cannot open: %s", strerror(errno));
    size_t cap = 1 << 16;
    text = xmalloc(cap + 1);
    size_t k;
    while ((k = fread(text + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) {
            if (cap >= (64u << 20)) {
                fclose(f);
                free(text);
                return diag_at(d, ERR_TOO_LARGE, path, 0, "larger than 64 MiB");
            }
            cap *= 2;
            text = xrealloc(text, cap + 1);
        }
    }
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    if (rerr) {
        free(text);
        return diag_at(d, ERR_IO, path, 0, "cannot read: %s", strerror(rerr));
    }
    text[len] = '\0';
    int rc = run_meta_parse(m, dir, path, text, len, d);
    free(text);
    return rc;
}

void run_meta_free(struct run_meta *m)
{
    cJSON_Delete(m->json);
    free(m->dir);
    free(m->label);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------ line scanner */

void rec_parser_init(struct rec_parser *p)
{
    memset(p, 0, sizeof *p);
    p->max_chunks = 1u << 24;
}

void rec_parser_free(struct rec_parser *p)
{
    for (int i = 0; i < 4; i++)
        free(p->arr[i]);
    memset(p, 0, sizeof *p);
}

struct scan {
    const char *s, *end;
    const char *what; /* static message on failure */
};

#define FAIL(sc, msg) ((sc)->what = (msg), ERR_PARSE)

static inline void ws(struct scan *c)
{
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\r' || *c->s == '\n'))
        c->s++;
}

static inline int expect(struct scan *c, char ch)
{
    ws(c);
    if (c->s >= c->end || *c->s != ch)
        return ch == ':'   ? FAIL(c, "expected ':'")
               : ch == ']' ? FAIL(c, "expected ']'")
                           : FAIL(c, "unexpected character");
    c->s++;
    return 0;
}

static int scan_string(struct scan *c, struct strv *out)
{
    ws(c);
    if (c->s >= c->end || *c->s != '"')
        return FAIL(c, "expected a string");
    const char *b = ++c->s;
    for (;;) {
        const char *q = memchr(c->s, '"', (size_t)(c->end - c->s));
        if (!q) {
            c->s = c->end;
            return FAIL(c, "unterminated string");
        }
        /* Count the backslashes before the quote: odd means it is escaped. */
        size_t bs = 0;
        while (q - bs > b && q[-(ptrdiff_t)bs - 1] == '\\')
            bs++;
        c->s = q + 1;
        if (bs % 2 == 0) {
            out->p = b;
            out->n = (size_t)(q - b);
            for (const char *x = b; x < q; x++)
                if ((unsigned char)*x < 0x20)
                    return FAIL(c, "control character in string");
            return 0;
        }
    }
}

static int scan_int(struct scan *c, int64_t *out)
{
    ws(c);
    const char *s = c->s, *end = c->end;
    bool neg = false;
    if (s < end && *s == '-') {
        neg = true;
        s++;
    }
    const char *d0 = s;
    uint64_t v = 0;
    /* 19 digits always fit in 64 bits; the range check comes after the loop. */
    const char *lim = end - s > 19 ? s + 19 : end;
    /* Timestamps have 10+ digits: take eight at a time while eight digits follow. */
    while (lim - s >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        if ((w & 0xf0f0f0f0f0f0f0f0ULL) != 0x3030303030303030ULL ||
            ((w + 0x0606060606060606ULL) & 0xf0f0f0f0f0f0f0f0ULL) != 0x3030303030303030ULL)
            break;
        w -= 0x3030303030303030ULL;
        w = (w * 10) + (w >> 8);
        w = (((w & 0x000000ff000000ffULL) * (100 + (1000000ULL << 32))) +
             (((w >> 16) & 0x000000ff000000ffULL) * (1 + (10000ULL << 32)))) >>
            32;
        v = v * 100000000ULL + w;
        s += 8;
    }
    while (s < lim && (unsigned)(*s - '0') < 10)
        v = v * 10 + (uint64_t)(*s++ - '0');
    if (s == d0)
        return FAIL(c, "expected an integer");
    if (s < end && ((unsigned)(*s - '0') < 10))
        return FAIL(c, "integer out of range");
    if (s < end && (*s == '.' || *s == 'e' || *s == 'E'))
        return FAIL(c, "expected an integer");
    if (v > (uint64_t)INT64_MAX + neg)
        return FAIL(c, "integer out of range");
    *out = neg ? (int64_t)((uint64_t)0 - v) : (int64_t)v;
    c->s = s;
    return 0;
}

/* Bounds of the integers a record holds, checked as they are read so that no later sum,
 * difference, shift by a shard's anchor or conversion to int can overflow (undefined in C,
 * a trap in this build): times within 2^58 ns (9 years) of the anchor, so that with a
 * shard's shift (also within 2^58) a run's span stays under 2^60 ns and under 2^31
 * seconds; per-chunk tokens within 2^31 (a sum over 2^24 chunks stays far from 2^63);
 * other counts within 2^40, indexes within 2^53, HTTP status 0..999. */
#define REC_T_MAX ((int64_t)1 << 58)
#define REC_N_MAX ((int64_t)1 << 40)
#define REC_I_MAX ((int64_t)1 << 53)

/* scan_int, then lo <= value <= hi, else ERR_INVALID at the value with the static
 * message `what` ("field 't_end': value out of range"). */
static int scan_int_in(struct scan *c, int64_t *out, int64_t lo, int64_t hi, const char *what)
{
    ws(c);
    const char *at = c->s;
    if (scan_int(c, out))
        return ERR_PARSE;
    if (*out < lo || *out > hi) {
        c->s = at;
        c->what = what;
        return ERR_INVALID;
    }
    return 0;
}

#define RANGE_MSG(f)    "field '" f "': value out of range"
#define T_IN(c, dst, f) scan_int_in(c, dst, -REC_T_MAX, REC_T_MAX, RANGE_MSG(f))
#define N_IN(c, dst, f) scan_int_in(c, dst, 0, REC_N_MAX, RANGE_MSG(f))

static int scan_lit(struct scan *c, const char *lit, size_t n)
{
    if ((size_t)(c->end - c->s) < n || memcmp(c->s, lit, n) != 0)
        return FAIL(c, "invalid literal");
    c->s += n;
    return 0;
}

static int scan_bool(struct scan *c, bool *out)
{
    ws(c);
    if (c->s < c->end && *c->s == 't') {
        *out = true;
        return scan_lit(c, "true", 4);
    }
    *out = false;
    if (c->s < c->end && *c->s == 'f')
        return scan_lit(c, "false", 5);
    return FAIL(c, "expected true or false");
}

/* Skips any JSON value (for keys this reader does not know). */
static int skip_value(struct scan *c, int depth)
{
    ws(c);
    if (depth > 64)
        return FAIL(c, "nested too deeply");
    if (c->s >= c->end)
        return FAIL(c, "expected a value");
    char ch = *c->s;
    if (ch == '"') {
        struct strv t;
        return scan_string(c, &t);
    }
    if (ch == '{' || ch == '[') {
        char close = ch == '{' ? '}' : ']';
        c->s++;
        ws(c);
        if (c->s < c->end && *c->s == close) {
            c->s++;
            return 0;
        }
        for (;;) {
            if (ch == '{') {
                struct strv k;
                if (scan_string(c, &k) || expect(c, ':'))
                    return ERR_PARSE;
            }
            if (skip_value(c, depth + 1))
                return ERR_PARSE;
            ws(c);
            if (c->s < c->end && *c->s == ',') {
                c->s++;
                continue;
            }
            return expect(c, close);
        }
    }
    if (ch == 't')
        return scan_lit(c, "true", 4);
    if (ch == 'f')
        return scan_lit(c, "false", 5);
    if (ch == 'n')
        return scan_lit(c, "null", 4);
    const char *b = c->s;
    if (c->s < c->end && *c->s == '-')
        c->s++;
    while (c->s < c->end && ((*c->s >= '0' && *c->s <= '9') || *c->s == '.' || *c->s == 'e' ||
                             *c->s == 'E' || *c->s == '+' || *c->s == '-'))
        c->s++;
    if (c->s == b || (c->s == b + 1 && *b == '-'))
        return FAIL(c, "expected a value");
    return 0;
}

static int grow(struct rec_parser *p, int a, size_t need)
{
    if (need <= p->cap[a])
        return 0;
    if (need > p->max_chunks)
        return ERR_TOO_LARGE;
    size_t cap = p->cap[a] ? p->cap[a] * 2 : 256;
    while (cap < need)
        cap *= 2;
    p->arr[a] = xrealloc(p->arr[a], cap * sizeof(int64_t));
    p->cap[a] = cap;
    return 0;
}

/* [[t,tok],...] into arrays a (times) and a+1 (tokens). */
static int scan_chunks(struct scan *c, struct rec_parser *p, int a, size_t *count)
{
    size_t n = 0;
    if (expect(c, '['))
        return ERR_PARSE;
    ws(c);
    if (c->s < c->end && *c->s == ']') {
        c->s++;
        *count = 0;
        return 0;
    }
    for (;;) {
        if (grow(p, a, n + 1) || grow(p, a + 1, n + 1)) {
            c->what = "too many chunks in one record";
            return ERR_TOO_LARGE;
        }
        /* The writer emits "[t,n]" without spaces; expect() handles any other spelling. */
        if (c->s < c->end && *c->s == '[')
            c->s++;
        else if (expect(c, '['))
            return ERR_PARSE;
        if (scan_int_in(c, &p->arr[a][n], -REC_T_MAX, REC_T_MAX, RANGE_MSG("chunks[*][0]")))
            return ERR_PARSE;
        if (c->s < c->end && *c->s == ',')
            c->s++;
        else if (expect(c, ','))
            return ERR_PARSE;
        if (scan_int_in(c, &p->arr[a + 1][n], 0, INT32_MAX, RANGE_MSG("chunks[*][1]")))
            return ERR_PARSE;
        if (c->s < c->end && *c->s == ']')
            c->s++;
        else if (expect(c, ']'))
            return ERR_PARSE;
        n++;
        ws(c);
        if (c->s < c->end && *c->s == ',') {
            c->s++;
            continue;
        }
        if (expect(c, ']'))
            return ERR_PARSE;
        *count = n;
        return 0;
    }
}

#define KEY(lit) (k.n == sizeof(lit) - 1 && memcmp(k.p, lit, sizeof(lit) - 1) == 0)

static int scan_usage(struct scan *c, struct rec *r)
{
    if (expect(c, '{'))
        return ERR_PARSE;
    ws(c);
    if (c->s < c->end && *c->s == '}') {
        c->s++;
        return 0;
    }
    for (;;) {
        struct strv k;
        if (scan_string(c, &k) || expect(c, ':'))
            return ERR_PARSE;
        ws(c);
        int64_t *dst = KEY("prompt_tokens")       ? &r->usage_prompt
                       : KEY("completion_tokens") ? &r->usage_completion
                       : KEY("reasoning_tokens")  ? &r->usage_reasoning
                                                  : NULL;
        if (dst && c->s < c->end && *c->s == 'n') {
            if (scan_lit(c, "null", 4))
                return ERR_PARSE;
        } else if (dst) {
            if (N_IN(c, dst, "usage"))
                return ERR_PARSE;
        } else if (skip_value(c, 1)) {
            return ERR_PARSE;
        }
        ws(c);
        if (c->s < c->end && *c->s == ',') {
            c->s++;
            continue;
        }
        return expect(c, '}');
    }
}

static int scan_error(struct scan *c, struct rec *r)
{
    ws(c);
    if (c->s < c->end && *c->s == 'n')
        return scan_lit(c, "null", 4);
    if (expect(c, '{'))
        return ERR_PARSE;
    r->has_error = true;
    ws(c);
    if (c->s < c->end && *c->s == '}') {
        c->s++;
        return 0;
    }
    for (;;) {
        struct strv k;
        if (scan_string(c, &k) || expect(c, ':'))
            return ERR_PARSE;
        ws(c);
        if (KEY("code")) {
            if (c->s < c->end && *c->s == 'n') {
                if (scan_lit(c, "null", 4))
                    return ERR_PARSE;
            } else if (scan_int_in(c, &r->err_code, -REC_N_MAX, REC_N_MAX,
                                   RANGE_MSG("error.code"))) {
                return ERR_PARSE;
            }
        } else if (KEY("type")) {
            if (scan_string(c, &r->err_type))
                return ERR_PARSE;
        } else if (KEY("message")) {
            if (scan_string(c, &r->err_msg))
                return ERR_PARSE;
        } else if (skip_value(c, 1)) {
            return ERR_PARSE;
        }
        ws(c);
        if (c->s < c->end && *c->s == ',') {
            c->s++;
            continue;
        }
        return expect(c, '}');
    }
}

static int scan_field(struct scan *c, struct rec_parser *p, struct rec *r, struct strv k)
{
    /* null means absent for every field: the default stays. */
    ws(c);
    if (c->s < c->end && *c->s == 'n')
        return scan_lit(c, "null", 4);
    switch (k.n) {
    case 1:
        if (KEY("i"))
            return scan_int_in(c, &r->i, 0, REC_I_MAX, RANGE_MSG("i"));
        break;
    case 3:
        if (KEY("isl"))
            return N_IN(c, &r->isl, "isl");
        if (KEY("url"))
            return scan_int_in(c, &r->url, 0, 65535, RANGE_MSG("url"));
        break;
    case 4:
        if (KEY("conv"))
            return scan_string(c, &r->conv);
        if (KEY("turn"))
            return scan_int_in(c, &r->turn, 0, INT32_MAX, RANGE_MSG("turn"));
        if (KEY("conn"))
            return N_IN(c, &r->conn, "conn");
        break;
    case 5:
        if (KEY("phase")) {
            struct strv v;
            if (scan_string(c, &v))
                return ERR_PARSE;
            r->phase = v.n == 6 && memcmp(v.p, "warmup", 6) == 0 ? REC_WARMUP : REC_PROFILE;
            return 0;
        }
        if (KEY("model"))
            return scan_string(c, &r->model);
        if (KEY("t_tls"))
            return T_IN(c, &r->t_tls, "t_tls");
        if (KEY("usage")) {
            r->has_usage = true;
            return scan_usage(c, r);
        }
        if (KEY("error"))
            return scan_error(c, r);
        break;
    case 6:
        if (KEY("worker"))
            return scan_int_in(c, &r->worker, 0, 65535, RANGE_MSG("worker"));
        if (KEY("reused"))
            return scan_bool(c, &r->reused);
        if (KEY("stream"))
            return scan_bool(c, &r->stream);
        if (KEY("t_sent"))
            return T_IN(c, &r->t_sent, "t_sent");
        if (KEY("t_head"))
            return T_IN(c, &r->t_head, "t_head");
        if (KEY("t_last"))
            return T_IN(c, &r->t_last, "t_last");
        if (KEY("status"))
            return scan_int_in(c, &r->status, 0, 999, RANGE_MSG("status"));
        if (KEY("chunks"))
            return scan_chunks(c, p, 0, &r->nchunks);
        if (KEY("finish"))
            return scan_string(c, &r->finish);
        break;
    case 7:
        if (KEY("osl_req"))
            return N_IN(c, &r->osl_req, "osl_req");
        if (KEY("t_start"))
            return T_IN(c, &r->t_start, "t_start");
        if (KEY("t_first"))
            return T_IN(c, &r->t_first, "t_first");
        if (KEY("rchunks"))
            return scan_chunks(c, p, 2, &r->nrchunks);
        break;
    default:
        break;
    }
    if (KEY("t_end"))
        return T_IN(c, &r->t_end, "t_end");
    if (KEY("t_intended"))
        return T_IN(c, &r->t_intended, "t_intended");
    if (KEY("t_dispatch"))
        return T_IN(c, &r->t_dispatch, "t_dispatch");
    if (KEY("t_connected"))
        return T_IN(c, &r->t_connected, "t_connected");
    if (KEY("preconnect_ns"))
        return N_IN(c, &r->preconnect_ns, "preconnect_ns");
    if (KEY("bad_chunks"))
        return N_IN(c, &r->bad_chunks, "bad_chunks");
    if (KEY("tx_bytes"))
        return N_IN(c, &r->tx_bytes, "tx_bytes");
    if (KEY("tx_writes"))
        return N_IN(c, &r->tx_writes, "tx_writes");
    if (KEY("rx_bytes"))
        return N_IN(c, &r->rx_bytes, "rx_bytes");
    if (KEY("rx_reads"))
        return N_IN(c, &r->rx_reads, "rx_reads");
    if (KEY("cancelled"))
        return scan_bool(c, &r->cancelled);
    if (KEY("text")) {
        r->has_text = true;
        return scan_string(c, &r->text);
    }
    if (KEY("reasoning_text"))
        return scan_string(c, &r->rtext);
    if (KEY("first_chunk_tokens"))
        return N_IN(c, &r->first_chunk_tokens, "first_chunk_tokens");
    if (KEY("http")) {
        ws(c);
        const char *s0 = c->s;
        if (c->s >= c->end || *c->s != '{')
            return FAIL(c, "'http' must be an object");
        if (skip_value(c, 1))
            return ERR_PARSE;
        r->http = (struct strv){s0, (size_t)(c->s - s0)};
        return 0;
    }
    return skip_value(c, 1);
}

int rec_parse(struct rec_parser *p, const char *line, size_t n, struct rec *r, size_t *col,
              const char **what)
{
    static const struct rec zero = {
        .i = REC_ABSENT,
        .turn = 0,
        .worker = 0,
        .conn = REC_ABSENT,
        .url = 0,
        .stream = true,
        .isl = REC_ABSENT,
        .osl_req = REC_ABSENT,
        .t_intended = REC_ABSENT,
        .t_dispatch = REC_ABSENT,
        .t_start = REC_ABSENT,
        .preconnect_ns = REC_ABSENT,
        .t_connected = REC_ABSENT,
        .t_tls = REC_ABSENT,
        .t_sent = REC_ABSENT,
        .t_head = REC_ABSENT,
        .t_first = REC_ABSENT,
        .t_last = REC_ABSENT,
        .t_end = REC_ABSENT,
        .status = 0,
        .usage_prompt = REC_ABSENT,
        .usage_completion = REC_ABSENT,
        .first_chunk_tokens = REC_ABSENT,
        .usage_reasoning = REC_ABSENT,
        .err_code = REC_ABSENT,
        .tx_bytes = REC_ABSENT,
        .tx_writes = REC_ABSENT,
        .rx_bytes = REC_ABSENT,
        .rx_reads = REC_ABSENT,
        .text_tokens = REC_ABSENT,
        .rtext_tokens = REC_ABSENT,
    };
    *r = zero;
    struct scan c = {line, line + n, NULL};
    int rc = 0;
    if (expect(&c, '{')) {
        rc = ERR_PARSE;
        c.what = "a record line must be a JSON object";
        goto fail;
    }
    ws(&c);
    if (c.s < c.end && *c.s == '}') {
        c.s++;
    } else {
        for (;;) {
            struct strv k;
            if (scan_string(&c, &k) || expect(&c, ':')) {
                rc = ERR_PARSE;
                goto fail;
            }
            rc = scan_field(&c, p, r, k);
            if (rc)
                goto fail;
            ws(&c);
            if (c.s < c.end && *c.s == ',') {
                c.s++;
                continue;
            }
            if (expect(&c, '}')) {
                rc = ERR_PARSE;
                c.what = "expected ',' or '}'";
                goto fail;
            }
            break;
        }
    }
    ws(&c);
    if (c.s != c.end) {
        rc = ERR_PARSE;
        c.what = "trailing characters after the record";
        goto fail;
    }
    r->chunk_t = p->arr[0];
    r->chunk_tok = p->arr[1];
    r->rchunk_t = p->arr[2];
    r->rchunk_tok = p->arr[3];
    if (r->i == REC_ABSENT) {
        c.s = line;
        c.what = "field 'i' is missing";
        rc = ERR_INVALID;
        goto fail;
    }
    return 0;
fail:
    *col = (size_t)(c.s - line) + 1;
    *what = c.what ? c.what : "malformed record";
    return rc ? rc : ERR_PARSE;
}

/* ------------------------------------------------------------------ frames */

struct src {
    const unsigned char *mem; /* in-memory source, or */
    int fd;                   /* a file read with pread */
    uint64_t size;
};

static bool src_read(const struct src *s, uint64_t off, unsigned char *out, size_t n)
{
    if (off > s->size || s->size - off < n)
        return false;
    if (s->mem) {
        memcpy(out, s->mem + off, n);
        return true;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(s->fd, out + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    return true;
}

static inline uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* End offset of the last complete frame: walks frame headers and block headers (RFC
 * 8878 §3.1) without decompressing. Unknown bytes end the walk there. */
static uint64_t complete_prefix(const struct src *s)
{
    uint64_t off = 0, good = 0;
    unsigned char h[18];
    while (off < s->size) {
        if (!src_read(s, off, h, 4))
            break;
        uint32_t magic = le32(h);
        if ((magic & 0xfffffff0u) == 0x184d2a50u) {
            if (!src_read(s, off + 4, h, 4))
                break;
            uint64_t next = off + 8 + le32(h);
            if (next > s->size)
                break;
            off = good = next;
            continue;
        }
        if (magic != 0xfd2fb528u || !src_read(s, off + 4, h, 1))
            break;
        unsigned fhd = h[0];
        unsigned fcs_flag = fhd >> 6, single = (fhd >> 5) & 1, checksum = (fhd >> 2) & 1,
                 did = fhd & 3;
        static const unsigned did_size[4] = {0, 1, 2, 4};
        static const unsigned fcs_size[4] = {0, 2, 4, 8};
        uint64_t p = off + 5 + (single ? 0 : 1) + did_size[did] +
                     (fcs_flag == 0 ? (single ? 1 : 0) : fcs_size[fcs_flag]);
        bool ok = false;
        for (;;) {
            if (!src_read(s, p, h, 3))
                break;
            uint32_t bh = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16;
            unsigned last = bh & 1, type = (bh >> 1) & 3;
            uint32_t bsize = bh >> 3;
            if (type == 3)
                break;
            p += 3 + (type == 1 ? 1 : bsize);
            if (p > s->size)
                break;
            if (last) {
                p += checksum ? 4 : 0;
                ok = p <= s->size;
                break;
            }
        }
        if (!ok)
            break;
        off = good = p;
    }
    return good;
}

size_t rec_zstd_complete_prefix(const unsigned char *buf, size_t n)
{
    struct src s = {buf, -1, n};
    return (size_t)complete_prefix(&s);
}

/* ------------------------------------------------------------------ stream */

struct rec_stream {
    int fd;
    char *path;
    bool zstd;
    ZSTD_DCtx *dctx;
    uint64_t limit, pos; /* bytes of the file to read, bytes read */
    uint64_t dropped;
    unsigned char *in;
    size_t in_cap, in_pos, in_len;
    char *buf; /* decompressed window: lines are views into it */
    size_t buf_cap, buf_start, buf_len;
    long lineno;
    bool unterminated;
};

#define REC_MAX_LINE (256u << 20)

int rec_stream_open(struct rec_stream **out, const char *path, struct diag *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return diag_at(d, ERR_IO, path, 0, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return diag_at(d, ERR_IO, path, 0, "cannot stat: %s", strerror(e));
    }
    struct rec_stream *s = xcalloc(1, sizeof *s);
    s->fd = fd;
    s->path = xstrdup(path);
    unsigned char magic[4] = {0};
    struct src src = {NULL, fd, (uint64_t)st.st_size};
    size_t pl = strlen(path);
    /* A .zst name is zstd even when a crash left fewer bytes than its magic number. */
    s->zstd = (src_read(&src, 0, magic, 4) && le32(magic) == 0xfd2fb528u) ||
              (pl > 4 && strcmp(path + pl - 4, ".zst") == 0);
    s->limit = s->zstd ? complete_prefix(&src) : (uint64_t)st.st_size;
    s->dropped = (uint64_t)st.st_size - s->limit;
    if (s->zstd)
        s->dctx = ZSTD_createDCtx();
    s->in_cap = 1u << 20;
    s->in = xmalloc(s->in_cap);
    s->buf_cap = 4u << 20;
    s->buf = xmalloc(s->buf_cap + 1);
    *out = s;
    return 0;
}

static int fill(struct rec_stream *s, struct diag *d)
{
    if (s->in_pos < s->in_len || s->pos >= s->limit)
        return 0;
    size_t want = s->in_cap;
    if (s->limit - s->pos < want)
        want = (size_t)(s->limit - s->pos);
    ssize_t k;
    do
        k = read(s->fd, s->in, want);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return diag_at(d, ERR_IO, s->path, 0, "cannot read: %s", strerror(errno));
    if (k == 0)
        s->limit = s->pos; /* the file shrank under us */
    s->pos += (uint64_t)k;
    s->in_pos = 0;
    s->in_len = (size_t)k;
    return 0;
}

/* Adds decompressed bytes to the window: > 0 added, 0 at the end, < 0 error. */
static int produce(struct rec_stream *s, struct diag *d)
{
    if (s->buf_start > 0) {
        memmove(s->buf, s->buf + s->buf_start, s->buf_len - s->buf_start);
        s->buf_len -= s->buf_start;
        s->buf_start = 0;
    }
    if (s->buf_cap - s->buf_len < (1u << 16)) {
        if (s->buf_cap >= REC_MAX_LINE)
            return diag_at(d, ERR_TOO_LARGE, s->path, s->lineno + 1, "line longer than %u bytes",
                           REC_MAX_LINE);
        s->buf_cap *= 2;
        s->buf = xrealloc(s->buf, s->buf_cap + 1);
    }
    for (;;) {
        int rc = fill(s, d);
        if (rc)
            return rc;
        if (s->in_pos == s->in_len)
            return 0;
        if (!s->zstd) {
            size_t n = s->in_len - s->in_pos;
            if (n > s->buf_cap - s->buf_len)
                n = s->buf_cap - s->buf_len;
            memcpy(s->buf + s->buf_len, s->in + s->in_pos, n);
            s->in_pos += n;
            s->buf_len += n;
            return 1;
        }
        ZSTD_inBuffer in = {s->in, s->in_len, s->in_pos};
        ZSTD_outBuffer o = {s->buf + s->buf_len, s->buf_cap - s->buf_len, 0};
        size_t ret = ZSTD_decompressStream(s->dctx, &o, &in);
        s->in_pos = in.pos;
        if (ZSTD_isError(ret))
            return diag_at(d, ERR_PARSE, s->path, s->lineno + 1, "corrupt zstd data: %s",
                           ZSTD_getErrorName(ret));
        s->buf_len += o.pos;
        if (o.pos)
            return 1;
    }
}

int rec_stream_next(struct rec_stream *s, const char **line, size_t *len, struct diag *d)
{
    size_t scanned = 0;
    for (;;) {
        char *start = s->buf + s->buf_start;
        size_t avail = s->buf_len - s->buf_start;
        char *nl = membyte(start + scanned, '\n', avail - scanned);
        if (nl) {
            size_t n = (size_t)(nl - start);
            s->lineno++;
            *line = start;
            *len = n && start[n - 1] == '\r' ? n - 1 : n;
            s->buf_start += n + 1;
            return 1;
        }
        scanned = avail;
        int rc = produce(s, d);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            avail = s->buf_len - s->buf_start;
            if (avail == 0)
                return 0;
            /* A last line without its newline: maybe cut off when the run stopped. The
             * caller decides (rec_stream_last_unterminated) once it tried to parse it. */
            s->lineno++;
            s->unterminated = true;
            *line = s->buf + s->buf_start;
            *len = avail;
            s->buf_start = s->buf_len;
            return 1;
        }
    }
}

long rec_stream_lineno(const struct rec_stream *s)
{
    return s->lineno;
}

uint64_t rec_stream_dropped(const struct rec_stream *s)
{
    return s->dropped;
}

bool rec_stream_last_unterminated(const struct rec_stream *s)
{
    return s->unterminated;
}

void rec_stream_drop_last(struct rec_stream *s, size_t n)
{
    s->dropped += n;
}

void rec_stream_close(struct rec_stream *s)
{
    if (!s)
        return;
    close(s->fd);
    ZSTD_freeDCtx(s->dctx);
    free(s->in);
    free(s->buf);
    free(s->path);
    free(s);
}

/* ------------------------------------------------------------------ whole-file checks */

void rec_check_init(struct rec_check *c)
{
    memset(c, 0, sizeof *c);
    c->seen = xcalloc(1, sizeof *c->seen);
    i64map_init(c->seen);
}

void rec_check_free(struct rec_check *c)
{
    if (c->seen)
        i64map_free(c->seen);
    free(c->seen);
    memset(c, 0, sizeof *c);
}

int rec_check_add(struct rec_check *c, const struct rec *r, const char *path, long line,
                  struct diag *d)
{
    /* i is bounded by 2^53 when parsed, so the shifted key cannot overflow. */
    int64_t key = r->i * 2 + (r->phase == REC_WARMUP);
    uint32_t at = line > 0 && line < (long)UINT32_MAX ? (uint32_t)line : UINT32_MAX - 1;
    uint32_t first;
    if (!i64map_put(c->seen, key, at) && i64map_get(c->seen, key, &first))
        return diag_at(d, ERR_INVALID, path, line,
                       "duplicate record (%s i=%lld, first at line %lu): a record counted twice "
                       "would skew every metric",
                       r->phase == REC_WARMUP ? "warmup" : "profile", (long long)r->i,
                       (unsigned long)first);
    c->n++;
    if (r->t_start != REC_ABSENT && r->t_end != REC_ABSENT && r->t_end < r->t_start &&
        c->backwards++ == 0)
        c->first_backwards_line = line;
    return 0;
}

int rec_check_end(const struct rec_check *c, const struct run_meta *m, uint64_t dropped,
                  const char *path, struct diag *d)
{
    if (!m->complete)
        return 0; /* a crashed run: its counts were never written; fewer records are normal */
    if (dropped)
        return diag_at(d, ERR_INVALID, path, 0,
                       "%llu bytes after the last complete record in a run marked complete: "
                       "the file was cut or altered",
                       (unsigned long long)dropped);
    if (m->completed >= 0 && m->not_sent >= 0 && c->n != m->completed + m->not_sent)
        return diag_at(d, ERR_INVALID, path, 0,
                       "%ld records, but run.json counts %lld (completed %lld + not_sent %lld): "
                       "the file was cut or altered",
                       c->n, (long long)(m->completed + m->not_sent), (long long)m->completed,
                       (long long)m->not_sent);
    return 0;
}
