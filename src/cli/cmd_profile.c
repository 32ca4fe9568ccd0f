/*
 * metronome profile: AIPerf's one-shot command (docs/cli-profile.md). Runs pack into
 * ARTIFACT_DIR/trace.jsonl.zst (so the exact requests are kept), replay into the same
 * directory and report over it, in-process, each stage through its own entry point with
 * the arguments profile_plan_build derived from AIPerf's options.
 */
#include "args.h"
#include "buf.h"
#include "cli.h"
#include "endpoint.h"
#include "profile.h"
#include "profile_conf.h"
#include "profile_files.h"
#include "profile_sweep.h"
#include "report.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The length of the longest prefix of path (at a '/') that already exists. */
static size_t existing_prefix(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    struct stat st;
    size_t keep = 0;
    for (size_t i = 1;; i++) {
        if (tmp[i] != '/' && tmp[i] != '\0')
            continue;
        char c = tmp[i];
        tmp[i] = '\0';
        if (stat(tmp, &st) != 0)
            return keep;
        keep = i;
        if (c == '\0')
            return keep;
        tmp[i] = c;
    }
}

/* Removes the directories of path deeper than its first keep bytes, deepest first; only
 * empty ones go (rmdir), so nothing written by anyone else is touched. */
static void remove_new_dirs(const char *path, size_t keep)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (size_t n = strlen(tmp); n > keep;) {
        if (rmdir(tmp))
            return;
        while (n > keep && tmp[n - 1] != '/')
            n--;
        while (n > keep && tmp[n - 1] == '/')
            n--;
        tmp[n] = '\0';
    }
}

/* logs/aiperf.log, AIPerf's log file and format ("TIME - NAME - LEVEL - MESSAGE"). */
struct plog {
    FILE *f;
    int level;          /* 0 info, 1 debug, 2 trace: debug lines also go to stderr */
    struct buf pending; /* lines logged before the directory (and so the file) existed */
};

static void plog(struct plog *l, int debug, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void plog(struct plog *l, int debug, const char *fmt, ...)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    va_list ap;
    char msg[8192];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (l->f) {
        fprintf(l->f, "%s - metronome.profile - %s - %s\n", ts, debug ? "DEBUG" : "INFO", msg);
        fflush(l->f);
    } else {
        buf_printf(&l->pending, "%s - metronome.profile - %s - %s\n", ts, debug ? "DEBUG" : "INFO",
                   msg);
    }
    if (debug && l->level > 0)
        fprintf(stderr, "metronome: %s\n", msg);
}

/* A stage's argv as one line, for the log; secrets never reach a stage's argv in clear
 * except --api-key and headers, which are masked here. */
static void log_stage(struct plog *l, const struct profile_argv *a)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "metronome");
    bool hide = false;
    for (int i = 0; i < a->n; i++) {
        buf_putc(&b, ' ');
        buf_puts(&b, hide ? "<redacted>" : a->v[i]);
        hide = !strcmp(a->v[i], "--api-key") || !strcmp(a->v[i], "--header");
    }
    struct buf r; /* and the secrets of --url: userinfo, query values */
    buf_init(&r, 0);
    url_redact_words(b.p, &r);
    plog(l, 1, "stage: %s", r.p);
    buf_free(&r);
    buf_free(&b);
}

/* Whether the trace's header line says its requests carry timestamps, and how many
 * requests it holds. */
static int trace_timed(const char *path, bool *timed, long *requests, struct diag *d)
{
    struct zreader *r = NULL;
    int rc = zr_open(&r, path, 64u << 20, d);
    if (rc)
        return rc;
    const char *line = NULL;
    size_t len = 0;
    rc = zr_getline(r, &line, &len, d);
    if (rc == 1) {
        cJSON *h = cJSON_ParseWithLength(line, len);
        const cJSON *t = h ? cJSON_GetObjectItemCaseSensitive(h, "timed") : NULL;
        *timed = cJSON_IsTrue(t);
        const cJSON *n = h ? cJSON_GetObjectItemCaseSensitive(h, "requests") : NULL;
        *requests = cJSON_IsNumber(n) ? (long)n->valuedouble : 0;
        cJSON_Delete(h);
        rc = h ? 0 : diag_at(d, ERR_PARSE, path, 1, "trace header is not JSON");
    } else if (rc == 0) {
        rc = diag_at(d, ERR_PARSE, path, 0, "empty trace");
    }
    zr_close(r);
    return rc;
}

/* run.json's counts.completed and counts.errors (left alone when absent). */
static void run_counts(const char *runjson, long *completed, long *errors)
{
    char *text = NULL;
    size_t len = 0;
    struct diag ignored;
    if (zio_read_all(runjson, 64u << 20, &text, &len, &ignored))
        return;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "counts");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "completed");
    if (cJSON_IsNumber(v))
        *completed = (long)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(c, "errors");
    if (cJSON_IsNumber(v))
        *errors = (long)v->valuedouble;
    cJSON_Delete(j);
}

/* Runs one stage's cmd_* with argv = name + args (+ extra in front). */
static int run_stage(int (*cmd)(int, char **), const char *name, const char *const *front,
                     size_t nfront, const struct profile_argv *args, struct plog *l)
{
    struct profile_argv v = {0};
    profile_argv_push(&v, name);
    for (size_t i = 0; i < nfront; i++)
        profile_argv_push(&v, front[i]);
    for (int i = 0; i < args->n; i++)
        profile_argv_push(&v, args->v[i]);
    log_stage(l, &v);
    int rc = cmd(v.n, v.v);
    plog(l, 0, "%s finished with exit code %d", name, rc);
    profile_argv_free(&v);
    return rc;
}

/* Runs the report with its stdout (the console tables) also kept in console_path, as
 * AIPerf keeps profile_export_console.txt. Returns the report's exit code, or < 0 with d
 * filled when the copy could not be made. */
static int run_report_teed(const struct profile_argv *args, const char *const *front,
                           const char *console_path, struct plog *l, char *verdict, size_t vcap,
                           struct diag *d)
{
    char tmp[4400];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", console_path, (long)getpid());
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return diag_set(d, ERR_IO, "%s: %s", tmp, strerror(errno));
    int slot = zio_tmp_track(tmp); /* removed if a signal ends the process */
    fflush(stdout);
    /* The report's stdout becomes a file: its tables fit the terminal the tee goes to. */
    if (isatty(STDOUT_FILENO) && !getenv("COLUMNS")) {
        char cols[16];
        snprintf(cols, sizeof cols, "%d", report_console_width(STDOUT_FILENO));
        setenv("COLUMNS", cols, 0);
    }
    int saved = dup(STDOUT_FILENO);
    if (saved < 0 || dup2(fd, STDOUT_FILENO) < 0) {
        close(fd);
        unlink(tmp);
        zio_tmp_untrack(slot);
        if (saved >= 0)
            close(saved);
        return diag_set(d, ERR_IO, "stdout: %s", strerror(errno));
    }
    int rc = run_stage(cmd_report, "report", front, 5, args, l);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    /* Echo what the report printed, then keep it, through the output rule every writer
     * follows (a FIFO or device at console_path is written through, never replaced). */
    char b[65536];
    ssize_t n;
    struct buf all;
    buf_init(&all, 0);
    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, b, sizeof b)) > 0)
        buf_append(&all, b, (size_t)n);
    /* The report's last line, when it is the verdict (PASS / FAIL: ...), is held back: the
     * caller prints it after everything else, so it stays the last line printed. */
    size_t echo = all.len;
    verdict[0] = '\0';
    if (all.len > 1 && all.p[all.len - 1] == '\n') {
        size_t k = all.len - 1;
        while (k && all.p[k - 1] != '\n')
            k--;
        size_t ln = all.len - 1 - k;
        if ((ln == 4 && !memcmp(all.p + k, "PASS", 4)) ||
            (ln > 6 && !memcmp(all.p + k, "FAIL: ", 6))) {
            snprintf(verdict, vcap, "%.*s", (int)ln, all.p + k);
            echo = k;
        }
    }
    if (echo)
        fwrite(all.p, 1, echo, stdout);
    fflush(stdout);
    close(fd);
    unlink(tmp);
    zio_tmp_untrack(slot);
    int wrc = afile_write_all(console_path, all.p ? all.p : "", all.len, d);
    buf_free(&all);
    return wrc ? wrc : rc;
}

static int create_template(int argc, char **argv)
{
    static const struct arg_spec specs[] = {
        {"template-filename", "-t", ARG_VALUE, "FILE", "aiperf_config.yaml",
         "where to write the template"},
        {"help", "-h", ARG_FLAG, NULL, NULL, "this text"},
    };
    struct args a;
    struct diag d = {0};
    if (args_parse(&a, specs, 2, argc - 1, argv + 1, &d))
        return cli_fail(&d, 1);
    if (args_flag(&a, "help")) {
        args_print_help(stdout, "metronome profile create-template [-t FILE]",
                        "Write a commented configuration template for --config.", specs, 2);
        args_free(&a);
        return EXIT_OK;
    }
    const char *path = args_get(&a, "template-filename");
    if (!path && a.npos == 1)
        path = a.pos[0];
    if (!path)
        path = "aiperf_config.yaml";
    int rc = profile_conf_template(path, &d);
    args_free(&a);
    if (rc)
        return cli_fail(&d, 0);
    printf("wrote %s\n", path);
    return EXIT_OK;
}

static int plan_fail(int rc, const struct diag *d)
{
    return cli_fail(d, rc == ERR_INVALID || rc == ERR_UNSUPPORTED);
}

static void print_argv(const char *name, const struct profile_argv *a)
{
    printf("  %s:", name);
    bool hide = false;
    for (int i = 0; i < a->n; i++) {
        struct buf r;
        buf_init(&r, 0);
        bool url = i > 0 && (!strcmp(a->v[i - 1], "--url") || !strcmp(a->v[i - 1], "-u"));
        if (url)
            url_redact(a->v[i], strlen(a->v[i]), &r);
        else
            url_redact_words(a->v[i], &r);
        printf(" %s", hide ? "<redacted>" : r.p ? r.p : "");
        buf_free(&r);
        hide = !strcmp(a->v[i], "--api-key") || !strcmp(a->v[i], "--header");
    }
    putchar('\n');
}

static void sweep_base_argv(const struct profile_argv *all, struct profile_argv *out);
static void run_argv(const struct sweep_cfg *s, const struct profile_argv *base, size_t point,
                     int trial, const char *dir, const cJSON *pm, struct profile_argv *out);

static int validate_config(int argc, char **argv)
{
    bool has_conf = false;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--config") || !strcmp(argv[i], "-f") ||
            !strncmp(argv[i], "--config=", 9))
            has_conf = true;
    struct profile_plan p;
    struct diag d = {0};
    bool help = false;
    char *one[] = {"--config", argv[argc > 1 ? 1 : 0]};
    char **vv = argv + 1;
    int vn = argc - 1;
    if (!has_conf && argc == 2 && argv[1][0] != '-') {
        /* `validate-config FILE` reads as `validate-config --config FILE`. */
        vv = one;
        vn = 2;
    } else if (!has_conf) {
        cli_error("validate-config needs --config FILE");
        return EXIT_USAGE;
    }
    /* A sweep or repeated runs: the points are checked, and the first run's stages
     * printed (the others differ only in the swept values, seed, warmup and directory). */
    struct profile_argv all = {0}, base = {0}, probe = {0};
    struct sweep_cfg s = {0};
    bool sweep = false;
    if (!profile_merged_argv(vn, vv, &all, &d)) {
        int rc = sweep_cfg_parse(&s, all.n, all.v, &d);
        if (rc) {
            profile_argv_free(&all);
            return cli_fail(&d, true);
        }
        sweep = sweep_cfg_active(&s);
        if (sweep) {
            sweep_base_argv(&all, &base);
            run_argv(&s, &base, 0, 0, NULL, NULL, &probe);
            vv = probe.v + 1;
            vn = probe.n - 1;
        }
    }
    d.msg[0] = '\0';
    int rc = profile_plan_build(&p, vn, vv, &help, &d);
    if (rc) {
        rc = plan_fail(rc, &d);
        goto out;
    }
    if (help) {
        printf("Usage: metronome profile validate-config --config FILE [OPTIONS]\n"
               "Checks the file and the options as `metronome profile` would, runs nothing,\n"
               "and prints what each stage would be given.\n");
    } else if (sweep) {
        printf("configuration is valid: %zu point(s) x %d run(s) (%s, %s):", s.npoints, s.trials,
               s.zip ? "zip" : "grid", s.independent ? "independent" : "repeated");
        for (size_t i = 0; i < s.npoints; i++) {
            char dir[1024];
            sweep_point_dir(&s, i, dir, sizeof dir);
            printf(" %s", *dir ? dir : "(base)");
        }
        printf("\nthe first run's stages would run as:\n");
        print_argv("pack", &p.pack);
        print_argv("replay", &p.replay);
        print_argv("report", &p.report);
    } else {
        printf("configuration is valid; the stages would run as:\n");
        print_argv("pack", &p.pack);
        print_argv("replay", &p.replay);
        print_argv("report", &p.report);
    }
    profile_plan_free(&p);
    rc = EXIT_OK;
out:
    sweep_cfg_free(&s);
    profile_argv_free(&probe);
    profile_argv_free(&base);
    profile_argv_free(&all);
    return rc;
}

/* One profile run (pack, replay, report) of argv; a sweep runs this once per run. */
static int profile_one(int argc, char **argv)
{
    struct profile_plan p;
    struct diag d = {0};
    bool help = false;
    int rc = profile_plan_build(&p, argc - 1, argv + 1, &help, &d);
    if (rc)
        return plan_fail(rc, &d);
    if (help) {
        profile_print_help(stdout);
        profile_plan_free(&p);
        return EXIT_OK;
    }
    if (p.ui_fallback)
        fprintf(stderr, "metronome: note: --ui dashboard is not available; using simple\n");

    /* The replay stage's options are checked before pack writes anything: a bad value
     * (say --request-timeout-seconds 0) must not leave a packed trace behind. */
    struct profile_argv chk = {0};
    profile_argv_push(&chk, "replay");
    profile_argv_push(&chk, "--input-file");
    profile_argv_push(&chk, "-");
    for (int i = 0; i < p.replay.n; i++)
        profile_argv_push(&chk, p.replay.v[i]);
    rc = cmd_replay_check(chk.n, chk.v);
    profile_argv_free(&chk);
    if (rc) {
        profile_plan_free(&p);
        return rc;
    }
    /* Pack first: the directory name depends on whether the trace is timed. */
    char dir[4096], trace[4200], tmp_trace[4200];
    int exit_code = EXIT_ERROR;
    struct plog log = {.f = NULL, .level = p.log_level};
    buf_init(&log.pending, 1u << 20);
    /* A directory this run creates is removed again if packing fails, so bad input
     * leaves nothing behind (rmdir only removes it while it is still empty). */
    const char *made = p.artifact_explicit ? p.artifact_dir : p.artifact_base;
    size_t keep = existing_prefix(made);
    if (p.artifact_explicit) {
        snprintf(dir, sizeof dir, "%s", p.artifact_dir);
        if (zio_mkdir_p(dir, &d))
            goto fail;
        snprintf(tmp_trace, sizeof tmp_trace, "%s/trace.jsonl.zst", dir);
    } else {
        if (zio_mkdir_p(p.artifact_base, &d))
            goto fail;
        snprintf(tmp_trace, sizeof tmp_trace, "%s/.profile-%ld.trace.jsonl.zst", p.artifact_base,
                 (long)getpid());
    }
    plog(&log, 0, "%s", p.redacted_cmdline);
    const char *pack_front[] = {"-o", tmp_trace};
    rc = run_stage(cmd_pack, "pack", pack_front, 2, &p.pack, &log);
    if (rc) {
        unlink(tmp_trace);
        remove_new_dirs(made, keep);
        exit_code = rc;
        goto done;
    }
    bool timed = false;
    long requests = 0;
    if (trace_timed(tmp_trace, &timed, &requests, &d)) {
        unlink(tmp_trace);
        goto fail;
    }
    if (p.sessions_cap && requests > 0) {
        char num[32];
        snprintf(num, sizeof num, "%ld", requests);
        profile_argv_push(&p.replay, "--request-count");
        profile_argv_push(&p.replay, num);
    }
    if (!p.artifact_explicit) {
        char name[1024];
        profile_plan_name(&p, timed, name, sizeof name);
        snprintf(dir, sizeof dir, "%s/%s", p.artifact_base, name);
        if (zio_mkdir_p(dir, &d)) {
            unlink(tmp_trace);
            goto fail;
        }
    }
    snprintf(trace, sizeof trace, "%s/trace.jsonl.zst", dir);
    struct stat tst;
    if (strcmp(trace, tmp_trace) && lstat(trace, &tst) == 0 && !S_ISREG(tst.st_mode)) {
        diag_set(&d, ERR_INVALID, "%s: not a regular file; refusing to replace it", trace);
        unlink(tmp_trace);
        goto fail;
    }
    if (strcmp(trace, tmp_trace) && rename(tmp_trace, trace)) {
        diag_set(&d, ERR_IO, "%s: %s", trace, strerror(errno));
        unlink(tmp_trace);
        goto fail;
    }
    char logdir[4200], logpath[4300];
    snprintf(logdir, sizeof logdir, "%s/logs", dir);
    if (zio_mkdir_p(logdir, &d))
        goto fail;
    snprintf(logpath, sizeof logpath, "%s/aiperf.log", logdir);
    log.f = fopen(logpath, "w");
    if (!log.f) {
        diag_set(&d, ERR_IO, "%s: %s", logpath, strerror(errno));
        goto fail;
    }
    if (log.pending.len)
        fwrite(log.pending.p, 1, log.pending.len, log.f);
    plog(&log, 0, "artifact directory: %s", dir);
    plog(&log, 0, "packed %s (%s)", trace, timed ? "timed" : "untimed");

    char inputs[4300];
    snprintf(inputs, sizeof inputs, "%s/inputs.json", dir);
    if (profile_write_inputs(trace, inputs, &d))
        goto fail;
    plog(&log, 0, "wrote %s", inputs);

    /* --overwrite: profile reuses its artifact directory as AIPerf does. */
    const char *replay_front[] = {"--input-file", trace, "--output-artifact-dir", dir,
                                  "--overwrite"};
    char runjson[4300];
    snprintf(runjson, sizeof runjson, "%s/run.json", dir);
    unlink(runjson); /* a stale one must not describe this run if replay cannot start */
    rc = run_stage(cmd_replay, "replay", replay_front, 5, &p.replay, &log);
    /* Ctrl-C: replay stops sending, drains and marks the run cancelled; like AIPerf, the
     * partial results are still reported, with a warning, and the exit code stays the
     * replay's. A complete run in which no request succeeded (replay exits 1) is reported
     * too (the error summary is what the user needs), then profile exits 1 and says so
     * last. Any other replay failure ends here. */
    bool cancelled = rc != 0 && profile_json_flag(runjson, "cancelled", false);
    bool none_ok = rc == EXIT_ERROR && !cancelled && profile_json_flag(runjson, "complete", false);
    if (rc && !cancelled && !none_ok) {
        exit_code = rc;
        goto done;
    }
    int replay_rc = rc;
    /* run_info.cli_command in profile_export_aiperf.json: the command as typed, redacted */
    const char *report_front[] = {dir, "--output-dir", dir, "--cli-command", p.redacted_cmdline};
    char console[4300];
    char cname[512];
    report_export_name(p.export_prefix, "profile_export_console.txt", cname, sizeof cname);
    snprintf(console, sizeof console, "%s/%s", dir, cname);
    char verdict[1024];
    rc = run_report_teed(&p.report, report_front, console, &log, verdict, sizeof verdict, &d);
    if (rc < 0)
        goto fail;
    exit_code = rc;
    /* The marker says the exports are there: only after a report that wrote them (0, or 3
     * for a failed verdict over complete exports). After a failed report (an export path
     * that is a directory, a full disk) there is no marker, and a stale one from an
     * earlier run in this directory goes. */
    char ready[4300];
    snprintf(ready, sizeof ready, "%s/.aiperf_results_ready.json", dir);
    if (rc != EXIT_OK && rc != EXIT_VERDICT) {
        unlink(ready);
        plog(&log, 0, "report failed (exit %d): no results-ready marker", rc);
    } else if (profile_write_ready(dir, p.export_prefix, &d)) {
        goto fail;
    }
    if (cancelled) {
        fprintf(stderr, "metronome: warning: the profile run was cancelled early; results "
                        "may be incomplete or inaccurate\n");
        plog(&log, 0, "cancelled early; reported the requests that finished");
        if (exit_code != EXIT_VERDICT)
            exit_code = replay_rc;
    }
    char html[4300];
    snprintf(html, sizeof html, "%s/report.html", dir);
    if (access(html, R_OK) == 0)
        fprintf(stdout, "\nArtifacts: %s\nHTML report: %s\n", dir, html);
    if (none_ok) {
        long done_n = 0, failed_n = 0;
        run_counts(runjson, &done_n, &failed_n);
        fflush(stdout);
        cli_error("no request succeeded: %ld of %ld failed; the error summary is in %s", failed_n,
                  done_n, dir);
        plog(&log, 0, "no request succeeded (%ld of %ld failed)", failed_n, done_n);
        exit_code = EXIT_ERROR;
    }
    if (verdict[0]) {
        fflush(stderr);
        printf("%s\n", verdict);
        fflush(stdout);
    }
    goto done;
fail:
    cli_fail(&d, 0);
    exit_code = EXIT_ERROR;
done:
    if (log.f)
        fclose(log.f);
    buf_free(&log.pending);
    profile_plan_free(&p);
    return exit_code;
}

/* ---- sweeps and repeated runs (docs/cli-profile.md, *Sweeps and repeated runs*) ---- */

/* The sweep's own log, BASE/logs/aiperf.log. */
static void slog(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slog(FILE *f, const char *fmt, ...)
{
    if (!f)
        return;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    va_list ap;
    va_start(ap, fmt);
    fprintf(f, "%s - metronome.sweep - INFO - ", ts);
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    fflush(f);
    va_end(ap);
}

/* Sleeps s seconds unless a SIGINT (blocked during the sweep) arrives; true if it did. */
static bool cooldown(double s, const sigset_t *intr)
{
    if (!(s > 0))
        return false;
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    return sigtimedwait(intr, NULL, &ts) == SIGINT;
}

/* Consumes a pending SIGINT (it arrived during pack or report); true if there was one. */
static bool interrupted_now(const sigset_t *intr)
{
    struct timespec zero = {0, 0};
    return sigtimedwait(intr, NULL, &zero) == SIGINT;
}

/* The runs' common argv: "profile" and the merged options without --config (already
 * merged in). */
static void sweep_base_argv(const struct profile_argv *all, struct profile_argv *out)
{
    profile_argv_push(out, "profile");
    for (int i = 0; i < all->n; i++) {
        if ((!strcmp(all->v[i], "--config") || !strcmp(all->v[i], "-f")) && i + 1 < all->n) {
            i++;
            continue;
        }
        if (!strncmp(all->v[i], "--config=", 9))
            continue;
        profile_argv_push(out, all->v[i]);
    }
}

/* A warmup option (every one takes a value): "--warmup-...", "--num-warmup-...", with or
 * without "=VALUE". */
static bool warmup_opt(const char *a, bool *inline_value)
{
    if (strncmp(a, "--warmup-", 9) && strncmp(a, "--num-warmup-", 13))
        return false;
    *inline_value = strchr(a, '=') != NULL;
    return true;
}

static void run_argv(const struct sweep_cfg *s, const struct profile_argv *base, size_t point,
                     int trial, const char *dir, const cJSON *pm, struct profile_argv *out)
{
    /* AIPerf drops every warmup phase after the first trial, however it was defined (count,
     * duration, its own concurrency or rate): so do we, rather than zero only the count. */
    bool no_warmup = trial > 0 && s->warmup_after_first_off;
    for (int i = 0; i < base->n; i++) {
        bool inl;
        if (no_warmup && warmup_opt(base->v[i], &inl)) {
            i += !inl;
            continue;
        }
        profile_argv_push(out, base->v[i]);
    }
    /* the last value of an option wins: these override the lists and any given dir */
    for (size_t i = 0; i < s->ndims; i++) {
        profile_argv_push(out, s->dims[i].canon);
        profile_argv_push(out, s->dims[i].text[s->idx[point * s->ndims + i]]);
    }
    for (int i = 0; s->nscen && i < s->scen[point].argc; i++)
        profile_argv_push(out, s->scen[point].argv[i]);
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(pm, "seed");
    /* --vary-seed-per-trial: the run's own seed (a decimal string: 63 bits) */
    const cJSON *rseed = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pm, "runs"), trial), "seed");
    if (cJSON_IsString(rseed)) {
        profile_argv_push(out, "--random-seed");
        profile_argv_push(out, rseed->valuestring);
    } else if (cJSON_IsNumber(seed)) {
        char t[32];
        snprintf(t, sizeof t, "%lld", (long long)seed->valuedouble);
        profile_argv_push(out, "--random-seed");
        profile_argv_push(out, t);
    }
    if (dir) {
        profile_argv_push(out, "--output-artifact-dir");
        profile_argv_push(out, dir);
    }
}

/* A statistic of the export's metric, NaN when absent. */
static double exp_stat(const cJSON *e, const char *tag, const char *stat)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, tag), stat);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The live sweep table: one line per finished run on stderr, from its export, cut to the
 * terminal's width (ioctl, COLUMNS, else 80) so a narrow window never wraps it. */
static void sweep_live_line(size_t k, size_t total, const char *point, int trial,
                            const char *exp_path)
{
    char *text = NULL;
    size_t len = 0;
    struct diag d = {0};
    if (zio_read_all(exp_path, 64u << 20, &text, &len, &d))
        return;
    cJSON *e = cJSON_ParseWithLength(text, len);
    free(text);
    if (!e)
        return;
    char line[512];
    snprintf(line, sizeof line,
             "metronome: sweep %zu/%zu %s%strial %d: %.2f req/s, %.1f tok/s, TTFT p50 %.2f "
             "p99 %.2f ms, ITL p50 %.2f ms, latency p99 %.2f ms",
             k, total, point, *point ? " " : "", trial, exp_stat(e, "request_throughput", "avg"),
             exp_stat(e, "output_token_throughput", "avg"),
             exp_stat(e, "time_to_first_token", "p50"), exp_stat(e, "time_to_first_token", "p99"),
             exp_stat(e, "inter_token_latency", "p50"), exp_stat(e, "request_latency", "p99"));
    cJSON_Delete(e);
    int w = report_console_width(STDERR_FILENO);
    if (w > 4 && (size_t)w < strlen(line)) {
        line[w - 1] = '\0'; /* the last cell left free: some terminals wrap on it */
        memcpy(line + w - 4, "...", 3);
    }
    fprintf(stderr, "%s\n", line);
}

static int run_sweep(struct sweep_cfg *s, const struct profile_argv *all)
{
    struct profile_argv base = {0};
    sweep_base_argv(all, &base);
    struct diag d = {0};
    int exit_code = EXIT_ERROR;
    cJSON *man = NULL;
    FILE *log = NULL;
    /* Check the whole command line once (point 0's values) before anything runs, and
     * find the base directory as AIPerf does: the artifact dir of the first point. */
    char bdir[4096], prefix[512] = "";
    {
        struct profile_argv probe = {0};
        run_argv(s, &base, 0, 0, NULL, NULL, &probe);
        struct profile_plan p;
        bool help = false;
        int rc = profile_plan_build(&p, probe.n - 1, probe.v + 1, &help, &d);
        profile_argv_free(&probe);
        if (rc) {
            profile_argv_free(&base);
            return plan_fail(rc, &d);
        }
        /* every point's command line now, as AIPerf validates every variation before the
         * first runs (a --variant sets its own options; a list's value may be refused
         * with the others, e.g. a --num-users above --request-count) */
        for (size_t i = 1; i < s->npoints && !rc; i++) {
            struct profile_plan q;
            bool qh = false;
            run_argv(s, &base, i, 0, NULL, NULL, &probe);
            rc = profile_plan_build(&q, probe.n - 1, probe.v + 1, &qh, &d);
            profile_argv_free(&probe);
            if (!rc)
                profile_plan_free(&q);
        }
        if (rc) {
            profile_plan_free(&p);
            profile_argv_free(&base);
            return plan_fail(rc, &d);
        }
        if (p.artifact_explicit)
            snprintf(bdir, sizeof bdir, "%s", p.artifact_dir);
        else {
            char name[1024];
            profile_plan_name(&p, p.fixed_forced, name, sizeof name);
            snprintf(bdir, sizeof bdir, "%s/%s", p.artifact_base, name);
        }
        man = sweep_manifest_new(s, p.model);
        if (p.export_prefix)
            snprintf(prefix, sizeof prefix, "%s", p.export_prefix);
        profile_plan_free(&p);
    }
    char logdir[4200], logpath[4300];
    snprintf(logdir, sizeof logdir, "%s/logs", bdir);
    if (zio_mkdir_p(logdir, &d) || sweep_manifest_write(bdir, man, &d))
        goto fail;
    snprintf(logpath, sizeof logpath, "%s/aiperf.log", logdir);
    log = fopen(logpath, "a");
    slog(log, "sweep: %zu point(s) x %d trial(s), mode %s, base %s", s->npoints, s->trials,
         s->independent ? "independent" : "repeated", bdir);

    /* SIGINT is taken as a message during the sweep: replay handles it within a run (it
     * blocks it and reads it from a signalfd), and between runs it ends the sweep. */
    sigset_t intr, old;
    sigemptyset(&intr);
    sigaddset(&intr, SIGINT);
    sigprocmask(SIG_BLOCK, &intr, &old);
    bool stop = false, any_verdict = false;
    size_t total = s->npoints * (size_t)s->trials, done_runs = 0;
    const cJSON *pts = cJSON_GetObjectItemCaseSensitive(man, "points");
    for (size_t k = 0; k < total && !stop; k++) {
        size_t point = s->independent ? k / (size_t)s->trials : k % s->npoints;
        int trial = s->independent ? (int)(k % (size_t)s->trials) : (int)(k / s->npoints);
        cJSON *pm = cJSON_GetArrayItem(pts, (int)point);
        cJSON *runs = cJSON_GetObjectItemCaseSensitive(pm, "runs");
        cJSON *rj = cJSON_GetArrayItem(runs, trial);
        const char *pdir = cJSON_GetObjectItemCaseSensitive(pm, "dir")->valuestring;
        /* AIPerf's AdaptiveStrategy: after at least 2 runs of the point, stop once it
         * has converged. */
        if (s->conv_metric && trial >= 2 && sweep_point_converged(s, bdir, pm)) {
            cJSON_ReplaceItemInObject(rj, "status", cJSON_CreateString("skipped_converged"));
            slog(log, "point %s: converged after %d run(s)", pdir, trial);
            continue;
        }
        /* cooldowns, as AIPerf's orchestrator places them */
        double cd = 0;
        if (k > 0) {
            bool new_point = s->independent ? trial == 0 : point > 0;
            cd = new_point ? s->sweep_cooldown : s->trial_cooldown;
        }
        if (cooldown(cd, &intr)) {
            stop = true;
            break;
        }
        char rel[2048], dir[6200];
        snprintf(rel, sizeof rel, "%s", cJSON_GetObjectItemCaseSensitive(rj, "dir")->valuestring);
        if (!strcmp(rel, "."))
            snprintf(dir, sizeof dir, "%s", bdir);
        else
            snprintf(dir, sizeof dir, "%s/%s", bdir, rel);
        struct profile_argv av = {0};
        run_argv(s, &base, point, trial, dir, pm, &av);
        fprintf(stderr, "metronome: sweep run %zu of %zu: %s%strial %d\n", k + 1, total,
                *pdir ? pdir : "", *pdir ? ", " : "", trial + 1);
        slog(log, "run %zu of %zu: %s trial %d -> %s", k + 1, total, pdir, trial + 1, rel);
        int rc = profile_one(av.n, av.v);
        profile_argv_free(&av);
        char exp[6400], ename[512];
        report_export_name(prefix[0] ? prefix : NULL, "profile_export_aiperf.json", ename,
                           sizeof ename);
        snprintf(exp, sizeof exp, "%s/%s", dir, ename);
        const char *st = rc == EXIT_INTERRUPTED                                        ? "cancelled"
                         : (rc == EXIT_OK || rc == EXIT_VERDICT) && !access(exp, R_OK) ? "ok"
                                                                                       : "failed";
        any_verdict |= rc == EXIT_VERDICT;
        if (!strcmp(st, "ok"))
            sweep_live_line(k + 1, total, pdir, trial + 1, exp);
        cJSON_ReplaceItemInObject(rj, "status", cJSON_CreateString(st));
        cJSON_ReplaceItemInObject(rj, "exit_code", cJSON_CreateNumber(rc));
        slog(log, "run %zu: %s (exit %d)", k + 1, st, rc);
        done_runs++;
        if (rc == EXIT_INTERRUPTED || interrupted_now(&intr))
            stop = true;
        if (sweep_manifest_write(bdir, man, &d))
            break;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (d.msg[0])
        goto fail;

    /* What did not run, what failed. */
    struct buf notrun, failed;
    buf_init(&notrun, 0);
    buf_init(&failed, 0);
    size_t n_notrun = 0, n_failed = 0, runs_notrun = 0;
    for (const cJSON *pm = pts->child; pm; pm = pm->next) {
        const char *pd = cJSON_GetObjectItemCaseSensitive(pm, "dir")->valuestring;
        const char *pl = cJSON_GetObjectItemCaseSensitive(pm, "label")->valuestring;
        bool ran = false, ok = false, bad = false;
        for (const cJSON *r = cJSON_GetObjectItemCaseSensitive(pm, "runs")->child; r; r = r->next) {
            const char *st = cJSON_GetObjectItemCaseSensitive(r, "status")->valuestring;
            runs_notrun += !strcmp(st, "not_run");
            ran |= strcmp(st, "not_run") != 0;
            ok |= !strcmp(st, "ok");
            bad |= !strcmp(st, "failed");
        }
        const char *name = *pd ? pd : *pl ? pl : "the run";
        if (!ran)
            buf_printf(&notrun, "%s%s", n_notrun++ ? ", " : "", name);
        else if (bad || !ok)
            buf_printf(&failed, "%s%s", n_failed++ ? ", " : "", name);
    }
    cJSON_ReplaceItemInObject(man, "complete", cJSON_CreateBool(runs_notrun == 0));
    cJSON_ReplaceItemInObject(man, "cancelled", cJSON_CreateBool(stop));
    int frc = sweep_manifest_write(bdir, man, &d);
    sweep_export_prefix(prefix[0] ? prefix : NULL);
    if (!frc)
        frc = sweep_finalize(bdir, man, NULL, &d);
    sweep_export_prefix(NULL);
    if (!frc) /* the sweep's own page: table, Pareto and trend charts with CI bands */
        frc = report_sweep_html(bdir, NULL, NULL, &d);
    if (frc) {
        buf_free(&notrun);
        buf_free(&failed);
        goto fail;
    }
    fflush(stdout);
    printf("\nSweep: %zu run(s) of %zu; summary: %s/sweep_summary.csv, %s/sweep_report.html\n",
           done_runs, total, bdir, bdir);
    fflush(stdout);
    exit_code = any_verdict ? EXIT_VERDICT : EXIT_OK;
    if (n_failed) {
        cli_error("%zu of %zu point(s) had a failed run: %s", n_failed, s->npoints, failed.p);
        exit_code = EXIT_ERROR;
    }
    if (stop) {
        if (n_notrun)
            cli_error("sweep interrupted: %zu of %zu point(s) did not run: %s", n_notrun,
                      s->npoints, notrun.p);
        else
            cli_error("sweep interrupted: %zu of %zu run(s) did not run", runs_notrun, total);
        exit_code = EXIT_INTERRUPTED;
    }
    slog(log, "sweep done: exit %d", exit_code);
    buf_free(&notrun);
    buf_free(&failed);
    goto done;
fail:
    cli_fail(&d, 0);
    exit_code = EXIT_ERROR;
done:
    if (log)
        fclose(log);
    cJSON_Delete(man);
    profile_argv_free(&base);
    return exit_code;
}

int cmd_profile(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "create-template"))
        return create_template(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "validate-config"))
        return validate_config(argc - 1, argv + 1);
    struct profile_argv all = {0};
    struct diag d = {0};
    /* A config file that does not load is reported by the plan, as for a single run. */
    if (profile_merged_argv(argc - 1, argv + 1, &all, &d)) {
        profile_argv_free(&all);
        return profile_one(argc, argv);
    }
    struct sweep_cfg s;
    int rc = sweep_cfg_parse(&s, all.n, all.v, &d);
    if (rc) {
        profile_argv_free(&all);
        return cli_fail(&d, true);
    }
    if (!sweep_cfg_active(&s)) {
        sweep_cfg_free(&s);
        profile_argv_free(&all);
        return profile_one(argc, argv);
    }
    rc = run_sweep(&s, &all);
    sweep_cfg_free(&s);
    profile_argv_free(&all);
    return rc;
}
