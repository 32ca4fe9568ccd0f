/*
 * AIPerf 0.13's grid search recipes in `metronome profile` (docs/cli-profile.md, *Search
 * recipes*): `--search-recipe concurrency-ramp` and `--search-recipe
 * max-concurrency-under-sla --search-style grid`. Both expand to a log-spaced concurrency
 * sweep (AIPerf: search_recipes/builtins.py) run by the ordinary sweep driver, and both
 * judge the sweep aggregate's per-point metrics afterwards (AIPerf's post-process
 * handlers degradation_knee_detect and sla_breach_knee), writing degradation_knee.json or
 * sla_breach.json beside profile_export_aiperf_sweep.json.
 *
 * The recipe's settings travel as a cJSON spec stored in the manifest (metronome_sweep.json,
 * "recipe"), so that `metronome report` on the sweep base redoes the post-process.
 */
#include "profile_sweep.h"

#include "args.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t recipe_logspace(long lo, long hi, int steps, long *out, size_t cap)
{
    size_t n = 0;
    double llo = log((double)lo), lhi = log((double)hi);
    for (int i = 0; i < steps; i++) {
        /* Python's round(): half to even, which nearbyint does in the default mode */
        double v = nearbyint(exp(llo + (lhi - llo) * i / (steps - 1)));
        long x = v < 1 ? 1 : (long)v;
        /* ascending already; drop the duplicates rounding makes (AIPerf keeps a set) */
        if ((n == 0 || out[n - 1] != x) && n < cap)
            out[n++] = x;
    }
    return n;
}

static int get_pos(const struct args *a, const char *name, double lo, double hi, bool hi_open,
                   double *out, bool *set, struct diag *d)
{
    const char *v = args_get(a, name);
    *set = false;
    if (!v)
        return 0;
    char *end = NULL;
    double x = strtod(v, &end);
    if (end == v || *end || !isfinite(x) || x <= lo || (hi_open ? x >= hi : x > hi))
        return diag_set(d, ERR_INVALID, "--%s: '%s' is not a number > %g and %s %g", name, v, lo,
                        hi_open ? "<" : "<=", hi);
    *out = x;
    *set = true;
    return 0;
}

static void add_filter(cJSON *arr, const char *tag, const char *stat, double threshold)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "metric_tag", tag);
    cJSON_AddStringToObject(f, "stat", stat);
    cJSON_AddStringToObject(f, "op", "lt");
    cJSON_AddNumberToObject(f, "threshold", threshold);
    cJSON_AddItemToArray(arr, f);
}

int recipe_parse(const struct args *a, cJSON **spec, long *conc, size_t *nconc, struct diag *d)
{
    *spec = NULL;
    *nconc = 0;
    /* Every recipe flag is checked as AIPerf's CLI model checks it, recipe or not. */
    long cmin = 1, cmax = 1000, steps = 8;
    int rc;
    if ((rc = args_long(a, "concurrency-min", 1, 1000000, &cmin, d)) ||
        (rc = args_long(a, "concurrency-max", 1, 1000000, &cmax, d)) ||
        (rc = args_long(a, "concurrency-steps", 2, SWEEP_MAX_VALUES, &steps, d)))
        return rc;
    double ttft = 0, itl = 0, tpot = 0, e2e = 0, err = 0, thr = 0.20;
    bool s_ttft, s_itl, s_tpot, s_e2e, s_err, s_thr;
    if ((rc = get_pos(a, "ttft-sla-ms", 0, INFINITY, false, &ttft, &s_ttft, d)) ||
        (rc = get_pos(a, "itl-sla-ms", 0, INFINITY, false, &itl, &s_itl, d)) ||
        (rc = get_pos(a, "tpot-sla-ms", 0, INFINITY, false, &tpot, &s_tpot, d)) ||
        (rc = get_pos(a, "e2e-sla-ms", 0, INFINITY, false, &e2e, &s_e2e, d)) ||
        (rc = get_pos(a, "error-rate-sla", 0, 1, true, &err, &s_err, d)) ||
        (rc = get_pos(a, "degradation-threshold", 0, 1, true, &thr, &s_thr, d)))
        return rc;
    const char *dstat = "p99";
    if ((rc = args_choice(a, "degradation-stat", "avg|p50|p90|p95|p99", &dstat, d)))
        return rc;
    const char *dtag = args_get(a, "degradation-metric-tag");
    if (!dtag)
        dtag = "request_latency";
    else if (!*dtag)
        return diag_set(d, ERR_INVALID, "--degradation-metric-tag: '' is not a metric tag");
    const char *style = args_get(a, "search-style");
    static const char *const styles[] = {"smooth_isotonic", "monotonic", "bo", "optuna", "grid"};
    if (style) {
        size_t k = 0;
        while (k < 5 && strcmp(style, styles[k]))
            k++;
        if (k == 5)
            return diag_set(d, ERR_INVALID,
                            "--search-style: '%s' is not one of smooth_isotonic, monotonic, bo, "
                            "optuna, grid",
                            style);
    }
    if (s_itl && s_tpot && itl != tpot)
        return diag_set(d, ERR_INVALID,
                        "--itl-sla-ms '%s' and --tpot-sla-ms '%s' set the same inter-token "
                        "latency SLA to different values",
                        args_get(a, "itl-sla-ms"), args_get(a, "tpot-sla-ms"));
    const char *name = args_get(a, "search-recipe");
    if (!name)
        return 0; /* AIPerf: the recipe-only flags are ignored without a recipe */
    bool ramp = !strcmp(name, "concurrency-ramp");
    bool sla = !strcmp(name, "max-concurrency-under-sla");
    if (!ramp && !sla)
        return diag_set(d, ERR_UNSUPPORTED,
                        "--search-recipe: '%s' is not supported (metronome runs "
                        "concurrency-ramp and max-concurrency-under-sla --search-style grid)",
                        name);
    if (cmin >= cmax)
        return diag_set(d, ERR_INVALID,
                        "--search-recipe %s: --concurrency-min (%ld) must be < --concurrency-max "
                        "(%ld)",
                        name, cmin, cmax);
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "name", name);
    cJSON_AddStringToObject(s, "swept_param", "phases.profiling.concurrency");
    if (ramp) {
        if (style) {
            cJSON_Delete(s);
            return diag_set(d, ERR_INVALID,
                            "--search-style: '%s' applies to max-concurrency-under-sla, not "
                            "concurrency-ramp",
                            style);
        }
        cJSON_AddStringToObject(s, "handler", "degradation_knee_detect");
        cJSON_AddStringToObject(s, "output_filename", "degradation_knee.json");
        cJSON_AddNumberToObject(s, "threshold_pct", thr);
        cJSON_AddStringToObject(s, "metric_tag", dtag);
        cJSON_AddStringToObject(s, "stat", dstat);
    } else {
        if (!style || strcmp(style, "grid")) {
            cJSON_Delete(s);
            return diag_set(d, ERR_UNSUPPORTED,
                            "--search-style: '%s' is not supported for max-concurrency-under-sla "
                            "(metronome runs only grid; AIPerf's default smooth_isotonic and the "
                            "monotonic, bo and optuna planners are adaptive)",
                            style ? style : "smooth_isotonic");
        }
        cJSON *fs = cJSON_AddArrayToObject(s, "sla_filters");
        if (s_ttft)
            add_filter(fs, "time_to_first_token", "p95", ttft);
        if (s_tpot || s_itl)
            add_filter(fs, "inter_token_latency", "p95", s_tpot ? tpot : itl);
        if (s_e2e)
            add_filter(fs, "request_latency", "p99", e2e);
        if (s_err)
            add_filter(fs, "request_error_rate", "avg", err * 100.0);
        if (!cJSON_GetArraySize(fs)) {
            cJSON_Delete(s);
            return diag_set(d, ERR_INVALID,
                            "--search-recipe max-concurrency-under-sla needs at least one of "
                            "--ttft-sla-ms, --tpot-sla-ms, --itl-sla-ms, --e2e-sla-ms, "
                            "--error-rate-sla");
        }
        if ((s_ttft || s_tpot || s_itl) && !args_flag(a, "streaming")) {
            cJSON_Delete(s);
            return diag_set(d, ERR_INVALID,
                            "--search-recipe max-concurrency-under-sla: the TTFT/ITL SLAs need "
                            "--streaming");
        }
        cJSON_AddStringToObject(s, "handler", "sla_breach_knee");
        cJSON_AddStringToObject(s, "output_filename", "sla_breach.json");
        steps = 8; /* AIPerf's grid style ignores --concurrency-steps */
    }
    *nconc = recipe_logspace(cmin, cmax, (int)steps, conc, SWEEP_MAX_VALUES);
    *spec = s;
    return 0;
}

/* A point's value of metric tag / stat: AIPerf's sweep aggregate keys "tag_stat" with the
 * mean over trials, or (one trial) the run's own block "tag" with the stat inside. */
static bool metric_value(const cJSON *metrics, const char *tag, const char *stat, double *out)
{
    char key[160];
    snprintf(key, sizeof key, "%s_%s", tag, stat);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(metrics, key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "mean");
    if (!cJSON_IsNumber(v)) {
        m = cJSON_GetObjectItemCaseSensitive(metrics, tag);
        v = cJSON_GetObjectItemCaseSensitive(m, stat);
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return false;
    *out = v->valuedouble;
    return true;
}

struct rpoint {
    double x;
    const cJSON *metrics;
};

static int cmp_rpoint(const void *a, const void *b)
{
    double x = ((const struct rpoint *)a)->x, y = ((const struct rpoint *)b)->x;
    return (x > y) - (x < y);
}

/* The per-combination rows that carry the swept parameter, ascending (stable). */
static size_t rows_sorted(const cJSON *pc, const char *param, struct rpoint **out)
{
    size_t n = 0, cap = (size_t)cJSON_GetArraySize(pc);
    struct rpoint *r = calloc(cap ? cap : 1, sizeof *r);
    /* the rows name the parameter by its full path or by its leaf (AIPerf takes either) */
    const char *leaf = strrchr(param, '.') ? strrchr(param, '.') + 1 : param;
    for (const cJSON *c = pc ? pc->child : NULL; c; c = c->next) {
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(c, "parameters");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(ps, param);
        if (!p)
            p = cJSON_GetObjectItemCaseSensitive(ps, leaf);
        if (!cJSON_IsNumber(p) || !r)
            continue;
        r[n].x = p->valuedouble;
        r[n++].metrics = cJSON_GetObjectItemCaseSensitive(c, "metrics");
    }
    if (n > 1)
        qsort(r, n, sizeof *r, cmp_rpoint); /* distinct x: a sweep point per value */
    *out = r;
    return n;
}

static cJSON *num_or_null(bool ok, double v)
{
    return ok ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static int knee(const cJSON *spec, const cJSON *pc, cJSON **out, struct diag *d)
{
    const char *param = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "swept_param"));
    const char *tag = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "metric_tag"));
    const char *stat = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "stat"));
    double thr = cJSON_GetNumberValue(cJSON_GetObjectItem(spec, "threshold_pct"));
    struct rpoint *r;
    size_t n = rows_sorted(pc, param, &r);
    /* AIPerf's _extract_points: the rows where the metric is present */
    size_t k = 0;
    double *y = calloc(n ? n : 1, sizeof *y);
    for (size_t i = 0; i < n; i++)
        if (metric_value(r[i].metrics, tag, stat, &y[k]))
            r[k++] = r[i];
    int rc = 0;
    if (!k)
        rc = diag_set(d, ERR_INVALID, "degradation_knee_detect: no sweep point has %s %s", tag,
                      stat);
    else if (y[0] <= 0)
        rc = diag_set(d, ERR_INVALID,
                      "degradation_knee_detect: the baseline %s of %s is %g, not positive", stat,
                      tag, y[0]);
    if (rc) {
        free(r);
        free(y);
        return rc;
    }
    const char *leaf = strrchr(param, '.') ? strrchr(param, '.') + 1 : param;
    double cutoff = y[0] * (1.0 + thr);
    size_t ki = 0;
    for (size_t i = 1; i < k && !ki; i++)
        if (y[i] > cutoff)
            ki = i;
    cJSON *o = cJSON_CreateObject();
    char key[96];
    snprintf(key, sizeof key, "baseline_%s", leaf);
    cJSON_AddNumberToObject(o, key, r[0].x);
    snprintf(key, sizeof key, "baseline_%s", stat);
    cJSON_AddNumberToObject(o, key, y[0]);
    snprintf(key, sizeof key, "knee_%s", leaf);
    cJSON_AddItemToObject(o, key, num_or_null(ki, ki ? r[ki].x : 0));
    snprintf(key, sizeof key, "knee_%s", stat);
    cJSON_AddItemToObject(o, key, num_or_null(ki, ki ? y[ki] : 0));
    cJSON_AddNumberToObject(o, "threshold_pct", thr);
    cJSON_AddStringToObject(o, "swept_metric", tag);
    cJSON_AddStringToObject(o, "stat", stat);
    cJSON_AddStringToObject(o, "swept_param", param);
    cJSON *all = cJSON_AddArrayToObject(o, "all_points");
    for (size_t i = 0; i < k; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, leaf, r[i].x);
        cJSON_AddNumberToObject(p, stat, y[i]);
        cJSON_AddItemToArray(all, p);
    }
    free(r);
    free(y);
    *out = o;
    return 0;
}

static cJSON *breach(const cJSON *f, bool have, double observed)
{
    cJSON *b = cJSON_CreateObject();
    static const char *const keys[] = {"metric_tag", "stat", "op", "threshold"};
    for (size_t i = 0; i < 4; i++)
        cJSON_AddItemToObject(b, keys[i], cJSON_Duplicate(cJSON_GetObjectItem(f, keys[i]), 1));
    cJSON_AddItemToObject(b, "observed", num_or_null(have, observed));
    return b;
}

static int sla_knee(const cJSON *spec, const cJSON *pc, cJSON **out)
{
    const char *param = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "swept_param"));
    const cJSON *fs = cJSON_GetObjectItem(spec, "sla_filters");
    const char *leaf = strrchr(param, '.') ? strrchr(param, '.') + 1 : param;
    struct rpoint *r;
    size_t n = rows_sorted(pc, param, &r);
    cJSON *o = cJSON_CreateObject();
    cJSON *all = cJSON_CreateArray();
    bool any_ok = false, any_bad = false, seen_bad = false, monotonic = true;
    double max_ok = 0, first_bad = 0;
    cJSON *first_breach = NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, leaf, r[i].x);
        cJSON *br = cJSON_CreateArray();
        for (const cJSON *f = fs ? fs->child : NULL; f; f = f->next) {
            double v = 0;
            bool have = metric_value(r[i].metrics,
                                     cJSON_GetStringValue(cJSON_GetObjectItem(f, "metric_tag")),
                                     cJSON_GetStringValue(cJSON_GetObjectItem(f, "stat")), &v);
            /* a missing metric is infeasible (AIPerf's passes_filter) */
            if (!have || !(v < cJSON_GetNumberValue(cJSON_GetObjectItem(f, "threshold"))))
                cJSON_AddItemToArray(br, breach(f, have, v));
        }
        bool ok = cJSON_GetArraySize(br) == 0;
        cJSON_AddBoolToObject(p, "feasible", ok);
        if (ok) {
            any_ok = true;
            max_ok = r[i].x;
            if (seen_bad)
                monotonic = false;
        } else {
            seen_bad = true;
            if (!any_bad) {
                first_bad = r[i].x;
                first_breach = cJSON_Duplicate(br->child, true);
            }
            any_bad = true;
        }
        cJSON_AddItemToObject(p, "breaches", br);
        cJSON_AddItemToArray(all, p);
    }
    free(r);
    char key[96];
    cJSON_AddStringToObject(o, "swept_param", param);
    snprintf(key, sizeof key, "max_passing_%s", leaf);
    cJSON_AddItemToObject(o, key, num_or_null(any_ok, max_ok));
    snprintf(key, sizeof key, "first_failing_%s", leaf);
    cJSON_AddItemToObject(o, key, num_or_null(any_bad, first_bad));
    cJSON_AddItemToObject(o, "first_failing_breach",
                          first_breach ? first_breach : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "all_points", all);
    cJSON_AddBoolToObject(o, "monotonicity_check", monotonic);
    cJSON_AddItemToObject(o, "filters", cJSON_Duplicate(fs, true));
    *out = o;
    return 0;
}

int recipe_post_process(const cJSON *spec, const cJSON *per_combination, cJSON **out,
                        struct diag *d)
{
    const char *h = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "handler"));
    *out = NULL;
    if (h && !strcmp(h, "degradation_knee_detect"))
        return knee(spec, per_combination, out, d);
    if (h && !strcmp(h, "sla_breach_knee"))
        return sla_knee(spec, per_combination, out);
    return diag_set(d, ERR_INVALID, "metronome_sweep.json: recipe handler '%s' is unknown",
                    h ? h : "");
}
