/*
 * replay: the client engine. Sends a stream of requests to a server on schedule and
 * writes a run directory (run.json + records.jsonl.zst, docs/records-format.md).
 *
 * Threads (docs/replay.md): the caller's thread handles signals and progress; one
 * scheduler thread reads the request source and computes intended send times; N worker
 * threads each own an epoll loop, a timerfd, a keep-alive pool and their partial
 * records; one writer thread compresses finished records into zstd frames ended at
 * least once a second. Nothing is shared but atomics and the per-worker record buffers.
 *
 * replay_run is reentrant (no globals) except for signal handling: with
 * cfg->handle_signals it blocks SIGINT/SIGTERM/SIGPIPE in the calling thread before
 * starting threads and reads them through a signalfd. `metronome profile` calls it
 * in-process; cmd_replay is a thin CLI over it.
 */
#ifndef METRONOME_REPLAY_H
#define METRONOME_REPLAY_H

#include "endpoint.h"
#include "err.h"
#include "trace.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum replay_mode {
    MODE_FIXED,       /* trace timestamps */
    MODE_RATE,        /* --request-rate with an arrival pattern */
    MODE_CONCURRENCY, /* closed loop */
};

enum arrival {
    ARRIVAL_CONSTANT,
    ARRIVAL_POISSON,
    ARRIVAL_GAMMA,
};

/* Where requests come from: a trace reader, or an in-memory list (profile, tests).
 * next() returns 1 with a request (views valid until the next call), 0 at the end, < 0
 * on error with d filled; rewind() (may be NULL) starts over for --request-count beyond
 * the source's length. Called from the scheduler thread only. */
struct replay_source {
    void *ctx;
    const struct trace_header *header; /* may be NULL: endpoint from the config */
    const char *path;                  /* for run.json; may be NULL */
    int (*next)(void *ctx, struct trace_request *out, struct diag *d);
    int (*rewind)(void *ctx, struct diag *d);
    /* May be NULL: how many turns the session has in the source, 0 when unknown. With
     * it, a worker frees a multi-turn session's state (its live history above all) after
     * the session's last turn instead of at the end of the run. */
    int (*turns)(void *ctx, const char *session);
};

struct args;
struct replay_config;
/* Reads --reset-kv-cache* and --server-profiler* (names as replay and profile spell them)
 * into cfg's control-hook fields: 0, or ERR_INVALID naming the option and its value. Used
 * by replay, and by profile to refuse a bad value before anything is packed. */
int replay_control_args(const struct args *a, struct replay_config *cfg, struct diag *d);

struct replay_config {
    const char *out_dir; /* run directory; created if missing */
    const char *const *urls;
    size_t nurls;
    enum endpoint_type endpoint;
    const char *endpoint_path;  /* NULL: trace header's path, else the type's default */
    const char *api_key;        /* never written anywhere */
    const char *const *headers; /* "Name:Value" */
    size_t nheaders;
    const char *const *redact_headers; /* more header names to treat as secret */
    size_t nredact;
    /* --session-header NAME: every request carries "NAME: <session id>" (its record's
     * conversation id: the same on every turn of a session, distinct between sessions),
     * AIPerf 0.13's per-conversation correlation header under the user's name; NULL:
     * none. A --header of the same name wins, as in AIPerf. */
    const char *session_header;
    /* --connection-reuse-strategy (AIPerf 0.13): POOLED, each worker's keep-alive pool;
     * NEVER, a new connection per request, sent with "Connection: close" and closed after
     * its response; STICKY, one connection per conversation, kept by the session between
     * its turns and closed after its last turn (or after a failed or cancelled turn: the
     * next turn opens another). Neither of the last two opens connections ahead. */
    enum conn_reuse { REUSE_POOLED, REUSE_NEVER, REUSE_STICKY } conn_reuse;
    const char *extra_inputs; /* JSON object text or "k:v,k:v"; merged into every body */
    int streaming;            /* -1 as in the trace, 0 force off, 1 force on */

    enum replay_mode mode;
    bool mode_explicit;
    enum arrival arrival;
    double rate;        /* requests/s (MODE_RATE) */
    double smoothness;  /* gamma shape (1 = Poisson) */
    long concurrency;   /* closed-loop slots, or a cap (0: none) in the other modes */
    long request_count; /* 0: the whole source once */
    double duration_s;  /* 0: none */
    double grace_s;     /* after the duration (and after a count-based run's sending) */
    long warmup_count;
    /* Load shapes (loadshape.h, docs/replay.md "Load shapes"): 0 = none. */
    double conc_ramp_s; /* closed loop: slots open 1 -> concurrency over this */
    double rate_ramp_s; /* rate mode: AIPerf's linear rate ramp to --request-rate */
    /* The warmup phase: it runs when warmup_count, warmup_duration_s (or both) is set;
     * its load is the profiling phase's unless these say otherwise (0: as profiling). */
    double warmup_duration_s;
    double warmup_grace_s;   /* < 0: wait for every warmup request (AIPerf's default) */
    long warmup_concurrency; /* closed loop: the warmup's slots */
    double warmup_rate;      /* the warmup's rate (rate mode, or a rate warmup before a
                                closed loop, as AIPerf 0.13 runs one) */
    long warmup_rate_cap;    /* a rate warmup before a closed loop: its cap when no
                                --warmup-concurrency (an explicit --concurrency; 0: none) */
    int warmup_arrival;      /* -1: as profiling, else enum arrival */
    double warmup_conc_ramp_s, warmup_rate_ramp_s;
    /* --prefill-concurrency: requests sent and without a first token yet, all workers
     * together (AIPerf 0.13's prefill slots: taken at the send, given back at the first
     * content token or at the end of a request that had none); 0: no limit. Its ramp opens
     * the limit 1 -> N like the concurrency ramp. The warmup's default to profiling's. */
    long prefill_concurrency;
    double prefill_ramp_s;
    long warmup_prefill_concurrency;
    double warmup_prefill_ramp_s;
    /* --num-warmup-sessions: the warmup starts this many sessions and sends every turn of
     * each (AIPerf 0.13's session stop condition; with a count or duration, the first
     * reached ends the warmup); 0: none. */
    long warmup_sessions;
    /* --request-rate-series: piecewise-linear rate points (loadshape.h), owned by the
     * caller; nseries 0: none. Rate mode; --request-rate is the first point's rate. */
    const double *series_t, *series_qps;
    int nseries;
    /* --failed-request-threshold: stop (cancelling what is in flight) once more than this
     * share of the profiling records failed, counted from max(concurrency, 10) records on
     * (AIPerf 0.13); < 0: never. */
    double failed_threshold;
    double time_scale; /* fixed schedule: multiply offsets */
    bool auto_offset;
    double start_offset_ms, end_offset_ms; /* <0: none */
    double cancel_rate_pct, cancel_delay_s;
    double timeout_s, connect_timeout_s, first_byte_timeout_s, idle_timeout_s;
    uint64_t seed;
    bool seed_set;
    /* --shard I/N: this process sends its part of the schedule (shard.h); count 1: all.
     * concurrency_total: the --concurrency given before its division (0: not divided). */
    int shard_index, shard_count;
    long concurrency_total;
    /* --start-at: CLOCK_REALTIME ns at which the first phase begins (0: at once). The
     * process sleeps on the realtime clock until shortly before, then runs on the
     * monotonic clock; a start already past when the run is ready fails the run. */
    int64_t start_at_real_ns;

    int workers;
    long spin_ns; /* busy-wait before each timed send; 0 disables */
    /* --send-tick-us: a worker wakes for timed sends at the end of the send_tick_ns-wide
     * tick they fall in (ticks counted from the records' anchor) and sends the tick's
     * together, never early: one wake-up per tick instead of per send; 0: each at its own
     * instant. Excludes spin_ns. */
    long send_tick_ns;
    bool preconnect;
    bool kernel_stamps; /* stamp bytes with the kernel's arrival time (--rx-timestamps) */
    bool preflight;
    bool record_text;      /* keep each response's text and reasoning text in its record */
    bool record_http;      /* headers, per-write/per-read bytes and addresses (struct rec_http) */
    bool record_responses; /* and the request body and response events (implies record_http) */
    bool record_http_implied; /* record_http is on for record_responses only (no trace_data) */
    size_t max_event;         /* SSE event cap in bytes */
    size_t max_body;          /* non-streaming body cap */
    size_t max_body_total;    /* all non-streaming bodies being received at once */
    double drain_s;           /* first SIGINT: how long in-flight requests may finish */

    const char *ca_file;
    bool insecure;

    /* Control hooks (AIPerf 0.13 --reset-kv-cache*, --server-profiler*; control.c): an
     * empty POST of the path to each unique --url origin. NULL path: hook off. */
    const char *reset_path;          /* once, before anything is sent; failure ends the run */
    double reset_timeout_s;          /* per POST (retried as AIPerf within 60 s) */
    const char *profiler_start_path; /* after warmup, before profiling; failure ends it */
    const char *profiler_stop_path;  /* after the profiling requests; failure: a warning */
    double profiler_timeout_s;
    /* --wait-for-model-* (AIPerf 0.13's readiness probe, control.c): before the run, each
     * --url is probed until ready or wait_timeout_s passes (0: no probe). */
    double wait_timeout_s;
    double wait_interval_s; /* between attempts (AIPerf's default 5) */
    enum wait_mode { WAIT_INFERENCE, WAIT_MODELS, WAIT_BOTH } wait_mode;
    const char *const *wait_models; /* the model names probed ("default" when none) */
    size_t nwait_models;

    bool handle_signals;
    int progress; /* 0 quiet, 1 auto (tty: live line; else a line every 10 s) */
    int zstd_level;

    /* Telemetry (scrape.h, docs/server-metrics.md): with server_metrics (default off here,
     * on in the CLI), every URL +
     * "/metrics" (AIPerf 0.13's default) and server_metrics_urls are scraped; gpu_urls are
     * DCGM exporters. Samples go to server_metrics.jsonl.zst on the records' clock. */
    bool server_metrics;
    const char *const *server_metrics_urls;
    size_t nserver_metrics_urls;
    const char *const *gpu_urls;
    size_t ngpu_urls;
    double metrics_interval_s; /* default 1 */

    /* --network-latency-automatic (netprobe.h): time a fresh TCP handshake to each --url's
     * host:port every net_ping_interval_s during the profiling phase, into
     * network_latency.jsonl (report subtracts their mean as network_adjusted_*). */
    bool net_probe;
    double net_ping_interval_s; /* default 1 (AIPerf 0.13's) */

    /* For run.json "config": the exact argv (secrets redacted by replay_run). */
    int argc;
    char **argv;
};

/* --connection-reuse-strategy's value as AIPerf 0.13 spells it (case ignored, '_' for
 * '-'): 0 with *out set, or ERR_INVALID naming the option and the value. */
int replay_conn_reuse_parse(const char *v, enum conn_reuse *out, struct diag *d);
/* The canonical spelling ("pooled", "never", "sticky-user-sessions"). */
const char *replay_conn_reuse_name(enum conn_reuse r);

/* Sets every field to its default (docs/cli-replay.md). */
void replay_config_defaults(struct replay_config *c);

struct replay_result {
    long sent, completed, errors, cancelled, not_sent;
    bool interrupted;               /* stopped by a signal */
    bool threshold_hit;             /* stopped by --failed-request-threshold */
    long prof_records, prof_errors; /* profiling records and failed ones, when it hit */
    int64_t duration_ns;
    double lateness_p50_ns, lateness_p99_ns, lateness_max_ns;
    char first_error[320]; /* "type code: message" of the first failed request, or "" */
};

/* Runs the whole replay. Returns 0 when the run dir is complete (even if requests
 * failed: they are in the records), < 0 with d filled when the run could not start or
 * its files could not be written. */
int replay_run(const struct replay_config *cfg, struct replay_source *src,
               struct replay_result *res, struct diag *d);

#endif
