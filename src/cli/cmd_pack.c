#include "cli.h"

int cmd_pack(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("pack: not implemented yet");
    return EXIT_ERROR;
}
