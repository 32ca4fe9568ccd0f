#include "corpus.h"
#include "dataset.h"
#include "test.h"
#include "trace.h"
#include "trace_write.h"
#include "xalloc.h"
#include "zio.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

static struct corpus corpus;
static bool corpus_ready;

static const struct corpus *test_corpus(void)
{
    if (!corpus_ready) {
        struct diag d;
        if (corpus_load_embedded(&corpus, tokenizer_approx(), &d))
            abort();
        corpus_ready = true;
    }
    return &corpus;
}

/* What a packed trace held, request by request. */
struct got {
    int n;
    char session[64][48];
    int turn[64];
    bool timed[64];
    double t_ms[64], delay_ms[64];
    long isl[64], osl[64], blocks[64];
    char model[64][16];
    char *body[64];
    struct diag d;
};

static void got_free(struct got *g)
{
    for (int i = 0; i < g->n; i++)
        free(g->body[i]);
}

typedef int (*loader)(struct dataset *ds, const char *path, struct diag *d);

/* Packs `input` (a file written from text, or NULL for synthetic) and reads it back.
 * Returns the loader's result; on success g holds the requests. */
static int pack(const struct dataset_opts *o, loader fn, const char *input_text, const char *etype,
                struct got *g)
{
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/in.jsonl", test_tmpdir());
    snprintf(out, sizeof out, "%s/out.jsonl.zst", test_tmpdir());
    memset(g, 0, sizeof *g);
    if (input_text && afile_write_all(in, input_text, strlen(input_text), &g->d))
        return -100;
    struct trace_writer *w;
    struct tw_config cfg = {
        etype ? etype : "chat", NULL, false, NULL, test_corpus(), 1, false, false, NULL,
        TW_BUST_NONE,           NULL};
    if (tw_open(&w, out, &cfg, &g->d))
        return -101;
    struct dataset ds;
    dataset_init(&ds, o, test_corpus(), w);
    int rc = fn ? fn(&ds, in, &g->d) : dataset_synthetic(&ds, &g->d);
    if (rc) {
        tw_abort(w);
        return rc;
    }
    if (tw_commit(w, &g->d))
        return -102;
    struct trace_reader *r;
    if (trace_open(&r, out, &g->d))
        return -103;
    struct trace_request q;
    while (g->n < 64 && (rc = trace_next(r, &q, &g->d)) == 1) {
        int i = g->n++;
        snprintf(g->session[i], sizeof g->session[i], "%s", q.session);
        snprintf(g->model[i], sizeof g->model[i], "%s", q.model ? q.model : "");
        g->turn[i] = q.turn;
        g->timed[i] = q.timed;
        g->t_ms[i] = q.t_ms;
        g->delay_ms[i] = q.delay_ms;
        g->isl[i] = q.isl;
        g->osl[i] = q.osl;
        g->blocks[i] = q.blocks;
        g->body[i] = xstrndup(q.body, q.body_len);
    }
    trace_close(r);
    return rc < 0 ? -104 : 0;
}

static const char *const one_model[] = {"m"};

static void opts(struct dataset_opts *o)
{
    dataset_opts_default(o);
    o->models = one_model;
    o->nmodels = 1;
}

/* The text of the first message of a chat body (JSON-escaped as in the body). */
static char *content(const char *body)
{
    const char *p = strstr(body, "\"content\":\"");
    if (!p)
        return xstrdup("");
    p += 11;
    const char *e = p;
    while (*e && !(*e == '"' && e[-1] != '\\'))
        e++;
    return xstrndup(p, (size_t)(e - p));
}

TEST(trace_dataset_positive_normal_integer)
{
    struct rng r;
    rng_seed(&r, 1);
    CHECK_INT(dataset_pos_int(&r, 550, 0), 550);
    CHECK_INT(dataset_pos_int(&r, 10.2, 0), 11); /* ceil */
    CHECK_INT(dataset_pos_int(&r, 0, 0), 0);
    double sum = 0;
    long min = 1L << 30;
    for (int i = 0; i < 20000; i++) {
        long x = dataset_pos_int(&r, 5, 10);
        CHECK(x >= 0);
        if (x < min)
            min = x;
        sum += (double)x;
    }
    /* Truncating N(5, 10) at 0 raises the mean to 5 + 10*phi(0.5)/Phi(0.5) = 10.09, and the
     * ceil adds ~0.5. */
    CHECK_NEAR(sum / 20000, 10.59, 0.3);
    CHECK(min <= 1);
}

TEST(trace_dataset_mooncake_blocks_and_layouts)
{
    struct dataset_opts o;
    opts(&o);
    o.block_size = 4;
    struct got g;
    const char *in =
        "{\"timestamp\":0,\"input_length\":12,\"output_length\":3,\"hash_ids\":[1,2,3]}\n"
        "{\"timestamp\":5,\"input_length\":9,\"hash_ids\":[1,2,4]}\n"
        "{\"timestamp\":6,\"input_length\":11,\"hash_ids\":[1]}\n"
        "{\"timestamp\":7,\"input_length\":6,\"hash_ids\":[]}\n"
        "{\"timestamp\":8,\"text_input\":\"hi there\",\"output_length\":1}\n";
    REQUIRE(pack(&o, dataset_mooncake, in, NULL, &g) == 0);
    REQUIRE(g.n == 5);
    CHECK_INT(g.isl[0], 12);
    CHECK_INT(g.osl[0], 3);
    CHECK(strstr(g.body[0], "\"max_completion_tokens\":3") != NULL);
    CHECK_INT(g.blocks[0], 3);
    CHECK_INT(g.osl[1], -1);
    CHECK_INT(g.blocks[2], 1); /* prefix-only layout: one block plus 7 uncached tokens */
    CHECK_INT(g.blocks[3], 0);
    CHECK_NEAR(g.t_ms[1], 5, 0);
    CHECK(g.timed[4]);
    CHECK_INT(g.isl[4], 2);
    /* Blocks 1 and 2 (8 tokens) are a byte-identical prefix of requests 0, 1 and 2. */
    char *c0 = content(g.body[0]), *c1 = content(g.body[1]), *c2 = content(g.body[2]);
    const struct corpus *c = test_corpus();
    (void)c;
    size_t common = 0;
    while (c0[common] && c0[common] == c1[common])
        common++;
    CHECK(common > 10);
    CHECK(!strncmp(c0, c2, 10));
    /* The last block of request 1 (id 4, 1 token) differs from request 0's block 3. */
    CHECK(strcmp(c0, c1) != 0);
    free(c0);
    free(c1);
    free(c2);
    got_free(&g);

    /* (k-1)*bs < L <= k*bs is accepted, at both ends; (k-1)*bs is not. */
    REQUIRE(pack(&o, dataset_mooncake, "{\"input_length\":5,\"hash_ids\":[7,8]}\n", NULL, &g) == 0);
    got_free(&g);
    REQUIRE(pack(&o, dataset_mooncake, "{\"input_length\":8,\"hash_ids\":[7,8]}\n", NULL, &g) == 0);
    got_free(&g);
    CHECK(pack(&o, dataset_mooncake, "{\"input_length\":4,\"hash_ids\":[7,8]}\n", NULL, &g) < 0);
    CHECK(strstr(g.d.msg, "in.jsonl:1: input_length 4 does not fit 2 hash_ids") != NULL);
    /* One id, two sizes. */
    CHECK(pack(&o, dataset_mooncake,
               "{\"input_length\":8,\"hash_ids\":[7,8]}\n{\"input_length\":3,\"hash_ids\":[8]}\n",
               NULL, &g) < 0);
    CHECK(strstr(g.d.msg, "in.jsonl:2: hash_id 8 is a 4-token block but is used here as 3") !=
          NULL);
}

TEST(trace_dataset_mooncake_sessions_and_osl_override)
{
    struct dataset_opts o;
    opts(&o);
    o.osl_set = true;
    o.osl_mean = 9;
    struct got g;
    const char *in =
        "{\"timestamp\":0,\"session_id\":\"a\",\"input_length\":3,\"output_length\":50}\n"
        "{\"timestamp\":10,\"session_id\":\"b\",\"input_length\":3}\n"
        "{\"timestamp\":1500,\"session_id\":\"a\",\"input_length\":3}\n"
        "{\"session_id\":\"a\",\"input_length\":3,\"delay\":70}\n";
    REQUIRE(pack(&o, dataset_mooncake, in, NULL, &g) == 0);
    REQUIRE(g.n == 4);
    /* Ordered by session start: session a (0 ms) with its later turns, then b (10 ms). */
    CHECK_STR(g.session[1], "a");
    CHECK_INT(g.turn[1], 1);
    CHECK_NEAR(g.delay_ms[1], 1500, 0);
    CHECK_INT(g.turn[2], 2);
    CHECK_NEAR(g.delay_ms[2], 70, 0);
    CHECK_STR(g.session[3], "b");
    CHECK_NEAR(g.t_ms[3], 10, 0);
    CHECK_INT(g.osl[0], 9); /* --osl wins over output_length */
    got_free(&g);
}

TEST(trace_dataset_mooncake_messages_and_payload)
{
    struct dataset_opts o;
    opts(&o);
    struct got g;
    const char *in =
        "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\","
        "\"content\":[{\"type\":\"text\",\"text\":\"Hello there\"}]}],\"output_length\":9,"
        "\"tools\":[{\"type\":\"function\"}],\"extra\":{\"top_k\":4}}\n"
        "{\"payload\":{\"model\":\"x\",\"prompt\":\"Once "
        "upon\",\"max_tokens\":50,\"stream\":true}}\n";
    REQUIRE(pack(&o, dataset_mooncake, in, NULL, &g) == 0);
    REQUIRE(g.n == 2);
    CHECK_STR(g.body[0], "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":"
                         "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hello there\"}]}],"
                         "\"tools\":[{\"type\":\"function\"}],\"model\":\"m\",\"stream\":false,"
                         "\"max_completion_tokens\":9,\"top_k\":4}");
    CHECK_INT(g.isl[0], 5); /* "Be brief." 3 + "Hello there" 2 */
    CHECK_STR(g.body[1],
              "{\"model\":\"x\",\"prompt\":\"Once upon\",\"max_tokens\":50,\"stream\":true}");
    CHECK_STR(g.model[1], "x");
    CHECK_INT(g.osl[1], 50);
    CHECK_INT(g.isl[1], 2);
    got_free(&g);
    CHECK(pack(&o, dataset_mooncake, "{\"payload\":{\"a\":{\"$text\":[1]}}}\n", NULL, &g) < 0);
    CHECK(strstr(g.d.msg, "in.jsonl:1: ") && strstr(g.d.msg, "reserved"));
    CHECK(pack(&o, dataset_mooncake, "{\"messages\":[{\"content\":\"a\"}],\"text_input\":\"b\"}\n",
               NULL, &g) < 0);
    CHECK(strstr(g.d.msg, "cannot be combined") != NULL);
    CHECK(pack(&o, dataset_mooncake, "{\"messages\":[{\"content\":\"a\"}]}\n", "completions", &g) <
          0);
    CHECK(strstr(g.d.msg, "needs the chat endpoint") != NULL);
}

TEST(trace_dataset_single_turn_forms)
{
    struct dataset_opts o;
    opts(&o);
    struct got g;
    const char *in =
        "{\"text\":\"a\",\"timestamp\":0,\"role\":\"system\",\"type\":\"single_turn\"}\n"
        "{\"texts\":[{\"name\":\"q\",\"contents\":[\"x\",\"y\"]},{\"name\":\"c\",\"contents\":[]}],"
        "\"timestamp\":0,\"delay\":5}\n"
        "{\"text\":\"\",\"image\":\"http://i/1.png\",\"timestamp\":3,\"extra\":[1]}\n";
    REQUIRE(pack(&o, dataset_single_turn, in, NULL, &g) == 0);
    REQUIRE(g.n == 3);
    CHECK(strstr(g.body[0], "{\"role\":\"system\",\"content\":\"a\"}") != NULL);
    CHECK(strstr(g.body[1],
                 "[{\"type\":\"text\",\"text\":\"x\"},{\"type\":\"text\",\"text\":\"y\"}]") !=
          NULL);
    CHECK(strstr(g.body[2],
                 "[{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://i/1.png\"}}]") != NULL);
    CHECK(g.timed[0] && g.timed[2]);
    got_free(&g);
    static const struct {
        const char *line, *want;
    } bad[] = {
        {"{\"text\":\"a\",\"texts\":[\"b\"]}\n", "'text' and 'texts' cannot both be set"},
        {"{\"text\":\"\"}\n", "at least one modality"},
        {"{\"texts\":[\"a\",{\"contents\":[\"b\"]}]}\n", "only strings or only"},
        {"{\"text\":\"a\",\"timestamp\":1,\"delay\":2}\n", "'timestamp' and 'delay'"},
        {"{\"text\":\"a\",\"type\":\"multi_turn\"}\n", "must be \"single_turn\""},
        {"{\"audio\":\"nocomma\"}\n", "nocomma: not a .wav or .mp3 file"},
        {"{\"audio\":\"https://h/a.wav\"}\n", "format,base64"},
        {"{\"image\":\"nofile.png\"}\n", "field 'image': nofile.png: No such file"},
        {"{\"images\":[\"http:///x\"]}\n", "field 'images': 'http:///x': a URL needs both"},
        {"{\"text\":\"a\",\"timestamp\":\"1\"}\n", "'timestamp': must be a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (pack(&o, dataset_single_turn, bad[i].line, NULL, &g) >= 0 ||
            !strstr(g.d.msg, bad[i].want) || !strstr(g.d.msg, "in.jsonl:1: "))
            test_fail(__FILE__, __LINE__, "case %zu: '%s'", i, g.d.msg);
    }
}

/* single_turn rows sharing a session_id are one session, each row a turn sent on its own;
 * image ids (image_uuids, an image object's uuids) ride on the image parts, and with
 * uuid_strip an id an earlier row of the session sent with bytes goes with an empty url. */
TEST(trace_dataset_single_turn_uuids)
{
    struct dataset_opts o;
    opts(&o);
    struct got g;
    const char *in =
        "{\"session_id\":\"a\",\"text\":\"t1\",\"images\":[\"data:A\",\"data:B\"],\"image_uuids\":["
        "\"u1\","
        "\"u2\"]}\n"
        "{\"session_id\":\"b\",\"text\":\"t2\",\"images\":[\"data:A\"],\"image_uuids\":[\"u1\"]}\n"
        "{\"image_uuids\":[\"u1\",\"u3\",\"u3\"],\"session_id\":\"a\",\"text\":\"t3\","
        "\"images\":[\"data:A\",\"data:C\",\"data:C\"],\"delay\":7}\n"
        "{\"session_id\":\"a\",\"text\":\"t4\",\"images\":[{\"contents\":[\"data:D\",\"\"]},"
        "{\"uuids\":[\"u3\",\"u9\"]}]}\n"
        "{\"session_id\":\"a\",\"text\":\"t5\",\"images\":[\"data:E\"],\"image_uuids\":[\"u9\"]}\n"
        "{\"text\":\"t6\",\"images\":[\"data:A\"],\"image_uuids\":[\"u1\"]}\n";
    for (int strip = 0; strip < 2; strip++) {
        o.uuid_strip = strip;
        REQUIRE(pack(&o, dataset_single_turn, in, NULL, &g) == 0);
        REQUIRE(g.n == 6);
        static const char *const sess[] = {"a", "b", "a", "a", "a", "line-6"};
        static const int turn[] = {0, 0, 1, 2, 3, 0};
        for (int i = 0; i < 6; i++) {
            CHECK_STR(g.session[i], sess[i]);
            CHECK_INT(g.turn[i], turn[i]);
        }
        CHECK(fabs(g.delay_ms[2] - 7) < 1e-9);
        CHECK(strstr(g.body[2], "t1") == NULL); /* no history */
        CHECK(strstr(g.body[0],
                     "{\"type\":\"text\",\"text\":\"t1\"},{\"type\":\"image_url\","
                     "\"image_url\":{\"url\":\"data:A\"},\"uuid\":\"u1\"},{\"type\":"
                     "\"image_url\",\"image_url\":{\"url\":\"data:B\"},\"uuid\":\"u2\"}]") != NULL);
        CHECK(strstr(g.body[1], "{\"url\":\"data:A\"},\"uuid\":\"u1\"}") != NULL);
        /* u1 was sent with bytes by row 1 of session a; u3 is new here, twice */
        CHECK(strstr(g.body[2], strip ? "{\"url\":\"\"},\"uuid\":\"u1\"}"
                                      : "{\"url\":\"data:A\"},\"uuid\":\"u1\"}") != NULL);
        CHECK(strstr(g.body[2], "{\"url\":\"data:C\"},\"uuid\":\"u3\"},{\"type\":\"image_url\","
                                "\"image_url\":{\"url\":\"data:C\"},\"uuid\":\"u3\"}") != NULL);
        /* an object without ids drops its empty content; id-only references have no url */
        CHECK(strstr(g.body[3], "{\"url\":\"data:D\"}},{\"type\":\"image_url\",\"image_url\":{"
                                "\"url\":\"\"},\"uuid\":\"u3\"},{\"type\":\"image_url\","
                                "\"image_url\":{\"url\":\"\"},\"uuid\":\"u9\"}]") != NULL);
        /* an id-only reference does not count as sent: u9's bytes go */
        CHECK(strstr(g.body[4], "{\"url\":\"data:E\"},\"uuid\":\"u9\"}") != NULL);
        CHECK(strstr(g.body[5], "{\"url\":\"data:A\"},\"uuid\":\"u1\"}") != NULL);
        got_free(&g);
    }
    o.uuid_strip = false;
    static const struct {
        const char *line, *want;
    } bad[] = {
        {"{\"image\":\"data:A\",\"image_uuids\":[\"u\"]}\n", "singular 'image'"},
        {"{\"images\":[\"data:A\",\"data:B\"],\"image_uuids\":[\"u\"]}\n", "1 ids for 2 images"},
        {"{\"images\":[{\"contents\":[\"data:A\"]}],\"image_uuids\":[\"u\"]}\n", "holds objects"},
        {"{\"images\":[\"data:A\"],\"image_uuids\":[\"\"]}\n", "non-empty strings"},
        {"{\"images\":[\"data:A\"],\"image_uuids\":\"u\"}\n", "non-empty strings"},
        {"{\"images\":[{\"contents\":[\"data:A\",\"data:B\"],\"uuids\":[\"u\"]}]}\n", "one id per"},
        {"{\"images\":[{\"contents\":[\"data:A\"],\"uuids\":[\"\"]}]}\n", "non-empty strings"},
        {"{\"text\":\"a\",\"session_id\":5}\n", "'session_id': must be a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (pack(&o, dataset_single_turn, bad[i].line, NULL, &g) >= 0 ||
            !strstr(g.d.msg, bad[i].want) || !strstr(g.d.msg, "in.jsonl:1: "))
            test_fail(__FILE__, __LINE__, "case %zu: '%s'", i, g.d.msg);
    }
    /* a session_id naming the session of an earlier row without one */
    CHECK(pack(&o, dataset_single_turn,
               "{\"text\":\"a\"}\n{\"text\":\"b\",\"session_id\":\"line-1\"}\n", NULL, &g) < 0);
    CHECK(strstr(g.d.msg, "in.jsonl:2: field 'session_id'") != NULL);
    /* random_pool entries have no image_uuids field in AIPerf: an unknown key there */
    REQUIRE(pack(&o, dataset_random_pool, "{\"images\":[\"data:A\"],\"image_uuids\":[\"u\"]}\n",
                 NULL, &g) == 0);
    CHECK(strstr(g.body[0], "\"uuid\"") == NULL);
    got_free(&g);
}

TEST(trace_dataset_jsonl_byte_order_mark)
{
    struct dataset_opts o;
    opts(&o);
    struct got g;
    REQUIRE(pack(&o, dataset_single_turn, "\xEF\xBB\xBF{\"text\":\"hi\"}\r\n", NULL, &g) == 0);
    CHECK_INT(g.n, 1);
    got_free(&g);
}

TEST(trace_dataset_multi_turn_merges_sessions)
{
    struct dataset_opts o;
    opts(&o);
    struct got g;
    const char *in =
        "{\"session_id\":\"x\",\"turns\":[{\"text\":\"1\"},{\"text\":\"2\",\"delay\":9}]}\n"
        "{\"turns\":[{\"text\":\"solo\"}]}\n"
        "{\"session_id\":\"x\",\"turns\":[{\"text\":\"3\"}]}\n";
    REQUIRE(pack(&o, dataset_multi_turn, in, NULL, &g) == 0);
    REQUIRE(g.n == 4);
    CHECK_STR(g.session[0], "x");
    CHECK_INT(g.turn[1], 1);
    CHECK_NEAR(g.delay_ms[1], 9, 0);
    CHECK_STR(g.session[2], "line-2");
    CHECK_STR(g.session[3], "x");
    CHECK_INT(g.turn[3], 2);
    CHECK(!g.timed[0]);
    got_free(&g);
}

TEST(trace_dataset_random_pool_directory)
{
    char dir[512], f1[600], f2[600];
    snprintf(dir, sizeof dir, "%s/pools", test_tmpdir());
    mkdir(dir, 0755);
    snprintf(f1, sizeof f1, "%s/b.jsonl", dir);
    snprintf(f2, sizeof f2, "%s/a.jsonl", dir);
    struct diag d;
    REQUIRE(afile_write_all(f1, "{\"text\":\"B1\"}\n{\"text\":\"B2\"}\n", 28, &d) == 0);
    REQUIRE(afile_write_all(f2, "{\"image\":\"http://a\"}\n", 21, &d) == 0);
    struct dataset_opts o;
    opts(&o);
    o.conversations = 20;
    struct got g;
    /* pack() writes its own input; point the loader at the directory instead. */
    char out[512];
    snprintf(out, sizeof out, "%s/out.jsonl.zst", test_tmpdir());
    struct trace_writer *w;
    struct tw_config cfg = {"chat", NULL,  false, NULL,         test_corpus(), 1,
                            false,  false, NULL,  TW_BUST_NONE, NULL};
    REQUIRE(tw_open(&w, out, &cfg, &d) == 0);
    struct dataset ds;
    dataset_init(&ds, &o, test_corpus(), w);
    REQUIRE(dataset_random_pool(&ds, dir, &d) == 0);
    CHECK_INT(tw_requests(w), 20);
    REQUIRE(tw_commit(w, &d) == 0);
    struct trace_reader *r;
    REQUIRE(trace_open(&r, out, &d) == 0);
    struct trace_request q;
    int b1 = 0, b2 = 0;
    memset(&g, 0, sizeof g);
    while (trace_next(r, &q, &d) == 1) {
        /* a.jsonl (image) sorts before b.jsonl (text); every turn merges one of each. */
        CHECK(strstr(q.body, "http://a") != NULL);
        b1 += strstr(q.body, "B1") != NULL;
        b2 += strstr(q.body, "B2") != NULL;
    }
    CHECK_INT(b1 + b2, 20);
    CHECK(b1 > 0 && b2 > 0);
    trace_close(r);
}

TEST(trace_dataset_sharegpt_filters)
{
    struct dataset_opts o;
    opts(&o);
    struct got g;
    const char *in = "[{\"conversations\":[{\"value\":\"one two three four five\"},"
                     "{\"value\":\"six seven eight nine\"}]},"
                     "{\"conversations\":[{\"value\":\"too short\"},{\"value\":\"a b c d e\"}]},"
                     "{\"conversations\":[{\"value\":\"lonely message here ok\"}]},"
                     "{\"conversations\":[{\"value\":\"w x y z q\"},{\"value\":\"tiny\"}]}]";
    REQUIRE(pack(&o, dataset_sharegpt, in, NULL, &g) == 0);
    CHECK_INT(g.n, 1);
    CHECK_INT(g.isl[0], 5);
    CHECK_INT(g.osl[0], 4); /* the completion's length becomes max tokens */
    got_free(&g);
    o.osl_set = true; /* --osl skips the completion-length filter */
    o.osl_mean = 7;
    REQUIRE(pack(&o, dataset_sharegpt, in, NULL, &g) == 0);
    CHECK_INT(g.n, 2);
    CHECK_INT(g.osl[1], 7);
    got_free(&g);
    CHECK(pack(&o, dataset_sharegpt, "[\n{\"conversations\":[]},\n5]", NULL, &g) < 0);
    CHECK(strstr(g.d.msg, "in.jsonl:3: entry 1: must be an object") != NULL);
}

static int csv_azure(struct dataset *ds, const char *path, struct diag *d)
{
    return dataset_csv(ds, path, "azure", d);
}

static int csv_burst(struct dataset *ds, const char *path, struct diag *d)
{
    return dataset_csv(ds, path, "burstgpt", d);
}

TEST(trace_dataset_csv_mappings)
{
    struct dataset_opts o;
    opts(&o);
    struct got g;
    REQUIRE(pack(&o, csv_azure,
                 "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                 "2023-11-16 18:15:46.6805900,374,44\n"
                 "2023-11-16 18:16:47.0000000,10,0\n"
                 "2023-11-17 00:00:00,3,1\n",
                 NULL, &g) == 0);
    REQUIRE(g.n == 3);
    CHECK_NEAR(g.t_ms[0], 0, 0);
    CHECK_NEAR(g.t_ms[1], 60319.41, 1e-6);
    CHECK_NEAR(g.t_ms[2], (5 * 3600 + 44 * 60 + 13.31941) * 1000, 1e-3);
    CHECK_INT(g.isl[0], 374);
    CHECK_INT(g.osl[0], 44);
    CHECK_INT(g.osl[1], -1); /* no output tokens: no max_tokens */
    got_free(&g);
    /* BurstGPT: extra columns in any order; rows without a prompt are left out. */
    REQUIRE(pack(&o, csv_burst,
                 "Model,Timestamp,Response tokens,Request tokens,Log Type\n"
                 "ChatGPT,5,18,472,Conversation log\n"
                 "GPT-4,6.5,0,0,API log\n"
                 "GPT-4,7.25,2,9,API log\n",
                 NULL, &g) == 0);
    REQUIRE(g.n == 2);
    CHECK_NEAR(g.t_ms[0], 5000, 0); /* seconds from the trace start, kept */
    CHECK_NEAR(g.t_ms[1], 7250, 0);
    CHECK_INT(g.isl[0], 472);
    CHECK_INT(g.osl[1], 2);
    got_free(&g);
    /* A byte order mark and CRLF line ends, as spreadsheet exports write them. */
    REQUIRE(pack(&o, csv_azure,
                 "\xEF\xBB\xBFTIMESTAMP,ContextTokens,GeneratedTokens\r\n"
                 "2023-11-16 18:15:46,5,1\r\n2023-11-16 18:15:47.5,6,2\r\n",
                 NULL, &g) == 0);
    CHECK_INT(g.n, 2);
    CHECK_NEAR(g.t_ms[1], 1500, 1e-9);
    got_free(&g);
    CHECK(pack(&o, csv_azure, "TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,1,1\n", NULL,
               &g) < 0);
    CHECK(strstr(g.d.msg, "in.jsonl:2: column 'TIMESTAMP': 'yesterday' is not a date-time") !=
          NULL);
    CHECK(pack(&o, csv_burst, "Timestamp,Request tokens\n1,2\n", NULL, &g) < 0);
    CHECK(strstr(g.d.msg, "in.jsonl:1: missing column 'Response tokens'") != NULL);
}

TEST(trace_dataset_synthetic_shapes)
{
    static const char *const models[] = {"a", "b", "c"};
    struct dataset_opts o;
    opts(&o);
    o.models = models;
    o.nmodels = 3;
    o.isl_mean = 20;
    o.conversations = 4;
    o.turns_mean = 3;
    o.delay_mean = 100;
    o.delay_ratio = 0.5;
    o.prefix_pool = 2;
    o.prefix_len = 6;
    o.rate = 10;
    o.arrival = "constant";
    struct got g;
    REQUIRE(pack(&o, NULL, NULL, NULL, &g) == 0);
    REQUIRE(g.n == 12);
    for (int i = 0; i < 12; i++) {
        CHECK_INT(g.turn[i], i % 3);
        CHECK_STR(g.model[i], models[i % 3]); /* round robin over every turn */
        CHECK_INT(g.isl[i], i % 3 == 0 ? 26 : 20);
        if (i % 3)
            CHECK_NEAR(g.delay_ms[i], 50, 0);
        else
            CHECK_NEAR(g.t_ms[i], (i / 3) * 100.0, 1e-9);
    }
    got_free(&g);
    /* --request-count alone: conversations until the count, the last one cut short. */
    o.conversations = 0;
    o.request_count = 7;
    REQUIRE(pack(&o, NULL, NULL, NULL, &g) == 0);
    CHECK_INT(g.n, 7);
    CHECK_INT(g.turn[6], 0);
    got_free(&g);
    /* A pool and a count: draws from 2 unique conversations (--num-dataset-entries), so
     * bodies repeat byte for byte. */
    o.conversations = 0;
    o.entries = 2;
    o.request_count = 12;
    o.turns_mean = 1;
    o.rate = 0;
    o.prefix_len = 0;
    o.nmodels = 1;
    REQUIRE(pack(&o, NULL, NULL, NULL, &g) == 0);
    CHECK_INT(g.n, 12);
    int same = 0;
    for (int i = 1; i < 12; i++)
        same += !strcmp(g.body[i], g.body[0]);
    CHECK(same >= 1 && same <= 10);
    CHECK(!g.timed[0]);
    got_free(&g);
    /* --conversation-num and --request-count: the first limit reached ends the trace
     * (AIPerf 0.13): 2 conversations of one turn, not 12 requests drawn from them. */
    o.entries = 0;
    o.conversations = 2;
    REQUIRE(pack(&o, NULL, NULL, NULL, &g) == 0);
    CHECK_INT(g.n, 2);
    CHECK(strcmp(g.body[0], g.body[1]) != 0);
    got_free(&g);
    o.conversations = 3;
    o.turns_mean = 3;
    o.request_count = 5;
    REQUIRE(pack(&o, NULL, NULL, NULL, &g) == 0);
    CHECK_INT(g.n, 5);
    got_free(&g);
    o.turns_mean = 1;
    o.isl_mean = 0;
    CHECK(pack(&o, NULL, NULL, NULL, &g) < 0);
    CHECK(strstr(g.d.msg, "disabled") != NULL);
}

/* The index (0..n-1) of body among the first n distinct bodies seen in g, or -1. */
static int body_class(const struct got *g, int i, const char *const *uniq, int n)
{
    for (int j = 0; j < n; j++)
        if (!strcmp(g->body[i], uniq[j]))
            return j;
    return -1;
}

TEST(trace_dataset_sampling_strategies)
{
    /* --dataset-sampling-strategy over 4 unique synthetic conversations (AIPerf 0.13's
     * samplers): sequential A B C D A B C D..., shuffle each pass a permutation, random
     * with replacement; the same seed gives the same draws. */
    struct dataset_opts o;
    opts(&o);
    o.isl_mean = 8;
    struct got all, g;
    /* the 4 unique bodies: --request-count 4 alone packs conversations 0..3 once */
    o.entries = 0;
    o.request_count = 4;
    REQUIRE(pack(&o, NULL, NULL, NULL, &all) == 0);
    REQUIRE(all.n == 4);
    const char *u[4] = {all.body[0], all.body[1], all.body[2], all.body[3]};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < i; j++)
            REQUIRE(strcmp(u[i], u[j]) != 0);
    o.entries = 4;
    o.request_count = 16;
    /* sequential (the default): in order, wrapping */
    REQUIRE(pack(&o, NULL, NULL, NULL, &g) == 0);
    CHECK_INT(g.n, 16);
    for (int i = 0; i < g.n; i++)
        CHECK_INT(body_class(&g, i, u, 4), i % 4);
    got_free(&g);
    /* --conversation-num 6 over 4 entries: 6 sessions, the entries wins as the pool */
    o.request_count = 0;
    o.conversations = 6;
    REQUIRE(pack(&o, NULL, NULL, NULL, &g) == 0);
    CHECK_INT(g.n, 6);
    for (int i = 0; i < g.n; i++)
        CHECK_INT(body_class(&g, i, u, 4), i % 4);
    got_free(&g);
    o.conversations = 0;
    o.request_count = 16;
    /* shuffle: each pass of 4 is a permutation of the 4; not all passes in order */
    o.sampling = SAMPLING_SHUFFLE;
    REQUIRE(pack(&o, NULL, NULL, NULL, &g) == 0);
    CHECK_INT(g.n, 16);
    int in_order = 0, seq1[16];
    for (int p = 0; p < 4; p++) {
        int seen = 0;
        for (int i = 0; i < 4; i++) {
            int c = body_class(&g, p * 4 + i, u, 4);
            REQUIRE(c >= 0);
            seen |= 1 << c;
            in_order += c == i;
            seq1[p * 4 + i] = c;
        }
        CHECK_INT(seen, 15);
    }
    CHECK(in_order < 16);
    got_free(&g);
    REQUIRE(pack(&o, NULL, NULL, NULL, &g) == 0); /* same seed, same draws */
    for (int i = 0; i < 16; i++)
        CHECK_INT(body_class(&g, i, u, 4), seq1[i]);
    got_free(&g);
    /* random: with replacement, so some pass of 4 repeats a conversation */
    o.sampling = SAMPLING_RANDOM;
    REQUIRE(pack(&o, NULL, NULL, NULL, &g) == 0);
    CHECK_INT(g.n, 16);
    int repeats = 0, counts[4] = {0};
    for (int p = 0; p < 4; p++) {
        int seen = 0;
        for (int i = 0; i < 4; i++) {
            int c = body_class(&g, p * 4 + i, u, 4);
            REQUIRE(c >= 0);
            counts[c]++;
            repeats += (seen >> c) & 1;
            seen |= 1 << c;
        }
    }
    CHECK(repeats > 0);
    CHECK(counts[0] + counts[1] + counts[2] + counts[3] == 16);
    got_free(&g);
    got_free(&all);
}

TEST(trace_dataset_bailian_chains_and_order)
{
    /* AIPerf 0.13's bailian_trace: chains of chat_id -> parent_chat_id grouped under their
     * root's chat_id and ordered by "turn" (the file order does not matter), a missing
     * parent or a cycle cut as its find_root cuts them, seconds to milliseconds, 16-token
     * hash blocks, output_length as max_tokens. */
    struct dataset_opts o;
    opts(&o);
    o.block_size = 16;
    struct got g;
    const char *in =
        "{\"chat_id\":160,\"parent_chat_id\":159,\"timestamp\":0.5,\"input_length\":40,"
        "\"output_length\":8,\"type\":\"text\",\"turn\":2,\"hash_ids\":[1089,1090,1092]}\n"
        "{\"chat_id\":159,\"parent_chat_id\":-1,\"timestamp\":0.1,\"input_length\":40,"
        "\"output_length\":13,\"type\":\"text\",\"turn\":1,\"hash_ids\":[1089,1090,1091]}\n"
        "{\"chat_id\":7,\"timestamp\":0.2,\"input_length\":5,\"output_length\":3,\"extra\":1}\n"
        "\n"
        "{\"chat_id\":161,\"parent_chat_id\":160,\"timestamp\":0.9,\"input_length\":20,"
        "\"output_length\":2,\"turn\":3,\"hash_ids\":[1089,1095]}\n"
        "{\"chat_id\":1,\"parent_chat_id\":2,\"timestamp\":0.3,\"input_length\":3,"
        "\"output_length\":1}\n"
        "{\"chat_id\":2,\"parent_chat_id\":1,\"timestamp\":0.4,\"input_length\":3,"
        "\"output_length\":1,\"turn\":0}\n"
        "{\"chat_id\":50,\"parent_chat_id\":999,\"timestamp\":0.6,\"input_length\":4,"
        "\"output_length\":1}\n";
    REQUIRE(pack(&o, dataset_bailian, in, NULL, &g) == 0);
    REQUIRE(g.n == 7);
    /* by session start: 159 (100 ms, 3 turns), 7 (200), 1 (cycle: 300, 2 turns), 50 (600) */
    static const char *const sess[] = {"159", "159", "159", "7", "1", "1", "50"};
    static const int turn[] = {0, 1, 2, 0, 0, 1, 0};
    static const long isl[] = {40, 40, 20, 5, 3, 3, 4}, osl[] = {13, 8, 2, 3, 1, 1, 1};
    static const long blocks[] = {3, 3, 2, 0, 0, 0, 0};
    for (int i = 0; i < 7; i++) {
        CHECK_STR(g.session[i], sess[i]);
        CHECK_INT(g.turn[i], turn[i]);
        CHECK_INT(g.isl[i], isl[i]);
        CHECK_INT(g.osl[i], osl[i]);
        CHECK_INT(g.blocks[i], blocks[i]);
    }
    CHECK(g.timed[0] && !g.timed[1] && !g.timed[2]);
    CHECK_NEAR(g.t_ms[0], 100, 1e-9);
    CHECK_NEAR(g.delay_ms[1], 400, 1e-9); /* 0.5 s - 0.1 s */
    CHECK_NEAR(g.delay_ms[2], 400, 1e-9);
    CHECK_NEAR(g.t_ms[3], 200, 1e-9);
    /* the cycle 1 <-> 2: 2 has turn 0, so it is the session's first turn (at 400 ms) */
    CHECK_NEAR(g.t_ms[4], 400, 1e-9);
    CHECK_NEAR(g.delay_ms[5], 0, 0); /* 300 ms after 400 ms: no negative gap */
    /* blocks are shared: turns 0 and 1 of 159 begin with the same two 16-token blocks */
    char *c0 = content(g.body[0]), *c1 = content(g.body[1]);
    size_t common = 0;
    while (c0[common] && c0[common] == c1[common])
        common++;
    CHECK(common > 40 && strcmp(c0, c1) != 0);
    free(c0);
    free(c1);
    got_free(&g);
    /* a repeated chat_id names its last line; --request-count cuts the trace */
    o.request_count = 2;
    REQUIRE(pack(&o, dataset_bailian, in, NULL, &g) == 0);
    CHECK_INT(g.n, 2);
    got_free(&g);
}

TEST(trace_dataset_bailian_bad_lines)
{
    /* One line each: FILE:LINE: field: reason, and nothing packed. */
    static const struct {
        const char *line, *want;
    } cases[] = {
        {"{\"timestamp\":1,\"input_length\":3,\"output_length\":1}", "field 'chat_id' is missing"},
        {"{\"chat_id\":1,\"input_length\":3,\"output_length\":1}", "field 'timestamp' is missing"},
        {"{\"chat_id\":1,\"timestamp\":1,\"output_length\":1}", "field 'input_length' is missing"},
        {"{\"chat_id\":1,\"timestamp\":1,\"input_length\":3}", "field 'output_length' is missing"},
        {"{\"chat_id\":\"x\",\"timestamp\":1,\"input_length\":3,\"output_length\":1}",
         "field 'chat_id': must be an integer"},
        {"{\"chat_id\":null,\"timestamp\":1,\"input_length\":3,\"output_length\":1}",
         "field 'chat_id': must be an integer"},
        {"{\"chat_id\":1,\"parent_chat_id\":1.5,\"timestamp\":1,\"input_length\":3,"
         "\"output_length\":1}",
         "field 'parent_chat_id': must be an integer"},
        {"{\"chat_id\":1,\"timestamp\":-1,\"input_length\":3,\"output_length\":1}",
         "field 'timestamp': must be a number >= 0"},
        {"{\"chat_id\":1,\"timestamp\":\"1\",\"input_length\":3,\"output_length\":1}",
         "field 'timestamp': must be a number >= 0"},
        {"{\"chat_id\":1,\"timestamp\":1,\"input_length\":-3,\"output_length\":1}",
         "field 'input_length': must be an integer >= 0"},
        {"{\"chat_id\":1,\"timestamp\":1,\"input_length\":3,\"output_length\":1.5}",
         "field 'output_length': must be an integer >= 0"},
        {"{\"chat_id\":1,\"timestamp\":1,\"input_length\":3,\"output_length\":1,\"turn\":null}",
         "field 'turn': must be an integer"},
        {"{\"chat_id\":1,\"timestamp\":1,\"input_length\":3,\"output_length\":1,\"type\":5}",
         "field 'type': must be a string, not number"},
        {"{\"chat_id\":1,\"timestamp\":1,\"input_length\":3,\"output_length\":1,\"hash_ids\":7}",
         "field 'hash_ids': must be an array of integers, not number"},
        {"{\"chat_id\":1,\"timestamp\":1,\"input_length\":3,\"output_length\":1,"
         "\"hash_ids\":[1,\"a\"]}",
         "field 'hash_ids': must be an array of integers"},
        {"{\"chat_id\":1,\"timestamp\":1,\"input_length\":0,\"output_length\":1}",
         "field 'input_length': must be > 0 to make a prompt"},
        {"{\"chat_id\":1,\"timestamp\":1,\"input_length\":10,\"output_length\":1,"
         "\"hash_ids\":[1,2]}",
         "input_length 10 does not fit 2 hash_ids of 16 tokens"},
        {"{\"chat_id\":1,\"timestamp\":1,", "malformed JSON"},
        {"[1,2]", "malformed JSON"},
    };
    struct dataset_opts o;
    opts(&o);
    o.block_size = 16;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char in[1024], want[256];
        /* a good line first: the error names line 2 */
        snprintf(in, sizeof in,
                 "{\"chat_id\":9,\"timestamp\":0,\"input_length\":3,\"output_length\":1}\n%s\n",
                 cases[i].line);
        struct got g;
        int rc = pack(&o, dataset_bailian, in, NULL, &g);
        CHECK(rc < 0 && rc > -100);
        snprintf(want, sizeof want, "in.jsonl:2: %s", cases[i].want);
        if (!strstr(g.d.msg, want))
            test_fail(__FILE__, __LINE__, "case %zu: '%s' lacks '%s'", i, g.d.msg, want);
    }
}

TEST(trace_dataset_bailian_every_split_point)
{
    /* The file cut at every byte: a cut at a line end packs the lines before it, any other
     * cut is one error naming the last line; never a crash or a half trace. */
    const char *full =
        "{\"chat_id\":159,\"timestamp\":0.1,\"input_length\":40,\"output_length\":13,"
        "\"hash_ids\":[1,2,3]}\n"
        "{\"chat_id\":160,\"parent_chat_id\":159,\"timestamp\":0.5,\"input_length\":20,"
        "\"output_length\":8,\"turn\":2,\"hash_ids\":[1,4]}\n";
    struct dataset_opts o;
    opts(&o);
    o.block_size = 16;
    size_t n = strlen(full), nl1 = (size_t)(strchr(full, '\n') - full) + 1;
    for (size_t k = 1; k <= n; k++) {
        char in[512];
        memcpy(in, full, k);
        in[k] = '\0';
        struct got g;
        int rc = pack(&o, dataset_bailian, in, NULL, &g);
        if (k == nl1 || k == nl1 - 1 || k == n || k == n - 1) {
            /* whole lines (the last newline is optional) */
            CHECK_INT(rc, 0);
            CHECK_INT(g.n, k >= n - 1 ? 2 : 1);
            got_free(&g);
        } else {
            CHECK(rc < 0 && rc > -100);
            CHECK(strstr(g.d.msg, k < nl1 ? "in.jsonl:1: " : "in.jsonl:2: ") != NULL);
        }
    }
}

TEST(trace_dataset_raw_payload_lines)
{
    /* AIPerf 0.13's raw_payload: each line a whole body, sent byte for byte; a line is a
     * single-turn session; a line that is not an object with a "messages" array is one
     * FILE:LINE error. */
    struct dataset_opts o;
    opts(&o);
    struct got g;
    const char *in =
        "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"one two three\"}],"
        "\"max_tokens\":7,\"stream\":true,\"temperature\":0.5}\n"
        "\n"
        "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\","
        "\"content\":\"hi\"}],\"extra_body\":{\"a\":[1,2]}}\n";
    REQUIRE(pack(&o, dataset_raw_payload, in, NULL, &g) == 0);
    REQUIRE(g.n == 2);
    CHECK_STR(g.body[0], "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"one two "
                         "three\"}],\"max_tokens\":7,\"stream\":true,\"temperature\":0.5}");
    CHECK_STR(g.model[0], "x");
    CHECK_INT(g.osl[0], 7);
    CHECK_INT(g.isl[0], 3);
    CHECK(!g.timed[0]);
    CHECK_STR(g.session[0], "line-1");
    CHECK_STR(g.session[1], "line-3");
    CHECK_INT(g.turn[1], 0);
    CHECK(strstr(g.body[1], "\"extra_body\":{\"a\":[1,2]}") != NULL);
    got_free(&g);
    static const struct {
        const char *line, *want;
    } cases[] = {
        {"[1,2]", "in.jsonl:2: raw_payload line must be a JSON object"},
        {"{\"model\":\"x\"}", "in.jsonl:2: field 'messages': raw_payload line missing required "
                              "'messages' array (got nothing)"},
        {"{\"messages\":{}}", "in.jsonl:2: field 'messages': raw_payload line missing required "
                              "'messages' array (got object)"},
        {"{\"messages\":[}", "in.jsonl:2: malformed JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "{\"messages\":[]}\n%s\n", cases[i].line);
        int rc = pack(&o, dataset_raw_payload, buf, NULL, &g);
        CHECK(rc < 0 && rc > -100);
        if (!strstr(g.d.msg, cases[i].want))
            test_fail(__FILE__, __LINE__, "case %zu: '%s' lacks '%s'", i, g.d.msg, cases[i].want);
    }
}
