/*
 * err: errors as values. Functions return 0 on success or a negative enum err code;
 * where a human needs to know what went wrong, the callee also fills a caller-owned
 * struct diag with one line naming the file, the line and the field. Only the CLI turns
 * a diag into output and an exit code (docs/cli.md lists the exit codes).
 */
#ifndef METRONOME_ERR_H
#define METRONOME_ERR_H

#include <stddef.h>

enum err {
    ERR_OK = 0,
    ERR_IO = -1,        /* a system call failed (errno kept in the message) */
    ERR_PARSE = -2,     /* malformed input: JSON, CSV, trace line, HTTP */
    ERR_INVALID = -3,   /* well-formed but wrong: a type, a range, a missing field */
    ERR_TOO_LARGE = -4, /* a bounded buffer or a configured cap would be exceeded */
    ERR_AGAIN = -5,     /* incremental parser: need more input */
    ERR_EOF = -6,       /* end of input */
    ERR_UNSUPPORTED = -7,
    ERR_TIMEOUT = -8,
    ERR_TLS = -9,
    ERR_CANCELLED = -10,
};

/* Static name of an error code, e.g. "parse error". */
const char *err_str(int code);

#define DIAG_MAX 1024

/* One human-readable error line, e.g. "data.jsonl:12: field 'input_length': must be >= 0".
 * Owned by the caller; callees write it with diag_set/diag_at. */
struct diag {
    int code;
    char msg[DIAG_MAX];
};

/* Sets d->msg from a printf format and returns code, so `return diag_set(d, ERR_X, ...)`. */
int diag_set(struct diag *d, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* As diag_set, prefixed with "FILE:LINE: " (LINE omitted when 0). */
int diag_at(struct diag *d, int code, const char *file, long line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
