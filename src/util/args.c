#include "args.h"

#include "xalloc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t args_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 64;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

/* Does spelling (with dashes, n bytes) name spec s? */
static bool spec_matches(const struct arg_spec *s, const char *spelling, size_t n)
{
    if (n > 2 && spelling[0] == '-' && spelling[1] == '-' && strlen(s->name) == n - 2 &&
        memcmp(s->name, spelling + 2, n - 2) == 0)
        return true;
    for (const char *p = s->aliases; p && *p;) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if ((size_t)(e - p) == n && memcmp(p, spelling, n) == 0)
            return true;
        p = e;
    }
    return false;
}

static int find(const struct arg_spec *specs, size_t nspecs, const char *spelling, size_t n)
{
    for (size_t i = 0; i < nspecs; i++)
        if (spec_matches(&specs[i], spelling, n))
            return (int)i;
    return -1;
}

/* The closest known spelling (canonical names and long aliases, without dashes), or NULL
 * when nothing is close. out holds the suggestion. */
static const char *suggest(const struct arg_spec *specs, size_t nspecs, const char *word, char *out,
                           size_t outsz)
{
    size_t best_d = 4;
    bool found = false;
    const char *w = word;
    while (*w == '-')
        w++;
    for (size_t i = 0; i < nspecs; i++) {
        const char *cand = specs[i].name;
        size_t cand_len = strlen(cand);
        const char *p = specs[i].aliases;
        for (;;) {
            char tmp[128];
            snprintf(tmp, sizeof tmp, "%.*s", (int)cand_len, cand);
            size_t dist = args_edit_distance(w, tmp);
            if (dist < best_d && dist <= cand_len / 3 + 1) {
                best_d = dist;
                snprintf(out, outsz, "%s", tmp);
                found = true;
            }
            /* Next long alias ("--name"); short ones are too short to suggest. */
            while (p && *p && !(p[0] == '-' && p[1] == '-'))
                p++;
            if (!p || !*p)
                break;
            cand = p + 2;
            cand_len = strcspn(cand, " ");
            p = cand + cand_len;
        }
    }
    return found ? out : NULL;
}

void args_free(struct args *a)
{
    if (a->multi)
        for (size_t i = 0; i < a->nspecs; i++)
            free(a->multi[i]);
    free(a->value);
    free(a->multi);
    free(a->count);
    free(a->pos);
    memset(a, 0, sizeof *a);
}

static void add_value(struct args *a, size_t i, const char *v)
{
    a->value[i] = v;
    a->count[i]++;
    if (a->specs[i].kind == ARG_MULTI) {
        a->multi[i] = xrealloc(a->multi[i], a->count[i] * sizeof *a->multi[i]);
        a->multi[i][a->count[i] - 1] = v;
    }
}

int args_parse(struct args *a, const struct arg_spec *specs, size_t nspecs, int argc, char **argv,
               struct diag *d)
{
    memset(a, 0, sizeof *a);
    a->specs = specs;
    a->nspecs = nspecs;
    a->value = xcalloc(nspecs, sizeof *a->value);
    a->multi = xcalloc(nspecs, sizeof *a->multi);
    a->count = xcalloc(nspecs, sizeof *a->count);
    a->pos = xcalloc((size_t)argc + 1, sizeof *a->pos);
    bool only_pos = false;
    for (int k = 0; k < argc; k++) {
        const char *arg = argv[k];
        if (only_pos || arg[0] != '-' || strcmp(arg, "-") == 0) {
            a->pos[a->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
        int i = find(specs, nspecs, arg, n);
        bool negated = false;
        if (i < 0 && n > 5 && strncmp(arg, "--no-", 5) == 0) {
            char tmp[128];
            int m = snprintf(tmp, sizeof tmp, "--%.*s", (int)(n - 5), arg + 5);
            i = m > 0 ? find(specs, nspecs, tmp, (size_t)m) : -1;
            negated = i >= 0 && specs[i].kind == ARG_FLAG;
            if (!negated)
                i = -1;
        }
        if (i < 0) {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)n, arg);
            char sbuf[128];
            const char *s = suggest(specs, nspecs, name, sbuf, sizeof sbuf);
            if (s)
                diag_set(d, ERR_INVALID, "unknown option '%s' (did you mean '--%s'?)", name, s);
            else
                diag_set(d, ERR_INVALID, "unknown option '%s'", name);
            args_free(a);
            return ERR_INVALID;
        }
        if (specs[i].kind == ARG_FLAG) {
            const char *v = negated ? "false" : "true";
            if (eq) {
                if (strcmp(eq + 1, "true") && strcmp(eq + 1, "false") && strcmp(eq + 1, "1") &&
                    strcmp(eq + 1, "0")) {
                    diag_set(d, ERR_INVALID, "option '--%s' takes no value other than true/false",
                             specs[i].name);
                    args_free(a);
                    return ERR_INVALID;
                }
                v = (!strcmp(eq + 1, "true") || !strcmp(eq + 1, "1")) ? "true" : "false";
            }
            add_value(a, (size_t)i, v);
            continue;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (k + 1 >= argc) {
                diag_set(d, ERR_INVALID, "option '--%s' needs a value (%s)", specs[i].name,
                         specs[i].metavar ? specs[i].metavar : "VALUE");
                args_free(a);
                return ERR_INVALID;
            }
            v = argv[++k];
        }
        add_value(a, (size_t)i, v);
    }
    return 0;
}

static size_t index_of(const struct args *a, const char *name)
{
    for (size_t i = 0; i < a->nspecs; i++)
        if (strcmp(a->specs[i].name, name) == 0)
            return i;
    fprintf(stderr, "metronome: internal error: no option named '%s'\n", name);
    abort();
}

const char *args_get(const struct args *a, const char *name)
{
    return a->value[index_of(a, name)];
}

bool args_has(const struct args *a, const char *name)
{
    return a->count[index_of(a, name)] > 0;
}

bool args_flag(const struct args *a, const char *name)
{
    const char *v = args_get(a, name);
    return v && strcmp(v, "true") == 0;
}

size_t args_count(const struct args *a, const char *name)
{
    size_t i = index_of(a, name);
    return a->specs[i].kind == ARG_MULTI ? a->count[i] : (a->count[i] > 0);
}

const char *args_multi(const struct args *a, const char *name, size_t i)
{
    size_t k = index_of(a, name);
    if (a->specs[k].kind != ARG_MULTI)
        return i == 0 ? a->value[k] : NULL;
    return i < a->count[k] ? a->multi[k][i] : NULL;
}

int args_long(const struct args *a, const char *name, long min, long max, long *out, struct diag *d)
{
    const char *v = args_get(a, name);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end)
        return diag_set(d, ERR_INVALID, "--%s: expected an integer, got '%s'", name, v);
    if (x < min || x > max)
        return diag_set(d, ERR_INVALID, "--%s: %ld is out of range [%ld, %ld]", name, x, min, max);
    *out = x;
    return 0;
}

int args_double(const struct args *a, const char *name, double min, double max, double *out,
                struct diag *d)
{
    const char *v = args_get(a, name);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x))
        return diag_set(d, ERR_INVALID, "--%s: expected a number, got '%s'", name, v);
    if (x < min || x > max)
        return diag_set(d, ERR_INVALID, "--%s: %g is out of range [%g, %g]", name, x, min, max);
    *out = x;
    return 0;
}

int args_choice(const struct args *a, const char *name, const char *choices, const char **out,
                struct diag *d)
{
    const char *v = args_get(a, name);
    if (!v)
        return 0;
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *e = strchr(p, '|');
        size_t m = e ? (size_t)(e - p) : strlen(p);
        if (m == n && memcmp(p, v, n) == 0) {
            *out = v;
            return 0;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return diag_set(d, ERR_INVALID, "--%s: '%s' is not one of %s", name, v, choices);
}

void args_print_help(FILE *f, const char *usage, const char *summary, const struct arg_spec *specs,
                     size_t nspecs)
{
    fprintf(f, "Usage: %s\n\n%s\n\nOptions:\n", usage, summary);
    for (size_t i = 0; i < nspecs; i++) {
        char left[160];
        int n = snprintf(left, sizeof left, "  --%s%s%s", specs[i].name,
                         specs[i].metavar ? " " : "", specs[i].metavar ? specs[i].metavar : "");
        if (n < 0)
            continue;
        fprintf(f, "%-36s %s", left, specs[i].help);
        if (specs[i].def)
            fprintf(f, " [default: %s]", specs[i].def);
        if (specs[i].aliases && *specs[i].aliases)
            fprintf(f, " (also: %s)", specs[i].aliases);
        fputc('\n', f);
    }
}
