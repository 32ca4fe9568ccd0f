/* records_read: the line scanner over every prefix, and the crash-tolerant frame walk. */
#include "records_read.h"
#include "test.h"
#include "zio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static const char full_line[] =
    "{\"i\":17,\"conv\":\"s3\",\"turn\":1,\"phase\":\"profile\",\"worker\":2,\"conn\":4,"
    "\"reused\":true,\"url\":0,\"model\":\"m\\\"x\",\"stream\":true,\"isl\":512,\"osl_req\":128,"
    "\"t_intended\":1000000000,\"t_dispatch\":999990000,\"t_start\":1000004100,"
    "\"t_connected\":1000004100,\"t_tls\":1000004100,\"t_sent\":1000011000,"
    "\"t_head\":1050000000,\"t_first\":1050001000,\"t_last\":1690000000,\"t_end\":1690200000,"
    "\"status\":200,\"chunks\":[[1050001000,0],[1055000000,1],[1060000000,1]],"
    "\"rchunks\":[[1049000000,1]],\"usage\":{\"prompt_tokens\":512,\"completion_tokens\":128,"
    "\"reasoning_tokens\":0},\"finish\":\"stop\",\"bad_chunks\":0,\"future\":{\"a\":[1,2.5e3,"
    "null,\"x\"]},\"cancelled\":false}";

TEST(records_parse_full_line)
{
    struct rec_parser p;
    rec_parser_init(&p);
    struct rec r;
    size_t col;
    const char *what;
    size_t n = strlen(full_line);
    char *g = test_guard_copy(full_line, n);
    REQUIRE(rec_parse(&p, g, n, &r, &col, &what) == 0);
    CHECK_INT(r.i, 17);
    CHECK_MEM(r.conv.p, r.conv.n, "s3", 2);
    CHECK_MEM(r.model.p, r.model.n, "m\\\"x", 4);
    CHECK_INT(r.turn, 1);
    CHECK_INT(r.worker, 2);
    CHECK(r.reused && r.stream && !r.cancelled);
    CHECK_INT(r.t_intended, 1000000000);
    CHECK_INT(r.t_start, 1000004100);
    CHECK_INT(r.t_end, 1690200000);
    CHECK_INT(r.nchunks, 3);
    CHECK_INT(r.chunk_t[2], 1060000000);
    CHECK_INT(r.chunk_tok[1], 1);
    CHECK_INT(r.nrchunks, 1);
    CHECK_INT(r.rchunk_t[0], 1049000000);
    CHECK(r.has_usage);
    CHECK_INT(r.usage_completion, 128);
    CHECK_INT(r.usage_reasoning, 0);
    CHECK(!r.has_error);
    CHECK_INT(r.phase, REC_PROFILE);
    /* a record written before the transport counts has none */
    CHECK(r.tx_bytes == REC_ABSENT && r.tx_writes == REC_ABSENT && r.rx_bytes == REC_ABSENT &&
          r.rx_reads == REC_ABSENT);
    test_guard_free(g, n);
    rec_parser_free(&p);
}

TEST(records_parse_transport_counts)
{
    static const char line[] = "{\"i\":1,\"t_start\":5,\"status\":200,\"chunks\":[],"
                               "\"bad_chunks\":0,\"tx_bytes\":290,\"tx_writes\":1,"
                               "\"rx_bytes\":2001,\"rx_reads\":8,\"cancelled\":false}";
    struct rec_parser p;
    rec_parser_init(&p);
    struct rec r;
    size_t col;
    const char *what;
    REQUIRE(rec_parse(&p, line, strlen(line), &r, &col, &what) == 0);
    CHECK_INT(r.tx_bytes, 290);
    CHECK_INT(r.tx_writes, 1);
    CHECK_INT(r.rx_bytes, 2001);
    CHECK_INT(r.rx_reads, 8);
    static const char neg[] = "{\"i\":1,\"t_start\":5,\"rx_bytes\":-1}";
    CHECK(rec_parse(&p, neg, strlen(neg), &r, &col, &what) != 0);
    rec_parser_free(&p);
}

/* Every proper prefix of a valid line is malformed (never a crash, never a read past
 * the end: the guard page faults on one), and the diagnosis points inside the line. */
TEST(records_parse_every_prefix_fails_cleanly)
{
    struct rec_parser p;
    rec_parser_init(&p);
    size_t n = strlen(full_line);
    for (size_t k = 0; k < n; k++) {
        char *g = test_guard_copy(full_line, k);
        struct rec r;
        size_t col = 0;
        const char *what = NULL;
        int rc = rec_parse(&p, g, k, &r, &col, &what);
        if (rc == 0)
            test_fail(__FILE__, __LINE__, "prefix of %zu bytes parsed", k);
        CHECK(what != NULL);
        CHECK(col >= 1 && col <= k + 1);
        test_guard_free(g, k);
    }
    rec_parser_free(&p);
}

TEST(records_parse_table)
{
    static const struct {
        const char *line;
        int ok;
        const char *what; /* substring of the diagnosis */
    } cases[] = {
        {"{\"i\":1}", 1, NULL},
        {" { \"i\" : 1 , \"t_start\" : -5 } ", 1, NULL},
        {"{\"i\":1,\"error\":null}", 1, NULL},
        {"{\"i\":1,\"t_start\":null,\"usage\":null,\"conv\":null}", 1, NULL},
        {"{\"i\":1,\"error\":{\"code\":null,\"type\":\"connect\",\"message\":\"\"}}", 1, NULL},
        {"{\"i\":1,\"usage\":{\"prompt_tokens\":null}}", 1, NULL},
        {"{}", 0, "'i' is missing"},
        {"[]", 0, "JSON object"},
        {"{\"i\":1.5}", 0, "integer"},
        {"{\"i\":99999999999999999999}", 0, "range"},
        {"{\"i\":1,}", 0, "string"},
        {"{\"i\":1} x", 0, "trailing"},
        {"{\"i\":1,\"chunks\":[[1,2],[3]]}", 0, NULL},
        {"{\"i\":1,\"conv\":\"a\tb\"}", 0, "control"},
        {"{\"i\":1,\"stream\":maybe}", 0, "true or false"},
        {"{\"i\":1,\"x\":[[[[]]]],\"y\":{\"z\":\"\\\"\"}}", 1, NULL},
        /* Range checks (issue 17): each bound, just inside and just outside. */
        {"{\"i\":1,\"t_end\":288230376151711744}", 1, NULL},
        {"{\"i\":1,\"t_end\":288230376151711745}", 0, "field 't_end': value out of range"},
        {"{\"i\":1,\"t_start\":-288230376151711745}", 0, "field 't_start': value out of range"},
        {"{\"i\":1,\"t_start\":-9223372036854775808}", 0, "'t_start': value out of range"},
        {"{\"i\":1,\"t_first\":9223372036854775807}", 0, "'t_first': value out of range"},
        {"{\"i\":-1}", 0, "field 'i': value out of range"},
        {"{\"i\":1,\"status\":1000}", 0, "'status': value out of range"},
        {"{\"i\":1,\"status\":999}", 1, NULL},
        {"{\"i\":1,\"worker\":65536}", 0, "'worker': value out of range"},
        {"{\"i\":1,\"worker\":-1}", 0, "'worker': value out of range"},
        {"{\"i\":1,\"turn\":2147483648}", 0, "'turn': value out of range"},
        {"{\"i\":1,\"isl\":1099511627777}", 0, "'isl': value out of range"},
        {"{\"i\":1,\"chunks\":[[1,2147483648]]}", 0, "'chunks[*][1]': value out of range"},
        {"{\"i\":1,\"chunks\":[[1,2147483647]]}", 1, NULL},
        {"{\"i\":1,\"rchunks\":[[-9223372036854775807,1]]}", 0, "'chunks[*][0]': value out"},
        {"{\"i\":1,\"usage\":{\"completion_tokens\":-1}}", 0, "'usage': value out of range"},
        {"{\"i\":1,\"error\":{\"code\":9223372036854775807}}", 0, "'error.code': value out"},
    };
    struct rec_parser p;
    rec_parser_init(&p);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rec r;
        size_t col;
        const char *what = NULL;
        int rc = rec_parse(&p, cases[i].line, strlen(cases[i].line), &r, &col, &what);
        if ((rc == 0) != cases[i].ok)
            test_fail(__FILE__, __LINE__, "case %zu (%s): rc %d (%s)", i, cases[i].line, rc,
                      what ? what : "");
        if (!cases[i].ok && cases[i].what && (!what || !strstr(what, cases[i].what)))
            test_fail(__FILE__, __LINE__, "case %zu: diagnosis '%s' lacks '%s'", i,
                      what ? what : "", cases[i].what);
    }
    rec_parser_free(&p);
}

TEST(records_unescape)
{
    char out[64];
    const char *esc = "a\\n\\\"b\\u00e9\\\\";
    struct strv s = {esc, strlen(esc)};
    size_t n = strv_unescape(s, out, sizeof out);
    CHECK_STR(out, "a\n\"b\xc3\xa9\\");
    CHECK_INT(n, strlen(out));
}

/* Three frames of two records each; the file cut at every byte reads exactly the
 * records of the frames that are complete, and says how many bytes it dropped. */
TEST(records_truncated_frames_every_cut)
{
    char lines[6][64];
    unsigned char file[4096];
    size_t flen = 0, frame_end[3];
    for (int f = 0; f < 3; f++) {
        char plain[256];
        size_t pl = 0;
        for (int k = 0; k < 2; k++) {
            int i = f * 2 + k;
            snprintf(lines[i], sizeof lines[i], "{\"i\":%d,\"t_start\":%d}", i, i * 1000);
            pl += (size_t)snprintf(plain + pl, sizeof plain - pl, "%s\n", lines[i]);
        }
        size_t c = ZSTD_compress(file + flen, sizeof file - flen, plain, pl, 3);
        REQUIRE(!ZSTD_isError(c));
        flen += c;
        frame_end[f] = flen;
    }
    CHECK_INT(rec_zstd_complete_prefix(file, flen), flen);
    char path[512];
    snprintf(path, sizeof path, "%s/records.jsonl.zst", test_tmpdir());
    for (size_t cut = 0; cut <= flen; cut++) {
        size_t want_frames = 0;
        while (want_frames < 3 && frame_end[want_frames] <= cut)
            want_frames++;
        CHECK_INT(rec_zstd_complete_prefix(file, cut),
                  want_frames ? frame_end[want_frames - 1] : 0);
        FILE *fp = fopen(path, "wb");
        REQUIRE(fp);
        fwrite(file, 1, cut, fp);
        fclose(fp);
        struct rec_stream *s;
        struct diag d;
        REQUIRE(rec_stream_open(&s, path, &d) == 0);
        const char *line;
        size_t len;
        size_t got = 0;
        int rc;
        while ((rc = rec_stream_next(s, &line, &len, &d)) == 1) {
            if (got < 6)
                CHECK_MEM(line, len, lines[got], strlen(lines[got]));
            got++;
        }
        CHECK_INT(rc, 0);
        if (cut >= 4)
            CHECK_INT(got, want_frames * 2);
        if (cut >= 4)
            CHECK_INT(rec_stream_dropped(s), cut - (want_frames ? frame_end[want_frames - 1] : 0));
        rec_stream_close(s);
    }
}

TEST(records_plain_last_line_without_newline)
{
    char path[512];
    snprintf(path, sizeof path, "%s/records.jsonl", test_tmpdir());
    FILE *fp = fopen(path, "wb");
    REQUIRE(fp);
    fputs("{\"i\":0}\r\n{\"i\":1}", fp);
    fclose(fp);
    struct rec_stream *s;
    struct diag d;
    REQUIRE(rec_stream_open(&s, path, &d) == 0);
    const char *line;
    size_t len;
    REQUIRE(rec_stream_next(s, &line, &len, &d) == 1);
    CHECK_MEM(line, len, "{\"i\":0}", 7);
    CHECK(!rec_stream_last_unterminated(s));
    REQUIRE(rec_stream_next(s, &line, &len, &d) == 1);
    CHECK_MEM(line, len, "{\"i\":1}", 7);
    CHECK(rec_stream_last_unterminated(s));
    CHECK_INT(rec_stream_next(s, &line, &len, &d), 0);
    rec_stream_close(s);
}

/* run.json: every integer is range-checked and named in the message (issue 17: 1e19 and
 * INT64_MAX were cast unchecked and the report died with SIGILL); the version is checked. */
TEST(records_run_meta_table)
{
    static const char head[] = "{\"format\":\"metronome-run\",";
    static const struct {
        const char *rest; /* appended to head */
        int rc;
        const char *msg; /* substring of the message */
    } cases[] = {
        {"\"version\":1,\"anchor\":{\"mono_ns\":5,\"real_ns\":1700000000000000123}}", 0, NULL},
        {"\"version\":1,\"anchor\":{\"mono_ns\":0,\"real_ns\":0},\"ended_real_ns\":1e19}",
         ERR_INVALID, "run.json: field 'ended_real_ns': value out of range (1e19; expected 0.."},
        {"\"version\":1,\"anchor\":{\"mono_ns\":0,\"real_ns\":9223372036854775807}}", ERR_INVALID,
         "field 'anchor.real_ns': value out of range"},
        {"\"version\":1,\"anchor\":{\"mono_ns\":0,\"real_ns\":9.2233720368547758e18}}", ERR_INVALID,
         "field 'anchor.real_ns': value out of range"},
        {"\"version\":1,\"anchor\":{\"mono_ns\":-1,\"real_ns\":0}}", ERR_INVALID,
         "field 'anchor.mono_ns': value out of range"},
        {"\"version\":1,\"anchor\":{\"mono_ns\":1.5,\"real_ns\":0}}", ERR_INVALID,
         "field 'anchor.mono_ns': must be an integer"},
        {"\"version\":1,\"anchor\":{\"mono_ns\":0,\"real_ns\":0},\"shard\":{\"index\":1,"
         "\"count\":1}}",
         ERR_INVALID, "field 'shard.index': value out of range (1; expected 0..0)"},
        {"\"version\":1,\"anchor\":{\"mono_ns\":0,\"real_ns\":0},\"shard\":{\"count\":1e300}}",
         ERR_INVALID, "field 'shard.count': value out of range"},
        {"\"version\":1,\"anchor\":{\"mono_ns\":0,\"real_ns\":0},\"counts\":{\"sent\":"
         "99999999999999999999999}}",
         ERR_INVALID, "field 'counts.sent': value out of range"},
        {"\"version\":1,\"anchor\":{\"mono_ns\":0,\"real_ns\":0},\"counts\":{\"errors\":\"3\"}}",
         ERR_INVALID, "field 'counts.errors': must be an integer"},
        {"\"version\":1,\"anchor\":{\"mono_ns\":0,\"real_ns\":0},\"config\":{\"seed\":"
         "18446744073709551616}}",
         ERR_INVALID, "field 'config.seed': value out of range"},
        {"\"version\":2,\"anchor\":{\"mono_ns\":0,\"real_ns\":0}}", ERR_UNSUPPORTED,
         "run format version 2 is not supported (this build reads 1)"},
        {"\"anchor\":{\"mono_ns\":0,\"real_ns\":0}}", ERR_UNSUPPORTED, "'version' is missing"},
        {"\"version\":1,\"anchor\":{\"mono_ns\":0,\"real_ns\":0}} x", ERR_PARSE,
         "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s", head, cases[i].rest);
        struct run_meta m;
        struct diag d = {0};
        int rc = run_meta_parse(&m, "d", "d/run.json", text, strlen(text), &d);
        if (rc != cases[i].rc)
            test_fail(__FILE__, __LINE__, "case %zu: rc %d, want %d (%s)", i, rc, cases[i].rc,
                      d.msg);
        if (cases[i].msg && !strstr(d.msg, cases[i].msg))
            test_fail(__FILE__, __LINE__, "case %zu: message '%s' lacks '%s'", i, d.msg,
                      cases[i].msg);
        if (rc == 0) {
            CHECK_INT(m.anchor_real, 1700000000000000123LL); /* exact beyond 2^53 */
            CHECK_INT(m.anchor_mono, 5);
            CHECK_INT(m.shard_count, 1);
            CHECK_INT(m.sent, -1);
            CHECK(!m.has_seed);
            run_meta_free(&m);
        }
    }
}

/* run.json's clock (adjtimex's estimate, written by replay): read into the fields the
 * report's start skew adds across hosts; absent or null is "unknown" (-1, unsynchronized),
 * an out-of-range or non-integer estimate is refused with its field named. */
TEST(records_run_meta_clock)
{
    static const struct {
        const char *clock; /* the "clock" member's value */
        int rc;
        int64_t est, max;
        bool synced;
        const char *msg;
    } cases[] = {
        {"{\"source\":\"adjtimex\",\"synchronized\":true,\"esterror_ns\":2000,"
         "\"maxerror_ns\":16000000}",
         0, 2000, 16000000, true, NULL},
        {"{\"source\":\"adjtimex\",\"synchronized\":false,\"esterror_ns\":0,"
         "\"maxerror_ns\":16000000000}",
         0, 0, 16000000000LL, false, NULL},
        {"null", 0, -1, -1, false, NULL},
        {"{}", 0, -1, -1, false, NULL},
        {"{\"synchronized\":true,\"esterror_ns\":-5}", ERR_INVALID, 0, 0, false,
         "field 'clock.esterror_ns': value out of range"},
        {"{\"synchronized\":true,\"esterror_ns\":1e300}", ERR_INVALID, 0, 0, false,
         "field 'clock.esterror_ns': value out of range"},
        {"{\"synchronized\":true,\"maxerror_ns\":\"7\"}", ERR_INVALID, 0, 0, false,
         "field 'clock.maxerror_ns': must be an integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"format\":\"metronome-run\",\"version\":1,\"anchor\":{\"mono_ns\":5,"
                 "\"real_ns\":7},\"clock\":%s}",
                 cases[i].clock);
        struct run_meta m;
        struct diag d = {0};
        int rc = run_meta_parse(&m, "d", "d/run.json", text, strlen(text), &d);
        if (rc != cases[i].rc)
            test_fail(__FILE__, __LINE__, "case %zu: rc %d, want %d (%s)", i, rc, cases[i].rc,
                      d.msg);
        if (cases[i].msg && !strstr(d.msg, cases[i].msg))
            test_fail(__FILE__, __LINE__, "case %zu: message '%s' lacks '%s'", i, d.msg,
                      cases[i].msg);
        if (rc == 0) {
            CHECK_INT(m.clock_esterror, cases[i].est);
            CHECK_INT(m.clock_maxerror, cases[i].max);
            CHECK(m.clock_synced == cases[i].synced);
            run_meta_free(&m);
        }
    }
}

/* replay --record-http: the "http" object is kept as a view of its JSON text. */
TEST(records_parse_http_object)
{
    static const char line[] = "{\"i\":1,\"conv\":\"s\",\"t_start\":5,\"cancelled\":false,"
                               "\"http\":{\"tx\":[[5,1]],\"req_headers\":[[\"a\",\"}\"]]}}";
    struct rec_parser p;
    rec_parser_init(&p);
    struct rec r;
    size_t col;
    const char *what;
    CHECK_INT(rec_parse(&p, line, sizeof line - 1, &r, &col, &what), 0);
    CHECK_MEM(r.http.p, r.http.n, "{\"tx\":[[5,1]],\"req_headers\":[[\"a\",\"}\"]]}",
              sizeof "{\"tx\":[[5,1]],\"req_headers\":[[\"a\",\"}\"]]}" - 1);
    static const char bad[] = "{\"i\":1,\"http\":[1]}";
    CHECK(rec_parse(&p, bad, sizeof bad - 1, &r, &col, &what) != 0);
    static const char none[] = "{\"i\":1}";
    CHECK_INT(rec_parse(&p, none, sizeof none - 1, &r, &col, &what), 0);
    CHECK_INT(r.http.n, 0);
    rec_parser_free(&p);
}
