/* metronome report: run dirs in, AIPerf-compatible exports and a CI verdict out. */
#include "args.h"
#include "cli.h"
#include "profile_sweep.h"
#include "report.h"
#include "tokenizer.h"
#include "verdict.h"
#include "xalloc.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const struct arg_spec specs[] = {
    {"output-dir", "-o --artifact-dir --output-artifact-dir", ARG_VALUE, "DIR",
     "the run dir (one run) or ./metronome-compare", "where the exports go"},
    {"goodput", NULL, ARG_VALUE, "SLOS", NULL,
     "DistServe goodput SLOs, e.g. \"time_to_first_token:200 inter_token_latency:20\" (ms)"},
    {"fail-on", NULL, ARG_MULTI, "RULES", NULL,
     "exit 3 when a rule holds, e.g. \"time_to_first_token.p99>250ms,error_rate>0.01\""},
    {"slice-duration", NULL, ARG_VALUE, "SEC", NULL,
     "also write per-slice statistics (profile_export_aiperf_timeslices.json/.csv)"},
    {"merge", NULL, ARG_FLAG, NULL, NULL,
     "treat every run dir as a shard of one run (default: shards of one trace merge)"},
    {"exports", NULL, ARG_VALUE, "LIST", "console,json,csv,jsonl,html",
     "which outputs to write (comma-separated; 'none' for verdict only)"},
    {"server-metrics-formats", NULL, ARG_MULTI, "LIST", "json,csv",
     "server-metrics exports: json (server_metrics_export.json), csv, jsonl (one line per "
     "scrape); comma-separate or repeat"},
    {"show-internal-metrics", NULL, ARG_FLAG, NULL, NULL, "hidden metrics on the console too"},
    {"show-trace-timing", NULL, ARG_FLAG, NULL, NULL,
     "also print the HTTP trace timing table (the http_req_* metrics, AIPerf 0.13's)"},
    {"allow-all-failed", NULL, ARG_FLAG, NULL, NULL,
     "a run where every request failed is not a failed verdict"},
    {"count-empty-chunks", NULL, ARG_FLAG, NULL, NULL,
     "the seed's rule: an empty-content chunk (a role chunk) counts as a response"},
    {"cli-command", NULL, ARG_VALUE, "TEXT", NULL,
     "run_info.cli_command in profile_export_aiperf.json (profile passes its own, redacted)"},
    {"per-chunk-usage", NULL, ARG_FLAG, NULL, NULL,
     "inter-token latency divides by OSL minus the server's usage count through the first "
     "content chunk (AIPerf's --per-chunk-usage; needs continuous usage in the records)"},
    {"profile-export-prefix", "--profile-export-file", ARG_VALUE, "BASE", NULL,
     "AIPerf's export names: BASE.json, BASE.csv, BASE.jsonl, BASE_timeslices.*, "
     "BASE_server_metrics.*, BASE_gpu_telemetry.jsonl (known suffixes stripped)"},
    {"network-latency-mean", NULL, ARG_VALUE, "MS", "the probes' mean",
     "subtract this RTT (ms, clamped at 0) from request latency, TTFT and TTFO as AIPerf's "
     "network_adjusted_* metrics; without it, the mean of replay's "
     "--network-latency-automatic probes"},
    {"label", NULL, ARG_MULTI, "NAME", "the run dir's name",
     "name of a run in tables, charts and output dirs; once per run, in order"},
    {"plots", NULL, ARG_VALUE, "DIR", NULL,
     "also write every chart as a standalone DIR/NN-name.svg"},
    {"noise", NULL, ARG_VALUE, "PCT", "2",
     "comparison deltas smaller than PCT percent of the first run's value are shown neutral"},
    {"tokenizer", NULL, ARG_VALUE, "NAME|PATH", "the trace's",
     "count recorded response texts (replay --record-text) with this tokenizer.json or Hugging "
     "Face name; default: the one run.json's trace names, when found"},
    {"tokenizer-revision", NULL, ARG_VALUE, "REV", "main", "revision of a Hugging Face name"},
    {"use-server-token-count", NULL, ARG_FLAG, NULL, NULL,
     "with a tokenizer: keep the server's usage counts where they were sent"},
    {"quiet", "-q", ARG_FLAG, NULL, NULL, "no console tables (files still written)"},
    {"help", "-h", ARG_FLAG, NULL, NULL, "this text"},
};
#define NSPECS (sizeof specs / sizeof specs[0])

/* --server-metrics-formats: AIPerf 0.13's values; parquet is refused by name. */
static int parse_sm_formats(const struct args *a, unsigned *out, struct diag *d)
{
    *out = 0;
    for (size_t i = 0; i < args_count(a, "server-metrics-formats"); i++) {
        const char *s = args_multi(a, "server-metrics-formats", i);
        while (*s) {
            size_t n = strcspn(s, ", ");
            if (n == 4 && !strncasecmp(s, "json", 4))
                *out |= SM_FMT_JSON;
            else if (n == 3 && !strncasecmp(s, "csv", 3))
                *out |= SM_FMT_CSV;
            else if (n == 5 && !strncasecmp(s, "jsonl", 5))
                *out |= SM_FMT_JSONL;
            else if (n > 0) {
                diag_set(d, ERR_INVALID, "--server-metrics-formats: %s '%.*s' (json, csv, jsonl)",
                         n == 7 && !strncasecmp(s, "parquet", 7) ? "not supported yet:"
                                                                 : "unknown format",
                         (int)n, s);
                return -1;
            }
            s += n;
            s += strspn(s, ", ");
        }
    }
    return 0;
}

static int parse_exports(const char *s, unsigned *out, struct diag *d)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"console", REPORT_CONSOLE}, {"json", REPORT_JSON}, {"csv", REPORT_CSV},
                 {"jsonl", REPORT_JSONL},     {"html", REPORT_HTML}, {"outputs", REPORT_OUTPUTS},
                 {"raw", REPORT_RAW},         {"all", REPORT_ALL},   {"none", 0}};
    unsigned bits = 0;
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        bool ok = false;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == n && memcmp(names[i].name, p, n) == 0) {
                bits |= names[i].bit;
                ok = true;
            }
        if (!ok)
            return diag_set(d, ERR_INVALID,
                            "--exports: unknown export '%.*s' (console json csv jsonl html outputs "
                            "raw all none)",
                            (int)n, p);
        p += n + (e ? 1 : 0);
    }
    *out = bits;
    return 0;
}

/* DIR/sweep_report.html over DIR/sweep_summary.json (its charts under --plots DIR/sweep). */
static int sweep_page(const char *dir, const struct report_opts *o, struct diag *d)
{
    char plots[4200];
    if (o->plots_dir)
        snprintf(plots, sizeof plots, "%s/sweep", o->plots_dir);
    struct buf w;
    buf_init(&w, 1 << 20);
    int rc = report_sweep_html(dir, o->plots_dir ? plots : NULL, &w, d);
    for (const char *p = w.p; !rc && p && *p;) {
        size_t n = strcspn(p, "\n");
        fprintf(stderr, "metronome: wrote %.*s\n", (int)n, p);
        p += n + (p[n] ? 1 : 0);
    }
    buf_free(&w);
    return rc;
}

static int sweep_outputs(const struct args *a, const struct report_opts *o,
                         const struct report_result *res, struct diag *d)
{
    if (!(o->exports & ~(unsigned)REPORT_CONSOLE))
        return 0;
    sweep_export_prefix(o->export_prefix); /* the runs' exports are named with it */
    char path[4200];
    if (a->npos == 1) {
        snprintf(path, sizeof path, "%s/metronome_sweep.json", a->pos[0]);
        if (access(path, F_OK))
            return 0;
        cJSON *man = NULL;
        int rc = sweep_manifest_read(a->pos[0], &man, d);
        if (!rc)
            rc = sweep_finalize(a->pos[0], man, o->out_dir, d);
        cJSON_Delete(man);
        if (!rc)
            fprintf(stderr, "metronome: wrote %s/sweep_summary.json, sweep_summary.csv\n",
                    o->out_dir ? o->out_dir : a->pos[0]);
        if (!rc && (o->exports & REPORT_HTML))
            rc = sweep_page(o->out_dir ? o->out_dir : a->pos[0], o, d);
        return rc;
    }
    /* several runs (not merged into one): each run's exports are in TOP/<label>/ */
    if (res->nruns < 2 || res->nruns != a->npos || o->merge_all)
        return 0;
    if (!(o->exports & REPORT_JSON)) {
        /* the summary is built from each run's profile_export_aiperf.json, written only
         * with the json export: without it say so, rather than fail on a missing file */
        fprintf(stderr, "metronome: note: sweep_summary.json/.csv and sweep_report.html need "
                        "the json export (--exports json,...): not written\n");
        return 0;
    }
    const char *top = o->out_dir ? o->out_dir : "metronome-compare";
    char **dirs = xcalloc(a->npos, sizeof *dirs);
    for (size_t i = 0; i < a->npos; i++) {
        const char *label = o->nlabels ? o->labels[i] : NULL;
        if (!label) {
            size_t n = strlen(a->pos[i]);
            while (n > 1 && a->pos[i][n - 1] == '/')
                n--;
            size_t b = n;
            while (b > 0 && a->pos[i][b - 1] != '/')
                b--;
            snprintf(path, sizeof path, "%s/%.*s", top, (int)(n - b), a->pos[i] + b);
        } else {
            snprintf(path, sizeof path, "%s/%s", top, label);
        }
        /* report's rule for side-by-side runs with the same name: "-<run number>" */
        for (size_t k = 0; k < i; k++)
            if (!strcmp(dirs[k], path)) {
                size_t n = strlen(path);
                snprintf(path + n, sizeof path - n, "-%zu", i + 1);
            }
        dirs[i] = xstrdup(path);
    }
    int rc = sweep_summary_runs((int)a->npos, dirs, top, 0.95, d);
    for (size_t i = 0; i < a->npos; i++)
        free(dirs[i]);
    free(dirs);
    if (!rc)
        fprintf(stderr, "metronome: wrote %s/sweep_summary.json, sweep_summary.csv\n", top);
    if (!rc && (o->exports & REPORT_HTML))
        rc = sweep_page(top, o, d);
    return rc;
}

/* The model tokenizer run.json's trace header names (pack --tokenizer), opened and
 * checked against the recorded sha256: 1 opened, 0 none named (or builtin), -1 named
 * but not usable here (a warning says why; the report goes on without it). */
static int tokenizer_from_run(const char *dir, struct tokenizer *t)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/run.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char *txt = NULL;
    size_t n = 0, cap = 0, k;
    char chunk[65536];
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0 && n < ((size_t)64 << 20)) {
        if (n + k + 1 > cap) {
            cap = (n + k + 1) * 2;
            char *nt = realloc(txt, cap);
            if (!nt)
                break;
            txt = nt;
        }
        memcpy(txt + n, chunk, k);
        n += k;
    }
    fclose(f);
    cJSON *j = txt ? cJSON_ParseWithLength(txt, n) : NULL;
    free(txt);
    const cJSON *tk = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "trace"), "header"),
        "tokenizer");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(tk, "name");
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(tk, "sha256");
    const cJSON *rev = cJSON_GetObjectItemCaseSensitive(tk, "revision");
    int rc = 0;
    if (cJSON_IsString(name) && cJSON_IsString(sha)) {
        struct diag d;
        const char *r = cJSON_IsString(rev) && rev->valuestring[0] ? rev->valuestring : NULL;
        if (tokenizer_open(t, name->valuestring, r, &d)) {
            cli_warn("run.json's trace was packed with tokenizer %s, which is not found here "
                     "(%s): output tokens come from server usage or chunk counts; give "
                     "--tokenizer",
                     name->valuestring, d.msg);
            rc = -1;
        } else if (strcmp(t->sha256, sha->valuestring)) {
            cli_warn("tokenizer %s here is not the one the trace was packed with (sha256 %.12s, "
                     "not %.12s): not used; give --tokenizer to use it anyway",
                     name->valuestring, t->sha256, sha->valuestring);
            tokenizer_close(t);
            rc = -1;
        } else {
            rc = 1;
        }
    }
    cJSON_Delete(j);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    struct args a;
    struct diag d = {0};
    if (args_parse(&a, specs, NSPECS, argc - 1, argv + 1, &d))
        return cli_fail(&d, 1);
    if (args_flag(&a, "help")) {
        args_print_help(stdout, "metronome report RUN_DIR... [-o DIR] [OPTIONS]",
                        "Turns run directories into AIPerf-compatible exports (console, "
                        "profile_export_aiperf.json/.csv, profile_export.jsonl), report.html and a "
                        "CI verdict.\nExit codes: 0 ok, 1 error, 2 usage, 3 failed verdict "
                        "(a --fail-on rule held, or every request failed).",
                        specs, NSPECS);
        args_free(&a);
        return EXIT_OK;
    }
    int code = EXIT_OK;
    const char **labels = NULL;
    struct tokenizer tk = {0};
    bool have_tk = false;
    struct verdict_spec vs;
    memset(&vs, 0, sizeof vs);
    struct report_opts o = {0};
    o.exports = REPORT_ALL;
    o.console = stdout;
    o.console_width = report_console_width(STDOUT_FILENO);
    o.console_ascii = !report_console_utf8();
    o.out_dir = args_get(&a, "output-dir");
    o.merge_all = args_flag(&a, "merge");
    o.show_internal = args_flag(&a, "show-internal-metrics");
    o.show_trace_timing = args_flag(&a, "show-trace-timing");
    o.allow_all_failed = args_flag(&a, "allow-all-failed");
    o.count_empty_chunks = args_flag(&a, "count-empty-chunks");
    o.cli_command = args_get(&a, "cli-command");
    o.per_chunk_usage = args_flag(&a, "per-chunk-usage");
    char prefix[512];
    if (args_get(&a, "profile-export-prefix")) {
        if (report_export_prefix(args_get(&a, "profile-export-prefix"), prefix, sizeof prefix,
                                 &d)) {
            code = cli_fail(&d, 2);
            goto out;
        }
        o.export_prefix = prefix;
    }
    if (args_has(&a, "network-latency-mean")) {
        if (args_double(&a, "network-latency-mean", 0, 1e9, &o.net_mean_ms, &d)) {
            code = cli_fail(&d, 2);
            goto out;
        }
        o.net_mean_set = true;
    }
    if (a.npos == 0) {
        diag_set(&d, ERR_INVALID, "report: give at least one run directory (see --help)");
        code = cli_fail(&d, 1);
        goto out;
    }
    if (args_has(&a, "exports") && parse_exports(args_get(&a, "exports"), &o.exports, &d)) {
        code = cli_fail(&d, 1);
        goto out;
    }
    if (parse_sm_formats(&a, &o.sm_formats, &d)) {
        code = cli_fail(&d, 1);
        goto out;
    }
    o.plots_dir = args_get(&a, "plots");
    if (args_double(&a, "noise", 0, 1000, &o.noise_pct, &d)) {
        code = cli_fail(&d, 1);
        goto out;
    }
    o.nlabels = args_count(&a, "label");
    labels = o.nlabels ? xcalloc(o.nlabels, sizeof *labels) : NULL;
    for (size_t i = 0; i < o.nlabels; i++) {
        const char *l = labels[i] = args_multi(&a, "label", i);
        /* A label names the run's output dir: one path component. */
        if (!l[0] || strchr(l, '/') || strcmp(l, ".") == 0 || strcmp(l, "..") == 0 ||
            strlen(l) > 200) {
            diag_set(&d, ERR_INVALID,
                     "--label '%s': a label is 1 to 200 characters, not '.' or '..', without '/'",
                     l);
            code = cli_fail(&d, 1);
            goto out;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(labels[k], l) == 0) {
                diag_set(&d, ERR_INVALID, "--label '%s' given twice: labels must differ", l);
                code = cli_fail(&d, 1);
                goto out;
            }
    }
    o.labels = labels;
    if (args_flag(&a, "quiet"))
        o.exports &= ~(unsigned)REPORT_CONSOLE;
    if (args_double(&a, "slice-duration", 1e-6, 1e9, &o.slice_duration_s, &d)) {
        code = cli_fail(&d, 1);
        goto out;
    }
    if (args_has(&a, "goodput") && verdict_parse_goodput(&vs, args_get(&a, "goodput"), &d)) {
        code = cli_fail(&d, 1);
        goto out;
    }
    for (size_t i = 0; i < args_count(&a, "fail-on"); i++) {
        if (verdict_parse_fail_on(&vs, args_multi(&a, "fail-on", i), &d)) {
            code = cli_fail(&d, 1);
            goto out;
        }
    }
    o.verdict = &vs;
    o.use_server_token_count = args_flag(&a, "use-server-token-count");
    if (args_has(&a, "tokenizer")) {
        int trc =
            tokenizer_open(&tk, args_get(&a, "tokenizer"), args_get(&a, "tokenizer-revision"), &d);
        if (trc) {
            code = cli_fail(&d, trc == ERR_INVALID);
            goto out;
        }
        have_tk = true;
    } else if (tokenizer_from_run(a.pos[0], &tk) == 1) {
        have_tk = true;
    }
    if (have_tk && tk.next == NULL) /* "builtin" counts no text: usage and chunks as before */
        o.tokenizer = &tk;
    struct report_result res;
    int rc = report_run(a.pos, a.npos, &o, &res, &d);
    if (rc) {
        code = cli_fail(&d, 0);
    } else {
        for (const char *p = res.warnings.p; p && *p;) {
            const char *e = strchr(p, '\n');
            int n = e ? (int)(e - p) : (int)strlen(p);
            cli_warn("%.*s", n, p);
            p += n + (e ? 1 : 0);
        }
        if (res.incomplete)
            cli_warn("%zu run(s) incomplete: reported up to the last complete records",
                     res.incomplete);
        const char *p = res.messages.p;
        while (p && *p) {
            const char *e = strchr(p, '\n');
            int n = e ? (int)(e - p) : (int)strlen(p);
            fprintf(stderr, "metronome: verdict: %.*s\n", n, p);
            p += n + (e ? 1 : 0);
        }
        if (res.violations || res.all_failed)
            code = EXIT_VERDICT;
        /* A sweep base (docs/records-format.md, *Sweeps*): AIPerf's aggregates and
         * sweep_summary from its manifest; several runs: a summary with one point per run. */
        if (sweep_outputs(&a, &o, &res, &d)) {
            code = cli_fail(&d, 0);
            report_result_free(&res);
            goto out;
        }
        if (o.exports & ~(unsigned)REPORT_CONSOLE) {
            p = res.written.p;
            while (p && *p) {
                const char *e = strchr(p, '\n');
                int n = e ? (int)(e - p) : (int)strlen(p);
                fprintf(stderr, "metronome: wrote %.*s\n", n, p);
                p += n + (e ? 1 : 0);
            }
        }
        /* The verdict is the last line printed, on stdout after everything else, when
         * there was something to judge by: rules, or a run where every request failed. */
        if (vs.nrule || res.all_failed) {
            fflush(stderr);
            const char *m = res.messages.p;
            if (code == EXIT_VERDICT && m && *m) {
                size_t n = strcspn(m, "\n"), more = 0;
                for (const char *q = m + n; *q; q++)
                    more += *q == '\n' && q[1];
                printf("FAIL: %.*s", (int)n, m);
                if (more)
                    printf(" (and %zu more)", more);
                putchar('\n');
            } else {
                printf("PASS\n");
            }
            fflush(stdout);
        }
    }
    report_result_free(&res);
out:
    free(labels);
    if (have_tk)
        tokenizer_close(&tk);
    args_free(&a);
    return code;
}
