/*
 * The mock's worker threads. Each worker owns a SO_REUSEPORT listening socket, an epoll
 * loop (edge-triggered, one registration per connection, never modified), a timerfd armed
 * at the earliest deadline of its min-heap, its connections, its queue of requests waiting
 * for a --max-concurrency slot and its timing-log buffer. Nothing is shared between
 * workers but relaxed atomic counters (request index, running requests, /metrics figures)
 * and the read-only config.
 *
 * A connection reads into the worker's receive buffer and keeps bytes only when a request
 * is incomplete or pipelined, and writes straight from the worker's scratch buffer, keeping
 * only what the socket refused: an idle keep-alive connection holds no buffer at all.
 */
#include "mock.h"

#include "clock.h"
#include "http1.h"
#include "jsonw.h"
#include "mock_gen.h"
#include "mock_req.h"
#include "rng.h"
#include "rxstamp.h"
#include "tls.h"
#include "xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RECV_BUF    (64 * 1024)
#define OUT_HIGH    (64 * 1024)   /* pump stops adding output past this much pending */
#define TLOG_FLUSH  (256 * 1024)  /* timing-log buffer written out past this size */
#define PUMP_BUDGET (1024 * 1024) /* bytes one connection may emit per wake-up */
#define RID_MAX     64
#define BATCH_BYTES (64 * 1024) /* due emissions coalesced into one chunk */
#define BATCH_MAX   1024

/* ---- metrics ------------------------------------------------------------------------- */

/* vLLM's own bucket bounds (vllm/v1/metrics/buckets.py, vLLM 0.32), so a histogram
 * scraped from the mock reads like one scraped from vLLM. */
#define NB_TTFT 22
#define NB_ITL  19
#define NB_E2E  21
static const double b_ttft[NB_TTFT] = {0.001, 0.005, 0.01, 0.02,  0.04,  0.06,  0.08, 0.1,
                                       0.25,  0.5,   0.75, 1.0,   2.5,   5.0,   7.5,  10.0,
                                       20.0,  40.0,  80.0, 160.0, 640.0, 2560.0};
static const double b_itl[NB_ITL] = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                     0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
static const double b_e2e[NB_E2E] = {0.3,  0.5,   0.8,   1.0,   1.5,   2.0,    2.5,
                                     5.0,  10.0,  15.0,  20.0,  30.0,  40.0,   50.0,
                                     60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

struct hist {
    _Atomic uint64_t bucket[24]; /* cumulative counts are made at scrape time */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns;
};

/* Written by the owning worker only, read by whichever worker serves /metrics. */
struct stats {
    _Atomic uint64_t responses[6]; /* by status class: index status/100 */
    _Atomic uint64_t finished_stop, finished_length;
    _Atomic uint64_t prompt_tokens, generation_tokens;
    _Atomic int64_t running, waiting;
    _Atomic int64_t kv_tokens;       /* prompt + generated tokens of running requests */
    _Atomic uint64_t prefix_queries; /* prompt tokens looked up (no prefix cache: no hits) */
    struct hist ttft, itl, e2e;
};

static void st_add(_Atomic uint64_t *a, uint64_t v)
{
    atomic_fetch_add_explicit(a, v, memory_order_relaxed);
}

static void hist_add(struct hist *h, const double *bounds, int nb, int64_t ns)
{
    double s = (double)ns / 1e9;
    int i = 0;
    while (i < nb && s > bounds[i])
        i++;
    st_add(&h->bucket[i], 1);
    st_add(&h->count, 1);
    st_add(&h->sum_ns, (uint64_t)(ns > 0 ? ns : 0));
}

/* ---- types ------------------------------------------------------------------------------ */

enum cstate {
    C_IDLE,    /* waiting for (the rest of) a request head */
    C_BODY,    /* head parsed, waiting for the rest of a Content-Length body */
    C_CHUNKED, /* head parsed, decoding a chunked request body */
    C_QUEUED,  /* request complete, waiting for a --max-concurrency slot */
    C_ACTIVE,  /* admitted: head, events or body go out on deadlines */
    C_STALLED, /* stall fault: nothing more will be sent */
    C_DRAIN,   /* final bytes queued; close once written */
};

enum route {
    R_NONE,
    R_CHAT,
    R_COMPLETIONS,
    R_EMBEDDINGS,
    R_RANKING,
    R_RERANK_TEI,
    R_RERANK_COHERE,
    R_RESPONSES,
    R_MODELS,
    R_HEALTH,
    R_METRICS,
    R_DCGM, /* --dcgm: a DCGM exporter's /metrics with synthetic GPU values */
    /* vLLM's (and SGLang's /flush_cache) control routes, which AIPerf 0.13's
     * --reset-kv-cache and --server-profiler POST to: answered 200, logged in the timing
     * log, never counted as inference */
    R_CONTROL,
};

enum framing { F_CHUNKED, F_LENGTH, F_RAW };

struct worker;

struct conn {
    int fd;
    enum cstate state;
    struct worker *w;
    struct conn *prev, *next; /* all connections of the worker */
    struct conn *qnext;       /* admission queue */
    size_t heap_idx;          /* SIZE_MAX when no deadline is pending */
    int64_t deadline;
    uint64_t serial;
    struct buf in; /* unconsumed input: incomplete or pipelined requests */
    size_t last_len;
    struct buf out; /* output the socket has not taken yet */
    size_t out_off;
    bool close_after;        /* close once out is written */
    bool peer_eof;           /* the client half-closed: answer what it sent, then close */
    struct tls_session *tls; /* NULL for plain HTTP */
    bool handshaking;
    size_t tls_retry; /* length of a tls_write that wanted to be called again */
    /* the request in progress */
    enum route route;
    size_t head_len;
    uint64_t body_len;
    bool keep_alive;
    bool sent_continue;
    struct http1_chunked ck;
    struct buf body; /* decoded chunked body */
    char rid[RID_MAX + 1];
    uint64_t index;
    int64_t t_head, t_body, t_start, t_resp_head, t_first;
    int64_t rx_ns;    /* kernel arrival of the bytes the last read returned (0: unknown) */
    int64_t t_arrive; /* the request's last byte arrived (rx_ns, or t_body without it) */
    int64_t t_free;   /* the previous response on this connection ended */
    /* The request's last byte reached this host (rx_ns, or t_body without it), even when
     * it came before the previous response on the connection was finished: the /metrics
     * histograms count from here, as the client's clock runs from its send. */
    int64_t t_recv;
    struct mock_params params;
    struct mock_fault_set faults;
    struct mock_gen *gen; /* streaming or delayed generation; NULL otherwise */
    enum framing framing;
    bool stream, head_sent, slot;
    long emitted;  /* emissions written */
    long tokens;   /* tokens written */
    long kv_held;  /* tokens this request holds in the modelled KV cache */
    bool head_req; /* HEAD: the response carries no body (RFC 9110 9.3.2) */
    int status;
    struct buf tl; /* the timing-log line under construction */
};

struct worker {
    struct mock_server *srv;
    int id;
    pthread_t th;
    int ep, lfd, tfd, efd;
    char *rbuf;
    struct buf out;  /* scratch for one response or one emission */
    struct buf body; /* scratch for a response body */
    struct buf ev;   /* scratch for the SSE events of one emission */
    struct conn **heap;
    size_t nheap, capheap;
    int64_t armed;
    struct conn *conns;
    struct conn *dead; /* closed during this epoll batch */
    long nconns;
    struct conn *qhead, *qtail;
    struct rng rng;
    struct buf tlog;
    uint64_t serial;
    struct stats st;
};

struct mock_server {
    struct mock_config cfg;
    struct mock_fault *faults;
    char *model;
    struct mock_text text;
    int port;
    int tlog_fd;
    int stamp_fd; /* rxstamp_warm: holds kernel receive stamping on, or -1 */
    struct tls_config *tls;
    _Atomic uint64_t next_index;
    _Atomic uint64_t next_model_index; /* cfg.fault_model_index */
    _Atomic int64_t running;           /* across workers, for the batch slowdown */
    _Atomic int stop;
    pthread_mutex_t dcgm_mu; /* the --dcgm energy integral below */
    int64_t dcgm_last_ns;
    double dcgm_power, dcgm_energy_mj;
    int nworkers;
    struct worker *workers;
};

/* epoll tags for the worker's own descriptors; connections use their struct conn. */
static char tag_listen, tag_timer, tag_stop;

static void conn_close(struct conn *c);
static void pump(struct conn *c);
static void conn_resume(struct conn *c);
static void conn_eof_check(struct conn *c);
static void frame_chunks(struct conn *c, const char *data, size_t len, bool last);

/* ---- timer heap ------------------------------------------------------------------------ */

static void heap_swap(struct worker *w, size_t a, size_t b)
{
    struct conn *t = w->heap[a];
    w->heap[a] = w->heap[b];
    w->heap[b] = t;
    w->heap[a]->heap_idx = a;
    w->heap[b]->heap_idx = b;
}

static void heap_up(struct worker *w, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (w->heap[p]->deadline <= w->heap[i]->deadline)
            break;
        heap_swap(w, i, p);
        i = p;
    }
}

static void heap_down(struct worker *w, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < w->nheap && w->heap[l]->deadline < w->heap[m]->deadline)
            m = l;
        if (r < w->nheap && w->heap[r]->deadline < w->heap[m]->deadline)
            m = r;
        if (m == i)
            return;
        heap_swap(w, i, m);
        i = m;
    }
}

static void timer_cancel(struct conn *c)
{
    struct worker *w = c->w;
    size_t i = c->heap_idx;
    if (i == SIZE_MAX)
        return;
    c->heap_idx = SIZE_MAX;
    w->nheap--;
    if (i == w->nheap)
        return;
    w->heap[i] = w->heap[w->nheap];
    w->heap[i]->heap_idx = i;
    heap_down(w, i);
    heap_up(w, i);
}

static void timer_arm(struct worker *w)
{
    if (w->nheap == 0)
        return;
    int64_t t = w->heap[0]->deadline;
    if (t == w->armed)
        return;
    w->armed = t;
    t -= w->srv->cfg.spin_ns; /* wake early and spin the rest (on_timer) */
    struct itimerspec its = {{0, 0}, {0, 0}};
    if (t <= 0)
        t = 1; /* an all-zero value would disarm the timer */
    its.it_value.tv_sec = t / 1000000000;
    its.it_value.tv_nsec = t % 1000000000;
    timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void timer_at(struct conn *c, int64_t deadline)
{
    struct worker *w = c->w;
    timer_cancel(c);
    c->deadline = deadline;
    if (w->nheap == w->capheap) {
        w->capheap = w->capheap ? w->capheap * 2 : 64;
        w->heap = xrealloc(w->heap, w->capheap * sizeof *w->heap);
    }
    c->heap_idx = w->nheap;
    w->heap[w->nheap++] = c;
    heap_up(w, c->heap_idx);
    if (w->heap[0] == c && deadline < w->armed)
        timer_arm(w);
}

/* ---- output ------------------------------------------------------------------------------ */

/* Transport: plain sockets or TLS sessions, with recv()/send() conventions (-1 and errno
 * EAGAIN when the socket would block, EIO for a TLS failure). */
static bool tls_handshake_step(struct conn *c)
{
    int rc = tls_handshake(c->tls);
    if (rc == 0) {
        c->handshaking = false;
        return true;
    }
    errno = rc == TLS_WANT_READ || rc == TLS_WANT_WRITE ? EAGAIN : EIO;
    return false;
}

static ssize_t io_recv(struct conn *c, char *buf, size_t len)
{
    if (!c->tls) {
        if (!c->w->srv->cfg.kernel_stamps)
            return recv(c->fd, buf, len, 0);
        int64_t t;
        ssize_t n = rxstamp_recv(c->fd, buf, len, &t);
        if (n > 0)
            c->rx_ns = t;
        return n;
    }
    if (c->handshaking && !tls_handshake_step(c))
        return -1;
    long k = tls_read(c->tls, buf, len);
    if (k > 0)
        c->rx_ns = tls_session_rx_ns(c->tls);
    if (k >= 0)
        return (ssize_t)k;
    errno = k == TLS_WANT_READ || k == TLS_WANT_WRITE ? EAGAIN : EIO;
    return -1;
}

static ssize_t io_send(struct conn *c, const char *data, size_t len)
{
    if (!c->tls)
        return send(c->fd, data, len, MSG_NOSIGNAL);
    if (c->handshaking && !tls_handshake_step(c))
        return -1;
    /* mbedTLS finishes a write that wanted to be retried with the length it was given
     * then, not the (possibly longer) length pending now. */
    if (c->tls_retry && c->tls_retry < len)
        len = c->tls_retry;
    long k = tls_write(c->tls, data, len);
    if (k > 0) {
        c->tls_retry = 0;
        return (ssize_t)k;
    }
    if (k == TLS_WANT_READ || k == TLS_WANT_WRITE) {
        c->tls_retry = len;
        errno = EAGAIN;
    } else {
        errno = EIO;
    }
    return -1;
}

static void io_shutdown(struct conn *c)
{
    if (c->tls && !c->handshaking)
        tls_close_notify(c->tls);
    shutdown(c->fd, SHUT_WR);
}

/* Writes pending output. 0: all written; 1: the socket is full; -1: the connection failed. */
static int conn_flush(struct conn *c)
{
    bool bytewise = mock_fault_on(&c->faults, MOCK_FAULT_BYTE_WRITES) && c->state == C_ACTIVE;
    while (c->out_off < c->out.len) {
        size_t n = c->out.len - c->out_off;
        if (bytewise)
            n = 1;
        ssize_t k = io_send(c, c->out.p + c->out_off, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 1;
            return -1;
        }
        c->out_off += (size_t)k;
    }
    if (c->out.cap > 16384)
        buf_free(&c->out);
    else
        buf_reset(&c->out);
    c->out_off = 0;
    return 0;
}

/* Sends data, keeping in c->out whatever the socket does not take now. -1 on failure. */
static int conn_send(struct conn *c, const char *data, size_t len)
{
    bool bytewise = mock_fault_on(&c->faults, MOCK_FAULT_BYTE_WRITES);
    size_t done = 0;
    if (c->out.len == c->out_off && !bytewise) {
        while (done < len) {
            ssize_t k = io_send(c, data + done, len - done);
            if (k < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                return -1;
            }
            done += (size_t)k;
        }
        if (done == len)
            return 0;
    }
    if (buf_append(&c->out, data + done, len - done))
        return -1;
    return conn_flush(c) < 0 ? -1 : 0;
}

static bool out_pending(const struct conn *c)
{
    return c->out.len > c->out_off;
}

/* ---- the timing log --------------------------------------------------------------------- */

static void tlog_write(struct worker *w)
{
    int fd = w->srv->tlog_fd;
    size_t off = 0;
    while (fd >= 0 && off < w->tlog.len) {
        ssize_t k = write(fd, w->tlog.p + off, w->tlog.len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break; /* a full disk loses log lines, never the server */
        off += (size_t)k;
    }
    buf_reset(&w->tlog);
}

static void tlog_begin(struct conn *c, const char *method, size_t mlen, const char *path,
                       size_t plen)
{
    if (c->w->srv->tlog_fd < 0)
        return;
    buf_reset(&c->tl);
    buf_printf(&c->tl, "{\"req\":%llu,\"worker\":%d,\"conn\":%llu,\"request_id\":",
               (unsigned long long)c->index, c->w->id, (unsigned long long)c->serial);
    if (c->rid[0])
        json_escape(&c->tl, c->rid, strlen(c->rid));
    else
        buf_puts(&c->tl, "null");
    buf_puts(&c->tl, ",\"method\":");
    json_escape(&c->tl, method, mlen);
    buf_puts(&c->tl, ",\"path\":");
    json_escape(&c->tl, path, plen);
    buf_printf(&c->tl, ",\"head_ns\":%lld", (long long)c->t_head);
}

static void tlog_chunk(struct conn *c, int64_t t, long tokens)
{
    if (c->w->srv->tlog_fd < 0)
        return;
    if (c->emitted == 0)
        buf_puts(&c->tl, ",\"chunks\":[");
    else
        buf_putc(&c->tl, ',');
    buf_printf(&c->tl, "[%lld,%ld]", (long long)t, tokens);
}

static void tlog_end(struct conn *c, const char *outcome)
{
    struct worker *w = c->w;
    if (w->srv->tlog_fd < 0 || c->tl.len == 0)
        return;
    struct buf *b = &c->tl;
    if (c->emitted > 0)
        buf_putc(b, ']');
    else
        buf_puts(b, ",\"chunks\":[]");
    buf_printf(b,
               ",\"body_ns\":%lld,\"recv_ns\":%lld,\"arrive_ns\":%lld,\"start_ns\":%lld,"
               "\"resp_head_ns\":%lld,\"end_ns\":%lld",
               (long long)c->t_body, (long long)c->t_recv, (long long)c->t_arrive,
               (long long)c->t_start, (long long)c->t_resp_head, (long long)clock_mono_ns());
    buf_printf(b, ",\"status\":%d,\"stream\":%s,\"prompt_tokens\":%ld,\"completion_tokens\":%ld",
               c->status, c->stream ? "true" : "false", c->params.prompt_tokens, c->tokens);
    buf_puts(b, ",\"faults\":[");
    bool first = true;
    for (int k = 0; k < MOCK_FAULT_COUNT; k++) {
        if (!mock_fault_on(&c->faults, (enum mock_fault_kind)k))
            continue;
        buf_printf(b, "%s\"%s\"", first ? "" : ",", mock_fault_name((enum mock_fault_kind)k));
        first = false;
    }
    buf_printf(b, "],\"outcome\":\"%s\"}\n", outcome);
    buf_append(&w->tlog, b->p, b->len);
    buf_free(b);
    if (w->tlog.len >= TLOG_FLUSH)
        tlog_write(w);
}

/* ---- request lifecycle -------------------------------------------------------------------- */

static void slot_release(struct conn *c);

/* The request is over (answered, failed or abandoned): account for it. */
static void request_end(struct conn *c, const char *outcome)
{
    struct worker *w = c->w;
    if (c->route == R_NONE && c->status == 0)
        return;
    tlog_end(c, outcome);
    if (c->status >= 100 && c->status < 600)
        st_add(&w->st.responses[c->status / 100], 1);
    if (c->gen) {
        if (c->tokens > 0)
            st_add(&w->st.generation_tokens, (uint64_t)c->tokens);
        mock_gen_free(c->gen);
        free(c->gen);
        c->gen = NULL;
    }
    if (c->t_start > 0 && c->status == 200 && strcmp(outcome, "ok") == 0) {
        /* from arrival, as vLLM's arrival_time: a wait for a slot is part of it */
        hist_add(&w->st.e2e, b_e2e, NB_E2E, clock_mono_ns() - c->t_recv);
        st_add(&w->st.prompt_tokens, (uint64_t)c->params.prompt_tokens);
    }
    slot_release(c);
    buf_free(&c->body);
    c->route = R_NONE;
    c->head_req = false;
    c->status = 0;
    c->t_start = 0;
    c->t_free = clock_mono_ns();
}

static void conn_close(struct conn *c)
{
    struct worker *w = c->w;
    if (c->state == C_QUEUED) {
        /* unlink from the admission queue */
        struct conn **pp = &w->qhead, *prev = NULL;
        while (*pp && *pp != c) {
            prev = *pp;
            pp = &(*pp)->qnext;
        }
        if (*pp) {
            *pp = c->qnext;
            if (w->qtail == c)
                w->qtail = prev;
            atomic_fetch_sub_explicit(&w->st.waiting, 1, memory_order_relaxed);
        }
    }
    if (c->fd < 0)
        return;
    request_end(c, atomic_load_explicit(&w->srv->stop, memory_order_relaxed) ? "server_stopped"
                                                                             : "client_closed");
    timer_cancel(c);
    close(c->fd);
    c->fd = -1;
    c->state = C_DRAIN;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    /* Freed after the current epoll batch, which may still hold events for it. */
    c->next = w->dead;
    w->dead = c;
}

static void conn_free(struct conn *c)
{
    if (c->tls)
        tls_session_free(c->tls);
    if (c->gen) {
        mock_gen_free(c->gen);
        free(c->gen);
    }
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->tl);
    buf_free(&c->body);
    free(c);
}

/* Sends a complete non-streamed response from w->body and finishes the request. */
static void respond(struct conn *c, int status, const char *ctype, const char *body, size_t len,
                    const char *extra)
{
    struct worker *w = c->w;
    c->status = status;
    buf_reset(&w->out);
    bool close_delim = mock_fault_on(&c->faults, MOCK_FAULT_CLOSE_DELIMITED);
    if (close_delim)
        c->keep_alive = false;
    bool chunked = mock_fault_on(&c->faults, MOCK_FAULT_CHUNK_EXT) ||
                   mock_fault_on(&c->faults, MOCK_FAULT_TINY_CHUNKS) ||
                   mock_fault_on(&c->faults, MOCK_FAULT_TRAILERS);
    if (c->head_req) {
        /* the head a GET would get, without its body (a body here would be read by a
         * keep-alive client as the start of the next response: AIPerf's HEAD-then-GET
         * reachability probe found /metrics unreachable) */
        http1_write_response_head(&w->out, status, ctype, (long long)len, c->keep_alive, extra);
        close_delim = chunked = false;
    } else if (close_delim) {
        buf_printf(&w->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nConnection: close\r\n\r\n",
                   status, http1_reason(status), ctype);
        buf_append(&w->out, body, len);
    } else if (chunked) {
        /* chunk quirks apply to non-streamed bodies too */
        http1_write_response_head(&w->out, status, ctype, -1, c->keep_alive, extra);
    } else {
        http1_write_response_head(&w->out, status, ctype, (long long)len, c->keep_alive, extra);
        buf_append(&w->out, body, len);
    }
    c->t_resp_head = clock_mono_ns();
    int rc = conn_send(c, w->out.p, w->out.len);
    if (rc == 0 && chunked && !close_delim) {
        c->framing = F_CHUNKED;
        frame_chunks(c, body, len, true);
    }
    /* a non-streamed reply is one "chunk" in the timing log: the body's write */
    tlog_chunk(c, clock_mono_ns(), c->tokens);
    c->emitted = 1;
    if (rc < 0 || c->close_after) {
        conn_close(c);
        return;
    }
    request_end(c, "ok");
    c->state = c->keep_alive ? C_IDLE : C_DRAIN;
    if (!c->keep_alive) {
        c->close_after = true;
        if (!out_pending(c)) {
            io_shutdown(c);
            conn_close(c);
        }
    }
}

static void respond_error(struct conn *c, int status, const char *msg)
{
    struct worker *w = c->w;
    buf_reset(&w->body);
    mock_build_error(&w->body, status, msg);
    const char *extra = status == 405   ? "Allow: POST\r\n"
                        : status == 429 ? "Retry-After: 1\r\n"
                                        : NULL;
    if (c->route == R_NONE)
        c->route = R_HEALTH; /* so the response is accounted */
    respond(c, status, "application/json", w->body.p, w->body.len, extra);
}

/* ---- chunk framing, normal and quirky ------------------------------------------------------ */

static void frame_chunks(struct conn *c, const char *data, size_t len, bool last)
{
    struct worker *w = c->w;
    struct buf *o = &w->out;
    buf_reset(o);
    if (c->framing == F_RAW) {
        buf_append(o, data, len);
    } else if (mock_fault_on(&c->faults, MOCK_FAULT_TINY_CHUNKS)) {
        size_t at = 0, step = 1;
        while (at < len) {
            size_t n = len - at < step ? len - at : step;
            http1_write_chunk(o, data + at, n);
            at += n;
            step = step % 3 + 1;
        }
    } else if (mock_fault_on(&c->faults, MOCK_FAULT_CHUNK_EXT) && len > 0) {
        buf_printf(o, "%zx;mock=1;q=\"a b\"\r\n", len);
        buf_append(o, data, len);
        buf_puts(o, "\r\n");
    } else if (len > 0) {
        http1_write_chunk(o, data, len);
    }
    if (last && c->framing == F_CHUNKED) {
        if (mock_fault_on(&c->faults, MOCK_FAULT_TRAILERS))
            buf_printf(o, "0\r\nX-Mock-Tokens: %ld\r\nX-Mock-Trailer: done\r\n\r\n", c->tokens);
        else if (mock_fault_on(&c->faults, MOCK_FAULT_CHUNK_EXT))
            buf_puts(o, "0;mock=end\r\n\r\n");
        else
            http1_write_chunk(o, NULL, 0);
    }
    if (o->len && conn_send(c, o->p, o->len) < 0) {
        c->close_after = true;
        c->keep_alive = false;
    }
}

/* ---- timing ----------------------------------------------------------------------------- */

static int64_t jittered(struct worker *w, int64_t base, int64_t jitter)
{
    const struct mock_config *cfg = &w->srv->cfg;
    if (jitter <= 0)
        return base;
    double x = (double)base, j = (double)jitter;
    switch (cfg->jitter) {
    case MOCK_JITTER_UNIFORM:
        x += (rng_uniform(&w->rng) * 2.0 - 1.0) * j * 1.7320508075688772;
        break;
    case MOCK_JITTER_EXPONENTIAL:
        x += rng_exponential(&w->rng, j) - j;
        break;
    default:
        x = rng_normal(&w->rng, x, j);
    }
    return x < 0 ? 0 : (int64_t)x;
}

/* Delay before emission i (i >= 1) with the batch slowdown of the current load. */
static int64_t itl_delay(struct conn *c, long tokens)
{
    struct worker *w = c->w;
    const struct mock_config *cfg = &w->srv->cfg;
    int64_t base = cfg->itl_ns;
    if (cfg->batch_slowdown > 0) {
        int64_t run = atomic_load_explicit(&w->srv->running, memory_order_relaxed);
        if (run > 1)
            base = (int64_t)((double)base * (1.0 + cfg->batch_slowdown * (double)(run - 1)));
    }
    int64_t d = 0;
    for (long k = 0; k < tokens; k++)
        d += jittered(w, base, cfg->itl_jitter_ns);
    return d;
}

/* ---- admission (--max-concurrency) ------------------------------------------------------ */

static void begin(struct conn *c);

/* One global count of running requests: a slot is taken with a CAS below the limit, so
 * --max-concurrency holds across workers whatever the kernel's connection spread. */
static bool slot_take(struct mock_server *s)
{
    long max = s->cfg.max_concurrency;
    int64_t r = atomic_load_explicit(&s->running, memory_order_relaxed);
    while (max == 0 || r < max) {
        if (atomic_compare_exchange_weak_explicit(&s->running, &r, r + 1, memory_order_relaxed,
                                                  memory_order_relaxed))
            return true;
    }
    return false;
}

static void slot_release(struct conn *c)
{
    struct worker *w = c->w;
    struct mock_server *s = w->srv;
    if (!c->slot)
        return;
    c->slot = false;
    atomic_fetch_sub_explicit(&w->st.kv_tokens, c->kv_held, memory_order_relaxed);
    c->kv_held = 0;
    atomic_fetch_sub_explicit(&s->running, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&w->st.running, 1, memory_order_relaxed);
    /* Our own queue is served at the end of this loop iteration; when it is empty, wake a
     * worker whose queue is not (it takes the slot if nobody was faster). */
    if (w->qhead || s->cfg.max_concurrency == 0)
        return;
    for (int i = 1; i < s->nworkers; i++) {
        struct worker *o = &s->workers[(w->id + i) % s->nworkers];
        if (atomic_load_explicit(&o->st.waiting, memory_order_relaxed) > 0) {
            uint64_t one = 1;
            if (write(o->efd, &one, sizeof one) < 0) {
                /* the counter is full: that worker is being woken anyway */
            }
            return;
        }
    }
}

static void admit_waiting(struct worker *w)
{
    while (w->qhead && slot_take(w->srv)) {
        struct conn *c = w->qhead;
        w->qhead = c->qnext;
        if (!w->qhead)
            w->qtail = NULL;
        c->qnext = NULL;
        atomic_fetch_sub_explicit(&w->st.waiting, 1, memory_order_relaxed);
        begin(c);
    }
}

/* ---- starting a response ------------------------------------------------------------------ */

static const char *ctype_of(const struct conn *c, bool sse)
{
    if (mock_fault_on(&c->faults, MOCK_FAULT_WRONG_CTYPE))
        return "text/plain";
    return sse ? "text/event-stream" : "application/json";
}

/* Tokens this request generates: the request's maximum, else --osl; an --eos-tokens
 * "model" stops early unless ignore_eos, but never before min_tokens. */
static long output_tokens(const struct mock_config *cfg, const struct mock_params *p, bool *length)
{
    long n = p->max_tokens > 0 ? p->max_tokens : cfg->osl;
    *length = p->max_tokens > 0;
    if (cfg->eos_tokens > 0 && !p->ignore_eos) {
        long eos = cfg->eos_tokens > p->min_tokens ? cfg->eos_tokens : p->min_tokens;
        if (eos < n) {
            n = eos;
            *length = false;
        }
    }
    return n < 1 ? 1 : n;
}

static void send_head_now(struct conn *c)
{
    struct worker *w = c->w;
    buf_reset(&w->out);
    if (c->framing == F_RAW)
        buf_printf(&w->out,
                   "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nCache-Control: no-cache\r\n"
                   "Connection: close\r\n\r\n",
                   ctype_of(c, true));
    else
        http1_write_response_head(&w->out, 200, ctype_of(c, true), -1, c->keep_alive,
                                  "Cache-Control: no-cache\r\n");
    c->head_sent = true;
    c->t_resp_head = clock_mono_ns();
    if (conn_send(c, w->out.p, w->out.len) < 0) {
        c->close_after = true;
        c->keep_alive = false;
    }
}

/* Admitted: plan the deadlines. */
static void begin(struct conn *c)
{
    struct worker *w = c->w;
    const struct mock_config *cfg = &w->srv->cfg;
    /* The TTFT clock starts when the request arrived, so a worker reading late under
     * load does not stretch it; a request that waited for a --max-concurrency slot
     * starts when admitted (the wait is the server's queueing, counted by the client).
     * The /metrics histograms count from t_recv either way, as vLLM's count from arrival
     * (its TTFT and e2e include the time queued for a slot): they must equal what the
     * client saw, less the client's own send and receive paths. */
    c->t_start = c->state == C_QUEUED ? clock_mono_ns() : c->t_arrive;
    c->state = C_ACTIVE;
    c->slot = true; /* taken by the caller */
    atomic_fetch_add_explicit(&w->st.running, 1, memory_order_relaxed);
    c->kv_held = c->params.prompt_tokens;
    atomic_fetch_add_explicit(&w->st.kv_tokens, c->kv_held, memory_order_relaxed);
    st_add(&w->st.prefix_queries, (uint64_t)c->params.prompt_tokens);
    int64_t first = c->t_start + jittered(w, cfg->ttft_ns, cfg->ttft_jitter_ns) +
                    cfg->prefill_per_token_ns * c->params.prompt_tokens;
    if (mock_fault_on(&c->faults, MOCK_FAULT_SLOW_HEAD)) {
        int64_t h = c->t_start + c->faults.arg[MOCK_FAULT_SLOW_HEAD] * 1000000LL;
        if (first < h)
            first = h;
    } else if (c->stream) {
        send_head_now(c);
    }
    if (c->gen && !c->stream) /* the whole reply is ready when its last token would be */
        first += itl_delay(c, c->gen->n_reason + c->gen->n_content - 1);
    c->t_first = first;
    c->deadline = first;
    if (first <= clock_mono_ns())
        pump(c); /* no delay asked for: answer now, without a timer round trip */
    else
        timer_at(c, first);
}

static void route_gen_start(struct conn *c, enum mock_endpoint ep)
{
    struct worker *w = c->w;
    const struct mock_config *cfg = &w->srv->cfg;
    bool length;
    long n = output_tokens(cfg, &c->params, &length);
    c->gen = xmalloc(sizeof *c->gen);
    uint64_t start = (c->params.hash ^ cfg->seed) % w->srv->text.nwords;
    mock_gen_init(c->gen, ep, &w->srv->text, start, ep == MOCK_EP_CHAT ? cfg->reasoning_tokens : 0,
                  n, c->stream ? cfg->tokens_per_chunk : n);
    /* ids are unique per request; the content depends only on the body and the seed */
    uint64_t id = (c->index + 1) * 0x9e3779b97f4a7c15ULL ^ cfg->seed;
    snprintf(c->gen->id, sizeof c->gen->id, "%s%016llx",
             ep == MOCK_EP_CHAT        ? "chatcmpl-"
             : ep == MOCK_EP_RESPONSES ? "resp_"
                                       : "cmpl-",
             (unsigned long long)id);
    c->gen->length_finish = length;
    c->gen->prompt_tokens = c->params.prompt_tokens;
    c->gen->include_usage = c->params.include_usage;
    c->gen->continuous_usage = c->params.continuous_usage;
    c->gen->created = cfg->created;
    snprintf(c->gen->model, sizeof c->gen->model, "%s",
             c->params.model[0] ? c->params.model : w->srv->model);
    struct mock_sse_style *s = &c->gen->style;
    s->crlf = mock_fault_on(&c->faults, MOCK_FAULT_SSE_CRLF);
    s->cr = mock_fault_on(&c->faults, MOCK_FAULT_SSE_CR);
    s->comments = mock_fault_on(&c->faults, MOCK_FAULT_SSE_COMMENTS);
    s->fields = mock_fault_on(&c->faults, MOCK_FAULT_SSE_FIELDS);
    s->multiline = mock_fault_on(&c->faults, MOCK_FAULT_SSE_MULTILINE);
    if (mock_fault_on(&c->faults, MOCK_FAULT_SSE_INVALID_JSON))
        s->invalid_json_at = c->faults.arg[MOCK_FAULT_SSE_INVALID_JSON];
    if (mock_fault_on(&c->faults, MOCK_FAULT_BIG_EVENT))
        s->big_event_bytes = c->faults.arg[MOCK_FAULT_BIG_EVENT];
    c->framing = mock_fault_on(&c->faults, MOCK_FAULT_CLOSE_DELIMITED) ? F_RAW : F_CHUNKED;
    if (c->framing == F_RAW)
        c->keep_alive = false;
}

static enum mock_endpoint ep_of(enum route r)
{
    switch (r) {
    case R_COMPLETIONS:
        return MOCK_EP_COMPLETIONS;
    case R_EMBEDDINGS:
        return MOCK_EP_EMBEDDINGS;
    case R_RANKING:
        return MOCK_EP_RANKING_NIM;
    case R_RERANK_TEI:
        return MOCK_EP_RERANK_TEI;
    case R_RERANK_COHERE:
        return MOCK_EP_RERANK_COHERE;
    case R_RESPONSES:
        return MOCK_EP_RESPONSES;
    default:
        return MOCK_EP_CHAT;
    }
}

static void serve_metrics(struct conn *c);
static void serve_dcgm(struct conn *c);

/* The request (head and body) is complete. */
static void handle(struct conn *c, const char *body, size_t len)
{
    struct worker *w = c->w;
    const struct mock_config *cfg = &w->srv->cfg;
    c->t_body = clock_mono_ns();
    /* Bytes of a pipelined request read before the previous response ended could not be
     * served earlier than that end. */
    c->t_recv = c->rx_ns > 0 && c->rx_ns <= c->t_body ? c->rx_ns : c->t_body;
    c->t_arrive = c->rx_ns > c->t_free && c->rx_ns <= c->t_body ? c->rx_ns
                  : c->rx_ns > 0 && c->rx_ns <= c->t_free       ? c->t_free
                                                                : c->t_body;
    switch (c->route) {
    case R_HEALTH:
        respond(c, 200, "application/json", "", 0, NULL);
        return;
    case R_CONTROL:
        respond(c, 200, "application/json", "{\"success\":true}", 16, NULL);
        return;
    case R_MODELS:
        buf_reset(&w->body);
        mock_build_models(&w->body, w->srv->model, cfg->created);
        respond(c, 200, "application/json", w->body.p, w->body.len, NULL);
        return;
    case R_METRICS:
        serve_metrics(c);
        return;
    case R_DCGM:
        serve_dcgm(c);
        return;
    default:
        break;
    }
    enum mock_endpoint ep = ep_of(c->route);
    struct diag d = {0};
    if (mock_req_parse(ep, body, len, &c->params, &d) != 0) {
        respond_error(c, 400, d.msg);
        return;
    }
    uint64_t fi = cfg->fault_model_index ? atomic_fetch_add_explicit(&w->srv->next_model_index, 1,
                                                                     memory_order_relaxed)
                                         : c->index;
    mock_fault_select(w->srv->faults, cfg->nfaults, cfg->seed, fi, &c->faults);
    if (mock_fault_on(&c->faults, MOCK_FAULT_STATUS)) {
        int st = (int)c->faults.arg[MOCK_FAULT_STATUS];
        respond_error(c, st,
                      st == 429   ? "Rate limit reached (injected by metronome mock)"
                      : st == 503 ? "The server is overloaded (injected by metronome mock)"
                                  : "Injected failure (metronome mock)");
        return;
    }
    bool generative = ep == MOCK_EP_CHAT || ep == MOCK_EP_COMPLETIONS || ep == MOCK_EP_RESPONSES;
    c->stream = generative && c->params.stream;
    if (generative)
        route_gen_start(c, ep);
    if (w->qhead || !slot_take(w->srv)) { /* FIFO: never overtake the queue */
        c->state = C_QUEUED;
        if (w->qtail)
            w->qtail->qnext = c;
        else
            w->qhead = c;
        w->qtail = c;
        atomic_fetch_add_explicit(&w->st.waiting, 1, memory_order_relaxed);
        return;
    }
    begin(c);
}

/* A deadline passed (or the socket took everything pending): move the response on. */
static void pump(struct conn *c)
{
    struct worker *w = c->w;
    if (c->state != C_ACTIVE || out_pending(c))
        return;
    int64_t now = clock_mono_ns();
    if (c->deadline > now) {
        timer_at(c, c->deadline);
        return;
    }
    if (!c->gen || !c->stream) {
        /* non-streamed: the whole body at once */
        const struct mock_config *cfg = &w->srv->cfg;
        buf_reset(&w->body);
        enum mock_endpoint ep = ep_of(c->route);
        if (c->gen) {
            mock_gen_body(c->gen, &w->body);
            c->tokens = c->gen->n_reason + c->gen->n_content;
            st_add(c->gen->length_finish ? &w->st.finished_length : &w->st.finished_stop, 1);
            hist_add(&w->st.ttft, b_ttft, NB_TTFT, now - c->t_recv);
        } else if (ep == MOCK_EP_EMBEDDINGS) {
            long dim = c->params.dimensions > 0 ? c->params.dimensions : cfg->embedding_dim;
            mock_build_embeddings(&w->body, c->params.model[0] ? c->params.model : w->srv->model,
                                  c->params.n_inputs, dim, c->params.hash ^ cfg->seed,
                                  c->params.prompt_tokens);
        } else {
            mock_build_rankings(&w->body, ep, c->params.model[0] ? c->params.model : w->srv->model,
                                c->params.n_inputs, c->params.hash ^ cfg->seed,
                                c->params.prompt_tokens);
        }
        if (mock_fault_on(&c->faults, MOCK_FAULT_CLOSE_AFTER) ||
            mock_fault_on(&c->faults, MOCK_FAULT_STALL_AFTER)) {
            /* a cut non-streamed reply: the head and half the body, then close or stall */
            c->status = 200;
            buf_reset(&w->out);
            http1_write_response_head(&w->out, 200, ctype_of(c, false), (long long)w->body.len,
                                      c->keep_alive, NULL);
            buf_append(&w->out, w->body.p, w->body.len / 2);
            c->t_resp_head = clock_mono_ns();
            int rc = conn_send(c, w->out.p, w->out.len);
            if (rc < 0 || mock_fault_on(&c->faults, MOCK_FAULT_CLOSE_AFTER)) {
                request_end(c, "fault_closed");
                if (rc < 0 || !out_pending(c))
                    conn_close(c);
                else {
                    c->state = C_DRAIN;
                    c->close_after = true;
                    c->keep_alive = false;
                }
            } else {
                c->state = C_STALLED;
            }
            return;
        }
        respond(c, 200, ctype_of(c, false), w->body.p, w->body.len, NULL);
        if (c->state == C_IDLE)
            conn_resume(c);
        return;
    }
    if (!c->head_sent)
        send_head_now(c);
    /* Emit every emission that is due, within a budget, while the socket keeps up. */
    long total = mock_gen_emissions(c->gen);
    size_t budget = 0;
    long stall = mock_fault_on(&c->faults, MOCK_FAULT_STALL_AFTER)
                     ? c->faults.arg[MOCK_FAULT_STALL_AFTER]
                     : -1;
    long cut = mock_fault_on(&c->faults, MOCK_FAULT_CLOSE_AFTER)
                   ? c->faults.arg[MOCK_FAULT_CLOSE_AFTER]
                   : -1;
    while (c->emitted < total && c->deadline <= now && !out_pending(c) && !c->close_after) {
        /* Every emission already due goes into one HTTP chunk and one send(). */
        long toks[BATCH_MAX];
        int nb = 0;
        bool last = false, hit_stall = false, hit_cut = false;
        buf_reset(&w->ev);
        while (c->emitted + nb < total && c->deadline <= now && w->ev.len < BATCH_BYTES &&
               nb < BATCH_MAX) {
            long idx = c->emitted + nb;
            hit_stall = idx == stall;
            hit_cut = idx == cut;
            if (hit_stall || hit_cut)
                break;
            long tokens = 0;
            int err = 0;
            mock_gen_emission(c->gen, &w->ev, &tokens, &err);
            toks[nb++] = tokens;
            c->tokens += tokens;
            last = idx + 1 == total;
            if (!last) {
                int64_t delay = itl_delay(c, mock_gen_emission_tokens(c->gen, idx + 1));
                hist_add(&w->st.itl, b_itl, NB_ITL, delay);
                c->deadline += delay;
            }
        }
        if (nb > 0) {
            frame_chunks(c, w->ev.p, w->ev.len, last);
            int64_t t = clock_mono_ns();
            if (c->emitted == 0)
                hist_add(&w->st.ttft, b_ttft, NB_TTFT, t - c->t_recv);
            for (int i = 0; i < nb; i++) {
                tlog_chunk(c, t, toks[i]);
                c->emitted++;
                if (c->slot) {
                    c->kv_held += toks[i];
                    atomic_fetch_add_explicit(&w->st.kv_tokens, toks[i], memory_order_relaxed);
                }
            }
            budget += w->ev.len;
            now = t;
        }
        if (hit_stall) {
            c->state = C_STALLED;
            request_end(c, "stalled");
            return;
        }
        if (hit_cut) {
            request_end(c, "fault_closed");
            if (out_pending(c)) {
                c->state = C_DRAIN;
                c->close_after = true;
                c->keep_alive = false;
            } else {
                conn_close(c);
            }
            return;
        }
        if (budget >= PUMP_BUDGET && c->emitted < total && c->deadline <= now) {
            timer_at(c, now); /* let the other connections of this worker run */
            return;
        }
    }
    if (c->close_after) {
        request_end(c, "client_closed");
        conn_close(c);
        return;
    }
    if (c->emitted < total) {
        if (!out_pending(c))
            timer_at(c, c->deadline);
        return;
    }
    st_add(c->gen->length_finish ? &w->st.finished_length : &w->st.finished_stop, 1);
    c->status = 200;
    request_end(c, "ok");
    if (c->framing == F_RAW || !c->keep_alive) {
        c->state = C_DRAIN;
        c->close_after = true;
        if (!out_pending(c)) {
            io_shutdown(c);
            conn_close(c);
        }
        return;
    }
    c->state = C_IDLE;
    conn_resume(c);
}

/* ---- request parsing ---------------------------------------------------------------------- */

static enum route route_of(const char *p, size_t n, bool *known_post)
{
    static const struct {
        const char *path;
        enum route r;
        bool post;
    } routes[] = {
        {"/v1/chat/completions", R_CHAT, true},
        {"/v1/completions", R_COMPLETIONS, true},
        {"/v1/embeddings", R_EMBEDDINGS, true},
        {"/v1/ranking", R_RANKING, true},
        {"/v1/rerank", R_RERANK_COHERE, true},
        {"/v2/rerank", R_RERANK_COHERE, true}, /* Cohere v2: AIPerf's path */
        {"/rerank", R_RERANK_TEI, true},
        {"/v1/responses", R_RESPONSES, true},
        {"/v1/models", R_MODELS, false},
        {"/health", R_HEALTH, false},
        {"/metrics", R_METRICS, false},
        {"/dcgm/metrics", R_DCGM, false},
        {"/reset_prefix_cache", R_CONTROL, true},
        {"/flush_cache", R_CONTROL, true},
        {"/start_profile", R_CONTROL, true},
        {"/stop_profile", R_CONTROL, true},
    };
    const char *q = memchr(p, '?', n);
    if (q)
        n = (size_t)(q - p);
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strlen(routes[i].path) == n && memcmp(routes[i].path, p, n) == 0) {
            *known_post = routes[i].post;
            return routes[i].r;
        }
    }
    return R_NONE;
}

/* Parses requests from p[0..n) while the connection is idle; returns bytes consumed. */
static size_t process(struct conn *c, const char *p, size_t n)
{
    struct worker *w = c->w;
    size_t at = 0;
    while (c->fd >= 0 && c->state == C_IDLE && at < n) {
        struct http1_request req;
        int r = http1_parse_request(p + at, n - at, c->last_len, &req);
        if (r == HTTP1_INCOMPLETE) {
            if (n - at >= HTTP1_MAX_HEAD) {
                c->keep_alive = false;
                respond_error(c, 431, "request head too large");
                return n;
            }
            c->last_len = n - at;
            return at;
        }
        c->last_len = 0;
        c->t_head = clock_mono_ns();
        c->index = atomic_fetch_add_explicit(&w->srv->next_index, 1, memory_order_relaxed);
        c->rid[0] = '\0';
        c->keep_alive = false;
        c->emitted = 0;
        c->tokens = 0;
        c->stream = false;
        c->head_sent = false;
        c->framing = F_LENGTH;
        memset(&c->faults, 0, sizeof c->faults);
        memset(&c->params, 0, sizeof c->params);
        if (r == HTTP1_ERROR) {
            c->route = R_HEALTH;
            tlog_begin(c, "?", 1, "?", 1);
            respond_error(c, 400, "malformed HTTP request");
            return n;
        }
        const struct http1_header *h = http1_find_header(req.headers, req.nheaders, "x-request-id");
        if (h) {
            size_t k = h->value_len < RID_MAX ? h->value_len : RID_MAX;
            memcpy(c->rid, h->value, k);
            c->rid[k] = '\0';
        }
        c->keep_alive = req.keep_alive;
        bool post = false;
        c->route = route_of(req.path, req.path_len, &post);
        if (c->route == R_DCGM && !c->w->srv->cfg.dcgm)
            c->route = R_NONE; /* the DCGM page exists only with --dcgm */
        tlog_begin(c, req.method, req.method_len, req.path, req.path_len);
        at += (size_t)r;
        bool is_post = req.method_len == 4 && memcmp(req.method, "POST", 4) == 0;
        c->head_req = req.method_len == 4 && memcmp(req.method, "HEAD", 4) == 0;
        bool is_get = (req.method_len == 3 && memcmp(req.method, "GET", 3) == 0) || c->head_req;
        if (req.framing == HTTP1_BODY_LENGTH && req.content_length > w->srv->cfg.max_body) {
            c->keep_alive = false;
            respond_error(c, 413, "request body too large");
            return n;
        }
        if (c->route == R_NONE || (post && !is_post) || (!post && !is_get)) {
            int st = c->route == R_NONE ? 404 : 405;
            if (c->route == R_NONE)
                c->route = R_HEALTH;
            /* the body (if any) is skipped before the next request */
            if (req.framing == HTTP1_BODY_CHUNKED) {
                c->keep_alive = false;
            } else if (req.framing == HTTP1_BODY_LENGTH) {
                if (n - at < req.content_length) {
                    c->keep_alive = false;
                    at = n;
                } else {
                    at += req.content_length;
                }
            }
            respond_error(c, st, st == 404 ? "no such endpoint" : "method not allowed here");
            continue;
        }
        if (req.framing == HTTP1_BODY_LENGTH) {
            if (n - at >= req.content_length) {
                const char *body = p + at;
                at += req.content_length;
                handle(c, body, req.content_length);
                continue;
            }
            /* wait for the body; the head stays in the buffer */
            c->state = C_BODY;
            c->head_len = (size_t)r;
            c->body_len = req.content_length;
            if (req.expect_continue)
                conn_send(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
            return at - (size_t)r;
        }
        if (req.framing == HTTP1_BODY_CHUNKED) {
            c->state = C_CHUNKED;
            http1_chunked_init(&c->ck);
            buf_init(&c->body, w->srv->cfg.max_body);
            if (req.expect_continue)
                conn_send(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
            /* fall through to decode what is here */
        } else {
            handle(c, "", 0);
            continue;
        }
    }
    while (c->fd >= 0 && c->state == C_CHUNKED && at < n) {
        const char *data;
        size_t dlen;
        long k = http1_chunked_feed(&c->ck, p + at, n - at, &data, &dlen);
        if (k < 0 || (dlen && buf_append(&c->body, data, dlen))) {
            c->state = C_IDLE;
            c->keep_alive = false;
            respond_error(c, k < 0 ? 400 : 413,
                          k < 0 ? "malformed chunked body" : "request body too large");
            return n;
        }
        at += (size_t)k;
        if (c->ck.done) {
            c->state = C_IDLE;
            /* handle() may finish the request and free c->body: keep it for the call */
            struct buf b = c->body;
            buf_init(&c->body, 0);
            handle(c, b.p ? b.p : "", b.len);
            buf_free(&b);
            if (c->state == C_IDLE && at < n)
                return at + process(c, p + at, n - at);
            return at;
        }
        if (k == 0 && dlen == 0)
            break;
    }
    return at;
}

/* After the client's FIN, requests already received are still answered; once the
 * connection is idle again it is closed (after its output is written). */
static void conn_eof_check(struct conn *c)
{
    if (c->fd < 0 || !c->peer_eof)
        return;
    if (c->state == C_ACTIVE || c->state == C_QUEUED)
        return;
    if (out_pending(c) && c->state != C_STALLED) {
        c->close_after = true;
        return;
    }
    conn_close(c);
}

/* Runs whatever is buffered now that the connection is idle again. */
static void conn_resume(struct conn *c)
{
    struct worker *w = c->w;
    admit_waiting(w);
    if (c->fd < 0 || c->state != C_IDLE || c->in.len == 0) {
        conn_eof_check(c);
        return;
    }
    struct buf b = c->in; /* process may append to c->in: swap it out */
    buf_init(&c->in, b.max);
    size_t used = process(c, b.p, b.len);
    if (c->fd >= 0 && used < b.len)
        buf_append(&c->in, b.p + used, b.len - used);
    buf_free(&b);
    conn_eof_check(c);
}

/* ---- events ----------------------------------------------------------------------------- */

/* New input arrived in c->in: move the request on according to the state. */
static void conn_input(struct conn *c)
{
    if (c->state == C_BODY) {
        if (c->in.len < c->head_len + c->body_len)
            return;
        c->state = C_IDLE;
        struct buf b = c->in; /* handle may queue pipelined bytes into c->in */
        buf_init(&c->in, b.max);
        handle(c, b.p + c->head_len, c->body_len);
        size_t used = c->head_len + c->body_len;
        if (c->fd >= 0 && used < b.len)
            buf_append(&c->in, b.p + used, b.len - used);
        buf_free(&b);
        if (c->fd >= 0 && c->state == C_IDLE)
            conn_resume(c);
    } else if (c->state == C_IDLE || c->state == C_CHUNKED) {
        struct buf b = c->in;
        buf_init(&c->in, b.max);
        size_t used = process(c, b.p, b.len);
        if (c->fd >= 0 && used < b.len)
            buf_append(&c->in, b.p + used, b.len - used);
        buf_free(&b);
    }
    /* other states: the bytes wait for the response in progress to finish */
}

/* `hup`: the event said the peer shut down (EPOLLRDHUP): read on to the EOF. */
static void on_readable(struct conn *c, bool hup)
{
    struct worker *w = c->w;
    while (c->fd >= 0) {
        ssize_t k;
        if (c->in.len == 0 && c->state == C_IDLE) {
            k = io_recv(c, w->rbuf, RECV_BUF);
            if (k > 0) {
                size_t used = process(c, w->rbuf, (size_t)k);
                if (c->fd >= 0 && used < (size_t)k &&
                    buf_append(&c->in, w->rbuf + used, (size_t)k - used))
                    conn_close(c);
                /* A short plain read drained the socket: more data raises a new edge, so
                 * the recv() that would only say EAGAIN is skipped. (A TLS session may
                 * hold further records, so it reads on.) */
                if (!c->tls && !hup && (size_t)k < RECV_BUF)
                    return;
                continue;
            }
        } else {
            if (buf_reserve(&c->in, 16384)) {
                conn_close(c); /* more pipelined input than a request may be */
                return;
            }
            size_t room = c->in.cap - c->in.len - 1;
            k = io_recv(c, c->in.p + c->in.len, room);
            if (k > 0) {
                c->in.len += (size_t)k;
                c->in.p[c->in.len] = '\0';
                conn_input(c);
                if (!c->tls && !hup && (size_t)k < room) {
                    if (c->fd >= 0 && c->in.len == 0)
                        buf_free(&c->in);
                    return;
                }
                continue;
            }
        }
        if (k == 0) {
            c->peer_eof = true;
            conn_eof_check(c);
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            conn_close(c);
            return;
        }
        if (c->in.len == 0)
            buf_free(&c->in); /* an idle connection keeps no buffer */
        return;
    }
}

static void on_writable(struct conn *c)
{
    if (c->handshaking) { /* the handshake may wait on either direction */
        on_readable(c, false);
        return;
    }
    if (!out_pending(c))
        return;
    int rc = conn_flush(c);
    if (rc < 0) {
        conn_close(c);
        return;
    }
    if (rc == 1)
        return;
    if (c->close_after) {
        io_shutdown(c);
        conn_close(c);
        return;
    }
    if (c->state == C_ACTIVE)
        pump(c);
}

static void on_accept(struct worker *w)
{
    const struct mock_config *cfg = &w->srv->cfg;
    for (;;) {
        int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return; /* EAGAIN, or EMFILE: the backlog keeps the rest */
        }
        if (w->nconns >= cfg->max_connections) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (cfg->kernel_stamps)
            rxstamp_enable(fd);
        struct conn *c = xcalloc(1, sizeof *c);
        c->fd = fd;
        c->w = w;
        c->heap_idx = SIZE_MAX;
        c->serial = w->serial++;
        if (w->srv->tls) {
            if (tls_session_new(&c->tls, w->srv->tls, fd, NULL) != 0) {
                close(fd);
                free(c);
                continue;
            }
            c->handshaking = true;
            if (cfg->kernel_stamps)
                tls_session_rx_stamps(c->tls);
        }
        buf_init(&c->in, HTTP1_MAX_HEAD + cfg->max_body + 16384);
        buf_init(&c->out, 0);
        buf_init(&c->tl, 0);
        buf_init(&c->body, 0);
        c->next = w->conns;
        if (w->conns)
            w->conns->prev = c;
        w->conns = c;
        w->nconns++;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.ptr = c};
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            conn_close(c);
    }
}

static void on_timer(struct worker *w)
{
    uint64_t ticks;
    if (read(w->tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
        return;
    w->armed = INT64_MAX;
    int64_t now = clock_mono_ns();
    int64_t spin = w->srv->cfg.spin_ns;
    if (spin > 0 && w->nheap > 0 && w->heap[0]->deadline > now &&
        w->heap[0]->deadline - now <= spin) {
        int64_t due = w->heap[0]->deadline;
        while (now < due)
            now = clock_mono_ns();
    }
    while (w->nheap > 0 && w->heap[0]->deadline <= now) {
        struct conn *c = w->heap[0];
        timer_cancel(c);
        pump(c);
    }
    admit_waiting(w);
    timer_arm(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    /* Deadlines are exact to the microsecond only with a tiny timer slack. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    struct epoll_event evs[256];
    while (!atomic_load_explicit(&w->srv->stop, memory_order_relaxed)) {
        int timeout = w->tlog.len > 0 ? 200 : -1;
        int n = epoll_wait(w->ep, evs, 256, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (n == 0 && w->tlog.len > 0)
            tlog_write(w);
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            uint32_t e = evs[i].events;
            if (tag == &tag_listen) {
                on_accept(w);
            } else if (tag == &tag_timer) {
                on_timer(w);
            } else if (tag == &tag_stop) {
                /* a stop (the loop condition sees the flag) or a free slot (admitted below) */
                uint64_t v;
                if (read(w->efd, &v, sizeof v) < 0) {
                    /* already drained */
                }
            } else {
                struct conn *c = tag;
                if (c->fd >= 0 && (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                    on_readable(c, (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
                if (c->fd >= 0 && (e & EPOLLOUT))
                    on_writable(c);
            }
        }
        if (w->qhead)
            admit_waiting(w);
        timer_arm(w);
        while (w->dead) {
            struct conn *c = w->dead;
            w->dead = c->next;
            conn_free(c);
        }
        if (w->tlog.len >= TLOG_FLUSH)
            tlog_write(w);
    }
    return NULL;
}

/* ---- /metrics ------------------------------------------------------------------------------ */

static uint64_t ld(const _Atomic uint64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static void prom_hist(struct buf *b, struct mock_server *s, const char *name, const char *help,
                      size_t off, const double *bounds, int nb)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0, count = 0, sum = 0;
    for (int i = 0; i <= nb; i++) {
        for (int k = 0; k < s->nworkers; k++) {
            const struct hist *h = (const struct hist *)((const char *)&s->workers[k].st + off);
            cum += ld(&h->bucket[i]);
        }
        char le[32];
        if (i < nb)
            snprintf(le, sizeof le, "%g", bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        buf_printf(b, "%s_bucket{model_name=\"%s\",le=\"%s\"} %llu\n", name, s->model, le,
                   (unsigned long long)cum);
    }
    for (int k = 0; k < s->nworkers; k++) {
        const struct hist *h = (const struct hist *)((const char *)&s->workers[k].st + off);
        count += ld(&h->count);
        sum += ld(&h->sum_ns);
    }
    /* _count before _sum, in prometheus_client's (vLLM's) order */
    buf_printf(b, "%s_count{model_name=\"%s\"} %llu\n%s_sum{model_name=\"%s\"} %.9f\n", name,
               s->model, (unsigned long long)count, name, s->model, (double)sum / 1e9);
}

static void serve_metrics(struct conn *c)
{
    struct worker *w = c->w;
    struct mock_server *s = w->srv;
    struct buf *b = &w->body;
    buf_reset(b);
    int64_t running = 0, waiting = 0, kv = 0;
    uint64_t pq = 0;
    uint64_t ptok = 0, gtok = 0, fstop = 0, flen = 0, resp[6] = {0};
    for (int k = 0; k < s->nworkers; k++) {
        struct stats *st = &s->workers[k].st;
        running += atomic_load_explicit(&st->running, memory_order_relaxed);
        waiting += atomic_load_explicit(&st->waiting, memory_order_relaxed);
        kv += atomic_load_explicit(&st->kv_tokens, memory_order_relaxed);
        pq += ld(&st->prefix_queries);
        ptok += ld(&st->prompt_tokens);
        gtok += ld(&st->generation_tokens);
        fstop += ld(&st->finished_stop);
        flen += ld(&st->finished_length);
        for (int i = 0; i < 6; i++)
            resp[i] += ld(&st->responses[i]);
    }
    const char *m = s->model;
    buf_printf(b,
               "# HELP vllm:num_requests_running Number of requests running.\n"
               "# TYPE vllm:num_requests_running gauge\n"
               "vllm:num_requests_running{model_name=\"%s\"} %lld\n"
               "# HELP vllm:num_requests_waiting Number of requests waiting for a slot.\n"
               "# TYPE vllm:num_requests_waiting gauge\n"
               "vllm:num_requests_waiting{model_name=\"%s\"} %lld\n"
               "# HELP vllm:prompt_tokens_total Prompt tokens processed.\n"
               "# TYPE vllm:prompt_tokens_total counter\n"
               "vllm:prompt_tokens_total{model_name=\"%s\"} %llu\n"
               "# HELP vllm:generation_tokens_total Generation tokens produced.\n"
               "# TYPE vllm:generation_tokens_total counter\n"
               "vllm:generation_tokens_total{model_name=\"%s\"} %llu\n"
               "# HELP vllm:request_success_total Finished requests by finish reason.\n"
               "# TYPE vllm:request_success_total counter\n"
               "vllm:request_success_total{model_name=\"%s\",finished_reason=\"stop\"} %llu\n"
               "vllm:request_success_total{model_name=\"%s\",finished_reason=\"length\"} %llu\n",
               m, (long long)running, m, (long long)waiting, m, (unsigned long long)ptok, m,
               (unsigned long long)gtok, m, (unsigned long long)fstop, m, (unsigned long long)flen);
    prom_hist(b, s, "vllm:time_to_first_token_seconds", "Time to first token.",
              offsetof(struct stats, ttft), b_ttft, NB_TTFT);
    double usage = s->cfg.kv_cache_tokens > 0 ? (double)kv / (double)s->cfg.kv_cache_tokens : 0;
    buf_printf(b,
               "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n"
               "# TYPE vllm:kv_cache_usage_perc gauge\n"
               "vllm:kv_cache_usage_perc{model_name=\"%s\"} %.6f\n"
               "# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number "
               "of queried tokens.\n"
               "# TYPE vllm:prefix_cache_queries_total counter\n"
               "vllm:prefix_cache_queries_total{model_name=\"%s\"} %llu\n"
               "# HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of "
               "cached tokens.\n"
               "# TYPE vllm:prefix_cache_hits_total counter\n"
               "vllm:prefix_cache_hits_total{model_name=\"%s\"} 0\n",
               m, usage > 1 ? 1.0 : usage, m, (unsigned long long)pq, m);
    prom_hist(b, s, "vllm:inter_token_latency_seconds",
              "Histogram of inter-token latency in seconds.", offsetof(struct stats, itl), b_itl,
              NB_ITL);
    prom_hist(b, s, "vllm:e2e_request_latency_seconds", "End-to-end request latency.",
              offsetof(struct stats, e2e), b_e2e, NB_E2E);
    buf_puts(b, "# HELP metronome_mock_http_responses_total HTTP responses by status class.\n"
                "# TYPE metronome_mock_http_responses_total counter\n");
    for (int i = 1; i < 6; i++)
        buf_printf(b, "metronome_mock_http_responses_total{code=\"%dxx\"} %llu\n", i,
                   (unsigned long long)resp[i]);
    buf_printf(b,
               "# HELP metronome_mock_requests_total Requests whose head was received.\n"
               "# TYPE metronome_mock_requests_total counter\n"
               "metronome_mock_requests_total %llu\n",
               (unsigned long long)atomic_load_explicit(&s->next_index, memory_order_relaxed));
    respond(c, 200, "text/plain; version=0.0.4", b->p, b->len, NULL);
}

/* --dcgm: the names, types and labels of NVIDIA's dcgm-exporter with values made from what
 * the mock is doing (running requests, KV-cache use). The energy counter integrates the
 * power figure between scrapes, so energy and power agree. */
static void serve_dcgm(struct conn *c)
{
    struct worker *w = c->w;
    struct mock_server *s = w->srv;
    struct buf *b = &w->body;
    buf_reset(b);
    int64_t running = atomic_load_explicit(&s->running, memory_order_relaxed), kv = 0;
    for (int k = 0; k < s->nworkers; k++)
        kv += atomic_load_explicit(&s->workers[k].st.kv_tokens, memory_order_relaxed);
    double usage = s->cfg.kv_cache_tokens > 0 ? (double)kv / (double)s->cfg.kv_cache_tokens : 0;
    if (usage > 1)
        usage = 1;
    long util = running * 30 > 100 ? 100 : (long)(running * 30);
    double power = 70.0 + 1.5 * (double)util;
    pthread_mutex_lock(&s->dcgm_mu);
    int64_t now = clock_mono_ns();
    if (s->dcgm_last_ns > 0)
        s->dcgm_energy_mj += s->dcgm_power * (double)(now - s->dcgm_last_ns) / 1e6;
    s->dcgm_last_ns = now;
    s->dcgm_power = power;
    double energy = s->dcgm_energy_mj;
    pthread_mutex_unlock(&s->dcgm_mu);
    char lab[320];
    snprintf(lab, sizeof lab,
             "gpu=\"0\",UUID=\"GPU-6d6f636b-0000-0000-0000-000000000000\","
             "pci_bus_id=\"00000000:01:00.0\",device=\"nvidia0\",modelName=\"metronome mock "
             "GPU\",Hostname=\"metronome-mock\",DCGM_FI_DRIVER_VERSION=\"0.0.0\"");
    static const struct {
        const char *name, *type, *help;
    } f[] = {
        {"DCGM_FI_DEV_SM_CLOCK", "gauge", "SM frequency (in MHz)."},
        {"DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory frequency (in MHz)."},
        {"DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."},
        {"DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."},
        {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter",
         "Total energy consumption since boot (in mJ)."},
        {"DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."},
        {"DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %)."},
        {"DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."},
        {"DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."},
        {"DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."},
        {"DCGM_FI_DEV_POWER_VIOLATION", "counter",
         "Throttling duration due to power constraints (in us)."},
        {"DCGM_FI_PROF_SM_ACTIVE", "gauge",
         "The ratio of cycles an SM has at least 1 warp assigned (in %)."},
    };
    double fb_used = 20000.0 + 60000.0 * usage;
    double v[] = {running > 0 ? 1980 : 345,
                  2619,
                  35.0 + (double)util / 4,
                  power,
                  energy,
                  (double)util,
                  (double)util / 2,
                  81559.0 - fb_used,
                  fb_used,
                  0,
                  0,
                  (double)util / 100};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s{%s} %.*f\n", f[i].name, f[i].help, f[i].name,
                   f[i].type, f[i].name, lab, i == 4 || i == 11 ? 3 : 0, v[i]);
    respond(c, 200, "text/plain; version=0.0.4", b->p, b->len, NULL);
}

/* ---- start and stop --------------------------------------------------------------------- */

void mock_config_default(struct mock_config *c)
{
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8000;
    c->threads = 1;
    c->ttft_ns = 20000000;
    c->itl_ns = 5000000;
    c->osl = 100;
    c->tokens_per_chunk = 1;
    c->embedding_dim = 16;
    c->seed = 0;
    c->model = "metronome-mock";
    c->max_body = 16u << 20;
    c->max_connections = 100000;
    c->kernel_stamps = true;
    c->kv_cache_tokens = 262144;
}

static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof *v4;
        return 0;
    }
    const char *h = host;
    char tmp[64];
    size_t n = strlen(host);
    if (n >= 2 && n < sizeof tmp && host[0] == '[' && host[n - 1] == ']') {
        memcpy(tmp, host + 1, n - 2);
        tmp[n - 2] = '\0';
        h = tmp;
    }
    if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof *v6;
        return 0;
    }
    return -1;
}

static int listen_on(const struct sockaddr_storage *ss, socklen_t len, struct diag *d,
                     const char *host, int port)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return diag_set(d, ERR_IO, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 4096) < 0) {
        int e = errno;
        close(fd);
        return diag_set(d, ERR_IO, "cannot listen on %s port %d: %s", host, port, strerror(e));
    }
    return fd;
}

static void server_free(struct mock_server *s)
{
    pthread_mutex_destroy(&s->dcgm_mu);
    if (s->stamp_fd >= 0)
        close(s->stamp_fd);
    for (int i = 0; s->workers && i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        while (w->conns) {
            struct conn *c = w->conns;
            conn_close(c);
        }
        while (w->dead) {
            struct conn *c = w->dead;
            w->dead = c->next;
            conn_free(c);
        }
        tlog_write(w);
        if (w->ep >= 0)
            close(w->ep);
        if (w->lfd >= 0)
            close(w->lfd);
        if (w->tfd >= 0)
            close(w->tfd);
        if (w->efd >= 0)
            close(w->efd);
        free(w->rbuf);
        free(w->heap);
        buf_free(&w->out);
        buf_free(&w->body);
        buf_free(&w->ev);
        buf_free(&w->tlog);
    }
    if (s->tlog_fd >= 0)
        close(s->tlog_fd);
    if (s->tls)
        tls_config_free(s->tls);
    free(s->workers);
    free(s->faults);
    free(s->model);
    mock_text_free(&s->text);
    free(s);
}

int mock_start(const struct mock_config *cfg, struct mock_server **out, struct diag *d)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (resolve(cfg->host ? cfg->host : "127.0.0.1", cfg->port, &ss, &sslen) < 0)
        return diag_set(d, ERR_INVALID, "--host '%s' is not a numeric IPv4 or IPv6 address",
                        cfg->host);
    if (cfg->threads < 1 || cfg->tokens_per_chunk < 1 || cfg->osl < 1)
        return diag_set(d, ERR_INVALID, "threads, osl and tokens-per-chunk must be >= 1");
    struct mock_server *s = xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    s->tlog_fd = -1;
    pthread_mutex_init(&s->dcgm_mu, NULL);
    s->stamp_fd = cfg->kernel_stamps ? rxstamp_warm() : -1;
    s->model = xstrdup(cfg->model ? cfg->model : "metronome-mock");
    s->cfg.model = s->model;
    if (cfg->nfaults > 0) {
        s->faults = xmalloc((size_t)cfg->nfaults * sizeof *s->faults);
        memcpy(s->faults, cfg->faults, (size_t)cfg->nfaults * sizeof *s->faults);
    }
    s->cfg.faults = s->faults;
    s->cfg.timing_log = NULL;
    if (s->cfg.created == 0)
        s->cfg.created = clock_real_ns() / 1000000000;
    if (s->cfg.max_connections <= 0)
        s->cfg.max_connections = 100000;
    if (s->cfg.max_body == 0)
        s->cfg.max_body = 16u << 20;
    s->nworkers = cfg->threads;
    int rc = mock_text_load(&s->text, d);
    if (rc) {
        server_free(s);
        return rc;
    }
    s->cfg.tls_cert = s->cfg.tls_key = NULL;
    if (cfg->tls_cert) {
        rc = tls_server_config_new(&s->tls, cfg->tls_cert, cfg->tls_key, d);
        if (rc) {
            server_free(s);
            return rc;
        }
    }
    if (cfg->timing_log) {
        s->tlog_fd =
            open(cfg->timing_log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (s->tlog_fd < 0) {
            rc = diag_set(d, ERR_IO, "%s: %s", cfg->timing_log, strerror(errno));
            server_free(s);
            return rc;
        }
    }
    s->workers = xcalloc((size_t)s->nworkers, sizeof *s->workers);
    for (int i = 0; i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        w->ep = w->lfd = w->tfd = w->efd = -1;
        w->srv = s;
    }
    /* SO_REUSEPORT would let a second server (ours or anyone's of the same user) share a
     * busy port without a word: a plain bind first proves the port free (or, for port 0,
     * picks a free one); the workers' reuse-port sockets take it right after. */
    int port = cfg->port;
    int probe = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int reuse = 1; /* past connections in TIME_WAIT do not make the port busy */
    if (probe >= 0)
        setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
    if (probe < 0 || bind(probe, (const struct sockaddr *)&ss, sslen) < 0) {
        rc = diag_set(d, ERR_IO, "cannot listen on %s port %d: %s",
                      cfg->host ? cfg->host : "127.0.0.1", port, strerror(errno));
        if (probe >= 0)
            close(probe);
        server_free(s);
        return rc;
    }
    if (port == 0) {
        struct sockaddr_storage got;
        socklen_t gl = sizeof got;
        getsockname(probe, (struct sockaddr *)&got, &gl);
        port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                              : ((struct sockaddr_in6 *)&got)->sin6_port);
    }
    close(probe);
    for (int i = 0; i < s->nworkers; i++) {
        struct worker *w = &s->workers[i];
        w->srv = s;
        w->id = i;
        w->armed = INT64_MAX;
        if (ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
        else
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
        w->lfd = listen_on(&ss, sslen, d, cfg->host ? cfg->host : "127.0.0.1", port);
        if (w->lfd < 0) {
            rc = w->lfd;
            w->lfd = -1;
            server_free(s);
            return rc;
        }
        if (port == 0) {
            struct sockaddr_storage got;
            socklen_t gl = sizeof got;
            getsockname(w->lfd, (struct sockaddr *)&got, &gl);
            port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                                  : ((struct sockaddr_in6 *)&got)->sin6_port);
        }
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->ep < 0 || w->tfd < 0 || w->efd < 0) {
            rc = diag_set(d, ERR_IO, "epoll/timerfd/eventfd: %s", strerror(errno));
            server_free(s);
            return rc;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &tag_listen};
        epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &ev);
        ev.data.ptr = &tag_timer;
        epoll_ctl(w->ep, EPOLL_CTL_ADD, w->tfd, &ev);
        ev.data.ptr = &tag_stop;
        epoll_ctl(w->ep, EPOLL_CTL_ADD, w->efd, &ev);
        w->rbuf = xmalloc(RECV_BUF);
        buf_init(&w->out, 0);
        buf_init(&w->body, 0);
        buf_init(&w->ev, 0);
        buf_init(&w->tlog, 0);
        char tag[32];
        snprintf(tag, sizeof tag, "mock-worker-%d", i);
        rng_derive(&w->rng, cfg->seed, tag);
    }
    s->port = port;
    for (int i = 0; i < s->nworkers; i++) {
        if (pthread_create(&s->workers[i].th, NULL, worker_main, &s->workers[i]) != 0) {
            atomic_store(&s->stop, 1);
            for (int k = 0; k < i; k++) {
                uint64_t one = 1;
                if (write(s->workers[k].efd, &one, sizeof one) < 0) {
                    /* the loop also polls the flag */
                }
                pthread_join(s->workers[k].th, NULL);
            }
            server_free(s);
            return diag_set(d, ERR_IO, "cannot start worker threads");
        }
    }
    *out = s;
    return 0;
}

int mock_port(const struct mock_server *s)
{
    return s->port;
}

uint64_t mock_requests(const struct mock_server *s)
{
    return atomic_load_explicit(&s->next_index, memory_order_relaxed);
}

void mock_stop(struct mock_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    for (int i = 0; i < s->nworkers; i++) {
        uint64_t one = 1;
        if (write(s->workers[i].efd, &one, sizeof one) < 0) {
            /* an eventfd write fails only on overflow: the worker is awake anyway */
        }
    }
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i].th, NULL);
    server_free(s);
}
