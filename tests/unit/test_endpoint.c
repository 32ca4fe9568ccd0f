#include "endpoint.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

TEST(endpoint_url_table)
{
    static const struct {
        const char *in;
        int rc;
        bool tls;
        const char *host, *port, *path, *authority;
    } cases[] = {
        {"localhost:8080", 0, false, "localhost", "8080", "", "localhost:8080"},
        {"http://127.0.0.1:9000/", 0, false, "127.0.0.1", "9000", "", "127.0.0.1:9000"},
        {"https://api.example.com/v2/", 0, true, "api.example.com", "443", "/v2",
         "api.example.com"},
        {"http://h", 0, false, "h", "80", "", "h"},
        {"http://h:80/a/b//", 0, false, "h", "80", "/a/b", "h"},
        {"[::1]:8000", 0, false, "::1", "8000", "", "[::1]:8000"},
        {"https://[fe80::1]/x", 0, true, "fe80::1", "443", "/x", "[fe80::1]"},
        {"ftp://h", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"http://:80", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"h:0", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"h:70000", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"h:80x", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"[::1", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        /* issue 17 item 7: queries, userinfo; fragments are not sent */
        {"http://h/v1?key=K", 0, false, "h", "80", "/v1", "h"},
        {"h:8000?key=K", 0, false, "h", "8000", "", "h:8000"},
        {"http://u:pw@h:9000/v1/", 0, false, "h", "9000", "/v1", "h:9000"},
        {"u%40x:p%3Aw@h", 0, false, "h", "80", "", "h"},
        {"http://a@b@h/x", 0, false, "h", "80", "/x", "h"},
        {"http://h/p#frag", 0, false, "h", "80", "/p", "h"},
        {"HTTPS://H.example:443/", 0, true, "H.example", "443", "", "H.example"},
        {"http://[::1]:8000?x=1", 0, false, "::1", "8000", "", "[::1]:8000"},
        /* issue 17 item 6: nothing that breaks the request line or the Host header */
        {"http://h/v1\r\nX-Evil: 1", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"http://h/v1\nX", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"http://h/a b", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"http://h/a\tb", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"http://h/\x7f", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"http://h/\xc3\xa9", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"http://h\r\n:80", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"http://h\x00x", 0, false, "h", "80", "", "h"}, /* C string ends at the NUL */
        {"http://h,evil/", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"http://[::1%0d]/", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"http://[::1]x/", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"http://u:p%zz@h", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"http://h:/", ERR_INVALID, false, NULL, NULL, NULL, NULL},
        {"h/x?y=a://b", 0, false, "h", "80", "/x", "h"},
        {"1http://h", ERR_INVALID, false, NULL, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct url u;
        struct diag d;
        int rc = url_parse(cases[i].in, &u, &d);
        CHECK_INT(rc, cases[i].rc);
        if (rc)
            continue;
        CHECK_INT(u.tls, cases[i].tls);
        CHECK_STR(u.host, cases[i].host);
        CHECK_STR(u.port, cases[i].port);
        CHECK_STR(u.path, cases[i].path);
        CHECK_STR(u.authority, cases[i].authority);
    }
}

TEST(endpoint_url_query_userinfo)
{
    struct url u;
    struct diag d;
    REQUIRE(url_parse("http://user:p%40ss@h/v1?key=K&x=1#f", &u, &d) == 0);
    CHECK_STR(u.query, "key=K&x=1");
    CHECK(u.has_userinfo);
    CHECK_STR(u.userinfo, "user:p@ss");
    REQUIRE(url_parse("http://h/v1", &u, &d) == 0);
    CHECK(!u.has_userinfo);
    CHECK_STR(u.query, "");
    /* messages never echo the secrets */
    CHECK_INT(url_parse("http://user:SECRET@h:99999/v1?key=KEY", &u, &d), ERR_INVALID);
    CHECK(!strstr(d.msg, "SECRET") && !strstr(d.msg, "KEY") && strstr(d.msg, "port"));
    CHECK_INT(url_parse("http://h/v1?key=K\r\nX: 1", &u, &d), ERR_INVALID);
    CHECK(strstr(d.msg, "--url") && strstr(d.msg, "0x0d") && !strchr(d.msg, '\r'));
}

/* The request target for each base URL and endpoint path: AIPerf's join, the /v1 rule,
 * the query kept after the path (issue 10 item 6, issue 17 item 7). */
TEST(endpoint_request_target_table)
{
    static const struct {
        const char *url, *ep;
        bool custom;
        const char *want;
    } cases[] = {
        {"h", "/v1/chat/completions", false, "/v1/chat/completions"},
        {"h/", "/v1/chat/completions", false, "/v1/chat/completions"},
        {"h/v1", "/v1/chat/completions", false, "/v1/chat/completions"},
        {"h/v1/", "/v1/chat/completions", false, "/v1/chat/completions"},
        {"h/v1///", "/v1/embeddings", false, "/v1/embeddings"},
        {"h/api/v1", "/v1/completions", false, "/api/v1/completions"},
        {"h/v1/extra", "/v1/chat/completions", false, "/v1/extra/v1/chat/completions"},
        {"h/xv1", "/v1/chat/completions", false, "/xv1/v1/chat/completions"},
        {"h/v1", "v1/custom/endpoint", true, "/v1/v1/custom/endpoint"},
        {"h/v1", "/api/v1/custom", true, "/v1/api/v1/custom"},
        {"h/v1", "/", false, "/v1/"},
        {"h/v1?key=K", "/v1/chat/completions", false, "/v1/chat/completions?key=K"},
        {"h/base?key=K&b=2", "/v1/chat/completions", false, "/base/v1/chat/completions?key=K&b=2"},
        {"h?key=K", "/openai/deployments/d/chat?api-version=1", true,
         "/openai/deployments/d/chat?api-version=1&key=K"},
        {"h/p#frag", "/x", true, "/p/x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct url u;
        struct diag d;
        char out[256];
        REQUIRE(url_parse(cases[i].url, &u, &d) == 0);
        CHECK_INT(url_join_path(&u, cases[i].ep, cases[i].custom, out, sizeof out), 0);
        CHECK_STR(out, cases[i].want);
    }
}

TEST(endpoint_wire_check)
{
    struct diag d;
    CHECK_INT(wire_check("--custom-endpoint", "/v1/x?a=b", false, &d), 0);
    CHECK_INT(wire_check("--custom-endpoint", "/v1\r\nX-Evil: 1", false, &d), ERR_INVALID);
    CHECK(strstr(d.msg, "--custom-endpoint") && strstr(d.msg, "0x0d"));
    CHECK_INT(wire_check("--custom-endpoint", "/v1 x", false, &d), ERR_INVALID);
    CHECK(strstr(d.msg, "space"));
    CHECK_INT(wire_check("--header 'X'", "a b\tc\x80", true, &d), 0);
    CHECK_INT(wire_check("--header 'X'", "a\x01", true, &d), ERR_INVALID);
    CHECK_INT(wire_check("--header 'X'", "a\x7f", true, &d), ERR_INVALID);
}

TEST(endpoint_url_redact)
{
    static const struct {
        const char *in, *want;
        bool changed;
    } cases[] = {
        {"http://h/v1", "http://h/v1", false},
        {"http://u:pw@h/v1", "http://<redacted>@h/v1", true},
        {"u:pw@h:80", "<redacted>@h:80", true},
        {"http://h/v1?key=K&x=&y", "http://h/v1?key=<redacted>&x=&<redacted>", true},
        {"http://h/v1?key=K&y", "http://h/v1?key=<redacted>&<redacted>", true},
        {"http://a:b@h/?k=v#tok", "http://<redacted>@h/?k=<redacted>#<redacted>", true},
        {"/v1/chat?api-key=S", "/v1/chat?api-key=<redacted>", true},
        {"http://h/p?", "http://h/p?", false},
        {"http://h/a@b", "http://h/a@b", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf b;
        buf_init(&b, 0);
        CHECK_INT(url_redact(cases[i].in, strlen(cases[i].in), &b), cases[i].changed);
        CHECK_STR(b.p, cases[i].want);
        buf_free(&b);
    }
    static const struct {
        const char *in, *want;
    } words[] = {
        {"metronome replay t --url h/v1?key=K -q",
         "metronome replay t --url h/v1?key=<redacted> -q"},
        {"--url=u:p@h", "--url=<redacted>@h"},
        {"-u http://u:p@h", "-u http://<redacted>@h"},
        {"see x=https://h/?a=1 now", "see x=https://h/?a=<redacted> now"},
        {"no urls  here", "no urls  here"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        struct buf b;
        buf_init(&b, 0);
        url_redact_words(words[i].in, &b);
        CHECK_STR(b.p, words[i].want);
        buf_free(&b);
    }
}

TEST(endpoint_join_path)
{
    struct url u;
    struct diag d;
    char out[256];
    REQUIRE(url_parse("http://h/base/", &u, &d) == 0);
    CHECK_INT(url_join_path(&u, "/v1/chat/completions", false, out, sizeof out), 0);
    CHECK_STR(out, "/base/v1/chat/completions");
    REQUIRE(url_parse("h", &u, &d) == 0);
    CHECK_INT(url_join_path(&u, "v1/x", true, out, sizeof out), 0);
    CHECK_STR(out, "/v1/x");
    CHECK_INT(url_join_path(&u, "v1/x", true, out, 4), ERR_TOO_LARGE);
}

TEST(endpoint_type_names)
{
    enum endpoint_type t;
    CHECK_INT(endpoint_type_parse("CHAT", &t), 0);
    CHECK_INT(t, EP_CHAT);
    CHECK_INT(endpoint_type_parse("openai_chat_completions", &t), 0);
    CHECK_INT(t, EP_CHAT);
    CHECK_INT(endpoint_type_parse("openai-responses", &t), 0);
    CHECK_INT(t, EP_RESPONSES);
    CHECK_INT(endpoint_type_parse("chatt", &t), ERR_INVALID);
    CHECK_STR(endpoint_default_path(EP_COMPLETIONS), "/v1/completions");
}

TEST(endpoint_parse_table)
{
    static const struct {
        enum endpoint_type t;
        bool stream;
        const char *data;
        bool done, bad, content, reasoning;
        size_t clen;
        long completion;
        const char *finish;
    } cases[] = {
        {EP_CHAT, true, "[DONE]", true, false, false, false, 0, -1, ""},
        {EP_CHAT, true, "{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}",
         false, false, true, false, 0, -1, ""},
        {EP_CHAT, true, "{\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}", false, false, false,
         false, 0, -1, ""},
        {EP_CHAT, true, "{\"choices\":[{\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}",
         false, false, true, false, 2, -1, ""},
        {EP_CHAT, true, "{\"choices\":[{\"delta\":{\"reasoning_content\":\"hm\"}}]}", false, false,
         false, true, 0, -1, ""},
        {EP_CHAT, true, "{\"choices\":[{\"delta\":{\"reasoning\":\"hm\",\"content\":null}}]}",
         false, false, false, true, 0, -1, ""},
        {EP_CHAT, true, "{\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7}}",
         false, false, false, false, 0, 7, ""},
        {EP_CHAT, true, "{\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}", false, false,
         false, false, 0, -1, "length"},
        {EP_CHAT, true, "not json", false, true, false, false, 0, -1, ""},
        {EP_CHAT, true, "{\"x\":1}", false, true, false, false, 0, -1, ""},
        {EP_CHAT, false,
         "{\"object\":\"chat.completion\",\"choices\":[{\"message\":{\"content\":\"abc\"},"
         "\"finish_reason\":\"stop\"}],\"usage\":{\"completion_tokens\":3,"
         "\"completion_tokens_details\":{\"reasoning_tokens\":1}}}",
         false, false, true, false, 3, 3, "stop"},
        {EP_COMPLETIONS, true, "{\"choices\":[{\"text\":\"abcd\"}]}", false, false, true, false, 4,
         -1, ""},
        {EP_EMBEDDINGS, false, "{\"data\":[{\"embedding\":[0.1]}],\"usage\":{}}", false, false,
         true, false, 0, -1, ""},
        {EP_RESPONSES, true, "{\"type\":\"response.output_text.delta\",\"delta\":\"xy\"}", false,
         false, true, false, 2, -1, ""},
        {EP_RESPONSES, true,
         "{\"type\":\"response.completed\",\"response\":{\"status\":\"completed\",\"usage\":{"
         "\"input_tokens\":3,\"output_tokens\":9}}}",
         false, false, false, false, 0, 9, "completed"},
        {EP_RESPONSES, false,
         "{\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":"
         "\"hello\"}]}]}",
         false, false, true, false, 5, -1, ""},
        {EP_RAW, true, "plain words", false, false, true, false, 11, -1, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ep_chunk c;
        endpoint_parse(cases[i].t, cases[i].stream, cases[i].data, strlen(cases[i].data), &c, NULL);
        if (c.done != cases[i].done || c.bad != cases[i].bad || c.has_content != cases[i].content ||
            c.has_reasoning != cases[i].reasoning || c.content_len != cases[i].clen ||
            c.completion_tokens != cases[i].completion || strcmp(c.finish, cases[i].finish))
            test_fail(__FILE__, __LINE__,
                      "case %zu (%s): done %d bad %d content %d reasoning %d "
                      "len %zu completion %ld finish '%s'",
                      i, cases[i].data, c.done, c.bad, c.has_content, c.has_reasoning,
                      c.content_len, c.completion_tokens, c.finish);
    }
}

TEST(endpoint_error_object)
{
    struct ep_chunk c;
    const char *s = "{\"error\":{\"message\":\"overloaded\",\"code\":503}}";
    endpoint_parse(EP_CHAT, true, s, strlen(s), &c, NULL);
    CHECK(c.is_error);
    CHECK_STR(c.error_msg, "overloaded");
}

TEST(endpoint_parse_collects_text)
{
    struct buf t;
    buf_init(&t, 0);
    struct ep_chunk c;
    const char *a = "{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}";
    const char *b = "{\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}";
    endpoint_parse(EP_CHAT, true, a, strlen(a), &c, &t);
    endpoint_parse(EP_CHAT, true, b, strlen(b), &c, &t);
    CHECK_STR(t.p, "Hello");
    buf_free(&t);
}

TEST(endpoint_headers_defaults_and_override)
{
    struct buf b;
    buf_init(&b, 0);
    struct diag d;
    const char *user[] = {"accept: */*", "X-Trace:a:b:c"};
    CHECK_INT(endpoint_headers(&b, true, "sk-1", NULL, user, 2, &d), 0);
    CHECK_STR(b.p, "User-Agent: metronome/1.0\r\nContent-Type: application/json\r\n"
                   "Authorization: Bearer sk-1\r\naccept: */*\r\nX-Trace: a:b:c\r\n");
    buf_reset(&b);
    const char *bad[] = {"NoColon"};
    CHECK_INT(endpoint_headers(&b, false, NULL, NULL, bad, 1, &d), ERR_INVALID);
    const char *crlf[] = {"X: a\r\nEvil: 1"};
    CHECK_INT(endpoint_headers(&b, false, NULL, NULL, crlf, 1, &d), ERR_INVALID);
    /* issue 17 item 6: names are tokens, values have no control characters */
    static const char *const bad_headers[] = {"X Y: 1",  "X\r\nEvil: 1", ": v", "X(: 1",
                                              "X: a\rb", "X: a\x01",     "X:\n"};
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        buf_reset(&b);
        CHECK_INT(endpoint_headers(&b, false, NULL, NULL, &bad_headers[i], 1, &d), ERR_INVALID);
        CHECK(strstr(d.msg, "--header") != NULL);
    }
    buf_reset(&b);
    CHECK_INT(endpoint_headers(&b, false, "sk\r\nX: 1", NULL, NULL, 0, &d), ERR_INVALID);
    CHECK(strstr(d.msg, "--api-key") && !strstr(d.msg, "sk"));
    /* URL credentials become Basic auth (as curl does); a key or a header wins */
    buf_reset(&b);
    CHECK_INT(endpoint_headers(&b, false, NULL, "user:p@ss", NULL, 0, &d), 0);
    CHECK(strstr(b.p, "Authorization: Basic dXNlcjpwQHNz\r\n") != NULL);
    buf_reset(&b);
    CHECK_INT(endpoint_headers(&b, false, "sk", "user:pw", NULL, 0, &d), 0);
    CHECK(strstr(b.p, "Authorization: Bearer sk\r\n") && !strstr(b.p, "Basic"));
    buf_reset(&b);
    const char *auth[] = {"Authorization: Token t"};
    CHECK_INT(endpoint_headers(&b, false, NULL, "user:pw", auth, 1, &d), 0);
    CHECK(strstr(b.p, "Authorization: Token t\r\n") && !strstr(b.p, "Basic"));
    static const struct {
        const char *in, *out;
    } b64[] = {{"a", "YQ=="}, {"ab", "YWI="}, {"abc", "YWJj"}, {"", ""}, {":", "Og=="}};
    for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
        buf_reset(&b);
        CHECK_INT(endpoint_headers(&b, false, NULL, b64[i].in, NULL, 0, &d), 0);
        char want[64];
        snprintf(want, sizeof want, "Authorization: Basic %s\r\n", b64[i].out);
        CHECK(strstr(b.p, want) != NULL);
    }
    buf_free(&b);
}

TEST(endpoint_secret_headers)
{
    const char *extra[] = {"X-Custom-Token"};
    CHECK(endpoint_header_secret("authorization", 13, NULL, 0));
    CHECK(endpoint_header_secret("X-API-Key", 9, NULL, 0));
    CHECK(endpoint_header_secret("x-custom-token", 14, extra, 1));
    CHECK(!endpoint_header_secret("Accept", 6, extra, 1));
}

/* One payload parsed in the one walk (chat, completions) and in two (validate, then take):
 * every field, the text and the reasoning text agree, including what a payload found
 * malformed late must not leave behind. */
static void one_pass_same_as_two(enum endpoint_type t, const char *s, size_t n)
{
    char *g = test_guard_copy(s, n);
    struct buf t1, t2, r1, r2;
    buf_init(&t1, 0), buf_init(&t2, 0), buf_init(&r1, 0), buf_init(&r2, 0);
    buf_puts(&t1, "earlier "), buf_puts(&t2, "earlier "); /* a malformed chunk keeps these */
    buf_puts(&r1, "hm "), buf_puts(&r2, "hm ");
    struct ep_chunk a, b;
    endpoint_parse_text(t, true, g, n, &a, &t1, &r1);
    endpoint_parse_twopass(t, true, g, n, &b, &t2, &r2);
    if (memcmp(&a, &b, sizeof a) || t1.len != t2.len || memcmp(t1.p, t2.p, t1.len) ||
        r1.len != r2.len || memcmp(r1.p, r2.p, r1.len) || t1.p[t1.len] || r1.p[r1.len])
        test_fail(__FILE__, __LINE__,
                  "type %d %.*s: one pass: bad %d content %d/%zu '%s' reasoning %d/%zu usage %d "
                  "%ld/%ld/%ld finish '%s' error %d; two: bad %d content %d/%zu '%s' reasoning "
                  "%d/%zu usage %d %ld/%ld/%ld finish '%s' error %d",
                  (int)t, (int)n, s, a.bad, a.has_content, a.content_len, t1.p, a.has_reasoning,
                  a.reasoning_len, a.has_usage, a.prompt_tokens, a.completion_tokens,
                  a.reasoning_tokens, a.finish, a.is_error, b.bad, b.has_content, b.content_len,
                  t2.p, b.has_reasoning, b.reasoning_len, b.has_usage, b.prompt_tokens,
                  b.completion_tokens, b.reasoning_tokens, b.finish, b.is_error);
    buf_free(&t1), buf_free(&t2), buf_free(&r1), buf_free(&r2);
    test_guard_free(g, n);
}

static void one_pass_same_as_two_cb(const char *s, size_t n, void *ctx)
{
    one_pass_same_as_two(*(const enum endpoint_type *)ctx, s, n);
}

/* Responses and chunks of the shapes servers send, repeated keys, wrong shapes, escapes;
 * each cut at every byte and with every byte replaced by a structural one. */
TEST(endpoint_parse_one_pass_matches_two)
{
    static const char *const cases[] = {
        "{\"id\":\"chatcmpl-9e\",\"object\":\"chat.completion\",\"created\":1796313158,\"model\":"
        "\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"it\"},"
        "\"logprobs\":null,\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":2,"
        "\"total_tokens\":3,\"completion_tokens\":1}}",
        "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\\\"b\\u00e9\"},\"finish_reason\":"
        "null}]}",
        "{\"choices\":[{\"delta\":{\"reasoning_content\":\"h\\nm\",\"content\":null}}]}",
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,"
        "\"completion_tokens_details\":{\"reasoning_tokens\":2}}}",
        "{\"choices\":[{\"delta\":{\"content\":\"aa\"}}],\"choices\":[{\"delta\":{\"content\":"
        "\"b\"}}],"
        "\"usage\":{\"completion_tokens\":1},\"usage\":{\"prompt_tokens\":3}}",
        "{\"choices\":[[1],{\"delta\":{\"content\":\"x\"}}]}",
        "{\"choices\":{\"delta\":{\"content\":\"x\"}},\"usage\":[1]}",
        "{\"error\":{\"message\":\"overloaded\",\"code\":503}}",
        "{\"error\":null,\"choices\":[{\"text\":\"abc\",\"finish_reason\":\"stop\"}]}",
        "{\"choices\":[{\"text\":\"ab\\ncd\",\"index\":0,\"logprobs\":null,\"finish_reason\":"
        "\"length\"}],\"usage\":{\"prompt_tokens\":1,\"total_tokens\":2,\"completion_tokens\":1}}",
        "{\"choices\":[{\"delta\":{\"content\":\"x\"}},{\"delta\":{\"content\":\"y\"},\"z\":[{}]}]"
        "}",
        "{ \"choices\" : [ { \"message\" : { \"content\" : \"hi\" } } ] , \"usage\" : { } }",
        "{\"choices\":[{\"message\":{\"content\":\"a\"},\"message\":{\"content\":\"b\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"\\ud800\",\"reasoning\":\"r\"}}],\"x\":{\"y\":[]}"
        "}",
        "[DONE]",
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
        for (int t = 0; t < 2; t++) {
            enum endpoint_type ty = t ? EP_COMPLETIONS : EP_CHAT;
            test_each_cut_and_subst(cases[c], strlen(cases[c]), ",:{}[]\"\\ 0n",
                                    one_pass_same_as_two_cb, &ty);
        }
    /* nesting at jscan's limit and past it, inside choices[0].delta */
    for (int levels = 56; levels <= 64; levels++) {
        char buf[400];
        int n = snprintf(buf, sizeof buf, "{\"choices\":[{\"delta\":{\"content\":\"x\",\"k\":");
        for (int i = 0; i < levels; i++)
            buf[n++] = '[';
        for (int i = 0; i < levels; i++)
            buf[n++] = ']';
        n += snprintf(buf + n, sizeof buf - (size_t)n, "}}]}");
        one_pass_same_as_two(EP_CHAT, buf, (size_t)n);
    }
}
