/*
 * tok_lookup: where a `--tokenizer` value's tokenizer.json comes from, without any network
 * (docs/tokenizers.md, "Where the file comes from").
 *
 *   builtin                  the built-in approximation (include/tokenizer.h); no file
 *   PATH                     an existing tokenizer.json, or a directory holding one
 *   ORG/NAME or NAME         a Hugging Face repository, looked up in the local hub caches:
 *                            CACHE/models--ORG--NAME/snapshots/COMMIT/tokenizer.json, COMMIT
 *                            being the revision when it is a 40-hex commit, else the
 *                            commit named by CACHE/models--ORG--NAME/refs/REVISION (a
 *                            snapshots/REVISION directory is accepted too, as
 *                            huggingface_hub does)
 *
 * The caches looked in, in order, each once: $HF_HUB_CACHE, $HUGGINGFACE_HUB_CACHE,
 * $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, $HOME/.cache/huggingface/hub.
 * huggingface_hub uses the first of these that is set; we look in all of them so that a
 * file copied into the default place is found whatever the environment says, and the
 * error when nothing is found names every place looked (one line) and how to copy the
 * file in.
 *
 * Pure functions of their arguments and the file system; no allocation survives a call.
 */
#ifndef METRONOME_TOK_LOOKUP_H
#define METRONOME_TOK_LOOKUP_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

#define TOK_PATH_MAX 4096

/* The environment the lookup reads (NULL or "" = unset): tests pass their own. */
struct tok_env {
    const char *hf_hub_cache;          /* $HF_HUB_CACHE */
    const char *huggingface_hub_cache; /* $HUGGINGFACE_HUB_CACHE (older name) */
    const char *hf_home;               /* $HF_HOME */
    const char *xdg_cache_home;        /* $XDG_CACHE_HOME */
    const char *home;                  /* $HOME */
};

/* The process's environment. */
void tok_env_from_process(struct tok_env *env);

enum tok_kind {
    TOK_BUILTIN, /* "builtin": no file */
    TOK_FILE,    /* a path given on the command line */
    TOK_HUB,     /* found in a Hugging Face cache */
};

struct tok_found {
    enum tok_kind kind;
    char path[TOK_PATH_MAX]; /* the tokenizer.json to load (empty for builtin) */
    char name[512];          /* what to record: "builtin", the hub name, or the path given */
    char revision[256];      /* hub: the revision asked for ("main" by default) */
    char commit[64];         /* hub: the snapshot directory's name (a commit hash) */
};

/* Resolves spec (--tokenizer) and revision (--tokenizer-revision, NULL = "main").
 * Returns 0 with *out filled, or:
 *   ERR_INVALID (usage, exit 2): an empty spec, a revision with "..", a NUL-free but
 *     malformed name ("a/b/c"), a revision other than "main" with a local path;
 *   ERR_IO (exit 1): a path that names neither a file nor a directory holding
 *     tokenizer.json; a hub name found in no cache: d lists every place looked. */
int tok_lookup(const char *spec, const char *revision, const struct tok_env *env,
               struct tok_found *out, struct diag *d);

#endif
