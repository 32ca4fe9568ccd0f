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
    /* AIPerf 0.13's three rankings APIs differ only in their bodies and paths, which the
     * trace holds: replay treats them as one type */
    static const char *const rankings[] = {"cohere-rankings", "hf-tei-rankings"};
    for (size_t i = 0; i < sizeof rankings / sizeof rankings[0]; i++)
        if (name_eq(s, rankings[i])) {
            *out = EP_RANKINGS;
            return 0;
        }
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

/* ---- URLs ----
 *
 * Everything from --url and the endpoint path reaches the request line or the Host header
 * verbatim, so anything that could end or split them (CR, LF, other control bytes, space,
 * DEL) is refused, as are non-ASCII bytes (a request target is ASCII: percent-encode them).
 * Messages show the URL with its secrets redacted (url_redact). */

int wire_check(const char *opt, const char *s, bool header_value, struct diag *d)
{
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        bool bad = header_value ? (c < 0x20 && c != '\t') || c == 0x7f : c <= 0x20 || c >= 0x7f;
        if (bad)
            return diag_set(d, ERR_INVALID,
                            "%s: %s 0x%02x at byte %zu (it would reach the request %s)", opt,
                            c == ' '   ? "space"
                            : c < 0x80 ? "control character"
                                       : "non-ASCII byte (percent-encode it)",
                            c, i, header_value ? "head" : "line");
    }
    return 0;
}

/* RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://". Its length, or
 * 0 when s does not start with one. */
static size_t scheme_len(const char *s, size_t n)
{
    if (!n || !isalpha((unsigned char)s[0]))
        return 0;
    size_t i = 1;
    while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
        i++;
    return i + 3 <= n && !memcmp(s + i, "://", 3) ? i : 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into dst (cap bytes); ERR_INVALID for a bad escape. */
static int pct_decode(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int h1 = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int h2 = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (h1 < 0 || h2 < 0)
                return ERR_INVALID;
            c = h1 * 16 + h2;
            i += 2;
        }
        if (k + 1 >= cap)
            return ERR_TOO_LARGE;
        dst[k++] = (char)c;
    }
    dst[k] = '\0';
    return 0;
}

static bool host_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int url_parse(const char *s, struct url *u, struct diag *d)
{
    memset(u, 0, sizeof *u);
    char shown[200]; /* the URL for messages: secrets redacted, long ones cut */
    {
        struct buf b;
        buf_init(&b, 0);
        url_redact(s, strlen(s), &b);
        if (b.len < sizeof shown)
            snprintf(shown, sizeof shown, "%s", b.p ? b.p : "");
        else
            snprintf(shown, sizeof shown, "%.*s...", (int)sizeof shown - 4, b.p);
        buf_free(&b);
    }
    int rc = wire_check("--url", s, false, d);
    if (rc)
        return rc;
    size_t slen = strlen(s);
    const char *p = s;
    size_t sl = scheme_len(s, slen);
    if (sl) {
        if (sl == 4 && !strncasecmp(s, "http", 4))
            u->tls = false;
        else if (sl == 5 && !strncasecmp(s, "https", 5))
            u->tls = true;
        else
            return diag_set(d, ERR_INVALID, "--url '%s': unsupported scheme '%.*s'", shown, (int)sl,
                            s);
        p = s + sl + 3;
    } else if (strstr(s, "://") && strstr(s, "://") < s + strcspn(s, "/?#")) {
        return diag_set(d, ERR_INVALID, "--url '%s': bad scheme", shown);
    }
    /* authority = [userinfo "@"] host [":" port], up to the first '/', '?' or '#' */
    const char *auth_end = p + strcspn(p, "/?#");
    const char *at = NULL;
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@')
            at = q;
    if (at) {
        if (pct_decode(u->userinfo, sizeof u->userinfo, p, (size_t)(at - p)))
            return diag_set(d, ERR_INVALID, "--url '%s': bad user information", shown);
        u->has_userinfo = true;
        p = at + 1;
    }
    const char *hs = p, *he, *rest;
    if (*p == '[') {
        he = memchr(p, ']', (size_t)(auth_end - p));
        if (!he)
            return diag_set(d, ERR_INVALID, "--url '%s': unterminated '[' in host", shown);
        hs = p + 1;
        for (const char *q = hs; q < he; q++)
            if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
                return diag_set(d, ERR_INVALID, "--url '%s': bad IPv6 address", shown);
        rest = he + 1;
    } else {
        he = p;
        while (he < auth_end && *he != ':')
            he++;
        for (const char *q = hs; q < he; q++)
            if (!host_char((unsigned char)*q))
                return diag_set(d, ERR_INVALID, "--url '%s': '%c' in the host name", shown, *q);
        rest = he;
    }
    if (he == hs)
        return diag_set(d, ERR_INVALID, "--url '%s': no host", shown);
    if (copy_part(u->host, sizeof u->host, hs, (size_t)(he - hs)))
        return diag_set(d, ERR_INVALID, "--url '%s': host too long", shown);
    const char *def_port = u->tls ? "443" : "80";
    bool explicit_port = false;
    if (*rest == ':') {
        rest++;
        size_t n = strspn(rest, "0123456789");
        if (n == 0 || n > 5 || rest + n != auth_end)
            return diag_set(d, ERR_INVALID, "--url '%s': bad port", shown);
        long port = strtol(rest, NULL, 10);
        if (port < 1 || port > 65535)
            return diag_set(d, ERR_INVALID, "--url '%s': port out of range", shown);
        snprintf(u->port, sizeof u->port, "%ld", port);
        explicit_port = strcmp(u->port, def_port) != 0;
        rest += n;
    } else {
        snprintf(u->port, sizeof u->port, "%s", def_port);
    }
    if (rest != auth_end)
        return diag_set(d, ERR_INVALID, "--url '%s': unexpected '%c' after the host", shown, *rest);
    /* path, then "?" query, then "#" fragment (never sent, as browsers and curl do) */
    size_t plen = strcspn(rest, "?#");
    const char *q = rest + plen;
    size_t keep = plen;
    while (keep && rest[keep - 1] == '/')
        keep--;
    if (copy_part(u->path, sizeof u->path, rest, keep))
        return diag_set(d, ERR_INVALID, "--url '%s': path too long", shown);
    if (*q == '?') {
        q++;
        if (copy_part(u->query, sizeof u->query, q, strcspn(q, "#")))
            return diag_set(d, ERR_INVALID, "--url '%s': query too long", shown);
    }
    bool v6 = strchr(u->host, ':') != NULL;
    snprintf(u->authority, sizeof u->authority, "%s%s%s%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "",
             explicit_port ? ":" : "", explicit_port ? u->port : "");
    return 0;
}

int url_join_path(const struct url *u, const char *endpoint_path, bool custom, char *out,
                  size_t cap)
{
    while (*endpoint_path == '/')
        endpoint_path++;
    /* AIPerf: a base URL ending in /v1 with a type's default path (which starts with v1/)
     * sends /v1/... once; a custom endpoint is joined as given. */
    size_t blen = strlen(u->path);
    if (!custom && blen >= 3 && !strcmp(u->path + blen - 3, "/v1") &&
        !strncmp(endpoint_path, "v1/", 3))
        blen -= 3;
    bool ep_query = strchr(endpoint_path, '?') != NULL;
    int n = snprintf(out, cap, "%.*s/%s%s%s", (int)blen, u->path, endpoint_path,
                     u->query[0] ? (ep_query ? "&" : "?") : "", u->query);
    return n < 0 || (size_t)n >= cap ? ERR_TOO_LARGE : 0;
}

/* ---- redaction ---- */

static const char REDACTED[] = "<redacted>";

bool url_redact(const char *s, size_t n, struct buf *out)
{
    bool changed = false;
    size_t i = scheme_len(s, n);
    if (i)
        i += 3;
    buf_append(out, s, i);
    /* userinfo: everything before the last '@' of the authority */
    size_t ae = i;
    while (ae < n && s[ae] != '/' && s[ae] != '?' && s[ae] != '#')
        ae++;
    size_t at = ae;
    for (size_t k = i; k < ae; k++)
        if (s[k] == '@')
            at = k;
    if (at < ae) {
        buf_puts(out, REDACTED);
        changed = true;
        i = at;
    }
    size_t qs = i;
    while (qs < n && s[qs] != '?' && s[qs] != '#')
        qs++;
    buf_append(out, s + i, qs - i);
    i = qs;
    if (i < n && s[i] == '?') {
        buf_putc(out, '?');
        i++;
        while (i < n && s[i] != '#') {
            size_t e = i;
            while (e < n && s[e] != '&' && s[e] != ';' && s[e] != '#')
                e++;
            const char *eq = memchr(s + i, '=', e - i);
            if (eq) {
                buf_append(out, s + i, (size_t)(eq - (s + i)) + 1);
                if (eq + 1 < s + e) {
                    buf_puts(out, REDACTED);
                    changed = true;
                }
            } else if (e > i) {
                buf_puts(out, REDACTED); /* a bare token: may be the key itself */
                changed = true;
            }
            i = e;
            if (i < n && s[i] != '#')
                buf_putc(out, s[i++]);
        }
    }
    if (i < n) { /* '#' fragment */
        buf_putc(out, '#');
        if (i + 1 < n) {
            buf_puts(out, REDACTED);
            changed = true;
        }
    }
    return changed;
}

static bool word_is(const char *w, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(w, lit, n);
}

bool url_redact_words(const char *s, struct buf *out)
{
    bool changed = false, url_next = false;
    size_t i = 0, n = strlen(s);
    while (i < n) {
        size_t e = i;
        while (e < n && s[e] != ' ')
            e++;
        const char *w = s + i;
        size_t wl = e - i, from = wl; /* the URL part of the word starts at `from` */
        if (url_next) {
            from = 0;
        } else if (wl > 6 && !memcmp(w, "--url=", 6)) {
            from = 6;
        } else {
            for (size_t k = 0; k + 3 <= wl; k++)
                if (!memcmp(w + k, "://", 3)) {
                    size_t b = k;
                    while (b > 0 && (isalnum((unsigned char)w[b - 1]) || w[b - 1] == '+' ||
                                     w[b - 1] == '-' || w[b - 1] == '.'))
                        b--;
                    from = b;
                    break;
                }
        }
        url_next = word_is(w, wl, "--url") || word_is(w, wl, "-u");
        buf_append(out, w, from);
        if (from < wl)
            changed |= url_redact(w + from, wl - from, out);
        i = e;
        while (i < n && s[i] == ' ')
            buf_putc(out, s[i++]);
    }
    if (!out->p)
        buf_puts(out, "");
    return changed;
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

/* The first member named key of the object o, which `from` handed out (NULL: o is whole;
 * see jscan_open). */
static bool member_of(struct jiter *from, const struct jval *o, const char *key, struct jval *out)
{
    struct jiter it;
    if (o->type != JT_OBJECT || jscan_open(&it, from, o))
        return false;
    struct jval k, v;
    while (jscan_member(&it, &k, &v) == 1)
        if (jval_is(&k, key)) {
            *out = v;
            return true;
        }
    return false;
}

static bool member(const struct jval *o, const char *key, struct jval *out)
{
    return member_of(NULL, o, key, out);
}

/* `from`: the iterator u came from when it may be a lazily handed-out container (NULL: u
 * is whole), as for every take_* below. */
static void take_usage(struct jiter *from, const struct jval *u, struct ep_chunk *c)
{
    if (u->type != JT_OBJECT)
        return;
    struct jiter it;
    if (jscan_open(&it, from, u))
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
            if (member_of(&it, &v, "reasoning_tokens", &r))
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

/* Where endpoint_parse_text wants reasoning text, for the duration of one call (a
 * thread-local rather than one more parameter through every take_* helper). */
static _Thread_local struct buf *tl_rtext;

static void take_reasoning_str(struct ep_chunk *c, const struct jval *v)
{
    if (v->type == JT_STRING && v->n > 0) {
        c->has_reasoning = true;
        c->reasoning_len += v->n;
        if (tl_rtext && !v->esc) {
            (void)buf_append(tl_rtext, v->p, v->n);
        } else if (tl_rtext) {
            struct buf tmp;
            buf_init(&tmp, 0);
            if (jval_str(v, &tmp) == 0)
                (void)buf_append(tl_rtext, tmp.p, tmp.len);
            buf_free(&tmp);
        }
    }
}

/* A choice's delta or message: content, reasoning_content / reasoning. */
static void take_message(struct ep_chunk *c, struct jiter *from, const struct jval *m,
                         struct buf *text)
{
    struct jiter it;
    if (jscan_open(&it, from, m))
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
static void take_choices(struct ep_chunk *c, struct jiter *from, const struct jval *choices,
                         struct buf *text)
{
    struct jiter arr, ci;
    struct jval k, v;
    if (!from) {
        if (jscan_enter_first(&ci, choices))
            return;
    } else if (choices->type != JT_ARRAY || jscan_open(&arr, from, choices) ||
               jscan_elem(&arr, &v) != 1 || v.type != JT_OBJECT || jscan_open(&ci, &arr, &v)) {
        return;
    }
    while (jscan_member(&ci, &k, &v) == 1) {
        if (jval_is(&k, "finish_reason"))
            set_finish(c, &v);
        else if ((jval_is(&k, "delta") || jval_is(&k, "message")) && v.type == JT_OBJECT)
            take_message(c, &ci, &v, text);
        else if (jval_is(&k, "text"))
            take_content(c, &v, text);
    }
    if (from) /* the other choices, validated in passing so the response's walk goes on */
        while (jscan_elem(&arr, &v) == 1)
            ;
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

static void chunk_clear(struct ep_chunk *c)
{
    memset(c, 0, sizeof *c);
    c->prompt_tokens = c->completion_tokens = c->reasoning_tokens = -1;
}

/* Undoes what take_choices took (text and reasoning text back to their lengths before). */
static void forget_choices(struct ep_chunk *c, struct buf *text, size_t text0, size_t rtext0)
{
    c->has_content = c->has_reasoning = false;
    c->content_len = c->reasoning_len = 0;
    c->finish[0] = '\0';
    if (text && text->p)
        text->p[text->len = text0] = '\0';
    if (tl_rtext && tl_rtext->p)
        tl_rtext->p[tl_rtext->len = rtext0] = '\0';
}

struct top {
    struct jval choices, usage, error, type, delta, response, output, output_text, status;
    bool has_choices, has_usage, has_error, has_type, has_delta, has_response, has_output,
        has_output_text, has_status, has_results;
};

void endpoint_parse_text(enum endpoint_type t, bool stream, const char *data, size_t len,
                         struct ep_chunk *out, struct buf *text, struct buf *rtext)
{
    tl_rtext = rtext;
    endpoint_parse(t, stream, data, len, out, text);
    tl_rtext = NULL;
}

static void parse(enum endpoint_type t, bool stream, const char *data, size_t len,
                  struct ep_chunk *out, struct buf *text, bool one_pass)
{
    chunk_clear(out);
    if (len == 6 && !memcmp(data, "[DONE]", 6)) {
        out->done = true;
        return;
    }
    struct jiter it;
    struct top f;
    memset(&f, 0, sizeof f);
    /* Chat and completions (every streamed chunk, every response of a closed loop) take
     * choices and usage in the one validating walk; what they took is undone below when
     * the JSON turns out malformed further on. */
    bool lazy = one_pass && (t == EP_CHAT || t == EP_COMPLETIONS);
    size_t text0 = text ? text->len : 0, rtext0 = tl_rtext ? tl_rtext->len : 0;
    int rc = lazy ? jscan_object_lazy(&it, data, len) : jscan_object(&it, data, len);
    if (rc == 0) {
        struct jval k, v;
        while ((rc = jscan_member(&it, &k, &v)) == 1) {
            if (jval_is(&k, "choices")) {
                if (lazy && f.has_choices) /* a repeated key: the last one counts */
                    forget_choices(out, text, text0, rtext0);
                f.choices = v, f.has_choices = true;
                if (lazy)
                    take_choices(out, &it, &v, text);
            } else if (jval_is(&k, "usage")) {
                f.usage = v, f.has_usage = true;
                if (lazy) {
                    out->has_usage = false;
                    out->prompt_tokens = out->completion_tokens = out->reasoning_tokens = -1;
                    take_usage(&it, &v, out);
                }
            } else if (lazy && (rc = jscan_complete(&it, &v)) < 0) { /* kept values are whole */
                break;
            } else if (jval_is(&k, "error"))
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
    if (rc < 0 && lazy) { /* nothing from a malformed payload counts */
        forget_choices(out, text, text0, rtext0);
        chunk_clear(out);
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
                    take_usage(NULL, &u, out);
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
            take_usage(NULL, &f.usage, out);
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
        if (f.has_choices && !lazy)
            take_choices(out, NULL, &f.choices, text);
        if (f.has_usage && !lazy)
            take_usage(NULL, &f.usage, out);
        break;
    case EP_EMBEDDINGS:
    case EP_RANKINGS:
        /* No text: a well-formed result is one (empty) response, as AIPerf counts it. */
        if (f.has_results) {
            out->has_content = true;
            if (f.has_usage)
                take_usage(NULL, &f.usage, out);
        } else {
            out->bad = true;
        }
        break;
    case EP_RESPONSES:
        break;
    }
}

void endpoint_parse(enum endpoint_type t, bool stream, const char *data, size_t len,
                    struct ep_chunk *out, struct buf *text)
{
    parse(t, stream, data, len, out, text, true);
}

void endpoint_parse_twopass(enum endpoint_type t, bool stream, const char *data, size_t len,
                            struct ep_chunk *out, struct buf *text, struct buf *rtext)
{
    tl_rtext = rtext;
    parse(t, stream, data, len, out, text, false);
    tl_rtext = NULL;
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

/* RFC 9110 token characters (header names). */
static bool is_tchar(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void base64(struct buf *out, const char *s, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        buf_append(out, q, 4);
    }
}

int endpoint_headers(struct buf *out, bool stream, const char *api_key, const char *userinfo,
                     const char *const *user_headers, size_t nuser, struct diag *d)
{
    for (size_t i = 0; i < nuser; i++) {
        const char *h = user_headers[i];
        const char *colon = strchr(h, ':');
        size_t k = colon ? (size_t)(colon - h) : 0;
        while (k && h[k - 1] == ' ')
            k--;
        if (!colon || k == 0)
            return diag_set(d, ERR_INVALID, "--header '%.*s': expected 'Name:Value'",
                            (int)strcspn(h, "\r\n:"), h);
        for (size_t j = 0; j < k; j++)
            if (!is_tchar((unsigned char)h[j]))
                return diag_set(d, ERR_INVALID,
                                "--header: byte 0x%02x in the name '%.*s' (a header name is "
                                "letters, digits and !#$%%&'*+-.^_`|~)",
                                (unsigned char)h[j], (int)strcspn(h, "\r\n:"), h);
        char opt[300];
        snprintf(opt, sizeof opt, "--header '%.*s'", (int)(k < 256 ? k : 256), h);
        int rc = wire_check(opt, colon + 1, true, d);
        if (rc)
            return rc;
    }
    if (api_key) {
        int rc = wire_check("--api-key", api_key, true, d);
        if (rc)
            return rc;
    }
    static const char *const names[] = {"User-Agent", "Content-Type", "Accept", "Authorization"};
    const char *values[4] = {"metronome/1.0", "application/json",
                             stream ? "text/event-stream" : "application/json", NULL};
    for (int i = 0; i < 4; i++) {
        if (i == 3 && !api_key && !userinfo)
            continue;
        if (user_overrides(user_headers, nuser, names[i]))
            continue;
        if (i == 3 && api_key) {
            buf_printf(out, "Authorization: Bearer %s\r\n", api_key);
        } else if (i == 3) {
            buf_puts(out, "Authorization: Basic ");
            base64(out, userinfo, strlen(userinfo));
            buf_puts(out, "\r\n");
        } else {
            buf_printf(out, "%s: %s\r\n", names[i], values[i]);
        }
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

int endpoint_session_header(const char *name, const char *const *user_headers, size_t nuser,
                            bool *user_wins, struct diag *d)
{
    size_t n = strlen(name);
    if (n == 0 || n > 128)
        return diag_set(d, ERR_INVALID, "--session-header '%.*s': %s", 128, name,
                        n ? "longer than 128 bytes" : "empty");
    for (size_t j = 0; j < n; j++)
        if (!is_tchar((unsigned char)name[j]))
            return diag_set(d, ERR_INVALID,
                            "--session-header '%.*s': byte 0x%02x (a header name is letters, "
                            "digits and !#$%%&'*+-.^_`|~)",
                            (int)strcspn(name, "\r\n"), name, (unsigned char)name[j]);
    static const char *const own[] = {"host", "content-length", "transfer-encoding", "connection",
                                      "x-request-id"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (hname_eq(name, n, own[i]))
            return diag_set(d, ERR_INVALID,
                            "--session-header '%s': metronome writes that header itself", name);
    *user_wins = user_overrides(user_headers, nuser, name);
    return 0;
}
