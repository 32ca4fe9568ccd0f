#include "mock_req.h"

#include "hash.h"
#include "xalloc.h"

#include <cJSON.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

long mock_count_words(const char *s, size_t n)
{
    long words = 0;
    bool in_word = false;
    for (size_t i = 0; i < n; i++) {
        bool sp = is_space(s[i]);
        if (!sp && !in_word)
            words++;
        in_word = !sp;
    }
    return words;
}

static long words_of(const cJSON *s)
{
    return mock_count_words(s->valuestring, strlen(s->valuestring));
}

/* A string, an array of strings, an array of integers (pre-tokenized, one token each), or
 * an array of such arrays: the shapes OpenAI accepts for `prompt` and `input`. */
static int count_text_input(const cJSON *v, const char *field, long *tokens, long *items,
                            struct diag *d)
{
    if (cJSON_IsString(v)) {
        *tokens += words_of(v);
        *items += 1;
        return 0;
    }
    if (!cJSON_IsArray(v))
        return diag_set(d, ERR_INVALID, "'%s' must be a string or an array", field);
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        if (cJSON_IsString(e)) {
            *tokens += words_of(e);
            *items += 1;
        } else if (cJSON_IsNumber(e)) {
            *tokens += 1;
            if (*items == 0)
                *items = 1; /* a flat token array is one input */
        } else if (cJSON_IsArray(e)) {
            *tokens += cJSON_GetArraySize(e);
            *items += 1;
        } else {
            return diag_set(d, ERR_INVALID, "'%s' holds an element that is not text or tokens",
                            field);
        }
    }
    return 0;
}

/* Message content: a string, or an array of parts whose "text" fields are counted
 * (chat "text" parts, Responses "input_text" parts). Other parts (images, audio) add
 * nothing. */
static int count_content(const cJSON *c, long *tokens, struct diag *d)
{
    if (!c || cJSON_IsNull(c))
        return 0;
    if (cJSON_IsString(c)) {
        *tokens += words_of(c);
        return 0;
    }
    if (!cJSON_IsArray(c))
        return diag_set(d, ERR_INVALID, "message 'content' must be a string or an array");
    const cJSON *part;
    cJSON_ArrayForEach(part, c)
    {
        if (!cJSON_IsObject(part))
            return diag_set(d, ERR_INVALID, "a content part must be an object");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(t))
            *tokens += words_of(t);
    }
    return 0;
}

static int count_messages(const cJSON *msgs, const char *field, long *tokens, struct diag *d)
{
    if (!cJSON_IsArray(msgs))
        return diag_set(d, ERR_INVALID, "'%s' must be an array", field);
    if (cJSON_GetArraySize(msgs) == 0)
        return diag_set(d, ERR_INVALID, "'%s' must not be empty", field);
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        if (!cJSON_IsObject(m))
            return diag_set(d, ERR_INVALID, "each of '%s' must be an object", field);
        int rc = count_content(cJSON_GetObjectItemCaseSensitive(m, "content"), tokens, d);
        if (rc)
            return rc;
    }
    return 0;
}

static int get_bool(const cJSON *root, const char *key, bool *out, struct diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return diag_set(d, ERR_INVALID, "'%s' must be true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

/* An integer in [min, max]; absent or null leaves *out alone. */
static int get_long(const cJSON *root, const char *key, long min, long max, long *out,
                    struct diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(x >= (double)min && x <= (double)max) || x != floor(x))
        return diag_set(d, ERR_INVALID, "'%s' must be an integer in [%ld, %ld]", key, min, max);
    *out = (long)x;
    return 0;
}

/* Largest output a request may ask for: keeps a typo from holding a connection for hours. */
#define MOCK_MAX_OUTPUT 1000000L

static int parse_generation(enum mock_endpoint ep, const cJSON *root, struct mock_params *p,
                            struct diag *d)
{
    int rc = get_bool(root, "stream", &p->stream, d);
    if (!rc)
        rc = get_bool(root, "ignore_eos", &p->ignore_eos, d);
    if (!rc)
        rc = get_long(root, "min_tokens", 0, MOCK_MAX_OUTPUT, &p->min_tokens, d);
    if (rc)
        return rc;
    const char *keys[] = {"max_tokens", "max_completion_tokens", "max_output_tokens"};
    for (size_t i = 0; i < 3; i++) {
        if (ep != MOCK_EP_RESPONSES && i == 2)
            break;
        if (ep == MOCK_EP_RESPONSES && i != 2)
            continue;
        rc = get_long(root, keys[i], 1, MOCK_MAX_OUTPUT, &p->max_tokens, d);
        if (rc)
            return rc;
    }
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so))
            return diag_set(d, ERR_INVALID, "'stream_options' must be an object");
        /* vLLM refuses a non-empty stream_options without "stream": true (its
         * validate_stream_options): a client that forgets to drop it when it turns
         * streaming off must fail here as it would there, not pass against the mock. */
        if (so->child && !p->stream && ep != MOCK_EP_RESPONSES)
            return diag_set(d, ERR_INVALID,
                            "Stream options can only be defined when `stream=True`.");
        rc = get_bool(so, "include_usage", &p->include_usage, d);
        if (!rc)
            rc = get_bool(so, "continuous_usage_stats", &p->continuous_usage, d);
    }
    return rc;
}

static int parse_prompt(enum mock_endpoint ep, const cJSON *root, struct mock_params *p,
                        struct diag *d)
{
    const cJSON *v;
    switch (ep) {
    case MOCK_EP_CHAT:
        return count_messages(cJSON_GetObjectItemCaseSensitive(root, "messages"), "messages",
                              &p->prompt_tokens, d);
    case MOCK_EP_COMPLETIONS:
        v = cJSON_GetObjectItemCaseSensitive(root, "prompt");
        if (!v)
            return diag_set(d, ERR_INVALID, "'prompt' is required");
        return count_text_input(v, "prompt", &p->prompt_tokens, &p->n_inputs, d);
    case MOCK_EP_EMBEDDINGS:
        v = cJSON_GetObjectItemCaseSensitive(root, "input");
        if (!v)
            return diag_set(d, ERR_INVALID, "'input' is required");
        return count_text_input(v, "input", &p->prompt_tokens, &p->n_inputs, d);
    case MOCK_EP_RESPONSES:
        v = cJSON_GetObjectItemCaseSensitive(root, "input");
        if (!v)
            return diag_set(d, ERR_INVALID, "'input' is required");
        if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0 &&
            cJSON_IsObject(cJSON_GetArrayItem(v, 0)))
            return count_messages(v, "input", &p->prompt_tokens, d);
        return count_text_input(v, "input", &p->prompt_tokens, &p->n_inputs, d);
    case MOCK_EP_RANKING_NIM: {
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "query");
        const cJSON *qt = cJSON_IsObject(q) ? cJSON_GetObjectItemCaseSensitive(q, "text") : NULL;
        if (!cJSON_IsString(qt))
            return diag_set(d, ERR_INVALID, "'query.text' must be a string");
        p->prompt_tokens += words_of(qt);
        v = cJSON_GetObjectItemCaseSensitive(root, "passages");
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
            return diag_set(d, ERR_INVALID, "'passages' must be a non-empty array");
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            const cJSON *t = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "text") : NULL;
            if (!cJSON_IsString(t))
                return diag_set(d, ERR_INVALID, "each passage needs a string 'text'");
            p->prompt_tokens += words_of(t);
            p->n_inputs++;
        }
        return 0;
    }
    case MOCK_EP_RERANK_TEI:
    case MOCK_EP_RERANK_COHERE: {
        const char *list = ep == MOCK_EP_RERANK_TEI ? "texts" : "documents";
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "query");
        if (!cJSON_IsString(q))
            return diag_set(d, ERR_INVALID, "'query' must be a string");
        p->prompt_tokens += words_of(q);
        v = cJSON_GetObjectItemCaseSensitive(root, list);
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
            return diag_set(d, ERR_INVALID, "'%s' must be a non-empty array", list);
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            /* Cohere also accepts {"text": ...} documents. */
            const cJSON *t = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "text") : e;
            if (!cJSON_IsString(t))
                return diag_set(d, ERR_INVALID, "each of '%s' must be a string", list);
            p->prompt_tokens += words_of(t);
            p->n_inputs++;
        }
        return 0;
    }
    }
    return diag_set(d, ERR_INVALID, "unknown endpoint");
}

int mock_req_parse(enum mock_endpoint ep, const char *body, size_t len, struct mock_params *p,
                   struct diag *d)
{
    memset(p, 0, sizeof *p);
    p->max_tokens = -1;
    p->dimensions = -1;
    p->hash = hash64(body, len);
    if (len == 0)
        return diag_set(d, ERR_PARSE, "request body is empty; a JSON object is required");
    /* cJSON compares literals with strncmp, and the C library's strncmp may look one byte
     * past an equal bound (Zig 0.17's does): give it a terminated copy. */
    char *text = xmalloc(len + 1);
    memcpy(text, body, len);
    text[len] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t near = end && end >= text ? (size_t)(end - text) : 0;
        free(text);
        return diag_set(d, ERR_PARSE, "request body is not valid JSON (near byte %zu)", near);
    }
    size_t at = (size_t)(end - text);
    free(text);
    while (at < len && is_space(body[at]))
        at++;
    int rc = 0;
    if (at < len)
        rc = diag_set(d, ERR_PARSE, "request body has extra bytes after the JSON value");
    else if (!cJSON_IsObject(root))
        rc = diag_set(d, ERR_INVALID, "request body must be a JSON object");
    if (!rc) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
        if (cJSON_IsString(m)) {
            size_t n = strlen(m->valuestring);
            if (n >= sizeof p->model)
                n = sizeof p->model - 1;
            memcpy(p->model, m->valuestring, n);
            p->model[n] = '\0';
        } else if (m && !cJSON_IsNull(m)) {
            rc = diag_set(d, ERR_INVALID, "'model' must be a string");
        }
    }
    if (!rc)
        rc = parse_prompt(ep, root, p, d);
    if (!rc && (ep == MOCK_EP_CHAT || ep == MOCK_EP_COMPLETIONS || ep == MOCK_EP_RESPONSES))
        rc = parse_generation(ep, root, p, d);
    if (!rc && ep == MOCK_EP_EMBEDDINGS)
        rc = get_long(root, "dimensions", 1, 65536, &p->dimensions, d);
    cJSON_Delete(root);
    return rc;
}
