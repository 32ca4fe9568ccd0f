/*
 * Engine tests against a tiny in-test HTTP server (one thread, blocking sockets). The
 * e2e tests run the real binary against `metronome mock`; these pin the engine's own
 * behaviour (records, modes, timeouts) without another process.
 */
#include "engine.h"
#include "mock.h"
#include "replay.h"
#include "test.h"
#include "trace.h"
#include "xalloc.h"
#include "zio.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"

enum srv_behaviour {
    SRV_SSE,
    SRV_JSON,
    SRV_STALL,
    SRV_500,
    SRV_CLOSE_MID,
    SRV_JSON_CLOSE_IDLE,
    SRV_101,             /* 100 Continue (skipped), then an unrequested 101 and non-HTTP bytes */
    SRV_ECHO,            /* logs each body; replies (JSON) "re:" + the last message's content */
    SRV_JSON_THEN_STALL, /* SRV_JSON 150 ms after the first request, nothing after */
};

#define SRV_MAX_BODIES 64

struct srv {
    int lfd;
    int port;
    enum srv_behaviour how;
    int tokens;
    pthread_t th;
    _Atomic int stop;
    _Atomic int requests;
    pthread_mutex_t mu; /* guards the body log */
    char *bodies[SRV_MAX_BODIES];
    int nbodies;
};

static int read_request(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
        if (k <= 0)
            return -1;
        n += (size_t)k;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(buf, "content-length:");
        long len = cl ? strtol(cl + 15, NULL, 10) : 0;
        size_t have = n - (size_t)(end + 4 - buf);
        while ((long)have < len) {
            k = recv(fd, buf + n, cap - 1 - n, 0);
            if (k <= 0)
                return -1;
            n += (size_t)k;
            have += (size_t)k;
        }
        return 0;
    }
}

static void send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

static void *conn_thread(void *arg)
{
    struct srv *s = ((void **)arg)[0];
    int fd = (int)(intptr_t)((void **)arg)[1];
    free(arg);
    char *buf = xmalloc(1 << 20);
    while (!atomic_load(&s->stop) && read_request(fd, buf, 1 << 20) == 0) {
        atomic_fetch_add(&s->requests, 1);
        char out[4096];
        if (s->how == SRV_ECHO) {
            const char *b = strstr(buf, "\r\n\r\n") + 4;
            cJSON *req = cJSON_Parse(b);
            const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
            const cJSON *last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
            const cJSON *txt = cJSON_GetObjectItemCaseSensitive(last, "content");
            char reply[256];
            snprintf(reply, sizeof reply, "re:%s", cJSON_IsString(txt) ? txt->valuestring : "?");
            cJSON_Delete(req);
            pthread_mutex_lock(&s->mu);
            if (s->nbodies < SRV_MAX_BODIES)
                s->bodies[s->nbodies++] = xstrdup(b);
            pthread_mutex_unlock(&s->mu);
            char body[512];
            snprintf(body, sizeof body,
                     "{\"object\":\"chat.completion\",\"choices\":[{\"message\":{\"role\":"
                     "\"assistant\",\"content\":\"%s\"},\"finish_reason\":\"stop\"}],"
                     "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}}",
                     reply);
            int n = snprintf(out, sizeof out,
                             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             strlen(body), body);
            send_all(fd, out, (size_t)n);
        } else if (s->how == SRV_JSON_THEN_STALL && atomic_load(&s->requests) > 1) {
            while (!atomic_load(&s->stop)) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 50) > 0) {
                    char tmp[64];
                    if (recv(fd, tmp, sizeof tmp, 0) <= 0)
                        break;
                }
            }
            break;
        } else if (s->how == SRV_JSON || s->how == SRV_JSON_CLOSE_IDLE ||
                   s->how == SRV_JSON_THEN_STALL) {
            if (s->how == SRV_JSON_THEN_STALL)
                usleep(150000); /* the second request starts 150 ms after the first */
            const char *body = "{\"object\":\"chat.completion\",\"choices\":[{\"message\":{"
                               "\"content\":\"hello there\"},\"finish_reason\":\"stop\"}],"
                               "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}}";
            int n = snprintf(out, sizeof out,
                             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             strlen(body), body);
            send_all(fd, out, (size_t)n);
            if (s->how == SRV_JSON_CLOSE_IDLE) { /* keep-alive promised, then closed idle */
                usleep(10000);
                break;
            }
        } else if (s->how == SRV_500) {
            const char *body = "{\"error\":\"boom\"}";
            int n = snprintf(out, sizeof out,
                             "HTTP/1.1 500 Internal Server Error\r\nContent-Length: %zu\r\n\r\n%s",
                             strlen(body), body);
            send_all(fd, out, (size_t)n);
        } else if (s->how == SRV_101) {
            const char *h = "HTTP/1.1 100 Continue\r\n\r\n"
                            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
                            "Connection: Upgrade\r\n\r\n\x00\x00\x12\x04\x00";
            send_all(fd, h, strlen(h) + 5);
            break;
        } else if (s->how == SRV_STALL) {
            const char *h = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n";
            send_all(fd, h, strlen(h));
            while (!atomic_load(&s->stop)) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 50) > 0) {
                    char tmp[64];
                    if (recv(fd, tmp, sizeof tmp, 0) <= 0)
                        break;
                }
            }
            break;
        } else {
            const char *h = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n";
            send_all(fd, h, strlen(h));
            for (int i = 0; i < s->tokens; i++) {
                char ev[256];
                int e =
                    snprintf(ev, sizeof ev,
                             "data: {\"choices\":[{\"delta\":{\"content\":\"t%d\"}}]}\r\n\r\n", i);
                int n = snprintf(out, sizeof out, "%x\r\n%s\r\n", e, ev);
                send_all(fd, out, (size_t)n);
                if (s->how == SRV_CLOSE_MID && i == 1)
                    goto done;
            }
            const char *tail_ev = "data: {\"choices\":[],\"usage\":{\"completion_tokens\":3}}\n\n"
                                  "data: [DONE]\n\n";
            int n = snprintf(out, sizeof out, "%zx\r\n%s\r\n0\r\n\r\n", strlen(tail_ev), tail_ev);
            send_all(fd, out, (size_t)n);
        }
    }
done:
    free(buf);
    close(fd);
    return NULL;
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        void **a = xmalloc(2 * sizeof *a);
        a[0] = s;
        a[1] = (void *)(intptr_t)fd;
        pthread_t t;
        pthread_create(&t, NULL, conn_thread, a);
        pthread_detach(t);
    }
    return NULL;
}

/* port 0: a free one */
static void srv_start_on(struct srv *s, enum srv_behaviour how, int tokens, int port)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->how = how;
    s->tokens = tokens;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)port)};
    bind(s->lfd, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(s->lfd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    listen(s->lfd, 1024);
    pthread_create(&s->th, NULL, srv_main, s);
}

static void srv_start(struct srv *s, enum srv_behaviour how, int tokens)
{
    srv_start_on(s, how, tokens, 0);
}

static void srv_stop(struct srv *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    close(s->lfd);
    usleep(100000); /* connection threads see stop */
    for (int i = 0; i < s->nbodies; i++)
        free(s->bodies[i]);
    s->nbodies = 0;
}

/* An in-memory source of n single-turn chat requests. */
struct msrc {
    long n, i;
    double gap_ms;
    bool timed;
    long slow_from; /* > 0: items from this index on take slow_us each to read */
    long slow_us;
    char body[256];
};

static int msrc_next(void *ctx, struct trace_request *out, struct diag *d)
{
    (void)d;
    struct msrc *m = ctx;
    if (m->i >= m->n)
        return 0;
    if (m->slow_from > 0 && m->i >= m->slow_from)
        usleep((useconds_t)m->slow_us);
    memset(out, 0, sizeof *out);
    out->index = m->i;
    out->session = NULL;
    out->timed = m->timed;
    out->t_ms = (double)m->i * m->gap_ms;
    out->model = "m";
    out->stream = true;
    out->isl = 3;
    out->osl = 4;
    snprintf(m->body, sizeof m->body,
             "{\"messages\":[{\"role\":\"user\",\"content\":\"hi %ld\"}],\"model\":\"m\","
             "\"stream\":true}",
             m->i);
    out->body = m->body;
    out->body_len = strlen(m->body);
    m->i++;
    return 1;
}

static int msrc_rewind(void *ctx, struct diag *d)
{
    (void)d;
    ((struct msrc *)ctx)->i = 0;
    return 0;
}

struct run {
    cJSON *recs[4096];
    int n;
    cJSON *runjson;
};

static void load_run(const char *dir, struct run *r)
{
    memset(r, 0, sizeof *r);
    char path[512];
    snprintf(path, sizeof path, "%s/records.jsonl.zst", dir);
    struct zreader *z;
    struct diag d;
    if (zr_open(&z, path, 1 << 24, &d))
        return;
    const char *line;
    size_t len;
    while (zr_getline(z, &line, &len, &d) == 1 && r->n < 4096)
        r->recs[r->n++] = cJSON_ParseWithLength(line, len);
    zr_close(z);
    snprintf(path, sizeof path, "%s/run.json", dir);
    char *txt;
    size_t tl;
    if (zio_read_all(path, 1 << 24, &txt, &tl, &d) == 0) {
        r->runjson = cJSON_Parse(txt);
        free(txt);
    }
}

static void free_run(struct run *r)
{
    for (int i = 0; i < r->n; i++)
        cJSON_Delete(r->recs[i]);
    cJSON_Delete(r->runjson);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const char *err_type(const cJSON *o)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

static void base_cfg(struct replay_config *c, const char *dir, char *url, int port)
{
    replay_config_defaults(c);
    snprintf(url, 64, "127.0.0.1:%d", port);
    static const char *urls[1];
    urls[0] = url;
    c->urls = urls;
    c->nurls = 1;
    c->out_dir = dir;
    c->progress = 0;
    c->workers = 2;
}

TEST(replay_concurrency_sse_records)
{
    struct srv s;
    srv_start(&s, SRV_SSE, 5);
    char dir[512], url[64];
    snprintf(dir, sizeof dir, "%s/run", test_tmpdir());
    struct replay_config c;
    base_cfg(&c, dir, url, s.port);
    c.mode = MODE_CONCURRENCY;
    c.concurrency = 4;
    c.api_key = "sk-secret-123";
    struct msrc m = {.n = 40};
    struct replay_source src = {.ctx = &m, .next = msrc_next, .rewind = msrc_rewind};
    struct replay_result res;
    struct diag d = {0};
    int rc = replay_run(&c, &src, &res, &d);
    srv_stop(&s);
    if (rc)
        test_fail(__FILE__, __LINE__, "replay_run: %s", d.msg);
    REQUIRE(rc == 0);
    CHECK_INT(res.completed, 40);
    CHECK_INT(res.errors, 0);
    struct run r;
    load_run(dir, &r);
    CHECK_INT(r.n, 40);
    bool seen[40] = {0};
    for (int i = 0; i < r.n; i++) {
        cJSON *o = r.recs[i];
        REQUIRE(o);
        long idx = (long)num(o, "i");
        REQUIRE(idx >= 0 && idx < 40);
        seen[idx] = true;
        CHECK_INT((long)num(o, "status"), 200);
        CHECK(err_type(o) == NULL);
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(o, "chunks");
        CHECK_INT(cJSON_GetArraySize(ch), 5);
        CHECK(num(o, "t_start") >= num(o, "t_intended"));
        CHECK(num(o, "t_sent") >= num(o, "t_start"));
        CHECK(num(o, "t_head") >= num(o, "t_sent"));
        CHECK(num(o, "t_first") >= num(o, "t_head"));
        CHECK(num(o, "t_last") >= num(o, "t_first"));
        CHECK(num(o, "t_end") >= num(o, "t_last"));
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "usage");
        CHECK_INT((long)num(u, "completion_tokens"), 3);
        /* transport counts: the request body (one write), the response body without the
         * chunked framing (the server's 6 sends, which reads may merge but not exceed
         * while each carries body bytes: at most one read per send plus the framing-only
         * last chunk's) */
        char body[256];
        snprintf(body, sizeof body,
                 "{\"messages\":[{\"role\":\"user\",\"content\":\"hi %ld\"}],\"model\":\"m\","
                 "\"stream\":true}",
                 idx);
        CHECK_INT((long)num(o, "tx_bytes"), (long)strlen(body));
        CHECK_INT((long)num(o, "tx_writes"), 1);
        long rx = (long)strlen("data: {\"choices\":[],\"usage\":{\"completion_tokens\":3}}\n\n"
                               "data: [DONE]\n\n");
        for (int t = 0; t < 5; t++)
            rx += snprintf(body, sizeof body,
                           "data: {\"choices\":[{\"delta\":{\"content\":\"t%d\"}}]}\r\n\r\n", t);
        CHECK_INT((long)num(o, "rx_bytes"), rx);
        CHECK(num(o, "rx_reads") >= 1 && num(o, "rx_reads") <= 6);
    }
    for (int i = 0; i < 40; i++)
        CHECK(seen[i]);
    REQUIRE(r.runjson);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.runjson, "complete")));
    char *txt = cJSON_PrintUnformatted(r.runjson);
    CHECK(strstr(txt, "sk-secret-123") == NULL);
    CHECK(strstr(txt, "<redacted>") != NULL);
    free(txt);
    free_run(&r);
}

TEST(replay_rate_constant_timing)
{
    struct srv s;
    srv_start(&s, SRV_JSON, 0);
    char dir[512], url[64];
    snprintf(dir, sizeof dir, "%s/run", test_tmpdir());
    struct replay_config c;
    base_cfg(&c, dir, url, s.port);
    c.mode = MODE_RATE;
    c.arrival = ARRIVAL_CONSTANT;
    c.rate = 200;
    struct msrc m = {.n = 100};
    struct replay_source src = {.ctx = &m, .next = msrc_next, .rewind = msrc_rewind};
    struct replay_result res;
    struct diag d = {0};
    int rc = replay_run(&c, &src, &res, &d);
    srv_stop(&s);
    REQUIRE(rc == 0);
    struct run r;
    load_run(dir, &r);
    CHECK_INT(r.n, 100);
    double t0 = -1;
    for (int i = 0; i < r.n; i++) {
        double ti = num(r.recs[i], "t_intended");
        if (t0 < 0 || ti < t0)
            t0 = ti;
    }
    for (int i = 0; i < r.n; i++) {
        double idx = num(r.recs[i], "i");
        double ti = num(r.recs[i], "t_intended");
        CHECK_NEAR(ti - t0, idx * 5e6, 1000);
        /* lateness: generous on a shared test machine, the benchmark measures it tightly */
        CHECK(num(r.recs[i], "t_start") - ti < 50e6);
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(r.recs[i], "chunks");
        CHECK_INT(cJSON_GetArraySize(ch), 1);
    }
    free_run(&r);
}

TEST(replay_errors_classified)
{
    static const struct {
        enum srv_behaviour how;
        const char *type;
        int status;
    } cases[] = {
        {SRV_500, "http", 500},
        {SRV_STALL, "timeout_idle", 200},
        {SRV_CLOSE_MID, "closed", 200},
        {SRV_101, "protocol", 101}, /* not read as an interim response */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct srv s;
        srv_start(&s, cases[k].how, 5);
        char dir[512], url[64];
        snprintf(dir, sizeof dir, "%s/run%zu", test_tmpdir(), k);
        struct replay_config c;
        base_cfg(&c, dir, url, s.port);
        c.mode = MODE_CONCURRENCY;
        c.concurrency = 2;
        c.idle_timeout_s = 0.3;
        struct msrc m = {.n = 4};
        struct replay_source src = {.ctx = &m, .next = msrc_next, .rewind = msrc_rewind};
        struct replay_result res;
        struct diag d = {0};
        int64_t t = clock_mono_ns();
        int rc = replay_run(&c, &src, &res, &d);
        t = clock_mono_ns() - t;
        srv_stop(&s);
        REQUIRE(rc == 0);
        CHECK(t < 5000000000LL);
        struct run r;
        load_run(dir, &r);
        CHECK_INT(r.n, 4);
        for (int i = 0; i < r.n; i++) {
            const char *et = err_type(r.recs[i]);
            if (!et || strcmp(et, cases[k].type))
                test_fail(__FILE__, __LINE__, "case %zu: error type %s, wanted %s", k,
                          et ? et : "(none)", cases[k].type);
            CHECK_INT((long)num(r.recs[i], "status"), cases[k].status);
        }
        CHECK_INT(res.errors, 4);
        free_run(&r);
    }
}

TEST(replay_connect_refused_preflight)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/run", test_tmpdir());
    struct replay_config c;
    char url[64];
    /* A port nobody listens on: bound, then released. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t alen = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &alen);
    int port = ntohs(a.sin_port);
    close(fd);
    base_cfg(&c, dir, url, port);
    struct msrc m = {.n = 1};
    struct replay_source src = {.ctx = &m, .next = msrc_next};
    struct diag d = {0};
    CHECK(replay_run(&c, &src, NULL, &d) < 0);
    char want[64];
    snprintf(want, sizeof want, "cannot connect to 127.0.0.1:%d", port);
    CHECK(strstr(d.msg, want) != NULL);
}

TEST(replay_server_closes_idle_connections)
{
    /* Every connection is closed 10 ms after its response although keep-alive was allowed:
     * pooled connections die while idle (noticed and dropped from the pool) or under a new
     * request (retried once on a fresh connection). No request may fail. */
    struct srv s;
    srv_start(&s, SRV_JSON_CLOSE_IDLE, 0);
    char dir[512], url[64];
    snprintf(dir, sizeof dir, "%s/run", test_tmpdir());
    struct replay_config c;
    base_cfg(&c, dir, url, s.port);
    c.mode = MODE_RATE;
    c.arrival = ARRIVAL_CONSTANT;
    c.rate = 100;
    c.workers = 1;
    struct msrc m = {.n = 60};
    struct replay_source src = {.ctx = &m, .next = msrc_next, .rewind = msrc_rewind};
    struct replay_result res;
    struct diag d = {0};
    int rc = replay_run(&c, &src, &res, &d);
    srv_stop(&s);
    REQUIRE(rc == 0);
    CHECK_INT(res.completed, 60);
    CHECK_INT(res.errors, 0);
    struct run r;
    load_run(dir, &r);
    CHECK_INT(r.n, 60);
    for (int i = 0; i < r.n; i++)
        if (err_type(r.recs[i])) {
            char *t = cJSON_PrintUnformatted(r.recs[i]);
            test_fail(__FILE__, __LINE__, "record failed: %s", t);
            free(t);
        }
    free_run(&r);
}

struct late_srv {
    struct srv s;
    int port;
};

static void *start_later(void *arg)
{
    struct late_srv *l = arg;
    usleep(600000);
    srv_start_on(&l->s, SRV_JSON, 0, l->port);
    return NULL;
}

TEST(replay_server_that_comes_up_late_is_found)
{
    /* Nothing listens for the first 0.6 s: those requests fail with `connect` (each
     * failure also asks the resolver thread to look "localhost" up again); once the server
     * is up, requests succeed. No preflight, which would refuse to start. */
    struct late_srv l;
    srv_start(&l.s, SRV_JSON, 0);
    l.port = l.s.port;
    srv_stop(&l.s);
    char dir[512], url[64];
    snprintf(dir, sizeof dir, "%s/run", test_tmpdir());
    struct replay_config c;
    base_cfg(&c, dir, url, l.port);
    snprintf(url, 64, "localhost:%d", l.port);
    c.preflight = false;
    c.mode = MODE_RATE;
    c.arrival = ARRIVAL_CONSTANT;
    c.rate = 40;
    c.workers = 1;
    struct msrc m = {.n = 60};
    struct replay_source src = {.ctx = &m, .next = msrc_next, .rewind = msrc_rewind};
    pthread_t th;
    pthread_create(&th, NULL, start_later, &l);
    struct replay_result res;
    struct diag d = {0};
    int rc = replay_run(&c, &src, &res, &d);
    pthread_join(th, NULL);
    srv_stop(&l.s);
    REQUIRE(rc == 0);
    CHECK(res.errors > 5);
    CHECK(res.completed - res.errors > 20);
    struct run r;
    load_run(dir, &r);
    CHECK_INT(r.n, 60);
    int connect_errors = 0, ok_late = 0;
    for (int i = 0; i < r.n; i++) {
        const char *et = err_type(r.recs[i]);
        if (et && !strcmp(et, "connect"))
            connect_errors++;
        else if (!et && (long)num(r.recs[i], "i") >= 40)
            ok_late++;
    }
    CHECK_INT(connect_errors, res.errors);
    CHECK_INT(ok_late, 20); /* from 1 s on, every request got through */
    free_run(&r);
}

TEST(replay_closed_loop_workers_share_the_work)
{
    /* Closed loop, 2 workers with 3 and 2 slots, 600 streamed requests of ~6 ms. A worker
     * that moved its ring into its private pending list used to look idle to the
     * scheduler and be stocked again, so one worker ended the run with a backlog while
     * the other idled (AIPerf-equivalent runs reported 12 % lower throughput). Each
     * worker's share must follow its slots, and the run must take about 600/5 rounds. */
    struct mock_config mc;
    mock_config_default(&mc);
    mc.port = 0;
    mc.ttft_ns = 3000000;
    mc.itl_ns = 1000000;
    mc.osl = 4;
    struct mock_server *ms = NULL;
    struct diag d = {0};
    REQUIRE(mock_start(&mc, &ms, &d) == 0);
    char dir[512], url[64];
    snprintf(dir, sizeof dir, "%s/run", test_tmpdir());
    struct replay_config c;
    base_cfg(&c, dir, url, mock_port(ms));
    c.mode = MODE_CONCURRENCY;
    c.concurrency = 5;
    c.workers = 2;
    struct msrc m = {.n = 600};
    struct replay_source src = {.ctx = &m, .next = msrc_next, .rewind = msrc_rewind};
    struct replay_result res;
    int rc = replay_run(&c, &src, &res, &d);
    mock_stop(ms);
    REQUIRE(rc == 0);
    CHECK_INT(res.errors, 0);
    struct run r;
    load_run(dir, &r);
    REQUIRE(r.n == 600);
    int per[2] = {0, 0};
    double busy = 0, t0 = 1e300, t1 = 0;
    for (int i = 0; i < r.n; i++) {
        int wk = (int)num(r.recs[i], "worker");
        REQUIRE(wk == 0 || wk == 1);
        per[wk]++;
        double s = num(r.recs[i], "t_start"), e = num(r.recs[i], "t_end");
        busy += e - s;
        t0 = s < t0 ? s : t0;
        t1 = e > t1 ? e : t1;
    }
    /* slots 3 and 2: 360 and 240, within two rounds */
    if (abs(per[0] - 360) > 6 || abs(per[1] - 240) > 6)
        test_fail(__FILE__, __LINE__, "worker shares %d and %d, wanted 360 and 240", per[0],
                  per[1]);
    /* the time-averaged number of requests in flight stays near the concurrency */
    double inflight = busy / (t1 - t0);
    if (inflight < 4.5)
        test_fail(__FILE__, __LINE__, "%.2f requests in flight on average, wanted ~5", inflight);
    free_run(&r);
}

TEST(replay_closed_loop_lateness_shows_a_starved_slot)
{
    /* Closed loop, 2 slots, instant replies; from the 8th request on the source takes
     * 30 ms per request, so slots sit free waiting for work. t_intended is when a slot
     * became free, so that wait shows as lateness (it used to be set when the request
     * was finally taken, hiding it). */
    struct srv s;
    srv_start(&s, SRV_JSON, 0);
    char dir[512], url[64];
    snprintf(dir, sizeof dir, "%s/run", test_tmpdir());
    struct replay_config c;
    base_cfg(&c, dir, url, s.port);
    c.mode = MODE_CONCURRENCY;
    c.concurrency = 2;
    c.workers = 1;
    struct msrc m = {.n = 12, .slow_from = 8, .slow_us = 30000};
    struct replay_source src = {.ctx = &m, .next = msrc_next, .rewind = msrc_rewind};
    struct replay_result res;
    struct diag d = {0};
    int rc = replay_run(&c, &src, &res, &d);
    srv_stop(&s);
    REQUIRE(rc == 0);
    CHECK_INT(res.errors, 0);
    struct run r;
    load_run(dir, &r);
    REQUIRE(r.n == 12);
    int starved = 0;
    for (int i = 0; i < r.n; i++) {
        double late = num(r.recs[i], "t_start") - num(r.recs[i], "t_intended");
        long idx = (long)num(r.recs[i], "i");
        CHECK(late >= 0);
        if (idx >= 8 && late > 15e6)
            starved++;
    }
    if (starved < 3)
        test_fail(__FILE__, __LINE__, "%d slow requests show the slot's wait, wanted >= 3",
                  starved);
    free_run(&r);
}

/* Multi-turn in-memory source: `nsess` sessions of `nturns` turns each, the turns of a
 * session `stride` requests apart (so sessions overlap), live history. */
struct msess {
    int nsess, nturns, i;
    char sid[32], body[256];
};

static int msess_next(void *ctx, struct trace_request *out, struct diag *d)
{
    (void)d;
    struct msess *m = ctx;
    if (m->i >= m->nsess * m->nturns)
        return 0;
    /* request i: round r = i / nsess of session i % nsess */
    int sess = m->i % m->nsess, turn = m->i / m->nsess;
    memset(out, 0, sizeof *out);
    out->index = m->i;
    snprintf(m->sid, sizeof m->sid, "s%d", sess);
    out->session = m->sid;
    out->turn = turn;
    out->model = "m";
    out->stream = true;
    out->isl = 3;
    out->osl = 4;
    out->history = turn > 0 ? TRACE_HISTORY_LIVE : TRACE_HISTORY_RECORDED;
    snprintf(m->body, sizeof m->body,
             "{\"messages\":[{\"role\":\"user\",\"content\":\"%s turn %d\"}],\"model\":\"m\","
             "\"stream\":true}",
             m->sid, turn);
    out->body = m->body;
    out->body_len = strlen(m->body);
    m->i++;
    return 1;
}

static int msess_turns(void *ctx, const char *session)
{
    (void)session;
    return ((struct msess *)ctx)->nturns;
}

TEST(replay_sessions_freed_after_their_last_turn)
{
    /* 300 overlapping sessions of 3 turns through one worker: each is freed when its last
     * turn ends (the session table deletes with backward shifts while others are added),
     * and every later turn still found its session: turns in order, all 300 complete. */
    struct srv s;
    srv_start(&s, SRV_SSE, 3);
    char dir[512], url[64];
    snprintf(dir, sizeof dir, "%s/run", test_tmpdir());
    struct replay_config c;
    base_cfg(&c, dir, url, s.port);
    c.mode = MODE_CONCURRENCY;
    c.concurrency = 16;
    c.workers = 1;
    struct msess m = {.nsess = 300, .nturns = 3};
    struct replay_source src = {
        .ctx = &m, .next = msess_next, .rewind = NULL, .turns = msess_turns};
    struct replay_result res;
    struct diag d = {0};
    int rc = replay_run(&c, &src, &res, &d);
    srv_stop(&s);
    REQUIRE(rc == 0);
    CHECK_INT(res.completed, 900);
    CHECK_INT(res.errors, 0);
    struct run r;
    load_run(dir, &r);
    REQUIRE(r.n == 900);
    static double end_of[300][3], start_of[300][3];
    for (int i = 0; i < r.n; i++) {
        const cJSON *cv = cJSON_GetObjectItemCaseSensitive(r.recs[i], "conv");
        REQUIRE(cJSON_IsString(cv));
        int k = (int)strtol(cv->valuestring + 1, NULL, 10), t = (int)num(r.recs[i], "turn");
        REQUIRE(k >= 0 && k < 300 && t >= 0 && t < 3);
        start_of[k][t] = num(r.recs[i], "t_start");
        end_of[k][t] = num(r.recs[i], "t_end");
    }
    int out_of_order = 0;
    for (int k = 0; k < 300; k++)
        for (int t = 1; t < 3; t++)
            out_of_order += start_of[k][t] < end_of[k][t - 1];
    CHECK_INT(out_of_order, 0);
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(r.runjson, "counts");
    CHECK_INT((long)num(counts, "sessions_completed"), 300);
    free_run(&r);
}

TEST(replay_default_url_is_aiperfs)
{
    /* One default everywhere: mock, profile and AIPerf listen on / use localhost:8000
     * (replay used to default to 8080). */
    struct replay_config c;
    replay_config_defaults(&c);
    CHECK_INT((long)c.nurls, 1);
    CHECK_STR(c.urls[0], "localhost:8000");
}

/* The exact messages array of a logged request body, as compact JSON. */
static char *messages_of(const char *body)
{
    cJSON *j = cJSON_Parse(body);
    char *m = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "messages"));
    cJSON_Delete(j);
    return m;
}

TEST(replay_live_history_carries_every_earlier_turn)
{
    /* A live-history trace (header "history":"live"): turn k must carry every earlier
     * turn's user message and the reply actually received, in order, then its own. The
     * first turn's exchange used to be dropped: turn 1 went out alone and turn 2 with
     * turn 1's exchange only. One session of 3 turns and one of 2 (sessions overlap). */
    struct srv s;
    srv_start(&s, SRV_ECHO, 0);
    char dir[512], url[64];
    snprintf(dir, sizeof dir, "%s/run", test_tmpdir());
    struct replay_config c;
    base_cfg(&c, dir, url, s.port);
    c.mode = MODE_CONCURRENCY;
    c.concurrency = 2;
    c.workers = 1;
    struct msess m = {.nsess = 2, .nturns = 3};
    static const char hjson[] = "{\"metronome_trace\":1,\"history\":\"live\"}";
    struct trace_header h = {
        .version = 1, .requests = 6, .sessions = 2, .json = hjson, .json_len = sizeof hjson - 1};
    struct replay_source src = {.ctx = &m, .header = &h, .next = msess_next, .turns = msess_turns};
    struct replay_result res;
    struct diag d = {0};
    int rc = replay_run(&c, &src, &res, &d);
    REQUIRE(rc == 0);
    CHECK_INT(res.errors, 0);
    static const char *const want[2][3] = {
        {"[{\"role\":\"user\",\"content\":\"s0 turn 0\"}]",
         "[{\"role\":\"user\",\"content\":\"s0 turn 0\"},{\"role\":\"assistant\",\"content\":"
         "\"re:s0 turn 0\"},{\"role\":\"user\",\"content\":\"s0 turn 1\"}]",
         "[{\"role\":\"user\",\"content\":\"s0 turn 0\"},{\"role\":\"assistant\",\"content\":"
         "\"re:s0 turn 0\"},{\"role\":\"user\",\"content\":\"s0 turn 1\"},{\"role\":"
         "\"assistant\",\"content\":\"re:s0 turn 1\"},{\"role\":\"user\",\"content\":\"s0 turn "
         "2\"}]"},
        {"[{\"role\":\"user\",\"content\":\"s1 turn 0\"}]",
         "[{\"role\":\"user\",\"content\":\"s1 turn 0\"},{\"role\":\"assistant\",\"content\":"
         "\"re:s1 turn 0\"},{\"role\":\"user\",\"content\":\"s1 turn 1\"}]",
         "[{\"role\":\"user\",\"content\":\"s1 turn 0\"},{\"role\":\"assistant\",\"content\":"
         "\"re:s1 turn 0\"},{\"role\":\"user\",\"content\":\"s1 turn 1\"},{\"role\":"
         "\"assistant\",\"content\":\"re:s1 turn 1\"},{\"role\":\"user\",\"content\":\"s1 turn "
         "2\"}]"},
    };
    pthread_mutex_lock(&s.mu);
    CHECK_INT(s.nbodies, 6);
    int seen = 0;
    for (int i = 0; i < s.nbodies; i++) {
        char *msgs = messages_of(s.bodies[i]);
        REQUIRE(msgs);
        /* the last message names the session and turn */
        const char *last = strrchr(msgs, 's');
        int k = -1, t = -1;
        if (last && sscanf(last, "s%d turn %d", &k, &t) != 2)
            k = -1;
        if (k < 0 || k > 1 || t < 0 || t > 2)
            test_fail(__FILE__, __LINE__, "unexpected body %s", msgs);
        else if (strcmp(msgs, want[k][t]))
            test_fail(__FILE__, __LINE__, "s%d turn %d sent\n  %s\nwanted\n  %s", k, t, msgs,
                      want[k][t]);
        else
            seen++;
        cJSON_free(msgs);
    }
    CHECK_INT(seen, 6);
    pthread_mutex_unlock(&s.mu);
    srv_stop(&s);
}

TEST(replay_closed_loop_sessions_keep_their_slot)
{
    /* Closed loop over sessions of 3 turns, 2 slots, 6 sessions, ~40 ms per request. As in
     * AIPerf 0.13, --concurrency counts sessions: a session keeps its slot from its first
     * turn to the end of its last, so no more than 2 sessions are ever open and a later
     * turn starts when it is due (previous end + delay) instead of queueing behind a new
     * session. It used to be reported one request latency "late". */
    struct mock_config mc;
    mock_config_default(&mc);
    mc.port = 0;
    mc.ttft_ns = 40000000;
    mc.itl_ns = 1000000;
    mc.osl = 2;
    struct mock_server *ms = NULL;
    struct diag d = {0};
    REQUIRE(mock_start(&mc, &ms, &d) == 0);
    char dir[512], url[64];
    snprintf(dir, sizeof dir, "%s/run", test_tmpdir());
    struct replay_config c;
    base_cfg(&c, dir, url, mock_port(ms));
    c.mode = MODE_CONCURRENCY;
    c.concurrency = 2;
    c.workers = 1;
    struct msess m = {.nsess = 6, .nturns = 3};
    struct replay_source src = {.ctx = &m, .next = msess_next, .turns = msess_turns};
    struct replay_result res;
    int rc = replay_run(&c, &src, &res, &d);
    mock_stop(ms);
    REQUIRE(rc == 0);
    CHECK_INT(res.errors, 0);
    struct run r;
    load_run(dir, &r);
    REQUIRE(r.n == 18);
    double first[6], last[6], late_max = 0;
    for (int k = 0; k < 6; k++)
        first[k] = 1e300, last[k] = 0;
    for (int i = 0; i < r.n; i++) {
        const cJSON *cv = cJSON_GetObjectItemCaseSensitive(r.recs[i], "conv");
        REQUIRE(cJSON_IsString(cv));
        int k = (int)strtol(cv->valuestring + 1, NULL, 10);
        REQUIRE(k >= 0 && k < 6);
        double st = num(r.recs[i], "t_start"), en = num(r.recs[i], "t_end");
        first[k] = st < first[k] ? st : first[k];
        last[k] = en > last[k] ? en : last[k];
        if (num(r.recs[i], "turn") > 0) {
            double late = st - num(r.recs[i], "t_intended");
            late_max = late > late_max ? late : late_max;
        }
    }
    /* sessions open at each session's start: never more than the 2 slots */
    int over = 0;
    for (int k = 0; k < 6; k++) {
        int open = 0;
        for (int j = 0; j < 6; j++)
            open += first[j] <= first[k] && last[j] > first[k];
        over += open > 2;
    }
    CHECK_INT(over, 0);
    /* a later turn waits for nothing: far below one request (~40 ms) even on a busy box */
    if (late_max > 15e6)
        test_fail(__FILE__, __LINE__, "a later turn started %.1f ms after it was due",
                  late_max / 1e6);
    free_run(&r);
}

TEST(replay_closed_loop_cut_sessions_give_their_slots_back)
{
    /* --request-count cuts sessions short: s0..s5 get their first turns, s0 and s1 a second
     * one, nothing more. Slots kept for turns that never come must be given back, or the
     * first turns still waiting never start and the run never ends. Workers 1 and 2. */
    for (int workers = 1; workers <= 2; workers++) {
        struct srv s;
        srv_start(&s, SRV_SSE, 3);
        char dir[512], url[64];
        snprintf(dir, sizeof dir, "%s/run%d", test_tmpdir(), workers);
        struct replay_config c;
        base_cfg(&c, dir, url, s.port);
        c.mode = MODE_CONCURRENCY;
        c.concurrency = 2;
        c.workers = workers;
        c.request_count = 8;
        struct msess m = {.nsess = 6, .nturns = 3};
        struct replay_source src = {.ctx = &m, .next = msess_next, .turns = msess_turns};
        struct replay_result res;
        struct diag d = {0};
        int64_t t = clock_mono_ns();
        int rc = replay_run(&c, &src, &res, &d);
        t = clock_mono_ns() - t;
        srv_stop(&s);
        REQUIRE(rc == 0);
        CHECK_INT(res.completed, 8);
        CHECK_INT(res.errors, 0);
        CHECK(t < 5000000000LL);
    }
}

/* A run longer than its trace rewinds the trace; run.json, written again at the end,
 * must still carry the trace's header. The first rewind used to close the reader that
 * owned the header the replay source points to, so the final run.json read freed memory
 * (an abort on a garbage length one run in ten at 70,000 req/s; under ASan, every time). */
TEST(replay_rewound_trace_keeps_its_header)
{
    struct mock_config mc;
    mock_config_default(&mc);
    mc.port = 0;
    mc.ttft_ns = 0;
    mc.itl_ns = 0;
    mc.osl = 1;
    struct mock_server *ms = NULL;
    struct diag d = {0};
    REQUIRE(mock_start(&mc, &ms, &d) == 0);
    char trace[512], dir[512], url[64], path[600];
    snprintf(trace, sizeof trace, "%s/t.jsonl.zst", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/run", test_tmpdir());
    snprintf(url, sizeof url, "127.0.0.1:%d", mock_port(ms));
    char *pack_argv[] = {
        "pack", "-m", "m", "--request-count", "20", "--isl", "8", "--osl", "1", "-o",
        trace,  "-q", NULL};
    int prc = cmd_pack(11, pack_argv);
    CHECK_INT(prc, 0);
    char *replay_argv[] = {
        "replay", trace, "--url", url, "--concurrency", "4", "--benchmark-duration", "0.5",
        "-o",     dir,   "-q",    NULL};
    int rc = cmd_replay(11, replay_argv);
    mock_stop(ms);
    CHECK_INT(rc, 0);

    struct trace_reader *tr = NULL;
    if (trace_open(&tr, trace, &d))
        test_fail(__FILE__, __LINE__, "%s", d.msg);
    REQUIRE(tr != NULL);
    const struct trace_header *th = trace_get_header(tr);
    cJSON *want = cJSON_ParseWithLength(th->json, th->json_len);
    snprintf(path, sizeof path, "%s/run.json", dir);
    size_t len = 0;
    char *text = NULL;
    REQUIRE(zio_read_all(path, 1 << 24, &text, &len, &d) == 0);
    cJSON *run = cJSON_ParseWithLength(text, len);
    const cJSON *got =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(run, "trace"), "header");
    CHECK(want != NULL && got != NULL && cJSON_Compare(want, got, 1));
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(run, "counts");
    const cJSON *done = cJSON_GetObjectItemCaseSensitive(counts, "completed");
    CHECK(cJSON_IsNumber(done) && done->valuedouble > 20); /* the trace was rewound */
    cJSON_Delete(run);
    cJSON_Delete(want);
    free(text);
    trace_close(tr);
}

TEST(replay_request_tail_matches_printf)
{
    /* The hand-written request tail says what snprintf said, at every digit count. */
    static const size_t blens[] = {0, 1, 9, 10, 99, 172, 65536, 999999999, (size_t)-1};
    static const long idx[] = {
        0, 1, 9, 10, 12345, 2147483647L, -1, -10, 9223372036854775807L, -9223372036854775807L - 1};
    for (size_t i = 0; i < sizeof blens / sizeof *blens; i++)
        for (size_t j = 0; j < sizeof idx / sizeof *idx; j++)
            for (int warm = 0; warm < 2; warm++) {
                char got[80], want[80];
                size_t n = req_tail(got, blens[i], warm, idx[j]);
                int m = snprintf(want, sizeof want, "%zu\r\nX-Request-Id: %s%ld\r\n\r\n", blens[i],
                                 warm ? "w" : "", idx[j]);
                REQUIRE(n < sizeof got);
                CHECK_INT(n, m);
                CHECK(memcmp(got, want, n) == 0);
            }
}

TEST(replay_total_timeout_on_a_kept_connection)
{
    /* A kept connection's heap entry is keyed lazily: the first request's total deadline
     * (its start + 0.4 s) stays as the key while the second, started 150 ms later, runs on
     * the same connection. That key must neither fail the second request early nor, once
     * fired, drop the second's own deadline. */
    struct srv s;
    srv_start(&s, SRV_JSON_THEN_STALL, 0);
    char dir[512], url[64];
    snprintf(dir, sizeof dir, "%s/run", test_tmpdir());
    struct replay_config c;
    base_cfg(&c, dir, url, s.port);
    c.mode = MODE_CONCURRENCY;
    c.concurrency = 1;
    c.workers = 1;
    c.timeout_s = 0.4;
    struct msrc m = {.n = 2};
    struct replay_source src = {.ctx = &m, .next = msrc_next, .rewind = msrc_rewind};
    struct replay_result res;
    struct diag d = {0};
    int rc = replay_run(&c, &src, &res, &d);
    srv_stop(&s);
    REQUIRE(rc == 0);
    struct run r;
    load_run(dir, &r);
    REQUIRE(r.n == 2);
    const cJSON *a = num(r.recs[0], "i") == 0 ? r.recs[0] : r.recs[1];
    const cJSON *b = a == r.recs[0] ? r.recs[1] : r.recs[0];
    CHECK(cJSON_GetObjectItemCaseSensitive(a, "error") == NULL);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "reused")));
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(b, "error");
    REQUIRE(e != NULL);
    CHECK_STR(cJSON_GetObjectItemCaseSensitive(e, "type")->valuestring, "timeout_total");
    double took = num(b, "t_end") - num(b, "t_start");
    CHECK(took >= 0.4e9);
    CHECK(took < 0.4e9 + 0.3e9); /* fired at its own deadline, not a stale key's + 0.4 s */
    free_run(&r);
}
