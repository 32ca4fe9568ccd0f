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
#include "tls.h"

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
#define CONTROL_HEAD_MAX 4096

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

/* One POST; the HTTP status (> 0), or -1 for a transport failure with why filled. */
static int post_once(struct engine *e, const struct target *t, const char *head, size_t hlen,
                     double timeout_s, char *why, size_t whycap)
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
    while (sent < hlen) {
        long k = s ? tls_write(s, head + sent, hlen - sent)
                   : (long)send(fd, head + sent, hlen - sent, MSG_NOSIGNAL);
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
        st < 600)
        status = st;
    else
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
            st = post_once(e, t, head.p, head.len, timeout_s, why, sizeof why);
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
