/*
 * record: one request as replay saw it, and its line in records.jsonl.zst
 * (docs/records-format.md is the schema; field meanings must not change).
 *
 * A record is owned by the worker that sends the request, from dispatch until it is
 * serialized; nothing in it is shared. Times are CLOCK_MONOTONIC nanoseconds, absolute
 * while the request runs; record_write subtracts the run's anchor.
 */
#ifndef METRONOME_RECORD_H
#define METRONOME_RECORD_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rec_error {
    RECERR_NONE,
    RECERR_HTTP,
    RECERR_CONNECT,
    RECERR_TLS,
    RECERR_TIMEOUT_CONNECT,
    RECERR_TIMEOUT_FIRST_BYTE,
    RECERR_TIMEOUT_IDLE,
    RECERR_TIMEOUT_TOTAL,
    RECERR_PROTOCOL,
    RECERR_CLOSED,
    RECERR_CANCELLED,
    RECERR_NOT_SENT,
};

/* The records-format name of an error type ("timeout_idle", ...). */
const char *rec_error_name(enum rec_error e);

struct rec_chunk {
    int64_t t;
    int32_t tokens;
};

/* A growable array of chunk stamps (capped at max entries; past that the count still
 * grows in `dropped` so nothing is silently lost). */
struct rec_chunks {
    struct rec_chunk *v;
    uint32_t n, cap, max;
    uint32_t dropped;
};

enum rec_phase { PHASE_WARMUP, PHASE_PROFILE };

/* replay --record-http (profile --export-http-trace): what AIPerf 0.13 puts in a record's
 * trace_data beyond the times every record has. Allocated only with the option, so a
 * default record carries one NULL pointer and writes nothing more. Header lists are
 * "name\0value\0" pairs (nreq_h / nresp_h of them), secret values already replaced by
 * "<redacted>"; chunk lists reuse rec_chunks with the byte count in `tokens`. */
struct rec_http {
    char *req_h, *resp_h; /* owned, may be NULL */
    uint32_t nreq_h, nresp_h;
    int64_t t_head_sent;      /* the write that completed the request head returned; 0 if never */
    struct rec_chunks tx, rx; /* body writes and body reads: (time, bytes) */
    char reason[64];
    char local[48], remote[48]; /* numeric addresses, "" when unknown */
    int local_port, remote_port;
    /* replay --record-responses (profile --export-level raw), else empty: the request body
     * as sent, and each SSE event (or the one non-streaming body) as received: times in
     * `ev` (tokens unused), "type\0data\0" pairs in `evs`, at most REC_RAW_MAX bytes of
     * them per request (past that `ev_dropped` counts the events left out). */
    char *payload;
    size_t payload_len;
    struct rec_chunks ev;
    struct buf evs;
    uint32_t ev_dropped;
};

/* The most event bytes --record-responses keeps per request. */
#define REC_RAW_MAX (64u << 20)

struct rec {
    long index;
    char *conv; /* owned */
    int turn;
    enum rec_phase phase;
    int worker;
    long conn;
    bool reused;
    int url;
    char *model; /* owned, may be NULL */
    bool stream;
    long isl, osl_req;
    int64_t preconnect_ns; /* the connection was opened before the run: its connect time */
    int64_t t_intended, t_dispatch, t_start, t_connected, t_tls, t_sent, t_head, t_first, t_last,
        t_end;
    int status;
    struct rec_chunks chunks, rchunks;
    bool has_usage;
    long prompt_tokens, completion_tokens, reasoning_tokens;
    /* usage.completion_tokens of the first event with content (non-empty text or reasoning)
     * that carried usage, as continuous_usage_stats sends it (AIPerf 0.13's
     * --per-chunk-usage ITL divisor); -1 when none did */
    long first_chunk_tokens;
    char finish[32];
    uint32_t bad_chunks;
    /* Transport counts (AIPerf's http_req_data_* / http_req_chunks_*): request body bytes
     * handed to the kernel (or TLS) and the write calls that carried them; response body
     * bytes as the HTTP framing delivered them (chunked encoding removed) and the reads
     * that carried any. Written to the record once the request began (tx_writes > 0). */
    uint64_t tx_bytes, rx_bytes;
    uint32_t tx_writes, rx_reads;
    enum rec_error error;
    int error_code; /* -1 for null */
    /* The error's message, or NULL: owned, at most REC_ERROR_MSG_MAX - 1 bytes. On the heap
     * because only failed requests have one, and a server's reason (a vLLM 400 names the
     * prompt's length and the model's limit) is often longer than a fixed field would be. */
    char *error_msg;
    bool cancelled;
    /* --record-text: the response's content text and reasoning text as received (owned,
     * NUL-terminated; NULL when not recorded), for the report to count with a tokenizer. */
    char *text, *rtext;
    struct rec_http *http; /* owned; NULL without --record-http */
};

/* Longest error message kept (with its NUL): a server's body past this is cut. */
#define REC_ERROR_MSG_MAX 4096

void rec_init(struct rec *r);
void rec_free(struct rec *r);
/* Frees what sending filled in (stamps, error message, text, HTTP trace) and keeps what
 * describes the request (conv, model). */
void rec_free_results(struct rec *r);
/* Appends a stamp; never fails (past the cap only the drop count grows). */
void rec_chunks_add(struct rec_chunks *c, int64_t t, int32_t tokens);
/* Makes room for n entries at once (an empty list only; n is capped at 65,536): one
 * allocation of the expected size instead of a chain of doublings, whose freed smaller
 * blocks stay cached by the allocator (per-stream memory grew with the output length). */
void rec_chunks_reserve(struct rec_chunks *c, uint32_t n);
/* Sets the error once: the first cause wins, later calls are ignored. */
void rec_set_error(struct rec *r, enum rec_error e, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Appends r as one JSON line ('\n'-terminated) with times relative to anchor_ns. 0, or
 * ERR_TOO_LARGE when out's cap cannot take it (nothing of the record is appended then; the
 * writer reserves about 1.5 KB ahead of what it writes, so a buffer within that of its cap
 * refuses a short record too: record buffers are uncapped). */
int rec_write_json(struct buf *out, const struct rec *r, int64_t anchor_ns);

#endif
