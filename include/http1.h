/*
 * http1: HTTP/1.1 message heads and bodies for the client (replay) and the server (mock).
 *
 * Parsers are incremental, zero-copy and allocation-free, in picohttpparser's contract:
 * they read buf[0..len) and never a byte past it, return the length of a complete head
 * (> 0), HTTP1_INCOMPLETE when more bytes are needed, or HTTP1_ERROR when the input is
 * malformed. Names and values are views into the caller's buffer, valid while it is.
 * Passing the previous call's len as `last_len` lets the scan resume (O(n) over a head
 * that arrives in many pieces). Writers append to a struct buf. No I/O, no threads.
 */
#ifndef METRONOME_HTTP1_H
#define METRONOME_HTTP1_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_ERROR       (-1)
#define HTTP1_INCOMPLETE  (-2)
#define HTTP1_MAX_HEADERS 64
/* A head longer than this is an error (a server or client sending a runaway head). */
#define HTTP1_MAX_HEAD 65536

struct http1_header {
    const char *name;
    size_t name_len;
    const char *value; /* leading and trailing whitespace removed */
    size_t value_len;
};

enum http1_framing {
    HTTP1_BODY_NONE,    /* 1xx, 204, 304, HEAD responses; requests without a body */
    HTTP1_BODY_LENGTH,  /* Content-Length */
    HTTP1_BODY_CHUNKED, /* Transfer-Encoding: chunked (last coding) */
    HTTP1_BODY_CLOSE,   /* response body delimited by the connection closing */
};

struct http1_response {
    int minor_version;
    int status;
    const char *reason;
    size_t reason_len;
    struct http1_header headers[HTTP1_MAX_HEADERS];
    size_t nheaders;
    /* Derived from the headers by http1_parse_response: */
    enum http1_framing framing;
    uint64_t content_length;
    bool keep_alive; /* the connection may be reused after this response */
    const char *content_type;
    size_t content_type_len;
};

struct http1_request {
    const char *method;
    size_t method_len;
    const char *path;
    size_t path_len;
    int minor_version;
    struct http1_header headers[HTTP1_MAX_HEADERS];
    size_t nheaders;
    enum http1_framing framing; /* NONE, LENGTH or CHUNKED */
    uint64_t content_length;
    bool keep_alive;
    bool expect_continue;
};

/*
 * `head_request`: the response answers a HEAD request (no body whatever the headers say).
 * Conflicting or invalid Content-Length, or Transfer-Encoding other than chunked-last, is
 * HTTP1_ERROR. Decisions a caller must know (docs/protocols.md has the full list):
 *  - Lines may end in LF alone; a bare CR, obs-fold, a non-token header name, whitespace
 *    before the colon and control bytes in values are HTTP1_ERROR.
 *  - Transfer-Encoding may only be "chunked", once (we decode no other coding).
 *  - Response with both Transfer-Encoding: chunked and Content-Length: accepted, chunked
 *    wins (RFC 9112 §6.3), keep_alive forced false. Request with both: HTTP1_ERROR (a
 *    server refuses a smuggling attempt). Transfer-Encoding in HTTP/1.0: HTTP1_ERROR.
 *  - 1xx responses are returned as complete heads with framing NONE and keep_alive true
 *    (false for 101): the caller skips them and parses the next head from the bytes that
 *    follow. 204, 304 and HEAD responses have framing NONE.
 *  - Content-Length: 0 gives framing LENGTH with content_length 0, not NONE.
 *  - keep_alive: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "keep-alive";
 *    never for close-delimited bodies.
 *  - Requests: up to 8 empty lines before the request line are skipped; more than one
 *    Host header is HTTP1_ERROR (a missing Host is tolerated).
 * `last_len` must be the len of a previous call on the same bytes that returned
 * HTTP1_INCOMPLETE (0 otherwise). On HTTP1_ERROR or HTTP1_INCOMPLETE *r is unspecified.
 */
int http1_parse_response(const char *buf, size_t len, size_t last_len, bool head_request,
                         struct http1_response *r);
int http1_parse_request(const char *buf, size_t len, size_t last_len, struct http1_request *r);

/* True when a Content-Type value names `mime` ("text/event-stream"): the media type before
 * any ';' parameters, compared case-insensitively, surrounding whitespace ignored. This is
 * how AIPerf tells an SSE response from a plain one. [addition] */
bool http1_content_type_is(const char *value, size_t len, const char *mime);

/* Case-insensitive header lookup; NULL when absent. */
const struct http1_header *http1_find_header(const struct http1_header *h, size_t n,
                                             const char *name);

/*
 * Chunked transfer decoding as a state machine over arbitrary splits. Each call consumes
 * framing from buf and returns the number of bytes consumed (>= 0), setting *data and
 * *data_len to body bytes found (a view into buf; possibly empty). Call again with the
 * rest. Chunk extensions are skipped, trailers are parsed and discarded. `done` becomes
 * true after the last chunk and its trailers; bytes after that belong to the next
 * message (a call after done consumes nothing). A call returns after at most one run of
 * data, so loop while bytes remain. HTTP1_ERROR on malformed framing, a chunk size over
 * 2^62, a size line over 4 KB or trailers over HTTP1_MAX_HEAD. CRLF or bare LF end lines.
 */
struct http1_chunked {
    int state; /* internal */
    uint64_t remaining;
    size_t line_len; /* bytes of the current size/trailer line seen (bounded) */
    bool done;
};
void http1_chunked_init(struct http1_chunked *c);
long http1_chunked_feed(struct http1_chunked *c, const char *buf, size_t len, const char **data,
                        size_t *data_len);

/*
 * Response reader: the client's side of one exchange as a state machine over arbitrary
 * byte splits, with no I/O and no allocation (the replay worker drives it from its sockets,
 * tests/fuzz/fuzz_http1_rx.c from fuzz input). Interim 1xx heads are skipped, the final
 * head is parsed, the body is framed (Content-Length, chunked, close-delimited or none)
 * and its end is reported the moment the framing says so, including a body of length 0
 * that ends with the head itself (a 429 with "Content-Length: 0", a 204, "0\r\n\r\n").
 *
 *   http1_rx_init(&rx, &head_buf, false);
 *   while bytes arrive: p, n = the bytes; loop
 *       ev = http1_rx_feed(&rx, &resp, &p, &n, &data, &dlen)
 *       HTTP1_RX_MORE: every byte consumed, wait for more (or call http1_rx_eof at EOF)
 *       HTTP1_RX_HEAD: the final head is in resp (views into the input or head_buf:
 *                      read them before the input is reused); feed again
 *       HTTP1_RX_DATA: data[0..dlen) is body, a view into the input; feed again
 *       HTTP1_RX_DONE: the response is complete; p/n hold the bytes after it (unconsumed;
 *                      a server that sends any is out of step: do not reuse the connection)
 *       HTTP1_RX_ERROR: rx.error says why (http1_rx_error_text)
 *
 * A head that arrives whole is parsed where it lies; one that trickles in is collected in
 * head_buf (max >= HTTP1_MAX_HEAD), with at most 4 KB of body bytes copied along. Body
 * bytes are always views into the input. After DONE or ERROR every call returns the same
 * event again.
 */
enum http1_rx_event { HTTP1_RX_MORE, HTTP1_RX_HEAD, HTTP1_RX_DATA, HTTP1_RX_DONE, HTTP1_RX_ERROR };
enum http1_rx_error {
    HTTP1_RX_OK,
    HTTP1_RX_HEAD_TOO_LARGE, /* no blank line within HTTP1_MAX_HEAD bytes */
    HTTP1_RX_BAD_HEAD,       /* a malformed status line or header */
    HTTP1_RX_UPGRADE,        /* 101: we never ask to switch protocols (status is 101) */
    HTTP1_RX_BAD_CHUNKED,    /* malformed chunked framing */
    HTTP1_RX_EOF_NO_HEAD,    /* closed before any response byte */
    HTTP1_RX_EOF_MID_HEAD,   /* closed in the middle of a head */
    HTTP1_RX_EOF_MID_BODY,   /* closed before the body's framing ended */
};
struct http1_rx {
    int state;         /* internal */
    struct buf *head;  /* borrowed from the caller: a head arriving in pieces */
    size_t head_last;  /* head bytes scanned without finding the end */
    bool head_request; /* the request was HEAD: no body whatever the headers say */
    bool got_bytes;    /* a byte of this response arrived (interim heads included) */
    int status;        /* of the final head (101 for HTTP1_RX_UPGRADE); 0 before it */
    enum http1_framing framing;
    uint64_t remaining; /* Content-Length bytes still due */
    struct http1_chunked chunked;
    enum http1_rx_error error;
};
/* Starts a response; empties `head` (which the reader uses until the next init). */
void http1_rx_init(struct http1_rx *rx, struct buf *head, bool head_request);
/* Consumes from *p / *n (advancing them) up to the next event; `resp` receives the head
 * (scratch space while the head is incomplete, so several readers may share one). */
enum http1_rx_event http1_rx_feed(struct http1_rx *rx, struct http1_response *resp, const char **p,
                                  size_t *n, const char **data, size_t *data_len);
/* The server closed the connection: DONE for a close-delimited body (and for a response
 * already complete), ERROR otherwise. */
enum http1_rx_event http1_rx_eof(struct http1_rx *rx);
/* "connection closed by the server mid-body", "malformed response head", ... */
const char *http1_rx_error_text(enum http1_rx_error e);

/* Appends a request: "METHOD PATH HTTP/1.1", Host, the given headers (NULL-terminated
 * array of "Name: value" strings), Content-Length when body != NULL, then the body. */
int http1_write_request(struct buf *out, const char *method, const char *host, const char *path,
                        const char *const *headers, const char *body, size_t body_len);
/* Appends a response head. body_len < 0 means chunked; extra_headers may be NULL or
 * "Name: value" lines separated by CRLF (a final CRLF is added when missing). Writes
 * "Connection: close" when !keep_alive. ERR_INVALID for a status outside 100..999. */
int http1_write_response_head(struct buf *out, int status, const char *content_type,
                              long long body_len, bool keep_alive, const char *extra_headers);
/* Appends one chunk ("%x\r\n" data "\r\n"); len 0 writes the last chunk "0\r\n\r\n". */
int http1_write_chunk(struct buf *out, const char *data, size_t len);
/* Standard reason phrase for a status code ("OK", "Too Many Requests", ...). */
const char *http1_reason(int status);

#endif
