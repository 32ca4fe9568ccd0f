#include "err.h"
#include "jscan.h"
#include "test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const valid[] = {
    "{}",
    " {\"a\":1} ",
    "{\"timestamp\":0,\"input_length\":1200,\"output_length\":80,\"hash_ids\":[501,502,503]}",
    ("{\"s\":\"x\\\"y\\\\z\\/"
     "\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\",\"n\":null,\"t\":true,\"f\":false}"),
    "{\"nested\":{\"a\":[1,[2,[3]],{\"b\":{}}]},\"e\":-1.5e+3,\"z\":0}",
    "{\"k\" : [ ] , \"m\" :\t{ } }",
};

static const char *const invalid[] = {
    "",
    "{",
    "{\"a\"}",
    "{\"a\":}",
    "{\"a\":1,}",
    "{a:1}",
    "{\"a\":01}",
    "{\"a\":1.}",
    "{\"a\":-}",
    "{\"a\":1e}",
    "{\"a\":tru}",
    "{\"a\":\"x}",
    "{\"a\":\"\\x\"}",
    "{\"a\":\"\\u12g4\"}",
    "{\"a\":[1,]}",
    "{\"a\":[1 2]}",
    "{} x",
    "[1]",
    "{\"a\":\"\x01\"}",
    "{\"a\":1}}",
    "{\"a\":{\"b\":1}",
    "{\"a\" 1}",
};

static int walk(const char *s, size_t n)
{
    struct jiter it;
    struct jval k, v;
    int rc = jscan_object(&it, s, n);
    if (rc)
        return rc;
    while ((rc = jscan_member(&it, &k, &v)) == 1) {
        if (v.type == JT_OBJECT || v.type == JT_ARRAY) {
            struct jiter sub;
            struct jval e;
            int r2;
            CHECK_INT(jscan_enter(&sub, &v), 0);
            if (v.type == JT_ARRAY)
                while ((r2 = jscan_elem(&sub, &e)) == 1)
                    ;
            else
                while ((r2 = jscan_member(&sub, &k, &e)) == 1)
                    ;
            CHECK_INT(r2, 0);
        }
    }
    return rc;
}

TEST(trace_jscan_valid_and_every_prefix)
{
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        size_t n = strlen(valid[i]);
        char *g = test_guard_copy(valid[i], n);
        CHECK_INT(walk(g, n), 0);
        /* Every strict prefix that cuts the object short must fail, never over-read. */
        for (size_t cut = 0; cut < n; cut++) {
            char *p = test_guard_copy(valid[i], cut);
            int rc = walk(p, cut);
            /* Cutting only trailing whitespace still leaves a valid object. */
            const char *rest = valid[i] + cut;
            bool only_ws = strspn(rest, " \t") == strlen(rest);
            if (!only_ws && rc == 0)
                test_fail(__FILE__, __LINE__, "prefix %zu of case %zu accepted", cut, i);
            test_guard_free(p, cut);
        }
        test_guard_free(g, n);
    }
}

TEST(trace_jscan_invalid)
{
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        size_t n = strlen(invalid[i]);
        char *g = test_guard_copy(invalid[i], n);
        int rc = walk(g, n);
        if (rc >= 0)
            test_fail(__FILE__, __LINE__, "accepted invalid case %zu: %s", i, invalid[i]);
        test_guard_free(g, n);
    }
}

TEST(trace_jscan_values)
{
    const char *s = "{\"i\":-42,\"big\":9223372036854775807,\"f\":1000.0,\"x\":1.5,\"s\":"
                    "\"a\\u00e9\\ud83d\\ude00\\n\","
                    "\"over\":9223372036854775808,\"e\":1e3}";
    struct jiter it;
    struct jval k, v;
    REQUIRE(jscan_object(&it, s, strlen(s)) == 0);
    int64_t x;
    double f;
    struct buf b;
    buf_init(&b, 0);
    while (jscan_member(&it, &k, &v) == 1) {
        if (jval_is(&k, "i")) {
            CHECK_INT(jval_int(&v, &x), 0);
            CHECK_INT(x, -42);
        } else if (jval_is(&k, "big")) {
            CHECK_INT(jval_int(&v, &x), 0);
            CHECK(x == INT64_MAX);
        } else if (jval_is(&k, "f")) {
            CHECK_INT(jval_int(&v, &x), 0);
            CHECK_INT(x, 1000);
        } else if (jval_is(&k, "x")) {
            CHECK(jval_int(&v, &x) != 0);
            CHECK_INT(jval_double(&v, &f), 0);
            CHECK_NEAR(f, 1.5, 0);
        } else if (jval_is(&k, "s")) {
            CHECK(v.esc);
            CHECK_INT(jval_str(&v, &b), 0);
            CHECK_MEM(b.p, b.len, "a\xc3\xa9\xf0\x9f\x98\x80\n", 8);
        } else if (jval_is(&k, "over")) {
            CHECK(jval_int(&v, &x) != 0);
        } else if (jval_is(&k, "e")) {
            CHECK_INT(jval_int(&v, &x), 0);
            CHECK_INT(x, 1000);
        }
    }
    buf_reset(&b);
    struct jval lone = {JT_STRING, "\\ud800", 6, true};
    CHECK(jval_str(&lone, &b) != 0);
    buf_free(&b);
}

TEST(trace_jscan_prefix_and_error_offset)
{
    struct jval v;
    size_t used;
    const char *why;
    const char *s = "{\"$text\":[1,[2,3],\"x\"]},\"model\":\"m\"}";
    REQUIRE(jscan_prefix(s, strlen(s), &v, &used, &why) == 0);
    CHECK_INT(used, 23);
    CHECK_INT(v.type, JT_OBJECT);
    struct jiter it;
    const char *bad = "{\"a\":1,\"b\":x}";
    REQUIRE(jscan_object(&it, bad, strlen(bad)) == 0);
    struct jval k;
    CHECK_INT(jscan_member(&it, &k, &v), 1);
    CHECK_INT(jscan_member(&it, &k, &v), ERR_PARSE);
    CHECK_INT(it.err_off, 11);
}

TEST(trace_jscan_string_special_byte_at_every_offset)
{
    /* The string scan jumps 8 bytes at a time to the first byte that needs a look: a
     * quote, backslash or control byte at every offset of the first three words must be
     * found exactly there, and bytes next to them (0x1f/0x20, 0x21/0x23 around the quote,
     * 0x5b/0x5d around the backslash, 0x7f, bytes >= 0x80) must not hide or fake one. */
    static const unsigned char plain[] = {' ', '!', '#', '[', ']', 0x7f, 0x80, 0xc3, 0xff, 'a'};
    char s[64];
    for (size_t n = 0; n < 24; n++) {
        for (size_t f = 0; f < sizeof plain; f++) {
            for (int kind = 0; kind < 4; kind++) {
                size_t k = 0;
                s[k++] = '"';
                for (size_t i = 0; i < n; i++)
                    s[k++] = (char)plain[(f + i) % sizeof plain];
                size_t at = k; /* offset of the special byte */
                const char *tail = kind == 0 ? "\"#!!!!!!!!!" : kind == 1 ? "\\n\"\"!!!!!!!!" : "";
                if (kind == 2)
                    s[k++] = 0x1f;
                if (kind == 3)
                    s[k++] = 0x01;
                size_t tl = strlen(tail);
                memcpy(s + k, tail, tl);
                k += tl;
                s[k++] = '"'; /* closes kind 2 and 3 (never reached) */
                struct jval v;
                size_t used = 0;
                const char *why = NULL;
                int rc = jscan_prefix(s, k, &v, &used, &why);
                if (kind == 0) {
                    CHECK_INT(rc, 0);
                    CHECK_INT(v.n, n);
                    CHECK_INT(used, n + 2);
                    CHECK(!v.esc);
                } else if (kind == 1) {
                    CHECK_INT(rc, 0);
                    CHECK_INT(v.n, n + 2);
                    CHECK_INT(used, at + 3);
                    CHECK(v.esc);
                } else {
                    CHECK_INT(rc, ERR_PARSE);
                    CHECK_STR(why, "control character in string");
                    struct jiter it;
                    char obj[80];
                    int m = snprintf(obj, sizeof obj, "{\"k\":%.*s}", (int)k, s);
                    REQUIRE(jscan_object(&it, obj, (size_t)m) == 0);
                    struct jval key;
                    CHECK_INT(jscan_member(&it, &key, &v), ERR_PARSE);
                    CHECK_INT(it.err_off, at + 5);
                }
            }
        }
    }
    /* No closing quote at any length: unterminated, never a read past the end. */
    for (size_t n = 0; n < 24; n++) {
        char *h = malloc(n + 1);
        REQUIRE(h);
        h[0] = '"';
        memset(h + 1, 'x', n);
        struct jval v;
        size_t used;
        const char *why = NULL;
        CHECK_INT(jscan_prefix(h, n + 1, &v, &used, &why), ERR_PARSE);
        CHECK_STR(why, "unterminated string");
        free(h);
    }
}

/* Walks v's members or elements twice: through jscan_enter (delimited without checks,
 * since v was validated) and through a fresh validating scan of the same bytes; both
 * must hand out the same values, at every level. */
static void same_walk(const struct jval *v, int depth)
{
    struct jiter a, b;
    REQUIRE(jscan_enter(&a, v) == 0);
    CHECK(a.trusted);
    int rc = v->type == JT_OBJECT ? jscan_object(&b, v->p, v->n) : jscan_array(&b, v->p, v->n);
    REQUIRE(rc == 0);
    CHECK(!b.trusted);
    for (;;) {
        struct jval ka = {0}, kb = {0}, va, vb;
        int ra = v->type == JT_OBJECT ? jscan_member(&a, &ka, &va) : jscan_elem(&a, &va);
        int rb = v->type == JT_OBJECT ? jscan_member(&b, &kb, &vb) : jscan_elem(&b, &vb);
        CHECK_INT(ra, rb);
        if (ra != 1 || rb != 1)
            break;
        if (v->type == JT_OBJECT) {
            CHECK(ka.p == kb.p && ka.n == kb.n && ka.esc == kb.esc && ka.type == kb.type);
        }
        CHECK_INT(va.type, vb.type);
        CHECK(va.p == vb.p);
        CHECK_INT(va.n, vb.n);
        CHECK_INT(va.esc, vb.esc);
        if ((va.type == JT_OBJECT || va.type == JT_ARRAY) && depth < 16)
            same_walk(&va, depth + 1);
    }
}

TEST(trace_jscan_entered_values_delimited_as_validated)
{
    static const char *const docs[] = {
        ("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1796203201,"
         "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"they\"},"
         "\"logprobs\":null,\"finish_reason\":\"length\"}],"
         "\"usage\":{\"prompt_tokens\":1,\"total_tokens\":2,\"completion_tokens\":1}}"),
        ("{\"a\":{\"s\":\"]}\\\"[{\\\\\",\"t\":\"\\u005d\\ud83d\\ude00x\",\"e\":\"\"},"
         "\"b\":[ 1 , -2.5e+10 , 0.0E-1 , true , false , null , [ ] , { } , \"x\" ]}"),
        "{\"deep\":[[[[{\"k\":[[\"v\\\"]\"]]}]]]],\"long\":\"0123456789abcdef\\\\\\\"\"}",
        "{ \"ws\" : { \"a\" :\t[ 1 ,\n2 ] , \"b\" :\r\n{ \"c\" : \"d\" } } }",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        struct jval top;
        size_t used;
        const char *why;
        REQUIRE(jscan_prefix(docs[i], strlen(docs[i]), &top, &used, &why) == 0);
        same_walk(&top, 0);
    }
    /* A jval that did not come from the scanner (cut short): an error, no read past n. */
    static const char *const cut[] = {"{\"a\":\"xyz", "{\"a\":[1,{\"b\":2", "{\"a\":tr",
                                      "{\"a\":", "[\"\\"};
    for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
        size_t n = strlen(cut[i]);
        char *h = malloc(n);
        REQUIRE(h);
        memcpy(h, cut[i], n);
        struct jval v = {.type = h[0] == '[' ? JT_ARRAY : JT_OBJECT, .p = h, .n = n};
        struct jiter it;
        REQUIRE(jscan_enter(&it, &v) == 0);
        struct jval k, e;
        int rc;
        while ((rc = h[0] == '[' ? jscan_elem(&it, &e) : jscan_member(&it, &k, &e)) == 1)
            ;
        CHECK_INT(rc, ERR_PARSE);
        free(h);
    }
}

TEST(trace_jscan_fast_doubles_match_strtod)
{
    /* The short-decimal fast path must give exactly the double strtod gives. */
    static const char *const cases[] = {"0",
                                        "0.0",
                                        "350.0",
                                        "7.734",
                                        "-12.5",
                                        "0.1",
                                        "123456789.123456",
                                        "999999999999999",
                                        "1.5e3",
                                        "0.0001",
                                        "4314.579",
                                        "1e-7",
                                        "-0.0",
                                        "2.675",
                                        "9007199254740993",
                                        "0.30000000000000004"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct jval v = {JT_NUMBER, cases[i], strlen(cases[i]), false};
        double got, want = strtod(cases[i], NULL);
        CHECK_INT(jval_double(&v, &got), 0);
        if (memcmp(&got, &want, sizeof got))
            test_fail(__FILE__, __LINE__, "%s: %.17g != %.17g", cases[i], got, want);
    }
    /* And over many random millisecond values as pack writes them. */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        char t[40];
        int n = snprintf(t, sizeof t, "%llu.%03llu", (unsigned long long)(x % 100000000000ull),
                         (unsigned long long)((x >> 40) % 1000));
        struct jval v = {JT_NUMBER, t, (size_t)n, false};
        double got, want = strtod(t, NULL);
        if (jval_double(&v, &got) || got != want) {
            test_fail(__FILE__, __LINE__, "%s: %.17g != %.17g", t, got, want);
            break;
        }
    }
}

/* ---- the iterative container scan against the recursive grammar it replaced ---- */

struct ref {
    const char *base, *end;
    const char *err;
    size_t off;
};

static const char *ref_fail(struct ref *r, const char *at, const char *why)
{
    r->err = why;
    r->off = (size_t)(at - r->base);
    return NULL;
}

static const char *ref_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static bool ref_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* p after the opening quote: the closing quote. */
static const char *ref_string(struct ref *r, const char *p)
{
    for (; p < r->end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p;
        if (c < 0x20)
            return ref_fail(r, p, "control character in string");
        if (c != '\\')
            continue;
        if (p + 1 >= r->end)
            break;
        if (p[1] == 'u') {
            if (r->end - p < 6)
                return ref_fail(r, r->end, "unterminated string");
            for (int i = 2; i < 6; i++)
                if (!ref_hex(p[i]))
                    return ref_fail(r, p, "bad \\u escape");
            p += 5;
            continue;
        }
        if (!p[1] || !strchr("\"\\/bfnrt", p[1]))
            return ref_fail(r, p, "bad escape in string");
        p++;
    }
    return ref_fail(r, r->end, "unterminated string");
}

static const char *ref_number(struct ref *r, const char *p)
{
    const char *s = p, *end = r->end;
    if (p < end && *p == '-')
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return ref_fail(r, s, "bad number");
    if (*p == '0')
        p++;
    else
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return ref_fail(r, s, "bad number");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return ref_fail(r, s, "bad number");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

/* The RFC 8259 grammar, one call per value (jscan's scan_value before it iterated). */
static const char *ref_value(struct ref *r, const char *p, int depth)
{
    const char *end = r->end;
    if (p >= end)
        return ref_fail(r, p, "value expected");
    if (*p == '"') {
        const char *q = ref_string(r, p + 1);
        return q ? q + 1 : NULL;
    }
    if (*p == 't' || *p == 'f' || *p == 'n') {
        const char *lit = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
        size_t n = strlen(lit);
        if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
            return ref_fail(r, p, "bad literal");
        return p + n;
    }
    if (*p != '{' && *p != '[')
        return ref_number(r, p);
    if (depth >= JSCAN_MAX_DEPTH)
        return ref_fail(r, p, "nesting too deep");
    bool obj = *p == '{';
    char close = obj ? '}' : ']';
    const char *q = ref_ws(p + 1, end);
    if (q < end && *q == close)
        return q + 1;
    for (;;) {
        if (obj) {
            if (q >= end || *q != '"')
                return ref_fail(r, q, "object key expected");
            if (!(q = ref_value(r, q, depth + 1)))
                return NULL;
            q = ref_ws(q, end);
            if (q >= end || *q != ':')
                return ref_fail(r, q, "':' expected");
            q = ref_ws(q + 1, end);
        }
        if (!(q = ref_value(r, q, depth + 1)))
            return NULL;
        q = ref_ws(q, end);
        if (q < end && *q == ',') {
            q = ref_ws(q + 1, end);
            continue;
        }
        if (q < end && *q == close)
            return q + 1;
        return ref_fail(r, q, obj ? "',' or '}' expected" : "',' or ']' expected");
    }
}

/* The first error of a lazy walk (jscan_object_lazy, jscan_open). */
struct lazy_err {
    const char *err;
    size_t off;
};

/* Walks it to its end, opening every container value it hands out and walking that
 * whole (leave: taking only the container's first value, then leaving it for `it` to
 * skip). 0 at the end; ERR_PARSE with *e from the iterator that failed. */
static int lazy_walk(struct jiter *it, bool leave, struct lazy_err *e)
{
    for (;;) {
        struct jval k, v;
        int rc = it->array ? jscan_elem(it, &v) : jscan_member(it, &k, &v);
        if (rc != 1) {
            if (rc < 0)
                *e = (struct lazy_err){it->err, it->err_off};
            return rc;
        }
        if (v.type != JT_OBJECT && v.type != JT_ARRAY)
            continue;
        CHECK(v.n == 0 && it->open == v.p); /* handed out unscanned */
        struct jiter sub;
        rc = jscan_open(&sub, it, &v);
        if (rc == 0 && leave)
            (void)(sub.array ? jscan_elem(&sub, &v) : jscan_member(&sub, &k, &v));
        else if (rc == 0)
            rc = lazy_walk(&sub, leave, e);
        if (rc < 0 && !leave) {
            if (!e->err)
                *e = (struct lazy_err){sub.err, sub.err_off};
            return rc;
        }
    }
}

/* The lazy walk of t[0..tn) ({"k":s}) agrees with the grammar as the eager scan does: the
 * same acceptance, the member's end, the same error at the same offset; mode 0 walks
 * everything, 1 leaves each nested container after its first value, 2 never opens the
 * member's value and has jscan_complete scan it. */
static void lazy_same_as_ref(const char *t, size_t tn, const char *q, const struct ref *r, size_t n)
{
    for (int mode = 0; mode < 3; mode++) {
        struct jiter it, sub;
        struct jval k, v;
        struct lazy_err e = {0};
        REQUIRE(jscan_object_lazy(&it, t, tn) == 0);
        int rc = jscan_member(&it, &k, &v);
        if (rc == 1 && mode == 2) {
            rc = jscan_complete(&it, &v);
            CHECK(rc < 0 || v.n > 0 || v.type == JT_STRING);
        } else if (rc == 1 && (v.type == JT_OBJECT || v.type == JT_ARRAY)) {
            rc = jscan_open(&sub, &it, &v);
            if (rc < 0)
                e = (struct lazy_err){sub.err, sub.err_off};
            else
                rc = lazy_walk(&sub, mode == 1, &e);
        }
        if (rc < 0 && !e.err)
            e = (struct lazy_err){it.err, it.err_off};
        if (q) {
            if (rc < 0 || it.open || it.p != q)
                test_fail(__FILE__, __LINE__,
                          "lazy (mode %d): accepted by the grammar, not by "
                          "jscan: %.*s",
                          mode, (int)n, t + 5);
        } else if (rc != ERR_PARSE || strcmp(e.err, r->err) != 0 || e.off != r->off) {
            test_fail(__FILE__, __LINE__,
                      "lazy (mode %d) %.*s: grammar says '%s' at %zu, jscan rc %d '%s' at %zu",
                      mode, (int)n, t + 5, r->err, r->off, rc, e.err ? e.err : "", e.off);
        }
    }
}

/* s as the value of a top-level member ({"k":s}, so at depth 1): jscan and the reference
 * agree on accepting it, on where it ends, and on the error and its offset; walked lazily
 * too. */
static void same_as_ref(const char *s, size_t n)
{
    static const char pre[] = "{\"k\":";
    char *t = malloc(n + sizeof pre + 1);
    memcpy(t, pre, sizeof pre - 1);
    memcpy(t + sizeof pre - 1, s, n);
    t[sizeof pre - 1 + n] = '}';
    size_t tn = sizeof pre + n;
    struct ref r = {.base = t, .end = t + tn};
    const char *q = ref_value(&r, ref_ws(t + sizeof pre - 1, r.end), 1);
    struct jiter it;
    struct jval k, v;
    REQUIRE(jscan_object(&it, t, tn) == 0);
    int rc = jscan_member(&it, &k, &v);
    if (q) {
        if (rc != 1 || it.p != q)
            test_fail(__FILE__, __LINE__, "accepted by the grammar, not by jscan: %.*s", (int)n, s);
    } else if (rc != ERR_PARSE || strcmp(it.err, r.err) != 0 || it.err_off != r.off) {
        test_fail(__FILE__, __LINE__, "%.*s: grammar says '%s' at %zu, jscan rc %d '%s' at %zu",
                  (int)n, s, r.err, r.off, rc, rc < 0 ? it.err : "", rc < 0 ? it.err_off : 0);
    }
    lazy_same_as_ref(t, tn, q, &r, n);
    free(t);
}

static void same_as_ref_cb(const char *s, size_t n, void *ctx)
{
    (void)ctx;
    same_as_ref(s, n);
}

/* Every prefix (split point) of valid and broken nested values, and every one-byte change
 * of them to a structural byte, give what the recursive grammar gives; nesting at the
 * limit and one past it too. */
TEST(trace_jscan_container_scan_matches_grammar)
{
    static const char *const cases[] = {
        "{}",
        "[]",
        "[ ]",
        "{\"a\":[1,[2,[3]],{\"b\":{}}],\"c\":{\"d\":[true,false,null]}}",
        ("[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Aside\"},"
         "\"logprobs\":null,\"finish_reason\":\"length\"}]"),
        "{\"prompt_tokens\":15,\"total_tokens\":16,\"completion_tokens\":1}",
        "[ 1 , -2.5e+3 , \"x\\u00e9\\n\" , { \"k\" : [ ] } ]",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "[1,]",
        "[1 2]",
        "{\"a\":{\"b\":1}",
        "{a:1}",
        "[tru]",
        "[01]",
        "{\"a\":\"\x01\"}",
        "[\"\\x\"]",
        "{\"\":\"\"}",
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        test_each_cut_and_subst(cases[c], strlen(cases[c]), ",:{}[]\"\\ 0-.etfnu\x01",
                                same_as_ref_cb, NULL);
    /* nesting: the member value is at depth 1, so 63 levels are the most it may hold */
    for (int levels = 60; levels <= 66; levels++) {
        char buf[400];
        size_t n = 0;
        for (int i = 0; i < levels; i++) {
            if (i % 2) {
                buf[n++] = '[';
            } else {
                memcpy(buf + n, "{\"k\":", 5);
                n += 5;
            }
        }
        for (int i = levels - 1; i >= 0; i--)
            buf[n++] = i % 2 ? ']' : '}';
        same_as_ref(buf, n);
        for (size_t cut = n - levels; cut <= n; cut++)
            same_as_ref(buf, cut);
    }
}

/* jscan_enter_first walks an array's first object's members as entering the element
 * would (same spans, same end), and refuses what is not an array starting with an
 * object. */
TEST(trace_jscan_enter_first)
{
    static const char *const arrays[] = {
        "[{\"a\":1,\"b\":{\"c\":[1,2]},\"d\":\"x\\\"}\"}]",
        "[ {\"a\":[{}]} , {\"z\":2}, 3]",
        "[{}]",
        "[{} ,1]",
    };
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++) {
        const char *a = arrays[i];
        struct jiter top, arr, want, got;
        struct jval k, v, first, gk, gv;
        char doc[200];
        snprintf(doc, sizeof doc, "{\"k\":%s}", a);
        REQUIRE(jscan_object(&top, doc, strlen(doc)) == 0);
        REQUIRE(jscan_member(&top, &k, &v) == 1);
        REQUIRE(jscan_enter(&arr, &v) == 0 && jscan_elem(&arr, &first) == 1);
        REQUIRE(jscan_enter(&want, &first) == 0);
        REQUIRE(jscan_enter_first(&got, &v) == 0);
        int rw, rg;
        do {
            rw = jscan_member(&want, &k, &v);
            rg = jscan_member(&got, &gk, &gv);
            CHECK_INT(rg, rw);
            if (rw == 1)
                CHECK(gk.p == k.p && gk.n == k.n && gv.p == v.p && gv.n == v.n &&
                      gv.type == v.type);
        } while (rw == 1 && rg == 1);
        CHECK(got.p == want.p);
    }
    static const char *const refused[] = {"[]", "[ ]", "[1,{}]", "[[{}]]", "[\"{\"]"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        struct jiter top, got;
        struct jval k, v;
        char doc[64];
        snprintf(doc, sizeof doc, "{\"k\":%s}", refused[i]);
        REQUIRE(jscan_object(&top, doc, strlen(doc)) == 0);
        REQUIRE(jscan_member(&top, &k, &v) == 1);
        CHECK_INT(jscan_enter_first(&got, &v), ERR_INVALID);
    }
    struct jval obj = {.type = JT_OBJECT, .p = "{}", .n = 2};
    struct jiter it;
    CHECK_INT(jscan_enter_first(&it, &obj), ERR_INVALID);
}
