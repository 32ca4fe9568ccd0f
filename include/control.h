/*
 * Control hooks: empty-body POSTs to the server around a run (control.c says when).
 */
#ifndef METRONOME_CONTROL_H
#define METRONOME_CONTROL_H

#include "err.h"

#include <stdbool.h>

struct engine;

/* POSTs path (relative, leading '/', may carry a query) to every unique origin of the run's
 * targets, each with timeout_s for connect + send + status line. retry: AIPerf's reset
 * policy (transport failures and 409/423/429/503 retried with backoff within 60 s). all:
 * try every origin even after a failure (the profiler stop); else stop at the first.
 * 0 when every origin answered 2xx, else ERR_IO with d naming `what`, the URL and why. */
int control_post(struct engine *e, const char *what, const char *path, double timeout_s, bool retry,
                 bool all, struct diag *d);

/* --wait-for-model-*: blocks until every --url passes the probe e->cfg asks for (AIPerf
 * 0.13's readiness probe; control.c says what each mode checks). 0 when ready or when no
 * probe is asked for, else ERR_IO (out of time) with d naming the URL and the model. */
int control_wait_ready(struct engine *e, struct diag *d);

#endif
