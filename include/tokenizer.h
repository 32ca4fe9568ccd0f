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

struct tokenizer {
    const char *name; /* recorded in trace headers, e.g. "approx-words-v1" */
    bool approximate; /* counts are estimates of a real model tokenizer's */
    /* Length in bytes of the token starting at text[0] (n > 0); always >= 1. */
    size_t (*next)(const char *text, size_t n);
};

/* The built-in approximation "approx-words-v1": a token is an optional single leading
 * space followed by either up to 6 bytes of a letter run (bytes >= 0x80 count as letters
 * and UTF-8 sequences are never cut), up to 3 digits, or one other byte; any other run of
 * whitespace is one token. See docs/trace-format.md for how it compares with BPE. */
const struct tokenizer *tokenizer_approx(void);

/* Number of tokens in text[0..n). */
size_t tokenizer_count(const struct tokenizer *t, const char *text, size_t n);

#endif
