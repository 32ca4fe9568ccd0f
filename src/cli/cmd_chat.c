/*
 * metronome chat: AIPerf 0.13's `aiperf chat` (docs/cli-chat.md). An interactive sanity
 * check: reads one message a line from stdin (a terminal or a pipe), sends it with the
 * conversation so far to the chat completions endpoint as a streamed request, prints the
 * reply as it arrives and then TTFT, tokens/s (tokens and latency), ITL and the prompt
 * cache hit rate, with AIPerf's metric definitions (docs/metrics.md).
 *
 * One connection, kept alive across turns (a stale one is replaced once); blocking I/O
 * bounded by poll() deadlines. The API key goes only into the Authorization header; error
 * lines show the URL redacted.
 */
#include "args.h"
#include "buf.h"
#include "cli.h"
#include "clock.h"
#include "endpoint.h"
#include "http1.h"
#include "jsonw.h"
#include "sse.h"
#include "tls.h"
#include "tokenizer.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct arg_spec specs[] = {
    {"model", "-m --model-names", ARG_VALUE, "NAME", NULL,
     "model name served by the endpoint (required)"},
    {"url", "-u", ARG_VALUE, "URL", "http://localhost:8000",
     "server base URL (/v1/chat/completions is appended as profile does)"},
    {"endpoint-type", NULL, ARG_VALUE, "TYPE", "chat", "chat (the only type aiperf chat talks to)"},
    {"custom-endpoint", "--endpoint", ARG_VALUE, "PATH", NULL,
     "request path instead of /v1/chat/completions"},
    {"system-prompt", NULL, ARG_VALUE, "TEXT", NULL, "a system message before the conversation"},
    {"quick", "-q", ARG_VALUE, "MESSAGE", NULL,
     "send MESSAGE once, print the reply and stats, exit"},
    {"history", NULL, ARG_FLAG, NULL, "on",
     "resend the conversation each turn (--no-history: every turn stands alone)"},
    {"api-key", NULL, ARG_VALUE, "KEY", NULL,
     "sent as Authorization: Bearer KEY; never printed (visible in ps: prefer the next two)"},
    {"api-key-file", NULL, ARG_VALUE, "FILE", NULL,
     "read the key from FILE (first line); else $OPENAI_API_KEY is used"},
    {"header", "-H", ARG_MULTI, "NAME:VALUE", NULL, "extra request header (repeatable)"},
    {"tokenizer", NULL, ARG_VALUE, "NAME|PATH", "server usage",
     "count reply tokens with this tokenizer (docs/tokenizers.md); default: the server's "
     "usage.completion_tokens, else the builtin approximation"},
    {"tokenizer-revision", NULL, ARG_VALUE, "REV", "main", "revision of a Hugging Face name"},
    {"connect-timeout", NULL, ARG_VALUE, "S", "10", "seconds to connect (AIPerf's default)"},
    {"read-timeout", NULL, ARG_VALUE, "S", "300", "seconds to wait for the next bytes of a reply"},
    {"ca-file", NULL, ARG_VALUE, "FILE", "system bundle", "trust these CA certificates"},
    {"insecure", "-k", ARG_FLAG, NULL, NULL, "do not verify TLS certificates"},
    {"help", "-h", ARG_FLAG, NULL, NULL, "this text"},
};
#define NSPECS (sizeof specs / sizeof specs[0])

#define CHAT_MAX_EVENT (16u << 20) /* one SSE event; a longer one fails the turn */

struct chat {
    struct url u;
    char path[URL_PATH_MAX + URL_QUERY_MAX + 32];
    char *url_shown;    /* redacted, for messages */
    struct buf headers; /* "Name: value\r\n" lines, secrets included: never printed */
    const char *model;
    int64_t connect_ns, read_ns;
    struct tls_config *tls_cfg;
    struct tokenizer tk;
    bool have_tk;
    /* the connection */
    int fd;
    struct tls_session *tls;
    bool reusable;
};

/* ---- one turn's state, filled by the SSE callback ---- */
struct turn {
    struct buf text, rtext; /* content and reasoning so far */
    int64_t first_ns;       /* first content or reasoning chunk: TTFT's end */
    long prompt_tokens;     /* usage, -1 when absent */
    long completion_tokens; /* usage, -1 when absent */
    long reasoning_tokens;  /* usage, -1 when absent */
    long cached_tokens;     /* usage.prompt_tokens_details.cached_tokens, -1 when absent */
    char error[300];        /* a mid-stream error, "" when none */
};

static void flush_out(void)
{
    fflush(stdout);
}

/* Reads usage.prompt_tokens_details.cached_tokens (endpoint_parse does not keep it). */
static long cached_tokens(const char *data, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(data, len);
    long v = -1;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "usage");
    const cJSON *det = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens_details");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(det, "cached_tokens");
    if (cJSON_IsNumber(c) && c->valuedouble >= 0)
        v = (long)c->valuedouble;
    cJSON_Delete(j);
    return v;
}

static int on_event(void *ctx, const struct sse_event *ev)
{
    struct turn *t = ctx;
    if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6))
        return 0;
    if (ev->type_len == 5 && !memcmp(ev->type, "error", 5)) {
        snprintf(t->error, sizeof t->error, "server sent an error event: %.*s",
                 (int)(ev->data_len > 200 ? 200 : ev->data_len), ev->data);
        return 1;
    }
    size_t t0 = t->text.len, r0 = t->rtext.len;
    struct ep_chunk ch;
    endpoint_parse_text(EP_CHAT, true, ev->data, ev->data_len, &ch, &t->text, &t->rtext);
    if (ch.is_error) {
        snprintf(t->error, sizeof t->error, "server error: %s", ch.error_msg);
        return 1;
    }
    if (ch.has_usage) {
        t->prompt_tokens = ch.prompt_tokens;
        t->completion_tokens = ch.completion_tokens;
        t->reasoning_tokens = ch.reasoning_tokens;
        t->cached_tokens = cached_tokens(ev->data, ev->data_len);
    }
    /* AIPerf keeps a chunk as a response only when it carries text: TTFT ends there */
    if (t->first_ns == 0 && (t->text.len > t0 || t->rtext.len > r0))
        t->first_ns = ev->first_byte_ns;
    if (t->rtext.len > r0)
        fwrite(t->rtext.p + r0, 1, t->rtext.len - r0, stdout);
    if (t->text.len > t0)
        fwrite(t->text.p + t0, 1, t->text.len - t0, stdout);
    flush_out();
    return 0;
}

/* ---- the connection ---- */

static void conn_close(struct chat *c)
{
    if (c->tls)
        tls_session_free(c->tls);
    if (c->fd >= 0)
        close(c->fd);
    c->tls = NULL;
    c->fd = -1;
    c->reusable = false;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - clock_mono_ns();
        if (left <= 0)
            return ERR_TIMEOUT;
        struct pollfd p = {.fd = fd, .events = ev};
        int r = poll(&p, 1, (int)(left / 1000000 + 1));
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return ERR_IO;
    }
}

static int conn_open(struct chat *c, char *why, size_t cap)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int g = getaddrinfo(c->u.host, c->u.port, &hints, &ai);
    if (g != 0 || !ai) {
        snprintf(why, cap, "cannot resolve %s: %s", c->u.host, gai_strerror(g));
        return ERR_IO;
    }
    int64_t deadline = clock_mono_ns() + c->connect_ns;
    int rc = ERR_IO;
    snprintf(why, cap, "cannot connect to %s", c->url_shown);
    for (struct addrinfo *a = ai; a && rc; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
            snprintf(why, cap, "cannot connect to %s: %s", c->url_shown, strerror(errno));
            close(fd);
            continue;
        }
        int w = wait_fd(fd, POLLOUT, deadline);
        int err = 0;
        socklen_t el = sizeof err;
        if (w == 0)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (w || err) {
            snprintf(why, cap, "cannot connect to %s: %s", c->url_shown,
                     w == ERR_TIMEOUT ? "timed out" : strerror(err ? err : errno));
            close(fd);
            if (w == ERR_TIMEOUT)
                break;
            continue;
        }
        c->fd = fd;
        rc = 0;
    }
    freeaddrinfo(ai);
    if (rc || !c->u.tls)
        return rc;
    if (tls_session_new(&c->tls, c->tls_cfg, c->fd, c->u.host)) {
        snprintf(why, cap, "TLS setup failed");
        conn_close(c);
        return ERR_TLS;
    }
    for (;;) {
        int h = tls_handshake(c->tls);
        if (h == 0)
            return 0;
        if ((h != TLS_WANT_READ && h != TLS_WANT_WRITE) ||
            wait_fd(c->fd, h == TLS_WANT_READ ? POLLIN : POLLOUT, deadline)) {
            snprintf(why, cap, "TLS handshake with %s failed: %s", c->url_shown,
                     h == TLS_WANT_READ || h == TLS_WANT_WRITE ? "timed out"
                                                               : tls_session_error(c->tls));
            conn_close(c);
            return ERR_TLS;
        }
    }
}

/* One read or write attempt over TLS or the plain socket: bytes moved (>= 0), ERR_AGAIN
 * with *ev the poll event to wait for (TLS may need to read while writing and the
 * reverse), or ERR_IO. */
static long conn_try(struct chat *c, char *buf, size_t n, bool wr, short *ev)
{
    long k;
    *ev = wr ? POLLOUT : POLLIN;
    if (c->tls) {
        k = wr ? tls_write(c->tls, buf, n) : tls_read(c->tls, buf, n);
        if (k == TLS_WANT_READ || k == TLS_WANT_WRITE) {
            *ev = k == TLS_WANT_READ ? POLLIN : POLLOUT;
            return ERR_AGAIN;
        }
        return k < 0 ? ERR_IO : k;
    }
    k = wr ? send(c->fd, buf, n, MSG_NOSIGNAL) : recv(c->fd, buf, n, 0);
    if (k < 0)
        return errno == EAGAIN || errno == EINTR ? ERR_AGAIN : ERR_IO;
    return k;
}

static int conn_write(struct chat *c, const char *p, size_t n, int64_t deadline)
{
    while (n) {
        short ev;
        long k = conn_try(c, (char *)p, n, true, &ev);
        if (k == ERR_AGAIN) {
            if (wait_fd(c->fd, ev, deadline))
                return ERR_TIMEOUT;
            continue;
        }
        if (k < 0)
            return ERR_IO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* > 0 bytes, 0 at EOF, ERR_TIMEOUT (nothing within read_ns), ERR_IO. */
static long conn_read(struct chat *c, char *buf, size_t n)
{
    int64_t deadline = clock_mono_ns() + c->read_ns;
    for (;;) {
        short ev;
        long k = conn_try(c, buf, n, false, &ev);
        if (k != ERR_AGAIN)
            return k;
        if (wait_fd(c->fd, ev, deadline))
            return ERR_TIMEOUT;
    }
}

/* ---- one turn ---- */

static void put_msg(struct jsonw *j, const char *role, const char *text, size_t n)
{
    jsonw_obj_begin(j);
    jsonw_key(j, "role");
    jsonw_str(j, role);
    jsonw_key(j, "content");
    jsonw_strn(j, text, n);
    jsonw_obj_end(j);
}

/* history: an array body "[{...},{...}" (no closing bracket), or empty. */
static void make_request(struct chat *c, const char *system, const struct buf *history,
                         const char *message, struct buf *req)
{
    struct buf body;
    buf_init(&body, 0);
    struct jsonw j;
    jsonw_init(&j, &body);
    jsonw_obj_begin(&j);
    jsonw_key(&j, "messages");
    jsonw_arr_begin(&j);
    if (system)
        put_msg(&j, "system", system, strlen(system));
    if (history->len) /* earlier turns' objects, already comma-separated */
        jsonw_raw(&j, history->p, history->len);
    put_msg(&j, "user", message, strlen(message));
    jsonw_arr_end(&j);
    jsonw_key(&j, "model");
    jsonw_str(&j, c->model);
    buf_puts(&body, ",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
    buf_reset(req);
    buf_printf(req, "POST %s HTTP/1.1\r\nHost: %s\r\n", c->path, c->u.authority);
    buf_append(req, c->headers.p, c->headers.len);
    buf_printf(req, "Content-Length: %zu\r\n\r\n", body.len);
    buf_append(req, body.p, body.len);
    buf_free(&body);
}

/* AIPerf's per-turn block (its chat's format_stats). */
static void print_stats(struct chat *c, const struct turn *t, int64_t start_ns, int64_t end_ns)
{
    long out = -1, reason = 0;
    if (c->have_tk) { /* counted client-side, as AIPerf counts them */
        out = t->text.len ? (long)tokenizer_count(&c->tk, t->text.p, t->text.len) : 0;
        reason = t->rtext.len ? (long)tokenizer_count(&c->tk, t->rtext.p, t->rtext.len) : 0;
    } else if (t->completion_tokens >= 0) {
        reason = t->reasoning_tokens > 0 ? t->reasoning_tokens : 0;
        out = t->completion_tokens - reason;
    } else {
        const struct tokenizer *ap = tokenizer_approx();
        out = t->text.len ? (long)tokenizer_count(ap, t->text.p, t->text.len) : 0;
        reason = t->rtext.len ? (long)tokenizer_count(ap, t->rtext.p, t->rtext.len) : 0;
    }
    long osl = out + reason;
    if (t->first_ns == 0 || osl <= 0) {
        printf("(no tokens received)\n");
        return;
    }
    double ttft_ms = (double)(t->first_ns - start_ns) / 1e6;
    double lat_s = (double)(end_ns - start_ns) / 1e9;
    printf("TTFT: %.2f ms\n", ttft_ms);
    printf("TPS:  %.2f tokens/s (%ld tokens", lat_s > 0 ? (double)osl / lat_s : 0.0, osl);
    if (reason > 0)
        printf(", %ld reasoning", reason);
    printf(" in %.2fs)\n", lat_s);
    if (osl >= 2) {
        double itl_ns =
            ((double)(end_ns - start_ns) - (double)(t->first_ns - start_ns)) / (double)(osl - 1);
        if (itl_ns > 0)
            printf("ITL:  %.2f ms/token (decode %.2f tokens/s)\n", itl_ns / 1e6, 1e9 / itl_ns);
    }
    if (t->prompt_tokens > 0 && t->cached_tokens >= 0)
        printf("Cache: %ld/%ld prompt tokens cached (%.1f%%)\n", t->cached_tokens, t->prompt_tokens,
               100.0 * (double)t->cached_tokens / (double)t->prompt_tokens);
}

/* Sends one message; on success appends the reply's text (content, else reasoning) to
 * reply. 0, or an error with why filled (the REPL reports it and carries on). */
static int run_turn(struct chat *c, const char *system, const struct buf *history,
                    const char *message, struct buf *reply, char *why, size_t cap)
{
    struct buf req, head, errbody;
    buf_init(&req, 0);
    buf_init(&head, 1 << 20);
    buf_init(&errbody, 0);
    make_request(c, system, history, message, &req);
    struct turn t = {
        .prompt_tokens = -1, .completion_tokens = -1, .reasoning_tokens = -1, .cached_tokens = -1};
    buf_init(&t.text, 0);
    buf_init(&t.rtext, 0);
    struct sse_parser sp;
    sse_parser_init(&sp, CHAT_MAX_EVENT);
    int rc = 0;
    int64_t start_ns = clock_mono_ns(), end_ns = 0;
    bool reused = false;
    char rbuf[16384];
    for (int attempt = 0; attempt < 2; attempt++) {
        reused = c->fd >= 0 && c->reusable;
        if (!reused) {
            conn_close(c);
            if ((rc = conn_open(c, why, cap)))
                goto out;
        }
        rc = conn_write(c, req.p, req.len, clock_mono_ns() + c->read_ns);
        if (rc == 0)
            break;
        conn_close(c);
        if (!reused) {
            snprintf(why, cap, "sending to %s failed", c->url_shown);
            goto out;
        }
    }
    struct http1_rx rx;
    struct http1_response resp;
    http1_rx_init(&rx, &head, false);
    int status = 0;
    bool sse = false, keep = true, got = false;
    for (;;) {
        long k = conn_read(c, rbuf, sizeof rbuf);
        int64_t now = clock_mono_ns();
        enum http1_rx_event ev;
        const char *p = rbuf, *data;
        size_t n = k > 0 ? (size_t)k : 0, dlen;
        if (k == ERR_TIMEOUT) {
            snprintf(why, cap, "no reply bytes for %.0f s", (double)c->read_ns / 1e9);
            rc = ERR_TIMEOUT;
            goto out;
        }
        if (k < 0 || (k == 0 && !got && reused)) {
            /* a kept-alive connection the server had closed: say so plainly */
            snprintf(why, cap, "connection to %s lost", c->url_shown);
            rc = ERR_IO;
            goto out;
        }
        if (k > 0)
            got = true;
        for (;;) {
            ev = k == 0 ? http1_rx_eof(&rx) : http1_rx_feed(&rx, &resp, &p, &n, &data, &dlen);
            if (ev == HTTP1_RX_HEAD) {
                status = resp.status;
                sse = resp.content_type &&
                      http1_content_type_is(resp.content_type, resp.content_type_len,
                                            "text/event-stream");
                keep = resp.keep_alive;
            } else if (ev == HTTP1_RX_DATA) {
                if (status == 200 && sse) {
                    int r = sse_parser_feed(&sp, data, dlen, now, on_event, &t);
                    if (r || t.error[0]) {
                        snprintf(why, cap, "%s",
                                 t.error[0] ? t.error : "a streamed event over 16 MiB");
                        rc = ERR_PARSE;
                        keep = false;
                        goto out;
                    }
                } else if (errbody.len < 500) {
                    buf_append(&errbody, data, dlen < 500 ? dlen : 500);
                }
            } else if (ev == HTTP1_RX_ERROR) {
                snprintf(why, cap, "bad response from %s: %s", c->url_shown,
                         http1_rx_error_text(rx.error));
                rc = ERR_PARSE;
                keep = false;
                goto out;
            }
            if (ev == HTTP1_RX_DONE || ev == HTTP1_RX_MORE)
                break;
        }
        if (ev == HTTP1_RX_DONE)
            break;
    }
    end_ns = clock_mono_ns();
    if (status != 200) {
        size_t m = errbody.len < 500 ? errbody.len : 500;
        while (m &&
               (errbody.p[m - 1] == '\n' || errbody.p[m - 1] == '\r' || errbody.p[m - 1] == ' '))
            m--;
        for (size_t i = 0; i < m; i++)
            if ((unsigned char)errbody.p[i] < 0x20)
                errbody.p[i] = ' ';
        snprintf(why, cap, "HTTP %d %s%s%.*s", status, http1_reason(status), m ? ": " : "", (int)m,
                 errbody.p ? errbody.p : "");
        rc = ERR_INVALID;
        goto out;
    }
    if (!sse) {
        snprintf(why, cap, "the reply is not an event stream (is this a chat endpoint?)");
        rc = ERR_PARSE;
        goto out;
    }
    printf("\n");
    print_stats(c, &t, start_ns, end_ns);
    flush_out();
    const struct buf *r = t.text.len ? &t.text : &t.rtext;
    buf_reset(reply);
    buf_append(reply, r->p ? r->p : "", r->len);
out:
    c->reusable = rc == 0 && keep;
    if (!c->reusable)
        conn_close(c);
    if (rc && (t.text.len || t.rtext.len)) {
        printf("\n");
        flush_out();
    }
    sse_parser_free(&sp);
    buf_free(&t.text);
    buf_free(&t.rtext);
    buf_free(&req);
    buf_free(&head);
    buf_free(&errbody);
    return rc;
}

int cmd_chat(int argc, char **argv)
{
    struct args a;
    struct diag d = {0};
    if (args_parse(&a, specs, NSPECS, argc - 1, argv + 1, &d))
        return cli_fail(&d, 1);
    if (args_flag(&a, "help")) {
        args_print_help(stdout, "metronome chat --model NAME [--url URL] [OPTIONS]",
                        "Chat with an endpoint one message at a time (stdin), printing TTFT, "
                        "tokens/s, tokens and latency after each reply (AIPerf's aiperf chat).",
                        specs, NSPECS);
        args_free(&a);
        return EXIT_OK;
    }
    struct chat c = {.fd = -1};
    buf_init(&c.headers, 0);
    char *key_owned = NULL;
    int code = EXIT_USAGE;
    struct buf shown, history, reply;
    buf_init(&shown, 0);
    buf_init(&history, 0);
    buf_init(&reply, 0);
    double ct = 10, rt = 300;
    const char *key = NULL;
    c.model = args_get(&a, "model");
    const char *url = args_get(&a, "url");
    if (!url)
        url = "http://localhost:8000";
    const char *et = args_get(&a, "endpoint-type");
    enum endpoint_type ept = EP_CHAT;
    if (a.npos) {
        diag_set(&d, ERR_INVALID,
                 "unexpected argument '%s' (a message goes on stdin or after --quick)", a.pos[0]);
        goto fail;
    }
    if (!c.model) {
        diag_set(&d, ERR_INVALID, "--model is required (the model the endpoint serves)");
        goto fail;
    }
    if (et && (endpoint_type_parse(et, &ept) || ept != EP_CHAT)) {
        diag_set(&d, ERR_INVALID,
                 "--endpoint-type: '%s' is not supported: chat talks to chat completions only", et);
        goto fail;
    }
    if (args_double(&a, "connect-timeout", 0.001, 3600, &ct, &d) ||
        args_double(&a, "read-timeout", 0.001, 86400, &rt, &d))
        goto fail;
    c.connect_ns = (int64_t)(ct * 1e9);
    c.read_ns = (int64_t)(rt * 1e9);
    url_redact(url, strlen(url), &shown);
    c.url_shown = shown.p;
    if (url_parse(url, &c.u, &d))
        goto fail;
    const char *ep = args_get(&a, "custom-endpoint");
    if (ep && wire_check("--custom-endpoint", ep, false, &d))
        goto fail;
    size_t pl = strlen(c.u.path);
    bool full = !ep && pl >= 17 && !strcmp(c.u.path + pl - 17, "/chat/completions");
    /* AIPerf chat: a base ending in /chat/completions is used as given */
    if (url_join_path(&c.u,
                      ep     ? ep
                      : full ? ""
                             : "/v1/chat/completions",
                      ep != NULL, c.path, sizeof c.path)) {
        diag_set(&d, ERR_INVALID, "--url %s: too long", c.url_shown);
        goto fail;
    }
    if (cli_api_key(&a, &key, &key_owned, &d)) {
        code = cli_fail(&d, d.code == ERR_INVALID);
        goto out;
    }
    {
        size_t nh = args_count(&a, "header");
        const char **hv = xcalloc(nh + 1, sizeof *hv);
        for (size_t i = 0; i < nh; i++)
            hv[i] = args_multi(&a, "header", i);
        int hr = endpoint_headers(&c.headers, true, key, c.u.has_userinfo ? c.u.userinfo : NULL, hv,
                                  nh, &d);
        free(hv);
        if (hr)
            goto fail;
    }
    if (c.u.tls) {
        struct tls_client_opts to = {.ca_file = args_get(&a, "ca-file"),
                                     .insecure = args_flag(&a, "insecure"),
                                     .alpn = "http/1.1"};
        if (tls_client_config_new(&c.tls_cfg, &to, &d)) {
            code = cli_fail(&d, 0);
            goto out;
        }
    }
    if (args_has(&a, "tokenizer")) {
        if (tokenizer_open(&c.tk, args_get(&a, "tokenizer"), args_get(&a, "tokenizer-revision"),
                           &d)) {
            code = cli_fail(&d, d.code == ERR_INVALID);
            goto out;
        }
        c.have_tk = true;
    }
    const char *system = args_get(&a, "system-prompt");
    const char *quick = args_get(&a, "quick");
    char why[700];
    if (quick) {
        int rc = run_turn(&c, system, &history, quick, &reply, why, sizeof why);
        if (rc)
            cli_error("request failed: %s", why);
        code = rc ? EXIT_ERROR : EXIT_OK;
        goto out;
    }
    bool keep_history = !args_has(&a, "history") || args_flag(&a, "history");
    printf("Please enter a message for the chat model (Ctrl-D to exit):\n");
    char *line = NULL;
    size_t lcap = 0;
    for (;;) {
        printf("> ");
        flush_out();
        ssize_t n = getline(&line, &lcap, stdin);
        if (n < 0) {
            printf("\n");
            break;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (run_turn(&c, system, &history, line, &reply, why, sizeof why)) {
            fprintf(stderr, "request failed: %s\n", why);
            continue;
        }
        if (keep_history) {
            struct jsonw j;
            if (history.len)
                buf_putc(&history, ',');
            jsonw_init(&j, &history);
            put_msg(&j, "user", line, (size_t)n);
            buf_putc(&history, ',');
            jsonw_init(&j, &history);
            put_msg(&j, "assistant", reply.p ? reply.p : "", reply.len);
        }
    }
    free(line);
    code = EXIT_OK;
    goto out;
fail:
    code = cli_fail(&d, 1);
out:
    conn_close(&c);
    if (c.tls_cfg)
        tls_config_free(c.tls_cfg);
    if (c.have_tk)
        tokenizer_close(&c.tk);
    free(key_owned);
    buf_free(&c.headers);
    buf_free(&shown);
    buf_free(&history);
    buf_free(&reply);
    args_free(&a);
    return code;
}
