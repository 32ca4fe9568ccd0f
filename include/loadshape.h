/*
 * loadshape: the schedule math of AIPerf 0.13's load-shape options, as pure functions
 * (the scheduler and the workers apply them; tests/unit/test_loadshape.c checks them).
 *
 * Concurrency ramp (--concurrency-ramp-duration D to C slots): the open slots start at 1
 * and rise by one at evenly spaced instants, level L (1..C) from D * (L - 1) / (C - 1)
 * after the phase starts, so C is reached at D exactly (AIPerf's linear stepped ramper).
 *
 * Request-rate ramp (--request-rate-ramp-duration D to R req/s): the rate is updated
 * every RATE_RAMP_UI_NS (AIPerf's 0.1 s update interval), at update k (k >= 0, at
 * k * 0.1 s) to s + (R - s) * k * 0.1 / D with s = R * 0.1 / D, and to R at the first
 * update at or after D. The next send is drawn at the current rate; an update that comes
 * before the pending send pulls it in to min(pending, update + a gap at the new rate).
 */
#ifndef METRONOME_LOADSHAPE_H
#define METRONOME_LOADSHAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATE_RAMP_UI_NS 100000000LL /* AIPerf's RATE_RAMP_UPDATE_INTERVAL: 0.1 s */

/* The instant (ns after the phase start) at which a ramp to `target` slots over ramp_ns
 * opens slot level `level` (1-based); 0 for level 1 or without a ramp. */
int64_t ramp_level_at_ns(long level, long target, int64_t ramp_ns);

/* The slot level open at `t_ns` after the phase start (1..target). */
long ramp_level_now(long target, int64_t ramp_ns, int64_t t_ns);

/* The slots of worker `id` of `nw` when `level` slots are open in all (the remainder to
 * the first workers, as the slots themselves are dealt). */
long ramp_worker_share(long level, int nw, int id);

/* The level at which worker `id`'s slot `j` (0-based) opens. */
long ramp_slot_level(long j, int nw, int id);

/* A request-rate ramp in progress. Times are ns after the phase start. */
struct rate_ramp {
    double target;   /* R, req/s */
    int64_t ramp_ns; /* D */
    double start;    /* s = R * ui / D */
    long k;          /* the next update's number */
    bool done;       /* the rate is R and no update is left */
};

void rate_ramp_init(struct rate_ramp *r, double target, int64_t ramp_ns);
/* The rate in force right after update k. */
double rate_ramp_rate_at(const struct rate_ramp *r, long k);

/* Draws the gap in seconds to the next send at `rate` (the caller's arrival pattern). */
typedef double (*gap_fn)(void *ctx, double rate);

/* The due time (ns after the phase start) of the send after the one at `prev_ns` (-1:
 * the first), applying every update that comes before it. `*rate` is the rate in
 * force, updated. Deterministic for a deterministic gap_fn. */
int64_t rate_ramp_next(struct rate_ramp *r, double *rate, int64_t prev_ns, gap_fn gap, void *ctx);

/*
 * Request-rate series (--request-rate-series FILE, AIPerf 0.13): points (time_s, qps),
 * time strictly increasing, qps > 0, at least two; the rate at e seconds into the series
 * is qps[0] before time[0], qps[n-1] from time[n-1] on, linear in between. The series
 * starts after the rate ramp (at its duration; at the phase start without one); its
 * updates come every RATE_RAMP_UI_NS from there: update j sets the value at j * 0.1 s,
 * and the last one is the first at or after time[n-1]. The phase's initial rate is
 * qps[0]. An update that changes the rate pulls the pending send in, as a ramp update
 * does; one that leaves it as it is changes nothing (AIPerf's set_request_rate).
 */
struct rate_series {
    const double *t, *qps; /* the points, borrowed */
    int n;
    int64_t start_ns; /* the series' start after the phase start */
    long j;           /* the next update's number */
    bool done;
};

void rate_series_init(struct rate_series *s, const double *t, const double *qps, int n,
                      int64_t start_ns);
/* The series' rate `e_s` seconds after its start. */
double rate_series_value(const struct rate_series *s, double e_s);

/* rate_ramp_next with a series after the ramp: the updates of both in time order. `r` may
 * be a ramp with ramp_ns 0 (none); `*rate` starts at qps[0] without a ramp. */
int64_t rate_shape_next(struct rate_ramp *r, struct rate_series *s, double *rate, int64_t prev_ns,
                        gap_fn gap, void *ctx);

struct diag;
/* Reads a series file: a JSON array of {"time_s", "qps"} objects, or an object whose one
 * key is "points" holding it (AIPerf 0.13's format). On success *t and *qps are new heap
 * arrays of *n points (the caller frees them). Errors name the file and the point. */
int rate_series_load(const char *path, double **t, double **qps, int *n, struct diag *d);
/* The same from the file's text (len bytes; `path` names it in messages). */
int rate_series_parse(const char *txt, size_t len, const char *path, double **t, double **qps,
                      int *n, struct diag *d);

#endif
