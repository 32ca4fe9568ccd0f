#include "buf.h"
#include "corpus.h"
#include "test.h"
#include "trace.h"
#include "trace_write.h"
#include "zio.h"

#include <stdlib.h>
#include <unistd.h>

static const char *raw_corpus = "From fairest creatures we desire increase\n"
                                "That thereby beautys rose might never die\n"
                                "But as the riper should by time decease\n";

static void path_in_tmp(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", test_tmpdir(), name);
}

static int write_sample(const char *path, const struct corpus *c, const char *extra,
                        const char *etype, bool streaming)
{
    struct trace_writer *w;
    struct diag d;
    struct tw_config cfg = {etype, NULL,  streaming, extra,        c,   3,
                            false, false, NULL,      TW_BUST_NONE, NULL};
    if (tw_open(&w, path, &cfg, &d))
        return -1;
    tw_header_raw(w, "seed", "7");
    struct tw_part blk[1] = {{.kind = TW_SLICE, .off = 0, .len = 12}}; /* "From fairest" */
    CHECK_INT(tw_block(w, 501, blk, 1, 2, NULL), 1);
    long have = 0;
    CHECK_INT(tw_block(w, 501, blk, 1, 9, &have), 0);
    CHECK_INT(have, 2);
    struct tw_part lit = {.kind = TW_LIT, .s = "say \"hi\"\n", .n = 9};
    CHECK_INT(tw_block(w, 502, &lit, 1, 3, NULL), 1);

    struct tw_part p1[3] = {{.kind = TW_BLOCK, .id = 501},
                            {.kind = TW_BLOCK, .id = 502},
                            {.kind = TW_SLICE, .off = 42, .len = 4}}; /* "That" */
    struct tw_text t1 = {p1, 3};
    struct tw_request q = {.session = "a",
                           .turn = 0,
                           .timed = true,
                           .t_ms = 0,
                           .delay_ms = -1,
                           .model = "m1",
                           .texts = &t1,
                           .ntexts = 1,
                           .isl = -1,
                           .max_tokens = 80};
    struct diag dd;
    if (tw_request(w, &q, &dd))
        return -2;
    struct tw_part p2[1] = {{.kind = TW_BLOCK, .id = 501}};
    struct tw_text t2 = {p2, 1};
    q.texts = &t2;
    q.session = "b";
    q.t_ms = 350;
    q.max_tokens = -1;
    if (tw_request(w, &q, &dd))
        return -3;
    struct tw_part p3[1] = {{.kind = TW_LIT, .s = "plain \xc3\xa9", .n = 8}};
    struct tw_text t3 = {p3, 1};
    q.texts = &t3;
    q.turn = 1;
    q.timed = false;
    q.delay_ms = 250;
    q.start_ms = 350; /* session b's start: orders the line */
    q.live_history = true;
    if (tw_request(w, &q, &dd))
        return -4;
    /* An undefined block is refused and leaves nothing behind in the line. */
    struct tw_part bad[1] = {{.kind = TW_BLOCK, .id = 999}};
    struct tw_text tb = {bad, 1};
    q.texts = &tb;
    CHECK(tw_request(w, &q, &dd) < 0);
    CHECK(strstr(dd.msg, "999") != NULL);
    CHECK_INT(tw_requests(w), 3);
    CHECK_INT(tw_sessions(w), 2);
    return tw_commit(w, &d);
}

TEST(trace_roundtrip_blocks_slices_literals)
{
    struct corpus c;
    struct diag d;
    REQUIRE(corpus_load_mem(&c, "t.txt", raw_corpus, strlen(raw_corpus), tokenizer_approx(), &d) ==
            0);
    char path[512];
    path_in_tmp(path, sizeof path, "t.jsonl.zst");
    REQUIRE(write_sample(path, &c, NULL, "chat", false) == 0);
    /* No temporaries stay behind. */
    char probe[600];
    snprintf(probe, sizeof probe, "%s.body.tmp.%ld", path, (long)getpid());
    CHECK(access(probe, F_OK) != 0);

    struct trace_reader *r;
    REQUIRE(trace_open(&r, path, &d) == 0);
    const struct trace_header *h = trace_get_header(r);
    CHECK_INT(h->version, 1);
    CHECK_STR(h->endpoint_type, "chat");
    CHECK_STR(h->endpoint_path, "/v1/chat/completions");
    CHECK(h->timed);
    CHECK(h->tokens_approx);
    CHECK_INT(h->requests, 3);
    CHECK_INT(h->sessions, 2);
    CHECK_INT(h->blocks, 2);
    CHECK(strstr(h->json, "\"seed\":7") != NULL);

    struct trace_request q;
    REQUIRE(trace_next(r, &q, &d) == 1);
    CHECK_STR(q.session, "a");
    CHECK_INT(q.index, 0);
    CHECK(q.timed);
    CHECK_INT(q.isl, 2 + 3 + 1);
    CHECK_INT(q.osl, 80);
    CHECK_INT(q.blocks, 2);
    CHECK_STR(q.model, "m1");
    const char *want1 = "{\"messages\":[{\"role\":\"user\",\"content\":\"From fairestsay "
                        "\\\"hi\\\"\\nThat\"}],\"model\":\"m1\",\"stream\":false,"
                        "\"max_completion_tokens\":80}";
    CHECK_MEM(q.body, q.body_len, want1, strlen(want1));
    REQUIRE(trace_next(r, &q, &d) == 1);
    CHECK_STR(q.session, "b");
    CHECK_NEAR(q.t_ms, 350, 0);
    CHECK_INT(q.osl, -1);
    /* The same block id gives byte-identical text. */
    CHECK(strstr(q.body, "\"content\":\"From fairest\"") != NULL);
    REQUIRE(trace_next(r, &q, &d) == 1);
    CHECK_INT(q.turn, 1);
    CHECK(!q.timed);
    CHECK_NEAR(q.delay_ms, 250, 0);
    CHECK_INT(q.history, TRACE_HISTORY_LIVE);
    CHECK(strstr(q.body, "\"content\":\"plain \xc3\xa9\"") != NULL);
    CHECK_INT(trace_next(r, &q, &d), 0);
    trace_close(r);

    /* Unexpanded: bodies come back as stored, references intact. */
    REQUIRE(trace_open(&r, path, &d) == 0);
    trace_set_expand(r, false);
    REQUIRE(trace_next(r, &q, &d) == 1);
    CHECK(strstr(q.body, "{\"$text\":[501,502,[42,4]]}") != NULL);
    CHECK_INT(q.blocks, 2);
    trace_close(r);
    corpus_free(&c);
}

TEST(trace_extra_inputs_and_endpoints)
{
    struct corpus c;
    struct diag d;
    REQUIRE(corpus_load_mem(&c, "t.txt", raw_corpus, strlen(raw_corpus), tokenizer_approx(), &d) ==
            0);
    char path[512];
    path_in_tmp(path, sizeof path, "x.jsonl.zst");
    REQUIRE(write_sample(path, &c, "{\"max_completion_tokens\":5,\"ignore_eos\":true,\"t\":\"s\"}",
                         "chat", true) == 0);
    struct trace_reader *r;
    REQUIRE(trace_open(&r, path, &d) == 0);
    struct trace_request q;
    REQUIRE(trace_next(r, &q, &d) == 1);
    CHECK(q.stream);
    const char *tail =
        "\"model\":\"m1\",\"stream\":true,\"max_completion_tokens\":5,"
        "\"ignore_eos\":true,\"t\":\"s\",\"stream_options\":{\"include_usage\":true}}";
    CHECK(q.body_len > strlen(tail) &&
          !memcmp(q.body + q.body_len - strlen(tail), tail, strlen(tail)));
    trace_close(r);

    REQUIRE(write_sample(path, &c, NULL, "completions", false) == 0);
    REQUIRE(trace_open(&r, path, &d) == 0);
    CHECK_STR(trace_get_header(r)->endpoint_path, "/v1/completions");
    REQUIRE(trace_next(r, &q, &d) == 1);
    CHECK(!strncmp(q.body, "{\"prompt\":\"From fairest", 23));
    CHECK(strstr(q.body, "\"max_tokens\":80") != NULL);
    trace_close(r);

    REQUIRE(write_sample(path, &c, NULL, "embeddings", false) == 0);
    REQUIRE(trace_open(&r, path, &d) == 0);
    REQUIRE(trace_next(r, &q, &d) == 1);
    CHECK(!strncmp(q.body, "{\"model\":\"m1\",\"input\":[\"From", 28));
    trace_close(r);

    struct trace_writer *w;
    struct tw_config bad = {"rankings", NULL,  false, NULL,         &c,  3,
                            false,      false, NULL,  TW_BUST_NONE, NULL};
    CHECK(tw_open(&w, path, &bad, &d) < 0);
    struct tw_config bad2 = {"chat", NULL,  false, "[1]",        &c,  3,
                             false,  false, NULL,  TW_BUST_NONE, NULL};
    CHECK(tw_open(&w, path, &bad2, &d) < 0);
    struct tw_config bad3 = {"chat", NULL,  false, "{\"$text\":1}", &c,  3,
                             false,  false, NULL,  TW_BUST_NONE,    NULL};
    CHECK(tw_open(&w, path, &bad3, &d) < 0);
    struct tw_config bad4 = {
        "chat", NULL,         false, "{\"a\":{\"b\":{\"$text\":[1]}}}", &c, 3, false, false,
        NULL,   TW_BUST_NONE, NULL};
    CHECK(tw_open(&w, path, &bad4, &d) < 0);
    CHECK(strstr(d.msg, "reserved") != NULL);
    corpus_free(&c);
}

static int write_plain(const char *path, const char *text)
{
    struct diag d;
    return afile_write_all(path, text, strlen(text), &d);
}

static const char *hdr =
    "{\"metronome_trace\":1,\"endpoint\":{\"type\":\"chat\",\"path\":\"/v1/chat/"
    "completions\"},\"requests\":1,\"sessions\":1}\n";

TEST(trace_reader_rejects_bad_traces)
{
    static const struct {
        const char *body; /* after the header line */
        const char *want; /* in the error */
        int line;
    } cases[] = {
        {"{\"session\":\"a\",\"turn\":0,\"isl\":1,\"body\":{\"x\":{\"$text\":[7]}}}\n",
         "block 7 is not defined", 2},
        {"{\"session\":\"a\",\"turn\":0,\"isl\":1,\"body\":{\"x\":{\"$text\":[[0,5]]}}}\n",
         "outside the stored pieces", 2},
        {"{\"session\":\"a\",\"turn\":0,\"isl\":1,\"body\":{\"x\":1}\n", "malformed JSON", 2},
        {"{\"session\":\"a\",\"turn\":-1,\"isl\":1,\"body\":{}}\n", "'turn'", 2},
        {"{\"session\":1,\"turn\":0,\"isl\":1,\"body\":{}}\n", "'session'", 2},
        {"{\"session\":\"a\",\"turn\":0,\"isl\":1}\n", "'body'", 2},
        {"{\"piece\":10,\"text\":\"abc\"}\n{\"piece\":11,\"text\":\"x\"}\n", "overlap", 3},
        {"{\"block\":1,\"tokens\":1,\"text\":[\"a\"]}\n{\"block\":1,\"tokens\":1,\"text\":[\"a\"]}"
         "\n",
         "defined twice", 3},
        {"", "promises 1 requests", 1},
    };
    char path[512];
    path_in_tmp(path, sizeof path, "bad.jsonl");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, "%s%s", hdr, cases[i].body);
        REQUIRE(write_plain(path, text) == 0);
        struct trace_reader *r;
        struct diag d = {0};
        int rc = trace_open(&r, path, &d);
        if (rc == 0) {
            struct trace_request q;
            while ((rc = trace_next(r, &q, &d)) == 1)
                ;
            trace_close(r);
        }
        if (rc >= 0 || !strstr(d.msg, cases[i].want)) {
            test_fail(__FILE__, __LINE__, "case %zu: rc %d, '%s'", i, rc, d.msg);
            continue;
        }
        char where[600];
        snprintf(where, sizeof where, "%s:%d: ", path, cases[i].line);
        if (strncmp(d.msg, where, strlen(where)))
            test_fail(__FILE__, __LINE__, "case %zu: '%s' does not start with '%s'", i, d.msg,
                      where);
    }
    /* Header problems. */
    const char *heads[] = {"{\"metronome_trace\":2}\n", "{\"x\":1}\n", "nope\n", ""};
    const char *wants[] = {"version 2", "not a metronome trace", "not a trace header", "empty"};
    for (size_t i = 0; i < 4; i++) {
        REQUIRE(write_plain(path, heads[i]) == 0);
        struct trace_reader *r;
        struct diag d = {0};
        CHECK(trace_open(&r, path, &d) < 0);
        if (!strstr(d.msg, wants[i]))
            test_fail(__FILE__, __LINE__, "header %zu: '%s'", i, d.msg);
    }
    struct trace_reader *r;
    struct diag d = {0};
    CHECK(trace_open(&r, "/nonexistent/t.jsonl.zst", &d) < 0);
    CHECK(strstr(d.msg, "/nonexistent/t.jsonl.zst") != NULL);
}

/* --extra-inputs: the one parser pack and replay share (issue 17: replay dropped
 * 'nocolon', '[1,2' and '{"a":' silently and sent 'a:[1,2' as "a":"[1"). */
TEST(trace_extra_inputs_table)
{
    static const struct {
        const char *in[3]; /* up to 3 values, NULL-terminated */
        const char *out;   /* expected object, or NULL for an error */
        const char *msg;   /* substring of the error */
    } cases[] = {
        {{"max_tokens:100"}, "{\"max_tokens\":100}", NULL},
        {{"a:1,b:x, c : true ,d:null"}, "{\"a\":1,\"b\":\"x\",\"c\":true,\"d\":null}", NULL},
        {{"a:1", "a:2"}, "{\"a\":2}", NULL},
        {{"{\"a\":[1,2],\"b\":{\"c\":\"d\"}}", "e:1.5"},
         "{\"a\":[1,2],\"b\":{\"c\":\"d\"},\"e\":1.5}",
         NULL},
        {{"k:v:w"}, "{\"k\":\"v:w\"}", NULL},
        {{"a:\"q\""}, "{\"a\":\"\\\"q\\\"\"}", NULL},
        {{"nocolon"}, NULL, "'nocolon' is not key:value"},
        {{"[1,2"}, NULL, "'[1' is not key:value"},
        {{"a:[1,2"}, NULL, "'2' is not key:value"},
        {{"{\"a\":"}, NULL, "malformed JSON"},
        {{"{\"a\":1} x"}, NULL, "malformed JSON"},
        {{":v"}, NULL, "':v' is not key:value"},
        {{"a:1", "bad"}, NULL, "'bad' is not key:value"},
        {{""}, NULL, "empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = 0;
        while (n < 3 && cases[i].in[n])
            n++;
        if (n == 0)
            n = 1; /* the "" case */
        const char *in[3] = {cases[i].in[0] ? cases[i].in[0] : "", cases[i].in[1], cases[i].in[2]};
        struct buf b;
        buf_init(&b, 0);
        struct diag d = {0};
        int rc = tw_extra_inputs(in, n, &b, &d);
        if (cases[i].out) {
            if (rc || b.len != strlen(cases[i].out) || memcmp(b.p, cases[i].out, b.len))
                test_fail(__FILE__, __LINE__, "case %zu: rc %d, got '%.*s' want '%s' (%s)", i, rc,
                          (int)b.len, b.p ? b.p : "", cases[i].out, d.msg);
        } else if (rc != ERR_INVALID || !strstr(d.msg, cases[i].msg)) {
            test_fail(__FILE__, __LINE__, "case %zu: rc %d, message '%s' lacks '%s'", i, rc, d.msg,
                      cases[i].msg);
        }
        buf_free(&b);
    }
}

/* ---- trace_cache ---- */

#include "trace_cache.h"

/* What goes in comes out, field for field, with strings copied (the caller's buffers are
 * reused between requests); a NULL model stays NULL. */
TEST(trace_cache_round_trip)
{
    struct trace_cache c;
    tcache_init(&c, 1 << 20);
    char session[16], body[64];
    for (int i = 0; i < 3000; i++) {
        struct trace_request q = {0};
        snprintf(session, sizeof session, "s%d", i);
        int n = snprintf(body, sizeof body, "{\"messages\":[],\"n\":%d}", i);
        q.index = i;
        q.session = session;
        q.turn = i % 3;
        q.timed = i % 2;
        q.t_ms = i * 1.5;
        q.delay_ms = i * 0.25;
        q.model = i % 4 ? "m" : NULL;
        q.stream = i % 5 == 0;
        q.isl = 100 + i;
        q.osl = i % 7 ? i : -1;
        q.history = i % 2 ? TRACE_HISTORY_LIVE : TRACE_HISTORY_RECORDED;
        q.body = body;
        q.body_len = (size_t)n;
        q.blocks = i / 10;
        q.line = i + 5;
        REQUIRE(tcache_add(&c, &q));
    }
    memset(session, 'x', sizeof session - 1);
    memset(body, 'x', sizeof body - 1);
    CHECK_INT(c.n, 3000);
    for (int i = 0; i < 3000; i++) {
        struct trace_request q;
        tcache_get(&c, (size_t)i, &q);
        char want[64];
        int n = snprintf(want, sizeof want, "{\"messages\":[],\"n\":%d}", i);
        CHECK_MEM(q.body, q.body_len, want, (size_t)n);
        CHECK(q.body[q.body_len] == '\0');
        snprintf(want, sizeof want, "s%d", i);
        CHECK_STR(q.session, want);
        CHECK(i % 4 ? q.model && !strcmp(q.model, "m") : q.model == NULL);
        CHECK_INT(q.index, i);
        CHECK_INT(q.turn, i % 3);
        CHECK_INT(q.timed, i % 2);
        CHECK(q.t_ms == i * 1.5 && q.delay_ms == i * 0.25);
        CHECK_INT(q.stream, i % 5 == 0);
        CHECK_INT(q.isl, 100 + i);
        CHECK_INT(q.osl, i % 7 ? i : -1);
        CHECK_INT(q.history, i % 2 ? TRACE_HISTORY_LIVE : TRACE_HISTORY_RECORDED);
        CHECK_INT(q.blocks, i / 10);
        CHECK_INT(q.line, i + 5);
    }
    tcache_free(&c);
}

/* Past its cap the cache gives up for good and frees what it held: the caller falls back
 * to the file, and memory stays at the cap whatever the trace's length. */
TEST(trace_cache_gives_up_past_its_cap)
{
    struct trace_cache c;
    tcache_init(&c, 4096);
    struct trace_request q = {.session = "s", .body = "{\"a\":1}", .body_len = 7};
    int added = 0;
    while (tcache_add(&c, &q))
        added++;
    CHECK(added > 5);
    CHECK(c.over);
    CHECK_INT(c.n, 0);
    CHECK(c.v == NULL && c.bytes.p == NULL);
    CHECK(!tcache_add(&c, &q)); /* and stays empty */
    CHECK_INT(c.n, 0);
    tcache_free(&c);
    /* one request larger than the whole cap */
    static char big[8192];
    memset(big, 'a', sizeof big);
    tcache_init(&c, 4096);
    q.body = big;
    q.body_len = sizeof big;
    CHECK(!tcache_add(&c, &q));
    CHECK(c.over);
    tcache_free(&c);
}
