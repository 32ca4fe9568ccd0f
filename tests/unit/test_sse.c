#include "err.h"
#include "sse.h"
#include "test.h"

#include <stdio.h>

/* Events are rendered as "type|data|id|retry@ts;" with '\n' in data shown as '~', so a
 * whole stream's outcome is one string to compare. */
struct sink {
    struct buf out;
    int stop_after; /* stop (return 7) after this many events; 0: never */
    int n;
};

static int on_event(void *ctx, const struct sse_event *ev)
{
    struct sink *s = ctx;
    buf_append(&s->out, ev->type, ev->type_len);
    buf_putc(&s->out, '|');
    for (size_t i = 0; i < ev->data_len; i++)
        buf_putc(&s->out, ev->data[i] == '\n' ? '~' : ev->data[i]);
    buf_printf(&s->out, "|%.*s|%ld@%lld;", (int)ev->id_len, ev->id, ev->retry,
               (long long)ev->first_byte_ns);
    s->n++;
    return s->stop_after && s->n >= s->stop_after ? 7 : 0;
}

/* Feeds `in` cut at the given offsets (each piece a guard-page copy), the k-th piece at
 * time k+1. Returns the first nonzero feed result. */
static int feed_cuts(struct sse_parser *p, const char *in, size_t len, const size_t *cuts,
                     size_t ncuts, struct sink *s, bool stamp_by_piece)
{
    size_t pos = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        char *g = test_guard_copy(in + pos, end - pos);
        int rc = sse_parser_feed(p, g, end - pos, stamp_by_piece ? (int64_t)k + 1 : 1, on_event, s);
        test_guard_free(g, end - pos);
        if (rc)
            return rc;
        pos = end;
    }
    return 0;
}

struct sse_case {
    const char *name;
    const char *in;
    const char *events;
    bool partial_at_end; /* sse_parser_finish reports a dropped event */
};

static const struct sse_case sse_cases[] = {
    {"lf", "data: hello\n\n", "message|hello||-1@1;", false},
    {"crlf", "data: hello\r\n\r\n", "message|hello||-1@1;", false},
    {"cr", "data: hello\r\r", "message|hello||-1@1;", false},
    {"mixed ends", "data: a\r\ndata: b\rdata: c\n\r\n", "message|a~b~c||-1@1;", false},
    {"two events", "data: 1\n\ndata: 2\n\n", "message|1||-1@1;message|2||-1@1;", false},
    {"multi-line json", "data: {\"a\":\ndata: 1}\n\n", "message|{\"a\":~1}||-1@1;", false},
    {"comments", ": ping\n\n: x\ndata: y\n: z\n\n", "message|y||-1@1;", false},
    {"fields", "event: delta\nid: 7\nretry: 1500\ndata: {}\n\ndata: 2\n\n",
     "delta|{}|7|1500@1;message|2|7|-1@1;", false},
    {"event reset", "event: a\n\ndata: x\n\n", "message|x||-1@1;", false},
    {"empty data field", "data\n\n", "message|||-1@1;", false},
    {"empty data lines", "data:\ndata:\n\n", "message|~||-1@1;", false},
    {"no space", "data:x\n\n", "message|x||-1@1;", false},
    {"two spaces", "data:  x \n\n", "message| x ||-1@1;", false},
    {"colon in value", "data: a: b\n\n", "message|a: b||-1@1;", false},
    {"bom",
     "\xEF\xBB\xBF"
     "data: x\n\n",
     "message|x||-1@1;", false},
    {"second bom is data",
     "\xEF\xBB\xBF\xEF\xBB\xBF"
     "data: x\n\ndata: y\n\n",
     "message|y||-1@1;", false},
    {"bom prefix only",
     "\xEF\xBB"
     "data: x\n\ndata: y\n\n",
     "message|y||-1@1;", false},
    {"no final blank", "data: x\n", "", true},
    {"unterminated line", "data: x\n\ndata: y", "message|x||-1@1;", true},
    {"event only", "event: only\n\n", "", false},
    {"unknown field", "foo: bar\ndata: y\nDATA: z\n\n", "message|y||-1@1;", false},
    {"bad retry", "retry: 12a\ndata: z\n\nretry:\ndata: w\n\n", "message|z||-1@1;message|w||-1@1;",
     false},
    {"id reset", "id: 5\ndata: a\n\nid\ndata: b\n\n", "message|a|5|-1@1;message|b||-1@1;", false},
    {"extra blank lines", "\n\r\ndata: a\n\n\n\n\r\rdata: b\n\n",
     "message|a||-1@1;message|b||-1@1;", false},
    {"field without colon", "data\ndata\ndata\n\n", "message|~~||-1@1;", false},
    {"event type empty", "event:\ndata: q\n\n", "message|q||-1@1;", false},
    {"crlf split bait", "data: a\r\n\r\ndata: b\r\n\r\n", "message|a||-1@1;message|b||-1@1;",
     false},
    {"done", "data: {\"x\":1}\n\ndata: [DONE]\n\n", "message|{\"x\":1}||-1@1;message|[DONE]||-1@1;",
     false},
};

TEST(sse_table_every_split)
{
    for (size_t c = 0; c < sizeof sse_cases / sizeof sse_cases[0]; c++) {
        const struct sse_case *t = &sse_cases[c];
        size_t len = strlen(t->in);
        for (size_t s = 0; s <= len + 1; s++) {
            size_t cuts[256];
            size_t ncuts = 0;
            if (s <= len) {
                cuts[ncuts++] = s;
            } else {
                for (size_t k = 1; k < len; k++)
                    cuts[ncuts++] = k;
            }
            struct sse_parser p;
            sse_parser_init(&p, 1 << 20);
            struct sink sk = {0};
            buf_init(&sk.out, 0);
            buf_puts(&sk.out, "");
            CHECK_INT(feed_cuts(&p, t->in, len, cuts, ncuts, &sk, false), 0);
            if (strcmp(sk.out.p, t->events) != 0)
                test_fail(__FILE__, __LINE__, "%s split %zu: got \"%s\" want \"%s\"", t->name, s,
                          sk.out.p, t->events);
            CHECK_INT(sse_parser_finish(&p), t->partial_at_end);
            buf_free(&sk.out);
            sse_parser_free(&p);
        }
    }
}

TEST(sse_first_byte_timestamps)
{
    /* Each piece is fed at time k+1: an event carries the time of the piece holding its
     * first byte, not the one that completed it. */
    const char *in = "data: a\n"   /* t1 */
                     "\n"          /* t2 */
                     "da"          /* t3: first byte of b */
                     "ta: b\n\n"   /* t4 */
                     ": c\n"       /* t5: a comment opens the next block */
                     "data: z\n\n" /* t6 */
                     "\n\n"        /* t7: blank lines belong to no event */
                     "data: q\n\n" /* t8 */
                     "\r"          /* t9: a CR at the end of a piece... */
                     "\ndata: w\r" /* t10: ...and its LF at the start of the next */
                     "\n\r\n";     /* t11 */
    size_t cuts[] = {8, 9, 11, 18, 22, 31, 33, 42, 43, 52};
    struct sse_parser p;
    sse_parser_init(&p, 0);
    struct sink sk = {0};
    buf_init(&sk.out, 0);
    CHECK_INT(feed_cuts(&p, in, strlen(in), cuts, 10, &sk, true), 0);
    CHECK_STR(sk.out.p, "message|a||-1@1;message|b||-1@3;message|z||-1@5;message|q||-1@8;"
                        "message|w||-1@10;");
    CHECK_INT(p.comments, 1);
    CHECK_INT(p.events, 5);
    CHECK(!sse_parser_finish(&p));
    buf_free(&sk.out);
    sse_parser_free(&p);
}

TEST(sse_cr_lf_across_feeds)
{
    struct sse_parser p;
    sse_parser_init(&p, 0);
    struct sink sk = {0};
    buf_init(&sk.out, 0);
    /* "\r" | "\n": one line end, not a line end plus an empty line (which would dispatch). */
    CHECK_INT(sse_parser_feed(&p, "data: a\r", 8, 1, on_event, &sk), 0);
    CHECK_INT(sse_parser_feed(&p, "\ndata: b\r", 9, 2, on_event, &sk), 0);
    CHECK(sk.out.p == NULL);
    CHECK_INT(sse_parser_feed(&p, "\n\r", 2, 3, on_event, &sk), 0);
    CHECK_STR(sk.out.p, "message|a~b||-1@1;");
    /* The pending CR was a whole line end: a CR then "data" is a new line. */
    CHECK_INT(sse_parser_feed(&p, "data: c\r", 8, 4, on_event, &sk), 0);
    CHECK_INT(sse_parser_feed(&p, "\r", 1, 5, on_event, &sk), 0);
    CHECK_STR(sk.out.p, "message|a~b||-1@1;message|c||-1@4;");
    buf_free(&sk.out);
    sse_parser_free(&p);
}

TEST(sse_cap)
{
    struct sse_parser p;
    sse_parser_init(&p, 16);
    struct sink sk = {0};
    buf_init(&sk.out, 0);
    /* Fits: 15 bytes of data. */
    CHECK_INT(sse_parser_feed(&p, "data: 0123456789abcde\n\n", 23, 1, on_event, &sk), 0);
    CHECK_INT(sk.n, 1);
    /* Too big in one line, in one feed. */
    CHECK_INT(sse_parser_feed(&p, "data: 0123456789abcdefghij\n\n", 28, 1, on_event, &sk),
              ERR_TOO_LARGE);
    sse_parser_reset(&p);
    /* Too big across lines. */
    CHECK_INT(sse_parser_feed(&p, "data: 01234567\ndata: 01234567\n\n", 31, 1, on_event, &sk),
              ERR_TOO_LARGE);
    sse_parser_reset(&p);
    /* Too big as an unterminated line growing over many feeds: refused before the line ends,
     * so a server that never sends a newline cannot grow the buffer without bound. */
    int rc = 0;
    for (int i = 0; i < 100 && !rc; i++)
        rc = sse_parser_feed(&p, "xxxx", 4, 1, on_event, &sk);
    CHECK_INT(rc, ERR_TOO_LARGE);
    CHECK(p.line.len <= 16 + 256);
    CHECK_INT(sk.n, 1);
    buf_free(&sk.out);
    sse_parser_free(&p);
}

TEST(sse_callback_stops)
{
    struct sse_parser p;
    sse_parser_init(&p, 0);
    struct sink sk = {0};
    sk.stop_after = 2;
    buf_init(&sk.out, 0);
    const char *in = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
    CHECK_INT(sse_parser_feed(&p, in, strlen(in), 1, on_event, &sk), 7);
    CHECK_INT(sk.n, 2);
    buf_free(&sk.out);
    sse_parser_free(&p);
}

TEST(sse_large_event_in_small_pieces)
{
    /* 1 MB of data in 1000-byte feeds: linear, one event, exact bytes. */
    size_t n = 1 << 20;
    struct buf in;
    buf_init(&in, 0);
    buf_puts(&in, "data: ");
    for (size_t i = 0; i < n; i++)
        buf_putc(&in, (char)('a' + i % 26));
    buf_puts(&in, "\r\n\r\n");
    struct sse_parser p;
    sse_parser_init(&p, 2 << 20);
    struct sink sk = {0};
    buf_init(&sk.out, 0);
    for (size_t off = 0; off < in.len; off += 1000) {
        size_t k = in.len - off < 1000 ? in.len - off : 1000;
        REQUIRE(sse_parser_feed(&p, in.p + off, k, (int64_t)off, on_event, &sk) == 0);
    }
    CHECK_INT(sk.n, 1);
    CHECK_INT(sk.out.len, 8 + n + 7); /* "message|" data "||-1@0;" */
    CHECK(memcmp(sk.out.p + 8, in.p + 6, n) == 0);
    buf_free(&sk.out);
    buf_free(&in);
    sse_parser_free(&p);
}

TEST(sse_write_roundtrip)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(sse_write_event(&b, NULL, "{\"x\":1}", 7), 0);
    CHECK_STR(b.p, "data: {\"x\":1}\n\n");
    buf_reset(&b);
    CHECK_INT(sse_write_event(&b, "response.output_text.delta", "a\nb\r\nc\rd", 8), 0);
    CHECK_STR(b.p, "event: response.output_text.delta\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
    CHECK_INT(sse_write_event(&b, NULL, "", 0), 0);
    CHECK_INT(sse_write_event(&b, NULL, "end\n", 4), 0);
    CHECK_INT(sse_write_event(&b, "bad\ntype", "x", 1), ERR_INVALID);
    struct sse_parser p;
    sse_parser_init(&p, 0);
    struct sink sk = {0};
    buf_init(&sk.out, 0);
    CHECK_INT(sse_parser_feed(&p, b.p, b.len, 9, on_event, &sk), 0);
    CHECK_STR(sk.out.p, "response.output_text.delta|a~b~c~d||-1@9;message|||-1@9;"
                        "message|end~||-1@9;");
    buf_free(&sk.out);
    buf_free(&b);
    sse_parser_free(&p);
}
