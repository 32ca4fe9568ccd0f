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
