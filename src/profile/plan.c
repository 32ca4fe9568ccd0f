/* `metronome profile`: AIPerf options in, one argument vector per stage out. */
#include "loadshape.h"
#include "profile.h"
#include "tokenizer.h"

#include "buf.h"
#include "clock.h"
#include "endpoint.h"
#include "profile_conf.h"
#include "replay.h"
#include "report.h"
#include "shard.h"
#include "verdict.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void profile_argv_push(struct profile_argv *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = xrealloc(a->v, (size_t)a->cap * sizeof *a->v);
    }
    a->v[a->n++] = xstrdup(s);
    a->v[a->n] = NULL;
}

void profile_argv_free(struct profile_argv *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

void profile_plan_free(struct profile_plan *p)
{
    profile_argv_free(&p->pack);
    profile_argv_free(&p->replay);
    profile_argv_free(&p->report);
    free(p->artifact_base);
    free(p->artifact_dir);
    free(p->model);
    free(p->endpoint_type);
    free(p->request_rate);
    free(p->user_rate);
    free(p->redacted_cmdline);
    free(p->export_prefix);
    memset(p, 0, sizeof *p);
}

/* Compares ignoring case, with '-' and '_' the same (AIPerf's enum matching). */
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

const char *profile_endpoint_type(const char *name)
{
    static const char *const map[][2] = {
        {"chat", "chat"},
        {"openai-chat-completions", "chat"},
        {"completions", "completions"},
        {"openai-completions", "completions"},
        {"embeddings", "embeddings"},
        {"openai-embeddings", "embeddings"},
        {"responses", "responses"},
        {"openai-responses", "responses"},
        {"nim-rankings", "nim_rankings"},
        {"cohere-rankings", "cohere_rankings"},
        {"hf-tei-rankings", "hf_tei_rankings"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (enum_eq(name, map[i][0]))
            return map[i][1];
    return NULL;
}

const char *profile_dataset_type(const char *name)
{
    static const char *const map[][2] = {
        {"single-turn", "single_turn"},        {"multi-turn", "multi_turn"},
        {"random-pool", "random_pool"},        {"mooncake-trace", "mooncake_trace"},
        {"bailian-trace", "bailian_trace"},    {"raw-payload", "raw_payload"},
        {"burst-gpt-trace", "burstgpt_trace"}, {"burstgpt-trace", "burstgpt_trace"},
        {"azure-trace", "azure_trace"},        {"baseten-trace", "baseten_trace"},
        {"weka-trace", "weka_trace"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (enum_eq(name, map[i][0]))
            return map[i][1];
    return NULL;
}

static int opt_index(const char *name)
{
    for (size_t i = 0; i < profile_nopts; i++)
        if (!strcmp(profile_opts[i].spec.name, name))
            return (int)i;
    abort(); /* a name missing from our own table is a programming error */
}

/* The spelling the user typed for option i (an alias, or the canonical name). */
static int typed_pos(int argc, char **argv, size_t i, char *out, size_t cap)
{
    const struct arg_spec *s = &profile_opts[i].spec;
    snprintf(out, cap, "--%s", s->name);
    for (int k = 0; k < argc; k++) {
        const char *arg = argv[k];
        if (arg[0] != '-')
            continue;
        const char *eq = strchr(arg, '=');
        size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
        if (n == strlen(s->name) + 2 && !strncmp(arg + 2, s->name, n - 2) && arg[1] == '-') {
            snprintf(out, cap, "%.*s", (int)n, arg);
            return k;
        }
        for (const char *p = s->aliases; p && *p;) {
            while (*p == ' ')
                p++;
            const char *e = strchr(p, ' ');
            size_t m = e ? (size_t)(e - p) : strlen(p);
            if (m == n && !strncmp(p, arg, n)) {
                snprintf(out, cap, "%.*s", (int)n, arg);
                return k;
            }
            p += m;
        }
    }
    return argc;
}

static void typed_name(int argc, char **argv, size_t i, char *out, size_t cap)
{
    typed_pos(argc, argv, i, out, cap);
}

static void push2(struct profile_argv *a, const char *opt, const char *v)
{
    profile_argv_push(a, opt);
    profile_argv_push(a, v);
}

static void push_named(struct profile_argv *a, const char *name, const char *v)
{
    char opt[160];
    snprintf(opt, sizeof opt, "--%s", name);
    push2(a, opt, v);
}

/* Forwards option i as is to every stage its route names (special cases are handled by
 * the caller and skipped here). */
static void forward(struct profile_plan *p, const struct args *a, size_t i)
{
    const struct profile_opt *o = &profile_opts[i];
    struct profile_argv *stages[3] = {&p->pack, &p->replay, &p->report};
    unsigned bits[3] = {PROFILE_PACK, PROFILE_REPLAY, PROFILE_REPORT};
    for (int s = 0; s < 3; s++) {
        if (!(o->route & bits[s]))
            continue;
        if (o->spec.kind == ARG_FLAG) {
            char opt[160];
            snprintf(opt, sizeof opt, "--%s%s", o->spec.name,
                     args_flag(a, o->spec.name) ? "" : "=false");
            profile_argv_push(stages[s], opt);
        } else if (o->spec.kind == ARG_MULTI) {
            for (size_t k = 0; k < args_count(a, o->spec.name); k++)
                push_named(stages[s], o->spec.name, args_multi(a, o->spec.name, k));
        } else {
            push_named(stages[s], o->spec.name, args_get(a, o->spec.name));
        }
    }
}

static bool is_special(const char *name)
{
    static const char *const special[] = {
        "endpoint-type",
        "custom-dataset-type",
        "model-selection-strategy",
        "connection-reuse-strategy",
        "request-count",
        "num-dataset-entries",
        "conversation-num",
        "workers-max",
        "url",
        "arrival-pattern",
        "request-timeout-seconds",
        "export-level",
        "fixed-schedule",
        "prompt-corpus",
        "random-corpus-style",
    };
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        if (!strcmp(special[i], name))
            return true;
    return false;
}

/* argv as one line with the values of secret options replaced, for logs. */
static char *redact(int argc, char **argv)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "metronome profile");
    bool hide_next = false;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        bool secret_opt =
            !strncmp(s, "--api-key", 9) || !strcmp(s, "-H") || !strncmp(s, "--header", 8);
        buf_putc(&b, ' ');
        if (hide_next) {
            buf_puts(&b, "<redacted>");
            hide_next = false;
        } else if (secret_opt && strchr(s, '=')) {
            buf_append(&b, s, (size_t)(strchr(s, '=') - s));
            buf_puts(&b, "=<redacted>");
        } else {
            buf_puts(&b, s);
            hide_next = secret_opt;
        }
    }
    struct buf r; /* and the secrets of --url: userinfo, query values */
    buf_init(&r, 0);
    url_redact_words(b.p, &r);
    buf_free(&b);
    return buf_release(&r);
}

static int refuse(struct diag *d, int argc, char **argv, size_t i, const char *value)
{
    char name[160];
    typed_name(argc, argv, i, name, sizeof name);
    /* a refused option's table help, when it has one, is the reason */
    const char *why = profile_opts[i].route == PROFILE_REFUSE ? profile_opts[i].spec.help : NULL;
    if (value)
        return diag_set(d, ERR_UNSUPPORTED, "not supported yet: %s %s", name, value);
    return diag_set(d, ERR_UNSUPPORTED, "not supported yet: %s%s%s", name, why ? ": " : "",
                    why ? why : "");
}

/* Merges the config file (if any) under the command line: a multi-valued option given
 * on the command line replaces the file's values instead of adding to them. */
int profile_merged_argv(int argc, char **argv, struct profile_argv *out, struct diag *d)
{
    const char *conf = NULL;
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "--config") || !strcmp(argv[i], "-f")) && i + 1 < argc)
            conf = argv[i + 1];
        else if (!strncmp(argv[i], "--config=", 9))
            conf = argv[i] + 9;
        else if (!strcmp(argv[i], "--"))
            break;
    }
    if (conf) {
        struct profile_argv file = {0};
        int rc = profile_conf_load(conf, &file, d);
        if (rc) {
            profile_argv_free(&file);
            /* A bad file is bad input (exit 1), not a usage error; a refused option
             * stays a refusal (exit 2) wherever it was written. */
            return rc == ERR_INVALID ? ERR_PARSE : rc;
        }
        for (int k = 0; k < file.n; k++) {
            const char *eq = strchr(file.v[k], '=');
            size_t n = (size_t)(eq - file.v[k]);
            bool overridden = false;
            for (size_t i = 0; i < profile_nopts && !overridden; i++) {
                const struct arg_spec *s = &profile_opts[i].spec;
                if (s->kind != ARG_MULTI || strlen(s->name) != n - 2 ||
                    strncmp(s->name, file.v[k] + 2, n - 2))
                    continue;
                char tn[160];
                typed_name(argc, argv, i, tn, sizeof tn);
                for (int j = 0; j < argc; j++)
                    if (!strncmp(argv[j], tn, strlen(tn)) &&
                        (argv[j][strlen(tn)] == '\0' || argv[j][strlen(tn)] == '='))
                        overridden = true;
            }
            if (!overridden)
                profile_argv_push(out, file.v[k]);
        }
        profile_argv_free(&file);
    }
    for (int i = 0; i < argc; i++)
        profile_argv_push(out, argv[i]);
    return 0;
}

/* AIPerf's list options take every word up to the next option (`--server-metrics-formats
 * json csv jsonl`, `--gpu-telemetry URL URL`): those words become one comma-separated value.
 * A bare `--gpu-telemetry` means AIPerf's default DCGM endpoints; a bare `--server-metrics`
 * means what is already the default (every --url + /metrics) and is dropped. */
static void join_list_options(struct profile_argv *all)
{
    static const char *const lists[] = {"--server-metrics-formats", "--gpu-telemetry",
                                        "--server-metrics"};
    struct profile_argv out = {0};
    bool rest = false; /* after "--": left as is */
    for (int i = 0; i < all->n; i++) {
        const char *arg = all->v[i];
        int li = -1;
        for (int k = 0; k < 3 && !rest; k++)
            if (!strcmp(arg, lists[k]))
                li = k;
        if (!strcmp(arg, "--"))
            rest = true;
        if (li < 0) {
            profile_argv_push(&out, arg);
            continue;
        }
        struct buf v;
        buf_init(&v, 0);
        while (i + 1 < all->n && all->v[i + 1][0] != '-') {
            if (v.len)
                buf_putc(&v, ',');
            buf_puts(&v, all->v[++i]);
        }
        if (v.len) {
            profile_argv_push(&out, arg);
            profile_argv_push(&out, v.p);
        } else if (li == 1) {
            profile_argv_push(&out, arg);
            profile_argv_push(&out, "default");
        } else if (li == 0) {
            profile_argv_push(&out, arg); /* no value: the parser says so */
        }
        buf_free(&v);
    }
    profile_argv_free(all);
    *all = out;
}

int profile_plan_build(struct profile_plan *p, int argc, char **argv, bool *help, struct diag *d)
{
    memset(p, 0, sizeof *p);
    *help = false;
    struct profile_argv all = {0};
    int rc = profile_merged_argv(argc, argv, &all, d);
    if (rc) {
        profile_argv_free(&all);
        return rc;
    }
    join_list_options(&all);
    /* Refused options are named before parsing, so that one whose value is missing or
     * optional (AIPerf has a few) is still refused rather than a usage error. */
    for (int k = 0; k < all.n && strcmp(all.v[k], "--"); k++) {
        const char *arg = all.v[k];
        if (arg[0] != '-')
            continue;
        size_t n = strcspn(arg, "=");
        for (size_t i = 0; i < profile_nopts; i++) {
            char tmp[160];
            if (profile_opts[i].route != PROFILE_REFUSE)
                continue;
            char *one[1] = {(char *)arg};
            bool neg = n > 5 && !strncmp(arg, "--no-", 5) &&
                       !strncmp(arg + 5, profile_opts[i].spec.name, n - 5) &&
                       strlen(profile_opts[i].spec.name) == n - 5;
            if (neg || typed_pos(1, one, i, tmp, sizeof tmp) == 0) {
                const char *why = profile_opts[i].spec.help;
                rc = diag_set(d, ERR_UNSUPPORTED, "not supported yet: %.*s%s%s", (int)n, arg,
                              why ? ": " : "", why ? why : "");
                profile_argv_free(&all);
                return rc;
            }
        }
    }
    struct arg_spec *specs = xcalloc(profile_nopts, sizeof *specs);
    for (size_t i = 0; i < profile_nopts; i++)
        specs[i] = profile_opts[i].spec;
    struct args a;
    rc = args_parse(&a, specs, profile_nopts, all.n, all.v, d);
    if (rc) {
        free(specs);
        profile_argv_free(&all);
        return rc;
    }
    if (args_flag(&a, "help")) {
        *help = true;
        goto out;
    }
    if (a.npos > 0) {
        rc = diag_set(d, ERR_INVALID, "unexpected argument '%s'", a.pos[0]);
        goto out;
    }
    {
        /* The first refused option in the order they were typed. */
        size_t first = profile_nopts;
        int first_pos = all.n + 1;
        for (size_t i = 0; i < profile_nopts; i++) {
            char tmp[160];
            int pos;
            if (profile_opts[i].route != PROFILE_REFUSE || a.count[i] == 0)
                continue;
            pos = typed_pos(all.n, all.v, i, tmp, sizeof tmp);
            if (pos < first_pos)
                first_pos = pos, first = i;
        }
        if (first < profile_nopts) {
            rc = refuse(d, all.n, all.v, first, NULL);
            goto out;
        }
    }

    /* AIPerf 0.13 turns a comma list given to these into a parameter sweep (several
     * runs); metronome runs one configuration, so a list is refused, not truncated. */
    static const char *const sweepable[] = {
        "concurrency",
        "request-rate",
        "request-count",
        "prompt-input-tokens-mean",
        "prompt-input-tokens-stddev",
        "prompt-output-tokens-mean",
        "conversation-num",
    };
    for (size_t k = 0; k < sizeof sweepable / sizeof sweepable[0]; k++) {
        const char *sv = args_get(&a, sweepable[k]);
        /* with --user-centric-rate a --request-rate list that reaches here is unused
         * (AIPerf's user-centric phase takes its own rate; sweep.c) */
        if (k == 1 && args_has(&a, "user-centric-rate"))
            continue;
        if (sv && strchr(sv, ',')) {
            rc = refuse(d, all.n, all.v, (size_t)opt_index(sweepable[k]), sv);
            goto out;
        }
    }

    /* Values of the options profile checks itself. */
    const char *v;
    /* The report stage parses these after the run; a typo must not cost a whole run. */
    struct verdict_spec vs = {0};
    if ((v = args_get(&a, "goodput")) && (rc = verdict_parse_goodput(&vs, v, d)))
        goto out;
    for (size_t k = 0; k < args_count(&a, "fail-on"); k++)
        if ((rc = verdict_parse_fail_on(&vs, args_multi(&a, "fail-on", k), d)))
            goto out;
    /* --shard and --start-at: refused before pack runs (replay parses them again). */
    int sh_i, sh_n;
    int64_t start_ns;
    if ((v = args_get(&a, "shard")) && (rc = shard_parse(v, &sh_i, &sh_n, d)))
        goto out;
    if ((v = args_get(&a, "start-at")) && (rc = start_at_parse(v, clock_real_ns(), &start_ns, d)))
        goto out;
    if ((v = args_get(&a, "url-strategy")) && !enum_eq(v, "round-robin")) {
        rc = refuse(d, all.n, all.v, (size_t)opt_index("url-strategy"), v);
        goto out;
    }
    if ((v = args_get(&a, "transport")) && !enum_eq(v, "http")) {
        rc = refuse(d, all.n, all.v, (size_t)opt_index("transport"), v);
        goto out;
    }
    if ((v = args_get(&a, "connection-reuse-strategy"))) {
        enum conn_reuse cr;
        if ((rc = replay_conn_reuse_parse(v, &cr, d)))
            goto out;
        push_named(&p->replay, "connection-reuse-strategy", replay_conn_reuse_name(cr));
    }
    if ((v = args_get(&a, "request-content-type")) && !enum_eq(v, "application-json") &&
        strcmp(v, "application/json")) {
        rc = refuse(d, all.n, all.v, (size_t)opt_index("request-content-type"), v);
        goto out;
    }
    if ((v = args_get(&a, "prompt-corpus")) && !enum_eq(v, "sonnet")) {
        /* coding and random need generators metronome does not have */
        rc = refuse(d, all.n, all.v, (size_t)opt_index("prompt-corpus"), v);
        goto out;
    }
    if ((v = args_get(&a, "random-corpus-style"))) {
        if (!enum_eq(v, "vllm") && !enum_eq(v, "sglang")) {
            rc = diag_set(d, ERR_INVALID, "--random-corpus-style %s: expected vllm or sglang", v);
            goto out;
        }
        push_named(&p->pack, "random-corpus-style", enum_eq(v, "vllm") ? "vllm" : "sglang");
    }
    /* AIPerf 0.13: the first chunk's token count comes from the server's usage */
    if (args_flag(&a, "per-chunk-usage") && !args_flag(&a, "use-server-token-count")) {
        rc = diag_set(d, ERR_INVALID, "--per-chunk-usage requires --use-server-token-count");
        goto out;
    }
    /* control hooks and the readiness probe: a bad path, timeout, mode or interval is
     * refused before anything is packed */
    {
        struct replay_config hooks = {0};
        rc = replay_control_args(&a, &hooks, d);
        if (rc)
            goto out;
        /* the probe checks every --model name, as AIPerf's does */
        for (size_t k = 0; hooks.wait_timeout_s > 0 && k < args_count(&a, "model-names"); k++)
            for (const char *m = args_multi(&a, "model-names", k); *m;) {
                size_t n = strcspn(m, ",");
                if (n) {
                    char name[512];
                    snprintf(name, sizeof name, "%.*s", (int)n, m);
                    push_named(&p->replay, "wait-for-model-name", name);
                }
                m += n + (m[n] == ',');
            }
    }
    /* AIPerf 0.13's network latency flags: automatic measures the RTT, mean sets it (not
     * both), and the interval is automatic's. Checked here so that nothing is packed. */
    {
        double x;
        bool automatic = args_flag(&a, "network-latency-automatic");
        if ((rc = args_double(&a, "network-latency-mean", 0, 1e9, &x, d)) ||
            (rc = args_double(&a, "network-latency-ping-interval", 1e-9, 1e9, &x, d)))
            goto out;
        if (automatic && args_has(&a, "network-latency-mean")) {
            rc = diag_set(d, ERR_INVALID,
                          "--network-latency-automatic and --network-latency-mean cannot be used "
                          "together (automatic measures the RTT, mean sets it)");
            goto out;
        }
        if (!automatic && args_has(&a, "network-latency-ping-interval")) {
            rc = diag_set(d, ERR_INVALID,
                          "--network-latency-ping-interval only applies with "
                          "--network-latency-automatic");
            goto out;
        }
    }
    /* refused before anything is packed; pack would refuse it too */
    if (args_flag(&a, "tokenizer-trust-remote-code")) {
        rc = tokenizer_refuse_remote_code(d);
        goto out;
    }
    /* a model tokenizer counts the responses' text, as AIPerf does: replay keeps it in the
     * records and the report finds the tokenizer through run.json's trace header */
    /* --export-outputs-json needs the generated text in the records too */
    if (((v = args_get(&a, "tokenizer")) && strcmp(v, "builtin")) ||
        args_flag(&a, "export-outputs-json"))
        profile_argv_push(&p->replay, "--record-text");
    /* the records keep what trace_data needs; the report writes it where records have it */
    if (args_flag(&a, "export-http-trace"))
        profile_argv_push(&p->replay, "--record-http");
    if ((v = args_get(&a, "export-level")) && !enum_eq(v, "summary") && !enum_eq(v, "records") &&
        !enum_eq(v, "raw")) {
        rc = diag_set(d, ERR_INVALID, "--export-level: expected summary, records or raw, not '%s'",
                      v);
        goto out;
    }
    /* raw: the records keep each request's body and response events (and its headers) */
    if (v && enum_eq(v, "raw"))
        profile_argv_push(&p->replay, "--record-responses");
    if ((v = args_get(&a, "profile-export-prefix"))) {
        char base[512];
        if ((rc = report_export_prefix(v, base, sizeof base, d)))
            goto out;
        p->export_prefix = xstrdup(base);
        /* AIPerf 0.13 refuses a base whose BASE.json is outputs.json */
        if (args_flag(&a, "export-outputs-json") && !strcmp(base, "outputs")) {
            rc = diag_set(d, ERR_INVALID,
                          "--profile-export-prefix %s: BASE.json would be outputs.json, which "
                          "--export-outputs-json writes",
                          v);
            goto out;
        }
    }
    /* simple also when piped: a line every 10 s shows a CI log that the run is alive */
    p->ui = PROFILE_UI_SIMPLE;
    if (args_flag(&a, "disable-ui"))
        p->ui = PROFILE_UI_NONE;
    if ((v = args_get(&a, "ui-type"))) {
        if (enum_eq(v, "none"))
            p->ui = PROFILE_UI_NONE;
        else if (enum_eq(v, "simple"))
            p->ui = PROFILE_UI_SIMPLE;
        else if (enum_eq(v, "dashboard"))
            p->ui = PROFILE_UI_SIMPLE, p->ui_fallback = true;
        else {
            rc = diag_set(d, ERR_INVALID, "--ui-type: expected dashboard, simple or none");
            goto out;
        }
    }
    if ((v = args_get(&a, "log-level"))) {
        static const char *const levels[] = {"trace",   "debug",   "info",  "notice",
                                             "warning", "success", "error", "critical"};
        int lv = -1;
        for (int k = 0; k < 8; k++)
            if (enum_eq(v, levels[k]))
                lv = k;
        if (lv < 0) {
            rc = diag_set(d, ERR_INVALID,
                          "--log-level: expected trace, debug, info, notice, "
                          "warning, success, error or critical");
            goto out;
        }
        p->log_level = lv == 0 ? 2 : lv == 1 ? 1 : 0;
    }
    if (args_flag(&a, "verbose") && p->log_level < 1)
        p->log_level = 1;
    if (args_flag(&a, "extra-verbose"))
        p->log_level = 2;

    /* Models, endpoint, dataset type. */
    if (args_count(&a, "model-names") == 0) {
        rc = diag_set(d, ERR_INVALID, "--model-names (--model, -m) is required");
        goto out;
    }
    {
        const char *m0 = args_multi(&a, "model-names", 0);
        size_t n0 = strcspn(m0, ",");
        p->model = xstrndup(m0, n0);
        p->multi_model = args_count(&a, "model-names") > 1 || m0[n0] == ',';
    }
    const char *ep = "chat";
    if ((v = args_get(&a, "endpoint-type"))) {
        ep = profile_endpoint_type(v);
        if (!ep) {
            rc = refuse(d, all.n, all.v, (size_t)opt_index("endpoint-type"), v);
            goto out;
        }
    }
    p->endpoint_type = xstrdup(ep);
    push_named(&p->pack, "endpoint-type", ep);
    push_named(&p->replay, "endpoint-type", ep);
    if ((v = args_get(&a, "custom-dataset-type"))) {
        const char *t = profile_dataset_type(v);
        if (!t) {
            rc = refuse(d, all.n, all.v, (size_t)opt_index("custom-dataset-type"), v);
            goto out;
        }
        push_named(&p->pack, "custom-dataset-type", t);
    }
    if ((v = args_get(&a, "model-selection-strategy"))) {
        /* weighted is in AIPerf 0.13's enum, but its command line has no way to give the
         * weights (a run with it fails validation) and its dataset composers take only
         * round_robin and random: there is no behaviour to reproduce */
        if (enum_eq(v, "weighted")) {
            rc = diag_set(d, ERR_UNSUPPORTED,
                          "--model-selection-strategy %s: not supported (AIPerf 0.13 takes no "
                          "per-model weights on its command line and refuses it as well)",
                          v);
            goto out;
        }
        if (!enum_eq(v, "round-robin") && !enum_eq(v, "random")) {
            rc = diag_set(d, ERR_INVALID,
                          "--model-selection-strategy '%.64s': expected round_robin or random", v);
            goto out;
        }
        push_named(&p->pack, "model-selection-strategy",
                   enum_eq(v, "round-robin") ? "round_robin" : "random");
    }
    if ((v = args_get(&a, "arrival-pattern")) && args_has(&a, "user-centric-rate")) {
        /* AIPerf's user-centric phase has no arrival pattern: only a rate warmup takes it
         * (as its default; concurrency_burst, its fallback case, is poisson there) */
        if (!enum_eq(v, "constant") && !enum_eq(v, "poisson") && !enum_eq(v, "gamma") &&
            !enum_eq(v, "concurrency-burst")) {
            rc = diag_set(d, ERR_INVALID,
                          "--arrival-pattern %s: expected constant, poisson, gamma or "
                          "concurrency_burst",
                          v);
            goto out;
        }
    } else if (v) {
        if (enum_eq(v, "concurrency-burst")) {
            rc = refuse(d, all.n, all.v, (size_t)opt_index("arrival-pattern"), v);
            goto out;
        }
        push_named(&p->replay, "arrival-pattern", v);
    }
    /* --conversation-num is how many conversations to send (AIPerf 0.13's session stop
     * condition); --num-dataset-entries sizes the pool they (or --request-count) draw
     * from: with both, 10 conversations over 3 entries send the 3 again and again, as
     * AIPerf's sampler does. */
    bool conversations = args_has(&a, "conversation-num");
    if ((v = args_get(&a, "conversation-num")))
        push_named(&p->pack, "conversation-num", v);
    if ((v = args_get(&a, "num-dataset-entries")))
        push_named(&p->pack, "num-dataset-entries", v);
    if ((v = args_get(&a, "workers-max")))
        push_named(&p->replay, "workers", v);

    /* Load: mode, counts, AIPerf 0.13's defaults where the stages' differ. */
    p->has_input_file = args_has(&a, "input-file");
    long conc = 0, count = 0, warm = 0;
    rc = args_long(&a, "concurrency", 1, 100000000, &conc, d);
    if (!rc)
        rc = args_long(&a, "request-count", 1, 1000000000000L, &count, d);
    if (!rc)
        rc = args_long(&a, "warmup-request-count", 0, 1000000000000L, &warm, d);
    if (rc)
        goto out;
    p->concurrency = conc;
    if ((v = args_get(&a, "request-rate")))
        p->request_rate = xstrdup(v);
    /* --request-rate-series (AIPerf 0.13): the rate comes from the file, its first point's
     * to begin with; read here so a bad file is refused before anything is packed */
    if ((v = args_get(&a, "request-rate-series"))) {
        double *st = NULL, *sq = NULL;
        int sn = 0;
        if (args_has(&a, "request-rate")) {
            rc = diag_set(d, ERR_INVALID,
                          "--request-rate-series %s: not with --request-rate (the series gives "
                          "the rate)",
                          v);
            goto out;
        }
        if (args_flag(&a, "fixed-schedule")) {
            rc = diag_set(d, ERR_INVALID, "--request-rate-series %s: not with --fixed-schedule", v);
            goto out;
        }
        if ((rc = rate_series_load(v, &st, &sq, &sn, d)))
            goto out;
        char rs[64];
        snprintf(rs, sizeof rs, "%.17g", sq[0]);
        p->request_rate = xstrdup(rs);
        free(st);
        free(sq);
        if ((warm > 0 || args_has(&a, "warmup-duration") || args_has(&a, "num-warmup-sessions")) &&
            !args_has(&a, "warmup-request-rate")) {
            rc = diag_set(d, ERR_INVALID,
                          "--request-rate-series %s: a warmup with it needs --warmup-request-rate "
                          "(AIPerf's warmup would be a closed loop)",
                          v);
            goto out;
        }
    }
    /* --user-centric-rate R --num-users N (AIPerf 0.13): pack writes AIPerf's schedule
     * into the trace (trace_user_centric), replay sends it as a fixed schedule. What
     * AIPerf refuses is refused here, before anything is packed. */
    bool users = args_has(&a, "user-centric-rate"), uc_warm = false;
    if (users || args_has(&a, "num-users")) {
        double ur = 0, tmean = 1;
        long nu = 0;
        const char *uv = args_get(&a, "user-centric-rate");
        if (!users) {
            rc = diag_set(d, ERR_INVALID, "--num-users %s: needs --user-centric-rate",
                          args_get(&a, "num-users"));
            goto out;
        }
        if (!args_has(&a, "num-users")) {
            rc = diag_set(d, ERR_INVALID, "--user-centric-rate %s: needs --num-users", uv);
            goto out;
        }
        if ((rc = args_double(&a, "user-centric-rate", 1e-9, 1e9, &ur, d)) ||
            (rc = args_long(&a, "num-users", 1, 100000000, &nu, d)) ||
            (rc = args_double(&a, "conversation-turn-mean", 0, 1e6, &tmean, d)))
            goto out;
        /* AIPerf checks the option, not the dataset: an input file needs it too */
        if (tmean < 2) {
            rc = diag_set(d, ERR_INVALID,
                          "--user-centric-rate %s: needs --conversation-turn-mean >= 2 (got %g; "
                          "for single-turn requests use --request-rate)",
                          uv, tmean);
            goto out;
        }
        /* AIPerf's warmup phase runs first, in closed loop or at a rate (pack writes its
         * requests ahead of the schedule); one bounded by time only is not supported yet
         * (pack must know which sessions it takes), nor are ramps with this schedule */
        static const char *const clash[] = {
            "request-rate-series",
            "request-rate-ramp-duration",
            "fixed-schedule",
            "arrival-smoothness",
            "warmup-duration",
            "concurrency-ramp-duration",
            "warmup-concurrency-ramp-duration",
            "warmup-request-rate-ramp-duration",
        };
        for (size_t k = 0; k < sizeof clash / sizeof clash[0]; k++) {
            const char *cv = args_get(&a, clash[k]);
            if (!args_has(&a, clash[k]))
                continue;
            if (!strcmp(clash[k], "fixed-schedule") && !args_flag(&a, "fixed-schedule"))
                continue;
            rc = diag_set(d, ERR_INVALID, "--user-centric-rate %s: not with --%s%s%s", uv, clash[k],
                          cv ? " " : "", cv ? cv : "");
            goto out;
        }
        /* --request-rate: AIPerf checks it (> 0) and gives it to the warmup only; a list
         * here was checked by the sweep, which left it unused (sweep.c) */
        double wr = 0;
        if ((v = args_get(&a, "request-rate")) && !strchr(v, ',') &&
            (rc = args_double(&a, "request-rate", 1e-9, 1e9, &wr, d)))
            goto out;
        if (count > 0 && count < nu) {
            rc = diag_set(d, ERR_INVALID, "--request-count %ld: fewer than --num-users %ld", count,
                          nu);
            goto out;
        }
        long sess = 0;
        if ((rc = args_long(&a, "conversation-num", 1, 1000000000000L, &sess, d)))
            goto out;
        if (sess > 0 && sess < nu) {
            rc = diag_set(d, ERR_INVALID, "--conversation-num %ld: fewer than --num-users %ld",
                          sess, nu);
            goto out;
        }
        /* AIPerf's default stop condition, 10 requests, must leave each user one too */
        if (count == 0 && !sess && !args_has(&a, "benchmark-duration") && nu > 10) {
            rc = diag_set(d, ERR_INVALID,
                          "--num-users %ld: more than the default --request-count 10 (each "
                          "user needs a request; give --request-count or --benchmark-duration)",
                          nu);
            goto out;
        }
        /* pack writes the whole schedule: refused here too, before anything is written */
        double dur = 0;
        if ((rc = args_double(&a, "benchmark-duration", 1e-6, 1e9, &dur, d)))
            goto out;
        if (ur * dur > 2147483647.0 && !(count > 0 && count <= 2147483647L)) {
            rc = diag_set(d, ERR_INVALID,
                          "--benchmark-duration %s: %.3g requests at --user-centric-rate %s, more "
                          "than 2147483647",
                          args_get(&a, "benchmark-duration"), ur * dur, uv);
            goto out;
        }
        p->user_rate = xstrdup(uv);
        p->num_users = nu;
        /* the warmup's sessions are drawn before the users' (AIPerf's one sampler): pack
         * writes its requests as AIPerf issues them, replay sends them in that load.
         * AIPerf's warmup concurrency: --warmup-concurrency, else --concurrency, else 1
         * (for a rate warmup a cap only when one of them is given). */
        long wsess = 0, wconc = 0;
        if ((rc = args_long(&a, "num-warmup-sessions", 1, 1000000000000L, &wsess, d)) ||
            (rc = args_long(&a, "warmup-concurrency", 1, 100000000, &wconc, d)))
            goto out;
        uc_warm = warm > 0 || wsess > 0;
        if (uc_warm) {
            char wb[32];
            if (warm > 0) {
                snprintf(wb, sizeof wb, "%ld", warm);
                push_named(&p->pack, "warmup-request-count", wb);
            }
            if (wsess > 0) {
                snprintf(wb, sizeof wb, "%ld", wsess);
                push_named(&p->pack, "num-warmup-sessions", wb);
            }
            snprintf(wb, sizeof wb, "%ld", wconc ? wconc : conc ? conc : 1);
            push_named(&p->pack, "warmup-concurrency", wb);
            if (!wconc && conc) /* replay's warmup default is its own */
                push_named(&p->replay, "warmup-concurrency", wb);
            /* AIPerf's warmup rate: --warmup-request-rate, else --request-rate (which the
             * user-centric phase itself ignores: its rate is --user-centric-rate) */
            if ((v = args_get(&a, "warmup-request-rate"))) {
                push_named(&p->pack, "warmup-request-rate", v);
            } else if ((v = args_get(&a, "request-rate"))) {
                push_named(&p->pack, "warmup-request-rate", v);
                push_named(&p->replay, "warmup-request-rate", v);
            }
            /* a rate warmup's arrivals: --warmup-arrival-pattern, else --arrival-pattern */
            const char *ap = args_get(&a, "arrival-pattern");
            if (ap && !args_has(&a, "warmup-arrival-pattern") &&
                (args_has(&a, "warmup-request-rate") || args_has(&a, "request-rate")))
                push_named(&p->replay, "warmup-arrival-pattern",
                           enum_eq(ap, "constant") ? "constant"
                           : enum_eq(ap, "gamma")  ? "gamma"
                                                   : "poisson");
        }
    }
    if (args_has(&a, "fixed-schedule")) {
        p->fixed_forced = args_flag(&a, "fixed-schedule");
        p->fixed_refused = !p->fixed_forced;
        if (p->fixed_forced && !p->has_input_file) {
            rc = diag_set(d, ERR_INVALID, "--fixed-schedule needs an --input-file with timestamps");
            goto out;
        }
        profile_argv_push(&p->replay,
                          p->fixed_forced ? "--fixed-schedule" : "--fixed-schedule=false");
    }
    /* Load shapes and the warmup's load (replay applies them, loadshape.h): a bad value
     * or a combination that cannot hold is refused here, before anything is packed. */
    {
        static const struct {
            const char *name;
            double min; /* AIPerf 0.13's bounds: durations and rates > 0, grace >= 0 */
            int mode;   /* 1: closed loop only, 2: --request-rate only, 3: --request-rate or
                           a rate warmup (--warmup-request-rate) before a closed loop */
        } shapes[] = {
            {"concurrency-ramp-duration", 1e-6, 0},
            {"warmup-concurrency-ramp-duration", 1e-6, 0},
            {"request-rate-ramp-duration", 1e-6, 2},
            {"warmup-request-rate", 1e-9, 3},
            {"warmup-request-rate-ramp-duration", 1e-6, 3},
            {"warmup-duration", 1e-6, 0},
            {"warmup-grace-period", 0, 0},
        };
        /* with --user-centric-rate, --request-rate is the warmup's rate only (AIPerf) */
        bool rate_mode =
            (args_has(&a, "request-rate") && !users) || args_has(&a, "request-rate-series");
        /* AIPerf 0.13 runs a rate warmup before a closed loop too (not a fixed schedule),
         * and before a user-centric schedule */
        bool rate_warm =
            rate_mode ||
            (args_has(&a, "warmup-request-rate") && !args_flag(&a, "fixed-schedule")) ||
            (users && args_has(&a, "request-rate"));
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
            double x;
            if (!args_has(&a, shapes[k].name))
                continue;
            if ((rc = args_double(&a, shapes[k].name, shapes[k].min, 1e9, &x, d)))
                goto out;
            if ((shapes[k].mode == 1 && (rate_mode || args_flag(&a, "fixed-schedule"))) ||
                (shapes[k].mode == 2 && !rate_mode) || (shapes[k].mode == 3 && !rate_warm)) {
                rc = diag_set(d, ERR_INVALID, "--%s %s: needs %s", shapes[k].name,
                              args_get(&a, shapes[k].name),
                              shapes[k].mode == 1   ? "closed loop (no --request-rate)"
                              : shapes[k].mode == 2 ? "--request-rate"
                                                    : "--request-rate, or a closed loop with "
                                                      "--warmup-request-rate (not a fixed "
                                                      "schedule)");
                goto out;
            }
        }
        double thr;
        if ((rc = args_double(&a, "failed-request-threshold", 0, 1, &thr, d)))
            goto out;
        long wc = 0;
        if ((rc = args_long(&a, "warmup-concurrency", 1, 100000000, &wc, d)))
            goto out;
        /* with --request-rate a concurrency ramp raises the --concurrency cap: it needs one
         * (replay checks the same, and a fixed schedule, after packing) */
        const char *ramps[2] = {"concurrency-ramp-duration", "warmup-concurrency-ramp-duration"};
        for (int k = 0; k < 2; k++)
            if (rate_mode && args_has(&a, ramps[k]) && !args_has(&a, "concurrency") &&
                !(k == 1 && wc)) {
                rc = diag_set(d, ERR_INVALID,
                              "--%s %s: needs --concurrency (the cap it ramps) with --request-rate",
                              ramps[k], args_get(&a, ramps[k]));
                goto out;
            }
        if ((v = args_get(&a, "warmup-arrival-pattern"))) {
            if (!rate_warm) {
                rc = diag_set(d, ERR_INVALID,
                              "--warmup-arrival-pattern %s: needs --request-rate or "
                              "--warmup-request-rate",
                              v);
                goto out;
            }
            if (enum_eq(v, "concurrency-burst")) {
                rc = refuse(d, all.n, all.v, (size_t)opt_index("warmup-arrival-pattern"), v);
                goto out;
            }
            if (!enum_eq(v, "constant") && !enum_eq(v, "poisson") && !enum_eq(v, "gamma")) {
                rc =
                    diag_set(d, ERR_INVALID,
                             "--warmup-arrival-pattern %s: expected constant, poisson or gamma", v);
                goto out;
            }
        }
        /* --prefill-concurrency (AIPerf 0.13): an integer >= 1, streaming only (the first
         * token ends a request's prefill), at most the phase's concurrency (closed loop:
         * --concurrency, 1 by default; with --request-rate only when a cap is given); its
         * ramps ramp it, so they need it */
        long pc = 0, wpc = 0, wsess = 0;
        if ((rc = args_long(&a, "prefill-concurrency", 1, 100000000, &pc, d)) ||
            (rc = args_long(&a, "warmup-prefill-concurrency", 1, 100000000, &wpc, d)) ||
            (rc = args_long(&a, "num-warmup-sessions", 1, 1000000000000L, &wsess, d)))
            goto out;
        const char *pr[2][2] = {
            {"prefill-concurrency-ramp-duration", "prefill-concurrency"},
            {"warmup-prefill-concurrency-ramp-duration", "warmup-prefill-concurrency"}};
        for (int k = 0; k < 2; k++) {
            double x;
            if (!args_has(&a, pr[k][0]))
                continue;
            if ((rc = args_double(&a, pr[k][0], 1e-6, 1e9, &x, d)))
                goto out;
            if (!pc && !(k == 1 && wpc)) {
                rc = diag_set(d, ERR_INVALID, "--%s %s: needs --%s (the limit it ramps)", pr[k][0],
                              args_get(&a, pr[k][0]), pr[k][1]);
                goto out;
            }
        }
        if ((pc || wpc) && !args_flag(&a, "streaming")) {
            const char *o = pc ? "prefill-concurrency" : "warmup-prefill-concurrency";
            rc = diag_set(d, ERR_INVALID,
                          "--%s %s: needs --streaming (a request's prefill ends at its first "
                          "token)",
                          o, args_get(&a, o));
            goto out;
        }
        long pconc = conc ? conc : (rate_mode ? 0 : 1);
        if (pc && pconc && pc > pconc) {
            rc = diag_set(d, ERR_INVALID, "--prefill-concurrency %ld: more than --concurrency %ld",
                          pc, pconc);
            goto out;
        }
        bool warm_on = warm > 0 || wsess > 0 || args_has(&a, "warmup-duration");
        long wp = wpc ? wpc : pc, wcn = wc ? wc : pconc;
        if (warm_on && wp && wcn && wp > wcn) {
            const char *o = wpc ? "warmup-prefill-concurrency" : "prefill-concurrency";
            rc = diag_set(d, ERR_INVALID, "--%s %ld: more than the warmup's concurrency %ld", o, wp,
                          wcn);
            goto out;
        }
        if (args_has(&a, "warmup-grace-period") && !args_has(&a, "warmup-duration")) {
            rc = diag_set(d, ERR_INVALID,
                          "--warmup-grace-period %s: needs --warmup-duration (it follows the "
                          "duration)",
                          args_get(&a, "warmup-grace-period"));
            goto out;
        }
    }
    /* AIPerf 0.13: with both a count and a duration the first one reached ends the run
     * (replay does the same); a grace period only means something after a duration. */
    if (args_has(&a, "benchmark-grace-period") && !args_has(&a, "benchmark-duration")) {
        rc = diag_set(d, ERR_INVALID, "--benchmark-grace-period needs --benchmark-duration");
        goto out;
    }
    char num[64];
    /* AIPerf 0.13's stop conditions: with --conversation-num the run sends those
     * conversations, every turn of each (10 conversations of 3 turns: 30 requests, not
     * the default count); with --request-count too, the first limit reached ends it. The
     * trace is packed to exactly that and replayed whole (a count given to replay would
     * start the trace over when the conversations hold fewer requests). Otherwise a
     * request count, max(10, 2 x concurrency) by default. */
    if (users) {
        /* the schedule holds the stop conditions (pack cuts it to the first --request-count
         * sends, the first --conversation-num users and the sends before the duration) */
        if (count == 0 && !conversations && !args_has(&a, "benchmark-duration"))
            count = 10;
        if (count > 0) {
            snprintf(num, sizeof num, "%ld", count);
            push_named(&p->pack, "request-count", num);
        }
        if ((v = args_get(&a, "benchmark-duration")))
            push_named(&p->pack, "benchmark-duration", v);
        count = 0;
    } else if (conversations && !p->has_input_file) {
        if (count > 0) {
            snprintf(num, sizeof num, "%ld", count);
            push_named(&p->pack, "request-count", num);
        }
        count = 0;
        /* a duration would make replay start the trace over */
        p->sessions_cap = args_has(&a, "benchmark-duration");
    } else if (count == 0 && !p->has_input_file && !args_has(&a, "benchmark-duration")) {
        count = conc * 2 > 10 ? conc * 2 : 10;
    }
    if (count > 0) {
        snprintf(num, sizeof num, "%ld", count);
        push_named(&p->replay, "request-count", num);
        if (!p->has_input_file) {
            snprintf(num, sizeof num, "%ld", count + warm);
            push_named(&p->pack, "request-count", num);
        }
    }
    /* No --concurrency default is passed on: replay's own default (1 slot in closed loop,
     * no cap with a rate or a schedule) is AIPerf's, and an explicit 1 would cap them. */
    if (args_count(&a, "url") == 0)
        push_named(&p->replay, "url", "http://localhost:8000");
    for (size_t k = 0; k < args_count(&a, "url"); k++) {
        /* checked now, before anything is packed or written (replay checks it again) */
        struct url u;
        if ((rc = url_parse(args_multi(&a, "url", k), &u, d)))
            goto out;
        push_named(&p->replay, "url", args_multi(&a, "url", k));
    }
    if ((v = args_get(&a, "custom-endpoint")) &&
        (rc = wire_check("--custom-endpoint", v, false, d)))
        goto out;
    {
        /* the headers as replay will write them: refused now, not after the pack stage */
        size_t nh = args_count(&a, "header");
        const char **hv = xcalloc(nh ? nh : 1, sizeof *hv);
        for (size_t k = 0; k < nh; k++)
            hv[k] = args_multi(&a, "header", k);
        struct buf scratch;
        buf_init(&scratch, 0);
        rc = endpoint_headers(&scratch, false, NULL, NULL, hv, nh, d);
        bool user_wins;
        if (!rc && (v = args_get(&a, "session-header")))
            rc = endpoint_session_header(v, hv, nh, &user_wins, d);
        buf_free(&scratch);
        free(hv);
        if (rc)
            goto out;
    }
    push_named(&p->replay, "request-timeout-seconds",
               args_get(&a, "request-timeout-seconds") ? args_get(&a, "request-timeout-seconds")
                                                       : "21600");
    /* profile cannot know which custom headers carry credentials (AIPerf users pass
     * tokens in X-Api-Token, X-Auth and the like), so none of their values is written
     * to run.json or the exports: only the names are. */
    for (size_t k = 0; k < args_count(&a, "header"); k++) {
        const char *h = args_multi(&a, "header", k);
        size_t n = strcspn(h, ":");
        while (n > 0 && h[n - 1] == ' ')
            n--;
        if (h[0] != '{' && h[strcspn(h, ":")] == ':' && n > 0) {
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(n < 255 ? n : 255), h);
            push_named(&p->replay, "redact-header", name);
        }
    }
    if (p->ui == PROFILE_UI_NONE)
        profile_argv_push(&p->replay, "--quiet");
    {
        bool summary = (v = args_get(&a, "export-level")) && enum_eq(v, "summary");
        bool raw = v && enum_eq(v, "raw");
        char ex[80];
        snprintf(ex, sizeof ex, "console,json,csv%s,html%s%s", summary ? "" : ",jsonl",
                 args_flag(&a, "export-outputs-json") ? ",outputs" : "", raw ? ",raw" : "");
        push_named(&p->report, "exports", ex);
    }

    /* Everything else goes through unchanged. */
    for (size_t i = 0; i < profile_nopts; i++) {
        const struct profile_opt *o = &profile_opts[i];
        if (a.count[i] == 0 || o->route == PROFILE_SELF || is_special(o->spec.name))
            continue;
        /* AIPerf ignores a warmup's load options when there is no warmup, and takes
         * --request-rate for the warmup's only (above) */
        if (users && ((!uc_warm && (!strcmp(o->spec.name, "warmup-request-rate") ||
                                    !strcmp(o->spec.name, "warmup-arrival-pattern"))) ||
                      !strcmp(o->spec.name, "request-rate")))
            continue;
        forward(p, &a, i);
    }

    if ((v = args_get(&a, "output-artifact-dir"))) {
        p->artifact_dir = xstrdup(v);
        p->artifact_explicit = true;
    }
    p->artifact_base = xstrdup("artifacts");
    p->redacted_cmdline = redact(argc, argv);
out:
    args_free(&a);
    free(specs);
    profile_argv_free(&all);
    if (rc)
        profile_plan_free(p);
    return rc;
}

void profile_plan_name(const struct profile_plan *p, bool timed, char *out, size_t cap)
{
    struct buf b;
    buf_init(&b, 0);
    for (const char *s = p->model; *s; s++)
        buf_putc(&b, *s == '/' ? '_' : *s);
    if (p->multi_model)
        buf_puts(&b, "_multi");
    buf_printf(&b, "-openai-%s-", p->endpoint_type);
    bool fixed = p->fixed_forced || (timed && !p->fixed_refused && !p->request_rate);
    if (p->user_rate) {
        /* AIPerf 0.13's name for the phase: user_centric-users<N>-qps<R as a float> */
        char *end = NULL;
        double r = strtod(p->user_rate, &end);
        char rs[64];
        for (int prec = 0; prec <= 17; prec++) {
            snprintf(rs, sizeof rs, "%.*f", prec, r);
            if (strtod(rs, NULL) == r)
                break;
        }
        if (!strchr(rs, '.'))
            snprintf(rs + strlen(rs), sizeof rs - strlen(rs), ".0");
        buf_printf(&b, "user_centric-users%ld-qps%s", p->num_users, rs);
    } else if (fixed) {
        buf_puts(&b, "fixed_schedule");
    } else {
        if (p->concurrency > 0 || !p->request_rate)
            buf_printf(&b, "concurrency%ld", p->concurrency > 0 ? p->concurrency : 1);
        if (p->request_rate) {
            /* AIPerf prints the rate as a Python float: 5 -> 5.0. */
            char *end = NULL;
            double r = strtod(p->request_rate, &end);
            char rs[64];
            /* Python's repr: the shortest digits that read back as the same double,
             * positional between 1e-4 and 1e16, scientific outside. */
            bool positional = (r >= 1e-4 && r < 1e16) || r == 0;
            for (int prec = positional ? 0 : 1; prec <= 17; prec++) {
                snprintf(rs, sizeof rs, positional ? "%.*f" : "%.*g", prec, r);
                if (strtod(rs, NULL) == r)
                    break;
            }
            if (!strpbrk(rs, ".e"))
                snprintf(rs + strlen(rs), sizeof rs - strlen(rs), ".0");
            buf_printf(&b, "%srequest_rate%s", p->concurrency > 0 ? "-" : "", rs);
        }
    }
    snprintf(out, cap, "%s", b.p);
    buf_free(&b);
}

void profile_print_help(FILE *f)
{
    fprintf(f, "Usage: metronome profile --model-names NAME [OPTIONS]\n"
               "       metronome profile create-template [-t FILE]\n"
               "       metronome profile validate-config --config FILE [OPTIONS]\n\n"
               "AIPerf-style one-shot: pack the dataset into ARTIFACT_DIR/trace.jsonl.zst, "
               "replay it,\nand report (AIPerf's files plus report.html). Accepts AIPerf "
               "0.13's option names;\noptions for features metronome lacks are refused "
               "(docs/aiperf-compatibility.md).\n\nOptions:\n");
    for (size_t i = 0; i < profile_nopts; i++) {
        const struct profile_opt *o = &profile_opts[i];
        if (o->route == PROFILE_REFUSE)
            continue;
        const struct arg_spec *s = &o->spec;
        char left[200];
        snprintf(left, sizeof left, "--%s%s%s%s%s", s->name, s->aliases ? " " : "",
                 s->aliases ? s->aliases : "", s->metavar ? " " : "", s->metavar ? s->metavar : "");
        fprintf(f, "  %-48s %s", left, s->help ? s->help : "");
        if (s->def)
            fprintf(f, " [default: %s]", s->def);
        fputc('\n', f);
    }
    fprintf(f, "\nRefused (not supported yet): every other AIPerf 0.13 option; see "
               "docs/aiperf-compatibility.md.\n");
}
