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
#include <ctype.h>
#include <errno.h>
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

/* One --search-sla value, AIPerf's parse_sla_filter: exactly 'metric_tag:stat:op:threshold'
 * (no whitespace stripped), stat avg|min|max|p1|p5|p10|p25|p50|p75|p90|p95|p99, op
 * lt|le|gt|ge, threshold a float. */
static int parse_sla(const char *v, cJSON **out, struct diag *d)
{
    static const char *const stats[] = {"avg", "p1",  "p5",  "p10", "p25", "p50",
                                        "p75", "p90", "p95", "p99", "min", "max"};
    static const char *const ops[] = {"lt", "le", "gt", "ge"};
    char part[4][128];
    size_t np = 0;
    const char *p = v;
    for (;;) {
        const char *e = strchr(p, ':');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (np < 4) {
            if (len >= sizeof part[0])
                len = sizeof part[0] - 1;
            memcpy(part[np], p, len);
            part[np][len] = '\0';
        }
        np++;
        if (!e)
            break;
        p = e + 1;
    }
    if (np != 4)
        return diag_set(d, ERR_INVALID,
                        "--search-sla: '%s' is not 'metric_tag:stat:op:threshold' (%zu parts, "
                        "not 4)",
                        v, np);
    size_t k = 0;
    while (k < 12 && strcmp(part[1], stats[k]))
        k++;
    if (k == 12)
        return diag_set(d, ERR_INVALID,
                        "--search-sla: '%s': stat '%s' is not one of avg, p1, p5, p10, p25, "
                        "p50, p75, p90, p95, p99, min, max",
                        v, part[1]);
    k = 0;
    while (k < 4 && strcmp(part[2], ops[k]))
        k++;
    if (k == 4)
        return diag_set(d, ERR_INVALID, "--search-sla: '%s': op '%s' is not one of lt, le, gt, ge",
                        v, part[2]);
    char *end = NULL;
    double x = strtod(part[3], &end);
    /* Python's float() takes inf and nan too; an empty tag is still a tag */
    if (end == part[3] || *end)
        return diag_set(d, ERR_INVALID, "--search-sla: '%s': threshold '%s' is not a float", v,
                        part[3]);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "metric_tag", part[0]);
    cJSON_AddStringToObject(f, "stat", part[1]);
    cJSON_AddStringToObject(f, "op", part[2]);
    cJSON_AddNumberToObject(f, "threshold", x);
    *out = f;
    return 0;
}

/* AIPerf's sweep.sla_filters: the recipe's own, then --search-sla's in order (checked
 * already); the sweep aggregate judges feasibility by them (aggregate.c). */
static void add_sweep_filters(const struct args *a, cJSON *s, struct diag *d)
{
    cJSON *all = cJSON_Duplicate(cJSON_GetObjectItem(s, "sla_filters"), true);
    if (!all)
        all = cJSON_CreateArray();
    for (size_t i = 0; i < args_count(a, "search-sla"); i++) {
        cJSON *f = NULL;
        if (!parse_sla(args_multi(a, "search-sla", i), &f, d))
            cJSON_AddItemToArray(all, f);
    }
    if (cJSON_GetArraySize(all))
        cJSON_AddItemToObject(s, "sweep_sla_filters", all);
    else
        cJSON_Delete(all);
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

static void dim_set(struct recipe_dim *dm, const char *opt, const char *path, long lo, long hi,
                    long steps)
{
    dm->opt = opt;
    dm->path = path;
    dm->n = recipe_logspace(lo, hi, (int)steps, dm->v, SWEEP_MAX_VALUES);
}

/* A recipe's log-spaced axis: --NAME-min/-max/-steps, each checked as AIPerf's CLI model
 * checks it (ge=1, ge=1, ge=2), recipe or not. */
static int axis_opts(const struct args *a, const char *name, long *lo, long *hi, long *steps,
                     struct diag *d)
{
    char kmin[32], kmax[32], kst[32];
    snprintf(kmin, sizeof kmin, "%s-min", name);
    snprintf(kmax, sizeof kmax, "%s-max", name);
    snprintf(kst, sizeof kst, "%s-steps", name);
    int rc;
    if ((rc = args_long(a, kmin, 1, 100000000, lo, d)) ||
        (rc = args_long(a, kmax, 1, 100000000, hi, d)) ||
        (rc = args_long(a, kst, 2, SWEEP_MAX_VALUES, steps, d)))
        return rc;
    return 0;
}

static int need_streaming(const struct args *a, const char *name, const char *why, struct diag *d);

struct pairs {
    size_t n;
    long v[SWEEP_MAX_VALUES][2];
};

/* AIPerf's parse_isl_osl_pairs: "ISL/OSL,ISL/OSL,...", whitespace around the separators
 * tolerated, empty items skipped, both sides positive integers, no pair twice, at least
 * one pair. */
static int parse_pairs(const char *v, struct pairs *out, struct diag *d)
{
    out->n = 0;
    const char *p = v;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && isspace((unsigned char)*p))
            p++, len--;
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        if (len) {
            char tok[128];
            snprintf(tok, sizeof tok, "%.*s", (int)(len < 127 ? len : 127), p);
            char *slash = strchr(tok, '/');
            if (!slash || strchr(slash + 1, '/'))
                return diag_set(d, ERR_INVALID,
                                "--isl-osl-pairs: '%s' expected '<isl>/<osl>' (one slash)", tok);
            long x[2];
            const char *side[2] = {tok, slash + 1};
            *slash = '\0';
            for (int k = 0; k < 2; k++) {
                char *end = NULL;
                errno = 0;
                x[k] = strtol(side[k], &end, 10);
                while (end && isspace((unsigned char)*end))
                    end++;
                if (errno || end == side[k] || *end || x[k] <= 0 || x[k] > 100000000) {
                    *slash = '/';
                    return diag_set(d, ERR_INVALID,
                                    "--isl-osl-pairs: '%s' both sides must be a positive int", tok);
                }
            }
            *slash = '/';
            for (size_t i = 0; i < out->n; i++)
                if (out->v[i][0] == x[0] && out->v[i][1] == x[1])
                    return diag_set(d, ERR_INVALID, "--isl-osl-pairs: duplicate pair '%s'", tok);
            if (out->n == SWEEP_MAX_VALUES)
                return diag_set(d, ERR_INVALID, "--isl-osl-pairs: more than %d pairs",
                                SWEEP_MAX_VALUES);
            out->v[out->n][0] = x[0];
            out->v[out->n++][1] = x[1];
        }
        if (!e)
            break;
        p = e + 1;
    }
    if (!out->n)
        return diag_set(d, ERR_INVALID, "--isl-osl-pairs: '%s': at least one pair required", v);
    return 0;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Sorted distinct values of v[0..n) into out; returns how many. */
static size_t uniq_long(const long *v, size_t n, long *out)
{
    memcpy(out, v, n * sizeof *v);
    qsort(out, n, sizeof *out, cmp_long);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || out[k - 1] != out[i])
            out[k++] = out[i];
    return k;
}

/* pareto-sweep (AIPerf's ParetoSweep): each (isl, osl) pair crossed with each value of the
 * --concurrency list (default 1,4,16,64,256), pairs outer, as scenarios whose values are
 * {isl, osl, concurrency} (directories isl_I__osl_O__concurrency_C); needs --streaming and
 * --isl-osl-pairs, and 2 points at least. Post-process: pareto_sweep_export. */
static int pareto_spec(const struct args *a, const struct pairs *pp, struct recipe_dim *dims,
                       size_t *ndims, cJSON **spec, struct diag *d)
{
    int rc;
    if ((rc = need_streaming(a, "pareto-sweep",
                             "output_token_throughput is a streaming-only metric", d)))
        return rc;
    if (!pp->n)
        return diag_set(d, ERR_INVALID,
                        "--search-recipe pareto-sweep requires --isl-osl-pairs (e.g. "
                        "'128/128,256/256')");
    long conc[SWEEP_MAX_VALUES] = {1, 4, 16, 64, 256};
    size_t nconc = 5;
    const char *cv = args_get(a, "concurrency");
    if (cv) {
        nconc = 0;
        for (const char *p = cv;;) {
            const char *e = strchr(p, ',');
            char *end = NULL;
            errno = 0;
            long x = strtol(p, &end, 10);
            while (end && *end == ' ')
                end++;
            if (errno || end == p || (e ? end != e : *end != '\0') || x < 1 ||
                nconc == SWEEP_MAX_VALUES)
                return diag_set(d, ERR_INVALID,
                                "--concurrency: '%s' is not a list of positive integers", cv);
            for (size_t k = 0; k < nconc; k++)
                if (conc[k] == x)
                    return diag_set(d, ERR_INVALID, "--concurrency: %ld is in '%s' twice", x, cv);
            conc[nconc++] = x;
            if (!e)
                break;
            p = e + 1;
        }
    }
    if (pp->n * nconc < 2)
        return diag_set(d, ERR_INVALID,
                        "--search-recipe pareto-sweep: a Pareto sweep with a single point is "
                        "meaningless; pass at least 2 pairs or 2 concurrency values");
    if (pp->n * nconc > SWEEP_MAX_POINTS)
        return diag_set(d, ERR_INVALID, "the sweep has more than %d points", SWEEP_MAX_POINTS);
    long col[SWEEP_MAX_VALUES];
    static const char *const opts[3] = {"prompt-input-tokens-mean", "prompt-output-tokens-mean",
                                        "concurrency"};
    static const char *const paths[3] = {"isl", "osl", "concurrency"};
    for (int k = 0; k < 3; k++) {
        size_t n = k < 2 ? pp->n : nconc;
        for (size_t i = 0; i < n; i++)
            col[i] = k < 2 ? pp->v[i][k] : conc[i];
        dims[k].opt = opts[k];
        dims[k].path = paths[k];
        dims[k].n = uniq_long(col, n, dims[k].v);
    }
    *ndims = 3;
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "name", "pareto-sweep");
    cJSON_AddStringToObject(s, "handler", "pareto_sweep_export");
    cJSON_AddStringToObject(s, "output_filename", "pareto_sweep.json");
    cJSON_AddStringToObject(s, "x_metric", "time_to_first_token");
    cJSON_AddStringToObject(s, "x_stat", "p95");
    cJSON_AddStringToObject(s, "y_metric", "output_token_throughput");
    cJSON_AddStringToObject(s, "y_stat", "avg");
    cJSON *pts = cJSON_AddArrayToObject(s, "points");
    for (size_t i = 0; i < pp->n; i++)
        for (size_t j = 0; j < nconc; j++) {
            long t[3] = {pp->v[i][0], pp->v[i][1], conc[j]};
            cJSON *row = cJSON_CreateArray();
            for (int k = 0; k < 3; k++)
                cJSON_AddItemToArray(row, cJSON_CreateNumber((double)t[k]));
            cJSON_AddItemToArray(pts, row);
        }
    *spec = s;
    return 0;
}

static int need_streaming(const struct args *a, const char *name, const char *why, struct diag *d)
{
    if (args_flag(a, "streaming"))
        return 0;
    return diag_set(d, ERR_INVALID, "--search-recipe %s requires --streaming (%s)", name, why);
}

int recipe_parse(const struct args *a, cJSON **spec, struct recipe_dim *dims, size_t *ndims,
                 struct diag *d)
{
    *spec = NULL;
    *ndims = 0;
    /* Every recipe flag is checked as AIPerf's CLI model checks it, recipe or not; the
     * defaults are the recipe's own (AIPerf: search_recipes/builtins.py). */
    const char *name = args_get(a, "search-recipe");
    bool ramp = name && !strcmp(name, "concurrency-ramp");
    bool sla = name && !strcmp(name, "max-concurrency-under-sla");
    bool prefill = name && !strcmp(name, "prefill-ttft-curve");
    bool decode = name && !strcmp(name, "decode-itl-curve");
    bool pareto = name && !strcmp(name, "pareto-sweep");
    long cmin = 1, cmax = decode ? 200 : 1000, steps = decode ? 6 : 8;
    long imin = 256, imax = 32768, isteps = 8, omin = 64, omax = 1024, osteps = 4;
    int rc;
    if ((rc = axis_opts(a, "concurrency", &cmin, &cmax, &steps, d)) ||
        (rc = axis_opts(a, "isl", &imin, &imax, &isteps, d)) ||
        (rc = axis_opts(a, "osl", &omin, &omax, &osteps, d)))
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
    /* --isl-osl-pairs: AIPerf parses it only for pareto-sweep; a bad value is still an
     * error here, before anything runs */
    struct pairs isl_osl = {0};
    const char *pv = args_get(a, "isl-osl-pairs");
    if (pv && (rc = parse_pairs(pv, &isl_osl, d)))
        return rc;
    /* --search-sla: checked whenever given (AIPerf's converter parses it) */
    size_t nsla = args_count(a, "search-sla");
    for (size_t i = 0; i < nsla; i++) {
        cJSON *f = NULL;
        if ((rc = parse_sla(args_multi(a, "search-sla", i), &f, d)))
            return rc;
        cJSON_Delete(f);
    }
    if (!name) {
        if (nsla)
            fprintf(stderr, "metronome: warning: --search-sla applies to a grid --search-recipe "
                            "only (AIPerf ignores it without one)\n");
        return 0; /* AIPerf: the recipe-only flags are ignored without a recipe */
    }
    if (!ramp && !sla && !prefill && !decode && !pareto)
        return diag_set(d, ERR_UNSUPPORTED,
                        "--search-recipe: '%s' is not supported (metronome runs "
                        "concurrency-ramp, prefill-ttft-curve, decode-itl-curve, pareto-sweep and "
                        "max-concurrency-under-sla --search-style grid)",
                        name);
    if (pareto) {
        if (!(rc = pareto_spec(a, &isl_osl, dims, ndims, spec, d)))
            add_sweep_filters(a, *spec, d);
        return rc;
    }
    if ((ramp || sla || decode) && cmin >= cmax)
        return diag_set(d, ERR_INVALID,
                        "--search-recipe %s: --concurrency-min (%ld) must be < --concurrency-max "
                        "(%ld)",
                        name, cmin, cmax);
    if (style && !sla)
        return diag_set(d, ERR_INVALID,
                        "--search-style: '%s' applies to max-concurrency-under-sla, not %s", style,
                        name);
    if (prefill && imin >= imax)
        return diag_set(d, ERR_INVALID,
                        "--search-recipe %s: --isl-min (%ld) must be < --isl-max (%ld)", name, imin,
                        imax);
    if (decode && omin >= omax)
        return diag_set(d, ERR_INVALID,
                        "--search-recipe %s: --osl-min (%ld) must be < --osl-max (%ld)", name, omin,
                        omax);
    if (prefill && (rc = need_streaming(a, name, "TTFT is a streaming-only metric", d)))
        return rc;
    if (decode && (rc = need_streaming(a, name, "ITL is a streaming-only metric", d)))
        return rc;
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "name", name);
    if (ramp) {
        cJSON_AddStringToObject(s, "swept_param", "phases.profiling.concurrency");
        cJSON_AddStringToObject(s, "handler", "degradation_knee_detect");
        cJSON_AddStringToObject(s, "output_filename", "degradation_knee.json");
        cJSON_AddNumberToObject(s, "threshold_pct", thr);
        cJSON_AddStringToObject(s, "metric_tag", dtag);
        cJSON_AddStringToObject(s, "stat", dstat);
        dim_set(&dims[(*ndims)++], "concurrency", "phases.profiling.concurrency", cmin, cmax,
                steps);
    } else if (prefill) {
        /* AIPerf sweeps the ISL and a one-value concurrency list [1]; its grid sorts the
         * paths, so the ISL leads (directories isl_256__concurrency_1) */
        cJSON_AddStringToObject(s, "swept_param", "datasets.main.prompts.isl");
        cJSON_AddStringToObject(s, "handler", "ttft_curve_fit");
        cJSON_AddStringToObject(s, "output_filename", "prefill_curve.json");
        cJSON_AddStringToObject(s, "metric_tag", "time_to_first_token");
        cJSON_AddStringToObject(s, "stat", "avg");
        dim_set(&dims[(*ndims)++], "prompt-input-tokens-mean", "datasets.main.prompts.isl", imin,
                imax, isteps);
        struct recipe_dim *c = &dims[(*ndims)++];
        c->opt = "concurrency";
        c->path = "phases.profiling.concurrency";
        c->n = 1;
        c->v[0] = 1;
    } else if (decode) {
        cJSON_AddStringToObject(s, "handler", "itl_surface_fit");
        cJSON_AddStringToObject(s, "output_filename", "decode_itl_surface.json");
        cJSON_AddStringToObject(s, "metric_tag", "inter_token_latency");
        cJSON_AddStringToObject(s, "stat", "avg");
        cJSON_AddStringToObject(s, "concurrency_param", "phases.profiling.concurrency");
        cJSON_AddStringToObject(s, "osl_param", "datasets.main.prompts.osl");
        dim_set(&dims[(*ndims)++], "prompt-output-tokens-mean", "datasets.main.prompts.osl", omin,
                omax, osteps);
        dim_set(&dims[(*ndims)++], "concurrency", "phases.profiling.concurrency", cmin, cmax,
                steps);
    } else {
        cJSON_AddStringToObject(s, "swept_param", "phases.profiling.concurrency");
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
        /* AIPerf's grid style ignores --concurrency-steps */
        dim_set(&dims[(*ndims)++], "concurrency", "phases.profiling.concurrency", cmin, cmax, 8);
    }
    add_sweep_filters(a, s, d);
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

/* As metric_value, but a non-finite value is returned too (the curve handlers count and
 * drop those themselves, as AIPerf's). */
static bool metric_value_any(const cJSON *metrics, const char *tag, const char *stat, double *out)
{
    char key[160];
    snprintf(key, sizeof key, "%s_%s", tag, stat);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(metrics, key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "mean");
    if (!cJSON_IsNumber(v)) {
        m = cJSON_GetObjectItemCaseSensitive(metrics, tag);
        v = cJSON_GetObjectItemCaseSensitive(m, stat);
    }
    if (!cJSON_IsNumber(v))
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

/* Least squares polynomial of degree deg (1 or 2) through (x, y)[0..n), n > deg, as
 * numpy.polyfit: coefficients highest degree first into c[0..deg], r^2 (0 when y is
 * constant) into *r2. QR of the column-scaled Vandermonde matrix by modified Gram-Schmidt
 * (numpy scales the columns too, then solves with an SVD; the fits agree to rounding).
 * Returns false when the columns are dependent (all x equal). */
static bool polyfit(const double *x, const double *y, size_t n, int deg, double *c, double *r2)
{
    int m = deg + 1;
    double *q = calloc(n * (size_t)m, sizeof *q);
    double rr[3][3] = {{0}}, scale[3], qty[3];
    if (!q)
        return false;
    for (int j = 0; j < m; j++) {
        double nrm = 0;
        for (size_t i = 0; i < n; i++) {
            q[i * (size_t)m + (size_t)j] = pow(x[i], deg - j);
            nrm += q[i * (size_t)m + (size_t)j] * q[i * (size_t)m + (size_t)j];
        }
        scale[j] = nrm > 0 ? sqrt(nrm) : 1;
        for (size_t i = 0; i < n; i++)
            q[i * (size_t)m + (size_t)j] /= scale[j];
    }
    bool ok = true;
    for (int j = 0; j < m && ok; j++) {
        for (int k = 0; k < j; k++) {
            double dot = 0;
            for (size_t i = 0; i < n; i++)
                dot += q[i * (size_t)m + (size_t)k] * q[i * (size_t)m + (size_t)j];
            rr[k][j] = dot;
            for (size_t i = 0; i < n; i++)
                q[i * (size_t)m + (size_t)j] -= dot * q[i * (size_t)m + (size_t)k];
        }
        double nrm = 0;
        for (size_t i = 0; i < n; i++)
            nrm += q[i * (size_t)m + (size_t)j] * q[i * (size_t)m + (size_t)j];
        nrm = sqrt(nrm);
        if (!(nrm > 1e-12))
            ok = false;
        rr[j][j] = nrm;
        for (size_t i = 0; ok && i < n; i++)
            q[i * (size_t)m + (size_t)j] /= nrm;
    }
    if (ok) {
        for (int j = 0; j < m; j++) {
            qty[j] = 0;
            for (size_t i = 0; i < n; i++)
                qty[j] += q[i * (size_t)m + (size_t)j] * y[i];
        }
        for (int j = m; j-- > 0;) {
            double v = qty[j];
            for (int k = j + 1; k < m; k++)
                v -= rr[j][k] * c[k];
            c[j] = v / rr[j][j];
        }
        for (int j = 0; j < m; j++)
            c[j] /= scale[j];
        double mean = 0, ss_res = 0, ss_tot = 0;
        for (size_t i = 0; i < n; i++)
            mean += y[i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++) {
            double f = 0;
            for (int j = 0; j < m; j++)
                f = f * x[i] + c[j];
            ss_res += (y[i] - f) * (y[i] - f);
            ss_tot += (y[i] - mean) * (y[i] - mean);
        }
        *r2 = ss_tot == 0 ? 0 : 1 - ss_res / ss_tot;
    }
    free(q);
    return ok;
}

/* AIPerf's ttft_curve_fit (prefill-ttft-curve): TTFT = a*ISL + b; when r^2 < 0.85 and at
 * least 3 points, the quadratic too, kept when its r^2 is higher; below_floor when the
 * kept fit is under 0.85 or not finite. */
static int curve_fit(const cJSON *spec, const cJSON *pc, cJSON **out, struct diag *d)
{
    const char *param = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "swept_param"));
    const char *tag = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "metric_tag"));
    const char *stat = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "stat"));
    const double floor_r2 = 0.85;
    struct rpoint *r;
    size_t n = rows_sorted(pc, param, &r);
    double *y = calloc(n ? n : 1, sizeof *y), *fx = calloc(n ? n : 1, sizeof *fx),
           *fy = calloc(n ? n : 1, sizeof *fy);
    size_t k = 0, nf = 0;
    for (size_t i = 0; i < n; i++)
        if (metric_value_any(r[i].metrics, tag, stat, &y[k]))
            r[k++] = r[i];
    if (k < 2) {
        free(r), free(y), free(fx), free(fy);
        return diag_set(d, ERR_INVALID,
                        "ttft_curve_fit: need >= 2 sweep points to fit a curve (got %zu for "
                        "%s/%s)",
                        k, tag, stat);
    }
    for (size_t i = 0; i < k; i++)
        if (isfinite(r[i].x) && isfinite(y[i])) {
            fx[nf] = r[i].x;
            fy[nf++] = y[i];
        }
    cJSON *o = cJSON_CreateObject();
    double c[3] = {0}, r2 = 0;
    const char *form = "linear";
    int deg = 1;
    bool ok = nf >= 2 && polyfit(fx, fy, nf, 1, c, &r2);
    if (ok && r2 < floor_r2 && nf >= 3) {
        double c2[3], r22;
        if (polyfit(fx, fy, nf, 2, c2, &r22) && r22 > r2) {
            memcpy(c, c2, sizeof c);
            r2 = r22;
            form = "quadratic";
            deg = 2;
        }
    }
    bool finite = ok && isfinite(r2);
    for (int j = 0; j <= deg; j++)
        finite = finite && isfinite(c[j]);
    cJSON_AddStringToObject(o, "fit_form", form);
    cJSON *co = cJSON_AddArrayToObject(o, "coefficients");
    for (int j = 0; finite && j <= deg; j++)
        cJSON_AddItemToArray(co, cJSON_CreateNumber(c[j]));
    cJSON_AddNumberToObject(o, "r_squared", finite ? r2 : 0);
    cJSON_AddBoolToObject(o, "below_floor", !finite || r2 < floor_r2);
    cJSON_AddNumberToObject(o, "r_squared_floor", floor_r2);
    if (nf < 2) {
        char why[256];
        snprintf(why, sizeof why,
                 "ttft_curve_fit: fewer than 2 finite trial points after dropping non-finite "
                 "metric values (got %zu of %zu); check that swept cells produced successful "
                 "requests.",
                 nf, k);
        cJSON_AddStringToObject(o, "error_reason", why);
    }
    cJSON *raw = cJSON_AddArrayToObject(o, "raw_points");
    for (size_t i = 0; i < k; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "isl", r[i].x);
        cJSON_AddNumberToObject(p, "ttft_ms", y[i]);
        cJSON_AddItemToArray(raw, p);
    }
    cJSON_AddStringToObject(o, "swept_metric", tag);
    cJSON_AddStringToObject(o, "stat", stat);
    cJSON_AddStringToObject(o, "swept_param", param);
    free(r), free(y), free(fx), free(fy);
    *out = o;
    return 0;
}

static const cJSON *param_of(const cJSON *row, const char *path)
{
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(row, "parameters");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(ps, path);
    if (!p)
        p = cJSON_GetObjectItemCaseSensitive(ps,
                                             strrchr(path, '.') ? strrchr(path, '.') + 1 : path);
    return cJSON_IsNumber(p) ? p : NULL;
}

struct cell {
    double c, o, v;
};

static int cmp_cell(const void *a, const void *b)
{
    const struct cell *x = a, *y = b;
    if (x->c != y->c)
        return (x->c > y->c) - (x->c < y->c);
    return (x->o > y->o) - (x->o < y->o);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorted distinct values of v[0..n) in place; returns how many. */
static size_t uniq(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || v[k - 1] != v[i])
            v[k++] = v[i];
    return k;
}

/* AIPerf's itl_surface_fit (decode-itl-curve): the measured ITL(concurrency, OSL) grid,
 * null where no point was measured; no interpolation. Non-finite or negative values are
 * dropped; fewer than 2 left: surface_fit_failed with the reason. */
static int surface_fit(const cJSON *spec, const cJSON *pc, cJSON **out, struct diag *d)
{
    const char *tag = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "metric_tag"));
    const char *stat = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "stat"));
    const char *cp = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "concurrency_param"));
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "osl_param"));
    size_t cap = (size_t)cJSON_GetArraySize(pc) + 1, n = 0, cand = 0, dnf = 0, dneg = 0;
    struct cell *t = calloc(cap, sizeof *t);
    double *ca = calloc(cap, sizeof *ca), *oa = calloc(cap, sizeof *oa);
    for (const cJSON *row = pc ? pc->child : NULL; row; row = row->next) {
        const cJSON *pcv = param_of(row, cp), *pov = param_of(row, op);
        double v;
        if (!pcv || !pov ||
            !metric_value_any(cJSON_GetObjectItemCaseSensitive(row, "metrics"), tag, stat, &v))
            continue;
        cand++;
        if (!isfinite(v))
            dnf++;
        else if (v < 0)
            dneg++;
        else
            t[n++] = (struct cell){pcv->valuedouble, pov->valuedouble, v};
    }
    if (!cand) {
        free(t), free(ca), free(oa);
        return diag_set(d, ERR_INVALID,
                        "itl_surface_fit: sweep aggregate has no rows with parameters %s + %s "
                        "and metric %s",
                        cp, op, tag);
    }
    if (dnf || dneg)
        fprintf(stderr,
                "metronome: warning: itl_surface_fit: dropped %zu non-finite and %zu negative "
                "ITL row(s) for metric '%s'\n",
                dnf, dneg, tag);
    qsort(t, n, sizeof *t, cmp_cell);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "swept_metric", tag);
    cJSON_AddStringToObject(o, "stat", stat);
    cJSON *sp = cJSON_AddArrayToObject(o, "swept_params");
    cJSON_AddItemToArray(sp, cJSON_CreateString(cp));
    cJSON_AddItemToArray(sp, cJSON_CreateString(op));
    cJSON *raw = cJSON_AddArrayToObject(o, "raw_points");
    for (size_t i = 0; i < n; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "concurrency", t[i].c);
        cJSON_AddNumberToObject(p, "osl", t[i].o);
        cJSON_AddNumberToObject(p, "itl_ms", t[i].v);
        cJSON_AddItemToArray(raw, p);
        ca[i] = t[i].c;
        oa[i] = t[i].o;
    }
    bool failed = n < 2;
    size_t nc = failed ? 0 : uniq(ca, n), no = failed ? 0 : uniq(oa, n);
    cJSON *s = cJSON_AddObjectToObject(o, "surface");
    cJSON *cax = cJSON_AddArrayToObject(s, "concurrency_axis");
    cJSON *oax = cJSON_AddArrayToObject(s, "osl_axis");
    cJSON *grid = cJSON_AddArrayToObject(s, "itl_grid");
    for (size_t i = 0; i < nc; i++)
        cJSON_AddItemToArray(cax, cJSON_CreateNumber(ca[i]));
    for (size_t j = 0; j < no; j++)
        cJSON_AddItemToArray(oax, cJSON_CreateNumber(oa[j]));
    for (size_t i = 0; i < nc; i++) {
        cJSON *rowj = cJSON_CreateArray();
        for (size_t j = 0; j < no; j++) {
            /* the last measurement of a cell wins, as AIPerf's dict of cells */
            cJSON *cell = NULL;
            for (size_t k = n; k-- > 0 && !cell;)
                if (t[k].c == ca[i] && t[k].o == oa[j])
                    cell = cJSON_CreateNumber(t[k].v);
            cJSON_AddItemToArray(rowj, cell ? cell : cJSON_CreateNull());
        }
        cJSON_AddItemToArray(grid, rowj);
    }
    cJSON_AddBoolToObject(o, "surface_fit_failed", failed);
    if (failed) {
        char why[320];
        snprintf(why, sizeof why,
                 "itl_surface_fit: fewer than 2 finite-positive rows after dropping "
                 "non-finite/negative ITL (kept %zu, dropped %zu non-finite + %zu negative); "
                 "check that streaming was enabled and that swept cells produced successful "
                 "requests.",
                 n, dnf, dneg);
        cJSON_AddStringToObject(o, "error_reason", why);
    }
    free(t), free(ca), free(oa);
    *out = o;
    return 0;
}

/* A block's "mean": the trials' "<tag>_<stat>" block, else the one trial's "<tag>" block
 * (AIPerf's _row_to_cell reads the mean of either: with one trial that is the average,
 * whatever the stat). */
static bool block_mean(const cJSON *metrics, const char *tag, const char *stat, double *out)
{
    char key[160];
    snprintf(key, sizeof key, "%s_%s", tag, stat);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(metrics, key);
    if (!cJSON_IsObject(b) || !b->child)
        b = cJSON_GetObjectItemCaseSensitive(metrics, tag);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, "mean");
    if (!cJSON_IsNumber(v))
        return false;
    *out = v->valuedouble;
    return true;
}

/* AIPerf's pareto_sweep_export: a cell per row with isl, osl and concurrency; pareto_optimal
 * when no other finite cell has x <= and y >= with one strict (x lower is better, y higher
 * is better); cells with a non-finite axis are kept, never optimal. */
static int pareto_export(const cJSON *spec, const cJSON *pc, cJSON **out, struct diag *d)
{
    const char *xm = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "x_metric"));
    const char *xs = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "x_stat"));
    const char *ym = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "y_metric"));
    const char *ys = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "y_stat"));
    size_t cap = (size_t)cJSON_GetArraySize(pc) + 1, n = 0;
    double *x = calloc(cap, sizeof *x), *y = calloc(cap, sizeof *y);
    cJSON *cells = cJSON_CreateArray();
    for (const cJSON *row = pc ? pc->child : NULL; row; row = row->next) {
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(row, "metrics");
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(row, "parameters");
        const cJSON *pi = cJSON_GetObjectItemCaseSensitive(ps, "isl"),
                    *po = cJSON_GetObjectItemCaseSensitive(ps, "osl"),
                    *pcn = cJSON_GetObjectItemCaseSensitive(ps, "concurrency");
        if (!block_mean(ms, xm, xs, &x[n]) || !block_mean(ms, ym, ys, &y[n]) ||
            !cJSON_IsNumber(pi) || !cJSON_IsNumber(po) || !cJSON_IsNumber(pcn))
            continue;
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "isl", (double)(long long)pi->valuedouble);
        cJSON_AddNumberToObject(c, "osl", (double)(long long)po->valuedouble);
        cJSON_AddNumberToObject(c, "concurrency", (double)(long long)pcn->valuedouble);
        cJSON_AddItemToObject(c, "x",
                              isfinite(x[n]) ? cJSON_CreateNumber(x[n]) : cJSON_CreateNull());
        cJSON_AddItemToObject(c, "y",
                              isfinite(y[n]) ? cJSON_CreateNumber(y[n]) : cJSON_CreateNull());
        cJSON_AddItemToArray(cells, c);
        n++;
    }
    if (!n) {
        free(x), free(y);
        cJSON_Delete(cells);
        return diag_set(d, ERR_INVALID,
                        "pareto_sweep_export: no rows with the expected (isl, osl, concurrency) "
                        "parameters and metrics (%s_%s, %s_%s)",
                        xm, xs, ym, ys);
    }
    size_t i = 0;
    for (cJSON *c = cells->child; c; c = c->next, i++) {
        bool dom = !isfinite(x[i]) || !isfinite(y[i]);
        for (size_t j = 0; j < n && !dom; j++)
            if (j != i && isfinite(x[j]) && isfinite(y[j]))
                dom = x[j] <= x[i] && y[j] >= y[i] && (x[j] < x[i] || y[j] > y[i]);
        cJSON_AddBoolToObject(c, "pareto_optimal", !dom);
    }
    free(x), free(y);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "x_metric", xm);
    cJSON_AddStringToObject(o, "x_stat", xs);
    cJSON_AddStringToObject(o, "y_metric", ym);
    cJSON_AddStringToObject(o, "y_stat", ys);
    cJSON_AddItemToObject(o, "cells", cells);
    *out = o;
    return 0;
}

bool recipe_sla_pass(const cJSON *metrics, const cJSON *f)
{
    const char *tag = cJSON_GetStringValue(cJSON_GetObjectItem(f, "metric_tag"));
    const char *stat = cJSON_GetStringValue(cJSON_GetObjectItem(f, "stat"));
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(f, "op"));
    double thr = cJSON_GetNumberValue(cJSON_GetObjectItem(f, "threshold"));
    if (!tag || !stat || !op)
        return false;
    /* AIPerf's read_metric_value: the trials' "<tag>_<stat>" mean, else the one trial's
     * block's stat, else its mean; a missing metric is infeasible */
    char key[160];
    snprintf(key, sizeof key, "%s_%s", tag, stat);
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(metrics, key), "mean");
    if (!cJSON_IsNumber(v)) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(metrics, tag);
        v = cJSON_GetObjectItemCaseSensitive(b, stat);
        if (!cJSON_IsNumber(v))
            v = cJSON_GetObjectItemCaseSensitive(b, "mean");
    }
    if (!cJSON_IsNumber(v))
        return false;
    double x = v->valuedouble;
    if (!strcmp(op, "lt"))
        return x < thr;
    if (!strcmp(op, "le"))
        return x <= thr;
    if (!strcmp(op, "gt"))
        return x > thr;
    if (!strcmp(op, "ge"))
        return x >= thr;
    return false;
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
    if (h && !strcmp(h, "ttft_curve_fit"))
        return curve_fit(spec, per_combination, out, d);
    if (h && !strcmp(h, "itl_surface_fit"))
        return surface_fit(spec, per_combination, out, d);
    if (h && !strcmp(h, "pareto_sweep_export"))
        return pareto_export(spec, per_combination, out, d);
    return diag_set(d, ERR_INVALID, "metronome_sweep.json: recipe handler '%s' is unknown",
                    h ? h : "");
}
