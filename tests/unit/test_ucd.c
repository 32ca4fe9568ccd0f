/*
 * ucd: property lookups against known code points, and the normalization forms against
 * every line of the UCD's own NormalizationTest.txt (vendor/src/ucd, the pinned version the
 * tables come from): for each line c1;c2;c3;c4;c5 the UAX #15 conformance invariants
 * c2 == NFC(c1..c3), c4 == NFC(c4..c5), c3 == NFD(c1..c3), c5 == NFD(c4..c5),
 * c4 == NFKC(c1..c5), c5 == NFKD(c1..c5).
 */
#include "buf.h"
#include "err.h"
#include "test.h"
#include "ucd.h"

#include <stdlib.h>
#include <string.h>

TEST(ucd_properties)
{
    CHECK(ucd_gc('A') == UCD_Lu);
    CHECK(ucd_gc('a') == UCD_Ll);
    CHECK(ucd_gc('5') == UCD_Nd);
    CHECK(ucd_gc(' ') == UCD_Zs);
    CHECK(ucd_gc(0x01C5) == UCD_Lt); /* Dž */
    CHECK(ucd_gc(0x02B0) == UCD_Lm); /* modifier h */
    CHECK(ucd_gc(0x4E2D) == UCD_Lo); /* CJK, inside a First/Last range */
    CHECK(ucd_gc(0x0301) == UCD_Mn);
    CHECK(ucd_gc(0x0903) == UCD_Mc);
    CHECK(ucd_gc(0x20DD) == UCD_Me);
    CHECK(ucd_gc(0x2167) == UCD_Nl); /* Roman numeral eight */
    CHECK(ucd_gc(0x00B2) == UCD_No);
    CHECK(ucd_gc(0x1F600) == UCD_So); /* emoji */
    CHECK(ucd_gc(0xAC01) == UCD_Lo);  /* Hangul syllable range */
    CHECK(ucd_gc(0xE000) == UCD_Co);
    CHECK(ucd_gc(0xD800) == UCD_Cs);
    CHECK(ucd_gc(0x0378) == UCD_Cn);
    CHECK(ucd_gc(0x110000) == UCD_Cn);
    CHECK(ucd_gc(0x2EBF0) == UCD_Lo); /* CJK Ext. I, new in 15.1 */
    CHECK(ucd_white_space(0x85) && ucd_white_space(0x3000) && ucd_white_space('\t'));
    CHECK(!ucd_white_space(0x200B) && !ucd_white_space(0x1C));
    CHECK_INT(ucd_ccc(0x0301), 230);
    CHECK_INT(ucd_ccc(0x0316), 220);
    CHECK_INT(ucd_ccc('a'), 0);
    uint32_t l[3];
    CHECK_INT(ucd_to_lower(0x0130, l), 2); /* İ -> i + combining dot above */
    CHECK(l[0] == 'i' && l[1] == 0x0307);
    CHECK_INT(ucd_to_lower(0x03A3, l), 1); /* Σ -> σ, never the final form */
    CHECK(l[0] == 0x03C3);
    CHECK_INT(ucd_to_lower(0x1E9E, l), 1); /* ẞ -> ß */
    CHECK(l[0] == 0xDF);
    CHECK_INT(ucd_to_lower(0x1F88, l), 1); /* ᾈ -> ᾀ (simple mapping; title case entry) */
    CHECK(l[0] == 0x1F80);
    CHECK(ucd_fold(0x017F) == 's' && ucd_fold('K') == 'k' && ucd_fold(0x212A) == 'k');
    /* k, K and KELVIN SIGN form one orbit. */
    uint32_t x = 'k';
    int orbit = 0;
    do {
        x = ucd_fold_next(x);
        orbit++;
    } while (x != 'k' && orbit < 10);
    CHECK_INT(orbit, 3);
    uint32_t d[UCD_DECOMP_MAX];
    CHECK_INT(ucd_decompose(0x00E9, false, d), 2);
    CHECK(d[0] == 'e' && d[1] == 0x0301);
    CHECK_INT(ucd_decompose(0xFB01, false, d), 0); /* ﬁ: compatibility only */
    CHECK_INT(ucd_decompose(0xFB01, true, d), 2);
    CHECK_INT(ucd_decompose(0xFDFA, true, d), 18); /* the longest decomposition */
    CHECK_INT(ucd_decompose(0xD4DB, false, d), 3); /* Hangul LVT */
    CHECK(ucd_compose('e', 0x0301) == 0x00E9);
    CHECK(ucd_compose(0x1100, 0x1161) == 0xAC00);
    CHECK(ucd_compose(0x0915, 0x093C) == 0); /* U+0958 is a composition exclusion */
    CHECK(strncmp(ucd_version, "15.1", 4) == 0);
}

static char *slurp(const char *path, size_t *n)
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

/* "0044 0307" -> UTF-8 appended to b. */
static void field_utf8(const char *s, const char *end, struct buf *b)
{
    buf_reset(b);
    while (s < end) {
        char *e;
        unsigned long v = strtoul(s, &e, 16);
        if (e == s)
            break;
        char u[4];
        buf_append(b, u, ucd_utf8_encode((uint32_t)v, u));
        s = e;
        while (s < end && *s == ' ')
            s++;
    }
}

TEST(ucd_normalization_test_txt)
{
    size_t n;
    char *t = slurp("vendor/src/ucd/NormalizationTest.txt", &n);
    REQUIRE(t);
    struct buf c[5], got;
    for (int k = 0; k < 5; k++)
        buf_init(&c[k], 0);
    buf_init(&got, 0);
    static const enum ucd_nf forms[4] = {UCD_NFC, UCD_NFD, UCD_NFKC, UCD_NFKD};
    /* want[form][source column] = expected column, per NormalizationTest.txt's header. */
    static const int want[4][5] = {
        {1, 1, 1, 3, 3}, {2, 2, 2, 4, 4}, {3, 3, 3, 3, 3}, {4, 4, 4, 4, 4}};
    long lines = 0, failures = 0;
    const char *tend = t + n;
    for (char *line = t; line && line < tend;) {
        /* memchr, not strchr: Zig's libc strchr measures the whole rest of the string. */
        char *nl = memchr(line, '\n', (size_t)(tend - line));
        char *end = nl ? nl : t + n;
        if (*line != '#' && *line != '@' && end > line) {
            const char *f = line;
            int k = 0;
            for (; k < 5; k++) {
                const char *semi = memchr(f, ';', (size_t)(end - f));
                if (!semi)
                    break;
                field_utf8(f, semi, &c[k]);
                f = semi + 1;
            }
            if (k == 5) {
                lines++;
                for (int fm = 0; fm < 4; fm++)
                    for (int src = 0; src < 5; src++) {
                        buf_reset(&got);
                        ucd_normalize(forms[fm], c[src].p, c[src].len, &got);
                        const struct buf *w = &c[want[fm][src]];
                        if (got.len != w->len || memcmp(got.p, w->p, got.len)) {
                            if (failures++ < 5)
                                test_fail(__FILE__, __LINE__, "form %d of column %d: line \"%.*s\"",
                                          fm, src + 1, (int)(end - line), line);
                        }
                    }
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    CHECK(lines > 19000);
    CHECK_INT(failures, 0);
    for (int k = 0; k < 5; k++)
        buf_free(&c[k]);
    buf_free(&got);
    free(t);
}

/* ---- differential test against tokenizers' normalizers ----------------------------------
 * tests/e2e/test_tok_diff.sh writes $TOK_DIFF_DIR/norm.jsonl with tests/tok/diff_gen.py:
 * [form, text, tokenizers' normalize_str(text)] over every assigned code point (in context)
 * and every column of NormalizationTest.txt. */
#include "cJSON.h"

TEST(ucd_differential_tokenizers)
{
    const char *dir = getenv("TOK_DIFF_DIR");
    if (!dir) {
        printf("  (ucd_differential_tokenizers: TOK_DIFF_DIR not set; run "
               "tests/e2e/test_tok_diff.sh)\n");
        return;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/norm.jsonl", dir);
    size_t n;
    char *data = slurp(path, &n);
    REQUIRE(data);
    struct buf got;
    buf_init(&got, 0);
    long lines = 0, bad = 0;
    char *end = data + n;
    for (char *line = data; line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl)
            nl = end;
        *nl = 0;
        cJSON *row = cJSON_Parse(line);
        line = nl + 1;
        if (!row)
            continue;
        const char *form = cJSON_GetArrayItem(row, 0)->valuestring;
        const char *text = cJSON_GetArrayItem(row, 1)->valuestring;
        const char *want = cJSON_GetArrayItem(row, 2)->valuestring;
        buf_reset(&got);
        if (!strcmp(form, "Lowercase"))
            ucd_lowercase(text, strlen(text), &got);
        else
            ucd_normalize_upto(!strcmp(form, "NFC")    ? UCD_NFC
                               : !strcmp(form, "NFD")  ? UCD_NFD
                               : !strcmp(form, "NFKC") ? UCD_NFKC
                                                       : UCD_NFKD,
                               UCD_NF_TOKENIZERS, text, strlen(text), &got);
        lines++;
        if (got.len != strlen(want) || memcmp(got.p ? got.p : "", want, got.len)) {
            if (bad++ < 10) {
                /* The first differing code point, to name it. */
                size_t k = 0;
                while (k < got.len && got.p[k] == want[k])
                    k++;
                while (k > 0 && ((unsigned char)want[k] & 0xC0) == 0x80)
                    k--;
                uint32_t a = 0, b = 0;
                if (k < got.len)
                    ucd_utf8_decode(got.p + k, got.len - k, &a);
                if (want[k])
                    ucd_utf8_decode(want + k, strlen(want + k), &b);
                test_fail(__FILE__, __LINE__,
                          "%s: byte %zu: got U+%04X, want U+%04X (input %zu bytes)", form, k, a, b,
                          strlen(text));
            }
        }
        cJSON_Delete(row);
    }
    printf("  normalizer differential: %ld lines, %ld mismatches\n", lines, bad);
    CHECK(lines > 100000);
    CHECK_INT(bad, 0);
    buf_free(&got);
    free(data);
}

static void norm_eq(enum ucd_nf f, unsigned upto, const char *in, const char *want, int line)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = ucd_normalize_upto(f, upto, in, strlen(in), &b);
    if (rc || b.len != strlen(want) || memcmp(b.p, want, b.len))
        test_fail(__FILE__, line, "form %d of \"%s\": rc %d, got \"%.*s\", want \"%s\"", f, in, rc,
                  (int)b.len, b.p ? b.p : "", want);
    buf_free(&b);
}

TEST(ucd_normalize_cases)
{
    /* ASCII runs around composable pairs (the fast path must hand 'e' to the slow path). */
    norm_eq(UCD_NFC, UCD_NF_LATEST, "cafe\xcc\x81 ok", "caf\xc3\xa9 ok", __LINE__);
    norm_eq(UCD_NFD, UCD_NF_LATEST, "caf\xc3\xa9", "cafe\xcc\x81", __LINE__);
    norm_eq(UCD_NFC, UCD_NF_LATEST, "", "", __LINE__);
    norm_eq(UCD_NFC, UCD_NF_LATEST, "e", "e", __LINE__);
    /* Reordering: U+0301 (230) after U+0316 (220); a blocked composition stays apart. */
    norm_eq(UCD_NFD, UCD_NF_LATEST, "a\xcc\x81\xcc\x96", "a\xcc\x96\xcc\x81", __LINE__);
    norm_eq(UCD_NFC, UCD_NF_LATEST, "a\xcc\x96\xcc\x81", "\xc3\xa1\xcc\x96", __LINE__);
    /* Hangul: L V T composes to one syllable; NFD splits it back. */
    norm_eq(UCD_NFC, UCD_NF_LATEST, "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", "\xed\x95\x9c",
            __LINE__);
    norm_eq(UCD_NFD, UCD_NF_LATEST, "\xed\x95\x9c", "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab",
            __LINE__);
    /* Compatibility: ﬁ -> fi, ① -> 1, ｆ -> f; NFC keeps them. */
    norm_eq(UCD_NFKC, UCD_NF_LATEST, "\xef\xac\x81\xe2\x91\xa0\xef\xbd\x86", "fi1f", __LINE__);
    norm_eq(UCD_NFC, UCD_NF_LATEST, "\xef\xac\x81", "\xef\xac\x81", __LINE__);
    /* Composition exclusion: U+0958 decomposes and never recomposes. */
    norm_eq(UCD_NFC, UCD_NF_LATEST, "\xe0\xa5\x98", "\xe0\xa4\x95\xe0\xa4\xbc", __LINE__);
    /* U+0898 (Unicode 14.0, ccc 230) reorders with the latest data, not with tokenizers'
     * Unicode 9.0 data, where it is an unassigned starter. */
    norm_eq(UCD_NFD, UCD_NF_LATEST, "a\xe0\xa2\x98\xcc\x96", "a\xcc\x96\xe0\xa2\x98", __LINE__);
    norm_eq(UCD_NFD, UCD_NF_TOKENIZERS, "a\xe0\xa2\x98\xcc\x96", "a\xe0\xa2\x98\xcc\x96", __LINE__);
    /* Invalid UTF-8 reads as U+FFFD, one per byte, and nothing past the end. */
    norm_eq(UCD_NFC, UCD_NF_LATEST, "a\xff\xc3", "a\xef\xbf\xbd\xef\xbf\xbd", __LINE__);
    /* A run of marks longer than the on-stack segment (128) goes to the heap. */
    char many[2 + 300 * 2 + 1], want[2 + 300 * 2 + 1];
    many[0] = want[0] = 'a';
    for (int i = 0; i < 300; i++) {
        /* alternate 230 and 220: NFD puts every 220 first */
        memcpy(many + 1 + 2 * i, i % 2 ? "\xcc\x96" : "\xcc\x81", 2);
        memcpy(want + 1 + 2 * i, i < 150 ? "\xcc\x96" : "\xcc\x81", 2);
    }
    many[601] = want[601] = 0;
    norm_eq(UCD_NFD, UCD_NF_LATEST, many, want, __LINE__);
    /* The output buffer's cap is an error, not an overflow. */
    struct buf small;
    buf_init(&small, 4);
    CHECK_INT(ucd_normalize(UCD_NFKD, "\xef\xb7\xba", 3, &small), ERR_TOO_LARGE);
    buf_free(&small);
}

TEST(ucd_lowercase_cases)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"HeLLo", "hello"},
        {"\xc4\xb0", "i\xcc\x87"},                /* İ: SpecialCasing, two code points */
        {"\xce\xa3\xce\xa3", "\xcf\x83\xcf\x83"}, /* ΣΣ: no final sigma */
        {"\xe1\xba\x9e", "\xc3\x9f"},             /* ẞ */
        {"\xe2\x84\xaa", "k"},                    /* KELVIN SIGN */
        {"\xc7\x85", "\xc7\x86"},                 /* ǅ (titlecase) */
        {"\xf0\x90\x90\x80", "\xf0\x90\x90\xa8"}, /* Deseret, supplementary */
        {"\xe4\xb8\xad 1", "\xe4\xb8\xad 1"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct buf b;
        buf_init(&b, 0);
        CHECK_INT(ucd_lowercase(rows[i].in, strlen(rows[i].in), &b), 0);
        if (b.len != strlen(rows[i].want) || memcmp(b.p, rows[i].want, b.len))
            test_fail(__FILE__, __LINE__, "row %zu: got \"%.*s\"", i, (int)b.len, b.p ? b.p : "");
        buf_free(&b);
    }
}
