/*
 * endpoint: what replay knows about the server it talks to, with no I/O.
 *
 *  - URLs: `--url` with or without a scheme ("localhost:8080", "https://h/base",
 *    "[::1]:9000"), the base path joined to the endpoint path the way AIPerf joins them.
 *  - Endpoint types (chat, completions, embeddings, rankings, responses, raw) and their
 *    default paths; the AIPerf member names (openai-chat-completions, ...) are accepted.
 *  - Response parsing: one SSE data payload or one whole JSON body in, the content,
 *    reasoning, usage and finish_reason it carries out. A payload that does not parse is
 *    reported as bad (the caller counts it and carries on), never as a fatal error.
 *
 * Pure functions over caller-owned memory; safe to call from any thread.
 */
#ifndef METRONOME_ENDPOINT_H
#define METRONOME_ENDPOINT_H

#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum endpoint_type {
    EP_CHAT,
    EP_COMPLETIONS,
    EP_EMBEDDINGS,
    EP_RANKINGS,
    EP_RESPONSES,
    EP_RAW,
};

/* Parses a type name (case-insensitive, '_' == '-'); 0 or ERR_INVALID. */
int endpoint_type_parse(const char *s, enum endpoint_type *out);
const char *endpoint_type_name(enum endpoint_type t);
/* The OpenAI path for the type ("/v1/chat/completions"); "/" for raw. */
const char *endpoint_default_path(enum endpoint_type t);

#define URL_HOST_MAX  256
#define URL_PATH_MAX  1024
#define URL_QUERY_MAX 2048

struct url {
    bool tls;
    char host[URL_HOST_MAX];           /* without brackets for IPv6 literals */
    char port[8];                      /* decimal */
    char path[URL_PATH_MAX];           /* base path without a trailing '/', may be empty */
    char query[URL_QUERY_MAX];         /* after '?' (without it), "" when none */
    bool has_userinfo;                 /* "user:password@" was given */
    char userinfo[URL_HOST_MAX];       /* "user:password", percent-decoded: a secret */
    char authority[URL_HOST_MAX + 16]; /* Host header value: "h:p" or "[v6]:p", port omitted
                                          when it is the scheme's default */
};

/* Parses a base URL: [scheme://][user:password@]host[:port][/path][?query][#fragment].
 * No scheme means http. A scheme other than http/https, an empty or malformed host, a bad
 * port, an over-long part, or a control character, space or non-ASCII byte anywhere
 * (they would reach the request line) is ERR_INVALID with d naming what is wrong; d shows
 * the URL redacted (url_redact). The fragment is dropped (never sent). */
int url_parse(const char *s, struct url *u, struct diag *d);
/* base path + "/" + endpoint path (leading '/'s dropped) + the base URL's query (after
 * the endpoint path's own query, joined with '&'), into out (cap bytes). As AIPerf does,
 * a base path ending in "/v1" is not doubled by a default endpoint path starting with
 * "v1/" (custom = false); a custom endpoint path is joined as given. ERR_TOO_LARGE when it
 * does not fit. The caller checks endpoint_path with wire_check first. */
int url_join_path(const struct url *u, const char *endpoint_path, bool custom, char *out,
                  size_t cap);
/* Refuses bytes in s that would break the HTTP message it is written into, naming `opt`:
 * for the request line (header_value = false) control characters, space, DEL and non-ASCII;
 * for a header value control characters other than HTAB, and DEL. 0 or ERR_INVALID. */
int wire_check(const char *opt, const char *s, bool header_value, struct diag *d);
/* Appends s[0..n) (a URL as --url takes it, or a path with a query) to out with the
 * secrets a URL carries replaced by "<redacted>": the userinfo ("user:pw@"), every query
 * value ("?key=<redacted>&x=<redacted>", a bare "?token" as a whole) and the fragment.
 * Returns true when something was replaced. */
bool url_redact(const char *s, size_t n, struct buf *out);
/* The same over a command line or free text: the word after "--url" / "-u", the value of
 * "--url=", and every word holding "scheme://". Appends to out (always NUL-terminated);
 * true when something was replaced. */
bool url_redact_words(const char *s, struct buf *out);

/* What one payload carried. Strings are views into the payload or into the parser's
 * JSON tree; copy them before the next call. */
struct ep_chunk {
    bool done;          /* the "[DONE]" sentinel (not content) */
    bool bad;           /* not JSON, or not the shape of this endpoint */
    bool has_content;   /* text was present (an empty string counts, as in AIPerf) */
    bool has_reasoning; /* reasoning text was present and non-empty */
    size_t content_len;
    size_t reasoning_len;
    bool has_usage;
    long prompt_tokens; /* -1 when absent */
    long completion_tokens;
    long reasoning_tokens;
    char finish[32]; /* last finish_reason/status in this payload, "" if none */
    bool is_error;   /* an error object instead of a result ({"error": ...}) */
    char error_msg[256];
};

/*
 * Parses one payload of endpoint type t: an SSE event's data (stream = true) or a
 * whole response body (stream = false). When `text` is not NULL the content text is
 * appended to it (for multi-turn live history); a full buffer is not an error here.
 */
void endpoint_parse(enum endpoint_type t, bool stream, const char *data, size_t len,
                    struct ep_chunk *out, struct buf *text);
/* As endpoint_parse, also appending reasoning text (reasoning_content / reasoning, the
 * Responses API's reasoning deltas) to rtext when it is not NULL (replay --record-text). */
void endpoint_parse_text(enum endpoint_type t, bool stream, const char *data, size_t len,
                         struct ep_chunk *out, struct buf *text, struct buf *rtext);
/* For tests: endpoint_parse_text with chat and completions payloads walked twice (validated
 * whole, then taken from), as every other type is, instead of in one validating walk
 * (jscan_object_lazy). The two must agree on every input. */
void endpoint_parse_twopass(enum endpoint_type t, bool stream, const char *data, size_t len,
                            struct ep_chunk *out, struct buf *text, struct buf *rtext);

/* Appends one "Name: value\r\n" header for each entry, with AIPerf's defaults first
 * (User-Agent, Content-Type, Accept, Authorization) and the user's "Name:Value" headers
 * last, replacing a default of the same name (case-insensitive). Authorization is
 * "Bearer <api_key>" when api_key is set, else "Basic base64(userinfo)" when userinfo (the
 * URL's "user:password", as curl sends it) is not NULL. A user header without ':', with a
 * name that is not an RFC 9110 token, or with a control character in its value, and an
 * api_key with a control character, are ERR_INVALID naming the option. */
int endpoint_headers(struct buf *out, bool stream, const char *api_key, const char *userinfo,
                     const char *const *user_headers, size_t nuser, struct diag *d);

/* True if the header name carries a secret (Authorization, api-key, x-api-key, or one of
 * the extra names), compared case-insensitively. */
bool endpoint_header_secret(const char *name, size_t len, const char *const *extra, size_t nextra);

/* --session-header NAME (AIPerf 0.13's name for its per-conversation X-Correlation-ID
 * header): 0 when NAME can carry the session id, else ERR_INVALID naming the option and
 * the value (not an RFC 9110 token, or a header the client writes itself: Host,
 * Content-Length, Transfer-Encoding, Connection, X-Request-Id). *user_wins is set when
 * one of the user's "Name:Value" headers has the same name: AIPerf merges the user's
 * headers after the correlation header, so the user's value is the one sent. */
int endpoint_session_header(const char *name, const char *const *user_headers, size_t nuser,
                            bool *user_wins, struct diag *d);

#endif
