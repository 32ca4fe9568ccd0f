/*
 * The network latency prober (netprobe.h): timed TCP handshakes on their own thread, so
 * the workers' schedule never waits for a probe and no probe waits for a worker.
 */
#include "netprobe.h"

#include "buf.h"
#include "clock.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct pending {
    int fd;
    int target;
    int64_t t0;       /* mono ns: connect() called */
    int64_t deadline; /* mono ns */
};

struct netprobe {
    struct netprobe_config c;
    struct netprobe_target *t; /* owned copy */
    FILE *f;
    char path[4096];
    pthread_t th;
    bool running;
    int stop_fd; /* eventfd: the controlling thread asks the prober to finish */
    struct pending pend[NETPROBE_MAX_INFLIGHT];
    size_t npend;
    /* written by the prober thread only; read by the controller after the join */
    long probes, ok, write_errors;
    long ok_by[NETPROBE_MAX_TARGETS], topup_tries[NETPROBE_MAX_TARGETS];
    double rtt_sum;
    struct buf line;
};

/* Python's class for the OSError the same errno raises (asyncio's sock_connect), as AIPerf
 * records a failed probe (ErrorDetails.type). */
static const char *error_type(int err)
{
    switch (err) {
    case ECONNREFUSED:
        return "ConnectionRefusedError";
    case ETIMEDOUT:
        return "TimeoutError";
    case ECONNRESET:
        return "ConnectionResetError";
    case ECONNABORTED:
        return "ConnectionAbortedError";
    default:
        return "OSError";
    }
}

/* AIPerf's ErrorDetails of a failed probe, field for field: our own timeout is asyncio's
 * wait_for TimeoutError (caused by the cancelled connect); a failed connect is asyncio's
 * OSError(errno, "Connect call failed (ADDRESS)") with Python's repr as the message. */
static void error_details(struct jsonw *w, const struct netprobe_target *t, int err, bool timeout)
{
    char msg[512];
    const char *type = timeout ? "TimeoutError" : error_type(err);
    jsonw_obj_begin(w);
    jsonw_key(w, "type");
    jsonw_str(w, type);
    if (timeout) {
        jsonw_key(w, "message");
        jsonw_str(w, "TimeoutError()");
        jsonw_key(w, "cause");
        jsonw_str(w, "CancelledError()");
    } else {
        char host[INET6_ADDRSTRLEN] = "?";
        const struct sockaddr_storage *a = &t->addr;
        if (a->ss_family == AF_INET6) {
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;
            inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
            snprintf(msg, sizeof msg, "%s(%d, \"Connect call failed ('%s', %d, %u, %u)\")", type,
                     err, host, t->port, (unsigned)ntohl(s6->sin6_flowinfo),
                     (unsigned)s6->sin6_scope_id);
        } else {
            inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, host, sizeof host);
            snprintf(msg, sizeof msg, "%s(%d, \"Connect call failed ('%s', %d)\")", type, err, host,
                     t->port);
        }
        jsonw_key(w, "message");
        jsonw_str(w, msg);
    }
    jsonw_key(w, "cause_chain");
    jsonw_arr_begin(w);
    jsonw_str(w, type);
    if (timeout)
        jsonw_str(w, "CancelledError");
    jsonw_arr_end(w);
    jsonw_obj_end(w);
}

/* err 0: a success; timeout: abandoned after NETPROBE_TIMEOUT_NS (err is then ETIMEDOUT). */
static void record(struct netprobe *p, int target, int64_t t0, int64_t rtt, int err, bool timeout)
{
    const struct netprobe_target *t = &p->t[target];
    struct jsonw w;
    buf_reset(&p->line);
    jsonw_init(&w, &p->line);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "t_ns");
    jsonw_int(&w, t0 - p->c.anchor_mono_ns);
    jsonw_key(&w, "target_url");
    jsonw_str(&w, t->url);
    jsonw_key(&w, "target_host");
    jsonw_str(&w, t->host);
    jsonw_key(&w, "target_port");
    jsonw_int(&w, t->port);
    if (!err) {
        jsonw_key(&w, "rtt_ns");
        jsonw_int(&w, rtt);
    }
    jsonw_key(&w, "success");
    jsonw_bool(&w, !err);
    if (err) {
        jsonw_key(&w, "error");
        error_details(&w, t, err, timeout);
    }
    jsonw_obj_end(&w);
    buf_putc(&p->line, '\n');
    /* one line at a time and flushed: a killed run keeps every probe but the last */
    if (fwrite(p->line.p, 1, p->line.len, p->f) != p->line.len || fflush(p->f) != 0)
        p->write_errors++;
    p->probes++;
    if (!err) {
        p->ok++;
        p->ok_by[target]++;
        p->rtt_sum += (double)rtt;
    }
}

/* Starts one handshake to target ti; a connect that ends at once is recorded at once. */
static void begin(struct netprobe *p, int ti)
{
    const struct netprobe_target *t = &p->t[ti];
    int64_t t0 = clock_mono_ns();
    if (p->npend == NETPROBE_MAX_INFLIGHT) {
        record(p, ti, t0, 0, EAGAIN,
               false); /* every slot waits on a handshake: counted, not queued */
        return;
    }
    int fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        record(p, ti, t0, 0, errno, false);
        return;
    }
    t0 = clock_mono_ns();
    if (connect(fd, (const struct sockaddr *)&t->addr, t->addrlen) == 0) {
        record(p, ti, t0, clock_mono_ns() - t0, 0, false);
        close(fd);
        return;
    }
    if (errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        record(p, ti, t0, 0, err, false);
        return;
    }
    p->pend[p->npend++] = (struct pending){fd, ti, t0, t0 + NETPROBE_TIMEOUT_NS};
}

static void finish(struct netprobe *p, size_t k, int64_t now, bool timed_out)
{
    struct pending *q = &p->pend[k];
    int err = ETIMEDOUT;
    if (!timed_out) {
        socklen_t len = sizeof err;
        if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
    }
    record(p, q->target, q->t0, now - q->t0, err, timed_out);
    close(q->fd);
    p->pend[k] = p->pend[--p->npend];
}

/* Waits for the pending handshakes (and the stop eventfd when watch_stop) until `until`
 * (mono ns) at most, recording those that end. Returns true when stop was asked. */
static bool pump(struct netprobe *p, int64_t until, bool watch_stop)
{
    struct pollfd fds[NETPROBE_MAX_INFLIGHT + 1];
    int64_t now = clock_mono_ns();
    int64_t wake = until;
    for (size_t k = 0; k < p->npend; k++) {
        fds[k] = (struct pollfd){.fd = p->pend[k].fd, .events = POLLOUT};
        if (p->pend[k].deadline < wake)
            wake = p->pend[k].deadline;
    }
    size_t n = p->npend;
    if (watch_stop)
        fds[n++] = (struct pollfd){.fd = p->stop_fd, .events = POLLIN};
    int64_t wait = wake > now ? wake - now : 0;
    struct timespec ts = {.tv_sec = (time_t)(wait / 1000000000),
                          .tv_nsec = (long)(wait % 1000000000)};
    int r = ppoll(fds, (nfds_t)n, &ts, NULL);
    now = clock_mono_ns();
    bool stop = watch_stop && r > 0 && (fds[n - 1].revents & POLLIN);
    /* backwards: finish() moves the last pending entry into slot k */
    for (size_t k = p->npend; k-- > 0;) {
        if (r > 0 && fds[k].revents)
            finish(p, k, now, false);
        else if (now >= p->pend[k].deadline)
            finish(p, k, now, true);
    }
    return stop;
}

static void *prober_main(void *arg)
{
    struct netprobe *p = arg;
    int64_t next = clock_mono_ns();
    for (;;) {
        if (clock_mono_ns() >= next) {
            for (size_t i = 0; i < p->c.ntargets; i++)
                begin(p, (int)i);
            next += p->c.interval_ns;
            int64_t now = clock_mono_ns();
            if (next <= now) /* a tick missed (a stalled host) is skipped, not fired late */
                next = now + p->c.interval_ns;
        }
        if (pump(p, next, true))
            break;
    }
    /* Top-up (AIPerf 0.13 at PROFILE_COMPLETE): a short run still gets NETPROBE_MIN_OK
     * successful samples per target, back to back, within NETPROBE_TOPUP_NS. */
    int64_t deadline = clock_mono_ns() + NETPROBE_TOPUP_NS;
    for (;;) {
        bool want = false;
        for (size_t i = 0; i < p->c.ntargets; i++) {
            bool busy = false;
            for (size_t k = 0; k < p->npend; k++)
                busy |= p->pend[k].target == (int)i;
            if (p->ok_by[i] >= NETPROBE_MIN_OK || p->topup_tries[i] >= 2 * NETPROBE_MIN_OK)
                continue;
            want = true;
            if (!busy) {
                p->topup_tries[i]++;
                begin(p, (int)i);
            }
        }
        if (!want || clock_mono_ns() >= deadline)
            break;
        if (p->npend) /* a connect that failed at once left nothing to wait for */
            pump(p, deadline, false);
    }
    for (size_t k = 0; k < p->npend; k++) /* cut short at the end: not a sample */
        close(p->pend[k].fd);
    p->npend = 0;
    return NULL;
}

int netprobe_start(const struct netprobe_config *c, struct netprobe **out, struct diag *d)
{
    *out = NULL;
    if (c->ntargets == 0 || c->ntargets > NETPROBE_MAX_TARGETS)
        return diag_set(d, ERR_INVALID, "--network-latency-automatic: %zu probe targets (1 to %d)",
                        c->ntargets, NETPROBE_MAX_TARGETS);
    struct netprobe *p = xcalloc(1, sizeof *p);
    p->c = *c;
    p->t = xcalloc(c->ntargets, sizeof *p->t);
    memcpy(p->t, c->targets, c->ntargets * sizeof *p->t);
    p->c.targets = p->t;
    p->stop_fd = -1;
    buf_init(&p->line, 1 << 16);
    snprintf(p->path, sizeof p->path, "%s/network_latency.jsonl", c->out_dir);
    p->f = fopen(p->path, "we");
    if (!p->f) {
        int err = errno;
        netprobe_free(p);
        return diag_set(d, ERR_IO, "%s/network_latency.jsonl: cannot create: %s", c->out_dir,
                        strerror(err));
    }
    p->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->stop_fd < 0 || pthread_create(&p->th, NULL, prober_main, p) != 0) {
        netprobe_free(p);
        return diag_set(d, ERR_IO, "--network-latency-automatic: cannot start the prober thread");
    }
    pthread_setname_np(p->th, "replay-netprobe");
    p->running = true;
    *out = p;
    return 0;
}

int netprobe_stop(struct netprobe *p, struct diag *d)
{
    if (!p || !p->running)
        return 0;
    uint64_t one = 1;
    ssize_t k = write(p->stop_fd, &one, sizeof one);
    (void)k;
    pthread_join(p->th, NULL);
    p->running = false;
    int rc = 0;
    if (fclose(p->f) != 0)
        p->write_errors++;
    p->f = NULL;
    if (p->write_errors)
        rc = diag_set(d, ERR_IO, "%s: %ld probe line(s) could not be written", p->path,
                      p->write_errors);
    return rc;
}

void netprobe_summary(const struct netprobe *p, struct jsonw *w)
{
    jsonw_obj_begin(w);
    jsonw_key(w, "ping_interval_s");
    jsonw_double(w, (double)p->c.interval_ns / 1e9);
    jsonw_key(w, "targets");
    jsonw_int(w, (int64_t)p->c.ntargets);
    jsonw_key(w, "probes");
    jsonw_int(w, p->probes);
    jsonw_key(w, "successes");
    jsonw_int(w, p->ok);
    if (p->ok) {
        jsonw_key(w, "mean_rtt_ns");
        jsonw_double(w, p->rtt_sum / (double)p->ok);
    }
    jsonw_obj_end(w);
}

void netprobe_free(struct netprobe *p)
{
    if (!p)
        return;
    if (p->running) {
        struct diag d;
        netprobe_stop(p, &d);
    }
    if (p->f)
        fclose(p->f);
    if (p->stop_fd >= 0)
        close(p->stop_fd);
    buf_free(&p->line);
    free(p->t);
    free(p);
}
