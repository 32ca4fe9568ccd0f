/* Config files for `metronome profile`: a strict flat YAML subset (see profile_conf.h). */
#include "profile_conf.h"

#include "buf.h"
#include "xalloc.h"
#include "zio.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cparse {
    const char *name;
    long line;
    struct diag *d;
};

static int perr(struct cparse *c, int code, const char *msg, const char *arg)
{
    return diag_at(c->d, code, c->name, c->line, "%s%s", msg, arg ? arg : "");
}

/* The option a config key names: its canonical name or an alias, with '_' for '-'. */
static const struct profile_opt *find_key(const char *key, size_t n)
{
    char norm[128], dashed[132];
    if (n == 0 || n >= sizeof norm)
        return NULL;
    for (size_t i = 0; i < n; i++)
        norm[i] = key[i] == '_' ? '-' : key[i];
    norm[n] = '\0';
    snprintf(dashed, sizeof dashed, "--%s", norm);
    for (size_t i = 0; i < profile_nopts; i++) {
        const struct arg_spec *s = &profile_opts[i].spec;
        if (!strcmp(s->name, norm))
            return &profile_opts[i];
        for (const char *p = s->aliases; p && *p;) {
            while (*p == ' ')
                p++;
            const char *e = strchr(p, ' ');
            size_t m = e ? (size_t)(e - p) : strlen(p);
            if (m == strlen(dashed) && !memcmp(p, dashed, m))
                return &profile_opts[i];
            p += m;
        }
    }
    return NULL;
}

static const char *suggest_key(const char *key)
{
    const char *best = NULL;
    size_t best_d = 4;
    for (size_t i = 0; i < profile_nopts; i++) {
        size_t dist = args_edit_distance(key, profile_opts[i].spec.name);
        if (dist < best_d)
            best_d = dist, best = profile_opts[i].spec.name;
    }
    return best;
}

/* Replaces ${VAR} and ${VAR:default} in s[0..n) from the environment into out. */
static int substitute(struct cparse *c, const char *s, size_t n, struct buf *out)
{
    for (size_t i = 0; i < n;) {
        if (s[i] != '$' || i + 1 >= n || s[i + 1] != '{') {
            buf_putc(out, s[i++]);
            continue;
        }
        size_t j = i + 2;
        while (j < n && s[j] != '}')
            j++;
        if (j >= n)
            return perr(c, ERR_PARSE, "unterminated ${ in value", NULL);
        const char *var = s + i + 2;
        size_t vn = (size_t)(s + j - var);
        const char *colon = memchr(var, ':', vn);
        size_t name_n = colon ? (size_t)(colon - var) : vn;
        char name[128];
        if (name_n == 0 || name_n >= sizeof name)
            return perr(c, ERR_PARSE, "bad environment variable reference", NULL);
        memcpy(name, var, name_n);
        name[name_n] = '\0';
        for (size_t k = 0; k < name_n; k++)
            if (!(isalnum((unsigned char)name[k]) || name[k] == '_') ||
                (k == 0 && isdigit((unsigned char)name[k])))
                return perr(c, ERR_PARSE, "bad environment variable name: ", name);
        const char *val = getenv(name);
        if (val)
            buf_puts(out, val);
        else if (colon)
            buf_append(out, colon + 1, (size_t)(var + vn - colon - 1));
        else
            return perr(c, ERR_INVALID, "environment variable is not set: ", name);
        i = j + 1;
    }
    return 0;
}

/* One scalar starting at s[0..n) (already trimmed of leading blanks). Sets *used to the
 * bytes consumed; stops at `stop` characters outside quotes (for flow lists). */
static int scalar(struct cparse *c, const char *s, size_t n, const char *stop, struct buf *out,
                  size_t *used)
{
    struct buf raw;
    buf_init(&raw, PROFILE_CONF_MAX);
    size_t i = 0;
    int rc = 0;
    if (n > 0 && (s[0] == '"' || s[0] == '\'')) {
        char q = s[0];
        for (i = 1;; i++) {
            if (i >= n) {
                rc = perr(c, ERR_PARSE, "unterminated quoted string", NULL);
                goto done;
            }
            if (s[i] == q) {
                if (q == '\'' && i + 1 < n && s[i + 1] == '\'') {
                    buf_putc(&raw, '\'');
                    i++;
                    continue;
                }
                i++;
                break;
            }
            if (q == '"' && s[i] == '\\' && i + 1 < n) {
                char e = s[++i];
                char r = e == 'n' ? '\n' : e == 't' ? '\t' : (e == '"' || e == '\\') ? e : 0;
                if (!r) {
                    rc = perr(c, ERR_PARSE, "unsupported escape in string", NULL);
                    goto done;
                }
                buf_putc(&raw, r);
                continue;
            }
            buf_putc(&raw, s[i]);
        }
    } else {
        while (i < n && !strchr(stop, s[i]) &&
               !(s[i] == '#' && i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t')))
            i++;
        size_t e = i;
        while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
            e--;
        if (e > 0 && strchr("&*!|>{", s[0])) {
            rc = perr(c, ERR_PARSE,
                      "unsupported YAML feature (anchors, tags, block scalars "
                      "and mappings are not part of the subset)",
                      NULL);
            goto done;
        }
        buf_append(&raw, s, e);
    }
    *used = i;
    rc = substitute(c, raw.p ? raw.p : "", raw.len, out);
done:
    buf_free(&raw);
    return rc;
}

/* What may follow a value on its line: blanks and a comment. */
static int rest_is_blank(struct cparse *c, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < n && s[i] != '#')
        return perr(c, ERR_PARSE, "unexpected text after the value", NULL);
    return 0;
}

static void push_opt(struct profile_argv *out, const struct profile_opt *o, const char *v)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "--%s=%s", o->spec.name, v);
    profile_argv_push(out, b.p);
    buf_free(&b);
}

static int add_value(struct cparse *c, struct profile_argv *out, const struct profile_opt *o,
                     const char *v)
{
    if (o->spec.kind == ARG_FLAG) {
        bool t = !strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "yes");
        bool f = !strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "no");
        if (!t && !f)
            return perr(c, ERR_INVALID, "expected true or false for ", o->spec.name);
        push_opt(out, o, t ? "true" : "false");
        return 0;
    }
    push_opt(out, o, v);
    return 0;
}

static bool seen_before(const struct profile_opt **seen, size_t nseen, const struct profile_opt *o)
{
    for (size_t i = 0; i < nseen; i++)
        if (seen[i] == o)
            return true;
    return false;
}

int profile_conf_parse(const char *name, const char *text, size_t len, struct profile_argv *out,
                       struct diag *d)
{
    struct cparse c = {.name = name, .line = 0, .d = d};
    const struct profile_opt **seen = xcalloc(profile_nopts, sizeof *seen);
    size_t nseen = 0;
    const struct profile_opt *list_owner = NULL; /* a key awaiting "- item" lines */
    long list_line = 0;
    size_t list_items = 0;
    int rc = 0;
    struct buf v;
    buf_init(&v, PROFILE_CONF_MAX);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        c.line++;
        const char *s = p;
        size_t n = (size_t)(le - p);
        p = nl ? nl + 1 : end;
        if (n > 0 && s[n - 1] == '\r')
            n--;
        size_t ind = 0;
        while (ind < n && s[ind] == ' ')
            ind++;
        if (ind < n && s[ind] == '\t') {
            rc = perr(&c, ERR_PARSE, "tab in indentation (YAML allows only spaces)", NULL);
            goto out;
        }
        if (ind == n || s[ind] == '#')
            continue;
        if (c.line == 1 && n >= 3 && !memcmp(s, "---", 3) && ind == 0)
            continue;
        if (s[ind] == '-' && ind + 1 <= n && (ind + 1 == n || s[ind + 1] == ' ')) {
            if (!list_owner) {
                rc = perr(&c, ERR_PARSE, "list item without a key above it", NULL);
                goto out;
            }
            size_t k = ind + 1;
            while (k < n && s[k] == ' ')
                k++;
            size_t used = 0;
            buf_reset(&v);
            rc = scalar(&c, s + k, n - k, "", &v, &used);
            if (!rc)
                rc = rest_is_blank(&c, s + k + used, n - k - used);
            if (rc)
                goto out;
            if (list_owner->spec.kind != ARG_MULTI && list_items > 0) {
                rc = perr(&c, ERR_INVALID, "takes one value, not a list: ", list_owner->spec.name);
                goto out;
            }
            rc = add_value(&c, out, list_owner, v.p ? v.p : "");
            if (rc)
                goto out;
            list_items++;
            continue;
        }
        if (list_owner && list_items == 0) {
            c.line = list_line;
            rc = perr(&c, ERR_PARSE, "no value for ", list_owner->spec.name);
            goto out;
        }
        list_owner = NULL;
        if (ind > 0) {
            rc = perr(&c, ERR_PARSE,
                      "unexpected indentation: nested sections are not supported (one flat "
                      "mapping of option names; see docs/cli-profile.md)",
                      NULL);
            goto out;
        }
        const char *colon = memchr(s, ':', n);
        if (!colon || (colon + 1 < s + n && colon[1] != ' ')) {
            rc = perr(&c, ERR_PARSE, "expected 'name: value'", NULL);
            goto out;
        }
        size_t kn = (size_t)(colon - s);
        while (kn > 0 && s[kn - 1] == ' ')
            kn--;
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(kn < 127 ? kn : 127), s);
        const struct profile_opt *o = find_key(s, kn);
        if (!o || !strcmp(o->spec.name, "help") || !strcmp(o->spec.name, "config")) {
            const char *after = colon + 1;
            while (after < s + n && *after == ' ')
                after++;
            if (!o && (after == s + n || *after == '#' || !strcmp(key, "schemaVersion") ||
                       !strcmp(key, "schema_version"))) {
                rc = diag_at(d, ERR_PARSE, name, c.line,
                             "'%s' starts a nested section: metronome reads one flat mapping of "
                             "option names, not AIPerf's schema-2.0 YAML "
                             "(docs/aiperf-compatibility.md)",
                             key);
                goto out;
            }
            const char *sug = o ? NULL : suggest_key(key);
            if (sug)
                rc = diag_at(d, ERR_INVALID, name, c.line,
                             "unknown option '%s' (did you mean '%s'?)", key, sug);
            else
                rc = diag_at(d, ERR_INVALID, name, c.line, "unknown option '%s'", key);
            goto out;
        }
        if (o->route == PROFILE_REFUSE) {
            rc = diag_at(d, ERR_UNSUPPORTED, name, c.line, "not supported yet: --%s%s%s",
                         o->spec.name, o->spec.help ? ": " : "", o->spec.help ? o->spec.help : "");
            goto out;
        }
        if (seen_before(seen, nseen, o)) {
            rc = perr(&c, ERR_INVALID, "option given twice: ", o->spec.name);
            goto out;
        }
        seen[nseen++] = o;
        const char *val = colon + 1;
        size_t vn = (size_t)(s + n - val);
        while (vn > 0 && *val == ' ')
            val++, vn--;
        if (vn == 0 || *val == '#') {
            list_owner = o;
            list_line = c.line;
            list_items = 0;
            continue;
        }
        if (*val == '[') {
            size_t i = 1, items = 0;
            for (;;) {
                while (i < vn && val[i] == ' ')
                    i++;
                if (i < vn && val[i] == ']' && items == 0) {
                    i++;
                    break;
                }
                size_t used = 0;
                buf_reset(&v);
                rc = scalar(&c, val + i, vn - i, ",]", &v, &used);
                if (rc)
                    goto out;
                i += used;
                while (i < vn && val[i] == ' ')
                    i++;
                if (o->spec.kind != ARG_MULTI && items > 0) {
                    rc = perr(&c, ERR_INVALID, "takes one value, not a list: ", o->spec.name);
                    goto out;
                }
                rc = add_value(&c, out, o, v.p ? v.p : "");
                if (rc)
                    goto out;
                items++;
                if (i < vn && val[i] == ',') {
                    i++;
                    continue;
                }
                if (i < vn && val[i] == ']') {
                    i++;
                    break;
                }
                rc = perr(&c, ERR_PARSE, "unterminated list (flow lists end on their line)", NULL);
                goto out;
            }
            rc = rest_is_blank(&c, val + i, vn - i);
            if (rc)
                goto out;
            continue;
        }
        size_t used = 0;
        buf_reset(&v);
        rc = scalar(&c, val, vn, "", &v, &used);
        if (!rc)
            rc = rest_is_blank(&c, val + used, vn - used);
        if (!rc)
            rc = add_value(&c, out, o, v.p ? v.p : "");
        if (rc)
            goto out;
    }
    if (list_owner && list_items == 0) {
        c.line = list_line;
        rc = perr(&c, ERR_PARSE, "no value for ", list_owner->spec.name);
    }
out:
    buf_free(&v);
    free(seen);
    return rc;
}

int profile_conf_load(const char *path, struct profile_argv *out, struct diag *d)
{
    char *text = NULL;
    size_t len = 0;
    int rc = zio_read_all(path, PROFILE_CONF_MAX, &text, &len, d);
    if (rc)
        return rc;
    if (memchr(text, '\0', len)) {
        free(text);
        return diag_at(d, ERR_PARSE, path, 0, "not a text file");
    }
    rc = profile_conf_parse(path, text, len, out, d);
    free(text);
    return rc;
}

/* Options whose template line is live (uncommented), with the value written. The rest
 * appear commented out with their default, so the file documents every option. */
static const struct {
    const char *name;
    const char *value;
} live[] = {
    {"model-names", "[my-model]"},
    {"url", "[http://localhost:8000]"},
    {"endpoint-type", "chat"},
    {"streaming", "false"},
    {"concurrency", "1"},
    {"request-count", "10"},
    {"prompt-input-tokens-mean", "550"},
    {"ui-type", "simple"},
};

int profile_conf_template(const char *path, struct diag *d)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "# metronome profile configuration (a strict YAML subset: one flat mapping).\n"
                 "# Keys are the long option names of `metronome profile` (AIPerf's names);\n"
                 "# '-' and '_' are the same. Values: plain or quoted scalars, [a, b] or\n"
                 "# '- item' lists. ${VAR} and ${VAR:default} read the environment.\n"
                 "# Options given on the command line override this file.\n"
                 "# Run: metronome profile --config THIS_FILE\n"
                 "# Check: metronome profile validate-config --config THIS_FILE\n");
    for (size_t i = 0; i < profile_nopts; i++) {
        const struct profile_opt *o = &profile_opts[i];
        const struct arg_spec *s = &o->spec;
        if (o->route == PROFILE_REFUSE || !strcmp(s->name, "help") || !strcmp(s->name, "config") ||
            !strcmp(s->name, "api-key"))
            continue;
        const char *val = NULL;
        for (size_t k = 0; k < sizeof live / sizeof live[0]; k++)
            if (!strcmp(live[k].name, s->name))
                val = live[k].value;
        buf_printf(&b, "\n# %s%s%s\n", s->help ? s->help : "", s->def ? "; default: " : "",
                   s->def ? s->def : "");
        if (val)
            buf_printf(&b, "%s: %s\n", s->name, val);
        else if (s->kind == ARG_FLAG)
            buf_printf(&b, "# %s: false\n", s->name);
        else
            buf_printf(&b, "# %s: %s\n", s->name, s->metavar ? s->metavar : "VALUE");
    }
    buf_puts(&b, "\n# The API key is best left out of files: put it in the environment,\n"
                 "# e.g. api-key: ${OPENAI_API_KEY}\n");
    int rc = afile_write_all(path, b.p, b.len, d);
    buf_free(&b);
    return rc;
}
