/* Unit tests of the tokenizer.json engine. Exactness against the `tokenizers` package is
 * tested end to end (tests/e2e/test_tok_exactness.sh); these pin the pieces that test
 * relies on: invalid UTF-8 replacement, BPE merge order, added-token flags, and the memory
 * a loaded tokenizer keeps. */
#include "buf.h"
#include "test.h"
#include "tok.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A byte-level "identity" tokenizer: every byte is its own token (id = byte value), no
 * merges, no regex: encoding shows the exact bytes the engine saw after replacing invalid
 * UTF-8. */
static struct tok *identity(void)
{
    struct buf j;
    buf_init(&j, 0);
    buf_puts(&j, "{\"version\":\"1.0\",\"pre_tokenizer\":{\"type\":\"ByteLevel\","
                 "\"add_prefix_space\":false,\"use_regex\":false},\"decoder\":{\"type\":"
                 "\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{");
    for (unsigned b = 0; b < 256; b++) {
        /* GPT-2's byte -> character map. */
        unsigned cp = b;
        if (!((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE))) {
            unsigned k = 0;
            for (unsigned x = 0; x < b; x++)
                if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE)))
                    k++;
            cp = 256 + k;
        }
        buf_printf(&j, "%s\"\\u%04x\":%u", b ? "," : "", cp, b);
    }
    buf_puts(&j, "},\"merges\":[]}}");
    struct tok *t = NULL;
    struct diag d;
    int rc = tok_load_mem(j.p, j.len, "identity.json", &t, &d);
    if (rc)
        fprintf(stderr, "%s\n", d.msg);
    buf_free(&j);
    return t;
}

static void bytes_of(const struct tok_ids *ids, char *out, size_t *n)
{
    for (size_t i = 0; i < ids->n; i++)
        out[i] = (char)ids->v[i];
    *n = ids->n;
}

/* Python's bytes.decode("utf-8", "replace"): one U+FFFD per maximal ill-formed
 * subsequence. */
TEST(tok_invalid_utf8_replaced_as_python_does)
{
    struct tok *t = identity();
    REQUIRE(t);
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"\xff", "\xef\xbf\xbd"},
        {"a\xc3", "a\xef\xbf\xbd"},
        {"\xe2\x82"
         "a",
         "\xef\xbf\xbd"
         "a"},
        {"\xf0\x9f\x98"
         "b",
         "\xef\xbf\xbd"
         "b"},
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},                 /* surrogate */
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                                 /* overlong */
        {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
        {"\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
        {"\xe2\x82\xac\xe2", "\xe2\x82\xac\xef\xbf\xbd"},
    };
    struct tok_ids ids = {0};
    struct diag d;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        REQUIRE(tok_encode(t, cases[i].in, strlen(cases[i].in), true, &ids, &d) == 0);
        char got[64];
        size_t n;
        bytes_of(&ids, got, &n);
        CHECK_MEM(got, n, cases[i].want, strlen(cases[i].want));
    }
    /* Every split point of a mixed line: each prefix is well-formed output (never a byte
     * of the input that is not valid UTF-8 in place). */
    const char *mix = "a\xe2\x82\xac\xf0\x9f\x98\x80\xff\xc3\xa9z";
    for (size_t cut = 0; cut <= strlen(mix); cut++) {
        REQUIRE(tok_encode(t, mix, cut, false, &ids, &d) == 0);
        char got[64];
        size_t n;
        bytes_of(&ids, got, &n);
        struct buf dec;
        buf_init(&dec, 0);
        CHECK(tok_decode(t, ids.v, ids.n, false, &dec) == 0);
        CHECK_MEM(dec.p, dec.len, got, n); /* the decoder gives the bytes back */
        buf_free(&dec);
    }
    tok_ids_free(&ids);
    tok_free(t);
}

static struct tok *load_str(const char *json)
{
    struct tok *t = NULL;
    struct diag d;
    if (tok_load_mem(json, strlen(json), "t.json", &t, &d))
        fprintf(stderr, "%s\n", d.msg);
    return t;
}

static void encode_is(struct tok *t, const char *text, bool special, const uint32_t *want,
                      size_t nwant, int line)
{
    struct tok_ids ids = {0};
    struct diag d;
    int rc = tok_encode(t, text, strlen(text), special, &ids, &d);
    if (rc || ids.n != nwant || (nwant && memcmp(ids.v, want, nwant * sizeof *want))) {
        char got[256] = "";
        size_t o = 0;
        for (size_t i = 0; i < ids.n && o < sizeof got - 12; i++)
            o += (size_t)snprintf(got + o, sizeof got - o, "%u ", ids.v[i]);
        test_fail(__FILE__, line, "encode(\"%s\"): got [%s] rc %d", text, got, rc);
    }
    tok_ids_free(&ids);
}
#define ENCODE_IS(t, text, special, ...)                                                           \
    do {                                                                                           \
        static const uint32_t w_[] = {__VA_ARGS__};                                                \
        encode_is(t, text, special, w_, sizeof w_ / sizeof w_[0], __LINE__);                       \
    } while (0)

/* Lowest rank first, leftmost on equal ranks; a merge needs its pair adjacent now. */
TEST(tok_bpe_merge_order)
{
    struct tok *t = load_str(
        "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"bc\":4,"
        "\"abc\":5,\"aa\":6,\"aaa\":7},\"merges\":[\"b c\",\"a b\",[\"a\",\"bc\"],\"a a\","
        "\"aa a\"]}}");
    REQUIRE(t);
    ENCODE_IS(t, "abc", false, 5);     /* b c first (rank 0), then a bc */
    ENCODE_IS(t, "ab", false, 3);      /* a b */
    ENCODE_IS(t, "abab", false, 3, 3); /* equal ranks: both */
    ENCODE_IS(t, "aaa", false, 7);     /* leftmost a a first, then aa a */
    ENCODE_IS(t, "cab", false, 2, 3);  /* c stays alone */
    tok_free(t);
}

/* Added tokens: longest match first, lstrip/rstrip eat whitespace, single_word needs
 * non-word neighbours, special ones skipped on decode when asked. */
TEST(tok_added_token_flags)
{
    struct tok *t = load_str(
        "{\"added_tokens\":[{\"id\":6,\"content\":\"<s>\",\"special\":true},"
        "{\"id\":7,\"content\":\"<s>x\",\"special\":true},"
        "{\"id\":8,\"content\":\"M\",\"lstrip\":true,\"rstrip\":true,\"special\":false,"
        "\"normalized\":false},"
        "{\"id\":9,\"content\":\"zz\",\"single_word\":true,\"special\":false,\"normalized\":false}]"
        ","
        "\"pre_tokenizer\":{\"type\":\"WhitespaceSplit\"},"
        "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"?\",\"vocab\":{\"?\":0,\"a\":1,\"w\":2,"
        "\"##w\":3,\"b\":4,\"x\":5}}}");
    REQUIRE(t);
    ENCODE_IS(t, "a<s>xb", false, 1, 7, 4); /* the longer token wins */
    ENCODE_IS(t, "a<s>b", false, 1, 6, 4);
    ENCODE_IS(t, "a   M   b", false, 1, 8, 4);
    ENCODE_IS(t, "a zz b", false, 1, 9, 4); /* a single word */
    ENCODE_IS(t, "azz", false, 0);          /* inside a word: not the added token */
    ENCODE_IS(t, "w", false, 2);            /* a model token keeps its model id */
    struct buf out;
    buf_init(&out, 0);
    static const uint32_t ids[] = {1, 6, 4};
    CHECK(tok_decode(t, ids, 3, true, &out) == 0);
    CHECK_STR(out.p, "a b"); /* WordPiece has no decoder here: tokens joined by spaces */
    buf_reset(&out);
    CHECK(tok_decode(t, ids, 3, false, &out) == 0);
    CHECK_STR(out.p, "a <s> b");
    buf_free(&out);
    CHECK(tok_is_special(t, 6));
    CHECK(!tok_is_special(t, 8));
    CHECK_INT(tok_vocab_size(t), 10);
    tok_free(t);
}

/* The loaded tokenizer keeps compact tables, not the parse tree: under 3x the file for a
 * vocabulary of 300k tokens and 150k merges (Llama-3's file is 128k tokens and 280k
 * merges in 9 MB; tests/tok and bench/tokenize.sh measure real-sized files). */
TEST(tok_memory_under_3x_file)
{
    struct buf j;
    buf_init(&j, 0);
    buf_puts(&j, "{\"model\":{\"type\":\"BPE\",\"vocab\":{");
    const int n = 100000;
    for (int i = 0; i < n; i++)
        buf_printf(&j, "%s\"l%d\":%d,\"r%d\":%d,\"l%dr%d\":%d", i ? "," : "", i, 3 * i, i,
                   3 * i + 1, i, i, 3 * i + 2);
    buf_puts(&j, "},\"merges\":[");
    for (int i = 0; i < n; i++)
        buf_printf(&j, "%s\"l%d r%d\"", i ? "," : "", i, i);
    buf_puts(&j, "]}}");
    struct tok *t = NULL;
    struct diag d;
    REQUIRE(tok_load_mem(j.p, j.len, "big.json", &t, &d) == 0);
    if (tok_memory(t) >= 3 * j.len)
        test_fail(__FILE__, __LINE__, "memory %zu for a %zu-byte file", tok_memory(t), j.len);
    CHECK_INT(tok_vocab_size(t), 3 * n);
    tok_free(t);
    buf_free(&j);
}
