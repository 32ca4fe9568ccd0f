/*
 * engine: the state replay's threads share, and the pieces they hand each other.
 * Internal to src/replay and src/net (replay.c, sched.c, worker.c, conn.c, writer.c);
 * not for other stages, which use replay.h.
 *
 * Sharing rules: the scheduler is the only producer of each worker's ring, the worker
 * its only consumer. A worker's record buffer (`out`) is guarded by its mutex, taken by
 * the worker to append and by the writer to swap. Everything else in a worker belongs to
 * its thread; cross-thread reads are atomics (counters, stop, outstanding).
 */
#ifndef METRONOME_ENGINE_H
#define METRONOME_ENGINE_H

#include "buf.h"
#include "endpoint.h"
#include "record.h"
#include "replay.h"

#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* A min-heap timer slot embedded in what it times (a connection or a queued item). */
struct timer {
    int64_t when;
    int idx; /* position in the heap, -1 when not armed */
    int kind;
};

/* One request on its way: built by the scheduler, owned by one worker from the ring on,
 * until the worker hands it back (worker.back). */
struct item {
    struct rec rec; /* index, conv, turn, phase, model, stream, isl, osl, t_intended */
    char *body;     /* owned, JSON; body_cap bytes */
    char *sh_val;   /* owned; --session-header's value when rec.conv holds a control byte
                       (percent-encoded: a header value cannot carry it); NULL: rec.conv */
    size_t body_len;
    /* body's and rec.conv's buffer sizes: the scheduler reuses an item the workers hand
     * back (engine.h: worker.back) with its buffers */
    size_t body_cap, conv_cap;
    int url;
    bool timed;      /* rec.t_intended is a deadline (rate, fixed schedule) */
    bool later_turn; /* turn > 0 of a session: due delay_ms after the previous turn ends */
    int turns;       /* first turns: the session's turn count in the source, 0 unknown */
    bool live;       /* prepend the session's live history (chat messages) */
    bool keep;       /* this turn's messages and reply join the session's history */
    double delay_ms;
    /* later turns with their own time (fixed schedule; AIPerf's timestamp_ms on a later
     * turn): sent at max(this, previous reply + delay_ms); 0: none */
    int64_t not_before;
    /* later turns of a user-centric schedule: sent gap_ns after the previous turn's
     * t_intended, or when its reply ends if later (AIPerf 0.13's turn gap); 0: none */
    int64_t gap_ns;
    /* the last turn of a warmup-block session in its closed loop: its end frees the
     * session's place (engine.wsess) */
    bool sess_end;
    bool retried; /* resent once after a stale keep-alive connection failed */
    bool cancel;  /* --request-cancellation-rate picked this one */
    bool prefill; /* holds a --prefill-concurrency slot (until its first token) */
    int64_t cancel_after_ns;
    struct timer tm;
    struct item *next;
};

struct worker;
void item_free(struct item *it);
/* Gives an item the worker is done with back to the scheduler (worker.back): the parts the
 * worker allocated are freed now, the rest is reused or freed by the scheduler; freed here
 * when the ring is full. */
void item_release(struct worker *w, struct item *it);

/* Serialized records a worker holds for the writer: at OUT_SOFT bytes it wakes the
 * writer early, at OUT_HARD it waits for it (back-pressure, counted in run.json), so a
 * writer that falls behind (a slow disk, a starved core) costs throughput, never memory:
 * records waiting to be compressed stay under about 2 x OUT_HARD per worker. */
#define OUT_SOFT ((size_t)128 << 10)
#define OUT_HARD ((size_t)1 << 20)

/* Single-producer single-consumer ring of item pointers. */
#define RING_CAP 4096
struct ring {
    _Atomic size_t head; /* consumer position */
    _Atomic size_t tail; /* producer position */
    struct item *v[RING_CAP];
};
bool ring_push(struct ring *r, struct item *it);
struct item *ring_pop(struct ring *r);
/* True if the ring holds an item (consumer side). */
bool ring_peek(struct ring *r);

/* Lateness histogram: log-linear buckets (8 per power of two) of nanoseconds. */
#define LHIST_BUCKETS 512
struct lhist {
    _Atomic uint64_t b[LHIST_BUCKETS];
};
void lhist_add(struct lhist *h, int64_t ns);
/* q in [0,1] over the sum of n histograms; upper edge of the bucket. */
double lhist_quantile(struct lhist *const *hs, int n, double q);

struct engine;
struct tls_config;

struct worker {
    int id;
    struct engine *eng;
    pthread_t th;
    int ep, evfd, tfd;
    struct ring *ring;
    /* Items the worker is done with, back to the scheduler thread that allocated them
     * (their results freed, item_release). Freeing them here instead grew the heap for as
     * long as the run lasted: the allocator behind malloc (Zig's SmpAllocator) puts a
     * freed block on the list of the slot the freeing thread holds, and the allocating
     * thread, finding its own list empty and that slot locked, maps new memory; a closed
     * loop's RSS rose ~23 KB/s (docs/replay.md, *Memory*). */
    struct ring *back;
    _Atomic long queued;       /* pushed into the ring, not yet taken */
    _Atomic long pending;      /* taken from the ring, waiting in the worker for a slot */
    _Atomic int sleeping;      /* in (or about to enter) epoll_wait: pushes must wake it */
    _Atomic int wants_slot;    /* has requests waiting for a shared --concurrency slot */
    _Atomic int wants_prefill; /* has requests waiting for a --prefill-concurrency slot */
    _Atomic long active;       /* requests being sent or received */
    long slots;                /* closed-loop slots or a cap share; 0 = unlimited */

    /* Counters read by progress and the result. */
    _Atomic long sent, completed, errors, cancelled, not_sent;
    _Atomic long rx_kernel, rx_user;        /* byte-carrying reads stamped by the kernel, or not */
    _Atomic long sessions_done;             /* multi-turn sessions whose every turn finished */
    _Atomic long prof_records, prof_errors; /* profiling phase only (--failed-request-threshold) */
    _Atomic int64_t spin_ns;                /* time the loop busy-polled inside --spin-us windows */
    /* Connections at a fixed rate (run.json counts): opened by the pool ahead of the sends
     * that use them; opened by a send that found the pool empty (on its critical path);
     * of those, opened by a send that was already later than the pool's horizon (the
     * worker was held off its CPU for longer than the pool looks ahead). */
    _Atomic long conns_ahead, conns_at_send, conns_at_send_late;
    _Atomic long conns_opened; /* every connection this worker opened (any strategy) */
    struct lhist late;
    struct lhist ttft, itl; /* successful streamed requests, for the progress line */

    pthread_mutex_t out_mu;
    struct buf out; /* serialized records waiting for the writer */
    /* Back-pressure: a worker whose out buffer reaches OUT_HARD waits on out_cv (with
     * out_mu) until the writer takes it; the time it waited is counted. */
    pthread_cond_t out_cv;
    bool out_waiting;               /* guarded by out_mu */
    _Atomic long writer_waits;      /* times this worker waited for the writer */
    _Atomic int64_t writer_wait_ns; /* and for how long in all */

    void *priv; /* worker.c's thread-local state */
};

struct target {
    struct url url;
    char path[URL_PATH_MAX + URL_QUERY_MAX + 8]; /* request target: path and query */
    struct addrinfo *ai;                         /* resolved at start */
    struct buf prefix[2]; /* request line + headers up to "Content-Length: ", [stream] */
    _Atomic(struct addrinfo *) fresh; /* a newer lookup by the resolver thread, or NULL */
    _Atomic int want_resolve;         /* a worker found every address unreachable */
    int64_t resolved_at;              /* resolver thread only: its last lookup */
};

struct engine {
    const struct replay_config *cfg;
    struct replay_source *src;
    int64_t anchor_mono;
    int64_t anchor_real;
    struct target *targets;
    int ntargets;
    struct tls_config *tls; /* client TLS, when some --url is https */
    /* "NAME: " of --session-header (the session id and CRLF follow it); sh_len 0: none */
    char sh[136];
    size_t sh_len;
    struct worker *w;
    int nw;
    int sched_evfd; /* workers wake the scheduler when a closed-loop ring runs low */
    _Atomic int sched_waiting;

    _Atomic int stop;       /* 0 run, 1 stop issuing and drain, 2 cancel in-flight now (signal),
                               3 cancel in-flight now (grace period over) */
    _Atomic int sched_done; /* the scheduler issued everything it will */
    /* items the scheduler allocated (the rest of its requests reused items handed back):
     * bounded by the stocks, slots and rings, not by the run's length; run.json */
    _Atomic long items_made;
    _Atomic int finish;            /* main: all done, workers may leave */
    _Atomic long outstanding;      /* items issued and not yet recorded */
    _Atomic int64_t send_deadline; /* no new request starts after this (duration); 0 none */
    _Atomic int64_t t0;            /* profiling phase start */
    int64_t start_mono;            /* --start-at on this host's monotonic clock; 0: start at once */
    int64_t start_real;            /* --start-at as given (CLOCK_REALTIME ns); 0: none */
    int64_t woke_real;             /* when the realtime sleep before it ended; 0: none */
    uint64_t seed;                 /* arrivals and cancellations (same on every shard) */
    _Atomic int phase;             /* enum rec_phase being issued */
    _Atomic long planned;          /* profiling requests planned (for ETA); -1 unknown */
    /* The profiling schedule so far, for the progress line's ETA: requests issued and the
     * latest one's intended send time (mono ns). Written by the scheduler only. */
    _Atomic long sched_issued;
    _Atomic int64_t sched_due_last;
    _Atomic int writer_stop;
    _Atomic long preconnecting; /* pre-connections not yet up (or failed) */
    struct zwriter *zw;         /* records.jsonl.zst, used by the writer thread only */
    int zw_err;
    int writer_evfd;       /* workers wake the writer early (OUT_SOFT); -1 until created */
    _Atomic int no_writer; /* the writer thread could not start: nobody to wait for */

    /* Bytes of non-streaming bodies beyond BODY_FREE per connection, being received now
     * by every worker: capped by cfg->max_body_total. */
    _Atomic size_t body_inflight;

    /* Closed loop: the slots open now, all workers together; 0 = every slot (w->slots).
     * A phase with its own concurrency (--warmup-concurrency) or a ramp
     * (--concurrency-ramp-duration, loadshape.h) sets it; each worker opens its share
     * (ramp_worker_share). lvl_t0, lvl_ramp_ns and lvl_target describe the phase's ramp
     * (written by the scheduler before it bumps lvl_gen, read by the workers after). */
    _Atomic long level;
    _Atomic int lvl_gen;
    _Atomic int thr_hit;                  /* --failed-request-threshold stopped the run */
    _Atomic long thr_records, thr_errors; /* the counts it stopped at */
    _Atomic int cancel_gen;               /* bumped: every worker cancels what it has in flight (the
                                             warmup's grace period is over) */
    int64_t lvl_t0, lvl_ramp_ns;
    long lvl_target;

    /* rate and fixed modes: --concurrency as one cap for all workers (0: none); set per
     * phase (--warmup-concurrency) and raised by a --concurrency-ramp-duration ramp */
    _Atomic long gcap;
    _Atomic long ginflight;
    /* --prefill-concurrency (every mode): requests sent without a first token yet, all
     * workers together, at most the phase's limit (0: none). A ramp opens the limit 1 ->
     * ptarget over pramp_ns from pt0 (loadshape.h; the workers read it off the clock).
     * pfree_at: the latest instant a prefill slot was given back (a request that waited
     * for one is intended then). Set by the scheduler at each phase start. */
    _Atomic long ptarget;
    _Atomic int64_t pt0, pramp_ns;
    _Atomic long pinflight;
    _Atomic int64_t pfree_at;
    bool multi_turn; /* the source has sessions with later turns: track them */
    /* A fixed schedule with a warmup block (a user-centric trace packed with AIPerf's
     * warmup, trace.h): the warmup phase sends the block in its own load, profiling skips
     * it. wsess: the block's sessions started and not yet ended (its closed loop). */
    bool warm_block;
    _Atomic long wsess;
    /* Chat sessions whose later turns expect live history (header "history":"live"):
     * every turn's exchange, the first included, is kept. */
    bool live_history;
    char errmsg[512]; /* scheduler failure (source error) */
    /* The first failed request's error, for the line a run without any success ends
     * with: written once by the worker that wins first_err_taken, read after the join. */
    _Atomic int first_err_taken;
    char first_err[320];
    _Atomic int failed;
    _Atomic int profiler_started; /* --server-profiler: the start POST succeeded */
    _Atomic int hook_failed;      /* --server-profiler: the start POST failed */
    const char *const *redact;
    size_t nredact;

    int resolve_evfd;          /* wakes the resolver thread; -1 when it is not running */
    _Atomic int resolver_done; /* the resolver thread has left (it may be in getaddrinfo) */
    struct addrinfo **old_ai;  /* resolver thread only: replaced lookups, freed at the end */
    size_t nold, capold;
};

/* Thread entry points. */
void *worker_main(void *arg);
void *sched_main(void *arg);
/* Closed loop: the slots worker w may use now (its share of e->level, else w->slots). */
long worker_limit(const struct worker *w);
void *writer_main(void *arg);
void *resolver_main(void *arg);

/* Target u's addresses: the resolver thread's newest lookup, else the one at start. The
 * list stays valid until the run ends. */
struct addrinfo *resolver_addrs(struct engine *e, int u);
/* Asks the resolver thread to look target u up again (at most once a second). */
void resolver_request(struct engine *e, int u);
/* Frees every lookup the resolver made (after all threads have left). */
void resolver_free(struct engine *e);

/* Wakes a worker's loop (eventfd). */
void worker_wake(struct worker *w);
/* Allocates w->priv and the worker's fds. 0 or ERR_IO. */
int worker_init(struct worker *w, struct engine *eng, int id, struct diag *d);
void worker_free(struct worker *w);
/* How deep the scheduler stocks a closed-loop worker's ring. */
long worker_stock(const struct worker *w);
/* Connections a worker opens per target with --preconnect. */
long preconnect_count(const struct worker *w);

/* Appends the record's line to the worker's out buffer (locks out_mu), updates the
 * counters, frees nothing. Waits for the writer when the buffer holds OUT_HARD bytes. */
void worker_emit(struct worker *w, struct rec *r);
/* The request head's tail after the prefix (worker.c): "BLEN\r\nX-Request-Id: [w]INDEX
 * \r\n\r\n" into out (at least 80 bytes); returns its length. */
size_t req_tail(char *out, size_t blen, bool warmup, long index);
/* Wakes the writer thread before its next period (a worker's buffer is filling). */
void writer_kick(struct engine *e);

#endif
