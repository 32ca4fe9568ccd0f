#include "endpoint.h"

#include <cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    enum endpoint_type t;
    const char *name;
    const char *member; /* AIPerf's enum member spelling */
    const char *path;
} types[] = {
    {EP_CHAT, "chat", "openai-chat-completions", "/v1/chat/completions"},
    {EP_COMPLETIONS, "completions", "openai-completions", "/v1/completions"},
    {EP_EMBEDDINGS, "embeddings", "openai-embeddings", "/v1/embeddings"},
    {EP_RANKINGS, "rankings", "nim-rankings", "/v1/ranking"},
    {EP_RESPONSES, "responses", "openai-responses", "/v1/responses"},
    {EP_RAW, "raw", "raw", "/"},
};
#define NTYPES (sizeof types / sizeof types[0])

/* Case-insensitive, with '_' and '-' the same, as AIPerf's enum lookup is. */
static bool name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = (char)tolower((unsigned char)*a), y = (char)tolower((unsigned char)*b);
        if (x == '_')
            x = '-';
        if (y == '_')
            y = '-';
        if (x != y)
            return false;
    }
    return *a == *b;
}

int endpoint_type_parse(const char *s, enum endpoint_type *out)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (name_eq(s, types[i].name) || name_eq(s, types[i].member)) {
            *out = types[i].t;
            return 0;
        }
    return ERR_INVALID;
}

const char *endpoint_type_name(enum endpoint_type t)
{
    return types[t].name;
}

const char *endpoint_default_path(enum endpoint_type t)
{
    return types[t].path;
}

static int copy_part(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return ERR_TOO_LARGE;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

int url_parse(const char *s, struct url *u, struct diag *d)
{
    memset(u, 0, sizeof *u);
    const char *p = s;
    const char *sep = strstr(s, "://");
    if (sep) {
        size_t n = (size_t)(sep - s);
        if (n == 4 && !strncasecmp(s, "http", 4))
            u->tls = false;
        else if (n == 5 && !strncasecmp(s, "https", 5))
            u->tls = true;
        else
            return diag_set(d, ERR_INVALID, "--url '%s': unsupported scheme '%.*s'", s, (int)n, s);
        p = sep + 3;
    }
    const char *host_end, *rest;
    const char *hs = p;
    if (*p == '[') {
        host_end = strchr(p, ']');
        if (!host_end)
            return diag_set(d, ERR_INVALID, "--url '%s': unterminated '[' in host", s);
        hs = p + 1;
        rest = host_end + 1;
    } else {
        host_end = p + strcspn(p, ":/?#");
        rest = host_end;
    }
    if (host_end == hs)
        return diag_set(d, ERR_INVALID, "--url '%s': no host", s);
    if (copy_part(u->host, sizeof u->host, hs, (size_t)(host_end - hs)))
        return diag_set(d, ERR_INVALID, "--url '%s': host too long", s);
    const char *def_port = u->tls ? "443" : "80";
    bool explicit_port = false;
    if (*rest == ':') {
        rest++;
        size_t n = strspn(rest, "0123456789");
        if (n == 0 || n > 5 || (rest[n] && rest[n] != '/'))
            return diag_set(d, ERR_INVALID, "--url '%s': bad port", s);
        long port = strtol(rest, NULL, 10);
        if (port < 1 || port > 65535)
            return diag_set(d, ERR_INVALID, "--url '%s': port out of range", s);
        snprintf(u->port, sizeof u->port, "%ld", port);
        explicit_port = strcmp(u->port, def_port) != 0;
        rest += n;
    } else {
        snprintf(u->port, sizeof u->port, "%s", def_port);
    }
    if (*rest && *rest != '/')
        return diag_set(d, ERR_INVALID, "--url '%s': unexpected '%c' after the host", s, *rest);
    size_t plen = strlen(rest);
    while (plen && rest[plen - 1] == '/')
        plen--;
    if (copy_part(u->path, sizeof u->path, rest, plen))
        return diag_set(d, ERR_INVALID, "--url '%s': path too long", s);
    bool v6 = strchr(u->host, ':') != NULL;
    snprintf(u->authority, sizeof u->authority, "%s%s%s%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "",
             explicit_port ? ":" : "", explicit_port ? u->port : "");
    return 0;
}

int url_join_path(const struct url *u, const char *endpoint_path, char *out, size_t cap)
{
    while (*endpoint_path == '/')
        endpoint_path++;
    int n = snprintf(out, cap, "%s/%s", u->path, endpoint_path);
    return n < 0 || (size_t)n >= cap ? ERR_TOO_LARGE : 0;
}

/* ---- response payloads ---- */

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

static long get_long(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

static void take_usage(const cJSON *u, struct ep_chunk *c)
{
    if (!cJSON_IsObject(u))
        return;
    c->has_usage = true;
    long p = get_long(u, "prompt_tokens"), q = get_long(u, "completion_tokens");
    if (p < 0)
        p = get_long(u, "input_tokens");
    if (q < 0)
        q = get_long(u, "output_tokens");
    long r = get_long(u, "reasoning_tokens");
    const cJSON *det = get(u, "completion_tokens_details");
    if (!det)
        det = get(u, "output_tokens_details");
    if (r < 0 && det)
        r = get_long(det, "reasoning_tokens");
    c->prompt_tokens = p;
    c->completion_tokens = q;
    c->reasoning_tokens = r;
}

static void set_finish(struct ep_chunk *c, const cJSON *v)
{
    if (cJSON_IsString(v) && v->valuestring)
        snprintf(c->finish, sizeof c->finish, "%s", v->valuestring);
}

static void take_content(struct ep_chunk *c, const cJSON *v, struct buf *text)
{
    if (!cJSON_IsString(v) || !v->valuestring)
        return;
    size_t n = strlen(v->valuestring);
    c->has_content = true;
    c->content_len += n;
    if (text)
        (void)buf_append(text, v->valuestring, n);
}

static void take_reasoning(struct ep_chunk *c, const cJSON *o)
{
    const cJSON *v = get(o, "reasoning_content");
    if (!cJSON_IsString(v) || !v->valuestring || !v->valuestring[0])
        v = get(o, "reasoning");
    if (cJSON_IsString(v) && v->valuestring && v->valuestring[0]) {
        c->has_reasoning = true;
        c->reasoning_len += strlen(v->valuestring);
    }
}

/* Chat and completions, chunks and whole bodies: choices[0] carries the text (a usage-only
 * final chunk has "choices": [] and is not an error). */
static void parse_choices(const cJSON *root, bool chat, struct ep_chunk *c, struct buf *text)
{
    const cJSON *choices = get(root, "choices");
    if (!choices && !get(root, "usage")) {
        c->bad = true;
        return;
    }
    const cJSON *ch = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    if (ch) {
        set_finish(c, get(ch, "finish_reason"));
        const cJSON *m = get(ch, "delta");
        if (!m)
            m = get(ch, "message");
        if (m) {
            take_content(c, get(m, "content"), text);
            take_reasoning(c, m);
        } else if (!chat || get(ch, "text")) {
            take_content(c, get(ch, "text"), text);
        }
    }
    take_usage(get(root, "usage"), c);
}

static void parse_responses(const cJSON *root, bool stream, struct ep_chunk *c, struct buf *text)
{
    const cJSON *type = get(root, "type");
    if (stream && cJSON_IsString(type)) {
        const char *t = type->valuestring;
        if (!strcmp(t, "response.output_text.delta")) {
            take_content(c, get(root, "delta"), text);
        } else if (strstr(t, "reasoning") && strstr(t, ".delta")) {
            const cJSON *dl = get(root, "delta");
            if (cJSON_IsString(dl) && dl->valuestring[0]) {
                c->has_reasoning = true;
                c->reasoning_len += strlen(dl->valuestring);
            }
        } else if (!strcmp(t, "response.completed") || !strcmp(t, "response.incomplete") ||
                   !strcmp(t, "response.failed")) {
            const cJSON *r = get(root, "response");
            take_usage(get(r, "usage"), c);
            set_finish(c, get(r, "status"));
        }
        return;
    }
    /* A whole Response object: the output_text parts of every message output. */
    const cJSON *out = get(root, "output");
    if (!cJSON_IsArray(out) && !get(root, "output_text")) {
        c->bad = true;
        return;
    }
    const cJSON *ot = get(root, "output_text");
    if (cJSON_IsString(ot)) {
        take_content(c, ot, text);
    } else {
        const cJSON *item;
        cJSON_ArrayForEach(item, out)
        {
            const cJSON *parts = get(item, "content");
            const cJSON *part;
            cJSON_ArrayForEach(part, parts)
            {
                const cJSON *pt = get(part, "type");
                if (cJSON_IsString(pt) && !strcmp(pt->valuestring, "output_text"))
                    take_content(c, get(part, "text"), text);
            }
            const cJSON *it = get(item, "type");
            if (cJSON_IsString(it) && !strcmp(it->valuestring, "reasoning"))
                c->has_reasoning = true;
        }
    }
    take_usage(get(root, "usage"), c);
    set_finish(c, get(root, "status"));
}

void endpoint_parse(enum endpoint_type t, bool stream, const char *data, size_t len,
                    struct ep_chunk *out, struct buf *text)
{
    memset(out, 0, sizeof *out);
    out->prompt_tokens = out->completion_tokens = out->reasoning_tokens = -1;
    if (len == 6 && !memcmp(data, "[DONE]", 6)) {
        out->done = true;
        return;
    }
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!root) {
        if (t == EP_RAW) { /* raw endpoints may stream plain text */
            out->has_content = true;
            out->content_len = len;
            if (text)
                (void)buf_append(text, data, len);
        } else {
            out->bad = true;
        }
        return;
    }
    const cJSON *errv = get(root, "error");
    if (errv && !get(root, "choices") && !get(root, "output")) {
        out->is_error = true;
        const cJSON *m = get(errv, "message");
        snprintf(out->error_msg, sizeof out->error_msg, "%s",
                 cJSON_IsString(m) ? m->valuestring
                                   : (cJSON_IsString(errv) ? errv->valuestring : "error"));
        cJSON_Delete(root);
        return;
    }
    switch (t) {
    case EP_CHAT:
        parse_choices(root, true, out, text);
        break;
    case EP_COMPLETIONS:
        parse_choices(root, false, out, text);
        break;
    case EP_EMBEDDINGS:
    case EP_RANKINGS:
        /* No text: a well-formed result is one (empty) response, as AIPerf counts it. */
        if (get(root, "data") || get(root, "results") || get(root, "rankings") ||
            cJSON_IsArray(root)) {
            out->has_content = true;
            take_usage(get(root, "usage"), out);
        } else {
            out->bad = true;
        }
        break;
    case EP_RESPONSES:
        parse_responses(root, stream, out, text);
        break;
    case EP_RAW:
        if (get(root, "choices") || get(root, "usage")) {
            parse_choices(root, false, out, text);
            out->bad = false;
        } else if (get(root, "type") || get(root, "output")) {
            parse_responses(root, stream, out, text);
        } else {
            out->has_content = true;
            out->content_len = len;
        }
        break;
    }
    cJSON_Delete(root);
}

/* ---- request headers ---- */

static bool hname_eq(const char *a, size_t alen, const char *b)
{
    return strlen(b) == alen && !strncasecmp(a, b, alen);
}

bool endpoint_header_secret(const char *name, size_t len, const char *const *extra, size_t nextra)
{
    if (hname_eq(name, len, "authorization") || hname_eq(name, len, "api-key") ||
        hname_eq(name, len, "x-api-key") || hname_eq(name, len, "proxy-authorization"))
        return true;
    for (size_t i = 0; i < nextra; i++)
        if (hname_eq(name, len, extra[i]))
            return true;
    return false;
}

static bool user_overrides(const char *const *user, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const char *colon = strchr(user[i], ':');
        if (colon) {
            size_t k = (size_t)(colon - user[i]);
            while (k && user[i][k - 1] == ' ')
                k--;
            if (hname_eq(user[i], k, name))
                return true;
        }
    }
    return false;
}

int endpoint_headers(struct buf *out, bool stream, const char *api_key,
                     const char *const *user_headers, size_t nuser, struct diag *d)
{
    for (size_t i = 0; i < nuser; i++) {
        const char *h = user_headers[i];
        const char *colon = strchr(h, ':');
        if (!colon || colon == h || strpbrk(h, "\r\n"))
            return diag_set(d, ERR_INVALID, "--header '%.*s': expected 'Name:Value'",
                            (int)strcspn(h, "\r\n:"), h);
    }
    static const char *const names[] = {"User-Agent", "Content-Type", "Accept", "Authorization"};
    const char *values[4] = {"metronome/1.0", "application/json",
                             stream ? "text/event-stream" : "application/json", NULL};
    for (int i = 0; i < 4; i++) {
        if (i == 3 && !api_key)
            continue;
        if (user_overrides(user_headers, nuser, names[i]))
            continue;
        if (i == 3)
            buf_printf(out, "Authorization: Bearer %s\r\n", api_key);
        else
            buf_printf(out, "%s: %s\r\n", names[i], values[i]);
    }
    for (size_t i = 0; i < nuser; i++) {
        const char *h = user_headers[i];
        const char *colon = strchr(h, ':');
        size_t k = (size_t)(colon - h);
        while (k && h[k - 1] == ' ')
            k--;
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        buf_printf(out, "%.*s: %s\r\n", (int)k, h, v);
    }
    return 0;
}
