#include "endpoint.h"

#include "jscan.h"

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

/* ---- response payloads ----
 *
 * Scanned with jscan (no tree, no allocation, no strtod): a streaming chat response is
 * tens of thousands of these a second and cJSON spent most of the worker's time here. */

static bool jstr_eq(const struct jval *v, const char *lit)
{
    size_t n = strlen(lit);
    return v->type == JT_STRING && !v->esc && v->n == n && !memcmp(v->p, lit, n);
}

static long jlong(const struct jval *v)
{
    int64_t x;
    return v->type == JT_NUMBER && jval_int(v, &x) == 0 && x >= 0 ? (long)x : -1;
}

/* Finds member `key` of object value o; true with *out. */
static bool member(const struct jval *o, const char *key, struct jval *out)
{
    struct jiter it;
    if (o->type != JT_OBJECT || jscan_enter(&it, o))
        return false;
    struct jval k, v;
    while (jscan_member(&it, &k, &v) == 1)
        if (jval_is(&k, key)) {
            *out = v;
            return true;
        }
    return false;
}

static void take_usage(const struct jval *u, struct ep_chunk *c)
{
    if (u->type != JT_OBJECT)
        return;
    struct jiter it;
    if (jscan_enter(&it, u))
        return;
    c->has_usage = true;
    struct jval k, v;
    while (jscan_member(&it, &k, &v) == 1) {
        if (jval_is(&k, "prompt_tokens") || jval_is(&k, "input_tokens"))
            c->prompt_tokens = jlong(&v);
        else if (jval_is(&k, "completion_tokens") || jval_is(&k, "output_tokens"))
            c->completion_tokens = jlong(&v);
        else if (jval_is(&k, "reasoning_tokens"))
            c->reasoning_tokens = jlong(&v);
        else if ((jval_is(&k, "completion_tokens_details") ||
                  jval_is(&k, "output_tokens_details")) &&
                 c->reasoning_tokens < 0) {
            struct jval r;
            if (member(&v, "reasoning_tokens", &r))
                c->reasoning_tokens = jlong(&r);
        }
    }
}

static void set_finish(struct ep_chunk *c, const struct jval *v)
{
    if (v->type != JT_STRING)
        return;
    size_t n = v->n < sizeof c->finish - 1 ? v->n : sizeof c->finish - 1;
    memcpy(c->finish, v->p, n);
    c->finish[n] = '\0';
}

static void take_content(struct ep_chunk *c, const struct jval *v, struct buf *text)
{
    if (v->type != JT_STRING)
        return;
    c->has_content = true;
    if (!v->esc) {
        c->content_len += v->n;
        if (text)
            (void)buf_append(text, v->p, v->n);
        return;
    }
    struct buf tmp;
    buf_init(&tmp, 0);
    if (jval_str(v, &tmp) == 0) {
        c->content_len += tmp.len;
        if (text)
            (void)buf_append(text, tmp.p, tmp.len);
    }
    buf_free(&tmp);
}

static void take_reasoning_str(struct ep_chunk *c, const struct jval *v)
{
    if (v->type == JT_STRING && v->n > 0) {
        c->has_reasoning = true;
        c->reasoning_len += v->n;
    }
}

/* A choice's delta or message: content, reasoning_content / reasoning. */
static void take_message(struct ep_chunk *c, const struct jval *m, struct buf *text)
{
    struct jiter it;
    if (jscan_enter(&it, m))
        return;
    struct jval k, v;
    while (jscan_member(&it, &k, &v) == 1) {
        if (jval_is(&k, "content"))
            take_content(c, &v, text);
        else if (jval_is(&k, "reasoning_content") || jval_is(&k, "reasoning"))
            take_reasoning_str(c, &v);
    }
}

/* choices[0] (a usage-only final chunk has "choices": [] and is not an error). */
static void take_choices(struct ep_chunk *c, const struct jval *choices, struct buf *text)
{
    struct jiter it;
    struct jval first;
    if (choices->type != JT_ARRAY || jscan_enter(&it, choices) || jscan_elem(&it, &first) != 1 ||
        first.type != JT_OBJECT)
        return;
    struct jiter ci;
    if (jscan_enter(&ci, &first))
        return;
    struct jval k, v;
    while (jscan_member(&ci, &k, &v) == 1) {
        if (jval_is(&k, "finish_reason"))
            set_finish(c, &v);
        else if ((jval_is(&k, "delta") || jval_is(&k, "message")) && v.type == JT_OBJECT)
            take_message(c, &v, text);
        else if (jval_is(&k, "text"))
            take_content(c, &v, text);
    }
}

/* A whole Response object: the output_text parts of every message output. */
static void take_output(struct ep_chunk *c, const struct jval *out, struct buf *text)
{
    struct jiter it;
    if (jscan_enter(&it, out))
        return;
    struct jval item;
    while (jscan_elem(&it, &item) == 1) {
        struct jval ty, parts;
        if (member(&item, "type", &ty) && jstr_eq(&ty, "reasoning"))
            c->has_reasoning = true;
        if (!member(&item, "content", &parts) || parts.type != JT_ARRAY)
            continue;
        struct jiter pi;
        if (jscan_enter(&pi, &parts))
            continue;
        struct jval part;
        while (jscan_elem(&pi, &part) == 1) {
            struct jval pt, tx;
            if (member(&part, "type", &pt) && jstr_eq(&pt, "output_text") &&
                member(&part, "text", &tx))
                take_content(c, &tx, text);
        }
    }
}

struct top {
    struct jval choices, usage, error, type, delta, response, output, output_text, status;
    bool has_choices, has_usage, has_error, has_type, has_delta, has_response, has_output,
        has_output_text, has_status, has_results;
};

void endpoint_parse(enum endpoint_type t, bool stream, const char *data, size_t len,
                    struct ep_chunk *out, struct buf *text)
{
    memset(out, 0, sizeof *out);
    out->prompt_tokens = out->completion_tokens = out->reasoning_tokens = -1;
    if (len == 6 && !memcmp(data, "[DONE]", 6)) {
        out->done = true;
        return;
    }
    struct jiter it;
    struct top f;
    memset(&f, 0, sizeof f);
    int rc = jscan_object(&it, data, len);
    if (rc == 0) {
        struct jval k, v;
        while ((rc = jscan_member(&it, &k, &v)) == 1) {
            if (jval_is(&k, "choices"))
                f.choices = v, f.has_choices = true;
            else if (jval_is(&k, "usage"))
                f.usage = v, f.has_usage = true;
            else if (jval_is(&k, "error"))
                f.error = v, f.has_error = true;
            else if (jval_is(&k, "type"))
                f.type = v, f.has_type = true;
            else if (jval_is(&k, "delta"))
                f.delta = v, f.has_delta = true;
            else if (jval_is(&k, "response"))
                f.response = v, f.has_response = true;
            else if (jval_is(&k, "output"))
                f.output = v, f.has_output = true;
            else if (jval_is(&k, "output_text"))
                f.output_text = v, f.has_output_text = true;
            else if (jval_is(&k, "status"))
                f.status = v, f.has_status = true;
            else if (jval_is(&k, "data") || jval_is(&k, "results") || jval_is(&k, "rankings"))
                f.has_results = true;
        }
    }
    if (rc < 0) {
        struct jiter ai;
        if ((t == EP_EMBEDDINGS || t == EP_RANKINGS) && jscan_array(&ai, data, len) == 0) {
            out->has_content = true; /* TEI-style rankings: a bare array */
        } else if (t == EP_RAW) {    /* raw endpoints may stream plain text */
            out->has_content = true;
            out->content_len = len;
            if (text)
                (void)buf_append(text, data, len);
        } else {
            out->bad = true;
        }
        return;
    }
    if (f.has_error && !f.has_choices && !f.has_output && f.error.type != JT_NULL) {
        out->is_error = true;
        struct jval m;
        struct buf msg;
        buf_init(&msg, sizeof out->error_msg - 1);
        if (member(&f.error, "message", &m) && m.type == JT_STRING)
            (void)jval_str(&m, &msg);
        else if (f.error.type == JT_STRING)
            (void)jval_str(&f.error, &msg);
        snprintf(out->error_msg, sizeof out->error_msg, "%s", msg.len ? msg.p : "error");
        buf_free(&msg);
        return;
    }
    bool responses = t == EP_RESPONSES || (t == EP_RAW && !f.has_choices &&
                                           (f.has_type || f.has_output || f.has_output_text));
    if (responses) {
        if (stream && f.has_type && f.type.type == JT_STRING) {
            struct jval ty = f.type;
            bool reasoning = memmem(ty.p, ty.n, "reasoning", 9) && ty.n > 6 &&
                             !memcmp(ty.p + ty.n - 6, ".delta", 6);
            if (jstr_eq(&ty, "response.output_text.delta")) {
                if (f.has_delta)
                    take_content(out, &f.delta, text);
            } else if (reasoning) {
                if (f.has_delta)
                    take_reasoning_str(out, &f.delta);
            } else if (jstr_eq(&ty, "response.completed") || jstr_eq(&ty, "response.incomplete") ||
                       jstr_eq(&ty, "response.failed")) {
                struct jval u, st;
                if (f.has_response && member(&f.response, "usage", &u))
                    take_usage(&u, out);
                if (f.has_response && member(&f.response, "status", &st))
                    set_finish(out, &st);
            }
            return;
        }
        if (!f.has_output && !f.has_output_text) {
            out->bad = t == EP_RESPONSES;
            if (t == EP_RAW)
                out->has_content = true, out->content_len = len;
            return;
        }
        if (f.has_output_text && f.output_text.type == JT_STRING)
            take_content(out, &f.output_text, text);
        else if (f.has_output && f.output.type == JT_ARRAY)
            take_output(out, &f.output, text);
        if (f.has_usage)
            take_usage(&f.usage, out);
        if (f.has_status)
            set_finish(out, &f.status);
        return;
    }
    switch (t) {
    case EP_CHAT:
    case EP_COMPLETIONS:
    case EP_RAW:
        if (!f.has_choices && !f.has_usage) {
            if (t == EP_RAW) {
                out->has_content = true;
                out->content_len = len;
            } else {
                out->bad = true;
            }
            return;
        }
        if (f.has_choices)
            take_choices(out, &f.choices, text);
        if (f.has_usage)
            take_usage(&f.usage, out);
        break;
    case EP_EMBEDDINGS:
    case EP_RANKINGS:
        /* No text: a well-formed result is one (empty) response, as AIPerf counts it. */
        if (f.has_results) {
            out->has_content = true;
            if (f.has_usage)
                take_usage(&f.usage, out);
        } else {
            out->bad = true;
        }
        break;
    case EP_RESPONSES:
        break;
    }
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
