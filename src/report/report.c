/*
 * report_run: groups run dirs, reads every record once (writing the per-record export as
 * it goes, since chunk lists are not kept), summarizes, judges, and hands the in-memory
 * runs to the exporters.
 */
#include "report.h"
#include "tokenizer.h"

#include "hash.h"
#include "report_int.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ errors */

static uint64_t err_hash(int64_t code, struct strv type, struct strv msg)
{
    const unsigned char sep = 0xff; /* no byte of UTF-8 text: "ab"+"c" != "a"+"bc" */
    uint64_t h = hash64_more(HASH64_INIT ^ (uint64_t)code, type.p, type.n);
    h = hash64_more(h, &sep, 1);
    return hash64_more(h, msg.p, msg.n);
}

static bool err_same(const struct err_group *g, int64_t code, struct strv type, struct strv msg)
{
    return g->code == code && strlen(g->type) == type.n && memcmp(g->type, type.p, type.n) == 0 &&
           strlen(g->msg) == msg.n && memcmp(g->msg, msg.p, msg.n) == 0;
}

/* Errors group by (code, type, message) in first-seen order, as AIPerf's error summary;
 * an open-addressing table keeps that O(1) when every message differs. */
static int32_t err_group_of(struct run *ru, const struct rec *r)
{
    struct strv type = {r->err_type.p ? r->err_type.p : "", r->err_type.n};
    struct strv msg = {r->err_msg.p ? r->err_msg.p : "", r->err_msg.n};
    uint64_t h = err_hash(r->err_code, type, msg);
    if (ru->nerr * 2 >= ru->err_slots) {
        size_t ns = ru->err_slots ? ru->err_slots * 2 : 64;
        int32_t *t = xmalloc(ns * sizeof *t);
        for (size_t i = 0; i < ns; i++)
            t[i] = -1;
        for (size_t g = 0; g < ru->nerr; g++) {
            size_t j = ru->err[g].hash & (ns - 1);
            while (t[j] >= 0)
                j = (j + 1) & (ns - 1);
            t[j] = (int32_t)g;
        }
        free(ru->err_table);
        ru->err_table = t;
        ru->err_slots = ns;
    }
    size_t j = h & (ru->err_slots - 1);
    while (ru->err_table[j] >= 0) {
        struct err_group *g = &ru->err[ru->err_table[j]];
        if (g->hash == h && err_same(g, r->err_code, type, msg))
            return ru->err_table[j];
        j = (j + 1) & (ru->err_slots - 1);
    }
    if (ru->nerr == ru->err_cap) {
        ru->err_cap = ru->err_cap ? ru->err_cap * 2 : 8;
        ru->err = xrealloc(ru->err, ru->err_cap * sizeof *ru->err);
    }
    struct err_group *g = &ru->err[ru->nerr];
    g->code = r->err_code;
    g->type = xstrndup(type.p, type.n);
    g->msg = xstrndup(msg.p, msg.n);
    g->count = g->warm_count = 0;
    g->hash = h;
    ru->err_table[j] = (int32_t)ru->nerr;
    return (int32_t)ru->nerr++;
}

/* ------------------------------------------------------------------ reading */

static int64_t shard_shift(const struct run_meta *ref, const struct run_meta *m)
{
    int64_t dreal = m->anchor_real - ref->anchor_real;
    int64_t dmono = m->anchor_mono - ref->anchor_mono;
    /* Same host, same boot: the monotonic clock is shared and exact; otherwise only the
     * wall clocks relate the shards. */
    if (m->hostname[0] && strcmp(m->hostname, ref->hostname) == 0 &&
        llabs(dmono - dreal) < 1000000000LL)
        return dmono;
    return dreal;
}

/* Bound on the inter-chunk gaps kept for the ICL-aware sweeps. Each gap costs about 120
 * bytes at the report's peak (8 kept, the decode and tokens-in-flight events, their sort
 * buffers and curves: 5 M gaps peaked at 599 MB), so 2^20 gaps stay near 128 MB and the
 * report within its 256 MB budget; past it the sweeps use request-level rates. */
#define REPORT_ICL_MAX ((size_t)1 << 20)

/* Keeps record i's inter_chunk_latency list for the sweeps (run.icl_*). */
static void keep_icl(struct run *ru, size_t max, size_t i, const int64_t *icl, size_t n)
{
    ru->icl_off[i] = ru->icl_n;
    ru->icl_len[i] = 0;
    if (!n || ru->icl_over || n > UINT32_MAX)
        return;
    if (ru->icl_n + n > max) {
        ru->icl_over = true;
        free(ru->icl_v);
        ru->icl_v = NULL;
        ru->icl_n = ru->icl_cap = 0;
        return;
    }
    if (ru->icl_n + n > ru->icl_cap) {
        size_t c = ru->icl_cap ? ru->icl_cap : 4096;
        while (c < ru->icl_n + n)
            c *= 2;
        ru->icl_v = xrealloc(ru->icl_v, c * sizeof *ru->icl_v);
        ru->icl_cap = c;
    }
    memcpy(ru->icl_v + ru->icl_n, icl, n * sizeof *icl);
    ru->icl_n += n;
    ru->icl_len[i] = (uint32_t)n;
}

/* Scratch for unescaping recorded texts (grown as needed, freed by the caller). */
struct text_buf {
    char *p;
    size_t cap;
};

/* Tokens of a recorded text (a JSON string body, still escaped). */
static int64_t count_text(struct tokenizer *tk, struct strv s, struct text_buf *b)
{
    if (s.n + 1 > b->cap) {
        b->cap = s.n + 1 > 2 * b->cap ? s.n + 1 : 2 * b->cap;
        b->p = xrealloc(b->p, b->cap);
    }
    size_t n = strv_unescape(s, b->p, b->cap);
    return (int64_t)tokenizer_count(tk, b->p, n);
}

static int read_run(struct run *ru, const struct report_opts *o, struct report_result *res,
                    struct diag *d)
{
    size_t ref = 0;
    for (size_t i = 1; i < ru->nshards; i++)
        if (ru->shard[i].anchor_real < ru->shard[ref].anchor_real)
            ref = i;
    ru->base_real = ru->shard[ref].anchor_real;
    for (size_t s = 0; s < ru->nshards; s++)
        ru->http_trace |= ru->shard[s].record_http;
    ru->base_mono = ru->shard[ref].anchor_mono;
    ru->streaming = ru->shard[ref].streaming;
    ru->endpoint = ru->shard[ref].endpoint;
    ru->complete = true;
    ru->reads_kernel = ru->reads_user = -1;
    const cJSON *wc = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ru->shard[ref].json, "config"), "warmup_request_count");
    ru->has_warmup_phase = cJSON_IsNumber(wc) && wc->valuedouble > 0;
    stats_hist_init(&ru->icl);
    stats_hist_init(&ru->icl_warm);

    struct jsonl_out *jl = NULL;
    if (o->exports & (REPORT_JSONL | REPORT_RAW)) {
        int rc =
            report_jsonl_open(&jl, ru->out_dir, o->export_prefix, (o->exports & REPORT_JSONL) != 0,
                              (o->exports & REPORT_RAW) != 0, d);
        if (rc)
            return rc;
    }
    struct outputs_out *oj = NULL;
    if (o->exports & REPORT_OUTPUTS) {
        int rc = report_outputs_open(&oj, ru->out_dir, d);
        if (rc) {
            report_jsonl_abort(jl);
            return rc;
        }
    }
    struct rec_parser p;
    rec_parser_init(&p);
    int64_t *icl = NULL;
    size_t icl_cap = 0;
    int32_t worker_base = 0;
    int rc = 0;
    struct text_buf tbuf = {0};
    ru->tokenizer = o->tokenizer ? o->tokenizer->name : NULL;
    for (size_t s = 0; s < ru->nshards && !rc; s++) {
        struct run_meta *m = &ru->shard[s];
        if (!m->complete)
            ru->complete = false;
        if (m->cancelled)
            ru->cancelled = true;
        if (m->reads_kernel >= 0 && m->reads_user >= 0) {
            ru->reads_kernel = (ru->reads_kernel < 0 ? 0 : ru->reads_kernel) + m->reads_kernel;
            ru->reads_user = (ru->reads_user < 0 ? 0 : ru->reads_user) + m->reads_user;
        }
        int64_t shift = shard_shift(&ru->shard[ref], m);
        if (shift < -((int64_t)1 << 58) || shift > ((int64_t)1 << 58)) {
            /* Record times are bounded by 2^58 ns when read; a shift within the same bound
             * keeps every shifted time within 2^59 and a run's span under 2^60 ns. */
            rc = diag_at(d, ERR_INVALID, m->dir, 0,
                         "shard clock anchors are more than 9 years apart from %s",
                         ru->shard[ref].dir);
            break;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/records.jsonl.zst", m->dir);
        struct stat st;
        if (stat(path, &st) != 0)
            snprintf(path, sizeof path, "%s/records.jsonl", m->dir);
        if (stat(path, &st) != 0 && errno == ENOENT) {
            /* A run killed before its first frame: nothing to read, and it says so. */
            ru->complete = false;
            ru->missing_records++;
            continue;
        }
        struct rec_stream *rs;
        rc = rec_stream_open(&rs, path, d);
        if (rc)
            break;
        struct rec_check chk;
        rec_check_init(&chk);
        int32_t max_worker = -1;
        const char *line;
        size_t len;
        struct rec r;
        for (;;) {
            rc = rec_stream_next(rs, &line, &len, d);
            if (rc <= 0)
                break;
            if (len == 0)
                continue;
            size_t col;
            const char *what;
            int prc = rec_parse(&p, line, len, &r, &col, &what);
            if (prc) {
                if (rec_stream_last_unterminated(rs)) {
                    rec_stream_drop_last(rs, len);
                    continue;
                }
                rc = diag_at(d, prc, path, rec_stream_lineno(rs), "column %zu: %s", col, what);
                break;
            }
            rc = rec_check_add(&chk, &r, path, rec_stream_lineno(rs), d);
            if (rc)
                break;
            if (ru->n == ru->cap) {
                ru->cap = ru->cap ? ru->cap * 2 : 4096;
                ru->r = xrealloc(ru->r, ru->cap * sizeof *ru->r);
                ru->icl_off = xrealloc(ru->icl_off, ru->cap * sizeof *ru->icl_off);
                ru->icl_len = xrealloc(ru->icl_len, ru->cap * sizeof *ru->icl_len);
            }
            struct rrec *rr = &ru->r[ru->n++];
            if (o->tokenizer && r.has_text) {
                r.text_tokens = count_text(o->tokenizer, r.text, &tbuf);
                r.rtext_tokens = count_text(o->tokenizer, r.rtext, &tbuf);
                r.prefer_usage = o->use_server_token_count;
            }
            if (!o->per_chunk_usage)
                r.first_chunk_tokens = REC_ABSENT;
            rrec_from_rec(rr, &r, shift, 0, ru->streaming, o->count_empty_chunks);
            rr->shard = (uint16_t)s;
            if (rr->worker > max_worker)
                max_worker = rr->worker;
            rr->worker += worker_base;
            if (r.has_error) {
                rr->err_group = err_group_of(ru, &r);
                if (r.phase == REC_PROFILE)
                    ru->err[rr->err_group].count++;
                else
                    ru->err[rr->err_group].warm_count++;
            }
            bool valid = rr->flags & RR_VALID;
            if (valid && r.phase == REC_PROFILE) {
                if (rr->flags2 & RR2_OSL_TOKENIZER)
                    ru->osl_tokenizer++;
                else if (rr->flags & RR_USAGE_OSL)
                    ru->osl_usage++;
                else
                    ru->osl_chunks++;
                if (rr->flags & RR_USAGE_ISL)
                    ru->isl_usage++;
                else if (rr->isl >= 0)
                    ru->isl_trace++;
                if (rr->flags2 & RR2_REASONING_COUNTED)
                    ru->reasoning_counted++;
                if (rr->flags2 & RR2_OSL_COUNTED)
                    ru->osl_counted++;
            }
            size_t need = r.nchunks + r.nrchunks;
            if (need > icl_cap) {
                icl_cap = need * 2;
                icl = xrealloc(icl, icl_cap * sizeof *icl);
            }
            size_t nicl =
                valid ? metric_icl(&r, rr->flags & RR_STREAM, o->count_empty_chunks, icl) : 0;
            struct stats_hist *h = r.phase == REC_PROFILE ? &ru->icl : &ru->icl_warm;
            for (size_t k = 0; k < nicl; k++)
                stats_hist_add(h, icl[k]);
            keep_icl(ru, o->max_icl ? o->max_icl : REPORT_ICL_MAX, ru->n - 1, icl, nicl);
            if (jl)
                report_jsonl_record(jl, ru, &r, rr, icl, nicl);
            if (oj)
                report_outputs_record(oj, ru, &r, rr);
        }
        /* A complete run whose records do not match run.json was cut or altered after the
         * fact (an interrupted copy): inspect fails on it; the report says so and reports
         * what is there as an incomplete run, as it does for a crashed one. */
        struct diag dc;
        if (rc == 0 && rec_check_end(&chk, m, rec_stream_dropped(rs), path, &dc)) {
            buf_printf(&res->warnings, "%s\n", dc.msg);
            ru->complete = false;
        }
        if (rc == 0 && chk.backwards)
            buf_printf(&res->warnings,
                       "%s:%ld: %ld record(s) end before they start (t_end < t_start): counted "
                       "as invalid, not as requests\n",
                       path, chk.first_backwards_line, chk.backwards);
        rec_check_free(&chk);
        ru->dropped_bytes += rec_stream_dropped(rs);
        rec_stream_close(rs);
        worker_base += max_worker + 1;
    }
    ru->nworkers = worker_base;
    if (ru->dropped_bytes)
        ru->complete = false;
    free(icl);
    free(tbuf.p);
    rec_parser_free(&p);
    if (rc < 0) {
        report_jsonl_abort(jl);
        report_outputs_abort(oj);
        return rc;
    }
    if (oj && (rc = report_outputs_commit(oj, res, d))) {
        report_jsonl_abort(jl);
        return rc;
    }
    if (jl)
        return report_jsonl_commit(jl, res, d);
    return 0;
}

/* ------------------------------------------------------------------ summaries */

static bool sel_phase(const struct rrec *r, const void *ctx)
{
    return r->phase == *(const uint8_t *)ctx;
}

static bool slo_met(const struct rrec *r, const struct verdict_spec *v)
{
    for (size_t i = 0; i < v->nslo; i++) {
        double x;
        int m = v->slo[i].metric;
        if (!metric_value(r, (enum metric_id)m, &x))
            return false;
        x = metric_display((enum metric_id)m, x);
        if (metric_defs[m].flags & MF_LARGER ? x < v->slo[i].limit : x > v->slo[i].limit)
            return false;
    }
    return true;
}

const int report_adj_metric[REPORT_NADJ] = {M_LATENCY, M_TTFT, M_DECODE, M_ITL};

enum {
    SW_CONC,
    SW_DECODE_CONC,
    SW_PREFILL_CONC,
    SW_DECODE_TPUT,
    SW_PREFILL_TPUT,
    SW_TOTAL_TPUT,
    SW_DECODE_TPUT_USER,
    SW_PREFILL_TPUT_USER,
    SW_TOKENS_IN_FLIGHT,
    SW_ACTIVE_DECODE_TPUT,
    SW_ACTIVE_PREFILL_TPUT,
    SW_ACTIVE_DECODE_TPUT_USER,
    SW_ACTIVE_PREFILL_TPUT_USER,
    SW_ACTIVE_TOTAL_TPUT,
};
const char *const report_sweep_tag[REPORT_NSWEEP] = {
    "effective_concurrency",
    "effective_decode_concurrency",
    "effective_prefill_concurrency",
    "effective_decode_throughput",
    "effective_prefill_throughput",
    "effective_total_throughput",
    "effective_decode_throughput_per_user",
    "effective_prefill_throughput_per_user",
    "tokens_in_flight",
    "active_decode_throughput",
    "active_prefill_throughput",
    "active_decode_throughput_per_user",
    "active_prefill_throughput_per_user",
    "active_total_throughput",
};
const char *const report_sweep_header[REPORT_NSWEEP] = {
    "Effective Concurrency",
    "Effective Decode Concurrency",
    "Effective Prefill Concurrency",
    "Effective Decode Throughput",
    "Effective Prefill Throughput",
    "Effective Total Throughput",
    "Effective Decode Throughput Per User",
    "Effective Prefill Throughput Per User",
    "Tokens In Flight",
    "Active Decode Throughput",
    "Active Prefill Throughput",
    "Active Decode Throughput Per User",
    "Active Prefill Throughput Per User",
    "Active Total Throughput",
};
const char *const report_sweep_unit[REPORT_NSWEEP] = {
    "requests",   "requests",        "requests",        "tokens/sec", "tokens/sec",
    "tokens/sec", "tokens/sec/user", "tokens/sec/user", "tokens",     "tokens/sec",
    "tokens/sec", "tokens/sec/user", "tokens/sec/user", "tokens/sec",
};

/* Events and step points are stats_pairs: k the time (ns on the run's timeline), x the
 * step (an event) or the level held from k on (a curve). Segments are too: k the value
 * held, x for how long. */

/* A step function: p[i].x holds from p[i].k to p[i + 1].k (0 before p[0].k). Owned: a
 * scratch block (stats_scratch_get), given back by step_free. */
struct step {
    struct stats_pair *p;
    size_t n;
};

/* _sweep_line_cumsum: sorts the events and sums their deltas in place (each x becomes the
 * level from its k on); residues below 1e-9 of the largest magnitude are snapped to 0 as
 * AIPerf does. Takes ownership of e. */
static struct step step_from_events(struct stats_pair *e, size_t n)
{
    struct step f = {e, n};
    if (!n)
        return f;
    /* AIPerf's lexsort: by time, ends (x <= 0) before starts at equal times, else in
     * event order: ends first (a stable partition), then a stable sort by time */
    struct stats_pair *tmp = stats_scratch_get(n * sizeof *tmp);
    size_t ne = 0;
    for (size_t i = 0; i < n; i++)
        if (e[i].x <= 0)
            tmp[ne++] = e[i];
    for (size_t i = 0; i < n; i++)
        if (e[i].x > 0)
            tmp[ne++] = e[i];
    memcpy(e, tmp, n * sizeof *e);
    stats_sort_pairs(e, tmp, n);
    stats_scratch_put(tmp);
    double acc = 0, max_abs = 0;
    for (size_t i = 0; i < n; i++) {
        acc += e[i].x;
        e[i].x = acc;
        if (fabs(acc) > max_abs)
            max_abs = fabs(acc);
    }
    for (size_t i = 0; i < n; i++)
        if (fabs(e[i].x) < 1e-9 * max_abs)
            e[i].x = 0;
    return f;
}

static void step_free(struct step *f)
{
    stats_scratch_put(f->p);
    f->p = NULL;
    f->n = 0;
}

/* Number of times <= x (numpy searchsorted side="right"); f sorted by time. */
static size_t upper(const struct step *f, double x)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->p[mid].k <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Number of times < x (side="left"). */
static size_t lower(const struct step *f, double x)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->p[mid].k < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* divide_step_functions: num / den on the merged times, 0 where den <= 0. */
static struct step step_divide(const struct step *num, const struct step *den)
{
    struct step q = {NULL, 0};
    if (!num->n || !den->n)
        return q;
    q.p = stats_scratch_get((num->n + den->n) * sizeof *q.p);
    size_t i = 0, j = 0;
    double a = 0, b = 0;               /* the levels held at x (as step_at, walking both in step) */
    while (i < num->n || j < den->n) { /* np.unique of the concatenation */
        double x =
            j >= den->n || (i < num->n && num->p[i].k <= den->p[j].k) ? num->p[i].k : den->p[j].k;
        while (i < num->n && num->p[i].k == x)
            a = num->p[i++].x;
        while (j < den->n && den->p[j].k == x)
            b = den->p[j++].x;
        q.p[q.n++] = (struct stats_pair){x, b > 0 ? a / b : 0.0};
    }
    return q;
}

/* The statistics of compute_time_weighted_stats / compute_active_weighted_stats over the
 * segments sg[0..n) (each dur > 0), total being the duration the average divides by;
 * scaled by `scale` (1e9 for tokens/ns). Sorts sg. */
static void seg_stats(struct stats_pair *sg, size_t n, double total, double scale, double min0,
                      bool use_min0, struct sweep_summary *o)
{
    o->has = true;
    if (!n || total <= 0)
        return; /* AIPerf's ZERO_SWEEP_LINE_STATS */
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        sum += sg[i].k * sg[i].x;
        mn = fmin(mn, sg[i].k);
        mx = fmax(mx, sg[i].k);
    }
    if (use_min0)
        mn = fmin(mn, min0);
    double avg = sum / total, var = 0;
    for (size_t i = 0; i < n; i++)
        var += sg[i].x * (sg[i].k - avg) * (sg[i].k - avg);
    struct stats_pair *tmp = stats_scratch_get(n * sizeof *tmp);
    stats_sort_pairs(sg, tmp, n); /* by value, as AIPerf's argsort */
    stats_scratch_put(tmp);
    double cum_total = 0;
    for (size_t i = 0; i < n; i++)
        cum_total += sg[i].x;
    const double qs[4] = {0.50, 0.90, 0.95, 0.99};
    double pv[4];
    for (int k = 0; k < 4; k++) { /* searchsorted(cum_dur / cum_dur[-1], q) */
        double cum = 0;
        size_t i = 0;
        for (; i < n; i++) {
            cum += sg[i].x;
            if (cum / cum_total >= qs[k])
                break;
        }
        pv[k] = sg[i < n ? i : n - 1].k;
    }
    o->avg = avg * scale;
    o->min = mn * scale;
    o->max = mx * scale;
    o->std = sqrt(var / total) * scale;
    o->p50 = pv[0] * scale;
    o->p90 = pv[1] * scale;
    o->p95 = pv[2] * scale;
    o->p99 = pv[3] * scale;
}

/* compute_time_weighted_stats of f over [w0, w1]. AIPerf's window opens at the phase's
 * start, before its first request; ours opens at the first request, so the 0 that AIPerf
 * holds in between (the level before the window) still counts for min. */
static void tw_stats(const struct step *f, double w0, double w1, double scale,
                     struct sweep_summary *o)
{
    o->has = true;
    if (!f->n || w1 - w0 <= 0)
        return;
    size_t lo = upper(f, w0);
    lo = lo ? lo - 1 : 0;
    size_t hi = lower(f, w1) + 1;
    if (hi > f->n)
        hi = f->n;
    struct stats_pair *sg = stats_scratch_get((hi - lo + 1) * sizeof *sg);
    size_t m = 0;
    double first = lo ? f->p[lo - 1].x : 0.0;
    for (size_t k = lo; k <= hi; k++) { /* segment k starts at w0 or t[k - 1] */
        double s0 = k == lo ? w0 : f->p[k - 1].k, v = k == lo ? first : f->p[k - 1].x;
        double s1 = k == hi ? w1 : f->p[k].k;
        s0 = fmax(s0, w0);
        s1 = fmin(s1, w1);
        if (s1 - s0 > 0)
            sg[m++] = (struct stats_pair){v, s1 - s0};
    }
    seg_stats(sg, m, w1 - w0, scale, first, true, o);
    stats_scratch_put(sg);
}

/* compute_active_weighted_stats: rate over [w0, w1] where mask > 0 only. */
static void active_stats(const struct step *rate, const struct step *mask, double w0, double w1,
                         double scale, struct sweep_summary *o)
{
    o->has = true;
    if (w1 - w0 <= 0 || !rate->n || !mask->n)
        return;
    size_t rl = upper(rate, w0), rh = lower(rate, w1);
    size_t ml = upper(mask, w0), mh = lower(mask, w1);
    size_t cap = 2 + (rh > rl ? rh - rl : 0) + (mh > ml ? mh - ml : 0);
    double *g = stats_scratch_get(cap * sizeof *g);
    /* The grid: w0, the union of both curves' times strictly inside (w0, w1) (each curve
     * is sorted by time, so a merge, not a sort), w1; each time once (np.unique). */
    size_t u = 0, a = rl, b = ml;
    g[u++] = w0;
    while (a < rh || b < mh) {
        double t =
            b >= mh || (a < rh && rate->p[a].k <= mask->p[b].k) ? rate->p[a++].k : mask->p[b++].k;
        if (g[u - 1] != t)
            g[u++] = t;
    }
    if (g[u - 1] != w1)
        g[u++] = w1;
    struct stats_pair *sg = stats_scratch_get(u * sizeof *sg);
    size_t m = 0;
    double active = 0;
    /* the levels at each grid time, walking both curves in step (as step_at) */
    size_t ri = upper(rate, g[0]), mi = upper(mask, g[0]);
    for (size_t i = 0; i + 1 < u; i++) {
        while (ri < rate->n && rate->p[ri].k <= g[i])
            ri++;
        while (mi < mask->n && mask->p[mi].k <= g[i])
            mi++;
        double dur = g[i + 1] - g[i], mv = mi ? mask->p[mi - 1].x : 0.0;
        if (dur > 0 && mv > 0) {
            sg[m++] = (struct stats_pair){ri ? rate->p[ri - 1].x : 0.0, dur};
            active += dur;
        }
    }
    stats_scratch_put(g); /* before seg_stats takes its sort buffer */
    seg_stats(sg, m, active, scale, 0, false, o);
    stats_scratch_put(sg);
}

/* Event list growing as needed (owned; a scratch block). */
struct evs {
    struct stats_pair *e;
    size_t n, cap;
};

/* Room for n events in all, reserved before a curve's events are added: grown by
 * doubling, the last block of a 10^6-record curve was up to twice what it held, and
 * every doubling copied it. */
static void ev_reserve(struct evs *a, size_t n)
{
    if (a->cap >= n)
        return;
    a->e = stats_scratch_grow(a->e, n * sizeof *a->e);
    a->cap = n;
}

static void ev_add(struct evs *a, double t, double d)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 1024;
        a->e = stats_scratch_grow(a->e, a->cap * sizeof *a->e);
    }
    a->e[a->n++] = (struct stats_pair){t, d};
}

/* A record's columns as AIPerf's ColumnStore holds them (NaN when missing). */
struct sw_rec {
    double start, gen, end, isl, osl;
    const int64_t *icl;
    size_t nicl;
};

/* The curve of the events in a; a is left empty (the curve took its memory). */
static struct step sweep_curve(struct evs *a)
{
    struct step f = step_from_events(a->e, a->n);
    a->e = NULL;
    a->n = a->cap = 0;
    return f;
}

/* throughput_sweep_line_icl: each nonzero gap between a record's chunks carries
 * (OSL - 1) / (its nonzero gaps) tokens at a uniform rate. */
static void decode_icl_events(const struct sw_rec *x, struct evs *a)
{
    if (isnan(x->gen) || isnan(x->osl) || x->osl < 1)
        return;
    size_t nz = 0;
    for (size_t k = 0; k < x->nicl; k++)
        nz += x->icl[k] > 0;
    if (!nz)
        return;
    double per = (x->osl - 1.0) / (double)nz, cs = 0;
    for (size_t k = 0; k < x->nicl; k++) {
        double g = (double)x->icl[k];
        cs += g;
        if (g > 0) {
            ev_add(a, x->gen + cs - g, per / g);
            ev_add(a, x->gen + cs, -(per / g));
        }
    }
}

/* tokens_in_flight_sweep_line(_icl): ISL held from start to end once prefill took time;
 * the output tokens from the first token (request-level) or 1 at the first token and
 * (OSL - 1) / gaps at each later chunk, clamped before the end (ICL-aware). */
static void tif_events(const struct sw_rec *x, bool use_icl, struct evs *a)
{
    bool pf = !isnan(x->start) && !isnan(x->isl) && !isnan(x->gen) && x->gen > x->start;
    if (pf)
        ev_add(a, x->start, x->isl);
    bool out = false;
    if (use_icl) {
        out = x->nicl && !isnan(x->gen) && !isnan(x->osl) && x->osl >= 1;
        if (out) {
            ev_add(a, x->gen, 1.0);
            double per = (x->osl - 1.0) / (double)x->nicl, cs = 0;
            for (size_t k = 0; k < x->nicl; k++) {
                if (x->icl[k] < 0)
                    continue; /* never written: metric_icl's gaps are >= 0 */
                cs += (double)x->icl[k];
                double t = x->gen + cs;
                if (t >= x->end)
                    t = nextafter(x->end, -INFINITY);
                ev_add(a, t, per);
            }
        }
    } else {
        out = !isnan(x->gen) && !isnan(x->osl) && x->end - x->gen > 0;
        if (out)
            ev_add(a, x->gen, x->osl);
    }
    if (pf || out)
        ev_add(a, x->end, -((pf ? x->isl : 0) + (out ? x->osl : 0)));
}

void report_sweeps(const struct run *ru, int phase, struct rsummary *s)
{
    size_t n = 0;
    for (size_t i = 0; i < ru->n; i++)
        n += ru->r[i].phase == phase;
    if (!n)
        return;
    /* times as doubles: exact below 2^53 ns (104 days from the run's first anchor) */
    struct sw_rec *x = stats_scratch_get(n * sizeof *x);
    size_t m = 0;
    int64_t w0 = INT64_MAX, w1 = INT64_MIN;
    bool use_icl = false;
    size_t gaps = 0;
    for (size_t i = 0; i < ru->n; i++) {
        const struct rrec *r = &ru->r[i];
        if (r->phase != phase || r->t_start == RR_NONE)
            continue;
        int64_t end = r->t_end != RR_NONE ? r->t_end : r->t_last;
        if (end == RR_NONE || end < r->t_start)
            continue;
        w0 = r->t_start < w0 ? r->t_start : w0;
        w1 = end > w1 ? end : w1;
        struct sw_rec *c = &x[m++];
        double v;
        c->start = (double)r->t_start;
        c->end = (double)end;
        /* generation starts at the first token (AIPerf: start + TTFT) */
        c->gen = metric_value(r, M_TTFT, &v) && r->t_first <= end ? (double)r->t_first : NAN;
        c->isl = metric_value(r, M_ISL, &v) ? v : NAN;
        c->osl = metric_value(r, M_OSL, &v) ? v : NAN;
        /* no gap kept at all (non-streaming): icl_v is NULL, and NULL + 0 is undefined */
        c->icl = ru->icl_over || !ru->icl_len || !ru->icl_v ? NULL : ru->icl_v + ru->icl_off[i];
        c->nicl = c->icl ? ru->icl_len[i] : 0;
        use_icl |= c->nicl > 0;
        gaps += c->nicl;
    }
    if (!m || w0 >= w1) {
        stats_scratch_put(x);
        return;
    }
    double a = (double)w0, b = (double)w1;
    const double ns = 1e9; /* tokens/ns to tokens/sec */
    struct sweep_summary *o = s->sweep;
    struct evs ev = {NULL, 0, 0};
    /* Each curve holds about two points per request (per gap for the ICL-aware ones), so
     * they are built in three groups, each summarized and freed before the next: at 10^6
     * records, all eight alive at once took the report from 182 MB to 706 MB. */
    ev_reserve(&ev, use_icl ? 3 * m + gaps : 3 * m);
    for (size_t i = 0; i < m; i++)
        tif_events(&x[i], use_icl, &ev);
    struct step tif = sweep_curve(&ev);
    tw_stats(&tif, a, b, 1, &o[SW_TOKENS_IN_FLIGHT]);
    step_free(&tif);

    /* decode: per chunk (ICL-aware) when any record has gaps, else (OSL - 1) / decode time
     * from the first token to the end (throughput_sweep_line) */
    ev_reserve(&ev, 2 * m);
    for (size_t i = 0; i < m; i++)
        if (!isnan(x[i].gen)) {
            ev_add(&ev, x[i].gen, 1);
            ev_add(&ev, x[i].end, -1);
        }
    struct step gconc = sweep_curve(&ev);
    ev_reserve(&ev, use_icl ? 2 * gaps : 2 * m);
    for (size_t i = 0; i < m; i++) {
        const struct sw_rec *c = &x[i];
        bool gen = !isnan(c->gen) && !isnan(c->osl) && c->end - c->gen > 0 && c->osl >= 1;
        if (use_icl)
            decode_icl_events(c, &ev);
        else if (gen) {
            ev_add(&ev, c->gen, (c->osl - 1.0) / (c->end - c->gen));
            ev_add(&ev, c->end, -((c->osl - 1.0) / (c->end - c->gen)));
        }
    }
    struct step tput = sweep_curve(&ev);
    tw_stats(&gconc, a, b, 1, &o[SW_DECODE_CONC]);
    tw_stats(&tput, a, b, ns, &o[SW_DECODE_TPUT]);
    active_stats(&tput, &gconc, a, b, ns, &o[SW_ACTIVE_DECODE_TPUT]);
    /* the per-user curve once the rate's statistics are taken, so that the two are never
     * summarized side by side (each summary sorts a copy of its curve's segments) */
    struct step upu = step_divide(&tput, &gconc);
    step_free(&tput);
    tw_stats(&upu, a, b, ns, &o[SW_DECODE_TPUT_USER]);
    active_stats(&upu, &gconc, a, b, ns, &o[SW_ACTIVE_DECODE_TPUT_USER]);
    step_free(&upu);
    step_free(&gconc);

    /* prefill: ISL / TTFT */
    ev_reserve(&ev, 2 * m);
    for (size_t i = 0; i < m; i++)
        if (!isnan(x[i].gen)) {
            ev_add(&ev, x[i].start, 1);
            ev_add(&ev, x[i].gen, -1);
        }
    struct step pconc = sweep_curve(&ev);
    ev_reserve(&ev, 2 * m);
    for (size_t i = 0; i < m; i++) {
        const struct sw_rec *c = &x[i];
        if (!isnan(c->gen) && !isnan(c->isl) && c->gen - c->start > 0) {
            ev_add(&ev, c->start, c->isl / (c->gen - c->start));
            ev_add(&ev, c->gen, -(c->isl / (c->gen - c->start)));
        }
    }
    struct step ptput = sweep_curve(&ev);
    tw_stats(&pconc, a, b, 1, &o[SW_PREFILL_CONC]);
    tw_stats(&ptput, a, b, ns, &o[SW_PREFILL_TPUT]);
    active_stats(&ptput, &pconc, a, b, ns, &o[SW_ACTIVE_PREFILL_TPUT]);
    struct step pupu = step_divide(&ptput, &pconc);
    step_free(&ptput);
    tw_stats(&pupu, a, b, ns, &o[SW_PREFILL_TPUT_USER]);
    active_stats(&pupu, &pconc, a, b, ns, &o[SW_ACTIVE_PREFILL_TPUT_USER]);
    step_free(&pupu);
    step_free(&pconc);

    /* total: prefill plus the request-level decode rate (never per chunk, as in AIPerf) */
    ev_reserve(&ev, 2 * m);
    for (size_t i = 0; i < m; i++) {
        ev_add(&ev, x[i].start, 1);
        ev_add(&ev, x[i].end, -1);
    }
    struct step conc = sweep_curve(&ev);
    ev_reserve(&ev, 4 * m);
    for (size_t i = 0; i < m; i++) {
        const struct sw_rec *c = &x[i];
        if (!isnan(c->gen) && !isnan(c->isl) && c->gen - c->start > 0) {
            ev_add(&ev, c->start, c->isl / (c->gen - c->start));
            ev_add(&ev, c->gen, -(c->isl / (c->gen - c->start)));
        }
        if (!isnan(c->gen) && !isnan(c->osl) && c->end - c->gen > 0 && c->osl >= 1) {
            ev_add(&ev, c->gen, (c->osl - 1.0) / (c->end - c->gen));
            ev_add(&ev, c->end, -((c->osl - 1.0) / (c->end - c->gen)));
        }
    }
    struct step ttput = sweep_curve(&ev);
    stats_scratch_put(x); /* the last curve is built: the records are not needed again */
    tw_stats(&conc, a, b, 1, &o[SW_CONC]);
    tw_stats(&ttput, a, b, ns, &o[SW_TOTAL_TPUT]);
    active_stats(&ttput, &conc, a, b, ns, &o[SW_ACTIVE_TOTAL_TPUT]);
    step_free(&ttput);
    step_free(&conc);
}

/* numpy.percentile(values + [inf] * errors, q, method="nearest") over the sorted successes
 * v[0..n): the rank q x (N - 1) rounded half to even, as numpy rounds it. */
static void adj_summarize(const double *v, size_t n, uint64_t errors, struct adj_summary *a)
{
    uint64_t total = n + errors;
    a->has = true;
    a->count = total;
    a->min = n ? v[0] : NAN;
    for (int k = 0; k < STATS_NPCT; k++) {
        double idx = rint(stats_pct_q[k] * (double)(total - 1));
        size_t i = (size_t)idx;
        a->pct[k] = i < n ? v[i] : INFINITY;
    }
}

/* AIPerf 0.13's network_adjusted_* (metrics/network_adjusted_analyzer.py): each profile
 * record's source value minus the run's mean RTT, clamped at 0, summarized like any float
 * metric except that std is numpy's default (population, ddof 0); network_rtt is the RTT
 * itself as one value (count 1, std 0). Warmup records are not adjusted (AIPerf delivers
 * the RTT to the profiling accumulator only). */
static void network_adjusted(const struct run *ru, const size_t *idx, size_t n, int m, double *col,
                             double *scratch, struct stats_summary *out)
{
    double rtt = ru->net_rtt_ns;
    if (m == M_NET_RTT) {
        memset(out, 0, sizeof *out);
        out->count = 1;
        out->sum = out->avg = out->min = out->max = rtt;
        for (int q = 0; q < STATS_NPCT; q++)
            out->pct[q] = rtt;
        out->std = 0;
        out->exact = true;
        return;
    }
    int src = metric_network_source(m);
    size_t k = 0;
    for (size_t ii = 0; ii < n; ii++) {
        const struct rrec *r = &ru->r[idx[ii]];
        double x;
        if (r->phase == REC_PROFILE && metric_value(r, (enum metric_id)src, &x))
            col[k++] = x - rtt > 0 ? x - rtt : 0;
    }
    stats_summarize(col, k, scratch, out);
    if (k == 1)
        out->std = 0;
    else if (k > 1)
        out->std *= sqrt((double)(k - 1) / (double)k);
}

void report_summarize(const struct run *ru, bool (*sel)(const struct rrec *, const void *),
                      const void *ctx, const struct stats_hist *icl, const struct verdict_spec *v,
                      struct rsummary *s)
{
    memset(s, 0, sizeof *s);
    uint8_t prof = REC_PROFILE;
    if (!sel) {
        sel = sel_phase;
        ctx = &prof;
    }
    /* One selection pass; every metric then walks only the selected records. */
    size_t n = 0, nsel_prof = 0;
    size_t *idx = stats_scratch_get((ru->n ? ru->n : 1) * sizeof *idx);
    for (size_t i = 0; i < ru->n; i++)
        if (sel(&ru->r[i], ctx)) {
            idx[n++] = i;
            nsel_prof += ru->r[i].phase == REC_PROFILE;
        }
    /* Every profile record and nothing else (the one worker of a run, the profile phase of
     * a breakdown), with no ICL and no SLOs: the run's profile summary without them. The
     * same records in the same order give the same figures, and each figure costs a sort
     * of every record. */
    if (ru->plain_prof && !icl && !(v && v->nslo) && n == nsel_prof &&
        n == ru->plain_prof->n_total) {
        *s = *ru->plain_prof;
        stats_scratch_put(idx);
        return;
    }
    double *col = stats_scratch_get((n ? n : 1) * sizeof *col);
    double *scratch = stats_scratch_get((n ? n : 1) * sizeof *scratch);
    /* embeddings and rankings produce no tokens (AIPerf 0.13: produces_tokens false) */
    bool tokens = strcmp(ru->endpoint, "embeddings") != 0 && strcmp(ru->endpoint, "rankings") != 0;
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    double total_osl = 0, total_isl = 0, total_reason = 0, good = 0, total_out = 0;
    double usage_sum[4] = {0, 0, 0, 0}; /* prompt, completion, total, reasoning */
    bool usage_any[4] = {false, false, false, false};
    double err_isl = 0, mismatches = 0;
    bool any_err_isl = false, any_osl_req = false;
    double ctx_overflow = 0;
    bool any_reason = false;
    for (size_t ii = 0; ii < n; ii++) {
        const struct rrec *r = &ru->r[idx[ii]];
        s->n_total++;
        if (r->flags & RR_ERROR)
            s->n_errors++;
        if (!(r->flags & RR_VALID)) {
            s->n_invalid++;
            if (r->flags2 & RR2_CTX_OVERFLOW)
                ctx_overflow++;
            if (r->isl >= 0) {
                err_isl += r->isl;
                any_err_isl = true;
            }
            continue;
        }
        s->n_valid++;
        if (r->out_tokens >= 0)
            total_out += r->out_tokens;
        static const int um[4] = {M_USAGE_PROMPT, M_USAGE_COMPLETION, M_USAGE_TOTAL,
                                  M_USAGE_REASONING};
        for (int k = 0; k < 4; k++) {
            double x;
            if (metric_value(r, (enum metric_id)um[k], &x)) {
                usage_sum[k] += x;
                usage_any[k] = true;
            }
        }
        if (r->osl_req > 0 && r->osl >= 0) {
            /* AIPerf's OSLMismatchCountMetric with its default thresholds
             * (OSL_MISMATCH_PCT_THRESHOLD 5 %, OSL_MISMATCH_MAX_TOKEN_THRESHOLD 50) */
            double thr = (double)r->osl_req * (5.0 / 100);
            if (thr > 50)
                thr = 50;
            any_osl_req = true;
            if (fabs((double)r->osl - (double)r->osl_req) > thr)
                mismatches++;
        }
        if (r->t_start < tmin)
            tmin = r->t_start;
        if (r->t_last > tmax)
            tmax = r->t_last;
        if (r->osl >= 0)
            total_osl += r->osl;
        if (r->isl >= 0)
            total_isl += r->isl;
        if (r->flags & RR_REASONING) {
            any_reason = true;
            total_reason += r->reasoning > 0 ? r->reasoning : 0;
        }
        if (v && v->nslo && slo_met(r, v))
            good++;
    }
    size_t nprof = 0; /* selected profile-phase records (the network adjustment's scope) */
    for (size_t ii = 0; ii < n; ii++)
        nprof += ru->r[idx[ii]].phase == REC_PROFILE;
    for (int m = 0; m < M_NRECORD; m++) {
        if (m == M_ICL)
            continue;
        if (!tokens && (metric_defs[m].flags & MF_TOKENS))
            continue;
        if (m == M_NET_RTT || metric_network_source(m) >= 0) {
            if (ru->net_rtt_ns > 0 && nprof)
                network_adjusted(ru, idx, n, m, col, scratch, &s->m[m]);
            continue;
        }
        size_t k = 0;
        for (size_t ii = 0; ii < n; ii++) {
            double x;
            if (metric_value(&ru->r[idx[ii]], (enum metric_id)m, &x))
                col[k++] = x;
        }
        if (metric_defs[m].flags & MF_INT)
            stats_summarize_int(col, k, scratch, &s->m[m]);
        else
            stats_summarize(col, k, scratch, &s->m[m]);
        for (int a = 0; a < REPORT_NADJ; a++)
            if (report_adj_metric[a] == m && s->n_invalid && k)
                adj_summarize(scratch, k, s->n_invalid, &s->adj[a]); /* sorted by stats */
    }
    stats_scratch_put(idx);
    stats_scratch_put(col);
    stats_scratch_put(scratch);
    if (icl && tokens)
        stats_hist_summarize(icl, &s->m[M_ICL]);
    (void)any_reason;
    if (s->n_total) {
        s->scalar[M_ERROR_RATE] = (double)s->n_invalid / (double)s->n_total;
        s->has_scalar[M_ERROR_RATE] = true;
        s->scalar[M_REQ_ERR_RATE] = 100.0 * (double)s->n_invalid / (double)s->n_total;
        s->has_scalar[M_REQ_ERR_RATE] = true;
        s->scalar[M_COMPLETED] = (double)s->n_total;
        s->has_scalar[M_COMPLETED] = true;
    }
    if (s->n_invalid) {
        s->scalar[M_ERR_COUNT] = (double)s->n_invalid;
        s->has_scalar[M_ERR_COUNT] = true;
        s->scalar[M_CTX_OVERFLOW] = ctx_overflow;
        s->has_scalar[M_CTX_OVERFLOW] = true;
    }
    if (any_err_isl) {
        s->scalar[M_TOTAL_ERROR_ISL] = err_isl;
        s->has_scalar[M_TOTAL_ERROR_ISL] = true;
    }
    if (!s->n_valid)
        return;
    s->scalar[M_REQ_COUNT] = (double)s->n_valid;
    s->has_scalar[M_REQ_COUNT] = true;
    if (tokens) {
        s->scalar[M_TOTAL_OSL] = total_osl;
        s->scalar[M_TOTAL_ISL] = total_isl;
        s->has_scalar[M_TOTAL_OSL] = s->has_scalar[M_TOTAL_ISL] = true;
        if (any_reason) {
            s->scalar[M_TOTAL_REASONING] = total_reason;
            s->has_scalar[M_TOTAL_REASONING] = true;
        }
        s->scalar[M_TOTAL_OUT] = total_out;
        s->has_scalar[M_TOTAL_OUT] = true;
        if (any_osl_req) {
            s->scalar[M_OSL_MISMATCH_COUNT] = mismatches;
            s->has_scalar[M_OSL_MISMATCH_COUNT] = true;
        }
    }
    static const int tu[4] = {M_TOTAL_USAGE_PROMPT, M_TOTAL_USAGE_COMPLETION, M_TOTAL_USAGE_TOTAL,
                              M_TOTAL_USAGE_REASONING};
    for (int k = 0; k < 4; k++) {
        if (usage_any[k] && (tokens || k == 0)) {
            s->scalar[tu[k]] = usage_sum[k];
            s->has_scalar[tu[k]] = true;
        }
    }
    if (tmax > tmin) {
        double dur = (double)(tmax - tmin);
        s->scalar[M_DURATION] = dur;
        s->has_scalar[M_DURATION] = true;
        s->scalar[M_REQ_TPUT] = (double)s->n_valid / (dur * 1e-09);
        s->has_scalar[M_REQ_TPUT] = true;
        if (tokens) {
            s->scalar[M_OTT] = total_osl / (dur * 1e-09);
            s->has_scalar[M_OTT] = true;
            s->scalar[M_TOTAL_TOK_TPUT] = (total_isl + total_osl) / (dur * 1e-09);
            s->has_scalar[M_TOTAL_TOK_TPUT] = true;
        }
        s->scalar[M_INPUT_TOK_TPUT] = total_isl / (dur * 1e-09);
        s->has_scalar[M_INPUT_TOK_TPUT] = true;
        if (v && v->nslo) {
            s->scalar[M_GOODPUT] = good / (dur * 1e-09);
            s->has_scalar[M_GOODPUT] = true;
        }
    }
    if (v && v->nslo) {
        s->scalar[M_GOOD_COUNT] = good;
        s->has_scalar[M_GOOD_COUNT] = true;
    }
}

/* Linux retransmits an unanswered SYN after 1 s (TCP_TIMEOUT_INIT), then 3 s, 7 s ...: a
 * connect that long almost always waited for a retransmission, because the server's
 * accept queue was full. */
#define CONNECT_SLOW_NS 1000000000LL
/* A median connect above this, and 4x the fastest, is queueing, not a round trip. */
#define CONNECT_QUEUED_NS 100000000LL

void report_connections(struct run *ru)
{
    struct rconnect *c = &ru->conn;
    memset(c, 0, sizeof *c);
    size_t n = 0;
    for (size_t i = 0; i < ru->n; i++)
        n += ru->r[i].phase == REC_PROFILE;
    double *conn = xmalloc((n ? n : 1) * sizeof *conn);
    double *fresh = xmalloc((n ? n : 1) * sizeof *fresh);
    double *reused = xmalloc((n ? n : 1) * sizeof *reused);
    double *scratch = xmalloc((n ? n : 1) * sizeof *scratch);
    size_t nf = 0, nr = 0;
    c->ttft_is_latency = !ru->streaming;
    for (size_t i = 0; i < ru->n; i++) {
        const struct rrec *r = &ru->r[i];
        if (r->phase != REC_PROFILE || r->t_start == RR_NONE)
            continue;
        double x;
        bool has = metric_value(r, c->ttft_is_latency ? M_LATENCY : M_TTFT, &x);
        if (r->connect_ns != RR_NONE) {
            conn[c->fresh++] = (double)r->connect_ns;
            c->slow += r->connect_ns >= CONNECT_SLOW_NS;
            if (has)
                fresh[nf++] = x;
        } else {
            c->reused++;
            if (has)
                reused[nr++] = x;
        }
    }
    stats_summarize_int(conn, c->fresh, scratch, &c->connect);
    stats_summarize(fresh, nf, scratch, &c->ttft_fresh);
    stats_summarize(reused, nr, scratch, &c->ttft_reused);
    free(conn);
    free(fresh);
    free(reused);
    free(scratch);
    const struct stats_summary *s = &c->connect;
    bool queued = s->count && s->pct[4] > CONNECT_QUEUED_NS && s->pct[4] > 4 * s->min;
    if (!queued && !c->slow)
        return;
    int k =
        snprintf(c->warning, sizeof c->warning,
                 "connects queued: median %.1f ms, p99 %.1f ms over %llu new connections "
                 "(fastest %.2f ms)",
                 s->pct[4] * 1e-6, s->pct[8] * 1e-6, (unsigned long long)c->fresh, s->min * 1e-6);
    if (c->slow && k > 0 && (size_t)k < sizeof c->warning)
        k += snprintf(c->warning + k, sizeof c->warning - (size_t)k,
                      ", %llu took 1 s or more (SYN retransmissions: the server's accept queue "
                      "was full)",
                      (unsigned long long)c->slow);
    const char *what = c->ttft_is_latency ? "latency" : "TTFT";
    if (k > 0 && (size_t)k < sizeof c->warning)
        k += snprintf(c->warning + k, sizeof c->warning - (size_t)k,
                      "; latency and TTFT count from the connect start, so they include it");
    if (c->ttft_fresh.count && k > 0 && (size_t)k < sizeof c->warning)
        k += snprintf(c->warning + k, sizeof c->warning - (size_t)k,
                      " (%s avg %.1f ms on new connections, of which connect %.1f ms", what,
                      c->ttft_fresh.avg * 1e-6, s->avg * 1e-6);
    if (c->ttft_fresh.count && c->ttft_reused.count && k > 0 && (size_t)k < sizeof c->warning)
        k += snprintf(c->warning + k, sizeof c->warning - (size_t)k, "; %.1f ms on open ones",
                      c->ttft_reused.avg * 1e-6);
    if (c->ttft_fresh.count && k > 0 && (size_t)k < sizeof c->warning)
        k += snprintf(c->warning + k, sizeof c->warning - (size_t)k, ")");
    if (k > 0 && (size_t)k < sizeof c->warning)
        snprintf(c->warning + k, sizeof c->warning - (size_t)k,
                 ". A client-side artefact, not server latency: --preconnect, a larger "
                 "listen backlog (net.core.somaxconn), or a slower ramp avoids it");
}

bool report_stat(const struct rsummary *s, int m, enum verdict_stat st, double *out)
{
    if (m >= M_NRECORD) {
        if (!s->has_scalar[m] || st != VS_AVG)
            return false;
        *out = metric_display((enum metric_id)m, s->scalar[m]);
        return true;
    }
    const struct stats_summary *x = &s->m[m];
    if (!x->count)
        return false;
    double v;
    switch (st) {
    case VS_AVG:
        v = x->avg;
        break;
    case VS_MIN:
        v = x->min;
        break;
    case VS_MAX:
        v = x->max;
        break;
    case VS_STD:
        v = x->std;
        break;
    case VS_SUM:
        v = x->sum;
        break;
    case VS_COUNT:
        *out = (double)x->count;
        return true;
    default:
        v = x->pct[st - VS_P1];
        break;
    }
    *out = metric_display((enum metric_id)m, v);
    return true;
}

static void judge(struct run *ru, const struct report_opts *o, bool label_lines)
{
    buf_init(&ru->verdict_lines, 1 << 20);
    const char *pre = label_lines ? ru->label : NULL;
    if (ru->prof.n_valid == 0 && !o->allow_all_failed) {
        ru->all_failed = true;
        buf_printf(&ru->verdict_lines, "%s%severy request failed (%llu of %llu)\n", pre ? pre : "",
                   pre ? ": " : "", (unsigned long long)ru->prof.n_invalid,
                   (unsigned long long)ru->prof.n_total);
    }
    const struct verdict_spec *v = o->verdict;
    for (size_t i = 0; v && i < v->nrule; i++) {
        const struct rule *r = &v->rule[i];
        double x;
        const struct metric_def *md = &metric_defs[r->metric];
        if (!report_stat(&ru->prof, r->metric, r->stat, &x)) {
            ru->violations++;
            buf_printf(&ru->verdict_lines, "%s%srule '%s' failed: %s was not measured\n",
                       pre ? pre : "", pre ? ": " : "", r->text, md->tag);
            continue;
        }
        if (verdict_rule_fires(r, x)) {
            ru->violations++;
            buf_printf(&ru->verdict_lines, "%s%srule '%s' failed: %s.%s = %.6g %s\n",
                       pre ? pre : "", pre ? ": " : "", r->text, md->tag, verdict_stat_str(r->stat),
                       x, md->unit);
        }
    }
}

/* ------------------------------------------------------------------ grouping */

static void run_free(struct run *ru)
{
    report_tel_free(ru);
    cJSON_Delete(ru->set_agg);
    free(ru->plain_prof);
    free(ru->icl_v);
    free(ru->icl_off);
    free(ru->icl_len);
    for (size_t i = 0; i < ru->nshards; i++)
        run_meta_free(&ru->shard[i]);
    free(ru->shard);
    free(ru->r);
    stats_hist_free(&ru->icl);
    stats_hist_free(&ru->icl_warm);
    for (size_t i = 0; i < ru->nerr; i++) {
        free(ru->err[i].type);
        free(ru->err[i].msg);
    }
    free(ru->err);
    free(ru->err_table);
    free(ru->label);
    free(ru->out_dir);
    free(ru->shard_missing);
    free(ru->shard_late_p99);
    buf_free(&ru->verdict_lines);
    free(ru);
}

/* Shards of one run: one trace (sha256), one shard count and, when --start-at was
 * given, one start instant. */
static bool same_run(const struct run_meta *a, const struct run_meta *b)
{
    return a->shard_count > 1 && a->shard_count == b->shard_count && a->trace_sha256[0] &&
           strcmp(a->trace_sha256, b->trace_sha256) == 0 && a->start_at_real == b->start_at_real;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The run dirs an argument stands for: itself when it holds run.json, else the
 * subdirectories that do (a shared output dir the shards of one run wrote into), in name
 * order; itself again when it has none (run_meta_load then says what is missing). Appends
 * owned copies to *out. */
static void push_dir(const char *dir, char ***out, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *out = xrealloc(*out, *cap * sizeof **out);
    }
    (*out)[(*n)++] = xstrdup(dir);
}

/* The run dirs at or under dir, depth levels down at most, in name order: a repeated
 * sweep keeps its runs two levels below its base (profile_runs/trial_0001/concurrency_4),
 * a shared shard dir one level. */
static void find_runs(const char *dir, int depth, char ***out, size_t *n, size_t *cap)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/run.json", dir);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        push_dir(dir, out, n, cap);
        return;
    }
    DIR *dh = depth > 0 ? opendir(dir) : NULL;
    if (!dh)
        return;
    char **sub = NULL;
    size_t nsub = 0, subcap = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            push_dir(path, &sub, &nsub, &subcap);
    }
    closedir(dh);
    qsort(sub, nsub, sizeof *sub, cmp_str);
    for (size_t i = 0; i < nsub; i++) {
        find_runs(sub[i], depth - 1, out, n, cap);
        free(sub[i]);
    }
    free(sub);
}

/* dir itself when it is a run dir (or holds none: its own error follows), else the run
 * dirs under it. */
static void expand_dir(const char *dir, char ***out, size_t *n, size_t *cap)
{
    size_t first = *n;
    find_runs(dir, 3, out, n, cap);
    if (*n == first)
        push_dir(dir, out, n, cap);
}

/* Each shard's schedule lateness p99 over its profile records (nearest rank, as every
 * other percentile of the report), and the run's missing shards. */
static void shard_figures(struct run *ru)
{
    ru->shard_late_p99 = xcalloc(ru->nshards, sizeof *ru->shard_late_p99);
    size_t *cnt = xcalloc(ru->nshards + 1, sizeof *cnt);
    for (size_t i = 0; i < ru->n; i++)
        cnt[ru->r[i].shard]++;
    double *v = xmalloc((ru->n ? ru->n : 1) * sizeof *v);
    double *tmp = xmalloc((ru->n ? ru->n : 1) * sizeof *tmp);
    for (size_t s = 0; s < ru->nshards; s++) {
        size_t k = 0;
        for (size_t i = 0; i < ru->n && cnt[s]; i++) {
            double x;
            const struct rrec *r = &ru->r[i];
            if (r->shard == s && r->phase == REC_PROFILE && metric_value(r, M_LATENESS, &x))
                v[k++] = x;
        }
        stats_sort(v, tmp, k);
        ru->shard_late_p99[s] = k ? stats_percentile_sorted(v, k, 0.99) : NAN;
    }
    free(v);
    free(tmp);
    free(cnt);
    if (ru->shard_count > 1) {
        bool *seen = xcalloc((size_t)ru->shard_count, sizeof *seen);
        for (size_t s = 0; s < ru->nshards; s++)
            seen[ru->shard[s].shard_index] = true;
        ru->shard_missing = xcalloc((size_t)ru->shard_count, sizeof *ru->shard_missing);
        for (int k = 0; k < ru->shard_count; k++)
            if (!seen[k])
                ru->shard_missing[ru->nshard_missing++] = k;
        free(seen);
        if (ru->nshard_missing)
            ru->complete = false;
    }
}

/* The worst skew between the shards' starts: each shard's profile time zero on its own
 * wall clock (anchor pair + t0), the spread of those, plus -- between different hosts --
 * the two largest clock error estimates (adjtimex esterror), since each host's wall
 * clock may be off by its own. Shards on one host share one clock: nothing added. */
static void shard_skew(struct run *ru)
{
    ru->shard_skew = -1;
    if (ru->nshards < 2)
        return;
    int64_t lo = INT64_MAX, hi = INT64_MIN, e1 = 0, e2 = 0;
    bool hosts = false;
    size_t used = 0;
    const char *unsynced = NULL;
    for (size_t s = 0; s < ru->nshards; s++) {
        const struct run_meta *m = &ru->shard[s];
        /* a shard killed before the end has no t0 in run.json, but its --start-at instant
         * on its monotonic clock is where its t0 was set (without a warmup) */
        int64_t t0m = m->t0_mono ? m->t0_mono : m->start_at_mono;
        if (!t0m)
            continue; /* recorded before start existed, or killed without --start-at */
        used++;
        int64_t t0 = m->anchor_real + (t0m - m->anchor_mono);
        lo = t0 < lo ? t0 : lo;
        hi = t0 > hi ? t0 : hi;
        if (strcmp(m->hostname, ru->shard[0].hostname) != 0)
            hosts = true;
        if (m->clock_esterror < 0 || !m->clock_synced)
            unsynced = m->dir;
        int64_t e = m->clock_esterror > 0 ? m->clock_esterror : 0;
        if (e > e1) {
            e2 = e1;
            e1 = e;
        } else if (e > e2) {
            e2 = e;
        }
    }
    if (used < 2) {
        snprintf(ru->shard_skew_note, sizeof ru->shard_skew_note,
                 "fewer than two shards' run.json say when they started");
        return;
    }
    if (hosts && unsynced) {
        snprintf(ru->shard_skew_note, sizeof ru->shard_skew_note,
                 "%.200s: the host's clock is not synchronized (adjtimex)", unsynced);
        return;
    }
    ru->shard_skew = hi - lo + (hosts ? e1 + e2 : 0);
    int k = snprintf(ru->shard_skew_note, sizeof ru->shard_skew_note,
                     hosts ? "start instants %.3f ms apart on the hosts' clocks + their error "
                             "estimates %.3f ms"
                           : "start instants %.3f ms apart on one host's clock",
                     (double)(hi - lo) / 1e6, (double)(e1 + e2) / 1e6);
    if (used < ru->nshards && k > 0 && (size_t)k < sizeof ru->shard_skew_note)
        snprintf(ru->shard_skew_note + k, sizeof ru->shard_skew_note - (size_t)k,
                 "; %zu shard(s) without a recorded start left out", ru->nshards - used);
}

/* Says plainly what a sharded run lacks: missing shards, shards that did not finish, and
 * a skew between the shards' starts larger than the lateness reported. */
static void shard_warnings(const struct run *ru, bool many, struct buf *out)
{
    const char *pre = many ? ru->label : "", *sep = many ? ": " : "";
    if (ru->shard_count <= 1)
        return;
    if (ru->nshard_missing) {
        /* shards named as --shard names them: I/N, I from 0 */
        buf_printf(out, "%s%spartial run: %zu of %d shards missing (", pre, sep, ru->nshard_missing,
                   ru->shard_count);
        for (size_t k = 0; k < ru->nshard_missing; k++)
            buf_printf(out, "%s%d/%d", k ? ", " : "", ru->shard_missing[k], ru->shard_count);
        buf_printf(out, "): the report covers only the shards found\n");
    }
    for (size_t s = 0; s < ru->nshards; s++) {
        const struct run_meta *m = &ru->shard[s];
        if (!m->complete || m->cancelled)
            buf_printf(out,
                       "%s%spartial run: shard %d/%d (%s) did not finish (%s): its records up "
                       "to where it stopped are included\n",
                       pre, sep, m->shard_index, m->shard_count, m->dir,
                       !m->complete ? "run.json says complete=false: killed or failed"
                                    : "cancelled or interrupted");
    }
    const struct stats_summary *late = &ru->prof.m[M_LATENESS];
    if (ru->nshards > 1 && ru->shard_skew < 0)
        buf_printf(out, "%s%sthe skew between the shards' starts cannot be told (%s)\n", pre, sep,
                   ru->shard_skew_note);
    else if (ru->nshards > 1 && late->count && (double)ru->shard_skew > late->pct[8])
        buf_printf(out,
                   "%s%sthe shards started up to %.3f ms apart (%s): more than the schedule "
                   "lateness p99 %.3f ms the report gives\n",
                   pre, sep, (double)ru->shard_skew / 1e6, ru->shard_skew_note, late->pct[8] / 1e6);
}

void report_result_free(struct report_result *res)
{
    buf_free(&res->messages);
    buf_free(&res->written);
    buf_free(&res->warnings);
}

static int report_run_staged(const char *const *dirs, size_t ndirs, const struct report_opts *o,
                             struct report_result *res, struct diag *d);

int report_run(const char *const *dirs, size_t ndirs, const struct report_opts *o,
               struct report_result *res, struct diag *d)
{
    memset(res, 0, sizeof *res);
    buf_init(&res->messages, 1 << 20);
    buf_init(&res->written, 1 << 20);
    buf_init(&res->warnings, 1 << 20);
    if (ndirs == 0)
        return diag_set(d, ERR_INVALID, "no run directory given");
    /* Every export appears together at the end or none does: a check that fails late
     * (too many time slices, a bad record in the second run, a full disk) must not leave
     * the exports written before it. */
    zio_defer_begin();
    int rc = report_run_staged(dirs, ndirs, o, res, d);
    struct diag d2;
    int rc2 = zio_defer_end(rc == 0, &d2);
    if (rc2 && !rc) {
        *d = d2;
        rc = rc2;
    }
    if (rc)
        buf_reset(&res->written);
    stats_scratch_trim(); /* the sorts' and curves' blocks, kept across the runs */
    return rc;
}

static int report_run_staged(const char *const *dirs, size_t ndirs, const struct report_opts *o,
                             struct report_result *res, struct diag *d)
{
    /* A directory without run.json stands for the run dirs inside it (the shards of one
     * run written to one shared directory). */
    char **ex = NULL;
    size_t nex = 0, excap = 0;
    for (size_t i = 0; i < ndirs; i++)
        expand_dir(dirs[i], &ex, &nex, &excap);
    /* One shared directory given: the merged report goes there, not into its first shard */
    const char *parent = ndirs == 1 && (nex > 1 || strcmp(ex[0], dirs[0]) != 0) ? dirs[0] : NULL;
    ndirs = nex;
    struct run_meta *metas = xcalloc(ndirs, sizeof *metas);
    int rc = 0;
    for (size_t i = 0; i < ndirs && !rc; i++)
        rc = run_meta_load(&metas[i], ex[i], d);
    /* Group: --merge puts everything in one run; else the shards of one trace, one shard
     * count and one start instant merge, each shard index once. */
    struct run **runs = xcalloc(ndirs, sizeof *runs);
    size_t nruns = 0;
    int *group = xcalloc(ndirs, sizeof *group);
    for (size_t i = 0; i < ndirs && !rc; i++) {
        group[i] = -1;
        for (size_t k = 0; k < i && group[i] < 0; k++) {
            if (!o->merge_all && !same_run(&metas[k], &metas[i]))
                continue;
            bool dup = false;
            for (size_t j = 0; j < i && !o->merge_all; j++)
                dup |= group[j] == group[k] && metas[j].shard_index == metas[i].shard_index;
            if (!dup) {
                group[i] = group[k];
            } else if (metas[i].start_at_real) {
                /* one start instant: the same shard of the same run, twice */
                rc = diag_set(d, ERR_INVALID,
                              "%s and %s: both are shard %d/%d of one run (one trace, one "
                              "--start-at)",
                              metas[k].dir, metas[i].dir, metas[i].shard_index,
                              metas[i].shard_count);
                break;
            }
        }
        if (group[i] < 0)
            group[i] = (int)nruns++;
    }
    /* Shards that only make a run together but replayed different traces: refused (their
     * merge would mean nothing, and side by side each would look like a partial run). */
    for (size_t i = 0; i < ndirs && !rc && !o->merge_all; i++)
        for (size_t k = 0; k < i && !rc; k++) {
            const struct run_meta *a = &metas[k], *b = &metas[i];
            if (group[i] == group[k] || a->shard_count < 2 || a->shard_count != b->shard_count ||
                a->start_at_real != b->start_at_real || !strcmp(a->trace_sha256, b->trace_sha256))
                continue;
            bool overlap = false;
            for (size_t x = 0; x < ndirs; x++)
                for (size_t y = 0; y < ndirs; y++)
                    overlap |= group[x] == group[k] && group[y] == group[i] &&
                               metas[x].shard_index == metas[y].shard_index;
            if (!overlap)
                rc = diag_set(d, ERR_INVALID,
                              "shards of different traces: %s (trace sha256 %.12s) and %s "
                              "(%.12s): the shards of a run must replay one trace",
                              a->dir, a->trace_sha256[0] ? a->trace_sha256 : "none", b->dir,
                              b->trace_sha256[0] ? b->trace_sha256 : "none");
        }
    for (size_t i = 0; i < nex; i++)
        free(ex[i]);
    free(ex);
    if (rc) {
        for (size_t k = 0; k < ndirs; k++)
            run_meta_free(&metas[k]);
        free(metas);
        free(group);
        free(runs);
        return rc;
    }
    for (size_t g = 0; g < nruns; g++) {
        struct run *ru = xcalloc(1, sizeof *ru);
        size_t n = 0;
        for (size_t i = 0; i < ndirs; i++)
            n += group[i] == (int)g;
        ru->shard = xcalloc(n, sizeof *ru->shard);
        for (size_t i = 0; i < ndirs; i++)
            if (group[i] == (int)g)
                ru->shard[ru->nshards++] = metas[i];
        ru->shard_count = ru->shard[0].shard_count;
        for (size_t i = 1; i < ru->nshards; i++)
            if (ru->shard[i].shard_count != ru->shard_count)
                ru->shard_count = 1; /* --merge of unrelated dirs: no shard set to check */
        ru->label = xstrdup(o->nlabels ? o->labels[g < o->nlabels ? g : 0] : ru->shard[0].label);
        /* Distinct labels for side-by-side runs. */
        for (size_t k = 0; k < g; k++) {
            if (strcmp(runs[k]->label, ru->label) == 0) {
                char tmp[512];
                snprintf(tmp, sizeof tmp, "%s-%zu", ru->label, g + 1);
                free(ru->label);
                ru->label = xstrdup(tmp);
            }
        }
        report_load_set_aggregate(ru);
        runs[g] = ru;
    }
    free(metas);
    free(group);
    res->nruns = nruns;
    if (o->nlabels && o->nlabels != nruns) {
        for (size_t g = 0; g < nruns; g++)
            run_free(runs[g]);
        free(runs);
        return diag_set(d, ERR_INVALID,
                        "--label given %zu time(s) for %zu run(s): give one per run, in the "
                        "order of the run dirs (shards of one run count once)",
                        o->nlabels, nruns);
    }

    const char *top = o->out_dir   ? o->out_dir
                      : parent     ? parent
                      : nruns == 1 ? runs[0]->shard[0].dir
                                   : "metronome-compare";
    if (o->exports & ~(unsigned)REPORT_CONSOLE)
        rc = zio_mkdir_p(top, d);
    for (size_t g = 0; g < nruns && !rc; g++) {
        struct run *ru = runs[g];
        char dir[4096];
        if (nruns == 1)
            snprintf(dir, sizeof dir, "%s", top);
        else
            snprintf(dir, sizeof dir, "%s/%s", top, ru->label);
        ru->out_dir = xstrdup(dir);
        if (o->exports & ~(unsigned)REPORT_CONSOLE)
            rc = zio_mkdir_p(dir, d);
        if (!rc)
            rc = read_run(ru, o, res, d);
        if (rc)
            break;
        if (ru->icl_over)
            buf_printf(&res->warnings,
                       "%s%smore than %zu inter-chunk gaps: the decode throughput and "
                       "tokens_in_flight sweeps use request-level rates (AIPerf's tdigest "
                       "fallback), not each record's chunks\n",
                       nruns > 1 ? ru->label : "", nruns > 1 ? ": " : "",
                       o->max_icl ? o->max_icl : REPORT_ICL_MAX);
        shard_figures(ru);
        shard_skew(ru);
        rc = report_netlat(ru, o, res, d);
        if (rc)
            break;
        report_summarize(ru, NULL, NULL, &ru->icl, o->verdict, &ru->prof);
        /* what report_summarize gives the same records without icl and SLOs (its
         * short cut): before report_sweeps fills the profile summary's sweeps */
        ru->plain_prof = xmalloc(sizeof *ru->plain_prof);
        *ru->plain_prof = ru->prof;
        memset(&ru->plain_prof->m[M_ICL], 0, sizeof ru->plain_prof->m[M_ICL]);
        ru->plain_prof->scalar[M_GOODPUT] = ru->plain_prof->scalar[M_GOOD_COUNT] = 0;
        ru->plain_prof->has_scalar[M_GOODPUT] = ru->plain_prof->has_scalar[M_GOOD_COUNT] = false;
        shard_warnings(ru, nruns > 1, &res->warnings);
        uint8_t warm = REC_WARMUP;
        report_summarize(ru, sel_phase, &warm, &ru->icl_warm, o->verdict, &ru->warm);
        ru->has_warm = ru->warm.n_total > 0;
        report_sweeps(ru, REC_PROFILE, &ru->prof);
        report_sweeps(ru, REC_WARMUP, &ru->warm);
        report_connections(ru);
        if (ru->conn.warning[0])
            buf_printf(&res->warnings, "%s%s%s\n", nruns > 1 ? ru->label : "",
                       nruns > 1 ? ": " : "", ru->conn.warning);
        judge(ru, o, nruns > 1);
        res->violations += ru->violations;
        res->all_failed += ru->all_failed;
        res->incomplete += !ru->complete;
        if (ru->verdict_lines.len)
            buf_append(&res->messages, ru->verdict_lines.p, ru->verdict_lines.len);
    }
    for (size_t g = 0; g < nruns && !rc; g++) {
        struct run *ru = runs[g];
        if (o->exports & REPORT_JSON)
            rc = report_write_json(ru, o, ru->out_dir, res, d);
        if (!rc && (o->exports & REPORT_CSV))
            rc = report_write_csv(ru, o->export_prefix, ru->out_dir, res, d);
        if (!rc && o->slice_duration_s > 0 && (o->exports & (REPORT_JSON | REPORT_CSV)))
            rc = report_write_slices(ru, o, ru->out_dir, res, d);
    }
    if (!rc && nruns > 1)
        report_run_differences(runs, nruns, &res->warnings);
    /* before the HTML (its server-metrics charts); its console section after the table */
    for (size_t g = 0; g < nruns && !rc; g++)
        rc = report_telemetry(runs[g], o, runs[g]->out_dir, res, d);
    if (!rc && ((o->exports & REPORT_HTML) || o->plots_dir))
        rc = report_write_html(runs, nruns, o, top, res, d);
    if (!rc && (o->exports & REPORT_CONSOLE) && o->console) {
        report_print_console(runs, nruns, o);
        for (size_t g = 0; g < nruns; g++)
            if (runs[g]->tel_console.len)
                fputs(runs[g]->tel_console.p, o->console);
        fflush(o->console);
    }
    for (size_t g = 0; g < nruns; g++)
        if (runs[g])
            run_free(runs[g]);
    free(runs);
    return rc;
}
