/*
 * Control hooks (AIPerf 0.13's endpoint.reset_kv_cache and endpoint.server_profiler): an
 * empty-body POST of a relative path to every unique origin (scheme://host:port) of the
 * --url targets, with the requests' auth headers (api key, --header, URL userinfo). Any
 * 2xx is success. Blocking and off the hot path: the reset runs once before anything is
 * sent, the profiler start between warmup and profiling (scheduler thread), the stop after
 * the profiling requests have finished (controlling thread).
 *
 * Control traffic is not a request of the run: it is never recorded, counted or exported.
 */
#include "control.h"

#include "buf.h"
#include "clock.h"
#include "endpoint.h"
#include "engine.h"
#include "http1.h"
#include "jsonw.h"
#include "replay.h"
#include "tls.h"

#include <cJSON.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* AIPerf 0.13's reset retry policy (config/control_hooks.py): transport failures and these
 * statuses are transient; backoff 1 s doubling to 8 s within a 60 s budget. */
#define RETRY_BUDGET_NS  (60LL * 1000000000LL)
#define RETRY_FIRST_NS   (1LL * 1000000000LL)
#define RETRY_CAP_NS     (8LL * 1000000000LL)
#define CONTROL_HEAD_MAX 16384

static bool retryable_status(int st)
{
    return st == 409 || st == 423 || st == 429 || st == 503;
}

static int left_ms(int64_t end)
{
    int64_t l = (end - clock_mono_ns()) / 1000000;
    return l <= 0 ? 0 : l > 1000000 ? 1000000 : (int)l;
}

/* Waits for fd to be readable (in) or writable; false on timeout or error. */
static bool wait_fd(int fd, bool in, int64_t end)
{
    struct pollfd p = {.fd = fd, .events = in ? POLLIN : POLLOUT};
    int ms = left_ms(end);
    return ms > 0 && poll(&p, 1, ms) == 1;
}

/* Connects to one of t's addresses before end: the fd, or -1 with errno set. */
static int connect_any(const struct target *t, int64_t end)
{
    int err = ECONNREFUSED;
    for (struct addrinfo *ai = t->ai; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc && errno == EINPROGRESS) {
            if (wait_fd(fd, false, end)) {
                int e = 0;
                socklen_t len = sizeof e;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
                rc = e ? -1 : 0;
                errno = e;
            } else {
                rc = -1;
                errno = ETIMEDOUT;
            }
        }
        if (rc == 0)
            return fd;
        err = errno;
        close(fd);
    }
    errno = err;
    return -1;
}

/* Reads the rest of a response after its status line arrived: the head, then the body as
 * its framing says, into body (bounded by body's max; past it the read stops and the body
 * is what fit). Only the wait-for-model probes need a body. */
static void read_body(struct tls_session *s, int fd, char *rx, size_t got, size_t rxcap,
                      int64_t end, struct buf *body)
{
    struct http1_response r;
    int hl;
    for (;;) {
        hl = http1_parse_response(rx, got, 0, false, &r);
        if (hl > 0 && r.status >= 100 && r.status < 200) { /* interim: skip it */
            memmove(rx, rx + hl, got - (size_t)hl);
            got -= (size_t)hl;
            continue;
        }
        if (hl != HTTP1_INCOMPLETE || got >= rxcap - 1)
            break;
        long k = s ? tls_read(s, rx + got, rxcap - 1 - got)
                   : (long)recv(fd, rx + got, rxcap - 1 - got, 0);
        if (k > 0)
            got += (size_t)k;
        else if (k == 0 || !wait_fd(fd, !s || k == TLS_WANT_READ, end))
            return;
    }
    if (hl <= 0 || r.framing == HTTP1_BODY_NONE)
        return;
    struct http1_chunked ch;
    http1_chunked_init(&ch);
    uint64_t want = r.framing == HTTP1_BODY_LENGTH ? r.content_length : UINT64_MAX;
    uint64_t have = 0;
    size_t off = (size_t)hl;
    for (;;) {
        /* consume rx[off..got) */
        while (off < got) {
            if (r.framing == HTTP1_BODY_CHUNKED) {
                const char *data;
                size_t dn;
                long used = http1_chunked_feed(&ch, rx + off, got - off, &data, &dn);
                if (used < 0)
                    return;
                off += (size_t)used;
                if (dn && buf_append(body, data, dn))
                    return;
                if (ch.done)
                    return;
                if (used == 0 && dn == 0)
                    break;
            } else {
                size_t n = got - off;
                if ((uint64_t)n > want - have)
                    n = (size_t)(want - have);
                if (buf_append(body, rx + off, n))
                    return;
                have += n;
                off = got;
                if (have >= want)
                    return;
            }
        }
        if (off < got)
            memmove(rx, rx + off, got - off);
        got -= off;
        off = 0;
        long k = s ? tls_read(s, rx + got, rxcap - 1 - got)
                   : (long)recv(fd, rx + got, rxcap - 1 - got, 0);
        if (k > 0)
            got += (size_t)k;
        else if (k == 0 || !wait_fd(fd, !s || k == TLS_WANT_READ, end))
            return;
    }
}

/* One request (head, then body of blen bytes); the HTTP status (> 0), or -1 for a
 * transport failure with why filled. With resp, the response body is read into it too
 * (bounded by its max), else only the status line is read. */
static int exchange(struct engine *e, const struct target *t, const char *head, size_t hlen,
                    const char *reqbody, size_t blen, struct buf *resp, double timeout_s, char *why,
                    size_t whycap)
{
    int64_t end = clock_mono_ns() + (int64_t)(timeout_s * 1e9);
    int fd = connect_any(t, end);
    if (fd < 0) {
        snprintf(why, whycap, "cannot connect: %s", strerror(errno));
        return -1;
    }
    struct tls_session *s = NULL;
    int status = -1;
    char rx[CONTROL_HEAD_MAX];
    size_t got = 0, sent = 0;
    if (t->url.tls) {
        if (tls_session_new(&s, e->tls, fd, t->url.host)) {
            snprintf(why, whycap, "cannot create a TLS session");
            goto out;
        }
        int rc;
        while ((rc = tls_handshake(s)) == TLS_WANT_READ || rc == TLS_WANT_WRITE)
            if (!wait_fd(fd, rc == TLS_WANT_READ, end)) {
                snprintf(why, whycap, "TLS handshake timed out");
                goto out;
            }
        if (rc < 0) {
            snprintf(why, whycap, "TLS handshake failed: %s", tls_session_error(s));
            goto out;
        }
    }
    while (sent < hlen + blen) {
        const char *p = sent < hlen ? head + sent : reqbody + (sent - hlen);
        size_t n = sent < hlen ? hlen - sent : hlen + blen - sent;
        long k = s ? tls_write(s, p, n) : (long)send(fd, p, n, MSG_NOSIGNAL);
        if (k > 0) {
            sent += (size_t)k;
            continue;
        }
        bool in = s && k == TLS_WANT_READ;
        if ((s && (k == TLS_WANT_READ || k == TLS_WANT_WRITE)) ||
            (!s && k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
            if (wait_fd(fd, in, end))
                continue;
            snprintf(why, whycap, "timed out sending (%.3g s)", timeout_s);
        } else {
            snprintf(why, whycap, "send failed: %s", s ? tls_session_error(s) : strerror(errno));
        }
        goto out;
    }
    /* The status line is all that is needed: "HTTP/1.x NNN". */
    while (got < sizeof rx - 1) {
        long k = s ? tls_read(s, rx + got, sizeof rx - 1 - got)
                   : (long)recv(fd, rx + got, sizeof rx - 1 - got, 0);
        if (k > 0) {
            got += (size_t)k;
            rx[got] = '\0';
            if (memchr(rx, '\n', got))
                break;
            continue;
        }
        if (k == 0) {
            break;
        }
        bool in = !s || k == TLS_WANT_READ;
        if ((s && (k == TLS_WANT_READ || k == TLS_WANT_WRITE)) ||
            (!s && (errno == EAGAIN || errno == EWOULDBLOCK))) {
            if (wait_fd(fd, in, end))
                continue;
            snprintf(why, whycap, "no response within %.3g s", timeout_s);
            goto out;
        }
        snprintf(why, whycap, "receive failed: %s", s ? tls_session_error(s) : strerror(errno));
        goto out;
    }
    rx[got] = '\0';
    int st = 0;
    if (got >= 12 && !strncmp(rx, "HTTP/1.", 7) && sscanf(rx + 8, " %3d", &st) == 1 && st >= 100 &&
        st < 600) {
        status = st;
        if (resp)
            read_body(s, fd, rx, got, sizeof rx, end, resp);
    } else
        snprintf(why, whycap, "no HTTP status line in the response");
out:
    if (s)
        tls_session_free(s);
    close(fd);
    return status;
}

/* The origin's display form for messages: scheme://authority (no userinfo). */
static void origin_str(const struct target *t, char *out, size_t cap)
{
    snprintf(out, cap, "%s://%s", t->url.tls ? "https" : "http", t->url.authority);
}

int control_post(struct engine *e, const char *what, const char *path, double timeout_s, bool retry,
                 bool all, struct diag *d)
{
    int first_rc = 0;
    for (int i = 0; i < e->ntargets; i++) {
        const struct target *t = &e->targets[i];
        bool dup = false; /* one POST per unique origin */
        for (int j = 0; j < i && !dup; j++) {
            const struct target *o = &e->targets[j];
            dup = o->url.tls == t->url.tls && !strcmp(o->url.host, t->url.host) &&
                  !strcmp(o->url.port, t->url.port);
        }
        if (dup)
            continue;
        struct buf head;
        buf_init(&head, 0);
        buf_printf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\n", path, t->url.authority);
        struct diag hd;
        if (endpoint_headers(&head, false, e->cfg->api_key,
                             t->url.has_userinfo ? t->url.userinfo : NULL, e->cfg->headers,
                             e->cfg->nheaders, &hd)) {
            buf_free(&head);
            return diag_set(d, ERR_INVALID, "%s", hd.msg);
        }
        buf_puts(&head, "Content-Length: 0\r\nConnection: close\r\n\r\n");
        char origin[URL_HOST_MAX + 32], why[256] = "";
        origin_str(t, origin, sizeof origin);
        int64_t deadline = clock_mono_ns() + RETRY_BUDGET_NS, backoff = RETRY_FIRST_NS;
        int st;
        for (;;) {
            why[0] = '\0';
            st = exchange(e, t, head.p, head.len, NULL, 0, NULL, timeout_s, why, sizeof why);
            bool again = retry && (st < 0 || retryable_status(st));
            if (!again || clock_mono_ns() + backoff >= deadline)
                break;
            struct timespec ts = {.tv_sec = backoff / 1000000000, .tv_nsec = backoff % 1000000000};
            nanosleep(&ts, NULL);
            backoff = backoff * 2 > RETRY_CAP_NS ? RETRY_CAP_NS : backoff * 2;
        }
        buf_free(&head);
        if (st >= 200 && st < 300)
            continue;
        int rc = st < 0 ? diag_set(d, ERR_IO, "%s: POST %s%s: %s", what, origin, path, why)
                        : diag_set(d, ERR_IO, "%s: POST %s%s: HTTP %d", what, origin, path, st);
        if (!all)
            return rc;
        if (!first_rc)
            first_rc = rc;
    }
    return first_rc;
}

/* ---- --wait-for-model-*: AIPerf 0.13's pre-flight readiness probe ---------------------
 *
 * Every --url is probed in turn (each for every model): mode "models" GETs
 * base/v1/models until the model's id is in data[] (on a 404 a GET of the base URL that
 * answers 2xx also counts), "inference" POSTs AIPerf's canned 1-token request ("Lo",
 * max_tokens 1) to the run's request URL until any status below 500 comes back, "both"
 * does models then inference. Each probe has the whole timeout to itself; between
 * attempts it sleeps the interval (less if the deadline is nearer); a request's own
 * timeout is max(interval, 5 s) for models and max(interval, 30 s) for inference, never
 * past the deadline. A probe that runs out of time ends the run before anything is sent. */

#define READY_BODY_MAX (1u << 20)

static void sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* True when the /v1/models body lists model as a data[].id. */
static bool models_has(const struct buf *b, const char *model)
{
    cJSON *j = cJSON_ParseWithLength(b->p ? b->p : "", b->len);
    const cJSON *data = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "data") : NULL;
    bool found = false;
    const cJSON *it;
    if (cJSON_IsArray(data))
        cJSON_ArrayForEach(it, data)
        {
            const cJSON *id =
                cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "id") : NULL;
            if (cJSON_IsString(id) && !strcmp(id->valuestring, model))
                found = true;
        }
    cJSON_Delete(j);
    return found;
}

/* The request head for a probe: method, target, the run's headers (auth included). */
static int probe_head(struct engine *e, const struct target *t, const char *method,
                      const char *target, size_t blen, struct buf *head, struct diag *d)
{
    buf_reset(head);
    buf_printf(head, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, t->url.authority);
    struct diag hd;
    if (endpoint_headers(head, false, e->cfg->api_key, t->url.has_userinfo ? t->url.userinfo : NULL,
                         e->cfg->headers, e->cfg->nheaders, &hd))
        return diag_set(d, ERR_INVALID, "%s", hd.msg);
    buf_printf(head, "Content-Length: %zu\r\nConnection: close\r\n\r\n", blen);
    return 0;
}

/* Seconds for one request: max(interval, floor), not past the deadline; <= 0: out of time. */
static double attempt_timeout(double interval_s, double floor_s, int64_t deadline)
{
    double left = (double)(deadline - clock_mono_ns()) / 1e9;
    double base = interval_s > floor_s ? interval_s : floor_s;
    return left < base ? left : base;
}

static int wait_models(struct engine *e, const struct target *t, const char *model, struct diag *d)
{
    const struct replay_config *c = e->cfg;
    int64_t deadline = clock_mono_ns() + (int64_t)(c->wait_timeout_s * 1e9);
    char origin[URL_HOST_MAX + 32], target[URL_PATH_MAX + 16],
        base[URL_PATH_MAX + URL_QUERY_MAX + 4];
    origin_str(t, origin, sizeof origin);
    snprintf(target, sizeof target, "%s/v1/models", t->url.path);
    snprintf(base, sizeof base, "%s%s%s", t->url.path[0] ? t->url.path : "/",
             t->url.query[0] ? "?" : "", t->url.query);
    struct buf head, body;
    buf_init(&head, 0);
    buf_init(&body, READY_BODY_MAX);
    int rc = 0;
    for (long attempt = 1;; attempt++) {
        double to = attempt_timeout(c->wait_interval_s, 5, deadline);
        if (to <= 0) {
            rc = diag_set(d, ERR_IO,
                          "--wait-for-model-timeout: timed out after %g s waiting for model '%s' "
                          "at %s%s (checked %ld time(s))",
                          c->wait_timeout_s, model, origin, target, attempt - 1);
            break;
        }
        char why[256] = "";
        buf_reset(&body);
        if ((rc = probe_head(e, t, "GET", target, 0, &head, d)))
            break;
        int st = exchange(e, t, head.p, head.len, NULL, 0, &body, to, why, sizeof why);
        if (st == 200 && models_has(&body, model))
            break;
        if (st == 404) {
            to = attempt_timeout(c->wait_interval_s, 5, deadline);
            if (to > 0 && !(rc = probe_head(e, t, "GET", base, 0, &head, d))) {
                int bst = exchange(e, t, head.p, head.len, NULL, 0, NULL, to, why, sizeof why);
                if (bst >= 200 && bst < 300)
                    break;
            }
            if (rc)
                break;
        }
        if (c->progress)
            fprintf(stderr, "replay: model '%s' not ready at %s%s (%s, attempt %ld); retrying\n",
                    model, origin, target, st > 0 ? (st == 200 ? "not listed" : "HTTP error") : why,
                    attempt);
        int64_t left = deadline - clock_mono_ns();
        int64_t iv = (int64_t)(c->wait_interval_s * 1e9);
        sleep_ns(left < iv ? left : iv);
    }
    buf_free(&head);
    buf_free(&body);
    return rc;
}

static int wait_inference(struct engine *e, const struct target *t, const char *model,
                          struct diag *d)
{
    const struct replay_config *c = e->cfg;
    int64_t deadline = clock_mono_ns() + (int64_t)(c->wait_timeout_s * 1e9);
    char origin[URL_HOST_MAX + 32];
    origin_str(t, origin, sizeof origin);
    /* AIPerf's canned payload for the endpoint type (chat's for the others), then model */
    struct buf body, head;
    buf_init(&body, 0);
    buf_init(&head, 0);
    struct jsonw w;
    jsonw_init(&w, &body);
    jsonw_obj_begin(&w);
    if (c->endpoint == EP_COMPLETIONS) {
        jsonw_key(&w, "prompt");
        jsonw_str(&w, "Lo");
    } else if (c->endpoint == EP_EMBEDDINGS) {
        jsonw_key(&w, "input");
        jsonw_str(&w, "Lo");
    } else {
        jsonw_key(&w, "messages");
        jsonw_arr_begin(&w);
        jsonw_obj_begin(&w);
        jsonw_key(&w, "role");
        jsonw_str(&w, "user");
        jsonw_key(&w, "content");
        jsonw_str(&w, "Lo");
        jsonw_obj_end(&w);
        jsonw_arr_end(&w);
    }
    if (c->endpoint != EP_EMBEDDINGS) {
        jsonw_key(&w, "max_tokens");
        jsonw_int(&w, 1);
    }
    jsonw_key(&w, "model");
    jsonw_str(&w, model);
    jsonw_obj_end(&w);
    int rc = 0;
    for (long attempt = 1;; attempt++) {
        double to = attempt_timeout(c->wait_interval_s, 30, deadline);
        if (to <= 0) {
            rc = diag_set(d, ERR_IO,
                          "--wait-for-model-timeout: timed out after %g s probing %s%s with model "
                          "'%s' (checked %ld time(s))",
                          c->wait_timeout_s, origin, t->path, model, attempt - 1);
            break;
        }
        char why[256] = "";
        if ((rc = probe_head(e, t, "POST", t->path, body.len, &head, d)))
            break;
        int st = exchange(e, t, head.p, head.len, body.p, body.len, NULL, to, why, sizeof why);
        if (st > 0 && st < 500)
            break;
        if (c->progress) {
            char sts[32];
            snprintf(sts, sizeof sts, "HTTP %d", st);
            fprintf(stderr, "replay: inference probe to %s%s: %s (attempt %ld); retrying\n", origin,
                    t->path, st > 0 ? sts : why, attempt);
        }
        int64_t left = deadline - clock_mono_ns();
        int64_t iv = (int64_t)(c->wait_interval_s * 1e9);
        sleep_ns(left < iv ? left : iv);
    }
    buf_free(&head);
    buf_free(&body);
    return rc;
}

int control_wait_ready(struct engine *e, struct diag *d)
{
    const struct replay_config *c = e->cfg;
    if (c->wait_timeout_s <= 0)
        return 0;
    static const char *const fallback[] = {"default"};
    const char *const *models = c->nwait_models ? c->wait_models : fallback;
    size_t nm = c->nwait_models ? c->nwait_models : 1;
    if (c->wait_mode != WAIT_INFERENCE && !c->nwait_models)
        return diag_set(d, ERR_INVALID, "--wait-for-model-mode %s needs a model name",
                        c->wait_mode == WAIT_MODELS ? "models" : "both");
    for (int i = 0; i < e->ntargets; i++) {
        const struct target *t = &e->targets[i];
        int rc = 0;
        if (c->wait_mode != WAIT_INFERENCE)
            for (size_t m = 0; m < nm && !rc; m++)
                rc = wait_models(e, t, models[m], d);
        if (c->wait_mode != WAIT_MODELS)
            for (size_t m = 0; m < nm && !rc; m++)
                rc = wait_inference(e, t, models[m], d);
        if (rc)
            return rc;
    }
    return 0;
}
