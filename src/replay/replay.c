/*
 * replay_run: sets up the run dir, preflights the machine and the server, starts the
 * scheduler, workers and writer, watches signals and progress from the calling thread,
 * and finishes the files. See replay.h for the contract, docs/replay.md for the design.
 */
#include "replay.h"

#include "netprobe.h"
#include "scrape.h"

#include "control.h"
#include "engine.h"
#include "hash.h"
#include "jsonw.h"
#include "tls.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "build_info.h"
#include "clock.h"
#include "rxstamp.h"

int replay_conn_reuse_parse(const char *v, enum conn_reuse *out, struct diag *d)
{
    static const char *const names[] = {"pooled", "never", "sticky-user-sessions"};
    for (int i = 0; i < 3; i++) {
        const char *a = v, *b = names[i];
        for (; *a && *b; a++, b++) /* AIPerf's enums ignore case; '_' stands for '-' */
            if ((*a == '_' ? '-' : (char)(*a | 0x20)) != *b)
                break;
        if (!*a && !*b) {
            *out = (enum conn_reuse)i;
            return 0;
        }
    }
    return diag_set(d, ERR_INVALID,
                    "--connection-reuse-strategy '%.64s': expected pooled, never or "
                    "sticky-user-sessions",
                    v);
}

const char *replay_conn_reuse_name(enum conn_reuse r)
{
    return r == REUSE_NEVER ? "never" : r == REUSE_STICKY ? "sticky-user-sessions" : "pooled";
}

/* The user gave a Connection header of their own (-H). */
static bool user_connection_header(const struct replay_config *cfg)
{
    for (size_t i = 0; i < cfg->nheaders; i++) {
        const char *h = cfg->headers[i];
        size_t n = strcspn(h, ": ");
        if (n == 10 && !strncasecmp(h, "connection", 10))
            return true;
    }
    return false;
}

void replay_config_defaults(struct replay_config *c)
{
    memset(c, 0, sizeof *c);
    static const char *const def_url[] = {"localhost:8000"}; /* mock, profile, AIPerf */
    c->urls = def_url;
    c->nurls = 1;
    c->endpoint = EP_CHAT;
    c->streaming = -1;
    c->mode = MODE_CONCURRENCY;
    c->arrival = ARRIVAL_POISSON;
    c->smoothness = 1;
    c->concurrency = 0;
    c->grace_s = 30;
    c->warmup_grace_s = -1;
    c->warmup_arrival = -1;
    c->failed_threshold = -1;
    c->time_scale = 1;
    c->start_offset_ms = c->end_offset_ms = -1;
    c->timeout_s = 600;
    c->connect_timeout_s = 30;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    c->workers = cores > 1 ? (int)cores : 1;
    c->spin_ns = 30000;
    c->preflight = true;
    c->kernel_stamps = true;
    c->max_event = 16u << 20;
    c->max_body = 64u << 20;
    c->max_body_total = 256u << 20;
    c->drain_s = 5;
    c->progress = 1;
    c->shard_count = 1;
    c->zstd_level = 1; /* faster than 3 and smaller on records (docs/benchmarks.md) */
    /* off for in-process callers (tests); the CLI (replay, profile) turns it on, as AIPerf
     * 0.13 does, unless --no-server-metrics */
    c->server_metrics = false;
    c->metrics_interval_s = 1;
    c->net_ping_interval_s = 1;
}

/* ---- setup ---- */

static int resolve(struct target *t, struct diag *d)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = getaddrinfo(t->url.host, t->url.port, &hints, &t->ai);
    if (rc)
        return diag_set(d, ERR_IO, "cannot resolve '%s': %s", t->url.host, gai_strerror(rc));
    return 0;
}

static int setup_targets(struct engine *e, const struct replay_config *cfg, struct diag *d)
{
    if (cfg->session_header) {
        bool user_wins = false;
        int rc = endpoint_session_header(cfg->session_header, cfg->headers, cfg->nheaders,
                                         &user_wins, d);
        if (rc)
            return rc;
        if (!user_wins) /* the name is at most 128 bytes (checked): it fits */
            e->sh_len = (size_t)snprintf(e->sh, sizeof e->sh, "%s: ", cfg->session_header);
    }
    e->ntargets = (int)cfg->nurls;
    e->targets = xcalloc(cfg->nurls, sizeof *e->targets);
    /* A custom path (ours, or the one pack recorded) is joined as given; the type's
     * default path drops a /v1 the base URL already ends in (url_join_path). */
    const char *ep_path = cfg->endpoint_path, *ep_opt = "--custom-endpoint";
    if (!ep_path && e->src->header && e->src->header->endpoint_path) {
        ep_path = e->src->header->endpoint_path;
        ep_opt = "the trace header's endpoint_path";
    }
    const char *def_path = endpoint_default_path(cfg->endpoint);
    if (!ep_path)
        ep_path = def_path;
    bool custom = strcmp(ep_path, def_path) != 0;
    int rc = wire_check(ep_opt, ep_path, false, d);
    if (rc)
        return rc;
    for (size_t i = 0; i < cfg->nurls; i++) {
        struct target *t = &e->targets[i];
        rc = url_parse(cfg->urls[i], &t->url, d);
        if (rc)
            return rc;
        if (t->url.tls && !e->tls) {
            struct tls_client_opts o = {.ca_file = cfg->ca_file, .insecure = cfg->insecure};
            rc = tls_client_config_new(&e->tls, &o, d);
            if (rc)
                return rc;
        }
        if (url_join_path(&t->url, ep_path, custom, t->path, sizeof t->path))
            return diag_set(d, ERR_INVALID, "--url: the request path is too long (over %zu bytes)",
                            sizeof t->path - 1);
        for (int s = 0; s < 2; s++) {
            buf_init(&t->prefix[s], 0);
            buf_printf(&t->prefix[s], "POST %s HTTP/1.1\r\nHost: %s\r\n", t->path,
                       t->url.authority);
            rc = endpoint_headers(&t->prefix[s], s == 1, cfg->api_key,
                                  t->url.has_userinfo ? t->url.userinfo : NULL, cfg->headers,
                                  cfg->nheaders, d);
            if (rc)
                return rc;
            /* never: the server closes after the response too (aiohttp's force_close
             * sends this header), unless the user's own Connection header says otherwise */
            if (cfg->conn_reuse == REUSE_NEVER && !user_connection_header(cfg))
                buf_puts(&t->prefix[s], "Connection: close\r\n");
            buf_puts(&t->prefix[s], "Content-Length: ");
        }
        rc = resolve(t, d);
        if (rc)
            return rc;
    }
    return 0;
}

/* Planned simultaneous connections: what the file-descriptor limit and the ephemeral
 * port range must hold. */
static long planned_conns(const struct replay_config *cfg)
{
    if (cfg->concurrency > 0)
        return cfg->concurrency;
    if (cfg->mode == MODE_RATE)
        return (long)(cfg->rate * 2) + 64; /* a guess: two seconds of arrivals in flight */
    return 1024;
}

static int preflight_limits(const struct replay_config *cfg, struct diag *d)
{
    long need = planned_conns(cfg) + 64 + 8L * cfg->workers;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (long)rl.rlim_cur < need) {
        rlim_t want = (rlim_t)need;
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
            if (cfg->concurrency > 0)
                return diag_set(d, ERR_INVALID,
                                "--concurrency %ld needs %ld file descriptors but the hard "
                                "limit is %ld: run 'ulimit -Hn %ld' as root (or raise nofile "
                                "in /etc/security/limits.conf), or lower --concurrency",
                                cfg->concurrency, need, (long)rl.rlim_max, need);
            want = rl.rlim_max;
        }
        rl.rlim_cur = want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
    if (f) {
        long lo = 0, hi = 0;
        int got = fscanf(f, "%ld %ld", &lo, &hi);
        fclose(f);
        /* Without --concurrency the connections in use depend on the server's latency,
         * unknown here; a run that exhausts the ports says so in each failed record. */
        if (got == 2 && cfg->concurrency > 0 && cfg->concurrency > (hi - lo + 1) * (long)cfg->nurls)
            return diag_set(d, ERR_INVALID,
                            "--concurrency %ld exceeds the %ld ephemeral ports "
                            "(net.ipv4.ip_local_port_range = %ld %ld): widen it with 'sysctl "
                            "-w net.ipv4.ip_local_port_range=\"1024 65535\"' or add --url "
                            "addresses",
                            cfg->concurrency, hi - lo + 1, lo, hi);
    }
    return 0;
}

/* preflight_tls: connect again and retry with TLS 1.2 (tls_config_use_tls12). */
#define PREFLIGHT_RETRY_TLS12 1

/* A TLS handshake on a connected socket, so a bad certificate is one clear line before
 * the run rather than every request failing. */
static int preflight_tls(struct engine *e, const struct target *t, int fd, struct diag *d)
{
    struct tls_session *s;
    if (tls_session_new(&s, e->tls, fd, t->url.host))
        return diag_set(d, ERR_TLS, "cannot create a TLS session for %s", t->url.host);
    int64_t end = clock_mono_ns() + 5000000000LL;
    int rc;
    while ((rc = tls_handshake(s)) == TLS_WANT_READ || rc == TLS_WANT_WRITE) {
        struct pollfd p = {.fd = fd, .events = rc == TLS_WANT_READ ? POLLIN : POLLOUT};
        int left = (int)((end - clock_mono_ns()) / 1000000);
        if (left <= 0 || poll(&p, 1, left) <= 0) {
            tls_session_free(s);
            return diag_set(d, ERR_TLS, "TLS handshake with %s:%s timed out", t->url.host,
                            t->url.port);
        }
    }
    bool retry = rc < 0 && tls_session_retry_tls12(s);
    if (rc < 0)
        diag_set(d, ERR_TLS, "TLS handshake with %s:%s failed: %s", t->url.host, t->url.port,
                 tls_session_error(s));
    else
        tls_close_notify(s);
    tls_session_free(s);
    if (retry)
        return PREFLIGHT_RETRY_TLS12;
    return rc < 0 ? ERR_TLS : 0;
}

/* One blocking connect per URL (3 s at most), so an unreachable server is one clear line
 * before the run starts instead of a run dir full of connect errors. */
static int preflight_connect(struct engine *e, struct diag *d)
{
    for (int i = 0; i < e->ntargets; i++) {
        struct target *t = &e->targets[i];
        int last_err = 0;
        bool ok = false;
        bool tls_retried = false;
        for (struct addrinfo *ai = t->ai; ai && !ok; ai = ai->ai_next) {
        again:;
            int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0)
                continue;
            int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
            if (rc && errno == EINPROGRESS) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                if (poll(&p, 1, 3000) == 1) {
                    int err = 0;
                    socklen_t len = sizeof err;
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                    rc = err ? -1 : 0;
                    errno = err;
                } else {
                    rc = -1;
                    errno = ETIMEDOUT;
                }
            }
            if (rc == 0 && t->url.tls) {
                int tr = preflight_tls(e, t, fd, d);
                if (tr == PREFLIGHT_RETRY_TLS12 && !tls_retried) {
                    /* Once, before any worker session exists: every connection of the
                     * run (all --url targets) then speaks TLS 1.2 without RSA-PSS. */
                    close(fd);
                    tls_retried = true;
                    tls_config_use_tls12(e->tls);
                    fprintf(stderr,
                            "metronome: warning: %s: the TLS 1.2 handshake failed the way "
                            "an RSA-PSS signature makes mbedTLS 3.6.6 fail (it cannot verify "
                            "one in TLS 1.2); retrying with TLS 1.2 without offering RSA-PSS, "
                            "for the whole run\n",
                            e->cfg->urls[i]);
                    goto again;
                }
                if (tr) {
                    close(fd);
                    return ERR_TLS;
                }
            }
            if (rc == 0)
                ok = true;
            else
                last_err = errno;
            close(fd);
        }
        if (!ok) {
            struct buf shown;
            buf_init(&shown, 0);
            url_redact(e->cfg->urls[i], strlen(e->cfg->urls[i]), &shown);
            int rc = diag_set(d, ERR_IO, "cannot connect to %s (%s:%s): %s", shown.p, t->url.host,
                              t->url.port, strerror(last_err));
            buf_free(&shown);
            return rc;
        }
    }
    return 0;
}

/* ---- run.json ---- */

static bool is_secret_opt(const char *a)
{
    return !strncmp(a, "--api-key", 9);
}

/* A URL (or a path with a query) with its userinfo and query values redacted. */
static void json_url(struct jsonw *w, const char *url)
{
    struct buf b;
    buf_init(&b, 0);
    url_redact(url, strlen(url), &b);
    jsonw_str(w, b.p ? b.p : "");
    buf_free(&b);
}

static void json_argv(struct jsonw *w, struct engine *e)
{
    const struct replay_config *cfg = e->cfg;
    jsonw_arr_begin(w);
    for (int i = 0; i < cfg->argc; i++) {
        const char *a = cfg->argv[i];
        if (is_secret_opt(a)) {
            if (strchr(a, '=')) {
                jsonw_str(w, "--api-key=<redacted>");
            } else {
                jsonw_str(w, a);
                if (i + 1 < cfg->argc) {
                    jsonw_str(w, "<redacted>");
                    i++;
                }
            }
            continue;
        }
        bool hdr = !strcmp(a, "-H") || !strcmp(a, "--header");
        if (hdr && i + 1 < cfg->argc) {
            jsonw_str(w, a);
            const char *h = cfg->argv[++i];
            const char *colon = strchr(h, ':');
            size_t n = colon ? (size_t)(colon - h) : strlen(h);
            if (colon && endpoint_header_secret(h, n, e->redact, e->nredact)) {
                char tmp[300];
                snprintf(tmp, sizeof tmp, "%.*s:<redacted>", (int)(n < 256 ? n : 256), h);
                jsonw_str(w, tmp);
            } else {
                jsonw_str(w, h);
            }
            continue;
        }
        if (!strncmp(a, "--header=", 9)) {
            const char *h = a + 9;
            const char *colon = strchr(h, ':');
            size_t n = colon ? (size_t)(colon - h) : strlen(h);
            if (colon && endpoint_header_secret(h, n, e->redact, e->nredact)) {
                char tmp[300];
                snprintf(tmp, sizeof tmp, "--header=%.*s:<redacted>", (int)(n < 256 ? n : 256), h);
                jsonw_str(w, tmp);
                continue;
            }
        }
        if (i > 0 && (!strcmp(cfg->argv[i - 1], "--url") || !strcmp(cfg->argv[i - 1], "-u"))) {
            json_url(w, a);
            continue;
        }
        struct buf b;
        buf_init(&b, 0);
        url_redact_words(a, &b); /* "--url=...", and any scheme://... */
        jsonw_str(w, b.p);
        buf_free(&b);
    }
    jsonw_arr_end(w);
}

static const char *mode_name(enum replay_mode m)
{
    return m == MODE_FIXED ? "fixed_schedule" : m == MODE_RATE ? "request_rate" : "concurrency";
}

static const char *arrival_name(enum arrival a)
{
    return a == ARRIVAL_CONSTANT ? "constant" : a == ARRIVAL_POISSON ? "poisson" : "gamma";
}

static void kd(struct jsonw *w, const char *k, double v)
{
    jsonw_key(w, k);
    jsonw_double(w, v);
}

static void ki(struct jsonw *w, const char *k, int64_t v)
{
    jsonw_key(w, k);
    jsonw_int(w, v);
}

static void json_config(struct jsonw *w, struct engine *e)
{
    const struct replay_config *c = e->cfg;
    jsonw_obj_begin(w);
    jsonw_key(w, "url");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < c->nurls; i++)
        json_url(w, c->urls[i]);
    jsonw_arr_end(w);
    jsonw_key(w, "endpoint_type");
    jsonw_str(w, endpoint_type_name(c->endpoint));
    jsonw_key(w, "endpoint_path");
    json_url(w, e->targets[0].path);
    jsonw_key(w, "api_key");
    if (c->api_key)
        jsonw_str(w, "<redacted>");
    else
        jsonw_null(w);
    jsonw_key(w, "headers");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < c->nheaders; i++) {
        const char *h = c->headers[i];
        const char *colon = strchr(h, ':');
        size_t n = colon ? (size_t)(colon - h) : strlen(h);
        if (endpoint_header_secret(h, n, c->redact_headers, c->nredact)) {
            char tmp[300];
            snprintf(tmp, sizeof tmp, "%.*s:<redacted>", (int)(n < 256 ? n : 256), h);
            jsonw_str(w, tmp);
        } else {
            jsonw_str(w, h);
        }
    }
    jsonw_arr_end(w);
    jsonw_key(w, "session_header");
    if (c->session_header)
        jsonw_str(w, c->session_header);
    else
        jsonw_null(w);
    jsonw_key(w, "connection_reuse_strategy");
    jsonw_str(w, replay_conn_reuse_name(c->conn_reuse));
    jsonw_key(w, "extra_inputs");
    if (c->extra_inputs)
        jsonw_str(w, c->extra_inputs);
    else
        jsonw_null(w);
    jsonw_key(w, "record_http"); /* --record-http: the report writes trace_data */
    jsonw_bool(w, c->record_http && !c->record_http_implied);
    jsonw_key(w, "record_responses");
    jsonw_bool(w, c->record_responses);
    jsonw_key(w, "streaming");
    if (c->streaming < 0)
        jsonw_str(w, "as-trace");
    else
        jsonw_bool(w, c->streaming);
    jsonw_key(w, "mode");
    jsonw_str(w, mode_name(c->mode));
    jsonw_key(w, "arrival_pattern");
    jsonw_str(w, arrival_name(c->arrival));
    kd(w, "request_rate", c->rate);
    kd(w, "arrival_smoothness", c->smoothness);
    ki(w, "concurrency", c->concurrency);
    ki(w, "request_count", c->request_count);
    kd(w, "benchmark_duration", c->duration_s);
    kd(w, "benchmark_grace_period", c->grace_s);
    ki(w, "warmup_request_count", c->warmup_count);
    kd(w, "concurrency_ramp_duration", c->conc_ramp_s);
    kd(w, "request_rate_ramp_duration", c->rate_ramp_s);
    kd(w, "warmup_duration", c->warmup_duration_s);
    kd(w, "warmup_grace_period", c->warmup_grace_s);
    ki(w, "warmup_concurrency", c->warmup_concurrency);
    kd(w, "warmup_request_rate", c->warmup_rate);
    jsonw_key(w, "warmup_arrival_pattern");
    if (c->warmup_arrival >= 0)
        jsonw_str(w, arrival_name((enum arrival)c->warmup_arrival));
    else
        jsonw_null(w);
    kd(w, "warmup_concurrency_ramp_duration", c->warmup_conc_ramp_s);
    kd(w, "warmup_request_rate_ramp_duration", c->warmup_rate_ramp_s);
    ki(w, "prefill_concurrency", c->prefill_concurrency);
    kd(w, "prefill_concurrency_ramp_duration", c->prefill_ramp_s);
    ki(w, "warmup_prefill_concurrency", c->warmup_prefill_concurrency);
    kd(w, "warmup_prefill_concurrency_ramp_duration", c->warmup_prefill_ramp_s);
    ki(w, "num_warmup_sessions", c->warmup_sessions);
    jsonw_key(w, "failed_request_threshold");
    if (c->failed_threshold >= 0)
        jsonw_double(w, c->failed_threshold);
    else
        jsonw_null(w);
    jsonw_key(w, "network_latency_automatic");
    jsonw_bool(w, c->net_probe);
    if (c->net_probe)
        kd(w, "network_latency_ping_interval", c->net_ping_interval_s);
    kd(w, "time_scale", c->time_scale);
    jsonw_key(w, "fixed_schedule_auto_offset");
    jsonw_bool(w, c->auto_offset);
    kd(w, "fixed_schedule_start_offset", c->start_offset_ms);
    kd(w, "fixed_schedule_end_offset", c->end_offset_ms);
    kd(w, "request_cancellation_rate", c->cancel_rate_pct);
    kd(w, "request_cancellation_delay", c->cancel_delay_s);
    kd(w, "request_timeout_seconds", c->timeout_s);
    kd(w, "connect_timeout_seconds", c->connect_timeout_s);
    kd(w, "first_byte_timeout_seconds", c->first_byte_timeout_s);
    kd(w, "idle_timeout_seconds", c->idle_timeout_s);
    jsonw_key(w, "random_seed");
    if (c->seed_set)
        jsonw_uint(w, c->seed);
    else
        jsonw_null(w);
    ki(w, "workers", c->workers);
    ki(w, "spin_ns", c->spin_ns);
    ki(w, "send_tick_ns", c->send_tick_ns);
    jsonw_key(w, "rx_timestamps");
    jsonw_str(w, c->kernel_stamps ? "kernel" : "user");
    ki(w, "max_event_bytes", (int64_t)c->max_event);
    ki(w, "max_body_bytes", (int64_t)c->max_body);
    ki(w, "max_body_bytes_total", (int64_t)c->max_body_total);
    kd(w, "drain_seconds", c->drain_s);
    jsonw_key(w, "ca_file");
    if (c->ca_file)
        jsonw_str(w, c->ca_file);
    else
        jsonw_null(w);
    jsonw_key(w, "argv");
    json_argv(w, e);
    jsonw_obj_end(w);
}

static void sha256_file(const char *path, char out[65])
{
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    mbedtls_sha256_context ctx;
    mbedtls_sha256_init(&ctx);
    mbedtls_sha256_starts(&ctx, 0);
    unsigned char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        mbedtls_sha256_update(&ctx, buf, (size_t)n);
    close(fd);
    unsigned char h[32];
    mbedtls_sha256_finish(&ctx, h);
    mbedtls_sha256_free(&ctx);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* This host's clock error as the kernel's NTP discipline states it (adjtimex, read-only:
 * modes 0): esterror and maxerror in microseconds, and whether it is synchronized at all.
 * null when the kernel will not say (seccomp, an old container runtime). */
static void json_clock(struct jsonw *w)
{
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    int st = adjtimex(&tx);
    jsonw_key(w, "clock");
    if (st < 0) {
        jsonw_null(w);
        return;
    }
    jsonw_obj_begin(w);
    jsonw_key(w, "source");
    jsonw_str(w, "adjtimex");
    jsonw_key(w, "synchronized");
    jsonw_bool(w, st != TIME_ERROR && !(tx.status & STA_UNSYNC));
    ki(w, "esterror_ns", (int64_t)tx.esterror * 1000);
    ki(w, "maxerror_ns", (int64_t)tx.maxerror * 1000);
    jsonw_obj_end(w);
}

/* --start-at: sleeps on CLOCK_REALTIME (an NTP step or slew during the wait moves the
 * wake-up with it) until START_LEAD before the instant, in steps of at most 100 ms so a
 * signal ends the wait. Nothing has been sent. 0, ERR_INVALID when the instant passed
 * while the run got ready, ERR_CANCELLED on a signal. */
#define START_LEAD 200000000LL /* threads, pre-connections: ready before the instant */
static int wait_start(struct engine *e, int sfd, struct diag *d)
{
    int64_t at = e->cfg->start_at_real_ns;
    int64_t now = clock_real_ns();
    if (at <= now)
        return diag_set(d, ERR_INVALID,
                        "--start-at: the start passed %.3f s ago, before the run was ready "
                        "(nothing sent)",
                        (double)(now - at) / 1e9);
    int64_t wake = at - START_LEAD;
    while ((now = clock_real_ns()) < wake) {
        int64_t t = wake - now > 100000000 ? now + 100000000 : wake;
        struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
        clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL);
        struct signalfd_siginfo si;
        while (sfd >= 0 && read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
            if (si.ssi_signo != SIGPIPE)
                return diag_set(d, ERR_CANCELLED,
                                "interrupted while waiting for --start-at (nothing sent)");
    }
    e->woke_real = clock_real_ns();
    return 0;
}

struct runinfo {
    char sha[65];
    int64_t started_real, ended_real;
    bool complete, cancelled;
    long sent, completed, errors, cancelled_n, not_sent;
    long rx_kernel, rx_user;
    long sessions_done;
    long writer_waits;         /* times a worker waited for the record writer (back-pressure) */
    const struct scraper *scr; /* telemetry, or NULL */
    const struct netprobe *np; /* network latency probes, or NULL */
    int64_t spin_ns;           /* workers' busy-polling before sends (--spin-us), all together */
    int64_t writer_wait_ns;
    long conns_ahead, conns_at_send, conns_at_send_late; /* struct worker's, summed */
    long conns_opened;
};

static int write_run_json(struct engine *e, const struct runinfo *ri, struct diag *d)
{
    const struct replay_config *cfg = e->cfg;
    struct buf b;
    buf_init(&b, 0);
    struct jsonw w;
    jsonw_init(&w, &b);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "format");
    jsonw_str(&w, "metronome-run");
    ki(&w, "version", 1);
    jsonw_key(&w, "metronome");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "version");
    jsonw_str(&w, METRONOME_VERSION);
    jsonw_key(&w, "git");
    jsonw_str(&w, METRONOME_GIT_HASH);
    jsonw_key(&w, "target");
    jsonw_str(&w, METRONOME_TARGET);
    jsonw_key(&w, "optimize");
    jsonw_str(&w, METRONOME_OPTIMIZE);
    jsonw_obj_end(&w);
    jsonw_key(&w, "anchor");
    jsonw_obj_begin(&w);
    ki(&w, "mono_ns", e->anchor_mono);
    ki(&w, "real_ns", e->anchor_real);
    jsonw_obj_end(&w);
    jsonw_key(&w, "host");
    jsonw_obj_begin(&w);
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    jsonw_key(&w, "hostname");
    jsonw_str(&w, host);
    ki(&w, "cores", sysconf(_SC_NPROCESSORS_ONLN));
    struct utsname u;
    jsonw_key(&w, "kernel");
    jsonw_str(&w, uname(&u) == 0 ? u.release : "");
    jsonw_obj_end(&w);
    jsonw_key(&w, "shard");
    jsonw_obj_begin(&w);
    ki(&w, "index", cfg->shard_index);
    ki(&w, "count", cfg->shard_count);
    if (cfg->concurrency_total)
        ki(&w, "concurrency_total", cfg->concurrency_total);
    jsonw_obj_end(&w);
    /* The common start (--start-at) and where this host's clocks put it: report measures
     * the skew between shards from these and the clocks' error estimates. */
    jsonw_key(&w, "start");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "at_real_ns");
    if (e->start_real)
        jsonw_int(&w, e->start_real);
    else
        jsonw_null(&w);
    jsonw_key(&w, "woke_real_ns");
    if (e->woke_real)
        jsonw_int(&w, e->woke_real);
    else
        jsonw_null(&w);
    jsonw_key(&w, "at_mono_ns"); /* the instant on this host's monotonic clock */
    if (e->start_mono)
        jsonw_int(&w, e->start_mono);
    else
        jsonw_null(&w);
    int64_t t0 = atomic_load(&e->t0);
    jsonw_key(&w, "t0_mono_ns");
    if (t0)
        jsonw_int(&w, t0);
    else
        jsonw_null(&w);
    jsonw_obj_end(&w);
    json_clock(&w);
    jsonw_key(&w, "trace");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "path");
    if (e->src->path)
        jsonw_str(&w, e->src->path);
    else
        jsonw_null(&w);
    jsonw_key(&w, "sha256");
    if (ri->sha[0])
        jsonw_str(&w, ri->sha);
    else
        jsonw_null(&w);
    jsonw_key(&w, "header");
    if (e->src->header && e->src->header->json && e->src->header->json_len)
        jsonw_raw(&w, e->src->header->json, e->src->header->json_len);
    else
        jsonw_null(&w);
    jsonw_obj_end(&w);
    jsonw_key(&w, "config");
    json_config(&w, e);
    ki(&w, "started_real_ns", ri->started_real);
    jsonw_key(&w, "ended_real_ns");
    if (ri->ended_real)
        jsonw_int(&w, ri->ended_real);
    else
        jsonw_null(&w);
    jsonw_key(&w, "complete");
    jsonw_bool(&w, ri->complete);
    jsonw_key(&w, "cancelled");
    jsonw_bool(&w, ri->cancelled);
    jsonw_key(&w, "insecure");
    jsonw_bool(&w, cfg->insecure);
    jsonw_key(&w, "counts");
    jsonw_obj_begin(&w);
    ki(&w, "sent", ri->sent);
    ki(&w, "completed", ri->completed);
    ki(&w, "errors", ri->errors);
    ki(&w, "cancelled", ri->cancelled_n);
    ki(&w, "not_sent", ri->not_sent);
    ki(&w, "reads_kernel_stamped", ri->rx_kernel);
    ki(&w, "reads_user_stamped", ri->rx_user);
    ki(&w, "writer_waits", ri->writer_waits);
    ki(&w, "writer_wait_ns", ri->writer_wait_ns);
    ki(&w, "spin_ns", ri->spin_ns);
    ki(&w, "connections_opened", ri->conns_opened);
    ki(&w, "connections_opened_ahead", ri->conns_ahead);
    ki(&w, "connections_opened_at_send", ri->conns_at_send);
    ki(&w, "connections_opened_at_send_late", ri->conns_at_send_late);
    ki(&w, "request_items_allocated", atomic_load(&e->items_made));
    if (e->src->turns) /* known only when the source counts each session's turns */
        ki(&w, "sessions_completed", ri->sessions_done);
    jsonw_obj_end(&w);
    if (ri->scr) {
        jsonw_key(&w, "telemetry");
        scrape_summary(ri->scr, &w);
    }
    if (ri->np) {
        jsonw_key(&w, "network_latency");
        netprobe_summary(ri->np, &w);
    }
    jsonw_obj_end(&w);
    buf_putc(&b, '\n');
    char path[4096];
    snprintf(path, sizeof path, "%s/run.json", cfg->out_dir);
    int rc = afile_write_all(path, b.p, b.len, d);
    buf_free(&b);
    return rc;
}

/* ---- progress ---- */

static void totals(struct engine *e, struct runinfo *ri, long *active)
{
    ri->sent = ri->completed = ri->errors = ri->cancelled_n = ri->not_sent = 0;
    ri->rx_kernel = ri->rx_user = ri->sessions_done = ri->writer_waits = 0;
    ri->writer_wait_ns = ri->spin_ns = 0;
    ri->conns_ahead = ri->conns_at_send = ri->conns_at_send_late = ri->conns_opened = 0;
    long a = 0;
    for (int i = 0; i < e->nw; i++) {
        struct worker *w = &e->w[i];
        ri->sent += atomic_load(&w->sent);
        ri->completed += atomic_load(&w->completed);
        ri->errors += atomic_load(&w->errors);
        ri->cancelled_n += atomic_load(&w->cancelled);
        ri->not_sent += atomic_load(&w->not_sent);
        ri->rx_kernel += atomic_load_explicit(&w->rx_kernel, memory_order_relaxed);
        ri->rx_user += atomic_load_explicit(&w->rx_user, memory_order_relaxed);
        ri->sessions_done += atomic_load_explicit(&w->sessions_done, memory_order_relaxed);
        ri->writer_waits += atomic_load(&w->writer_waits);
        ri->writer_wait_ns += atomic_load(&w->writer_wait_ns);
        ri->spin_ns += atomic_load_explicit(&w->spin_ns, memory_order_relaxed);
        ri->conns_ahead += atomic_load_explicit(&w->conns_ahead, memory_order_relaxed);
        ri->conns_opened += atomic_load_explicit(&w->conns_opened, memory_order_relaxed);
        ri->conns_at_send += atomic_load_explicit(&w->conns_at_send, memory_order_relaxed);
        ri->conns_at_send_late +=
            atomic_load_explicit(&w->conns_at_send_late, memory_order_relaxed);
        a += atomic_load(&w->active);
    }
    if (active)
        *active = a;
}

/* Width of the progress line: the terminal's (stderr), else COLUMNS, else 80. */
static int progress_width(bool tty)
{
    struct winsize ws;
    if (tty && ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    long v = c ? strtol(c, NULL, 10) : 0;
    return v >= 20 && v <= 10000 ? (int)v : 80;
}

/* One progress line: elapsed time, percent done, ETA, live TTFT / ITL p50 (log-bucketed,
 * within 12.5 %), counts, rate, lateness. Parts are dropped from the least useful until
 * the line fits the width (a terminal line that wraps cannot be rewritten in place).
 * The ETA follows the schedule when there is one: the send deadline of a duration; the
 * last send of a fixed request rate and count; for trace timestamps, the schedule's pace
 * so far (its intended send times, not the completion rate) over the requests still to
 * send; else the completion rate. */
static void progress(struct engine *e, bool tty, bool final, int64_t start)
{
    struct runinfo ri;
    long active;
    totals(e, &ri, &active);
    struct lhist *hs[256], *ht[256], *hi[256];
    int n = e->nw < 256 ? e->nw : 256;
    for (int i = 0; i < n; i++) {
        hs[i] = &e->w[i].late;
        ht[i] = &e->w[i].ttft;
        hi[i] = &e->w[i].itl;
    }
    double p99 = lhist_quantile(hs, n, 0.99);
    double ttft = lhist_quantile(ht, n, 0.5), itl = lhist_quantile(hi, n, 0.5);
    int64_t now = clock_mono_ns();
    double el = (double)(now - start) / 1e9;
    double rate = el > 0 ? (double)ri.completed / el : 0;
    long planned = atomic_load(&e->planned);
    int64_t dl = atomic_load(&e->send_deadline), t0 = atomic_load(&e->t0);
    const struct replay_config *cfg = e->cfg;
    double pct = -1, eta = -1;
    if (dl && t0 && dl > t0) {
        pct = (double)(now - t0) / (double)(dl - t0);
        eta = (double)(dl - now) / 1e9;
    } else if (planned > 0) {
        pct = (double)ri.completed / (double)planned;
        long issued = atomic_load_explicit(&e->sched_issued, memory_order_relaxed);
        int64_t last = atomic_load_explicit(&e->sched_due_last, memory_order_relaxed);
        long whole = cfg->shard_count > 1 ? planned * cfg->shard_count : planned;
        if (cfg->mode == MODE_RATE && cfg->rate > 0 && t0)
            eta = ((double)t0 + (double)whole / cfg->rate * 1e9 - (double)now) / 1e9;
        else if (cfg->mode == MODE_FIXED && issued > 0 && t0 && last > t0)
            eta =
                ((double)t0 + (double)(last - t0) / (double)issued * (double)whole - (double)now) /
                1e9;
        else if (rate > 0)
            eta = (double)(planned - ri.completed) / rate;
        if (eta < 0 && ri.completed < planned)
            eta = 0; /* sent: waiting for the last responses */
    }
    pct = pct > 1 ? 1 : pct;
    char part[10][64];
    int np = 0;
    snprintf(part[np++], 64, "replay: %.0fs", el); /* the parts in the order of priority */
    if (pct >= 0)
        snprintf(part[np++], 64, "%.0f%%", pct * 100);
    if (!final && eta >= 0)
        snprintf(part[np++], 64, "ETA %.0fs", eta);
    if (ttft > 0)
        snprintf(part[np++], 64, "TTFT p50 %.1f ms", ttft / 1e6);
    if (itl > 0)
        snprintf(part[np++], 64, "ITL p50 %.2f ms", itl / 1e6);
    snprintf(part[np++], 64, "done %ld", ri.completed);
    snprintf(part[np++], 64, "%.1f req/s", rate);
    snprintf(part[np++], 64, "errors %ld", ri.errors);
    snprintf(part[np++], 64, "in-flight %ld", active);
    snprintf(part[np++], 64, "lateness p99 %.0f us", p99 / 1e3);
    int width = progress_width(tty) - 1, keep = np;
    for (;;) {
        int len = 0;
        for (int i = 0; i < keep; i++)
            len += (int)strlen(part[i]) + (i ? 2 : 0);
        if (len <= width || keep <= 1)
            break;
        keep--;
    }
    char line[1024];
    size_t off = 0;
    for (int i = 0; i < keep; i++)
        off += (size_t)snprintf(line + off, sizeof line - off, "%s%s", i ? "  " : "", part[i]);
    fprintf(stderr, "%s%s%s", tty ? "\r\033[K" : "", line, tty && !final ? "" : "\n");
    fflush(stderr);
}

/* ---- the run ---- */

/* Whether later turns of the trace expect replay to prepend the conversation so far
 * (header "history":"live"). Without a header (in-process sources) only the requests say,
 * and a first turn's exchange is not kept. */
static bool header_live(const struct trace_header *h)
{
    if (!h || !h->json)
        return false;
    cJSON *j = cJSON_ParseWithLength(h->json, h->json_len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "history");
    bool live = cJSON_IsString(v) && !strcmp(v->valuestring, "live");
    cJSON_Delete(j);
    return live;
}

/* Starts the collector when there is anything to scrape (scrape.h). A bad URL fails the
 * run before it starts; a target that does not answer never does. */
static int start_telemetry(struct engine *e, struct scraper **out, struct diag *d)
{
    const struct replay_config *cfg = e->cfg;
    *out = NULL;
    char **srv = NULL, **gpu = NULL;
    size_t ns = 0, ng = 0;
    int rc = scrape_target_list(cfg->urls, cfg->nurls, cfg->server_metrics,
                                cfg->server_metrics ? cfg->server_metrics_urls : NULL,
                                cfg->server_metrics ? cfg->nserver_metrics_urls : 0, &srv, &ns);
    if (!rc)
        rc = scrape_target_list(NULL, 0, false, cfg->gpu_urls, cfg->ngpu_urls, &gpu, &ng);
    if (rc)
        rc = diag_set(d, ERR_INVALID, "--server-metrics / --gpu-telemetry: URL over 4 KiB");
    if (!rc && ns + ng > 0) {
        struct scrape_config sc = {0};
        sc.server_urls = (const char *const *)srv;
        sc.nserver = ns;
        sc.gpu_urls = (const char *const *)gpu;
        sc.ngpu = ng;
        sc.interval_ns = (int64_t)(cfg->metrics_interval_s * 1e9);
        sc.anchor_mono_ns = e->anchor_mono;
        sc.out_dir = cfg->out_dir;
        sc.zstd_level = 3;
        sc.api_key = cfg->api_key;
        sc.headers = cfg->headers;
        sc.nheaders = cfg->nheaders;
        sc.ca_file = cfg->ca_file;
        sc.insecure = cfg->insecure;
        sc.warn_prefix = "replay";
        rc = scrape_start(&sc, out, d);
    }
    scrape_urls_free(srv, ns);
    scrape_urls_free(gpu, ng);
    return rc;
}

/* --network-latency-automatic: one probe target per distinct host:port of the --url
 * list, at the address the workers resolved (AIPerf 0.13 probes each endpoint's host:port,
 * resolved once). Called when the profiling phase starts, as AIPerf starts its probes at
 * PROFILE_START. A prober that cannot start costs a warning, not the run. */
static struct netprobe *start_netprobe(struct engine *e)
{
    const struct replay_config *cfg = e->cfg;
    struct netprobe_target *t = xcalloc(NETPROBE_MAX_TARGETS, sizeof *t);
    size_t n = 0;
    for (int i = 0; i < e->ntargets && n < NETPROBE_MAX_TARGETS; i++) {
        const struct url *u = &e->targets[i].url;
        const struct addrinfo *ai = e->targets[i].ai;
        if (!ai || ai->ai_addrlen > sizeof t[n].addr)
            continue;
        int port = (int)strtol(u->port, NULL, 10); /* url_parse checked it */
        bool dup = false;
        for (size_t k = 0; k < n; k++)
            dup |= t[k].port == port && !strcmp(t[k].host, u->host);
        if (dup)
            continue;
        /* redacted: scheme, authority and base path, never the userinfo */
        snprintf(t[n].url, sizeof t[n].url, "%s://%s%s", u->tls ? "https" : "http", u->authority,
                 u->path);
        snprintf(t[n].host, sizeof t[n].host, "%s", u->host);
        t[n].port = port;
        memcpy(&t[n].addr, ai->ai_addr, ai->ai_addrlen);
        t[n].addrlen = ai->ai_addrlen;
        n++;
    }
    struct netprobe_config nc = {.targets = t,
                                 .ntargets = n,
                                 .interval_ns = (int64_t)(cfg->net_ping_interval_s * 1e9),
                                 .anchor_mono_ns = e->anchor_mono,
                                 .out_dir = cfg->out_dir};
    if (nc.interval_ns < 1)
        nc.interval_ns = 1;
    struct netprobe *np = NULL;
    struct diag d;
    if (netprobe_start(&nc, &np, &d))
        fprintf(stderr, "replay: warning: %s\n", d.msg);
    free(t);
    return np;
}

int replay_run(const struct replay_config *cfg, struct replay_source *src,
               struct replay_result *res, struct diag *d)
{
    struct engine *e = xcalloc(1, sizeof *e);
    e->cfg = cfg;
    e->src = src;
    e->redact = cfg->redact_headers;
    e->nredact = cfg->nredact;
    e->sched_evfd = -1;
    e->resolve_evfd = -1;
    e->writer_evfd = -1;
    e->warm_block = cfg->mode == MODE_FIXED && src->header && src->header->warmup_requests > 0;
    long planned = cfg->request_count > 0 ? cfg->request_count
                   : src->header          ? src->header->requests - src->header->warmup_requests
                                          : -1;
    if (planned > 0 && cfg->shard_count > 1) /* about this shard's part (for the ETA) */
        planned = (planned + cfg->shard_count - 1) / cfg->shard_count;
    atomic_store(&e->planned, planned);
    e->multi_turn = !src->header || src->header->requests > src->header->sessions;
    e->live_history = e->multi_turn && cfg->endpoint == EP_CHAT && header_live(src->header);
    struct runinfo ri = {0};
    /* kept open for the run: the first responses are stamped too */
    int stamp_fd = cfg->kernel_stamps ? rxstamp_warm() : -1;
    int rc = setup_targets(e, cfg, d);
    if (!rc)
        rc = preflight_limits(cfg, d);
    /* --wait-for-model-*: the server may still be loading; the preflight comes after */
    if (!rc)
        rc = control_wait_ready(e, d);
    if (!rc && cfg->preflight)
        rc = preflight_connect(e, d);
    /* --reset-kv-cache: once, before anything is sent (and before warmup, as AIPerf 0.13);
     * a failure ends the run before it starts, with nothing written. */
    if (!rc && cfg->reset_path) {
        rc = control_post(e, "--reset-kv-cache", cfg->reset_path, cfg->reset_timeout_s, true, false,
                          d);
        if (!rc && cfg->progress)
            fprintf(stderr, "replay: reset the KV cache (POST %s)\n", cfg->reset_path);
    }
    if (!rc)
        rc = zio_mkdir_p(cfg->out_dir, d);
    sigset_t mask, old;
    int sfd = -1;
    if (!rc && cfg->handle_signals) {
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &mask, &old);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    }
    if (!rc) {
        if (src->path)
            sha256_file(src->path, ri.sha);
        /* Shards draw the same arrival gaps and cancellations: without --random-seed the
         * seed comes from the trace they share. */
        e->seed = cfg->seed_set          ? cfg->seed
                  : cfg->shard_count > 1 ? hash64_str(ri.sha)
                                         : (uint64_t)clock_real_ns();
        if (cfg->start_at_real_ns) {
            e->start_real = cfg->start_at_real_ns;
            rc = wait_start(e, sfd, d);
        }
    }
    if (!rc) {
        struct clock_anchor an = clock_anchor_now();
        e->anchor_mono = an.mono_ns;
        e->anchor_real = an.real_ns;
        ri.started_real = an.real_ns;
        /* The anchor pair read just now converts the instant to this host's monotonic
         * clock; from here on only the monotonic clock times anything. */
        if (e->start_real)
            e->start_mono = an.mono_ns + (e->start_real - an.real_ns);
        rc = write_run_json(e, &ri, d);
    }
    char rpath[4096];
    snprintf(rpath, sizeof rpath, "%s/records.jsonl.zst", cfg->out_dir);
    if (!rc)
        rc = zw_open(&e->zw, rpath, ZW_FRAMED, cfg->zstd_level, d);
    struct scraper *scr = NULL;
    if (!rc)
        rc = start_telemetry(e, &scr, d);
    int nw = cfg->workers > 0 ? cfg->workers : 1;
    /* Every worker needs at least one slot of the concurrency (a worker with none would
     * be unlimited). */
    /* closed loop: as many slots as the larger of the two phases' concurrency (each
     * phase opens its own number of them, e->level) */
    long slots_total = cfg->concurrency;
    if (cfg->mode == MODE_CONCURRENCY && cfg->warmup_concurrency > slots_total)
        slots_total = cfg->warmup_concurrency;
    if (slots_total > 0 && slots_total < nw)
        nw = (int)slots_total;
    e->nw = nw;
    e->w = xcalloc((size_t)nw, sizeof *e->w);
    for (int i = 0; i < nw; i++)
        e->w[i].ep = e->w[i].evfd = e->w[i].tfd = -1;
    int started = 0;
    if (!rc) {
        e->sched_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        long cap = cfg->mode == MODE_CONCURRENCY ? slots_total : 0;
        e->gcap = cfg->mode != MODE_CONCURRENCY ? cfg->concurrency : 0;
        for (int i = 0; i < nw && !rc; i++) {
            rc = worker_init(&e->w[i], e, i, d);
            if (cap > 0)
                e->w[i].slots = cap / nw + (i < cap % nw ? 1 : 0);
            if (cfg->preconnect)
                atomic_fetch_add(&e->preconnecting, preconnect_count(&e->w[i]) * e->ntargets);
        }
    }
    pthread_t sched_th = 0, writer_th = 0, resolver_th = 0;
    if (!rc) {
        e->resolve_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (e->resolve_evfd >= 0 && pthread_create(&resolver_th, NULL, resolver_main, e) == 0)
            pthread_setname_np(resolver_th, "replay-resolve");
        else
            resolver_th = 0; /* workers then keep the start-time addresses */
        for (int i = 0; i < nw; i++) {
            if (pthread_create(&e->w[i].th, NULL, worker_main, &e->w[i]) == 0) {
                char name[16];
                snprintf(name, sizeof name, "replay-w%d", i);
                pthread_setname_np(e->w[i].th, name); /* top -H, perf, gdb */
                started++;
            }
        }
        e->writer_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (pthread_create(&writer_th, NULL, writer_main, e) == 0) {
            pthread_setname_np(writer_th, "replay-writer");
        } else {
            writer_th = 0;
            atomic_store(&e->no_writer, 1); /* workers must not wait for it */
            if (!e->zw_err)
                e->zw_err = ERR_IO; /* the records cannot be written: the run says so */
        }
        pthread_create(&sched_th, NULL, sched_main, e);
        pthread_setname_np(sched_th, "replay-sched");
    }
    int64_t start = clock_mono_ns();
    bool interrupted = false;
    struct netprobe *np = NULL;
    bool np_tried = false;
    if (!rc) {
        bool tty = cfg->progress && isatty(2);
        int64_t period = tty ? 1000000000 : 10000000000;
        int64_t next_progress = start + period;
        int64_t drain_deadline = 0;
        int sigs = 0;
        for (;;) {
            struct pollfd p = {.fd = sfd, .events = POLLIN};
            poll(&p, sfd >= 0 ? 1 : 0, 50);
            int64_t now = clock_mono_ns();
            if (cfg->net_probe && !np_tried && atomic_load(&e->t0)) {
                np_tried = true; /* the profiling phase has begun */
                np = start_netprobe(e);
            }
            if (sfd >= 0 && (p.revents & POLLIN)) {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                    if (si.ssi_signo == SIGPIPE)
                        continue;
                    sigs++;
                    interrupted = true;
                    if (sigs == 1) {
                        if (cfg->progress)
                            fprintf(stderr,
                                    "%sreplay: interrupted: no new requests; waiting up to %.0f "
                                    "s for %s in flight (Ctrl-C again to stop now)\n",
                                    tty ? "\r\033[K" : "", cfg->drain_s, "requests");
                        atomic_store(&e->stop, 1);
                        drain_deadline = now + (int64_t)(cfg->drain_s * 1e9);
                    } else {
                        atomic_store(&e->stop, 2);
                    }
                    for (int i = 0; i < nw; i++)
                        worker_wake(&e->w[i]);
                }
            }
            if (atomic_load(&e->failed) && atomic_load(&e->stop) < 2) {
                atomic_store(&e->stop, 2);
                for (int i = 0; i < nw; i++)
                    worker_wake(&e->w[i]);
            }
            if (drain_deadline && now >= drain_deadline && atomic_load(&e->stop) < 2) {
                atomic_store(&e->stop, 2);
                for (int i = 0; i < nw; i++)
                    worker_wake(&e->w[i]);
            }
            int64_t sdl = atomic_load(&e->send_deadline);
            if (sdl && atomic_load(&e->sched_done) && atomic_load(&e->stop) == 0 &&
                now >= sdl + (int64_t)(cfg->grace_s * 1e9)) {
                atomic_store(&e->stop, 3);
                for (int i = 0; i < nw; i++)
                    worker_wake(&e->w[i]);
            }
            if (atomic_load(&e->sched_done) && atomic_load(&e->outstanding) == 0)
                break;
            if (atomic_load(&e->stop) >= 2 && atomic_load(&e->sched_done)) {
                /* Give the workers a moment to record their cancellations. */
                bool idle = true;
                for (int i = 0; i < nw; i++)
                    if (atomic_load(&e->w[i].active))
                        idle = false;
                if (idle)
                    break;
            }
            if (cfg->progress && now >= next_progress) {
                progress(e, tty, false, start);
                next_progress = now + period;
            }
        }
        if (cfg->progress)
            progress(e, tty, true, start);
    }
    atomic_store(&e->finish, 1);
    for (int i = 0; i < started; i++) {
        worker_wake(&e->w[i]);
        pthread_join(e->w[i].th, NULL);
    }
    if (sched_th) {
        atomic_store(&e->stop, atomic_load(&e->stop) ? atomic_load(&e->stop) : 1);
        pthread_join(sched_th, NULL);
    }
    if (writer_th) {
        atomic_store(&e->writer_stop, 1);
        pthread_join(writer_th, NULL);
    }
    /* The resolver may be inside a slow getaddrinfo: it is not waited for beyond a moment.
     * If it is still there, the engine it reads is left allocated (freed with the process)
     * rather than freed under it. */
    bool resolver_left = true;
    if (resolver_th) {
        uint64_t one = 1;
        ssize_t k = write(e->resolve_evfd, &one, sizeof one);
        (void)k;
        for (int i = 0; i < 100 && !atomic_load(&e->resolver_done); i++)
            usleep(1000);
        if (atomic_load(&e->resolver_done))
            pthread_join(resolver_th, NULL);
        else {
            pthread_detach(resolver_th);
            resolver_left = false;
        }
    }
    /* --server-profiler: stopped once the profiling requests are done; as in AIPerf 0.13 a
     * failed stop is a warning, not the run's failure. */
    if (atomic_load(&e->profiler_started)) {
        struct diag d5;
        if (control_post(e, "--server-profiler stop", cfg->profiler_stop_path,
                         cfg->profiler_timeout_s, false, true, &d5))
            fprintf(stderr, "replay: warning: %s\n", d5.msg);
    }
    /* a run that ended within one poll of its profiling start still gets its probes (the
     * top-up) */
    if (cfg->net_probe && !np_tried && atomic_load(&e->t0))
        np = start_netprobe(e);
    if (np) {
        struct diag d6;
        if (netprobe_stop(np, &d6)) /* the probes are lost, not the run */
            fprintf(stderr, "replay: warning: %s\n", d6.msg);
        ri.np = np;
    }
    if (scr) {
        struct diag d4;
        int rc4 = scrape_stop(scr, &d4);
        if (rc4 && cfg->progress) /* the samples are lost, not the run */
            fprintf(stderr, "replay: warning: %s\n", d4.msg);
        ri.scr = scr;
    }
    totals(e, &ri, NULL);
    double run_s = (double)(clock_mono_ns() - start) / 1e9;
    if (ri.spin_ns > 0 && cfg->progress && run_s > 0)
        fprintf(stderr,
                "replay: the workers busy-polled %.2f s in all before sends (--spin-us %.0f): %.0f "
                "%% of a core over the run (run.json counts.spin_ns; --spin-us 0 turns it off)\n",
                (double)ri.spin_ns / 1e9, (double)cfg->spin_ns / 1e3,
                (double)ri.spin_ns / 1e9 / run_s * 100);
    if (ri.writer_waits && cfg->progress)
        fprintf(stderr,
                "replay: workers waited %.3f s in all (%ld times) for the record writer: the disk "
                "or the CPU did not keep up with the records (run.json counts.writer_wait_ns)\n",
                (double)ri.writer_wait_ns / 1e9, ri.writer_waits);
    if (e->zw) {
        struct diag d2;
        int rc2 = e->zw_err ? e->zw_err : 0;
        if (rc2) {
            diag_at(d, ERR_IO, rpath, 0, "cannot write records: %s", zw_strerror(e->zw));
            zw_abort(e->zw);
        } else {
            rc2 = zw_commit(e->zw, &d2);
            if (rc2 && !rc)
                *d = d2;
        }
        if (rc2 && !rc)
            rc = rc2;
    }
    if (atomic_load(&e->failed) && !rc)
        rc = diag_set(d, ERR_PARSE, "%s", e->errmsg);
    if (ri.started_real) {
        ri.ended_real = clock_real_ns();
        ri.complete = rc == 0;
        /* a failed profiler start is the run's failure (AIPerf: profiling does not begin),
         * not a cancellation to report on */
        bool threshold_hit = atomic_load(&e->thr_hit);
        ri.cancelled = interrupted || threshold_hit ||
                       (atomic_load(&e->failed) && !atomic_load(&e->hook_failed));
        struct diag d3;
        int rc3 = write_run_json(e, &ri, &d3);
        if (rc3 && !rc) {
            rc = rc3;
            *d = d3;
        }
    }
    scrape_free(scr);
    ri.scr = NULL;
    netprobe_free(np);
    ri.np = NULL;
    if (res) {
        memset(res, 0, sizeof *res);
        res->sent = ri.sent;
        res->completed = ri.completed;
        res->errors = ri.errors;
        res->cancelled = ri.cancelled_n;
        res->not_sent = ri.not_sent;
        res->interrupted = interrupted;
        res->threshold_hit = atomic_load(&e->thr_hit);
        res->prof_records = atomic_load(&e->thr_records);
        res->prof_errors = atomic_load(&e->thr_errors);
        res->duration_ns = clock_mono_ns() - start;
        struct lhist *hs[256];
        int n = nw < 256 ? nw : 256;
        for (int i = 0; i < n; i++)
            hs[i] = &e->w[i].late;
        res->lateness_p50_ns = lhist_quantile(hs, n, 0.5);
        res->lateness_p99_ns = lhist_quantile(hs, n, 0.99);
        res->lateness_max_ns = lhist_quantile(hs, n, 1.0);
        if (atomic_load(&e->first_err_taken))
            snprintf(res->first_error, sizeof res->first_error, "%s", e->first_err);
    }
    for (int i = 0; i < nw; i++)
        if (e->w[i].priv || e->w[i].ring)
            worker_free(&e->w[i]);
    free(e->w);
    if (e->tls)
        tls_config_free(e->tls);
    if (e->sched_evfd >= 0)
        close(e->sched_evfd);
    if (e->writer_evfd >= 0)
        close(e->writer_evfd);
    if (stamp_fd >= 0)
        close(stamp_fd);
    if (sfd >= 0) {
        close(sfd);
        /* Pending signals stay blocked-and-consumed; restore the caller's mask. */
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (!resolver_left)
        return rc;
    resolver_free(e);
    if (e->resolve_evfd >= 0)
        close(e->resolve_evfd);
    for (int i = 0; e->targets && i < e->ntargets; i++) {
        buf_free(&e->targets[i].prefix[0]);
        buf_free(&e->targets[i].prefix[1]);
        if (e->targets[i].ai)
            freeaddrinfo(e->targets[i].ai);
    }
    free(e->targets);
    free(e);
    return rc;
}
