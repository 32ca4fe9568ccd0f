/*
 * conn: one client connection and the request on it, as an explicit state machine.
 *
 * Every state change goes through conn_set_state (in debug builds with
 * METRONOME_TRACE_CONN set it prints "conn W/ID: FROM -> TO (line)"). A connection is
 * owned by one worker thread; nothing here is thread-safe. Memory per idle connection is
 * the struct plus a small head buffer: bodies are parsed straight out of the worker's
 * shared receive buffer, and only the SSE event being assembled (capped) or a
 * non-streaming body (capped) is kept.
 */
#ifndef METRONOME_CONN_H
#define METRONOME_CONN_H

#include "buf.h"
#include "engine.h"
#include "http1.h"
#include "sse.h"

#include <stdbool.h>
#include <stdint.h>

enum conn_state {
    CONN_FREE,          /* no socket; on the free list */
    CONN_CONNECTING,    /* nonblocking connect() issued, waiting for writability */
    CONN_TLS_HANDSHAKE, /* TCP up, TLS handshake in progress */
    CONN_IDLE,          /* connected, in the keep-alive pool, no request on it */
    CONN_SENDING,       /* writing the request head and body */
    CONN_READING_HEAD,  /* request written, response head not complete */
    CONN_READING_BODY,  /* head parsed, body (SSE or plain) arriving */
    CONN_CLOSED,        /* socket closed, about to be freed */
    CONN_STATE_LAST     /* not a state */
};

const char *conn_state_name(enum conn_state s);

struct tls_session;

struct conn {
    enum conn_state state;
    int fd;
    long id;
    int url;
    int ai_index; /* which resolved address */
    bool served;  /* a response completed on it before (keep-alive reuse) */
    struct tls_session *tls;
    struct timer tm;
    uint32_t gen;

    struct item *item;  /* the request on this connection, owned while set */
    bool got_bytes;     /* some response byte arrived for the current request */
    int64_t pre_start;  /* pre-connection: when its connect began */
    int64_t connect_ns; /* pre-connection: how long connect (and TLS) took */
    bool in_pre;        /* a pre-connection still connecting: in the worker's pre list */
    bool pre_initial;   /* opened by --preconnect (counted in eng->preconnecting) */
    /* sticky-user-sessions: the id of the session that keeps this idle connection for its
     * next turn (the session's own string, which outlives the lease), else NULL */
    const char *lease;

    /* sending */
    char clen[80]; /* "123\r\nX-Request-Id: 7\r\n\r\n" */
    size_t clen_len;
    size_t sh_vlen;       /* --session-header: the value's length (do_send runs per write) */
    size_t sent;          /* bytes of prefix + clen + body written */
    bool early;           /* the response began before the request was all sent */
    struct buf live_body; /* body rebuilt with live history, when used */

    /* receiving */
    struct buf head;    /* a response head arriving in pieces (http1_rx's) */
    struct http1_rx rx; /* the response's framing: head, body, end */
    int status;
    bool keep_alive;
    bool sse;
    struct sse_parser parser;
    bool parser_live;
    struct buf body;   /* non-SSE body (for JSON parsing and error messages) */
    size_t body_acct;  /* bytes of body counted in eng->body_inflight */
    struct buf *text;  /* reply text for live history or --record-text, or NULL */
    struct buf *rtext; /* reasoning text for --record-text, or NULL */

    int64_t dl_phase; /* connect, first-byte or idle deadline (0: none) */
    int64_t dl_total;
    int64_t dl_cancel;
    int phase_kind; /* which rec_error dl_phase raises */

    struct conn *next; /* idle or free list */
};

/* Moves c to state s; `line` is the caller's __LINE__ for tracing. */
void conn_set_state_at(struct conn *c, enum conn_state s, int line);
#define conn_set_state(c, s) conn_set_state_at((c), (s), __LINE__)

#endif
