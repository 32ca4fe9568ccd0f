/*
 * mock_req: what the mock needs from a request body, read with cJSON: streaming flags,
 * output-length controls, the model name and an approximate prompt length. Pure: no I/O,
 * no threads; the caller owns everything. Errors come back as ERR_PARSE (not JSON) or
 * ERR_INVALID (a field of the wrong type or range) with one line in the diag, which the
 * server sends to the client as a 400 error message.
 *
 * Prompt tokens are approximated as whitespace-separated words of every text field the
 * endpoint reads (an integer token array counts one token per element). It is a
 * deterministic stand-in for a tokenizer, documented in docs/mock.md.
 */
#ifndef METRONOME_MOCK_REQ_H
#define METRONOME_MOCK_REQ_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mock_endpoint {
    MOCK_EP_CHAT,          /* POST /v1/chat/completions */
    MOCK_EP_COMPLETIONS,   /* POST /v1/completions */
    MOCK_EP_EMBEDDINGS,    /* POST /v1/embeddings */
    MOCK_EP_RANKING_NIM,   /* POST /v1/ranking (NVIDIA NIM) */
    MOCK_EP_RERANK_TEI,    /* POST /rerank (Hugging Face TEI) */
    MOCK_EP_RERANK_COHERE, /* POST /v1/rerank (Cohere / vLLM) */
    MOCK_EP_RESPONSES,     /* POST /v1/responses */
};

#define MOCK_MODEL_MAX 128

struct mock_params {
    bool stream;
    bool include_usage;    /* stream_options.include_usage */
    bool continuous_usage; /* stream_options.continuous_usage_stats (vLLM): usage per chunk */
    bool ignore_eos;
    long max_tokens; /* max_tokens, max_completion_tokens or max_output_tokens; -1 if unset */
    long min_tokens; /* 0 if unset */
    long prompt_tokens;
    long n_inputs;              /* embeddings: inputs; rankings: passages */
    long dimensions;            /* embeddings: requested dimensions; -1 if unset */
    char model[MOCK_MODEL_MAX]; /* empty when the request names none (truncated if longer) */
    uint64_t hash;              /* FNV-1a of the whole body: seeds the response content */
};

/* Fills *p from body[0..len). 0, ERR_PARSE or ERR_INVALID (diag says which field). */
int mock_req_parse(enum mock_endpoint ep, const char *body, size_t len, struct mock_params *p,
                   struct diag *d);

/* Whitespace-separated words in s[0..n). */
long mock_count_words(const char *s, size_t n);

#endif
