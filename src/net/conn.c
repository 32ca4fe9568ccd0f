#include "conn.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const state_names[] = {
    [CONN_FREE] = "free",
    [CONN_CONNECTING] = "connecting",
    [CONN_TLS_HANDSHAKE] = "tls-handshake",
    [CONN_IDLE] = "idle",
    [CONN_SENDING] = "sending",
    [CONN_READING_HEAD] = "reading-head",
    [CONN_READING_BODY] = "reading-body",
    [CONN_CLOSED] = "closed",
};

const char *conn_state_name(enum conn_state s)
{
    return s < CONN_STATE_LAST ? state_names[s] : "?";
}

/* Which transitions are legal: a wrong one is a bug in the worker, caught in debug
 * builds rather than turned into a mysterious hang. */
static bool legal(enum conn_state from, enum conn_state to)
{
    if (to == CONN_CLOSED || to == CONN_FREE)
        return true;
    switch (from) {
    case CONN_FREE:
        return to == CONN_CONNECTING;
    case CONN_CONNECTING:
        return to == CONN_TLS_HANDSHAKE || to == CONN_SENDING || to == CONN_CONNECTING ||
               to == CONN_IDLE;
    case CONN_TLS_HANDSHAKE:
        return to == CONN_SENDING || to == CONN_IDLE;
    case CONN_IDLE:
        return to == CONN_SENDING;
    case CONN_SENDING:
        return to == CONN_READING_HEAD;
    case CONN_READING_HEAD:
        return to == CONN_READING_BODY || to == CONN_IDLE;
    case CONN_READING_BODY:
        return to == CONN_IDLE;
    default:
        return false;
    }
}

void conn_set_state_at(struct conn *c, enum conn_state s, int line)
{
#ifndef NDEBUG
    static int trace = -1;
    if (trace < 0)
        trace = getenv("METRONOME_TRACE_CONN") != NULL;
    if (trace)
        fprintf(stderr, "conn %ld: %s -> %s (line %d)\n", c->id, conn_state_name(c->state),
                conn_state_name(s), line);
    if (!legal(c->state, s)) {
        fprintf(stderr, "conn %ld: illegal transition %s -> %s (line %d)\n", c->id,
                conn_state_name(c->state), conn_state_name(s), line);
        abort();
    }
#else
    (void)line;
    (void)legal;
#endif
    c->state = s;
}
