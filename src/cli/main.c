/* metronome: the entry point. Dispatches to a subcommand; see docs/cli.md. */
#include "args.h"
#include "cli.h"
#include "zio.h"

#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"pack", "turn a dataset or synthetic options into a trace (trace.jsonl.zst)", cmd_pack},
    {"inspect", "validate a trace and print its shape", cmd_inspect},
    {"replay", "send a trace to a server on schedule, write a run dir", cmd_replay},
    {"report", "turn run dirs into AIPerf-compatible exports, HTML and CI verdicts", cmd_report},
    {"profile", "AIPerf-style one-shot: pack, replay and report", cmd_profile},
    {"mock", "a fast OpenAI-compatible test server with exact timing and faults", cmd_mock},
    {"demo", "start the mock in-process and profile it: a full report in seconds", cmd_demo},
    {"chat", "chat with an endpoint one message at a time, with TTFT and tokens/s per reply",
     cmd_chat},
};

static void usage(FILE *f)
{
    fprintf(f, "metronome: measure LLM inference servers, exactly.\n\n"
               "Usage: metronome COMMAND [OPTIONS]\n       metronome COMMAND --help\n\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nOptions:\n  --help      this text\n  --version   version, git hash, "
               "dependencies, target\n\nExit codes: 0 ok, 1 error, 2 usage, 3 failed CI "
               "verdict.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    /* Temporary files (pack's body, exports, run.json) go away on ^C and kill. */
    zio_cleanup_on_signals();
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version")) {
        cli_print_version(stdout);
        return EXIT_OK;
    }
    /* Hidden commands: not in the usage list, for tests and benchmarks. */
    if (!strcmp(cmd, "tokenize"))
        return cmd_tokenize(argc - 1, argv + 1);
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
        size_t dist = args_edit_distance(cmd, commands[i].name);
        if (dist < best_d)
            best_d = dist, best = commands[i].name;
    }
    if (cmd[0] == '-')
        cli_error("unknown option '%s'%s%s%s", cmd, best ? " (did you mean '" : "",
                  best ? best : "", best ? "'?)" : "");
    else if (best)
        cli_error("unknown command '%s' (did you mean '%s'?)", cmd, best);
    else
        cli_error("unknown command '%s' (see metronome --help)", cmd);
    return EXIT_USAGE;
}
