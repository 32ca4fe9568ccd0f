/*
 * Sweep lists and multi-run options of `metronome profile` (AIPerf 0.13's semantics:
 * aiperf/config/sweep/expand.py, orchestrator/orchestrator.py, strategies.py), the run
 * layout, and the manifest metronome_sweep.json (docs/records-format.md, *Sweeps*).
 */
#include "profile_sweep.h"

#include "corpus.h"

#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The options AIPerf 0.13 turns into a sweep when given a comma list, with the config
 * path AIPerf sweeps (its "magic lists"), sorted by that path: AIPerf's grid expansion
 * sorts the dimensions by path, and its dir_name and variation order follow. */
static const struct {
    const char *opt;  /* metronome option (canonical name) */
    const char *path; /* AIPerf's config path */
    bool is_float;
    double min; /* smallest value allowed */
    bool min_open;
} sweepable[] = {
    {"prompt-input-tokens-mean", "datasets.main.prompts.isl.mean", false, 1, false},
    {"prompt-input-tokens-stddev", "datasets.main.prompts.isl.stddev", true, 0, false},
    {"prompt-output-tokens-mean", "datasets.main.prompts.osl.mean", false, 1, false},
    {"concurrency", "phases.profiling.concurrency", false, 1, false},
    {"prefill-concurrency", "phases.profiling.prefill_concurrency", false, 1, false},
    {"request-rate", "phases.profiling.rate", true, 0, true},
    {"request-count", "phases.profiling.requests", false, 1, false},
    {"conversation-num", "phases.profiling.sessions", false, 1, false},
    {"num-users", "phases.profiling.users", false, 1, false},
};

static int opt_idx(const char *name)
{
    for (size_t i = 0; i < profile_nopts; i++)
        if (!strcmp(profile_opts[i].spec.name, name))
            return (int)i;
    abort(); /* our own table lacks a name: a programming error */
}

/* The spelling of option i the user typed last (its value is the one used), else its
 * canonical name. */
static void typed_name(int argc, char **argv, int i, char *out, size_t cap)
{
    const struct arg_spec *sp = &profile_opts[i].spec;
    snprintf(out, cap, "--%s", sp->name);
    for (int k = 0; k < argc; k++) {
        const char *a = argv[k];
        if (a[0] != '-')
            continue;
        size_t n = strcspn(a, "=");
        if (n == strlen(sp->name) + 2 && a[1] == '-' && !strncmp(a + 2, sp->name, n - 2)) {
            snprintf(out, cap, "%.*s", (int)n, a);
            continue;
        }
        for (const char *p = sp->aliases; p && *p;) {
            while (*p == ' ')
                p++;
            size_t m = strcspn(p, " ");
            if (m && m == n && !strncmp(p, a, n))
                snprintf(out, cap, "%.*s", (int)n, a);
            p += m;
        }
    }
}

/* A number as Python's repr prints a float: the shortest round-trip form, ".0" added to
 * an integral value (AIPerf's dir names: rate_10.0). */
void sweep_py_float(double v, char *out, size_t cap)
{
    /* the fewest significant digits that read back as v, then Python's layout: fixed
     * notation for exponents -4..15, else scientific */
    char e[64];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    int exp10 = (int)strtol(strchr(e, 'e') + 1, NULL, 10);
    if (exp10 < -4 || exp10 >= 16) {
        snprintf(out, cap, "%s", e);
        return;
    }
    int decimals = prec - 1 - exp10;
    snprintf(out, cap, "%.*f", decimals > 0 ? decimals : 0, v);
    if (!strchr(out, '.'))
        snprintf(out + strlen(out), cap - strlen(out), ".0");
}

/* Parses one list item; 0 or ERR_INVALID naming the value and its position. */
static int parse_item(const char *opt, const char *list, const char *item, size_t len, size_t pos,
                      bool is_float, double min, bool min_open, double *out, struct diag *d)
{
    char buf[64];
    if (len == 0)
        return diag_set(d, ERR_INVALID, "%s: empty item %zu of '%s'", opt, pos, list);
    if (len >= sizeof buf)
        return diag_set(d, ERR_INVALID, "%s: value '%.*s' (item %zu of '%s') is too long", opt,
                        (int)len, item, pos, list);
    memcpy(buf, item, len);
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    double v;
    if (is_float) {
        v = strtod(buf, &end);
        if (end == buf || *end || errno || !isfinite(v) || v < min || (min_open && v <= min))
            return diag_set(d, ERR_INVALID, "%s: value '%s' (item %zu of '%s'): not a %s number",
                            opt, buf, pos, list, min_open ? "positive" : "non-negative");
    } else {
        long long n = strtoll(buf, &end, 10);
        if (end == buf || *end || errno || n < (long long)min || n > 1000000000LL)
            return diag_set(d, ERR_INVALID,
                            "%s: value '%s' (item %zu of '%s'): not a positive integer", opt, buf,
                            pos, list);
        v = (double)n;
    }
    *out = v;
    return 0;
}

static int parse_list(struct sweep_dim *dm, const char *list, struct diag *d)
{
    size_t pos = 1;
    for (const char *p = list;; pos++) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && (*p == ' '))
            p++, len--;
        while (len && p[len - 1] == ' ')
            len--;
        if (dm->n == SWEEP_MAX_VALUES)
            return diag_set(d, ERR_INVALID, "%s: more than %d values in '%s'", dm->option,
                            SWEEP_MAX_VALUES, list);
        size_t k = 0;
        /* by option: a recipe sweeps an option under its own path (prompts.isl) */
        for (; k + 1 < sizeof sweepable / sizeof sweepable[0]; k++)
            if (!strcmp(sweepable[k].opt, profile_opts[dm->opt].spec.name))
                break;
        double v;
        int rc = parse_item(dm->option, list, p, len, pos, dm->is_float, sweepable[k].min,
                            sweepable[k].min_open, &v, d);
        if (rc)
            return rc;
        for (size_t j = 0; j < dm->n; j++)
            if (dm->v[j] == v)
                return diag_set(d, ERR_INVALID,
                                "%s: value '%.*s' (item %zu of '%s') repeats item %zu", dm->option,
                                (int)len, p, pos, list, j + 1);
        dm->v[dm->n] = v;
        if (dm->is_float)
            sweep_py_float(v, dm->text[dm->n], sizeof dm->text[0]);
        else
            snprintf(dm->text[dm->n], sizeof dm->text[0], "%lld", (long long)v);
        dm->n++;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

/* Python-style enum match: case-insensitive, '-' and '_' the same. */
static bool enum_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a == '_' ? '-' : (char)(*a | 0x20);
        char y = *b == '_' ? '-' : (char)(*b | 0x20);
        if (x != y)
            return false;
    }
    return *a == *b;
}

/* A flag whose AIPerf default is true: off only when given as false (--no-NAME). */
static bool flag_default_on(const struct args *a, const char *name)
{
    const char *v = args_get(a, name);
    return !v || strcmp(v, "false") != 0;
}

static int get_double(const struct args *a, const char *name, double lo, double hi, bool open,
                      double *out, struct diag *d)
{
    const char *v = args_get(a, name);
    if (!v)
        return 0;
    char *end = NULL;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(x) || x < lo || x > hi ||
        (open && (x <= lo || x >= hi)))
        return diag_set(d, ERR_INVALID, "--%s: '%s' is not a number in %s%g, %g%s", name, v,
                        open ? "(" : "[", lo, hi, open ? ")" : "]");
    *out = x;
    return 0;
}

/* The profile option a --variant key names: AIPerf's alias table takes every CLI flag
 * without its dashes, kebab or snake case. -1 when unknown. */
static int variant_opt(const char *key)
{
    char k[96];
    snprintf(k, sizeof k, "%s", key);
    for (char *c = k; *c; c++)
        if (*c == '_')
            *c = '-';
    for (size_t i = 0; i < profile_nopts; i++) {
        const struct arg_spec *sp = &profile_opts[i].spec;
        if (!strcmp(sp->name, k))
            return (int)i;
        /* the aliases: "--model -m" */
        const char *al = sp->aliases;
        while (al && *al) {
            size_t n = strcspn(al, " ");
            if (n > 2 && al[0] == '-' && al[1] == '-' && n - 2 == strlen(k) &&
                !strncmp(al + 2, k, n - 2))
                return (int)i;
            al += n;
            while (*al == ' ')
                al++;
        }
    }
    return -1;
}

static char *trim(char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        p[--n] = '\0';
    return p;
}

static void scen_push(struct sweep_scen *sc, const char *a)
{
    sc->argv = xrealloc(sc->argv, (size_t)(sc->argc + 1) * sizeof *sc->argv);
    sc->argv[sc->argc++] = xstrdup(a);
}

/* One --variant value, AIPerf's parse_variant: "[name:] key=value, key=value, ...": a name
 * when there is a ':' with no '=' before it; values true/false, integers, floats, or text
 * ('quotes' stripped). i is the variant's position (the unnamed one's name is v<i>). */
static int parse_variant(const char *raw, size_t i, struct sweep_scen *sc, struct diag *d)
{
    char buf[2048];
    if (strlen(raw) >= sizeof buf)
        return diag_set(d, ERR_INVALID, "--variant: '%.60s...' is too long", raw);
    snprintf(buf, sizeof buf, "%s", raw);
    char *body = trim(buf);
    if (!*body)
        return diag_set(d, ERR_INVALID, "--variant '%s': the variant is empty", raw);
    char *colon = strchr(body, ':');
    snprintf(sc->label, sizeof sc->label, "v%zu", i);
    if (colon && !memchr(body, '=', (size_t)(colon - body))) {
        *colon = '\0';
        char *name = trim(body);
        if (!*name)
            return diag_set(d, ERR_INVALID, "--variant '%s': empty name before ':'", raw);
        snprintf(sc->label, sizeof sc->label, "%s", name);
        body = trim(colon + 1);
    }
    if (!*body)
        return diag_set(d, ERR_INVALID, "--variant '%s': empty body", raw);
    cJSON *params = cJSON_CreateObject();
    int rc = 0;
    for (char *tok = body; tok && !rc;) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        char *t = trim(tok);
        tok = comma ? comma + 1 : NULL;
        if (!*t)
            continue;
        char *eq = strchr(t, '=');
        if (!eq) {
            rc = diag_set(d, ERR_INVALID,
                          "--variant '%s': token '%s' is missing '=' (expected key=value)", raw, t);
            break;
        }
        *eq = '\0';
        char *key = trim(t), *val = trim(eq + 1);
        if (!*key) {
            rc = diag_set(d, ERR_INVALID, "--variant '%s': empty key", raw);
            break;
        }
        if (cJSON_GetObjectItemCaseSensitive(params, key)) {
            rc = diag_set(d, ERR_INVALID, "--variant '%s': duplicate key '%s'", raw, key);
            break;
        }
        int o = variant_opt(key);
        if (o < 0 || !strcmp(profile_opts[o].spec.name, "variant")) {
            rc = diag_set(d, ERR_INVALID,
                          "--variant '%s': unknown key '%s' (a profile option without its "
                          "dashes, e.g. concurrency, isl, request-rate)",
                          raw, key);
            break;
        }
        size_t vl = strlen(val);
        if (vl >= 2 && (val[0] == '\'' || val[0] == '"') && val[vl - 1] == val[0]) {
            val[vl - 1] = '\0';
            val++;
        }
        char opt[96];
        snprintf(opt, sizeof opt, "--%s", profile_opts[o].spec.name);
        bool t_ = !strcasecmp(val, "true"), f_ = !strcasecmp(val, "false");
        char *end = NULL;
        double num = strtod(val, &end);
        bool isnum = *val && end && !*end;
        if (profile_opts[o].spec.kind == ARG_FLAG) {
            if (!t_ && !f_) {
                rc = diag_set(d, ERR_INVALID, "--variant '%s': %s=%s: the flag takes true or false",
                              raw, key, val);
                break;
            }
            char a2[112];
            snprintf(a2, sizeof a2, "%s=%s", opt, t_ ? "true" : "false");
            scen_push(sc, a2);
            cJSON_AddBoolToObject(params, key, t_);
        } else {
            scen_push(sc, opt);
            scen_push(sc, t_ ? "true" : f_ ? "false" : val);
            if (t_ || f_)
                cJSON_AddBoolToObject(params, key, t_);
            else if (isnum)
                cJSON_AddNumberToObject(params, key, num);
            else
                cJSON_AddStringToObject(params, key, val);
        }
    }
    if (!rc && !cJSON_GetArraySize(params))
        rc = diag_set(d, ERR_INVALID, "--variant '%s': no key=value pairs", raw);
    if (!rc) {
        sc->params = cJSON_PrintUnformatted(params);
        /* AIPerf's dir_name falls back to the sanitized label: no '/', '\', '..', and none
         * of <>:"|?*; only dots left is variation_<i> */
        size_t o = 0;
        for (const char *c = sc->label; *c && o + 1 < sizeof sc->dir; c++) {
            if (c[0] == '.' && c[1] == '.') {
                c++;
                continue;
            }
            if (strchr("/\\<>:\"|?*", *c))
                continue;
            sc->dir[o++] = *c;
        }
        sc->dir[o] = '\0';
        if (strspn(sc->dir, ".") == o)
            snprintf(sc->dir, sizeof sc->dir, "variation_%zu", i);
    }
    cJSON_Delete(params);
    return rc;
}

int sweep_cfg_parse(struct sweep_cfg *s, int argc, char **argv, struct diag *d)
{
    memset(s, 0, sizeof *s);
    s->trials = 1;
    s->confidence = 0.95;
    s->consistent_seed = true;
    s->warmup_after_first_off = true;
    struct arg_spec *specs = xcalloc(profile_nopts, sizeof *specs);
    for (size_t i = 0; i < profile_nopts; i++)
        specs[i] = profile_opts[i].spec;
    struct args a;
    struct diag ignored = {0};
    /* A command line profile_plan_build will refuse: no sweep here, so that the plan
     * names the problem exactly as for a single run. */
    if (args_parse(&a, specs, profile_nopts, argc, argv, &ignored)) {
        free(specs);
        return 0;
    }
    int rc = 0;
    if (args_flag(&a, "help"))
        goto out;
    for (size_t k = 0; k < sizeof sweepable / sizeof sweepable[0]; k++) {
        const char *v = args_get(&a, sweepable[k].opt);
        if (!v || !strchr(v, ','))
            continue;
        struct sweep_dim *dm = &s->dims[s->ndims++];
        dm->opt = opt_idx(sweepable[k].opt);
        dm->path = sweepable[k].path;
        dm->leaf = strrchr(dm->path, '.') + 1;
        dm->is_float = sweepable[k].is_float;
        typed_name(argc, argv, dm->opt, dm->option, sizeof dm->option);
        snprintf(dm->canon, sizeof dm->canon, "--%s", sweepable[k].opt);
        if ((rc = parse_list(dm, v, d)))
            goto out;
    }
    /* AIPerf's user-centric phase runs at --user-centric-rate: a --request-rate list is
     * there the warmup's rate (phases.warmup.rate, the last dimension by path) when a
     * warmup takes it (a warmup and no --warmup-request-rate), else unused (no sweep) */
    for (size_t i = 0; i < s->ndims && args_has(&a, "user-centric-rate"); i++) {
        if (strcmp(profile_opts[s->dims[i].opt].spec.name, "request-rate"))
            continue;
        bool warm = args_has(&a, "warmup-request-count") || args_has(&a, "num-warmup-sessions") ||
                    args_has(&a, "warmup-duration");
        struct sweep_dim *dm = xmalloc(sizeof *dm);
        *dm = s->dims[i];
        memmove(&s->dims[i], &s->dims[i + 1], (s->ndims - i - 1) * sizeof *dm);
        s->ndims--;
        if (warm && !args_has(&a, "warmup-request-rate")) {
            dm->path = "phases.warmup.rate";
            s->dims[s->ndims++] = *dm;
        }
        free(dm);
        break;
    }
    /* --search-recipe: a log-spaced grid (recipe.c), alone */
    struct recipe_dim *rd = xcalloc(RECIPE_MAX_DIMS, sizeof *rd);
    size_t nrd = 0;
    if ((rc = recipe_parse(&a, &s->recipe, rd, &nrd, d))) {
        free(rd);
        goto out;
    }
    /* pareto-sweep takes the --concurrency list as its own (AIPerf's consumed magic list) */
    const cJSON *rpts = cJSON_GetObjectItem(s->recipe, "points");
    if (rpts && s->ndims == 1 && !strcmp(s->dims[0].path, "phases.profiling.concurrency")) {
        memset(&s->dims[0], 0, sizeof s->dims[0]);
        s->ndims = 0;
    }
    if (s->recipe && s->ndims) {
        rc = diag_set(d, ERR_INVALID, "--search-recipe: '%s' cannot be combined with the %s list",
                      args_get(&a, "search-recipe"), s->dims[0].option);
        free(rd);
        goto out;
    }
    for (size_t r = 0; s->recipe && r < nrd; r++) {
        struct sweep_dim *dm = &s->dims[s->ndims++];
        dm->opt = opt_idx(rd[r].opt);
        dm->path = rd[r].path;
        dm->leaf = strrchr(dm->path, '.') ? strrchr(dm->path, '.') + 1 : dm->path;
        snprintf(dm->option, sizeof dm->option, "--search-recipe");
        snprintf(dm->canon, sizeof dm->canon, "--%s", rd[r].opt);
        char list[SWEEP_MAX_VALUES * 12];
        size_t o = 0;
        for (size_t k = 0; k < rd[r].n; k++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%ld", k ? "," : "", rd[r].v[k]);
        if ((rc = parse_list(dm, list, d))) {
            free(rd);
            goto out;
        }
    }
    free(rd);
    /* --variant: AIPerf's ScenarioSweep, at least two, alone */
    size_t nvar = args_count(&a, "variant");
    if (nvar == 1) {
        rc = diag_set(d, ERR_INVALID,
                      "--variant: a single occurrence is rejected (AIPerf's rule): use the "
                      "options themselves for one run, --variant at least twice for a sweep");
        goto out;
    }
    if (nvar && s->recipe) {
        rc = diag_set(d, ERR_INVALID, "--variant cannot be combined with --search-recipe");
        goto out;
    }
    if (nvar && s->ndims) {
        rc = diag_set(d, ERR_INVALID, "--variant cannot be combined with the %s list",
                      s->dims[0].option);
        goto out;
    }
    if (nvar > SWEEP_MAX_POINTS) {
        rc = diag_set(d, ERR_INVALID, "the sweep has more than %d points", SWEEP_MAX_POINTS);
        goto out;
    }
    if (nvar) {
        s->scen = xcalloc(nvar, sizeof *s->scen);
        for (size_t i = 0; i < nvar; i++, s->nscen++)
            if ((rc = parse_variant(args_multi(&a, "variant", i), i, &s->scen[i], d)))
                goto out;
        for (size_t i = 0; i < nvar; i++)
            for (size_t j = 0; j < i; j++)
                if (!strcmp(s->scen[i].dir, s->scen[j].dir)) {
                    rc = diag_set(d, ERR_INVALID,
                                  "--variant: two variants would write the directory '%s'",
                                  s->scen[i].dir);
                    goto out;
                }
    }
    for (size_t i = 0; i < s->ndims; i++) {
        s->dims[i].display = s->dims[i].leaf;
        for (size_t j = 0; j < s->ndims; j++)
            if (i != j && !strcmp(s->dims[i].leaf, s->dims[j].leaf))
                s->dims[i].display = s->dims[i].path;
    }
    long runs = 1;
    if ((rc = args_long(&a, "num-profile-runs", 1, SWEEP_MAX_TRIALS, &runs, d)))
        goto out;
    s->trials = (int)runs;
    if ((rc = get_double(&a, "confidence-level", 0, 1, true, &s->confidence, d)) ||
        (rc = get_double(&a, "profile-run-cooldown-seconds", 0, 86400, false, &s->trial_cooldown,
                         d)) ||
        (rc = get_double(&a, "parameter-sweep-cooldown-seconds", 0, 86400, false,
                         &s->sweep_cooldown, d)))
        goto out;
    const char *v;
    s->consistent_seed = flag_default_on(&a, "set-consistent-seed");
    s->warmup_after_first_off = flag_default_on(&a, "profile-run-disable-warmup-after-first");
    s->same_seed = args_flag(&a, "parameter-sweep-same-seed");
    v = args_get(&a, "vary-seed-per-trial");
    s->vary_seed = v && strcmp(v, "false") != 0;
    if ((v = args_get(&a, "random-seed"))) {
        char *end = NULL;
        errno = 0;
        s->seed = strtoll(v, &end, 10);
        s->has_seed = end != v && !*end && !errno;
    }
    if (s->same_seed && !s->has_seed) {
        rc = diag_set(d, ERR_INVALID, "--parameter-sweep-same-seed requires --random-seed");
        goto out;
    }
    if ((v = args_get(&a, "parameter-sweep-mode"))) {
        if (enum_eq(v, "independent"))
            s->independent = true;
        else if (!enum_eq(v, "repeated")) {
            rc = diag_set(d, ERR_INVALID,
                          "--parameter-sweep-mode: '%s' is not one of independent, repeated", v);
            goto out;
        }
    }
    if ((v = args_get(&a, "sweep-type"))) {
        if (enum_eq(v, "zip"))
            s->zip = true;
        else if (!enum_eq(v, "grid")) {
            rc = diag_set(d, ERR_INVALID, "--sweep-type: '%s' is not one of grid, zip", v);
            goto out;
        }
    }
    snprintf(s->conv_stat, sizeof s->conv_stat, "avg");
    if ((v = args_get(&a, "convergence-stat"))) {
        static const char *const st[] = {"avg", "p50", "p90", "p95", "p99", "min", "max"};
        size_t k = 0;
        while (k < 7 && !enum_eq(v, st[k]))
            k++;
        if (k == 7) {
            rc = diag_set(
                d, ERR_INVALID,
                "--convergence-stat: '%s' is not one of avg, p50, p90, p95, p99, min, max", v);
            goto out;
        }
        snprintf(s->conv_stat, sizeof s->conv_stat, "%s", st[k]);
    }
    s->conv_mode = SWEEP_CONV_CI_WIDTH;
    if ((v = args_get(&a, "convergence-mode"))) {
        if (enum_eq(v, "cv"))
            s->conv_mode = SWEEP_CONV_CV;
        else if (enum_eq(v, "distribution")) {
            s->conv_mode = SWEEP_CONV_DISTRIBUTION;
            /* AIPerf refuses it too: the test reads each run's per-request records */
            const char *lv = args_get(&a, "export-level");
            if (lv && enum_eq(lv, "summary")) {
                rc = diag_set(d, ERR_INVALID,
                              "--convergence-mode distribution needs the per-request records "
                              "(profile_export.jsonl): not with --export-level summary");
                goto out;
            }
        } else if (!enum_eq(v, "ci-width")) {
            rc = diag_set(d, ERR_INVALID,
                          "--convergence-mode: '%s' is not one of ci-width, cv, distribution", v);
            goto out;
        }
    }
    /* AIPerf's per-mode defaults: CV 0.05, KS p-value 0.05, CI width 0.10 */
    s->conv_threshold =
        s->conv_mode == SWEEP_CONV_CV || s->conv_mode == SWEEP_CONV_DISTRIBUTION ? 0.05 : 0.10;
    if ((rc = get_double(&a, "convergence-threshold", 0, 1, true, &s->conv_threshold, d)))
        goto out;
    if ((v = args_get(&a, "convergence-metric"))) {
        if (s->trials <= 1) {
            rc = diag_set(d, ERR_INVALID, "--convergence-metric requires --num-profile-runs > 1");
            goto out;
        }
        s->conv_metric = xstrdup(v);
    } else {
        s->conv_mode = SWEEP_CONV_NONE;
    }
    /* The points: a recipe's own list (pareto-sweep's scenarios), grid (Cartesian product,
     * the last dimension fastest) or zip. */
    if (s->nscen) {
        s->npoints = s->nscen;
        s->idx = xcalloc(1, sizeof *s->idx);
        goto out;
    }
    if (rpts) {
        s->npoints = (size_t)cJSON_GetArraySize(rpts);
        s->idx = xcalloc(s->npoints * s->ndims, sizeof *s->idx);
        size_t p = 0;
        for (const cJSON *row = rpts->child; row; row = row->next, p++)
            for (size_t i = 0; i < s->ndims; i++) {
                double pv = cJSON_GetNumberValue(cJSON_GetArrayItem(row, (int)i));
                size_t k = 0;
                while (k + 1 < s->dims[i].n && s->dims[i].v[k] != pv)
                    k++;
                s->idx[p * s->ndims + i] = k;
            }
        goto out;
    }
    if (s->zip && s->ndims > 1) {
        for (size_t i = 1; i < s->ndims; i++)
            if (s->dims[i].n != s->dims[0].n) {
                rc = diag_set(d, ERR_INVALID, "--sweep-type zip: %s has %zu values, %s has %zu",
                              s->dims[0].option, s->dims[0].n, s->dims[i].option, s->dims[i].n);
                goto out;
            }
        s->npoints = s->dims[0].n;
    } else {
        s->npoints = 1;
        for (size_t i = 0; i < s->ndims; i++) {
            s->npoints *= s->dims[i].n;
            if (s->npoints > SWEEP_MAX_POINTS) {
                rc =
                    diag_set(d, ERR_INVALID, "the sweep has more than %d points", SWEEP_MAX_POINTS);
                goto out;
            }
        }
    }
    s->idx = xcalloc(s->npoints * (s->ndims ? s->ndims : 1), sizeof *s->idx);
    for (size_t p = 0; p < s->npoints; p++) {
        size_t rest = p;
        for (size_t i = s->ndims; i-- > 0;) {
            size_t k = s->zip ? p : rest % s->dims[i].n;
            if (!s->zip)
                rest /= s->dims[i].n;
            s->idx[p * s->ndims + i] = k;
        }
    }
out:
    args_free(&a);
    free(specs);
    if (rc)
        sweep_cfg_free(s);
    return rc;
}

void sweep_cfg_free(struct sweep_cfg *s)
{
    free(s->idx);
    free(s->conv_metric);
    cJSON_Delete(s->recipe);
    for (size_t i = 0; i < s->nscen; i++) {
        for (int k = 0; k < s->scen[i].argc; k++)
            free(s->scen[i].argv[k]);
        free(s->scen[i].argv);
        free(s->scen[i].params);
    }
    free(s->scen);
    memset(s, 0, sizeof *s);
}

bool sweep_cfg_active(const struct sweep_cfg *s)
{
    return s->ndims > 0 || s->nscen > 0 || s->trials > 1;
}

static const char *point_text(const struct sweep_cfg *s, size_t p, size_t i)
{
    return s->dims[i].text[s->idx[p * s->ndims + i]];
}

void sweep_point_dir(const struct sweep_cfg *s, size_t p, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    if (s->nscen) {
        snprintf(out, cap, "%s", s->scen[p].dir);
        return;
    }
    for (size_t i = 0; i < s->ndims && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s_%s", i ? "__" : "", s->dims[i].leaf,
                              point_text(s, p, i));
}

void sweep_point_label(const struct sweep_cfg *s, size_t p, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    if (s->nscen) {
        snprintf(out, cap, "%s", s->scen[p].label);
        return;
    }
    for (size_t i = 0; i < s->ndims && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s=%s", i ? ", " : "", s->dims[i].display,
                              point_text(s, p, i));
}

void sweep_point_vlabel(const struct sweep_cfg *s, size_t p, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    if (s->nscen) {
        snprintf(out, cap, "%s", s->scen[p].label); /* AIPerf: the scenario's name */
        return;
    }
    for (size_t i = 0; i < s->ndims && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s=%s", i ? ", " : "", s->dims[i].path,
                              point_text(s, p, i));
}

void sweep_run_dir(const struct sweep_cfg *s, size_t p, int trial, char *out, size_t cap)
{
    char pd[1024];
    sweep_point_dir(s, p, pd, sizeof pd);
    bool pts = s->ndims || s->nscen;
    if (!pts && s->trials <= 1)
        snprintf(out, cap, ".");
    else if (!pts)
        snprintf(out, cap, "profile_runs/run_%04d", trial + 1);
    else if (s->trials <= 1)
        snprintf(out, cap, "%s", pd);
    else if (!s->independent)
        snprintf(out, cap, "profile_runs/trial_%04d/%s", trial + 1, pd);
    else
        snprintf(out, cap, "%s/profile_runs/trial_%04d", pd, trial + 1);
}

/* A parameter value as JSON: an int, or a float (Python prints 10.0; cJSON prints 10,
 * which reads back as the same number). */
static cJSON *param_value(const struct sweep_cfg *s, size_t p, size_t i)
{
    return cJSON_CreateNumber(s->dims[i].v[s->idx[p * s->ndims + i]]);
}

cJSON *sweep_manifest_new(const struct sweep_cfg *s, const char *model)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "format", "metronome-sweep");
    cJSON_AddNumberToObject(m, "version", 1);
    cJSON_AddStringToObject(m, "sweep_type", s->zip ? "zip" : "grid");
    cJSON_AddStringToObject(m, "sweep_mode", s->independent ? "independent" : "repeated");
    cJSON_AddNumberToObject(m, "trials", s->trials);
    cJSON_AddNumberToObject(m, "confidence_level", s->confidence);
    cJSON_AddNumberToObject(m, "cooldown_seconds", s->trial_cooldown);
    cJSON_AddNumberToObject(m, "sweep_cooldown_seconds", s->sweep_cooldown);
    if (model)
        cJSON_AddStringToObject(m, "model", model);
    if (s->recipe)
        cJSON_AddItemToObject(m, "recipe", cJSON_Duplicate(s->recipe, true));
    if (s->conv_metric) {
        cJSON *c = cJSON_AddObjectToObject(m, "convergence");
        cJSON_AddStringToObject(c, "metric", s->conv_metric);
        cJSON_AddStringToObject(c, "stat", s->conv_stat);
        cJSON_AddStringToObject(c, "mode",
                                s->conv_mode == SWEEP_CONV_CV             ? "cv"
                                : s->conv_mode == SWEEP_CONV_DISTRIBUTION ? "distribution"
                                                                          : "ci-width");
        cJSON_AddNumberToObject(c, "threshold", s->conv_threshold);
    } else {
        cJSON_AddNullToObject(m, "convergence");
    }
    cJSON *params = cJSON_AddArrayToObject(m, "parameters");
    for (size_t i = 0; i < s->ndims; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", s->dims[i].display);
        cJSON_AddStringToObject(o, "option", s->dims[i].option);
        cJSON_AddStringToObject(o, "path", s->dims[i].path);
        cJSON_AddBoolToObject(o, "float", s->dims[i].is_float);
        cJSON *vals = cJSON_AddArrayToObject(o, "values");
        for (size_t k = 0; k < s->dims[i].n; k++)
            cJSON_AddItemToArray(vals, cJSON_CreateNumber(s->dims[i].v[k]));
        cJSON_AddItemToArray(params, o);
    }
    /* --variant: AIPerf keys a scenario sweep's aggregate by "benchmark", the variant's
     * config overrides as JSON text (here: the key=value pairs as given) */
    if (s->nscen) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", "benchmark");
        cJSON_AddStringToObject(o, "option", "--variant");
        cJSON_AddStringToObject(o, "path", "benchmark");
        cJSON_AddBoolToObject(o, "float", false);
        cJSON *vals = cJSON_AddArrayToObject(o, "values");
        for (size_t k = 0; k < s->nscen; k++)
            cJSON_AddItemToArray(vals, cJSON_CreateString(s->scen[k].params));
        cJSON_AddItemToArray(params, o);
    }
    cJSON *pts = cJSON_AddArrayToObject(m, "points");
    /* AIPerf 0.13 (_apply_consistent_seed_default): without --random-seed, a sweep or
     * repeated runs get 42 when --set-consistent-seed (default) is on; a plain
     * `--concurrency 1,2` sweep therefore runs with seeds 42, 43 (checked against its
     * run_config.json) */
    bool has_pts = s->ndims > 0 || s->nscen > 0;
    bool auto_seed = s->consistent_seed && (s->trials > 1 || has_pts);
    long long base = s->has_seed ? s->seed : auto_seed ? 42 : -1;
    bool seeded = s->has_seed || auto_seed;
    for (size_t p = 0; p < s->npoints; p++) {
        char buf[2048];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "index", (double)p);
        sweep_point_dir(s, p, buf, sizeof buf);
        cJSON_AddStringToObject(o, "dir", buf);
        sweep_point_label(s, p, buf, sizeof buf);
        cJSON_AddStringToObject(o, "label", buf);
        sweep_point_vlabel(s, p, buf, sizeof buf);
        cJSON_AddStringToObject(o, "variation_label", buf);
        cJSON *pv = cJSON_AddObjectToObject(o, "parameters");
        cJSON *vv = cJSON_AddObjectToObject(o, "variation_values");
        for (size_t i = 0; i < s->ndims; i++) {
            cJSON_AddItemToObject(pv, s->dims[i].display, param_value(s, p, i));
            cJSON_AddItemToObject(vv, s->dims[i].path, param_value(s, p, i));
        }
        if (s->nscen) {
            cJSON_AddStringToObject(pv, "benchmark", s->scen[p].params);
            cJSON_AddStringToObject(vv, "benchmark", s->scen[p].params);
        }
        if (seeded)
            cJSON_AddNumberToObject(
                o, "seed", (double)(s->same_seed || !has_pts ? base : base + (long long)p));
        else
            cJSON_AddNullToObject(o, "seed");
        cJSON *runs = cJSON_AddArrayToObject(o, "runs");
        for (int t = 0; t < s->trials; t++) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddNumberToObject(r, "trial", t + 1);
            if (seeded && s->vary_seed) {
                /* AIPerf's derive_variation_seed(root, "<label>:trial:<t>"): the first 8
                 * bytes of SHA-256("<root>:variation:<label>:trial:<t>"), big-endian, masked
                 * to 63 bits; the root is the base seed (not base + point), the label the
                 * variation label ("base" without a sweep), t 0-based. A decimal string:
                 * a JSON number would round it. */
                char lab[2048], txt[2200], hex[65];
                if (has_pts)
                    sweep_point_vlabel(s, p, lab, sizeof lab);
                else
                    snprintf(lab, sizeof lab, "base");
                int k = snprintf(txt, sizeof txt, "%lld:variation:%s:trial:%d", base, lab, t);
                sha256_hex(txt, k > 0 ? (size_t)k : 0, hex);
                memcpy(txt, hex, 16);
                txt[16] = '\0';
                unsigned long long seed = strtoull(txt, NULL, 16) & 0x7fffffffffffffffULL;
                snprintf(txt, sizeof txt, "%llu", seed);
                cJSON_AddStringToObject(r, "seed", txt);
            }
            sweep_run_dir(s, p, t, buf, sizeof buf);
            cJSON_AddStringToObject(r, "dir", buf);
            cJSON_AddStringToObject(r, "status", "not_run");
            cJSON_AddNullToObject(r, "exit_code");
            cJSON_AddItemToArray(runs, r);
        }
        cJSON_AddItemToArray(pts, o);
    }
    cJSON_AddBoolToObject(m, "complete", false);
    cJSON_AddBoolToObject(m, "cancelled", false);
    return m;
}

int sweep_manifest_write(const char *base, const cJSON *m, struct diag *d)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/metronome_sweep.json", base);
    char *text = cJSON_Print(m);
    if (!text)
        return diag_set(d, ERR_IO, "%s: out of memory", path);
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n] = '\n';
    text[n + 1] = '\0';
    int rc = afile_write_all(path, text, n + 1, d);
    free(text);
    return rc;
}

int sweep_manifest_read(const char *base, cJSON **out, struct diag *d)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/metronome_sweep.json", base);
    char *text = NULL;
    size_t len = 0;
    int rc = zio_read_all(path, 64u << 20, &text, &len, d);
    if (rc)
        return rc;
    cJSON *m = cJSON_ParseWithLength(text, len);
    free(text);
    if (!m)
        return diag_at(d, ERR_PARSE, path, 0, "not JSON");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(m, "format");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "version");
    const cJSON *pts = cJSON_GetObjectItemCaseSensitive(m, "points");
    if (!cJSON_IsString(f) || strcmp(f->valuestring, "metronome-sweep"))
        rc = diag_at(d, ERR_INVALID, path, 0, "field 'format': not \"metronome-sweep\"");
    else if (!cJSON_IsNumber(v) || v->valuedouble != 1)
        rc = diag_at(d, ERR_INVALID, path, 0, "field 'version': only version 1 is known");
    else if (!cJSON_IsArray(pts))
        rc = diag_at(d, ERR_INVALID, path, 0, "field 'points': not an array");
    for (const cJSON *p = pts ? pts->child : NULL; !rc && p; p = p->next) {
        const cJSON *dir = cJSON_GetObjectItemCaseSensitive(p, "dir");
        const cJSON *runs = cJSON_GetObjectItemCaseSensitive(p, "runs");
        if (!cJSON_IsString(dir) || !cJSON_IsArray(runs)) {
            rc = diag_at(d, ERR_INVALID, path, 0, "a point without 'dir' or 'runs'");
            break;
        }
        for (const cJSON *r = runs->child; r; r = r->next) {
            const cJSON *rd = cJSON_GetObjectItemCaseSensitive(r, "dir");
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(r, "status");
            /* The run dirs are read relative to the base: nothing may point outside it. */
            if (!cJSON_IsString(rd) || !cJSON_IsString(st) || rd->valuestring[0] == '/' ||
                strstr(rd->valuestring, "..")) {
                rc = diag_at(d, ERR_INVALID, path, 0,
                             "point '%s': a run without a relative 'dir' or a 'status'",
                             dir->valuestring);
                break;
            }
        }
    }
    if (rc) {
        cJSON_Delete(m);
        return rc;
    }
    *out = m;
    return 0;
}
