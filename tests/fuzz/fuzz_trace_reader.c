/* Fuzzes the trace reader on whole (uncompressed) trace files: header, pieces, blocks,
 * request lines and $text expansion. Whatever the bytes, it must fail with a message or
 * hand out requests that hold together: indexes in order, a session, a body that starts
 * as a JSON object, an expanded body free of references. */
#include "fuzz.h"
#include "trace.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

FUZZ_TARGET(trace_reader)
{
    int fd = memfd_create("trace", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    for (int expand = 0; expand < 2; expand++) {
        struct trace_reader *r;
        struct diag d = {0};
        if (trace_open(&r, path, &d)) {
            FUZZ_ASSERT(d.msg[0] != '\0');
            break;
        }
        trace_set_expand(r, expand == 1);
        const struct trace_header *h = trace_get_header(r);
        FUZZ_ASSERT(h->version == TRACE_FORMAT_VERSION && h->endpoint_type && h->endpoint_path);
        struct trace_request q;
        long n = 0;
        int rc;
        while ((rc = trace_next(r, &q, &d)) == 1) {
            FUZZ_ASSERT(q.index == n);
            FUZZ_ASSERT(q.session != NULL && q.body != NULL && q.body_len >= 2);
            FUZZ_ASSERT(q.body[0] == '{' && q.isl >= 0 && q.blocks >= 0 && q.turn >= 0);
            if (expand)
                FUZZ_ASSERT(!memmem(q.body, q.body_len, "{\"$text\":", 9));
            n++;
        }
        FUZZ_ASSERT(rc <= 0);
        FUZZ_ASSERT(rc == 0 ? n == h->requests : d.msg[0] != '\0');
        trace_close(r);
    }
    close(fd);
    return 0;
}
