/* The CLI's shared helpers: output, the version, the API key (see include/cli.h). */
#include "cli.h"

#include "args.h"
#include "endpoint.h"
#include "zio.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cli_api_key(const struct args *a, const char **key, char **owned, struct diag *d)
{
    *owned = NULL;
    *key = args_get(a, "api-key");
    const char *file = args_get(a, "api-key-file");
    if (!*key && file) {
        char *text = NULL;
        size_t len = 0;
        if (zio_read_all(file, 64 << 10, &text, &len, d)) {
            char why[DIAG_MAX];
            snprintf(why, sizeof why, "%s", d->msg);
            return diag_set(d, ERR_IO, "--api-key-file: %s", why);
        }
        size_t n = strcspn(text, "\r\n");
        while (n && (text[n - 1] == ' ' || text[n - 1] == '\t'))
            n--;
        text[n] = '\0';
        if (n == 0) {
            free(text);
            return diag_set(d, ERR_INVALID, "--api-key-file %s: the first line is empty", file);
        }
        *owned = text;
        *key = text;
    }
    if (!*key) {
        const char *env = getenv("OPENAI_API_KEY");
        if (env && *env)
            *key = env;
    }
    if (*key && wire_check("the API key", *key, true, d))
        return ERR_INVALID;
    return 0;
}
