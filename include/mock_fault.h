/*
 * mock_fault: injectable faults of the mock server, each chosen per request by a
 * probability or by a request-index pattern. Spec syntax (docs/mock.md):
 *
 *   NAME[=ARG][@WHEN]    WHEN = all (default) | p=PROB | every=N[+K] | idx=A,B-C,...
 *
 * The choice is a pure function of (seed, request index, fault position), so a run with
 * the same seed faults the same requests. Pure: no I/O; specs are read-only once parsed.
 */
#ifndef METRONOME_MOCK_FAULT_H
#define METRONOME_MOCK_FAULT_H

#include "err.h"

#include <stdbool.h>
#include <stdint.h>

enum mock_fault_kind {
    MOCK_FAULT_STATUS,           /* status=CODE: an OpenAI-style error response */
    MOCK_FAULT_CLOSE_AFTER,      /* close-after=N: close the connection after N content events */
    MOCK_FAULT_STALL_AFTER,      /* stall-after=N: stop sending after N content events */
    MOCK_FAULT_SSE_INVALID_JSON, /* sse-invalid-json[=K]: content event K (0-based) is not JSON */
    MOCK_FAULT_SSE_CR,           /* sse-cr: CR-only line ends */
    MOCK_FAULT_SSE_CRLF,         /* sse-crlf: CRLF line ends */
    MOCK_FAULT_SSE_COMMENTS,     /* sse-comments: a comment line before each event */
    MOCK_FAULT_SSE_FIELDS,       /* sse-fields: id: and retry: fields */
    MOCK_FAULT_SSE_MULTILINE,    /* sse-multiline: JSON split over several data: lines */
    MOCK_FAULT_BYTE_WRITES,      /* byte-writes: every byte of the response in its own write() */
    MOCK_FAULT_BIG_EVENT,        /* big-event[=BYTES]: first content event of BYTES (8 MiB) */
    MOCK_FAULT_CHUNK_EXT,        /* chunk-ext: chunk extensions on every chunk */
    MOCK_FAULT_TINY_CHUNKS,      /* tiny-chunks: HTTP chunks of 1 to 3 bytes */
    MOCK_FAULT_TRAILERS,         /* trailers: trailer fields after the last chunk */
    MOCK_FAULT_SLOW_HEAD,        /* slow-head=MS: the response head waits MS milliseconds */
    MOCK_FAULT_WRONG_CTYPE,      /* wrong-content-type: text/plain instead of the real type */
    MOCK_FAULT_CLOSE_DELIMITED,  /* close-delimited: Connection: close, no length, no chunks */
    MOCK_FAULT_COUNT,
};

#define MOCK_FAULT_MAX_RANGES 16

struct mock_fault {
    enum mock_fault_kind kind;
    long arg;
    double prob; /* when >= 0: chosen with this probability */
    long every;  /* when > 0: index % every == offset */
    long offset;
    long lo[MOCK_FAULT_MAX_RANGES], hi[MOCK_FAULT_MAX_RANGES]; /* idx= ranges, inclusive */
    int nranges;
};

/* The faults one request gets: a bit per kind and each kind's argument. */
struct mock_fault_set {
    uint32_t mask;
    long arg[MOCK_FAULT_COUNT];
};

/* Parses one spec. ERR_INVALID with a diag naming the spec on error. */
int mock_fault_parse(const char *spec, struct mock_fault *f, struct diag *d);
/* Whether fault number `pos` of the list applies to request `index`. */
bool mock_fault_applies(const struct mock_fault *f, uint64_t seed, int pos, uint64_t index);
/* All faults of a list for one request (later specs of a kind override earlier ones). */
void mock_fault_select(const struct mock_fault *f, int n, uint64_t seed, uint64_t index,
                       struct mock_fault_set *out);
static inline bool mock_fault_on(const struct mock_fault_set *s, enum mock_fault_kind k)
{
    return (s->mask >> k) & 1u;
}
const char *mock_fault_name(enum mock_fault_kind k);

#endif
