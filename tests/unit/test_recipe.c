/* AIPerf's grid search recipes: the log-spaced grid, the options' checks, and the two
 * post-process handlers (degradation knee, SLA breach) on per-combination rows. */
#include "profile_sweep.h"
#include "test.h"

#include <cJSON.h>
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
         ERR_UNSUPPORTED,
         "--search-recipe: 'pareto-sweep' is not supported (metronome runs concurrency-ramp and "
         "max-concurrency-under-sla --search-style grid)"},
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

/* per_combination_metrics rows: one trial ({tag: {stat}}) or several ({tag_stat: {mean}}) */
static cJSON *rows(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    return j ? j : cJSON_CreateArray();
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
