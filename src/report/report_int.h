/*
 * Private to src/report/: the in-memory model of one run (one or several merged shards)
 * that every exporter reads. Built by report.c; exporters only read it.
 */
#ifndef METRONOME_REPORT_INT_H
#define METRONOME_REPORT_INT_H

#include "buf.h"
#include "metrics.h"
#include "records_read.h"
#include "report.h"
#include "stats.h"
#include "verdict.h"

#include <stdint.h>

struct err_group {
    int64_t code;        /* REC_ABSENT: null */
    char *type;          /* owned, raw JSON string body (escapes kept) */
    char *msg;           /* owned, raw JSON string body */
    uint64_t count;      /* profile phase */
    uint64_t warm_count; /* warmup phase */
    uint64_t hash;
};

/* AIPerf's error-adjusted ("adj_<tag>") percentiles of the metrics it flags
 * PERCENTILE_INCLUDES_FAILED_REQUESTS: each failed request adds +inf to the values, and
 * only the finite statistics are exported. */
#define REPORT_NADJ 4
extern const int report_adj_metric[REPORT_NADJ]; /* latency, TTFT, decode, ITL */
struct adj_summary {
    bool has;
    uint64_t count;         /* successes + failures */
    double min;             /* internal units; NaN without a success */
    double pct[STATS_NPCT]; /* +inf where the nearest rank is a failure */
};

/* AIPerf's time-weighted sweeps (aiperf.analysis.sweepline, SweepLineCurves.compute_metrics):
 * step functions over the phase's window of how many requests were in flight
 * (effective_concurrency: start to end), in decode (first token to end) and in prefill
 * (start to first token); the decode, prefill and total token throughput and their per-user
 * quotients; the tokens held (tokens_in_flight); and the active_* variants, weighted only
 * over the time their phase had a request in flight. Each has a time-weighted avg, min, max,
 * p50, p90, p95, p99 and std. Decode throughput and tokens in flight follow each record's
 * chunk timeline (AIPerf's ICL-aware curves, run.icl_*). */
#define REPORT_NSWEEP 14
extern const char *const report_sweep_tag[REPORT_NSWEEP];
extern const char *const report_sweep_header[REPORT_NSWEEP];
extern const char *const report_sweep_unit[REPORT_NSWEEP];
struct sweep_summary {
    bool has;
    double avg, min, max, p50, p90, p95, p99, std;
};

/* Summary of one set of records (the whole profile phase, a slice, a worker ...). */
struct rsummary {
    struct stats_summary m[M_NRECORD]; /* count 0: the metric is absent */
    double scalar[M_COUNT];            /* indexes >= M_NRECORD */
    bool has_scalar[M_COUNT];
    uint64_t n_total, n_valid, n_invalid, n_errors;
    struct adj_summary adj[REPORT_NADJ];
    struct sweep_summary sweep[REPORT_NSWEEP]; /* phases only (report_sweeps) */
};

#define TS_MAX_BINS 240

/* Server-metrics and GPU series of a run on the client time axis (report_telemetry.c), for
 * the HTML charts: series k has n[k] points x[k][i] (s since the first request) and
 * y[k][i]. */
enum { TEL_RUNNING, TEL_WAITING, TEL_KV, TEL_TOKS, TEL_GPU_UTIL, TEL_GPU_POWER, TEL_NSER };
struct tel_series {
    double *x[TEL_NSER], *y[TEL_NSER]; /* owned */
    size_t n[TEL_NSER];
};

struct run {
    char *label;
    struct run_meta *shard; /* owned array */
    size_t nshards;
    struct rrec *r; /* every record, warmup included, in file order */
    size_t n, cap;
    struct stats_hist icl; /* profile, valid records */
    struct stats_hist icl_warm;
    /* Every valid record's inter_chunk_latency list, for the ICL-aware sweeps: record i's
     * values are icl_v[icl_off[i] .. icl_off[i] + icl_len[i]) (owned; parallel to r). When
     * the run holds more than REPORT_ICL_MAX values, icl_over is set, the lists are dropped
     * and the sweeps use AIPerf's request-level curves (its t-digest fallback). */
    int64_t *icl_v;
    size_t icl_n, icl_cap;
    size_t *icl_off;
    uint32_t *icl_len;
    bool icl_over;
    struct err_group *err;
    size_t nerr, err_cap;
    int32_t *err_table; /* open addressing over err[], err_slots a power of two */
    size_t err_slots;
    int64_t base_real; /* wall clock ns of timeline 0 */
    bool http_trace;   /* a shard's replay ran with --record-http: lines get trace_data */
    int64_t base_mono; /* the reference shard's monotonic anchor */
    bool streaming, complete, cancelled;
    bool has_warmup_phase; /* the run had a warmup phase (phase_index of profiling is 1) */
    const char *endpoint;
    uint64_t dropped_bytes;
    size_t missing_records;                               /* shards without a records file */
    uint64_t osl_usage, osl_chunks, isl_usage, isl_trace; /* token-source tallies */
    uint64_t osl_tokenizer;                  /* output tokens counted by the report's tokenizer */
    const char *tokenizer;                   /* its name, or NULL */
    uint64_t reasoning_counted, osl_counted; /* usage contradicted by what was received */
    int64_t reads_kernel, reads_user;        /* summed over shards; -1 when no shard says */
    int32_t nworkers;
    char *out_dir; /* owned: where this run's files go */
    /* owned (cJSON): the profile_export_aiperf_aggregate.json of the repeated-run set this
     * run is one trial of, when the set had at least 2 successful runs; NULL otherwise.
     * Its CIs of the mean are the noise band of a comparison (report_ci_half). */
    struct cJSON *set_agg;
    struct tel_series *tel; /* owned; NULL without server metrics */
    struct buf tel_console; /* the server-metrics console section, printed after the table */
    /* A sharded run (shard_count > 1): the shard indexes with no run dir, the shards that
     * did not finish, each shard's schedule lateness p99 (ns, NaN without a record; owned,
     * parallel to shard[]), and the worst skew between the shards' start instants (ns,
     * their wall clocks' error estimates included; -1 when it cannot be told). */
    int shard_count;
    int *shard_missing; /* owned */
    size_t nshard_missing;
    double *shard_late_p99;
    int64_t shard_skew;
    char shard_skew_note[256]; /* how the skew was bounded, or why it cannot be */
    /* The mean network RTT (ns) subtracted from the network_adjusted_* metrics: the
     * report's --network-latency-mean, else the mean of the replay's successful TCP
     * connect probes (network_latency.jsonl); 0: no adjustment (report_netlat.c). */
    double net_rtt_ns;
    size_t net_probes, net_ok; /* probes read, successful ones */
    bool net_fixed;            /* net_rtt_ns is the report's --network-latency-mean */
    /* results */
    struct rsummary prof, warm;
    /* owned: prof as report_summarize gives it with no icl and no SLOs (no ICL, goodput
     * or sweeps), which it hands out again for the same records; NULL until prof is made */
    struct rsummary *plain_prof;
    bool has_warm;
    double good_count;
    struct buf verdict_lines;
    size_t violations;
    bool all_failed;
    struct rconnect {
        uint64_t fresh;               /* profile requests that opened a connection */
        uint64_t reused;              /* ... that ran on one already open */
        uint64_t slow;                /* fresh connects of >= 1 s: SYN retransmissions */
        struct stats_summary connect; /* of the fresh connects, ns */
        struct stats_summary ttft_fresh, ttft_reused; /* TTFT (streaming) or latency, ns */
        bool ttft_is_latency;
        char warning[640]; /* "" when connects look like a network round trip */
    } conn;
};

/* Connect time of the profile phase: how many requests opened a connection, how long the
 * connects took, and a warning when they queued (docs/metrics.md, *Connections*). */
void report_connections(struct run *ru);

/* Summarizes the records of `ru` selected by sel(r, ctx) (all profile records when sel is
 * NULL) into s. icl (may be NULL) supplies inter_chunk_latency. */
void report_summarize(const struct run *ru, bool (*sel)(const struct rrec *, const void *),
                      const void *ctx, const struct stats_hist *icl, const struct verdict_spec *v,
                      struct rsummary *s);

/* Fills s->sweep for the records of one phase (enum rec_phase), AIPerf's window being
 * the phase's first start to its last end. */
void report_sweeps(const struct run *ru, int phase, struct rsummary *s);

/* Label "Header (unit)" as AIPerf prints it (the OTT/user header keeps its newline unless
 * flat). */
void report_label(int m, bool flat, char *out, size_t cap);
/* Value formatted as AIPerf's console does: "{:,.2f}" (round half even on the binary
 * value), "nan" for NaN. */
void report_fmt2(double v, char *out, size_t cap);
/* Local naive ISO time of an epoch ns value (microseconds omitted when zero). */
void report_iso_time(int64_t ns, char *out, size_t cap);

/* Exporters: each writes one file atomically and appends its path to res->written. */
int report_write_json(const struct run *ru, const struct report_opts *o, const char *dir,
                      struct report_result *res, struct diag *d);
int report_write_csv(const struct run *ru, const char *prefix, const char *dir,
                     struct report_result *res, struct diag *d);
int report_write_slices(const struct run *ru, const struct report_opts *o, const char *dir,
                        struct report_result *res, struct diag *d);
int report_write_html(struct run *const *runs, size_t nruns, const struct report_opts *o,
                      const char *dir, struct report_result *res, struct diag *d);
void report_print_console(struct run *const *runs, size_t nruns, const struct report_opts *o);
/* The run's server metrics and GPU telemetry (report_telemetry.c): the AIPerf-named
 * exports, server_metrics_crosscheck.json and the console section. 0 when the run has no
 * server_metrics.jsonl.zst. */
int report_telemetry(struct run *ru, const struct report_opts *o, const char *dir,
                     struct report_result *res, struct diag *d);
void report_tel_free(struct run *ru);
/* AIPerf 0.13's aggregated server-metrics exports (report_smagg.c): fed one scrape at a
 * time by report_telemetry, written as server_metrics_export.json / .csv over the
 * profiling window [win_a, win_b) of the run timeline. */
struct sm_agg;
struct cJSON;
struct sm_agg *sm_agg_new(int64_t win_a, int64_t win_b);
void sm_agg_free(struct sm_agg *a);
/* A configured server target (listed in endpoints_configured even if it never answered). */
void sm_agg_endpoint(struct sm_agg *a, int target, const char *url);
/* One scrape: t_run its start on the run timeline, first_real its first byte (wall ns),
 * lat_ns first byte minus sent; fams / samples as in server_metrics.jsonl.zst. */
void sm_agg_add(struct sm_agg *a, int target, const char *url, int64_t t_run, int64_t first_real,
                int64_t lat_ns, const struct cJSON *fams, const struct cJSON *samples);
/* formats: enum report_sm_format bits. input_config: JSON text (AIPerf's input_config). */
int sm_agg_write(struct sm_agg *a, const char *dir, const char *prefix, unsigned formats,
                 const char *bench_id, int64_t win_a_real, int64_t win_b_real,
                 const char *input_config, struct buf *written, struct diag *d);
/* AIPerf's input_config of the run (as in profile_export_aiperf.json), owned JSON text. */
char *report_aiperf_input_config_json(struct run *ru, const char *dir);

/* Network latency (report_netlat.c): reads the probes of every shard
 * (RUN_DIR/network_latency.jsonl), writes profile_export_network_latency.jsonl when there
 * are any, and sets ru->net_rtt_ns (o->net_mean_ms first). Before report_summarize. */
int report_netlat(struct run *ru, const struct report_opts *o, struct report_result *res,
                  struct diag *d);

/* The per-record export is written while reading (the chunk lists are not kept). */
struct jsonl_out;
/* profile_export.jsonl when main, profile_export_raw.jsonl when raw (records written by
 * replay --record-responses), or both. */
int report_jsonl_open(struct jsonl_out **out, const char *dir, const char *prefix, bool main,
                      bool raw, struct diag *d);
/* icl[0..nicl) are the record's chunk gaps (metric_icl), computed once by the reader. */
void report_jsonl_record(struct jsonl_out *j, const struct run *ru, const struct rec *r,
                         const struct rrec *rr, const int64_t *icl, size_t nicl);
int report_jsonl_commit(struct jsonl_out *j, struct report_result *res, struct diag *d);
void report_jsonl_abort(struct jsonl_out *j);
/* DIR/outputs.json (--export-outputs-json, report_files.c): open, one call per record
 * read (profiling records are kept), then commit (sorts and writes) or abort. */
struct outputs_out;
int report_outputs_open(struct outputs_out **out, const char *dir, struct diag *d);
void report_outputs_record(struct outputs_out *o, const struct run *ru, const struct rec *r,
                           const struct rrec *rr);
int report_outputs_commit(struct outputs_out *o, struct report_result *res, struct diag *d);
void report_outputs_abort(struct outputs_out *o);

/* AIPerf 0.13's error type name for metronome's record error type (type[0..n)) and HTTP
 * code, e.g. "http" 500 -> "Internal Server Error", "closed" -> "ClientPayloadError";
 * NULL when there is no counterpart (the type is written as it is). */
const char *report_aiperf_error_type(const char *type, size_t n, int64_t code);

/* Replaces secrets (API keys, authorization headers, passwords) in a config tree by
 * "<redacted>", in place. */
struct cJSON;
void report_redact(struct cJSON *j);

/* Selects the profile records of worker *(const int32_t *)ctx. */
bool report_sel_worker(const struct rrec *r, const void *ctx);

/* Statistic `st` of summary s for metric m, in display units; false when absent. */
bool report_stat(const struct rsummary *s, int m, enum verdict_stat st, double *out);

/* ------------------------------------------------------------ comparisons (compare.c) */

/* Which way is better for metric m: +1 larger, -1 smaller (latencies, errors), 0 neither
 * (token counts, request counts: a change is shown but not judged). */
int report_direction(int m);

enum report_delta_class { DELTA_NONE, DELTA_NEUTRAL, DELTA_BETTER, DELTA_WORSE };
struct report_delta {
    enum report_delta_class cls; /* NONE: neither side has a value */
    bool noise;                  /* inside the noise (shown neutral) */
    double rel;                  /* percent change when the base is not 0 */
    char text[48];               /* "+3.1%", "+2.80 pp", "+12.00" (base 0), "new", "gone" */
};
/* Default noise threshold in percent of the base value when no CI is known. */
#define REPORT_NOISE_PCT 2.0
/* The delta of a statistic of metric m (display units) from base b to v; hb/hv say whether
 * each side has a value. Inside the noise (shown neutral): when both CI half-widths ci_b,
 * ci_v are known (not NaN), |v - b| <= ci_b + ci_v; else |change| < noise_pct percent of
 * the base (of the larger side for percentages). A change from 0 is never noise. */
void report_delta(int m, bool hb, double b, bool hv, double v, double noise_pct, double ci_b,
                  double ci_v, struct report_delta *out);

/* Loads ru->set_agg from the aggregate of the repeated runs ru belongs to, found from its
 * run dir as `profile` lays them out (docs/cli-profile.md, *Layout*):
 * X/profile_runs/run_NNNN -> X/aggregate/, X/profile_runs/trial_NNNN/<point> ->
 * X/aggregate/<point>/. Leaves it NULL when there is none or it is unreadable. */
void report_load_set_aggregate(struct run *ru);

/* Half the width of the confidence interval of the mean of (m, st) over ru's repeated-run
 * set, in report_stat's units; NaN when ru is not part of one or the set lacks it. */
double report_ci_half(const struct run *ru, int m, enum verdict_stat st);
/* A statistic formatted for comparison tables ("{:,.2f}"; error_rate in percent). */
void report_cmp_value(int m, double v, char *out, size_t cap);
/* One line per way runs[1..] differ from runs[0] in trace, model, endpoint or load mode
 * ("runs differ in model: a has 'x', b has 'y'"), appended to out; returns the count. */
size_t report_run_differences(struct run *const *runs, size_t nruns, struct buf *out);

/* Time-series bucket width (ns) for a run of dur_ns whose median request latency is
 * lat_ns (<= 0: unknown): at least 10 median latencies, so the completions of a
 * closed-loop run (which come in waves one latency apart) do not alias into alternating
 * empty and full buckets; at least dur/120; at most dur/8 so there is a curve. */
double report_ts_bucket_ns(double dur_ns, double lat_ns);

/* A sample value as the collector stores it: a JSON number, or "+Inf" / "-Inf" (Prometheus
 * bucket bounds JSON cannot hold as numbers). *ok false and NaN for anything else. */
double report_sample_value(const struct cJSON *v, bool *ok);

#endif
