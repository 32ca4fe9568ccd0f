#include "record.h"
#include "test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(record_json_fields_in_order)
{
    struct rec r;
    rec_init(&r);
    r.index = 17;
    r.conv = strdup("s3");
    r.turn = 1;
    r.worker = 0;
    r.conn = 4;
    r.reused = true;
    r.stream = true;
    r.isl = 512;
    r.t_intended = 1000 + 10;
    r.t_start = 1000 + 20;
    r.status = 200;
    rec_chunks_add(&r.chunks, 1000 + 30, 0);
    rec_chunks_add(&r.chunks, 1000 + 40, 1);
    r.has_usage = true;
    r.completion_tokens = 2;
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(rec_write_json(&b, &r, 1000), 0);
    CHECK_STR(b.p, "{\"i\":17,\"conv\":\"s3\",\"turn\":1,\"phase\":\"profile\",\"worker\":0,"
                   "\"conn\":4,\"reused\":true,\"url\":0,\"stream\":true,\"isl\":512,"
                   "\"t_intended\":10,\"t_start\":20,\"status\":200,\"chunks\":[[30,0],[40,1]],"
                   "\"usage\":{\"completion_tokens\":2},\"bad_chunks\":0,\"cancelled\":false}\n");
    /* sent: the transport counts follow bad_chunks */
    r.t_sent = 1000 + 25;
    r.tx_bytes = 300;
    r.tx_writes = 1;
    r.rx_bytes = 2001;
    r.rx_reads = 8;
    b.len = 0;
    CHECK_INT(rec_write_json(&b, &r, 1000), 0);
    CHECK(strstr(b.p, "\"bad_chunks\":0,\"tx_bytes\":300,\"tx_writes\":1,\"rx_bytes\":2001,"
                      "\"rx_reads\":8,\"cancelled\":false}\n") != NULL);
    buf_free(&b);
    rec_free(&r);
}

TEST(record_error_first_cause_wins)
{
    struct rec r;
    rec_init(&r);
    r.conv = strdup("0");
    rec_set_error(&r, RECERR_TIMEOUT_IDLE, -1, "no bytes after %d s", 3);
    rec_set_error(&r, RECERR_CLOSED, -1, "later");
    struct buf b;
    buf_init(&b, 0);
    rec_write_json(&b, &r, 0);
    CHECK(strstr(b.p, "\"error\":{\"code\":null,\"type\":\"timeout_idle\",\"message\":\"no bytes "
                      "after 3 s\"}") != NULL);
    buf_free(&b);
    rec_free(&r);
}

/* A message is kept up to REC_ERROR_MSG_MAX - 1 bytes (a server's reason used to be cut
 * at 255), the first error wins, and rec_free releases it. */
TEST(record_error_message_kept_whole)
{
    static char longmsg[6000];
    memset(longmsg, 'a', sizeof longmsg - 1);
    struct rec r;
    rec_init(&r);
    CHECK(r.error_msg == NULL);
    rec_set_error(&r, RECERR_HTTP, 400, "%.*s", 3000, longmsg);
    CHECK_INT(strlen(r.error_msg), 3000);
    rec_set_error(&r, RECERR_CLOSED, -1, "later"); /* ignored */
    CHECK_INT(r.error, RECERR_HTTP);
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(rec_write_json(&b, &r, 0), 0);
    CHECK(strstr(b.p, longmsg + sizeof longmsg - 1 - 3000) != NULL);
    buf_free(&b);
    rec_free(&r);
    CHECK(r.error_msg == NULL);

    rec_init(&r);
    rec_set_error(&r, RECERR_HTTP, 500, "%s", longmsg);
    CHECK_INT(strlen(r.error_msg), REC_ERROR_MSG_MAX - 1);
    rec_free(&r);
}

TEST(record_chunks_cap_counts_drops)
{
    struct rec r;
    rec_init(&r);
    r.chunks.max = 16;
    for (int i = 0; i < 40; i++)
        rec_chunks_add(&r.chunks, i, 1);
    CHECK_INT(r.chunks.n, 16);
    CHECK_INT(r.chunks.dropped, 24);
    rec_free(&r);
}

/* A stream's chunk list is allocated once at its expected size (max_tokens + 4): no chain
 * of doublings whose freed blocks made per-stream memory grow with the output length.
 * Past the reservation it still grows; the cap still holds. */
TEST(record_chunks_reserve_once)
{
    struct rec r;
    rec_init(&r);
    rec_chunks_reserve(&r.chunks, 204);
    CHECK_INT(r.chunks.cap, 204);
    struct rec_chunk *v = r.chunks.v;
    for (int i = 0; i < 204; i++)
        rec_chunks_add(&r.chunks, i, 1);
    CHECK(r.chunks.v == v);
    CHECK_INT(r.chunks.cap, 204);
    rec_chunks_add(&r.chunks, 204, 1);
    CHECK_INT(r.chunks.n, 205);
    CHECK(r.chunks.cap > 204);
    rec_chunks_reserve(&r.chunks, 10); /* not empty: no effect */
    CHECK_INT(r.chunks.n, 205);
    rec_free(&r);

    rec_init(&r);
    r.chunks.max = 8;
    rec_chunks_reserve(&r.chunks, 1000);
    CHECK_INT(r.chunks.cap, 8);
    for (int i = 0; i < 10; i++)
        rec_chunks_add(&r.chunks, i, 1);
    CHECK_INT(r.chunks.n, 8);
    CHECK_INT(r.chunks.dropped, 2);
    rec_free(&r);
}

/* Numbers are written two digits at a time: every digit count, both signs and the int64
 * extremes must read as printf writes them. */
TEST(record_numbers_every_digit_count)
{
    struct rec r;
    rec_init(&r);
    struct buf b;
    buf_init(&b, 0);
    int64_t v = 1;
    for (int digits = 1; digits <= 19; digits++, v = digits <= 19 ? v * 10 : v) {
        int64_t cases[] = {
            v, v - 1, v + 1, 2 * v - 1, -v, -(v - 1), digits < 19 ? 9 * v + (v - 1) : v};
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            r.index = cases[i];
            b.len = 0;
            CHECK_INT(rec_write_json(&b, &r, 0), 0);
            char want[40];
            snprintf(want, sizeof want, "{\"i\":%lld,", (long long)cases[i]);
            CHECK(strncmp(b.p, want, strlen(want)) == 0);
        }
    }
    int64_t ext[] = {INT64_MAX, INT64_MIN, 0};
    for (size_t i = 0; i < 3; i++) {
        r.index = ext[i];
        b.len = 0;
        CHECK_INT(rec_write_json(&b, &r, 0), 0);
        char want[40];
        snprintf(want, sizeof want, "{\"i\":%lld,", (long long)ext[i]);
        CHECK(strncmp(b.p, want, strlen(want)) == 0);
    }
    buf_free(&b);
    rec_free(&r);
}

/* ---- the in-place writer against a plain reference (printf and json_escape) ---- */

#include "err.h"
#include "jsonw.h"

static void ref_time(struct buf *b, const char *key, int64_t t, int64_t anchor)
{
    if (t)
        buf_printf(b, ",\"%s\":%lld", key, (long long)(t - anchor));
}

static void ref_chunks(struct buf *b, const struct rec_chunks *c, int64_t anchor)
{
    buf_putc(b, '[');
    for (uint32_t i = 0; i < c->n; i++)
        buf_printf(b, "%s[%lld,%d]", i ? "," : "", (long long)(c->v[i].t - anchor),
                   (int)c->v[i].tokens);
    buf_putc(b, ']');
}

/* The records format (docs/records-format.md) written the slow, obvious way. */
static void ref_write(struct buf *b, const struct rec *r, int64_t a)
{
    buf_printf(b, "{\"i\":%ld,\"conv\":", r->index);
    json_escape(b, r->conv ? r->conv : "", strlen(r->conv ? r->conv : ""));
    buf_printf(b, ",\"turn\":%d,\"phase\":\"%s\",\"worker\":%d", r->turn,
               r->phase == PHASE_WARMUP ? "warmup" : "profile", r->worker);
    if (r->conn >= 0)
        buf_printf(b, ",\"conn\":%ld,\"reused\":%s", r->conn, r->reused ? "true" : "false");
    buf_printf(b, ",\"url\":%d", r->url);
    if (r->model) {
        buf_puts(b, ",\"model\":");
        json_escape(b, r->model, strlen(r->model));
    }
    buf_printf(b, ",\"stream\":%s", r->stream ? "true" : "false");
    if (r->isl >= 0)
        buf_printf(b, ",\"isl\":%ld", r->isl);
    if (r->osl_req >= 0)
        buf_printf(b, ",\"osl_req\":%ld", r->osl_req);
    if (r->preconnect_ns)
        buf_printf(b, ",\"preconnect_ns\":%lld", (long long)r->preconnect_ns);
    ref_time(b, "t_intended", r->t_intended, a);
    ref_time(b, "t_dispatch", r->t_dispatch, a);
    ref_time(b, "t_start", r->t_start, a);
    ref_time(b, "t_connected", r->t_connected, a);
    ref_time(b, "t_tls", r->t_tls, a);
    ref_time(b, "t_sent", r->t_sent, a);
    ref_time(b, "t_head", r->t_head, a);
    ref_time(b, "t_first", r->t_first, a);
    ref_time(b, "t_last", r->t_last, a);
    ref_time(b, "t_end", r->t_end, a);
    buf_printf(b, ",\"status\":%d,\"chunks\":", r->status);
    ref_chunks(b, &r->chunks, a);
    if (r->rchunks.n) {
        buf_puts(b, ",\"rchunks\":");
        ref_chunks(b, &r->rchunks, a);
    }
    if (r->chunks.dropped + r->rchunks.dropped)
        buf_printf(b, ",\"chunks_dropped\":%lld",
                   (long long)r->chunks.dropped + (long long)r->rchunks.dropped);
    if (r->has_usage) {
        const char *sep = "";
        buf_puts(b, ",\"usage\":{");
        if (r->prompt_tokens >= 0)
            buf_printf(b, "\"prompt_tokens\":%ld", r->prompt_tokens), sep = ",";
        if (r->completion_tokens >= 0)
            buf_printf(b, "%s\"completion_tokens\":%ld", sep, r->completion_tokens), sep = ",";
        if (r->reasoning_tokens >= 0)
            buf_printf(b, "%s\"reasoning_tokens\":%ld", sep, r->reasoning_tokens);
        buf_putc(b, '}');
    }
    if (r->finish[0]) {
        buf_puts(b, ",\"finish\":");
        json_escape(b, r->finish, strlen(r->finish));
    }
    buf_printf(b, ",\"bad_chunks\":%u", r->bad_chunks);
    if (r->tx_writes || r->t_sent)
        buf_printf(b, ",\"tx_bytes\":%lld,\"tx_writes\":%u,\"rx_bytes\":%lld,\"rx_reads\":%u",
                   (long long)r->tx_bytes, r->tx_writes, (long long)r->rx_bytes, r->rx_reads);
    if (r->error != RECERR_NONE) {
        if (r->error_code >= 0)
            buf_printf(b, ",\"error\":{\"code\":%d,\"type\":", r->error_code);
        else
            buf_puts(b, ",\"error\":{\"code\":null,\"type\":");
        json_escape(b, rec_error_name(r->error), strlen(rec_error_name(r->error)));
        buf_puts(b, ",\"message\":");
        json_escape(b, r->error_msg ? r->error_msg : "", strlen(r->error_msg ? r->error_msg : ""));
        buf_putc(b, '}');
    }
    buf_printf(b, ",\"cancelled\":%s", r->cancelled ? "true" : "false");
    if (r->text) {
        buf_puts(b, ",\"text\":");
        json_escape(b, r->text, strlen(r->text));
        buf_puts(b, ",\"reasoning_text\":");
        json_escape(b, r->rtext ? r->rtext : "", strlen(r->rtext ? r->rtext : ""));
    }
    buf_puts(b, "}\n");
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* A random string of n bytes from an alphabet heavy in what needs escaping. */
static char *rnd_str(size_t n)
{
    static const char alpha[] = "ab \"\\\n\r\t\x01\x1f\x7f/\xc3\xa9zq";
    char *s = malloc(n + 1);
    bool plain = rnd() % 2;
    for (size_t i = 0; i < n; i++)
        s[i] = plain ? (char)('a' + rnd() % 26) : alpha[rnd() % (sizeof alpha - 1)];
    s[n] = '\0';
    return s;
}

static int64_t rnd_int(void)
{
    switch (rnd() % 6) {
    case 0:
        return 0;
    case 1:
        return (int64_t)(rnd() % 10);
    case 2:
        return -(int64_t)(rnd() % 1000000);
    case 3:
        return (int64_t)(rnd() >> (rnd() % 64));
    case 4:
        return rnd() % 2 ? INT64_MAX : INT64_MIN + 1;
    default:
        return (int64_t)(rnd() % 10000000000ull);
    }
}

/* Every optional field, every string with and without escapes (lengths across the 8-byte
 * scan's boundaries, a text far longer than the fixed room), chunk lists across the
 * writer's batch size, times before the anchor, appended after existing bytes: the
 * in-place writer matches the reference byte for byte. */
TEST(record_writer_matches_reference)
{
    for (int iter = 0; iter < 3000; iter++) {
        struct rec r;
        rec_init(&r);
        r.index = (long)rnd_int();
        r.conv = rnd_str(rnd() % 20);
        r.turn = (int)(rnd() % 1000);
        r.phase = rnd() % 2 ? PHASE_WARMUP : PHASE_PROFILE;
        r.worker = (int)(rnd() % 64);
        r.conn = rnd() % 3 ? (long)(rnd() % 100000) : -1;
        r.reused = rnd() % 2;
        r.url = (int)(rnd() % 4);
        r.model = rnd() % 3 ? rnd_str(rnd() % 40) : NULL;
        r.stream = rnd() % 2;
        r.isl = rnd() % 4 ? (long)(rnd() % 100000) : -1;
        r.osl_req = rnd() % 4 ? (long)(rnd() % 100000) : -1;
        r.preconnect_ns = rnd() % 3 ? 0 : rnd_int();
        int64_t anchor = (int64_t)(rnd() % 1000000000000ull);
        int64_t *ts[] = {&r.t_intended, &r.t_dispatch, &r.t_start, &r.t_connected, &r.t_tls,
                         &r.t_sent,     &r.t_head,     &r.t_first, &r.t_last,      &r.t_end};
        for (size_t i = 0; i < sizeof ts / sizeof *ts; i++)
            *ts[i] = rnd() % 4 ? anchor + (int64_t)(rnd() % 100000000000ull) - 1000 : 0;
        r.status = (int)(rnd() % 600);
        uint32_t nc = rnd() % 8 ? (uint32_t)(rnd() % 4) : (uint32_t)(rnd() % 700);
        for (uint32_t i = 0; i < nc; i++)
            rec_chunks_add(&r.chunks, anchor + (int64_t)(rnd() % 100000000000ull),
                           (int32_t)(rnd() % 3 ? rnd() % 5 : rnd()));
        uint32_t nr = rnd() % 4 ? 0 : (uint32_t)(rnd() % 300);
        for (uint32_t i = 0; i < nr; i++)
            rec_chunks_add(&r.rchunks, anchor - 5 + (int64_t)(rnd() % 100000), 1);
        r.chunks.dropped = rnd() % 5 ? 0 : (uint32_t)rnd();
        r.rchunks.dropped = rnd() % 5 ? 0 : (uint32_t)(rnd() % 1000);
        r.has_usage = rnd() % 2;
        r.prompt_tokens = rnd() % 3 ? (long)(rnd() % 100000) : -1;
        r.completion_tokens = rnd() % 3 ? (long)(rnd() % 100000) : -1;
        r.reasoning_tokens = rnd() % 3 ? (long)(rnd() % 100000) : -1;
        if (rnd() % 2) {
            char *f = rnd_str(rnd() % sizeof r.finish);
            memcpy(r.finish, f, strlen(f) + 1);
            free(f);
        }
        r.bad_chunks = rnd() % 3 ? 0 : (uint32_t)rnd();
        if (rnd() % 3) {
            r.tx_bytes = rnd();
            r.tx_writes = (uint32_t)rnd();
            r.rx_bytes = rnd() % 100000;
            r.rx_reads = (uint32_t)(rnd() % 100);
        }
        if (rnd() % 3 == 0) {
            char *m = rnd_str(rnd() % 300);
            rec_set_error(&r, (enum rec_error)(1 + rnd() % RECERR_NOT_SENT),
                          rnd() % 2 ? -1 : (int)(rnd() % 600), "%s", m);
            free(m);
        }
        r.cancelled = rnd() % 2;
        if (rnd() % 4 == 0) {
            r.text = rnd_str(rnd() % 3 ? rnd() % 64 : rnd() % 20000);
            r.rtext = rnd() % 2 ? rnd_str(rnd() % 100) : NULL;
        }
        struct buf got, want;
        buf_init(&got, 0);
        buf_init(&want, 0);
        if (rnd() % 2) { /* records follow others in a worker's buffer */
            size_t pre = rnd() % 3000;
            for (size_t i = 0; i < pre; i++)
                buf_putc(&got, 'x'), buf_putc(&want, 'x');
        }
        ref_write(&want, &r, anchor);
        REQUIRE(rec_write_json(&got, &r, anchor) == 0);
        CHECK_MEM(got.p, got.len, want.p, want.len);
        CHECK(got.p[got.len] == '\0');
        buf_free(&got);
        buf_free(&want);
        rec_free(&r);
    }
}

/* A record that does not fit the buffer's cap is refused whole: nothing of it is left
 * behind, whichever part (fixed fields, a string, the chunks) ran out of room. */
TEST(record_writer_too_large_leaves_nothing)
{
    struct rec r;
    rec_init(&r);
    r.conv = strdup("s1");
    for (int i = 0; i < 600; i++)
        rec_chunks_add(&r.chunks, i, 1);
    r.text = malloc(5001);
    memset(r.text, 'a', 5000);
    r.text[5000] = '\0';
    struct buf full;
    buf_init(&full, 0);
    REQUIRE(rec_write_json(&full, &r, 0) == 0);
    for (size_t max = 0; max < full.len + 3000; max += 97) {
        struct buf b;
        buf_init(&b, max);
        if (max >= 3)
            buf_append(&b, "abc", 3);
        size_t before = b.len;
        int rc = rec_write_json(&b, &r, 0);
        if (rc == 0) {
            CHECK_MEM(b.p + before, b.len - before, full.p, full.len);
        } else {
            CHECK_INT(rc, ERR_TOO_LARGE);
            CHECK_INT(b.len, before);
            CHECK(!b.p || b.p[b.len] == '\0');
        }
        buf_free(&b);
    }
    buf_free(&full);
    rec_free(&r);
}

/* --record-http / --record-responses: the http object comes last, its strings escaped, its
 * times relative to the anchor; a record without it writes no key at all. */
TEST(record_http_object)
{
    struct rec r;
    rec_init(&r);
    r.conv = strdup("s1");
    struct buf plain;
    buf_init(&plain, 0);
    REQUIRE(rec_write_json(&plain, &r, 0) == 0);
    CHECK(strstr(plain.p, "\"http\"") == NULL);
    struct rec_http *h = calloc(1, sizeof *h);
    r.http = h;
    h->tx.max = h->rx.max = h->ev.max = 4;
    h->t_head_sent = 1000 + 5;
    rec_chunks_add(&h->tx, 1000 + 5, 120);
    rec_chunks_add(&h->rx, 1000 + 9, 40);
    static const char req[] = "Host\0h:1\0Authorization\0<redacted>";
    h->req_h = malloc(sizeof req);
    memcpy(h->req_h, req, sizeof req);
    h->nreq_h = 2;
    snprintf(h->reason, sizeof h->reason, "OK");
    snprintf(h->local, sizeof h->local, "127.0.0.1");
    h->local_port = 5000;
    snprintf(h->remote, sizeof h->remote, "::1");
    h->remote_port = 8000;
    h->payload = strdup("{\"m\":\"a\\\"b\"}");
    buf_init(&h->evs, 1 << 20);
    static const char ev[] = "\0line1\nline2";
    buf_append(&h->evs, ev, sizeof ev);
    rec_chunks_add(&h->ev, 1000 + 9, 0);
    struct buf b;
    buf_init(&b, 0);
    REQUIRE(rec_write_json(&b, &r, 1000) == 0);
    CHECK(strstr(b.p,
                 ",\"cancelled\":false,\"http\":{\"head_sent\":5,\"tx\":[[5,120]],\"rx\":[[9,40]],"
                 "\"req_headers\":[[\"Host\",\"h:1\"],[\"Authorization\",\"<redacted>\"]],"
                 "\"resp_headers\":[],\"reason\":\"OK\",\"local\":\"127.0.0.1\","
                 "\"local_port\":5000,\"remote\":\"::1\",\"remote_port\":8000,"
                 "\"payload\":\"{\\\"m\\\":\\\"a\\\\\\\"b\\\"}\","
                 "\"resp\":[[9,\"\",\"line1\\nline2\"]]}}\n") != NULL);
    /* every cap: the whole record or nothing of it */
    for (size_t max = 0; max < b.len + 2000; max += 53) {
        struct buf c;
        buf_init(&c, max);
        int rc = rec_write_json(&c, &r, 1000);
        if (rc == 0)
            CHECK_MEM(c.p, c.len, b.p, b.len);
        else
            CHECK_INT(c.len, 0);
        buf_free(&c);
    }
    buf_free(&b);
    buf_free(&plain);
    rec_free(&r);
}
