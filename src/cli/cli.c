/* The CLI's shared output helpers (see include/cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

#include "build_info.h"
#include <cJSON.h>
#include <csv.h>
#include <mbedtls/build_info.h>
#include <zstd.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("metronome: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("metronome: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_fail(const struct diag *d, int usage)
{
    cli_error("%s", d->msg);
    return usage ? EXIT_USAGE : EXIT_ERROR;
}

void cli_print_version(FILE *f)
{
    fprintf(f, "metronome %s (git %s) %s %s\n", METRONOME_VERSION, METRONOME_GIT_HASH,
            METRONOME_TARGET, METRONOME_OPTIMIZE);
    fprintf(f, "  mbedTLS %d.%d.%d, zstd %s, cJSON %d.%d.%d, libcsv %d.%d.%d\n",
            MBEDTLS_VERSION_MAJOR, MBEDTLS_VERSION_MINOR, MBEDTLS_VERSION_PATCH,
            ZSTD_versionString(), CJSON_VERSION_MAJOR, CJSON_VERSION_MINOR, CJSON_VERSION_PATCH,
            CSV_MAJOR, CSV_MINOR, CSV_RELEASE);
}
