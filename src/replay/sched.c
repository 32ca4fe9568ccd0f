/*
 * sched: the scheduler thread. It streams the request source, computes each request's
 * intended send time as an absolute CLOCK_MONOTONIC deadline (t0 + offset: no drift,
 * Poisson and gamma included, as cumulative sums of their gaps), and hands the request
 * to the least-loaded worker a little before it is due. The worker's timerfd, not this
 * thread, decides the send instant; this thread only keeps the look-ahead short so
 * memory stays bounded by the window, never by the trace's length.
 *
 * Closed loop: requests carry no time; the scheduler keeps each worker's ring stocked
 * with about one slot's worth and the worker starts the next one the moment a slot frees.
 */
#include "control.h"
#include "engine.h"
#include "hash.h"
#include "loadshape.h"
#include "rng.h"
#include "shard.h"
#include "xalloc.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

bool ring_push(struct ring *r, struct item *it)
{
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    if (t - h >= RING_CAP)
        return false;
    r->v[t & (RING_CAP - 1)] = it;
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return true;
}

bool ring_peek(struct ring *r)
{
    return atomic_load(&r->head) != atomic_load(&r->tail);
}

struct item *ring_pop(struct ring *r)
{
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (h == t)
        return NULL;
    struct item *it = r->v[h & (RING_CAP - 1)];
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return it;
}

static int lbucket(int64_t ns)
{
    if (ns < 8)
        return ns < 0 ? 0 : (int)ns;
    int e = 63 - __builtin_clzll((unsigned long long)ns); /* >= 3 */
    int sub = (int)((ns >> (e - 3)) & 7);
    int b = (e - 2) * 8 + sub;
    return b < LHIST_BUCKETS ? b : LHIST_BUCKETS - 1;
}

static double lbucket_upper(int b)
{
    if (b < 8)
        return b;
    int e = b / 8 + 2, sub = b % 8;
    return (double)(((int64_t)(8 + sub + 1)) << (e - 3));
}

void lhist_add(struct lhist *h, int64_t ns)
{
    atomic_fetch_add_explicit(&h->b[lbucket(ns)], 1, memory_order_relaxed);
}

double lhist_quantile(struct lhist *const *hs, int n, double q)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++)
        for (int b = 0; b < LHIST_BUCKETS; b++)
            total += atomic_load_explicit(&hs[i]->b[b], memory_order_relaxed);
    if (!total)
        return 0;
    uint64_t want = (uint64_t)(q * (double)total);
    if (want >= total)
        want = total - 1;
    uint64_t acc = 0;
    for (int b = 0; b < LHIST_BUCKETS; b++) {
        for (int i = 0; i < n; i++)
            acc += atomic_load_explicit(&hs[i]->b[b], memory_order_relaxed);
        if (acc > want)
            return lbucket_upper(b);
    }
    return lbucket_upper(LHIST_BUCKETS - 1);
}

/* ---- session → worker map (multi-turn: every turn of a session runs on one worker) */

/* Two ints per key: smap_slot's [0] and [1] (the session map's worker and turns seen). */
struct smap {
    char **keys;
    int *vals;
    size_t n, cap;
};

static int *smap_slot(struct smap *m, const char *k)
{
    if (m->n * 2 >= m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 256;
        char **nk = xcalloc(nc, sizeof *nk);
        int *nv = xcalloc(2 * nc, sizeof *nv);
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t j = hash64_str(m->keys[i]) & (nc - 1);
            while (nk[j])
                j = (j + 1) & (nc - 1);
            nk[j] = m->keys[i];
            nv[2 * j] = m->vals[2 * i];
            nv[2 * j + 1] = m->vals[2 * i + 1];
        }
        free(m->keys);
        free(m->vals);
        m->keys = nk;
        m->vals = nv;
        m->cap = nc;
    }
    size_t j = hash64_str(k) & (m->cap - 1);
    while (m->keys[j]) {
        if (!strcmp(m->keys[j], k))
            return &m->vals[2 * j];
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = xstrdup(k);
    m->vals[2 * j] = -1;
    m->vals[2 * j + 1] = 0;
    m->n++;
    return &m->vals[2 * j];
}

/* The value kept for k, or -1 when k has none (nothing is added). */
static int smap_find(const struct smap *m, const char *k)
{
    if (!m->cap)
        return -1;
    size_t j = hash64_str(k) & (m->cap - 1);
    while (m->keys[j]) {
        if (!strcmp(m->keys[j], k))
            return m->vals[2 * j];
        j = (j + 1) & (m->cap - 1);
    }
    return -1;
}

/* Removes k (if there) and closes the gap in its probe sequence by moving later entries
 * back (no tombstones), so the map holds only the sessions still open. */
static void smap_drop(struct smap *m, const char *k)
{
    if (!m->cap)
        return;
    size_t mask = m->cap - 1, i = hash64_str(k) & mask;
    while (m->keys[i] && strcmp(m->keys[i], k))
        i = (i + 1) & mask;
    if (!m->keys[i])
        return;
    free(m->keys[i]);
    m->keys[i] = NULL;
    m->n--;
    for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        size_t home = hash64_str(m->keys[j]) & mask;
        /* entry j may move to the hole at i unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->keys[i] = m->keys[j];
            m->vals[2 * i] = m->vals[2 * j];
            m->vals[2 * i + 1] = m->vals[2 * j + 1];
            m->keys[j] = NULL;
            i = j;
        }
    }
}

static void smap_free(struct smap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
}

/* ---- building items ---- */

/* --extra-inputs: a JSON object, or "k:v,k:v" where each value is JSON if it parses
 * (so max_tokens:100 is a number) and a string otherwise. */
static cJSON *parse_extra(const char *s)
{
    if (!s || !*s)
        return NULL;
    while (*s == ' ')
        s++;
    if (*s == '{')
        return cJSON_Parse(s);
    cJSON *o = cJSON_CreateObject();
    const char *p = s;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        if (colon) {
            char *k = xstrndup(p, (size_t)(colon - p));
            char *v = xstrndup(colon + 1, n - (size_t)(colon - p) - 1);
            cJSON *jv = cJSON_Parse(v);
            if (!jv)
                jv = cJSON_CreateString(v);
            cJSON_DeleteItemFromObjectCaseSensitive(o, k);
            cJSON_AddItemToObject(o, k, jv);
            free(k);
            free(v);
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return o;
}

struct sched {
    struct engine *e;
    const struct replay_config *cfg;
    cJSON *extra;
    struct rng arrival_rng, cancel;
    struct smap sessions;
    long wrap;              /* how many times the source was rewound */
    long nread;             /* requests read from the source since the last rewind */
    long src_len;           /* the source's length, known after the first rewind */
    struct shard_deal deal; /* --shard: which requests this process sends */
    bool started;           /* a phase has begun (the --start-at instant is used) */
    int64_t phase_t0;       /* the current phase's start */
    enum replay_mode pmode; /* the current phase's mode (a rate warmup before a closed loop) */
    enum arrival arrival;   /* the current phase's arrival pattern and gamma shape */
    double smoothness;
    struct item *spare; /* items the workers handed back (worker.back), to reuse; owned */
};

/* One phase's load (the warmup's may differ from profiling's). */
struct phase_spec {
    enum rec_phase phase;
    long count;
    double duration_s;
    enum arrival arrival;
    double rate, smoothness;
    long level; /* closed loop: the slots open (0: every slot) */
    double conc_ramp_s, rate_ramp_s;
    long prefill; /* --prefill-concurrency limit (0: none) and its ramp */
    double prefill_ramp_s;
    long sessions; /* sessions to start (every turn of each is sent); 0: no such limit */
    bool series;   /* --request-rate-series drives the rate (rate mode) */
    /* a rate-mode warmup before a closed-loop profile (--warmup-request-rate, AIPerf
     * 0.13): timed sends at `rate`, capped at `cap` requests in flight (0: none) */
    bool rate_mode;
    long cap;
    /* a warmup block before a fixed schedule (engine.warm_block): AIPerf's closed-loop
     * warmup, at most sess_cap of the block's sessions at a time (a session's turns one
     * after the other, the next session when one has ended) */
    bool sess_loop;
    long sess_cap;
};

/* Closed loop: opens the levels whose ramp instant has come and wakes the workers that
 * gained a slot. Returns the next level's instant, or 0 when none is left. */
static int64_t ramp_tick(struct sched *s)
{
    struct engine *e = s->e;
    if (e->lvl_ramp_ns <= 0)
        return 0;
    long cur = atomic_load(&e->level);
    if (cur >= e->lvl_target)
        return 0;
    long now_l = ramp_level_now(e->lvl_target, e->lvl_ramp_ns, clock_mono_ns() - e->lvl_t0);
    if (now_l > cur) {
        atomic_store_explicit(&e->level, now_l, memory_order_release);
        if (s->pmode != MODE_CONCURRENCY) {
            /* the shared cap: every worker waiting for a slot may take one now */
            atomic_store(&e->gcap, now_l);
            for (int i = 0; i < e->nw; i++)
                worker_wake(&e->w[i]);
        } else {
            for (int i = 0; i < e->nw; i++)
                if (ramp_worker_share(now_l, e->nw, i) > ramp_worker_share(cur, e->nw, i))
                    worker_wake(&e->w[i]);
        }
        cur = now_l;
    }
    return cur >= e->lvl_target
               ? 0
               : e->lvl_t0 + ramp_level_at_ns(cur + 1, e->lvl_target, e->lvl_ramp_ns);
}

static double phase_gap(void *ctx, double rate)
{
    struct sched *s = ctx;
    double mean = 1.0 / rate;
    if (s->arrival == ARRIVAL_CONSTANT)
        return mean;
    if (s->arrival == ARRIVAL_POISSON)
        return rng_exponential(&s->arrival_rng, mean);
    return rng_gamma(&s->arrival_rng, s->smoothness, mean / s->smoothness);
}

/* Applies --extra-inputs and a --streaming override to a body. Returns a new heap
 * string, or NULL to keep the body as it is. */
static char *rewrite_body(struct sched *s, const char *body, size_t len, bool *stream)
{
    if (!s->extra && s->cfg->streaming < 0)
        return NULL;
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return NULL;
    }
    if (s->cfg->streaming >= 0 && s->cfg->endpoint != EP_EMBEDDINGS &&
        s->cfg->endpoint != EP_RANKINGS) {
        bool on = s->cfg->streaming != 0;
        cJSON_DeleteItemFromObjectCaseSensitive(root, "stream");
        cJSON_AddBoolToObject(root, "stream", on);
        *stream = on;
        /* stream_options belongs to streamed chat and completions only: vLLM answers 400
         * ("Stream options can only be defined when stream=True") to a body that keeps it
         * with streaming off. Forced on, it asks for the usage chunk as pack would have. */
        bool so_type = s->cfg->endpoint == EP_CHAT || s->cfg->endpoint == EP_COMPLETIONS;
        if (on && so_type && !cJSON_GetObjectItemCaseSensitive(root, "stream_options"))
            cJSON_AddItemToObject(root, "stream_options", cJSON_Parse("{\"include_usage\":true}"));
    }
    if (s->extra) {
        const cJSON *kv;
        cJSON_ArrayForEach(kv, s->extra)
        {
            cJSON_DeleteItemFromObjectCaseSensitive(root, kv->string);
            cJSON_AddItemToObject(root, kv->string, cJSON_Duplicate(kv, 1));
            if (!strcmp(kv->string, "stream"))
                *stream = cJSON_IsTrue(kv);
        }
    }
    /* Streaming turned off (by the flag or an extra "stream": false): the trace's
     * stream_options goes too, unless the extras set it on purpose. */
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "stream")) &&
        !(s->extra && cJSON_GetObjectItemCaseSensitive(s->extra, "stream_options")))
        cJSON_DeleteItemFromObjectCaseSensitive(root, "stream_options");
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* NULL when s can go into a header value as it is; else a malloc'd copy with its control
 * bytes and '%' percent-encoded (so the encoding can be undone). */
static char *header_safe(const char *s)
{
    size_t n = 0, bad = 0;
    bool ctl = false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
        bool c = *p < 0x20 || *p == 0x7f;
        ctl |= c;
        bad += c || *p == '%';
    }
    if (!ctl)
        return NULL;
    char *v = xmalloc(n + 2 * bad + 1), *o = v;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '%') {
            *o++ = '%';
            *o++ = "0123456789ABCDEF"[*p >> 4];
            *o++ = "0123456789ABCDEF"[*p & 15];
        } else {
            *o++ = (char)*p;
        }
    }
    *o = '\0';
    return v;
}

/* A cleared item: one a worker handed back, with its body and conv buffers kept, or a new
 * one. Only this thread allocates items and frees the ones that come back (engine.h). */
static struct item *item_take(struct sched *s)
{
    if (!s->spare)
        for (int i = 0; i < s->e->nw; i++)
            for (struct item *b; (b = ring_pop(s->e->w[i].back));) {
                b->next = s->spare;
                s->spare = b;
            }
    struct item *it = s->spare;
    if (!it) {
        atomic_fetch_add_explicit(&s->e->items_made, 1, memory_order_relaxed);
        it = xcalloc(1, sizeof *it);
        rec_init(&it->rec);
        it->tm.idx = -1;
        return it;
    }
    s->spare = it->next;
    char *body = it->body, *conv = it->rec.conv;
    size_t body_cap = it->body_cap, conv_cap = it->conv_cap;
    free(it->rec.model);
    free(it->sh_val);
    memset(it, 0, sizeof *it);
    rec_init(&it->rec);
    it->tm.idx = -1;
    it->body = body;
    it->body_cap = body_cap;
    it->rec.conv = conv;
    it->conv_cap = conv_cap;
    return it;
}

/* Makes *p (cap bytes) hold n bytes of room. */
static void reserve(char **p, size_t *cap, size_t n)
{
    if (*cap >= n)
        return;
    free(*p);
    *cap = n < 64 ? 64 : n;
    *p = xmalloc(*cap);
}

/* The decimal of v into dst (room for 21 bytes): conversation ids are made once per
 * request (a request index, or a cycled session's wrap count), and snprintf's formatting
 * machinery was ~0.8 % of a closed-loop run's CPU on one core (perf). */
static void put_index(char *dst, long v)
{
    char tmp[24];
    int n = 0;
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while ((u /= 10));
    if (v < 0)
        *dst++ = '-';
    while (n)
        *dst++ = tmp[--n];
    *dst = '\0';
}

static struct item *make_item(struct sched *s, const struct trace_request *tr, long index,
                              enum rec_phase phase)
{
    struct item *it = item_take(s);
    struct rec *r = &it->rec;
    r->index = index;
    if (tr->session && *tr->session) {
        size_t k = strlen(tr->session);
        reserve(&r->conv, &it->conv_cap, k + (s->wrap ? 24 : 1));
        memcpy(r->conv, tr->session, k + 1);
        if (s->wrap) { /* "<session>#<wrap>": a cycled session is a new conversation */
            r->conv[k] = '#';
            put_index(r->conv + k + 1, s->wrap);
        }
    } else {
        reserve(&r->conv, &it->conv_cap, 24);
        put_index(r->conv, index);
    }
    if (s->e->sh_len) /* --session-header: its value cannot carry a control byte */
        it->sh_val = header_safe(r->conv);
    r->turn = tr->turn;
    r->phase = phase;
    r->model = tr->model ? xstrdup(tr->model) : NULL;
    r->stream = tr->stream;
    r->isl = tr->isl;
    r->osl_req = tr->osl;
    bool stream = tr->stream;
    char *nb = rewrite_body(s, tr->body, tr->body_len, &stream);
    if (nb) {
        free(it->body);
        it->body = nb;
        it->body_len = strlen(nb);
        it->body_cap = it->body_len + 1;
    } else {
        reserve(&it->body, &it->body_cap, tr->body_len + 1);
        memcpy(it->body, tr->body, tr->body_len);
        it->body[tr->body_len] = '\0';
        it->body_len = tr->body_len;
    }
    r->stream = stream;
    it->url = s->e->ntargets > 1 ? (int)(index % s->e->ntargets) : 0;
    r->url = it->url;
    it->delay_ms = tr->delay_ms * (s->cfg->time_scale > 0 ? s->cfg->time_scale : 1);
    it->gap_ns = (int64_t)(tr->gap_ms * (s->cfg->time_scale > 0 ? s->cfg->time_scale : 1) * 1e6);
    it->live = tr->history == TRACE_HISTORY_LIVE && s->cfg->endpoint == EP_CHAT;
    /* The first turn is "recorded" (its body is complete) but its exchange is the start of
     * the history its live later turns carry: it must be kept too (it was not, so turn 1
     * went out with no history and turn 2 without turn 0's exchange). */
    it->keep = it->live || s->e->live_history;
    if (s->cfg->cancel_rate_pct > 0 && rng_uniform(&s->cancel) * 100 < s->cfg->cancel_rate_pct) {
        it->cancel = true;
        it->cancel_after_ns = (int64_t)(s->cfg->cancel_delay_s * 1e9);
    }
    return it;
}

long worker_limit(const struct worker *w)
{
    long lv = atomic_load_explicit(&w->eng->level, memory_order_acquire);
    return lv > 0 ? ramp_worker_share(lv, w->eng->nw, w->id) : w->slots;
}

long worker_stock(const struct worker *w)
{
    /* A phase with fewer slots open than dealt (a ramp, --warmup-concurrency): two rounds
     * of the open ones, none for a worker with none open (it could not start them, and
     * a short run would leave them there while the open slots idle). */
    const struct engine *e = w->eng;
    long lv = atomic_load_explicit(&e->level, memory_order_acquire);
    if (lv > 0 && e->lvl_ramp_ns > 0 && lv < e->lvl_target) {
        /* A ramp: only as many as the worker has open slots free. A request handed to a
         * worker whose slots are busy would wait there while a slot opened on another
         * one stays empty (the scheduler cannot take it back). */
        long k = worker_limit(w) - atomic_load(&w->active);
        /* and the request for the next level's slot, ahead of its instant, when that slot
         * is this worker's (it waits there only until the ramp opens it) */
        if (lv % e->nw == w->id)
            k++;
        return k > 0 ? k : 0;
    }
    if (lv > 0) {
        long k = 2 * worker_limit(w);
        return k > RING_CAP / 2 ? RING_CAP / 2 : k;
    }
    /* The same number of rounds of slots for every worker: stocks proportional to slots
     * run out together, so no worker idles at the end of a run while another works off
     * its backlog. At least two rounds, and 256 requests for the worker with the fewest
     * slots, so the scheduler refills in batches rather than once a request. */
    /* slots are dealt out with the remainder going to the first workers: the last has
     * the fewest */
    long least = e->w[e->nw - 1].slots > 0 ? e->w[e->nw - 1].slots : 1;
    long rounds = (256 + least - 1) / least;
    if (rounds < 2)
        rounds = 2;
    long k = rounds * (w->slots > 0 ? w->slots : 1);
    return k > RING_CAP / 2 ? RING_CAP / 2 : k;
}

/* The worker with the least work (queued, pending and running requests) per slot; -1
 * when every ring is full (closed loop: stocked to worker_stock each). */
static int pick_worker(struct engine *e, bool closed)
{
    int best = -1;
    long best_load = 0, best_slots = 1;
    for (int i = 0; i < e->nw; i++) {
        struct worker *w = &e->w[i];
        long q = atomic_load(&w->queued);
        long held = q + atomic_load(&w->pending);
        /* Stocked deep (worker_stock): a slot that frees never waits for this thread, and
         * this thread runs in batches rather than once a request. */
        if (closed && held >= worker_stock(w))
            continue;
        if (q >= RING_CAP - 1)
            continue;
        long load = held + atomic_load(&w->active);
        long slots = w->slots > 0 ? w->slots : 1;
        /* load/slots < best_load/best_slots, without division */
        if (best < 0 || load * best_slots < best_load * slots) {
            best = i;
            best_load = load;
            best_slots = slots;
        }
    }
    return best;
}

static void sleep_until(int64_t t)
{
    struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void push_to(struct engine *e, int wi, struct item *it)
{
    struct worker *w = &e->w[wi];
    atomic_fetch_add(&e->outstanding, 1);
    atomic_fetch_add(&w->queued, 1);
    it->rec.t_dispatch = clock_mono_ns();
    while (!ring_push(w->ring, it)) {
        worker_wake(w);
        sleep_until(clock_mono_ns() + 50000);
    }
    if (atomic_exchange(&w->sleeping, 0))
        worker_wake(w);
}

/* Waits until some worker's ring has room (closed loop), or stop. */
static int wait_room(struct sched *s)
{
    struct engine *e = s->e;
    for (;;) {
        int64_t next_level = ramp_tick(s);
        int64_t dl = atomic_load(&e->send_deadline);
        if (atomic_load(&e->stop) || (dl && clock_mono_ns() >= dl))
            return -1;
        int wi = pick_worker(e, true);
        if (wi >= 0)
            return wi;
        atomic_store(&e->sched_waiting, 1);
        wi = pick_worker(e, true);
        if (wi >= 0)
            return wi;
        struct pollfd pfd = {.fd = e->sched_evfd, .events = POLLIN};
        int ms = 100;
        if (next_level) { /* a ramp's next level: wake for it */
            int64_t left = next_level - clock_mono_ns();
            if (left < 2000000) { /* the last stretch on the clock, not poll's ms */
                sleep_until(next_level);
                continue;
            }
            ms = left < 100000000 ? (int)(left / 1000000) - 1 : 100;
        }
        if (poll(&pfd, 1, ms) > 0) {
            uint64_t v;
            ssize_t k = read(e->sched_evfd, &v, sizeof v);
            (void)k;
        } else if (ms == 100) {
            /* Every stock full for 100 ms: a worker whose slots are all kept by sessions
             * waiting for later turns is asleep; wake it to give them back. */
            for (int i = 0; i < e->nw; i++)
                worker_wake(&e->w[i]);
        }
    }
}

static int next_request(struct sched *s, struct trace_request *tr, bool may_wrap)
{
    struct diag d = {0};
    int rc = s->e->src->next(s->e->src->ctx, tr, &d);
    if (rc == 0 && may_wrap && s->e->src->rewind && s->nread > 0) {
        if (s->e->src->rewind(s->e->src->ctx, &d) == 0) {
            s->wrap++;
            if (!s->src_len)
                s->src_len = s->nread;
            s->nread = 0;
            rc = s->e->src->next(s->e->src->ctx, tr, &d);
        }
    }
    if (rc > 0)
        s->nread++;
    if (rc < 0) {
        snprintf(s->e->errmsg, sizeof s->e->errmsg, "%s", d.msg);
        atomic_store(&s->e->failed, 1);
    }
    return rc;
}

/* A warmup block's closed loop: waits until fewer than cap of its sessions are under
 * way, then counts one more. False on stop or the phase's deadline. */
static bool sess_wait(struct sched *s, long cap)
{
    struct engine *e = s->e;
    while (atomic_load(&e->wsess) >= cap) {
        int64_t dl = atomic_load(&e->send_deadline);
        if (atomic_load(&e->stop) || (dl && clock_mono_ns() >= dl))
            return false;
        /* nothing in flight can end a session: the count is stale, start over from it */
        if (atomic_load(&e->outstanding) == 0) {
            atomic_store(&e->wsess, 0);
            break;
        }
        atomic_store(&e->sched_waiting, 1);
        if (atomic_load(&e->wsess) < cap)
            break;
        struct pollfd pfd = {.fd = e->sched_evfd, .events = POLLIN};
        if (poll(&pfd, 1, 10) > 0) {
            uint64_t v;
            ssize_t k = read(e->sched_evfd, &v, sizeof v);
            (void)k;
        }
    }
    atomic_fetch_add(&e->wsess, 1);
    return true;
}

/* Issues one phase; returns the number issued, or -1 when the source failed. */
static long run_phase(struct sched *s, const struct phase_spec *ps)
{
    enum rec_phase phase = ps->phase;
    long count = ps->count;
    double duration_s = ps->duration_s;
    struct engine *e = s->e;
    const struct replay_config *cfg = s->cfg;
    const int64_t lookahead = 20000000 + cfg->spin_ns; /* 20 ms: slack for a busy core */
    const int64_t lookahead_batch = 10000000;
    /* --start-at: the first phase begins at the common instant (converted to this host's
     * monotonic clock by replay_run), whatever the pre-connections took. */
    int64_t t0 = !s->started && e->start_mono ? e->start_mono : clock_mono_ns() + 1000000;
    s->started = true;
    if (phase == PHASE_PROFILE)
        atomic_store(&e->t0, t0);
    atomic_store(&e->phase, (int)phase);
    int64_t end = duration_s > 0 ? t0 + (int64_t)(duration_s * 1e9) : 0;
    /* the warmup's duration bounds its sends too (cleared when it is over) */
    atomic_store(&e->send_deadline, end);
    s->phase_t0 = t0;
    s->arrival = ps->arrival;
    s->smoothness = ps->smoothness;
    /* --prefill-concurrency: the phase's limit, its ramp read off the clock by the workers
     * from t0 (the phase before is drained, so no slot of it is still held) */
    atomic_store(&e->pt0, t0);
    atomic_store(&e->pramp_ns, ps->prefill > 1 && ps->prefill_ramp_s > 0
                                   ? (int64_t)(ps->prefill_ramp_s * 1e9)
                                   : 0);
    atomic_store_explicit(&e->ptarget, ps->prefill, memory_order_release);
    /* a closed loop over the sessions of a warmup block runs as timed sends due when
     * their session may start */
    enum replay_mode pm = ps->rate_mode || ps->sess_loop ? MODE_RATE : cfg->mode;
    atomic_store(&e->wsess, 0);
    s->pmode = pm;
    if (pm == MODE_CONCURRENCY) {
        /* The phase's open slots: a ramp from 1 (loadshape.h), a level of its own, or
         * every slot. The workers see the new generation and start over from it. The
         * shared cap of a rate warmup before it is gone (that warmup is drained). */
        atomic_store(&e->gcap, 0);
        long target = ps->level > 0 ? ps->level : cfg->concurrency;
        bool ramp = ps->conc_ramp_s > 0 && target > 1;
        e->lvl_t0 = t0;
        e->lvl_ramp_ns = ramp ? (int64_t)(ps->conc_ramp_s * 1e9) : 0;
        e->lvl_target = target;
        if (ramp) /* level 1 opens at the phase start itself, not before it */
            sleep_until(t0);
        atomic_store_explicit(&e->level, ramp ? 1 : ps->level, memory_order_release);
        atomic_fetch_add_explicit(&e->lvl_gen, 1, memory_order_acq_rel);
        for (int i = 0; i < e->nw; i++)
            worker_wake(&e->w[i]);
    }
    if (pm != MODE_CONCURRENCY && cfg->mode == MODE_CONCURRENCY && ps->cap <= 0) {
        /* A rate warmup with no cap before a closed loop: every worker's slots open
         * without limit (the level is what may_start reads without a shared cap). */
        e->lvl_t0 = t0;
        e->lvl_ramp_ns = 0;
        e->lvl_target = LONG_MAX / 4;
        atomic_store(&e->gcap, 0);
        atomic_store_explicit(&e->level, LONG_MAX / 4, memory_order_release);
        atomic_fetch_add_explicit(&e->lvl_gen, 1, memory_order_acq_rel);
        for (int i = 0; i < e->nw; i++)
            worker_wake(&e->w[i]);
    } else if (pm != MODE_CONCURRENCY) {
        /* The timed modes' shared cap: the phase's own (--warmup-concurrency), ramped
         * from 1 like the closed loop's slots (AIPerf ramps the session limit in every
         * mode), or none. The level only drives the ramp here; workers read gcap. */
        long cap = ps->sess_loop   ? 0
                   : ps->rate_mode ? ps->cap
                   : ps->level > 0 ? ps->level
                                   : cfg->concurrency;
        bool ramp = ps->conc_ramp_s > 0 && cap > 1;
        e->lvl_t0 = t0;
        e->lvl_ramp_ns = ramp ? (int64_t)(ps->conc_ramp_s * 1e9) : 0;
        e->lvl_target = cap;
        atomic_store(&e->level, ramp ? 1 : 0);
        atomic_store(&e->gcap, ramp ? 1 : cap);
        for (int i = 0; i < e->nw; i++)
            worker_wake(&e->w[i]);
    }
    struct rate_ramp rr;
    rate_ramp_init(&rr, ps->rate, ps->rate_ramp_s > 0 ? (int64_t)(ps->rate_ramp_s * 1e9) : 0);
    double ramp_rate = ps->rate;
    int64_t ramp_prev = -1;
    /* --request-rate-series: from the end of the rate ramp on (loadshape.h) */
    struct rate_series rs;
    rate_series_init(&rs, cfg->series_t, cfg->series_qps, ps->series ? cfg->nseries : 0,
                     rr.ramp_ns);
    bool unlimited = count <= 0 && duration_s > 0;
    bool may_wrap = cfg->mode != MODE_FIXED && (unlimited || count > 0 || ps->sessions > 0);
    /* --num-warmup-sessions: the sessions started, and the turns they have still to send
     * (-1: a session's turn count is unknown, its later turns are sent as they come) */
    struct smap started = {0};
    long nstarted = 0, turns_left = 0;
    double offset0 = -1;
    double gap_acc = 0;
    long issued = 0;
    struct trace_request tr;
    while ((unlimited || count <= 0 || issued < count) && !atomic_load(&e->stop)) {
        /* the N sessions started: their later turns come before the source's end */
        int rc = next_request(s, &tr, may_wrap && (ps->sessions <= 0 || nstarted < ps->sessions));
        if (rc < 0) {
            smap_free(&started);
            return -1;
        }
        if (rc == 0)
            break;
        /* a warmup block: the warmup's requests, before the schedule (profiling's) */
        if (e->warm_block && phase == PHASE_WARMUP && !tr.warmup)
            break;
        if (e->warm_block && phase == PHASE_PROFILE && tr.warmup)
            continue;
        long index = tr.index + s->wrap * s->src_len;
        bool later = e->multi_turn && tr.turn > 0;
        if (ps->sessions > 0) {
            /* AIPerf 0.13's session stop condition: no new session once N have started,
             * every turn of those N still sent */
            const char *key = tr.session && *tr.session ? tr.session : NULL;
            if (!later) {
                if (nstarted >= ps->sessions) {
                    if (turns_left <= 0 && !e->multi_turn)
                        break;
                    continue;
                }
                nstarted++;
                if (e->multi_turn && key) {
                    int n = e->src->turns ? e->src->turns(e->src->ctx, key) : 0;
                    *smap_slot(&started, key) = 1;
                    if (n > 1 && turns_left >= 0)
                        turns_left += n - 1;
                    else if (n <= 0)
                        turns_left = -1;
                }
            } else {
                if (!key || smap_find(&started, key) < 0)
                    continue;
                if (turns_left > 0)
                    turns_left--;
            }
        }
        int64_t due = 0;
        if (pm == MODE_CONCURRENCY)
            ramp_tick(s);
        /* A rate warmup from a warmup block: AIPerf's rate loop sends a session's next
         * turn at a tick of its own (the next one after the reply), so every request,
         * later turns too, takes the next arrival instant */
        bool tick_all = e->warm_block && ps->rate_mode;
        bool took_sess = false; /* this line holds one of the block's session slots */
        if (!later || tick_all) {
            if (pm == MODE_FIXED) {
                if (!tr.timed)
                    continue;
                if (cfg->start_offset_ms >= 0 && tr.t_ms < cfg->start_offset_ms)
                    continue;
                if (cfg->end_offset_ms >= 0 && tr.t_ms > cfg->end_offset_ms)
                    continue;
                if (offset0 < 0)
                    offset0 = cfg->auto_offset            ? tr.t_ms
                              : cfg->start_offset_ms >= 0 ? cfg->start_offset_ms
                                                          : 0;
                double scale = cfg->time_scale > 0 ? cfg->time_scale : 1;
                due = t0 + (int64_t)((tr.t_ms - offset0) * scale * 1e6);
            } else if (ps->sess_loop) {
                if (!sess_wait(s, ps->sess_cap))
                    break;
                took_sess = true;
                due = clock_mono_ns();
            } else if (pm == MODE_RATE && ps->series) {
                ramp_prev = rate_shape_next(&rr, &rs, &ramp_rate, ramp_prev, phase_gap, s);
                due = t0 + ramp_prev;
            } else if (pm == MODE_RATE && ps->rate_ramp_s > 0) {
                /* AIPerf's rate ramp (loadshape.h): gaps at the rate in force, pulled in
                 * by the updates every 0.1 s */
                ramp_prev = rate_ramp_next(&rr, &ramp_rate, ramp_prev, phase_gap, s);
                due = t0 + ramp_prev;
            } else if (pm == MODE_RATE) {
                if (ps->arrival == ARRIVAL_CONSTANT) {
                    due = t0 + (int64_t)((double)issued * 1e9 / ps->rate);
                } else {
                    gap_acc += phase_gap(s, ps->rate);
                    due = t0 + (int64_t)(gap_acc * 1e9);
                }
            }
            if (end && due >= end)
                break;
            if (pm == MODE_CONCURRENCY && end && clock_mono_ns() >= end)
                break;
        }
        /* --shard: every shard computes the whole schedule (count, due times, the rate's
         * position) and sends only its part, so the shards' union is the schedule. */
        if (s->deal.count > 1) {
            bool sess = e->multi_turn && tr.session && *tr.session &&
                        (later || !e->src->turns || e->src->turns(e->src->ctx, tr.session) > 1);
            if (!shard_take(&s->deal, tr.session, sess)) {
                /* the cancellation draw of the request another shard sends: each request
                 * keeps the single process's pick */
                if (cfg->cancel_rate_pct > 0)
                    (void)rng_uniform(&s->cancel);
                /* a session another shard runs gives its slot back: nothing here ends it */
                if (took_sess)
                    atomic_fetch_sub(&e->wsess, 1);
                issued++;
                continue;
            }
        }
        struct item *it = make_item(s, &tr, index, phase);
        it->later_turn = later;
        if (ps->sess_loop) { /* the block's sessions end at their last line */
            int n = e->multi_turn && e->src->turns && tr.session
                        ? e->src->turns(e->src->ctx, tr.session)
                        : 1;
            it->sess_end = tr.turn + 1 >= (n > 0 ? n : 1);
        }
        /* the session's turns in the trace (0: not known) */
        int nturns = e->multi_turn && e->src->turns && tr.session
                         ? e->src->turns(e->src->ctx, tr.session)
                         : 0;
        if (tr.turn == 0)
            it->turns = nturns;
        int wi;
        if (later) {
            int *slot = smap_slot(&s->sessions, it->rec.conv);
            wi = *slot >= 0 ? *slot : pick_worker(e, false);
            if (wi < 0)
                wi = 0;
            *slot = wi;
            /* Its last line (counted, whatever the turn numbers say): nothing will look
             * the session up again. Kept, the map grew by one entry per session for as
             * long as a cycled run lasted (~80 B each, 10 MB in 30 s of a closed loop of
             * 4-turn sessions). */
            if (nturns > 0 && ++slot[1] >= nturns)
                smap_drop(&s->sessions, it->rec.conv);
            it->delay_ms = tr.delay_ms * (cfg->time_scale > 0 ? cfg->time_scale : 1);
            if (tick_all) /* its tick, or the reply's end (and delay) if later */
                it->not_before = due > 0 ? due : 1;
            /* A later turn with its own time (baseten_trace open loop): AIPerf's fixed
             * schedule sends it at that time, or when the previous reply ends if later. */
            if (cfg->mode == MODE_FIXED && tr.timed && offset0 >= 0) {
                double scale = cfg->time_scale > 0 ? cfg->time_scale : 1;
                int64_t at = t0 + (int64_t)((tr.t_ms - offset0) * scale * 1e6);
                it->not_before = at > 0 ? at : 1;
            }
        } else if (pm == MODE_CONCURRENCY) {
            wi = wait_room(s);
            if (wi < 0) {
                item_free(it);
                break;
            }
            it->rec.t_intended = t0;
        } else {
            it->timed = true;
            it->rec.t_intended = due;
            /* Sleeps until half the look-ahead past the item's hand-over time, then hands
             * over everything due within the look-ahead: one wake-up (and one worker
             * wake-up) per 10 ms of requests instead of one per request, which at 5,000
             * req/s was most of the client's CPU. Every item still reaches its worker at
             * least 10 ms before it is due. */
            int64_t wake = due - lookahead;
            /* a cap ramp opens its levels on time while this thread waits */
            for (int64_t nl;
                 (nl = ramp_tick(s)) && nl < wake + lookahead_batch && !atomic_load(&e->stop);)
                sleep_until(nl);
            if (wake > clock_mono_ns())
                sleep_until(wake + lookahead_batch);
            if (atomic_load(&e->stop)) {
                item_free(it);
                break;
            }
            wi = pick_worker(e, false);
            if (wi < 0)
                wi = 0;
        }
        if (e->multi_turn && !later && nturns != 1) {
            int *slot = smap_slot(&s->sessions, it->rec.conv);
            slot[0] = wi;
            slot[1] = 1; /* lines of the session seen */
        }
        push_to(e, wi, it);
        issued++;
        if (ps->sessions > 0 && nstarted >= ps->sessions && turns_left == 0)
            break;                              /* every turn of the N sessions is out */
        if (phase == PHASE_PROFILE && !later) { /* the progress line's ETA */
            atomic_store_explicit(&e->sched_issued, issued, memory_order_relaxed);
            if (due)
                atomic_store_explicit(&e->sched_due_last, due, memory_order_relaxed);
        }
    }
    smap_free(&started);
    return issued;
}

void *sched_main(void *arg)
{
    struct engine *e = arg;
    /* Closed loop: reading the trace comes in bursts (a ring refill at a time); at a lower
     * priority they never delay a worker that has bytes to stamp on the same core. Timed
     * modes keep the normal priority: the scheduler must stay ahead of the schedule. */
    /* A concurrency ramp's slots open at set instants: then the scheduler hands each its
     * request on time, at the normal priority. */
    if (e->cfg->mode == MODE_CONCURRENCY && e->cfg->conc_ramp_s <= 0 && e->cfg->warmup_rate <= 0 &&
        e->cfg->warmup_conc_ramp_s <= 0)
        setpriority(PRIO_PROCESS, (id_t)gettid(), 5);
    const struct replay_config *cfg = e->cfg;
    struct sched s = {.e = e, .cfg = cfg};
    s.deal.index = cfg->shard_index;
    s.deal.count = cfg->shard_count;
    s.extra = parse_extra(cfg->extra_inputs);
    uint64_t seed = e->seed;
    rng_derive(&s.arrival_rng, seed, "arrival");
    rng_derive(&s.cancel, seed, "cancel");
    /* Pre-connections first (bounded wait): t0 starts with the pool warm. */
    int64_t pre_end = clock_mono_ns() + (int64_t)((cfg->connect_timeout_s + 1) * 1e9);
    while (atomic_load(&e->preconnecting) > 0 && clock_mono_ns() < pre_end &&
           !atomic_load(&e->stop))
        sleep_until(clock_mono_ns() + 1000000);
    bool warm = cfg->warmup_count > 0 || cfg->warmup_duration_s > 0 || cfg->warmup_sessions > 0;
    if (warm) {
        struct phase_spec w = {
            .phase = PHASE_WARMUP,
            .count = cfg->warmup_count,
            .duration_s = cfg->warmup_duration_s,
            .arrival = cfg->warmup_arrival >= 0 ? (enum arrival)cfg->warmup_arrival : cfg->arrival,
            .rate = cfg->warmup_rate > 0 ? cfg->warmup_rate : cfg->rate,
            .level = cfg->warmup_concurrency,
            /* AIPerf 0.13: the warmup ramps as profiling does unless told otherwise */
            .conc_ramp_s = cfg->warmup_conc_ramp_s > 0 ? cfg->warmup_conc_ramp_s : cfg->conc_ramp_s,
            .rate_ramp_s = cfg->warmup_rate_ramp_s > 0 ? cfg->warmup_rate_ramp_s : cfg->rate_ramp_s,
            .prefill = cfg->warmup_prefill_concurrency > 0 ? cfg->warmup_prefill_concurrency
                                                           : cfg->prefill_concurrency,
            .prefill_ramp_s =
                cfg->warmup_prefill_ramp_s > 0 ? cfg->warmup_prefill_ramp_s : cfg->prefill_ramp_s,
            .sessions = cfg->warmup_sessions,
            /* AIPerf 0.13: --warmup-request-rate makes the warmup a rate phase whatever
             * profiling's mode, capped by --warmup-concurrency, else by a --concurrency
             * given, else not at all */
            .rate_mode = (cfg->mode == MODE_CONCURRENCY || e->warm_block) && cfg->warmup_rate > 0,
            .cap = cfg->warmup_concurrency > 0 ? cfg->warmup_concurrency : cfg->warmup_rate_cap,
            /* AIPerf 0.13 warms a user-centric run up in closed loop unless it has a rate */
            .sess_loop = e->warm_block && cfg->warmup_rate <= 0,
            .sess_cap = cfg->warmup_concurrency > 0 ? cfg->warmup_concurrency : 1,
        };
        w.smoothness = w.arrival == ARRIVAL_GAMMA ? cfg->smoothness : 1;
        long n = run_phase(&s, &w);
        /* Drained: profiling starts only when every warmup request has finished, or,
         * after a duration with a grace period, when the grace period is over and what
         * is still in flight has been cancelled (AIPerf 0.13). */
        int64_t grace_end =
            cfg->warmup_duration_s > 0 && cfg->warmup_grace_s >= 0
                ? s.phase_t0 + (int64_t)((cfg->warmup_duration_s + cfg->warmup_grace_s) * 1e9)
                : 0;
        bool cancelled = false;
        while (n > 0 && atomic_load(&e->outstanding) > 0 && !atomic_load(&e->stop)) {
            ramp_tick(&s);
            if (grace_end && !cancelled && clock_mono_ns() >= grace_end) {
                cancelled = true;
                atomic_fetch_add(&e->cancel_gen, 1);
                for (int i = 0; i < e->nw; i++)
                    worker_wake(&e->w[i]);
            }
            sleep_until(clock_mono_ns() + 1000000);
        }
        atomic_store(&e->send_deadline, 0);
        if (e->src->rewind) {
            struct diag d;
            e->src->rewind(e->src->ctx, &d);
            s.wrap = 0;
            s.nread = 0;
        }
    }
    /* --server-profiler: started after warmup, right before profiling (AIPerf 0.13); if the
     * start fails, profiling does not begin. */
    if (cfg->profiler_start_path && !atomic_load(&e->stop) && !atomic_load(&e->failed)) {
        struct diag d;
        if (control_post(e, "--server-profiler start", cfg->profiler_start_path,
                         cfg->profiler_timeout_s, false, false, &d)) {
            snprintf(e->errmsg, sizeof e->errmsg, "%s", d.msg);
            atomic_store(&e->hook_failed, 1);
            atomic_store(&e->failed, 1);
        } else {
            atomic_store(&e->profiler_started, 1);
        }
    }
    if (!atomic_load(&e->stop) && !atomic_load(&e->failed)) {
        struct phase_spec p = {
            .phase = PHASE_PROFILE,
            .count = cfg->request_count,
            .duration_s = cfg->duration_s,
            .arrival = cfg->arrival,
            .rate = cfg->rate,
            .smoothness = cfg->smoothness,
            .level = warm && cfg->warmup_concurrency > 0 ? cfg->concurrency : 0,
            .conc_ramp_s = cfg->conc_ramp_s,
            .rate_ramp_s = cfg->rate_ramp_s,
            .prefill = cfg->prefill_concurrency,
            .prefill_ramp_s = cfg->prefill_ramp_s,
            .series = cfg->nseries > 0,
        };
        if (p.conc_ramp_s > 0)
            p.level = cfg->concurrency;
        run_phase(&s, &p);
        /* a ramp outlasting the sends: the slots keep opening on time for the requests
         * still waiting for one */
        int64_t next;
        while ((next = ramp_tick(&s)) && atomic_load(&e->outstanding) > 0 &&
               !atomic_load(&e->stop)) {
            int64_t lim = clock_mono_ns() + 50000000;
            sleep_until(next < lim ? next : lim);
        }
    }
    cJSON_Delete(s.extra);
    smap_free(&s.sessions);
    while (s.spare) {
        struct item *n = s.spare->next;
        item_free(s.spare);
        s.spare = n;
    }
    atomic_store(&e->sched_done, 1);
    /* A worker whose slots are kept by sessions waiting for turns that will not come now
     * (cut by the count) sleeps until woken: it gives them back when it sees this. */
    for (int i = 0; i < e->nw; i++)
        worker_wake(&e->w[i]);
    return NULL;
}
