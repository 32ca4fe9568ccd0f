/*
 * ucd: property lookups against known code points, and the normalization forms against
 * every line of the UCD's own NormalizationTest.txt (vendor/src/ucd, the pinned version the
 * tables come from): for each line c1;c2;c3;c4;c5 the UAX #15 conformance invariants
 * c2 == NFC(c1..c3), c4 == NFC(c4..c5), c3 == NFD(c1..c3), c5 == NFD(c4..c5),
 * c4 == NFKC(c1..c5), c5 == NFKD(c1..c5).
 */
#include "buf.h"
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
