/*
 * trace_write: writing trace files (format in docs/trace-format.md).
 *
 * The writer takes requests one at a time and turns each into one JSON line whose body
 * is the exact request payload for the endpoint type, except that prompt text taken from
 * the corpus is written as references ({"$text":[...]}: corpus slices and hash blocks)
 * instead of being spelled out. Blocks are defined once; the corpus text a trace uses is
 * stored once, as the merged pieces of the corpus its slices touch.
 *
 * Because the header must come first but holds totals, request lines go to a temporary
 * compressed file; tw_commit then writes the final file as [header + pieces + blocks]
 * frame followed by the request frames copied byte for byte (concatenated zstd frames
 * decode as one stream), to PATH.tmp.PID renamed over PATH. Nothing is left under PATH
 * on failure or abort. A writer is owned by one thread.
 *
 * Timed traces come out ordered by session start time (stable: equal times keep their
 * input order, a session's turns stay in order). Inputs that are already ordered stream
 * through; an unordered input is put in order at commit, which holds the decompressed
 * request lines in memory once.
 */
#ifndef METRONOME_TRACE_WRITE_H
#define METRONOME_TRACE_WRITE_H

#include "corpus.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One piece of a text value. */
enum tw_part_kind {
    TW_LIT,   /* literal bytes s[0..n) (UTF-8) */
    TW_SLICE, /* corpus text [off, off+len) */
    TW_BLOCK, /* a block defined with tw_block */
};

struct tw_part {
    enum tw_part_kind kind;
    const char *s;
    size_t n;
    uint32_t off, len;
    int64_t id;
};

/* One text value: the concatenation of its parts. */
struct tw_text {
    const struct tw_part *parts;
    size_t nparts;
};

/* A named media field as AIPerf keeps it: name plus a batch of contents. */
struct tw_request {
    const char *session; /* required, unique per session */
    int turn;            /* 0-based; turns of a session must be written in order */
    bool timed;          /* t_ms is set (first turns of timed traces) */
    double t_ms;         /* offset from the trace start */
    double delay_ms;     /* later turns: delay after the previous response; < 0 none */
    double start_ms;     /* later turns of timed traces: their session's first t_ms (the file
                            is ordered by it; first turns use t_ms) */
    const char *model;
    const char *role; /* NULL: "user" */
    const char *name; /* chat message name (AIPerf's single-text form), NULL for none */
    const struct tw_text *texts;
    size_t ntexts;
    const char *const *images; /* URLs or data URLs, sent verbatim */
    size_t nimages;
    /* AIPerf 0.13's image cache ids (single_turn "image_uuids", an image object's "uuids";
     * vLLM's multimodal processor cache): NULL, or one per image, NULL where an image has
     * none. Chat sends an image with one as {"type":"image_url","image_url":{"url":U},
     * "uuid":ID}, its url possibly empty (a reference to an image the server has cached). */
    const char *const *image_uuids;
    const char *const *audios; /* "format,base64" */
    size_t naudios;
    long isl;          /* input tokens, counted by the writer's tokenizer; -1: count here */
    long max_tokens;   /* requested output tokens, -1 for none */
    bool live_history; /* later turns: replay prepends earlier turns and live replies */
    /* AIPerf 0.13's mooncake "messages" and "payload" modes (compact JSON, validated by
     * the caller; the writer refuses "$text" in them): */
    const char *raw_messages; /* chat only: this JSON array is the "messages" value */
    size_t raw_messages_len;
    const char *raw_body; /* the whole body, sent verbatim (texts etc. are ignored) */
    size_t raw_body_len;
    int raw_stream;        /* with raw_body: 1 if it asks for streaming, else 0 */
    const char *raw_tools; /* with raw_messages: a JSON array sent as "tools" */
    size_t raw_tools_len;
    const char *raw_extra; /* a JSON object whose members are appended to this body */
    size_t raw_extra_len;
    /* AIPerf 0.13's conversation-level messages, chat only, first turns only (later turns
     * carry them through the live history; a later turn without live_history is sent on its
     * own and gets the verbatim --system-prompt as a first turn does): a system message
     * (joined after the verbatim --system-prompt with a blank line when both exist) and a
     * user-context message sent ahead of the turn's own. NULL: none. */
    const struct tw_text *system_text;
    const struct tw_text *context_text;
};

struct trace_writer;

/* Endpoint types a trace can target; the path default comes with the type. */
const char *tw_endpoint_path(const char *type);

struct tw_config {
    const char *endpoint_type; /* chat, completions, embeddings, responses */
    const char *endpoint_path; /* NULL: the type's default */
    bool streaming;
    const char *extra_json;      /* NULL or a JSON object merged last into every body */
    const struct corpus *corpus; /* may be NULL if no slices or blocks are used */
    int level;                   /* zstd level, 1..19 */
    /* AIPerf 0.13's --use-legacy-max-tokens: chat bodies ask with "max_tokens" instead of
     * "max_completion_tokens". */
    bool legacy_max_tokens;
    /* --per-chunk-usage: streamed chat bodies also ask for
     * stream_options.continuous_usage_stats. */
    bool per_chunk_usage;
    /* --system-prompt / --system-prompt-file: verbatim text sent as the system message of
     * every conversation (chat: first turns; responses: "instructions" of every request).
     * NULL: none. */
    const char *system_prompt;
    /* AIPerf 0.13's --cache-bust (its RID targets): every session gets the marker
     * "[rid:" + the first 12 hex digits of sha256("RUN:K:K:SESSION") + "]", where RUN is
     * bust_run_id and K the session's 0-based ordinal in the trace, as "\n\n" + marker
     * (suffix) or marker + "\n\n" (prefix). TW_BUST_SYSTEM_*: on the system text (chat:
     * the first turn's system message; responses: "instructions" of every turn) when there
     * is one, else as TW_BUST_FIRST_*: on the first text of the session's first turn. */
    enum tw_bust {
        TW_BUST_NONE,
        TW_BUST_SYSTEM_PREFIX,
        TW_BUST_SYSTEM_SUFFIX,
        TW_BUST_FIRST_PREFIX,
        TW_BUST_FIRST_SUFFIX,
    } cache_bust;
    const char *bust_run_id; /* with cache_bust: the run id digested (32 hex digits) */
};

/* Starts a trace at path. Fails if the endpoint type is unknown or extra_json is not an
 * object. */
int tw_open(struct trace_writer **out, const char *path, const struct tw_config *cfg,
            struct diag *d);

/* Provenance written into the header: each call adds one member whose value is raw JSON
 * (an object, string, number...), in call order. */
void tw_header_raw(struct trace_writer *w, const char *key, const char *json);

/* Defines block id as the concatenation of parts (slices or literals; no blocks) holding
 * `tokens` tokens. Returns 1 if newly defined, 0 if id existed (nothing changed; its
 * token count is in *existing_tokens when not NULL). */
int tw_block(struct trace_writer *w, int64_t id, const struct tw_part *parts, size_t nparts,
             long tokens, long *existing_tokens);
/* Whether block id is defined; its token count in *tokens. */
bool tw_block_find(const struct trace_writer *w, int64_t id, long *tokens);

/* Writes one request line. ERR_INVALID (d filled) for an unknown block or a request the
 * endpoint cannot express. */
int tw_request(struct trace_writer *w, const struct tw_request *r, struct diag *d);

/* Counts so far. */
long tw_requests(const struct trace_writer *w);
long tw_sessions(const struct trace_writer *w);

/* Writes the final file and frees w (also on failure). */
int tw_commit(struct trace_writer *w, struct diag *d);
/* Discards everything and frees w. */
void tw_abort(struct trace_writer *w);

/* --extra-inputs, as pack and replay both read it: each value is a JSON object, or
 * comma-separated k:v pairs whose value is JSON when it is a number, true, false or null
 * and a string otherwise; later keys win. Appends one JSON object to out. 0, or
 * ERR_INVALID with d filled ("--extra-inputs: 'nocolon' is not key:value ...", malformed
 * JSON) for anything else: nothing is dropped silently. */
struct buf;
int tw_extra_inputs(const char *const *vals, size_t n, struct buf *out, struct diag *d);

#endif
