#include "buf.h"
#include "err.h"
#include "prom.h"
#include "test.h"

#include <math.h>
#include <stdio.h>

/* Samples are rendered as "family:type|name{k=v,...}=value[@ts];" (value with %.17g, '\n'
 * in a label value shown as '~'), so a whole exposition's outcome is one string. */
struct sink {
    struct buf out;
    int stop_after;
    int n;
};

static int on_sample(void *ctx, const struct prom_sample *s)
{
    struct sink *k = ctx;
    buf_printf(&k->out, "%.*s:%s|%.*s", (int)s->family_len, s->family, prom_type_name(s->type),
               (int)s->name_len, s->name);
    if (s->nlabels) {
        buf_putc(&k->out, '{');
        for (size_t i = 0; i < s->nlabels; i++) {
            const struct prom_label *l = &s->labels[i];
            buf_printf(&k->out, "%s%.*s=", i ? "," : "", (int)l->name_len, l->name);
            for (size_t j = 0; j < l->value_len; j++)
                buf_putc(&k->out, l->value[j] == '\n' ? '~' : l->value[j]);
        }
        buf_putc(&k->out, '}');
    }
    buf_printf(&k->out, "=%.17g", s->value);
    if (s->has_timestamp)
        buf_printf(&k->out, "@%.17g", s->timestamp_ms);
    if (s->help_len)
        buf_printf(&k->out, "#%.*s", (int)s->help_len, s->help);
    buf_putc(&k->out, ';');
    k->n++;
    return k->stop_after && k->n >= k->stop_after ? 9 : 0;
}

struct prom_case {
    const char *name;
    bool openmetrics;
    const char *in;
    const char *out;  /* samples delivered (before any error) */
    int rc;           /* result of feed+finish */
    int error_line;   /* when rc != 0 */
    size_t max_line;  /* 0: default */
    size_t max_label; /* 0: default */
    size_t max_samp;  /* 0: default */
};

static const struct prom_case cases[] = {
    {"empty", false, "", "", 0, 0, 0, 0, 0},
    {"plain", false, "a 1\n", "a:untyped|a=1;", 0, 0, 0, 0, 0},
    {"no final newline", false, "a 1\nb 2", "a:untyped|a=1;b:untyped|b=2;", 0, 0, 0, 0, 0},
    {"crlf", false, "a 1\r\nb 2\r\n", "a:untyped|a=1;b:untyped|b=2;", 0, 0, 0, 0, 0},
    {"blank and comments", false, "\n# hello\n  \n#\na 1\n", "a:untyped|a=1;", 0, 0, 0, 0, 0},
    {"counter", false,
     "# HELP vllm:prompt_tokens_total Number of prefill tokens.\n"
     "# TYPE vllm:prompt_tokens_total counter\n"
     "vllm:prompt_tokens_total{model_name=\"m\"} 1234\n",
     "vllm:prompt_tokens_total:counter|vllm:prompt_tokens_total{model_name=m}=1234#Number of "
     "prefill tokens.;",
     0, 0, 0, 0, 0},
    {"type before help", false, "# TYPE g gauge\n# HELP g a\\\\b\\nc\ng 0.5\n",
     "g:gauge|g=0.5#a\\b\nc;", 0, 0, 0, 0, 0},
    {"histogram", false,
     "# TYPE h histogram\n"
     "h_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 3\nh_sum 0.7\nh_count 3\nh_created 5\n"
     "hx 1\n",
     "h:histogram|h_bucket{le=0.1}=1;h:histogram|h_bucket{le=+Inf}=3;h:histogram|h_sum=0."
     "69999999999999996;"
     "h:histogram|h_count=3;h:histogram|h_created=5;hx:untyped|hx=1;",
     0, 0, 0, 0, 0},
    {"summary", false, "# TYPE s summary\ns{quantile=\"0.5\"} 2\ns_sum 4\ns_count 2\ns_bucket 1\n",
     "s:summary|s{quantile=0.5}=2;s:summary|s_sum=4;s:summary|s_count=2;s_bucket:untyped|s_bucket="
     "1;",
     0, 0, 0, 0, 0},
    {"counter suffix", true, "# TYPE c counter\nc_total 3\nc_created 1.5\n# EOF\n",
     "c:counter|c_total=3;c:counter|c_created=1.5;", 0, 0, 0, 0, 0},
    {"gauge takes no suffix", false, "# TYPE g gauge\ng_total 1\n", "g_total:untyped|g_total=1;", 0,
     0, 0, 0, 0},
    {"specials", false, "a NaN\nb +Inf\nc -Inf\nd inf\ne -1.5e-3\nf .5\n",
     "a:untyped|a=nan;b:untyped|b=inf;c:untyped|c=-inf;d:untyped|d=inf;e:untyped|e=-0.0015;"
     "f:untyped|f=0.5;",
     0, 0, 0, 0, 0},
    {"timestamps 0.0.4", false, "a 1 1700000000000\nb 2 -5\n",
     "a:untyped|a=1@1700000000000;b:untyped|b=2@-5;", 0, 0, 0, 0, 0},
    {"timestamps openmetrics", true, "a 1 1700000000.25\n# EOF\n", "a:untyped|a=1@1700000000250;",
     0, 0, 0, 0, 0},
    {"float timestamp in 0.0.4", false, "a 1 1.5\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"label escapes", false, "a{x=\"q\\\"b\\\\s\\nz\",y=\"\"} 1\n",
     "a:untyped|a{x=q\"b\\s~z,y=}=1;", 0, 0, 0, 0, 0},
    {"label spacing and trailing comma", false, "a { x = \"1\" , y=\"2\", } 1\n",
     "a:untyped|a{x=1,y=2}=1;", 0, 0, 0, 0, 0},
    {"empty label set", false, "a{} 1\n", "a:untyped|a=1;", 0, 0, 0, 0, 0},
    {"utf8 label value", false, "a{m=\"caf\xc3\xa9 {},=\"} 1\n",
     "a:untyped|a{m=caf\xc3\xa9 {},=}=1;", 0, 0, 0, 0, 0},
    {"dcgm", false,
     "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"
     "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-1\",device=\"nvidia0\",modelName=\"H100\","
     "Hostname=\"h\"} 87\n",
     "DCGM_FI_DEV_GPU_UTIL:gauge|DCGM_FI_DEV_GPU_UTIL{gpu=0,UUID=GPU-1,device=nvidia0,modelName="
     "H100,Hostname=h}=87#GPU utilization (in %).;",
     0, 0, 0, 0, 0},
    {"exemplar", true,
     "# TYPE h histogram\nh_bucket{le=\"1\"} 2 # {trace_id=\"x\"} 0.5 1.0\n# EOF\n",
     "h:histogram|h_bucket{le=1}=2;", 0, 0, 0, 0, 0},
    {"exemplar in 0.0.4", false, "h_bucket{le=\"1\"} 2 # {a=\"b\"} 1\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"text after eof", true, "a 1\n# EOF\nb 2\n", "a:untyped|a=1;", ERR_PARSE, 3, 0, 0, 0},
    {"blank after eof", true, "a 1\n# EOF\n\n", "a:untyped|a=1;", 0, 0, 0, 0, 0},
    {"unit ignored", true, "# UNIT a seconds\na 1\n# EOF", "a:untyped|a=1;", 0, 0, 0, 0, 0},
    {"garbage", false, "a 1\n<html>\n", "a:untyped|a=1;", ERR_PARSE, 2, 0, 0, 0},
    {"missing value", false, "a\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"bad value", false, "a 1x\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"hex value", false, "a 0x10\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"nan(...) value", false, "a nan(1)\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"trailing text", false, "a 1 2 3\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"bad escape", false, "a{x=\"\\t\"} 1\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"unterminated value", false, "a{x=\"1} 1\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"unterminated labels", false, "a{x=\"1\" 1\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"bad label name", false, "a{1x=\"1\"} 1\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"colon in label name", false, "a{x:y=\"1\"} 1\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"bad type", false, "# TYPE a timer\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"bad help name", false, "# HELP 1a x\n", "", ERR_PARSE, 1, 0, 0, 0},
    {"line cap exact", false, "abc 1\n", "abc:untyped|abc=1;", 0, 0, 5, 0, 0},
    {"line cap", false, "a 1\nabcd 1\n", "a:untyped|a=1;", ERR_TOO_LARGE, 2, 5, 0, 0},
    {"line cap counts cr", false, "abc 1\r\n", "", ERR_TOO_LARGE, 1, 5, 0, 0},
    {"label cap", false, "a{x=\"1\",y=\"2\"} 1\na{x=\"1\",y=\"2\",z=\"3\"} 1\n",
     "a:untyped|a{x=1,y=2}=1;", ERR_TOO_LARGE, 2, 0, 2, 0},
    {"sample cap", false, "# c\na 1\nb 2\nc 3\n", "a:untyped|a=1;b:untyped|b=2;", ERR_TOO_LARGE, 4,
     0, 0, 2},
    {"nul byte", false, "a\0 1\n", "", ERR_PARSE, 1, 0, 0, 0},
};

static void render_error(struct buf *b, int rc, uint64_t line)
{
    if (rc)
        buf_printf(b, "!%d@%llu", rc, (unsigned long long)line);
}

/* Feeds `in` in pieces ending at `cuts` (guard-page copies), then finishes. */
static int run_cuts(const struct prom_case *c, size_t len, const size_t *cuts, size_t ncuts,
                    struct buf *out)
{
    struct prom_parser p;
    if (prom_parser_init(&p, c->openmetrics ? PROM_OPENMETRICS : PROM_TEXT_004, c->max_line,
                         c->max_label, c->max_samp) != 0)
        return ERR_TOO_LARGE;
    struct sink s = {{0}, 0, 0};
    buf_init(&s.out, 0);
    int rc = 0;
    size_t pos = 0;
    for (size_t k = 0; k <= ncuts && !rc; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        char *g = test_guard_copy(c->in + pos, end - pos);
        rc = prom_parser_feed(&p, g, end - pos, on_sample, &s);
        test_guard_free(g, end - pos);
        pos = end;
    }
    if (!rc)
        rc = prom_parser_finish(&p, on_sample, &s);
    buf_reset(out);
    buf_append(out, s.out.p ? s.out.p : "", s.out.len);
    render_error(out, rc, p.error_line);
    buf_free(&s.out);
    prom_parser_free(&p);
    return rc;
}

static size_t case_len(const struct prom_case *c)
{
    /* "nul byte" carries a NUL inside: its length is that of the literal. */
    if (strcmp(c->name, "nul byte") == 0)
        return 5;
    return strlen(c->in);
}

TEST(prom_table_every_split)
{
    struct buf want, got;
    buf_init(&want, 0);
    buf_init(&got, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct prom_case *c = &cases[i];
        size_t len = case_len(c);
        buf_reset(&want);
        buf_puts(&want, c->out);
        render_error(&want, c->rc, (uint64_t)c->error_line);
        run_cuts(c, len, NULL, 0, &got);
        if (strcmp(got.p ? got.p : "", want.p) != 0)
            test_fail(__FILE__, __LINE__, "%s: whole: got \"%s\" want \"%s\"", c->name,
                      got.p ? got.p : "", want.p);
        for (size_t cut = 0; cut <= len; cut++) {
            run_cuts(c, len, &cut, 1, &got);
            if (strcmp(got.p ? got.p : "", want.p) != 0) {
                test_fail(__FILE__, __LINE__, "%s: split at %zu: got \"%s\" want \"%s\"", c->name,
                          cut, got.p ? got.p : "", want.p);
                break;
            }
        }
        size_t bytes[512];
        if (len < 512) {
            for (size_t k = 0; k < len; k++)
                bytes[k] = k + 1;
            run_cuts(c, len, bytes, len, &got);
            if (strcmp(got.p ? got.p : "", want.p) != 0)
                test_fail(__FILE__, __LINE__, "%s: byte at a time: got \"%s\" want \"%s\"", c->name,
                          got.p ? got.p : "", want.p);
        }
    }
    buf_free(&want);
    buf_free(&got);
}

TEST(prom_error_is_sticky_and_reset_clears)
{
    struct prom_parser p;
    REQUIRE(prom_parser_init(&p, PROM_TEXT_004, 0, 0, 0) == 0);
    struct sink s = {{0}, 0, 0};
    buf_init(&s.out, 0);
    CHECK_INT(prom_parser_feed(&p, "x y\n", 4, on_sample, &s), ERR_PARSE);
    CHECK_STR(p.error_msg, "bad sample value");
    CHECK_INT(prom_parser_feed(&p, "a 1\n", 4, on_sample, &s), ERR_PARSE);
    CHECK_INT(s.n, 0);
    prom_parser_reset(&p, PROM_TEXT_004);
    CHECK_INT(prom_parser_feed(&p, "a 1\n", 4, on_sample, &s), 0);
    CHECK_INT(s.n, 1);
    /* Family state does not leak from one exposition to the next. */
    CHECK_INT(prom_parser_feed(&p, "# TYPE h histogram\n", 19, on_sample, &s), 0);
    prom_parser_reset(&p, PROM_TEXT_004);
    buf_reset(&s.out);
    CHECK_INT(prom_parser_feed(&p, "h_sum 1\n", 8, on_sample, &s), 0);
    CHECK_STR(s.out.p, "h_sum:untyped|h_sum=1;");
    buf_free(&s.out);
    prom_parser_free(&p);
}

TEST(prom_callback_stops)
{
    struct prom_parser p;
    REQUIRE(prom_parser_init(&p, PROM_TEXT_004, 0, 0, 0) == 0);
    struct sink s = {{0}, 1, 0};
    buf_init(&s.out, 0);
    CHECK_INT(prom_parser_feed(&p, "a 1\nb 2\n", 8, on_sample, &s), 9);
    CHECK_INT(s.n, 1);
    CHECK_INT(prom_parser_finish(&p, on_sample, &s), 9);
    buf_free(&s.out);
    prom_parser_free(&p);
}

TEST(prom_dialect_from_content_type)
{
    const char *om = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    const char *t = "text/plain; version=0.0.4; charset=utf-8";
    CHECK_INT(prom_dialect_of(om, strlen(om)), PROM_OPENMETRICS);
    CHECK_INT(prom_dialect_of(t, strlen(t)), PROM_TEXT_004);
    CHECK_INT(prom_dialect_of(NULL, 0), PROM_TEXT_004);
}

/* A 1 GB line costs at most max_line bytes: fed in 1 MiB pieces it fails at the cap,
 * after one piece, without growing anything. */
TEST(prom_huge_line_is_bounded)
{
    struct prom_parser p;
    REQUIRE(prom_parser_init(&p, PROM_TEXT_004, 4096, 0, 0) == 0);
    static char piece[1 << 20];
    memset(piece, 'a', sizeof piece);
    struct sink s = {{0}, 0, 0};
    buf_init(&s.out, 0);
    int rc = 0;
    size_t fed = 0;
    for (int k = 0; k < 1024 && !rc; k++, fed += sizeof piece)
        rc = prom_parser_feed(&p, piece, sizeof piece, on_sample, &s);
    CHECK_INT(rc, ERR_TOO_LARGE);
    CHECK_INT(fed, sizeof piece);
    buf_free(&s.out);
    prom_parser_free(&p);
}
