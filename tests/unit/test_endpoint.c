#include "endpoint.h"
#include "test.h"

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

TEST(endpoint_join_path)
{
    struct url u;
    struct diag d;
    char out[256];
    REQUIRE(url_parse("http://h/base/", &u, &d) == 0);
    CHECK_INT(url_join_path(&u, "/v1/chat/completions", out, sizeof out), 0);
    CHECK_STR(out, "/base/v1/chat/completions");
    REQUIRE(url_parse("h", &u, &d) == 0);
    CHECK_INT(url_join_path(&u, "v1/x", out, sizeof out), 0);
    CHECK_STR(out, "/v1/x");
    CHECK_INT(url_join_path(&u, "v1/x", out, 4), ERR_TOO_LARGE);
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
    CHECK_INT(endpoint_headers(&b, true, "sk-1", user, 2, &d), 0);
    CHECK_STR(b.p, "User-Agent: metronome/1.0\r\nContent-Type: application/json\r\n"
                   "Authorization: Bearer sk-1\r\naccept: */*\r\nX-Trace: a:b:c\r\n");
    buf_reset(&b);
    const char *bad[] = {"NoColon"};
    CHECK_INT(endpoint_headers(&b, false, NULL, bad, 1, &d), ERR_INVALID);
    const char *crlf[] = {"X: a\r\nEvil: 1"};
    CHECK_INT(endpoint_headers(&b, false, NULL, crlf, 1, &d), ERR_INVALID);
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
