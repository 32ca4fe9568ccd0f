/*
 * AIPerf 0.13's aggregated server-metrics exports (docs/server-metrics.md):
 *   - server_metrics_export.json: schema 1.1, metrics keyed by family name, each with its
 *     type, HELP text, inferred unit and one series per endpoint and label set, whose stats
 *     are the gauge's distribution over the profiling window (avg, min, max, sample std,
 *     numpy-style linear percentiles), the counter's increase and rate, or the histogram's
 *     count / sum deltas, rates, average, percentile estimates and bucket deltas;
 *   - server_metrics_export.csv: the same as one section per type (gauge, counter,
 *     histogram, unknown), labels as columns ordered to keep co-occurring labels together.
 * The window: the reference is the last scrape begun before the first profile request (else
 * the first scrape in the window); the window ends with the first scrape begun after the
 * last profile response (the one that saw the run's final counts). Percentile estimates of
 * histograms interpolate linearly within a bucket (AIPerf fits its own estimator: the
 * field names are the same, the estimates may differ). _created and summary families are
 * left out, as AIPerf's parser leaves them out; info (_info) gauges are kept (the per-scrape
 * jsonl drops them, the aggregate keeps them, as in AIPerf) and the CSV lists them
 * transposed in a last section.
 */
#include "report_int.h"

#include "build_info.h"
#include "hash.h"
#include "jsonw.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum smt { SMT_GAUGE, SMT_COUNTER, SMT_HIST, SMT_UNKNOWN, SMT_N };
static const char *const smt_name[SMT_N] = {"gauge", "counter", "histogram", "unknown"};

struct smb {
    char *le; /* owned; the bound as the server printed it */
    double ref, fin;
};

struct smser {
    int ep;
    enum smt type;
    char *family; /* owned; the export name (a counter without "_total") */
    char *help;   /* owned */
    char *labels; /* owned; JSON object without "le", NULL when none */
    char *repr;   /* owned; Python's str() of the labels dict, for the sort order */
    uint64_t key;
    /* gauge / unknown: every value in the window */
    double *v;
    size_t nv, capv;
    /* counter (ref_v, fin_v) and histogram (sum, count, buckets) */
    bool has_ref, has_fin, w_ref, w_fin;
    size_t last_scrape;
    double ref_v, fin_v, ref_sum, ref_cnt, fin_sum, fin_cnt;
    int64_t ref_t, fin_t; /* wall clock ns of the scrapes */
    struct smb *b;
    size_t nb, capb;
};

struct smep {
    char *url;   /* owned */
    bool closed; /* the scrape closing the window was seen */
    size_t fetches, updates;
    int64_t first_fetch, last_fetch, first_upd, last_upd;
    double lat_sum_ms;
    uint64_t last_hash;
    int64_t *upd_t; /* update instants, for the median interval */
    size_t nupd, capupd;
};

struct sm_agg {
    struct smser *s;
    size_t n, cap;
    int32_t *slot; /* open addressing over s[] */
    size_t nslots;
    struct smep *ep;
    size_t nep;
    size_t scrape;
    int64_t win_a, win_b; /* run timeline: first profile start, last profile end */
};

struct sm_agg *sm_agg_new(int64_t win_a, int64_t win_b)
{
    struct sm_agg *a = xcalloc(1, sizeof *a);
    a->win_a = win_a;
    a->win_b = win_b;
    return a;
}

void sm_agg_free(struct sm_agg *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        struct smser *s = &a->s[i];
        free(s->family);
        free(s->help);
        free(s->labels);
        free(s->repr);
        free(s->v);
        for (size_t k = 0; k < s->nb; k++)
            free(s->b[k].le);
        free(s->b);
    }
    for (size_t i = 0; i < a->nep; i++) {
        free(a->ep[i].url);
        free(a->ep[i].upd_t);
    }
    free(a->s);
    free(a->slot);
    free(a->ep);
    free(a);
}

/* An endpoint, by its index among the run's targets (created on first sight). */
static struct smep *endpoint(struct sm_agg *a, int target, const char *url)
{
    if ((size_t)target >= a->nep) {
        a->ep = xrealloc(a->ep, ((size_t)target + 1) * sizeof *a->ep);
        memset(a->ep + a->nep, 0, ((size_t)target + 1 - a->nep) * sizeof *a->ep);
        a->nep = (size_t)target + 1;
    }
    struct smep *e = &a->ep[target];
    if (!e->url)
        e->url = xstrdup(url);
    return e;
}

void sm_agg_endpoint(struct sm_agg *a, int target, const char *url)
{
    endpoint(a, target, url);
}

static void labels_repr(struct buf *o, const cJSON *labels)
{
    buf_putc(o, '{');
    const cJSON *l;
    bool first = true;
    cJSON_ArrayForEach(l, labels)
    {
        if (!strcmp(l->string, "le") || !cJSON_IsString(l))
            continue;
        buf_printf(o, "%s'%s': '%s'", first ? "" : ", ", l->string, l->valuestring);
        first = false;
    }
    buf_putc(o, '}');
}

static void grow_slots(struct sm_agg *a)
{
    size_t ns = a->nslots ? a->nslots * 2 : 256;
    int32_t *t = xmalloc(ns * sizeof *t);
    for (size_t i = 0; i < ns; i++)
        t[i] = -1;
    for (size_t i = 0; i < a->n; i++) {
        size_t j = a->s[i].key & (ns - 1);
        while (t[j] >= 0)
            j = (j + 1) & (ns - 1);
        t[j] = (int32_t)i;
    }
    free(a->slot);
    a->slot = t;
    a->nslots = ns;
}

/* The series of (endpoint, family, labels without "le"), created on first sight. */
static struct smser *series(struct sm_agg *a, int ep, enum smt type, const char *family,
                            const char *help, const cJSON *labels, struct buf *tmp)
{
    buf_reset(tmp);
    labels_repr(tmp, labels);
    uint64_t key = hash64_more(hash64_str(family), tmp->p, tmp->len) ^ (uint64_t)ep;
    if ((a->n + 1) * 2 > a->nslots)
        grow_slots(a);
    size_t j = key & (a->nslots - 1);
    for (; a->slot[j] >= 0; j = (j + 1) & (a->nslots - 1)) {
        struct smser *s = &a->s[a->slot[j]];
        if (s->key == key && s->ep == ep && !strcmp(s->family, family) && !strcmp(s->repr, tmp->p))
            return s;
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->s = xrealloc(a->s, a->cap * sizeof *a->s);
    }
    struct smser *s = &a->s[a->n];
    memset(s, 0, sizeof *s);
    s->ep = ep;
    s->type = type;
    s->family = xstrdup(family);
    s->help = xstrdup(help ? help : "");
    s->repr = xstrdup(tmp->p);
    s->key = key;
    s->last_scrape = SIZE_MAX;
    cJSON *l2 = cJSON_Duplicate(labels, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(l2, "le");
    if (cJSON_GetArraySize(l2) > 0)
        s->labels = cJSON_PrintUnformatted(l2);
    cJSON_Delete(l2);
    a->slot[j] = (int32_t)a->n++;
    return s;
}

static bool suffix(const char *s, size_t n, const char *suf, size_t *base)
{
    size_t k = strlen(suf);
    if (n < k || strcmp(s + n - k, suf) != 0)
        return false;
    *base = n - k;
    return true;
}

void sm_agg_add(struct sm_agg *a, int target, const char *url, int64_t t_run, int64_t first_real,
                int64_t lat_ns, const cJSON *fams, const cJSON *samples)
{
    struct smep *e = endpoint(a, target, url);
    /* before the window: the reference; in it: the stats; after its closing scrape: none */
    enum { BEFORE, IN, AFTER } where = t_run < a->win_a ? BEFORE : e->closed ? AFTER : IN;
    if (where == IN && t_run >= a->win_b)
        e->closed = true;
    e->fetches++;
    if (!e->first_fetch)
        e->first_fetch = first_real;
    e->last_fetch = first_real;
    e->lat_sum_ms += (double)lat_ns / 1e6;
    size_t id = a->scrape++;
    uint64_t h = HASH64_INIT;
    struct buf tmp;
    buf_init(&tmp, 0);
    const cJSON *smp;
    cJSON_ArrayForEach(smp, samples)
    {
        const cJSON *jn = cJSON_GetArrayItem(smp, 0), *labels = cJSON_GetArrayItem(smp, 1);
        const cJSON *val = cJSON_GetArrayItem(smp, 2);
        if (!cJSON_IsString(jn) || !cJSON_IsObject(labels))
            continue;
        bool ok;
        double v = report_sample_value(val, &ok);
        h = hash64_more(h, &v, sizeof v);
        const char *name = jn->valuestring;
        size_t nl = strlen(name), base = nl;
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(fams, name);
        int part = 0; /* 1 bucket, 2 sum, 3 count, 4 counter _total */
        if (!f) {
            static const char *const sfx[] = {"_bucket", "_sum", "_count", "_total"};
            for (int k = 0; k < 4 && !f; k++) {
                if (!suffix(name, nl, sfx[k], &base))
                    continue;
                char fam[512];
                snprintf(fam, sizeof fam, "%.*s", (int)base, name);
                f = cJSON_GetObjectItemCaseSensitive(fams, fam);
                part = k + 1;
            }
        }
        if (!f)
            continue;
        const char *type = cJSON_GetArrayItem(f, 0) ? cJSON_GetArrayItem(f, 0)->valuestring : NULL;
        const cJSON *jh = cJSON_GetArrayItem(f, 1);
        const char *help = cJSON_IsString(jh) ? jh->valuestring : "";
        const char *fname = f->string;
        size_t fl = strlen(fname), fb;
        if (!type || suffix(fname, fl, "_created", &fb) || !strcmp(type, "summary"))
            continue;
        enum smt t = !strcmp(type, "gauge")       ? SMT_GAUGE
                     : !strcmp(type, "counter")   ? SMT_COUNTER
                     : !strcmp(type, "histogram") ? SMT_HIST
                                                  : SMT_UNKNOWN;
        if (t == SMT_HIST ? part < 1 || part > 3 : (part != 0 && part != 4))
            continue;
        char fam[512];
        if (t == SMT_COUNTER && suffix(fname, fl, "_total", &fb))
            snprintf(fam, sizeof fam, "%.*s", (int)fb, fname);
        else
            snprintf(fam, sizeof fam, "%s", fname);
        struct smser *s = series(a, target, t, fam, help, labels, &tmp);
        if (s->last_scrape != id) {
            s->last_scrape = id;
            s->w_ref = where == BEFORE || (where == IN && !s->has_ref);
            s->w_fin = where == IN;
            if (s->w_ref) {
                s->has_ref = true;
                s->ref_t = first_real;
            }
            if (s->w_fin) {
                s->has_fin = true;
                s->fin_t = first_real;
            }
        }
        if (!ok || where == AFTER)
            continue;
        if (t == SMT_GAUGE || t == SMT_UNKNOWN) {
            if (where != IN || !isfinite(v))
                continue;
            if (s->nv == s->capv) {
                s->capv = s->capv ? s->capv * 2 : 16;
                s->v = xrealloc(s->v, s->capv * sizeof *s->v);
            }
            s->v[s->nv++] = v;
        } else if (t == SMT_COUNTER) {
            if (s->w_ref)
                s->ref_v = v;
            if (s->w_fin)
                s->fin_v = v;
        } else if (part == 2 || part == 3) {
            if (s->w_ref)
                *(part == 2 ? &s->ref_sum : &s->ref_cnt) = v;
            if (s->w_fin)
                *(part == 2 ? &s->fin_sum : &s->fin_cnt) = v;
        } else {
            const cJSON *le = cJSON_GetObjectItemCaseSensitive(labels, "le");
            const char *les = cJSON_IsString(le) ? le->valuestring : "?";
            struct smb *b = NULL;
            for (size_t k = 0; k < s->nb && !b; k++)
                if (!strcmp(s->b[k].le, les))
                    b = &s->b[k];
            if (!b) {
                if (s->nb == s->capb) {
                    s->capb = s->capb ? s->capb * 2 : 16;
                    s->b = xrealloc(s->b, s->capb * sizeof *s->b);
                }
                b = &s->b[s->nb++];
                b->le = xstrdup(les);
                b->ref = b->fin = 0;
            }
            if (s->w_ref)
                b->ref = v;
            if (s->w_fin)
                b->fin = v;
        }
    }
    buf_free(&tmp);
    if (!e->nupd || h != e->last_hash) {
        e->updates++;
        if (!e->first_upd)
            e->first_upd = first_real;
        e->last_upd = first_real;
        e->last_hash = h;
        if (e->nupd == e->capupd) {
            e->capupd = e->capupd ? e->capupd * 2 : 64;
            e->upd_t = xrealloc(e->upd_t, e->capupd * sizeof *e->upd_t);
        }
        e->upd_t[e->nupd++] = first_real;
    }
}

/* ---- units, as AIPerf 0.13 infers them from the HELP text and the name ---------------- */

static bool ci_contains(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (; *s; s++)
        if (!strncasecmp(s, w, n))
            return true;
    return false;
}

static const char *unit_of(const char *name, const char *help)
{
    /* a stated range decides ratio against percent */
    static const char *const ratio[] = {"(0-1)",     "(0.0-1.0)",           "(0 to 1)",
                                        "range 0-1", "1 means 100 percent", "1 means 100%",
                                        "1 = 100%"};
    for (size_t i = 0; i < sizeof ratio / sizeof *ratio; i++)
        if (ci_contains(help, ratio[i]))
            return "ratio";
    static const char *const pct[] = {"(0-100)", "(0.0-100.0)", "(0 to 100)", "range 0-100",
                                      "0-100%"};
    for (size_t i = 0; i < sizeof pct / sizeof *pct; i++)
        if (ci_contains(help, pct[i]))
            return "percent";
    static const struct {
        const char *w, *unit;
    } desc[] = {{"in seconds", "seconds"},
                {"(seconds)", "seconds"},
                {"in milliseconds", "milliseconds"},
                {"(ms)", "milliseconds"},
                {"in nanoseconds", "nanoseconds"},
                {"in bytes", "bytes"},
                {"(in W)", "watt"},
                {"(in mW)", "milliwatt"},
                {"(in J)", "joule"},
                {"(in mJ)", "millijoule"},
                {"(in MiB)", "megabytes"},
                {"(in MB)", "megabytes"},
                {"(in GiB)", "gigabytes"},
                {"(in C)", "celsius"},
                {"(in MHz)", "megahertz"},
                {"(in %)", "percent"},
                {"(in us)", "microseconds"},
                {"(in ms)", "milliseconds"},
                {"(in s)", "seconds"},
                {"in tokens", "tokens"}};
    for (size_t i = 0; i < sizeof desc / sizeof *desc; i++) {
        bool paren = desc[i].w[0] == '(';
        /* "(in X)" tags are case-sensitive in AIPerf (mJ is not MJ) */
        if (paren ? strstr(help, desc[i].w) != NULL : ci_contains(help, desc[i].w))
            return desc[i].unit;
    }
    static const struct {
        const char *suf, *unit;
    } sfx[] = {
        /* longest first, as AIPerf matches them */
        {"_error_count_total", "errors"},
        {"_requests_total", "requests"},
        {"_seconds_total", "seconds"},
        {"_blocks_total", "blocks"},
        {"_errors_total", "errors"},
        {"_tokens_total", "tokens"},
        {"_bytes_total", "bytes"},
        {"_milliseconds", "milliseconds"},
        {"_error_count", "errors"},
        {"_block_count", "blocks"},
        {"_nanoseconds", "nanoseconds"},
        {"_kilobytes", "kilobytes"},
        {"_megabytes", "megabytes"},
        {"_gigabytes", "gigabytes"},
        {"_ms_total", "milliseconds"},
        {"_ns_total", "nanoseconds"},
        {"request_success", "requests"},
        {"_requests", "requests"},
        {"_seconds", "seconds"},
        {"_percent", "percent"},
        {"_celsius", "celsius"},
        {"_joules", "joule"},
        {"_errors", "errors"},
        {"_blocks", "blocks"},
        {"_tokens", "tokens"},
        {"_bytes", "bytes"},
        {"_total", "count"},
        {"_count", "count"},
        {"_ratio", "ratio"},
        {"_watts", "watt"},
        {"_perc", "percent"},
        {"_reqs", "requests"},
        {"_gb_s", "gb/s"},
        {"_ms", "milliseconds"},
        {"_ns", "nanoseconds"},
    };
    size_t n = strlen(name);
    char low[512];
    snprintf(low, sizeof low, "%s", name);
    for (char *p = low; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
        size_t b;
        if (suffix(low, n < sizeof low ? n : sizeof low - 1, sfx[i].suf, &b))
            return sfx[i].unit;
    }
    if (strstr(low, "num_requests_"))
        return "requests";
    return NULL;
}

/* ---- statistics ------------------------------------------------------------------------ */

static int cmp_d(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static const double pq[9] = {1, 5, 10, 25, 50, 75, 90, 95, 99};
static const char *const pname[9] = {"p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99"};

/* numpy's default ("linear") percentile of sorted v */
static double pct_linear(const double *v, size_t n, double q)
{
    double x = q / 100.0 * (double)(n - 1);
    size_t i = (size_t)floor(x);
    if (i + 1 >= n)
        return v[n - 1];
    return v[i] + (v[i + 1] - v[i]) * (x - (double)i);
}

struct gstats {
    double avg, min, max, std, p[9];
};

static void gauge_stats(struct smser *s, struct gstats *g)
{
    qsort(s->v, s->nv, sizeof *s->v, cmp_d);
    double sum = 0;
    for (size_t i = 0; i < s->nv; i++)
        sum += s->v[i];
    g->avg = sum / (double)s->nv;
    double ss = 0;
    for (size_t i = 0; i < s->nv; i++)
        ss += (s->v[i] - g->avg) * (s->v[i] - g->avg);
    g->std = s->nv > 1 ? sqrt(ss / (double)(s->nv - 1)) : 0;
    g->min = s->v[0];
    g->max = s->v[s->nv - 1];
    for (int k = 0; k < 9; k++)
        g->p[k] = pct_linear(s->v, s->nv, pq[k]);
}

struct hstats {
    long long count;
    double sum, avg, count_rate, sum_rate, p[9];
    bool rates, est, buckets;
};

static void hist_stats(const struct smser *s, struct hstats *h)
{
    memset(h, 0, sizeof *h);
    double dc = s->fin_cnt - s->ref_cnt, ds = s->fin_sum - s->ref_sum;
    h->count = dc > 0 ? (long long)dc : 0;
    h->sum = ds > 0 ? ds : 0;
    h->buckets = true;
    for (size_t k = 0; k < s->nb; k++)
        if (s->b[k].fin < s->b[k].ref)
            h->buckets = false; /* a reset: AIPerf leaves the buckets out */
    if (h->count == 0)
        return;
    h->avg = h->sum / (double)h->count;
    double dur = (double)(s->fin_t - s->ref_t) / 1e9;
    if (dur > 0) {
        h->rates = true;
        h->count_rate = (double)h->count / dur;
        h->sum_rate = h->sum / dur;
    }
    if (!h->buckets || s->nb == 0)
        return;
    h->est = true;
    for (int q = 0; q < 9; q++) {
        double rank = pq[q] / 100.0 * (double)h->count, lo = 0, prev = 0;
        h->p[q] = NAN;
        for (size_t k = 0; k < s->nb; k++) {
            double c = s->b[k].fin - s->b[k].ref;
            bool inf = !strcmp(s->b[k].le, "+Inf");
            double hi = inf ? INFINITY : strtod(s->b[k].le, NULL);
            if (c >= rank && c > 0) {
                if (inf)
                    h->p[q] = lo;
                else if (c == prev)
                    h->p[q] = hi;
                else
                    h->p[q] = lo + (hi - lo) * (rank - prev) / (c - prev);
                break;
            }
            prev = c;
            if (!inf)
                lo = hi;
        }
        if (isnan(h->p[q]))
            h->p[q] = lo;
    }
}

/* ---- the JSON export -------------------------------------------------------------------- */

static int cmp_series(const void *x, const void *y, void *ctx)
{
    const struct sm_agg *a = ctx;
    const struct smser *s = &a->s[*(const size_t *)x], *t = &a->s[*(const size_t *)y];
    int c = strcmp(s->family, t->family);
    if (c)
        return c;
    c = strcmp(a->ep[s->ep].url, a->ep[t->ep].url);
    if (c)
        return c;
    /* Python's str() of an empty labels dict is "" in AIPerf's key (None labels) */
    const char *rs = strcmp(s->repr, "{}") ? s->repr : "",
               *rt = strcmp(t->repr, "{}") ? t->repr : "";
    return strcmp(rs, rt);
}

static const struct sm_agg *g_sort_ctx; /* qsort has no context argument in C11 */
static int cmp_series_q(const void *x, const void *y)
{
    return cmp_series(x, y, (void *)g_sort_ctx);
}

static void iso_local(char *out, size_t n, int64_t ns)
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    localtime_r(&s, &tm);
    char d[40];
    strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm);
    long long us = ns % 1000000000 / 1000;
    if (us) /* Python's isoformat leaves out zero microseconds */
        snprintf(out, n, "%s.%06lld", d, us);
    else
        snprintf(out, n, "%s", d);
}

static void write_stats_json(struct jsonw *w, struct smser *s)
{
    jsonw_key(w, "stats");
    jsonw_obj_begin(w);
    if (s->type == SMT_GAUGE || s->type == SMT_UNKNOWN) {
        struct gstats g;
        gauge_stats(s, &g);
        const char *k5[4] = {"avg", "min", "max", "std"};
        double v5[4] = {g.avg, g.min, g.max, g.std};
        for (int i = 0; i < 4; i++) {
            jsonw_key(w, k5[i]);
            jsonw_double(w, v5[i]);
        }
        for (int q = 0; q < 9; q++) {
            jsonw_key(w, pname[q]);
            jsonw_double(w, g.p[q]);
        }
    } else if (s->type == SMT_COUNTER) {
        double tot = s->fin_v - s->ref_v;
        if (!(tot > 0))
            tot = 0;
        double dur = (double)(s->fin_t - s->ref_t) / 1e9;
        jsonw_key(w, "total");
        jsonw_double(w, tot);
        jsonw_key(w, "rate");
        jsonw_double(w, dur > 0 ? tot / dur : 0.0);
    } else {
        struct hstats h;
        hist_stats(s, &h);
        jsonw_key(w, "count");
        jsonw_int(w, h.count);
        if (h.count > 0) {
            jsonw_key(w, "sum");
            jsonw_double(w, h.sum);
            jsonw_key(w, "avg");
            jsonw_double(w, h.avg);
            if (h.rates) {
                jsonw_key(w, "count_rate");
                jsonw_double(w, h.count_rate);
                jsonw_key(w, "sum_rate");
                jsonw_double(w, h.sum_rate);
            }
            if (h.est) {
                for (int q = 0; q < 9; q++) {
                    char k[24];
                    snprintf(k, sizeof k, "%s_estimate", pname[q]);
                    jsonw_key(w, k);
                    jsonw_double(w, h.p[q]);
                }
            }
        }
    }
    jsonw_obj_end(w);
    if (s->type == SMT_HIST) {
        struct hstats h;
        hist_stats(s, &h);
        if (h.buckets) {
            jsonw_key(w, "buckets");
            jsonw_obj_begin(w);
            for (size_t k = 0; k < s->nb; k++) {
                jsonw_key(w, s->b[k].le);
                jsonw_int(w, (int64_t)(s->b[k].fin - s->b[k].ref));
            }
            jsonw_obj_end(w);
        }
    }
}

/* Which series have stats: a gauge with values in the window, a counter or histogram with
 * a closing scrape. */
static bool has_data(const struct smser *s)
{
    return s->type == SMT_GAUGE || s->type == SMT_UNKNOWN ? s->nv > 0 : s->has_fin;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

static void json_export(struct sm_agg *a, struct buf *o, const size_t *ord, size_t n,
                        const char *bench_id, const char *version, int64_t win_a_real,
                        int64_t win_b_real, const char *input_config)
{
    struct jsonw w;
    jsonw_init(&w, o);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "schema_version");
    jsonw_str(&w, "1.1"); /* ServerMetricsExportData.SCHEMA_VERSION of AIPerf 0.13 */
    jsonw_key(&w, "aiperf_version");
    jsonw_str(&w, version);
    jsonw_key(&w, "benchmark_id");
    jsonw_str(&w, bench_id);
    jsonw_key(&w, "summary");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "endpoints_configured");
    jsonw_arr_begin(&w);
    for (size_t i = 0; i < a->nep; i++)
        if (a->ep[i].url)
            jsonw_str(&w, a->ep[i].url);
    jsonw_arr_end(&w);
    jsonw_key(&w, "endpoints_successful");
    jsonw_arr_begin(&w);
    for (size_t i = 0; i < a->nep; i++)
        if (a->ep[i].url && a->ep[i].fetches)
            jsonw_str(&w, a->ep[i].url);
    jsonw_arr_end(&w);
    char t[64];
    iso_local(t, sizeof t, win_a_real);
    jsonw_key(&w, "start_time");
    jsonw_str(&w, t);
    iso_local(t, sizeof t, win_b_real);
    jsonw_key(&w, "end_time");
    jsonw_str(&w, t);
    jsonw_key(&w, "endpoint_info");
    jsonw_obj_begin(&w);
    for (size_t i = 0; i < a->nep; i++) {
        struct smep *e = &a->ep[i];
        if (!e->url || !e->fetches)
            continue;
        jsonw_key(&w, e->url);
        jsonw_obj_begin(&w);
        jsonw_key(&w, "total_fetches");
        jsonw_uint(&w, e->fetches);
        jsonw_key(&w, "first_fetch_ns");
        jsonw_int(&w, e->first_fetch);
        jsonw_key(&w, "last_fetch_ns");
        jsonw_int(&w, e->last_fetch);
        jsonw_key(&w, "avg_fetch_latency_ms");
        jsonw_double(&w, e->lat_sum_ms / (double)e->fetches);
        jsonw_key(&w, "unique_updates");
        jsonw_uint(&w, e->updates);
        jsonw_key(&w, "first_update_ns");
        jsonw_int(&w, e->first_upd);
        jsonw_key(&w, "last_update_ns");
        jsonw_int(&w, e->last_upd);
        double dur = (double)(e->last_upd - e->first_upd) / 1e9;
        jsonw_key(&w, "duration_seconds");
        jsonw_double(&w, dur);
        jsonw_key(&w, "avg_update_interval_ms");
        jsonw_double(&w, e->updates > 1 ? dur * 1e3 / (double)(e->updates - 1) : 0.0);
        if (e->nupd > 2) { /* at least 2 intervals */
            int64_t *iv = xmalloc((e->nupd - 1) * sizeof *iv);
            for (size_t k = 1; k < e->nupd; k++)
                iv[k - 1] = e->upd_t[k] - e->upd_t[k - 1];
            size_t m = e->nupd - 1;
            qsort(iv, m, sizeof *iv, cmp_i64);
            double med =
                m % 2 ? (double)iv[m / 2] : ((double)iv[m / 2 - 1] + (double)iv[m / 2]) / 2;
            free(iv);
            jsonw_key(&w, "median_update_interval_ms");
            jsonw_double(&w, med / 1e6);
        }
        jsonw_obj_end(&w);
    }
    jsonw_obj_end(&w);
    if (win_a_real < win_b_real) {
        jsonw_key(&w, "phase_time_ranges");
        jsonw_obj_begin(&w);
        jsonw_key(&w, "profiling");
        jsonw_obj_begin(&w);
        jsonw_key(&w, "start_ns");
        jsonw_int(&w, win_a_real);
        jsonw_key(&w, "end_ns");
        jsonw_int(&w, win_b_real);
        jsonw_obj_end(&w);
        jsonw_obj_end(&w);
    }
    jsonw_obj_end(&w);
    jsonw_key(&w, "metrics_phase");
    jsonw_str(&w, "profiling");
    jsonw_key(&w, "metrics");
    jsonw_obj_begin(&w);
    for (size_t i = 0; i < n;) {
        struct smser *s0 = &a->s[ord[i]];
        jsonw_key(&w, s0->family);
        jsonw_obj_begin(&w);
        jsonw_key(&w, "type");
        jsonw_str(&w, smt_name[s0->type]);
        jsonw_key(&w, "description");
        jsonw_str(&w, s0->help);
        const char *u = unit_of(s0->family, s0->help);
        if (u) {
            jsonw_key(&w, "unit");
            jsonw_str(&w, u);
        }
        jsonw_key(&w, "series");
        jsonw_arr_begin(&w);
        for (; i < n && !strcmp(a->s[ord[i]].family, s0->family); i++) {
            struct smser *s = &a->s[ord[i]];
            jsonw_obj_begin(&w);
            jsonw_key(&w, "endpoint_url");
            jsonw_str(&w, a->ep[s->ep].url);
            if (s->labels) {
                jsonw_key(&w, "labels");
                jsonw_raw(&w, s->labels, strlen(s->labels));
            }
            write_stats_json(&w, s);
            jsonw_obj_end(&w);
        }
        jsonw_arr_end(&w);
        jsonw_obj_end(&w);
    }
    jsonw_obj_end(&w);
    jsonw_key(&w, "input_config");
    jsonw_raw(&w, input_config, strlen(input_config));
    jsonw_obj_end(&w);
    buf_putc(o, '\n');
}

/* ---- the CSV export --------------------------------------------------------------------- */

static void csv_cell(struct buf *o, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        buf_puts(o, s);
        return;
    }
    buf_putc(o, '"');
    for (; *s; s++) {
        if (*s == '"')
            buf_putc(o, '"');
        buf_putc(o, *s);
    }
    buf_putc(o, '"');
}

static void csv_num(struct buf *o, double v, bool integral)
{
    buf_putc(o, ',');
    if (isnan(v))
        return;
    if (integral)
        buf_printf(o, "%lld", (long long)v);
    else
        buf_printf(o, "%.4f", v);
}

/* The endpoint as AIPerf displays it: no scheme, no "/metrics" suffix. */
static void endpoint_display(char *out, size_t n, const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t l = strlen(p);
    if (l >= 8 && !strcmp(p + l - 8, "/metrics"))
        l -= 8;
    snprintf(out, n, "%.*s", (int)l, p);
}

static size_t uf_find(const size_t *par, size_t x)
{
    while (par[x] != x)
        x = par[x];
    return x;
}

/* Label columns: labels that occur together form a family (union-find over each row's
 * sorted label names); families in order of their smallest name; within one, the labels of
 * a single row first, then those on several rows, each part sorted. */
static size_t label_order(cJSON **rows_labels, size_t nrows, char ***out)
{
    char **names = NULL;
    size_t nn = 0;
    for (size_t r = 0; r < nrows; r++) {
        const cJSON *l;
        cJSON_ArrayForEach(l, rows_labels[r])
        {
            size_t k = 0;
            while (k < nn && strcmp(names[k], l->string))
                k++;
            if (k == nn) {
                names = xrealloc(names, (nn + 1) * sizeof *names);
                names[nn++] = l->string;
            }
        }
    }
    for (size_t i = 1; i < nn; i++) /* sorted names */
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    size_t *par = xmalloc((nn ? nn : 1) * sizeof *par), *rows = xcalloc(nn ? nn : 1, sizeof *rows);
    for (size_t i = 0; i < nn; i++)
        par[i] = i;
    for (size_t r = 0; r < nrows; r++) {
        size_t prev = SIZE_MAX;
        for (size_t k = 0; k < nn; k++) {
            if (!cJSON_GetObjectItemCaseSensitive(rows_labels[r], names[k]))
                continue;
            rows[k]++;
            if (prev != SIZE_MAX) {
                size_t ra = uf_find(par, prev), rb = uf_find(par, k);
                if (ra != rb)
                    par[rb] = ra;
            }
            prev = k;
        }
    }
    char **res = xmalloc((nn ? nn : 1) * sizeof *res);
    size_t nr = 0;
    /* families by their smallest member: walking sorted names, a root is met first at it */
    for (size_t i = 0; i < nn; i++) {
        size_t root = uf_find(par, i);
        bool first = true;
        for (size_t j = 0; j < i; j++)
            if (uf_find(par, j) == root)
                first = false;
        if (!first)
            continue;
        for (int pass = 0; pass < 2; pass++)
            for (size_t j = 0; j < nn; j++)
                if (uf_find(par, j) == root && (rows[j] > 1) == (pass == 1))
                    res[nr++] = names[j];
    }
    free(par);
    free(rows);
    free(names);
    *out = res;
    return nr;
}

struct csvrow {
    size_t idx;
    char *pattern;
    char ep[512];
};

static const struct sm_agg *g_csv_ctx;
static int cmp_csvrow(const void *x, const void *y)
{
    const struct csvrow *p = x, *q = y;
    int c = strcmp(p->pattern, q->pattern);
    if (c)
        return c;
    const struct smser *s = &g_csv_ctx->s[p->idx], *t = &g_csv_ctx->s[q->idx];
    if ((c = strcmp(s->family, t->family)))
        return c;
    if ((c = strcmp(p->ep, q->ep)))
        return c;
    const char *rs = strcmp(s->repr, "{}") ? s->repr : "",
               *rt = strcmp(t->repr, "{}") ? t->repr : "";
    return strcmp(rs, rt);
}

static bool is_info(const struct smser *s)
{
    size_t b;
    return suffix(s->family, strlen(s->family), "_info", &b);
}

/* A gauge named *_info goes to the info section, not the gauge section (AIPerf). */
static bool in_section(const struct smser *s, enum smt type)
{
    return s->type == type && !(type == SMT_GAUGE && is_info(s));
}

static int cmp_info(const void *x, const void *y)
{
    const struct smser *s = *(struct smser *const *)x, *t = *(struct smser *const *)y;
    int c = strcmp(s->family, t->family);
    if (c)
        return c;
    char es[512], et[512];
    endpoint_display(es, sizeof es, g_csv_ctx->ep[s->ep].url);
    endpoint_display(et, sizeof et, g_csv_ctx->ep[t->ep].url);
    return strcmp(es, et);
}

/* Info gauges transposed: one row per label (sorted by key), as AIPerf writes them. */
static void csv_info(struct sm_agg *a, struct buf *o, const size_t *ord, size_t n)
{
    struct smser **v = xmalloc((n ? n : 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (a->s[ord[i]].type == SMT_GAUGE && is_info(&a->s[ord[i]]))
            v[k++] = &a->s[ord[i]];
    if (k) {
        g_csv_ctx = a;
        /* stable, as Python's sort: insertion sort over the already ordered series */
        for (size_t i = 1; i < k; i++)
            for (size_t j = i; j > 0 && cmp_info(&v[j - 1], &v[j]) > 0; j--) {
                struct smser *t = v[j];
                v[j] = v[j - 1];
                v[j - 1] = t;
            }
        buf_puts(o, "Endpoint,Metric,Key,Value,Description\r\n");
        for (size_t i = 0; i < k; i++) {
            char ep[512];
            endpoint_display(ep, sizeof ep, a->ep[v[i]->ep].url);
            cJSON *l = v[i]->labels ? cJSON_Parse(v[i]->labels) : NULL;
            size_t nl = (size_t)cJSON_GetArraySize(l);
            const cJSON **kv = xcalloc(nl ? nl : 1, sizeof *kv);
            size_t m = 0;
            const cJSON *x;
            cJSON_ArrayForEach(x, l) kv[m++] = x;
            for (size_t p = 1; p < m; p++)
                for (size_t q = p; q > 0 && strcmp(kv[q - 1]->string, kv[q]->string) > 0; q--) {
                    const cJSON *t = kv[q];
                    kv[q] = kv[q - 1];
                    kv[q - 1] = t;
                }
            for (size_t p = 0; p < m; p++) {
                csv_cell(o, ep);
                buf_putc(o, ',');
                csv_cell(o, v[i]->family);
                buf_putc(o, ',');
                csv_cell(o, kv[p]->string);
                buf_putc(o, ',');
                csv_cell(o, cJSON_IsString(kv[p]) ? kv[p]->valuestring : "");
                buf_putc(o, ',');
                csv_cell(o, v[i]->help);
                buf_puts(o, "\r\n");
            }
            free(kv);
            cJSON_Delete(l);
        }
    }
    free(v);
}

static void csv_section(struct sm_agg *a, struct buf *o, enum smt type, const size_t *ord, size_t n)
{
    static const char *const gk[] = {"avg", "min", "max", "std", "p1",  "p5", "p10",
                                     "p25", "p50", "p75", "p90", "p95", "p99"};
    static const char *const ck[] = {"total",    "rate",     "rate_avg",
                                     "rate_min", "rate_max", "rate_std"};
    static const char *const hk[] = {"count",        "count_rate",   "sum",          "sum_rate",
                                     "avg",          "p1_estimate",  "p5_estimate",  "p10_estimate",
                                     "p25_estimate", "p50_estimate", "p75_estimate", "p90_estimate",
                                     "p95_estimate", "p99_estimate"};
    size_t nrows = 0;
    for (size_t i = 0; i < n; i++)
        nrows += in_section(&a->s[ord[i]], type);
    if (!nrows)
        return;
    struct csvrow *rows = xcalloc(nrows, sizeof *rows);
    cJSON **lab = xcalloc(nrows, sizeof *lab);
    size_t r = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_section(&a->s[ord[i]], type))
            continue;
        rows[r].idx = ord[i];
        lab[r] = a->s[ord[i]].labels ? cJSON_Parse(a->s[ord[i]].labels) : cJSON_CreateObject();
        endpoint_display(rows[r].ep, sizeof rows[r].ep, a->ep[a->s[ord[i]].ep].url);
        r++;
    }
    char **cols;
    size_t ncols = label_order(lab, nrows, &cols);
    for (r = 0; r < nrows; r++) {
        rows[r].pattern = xmalloc(ncols + 1);
        for (size_t c = 0; c < ncols; c++)
            rows[r].pattern[c] = cJSON_GetObjectItemCaseSensitive(lab[r], cols[c]) ? '1' : '0';
        rows[r].pattern[ncols] = 0;
    }
    g_csv_ctx = a;
    /* the label objects follow their rows: sort an index, not the rows */
    size_t *perm = xmalloc(nrows * sizeof *perm);
    for (r = 0; r < nrows; r++)
        perm[r] = r;
    for (size_t i = 1; i < nrows; i++)
        for (size_t j = i; j > 0 && cmp_csvrow(&rows[perm[j - 1]], &rows[perm[j]]) > 0; j--) {
            size_t t = perm[j];
            perm[j] = perm[j - 1];
            perm[j - 1] = t;
        }
    const char *const *keys = type == SMT_COUNTER ? ck : type == SMT_HIST ? hk : gk;
    size_t nk = type == SMT_COUNTER ? 6 : type == SMT_HIST ? 14 : 13;
    buf_puts(o, "Endpoint,Type,Metric,Unit");
    for (size_t k = 0; k < nk; k++)
        buf_printf(o, ",%s", keys[k]);
    for (size_t c = 0; c < ncols; c++) {
        buf_putc(o, ',');
        csv_cell(o, cols[c]);
    }
    buf_puts(o, ",Description");
    if (type == SMT_HIST)
        buf_puts(o, ",buckets");
    buf_puts(o, "\r\n");
    for (size_t pi = 0; pi < nrows; pi++) {
        struct csvrow *row = &rows[perm[pi]];
        struct smser *s = &a->s[row->idx];
        csv_cell(o, row->ep);
        buf_printf(o, ",%s,", smt_name[type]);
        csv_cell(o, s->family);
        buf_putc(o, ',');
        const char *u = unit_of(s->family, s->help);
        csv_cell(o, u ? u : "");
        if (type == SMT_GAUGE || type == SMT_UNKNOWN) {
            struct gstats g;
            gauge_stats(s, &g);
            double v[13] = {g.avg, g.min, g.max, g.std};
            memcpy(v + 4, g.p, sizeof g.p);
            for (int k = 0; k < 13; k++)
                csv_num(o, v[k], false);
        } else if (type == SMT_COUNTER) {
            double tot = s->fin_v - s->ref_v, dur = (double)(s->fin_t - s->ref_t) / 1e9;
            if (!(tot > 0))
                tot = 0;
            csv_num(o, tot, false);
            csv_num(o, dur > 0 ? tot / dur : 0.0, false);
            buf_puts(o, ",,,,"); /* rate_avg .. rate_std: only with time slices */
        } else {
            struct hstats h;
            hist_stats(s, &h);
            csv_num(o, (double)h.count, true);
            bool any = h.count > 0;
            csv_num(o, any && h.rates ? h.count_rate : NAN, false);
            csv_num(o, any ? h.sum : NAN, false);
            csv_num(o, any && h.rates ? h.sum_rate : NAN, false);
            csv_num(o, any ? h.avg : NAN, false);
            for (int q = 0; q < 9; q++)
                csv_num(o, any && h.est ? h.p[q] : NAN, false);
        }
        const cJSON *lj = perm[pi] < nrows ? lab[perm[pi]] : NULL;
        for (size_t c = 0; c < ncols; c++) {
            buf_putc(o, ',');
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(lj, cols[c]);
            if (cJSON_IsString(v))
                csv_cell(o, v->valuestring);
        }
        buf_putc(o, ',');
        csv_cell(o, s->help);
        if (type == SMT_HIST) {
            buf_putc(o, ',');
            struct hstats h;
            hist_stats(s, &h);
            struct buf bk;
            buf_init(&bk, 0);
            for (size_t k = 0; h.buckets && k < s->nb; k++)
                buf_printf(&bk, "%s%s=%lld", k ? ";" : "", s->b[k].le,
                           (long long)(s->b[k].fin - s->b[k].ref));
            csv_cell(o, bk.p ? bk.p : "");
            buf_free(&bk);
        }
        buf_puts(o, "\r\n");
    }
    for (r = 0; r < nrows; r++) {
        free(rows[r].pattern);
        cJSON_Delete(lab[r]);
    }
    free(perm);
    free(cols);
    free(rows);
    free(lab);
}

int sm_agg_write(struct sm_agg *a, const char *dir, const char *prefix, unsigned formats,
                 const char *bench_id, int64_t win_a_real, int64_t win_b_real,
                 const char *input_config, struct buf *written, struct diag *d)
{
    size_t n = 0;
    size_t *ord = xmalloc((a->n ? a->n : 1) * sizeof *ord);
    for (size_t i = 0; i < a->n; i++)
        if (has_data(&a->s[i]))
            ord[n++] = i;
    g_sort_ctx = a;
    qsort(ord, n, sizeof *ord, cmp_series_q);
    const char *version = "metronome " METRONOME_VERSION;
    int rc = 0;
    char path[4096];
    if (formats & SM_FMT_JSON) {
        struct buf o;
        buf_init(&o, 0);
        json_export(a, &o, ord, n, bench_id, version, win_a_real, win_b_real,
                    input_config ? input_config : "{}");
        char nm[512];
        report_export_name(prefix, "server_metrics_export.json", nm, sizeof nm);
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        rc = afile_write_all(path, o.p, o.len, d);
        if (!rc && written)
            buf_printf(written, "%s\n", path);
        buf_free(&o);
    }
    if (!rc && (formats & SM_FMT_CSV)) {
        struct buf o;
        buf_init(&o, 0);
        buf_puts(&o, "# AIPerf Server Metrics Export (CSV)\n");
        buf_printf(&o, "# aiperf_version: %s\n", version);
        buf_puts(&o, "# schema_version: 1.0\n");
        buf_printf(&o, "# benchmark_id: %s\n", bench_id);
        buf_puts(&o,
                 "# Note: Same benchmark_id and version appear in JSON and Parquet exports\n#\n");
        size_t before = o.len;
        for (int t = 0; t < SMT_N; t++) {
            size_t at = o.len;
            if (o.len > before)
                buf_puts(&o, "\r\n");
            size_t mark = o.len;
            csv_section(a, &o, (enum smt)t, ord, n);
            if (o.len == mark)
                o.len = at; /* an empty section: no separator either */
        }
        size_t at = o.len;
        if (o.len > before)
            buf_puts(&o, "\r\n");
        size_t mark = o.len;
        csv_info(a, &o, ord, n);
        if (o.len == mark)
            o.len = at;
        char nm[512];
        report_export_name(prefix, "server_metrics_export.csv", nm, sizeof nm);
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        rc = afile_write_all(path, o.p ? o.p : "", o.len, d);
        if (!rc && written)
            buf_printf(written, "%s\n", path);
        buf_free(&o);
    }
    free(ord);
    return rc;
}
