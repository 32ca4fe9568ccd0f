/*
 * tok_regex: match spans of the patterns real tokenizer.json files ship, on tricky inputs,
 * plus the dialect's edges and its compile errors. Spans are byte offsets. Each table row
 * lists every match of a find-all loop (as the Split pre-tokenizer iterates), so a wrong
 * boundary anywhere shows. tests/e2e/test_tok_regex_diff.sh compares against the PyPI
 * `tokenizers` package itself on a multilingual corpus.
 */
#include "err.h"
#include "test.h"
#include "tok_regex.h"

#include <stdlib.h>
#include <string.h>

#define GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define CL100K                                                                                     \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "                     \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define O200K                                                                                      \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?"  \
    "i:'s|'t|'re|'ve|'m|'ll|'d)?|"                                                                 \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?"  \
    "i:'s|'t|'re|'ve|'m|'ll|'d)?|"                                                                 \
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* All matches of pattern in text, as "a-b a-b ...". */
static void spans(const char *pat, const char *text, char *out, size_t cap)
{
    struct tok_re *re;
    char err[256];
    out[0] = 0;
    int rc = tok_re_compile(pat, strlen(pat), 0, &re, err, sizeof err);
    if (rc) {
        snprintf(out, cap, "error: %s", err);
        return;
    }
    size_t n = strlen(text), pos = 0, len = 0;
    while (pos <= n) {
        size_t ms, me;
        int r = tok_re_find(re, text, n, pos, &ms, &me);
        if (r != 1)
            break;
        len += (size_t)snprintf(out + len, cap - len, "%s%zu-%zu", len ? " " : "", ms, me);
        if (me == ms) {
            if (me == n)
                break;
            pos = me + 1;
            while (pos < n && ((unsigned char)text[pos] & 0xC0) == 0x80)
                pos++;
        } else {
            pos = me;
        }
    }
    tok_re_free(re);
}

struct row {
    const char *pat, *text, *want;
};

static const struct row rows[] = {
    /* GPT-2: contractions, letters with optional leading space, whitespace before words. */
    {GPT2, "Hello world", "0-5 5-11"},
    {GPT2, "I'm here", "0-1 1-3 3-8"},
    {GPT2, "don't", "0-3 3-5"},
    {GPT2, "DON'T", "0-3 3-4 4-5"}, /* case-sensitive: 'T is not a contraction */
    {GPT2, "a   b", "0-1 1-3 3-5"}, /* \s+(?!\S) leaves one space for " b" */
    {GPT2, "a   ", "0-1 1-4"},
    {GPT2, "x\r\n\r\ny", "0-1 1-4 4-5 5-6"}, /* \s+(?!\S) gives back the last \n */
    {GPT2, "abc 123 4567", "0-3 3-7 7-12"},
    {GPT2, "hi!!! ok?", "0-2 2-5 5-8 8-9"},
    {GPT2, "caf\xc3\xa9 na\xc3\xafve", "0-5 5-12"},
    /* Combining mark U+0301 is \p{M}, not \p{L}: it ends the letter run. */
    {GPT2, "e\xcc\x81t\xc3\xa9", "0-1 1-3 3-6"},
    /* CJK and emoji (So): letters run, emoji is "other". */
    {GPT2, "\xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80!", "0-6 6-12"},
    /* cl100k / Llama-3. */
    {CL100K, "I'M here", "0-1 1-3 3-8"},
    {CL100K, "12345678", "0-3 3-6 6-8"},
    {CL100K, "hello\n\nworld", "0-5 5-7 7-12"},
    {CL100K, "x  \n  y", "0-1 1-4 4-5 5-7"},
    {CL100K, "foo();\r\nbar", "0-3 3-8 8-11"},
    {CL100K, "$hello", "0-6"},
    {CL100K, "a ?!\n\nb", "0-1 1-6 6-7"},
    /* o200k: case-aware word pieces. */
    {O200K, "HelloWorld", "0-5 5-10"},
    {O200K, "HTTPServer", "0-10"},
    {O200K, "they're", "0-7"},
    {O200K, "a/b//\nc", "0-1 1-3 3-6 6-7"},
    /* Dialect edges. */
    {"a{2,3}", "aaaaaaa", "0-3 3-6"},
    {"a{2,3}?", "aaaaa", "0-2 2-4"},
    {"a+?b", "aaab", "0-4"},
    {"a*+a", "aaaa", ""},
    {"(?:ab)+", "ababab ab", "0-6 7-9"},
    {"(?i)hello", "HeLLo hello", "0-5 6-11"},
    {"a(?i)b|c", "aB C ab", "0-2 5-7"},     /* (?i) runs to the group end: a(?i:b|c) */
    {"(?i:'s)", "'S '\xc5\xbf", "0-2 3-6"}, /* U+017F LONG S folds to s */
    {"^ab|cd$", "ab\nab cd\ncd", "0-2 3-5 6-8 9-11"},
    {"\\Aab", "abab", "0-2"},
    {"ab\\z", "abab", "2-4"},
    {"x(?=y)", "xz xy", "3-4"},
    {"x(?!y)", "xy xz", "3-4"},
    {"\\d+", "12\xd9\xa3\xd9\xa4 x", "0-6"}, /* Arabic-Indic digits are Nd */
    {"\\w+", "foo_bar \xc3\xa9t\xc3\xa9", "0-7 8-13"},
    {"[^\\w\\s]+", "a,.b  ;", "1-3 6-7"},
    {"[\xe4\xb8\x80-\xe9\xbe\xa5]+",
     "ab\xe4\xb8\xad\xe6\x96\x87"
     "cd",
     "2-8"},
    {"\\x{4e2d}|\\u6587", "\xe4\xb8\xad\xe6\x96\x87", "0-3 3-6"},
    {"(a|ab)(c|bcd)", "abcd", "0-4"},
    {"(a*)*b", "aaab", "0-4"},
    {"(a?)*?c", "aac", "0-3"},
    {"[a-c-]+", "a-b-d", "0-4"},
    {"[]a]+", "]a]", "0-3"},
    {"\\bfoo\\b", "foo foobar", "0-3"},
    {".+", "ab\ncd", "0-2 3-5"},
    {"", "ab", "0-0 1-1 2-2"},
    /* DeepSeek / Qwen2 pieces. */
    {"[\\p{P}\\p{S}]+|\\s+", "a, b!! $5", "1-2 2-3 4-6 6-7 7-8"},
    {"\\p{N}", "a12\xd9\xa3", "1-2 2-3 3-5"},
    {"\\h+|\\H", "0aFgz", "0-3 3-4 4-5"},
    {"(?i)[a-c]+", "xAbCdx", "1-4"},
    {"(?i)\\p{Lu}+", "ABcD", "0-4"}, /* (?i) widens a case class to its case variants */
    /* A bare \\w takes superscript two from Oniguruma's Latin-1 table; [\\w] does not. */
    {"\\w+",
     "a\xc2\xb2"
     "b",
     "0-4"},
    {"[\\w]+",
     "a\xc2\xb2"
     "b",
     "0-1 3-4"},
};

TEST(regex_spans_table)
{
    char got[1024];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        spans(rows[i].pat, rows[i].text, got, sizeof got);
        if (strcmp(got, rows[i].want))
            test_fail(__FILE__, __LINE__, "row %zu /%s/ on \"%s\": got \"%s\", want \"%s\"", i,
                      rows[i].pat, rows[i].text, got, rows[i].want);
    }
}

TEST(regex_compile_errors)
{
    static const struct {
        const char *pat, *want;
    } bad[] = {
        {"(?<=a)b", "unsupported lookbehind (?<= at offset 2"},
        {"a)", "unmatched ) at offset 1"},
        {"(ab", "missing ) at offset 3"},
        {"[ab", "unterminated character class at offset 3"},
        {"*a", "target of repeat operator is not specified at offset 1"},
        {"\\p{Greek}", "unsupported property \\p{Greek} (general categories only) at offset 9"},
        {"a{3,2}", "repeat range {3,2} is backwards at offset 1"},
        {"\\1", "unsupported escape \\1 at offset 1"},
        {"[[:alpha:]]", "unsupported POSIX bracket [:...:] at offset 1"},
        {"(?m)a", "unsupported group option (?m at offset 2"},
        {"[z-a]", "empty range in character class at offset 4"},
        {"a{100001}", "repeat count larger than 100000 at offset 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tok_re *re = NULL;
        char err[256];
        int rc = tok_re_compile(bad[i].pat, strlen(bad[i].pat), 0, &re, err, sizeof err);
        CHECK(rc < 0);
        CHECK(re == NULL);
        if (strcmp(err, bad[i].want))
            test_fail(__FILE__, __LINE__, "/%s/: got \"%s\", want \"%s\"", bad[i].pat, err,
                      bad[i].want);
    }
}

TEST(regex_literal_and_limits)
{
    struct tok_re *re;
    char err[128];
    REQUIRE(tok_re_compile("a.b", 3, TOK_RE_LITERAL, &re, err, sizeof err) == 0);
    size_t ms, me;
    CHECK_INT(tok_re_find(re, "axb a.b", 7, 0, &ms, &me), 1);
    CHECK_INT(ms, 4);
    CHECK_INT(me, 7);
    CHECK_INT(tok_re_find(re, "axb a.b", 7, 5, &ms, &me), 0);
    tok_re_free(re);
    /* Searching from the middle: anchors and lookaheads see the whole text. */
    REQUIRE(tok_re_compile("^b(?!c)", 7, 0, &re, err, sizeof err) == 0);
    CHECK_INT(tok_re_find(re, "ab\nbc b\nbd", 10, 1, &ms, &me), 1);
    CHECK_INT(ms, 8); /* not 3 (followed by c), not 6 (not after a newline) */
    CHECK_INT(me, 9);
    tok_re_free(re);
    /* Catastrophic backtracking gives up with an error instead of hanging. */
    REQUIRE(tok_re_compile("(a|a)*b", 7, 0, &re, err, sizeof err) == 0);
    char text[64];
    memset(text, 'a', 40);
    text[40] = 'c';
    CHECK_INT(tok_re_find(re, text, 41, 0, &ms, &me), ERR_TOO_LARGE);
    tok_re_free(re);
    /* A whitespace run far longer than the on-stack backtrack room. */
    REQUIRE(tok_re_compile("\\s+(?!\\S)|\\s+", 13, 0, &re, err, sizeof err) == 0);
    size_t big = 100000;
    char *sp = malloc(big + 1);
    REQUIRE(sp);
    memset(sp, ' ', big);
    sp[big] = 'x';
    CHECK_INT(tok_re_find(re, sp, big + 1, 0, &ms, &me), 1);
    CHECK_INT(ms, 0);
    CHECK_INT(me, big - 1);
    free(sp);
    tok_re_free(re);
}

/* ---- differential test against tokenizers (Oniguruma) ----------------------------------
 * tests/e2e/test_tok_diff.sh generates $TOK_DIFF_DIR/regex.jsonl with tests/tok/diff_gen.py
 * (the PyPI tokenizers package's Split pre-tokenizer) and runs this test; without the
 * variable it has nothing to compare and says so. */

static char *slurp_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)sz + 1);
    if (p && fread(p, 1, (size_t)sz, f) != (size_t)sz) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p)
        p[sz] = 0;
    *n = (size_t)sz;
    return p;
}

#include "cJSON.h"

#include <time.h>

/* CPU time of this thread: stable on a loaded machine, where wall time is not. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(regex_differential_tokenizers)
{
    const char *dir = getenv("TOK_DIFF_DIR");
    if (!dir) {
        printf("  (regex_differential_tokenizers: TOK_DIFF_DIR not set; run "
               "tests/e2e/test_tok_diff.sh)\n");
        return;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/regex.jsonl", dir);
    size_t n;
    char *data = slurp_file(path, &n);
    REQUIRE(data);
    char *end = data + n, *line = data;
    char *nl = memchr(line, '\n', n);
    REQUIRE(nl);
    *nl = 0;
    cJSON *hdr = cJSON_Parse(line);
    REQUIRE(hdr);
    cJSON *pats = cJSON_GetObjectItem(hdr, "patterns");
    int np = cJSON_GetArraySize(pats);
    struct tok_re **res = calloc((size_t)np, sizeof *res);
    REQUIRE(res);
    for (int i = 0; i < np; i++) {
        const char *p = cJSON_GetArrayItem(pats, i)->valuestring;
        char err[256];
        if (tok_re_compile(p, strlen(p), 0, &res[i], err, sizeof err))
            test_fail(__FILE__, __LINE__, "pattern %d: %s", i, err);
    }
    long lines = 0, bad = 0;
    /* Per pattern: the texts, to time afterwards. */
    double bytes[64] = {0}, secs[64] = {0};
    for (line = nl + 1; line < end; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl)
            nl = end;
        *nl = 0;
        cJSON *row = cJSON_Parse(line);
        if (!row)
            continue;
        int pi = cJSON_GetArrayItem(row, 0)->valueint;
        const char *text = cJSON_GetArrayItem(row, 1)->valuestring;
        cJSON *want = cJSON_GetArrayItem(row, 2);
        size_t tn = strlen(text);
        lines++;
        if (pi < 0 || pi >= np || !res[pi]) {
            cJSON_Delete(row);
            continue;
        }
        /* All matches, as the Split pre-tokenizer iterates them. */
        size_t got[4096];
        int ng = 0;
        size_t pos = 0;
        double t0 = now_s();
        while (pos < tn && ng < 4094) {
            size_t ms, me;
            if (tok_re_find(res[pi], text, tn, pos, &ms, &me) != 1)
                break;
            if (me > ms) {
                got[ng++] = ms;
                got[ng++] = me;
                pos = me;
            } else {
                pos = ms + 1;
                while (pos < tn && ((unsigned char)text[pos] & 0xC0) == 0x80)
                    pos++;
            }
        }
        secs[pi & 63] += now_s() - t0;
        bytes[pi & 63] += (double)tn;
        int nw = cJSON_GetArraySize(want);
        bool same = nw == ng;
        for (int k = 0; same && k < ng; k++)
            same = (size_t)cJSON_GetArrayItem(want, k)->valuedouble == got[k];
        if (!same && bad++ < 12) {
            char g[512] = "", w[512] = "";
            size_t gl = 0, wl = 0;
            for (int k = 0; k < ng && gl < 400; k += 2)
                gl += (size_t)snprintf(g + gl, sizeof g - gl, " %zu-%zu", got[k], got[k + 1]);
            for (int k = 0; k + 1 < nw && wl < 400; k += 2)
                wl += (size_t)snprintf(w + wl, sizeof w - wl, " %d-%d",
                                       cJSON_GetArrayItem(want, k)->valueint,
                                       cJSON_GetArrayItem(want, k + 1)->valueint);
            test_fail(__FILE__, __LINE__, "pattern %d on \"%s\":\n   got %s\n  want %s", pi, text,
                      g, w);
        }
        cJSON_Delete(row);
    }
    printf("  regex differential: %ld lines, %ld mismatches\n", lines, bad);
    for (int i = 0; i < np && i < 64; i++)
        if (secs[i] > 0)
            printf("  pattern %d: %.1f MB/s over %.0f bytes\n", i, bytes[i] / secs[i] / 1e6,
                   bytes[i]);
    CHECK(lines > 1000);
    CHECK_INT(bad, 0);
    for (int i = 0; i < np; i++)
        tok_re_free(res[i]);
    free(res);
    cJSON_Delete(hdr);
    free(data);
}

/* Throughput on a corpus (one text per line), for docs/tokenizers.md; runs only when
 * TOK_BENCH names the file (tests/tok/bench_regex.sh sets it and times tokenizers too). */
TEST(regex_bench)
{
    const char *file = getenv("TOK_BENCH");
    if (!file) {
        printf("  (regex_bench: TOK_BENCH not set; run tests/tok/bench_regex.sh)\n");
        return;
    }
    size_t n;
    char *data = slurp_file(file, &n);
    REQUIRE(data);
    static const struct {
        const char *name, *pat;
    } pats[] = {{"gpt2", GPT2}, {"cl100k", CL100K}, {"o200k", O200K}};
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        struct tok_re *re;
        char err[256];
        double c0 = now_s();
        REQUIRE(tok_re_compile(pats[i].pat, strlen(pats[i].pat), 0, &re, err, sizeof err) == 0);
        double compile_ms = (now_s() - c0) * 1e3;
        double best = 1e9;
        size_t matches = 0;
        for (int rep = 0; rep < 5; rep++) {
            double t0 = now_s();
            matches = 0;
            for (const char *line = data, *end = data + n; line < end;) {
                const char *nl = memchr(line, '\n', (size_t)(end - line));
                size_t len = (size_t)((nl ? nl : end) - line);
                size_t pos = 0, ms, me;
                while (pos < len && tok_re_find(re, line, len, pos, &ms, &me) == 1 && me > ms) {
                    pos = me;
                    matches++;
                }
                line += len + 1;
            }
            double dt = now_s() - t0;
            best = dt < best ? dt : best;
        }
        printf("  regex_bench %s: %.1f MB/s (%zu bytes, %zu matches, best of 5, thread CPU time; "
               "compiled in %.2f ms)\n",
               pats[i].name, (double)n / best / 1e6, n, matches, compile_ms);
        tok_re_free(re);
    }
    free(data);
}
