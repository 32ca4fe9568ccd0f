#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *err_str(int code)
{
    switch (code) {
    case ERR_OK:
        return "ok";
    case ERR_IO:
        return "I/O error";
    case ERR_PARSE:
        return "parse error";
    case ERR_INVALID:
        return "invalid value";
    case ERR_TOO_LARGE:
        return "too large";
    case ERR_AGAIN:
        return "incomplete input";
    case ERR_EOF:
        return "end of input";
    case ERR_UNSUPPORTED:
        return "not supported";
    case ERR_TIMEOUT:
        return "timed out";
    case ERR_TLS:
        return "TLS error";
    case ERR_CANCELLED:
        return "cancelled";
    default:
        return "unknown error";
    }
}

int diag_set(struct diag *d, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    d->code = code;
    return code;
}

int diag_at(struct diag *d, int code, const char *file, long line, const char *fmt, ...)
{
    int n = line > 0 ? snprintf(d->msg, sizeof d->msg, "%s:%ld: ", file, line)
                     : snprintf(d->msg, sizeof d->msg, "%s: ", file);
    if (n < 0 || (size_t)n >= sizeof d->msg)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg + n, sizeof d->msg - (size_t)n, fmt, ap);
    va_end(ap);
    d->code = code;
    return code;
}
