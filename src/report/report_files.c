/*
 * The AIPerf-compatible files: profile_export_aiperf.json (schema 1.5 field names, display
 * units), profile_export_aiperf.csv, profile_export.jsonl (written while reading) and the
 * time-slice files. All are written to a temporary file and renamed into place.
 */
#include "endpoint.h"
#include "report_int.h"

#include "build_info.h"
#include "http1.h"
#include "jsonw.h"
#include "numfmt.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* ------------------------------------------------------------------ export names */

static const char *const export_names[][2] = {
    /* default name, suffix after the prefix's base (AIPerf 0.13's ArtifactsConfig) */
    {"profile_export_aiperf.json", ".json"},
    {"profile_export_aiperf.csv", ".csv"},
    {"profile_export_aiperf_timeslices.json", "_timeslices.json"},
    {"profile_export_aiperf_timeslices.csv", "_timeslices.csv"},
    {"profile_export.jsonl", ".jsonl"},
    {"profile_export_raw.jsonl", "_raw.jsonl"},
    {"profile_export_console.txt", "_console.txt"},
    {"gpu_telemetry_export.jsonl", "_gpu_telemetry.jsonl"},
    {"server_metrics_export.jsonl", "_server_metrics.jsonl"},
    {"server_metrics_export.json", "_server_metrics.json"},
    {"server_metrics_export.csv", "_server_metrics.csv"},
    {"profile_export_network_latency.jsonl", "_network_latency.jsonl"},
};

void report_export_name(const char *base, const char *def, char *out, size_t cap)
{
    for (size_t i = 0; base && i < sizeof export_names / sizeof export_names[0]; i++)
        if (!strcmp(def, export_names[i][0])) {
            snprintf(out, cap, "%s%s", base, export_names[i][1]);
            return;
        }
    snprintf(out, cap, "%s", def);
}

int report_export_prefix(const char *value, char *out, size_t cap, struct diag *d)
{
    /* longest first, as AIPerf strips them: _server_metrics.json before .json */
    static const char *const strip[] = {
        "_server_metrics.parquet",
        "_server_metrics.jsonl",
        "_server_metrics.json",
        "_server_metrics.csv",
        "_network_latency.jsonl",
        "_gpu_telemetry.jsonl",
        "_timeslices.csv",
        "_timeslices.json",
        "_console.txt",
        "_raw.jsonl",
        ".parquet",
        ".csv",
        ".json",
        ".jsonl",
    };
    const char *v = value;
    if (v[0] == '/') { /* AIPerf keeps only the file name of an absolute path */
        const char *slash = strrchr(v, '/');
        v = slash + 1;
    }
    size_t n = strlen(v);
    for (size_t i = 0; i < sizeof strip / sizeof strip[0]; i++) {
        size_t k = strlen(strip[i]);
        if (n >= k && !strcmp(v + n - k, strip[i])) {
            n -= k;
            break;
        }
    }
    if (n == 0 || memchr(v, '/', n) || n >= cap)
        return diag_set(
            d, ERR_INVALID,
            "--profile-export-prefix %s: expected a file name base (not empty, no directory)",
            value);
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
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

static const char *const adj_tag[REPORT_NADJ] = {"adj_request_latency", "adj_time_to_first_token",
                                                 "adj_decode_duration", "adj_inter_token_latency"};

/* adj_<tag>: only the finite statistics (min, the percentiles below the first failure's
 * rank, count), as AIPerf's JSON export leaves out inf. */
static void adj_block(struct jsonw *w, const struct rsummary *s, int a)
{
    const struct adj_summary *x = &s->adj[a];
    int m = report_adj_metric[a];
    jsonw_key(w, adj_tag[a]);
    jsonw_obj_begin(w);
    jsonw_key(w, "unit");
    jsonw_str(w, metric_defs[m].unit);
    for (int k = 0; k < STATS_NPCT; k++) {
        if (isfinite(x->pct[k])) {
            jsonw_key(w, stats_pct_name[k]);
            jsonw_double(w, metric_display((enum metric_id)m, x->pct[k]));
        }
    }
    if (isfinite(x->min)) {
        jsonw_key(w, "min");
        jsonw_double(w, metric_display((enum metric_id)m, x->min));
    }
    jsonw_key(w, "count");
    jsonw_uint(w, x->count);
    jsonw_obj_end(w);
}

/* A time-weighted sweep: AIPerf's MetricResult from SweepLineStats (no count, no sum). */
static void sweep_block(struct jsonw *w, const struct rsummary *s, int k)
{
    const struct sweep_summary *x = &s->sweep[k];
    jsonw_key(w, report_sweep_tag[k]);
    jsonw_obj_begin(w);
    jsonw_key(w, "unit");
    jsonw_str(w, report_sweep_unit[k]);
    const char *names[8] = {"avg", "p50", "p90", "p95", "p99", "min", "max", "std"};
    const double vals[8] = {x->avg, x->p50, x->p90, x->p95, x->p99, x->min, x->max, x->std};
    for (int i = 0; i < 8; i++) {
        if (!isfinite(vals[i]))
            continue;
        jsonw_key(w, names[i]);
        jsonw_double(w, vals[i]);
    }
    jsonw_obj_end(w);
}

static void metric_blocks(struct jsonw *w, const struct rsummary *s)
{
    for (int m = 0; m < M_COUNT; m++) {
        if (m < M_NRECORD ? s->m[m].count > 0 : s->has_scalar[m])
            metric_block(w, s, m);
    }
    for (int a = 0; a < REPORT_NADJ; a++)
        if (s->adj[a].has)
            adj_block(w, s, a);
    for (int k = 0; k < REPORT_NSWEEP; k++)
        if (s->sweep[k].has)
            sweep_block(w, s, k);
}

static void error_summary(struct jsonw *w, const struct run *ru, bool warm)
{
    jsonw_arr_begin(w);
    for (size_t i = 0; i < ru->nerr; i++) {
        const struct err_group *g = &ru->err[i];
        uint64_t count = warm ? g->warm_count : g->count;
        if (!count)
            continue;
        jsonw_obj_begin(w);
        jsonw_key(w, "error_details");
        jsonw_obj_begin(w);
        jsonw_key(w, "code");
        if (g->code == REC_ABSENT)
            jsonw_null(w);
        else
            jsonw_int(w, g->code);
        const char *at = report_aiperf_error_type(g->type, strlen(g->type), g->code);
        jsonw_key(w, "type");
        if (at) {
            jsonw_str(w, at);
        } else {
            jsonw_raw(w, "\"", 1);
            buf_puts(w->b, g->type);
            buf_putc(w->b, '"');
        }
        jsonw_key(w, "message");
        jsonw_raw(w, "\"", 1);
        buf_puts(w->b, g->msg);
        buf_putc(w->b, '"');
        if (at) {
            jsonw_key(w, "details");
            jsonw_obj_begin(w);
            jsonw_key(w, "metronome_type");
            jsonw_raw(w, "\"", 1);
            buf_puts(w->b, g->type);
            buf_putc(w->b, '"');
            jsonw_obj_end(w);
        }
        jsonw_obj_end(w);
        jsonw_key(w, "count");
        jsonw_uint(w, count);
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
static void metronome_section(struct jsonw *w, const struct run *ru, const struct report_opts *o,
                              const cJSON *cfg)
{
    jsonw_key(w, "metronome");
    jsonw_obj_begin(w);
    jsonw_key(w, "version");
    jsonw_str(w, METRONOME_VERSION);
    /* the replay configuration itself (redacted), which AIPerf's input_config cannot hold */
    char *cs = cJSON_PrintUnformatted(cfg);
    jsonw_key(w, "input_config");
    jsonw_raw(w, cs, strlen(cs));
    free(cs);
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
        jsonw_key(w, "cancelled");
        jsonw_bool(w, m->cancelled);
        jsonw_key(w, "hostname");
        jsonw_str(w, m->hostname);
        jsonw_key(w, "schedule_lateness_p99_ms");
        if (ru->shard_late_p99 && !isnan(ru->shard_late_p99[i]))
            jsonw_double(w, ru->shard_late_p99[i] * 1e-6);
        else
            jsonw_null(w);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    /* The shard set: missing shards, and the worst skew between the shards' starts. */
    jsonw_key(w, "shard_set");
    jsonw_obj_begin(w);
    jsonw_key(w, "count");
    jsonw_int(w, ru->shard_count);
    jsonw_key(w, "missing");
    jsonw_arr_begin(w);
    for (size_t k = 0; k < ru->nshard_missing; k++)
        jsonw_int(w, ru->shard_missing[k]);
    jsonw_arr_end(w);
    bool partial = ru->nshard_missing > 0;
    for (size_t i = 0; i < ru->nshards; i++)
        partial |= ru->shard_count > 1 && (!ru->shard[i].complete || ru->shard[i].cancelled);
    jsonw_key(w, "partial");
    jsonw_bool(w, partial);
    jsonw_key(w, "start_skew_ms");
    if (ru->shard_skew >= 0)
        jsonw_double(w, (double)ru->shard_skew * 1e-6);
    else
        jsonw_null(w);
    jsonw_key(w, "start_skew_basis");
    jsonw_str(w, ru->shard_skew_note);
    jsonw_obj_end(w);
    jsonw_key(w, "output_tokens_source");
    {
        int kinds = (ru->osl_usage > 0) + (ru->osl_chunks > 0) + (ru->osl_tokenizer > 0);
        jsonw_str(w, kinds > 1           ? "mixed"
                     : ru->osl_tokenizer ? "tokenizer"
                     : ru->osl_usage     ? "usage"
                                         : "chunks");
    }
    if (ru->tokenizer) {
        jsonw_key(w, "output_tokens_tokenizer");
        jsonw_str(w, ru->tokenizer);
        jsonw_key(w, "output_tokens_by_source");
        jsonw_obj_begin(w);
        jsonw_key(w, "tokenizer");
        jsonw_uint(w, ru->osl_tokenizer);
        jsonw_key(w, "usage");
        jsonw_uint(w, ru->osl_usage);
        jsonw_key(w, "chunks");
        jsonw_uint(w, ru->osl_chunks);
        jsonw_obj_end(w);
    }
    jsonw_key(w, "input_tokens_source");
    jsonw_str(w, ru->isl_usage && ru->isl_trace ? "mixed" : ru->isl_usage ? "usage" : "trace");
    /* where the server's usage contradicted what was received, our count was used */
    jsonw_key(w, "token_count_overrides");
    jsonw_obj_begin(w);
    jsonw_key(w, "reasoning_tokens");
    jsonw_uint(w, ru->reasoning_counted);
    jsonw_key(w, "output_tokens");
    jsonw_uint(w, ru->osl_counted);
    jsonw_obj_end(w);
    if (ru->reads_kernel >= 0) { /* how response bytes were stamped (docs/replay.md) */
        jsonw_key(w, "receive_timestamps");
        jsonw_obj_begin(w);
        jsonw_key(w, "kernel");
        jsonw_int(w, ru->reads_kernel);
        jsonw_key(w, "read_returned");
        jsonw_int(w, ru->reads_user);
        jsonw_obj_end(w);
    }
    const struct rconnect *cn = &ru->conn;
    jsonw_key(w, "connections"); /* connect time inside latency (docs/metrics.md) */
    jsonw_obj_begin(w);
    jsonw_key(w, "new");
    jsonw_uint(w, cn->fresh);
    jsonw_key(w, "reused");
    jsonw_uint(w, cn->reused);
    jsonw_key(w, "connects_over_1s");
    jsonw_uint(w, cn->slow);
    if (cn->connect.count) {
        jsonw_key(w, "connect_time");
        jsonw_obj_begin(w);
        jsonw_key(w, "unit");
        jsonw_str(w, "ms");
        jsonw_key(w, "avg");
        jsonw_double(w, cn->connect.avg * 1e-06);
        jsonw_key(w, "min");
        jsonw_double(w, cn->connect.min * 1e-06);
        for (int i = 0; i < STATS_NPCT; i++) {
            jsonw_key(w, stats_pct_name[i]);
            jsonw_double(w, cn->connect.pct[i] * 1e-06);
        }
        jsonw_key(w, "max");
        jsonw_double(w, cn->connect.max * 1e-06);
        jsonw_obj_end(w);
    }
    const char *lat = cn->ttft_is_latency ? "request_latency" : "time_to_first_token";
    char key[64];
    if (cn->ttft_fresh.count) {
        snprintf(key, sizeof key, "%s_avg_ms_new_connection", lat);
        jsonw_key(w, key);
        jsonw_double(w, cn->ttft_fresh.avg * 1e-06);
    }
    if (cn->ttft_reused.count) {
        snprintf(key, sizeof key, "%s_avg_ms_open_connection", lat);
        jsonw_key(w, key);
        jsonw_double(w, cn->ttft_reused.avg * 1e-06);
    }
    jsonw_key(w, "warning");
    if (cn->warning[0])
        jsonw_str(w, cn->warning);
    else
        jsonw_null(w);
    jsonw_obj_end(w);
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

/* ------------------------------------------------------------------ AIPerf's input_config */

static const cJSON *jget(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static double jnum(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = jget(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* Adds key: v as an integer when v is a whole number in [0, 2^53] (the range a double
 * holds exactly; run.json is untrusted input, and a cast outside int64 is undefined). */
static void add_uint(cJSON *o, const char *key, double v)
{
    if (v >= 0 && v <= 9007199254740992.0)
        cJSON_AddNumberToObject(o, key, floor(v));
}

/* A seed as its exact integer: cJSON holds numbers as doubles and prints one above 2^53
 * with 15 digits, so a 63-bit seed came out as 9.00719925474099e+15. */
static void set_seed(cJSON *o, const char *key, int64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)v);
    cJSON *raw = cJSON_CreateRaw(num);
    if (!cJSON_ReplaceItemInObjectCaseSensitive(o, key, raw))
        cJSON_AddItemToObject(o, key, raw);
}

/* The dataset seed: the trace header's, exact where it is the run's (profile gives pack and
 * replay the same one), else only while a double holds it exactly. */
static void add_seed(cJSON *o, const cJSON *seed, const struct run_meta *m0)
{
    if (!cJSON_IsNumber(seed))
        return;
    if (m0->has_seed && m0->seed >= 0 && (double)m0->seed == seed->valuedouble)
        set_seed(o, "random_seed", m0->seed);
    else
        add_uint(o, "random_seed", seed->valuedouble);
}

/* A distribution {"mean": M[, "stddev": S]} as AIPerf's config writes one. */
static void add_dist(cJSON *parent, const char *key, double mean, double sd)
{
    cJSON *d = cJSON_AddObjectToObject(parent, key);
    cJSON_AddNumberToObject(d, "mean", mean);
    if (sd > 0)
        cJSON_AddNumberToObject(d, "stddev", sd);
}

/* One phase of AIPerf's schema-2.0 config (aiperf.config.phases): the load the replay
 * stage ran, in AIPerf's terms. */
static void add_phase(cJSON *arr, const cJSON *cfg, bool warmup, double requests)
{
    cJSON *ph = cJSON_CreateObject();
    cJSON_AddStringToObject(ph, "name", warmup ? "warmup" : "profiling");
    cJSON_AddStringToObject(ph, "kind", warmup ? "warmup" : "profiling");
    const cJSON *mode = jget(cfg, "mode");
    const char *m = cJSON_IsString(mode) ? mode->valuestring : "concurrency";
    double conc = jnum(cfg, "concurrency", 0);
    if (strcmp(m, "fixed_schedule") == 0) {
        cJSON_AddStringToObject(ph, "type", "fixed_schedule");
        cJSON_AddBoolToObject(ph, "auto_offset",
                              cJSON_IsTrue(jget(cfg, "fixed_schedule_auto_offset")));
        double so = jnum(cfg, "fixed_schedule_start_offset", -1),
               eo = jnum(cfg, "fixed_schedule_end_offset", -1);
        if (so >= 0)
            add_uint(ph, "start_offset", so);
        if (eo >= 0)
            add_uint(ph, "end_offset", eo);
    } else if (strcmp(m, "request_rate") == 0) {
        const cJSON *ap = jget(cfg, "arrival_pattern");
        const char *a = cJSON_IsString(ap) ? ap->valuestring : "poisson";
        cJSON_AddStringToObject(ph, "type", a);
        cJSON_AddNumberToObject(ph, "rate", jnum(cfg, "request_rate", 0));
        if (strcmp(a, "gamma") == 0)
            cJSON_AddNumberToObject(ph, "smoothness", jnum(cfg, "arrival_smoothness", 1));
    } else {
        cJSON_AddStringToObject(ph, "type", "concurrency");
    }
    if (warmup)
        cJSON_AddBoolToObject(ph, "exclude_from_results", true);
    if (requests > 0)
        add_uint(ph, "requests", requests);
    double dur = jnum(cfg, "benchmark_duration", 0);
    if (!warmup && dur > 0) {
        cJSON_AddNumberToObject(ph, "duration", dur);
        cJSON_AddNumberToObject(ph, "grace_period", jnum(cfg, "benchmark_grace_period", 30));
    }
    if (conc > 0)
        add_uint(ph, "concurrency", conc);
    cJSON_AddItemToArray(arr, ph);
}

/* AIPerf 0.13's input_config (aiperf.config.config.BenchmarkConfig, which forbids unknown
 * keys) built from the run's replay configuration and its trace header: the fields that
 * have an AIPerf meaning. metronome's own configuration goes to metronome.input_config.
 * cfg is already redacted. Returns an owned tree. */
static cJSON *aiperf_input_config(const cJSON *cfg, const cJSON *header, const struct run_meta *m0,
                                  bool server_counts, const char *out_dir, uint64_t profile_records)
{
    const cJSON *opts = jget(header, "options");
    cJSON *ic = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(cJSON_AddObjectToObject(ic, "models"), "items");
    const cJSON *models = jget(opts, "models"), *mod;
    cJSON_ArrayForEach(mod, models)
    {
        if (cJSON_IsString(mod)) {
            cJSON *it = cJSON_CreateObject();
            cJSON_AddStringToObject(it, "name", mod->valuestring);
            cJSON_AddItemToArray(items, it);
        }
    }
    if (!cJSON_GetArraySize(items)) { /* a trace whose models were not recorded */
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "name", "unknown");
        cJSON_AddItemToArray(items, it);
    }
    cJSON *ep = cJSON_AddObjectToObject(ic, "endpoint");
    cJSON *urls = cJSON_AddArrayToObject(ep, "urls");
    const cJSON *u;
    cJSON_ArrayForEach(u, jget(cfg, "url"))
    {
        if (cJSON_IsString(u))
            cJSON_AddItemToArray(urls, cJSON_CreateString(u->valuestring));
    }
    const cJSON *et = jget(cfg, "endpoint_type");
    cJSON_AddStringToObject(ep, "type", cJSON_IsString(et) ? et->valuestring : "chat");
    const cJSON *path = jget(cfg, "endpoint_path");
    if (cJSON_IsString(path))
        cJSON_AddStringToObject(ep, "path", path->valuestring);
    cJSON_AddNumberToObject(ep, "timeout", jnum(cfg, "request_timeout_seconds", 21600));
    const cJSON *st = jget(cfg, "streaming");
    bool streaming = cJSON_IsTrue(jget(jget(header, "endpoint"), "streaming"));
    if (cJSON_IsBool(st))
        streaming = cJSON_IsTrue(st);
    else if (cJSON_IsString(st) && strcmp(st->valuestring, "on") == 0)
        streaming = true;
    else if (cJSON_IsString(st) && strcmp(st->valuestring, "off") == 0)
        streaming = false;
    cJSON_AddBoolToObject(ep, "streaming", streaming);
    /* without a tokenizer metronome counts tokens from the server's usage whenever sent */
    cJSON_AddBoolToObject(ep, "use_server_token_count", server_counts);
    const cJSON *hs = jget(cfg, "headers"), *h;
    if (cJSON_GetArraySize(hs)) {
        cJSON *ho = cJSON_AddObjectToObject(ep, "headers");
        cJSON_ArrayForEach(h, hs)
        {
            if (!cJSON_IsString(h))
                continue;
            const char *c = strchr(h->valuestring, ':');
            if (!c)
                continue;
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(c - h->valuestring), h->valuestring);
            const char *v = c + 1;
            while (*v == ' ')
                v++;
            cJSON_AddStringToObject(ho, name, v);
        }
    }
    const cJSON *ex = jget(cfg, "extra_inputs");
    if (cJSON_IsObject(ex))
        cJSON_AddItemToObject(ep, "extra", cJSON_Duplicate(ex, 1));

    cJSON *ds = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(ic, "datasets"), ds);
    cJSON_AddStringToObject(ds, "name", "main");
    const cJSON *src = jget(header, "source");
    const cJSON *stype = jget(src, "type");
    const cJSON *seed = jget(header, "seed");
    if (!cJSON_IsString(stype) || strcmp(stype->valuestring, "synthetic") == 0) {
        cJSON_AddStringToObject(ds, "type", "synthetic");
        double sessions = jnum(header, "sessions", 0);
        if (sessions > 0)
            add_uint(ds, "entries", sessions);
        add_seed(ds, seed, m0);
        if (opts) {
            cJSON *pr = cJSON_AddObjectToObject(ds, "prompts");
            add_dist(pr, "isl", jnum(opts, "isl", 0), jnum(opts, "isl_stddev", 0));
            if (jget(opts, "osl"))
                add_dist(pr, "osl", jnum(opts, "osl", 0), jnum(opts, "osl_stddev", 0));
        }
    } else {
        cJSON_AddStringToObject(ds, "type", "file");
        const cJSON *file = jget(src, "file");
        if (cJSON_IsString(file))
            cJSON_AddStringToObject(ds, "path", file->valuestring);
        /* AIPerf's DatasetFormat names where the format is one of them (azure_trace and
         * sharegpt are not: their source type stays in metronome.input_config) */
        static const char *const fmts[] = {"single_turn", "multi_turn", "random_pool",
                                           "mooncake_trace", "burst_gpt_trace"};
        for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++)
            if (strcmp(stype->valuestring, fmts[i]) == 0)
                cJSON_AddStringToObject(ds, "format", fmts[i]);
        add_seed(ds, seed, m0);
    }

    cJSON *phases = cJSON_AddArrayToObject(ic, "phases");
    double warm = jnum(cfg, "warmup_request_count", 0);
    if (warm > 0)
        add_phase(phases, cfg, true, warm);
    /* A replay of a whole trace has no request count (0); AIPerf's phase needs requests,
     * duration or sessions: the requests the profile phase issued, then. */
    double req = jnum(cfg, "request_count", 0);
    if (req <= 0 && jnum(cfg, "benchmark_duration", 0) <= 0)
        req = (double)profile_records;
    add_phase(phases, cfg, false, req);
    cJSON *art = cJSON_AddObjectToObject(ic, "artifacts");
    cJSON_AddStringToObject(art, "dir", out_dir ? out_dir : "artifacts");
    return ic;
}

char *report_aiperf_input_config_json(struct run *ru, const char *dir)
{
    const struct run_meta *m0 = &ru->shard[0];
    cJSON *cfg = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(m0->json, "config"), 1);
    if (!cfg)
        cfg = cJSON_CreateObject();
    report_redact(cfg);
    if (m0->has_seed)
        set_seed(cfg, "random_seed", m0->seed);
    const cJSON *header = jget(jget(m0->json, "trace"), "header");
    cJSON *ic = aiperf_input_config(cfg, header, m0, ru->osl_tokenizer == 0 || ru->osl_usage > 0,
                                    dir, ru->prof.n_total);
    report_redact(ic);
    char *s = cJSON_PrintUnformatted(ic);
    cJSON_Delete(ic);
    cJSON_Delete(cfg);
    return s;
}

/* run_info.cli_command: the command the user typed (profile passes it, redacted) or,
 * for a replay run reported on its own, "metronome " + the replay argv from run.json
 * (already redacted by replay). Owned string, or NULL when neither is known. */
static char *report_cli_command(const struct report_opts *o, const cJSON *cfg)
{
    if (o->cli_command) {
        /* a URL's user:password@ never reaches a file, wherever it sits in the line */
        struct buf b;
        buf_init(&b, 1 << 20);
        const char *p = o->cli_command;
        while (*p) {
            const char *sch = strstr(p, "://");
            if (!sch) {
                buf_puts(&b, p);
                break;
            }
            const char *host = sch + 3;
            size_t hl = strcspn(host, "/?# '\"");
            const char *at = memchr(host, '@', hl);
            buf_append(&b, p, (size_t)(host - p));
            if (at) {
                buf_puts(&b, "<redacted>");
                p = at;
            } else {
                p = host;
            }
        }
        return buf_release(&b);
    }
    const cJSON *argv = jget(cfg, "argv"), *a;
    if (!cJSON_GetArraySize(argv))
        return NULL;
    struct buf b;
    buf_init(&b, 1 << 20);
    buf_puts(&b, "metronome");
    cJSON_ArrayForEach(a, argv)
    {
        if (!cJSON_IsString(a))
            continue;
        buf_putc(&b, ' ');
        const char *v = a->valuestring;
        if (*v && !strpbrk(v, " \t\n'\"\\$`;&|<>()*?[]{}!#~")) {
            buf_puts(&b, v);
            continue;
        }
        buf_putc(&b, '\''); /* shell quoting, as AIPerf's shlex.join */
        for (; *v; v++) {
            if (*v == '\'')
                buf_puts(&b, "'\"'\"'");
            else
                buf_putc(&b, *v);
        }
        buf_putc(&b, '\'');
    }
    return buf_release(&b);
}

/* AIPerf's error "type": the exception (aiohttp) or HTTP reason it records for the same
 * failure, so scripts that group errors by type see the same names. metronome's own
 * kind stays in the record (error.details.metronome_type). */
const char *report_aiperf_error_type(const char *type, size_t n, int64_t code)
{
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(type, lit, n) == 0)
    if (IS("http"))
        return code >= 100 && code <= 599 ? http1_reason((int)code) : "ClientResponseError";
    if (IS("closed"))
        return "ClientPayloadError";
    if (IS("connect"))
        return "ClientConnectorError";
    if (IS("tls"))
        return "ClientSSLError";
    if (IS("timeout_connect"))
        return "ConnectionTimeoutError";
    if (IS("timeout_first_byte") || IS("timeout_idle"))
        return "SocketTimeoutError";
    if (IS("timeout_total"))
        return "TimeoutError";
    if (IS("protocol"))
        return "ClientResponseError";
    if (IS("cancelled"))
        return "RequestCancellationError";
    if (IS("not_sent"))
        return "RequestNotSentError";
#undef IS
    return NULL;
}

static void csv_summary(struct buf *b, const struct rsummary *s);

/* The wall-clock span of one phase's records (epoch ns); false when it has none. */
static bool phase_span(const struct run *ru, int phase, int64_t *st, int64_t *en)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < ru->n; i++) {
        const struct rrec *r = &ru->r[i];
        if (r->phase != phase)
            continue;
        int64_t a = r->t_start != RR_NONE ? r->t_start : r->t_intended;
        int64_t z = r->t_end != RR_NONE ? r->t_end : r->t_last;
        if (a != RR_NONE && a < lo)
            lo = a;
        if (z != RR_NONE && z > hi)
            hi = z;
        if (a != RR_NONE && a > hi)
            hi = a;
    }
    if (lo == INT64_MAX)
        return false;
    *st = ru->base_real + lo;
    *en = ru->base_real + hi;
    return true;
}

/* which: -1 the run's profile_export_aiperf.json (profiling metrics, warmup_metrics and
 * the metronome section); REC_PROFILE / REC_WARMUP one phase's file under phases/. */
static int json_doc(const struct run *ru, const struct report_opts *o, const char *dir, int which,
                    struct buf *pb, struct diag *d)
{
    struct buf b;
    buf_init(&b, 1u << 30);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "schema_version");
    jsonw_str(&w, "1.4"); /* JsonExportData.SCHEMA_VERSION of AIPerf 0.13 */
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
    if (which >= 0 && !phase_span(ru, which, &st, &en))
        en = 0;
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
    jsonw_key(&w, "is_complete");
    jsonw_bool(&w, ru->complete);
    if (!ru->complete) {
        jsonw_key(&w, "incomplete_reason");
        jsonw_str(&w, "run incomplete: records end before the run finished");
    }
    cJSON *cfg = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(m0->json, "config"), 1);
    if (!cfg)
        cfg = cJSON_CreateObject();
    report_redact(cfg);
    if (m0->has_seed)
        set_seed(cfg, "random_seed", m0->seed);
    const cJSON *header = jget(jget(m0->json, "trace"), "header");
    /* usage counts unless the report's tokenizer counted the response texts */
    cJSON *ic = aiperf_input_config(cfg, header, m0, ru->osl_tokenizer == 0 || ru->osl_usage > 0,
                                    dir, ru->prof.n_total);
    report_redact(ic);
    char *ics = cJSON_PrintUnformatted(ic);
    jsonw_key(&w, "input_config");
    jsonw_raw(&w, ics, strlen(ics));
    free(ics);
    cJSON_Delete(ic);
    jsonw_key(&w, "run_info");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "benchmark_id");
    jsonw_str(&w, ru->label);
    jsonw_key(&w, "random_seed"); /* RunInfo.random_seed is >= 0 or null */
    const cJSON *seed = jget(cfg, "random_seed");
    if (!cJSON_IsNumber(seed))
        seed = jget(header, "seed");
    /* range-checked: a double outside int64 must not reach the cast */
    if (m0->has_seed && m0->seed >= 0)
        jsonw_int(&w, m0->seed);
    else if (cJSON_IsNumber(seed) && seed->valuedouble >= 0 &&
             seed->valuedouble <= 9007199254740992.0 &&
             seed->valuedouble == floor(seed->valuedouble))
        jsonw_int(&w, (int64_t)seed->valuedouble);
    else
        jsonw_null(&w);
    jsonw_key(&w, "trial");
    jsonw_int(&w, 0);
    jsonw_key(&w, "run_label");
    jsonw_str(&w, ru->label);
    jsonw_key(&w, "cli_command");
    char *cli = report_cli_command(o, cfg);
    if (cli)
        jsonw_str(&w, cli);
    else
        jsonw_null(&w);
    free(cli);
    jsonw_obj_end(&w);
    jsonw_key(&w, "error_summary");
    error_summary(&w, ru, which == REC_WARMUP);
    jsonw_key(&w, "runtime_submission_invalid_reasons");
    jsonw_arr_begin(&w);
    if (!ru->complete)
        jsonw_str(&w, "run incomplete: records end before the run finished");
    jsonw_arr_end(&w);
    metric_blocks(&w, which == REC_WARMUP ? &ru->warm : &ru->prof);
    if (which < 0 && ru->has_warm) {
        jsonw_key(&w, "warmup_metrics");
        jsonw_obj_begin(&w);
        metric_blocks(&w, &ru->warm);
        jsonw_obj_end(&w);
    }
    if (which < 0)
        metronome_section(&w, ru, o, cfg);
    cJSON_Delete(cfg);
    jsonw_obj_end(&w);
    pretty(&b, pb);
    int rc = w.err ? diag_set(d, w.err, "profile_export_aiperf.json: too large") : 0;
    buf_free(&b);
    return rc;
}

/* One phase_manifest.json entry (AIPerf writes its keys sorted). */
static void manifest_entry(struct jsonw *w, const struct run *ru, int phase, const char *prefix)
{
    bool warm = phase == REC_WARMUP;
    const struct rsummary *s = warm ? &ru->warm : &ru->prof;
    int64_t st = 0, en = 0;
    bool span = phase_span(ru, phase, &st, &en);
    int index = warm ? 0 : ru->has_warmup_phase ? 1 : 0; /* as the JSONL says */
    const char *name = warm ? "warmup" : "profiling";
    char path[64];
    jsonw_obj_begin(w);
    jsonw_key(w, "end_ns");
    if (span)
        jsonw_int(w, en);
    else
        jsonw_null(w);
    jsonw_key(w, "error_request_count");
    jsonw_uint(w, s->n_invalid);
    jsonw_key(w, "error_summary");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < ru->nerr; i++) {
        const struct err_group *g = &ru->err[i];
        uint64_t count = warm ? g->warm_count : g->count;
        if (!count)
            continue;
        const char *at = report_aiperf_error_type(g->type, strlen(g->type), g->code);
        jsonw_obj_begin(w);
        jsonw_key(w, "count");
        jsonw_uint(w, count);
        jsonw_key(w, "error_details");
        jsonw_obj_begin(w);
        jsonw_key(w, "cause");
        jsonw_null(w);
        jsonw_key(w, "cause_chain");
        jsonw_null(w);
        jsonw_key(w, "code");
        if (g->code == REC_ABSENT)
            jsonw_null(w);
        else
            jsonw_int(w, g->code);
        jsonw_key(w, "details");
        if (at) {
            jsonw_obj_begin(w);
            jsonw_key(w, "metronome_type");
            jsonw_raw(w, "\"", 1);
            buf_puts(w->b, g->type);
            buf_putc(w->b, '"');
            jsonw_obj_end(w);
        } else {
            jsonw_null(w);
        }
        jsonw_key(w, "message");
        jsonw_raw(w, "\"", 1);
        buf_puts(w->b, g->msg);
        buf_putc(w->b, '"');
        jsonw_key(w, "type");
        if (at) {
            jsonw_str(w, at);
        } else {
            jsonw_raw(w, "\"", 1);
            buf_puts(w->b, g->type);
            buf_putc(w->b, '"');
        }
        jsonw_obj_end(w);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_key(w, "metrics_csv");
    char nm[512];
    report_export_name(prefix, "profile_export_aiperf.csv", nm, sizeof nm);
    snprintf(path, sizeof path, "phases/%s/%s", name, nm);
    jsonw_str(w, path);
    jsonw_key(w, "metrics_json");
    report_export_name(prefix, "profile_export_aiperf.json", nm, sizeof nm);
    snprintf(path, sizeof path, "phases/%s/%s", name, nm);
    jsonw_str(w, path);
    jsonw_key(w, "phase_index");
    jsonw_int(w, index);
    jsonw_key(w, "phase_kind");
    jsonw_str(w, name);
    jsonw_key(w, "phase_name");
    jsonw_str(w, name);
    jsonw_key(w, "profiling_index");
    if (warm)
        jsonw_null(w);
    else
        jsonw_int(w, 0);
    jsonw_key(w, "start_ns");
    if (span)
        jsonw_int(w, st);
    else
        jsonw_null(w);
    jsonw_key(w, "successful_request_count");
    jsonw_uint(w, s->n_valid);
    jsonw_key(w, "total_request_count");
    jsonw_uint(w, s->n_total);
    jsonw_key(w, "was_cancelled");
    jsonw_bool(w, ru->cancelled && !warm);
    jsonw_obj_end(w);
}

/* profile_export_aiperf.json, and AIPerf 0.13's per-phase layout: phases/<name>/
 * profile_export_aiperf.{json,csv} for warmup (when it ran) and profiling, indexed by
 * phase_manifest.json. */
int report_write_json(const struct run *ru, const struct report_opts *o, const char *dir,
                      struct report_result *res, struct diag *d)
{
    struct buf pb;
    buf_init(&pb, 1u << 30);
    int rc = json_doc(ru, o, dir, -1, &pb, d);
    if (!rc) {
        char nm[512];
        report_export_name(o->export_prefix, "profile_export_aiperf.json", nm, sizeof nm);
        rc = write_file(dir, nm, &pb, res, d);
    }
    const int phases[2] = {REC_WARMUP, REC_PROFILE};
    for (int k = 0; k < 2 && !rc; k++) {
        if (phases[k] == REC_WARMUP && !ru->has_warm)
            continue;
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/phases/%s", dir,
                 phases[k] == REC_WARMUP ? "warmup" : "profiling");
        rc = zio_mkdir_p(sub, d);
        if (rc)
            break;
        buf_reset(&pb);
        rc = json_doc(ru, o, dir, phases[k], &pb, d);
        char nm[512]; /* AIPerf names the per-phase files as the top-level ones */
        report_export_name(o->export_prefix, "profile_export_aiperf.json", nm, sizeof nm);
        if (!rc)
            rc = write_file(sub, nm, &pb, res, d);
        if (!rc) {
            buf_reset(&pb);
            csv_summary(&pb, phases[k] == REC_WARMUP ? &ru->warm : &ru->prof);
            report_export_name(o->export_prefix, "profile_export_aiperf.csv", nm, sizeof nm);
            rc = write_file(sub, nm, &pb, res, d);
        }
    }
    if (!rc) {
        struct buf mb;
        buf_init(&mb, 1u << 30);
        struct jsonw w;
        jsonw_init(&w, &mb);
        jsonw_obj_begin(&w);
        jsonw_key(&w, "phases");
        jsonw_arr_begin(&w);
        if (ru->has_warm)
            manifest_entry(&w, ru, REC_WARMUP, o->export_prefix);
        manifest_entry(&w, ru, REC_PROFILE, o->export_prefix);
        jsonw_arr_end(&w);
        jsonw_key(&w, "schema_version");
        jsonw_int(&w, 1);
        jsonw_obj_end(&w);
        buf_reset(&pb);
        pretty(&mb, &pb);
        buf_putc(&pb, '\n');
        rc = w.err ? diag_set(d, w.err, "phase_manifest.json: too large")
                   : write_file(dir, "phase_manifest.json", &pb, res, d);
        buf_free(&mb);
    }
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

/* AIPerf's metric tags only: metronome's own additions stay out of the AIPerf CSV (they
 * are in the JSON under their own tags, and in report.html). */
static bool aiperf_metric(int m)
{
    return !(metric_defs[m].flags & MF_OURS);
}

/* Ids >= M_COUNT stand for adj_<tag> rows (M_COUNT + index into report_adj_metric), then
 * for the sweeps (SWEEP_ID + index into report_sweep_tag). */
#define SWEEP_ID (M_COUNT + REPORT_NADJ)
static const char *row_tag(int id)
{
    return id >= SWEEP_ID  ? report_sweep_tag[id - SWEEP_ID]
           : id >= M_COUNT ? adj_tag[id - M_COUNT]
                           : metric_defs[id].tag;
}

/* Metric ids of s that are present, sorted by tag as AIPerf's CSV exporter sorts them. */
static size_t sorted_present(const struct rsummary *s, bool record, int *out)
{
    size_t n = 0;
    int end = record ? SWEEP_ID + REPORT_NSWEEP : M_COUNT;
    for (int m = record ? 0 : M_NRECORD; m < end; m++) {
        if (record && m >= M_NRECORD && m < M_COUNT)
            continue;
        bool has = m >= SWEEP_ID  ? s->sweep[m - SWEEP_ID].has
                   : m >= M_COUNT ? s->adj[m - M_COUNT].has
                   : record       ? s->m[m].count > 0
                                  : s->has_scalar[m];
        if (!has || (m < M_COUNT && !aiperf_metric(m)))
            continue;
        size_t k = n++;
        while (k > 0 && strcmp(row_tag(out[k - 1]), row_tag(m)) > 0) {
            out[k] = out[k - 1];
            k--;
        }
        out[k] = m;
    }
    return n;
}

/* "Header (unit)" as AIPerf's CSV names a row: no unit for "count" and "requests". */
static void csv_label(int m, char *out, size_t cap)
{
    const struct metric_def *md = &metric_defs[m];
    size_t hl = strlen(md->header);
    if (hl && md->header[hl - 1] == '\n')
        hl--;
    if (strcmp(md->unit, "count") == 0 || strcmp(md->unit, "requests") == 0)
        snprintf(out, cap, "%.*s", (int)hl, md->header);
    else
        snprintf(out, cap, "%.*s (%s)", (int)hl, md->header, md->unit);
}

/* profile_export_aiperf.csv as AIPerf 0.13's MetricsCsvExporter writes it: the metrics
 * with percentiles (Metric,avg,min,max,sum,p1..p99,std), a blank line, then the single-
 * value metrics (Metric,Value); rows sorted by tag, numbers "%.2f", CRLF line ends. */
static void csv_summary(struct buf *b, const struct rsummary *s)
{
    int ids[SWEEP_ID + REPORT_NSWEEP];
    char label[200];
    size_t nr = sorted_present(s, true, ids);
    if (nr)
        buf_puts(b, "Metric,avg,min,max,sum,p1,p5,p10,p25,p50,p75,p90,p95,p99,std\r\n");
    for (size_t i = 0; i < nr; i++) {
        int m = ids[i];
        double vals[4 + STATS_NPCT + 1];
        if (m >= SWEEP_ID) { /* a sweep: avg min max, p50 p90 p95 p99, std */
            const struct sweep_summary *x = &s->sweep[m - SWEEP_ID];
            const char *unit = report_sweep_unit[m - SWEEP_ID];
            if (strcmp(unit, "requests") == 0) /* AIPerf's CSV names no unit for it */
                snprintf(label, sizeof label, "%s", report_sweep_header[m - SWEEP_ID]);
            else
                snprintf(label, sizeof label, "%s (%s)", report_sweep_header[m - SWEEP_ID], unit);
            for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++)
                vals[k] = NAN;
            vals[0] = x->avg;
            vals[1] = x->min;
            vals[2] = x->max;
            vals[4 + 4] = x->p50;
            vals[4 + 6] = x->p90;
            vals[4 + 7] = x->p95;
            vals[4 + 8] = x->p99;
            vals[4 + STATS_NPCT] = x->std;
            csv_cell(b, label);
            for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
                buf_putc(b, ',');
                csv_num(b, vals[k]);
            }
            buf_puts(b, "\r\n");
            continue;
        }
        if (m >= M_COUNT) { /* adj_<tag>: finite statistics only, as in the JSON */
            const struct adj_summary *a = &s->adj[m - M_COUNT];
            m = report_adj_metric[ids[i] - M_COUNT];
            size_t hl = strlen(metric_defs[m].header);
            snprintf(label, sizeof label, "%.*s (error-adjusted) (%s)", (int)hl,
                     metric_defs[m].header, metric_defs[m].unit);
            vals[0] = vals[2] = vals[3] = vals[4 + STATS_NPCT] = NAN;
            vals[1] = a->min;
            for (int k = 0; k < STATS_NPCT; k++)
                vals[4 + k] = isfinite(a->pct[k]) ? a->pct[k] : NAN;
        } else {
            const struct stats_summary *x = &s->m[m];
            csv_label(m, label, sizeof label);
            vals[0] = x->avg;
            vals[1] = x->min;
            vals[2] = x->max;
            vals[3] = x->sum;
            for (int k = 0; k < STATS_NPCT; k++)
                vals[4 + k] = x->pct[k];
            vals[4 + STATS_NPCT] = x->std;
        }
        csv_cell(b, label);
        for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
            buf_putc(b, ',');
            csv_num(b, metric_display((enum metric_id)m, vals[k]));
        }
        buf_puts(b, "\r\n");
    }
    size_t ns = sorted_present(s, false, ids);
    if (nr && ns)
        buf_puts(b, "\r\n");
    if (ns)
        buf_puts(b, "Metric,Value\r\n");
    for (size_t i = 0; i < ns; i++) {
        int m = ids[i];
        csv_label(m, label, sizeof label);
        csv_cell(b, label);
        buf_putc(b, ',');
        csv_num(b, metric_display((enum metric_id)m, s->scalar[m]));
        buf_puts(b, "\r\n");
    }
}

int report_write_csv(const struct run *ru, const char *prefix, const char *dir,
                     struct report_result *res, struct diag *d)
{
    struct buf b;
    buf_init(&b, 1u << 28);
    csv_summary(&b, &ru->prof);
    char nm[512];
    report_export_name(prefix, "profile_export_aiperf.csv", nm, sizeof nm);
    int rc = write_file(dir, nm, &b, res, d);
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

/* One slice in AIPerf 0.13's tidy timeslice CSV (TimesliceMetricsCsvExporter):
 * "Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value", one row per statistic that exists,
 * metrics sorted by tag, the metric's header without unit. */
static void csv_tidy_rows(struct buf *b, const struct rsummary *s, size_t k, int64_t lo, int64_t hi)
{
    int ids[SWEEP_ID + REPORT_NSWEEP];
    char pre[96], label[160];
    snprintf(pre, sizeof pre, "%zu,%lld,%lld,", k, (long long)lo, (long long)hi);
    for (int pass = 0; pass < 2; pass++) {
        size_t n = sorted_present(s, pass == 0, ids);
        for (size_t i = 0; i < n; i++) {
            int m = ids[i];
            if (m >= M_COUNT)
                continue; /* adj_* are run-level only */
            const struct metric_def *md = &metric_defs[m];
            size_t hl = strlen(md->header);
            if (hl && md->header[hl - 1] == '\n')
                hl--;
            snprintf(label, sizeof label, "%.*s", (int)hl, md->header);
            const char *names[4 + STATS_NPCT + 1];
            double vals[4 + STATS_NPCT + 1];
            size_t nv = 0;
            if (pass == 1) {
                names[nv] = "avg";
                vals[nv++] = s->scalar[m];
            } else {
                const struct stats_summary *x = &s->m[m];
                names[0] = "avg", vals[0] = x->avg;
                names[1] = "min", vals[1] = x->min;
                names[2] = "max", vals[2] = x->max;
                names[3] = "sum", vals[3] = x->sum;
                nv = 4;
                for (int q = 0; q < STATS_NPCT; q++) {
                    names[nv] = stats_pct_name[q];
                    vals[nv++] = x->pct[q];
                }
                names[nv] = "std";
                vals[nv++] = x->std;
            }
            for (size_t q = 0; q < nv; q++) {
                double v = metric_display((enum metric_id)m, vals[q]);
                if (isnan(v))
                    continue;
                buf_puts(b, pre);
                csv_cell(b, label);
                buf_putc(b, ',');
                csv_cell(b, md->unit);
                buf_putc(b, ',');
                buf_puts(b, names[q]);
                buf_putc(b, ',');
                csv_num(b, v);
                buf_puts(b, "\r\n");
            }
        }
    }
}

/* profile_export_aiperf_timeslices.json/.csv in AIPerf 0.13's shape: each slice carries
 * start_ns/end_ns (epoch) and is_complete false when the run ended inside it (AIPerf
 * leaves such a trailing partial slice out of aggregates); metronome's start_sec/end_sec,
 * start_time and timeslice_index stay beside them. */
int report_write_slices(const struct run *ru, const struct report_opts *o, const char *dir,
                        struct report_result *res, struct diag *d)
{
    int64_t t0 = INT64_MAX, t1 = INT64_MIN, tend = INT64_MIN;
    for (size_t i = 0; i < ru->n; i++) {
        const struct rrec *r = &ru->r[i];
        if (r->phase != REC_PROFILE || r->t_start == RR_NONE)
            continue;
        if (r->t_start < t0)
            t0 = r->t_start;
        if (r->t_start > t1)
            t1 = r->t_start;
        int64_t e = r->t_end != RR_NONE ? r->t_end : r->t_last;
        if (e != RR_NONE && e > tend)
            tend = e;
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
    buf_puts(&cb, "Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value\r\n");
    for (size_t k = 0; k < nslices; k++) {
        struct slice_sel s = {t0 + (int64_t)k * dur, t0 + (int64_t)(k + 1) * dur};
        struct rsummary sm;
        report_summarize(ru, sel_slice, &s, NULL, o->verdict, &sm);
        jsonw_obj_begin(&w);
        jsonw_key(&w, "timeslice_index");
        jsonw_uint(&w, k);
        jsonw_key(&w, "start_ns");
        jsonw_int(&w, ru->base_real + s.lo);
        jsonw_key(&w, "end_ns");
        jsonw_int(&w, ru->base_real + s.hi);
        if (k + 1 == nslices && s.hi > tend) {
            jsonw_key(&w, "is_complete");
            jsonw_bool(&w, false);
        }
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
        csv_tidy_rows(&cb, &sm, k, ru->base_real + s.lo, ru->base_real + s.hi);
    }
    jsonw_arr_end(&w);
    jsonw_obj_end(&w);
    struct buf pb;
    buf_init(&pb, 1u << 30);
    pretty(&jb, &pb);
    char nm[512];
    report_export_name(o->export_prefix, "profile_export_aiperf_timeslices.json", nm, sizeof nm);
    int rc = write_file(dir, nm, &pb, res, d);
    if (!rc) {
        report_export_name(o->export_prefix, "profile_export_aiperf_timeslices.csv", nm, sizeof nm);
        rc = write_file(dir, nm, &cb, res, d);
    }
    buf_free(&jb);
    buf_free(&cb);
    buf_free(&pb);
    return rc;
}

/* ------------------------------------------------------------------ JSONL */

/* A string literal appended without strlen (the per-record loop runs 10^6 times). */
#define PUTL(b, lit) buf_append((b), (lit), sizeof(lit) - 1)

struct jsonl_out {
    struct afile f, rf; /* profile_export.jsonl, profile_export_raw.jsonl */
    bool main, raw;     /* which of them are written */
    struct buf line, rline;
};

int report_jsonl_open(struct jsonl_out **out, const char *dir, const char *prefix, bool main,
                      bool raw, struct diag *d)
{
    struct jsonl_out *j = xcalloc(1, sizeof *j);
    char path[4096], nm[512];
    int rc = 0;
    if (main) {
        report_export_name(prefix, "profile_export.jsonl", nm, sizeof nm);
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        rc = afile_open(&j->f, path, d);
        if (rc) {
            free(j);
            return rc;
        }
    }
    if (raw) {
        report_export_name(prefix, "profile_export_raw.jsonl", nm, sizeof nm);
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        rc = afile_open(&j->rf, path, d);
        if (rc) {
            if (main)
                afile_abort(&j->f);
            free(j);
            return rc;
        }
    }
    j->main = main;
    j->raw = raw;
    buf_init(&j->line, 1u << 30);
    buf_init(&j->rline, 1u << 30);
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

/* ---- trace_data (profile --export-http-trace; replay --record-http) ---- */

/* ,"KEY":epoch_ns when the time was taken; AIPerf leaves unset fields out of the line */
static void put_tkey(struct buf *b, const char *key, const struct run *ru, int64_t t, bool have)
{
    if (!have)
        return;
    buf_puts(b, key);
    put_int(b, ru->base_real + t);
}

/* ,"KEY":z-a (ns) when both ends were taken */
static void put_dkey(struct buf *b, const char *key, int64_t a, bool ha, int64_t z, bool hz)
{
    if (!ha || !hz)
        return;
    buf_puts(b, key);
    put_int(b, z - a);
}

/* The JSON text of a string (escaped as jsonw escapes it). */
static void put_jstr(struct buf *b, const char *s)
{
    struct jsonw w;
    jsonw_init(&w, b);
    jsonw_str(&w, s);
}

/* ,"KEY":{"name":"value",...} from the record's [["name","value"],...] (a repeated name
 * keeps its last value, as a dict built from the headers does); nothing when absent. */
static void put_headers(struct buf *b, const char *key, const cJSON *list)
{
    if (!cJSON_IsArray(list))
        return;
    cJSON *seen = cJSON_CreateObject(); /* last value per name, first position kept */
    const cJSON *pr;
    cJSON_ArrayForEach(pr, list)
    {
        const char *n = cJSON_GetStringValue(cJSON_GetArrayItem(pr, 0));
        const char *v = cJSON_GetStringValue(cJSON_GetArrayItem(pr, 1));
        if (!n || !v)
            continue;
        if (cJSON_GetObjectItemCaseSensitive(seen, n))
            cJSON_ReplaceItemInObjectCaseSensitive(seen, n, cJSON_CreateString(v));
        else
            cJSON_AddStringToObject(seen, n, v);
    }
    buf_puts(b, key);
    buf_putc(b, '{');
    bool first = true;
    const cJSON *it;
    cJSON_ArrayForEach(it, seen)
    {
        if (!first)
            buf_putc(b, ',');
        first = false;
        put_jstr(b, it->string);
        buf_putc(b, ':');
        put_jstr(b, it->valuestring);
    }
    buf_putc(b, '}');
    cJSON_Delete(seen);
}

/* [[epoch_ns,bytes],...]; *n, *first_t, *last_t, *bytes summarise it. */
static void put_io(struct buf *b, const struct run *ru, const cJSON *list, int64_t *n,
                   int64_t *first_t, int64_t *last_t, int64_t *bytes)
{
    *n = *bytes = 0;
    buf_putc(b, '[');
    const cJSON *pr;
    cJSON_ArrayForEach(pr, list)
    {
        const cJSON *t = cJSON_GetArrayItem(pr, 0), *k = cJSON_GetArrayItem(pr, 1);
        if (!cJSON_IsNumber(t) || !cJSON_IsNumber(k))
            continue;
        if (*n)
            buf_putc(b, ',');
        int64_t tv = (int64_t)t->valuedouble, kv = (int64_t)k->valuedouble;
        buf_putc(b, '[');
        put_int(b, ru->base_real + tv);
        buf_putc(b, ',');
        put_int(b, kv);
        buf_putc(b, ']');
        if (!*n)
            *first_t = tv;
        *last_t = tv;
        *bytes += kv;
        (*n)++;
    }
    buf_putc(b, ']');
}

/* ,"trace_data":{...} with the keys of AIPerf 0.13's aiohttp export model, in its order,
 * unset ones left out as AIPerf leaves them out: times as wall-clock ns, durations as ns.
 * The DNS and pool-wait fields are never set (replay resolves names once, before the run,
 * and has no shared pool to wait on). */
static void put_trace_data(struct buf *b, const struct run *ru, const struct rec *r)
{
    char *txt = xmalloc(r->http.n + 1);
    memcpy(txt, r->http.p, r->http.n);
    txt[r->http.n] = '\0';
    cJSON *h = cJSON_Parse(txt);
    free(txt);
    if (!h)
        return; /* the reader checked its syntax already; a cJSON failure is memory */
    int64_t ntx, tx0 = 0, txz = 0, txb, nrx, rx0 = 0, rxz = 0, rxb;
    bool have_start = r->t_start != REC_ABSENT, have_head = r->t_head != REC_ABSENT;
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(h, "head_sent");
    bool have_hs = cJSON_IsNumber(hs);
    int64_t t_hs = have_hs ? (int64_t)hs->valuedouble : 0;
    struct buf tx, rx;
    buf_init(&tx, 1u << 30);
    buf_init(&rx, 1u << 30);
    put_io(&tx, ru, cJSON_GetObjectItemCaseSensitive(h, "tx"), &ntx, &tx0, &txz, &txb);
    put_io(&rx, ru, cJSON_GetObjectItemCaseSensitive(h, "rx"), &nrx, &rx0, &rxz, &rxb);
    /* the last body write; a request without a body ends with its head */
    bool have_send_end = ntx > 0 || have_hs;
    int64_t send_end = ntx > 0 ? txz : t_hs;

    PUTL(b, ",\"trace_data\":{\"trace_type\":\"aiohttp\"");
    put_tkey(b, ",\"request_send_start_ns\":", ru, r->t_start, have_start);
    put_headers(b, ",\"request_headers\":", cJSON_GetObjectItemCaseSensitive(h, "req_headers"));
    put_tkey(b, ",\"request_headers_sent_ns\":", ru, t_hs, have_hs);
    PUTL(b, ",\"request_chunks\":");
    buf_append(b, tx.p ? tx.p : "[]", tx.p ? tx.len : 2);
    put_tkey(b, ",\"request_send_end_ns\":", ru, send_end, have_send_end);
    PUTL(b, ",\"request_chunks_count\":");
    put_int(b, r->tx_writes != REC_ABSENT ? r->tx_writes : ntx);
    PUTL(b, ",\"request_bytes_total\":");
    put_int(b, r->tx_bytes != REC_ABSENT ? r->tx_bytes : txb);
    if (have_head && r->status > 0) {
        PUTL(b, ",\"response_status_code\":");
        put_int(b, r->status);
        const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "reason"));
        if (reason) {
            PUTL(b, ",\"response_reason\":");
            put_jstr(b, reason);
        }
    }
    put_tkey(b, ",\"response_receive_start_ns\":", ru, rx0, nrx > 0);
    if (have_head)
        put_headers(b,
                    ",\"response_headers\":", cJSON_GetObjectItemCaseSensitive(h, "resp_headers"));
    put_tkey(b, ",\"response_headers_received_ns\":", ru, r->t_head, have_head);
    PUTL(b, ",\"response_chunks\":");
    buf_append(b, rx.p ? rx.p : "[]", rx.p ? rx.len : 2);
    int64_t nreads = r->rx_reads != REC_ABSENT ? r->rx_reads : nrx;
    PUTL(b, ",\"response_chunks_count\":");
    put_int(b, nreads);
    PUTL(b, ",\"response_bytes_total\":");
    put_int(b, r->rx_bytes != REC_ABSENT ? r->rx_bytes : rxb);
    put_tkey(b, ",\"response_receive_end_ns\":", ru, rxz, nrx > 0);
    /* an exception in aiohttp's terms: the request failed other than by its HTTP status */
    bool exc =
        r->has_error && !(r->err_type.n == 4 && r->err_type.p && !memcmp(r->err_type.p, "http", 4));
    put_tkey(b, ",\"error_timestamp_ns\":", ru, r->t_end, exc && r->t_end != REC_ABSENT);
    /* a connection opened for this request (not reused, not opened ahead of it) */
    bool fresh =
        !r->reused && r->preconnect_ns == REC_ABSENT && have_start && r->t_connected != REC_ABSENT;
    int64_t conn_end =
        r->t_tls != REC_ABSENT && r->t_tls > r->t_connected ? r->t_tls : r->t_connected;
    put_tkey(b, ",\"tcp_connect_start_ns\":", ru, r->t_start, fresh);
    put_tkey(b, ",\"tcp_connect_end_ns\":", ru, conn_end, fresh);
    put_tkey(b, ",\"connection_reused_ns\":", ru, r->t_start,
             have_start && !fresh && r->t_connected != REC_ABSENT);
    const char *lip = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "local"));
    const char *rip = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "remote"));
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(h, "local_port");
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(h, "remote_port");
    if (lip && *lip) {
        PUTL(b, ",\"local_ip\":");
        put_jstr(b, lip);
    }
    if (cJSON_IsNumber(lp) && lp->valuedouble >= 1) {
        PUTL(b, ",\"local_port\":");
        put_int(b, (int64_t)lp->valuedouble);
    }
    if (rip && *rip) {
        PUTL(b, ",\"remote_ip\":");
        put_jstr(b, rip);
    }
    if (cJSON_IsNumber(rp) && rp->valuedouble >= 1) {
        PUTL(b, ",\"remote_port\":");
        put_int(b, (int64_t)rp->valuedouble);
    }
    /* the computed durations, as AIPerf's export model derives them */
    put_dkey(b, ",\"sending_ns\":", r->t_start, have_start, send_end, have_send_end);
    put_dkey(b, ",\"waiting_ns\":", send_end, have_send_end, rx0, nrx > 0);
    if (nreads == 1)
        PUTL(b, ",\"receiving_ns\":0");
    else if (nreads > 1)
        put_dkey(b, ",\"receiving_ns\":", rx0, nrx > 0, rxz, nrx > 0);
    put_dkey(b, ",\"duration_ns\":", r->t_start, have_start, rxz, nrx > 0);
    put_dkey(b, ",\"connecting_ns\":", r->t_start, fresh, conn_end, fresh);
    buf_putc(b, '}');
    buf_free(&tx);
    buf_free(&rx);
    cJSON_Delete(h);
}

/* ---- profile_export_raw.jsonl (profile --export-level raw; replay --record-responses) ---- */

/* One line per record, as AIPerf 0.13's raw record writer has them: the profile line's
 * metadata; start_perf_ns and each response's perf_ns on the monotonic clock (what Python's
 * perf_counter_ns reads on Linux; replay's clock); the request headers metronome set (Host and
 * Content-Length, which the HTTP layer adds, left out as aiohttp leaves them out), credentials
 * <redacted>; the status; each SSE event as {"perf_ns", "packets": [{"name","value"}...]} or
 * the non-streaming body as {"perf_ns", "text", "content_type"}; the profile line's error;
 * the request body as sent, last. Unset keys are left out, as AIPerf leaves them out. */
static void put_raw_line(struct buf *o, const struct run *ru, const struct rec *r, const char *meta,
                         size_t meta_n, const char *err, size_t err_n)
{
    cJSON *h = NULL;
    if (r->http.n) {
        char *txt = xmalloc(r->http.n + 1);
        memcpy(txt, r->http.p, r->http.n);
        txt[r->http.n] = '\0';
        h = cJSON_Parse(txt);
        free(txt);
    }
    PUTL(o, "{\"metadata\":");
    buf_append(o, meta, meta_n);
    int64_t t0 = r->t_start != REC_ABSENT ? r->t_start : r->t_intended;
    if (t0 != REC_ABSENT) {
        PUTL(o, ",\"start_perf_ns\":");
        put_int(o, ru->base_mono + t0);
    }
    const cJSON *rq = cJSON_GetObjectItemCaseSensitive(h, "req_headers");
    const char *ctype = NULL;
    const cJSON *pr;
    cJSON_ArrayForEach(pr, cJSON_GetObjectItemCaseSensitive(h, "resp_headers"))
    {
        const char *n = cJSON_GetStringValue(cJSON_GetArrayItem(pr, 0));
        if (n && !strcasecmp(n, "content-type"))
            ctype = cJSON_GetStringValue(cJSON_GetArrayItem(pr, 1));
    }
    if (cJSON_IsArray(rq)) {
        PUTL(o, ",\"request_headers\":{");
        bool first = true;
        cJSON_ArrayForEach(pr, rq)
        {
            const char *n = cJSON_GetStringValue(cJSON_GetArrayItem(pr, 0));
            const char *v = cJSON_GetStringValue(cJSON_GetArrayItem(pr, 1));
            if (!n || !v || !strcasecmp(n, "host") || !strcasecmp(n, "content-length"))
                continue;
            if (!first)
                buf_putc(o, ',');
            first = false;
            put_jstr(o, n);
            buf_putc(o, ':');
            put_jstr(o, v);
        }
        buf_putc(o, '}');
    }
    if (r->status > 0) {
        PUTL(o, ",\"status\":");
        put_int(o, r->status);
    }
    bool sse = ctype && !strncasecmp(ctype, "text/event-stream", 17);
    PUTL(o, ",\"responses\":[");
    bool first = true;
    cJSON_ArrayForEach(pr, cJSON_GetObjectItemCaseSensitive(h, "resp"))
    {
        const cJSON *t = cJSON_GetArrayItem(pr, 0);
        const char *type = cJSON_GetStringValue(cJSON_GetArrayItem(pr, 1));
        const char *data = cJSON_GetStringValue(cJSON_GetArrayItem(pr, 2));
        if (!cJSON_IsNumber(t) || !type || !data)
            continue;
        if (!first)
            buf_putc(o, ',');
        first = false;
        PUTL(o, "{\"perf_ns\":");
        put_int(o, ru->base_mono + (int64_t)t->valuedouble);
        if (sse) {
            PUTL(o, ",\"packets\":[");
            if (*type) {
                PUTL(o, "{\"name\":\"event\",\"value\":");
                put_jstr(o, type);
                PUTL(o, "},");
            }
            PUTL(o, "{\"name\":\"data\",\"value\":");
            put_jstr(o, data);
            PUTL(o, "}]}");
        } else {
            PUTL(o, ",\"text\":");
            put_jstr(o, data);
            if (ctype) {
                PUTL(o, ",\"content_type\":");
                put_jstr(o, ctype);
            }
            buf_putc(o, '}');
        }
    }
    buf_putc(o, ']');
    if (err) {
        buf_putc(o, ',');
        buf_append(o, err, err_n);
    }
    /* the body as sent: spliced as it is when it is JSON (it is, for every endpoint but a
     * raw payload that is not), else as a string */
    const char *pl = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "payload"));
    if (pl) {
        PUTL(o, ",\"payload\":");
        cJSON *pj = cJSON_Parse(pl);
        if (pj && (cJSON_IsObject(pj) || cJSON_IsArray(pj)))
            buf_puts(o, pl);
        else
            put_jstr(o, pl);
        cJSON_Delete(pj);
    }
    PUTL(o, "}\n");
    cJSON_Delete(h);
}

void report_jsonl_record(struct jsonl_out *j, const struct run *ru, const struct rec *r,
                         const struct rrec *rr, const int64_t *icl, size_t nicl)
{
    struct buf *b = &j->line;
    size_t line_from = b->len, meta_from = b->len + sizeof "{\"metadata\":" - 1;
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
    /* AIPerf 0.13 writes warmup records too, tagged with their phase */
    if (r->phase == REC_WARMUP)
        PUTL(b, "\",\"record_processor_id\":\"metronome_report\",\"benchmark_phase\":\"warmup\","
                "\"phase_index\":0,\"phase_name\":\"warmup\",\"phase_kind\":\"warmup\","
                "\"was_cancelled\":");
    else if (ru->has_warmup_phase)
        PUTL(b, "\",\"record_processor_id\":\"metronome_report\",\"benchmark_phase\":\"profiling\","
                "\"phase_index\":1,\"phase_name\":\"profiling\",\"phase_kind\":\"profiling\","
                "\"was_cancelled\":");
    else
        PUTL(b, "\",\"record_processor_id\":\"metronome_report\",\"benchmark_phase\":\"profiling\","
                "\"phase_index\":0,\"phase_name\":\"profiling\",\"phase_kind\":\"profiling\","
                "\"was_cancelled\":");
    buf_puts(b, r->cancelled ? "true" : "false");
    PUTL(b, ",\"cancellation_time_ns\":");
    put_epoch(b, ru, r->cancelled ? (rr->t_end != RR_NONE ? rr->t_end : RR_NONE) : RR_NONE);
    size_t meta_to = b->len + 1;
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
            } else if ((md->flags & MF_INT) && !(md->flags & MF_KB)) {
                put_int(b, (int64_t)v);
            } else { /* bytes go out in KB, as AIPerf converts each record's value */
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
    PUTL(b, "}");
    if (r->http.n && j->main && ru->http_trace)
        put_trace_data(b, ru, r);
    size_t err_from = b->len + 1; /* "error":... up to the line's closing brace */
    PUTL(b, ",\"error\":");
    if (r->has_error) {
        PUTL(b, "{\"code\":");
        if (r->err_code == REC_ABSENT)
            PUTL(b, "null");
        else
            put_int(b, r->err_code);
        const char *at = report_aiperf_error_type(r->err_type.p ? r->err_type.p : "", r->err_type.n,
                                                  r->err_code);
        PUTL(b, ",\"type\":\"");
        if (at)
            buf_puts(b, at);
        else
            buf_append(b, r->err_type.p ? r->err_type.p : "", r->err_type.n);
        PUTL(b, "\",\"message\":\"");
        buf_append(b, r->err_msg.p ? r->err_msg.p : "", r->err_msg.n);
        if (at) {
            PUTL(b, "\",\"details\":{\"metronome_type\":\"");
            buf_append(b, r->err_type.p ? r->err_type.p : "", r->err_type.n);
            PUTL(b, "\"}}");
        } else {
            PUTL(b, "\"}");
        }
    } else {
        PUTL(b, "null");
    }
    PUTL(b, "}\n");
    if (j->raw)
        put_raw_line(&j->rline, ru, r, b->p + meta_from, meta_to - meta_from,
                     r->has_error ? b->p + err_from : NULL, b->len - 2 - err_from);
    if (!j->main) { /* the line was built for its metadata only */
        b->len = line_from;
        if (b->p)
            b->p[line_from] = '\0';
    }
    /* Lines collect in one buffer written in 1 MiB pieces, which stdio hands to write()
     * without copying them again. */
    if (j->main && b->len >= (1u << 20)) {
        fwrite(b->p, 1, b->len, j->f.f);
        buf_reset(b);
    }
    if (j->raw && j->rline.len >= (1u << 20)) {
        fwrite(j->rline.p, 1, j->rline.len, j->rf.f);
        buf_reset(&j->rline);
    }
}

int report_jsonl_commit(struct jsonl_out *j, struct report_result *res, struct diag *d)
{
    int rc = 0;
    for (int k = 0; k < 2; k++) {
        struct afile *f = k ? &j->rf : &j->f;
        struct buf *b = k ? &j->rline : &j->line;
        if (!(k ? j->raw : j->main))
            continue;
        if (rc) {
            afile_abort(f);
            continue;
        }
        if (b->len)
            fwrite(b->p, 1, b->len, f->f);
        char *path = xstrdup(f->path);
        rc = afile_commit(f, d);
        if (!rc)
            add_written(res, path);
        free(path);
    }
    buf_free(&j->line);
    buf_free(&j->rline);
    free(j);
    return rc;
}

void report_jsonl_abort(struct jsonl_out *j)
{
    if (!j)
        return;
    if (j->main)
        afile_abort(&j->f);
    if (j->raw)
        afile_abort(&j->rf);
    buf_free(&j->line);
    buf_free(&j->rline);
    free(j);
}

/* ------------------------------------------------------------------ outputs.json */

/* AIPerf 0.13's --export-outputs-json (its OutputsJsonRecordProcessor and exporter): one
 * entry per profiling record with its identifiers, six per-request metrics in display
 * units, and the generated text (content, not reasoning; null when none was recorded),
 * sorted by (session_num, turn_index), as {"schema_version": "1.0", "data": [...]}.
 * Entries are kept in memory until the end (the text is the bulk of it). */
struct outputs_entry {
    int64_t session, turn;
    size_t off, len; /* in outputs_out.text */
};

struct outputs_out {
    char *path;
    struct buf text;
    struct outputs_entry *e;
    size_t n, cap;
};

int report_outputs_open(struct outputs_out **out, const char *dir, struct diag *d)
{
    (void)d;
    struct outputs_out *o = xcalloc(1, sizeof *o);
    char path[4096];
    snprintf(path, sizeof path, "%s/outputs.json", dir);
    o->path = xstrdup(path);
    buf_init(&o->text, 0);
    *out = o;
    return 0;
}

void report_outputs_record(struct outputs_out *o, const struct run *ru, const struct rec *r,
                           const struct rrec *rr)
{
    if (r->phase != REC_PROFILE)
        return;
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 1024;
        o->e = xrealloc(o->e, o->cap * sizeof *o->e);
    }
    struct outputs_entry *e = &o->e[o->n++];
    e->session = r->i;
    e->turn = r->turn;
    e->off = o->text.len;
    struct buf *b = &o->text;
    PUTL(b, "    {\n      \"session_num\": ");
    put_int(b, r->i);
    PUTL(b, ",\n      \"conversation_id\": \"");
    buf_append(b, r->conv.p ? r->conv.p : "", r->conv.n);
    PUTL(b, "\",\n      \"turn_index\": ");
    put_int(b, r->turn);
    PUTL(b, ",\n      \"x_request_id\": \"");
    put_int(b, r->i);
    PUTL(b, "\",\n      \"request_start_ns\": ");
    put_epoch(b, ru, rr->t_start);
    PUTL(b, ",\n      \"request_end_ns\": ");
    put_epoch(b, ru, rr->t_end != RR_NONE ? rr->t_end : rr->t_last);
    PUTL(b, ",\n      \"metrics\": {");
    static const enum metric_id allow[] = {M_ISL, M_OUT_COUNT, M_OSL, M_LATENCY, M_TTFT, M_ITL};
    bool first = true;
    for (size_t k = 0; (rr->flags & RR_VALID) && k < sizeof allow / sizeof allow[0]; k++) {
        double v;
        if (!metric_value(rr, allow[k], &v))
            continue;
        const struct metric_def *md = &metric_defs[allow[k]];
        buf_puts(b, first ? "\n        \"" : ",\n        \"");
        first = false;
        buf_puts(b, md->tag);
        PUTL(b, "\": ");
        if ((md->flags & MF_TIME) && (md->flags & MF_INT)) {
            put_ms(b, (int64_t)v);
        } else if (md->flags & MF_INT) {
            put_int(b, (int64_t)v);
        } else {
            char tmp[40];
            int n = numfmt_double(tmp, metric_display(allow[k], v));
            buf_append(b, tmp, (size_t)n);
        }
    }
    buf_puts(b, first ? "}" : "\n      }");
    PUTL(b, ",\n      \"response_text\": ");
    if (r->has_text && r->text.n) { /* still JSON-escaped: written as is */
        buf_putc(b, '"');
        buf_append(b, r->text.p, r->text.n);
        buf_putc(b, '"');
    } else {
        PUTL(b, "null");
    }
    PUTL(b, "\n    }");
    e->len = o->text.len - e->off;
}

static int outputs_cmp(const void *a, const void *b)
{
    const struct outputs_entry *x = a, *y = b;
    if (x->session != y->session)
        return x->session < y->session ? -1 : 1;
    return (x->turn > y->turn) - (x->turn < y->turn);
}

void report_outputs_abort(struct outputs_out *o)
{
    if (!o)
        return;
    free(o->path);
    free(o->e);
    buf_free(&o->text);
    free(o);
}

int report_outputs_commit(struct outputs_out *o, struct report_result *res, struct diag *d)
{
    qsort(o->e, o->n, sizeof *o->e, outputs_cmp);
    struct buf out;
    buf_init(&out, 0);
    PUTL(&out, "{\n  \"schema_version\": \"1.0\",\n  \"data\": [");
    for (size_t k = 0; k < o->n; k++) {
        buf_puts(&out, k ? ",\n" : "\n");
        buf_append(&out, o->text.p + o->e[k].off, o->e[k].len);
    }
    buf_puts(&out, o->n ? "\n  ]\n}" : "]\n}");
    int rc = afile_write_all(o->path, out.p, out.len, d);
    if (!rc)
        add_written(res, o->path);
    buf_free(&out);
    report_outputs_abort(o);
    return rc;
}
