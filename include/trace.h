/*
 * trace: reading trace files (trace.jsonl.zst, format in docs/trace-format.md).
 *
 * This is the contract replay and inspect depend on. The reader streams: memory is
 * bounded by the block table (shared-prefix text stored once) and one request, never by
 * the trace's length. Each request comes back with its JSON body fully materialized
 * (blocks expanded), byte-identical on every host, so replay needs no tokenizer.
 * A reader is owned by one thread.
 */
#ifndef METRONOME_TRACE_H
#define METRONOME_TRACE_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACE_FORMAT_VERSION 1

enum trace_history {
    TRACE_HISTORY_RECORDED, /* each body already holds the conversation so far */
    TRACE_HISTORY_LIVE,     /* each body holds only this turn's new messages; replay prepends
                               the earlier turns' messages and the server's live replies */
};

struct trace_header {
    int version;
    const char *endpoint_type; /* chat, completions, embeddings, rankings, responses, raw */
    const char *endpoint_path; /* e.g. "/v1/chat/completions" */
    bool timed;                /* requests carry t_ms offsets */
    bool tokens_approx;        /* ISL/OSL come from the approximate tokenizer */
    long requests;             /* total requests (all turns) */
    long sessions;
    const char *json; /* the whole header line, for run.json provenance */
    size_t json_len;
    /* Additions (trace engineer): */
    bool streaming;               /* the endpoint.streaming the trace was packed with */
    long blocks;                  /* hash blocks the trace defines */
    long pieces;                  /* pieces of source text the trace stores */
    const char *tokenizer;        /* tokenizer name, e.g. "approx-words-v1" */
    const char *tokenizer_sha256; /* a model tokenizer's tokenizer.json sha256, else "" */
    /* requests of a warmup block (lines with "warmup": true, before the schedule): a
     * user-centric schedule packed with AIPerf's warmup phase; 0: none */
    long warmup_requests;
    /* the load pack wrote the block for: its closed loop's sessions under way at once,
     * or its rate (requests/s); 0: not stated (replay's own defaults) */
    long warmup_concurrency;
    double warmup_rate;
};

struct trace_request {
    long index;          /* 0-based, in file order */
    const char *session; /* session id */
    int turn;            /* 0-based turn within the session */
    bool timed;
    double t_ms;     /* first turns of timed traces: offset from the trace start; a later
                        turn's t_ms (if timed) is the earliest time it may go */
    double delay_ms; /* later turns: delay after the previous turn's response ends */
    const char *model;
    bool stream;
    long isl; /* input tokens (approximate if the header says so) */
    long osl; /* requested output tokens, -1 if none */
    enum trace_history history;
    const char *body; /* the request body, JSON */
    size_t body_len;
    /* Additions (trace engineer): */
    long blocks; /* hash-block references in this request (repeats count) */
    long line;   /* 1-based line of this request in the decompressed trace */
    /* later turns of a user-centric schedule (AIPerf 0.13's turn gap): sent gap_ms after
     * the previous turn's intended time, or when its response ends if later; 0: none */
    double gap_ms;
    /* a line of the trace's warmup block: sent by the warmup phase only (its load is the
     * warmup's, not the schedule's), skipped by profiling */
    bool warmup;
};

struct trace_reader;

/* Opens path and reads its header; fails on a missing file, a bad header or an
 * unsupported version, naming the file and line. */
int trace_open(struct trace_reader **out, const char *path, struct diag *d);
const struct trace_header *trace_get_header(const struct trace_reader *r);
/* The next request. 1 with a request (views valid until the next call), 0 at the end,
 * < 0 on error (d names the file, the line and the field). */
int trace_next(struct trace_reader *r, struct trace_request *out, struct diag *d);
void trace_close(struct trace_reader *r);

/* Additions (trace engineer). */
/* With expand false, trace_next still validates every line and every text reference but
 * hands out the body as stored ({"$text":...} references unexpanded): inspect's fast
 * path. Default true. */
void trace_set_expand(struct trace_reader *r, bool expand);
/* Compressed bytes read and decompressed bytes produced so far. */
size_t trace_bytes_in(const struct trace_reader *r);
size_t trace_bytes_out(const struct trace_reader *r);

#endif
