/*
 * worker: one thread, one epoll loop. It takes items from its ring, starts each at its
 * intended time (timerfd with TFD_TIMER_ABSTIME, then a short spin), runs the
 * connection state machine (conn.h) over nonblocking sockets, enforces the per-request
 * deadlines, and serializes each finished record into its out buffer.
 *
 * Time: a single indexed min-heap holds every deadline of the worker (send times of
 * queued items and one deadline per busy connection); the timerfd is armed at the top.
 * epoll_wait blocks without a timeout, so no send time ever depends on its millisecond
 * granularity. Idle deadlines move on every read without touching the heap: the heap
 * key is refreshed lazily when it fires early.
 */
#include "conn.h"
#include "endpoint.h"
#include "hash.h"
#include "engine.h"
#include "loadshape.h"
#include "tls.h"
#include "xalloc.h"

#include <cJSON.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"
#include "rxstamp.h"

enum { TK_SEND = 1, TK_CONN = 2 };

struct session {
    char *id;
    bool busy;
    int turns, done; /* turns in the source (0: unknown) and turns finished */
    int64_t last_end;
    int64_t last_intended; /* the previous turn's t_intended (a user-centric gap's base) */
    bool holds;            /* closed loop: keeps its slot between turns (counted in wpriv.held) */
    struct item *wait_head, *wait_tail;
    cJSON *history; /* live chat history (messages), or NULL */
    /* sticky-user-sessions: the connection kept between turns (idle, in no pool; its
     * c->lease points back at id), or NULL */
    struct conn *lease;
};

struct wpriv {
    struct timer **heap;
    int nheap, capheap;
    int64_t armed;
    struct conn **idle; /* per target: connected, no request */
    /* per target: pre-connections still connecting (a send may take one and wait for
     * it rather than open another) */
    struct conn **pre;
    long *nidle, *npre;   /* per target: lengths of idle[] and pre[] */
    long *due;            /* per target: scratch for pool_fill */
    bool pool_dirty;      /* a send took a connection, items came or one closed: refill */
    int64_t pool_backoff; /* no pool opens before this (a connect failed at once) */
    /* The pool holds a connection for every send due up to here (the horizon of its last
     * complete fill): a send due later was not foreseen when the worker last ran. */
    int64_t pool_until;
    struct conn *freelist;
    long next_conn_id;
    struct item *pend_head, *pend_tail;
    char *rbuf;
    size_t rcap;
    struct http1_response resp;
    struct session *sess;
    size_t nsess, capsess;
    int stop_seen;
    /* Closed loop: when each currently free slot became free, oldest first (a ring of
     * w->slots entries), so a request that was not there to take a slot at once carries
     * the wait in its lateness instead of hiding it. */
    int64_t *freed;
    long freed_head, freed_len;
    /* Closed loop with sessions: slots kept by sessions between two turns. A session
     * holds its slot from its first turn to the end of its last, as AIPerf 0.13's session
     * slots do, so a later turn starts when it is due instead of queueing behind new
     * sessions (it used to be reported one request latency late). */
    long held;
    bool orphans_released; /* the scheduler is done: holds of cut sessions were given back */
    int phase_seen;        /* phase of the last item taken (holds do not cross phases) */
    /* Closed loop with e->level (a ramp, a warmup concurrency): the generation seen and
     * how many of this worker's slots it has opened (each one's opening instant went to
     * `freed`, so the first request on it is intended at that instant). */
    int lvl_gen;
    long lvl_seen;
    int cancel_seen; /* e->cancel_gen acted on */
    /* --prefill-concurrency: the requests waiting here waited for a prefill slot (each is
     * intended when one came free, the latest release or ramp level before it starts; set
     * when a prefill slot was not there, cleared when a session slot is what they wait for
     * or none waits); a slot was given back by a first token in this event batch (the
     * loop starts what waits here after the batch, not in the middle of a read). */
    bool pf_waited, pf_freed;
    long nstream; /* streamed requests in flight (their chunks are read as they come) */
};

static char ev_eventfd, ev_timerfd; /* epoll tags for the two non-socket fds */

static struct wpriv *P(struct worker *w)
{
    return w->priv;
}

/* ---- the timer heap ---- */

static bool tless(const struct timer *a, const struct timer *b)
{
    return a->when < b->when;
}

static void hswap(struct wpriv *p, int i, int j)
{
    struct timer *t = p->heap[i];
    p->heap[i] = p->heap[j];
    p->heap[j] = t;
    p->heap[i]->idx = i;
    p->heap[j]->idx = j;
}

static void sift_up(struct wpriv *p, int i)
{
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!tless(p->heap[i], p->heap[parent]))
            break;
        hswap(p, i, parent);
        i = parent;
    }
}

static void sift_down(struct wpriv *p, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < p->nheap && tless(p->heap[l], p->heap[m]))
            m = l;
        if (r < p->nheap && tless(p->heap[r], p->heap[m]))
            m = r;
        if (m == i)
            return;
        hswap(p, i, m);
        i = m;
    }
}

static void timer_set(struct wpriv *p, struct timer *t, int64_t when)
{
    t->when = when;
    if (t->idx < 0) {
        if (p->nheap == p->capheap) {
            p->capheap = p->capheap ? p->capheap * 2 : 256;
            p->heap = xrealloc(p->heap, (size_t)p->capheap * sizeof *p->heap);
        }
        t->idx = p->nheap++;
        p->heap[t->idx] = t;
        sift_up(p, t->idx);
    } else {
        sift_up(p, t->idx);
        sift_down(p, t->idx);
    }
}

static void timer_del(struct wpriv *p, struct timer *t)
{
    int i = t->idx;
    if (i < 0)
        return;
    p->nheap--;
    if (i != p->nheap) {
        p->heap[i] = p->heap[p->nheap];
        p->heap[i]->idx = i;
        sift_up(p, i);
        sift_down(p, i);
    }
    t->idx = -1;
}

#define CONTAINER(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* ---- records ---- */

void worker_emit(struct worker *w, struct rec *r)
{
    pthread_mutex_lock(&w->out_mu);
    size_t before = w->out.len;
    rec_write_json(&w->out, r, w->eng->anchor_mono);
    if (before < OUT_SOFT && w->out.len >= OUT_SOFT)
        writer_kick(w->eng);
    if (w->out.len >= OUT_HARD && !atomic_load_explicit(&w->eng->no_writer, memory_order_relaxed)) {
        /* The writer is behind: wait for it rather than let records pile up. */
        int64_t t = clock_mono_ns();
        w->out_waiting = true;
        while (w->out.len >= OUT_HARD && !atomic_load(&w->eng->no_writer)) {
            writer_kick(w->eng);
            pthread_cond_wait(&w->out_cv, &w->out_mu);
        }
        w->out_waiting = false;
        atomic_fetch_add(&w->writer_waits, 1);
        atomic_fetch_add(&w->writer_wait_ns, clock_mono_ns() - t);
    }
    if (w->out.len >= OUT_HARD) /* no writer thread: the run fails (zw_err); stay bounded */
        buf_reset(&w->out);
    pthread_mutex_unlock(&w->out_mu);
}

void item_free(struct item *it)
{
    if (!it)
        return;
    rec_free(&it->rec);
    free(it->body);
    free(it->sh_val);
    free(it);
}

void item_release(struct worker *w, struct item *it)
{
    rec_free_results(&it->rec);
    if (!ring_push(w->back, it))
        item_free(it);
}

/* --failed-request-threshold (AIPerf 0.13), checked at every profiling record: once
 * max(concurrency, 10) are in, more than the share failed stops the run (stop 4: no new
 * request, those in flight cancelled). The first worker to see it wins. */
static void failed_threshold_check(struct engine *e)
{
    long recs_n = 0, errs_n = 0;
    for (int i = 0; i < e->nw; i++) {
        recs_n += atomic_load_explicit(&e->w[i].prof_records, memory_order_relaxed);
        errs_n += atomic_load_explicit(&e->w[i].prof_errors, memory_order_relaxed);
    }
    const struct replay_config *cfg = e->cfg;
    long conc = cfg->concurrency_total > 0 ? cfg->concurrency_total : cfg->concurrency;
    long floor_n = conc > 10 ? conc : 10;
    if (recs_n < floor_n || (double)errs_n / (double)recs_n <= cfg->failed_threshold)
        return;
    int zero = 0;
    if (!atomic_compare_exchange_strong(&e->stop, &zero, 4))
        return;
    atomic_store(&e->thr_hit, 1);
    atomic_store(&e->thr_records, recs_n);
    atomic_store(&e->thr_errors, errs_n);
    for (int i = 0; i < e->nw; i++)
        worker_wake(&e->w[i]);
}

/* An item leaves the worker: recorded (or dropped without a record when it was never
 * due), counted, freed. */
static void item_done(struct worker *w, struct item *it, bool record)
{
    struct engine *e = w->eng;
    if (record) {
        struct rec *r = &it->rec;
        r->worker = w->id;
        if (r->error == RECERR_NOT_SENT) {
            atomic_fetch_add(&w->not_sent, 1);
        } else {
            atomic_fetch_add(&w->completed, 1);
            if (r->error != RECERR_NONE) {
                atomic_fetch_add(&w->errors, 1);
                if (!atomic_exchange(&e->first_err_taken, 1)) {
                    char code[16] = "";
                    if (r->error_code > 0)
                        snprintf(code, sizeof code, " %d", r->error_code);
                    snprintf(e->first_err, sizeof e->first_err, "%s%s: %s",
                             rec_error_name(r->error), code, r->error_msg ? r->error_msg : "");
                }
            }
            if (r->cancelled)
                atomic_fetch_add(&w->cancelled, 1);
            if (r->phase == PHASE_PROFILE) {
                atomic_fetch_add_explicit(&w->prof_records, 1, memory_order_relaxed);
                if (r->error != RECERR_NONE)
                    atomic_fetch_add_explicit(&w->prof_errors, 1, memory_order_relaxed);
                if (e->cfg->failed_threshold >= 0)
                    failed_threshold_check(e);
            }
        }
        worker_emit(w, r);
    }
    if (it->sess_end) {
        /* a warmup-block session is over (recorded or dropped): the scheduler may start
         * the next one */
        atomic_fetch_sub(&e->wsess, 1);
        if (atomic_exchange(&e->sched_waiting, 0)) {
            uint64_t one = 1;
            ssize_t k = write(e->sched_evfd, &one, sizeof one);
            (void)k;
        }
    }
    item_release(w, it);
    atomic_fetch_sub(&e->outstanding, 1);
}

/* ---- sessions (multi-turn) ---- */

static struct session *session_get(struct wpriv *p, const char *id)
{
    if (p->nsess * 2 >= p->capsess) {
        size_t ncap = p->capsess ? p->capsess * 2 : 64;
        struct session *n = xcalloc(ncap, sizeof *n);
        for (size_t i = 0; i < p->capsess; i++) {
            if (!p->sess[i].id)
                continue;
            size_t j = hash64_str(p->sess[i].id) & (ncap - 1);
            while (n[j].id)
                j = (j + 1) & (ncap - 1);
            n[j] = p->sess[i];
        }
        free(p->sess);
        p->sess = n;
        p->capsess = ncap;
    }
    size_t j = hash64_str(id) & (p->capsess - 1);
    while (p->sess[j].id) {
        if (!strcmp(p->sess[j].id, id))
            return &p->sess[j];
        j = (j + 1) & (p->capsess - 1);
    }
    p->sess[j].id = xstrdup(id);
    p->nsess++;
    return &p->sess[j];
}

/* Session id, or NULL when this worker has none of that name (never adds one). */
static struct session *session_find(struct wpriv *p, const char *id)
{
    if (!p->capsess)
        return NULL;
    size_t j = hash64_str(id) & (p->capsess - 1);
    while (p->sess[j].id) {
        if (!strcmp(p->sess[j].id, id))
            return &p->sess[j];
        j = (j + 1) & (p->capsess - 1);
    }
    return NULL;
}

/* Frees session s (its last turn is over) and closes the gap it leaves in the linear
 * probe sequence by moving later entries back (no tombstones). */
static void session_drop(struct wpriv *p, struct session *s)
{
    size_t mask = p->capsess - 1;
    size_t i = (size_t)(s - p->sess);
    free(s->id);
    cJSON_Delete(s->history);
    for (size_t j = (i + 1) & mask; p->sess[j].id; j = (j + 1) & mask) {
        size_t home = hash64_str(p->sess[j].id) & mask;
        /* entry j may move to the hole at i unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            p->sess[i] = p->sess[j];
            i = j;
        }
    }
    memset(&p->sess[i], 0, sizeof p->sess[i]);
    p->nsess--;
}

/* ---- pending queue ---- */

/* Adds one to a counter only this thread writes (others read it): a plain load and
 * store, no locked instruction on the per-read path. */
static void count_up(_Atomic long *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static void count_down(_Atomic long *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) - 1,
                          memory_order_relaxed);
}

/* How far ahead of its sends the pool opens connections, at a fixed rate: sends due
 * within this horizon each find an idle (or already connecting) connection. The
 * scheduler hands items over at least 10 ms before they are due, so the horizon can
 * reach that far; 5 ms covers the longest stalls measured on a quiet 2-core VM (the
 * p99.9 of the worker's own lateness, ~3 ms) with about rate x 5 ms idle connections. */
#define POOL_AHEAD_NS 5000000

static int64_t pool_ahead_ns(const struct worker *w)
{
    return POOL_AHEAD_NS + w->eng->cfg->spin_ns;
}

/* Items wait here for a slot. They count in w->pending, which the scheduler adds to the
 * ring's count when it picks a worker: a worker that emptied its ring into this list has
 * not run out of work, and stocking it further would strand requests behind its slots
 * at the end of a run while another worker idles. */
static void pend_push(struct worker *w, struct item *it, bool front)
{
    struct wpriv *p = P(w);
    count_up(&w->pending);
    it->next = NULL;
    if (!p->pend_head) {
        p->pend_head = p->pend_tail = it;
    } else if (front) {
        it->next = p->pend_head;
        p->pend_head = it;
    } else {
        p->pend_tail->next = it;
        p->pend_tail = it;
    }
}

static struct item *pend_pop(struct worker *w)
{
    struct wpriv *p = P(w);
    struct item *it = p->pend_head;
    if (it) {
        count_down(&w->pending);
        p->pend_head = it->next;
        if (!p->pend_head)
            p->pend_tail = NULL;
        it->next = NULL;
    }
    return it;
}

/* ---- connections ---- */

/* The keep-alive pool of target c->url: connected, no request on it. */
static void idle_push(struct worker *w, struct conn *c)
{
    struct wpriv *p = P(w);
    c->next = p->idle[c->url];
    p->idle[c->url] = c;
    p->nidle[c->url]++;
}

static struct conn *idle_pop(struct worker *w, int url)
{
    struct wpriv *p = P(w);
    struct conn *c = p->idle[url];
    if (c) {
        p->idle[url] = c->next;
        c->next = NULL;
        p->nidle[url]--;
        p->pool_dirty = true;
    }
    return c;
}

/* Unlinks c from list *head (a short list: the pool's). */
static bool list_unlink(struct conn **head, struct conn *c)
{
    for (struct conn **pp = head; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            c->next = NULL;
            return true;
        }
    return false;
}

static void pre_push(struct worker *w, struct conn *c)
{
    struct wpriv *p = P(w);
    c->in_pre = true;
    c->next = p->pre[c->url];
    p->pre[c->url] = c;
    p->npre[c->url]++;
}

static void pre_unlink(struct worker *w, struct conn *c)
{
    struct wpriv *p = P(w);
    if (!c->in_pre)
        return;
    c->in_pre = false;
    if (list_unlink(&p->pre[c->url], c))
        p->npre[c->url]--;
}

static struct conn *conn_new(struct worker *w, int url)
{
    struct wpriv *p = P(w);
    struct conn *c = p->freelist;
    if (c)
        p->freelist = c->next;
    else
        c = xcalloc(1, sizeof *c);
    struct buf head = c->head;
    uint32_t gen = c->gen;
    memset(c, 0, sizeof *c);
    c->head = head;
    if (!c->head.max)
        buf_init(&c->head, HTTP1_MAX_HEAD);
    buf_reset(&c->head);
    buf_init(&c->body, w->eng->cfg->max_body);
    buf_init(&c->live_body, 0);
    c->gen = gen + 1;
    c->fd = -1;
    c->tm.idx = -1;
    c->tm.kind = TK_CONN;
    c->url = url;
    c->id = p->next_conn_id++;
    c->state = CONN_FREE;
    count_up(&w->conns_opened);
    return c;
}

/* The first bytes of every body are not counted against --max-body-bytes-total: their
 * sum is bounded by the connections, and small bodies then cost no shared atomic. */
#define BODY_FREE ((size_t)64 << 10)

/* Counts n more body bytes of c against the global budget; false when they would exceed
 * it (nothing counted then). */
static bool body_budget(struct worker *w, struct conn *c, size_t n)
{
    size_t over = c->body.len + n > BODY_FREE ? c->body.len + n - BODY_FREE : 0;
    if (over <= c->body_acct)
        return true;
    size_t add = over - c->body_acct;
    struct engine *e = w->eng;
    if (atomic_fetch_add(&e->body_inflight, add) + add > e->cfg->max_body_total) {
        atomic_fetch_sub(&e->body_inflight, add);
        return false;
    }
    c->body_acct += add;
    return true;
}

static void conn_release_bufs(struct worker *w, struct conn *c)
{
    if (c->body_acct) {
        atomic_fetch_sub(&w->eng->body_inflight, c->body_acct);
        c->body_acct = 0;
    }
    buf_free(&c->body);
    buf_free(&c->live_body);
    if (c->parser_live) {
        sse_parser_free(&c->parser);
        c->parser_live = false;
    }
    if (c->text) {
        buf_free(c->text);
        free(c->text);
        c->text = NULL;
    }
    if (c->rtext) {
        buf_free(c->rtext);
        free(c->rtext);
        c->rtext = NULL;
    }
}

/* Closes the socket and returns c to the free list (unlinking it from the keep-alive
 * pool when the server closed it while idle). */
static void conn_destroy(struct worker *w, struct conn *c)
{
    struct wpriv *p = P(w);
    if (c->lease) { /* closed while its session waited for the next turn */
        struct session *s = session_find(p, c->lease);
        if (s && s->lease == c)
            s->lease = NULL;
        c->lease = NULL;
    } else if (c->state == CONN_IDLE && list_unlink(&p->idle[c->url], c)) {
        p->nidle[c->url]--;
    }
    pre_unlink(w, c);
    if (c->pre_initial) {
        c->pre_initial = false;
        atomic_fetch_sub(&w->eng->preconnecting, 1);
    }
    p->pool_dirty = true;
    timer_del(p, &c->tm);
    if (c->tls) {
        tls_session_free(c->tls);
        c->tls = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd); /* also removes it from the epoll set */
        c->fd = -1;
    }
    conn_set_state(c, CONN_CLOSED);
    conn_release_bufs(w, c);
    buf_free(&c->head);
    conn_set_state(c, CONN_FREE);
    c->next = p->freelist;
    p->freelist = c;
}

static int64_t conn_deadline(const struct conn *c)
{
    int64_t t = 0;
    int64_t dl[3] = {c->dl_phase, c->dl_total, c->dl_cancel};
    for (int i = 0; i < 3; i++)
        if (dl[i] && (!t || dl[i] < t))
            t = dl[i];
    return t;
}

/* Keys the connection's heap entry at its earliest deadline, exactly. */
static void conn_arm_exact(struct worker *w, struct conn *c)
{
    int64_t t = conn_deadline(c);
    if (t)
        timer_set(P(w), &c->tm, t);
    else
        timer_del(P(w), &c->tm);
}

/* Keys the connection's heap entry, lazily: an entry already keyed at or before its
 * earliest deadline stays (it fires early, and conn_timeout keys it exactly then), and a
 * finished request's entry is left in place (finish). A kept connection's total deadline
 * moves --timeout ahead at every request, so exact keys cost a heap removal and insertion
 * per request (~2,800 instructions with 64 connections); only a deadline earlier than the
 * key re-keys now, so no deadline ever fires late. */
static void conn_arm(struct worker *w, struct conn *c)
{
    int64_t t = conn_deadline(c);
    if (c->tm.idx >= 0 && (!t || c->tm.when <= t))
        return;
    conn_arm_exact(w, c);
}

static int64_t secs(double s)
{
    return s > 0 ? (int64_t)(s * 1e9) : 0;
}

static void start_item(struct worker *w, struct item *it, int64_t now);
static int64_t pool_wake(const struct worker *w);
static void try_start_pending(struct worker *w);
static void slot_release(struct worker *w);
static void prefill_release(struct worker *w, struct item *it, int64_t t);
static void wake_sched(struct worker *w);
static void slot_freed(struct worker *w, int64_t now);
static bool exhausted(struct worker *w);

/* Closed loop over multi-turn sessions: a session's slot is its own until its last turn
 * ends (AIPerf 0.13 counts --concurrency in sessions). Only when each worker owns its
 * slots; with a shared cap (rate and fixed modes) turns take slots request by request. */
static bool session_slots(const struct worker *w)
{
    return w->eng->cfg->mode == MODE_CONCURRENCY && !w->eng->gcap && w->slots > 0;
}

/* A session gives back the slot it kept between turns. */
static void unhold(struct worker *w, struct session *s)
{
    if (s->holds) {
        s->holds = false;
        P(w)->held--;
    }
}

/* Live chat history: the session's messages, then this turn's. */
static void live_body(struct worker *w, struct conn *c, struct item *it)
{
    struct session *s = session_get(P(w), it->rec.conv);
    if (!s->history || cJSON_GetArraySize(s->history) == 0)
        return;
    cJSON *root = cJSON_ParseWithLength(it->body, it->body_len);
    cJSON *msgs = root ? cJSON_GetObjectItemCaseSensitive(root, "messages") : NULL;
    if (!cJSON_IsArray(msgs)) {
        cJSON_Delete(root);
        return;
    }
    cJSON *all = cJSON_Duplicate(s->history, 1);
    cJSON *m;
    cJSON_ArrayForEach(m, msgs) cJSON_AddItemToArray(all, cJSON_Duplicate(m, 1));
    cJSON_ReplaceItemInObjectCaseSensitive(root, "messages", all);
    char *txt = cJSON_PrintUnformatted(root);
    buf_reset(&c->live_body);
    buf_puts(&c->live_body, txt);
    cJSON_free(txt);
    cJSON_Delete(root);
}

/* Adds a finished turn's exchange to its session's history: the turn's own messages, then
 * the reply as received. A recorded turn's body already holds the whole conversation, so
 * it replaces the history instead. */
static void live_append(struct worker *w, struct item *it, const struct buf *reply)
{
    struct session *s = session_get(P(w), it->rec.conv);
    cJSON *root = cJSON_ParseWithLength(it->body, it->body_len);
    cJSON *msgs = root ? cJSON_GetObjectItemCaseSensitive(root, "messages") : NULL;
    if (cJSON_IsArray(msgs)) {
        if (!it->live) {
            cJSON_Delete(s->history);
            s->history = NULL;
        }
        if (!s->history)
            s->history = cJSON_CreateArray();
        cJSON *m;
        cJSON_ArrayForEach(m, msgs) cJSON_AddItemToArray(s->history, cJSON_Duplicate(m, 1));
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "role", "assistant");
        cJSON_AddStringToObject(a, "content", reply && reply->p ? reply->p : "");
        cJSON_AddItemToArray(s->history, a);
    }
    cJSON_Delete(root);
}

static void schedule_turn(struct worker *w, struct session *s, struct item *it, int64_t now)
{
    s->busy = true; /* from now until this turn ends, later turns wait behind it */
    int64_t base = s->last_end ? s->last_end : now;
    it->rec.t_intended = base + (int64_t)(it->delay_ms * 1e6);
    /* AIPerf's user-centric turn gap: the previous turn's intended time plus the gap, or
     * the end of its reply when that is later (the schedule then shifts, as AIPerf's
     * max(now, next_send_time + turn_gap) does) */
    if (it->gap_ns > 0 && s->last_intended) {
        int64_t at = s->last_intended + it->gap_ns;
        it->rec.t_intended = at > base ? at : base;
    }
    if (it->not_before > it->rec.t_intended)
        it->rec.t_intended = it->not_before;
    it->timed = true;
    timer_set(P(w), &it->tm, it->rec.t_intended);
    if (it->rec.t_intended <= P(w)->pool_until) /* not counted by the pool's last fill */
        P(w)->pool_until = it->rec.t_intended - 1;
    P(w)->pool_dirty = true;
}

/* ---- --record-http ---- */

/* Per-request write and read lists stop growing here (the count still grows in `dropped`):
 * a long stream's reads are bounded like its chunk stamps. */
#define HTTP_IO_MAX 65536u

/* Appends "name\0value\0" to b, the value "<redacted>" when the name carries a secret
 * (Authorization, api-key, x-api-key, --redact-header names). */
static void http_pair(const struct engine *e, struct buf *b, const char *n, size_t nl,
                      const char *v, size_t vl)
{
    buf_append(b, n, nl);
    buf_putc(b, '\0');
    if (endpoint_header_secret(n, nl, e->redact, e->nredact))
        buf_puts(b, "<redacted>");
    else
        buf_append(b, v, vl);
    buf_putc(b, '\0');
}

/* The "Name: value" lines of a request head (its request line skipped) as pairs. */
static uint32_t http_head_pairs(const struct engine *e, struct buf *b, const char *p, size_t n)
{
    uint32_t k = 0;
    const char *end = p + n, *line = memchr(p, '\n', n);
    line = line ? line + 1 : end; /* past the request line */
    while (line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            eol = end;
        const char *le = eol > line && eol[-1] == '\r' ? eol - 1 : eol;
        const char *colon = memchr(line, ':', (size_t)(le - line));
        if (colon) {
            const char *v = colon + 1;
            while (v < le && (*v == ' ' || *v == '\t'))
                v++;
            http_pair(e, b, line, (size_t)(colon - line), v, (size_t)(le - v));
            k++;
        }
        line = eol + 1;
    }
    return k;
}

/* A fresh rec_http for the request about to be written (a retry starts a new one): the
 * request head as it goes out, secrets redacted. */
static void http_begin(struct worker *w, struct conn *c, const struct buf *pre)
{
    const struct engine *e = w->eng;
    struct item *it = c->item;
    struct rec_http *h = it->rec.http;
    if (h) {
        free(h->req_h);
        free(h->resp_h);
        free(h->tx.v);
        free(h->rx.v);
        free(h->payload);
        free(h->ev.v);
        buf_free(&h->evs);
    } else {
        h = it->rec.http = xmalloc(sizeof *h);
    }
    memset(h, 0, sizeof *h);
    h->tx.max = h->rx.max = HTTP_IO_MAX;
    if (e->cfg->record_responses) { /* the body as it goes out (a live body included) */
        const char *body = c->live_body.len ? c->live_body.p : it->body;
        size_t blen = c->live_body.len ? c->live_body.len : it->body_len;
        h->payload = xstrndup(body ? body : "", body ? blen : 0);
        h->payload_len = blen;
        h->ev.max = 1u << 20;
        buf_init(&h->evs, REC_RAW_MAX);
    }
    struct buf head, pairs;
    buf_init(&head, 1 << 20);
    buf_init(&pairs, 1 << 20);
    buf_append(&head, pre->p, pre->len);
    buf_append(&head, c->clen, c->clen_len);
    if (e->sh_len) {
        buf_append(&head, e->sh, e->sh_len);
        buf_append(&head, it->sh_val ? it->sh_val : it->rec.conv, c->sh_vlen);
        buf_puts(&head, "\r\n");
    }
    h->nreq_h = http_head_pairs(e, &pairs, head.p ? head.p : "", head.len);
    h->req_h = pairs.p; /* owned now */
    buf_free(&head);
}

/* One response event (an SSE event, or the whole non-streaming body) for
 * --record-responses; past REC_RAW_MAX bytes only the drop count grows. */
static void http_event(struct rec_http *h, int64_t t, const char *type, size_t tl, const char *data,
                       size_t dl)
{
    size_t at = h->evs.len;
    if (h->ev.n >= h->ev.max || buf_append(&h->evs, type, tl) || buf_putc(&h->evs, '\0') ||
        buf_append(&h->evs, data, dl) || buf_putc(&h->evs, '\0')) {
        h->evs.len = at; /* nothing of a partial event stays */
        h->ev_dropped++;
        return;
    }
    rec_chunks_add(&h->ev, t, 0);
}

/* The response head: status reason, headers, and the socket's two addresses (read here,
 * once per response, as AIPerf reads them when the head arrives). */
static void http_head(struct worker *w, struct conn *c, const struct http1_response *resp)
{
    struct rec_http *h = c->item->rec.http;
    size_t rl = resp->reason_len < sizeof h->reason - 1 ? resp->reason_len : sizeof h->reason - 1;
    memcpy(h->reason, resp->reason ? resp->reason : "", resp->reason ? rl : 0);
    h->reason[resp->reason ? rl : 0] = '\0';
    struct buf pairs;
    buf_init(&pairs, 1 << 20);
    for (size_t i = 0; i < resp->nheaders; i++)
        http_pair(w->eng, &pairs, resp->headers[i].name, resp->headers[i].name_len,
                  resp->headers[i].value, resp->headers[i].value_len);
    free(h->resp_h);
    h->resp_h = pairs.p;
    h->nresp_h = (uint32_t)resp->nheaders;
    struct sockaddr_storage ss;
    for (int side = 0; side < 2; side++) {
        socklen_t sl = sizeof ss;
        int rc = side ? getpeername(c->fd, (struct sockaddr *)&ss, &sl)
                      : getsockname(c->fd, (struct sockaddr *)&ss, &sl);
        char *ip = side ? h->remote : h->local;
        int *port = side ? &h->remote_port : &h->local_port;
        if (rc)
            continue;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, ip, 48);
            *port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, ip, 48);
            *port = ntohs(a->sin6_port);
        }
    }
}

/* The request on c is over (successfully or not): record it, recycle or close c, and let
 * the next request take the slot. */
static void finish(struct worker *w, struct conn *c, int64_t now, bool reuse)
{
    struct wpriv *p = P(w);
    struct item *it = c->item;
    c->item = NULL;
    it->rec.t_end = now;
    if (w->eng->cfg->record_text) {
        /* the texts move into the record (the report counts them with a tokenizer) */
        it->rec.text =
            xstrndup(c->text && c->text->p ? c->text->p : "", c->text ? c->text->len : 0);
        it->rec.rtext =
            xstrndup(c->rtext && c->rtext->p ? c->rtext->p : "", c->rtext ? c->rtext->len : 0);
    }
    if (it->rec.t_start)
        lhist_add(&w->late, it->rec.t_start - it->rec.t_intended);
    if (it->rec.stream && it->rec.t_first && it->rec.t_start && !it->rec.error) { /* live p50s */
        lhist_add(&w->ttft, it->rec.t_first - it->rec.t_start);
        if (it->rec.chunks.n > 1)
            lhist_add(&w->itl, (it->rec.t_last - it->rec.t_first) / (it->rec.chunks.n - 1));
    }
    c->dl_phase = c->dl_total = c->dl_cancel = 0;
    /* The heap entry stays (conn_arm): a kept connection's next request keys it again;
     * if it fires first, conn_timeout finds no deadline and removes it; conn_destroy
     * removes it otherwise. */
    bool kept = false; /* the session keeps this slot for its next turn */
    enum conn_reuse cr = w->eng->cfg->conn_reuse;
    bool leased = false; /* sticky-user-sessions: the session keeps c for its next turn */
    if (w->eng->multi_turn) {
        struct session *s = session_get(p, it->rec.conv);
        s->busy = false;
        s->last_end = now;
        s->last_intended = it->rec.t_intended;
        s->done++;
        /* another turn follows: here already, or known to come (the turn count says so,
         * and the scheduler may still send it) */
        bool known_more = s->turns > 0 && s->done < s->turns && !exhausted(w);
        if (it->keep && it->rec.error == RECERR_NONE &&
            (s->wait_head || known_more || s->turns == 0))
            live_append(w, it, c->text);
        if ((s->wait_head || known_more) && session_slots(w) && atomic_load(&w->eng->stop) == 0) {
            s->holds = kept = true;
            p->held++;
        }
        /* AIPerf 0.13 gives a session's connection up after its final turn and after a
         * turn that failed or was cancelled (the connection may be dirty) */
        if (cr == REUSE_STICKY && reuse && it->rec.error == RECERR_NONE &&
            (s->wait_head || known_more) && atomic_load(&w->eng->stop) == 0) {
            if (s->lease) /* not expected: a turn runs on its session's lease */
                conn_destroy(w, s->lease);
            s->lease = c;
            c->lease = s->id;
            leased = true;
        }
        struct item *next = s->wait_head;
        if (next) {
            s->wait_head = next->next;
            if (!s->wait_head)
                s->wait_tail = NULL;
            next->next = NULL;
            schedule_turn(w, s, next, now);
        } else if (s->turns > 0 && s->done >= s->turns) {
            session_drop(p, s); /* its last turn: nothing will read its history again */
            count_up(&w->sessions_done);
        }
    }
    conn_release_bufs(w, c);
    if (cr != REUSE_POOLED && !leased)
        reuse = false; /* never: closed after every response; sticky: after the last turn */
    if (reuse && atomic_load(&w->eng->stop) < 2) {
        c->served = true;
        conn_set_state(c, CONN_IDLE);
        if (!leased)
            idle_push(w, c);
    } else {
        conn_destroy(w, c);
    }
    atomic_fetch_sub(&w->active, 1);
    if (it->prefill) /* no first token came (an error, a cancel, a whole body at once) */
        prefill_release(w, it, now);
    p->nstream -= it->rec.stream;
    slot_release(w);
    if (!w->eng->gcap && !kept)
        slot_freed(w, now);
    item_done(w, it, true);
    try_start_pending(w);
    if (w->eng->lvl_ramp_ns > 0) /* a ramp: the scheduler hands out one item per free slot */
        wake_sched(w);
}

/* A pre-connection (no request on it) finished connecting: park it in the pool. */
static void pre_done(struct worker *w, struct conn *c, bool ok, int64_t now)
{
    struct wpriv *p = P(w);
    pre_unlink(w, c);
    if (c->pre_initial) {
        c->pre_initial = false;
        atomic_fetch_sub(&w->eng->preconnecting, 1);
    }
    if (ok) {
        c->connect_ns = now - c->pre_start;
        c->dl_phase = 0;
        timer_del(p, &c->tm);
        conn_set_state(c, CONN_IDLE);
        idle_push(w, c);
    } else {
        if (!p->pool_backoff || now >= p->pool_backoff)
            p->pool_backoff = now + 100000000; /* the pool stops opening for 100 ms */
        conn_destroy(w, c);
    }
}

/* A failed request. A stale keep-alive connection (the server closed it while idle) that
 * fails before any response byte is retried once on a fresh connection, as curl does. */
static void fail(struct worker *w, struct conn *c, enum rec_error e, int code, const char *msg,
                 int64_t now)
{
    struct item *it = c->item;
    if (!it) {
        pre_done(w, c, false, now);
        return;
    }
    if (e == RECERR_CLOSED && c->served && !c->got_bytes && !it->retried) {
        it->retried = true;
        c->item = NULL;
        conn_destroy(w, c);
        it->rec.t_start = it->rec.t_connected = it->rec.t_tls = it->rec.t_sent = 0;
        atomic_fetch_sub(&w->active, 1);
        P(w)->nstream -= it->rec.stream;
        it->next = NULL;
        start_item(w, it, now);
        return;
    }
    rec_set_error(&it->rec, e, code, "%s", msg);
    finish(w, c, now, false);
}

static void on_content(struct conn *c, const struct ep_chunk *ch, int64_t t)
{
    struct rec *r = &c->item->rec;
    if (ch->bad)
        r->bad_chunks++;
    if (ch->is_error)
        rec_set_error(r, RECERR_PROTOCOL, -1, "server error event: %s", ch->error_msg);
    if (ch->has_content) {
        if (!r->chunks.cap && r->osl_req > 0) /* role + content + finish/usage events */
            rec_chunks_reserve(&r->chunks, (uint32_t)r->osl_req + 4);
        rec_chunks_add(&r->chunks, t, ch->content_len > 0 ? 1 : 0);
        if (!r->t_first)
            r->t_first = t;
        r->t_last = t;
    }
    if (ch->has_reasoning)
        rec_chunks_add(&r->rchunks, t, 1);
    if (ch->has_usage && r->first_chunk_tokens < 0 && ch->completion_tokens >= 0 &&
        (ch->content_len > 0 || ch->has_reasoning))
        r->first_chunk_tokens = ch->completion_tokens;
    if (ch->has_usage) {
        r->has_usage = true;
        if (ch->prompt_tokens >= 0)
            r->prompt_tokens = ch->prompt_tokens;
        if (ch->completion_tokens >= 0)
            r->completion_tokens = ch->completion_tokens;
        if (ch->reasoning_tokens >= 0)
            r->reasoning_tokens = ch->reasoning_tokens;
    }
    if (ch->finish[0])
        memcpy(r->finish, ch->finish, sizeof r->finish);
}

/* The parsing callbacks run on the worker thread; they find the config here. */
static _Thread_local const struct replay_config *tl_cfg;

static int on_event(void *ctx, const struct sse_event *ev)
{
    struct conn *c = ctx;
    struct rec_http *h = c->item->rec.http;
    if (h && h->payload) { /* "message" is the type of an event without an event field */
        bool dflt = ev->type_len == 7 && !memcmp(ev->type, "message", 7);
        http_event(h, ev->first_byte_ns, dflt ? "" : ev->type, dflt ? 0 : ev->type_len, ev->data,
                   ev->data_len);
    }
    struct ep_chunk ch;
    endpoint_parse_text(tl_cfg->endpoint, true, ev->data, ev->data_len, &ch, c->text, c->rtext);
    on_content(c, &ch, ev->first_byte_ns);
    return 0;
}

static void complete(struct worker *w, struct conn *c, int64_t now)
{
    struct rec *r = &c->item->rec;
    if (!c->sse && r->http && r->http->payload)
        http_event(r->http, now, "", 0, c->body.p ? c->body.p : "", c->body.len);
    if (c->sse) {
        sse_parser_finish(&c->parser);
    } else if (c->status == 200) {
        struct ep_chunk ch;
        endpoint_parse_text(w->eng->cfg->endpoint, false, c->body.p ? c->body.p : "", c->body.len,
                            &ch, c->text, c->rtext);
        if (ch.has_content) {
            long tok =
                ch.completion_tokens >= 0 ? ch.completion_tokens : (long)((ch.content_len + 3) / 4);
            ch.has_content = false;
            on_content(c, &ch, now);
            rec_chunks_add(&r->chunks, now, (int32_t)tok);
            r->t_first = r->t_last = now;
        } else {
            on_content(c, &ch, now);
        }
        if (ch.bad && c->body.len > 0 && r->error == RECERR_NONE) {
            /* A 200 whose body is not the endpoint's JSON measured nothing: name it, or it
             * counts in error_rate with an empty error summary. (An empty body is the
             * zero-length case, judged elsewhere.) */
            size_t n = c->body.len < 120 ? c->body.len : 120;
            char head[128];
            for (size_t i = 0; i < n; i++)
                head[i] = (unsigned char)c->body.p[i] < 0x20 ? ' ' : c->body.p[i];
            head[n] = '\0';
            rec_set_error(r, RECERR_PROTOCOL, 200, "response body is not %s JSON: %s%s",
                          endpoint_type_name(w->eng->cfg->endpoint), head,
                          c->body.len > n ? "..." : "");
        }
    }
    if (c->status != 200) {
        /* The server's whole reason, as far as a record keeps one. */
        size_t n = c->body.len < REC_ERROR_MSG_MAX - 1 ? c->body.len : REC_ERROR_MSG_MAX - 1;
        char msg[REC_ERROR_MSG_MAX];
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)c->body.p[i];
            msg[k++] = ch < 0x20 ? ' ' : (char)ch;
        }
        msg[k] = '\0';
        rec_set_error(r, RECERR_HTTP, c->status, "%s", k ? msg : http1_reason(c->status));
    }
    /* The framing completed, so the connection is at a message boundary: an HTTP error
     * or a bad payload does not make it unusable. */
    finish(w, c, now, c->keep_alive);
}

/* Body bytes (a view into the receive buffer): into the SSE parser or the body buffer.
 * False when a cap was exceeded (the record says which). */
static bool body_data(struct worker *w, struct conn *c, const char *data, size_t dlen, int64_t now)
{
    if (c->sse) {
        int rc = sse_parser_feed(&c->parser, data, dlen, now, on_event, c);
        if (rc == ERR_TOO_LARGE) {
            rec_set_error(&c->item->rec, RECERR_PROTOCOL, -1,
                          "SSE event larger than --max-event-bytes (%zu)", w->eng->cfg->max_event);
            return false;
        }
    } else if (buf_append(&c->body, data, dlen)) {
        rec_set_error(&c->item->rec, RECERR_PROTOCOL, -1,
                      "response body larger than --max-body-bytes (%zu)", w->eng->cfg->max_body);
        return false;
    } else if (!body_budget(w, c, 0)) {
        rec_set_error(&c->item->rec, RECERR_PROTOCOL, -1,
                      "response bodies being received at once exceed --max-body-bytes-total (%zu)",
                      w->eng->cfg->max_body_total);
        return false;
    }
    return true;
}

static bool is_sse(const struct http1_response *r)
{
    const char *t = r->content_type;
    size_t n = r->content_type_len;
    static const char want[] = "text/event-stream";
    size_t k = sizeof want - 1;
    return t && n >= k && !strncasecmp(t, want, k) && (n == k || t[k] == ';' || t[k] == ' ');
}

/* The final response head is parsed (interim 1xx heads were skipped by the reader). */
static void on_head(struct worker *w, struct conn *c, const struct http1_response *resp,
                    int64_t now)
{
    struct rec *r = &c->item->rec;
    r->t_head = now;
    r->status = c->status = resp->status;
    if (r->http)
        http_head(w, c, resp);
    c->keep_alive = resp->keep_alive && !c->early;
    c->sse = is_sse(resp);
    if (c->sse) {
        sse_parser_init(&c->parser, w->eng->cfg->max_event);
        c->parser_live = true;
    }
    conn_set_state(c, CONN_READING_BODY);
}

/* The response reader failed (malformed bytes, or the server closed too early). */
static void rx_failed(struct worker *w, struct conn *c, int64_t now)
{
    enum http1_rx_error e = c->rx.error;
    const char *m = http1_rx_error_text(e);
    if (e == HTTP1_RX_UPGRADE) {
        c->item->rec.t_head = now;
        c->item->rec.status = c->status = 101;
        fail(w, c, RECERR_PROTOCOL, 101, m, now);
    } else if (e == HTTP1_RX_EOF_NO_HEAD || e == HTTP1_RX_EOF_MID_HEAD ||
               e == HTTP1_RX_EOF_MID_BODY) {
        fail(w, c, RECERR_CLOSED, -1, m, now);
    } else {
        fail(w, c, RECERR_PROTOCOL, -1, m, now);
    }
}

/* Bytes arrived at `now`. Returns false when c is gone (finished or failed). The response
 * framing is the reader's (http1_rx): it says when the response ends, including a body of
 * length 0 that ends with its head. */
static bool on_bytes(struct worker *w, struct conn *c, const char *p, size_t n, int64_t now)
{
    struct wpriv *pv = P(w);
    const struct replay_config *cfg = w->eng->cfg;
    c->got_bytes = true;
    if (cfg->idle_timeout_s > 0) {
        c->dl_phase = now + secs(cfg->idle_timeout_s);
        c->phase_kind = RECERR_TIMEOUT_IDLE;
        /* Later idle deadlines only move forward and are refreshed lazily when the heap
         * key fires; one earlier than the key must re-key now. */
        if (c->tm.idx < 0 || c->dl_phase < c->tm.when)
            conn_arm(w, c);
    } else {
        c->dl_phase = 0;
    }
    if (c->state == CONN_SENDING && c->item) {
        /* An early response (a 413, or a 429 from a gateway that did not read the body):
         * HTTP/1.1 lets a server answer before the request ends, and a client watches for
         * it while sending. The rest of the body is not sent, and the connection is not
         * reused (the server would read that rest as the next request). */
        c->early = true;
        conn_set_state(c, CONN_READING_HEAD);
    }
    if (c->state != CONN_READING_HEAD && c->state != CONN_READING_BODY) {
        /* Bytes on an idle connection: the server is not speaking our request/response
         * turn; the connection cannot be trusted. */
        if (c->item)
            fail(w, c, RECERR_PROTOCOL, -1, "unexpected bytes before the request was sent", now);
        else
            conn_destroy(w, c);
        return false;
    }
    bool counted = false; /* this read carried body bytes (rec.rx_reads) */
    for (;;) {
        const char *data;
        size_t dlen;
        switch (http1_rx_feed(&c->rx, &pv->resp, &p, &n, &data, &dlen)) {
        case HTTP1_RX_MORE:
            return true;
        case HTTP1_RX_HEAD:
            on_head(w, c, &pv->resp, now);
            break;
        case HTTP1_RX_DATA:
            if (dlen) {
                struct rec *rr = &c->item->rec;
                rr->rx_bytes += dlen;
                rr->rx_reads += !counted;
                if (rr->http) { /* one (time, bytes) per read, as the counts are */
                    struct rec_chunks *rx = &rr->http->rx;
                    if (!counted)
                        rec_chunks_add(rx, now, (int32_t)(dlen < INT32_MAX ? dlen : INT32_MAX));
                    else if (rx->n && !rx->dropped)
                        rx->v[rx->n - 1].tokens += (int32_t)dlen;
                }
                counted = true;
            }
            if (!body_data(w, c, data, dlen, now)) {
                finish(w, c, now, false);
                return false;
            }
            if (c->item->prefill && c->item->rec.t_first) { /* its first token: prefill over */
                prefill_release(w, c->item, c->item->rec.t_first);
                pv->pf_freed = true;
            }
            break;
        case HTTP1_RX_DONE:
            /* Bytes past the end of the response: the server is out of step with our
             * requests, and they would be read as the next response. */
            if (n)
                c->keep_alive = false;
            complete(w, c, now);
            return false;
        case HTTP1_RX_ERROR:
            rx_failed(w, c, now);
            return false;
        }
    }
}

/* k more bytes of the request were written by a call begun at t; the head is its first
 * `head` bytes. Counts the body bytes among them, and the write when it carried any (AIPerf
 * counts the body writes only: aiohttp's on_request_chunk_sent). */
static void count_sent(struct conn *c, size_t head, size_t k, int64_t t)
{
    size_t from = c->sent > head ? c->sent : head, to = c->sent + k;
    struct rec *r = &c->item->rec;
    if (to > from) {
        r->tx_bytes += to - from;
        r->tx_writes++;
    }
    /* Stamped with the time read just before the write call, as t_sent is: on loopback the
     * response's kernel receive stamp can precede the call's return, and a trace whose
     * response starts before its request was sent would not be in order. */
    if (r->http) {
        if (c->sent < head && c->sent + k >= head)
            r->http->t_head_sent = t;
        if (to > from)
            rec_chunks_add(&r->http->tx, t, (int32_t)(to - from));
    }
    c->sent += k;
}

static void do_send(struct worker *w, struct conn *c)
{
    struct item *it = c->item;
    const struct target *t = &w->eng->targets[c->url];
    const struct buf *pre = &t->prefix[it->rec.stream ? 1 : 0];
    const char *body = c->live_body.len ? c->live_body.p : it->body;
    size_t blen = c->live_body.len ? c->live_body.len : it->body_len;
    /* --session-header: "NAME: " + the session id + the head's end, after the tail
     * (begin_request left the tail open); all three empty without it */
    const struct engine *e = w->eng;
    const char *sval = it->sh_val ? it->sh_val : it->rec.conv;
    size_t shn = e->sh_len, svl = shn ? c->sh_vlen : 0, sh_end = shn ? 4 : 0;
    size_t total = pre->len + c->clen_len + shn + svl + sh_end + blen;
    /* t_sent is read before the call that writes the last byte, not after it returns: on
     * loopback the response can arrive (kernel receive time) while the call is still
     * returning, and a response must not precede its request. */
    int64_t before = 0;
    while (c->sent < total) {
        struct iovec iov[6];
        int n = 0;
        size_t off = c->sent;
        const char *parts[6] = {pre->p, c->clen, e->sh, sval, "\r\n\r\n", body};
        size_t lens[6] = {pre->len, c->clen_len, shn, svl, sh_end, blen};
        for (int i = 0; i < 6; i++) {
            if (off >= lens[i]) {
                off -= lens[i];
                continue;
            }
            iov[n].iov_base = (void *)(parts[i] + off);
            iov[n].iov_len = lens[i] - off;
            off = 0;
            n++;
        }
        ssize_t k;
        before = clock_mono_ns();
        if (c->tls) {
            long r = tls_write(c->tls, iov[0].iov_base, iov[0].iov_len);
            if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
                return; /* the next readiness event calls us again with the same bytes */
            if (r < 0) {
                char msg[192];
                snprintf(msg, sizeof msg, "TLS write: %s", tls_session_error(c->tls));
                fail(w, c, RECERR_CLOSED, -1, msg, clock_mono_ns());
                return;
            }
            count_sent(c, total - blen, (size_t)r, before);
            continue;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        k = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return; /* EPOLLOUT (edge-triggered) resumes us */
            char msg[128];
            snprintf(msg, sizeof msg, "send: %s", strerror(errno));
            fail(w, c, RECERR_CLOSED, -1, msg, clock_mono_ns());
            return;
        }
        count_sent(c, total - blen, (size_t)k, before);
    }
    /* the deadlines below count from there too: a microsecond early at most */
    int64_t now = before ? before : clock_mono_ns();
    const struct replay_config *cfg = w->eng->cfg;
    it->rec.t_sent = now;
    conn_set_state(c, CONN_READING_HEAD);
    c->dl_phase = cfg->first_byte_timeout_s > 0 ? now + secs(cfg->first_byte_timeout_s) : 0;
    c->phase_kind = RECERR_TIMEOUT_FIRST_BYTE;
    if (it->cancel)
        c->dl_cancel = now + it->cancel_after_ns;
    conn_arm(w, c);
    atomic_fetch_add(&w->sent, 1);
}

/* Writes the decimal digits of v ending just before end; returns where they start. */
static char *dec_before(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* The end of the request head after the prefix: "BLEN\r\nX-Request-Id: [w]INDEX\r\n\r\n"
 * into out (conn.h's clen, 80 bytes: two 20-digit numbers fit). Without snprintf: this
 * runs once per request, and musl's printf cost ~2,400 instructions of it. */
size_t req_tail(char *out, size_t blen, bool warmup, long index)
{
    char num[24];
    char *e = num + sizeof num, *d = dec_before(e, blen);
    size_t n = (size_t)(e - d);
    memcpy(out, d, n);
    static const char hdr[] = "\r\nX-Request-Id: ";
    memcpy(out + n, hdr, sizeof hdr - 1);
    n += sizeof hdr - 1;
    if (warmup)
        out[n++] = 'w';
    if (index < 0) {
        out[n++] = '-';
        d = dec_before(e, (uint64_t)0 - (uint64_t)index);
    } else {
        d = dec_before(e, (uint64_t)index);
    }
    memcpy(out + n, d, (size_t)(e - d));
    n += (size_t)(e - d);
    memcpy(out + n, "\r\n\r\n", 4);
    return n + 4;
}

static void begin_request(struct worker *w, struct conn *c)
{
    struct item *it = c->item;
    if (it->live)
        live_body(w, c, it);
    size_t blen = c->live_body.len ? c->live_body.len : it->body_len;
    /* X-Request-Id joins a record to the server's logs (the mock's timing log keeps it). */
    c->clen_len = req_tail(c->clen, blen, it->rec.phase == PHASE_WARMUP, it->rec.index);
    if (w->eng->sh_len) { /* the session header follows: the head stays open (one CRLF) */
        c->clen_len -= 2;
        c->sh_vlen = strlen(it->sh_val ? it->sh_val : it->rec.conv);
    }
    c->sent = 0;
    if (w->eng->cfg->record_http)
        http_begin(w, c, &w->eng->targets[c->url].prefix[it->rec.stream ? 1 : 0]);
    /* a retry on a fresh connection counts its own writes and reads */
    it->rec.tx_bytes = it->rec.rx_bytes = 0;
    it->rec.tx_writes = it->rec.rx_reads = 0;
    c->early = false;
    c->got_bytes = false;
    c->status = 0;
    http1_rx_init(&c->rx, &c->head, false);
    if (it->keep || w->eng->cfg->record_text) {
        c->text = xmalloc(sizeof *c->text);
        buf_init(c->text, 1 << 24);
    }
    if (w->eng->cfg->record_text) {
        c->rtext = xmalloc(sizeof *c->rtext);
        buf_init(c->rtext, 1 << 24);
    }
    conn_set_state(c, CONN_SENDING);
    do_send(w, c);
}

static void tls_step(struct worker *w, struct conn *c)
{
    int rc = tls_handshake(c->tls);
    if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE)
        return; /* edge-triggered IN|OUT interest brings us back */
    int64_t now = clock_mono_ns();
    if (rc < 0) {
        char m[256];
        snprintf(m, sizeof m, "TLS handshake with %s: %s", w->eng->targets[c->url].url.host,
                 tls_session_error(c->tls));
        fail(w, c, RECERR_TLS, -1, m, now);
        return;
    }
    if (!c->item) {
        pre_done(w, c, true, now);
        return;
    }
    c->item->rec.t_tls = now;
    c->dl_phase = 0;
    conn_arm(w, c);
    begin_request(w, c);
}

static void on_connected(struct worker *w, struct conn *c, int64_t now)
{
    const struct target *t = &w->eng->targets[c->url];
    if (!c->item && !t->url.tls) {
        pre_done(w, c, true, now);
        return;
    }
    if (c->item)
        c->item->rec.t_connected = now;
    if (t->url.tls) {
        if (tls_session_new(&c->tls, w->eng->tls, c->fd, t->url.host)) {
            fail(w, c, RECERR_TLS, -1, "cannot create a TLS session", now);
            return;
        }
        if (w->eng->cfg->kernel_stamps)
            tls_session_rx_stamps(c->tls);
        conn_set_state(c, CONN_TLS_HANDSHAKE);
        tls_step(w, c);
        return;
    }
    struct rec *r = &c->item->rec;
    r->t_tls = now;
    c->dl_phase = 0;
    conn_arm(w, c);
    begin_request(w, c);
}

static struct addrinfo *target_ai(struct worker *w, int u)
{
    return resolver_addrs(w->eng, u);
}

/* Every address of target u failed: the resolver thread looks the name up again, so a
 * server that moved is found without restarting the run (and without this worker
 * blocking in getaddrinfo). */
static void re_resolve(struct worker *w, int u)
{
    resolver_request(w->eng, u);
}

/* strerror, with the fix for the one failure a load generator causes itself. */
static const char *connect_error(int err)
{
    if (err == EADDRNOTAVAIL)
        return "no free local port (ephemeral ports exhausted: widen "
               "net.ipv4.ip_local_port_range, or lower the rate or concurrency)";
    return strerror(err);
}

/* Starts a nonblocking connect to the target's ai_index-th address, or to the first
 * later one that does not fail at once (an IPv6 address with no route, say). When none
 * is left the name is resolved again for the next attempt. */
static int conn_connect(struct worker *w, struct conn *c, char *err, size_t errcap)
{
    const struct target *t = &w->eng->targets[c->url];
    struct addrinfo *ai = target_ai(w, c->url);
    for (int i = 0; ai && i < c->ai_index; i++)
        ai = ai->ai_next;
    if (!ai)
        snprintf(err, errcap, "no address for %s", t->url.host);
    for (; ai; ai = ai->ai_next, c->ai_index++) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            snprintf(err, errcap, "socket: %s", strerror(errno));
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        if (w->eng->cfg->kernel_stamps)
            rxstamp_enable(fd); /* without it reads fall back to recv() time (counted) */
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
            snprintf(err, errcap, "connect to %s:%s: %s", t->url.host, t->url.port,
                     connect_error(errno));
            close(fd);
            continue;
        }
        c->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.ptr = c};
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev)) {
            snprintf(err, errcap, "epoll_ctl: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    re_resolve(w, c->url);
    return -1;
}

static void start_item(struct worker *w, struct item *it, int64_t now)
{
    struct wpriv *p = P(w);
    const struct replay_config *cfg = w->eng->cfg;
    (void)now;
    atomic_fetch_add(&w->active, 1);
    p->nstream += it->rec.stream;
    if (w->eng->multi_turn)
        session_get(p, it->rec.conv)->busy = true;
    /* A retry after a stale pooled connection goes to a fresh one: the pool's other
     * connections may be just as stale. never: every request opens its own; sticky: a
     * later turn takes the connection its session kept, else opens one. */
    enum conn_reuse cr = cfg->conn_reuse;
    struct conn *c = NULL;
    if (cr == REUSE_POOLED && !it->retried) {
        c = idle_pop(w, it->url);
    } else if (cr == REUSE_STICKY && w->eng->multi_turn) {
        struct session *s = session_find(p, it->rec.conv);
        if (s && s->lease) {
            c = s->lease;
            s->lease = NULL;
            c->lease = NULL;
            if (it->retried || c->url != it->url) { /* kept for another target */
                conn_destroy(w, c);
                c = NULL;
            }
        }
    }
    int64_t t = clock_mono_ns();
    it->rec.t_start = t;
    if (c) {
        c->item = it;
        it->rec.conn = c->id;
        it->rec.reused = c->served;
        if (!c->served)
            it->rec.preconnect_ns = c->connect_ns; /* connected before the run started */
        it->rec.t_connected = it->rec.t_tls = t;
        c->dl_total = cfg->timeout_s > 0 ? t + secs(cfg->timeout_s) : 0;
        conn_arm(w, c);
        begin_request(w, c);
        return;
    }
    /* A pre-connection still connecting: the request waits for the rest of its connect
     * (it shows in t_connected - t_start) rather than open another one. */
    c = it->retried || cr != REUSE_POOLED ? NULL : p->pre[it->url];
    if (c) {
        pre_unlink(w, c);
        if (c->pre_initial) {
            c->pre_initial = false;
            atomic_fetch_sub(&w->eng->preconnecting, 1);
        }
        p->pool_dirty = true;
        c->item = it;
        it->rec.conn = c->id;
        it->rec.reused = false;
        c->dl_total = cfg->timeout_s > 0 ? t + secs(cfg->timeout_s) : 0;
        conn_arm(w, c);
        return;
    }
    /* No connection to take: this send opens one on its own critical path (the pool
     * could not see it coming, or its horizon did not cover how late the send is). */
    if (it->timed && cr == REUSE_POOLED) { /* the pool's misses (the others have no pool) */
        count_up(&w->conns_at_send);
        if (it->rec.t_intended > p->pool_until)
            count_up(&w->conns_at_send_late);
    }
    c = conn_new(w, it->url);
    c->item = it;
    it->rec.conn = c->id;
    it->rec.reused = false;
    c->dl_total = cfg->timeout_s > 0 ? t + secs(cfg->timeout_s) : 0;
    c->dl_phase = cfg->connect_timeout_s > 0 ? t + secs(cfg->connect_timeout_s) : 0;
    c->phase_kind = RECERR_TIMEOUT_CONNECT;
    conn_set_state(c, CONN_CONNECTING);
    conn_arm(w, c);
    char err[256];
    if (conn_connect(w, c, err, sizeof err)) {
        fail(w, c, RECERR_CONNECT, -1, err, clock_mono_ns());
    }
}

static void slot_freed(struct worker *w, int64_t now);

/* Closed loop: follows e->level. A new generation (a phase start) starts over, with the
 * remembered free instants dropped (the phase before is drained); each slot opened by a
 * ramp is remembered as free from the instant its level opened (loadshape.h). */
static long level_sync(struct worker *w)
{
    struct engine *e = w->eng;
    struct wpriv *p = P(w);
    int gen = atomic_load_explicit(&e->lvl_gen, memory_order_acquire);
    if (gen != p->lvl_gen) {
        p->lvl_gen = gen;
        p->lvl_seen = 0;
        p->freed_len = 0;
    }
    long lim = worker_limit(w);
    if (e->lvl_ramp_ns > 0)
        for (; p->lvl_seen < lim; p->lvl_seen++)
            slot_freed(w, e->lvl_t0 + ramp_level_at_ns(ramp_slot_level(p->lvl_seen, e->nw, w->id),
                                                       e->lvl_target, e->lvl_ramp_ns));
    return lim;
}

static bool may_start(struct worker *w)
{
    struct engine *e = w->eng;
    if (e->gcap)
        return atomic_load(&e->ginflight) < e->gcap;
    if (w->slots == 0)
        return true;
    return atomic_load(&w->active) + P(w)->held < level_sync(w);
}

/* --prefill-concurrency: the limit open at `now`, all workers together (0: none); a ramp
 * is read off the clock (loadshape.h), so no thread has to tick it. */
static long prefill_limit(const struct engine *e, int64_t now)
{
    long tgt = atomic_load_explicit(&e->ptarget, memory_order_acquire);
    int64_t ramp = atomic_load_explicit(&e->pramp_ns, memory_order_relaxed);
    if (tgt <= 0 || ramp <= 0)
        return tgt;
    return ramp_level_now(tgt, ramp, now - atomic_load_explicit(&e->pt0, memory_order_relaxed));
}

/* The instant the prefill limit open now was reached (its ramp level's), or 0. */
static int64_t prefill_level_since(const struct engine *e, int64_t now)
{
    long tgt = atomic_load_explicit(&e->ptarget, memory_order_acquire);
    int64_t ramp = atomic_load_explicit(&e->pramp_ns, memory_order_relaxed);
    if (tgt <= 0 || ramp <= 0)
        return 0;
    int64_t t0 = atomic_load_explicit(&e->pt0, memory_order_relaxed);
    return t0 + ramp_level_at_ns(ramp_level_now(tgt, ramp, now - t0), tgt, ramp);
}

/* A worker waiting for a prefill slot during a ramp: the next level's instant, or 0. */
static int64_t prefill_wake(const struct worker *w)
{
    const struct engine *e = w->eng;
    if (!atomic_load_explicit(&w->wants_prefill, memory_order_relaxed))
        return 0;
    long tgt = atomic_load_explicit(&e->ptarget, memory_order_acquire);
    int64_t ramp = atomic_load_explicit(&e->pramp_ns, memory_order_relaxed);
    if (tgt <= 0 || ramp <= 0)
        return 0;
    int64_t t0 = atomic_load_explicit(&e->pt0, memory_order_relaxed);
    long lv = ramp_level_now(tgt, ramp, clock_mono_ns() - t0);
    return lv >= tgt ? 0 : t0 + ramp_level_at_ns(lv + 1, tgt, ramp);
}

static bool prefill_try(struct engine *e, long lim)
{
    long v = atomic_load(&e->pinflight);
    while (v < lim)
        if (atomic_compare_exchange_weak(&e->pinflight, &v, v + 1))
            return true;
    return false;
}

/* Takes a prefill slot for `it`, about to be sent (AIPerf 0.13 takes one for every
 * request, after its session slot). When none is free the worker is flagged, and the
 * next release (or its ramp's next level, arm()) wakes it. */
static bool prefill_acquire(struct worker *w, struct item *it)
{
    struct engine *e = w->eng;
    if (it->prefill) /* a retry on a fresh connection keeps its slot */
        return true;
    long lim = prefill_limit(e, clock_mono_ns());
    if (lim <= 0)
        return true;
    if (!prefill_try(e, lim)) {
        atomic_store(&w->wants_prefill, 1);
        P(w)->pf_waited = true;
        /* a slot freed between the failed look and the flag: try once more */
        if (!prefill_try(e, lim))
            return false;
    }
    atomic_store(&w->wants_prefill, 0);
    it->prefill = true;
    return true;
}

/* Gives `it`'s prefill slot back (at its first token, or at its end without one) and
 * wakes one worker that waits for one. */
static void prefill_release(struct worker *w, struct item *it, int64_t t)
{
    struct engine *e = w->eng;
    it->prefill = false;
    int64_t prev = atomic_load(&e->pfree_at);
    while (prev < t && !atomic_compare_exchange_weak(&e->pfree_at, &prev, t))
        ;
    atomic_fetch_sub(&e->pinflight, 1);
    for (int i = 1; i <= e->nw; i++) {
        struct worker *o = &e->w[(w->id + i) % e->nw];
        if (atomic_exchange(&o->wants_prefill, 0)) {
            if (o != w)
                worker_wake(o);
            else
                P(w)->pf_freed = true;
            break;
        }
    }
}

/* Takes a slot to start a request now. In the rate and fixed modes a --concurrency cap is
 * one count shared by all workers; in closed loop each worker owns its slots. */
static bool session_acquire(struct worker *w)
{
    struct engine *e = w->eng;
    if (!e->gcap)
        return may_start(w);
    long v = atomic_load(&e->ginflight);
    while (v < e->gcap)
        if (atomic_compare_exchange_weak(&e->ginflight, &v, v + 1)) {
            atomic_store(&w->wants_slot, 0);
            return true;
        }
    atomic_store(&w->wants_slot, 1);
    /* A slot freed between the failed look and the flag: try once more. */
    v = atomic_load(&e->ginflight);
    while (v < e->gcap)
        if (atomic_compare_exchange_weak(&e->ginflight, &v, v + 1)) {
            atomic_store(&w->wants_slot, 0);
            return true;
        }
    return false;
}

/* Both slots `it` needs to start now: its session (or cap) slot, then a prefill slot. */
static bool slot_acquire(struct worker *w, struct item *it)
{
    if (!session_acquire(w)) {
        P(w)->pf_waited = false; /* the session slot is what it waits for now */
        return false;
    }
    if (prefill_acquire(w, it))
        return true;
    slot_release(w); /* the cap's slot, unused (a no-op in closed loop) */
    return false;
}

/* Gives a shared slot back and wakes one worker that waits for one. */
static void slot_release(struct worker *w)
{
    struct engine *e = w->eng;
    if (!e->gcap)
        return;
    atomic_fetch_sub(&e->ginflight, 1);
    for (int i = 1; i <= e->nw; i++) {
        struct worker *o = &e->w[(w->id + i) % e->nw];
        if (atomic_exchange(&o->wants_slot, 0)) {
            if (o != w)
                worker_wake(o);
            break;
        }
    }
}

static void take_items(struct worker *w);

/* Nothing more can reach this worker: the scheduler is done and the ring is empty. */
static bool exhausted(struct worker *w)
{
    return atomic_load(&w->eng->sched_done) && !ring_peek(w->ring);
}

/* Closed loop: remembers that a slot became free at `now`. */
static void slot_freed(struct worker *w, int64_t now)
{
    struct wpriv *p = P(w);
    if (w->slots <= 0 || p->freed_len >= w->slots)
        return;
    if (!p->freed)
        p->freed = xcalloc((size_t)w->slots, sizeof *p->freed);
    p->freed[(p->freed_head + p->freed_len) % w->slots] = now;
    p->freed_len++;
}

/* Closed loop: the instant the slot a request is about to take became free; `dflt` (the
 * phase start) when none is known: the slot's first request in the phase. Instants from
 * before the profiling phase began (warmup) are not carried over. */
static int64_t slot_freed_at(struct worker *w, int64_t dflt)
{
    struct wpriv *p = P(w);
    int64_t t0 = atomic_load(&w->eng->t0);
    while (p->freed && p->freed_len > 0) {
        int64_t t = p->freed[p->freed_head];
        p->freed_head = (p->freed_head + 1) % w->slots;
        p->freed_len--;
        if (t >= t0)
            return t;
    }
    return dflt;
}

/* Gives back every slot kept by a session whose next turn is not here and will not come
 * (cut by --request-count or by the end of warmup). */
static void release_orphans(struct worker *w)
{
    struct wpriv *p = P(w);
    for (size_t i = 0; p->held > 0 && i < p->capsess; i++) {
        struct session *s = &p->sess[i];
        if (s->id && s->holds && !s->busy && !s->wait_head) {
            unhold(w, s);
            slot_freed(w, clock_mono_ns());
        }
    }
}

/* An item that will not be sent (the send deadline passed), dropped without a record,
 * with the later turns of its session waiting behind it: each waits for the one before to
 * end, which now never happens, so they stayed counted as outstanding and a multi-turn run
 * with a duration ended only when its grace period ran out (30 s more by default). */
static void drop_unsent(struct worker *w, struct item *it, int64_t now)
{
    struct engine *e = w->eng;
    struct session *s = e->multi_turn ? session_find(P(w), it->rec.conv) : NULL;
    if (e->gcap)
        atomic_fetch_sub(&e->ginflight, 1);
    if (it->prefill)
        prefill_release(w, it, now);
    item_done(w, it, false);
    if (!s)
        return;
    for (struct item *n; (n = s->wait_head);) {
        s->wait_head = n->next;
        item_done(w, n, false);
    }
    s->wait_tail = NULL;
    s->busy = false;
}

static void try_start_pending(struct worker *w)
{
    struct wpriv *p = P(w);
    struct engine *e = w->eng;
    /* A slot is free and nothing waits locally: look in the ring without being woken. */
    if (!p->pend_head && may_start(w) && ring_peek(w->ring))
        take_items(w);
    /* Every slot kept by a session and new sessions waiting: the kept slots wait for later
     * turns, which the scheduler sends in trace order. When this worker's stock is full the
     * scheduler sends nothing more until a new session starts, so a session whose next
     * turn is not here yet gives its slot back (as before sessions kept slots); a trace
     * with a session's turns far apart would otherwise stop. */
    if (p->held > 0 && p->pend_head && !may_start(w)) {
        take_items(w); /* later turns in the ring reach their sessions first */
        if (atomic_load(&w->queued) + atomic_load(&w->pending) >= worker_stock(w))
            release_orphans(w);
    }
    bool popped = false;
    while (p->pend_head && atomic_load(&e->stop) == 0 && slot_acquire(w, p->pend_head)) {
        struct item *it = pend_pop(w);
        int64_t now = clock_mono_ns();
        int64_t dl = atomic_load(&e->send_deadline);
        if (dl && now >= dl) {
            drop_unsent(w, it, now);
            continue;
        }
        if (!it->timed) {                    /* closed loop: when the slot became free */
            int64_t t0 = it->rec.t_intended; /* the phase start, from the scheduler */
            it->rec.t_intended = slot_freed_at(w, t0 > 0 && t0 <= now ? t0 : now);
            if (p->pf_waited) {
                /* it waited for a prefill slot too: intended when that came free (a first
                 * token elsewhere, or the prefill ramp's level) */
                int64_t pf = atomic_load(&e->pfree_at), lv = prefill_level_since(e, now);
                if (lv > pf)
                    pf = lv;
                if (pf > it->rec.t_intended)
                    it->rec.t_intended = pf;
            }
            if (it->rec.t_intended > now) /* a ramp's first slot opens at the phase start,
                                             which is set a little ahead */
                it->rec.t_intended = now;
        }
        start_item(w, it, now);
        popped = true;
    }
    if (!p->pend_head) /* nothing here waited for a prefill slot any more */
        p->pf_waited = false;
    if (popped)
        wake_sched(w);
}

/* Drops everything queued: overdue items become not_sent records, the rest vanish. */
static void drop_queued(struct worker *w)
{
    struct wpriv *p = P(w);
    int64_t now = clock_mono_ns();
    struct item *it;
    while ((it = pend_pop(w))) {
        bool due = it->timed && it->rec.t_intended && it->rec.t_intended <= now;
        if (due)
            rec_set_error(&it->rec, RECERR_NOT_SENT, -1, "run stopped before it was sent");
        item_done(w, it, due);
    }
    for (int i = p->nheap - 1; i >= 0; i--) {
        struct timer *t = p->heap[i];
        if (t->kind != TK_SEND)
            continue;
        it = CONTAINER(t, struct item, tm);
        timer_del(p, t);
        bool due = it->rec.t_intended <= now;
        if (due)
            rec_set_error(&it->rec, RECERR_NOT_SENT, -1, "run stopped before it was sent");
        item_done(w, it, due);
        i = p->nheap; /* the heap was reshuffled */
    }
    for (size_t i = 0; i < p->capsess; i++) {
        struct session *s = &p->sess[i];
        while (s->id && (it = s->wait_head)) {
            s->wait_head = it->next;
            item_done(w, it, false);
        }
        s->wait_tail = NULL;
    }
}

/* ---- the loop ---- */

/* Wakes a waiting scheduler once this worker's stock (ring and pending list) is half
 * gone: it refills in a batch. */
static void wake_sched(struct worker *w)
{
    struct engine *e = w->eng;
    if (atomic_load(&w->queued) + atomic_load(&w->pending) <= worker_stock(w) / 2 &&
        atomic_exchange(&e->sched_waiting, 0)) {
        uint64_t one = 1;
        ssize_t k = write(e->sched_evfd, &one, sizeof one);
        (void)k;
    }
}

static void take_items(struct worker *w)
{
    struct wpriv *p = P(w);
    struct engine *e = w->eng;
    struct item *it;
    bool took = false;
    while ((it = ring_pop(w->ring))) {
        took = true;
        atomic_fetch_sub(&w->queued, 1);
        it->tm.idx = -1;
        it->tm.kind = TK_SEND;
        if (atomic_load(&e->stop)) {
            item_done(w, it, false);
            continue;
        }
        if ((int)it->rec.phase != p->phase_seen) {
            /* Warmup was drained before profiling's first item: a slot still kept is a
             * warmup session's that was cut by the warmup count. */
            release_orphans(w);
            p->phase_seen = (int)it->rec.phase;
        }
        if (it->later_turn) {
            struct session *s = session_get(p, it->rec.conv);
            if (s->busy || s->wait_head) {
                it->next = NULL;
                if (s->wait_tail)
                    s->wait_tail->next = it;
                else
                    s->wait_head = it;
                s->wait_tail = it;
            } else {
                schedule_turn(w, s, it, clock_mono_ns());
            }
        } else {
            /* A session is busy from its first turn's arrival: a later turn that arrives
             * before the first even started must wait for it to end. */
            if (e->multi_turn) {
                struct session *s = session_get(p, it->rec.conv);
                s->busy = true;
                if (it->turns > 0) {
                    s->turns = it->turns;
                    s->done = 0;
                }
                /* A new run of this session (warmup replayed it before): it starts with
                 * no history and without the slot the old one kept. */
                unhold(w, s);
                cJSON_Delete(s->history);
                s->history = NULL;
                if (s->lease) /* an earlier run's connection is not this run's */
                    conn_destroy(w, s->lease);
            }
            if (it->timed) {
                timer_set(p, &it->tm, it->rec.t_intended);
                /* handed over later than the pool's horizon (the scheduler was held off
                 * its CPU): the pool's last fill did not count it */
                if (it->rec.t_intended <= p->pool_until)
                    p->pool_until = it->rec.t_intended - 1;
            } else
                pend_push(w, it, false);
        }
    }
    if (took) {
        p->pool_dirty = true; /* new sends may fall inside the pool's horizon */
        wake_sched(w);
    }
}

static void conn_timeout(struct worker *w, struct conn *c, int64_t now)
{
    const struct replay_config *cfg = w->eng->cfg;
    if (c->dl_cancel && now >= c->dl_cancel) {
        c->item->rec.cancelled = true;
        char m[96];
        snprintf(m, sizeof m, "cancelled %.3g s after the request was sent", cfg->cancel_delay_s);
        fail(w, c, RECERR_CANCELLED, 499, m, now);
    } else if (c->dl_total && now >= c->dl_total) {
        char m[96];
        snprintf(m, sizeof m, "no complete response within %.3g s", cfg->timeout_s);
        fail(w, c, RECERR_TIMEOUT_TOTAL, -1, m, now);
    } else if (c->dl_phase && now >= c->dl_phase) {
        char m[96];
        enum rec_error k = (enum rec_error)c->phase_kind;
        double s = k == RECERR_TIMEOUT_CONNECT      ? cfg->connect_timeout_s
                   : k == RECERR_TIMEOUT_FIRST_BYTE ? cfg->first_byte_timeout_s
                                                    : cfg->idle_timeout_s;
        snprintf(m, sizeof m, "%s after %.3g s",
                 k == RECERR_TIMEOUT_CONNECT      ? "connect timed out"
                 : k == RECERR_TIMEOUT_FIRST_BYTE ? "no response byte"
                                                  : "no bytes",
                 s);
        fail(w, c, k, -1, m, now);
    } else {
        conn_arm_exact(w, c); /* a deadline moved or went: key it exactly (or drop it) */
    }
}

static int poll_ready(struct worker *w);
static bool pool_timed(const struct worker *w);

/* When the worker wakes for a send intended at `when`: then, or with --send-tick-us at the
 * end of the tick it falls in (one wake-up sends the whole tick's). Ticks are counted from
 * the records' anchor, so records can be read against them. A worker awake for anything
 * else sends what is past its intended time at once (run_timers): never early. */
static int64_t send_due(const struct worker *w, int64_t when)
{
    int64_t tick = w->eng->cfg->send_tick_ns, a = w->eng->anchor_mono;
    if (tick <= 0 || when <= a)
        return when;
    return a + (when - a + tick - 1) / tick * tick;
}

/* A send overdue by this much is behind its schedule (the worker was held off its CPU, or
 * a burst of sends came due together), not just woken a little late. */
#define CATCH_UP_NS 20000

/* Whether the send at the heap's top should first read what the sockets have ready
 * (poll_ready): at a fixed rate, overdue by CATCH_UP_NS or more, and no idle connection
 * to its target (with one it goes at once: a read would only delay it). */
static bool catch_up(struct worker *w, const struct timer *t, int64_t now)
{
    const struct item *it = CONTAINER(t, struct item, tm);
    return pool_timed(w) && now - send_due(w, t->when) >= CATCH_UP_NS && !it->retried &&
           !P(w)->nidle[it->url];
}

/* The last stretch before a send that is spun in place, without going back to the
 * event loop: about the cost of one loop turn (an epoll_wait that returns at once). */
#define SPIN_TIGHT_NS 3000

/* True while the next send is inside its --spin-us window: the loop then polls (epoll_wait
 * with no timeout) instead of sleeping, so it keeps reading responses while it waits. */
static bool spinning(struct worker *w, int64_t now)
{
    struct wpriv *p = P(w);
    return w->eng->cfg->spin_ns > 0 && p->nheap && p->heap[0]->kind == TK_SEND &&
           p->heap[0]->when - w->eng->cfg->spin_ns <= now;
}

/* Fires every due timer. A send inside its spin window but more than SPIN_TIGHT_NS away
 * is left for a later turn of the loop (which polls, see spinning()): a spin never
 * starves the loop, whatever --spin-us is against the gap between sends. With
 * sends_only (in the middle of an event batch) it stops at the first connection
 * deadline: a connection failed now could still have an event waiting later in the
 * same batch. */
static void run_timers(struct worker *w, bool sends_only)
{
    struct wpriv *p = P(w);
    const struct replay_config *cfg = w->eng->cfg;
    struct timer *polled = NULL; /* the send the last catch-up read was made for */
    for (;;) {
        if (!p->nheap)
            return;
        struct timer *t = p->heap[0];
        int64_t now = clock_mono_ns();
        int64_t lead = t->kind == TK_SEND && cfg->spin_ns > 0
                           ? (cfg->spin_ns < SPIN_TIGHT_NS ? cfg->spin_ns : SPIN_TIGHT_NS)
                           : 0;
        if (t->when - lead > now || (sends_only && t->kind != TK_SEND))
            return;
        if (t->kind == TK_SEND && t != polled && catch_up(w, t, now)) {
            /* Overdue with the pool empty: read what has come back first (it may free a
             * connection, finish a connect, or fire deadlines); then look again. In the
             * middle of a batch the rest of the batch comes first (the loop then calls
             * us again). */
            if (sends_only)
                return;
            polled = t;
            poll_ready(w);
            continue;
        }
        timer_del(p, t);
        if (t->kind == TK_SEND) {
            struct item *it = CONTAINER(t, struct item, tm);
            while (clock_mono_ns() < it->rec.t_intended)
                ;
            struct session *hs =
                it->later_turn && w->eng->multi_turn ? session_get(p, it->rec.conv) : NULL;
            if (hs && hs->holds) {
                unhold(w, hs); /* its own slot: no queue, no other session before it */
                if (atomic_load(&w->eng->stop)) {
                    item_done(w, it, false);
                    continue;
                }
                if (prefill_acquire(w, it)) {
                    start_item(w, it, it->rec.t_intended);
                } else { /* first in line for the slot it kept once a prefill slot frees */
                    pend_push(w, it, true);
                    try_start_pending(w);
                }
            } else if (atomic_load(&w->eng->stop)) {
                item_done(w, it, false);
            } else if (!p->pend_head && slot_acquire(w, it)) {
                start_item(w, it, it->rec.t_intended);
            } else {
                pend_push(w, it, it->later_turn);
                try_start_pending(w);
            }
        } else {
            conn_timeout(w, CONTAINER(t, struct conn, tm), now);
        }
    }
}

/* When the loop must next run for a timer (0: no timer): the heap's top, a send's spin
 * window before it, or the pool's wake-up. */
static int64_t wake_at(struct worker *w, int64_t now)
{
    struct wpriv *p = P(w);
    int64_t when = 0;
    if (p->nheap) {
        struct timer *t = p->heap[0];
        when = t->kind == TK_SEND ? send_due(w, t->when) - w->eng->cfg->spin_ns : t->when;
        /* the pool opens connections for a send the horizon ahead of it (pool_fill); a
         * wake-up time already past means pool_fill is backing off: not a busy loop */
        int64_t pw = pool_wake(w);
        if (pw && pw < when && pw > now)
            when = pw;
        if (when <= 0)
            when = 1;
    }
    int64_t pfw = prefill_wake(w); /* waiting for a prefill ramp's next level */
    if (pfw && (!when || pfw < when))
        when = pfw;
    return when;
}

/* How close the next timer must be (plus --send-tick-us) for the worker to sleep until it
 * without being woken by the sockets (nap_until). At a fixed rate each send (or tick) costs one
 * wake-up: the responses that came back meanwhile are read right after it. Reading them up to this
 * much later changes no time a record carries (each read is stamped with the kernel's receive time)
 * and returns their connections to a pool sized for 5 ms. */
#define NAP_MAX_NS 500000

/* Whether the worker may sleep until its next timer without watching the sockets, and
 * until when (0: it may not). Only at a fixed rate with nothing that needs a read as soon
 * as the bytes come: no streamed request in flight (each chunk is stamped at its read,
 * and several chunks read together would share the last one's stamp), kernel receive
 * stamps on, no shared --concurrency slot that a response frees for a waiting send, no
 * session whose next turn starts when the previous one ends. The wake-up is for the
 * timer only, so the timerfd is not armed (no timerfd_settime, no read of it). */
static int64_t nap_until(struct worker *w, int64_t now)
{
    struct wpriv *p = P(w);
    const struct engine *e = w->eng;
    if (!pool_timed(w) || p->nstream || !e->cfg->kernel_stamps || e->gcap || e->multi_turn ||
        p->pend_head)
        return 0;
    int64_t when = wake_at(w, now);
    /* one already due (the last turn ran past it): no sleep at all, and no timerfd armed
     * in the past to come back through epoll_wait for it */
    return when && when - now <= NAP_MAX_NS + e->cfg->send_tick_ns ? when : 0;
}

static void arm(struct worker *w, bool polling)
{
    struct wpriv *p = P(w);
    if (polling)
        return; /* the loop does not sleep: the timer would only wake it for nothing */
    int64_t when = wake_at(w, clock_mono_ns());
    /* An armed timer earlier than needed is left alone: it fires, finds nothing due and
     * re-arms. Re-arming later on every request would cost a syscall each. */
    if (when == p->armed || (p->armed && (!when || when > p->armed)))
        return;
    struct itimerspec its = {0};
    if (when) {
        its.it_value.tv_sec = when / 1000000000;
        its.it_value.tv_nsec = when % 1000000000;
    }
    timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    p->armed = when;
}

/* Bytes are stamped with their kernel arrival time (rxstamp.h) when the kernel gives one:
 * a socket served late in a busy batch is then not charged for the sockets before it.
 * Otherwise with ready_ns, when epoll_wait returned this event, for the first recv() (its
 * bytes were already there then), and with their own time for later recv()s. */
static void on_conn_event(struct worker *w, struct conn *c, uint32_t ev, int64_t ready_ns)
{
    struct wpriv *p = P(w);
    bool first = (ev & EPOLLIN) != 0;
    if (c->state == CONN_CONNECTING && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        int64_t now = clock_mono_ns();
        if (err) {
            const struct target *t = &w->eng->targets[c->url];
            struct addrinfo *ai = target_ai(w, c->url);
            for (int i = 0; ai && i <= c->ai_index; i++)
                ai = ai->ai_next;
            if (ai) { /* try the next resolved address (IPv6 then IPv4, say) */
                close(c->fd);
                c->fd = -1;
                c->ai_index++;
                char e2[256];
                conn_set_state(c, CONN_CONNECTING);
                if (conn_connect(w, c, e2, sizeof e2)) {
                    fail(w, c, RECERR_CONNECT, -1, e2, now);
                }
                return;
            }
            char m[256];
            snprintf(m, sizeof m, "connect to %s:%s: %s", t->url.host, t->url.port,
                     connect_error(err));
            re_resolve(w, c->url);
            fail(w, c, RECERR_CONNECT, -1, m, now);
            return;
        }
        on_connected(w, c, now);
        return;
    }
    if (c->state == CONN_TLS_HANDSHAKE) {
        tls_step(w, c);
        return;
    }
    if (c->state == CONN_SENDING && (c->tls || (ev & EPOLLOUT)))
        do_send(w, c);
    if (c->state == CONN_FREE || c->state == CONN_CLOSED)
        return;
    if (!(ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        return;
    for (;;) {
        ssize_t n;
        int64_t kstamp = 0;
        if (c->tls) {
            long r = tls_read(c->tls, p->rbuf, p->rcap);
            if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
                return;
            if (r < 0) {
                int64_t now = clock_mono_ns();
                if (!c->item) {
                    conn_destroy(w, c);
                    return;
                }
                char m[192];
                snprintf(m, sizeof m, "TLS read: %s", tls_session_error(c->tls));
                fail(w, c, RECERR_CLOSED, -1, m, now);
                return;
            }
            n = r;
            kstamp = tls_session_rx_ns(c->tls);
        } else if (w->eng->cfg->kernel_stamps) {
            n = rxstamp_recv(c->fd, p->rbuf, p->rcap, &kstamp);
        } else {
            n = recv(c->fd, p->rbuf, p->rcap, 0);
        }
        int64_t now;
        if (n > 0 && kstamp > 0) {
            /* never before the request began: bytes queued earlier belong to no one */
            now = c->item && kstamp < c->item->rec.t_start ? c->item->rec.t_start : kstamp;
            count_up(&w->rx_kernel);
        } else {
            now = first && n > 0 ? ready_ns : clock_mono_ns();
            if (n > 0)
                count_up(&w->rx_user);
        }
        first = false;
        if (n > 0) {
            if (!on_bytes(w, c, p->rbuf, (size_t)n, now))
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        /* EOF or a socket error */
        if (!c->item) {
            conn_destroy(w, c);
            return;
        }
        if (n == 0) {
            /* a close-delimited body ends here; anything else was cut short */
            if (http1_rx_eof(&c->rx) == HTTP1_RX_DONE) {
                c->keep_alive = false;
                complete(w, c, now);
            } else {
                rx_failed(w, c, now);
            }
            return;
        }
        char m[128];
        snprintf(m, sizeof m, "recv: %s", strerror(errno));
        fail(w, c, RECERR_CLOSED, -1, m, now);
        return;
    }
}

/* Handles one event of an epoll_wait batch. With sends_between, a send falling due in the
 * middle of a busy batch goes out at once, not after the rest of the batch. */
static void dispatch(struct worker *w, const struct epoll_event *ev, int64_t ready_ns,
                     bool sends_between)
{
    struct wpriv *p = P(w);
    void *ptr = ev->data.ptr;
    if (ptr == &ev_eventfd) {
        uint64_t v;
        ssize_t k = read(w->evfd, &v, sizeof v);
        (void)k;
        take_items(w);
        try_start_pending(w);
    } else if (ptr == &ev_timerfd) {
        uint64_t v;
        ssize_t k = read(w->tfd, &v, sizeof v);
        (void)k;
        p->armed = 0;
        if (p->pend_head && atomic_load_explicit(&w->wants_prefill, memory_order_relaxed))
            try_start_pending(w); /* a prefill ramp's level may have opened */
    } else {
        on_conn_event(w, ptr, ev->events, ready_ns);
        if (sends_between && p->nheap && p->heap[0]->kind == TK_SEND &&
            p->heap[0]->when - SPIN_TIGHT_NS <= clock_mono_ns())
            run_timers(w, true);
    }
}

/* Catch-up: handles whatever the sockets already have (responses that free connections,
 * connects that completed) without waiting. Called before an overdue send that finds no
 * idle connection: after a stall, responses to the sends just made come back while the
 * backlog goes out, and reading them first lets later sends reuse those connections
 * instead of each opening one (which made the backlog longer and the server slower: the
 * collapse of issue 16). Returns the events handled. Never called from inside a batch
 * (the batch's remaining events would refer to connections this may close). */
static int poll_ready(struct worker *w)
{
    struct epoll_event evs[64];
    int n = epoll_wait(w->ep, evs, 64, 0);
    if (n <= 0)
        return 0;
    int64_t ready_ns = clock_mono_ns();
    for (int i = 0; i < n; i++)
        dispatch(w, &evs[i], ready_ns, false);
    if (P(w)->pf_freed) { /* first tokens gave prefill slots back */
        P(w)->pf_freed = false;
        try_start_pending(w);
    }
    return n;
}

/* Cancels every request in flight (second SIGINT, drain or grace period over). */
static void cancel_all(struct worker *w, const char *why)
{
    struct wpriv *p = P(w);
    int64_t now = clock_mono_ns();
    for (int i = p->nheap - 1; i >= 0; i--) {
        if (i >= p->nheap)
            continue;
        struct timer *t = p->heap[i];
        if (t->kind != TK_CONN)
            continue;
        struct conn *c = CONTAINER(t, struct conn, tm);
        if (!c->item)
            continue;
        c->item->rec.cancelled = true;
        rec_set_error(&c->item->rec, RECERR_CANCELLED, -1, "%s", why);
        finish(w, c, now, false);
        i = p->nheap;
    }
}

/* Starts a connection with no request on it (it joins the pool when connected); NULL
 * when it failed at once (the pool then backs off). */
static struct conn *pre_open(struct worker *w, int u)
{
    const struct replay_config *cfg = w->eng->cfg;
    struct conn *c = conn_new(w, u);
    int64_t now = clock_mono_ns();
    c->pre_start = now;
    c->dl_phase = cfg->connect_timeout_s > 0 ? now + secs(cfg->connect_timeout_s) : 0;
    c->phase_kind = RECERR_TIMEOUT_CONNECT;
    conn_set_state(c, CONN_CONNECTING);
    conn_arm(w, c);
    char err[256];
    if (conn_connect(w, c, err, sizeof err)) {
        pre_done(w, c, false, now);
        return NULL;
    }
    pre_push(w, c);
    return c;
}

/* Counts, per target, the sends in the heap due at or before `until` (the subtree of i
 * holds nothing earlier than i, so only due entries and their children are visited), and
 * the earliest send's time in *first. */
static void count_due(struct wpriv *p, int i, int64_t until, int64_t *first)
{
    if (i >= p->nheap || p->heap[i]->when > until)
        return;
    struct timer *t = p->heap[i];
    if (t->kind == TK_SEND) {
        p->due[CONTAINER(t, struct item, tm)->url]++;
        if (!*first || t->when < *first)
            *first = t->when;
    }
    count_due(p, 2 * i + 1, until, first);
    count_due(p, 2 * i + 2, until, first);
}

/* A connect costs the worker ~15-30 us of system calls on loopback (the handshake runs
 * inside connect()): the pool opens none when the next send is closer than this, so the
 * opens fall in the gaps between sends. */
#define POOL_QUIET_NS 60000

/* At a fixed rate, opens connections ahead of the sends that will need them: for each
 * target, idle plus connecting connections at least as many as the sends due within the
 * pool's horizon (pool_ahead_ns), so a send never opens one on its critical path unless
 * the worker fell further behind than the horizon. The pool therefore settles at the
 * requests in flight plus about rate x horizon idle connections (~50 at 10,000 req/s),
 * never more than a --concurrency cap. Closed loop reuses its slots' connections and
 * is left alone (--preconnect opens them before the run). */
static bool pool_timed(const struct worker *w)
{
    /* never and sticky-user-sessions open each connection at the send (AIPerf 0.13 counts
     * its connect in the request's latency); only the pooled strategy opens ahead */
    return w->eng->cfg->mode != MODE_CONCURRENCY && w->eng->cfg->conn_reuse == REUSE_POOLED;
}

/* The next send is not covered by the pool's last fill: when the worker must run to
 * cover it (0: nothing to do). Only the heap's top is looked at; a connection deadline
 * before it makes the loop turn anyway. */
static int64_t pool_wake(const struct worker *w)
{
    const struct wpriv *p = w->priv;
    if (!pool_timed(w) || !p->nheap || p->heap[0]->kind != TK_SEND ||
        p->heap[0]->when <= p->pool_until)
        return 0;
    return p->heap[0]->when - pool_ahead_ns(w);
}

static void pool_fill(struct worker *w)
{
    struct wpriv *p = P(w);
    struct engine *e = w->eng;
    if (!pool_timed(w) || atomic_load(&e->stop))
        return;
    int64_t now = clock_mono_ns();
    int64_t pw = pool_wake(w);
    if (!p->pool_dirty && !(pw && pw <= now))
        return;
    if (p->pool_backoff && now < p->pool_backoff) {
        p->pool_dirty = true; /* tried again after the back-off */
        return;
    }
    memset(p->due, 0, (size_t)e->ntargets * sizeof *p->due);
    int64_t first = 0, until = now + pool_ahead_ns(w);
    count_due(p, 0, until, &first);
    bool more = false;
    for (int u = 0; u < e->ntargets; u++) {
        long want = p->due[u];
        if (e->gcap && want > e->gcap)
            want = e->gcap;
        while (p->nidle[u] + p->npre[u] < want) {
            /* an open right before a send would delay it: later, unless the pool is dry
             * (that send would open one itself, on its own time) */
            if (first && first - clock_mono_ns() < POOL_QUIET_NS && p->nidle[u] + p->npre[u] > 0) {
                more = true;
                break;
            }
            if (!pre_open(w, u)) {
                more = true;
                break;
            }
            count_up(&w->conns_ahead);
        }
    }
    p->pool_dirty = more;
    if (!more)
        p->pool_until = until;
}

/* Opens this worker's share of connections before the run, so connect (and TLS) cost
 * does not fall on the first measured requests; each record still carries the connect
 * time of its connection (preconnect_ns). */
static void preconnect(struct worker *w)
{
    long n = preconnect_count(w);
    for (int u = 0; u < w->eng->ntargets; u++) {
        for (long i = 0; i < n; i++) {
            struct conn *c = pre_open(w, u);
            if (c)
                c->pre_initial = true; /* pre_open's own failure already counted down */
            else
                atomic_fetch_sub(&w->eng->preconnecting, 1);
        }
    }
}

long preconnect_count(const struct worker *w)
{
    return w->slots > 0 ? w->slots : 8;
}

void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct engine *e = w->eng;
    struct wpriv *p = P(w);
    tl_cfg = e->cfg;
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake at the timer, not 50 µs after */
    if (e->cfg->preconnect)
        preconnect(w);
    struct epoll_event evs[256];
    int64_t poll_since = 0; /* the current run of busy-polling turns began here (0: none) */
    for (;;) {
        int stop = atomic_load(&e->stop);
        if (stop && p->stop_seen < 1) {
            p->stop_seen = 1;
            drop_queued(w);
        }
        int cg = atomic_load(&e->cancel_gen);
        if (cg != p->cancel_seen) { /* the warmup's grace period is over */
            p->cancel_seen = cg;
            take_items(w);
            drop_queued(w);
            cancel_all(w, "warmup grace period expired");
        }
        if (stop >= 2 && p->stop_seen < 2) {
            p->stop_seen = 2;
            take_items(w);
            drop_queued(w);
            cancel_all(w, stop == 3   ? "benchmark grace period expired"
                          : stop == 4 ? "failed-request threshold exceeded"
                                      : "interrupted");
        }
        if (atomic_load(&e->finish))
            break;
        if (p->held > 0 && !p->orphans_released && exhausted(w)) {
            p->orphans_released = true; /* later holds check exhausted() themselves */
            release_orphans(w);
            try_start_pending(w);
        }
        int64_t turn = clock_mono_ns();
        bool polling = spinning(w, turn);
        if (poll_since && !polling) { /* the spin's cost, reported (run.json, stderr) */
            atomic_store_explicit(&w->spin_ns,
                                  atomic_load_explicit(&w->spin_ns, memory_order_relaxed) + turn -
                                      poll_since,
                                  memory_order_relaxed);
            poll_since = 0;
        } else if (polling && !poll_since) {
            poll_since = turn;
        }
        /* A nap: asleep until the next timer only, then its sends go first and the
         * sockets are read after them (nap_until). Items pushed meanwhile are found by
         * the next turn's look at the ring (the sleeping flag stays down: no eventfd). */
        int64_t nap = polling ? 0 : nap_until(w, turn);
        int n;
        bool ready = false;
        if (nap) {
            struct timespec ts = {.tv_sec = nap / 1000000000, .tv_nsec = nap % 1000000000};
            if (nap > turn)
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            run_timers(w, false);
            n = epoll_wait(w->ep, evs, 256, 0);
            ready = ring_peek(w->ring);
        } else {
            arm(w, polling);
            /* Sleeping is announced before the last look at the ring, so the scheduler
             * either sees the flag and writes the eventfd, or we see its item. */
            /* With every slot busy or requests already waiting for one, new ones are not
             * urgent: the slot that frees pulls them from the ring (try_start_pending). */
            /* With kept slots, a push may bring the turn a session waits for. */
            bool want = (may_start(w) && !p->pend_head) || p->held > 0;
            atomic_store(&w->sleeping, want && !polling ? 1 : 0);
            ready = want && ring_peek(w->ring);
            n = epoll_wait(w->ep, evs, 256, ready || polling ? 0 : -1);
            atomic_store(&w->sleeping, 0);
        }
        int64_t ready_ns = clock_mono_ns();
        if (ready) {
            take_items(w);
            try_start_pending(w);
        }
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++)
            dispatch(w, &evs[i], ready_ns, true);
        if (p->pf_freed) { /* first tokens gave prefill slots back during the batch */
            p->pf_freed = false;
            try_start_pending(w);
        }
        run_timers(w, false);
        pool_fill(w);
    }
    /* Leftovers when finishing after an abort: anything still here is cancelled. */
    cancel_all(w, "interrupted");
    drop_queued(w);
    return NULL;
}

void worker_wake(struct worker *w)
{
    uint64_t one = 1;
    ssize_t k = write(w->evfd, &one, sizeof one);
    (void)k;
}

int worker_init(struct worker *w, struct engine *eng, int id, struct diag *d)
{
    w->id = id;
    w->eng = eng;
    w->ring = xcalloc(1, sizeof *w->ring);
    w->back = xcalloc(1, sizeof *w->back);
    pthread_mutex_init(&w->out_mu, NULL);
    pthread_cond_init(&w->out_cv, NULL);
    buf_init(&w->out, 0);
    struct wpriv *p = xcalloc(1, sizeof *p);
    w->priv = p;
    p->rcap = 65536;
    p->rbuf = xmalloc(p->rcap);
    p->idle = xcalloc((size_t)eng->ntargets, sizeof *p->idle);
    p->pre = xcalloc((size_t)eng->ntargets, sizeof *p->pre);
    p->nidle = xcalloc((size_t)eng->ntargets, sizeof *p->nidle);
    p->npre = xcalloc((size_t)eng->ntargets, sizeof *p->npre);
    p->due = xcalloc((size_t)eng->ntargets, sizeof *p->due);
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (w->ep < 0 || w->evfd < 0 || w->tfd < 0)
        return diag_set(d, ERR_IO, "worker %d: cannot create epoll/eventfd/timerfd: %s", id,
                        strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &ev_eventfd};
    epoll_ctl(w->ep, EPOLL_CTL_ADD, w->evfd, &ev);
    ev.data.ptr = &ev_timerfd;
    epoll_ctl(w->ep, EPOLL_CTL_ADD, w->tfd, &ev);
    return 0;
}

void worker_free(struct worker *w)
{
    struct wpriv *p = P(w);
    if (p) {
        for (int i = 0; i < w->eng->ntargets; i++)
            while (p->idle[i])
                conn_destroy(w, p->idle[i]);
        for (int i = 0; i < w->eng->ntargets; i++)
            while (p->pre[i])
                conn_destroy(w, p->pre[i]);
        for (size_t i = 0; i < p->capsess; i++) /* sessions cut before their last turn */
            if (p->sess[i].id && p->sess[i].lease)
                conn_destroy(w, p->sess[i].lease);
        struct conn *c = p->freelist;
        while (c) {
            struct conn *n = c->next;
            buf_free(&c->head);
            free(c);
            c = n;
        }
        for (size_t i = 0; i < p->capsess; i++) {
            free(p->sess[i].id);
            cJSON_Delete(p->sess[i].history);
        }
        free(p->sess);
        free(p->heap);
        free(p->freed);
        free(p->idle);
        free(p->pre);
        free(p->nidle);
        free(p->npre);
        free(p->due);
        free(p->rbuf);
        free(p);
    }
    struct item *it;
    while ((it = ring_pop(w->ring)))
        item_free(it);
    free(w->ring);
    while ((it = ring_pop(w->back))) /* the scheduler has ended: nothing takes them now */
        item_free(it);
    free(w->back);
    buf_free(&w->out);
    pthread_mutex_destroy(&w->out_mu);
    pthread_cond_destroy(&w->out_cv);
    if (w->ep >= 0)
        close(w->ep);
    if (w->evfd >= 0)
        close(w->evfd);
    if (w->tfd >= 0)
        close(w->tfd);
}
