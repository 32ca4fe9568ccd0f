#include "trace_write.h"

#include "buf.h"
#include "corpus.h"
#include "hash.h"
#include "i64map.h"
#include "jscan.h"
#include "jsonw.h"
#include "trace.h"
#include "xalloc.h"
#include "zio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define TW_FLUSH     (256 * 1024)
#define PUTL(b, lit) buf_append((b), (lit), sizeof(lit) - 1)

struct tw_block_def {
    int64_t id;
    long tokens;
    size_t part0, nparts; /* into w->bparts */
};

struct tw_ipart { /* a stored block part: a slice, or a literal in w->lits */
    bool lit;
    uint32_t off, len;
};

struct tw_range {
    uint32_t lo, hi;
};

struct trace_writer {
    struct tw_config cfg;
    const char *path_type;
    char *path;
    char *body_path;
    int body_slot; /* signal-cleanup slot of body_path */
    struct zwriter *body;
    struct buf line;    /* pending request lines */
    struct buf scratch; /* one text value being joined */
    struct buf header;  /* provenance members, raw ",\"k\":v" */
    char *extra;        /* owned copy of extra_json (NULL: none) */
    size_t extra_len;
    bool stream; /* final "stream" value after extras */
    bool extra_has_stream_options;
    bool x_model, x_stream, x_max; /* the extras replace these standard keys */
    struct buf extra_tail;         /* the extras as ",\"k\":v..." ready to append */

    struct i64map blocks;
    struct tw_block_def *defs;
    size_t ndefs, defs_cap;
    struct tw_ipart *bparts;
    size_t nbparts, bparts_cap;
    struct buf lits;

    struct tw_range *used;
    size_t nused, used_cap;

    long requests, sessions;
    double *keys; /* per request: its session's start time (orders timed traces) */
    size_t keys_cap;
    bool unsorted;
    bool timed;
    bool live;
    /* --cache-bust: each session's ordinal (keyed by the hash of its id), and the marker
     * of the request being written (bustn 0: none; on its system text when bust_system) */
    struct i64map bust_ord;
    char bust[32];
    size_t bustn;
    bool bust_system;
};

static const struct {
    const char *type, *path;
} endpoints[] = {
    {"chat", "/v1/chat/completions"},
    {"completions", "/v1/completions"},
    {"embeddings", "/v1/embeddings"},
    /* AIPerf 0.13's rankings types: texts[0] is the query, the others the passages */
    {"nim_rankings", "/v1/ranking"},
    {"cohere_rankings", "/v2/rerank"},
    {"hf_tei_rankings", "/rerank"},
    {"responses", "/v1/responses"},
};

const char *tw_endpoint_path(const char *type)
{
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++)
        if (!strcmp(endpoints[i].type, type))
            return endpoints[i].path;
    return NULL;
}

/* Whether the extra-inputs object defines key. */
static bool extra_has(const struct trace_writer *w, const char *key)
{
    if (!w->extra)
        return false;
    struct jiter it;
    struct jval k, v;
    if (jscan_object(&it, w->extra, w->extra_len))
        return false;
    while (jscan_member(&it, &k, &v) == 1)
        if (jval_is(&k, key))
            return true;
    return false;
}

int tw_open(struct trace_writer **out, const char *path, const struct tw_config *cfg,
            struct diag *d)
{
    const char *epath = tw_endpoint_path(cfg->endpoint_type);
    if (!epath)
        return diag_set(d, ERR_INVALID,
                        "endpoint type '%s' cannot be packed (use chat, "
                        "completions, embeddings or responses)",
                        cfg->endpoint_type);
    struct trace_writer *w = xcalloc(1, sizeof *w);
    w->cfg = *cfg;
    w->path_type = cfg->endpoint_path ? cfg->endpoint_path : epath;
    /* the rankings types do not stream (AIPerf turns streaming off for them) */
    w->stream = cfg->streaming && !strstr(cfg->endpoint_type, "_rankings");
    if (strstr(cfg->endpoint_type, "_rankings"))
        w->cfg.streaming = false;
    if (cfg->extra_json) {
        w->extra_len = strlen(cfg->extra_json);
        w->extra = xstrndup(cfg->extra_json, w->extra_len);
        struct jiter it;
        struct jval k, v;
        int rc = jscan_object(&it, w->extra, w->extra_len);
        while (rc == 0 && (rc = jscan_member(&it, &k, &v)) == 1) {
            if (jval_is(&k, "stream"))
                w->stream = v.type == JT_TRUE;
            if (jval_is(&k, "$text")) {
                free(w->extra);
                free(w);
                return diag_set(d, ERR_INVALID, "extra inputs: the key \"$text\" is reserved");
            }
            rc = 0;
        }
        if (rc < 0) {
            free(w->extra);
            free(w);
            return diag_set(d, ERR_INVALID, "extra inputs: not a JSON object (%s)",
                            it.err ? it.err : "bad value");
        }
        /* Nested too: the reader would take {"$text":...} anywhere in a body for a
         * reference (inside strings the quote is escaped, so only structure matches). */
        if (memmem(w->extra, w->extra_len, "\"$text\"", 7)) {
            free(w->extra);
            free(w);
            return diag_set(d, ERR_INVALID, "extra inputs: the key \"$text\" is reserved");
        }
        w->extra_has_stream_options = extra_has(w, "stream_options");
        w->x_model = extra_has(w, "model");
        w->x_stream = extra_has(w, "stream");
        const char *mk = !strcmp(cfg->endpoint_type, "chat")
                             ? (cfg->legacy_max_tokens ? "max_tokens" : "max_completion_tokens")
                         : !strcmp(cfg->endpoint_type, "completions") ? "max_tokens"
                                                                      : "max_output_tokens";
        w->x_max = extra_has(w, mk);
        buf_init(&w->extra_tail, 0);
        jscan_object(&it, w->extra, w->extra_len);
        while (jscan_member(&it, &k, &v) == 1) {
            PUTL(&w->extra_tail, ",\"");
            buf_append(&w->extra_tail, k.p, k.n);
            PUTL(&w->extra_tail, "\":");
            if (v.type == JT_STRING)
                buf_append(&w->extra_tail, v.p - 1, v.n + 2);
            else
                buf_append(&w->extra_tail, v.p, v.n);
        }
    }
    int crc = zio_out_check(path, d);
    if (crc) {
        free(w->extra);
        buf_free(&w->extra_tail);
        free(w);
        return crc;
    }
    w->path = xstrdup(path);
    /* The request lines wait in a temporary file beside the output; an output that is
     * not a regular file (stdout, /dev/null, a FIFO) has no such place, so they wait in
     * $TMPDIR (never /dev). */
    struct stat st;
    bool beside = strcmp(path, "-") != 0 && (stat(path, &st) != 0 || S_ISREG(st.st_mode));
    const char *tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir)
        tmpdir = "/tmp";
    size_t n = strlen(beside ? path : tmpdir) + 64;
    w->body_path = xmalloc(n);
    if (beside)
        snprintf(w->body_path, n, "%s.body.tmp.%ld", path, (long)getpid());
    else
        snprintf(w->body_path, n, "%s/metronome-pack.body.tmp.%ld", tmpdir, (long)getpid());
    w->body_slot = zio_tmp_track(w->body_path); /* a ^C mid-pack removes it */
    int rc = zw_open(&w->body, w->body_path, ZW_DIRECT, cfg->level, d);
    if (rc) {
        zio_tmp_untrack(w->body_slot);
        free(w->extra);
        free(w->path);
        free(w->body_path);
        free(w);
        return rc;
    }
    buf_init(&w->line, 0);
    buf_init(&w->scratch, 0);
    buf_init(&w->header, 0);
    buf_init(&w->lits, 0);
    i64map_init(&w->blocks);
    i64map_init(&w->bust_ord);
    *out = w;
    return 0;
}

void tw_header_raw(struct trace_writer *w, const char *key, const char *json)
{
    buf_putc(&w->header, ',');
    json_escape(&w->header, key, strlen(key));
    buf_putc(&w->header, ':');
    buf_puts(&w->header, json);
}

static void use_range(struct trace_writer *w, uint32_t off, uint32_t len)
{
    if (len == 0)
        return;
    if (w->nused && w->used[w->nused - 1].lo == off && w->used[w->nused - 1].hi == off + len)
        return;
    if (w->nused == w->used_cap) {
        w->used_cap = w->used_cap ? w->used_cap * 2 : 1024;
        w->used = xrealloc(w->used, w->used_cap * sizeof *w->used);
    }
    w->used[w->nused].lo = off;
    w->used[w->nused].hi = off + len;
    w->nused++;
}

int tw_block(struct trace_writer *w, int64_t id, const struct tw_part *parts, size_t nparts,
             long tokens, long *existing_tokens)
{
    uint32_t idx;
    if (i64map_get(&w->blocks, id, &idx)) {
        if (existing_tokens)
            *existing_tokens = w->defs[idx].tokens;
        return 0;
    }
    if (w->ndefs == w->defs_cap) {
        w->defs_cap = w->defs_cap ? w->defs_cap * 2 : 1024;
        w->defs = xrealloc(w->defs, w->defs_cap * sizeof *w->defs);
    }
    struct tw_block_def *b = &w->defs[w->ndefs];
    b->id = id;
    b->tokens = tokens;
    b->part0 = w->nbparts;
    b->nparts = 0;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].kind == TW_BLOCK)
            abort(); /* blocks are made of text, never of other blocks */
        if (w->nbparts == w->bparts_cap) {
            w->bparts_cap = w->bparts_cap ? w->bparts_cap * 2 : 1024;
            w->bparts = xrealloc(w->bparts, w->bparts_cap * sizeof *w->bparts);
        }
        struct tw_ipart *p = &w->bparts[w->nbparts++];
        if (parts[i].kind == TW_LIT) {
            p->lit = true;
            p->off = (uint32_t)w->lits.len;
            p->len = (uint32_t)parts[i].n;
            buf_append(&w->lits, parts[i].s, parts[i].n);
        } else {
            p->lit = false;
            p->off = parts[i].off;
            p->len = parts[i].len;
            use_range(w, parts[i].off, parts[i].len);
        }
        b->nparts++;
    }
    i64map_put(&w->blocks, id, (uint32_t)w->ndefs);
    w->ndefs++;
    return 1;
}

bool tw_block_find(const struct trace_writer *w, int64_t id, long *tokens)
{
    uint32_t idx;
    if (!i64map_get(&w->blocks, id, &idx))
        return false;
    if (tokens)
        *tokens = w->defs[idx].tokens;
    return true;
}

static void slice_json(struct jsonw *j, uint32_t off, uint32_t len)
{
    jsonw_arr_begin(j);
    jsonw_uint(j, off);
    jsonw_uint(j, len);
    jsonw_arr_end(j);
}

/* Request lines are the hot path of pack (a million per trace), so they are written
 * straight into the line buffer rather than through jsonw; the output is the same compact
 * JSON jsonw would produce. */

static void put_int(struct buf *b, int64_t v)
{
    char t[24];
    size_t i = sizeof t;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        t[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        t[--i] = '-';
    buf_append(b, t + i, sizeof t - i);
}

static void put_double(struct buf *b, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        put_int(b, (int64_t)v);
        PUTL(b, ".0");
        return;
    }
    char t[32];
    int n = json_format_double(t, v);
    buf_append(b, t, (size_t)n);
}

static void put_str(struct buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\') {
            json_escape(b, s, n);
            return;
        }
    }
    buf_reserve(b, n + 2);
    b->p[b->len++] = '"';
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len++] = '"';
    b->p[b->len] = '\0';
}

static void put_cstr(struct buf *b, const char *s)
{
    put_str(b, s, strlen(s));
}

/* A text value: a plain string when it is all literal, else {"$text":[...]}. */
static int text_json(struct trace_writer *w, struct buf *b, const struct tw_text *t, struct diag *d)
{
    bool literal = true;
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i].kind != TW_LIT)
            literal = false;
    if (literal) {
        if (t->nparts == 1) {
            put_str(b, t->parts[0].s, t->parts[0].n);
            return 0;
        }
        buf_reset(&w->scratch);
        for (size_t i = 0; i < t->nparts; i++)
            buf_append(&w->scratch, t->parts[i].s, t->parts[i].n);
        put_str(b, w->scratch.p ? w->scratch.p : "", w->scratch.len);
        return 0;
    }
    PUTL(b, "{\"$text\":[");
    for (size_t i = 0; i < t->nparts; i++) {
        const struct tw_part *p = &t->parts[i];
        if (i)
            PUTL(b, ",");
        switch (p->kind) {
        case TW_LIT:
            put_str(b, p->s, p->n);
            break;
        case TW_SLICE:
            if (!w->cfg.corpus || (uint64_t)p->off + p->len > w->cfg.corpus->len)
                return diag_set(d, ERR_INVALID, "corpus slice out of range");
            use_range(w, p->off, p->len);
            PUTL(b, "[");
            put_int(b, p->off);
            PUTL(b, ",");
            put_int(b, p->len);
            PUTL(b, "]");
            break;
        case TW_BLOCK:
            if (!tw_block_find(w, p->id, NULL))
                return diag_set(d, ERR_INVALID, "block %lld is not defined", (long long)p->id);
            put_int(b, p->id);
            break;
        }
    }
    PUTL(b, "]}");
    return 0;
}

static void audio_part(struct buf *b, const char *a)
{
    const char *comma = strchr(a, ',');
    PUTL(b, "{\"type\":\"input_audio\",\"input_audio\":{\"data\":");
    put_cstr(b, comma ? comma + 1 : a);
    PUTL(b, ",\"format\":");
    if (comma)
        put_str(b, a, (size_t)(comma - a));
    else
        PUTL(b, "\"wav\"");
    PUTL(b, "}}");
}

/* The system text of a request: the verbatim --system-prompt, the request's own system
 * text, or both joined with a blank line (AIPerf 0.13's SYSTEM_PROMPT_JOIN_SEP). *t is
 * filled with parts in parts[] (room for 2 + the request's); false when there is none. */
static bool system_of(const struct trace_writer *w, const struct tw_request *r,
                      struct tw_part *parts, size_t cap, struct tw_text *t)
{
    size_t n = 0;
    if (w->cfg.system_prompt) {
        parts[n++] = (struct tw_part){
            .kind = TW_LIT, .s = w->cfg.system_prompt, .n = strlen(w->cfg.system_prompt)};
        if (r->system_text)
            parts[n++] = (struct tw_part){.kind = TW_LIT, .s = "\n\n", .n = 2};
    }
    for (size_t i = 0; r->system_text && i < r->system_text->nparts && n < cap; i++)
        parts[n++] = r->system_text->parts[i];
    t->parts = parts;
    t->nparts = n;
    return n > 0;
}

/* Most parts a request's own system text may have (the writer's stack budget). */
#define TW_SYSTEM_PARTS 16

/* A request that opens its own message list: a session's first turn, or a later turn sent
 * without live history (AIPerf 0.13's self-contained turns: it builds each request's
 * messages anew, so the system message and a cache-bust marker go on every one). */
static bool opens_messages(const struct tw_request *r)
{
    return r->turn == 0 || !r->live_history;
}

static int chat_messages(struct trace_writer *w, struct buf *b, const struct tw_request *r,
                         struct diag *d)
{
    PUTL(b, "\"messages\":[");
    if (opens_messages(r)) {
        struct tw_part sp[TW_SYSTEM_PARTS + 4];
        struct tw_text st;
        /* sp[0] is kept free for a cache-bust prefix, one slot at the end for a suffix */
        if (system_of(w, r, sp + 1, TW_SYSTEM_PARTS + 2, &st)) {
            if (w->bustn && w->bust_system) {
                struct tw_part m = {.kind = TW_LIT, .s = w->bust, .n = w->bustn};
                if (w->cfg.cache_bust == TW_BUST_SYSTEM_PREFIX) {
                    sp[0] = m;
                    st.parts = sp;
                } else {
                    sp[1 + st.nparts] = m;
                }
                st.nparts++;
            }
            PUTL(b, "{\"role\":\"system\",\"content\":");
            int rc = text_json(w, b, &st, d);
            if (rc)
                return rc;
            PUTL(b, "},");
        }
        if (r->context_text) {
            PUTL(b, "{\"role\":\"user\",\"content\":");
            int rc = text_json(w, b, r->context_text, d);
            if (rc)
                return rc;
            PUTL(b, "},");
        }
    }
    PUTL(b, "{\"role\":");
    put_cstr(b, r->role ? r->role : "user");
    if (r->name) {
        PUTL(b, ",\"name\":");
        put_cstr(b, r->name);
    }
    PUTL(b, ",\"content\":");
    int rc = 0;
    if (r->ntexts == 1 && r->nimages == 0 && r->naudios == 0) {
        rc = text_json(w, b, &r->texts[0], d);
    } else {
        PUTL(b, "[");
        bool first = true;
        for (size_t i = 0; i < r->ntexts && !rc; i++, first = false) {
            if (!first)
                PUTL(b, ",");
            PUTL(b, "{\"type\":\"text\",\"text\":");
            rc = text_json(w, b, &r->texts[i], d);
            PUTL(b, "}");
        }
        for (size_t i = 0; i < r->nimages; i++, first = false) {
            if (!first)
                PUTL(b, ",");
            PUTL(b, "{\"type\":\"image_url\",\"image_url\":{\"url\":");
            put_cstr(b, r->images[i]);
            PUTL(b, "}");
            if (r->image_uuids && r->image_uuids[i]) {
                PUTL(b, ",\"uuid\":");
                put_cstr(b, r->image_uuids[i]);
            }
            PUTL(b, "}");
        }
        for (size_t i = 0; i < r->naudios; i++, first = false) {
            if (!first)
                PUTL(b, ",");
            audio_part(b, r->audios[i]);
        }
        PUTL(b, "]");
    }
    PUTL(b, "}]");
    return rc;
}

/* "prompt"/"input": one text as a string, several as an array. */
static int texts_value(struct trace_writer *w, struct buf *b, const struct tw_request *r,
                       bool always_array, struct diag *d)
{
    int rc = 0;
    if (r->ntexts == 1 && !always_array)
        return text_json(w, b, &r->texts[0], d);
    PUTL(b, "[");
    for (size_t i = 0; i < r->ntexts && !rc; i++) {
        if (i)
            PUTL(b, ",");
        rc = text_json(w, b, &r->texts[i], d);
    }
    PUTL(b, "]");
    return rc;
}

static void std_model(struct trace_writer *w, struct buf *b, const char *model)
{
    if (w->x_model || !model)
        return;
    PUTL(b, ",\"model\":");
    put_cstr(b, model);
}

static void std_stream(struct trace_writer *w, struct buf *b)
{
    if (w->x_stream)
        return;
    if (w->cfg.streaming)
        PUTL(b, ",\"stream\":true");
    else
        PUTL(b, ",\"stream\":false");
}

static void std_max(struct buf *b, bool overridden, const char *key_colon, size_t kn, long v)
{
    if (v < 0 || overridden)
        return;
    buf_append(b, key_colon, kn);
    put_int(b, v);
}

/* A dataset's own "messages" array with the verbatim system prompt put first: joined into
 * a leading system message whose content is a string (prompt, blank line, its text) or a
 * list of parts (a text part first), else as a new system message ahead of all (AIPerf
 * 0.13's ChatEndpoint._format_messages). */
static int raw_with_system(struct trace_writer *w, struct buf *b, const struct tw_request *r,
                           struct diag *d)
{
    struct jiter it, mi;
    struct jval first, k, v;
    const char *sp = w->cfg.system_prompt;
    if (jscan_array(&it, r->raw_messages, r->raw_messages_len) || jscan_elem(&it, &first) != 1 ||
        first.type != JT_OBJECT)
        goto prepend;
    bool system = false;
    struct jval content = {.type = JT_NULL};
    if (jscan_enter(&mi, &first))
        goto prepend;
    while (jscan_member(&mi, &k, &v) == 1) {
        if (jval_is(&k, "role") && v.type == JT_STRING && v.n == 6 && !memcmp(v.p, "system", 6))
            system = true;
        if (jval_is(&k, "content"))
            content = v;
    }
    if (!system)
        goto prepend;
    /* the leading system message, rebuilt: its other members as they were */
    PUTL(b, "[{");
    bool any = false;
    jscan_enter(&mi, &first);
    while (jscan_member(&mi, &k, &v) == 1) {
        if (jval_is(&k, "content"))
            continue;
        if (any)
            PUTL(b, ",");
        any = true;
        buf_append(b, k.p - 1, k.n + 2);
        PUTL(b, ":");
        buf_append(b, v.type == JT_STRING ? v.p - 1 : v.p, v.type == JT_STRING ? v.n + 2 : v.n);
    }
    if (any)
        PUTL(b, ",");
    PUTL(b, "\"content\":");
    if (content.type == JT_ARRAY) {
        PUTL(b, "[{\"type\":\"text\",\"text\":");
        put_cstr(b, sp);
        PUTL(b, "}");
        if (content.n > 2) {
            /* "[" + elements + "]": the elements follow the new text part */
            const char *e = content.p + 1;
            while (*e == ' ' || *e == '\n' || *e == '\t' || *e == '\r')
                e++;
            if (*e != ']') {
                PUTL(b, ",");
                buf_append(b, e, (size_t)(content.p + content.n - e));
            } else {
                PUTL(b, "]");
            }
        } else {
            PUTL(b, "]");
        }
    } else if (content.type == JT_STRING && content.n > 0) {
        struct buf joined;
        buf_init(&joined, 0);
        buf_puts(&joined, sp);
        PUTL(&joined, "\n\n");
        int rc = jval_str(&content, &joined);
        if (rc) {
            buf_free(&joined);
            return diag_set(d, ERR_INVALID, "messages: a system message's content is not valid");
        }
        put_str(b, joined.p, joined.len);
        buf_free(&joined);
    } else {
        put_cstr(b, sp);
    }
    PUTL(b, "}");
    /* the rest of the array as written */
    const char *rest = first.p + first.n;
    buf_append(b, rest, (size_t)(r->raw_messages + r->raw_messages_len - rest));
    return 0;
prepend:
    PUTL(b, "[{\"role\":\"system\",\"content\":");
    put_cstr(b, sp);
    PUTL(b, "}");
    {
        const char *p = r->raw_messages + 1, *e = r->raw_messages + r->raw_messages_len;
        while (p < e && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
            p++;
        if (p < e && *p != ']')
            PUTL(b, ",");
        buf_append(b, p, (size_t)(e - p));
    }
    return 0;
}

/* chat's output limit: "max_completion_tokens", or AIPerf's legacy "max_tokens" */
static void chat_max(struct trace_writer *w, struct buf *b, long v)
{
    if (w->cfg.legacy_max_tokens)
        std_max(b, w->x_max, ",\"max_tokens\":", 14, v);
    else
        std_max(b, w->x_max, ",\"max_completion_tokens\":", 25, v);
}

static int body_json(struct trace_writer *w, struct buf *b, const struct tw_request *r,
                     struct diag *d)
{
    const char *type = w->cfg.endpoint_type;
    int rc = 0;
    if (r->raw_body) {
        if (w->cfg.system_prompt)
            return diag_set(d, ERR_INVALID,
                            "--system-prompt cannot be added to a verbatim request body "
                            "(a \"payload\" line): put the system message in its messages");
        buf_append(b, r->raw_body, r->raw_body_len);
        return 0;
    }
    PUTL(b, "{");
    if (r->raw_messages) {
        if (strcmp(type, "chat"))
            return diag_set(d, ERR_INVALID, "'messages' needs the chat endpoint type");
        PUTL(b, "\"messages\":");
        if (w->cfg.system_prompt && r->turn == 0) {
            rc = raw_with_system(w, b, r, d);
            if (rc)
                return rc;
        } else {
            buf_append(b, r->raw_messages, r->raw_messages_len);
        }
        if (r->raw_tools) {
            PUTL(b, ",\"tools\":");
            buf_append(b, r->raw_tools, r->raw_tools_len);
        }
        std_model(w, b, r->model);
        std_stream(w, b);
        chat_max(w, b, r->max_tokens);
    } else if (!strcmp(type, "chat")) {
        if (r->ntexts == 0 && r->nimages == 0 && r->naudios == 0)
            return diag_set(d, ERR_INVALID, "request has no content");
        rc = chat_messages(w, b, r, d);
        std_model(w, b, r->model);
        std_stream(w, b);
        chat_max(w, b, r->max_tokens);
    } else if (!strcmp(type, "completions")) {
        if (r->ntexts == 0)
            return diag_set(d, ERR_INVALID, "completions request has no text");
        PUTL(b, "\"prompt\":");
        rc = texts_value(w, b, r, false, d);
        std_model(w, b, r->model);
        std_stream(w, b);
        std_max(b, w->x_max, ",\"max_tokens\":", 14, r->max_tokens);
    } else if (strstr(type, "_rankings")) {
        if (r->ntexts < 1)
            return diag_set(d, ERR_INVALID, "rankings request has no query");
        bool nim = !strcmp(type, "nim_rankings"), tei = !strcmp(type, "hf_tei_rankings");
        if (!tei && !w->x_model && r->model) {
            PUTL(b, "\"model\":");
            put_cstr(b, r->model);
            PUTL(b, ",");
        }
        PUTL(b, "\"query\":");
        if (nim)
            PUTL(b, "{\"text\":");
        rc = text_json(w, b, &r->texts[0], d);
        if (nim)
            PUTL(b, "}");
        if (nim)
            PUTL(b, ",\"passages\":[");
        else if (tei)
            PUTL(b, ",\"texts\":[");
        else
            PUTL(b, ",\"documents\":[");
        for (size_t i = 1; i < r->ntexts && !rc; i++) {
            if (i > 1)
                PUTL(b, ",");
            if (nim)
                PUTL(b, "{\"text\":");
            rc = text_json(w, b, &r->texts[i], d);
            if (nim)
                PUTL(b, "}");
        }
        PUTL(b, "]");
    } else if (!strcmp(type, "embeddings")) {
        if (r->ntexts == 0)
            return diag_set(d, ERR_INVALID, "embeddings request has no text");
        if (!w->x_model && r->model) {
            PUTL(b, "\"model\":");
            put_cstr(b, r->model);
            PUTL(b, ",");
        }
        PUTL(b, "\"input\":");
        rc = texts_value(w, b, r, true, d);
    } else { /* responses */
        if (r->ntexts == 0)
            return diag_set(d, ERR_INVALID, "responses request has no text");
        if (w->cfg.system_prompt) {
            /* the Responses API's system prompt is the top-level "instructions" */
            PUTL(b, "\"instructions\":");
            if (w->bustn && w->bust_system) {
                buf_reset(&w->scratch);
                bool pre = w->cfg.cache_bust == TW_BUST_SYSTEM_PREFIX;
                if (pre)
                    buf_append(&w->scratch, w->bust, w->bustn);
                buf_puts(&w->scratch, w->cfg.system_prompt);
                if (!pre)
                    buf_append(&w->scratch, w->bust, w->bustn);
                put_str(b, w->scratch.p, w->scratch.len);
            } else {
                put_cstr(b, w->cfg.system_prompt);
            }
            PUTL(b, ",");
        }
        PUTL(b, "\"input\":");
        rc = texts_value(w, b, r, false, d);
        std_model(w, b, r->model);
        std_stream(w, b);
        std_max(b, w->x_max, ",\"max_output_tokens\":", 21, r->max_tokens);
    }
    if (rc)
        return rc;
    if (w->extra_tail.len)
        buf_append(b, w->extra_tail.p, w->extra_tail.len);
    if (r->raw_extra && r->raw_extra_len > 2) {
        /* The members of {...}: drop the braces, keep the rest as written. */
        const char *p = r->raw_extra + 1, *e = r->raw_extra + r->raw_extra_len - 1;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (p < e) {
            PUTL(b, ",");
            buf_append(b, p, (size_t)(e - p));
        }
    }
    if (w->stream && !w->extra_has_stream_options &&
        (!strcmp(type, "chat") || !strcmp(type, "completions"))) {
        if (w->cfg.per_chunk_usage && !strcmp(type, "chat"))
            PUTL(b, ",\"stream_options\":{\"include_usage\":true,"
                    "\"continuous_usage_stats\":true}");
        else
            PUTL(b, ",\"stream_options\":{\"include_usage\":true}");
    }
    PUTL(b, "}");
    return 0;
}

/* A model tokenizer's count is not additive (tokens merge where parts meet), so each text
 * is put together whole and encoded once. */
static long count_model(const struct trace_writer *w, const struct tw_request *r,
                        const struct tokenizer *tk)
{
    struct buf t;
    buf_init(&t, 0);
    long n = 0;
    const char *ctext = w->cfg.corpus ? w->cfg.corpus->text : "";
    for (size_t i = 0; i < r->ntexts; i++) {
        t.len = 0;
        for (size_t k = 0; k < r->texts[i].nparts; k++) {
            const struct tw_part *p = &r->texts[i].parts[k];
            uint32_t idx;
            if (p->kind == TW_LIT) {
                buf_append(&t, p->s, p->n);
            } else if (p->kind == TW_SLICE) {
                buf_append(&t, ctext + p->off, p->len);
            } else if (i64map_get(&w->blocks, p->id, &idx)) {
                const struct tw_block_def *b = &w->defs[idx];
                for (size_t q = 0; q < b->nparts; q++) {
                    const struct tw_ipart *ip = &w->bparts[b->part0 + q];
                    buf_append(&t, (ip->lit ? w->lits.p : ctext) + ip->off, ip->len);
                }
            }
        }
        n += (long)tokenizer_count(tk, t.p ? t.p : "", t.len);
    }
    buf_free(&t);
    return n;
}

static long count_tokens(const struct trace_writer *w, const struct tw_request *r)
{
    const struct tokenizer *tk = w->cfg.corpus ? w->cfg.corpus->tk : tokenizer_approx();
    if (!tk->next)
        return count_model(w, r, tk);
    long n = 0;
    for (size_t i = 0; i < r->ntexts; i++) {
        for (size_t k = 0; k < r->texts[i].nparts; k++) {
            const struct tw_part *p = &r->texts[i].parts[k];
            long bt;
            if (p->kind == TW_LIT)
                n += (long)tokenizer_count(tk, p->s, p->n);
            else if (p->kind == TW_SLICE)
                n += (long)tokenizer_count(tk, w->cfg.corpus->text + p->off, p->len);
            else if (tw_block_find(w, p->id, &bt))
                n += bt;
        }
    }
    return n;
}

/* Tokens of the conversation-level texts a request's body carries (system prompt,
 * user context): AIPerf 0.13 counts every text of the payload as input. */
static long count_conversation(const struct trace_writer *w, const struct tw_request *r)
{
    const struct tokenizer *tk = w->cfg.corpus ? w->cfg.corpus->tk : tokenizer_approx();
    long n = 0;
    bool chat = !strcmp(w->cfg.endpoint_type, "chat");
    if (chat && opens_messages(r)) {
        struct tw_part sp[TW_SYSTEM_PARTS + 2];
        struct tw_text t[2];
        size_t k = 0;
        if (system_of(w, r, sp, sizeof sp / sizeof sp[0], &t[k]))
            k++;
        if (r->context_text)
            t[k++] = *r->context_text;
        struct tw_request one = {.texts = t, .ntexts = k};
        if (k)
            n += !tk->next ? count_model(w, &one, tk) : count_tokens(w, &one);
    } else if (!strcmp(w->cfg.endpoint_type, "responses") && w->cfg.system_prompt) {
        n += (long)tokenizer_count(tk, w->cfg.system_prompt, strlen(w->cfg.system_prompt));
    }
    return n;
}

/* The session's cache-bust marker into w->bust (AIPerf 0.13's build_cache_bust_marker:
 * its digest over "RUN:PASS:INDEX:TRACE", PASS and INDEX both the session's ordinal). */
static void bust_marker(struct trace_writer *w, const char *session, long k)
{
    struct buf in;
    buf_init(&in, 0);
    buf_puts(&in, w->cfg.bust_run_id ? w->cfg.bust_run_id : "");
    char num[48];
    snprintf(num, sizeof num, ":%ld:%ld:", k, k);
    buf_puts(&in, num);
    buf_puts(&in, session);
    char hex[65];
    sha256_hex(in.p, in.len, hex);
    buf_free(&in);
    bool pre =
        w->cfg.cache_bust == TW_BUST_SYSTEM_PREFIX || w->cfg.cache_bust == TW_BUST_FIRST_PREFIX;
    int n = snprintf(w->bust, sizeof w->bust, pre ? "[rid:%.12s]\n\n" : "\n\n[rid:%.12s]", hex);
    w->bustn = (size_t)n;
}

/* Where this request's cache-bust marker goes (docs/cli-pack.md): sets w->bust and
 * w->bust_system, or fills *mod (a copy of r whose first text carries the marker; *tv and
 * *pv are the arrays to free). */
static int bust_setup(struct trace_writer *w, const struct tw_request *r, struct tw_request *mod,
                      struct tw_text **tv, struct tw_part **pv, struct diag *d)
{
    w->bustn = 0;
    w->bust_system = false;
    if (w->cfg.cache_bust == TW_BUST_NONE)
        return 0;
    if (r->raw_body || r->raw_messages)
        return diag_set(d, ERR_INVALID,
                        "--cache-bust: not supported yet with a dataset's own \"messages\" or "
                        "\"payload\" bodies (the marker goes into structured prompts only)");
    uint64_t key = hash64_str(r->session);
    uint32_t k;
    if (r->turn == 0) {
        k = (uint32_t)w->sessions;
        i64map_put(&w->bust_ord, (int64_t)key, k);
    } else if (!i64map_get(&w->bust_ord, (int64_t)key, &k)) {
        return 0;
    }
    bool chat = !strcmp(w->cfg.endpoint_type, "chat");
    bool sys_target =
        w->cfg.cache_bust == TW_BUST_SYSTEM_PREFIX || w->cfg.cache_bust == TW_BUST_SYSTEM_SUFFIX;
    bool has_sys = w->cfg.system_prompt || (chat && r->system_text);
    if (sys_target && has_sys) {
        /* chat: the system message is in the first turn only (later turns carry it in the
         * live history, or open their own messages); responses: "instructions" on every
         * request */
        if (chat && !opens_messages(r))
            return 0;
        bust_marker(w, r->session, (long)k);
        w->bust_system = true;
        return 0;
    }
    if (!opens_messages(r))
        return 0; /* the first turn reaches later ones through the live history */
    bust_marker(w, r->session, (long)k);
    bool pre =
        w->cfg.cache_bust == TW_BUST_SYSTEM_PREFIX || w->cfg.cache_bust == TW_BUST_FIRST_PREFIX;
    *mod = *r;
    size_t nt = r->ntexts ? r->ntexts : 1;
    size_t np = r->ntexts ? r->texts[0].nparts : 0;
    *tv = xmalloc(nt * sizeof **tv);
    *pv = xmalloc((np + 1) * sizeof **pv);
    for (size_t i = 1; i < r->ntexts; i++)
        (*tv)[i] = r->texts[i];
    struct tw_part m = {.kind = TW_LIT, .s = w->bust, .n = w->bustn};
    size_t o = 0;
    if (pre)
        (*pv)[o++] = m;
    for (size_t i = 0; i < np; i++)
        (*pv)[o++] = r->texts[0].parts[i];
    if (!pre)
        (*pv)[o++] = m;
    (*tv)[0] = (struct tw_text){.parts = *pv, .nparts = o};
    mod->texts = *tv;
    mod->ntexts = nt;
    return 0;
}

int tw_request(struct trace_writer *w, const struct tw_request *r, struct diag *d)
{
    const char *raws[4] = {r->raw_body, r->raw_messages, r->raw_tools, r->raw_extra};
    size_t rawn[4] = {r->raw_body_len, r->raw_messages_len, r->raw_tools_len, r->raw_extra_len};
    for (int i = 0; i < 4; i++)
        if (raws[i] && memmem(raws[i], rawn[i], "\"$text\"", 7))
            return diag_set(d, ERR_INVALID, "the key \"$text\" is reserved");
    struct tw_request mod;
    struct tw_text *btv = NULL;
    struct tw_part *bpv = NULL;
    int brc = bust_setup(w, r, &mod, &btv, &bpv, d);
    if (brc)
        return brc;
    const struct tw_request *orig = r;
    if (btv)
        r = &mod;
    size_t mark = w->line.len;
    struct buf *b = &w->line;
    PUTL(b, "{\"session\":");
    put_cstr(b, r->session);
    PUTL(b, ",\"turn\":");
    put_int(b, r->turn);
    if (r->timed) {
        PUTL(b, ",\"t_ms\":");
        put_double(b, r->t_ms);
    }
    if (r->turn > 0 && r->delay_ms >= 0) {
        PUTL(b, ",\"delay_ms\":");
        put_double(b, r->delay_ms);
    }
    PUTL(b, ",\"isl\":");
    /* A model tokenizer's isl is always measured on the texts as sent: a dataset's own
     * input_length or a sum of block sizes could be off where texts meet. */
    const struct tokenizer *itk = w->cfg.corpus ? w->cfg.corpus->tk : tokenizer_approx();
    bool measure = !itk->next && !orig->raw_body && !orig->raw_messages && orig->ntexts > 0;
    long bust_tokens = 0;
    if (w->bustn) {
        const struct tokenizer *btk = w->cfg.corpus ? w->cfg.corpus->tk : tokenizer_approx();
        bust_tokens = (long)tokenizer_count(btk, w->bust, w->bustn);
    }
    put_int(b, (orig->isl >= 0 && !measure ? orig->isl : count_tokens(w, orig)) +
                   (r->raw_body || r->raw_messages ? 0 : count_conversation(w, r)) + bust_tokens);
    if (r->max_tokens >= 0) {
        PUTL(b, ",\"osl\":");
        put_int(b, r->max_tokens);
    }
    if (r->model) {
        PUTL(b, ",\"model\":");
        put_cstr(b, r->model);
    }
    if (r->raw_body ? r->raw_stream == 1 : w->stream)
        PUTL(b, ",\"stream\":true");
    if (r->live_history)
        PUTL(b, ",\"history\":\"live\"");
    PUTL(b, ",\"body\":");
    int rc = body_json(w, b, r, d);
    free(btv);
    free(bpv);
    if (rc) {
        w->line.len = mark;
        return rc;
    }
    PUTL(b, "}\n");
    if ((size_t)w->requests == w->keys_cap) {
        w->keys_cap = w->keys_cap ? w->keys_cap * 2 : 4096;
        w->keys = xrealloc(w->keys, w->keys_cap * sizeof *w->keys);
    }
    double key = r->turn == 0 ? r->t_ms : r->start_ms;
    if (w->requests > 0 && key < w->keys[w->requests - 1])
        w->unsorted = true;
    w->keys[w->requests] = key;
    w->requests++;
    if (r->turn == 0)
        w->sessions++;
    if (r->timed)
        w->timed = true;
    if (r->live_history)
        w->live = true;
    if (w->line.len >= TW_FLUSH) {
        rc = zw_write(w->body, w->line.p, w->line.len);
        buf_reset(&w->line);
        if (rc)
            return diag_at(d, rc, w->body_path, 0, "cannot write: %s", zw_strerror(w->body));
    }
    return 0;
}

long tw_requests(const struct trace_writer *w)
{
    return w->requests;
}

long tw_sessions(const struct trace_writer *w)
{
    return w->sessions;
}

static int range_cmp(const void *a, const void *b)
{
    const struct tw_range *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Sorts and merges the used corpus ranges in place; returns how many remain. */
static size_t merge_ranges(struct tw_range *r, size_t n)
{
    if (n == 0)
        return 0;
    qsort(r, n, sizeof *r, range_cmp);
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (r[i].lo <= r[k].hi) {
            if (r[i].hi > r[k].hi)
                r[k].hi = r[i].hi;
        } else {
            r[++k] = r[i];
        }
    }
    return k + 1;
}

static void write_header(struct trace_writer *w, struct buf *b, size_t npieces)
{
    struct jsonw j;
    jsonw_init(&j, b);
    jsonw_obj_begin(&j);
    jsonw_key(&j, "metronome_trace");
    jsonw_int(&j, TRACE_FORMAT_VERSION);
    jsonw_key(&j, "endpoint");
    jsonw_obj_begin(&j);
    jsonw_key(&j, "type");
    jsonw_str(&j, w->cfg.endpoint_type);
    jsonw_key(&j, "path");
    jsonw_str(&j, w->path_type);
    jsonw_key(&j, "streaming");
    jsonw_bool(&j, w->stream);
    jsonw_obj_end(&j);
    jsonw_key(&j, "timed");
    jsonw_bool(&j, w->timed);
    jsonw_key(&j, "history");
    jsonw_str(&j, w->live ? "live" : "recorded");
    jsonw_key(&j, "requests");
    jsonw_int(&j, w->requests);
    jsonw_key(&j, "sessions");
    jsonw_int(&j, w->sessions);
    jsonw_key(&j, "blocks");
    jsonw_uint(&j, w->ndefs);
    jsonw_key(&j, "pieces");
    jsonw_uint(&j, npieces);
    const struct tokenizer *tk = w->cfg.corpus ? w->cfg.corpus->tk : tokenizer_approx();
    jsonw_key(&j, "tokenizer");
    jsonw_obj_begin(&j);
    jsonw_key(&j, "name");
    jsonw_str(&j, tk->name);
    jsonw_key(&j, "approximate");
    jsonw_bool(&j, tk->approximate);
    /* a model tokenizer's provenance (absent for the builtin: its traces stay as they were) */
    static const char *const prov[] = {"sha256", "source", "revision", "commit"};
    const char *pv[] = {tk->sha256, tk->source, tk->revision, tk->commit};
    for (int k = 0; k < 4; k++)
        if (pv[k][0]) {
            jsonw_key(&j, prov[k]);
            jsonw_str(&j, pv[k]);
        }
    jsonw_obj_end(&j);
    if (w->cfg.corpus) {
        const struct corpus *c = w->cfg.corpus;
        jsonw_key(&j, "corpus");
        jsonw_obj_begin(&j);
        jsonw_key(&j, "name");
        jsonw_str(&j, c->name);
        jsonw_key(&j, "sha256");
        jsonw_str(&j, c->sha256);
        jsonw_key(&j, "bytes");
        jsonw_uint(&j, c->raw_len);
        jsonw_key(&j, "normalized_bytes");
        jsonw_uint(&j, c->len);
        jsonw_key(&j, "tokens");
        jsonw_uint(&j, c->ntok);
        jsonw_obj_end(&j);
    }
    /* Provenance members are spliced in before the closing brace. */
    if (w->header.len)
        buf_append(b, w->header.p, w->header.len);
    buf_puts(b, "}\n");
}

static void write_parts_json(struct trace_writer *w, struct jsonw *j, const struct tw_block_def *b)
{
    jsonw_arr_begin(j);
    for (size_t i = 0; i < b->nparts; i++) {
        const struct tw_ipart *p = &w->bparts[b->part0 + i];
        if (p->lit)
            jsonw_strn(j, w->lits.p + p->off, p->len);
        else
            slice_json(j, p->off, p->len);
    }
    jsonw_arr_end(j);
}

static void cleanup(struct trace_writer *w)
{
    buf_free(&w->line);
    buf_free(&w->scratch);
    buf_free(&w->header);
    buf_free(&w->lits);
    buf_free(&w->extra_tail);
    i64map_free(&w->blocks);
    i64map_free(&w->bust_ord);
    free(w->defs);
    free(w->bparts);
    free(w->used);
    free(w->keys);
    free(w->extra);
    free(w->path);
    zio_tmp_untrack(w->body_slot); /* every caller unlinked it first */
    free(w->body_path);
    free(w);
}

void tw_abort(struct trace_writer *w)
{
    if (w->body)
        zw_abort(w->body);
    unlink(w->body_path);
    cleanup(w);
}

static int copy_file(FILE *out, const char *path)
{
    FILE *in = fopen(path, "rb");
    if (!in)
        return ERR_IO;
    char *chunk = xmalloc(1 << 20);
    size_t k;
    int rc = 0;
    while ((k = fread(chunk, 1, 1 << 20, in)) > 0)
        if (fwrite(chunk, 1, k, out) != k) {
            rc = ERR_IO;
            break;
        }
    if (ferror(in))
        rc = ERR_IO;
    free(chunk);
    fclose(in);
    return rc;
}

struct order {
    double key;
    size_t index;
};

static int order_cmp(const void *a, const void *b)
{
    const struct order *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Rewrites the body file in session-start order (stable). */
static int resort_body(struct trace_writer *w, struct diag *d)
{
    char *data;
    size_t len;
    int rc = zio_read_all(w->body_path, SIZE_MAX / 4, &data, &len, d);
    if (rc)
        return rc;
    size_t n = (size_t)w->requests;
    struct order *ord = xmalloc(n * sizeof *ord);
    size_t *start = xmalloc((n + 1) * sizeof *start);
    size_t k = 0, pos = 0;
    while (pos < len && k < n) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t e = nl ? (size_t)(nl - data) + 1 : len;
        start[k] = pos;
        ord[k].key = w->keys[k];
        ord[k].index = k;
        k++;
        pos = e;
    }
    start[k] = len;
    if (k != n) {
        free(data);
        free(ord);
        free(start);
        return diag_at(d, ERR_IO, w->path, 0, "internal: %zu request lines, expected %zu", k, n);
    }
    qsort(ord, n, sizeof *ord, order_cmp);
    size_t pn = strlen(w->body_path) + 8;
    char *sorted = xmalloc(pn);
    snprintf(sorted, pn, "%s.s", w->body_path);
    struct zwriter *z;
    int sorted_slot = zio_tmp_track(sorted);
    rc = zw_open(&z, sorted, ZW_DIRECT, w->cfg.level, d);
    for (size_t i = 0; !rc && i < n; i++) {
        size_t j = ord[i].index;
        rc = zw_write(z, data + start[j], start[j + 1] - start[j]);
    }
    if (!rc)
        rc = zw_commit(z, d);
    else
        zw_abort(z);
    if (!rc && rename(sorted, w->body_path))
        rc = diag_at(d, ERR_IO, w->path, 0, "cannot rename: %s", strerror(errno));
    if (rc)
        unlink(sorted);
    zio_tmp_untrack(sorted_slot);
    free(sorted);
    free(data);
    free(ord);
    free(start);
    return rc;
}

int tw_commit(struct trace_writer *w, struct diag *d)
{
    int rc = 0;
    if (w->line.len)
        rc = zw_write(w->body, w->line.p, w->line.len);
    struct zwriter *body = w->body;
    w->body = NULL;
    if (rc) {
        diag_at(d, ERR_IO, w->body_path, 0, "cannot write: %s", zw_strerror(body));
        zw_abort(body);
        unlink(w->body_path);
        cleanup(w);
        return ERR_IO;
    }
    /* zw_commit on a direct writer closes the temporary body file in place. */
    if (w->requests == 0) {
        zw_abort(body);
    } else if ((rc = zw_commit(body, d)) || (w->timed && w->unsorted && (rc = resort_body(w, d)))) {
        unlink(w->body_path);
        cleanup(w);
        return rc;
    }

    size_t npieces = merge_ranges(w->used, w->nused);
    struct buf pre;
    buf_init(&pre, 0);
    write_header(w, &pre, npieces);
    struct jsonw j;
    for (size_t i = 0; i < npieces; i++) {
        jsonw_init(&j, &pre);
        jsonw_obj_begin(&j);
        jsonw_key(&j, "piece");
        jsonw_uint(&j, w->used[i].lo);
        jsonw_key(&j, "text");
        jsonw_strn(&j, w->cfg.corpus->text + w->used[i].lo, w->used[i].hi - w->used[i].lo);
        jsonw_obj_end(&j);
        buf_putc(&pre, '\n');
    }
    for (size_t i = 0; i < w->ndefs; i++) {
        jsonw_init(&j, &pre);
        jsonw_obj_begin(&j);
        jsonw_key(&j, "block");
        jsonw_int(&j, w->defs[i].id);
        jsonw_key(&j, "tokens");
        jsonw_int(&j, w->defs[i].tokens);
        jsonw_key(&j, "text");
        write_parts_json(w, &j, &w->defs[i]);
        jsonw_obj_end(&j);
        buf_putc(&pre, '\n');
    }
    size_t bound = ZSTD_compressBound(pre.len);
    char *z = xmalloc(bound);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    /* The header, pieces and blocks are compressed once per pack and read once per
     * replay. Level 6 keeps them within 3% of level 9's size at half its time (a 10^5-block
     * trace: 3.33 MB vs 3.24 MB; level 3: 3.51 MB). */
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, w->cfg.level < 6 ? 6 : w->cfg.level);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    size_t zn = ZSTD_compress2(cc, z, bound, pre.p, pre.len);
    ZSTD_freeCCtx(cc);
    buf_free(&pre);
    if (ZSTD_isError(zn)) {
        free(z);
        unlink(w->body_path);
        cleanup(w);
        return diag_at(d, ERR_IO, w->path, 0, "compression failed: %s", ZSTD_getErrorName(zn));
    }
    struct afile af;
    rc = afile_open(&af, w->path, d);
    if (!rc) {
        if (fwrite(z, 1, zn, af.f) != zn)
            rc = ERR_IO;
        if (!rc && w->requests > 0)
            rc = copy_file(af.f, w->body_path);
        if (rc) {
            int e = afile_errno(&af);
            afile_abort(&af);
            diag_at(d, ERR_IO, w->path, 0, "cannot write: %s", strerror(e));
        } else {
            rc = afile_commit(&af, d);
        }
    }
    free(z);
    unlink(w->body_path);
    cleanup(w);
    return rc;
}

/* ---- --extra-inputs (pack and replay share this one parser) ---- */

/* A JSON value for a k:v pair's value: JSON when it parses as a number, true, false or
 * null, else a string. */
static void extra_kv_value(struct buf *b, const char *v, size_t n)
{
    struct jval jv;
    size_t used;
    const char *why;
    if (n > 0 && jscan_prefix(v, n, &jv, &used, &why) == 0 && used == n && jv.type != JT_STRING &&
        jv.type != JT_OBJECT && jv.type != JT_ARRAY) {
        buf_append(b, v, n);
        return;
    }
    json_escape(b, v, n);
}

static const char *extra_trim(const char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

int tw_extra_inputs(const char *const *vals, size_t n, struct buf *out, struct diag *d)
{
    if (n == 0)
        return 0;
    struct buf members; /* "k":v pairs, comma-separated */
    buf_init(&members, 0);
    for (size_t i = 0; i < n; i++) {
        const char *v = vals[i];
        size_t vn = strlen(v);
        const char *t = extra_trim(v, &vn);
        if (vn == 0) {
            buf_free(&members);
            return diag_set(d, ERR_INVALID, "--extra-inputs: empty value");
        }
        if (vn && t[0] == '{') {
            struct jiter it;
            struct jval k, val;
            int rc = jscan_object(&it, t, vn);
            while (rc == 0 && (rc = jscan_member(&it, &k, &val)) == 1) {
                rc = 0;
                if (members.len)
                    buf_putc(&members, ',');
                buf_putc(&members, '"');
                buf_append(&members, k.p, k.n);
                buf_puts(&members, "\":");
                if (val.type == JT_STRING) {
                    buf_putc(&members, '"');
                    buf_append(&members, val.p, val.n);
                    buf_putc(&members, '"');
                } else {
                    buf_append(&members, val.p, val.n);
                }
            }
            if (rc < 0) {
                buf_free(&members);
                return diag_set(d, ERR_INVALID, "--extra-inputs: malformed JSON at byte %zu: %s",
                                it.err_off + 1, it.err);
            }
            continue;
        }
        const char *p = t, *end = t + vn;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *e = comma ? comma : end;
            const char *colon = memchr(p, ':', (size_t)(e - p));
            size_t kn = colon ? (size_t)(colon - p) : 0, vl = colon ? (size_t)(e - colon - 1) : 0;
            const char *k = colon ? extra_trim(p, &kn) : p;
            const char *val = colon ? extra_trim(colon + 1, &vl) : p;
            if (!colon || kn == 0) {
                buf_free(&members);
                return diag_set(d, ERR_INVALID,
                                "--extra-inputs: '%.*s' is not key:value (commas separate "
                                "pairs; for lists and objects give one JSON object, "
                                "'{\"k\":[1,2]}')",
                                (int)(e - p), p);
            }
            if (members.len)
                buf_putc(&members, ',');
            json_escape(&members, k, kn);
            buf_putc(&members, ':');
            extra_kv_value(&members, val, vl);
            p = comma ? comma + 1 : end;
        }
    }
    /* Later keys override earlier ones: keep the last occurrence of each key. */
    buf_putc(out, '{');
    struct jiter it;
    struct jval k, v, k2, v2;
    buf_putc(&members, '}');
    struct buf wrapped;
    buf_init(&wrapped, 0);
    buf_putc(&wrapped, '{');
    buf_append(&wrapped, members.p, members.len);
    jscan_object(&it, wrapped.p, wrapped.len);
    bool first = true;
    while (jscan_member(&it, &k, &v) == 1) {
        struct jiter later = it;
        bool dup = false;
        while (jscan_member(&later, &k2, &v2) == 1)
            if (k.n == k2.n && !memcmp(k.p, k2.p, k.n))
                dup = true;
        if (dup)
            continue;
        if (!first)
            buf_putc(out, ',');
        first = false;
        buf_putc(out, '"');
        buf_append(out, k.p, k.n);
        buf_puts(out, "\":");
        if (v.type == JT_STRING) {
            buf_putc(out, '"');
            buf_append(out, v.p, v.n);
            buf_putc(out, '"');
        } else {
            buf_append(out, v.p, v.n);
        }
    }
    buf_putc(out, '}');
    buf_free(&wrapped);
    buf_free(&members);
    return 0;
}
