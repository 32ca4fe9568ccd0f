/*
 * tok: a Hugging Face tokenizer.json engine. Loads the file into compact tables (one
 * string arena, open-addressing hash tables for the vocabulary and the BPE merges; the
 * JSON parse tree is freed before tok_load returns) and encodes and decodes token ids
 * exactly as the Rust `tokenizers` crate (PyPI `tokenizers`) does for
 * `Tokenizer.encode(text, add_special_tokens=...)` and `Tokenizer.decode(ids,
 * skip_special_tokens=...)`, with truncation and padding off (a file's `truncation` and
 * `padding` sections are ignored: metronome always wants the whole count).
 *
 * What is supported is listed in docs/tokenizers.md; anything else is refused at load
 * time with one line naming the JSON path, e.g.
 *   tokenizer.json: pre_tokenizer.pretokenizers[1].type "X" is not supported
 *
 * Text is UTF-8. Invalid UTF-8 is first replaced by U+FFFD, one per maximal ill-formed
 * subsequence, exactly as Python's bytes.decode("utf-8", "replace") does: that is what a
 * Python caller of `tokenizers` sees, since a Python str cannot hold invalid UTF-8.
 *
 * Threads: a loaded struct tok is immutable; any number of threads may encode and decode
 * with it at once, each with its own struct tok_ids (which carries that caller's scratch
 * memory and word cache). No global state.
 */
#ifndef METRONOME_TOK_H
#define METRONOME_TOK_H

#include "buf.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tok;
struct tok_scratch;

/* Caller-owned growable id array plus private per-caller scratch (buffers and a word
 * cache, created on first use, bound to one tokenizer at a time). Zero-initialise it
 * (`struct tok_ids ids = {0};`), reuse it across calls (each tok_encode replaces v[0..n)),
 * release it with tok_ids_free. Never share one between threads. */
struct tok_ids {
    uint32_t *v; /* owned; v[0..n) are the ids of the last encode */
    size_t n;
    size_t cap;
    struct tok_scratch *s; /* owned, private */
};
void tok_ids_free(struct tok_ids *ids);

/* Loads a tokenizer.json file. `label` names it in error messages (NULL: the path's
 * basename). 0 with *out (owned by the caller, release with tok_free), or ERR_IO /
 * ERR_PARSE / ERR_INVALID / ERR_UNSUPPORTED with d set to one line:
 *   "tokenizer.json: model.type \"WordLevel\" is not supported". */
int tok_load(const char *path, const char *label, struct tok **out, struct diag *d);
/* As tok_load, from bytes in memory (not kept after the call). */
int tok_load_mem(const char *json, size_t n, const char *label, struct tok **out, struct diag *d);
void tok_free(struct tok *t);

/* Encodes text[0..n) (any bytes; see the UTF-8 note above). add_special_tokens applies the
 * post-processor (TemplateProcessing, BertProcessing, ...) as `tokenizers` does. On
 * success ids->v[0..ids->n) hold the ids and 0 is returned; on failure (a BPE without
 * unk_token meeting an unknown piece cannot fail: the piece is dropped as `tokenizers`
 * drops it; WordPiece/Unigram without unk can) a negative err and d says why. */
int tok_encode(const struct tok *t, const char *text, size_t n, bool add_special_tokens,
               struct tok_ids *ids, struct diag *d);
/* Only the number of tokens (same rules as tok_encode). Returns the count or a negative
 * err. */
long tok_count(const struct tok *t, const char *text, size_t n, bool add_special_tokens,
               struct tok_ids *scratch, struct diag *d);

/* Decodes ids to text, appended to out (which is not reset first), as
 * Tokenizer.decode(ids, skip_special_tokens) does: unknown ids are skipped. 0 or
 * ERR_TOO_LARGE from out. Thread-safe on a const tok. */
int tok_decode(const struct tok *t, const uint32_t *ids, size_t n, bool skip_special_tokens,
               struct buf *out);

/* The token text of an id (model vocabulary or added token), or NULL. *len gets its length.
 * The pointer lives as long as t. */
const char *tok_id_to_token(const struct tok *t, uint32_t id, size_t *len);
/* The id of an exact token text, or -1. */
long tok_token_to_id(const struct tok *t, const char *s, size_t n);
/* One past the largest id (model and added tokens), as get_vocab_size(with_added=True). */
size_t tok_vocab_size(const struct tok *t);
/* The id is an added token marked special (skipped by skip_special_tokens). */
bool tok_is_special(const struct tok *t, uint32_t id);
/* sha256 of the file's bytes as 64 lowercase hex digits (NUL-terminated). */
const char *tok_sha256(const struct tok *t);
/* A short description for logs, e.g. "BPE vocab=50257 merges=50000". */
const char *tok_describe(const struct tok *t);
/* Bytes of heap the loaded tokenizer holds (for the memory benchmark). */
size_t tok_memory(const struct tok *t);

#endif
