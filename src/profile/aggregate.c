/*
 * Aggregates over repeated runs and sweeps, from each run's profile_export_aiperf.json:
 * AIPerf 0.13's profile_export_aiperf_aggregate.{json,csv} (ConfidenceAggregation),
 * profile_export_aiperf_sweep.{json,csv} (SweepAnalyzer), and metronome's
 * sweep_summary.{json,csv} (docs/records-format.md, *Sweeps*).
 */
#include "profile_sweep.h"

#include "buf.h"
#include "report.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const stat_keys[] = {"avg", "min", "max", "sum", "p1",  "p5",  "p10",
                                        "p25", "p50", "p75", "p90", "p95", "p99", "std"};
#define NSTAT (sizeof stat_keys / sizeof stat_keys[0])

/* sweep_summary.json's fixed metric list (charts rely on it). */
static const char *const summary_keys[] = {
    "request_throughput_avg",
    "output_token_throughput_avg",
    "output_token_throughput_per_user_avg",
    "output_token_throughput_per_user_p50",
    "total_token_throughput_avg",
    "time_to_first_token_avg",
    "time_to_first_token_p50",
    "time_to_first_token_p90",
    "time_to_first_token_p99",
    "inter_token_latency_avg",
    "inter_token_latency_p50",
    "inter_token_latency_p99",
    "request_latency_avg",
    "request_latency_p50",
    "request_latency_p90",
    "request_latency_p99",
    "input_sequence_length_avg",
    "output_sequence_length_avg",
    "request_count_avg",
    "request_error_rate_avg",
    "benchmark_duration_avg",
};
#define NSUMMARY (sizeof summary_keys / sizeof summary_keys[0])

void agg_compute(const double *x, int n, double confidence, struct agg_stat *o)
{
    memset(o, 0, sizeof *o);
    o->n = n;
    double sum = 0;
    o->min = o->max = x[0];
    for (int i = 0; i < n; i++) {
        sum += x[i];
        o->min = x[i] < o->min ? x[i] : o->min;
        o->max = x[i] > o->max ? x[i] : o->max;
    }
    o->mean = sum / n;
    if (n == 1) {
        /* AIPerf's single-run degraded mode: point estimate, CI collapsed, no t. */
        o->ci_low = o->ci_high = o->mean;
        o->cv_finite = true;
        o->t_critical = NAN;
        return;
    }
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += (x[i] - o->mean) * (x[i] - o->mean);
    o->std = sqrt(ss / (n - 1));
    o->cv_finite = o->mean != 0;
    o->cv = o->cv_finite ? o->std / o->mean : INFINITY;
    o->se = o->std / sqrt((double)n);
    double alpha = 1 - confidence;
    o->t_critical = tdist_quantile(1 - alpha / 2, n - 1);
    o->ci_low = o->mean - o->t_critical * o->se;
    o->ci_high = o->mean + o->t_critical * o->se;
}

/* ---- runs ---- */

struct run {
    char label[16]; /* run_NNNN */
    char dir[4400];
    const char *status;
    cJSON *exp; /* the export, when the run succeeded and it loaded */
    char error[512];
};

/* --profile-export-prefix of the runs being aggregated (their exports' names), or NULL.
 * Set by the one caller of a sweep (profile, report) before it aggregates. */
static const char *agg_prefix;

void sweep_export_prefix(const char *base)
{
    agg_prefix = base;
}

static cJSON *load_export(const char *dir, char *err, size_t cap)
{
    char path[4500], nm[512];
    report_export_name(agg_prefix, "profile_export_aiperf.json", nm, sizeof nm);
    snprintf(path, sizeof path, "%s/%s", dir, nm);
    char *text = NULL;
    size_t len = 0;
    struct diag d = {0};
    if (zio_read_all(path, 256u << 20, &text, &len, &d)) {
        snprintf(err, cap, "%s", d.msg);
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!j || !cJSON_IsObject(j)) {
        snprintf(err, cap, "%s: not JSON", path);
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* A metric's statistic in one export, when present and finite. */
static bool export_value(const cJSON *exp, const char *tag, const char *stat, double *v,
                         const char **unit)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(exp, tag);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(m, "unit");
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(m, stat);
    if (!cJSON_IsString(u) || !cJSON_IsNumber(x) || !isfinite(x->valuedouble))
        return false;
    *v = x->valuedouble;
    if (unit)
        *unit = u->valuestring;
    return true;
}

/* Splits "time_to_first_token_p99" into tag and stat. */
static bool split_key(const char *key, char *tag, size_t cap, const char **stat)
{
    const char *us = strrchr(key, '_');
    if (!us || (size_t)(us - key) >= cap)
        return false;
    memcpy(tag, key, (size_t)(us - key));
    tag[us - key] = '\0';
    *stat = us + 1;
    return true;
}

/* agg over the successful runs for one (tag, stat); false when no run has it. */
static bool agg_key(struct run *r, int nr, const char *tag, const char *stat, double conf,
                    struct agg_stat *o, const char **unit)
{
    double vals[SWEEP_MAX_TRIALS * 64];
    int n = 0;
    *unit = NULL;
    for (int i = 0; i < nr && n < (int)(sizeof vals / sizeof vals[0]); i++) {
        double v;
        const char *u;
        if (r[i].exp && export_value(r[i].exp, tag, stat, &v, &u)) {
            vals[n++] = v;
            if (!*unit)
                *unit = u;
        }
    }
    if (!n)
        return false;
    agg_compute(vals, n, conf, o);
    return true;
}

static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static int write_json(const char *path, const cJSON *j, struct diag *d)
{
    char *text = cJSON_Print(j);
    if (!text)
        return diag_set(d, ERR_IO, "%s: out of memory", path);
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n] = '\n';
    text[n + 1] = '\0';
    int rc = afile_write_all(path, text, n + 1, d);
    free(text);
    return rc;
}

/* A CSV field, quoted when it needs to be (RFC 4180, as Python's csv module). */
static void csv_field(struct buf *b, const char *s, bool first)
{
    if (!first)
        buf_putc(b, ',');
    if (!strpbrk(s, ",\"\r\n")) {
        buf_puts(b, s);
        return;
    }
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            buf_putc(b, '"');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

static void csv_num(struct buf *b, double v, int decimals)
{
    char t[64] = "";
    if (isfinite(v))
        snprintf(t, sizeof t, "%.*f", decimals, v);
    csv_field(b, t, false);
}

/* Python's str() of a metadata value, for the CSV's Key,Value rows. */
static void py_str(const cJSON *v, char *out, size_t cap)
{
    if (cJSON_IsString(v))
        snprintf(out, cap, "%s", v->valuestring);
    else if (cJSON_IsBool(v))
        snprintf(out, cap, "%s", cJSON_IsTrue(v) ? "True" : "False");
    else if (cJSON_IsNull(v))
        snprintf(out, cap, "None");
    else if (cJSON_IsNumber(v))
        snprintf(out, cap, "%.17g", v->valuedouble);
    else {
        char *t = cJSON_PrintUnformatted(v);
        snprintf(out, cap, "%s", t ? t : "");
        free(t);
    }
}

/* "cooldown_seconds" -> "Cooldown Seconds" (Python's str.title after '_' -> ' '). */
static void title(const char *k, char *out, size_t cap)
{
    size_t i = 0;
    bool up = true;
    for (; *k && i + 1 < cap; k++) {
        char c = *k == '_' ? ' ' : *k;
        if (c >= 'a' && c <= 'z' && up)
            c = (char)(c - 32);
        else if (c >= 'A' && c <= 'Z' && !up)
            c = (char)(c + 32);
        up = !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
        out[i++] = c;
    }
    out[i] = '\0';
}

/* ---- one point's confidence aggregate (AIPerf's per-variation / multi-run files) ---- */

/* Every (tag, stat) of the successful runs, in the first run's order. */
struct pair {
    char tag[96];
    const char *stat;
};

static size_t collect_pairs(struct run *r, int nr, struct pair **out)
{
    size_t n = 0, cap = 0;
    struct pair *p = NULL;
    for (int i = 0; i < nr; i++) {
        if (!r[i].exp)
            continue;
        for (const cJSON *m = r[i].exp->child; m; m = m->next) {
            if (!cJSON_IsObject(m) ||
                !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "unit")) ||
                strlen(m->string) >= sizeof p->tag)
                continue;
            for (size_t k = 0; k < NSTAT; k++) {
                if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, stat_keys[k])))
                    continue;
                bool seen = false;
                for (size_t j = 0; j < n && !seen; j++)
                    seen = p[j].stat == stat_keys[k] && !strcmp(p[j].tag, m->string);
                if (seen)
                    continue;
                if (n == cap) {
                    cap = cap ? cap * 2 : 256;
                    p = xrealloc(p, cap * sizeof *p);
                }
                snprintf(p[n].tag, sizeof p[n].tag, "%s", m->string);
                p[n].stat = stat_keys[k];
                n++;
            }
        }
    }
    *out = p;
    return n;
}

static int nsuccess(const struct run *r, int nr)
{
    int k = 0;
    for (int i = 0; i < nr; i++)
        k += r[i].exp != NULL;
    return k;
}

/* Writes DIR/profile_export_aiperf_aggregate.{json,csv}; extra: metadata fields after
 * AIPerf's own (taken over). */
static int write_point_aggregate(const char *dir, struct run *r, int nr, double conf, cJSON *extra,
                                 struct diag *d)
{
    int rc = zio_mkdir_p(dir, d);
    if (rc) {
        cJSON_Delete(extra);
        return rc;
    }
    int ok = nsuccess(r, nr);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "schema_version", "1.0");
    cJSON_AddStringToObject(j, "aiperf_version", "0.13.0");
    cJSON *md = cJSON_AddObjectToObject(j, "metadata");
    cJSON_AddStringToObject(md, "aggregation_type", "confidence");
    cJSON_AddNumberToObject(md, "num_profile_runs", nr);
    cJSON_AddNumberToObject(md, "num_successful_runs", ok);
    cJSON *failed = cJSON_AddArrayToObject(md, "failed_runs");
    cJSON *labels = cJSON_CreateArray();
    for (int i = 0; i < nr; i++) {
        if (r[i].exp) {
            cJSON_AddItemToArray(labels, cJSON_CreateString(r[i].label));
            continue;
        }
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "label", r[i].label);
        cJSON_AddStringToObject(f, "error", r[i].error);
        cJSON_AddItemToArray(failed, f);
    }
    cJSON_AddNumberToObject(md, "confidence_level", conf);
    cJSON_AddItemToObject(md, "run_labels", labels);
    if (ok == 1)
        cJSON_AddBoolToObject(md, "single_run", true);
    for (cJSON *e = extra ? extra->child : NULL; e; e = e->next)
        cJSON_AddItemToObject(md, e->string, cJSON_Duplicate(e, true));
    cJSON_Delete(extra);
    cJSON *metrics = cJSON_AddObjectToObject(j, "metrics");
    struct buf csv;
    buf_init(&csv, 0);
    buf_puts(&csv, "metric,mean,std,min,max,cv,se,ci_low,ci_high,t_critical,unit\r\n");
    struct pair *pairs = NULL;
    size_t np = collect_pairs(r, nr, &pairs);
    for (size_t i = 0; i < np; i++) {
        struct agg_stat s;
        const char *unit;
        if (!agg_key(r, nr, pairs[i].tag, pairs[i].stat, conf, &s, &unit))
            continue;
        char key[128];
        snprintf(key, sizeof key, "%s_%s", pairs[i].tag, pairs[i].stat);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "mean", s.mean);
        cJSON_AddNumberToObject(o, "std", s.std);
        cJSON_AddNumberToObject(o, "min", s.min);
        cJSON_AddNumberToObject(o, "max", s.max);
        cJSON_AddItemToObject(o, "cv", num_or_null(s.cv));
        cJSON_AddNumberToObject(o, "se", s.se);
        cJSON_AddNumberToObject(o, "ci_low", s.ci_low);
        cJSON_AddNumberToObject(o, "ci_high", s.ci_high);
        cJSON_AddItemToObject(o, "t_critical", num_or_null(s.t_critical));
        cJSON_AddStringToObject(o, "unit", unit);
        cJSON_AddItemToObject(metrics, key, o);
        csv_field(&csv, key, true);
        csv_num(&csv, s.mean, 2);
        csv_num(&csv, s.std, 2);
        csv_num(&csv, s.min, 2);
        csv_num(&csv, s.max, 2);
        if (isinf(s.cv))
            csv_field(&csv, "inf", false);
        else
            csv_num(&csv, s.cv, 4);
        csv_num(&csv, s.se, 4);
        csv_num(&csv, s.ci_low, 2);
        csv_num(&csv, s.ci_high, 2);
        csv_num(&csv, s.t_critical, 4);
        csv_field(&csv, unit, false);
        buf_puts(&csv, "\r\n");
    }
    free(pairs);
    buf_puts(&csv, "\r\n");
    char v[4096], k[256];
    snprintf(v, sizeof v, "Aggregation Type,confidence\r\nTotal Runs,%d\r\nSuccessful Runs,%d\r\n",
             nr, ok);
    buf_puts(&csv, v);
    int first = 1;
    for (const cJSON *e = md->child; e; e = e->next) {
        /* AIPerf lists the strategy's metadata, not the exporter's own first three */
        if (first &&
            (!strcmp(e->string, "aggregation_type") || !strcmp(e->string, "num_profile_runs") ||
             !strcmp(e->string, "num_successful_runs") || !strcmp(e->string, "failed_runs")))
            continue;
        first = 0;
        title(e->string, k, sizeof k);
        py_str(e, v, sizeof v);
        csv_field(&csv, k, true);
        csv_field(&csv, v, false);
        buf_puts(&csv, "\r\n");
    }
    char path[4600];
    snprintf(path, sizeof path, "%s/profile_export_aiperf_aggregate.json", dir);
    rc = write_json(path, j, d);
    snprintf(path, sizeof path, "%s/profile_export_aiperf_aggregate.csv", dir);
    if (!rc)
        rc = afile_write_all(path, csv.p ? csv.p : "", csv.len, d);
    buf_free(&csv);
    cJSON_Delete(j);
    return rc;
}

/* ---- the whole sweep ---- */

struct point {
    const cJSON *m; /* the manifest's point */
    struct run *runs;
    int nruns; /* runs that ran (ok, failed, cancelled, missing) */
    const char *status;
    char note[1024];
};

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *k, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* An int field of a manifest that may come from anywhere: out-of-range values clamp
 * (a cast of 1e300 to int is undefined). */
static int jint(const cJSON *o, const char *k, int def)
{
    double v = jnum(o, k, def);
    return !(v == v) ? def : v < -1e9 ? -1000000000 : v > 1e9 ? 1000000000 : (int)v;
}

/* Loads the runs of a point from the manifest; notes what is missing. */
static void load_point(const char *base, const cJSON *pm, struct point *pt)
{
    memset(pt, 0, sizeof *pt);
    pt->m = pm;
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(pm, "runs");
    int n = cJSON_GetArraySize(runs);
    pt->runs = xcalloc((size_t)(n ? n : 1), sizeof *pt->runs);
    int not_run = 0, ok = 0, missing = 0, cancelled = 0;
    size_t o = 0;
    for (const cJSON *r = runs ? runs->child : NULL; r; r = r->next) {
        const char *st = jstr(r, "status");
        if (!strcmp(st, "not_run") || !strcmp(st, "skipped_converged")) {
            not_run += !strcmp(st, "not_run");
            continue;
        }
        struct run *x = &pt->runs[pt->nruns++];
        snprintf(x->label, sizeof x->label, "run_%04d", jint(r, "trial", pt->nruns));
        snprintf(x->dir, sizeof x->dir, "%s/%s", base, jstr(r, "dir"));
        x->status = st;
        if (!strcmp(st, "ok")) {
            x->exp = load_export(x->dir, x->error, sizeof x->error);
            if (x->exp) {
                ok++;
                continue;
            }
            missing++;
            if (o < sizeof pt->note)
                o += (size_t)snprintf(pt->note + o, sizeof pt->note - o, "%srun dir %s: %s",
                                      o ? "; " : "", jstr(r, "dir"), x->error);
        } else {
            cancelled += !strcmp(st, "cancelled");
            snprintf(x->error, sizeof x->error, "%s (exit %d)", st, jint(r, "exit_code", -1));
            if (o < sizeof pt->note)
                o += (size_t)snprintf(pt->note + o, sizeof pt->note - o, "%srun dir %s: %s",
                                      o ? "; " : "", jstr(r, "dir"), x->error);
        }
    }
    if (ok && ok == pt->nruns)
        pt->status = "ok";
    else if (ok)
        pt->status = "partial";
    else if (missing)
        pt->status = "missing";
    else if (cancelled)
        pt->status = "cancelled";
    else if (pt->nruns)
        pt->status = "failed";
    else
        pt->status = "not_run";
    if (!pt->nruns && not_run && o < sizeof pt->note)
        snprintf(pt->note + o, sizeof pt->note - o, "the sweep ended before this point ran");
}

static void free_point(struct point *pt)
{
    for (int i = 0; i < pt->nruns; i++)
        cJSON_Delete(pt->runs[i].exp);
    free(pt->runs);
}

/* The parameter value as AIPerf's CSV prints it (Python str of an int or a float). */
static void param_text(const cJSON *manifest, const char *name, const cJSON *v, char *out,
                       size_t cap)
{
    bool fl = false;
    const cJSON *ps = cJSON_GetObjectItemCaseSensitive(manifest, "parameters");
    for (const cJSON *p = ps ? ps->child : NULL; p; p = p->next)
        if (!strcmp(jstr(p, "name"), name))
            fl = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "float"));
    if (!cJSON_IsNumber(v))
        snprintf(out, cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
    else if (fl)
        sweep_py_float(v->valuedouble, out, cap);
    else
        snprintf(out, cap, "%lld", (long long)v->valuedouble);
}

/* AIPerf's SweepAnalyzer: best configurations and the Pareto front over the
 * <tag>_<stat> keys of the points' metrics. */
static void sweep_best(const cJSON *per_combo, cJSON *sweepj, bool front);

/* With SLA filters (a grid recipe's, --search-sla's), AIPerf's SweepAnalyzer picks the
 * best configurations among the feasible points (all of them when none is) and the Pareto
 * front among the feasible only, and states the filters in metadata.sla_constraints. */
static void sweep_best_sla(cJSON *per_combo, cJSON *sweepj, const cJSON *filters)
{
    if (!cJSON_GetArraySize(filters)) {
        sweep_best(per_combo, sweepj, true);
        return;
    }
    cJSON *feas = cJSON_CreateArray();
    int nf = 0, n = 0;
    for (cJSON *c = per_combo->child; c; c = c->next) {
        bool ok = true;
        n++;
        for (const cJSON *f = filters->child; f && ok; f = f->next)
            ok = recipe_sla_pass(cJSON_GetObjectItemCaseSensitive(c, "metrics"), f);
        if (ok) {
            cJSON_AddItemReferenceToArray(feas, c);
            nf++;
        }
    }
    cJSON *md = cJSON_GetObjectItemCaseSensitive(sweepj, "metadata");
    cJSON *sc = cJSON_AddObjectToObject(md, "sla_constraints");
    cJSON_AddItemToObject(sc, "active_filters", cJSON_Duplicate(filters, true));
    cJSON_AddNumberToObject(sc, "feasible_count", nf);
    cJSON_AddNumberToObject(sc, "infeasible_count", n - nf);
    sweep_best(nf ? feas : per_combo, sweepj, false);
    sweep_best(feas, sweepj, true);
    cJSON_Delete(feas);
}

/* front false: best_configurations only; true: pareto_optimal only (and best when it is
 * not there yet). */
static void sweep_best(const cJSON *per_combo, cJSON *sweepj, bool front)
{
    cJSON *best = cJSON_GetObjectItemCaseSensitive(sweepj, "best_configurations");
    bool do_best = !best;
    if (!best)
        best = cJSON_AddObjectToObject(sweepj, "best_configurations");
    cJSON *pareto = NULL;
    if (front)
        pareto = cJSON_AddArrayToObject(sweepj, "pareto_optimal");
    int n = cJSON_GetArraySize(per_combo);
    if (!n)
        return;
    const char *lat = NULL;
    static const char *const cand[] = {"time_to_first_token_p99", "request_latency_p99"};
    bool thr = true;
    for (int k = 0; k < 2 && !lat; k++) {
        bool all = true;
        for (const cJSON *c = per_combo->child; c; c = c->next)
            all = all && cJSON_GetObjectItemCaseSensitive(
                             cJSON_GetObjectItemCaseSensitive(c, "metrics"), cand[k]);
        if (all)
            lat = cand[k];
    }
    for (const cJSON *c = per_combo->child; c; c = c->next)
        thr = thr && cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(c, "metrics"), "request_throughput_avg");
#define MEAN(c, k)                                                                                 \
    jnum(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "metrics"), k),      \
         "mean", NAN)
    if (thr && do_best) {
        const cJSON *b = NULL;
        for (const cJSON *c = per_combo->child; c; c = c->next)
            if (!b || MEAN(c, "request_throughput_avg") > MEAN(b, "request_throughput_avg"))
                b = c;
        cJSON *o = cJSON_AddObjectToObject(best, "best_throughput");
        cJSON_AddItemToObject(
            o, "parameters",
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(b, "parameters"), true));
        cJSON_AddNumberToObject(o, "metric", MEAN(b, "request_throughput_avg"));
        cJSON_AddStringToObject(o, "unit", "requests/sec");
    }
    if (lat && do_best) {
        const cJSON *b = NULL;
        for (const cJSON *c = per_combo->child; c; c = c->next)
            if (!b || MEAN(c, lat) < MEAN(b, lat))
                b = c;
        cJSON *o = cJSON_AddObjectToObject(best, "best_latency_p99");
        cJSON_AddItemToObject(
            o, "parameters",
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(b, "parameters"), true));
        cJSON_AddNumberToObject(o, "metric", MEAN(b, lat));
        cJSON_AddStringToObject(o, "unit", "ms");
    }
    if (thr && lat && pareto) {
        for (const cJSON *a = per_combo->child; a; a = a->next) {
            bool dominated = false;
            for (const cJSON *b = per_combo->child; b && !dominated; b = b->next) {
                if (a == b)
                    continue;
                double ta = MEAN(a, "request_throughput_avg"),
                       tb = MEAN(b, "request_throughput_avg");
                double la = MEAN(a, lat), lb = MEAN(b, lat);
                dominated = tb >= ta && lb <= la && (tb > ta || lb < la);
            }
            if (!dominated)
                cJSON_AddItemToArray(
                    pareto,
                    cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(a, "parameters"), true));
        }
    }
#undef MEAN
}

static void sweep_csv(const cJSON *manifest, const cJSON *sweepj, struct buf *b)
{
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(sweepj, "metadata"), "sweep_parameters");
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(sweepj, "per_combination_metrics");
    char t[4096];
    /* sorted metric keys over every point */
    size_t nk = 0, cap = 0;
    char **keys = NULL;
    for (const cJSON *c = pc ? pc->child : NULL; c; c = c->next)
        for (const cJSON *m = cJSON_GetObjectItemCaseSensitive(c, "metrics")->child; m;
             m = m->next) {
            bool seen = false;
            for (size_t i = 0; i < nk && !seen; i++)
                seen = !strcmp(keys[i], m->string);
            if (seen)
                continue;
            if (nk == cap)
                keys = xrealloc(keys, (cap = cap ? cap * 2 : 128) * sizeof *keys);
            keys[nk++] = m->string;
        }
    for (size_t i = 1; i < nk; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            char *x = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = x;
        }
    if (nk) {
        bool first = true;
        for (const cJSON *p = sp ? sp->child : NULL; p; p = p->next, first = false)
            csv_field(b, jstr(p, "name"), first);
        static const char *const sfx[] = {"mean", "std", "min", "max", "cv"};
        for (size_t i = 0; i < nk; i++)
            for (int k = 0; k < 5; k++) {
                snprintf(t, sizeof t, "%s_%s", keys[i], sfx[k]);
                csv_field(b, t, first);
                first = false;
            }
        buf_puts(b, "\r\n");
        for (const cJSON *c = pc->child; c; c = c->next) {
            const cJSON *pv = cJSON_GetObjectItemCaseSensitive(c, "parameters");
            const cJSON *ms = cJSON_GetObjectItemCaseSensitive(c, "metrics");
            first = true;
            for (const cJSON *p = sp ? sp->child : NULL; p; p = p->next, first = false) {
                param_text(manifest, jstr(p, "name"),
                           cJSON_GetObjectItemCaseSensitive(pv, jstr(p, "name")), t, sizeof t);
                csv_field(b, t, first);
            }
            for (size_t i = 0; i < nk; i++) {
                const cJSON *m = cJSON_GetObjectItemCaseSensitive(ms, keys[i]);
                for (int k = 0; k < 5; k++) {
                    const cJSON *x = cJSON_GetObjectItemCaseSensitive(m, sfx[k]);
                    if (cJSON_IsNumber(x))
                        csv_num(b, x->valuedouble, k == 4 ? 4 : 2);
                    else
                        csv_field(b, "", first);
                    first = false;
                }
            }
            buf_puts(b, "\r\n");
        }
    }
    free(keys);
    buf_puts(b, "\r\nBest Configurations\r\n");
    const cJSON *best = cJSON_GetObjectItemCaseSensitive(sweepj, "best_configurations");
    if (best && best->child) {
        csv_field(b, "Configuration", true);
        for (const cJSON *p = sp ? sp->child : NULL; p; p = p->next)
            csv_field(b, jstr(p, "name"), false);
        buf_puts(b, ",Metric,Unit\r\n");
        for (const cJSON *c = best->child; c; c = c->next) {
            title(c->string, t, sizeof t);
            csv_field(b, t, true);
            const cJSON *pv = cJSON_GetObjectItemCaseSensitive(c, "parameters");
            for (const cJSON *p = sp ? sp->child : NULL; p; p = p->next) {
                param_text(manifest, jstr(p, "name"),
                           cJSON_GetObjectItemCaseSensitive(pv, jstr(p, "name")), t, sizeof t);
                csv_field(b, t, false);
            }
            csv_num(b, jnum(c, "metric", NAN), 2);
            csv_field(b, jstr(c, "unit"), false);
            buf_puts(b, "\r\n");
        }
    }
    buf_puts(b, "\r\nPareto Optimal Points\r\n");
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(sweepj, "pareto_optimal");
    if (par && par->child) {
        bool first = true;
        for (const cJSON *p = sp ? sp->child : NULL; p; p = p->next, first = false)
            csv_field(b, jstr(p, "name"), first);
        buf_puts(b, "\r\n");
        for (const cJSON *c = par->child; c; c = c->next) {
            first = true;
            for (const cJSON *p = sp ? sp->child : NULL; p; p = p->next, first = false) {
                param_text(manifest, jstr(p, "name"),
                           cJSON_GetObjectItemCaseSensitive(c, jstr(p, "name")), t, sizeof t);
                csv_field(b, t, first);
            }
            buf_puts(b, "\r\n");
        }
    } else {
        buf_puts(b, "None\r\n");
    }
    buf_puts(b, "\r\nMetadata\r\nField,Value\r\nAggregation Type,sweep\r\n");
    struct buf names;
    buf_init(&names, 0);
    for (const cJSON *p = sp ? sp->child : NULL; p; p = p->next)
        buf_printf(&names, "%s%s", names.len ? ", " : "", jstr(p, "name"));
    csv_field(b, "Sweep Parameters", true);
    csv_field(b, names.p ? names.p : "", false);
    buf_free(&names);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(sweepj, "metadata");
    snprintf(t, sizeof t,
             "\r\nNumber of Combinations,%d\r\nNumber of Profile Runs,%d\r\nNumber of Successful "
             "Runs,%d\r\n",
             jint(md, "num_combinations", 0), jint(sweepj, "num_profile_runs", 0),
             jint(sweepj, "num_successful_runs", 0));
    buf_puts(b, t);
}

/* sweep_summary.json/.csv over loaded points. */
static int write_summary(const char *outdir, const char *source, const cJSON *params,
                         struct point *pts, size_t np, double conf, struct diag *d)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "format", "metronome-sweep-summary");
    cJSON_AddNumberToObject(j, "version", 1);
    cJSON_AddStringToObject(j, "source", source);
    cJSON_AddNumberToObject(j, "confidence_level", conf);
    cJSON *pa = cJSON_AddArrayToObject(j, "parameters");
    for (const cJSON *p = params ? params->child : NULL; p; p = p->next) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", jstr(p, "name"));
        cJSON_AddItemToObject(o, "values",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(p, "values"), true));
        cJSON_AddItemToArray(pa, o);
    }
    cJSON *mk = cJSON_AddArrayToObject(j, "metrics");
    for (size_t k = 0; k < NSUMMARY; k++)
        cJSON_AddItemToArray(mk, cJSON_CreateString(summary_keys[k]));
    cJSON *pl = cJSON_AddArrayToObject(j, "points");
    struct buf csv;
    buf_init(&csv, 0);
    buf_puts(&csv, "index,label,dir,status,runs,runs_ok");
    for (const cJSON *p = params ? params->child : NULL; p; p = p->next)
        csv_field(&csv, jstr(p, "name"), false);
    static const char *const sfx[] = {"mean", "ci_low", "ci_high", "std", "cv"};
    for (size_t k = 0; k < NSUMMARY; k++)
        for (int s = 0; s < 5; s++)
            buf_printf(&csv, ",%s_%s", summary_keys[k], sfx[s]);
    buf_puts(&csv, ",note\r\n");
    for (size_t i = 0; i < np; i++) {
        struct point *pt = &pts[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "index", (double)i);
        cJSON_AddStringToObject(o, "label", jstr(pt->m, "label"));
        cJSON_AddStringToObject(o, "dir", jstr(pt->m, "dir"));
        const cJSON *pv = cJSON_GetObjectItemCaseSensitive(pt->m, "parameters");
        cJSON_AddItemToObject(o, "parameters",
                              pv ? cJSON_Duplicate(pv, true) : cJSON_CreateObject());
        cJSON_AddStringToObject(o, "status", pt->status);
        int ok = nsuccess(pt->runs, pt->nruns);
        cJSON_AddNumberToObject(o, "runs", pt->nruns);
        cJSON_AddNumberToObject(o, "runs_ok", ok);
        cJSON *rd = cJSON_AddArrayToObject(o, "run_dirs");
        const cJSON *runs = cJSON_GetObjectItemCaseSensitive(pt->m, "runs");
        for (const cJSON *r = runs ? runs->child : NULL; r; r = r->next)
            if (strcmp(jstr(r, "status"), "not_run") &&
                strcmp(jstr(r, "status"), "skipped_converged"))
                cJSON_AddItemToArray(rd, cJSON_CreateString(jstr(r, "dir")));
        if (pt->note[0])
            cJSON_AddStringToObject(o, "note", pt->note);
        else
            cJSON_AddNullToObject(o, "note");
        cJSON *ms = cJSON_AddObjectToObject(o, "metrics");
        char t[4096];
        snprintf(t, sizeof t, "%zu", i);
        csv_field(&csv, t, true);
        csv_field(&csv, jstr(pt->m, "label"), false);
        csv_field(&csv, jstr(pt->m, "dir"), false);
        csv_field(&csv, pt->status, false);
        snprintf(t, sizeof t, "%d,%d", pt->nruns, ok);
        buf_putc(&csv, ',');
        buf_puts(&csv, t);
        for (const cJSON *p = params ? params->child : NULL; p; p = p->next) {
            param_text(NULL, "", cJSON_GetObjectItemCaseSensitive(pv, jstr(p, "name")), t,
                       sizeof t);
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "float"))) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(pv, jstr(p, "name"));
                if (cJSON_IsNumber(v))
                    sweep_py_float(v->valuedouble, t, sizeof t);
            }
            csv_field(&csv, t, false);
        }
        for (size_t k = 0; k < NSUMMARY; k++) {
            char tag[96];
            const char *stat, *unit;
            struct agg_stat s;
            if (!ok || !split_key(summary_keys[k], tag, sizeof tag, &stat) ||
                !agg_key(pt->runs, pt->nruns, tag, stat, conf, &s, &unit)) {
                buf_puts(&csv, ",,,,,");
                continue;
            }
            cJSON *m = cJSON_CreateObject();
            cJSON_AddNumberToObject(m, "mean", s.mean);
            cJSON_AddNumberToObject(m, "std", s.std);
            cJSON_AddNumberToObject(m, "min", s.min);
            cJSON_AddNumberToObject(m, "max", s.max);
            cJSON_AddItemToObject(m, "cv", num_or_null(s.cv));
            cJSON_AddNumberToObject(m, "ci_low", s.ci_low);
            cJSON_AddNumberToObject(m, "ci_high", s.ci_high);
            cJSON_AddNumberToObject(m, "n", s.n);
            cJSON_AddStringToObject(m, "unit", unit);
            cJSON_AddItemToObject(ms, summary_keys[k], m);
            /* full precision: the CSV feeds charts and tests, not eyes */
            double v5[5] = {s.mean, s.ci_low, s.ci_high, s.std, s.cv};
            for (int q = 0; q < 5; q++) {
                t[0] = '\0';
                if (isfinite(v5[q]))
                    snprintf(t, sizeof t, "%.17g", v5[q]);
                csv_field(&csv, t, false);
            }
        }
        csv_field(&csv, pt->note, false);
        buf_puts(&csv, "\r\n");
        cJSON_AddItemToArray(pl, o);
    }
    int rc = zio_mkdir_p(outdir, d);
    char path[4600];
    snprintf(path, sizeof path, "%s/sweep_summary.json", outdir);
    if (!rc)
        rc = write_json(path, j, d);
    snprintf(path, sizeof path, "%s/sweep_summary.csv", outdir);
    if (!rc)
        rc = afile_write_all(path, csv.p ? csv.p : "", csv.len, d);
    buf_free(&csv);
    cJSON_Delete(j);
    return rc;
}

int sweep_finalize(const char *base, const cJSON *man, const char *outdir, struct diag *d)
{
    const cJSON *pts = cJSON_GetObjectItemCaseSensitive(man, "points");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(man, "parameters");
    bool sweep = cJSON_GetArraySize(params) > 0;
    int trials = jint(man, "trials", 1);
    double conf = jnum(man, "confidence_level", 0.95);
    bool independent = !strcmp(jstr(man, "sweep_mode"), "independent");
    size_t np = (size_t)cJSON_GetArraySize(pts);
    struct point *pp = xcalloc(np ? np : 1, sizeof *pp);
    size_t i = 0;
    for (const cJSON *p = pts ? pts->child : NULL; p; p = p->next, i++)
        load_point(base, p, &pp[i]);
    int rc = 0;
    /* Per point: AIPerf's confidence aggregate, for points with a successful run. */
    for (i = 0; i < np && !rc; i++) {
        if (!nsuccess(pp[i].runs, pp[i].nruns) || (!sweep && trials <= 1))
            continue;
        char dir[4600];
        const char *pd = jstr(pp[i].m, "dir");
        if (!sweep)
            snprintf(dir, sizeof dir, "%s/aggregate", base);
        else if (independent && trials > 1)
            snprintf(dir, sizeof dir, "%s/%s/aggregate", base, pd);
        else
            snprintf(dir, sizeof dir, "%s/aggregate/%s", base, pd);
        cJSON *extra = cJSON_CreateObject();
        cJSON_AddNumberToObject(extra, "cooldown_seconds", jnum(man, "cooldown_seconds", 0));
        if (sweep) {
            cJSON_AddStringToObject(extra, "variation_label", jstr(pp[i].m, "variation_label"));
            cJSON_AddItemToObject(
                extra, "variation_values",
                cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(pp[i].m, "variation_values"),
                                true));
            cJSON_AddStringToObject(extra, "sweep_mode", independent ? "independent" : "repeated");
            if (*jstr(man, "model"))
                cJSON_AddStringToObject(extra, "model", jstr(man, "model"));
        }
        rc = write_point_aggregate(dir, pp[i].runs, pp[i].nruns, conf, extra, d);
    }
    /* The sweep aggregate: AIPerf's profile_export_aiperf_sweep.{json,csv}. */
    if (!rc && sweep) {
        cJSON *sj = cJSON_CreateObject();
        int total = 0, okn = 0;
        cJSON *failed = cJSON_CreateArray();
        for (i = 0; i < np; i++)
            for (int r = 0; r < pp[i].nruns; r++) {
                total++;
                if (pp[i].runs[r].exp) {
                    okn++;
                    continue;
                }
                cJSON *f = cJSON_CreateObject();
                cJSON_AddStringToObject(f, "label", pp[i].runs[r].label);
                cJSON_AddStringToObject(f, "error", pp[i].runs[r].error);
                cJSON_AddItemToArray(failed, f);
            }
        cJSON_AddStringToObject(sj, "aggregation_type", "sweep");
        cJSON_AddNumberToObject(sj, "num_profile_runs", total);
        cJSON_AddNumberToObject(sj, "num_successful_runs", okn);
        cJSON_AddItemToObject(sj, "failed_runs", failed);
        cJSON *md = cJSON_AddObjectToObject(sj, "metadata");
        cJSON *spar = cJSON_AddArrayToObject(md, "sweep_parameters");
        double combos = 1;
        for (const cJSON *p = params->child; p; p = p->next) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", jstr(p, "name"));
            const cJSON *vals = cJSON_GetObjectItemCaseSensitive(p, "values");
            combos *= cJSON_GetArraySize(vals);
            cJSON_AddItemToObject(o, "values", cJSON_Duplicate(vals, true));
            cJSON_AddItemToArray(spar, o);
        }
        cJSON_AddNumberToObject(md, "num_combinations", combos);
        cJSON_AddStringToObject(md, "sweep_mode", independent ? "independent" : "repeated");
        cJSON_AddNumberToObject(md, "confidence_level", conf);
        cJSON_AddNumberToObject(md, "num_trials_per_value", trials);
        cJSON_AddStringToObject(md, "aggregation_type", "sweep");
        cJSON *pc = cJSON_AddArrayToObject(sj, "per_combination_metrics");
        for (i = 0; i < np; i++) {
            struct point *pt = &pp[i];
            if (!nsuccess(pt->runs, pt->nruns) || (pt->nruns == 1 && !pt->runs[0].exp))
                continue;
            cJSON *c = cJSON_CreateObject();
            cJSON_AddItemToObject(
                c, "parameters",
                cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(pt->m, "parameters"), true));
            cJSON *ms = cJSON_AddObjectToObject(c, "metrics");
            if (pt->nruns == 1) {
                /* one trial: the run's own metric blocks (AIPerf's _json_metric_to_stats) */
                for (const cJSON *m = pt->runs[0].exp->child; m; m = m->next) {
                    const cJSON *u = cJSON_GetObjectItemCaseSensitive(m, "unit");
                    if (!cJSON_IsObject(m) || !cJSON_IsString(u))
                        continue;
                    double avg = jnum(m, "avg", 0);
                    cJSON *o = cJSON_CreateObject();
                    cJSON_AddNumberToObject(o, "mean", avg);
                    cJSON_AddNumberToObject(o, "avg", avg);
                    cJSON_AddNumberToObject(o, "std", 0);
                    cJSON_AddNumberToObject(o, "min", jnum(m, "min", avg));
                    cJSON_AddNumberToObject(o, "max", jnum(m, "max", avg));
                    cJSON_AddNumberToObject(o, "cv", 0);
                    cJSON_AddNumberToObject(o, "ci_low", avg);
                    cJSON_AddNumberToObject(o, "ci_high", avg);
                    cJSON_AddStringToObject(o, "unit", u->valuestring);
                    static const char *const extra[] = {"p1",  "p5",  "p10", "p25",   "p50", "p75",
                                                        "p90", "p95", "p99", "count", "sum"};
                    for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++) {
                        const cJSON *x = cJSON_GetObjectItemCaseSensitive(m, extra[k]);
                        if (cJSON_IsNumber(x))
                            cJSON_AddNumberToObject(o, extra[k], x->valuedouble);
                    }
                    cJSON_AddItemToObject(ms, m->string, o);
                }
            } else {
                struct pair *pairs = NULL;
                size_t npairs = collect_pairs(pt->runs, pt->nruns, &pairs);
                for (size_t k = 0; k < npairs; k++) {
                    struct agg_stat s;
                    const char *unit;
                    if (!agg_key(pt->runs, pt->nruns, pairs[k].tag, pairs[k].stat, conf, &s, &unit))
                        continue;
                    char key[128];
                    snprintf(key, sizeof key, "%s_%s", pairs[k].tag, pairs[k].stat);
                    cJSON *o = cJSON_CreateObject();
                    cJSON_AddNumberToObject(o, "mean", s.mean);
                    cJSON_AddNumberToObject(o, "std", s.std);
                    cJSON_AddNumberToObject(o, "min", s.min);
                    cJSON_AddNumberToObject(o, "max", s.max);
                    cJSON_AddItemToObject(o, "cv", num_or_null(s.cv));
                    cJSON_AddNumberToObject(o, "ci_low", s.ci_low);
                    cJSON_AddNumberToObject(o, "ci_high", s.ci_high);
                    cJSON_AddStringToObject(o, "unit", unit);
                    cJSON_AddItemToObject(ms, key, o);
                }
                free(pairs);
            }
            cJSON_AddItemToArray(pc, c);
        }
        sweep_best_sla(pc, sj,
                       cJSON_GetObjectItemCaseSensitive(
                           cJSON_GetObjectItemCaseSensitive(man, "recipe"), "sweep_sla_filters"));
        char dir[4600], path[4700];
        if (trials > 1 && !independent)
            snprintf(dir, sizeof dir, "%s/aggregate/sweep_aggregate", base);
        else
            snprintf(dir, sizeof dir, "%s/sweep_aggregate", base);
        rc = zio_mkdir_p(dir, d);
        snprintf(path, sizeof path, "%s/profile_export_aiperf_sweep.json", dir);
        if (!rc)
            rc = write_json(path, sj, d);
        /* --search-recipe: its post-process artifact beside the sweep aggregate (AIPerf's
         * cli_runner writes it to the aggregate directory under the recipe's name) */
        const cJSON *recipe = cJSON_GetObjectItemCaseSensitive(man, "recipe");
        if (!rc && recipe) {
            cJSON *art = NULL;
            struct diag pd = {0};
            const char *fn =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(recipe, "output_filename"));
            if (recipe_post_process(recipe, pc, &art, &pd)) {
                /* AIPerf quarantines a failed handler: the standard aggregate stands, the
                 * error goes to post_process_errors.json beside it, with a warning */
                const char *h =
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(recipe, "handler"));
                art = cJSON_CreateObject();
                cJSON_AddStringToObject(art, "handler", h ? h : "");
                cJSON_AddStringToObject(art, "output_filename", fn ? fn : "");
                cJSON_AddStringToObject(art, "error", pd.msg);
                cJSON_AddStringToObject(art, "type", "ValueError");
                snprintf(path, sizeof path, "%s/post_process_errors.json", dir);
                fprintf(stderr,
                        "metronome: warning: post-process handler '%s' failed: %s; the sweep "
                        "aggregate stands (errors in %s)\n",
                        h ? h : "", pd.msg, path);
            } else {
                snprintf(path, sizeof path, "%s/%s", dir, fn ? fn : "recipe.json");
            }
            rc = write_json(path, art, d);
            cJSON_Delete(art);
        }
        struct buf csv;
        buf_init(&csv, 0);
        sweep_csv(man, sj, &csv);
        snprintf(path, sizeof path, "%s/profile_export_aiperf_sweep.csv", dir);
        if (!rc)
            rc = afile_write_all(path, csv.p ? csv.p : "", csv.len, d);
        buf_free(&csv);
        cJSON_Delete(sj);
    }
    if (!rc)
        rc = write_summary(outdir ? outdir : base, "sweep", params, pp, np, conf, d);
    for (i = 0; i < np; i++)
        free_point(&pp[i]);
    free(pp);
    return rc;
}

int sweep_summary_runs(int n, char **dirs, const char *outdir, double conf, struct diag *d)
{
    struct point *pp = xcalloc((size_t)(n ? n : 1), sizeof *pp);
    cJSON *holder = cJSON_CreateArray(); /* the synthetic manifest points */
    int rc = 0;
    char first_schema[32] = "";
    int first_dir = -1;
    for (int i = 0; i < n && !rc; i++) {
        const char *name = strrchr(dirs[i], '/');
        name = name && name[1] ? name + 1 : dirs[i];
        cJSON *pm = cJSON_CreateObject();
        cJSON_AddStringToObject(pm, "label", name);
        cJSON_AddStringToObject(pm, "dir", dirs[i]);
        cJSON_AddItemToObject(pm, "parameters", cJSON_CreateObject());
        cJSON_AddItemToArray(holder, pm);
        struct point *pt = &pp[i];
        pt->m = pm;
        pt->runs = xcalloc(1, sizeof *pt->runs);
        pt->nruns = 1;
        struct run *r = &pt->runs[0];
        snprintf(r->label, sizeof r->label, "run_%04d", i + 1);
        snprintf(r->dir, sizeof r->dir, "%s", dirs[i]);
        r->exp = load_export(dirs[i], r->error, sizeof r->error);
        if (!r->exp) {
            rc = diag_set(d, ERR_INVALID, "%s", r->error);
            break;
        }
        const cJSON *sv = cJSON_GetObjectItemCaseSensitive(r->exp, "schema_version");
        const char *schema = cJSON_IsString(sv) ? sv->valuestring : "";
        if (first_dir < 0) {
            snprintf(first_schema, sizeof first_schema, "%s", schema);
            first_dir = i;
        } else if (strcmp(first_schema, schema)) {
            rc = diag_set(
                d, ERR_INVALID,
                "%s: profile_export_aiperf.json schema_version '%s' differs from %s's '%s'",
                dirs[i], schema, dirs[first_dir], first_schema);
        }
        pt->status = "ok";
    }
    if (!rc)
        rc = write_summary(outdir, "runs", NULL, pp, (size_t)n, conf, d);
    for (int i = 0; i < n; i++)
        free_point(&pp[i]);
    free(pp);
    cJSON_Delete(holder);
    return rc;
}

/* Values list growing as needed (owned). */
struct dvec {
    double *v;
    size_t n, cap;
};

/* Appends the per-request values of metric `tag` in dir/profile_export.jsonl to out, as
 * AIPerf's convergence loader reads them: profiling-phase records without an error whose
 * metrics hold {"value": number}. A missing file adds nothing. */
static void load_request_values(const char *dir, const char *tag, struct dvec *out)
{
    char path[4600], nm[512];
    report_export_name(agg_prefix, "profile_export.jsonl", nm, sizeof nm);
    snprintf(path, sizeof path, "%s/%s", dir, nm);
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        cJSON *r = cJSON_ParseWithLength(line, (size_t)len);
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(r, "metadata");
        const cJSON *ph = cJSON_GetObjectItemCaseSensitive(md, "benchmark_phase");
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");
        const cJSON *m =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "metrics"), tag);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "value");
        if (cJSON_IsString(ph) && !strcmp(ph->valuestring, "profiling") &&
            (!err || cJSON_IsNull(err)) && cJSON_IsNumber(v)) {
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 1024;
                out->v = xrealloc(out->v, out->cap * sizeof *out->v);
            }
            out->v[out->n++] = v->valuedouble;
        }
        cJSON_Delete(r);
    }
    free(line);
    fclose(f);
}

/* AIPerf's DistributionConvergence: the per-request values of every successful run but
 * the last against the last run's, two-sample KS; converged when p > the threshold. */
static bool distribution_converged(const struct sweep_cfg *s, const struct point *pt)
{
    int last = -1, ok = 0;
    for (int i = 0; i < pt->nruns; i++)
        if (pt->runs[i].exp) {
            last = i;
            ok++;
        }
    if (ok < 2)
        return false;
    struct dvec a = {0}, b = {0};
    for (int i = 0; i < pt->nruns; i++)
        if (pt->runs[i].exp)
            load_request_values(pt->runs[i].dir, s->conv_metric, i == last ? &b : &a);
    bool conv = false;
    if (a.n >= 2 && b.n >= 2) {
        double d, p = ks_2samp_pvalue(a.v, a.n, b.v, b.n, &d);
        conv = p > s->conv_threshold;
    }
    free(a.v);
    free(b.v);
    return conv;
}

bool sweep_point_converged(const struct sweep_cfg *s, const char *base, const cJSON *pm)
{
    if (!s->conv_metric)
        return false;
    struct point pt;
    load_point(base, pm, &pt);
    if (s->conv_mode == SWEEP_CONV_DISTRIBUTION) {
        bool conv = distribution_converged(s, &pt);
        free_point(&pt);
        return conv;
    }
    double vals[SWEEP_MAX_TRIALS];
    int n = 0;
    for (int i = 0; i < pt.nruns && n < SWEEP_MAX_TRIALS; i++) {
        double v;
        if (pt.runs[i].exp && export_value(pt.runs[i].exp, s->conv_metric, s->conv_stat, &v, NULL))
            vals[n++] = v;
    }
    free_point(&pt);
    /* AIPerf: fewer than max(min_runs, 2) values, or a zero mean, is not converged. */
    if (n < 2)
        return false;
    struct agg_stat st;
    agg_compute(vals, n, s->confidence, &st);
    if (st.mean == 0)
        return false;
    if (s->conv_mode == SWEEP_CONV_CV)
        return st.std / fabs(st.mean) < s->conv_threshold;
    return 2 * st.t_critical * st.se / fabs(st.mean) < s->conv_threshold;
}
