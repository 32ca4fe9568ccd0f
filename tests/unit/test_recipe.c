/* AIPerf's grid search recipes: the log-spaced grid, the options' checks, and the two
 * post-process handlers (degradation knee, SLA breach) on per-combination rows. */
#include "profile_sweep.h"
#include "test.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

TEST(recipe_logspace_as_aiperf)
{
    /* expected: AIPerf 0.13's _logspace_int_steps on the same arguments */
    static const struct {
        long lo, hi;
        int steps;
        long want[8];
        size_t n;
    } cases[] = {
        {1, 1000, 8, {1, 3, 7, 19, 52, 139, 373, 1000}, 8},
        {1, 8, 8, {1, 2, 3, 4, 6, 8}, 6},
        {1, 2, 2, {1, 2}, 2},
        {4, 16, 3, {4, 8, 16}, 3},
        {1, 10, 5, {1, 2, 3, 6, 10}, 5},
        {2, 5, 7, {2, 3, 4, 5}, 4},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long out[16];
        size_t n = recipe_logspace(cases[c].lo, cases[c].hi, cases[c].steps, out, 16);
        CHECK_INT(n, cases[c].n);
        for (size_t i = 0; i < n && i < cases[c].n; i++)
            CHECK_INT(out[i], cases[c].want[i]);
    }
}

/* per_combination_metrics rows: one trial ({tag: {stat}}) or several ({tag_stat: {mean}}) */
static cJSON *rows(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    return j ? j : cJSON_CreateArray();
}

static int parse(struct sweep_cfg *s, const char *const *args, int n, struct diag *d)
{
    return sweep_cfg_parse(s, n, (char **)args, d);
}

TEST(recipe_expands_to_concurrency_sweep)
{
    struct sweep_cfg s;
    struct diag d = {0};
    const char *a1[] = {"--search-recipe",     "concurrency-ramp",
                        "--concurrency-max",   "10",
                        "--concurrency-steps", "5"};
    REQUIRE(parse(&s, a1, 6, &d) == 0);
    CHECK_INT(s.npoints, 5);
    char b[256];
    sweep_point_dir(&s, 3, b, sizeof b);
    CHECK_STR(b, "concurrency_6");
    CHECK_STR(s.dims[0].canon, "--concurrency");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(s.recipe, "output_filename")),
              "degradation_knee.json");
    sweep_cfg_free(&s);
    /* grid style: always 8 steps; itl and tpot are one SLA */
    const char *a2[] = {"--search-recipe",
                        "max-concurrency-under-sla",
                        "--search-style",
                        "grid",
                        "--concurrency-max",
                        "8",
                        "--concurrency-steps",
                        "3",
                        "--streaming",
                        "--itl-sla-ms",
                        "5",
                        "--tpot-sla-ms",
                        "5",
                        "--error-rate-sla",
                        "0.1"};
    REQUIRE(parse(&s, a2, 15, &d) == 0);
    CHECK_INT(s.npoints, 6);
    cJSON *fs = cJSON_GetObjectItem(s.recipe, "sla_filters");
    CHECK_INT(cJSON_GetArraySize(fs), 2);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(fs->child, "metric_tag")),
              "inter_token_latency");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(fs->child->next, "threshold")) == 10.0);
    sweep_cfg_free(&s);
    /* without a recipe the flags are checked, then ignored */
    const char *a3[] = {"--concurrency-min", "5", "--degradation-stat", "p90"};
    REQUIRE(parse(&s, a3, 4, &d) == 0);
    CHECK(!sweep_cfg_active(&s));
    sweep_cfg_free(&s);
}

TEST(recipe_curves_expand_as_aiperf)
{
    struct sweep_cfg s;
    struct diag d = {0};
    char b[256];
    /* prefill-ttft-curve: ISL 256..32768 in 8 log steps at concurrency [1]; AIPerf's grid
     * sorts the paths: datasets.main.prompts.isl before phases.profiling.concurrency */
    const char *a1[] = {"--search-recipe", "prefill-ttft-curve", "--streaming"};
    REQUIRE(parse(&s, a1, 3, &d) == 0);
    CHECK_INT(s.npoints, 8);
    CHECK_INT(s.ndims, 2);
    sweep_point_dir(&s, 0, b, sizeof b);
    CHECK_STR(b, "isl_256__concurrency_1");
    sweep_point_dir(&s, 7, b, sizeof b);
    CHECK_STR(b, "isl_32768__concurrency_1");
    sweep_point_vlabel(&s, 1, b, sizeof b);
    CHECK_STR(b, "datasets.main.prompts.isl=512, phases.profiling.concurrency=1");
    CHECK_STR(s.dims[0].canon, "--prompt-input-tokens-mean");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(s.recipe, "output_filename")),
              "prefill_curve.json");
    sweep_cfg_free(&s);
    const char *a2[] = {"--search-recipe",
                        "prefill-ttft-curve",
                        "--streaming",
                        "--isl-min",
                        "16",
                        "--isl-max",
                        "256",
                        "--isl-steps",
                        "3"};
    REQUIRE(parse(&s, a2, 9, &d) == 0);
    CHECK_INT(s.npoints, 3);
    sweep_point_dir(&s, 1, b, sizeof b);
    CHECK_STR(b, "isl_64__concurrency_1");
    sweep_cfg_free(&s);
    /* decode-itl-curve: OSL 64..1024 (4 steps) x concurrency 1..200 (6 steps) by default;
     * the OSL path sorts first, so it is the outer loop */
    const char *a3[] = {"--search-recipe", "decode-itl-curve", "--streaming"};
    REQUIRE(parse(&s, a3, 3, &d) == 0);
    CHECK_INT(s.npoints, 24);
    sweep_point_dir(&s, 0, b, sizeof b);
    CHECK_STR(b, "osl_64__concurrency_1");
    sweep_point_dir(&s, 5, b, sizeof b);
    CHECK_STR(b, "osl_64__concurrency_200");
    sweep_point_dir(&s, 6, b, sizeof b);
    CHECK_STR(b, "osl_161__concurrency_1");
    CHECK_STR(s.dims[0].canon, "--prompt-output-tokens-mean");
    sweep_cfg_free(&s);
    const char *a4[] = {"--search-recipe",
                        "decode-itl-curve",
                        "--streaming",
                        "--osl-min",
                        "4",
                        "--osl-max",
                        "8",
                        "--osl-steps",
                        "2",
                        "--concurrency-max",
                        "2",
                        "--concurrency-steps",
                        "2"};
    REQUIRE(parse(&s, a4, 13, &d) == 0);
    CHECK_INT(s.npoints, 4);
    sweep_point_dir(&s, 3, b, sizeof b);
    CHECK_STR(b, "osl_8__concurrency_2");
    sweep_cfg_free(&s);
}

TEST(recipe_pareto_pairs_cross_concurrency)
{
    struct sweep_cfg s;
    struct diag d = {0};
    char b[256];
    /* AIPerf's ParetoSweep: pairs outer, the --concurrency list inner (consumed, not a
     * sweep list); whitespace around separators tolerated; directories from the scenario
     * values isl, osl, concurrency */
    const char *a1[] = {"--search-recipe", "pareto-sweep",  "--streaming", "--isl-osl-pairs",
                        "128/64, 32 / 64", "--concurrency", "4,1"};
    REQUIRE(parse(&s, a1, 7, &d) == 0);
    CHECK_INT(s.npoints, 4);
    static const char *const want[] = {
        "isl_128__osl_64__concurrency_4", "isl_128__osl_64__concurrency_1",
        "isl_32__osl_64__concurrency_4", "isl_32__osl_64__concurrency_1"};
    for (size_t i = 0; i < 4; i++) {
        sweep_point_dir(&s, i, b, sizeof b);
        CHECK_STR(b, want[i]);
    }
    CHECK_INT(s.dims[0].n, 2); /* the distinct values, as AIPerf's sweep_parameters */
    CHECK_INT(s.dims[1].n, 1);
    CHECK_STR(s.dims[2].canon, "--concurrency");
    sweep_cfg_free(&s);
    /* default concurrency list 1, 4, 16, 64, 256 */
    const char *a2[] = {"--search-recipe", "pareto-sweep", "--streaming", "--isl-osl-pairs", "8/8"};
    REQUIRE(parse(&s, a2, 5, &d) == 0);
    CHECK_INT(s.npoints, 5);
    sweep_point_dir(&s, 4, b, sizeof b);
    CHECK_STR(b, "isl_8__osl_8__concurrency_256");
    sweep_cfg_free(&s);
}

TEST(recipe_pareto_export)
{
    cJSON *spec = cJSON_CreateObject();
    cJSON_AddStringToObject(spec, "handler", "pareto_sweep_export");
    cJSON_AddStringToObject(spec, "x_metric", "time_to_first_token");
    cJSON_AddStringToObject(spec, "x_stat", "p95");
    cJSON_AddStringToObject(spec, "y_metric", "output_token_throughput");
    cJSON_AddStringToObject(spec, "y_stat", "avg");
    /* a: x 10 y 50; b: x 20 y 40 (dominated by a); c: x 5 y 30 (lowest x); d: the trials'
     * flat keys, x 10 y 50 (ties a: neither dominates) */
    cJSON *pc =
        rows("[{\"parameters\":{\"isl\":1,\"osl\":2,\"concurrency\":1},\"metrics\":{\"time_to_"
             "first_token\":{\"mean\":10},\"output_token_throughput\":{\"mean\":50}}},"
             "{\"parameters\":{\"isl\":1,\"osl\":2,\"concurrency\":2},\"metrics\":{\"time_to_"
             "first_token\":{\"mean\":20},\"output_token_throughput\":{\"mean\":40}}},"
             "{\"parameters\":{\"isl\":3,\"osl\":4,\"concurrency\":1},\"metrics\":{\"time_to_"
             "first_token\":{\"mean\":5},\"output_token_throughput\":{\"mean\":30}}},"
             "{\"parameters\":{\"isl\":3,\"osl\":4,\"concurrency\":2},\"metrics\":{\"time_to_"
             "first_token_p95\":{\"mean\":10},\"output_token_throughput_avg\":{\"mean\":50}}},"
             "{\"parameters\":{\"isl\":5},\"metrics\":{}}]");
    cJSON *out = NULL;
    struct diag d = {0};
    REQUIRE(recipe_post_process(spec, pc, &out, &d) == 0);
    const cJSON *cells = cJSON_GetObjectItem(out, "cells");
    CHECK_INT(cJSON_GetArraySize(cells), 4);
    static const bool opt[] = {true, false, true, true};
    for (int i = 0; i < 4; i++)
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(cells, i), "pareto_optimal")) ==
              opt[i]);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(cells, 3), "x")) == 10);
    cJSON_Delete(out);
    cJSON_Delete(pc);
    pc = rows("[]");
    CHECK_INT(recipe_post_process(spec, pc, &out, &d), ERR_INVALID);
    cJSON_Delete(pc);
    cJSON_Delete(spec);
}

TEST(recipe_bad_values_name_option_and_value)
{
    static const struct {
        const char *args[8];
        int n;
        int rc;
        const char *msg;
    } cases[] = {
        {{"--search-recipe", "pareto-sweep"},
         2,
         ERR_INVALID,
         "--search-recipe pareto-sweep requires --streaming (output_token_throughput is a "
         "streaming-only metric)"},
        {{"--search-recipe", "max-goodput-under-slo"},
         2,
         ERR_UNSUPPORTED,
         "--search-recipe: 'max-goodput-under-slo' is not supported (metronome runs "
         "concurrency-ramp, prefill-ttft-curve, decode-itl-curve, pareto-sweep and "
         "max-concurrency-under-sla --search-style grid)"},
        {{"--search-recipe", "pareto-sweep", "--streaming"},
         3,
         ERR_INVALID,
         "--search-recipe pareto-sweep requires --isl-osl-pairs (e.g. '128/128,256/256')"},
        {{"--search-recipe", "pareto-sweep", "--streaming", "--isl-osl-pairs", "8/8",
          "--concurrency", "4"},
         7,
         ERR_INVALID,
         "--search-recipe pareto-sweep: a Pareto sweep with a single point is meaningless; pass "
         "at least 2 pairs or 2 concurrency values"},
        {{"--search-recipe", "pareto-sweep", "--streaming", "--isl-osl-pairs", "8/8",
          "--concurrency", "4,x"},
         7,
         ERR_INVALID,
         "--concurrency: value 'x' (item 2 of '4,x'): not a positive integer"},
        {{"--isl-osl-pairs", "128/128, 64"},
         2,
         ERR_INVALID,
         "--isl-osl-pairs: '64' expected '<isl>/<osl>' (one slash)"},
        {{"--isl-osl-pairs", "1/2/3"},
         2,
         ERR_INVALID,
         "--isl-osl-pairs: '1/2/3' expected '<isl>/<osl>' (one slash)"},
        {{"--isl-osl-pairs", "128/0"},
         2,
         ERR_INVALID,
         "--isl-osl-pairs: '128/0' both sides must be a positive int"},
        {{"--isl-osl-pairs", "a/1"},
         2,
         ERR_INVALID,
         "--isl-osl-pairs: 'a/1' both sides must be a positive int"},
        {{"--isl-osl-pairs", "1/1,2/2,1/1"},
         2,
         ERR_INVALID,
         "--isl-osl-pairs: duplicate pair '1/1'"},
        {{"--isl-osl-pairs", " , "},
         2,
         ERR_INVALID,
         "--isl-osl-pairs: ' , ': at least one pair required"},
        {{"--search-recipe", "prefill-ttft-curve", "--isl-min", "64", "--isl-max", "64",
          "--streaming"},
         7,
         ERR_INVALID,
         "--search-recipe prefill-ttft-curve: --isl-min (64) must be < --isl-max (64)"},
        {{"--search-recipe", "prefill-ttft-curve"},
         2,
         ERR_INVALID,
         "--search-recipe prefill-ttft-curve requires --streaming (TTFT is a streaming-only "
         "metric)"},
        {{"--search-recipe", "decode-itl-curve", "--osl-min", "9", "--osl-max", "8", "--streaming"},
         7,
         ERR_INVALID,
         "--search-recipe decode-itl-curve: --osl-min (9) must be < --osl-max (8)"},
        {{"--search-recipe", "decode-itl-curve", "--concurrency-min", "300", "--streaming"},
         5,
         ERR_INVALID,
         "--search-recipe decode-itl-curve: --concurrency-min (300) must be < --concurrency-max "
         "(200)"},
        {{"--search-recipe", "prefill-ttft-curve", "--streaming", "--search-style", "grid"},
         5,
         ERR_INVALID,
         "--search-style: 'grid' applies to max-concurrency-under-sla, not prefill-ttft-curve"},
        {{"--isl-min", "0"}, 2, ERR_INVALID, "--isl-min: 0 is out of range [1, 100000000]"},
        {{"--isl-max", "x"}, 2, ERR_INVALID, "--isl-max: expected an integer, got 'x'"},
        {{"--isl-steps", "1"}, 2, ERR_INVALID, "--isl-steps: 1 is out of range [2, 256]"},
        {{"--osl-min", "-3"}, 2, ERR_INVALID, "--osl-min: -3 is out of range [1, 100000000]"},
        {{"--osl-max", "1.5"}, 2, ERR_INVALID, "--osl-max: expected an integer, got '1.5'"},
        {{"--osl-steps", "0"}, 2, ERR_INVALID, "--osl-steps: 0 is out of range [2, 256]"},
        {{"--search-recipe", "max-concurrency-under-sla", "--ttft-sla-ms", "100", "--streaming"},
         5,
         ERR_UNSUPPORTED,
         "--search-style: 'smooth_isotonic' is not supported for max-concurrency-under-sla "
         "(metronome runs only grid; AIPerf's default smooth_isotonic and the monotonic, bo and "
         "optuna planners are adaptive)"},
        {{"--search-recipe", "max-concurrency-under-sla", "--search-style", "grid"},
         4,
         ERR_INVALID,
         "--search-recipe max-concurrency-under-sla needs at least one of --ttft-sla-ms, "
         "--tpot-sla-ms, --itl-sla-ms, --e2e-sla-ms, --error-rate-sla"},
        {{"--search-recipe", "max-concurrency-under-sla", "--search-style", "grid", "--ttft-sla-ms",
          "100"},
         6,
         ERR_INVALID,
         "--search-recipe max-concurrency-under-sla: the TTFT/ITL SLAs need --streaming"},
        {{"--search-recipe", "concurrency-ramp", "--concurrency-min", "50", "--concurrency-max",
          "50"},
         6,
         ERR_INVALID,
         "--search-recipe concurrency-ramp: --concurrency-min (50) must be < --concurrency-max "
         "(50)"},
        {{"--search-recipe", "concurrency-ramp", "--concurrency", "1,2"},
         4,
         ERR_INVALID,
         "--search-recipe: 'concurrency-ramp' cannot be combined with the --concurrency list"},
        {{"--ttft-sla-ms", "0"},
         2,
         ERR_INVALID,
         "--ttft-sla-ms: '0' is not a number > 0 and <= inf"},
        {{"--error-rate-sla", "1"},
         2,
         ERR_INVALID,
         "--error-rate-sla: '1' is not a number > 0 and < 1"},
        {{"--degradation-threshold", "x"},
         2,
         ERR_INVALID,
         "--degradation-threshold: 'x' is not a number > 0 and < 1"},
        {{"--search-style", "random"},
         2,
         ERR_INVALID,
         "--search-style: 'random' is not one of smooth_isotonic, monotonic, bo, optuna, grid"},
        {{"--itl-sla-ms", "5", "--tpot-sla-ms", "6"},
         4,
         ERR_INVALID,
         "--itl-sla-ms '5' and --tpot-sla-ms '6' set the same inter-token latency SLA to "
         "different values"},
        {{"--concurrency-steps", "1"}, 2, ERR_INVALID, NULL},
        {{"--concurrency-min", "0"}, 2, ERR_INVALID, NULL},
        {{"--degradation-stat", "p75"}, 2, ERR_INVALID, NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct sweep_cfg s;
        struct diag d = {0};
        CHECK_INT(parse(&s, cases[c].args, cases[c].n, &d), cases[c].rc);
        if (cases[c].msg)
            CHECK_STR(d.msg, cases[c].msg);
        else
            CHECK(strstr(d.msg, cases[c].args[0]) != NULL);
    }
}

TEST(recipe_degradation_knee)
{
    static const struct {
        const char *rows;
        double thr;
        const char *want; /* knee_concurrency, or "null" */
        int rc;
    } cases[] = {
        /* unsorted input; 12 > 10 * 1.2? no; 13 > 12: yes */
        {"[{\"parameters\":{\"concurrency\":8},\"metrics\":{\"request_latency\":{"
         "\"p99\":13}}},{\"parameters\":{\"phases.profiling.concurrency\":1},\"metrics\":{"
         "\"request_latency\":{\"p99\":10}}},{\"parameters\":{\"phases.profiling.concurrency\":2},"
         "\"metrics\":{\"request_latency\":{\"p99\":12}}}]",
         0.2, "8", 0},
        /* several trials: the mean of the p99s; no knee */
        {"[{\"parameters\":{\"phases.profiling.concurrency\":1},\"metrics\":{\"request_latency_"
         "p99\""
         ":{\"mean\":10}}},{\"parameters\":{\"phases.profiling.concurrency\":4},\"metrics\":{"
         "\"request_latency_p99\":{\"mean\":11.9}}}]",
         0.2, "null", 0},
        {"[{\"parameters\":{\"phases.profiling.concurrency\":1},\"metrics\":{\"request_latency\":{"
         "\"p99\":0}}}]",
         0.2, NULL, ERR_INVALID},
        {"[]", 0.2, NULL, ERR_INVALID},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cJSON *spec = cJSON_CreateObject();
        cJSON_AddStringToObject(spec, "handler", "degradation_knee_detect");
        cJSON_AddStringToObject(spec, "swept_param", "phases.profiling.concurrency");
        cJSON_AddStringToObject(spec, "metric_tag", "request_latency");
        cJSON_AddStringToObject(spec, "stat", "p99");
        cJSON_AddNumberToObject(spec, "threshold_pct", cases[c].thr);
        cJSON *pc = rows(cases[c].rows), *out = NULL;
        struct diag d = {0};
        CHECK_INT(recipe_post_process(spec, pc, &out, &d), cases[c].rc);
        if (!cases[c].rc) {
            char *k = cJSON_PrintUnformatted(cJSON_GetObjectItem(out, "knee_concurrency"));
            CHECK_STR(k, cases[c].want);
            free(k);
            CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(out, "baseline_concurrency")) == 1);
        }
        cJSON_Delete(out);
        cJSON_Delete(pc);
        cJSON_Delete(spec);
    }
}

TEST(recipe_sla_breach)
{
    static const struct {
        const char *rows;
        const char *max_pass, *first_fail;
        bool monotonic;
    } cases[] = {
        /* 1, 2 pass, 4 fails on TTFT (first filter), 8 fails */
        {"[{\"parameters\":{\"phases.profiling.concurrency\":4},\"metrics\":{\"time_to_first_"
         "token\""
         ":{\"p95\":250},\"request_latency\":{\"p99\":900}}},{\"parameters\":{\"phases.profiling."
         "concurrency\":1},\"metrics\":{\"time_to_first_token\":{\"p95\":100},\"request_latency\":{"
         "\"p99\":500}}},{\"parameters\":{\"phases.profiling.concurrency\":2},\"metrics\":{\"time_"
         "to_first_token\":{\"p95\":199.9},\"request_latency\":{\"p99\":999}}},{\"parameters\":{"
         "\"phases.profiling.concurrency\":8},\"metrics\":{\"time_to_first_token\":{\"p95\":400},"
         "\"request_latency\":{\"p99\":2000}}}]",
         "2", "4", true},
        /* threshold is strict (<): 200 fails; a missing metric fails; 3 passes after: not
         * monotonic */
        {"[{\"parameters\":{\"phases.profiling.concurrency\":1},\"metrics\":{\"time_to_first_"
         "token\""
         ":{\"p95\":200},\"request_latency\":{\"p99\":1}}},{\"parameters\":{\"phases.profiling."
         "concurrency\":2},\"metrics\":{}},{\"parameters\":{\"phases.profiling.concurrency\":3},"
         "\"metrics\":{\"time_to_first_token_p95\":{\"mean\":10},\"request_latency_p99\":{\"mean\":"
         "5}}}]",
         "3", "1", false},
        {"[]", "null", "null", true},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cJSON *spec = cJSON_CreateObject();
        cJSON_AddStringToObject(spec, "handler", "sla_breach_knee");
        cJSON_AddStringToObject(spec, "swept_param", "phases.profiling.concurrency");
        cJSON *fs = cJSON_AddArrayToObject(spec, "sla_filters");
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "metric_tag", "time_to_first_token");
        cJSON_AddStringToObject(f, "stat", "p95");
        cJSON_AddStringToObject(f, "op", "lt");
        cJSON_AddNumberToObject(f, "threshold", 200);
        cJSON_AddItemToArray(fs, f);
        f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "metric_tag", "request_latency");
        cJSON_AddStringToObject(f, "stat", "p99");
        cJSON_AddStringToObject(f, "op", "lt");
        cJSON_AddNumberToObject(f, "threshold", 1000);
        cJSON_AddItemToArray(fs, f);
        cJSON *pc = rows(cases[c].rows), *out = NULL;
        struct diag d = {0};
        REQUIRE(recipe_post_process(spec, pc, &out, &d) == 0);
        char *mp = cJSON_PrintUnformatted(cJSON_GetObjectItem(out, "max_passing_concurrency"));
        char *ff = cJSON_PrintUnformatted(cJSON_GetObjectItem(out, "first_failing_concurrency"));
        CHECK_STR(mp, cases[c].max_pass);
        CHECK_STR(ff, cases[c].first_fail);
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(out, "monotonicity_check")) == cases[c].monotonic);
        if (c == 0) {
            const cJSON *b = cJSON_GetObjectItem(out, "first_failing_breach");
            CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(b, "metric_tag")),
                      "time_to_first_token");
            CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(b, "observed")) == 250);
        }
        if (c == 1) {
            const cJSON *p2 = cJSON_GetArrayItem(cJSON_GetObjectItem(out, "all_points"), 1);
            const cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItem(p2, "breaches"), 0);
            CHECK(cJSON_IsNull(cJSON_GetObjectItem(b, "observed")));
        }
        free(mp);
        free(ff);
        cJSON_Delete(out);
        cJSON_Delete(pc);
        cJSON_Delete(spec);
    }
}

static cJSON *curve_spec(void)
{
    cJSON *spec = cJSON_CreateObject();
    cJSON_AddStringToObject(spec, "handler", "ttft_curve_fit");
    cJSON_AddStringToObject(spec, "swept_param", "datasets.main.prompts.isl");
    cJSON_AddStringToObject(spec, "metric_tag", "time_to_first_token");
    cJSON_AddStringToObject(spec, "stat", "avg");
    return spec;
}

TEST(recipe_ttft_curve_fit)
{
    /* expected: numpy.polyfit on the same points (AIPerf's ttft_curve_fit) */
    static const struct {
        const char *rows;
        const char *form;
        double c[3];
        double r2;
        bool below;
    } cases[] = {
        /* exactly linear: TTFT = 0.05 ISL + 2 */
        {"[{\"parameters\":{\"isl\":1024},\"metrics\":{\"time_to_first_token\":{\"avg\":"
         "53.2}}},{\"parameters\":{\"isl\":256},\"metrics\":{\"time_to_first_token\":{"
         "\"avg\":14.8}}},{\"parameters\":{\"datasets.main.prompts.isl\":512},\"metrics\":{"
         "\"time_to_first_token_avg\":{\"mean\":27.6}}}]",
         "linear",
         {0.05, 2, 0},
         1,
         false},
        /* y = x^2 at 1, 2, 3, 10: the line's r^2 0.982 is above the floor: kept */
        {"[{\"parameters\":{\"isl\":1},\"metrics\":{\"time_to_first_token\":{\"avg\":1}}},"
         "{\"parameters\":{\"isl\":2},\"metrics\":{\"time_to_first_token\":{\"avg\":4}}},"
         "{\"parameters\":{\"isl\":3},\"metrics\":{\"time_to_first_token\":{\"avg\":9}}},"
         "{\"parameters\":{\"isl\":10},\"metrics\":{\"time_to_first_token\":{\"avg\":100}}}]",
         "linear",
         {11.6, -17.9, 0},
         0.982333187326617,
         false},
        /* (x - 3)^2 at 1..4: the line's r^2 is 0.556 < 0.85, the parabola fits exactly */
        {"[{\"parameters\":{\"isl\":1},\"metrics\":{\"time_to_first_token\":{\"avg\":4}}},"
         "{\"parameters\":{\"isl\":2},\"metrics\":{\"time_to_first_token\":{\"avg\":1}}},"
         "{\"parameters\":{\"isl\":3},\"metrics\":{\"time_to_first_token\":{\"avg\":0}}},"
         "{\"parameters\":{\"isl\":4},\"metrics\":{\"time_to_first_token\":{\"avg\":1}}}]",
         "quadratic",
         {1, -6, 9},
         1,
         false},
        /* two points and a poor line cannot happen; a constant y has r^2 0: below floor */
        {"[{\"parameters\":{\"isl\":1},\"metrics\":{\"time_to_first_token\":{\"avg\":5}}},"
         "{\"parameters\":{\"isl\":2},\"metrics\":{\"time_to_first_token\":{\"avg\":5}}}]",
         "linear",
         {0, 5, 0},
         0,
         true},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        cJSON *spec = curve_spec(), *pc = rows(cases[c].rows), *out = NULL;
        struct diag d = {0};
        REQUIRE(recipe_post_process(spec, pc, &out, &d) == 0);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(out, "fit_form")), cases[c].form);
        const cJSON *co = cJSON_GetObjectItem(out, "coefficients");
        int deg = strcmp(cases[c].form, "linear") ? 2 : 1;
        CHECK_INT(cJSON_GetArraySize(co), deg + 1);
        for (int j = 0; j <= deg; j++) {
            double got = cJSON_GetNumberValue(cJSON_GetArrayItem(co, j));
            CHECK(fabs(got - cases[c].c[j]) <= 1e-9 * (1 + fabs(cases[c].c[j])));
        }
        double r2 = cJSON_GetNumberValue(cJSON_GetObjectItem(out, "r_squared"));
        CHECK(fabs(r2 - cases[c].r2) <= 1e-9);
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(out, "below_floor")) == cases[c].below);
        const cJSON *raw = cJSON_GetObjectItem(out, "raw_points");
        /* sorted by ISL */
        CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(raw, 0), "isl")) <
              cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(raw, 1), "isl")));
        cJSON_Delete(out);
        cJSON_Delete(pc);
        cJSON_Delete(spec);
    }
    /* one point: an error, as AIPerf's ValueError */
    cJSON *spec = curve_spec(), *out = NULL;
    cJSON *pc = rows("[{\"parameters\":{\"isl\":1},\"metrics\":{\"time_to_first_token\":{"
                     "\"avg\":5}}}]");
    struct diag d = {0};
    CHECK_INT(recipe_post_process(spec, pc, &out, &d), ERR_INVALID);
    CHECK(strstr(d.msg, "need >= 2 sweep points") != NULL);
    cJSON_Delete(pc);
    cJSON_Delete(spec);
}

TEST(recipe_itl_surface)
{
    cJSON *spec = cJSON_CreateObject();
    cJSON_AddStringToObject(spec, "handler", "itl_surface_fit");
    cJSON_AddStringToObject(spec, "metric_tag", "inter_token_latency");
    cJSON_AddStringToObject(spec, "stat", "avg");
    cJSON_AddStringToObject(spec, "concurrency_param", "phases.profiling.concurrency");
    cJSON_AddStringToObject(spec, "osl_param", "datasets.main.prompts.osl");
    /* (2, 64) unmeasured: null; (1, 128) negative: dropped; a row without OSL: skipped */
    cJSON *pc = rows(
        "[{\"parameters\":{\"concurrency\":2,\"osl\":128},\"metrics\":{\"inter_token_latency\":"
        "{\"avg\":7}}},{\"parameters\":{\"concurrency\":1,\"osl\":64},\"metrics\":{\"inter_"
        "token_latency_avg\":{\"mean\":5}}},{\"parameters\":{\"concurrency\":1,\"osl\":128},"
        "\"metrics\":{\"inter_token_latency\":{\"avg\":-1}}},{\"parameters\":{\"concurrency\":"
        "4},\"metrics\":{\"inter_token_latency\":{\"avg\":9}}}]");
    cJSON *out = NULL;
    struct diag d = {0};
    REQUIRE(recipe_post_process(spec, pc, &out, &d) == 0);
    char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(out, "surface"));
    CHECK_STR(s, "{\"concurrency_axis\":[1,2],\"osl_axis\":[64,128],\"itl_grid\":[[5,null],["
                 "null,7]]}");
    free(s);
    s = cJSON_PrintUnformatted(cJSON_GetObjectItem(out, "raw_points"));
    CHECK_STR(s, "[{\"concurrency\":1,\"osl\":64,\"itl_ms\":5},{\"concurrency\":2,\"osl\":128,"
                 "\"itl_ms\":7}]");
    free(s);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(out, "surface_fit_failed")));
    cJSON_Delete(out);
    cJSON_Delete(pc);
    /* one usable row: failed, with the reason */
    pc = rows("[{\"parameters\":{\"concurrency\":1,\"osl\":64},\"metrics\":{\"inter_token_"
              "latency\":{\"avg\":5}}}]");
    REQUIRE(recipe_post_process(spec, pc, &out, &d) == 0);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(out, "surface_fit_failed")));
    CHECK(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(out, "error_reason")), "kept 1") != NULL);
    cJSON_Delete(out);
    cJSON_Delete(pc);
    /* no row with both parameters: an error */
    pc = rows("[]");
    CHECK_INT(recipe_post_process(spec, pc, &out, &d), ERR_INVALID);
    cJSON_Delete(pc);
    cJSON_Delete(spec);
}
