#include "cli.h"

int cmd_inspect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("inspect: not implemented yet");
    return EXIT_ERROR;
}
