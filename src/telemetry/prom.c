/* Prometheus / OpenMetrics text parser. Contract in include/prom.h. */
#include "prom.h"

#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *prom_type_name(enum prom_type t)
{
    switch (t) {
    case PROM_COUNTER:
        return "counter";
    case PROM_GAUGE:
        return "gauge";
    case PROM_HISTOGRAM:
        return "histogram";
    case PROM_SUMMARY:
        return "summary";
    case PROM_INFO:
        return "info";
    case PROM_STATESET:
        return "stateset";
    case PROM_GAUGE_HISTOGRAM:
        return "gaugehistogram";
    case PROM_UNTYPED:
        break;
    }
    return "untyped";
}

int prom_parser_init(struct prom_parser *p, enum prom_dialect dialect, size_t max_line,
                     size_t max_labels, size_t max_samples)
{
    memset(p, 0, sizeof *p);
    p->max_line = max_line ? max_line : PROM_DEFAULT_MAX_LINE;
    p->max_labels = max_labels ? max_labels : PROM_DEFAULT_MAX_LABELS;
    p->max_samples = max_samples ? max_samples : PROM_DEFAULT_MAX_SAMPLES;
    p->line = malloc(p->max_line);
    p->scratch = malloc(p->max_line);
    p->fam = malloc(2 * p->max_line);
    p->labels = calloc(p->max_labels, sizeof *p->labels);
    if (!p->line || !p->scratch || !p->fam || !p->labels) {
        prom_parser_free(p);
        return ERR_TOO_LARGE;
    }
    prom_parser_reset(p, dialect);
    return 0;
}

void prom_parser_free(struct prom_parser *p)
{
    free(p->line);
    free(p->scratch);
    free(p->fam);
    free(p->labels);
    p->line = p->scratch = p->fam = NULL;
    p->labels = NULL;
}

void prom_parser_reset(struct prom_parser *p, enum prom_dialect dialect)
{
    p->dialect = dialect;
    p->line_len = 0;
    p->fam_len = p->help_len = 0;
    p->fam_type = PROM_UNTYPED;
    p->lineno = p->samples = 0;
    p->eof = false;
    p->failed = 0;
    p->error_line = 0;
    p->error_msg[0] = '\0';
}

enum prom_dialect prom_dialect_of(const char *ct, size_t len)
{
    static const char want[] = "openmetrics";
    size_t w = sizeof want - 1;
    for (size_t i = 0; ct && i + w <= len; i++)
        if (strncasecmp(ct + i, want, w) == 0)
            return PROM_OPENMETRICS;
    return PROM_TEXT_004;
}

/* Records a sticky failure at the current line. */
static int fail(struct prom_parser *p, int code, const char *what)
{
    p->failed = code;
    p->error_line = p->lineno;
    snprintf(p->error_msg, sizeof p->error_msg, "%s", what);
    return code;
}

/* A cursor over one line (no "\n", trailing "\r" already dropped). */
struct cur {
    const char *s;
    size_t n, i;
};

static bool at_end(const struct cur *c)
{
    return c->i >= c->n;
}

static void skip_ws(struct cur *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
        c->i++;
}

static bool is_ws(char ch)
{
    return ch == ' ' || ch == '\t';
}

static bool name_start(char ch, bool metric)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           (metric && ch == ':');
}

static bool name_char(char ch, bool metric)
{
    return name_start(ch, metric) || (ch >= '0' && ch <= '9');
}

/* Reads a metric (colons allowed) or label name; returns its length, 0 if none. */
static size_t read_name(struct cur *c, bool metric)
{
    size_t start = c->i;
    if (at_end(c) || !name_start(c->s[c->i], metric))
        return 0;
    while (c->i < c->n && name_char(c->s[c->i], metric))
        c->i++;
    return c->i - start;
}

/* Reads the whitespace-delimited token at the cursor. */
static size_t read_token(struct cur *c)
{
    size_t start = c->i;
    while (c->i < c->n && !is_ws(c->s[c->i]))
        c->i++;
    return c->i - start;
}

/* A Prometheus float: decimal (strtod's syntax minus hex and nan(...)) or NaN/Inf words. */
static bool parse_float(const char *s, size_t n, bool allow_special, double *out)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    const char *w = tmp;
    int sign = 1;
    if (*w == '+' || *w == '-') {
        sign = *w == '-' ? -1 : 1;
        w++;
    }
    if (strcasecmp(w, "inf") == 0 || strcasecmp(w, "infinity") == 0) {
        *out = sign * INFINITY;
        return allow_special;
    }
    if (strcasecmp(w, "nan") == 0) {
        *out = NAN;
        return allow_special;
    }
    bool digit = false;
    for (size_t i = 0; i < n; i++) {
        char ch = tmp[i];
        if (ch >= '0' && ch <= '9')
            digit = true;
        else if (ch != '.' && ch != 'e' && ch != 'E' && ch != '+' && ch != '-')
            return false;
    }
    if (!digit)
        return false;
    char *end = NULL;
    *out = strtod(tmp, &end);
    return end == tmp + n;
}

/* Parses `{name="value",...}` at the cursor (which is on '{'). Stores views in p->labels
 * with values unescaped into p->scratch unless `discard` (exemplars). Returns NULL or the
 * reason it failed; *too_many is set when the label cap was the reason. */
static const char *parse_labels(struct prom_parser *p, struct cur *c, bool discard, size_t *nlabels,
                                bool *too_many)
{
    size_t sp = 0;
    *nlabels = 0;
    c->i++; /* '{' */
    for (;;) {
        skip_ws(c);
        if (at_end(c))
            return "unterminated label set";
        if (c->s[c->i] == '}') {
            c->i++;
            return NULL;
        }
        size_t ns = c->i;
        size_t nl = read_name(c, false);
        if (nl == 0)
            return "bad label name";
        skip_ws(c);
        if (at_end(c) || c->s[c->i] != '=')
            return "expected '=' after label name";
        c->i++;
        skip_ws(c);
        if (at_end(c) || c->s[c->i] != '"')
            return "expected '\"' to open label value";
        c->i++;
        size_t vs = sp;
        for (;;) {
            if (at_end(c))
                return "unterminated label value";
            char ch = c->s[c->i++];
            if (ch == '"')
                break;
            if (ch == '\\') {
                if (at_end(c))
                    return "unterminated label value";
                char e = c->s[c->i++];
                if (e == 'n')
                    ch = '\n';
                else if (e == '\\' || e == '"')
                    ch = e;
                else
                    return "bad escape in label value";
            }
            if (!discard)
                p->scratch[sp++] = ch; /* unescaping never grows: sp < line length */
        }
        if (!discard) {
            if (*nlabels >= p->max_labels) {
                *too_many = true;
                return "too many labels";
            }
            struct prom_label *l = &p->labels[(*nlabels)++];
            l->name = c->s + ns;
            l->name_len = nl;
            l->value = p->scratch + vs;
            l->value_len = sp - vs;
        }
        skip_ws(c);
        if (!at_end(c) && c->s[c->i] == ',') {
            c->i++;
            continue;
        }
        if (!at_end(c) && c->s[c->i] == '}') {
            c->i++;
            return NULL;
        }
        return "expected ',' or '}' in label set";
    }
}

static bool suffix_ok(enum prom_type t, const char *suf, size_t n)
{
    static const char *const hist[] = {"_bucket", "_sum", "_count", "_created", NULL};
    static const char *const summ[] = {"_sum", "_count", "_created", NULL};
    static const char *const ctr[] = {"_total", "_created", NULL};
    static const char *const ghist[] = {"_bucket", "_gsum", "_gcount", NULL};
    static const char *const info[] = {"_info", NULL};
    const char *const *list = NULL;
    switch (t) {
    case PROM_HISTOGRAM:
        list = hist;
        break;
    case PROM_SUMMARY:
        list = summ;
        break;
    case PROM_COUNTER:
        list = ctr;
        break;
    case PROM_GAUGE_HISTOGRAM:
        list = ghist;
        break;
    case PROM_INFO:
        list = info;
        break;
    default:
        return false;
    }
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, suf, n) == 0)
            return true;
    return false;
}

static int parse_comment(struct prom_parser *p, struct cur *c)
{
    c->i++; /* '#' */
    skip_ws(c);
    size_t ks = c->i;
    size_t kn = read_token(c);
    const char *kw = c->s + ks;
    bool help = kn == 4 && memcmp(kw, "HELP", 4) == 0;
    bool type = kn == 4 && memcmp(kw, "TYPE", 4) == 0;
    if (kn == 3 && memcmp(kw, "EOF", 3) == 0) {
        skip_ws(c);
        if (at_end(c)) {
            p->eof = true;
            return 0;
        }
        return 0; /* "# EOF something": a plain comment */
    }
    if (!help && !type)
        return 0; /* UNIT and free comments */
    skip_ws(c);
    size_t ns = c->i;
    size_t nn = read_name(c, true);
    if (nn == 0 || (!at_end(c) && !is_ws(c->s[c->i])))
        return fail(p, ERR_PARSE, help ? "bad metric name in HELP" : "bad metric name in TYPE");
    bool same = nn == p->fam_len && memcmp(p->fam, c->s + ns, nn) == 0;
    if (!same) {
        memcpy(p->fam, c->s + ns, nn);
        p->fam_len = nn;
        p->help_len = 0;
        p->fam_type = PROM_UNTYPED;
    }
    if (c->i < c->n)
        c->i++; /* the one separator before the text */
    if (help) {
        char *h = p->fam + p->max_line;
        size_t hl = 0;
        while (c->i < c->n) {
            char ch = c->s[c->i++];
            if (ch == '\\' && c->i < c->n) {
                char e = c->s[c->i];
                if (e == 'n' || e == '\\') {
                    ch = e == 'n' ? '\n' : '\\';
                    c->i++;
                }
            }
            h[hl++] = ch;
        }
        p->help_len = hl;
        return 0;
    }
    skip_ws(c);
    size_t ts = c->i;
    size_t tn = read_token(c);
    skip_ws(c);
    if (!at_end(c))
        return fail(p, ERR_PARSE, "trailing text after TYPE");
    static const struct {
        const char *w;
        enum prom_type t;
    } types[] = {
        {"counter", PROM_COUNTER},
        {"gauge", PROM_GAUGE},
        {"histogram", PROM_HISTOGRAM},
        {"summary", PROM_SUMMARY},
        {"untyped", PROM_UNTYPED},
        {"unknown", PROM_UNTYPED},
        {"info", PROM_INFO},
        {"stateset", PROM_STATESET},
        {"gaugehistogram", PROM_GAUGE_HISTOGRAM},
    };
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        if (strlen(types[k].w) == tn && memcmp(types[k].w, c->s + ts, tn) == 0) {
            p->fam_type = types[k].t;
            return 0;
        }
    }
    return fail(p, ERR_PARSE, "unknown metric type in TYPE");
}

static int parse_sample(struct prom_parser *p, struct cur *c, prom_sample_fn fn, void *ctx)
{
    struct prom_sample s;
    memset(&s, 0, sizeof s);
    size_t ns = c->i;
    s.name_len = read_name(c, true);
    if (s.name_len == 0)
        return fail(p, ERR_PARSE, "bad metric name");
    s.name = c->s + ns;
    skip_ws(c);
    if (!at_end(c) && c->s[c->i] == '{') {
        bool too_many = false;
        const char *why = parse_labels(p, c, false, &s.nlabels, &too_many);
        if (why)
            return fail(p, too_many ? ERR_TOO_LARGE : ERR_PARSE, why);
        s.labels = p->labels;
    }
    skip_ws(c);
    size_t vs = c->i;
    size_t vn = read_token(c);
    if (!parse_float(c->s + vs, vn, true, &s.value))
        return fail(p, ERR_PARSE, vn ? "bad sample value" : "missing sample value");
    skip_ws(c);
    if (!at_end(c) && c->s[c->i] != '#') {
        size_t ts = c->i;
        size_t tn = read_token(c);
        double t = 0;
        if (p->dialect == PROM_OPENMETRICS) {
            if (!parse_float(c->s + ts, tn, false, &t))
                return fail(p, ERR_PARSE, "bad timestamp");
            t *= 1000.0;
        } else {
            size_t k = c->s[ts] == '-' ? 1 : 0;
            if (tn == k || tn - k > 18)
                return fail(p, ERR_PARSE, "bad timestamp");
            long long v = 0;
            for (; k < tn; k++) {
                char ch = c->s[ts + k];
                if (ch < '0' || ch > '9')
                    return fail(p, ERR_PARSE, "bad timestamp");
                v = v * 10 + (ch - '0');
            }
            t = (double)(c->s[ts] == '-' ? -v : v);
        }
        s.has_timestamp = true;
        s.timestamp_ms = t;
        skip_ws(c);
    }
    if (!at_end(c) && c->s[c->i] == '#') {
        if (p->dialect != PROM_OPENMETRICS)
            return fail(p, ERR_PARSE, "exemplar outside OpenMetrics");
        c->i++;
        skip_ws(c);
        if (at_end(c) || c->s[c->i] != '{')
            return fail(p, ERR_PARSE, "bad exemplar");
        size_t en = 0;
        bool tm = false;
        if (parse_labels(p, c, true, &en, &tm))
            return fail(p, ERR_PARSE, "bad exemplar labels");
        skip_ws(c);
        size_t es = c->i;
        size_t el = read_token(c);
        double ev;
        if (!parse_float(c->s + es, el, true, &ev))
            return fail(p, ERR_PARSE, "bad exemplar value");
        skip_ws(c);
        if (!at_end(c)) {
            es = c->i;
            el = read_token(c);
            if (!parse_float(c->s + es, el, false, &ev))
                return fail(p, ERR_PARSE, "bad exemplar timestamp");
            skip_ws(c);
        }
    }
    if (!at_end(c))
        return fail(p, ERR_PARSE, "trailing text after sample");
    if (p->samples >= p->max_samples)
        return fail(p, ERR_TOO_LARGE, "too many samples");
    p->samples++;
    s.family = s.name;
    s.family_len = s.name_len;
    s.type = PROM_UNTYPED;
    if (p->fam_len && s.name_len >= p->fam_len && memcmp(s.name, p->fam, p->fam_len) == 0 &&
        (s.name_len == p->fam_len ||
         suffix_ok(p->fam_type, s.name + p->fam_len, s.name_len - p->fam_len))) {
        s.family = p->fam;
        s.family_len = p->fam_len;
        s.type = p->fam_type;
        s.help = p->fam + p->max_line;
        s.help_len = p->help_len;
    } else {
        s.help = "";
    }
    s.line = p->lineno;
    int rc = fn(ctx, &s);
    if (rc)
        return fail(p, rc, "stopped by the caller");
    return 0;
}

static int parse_line(struct prom_parser *p, const char *s, size_t n, prom_sample_fn fn, void *ctx)
{
    p->lineno++;
    if (n && s[n - 1] == '\r')
        n--;
    struct cur c = {s, n, 0};
    skip_ws(&c);
    if (at_end(&c))
        return 0;
    if (p->eof)
        return fail(p, ERR_PARSE, "text after # EOF");
    if (c.s[c.i] == '#')
        return parse_comment(p, &c);
    return parse_sample(p, &c, fn, ctx);
}

int prom_parser_feed(struct prom_parser *p, const char *buf, size_t len, prom_sample_fn fn,
                     void *ctx)
{
    if (p->failed)
        return p->failed;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t seg = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        if (p->line_len + seg > p->max_line) {
            p->lineno++;
            return fail(p, ERR_TOO_LARGE, "line longer than the cap");
        }
        if (!nl) {
            memcpy(p->line + p->line_len, buf + pos, seg);
            p->line_len += seg;
            return 0;
        }
        int rc;
        if (p->line_len) {
            memcpy(p->line + p->line_len, buf + pos, seg);
            size_t n = p->line_len + seg;
            p->line_len = 0;
            rc = parse_line(p, p->line, n, fn, ctx);
        } else {
            rc = parse_line(p, buf + pos, seg, fn, ctx);
        }
        if (rc)
            return rc;
        pos += seg + 1;
    }
    return 0;
}

int prom_parser_finish(struct prom_parser *p, prom_sample_fn fn, void *ctx)
{
    if (p->failed)
        return p->failed;
    if (!p->line_len)
        return 0;
    size_t n = p->line_len;
    p->line_len = 0;
    return parse_line(p, p->line, n, fn, ctx);
}
