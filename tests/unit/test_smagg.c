/* AIPerf 0.13's aggregated server-metrics exports (report_smagg.c): the window (reference
 * scrape before the first profile request, closing scrape after the last response, later
 * scrapes ignored), gauge / counter / histogram statistics, the info section and the CSV's
 * label column order, from hand-made scrapes. */
#include "../../src/report/report_int.h"
#include "test.h"
#include "zio.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* One scrape: t in seconds on the run timeline; running gauge g, counter c, histogram with
 * count/sum and two buckets (le 0.1 and +Inf), an info gauge. */
static void scrape(struct sm_agg *a, double t, double g, double c, double hc, double hs, double b01)
{
    char fams[] = "{\"vllm:num_requests_running\":[\"gauge\",\"Number of requests running.\"],"
                  "\"vllm:request_success_total\":[\"counter\",\"Finished requests.\"],"
                  "\"vllm:time_to_first_token_seconds\":[\"histogram\",\"Time to first token.\"],"
                  "\"vllm:cache_config_info\":[\"gauge\",\"Cache config.\"],"
                  "\"http_requests_total\":[\"counter\",\"HTTP requests.\"]}";
    char smp[2048];
    snprintf(
        smp, sizeof smp,
        "[[\"vllm:num_requests_running\",{\"model_name\":\"m\"},%g],"
        "[\"vllm:request_success_total\",{\"model_name\":\"m\",\"finished_reason\":\"stop\"},%g],"
        "[\"vllm:time_to_first_token_seconds_bucket\",{\"model_name\":\"m\",\"le\":\"0.1\"},%g],"
        "[\"vllm:time_to_first_token_seconds_bucket\",{\"model_name\":\"m\",\"le\":\"+Inf\"},%g],"
        "[\"vllm:time_to_first_token_seconds_count\",{\"model_name\":\"m\"},%g],"
        "[\"vllm:time_to_first_token_seconds_sum\",{\"model_name\":\"m\"},%g],"
        "[\"vllm:cache_config_info\",{\"block_size\":\"16\",\"a_key\":\"x,y\"},1],"
        "[\"http_requests_total\",{\"code\":\"2xx\"},%g]]",
        g, c, b01, hc, hc, hs, c);
    cJSON *f = cJSON_Parse(fams), *s = cJSON_Parse(smp);
    REQUIRE(f && s);
    int64_t tn = (int64_t)(t * 1e9);
    sm_agg_add(a, 0, "http://h:8000/metrics", tn, 1000000000000LL + tn, 2000000, f, s);
    cJSON_Delete(f);
    cJSON_Delete(s);
}

TEST(smagg_window_and_stats)
{
    /* profile requests from 1.0 s to 3.0 s */
    struct sm_agg *a = sm_agg_new(1000000000LL, 3000000000LL);
    sm_agg_endpoint(a, 0, "http://h:8000/metrics");
    sm_agg_endpoint(a, 1, "http://dead:1/metrics");
    scrape(a, 0.0, 0, 5, 0, 0, 0);        /* baseline, overwritten by the next */
    scrape(a, 0.5, 0, 10, 2, 0.1, 2);     /* the reference */
    scrape(a, 1.5, 2, 14, 4, 0.3, 3);     /* in the window */
    scrape(a, 2.5, 4, 18, 8, 0.9, 5);     /* in the window */
    scrape(a, 3.5, 1, 20, 10, 1.1, 6);    /* the closing scrape */
    scrape(a, 4.5, 100, 999, 99, 99, 99); /* after it: ignored */
    struct diag d = {0};
    const char *dir = test_tmpdir();
    REQUIRE(sm_agg_write(a, dir, NULL, SM_FMT_JSON | SM_FMT_CSV, "bid", 1000000000, 3000000000,
                         "{}", NULL, &d) == 0);
    sm_agg_free(a);
    char path[1024];
    snprintf(path, sizeof path, "%s/server_metrics_export.json", dir);
    cJSON *j = cJSON_Parse(slurp(path));
    REQUIRE(j != NULL);
    const cJSON *m = cJSON_GetObjectItem(j, "metrics");
    /* gauge: the three scrapes of the window, 2 4 1 */
    const cJSON *g = cJSON_GetObjectItem(
        cJSON_GetArrayItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(m, "vllm:num_requests_running"), "series"), 0),
        "stats");
    CHECK_NEAR(cJSON_GetObjectItem(g, "avg")->valuedouble, 7.0 / 3, 1e-12);
    CHECK_NEAR(cJSON_GetObjectItem(g, "min")->valuedouble, 1, 0);
    CHECK_NEAR(cJSON_GetObjectItem(g, "max")->valuedouble, 4, 0);
    CHECK_NEAR(cJSON_GetObjectItem(g, "std")->valuedouble, sqrt(21.0 / 9), 1e-12);
    CHECK_NEAR(cJSON_GetObjectItem(g, "p50")->valuedouble, 2, 1e-12);
    CHECK_NEAR(cJSON_GetObjectItem(g, "p90")->valuedouble, 3.6, 1e-12); /* numpy linear */
    /* counter: 20 - 10 over 3 s between the reference and the closing scrape; "_total" off */
    const cJSON *cm = cJSON_GetObjectItem(m, "vllm:request_success");
    REQUIRE(cm != NULL);
    CHECK_STR(cJSON_GetObjectItem(cm, "unit")->valuestring, "requests");
    const cJSON *c =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(cm, "series"), 0), "stats");
    CHECK_NEAR(cJSON_GetObjectItem(c, "total")->valuedouble, 10, 0);
    CHECK_NEAR(cJSON_GetObjectItem(c, "rate")->valuedouble, 10.0 / 3, 1e-12);
    /* histogram: count 8, sum 1.0, buckets 0.1: 4, +Inf: 8; p50 at rank 4: the 0.1 bound */
    const cJSON *hm = cJSON_GetObjectItem(m, "vllm:time_to_first_token_seconds");
    CHECK_STR(cJSON_GetObjectItem(hm, "unit")->valuestring, "seconds");
    const cJSON *hs0 = cJSON_GetArrayItem(cJSON_GetObjectItem(hm, "series"), 0);
    const cJSON *h = cJSON_GetObjectItem(hs0, "stats");
    CHECK_INT(cJSON_GetObjectItem(h, "count")->valueint, 8);
    CHECK_NEAR(cJSON_GetObjectItem(h, "sum")->valuedouble, 1.0, 1e-12);
    CHECK_NEAR(cJSON_GetObjectItem(h, "avg")->valuedouble, 0.125, 1e-12);
    CHECK_NEAR(cJSON_GetObjectItem(h, "count_rate")->valuedouble, 8.0 / 3, 1e-12);
    CHECK_NEAR(cJSON_GetObjectItem(h, "p25_estimate")->valuedouble, 0.05, 1e-12);
    CHECK_NEAR(cJSON_GetObjectItem(h, "p50_estimate")->valuedouble, 0.1, 1e-12);
    CHECK_NEAR(cJSON_GetObjectItem(h, "p99_estimate")->valuedouble, 0.1, 1e-12); /* +Inf: lower */
    const cJSON *b = cJSON_GetObjectItem(hs0, "buckets");
    CHECK_INT(cJSON_GetObjectItem(b, "0.1")->valueint, 4);
    CHECK_INT(cJSON_GetObjectItem(b, "+Inf")->valueint, 8);
    /* the info gauge is kept; the dead endpoint is configured, not successful */
    CHECK(cJSON_GetObjectItem(m, "vllm:cache_config_info") != NULL);
    const cJSON *sum = cJSON_GetObjectItem(j, "summary");
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(sum, "endpoints_configured")), 2);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(sum, "endpoints_successful")), 1);
    const cJSON *ei =
        cJSON_GetObjectItem(cJSON_GetObjectItem(sum, "endpoint_info"), "http://h:8000/metrics");
    CHECK_INT(cJSON_GetObjectItem(ei, "total_fetches")->valueint, 6);
    CHECK_NEAR(cJSON_GetObjectItem(ei, "avg_fetch_latency_ms")->valuedouble, 2.0, 1e-12);
    cJSON_Delete(j);
    /* CSV: sections gauge, counter, histogram, then info transposed with labels sorted;
     * counter labels: code alone, then finished_reason + model_name together */
    snprintf(path, sizeof path, "%s/server_metrics_export.csv", dir);
    const char *csv = slurp(path);
    REQUIRE(csv != NULL);
    CHECK(
        strstr(
            csv,
            "# benchmark_id: bid\n# Note: Same benchmark_id and version appear in JSON and Parquet "
            "exports\n#\nEndpoint,Type,Metric,Unit,avg,") != NULL);
    CHECK(
        strstr(csv, "\r\nh:8000,gauge,vllm:num_requests_running,requests,2.3333,1.0000,4.0000,") !=
        NULL);
    CHECK(strstr(csv, "rate_std,code,finished_reason,model_name,Description\r\n") != NULL);
    CHECK(strstr(csv, "h:8000,counter,vllm:request_success,requests,10.0000,3.3333,,,,,,stop,m,"
                      "Finished requests.\r\n") != NULL);
    CHECK(
        strstr(csv, "h:8000,histogram,vllm:time_to_first_token_seconds,seconds,8,2.6667,1.0000,") !=
        NULL);
    CHECK(strstr(csv, ",Time to first token.,0.1=4;+Inf=8\r\n") != NULL);
    CHECK(strstr(csv, "\r\n\r\nEndpoint,Metric,Key,Value,Description\r\n"
                      "h:8000,vllm:cache_config_info,a_key,\"x,y\",Cache config.\r\n"
                      "h:8000,vllm:cache_config_info,block_size,16,Cache config.\r\n") != NULL);
    CHECK(strstr(csv, "gauge,vllm:cache_config_info") == NULL);
}
