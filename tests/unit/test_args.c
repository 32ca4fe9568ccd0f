#include "args.h"
#include "test.h"

static const struct arg_spec specs[] = {
    {"input-file", "-i --input", ARG_VALUE, "FILE", NULL, "input"},
    {"verbose", "-v", ARG_FLAG, NULL, NULL, "more output"},
    {"header", "-H", ARG_MULTI, "K:V", NULL, "a header"},
    {"request-count", "--num-requests", ARG_VALUE, "N", "10", "requests"},
};
#define NSPECS (sizeof specs / sizeof specs[0])

TEST(args_parse_forms)
{
    char *argv[] = {"pos1", "--input-file=a.jsonl", "-v", "-H", "x:1",   "--header",
                    "y:2",  "--num-requests",       "5",  "--", "--pos2"};
    struct args a;
    struct diag d;
    REQUIRE(args_parse(&a, specs, NSPECS, 11, argv, &d) == 0);
    CHECK_STR(args_get(&a, "input-file"), "a.jsonl");
    CHECK(args_flag(&a, "verbose"));
    CHECK_INT(args_count(&a, "header"), 2);
    CHECK_STR(args_multi(&a, "header", 1), "y:2");
    long n = 0;
    CHECK_INT(args_long(&a, "request-count", 1, 100, &n, &d), 0);
    CHECK_INT(n, 5);
    CHECK_INT(a.npos, 2);
    CHECK_STR(a.pos[1], "--pos2");
    args_free(&a);
}

TEST(args_unknown_suggests)
{
    char *argv[] = {"--input-fil", "x"};
    struct args a;
    struct diag d;
    CHECK_INT(args_parse(&a, specs, NSPECS, 2, argv, &d), ERR_INVALID);
    CHECK_STR(d.msg, "unknown option '--input-fil' (did you mean '--input-file'?)");
    char *argv5[] = {"--num-request", "1"};
    CHECK_INT(args_parse(&a, specs, NSPECS, 2, argv5, &d), ERR_INVALID);
    CHECK_STR(d.msg, "unknown option '--num-request' (did you mean '--num-requests'?)");
    char *argv2[] = {"--zzzzzz"};
    CHECK_INT(args_parse(&a, specs, NSPECS, 1, argv2, &d), ERR_INVALID);
    CHECK_STR(d.msg, "unknown option '--zzzzzz'");
    char *argv3[] = {"--request-count", "abc"};
    REQUIRE(args_parse(&a, specs, NSPECS, 2, argv3, &d) == 0);
    long n = 0;
    CHECK_INT(args_long(&a, "request-count", 1, 100, &n, &d), ERR_INVALID);
    CHECK_STR(d.msg, "--request-count: expected an integer, got 'abc'");
    args_free(&a);
    char *argv4[] = {"--input-file"};
    CHECK_INT(args_parse(&a, specs, NSPECS, 1, argv4, &d), ERR_INVALID);
    CHECK_STR(d.msg, "option '--input-file' needs a value (FILE)");
}
