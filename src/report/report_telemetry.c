/*
 * The server's side of a run (docs/server-metrics.md): reads RUN_DIR/server_metrics.jsonl.zst
 * (written by the collector, scrape.h) and writes
 *   - server_metrics_export.jsonl: one line per scrape of a server target, AIPerf 0.13's
 *     slim record (endpoint_url, timestamp_ns, endpoint_latency_ns, request_sent_ns,
 *     metrics: family -> samples with labels and value, or buckets/sum/count);
 *   - gpu_telemetry_export.jsonl: one line per GPU per scrape of a DCGM target, AIPerf's
 *     TelemetryRecord (gpu metadata, timestamp_ns, telemetry_source_url, telemetry_data
 *     with AIPerf's field names and units);
 *   - server_metrics_crosscheck.json and a console section: the key series over the
 *     profiling window and the server's TTFT / e2e / ITL histograms against ours over the
 *     same window (client-and-network overhead per metric).
 * Reads only the run dir; never the network.
 */
#include "report_int.h"

#include "jsonw.h"
#include "records_read.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ser {
    S_RUNNING,
    S_WAITING,
    S_KV,
    S_PFX_HITS,
    S_PFX_QUERIES,
    S_PFX_RATE, /* SGLang reports the rate itself */
    S_GEN_TOK,
    S_PROMPT_TOK,
    S_REQ_OK,
    S_GPU_UTIL,
    S_GPU_MEM,
    S_GPU_POWER,
    S_GPU_SM,
    S_GPU_ENERGY,
    S_N
};
enum hid { H_TTFT, H_E2E, H_ITL, H_N };
#define NB_MAX 40

/* Sample names per series, vLLM first, then SGLang, TensorRT-LLM and Dynamo's frontend. */
static const struct {
    const char *name;
    int ser;
} ser_names[] = {
    {"vllm:num_requests_running", S_RUNNING},
    {"sglang:num_running_reqs", S_RUNNING},
    {"dynamo_frontend_inflight_requests", S_RUNNING},
    {"vllm:num_requests_waiting", S_WAITING},
    {"sglang:num_queue_reqs", S_WAITING},
    {"dynamo_frontend_queued_requests", S_WAITING},
    {"vllm:kv_cache_usage_perc", S_KV},
    {"vllm:gpu_cache_usage_perc", S_KV},
    {"sglang:token_usage", S_KV},
    {"vllm:prefix_cache_hits_total", S_PFX_HITS},
    {"vllm:prefix_cache_queries_total", S_PFX_QUERIES},
    {"sglang:cache_hit_rate", S_PFX_RATE},
    {"vllm:generation_tokens_total", S_GEN_TOK},
    {"sglang:generation_tokens_total", S_GEN_TOK},
    {"vllm:prompt_tokens_total", S_PROMPT_TOK},
    {"sglang:prompt_tokens_total", S_PROMPT_TOK},
    {"vllm:request_success_total", S_REQ_OK},
    {"DCGM_FI_DEV_GPU_UTIL", S_GPU_UTIL},
    {"DCGM_FI_DEV_FB_USED", S_GPU_MEM},
    {"DCGM_FI_DEV_POWER_USAGE", S_GPU_POWER},
    {"DCGM_FI_DEV_SM_CLOCK", S_GPU_SM},
    {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", S_GPU_ENERGY},
};

static const struct {
    const char *family;
    int h;
} hist_names[] = {
    {"vllm:time_to_first_token_seconds", H_TTFT},
    {"sglang:time_to_first_token_seconds", H_TTFT},
    {"trtllm_time_to_first_token_seconds", H_TTFT},
    {"dynamo_frontend_time_to_first_token_seconds", H_TTFT},
    {"vllm:e2e_request_latency_seconds", H_E2E},
    {"sglang:e2e_request_latency_seconds", H_E2E},
    {"trtllm_e2e_request_latency_seconds", H_E2E},
    {"dynamo_frontend_request_duration_seconds", H_E2E},
    {"vllm:inter_token_latency_seconds", H_ITL},
    {"sglang:inter_token_latency_seconds", H_ITL},
    {"trtllm_time_per_output_token_seconds", H_ITL},
    {"dynamo_frontend_inter_token_latency_seconds", H_ITL},
};

/* Averaged over label sets (GPUs) rather than summed. */
static bool ser_mean(int s)
{
    return s == S_GPU_UTIL || s == S_GPU_SM || s == S_KV || s == S_PFX_RATE;
}

struct scrape_pt {
    int64_t t_ns, end_ns;
    int target;
    double v[S_N];
    int nv[S_N]; /* label sets summed into v */
    double hsum[H_N], hcount[H_N];
    double hb[H_N][NB_MAX]; /* cumulative bucket counts */
    int nb[H_N];
    const char *hname[H_N]; /* static: the family that matched */
};

struct tel {
    struct scrape_pt *p;
    size_t n, cap;
    char **url;
    int *is_gpu;
    size_t ntargets;
    double bounds[H_N][NB_MAX];
    int nbounds[H_N];
};

static bool has_suffix(const char *s, size_t n, const char *suf, size_t *base)
{
    size_t k = strlen(suf);
    if (n < k || strcmp(s + n - k, suf) != 0)
        return false;
    *base = n - k;
    return true;
}

static void extract(struct tel *t, struct scrape_pt *pt, const cJSON *samples)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, samples)
    {
        const cJSON *jn = cJSON_GetArrayItem(s, 0), *jl = cJSON_GetArrayItem(s, 1),
                    *jv = cJSON_GetArrayItem(s, 2);
        if (!cJSON_IsString(jn))
            continue;
        bool ok;
        double v = report_sample_value(jv, &ok);
        if (!ok)
            continue;
        const char *name = jn->valuestring;
        size_t n = strlen(name);
        for (size_t i = 0; i < sizeof ser_names / sizeof ser_names[0]; i++) {
            if (strcmp(ser_names[i].name, name) == 0) {
                pt->v[ser_names[i].ser] += v;
                pt->nv[ser_names[i].ser]++;
                break;
            }
        }
        size_t base;
        int part = has_suffix(name, n, "_sum", &base)      ? 0
                   : has_suffix(name, n, "_count", &base)  ? 1
                   : has_suffix(name, n, "_bucket", &base) ? 2
                                                           : -1;
        if (part < 0)
            continue;
        for (size_t i = 0; i < sizeof hist_names / sizeof hist_names[0]; i++) {
            const char *f = hist_names[i].family;
            if (strlen(f) != base || strncmp(f, name, base) != 0)
                continue;
            int h = hist_names[i].h;
            if (pt->hname[h] && strcmp(pt->hname[h], f) != 0)
                break; /* a second framework's name for the same metric: first one wins */
            pt->hname[h] = f;
            if (part == 0)
                pt->hsum[h] += v;
            else if (part == 1)
                pt->hcount[h] += v;
            else {
                const cJSON *le = cJSON_GetObjectItemCaseSensitive(jl, "le");
                if (!cJSON_IsString(le))
                    break;
                double b =
                    strcmp(le->valuestring, "+Inf") == 0 ? INFINITY : strtod(le->valuestring, NULL);
                /* bucket index by bound; the bounds are learnt from the first scrape */
                int k = 0;
                while (k < t->nbounds[h] && t->bounds[h][k] != b)
                    k++;
                if (k == t->nbounds[h]) {
                    if (k >= NB_MAX)
                        break;
                    t->bounds[h][t->nbounds[h]++] = b;
                }
                pt->hb[h][k] += v;
                if (k + 1 > pt->nb[h])
                    pt->nb[h] = k + 1;
            }
            break;
        }
    }
    for (int k = 0; k < S_N; k++)
        if (ser_mean(k) && pt->nv[k] > 1)
            pt->v[k] /= pt->nv[k];
}

/* ---- the AIPerf-named exports -------------------------------------------------------- */

/* The phase AIPerf stamps on a scrape: none before the first request, else the phase
 * running at the scrape (warmup, then profiling). */
struct phase_info {
    int64_t warm_start, prof_start; /* run timeline; INT64_MAX when absent */
    bool has_warmup;
};

static void slim_record(struct buf *o, const char *url, int64_t real_ns, int64_t lat_ns,
                        int64_t sent_real, const struct phase_info *ph, int64_t t_ns,
                        const cJSON *fams, const cJSON *samples)
{
    /* group samples by family; histograms fold their _bucket/_sum/_count into one sample
     * per label set (the "le" label removed), as AIPerf's MetricSample */
    struct jsonw w;
    jsonw_init(&w, o);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "endpoint_url");
    jsonw_str(&w, url);
    jsonw_key(&w, "timestamp_ns");
    jsonw_int(&w, real_ns);
    jsonw_key(&w, "endpoint_latency_ns");
    jsonw_int(&w, lat_ns);
    jsonw_key(&w, "metrics");
    jsonw_obj_begin(&w);
    const cJSON *f;
    cJSON_ArrayForEach(f, fams)
    {
        size_t fl = strlen(f->string);
        if (fl >= 5 && strcmp(f->string + fl - 5, "_info") == 0)
            continue;
        /* AIPerf 0.13 keeps neither summaries nor the "_created" gauge families that
         * prometheus_client writes beside each counter and histogram (seen against vLLM) */
        if (fl >= 8 && strcmp(f->string + fl - 8, "_created") == 0)
            continue;
        const char *type = cJSON_GetArrayItem(f, 0)->valuestring;
        if (type && !strcmp(type, "summary"))
            continue;
        bool hist = type && (!strcmp(type, "histogram") || !strcmp(type, "summary"));
        /* a counter's family is named without "_total", as prometheus_client names it */
        if (type && !strcmp(type, "counter") && fl > 6 && !strcmp(f->string + fl - 6, "_total")) {
            char key[512];
            snprintf(key, sizeof key, "%.*s", (int)(fl - 6), f->string);
            jsonw_key(&w, key);
        } else {
            jsonw_key(&w, f->string);
        }
        jsonw_arr_begin(&w);
        const cJSON *s;
        /* histogram samples of one label set are contiguous: its buckets, then _sum and
         * _count in either order (prometheus_client writes _count first) */
        bool open = false, in_buckets = false;
        int got = 0; /* _sum / _count written for the open sample */
        cJSON_ArrayForEach(s, samples)
        {
            const char *name = cJSON_GetArrayItem(s, 0)->valuestring;
            if (strncmp(name, f->string, fl) != 0)
                continue;
            const char *suf = name + fl;
            const cJSON *labels = cJSON_GetArrayItem(s, 1);
            const cJSON *val = cJSON_GetArrayItem(s, 2);
            if (!hist) {
                if (*suf && strcmp(suf, "_total"))
                    continue;
                jsonw_obj_begin(&w);
                if (cJSON_GetArraySize(labels) > 0) {
                    jsonw_key(&w, "labels");
                    char *lj = cJSON_PrintUnformatted(labels);
                    jsonw_raw(&w, lj, strlen(lj));
                    free(lj);
                }
                bool ok;
                double v = report_sample_value(val, &ok);
                if (ok && isfinite(v)) {
                    jsonw_key(&w, "value");
                    jsonw_double(&w, v);
                }
                jsonw_obj_end(&w);
                continue;
            }
            bool ok;
            double v = report_sample_value(val, &ok);
            bool bucket = !strcmp(suf, "_bucket");
            bool sum = !strcmp(suf, "_sum"), count = !strcmp(suf, "_count");
            if (!bucket && !sum && !count)
                continue; /* _created, _gsum, a summary's quantiles: not in AIPerf's sample */
            if (bucket && open && !in_buckets) { /* the next label set */
                jsonw_obj_end(&w);
                open = false;
            }
            if (!open) {
                jsonw_obj_begin(&w);
                cJSON *l2 = cJSON_Duplicate(labels, 1);
                cJSON_DeleteItemFromObjectCaseSensitive(l2, "le");
                if (cJSON_GetArraySize(l2) > 0) {
                    jsonw_key(&w, "labels");
                    char *lj = cJSON_PrintUnformatted(l2);
                    jsonw_raw(&w, lj, strlen(lj));
                    free(lj);
                }
                cJSON_Delete(l2);
                open = true;
                got = 0;
                if (bucket) {
                    jsonw_key(&w, "buckets");
                    jsonw_obj_begin(&w);
                    in_buckets = true;
                }
            }
            if (bucket) {
                const cJSON *le = cJSON_GetObjectItemCaseSensitive(labels, "le");
                jsonw_key(&w, cJSON_IsString(le) ? le->valuestring : "?");
                jsonw_double(&w, ok ? v : 0);
                continue;
            }
            if (in_buckets) {
                jsonw_obj_end(&w);
                in_buckets = false;
            }
            jsonw_key(&w, sum ? "sum" : "count");
            jsonw_double(&w, ok ? v : 0);
            if (++got == 2) {
                jsonw_obj_end(&w);
                open = false;
            }
        }
        if (in_buckets)
            jsonw_obj_end(&w);
        if (open)
            jsonw_obj_end(&w);
        jsonw_arr_end(&w);
    }
    jsonw_obj_end(&w);
    jsonw_key(&w, "request_sent_ns");
    jsonw_int(&w, sent_real);
    jsonw_key(&w, "first_byte_ns");
    jsonw_int(&w, real_ns);
    const char *phase = t_ns >= ph->prof_start                     ? "profiling"
                        : ph->has_warmup && t_ns >= ph->warm_start ? "warmup"
                                                                   : NULL;
    if (phase) {
        bool prof = phase[0] == 'p';
        jsonw_key(&w, "benchmark_phase");
        jsonw_str(&w, phase);
        jsonw_key(&w, "phase_index");
        jsonw_int(&w, prof && ph->has_warmup ? 1 : 0);
        if (prof) {
            jsonw_key(&w, "profiling_index");
            jsonw_int(&w, 0);
        }
        jsonw_key(&w, "phase_name");
        jsonw_str(&w, phase);
        jsonw_key(&w, "phase_kind");
        jsonw_str(&w, phase);
    }
    jsonw_obj_end(&w);
    buf_putc(o, '\n');
}

static const struct {
    const char *dcgm, *field;
    double scale;
} dcgm_map[] = {
    {"DCGM_FI_DEV_POWER_USAGE", "nvidia_power_usage", 1},
    {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "nvidia_energy_consumption", 1e-9},
    {"DCGM_FI_DEV_GPU_UTIL", "nvidia_gpu_utilization", 1},
    {"DCGM_FI_DEV_MEM_COPY_UTIL", "nvidia_memory_utilization", 1},
    {"DCGM_FI_DEV_FB_USED", "nvidia_memory_used", 1.048576e-3},
    {"DCGM_FI_DEV_GPU_TEMP", "nvidia_temperature", 1},
    {"DCGM_FI_DEV_ENC_UTIL", "nvidia_encoder_utilization", 1},
    {"DCGM_FI_DEV_DEC_UTIL", "nvidia_decoder_utilization", 1},
    {"DCGM_FI_PROF_SM_ACTIVE", "nvidia_sm_utilization", 100},
    {"DCGM_FI_DEV_XID_ERRORS", "nvidia_xid_errors", 1},
    {"DCGM_FI_DEV_POWER_VIOLATION", "nvidia_power_violation", 1e-3},
};

static void str_field(struct jsonw *w, const char *key, const cJSON *labels, const char *label)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, label);
    if (cJSON_IsString(v)) {
        jsonw_key(w, key);
        jsonw_str(w, v->valuestring);
    }
}

/* One TelemetryRecord per GPU (label "gpu"), as AIPerf's DCGM collector makes them. */
static void gpu_records(struct buf *o, const char *url, int64_t real_ns, const cJSON *samples)
{
    for (int gpu = 0; gpu < 64; gpu++) {
        const cJSON *meta = NULL, *s;
        char gs[16];
        snprintf(gs, sizeof gs, "%d", gpu);
        cJSON_ArrayForEach(s, samples)
        {
            const cJSON *g = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(s, 1), "gpu");
            if (cJSON_IsString(g) && !strcmp(g->valuestring, gs)) {
                meta = cJSON_GetArrayItem(s, 1);
                break;
            }
        }
        if (!meta)
            continue;
        struct jsonw w;
        jsonw_init(&w, o);
        jsonw_obj_begin(&w);
        jsonw_key(&w, "gpu_index");
        jsonw_int(&w, gpu);
        str_field(&w, "gpu_uuid", meta, "UUID");
        str_field(&w, "gpu_model_name", meta, "modelName");
        str_field(&w, "pci_bus_id", meta, "pci_bus_id");
        str_field(&w, "device", meta, "device");
        str_field(&w, "hostname", meta, "Hostname");
        str_field(&w, "namespace", meta, "namespace");
        str_field(&w, "pod_name", meta, "pod");
        jsonw_key(&w, "platform");
        jsonw_str(&w, "nvidia");
        jsonw_key(&w, "timestamp_ns");
        jsonw_int(&w, real_ns);
        jsonw_key(&w, "telemetry_source_url");
        jsonw_str(&w, url);
        jsonw_key(&w, "telemetry_data");
        jsonw_obj_begin(&w);
        for (size_t m = 0; m < sizeof dcgm_map / sizeof dcgm_map[0]; m++) {
            cJSON_ArrayForEach(s, samples)
            {
                const char *name = cJSON_GetArrayItem(s, 0)->valuestring;
                size_t nl = strlen(name), dl = strlen(dcgm_map[m].dcgm);
                if (strncmp(name, dcgm_map[m].dcgm, dl) ||
                    (nl != dl && strcmp(name + dl, "_total")))
                    continue;
                const cJSON *g = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(s, 1), "gpu");
                if (!cJSON_IsString(g) || strcmp(g->valuestring, gs))
                    continue;
                bool ok;
                double v = report_sample_value(cJSON_GetArrayItem(s, 2), &ok);
                if (ok && isfinite(v)) {
                    jsonw_key(&w, dcgm_map[m].field);
                    jsonw_double(&w, v * dcgm_map[m].scale);
                }
                break;
            }
        }
        jsonw_obj_end(&w);
        jsonw_obj_end(&w);
        buf_putc(o, '\n');
    }
}

/* ---- the window and the cross-check ---------------------------------------------------- */

/* The profiling window on the records' clock: first profile request start to last end. */
static bool profile_window(const struct run *ru, int64_t *a, int64_t *b)
{
    *a = INT64_MAX;
    *b = INT64_MIN;
    for (size_t i = 0; i < ru->n; i++) {
        const struct rrec *r = &ru->r[i];
        if (r->phase != REC_PROFILE)
            continue;
        if (r->t_start < *a)
            *a = r->t_start;
        if (r->t_end > *b)
            *b = r->t_end;
    }
    return *a < *b;
}

struct xrow {
    const char *metric, *server_name;
    double server_mean_ms, ours_mean_ms, server_count, ours_count;
    double bucket_lo_ms, bucket_hi_ms; /* the bucket holding the server mean */
    bool ok;
};

static void bucket_of(const struct tel *t, int h, double mean_s, double *lo, double *hi)
{
    *lo = 0;
    *hi = INFINITY;
    for (int k = 0; k < t->nbounds[h]; k++) {
        if (t->bounds[h][k] >= mean_s) {
            *hi = t->bounds[h][k];
            break;
        }
        *lo = t->bounds[h][k];
    }
}

void report_tel_free(struct run *ru)
{
    if (ru->tel) {
        for (int k = 0; k < TEL_NSER; k++) {
            free(ru->tel->x[k]);
            free(ru->tel->y[k]);
        }
        free(ru->tel);
        ru->tel = NULL;
    }
    buf_free(&ru->tel_console);
}

static void tel_push(struct tel_series *ts, int k, double x, double y)
{
    ts->x[k] = xrealloc(ts->x[k], (ts->n[k] + 1) * sizeof *ts->x[k]);
    ts->y[k] = xrealloc(ts->y[k], (ts->n[k] + 1) * sizeof *ts->y[k]);
    ts->x[k][ts->n[k]] = x;
    ts->y[k][ts->n[k]++] = y;
}

/* The charted series on the "Over time" axis: seconds since the first request. Server
 * series from the first server target, GPU ones from the first DCGM target; the server's
 * output tokens/s from consecutive counter readings. */
static void build_series(struct run *ru, const struct tel *t)
{
    int64_t t0 = INT64_MAX;
    for (size_t i = 0; i < ru->n; i++)
        if (ru->r[i].t_start < t0)
            t0 = ru->r[i].t_start;
    if (t0 == INT64_MAX || t->n == 0)
        return;
    int srv = -1, gpu = -1;
    for (size_t i = 0; i < t->ntargets; i++) {
        if (t->is_gpu[i] && gpu < 0)
            gpu = (int)i;
        if (!t->is_gpu[i] && srv < 0)
            srv = (int)i;
    }
    struct tel_series *ts = xcalloc(1, sizeof *ts);
    const struct scrape_pt *prev = NULL;
    for (size_t i = 0; i < t->n; i++) {
        const struct scrape_pt *p = &t->p[i];
        double x = (double)(p->t_ns - t0) / 1e9;
        if (p->target == srv) {
            if (p->nv[S_RUNNING])
                tel_push(ts, TEL_RUNNING, x, p->v[S_RUNNING]);
            if (p->nv[S_WAITING])
                tel_push(ts, TEL_WAITING, x, p->v[S_WAITING]);
            if (p->nv[S_KV])
                tel_push(ts, TEL_KV, x, p->v[S_KV] * 100);
            if (prev && p->nv[S_GEN_TOK] && prev->nv[S_GEN_TOK] && p->t_ns > prev->t_ns)
                tel_push(ts, TEL_TOKS, x,
                         (p->v[S_GEN_TOK] - prev->v[S_GEN_TOK]) /
                             ((double)(p->t_ns - prev->t_ns) / 1e9));
            prev = p;
        } else if (p->target == gpu) {
            if (p->nv[S_GPU_UTIL])
                tel_push(ts, TEL_GPU_UTIL, x, p->v[S_GPU_UTIL]);
            if (p->nv[S_GPU_POWER])
                tel_push(ts, TEL_GPU_POWER, x, p->v[S_GPU_POWER]);
        }
    }
    ru->tel = ts;
}

int report_telemetry(struct run *ru, const struct report_opts *o, const char *dir,
                     struct report_result *res, struct diag *d)
{
    const struct run_meta *meta = &ru->shard[0];
    char path[4096];
    snprintf(path, sizeof path, "%s/server_metrics.jsonl.zst", meta->dir);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return 0;
    fclose(probe);
    struct zreader *zr = NULL;
    int rc = zr_open(&zr, path, (size_t)64 << 20, d);
    if (rc)
        return rc;
    struct tel t = {0};
    struct buf sj, gj;
    buf_init(&sj, 0);
    buf_init(&gj, 0);
    const char *line;
    size_t len;
    bool any_server = false, any_gpu = false;
    int64_t shift = meta->anchor_mono - ru->base_mono; /* onto the run's timeline */
    struct phase_info ph = {INT64_MAX, INT64_MAX, false};
    for (size_t i = 0; i < ru->n; i++) {
        const struct rrec *r = &ru->r[i];
        int64_t *at = r->phase == REC_PROFILE ? &ph.prof_start : &ph.warm_start;
        if (r->t_start < *at)
            *at = r->t_start;
        if (r->phase != REC_PROFILE)
            ph.has_warmup = true;
    }
    unsigned fmts = o->sm_formats ? o->sm_formats : SM_FMT_DEFAULT;
    bool files = (o->exports & (REPORT_JSON | REPORT_CSV | REPORT_JSONL)) != 0;
    int64_t win_a = 0, win_b = 0;
    bool has_win = profile_window(ru, &win_a, &win_b);
    struct sm_agg *agg =
        files && has_win && (fmts & (SM_FMT_JSON | SM_FMT_CSV)) ? sm_agg_new(win_a, win_b) : NULL;
    while ((rc = zr_getline(zr, &line, &len, d)) == 1) {
        cJSON *j = cJSON_ParseWithLength(line, len);
        if (!j)
            continue; /* a line cut by a crash: the frames before it are whole */
        const cJSON *tg = cJSON_GetObjectItemCaseSensitive(j, "targets");
        if (cJSON_IsArray(tg)) {
            const cJSON *x;
            cJSON_ArrayForEach(x, tg)
            {
                t.url = xrealloc(t.url, (t.ntargets + 1) * sizeof *t.url);
                t.is_gpu = xrealloc(t.is_gpu, (t.ntargets + 1) * sizeof *t.is_gpu);
                const cJSON *u = cJSON_GetObjectItemCaseSensitive(x, "url");
                const cJSON *k = cJSON_GetObjectItemCaseSensitive(x, "kind");
                t.url[t.ntargets] = xstrdup(cJSON_IsString(u) ? u->valuestring : "");
                t.is_gpu[t.ntargets] = cJSON_IsString(k) && !strcmp(k->valuestring, "gpu");
                if (agg && !t.is_gpu[t.ntargets])
                    sm_agg_endpoint(agg, (int)t.ntargets, t.url[t.ntargets]);
                t.ntargets++;
            }
            cJSON_Delete(j);
            continue;
        }
        const cJSON *samples = cJSON_GetObjectItemCaseSensitive(j, "samples");
        const cJSON *jt = cJSON_GetObjectItemCaseSensitive(j, "target");
        if (!cJSON_IsArray(samples) || !cJSON_IsNumber(jt) || jt->valueint < 0 ||
            (size_t)jt->valueint >= t.ntargets) {
            cJSON_Delete(j);
            continue;
        }
        int target = jt->valueint;
        int64_t t_ns = (int64_t)cJSON_GetObjectItemCaseSensitive(j, "t_ns")->valuedouble;
        int64_t end_ns = (int64_t)cJSON_GetObjectItemCaseSensitive(j, "end_ns")->valuedouble;
        const cJSON *jf = cJSON_GetObjectItemCaseSensitive(j, "first_ns");
        int64_t first_ns =
            cJSON_IsNumber(jf) && jf->valuedouble > 0 ? (int64_t)jf->valuedouble : end_ns;
        if (t.n == t.cap) {
            t.cap = t.cap ? t.cap * 2 : 64;
            t.p = xrealloc(t.p, t.cap * sizeof *t.p);
        }
        struct scrape_pt *pt = &t.p[t.n++];
        memset(pt, 0, sizeof *pt);
        pt->t_ns = t_ns + shift;
        pt->end_ns = end_ns + shift;
        pt->target = target;
        extract(&t, pt, samples);
        /* AIPerf's timestamp_ns is the first response byte, its latency first byte - sent */
        int64_t real = meta->anchor_real + first_ns;
        if (t.is_gpu[target]) {
            any_gpu = true;
            gpu_records(&gj, t.url[target], real, samples);
        } else {
            any_server = true;
            const cJSON *fams = cJSON_GetObjectItemCaseSensitive(j, "families");
            if (fmts & SM_FMT_JSONL)
                slim_record(&sj, t.url[target], real, first_ns - t_ns, meta->anchor_real + t_ns,
                            &ph, t_ns + shift, fams, samples);
            if (agg)
                sm_agg_add(agg, target, t.url[target], t_ns + shift, real, first_ns - t_ns, fams,
                           samples);
        }
        cJSON_Delete(j);
    }
    zr_close(zr);
    if (rc < 0)
        goto out;
    rc = 0;
    if (files) {
        char p2[4096];
        if (any_server && (fmts & SM_FMT_JSONL)) {
            char nm[512];
            report_export_name(o->export_prefix, "server_metrics_export.jsonl", nm, sizeof nm);
            snprintf(p2, sizeof p2, "%s/%s", dir, nm);
            rc = afile_write_all(p2, sj.p ? sj.p : "", sj.len, d);
            if (!rc && res)
                buf_printf(&res->written, "%s\n", p2);
        }
        if (!rc && any_gpu) {
            char nm[512];
            report_export_name(o->export_prefix, "gpu_telemetry_export.jsonl", nm, sizeof nm);
            snprintf(p2, sizeof p2, "%s/%s", dir, nm);
            rc = afile_write_all(p2, gj.p ? gj.p : "", gj.len, d);
            if (!rc && res)
                buf_printf(&res->written, "%s\n", p2);
        }
        if (!rc && any_server && agg) {
            char *ic = report_aiperf_input_config_json(ru, dir);
            rc = sm_agg_write(agg, dir, o->export_prefix, fmts, ru->label, ru->base_real + win_a,
                              ru->base_real + win_b, ic, res ? &res->written : NULL, d);
            free(ic);
        }
    }
    if (rc)
        goto out;

    build_series(ru, &t);

    /* The window: the last server scrape begun before the first profile request and the
     * first one ended after the last response (else the nearest ones). */
    int64_t wa, wb;
    if (!profile_window(ru, &wa, &wb) || t.n == 0)
        goto out;
    int srv = -1;
    for (size_t i = 0; i < t.ntargets && srv < 0; i++)
        if (!t.is_gpu[i])
            srv = (int)i;
    const struct scrape_pt *p0 = NULL, *p1 = NULL;
    const struct scrape_pt *g0 = NULL, *g1 = NULL;
    for (size_t i = 0; i < t.n; i++) {
        const struct scrape_pt *p = &t.p[i];
        bool gpu = t.is_gpu[p->target];
        const struct scrape_pt **a = gpu ? &g0 : &p0, **b = gpu ? &g1 : &p1;
        if (!gpu && p->target != srv)
            continue;
        if (p->end_ns <= wa || !*a)
            *a = p;
        if (p->t_ns >= wb && (!*b || (*b)->t_ns < wb))
            *b = p;
        else if (!*b || ((*b)->t_ns < wb && p->t_ns > (*b)->t_ns))
            *b = p;
    }
    /* ours over the same window */
    double ttft_sum = 0, ttft_n = 0, lat_sum = 0, lat_n = 0, gap_sum = 0, gap_n = 0, out_tok = 0;
    long ok_requests = 0;
    /* every valid request (warmup too: the server counts it) inside the two scrapes */
    int64_t xa = p0 ? p0->t_ns : wa, xb = p1 ? p1->end_ns : wb;
    for (size_t i = 0; i < ru->n; i++) {
        const struct rrec *r = &ru->r[i];
        if (!(r->flags & RR_VALID) || r->t_start < xa || r->t_end > xb)
            continue;
        ok_requests++;
        double v;
        if (metric_value(r, M_TTFT, &v)) {
            ttft_sum += v;
            ttft_n++;
        }
        if (metric_value(r, M_LATENCY, &v)) {
            lat_sum += v;
            lat_n++;
        }
        if (r->osl > 1 && r->t_last > r->t_first) {
            gap_sum += (double)(r->t_last - r->t_first);
            gap_n += r->osl - 1;
        }
        if (r->osl > 0)
            out_tok += r->osl;
    }
    struct xrow rows[H_N];
    static const char *const hlabel[H_N] = {"time_to_first_token", "request_latency",
                                            "inter_token_latency"};
    double ours[H_N][2] = {{ttft_sum, ttft_n}, {lat_sum, lat_n}, {gap_sum, gap_n}};
    for (int h = 0; h < H_N; h++) {
        struct xrow *x = &rows[h];
        memset(x, 0, sizeof *x);
        x->metric = hlabel[h];
        x->ours_count = ours[h][1];
        x->ours_mean_ms = ours[h][1] > 0 ? ours[h][0] / ours[h][1] / 1e6 : NAN;
        if (!p0 || !p1 || p0 == p1 || !p1->hname[h])
            continue;
        x->server_name = p1->hname[h];
        double dc = p1->hcount[h] - p0->hcount[h], ds = p1->hsum[h] - p0->hsum[h];
        x->server_count = dc;
        if (dc <= 0)
            continue;
        x->server_mean_ms = ds / dc * 1e3;
        bucket_of(&t, h, ds / dc, &x->bucket_lo_ms, &x->bucket_hi_ms);
        x->bucket_lo_ms *= 1e3;
        x->bucket_hi_ms *= 1e3;
        x->ok = true;
    }
    /* key series over the window */
    double dur_s = p0 && p1 ? (double)(p1->t_ns - p0->end_ns) / 1e9 : 0;
    double series_mean[S_N] = {0}, series_max[S_N] = {0};
    int series_n[S_N] = {0};
    for (size_t i = 0; i < t.n; i++) {
        const struct scrape_pt *p = &t.p[i];
        if ((!t.is_gpu[p->target] && p->target != srv) || p->t_ns < xa || p->t_ns > xb)
            continue;
        for (int k = 0; k < S_N; k++) {
            if (!p->nv[k])
                continue;
            series_mean[k] += p->v[k];
            if (!series_n[k] || p->v[k] > series_max[k])
                series_max[k] = p->v[k];
            series_n[k]++;
        }
    }
    for (int k = 0; k < S_N; k++)
        if (series_n[k])
            series_mean[k] /= series_n[k];
    double gen_tok = p0 && p1 && p1->nv[S_GEN_TOK] ? p1->v[S_GEN_TOK] - p0->v[S_GEN_TOK] : NAN;
    double req_ok = p0 && p1 && p1->nv[S_REQ_OK] ? p1->v[S_REQ_OK] - p0->v[S_REQ_OK] : NAN;
    double pfx =
        p0 && p1 && p1->nv[S_PFX_QUERIES] && p1->v[S_PFX_QUERIES] - p0->v[S_PFX_QUERIES] > 0
            ? (p1->v[S_PFX_HITS] - p0->v[S_PFX_HITS]) /
                  (p1->v[S_PFX_QUERIES] - p0->v[S_PFX_QUERIES])
            : (series_n[S_PFX_RATE] ? series_mean[S_PFX_RATE] : NAN);
    double energy_j = g0 && g1 && g1 != g0 && g1->nv[S_GPU_ENERGY]
                          ? (g1->v[S_GPU_ENERGY] - g0->v[S_GPU_ENERGY]) / 1e3
                          : NAN;
    double tok_for_energy = isfinite(gen_tok) && gen_tok > 0 ? gen_tok : out_tok;

    /* server_metrics_crosscheck.json (metronome's own file) */
    struct buf b;
    buf_init(&b, 0);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "window");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "start_s");
    jsonw_double(&w, (double)xa / 1e9);
    jsonw_key(&w, "end_s");
    jsonw_double(&w, (double)xb / 1e9);
    jsonw_key(&w, "server_url");
    if (srv >= 0)
        jsonw_str(&w, t.url[srv]);
    else
        jsonw_null(&w);
    jsonw_key(&w, "requests_ours");
    jsonw_int(&w, ok_requests);
    jsonw_key(&w, "requests_server");
    if (isfinite(req_ok))
        jsonw_double(&w, req_ok);
    else
        jsonw_null(&w);
    jsonw_obj_end(&w);
    jsonw_key(&w, "crosscheck");
    jsonw_arr_begin(&w);
    for (int h = 0; h < H_N; h++) {
        const struct xrow *x = &rows[h];
        jsonw_obj_begin(&w);
        jsonw_key(&w, "metric");
        jsonw_str(&w, x->metric);
        jsonw_key(&w, "server_histogram");
        if (x->server_name)
            jsonw_str(&w, x->server_name);
        else
            jsonw_null(&w);
        jsonw_key(&w, "server_count");
        jsonw_double(&w, x->server_count);
        jsonw_key(&w, "ours_count");
        jsonw_double(&w, x->ours_count);
        jsonw_key(&w, "server_mean_ms");
        if (x->ok)
            jsonw_double(&w, x->server_mean_ms);
        else
            jsonw_null(&w);
        jsonw_key(&w, "server_mean_bucket_ms");
        if (x->ok) {
            jsonw_arr_begin(&w);
            jsonw_double(&w, x->bucket_lo_ms);
            if (isfinite(x->bucket_hi_ms))
                jsonw_double(&w, x->bucket_hi_ms);
            else
                jsonw_null(&w);
            jsonw_arr_end(&w);
        } else {
            jsonw_null(&w);
        }
        jsonw_key(&w, "ours_mean_ms");
        if (isfinite(x->ours_mean_ms))
            jsonw_double(&w, x->ours_mean_ms);
        else
            jsonw_null(&w);
        jsonw_key(&w, "overhead_ms");
        if (x->ok && isfinite(x->ours_mean_ms))
            jsonw_double(&w, x->ours_mean_ms - x->server_mean_ms);
        else
            jsonw_null(&w);
        jsonw_obj_end(&w);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "series");
    jsonw_obj_begin(&w);
    static const char *const sname[S_N] = {"num_requests_running",
                                           "num_requests_waiting",
                                           "kv_cache_usage",
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL,
                                           "gpu_utilization_pct",
                                           "gpu_memory_used_mib",
                                           "gpu_power_w",
                                           "gpu_sm_clock_mhz",
                                           NULL};
    for (int k = 0; k < S_N; k++) {
        if (!sname[k] || !series_n[k])
            continue;
        jsonw_key(&w, sname[k]);
        jsonw_obj_begin(&w);
        jsonw_key(&w, "avg");
        jsonw_double(&w, series_mean[k]);
        jsonw_key(&w, "max");
        jsonw_double(&w, series_max[k]);
        jsonw_obj_end(&w);
    }
    jsonw_key(&w, "prefix_cache_hit_rate");
    isfinite(pfx) ? jsonw_double(&w, pfx) : jsonw_null(&w);
    jsonw_key(&w, "server_generation_tokens_per_s");
    isfinite(gen_tok) && dur_s > 0 ? jsonw_double(&w, gen_tok / dur_s) : jsonw_null(&w);
    jsonw_key(&w, "gpu_energy_j");
    isfinite(energy_j) ? jsonw_double(&w, energy_j) : jsonw_null(&w);
    jsonw_key(&w, "gpu_energy_per_output_token_j");
    isfinite(energy_j) && tok_for_energy > 0 ? jsonw_double(&w, energy_j / tok_for_energy)
                                             : jsonw_null(&w);
    jsonw_obj_end(&w);
    jsonw_obj_end(&w);
    buf_putc(&b, '\n');
    if (o->exports & REPORT_JSON) {
        char p3[4096];
        snprintf(p3, sizeof p3, "%s/server_metrics_crosscheck.json", dir);
        rc = afile_write_all(p3, b.p, b.len, d);
    }
    buf_free(&b);
    if (!rc && (o->exports & REPORT_CONSOLE) && o->console) {
        struct buf *f = &ru->tel_console;
        buf_init(f, 0);
        buf_printf(f, "\nServer metrics (%s, window %.1f s .. %.1f s)\n",
                   srv >= 0 ? t.url[srv] : "no server target", (double)xa / 1e9, (double)xb / 1e9);
        buf_printf(f, "  %-22s %12s %12s %12s %10s %10s\n", "cross-check", "server ms", "ours ms",
                   "overhead ms", "server n", "ours n");
        for (int h = 0; h < H_N; h++) {
            const struct xrow *x = &rows[h];
            if (!x->ok) {
                buf_printf(f, "  %-22s %12s %12.3f %12s %10s %10.0f\n", x->metric, "-",
                           x->ours_mean_ms, "-", "-", x->ours_count);
                continue;
            }
            buf_printf(f, "  %-22s %12.3f %12.3f %12.3f %10.0f %10.0f\n", x->metric,
                       x->server_mean_ms, x->ours_mean_ms, x->ours_mean_ms - x->server_mean_ms,
                       x->server_count, x->ours_count);
        }
        buf_printf(f, "  %-34s %10s %10s\n", "series", "avg", "max");
        static const char *const label[S_N] = {"requests running",
                                               "requests waiting",
                                               "KV-cache usage (0-1)",
                                               NULL,
                                               NULL,
                                               NULL,
                                               NULL,
                                               NULL,
                                               NULL,
                                               "GPU utilization %",
                                               "GPU memory used MiB",
                                               "GPU power W",
                                               "GPU SM clock MHz",
                                               NULL};
        for (int k = 0; k < S_N; k++)
            if (label[k] && series_n[k])
                buf_printf(f, "  %-34s %10.3f %10.3f\n", label[k], series_mean[k], series_max[k]);
        if (isfinite(pfx))
            buf_printf(f, "  %-34s %10.3f\n", "prefix-cache hit rate", pfx);
        if (isfinite(gen_tok) && dur_s > 0)
            buf_printf(f, "  %-34s %10.1f\n", "server-counted output tokens/s", gen_tok / dur_s);
        if (isfinite(req_ok))
            buf_printf(f, "  %-34s %10.0f %10ld\n", "requests done: server / ours", req_ok,
                       ok_requests);
        if (isfinite(energy_j) && tok_for_energy > 0)
            buf_printf(f, "  %-34s %10.4f\n", "GPU energy per output token J",
                       energy_j / tok_for_energy);
    }
out:
    for (size_t i = 0; i < t.ntargets; i++)
        free(t.url[i]);
    free(t.url);
    free(t.is_gpu);
    free(t.p);
    buf_free(&sj);
    buf_free(&gj);
    sm_agg_free(agg);
    return rc;
}

double report_sample_value(const cJSON *v, bool *ok)
{
    *ok = true;
    if (cJSON_IsNumber(v))
        return v->valuedouble;
    if (cJSON_IsString(v)) {
        if (!strcmp(v->valuestring, "+Inf"))
            return INFINITY;
        if (!strcmp(v->valuestring, "-Inf"))
            return -INFINITY;
    }
    *ok = false;
    return NAN;
}
