/* metronome replay: a thin CLI over replay_run (docs/cli-replay.md). */
#include "args.h"
#include "hash.h"
#include "cli.h"
#include "endpoint.h"
#include "i64map.h"
#include "loadshape.h"
#include "replay.h"
#include "shard.h"
#include "trace.h"
#include "trace_cache.h"
#include "trace_write.h"
#include "zio.h"
#include "xalloc.h"
#include "clock.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct arg_spec specs[] = {
    {"input-file", "-i --trace", ARG_VALUE, "TRACE", NULL,
     "trace to replay (trace.jsonl.zst from 'metronome pack'); or give it as the argument"},
    {"output-artifact-dir", "-o --output --artifact-dir", ARG_VALUE, "DIR",
     "artifacts/<model>-<endpoint>-<mode>", "run directory to write"},
    {"url", "-u", ARG_MULTI, "URL", "localhost:8000",
     "server base URL; repeat for several servers (round-robin)"},
    {"endpoint-type", NULL, ARG_VALUE, "TYPE", "trace's",
     "chat, completions, embeddings, rankings, responses or raw"},
    {"custom-endpoint", "--endpoint", ARG_VALUE, "PATH", NULL, "path instead of the type's"},
    {"header", "-H", ARG_MULTI, "NAME:VALUE", NULL, "extra request header (repeatable)"},
    {"api-key", NULL, ARG_VALUE, "KEY", NULL,
     "sent as 'Authorization: Bearer KEY'; never saved (visible in ps: prefer the next two)"},
    {"api-key-file", NULL, ARG_VALUE, "FILE", NULL,
     "read the key from FILE (first line); else $OPENAI_API_KEY is used"},
    {"overwrite", NULL, ARG_FLAG, NULL, NULL,
     "write into an -o directory that already holds a run (replacing it)"},
    {"extra-inputs", NULL, ARG_MULTI, "K:V|JSON", NULL, "merged into every request body"},
    {"streaming", NULL, ARG_FLAG, NULL, "trace's", "force streaming on (--no-streaming: off)"},
    {"redact-header", NULL, ARG_MULTI, "NAME", NULL, "treat this header as a secret too"},
    {"session-header", NULL, ARG_VALUE, "NAME", NULL,
     "send 'NAME: <session id>' on every request of a conversation (AIPerf's X-Correlation-ID)"},
    {"fixed-schedule", NULL, ARG_FLAG, NULL, "if timed",
     "send at the trace's timestamps (--no-fixed-schedule: use rate/concurrency)"},
    {"fixed-schedule-auto-offset", NULL, ARG_FLAG, NULL, NULL, "the first timestamp is time zero"},
    {"fixed-schedule-start-offset", NULL, ARG_VALUE, "MS", NULL,
     "skip entries before this trace time; it becomes time zero"},
    {"fixed-schedule-end-offset", NULL, ARG_VALUE, "MS", NULL, "skip entries after this time"},
    {"time-scale", NULL, ARG_VALUE, "X", "1", "multiply trace offsets and turn delays by X"},
    {"request-rate", NULL, ARG_VALUE, "R", NULL, "open loop at R requests/s"},
    {"arrival-pattern", "--request-rate-mode", ARG_VALUE, "P", "poisson",
     "constant, poisson or gamma"},
    {"arrival-smoothness", NULL, ARG_VALUE, "K", "1", "gamma shape (1 = Poisson)"},
    {"concurrency", NULL, ARG_VALUE, "N", "1",
     "closed loop with N slots; a cap in the other modes"},
    {"request-count", "--num-requests", ARG_VALUE, "N", "whole trace",
     "profiling requests (cycles the trace when larger)"},
    {"benchmark-duration", NULL, ARG_VALUE, "S", NULL, "stop issuing after S seconds"},
    {"benchmark-grace-period", NULL, ARG_VALUE, "S", "30",
     "after the duration, wait S s for responses, then cancel"},
    {"warmup-request-count", "--num-warmup-requests", ARG_VALUE, "N", "0",
     "requests before profiling (drained first)"},
    {"concurrency-ramp-duration", NULL, ARG_VALUE, "S", NULL,
     "open the slots (or the --concurrency cap) one by one from 1 over S seconds"},
    {"request-rate-ramp-duration", NULL, ARG_VALUE, "S", NULL,
     "rate mode: ramp the rate linearly up to --request-rate over S seconds"},
    {"warmup-duration", NULL, ARG_VALUE, "S", NULL, "warmup for S seconds (with a count: first)"},
    {"warmup-grace-period", NULL, ARG_VALUE, "S", "wait for all",
     "after --warmup-duration, wait S s for warmup responses, then cancel them"},
    {"warmup-concurrency", NULL, ARG_VALUE, "N", "--concurrency",
     "warmup slots (cap with --request-rate)"},
    {"warmup-request-rate", NULL, ARG_VALUE, "R", "--request-rate",
     "warmup rate (rate mode; in closed loop: a rate warmup)"},
    {"warmup-arrival-pattern", NULL, ARG_VALUE, "P", "--arrival-pattern",
     "warmup arrivals (constant, poisson or gamma) of a rate warmup"},
    {"warmup-concurrency-ramp-duration", NULL, ARG_VALUE, "S", "--concurrency-ramp-duration",
     "warmup slots ramp"},
    {"warmup-request-rate-ramp-duration", NULL, ARG_VALUE, "S", "--request-rate-ramp-duration",
     "warmup rate ramp"},
    {"request-rate-series", NULL, ARG_VALUE, "FILE", NULL,
     "rate mode at a piecewise-linear rate: JSON points {time_s, qps} (AIPerf 0.13)"},
    {"prefill-concurrency", NULL, ARG_VALUE, "N", NULL,
     "at most N requests sent and without a first token yet (all workers)"},
    {"prefill-concurrency-ramp-duration", NULL, ARG_VALUE, "S", NULL,
     "open the prefill limit one by one from 1 over S seconds"},
    {"warmup-prefill-concurrency", NULL, ARG_VALUE, "N", "--prefill-concurrency",
     "the warmup's prefill limit"},
    {"warmup-prefill-concurrency-ramp-duration", NULL, ARG_VALUE, "S",
     "--prefill-concurrency-ramp-duration", "the warmup's prefill limit ramp"},
    {"num-warmup-sessions", NULL, ARG_VALUE, "N", NULL,
     "warmup: start N sessions and send every turn of each (with a count or duration: first)"},
    {"failed-request-threshold", NULL, ARG_VALUE, "R", NULL,
     "stop once more than this share (0-1) of profiling requests failed (from max(concurrency, "
     "10) on)"},
    {"request-cancellation-rate", NULL, ARG_VALUE, "PCT", "0",
     "cancel this percentage of requests"},
    {"request-cancellation-delay", NULL, ARG_VALUE, "S", "0",
     "cancel that long after the request is sent"},
    {"request-timeout-seconds", NULL, ARG_VALUE, "S", "600", "total time allowed per request"},
    {"connect-timeout-seconds", NULL, ARG_VALUE, "S", "30", "TCP connect limit"},
    {"first-byte-timeout-seconds", NULL, ARG_VALUE, "S", "none",
     "limit from request sent to first response byte"},
    {"idle-timeout-seconds", NULL, ARG_VALUE, "S", "none", "longest gap between response bytes"},
    {"shard", NULL, ARG_VALUE, "I/N", "0/1",
     "send part I (from 0) of N of the schedule: sessions whole, the rest round-robin"},
    {"start-at", NULL, ARG_VALUE, "TIME", "now",
     "start at this instant (RFC 3339, Unix seconds or +SECONDS), on every shard alike"},
    {"random-seed", NULL, ARG_VALUE, "N", "time", "seed for arrivals and cancellations"},
    {"workers", "--workers-max --max-workers", ARG_VALUE, "N", "cores", "worker threads"},
    {"spin-us", NULL, ARG_VALUE, "US", "30", "busy-wait before each timed send (0: none)"},
    {"send-tick-us", NULL, ARG_VALUE, "US", "0",
     "send timed requests at the end of each US-wide tick (up to US late, one wake-up a tick)"},
    {"preflight", NULL, ARG_FLAG, NULL, "on",
     "connect once to each URL before starting (--no-preflight to skip)"},
    {"record-text", NULL, ARG_FLAG, NULL, NULL,
     "keep each response's text and reasoning text in its record (report counts them with "
     "a tokenizer)"},
    {"connection-reuse-strategy", NULL, ARG_VALUE, "S", "pooled",
     "pooled (keep-alive pool per worker), never (a connection per request) or "
     "sticky-user-sessions (one per conversation)"},
    {"record-http", NULL, ARG_FLAG, NULL, NULL,
     "keep each request's headers (secrets redacted), response headers, socket addresses "
     "and per-write / per-read byte counts in its record (profile --export-http-trace)"},
    {"record-responses", NULL, ARG_FLAG, NULL, NULL,
     "--record-http, and each request's body and response events as sent and received (64 MiB "
     "per request at most; profile --export-level raw)"},
    {"preconnect", NULL, ARG_FLAG, NULL, NULL,
     "open each worker's connections before the run (connect time still recorded)"},
    {"rx-timestamps", NULL, ARG_VALUE, "kernel|user", "kernel",
     "stamp response bytes with their kernel arrival time, or when recv() returned"},
    {"max-event-bytes", NULL, ARG_VALUE, "N", "16777216", "largest SSE event accepted"},
    {"max-body-bytes", NULL, ARG_VALUE, "N", "67108864", "largest non-streaming body accepted"},
    {"max-body-bytes-total", NULL, ARG_VALUE, "N", "268435456",
     "all non-streaming bodies being received at once"},
    {"drain-seconds", NULL, ARG_VALUE, "S", "5",
     "on Ctrl-C, how long in-flight requests may finish"},
    {"ca-file", NULL, ARG_VALUE, "FILE", "system bundle", "trust these CA certificates"},
    {"insecure", "-k", ARG_FLAG, NULL, NULL, "do not verify TLS certificates (recorded)"},
    {"zstd-level", NULL, ARG_VALUE, "N", "1", "records compression level (1-19)"},
    {"server-metrics", NULL, ARG_MULTI, "URL", "every --url + /metrics",
     "also scrape this Prometheus endpoint (repeat or comma-separate)"},
    {"no-server-metrics", NULL, ARG_FLAG, NULL, NULL, "scrape no server metrics"},
    {"gpu-telemetry", NULL, ARG_MULTI, "URL", NULL,
     "scrape DCGM exporters; 'default': localhost:9400 and localhost:9401"},
    {"server-metrics-interval", NULL, ARG_VALUE, "S", "1",
     "seconds between scrapes (a scrape still running is skipped, not queued)"},
    {"network-latency-automatic", NULL, ARG_FLAG, NULL, NULL,
     "time a fresh TCP handshake to each --url host:port during profiling "
     "(network_latency.jsonl; report subtracts the mean RTT as network_adjusted_*)"},
    {"network-latency-ping-interval", NULL, ARG_VALUE, "S", "1",
     "seconds between those probes (needs --network-latency-automatic)"},
    {"reset-kv-cache", NULL, ARG_FLAG, NULL, NULL,
     "POST /reset_prefix_cache to each --url origin before anything is sent"},
    {"reset-kv-cache-path", NULL, ARG_VALUE, "PATH", "/reset_prefix_cache",
     "the reset's path (implies --reset-kv-cache)"},
    {"reset-kv-cache-timeout-seconds", NULL, ARG_VALUE, "S", "30",
     "the reset POST's timeout (implies --reset-kv-cache)"},
    {"server-profiler", NULL, ARG_FLAG, NULL, NULL,
     "POST /start_profile before the profiling phase and /stop_profile after it"},
    {"server-profiler-timeout-seconds", NULL, ARG_VALUE, "S", "30",
     "the profiler POSTs' timeout (implies --server-profiler)"},
    {"server-profiler-start-path", NULL, ARG_VALUE, "PATH", "/start_profile",
     "the profiler start's path (implies --server-profiler)"},
    {"server-profiler-stop-path", NULL, ARG_VALUE, "PATH", "/stop_profile",
     "the profiler stop's path (implies --server-profiler)"},
    {"wait-for-model-timeout", NULL, ARG_VALUE, "S", "0",
     "probe each --url until the model is ready, for at most S seconds (0: no probe)"},
    {"wait-for-model-mode", NULL, ARG_VALUE, "M", "inference",
     "inference (a 1-token request, any status < 500), models (GET /v1/models lists the model) "
     "or both"},
    {"wait-for-model-interval", NULL, ARG_VALUE, "S", "5", "seconds between probe attempts"},
    {"wait-for-model-name", NULL, ARG_MULTI, "NAME", NULL,
     "model name(s) the probe checks (repeatable; inference alone: 'default' when none)"},
    {"quiet", "-q", ARG_FLAG, NULL, NULL, "no progress output"},
    {"help", "-h", ARG_FLAG, NULL, NULL, "this text"},
};
#define NSPECS (sizeof specs / sizeof specs[0])

/* ---- the trace as a replay source ---- */

struct tsrc {
    const char *path;
    struct trace_reader *r;
    /* The reader whose header the replay source points to (replay_source.header, read
     * again when run.json is written at the end): kept open until the run is over, even
     * when a rewind has moved reading to a new reader. Closing it on the first rewind
     * left that pointer dangling, and a long cycled run wrote freed memory into run.json
     * or aborted on a garbage length. */
    struct trace_reader *first;
    /* multi-turn traces: turns per session, keyed by a 64-bit hash of its id */
    struct i64map sess;
    uint32_t *nturns; /* values of sess index this */
    size_t n, cap;
    /* The requests as the validation pass parsed them (bodies expanded), when the trace
     * fits TSRC_CACHE_MAX: the run then hands them out (and cycles them) without reading
     * the file again, which was about a quarter of a closed-loop request's instructions.
     * It also sends exactly what was validated, whatever happens to the file meanwhile. */
    struct trace_cache cache;
    bool cached;
    size_t pos; /* next cache entry */
};

/* What the cache may hold (strings and entries; docs/replay.md): a 20,000-request trace of
 * short chat prompts takes about 6 MB. A larger trace is read line by line, as before. */
#define TSRC_CACHE_MAX ((size_t)32 << 20)

/* One pass over the whole trace before the first send (bodies left unexpanded,
 * inspect's fast path, which still checks every line, every text reference and every
 * zstd frame's checksum): a trace corrupt near its end used to be found only mid-run,
 * thousands of requests in. For multi-turn traces (count_turns) the same pass counts
 * every session's turns, so replay can free a session after its last turn. */
static int tsrc_validate(struct tsrc *t, bool count_turns, struct diag *d)
{
    struct trace_reader *r;
    int rc = trace_open(&r, t->path, d);
    if (rc)
        return rc;
    tcache_init(&t->cache, TSRC_CACHE_MAX);
    i64map_init(&t->sess);
    struct trace_request q;
    while ((rc = trace_next(r, &q, d)) > 0) {
        /* Past the cap the bodies need not be built any more: inspect's fast path. */
        if (!t->cache.over && !tcache_add(&t->cache, &q))
            trace_set_expand(r, false);
        if (!count_turns)
            continue;
        int64_t k = (int64_t)hash64_str(q.session);
        uint32_t v;
        if (i64map_get(&t->sess, k, &v)) {
            t->nturns[v]++;
            continue;
        }
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 1024;
            t->nturns = xrealloc(t->nturns, t->cap * sizeof *t->nturns);
        }
        t->nturns[t->n] = 1;
        i64map_put(&t->sess, k, (uint32_t)t->n++);
    }
    trace_close(r);
    t->cached = rc == 0 && !t->cache.over;
    t->pos = 0;
    return rc < 0 ? rc : 0;
}

static int tsrc_turns(void *ctx, const char *session)
{
    struct tsrc *t = ctx;
    uint32_t v;
    return t->nturns && i64map_get(&t->sess, (int64_t)hash64_str(session), &v) ? (int)t->nturns[v]
                                                                               : 0;
}

static int tsrc_next(void *ctx, struct trace_request *out, struct diag *d)
{
    struct tsrc *t = ctx;
    if (t->cached) {
        if (t->pos == t->cache.n)
            return 0;
        tcache_get(&t->cache, t->pos++, out);
        return 1;
    }
    return trace_next(t->r, out, d);
}

static int tsrc_rewind(void *ctx, struct diag *d)
{
    struct tsrc *t = ctx;
    if (t->cached) {
        t->pos = 0;
        return 0;
    }
    if (t->r != t->first)
        trace_close(t->r);
    t->r = NULL;
    return trace_open(&t->r, t->path, d);
}

/* The telemetry options (docs/server-metrics.md) into cfg. Values may be comma-separated;
 * the arrays are heap-allocated views into a (freed by the caller). */
static int telemetry_opts(const struct args *a, struct replay_config *cfg, const char ***srv,
                          const char ***gpu, char **store, struct diag *d)
{
    static const char *const dcgm_defaults[] = {"http://localhost:9400/metrics",
                                                "http://localhost:9401/metrics"};
    cfg->server_metrics = !args_flag(a, "no-server-metrics");
    if (!cfg->server_metrics && args_count(a, "server-metrics"))
        return diag_set(d, ERR_INVALID,
                        "--no-server-metrics and --server-metrics cannot be used together");
    /* one copy of every value, cut at commas in place */
    size_t total = 0, n = args_count(a, "server-metrics"), m = args_count(a, "gpu-telemetry");
    for (size_t i = 0; i < n; i++)
        total += strlen(args_multi(a, "server-metrics", i)) + 1;
    for (size_t i = 0; i < m; i++)
        total += strlen(args_multi(a, "gpu-telemetry", i)) + 1;
    char *mem = xmalloc(total + 1);
    *store = mem;
    *srv = xcalloc(total + 1, sizeof **srv);
    *gpu = xcalloc(total + 3, sizeof **gpu);
    size_t ns = 0, ng = 0, off = 0;
    bool gpu_given = m > 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *name = pass ? "gpu-telemetry" : "server-metrics";
        size_t cnt = pass ? m : n;
        for (size_t i = 0; i < cnt; i++) {
            const char *v = args_multi(a, name, i);
            size_t len = strlen(v);
            memcpy(mem + off, v, len + 1);
            char *save = NULL;
            for (char *tok = strtok_r(mem + off, ", ", &save); tok;
                 tok = strtok_r(NULL, ", ", &save)) {
                if (!pass) {
                    (*srv)[ns++] = tok;
                } else if (!strcmp(tok, "default") || !strcmp(tok, "dcgm") ||
                           !strcmp(tok, "dashboard")) {
                    continue; /* the defaults, added below when no URL is given */
                } else if (!strcmp(tok, "pynvml") || !strcmp(tok, "amdsmi") ||
                           strstr(tok, ".csv")) {
                    return diag_set(d, ERR_UNSUPPORTED,
                                    "--gpu-telemetry %s: not supported (metronome reads DCGM "
                                    "exporter URLs only)",
                                    tok);
                } else {
                    (*gpu)[ng++] = tok;
                }
            }
            off += len + 1;
        }
    }
    if (gpu_given && ng == 0) {
        (*gpu)[ng++] = dcgm_defaults[0];
        (*gpu)[ng++] = dcgm_defaults[1];
    }
    cfg->server_metrics_urls = *srv;
    cfg->nserver_metrics_urls = ns;
    cfg->gpu_urls = *gpu;
    cfg->ngpu_urls = ng;
    int rc = args_double(a, "server-metrics-interval", 0.01, 3600, &cfg->metrics_interval_s, d);
    /* AIPerf 0.13: the interval only with automatic probing, and above 0 */
    cfg->net_probe = args_flag(a, "network-latency-automatic");
    if (!rc)
        rc = args_double(a, "network-latency-ping-interval", 1e-9, 1e9, &cfg->net_ping_interval_s,
                         d);
    if (!rc && !cfg->net_probe && args_has(a, "network-latency-ping-interval"))
        rc = diag_set(d, ERR_INVALID,
                      "--network-latency-ping-interval only applies with "
                      "--network-latency-automatic");
    return rc;
}

/* Every value of a repeatable option: a heap array of views into a, its length in *n.
 * NULL, and *n (a default) untouched, when the option was not given. */
static const char **all_values(const struct args *a, const char *name, size_t *n)
{
    size_t k = args_count(a, name);
    if (!k)
        return NULL;
    const char **v = xcalloc(k, sizeof *v);
    for (size_t i = 0; i < k; i++)
        v[i] = args_multi(a, name, i);
    *n = k;
    return v;
}

static int get_double(const struct args *a, const char *name, double min, double max, double *out,
                      struct diag *d)
{
    return args_double(a, name, min, max, out, d);
}

/* A control hook's path as AIPerf 0.13 accepts it: relative (leading '/'), no "://" (the
 * POST goes to each --url origin, never elsewhere), nothing that would break the request
 * line. The default when the option is absent. */
static int hook_path(const struct args *a, const char *name, const char *def, const char **out,
                     struct diag *d)
{
    const char *v = args_get(a, name);
    if (!v) {
        *out = def;
        return 0;
    }
    if (v[0] != '/' || strstr(v, "://"))
        return diag_set(d, ERR_INVALID,
                        "--%s: '%s' must be a relative path starting with '/' (it is sent to "
                        "each --url origin)",
                        name, v);
    char opt[64];
    snprintf(opt, sizeof opt, "--%s", name);
    if (wire_check(opt, v, false, d))
        return ERR_INVALID;
    *out = v;
    return 0;
}

/* --reset-kv-cache* and --server-profiler*: setting a path or a timeout turns its hook on,
 * as in AIPerf 0.13; timeouts must be > 0 (default 30 s, AIPerf's). */
int replay_control_args(const struct args *a, struct replay_config *cfg, struct diag *d)
{
    bool reset = args_flag(a, "reset-kv-cache") || args_has(a, "reset-kv-cache-path") ||
                 args_has(a, "reset-kv-cache-timeout-seconds");
    bool prof = args_flag(a, "server-profiler") || args_has(a, "server-profiler-start-path") ||
                args_has(a, "server-profiler-stop-path") ||
                args_has(a, "server-profiler-timeout-seconds");
    cfg->reset_timeout_s = cfg->profiler_timeout_s = 30;
    const char *rp, *sp, *tp;
    if (hook_path(a, "reset-kv-cache-path", "/reset_prefix_cache", &rp, d) ||
        hook_path(a, "server-profiler-start-path", "/start_profile", &sp, d) ||
        hook_path(a, "server-profiler-stop-path", "/stop_profile", &tp, d) ||
        args_double(a, "reset-kv-cache-timeout-seconds", 1e-3, 1e9, &cfg->reset_timeout_s, d) ||
        args_double(a, "server-profiler-timeout-seconds", 1e-3, 1e9, &cfg->profiler_timeout_s, d))
        return ERR_INVALID;
    cfg->reset_path = reset ? rp : NULL;
    cfg->profiler_start_path = prof ? sp : NULL;
    cfg->profiler_stop_path = prof ? tp : NULL;
    /* --wait-for-model-*: AIPerf 0.13's bounds (timeout >= 0, interval > 0), and its
     * refusal of a non-default mode or interval that no positive timeout turns on */
    cfg->wait_timeout_s = 0;
    cfg->wait_interval_s = 5;
    cfg->wait_mode = WAIT_INFERENCE;
    if (args_double(a, "wait-for-model-timeout", 0, 1e9, &cfg->wait_timeout_s, d) ||
        args_double(a, "wait-for-model-interval", 1e-9, 1e9, &cfg->wait_interval_s, d))
        return ERR_INVALID;
    const char *m = args_get(a, "wait-for-model-mode");
    if (m) {
        if (!strcasecmp(m, "models"))
            cfg->wait_mode = WAIT_MODELS;
        else if (!strcasecmp(m, "both"))
            cfg->wait_mode = WAIT_BOTH;
        else if (strcasecmp(m, "inference"))
            return diag_set(d, ERR_INVALID,
                            "--wait-for-model-mode: expected models, inference or both, got '%s'",
                            m);
    }
    if (cfg->wait_timeout_s <= 0 && (cfg->wait_mode != WAIT_INFERENCE || cfg->wait_interval_s != 5))
        return diag_set(d, ERR_INVALID,
                        "--wait-for-model-%s %s: has no effect unless --wait-for-model-timeout "
                        "is positive",
                        cfg->wait_interval_s != 5 ? "interval" : "mode",
                        args_get(a, cfg->wait_interval_s != 5 ? "wait-for-model-interval"
                                                              : "wait-for-model-mode"));
    return 0;
}

/* The AIPerf-style default run dir name, made filesystem-safe. */
static void default_dir(char *out, size_t cap, const char *model, const char *ep, const char *mode)
{
    char m[128];
    size_t k = 0;
    for (const char *p = model ? model : "model"; *p && k < sizeof m - 1; p++)
        m[k++] = (isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_') ? *p : '_';
    m[k] = '\0';
    snprintf(out, cap, "artifacts/%s-%s-%s", m, ep, mode);
    struct stat st;
    if (stat(out, &st) != 0)
        return;
    size_t base = strlen(out);
    for (int i = 2; i < 10000; i++) {
        snprintf(out + base, cap - base, "-%d", i);
        if (stat(out, &st) != 0)
            return;
    }
}

static bool check_only; /* set by cmd_replay_check for one call; main thread only */

int cmd_replay_check(int argc, char **argv)
{
    check_only = true;
    int rc = cmd_replay(argc, argv);
    check_only = false;
    return rc;
}

int cmd_replay(int argc, char **argv)
{
    struct args a;
    struct diag d = {0};
    if (args_parse(&a, specs, NSPECS, argc - 1, argv + 1, &d))
        return cli_fail(&d, 1);
    if (args_flag(&a, "help")) {
        args_print_help(stdout, "metronome replay [OPTIONS] TRACE",
                        "Send a trace to a server on schedule and write a run directory "
                        "(run.json, records.jsonl.zst).",
                        specs, NSPECS);
        args_free(&a);
        return EXIT_OK;
    }
    int code = EXIT_USAGE;
    struct replay_config cfg;
    replay_config_defaults(&cfg);
    cfg.argc = argc;
    cfg.argv = argv;
    cfg.handle_signals = true;
    const char *trace_path = args_get(&a, "input-file");
    if (!trace_path && a.npos == 1)
        trace_path = a.pos[0];
    if (!trace_path || a.npos > 1) {
        cli_error(a.npos > 1 ? "one trace at a time (got %zu arguments)"
                             : "no trace given (metronome replay TRACE; see --help)",
                  a.npos);
        args_free(&a);
        return EXIT_USAGE;
    }
    const char **urls = NULL, **hdrs = NULL, **redact = NULL, **wmodels = NULL, **tsrv = NULL,
               **tgpu = NULL;
    char *tstore = NULL;
    char *extra = NULL, *key_owned = NULL;
    double *series_t = NULL, *series_qps = NULL; /* --request-rate-series points */
    struct tsrc ts = {.path = trace_path};
    long lv;
    double dv;
    if ((urls = all_values(&a, "url", &cfg.nurls)))
        cfg.urls = urls;
    if ((hdrs = all_values(&a, "header", &cfg.nheaders)))
        cfg.headers = hdrs;
    if ((redact = all_values(&a, "redact-header", &cfg.nredact)))
        cfg.redact_headers = redact;
    cfg.session_header = args_get(&a, "session-header");
    if (cfg.session_header) { /* refused here, before anything is read, sent or written */
        bool user_wins;
        if (endpoint_session_header(cfg.session_header, cfg.headers, cfg.nheaders, &user_wins, &d))
            goto usage;
    }
    if ((wmodels = all_values(&a, "wait-for-model-name", &cfg.nwait_models)))
        cfg.wait_models = wmodels;
    if (args_count(&a, "extra-inputs")) {
        /* pack's parser, so a value pack refuses is refused here too (it used to be
         * dropped or cut at a comma: 'a:[1,2' sent "a":"[1"). */
        size_t nx = 0;
        const char **xv = all_values(&a, "extra-inputs", &nx);
        struct buf b;
        buf_init(&b, 0);
        int xrc = tw_extra_inputs(xv, nx, &b, &d);
        free(xv);
        if (xrc) {
            buf_free(&b);
            goto usage;
        }
        extra = buf_release(&b);
        cfg.extra_inputs = extra;
    }
    if (cli_api_key(&a, &cfg.api_key, &key_owned, &d)) {
        cli_error("%s", d.msg);
        code = EXIT_ERROR;
        goto out;
    }
    cfg.endpoint_path = args_get(&a, "custom-endpoint");
    if (args_has(&a, "streaming"))
        cfg.streaming = args_flag(&a, "streaming") ? 1 : 0;
    if (telemetry_opts(&a, &cfg, &tsrv, &tgpu, &tstore, &d))
        goto usage;
    cfg.ca_file = args_get(&a, "ca-file");
    cfg.insecure = args_flag(&a, "insecure");
    if (cfg.insecure)
        cli_warn("--insecure: TLS certificates and host names are not verified (recorded in "
                 "run.json)");
    cfg.preflight = !args_has(&a, "preflight") || args_flag(&a, "preflight");
    cfg.progress = args_flag(&a, "quiet") ? 0 : 1;
    cfg.preconnect = args_flag(&a, "preconnect");
    if (args_get(&a, "connection-reuse-strategy") &&
        replay_conn_reuse_parse(args_get(&a, "connection-reuse-strategy"), &cfg.conn_reuse, &d))
        goto usage;
    if (cfg.preconnect && cfg.conn_reuse != REUSE_POOLED) {
        diag_set(&d, ERR_INVALID,
                 "--preconnect with --connection-reuse-strategy %s: only the pooled strategy "
                 "opens connections before their requests",
                 replay_conn_reuse_name(cfg.conn_reuse));
        goto usage;
    }
    cfg.record_text = args_flag(&a, "record-text");
    cfg.record_responses = args_flag(&a, "record-responses");
    cfg.record_http = args_flag(&a, "record-http");
    cfg.record_http_implied = !cfg.record_http && cfg.record_responses;
    cfg.record_http = cfg.record_http || cfg.record_responses;
    const char *rx = "kernel";
    if (args_choice(&a, "rx-timestamps", "kernel|user", &rx, &d))
        goto usage;
    cfg.kernel_stamps = strcmp(rx, "kernel") == 0;
    cfg.auto_offset = args_flag(&a, "fixed-schedule-auto-offset");

    if (get_double(&a, "fixed-schedule-start-offset", 0, 1e15, &cfg.start_offset_ms, &d) ||
        get_double(&a, "fixed-schedule-end-offset", 0, 1e15, &cfg.end_offset_ms, &d) ||
        get_double(&a, "time-scale", 1e-9, 1e9, &cfg.time_scale, &d) ||
        get_double(&a, "arrival-smoothness", 1e-6, 1e6, &cfg.smoothness, &d) ||
        get_double(&a, "benchmark-duration", 0.001, 1e9, &cfg.duration_s, &d) ||
        get_double(&a, "benchmark-grace-period", 0, 1e9, &cfg.grace_s, &d) ||
        get_double(&a, "request-cancellation-rate", 0, 100, &cfg.cancel_rate_pct, &d) ||
        get_double(&a, "request-cancellation-delay", 0, 1e9, &cfg.cancel_delay_s, &d) ||
        get_double(&a, "request-timeout-seconds", 0.001, 1e9, &cfg.timeout_s, &d) ||
        get_double(&a, "connect-timeout-seconds", 0.001, 1e9, &cfg.connect_timeout_s, &d) ||
        get_double(&a, "first-byte-timeout-seconds", 0.001, 1e9, &cfg.first_byte_timeout_s, &d) ||
        get_double(&a, "idle-timeout-seconds", 0.001, 1e9, &cfg.idle_timeout_s, &d) ||
        get_double(&a, "drain-seconds", 0, 1e9, &cfg.drain_s, &d) ||
        /* AIPerf 0.13's bounds: durations > 0, the grace period >= 0 */
        get_double(&a, "concurrency-ramp-duration", 1e-6, 1e9, &cfg.conc_ramp_s, &d) ||
        get_double(&a, "request-rate-ramp-duration", 1e-6, 1e9, &cfg.rate_ramp_s, &d) ||
        get_double(&a, "warmup-duration", 1e-6, 1e9, &cfg.warmup_duration_s, &d) ||
        get_double(&a, "failed-request-threshold", 0, 1, &cfg.failed_threshold, &d) ||
        get_double(&a, "warmup-grace-period", 0, 1e9, &cfg.warmup_grace_s, &d) ||
        get_double(&a, "warmup-request-rate", 1e-9, 1e9, &cfg.warmup_rate, &d) ||
        get_double(&a, "warmup-concurrency-ramp-duration", 1e-6, 1e9, &cfg.warmup_conc_ramp_s,
                   &d) ||
        get_double(&a, "warmup-request-rate-ramp-duration", 1e-6, 1e9, &cfg.warmup_rate_ramp_s,
                   &d) ||
        get_double(&a, "prefill-concurrency-ramp-duration", 1e-6, 1e9, &cfg.prefill_ramp_s, &d) ||
        get_double(&a, "warmup-prefill-concurrency-ramp-duration", 1e-6, 1e9,
                   &cfg.warmup_prefill_ramp_s, &d) ||
        args_long(&a, "prefill-concurrency", 1, 10000000, &cfg.prefill_concurrency, &d) ||
        args_long(&a, "warmup-prefill-concurrency", 1, 10000000, &cfg.warmup_prefill_concurrency,
                  &d) ||
        args_long(&a, "num-warmup-sessions", 1, 1L << 40, &cfg.warmup_sessions, &d) ||
        replay_control_args(&a, &cfg, &d))
        goto usage;
    if (args_has(&a, "warmup-grace-period") && !args_has(&a, "warmup-duration")) {
        cli_error("--warmup-grace-period needs --warmup-duration (it follows the duration)");
        code = EXIT_USAGE;
        goto out;
    }
    if (args_has(&a, "request-rate")) {
        if (args_double(&a, "request-rate", 1e-9, 1e9, &cfg.rate, &d))
            goto usage;
    }
    if (args_has(&a, "request-rate-series")) {
        /* AIPerf 0.13: the series is the rate; --request-rate with it is a conflict */
        if (args_has(&a, "request-rate")) {
            cli_error("--request-rate-series %s: not with --request-rate (the series gives "
                      "the rate)",
                      args_get(&a, "request-rate-series"));
            code = EXIT_USAGE;
            goto out;
        }
        if (rate_series_load(args_get(&a, "request-rate-series"), &series_t, &series_qps,
                             &cfg.nseries, &d))
            goto usage;
        cfg.series_t = series_t;
        cfg.series_qps = series_qps;
        cfg.rate = series_qps[0];
    }
    lv = 0;
    if (args_long(&a, "concurrency", 1, 10000000, &lv, &d))
        goto usage;
    cfg.concurrency = lv;
    lv = 0;
    if (args_long(&a, "warmup-concurrency", 1, 10000000, &lv, &d))
        goto usage;
    cfg.warmup_concurrency = lv;
    if (args_long(&a, "request-count", 1, 1L << 40, &cfg.request_count, &d) ||
        args_long(&a, "warmup-request-count", 0, 1L << 40, &cfg.warmup_count, &d))
        goto usage;
    lv = cfg.workers;
    if (args_long(&a, "workers", 1, 1024, &lv, &d))
        goto usage;
    cfg.workers = (int)lv;
    dv = (double)cfg.spin_ns / 1e3;
    if (get_double(&a, "spin-us", 0, 100000, &dv, &d))
        goto usage;
    cfg.spin_ns = (long)(dv * 1e3);
    dv = 0;
    if (get_double(&a, "send-tick-us", 0, 1000000, &dv, &d))
        goto usage;
    cfg.send_tick_ns = (long)(dv * 1e3);
    if (cfg.send_tick_ns > 0) { /* a spin before a send held for its tick end buys nothing */
        if (args_has(&a, "spin-us") && cfg.spin_ns > 0) {
            cli_error("--spin-us %s: not with --send-tick-us %s (a tick sends late on purpose; "
                      "a spin is for sending on time)",
                      args_get(&a, "spin-us"), args_get(&a, "send-tick-us"));
            code = EXIT_USAGE;
            goto out;
        }
        cfg.spin_ns = 0;
    }
    lv = (long)cfg.max_event;
    if (args_long(&a, "max-event-bytes", 1024, 1L << 40, &lv, &d))
        goto usage;
    cfg.max_event = (size_t)lv;
    lv = (long)cfg.max_body;
    if (args_long(&a, "max-body-bytes", 1024, 1L << 40, &lv, &d))
        goto usage;
    cfg.max_body = (size_t)lv;
    lv = (long)cfg.max_body_total;
    if (args_long(&a, "max-body-bytes-total", 1024, 1L << 40, &lv, &d))
        goto usage;
    cfg.max_body_total = (size_t)lv;
    lv = cfg.zstd_level;
    if (args_long(&a, "zstd-level", 1, 19, &lv, &d))
        goto usage;
    cfg.zstd_level = (int)lv;
    if (args_has(&a, "random-seed")) {
        const char *s = args_get(&a, "random-seed");
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (!*s || *end) {
            cli_error("--random-seed '%s': not a non-negative integer", s);
            goto out;
        }
        cfg.seed = v;
        cfg.seed_set = true; /* 0 is a seed like any other (AIPerf treats it as unset) */
    }
    if (args_has(&a, "shard") &&
        shard_parse(args_get(&a, "shard"), &cfg.shard_index, &cfg.shard_count, &d))
        goto usage;
    if (args_has(&a, "start-at") &&
        start_at_parse(args_get(&a, "start-at"), clock_real_ns(), &cfg.start_at_real_ns, &d))
        goto usage;
    const char *pat = "poisson";
    if (args_choice(&a, "arrival-pattern", "constant|poisson|gamma", &pat, &d))
        goto usage;
    cfg.arrival = !strcmp(pat, "constant")  ? ARRIVAL_CONSTANT
                  : !strcmp(pat, "poisson") ? ARRIVAL_POISSON
                                            : ARRIVAL_GAMMA;
    if (cfg.arrival == ARRIVAL_POISSON)
        cfg.smoothness = 1;
    if (args_choice(&a, "warmup-arrival-pattern", "constant|poisson|gamma", &pat, &d))
        goto usage;
    if (args_has(&a, "warmup-arrival-pattern"))
        cfg.warmup_arrival = !strcmp(pat, "constant")  ? ARRIVAL_CONSTANT
                             : !strcmp(pat, "poisson") ? ARRIVAL_POISSON
                                                       : ARRIVAL_GAMMA;

    if (check_only) {
        code = EXIT_OK;
        goto out;
    }
    /* The trace: header first, then the first request for the default dir's model. */
    if (trace_open(&ts.r, trace_path, &d)) {
        cli_error("%s", d.msg);
        code = EXIT_ERROR;
        goto out;
    }
    const struct trace_header *th = trace_get_header(ts.r);
    if (args_has(&a, "endpoint-type")) {
        if (endpoint_type_parse(args_get(&a, "endpoint-type"), &cfg.endpoint)) {
            cli_error("--endpoint-type '%s': expected chat, completions, embeddings, "
                      "rankings, responses or raw",
                      args_get(&a, "endpoint-type"));
            goto out;
        }
    } else if (th->endpoint_type && endpoint_type_parse(th->endpoint_type, &cfg.endpoint)) {
        cli_error("%s: unknown endpoint type '%s' in the trace header", trace_path,
                  th->endpoint_type);
        code = EXIT_ERROR;
        goto out;
    }
    /* Mode precedence (AIPerf): fixed schedule for a timed trace unless a rate is given
     * or --no-fixed-schedule; then rate; then concurrency. */
    bool fixed = args_has(&a, "fixed-schedule")
                     ? args_flag(&a, "fixed-schedule")
                     : th->timed && !args_has(&a, "request-rate") && !cfg.nseries;
    if (fixed && cfg.nseries) {
        cli_error("--request-rate-series %s: not with --fixed-schedule",
                  args_get(&a, "request-rate-series"));
        code = EXIT_USAGE;
        goto out;
    }
    if (fixed && !th->timed) {
        cli_error("--fixed-schedule: %s has no timestamps", trace_path);
        goto out;
    }
    if (fixed) {
        cfg.mode = MODE_FIXED;
        if (!args_has(&a, "concurrency"))
            cfg.concurrency = 0;
    } else if (args_has(&a, "request-rate") || cfg.nseries) {
        cfg.mode = MODE_RATE;
        if (!args_has(&a, "concurrency"))
            cfg.concurrency = 0;
    } else {
        cfg.mode = MODE_CONCURRENCY;
        if (!cfg.concurrency)
            cfg.concurrency = 1;
    }
    /* A trace's warmup block runs as pack wrote it unless told otherwise: all of it, in
     * the load the header names (a bare replay used to skip it, which silently dropped
     * the warmup a user-centric trace was packed with). --warmup-request-count 0 skips it. */
    bool block_rate = false;
    if (cfg.mode == MODE_FIXED && th->warmup_requests > 0 &&
        !args_has(&a, "warmup-request-count") && !args_has(&a, "num-warmup-sessions") &&
        !args_has(&a, "warmup-duration")) {
        cfg.warmup_count = th->warmup_requests;
        if (!args_has(&a, "warmup-concurrency") && th->warmup_concurrency > 0)
            cfg.warmup_concurrency = th->warmup_concurrency;
        if (!args_has(&a, "warmup-request-rate") && th->warmup_rate > 0) {
            cfg.warmup_rate = th->warmup_rate;
            block_rate = true;
        }
    }
    /* Load shapes and the warmup's load belong to one mode each; the warmup runs in the
     * profiling phase's mode (a rate warmup before a closed loop is not supported). */
    {
        static const struct {
            const char *opt;
            enum replay_mode mode;
            const char *needs;
        } only[] = {
            {"request-rate-ramp-duration", MODE_RATE, "--request-rate"},
            {"warmup-request-rate", MODE_RATE, "--request-rate or closed loop"},
            {"warmup-arrival-pattern", MODE_RATE, "--request-rate or --warmup-request-rate"},
            {"warmup-request-rate-ramp-duration", MODE_RATE,
             "--request-rate or --warmup-request-rate"},
        };
        /* AIPerf 0.13 runs a rate warmup (--warmup-request-rate) before a closed loop too,
         * and before a user-centric schedule (a fixed schedule with a warmup block) */
        bool rate_warm =
            (cfg.mode == MODE_CONCURRENCY || (cfg.mode == MODE_FIXED && th->warmup_requests > 0)) &&
            (args_has(&a, "warmup-request-rate") || block_rate);
        if (rate_warm)
            cfg.warmup_rate_cap = args_has(&a, "concurrency") ? cfg.concurrency : 0;
        for (size_t k = 0; k < sizeof only / sizeof only[0]; k++)
            if (args_has(&a, only[k].opt) && cfg.mode != only[k].mode && !(k > 0 && rate_warm)) {
                cli_error("--%s %s: needs %s", only[k].opt, args_get(&a, only[k].opt),
                          only[k].needs);
                code = EXIT_USAGE;
                goto out;
            }
        /* AIPerf 0.13: a prefill ramp ramps a prefill limit, which is at most the phase's
         * concurrency (where one is set) */
        const char *pramps[2][2] = {
            {"prefill-concurrency-ramp-duration", "prefill-concurrency"},
            {"warmup-prefill-concurrency-ramp-duration", "warmup-prefill-concurrency"}};
        for (int k = 0; k < 2; k++)
            if (args_has(&a, pramps[k][0]) && !cfg.prefill_concurrency &&
                !(k == 1 && cfg.warmup_prefill_concurrency)) {
                cli_error("--%s %s: needs --%s (the limit it ramps)", pramps[k][0],
                          args_get(&a, pramps[k][0]), pramps[k][1]);
                code = EXIT_USAGE;
                goto out;
            }
        if (cfg.prefill_concurrency && cfg.concurrency &&
            cfg.prefill_concurrency > cfg.concurrency) {
            cli_error("--prefill-concurrency %ld: more than --concurrency %ld (AIPerf: at most the "
                      "concurrency)",
                      cfg.prefill_concurrency, cfg.concurrency);
            code = EXIT_USAGE;
            goto out;
        }
        long wpc = cfg.warmup_prefill_concurrency ? cfg.warmup_prefill_concurrency
                                                  : cfg.prefill_concurrency;
        long wcc = cfg.warmup_concurrency ? cfg.warmup_concurrency : cfg.concurrency;
        bool warm = cfg.warmup_count > 0 || cfg.warmup_duration_s > 0 || cfg.warmup_sessions > 0;
        if (warm && wpc && wcc && wpc > wcc) {
            cli_error("--%s %ld: more than the warmup's concurrency %ld",
                      cfg.warmup_prefill_concurrency ? "warmup-prefill-concurrency"
                                                     : "prefill-concurrency",
                      wpc, wcc);
            code = EXIT_USAGE;
            goto out;
        }
        /* AIPerf 0.13's warmup takes --request-rate, not the series: without
         * --warmup-request-rate its warmup is a closed loop, which cannot run before a
         * rate-mode profile here */
        if (cfg.nseries &&
            (cfg.warmup_count > 0 || cfg.warmup_duration_s > 0 || cfg.warmup_sessions > 0) &&
            !args_has(&a, "warmup-request-rate")) {
            cli_error("--request-rate-series %s: a warmup with it needs --warmup-request-rate "
                      "(AIPerf's warmup would be a closed loop)",
                      args_get(&a, "request-rate-series"));
            code = EXIT_USAGE;
            goto out;
        }
        /* outside the closed loop a concurrency ramp raises the --concurrency cap */
        if (cfg.mode != MODE_CONCURRENCY && !cfg.concurrency &&
            (args_has(&a, "concurrency-ramp-duration") ||
             (args_has(&a, "warmup-concurrency-ramp-duration") && !cfg.warmup_concurrency))) {
            const char *o = args_has(&a, "concurrency-ramp-duration")
                                ? "concurrency-ramp-duration"
                                : "warmup-concurrency-ramp-duration";
            cli_error("--%s %s: needs --concurrency (the cap it ramps) with --request-rate", o,
                      args_get(&a, o));
            code = EXIT_USAGE;
            goto out;
        }
    }
    /* --shard: each shard runs its part of --concurrency (the first C % N one more), so
     * the shards together hold C requests in flight. */
    if (cfg.shard_count > 1 && cfg.concurrency > 0) {
        if (cfg.mode == MODE_CONCURRENCY && cfg.concurrency < cfg.shard_count) {
            cli_error("--concurrency %ld is less than the shard count %d: every shard needs a "
                      "slot",
                      cfg.concurrency, cfg.shard_count);
            goto out;
        }
        cfg.concurrency_total = cfg.concurrency;
        cfg.concurrency = shard_concurrency(cfg.concurrency, cfg.shard_index, cfg.shard_count);
        if (cfg.concurrency < 1) /* a cap in the timed modes: never 0 (none) */
            cfg.concurrency = 1;
    }
    char model[128] = "";
    {
        struct trace_request tr;
        struct diag d2;
        if (trace_next(ts.r, &tr, &d2) > 0 && tr.model)
            snprintf(model, sizeof model, "%s", tr.model);
        trace_close(ts.r);
        ts.r = NULL;
        if (trace_open(&ts.r, trace_path, &d)) {
            cli_error("%s", d.msg);
            code = EXIT_ERROR;
            goto out;
        }
        th = trace_get_header(ts.r);
    }
    char dir[1024];
    const char *out_dir = args_get(&a, "output-artifact-dir");
    if (!out_dir) {
        char mode[64];
        if (cfg.mode == MODE_FIXED)
            snprintf(mode, sizeof mode, "fixed_schedule");
        else if (cfg.mode == MODE_RATE)
            snprintf(mode, sizeof mode, "request_rate%g", cfg.rate);
        else
            snprintf(mode, sizeof mode, "concurrency%ld", cfg.concurrency);
        default_dir(dir, sizeof dir, model[0] ? model : "model", endpoint_type_name(cfg.endpoint),
                    mode);
        out_dir = dir;
    }
    cfg.out_dir = out_dir;
    cfg.mode_explicit = true;
    /* An -o naming an earlier run would silently replace it: refuse unless asked. (The
     * default directory never collides: it gets a -2, -3... suffix.) profile passes
     * --overwrite, keeping AIPerf's reuse of its artifact directory. */
    if (!args_flag(&a, "overwrite")) {
        static const char *const run_files[] = {"run.json", "records.jsonl.zst", "records.jsonl"};
        for (size_t i = 0; i < 3; i++) {
            char p[4200];
            struct stat st;
            snprintf(p, sizeof p, "%s/%s", out_dir, run_files[i]);
            if (lstat(p, &st) == 0) {
                cli_error("%s already holds a run (%s): pass --overwrite to replace it, or "
                          "choose another -o",
                          out_dir, run_files[i]);
                code = EXIT_ERROR;
                goto out;
            }
        }
    }
    ts.first = ts.r;
    struct replay_source src = {
        .ctx = &ts, .header = th, .path = trace_path, .next = tsrc_next, .rewind = tsrc_rewind};
    bool multi_turn = th->requests > th->sessions;
    if (tsrc_validate(&ts, multi_turn, &d)) {
        cli_error("%s", d.msg);
        code = EXIT_ERROR;
        goto out;
    }
    if (multi_turn)
        src.turns = tsrc_turns;
    struct replay_result res;
    if (replay_run(&cfg, &src, &res, &d)) {
        cli_error("%s", d.msg);
        code = EXIT_ERROR;
        goto out;
    }
    if (cfg.progress)
        fprintf(stderr,
                "replay: %ld requests, %ld errors, %ld cancelled%s; lateness p50 %.0f us, p99 "
                "%.0f us; run dir %s\n",
                res.completed, res.errors, res.cancelled, res.interrupted ? " (interrupted)" : "",
                res.lateness_p50_ns / 1e3, res.lateness_p99_ns / 1e3, out_dir);
    code = res.interrupted ? EXIT_INTERRUPTED : EXIT_OK;
    if (res.threshold_hit && !res.interrupted) {
        /* AIPerf 0.13 exits non-zero too; the partial run dir is complete and marked
         * cancelled, so profile still reports it */
        cli_error("--failed-request-threshold %s exceeded: %ld of %ld profiling requests failed "
                  "(first: %s); the run was stopped; run dir %s",
                  args_get(&a, "failed-request-threshold"), res.prof_errors, res.prof_records,
                  res.first_error, out_dir);
        code = EXIT_ERROR;
        goto out;
    }
    /* A run without a single success measured nothing but the failure (a wrong model
     * name, a 400 for every body, a server that is down): the run dir is complete, but
     * the exit code and the last line say so, so CI and `profile` cannot take it for a
     * benchmark. An interrupted run keeps 130. */
    if (!res.interrupted && res.completed - res.errors <= 0) {
        if (res.completed > 0)
            cli_error("no request succeeded: %ld of %ld failed (first: %s); run dir %s", res.errors,
                      res.completed, res.first_error, out_dir);
        else
            cli_error("no request succeeded: none was sent; run dir %s", out_dir);
        code = EXIT_ERROR;
    }
    goto out;
usage:
    cli_error("%s", d.msg);
    code = EXIT_USAGE;
out:
    if (ts.r && ts.r != ts.first)
        trace_close(ts.r);
    if (ts.first)
        trace_close(ts.first);
    i64map_free(&ts.sess);
    free(ts.nturns);
    tcache_free(&ts.cache);
    free(urls);
    free(hdrs);
    free(tsrv);
    free(tgpu);
    free(tstore);
    free(redact);
    free(wmodels);
    free(extra);
    free(series_t);
    free(series_qps);
    if (key_owned) { /* the key does not outlive its use in memory either */
        memset(key_owned, 0, strlen(key_owned));
        free(key_owned);
    }
    args_free(&a);
    return code;
}
