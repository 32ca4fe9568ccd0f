/* metrics: AIPerf's per-record definitions on hand-made records (reasoning, non-streaming,
 * edge cases of seed-metrics.md §5.4). */
#include "metrics.h"
#include "records_read.h"
#include "test.h"

#include <string.h>

static struct rrec make(const char *line, bool streaming_run)
{
    struct rec_parser p;
    rec_parser_init(&p);
    struct rec r;
    size_t col;
    const char *what;
    struct rrec rr;
    memset(&rr, 0, sizeof rr);
    if (rec_parse(&p, line, strlen(line), &r, &col, &what) == 0)
        rrec_from_rec(&rr, &r, 0, 0, streaming_run, false);
    else
        test_fail(__FILE__, __LINE__, "parse: %s", what);
    rec_parser_free(&p);
    return rr;
}

static double val(const struct rrec *r, enum metric_id m)
{
    double v;
    return metric_value(r, m, &v) ? v : -1.0;
}

TEST(metrics_reasoning_counts_as_response)
{
    struct rrec r = make("{\"i\":0,\"t_intended\":900,\"t_start\":1000,\"rchunks\":[[1100,2],"
                         "[1150,3]],\"chunks\":[[1300,0],[1400,4]],\"usage\":{\"completion_tokens\""
                         ":9,\"reasoning_tokens\":5}}",
                         true);
    CHECK(r.flags & RR_VALID);
    CHECK(val(&r, M_TTFT) == 100); /* first response: reasoning at 1100 */
    CHECK(val(&r, M_TTST) == 50);
    CHECK(val(&r, M_LATENCY) == 400);
    CHECK(val(&r, M_OSL) == 9); /* usage wins */
    CHECK(val(&r, M_REASONING) == 5);
    CHECK(val(&r, M_OUT_COUNT) == 4);
    CHECK(val(&r, M_TTFO) == 400); /* first content with tokens, not the "" at 1300 */
    CHECK(val(&r, M_ITL) == 300.0 / 8.0);
    CHECK(val(&r, M_TTFT_INTENDED) == 200);
    CHECK(val(&r, M_LAT_INTENDED) == 500);
    CHECK(val(&r, M_LATENESS) == 100);
}

TEST(metrics_non_streaming_has_no_stream_metrics)
{
    struct rrec r = make("{\"i\":0,\"stream\":false,\"t_start\":1000,\"t_last\":5000,\"t_end\":"
                         "5000,\"isl\":7,\"usage\":{\"completion_tokens\":12}}",
                         true);
    CHECK(r.flags & RR_VALID);
    CHECK(val(&r, M_LATENCY) == 4000);
    CHECK(val(&r, M_TTFT) == -1);
    CHECK(val(&r, M_ITL) == -1);
    CHECK(val(&r, M_OSL) == 12);
    CHECK(val(&r, M_ISL) == 7);
}

/* seed-metrics.md §5.4: one response carrying every token gives ITL 0.0 and no OTT/user;
 * OSL 1 gives no ITL; a 200 without content is invalid but not an error. */
TEST(metrics_seed_edge_cases)
{
    struct rrec r = make("{\"i\":0,\"t_start\":1000,\"chunks\":[[2000,5]]}", true);
    CHECK(val(&r, M_ITL) == 0.0);
    CHECK(val(&r, M_OTT_USER) == -1);
    CHECK(val(&r, M_TTST) == -1);
    CHECK(val(&r, M_TTFT) == val(&r, M_LATENCY));
    /* A "" role chunk then one token: AIPerf 0.13 keeps one response (the seed kept two). */
    r = make("{\"i\":0,\"t_start\":1000,\"chunks\":[[1500,0],[2000,1]]}", true);
    CHECK(val(&r, M_ITL) == -1);
    CHECK(val(&r, M_TTST) == -1);
    CHECK(val(&r, M_TTFT) == 1000);
    r = make("{\"i\":0,\"t_start\":1000,\"status\":200,\"chunks\":[]}", true);
    CHECK(!(r.flags & RR_VALID));
    CHECK(!(r.flags & RR_ERROR));
    r = make("{\"i\":0,\"t_start\":1000,\"chunks\":[[900,1]]}", true);
    CHECK(!(r.flags & RR_VALID)); /* a response before the start */
    r = make("{\"i\":0,\"t_start\":1000,\"chunks\":[[1500,1]],\"error\":{\"code\":499,\"type\":"
             "\"cancelled\",\"message\":\"\"},\"cancelled\":true}",
             true);
    CHECK(!(r.flags & RR_VALID));
    CHECK(r.flags & RR_CANCELLED);
    CHECK(val(&r, M_LATENESS) == -1); /* no t_intended */
}

TEST(metrics_find_accepts_aiperf_names)
{
    CHECK_INT(metric_find("time_to_first_token", 19), M_TTFT);
    CHECK_INT(metric_find("ttft", 4), M_TTFT);
    CHECK_INT(metric_find("request_throughput", 18), M_REQ_TPUT);
    CHECK_INT(metric_find("nope", 4), -1);
    CHECK(metric_display(M_TTFT, 4898437) == 4898437 * 1e-06);
    CHECK(metric_display(M_DURATION, 1e8) == 1e8 * 1e-09);
    CHECK(metric_display(M_OSL, 3) == 3);
}

/* A non-streaming body is one response even without text (an embeddings list); a stream
 * whose only messages were empty has none (AIPerf 0.13). */
TEST(metrics_empty_bodies)
{
    struct rrec r = make("{\"i\":0,\"t_start\":1000,\"stream\":false,\"t_last\":1800,"
                         "\"chunks\":[[1800,0]]}",
                         false);
    CHECK(r.flags & RR_VALID);
    CHECK(val(&r, M_LATENCY) == 800);
    r = make("{\"i\":0,\"t_start\":1000,\"stream\":true,\"t_last\":1800,\"chunks\":[[1500,0],"
             "[1800,0]]}",
             true);
    CHECK(!(r.flags & RR_VALID));
}

/* Which records count a connect inside their latency (issue 17 item 14): a new connection
 * opened for the request; not a reused one, not one opened before the run (--preconnect),
 * not a connect that failed. */
TEST(metrics_connect_time_of_new_connections)
{
    static const struct {
        const char *line;
        int64_t want;
    } cases[] = {
        {"{\"i\":0,\"conn\":1,\"reused\":false,\"t_start\":1000,\"t_connected\":3500,\"t_end\":"
         "9000}",
         2500},
        {"{\"i\":0,\"conn\":1,\"reused\":true,\"t_start\":1000,\"t_connected\":1000,\"t_end\":"
         "9000}",
         RR_NONE},
        {"{\"i\":0,\"conn\":1,\"reused\":false,\"preconnect_ns\":700,\"t_start\":1000,"
         "\"t_connected\":1000,\"t_end\":9000}",
         RR_NONE},
        {"{\"i\":0,\"conn\":1,\"reused\":false,\"t_start\":1000,\"t_end\":9000,\"error\":{\"code\":"
         "null,\"type\":\"connect\",\"message\":\"refused\"}}",
         RR_NONE},
        {"{\"i\":0,\"conn\":1,\"reused\":false,\"t_start\":1000,\"t_connected\":1000,\"t_end\":"
         "9000}",
         0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rrec r = make(cases[i].line, true);
        CHECK_INT(r.connect_ns, cases[i].want);
    }
}

/* AIPerf 0.13's network_adjusted_* and network_rtt have no per-record value (they are
 * derived after aggregation from one run-level RTT): metric_value never has them, so
 * neither does the per-record export; each adjusted metric names its source. */
TEST(metrics_network_adjusted_are_summary_only)
{
    struct rrec r = make("{\"i\":0,\"t_start\":1000,\"chunks\":[[1300,2],[1400,4]]}", true);
    CHECK(val(&r, M_LATENCY) == 400);
    CHECK(val(&r, M_NA_LATENCY) == -1);
    CHECK(val(&r, M_NA_TTFT) == -1);
    CHECK(val(&r, M_NA_TTFO) == -1);
    CHECK(val(&r, M_NET_RTT) == -1);
    CHECK_INT(metric_network_source(M_NA_LATENCY), M_LATENCY);
    CHECK_INT(metric_network_source(M_NA_TTFT), M_TTFT);
    CHECK_INT(metric_network_source(M_NA_TTFO), M_TTFO);
    CHECK_INT(metric_network_source(M_NET_RTT), -1);
    CHECK_INT(metric_network_source(M_LATENCY), -1);
    const char *tag = "network_adjusted_time_to_first_output_token";
    CHECK_INT(metric_find(tag, strlen(tag)), M_NA_TTFO);
}
