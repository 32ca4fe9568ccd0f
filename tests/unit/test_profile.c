#include "profile.h"
#include "profile_conf.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *text, struct profile_argv *out, struct diag *d)
{
    return profile_conf_parse("c.yaml", text, strlen(text), out, d);
}

/* Joins argv with spaces for one comparison per case. */
static const char *joined(const struct profile_argv *a)
{
    static char s[4096];
    s[0] = '\0';
    for (int i = 0; i < a->n; i++) {
        if (i)
            strncat(s, " ", sizeof s - strlen(s) - 1);
        strncat(s, a->v[i], sizeof s - strlen(s) - 1);
    }
    return s;
}

TEST(profile_conf_forms)
{
    static const struct {
        const char *desc, *text, *want;
    } cases[] = {
        {"plain scalars, aliases and snake case",
         "model: m1\nurl: localhost:8000\nrequest_count: 5\n",
         "--model-names=m1 --url=localhost:8000 --request-count=5"},
        {"flow list, comments, quotes",
         "---\n# top\nmodel-names: [a, \"b,c\", 'd''e']  # trailing\n",
         "--model-names=a --model-names=b,c --model-names=d'e"},
        {"block list and a flag", "url:\n  - http://h1:1\n  - http://h2:2\nstreaming: true\n",
         "--url=http://h1:1 --url=http://h2:2 --streaming=true"},
        {"flag off, CRLF line ends", "streaming: false\r\nconcurrency: 4\r\n",
         "--streaming=false --concurrency=4"},
        {"a # inside a value is kept", "custom-endpoint: /v1/a#b\n", "--custom-endpoint=/v1/a#b"},
        {"empty file", "# nothing\n\n", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct profile_argv a = {0};
        struct diag d = {0};
        int rc = parse(cases[i].text, &a, &d);
        if (rc)
            fprintf(stderr, "case '%s': %s\n", cases[i].desc, d.msg);
        CHECK_INT(rc, 0);
        CHECK_STR(joined(&a), cases[i].want);
        profile_argv_free(&a);
    }
}

TEST(profile_conf_env)
{
    setenv("METRONOME_TEST_URL", "http://e:9", 1);
    unsetenv("METRONOME_TEST_UNSET");
    struct profile_argv a = {0};
    struct diag d = {0};
    CHECK_INT(parse("url: ${METRONOME_TEST_URL}\nmodel: ${METRONOME_TEST_UNSET:dflt}-x\n", &a, &d),
              0);
    CHECK_STR(joined(&a), "--url=http://e:9 --model-names=dflt-x");
    profile_argv_free(&a);
    CHECK_INT(parse("\nmodel: ${METRONOME_TEST_UNSET}\n", &a, &d), ERR_INVALID);
    CHECK_STR(d.msg, "c.yaml:2: environment variable is not set: METRONOME_TEST_UNSET");
    profile_argv_free(&a);
}

TEST(profile_conf_errors)
{
    static const struct {
        const char *text;
        int code;
        const char *msg;
    } cases[] = {
        {"model: a\nconcurency: 3\n", ERR_INVALID,
         "c.yaml:2: unknown option 'concurency' (did you mean 'concurrency'?)"},
        {"benchmark:\n  model: x\n", ERR_PARSE,
         "c.yaml:1: 'benchmark' starts a nested section: metronome reads one flat mapping of "
         "option names, not AIPerf's schema-2.0 YAML (docs/aiperf-compatibility.md)"},
        {"model: m\n  url: x\n", ERR_PARSE,
         "c.yaml:2: unexpected indentation: nested sections are not supported (one flat "
         "mapping of option names; see docs/cli-profile.md)"},
        {"model: a\nmodel: b\n", ERR_INVALID, "c.yaml:2: option given twice: model-names"},
        {"\n\nenable-uvloop: true\n", ERR_UNSUPPORTED,
         "c.yaml:3: not supported yet: --enable-uvloop"},
        {"streaming: maybe\n", ERR_INVALID, "c.yaml:1: expected true or false for streaming"},
        {"concurrency: [1, 2]\n", ERR_INVALID,
         "c.yaml:1: takes one value, not a list: concurrency"},
        {"model: \"abc\n", ERR_PARSE, "c.yaml:1: unterminated quoted string"},
        {"url: [a, b\n", ERR_PARSE, "c.yaml:1: unterminated list (flow lists end on their line)"},
        {"url:\nmodel: m\n", ERR_PARSE, "c.yaml:1: no value for url"},
        {"  - a\n", ERR_PARSE, "c.yaml:1: list item without a key above it"},
        {"model m\n", ERR_PARSE, "c.yaml:1: expected 'name: value'"},
        {"\tmodel: m\n", ERR_PARSE, "c.yaml:1: tab in indentation (YAML allows only spaces)"},
        {"model: &anchor m\n", ERR_PARSE,
         "c.yaml:1: unsupported YAML feature (anchors, tags, block scalars and mappings are "
         "not part of the subset)"},
        {"model: \"a\" b\n", ERR_PARSE, "c.yaml:1: unexpected text after the value"},
        {"config: x.yaml\n", ERR_INVALID, "c.yaml:1: unknown option 'config'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct profile_argv a = {0};
        struct diag d = {0};
        CHECK_INT(parse(cases[i].text, &a, &d), cases[i].code);
        CHECK_STR(d.msg, cases[i].msg);
        profile_argv_free(&a);
    }
}

/* Every option the template writes must load back, and the template must name every
 * option profile supports. */
TEST(profile_template_round_trip)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tpl.yaml", test_tmpdir());
    struct diag d = {0};
    REQUIRE(profile_conf_template(path, &d) == 0);
    struct profile_argv a = {0};
    CHECK_INT(profile_conf_load(path, &a, &d), 0);
    CHECK_STR(joined(&a), "--model-names=my-model --endpoint-type=chat --streaming=false "
                          "--url=http://localhost:8000 --concurrency=1 --request-count=10 "
                          "--prompt-input-tokens-mean=550 --ui-type=simple");
    profile_argv_free(&a);
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    for (size_t i = 0; i < profile_nopts; i++) {
        const struct profile_opt *o = &profile_opts[i];
        if (o->route == PROFILE_REFUSE || !strcmp(o->spec.name, "help") ||
            !strcmp(o->spec.name, "config") || !strcmp(o->spec.name, "api-key"))
            continue;
        char key[160];
        snprintf(key, sizeof key, "%s: ", o->spec.name);
        if (!strstr(text, key))
            fprintf(stderr, "template lacks %s\n", o->spec.name);
        CHECK(strstr(text, key) != NULL);
    }
}

static int build(struct profile_plan *p, const char *line, struct diag *d)
{
    static char buf[2048];
    char *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *s = buf; *s && argc < 63;) {
        argv[argc++] = s;
        char *sp = strchr(s, ' ');
        if (!sp)
            break;
        *sp = '\0';
        s = sp + 1;
    }
    bool help = false;
    return profile_plan_build(p, argc, argv, &help, d);
}

TEST(profile_plan_routes)
{
    struct profile_plan p;
    struct diag d = {0};
    REQUIRE(build(&p,
                  "-m org/model --url h:1 --endpoint-type openai-chat-completions --streaming "
                  "--concurrency 4 --isl 100 --osl 20 --extra-inputs ignore_eos:true "
                  "--goodput time_to_first_token:100 --random-seed 7 --ui none",
                  &d) == 0);
    CHECK_STR(joined(&p.pack), "--endpoint-type chat --request-count 10 --model-names org/model "
                               "--streaming --extra-inputs ignore_eos:true --random-seed 7 "
                               "--prompt-input-tokens-mean 100 --prompt-output-tokens-mean 20");
    CHECK_STR(joined(&p.replay), "--endpoint-type chat --request-count 10 --url h:1 "
                                 "--request-timeout-seconds 21600 --quiet --random-seed 7 "
                                 "--concurrency 4");
    CHECK_STR(joined(&p.report), "--exports console,json,csv,jsonl,html --goodput "
                                 "time_to_first_token:100");
    char name[256];
    profile_plan_name(&p, false, name, sizeof name);
    CHECK_STR(name, "org_model-openai-chat-concurrency4");
    profile_plan_free(&p);

    REQUIRE(build(&p,
                  "-m a,b --request-rate 5 --concurrency 3 --request-count 30 "
                  "--num-warmup-requests 2 --export-level summary",
                  &d) == 0);
    profile_plan_name(&p, false, name, sizeof name);
    CHECK_STR(name, "a_multi-openai-chat-concurrency3-request_rate5.0");
    CHECK_STR(joined(&p.report), "--exports console,json,csv,html");
    CHECK(strstr(joined(&p.pack), "--request-count 32") != NULL);
    profile_plan_free(&p);

    static const char *const rates[][2] = {
        {"0.1", "request_rate0.1"}, {"2.50", "request_rate2.5"}, {"1e3", "request_rate1000.0"}};
    for (size_t i = 0; i < 3; i++) {
        char line[128];
        snprintf(line, sizeof line, "-m m --request-rate %s", rates[i][0]);
        REQUIRE(build(&p, line, &d) == 0);
        profile_plan_name(&p, false, name, sizeof name);
        CHECK(strstr(name, rates[i][1]) != NULL);
        CHECK(strstr(name, "concurrency") == NULL);
        profile_plan_free(&p);
    }

    REQUIRE(build(&p, "-m m --input-file t.jsonl --custom-dataset-type mooncake-trace", &d) == 0);
    profile_plan_name(&p, true, name, sizeof name);
    CHECK_STR(name, "m-openai-chat-fixed_schedule");
    CHECK(strstr(joined(&p.pack), "--custom-dataset-type mooncake_trace") != NULL);
    CHECK(strstr(joined(&p.replay), "--request-count") == NULL);
    profile_plan_free(&p);
}

TEST(profile_plan_tokenizer)
{
    struct profile_plan p;
    struct diag d = {0};
    /* a model tokenizer goes to pack; replay keeps response texts for the report */
    REQUIRE(build(&p, "-m m --tokenizer org/x --tokenizer-revision v1 --use-server-token-count",
                  &d) == 0);
    CHECK(strstr(joined(&p.pack), "--tokenizer org/x") != NULL);
    CHECK(strstr(joined(&p.pack), "--tokenizer-revision v1") != NULL);
    CHECK(strstr(joined(&p.replay), "--record-text") != NULL);
    CHECK(strstr(joined(&p.report), "--use-server-token-count") != NULL);
    profile_plan_free(&p);
    /* builtin: no text is kept */
    REQUIRE(build(&p, "-m m --tokenizer builtin", &d) == 0);
    CHECK(strstr(joined(&p.pack), "--tokenizer builtin") != NULL);
    CHECK(strstr(joined(&p.replay), "--record-text") == NULL);
    profile_plan_free(&p);
}

TEST(profile_plan_refusals)
{
    static const struct {
        const char *line;
        int code;
        const char *msg;
    } cases[] = {
        {"-m m --enable-uvloop", ERR_UNSUPPORTED, "not supported yet: --enable-uvloop"},
        /* control hooks: bad paths and timeouts before anything is packed */
        {"-m m --reset-kv-cache-path reset_prefix_cache", ERR_INVALID,
         "--reset-kv-cache-path: 'reset_prefix_cache' must be a relative path starting with '/' "
         "(it is sent to each --url origin)"},
        {"-m m --server-profiler-stop-path http://h/stop", ERR_INVALID,
         "--server-profiler-stop-path: 'http://h/stop' must be a relative path starting with '/' "
         "(it is sent to each --url origin)"},
        {"-m m --server-profiler-timeout-seconds 0", ERR_INVALID,
         "--server-profiler-timeout-seconds: 0 is out of range [0.001, 1e+09]"},
        {"-m m --reset-kv-cache-timeout-seconds x", ERR_INVALID,
         "--reset-kv-cache-timeout-seconds: expected a number, got 'x'"},
        {"-m m --num-users 3", ERR_INVALID, "--num-users 3: needs --user-centric-rate"},
        /* a list is a sweep (the driver gives each run one value); the plan takes one */
        {"-m m --user-centric-rate 2 --num-users 4,8 --session-turns-mean 2", ERR_INVALID,
         "--num-users: expected an integer, got '4,8'"},
        {"-m m --transport-type grpc", ERR_UNSUPPORTED, "not supported yet: --transport-type grpc"},
        {"-m m --endpoint-type image-generation", ERR_UNSUPPORTED,
         "not supported yet: --endpoint-type image-generation"},
        {"-m m --export-level rawest", ERR_INVALID,
         "--export-level: expected summary, records or raw, not 'rawest'"},
        {"-m m --tokenizer gpt2 --tokenizer-trust-remote-code", ERR_INVALID,
         "--tokenizer-trust-remote-code: refused: metronome runs no remote code (it reads "
         "tokenizer.json only, which needs none)"},
        {"-m m --concurrency 10,20,30", ERR_UNSUPPORTED,
         "not supported yet: --concurrency 10,20,30"},
        {"-m m --isl 128,512", ERR_UNSUPPORTED, "not supported yet: --isl 128,512"},
        {"-m m --heartbeat-interval 3", ERR_UNSUPPORTED, "not supported yet: --heartbeat-interval"},
        {"--url x", ERR_INVALID, "--model-names (--model, -m) is required"},
        {"-m m --benchmark-grace-period 10", ERR_INVALID,
         "--benchmark-grace-period needs --benchmark-duration"},
        {"-m m --fixed-schedule", ERR_INVALID,
         "--fixed-schedule needs an --input-file with timestamps"},
        {"-m m --ui-type fancy", ERR_INVALID, "--ui-type: expected dashboard, simple or none"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct profile_plan p;
        struct diag d = {0};
        CHECK_INT(build(&p, cases[i].line, &d), cases[i].code);
        CHECK_STR(d.msg, cases[i].msg);
    }
}

TEST(profile_names_are_unique)
{
    /* An alias shared by two options would make one of them unreachable. */
    for (size_t i = 0; i < profile_nopts; i++)
        for (size_t j = i + 1; j < profile_nopts; j++) {
            if (!strcmp(profile_opts[i].spec.name, profile_opts[j].spec.name))
                fprintf(stderr, "duplicate %s\n", profile_opts[i].spec.name);
            CHECK(strcmp(profile_opts[i].spec.name, profile_opts[j].spec.name) != 0);
        }
    CHECK(profile_nopts > 280);
}

TEST(profile_plan_conversation_num_sends_every_turn)
{
    /* AIPerf 0.13: --conversation-num N sends N conversations, every turn of each; with
     * --request-count too, the first limit reached ends the run. It used to be cut to the
     * default count (10 conversations of 3 turns: 10 requests over 4 sessions). */
    static const struct {
        const char *line, *pack, *replay_count;
    } cases[] = {
        {"-m m --conversation-num 10 --conversation-turn-mean 3 --concurrency 2",
         "--endpoint-type chat --conversation-num 10 --model-names m "
         "--conversation-turn-mean 3",
         NULL},
        {"-m m --num-sessions 10 --request-count 12 --session-turns-mean 3",
         "--endpoint-type chat --conversation-num 10 --request-count 12 --model-names m "
         "--conversation-turn-mean 3",
         NULL},
        /* warmup is taken from the start of the same trace, then profiling replays it */
        {"-m m --conversation-num 4 --warmup-request-count 2",
         "--endpoint-type chat --conversation-num 4 --model-names m", NULL},
        /* the pool size alone is not a stop condition: the default count applies */
        {"-m m --num-dataset-entries 7 --concurrency 8",
         "--endpoint-type chat --num-dataset-entries 7 --request-count 16 --model-names m",
         "--request-count 16"},
        {"-m m --concurrency 3", "--endpoint-type chat --request-count 10 --model-names m",
         "--request-count 10"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct profile_plan p;
        struct diag d = {0};
        REQUIRE(build(&p, cases[i].line, &d) == 0);
        CHECK_STR(joined(&p.pack), cases[i].pack);
        const char *rc = strstr(joined(&p.replay), "--request-count");
        if (!cases[i].replay_count)
            CHECK(rc == NULL);
        else
            CHECK(rc && !strncmp(rc, cases[i].replay_count, strlen(cases[i].replay_count)));
        profile_plan_free(&p);
    }
}
