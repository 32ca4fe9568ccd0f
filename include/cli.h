/*
 * cli: the subcommands. Each takes its own arguments (argv[0] is the subcommand name)
 * and returns the process exit code; only this layer prints errors and decides codes:
 *   0 ok, 1 error, 2 usage, 3 a failed CI verdict (see docs/cli.md).
 */
#ifndef METRONOME_CLI_H
#define METRONOME_CLI_H

#include "err.h"

#include <stdio.h>

enum exit_code {
    EXIT_OK = 0,
    EXIT_ERROR = 1,
    EXIT_USAGE = 2,
    EXIT_VERDICT = 3,
    EXIT_INTERRUPTED = 130, /* stopped by Ctrl-C; the files are complete (128 + SIGINT) */
};

int cmd_pack(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_replay(int argc, char **argv);
/* cmd_replay's option checks only: returns before the trace is opened (its path is not
 * read) and before anything is written or sent. profile runs it before its pack stage, so
 * a bad replay option leaves no artifact directory behind. */
int cmd_replay_check(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_mock(int argc, char **argv);
int cmd_demo(int argc, char **argv);
/* AIPerf's `aiperf chat`: one message a line from stdin, stats per reply. */
int cmd_chat(int argc, char **argv);
/* Hidden: the tokenizer engine over the lines of a file (tests, benchmarks). */
int cmd_tokenize(int argc, char **argv);

/* Prints "metronome: error: MSG" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints d's message as an error and returns EXIT_USAGE for ERR_INVALID coming from
 * argument parsing (usage = true) or EXIT_ERROR otherwise. */
int cli_fail(const struct diag *d, int usage);
struct args;
/* The API key, by precedence: --api-key, then --api-key-file (its first line, trailing
 * whitespace dropped), then $OPENAI_API_KEY (as OpenAI's clients read it). The file and
 * the environment keep the key out of /proc/PID/cmdline; wherever it comes from it is
 * sent only in the Authorization header and never written to any file, and a key that
 * could not travel in a header (CR, LF, NUL) is refused. *key may point into a or the
 * environment; *owned (NULL or the file's text) is the caller's to free. 0, or
 * ERR_INVALID / ERR_IO with d filled. */
int cli_api_key(const struct args *a, const char **key, char **owned, struct diag *d);
/* The version line and the dependency line, as --version prints them. */
void cli_print_version(FILE *f);

#endif
