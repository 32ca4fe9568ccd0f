#include "mock_gen.h"

#include "embedded.h"
#include "jsonw.h"
#include "rng.h"
#include "sse.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- corpus words ---------------------------------------------------------------- */

static bool word_byte_ok(unsigned char c)
{
    /* Printable ASCII other than the two JSON escapes: copied verbatim into strings. */
    return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
}

void mock_text_from(struct mock_text *t, char *text, size_t len)
{
    memset(t, 0, sizeof *t);
    t->text = text;
    size_t cap = 1024;
    t->off = xmalloc(cap * sizeof *t->off);
    t->wlen = xmalloc(cap);
    size_t i = 0;
    while (i < len && len <= UINT32_MAX) {
        while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t'))
            i++;
        size_t s = i;
        bool ok = true;
        while (i < len &&
               !(text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) {
            ok = ok && word_byte_ok((unsigned char)text[i]);
            i++;
        }
        if (i == s || !ok || i - s > 255)
            continue;
        if (t->nwords == cap) {
            cap *= 2;
            t->off = xrealloc(t->off, cap * sizeof *t->off);
            t->wlen = xrealloc(t->wlen, cap);
        }
        t->off[t->nwords] = (uint32_t)s;
        t->wlen[t->nwords] = (uint8_t)(i - s);
        t->nwords++;
    }
    if (t->nwords == 0) { /* a corpus with no usable word still yields text */
        t->off[0] = 0;
        t->wlen[0] = 0;
        t->nwords = 1;
    }
}

int mock_text_load(struct mock_text *t, struct diag *d)
{
    char *p = NULL;
    size_t n = 0;
    int rc = embedded_load("corpus", &p, &n, d);
    if (rc)
        return rc;
    mock_text_from(t, p, n);
    return 0;
}

void mock_text_free(struct mock_text *t)
{
    free(t->text);
    free(t->off);
    free(t->wlen);
    memset(t, 0, sizeof *t);
}

void mock_text_token(const struct mock_text *t, uint64_t start, long k, struct buf *out)
{
    size_t w = (size_t)((start + (uint64_t)k) % t->nwords);
    if (k > 0)
        buf_putc(out, ' ');
    buf_append(out, t->text + t->off[w], t->wlen[w]);
}

/* ---- shared pieces ---------------------------------------------------------------- */

static void put_model(struct buf *b, const char *model)
{
    json_escape(b, model, strlen(model));
}

static void put_usage(struct buf *b, const struct mock_gen *g)
{
    long c = g->n_reason + g->n_content;
    if (g->ep == MOCK_EP_RESPONSES) {
        buf_printf(b, "{\"input_tokens\":%ld,\"output_tokens\":%ld,\"total_tokens\":%ld}",
                   g->prompt_tokens, c, g->prompt_tokens + c);
        return;
    }
    buf_printf(b, "{\"prompt_tokens\":%ld,\"total_tokens\":%ld,\"completion_tokens\":%ld",
               g->prompt_tokens, g->prompt_tokens + c, c);
    if (g->n_reason > 0)
        buf_printf(b, ",\"completion_tokens_details\":{\"reasoning_tokens\":%ld}", g->n_reason);
    buf_putc(b, '}');
}

static const char *finish(const struct mock_gen *g)
{
    return g->length_finish ? "length" : "stop";
}

/* Tokens [from, to) of one stream (reasoning: words from start; content: after them). */
static void put_tokens(const struct mock_gen *g, struct buf *b, bool reasoning, long from, long to)
{
    uint64_t base = g->start + (reasoning ? 0 : (uint64_t)g->n_reason);
    for (long k = from; k < to; k++)
        mock_text_token(g->text, base, k, b);
}

void mock_gen_init(struct mock_gen *g, enum mock_endpoint ep, const struct mock_text *text,
                   uint64_t start, long n_reason, long n_content, long per_chunk)
{
    memset(g, 0, sizeof *g);
    g->ep = ep;
    g->text = text;
    g->start = start;
    g->n_reason = ep == MOCK_EP_CHAT ? n_reason : 0;
    g->n_content = n_content < 1 ? 1 : n_content;
    g->per_chunk = per_chunk < 1 ? 1 : per_chunk;
    g->style.invalid_json_at = -1;
    const char *prefix = ep == MOCK_EP_CHAT        ? "chatcmpl-"
                         : ep == MOCK_EP_RESPONSES ? "resp_"
                                                   : "cmpl-";
    snprintf(g->id, sizeof g->id, "%s%016llx", prefix, (unsigned long long)start);
    snprintf(g->model, sizeof g->model, "%s", "mock");
    buf_init(&g->scratch, 0);
    buf_init(&g->head, 0);
}

void mock_gen_free(struct mock_gen *g)
{
    buf_free(&g->scratch);
    buf_free(&g->head);
}

static long div_up(long a, long b)
{
    return (a + b - 1) / b;
}

long mock_gen_emissions(const struct mock_gen *g)
{
    return div_up(g->n_reason, g->per_chunk) + div_up(g->n_content, g->per_chunk);
}

long mock_gen_emission_tokens(const struct mock_gen *g, long i)
{
    long nr = div_up(g->n_reason, g->per_chunk);
    if (i < nr)
        return i == nr - 1 ? g->n_reason - i * g->per_chunk : g->per_chunk;
    i -= nr;
    long nc = div_up(g->n_content, g->per_chunk);
    return i == nc - 1 ? g->n_content - i * g->per_chunk : g->per_chunk;
}

/* ---- SSE writing, normal or deliberately odd ---------------------------------------- */

static void emit(struct mock_gen *g, struct buf *out, const char *type, const char *data,
                 size_t len)
{
    const struct mock_sse_style *s = &g->style;
    if (!s->crlf && !s->cr && !s->comments && !s->fields && !s->multiline) {
        sse_write_event(out, type, data, len);
        return;
    }
    const char *eol = s->crlf ? "\r\n" : s->cr ? "\r" : "\n";
    if (s->comments) {
        buf_puts(out, ": keep-alive");
        buf_puts(out, eol);
    }
    if (type) {
        buf_puts(out, "event: ");
        buf_puts(out, type);
        buf_puts(out, eol);
    }
    if (s->fields) {
        buf_printf(out, "id: %ld%sretry: 3000%s", g->emission, eol, eol);
    }
    size_t at = 0;
    while (at < len) {
        size_t end = len;
        if (s->multiline) {
            const char *c = memchr(data + at, ',', len - at);
            if (c)
                end = (size_t)(c - data) + 1;
        }
        buf_puts(out, "data: ");
        buf_append(out, data + at, end - at);
        buf_puts(out, eol);
        at = end;
    }
    buf_puts(out, eol);
}

/* ---- chat and completions chunks ---------------------------------------------------- */

static void chunk_head(struct mock_gen *g, struct buf *b)
{
    /* Every chunk of a response starts alike: format it once. */
    if (g->head.len == 0) {
        buf_printf(&g->head, "{\"id\":\"%s\",\"object\":\"%s\",\"created\":%lld,\"model\":", g->id,
                   g->ep == MOCK_EP_CHAT ? "chat.completion.chunk" : "text_completion",
                   (long long)g->created);
        put_model(&g->head, g->model);
        buf_puts(&g->head, ",\"choices\":[");
    }
    buf_append(b, g->head.p, g->head.len);
}

static void emit_chunk(struct mock_gen *g, struct buf *out, bool reasoning, long from, long to,
                       bool last)
{
    struct buf *b = &g->scratch;
    buf_reset(b);
    chunk_head(g, b);
    if (g->style.invalid_json_at == g->emission && !reasoning) {
        /* Cut off mid-object: a client must reject this event, not the stream's framing. */
        buf_puts(b, "{\"index\":0,\"delta\":{\"content\":");
        emit(g, out, NULL, b->p, b->len);
        return;
    }
    if (g->ep == MOCK_EP_CHAT)
        buf_puts(b, reasoning ? "{\"index\":0,\"delta\":{\"reasoning_content\":\""
                              : "{\"index\":0,\"delta\":{\"content\":\"");
    else
        buf_puts(b, "{\"index\":0,\"text\":\"");
    if (g->style.big_event_bytes > 0 && !reasoning && from == 0) {
        static const char fill[] = "metronome ";
        for (long i = 0; i < g->style.big_event_bytes; i++)
            buf_putc(b, fill[i % 10]);
    } else {
        put_tokens(g, b, reasoning, from, to);
    }
    buf_puts(b, g->ep == MOCK_EP_CHAT ? "\"},\"logprobs\":null,\"finish_reason\":"
                                      : "\",\"logprobs\":null,\"finish_reason\":");
    if (last)
        buf_printf(b, "\"%s\"}]", finish(g));
    else
        buf_puts(b, "null}]");
    if (g->continuous_usage) { /* vLLM's continuous_usage_stats: the counts so far */
        long c = g->emitted_reason + g->emitted_content + (to - from);
        buf_printf(
            b, ",\"usage\":{\"prompt_tokens\":%ld,\"total_tokens\":%ld,\"completion_tokens\":%ld}",
            g->prompt_tokens, g->prompt_tokens + c, c);
    }
    buf_putc(b, '}');
    emit(g, out, NULL, b->p, b->len);
}

static void emit_role(struct mock_gen *g, struct buf *out)
{
    struct buf *b = &g->scratch;
    buf_reset(b);
    chunk_head(g, b);
    buf_puts(b, "{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                "\"logprobs\":null,\"finish_reason\":null}]}");
    emit(g, out, NULL, b->p, b->len);
}

static void emit_usage(struct mock_gen *g, struct buf *out)
{
    struct buf *b = &g->scratch;
    buf_reset(b);
    chunk_head(g, b);
    buf_puts(b, "],\"usage\":");
    put_usage(b, g);
    buf_putc(b, '}');
    emit(g, out, NULL, b->p, b->len);
}

/* ---- Responses API -------------------------------------------------------------------- */

static void put_message_item(const struct mock_gen *g, struct buf *b, bool done)
{
    buf_printf(b,
               "{\"id\":\"msg_%016llx\",\"type\":\"message\",\"status\":\"%s\",\"role\":"
               "\"assistant\",\"content\":[",
               (unsigned long long)g->start, done ? "completed" : "in_progress");
    if (done) {
        buf_puts(b, "{\"type\":\"output_text\",\"text\":\"");
        put_tokens(g, b, false, 0, g->n_content);
        buf_puts(b, "\",\"annotations\":[]}");
    }
    buf_puts(b, "]}");
}

static void put_response(const struct mock_gen *g, struct buf *b, bool done)
{
    buf_printf(b,
               "{\"id\":\"%s\",\"object\":\"response\",\"created_at\":%lld,\"status\":\"%s\","
               "\"model\":",
               g->id, (long long)g->created, done ? "completed" : "in_progress");
    put_model(b, g->model);
    buf_puts(b, ",\"output\":[");
    if (done)
        put_message_item(g, b, true);
    buf_puts(b, "],\"usage\":");
    if (done)
        put_usage(b, g);
    else
        buf_puts(b, "null");
    buf_putc(b, '}');
}

static void resp_event_begin(struct mock_gen *g, struct buf *b, const char *type)
{
    buf_reset(b);
    buf_printf(b, "{\"type\":\"%s\",\"sequence_number\":%ld", type, g->seq++);
}

static void resp_part_ids(const struct mock_gen *g, struct buf *b)
{
    buf_printf(b, ",\"item_id\":\"msg_%016llx\",\"output_index\":0,\"content_index\":0",
               (unsigned long long)g->start);
}

static void emit_responses_preamble(struct mock_gen *g, struct buf *out)
{
    struct buf *b = &g->scratch;
    static const char *const kinds[] = {"response.created", "response.in_progress"};
    for (int i = 0; i < 2; i++) {
        resp_event_begin(g, b, kinds[i]);
        buf_puts(b, ",\"response\":");
        put_response(g, b, false);
        buf_putc(b, '}');
        emit(g, out, kinds[i], b->p, b->len);
    }
    resp_event_begin(g, b, "response.output_item.added");
    buf_puts(b, ",\"output_index\":0,\"item\":");
    put_message_item(g, b, false);
    buf_putc(b, '}');
    emit(g, out, "response.output_item.added", b->p, b->len);
    resp_event_begin(g, b, "response.content_part.added");
    resp_part_ids(g, b);
    buf_puts(b, ",\"part\":{\"type\":\"output_text\",\"text\":\"\",\"annotations\":[]}}");
    emit(g, out, "response.content_part.added", b->p, b->len);
}

static void emit_responses_delta(struct mock_gen *g, struct buf *out, long from, long to)
{
    struct buf *b = &g->scratch;
    resp_event_begin(g, b, "response.output_text.delta");
    resp_part_ids(g, b);
    if (g->style.invalid_json_at == g->emission) {
        buf_puts(b, ",\"delta\":");
        emit(g, out, "response.output_text.delta", b->p, b->len);
        return;
    }
    buf_puts(b, ",\"delta\":\"");
    if (g->style.big_event_bytes > 0 && from == 0) {
        for (long i = 0; i < g->style.big_event_bytes; i++)
            buf_putc(b, "metronome "[i % 10]);
    } else {
        put_tokens(g, b, false, from, to);
    }
    buf_puts(b, "\",\"logprobs\":[]}");
    emit(g, out, "response.output_text.delta", b->p, b->len);
}

static void emit_responses_done(struct mock_gen *g, struct buf *out)
{
    struct buf *b = &g->scratch;
    resp_event_begin(g, b, "response.output_text.done");
    resp_part_ids(g, b);
    buf_puts(b, ",\"text\":\"");
    put_tokens(g, b, false, 0, g->n_content);
    buf_puts(b, "\",\"logprobs\":[]}");
    emit(g, out, "response.output_text.done", b->p, b->len);
    resp_event_begin(g, b, "response.content_part.done");
    resp_part_ids(g, b);
    buf_puts(b, ",\"part\":{\"type\":\"output_text\",\"text\":\"");
    put_tokens(g, b, false, 0, g->n_content);
    buf_puts(b, "\",\"annotations\":[]}}");
    emit(g, out, "response.content_part.done", b->p, b->len);
    resp_event_begin(g, b, "response.output_item.done");
    buf_puts(b, ",\"output_index\":0,\"item\":");
    put_message_item(g, b, true);
    buf_putc(b, '}');
    emit(g, out, "response.output_item.done", b->p, b->len);
    resp_event_begin(g, b, "response.completed");
    buf_puts(b, ",\"response\":");
    put_response(g, b, true);
    buf_putc(b, '}');
    emit(g, out, "response.completed", b->p, b->len);
}

/* ---- emissions ----------------------------------------------------------------------- */

bool mock_gen_emission(struct mock_gen *g, struct buf *out, long *tokens, int *err)
{
    long total = mock_gen_emissions(g);
    if (g->emission >= total)
        return false;
    size_t before = out->len;
    bool first = g->emission == 0;
    bool last = g->emission == total - 1;
    bool reasoning = g->emitted_reason < g->n_reason;
    long n = mock_gen_emission_tokens(g, g->emission);
    if (g->ep == MOCK_EP_RESPONSES) {
        if (first)
            emit_responses_preamble(g, out);
        emit_responses_delta(g, out, g->emitted_content, g->emitted_content + n);
    } else {
        if (first && g->ep == MOCK_EP_CHAT)
            emit_role(g, out);
        long from = reasoning ? g->emitted_reason : g->emitted_content;
        emit_chunk(g, out, reasoning, from, from + n, last);
    }
    if (reasoning)
        g->emitted_reason += n;
    else
        g->emitted_content += n;
    if (last) {
        if (g->ep == MOCK_EP_RESPONSES) {
            emit_responses_done(g, out);
        } else {
            if (g->include_usage)
                emit_usage(g, out);
            emit(g, out, NULL, "[DONE]", 6);
        }
    }
    g->emission++;
    *tokens = n;
    /* A buf past its cap keeps its old length: any append that failed shows here. */
    if (out->len == before || g->scratch.len == 0)
        *err = ERR_TOO_LARGE;
    return true;
}

int mock_gen_body(struct mock_gen *g, struct buf *out)
{
    size_t before = out->len;
    if (g->ep == MOCK_EP_RESPONSES) {
        put_response(g, out, true);
    } else if (g->ep == MOCK_EP_CHAT) {
        buf_printf(out, "{\"id\":\"%s\",\"object\":\"chat.completion\",\"created\":%lld,\"model\":",
                   g->id, (long long)g->created);
        put_model(out, g->model);
        buf_puts(out,
                 ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"");
        put_tokens(g, out, false, 0, g->n_content);
        buf_putc(out, '"');
        if (g->n_reason > 0) {
            buf_puts(out, ",\"reasoning_content\":\"");
            put_tokens(g, out, true, 0, g->n_reason);
            buf_putc(out, '"');
        }
        buf_printf(out, "},\"logprobs\":null,\"finish_reason\":\"%s\"}],\"usage\":", finish(g));
        put_usage(out, g);
        buf_putc(out, '}');
    } else {
        buf_printf(out, "{\"id\":\"%s\",\"object\":\"text_completion\",\"created\":%lld,\"model\":",
                   g->id, (long long)g->created);
        put_model(out, g->model);
        buf_puts(out, ",\"choices\":[{\"index\":0,\"text\":\"");
        put_tokens(g, out, false, 0, g->n_content);
        buf_printf(out, "\",\"logprobs\":null,\"finish_reason\":\"%s\"}],\"usage\":", finish(g));
        put_usage(out, g);
        buf_putc(out, '}');
    }
    return out->len > before ? 0 : ERR_TOO_LARGE;
}

/* ---- other endpoints ----------------------------------------------------------------- */

int mock_build_embeddings(struct buf *out, const char *model, long n, long dim, uint64_t seed,
                          long prompt_tokens)
{
    struct rng r;
    rng_seed(&r, seed);
    struct jsonw w;
    jsonw_init(&w, out);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "object");
    jsonw_str(&w, "list");
    jsonw_key(&w, "data");
    jsonw_arr_begin(&w);
    for (long i = 0; i < n; i++) {
        jsonw_obj_begin(&w);
        jsonw_key(&w, "object");
        jsonw_str(&w, "embedding");
        jsonw_key(&w, "index");
        jsonw_int(&w, i);
        jsonw_key(&w, "embedding");
        jsonw_arr_begin(&w);
        for (long k = 0; k < dim; k++)
            jsonw_fixed(&w, rng_uniform(&r) * 2.0 - 1.0, 6);
        jsonw_arr_end(&w);
        jsonw_obj_end(&w);
    }
    jsonw_arr_end(&w);
    jsonw_key(&w, "model");
    jsonw_str(&w, model);
    jsonw_key(&w, "usage");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "prompt_tokens");
    jsonw_int(&w, prompt_tokens);
    jsonw_key(&w, "total_tokens");
    jsonw_int(&w, prompt_tokens);
    jsonw_obj_end(&w);
    jsonw_obj_end(&w);
    return w.err;
}

struct scored {
    long index;
    double score;
};

static int by_score_desc(const void *a, const void *b)
{
    const struct scored *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int mock_build_rankings(struct buf *out, enum mock_endpoint ep, const char *model, long n,
                        uint64_t seed, long prompt_tokens)
{
    struct rng r;
    rng_seed(&r, seed);
    struct scored *s = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *s);
    for (long i = 0; i < n; i++) {
        s[i].index = i;
        double u = rng_uniform(&r);
        /* NIM reports raw logits; TEI and Cohere report probabilities. */
        s[i].score = ep == MOCK_EP_RANKING_NIM ? u * 20.0 - 10.0 : u;
    }
    qsort(s, (size_t)n, sizeof *s, by_score_desc);
    struct jsonw w;
    jsonw_init(&w, out);
    if (ep == MOCK_EP_RERANK_TEI) {
        jsonw_arr_begin(&w);
    } else {
        jsonw_obj_begin(&w);
        if (ep == MOCK_EP_RERANK_COHERE) {
            char id[32];
            snprintf(id, sizeof id, "rerank-%016llx", (unsigned long long)seed);
            jsonw_key(&w, "id");
            jsonw_str(&w, id);
            jsonw_key(&w, "model");
            jsonw_str(&w, model);
            jsonw_key(&w, "usage");
            jsonw_obj_begin(&w);
            jsonw_key(&w, "total_tokens");
            jsonw_int(&w, prompt_tokens);
            jsonw_obj_end(&w);
        }
        jsonw_key(&w, ep == MOCK_EP_RANKING_NIM ? "rankings" : "results");
        jsonw_arr_begin(&w);
    }
    const char *key = ep == MOCK_EP_RANKING_NIM  ? "logit"
                      : ep == MOCK_EP_RERANK_TEI ? "score"
                                                 : "relevance_score";
    for (long i = 0; i < n; i++) {
        jsonw_obj_begin(&w);
        jsonw_key(&w, "index");
        jsonw_int(&w, s[i].index);
        jsonw_key(&w, key);
        jsonw_fixed(&w, s[i].score, 6);
        jsonw_obj_end(&w);
    }
    jsonw_arr_end(&w);
    if (ep != MOCK_EP_RERANK_TEI)
        jsonw_obj_end(&w);
    free(s);
    return w.err;
}

int mock_build_models(struct buf *out, const char *model, int64_t created)
{
    struct jsonw w;
    jsonw_init(&w, out);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "object");
    jsonw_str(&w, "list");
    jsonw_key(&w, "data");
    jsonw_arr_begin(&w);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "id");
    jsonw_str(&w, model);
    jsonw_key(&w, "object");
    jsonw_str(&w, "model");
    jsonw_key(&w, "created");
    jsonw_int(&w, created);
    jsonw_key(&w, "owned_by");
    jsonw_str(&w, "metronome");
    jsonw_key(&w, "root");
    jsonw_str(&w, model);
    jsonw_key(&w, "max_model_len");
    jsonw_int(&w, 131072);
    jsonw_obj_end(&w);
    jsonw_arr_end(&w);
    jsonw_obj_end(&w);
    return w.err;
}

int mock_build_error(struct buf *out, int status, const char *message)
{
    const char *type = "invalid_request_error", *code = NULL;
    switch (status) {
    case 404:
        code = "not_found";
        break;
    case 405:
        code = "method_not_allowed";
        break;
    case 413:
        code = "request_too_large";
        break;
    case 429:
        type = "rate_limit_error";
        code = "rate_limit_exceeded";
        break;
    case 503:
        type = "server_error";
        code = "service_unavailable";
        break;
    default:
        if (status >= 500) {
            type = "server_error";
            code = "internal_error";
        }
    }
    struct jsonw w;
    jsonw_init(&w, out);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "error");
    jsonw_obj_begin(&w);
    jsonw_key(&w, "message");
    jsonw_str(&w, message);
    jsonw_key(&w, "type");
    jsonw_str(&w, type);
    jsonw_key(&w, "param");
    jsonw_null(&w);
    jsonw_key(&w, "code");
    if (code)
        jsonw_str(&w, code);
    else
        jsonw_null(&w);
    jsonw_obj_end(&w);
    jsonw_obj_end(&w);
    return w.err;
}
