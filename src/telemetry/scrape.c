/*
 * The telemetry collector (contract in include/scrape.h). One thread, one poll() loop over
 * every target's nonblocking socket, each scrape a small state machine: connect, TLS
 * handshake, send a GET, read the response through http1_rx and the body straight into
 * the Prometheus parser, whose samples are encoded into one JSON line per scrape. A new
 * connection per scrape ("Connection: close"): at one scrape a second the cost is a few
 * microseconds, and nothing has to detect a keep-alive connection the server dropped.
 */
#include "scrape.h"

#include "buf.h"
#include "clock.h"
#include "endpoint.h"
#include "http1.h"
#include "prom.h"
#include "tls.h"
#include "xalloc.h"
#include "zio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "build_info.h"

#define RBUF        (64 * 1024)
#define FINAL_NS    (2LL * 1000000000LL)
#define DEFAULT_INT (1000000000LL)

enum tstate { T_IDLE, T_CONNECTING, T_HANDSHAKE, T_SENDING, T_READING };

struct target {
    enum scrape_kind kind;
    char *shown; /* owned: the URL redacted, for warnings and the file */
    struct url u;
    struct buf req; /* the request bytes, built once */
    struct addrinfo *ai;
    const struct addrinfo *cur; /* the address being tried */
    enum tstate st;
    int fd;
    struct tls_session *tls;
    short want; /* poll events */
    int64_t t_start, deadline;
    int64_t t_first; /* the first response byte arrived (0: not yet) */
    size_t sent, body_bytes;
    struct buf head;
    struct http1_rx rx;
    struct http1_response resp;
    struct prom_parser pp;
    struct buf out; /* samples of the scrape in progress, JSON */
    struct buf fams;
    char lastfam[256];
    size_t lastfam_len;
    bool first_sample;
    /* counts (read by scrape_summary after the thread ended) */
    uint64_t ok, failed, skipped, samples;
    char last_error[200];
    bool warned;
};

struct scraper {
    struct scrape_config cfg;
    struct target *t;
    size_t nt;
    struct tls_config *tls;
    struct zwriter *zw;
    int zw_err;
    int evfd;
    pthread_t th;
    bool started;
    _Atomic int stop;
    _Atomic int first_done; /* the first round is over (scrape_start waits for it) */
    char *rbuf;
    struct buf line;
    char *file_path;
};

int scrape_normalize_url(const char *in, bool add_metrics, char *out, size_t cap)
{
    const char *scheme = strstr(in, "://") ? "" : "http://";
    size_t n = strlen(in);
    while (n > 0 && in[n - 1] == '/')
        n--;
    bool has = n >= 8 && memcmp(in + n - 8, "/metrics", 8) == 0;
    const char *q = memchr(in, '?', n);
    if (q)
        has = true; /* a query: the path is the user's, taken as given */
    int k =
        snprintf(out, cap, "%s%.*s%s", scheme, (int)n, in, add_metrics && !has ? "/metrics" : "");
    return k < 0 || (size_t)k >= cap ? ERR_TOO_LARGE : 0;
}

static int push_url(char ***v, size_t *n, const char *u, size_t len)
{
    char tmp[4096], norm[4200];
    if (len >= sizeof tmp)
        return ERR_TOO_LARGE;
    memcpy(tmp, u, len);
    tmp[len] = '\0';
    if (scrape_normalize_url(tmp, true, norm, sizeof norm))
        return ERR_TOO_LARGE;
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i], norm) == 0)
            return 0;
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = xstrdup(norm);
    return 0;
}

int scrape_target_list(const char *const *req_urls, size_t nreq, bool from_requests,
                       const char *const *more, size_t nmore, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    int rc = 0;
    for (size_t i = 0; from_requests && i < nreq && !rc; i++)
        rc = push_url(out, n, req_urls[i], strcspn(req_urls[i], "?#"));
    for (size_t i = 0; i < nmore && !rc; i++)
        rc = push_url(out, n, more[i], strlen(more[i]));
    if (rc) {
        scrape_urls_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void scrape_urls_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- one scrape ------------------------------------------------------------------------ */

static void close_conn(struct target *t)
{
    if (t->tls) {
        tls_session_free(t->tls);
        t->tls = NULL;
    }
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
    t->st = T_IDLE;
}

static void put_line(struct scraper *s, const struct buf *b)
{
    if (s->zw_err)
        return;
    int rc = zw_write(s->zw, b->p, b->len);
    if (rc)
        s->zw_err = rc;
}

static void fail(struct scraper *s, struct target *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct scraper *s, struct target *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->last_error, sizeof t->last_error, fmt, ap);
    va_end(ap);
    close_conn(t);
    t->failed++;
    if (!t->warned) {
        t->warned = true;
        fprintf(stderr,
                "%s: warning: %s metrics %s: %s (the run goes on; failures are counted in "
                "run.json telemetry)\n",
                s->cfg.warn_prefix ? s->cfg.warn_prefix : "replay",
                t->kind == SCRAPE_GPU ? "GPU" : "server", t->shown, t->last_error);
    }
    struct buf *l = &s->line;
    buf_reset(l);
    buf_printf(l, "{\"target\":%zu,\"t_ns\":%lld,\"end_ns\":%lld,\"error\":", (size_t)(t - s->t),
               (long long)(t->t_start - s->cfg.anchor_mono_ns),
               (long long)(clock_mono_ns() - s->cfg.anchor_mono_ns));
    json_escape(l, t->last_error, strlen(t->last_error));
    buf_puts(l, "}\n");
    put_line(s, l);
}

static void json_num(struct buf *b, double v)
{
    if (isnan(v))
        buf_puts(b, "\"NaN\"");
    else if (isinf(v))
        buf_puts(b, v > 0 ? "\"+Inf\"" : "\"-Inf\"");
    else {
        char tmp[40];
        int n = json_format_double(tmp, v);
        buf_append(b, tmp, (size_t)n);
    }
}

/* Encodes one sample as ["name",{"label":"value",...},value] and, at the first sample of
 * a family, the family's type and help. */
static int on_sample(void *ctx, const struct prom_sample *ps)
{
    struct target *t = ctx;
    struct buf *o = &t->out;
    if (!(ps->family_len == t->lastfam_len &&
          memcmp(ps->family, t->lastfam, ps->family_len) == 0)) {
        if (t->fams.len > 1)
            buf_putc(&t->fams, ',');
        json_escape(&t->fams, ps->family, ps->family_len);
        buf_printf(&t->fams, ":[\"%s\",", prom_type_name(ps->type));
        json_escape(&t->fams, ps->help, ps->help_len);
        buf_putc(&t->fams, ']');
        size_t n = ps->family_len < sizeof t->lastfam ? ps->family_len : sizeof t->lastfam - 1;
        memcpy(t->lastfam, ps->family, n);
        t->lastfam_len = n;
    }
    if (!t->first_sample)
        buf_putc(o, ',');
    t->first_sample = false;
    buf_putc(o, '[');
    json_escape(o, ps->name, ps->name_len);
    buf_puts(o, ",{");
    for (size_t i = 0; i < ps->nlabels; i++) {
        if (i)
            buf_putc(o, ',');
        json_escape(o, ps->labels[i].name, ps->labels[i].name_len);
        buf_putc(o, ':');
        json_escape(o, ps->labels[i].value, ps->labels[i].value_len);
    }
    buf_puts(o, "},");
    json_num(o, ps->value);
    buf_putc(o, ']');
    /* A sample adds at most ~6 x the 64 KiB line cap (JSON escapes): the check after it
     * bounds the buffers at the cap plus that. */
    return o->len + t->fams.len > SCRAPE_MAX_OUT ? ERR_TOO_LARGE : 0;
}

static void complete(struct scraper *s, struct target *t)
{
    struct buf *l = &s->line;
    buf_reset(l);
    buf_printf(l,
               "{\"target\":%zu,\"t_ns\":%lld,\"first_ns\":%lld,\"end_ns\":%lld,\"status\":%d,"
               "\"bytes\":%zu,\"families\":%s},\"samples\":[",
               (size_t)(t - s->t), (long long)(t->t_start - s->cfg.anchor_mono_ns),
               (long long)(t->t_first - s->cfg.anchor_mono_ns),
               (long long)(clock_mono_ns() - s->cfg.anchor_mono_ns), t->resp.status, t->body_bytes,
               t->fams.p);
    buf_append(l, t->out.p ? t->out.p : "", t->out.len);
    buf_puts(l, "]}\n");
    put_line(s, l);
    t->ok++;
    t->samples += t->pp.samples;
    close_conn(t);
}

/* Connects to t->cur; on failure moves to the next address ("localhost" is ::1 and
 * 127.0.0.1, and a server listens on one of them). */
static void connect_cur(struct scraper *s, struct target *t)
{
    for (; t->cur; t->cur = t->cur->ai_next) {
        t->fd = socket(t->cur->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (t->fd < 0)
            continue;
        if (connect(t->fd, t->cur->ai_addr, t->cur->ai_addrlen) == 0 || errno == EINPROGRESS) {
            t->st = T_CONNECTING;
            t->want = POLLOUT;
            return;
        }
        close(t->fd);
        t->fd = -1;
    }
    fail(s, t, "connect: %s", strerror(errno));
}

static void start(struct scraper *s, struct target *t, int64_t now)
{
    t->t_start = now;
    t->t_first = 0;
    t->deadline = now + SCRAPE_TIMEOUT_NS;
    t->sent = t->body_bytes = 0;
    buf_reset(&t->out);
    buf_reset(&t->fams);
    buf_putc(&t->fams, '{');
    t->lastfam_len = 0;
    t->first_sample = true;
    if (!t->ai) {
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        int g = getaddrinfo(t->u.host, t->u.port, &hints, &t->ai);
        if (g != 0) {
            t->ai = NULL;
            fail(s, t, "cannot resolve %s: %s", t->u.host, gai_strerror(g));
            return;
        }
    }
    t->cur = t->ai;
    connect_cur(s, t);
}

static void feed(struct scraper *s, struct target *t, const char *p, size_t n)
{
    for (;;) {
        const char *data = NULL;
        size_t dlen = 0;
        enum http1_rx_event ev = http1_rx_feed(&t->rx, &t->resp, &p, &n, &data, &dlen);
        switch (ev) {
        case HTTP1_RX_MORE:
            return;
        case HTTP1_RX_HEAD:
            if (t->resp.status != 200) {
                fail(s, t, "HTTP %d", t->resp.status);
                return;
            }
            prom_parser_reset(&t->pp,
                              prom_dialect_of(t->resp.content_type,
                                              t->resp.content_type ? t->resp.content_type_len : 0));
            break;
        case HTTP1_RX_DATA: {
            t->body_bytes += dlen;
            if (t->body_bytes > SCRAPE_MAX_BODY) {
                fail(s, t, "body longer than %zu MiB", SCRAPE_MAX_BODY >> 20);
                return;
            }
            int rc = prom_parser_feed(&t->pp, data, dlen, on_sample, t);
            if (rc) {
                fail(s, t, "line %llu: %s", (unsigned long long)t->pp.error_line, t->pp.error_msg);
                return;
            }
            break;
        }
        case HTTP1_RX_DONE: {
            int rc = prom_parser_finish(&t->pp, on_sample, t);
            if (rc)
                fail(s, t, "line %llu: %s", (unsigned long long)t->pp.error_line, t->pp.error_msg);
            else
                complete(s, t);
            return;
        }
        case HTTP1_RX_ERROR:
            fail(s, t, "%s", http1_rx_error_text(t->rx.error));
            return;
        }
    }
}

static void step(struct scraper *s, struct target *t, short revents)
{
    if (t->st == T_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            close(t->fd);
            t->fd = -1;
            if (t->cur && t->cur->ai_next) {
                t->cur = t->cur->ai_next;
                connect_cur(s, t);
                return;
            }
            fail(s, t, "connect: %s", strerror(err));
            return;
        }
        if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
            return;
        if (t->u.tls) {
            if (tls_session_new(&t->tls, s->tls, t->fd, t->u.host) != 0) {
                fail(s, t, "TLS session could not be made");
                return;
            }
            t->st = T_HANDSHAKE;
        } else {
            t->st = T_SENDING;
        }
    }
    if (t->st == T_HANDSHAKE) {
        int r = tls_handshake(t->tls);
        if (r == TLS_WANT_READ || r == TLS_WANT_WRITE) {
            t->want = r == TLS_WANT_READ ? POLLIN : POLLOUT;
            return;
        }
        if (r != 0) {
            fail(s, t, "TLS: %s", tls_session_error(t->tls));
            return;
        }
        t->st = T_SENDING;
    }
    if (t->st == T_SENDING) {
        while (t->sent < t->req.len) {
            const char *p = t->req.p + t->sent;
            size_t n = t->req.len - t->sent;
            long k;
            if (t->tls) {
                k = tls_write(t->tls, p, n);
                if (k == TLS_WANT_READ || k == TLS_WANT_WRITE) {
                    t->want = k == TLS_WANT_READ ? POLLIN : POLLOUT;
                    return;
                }
            } else {
                k = send(t->fd, p, n, MSG_NOSIGNAL);
                if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
                    t->want = POLLOUT;
                    return;
                }
            }
            if (k <= 0) {
                fail(s, t, "send: %s", t->tls ? tls_session_error(t->tls) : strerror(errno));
                return;
            }
            t->sent += (size_t)k;
        }
        t->st = T_READING;
        t->want = POLLIN;
        http1_rx_init(&t->rx, &t->head, false);
    }
    if (t->st == T_READING) {
        /* at most 256 KiB per wake-up, so one flooding target cannot starve the others */
        for (int rounds = 0; rounds < 4 && t->st == T_READING; rounds++) {
            long k;
            if (t->tls) {
                k = tls_read(t->tls, s->rbuf, RBUF);
                if (k == TLS_WANT_READ || k == TLS_WANT_WRITE) {
                    t->want = k == TLS_WANT_READ ? POLLIN : POLLOUT;
                    return;
                }
                if (k < 0) {
                    fail(s, t, "TLS: %s", tls_session_error(t->tls));
                    return;
                }
            } else {
                k = recv(t->fd, s->rbuf, RBUF, 0);
                if (k < 0 && (errno == EAGAIN || errno == EINTR))
                    return;
                if (k < 0) {
                    fail(s, t, "recv: %s", strerror(errno));
                    return;
                }
            }
            if (k == 0) {
                enum http1_rx_event ev = http1_rx_eof(&t->rx);
                if (ev == HTTP1_RX_DONE) {
                    int rc = prom_parser_finish(&t->pp, on_sample, t);
                    if (rc)
                        fail(s, t, "line %llu: %s", (unsigned long long)t->pp.error_line,
                             t->pp.error_msg);
                    else
                        complete(s, t);
                } else {
                    fail(s, t, "%s", http1_rx_error_text(t->rx.error));
                }
                return;
            }
            if (!t->t_first)
                t->t_first = clock_mono_ns();
            feed(s, t, s->rbuf, (size_t)k);
        }
    }
}

/* ---- the thread ------------------------------------------------------------------------ */

static void end_round(struct scraper *s)
{
    if (!s->zw_err) {
        int rc = zw_end_frame(s->zw);
        if (rc)
            s->zw_err = rc;
    }
}

static void *scrape_main(void *arg)
{
    struct scraper *s = arg;
    /* Below the replay workers, whose timestamps matter more than a scrape's. */
    setpriority(PRIO_PROCESS, (id_t)gettid(), 5);
    int64_t interval = s->cfg.interval_ns > 0 ? s->cfg.interval_ns : DEFAULT_INT;
    int64_t next_tick = clock_mono_ns();
    int64_t final_deadline = 0;
    struct pollfd *pf = xcalloc(s->nt + 1, sizeof *pf);
    size_t *idx = xcalloc(s->nt + 1, sizeof *idx);
    bool dirty = false;
    for (;;) {
        int64_t now = clock_mono_ns();
        bool stopping = atomic_load(&s->stop);
        if (stopping && !final_deadline) {
            /* one last round, so counters cover the whole run */
            final_deadline = now + FINAL_NS;
            for (size_t i = 0; i < s->nt; i++) {
                if (s->t[i].st == T_IDLE)
                    start(s, &s->t[i], now);
                if (s->t[i].deadline > final_deadline)
                    s->t[i].deadline = final_deadline;
            }
            dirty = true;
        } else if (!stopping && now >= next_tick) {
            for (size_t i = 0; i < s->nt; i++) {
                if (s->t[i].st != T_IDLE)
                    s->t[i].skipped++;
                else
                    start(s, &s->t[i], now);
            }
            while (next_tick <= now)
                next_tick += interval;
            end_round(s); /* the previous round's lines become one crash-safe frame */
            dirty = true;
        }
        int64_t wake = final_deadline ? final_deadline : next_tick;
        size_t np = 0;
        for (size_t i = 0; i < s->nt; i++) {
            struct target *t = &s->t[i];
            if (t->st == T_IDLE)
                continue;
            if (now >= t->deadline) {
                fail(s, t, "no complete answer within %.0f s",
                     (double)(t->deadline - t->t_start) / 1e9);
                continue;
            }
            if (t->deadline < wake)
                wake = t->deadline;
            pf[np].fd = t->fd;
            pf[np].events = t->want;
            pf[np].revents = 0;
            idx[np++] = i;
        }
        if (np == 0 && !atomic_load(&s->first_done))
            atomic_store(&s->first_done, 1);
        if (final_deadline && np == 0)
            break;
        pf[np].fd = s->evfd;
        pf[np].events = POLLIN;
        pf[np].revents = 0;
        int64_t ms = (wake - now + 999999) / 1000000;
        if (ms < 0)
            ms = 0;
        int r = poll(pf, np + 1, (int)(ms > 60000 ? 60000 : ms));
        if (r <= 0)
            continue;
        if (pf[np].revents & POLLIN) {
            uint64_t v;
            ssize_t k = read(s->evfd, &v, sizeof v);
            (void)k;
        }
        for (size_t j = 0; j < np; j++)
            if (pf[j].revents)
                step(s, &s->t[idx[j]], pf[j].revents);
    }
    if (dirty)
        end_round(s);
    free(pf);
    free(idx);
    return NULL;
}

/* ---- start / stop ---------------------------------------------------------------------- */

static int add_target(struct scraper *s, enum scrape_kind kind, const char *url, struct diag *d)
{
    struct target *t = &s->t[s->nt];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->fd = -1;
    char full[4096];
    if (scrape_normalize_url(url, true, full, sizeof full))
        return diag_set(d, ERR_INVALID, "--%s: URL too long",
                        kind == SCRAPE_GPU ? "gpu-telemetry" : "server-metrics");
    int rc = url_parse(full, &t->u, d);
    if (rc)
        return rc;
    struct buf b;
    buf_init(&b, 0);
    url_redact(full, strlen(full), &b);
    t->shown = buf_release(&b);
    s->nt++;
    char path[URL_PATH_MAX + URL_QUERY_MAX + 2];
    snprintf(path, sizeof path, "%s%s%s", t->u.path[0] ? t->u.path : "/", t->u.query[0] ? "?" : "",
             t->u.query);
    buf_init(&t->req, 0);
    buf_printf(&t->req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", path,
               t->u.authority);
    if (kind == SCRAPE_SERVER) {
        /* the requests' own auth: a /metrics page behind the same gateway needs it */
        rc = endpoint_headers(&t->req, false, s->cfg.api_key,
                              t->u.has_userinfo ? t->u.userinfo : NULL, s->cfg.headers,
                              s->cfg.nheaders, d);
        if (rc)
            return rc;
    } else {
        buf_printf(&t->req, "User-Agent: metronome/%s\r\n", METRONOME_VERSION);
    }
    buf_puts(&t->req, "\r\n");
    buf_init(&t->head, HTTP1_MAX_HEAD);
    buf_init(&t->out, 0);
    buf_init(&t->fams, 0);
    if (prom_parser_init(&t->pp, PROM_TEXT_004, 0, 0, 0))
        return diag_set(d, ERR_TOO_LARGE, "out of memory");
    if (t->u.tls && !s->tls) {
        struct tls_client_opts o = {s->cfg.ca_file, s->cfg.insecure, "http/1.1"};
        rc = tls_client_config_new(&s->tls, &o, d);
        if (rc)
            return rc;
    }
    return 0;
}

int scrape_start(const struct scrape_config *c, struct scraper **out, struct diag *d)
{
    *out = NULL;
    struct scraper *s = xcalloc(1, sizeof *s);
    s->cfg = *c;
    s->evfd = -1;
    s->t = xcalloc(c->nserver + c->ngpu + 1, sizeof *s->t);
    int rc = 0;
    for (size_t i = 0; i < c->nserver && !rc; i++)
        rc = add_target(s, SCRAPE_SERVER, c->server_urls[i], d);
    for (size_t i = 0; i < c->ngpu && !rc; i++)
        rc = add_target(s, SCRAPE_GPU, c->gpu_urls[i], d);
    if (rc) {
        scrape_free(s);
        return rc;
    }
    s->rbuf = xmalloc(RBUF);
    buf_init(&s->line, 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/server_metrics.jsonl.zst", c->out_dir);
    s->file_path = xstrdup(path);
    rc = zw_open(&s->zw, path, ZW_FRAMED, c->zstd_level > 0 ? c->zstd_level : 3, d);
    if (rc) {
        scrape_free(s);
        return rc;
    }
    struct buf *l = &s->line;
    buf_printf(l,
               "{\"format\":\"metronome-server-metrics\",\"version\":1,\"interval_ns\":%lld,"
               "\"anchor_mono_ns\":%lld,\"targets\":[",
               (long long)(c->interval_ns > 0 ? c->interval_ns : DEFAULT_INT),
               (long long)c->anchor_mono_ns);
    for (size_t i = 0; i < s->nt; i++) {
        buf_printf(l, "%s{\"kind\":\"%s\",\"url\":", i ? "," : "",
                   s->t[i].kind == SCRAPE_GPU ? "gpu" : "server");
        json_escape(l, s->t[i].shown, strlen(s->t[i].shown));
        buf_putc(l, '}');
    }
    buf_puts(l, "]}\n");
    put_line(s, l);
    end_round(s);
    s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pthread_create(&s->th, NULL, scrape_main, s) == 0) {
        pthread_setname_np(s->th, "replay-scrape");
        s->started = true;
        /* The first round is the baseline the report subtracts: it should end before the
         * first request starts. Waited for up to one interval (1 s at most): a target that
         * hangs delays the start by that much, once. */
        int64_t until =
            clock_mono_ns() + (s->cfg.interval_ns > 0 && s->cfg.interval_ns < DEFAULT_INT
                                   ? s->cfg.interval_ns
                                   : DEFAULT_INT);
        while (!atomic_load(&s->first_done) && clock_mono_ns() < until)
            usleep(500);
    } else {
        fprintf(stderr, "%s: warning: no telemetry: the collector thread could not start\n",
                c->warn_prefix ? c->warn_prefix : "replay");
    }
    *out = s;
    return 0;
}

int scrape_stop(struct scraper *s, struct diag *d)
{
    if (!s)
        return 0;
    if (s->started) {
        atomic_store(&s->stop, 1);
        uint64_t one = 1;
        ssize_t k = write(s->evfd, &one, sizeof one);
        (void)k;
        pthread_join(s->th, NULL);
        s->started = false;
    }
    int rc = 0;
    if (s->zw) {
        if (s->zw_err) {
            rc = diag_at(d, ERR_IO, s->file_path, 0, "cannot write: %s", zw_strerror(s->zw));
            zw_abort(s->zw);
        } else {
            rc = zw_commit(s->zw, d);
        }
        s->zw = NULL;
    }
    return rc;
}

void scrape_summary(const struct scraper *s, struct jsonw *w)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "file");
    jsonw_str(w, "server_metrics.jsonl.zst");
    jsonw_key(w, "interval_s");
    jsonw_double(w, (double)(s->cfg.interval_ns > 0 ? s->cfg.interval_ns : DEFAULT_INT) / 1e9);
    jsonw_key(w, "targets");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < s->nt; i++) {
        const struct target *t = &s->t[i];
        jsonw_obj_begin(w);
        jsonw_key(w, "kind");
        jsonw_str(w, t->kind == SCRAPE_GPU ? "gpu" : "server");
        jsonw_key(w, "url");
        jsonw_str(w, t->shown);
        jsonw_key(w, "scrapes_ok");
        jsonw_uint(w, t->ok);
        jsonw_key(w, "scrapes_failed");
        jsonw_uint(w, t->failed);
        jsonw_key(w, "scrapes_skipped");
        jsonw_uint(w, t->skipped);
        jsonw_key(w, "samples");
        jsonw_uint(w, t->samples);
        jsonw_key(w, "last_error");
        if (t->last_error[0])
            jsonw_str(w, t->last_error);
        else
            jsonw_null(w);
        jsonw_key(w, "note");
        if (t->ok == 0)
            jsonw_str(w, "never answered with metrics: no samples from this target");
        else if (t->failed)
            jsonw_str(w, "some scrapes failed (last_error)");
        else
            jsonw_null(w);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

void scrape_free(struct scraper *s)
{
    if (!s)
        return;
    if (s->started || s->zw) {
        struct diag d;
        scrape_stop(s, &d);
    }
    for (size_t i = 0; i < s->nt; i++) {
        struct target *t = &s->t[i];
        close_conn(t);
        free(t->shown);
        buf_free(&t->req);
        buf_free(&t->head);
        buf_free(&t->out);
        buf_free(&t->fams);
        prom_parser_free(&t->pp);
        if (t->ai)
            freeaddrinfo(t->ai);
    }
    free(s->t);
    if (s->tls)
        tls_config_free(s->tls);
    if (s->evfd >= 0)
        close(s->evfd);
    free(s->rbuf);
    buf_free(&s->line);
    free(s->file_path);
    free(s);
}
