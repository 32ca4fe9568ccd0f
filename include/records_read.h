/*
 * records_read: reads a run directory (docs/records-format.md): run.json into struct
 * run_meta, and records.jsonl.zst one record at a time through a purpose-built scanner
 * (cJSON per line is the bottleneck at 10^6 records x 100 chunks).
 *
 * Crash tolerance: before decoding, rec_stream_open walks the zstd frame and block
 * headers and stops at the last frame that is complete on disk, so a run killed mid-write
 * reads up to its last flushed frame and rec_stream_dropped() says how many bytes were
 * left out. Plain (uncompressed) JSON Lines are accepted too; there a last line without
 * its newline is dropped the same way.
 *
 * Ownership: struct rec holds views (struct strv) into the line returned by
 * rec_stream_next and arrays owned by the struct rec_parser; both stay valid until the
 * next call. Nothing here is thread-safe; use one reader per thread.
 */
#ifndef METRONOME_RECORDS_READ_H
#define METRONOME_RECORDS_READ_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct i64map;

/* A view of a JSON string's raw contents (escapes still in place). */
struct strv {
    const char *p;
    size_t n;
};

/* Unescapes a JSON string body into out (cap bytes, NUL-terminated, truncated to fit);
 * returns the length written. Invalid escapes are copied through. */
size_t strv_unescape(struct strv s, char *out, size_t cap);

struct run_meta {
    char *dir;          /* owned: the run directory as given */
    char *label;        /* owned: its last path component */
    struct cJSON *json; /* owned: the whole run.json */
    int64_t anchor_mono, anchor_real;
    int64_t started_real, ended_real; /* 0 when absent */
    int shard_index, shard_count;
    const char *hostname;     /* view into json, or "" */
    const char *trace_sha256; /* view into json, or "" */
    const char *endpoint;     /* config.endpoint_type (or "type"), default "chat" */
    bool streaming;           /* config.streaming, default true */
    bool record_http;         /* config.record_http (replay --record-http), default false */
    bool complete, cancelled;
    /* counts.reads_kernel_stamped / reads_user_stamped: response reads stamped with the
     * kernel's receive time, or with the time the read returned; -1 when absent (runs
     * before these counts existed) */
    int64_t reads_kernel, reads_user;
    /* counts.sent / completed / errors / cancelled / not_sent; -1 when absent */
    int64_t sent, completed, errors, cancelled_n, not_sent;
    /* start.at_real_ns / at_mono_ns (--start-at) and start.t0_mono_ns (the profile phase's time
     * zero), 0 when absent; clock.esterror_ns / maxerror_ns, -1 when absent; clock.synchronized */
    int64_t start_at_real, start_at_mono, t0_mono;
    int64_t clock_esterror, clock_maxerror;
    bool clock_synced;
    bool has_seed; /* config.seed was an integer */
    int64_t seed;
};

/* The run.json format version this build reads (any other is refused). */
#define RUN_FORMAT_VERSION 1

/* Loads DIR/run.json. On error fills d ("DIR/run.json: ...") and returns < 0. Every
 * integer is range-checked ("DIR/run.json: field 'shard.index': value out of range"), the
 * whole file must be strict JSON, and a format version other than RUN_FORMAT_VERSION is
 * refused (ERR_UNSUPPORTED). */
int run_meta_load(struct run_meta *m, const char *dir, struct diag *d);
/* The same from run.json's text[0..len) (path names it in messages); for tests and
 * fuzzing. m is zeroed on failure and needs run_meta_free on success. */
int run_meta_parse(struct run_meta *m, const char *dir, const char *path, const char *text,
                   size_t len, struct diag *d);
void run_meta_free(struct run_meta *m);

enum rec_phase {
    REC_PROFILE = 0,
    REC_WARMUP = 1,
};

/* One record line. Integers absent from the line are REC_ABSENT. */
#define REC_ABSENT INT64_MIN

struct rec {
    int64_t i;
    struct strv conv;
    int64_t turn;
    enum rec_phase phase;
    int64_t worker, conn;
    bool reused;
    int64_t url;
    struct strv model;
    bool stream;
    int64_t isl, osl_req;
    int64_t preconnect_ns; /* connect time of a connection opened before the run */
    int64_t t_intended, t_dispatch, t_start, t_connected, t_tls, t_sent, t_head, t_first, t_last,
        t_end;
    int64_t status;
    const int64_t *chunk_t, *chunk_tok; /* nchunks each, owned by the parser */
    size_t nchunks;
    const int64_t *rchunk_t, *rchunk_tok;
    size_t nrchunks;
    bool has_usage;
    int64_t usage_prompt, usage_completion, usage_reasoning; /* REC_ABSENT if not sent */
    int64_t first_chunk_tokens; /* replay's first_chunk_tokens, REC_ABSENT if not recorded */
    struct strv finish;
    int64_t bad_chunks;
    int64_t tx_bytes, tx_writes, rx_bytes, rx_reads; /* REC_ABSENT in records without them */
    bool has_error;
    int64_t err_code; /* REC_ABSENT for null */
    struct strv err_type, err_msg;
    bool cancelled;
    /* replay --record-text: the response text and reasoning text (JSON string bodies,
     * still escaped: strv_unescape them) */
    bool has_text;
    struct strv text, rtext;
    /* replay --record-http: the record's "http" object as it is in the line (its JSON
     * text, to be parsed by whoever needs it); n == 0 when absent */
    struct strv http;
    /* Set by the report before rrec_from_rec, not by the parser: the texts' token counts
     * (REC_ABSENT when not counted) and whether server usage wins where it was sent. */
    int64_t text_tokens, rtext_tokens;
    bool prefer_usage;
};

struct rec_parser {
    int64_t *arr[4]; /* chunk_t, chunk_tok, rchunk_t, rchunk_tok */
    size_t cap[4];
    size_t max_chunks; /* cap per record (ERR_TOO_LARGE beyond) */
};

void rec_parser_init(struct rec_parser *p);
void rec_parser_free(struct rec_parser *p);

/* Parses one line (no trailing newline; need not be NUL-terminated; never reads past
 * line[n-1]). Unknown keys are skipped. Returns 0, or ERR_PARSE / ERR_INVALID /
 * ERR_TOO_LARGE with *col set to the 1-based byte column and *what to a static message. */
int rec_parse(struct rec_parser *p, const char *line, size_t n, struct rec *out, size_t *col,
              const char **what);

struct rec_stream;

/* Opens DIR/records.jsonl.zst (or DIR/records.jsonl). */
int rec_stream_open(struct rec_stream **out, const char *path, struct diag *d);
/* Next line: 1 with a line, 0 at the end, < 0 on error (d filled). */
int rec_stream_next(struct rec_stream *s, const char **line, size_t *len, struct diag *d);
long rec_stream_lineno(const struct rec_stream *s);
/* Bytes at the end of the file that were not read because their frame (or last line)
 * was incomplete; 0 for a cleanly closed file. Known right after open. */
uint64_t rec_stream_dropped(const struct rec_stream *s);
/* True when the line last returned ended at end of file without a newline (it may have
 * been cut off by a crash); a caller that cannot parse it calls rec_stream_drop_last. */
bool rec_stream_last_unterminated(const struct rec_stream *s);
void rec_stream_drop_last(struct rec_stream *s, size_t n);
void rec_stream_close(struct rec_stream *s);

/* Checks over a whole records file that no single line can make (report and inspect
 * share them; docs/reliability.md): a record twice (same phase and index: it would be
 * counted twice) is an error; a record whose t_end is before its t_start is counted and
 * warned about (it is never a valid request); and a run marked complete must hold exactly
 * counts.completed + counts.not_sent records with no cut frame, so a file cut in half or
 * replaced by random bytes is not taken for the run. */
struct rec_check {
    struct i64map *seen; /* owned: (i << 1 | phase) -> line */
    long n;              /* records added */
    long backwards;      /* records with t_end < t_start */
    long first_backwards_line;
};
void rec_check_init(struct rec_check *c);
void rec_check_free(struct rec_check *c);
/* Adds one parsed record read at path:line. 0, or ERR_INVALID with d filled for a
 * duplicate ("PATH:LINE: duplicate record (profile i=17, first at line 3)"). */
int rec_check_add(struct rec_check *c, const struct rec *r, const char *path, long line,
                  struct diag *d);
/* After the last record: 0, or ERR_INVALID with d filled when a complete run's records do
 * not match its run.json (dropped = rec_stream_dropped). */
int rec_check_end(const struct rec_check *c, const struct run_meta *m, uint64_t dropped,
                  const char *path, struct diag *d);

/* Byte length of the prefix of a zstd file made of complete frames (the frame walk
 * rec_stream_open uses), for the data in buf[0..n). */
size_t rec_zstd_complete_prefix(const unsigned char *buf, size_t n);

#endif
