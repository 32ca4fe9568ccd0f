/*
 * The AIPerf-compatible files: profile_export_aiperf.json (schema 1.5 field names, display
 * units), profile_export_aiperf.csv, profile_export.jsonl (written while reading) and the
 * time-slice files. All are written to a temporary file and renamed into place.
 */
#include "endpoint.h"
#include "report_int.h"

#include "build_info.h"
#include "jsonw.h"
#include "numfmt.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ helpers */

void report_label(int m, bool flat, char *out, size_t cap)
{
    const struct metric_def *md = &metric_defs[m];
    size_t hl = strlen(md->header);
    bool nl = hl && md->header[hl - 1] == '\n';
    if (nl && flat)
        hl--;
    snprintf(out, cap, "%.*s%s(%s)", (int)hl, md->header, nl && !flat ? " " : " ", md->unit);
    if (nl && !flat) /* AIPerf's header ends in "\n", so the unit goes to a line " (...)" */
        snprintf(out, cap, "%.*s\n (%s)", (int)hl - 1, md->header, md->unit);
}

void report_fmt2(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v < 0 ? "-inf" : "inf");
        return;
    }
    char tmp[512];
    int n = snprintf(tmp, sizeof tmp, "%.2f", v);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        snprintf(out, cap, "%.2e", v);
        return;
    }
    const char *p = tmp;
    size_t o = 0;
    if (*p == '-' && o + 1 < cap)
        out[o++] = *p++;
    const char *dot = strchr(p, '.');
    size_t intlen = dot ? (size_t)(dot - p) : strlen(p);
    for (size_t i = 0; i < intlen && o + 1 < cap; i++) {
        if (i && (intlen - i) % 3 == 0 && o + 1 < cap)
            out[o++] = ',';
        out[o++] = p[i];
    }
    for (const char *q = p + intlen; *q && o + 1 < cap; q++)
        out[o++] = *q;
    out[o] = '\0';
}

void report_iso_time(int64_t ns, char *out, size_t cap)
{
    time_t s = (time_t)(ns / 1000000000);
    long us = (long)((ns % 1000000000) / 1000);
    struct tm tm;
    localtime_r(&s, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    if (us && n < cap)
        snprintf(out + n, cap - n, ".%06ld", us);
}

static int add_written(struct report_result *res, const char *path)
{
    buf_puts(&res->written, path);
    return buf_putc(&res->written, '\n');
}

/* Writes the whole buffer to dir/name atomically. */
static int write_file(const char *dir, const char *name, const struct buf *b,
                      struct report_result *res, struct diag *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = afile_write_all(path, b->p ? b->p : "", b->len, d);
    if (!rc)
        add_written(res, path);
    return rc;
}

/* ------------------------------------------------------------------ redaction */

static bool secret_key(const char *k)
{
    char low[128];
    size_t n = 0;
    for (; k[n] && n + 1 < sizeof low; n++)
        low[n] = (char)tolower((unsigned char)k[n]);
    low[n] = '\0';
    static const char *const exact[] = {"api_key", "api-key", "apikey", "x-api-key",   "token",
                                        "bearer",  "auth",    "cookie", "access_token"};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (strcmp(low, exact[i]) == 0)
            return true;
    return strstr(low, "authorization") || strstr(low, "secret") || strstr(low, "password") ||
           (n > 4 && (strcmp(low + n - 4, "_key") == 0 || strcmp(low + n - 4, "-key") == 0) &&
            !strstr(low, "hash"));
}

/* URLs: the userinfo and the query values go (url_redact_words). */
static bool redact_urls(cJSON *s)
{
    struct buf b;
    buf_init(&b, 0);
    bool changed = url_redact_words(s->valuestring, &b);
    if (changed)
        cJSON_SetValuestring(s, b.p);
    buf_free(&b);
    return changed;
}

/* URLs, "Name: value" header strings and "--api-key VALUE" in command lines. */
static void redact_string(cJSON *s)
{
    redact_urls(s); /* and on: a command line may hold a key as well */
    char *v = s->valuestring;
    const char *colon = strchr(v, ':');
    if (colon && colon - v < 100) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(colon - v), v);
        if (secret_key(name)) {
            char out[160];
            snprintf(out, sizeof out, "%s: <redacted>", name);
            cJSON_SetValuestring(s, out);
            return;
        }
    }
    static const char *const flags[] = {"--api-key", "--api_key", "Authorization:", "-H"};
    struct buf b;
    buf_init(&b, 1 << 20);
    const char *p = v;
    bool changed = false;
    while (*p) {
        bool hit = false;
        for (size_t i = 0; i < sizeof flags / sizeof flags[0] && !hit; i++) {
            size_t fl = strlen(flags[i]);
            if (strncmp(p, flags[i], fl) == 0 && (p[fl] == ' ' || p[fl] == '=')) {
                const char *q = p + fl + 1;
                bool header = strcmp(flags[i], "-H") == 0;
                if (header) {
                    const char *hq = q + (*q == '"' || *q == '\'');
                    const char *hc = strchr(hq, ':');
                    char name[128];
                    if (!hc || hc - hq >= (long)sizeof name)
                        continue;
                    snprintf(name, sizeof name, "%.*s", (int)(hc - hq), hq);
                    if (!secret_key(name))
                        continue;
                }
                char quote = (*q == '"' || *q == '\'') ? *q : 0;
                const char *e = q + (quote ? 1 : 0);
                while (*e && (quote ? *e != quote : *e != ' '))
                    e++;
                if (quote && *e)
                    e++;
                buf_append(&b, p, fl + 1);
                buf_puts(&b, header ? "\"<redacted header>\"" : "<redacted>");
                p = e;
                hit = changed = true;
            }
        }
        if (!hit)
            buf_putc(&b, *p++);
    }
    if (changed)
        cJSON_SetValuestring(s, b.p);
    buf_free(&b);
}

void report_redact(cJSON *j)
{
    for (cJSON *c = j ? j->child : NULL; c; c = c->next) {
        if (c->string && secret_key(c->string) && !cJSON_IsNull(c) && !cJSON_IsObject(c)) {
            /* Turn the item itself into the string, keeping its key and place. */
            if (c->child) {
                cJSON_Delete(c->child);
                c->child = NULL;
            }
            if (c->valuestring && !(c->type & cJSON_IsReference))
                free(c->valuestring);
            c->type = cJSON_String;
            c->valuestring = xstrdup("<redacted>");
            continue;
        }
        if (cJSON_IsString(c))
            redact_string(c);
        else
            report_redact(c);
    }
}

/* ------------------------------------------------------------------ JSON */

static void metric_block(struct jsonw *w, const struct rsummary *s, int m)
{
    const struct metric_def *md = &metric_defs[m];
    jsonw_key(w, md->tag);
    jsonw_obj_begin(w);
    jsonw_key(w, "unit");
    jsonw_str(w, md->unit);
    if (m >= M_NRECORD) {
        jsonw_key(w, "avg");
        jsonw_double(w, metric_display((enum metric_id)m, s->scalar[m]));
        jsonw_obj_end(w);
        return;
    }
    const struct stats_summary *x = &s->m[m];
    double v;
    jsonw_key(w, "avg");
    jsonw_double(w, metric_display((enum metric_id)m, x->avg));
    jsonw_key(w, "min");
    jsonw_double(w, metric_display((enum metric_id)m, x->min));
    jsonw_key(w, "max");
    jsonw_double(w, metric_display((enum metric_id)m, x->max));
    for (int k = 0; k < STATS_NPCT; k++) {
        jsonw_key(w, stats_pct_name[k]);
        jsonw_double(w, metric_display((enum metric_id)m, x->pct[k]));
    }
    v = metric_display((enum metric_id)m, x->std);
    if (!isnan(v)) {
        jsonw_key(w, "std");
        jsonw_double(w, v);
    }
    jsonw_key(w, "count");
    jsonw_uint(w, x->count);
    jsonw_key(w, "sum");
    jsonw_double(w, metric_display((enum metric_id)m, x->sum));
    jsonw_obj_end(w);
}

static void metric_blocks(struct jsonw *w, const struct rsummary *s)
{
    for (int m = 0; m < M_COUNT; m++) {
        if (m < M_NRECORD ? s->m[m].count > 0 : s->has_scalar[m])
            metric_block(w, s, m);
    }
}

static void error_summary(struct jsonw *w, const struct run *ru)
{
    jsonw_arr_begin(w);
    for (size_t i = 0; i < ru->nerr; i++) {
        const struct err_group *g = &ru->err[i];
        if (!g->count)
            continue;
        jsonw_obj_begin(w);
        jsonw_key(w, "error_details");
        jsonw_obj_begin(w);
        jsonw_key(w, "code");
        if (g->code == REC_ABSENT)
            jsonw_null(w);
        else
            jsonw_int(w, g->code);
        jsonw_key(w, "type");
        jsonw_raw(w, "\"", 1);
        buf_puts(w->b, g->type);
        buf_putc(w->b, '"');
        jsonw_key(w, "message");
        jsonw_raw(w, "\"", 1);
        buf_puts(w->b, g->msg);
        buf_putc(w->b, '"');
        jsonw_obj_end(w);
        jsonw_key(w, "count");
        jsonw_uint(w, g->count);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

static void summary_stats_obj(struct jsonw *w, const struct rsummary *s)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "requests");
    jsonw_uint(w, s->n_total);
    jsonw_key(w, "valid");
    jsonw_uint(w, s->n_valid);
    jsonw_key(w, "errors");
    jsonw_uint(w, s->n_errors);
    static const int show[] = {M_TTFT, M_LATENCY, M_ITL, M_LATENESS, M_LAT_INTENDED};
    for (size_t i = 0; i < sizeof show / sizeof show[0]; i++) {
        const struct stats_summary *x = &s->m[show[i]];
        if (!x->count)
            continue;
        jsonw_key(w, metric_defs[show[i]].tag);
        jsonw_obj_begin(w);
        jsonw_key(w, "unit");
        jsonw_str(w, "ms");
        jsonw_key(w, "avg");
        jsonw_double(w, x->avg * 1e-06);
        jsonw_key(w, "p50");
        jsonw_double(w, x->pct[4] * 1e-06);
        jsonw_key(w, "p99");
        jsonw_double(w, x->pct[8] * 1e-06);
        jsonw_key(w, "max");
        jsonw_double(w, x->max * 1e-06);
        jsonw_obj_end(w);
    }
    jsonw_obj_end(w);
}

/* metronome's own section: provenance of the numbers and the breakdowns. */
static void metronome_section(struct jsonw *w, const struct run *ru, const struct report_opts *o)
{
    jsonw_key(w, "metronome");
    jsonw_obj_begin(w);
    jsonw_key(w, "version");
    jsonw_str(w, METRONOME_VERSION);
    jsonw_key(w, "complete");
    jsonw_bool(w, ru->complete);
    jsonw_key(w, "dropped_bytes");
    jsonw_uint(w, ru->dropped_bytes);
    jsonw_key(w, "shards");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < ru->nshards; i++) {
        const struct run_meta *m = &ru->shard[i];
        jsonw_obj_begin(w);
        jsonw_key(w, "dir");
        jsonw_str(w, m->dir);
        jsonw_key(w, "index");
        jsonw_int(w, m->shard_index);
        jsonw_key(w, "count");
        jsonw_int(w, m->shard_count);
        jsonw_key(w, "complete");
        jsonw_bool(w, m->complete);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_key(w, "output_tokens_source");
    jsonw_str(w, ru->osl_usage && ru->osl_chunks ? "mixed" : ru->osl_usage ? "usage" : "chunks");
    jsonw_key(w, "input_tokens_source");
    jsonw_str(w, ru->isl_usage && ru->isl_trace ? "mixed" : ru->isl_usage ? "usage" : "trace");
    if (ru->reads_kernel >= 0) { /* how response bytes were stamped (docs/replay.md) */
        jsonw_key(w, "receive_timestamps");
        jsonw_obj_begin(w);
        jsonw_key(w, "kernel");
        jsonw_int(w, ru->reads_kernel);
        jsonw_key(w, "read_returned");
        jsonw_int(w, ru->reads_user);
        jsonw_obj_end(w);
    }
    jsonw_key(w, "inter_chunk_latency_percentiles");
    jsonw_str(w, "histogram, relative error <= 0.1%; avg/min/max/sum/count exact");
    if (o->verdict && o->verdict->nslo) {
        jsonw_key(w, "goodput_slos");
        jsonw_obj_begin(w);
        for (size_t i = 0; i < o->verdict->nslo; i++) {
            jsonw_key(w, metric_defs[o->verdict->slo[i].metric].tag);
            jsonw_double(w, o->verdict->slo[i].limit);
        }
        jsonw_obj_end(w);
    }
    jsonw_key(w, "phases");
    jsonw_obj_begin(w);
    jsonw_key(w, "profile");
    summary_stats_obj(w, &ru->prof);
    if (ru->has_warm) {
        jsonw_key(w, "warmup");
        summary_stats_obj(w, &ru->warm);
    }
    jsonw_obj_end(w);
    jsonw_key(w, "workers");
    jsonw_arr_begin(w);
    for (int32_t k = 0; k < ru->nworkers && k < 4096; k++) {
        struct rsummary s;
        report_summarize(ru, report_sel_worker, &k, NULL, NULL, &s);
        if (!s.n_total)
            continue;
        jsonw_obj_begin(w);
        jsonw_key(w, "worker");
        jsonw_int(w, k);
        jsonw_key(w, "summary");
        summary_stats_obj(w, &s);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_key(w, "verdict");
    jsonw_obj_begin(w);
    jsonw_key(w, "passed");
    jsonw_bool(w, ru->violations == 0 && !ru->all_failed);
    jsonw_key(w, "messages");
    jsonw_arr_begin(w);
    const char *p = ru->verdict_lines.p;
    while (p && *p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        jsonw_strn(w, p, n);
        p += n + (e ? 1 : 0);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    jsonw_obj_end(w);
}

/* Two-space indentation of compact JSON (AIPerf writes indent=2). */
static void pretty(const struct buf *in, struct buf *out)
{
    int depth = 0;
    bool str = false;
    const char *p = in->p;
    for (size_t i = 0; i < in->len; i++) {
        char c = p[i];
        if (str) {
            buf_putc(out, c);
            if (c == '\\' && i + 1 < in->len)
                buf_putc(out, p[++i]);
            else if (c == '"')
                str = false;
            continue;
        }
        switch (c) {
        case '"':
            str = true;
            buf_putc(out, c);
            break;
        case '{':
        case '[':
            buf_putc(out, c);
            if (i + 1 < in->len && (p[i + 1] == '}' || p[i + 1] == ']')) {
                buf_putc(out, p[++i]);
                break;
            }
            depth++;
            buf_putc(out, '\n');
            for (int k = 0; k < depth; k++)
                buf_puts(out, "  ");
            break;
        case '}':
        case ']':
            depth--;
            buf_putc(out, '\n');
            for (int k = 0; k < depth; k++)
                buf_puts(out, "  ");
            buf_putc(out, c);
            break;
        case ',':
            buf_putc(out, ',');
            buf_putc(out, '\n');
            for (int k = 0; k < depth; k++)
                buf_puts(out, "  ");
            break;
        case ':':
            buf_puts(out, ": ");
            break;
        default:
            buf_putc(out, c);
        }
    }
}

int report_write_json(const struct run *ru, const struct report_opts *o, const char *dir,
                      struct report_result *res, struct diag *d)
{
    struct buf b;
    buf_init(&b, 1u << 30);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "schema_version");
    jsonw_str(&w, "1.5");
    jsonw_key(&w, "aiperf_version");
    jsonw_str(&w, "metronome " METRONOME_VERSION);
    jsonw_key(&w, "benchmark_id");
    jsonw_str(&w, ru->label);
    char t[64];
    const struct run_meta *m0 = &ru->shard[0];
    int64_t st = m0->started_real ? m0->started_real : ru->base_real;
    int64_t en = m0->ended_real;
    for (size_t i = 1; i < ru->nshards; i++) {
        if (ru->shard[i].started_real && ru->shard[i].started_real < st)
            st = ru->shard[i].started_real;
        if (ru->shard[i].ended_real > en)
            en = ru->shard[i].ended_real;
    }
    jsonw_key(&w, "start_time");
    report_iso_time(st, t, sizeof t);
    jsonw_str(&w, t);
    jsonw_key(&w, "end_time");
    if (en) {
        report_iso_time(en, t, sizeof t);
        jsonw_str(&w, t);
    } else {
        jsonw_null(&w);
    }
    jsonw_key(&w, "was_cancelled");
    jsonw_bool(&w, ru->cancelled);
    cJSON *cfg = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(m0->json, "config"), 1);
    if (!cfg)
        cfg = cJSON_CreateObject();
    report_redact(cfg);
    char *cs = cJSON_PrintUnformatted(cfg);
    jsonw_key(&w, "input_config");
    jsonw_raw(&w, cs, strlen(cs));
    jsonw_key(&w, "run_info");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "benchmark_id");
    jsonw_str(&w, ru->label);
    jsonw_key(&w, "sweep_id");
    jsonw_null(&w);
    jsonw_key(&w, "random_seed");
    if (m0->has_seed) /* range-checked when run.json was read */
        jsonw_int(&w, m0->seed);
    else
        jsonw_null(&w);
    jsonw_key(&w, "trial");
    jsonw_null(&w);
    jsonw_key(&w, "run_label");
    jsonw_str(&w, ru->label);
    jsonw_key(&w, "variation_label");
    jsonw_null(&w);
    jsonw_key(&w, "variation_index");
    jsonw_null(&w);
    jsonw_key(&w, "variation_values");
    jsonw_null(&w);
    jsonw_key(&w, "cli_command");
    const cJSON *cli = cJSON_GetObjectItemCaseSensitive(cfg, "cli_command");
    if (cJSON_IsString(cli))
        jsonw_str(&w, cli->valuestring);
    else
        jsonw_null(&w);
    jsonw_obj_end(&w);
    free(cs);
    cJSON_Delete(cfg);
    jsonw_key(&w, "error_summary");
    error_summary(&w, ru);
    jsonw_key(&w, "runtime_submission_invalid_reasons");
    jsonw_arr_begin(&w);
    if (!ru->complete)
        jsonw_str(&w, "run incomplete: records end before the run finished");
    jsonw_arr_end(&w);
    metric_blocks(&w, &ru->prof);
    if (ru->has_warm) {
        jsonw_key(&w, "warmup_metrics");
        jsonw_obj_begin(&w);
        metric_blocks(&w, &ru->warm);
        jsonw_obj_end(&w);
    }
    metronome_section(&w, ru, o);
    jsonw_obj_end(&w);
    struct buf pb;
    buf_init(&pb, 1u << 30);
    pretty(&b, &pb);
    int rc = w.err ? diag_set(d, w.err, "profile_export_aiperf.json: too large") : 0;
    if (!rc)
        rc = write_file(dir, "profile_export_aiperf.json", &pb, res, d);
    buf_free(&b);
    buf_free(&pb);
    return rc;
}

/* ------------------------------------------------------------------ CSV */

static void csv_cell(struct buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
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

static void csv_num(struct buf *b, double v)
{
    char tmp[64];
    if (isnan(v))
        buf_puts(b, "");
    else {
        snprintf(tmp, sizeof tmp, "%.2f", v);
        buf_puts(b, tmp);
    }
}

static void csv_stats_rows(struct buf *b, const struct rsummary *s, const char *prefix)
{
    char label[160];
    for (int m = 0; m < M_NRECORD; m++) {
        const struct stats_summary *x = &s->m[m];
        if (!x->count)
            continue;
        if (prefix) {
            buf_puts(b, prefix);
            buf_putc(b, ',');
        }
        report_label(m, true, label, sizeof label);
        csv_cell(b, label);
        double vals[3 + STATS_NPCT + 1];
        vals[0] = x->avg;
        vals[1] = x->min;
        vals[2] = x->max;
        for (int k = 0; k < STATS_NPCT; k++)
            vals[3 + k] = x->pct[k];
        vals[3 + STATS_NPCT] = x->std;
        for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
            buf_putc(b, ',');
            csv_num(b, metric_display((enum metric_id)m, vals[k]));
        }
        buf_puts(b, "\r\n");
    }
}

static const char csv_stats_head[] = "Metric,avg,min,max,p1,p5,p10,p25,p50,p75,p90,p95,p99,std\r\n";

int report_write_csv(const struct run *ru, const char *dir, struct report_result *res,
                     struct diag *d)
{
    struct buf b;
    buf_init(&b, 1u << 28);
    buf_puts(&b, csv_stats_head);
    csv_stats_rows(&b, &ru->prof, NULL);
    buf_puts(&b, "\r\nMetric,Value\r\n");
    char label[160];
    for (int m = M_NRECORD; m < M_COUNT; m++) {
        if (!ru->prof.has_scalar[m])
            continue;
        report_label(m, true, label, sizeof label);
        csv_cell(&b, label);
        buf_putc(&b, ',');
        double v = metric_display((enum metric_id)m, ru->prof.scalar[m]);
        char tmp[64];
        snprintf(tmp, sizeof tmp, m == M_ERROR_RATE ? "%.6f" : "%.2f", v);
        buf_puts(&b, tmp);
        buf_puts(&b, "\r\n");
    }
    int rc = write_file(dir, "profile_export_aiperf.csv", &b, res, d);
    buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------ time slices */

struct slice_sel {
    int64_t lo, hi;
};

static bool sel_slice(const struct rrec *r, const void *ctx)
{
    const struct slice_sel *s = ctx;
    return r->phase == REC_PROFILE && r->t_start != RR_NONE && r->t_start >= s->lo &&
           r->t_start < s->hi;
}

int report_write_slices(const struct run *ru, const struct report_opts *o, const char *dir,
                        struct report_result *res, struct diag *d)
{
    int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    for (size_t i = 0; i < ru->n; i++) {
        const struct rrec *r = &ru->r[i];
        if (r->phase != REC_PROFILE || r->t_start == RR_NONE)
            continue;
        if (r->t_start < t0)
            t0 = r->t_start;
        if (r->t_start > t1)
            t1 = r->t_start;
    }
    int64_t dur = (int64_t)(o->slice_duration_s * 1e9);
    if (dur <= 0)
        return diag_set(d, ERR_INVALID, "--slice-duration must be positive");
    size_t nslices = t0 <= t1 ? (size_t)((t1 - t0) / dur) + 1 : 0;
    if (nslices > 100000)
        return diag_set(d, ERR_INVALID, "--slice-duration %g s makes %zu slices (max 100000)",
                        o->slice_duration_s, nslices);
    struct buf jb, cb;
    buf_init(&jb, 1u << 30);
    buf_init(&cb, 1u << 30);
    struct jsonw w;
    jsonw_init(&w, &jb);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "slice_duration_sec");
    jsonw_double(&w, o->slice_duration_s);
    jsonw_key(&w, "timeslices");
    jsonw_arr_begin(&w);
    buf_puts(&cb, "Timeslice,Start (sec),");
    buf_puts(&cb, csv_stats_head);
    for (size_t k = 0; k < nslices; k++) {
        struct slice_sel s = {t0 + (int64_t)k * dur, t0 + (int64_t)(k + 1) * dur};
        struct rsummary sm;
        report_summarize(ru, sel_slice, &s, NULL, o->verdict, &sm);
        jsonw_obj_begin(&w);
        jsonw_key(&w, "timeslice_index");
        jsonw_uint(&w, k);
        jsonw_key(&w, "start_sec");
        jsonw_double(&w, (double)(s.lo - t0) * 1e-09);
        jsonw_key(&w, "end_sec");
        jsonw_double(&w, (double)(s.hi - t0) * 1e-09);
        char t[64];
        report_iso_time(ru->base_real + s.lo, t, sizeof t);
        jsonw_key(&w, "start_time");
        jsonw_str(&w, t);
        metric_blocks(&w, &sm);
        jsonw_obj_end(&w);
        char pre[64];
        snprintf(pre, sizeof pre, "%zu,%.3f", k, (double)(s.lo - t0) * 1e-09);
        csv_stats_rows(&cb, &sm, pre);
    }
    jsonw_arr_end(&w);
    jsonw_obj_end(&w);
    struct buf pb;
    buf_init(&pb, 1u << 30);
    pretty(&jb, &pb);
    int rc = write_file(dir, "profile_export_aiperf_timeslices.json", &pb, res, d);
    if (!rc)
        rc = write_file(dir, "profile_export_aiperf_timeslices.csv", &cb, res, d);
    buf_free(&jb);
    buf_free(&cb);
    buf_free(&pb);
    return rc;
}

/* ------------------------------------------------------------------ JSONL */

/* A string literal appended without strlen (the per-record loop runs 10^6 times). */
#define PUTL(b, lit) buf_append((b), (lit), sizeof(lit) - 1)

struct jsonl_out {
    struct afile f;
    struct buf line;
};

int report_jsonl_open(struct jsonl_out **out, const char *dir, struct diag *d)
{
    struct jsonl_out *j = xcalloc(1, sizeof *j);
    char path[4096];
    snprintf(path, sizeof path, "%s/profile_export.jsonl", dir);
    int rc = afile_open(&j->f, path, d);
    if (rc) {
        free(j);
        return rc;
    }
    buf_init(&j->line, 1u << 30);
    *out = j;
    return 0;
}

/* An integer count of nanoseconds as exact decimal milliseconds ("4.898437"). Python's
 * repr(ns * 1e-06), which AIPerf writes, is the same text whenever that product is the
 * double nearest to ns / 10^6, and one ulp away otherwise; the exact decimal is written
 * always, digit by digit, because this is the hottest loop of the per-record export. */
/* Writes the text of put_ms at dst (>= 24 bytes free); returns its length. */
static size_t ms_text(char *dst, int64_t ns)
{
    char tmp[32];
    char *e = tmp + sizeof tmp, *p = e;
    bool neg = ns < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    uint64_t ip = u / 1000000, fp = u % 1000000;
    int digits = 6;
    while (digits > 1 && fp % 10 == 0) {
        fp /= 10;
        digits--;
    }
    for (int k = 0; k < digits; k++) {
        *--p = (char)('0' + fp % 10);
        fp /= 10;
    }
    *--p = '.';
    do {
        *--p = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    if (neg)
        *--p = '-';
    memcpy(dst, p, (size_t)(e - p));
    return (size_t)(e - p);
}

static void put_ms(struct buf *b, int64_t ns)
{
    char tmp[32];
    buf_append(b, tmp, ms_text(tmp, ns));
}

static void put_metric_head(struct buf *b, bool *first, const char *tag)
{
    if (!*first)
        buf_putc(b, ',');
    *first = false;
    buf_putc(b, '"');
    buf_puts(b, tag);
    PUTL(b, "\":{\"value\":");
}

static void put_unit(struct buf *b, const char *unit)
{
    PUTL(b, ",\"unit\":\"");
    buf_puts(b, unit);
    PUTL(b, "\"}");
}

static void put_int(struct buf *b, int64_t v)
{
    char tmp[24];
    char *e = tmp + sizeof tmp, *p = e;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    buf_append(b, p, (size_t)(e - p));
}

static void put_epoch(struct buf *b, const struct run *ru, int64_t t)
{
    if (t == RR_NONE)
        PUTL(b, "null");
    else
        put_int(b, ru->base_real + t);
}

void report_jsonl_record(struct jsonl_out *j, const struct run *ru, const struct rec *r,
                         const struct rrec *rr, const int64_t *icl, size_t nicl)
{
    struct buf *b = &j->line;
    PUTL(b, "{\"metadata\":{\"session_num\":");
    put_int(b, r->i);
    PUTL(b, ",\"x_request_id\":\"");
    put_int(b, r->i);
    PUTL(b, "\",\"x_correlation_id\":\"");
    buf_append(b, r->conv.p ? r->conv.p : "", r->conv.n);
    PUTL(b, "\",\"conversation_id\":\"");
    buf_append(b, r->conv.p ? r->conv.p : "", r->conv.n);
    PUTL(b, "\",\"turn_index\":");
    put_int(b, r->turn);
    PUTL(b, ",\"request_start_ns\":");
    put_epoch(b, ru, rr->t_start);
    PUTL(b, ",\"request_ack_ns\":");
    put_epoch(b, ru, (rr->flags & RR_STREAM) ? rr->t_head : RR_NONE);
    PUTL(b, ",\"request_end_ns\":");
    put_epoch(b, ru, rr->t_end != RR_NONE ? rr->t_end : rr->t_last);
    PUTL(b, ",\"worker_id\":\"worker_");
    put_int(b, rr->worker);
    PUTL(b, "\",\"record_processor_id\":\"metronome_report\",\"benchmark_phase\":\"profiling\","
            "\"was_cancelled\":");
    buf_puts(b, r->cancelled ? "true" : "false");
    PUTL(b, ",\"cancellation_time_ns\":");
    put_epoch(b, ru, r->cancelled ? (rr->t_end != RR_NONE ? rr->t_end : RR_NONE) : RR_NONE);
    PUTL(b, "},\"metrics\":{");
    bool first = true;
    if (rr->flags & RR_VALID) {
        for (int m = 0; m < M_NRECORD; m++) {
            double v;
            if (m == M_ICL) {
                size_t n = nicl;
                if (!n)
                    continue;
                put_metric_head(b, &first, "inter_chunk_latency");
                /* The hot loop: one reservation, then digits straight into the buffer. */
                if (buf_reserve(b, n * 25 + 2) == 0) {
                    char *w = b->p + b->len;
                    *w++ = '[';
                    for (size_t k = 0; k < n; k++) {
                        if (k)
                            *w++ = ',';
                        w += ms_text(w, icl[k]);
                    }
                    *w++ = ']';
                    b->len = (size_t)(w - b->p);
                    b->p[b->len] = '\0';
                }
                put_unit(b, "ms");
                continue;
            }
            if (!metric_value(rr, (enum metric_id)m, &v))
                continue;
            const struct metric_def *md = &metric_defs[m];
            put_metric_head(b, &first, md->tag);
            if ((md->flags & MF_TIME) && (md->flags & MF_INT)) {
                put_ms(b, (int64_t)v);
            } else if (md->flags & MF_INT) {
                put_int(b, (int64_t)v);
            } else {
                char tmp[40];
                int n = numfmt_double(tmp, metric_display((enum metric_id)m, v));
                buf_append(b, tmp, (size_t)n);
            }
            put_unit(b, md->unit);
        }
    } else {
        double v;
        if (metric_value(rr, M_LATENESS, &v)) {
            put_metric_head(b, &first, "schedule_lateness");
            put_ms(b, (int64_t)v);
            put_unit(b, "ms");
        }
        if (rr->isl >= 0) {
            put_metric_head(b, &first, "error_isl");
            put_int(b, rr->isl);
            put_unit(b, "tokens");
        }
    }
    PUTL(b, "},\"error\":");
    if (r->has_error) {
        PUTL(b, "{\"code\":");
        if (r->err_code == REC_ABSENT)
            PUTL(b, "null");
        else
            put_int(b, r->err_code);
        PUTL(b, ",\"type\":\"");
        buf_append(b, r->err_type.p ? r->err_type.p : "", r->err_type.n);
        PUTL(b, "\",\"message\":\"");
        buf_append(b, r->err_msg.p ? r->err_msg.p : "", r->err_msg.n);
        PUTL(b, "\"}");
    } else {
        PUTL(b, "null");
    }
    PUTL(b, "}\n");
    /* Lines collect in one buffer written in 1 MiB pieces, which stdio hands to write()
     * without copying them again. */
    if (b->len >= (1u << 20)) {
        fwrite(b->p, 1, b->len, j->f.f);
        buf_reset(b);
    }
}

int report_jsonl_commit(struct jsonl_out *j, struct report_result *res, struct diag *d)
{
    if (j->line.len)
        fwrite(j->line.p, 1, j->line.len, j->f.f);
    char *path = xstrdup(j->f.path);
    int rc = afile_commit(&j->f, d);
    if (!rc)
        add_written(res, path);
    free(path);
    buf_free(&j->line);
    free(j);
    return rc;
}

void report_jsonl_abort(struct jsonl_out *j)
{
    if (!j)
        return;
    afile_abort(&j->f);
    buf_free(&j->line);
    free(j);
}
