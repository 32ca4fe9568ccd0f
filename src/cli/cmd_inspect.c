/* metronome inspect: validates a trace and prints its shape (docs/cli-inspect.md). */
#include "args.h"
#include "buf.h"
#include "cli.h"
#include "jsonw.h"
#include "records_read.h"
#include "trace.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct arg_spec specs[] = {
    {"help", "-h", ARG_FLAG, NULL, NULL, "this text"},
    {"json", NULL, ARG_FLAG, NULL, NULL, "print one JSON object instead of text"},
    {"expand", NULL, ARG_FLAG, NULL, NULL,
     "also materialize every body (as replay does) and report body sizes"},
    {"bodies", NULL, ARG_FLAG, NULL, NULL,
     "print every request body, expanded, one per line (JSON Lines), instead of the summary"},
};

#define NSPECS (sizeof specs / sizeof specs[0])

struct series {
    double *v;
    size_t n, cap;
};

static void push(struct series *s, double x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* numpy's default (linear) percentile over sorted values. */
static double pct(const struct series *s, double p)
{
    if (s->n == 0)
        return 0;
    double pos = p / 100 * (double)(s->n - 1);
    size_t lo = (size_t)floor(pos);
    size_t hi = lo + 1 < s->n ? lo + 1 : lo;
    return s->v[lo] + (s->v[hi] - s->v[lo]) * (pos - (double)lo);
}

struct summary {
    double min, avg, p50, p99, max;
};

static struct summary summarize(struct series *s)
{
    struct summary r = {0};
    if (s->n == 0)
        return r;
    qsort(s->v, s->n, sizeof *s->v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += s->v[i];
    r.min = s->v[0];
    r.max = s->v[s->n - 1];
    r.avg = sum / (double)s->n;
    r.p50 = pct(s, 50);
    r.p99 = pct(s, 99);
    return r;
}

static void json_summary(struct jsonw *j, const char *key, const struct summary *s, size_t n)
{
    jsonw_key(j, key);
    if (n == 0) {
        jsonw_null(j);
        return;
    }
    jsonw_obj_begin(j);
    jsonw_key(j, "count");
    jsonw_uint(j, n);
    jsonw_key(j, "min");
    jsonw_double(j, s->min);
    jsonw_key(j, "avg");
    jsonw_fixed(j, s->avg, 3);
    jsonw_key(j, "p50");
    jsonw_fixed(j, s->p50, 3);
    jsonw_key(j, "p99");
    jsonw_fixed(j, s->p99, 3);
    jsonw_key(j, "max");
    jsonw_double(j, s->max);
    jsonw_obj_end(j);
}

static void text_summary(const char *name, const struct summary *s, size_t n)
{
    if (n == 0) {
        printf("  %-10s none\n", name);
        return;
    }
    printf("  %-10s min %.0f  avg %.1f  p50 %.1f  p99 %.1f  max %.0f  (%zu requests)\n", name,
           s->min, s->avg, s->p50, s->p99, s->max, n);
}

/* A run directory: run.json and every record, validated the way report reads them. */
static int inspect_run(const char *dir, bool json)
{
    struct diag d = {0};
    struct run_meta m;
    if (run_meta_load(&m, dir, &d))
        return cli_fail(&d, 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/records.jsonl.zst", dir);
    struct stat st;
    if (stat(path, &st) != 0)
        snprintf(path, sizeof path, "%s/records.jsonl", dir);
    struct rec_stream *rs;
    if (rec_stream_open(&rs, path, &d)) {
        run_meta_free(&m);
        return cli_fail(&d, 0);
    }
    struct rec_parser p;
    rec_parser_init(&p);
    long records = 0, warmup = 0, errors = 0, cancelled = 0, reused = 0;
    int64_t t_min = INT64_MAX, t_max = INT64_MIN;
    struct series isl = {0}, osl = {0};
    const char *line;
    size_t len;
    int rc;
    struct rec_check chk;
    rec_check_init(&chk);
    while ((rc = rec_stream_next(rs, &line, &len, &d)) == 1) {
        struct rec r;
        size_t col;
        const char *what;
        if (rec_parse(&p, line, len, &r, &col, &what)) {
            if (rec_stream_last_unterminated(rs)) { /* cut off by a crash: report drops it */
                rec_stream_drop_last(rs, len);
                continue;
            }
            rc = diag_at(&d, ERR_PARSE, path, rec_stream_lineno(rs), "column %zu: %s", col, what);
            break;
        }
        if ((rc = rec_check_add(&chk, &r, path, rec_stream_lineno(rs), &d)) < 0)
            break;
        records++;
        warmup += r.phase == REC_WARMUP;
        errors += r.has_error;
        cancelled += r.cancelled;
        reused += r.reused;
        if (r.t_start != REC_ABSENT && r.t_start < t_min)
            t_min = r.t_start;
        if (r.t_end != REC_ABSENT && r.t_end > t_max)
            t_max = r.t_end;
        if (r.isl != REC_ABSENT)
            push(&isl, (double)r.isl);
        int64_t out = r.has_usage && r.usage_completion != REC_ABSENT ? r.usage_completion : 0;
        if (!r.has_usage || r.usage_completion == REC_ABSENT)
            for (size_t i = 0; i < r.nchunks; i++)
                out += r.chunk_tok[i];
        if (!r.has_error)
            push(&osl, (double)out);
    }
    uint64_t dropped = rec_stream_dropped(rs);
    /* A run marked complete must hold what its run.json counted: a file cut in half or
     * replaced by random bytes used to pass as "valid (complete)". */
    if (rc == 0)
        rc = rec_check_end(&chk, &m, dropped, path, &d);
    if (rc == 0 && chk.backwards)
        cli_warn("%s:%ld: %ld record(s) end before they start (t_end < t_start)", path,
                 chk.first_backwards_line, chk.backwards);
    rec_check_free(&chk);
    rec_stream_close(rs);
    rec_parser_free(&p);
    if (rc < 0) {
        free(isl.v);
        free(osl.v);
        run_meta_free(&m);
        return cli_fail(&d, 0);
    }
    struct summary si = summarize(&isl), so = summarize(&osl);
    double span = t_max > t_min ? (double)(t_max - t_min) / 1e9 : 0;
    if (json) {
        struct buf b;
        buf_init(&b, 0);
        struct jsonw j;
        jsonw_init(&j, &b);
        jsonw_obj_begin(&j);
        jsonw_key(&j, "valid");
        jsonw_bool(&j, true);
        jsonw_key(&j, "kind");
        jsonw_str(&j, "run");
        jsonw_key(&j, "complete");
        jsonw_bool(&j, m.complete);
        jsonw_key(&j, "cancelled");
        jsonw_bool(&j, m.cancelled);
        jsonw_key(&j, "endpoint_type");
        jsonw_str(&j, m.endpoint);
        jsonw_key(&j, "shard_index");
        jsonw_int(&j, m.shard_index);
        jsonw_key(&j, "shard_count");
        jsonw_int(&j, m.shard_count);
        jsonw_key(&j, "records");
        jsonw_int(&j, records);
        jsonw_key(&j, "warmup_records");
        jsonw_int(&j, warmup);
        jsonw_key(&j, "errors");
        jsonw_int(&j, errors);
        jsonw_key(&j, "cancelled_records");
        jsonw_int(&j, cancelled);
        jsonw_key(&j, "reused_connections");
        jsonw_int(&j, reused);
        jsonw_key(&j, "span_s");
        jsonw_fixed(&j, span, 6);
        json_summary(&j, "isl", &si, isl.n);
        json_summary(&j, "output_tokens", &so, osl.n);
        jsonw_key(&j, "dropped_bytes");
        jsonw_uint(&j, dropped);
        jsonw_obj_end(&j);
        printf("%s\n", b.p);
        buf_free(&b);
    } else {
        printf("%s: valid run directory (%s%s)\n", dir, m.complete ? "complete" : "incomplete",
               m.cancelled ? ", cancelled" : "");
        printf("  endpoint   %s, shard %d of %d\n", m.endpoint, m.shard_index + 1,
               m.shard_count > 0 ? m.shard_count : 1);
        printf("  records    %ld (%ld warmup), %ld errors, %ld cancelled, %ld on reused "
               "connections\n",
               records, warmup, errors, cancelled, reused);
        printf("  span       %.3f s from the first start to the last end\n", span);
        text_summary("isl", &si, isl.n);
        text_summary("out tokens", &so, osl.n);
        if (dropped)
            printf("  dropped    %llu bytes of an unfinished last frame\n",
                   (unsigned long long)dropped);
    }
    free(isl.v);
    free(osl.v);
    run_meta_free(&m);
    return EXIT_OK;
}

int cmd_inspect(int argc, char **argv)
{
    struct args a;
    struct diag d = {0};
    if (args_parse(&a, specs, NSPECS, argc - 1, argv + 1, &d))
        return cli_fail(&d, 1);
    if (args_flag(&a, "help")) {
        args_print_help(stdout, "metronome inspect [--json] TRACE|RUN_DIR",
                        "Validate a trace (or a run directory) and print its shape.", specs,
                        NSPECS);
        args_free(&a);
        return EXIT_OK;
    }
    if (a.npos != 1) {
        diag_set(&d, ERR_INVALID, "inspect takes exactly one trace file");
        args_free(&a);
        return cli_fail(&d, 1);
    }
    const char *path = a.pos[0];
    bool json = args_flag(&a, "json"), expand = args_flag(&a, "expand");
    struct stat pst;
    if (stat(path, &pst) == 0 && S_ISDIR(pst.st_mode)) {
        int code = inspect_run(path, json);
        args_free(&a);
        return code;
    }
    bool bodies = args_flag(&a, "bodies");
    if (bodies)
        expand = true;
    struct trace_reader *r;
    if (trace_open(&r, path, &d)) {
        args_free(&a);
        return cli_fail(&d, 0);
    }
    trace_set_expand(r, expand);
    const struct trace_header *h = trace_get_header(r);
    struct series isl = {0}, osl = {0}, body = {0};
    long requests = 0, sessions = 0, max_turn = 0, timed_first = 0, block_refs = 0;
    long later_turns = 0, streamed = 0;
    double t_min = INFINITY, t_max = -INFINITY, delay_sum = 0;
    struct trace_request q;
    int rc;
    while ((rc = trace_next(r, &q, &d)) == 1) {
        requests++;
        if (q.turn == 0)
            sessions++;
        else {
            later_turns++;
            delay_sum += q.delay_ms;
        }
        if (q.turn + 1 > max_turn)
            max_turn = q.turn + 1;
        if (q.timed) {
            timed_first++;
            if (q.t_ms < t_min)
                t_min = q.t_ms;
            if (q.t_ms > t_max)
                t_max = q.t_ms;
        }
        if (q.stream)
            streamed++;
        push(&isl, (double)q.isl);
        if (q.osl >= 0)
            push(&osl, (double)q.osl);
        if (expand)
            push(&body, (double)q.body_len);
        if (bodies) {
            fwrite(q.body, 1, q.body_len, stdout);
            putchar('\n');
        }
        block_refs += q.blocks;
    }
    size_t bytes_in = trace_bytes_in(r), bytes_out = trace_bytes_out(r);
    if (rc < 0) {
        trace_close(r);
        free(isl.v);
        free(osl.v);
        free(body.v);
        args_free(&a);
        return cli_fail(&d, 0);
    }
    if (sessions != h->sessions) {
        diag_at(&d, ERR_INVALID, path, 1,
                "the header promises %ld sessions but the trace holds %ld", h->sessions, sessions);
        trace_close(r);
        free(isl.v);
        free(osl.v);
        free(body.v);
        args_free(&a);
        return cli_fail(&d, 0);
    }
    if (bodies) {
        trace_close(r);
        free(isl.v);
        free(osl.v);
        free(body.v);
        args_free(&a);
        return fflush(stdout) ? EXIT_ERROR : EXIT_OK;
    }
    struct summary si = summarize(&isl), so = summarize(&osl), sb = summarize(&body);
    double duration = timed_first > 0 ? t_max - t_min : 0;
    double rate = duration > 0 ? (double)(timed_first - 1) / (duration / 1000) : 0;
    double reuse = block_refs > 0 ? 1.0 - (double)h->blocks / (double)block_refs : 0;
    if (reuse < 0)
        reuse = 0;

    if (json) {
        struct buf b;
        buf_init(&b, 0);
        struct jsonw j;
        jsonw_init(&j, &b);
        jsonw_obj_begin(&j);
        jsonw_key(&j, "valid");
        jsonw_bool(&j, true);
        jsonw_key(&j, "version");
        jsonw_int(&j, h->version);
        jsonw_key(&j, "endpoint_type");
        jsonw_str(&j, h->endpoint_type);
        jsonw_key(&j, "endpoint_path");
        jsonw_str(&j, h->endpoint_path);
        jsonw_key(&j, "streaming");
        jsonw_bool(&j, h->streaming);
        jsonw_key(&j, "tokenizer");
        jsonw_str(&j, h->tokenizer);
        jsonw_key(&j, "tokens_approximate");
        jsonw_bool(&j, h->tokens_approx);
        if (h->tokenizer_sha256 && h->tokenizer_sha256[0]) {
            jsonw_key(&j, "tokenizer_sha256");
            jsonw_str(&j, h->tokenizer_sha256);
        }
        jsonw_key(&j, "requests");
        jsonw_int(&j, requests);
        jsonw_key(&j, "sessions");
        jsonw_int(&j, sessions);
        jsonw_key(&j, "max_turns");
        jsonw_int(&j, max_turn);
        jsonw_key(&j, "avg_turns");
        jsonw_fixed(&j, sessions ? (double)requests / (double)sessions : 0, 3);
        jsonw_key(&j, "avg_turn_delay_ms");
        jsonw_fixed(&j, later_turns ? delay_sum / (double)later_turns : 0, 3);
        jsonw_key(&j, "streamed_requests");
        jsonw_int(&j, streamed);
        json_summary(&j, "isl", &si, isl.n);
        json_summary(&j, "osl", &so, osl.n);
        if (expand)
            json_summary(&j, "body_bytes", &sb, body.n);
        jsonw_key(&j, "timed");
        jsonw_bool(&j, h->timed);
        jsonw_key(&j, "duration_ms");
        jsonw_fixed(&j, duration, 3);
        jsonw_key(&j, "mean_rate_per_s");
        jsonw_fixed(&j, rate, 3);
        jsonw_key(&j, "blocks");
        jsonw_int(&j, h->blocks);
        jsonw_key(&j, "block_refs");
        jsonw_int(&j, block_refs);
        jsonw_key(&j, "block_reuse_ratio");
        jsonw_fixed(&j, reuse, 4);
        jsonw_key(&j, "pieces");
        jsonw_int(&j, h->pieces);
        jsonw_key(&j, "compressed_bytes");
        jsonw_uint(&j, bytes_in);
        jsonw_key(&j, "decompressed_bytes");
        jsonw_uint(&j, bytes_out);
        jsonw_obj_end(&j);
        printf("%s\n", b.p);
        buf_free(&b);
    } else {
        printf("%s: valid metronome trace v%d\n", path, h->version);
        printf("  endpoint   %s %s%s\n", h->endpoint_type, h->endpoint_path,
               h->streaming ? " (streaming)" : "");
        printf("  requests   %ld in %ld sessions (turns: max %ld, avg %.2f)\n", requests, sessions,
               max_turn, sessions ? (double)requests / (double)sessions : 0);
        text_summary("isl", &si, isl.n);
        text_summary("osl", &so, osl.n);
        if (expand)
            text_summary("body bytes", &sb, body.n);
        if (h->timed)
            printf("  timed      %.3f s, mean rate %.3f req/s\n", duration / 1000, rate);
        else
            printf("  untimed    (replay sets the rate or concurrency)\n");
        if (later_turns)
            printf("  delays     avg %.1f ms before later turns\n",
                   delay_sum / (double)later_turns);
        printf("  blocks     %ld unique, %ld references, reuse ratio %.4f\n", h->blocks, block_refs,
               reuse);
        if (h->tokenizer_sha256 && h->tokenizer_sha256[0])
            printf("  tokens     %s (exact: isl counted by this tokenizer.json, sha256 %.16s...)\n",
                   h->tokenizer, h->tokenizer_sha256);
        else
            printf("  tokens     %s%s\n", h->tokenizer, h->tokens_approx ? " (approximate)" : "");
        printf("  size       %zu bytes compressed, %zu decompressed\n", bytes_in, bytes_out);
    }
    trace_close(r);
    free(isl.v);
    free(osl.v);
    free(body.v);
    args_free(&a);
    return EXIT_OK;
}
