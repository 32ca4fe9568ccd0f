/* report: the seed's worked example end to end, verdict rules, shards, incomplete runs. */
#include "report.h"
#include "test.h"
#include "verdict.h"
#include "zio.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static cJSON *load_json(const char *dir, const char *name)
{
    char path[1024], *text = NULL;
    size_t n = 0;
    struct diag d;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (zio_read_all(path, 1 << 26, &text, &n, &d))
        return NULL;
    cJSON *j = cJSON_Parse(text);
    free(text);
    return j;
}

static double num(const cJSON *j, const char *tag, const char *field)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, tag);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, field);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The seed's worked example counts vLLM's "" role chunk as a response, so these tests run
 * with the seed's rule; report_default_drops_empty_chunks checks AIPerf 0.13's. */
static int run_report(const char *const *dirs, size_t n, const char *out, unsigned exports,
                      const struct verdict_spec *v, struct report_result *res, struct diag *d)
{
    struct report_opts o = {0};
    o.out_dir = out;
    o.exports = exports;
    o.verdict = v;
    o.count_empty_chunks = true;
    return report_run(dirs, n, &o, res, d);
}

/* The same records under AIPerf 0.13's rule: A's first response is its 1.06 s token
 * (TTFT 60 ms, TTST 10 ms), B's is 1.045 s (35 ms, 55 ms), C has no "" chunk (40 ms). */
TEST(report_default_drops_empty_chunks)
{
    const char *dirs[] = {"testdata/report/golden"};
    struct report_opts o = {0};
    o.out_dir = test_tmpdir();
    o.exports = REPORT_JSON;
    struct report_result res;
    struct diag d;
    REQUIRE(report_run(dirs, 1, &o, &res, &d) == 0);
    report_result_free(&res);
    cJSON *j = load_json(test_tmpdir(), "profile_export_aiperf.json");
    REQUIRE(j);
    CHECK_NEAR(num(j, "time_to_first_token", "min"), 35.0, 1e-9);
    CHECK_NEAR(num(j, "time_to_first_token", "max"), 60.0, 1e-9);
    CHECK_NEAR(num(j, "time_to_first_token", "avg"), 45.0, 1e-9);
    CHECK_NEAR(num(j, "time_to_second_token", "min"), 10.0, 1e-9);
    CHECK_NEAR(num(j, "time_to_second_token", "max"), 55.0, 1e-9);
    /* Latency ends at the last content chunk either way. */
    CHECK_NEAR(num(j, "request_latency", "avg"), 70.0, 1e-9);
    cJSON_Delete(j);
}

/* seed-metrics.md §5.6, in AIPerf 0.13's display units (ms = ns x 1e-06). */
TEST(report_golden_seed_example)
{
    const char *dirs[] = {"testdata/report/golden"};
    struct report_result res;
    struct diag d;
    REQUIRE(run_report(dirs, 1, test_tmpdir(), REPORT_JSON | REPORT_CSV | REPORT_JSONL, NULL, &res,
                       &d) == 0);
    CHECK_INT(res.violations, 0);
    CHECK_INT(res.all_failed, 0);
    report_result_free(&res);
    cJSON *j = load_json(test_tmpdir(), "profile_export_aiperf.json");
    REQUIRE(j);
    CHECK(num(j, "time_to_first_token", "avg") == 40000000.0 * 1e-06);
    CHECK(num(j, "time_to_first_token", "min") == 30000000.0 * 1e-06);
    CHECK(num(j, "time_to_first_token", "p1") == 30200000.0 * 1e-06);
    CHECK(num(j, "time_to_first_token", "p5") == 31000000.0 * 1e-06);
    CHECK(num(j, "time_to_first_token", "p99") == 49800000.0 * 1e-06);
    CHECK(num(j, "time_to_first_token", "std") == 10000000.0 * 1e-06);
    CHECK(num(j, "time_to_first_token", "count") == 3);
    CHECK(num(j, "time_to_second_token", "avg") == 7500000.0 * 1e-06);
    CHECK(num(j, "time_to_second_token", "p99") == 9950000.0 * 1e-06);
    CHECK(num(j, "time_to_second_token", "std") == 3535533.9059327375 * 1e-06);
    CHECK(num(j, "request_latency", "avg") == 70000000.0 * 1e-06);
    CHECK(num(j, "request_latency", "p90") == 88000000.0 * 1e-06);
    CHECK(num(j, "request_latency", "p75") == 85000000.0 * 1e-06);
    CHECK(num(j, "request_latency", "std") == 26457513.110645905 * 1e-06);
    CHECK(num(j, "inter_token_latency", "avg") == 22500000.0 * 1e-06);
    CHECK(num(j, "inter_token_latency", "p99") == 29850000.0 * 1e-06);
    CHECK(num(j, "inter_token_latency", "std") == 10606601.717798213 * 1e-06);
    CHECK(num(j, "inter_token_latency", "count") == 2);
    CHECK(num(j, "output_token_throughput_per_user", "avg") == 49.99999999999999);
    CHECK(num(j, "output_token_throughput_per_user", "min") == 33.33333333333333);
    CHECK(num(j, "output_token_throughput_per_user", "max") == 66.66666666666666);
    CHECK(num(j, "output_token_throughput_per_user", "p99") == 66.33333333333333);
    CHECK(num(j, "output_token_throughput_per_user", "std") == 23.57022603955158);
    CHECK(num(j, "output_sequence_length", "avg") == 2.3333333333333335);
    CHECK(num(j, "output_sequence_length", "p1") == 1.04);
    CHECK(num(j, "output_sequence_length", "p5") == 1.2);
    CHECK(num(j, "output_sequence_length", "p25") == 2.0);
    CHECK(num(j, "output_sequence_length", "std") == 1.1547005383792515);
    CHECK(num(j, "input_sequence_length", "p1") == 80.4);
    CHECK(num(j, "input_sequence_length", "p99") == 119.6);
    CHECK(num(j, "input_sequence_length", "std") == 20.0);
    /* AIPerf 0.13's name for ISL / TTFT (the seed's hidden input_throughput) */
    CHECK(num(j, "prefill_throughput_per_user", "max") == 3999.9999999999995);
    CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "prefill_throughput_per_user"), "unit")
                  ->valuestring,
              "tokens/sec/user");
    CHECK_STR(cJSON_GetObjectItem(j, "schema_version")->valuestring, "1.4");
    /* AIPerf 0.13's run-level metrics: 3 successes + 1 error */
    CHECK(num(j, "completed_request_count", "avg") == 4.0);
    CHECK(num(j, "request_error_rate", "avg") == 25.0);
    CHECK(num(j, "total_output_tokens", "avg") == 7.0);
    CHECK(num(j, "request_count", "avg") == 3.0);
    CHECK(num(j, "error_request_count", "avg") == 1.0);
    CHECK(num(j, "request_throughput", "avg") == 30.0);
    CHECK(num(j, "output_token_throughput", "avg") == 70.0);
    CHECK(num(j, "benchmark_duration", "avg") == 100000000.0 * 1e-09);
    CHECK(num(j, "total_osl", "avg") == 7.0);
    /* Aggregates carry unit and avg only. */
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(j, "request_count");
    CHECK(cJSON_GetArraySize(rc) == 2);
    const cJSON *es = cJSON_GetObjectItemCaseSensitive(j, "error_summary");
    REQUIRE(cJSON_GetArraySize(es) == 1);
    const cJSON *e0 = cJSON_GetArrayItem(es, 0);
    CHECK(cJSON_GetObjectItem(e0, "count")->valuedouble == 1);
    const cJSON *det = cJSON_GetObjectItem(e0, "error_details");
    CHECK(cJSON_GetObjectItem(det, "code")->valuedouble == 500);
    CHECK_STR(cJSON_GetObjectItem(det, "type")->valuestring, "Internal Server Error");
    CHECK_STR(cJSON_GetObjectItem(det, "message")->valuestring, "{\"error\":\"boom\"}");
    /* Secrets never reach the exports. */
    char *all = cJSON_PrintUnformatted(j);
    CHECK(strstr(all, "sk-secret") == NULL);
    CHECK(strstr(all, "hunter2") == NULL);
    CHECK(strstr(all, "\"http://<redacted>@127.0.0.1:3128/x\"") != NULL);
    CHECK(strstr(all, "\"api_key\":\"<redacted>\"") != NULL);
    free(all);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "was_cancelled")));
    cJSON_Delete(j);

    /* The per-record file: one line per profile request, AIPerf's shape. */
    char path[1024], *text;
    size_t n;
    snprintf(path, sizeof path, "%s/profile_export.jsonl", test_tmpdir());
    REQUIRE(zio_read_all(path, 1 << 20, &text, &n, &d) == 0);
    int lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += text[i] == '\n';
    CHECK_INT(lines, 4);
    CHECK(strstr(text, "\"inter_chunk_latency\":{\"value\":[5.0,55.0],\"unit\":\"ms\"}") != NULL);
    CHECK(strstr(text, "\"error\":{\"code\":500,") != NULL);
    CHECK(strstr(text, "\"prefill_throughput_per_user\":{\"value\":3999.9999999999995,") != NULL);
    free(text);
    snprintf(path, sizeof path, "%s/profile_export_aiperf.csv", test_tmpdir());
    REQUIRE(zio_read_all(path, 1 << 20, &text, &n, &d) == 0);
    /* AIPerf's columns (sum after max) and row names ("Request Count", no unit) */
    CHECK(strncmp(text, "Metric,avg,min,max,sum,p1,p5,p10,p25,p50,p75,p90,p95,p99,std\r\n", 62) ==
          0);
    CHECK(strstr(text, "Time to First Token (ms),40.00,30.00,50.00,120.00,30.20,31.00,32.00,35.00,"
                       "40.00,45.00,48.00,49.00,49.80,10.00\r\n") != NULL);
    CHECK(strstr(text, "Request Throughput (requests/sec),30.00\r\n") != NULL);
    CHECK(strstr(text, "\r\nRequest Count,3.00\r\n") != NULL);
    CHECK(strstr(text, "\r\nRequest Error Rate (%),25.00\r\n") != NULL);
    CHECK(strstr(text, "Error Rate (ratio)") == NULL);
    free(text);
    snprintf(path, sizeof path, "%s/phase_manifest.json", test_tmpdir());
    REQUIRE(zio_read_all(path, 1 << 20, &text, &n, &d) == 0);
    CHECK(strstr(text, "\"metrics_json\": \"phases/profiling/profile_export_aiperf.json\"") !=
          NULL);
    free(text);
}

TEST(report_console_matches_aiperf_cells)
{
    const char *dirs[] = {"testdata/report/golden"};
    char path[1024];
    snprintf(path, sizeof path, "%s/console.txt", test_tmpdir());
    FILE *f = fopen(path, "w+");
    REQUIRE(f);
    struct report_opts o = {0};
    o.count_empty_chunks = true; /* the seed example */
    o.exports = REPORT_CONSOLE;
    o.console = f;
    struct report_result res;
    struct diag d;
    REQUIRE(report_run(dirs, 1, &o, &res, &d) == 0);
    report_result_free(&res);
    fclose(f);
    char *text;
    size_t n;
    REQUIRE(zio_read_all(path, 1 << 20, &text, &n, &d) == 0);
    CHECK(strstr(text,
                 "│             Time to First Token (ms) │  40.00 │ 30.00 │  50.00 │  49.80 │  "
                 "48.00 │  45.00 │ 10.00 │") != NULL);
    CHECK(strstr(text,
                 "│     Output Token Throughput Per User │  50.00 │ 33.33 │  66.67 │  66.33 │  "
                 "63.33 │  58.33 │ 23.57 │\n│                    (tokens/sec/user) │") != NULL);
    CHECK(strstr(text, "│             Request Count (requests) │   3.00 │   N/A │    N/A │") !=
          NULL);
    CHECK(strstr(text, "NVIDIA AIPerf | Error Summary") != NULL);
    CHECK(strstr(text, "│  500 │ Internal Server Error │ {\"error\":\"boom\"} │     1 │") != NULL);
    free(text);
}

TEST(report_verdict_rules)
{
    struct verdict_spec v;
    struct diag d;
    memset(&v, 0, sizeof v);
    REQUIRE(verdict_parse_fail_on(
                &v, "time_to_first_token.p99>45ms, error_rate>0.01,request_throughput.avg<10",
                &d) == 0);
    CHECK_INT(v.nrule, 3);
    CHECK(v.rule[0].value == 45.0);
    REQUIRE(verdict_parse_fail_on(&v, "ttft.max>=0.05s", &d) == 0);
    CHECK(v.rule[3].value == 50.0);
    REQUIRE(verdict_parse_goodput(&v, "time_to_first_token:45 inter_token_latency:20", &d) == 0);
    const char *dirs[] = {"testdata/report/golden"};
    struct report_result res;
    REQUIRE(run_report(dirs, 1, test_tmpdir(), REPORT_JSON, &v, &res, &d) == 0);
    /* p99 49.8 > 45 fires; error_rate 0.25 > 0.01 fires; 30 req/s < 10 holds not; max
     * 50 >= 50 fires. */
    CHECK_INT(res.violations, 3);
    CHECK(res.messages.p && strstr(res.messages.p, "time_to_first_token.p99 = 49.8 ms"));
    report_result_free(&res);
    cJSON *j = load_json(test_tmpdir(), "profile_export_aiperf.json");
    REQUIRE(j);
    /* Good: A (ttft 50 > 45) fails, B (30 ms, ITL 30 > 20) fails, C has no ITL: 0 good. */
    CHECK(num(j, "good_request_count", "avg") == 0.0);
    cJSON_Delete(j);
    memset(&v, 0, sizeof v);
    REQUIRE(verdict_parse_goodput(&v, "time_to_first_token:45", &d) == 0);
    REQUIRE(run_report(dirs, 1, test_tmpdir(), REPORT_JSON, &v, &res, &d) == 0);
    report_result_free(&res);
    j = load_json(test_tmpdir(), "profile_export_aiperf.json");
    REQUIRE(j);
    CHECK(num(j, "good_request_count", "avg") == 2.0);
    CHECK(num(j, "goodput", "avg") == 2 / (100000000 * 1e-09));
    cJSON_Delete(j);
}

TEST(report_verdict_malformed)
{
    static const char *const bad[] = {
        "ttft.p99",          "nosuch.p99>1",        "ttft.p42>1", "ttft.p99>abc",
        "ttft.p99>5parsecs", "request_count.p99>1", "",           "osl>3ms"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct verdict_spec v;
        struct diag d = {0};
        memset(&v, 0, sizeof v);
        if (verdict_parse_fail_on(&v, bad[i], &d) != ERR_INVALID)
            test_fail(__FILE__, __LINE__, "'%s' accepted", bad[i]);
        CHECK(d.msg[0] != '\0');
    }
    struct verdict_spec v;
    struct diag d;
    memset(&v, 0, sizeof v);
    CHECK(verdict_parse_goodput(&v, "ttft200", &d) == ERR_INVALID);
    CHECK(verdict_parse_goodput(&v, "request_count:3", &d) == ERR_INVALID);
}

static void write_run(const char *dir, const char *host, int idx, int count, long long mono,
                      long long real, bool complete, const char *records, bool zstd)
{
    mkdir(dir, 0777);
    char path[1024], text[1024];
    snprintf(path, sizeof path, "%s/run.json", dir);
    int n = snprintf(text, sizeof text,
                     "{\"format\":\"metronome-run\",\"version\":1,\"anchor\":{\"mono_ns\":%lld,"
                     "\"real_ns\":%lld},\"host\":{\"hostname\":\"%s\"},\"shard\":{\"index\":%d,"
                     "\"count\":%d},\"trace\":{\"sha256\":\"abc\"},\"config\":{},"
                     "\"complete\":%s}",
                     mono, real, host, idx, count, complete ? "true" : "false");
    struct diag d;
    afile_write_all(path, text, (size_t)n, &d);
    snprintf(path, sizeof path, "%s/records.jsonl%s", dir, zstd ? ".zst" : "");
    if (!zstd) {
        afile_write_all(path, records, strlen(records), &d);
        return;
    }
    struct zwriter *w;
    zw_open(&w, path, ZW_DIRECT, 3, &d);
    zw_write(w, records, strlen(records));
    zw_commit(w, &d);
}

#define REC(i, w, s, f, l)                                                                         \
    "{\"i\":" #i ",\"worker\":" #w ",\"t_intended\":" #s ",\"t_start\":" #s ",\"chunks\":[[" #f    \
    ",1],[" #l ",1]]}\n"

TEST(report_shards_merge_on_one_timeline)
{
    char a[512], b[512], out[512];
    snprintf(a, sizeof a, "%s/s0", test_tmpdir());
    snprintf(b, sizeof b, "%s/s1", test_tmpdir());
    snprintf(out, sizeof out, "%s/out", test_tmpdir());
    /* Shard 1 started 5 s of wall time later on another host: its t=0 is 5 s later. */
    write_run(a, "h0", 0, 2, 100, 1700000000000000000LL, true,
              REC(0, 0, 1000000000, 1100000000, 1200000000), true);
    write_run(b, "h1", 1, 2, 999999, 1700000005000000000LL, true,
              REC(1, 0, 1000000000, 1100000000, 1300000000), false);
    const char *dirs[] = {a, b};
    struct report_result res;
    struct diag d;
    REQUIRE(run_report(dirs, 2, out, REPORT_JSON, NULL, &res, &d) == 0);
    CHECK_INT(res.nruns, 1);
    report_result_free(&res);
    cJSON *j = load_json(out, "profile_export_aiperf.json");
    REQUIRE(j);
    CHECK(num(j, "request_count", "avg") == 2.0);
    /* From 1.0 s (shard 0) to 5 + 1.3 s (shard 1). */
    CHECK(num(j, "benchmark_duration", "avg") == 5300000000.0 * 1e-09);
    cJSON_Delete(j);
    /* Without the shard markers they are two runs, side by side. */
    write_run(b, "h1", 0, 1, 999999, 1700000005000000000LL, true,
              REC(1, 0, 1000000000, 1100000000, 1300000000), false);
    REQUIRE(run_report(dirs, 2, out, REPORT_JSON, NULL, &res, &d) == 0);
    CHECK_INT(res.nruns, 2);
    report_result_free(&res);
    char sub[600];
    snprintf(sub, sizeof sub, "%s/s1", out);
    j = load_json(sub, "profile_export_aiperf.json");
    REQUIRE(j);
    CHECK(num(j, "request_latency", "avg") == 300.0);
    cJSON_Delete(j);
}

TEST(report_incomplete_and_all_failed)
{
    char a[512];
    snprintf(a, sizeof a, "%s/crashed", test_tmpdir());
    write_run(
        a, "h", 0, 1, 0, 1700000000000000000LL, false,
        "{\"i\":0,\"t_start\":10,\"status\":0,\"error\":{\"code\":null,\"type\":\"connect\","
        "\"message\":\"refused\"}}\n{\"i\":1,\"t_start\":20,\"status\":500,\"error\":{\"code\":"
        "500,\"type\":\"http\",\"message\":\"x\"}}\n{\"i\":2,\"t_st",
        false);
    const char *dirs[] = {a};
    struct report_result res;
    struct diag d;
    REQUIRE(run_report(dirs, 1, a, REPORT_JSON, NULL, &res, &d) == 0);
    CHECK_INT(res.all_failed, 1);
    CHECK_INT(res.incomplete, 1);
    report_result_free(&res);
    cJSON *j = load_json(a, "profile_export_aiperf.json");
    REQUIRE(j);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "error_summary")), 2);
    CHECK(cJSON_GetObjectItem(j, "request_count") == NULL);
    CHECK(num(j, "error_request_count", "avg") == 2.0);
    const cJSON *m = cJSON_GetObjectItem(j, "metronome");
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(m, "complete")));
    CHECK(cJSON_GetObjectItem(m, "dropped_bytes")->valuedouble == 12);
    cJSON_Delete(j);
}

TEST(report_bad_record_names_file_and_line)
{
    char a[512];
    snprintf(a, sizeof a, "%s/bad", test_tmpdir());
    write_run(a, "h", 0, 1, 0, 1, true, "{\"i\":0}\n{\"i\":1,\"t_start\":x}\n", false);
    const char *dirs[] = {a};
    struct report_result res;
    struct diag d = {0};
    CHECK(run_report(dirs, 1, a, REPORT_JSON, NULL, &res, &d) == ERR_PARSE);
    report_result_free(&res);
    if (!strstr(d.msg, "records.jsonl:2: column 18: expected an integer"))
        test_fail(__FILE__, __LINE__, "diag: %s", d.msg);
    char path[600];
    snprintf(path, sizeof path, "%s/profile_export_aiperf.json", a);
    struct stat st;
    CHECK(stat(path, &st) != 0); /* nothing half-written */
}

/* Slices cut the profile records by t_start from the first start: golden starts are
 * 1.00, 1.01, 1.02 s (valid) and 1.03 s (the error). */
TEST(report_time_slices)
{
    const char *dirs[] = {"testdata/report/golden"};
    struct report_opts o = {0};
    o.count_empty_chunks = true; /* the seed example */
    o.out_dir = test_tmpdir();
    o.exports = REPORT_JSON | REPORT_CSV;
    o.slice_duration_s = 0.015;
    struct report_result res;
    struct diag d;
    REQUIRE(report_run(dirs, 1, &o, &res, &d) == 0);
    report_result_free(&res);
    cJSON *j = load_json(test_tmpdir(), "profile_export_aiperf_timeslices.json");
    REQUIRE(j);
    const cJSON *sl = cJSON_GetObjectItem(j, "timeslices");
    REQUIRE(cJSON_GetArraySize(sl) == 3);
    CHECK(num(cJSON_GetArrayItem(sl, 0), "request_count", "avg") == 2.0);
    CHECK(num(cJSON_GetArrayItem(sl, 0), "time_to_first_token", "max") == 50.0);
    CHECK(num(cJSON_GetArrayItem(sl, 1), "request_count", "avg") == 1.0);
    CHECK(num(cJSON_GetArrayItem(sl, 1), "request_latency", "avg") == 40.0);
    CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(sl, 2), "request_count") == NULL);
    CHECK(num(cJSON_GetArrayItem(sl, 2), "error_request_count", "avg") == 1.0);
    /* AIPerf 0.13's slice fields: epoch start_ns/end_ns, the trailing partial slice marked */
    const cJSON *s0 = cJSON_GetArrayItem(sl, 0);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(s0, "start_ns")));
    /* (epoch ns parse into doubles: 256 ns apart near 1.7e18) */
    CHECK(fabs(cJSON_GetObjectItem(s0, "end_ns")->valuedouble -
               cJSON_GetObjectItem(s0, "start_ns")->valuedouble - 15000000.0) <= 512);
    CHECK(cJSON_GetObjectItem(s0, "is_complete") == NULL);
    CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(sl, 2), "is_complete") == NULL);
    cJSON_Delete(j);
    /* and its tidy CSV: one row per statistic */
    char path[1024], *text;
    size_t n;
    snprintf(path, sizeof path, "%s/profile_export_aiperf_timeslices.csv", test_tmpdir());
    REQUIRE(zio_read_all(path, 1 << 20, &text, &n, &d) == 0);
    CHECK(strncmp(text, "Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value\r\n", 50) == 0);
    CHECK(strstr(text, ",Time to First Token,ms,max,50.00\r\n") != NULL);
    CHECK(strstr(text, ",Request Count,requests,avg,2.00\r\n") != NULL);
    free(text);
    /* one 1 s slice: the run ended inside it, so it is AIPerf's trailing partial slice */
    o.slice_duration_s = 1.0;
    REQUIRE(report_run(dirs, 1, &o, &res, &d) == 0);
    report_result_free(&res);
    j = load_json(test_tmpdir(), "profile_export_aiperf_timeslices.json");
    REQUIRE(j);
    sl = cJSON_GetObjectItem(j, "timeslices");
    REQUIRE(cJSON_GetArraySize(sl) == 1);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(sl, 0), "is_complete")));
    cJSON_Delete(j);
}

/* Issue 10 items 8-10: a server usage that contradicts the stream (vLLM's
 * reasoning_tokens 0 beside streamed reasoning), a server that stops short of the
 * requested length, and an error whose reason sits past the first 100 characters. */
TEST(report_usage_contradiction_osl_mismatch_long_error)
{
    char a[512], path[1024];
    snprintf(a, sizeof a, "%s/contra", test_tmpdir());
    write_run(
        a, "h", 0, 1, 0, 1700000000000000000LL, true,
        /* 4 reasoning messages, usage says 0 reasoning tokens */
        "{\"i\":0,\"t_intended\":100,\"t_start\":100,\"osl_req\":7,"
        "\"rchunks\":[[1000,1],[2000,1],[3000,1],[4000,1]],"
        "\"chunks\":[[5000,1],[6000,1],[7000,1]],"
        "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":7,\"reasoning_tokens\":0}}\n"
        /* asked for 100, got 58 (vLLM near its context limit) */
        "{\"i\":1,\"t_intended\":200,\"t_start\":200,\"osl_req\":100,"
        "\"chunks\":[[5000,1],[9000,57]],"
        "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":58}}\n"
        "{\"i\":2,\"t_intended\":300,\"t_start\":300,\"t_end\":900,\"status\":400,"
        "\"error\":{\"code\":400,\"type\":\"http\",\"message\":\"{\\\"error\\\":{\\\"message\\\":"
        "\\\"This model's maximum context length is 2048 tokens. However, you requested "
        "2100 tokens (2000 in the messages, 100 in the completion). Please reduce the "
        "length: REASON-AT-THE-END\\\"}}\"}}\n",
        false);
    snprintf(path, sizeof path, "%s/console.txt", test_tmpdir());
    FILE *f = fopen(path, "w+");
    REQUIRE(f);
    const char *dirs[] = {a};
    struct report_opts o = {0};
    o.out_dir = a;
    o.exports = REPORT_JSON | REPORT_CONSOLE;
    o.console = f;
    struct report_result res;
    struct diag d;
    REQUIRE(report_run(dirs, 1, &o, &res, &d) == 0);
    report_result_free(&res);
    fflush(f);
    rewind(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);

    cJSON *j = load_json(a, "profile_export_aiperf.json");
    REQUIRE(j);
    /* item 8: our count of the 4 reasoning messages, not the server's 0; says which */
    CHECK(num(j, "reasoning_token_count", "max") == 4.0);
    CHECK(num(j, "usage_reasoning_tokens", "max") == 0.0);
    const cJSON *ov =
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metronome"), "token_count_overrides");
    CHECK(cJSON_GetObjectItem(ov, "reasoning_tokens")->valuedouble == 1);
    CHECK(cJSON_GetObjectItem(ov, "output_tokens")->valuedouble == 0);
    CHECK(strstr(text, "Warning: the server's usage contradicted the responses received: 1 "
                       "request(s) reported fewer reasoning tokens") != NULL);
    /* item 9: 58 of 100 (and 7 of 7 is no mismatch): AIPerf's count and panel wording */
    CHECK(num(j, "osl_mismatch_count", "avg") == 1.0);
    CHECK(num(j, "osl_mismatch_diff_pct", "min") == -42.0);
    CHECK(strstr(text,
                 "Output Sequence Length Mismatch Warning\n1 of 2 requests (50.0%) have "
                 "output length differing from requested by more than the threshold.") != NULL);
    /* item 10: the whole reason reaches the console; AIPerf's type name and overflow count */
    CHECK(strstr(text, "Please reduce the length: REASON-AT-THE-END") != NULL);
    CHECK(strstr(text, "Bad Request") != NULL);
    CHECK(num(j, "context_overflow_count", "avg") == 1.0);
    cJSON_Delete(j);
}

/* AIPerf's throughput and tokens-in-flight sweeps on three overlapping streaming requests
 * with known chunk timelines (ms from 1 s): A starts 0, chunks 10 12 20, ends 22, ISL 10;
 * B starts 5, chunks 15 16 16 30, ends 30, ISL 20; C starts 25, one chunk 35, ends 40,
 * ISL 5. Expected numbers: AIPerf 0.13's sweepline functions on the same data
 * (tests/unit/aiperf_sweeps_expected.py), ICL-aware as AIPerf's default backend. */
#define SW_REC(i, isl, s, f, l, e, chunks)                                                         \
    "{\"i\":" #i ",\"worker\":0,\"stream\":true,\"isl\":" #isl ",\"t_intended\":" #s               \
    ",\"t_start\":" #s ",\"t_first\":" #f ",\"t_last\":" #l ",\"t_end\":" #e                       \
    ",\"status\":200,\"chunks\":" chunks "}\n"
TEST(report_throughput_sweeps)
{
    char a[512];
    snprintf(a, sizeof a, "%s/tsweep", test_tmpdir());
    write_run(
        a, "h", 0, 1, 0, 1700000000000000000LL, true,
        SW_REC(0, 10, 1000000000, 1010000000, 1020000000, 1022000000,
               "[[1010000000,1],[1012000000,1],[1020000000,1]]")
            SW_REC(1, 20, 1005000000, 1015000000, 1030000000, 1030000000,
                   "[[1015000000,1],[1016000000,1],[1016000000,1],[1030000000,1]]")
                SW_REC(2, 5, 1025000000, 1035000000, 1035000000, 1040000000, "[[1035000000,1]]"),
        false);
    const char *dirs[] = {a};
    struct report_result res;
    struct diag d;
    REQUIRE(run_report(dirs, 1, a, REPORT_JSON | REPORT_CSV, NULL, &res, &d) == 0);
    report_result_free(&res);
    cJSON *j = load_json(a, "profile_export_aiperf.json");
    REQUIRE(j);
    static const struct {
        const char *tag, *unit;
        double avg, min, max, p50, p90, p95, p99, std;
    } want[] = {
        {"effective_concurrency", "requests", 1.55, 0.0, 2.0, 2.0, 2.0, 2.0, 2.0, 0.49749371855331},
        {"effective_decode_concurrency", "requests", 0.8, 0.0, 2.0, 1.0, 2.0, 2.0, 2.0,
         0.714142842854285},
        {"effective_prefill_concurrency", "requests", 0.75, 0.0, 2.0, 1.0, 2.0, 2.0, 2.0,
         0.6614378277661477},
        {"effective_decode_throughput", "tokens/sec", 125.0, 0.0, 1625.0, 0.0, 232.14285714285722,
         500.0, 1625.0, 268.92643710023856},
        {"effective_prefill_throughput", "tokens/sec", 875.0, 0.0, 3000.0, 500.0, 3000.0, 3000.0,
         3000.0, 1023.1690964840561},
        {"effective_total_throughput", "tokens/sec", 1000.0, 0.0, 3000.0, 500.0, 3000.0, 3000.0,
         3000.0, 977.6672917374976},
        {"effective_decode_throughput_per_user", "tokens/sec/user", 90.40178571428574, 0.0, 812.5,
         0.0, 125.0, 500.0, 812.5, 160.59255682638508},
        {"effective_prefill_throughput_per_user", "tokens/sec/user", 687.5, 0.0, 2000.0, 500.0,
         2000.0, 2000.0, 2000.0, 704.3392293490402},
        {"tokens_in_flight", "tokens", 21.55, 0.0, 36.0, 28.0, 35.0, 35.0, 36.0,
         11.995728406395338},
        {"active_decode_throughput", "tokens/sec", 200.0, 0.0, 1625.0, 107.14285714285722, 500.0,
         500.0, 1625.0, 317.3551413074723},
        {"active_prefill_throughput", "tokens/sec", 1400.0, 500.0, 3000.0, 1000.0, 3000.0, 3000.0,
         3000.0, 969.5359714832657},
        {"active_decode_throughput_per_user", "tokens/sec/user", 144.64285714285717, 0.0, 812.5,
         107.14285714285722, 500.0, 500.0, 812.5, 182.80691274385322},
        {"active_prefill_throughput_per_user", "tokens/sec/user", 1100.0, 500.0, 2000.0, 1000.0,
         2000.0, 2000.0, 2000.0, 583.0951894845299},
        {"active_total_throughput", "tokens/sec", 1000.0, 0.0, 3000.0, 500.0, 3000.0, 3000.0,
         3000.0, 977.6672917374976},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *f[8] = {"avg", "min", "max", "p50", "p90", "p95", "p99", "std"};
        const double e[8] = {want[i].avg, want[i].min, want[i].max, want[i].p50,
                             want[i].p90, want[i].p95, want[i].p99, want[i].std};
        for (int k = 0; k < 8; k++) {
            double got = num(j, want[i].tag, f[k]);
            if (!(fabs(got - e[k]) <= 1e-9 * fmax(1.0, fabs(e[k])))) {
                fprintf(stderr, "%s.%s: got %.17g, AIPerf %.17g\n", want[i].tag, f[k], got, e[k]);
                CHECK(false);
            }
        }
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, want[i].tag), "unit");
        CHECK(cJSON_IsString(u) && strcmp(u->valuestring, want[i].unit) == 0);
    }
    cJSON_Delete(j);
    char path[1024], *text;
    size_t n;
    snprintf(path, sizeof path, "%s/profile_export_aiperf.csv", a);
    REQUIRE(zio_read_all(path, 1 << 20, &text, &n, &d) == 0);
    CHECK(strstr(text, "\r\nTokens In Flight (tokens),21.55,0.00,36.00,,,,,,28.00,,35.00,35.00,"
                       "36.00,12.00\r\n") != NULL);
    free(text);
}

/* Past the cap on kept gaps (max_icl 2 here; A has 2, B 3) the run's decode sweeps fall
 * back to AIPerf's request-level curves, and the report says so. Expected:
 * tests/unit/aiperf_sweeps_expected.py (third part; min 0 for tokens_in_flight, as above). */
TEST(report_throughput_sweeps_gap_cap)
{
    char a[512];
    snprintf(a, sizeof a, "%s/tsweep3", test_tmpdir());
    write_run(
        a, "h", 0, 1, 0, 1700000000000000000LL, true,
        SW_REC(0, 10, 1000000000, 1010000000, 1020000000, 1022000000,
               "[[1010000000,1],[1012000000,1],[1020000000,1]]")
            SW_REC(1, 20, 1005000000, 1015000000, 1030000000, 1030000000,
                   "[[1015000000,1],[1016000000,1],[1016000000,1],[1030000000,1]]")
                SW_REC(2, 5, 1025000000, 1035000000, 1035000000, 1040000000, "[[1035000000,1]]"),
        false);
    const char *dirs[] = {a};
    struct report_opts o = {0};
    o.out_dir = a;
    o.exports = REPORT_JSON;
    o.count_empty_chunks = true;
    o.max_icl = 2;
    struct report_result res;
    struct diag d;
    REQUIRE(report_run(dirs, 1, &o, &res, &d) == 0);
    CHECK(strstr(res.warnings.p ? res.warnings.p : "", "more than 2 inter-chunk gaps") != NULL);
    report_result_free(&res);
    cJSON *j = load_json(a, "profile_export_aiperf.json");
    REQUIRE(j);
    CHECK(fabs(num(j, "effective_decode_throughput", "avg") - 125.0) < 1e-9);
    CHECK(fabs(num(j, "effective_decode_throughput", "max") - 366.6666666666667) < 1e-9);
    CHECK(fabs(num(j, "effective_decode_throughput", "std") - 139.19410907075053) < 1e-9);
    CHECK(fabs(num(j, "tokens_in_flight", "avg") - 22.4) < 1e-9);
    CHECK(num(j, "tokens_in_flight", "max") == 37.0);
    CHECK(num(j, "tokens_in_flight", "p50") == 29.0);
    CHECK(fabs(num(j, "tokens_in_flight", "std") - 12.445481107614924) < 1e-9);
    CHECK(fabs(num(j, "active_decode_throughput", "avg") - 200.0) < 1e-9);
    CHECK(fabs(num(j, "active_decode_throughput", "std") - 126.49110640673517) < 1e-9);
    cJSON_Delete(j);
}

/* Without inter-chunk gaps (one chunk each, OSL from usage) AIPerf's request-level curves:
 * A 0-30 ms, first token 10, OSL 5, ISL 10; B 5-40 ms, first token 20, OSL 3, ISL 20.
 * Expected: tests/unit/aiperf_sweeps_expected.py (second part); min 0 where AIPerf's
 * window, opening before the first request, holds 0 (AIPerf at the first request: 100, 10). */
TEST(report_throughput_sweeps_request_level)
{
    char a[512];
    snprintf(a, sizeof a, "%s/tsweep2", test_tmpdir());
    write_run(a, "h", 0, 1, 0, 1700000000000000000LL, true,
              "{\"i\":0,\"worker\":0,\"stream\":true,\"isl\":10,\"t_intended\":1000000000,"
              "\"t_start\":1000000000,\"t_first\":1010000000,\"t_last\":1010000000,"
              "\"t_end\":1030000000,\"status\":200,\"chunks\":[[1010000000,1]],"
              "\"usage\":{\"completion_tokens\":5}}\n"
              "{\"i\":1,\"worker\":0,\"stream\":true,\"isl\":20,\"t_intended\":1005000000,"
              "\"t_start\":1005000000,\"t_first\":1020000000,\"t_last\":1020000000,"
              "\"t_end\":1040000000,\"status\":200,\"chunks\":[[1020000000,1]],"
              "\"usage\":{\"completion_tokens\":3}}\n",
              false);
    const char *dirs[] = {a};
    struct report_result res;
    struct diag d;
    REQUIRE(run_report(dirs, 1, a, REPORT_JSON, NULL, &res, &d) == 0);
    report_result_free(&res);
    cJSON *j = load_json(a, "profile_export_aiperf.json");
    REQUIRE(j);
    CHECK(fabs(num(j, "effective_decode_throughput", "avg") - 150.0) < 1e-9);
    CHECK(num(j, "effective_decode_throughput", "max") == 300.0);
    CHECK(fabs(num(j, "effective_decode_throughput", "p50") - 100.0) < 1e-9);
    CHECK(fabs(num(j, "effective_decode_throughput", "std") - 111.80339887498948) < 1e-9);
    CHECK(fabs(num(j, "effective_total_throughput", "avg") - 900.0) < 1e-9);
    CHECK(fabs(num(j, "effective_total_throughput", "max") - 2333.3333333333335) < 1e-9);
    CHECK(fabs(num(j, "effective_total_throughput", "std") - 779.9572637865061) < 1e-9);
    CHECK(fabs(num(j, "tokens_in_flight", "avg") - 29.0) < 1e-9);
    CHECK(num(j, "tokens_in_flight", "min") == 0.0);
    CHECK(num(j, "tokens_in_flight", "max") == 38.0);
    CHECK(num(j, "tokens_in_flight", "p50") == 30.0);
    CHECK(fabs(num(j, "tokens_in_flight", "std") - 9.137833441248533) < 1e-9);
    CHECK(fabs(num(j, "active_decode_throughput_per_user", "avg") - 150.0) < 1e-9);
    CHECK(fabs(num(j, "active_decode_throughput_per_user", "min") - 100.0) < 1e-9);
    CHECK(fabs(num(j, "active_decode_throughput_per_user", "std") - 40.8248290463863) < 1e-9);
    cJSON_Delete(j);
}

/* AIPerf's http_req_data_* (KB, / 1024) and http_req_chunks_* from the records' transport
 * counts; a record written without them (an older metronome) leaves it out of the count. */
TEST(report_transport_counts)
{
    char a[512];
    snprintf(a, sizeof a, "%s/tx", test_tmpdir());
    write_run(a, "h", 0, 1, 0, 1700000000000000000LL, true,
              "{\"i\":0,\"worker\":0,\"t_intended\":1000000000,\"t_start\":1000000000,"
              "\"status\":200,\"chunks\":[[1010000000,1],[1020000000,1]],\"bad_chunks\":0,"
              "\"tx_bytes\":1024,\"tx_writes\":1,\"rx_bytes\":3072,\"rx_reads\":2}\n"
              "{\"i\":1,\"worker\":0,\"t_intended\":1000000000,\"t_start\":1000000000,"
              "\"status\":200,\"chunks\":[[1010000000,1],[1020000000,1]],\"bad_chunks\":0,"
              "\"tx_bytes\":2048,\"tx_writes\":3,\"rx_bytes\":1024,\"rx_reads\":4}\n"
              "{\"i\":2,\"worker\":0,\"t_intended\":1000000000,\"t_start\":1000000000,"
              "\"status\":200,\"chunks\":[[1010000000,1],[1020000000,1]],\"bad_chunks\":0}\n",
              false);
    const char *dirs[] = {a};
    struct report_result res;
    struct diag d;
    REQUIRE(run_report(dirs, 1, a, REPORT_JSON | REPORT_JSONL, NULL, &res, &d) == 0);
    report_result_free(&res);
    cJSON *j = load_json(a, "profile_export_aiperf.json");
    REQUIRE(j);
    CHECK(num(j, "request_count", "avg") == 3.0);
    CHECK(num(j, "http_req_data_sent", "count") == 2.0);
    CHECK(num(j, "http_req_data_sent", "avg") == 1.5);
    CHECK(num(j, "http_req_data_sent", "max") == 2.0);
    CHECK(num(j, "http_req_data_received", "sum") == 4.0);
    CHECK(num(j, "http_req_chunks_sent", "avg") == 2.0);
    CHECK(num(j, "http_req_chunks_received", "min") == 2.0);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "http_req_data_sent"), "unit");
    CHECK(cJSON_IsString(u) && strcmp(u->valuestring, "KB") == 0);
    cJSON_Delete(j);
    char path[1024], *text;
    size_t n;
    snprintf(path, sizeof path, "%s/profile_export.jsonl", a);
    REQUIRE(zio_read_all(path, 1 << 20, &text, &n, &d) == 0);
    CHECK(strstr(text, "\"http_req_data_sent\":{\"value\":1.0,\"unit\":\"KB\"}") != NULL ||
          strstr(text, "\"http_req_data_sent\":{\"value\":1,\"unit\":\"KB\"}") != NULL);
    CHECK(strstr(text, "\"http_req_chunks_received\":{\"value\":4,\"unit\":\"count\"}") != NULL);
    free(text);
}

/* metronome.workers in the JSON: each worker's profile records only (never the warmup),
 * with SLOs configured. One worker's summary is the profile summary's own figures
 * (report_summarize hands that out again); two workers' are their own records'. */
static const cJSON *worker_summary(const cJSON *j, int k)
{
    const cJSON *ws = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "metronome"), "workers");
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ws, k), "summary");
}

TEST(report_worker_summaries)
{
#define WREC(i, w, ph, ttft)                                                                       \
    "{\"i\":" #i ",\"worker\":" #w ",\"phase\":\"" ph "\",\"t_intended\":1000000000,"              \
    "\"t_start\":1000000000,\"status\":200,\"chunks\":[[" #ttft ",1],[1100000000,1]]}\n"
    for (int two = 0; two < 2; two++) {
        char a[512];
        snprintf(a, sizeof a, "%s/workers%d", test_tmpdir(), two);
        write_run(a, "h", 0, 1, 0, 1700000000000000000LL, true,
                  two ? WREC(0, 0, "warmup", 1005000000) WREC(1, 0, "profile", 1010000000)
                            WREC(2, 0, "profile", 1020000000) WREC(3, 1, "profile", 1030000000)
                      : WREC(0, 0, "warmup", 1005000000) WREC(1, 0, "profile", 1010000000)
                            WREC(2, 0, "profile", 1020000000) WREC(3, 0, "profile", 1030000000),
                  false);
        struct verdict_spec v;
        struct diag d;
        memset(&v, 0, sizeof v);
        REQUIRE(verdict_parse_goodput(&v, "time_to_first_token:25", &d) == 0);
        const char *dirs[] = {a};
        struct report_result res;
        REQUIRE(run_report(dirs, 1, a, REPORT_JSON, &v, &res, &d) == 0);
        report_result_free(&res);
        cJSON *j = load_json(a, "profile_export_aiperf.json");
        REQUIRE(j);
        CHECK(num(j, "request_count", "avg") == 3.0);
        CHECK(num(j, "good_request_count", "avg") == 2.0);
        CHECK(fabs(num(j, "time_to_first_token", "avg") - 20.0) < 1e-9);
        const cJSON *w0 = worker_summary(j, 0), *w1 = worker_summary(j, 1);
        REQUIRE(w0);
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(w0, "requests")) ==
              (two ? 2.0 : 3.0));
        CHECK(fabs(num(w0, "time_to_first_token", "avg") - (two ? 15.0 : 20.0)) < 1e-9);
        CHECK(fabs(num(w0, "time_to_first_token", "max") - (two ? 20.0 : 30.0)) < 1e-9);
        if (two) {
            REQUIRE(w1);
            CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(w1, "requests")) == 1.0);
            CHECK(fabs(num(w1, "time_to_first_token", "avg") - 30.0) < 1e-9);
        } else {
            CHECK(w1 == NULL);
        }
        cJSON_Delete(j);
    }
#undef WREC
}

/* AIPerf's time-weighted concurrency sweeps on two overlapping requests:
 * A 0-30 ms (first token at 10), B 10-40 ms (first token at 20); window 0-40 ms. */
TEST(report_concurrency_sweeps)
{
    char a[512];
    snprintf(a, sizeof a, "%s/sweep", test_tmpdir());
    write_run(a, "h", 0, 1, 0, 1700000000000000000LL, true,
              REC(0, 0, 1000000000, 1010000000, 1030000000)
                  REC(1, 0, 1010000000, 1020000000, 1040000000),
              false);
    const char *dirs[] = {a};
    struct report_result res;
    struct diag d;
    REQUIRE(run_report(dirs, 1, a, REPORT_JSON | REPORT_CSV, NULL, &res, &d) == 0);
    report_result_free(&res);
    cJSON *j = load_json(a, "profile_export_aiperf.json");
    REQUIRE(j);
    /* in flight: 1 for 10 ms, 2 for 20 ms, 1 for 10 ms (and 0 at the window's first
     * instant, which AIPerf's min includes) */
    CHECK(num(j, "effective_concurrency", "avg") == 1.5);
    CHECK(num(j, "effective_concurrency", "min") == 0.0);
    CHECK(num(j, "effective_concurrency", "max") == 2.0);
    CHECK(num(j, "effective_concurrency", "p50") == 1.0);
    CHECK(num(j, "effective_concurrency", "p90") == 2.0);
    CHECK(fabs(num(j, "effective_concurrency", "std") - 0.5) < 1e-12);
    CHECK(isnan(num(j, "effective_concurrency", "count")));
    /* decoding 10-30 and 20-40: 0, 1, 2, 1 over four 10 ms steps */
    CHECK(num(j, "effective_decode_concurrency", "avg") == 1.0);
    /* prefilling 0-10 and 10-20: 1 for 20 ms of 40 */
    CHECK(num(j, "effective_prefill_concurrency", "avg") == 0.5);
    cJSON_Delete(j);
    char path[1024], *text;
    size_t n;
    snprintf(path, sizeof path, "%s/profile_export_aiperf.csv", a);
    REQUIRE(zio_read_all(path, 1 << 20, &text, &n, &d) == 0);
    CHECK(strstr(text,
                 "\r\nEffective Concurrency,1.50,0.00,2.00,,,,,,1.00,,2.00,2.00,2.00,0.50\r\n") !=
          NULL);
    free(text);
}
