/*
 * shard: one process's part of a trace, and the instant every part starts at
 * (docs/replay.md, *Shards*). Pure functions, no globals.
 *
 * Dealing (shard_take): a request that belongs to a multi-turn session goes to the shard
 * hash64(session id) % N (FNV-1a: the same on every host and version), so a conversation
 * and its history stay in one process; every other request is one of the schedule's
 * unordered single-turn entries and is dealt round-robin by its position among them
 * (k % N), so each shard carries 1/N of the schedule's rate. Every shard reads the whole
 * trace and computes the whole schedule; it only sends its own part, so the union of the
 * shards' sends is exactly the single-process schedule.
 */
#ifndef METRONOME_SHARD_H
#define METRONOME_SHARD_H

#include "err.h"

#include <stdbool.h>
#include <stdint.h>

#define SHARD_COUNT_MAX 4096 /* the bound report's run.json reader accepts */

/* "I/N" with 0 <= I < N <= SHARD_COUNT_MAX, decimal, nothing around it. 0, or ERR_INVALID
 * with d filled ("--shard '4/4': index 4 is not below the count 4"). */
int shard_parse(const char *s, int *index, int *count, struct diag *d);

/* --start-at: RFC 3339 ("2026-12-02T10:00:00Z", "...T10:00:00.250+01:00"), Unix seconds
 * ("1796215200", "1796215200.5") or "+SECONDS" from now_real_ns. *out is CLOCK_REALTIME
 * ns. 0, or ERR_INVALID with d filled: unparseable, or not after now_real_ns (a start in
 * the past would send the first part of the schedule at once). */
int start_at_parse(const char *s, int64_t now_real_ns, int64_t *out, struct diag *d);

struct shard_deal {
    int index, count;
    uint64_t single; /* single-turn entries seen so far (the round-robin position) */
};

/* Whether this shard sends the request. session may be NULL or "" (no session);
 * multi_turn: the request belongs to a session with several turns. Called once per
 * first-turn entry and once per later turn, in trace order. */
bool shard_take(struct shard_deal *s, const char *session, bool multi_turn);

/* The part of a closed-loop --concurrency C this shard runs: C / N, the first C % N
 * shards one more; 0 when C < N (the caller refuses). */
long shard_concurrency(long c, int index, int count);

#endif
