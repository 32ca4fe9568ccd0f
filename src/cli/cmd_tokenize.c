/*
 * metronome tokenize (hidden, for tests and benchmarks): runs the tokenizer.json engine
 * over the lines of a file.
 *
 *   metronome tokenize --tokenizer FILE [--input FILE] [--no-special] [--decode]
 *                      [--skip-special] [--bench N] [--load-only]
 *
 * Each input line (split on '\n' only, bytes as they are) prints one output line: the ids
 * separated by spaces; with --decode, a tab and the hex of decode(ids) follow. --bench N
 * encodes the whole file N times and prints throughput instead; --load-only prints the
 * load time and the loaded tokenizer's memory.
 */
#include "buf.h"
#include "cli.h"
#include "err.h"
#include "tok.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int slurp(const char *path, struct buf *b, struct diag *d)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return diag_set(d, ERR_IO, "%s: cannot open", path);
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(b, chunk, k)) {
            if (f != stdin)
                fclose(f);
            return diag_set(d, ERR_TOO_LARGE, "%s: too large", path);
        }
    if (f != stdin)
        fclose(f);
    return 0;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *tpath = NULL, *in = "-";
    bool special = true, decode = false, skip = false, load_only = false;
    long bench = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--tokenizer") && i + 1 < argc)
            tpath = argv[++i];
        else if (!strcmp(a, "--input") && i + 1 < argc)
            in = argv[++i];
        else if (!strcmp(a, "--no-special"))
            special = false;
        else if (!strcmp(a, "--decode"))
            decode = true;
        else if (!strcmp(a, "--skip-special"))
            skip = true;
        else if (!strcmp(a, "--load-only"))
            load_only = true;
        else if (!strcmp(a, "--bench") && i + 1 < argc)
            bench = strtol(argv[++i], NULL, 10);
        else {
            cli_error("tokenize: unknown or incomplete option '%s'", a);
            return EXIT_USAGE;
        }
    }
    if (!tpath) {
        cli_error("tokenize: --tokenizer FILE is required");
        return EXIT_USAGE;
    }
    struct diag d = {0};
    struct tok *t;
    double t0 = now_s();
    if (tok_load(tpath, NULL, &t, &d))
        return cli_fail(&d, 0);
    double t1 = now_s();
    if (load_only) {
        printf("load_ms %.1f\nmemory_bytes %zu\nsha256 %s\n%s\n", (t1 - t0) * 1e3, tok_memory(t),
               tok_sha256(t), tok_describe(t));
        tok_free(t);
        return EXIT_OK;
    }
    struct buf text;
    buf_init(&text, 0);
    if (slurp(in, &text, &d)) {
        tok_free(t);
        buf_free(&text);
        return cli_fail(&d, 0);
    }
    struct tok_ids ids = {0};
    struct buf out, dec;
    buf_init(&out, 0);
    buf_init(&dec, 0);
    int rc = EXIT_OK;
    const char *p = text.p ? text.p : "";
    size_t n = text.len;
    if (bench > 0) {
        size_t tokens = 0;
        double b0 = now_s();
        for (long r = 0; r < bench; r++)
            for (size_t i = 0; i < n;) {
                const char *e = memchr(p + i, '\n', n - i);
                size_t len = e ? (size_t)(e - (p + i)) : n - i;
                if (tok_encode(t, p + i, len, special, &ids, &d)) {
                    rc = cli_fail(&d, 0);
                    goto done;
                }
                tokens += ids.n;
                i += len + 1;
            }
        double el = now_s() - b0;
        printf("bytes %zu\ntokens %zu\nseconds %.4f\nMB_per_s %.2f\ntokens_per_s %.0f\n",
               n * (size_t)bench, tokens, el, (double)n * (double)bench / el / 1e6,
               (double)tokens / el);
        goto done;
    }
    for (size_t i = 0; i < n;) {
        const char *e = memchr(p + i, '\n', n - i);
        size_t len = e ? (size_t)(e - (p + i)) : n - i;
        if (tok_encode(t, p + i, len, special, &ids, &d)) {
            rc = cli_fail(&d, 0);
            goto done;
        }
        buf_reset(&out);
        for (size_t k = 0; k < ids.n; k++)
            buf_printf(&out, k ? " %u" : "%u", ids.v[k]);
        if (decode) {
            buf_reset(&dec);
            tok_decode(t, ids.v, ids.n, skip, &dec);
            buf_putc(&out, '\t');
            for (size_t k = 0; k < dec.len; k++)
                buf_printf(&out, "%02x", (unsigned char)dec.p[k]);
        }
        buf_putc(&out, '\n');
        fwrite(out.p, 1, out.len, stdout);
        i += len + 1;
    }
done:
    tok_ids_free(&ids);
    buf_free(&out);
    buf_free(&dec);
    buf_free(&text);
    tok_free(t);
    return rc;
}
