/*
 * Placeholders for the trace reader (include/trace.h) while the trace stage is not in
 * this build: weak symbols that fail honestly, overridden by src/trace/ when it lands.
 */
#include "trace.h"

#include <stddef.h>

__attribute__((weak)) int trace_open(struct trace_reader **out, const char *path, struct diag *d)
{
    *out = NULL;
    return diag_at(d, ERR_UNSUPPORTED, path, 0, "the trace reader is not in this build yet");
}

__attribute__((weak)) const struct trace_header *trace_get_header(const struct trace_reader *r)
{
    (void)r;
    return NULL;
}

__attribute__((weak)) int trace_next(struct trace_reader *r, struct trace_request *out,
                                     struct diag *d)
{
    (void)r;
    (void)out;
    return diag_set(d, ERR_UNSUPPORTED, "the trace reader is not in this build yet");
}

__attribute__((weak)) void trace_close(struct trace_reader *r)
{
    (void)r;
}
