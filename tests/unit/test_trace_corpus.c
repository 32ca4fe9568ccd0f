#include "corpus.h"
#include "i64map.h"
#include "test.h"
#include "tokenizer.h"

#include <stdlib.h>

static size_t toks(const char *s)
{
    return tokenizer_count(tokenizer_approx(), s, strlen(s));
}

TEST(trace_tokenizer_approx_pieces)
{
    static const struct {
        const char *text;
        size_t tokens;
    } cases[] = {
        {"", 0},
        {"hello", 1},
        {"hello world", 2},
        {" hello", 1},
        {"Hello, world!", 4},
        {"selfsubstantial", 3}, /* 15 letters: 6 + 6 + 3 */
        {"12345", 2},           /* 3 + 2 digits */
        {"a  b", 3},            /* "a", " ", " b" */
        {"caf\xc3\xa9 ok", 2},
        {"\n\n", 1},
        {"it's", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = toks(cases[i].text);
        if (got != cases[i].tokens)
            test_fail(__FILE__, __LINE__, "'%s': %zu tokens, want %zu", cases[i].text, got,
                      cases[i].tokens);
    }
    /* A 9-byte UTF-8 run is never cut inside a sequence. */
    const char *u = "a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
    size_t first = tokenizer_approx()->next(u, strlen(u));
    CHECK_INT(first, 7);
    CHECK((u[first] & 0xC0) != 0x80);
}

TEST(trace_corpus_normalize_and_window)
{
    const char *raw = "  THE SONG \n\n1\r\nFrom fair things\n   \nwe desire more\n";
    struct corpus c;
    struct diag d;
    REQUIRE(corpus_load_mem(&c, "t.txt", raw, strlen(raw), tokenizer_approx(), &d) == 0);
    CHECK_STR(c.text, "THE SONG 1 From fair things we desire more");
    CHECK_INT(c.ntok, 9);
    CHECK_INT(c.tok[c.ntok], c.len);
    struct corpus_slice s[2];
    CHECK_INT(corpus_window(&c, 0, 2, s), 1);
    CHECK_MEM(c.text + s[0].off, s[0].len, "THE SONG", 8);
    /* A window past the end wraps once: the tail, then the head. */
    CHECK_INT(corpus_window(&c, 7, 3, s), 2);
    CHECK_MEM(c.text + s[0].off, s[0].len, " desire more", 12);
    CHECK_MEM(c.text + s[1].off, s[1].len, "THE", 3);
    CHECK(corpus_window(&c, 0, 10, s) < 0);
    CHECK(corpus_window(&c, 0, 0, s) < 0);
    CHECK_INT(strlen(c.sha256), 64);
    corpus_free(&c);
    CHECK(corpus_load_mem(&c, "e.txt", " \n\n ", 4, tokenizer_approx(), &d) < 0);
    CHECK(strstr(d.msg, "no text") != NULL);
}

TEST(trace_corpus_embedded)
{
    struct corpus c;
    struct diag d;
    REQUIRE(corpus_load_embedded(&c, tokenizer_approx(), &d) == 0);
    /* The pinned AIPerf shakespeare.txt (vendor manifest). */
    CHECK_STR(c.sha256, "e0e13a826912a4a81bb3a582aa73c4af0675bdeee6ddf6d505efb63d562d496f");
    CHECK_INT(c.ntok, 1104095);
    CHECK(strchr(c.text, '\n') == NULL);
    corpus_free(&c);
}

TEST(trace_i64map_many)
{
    struct i64map m;
    i64map_init(&m);
    for (int64_t i = -50000; i < 50000; i++)
        CHECK(i64map_put(&m, i * 7919, (uint32_t)(i + 50000)));
    CHECK(!i64map_put(&m, 7919, 1));
    uint32_t v = 0;
    CHECK(i64map_get(&m, 7919, &v));
    CHECK_INT(v, 50001);
    CHECK(i64map_get(&m, -50000LL * 7919, &v));
    CHECK_INT(v, 0);
    CHECK(!i64map_get(&m, 3, &v));
    CHECK_INT(m.count, 100000);
    i64map_free(&m);
}
