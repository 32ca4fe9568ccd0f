/* The telemetry collector against the mock (vLLM page and --dcgm page) and against hostile
 * targets: garbage, an endless body, 100k series, a 1 GB line, a hang and a closed port
 * each cost that target its scrapes, never the collector, and the file decodes. */
#include "clock.h"
#include "mock.h"
#include "scrape.h"
#include "test.h"
#include "zio.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum hostile { H_GARBAGE, H_ENDLESS, H_SERIES, H_HUGE_LINE, H_HANG, H_COUNT };

struct hsrv {
    enum hostile mode;
    int lfd, port;
    pthread_t th;
    _Atomic int stop;
};

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

/* Writes until the peer goes away or the server stops. */
static void stream(struct hsrv *h, int fd, const char *piece, size_t n, size_t limit)
{
    size_t sent = 0;
    while (!atomic_load(&h->stop) && sent < limit) {
        ssize_t k = send(fd, piece, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        sent += (size_t)k;
    }
}

static void *hsrv_main(void *arg)
{
    struct hsrv *h = arg;
    static char big[1 << 16], comments[1 << 16];
    memset(big, 'a', sizeof big);
    for (size_t i = 0; i < sizeof comments; i++)
        comments[i] = i % 16 == 15 ? '\n' : i % 16 == 0 ? '#' : 'c';
    while (!atomic_load(&h->stop)) {
        struct pollfd p = {.fd = h->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(h->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        char req[4096];
        struct pollfd q = {.fd = fd, .events = POLLIN};
        if (poll(&q, 1, 1000) > 0 && recv(fd, req, sizeof req, 0) > 0) {
            const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
            switch (h->mode) {
            case H_GARBAGE:
                send_all(fd, head, strlen(head));
                send_all(fd, "<html>\x01\x02 not metrics</html>\n", 29);
                break;
            case H_ENDLESS:
                send_all(fd, head, strlen(head));
                stream(h, fd, comments, sizeof comments, (size_t)1 << 34);
                break;
            case H_SERIES: {
                send_all(fd, head, strlen(head));
                char line[64];
                for (int i = 0; i < 100000 && !atomic_load(&h->stop); i++) {
                    int n = snprintf(line, sizeof line, "m{i=\"%d\"} 1\n", i);
                    if (send(fd, line, (size_t)n, MSG_NOSIGNAL) <= 0)
                        break;
                }
                break;
            }
            case H_HUGE_LINE:
                send_all(fd, head, strlen(head));
                stream(h, fd, big, sizeof big, (size_t)1 << 30);
                break;
            case H_HANG:
                while (!atomic_load(&h->stop))
                    usleep(20000);
                break;
            case H_COUNT:
                break;
            }
        }
        close(fd);
    }
    return NULL;
}

static int hsrv_start(struct hsrv *h, enum hostile mode)
{
    memset(h, 0, sizeof *h);
    h->mode = mode;
    h->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(h->lfd, (struct sockaddr *)&a, sizeof a) || listen(h->lfd, 16) ||
        getsockname(h->lfd, (struct sockaddr *)&a, &al))
        return -1;
    h->port = ntohs(a.sin_port);
    return pthread_create(&h->th, NULL, hsrv_main, h);
}

static void hsrv_stop(struct hsrv *h)
{
    atomic_store(&h->stop, 1);
    pthread_join(h->th, NULL);
    close(h->lfd);
}

/* A port nobody listens on: bound, never listened, closed. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

struct lines {
    int header, ok[16], err[16];
    bool ttft_seen, dcgm_seen;
};

static void read_file(const char *dir, struct lines *L)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/server_metrics.jsonl.zst", dir);
    struct zreader *r = NULL;
    struct diag d = {0};
    REQUIRE(zr_open(&r, path, 64u << 20, &d) == 0);
    const char *line;
    size_t len;
    int rc;
    while ((rc = zr_getline(r, &line, &len, &d)) == 1) {
        if (strstr(line, "\"format\":\"metronome-server-metrics\"")) {
            L->header++;
            continue;
        }
        int t = (int)strtol(line + strlen("{\"target\":"), NULL, 10);
        REQUIRE(t >= 0 && t < 16);
        if (strstr(line, "\"error\":"))
            L->err[t]++;
        else if (strstr(line, "\"samples\":["))
            L->ok[t]++;
        if (strstr(line, "[\"vllm:time_to_first_token_seconds_count\",{\"model_name\":"))
            L->ttft_seen = true;
        if (strstr(line, "\"DCGM_FI_DEV_POWER_USAGE\":[\"gauge\","))
            L->dcgm_seen = true;
    }
    CHECK_INT(rc, 0);
    zr_close(r);
}

TEST(scrape_mock_and_hostile_targets)
{
    struct mock_config mc;
    mock_config_default(&mc);
    mc.port = 0;
    mc.dcgm = true;
    struct mock_server *ms = NULL;
    struct diag d = {0};
    REQUIRE(mock_start(&mc, &ms, &d) == 0);
    struct hsrv hs[H_COUNT];
    for (int i = 0; i < H_COUNT; i++)
        REQUIRE(hsrv_start(&hs[i], (enum hostile)i) == 0);
    static char urls[8][128];
    const char *server[8];
    size_t ns = 0;
    snprintf(urls[ns], sizeof urls[ns], "http://127.0.0.1:%d/metrics", mock_port(ms));
    server[ns] = urls[ns], ns++;
    for (int i = 0; i < H_COUNT; i++) {
        snprintf(urls[ns], sizeof urls[ns], "http://127.0.0.1:%d/metrics", hs[i].port);
        server[ns] = urls[ns], ns++;
    }
    snprintf(urls[ns], sizeof urls[ns], "http://127.0.0.1:%d/metrics", dead_port());
    server[ns] = urls[ns], ns++;
    static char gpu_url[128];
    snprintf(gpu_url, sizeof gpu_url, "127.0.0.1:%d/dcgm", mock_port(ms));
    const char *gpu[1] = {gpu_url};
    struct scrape_config c = {0};
    c.server_urls = server;
    c.nserver = ns;
    c.gpu_urls = gpu;
    c.ngpu = 1;
    c.interval_ns = 200000000;
    c.anchor_mono_ns = clock_mono_ns();
    c.out_dir = test_tmpdir();
    c.warn_prefix = "test";
    struct scraper *s = NULL;
    REQUIRE(scrape_start(&c, &s, &d) == 0);
    usleep(1100000);
    int64_t t0 = clock_mono_ns();
    CHECK_INT(scrape_stop(s, &d), 0);
    /* the hung scrape is cut by the final round's 2 s bound */
    CHECK((clock_mono_ns() - t0) < 3000000000LL);
    struct lines L = {0};
    read_file(c.out_dir, &L);
    CHECK_INT(L.header, 1);
    CHECK(L.ok[0] >= 5); /* the mock: ticks at 0, .2, ... 1.0 s and the final round */
    CHECK(L.ttft_seen);
    CHECK(L.ok[ns] >= 5); /* the DCGM page, target index after the server targets */
    CHECK(L.dcgm_seen);
    for (size_t i = 1; i < ns; i++) {
        if (L.ok[i] != 0 || L.err[i] < 1)
            test_fail(__FILE__, __LINE__, "hostile target %zu: %d ok, %d failed", i, L.ok[i],
                      L.err[i]);
    }
    /* the hang: its first scrape holds the target, the ticks after it are skipped */
    struct buf b;
    buf_init(&b, 0);
    struct jsonw w;
    jsonw_init(&w, &b);
    scrape_summary(s, &w);
    CHECK(strstr(b.p, "\"scrapes_skipped\":0") != NULL);
    CHECK(strstr(b.p, "never answered with metrics") != NULL);
    CHECK(strstr(b.p, "too many samples") != NULL);
    CHECK(strstr(b.p, "line longer than the cap") != NULL);
    CHECK(strstr(b.p, "body longer than") != NULL);
    CHECK(strstr(b.p, "no complete answer within") != NULL);
    buf_free(&b);
    scrape_free(s);
    for (int i = 0; i < H_COUNT; i++)
        hsrv_stop(&hs[i]);
    mock_stop(ms);
}

TEST(scrape_normalize)
{
    char out[256];
    CHECK_INT(scrape_normalize_url("localhost:9400", true, out, sizeof out), 0);
    CHECK_STR(out, "http://localhost:9400/metrics");
    CHECK_INT(scrape_normalize_url("http://h:9401/metrics/", true, out, sizeof out), 0);
    CHECK_STR(out, "http://h:9401/metrics");
    CHECK_INT(scrape_normalize_url("https://h/x", false, out, sizeof out), 0);
    CHECK_STR(out, "https://h/x");
    CHECK_INT(scrape_normalize_url("https://h/x", true, out, 10), ERR_TOO_LARGE);
}

/* AIPerf 0.13 appends /metrics to each --url as given (normalize_metrics_endpoint_url):
 * "http://h:8000/v1" is scraped at /v1/metrics, not at the server root. */
TEST(scrape_target_list_from_urls)
{
    const char *req[] = {"http://h:8000/v1", "h:8001/v1/", "http://h:8000/v1?x=1",
                         "https://h:8002/metrics"};
    const char *more[] = {"http://h:8000/v1/metrics", "h:9000"};
    char **v = NULL;
    size_t n = 0;
    CHECK_INT(scrape_target_list(req, 4, true, more, 2, &v, &n), 0);
    REQUIRE(n == 4);
    CHECK_STR(v[0], "http://h:8000/v1/metrics");
    CHECK_STR(v[1], "http://h:8001/v1/metrics");
    CHECK_STR(v[2], "https://h:8002/metrics");
    CHECK_STR(v[3], "http://h:9000/metrics");
    scrape_urls_free(v, n);
    CHECK_INT(scrape_target_list(req, 4, false, more, 1, &v, &n), 0);
    REQUIRE(n == 1);
    CHECK_STR(v[0], "http://h:8000/v1/metrics");
    scrape_urls_free(v, n);
}
