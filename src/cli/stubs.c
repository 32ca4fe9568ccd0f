/*
 * Placeholders for subcommands still being built: each is a weak symbol that a real
 * src/cli/cmd_<name>.c overrides. They fail honestly instead of pretending to work.
 */
#include "cli.h"

#define STUB(name)                                                                                 \
    __attribute__((weak)) int cmd_##name(int argc, char **argv)                                    \
    {                                                                                              \
        (void)argc;                                                                                \
        (void)argv;                                                                                \
        cli_error("'%s' is not available in this build yet", #name);                               \
        return EXIT_ERROR;                                                                         \
    }

STUB(pack)
STUB(inspect)
STUB(replay)
STUB(report)
STUB(profile)
STUB(mock)
STUB(demo)
