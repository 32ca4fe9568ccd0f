#include "err.h"
#include "http1.h"
#include "sse.h"
#include "test.h"

#include <stdlib.h>

/* Each head is parsed at every prefix length, from a guard-page copy that ends exactly at
 * the prefix (so any read past len faults), both fresh (last_len 0) and resuming from the
 * previous prefix; a prefix shorter than the head must be INCOMPLETE, anything at least as
 * long must give the head length and the same fields. */

struct resp_case {
    const char *name;
    const char *head; /* a complete head, or a malformed input */
    bool head_request;
    int ok; /* 1: parses; 0: HTTP1_ERROR */
    int status;
    enum http1_framing framing;
    uint64_t content_length;
    bool keep_alive;
};

static const struct resp_case resp_cases[] = {
    {"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, 1, 200, HTTP1_BODY_LENGTH, 5,
     true},
    {"length zero", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 1, 200,
     HTTP1_BODY_LENGTH, 0, true},
    {"chunked sse",
     "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
     false, 1, 200, HTTP1_BODY_CHUNKED, 0, true},
    {"chunked case", "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n", false, 1, 200,
     HTTP1_BODY_CHUNKED, 0, true},
    {"close delimited", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", false, 1, 200,
     HTTP1_BODY_CLOSE, 0, false},
    {"204", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", false, 1, 204, HTTP1_BODY_NONE,
     0, true},
    {"304", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", false, 1, 304,
     HTTP1_BODY_NONE, 0, true},
    {"head", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true, 1, 200, HTTP1_BODY_NONE, 0,
     true},
    {"100 continue", "HTTP/1.1 100 Continue\r\n\r\n", false, 1, 100, HTTP1_BODY_NONE, 0, true},
    {"103 early hints", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", false, 1, 103,
     HTTP1_BODY_NONE, 0, true},
    {"101 ends http", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", false, 1, 101,
     HTTP1_BODY_NONE, 0, false},
    {"1.0 default close", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n", false, 1, 200,
     HTTP1_BODY_LENGTH, 3, false},
    {"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\n",
     false, 1, 200, HTTP1_BODY_LENGTH, 3, true},
    {"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\n", false,
     1, 200, HTTP1_BODY_LENGTH, 3, false},
    {"connection list",
     "HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 3\r\n\r\n", false, 1, 200,
     HTTP1_BODY_LENGTH, 3, false},
    {"lf only", "HTTP/1.1 200 OK\nContent-Length: 2\n\n", false, 1, 200, HTTP1_BODY_LENGTH, 2,
     true},
    {"mixed line ends", "HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\n", false, 1, 200,
     HTTP1_BODY_LENGTH, 2, true},
    {"duplicate length same", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n",
     false, 1, 200, HTTP1_BODY_LENGTH, 7, true},
    {"length list same", "HTTP/1.1 200 OK\r\nContent-Length: 7 , 7\r\n\r\n", false, 1, 200,
     HTTP1_BODY_LENGTH, 7, true},
    {"chunked beats length",
     "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n", false, 1, 200,
     HTTP1_BODY_CHUNKED, 0, false},
    {"no reason", "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", false, 1, 200, HTTP1_BODY_LENGTH, 1,
     true},
    {"empty reason", "HTTP/1.1 429 \r\nContent-Length: 1\r\n\r\n", false, 1, 429, HTTP1_BODY_LENGTH,
     1, true},
    {"ows and obs-text", "HTTP/1.1 200 OK\r\nX-A:   a \t b  \r\nX-B:\xe2\x9c\x93\r\n\r\n", false, 1,
     200, HTTP1_BODY_CLOSE, 0, false},
    {"big length", "HTTP/1.1 200 OK\r\nContent-Length: 4611686018427387904\r\n\r\n", false, 1, 200,
     HTTP1_BODY_LENGTH, 4611686018427387904ULL, true},

    {"length differs", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", false,
     0, 0, HTTP1_BODY_NONE, 0, false},
    {"length list differs", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", false, 0, 0,
     HTTP1_BODY_NONE, 0, false},
    {"length sign", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE,
     0, false},
    {"length negative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, 0, 0,
     HTTP1_BODY_NONE, 0, false},
    {"length hex", "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE,
     0, false},
    {"length empty", "HTTP/1.1 200 OK\r\nContent-Length:  \r\n\r\n", false, 0, 0, HTTP1_BODY_NONE,
     0, false},
    {"length commas", "HTTP/1.1 200 OK\r\nContent-Length: ,\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE,
     0, false},
    {"length overflow", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", false,
     0, 0, HTTP1_BODY_NONE, 0, false},
    {"length over 2^62", "HTTP/1.1 200 OK\r\nContent-Length: 4611686018427387905\r\n\r\n", false, 0,
     0, HTTP1_BODY_NONE, 0, false},
    {"te gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE,
     0, false},
    {"te gzip chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, 0, 0,
     HTTP1_BODY_NONE, 0, false},
    {"te chunked not last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", false, 0,
     0, HTTP1_BODY_NONE, 0, false},
    {"te chunked twice",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", false,
     0, 0, HTTP1_BODY_NONE, 0, false},
    {"te empty", "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0,
     false},
    {"te in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, 0, 0,
     HTTP1_BODY_NONE, 0, false},
    {"obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 1\r\n\r\n", false, 0, 0,
     HTTP1_BODY_NONE, 0, false},
    {"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n", false, 0, 0,
     HTTP1_BODY_NONE, 0, false},
    {"bad name byte", "HTTP/1.1 200 OK\r\nX(A): 1\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0, false},
    {"empty name", "HTTP/1.1 200 OK\r\n: 1\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0, false},
    {"no colon", "HTTP/1.1 200 OK\r\nContent-Length\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0,
     false},
    {"ctl in value", "HTTP/1.1 200 OK\r\nX-A: a\x01z\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0,
     false},
    {"nul in value", "HTTP/1.1 200 OK\r\nX-A: a\0z\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0,
     false},
    {"bare cr in value", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0,
     false},
    {"http2", "HTTP/2.0 200 OK\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0, false},
    {"lower http", "http/1.1 200 OK\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0, false},
    {"two spaces", "HTTP/1.1  200 OK\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0, false},
    {"short status", "HTTP/1.1 20 OK\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0, false},
    {"long status", "HTTP/1.1 2000 OK\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0, false},
    {"status below 100", "HTTP/1.1 099 OK\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0, false},
    {"ctl in reason", "HTTP/1.1 200 O\x7fK\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0, false},
    {"empty head", "\r\n\r\n", false, 0, 0, HTTP1_BODY_NONE, 0, false},
    {"garbage", "hello\n\n", false, 0, 0, HTTP1_BODY_NONE, 0, false},
};

/* `in` is the head followed by "BODY": the parser must stop at the head. */
static int parse_resp_prefix(const char *in, size_t k, size_t last_len, bool head,
                             struct http1_response *r)
{
    char *g = test_guard_copy(in, k);
    int rc = http1_parse_response(g, k, last_len, head, r);
    /* Views must point inside the prefix. */
    if (rc > 0) {
        for (size_t i = 0; i < r->nheaders; i++)
            if (r->headers[i].name < g || r->headers[i].value + r->headers[i].value_len > g + k)
                rc = -100;
    }
    test_guard_free(g, k);
    return rc;
}

TEST(http1_response_table_every_split)
{
    for (size_t c = 0; c < sizeof resp_cases / sizeof resp_cases[0]; c++) {
        const struct resp_case *t = &resp_cases[c];
        size_t hl = strlen(t->head);
        if (strstr(t->name, "nul"))
            hl = 29; /* strlen stops at the NUL */
        char in[512];
        REQUIRE(hl + 4 < sizeof in);
        memcpy(in, t->head, hl);
        memcpy(in + hl, "BODY", 4);
        size_t total = hl + 4;
        size_t last = 0;
        for (size_t k = 0; k <= total; k++) {
            struct http1_response r;
            int fresh = parse_resp_prefix(in, k, 0, t->head_request, &r);
            int resumed = parse_resp_prefix(in, k, last, t->head_request, &r);
            if (fresh == HTTP1_INCOMPLETE)
                last = k; /* the contract: resume only after INCOMPLETE */
            if (fresh != resumed)
                test_fail(__FILE__, __LINE__, "%s: k=%zu fresh %d resumed %d", t->name, k, fresh,
                          resumed);
            if (t->ok && k < hl && fresh != HTTP1_INCOMPLETE)
                test_fail(__FILE__, __LINE__, "%s: prefix %zu gave %d", t->name, k, fresh);
            if (!t->ok && fresh > 0)
                test_fail(__FILE__, __LINE__, "%s: prefix %zu parsed (%d)", t->name, k, fresh);
            if (t->ok && k >= hl) {
                if (fresh != (int)hl) {
                    test_fail(__FILE__, __LINE__, "%s: k=%zu gave %d, want %zu", t->name, k, fresh,
                              hl);
                    continue;
                }
                CHECK_INT(r.status, t->status);
                CHECK_INT(r.framing, t->framing);
                CHECK_INT(r.content_length, t->content_length);
                CHECK_INT(r.keep_alive, t->keep_alive);
            }
        }
        if (!t->ok) {
            struct http1_response r;
            int rc = parse_resp_prefix(in, total, 0, t->head_request, &r);
            if (rc != HTTP1_ERROR)
                test_fail(__FILE__, __LINE__, "%s: gave %d, want HTTP1_ERROR", t->name, rc);
        }
    }
}

TEST(http1_response_fields)
{
    const char *in = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=utf-8\r\n"
                     "X-Empty:\r\nX-Pad:  v  \r\nContent-Length: 2\r\n\r\n{}";
    struct http1_response r;
    size_t n = strlen(in);
    char *g = test_guard_copy(in, n);
    int rc = http1_parse_response(g, n, 0, false, &r);
    CHECK_INT(rc, (int)n - 2);
    CHECK_INT(r.minor_version, 1);
    CHECK_INT(r.status, 404);
    CHECK_MEM(r.reason, r.reason_len, "Not Found", 9);
    CHECK_INT(r.nheaders, 4);
    CHECK_MEM(r.content_type, r.content_type_len, "application/json; charset=utf-8", 31);
    const struct http1_header *h = http1_find_header(r.headers, r.nheaders, "x-empty");
    REQUIRE(h);
    CHECK_INT(h->value_len, 0);
    h = http1_find_header(r.headers, r.nheaders, "X-PAD");
    REQUIRE(h);
    CHECK_MEM(h->value, h->value_len, "v", 1);
    CHECK(http1_find_header(r.headers, r.nheaders, "x-missing") == NULL);
    test_guard_free(g, n);
}

TEST(http1_content_type_is)
{
    const char *sse = "text/event-stream";
    CHECK(http1_content_type_is("text/event-stream", 17, sse));
    CHECK(http1_content_type_is("Text/Event-Stream; charset=utf-8", 32, sse));
    CHECK(http1_content_type_is(" text/event-stream ;x", 21, sse));
    CHECK(!http1_content_type_is("text/event-streams", 18, sse));
    CHECK(!http1_content_type_is("application/json", 16, sse));
    CHECK(!http1_content_type_is("text/event-stream", 10, sse));
    CHECK(!http1_content_type_is(NULL, 0, sse));
}

TEST(http1_response_interim_then_final)
{
    /* A 1xx is a complete head with no body; the caller parses again after it. */
    const char *in = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    struct http1_response r;
    int a = http1_parse_response(in, strlen(in), 0, false, &r);
    CHECK_INT(a, 25);
    CHECK_INT(r.framing, HTTP1_BODY_NONE);
    int b = http1_parse_response(in + a, strlen(in) - (size_t)a, 0, false, &r);
    CHECK_INT(b, (int)strlen(in) - a);
    CHECK_INT(r.status, 200);
}

TEST(http1_garbage_refused_early)
{
    /* Bytes that can never start a head are refused before any blank line arrives. */
    struct http1_response r;
    struct http1_request q;
    CHECK_INT(http1_parse_response("HTTP/1.", 7, 0, false, &r), HTTP1_INCOMPLETE);
    CHECK_INT(http1_parse_response("HTTP/1.x", 8, 0, false, &r), HTTP1_ERROR);
    CHECK_INT(http1_parse_response("<html>", 6, 0, false, &r), HTTP1_ERROR);
    CHECK_INT(http1_parse_response("H", 1, 0, false, &r), HTTP1_INCOMPLETE);
    CHECK_INT(http1_parse_request("\x00\xff garbage", 10, 0, &q), HTTP1_ERROR);
    CHECK_INT(http1_parse_request("POST", 4, 0, &q), HTTP1_INCOMPLETE);
    CHECK_INT(http1_parse_request("POST /", 6, 0, &q), HTTP1_INCOMPLETE);
    CHECK_INT(http1_parse_request(" /", 2, 0, &q), HTTP1_ERROR);
    char longm[40];
    memset(longm, 'A', sizeof longm);
    CHECK_INT(http1_parse_request(longm, 32, 0, &q), HTTP1_INCOMPLETE);
    CHECK_INT(http1_parse_request(longm, 33, 0, &q), HTTP1_ERROR);
}

TEST(http1_header_limits)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < HTTP1_MAX_HEADERS; i++)
        buf_printf(&b, "X-%d: %d\r\n", i, i);
    buf_puts(&b, "\r\n");
    struct http1_response r;
    CHECK_INT(http1_parse_response(b.p, b.len, 0, false, &r), (int)b.len);
    CHECK_INT(r.nheaders, HTTP1_MAX_HEADERS);
    buf_reset(&b);
    buf_puts(&b, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i <= HTTP1_MAX_HEADERS; i++)
        buf_printf(&b, "X-%d: %d\r\n", i, i);
    buf_puts(&b, "\r\n");
    CHECK_INT(http1_parse_response(b.p, b.len, 0, false, &r), HTTP1_ERROR);

    /* A head that never ends is cut off at HTTP1_MAX_HEAD, incrementally too. */
    buf_reset(&b);
    buf_puts(&b, "HTTP/1.1 200 OK\r\nX-Long: ");
    while (b.len < HTTP1_MAX_HEAD + 10)
        buf_putc(&b, 'a');
    CHECK_INT(http1_parse_response(b.p, HTTP1_MAX_HEAD - 1, 0, false, &r), HTTP1_INCOMPLETE);
    CHECK_INT(http1_parse_response(b.p, HTTP1_MAX_HEAD, HTTP1_MAX_HEAD - 1, false, &r),
              HTTP1_ERROR);
    /* A head that ends just past the cap is refused even when complete. */
    b.len = HTTP1_MAX_HEAD - 2;
    buf_puts(&b, "\r\n\r\n");
    CHECK_INT(http1_parse_response(b.p, b.len, 0, false, &r), HTTP1_ERROR);
    b.len = HTTP1_MAX_HEAD - 4;
    buf_puts(&b, "\r\n\r\n");
    CHECK_INT(http1_parse_response(b.p, b.len, 0, false, &r), HTTP1_MAX_HEAD);
    buf_free(&b);
}

struct req_case {
    const char *name;
    const char *head;
    int ok;
    const char *method;
    const char *path;
    enum http1_framing framing;
    uint64_t content_length;
    bool keep_alive;
    bool expect_continue;
};

static const struct req_case req_cases[] = {
    {"get", "GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n", 1, "GET", "/v1/models", HTTP1_BODY_NONE,
     0, true, false},
    {"post length",
     "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\n"
     "Content-Type: application/json\r\n\r\n",
     1, "POST", "/v1/chat/completions", HTTP1_BODY_LENGTH, 17, true, false},
    {"post chunked", "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 1, "POST", "/x",
     HTTP1_BODY_CHUNKED, 0, true, false},
    {"leading empty lines", "\r\n\nGET / HTTP/1.1\r\n\r\n", 1, "GET", "/", HTTP1_BODY_NONE, 0, true,
     false},
    {"http 1.0", "GET / HTTP/1.0\r\n\r\n", 1, "GET", "/", HTTP1_BODY_NONE, 0, false, false},
    {"http 1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1, "GET", "/",
     HTTP1_BODY_NONE, 0, true, false},
    {"close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 1, "GET", "/", HTTP1_BODY_NONE, 0,
     false, false},
    {"expect", "POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", 1, "POST",
     "/", HTTP1_BODY_LENGTH, 1, true, true},
    {"lf only", "GET /?a=b HTTP/1.1\nHost: x\n\n", 1, "GET", "/?a=b", HTTP1_BODY_NONE, 0, true,
     false},
    {"absolute form", "GET http://h:1/p HTTP/1.1\r\n\r\n", 1, "GET", "http://h:1/p",
     HTTP1_BODY_NONE, 0, true, false},

    {"te and length", "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
     0, NULL, NULL, HTTP1_BODY_NONE, 0, false, false},
    {"te in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0, NULL, NULL,
     HTTP1_BODY_NONE, 0, false, false},
    {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0, NULL, NULL, HTTP1_BODY_NONE, 0,
     false, false},
    {"length differs", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0, NULL,
     NULL, HTTP1_BODY_NONE, 0, false, false},
    {"double space", "GET  / HTTP/1.1\r\n\r\n", 0, NULL, NULL, HTTP1_BODY_NONE, 0, false, false},
    {"trailing space", "GET / HTTP/1.1 \r\n\r\n", 0, NULL, NULL, HTTP1_BODY_NONE, 0, false, false},
    {"no target", "GET HTTP/1.1\r\n\r\n", 0, NULL, NULL, HTTP1_BODY_NONE, 0, false, false},
    {"bad method", "G(T / HTTP/1.1\r\n\r\n", 0, NULL, NULL, HTTP1_BODY_NONE, 0, false, false},
    {"bad version", "GET / HTTP/1.10\r\n\r\n", 0, NULL, NULL, HTTP1_BODY_NONE, 0, false, false},
    {"http 2", "GET / HTTP/2.0\r\n\r\n", 0, NULL, NULL, HTTP1_BODY_NONE, 0, false, false},
    {"ctl in target", "GET /\x01 HTTP/1.1\r\n\r\n", 0, NULL, NULL, HTTP1_BODY_NONE, 0, false,
     false},
    {"obs-fold", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", 0, NULL, NULL, HTTP1_BODY_NONE, 0, false,
     false},
    {"too many empty lines", "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", 0, NULL,
     NULL, HTTP1_BODY_NONE, 0, false, false},
    {"bare cr lead", "\rGET / HTTP/1.1\r\n\r\n", 0, NULL, NULL, HTTP1_BODY_NONE, 0, false, false},
    {"header no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", 0, NULL, NULL, HTTP1_BODY_NONE, 0, false,
     false},
    {"method too long", "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG / HTTP/1.1\r\n\r\n", 0, NULL, NULL,
     HTTP1_BODY_NONE, 0, false, false},
    {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 0, NULL, NULL, HTTP1_BODY_NONE, 0,
     false, false},
};

TEST(http1_request_table_every_split)
{
    for (size_t c = 0; c < sizeof req_cases / sizeof req_cases[0]; c++) {
        const struct req_case *t = &req_cases[c];
        size_t hl = strlen(t->head);
        char in[512];
        REQUIRE(hl + 4 < sizeof in);
        memcpy(in, t->head, hl);
        memcpy(in + hl, "BODY", 4);
        size_t total = hl + 4, last = 0;
        for (size_t k = 0; k <= total; k++) {
            struct http1_request r;
            char *g = test_guard_copy(in, k);
            int fresh = http1_parse_request(g, k, 0, &r);
            int resumed = http1_parse_request(g, k, last, &r);
            if (fresh == HTTP1_INCOMPLETE)
                last = k; /* the contract: resume only after INCOMPLETE */
            if (fresh != resumed)
                test_fail(__FILE__, __LINE__, "%s: k=%zu fresh %d resumed %d", t->name, k, fresh,
                          resumed);
            if (t->ok && k < hl && fresh != HTTP1_INCOMPLETE)
                test_fail(__FILE__, __LINE__, "%s: prefix %zu gave %d", t->name, k, fresh);
            if (!t->ok && fresh > 0)
                test_fail(__FILE__, __LINE__, "%s: prefix %zu parsed", t->name, k);
            if (t->ok && k >= hl) {
                if (fresh != (int)hl) {
                    test_fail(__FILE__, __LINE__, "%s: k=%zu gave %d", t->name, k, fresh);
                } else {
                    CHECK_MEM(r.method, r.method_len, t->method, strlen(t->method));
                    CHECK_MEM(r.path, r.path_len, t->path, strlen(t->path));
                    CHECK_INT(r.framing, t->framing);
                    CHECK_INT(r.content_length, t->content_length);
                    CHECK_INT(r.keep_alive, t->keep_alive);
                    CHECK_INT(r.expect_continue, t->expect_continue);
                }
            }
            test_guard_free(g, k);
        }
        if (!t->ok) {
            struct http1_request r;
            CHECK_INT(http1_parse_request(in, total, 0, &r), HTTP1_ERROR);
        }
    }
}

/* ---- chunked ---- */

struct chunk_case {
    const char *name;
    const char *in; /* the chunked body, possibly followed by the next message */
    size_t msg_len; /* bytes belonging to the body (0: the whole input) */
    const char *out;
    int ok;
};

static const struct chunk_case chunk_cases[] = {
    {"one chunk", "5\r\nhello\r\n0\r\n\r\n", 0, "hello", 1},
    {"two chunks ext", "5;ext=1;q=\"a b\"\r\nhello\r\n6 ; x\r\n world\r\n0;last\r\n\r\n", 0,
     "hello world", 1},
    {"trailers", "3\r\nabc\r\n0\r\nX-T: 1\r\nY:\r\n\r\n", 0, "abc", 1},
    {"lf only", "3\nabc\n0\nX: y\n\n", 0, "abc", 1},
    {"hex case", "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", 0, "0123456789abcdefghij", 1},
    {"leading zeros", "0003\r\nabc\r\n0000\r\n\r\n", 0, "abc", 1},
    {"next message", "2\r\nhi\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", 12, "hi", 1},
    {"empty body", "0\r\n\r\n", 0, "", 1},
    {"crlf in data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", 0, "\r\n\r\n", 1},

    {"no digits", "\r\nabc\r\n", 0, NULL, 0},
    {"bad hex", "x\r\n", 0, NULL, 0},
    {"negative", "-1\r\n", 0, NULL, 0},
    {"bare cr size", "3\rabc\r\n0\r\n\r\n", 0, NULL, 0},
    {"missing data crlf", "3\r\nabcX\r\n0\r\n\r\n", 0, NULL, 0},
    {"cr then junk", "3\r\nabc\rX0\r\n\r\n", 0, NULL, 0},
    {"size 2^64", "10000000000000000\r\n", 0, NULL, 0},
    {"size over 2^62", "4000000000000001\r\n", 0, NULL, 0},
    {"space in digits", "1 0\r\n", 0, NULL, 0},
    {"bare cr in ext", "3;a\rb\r\nabc\r\n0\r\n\r\n", 0, NULL, 0},
    {"ctl in ext", "3;a\x01\r\nabc\r\n0\r\n\r\n", 0, NULL, 0},
    {"trailer fold", "0\r\nX: a\r\n b\r\n\r\n", 0, NULL, 0},
    {"trailer bare cr", "0\r\nX: a\rb\r\n\r\n", 0, NULL, 0},
    {"end bare cr", "0\r\n\rX", 0, NULL, 0},
};

/* Decodes `in` fed as the given pieces (sizes summing to len). Returns total consumed,
 * or HTTP1_ERROR; the decoded body goes to out. */
static long decode_pieces(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                          struct buf *out, bool *done)
{
    struct http1_chunked c;
    http1_chunked_init(&c);
    size_t pos = 0;
    long total = 0;
    for (size_t p = 0; p <= ncuts && !c.done; p++) {
        size_t end = p < ncuts ? cuts[p] : len;
        char *g = test_guard_copy(in + pos, end - pos);
        size_t off = 0;
        while (off < end - pos && !c.done) {
            const char *d;
            size_t dl;
            long n = http1_chunked_feed(&c, g + off, end - pos - off, &d, &dl);
            if (n < 0) {
                test_guard_free(g, end - pos);
                return n;
            }
            if (n == 0) {
                test_guard_free(g, end - pos);
                return -100; /* no progress */
            }
            if (dl && (d < g + off || d + dl > g + off + (size_t)n))
                return -101;
            buf_append(out, d, dl);
            off += (size_t)n;
            total += n;
        }
        test_guard_free(g, end - pos);
        pos = end;
    }
    *done = c.done;
    return total;
}

TEST(http1_chunked_table_every_split)
{
    for (size_t c = 0; c < sizeof chunk_cases / sizeof chunk_cases[0]; c++) {
        const struct chunk_case *t = &chunk_cases[c];
        size_t len = strlen(t->in);
        size_t msg = t->msg_len ? t->msg_len : len;
        /* Whole, each two-piece split, and byte by byte. */
        for (size_t s = 0; s <= len + 1; s++) {
            size_t cuts[512];
            size_t ncuts = 0;
            if (s <= len) {
                cuts[ncuts++] = s;
            } else {
                for (size_t k = 1; k < len; k++)
                    cuts[ncuts++] = k;
            }
            struct buf out;
            buf_init(&out, 0);
            bool done = false;
            long rc = decode_pieces(t->in, len, cuts, ncuts, &out, &done);
            if (t->ok) {
                if (rc != (long)msg || !done)
                    test_fail(__FILE__, __LINE__, "%s split %zu: rc %ld done %d", t->name, s, rc,
                              done);
                else
                    CHECK_MEM(out.p ? out.p : "", out.len, t->out, strlen(t->out));
            } else if (rc != HTTP1_ERROR) {
                test_fail(__FILE__, __LINE__, "%s split %zu: rc %ld, want error", t->name, s, rc);
            }
            buf_free(&out);
        }
    }
}

TEST(http1_chunked_line_caps)
{
    struct http1_chunked c;
    const char *d;
    size_t dl;
    /* Leading zeros are fine within a line, but a size line cannot run on forever. */
    char zeros[5000];
    memset(zeros, '0', sizeof zeros);
    http1_chunked_init(&c);
    CHECK_INT(http1_chunked_feed(&c, zeros, 100, &d, &dl), 100);
    CHECK_INT(http1_chunked_feed(&c, zeros, sizeof zeros, &d, &dl), HTTP1_ERROR);
    /* Nor can trailers. */
    http1_chunked_init(&c);
    CHECK_INT(http1_chunked_feed(&c, "0\r\n", 3, &d, &dl), 3);
    long rc = 0;
    for (int i = 0; i < 20000 && rc >= 0; i++)
        rc = http1_chunked_feed(&c, "X-Trailer: aaaa\r\n", 17, &d, &dl);
    CHECK_INT(rc, HTTP1_ERROR);
    /* Done is sticky: nothing after the message is consumed. */
    http1_chunked_init(&c);
    CHECK_INT(http1_chunked_feed(&c, "0\r\n\r\nGET", 8, &d, &dl), 5);
    CHECK(c.done);
    CHECK_INT(http1_chunked_feed(&c, "GET", 3, &d, &dl), 0);
}

TEST(http1_chunked_big_size_streams)
{
    /* A large declared size is fine; data flows through in pieces without copying. */
    struct http1_chunked c;
    http1_chunked_init(&c);
    const char *d;
    size_t dl;
    CHECK_INT(http1_chunked_feed(&c, "3fffffffffffffff\r\n", 18, &d, &dl), 18);
    CHECK_INT(dl, 0);
    char body[1000];
    memset(body, 'z', sizeof body);
    CHECK_INT(http1_chunked_feed(&c, body, sizeof body, &d, &dl), 1000);
    CHECK(d == body && dl == 1000);
    CHECK(c.remaining == 0x3fffffffffffffffULL - 1000);
}

/* ---- writers ---- */

TEST(http1_write_request_bytes)
{
    struct buf b;
    buf_init(&b, 0);
    const char *hdrs[] = {"Content-Type: application/json", "Authorization: Bearer k", NULL};
    CHECK_INT(
        http1_write_request(&b, "POST", "localhost:8000", "/v1/chat/completions", hdrs, "{}", 2),
        0);
    CHECK_STR(b.p, "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:8000\r\n"
                   "Content-Type: application/json\r\nAuthorization: Bearer k\r\n"
                   "Content-Length: 2\r\n\r\n{}");
    struct http1_request r;
    int n = http1_parse_request(b.p, b.len, 0, &r);
    CHECK_INT(n, (int)b.len - 2);
    CHECK_INT(r.framing, HTTP1_BODY_LENGTH);
    CHECK_INT(r.content_length, 2);
    buf_reset(&b);
    CHECK_INT(http1_write_request(&b, "GET", "h", "/", NULL, NULL, 0), 0);
    CHECK_STR(b.p, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    buf_free(&b);
}

TEST(http1_write_response_bytes)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(http1_write_response_head(&b, 200, "text/event-stream", -1, true, NULL), 0);
    CHECK_STR(b.p, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n");
    buf_reset(&b);
    CHECK_INT(http1_write_response_head(&b, 429, "application/json", 12, false, "Retry-After: 1"),
              0);
    CHECK_STR(b.p, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
                   "Content-Length: 12\r\nConnection: close\r\nRetry-After: 1\r\n\r\n");
    struct http1_response r;
    CHECK_INT(http1_parse_response(b.p, b.len, 0, false, &r), (int)b.len);
    CHECK_INT(r.keep_alive, false);
    CHECK_INT(r.content_length, 12);
    buf_reset(&b);
    CHECK_INT(http1_write_chunk(&b, "hello world, this!", 18), 0);
    CHECK_INT(http1_write_chunk(&b, NULL, 0), 0);
    CHECK_STR(b.p, "12\r\nhello world, this!\r\n0\r\n\r\n");
    CHECK_STR(http1_reason(404), "Not Found");
    CHECK_STR(http1_reason(599), "Server Error");
    CHECK_INT(http1_write_response_head(&b, 42, NULL, 0, true, NULL), ERR_INVALID);
    buf_free(&b);
}

/* ---- the client's whole path: head, chunked framing, SSE ---- */

static int collect(void *ctx, const struct sse_event *ev)
{
    struct buf *b = ctx;
    buf_append(b, ev->data, ev->data_len);
    buf_putc(b, ';');
    return 0;
}

/* Parses `in` arriving in two pieces cut at `cut`, as the replay client does: the head,
 * then chunked framing, then SSE over the chunk data. Returns the events seen. */
static int client_path(const char *in, size_t len, size_t cut, struct buf *events)
{
    struct buf acc;
    buf_init(&acc, 0);
    struct http1_response r;
    struct http1_chunked c;
    struct sse_parser p;
    sse_parser_init(&p, 1 << 16);
    http1_chunked_init(&c);
    bool in_body = false;
    size_t last = 0;
    int rc = 0;
    for (int piece = 0; piece < 2 && !rc; piece++) {
        const char *s = piece ? in + cut : in;
        size_t n = piece ? len - cut : cut;
        char *g = test_guard_copy(s, n);
        size_t off = 0;
        if (!in_body) {
            buf_append(&acc, g, n);
            int h = http1_parse_response(acc.p, acc.len, last, false, &r);
            if (h == HTTP1_INCOMPLETE) {
                last = acc.len;
                test_guard_free(g, n);
                continue;
            }
            if (h < 0 || r.framing != HTTP1_BODY_CHUNKED) {
                rc = -1;
            } else {
                in_body = true;
                off = n - (acc.len - (size_t)h); /* body bytes of this piece start here */
            }
        }
        while (!rc && off < n && !c.done) {
            const char *d;
            size_t dl;
            long k = http1_chunked_feed(&c, g + off, n - off, &d, &dl);
            if (k <= 0) {
                rc = -2;
                break;
            }
            if (dl)
                rc = sse_parser_feed(&p, d, dl, 0, collect, events);
            off += (size_t)k;
        }
        test_guard_free(g, n);
    }
    if (!c.done)
        rc = rc ? rc : -3;
    sse_parser_free(&p);
    buf_free(&acc);
    return rc;
}

TEST(http1_chunked_sse_client_path_every_split)
{
    /* Chunk boundaries fall inside a field name, between CR and LF, and inside the
     * blank line; the events must not care. */
    const char *in = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n"
                     "7\r\ndata: {\r\n"
                     "9;x=1\r\n\"a\":1}\r\n\r\r\n"
                     "2\r\nda\r\n"
                     "8\r\nta: two\r\r\n"
                     "b\r\n\ndata: 3\r\n\n\r\n"
                     "e\r\ndata: [DONE]\n\n\r\n"
                     "1\r\n\n\r\n"
                     "0\r\nTrailer: x\r\n\r\n";
    size_t len = strlen(in);
    for (size_t cut = 0; cut <= len; cut++) {
        struct buf ev;
        buf_init(&ev, 0);
        buf_puts(&ev, "");
        int rc = client_path(in, len, cut, &ev);
        if (rc || strcmp(ev.p, "{\"a\":1};two\n3;[DONE];") != 0)
            test_fail(__FILE__, __LINE__, "cut %zu: rc %d events \"%s\"", cut, rc, ev.p);
        buf_free(&ev);
    }
}

/* ---- the response reader (http1_rx) ----
 * Each input is fed whole, split at every byte, and one byte at a time, each piece from a
 * guard-page copy; every way must end in the same event with the same status, body and
 * bytes left over. Then the connection closes (http1_rx_eof), which must agree too. */

struct rx_out {
    enum http1_rx_event ev;  /* the last event before more input was needed, or the end */
    enum http1_rx_event eof; /* after http1_rx_eof */
    enum http1_rx_error err;
    int status;
    int heads;
    char body[256];
    size_t blen;
    size_t left; /* bytes after a DONE response */
};

/* Feeds in[0..len) cut at cuts[0..ncuts) (ascending). */
static void rx_drive(const char *in, size_t len, const size_t *cuts, size_t ncuts, struct rx_out *o)
{
    memset(o, 0, sizeof *o);
    struct buf head;
    buf_init(&head, HTTP1_MAX_HEAD);
    struct http1_rx rx;
    struct http1_response resp;
    http1_rx_init(&rx, &head, false);
    size_t at = 0;
    o->ev = HTTP1_RX_MORE;
    for (size_t i = 0; i <= ncuts && o->ev == HTTP1_RX_MORE; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        char *g = test_guard_copy(in + at, end - at);
        const char *p = g;
        size_t n = end - at;
        for (;;) {
            const char *d;
            size_t dl;
            enum http1_rx_event ev = http1_rx_feed(&rx, &resp, &p, &n, &d, &dl);
            CHECK(p + n == g + (end - at)); /* the rest is always the input's tail */
            if (ev == HTTP1_RX_HEAD) {
                o->heads++;
                CHECK_INT(resp.status, rx.status);
                continue;
            }
            if (ev == HTTP1_RX_DATA) {
                CHECK(dl > 0 && d >= g && d + dl <= p);
                if (o->blen < sizeof o->body)
                    memcpy(o->body + o->blen, d,
                           dl < sizeof o->body - o->blen ? dl : sizeof o->body - o->blen);
                o->blen += dl;
                continue;
            }
            o->ev = ev;
            if (ev == HTTP1_RX_DONE)
                o->left = n + (len - end);
            else
                CHECK(ev == HTTP1_RX_ERROR || n == 0);
            break;
        }
        test_guard_free(g, end - at);
        at = end;
    }
    o->eof = http1_rx_eof(&rx);
    o->err = rx.error;
    o->status = rx.status;
    /* Done and failed readers stay put. */
    const char *p = "x", *d;
    size_t n = 1, dl;
    if (o->eof == HTTP1_RX_DONE || o->eof == HTTP1_RX_ERROR)
        CHECK_INT(http1_rx_feed(&rx, &resp, &p, &n, &d, &dl), o->eof);
    buf_free(&head);
}

static bool rx_same(const struct rx_out *a, const struct rx_out *b)
{
    size_t bl = a->blen < sizeof a->body ? a->blen : sizeof a->body;
    return a->ev == b->ev && a->eof == b->eof && a->err == b->err && a->status == b->status &&
           a->heads == b->heads && a->blen == b->blen && !memcmp(a->body, b->body, bl) &&
           a->left == b->left;
}

struct rx_case {
    const char *name;
    const char *in;
    enum http1_rx_event ev;  /* after all the input */
    enum http1_rx_event eof; /* after the close */
    enum http1_rx_error err;
    int status;
    const char *body;
    size_t left;
};

static const struct rx_case rx_cases[] = {
    /* issue 17 item 1: a body of length 0 ends with its head */
    {"429 length 0", "HTTP/1.1 429 Too Many\r\nContent-Length: 0\r\n\r\n", HTTP1_RX_DONE,
     HTTP1_RX_DONE, HTTP1_RX_OK, 429, "", 0},
    {"200 length 0 close", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
     HTTP1_RX_DONE, HTTP1_RX_DONE, HTTP1_RX_OK, 200, "", 0},
    {"length 0 then more", "HTTP/1.1 503 X\r\nContent-Length: 0\r\n\r\nHTTP", HTTP1_RX_DONE,
     HTTP1_RX_DONE, HTTP1_RX_OK, 503, "", 4},
    {"204", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", HTTP1_RX_DONE, HTTP1_RX_DONE,
     HTTP1_RX_OK, 204, "", 0},
    {"304 chunked", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
     HTTP1_RX_DONE, HTTP1_RX_DONE, HTTP1_RX_OK, 304, "", 0},
    {"100 then 429",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nContent-Length: 0\r\n\r\n",
     HTTP1_RX_DONE, HTTP1_RX_DONE, HTTP1_RX_OK, 429, "", 0},
    {"100 103 then 200",
     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
     HTTP1_RX_DONE, HTTP1_RX_DONE, HTTP1_RX_OK, 200, "hello", 0},
    {"empty chunked", "HTTP/1.1 500 X\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     HTTP1_RX_DONE, HTTP1_RX_DONE, HTTP1_RX_OK, 500, "", 0},
    {"chunked trailers",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\n"
     "T: 1\r\n\r\nX",
     HTTP1_RX_DONE, HTTP1_RX_DONE, HTTP1_RX_OK, 200, "abcde", 1},
    {"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", HTTP1_RX_DONE, HTTP1_RX_DONE,
     HTTP1_RX_OK, 200, "hello", 0},
    {"length longer", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloGARBAGE", HTTP1_RX_DONE,
     HTTP1_RX_DONE, HTTP1_RX_OK, 200, "hello", 7},
    {"length short", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", HTTP1_RX_MORE,
     HTTP1_RX_ERROR, HTTP1_RX_EOF_MID_BODY, 200, "hel", 0},
    {"chunked cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
     HTTP1_RX_MORE, HTTP1_RX_ERROR, HTTP1_RX_EOF_MID_BODY, 200, "abc", 0},
    {"close delimited", "HTTP/1.0 200 OK\r\n\r\nabc", HTTP1_RX_MORE, HTTP1_RX_DONE, HTTP1_RX_OK,
     200, "abc", 0},
    {"close delimited empty", "HTTP/1.1 503 X\r\n\r\n", HTTP1_RX_MORE, HTTP1_RX_DONE, HTTP1_RX_OK,
     503, "", 0},
    {"101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\nxx", HTTP1_RX_ERROR,
     HTTP1_RX_ERROR, HTTP1_RX_UPGRADE, 101, "", 0},
    {"garbage", "garbage\r\n\r\n", HTTP1_RX_ERROR, HTTP1_RX_ERROR, HTTP1_RX_BAD_HEAD, 0, "", 0},
    {"bad status", "HTTP/1.1 2OO OK\r\n\r\n", HTTP1_RX_ERROR, HTTP1_RX_ERROR, HTTP1_RX_BAD_HEAD, 0,
     "", 0},
    {"mid head", "HTTP/1.1 200 OK\r\nContent-Le", HTTP1_RX_MORE, HTTP1_RX_ERROR,
     HTTP1_RX_EOF_MID_HEAD, 0, "", 0},
    {"after interim", "HTTP/1.1 100 Continue\r\n\r\n", HTTP1_RX_MORE, HTTP1_RX_ERROR,
     HTTP1_RX_EOF_MID_HEAD, 0, "", 0},
    {"nothing", "", HTTP1_RX_MORE, HTTP1_RX_ERROR, HTTP1_RX_EOF_NO_HEAD, 0, "", 0},
    {"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", HTTP1_RX_ERROR,
     HTTP1_RX_ERROR, HTTP1_RX_BAD_CHUNKED, 200, "", 0},
};

TEST(http1_rx_table_every_split)
{
    for (size_t i = 0; i < sizeof rx_cases / sizeof rx_cases[0]; i++) {
        const struct rx_case *c = &rx_cases[i];
        size_t len = strlen(c->in);
        struct rx_out whole, o;
        rx_drive(c->in, len, NULL, 0, &whole);
        if (whole.ev != c->ev || whole.eof != c->eof || whole.err != c->err ||
            whole.status != c->status || whole.blen != strlen(c->body) ||
            memcmp(whole.body, c->body, whole.blen) || whole.left != c->left)
            test_fail(__FILE__, __LINE__, "%s: ev %d eof %d err %d status %d body '%.*s' left %zu",
                      c->name, whole.ev, whole.eof, whole.err, whole.status, (int)whole.blen,
                      whole.body, whole.left);
        for (size_t k = 1; k < len; k++) {
            rx_drive(c->in, len, &k, 1, &o);
            if (!rx_same(&o, &whole))
                test_fail(__FILE__, __LINE__, "%s: split at %zu differs", c->name, k);
        }
        size_t *cuts = malloc(len * sizeof *cuts + 1);
        for (size_t k = 1; k < len; k++)
            cuts[k - 1] = k;
        rx_drive(c->in, len, cuts, len ? len - 1 : 0, &o);
        if (!rx_same(&o, &whole))
            test_fail(__FILE__, __LINE__, "%s: byte by byte differs", c->name);
        free(cuts);
    }
}

/* Heads that arrive in pieces are collected in steps: a long head followed by a long body
 * in the same read copies little of the body, and a head over the cap fails in any split. */
TEST(http1_rx_long_heads)
{
    struct buf in;
    buf_init(&in, 0);
    buf_puts(&in, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 60; i++)
        buf_printf(&in, "X-Filler-%03d: %0200d\r\n", i, i);
    buf_puts(&in, "Content-Length: 100000\r\n\r\n");
    size_t hlen = in.len;
    for (int i = 0; i < 100000; i++)
        buf_putc(&in, (char)('a' + i % 26));
    struct rx_out whole, o;
    rx_drive(in.p, in.len, NULL, 0, &whole);
    CHECK_INT(whole.ev, HTTP1_RX_DONE);
    CHECK_INT(whole.blen, 100000);
    CHECK_INT(whole.left, 0);
    size_t cuts[] = {1, 17, 100, hlen - 3, hlen - 1, hlen, hlen + 1, hlen + 5000};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        rx_drive(in.p, in.len, &cuts[i], 1, &o);
        CHECK(rx_same(&o, &whole));
    }
    /* the head buffer does not take the body along */
    struct buf head;
    buf_init(&head, HTTP1_MAX_HEAD);
    struct http1_rx rx;
    struct http1_response resp;
    http1_rx_init(&rx, &head, false);
    const char *p = in.p, *d;
    size_t n = 10, dl;
    CHECK_INT(http1_rx_feed(&rx, &resp, &p, &n, &d, &dl), HTTP1_RX_MORE);
    n = in.len - 10;
    CHECK_INT(http1_rx_feed(&rx, &resp, &p, &n, &d, &dl), HTTP1_RX_HEAD);
    CHECK(head.len == hlen && head.cap <= 2 * (hlen + 4096));
    CHECK_INT(n, 100000);
    buf_free(&head);

    buf_reset(&in);
    buf_puts(&in, "HTTP/1.1 200 OK\r\n");
    while (in.len < HTTP1_MAX_HEAD + 100)
        buf_puts(&in, "X-Filler: 0123456789012345678901234567890123456789\r\n");
    buf_puts(&in, "\r\n");
    size_t cuts2[] = {0, 5, 4096, 60000, HTTP1_MAX_HEAD - 1};
    for (size_t i = 0; i < sizeof cuts2 / sizeof cuts2[0]; i++) {
        rx_drive(in.p, in.len, &cuts2[i], cuts2[i] ? 1 : 0, &o);
        CHECK_INT(o.ev, HTTP1_RX_ERROR);
        CHECK_INT(o.err, HTTP1_RX_HEAD_TOO_LARGE);
    }
    buf_free(&in);
}
