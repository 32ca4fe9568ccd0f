/* The in-process API that `metronome demo` uses: start on a free port, answer, stop. */
#include "mock.h"
#include "prom.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends req and reads until the peer closes (requests say Connection: close). */
static size_t exchange(int port, const char *req, char *out, size_t cap)
{
    int fd = connect_to(port);
    if (fd < 0)
        return 0;
    size_t len = strlen(req), n = 0;
    if (write(fd, req, len) != (ssize_t)len) {
        close(fd);
        return 0;
    }
    ssize_t k;
    while (n + 1 < cap && (k = read(fd, out + n, cap - n - 1)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    close(fd);
    return n;
}

TEST(mock_server_in_process)
{
    struct mock_config c;
    mock_config_default(&c);
    c.port = 0;
    c.threads = 2;
    c.ttft_ns = 1000000;
    c.itl_ns = 0;
    c.osl = 3;
    struct mock_server *s = NULL;
    struct diag d = {0};
    REQUIRE(mock_start(&c, &s, &d) == 0);
    int port = mock_port(s);
    CHECK(port > 0);
    static char out[65536];
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}";
    char req[512];
    snprintf(req, sizeof req,
             "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    size_t n = exchange(port, req, out, sizeof out);
    CHECK(n > 0 && strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(out, "text/event-stream") != NULL);
    CHECK(strstr(out, "data: [DONE]") != NULL);
    n = exchange(port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out,
                 sizeof out);
    CHECK(n > 0 && strncmp(out, "HTTP/1.1 404 ", 13) == 0);
    CHECK_INT(mock_requests(s), 2);
    mock_stop(s);
    CHECK(connect_to(port) < 0); /* nothing listens any more */
}

TEST(mock_server_bad_config)
{
    struct mock_config c;
    mock_config_default(&c);
    c.host = "not-an-address";
    struct mock_server *s = NULL;
    struct diag d = {0};
    CHECK_INT(mock_start(&c, &s, &d), ERR_INVALID);
    CHECK(strstr(d.msg, "not-an-address") != NULL);
    mock_config_default(&c);
    c.port = 0;
    c.timing_log = "/nonexistent-dir/t.jsonl";
    CHECK_INT(mock_start(&c, &s, &d), ERR_IO);
    CHECK(strstr(d.msg, "/nonexistent-dir/t.jsonl") != NULL);
}

/* The mock's /metrics and --dcgm page parse as Prometheus text, carry vLLM's and DCGM's
 * names and types, and count what the mock did. */
struct seen {
    int ttft_count_ok, kv, itl, e2e_buckets, dcgm_util, dcgm_energy, success;
};

static int on_metric(void *ctx, const struct prom_sample *s)
{
    struct seen *k = ctx;
#define IS(lit) (s->name_len == strlen(lit) && memcmp(s->name, lit, s->name_len) == 0)
    if (IS("vllm:time_to_first_token_seconds_count") && s->value == 2 && s->type == PROM_HISTOGRAM)
        k->ttft_count_ok++;
    if (IS("vllm:kv_cache_usage_perc") && s->type == PROM_GAUGE && s->value == 0)
        k->kv++;
    if (IS("vllm:inter_token_latency_seconds_count") && s->value == 4)
        k->itl++;
    if (IS("vllm:e2e_request_latency_seconds_bucket"))
        k->e2e_buckets++;
    if (IS("vllm:request_success_total") && s->value == 2)
        k->success++;
    if (IS("DCGM_FI_DEV_GPU_UTIL") && s->nlabels == 7 && s->type == PROM_GAUGE)
        k->dcgm_util++;
    if (IS("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION") && s->type == PROM_COUNTER)
        k->dcgm_energy++;
#undef IS
    return 0;
}

static void parse_page(const char *resp, struct seen *k)
{
    const char *body = strstr(resp, "\r\n\r\n");
    REQUIRE(body != NULL);
    body += 4;
    struct prom_parser p;
    REQUIRE(prom_parser_init(&p, PROM_TEXT_004, 0, 0, 0) == 0);
    CHECK_INT(prom_parser_feed(&p, body, strlen(body), on_metric, k), 0);
    CHECK_INT(prom_parser_finish(&p, on_metric, k), 0);
    prom_parser_free(&p);
}

TEST(mock_server_metrics_pages)
{
    struct mock_config c;
    mock_config_default(&c);
    c.port = 0;
    c.ttft_ns = 1000000;
    c.itl_ns = 1000000;
    c.osl = 3;
    struct mock_server *s = NULL;
    struct diag d = {0};
    REQUIRE(mock_start(&c, &s, &d) == 0);
    int port = mock_port(s);
    static char out[262144];
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}";
    char req[512];
    snprintf(req, sizeof req,
             "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    for (int i = 0; i < 2; i++)
        CHECK(exchange(port, req, out, sizeof out) > 0);
    CHECK(exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out,
                   sizeof out) > 0);
    struct seen k = {0};
    parse_page(out, &k);
    CHECK_INT(k.ttft_count_ok, 1);
    CHECK_INT(k.kv, 1);           /* nothing running: nothing held */
    CHECK_INT(k.itl, 1);          /* 2 requests x (3 tokens - 1) gaps */
    CHECK_INT(k.e2e_buckets, 22); /* vLLM's 21 bounds + +Inf */
    CHECK_INT(k.success, 1);
    CHECK(exchange(port, "GET /dcgm/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out,
                   sizeof out) > 0);
    CHECK(strncmp(out, "HTTP/1.1 404 ", 13) == 0); /* only with --dcgm */
    mock_stop(s);
    c.dcgm = true;
    REQUIRE(mock_start(&c, &s, &d) == 0);
    port = mock_port(s);
    CHECK(exchange(port, "GET /dcgm/metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out,
                   sizeof out) > 0);
    memset(&k, 0, sizeof k);
    parse_page(out, &k);
    CHECK_INT(k.dcgm_util, 1);
    CHECK_INT(k.dcgm_energy, 1);
    mock_stop(s);
}

/* HEAD gets GET's head and no body: a body would be taken by a keep-alive client as the
 * start of its next response (AIPerf's HEAD-then-GET probe of /metrics failed so). */
TEST(mock_server_head_has_no_body)
{
    struct mock_config c;
    mock_config_default(&c);
    c.port = 0;
    struct mock_server *s = NULL;
    struct diag d = {0};
    REQUIRE(mock_start(&c, &s, &d) == 0);
    static char out[65536];
    size_t n = exchange(mock_port(s),
                        "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        out, sizeof out);
    CHECK(n > 0 && strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
    const char *end = strstr(out, "\r\n\r\n");
    REQUIRE(end != NULL);
    /* right after the HEAD's head comes the GET's response */
    CHECK(strncmp(end + 4, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(out, "# HELP") == NULL);
    mock_stop(s);
}
