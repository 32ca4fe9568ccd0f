/* --tokenizer: the model tokenizer behind struct tokenizer, on the tokenizer.json engine
 * (include/tok.h), found by tok_lookup. */
#include "tok.h"
#include "tok_lookup.h"
#include "tokenizer.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tok_model {
    struct tok *tok;
    struct tok_ids ids; /* the engine's scratch: one thread at a time */
    char name[600];
};

static long model_encode(void *m, const char *text, size_t n, uint32_t **ids, size_t *len,
                         size_t *cap)
{
    struct tok_model *tm = m;
    struct diag d;
    /* AIPerf encodes prompts and responses with add_special_tokens=False */
    if (tok_encode(tm->tok, text, n, false, &tm->ids, &d))
        return ERR_INVALID;
    if (*len + tm->ids.n > *cap) {
        *cap = (*len + tm->ids.n) * 2 + 16;
        *ids = xrealloc(*ids, *cap * sizeof **ids);
    }
    if (tm->ids.n)
        memcpy(*ids + *len, tm->ids.v, tm->ids.n * sizeof **ids);
    *len += tm->ids.n;
    return (long)tm->ids.n;
}

static int model_decode(void *m, const uint32_t *ids, size_t n, struct buf *out)
{
    struct tok_model *tm = m;
    /* AIPerf decodes with skip_special_tokens=False */
    return tok_decode(tm->tok, ids, n, false, out);
}

int tokenizer_refuse_remote_code(struct diag *d)
{
    return diag_set(d, ERR_INVALID,
                    "--tokenizer-trust-remote-code: refused: metronome runs no remote code (it "
                    "reads tokenizer.json only, which needs none)");
}

int tokenizer_open(struct tokenizer *t, const char *spec, const char *revision, struct diag *d)
{
    memset(t, 0, sizeof *t);
    struct tok_env env;
    tok_env_from_process(&env);
    struct tok_found *f = xmalloc(sizeof *f);
    int rc = tok_lookup(spec, revision, &env, f, d);
    if (rc) {
        free(f);
        return rc;
    }
    if (f->kind == TOK_BUILTIN) {
        *t = *tokenizer_approx();
        free(f);
        return 0;
    }
    struct tok_model *tm = xcalloc(1, sizeof *tm);
    char label[TOK_PATH_MAX + 16];
    snprintf(label, sizeof label, "%s", f->path);
    rc = tok_load(f->path, label, &tm->tok, d);
    if (rc) {
        free(tm);
        free(f);
        return rc == ERR_INVALID ? ERR_PARSE : rc; /* a bad file is bad input, not usage */
    }
    /* the name a trace records: what was asked for (a hub name, or the file's path) */
    snprintf(tm->name, sizeof tm->name, "%s", f->name);
    t->name = tm->name;
    t->approximate = false;
    t->model = tm;
    t->encode = model_encode;
    t->decode = model_decode;
    snprintf(t->sha256, sizeof t->sha256, "%s", tok_sha256(tm->tok));
    snprintf(t->source, sizeof t->source, "%s", f->kind == TOK_HUB ? "hf-cache" : "file");
    snprintf(t->revision, sizeof t->revision, "%s", f->revision);
    snprintf(t->commit, sizeof t->commit, "%s", f->commit);
    free(f);
    return 0;
}

void tokenizer_close(struct tokenizer *t)
{
    struct tok_model *tm = t->model;
    if (tm) {
        tok_ids_free(&tm->ids);
        tok_free(tm->tok);
        free(tm);
    }
    memset(t, 0, sizeof *t);
}
