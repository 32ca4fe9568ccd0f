/*
 * tokenizer: how metronome counts and cuts tokens. Until a real tokenizer.json engine
 * exists, the only implementation is an approximation (tokenizer_approx): text splits
 * into word-like pieces, which is enough to size prompts and to cut the corpus at token
 * boundaries. Every trace records the tokenizer's name and whether lengths are
 * approximate. A real tokenizer plugs in by filling the same struct.
 *
 * A tokenizer splits text into consecutive byte spans (one per token) that cover the
 * text exactly, so a window of tokens is always one byte slice of the text: that is what
 * lets a trace store prompts as slices of its source text. Implementations are
 * stateless and thread-safe.
 */
#ifndef METRONOME_TOKENIZER_H
#define METRONOME_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct diag;

struct tokenizer {
    const char *name; /* recorded in trace headers, e.g. "approx-words-v1" */
    bool approximate; /* counts are estimates of a real model tokenizer's */
    /* Approximations: length in bytes of the token starting at text[0] (n > 0); always
     * >= 1. NULL for a model tokenizer (its tokens are ids, not byte spans). */
    size_t (*next)(const char *text, size_t n);
    /* Model tokenizers (a loaded tokenizer.json, tokenizer_open): `model` is the engine's
     * handle with its scratch memory, owned by whoever loaded it; a model tokenizer is
     * therefore used by one thread at a time. encode appends the ids of text[0..n) (no special
     * tokens added) to *ids (grown with xrealloc; *cap its capacity) and returns their
     * number, or a negative enum err; decode appends the text of ids to out (special
     * tokens kept, as AIPerf's decode does) and returns 0 or a negative enum err. */
    void *model;
    long (*encode)(void *model, const char *text, size_t n, uint32_t **ids, size_t *len,
                   size_t *cap);
    int (*decode)(void *model, const uint32_t *ids, size_t n, struct buf *out);
    /* Provenance written to trace headers (model tokenizers; "" otherwise): the file's
     * sha256 (hex), where it was found ("hf-cache" or "file"), the revision asked for
     * and the snapshot's commit. `name` is then what --tokenizer named (hub name or
     * path). */
    char sha256[65];
    char source[512];
    char revision[256];
    char commit[64];
};

/* The built-in approximation "approx-words-v1": a token is an optional single leading
 * space followed by either up to 6 bytes of a letter run (bytes >= 0x80 count as letters
 * and UTF-8 sequences are never cut), up to 3 digits, or one other byte; any other run of
 * whitespace is one token. See docs/trace-format.md for how it compares with BPE. */
const struct tokenizer *tokenizer_approx(void);

/* Opens what --tokenizer SPEC (--tokenizer-revision REVISION, NULL = main) names, as
 * tok_lookup.h resolves it: "builtin" gives the approximation; anything else loads the
 * tokenizer.json with the engine (include/tok.h) and fills t's provenance. 0, or a
 * negative enum err with d set (ERR_INVALID: a usage error, exit 2; else exit 1).
 * Release with tokenizer_close. */
int tokenizer_open(struct tokenizer *t, const char *spec, const char *revision, struct diag *d);
void tokenizer_close(struct tokenizer *t);
/* The refusal of --tokenizer-trust-remote-code (one line, for d). */
int tokenizer_refuse_remote_code(struct diag *d);

/* Number of tokens in text[0..n) (a model tokenizer encodes it; -1 on failure is
 * reported as 0 since encode only fails on allocation, which aborts). */
size_t tokenizer_count(const struct tokenizer *t, const char *text, size_t n);

#endif
