/*
 * report.html: the template reports/templates/report.html (compiled into the binary as
 * blob "report_html": the page's head and style) with the body, written here, where it
 * says {{BODY}}. Every table and chart is HTML and SVG text produced now (svgchart.h), so
 * the page reads with JavaScript disabled; the page carries no script at all (hover
 * details are SVG <title> elements) and makes no network request.
 *
 * With report_opts.plots_dir each chart is also written as a standalone .svg file.
 */
#include "report_int.h"

#include "build_info.h"
#include "embedded.h"
#include "svgchart.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CDF_POINTS  101
#define HIST_BINS   40
#define MAX_OVERLAY 8 /* runs drawn over each other in distribution and time charts */

/* ------------------------------------------------------------------ page */

struct page {
    struct buf *o;
    const char *plots_dir; /* NULL: no standalone files */
    int nchart;
    struct report_result *res;
    struct diag *d;
    int rc; /* first error writing a plot file */
};

static void esc(struct buf *o, const char *s)
{
    svg_escape(o, s);
}

/* "12,345.68": AIPerf-like digits by magnitude, thousands separated. */
static void fmt_num(double v, char *out, size_t cap)
{
    if (isnan(v) || isinf(v)) {
        snprintf(out, cap, "N/A");
        return;
    }
    double a = fabs(v);
    int d = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : a >= 0.01 ? 4 : a == 0 ? 0 : 6;
    if (a < 1e15 && a == floor(a))
        d = 0; /* counts, and averages that are whole */
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*f", d, a);
    char *dot = strchr(tmp, '.');
    size_t ilen = dot ? (size_t)(dot - tmp) : strlen(tmp);
    size_t n = 0;
    if (v < 0 && n + 1 < cap)
        out[n++] = '-';
    for (size_t i = 0; i < ilen && n + 2 < cap; i++) {
        out[n++] = tmp[i];
        size_t left = ilen - i - 1;
        if (left && left % 3 == 0)
            out[n++] = ',';
    }
    if (dot)
        for (const char *p = dot; *p && n + 1 < cap; p++)
            out[n++] = *p;
    out[n] = '\0';
}

static void slug(const char *title, char *out, size_t cap)
{
    size_t n = 0;
    bool dash = false;
    for (const unsigned char *p = (const unsigned char *)title; *p && n + 2 < cap; p++) {
        if (isalnum(*p)) {
            out[n++] = (char)tolower(*p);
            dash = false;
        } else if (!dash && n) {
            out[n++] = '-';
            dash = true;
        }
    }
    while (n && out[n - 1] == '-')
        n--;
    out[n] = '\0';
}

/* One chart: inline in a card, and as DIR/NN-slug.svg with --plots. */
static void chart(struct page *p, const struct svg_chart *c)
{
    p->nchart++;
    buf_puts(p->o, "<figure class=\"card\">");
    svg_chart(p->o, c, false);
    buf_puts(p->o, "</figure>\n");
    if (!p->plots_dir || p->rc)
        return;
    struct buf f;
    buf_init(&f, 1u << 28);
    svg_chart(&f, c, true);
    char s[96], path[4096];
    slug(c->name ? c->name : c->title, s, sizeof s);
    snprintf(path, sizeof path, "%s/%02d-%s.svg", p->plots_dir, p->nchart, s);
    p->rc = afile_write_all(path, f.p, f.len, p->d);
    if (!p->rc) {
        buf_puts(&p->res->written, path);
        buf_putc(&p->res->written, '\n');
    }
    buf_free(&f);
}

/* ------------------------------------------------------------------ per-run data */

struct dist {
    bool has;
    double cdf[CDF_POINTS];
    double lo, width;
    double hist[HIST_BINS];
};

/* CDF and histogram of one per-record metric over the profile phase (display units). */
static void dist_compute(const struct run *ru, int m, struct dist *out)
{
    memset(out, 0, sizeof *out);
    size_t n = 0;
    double *v = stats_scratch_get((ru->n ? ru->n : 1) * sizeof *v);
    for (size_t i = 0; i < ru->n; i++) {
        double x;
        if (ru->r[i].phase == REC_PROFILE && metric_value(&ru->r[i], (enum metric_id)m, &x))
            v[n++] = metric_display((enum metric_id)m, x);
    }
    if (!n) {
        stats_scratch_put(v);
        return;
    }
    double *tmp = stats_scratch_get(n * sizeof *tmp);
    stats_sort(v, tmp, n);
    stats_scratch_put(tmp);
    out->has = true;
    for (int k = 0; k < CDF_POINTS; k++)
        out->cdf[k] = stats_percentile_sorted(v, n, (double)k / (CDF_POINTS - 1));
    /* Histogram up to p99.5 so one outlier does not flatten the picture; the last bin
     * holds everything above. */
    double lo = v[0], hi = stats_percentile_sorted(v, n, 0.995);
    if (hi <= lo) /* one value: a readable range around it, the bar in the first bin */
        hi = lo + (lo != 0 ? fabs(lo) * 0.05 : 1);
    double width = (hi - lo) / HIST_BINS;
    for (size_t i = 0; i < n; i++) {
        long b = (long)((v[i] - lo) / width);
        b = b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b;
        out->hist[b] += 1;
    }
    out->lo = lo;
    out->width = width;
    stats_scratch_put(v);
}

double report_ts_bucket_ns(double dur_ns, double lat_ns)
{
    if (!(dur_ns > 0))
        return 1;
    double bw = dur_ns / 120;
    if (lat_ns > 0 && 10 * lat_ns > bw)
        bw = 10 * lat_ns;
    if (bw > dur_ns / 8)
        bw = dur_ns / 8;
    /* whole buckets over the run: equal widths, so every bucket's rate means the same */
    double nb = fmax(1, round(dur_ns / bw));
    return dur_ns / nb;
}

enum {
    TS_RPS,
    TS_TPS,
    TS_TTFT_P50,
    TS_TTFT_P99,
    TS_TTFT_MEAN,
    TS_LAT_P50,
    TS_LAT_P99,
    TS_INFL,
    TS_ERRS,
    TS_N
};

struct tseries {
    int nb;
    double bw_s;
    double *x;       /* bucket mid-points, s */
    double *v[TS_N]; /* per bucket; NaN where a bucket has no value */
};

/* p50, p99 and mean of the values in each bucket: bucket[i] in [0, nb), val[i]. */
static void bucket_pcts(const int *bucket, const double *val, size_t n, int nb, double *p50,
                        double *p99, double *mean)
{
    size_t *off = xcalloc((size_t)nb + 1, sizeof *off);
    for (size_t i = 0; i < n; i++)
        off[bucket[i] + 1]++;
    for (int b = 0; b < nb; b++)
        off[b + 1] += off[b];
    double *v = stats_scratch_get((n ? n : 1) * sizeof *v);
    double *tmp = stats_scratch_get((n ? n : 1) * sizeof *tmp);
    size_t *fill = xmalloc(((size_t)nb + 1) * sizeof *fill);
    memcpy(fill, off, ((size_t)nb + 1) * sizeof *fill);
    for (size_t i = 0; i < n; i++)
        v[fill[bucket[i]]++] = val[i];
    for (int b = 0; b < nb; b++) {
        size_t a = off[b], k = off[b + 1] - a;
        if (!k) {
            p50[b] = p99[b] = NAN;
            if (mean)
                mean[b] = NAN;
            continue;
        }
        stats_sort(v + a, tmp, k);
        p50[b] = stats_percentile_sorted(v + a, k, 0.5);
        p99[b] = stats_percentile_sorted(v + a, k, 0.99);
        if (mean)
            mean[b] = stats_np_sum(v + a, k) / (double)k;
    }
    free(off);
    free(fill);
    stats_scratch_put(v);
    stats_scratch_put(tmp);
}

/* Per-bucket series over the profile phase: completions/s, output tokens/s, TTFT p50/p99
 * and mean of the requests whose first token fell in the bucket, latency p50/p99 of those
 * that ended in it, mean requests in flight, errors. */
static bool ts_compute(const struct run *ru, struct tseries *ts)
{
    memset(ts, 0, sizeof *ts);
    int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    for (size_t i = 0; i < ru->n; i++) {
        const struct rrec *r = &ru->r[i];
        if (r->phase != REC_PROFILE || r->t_start == RR_NONE)
            continue;
        int64_t e = r->t_end != RR_NONE ? r->t_end : r->t_last != RR_NONE ? r->t_last : r->t_start;
        t0 = r->t_start < t0 ? r->t_start : t0;
        t1 = e > t1 ? e : t1;
    }
    if (t0 >= t1)
        return false;
    double dur = (double)(t1 - t0), lat = NAN;
    report_stat(&ru->prof, M_LATENCY, VS_P1 + 4, &lat); /* ms */
    double bw = report_ts_bucket_ns(dur, isnan(lat) ? 0 : lat * 1e6);
    double nbf = fmin(TS_MAX_BINS, round(dur / bw));
    int nb = nbf < 1 ? 1 : (int)nbf;
    bw = dur / nb;
    ts->nb = nb;
    ts->bw_s = bw * 1e-9;
    ts->x = xmalloc((size_t)nb * sizeof *ts->x);
    for (int b = 0; b < nb; b++)
        ts->x[b] = (b + 0.5) * ts->bw_s;
    for (int k = 0; k < TS_N; k++)
        ts->v[k] = xcalloc((size_t)nb, sizeof *ts->v[k]);
    size_t cap = ru->n ? ru->n : 1, nt = 0, nl = 0;
    int *bt = xmalloc(cap * sizeof *bt), *bl = xmalloc(cap * sizeof *bl);
    double *vt = xmalloc(cap * sizeof *vt), *vl = xmalloc(cap * sizeof *vl);
#define BIN(t) (int)fmin(nb - 1, fmax(0, floor((double)((t)-t0) / bw)))
    for (size_t i = 0; i < ru->n; i++) {
        const struct rrec *r = &ru->r[i];
        if (r->phase != REC_PROFILE || r->t_start == RR_NONE)
            continue;
        int64_t e = r->t_end != RR_NONE ? r->t_end : r->t_last != RR_NONE ? r->t_last : r->t_start;
        if (r->flags & RR_VALID) {
            int64_t done = r->t_last != RR_NONE ? r->t_last : e;
            ts->v[TS_RPS][BIN(done)] += 1;
            if (r->osl > 0)
                ts->v[TS_TPS][BIN(done)] += r->osl;
            double x;
            if (r->t_first != RR_NONE && metric_value(r, M_TTFT, &x)) {
                bt[nt] = BIN(r->t_first);
                vt[nt++] = x * 1e-6;
            }
            if (metric_value(r, M_LATENCY, &x)) {
                bl[nl] = BIN(e);
                vl[nl++] = x * 1e-6;
            }
        } else {
            ts->v[TS_ERRS][BIN(e)] += 1;
        }
        int b0 = BIN(r->t_start), b1 = BIN(e);
        for (int b = b0; b <= b1; b++) {
            double lo = (double)t0 + b * bw, hi = lo + bw;
            double s = fmax(lo, (double)r->t_start), en = fmin(hi, (double)e);
            if (en > s)
                ts->v[TS_INFL][b] += (en - s) / bw;
        }
    }
#undef BIN
    for (int b = 0; b < nb; b++) {
        ts->v[TS_RPS][b] /= ts->bw_s;
        ts->v[TS_TPS][b] /= ts->bw_s;
    }
    bucket_pcts(bt, vt, nt, nb, ts->v[TS_TTFT_P50], ts->v[TS_TTFT_P99], ts->v[TS_TTFT_MEAN]);
    bucket_pcts(bl, vl, nl, nb, ts->v[TS_LAT_P50], ts->v[TS_LAT_P99], NULL);
    free(bt);
    free(bl);
    free(vt);
    free(vl);
    return true;
}

static void ts_free(struct tseries *ts)
{
    free(ts->x);
    for (int k = 0; k < TS_N; k++)
        free(ts->v[k]);
}

/* ------------------------------------------------------------------ sections */

struct ctx {
    struct page *p;
    struct run *const *runs;
    size_t nruns;
    const struct report_opts *o;
};

static double stat_or_nan(const struct run *ru, int m, enum verdict_stat st)
{
    double v;
    if (report_stat(&ru->prof, m, st, &v))
        return v;
    /* AIPerf omits error_request_count when there was no error: that is a 0, and the
     * comparison must show 0 -> 8, not "new". */
    if (m == M_ERR_COUNT && ru->prof.n_total)
        return 0;
    return NAN;
}

static bool has_metric(const struct run *ru, int m)
{
    return m < M_NRECORD ? ru->prof.m[m].count > 0 : ru->prof.has_scalar[m];
}

static const int summary_order[] = {
    M_TTFT,      M_TTST,      M_LATENCY,       M_ITL,          M_OTT_USER,   M_OSL,      M_ISL,
    M_REASONING, M_TTFO,      M_TTFT_INTENDED, M_LAT_INTENDED, M_LATENESS,   M_OTT,      M_REQ_TPUT,
    M_REQ_COUNT, M_ERR_COUNT, M_ERROR_RATE,    M_GOODPUT,      M_GOOD_COUNT, M_DURATION,
};

static void header_cell(struct buf *o, int m)
{
    char label[160];
    report_label(m, true, label, sizeof label);
    if (m == M_ERROR_RATE)
        snprintf(label, sizeof label, "Error Rate (%%)");
    buf_puts(o, "<th scope=\"row\">");
    esc(o, label);
    buf_puts(o, "</th>");
}

/* One run: every statistic of every metric it has. */
static void summary_single(struct ctx *c)
{
    const struct run *ru = c->runs[0];
    static const enum verdict_stat st[] = {VS_AVG,    VS_MIN,    VS_P1 + 4, VS_P1 + 6,
                                           VS_P1 + 7, VS_P1 + 8, VS_MAX,    VS_STD};
    struct buf *o = c->p->o;
    buf_puts(o, "<div class=\"card scroll\"><table id=\"summary\"><thead><tr><th>Metric</th>");
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++)
        buf_printf(o, "<th>%s</th>", verdict_stat_str(st[i]));
    buf_puts(o, "</tr></thead><tbody>\n");
    for (size_t k = 0; k < sizeof summary_order / sizeof summary_order[0]; k++) {
        int m = summary_order[k];
        if (!has_metric(ru, m))
            continue;
        buf_puts(o, "<tr>");
        header_cell(o, m);
        for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
            double v = stat_or_nan(ru, m, st[i]);
            char s[64] = "";
            if (!isnan(v)) {
                if (m == M_ERROR_RATE)
                    snprintf(s, sizeof s, "%.2f", v * 100);
                else
                    fmt_num(v, s, sizeof s);
            }
            buf_printf(o, "<td>%s</td>", s);
        }
        buf_puts(o, "</tr>\n");
    }
    buf_puts(o, "</tbody></table></div>\n");
}

/* Several runs: a row per metric and statistic, each run's value next to its delta
 * against the first run (docs/cli-report.md, *Comparing runs*). */
static void summary_compare(struct ctx *c)
{
    struct buf *o = c->p->o;
    double noise = c->o->noise_pct > 0 ? c->o->noise_pct : REPORT_NOISE_PCT;
    buf_printf(o,
               "<p class=\"meta\">Δ is the change against <b>%s</b>: "
               "<span class=\"down\">better</span>, <span class=\"up\">worse</span>, or "
               "<span class=\"same\">neutral</span> when inside the noise (for a run that is "
               "one of repeated runs: the confidence interval of the mean from its set's "
               "aggregate, the intervals overlapping; else |change| &lt; %g %% of the base "
               "value, a change from 0 never being noise) or when the metric has no better "
               "direction. pp: percentage points.</p>\n",
               c->runs[0]->label, noise);
    buf_puts(o, "<div class=\"card scroll\"><table id=\"summary\" class=\"cmp\"><thead><tr>"
                "<th>Metric</th><th>stat</th>");
    for (size_t i = 0; i < c->nruns; i++) {
        buf_printf(o, "<th><span class=\"sw\" style=\"background:%s\"></span>", svg_color((int)i));
        esc(o, c->runs[i]->label);
        buf_puts(o, "</th>");
        if (i) {
            buf_puts(o, "<th>Δ ");
            esc(o, c->runs[i]->label);
            buf_puts(o, "</th>");
        }
    }
    buf_puts(o, "</tr></thead><tbody>\n");
    for (size_t k = 0; k < sizeof summary_order / sizeof summary_order[0]; k++) {
        int m = summary_order[k];
        bool any = false;
        for (size_t i = 0; i < c->nruns; i++)
            any |= has_metric(c->runs[i], m);
        if (!any)
            continue;
        static const enum verdict_stat rec_st[] = {VS_AVG, VS_P1 + 4, VS_P1 + 8};
        size_t nst = m < M_NRECORD ? 3 : 1;
        for (size_t s = 0; s < nst; s++) {
            enum verdict_stat st = rec_st[s];
            buf_puts(o, "<tr>");
            if (s == 0) {
                char label[160];
                report_label(m, true, label, sizeof label);
                if (m == M_ERROR_RATE)
                    snprintf(label, sizeof label, "Error Rate (%%)");
                buf_printf(o, "<th scope=\"rowgroup\" rowspan=\"%zu\">", nst);
                esc(o, label);
                buf_puts(o, "</th>");
            }
            buf_printf(o, "<td class=\"l\">%s</td>", verdict_stat_str(st));
            double b = stat_or_nan(c->runs[0], m, st);
            for (size_t i = 0; i < c->nruns; i++) {
                double v = stat_or_nan(c->runs[i], m, st);
                char val[64];
                report_cmp_value(m, v, val, sizeof val);
                buf_printf(o, "<td>%s</td>", val);
                if (!i)
                    continue;
                struct report_delta dl;
                report_delta(m, !isnan(b), b, !isnan(v), v, noise,
                             report_ci_half(c->runs[0], m, st), report_ci_half(c->runs[i], m, st),
                             &dl);
                const char *cls = dl.cls == DELTA_BETTER  ? "down"
                                  : dl.cls == DELTA_WORSE ? "up"
                                                          : "same";
                buf_printf(o, "<td class=\"%s\"%s>%s</td>", cls,
                           dl.noise && dl.cls != DELTA_NONE ? " title=\"inside the noise\"" : "",
                           dl.text);
            }
            buf_puts(o, "</tr>\n");
        }
    }
    buf_puts(o, "</tbody></table></div>\n");
}

static void dist_section(struct ctx *c, int m, const char *name, struct dist *d, bool hist)
{
    size_t nr = c->nruns < MAX_OVERLAY ? c->nruns : MAX_OVERLAY;
    bool any = false;
    for (size_t i = 0; i < nr; i++)
        any |= d[i].has;
    if (!any)
        return;
    struct svg_series s[MAX_OVERLAY];
    double x[MAX_OVERLAY][HIST_BINS];
    static double q[CDF_POINTS];
    for (int k = 0; k < CDF_POINTS; k++)
        q[k] = (double)k;
    char t[160], xl[160];
    const char *unit = metric_defs[m].unit;
    snprintf(xl, sizeof xl, "%s (%s)", name, unit);
    size_t ns = 0;
    if (hist && nr <= 4) {
        for (size_t i = 0; i < nr; i++) {
            if (!d[i].has)
                continue;
            for (int b = 0; b < HIST_BINS; b++)
                x[i][b] = d[i].lo + b * d[i].width;
            int slot = (int)ns;
            s[ns++] = (struct svg_series){.name = c->nruns > 1 ? c->runs[i]->label : NULL,
                                          .kind = SVG_BAR,
                                          .color = (int)i,
                                          .x = x[i],
                                          .y = d[i].hist,
                                          .n = HIST_BINS,
                                          .bar_w = d[i].width,
                                          .bar_slot = slot,
                                          .bar_slots = 0};
        }
        for (size_t k = 0; k < ns; k++)
            s[k].bar_slots = (int)ns;
        snprintf(t, sizeof t, "%s: histogram", name);
        chart(
            c->p,
            &(struct svg_chart){
                .title = t, .xlabel = xl, .ylabel = "requests", .y_zero = true, .s = s, .ns = ns});
    }
    ns = 0;
    double lo = INFINITY, hi = 0;
    for (size_t i = 0; i < nr; i++) {
        if (!d[i].has)
            continue;
        lo = fmin(lo, d[i].cdf[0]);
        hi = fmax(hi, d[i].cdf[CDF_POINTS - 1]);
        s[ns++] = (struct svg_series){.name = c->nruns > 1 ? c->runs[i]->label : NULL,
                                      .kind = SVG_LINE,
                                      .color = (int)i,
                                      .x = d[i].cdf,
                                      .y = q,
                                      .n = CDF_POINTS};
    }
    snprintf(t, sizeof t, "%s: CDF", name);
    /* A log axis when the values span more than 50x: a long tail then still leaves the
     * body of the distribution readable. */
    chart(c->p, &(struct svg_chart){.title = t,
                                    .xlabel = xl,
                                    .ylabel = "percentile",
                                    .xlog = lo > 0 && hi / lo > 50,
                                    .y_zero = true,
                                    .s = s,
                                    .ns = ns});
}

static void ts_chart(struct ctx *c, struct tseries *ts, const char *title, const char *ylabel,
                     const int *keys, const enum svg_dash *dashes, const char *const *what,
                     size_t nk)
{
    size_t nr = c->nruns < MAX_OVERLAY ? c->nruns : MAX_OVERLAY;
    struct svg_series s[MAX_OVERLAY * 3];
    char names[MAX_OVERLAY * 3][160];
    size_t ns = 0;
    for (size_t i = 0; i < nr; i++) {
        if (!ts[i].nb)
            continue;
        for (size_t k = 0; k < nk; k++) {
            if (c->nruns > 1)
                snprintf(names[ns], sizeof names[ns], "%s%s%s", c->runs[i]->label,
                         what[k][0] ? " " : "", what[k]);
            else
                snprintf(names[ns], sizeof names[ns], "%s", what[k]);
            s[ns] = (struct svg_series){.name = names[ns][0] ? names[ns] : NULL,
                                        .kind = SVG_LINE,
                                        .color = (int)i,
                                        .dash = dashes[k],
                                        .x = ts[i].x,
                                        .y = ts[i].v[keys[k]],
                                        .n = (size_t)ts[i].nb};
            ns++;
        }
    }
    char t[200];
    snprintf(t, sizeof t, "%s (per %.3g s)", title, ts[0].nb ? ts[0].bw_s : 0.0);
    chart(c->p, &(struct svg_chart){.title = t,
                                    .name = title,
                                    .xlabel = "time since start (s)",
                                    .ylabel = ylabel,
                                    .y_zero = true,
                                    .s = s,
                                    .ns = ns});
}

static void series_section(struct ctx *c)
{
    size_t nr = c->nruns < MAX_OVERLAY ? c->nruns : MAX_OVERLAY;
    struct tseries ts[MAX_OVERLAY];
    bool any = false;
    for (size_t i = 0; i < nr; i++)
        any |= ts_compute(c->runs[i], &ts[i]);
    if (!any) {
        buf_puts(c->p->o, "<div class=\"empty\">no requests</div>\n");
        return;
    }
    if (c->nruns > MAX_OVERLAY)
        buf_printf(c->p->o,
                   "<p class=\"meta\">The first %d runs are drawn; report a run alone for its "
                   "own time series.</p>\n",
                   MAX_OVERLAY);
    buf_printf(c->p->o,
               "<p class=\"meta\">Each point covers one bucket; the bucket width is at least ten "
               "median request latencies (so a closed-loop run's waves of completions do not "
               "alias) and at most an eighth of the run. p50 solid, p99 dashed, mean dotted.</p>"
               "\n<div class=\"grid\">\n");
    static const enum svg_dash solid[] = {SVG_SOLID}, pdash[] = {SVG_SOLID, SVG_DASHED, SVG_DOTTED};
    static const char *const none[] = {""};
    static const char *const pq[] = {"p50", "p99", "mean"};
    ts_chart(c, ts, "Request throughput", "requests/s", (const int[]){TS_RPS}, solid, none, 1);
    ts_chart(c, ts, "Output token throughput", "tokens/s", (const int[]){TS_TPS}, solid, none, 1);
    ts_chart(c, ts, "Time to first token", "ms",
             (const int[]){TS_TTFT_P50, TS_TTFT_P99, TS_TTFT_MEAN}, pdash, pq, 3);
    ts_chart(c, ts, "Request latency", "ms", (const int[]){TS_LAT_P50, TS_LAT_P99}, pdash, pq, 2);
    ts_chart(c, ts, "Requests in flight (mean)", "requests", (const int[]){TS_INFL}, solid, none,
             1);
    ts_chart(c, ts, "Errors", "errors per bucket", (const int[]){TS_ERRS}, solid, none, 1);
    buf_puts(c->p->o, "</div>\n");
    for (size_t i = 0; i < nr; i++)
        if (ts[i].nb)
            ts_free(&ts[i]);
}

/* The server's own series (server_metrics.jsonl.zst, docs/server-metrics.md) on the same
 * time axis as "Over time": one chart per series, runs overlaid. */
static void tel_section(struct ctx *c)
{
    size_t nr = c->nruns < MAX_OVERLAY ? c->nruns : MAX_OVERLAY;
    bool any = false;
    for (size_t i = 0; i < nr; i++)
        any |= c->runs[i]->tel != NULL;
    if (!any)
        return;
    static const struct {
        int k;
        const char *title, *ylabel;
    } ch[] = {
        {TEL_RUNNING, "Server: requests running", "requests"},
        {TEL_WAITING, "Server: requests waiting", "requests"},
        {TEL_KV, "Server: KV-cache usage", "%"},
        {TEL_TOKS, "Server: output tokens/s (its counter)", "tokens/s"},
        {TEL_GPU_UTIL, "GPU utilization (DCGM)", "%"},
        {TEL_GPU_POWER, "GPU power (DCGM)", "W"},
    };
    buf_puts(c->p->o, "<h2>Server metrics</h2>\n<p class=\"meta\">As the server's /metrics and "
                      "DCGM pages said at each scrape, on the time axis above. The cross-check of "
                      "its latency histograms against ours is on the console and in "
                      "server_metrics_crosscheck.json.</p>\n<div class=\"grid\">\n");
    for (size_t k = 0; k < sizeof ch / sizeof ch[0]; k++) {
        struct svg_series s[MAX_OVERLAY];
        size_t ns = 0;
        for (size_t i = 0; i < nr; i++) {
            const struct tel_series *t = c->runs[i]->tel;
            if (!t || !t->n[ch[k].k])
                continue;
            s[ns++] = (struct svg_series){.name = c->nruns > 1 ? c->runs[i]->label : NULL,
                                          .kind = SVG_LINE,
                                          .color = (int)i,
                                          .x = t->x[ch[k].k],
                                          .y = t->y[ch[k].k],
                                          .n = t->n[ch[k].k]};
        }
        if (!ns)
            continue;
        chart(c->p, &(struct svg_chart){.title = ch[k].title,
                                        .xlabel = "time since start (s)",
                                        .ylabel = ch[k].ylabel,
                                        .y_zero = true,
                                        .s = s,
                                        .ns = ns});
    }
    buf_puts(c->p->o, "</div>\n");
}

/* What a run's load point was: the config's concurrency and request rate. */
static double cfg_num(const struct run *ru, const char *key)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(ru->shard[0].json, "config");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The swept variable: concurrency or request rate when every run has one and they are not
 * all equal; NULL (run number) otherwise. */
static const char *swept(struct ctx *c, double *x)
{
    static const char *const keys[] = {"concurrency", "request_rate"};
    for (size_t k = 0; k < 2; k++) {
        bool ok = true, differ = false;
        for (size_t i = 0; i < c->nruns && ok; i++) {
            x[i] = cfg_num(c->runs[i], keys[k]);
            ok = isfinite(x[i]) && x[i] > 0;
            differ |= i && x[i] != x[0];
        }
        if (ok && differ)
            return keys[k];
    }
    for (size_t i = 0; i < c->nruns; i++)
        x[i] = (double)(i + 1);
    return NULL;
}

static void sweep_section(struct ctx *c)
{
    struct buf *o = c->p->o;
    size_t n = c->nruns;
    buf_puts(o, "<h2 id=\"sweep\">Runs side by side</h2>\n<div class=\"card scroll\"><table "
                "id=\"sweep-table\"><thead><tr><th>Run</th><th>concurrency</th><th>request "
                "rate</th><th>requests</th><th>errors</th><th>requests/s</th><th>output "
                "tokens/s</th><th>output tokens/s/user</th><th>TTFT p50 (ms)</th><th>TTFT p99 "
                "(ms)</th><th>ITL p50 (ms)</th><th>latency p99 (ms)</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const struct run *ru = c->runs[i];
        buf_printf(o, "<tr><th scope=\"row\"><span class=\"sw\" style=\"background:%s\"></span>",
                   svg_color((int)i));
        esc(o, ru->label);
        buf_puts(o, "</th>");
        double vals[] = {cfg_num(ru, "concurrency"),
                         cfg_num(ru, "request_rate"),
                         (double)ru->prof.n_total,
                         (double)ru->prof.n_invalid,
                         stat_or_nan(ru, M_REQ_TPUT, VS_AVG),
                         stat_or_nan(ru, M_OTT, VS_AVG),
                         stat_or_nan(ru, M_OTT_USER, VS_AVG),
                         stat_or_nan(ru, M_TTFT, VS_P1 + 4),
                         stat_or_nan(ru, M_TTFT, VS_P1 + 8),
                         stat_or_nan(ru, M_ITL, VS_P1 + 4),
                         stat_or_nan(ru, M_LATENCY, VS_P1 + 8)};
        for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
            char s[64];
            fmt_num(vals[k], s, sizeof s);
            buf_printf(o, "<td>%s</td>", k < 2 && isnan(vals[k]) ? "" : s);
        }
        buf_puts(o, "</tr>\n");
    }
    buf_puts(o, "</tbody></table></div>\n");

    double *x = xmalloc(n * sizeof *x), *ya = xmalloc(n * sizeof *ya),
           *yb = xmalloc(n * sizeof *yb), *sx = xmalloc(n * sizeof *sx);
    struct svg_series *s = xcalloc(n + 1, sizeof *s);
    char(*tips)[200] = xcalloc(n, sizeof *tips);
    const char **tip = xcalloc(n, sizeof *tip);
    /* Pareto charts: each run a point in its colour, the curve joining them in the order
     * of the x value. */
    static const struct {
        const char *title, *xl, *yl;
        int mx;
        enum verdict_stat sx;
        int my;
        enum verdict_stat sy;
    } par[] = {
        {"Pareto: output tokens/s per user vs total output tokens/s",
         "output tokens/s per user (avg)", "output tokens/s", M_OTT_USER, VS_AVG, M_OTT, VS_AVG},
        {"Pareto: TTFT p99 vs request throughput", "requests/s", "TTFT p99 (ms)", M_REQ_TPUT,
         VS_AVG, M_TTFT, VS_P1 + 8},
        {"Pareto: request latency p99 vs request throughput", "requests/s",
         "request latency p99 (ms)", M_REQ_TPUT, VS_AVG, M_LATENCY, VS_P1 + 8},
    };
    buf_puts(o, "<h2 id=\"pareto\">Pareto</h2>\n<div class=\"grid\">\n");
    for (size_t k = 0; k < sizeof par / sizeof par[0]; k++) {
        size_t *ord = xmalloc(n * sizeof *ord);
        for (size_t i = 0; i < n; i++) {
            ord[i] = i;
            x[i] = stat_or_nan(c->runs[i], par[k].mx, par[k].sx);
            ya[i] = stat_or_nan(c->runs[i], par[k].my, par[k].sy);
        }
        for (size_t i = 1; i < n; i++) /* insertion sort by x; n is small */
            for (size_t j = i; j > 0 && x[ord[j]] < x[ord[j - 1]]; j--) {
                size_t t = ord[j];
                ord[j] = ord[j - 1];
                ord[j - 1] = t;
            }
        for (size_t i = 0; i < n; i++) {
            sx[i] = x[ord[i]];
            yb[i] = ya[ord[i]];
        }
        size_t ns = 0;
        s[ns++] = (struct svg_series){
            .kind = SVG_LINE, .color = 9, .dash = SVG_DOTTED, .x = sx, .y = yb, .n = n};
        for (size_t i = 0; i < n; i++) {
            char a[64], b[64];
            fmt_num(x[i], a, sizeof a);
            fmt_num(ya[i], b, sizeof b);
            snprintf(tips[i], sizeof tips[i], "%s: %s = %s, %s = %s", c->runs[i]->label, par[k].xl,
                     a, par[k].yl, b);
            tip[i] = tips[i];
            s[ns++] = (struct svg_series){.name = c->runs[i]->label,
                                          .kind = SVG_SCATTER,
                                          .color = (int)i,
                                          .x = &x[i],
                                          .y = &ya[i],
                                          .n = 1,
                                          .point = &tip[i]};
        }
        chart(
            c->p,
            &(struct svg_chart){
                .title = par[k].title, .xlabel = par[k].xl, .ylabel = par[k].yl, .s = s, .ns = ns});
        free(ord);
    }
    buf_puts(o, "</div>\n");

    /* Trend charts: each metric against the swept variable (or the run number). */
    const char *var = swept(c, x);
    double lo = INFINITY, hi = 0;
    for (size_t i = 0; i < n; i++) {
        lo = fmin(lo, x[i]);
        hi = fmax(hi, x[i]);
    }
    const char *xl = var ? var : "run (in the order given)";
    bool xlog = var && lo > 0 && hi / lo >= 8;
    buf_printf(o,
               "<h2 id=\"trends\">Trends</h2>\n<p class=\"meta\">Each metric against %s; "
               "p50 solid, p99 dashed.</p>\n<div class=\"grid\">\n",
               var ? var : "the run number");
    static const struct {
        const char *title, *yl;
        int m;
        bool pct;
    } tr[] = {
        {"Request throughput", "requests/s", M_REQ_TPUT, false},
        {"Output token throughput", "tokens/s", M_OTT, false},
        {"Output tokens/s per user", "tokens/s/user", M_OTT_USER, true},
        {"Time to first token", "ms", M_TTFT, true},
        {"Inter-token latency", "ms", M_ITL, true},
        {"Request latency", "ms", M_LATENCY, true},
        {"Error rate", "%", M_ERROR_RATE, false},
    };
    for (size_t k = 0; k < sizeof tr / sizeof tr[0]; k++) {
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            ya[i] = stat_or_nan(c->runs[i], tr[k].m, tr[k].pct ? VS_P1 + 4 : VS_AVG);
            yb[i] = tr[k].pct ? stat_or_nan(c->runs[i], tr[k].m, VS_P1 + 8) : NAN;
            if (tr[k].m == M_ERROR_RATE)
                ya[i] *= 100;
            any |= !isnan(ya[i]);
        }
        if (!any)
            continue;
        size_t ns = 0;
        s[ns++] = (struct svg_series){.name = tr[k].pct ? "p50" : NULL,
                                      .kind = SVG_SCATTER,
                                      .join = true,
                                      .color = 0,
                                      .x = x,
                                      .y = ya,
                                      .n = n};
        if (tr[k].pct)
            s[ns++] = (struct svg_series){.name = "p99",
                                          .kind = SVG_SCATTER,
                                          .join = true,
                                          .color = 0,
                                          .dash = SVG_DASHED,
                                          .x = x,
                                          .y = yb,
                                          .n = n};
        chart(c->p, &(struct svg_chart){.title = tr[k].title,
                                        .xlabel = xl,
                                        .ylabel = tr[k].yl,
                                        .xlog = xlog,
                                        .y_zero = true,
                                        .s = s,
                                        .ns = ns});
    }
    buf_puts(o, "</div>\n");
    free(x);
    free(ya);
    free(yb);
    free(sx);
    free(s);
    free(tips);
    free(tip);
}

static bool sel_phase_h(const struct rrec *r, const void *ctx)
{
    return r->phase == *(const uint8_t *)ctx;
}

static void brief_row(struct buf *o, const char *name, const struct rsummary *s)
{
    buf_puts(o, "<tr><th scope=\"row\">");
    esc(o, name);
    buf_printf(o, "</th><td>%llu</td><td>%llu</td>", (unsigned long long)s->n_total,
               (unsigned long long)s->n_invalid);
    static const struct {
        int m;
        enum verdict_stat st;
    } q[] = {{M_TTFT, VS_P1 + 4},    {M_TTFT, VS_P1 + 8},     {M_LATENCY, VS_P1 + 4},
             {M_LATENCY, VS_P1 + 8}, {M_LATENESS, VS_P1 + 4}, {M_LATENESS, VS_P1 + 8},
             {M_LATENESS, VS_MAX}};
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        double v;
        char t[64] = "N/A";
        if (report_stat(s, q[i].m, q[i].st, &v))
            fmt_num(v, t, sizeof t);
        buf_printf(o, "<td>%s</td>", t);
    }
    buf_puts(o, "</tr>\n");
}

static void breakdown_section(struct ctx *c)
{
    struct buf *o = c->p->o;
    for (size_t i = 0; i < c->nruns; i++) {
        const struct run *ru = c->runs[i];
        buf_puts(o, "<div class=\"card scroll\">");
        if (c->nruns > 1) {
            buf_puts(o, "<h3>");
            esc(o, ru->label);
            buf_puts(o, "</h3>");
        }
        buf_puts(o, "<table><thead><tr><th></th><th>requests</th><th>errors</th><th>TTFT "
                    "p50</th><th>TTFT p99</th><th>latency p50</th><th>latency p99</th>"
                    "<th>lateness p50</th><th>lateness p99</th><th>lateness max</th></tr></thead>"
                    "<tbody>\n");
        for (uint8_t ph = 0; ph < 2; ph++) {
            struct rsummary s;
            report_summarize(ru, sel_phase_h, &ph, NULL, NULL, &s);
            if (s.n_total)
                brief_row(o, ph == REC_WARMUP ? "phase warmup" : "phase profile", &s);
        }
        for (int32_t k = 0; ru->nworkers > 1 && k < ru->nworkers && k < 1024; k++) {
            struct rsummary s;
            report_summarize(ru, report_sel_worker, &k, NULL, NULL, &s);
            char name[32];
            snprintf(name, sizeof name, "worker %d", k);
            if (s.n_total)
                brief_row(o, name, &s);
        }
        buf_puts(o, "</tbody></table></div>\n");
    }
}

static void errors_section(struct ctx *c)
{
    struct buf *o = c->p->o;
    for (size_t i = 0; i < c->nruns; i++) {
        const struct run *ru = c->runs[i];
        buf_puts(o, "<div class=\"card scroll\">");
        if (c->nruns > 1) {
            buf_puts(o, "<h3>");
            esc(o, ru->label);
            buf_puts(o, "</h3>");
        }
        size_t listed = 0, kinds = 0;
        for (size_t k = 0; k < ru->nerr; k++)
            kinds += ru->err[k].count > 0;
        if (!kinds) {
            buf_puts(o, "<div class=\"empty\">no errors</div></div>\n");
            continue;
        }
        buf_puts(o, "<table><thead><tr><th>Code</th><th class=\"l\">Type</th><th "
                    "class=\"l\">Message</th><th>Count</th></tr></thead><tbody>\n");
        for (size_t k = 0; k < ru->nerr && listed < 200; k++) {
            const struct err_group *g = &ru->err[k];
            if (!g->count)
                continue;
            listed++;
            char msg[1024], type[256];
            strv_unescape((struct strv){g->msg, strlen(g->msg)}, msg, sizeof msg);
            strv_unescape((struct strv){g->type, strlen(g->type)}, type, sizeof type);
            const char *at = report_aiperf_error_type(type, strlen(type), g->code);
            buf_puts(o, "<tr><td>");
            if (g->code == REC_ABSENT)
                buf_puts(o, "N/A");
            else
                buf_printf(o, "%lld", (long long)g->code);
            buf_puts(o, "</td><td class=\"l\">");
            esc(o, at ? at : type[0] ? type : "N/A");
            buf_puts(o, "</td><td class=\"l\">");
            esc(o, msg);
            char n[32];
            fmt_num((double)g->count, n, sizeof n);
            buf_printf(o, "</td><td>%s</td></tr>\n", n);
        }
        buf_puts(o, "</tbody></table>");
        if (kinds > listed)
            buf_printf(o,
                       "<div class=\"meta\">%zu more kinds of error: see "
                       "profile_export_aiperf.json</div>",
                       kinds - listed);
        buf_puts(o, "</div>\n");
    }
}

static void config_section(struct ctx *c)
{
    struct buf *o = c->p->o;
    for (size_t i = 0; i < c->nruns; i++) {
        const struct run *ru = c->runs[i];
        if (c->nruns > 1) {
            buf_puts(o, "<h3>");
            esc(o, ru->label);
            buf_puts(o, "</h3>");
        }
        cJSON *cfg =
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ru->shard[0].json, "config"), 1);
        if (!cfg)
            cfg = cJSON_CreateObject();
        report_redact(cfg);
        char *cs = cJSON_Print(cfg);
        buf_puts(o, "<pre>");
        esc(o, cs ? cs : "{}");
        buf_puts(o, "</pre>\n");
        free(cs);
        cJSON_Delete(cfg);
    }
}

static void head_section(struct ctx *c, bool rules)
{
    struct buf *o = c->p->o;
    buf_puts(o, "<header><h1>metronome report — ");
    for (size_t i = 0; i < c->nruns && i < 8; i++) {
        if (i)
            buf_puts(o, " vs ");
        esc(o, c->runs[i]->label);
    }
    if (c->nruns > 8)
        buf_printf(o, " and %zu more", c->nruns - 8);
    buf_puts(o, "</h1><div class=\"meta\">\n");
    for (size_t i = 0; i < c->nruns; i++) {
        const struct run *ru = c->runs[i];
        buf_puts(o, "<div>");
        if (c->nruns > 1)
            buf_printf(o, "<span class=\"sw\" style=\"background:%s\"></span>", svg_color((int)i));
        buf_printf(o, "<span class=\"badge %s\">%s</span>", ru->complete ? "ok" : "warn",
                   ru->complete ? "complete" : "incomplete");
        if (ru->cancelled)
            buf_puts(o, "<span class=\"badge warn\">cancelled</span>");
        /* A verdict exists only when there were rules to judge by (or every request
         * failed, which fails a run by itself). */
        if (rules || ru->all_failed)
            buf_printf(o, "<span class=\"badge %s\">verdict: %s</span>",
                       ru->verdict_lines.len ? "bad" : "ok",
                       ru->verdict_lines.len ? "failed" : "passed");
        char t[64];
        report_iso_time(ru->shard[0].started_real ? ru->shard[0].started_real : ru->base_real, t,
                        sizeof t);
        esc(o, ru->label);
        buf_puts(o, " · ");
        esc(o, ru->endpoint ? ru->endpoint : "");
        buf_printf(o, "%s · started %s · %llu requests, %llu succeeded",
                   ru->streaming ? " (streaming)" : "", t, (unsigned long long)ru->prof.n_total,
                   (unsigned long long)ru->prof.n_valid);
        if (ru->nshards > 1)
            buf_printf(o, " · %zu shards merged", ru->nshards);
        buf_puts(o, "</div>\n");
    }
    buf_puts(o, "<div>Generated by metronome " METRONOME_VERSION ". Units: ms unless stated.");
    if (!rules)
        buf_puts(o, " No --fail-on rules were given: no verdict.");
    buf_puts(o, "</div></div></header>\n<main>\n");
    struct buf diff;
    buf_init(&diff, 1 << 20);
    if (report_run_differences(c->runs, c->nruns, &diff)) {
        buf_puts(o, "<div class=\"warnbox\" id=\"differ\"><b>These runs are not like for "
                    "like:</b><ul>");
        for (const char *p = diff.p; p && *p;) {
            const char *e = strchr(p, '\n');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            char line[1200];
            snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
            buf_puts(o, "<li>");
            esc(o, line);
            buf_puts(o, "</li>");
            p += n + (e ? 1 : 0);
        }
        buf_puts(o, "</ul></div>\n");
    }
    buf_free(&diff);
    for (size_t i = 0; i < c->nruns; i++) {
        const struct run *ru = c->runs[i];
        if (!ru->verdict_lines.len)
            continue;
        buf_puts(o, "<ul class=\"verdict bad\">");
        for (const char *p = ru->verdict_lines.p; p && *p;) {
            const char *e = strchr(p, '\n');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            char line[1200];
            snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
            buf_puts(o, "<li>");
            esc(o, line);
            buf_puts(o, "</li>");
            p += n + (e ? 1 : 0);
        }
        buf_puts(o, "</ul>\n");
    }
}

static void body(struct ctx *c)
{
    struct buf *o = c->p->o;
    bool rules = c->o->verdict && c->o->verdict->nrule > 0;
    head_section(c, rules);
    buf_puts(o, "<h2>Summary</h2>\n");
    if (c->nruns == 1)
        summary_single(c);
    else
        summary_compare(c);
    if (c->nruns > 1)
        sweep_section(c);
    size_t nr = c->nruns < MAX_OVERLAY ? c->nruns : MAX_OVERLAY;
    struct dist *d = xcalloc(nr, sizeof *d);
    buf_puts(o, "<h2>Distributions</h2>\n<div class=\"grid\">\n");
    static const struct {
        int m;
        const char *name;
    } dm[] = {{M_TTFT, "TTFT"}, {M_LATENCY, "Request latency"}, {M_ITL, "Inter-token latency"}};
    int before = c->p->nchart;
    for (size_t k = 0; k < sizeof dm / sizeof dm[0]; k++) {
        for (size_t i = 0; i < nr; i++)
            dist_compute(c->runs[i], dm[k].m, &d[i]);
        dist_section(c, dm[k].m, dm[k].name, d, true);
    }
    if (c->p->nchart == before)
        buf_puts(o, "<div class=\"empty\">no successful requests</div>\n");
    buf_puts(o, "</div>\n<h2>Over time</h2>\n");
    series_section(c);
    tel_section(c);
    buf_puts(o, "<h2>Schedule lateness</h2>\n<p class=\"meta\">Lateness is when a request "
                "actually started minus when the schedule wanted it sent. Latency and TTFT "
                "\"from intended\" add it back, so queueing in the load generator cannot hide "
                "slow responses (coordinated omission).</p>\n<div class=\"grid\">\n");
    before = c->p->nchart;
    for (size_t i = 0; i < nr; i++)
        dist_compute(c->runs[i], M_LATENESS, &d[i]);
    dist_section(c, M_LATENESS, "Schedule lateness", d, true);
    /* intended vs actual: each run's colour, from-intended solid, from-send dashed */
    static const int pair[2][2] = {{M_TTFT_INTENDED, M_TTFT}, {M_LAT_INTENDED, M_LATENCY}};
    static double q[CDF_POINTS];
    for (int k = 0; k < CDF_POINTS; k++)
        q[k] = (double)k;
    struct dist *d2 = xcalloc(nr, sizeof *d2);
    for (int k = 0; k < 2; k++) {
        struct svg_series s[MAX_OVERLAY * 2];
        char names[MAX_OVERLAY * 2][160];
        size_t ns = 0;
        for (size_t i = 0; i < nr; i++) {
            dist_compute(c->runs[i], pair[k][0], &d[i]);
            dist_compute(c->runs[i], pair[k][1], &d2[i]);
            if (!d[i].has)
                continue;
            snprintf(names[ns], sizeof names[ns], "%s%sfrom intended",
                     c->nruns > 1 ? c->runs[i]->label : "", c->nruns > 1 ? " " : "");
            s[ns] = (struct svg_series){.name = names[ns],
                                        .kind = SVG_LINE,
                                        .color = (int)i,
                                        .x = d[i].cdf,
                                        .y = q,
                                        .n = CDF_POINTS};
            ns++;
            if (d2[i].has) {
                snprintf(names[ns], sizeof names[ns], "%s%sfrom actual send",
                         c->nruns > 1 ? c->runs[i]->label : "", c->nruns > 1 ? " " : "");
                s[ns] = (struct svg_series){.name = names[ns],
                                            .kind = SVG_LINE,
                                            .color = (int)i,
                                            .dash = SVG_DASHED,
                                            .x = d2[i].cdf,
                                            .y = q,
                                            .n = CDF_POINTS};
                ns++;
            }
        }
        if (ns)
            chart(c->p,
                  &(struct svg_chart){.title = k ? "Latency: from intended vs actual send (CDF)"
                                                 : "TTFT: from intended vs actual send (CDF)",
                                      .xlabel = "ms",
                                      .ylabel = "percentile",
                                      .y_zero = true,
                                      .s = s,
                                      .ns = ns});
    }
    if (c->p->nchart == before)
        buf_puts(o, "<div class=\"empty\">no schedule data</div>\n");
    free(d);
    free(d2);
    buf_puts(o, "</div>\n<h2>Phases and workers</h2>\n");
    breakdown_section(c);
    buf_puts(o, "<h2>Errors</h2>\n");
    errors_section(c);
    buf_puts(o, "<h2>Run configuration</h2>\n");
    config_section(c);
    buf_puts(o, "</main>\n");
}

int report_write_html(struct run *const *runs, size_t nruns, const struct report_opts *o,
                      const char *dir, struct report_result *res, struct diag *d)
{
    char *tpl = NULL;
    size_t tlen = 0;
    int rc = embedded_load("report_html", &tpl, &tlen, d);
    if (rc)
        return rc;
    const char *mark = strstr(tpl, "{{BODY}}");
    if (!mark) {
        free(tpl);
        return diag_set(d, ERR_INVALID, "report template has no {{BODY}} marker");
    }
    if (o->plots_dir && (rc = zio_mkdir_p(o->plots_dir, d))) {
        free(tpl);
        return rc;
    }
    struct buf out;
    buf_init(&out, 1u << 30);
    buf_append(&out, tpl, (size_t)(mark - tpl));
    struct page p = {.o = &out, .plots_dir = o->plots_dir, .res = res, .d = d};
    struct ctx c = {.p = &p, .runs = runs, .nruns = nruns, .o = o};
    body(&c);
    const char *rest = mark + strlen("{{BODY}}");
    buf_append(&out, rest, tlen - (size_t)(rest - tpl));
    rc = p.rc;
    if (!rc && (o->exports & REPORT_HTML)) {
        char path[4096];
        snprintf(path, sizeof path, "%s/report.html", dir);
        rc = afile_write_all(path, out.p, out.len, d);
        if (!rc) {
            buf_puts(&res->written, path);
            buf_putc(&res->written, '\n');
        }
    }
    free(tpl);
    buf_free(&out);
    return rc;
}

/* ------------------------------------------------------------------ sweep page */

/* Mean and CI of a metric key of a sweep_summary point; NaN when absent. */
static void sweep_metric(const cJSON *pt, const char *key, double *mean, double *lo, double *hi)
{
    const cJSON *m =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pt, "metrics"), key);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "mean"),
                *l = cJSON_GetObjectItemCaseSensitive(m, "ci_low"),
                *h = cJSON_GetObjectItemCaseSensitive(m, "ci_high");
    *mean = cJSON_IsNumber(a) ? a->valuedouble : NAN;
    *lo = cJSON_IsNumber(l) ? l->valuedouble : *mean;
    *hi = cJSON_IsNumber(h) ? h->valuedouble : *mean;
}

static const char *jstr(const cJSON *o, const char *k, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static void sweep_body(struct page *p, const cJSON *sum)
{
    struct buf *o = p->o;
    const cJSON *pts = cJSON_GetObjectItemCaseSensitive(sum, "points");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(sum, "parameters");
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(sum, "confidence_level");
    double conf = cJSON_IsNumber(cl) ? cl->valuedouble : 0.95;
    size_t n = (size_t)cJSON_GetArraySize(pts);
    bool repeats = false;
    for (size_t i = 0; i < n; i++) {
        const cJSON *r =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pts, (int)i), "runs_ok");
        repeats |= cJSON_IsNumber(r) && r->valuedouble > 1;
    }
    buf_puts(o, "<header><h1>metronome sweep — ");
    const cJSON *pa;
    bool first = true;
    cJSON_ArrayForEach(pa, params)
    {
        if (!first)
            buf_puts(o, " × ");
        esc(o, jstr(pa, "name", "?"));
        first = false;
    }
    if (first)
        buf_puts(o, "repeated runs");
    buf_printf(o, "</h1><div class=\"meta\">%zu point(s); %s", n,
               repeats ? "" : "one run per point (no confidence interval). ");
    if (repeats)
        buf_printf(o,
                   "bands and ± are the %g %% confidence interval of the mean over each "
                   "point's runs (Student t). ",
                   conf * 100);
    buf_puts(o, "Generated by metronome " METRONOME_VERSION ". Each point's own report.html "
                "is in its run directory.</div></header>\n<main>\n");
    /* points that did not give numbers: named, never dropped */
    bool gaps = false;
    for (size_t i = 0; i < n; i++) {
        const cJSON *pt = cJSON_GetArrayItem(pts, (int)i);
        const char *st = jstr(pt, "status", "?");
        if (!strcmp(st, "ok"))
            continue;
        if (!gaps)
            buf_puts(o, "<div class=\"warnbox\" id=\"gaps\"><b>Points without a full set of "
                        "runs:</b><ul>");
        gaps = true;
        buf_puts(o, "<li>");
        esc(o, jstr(pt, "label", "?"));
        buf_puts(o, ": ");
        esc(o, st);
        const char *note = jstr(pt, "note", NULL);
        if (note) {
            buf_puts(o, " (");
            esc(o, note);
            buf_puts(o, ")");
        }
        buf_puts(o, "</li>");
    }
    if (gaps)
        buf_puts(o, "</ul></div>\n");
    static const struct {
        const char *head, *key;
    } cols[] = {{"requests/s", "request_throughput_avg"},
                {"output tokens/s", "output_token_throughput_avg"},
                {"output tokens/s/user", "output_token_throughput_per_user_avg"},
                {"TTFT p50 (ms)", "time_to_first_token_p50"},
                {"TTFT p99 (ms)", "time_to_first_token_p99"},
                {"ITL p50 (ms)", "inter_token_latency_p50"},
                {"latency p99 (ms)", "request_latency_p99"},
                {"error rate (%)", "request_error_rate_avg"}};
    size_t nc = sizeof cols / sizeof cols[0];
    buf_puts(o, "<h2>Sweep</h2>\n<div class=\"card scroll\"><table id=\"sweep-table\"><thead>"
                "<tr><th>Point</th><th>status</th><th>runs</th>");
    for (size_t k = 0; k < nc; k++)
        buf_printf(o, "<th>%s</th>", cols[k].head);
    buf_puts(o, "</tr></thead><tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const cJSON *pt = cJSON_GetArrayItem(pts, (int)i);
        const char *st = jstr(pt, "status", "?");
        const cJSON *ro = cJSON_GetObjectItemCaseSensitive(pt, "runs_ok"),
                    *ru = cJSON_GetObjectItemCaseSensitive(pt, "runs");
        buf_printf(o, "<tr><th scope=\"row\"><span class=\"sw\" style=\"background:%s\"></span>",
                   svg_color((int)i));
        esc(o, jstr(pt, "label", "?"));
        buf_printf(o, "</th><td class=\"%s\">", strcmp(st, "ok") ? "up" : "same");
        esc(o, st);
        buf_printf(o, "</td><td>%d/%d</td>", cJSON_IsNumber(ro) ? (int)ro->valuedouble : 0,
                   cJSON_IsNumber(ru) ? (int)ru->valuedouble : 0);
        for (size_t k = 0; k < nc; k++) {
            double m, lo, hi;
            sweep_metric(pt, cols[k].key, &m, &lo, &hi);
            char a[64], b[64];
            fmt_num(m, a, sizeof a);
            if (isnan(m))
                snprintf(a, sizeof a, "—");
            buf_printf(o, "<td>%s", a);
            if (repeats && !isnan(m) && hi > lo) {
                fmt_num((hi - lo) / 2, b, sizeof b);
                buf_printf(o, " <span class=\"same\">± %s</span>", b);
            }
            buf_puts(o, "</td>");
        }
        buf_puts(o, "</tr>\n");
    }
    buf_puts(o, "</tbody></table></div>\n");

    double *x = xmalloc((n ? n : 1) * sizeof *x), *y = xmalloc((n ? n : 1) * sizeof *y),
           *ylo = xmalloc((n ? n : 1) * sizeof *ylo), *yhi = xmalloc((n ? n : 1) * sizeof *yhi),
           *y2 = xmalloc((n ? n : 1) * sizeof *y2), *y2lo = xmalloc((n ? n : 1) * sizeof *y2lo),
           *y2hi = xmalloc((n ? n : 1) * sizeof *y2hi);
    struct svg_series *s = xcalloc(n + 4, sizeof *s);
    char(*tips)[240] = xcalloc(n ? n : 1, sizeof *tips);
    const char **tip = xcalloc(n ? n : 1, sizeof *tip);
    static const struct {
        const char *title, *xl, *yl, *kx, *ky;
    } par[] = {
        {"Pareto: output tokens/s per user vs total output tokens/s",
         "output tokens/s per user (avg)", "output tokens/s",
         "output_token_throughput_per_user_avg", "output_token_throughput_avg"},
        {"Pareto: TTFT p99 vs request throughput", "requests/s", "TTFT p99 (ms)",
         "request_throughput_avg", "time_to_first_token_p99"},
        {"Pareto: request latency p99 vs request throughput", "requests/s",
         "request latency p99 (ms)", "request_throughput_avg", "request_latency_p99"},
    };
    buf_puts(o, "<h2 id=\"pareto\">Pareto</h2>\n<div class=\"grid\">\n");
    for (size_t k = 0; k < sizeof par / sizeof par[0]; k++) {
        size_t ns = 0;
        double lo, hi;
        for (size_t i = 0; i < n; i++) {
            const cJSON *pt = cJSON_GetArrayItem(pts, (int)i);
            sweep_metric(pt, par[k].kx, &x[i], &lo, &hi);
            sweep_metric(pt, par[k].ky, &y[i], &ylo[i], &yhi[i]);
        }
        /* the curve through the points in x order */
        size_t *ord = xmalloc((n ? n : 1) * sizeof *ord);
        for (size_t i = 0; i < n; i++)
            ord[i] = i;
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && x[ord[j]] < x[ord[j - 1]]; j--) {
                size_t t = ord[j];
                ord[j] = ord[j - 1];
                ord[j - 1] = t;
            }
        for (size_t i = 0; i < n; i++) {
            y2[i] = x[ord[i]];
            y2lo[i] = y[ord[i]];
        }
        s[ns++] = (struct svg_series){
            .kind = SVG_LINE, .color = 9, .dash = SVG_DOTTED, .x = y2, .y = y2lo, .n = n};
        for (size_t i = 0; i < n; i++) {
            const cJSON *pt = cJSON_GetArrayItem(pts, (int)i);
            char a[64], b[64];
            fmt_num(x[i], a, sizeof a);
            fmt_num(y[i], b, sizeof b);
            snprintf(tips[i], sizeof tips[i], "%s: %s = %s, %s = %s", jstr(pt, "label", "?"),
                     par[k].xl, a, par[k].yl, b);
            tip[i] = tips[i];
            s[ns++] = (struct svg_series){.name = jstr(pt, "label", "?"),
                                          .kind = SVG_SCATTER,
                                          .color = (int)i,
                                          .x = &x[i],
                                          .y = &y[i],
                                          .n = 1,
                                          .point = &tip[i]};
        }
        chart(
            p,
            &(struct svg_chart){
                .title = par[k].title, .xlabel = par[k].xl, .ylabel = par[k].yl, .s = s, .ns = ns});
        free(ord);
    }
    buf_puts(o, "</div>\n");

    /* trends against the (first) swept parameter when it is numeric, else the point */
    const cJSON *p0 = cJSON_GetArrayItem(params, 0);
    const char *var = cJSON_GetArraySize(params) == 1 ? jstr(p0, "name", NULL) : NULL;
    double xmin = INFINITY, xmax = 0;
    for (size_t i = 0; i < n; i++) {
        const cJSON *pv = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pts, (int)i), "parameters"),
            var ? var : "");
        x[i] = var && cJSON_IsNumber(pv) ? pv->valuedouble : NAN;
        if (isnan(x[i]))
            var = NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!var)
            x[i] = (double)(i + 1);
        xmin = fmin(xmin, x[i]);
        xmax = fmax(xmax, x[i]);
    }
    const char *xl = var ? var : "point (in run order)";
    bool xlog = var && xmin > 0 && xmax / xmin >= 8;
    buf_printf(o,
               "<h2 id=\"trends\">Trends</h2>\n<p class=\"meta\">Each metric against %s; "
               "p50 (or the mean of a rate) solid, p99 dashed%s.</p>\n<div class=\"grid\">\n",
               var ? var : "the point", repeats ? ", shaded: the confidence interval" : "");
    static const struct {
        const char *title, *yl, *k1, *k2;
    } tr[] = {
        {"Request throughput", "requests/s", "request_throughput_avg", NULL},
        {"Output token throughput", "tokens/s", "output_token_throughput_avg", NULL},
        {"Output tokens/s per user", "tokens/s/user", "output_token_throughput_per_user_p50", NULL},
        {"Time to first token", "ms", "time_to_first_token_p50", "time_to_first_token_p99"},
        {"Inter-token latency", "ms", "inter_token_latency_p50", "inter_token_latency_p99"},
        {"Request latency", "ms", "request_latency_p50", "request_latency_p99"},
        {"Error rate", "%", "request_error_rate_avg", NULL},
    };
    for (size_t k = 0; k < sizeof tr / sizeof tr[0]; k++) {
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            const cJSON *pt = cJSON_GetArrayItem(pts, (int)i);
            sweep_metric(pt, tr[k].k1, &y[i], &ylo[i], &yhi[i]);
            if (tr[k].k2)
                sweep_metric(pt, tr[k].k2, &y2[i], &y2lo[i], &y2hi[i]);
            any |= !isnan(y[i]);
        }
        if (!any)
            continue;
        size_t ns = 0;
        if (repeats) {
            s[ns++] = (struct svg_series){.name = tr[k].k2 ? "p50 CI" : "CI",
                                          .kind = SVG_BAND,
                                          .color = 0,
                                          .x = x,
                                          .y = ylo,
                                          .y2 = yhi,
                                          .n = n};
            if (tr[k].k2)
                s[ns++] = (struct svg_series){.name = "p99 CI",
                                              .kind = SVG_BAND,
                                              .color = 1,
                                              .x = x,
                                              .y = y2lo,
                                              .y2 = y2hi,
                                              .n = n};
        }
        s[ns++] = (struct svg_series){.name = tr[k].k2 ? "p50" : NULL,
                                      .kind = SVG_SCATTER,
                                      .join = true,
                                      .color = 0,
                                      .x = x,
                                      .y = y,
                                      .n = n};
        if (tr[k].k2)
            s[ns++] = (struct svg_series){.name = "p99",
                                          .kind = SVG_SCATTER,
                                          .join = true,
                                          .color = 1,
                                          .dash = SVG_DASHED,
                                          .x = x,
                                          .y = y2,
                                          .n = n};
        chart(p, &(struct svg_chart){.title = tr[k].title,
                                     .xlabel = xl,
                                     .ylabel = tr[k].yl,
                                     .xlog = xlog,
                                     .y_zero = true,
                                     .s = s,
                                     .ns = ns});
    }
    buf_puts(o, "</div>\n</main>\n");
    free(x);
    free(y);
    free(ylo);
    free(yhi);
    free(y2);
    free(y2lo);
    free(y2hi);
    free(s);
    free(tips);
    free(tip);
}

int report_sweep_html(const char *dir, const char *plots_dir, struct buf *written, struct diag *d)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/sweep_summary.json", dir);
    char *text = NULL;
    size_t len = 0;
    int rc = zio_read_all(path, 1u << 28, &text, &len, d);
    if (rc)
        return rc;
    cJSON *sum = cJSON_ParseWithLength(text, len);
    free(text);
    if (!sum || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(sum, "points"))) {
        cJSON_Delete(sum);
        return diag_set(d, ERR_INVALID, "%s: not a sweep summary (no points)", path);
    }
    char *tpl = NULL;
    size_t tlen = 0;
    rc = embedded_load("report_html", &tpl, &tlen, d);
    const char *mark = rc ? NULL : strstr(tpl, "{{BODY}}");
    if (!rc && !mark)
        rc = diag_set(d, ERR_INVALID, "report template has no {{BODY}} marker");
    if (!rc && plots_dir)
        rc = zio_mkdir_p(plots_dir, d);
    if (rc) {
        free(tpl);
        cJSON_Delete(sum);
        return rc;
    }
    struct report_result res;
    memset(&res, 0, sizeof res);
    buf_init(&res.written, 1 << 20);
    struct buf out;
    buf_init(&out, 1u << 30);
    buf_append(&out, tpl, (size_t)(mark - tpl));
    struct page p = {.o = &out, .plots_dir = plots_dir, .res = &res, .d = d};
    sweep_body(&p, sum);
    const char *rest = mark + strlen("{{BODY}}");
    buf_append(&out, rest, tlen - (size_t)(rest - tpl));
    rc = p.rc;
    snprintf(path, sizeof path, "%s/sweep_report.html", dir);
    if (!rc)
        rc = afile_write_all(path, out.p, out.len, d);
    if (!rc) {
        buf_append(&res.written, path, strlen(path));
        buf_putc(&res.written, '\n');
        if (written)
            buf_append(written, res.written.p, res.written.len);
    }
    buf_free(&res.written);
    buf_free(&out);
    free(tpl);
    cJSON_Delete(sum);
    return rc;
}
