/* The in-process API that `metronome demo` uses: start on a free port, answer, stop. */
#include "mock.h"
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
