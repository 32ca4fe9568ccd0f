/*
 * report.html: the template reports/templates/report.html (compiled into the binary as
 * blob "report_html") with the run data embedded as JSON where it says {{DATA}}. The page
 * draws its SVG charts from that JSON with inline script: no network, no external file.
 */
#include "report_int.h"

#include "build_info.h"
#include "embedded.h"
#include "jsonw.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CDF_POINTS 101
#define HIST_BINS  40

static void stats_obj(struct jsonw *w, const struct rsummary *s, int m)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "unit");
    jsonw_str(w, metric_defs[m].unit);
    static const enum verdict_stat st[] = {VS_AVG,    VS_MIN,    VS_MAX,    VS_P1 + 4,
                                           VS_P1 + 6, VS_P1 + 7, VS_P1 + 8, VS_STD};
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        double v;
        if (report_stat(s, m, st[i], &v) && !isnan(v)) {
            jsonw_key(w, verdict_stat_str(st[i]));
            jsonw_double(w, v);
        }
    }
    if (m < M_NRECORD) {
        jsonw_key(w, "count");
        jsonw_uint(w, s->m[m].count);
    }
    jsonw_obj_end(w);
}

/* CDF and histogram of one per-record metric over the profile phase (display units). */
static void distribution(struct jsonw *w, const struct run *ru, int m)
{
    size_t n = 0;
    double *v = xmalloc((ru->n ? ru->n : 1) * sizeof *v);
    for (size_t i = 0; i < ru->n; i++) {
        double x;
        if (ru->r[i].phase == REC_PROFILE && metric_value(&ru->r[i], (enum metric_id)m, &x))
            v[n++] = metric_display((enum metric_id)m, x);
    }
    if (!n) {
        free(v);
        return;
    }
    double *tmp = xmalloc(n * sizeof *tmp);
    stats_sort(v, tmp, n);
    free(tmp);
    jsonw_key(w, metric_defs[m].tag);
    jsonw_obj_begin(w);
    jsonw_key(w, "cdf");
    jsonw_arr_begin(w);
    for (int k = 0; k < CDF_POINTS; k++) {
        double q = (double)k / (CDF_POINTS - 1);
        jsonw_double(w, stats_percentile_sorted(v, n, q));
    }
    jsonw_arr_end(w);
    /* Histogram up to p99.5 so one outlier does not flatten the picture; the last bin
     * holds everything above. */
    double lo = v[0], hi = stats_percentile_sorted(v, n, 0.995);
    if (hi <= lo)
        hi = lo + 1e-9 + fabs(lo) * 1e-6;
    double width = (hi - lo) / HIST_BINS;
    uint64_t cnt[HIST_BINS] = {0};
    for (size_t i = 0; i < n; i++) {
        long b = (long)((v[i] - lo) / width);
        if (b < 0)
            b = 0;
        if (b >= HIST_BINS)
            b = HIST_BINS - 1;
        cnt[b]++;
    }
    jsonw_key(w, "hist_lo");
    jsonw_double(w, lo);
    jsonw_key(w, "hist_width");
    jsonw_double(w, width);
    jsonw_key(w, "hist");
    jsonw_arr_begin(w);
    for (int b = 0; b < HIST_BINS; b++)
        jsonw_uint(w, cnt[b]);
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    free(v);
}

/* Per-interval series over the profile phase: completions/s, tokens/s, mean TTFT of the
 * requests whose first token fell in the bin, mean in-flight requests, errors. */
static void series(struct jsonw *w, const struct run *ru)
{
    int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    for (size_t i = 0; i < ru->n; i++) {
        const struct rrec *r = &ru->r[i];
        if (r->phase != REC_PROFILE || r->t_start == RR_NONE)
            continue;
        int64_t e = r->t_end != RR_NONE ? r->t_end : r->t_last != RR_NONE ? r->t_last : r->t_start;
        if (r->t_start < t0)
            t0 = r->t_start;
        if (e > t1)
            t1 = e;
    }
    if (t0 >= t1)
        return;
    double dur = (double)(t1 - t0);
    double secs = ceil(dur / 1e9); /* clamped before the cast: (int) of 2^31 s would trap */
    int nb = secs > 120 ? 120 : (int)secs;
    if (nb < 10)
        nb = 10 < (int)ceil(dur / 1e8) ? 10 : (int)ceil(dur / 1e8);
    if (nb < 1)
        nb = 1;
    double bw = dur / nb;
    double *done = xcalloc((size_t)nb, sizeof *done), *tok = xcalloc((size_t)nb, sizeof *tok),
           *ttft = xcalloc((size_t)nb, sizeof *ttft), *nttft = xcalloc((size_t)nb, sizeof *nttft),
           *infl = xcalloc((size_t)nb, sizeof *infl), *errs = xcalloc((size_t)nb, sizeof *errs);
#define BIN(t) (int)fmin(nb - 1, fmax(0, floor((double)((t)-t0) / bw)))
    for (size_t i = 0; i < ru->n; i++) {
        const struct rrec *r = &ru->r[i];
        if (r->phase != REC_PROFILE || r->t_start == RR_NONE)
            continue;
        int64_t e = r->t_end != RR_NONE ? r->t_end : r->t_last != RR_NONE ? r->t_last : r->t_start;
        if (r->flags & RR_VALID) {
            done[BIN(r->t_last)] += 1;
            if (r->osl > 0)
                tok[BIN(r->t_last)] += r->osl;
            double x;
            if (metric_value(r, M_TTFT, &x)) {
                ttft[BIN(r->t_first)] += x * 1e-06;
                nttft[BIN(r->t_first)] += 1;
            }
        } else {
            errs[BIN(e)] += 1;
        }
        int b0 = BIN(r->t_start), b1 = BIN(e);
        for (int b = b0; b <= b1; b++) {
            double lo = t0 + b * bw, hi = lo + bw;
            double s = fmax(lo, (double)r->t_start), en = fmin(hi, (double)e);
            if (en > s)
                infl[b] += (en - s) / bw;
        }
    }
#undef BIN
    jsonw_key(w, "series");
    jsonw_obj_begin(w);
    jsonw_key(w, "bin_sec");
    jsonw_double(w, bw * 1e-09);
    const char *names[] = {"throughput_rps", "tokens_ps", "ttft_ms", "inflight", "errors"};
    for (int k = 0; k < 5; k++) {
        jsonw_key(w, names[k]);
        jsonw_arr_begin(w);
        for (int b = 0; b < nb; b++) {
            double v = k == 0   ? done[b] / (bw * 1e-09)
                       : k == 1 ? tok[b] / (bw * 1e-09)
                       : k == 2 ? (nttft[b] ? ttft[b] / nttft[b] : NAN)
                       : k == 3 ? infl[b]
                                : errs[b];
            jsonw_double(w, v);
        }
        jsonw_arr_end(w);
    }
    jsonw_obj_end(w);
    free(done);
    free(tok);
    free(ttft);
    free(nttft);
    free(infl);
    free(errs);
}

static void brief(struct jsonw *w, const char *name, const struct rsummary *s)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "name");
    jsonw_str(w, name);
    jsonw_key(w, "requests");
    jsonw_uint(w, s->n_total);
    jsonw_key(w, "errors");
    jsonw_uint(w, s->n_invalid);
    static const struct {
        const char *key;
        int m;
        enum verdict_stat st;
    } q[] = {{"ttft_p50", M_TTFT, VS_P1 + 4},         {"ttft_p99", M_TTFT, VS_P1 + 8},
             {"latency_p50", M_LATENCY, VS_P1 + 4},   {"latency_p99", M_LATENCY, VS_P1 + 8},
             {"lateness_p50", M_LATENESS, VS_P1 + 4}, {"lateness_p99", M_LATENESS, VS_P1 + 8},
             {"lateness_max", M_LATENESS, VS_MAX}};
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        double v;
        if (report_stat(s, q[i].m, q[i].st, &v)) {
            jsonw_key(w, q[i].key);
            jsonw_double(w, v);
        }
    }
    jsonw_obj_end(w);
}

static bool sel_phase_h(const struct rrec *r, const void *ctx)
{
    return r->phase == *(const uint8_t *)ctx;
}

/* Per-phase and per-worker rows (counts, TTFT, latency, lateness percentiles). */
static void breakdowns(struct jsonw *w, const struct run *ru)
{
    jsonw_key(w, "breakdown");
    jsonw_arr_begin(w);
    for (uint8_t ph = 0; ph < 2; ph++) {
        struct rsummary s;
        report_summarize(ru, sel_phase_h, &ph, NULL, NULL, &s);
        if (s.n_total)
            brief(w, ph == REC_WARMUP ? "phase warmup" : "phase profile", &s);
    }
    for (int32_t k = 0; ru->nworkers > 1 && k < ru->nworkers && k < 1024; k++) {
        struct rsummary s;
        report_summarize(ru, report_sel_worker, &k, NULL, NULL, &s);
        char name[32];
        snprintf(name, sizeof name, "worker %d", k);
        if (s.n_total)
            brief(w, name, &s);
    }
    jsonw_arr_end(w);
}

static void run_data(struct jsonw *w, const struct run *ru)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "label");
    jsonw_str(w, ru->label);
    jsonw_key(w, "complete");
    jsonw_bool(w, ru->complete);
    jsonw_key(w, "cancelled");
    jsonw_bool(w, ru->cancelled);
    jsonw_key(w, "endpoint");
    jsonw_str(w, ru->endpoint);
    jsonw_key(w, "streaming");
    jsonw_bool(w, ru->streaming);
    char t[64];
    report_iso_time(ru->shard[0].started_real ? ru->shard[0].started_real : ru->base_real, t,
                    sizeof t);
    jsonw_key(w, "start_time");
    jsonw_str(w, t);
    jsonw_key(w, "requests");
    jsonw_uint(w, ru->prof.n_total);
    jsonw_key(w, "valid");
    jsonw_uint(w, ru->prof.n_valid);
    jsonw_key(w, "shards");
    jsonw_uint(w, ru->nshards);
    jsonw_key(w, "summary");
    jsonw_obj_begin(w);
    for (int m = 0; m < M_COUNT; m++) {
        bool has = m < M_NRECORD ? ru->prof.m[m].count > 0 : ru->prof.has_scalar[m];
        if (!has)
            continue;
        jsonw_key(w, metric_defs[m].tag);
        stats_obj(w, &ru->prof, m);
    }
    jsonw_obj_end(w);
    jsonw_key(w, "headers");
    jsonw_obj_begin(w);
    for (int m = 0; m < M_COUNT; m++) {
        char label[160];
        report_label(m, true, label, sizeof label);
        jsonw_key(w, metric_defs[m].tag);
        jsonw_str(w, label);
    }
    jsonw_obj_end(w);
    jsonw_key(w, "larger_is_better");
    jsonw_arr_begin(w);
    for (int m = 0; m < M_COUNT; m++)
        if (metric_defs[m].flags & MF_LARGER)
            jsonw_str(w, metric_defs[m].tag);
    jsonw_arr_end(w);
    jsonw_key(w, "error_kinds");
    jsonw_uint(w, ru->nerr);
    jsonw_key(w, "errors");
    jsonw_arr_begin(w);
    size_t listed = 0;
    for (size_t i = 0; i < ru->nerr && listed < 200; i++) {
        const struct err_group *g = &ru->err[i];
        if (!g->count)
            continue;
        listed++;
        char msg[1024], type[256];
        strv_unescape((struct strv){g->msg, strlen(g->msg)}, msg, sizeof msg);
        strv_unescape((struct strv){g->type, strlen(g->type)}, type, sizeof type);
        jsonw_obj_begin(w);
        jsonw_key(w, "code");
        if (g->code == REC_ABSENT)
            jsonw_null(w);
        else
            jsonw_int(w, g->code);
        jsonw_key(w, "type");
        jsonw_str(w, type);
        jsonw_key(w, "message");
        jsonw_str(w, msg);
        jsonw_key(w, "count");
        jsonw_uint(w, g->count);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_key(w, "dist");
    jsonw_obj_begin(w);
    static const int dm[] = {M_TTFT, M_LATENCY, M_ITL, M_LATENESS, M_TTFT_INTENDED, M_LAT_INTENDED};
    for (size_t i = 0; i < sizeof dm / sizeof dm[0]; i++)
        distribution(w, ru, dm[i]);
    jsonw_obj_end(w);
    series(w, ru);
    breakdowns(w, ru);
    jsonw_key(w, "verdict");
    jsonw_arr_begin(w);
    const char *p = ru->verdict_lines.p;
    while (p && *p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        jsonw_strn(w, p, n);
        p += n + (e ? 1 : 0);
    }
    jsonw_arr_end(w);
    cJSON *cfg = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ru->shard[0].json, "config"), 1);
    if (!cfg)
        cfg = cJSON_CreateObject();
    report_redact(cfg);
    char *cs = cJSON_PrintUnformatted(cfg);
    jsonw_key(w, "config");
    jsonw_raw(w, cs, strlen(cs));
    free(cs);
    cJSON_Delete(cfg);
    jsonw_obj_end(w);
}

int report_write_html(struct run *const *runs, size_t nruns, const struct report_opts *o,
                      const char *dir, struct report_result *res, struct diag *d)
{
    (void)o;
    char *tpl = NULL;
    size_t tlen = 0;
    int rc = embedded_load("report_html", &tpl, &tlen, d);
    if (rc)
        return rc;
    struct buf data;
    buf_init(&data, 1u << 30);
    struct jsonw w;
    jsonw_init(&w, &data);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "generator");
    jsonw_str(&w, "metronome " METRONOME_VERSION);
    jsonw_key(&w, "runs");
    jsonw_arr_begin(&w);
    for (size_t i = 0; i < nruns; i++)
        run_data(&w, runs[i]);
    jsonw_arr_end(&w);
    jsonw_obj_end(&w);
    struct buf out;
    buf_init(&out, 1u << 30);
    const char *mark = strstr(tpl, "{{DATA}}");
    if (!mark) {
        free(tpl);
        buf_free(&data);
        buf_free(&out);
        return diag_set(d, ERR_INVALID, "report template has no {{DATA}} marker");
    }
    buf_append(&out, tpl, (size_t)(mark - tpl));
    /* '<' inside the script element could close it; \u003c is the same JSON string. */
    for (size_t i = 0; i < data.len; i++) {
        if (data.p[i] == '<')
            buf_puts(&out, "\\u003c");
        else
            buf_putc(&out, data.p[i]);
    }
    const char *rest = mark + strlen("{{DATA}}");
    buf_append(&out, rest, tlen - (size_t)(rest - tpl));
    char path[4096];
    snprintf(path, sizeof path, "%s/report.html", dir);
    rc = afile_write_all(path, out.p, out.len, d);
    if (!rc) {
        buf_puts(&res->written, path);
        buf_putc(&res->written, '\n');
    }
    free(tpl);
    buf_free(&data);
    buf_free(&out);
    return rc;
}
