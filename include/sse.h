/*
 * sse: Server-Sent Events framing per the WHATWG HTML "event stream" rules, for the
 * client (parser) and the mock (writer).
 *
 * The parser takes bytes in pieces of any size (an event may be split anywhere, even
 * inside a CRLF), accepts LF, CRLF and CR line ends, joins multi-line `data:` with "\n",
 * drops the single leading space after the colon, ignores comments (lines starting with
 * ':', counted), keeps `event`, `id` and `retry`, strips a leading UTF-8 BOM, and
 * dispatches an event at each blank line if it has data. It buffers only the event being
 * assembled, up to `max_event` bytes; past that it fails with ERR_TOO_LARGE (a clear,
 * configurable cap, not a fixed limit).
 *
 * Timestamps: the caller passes the time at which the bytes were received (the return of
 * recv()); each event reports the time of the feed that delivered its first byte, which
 * is the instant AIPerf calls a message's perf_ns. An event's first byte is the first byte
 * after the blank line that ended the previous event that is not itself part of a blank
 * line (comment lines inside the block count: they arrive with the event).
 *
 * The cap counts data + event type; a line held across feeds may exceed it by 256 bytes
 * (its field name) before ERR_TOO_LARGE. After an error, or after the callback stopped
 * the feed (the rest of that feed is not parsed), call sse_parser_reset before reuse.
 * Owned by one thread.
 */
#ifndef METRONOME_SSE_H
#define METRONOME_SSE_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sse_event {
    const char *type; /* "message" when no event field was given */
    size_t type_len;
    const char *data; /* data lines joined with '\n', no trailing newline */
    size_t data_len;
    const char *id; /* last event id (persists across events, as the spec says) */
    size_t id_len;
    long retry;            /* -1 when this event had no valid retry field */
    int64_t first_byte_ns; /* feed time of the event's first byte */
};

/* Called for each dispatched event; views are valid only during the call. Return 0 to
 * continue, nonzero to stop (sse_parser_feed then returns that value). */
typedef int (*sse_event_fn)(void *ctx, const struct sse_event *ev);

struct sse_parser {
    struct buf line; /* current partial line */
    struct buf data; /* data of the event being assembled */
    struct buf type; /* event type of the event being assembled */
    struct buf id;   /* last event id */
    long retry;
    bool after_cr; /* last byte was CR: a following LF belongs to the same line end */
    bool bom_checked;
    bool have_event_bytes; /* some bytes of the next event were seen */
    bool have_data;
    int64_t first_byte_ns;
    size_t max_event;
    uint64_t comments; /* comment lines seen */
    uint64_t events;   /* events dispatched */
};

void sse_parser_init(struct sse_parser *p, size_t max_event);
void sse_parser_free(struct sse_parser *p);
/* Feeds len bytes received at now_ns. Returns 0, ERR_TOO_LARGE, or the callback's value. */
int sse_parser_feed(struct sse_parser *p, const char *buf, size_t len, int64_t now_ns,
                    sse_event_fn on_event, void *ctx);
/* Returns the parser to its initial state (a new stream: the last event id and the
 * counters are cleared too), keeping its memory. [addition] */
void sse_parser_reset(struct sse_parser *p);
/* End of stream: an event without its final blank line is discarded (as the spec says);
 * returns true if such a partial event was dropped. */
bool sse_parser_finish(struct sse_parser *p);

/* Appends "event: TYPE\n" (if type) and one "data: ..." line per line of data, then "\n". */
int sse_write_event(struct buf *out, const char *type, const char *data, size_t len);

#endif
