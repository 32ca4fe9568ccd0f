/*
 * mock_gen: the mock's response bodies, in the exact shapes of OpenAI (chat.completion,
 * chat.completion.chunk, text_completion, embeddings list, Responses API), vLLM (first
 * chat chunk carries the role and empty content; the last content chunk carries
 * finish_reason), NVIDIA NIM /v1/ranking, Hugging Face TEI /rerank and Cohere /v1/rerank.
 * Pure: builders append to a caller-owned struct buf and do no I/O; a struct mock_gen is
 * owned by one thread. Content is corpus words chosen by a seed, so the same seed and
 * request give byte-identical text.
 */
#ifndef METRONOME_MOCK_GEN_H
#define METRONOME_MOCK_GEN_H

#include "buf.h"
#include "err.h"
#include "mock_req.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Words of the corpus that need no JSON escaping (others are skipped at load), so a token
 * is copied straight into a JSON string. Read-only after load: share across threads. */
struct mock_text {
    char *text;    /* owned */
    uint32_t *off; /* owned: word start offsets */
    uint8_t *wlen; /* owned: word lengths */
    size_t nwords;
};

/* Loads the embedded corpus ("corpus"). */
int mock_text_load(struct mock_text *t, struct diag *d);
/* Takes ownership of text[0..len) (heap, NUL-terminated). Used by tests. */
void mock_text_from(struct mock_text *t, char *text, size_t len);
void mock_text_free(struct mock_text *t);
/* Appends token k of the stream starting at word `start`: the word, with a leading space
 * for every token but the first of the response. */
void mock_text_token(const struct mock_text *t, uint64_t start, long k, struct buf *out);

/* How an SSE stream is written: the normal form, or one of the malformed-SSE faults. */
struct mock_sse_style {
    bool crlf;            /* CRLF line ends */
    bool cr;              /* CR-only line ends */
    bool comments;        /* a ": keep-alive" comment line before every event */
    bool fields;          /* id: and retry: fields on every event (event: stays honest) */
    bool multiline;       /* data split over several data: lines at each comma */
    long invalid_json_at; /* emission whose first content event is not JSON; -1 none */
    long big_event_bytes; /* > 0: the first content event carries this much text */
};

/* One response being generated. Fill with mock_gen_init, then either build the whole
 * non-streaming body (mock_gen_body) or pull the streaming emissions in order
 * (mock_gen_emission) until it returns false. */
struct mock_gen {
    enum mock_endpoint ep;
    const struct mock_text *text;
    uint64_t start; /* first corpus word */
    long n_reason;  /* reasoning tokens (chat only) */
    long n_content; /* content tokens */
    long per_chunk; /* tokens per content event */
    long prompt_tokens;
    bool include_usage;
    bool continuous_usage; /* every content chunk carries the usage so far (vLLM) */
    bool length_finish;    /* finish_reason "length" (else "stop") */
    char id[48];           /* "chatcmpl-…", "cmpl-…", "resp_…" */
    int64_t created;       /* Unix seconds */
    char model[MOCK_MODEL_MAX];
    struct mock_sse_style style;
    /* progress */
    long emitted_reason, emitted_content;
    long emission; /* emissions produced so far */
    long seq;      /* Responses API sequence_number */
    struct buf scratch;
    struct buf head; /* the common start of every chunk, built at the first */
};

void mock_gen_init(struct mock_gen *g, enum mock_endpoint ep, const struct mock_text *text,
                   uint64_t start, long n_reason, long n_content, long per_chunk);
void mock_gen_free(struct mock_gen *g);
/* Number of timed emissions of the stream: one per content event. */
long mock_gen_emissions(const struct mock_gen *g);
/* Tokens carried by emission i. */
long mock_gen_emission_tokens(const struct mock_gen *g, long i);
/* Appends the SSE bytes of the next emission (the first carries the role chunk or the
 * Responses preamble; the last carries the usage chunk and [DONE] or response.completed)
 * and sets *tokens. Returns false when every emission was produced. ERR_TOO_LARGE from out
 * is reported through *err. */
bool mock_gen_emission(struct mock_gen *g, struct buf *out, long *tokens, int *err);
/* The non-streaming JSON body of a chat, completions or Responses reply. */
int mock_gen_body(struct mock_gen *g, struct buf *out);

/* Embeddings list: n vectors of dim floats, deterministic from seed. */
int mock_build_embeddings(struct buf *out, const char *model, long n, long dim, uint64_t seed,
                          long prompt_tokens);
/* Rankings: NIM {"rankings":[{"index","logit"}]}, TEI [{"index","score"}], Cohere
 * {"id","results":[{"index","relevance_score"}],...}; sorted by score, descending. */
int mock_build_rankings(struct buf *out, enum mock_endpoint ep, const char *model, long n,
                        uint64_t seed, long prompt_tokens);
int mock_build_models(struct buf *out, const char *model, int64_t created);
/* {"error":{"message":…,"type":…,"param":null,"code":…}} in OpenAI's shape. */
int mock_build_error(struct buf *out, int status, const char *message);

#endif
