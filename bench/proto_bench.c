/*
 * Throughput of the protocol layer on one core, each beside a floor measured in the same
 * run: the bare memchr/memmem scan that any parser of the same input must at least do.
 * Built and run by bench/proto.sh; prints one line per figure.
 *   proto_bench [EVENTS]
 */
#include "buf.h"
#include "http1.h"
#include "sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* An OpenAI chat-completions stream chunk as vLLM sends it (one token). */
static const char chunk_json[] =
    "{\"id\":\"chatcmpl-8f1c2d3e4b5a69788796a5b4c3d2e1f0\",\"object\":\"chat.completion.chunk\","
    "\"created\":1764201600,\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",\"choices\":[{"
    "\"index\":0,\"delta\":{\"content\":\" token\"},\"logprobs\":null,\"finish_reason\":null}]}";

/* Each figure is the best of REPS runs: the machine is shared, and the best run is the
 * one least disturbed by other work. */
#define REPS 7

static unsigned long long sink_bytes;

static int on_event(void *ctx, const struct sse_event *ev)
{
    (void)ctx;
    sink_bytes += ev->data_len + (unsigned char)ev->data[0];
    return 0;
}

/* The floor: a framer that only finds the blank lines (LF then `rest`, which is "\n" or
 * "\r\n") with memchr, knowing the stream's one line-end style in advance. */
static size_t floor_split(const char *p, size_t n, const char *rest)
{
    size_t events = 0, rl = strlen(rest);
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || nl + rl >= end)
            break;
        if (memcmp(nl + 1, rest, rl) == 0) {
            events++;
            sink_bytes += (unsigned char)nl[-1];
            p = nl + 1 + rl;
        } else {
            p = nl + 1;
        }
    }
    return events;
}

static void bench_sse(size_t events, const char *eol, const char *label)
{
    struct buf stream;
    buf_init(&stream, 0);
    for (size_t i = 0; i < events; i++)
        buf_printf(&stream, "data: %s%s%s", chunk_json, eol, eol);
    /* Fed in 16 KiB reads, as recv() would hand them over. */
    double best = 1e9, fbest = 1e9;
    size_t n = 0, fe = 0;
    for (int rep = 0; rep < REPS; rep++) {
        struct sse_parser p;
        sse_parser_init(&p, 1 << 20);
        double t0 = now_s();
        for (size_t off = 0; off < stream.len; off += 16384) {
            size_t k = stream.len - off < 16384 ? stream.len - off : 16384;
            sse_parser_feed(&p, stream.p + off, k, 0, on_event, NULL);
        }
        double t1 = now_s();
        n = (size_t)p.events;
        sse_parser_free(&p);
        double tf0 = now_s();
        fe = floor_split(stream.p, stream.len, eol);
        double tf1 = now_s();
        best = t1 - t0 < best ? t1 - t0 : best;
        fbest = tf1 - tf0 < fbest ? tf1 - tf0 : fbest;
    }
    double t0 = 0, t1 = best;
    double ours = (double)n / best, fl = (double)fe / fbest;
    printf("sse parse %-5s %zu events (%zu B each): %.2f M events/s, %.0f MB/s; "
           "memchr blank-line floor %.2f M events/s (%zu found); ours/floor %.2f\n",
           label, n, stream.len / events, ours / 1e6, (double)stream.len / (t1 - t0) / 1e6,
           fl / 1e6, fe, ours / fl);
    buf_free(&stream);
}

static void bench_sse_write(size_t events)
{
    struct buf out;
    buf_init(&out, 0);
    size_t total = 0;
    size_t len = strlen(chunk_json);
    double best = 1e9;
    for (int rep = 0; rep < REPS; rep++) {
        total = 0;
        out.len = 0;
        double r0 = now_s();
        for (size_t i = 0; i < events; i++) {
            sse_write_event(&out, NULL, chunk_json, len);
            if (out.len > (1 << 20)) {
                total += out.len;
                out.len = 0;
            }
        }
        double r1 = now_s();
        best = r1 - r0 < best ? r1 - r0 : best;
    }
    double t0 = 0, t1 = best;
    total += out.len;
    /* Floor: the same bytes with three memcpys into a flat buffer, from a heap copy the
     * compiler cannot see through. */
    char *flat = malloc(1 << 21);
    char *src = malloc(len + 1);
    memcpy(src, chunk_json, len + 1);
    __asm__ volatile("" : : "r"(src) : "memory");
    size_t pos = 0, ftotal = 0;
    double fbest = 1e9;
    for (int rep = 0; rep < REPS; rep++) {
        double r0 = now_s();
        for (size_t i = 0; i < events; i++) {
            memcpy(flat + pos, "data: ", 6);
            memcpy(flat + pos + 6, src, len);
            __asm__ volatile("" : : "r"(flat) : "memory");
            memcpy(flat + pos + 6 + len, "\n\n", 2);
            pos += len + 8;
            if (pos > (1 << 20)) {
                ftotal += pos;
                sink_bytes += (unsigned char)flat[pos - 3];
                pos = 0;
            }
        }
        double r1 = now_s();
        fbest = r1 - r0 < fbest ? r1 - r0 : fbest;
    }
    double tf0 = 0, tf1 = fbest;
    ftotal += pos;
    printf("sse write %zu events: %.2f M events/s (%.0f MB/s); memcpy floor %.2f M events/s; "
           "ours/floor %.2f\n",
           events, (double)events / (t1 - t0) / 1e6, (double)total / (t1 - t0) / 1e6,
           (double)events / (tf1 - tf0) / 1e6, (tf1 - tf0) / (t1 - t0));
    (void)ftotal;
    free(flat);
    free(src);
    buf_free(&out);
}

static void bench_heads(size_t rounds)
{
    static const char head[] = "HTTP/1.1 200 OK\r\n"
                               "date: Thu, 27 Nov 2026 19:00:00 GMT\r\n"
                               "server: uvicorn\r\n"
                               "content-type: text/event-stream; charset=utf-8\r\n"
                               "x-request-id: 5f0c9a1e-2b7d-4e1a-9c3f-8d2e6b4a7c10\r\n"
                               "cache-control: no-cache\r\n"
                               "transfer-encoding: chunked\r\n"
                               "\r\n";
    static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\n"
                              "Host: localhost:8000\r\n"
                              "User-Agent: metronome/0.1\r\n"
                              "Content-Type: application/json\r\n"
                              "Accept: text/event-stream\r\n"
                              "Authorization: Bearer sk-0000000000000000\r\n"
                              "Content-Length: 512\r\n"
                              "\r\n";
    struct http1_response r;
    struct http1_request q;
    size_t hl = sizeof head - 1, ql = sizeof req - 1;
    long acc = 0;
    double br = 1e9, bq = 1e9, bf = 1e9;
    for (int rep = 0; rep < REPS; rep++) {
        double t0 = now_s();
        for (size_t i = 0; i < rounds; i++)
            acc += http1_parse_response(head, hl, 0, false, &r) + (long)r.nheaders;
        double t1 = now_s();
        for (size_t i = 0; i < rounds; i++)
            acc += http1_parse_request(req, ql, 0, &q) + (long)q.nheaders;
        double t2 = now_s();
        for (size_t i = 0; i < rounds; i++) {
            const char *e = memmem(head, hl, "\r\n\r\n", 4);
            acc += e ? e - head : 0;
            __asm__ volatile("" ::: "memory");
        }
        double t3 = now_s();
        br = t1 - t0 < br ? t1 - t0 : br;
        bq = t2 - t1 < bq ? t2 - t1 : bq;
        bf = t3 - t2 < bf ? t3 - t2 : bf;
    }
    sink_bytes += (unsigned long long)acc;
    double rs = (double)rounds / br, qs = (double)rounds / bq, fs = (double)rounds / bf;
    printf("http1 response head (%zu B, 6 headers): %.2f M/s (%.0f ns, %.0f MB/s); "
           "request head (%zu B): %.2f M/s (%.0f ns); memmem CRLFCRLF floor %.2f M/s; "
           "response/floor %.2f\n",
           hl, rs / 1e6, 1e9 / rs, rs * (double)hl / 1e6, ql, qs / 1e6, 1e9 / qs, fs / 1e6,
           rs / fs);
}

static void bench_chunked(size_t events)
{
    struct buf body;
    buf_init(&body, 0);
    size_t len = strlen(chunk_json) + 8;
    for (size_t i = 0; i < events; i++) {
        buf_printf(&body, "%zx\r\ndata: %s\n\n\r\n", len, chunk_json);
    }
    buf_puts(&body, "0\r\n\r\n");
    struct http1_chunked c;
    size_t data = 0;
    double best = 1e9;
    for (int rep = 0; rep < REPS; rep++) {
        http1_chunked_init(&c);
        double r0 = now_s();
        for (size_t off = 0; off < body.len && !c.done;) {
            size_t end = off + 16384 < body.len ? off + 16384 : body.len;
            while (off < end && !c.done) {
                const char *d;
                size_t dl;
                long n = http1_chunked_feed(&c, body.p + off, end - off, &d, &dl);
                if (n <= 0)
                    break;
                data += dl;
                off += (size_t)n;
            }
        }
        double r1 = now_s();
        best = r1 - r0 < best ? r1 - r0 : best;
    }
    double t0 = 0, t1 = best;
    printf("chunked decode %zu chunks (one SSE event each): %.2f M chunks/s, %.0f MB/s, "
           "done=%d\n",
           events, (double)events / (t1 - t0) / 1e6, (double)body.len / (t1 - t0) / 1e6, c.done);
    sink_bytes += data;
    buf_free(&body);
}

int main(int argc, char **argv)
{
    size_t events = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 1000000;
    bench_sse(events, "\n", "LF");
    bench_sse(events, "\r\n", "CRLF");
    bench_sse_write(events * 2);
    bench_chunked(events);
    bench_heads(events);
    fprintf(stderr, "(sink %llu)\n", sink_bytes);
    return 0;
}
