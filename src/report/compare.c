/*
 * Comparisons between runs (docs/cli-report.md, *Comparing runs*): the delta of one
 * statistic against the first run, whether it is inside the noise, and whether the runs
 * are comparable at all. Shared by the console and report.html so both say the same.
 */
#include "report_int.h"
#include "xalloc.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int report_direction(int m)
{
    const struct metric_def *md = &metric_defs[m];
    if (md->flags & MF_LARGER)
        return m == M_REQ_COUNT || m == M_ISL || m == M_OSL || m == M_ERROR_ISL ||
                       m == M_USAGE_PROMPT || m == M_USAGE_COMPLETION || m == M_USAGE_TOTAL ||
                       m == M_USAGE_REASONING
                   ? 0
                   : 1;
    if (m == M_ERROR_RATE || m == M_REQ_ERR_RATE || m == M_ERR_COUNT)
        return -1;
    if (strcmp(md->unit, "ms") == 0)
        return -1;
    return 0;
}

/* error_rate is a ratio in the exports; people compare it in percent. */
static bool as_percent(int m)
{
    return m == M_ERROR_RATE;
}

void report_cmp_value(int m, double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "N/A");
        return;
    }
    if (as_percent(m)) {
        snprintf(out, cap, "%.2f %%", v * 100.0);
        return;
    }
    report_fmt2(v, out, cap);
}

void report_delta(int m, bool hb, double b, bool hv, double v, double noise_pct, double ci_b,
                  double ci_v, struct report_delta *out)
{
    memset(out, 0, sizeof *out);
    if (!hb && !hv) {
        out->cls = DELTA_NONE;
        return;
    }
    if (!hb || isnan(b)) {
        out->cls = DELTA_NEUTRAL;
        snprintf(out->text, sizeof out->text, "new");
        return;
    }
    if (!hv || isnan(v)) {
        out->cls = DELTA_NEUTRAL;
        snprintf(out->text, sizeof out->text, "gone");
        return;
    }
    double scale = as_percent(m) ? 100.0 : 1.0;
    double diff = (v - b) * scale;
    bool pp = as_percent(m) || strcmp(metric_defs[m].unit, "%") == 0;
    if (pp || b == 0) {
        /* A relative change from 0 is infinite: the absolute one is what matters
         * (0 -> 2.8 % errors is "+2.80 pp"). Percent metrics change in points. */
        if (pp)
            snprintf(out->text, sizeof out->text, "%+.2f pp", diff);
        else {
            char a[48];
            report_fmt2(fabs(diff), a, sizeof a);
            snprintf(out->text, sizeof out->text, "%s%s", diff < 0 ? "-" : "+", a);
        }
    } else {
        out->rel = (v - b) / fabs(b) * 100.0;
        snprintf(out->text, sizeof out->text, "%+.1f%%", out->rel);
    }
    bool noise;
    if (!isnan(ci_b) || !isnan(ci_v))
        /* repeated runs on either side: inside when the confidence intervals overlap (a
         * side without repeats counts as a point, half-width 0) */
        noise = fabs(v - b) <= (isnan(ci_b) ? 0 : ci_b) + (isnan(ci_v) ? 0 : ci_v);
    else if (b == 0 || pp)
        /* Rates that start at 0 or are percentages: any change is real unless it is
         * below the threshold in points of the larger side. */
        noise = fabs(diff) <= fmax(fabs(b), fabs(v)) * scale * noise_pct / 100.0 && b != 0;
    else
        noise = fabs(out->rel) < noise_pct;
    if (v == b)
        noise = true;
    int dir = report_direction(m);
    if (noise || dir == 0)
        out->cls = DELTA_NEUTRAL;
    else
        out->cls = ((v > b) == (dir > 0)) ? DELTA_BETTER : DELTA_WORSE;
    out->noise = noise;
}

/* dirname of p into out ("" when p has no '/'); trailing slashes ignored. */
static void parent_of(const char *p, char *out, size_t cap)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    while (n > 0 && p[n - 1] != '/')
        n--;
    while (n > 1 && p[n - 1] == '/')
        n--;
    snprintf(out, cap, "%.*s", (int)n, p);
}

static const char *base_of(const char *p, size_t *len)
{
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && p[b - 1] != '/')
        b--;
    *len = n - b;
    return p + b;
}

static bool base_is(const char *p, const char *name)
{
    size_t n;
    const char *b = base_of(p, &n);
    return n == strlen(name) && !memcmp(b, name, n);
}

static cJSON *read_aggregate(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *txt = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            if (cap >= (64u << 20)) /* an aggregate is a few KiB; refuse anything huge */
                break;
            cap = cap ? cap * 2 : 65536;
            txt = xrealloc(txt, cap);
        }
        size_t k = fread(txt + len, 1, cap - len, f);
        len += k;
        if (!k)
            break;
    }
    fclose(f);
    cJSON *j = txt ? cJSON_ParseWithLength(txt, len) : NULL;
    free(txt);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(md, "num_successful_runs");
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "metrics")) || !cJSON_IsNumber(ok) ||
        ok->valuedouble < 2) {
        cJSON_Delete(j); /* a single run has no interval */
        return NULL;
    }
    return j;
}

void report_load_set_aggregate(struct run *ru)
{
    const char *d = ru->shard[0].dir;
    char p[4096], pp[4096], ppp[4096], path[4600];
    parent_of(d, p, sizeof p);
    parent_of(p, pp, sizeof pp);
    parent_of(pp, ppp, sizeof ppp);
    size_t bn;
    const char *b = base_of(d, &bn);
    if (base_is(p, "profile_runs"))
        snprintf(path, sizeof path, "%s/aggregate/profile_export_aiperf_aggregate.json",
                 pp[0] ? pp : ".");
    else if (base_is(pp, "profile_runs"))
        snprintf(path, sizeof path, "%s/aggregate/%.*s/profile_export_aiperf_aggregate.json",
                 ppp[0] ? ppp : ".", (int)bn, b);
    else
        return;
    ru->set_agg = read_aggregate(path);
}

double report_ci_half(const struct run *ru, int m, enum verdict_stat st)
{
    if (!ru->set_agg)
        return NAN;
    char key[128];
    snprintf(key, sizeof key, "%s_%s", metric_defs[m].tag, verdict_stat_str(st));
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ru->set_agg, "metrics"), key);
    const cJSON *mean = cJSON_GetObjectItemCaseSensitive(e, "mean"),
                *hi = cJSON_GetObjectItemCaseSensitive(e, "ci_high");
    if (!cJSON_IsNumber(mean) || !cJSON_IsNumber(hi) || !(hi->valuedouble >= mean->valuedouble))
        return NAN;
    return hi->valuedouble - mean->valuedouble;
}

/* Models the trace was packed for (trace.header.options.models), comma-joined. */
static void run_models(const struct run *ru, char *out, size_t cap)
{
    out[0] = '\0';
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(ru->shard[0].json, "trace");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(t, "header");
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(h, "options");
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(o, "models"), *m;
    size_t n = 0;
    cJSON_ArrayForEach(m, ms)
    {
        if (cJSON_IsString(m) && n + 2 < cap) {
            int k = snprintf(out + n, cap - n, "%s%s", n ? "," : "", m->valuestring);
            if (k < 0)
                break;
            n += (size_t)k < cap - n ? (size_t)k : cap - n - 1;
        }
    }
}

static const char *cfg_str(const struct run *ru, const char *key)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(ru->shard[0].json, "config");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void url_of(const struct run *ru, char *out, size_t cap)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(ru->shard[0].json, "config");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(c, "url");
    if (cJSON_IsArray(u))
        u = cJSON_GetArrayItem(u, 0);
    snprintf(out, cap, "%s", cJSON_IsString(u) ? u->valuestring : "");
}

/* Whether two traces were packed from the same input and options with different seeds
 * only, as the points of a seeded sweep are (AIPerf seeds each point 42 + its index):
 * their requests are drawn alike, so the difference is not worth a warning. */
static bool only_seed_differs(const struct run *a, const struct run *b)
{
    const cJSON *ha = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(a->shard[0].json, "trace"), "header");
    const cJSON *hb = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(b->shard[0].json, "trace"), "header");
    if (!cJSON_IsObject(ha) || !cJSON_IsObject(hb))
        return false;
    cJSON *x = cJSON_Duplicate(ha, 1), *y = cJSON_Duplicate(hb, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(x, "seed");
    cJSON_DeleteItemFromObjectCaseSensitive(y, "seed");
    bool same = x && y && cJSON_Compare(x, y, 1);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return same;
}

size_t report_run_differences(struct run *const *runs, size_t nruns, struct buf *out)
{
    size_t n = 0;
    for (size_t i = 1; i < nruns; i++) {
        const struct run *a = runs[0], *b = runs[i];
        char ma[512], mb[512], ua[512], ub[512];
        run_models(a, ma, sizeof ma);
        run_models(b, mb, sizeof mb);
        url_of(a, ua, sizeof ua);
        url_of(b, ub, sizeof ub);
        struct {
            const char *what, *x, *y;
        } f[] = {
            {"trace (sha256)", a->shard[0].trace_sha256, b->shard[0].trace_sha256},
            {"model", ma, mb},
            {"endpoint type", a->endpoint ? a->endpoint : "", b->endpoint ? b->endpoint : ""},
            {"endpoint URL", ua, ub},
            {"load mode", cfg_str(a, "mode"), cfg_str(b, "mode")},
            {"arrival pattern", cfg_str(a, "arrival_pattern"), cfg_str(b, "arrival_pattern")},
        };
        for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
            if (strcmp(f[k].x, f[k].y) == 0 || (k == 0 && only_seed_differs(a, b)))
                continue;
            bool hash = k == 0;
            buf_printf(out, "runs differ in %s: %s has '%.*s', %s has '%.*s'\n", f[k].what,
                       a->label, hash ? 12 : 200, f[k].x[0] ? f[k].x : "(none)", b->label,
                       hash ? 12 : 200, f[k].y[0] ? f[k].y : "(none)");
            n++;
        }
    }
    return n;
}
