/*
 * corpus: the source text synthetic prompts are cut from. The default is the embedded
 * blob "corpus" (AIPerf's shakespeare.txt, pinned by sha256 in the vendor manifest).
 * Loading normalizes it the way AIPerf does (each line stripped, empty lines dropped,
 * lines joined by one space) and splits the result into tokens once; a prompt of N
 * tokens is then a window of N consecutive tokens, i.e. at most two byte slices of the
 * normalized text (a window may wrap around the end once). Slices are what traces store,
 * so the same window always gives the same bytes. A loaded corpus is read-only and may
 * be shared between threads.
 *
 * With a model tokenizer (tokenizer.h: encode/decode set) the corpus is instead token ids,
 * tokenized as AIPerf 0.13 does (_initialize_corpus: the stripped non-empty lines cut
 * into chunks of at least 10,000 characters, each chunk joined with one space and encoded
 * on its own, the ids concatenated); windows are then id windows that the dataset
 * decodes (synth.c), and `tok` is NULL.
 */
#ifndef METRONOME_CORPUS_H
#define METRONOME_CORPUS_H

#include "err.h"
#include "tokenizer.h"

#include <stddef.h>
#include <stdint.h>

struct corpus {
    char *text;      /* owned: the normalized text, NUL-terminated */
    size_t len;      /* bytes of text */
    uint32_t *tok;   /* owned: token start offsets, tok[ntok] == len (approximations) */
    uint32_t *ids;   /* owned: token ids (model tokenizers), ids[0..ntok) */
    size_t ntok;     /* tokens in text */
    char name[128];  /* "shakespeare.txt" or the file's base name */
    char sha256[65]; /* hex sha256 of the raw (unnormalized) source bytes */
    size_t raw_len;  /* bytes of the raw source */
    const struct tokenizer *tk;
};

/* A byte range of corpus->text. */
struct corpus_slice {
    uint32_t off;
    uint32_t len;
};

/* Loads and tokenizes the embedded corpus. */
int corpus_load_embedded(struct corpus *c, const struct tokenizer *tk, struct diag *d);
/* Loads raw[0..n) as a corpus named `name` (copied). Fails on text with no tokens or
 * longer than 4 GiB. */
int corpus_load_mem(struct corpus *c, const char *name, const char *raw, size_t n,
                    const struct tokenizer *tk, struct diag *d);
void corpus_free(struct corpus *c);

/* The window of n tokens (0 < n <= ntok) starting at token `start` (< ntok), wrapping
 * around the end once: fills out[0] and, when it wraps, out[1]. Returns the number of
 * slices (1 or 2), or ERR_INVALID when n is 0 or larger than the corpus. */
int corpus_window(const struct corpus *c, size_t start, size_t n, struct corpus_slice out[2]);

/* Hex sha256 of data[0..n) into hex (65 bytes). */
void sha256_hex(const void *data, size_t n, char hex[65]);

#endif
