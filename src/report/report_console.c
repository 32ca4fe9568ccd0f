/*
 * Console output in AIPerf's layout: rich's HEAVY_HEAD box, right-justified cells, the
 * columns avg min max p99 p90 p75 std, values "{:,.2f}" in display units, "N/A" where a
 * statistic does not exist. metronome's additions follow in tables of their own so the
 * AIPerf table stays comparable line for line.
 */
#include "report_int.h"

#include "xalloc.h"

#include <math.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#define TBL_MAXCOL 12
#define TBL_MAXROW 512

struct table {
    const char *title;
    int ncol;
    const char *head[TBL_MAXCOL];
    bool left[TBL_MAXCOL];
    char *cell[TBL_MAXROW][TBL_MAXCOL]; /* owned */
    int nrow;
};

static size_t dwidth(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xc0) != 0x80;
    return w;
}

/* Width of the widest line of a cell. */
static size_t cell_width(const char *s)
{
    size_t best = 0;
    while (s) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        size_t w = dwidth(s, n);
        if (w > best)
            best = w;
        s = e ? e + 1 : NULL;
    }
    return best;
}

static int cell_lines(const char *s)
{
    int n = 1;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Line k of a cell, or "" past its end. */
static const char *cell_line(const char *s, int k, size_t *n)
{
    for (int i = 0; i < k; i++) {
        const char *e = strchr(s, '\n');
        if (!e) {
            *n = 0;
            return "";
        }
        s = e + 1;
    }
    const char *e = strchr(s, '\n');
    *n = e ? (size_t)(e - s) : strlen(s);
    return s;
}

static void table_row(struct table *t, const char *const *cells)
{
    if (t->nrow >= TBL_MAXROW)
        return;
    for (int c = 0; c < t->ncol; c++)
        t->cell[t->nrow][c] = xstrdup(cells[c] ? cells[c] : "");
    t->nrow++;
}

/* How tables are drawn on this thread's current console (set by report_print_console
 * for the duration of one call: one report at a time per thread). width 0: no limit. */
static _Thread_local struct {
    int width;
    bool ascii;
} con;

int report_console_width(int fd)
{
    struct winsize ws;
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    if (c && *c) {
        char *end;
        long v = strtol(c, &end, 10);
        if (!*end && v >= 20 && v <= 10000)
            return (int)v;
    }
    return 80;
}

bool report_console_utf8(void)
{
    /* POSIX precedence: LC_ALL, then LC_CTYPE, then LANG; unset means the C locale. */
    static const char *const vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
    }
    return false;
}

/* Box-drawing characters, and their ASCII stand-ins for a console that is not UTF-8. */
static const char *box(const char *utf8)
{
    if (!con.ascii)
        return utf8;
    if (!strcmp(utf8, "━") || !strcmp(utf8, "─"))
        return !strcmp(utf8, "━") ? "=" : "-";
    if (!strcmp(utf8, "┃") || !strcmp(utf8, "│"))
        return "|";
    return "+";
}

/* Writes s[0..n) with every non-ASCII character as one ASCII one ("Δ" as "d", others
 * "?") when the console is not UTF-8, so the column widths (counted in characters) hold. */
static void put_text(FILE *f, const char *s, size_t n)
{
    if (!con.ascii) {
        fwrite(s, 1, n, f);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x80)
            fputc(ch, f);
        else if ((ch & 0xc0) != 0x80)
            fputc(ch == 0xce && i + 1 < n && (unsigned char)s[i + 1] == 0x94 ? 'd' : '?', f);
    }
}

static void rule(FILE *f, const size_t *w, int ncol, const char *l, const char *m, const char *r,
                 const char *h)
{
    fputs(box(l), f);
    for (int c = 0; c < ncol; c++) {
        for (size_t i = 0; i < w[c] + 2; i++)
            fputs(box(h), f);
        fputs(box(c + 1 < ncol ? m : r), f);
    }
    fputc('\n', f);
}

/* Re-wraps an owned cell to lines of at most `width` characters, breaking at spaces
 * (inside a word when one is longer). Returns the new owned text. */
static char *wrap_cell(char *s, size_t width)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    size_t col = 0;
    const char *p = s;
    while (*p) {
        if (*p == '\n') {
            buf_putc(&b, '\n');
            col = 0;
            p++;
            continue;
        }
        if (*p == ' ' && col == 0) {
            p++;
            continue;
        }
        size_t wl = strcspn(p, " \n"); /* bytes of the next word */
        size_t ww = dwidth(p, wl);
        if (col && col + 1 + ww > width) {
            buf_putc(&b, '\n');
            col = 0;
        } else if (col) {
            buf_putc(&b, ' ');
            col++;
        }
        while (ww > width - col && col < width) { /* a word longer than a line */
            size_t take = 0, tw = 0;
            while (take < wl && tw < width - col) {
                take++;
                while (take < wl && ((unsigned char)p[take] & 0xc0) == 0x80)
                    take++;
                tw++;
            }
            buf_append(&b, p, take);
            buf_putc(&b, '\n');
            p += take;
            wl -= take;
            ww -= tw;
            col = 0;
        }
        buf_append(&b, p, wl);
        col += ww;
        p += wl;
        while (*p == ' ')
            p++;
    }
    buf_putc(&b, '\0');
    free(s);
    char *r = xstrdup(b.p);
    buf_free(&b);
    return r;
}

static void print_cells(FILE *f, const struct table *t, const char *const *cells, const size_t *w,
                        const char *bar)
{
    int lines = 1;
    for (int c = 0; c < t->ncol; c++) {
        int k = cell_lines(cells[c]);
        if (k > lines)
            lines = k;
    }
    for (int k = 0; k < lines; k++) {
        fputs(box(bar), f);
        for (int c = 0; c < t->ncol; c++) {
            size_t n;
            const char *s = cell_line(cells[c], k, &n);
            size_t pad = w[c] - dwidth(s, n);
            fputc(' ', f);
            if (!t->left[c])
                fprintf(f, "%*s", (int)pad, "");
            put_text(f, s, n);
            if (t->left[c])
                fprintf(f, "%*s", (int)pad, "");
            fputc(' ', f);
            fputs(box(bar), f);
        }
        fputc('\n', f);
    }
}

static size_t widths(const struct table *t, size_t *w)
{
    size_t total = 1;
    for (int c = 0; c < t->ncol; c++) {
        w[c] = cell_width(t->head[c]);
        for (int r = 0; r < t->nrow; r++) {
            size_t x = cell_width(t->cell[r][c]);
            if (x > w[c])
                w[c] = x;
        }
        total += w[c] + 3;
    }
    return total;
}

/* Fits a table to the console width: first the label column (the first) wraps at
 * spaces, down to 24 characters (12 below 60 columns); then columns are left out from the right,
 * and a line under the table says how many. */
static void table_print(FILE *f, struct table *t)
{
    size_t w[TBL_MAXCOL];
    size_t total = widths(t, w);
    int hidden = 0, all_cols = t->ncol;
    if (con.width > 0 && total > (size_t)con.width) {
        /* 24 keeps AIPerf's usual labels ("Time to First Token (ms)") on one line */
        size_t rest = total - w[0], floor = con.width >= 60 ? 24 : 12;
        size_t avail = (size_t)con.width > rest + floor ? (size_t)con.width - rest : floor;
        if (avail < w[0]) {
            for (int r = 0; r < t->nrow; r++)
                t->cell[r][0] = wrap_cell(t->cell[r][0], avail);
            total = widths(t, w);
        }
        while (total > (size_t)con.width && t->ncol > 2) {
            total -= w[t->ncol - 1] + 3;
            t->ncol--;
            hidden++;
        }
    }
    fputs("\n\n", f);
    size_t tl = dwidth(t->title, strlen(t->title));
    size_t lead = total > tl ? (total - tl) / 2 : 0;
    fprintf(f, "%*s", (int)lead, "");
    put_text(f, t->title, strlen(t->title));
    fputc('\n', f);
    rule(f, w, t->ncol, "┏", "┳", "┓", "━");
    print_cells(f, t, t->head, w, "┃");
    rule(f, w, t->ncol, "┡", "╇", "┩", "━");
    for (int r = 0; r < t->nrow; r++)
        print_cells(f, t, (const char *const *)t->cell[r], w, "│");
    rule(f, w, t->ncol, "└", "┴", "┘", "─");
    if (hidden)
        fprintf(f,
                "(%d of %d columns left out to fit %d characters: a wider terminal or COLUMNS "
                "shows them; the CSV and JSON exports have them all)\n",
                hidden, all_cols, con.width);
    t->ncol = all_cols;
    for (int r = 0; r < t->nrow; r++)
        for (int c = 0; c < t->ncol; c++)
            free(t->cell[r][c]);
    t->nrow = 0;
}

static const enum verdict_stat cols[] = {VS_AVG,    VS_MIN,    VS_MAX, VS_P1 + 8,
                                         VS_P1 + 6, VS_P1 + 5, VS_STD};

static void metric_row(struct table *t, const struct rsummary *s, int m)
{
    char label[160], vals[7][64];
    const char *cells[8];
    report_label(m, false, label, sizeof label);
    cells[0] = label;
    for (int k = 0; k < 7; k++) {
        double v;
        if (report_stat(s, m, cols[k], &v))
            report_fmt2(v, vals[k], sizeof vals[k]);
        else
            snprintf(vals[k], sizeof vals[k], "N/A");
        cells[k + 1] = vals[k];
    }
    table_row(t, cells);
}

static void init_metric_table(struct table *t, const char *title)
{
    memset(t, 0, sizeof *t);
    t->title = title;
    t->ncol = 8;
    static const char *const h[] = {"Metric", "avg", "min", "max", "p99", "p90", "p75", "std"};
    for (int c = 0; c < 8; c++)
        t->head[c] = h[c];
}

static void print_errors(FILE *f, const struct run *ru)
{
    bool any = false;
    for (size_t i = 0; i < ru->nerr; i++)
        any |= ru->err[i].count > 0;
    if (!any)
        return;
    struct table *t = xcalloc(1, sizeof *t);
    t->title = "NVIDIA AIPerf | Error Summary";
    t->ncol = 4;
    t->head[0] = "Code";
    t->head[1] = "Type";
    t->head[2] = "Message";
    t->head[3] = "Count";
    t->left[2] = true;
    size_t shown = 0, hidden = 0, nlong = 0;
    uint64_t hidden_count = 0;
    /* Messages too long for a table cell are listed whole after the table: the server's
     * reason is usually at the end of its body. */
    struct buf full;
    buf_init(&full, 1u << 24);
    for (size_t i = 0; i < ru->nerr; i++) {
        const struct err_group *g = &ru->err[i];
        if (!g->count)
            continue;
        /* Thousands of distinct messages would bury the tables; the JSON has them all. */
        if (shown == 50) {
            hidden++;
            hidden_count += g->count;
            continue;
        }
        shown++;
        char code[32], type[256], count[64];
        if (g->code != REC_ABSENT && g->code != 0)
            snprintf(code, sizeof code, "%lld", (long long)g->code);
        else
            snprintf(code, sizeof code, "N/A");
        struct strv tv = {g->type, strlen(g->type)}, mv = {g->msg, strlen(g->msg)};
        const char *at = report_aiperf_error_type(g->type, strlen(g->type), g->code);
        if (at)
            snprintf(type, sizeof type, "%s", at);
        else
            strv_unescape(tv, type, sizeof type);
        if (!type[0])
            snprintf(type, sizeof type, "N/A");
        /* unescaped text is never longer than its JSON form */
        char *msg = xmalloc(mv.n + 1);
        strv_unescape(mv, msg, mv.n + 1);
        /* One line per row: messages (response bodies) may hold newlines. */
        for (char *p = msg; *p; p++)
            if (*p == '\n' || *p == '\r' || *p == '\t')
                *p = ' ';
        if (strlen(msg) > 100) {
            nlong++;
            char note[32];
            snprintf(note, sizeof note, "[%zu]", nlong);
            buf_puts(&full, note);
            buf_putc(&full, ' ');
            buf_puts(&full, msg);
            buf_putc(&full, '\n');
            /* the cell: the start, and where the whole message is */
            size_t cut = 90;
            while (cut > 0 && ((unsigned char)msg[cut] & 0xC0) == 0x80)
                cut--; /* not inside a UTF-8 character */
            snprintf(msg + cut, 11, "... %s", note);
        }
        char grouped[64];
        report_fmt2((double)g->count, grouped, sizeof grouped);
        /* "{:,}" of an int: the grouped integer part only. */
        char *dot = strchr(grouped, '.');
        if (dot)
            *dot = '\0';
        snprintf(count, sizeof count, "%s", grouped);
        const char *cells[4] = {code, type, msg, count};
        table_row(t, cells);
        free(msg);
    }
    table_print(f, t);
    free(t);
    if (nlong) {
        fprintf(f, "Error messages in full:\n");
        fwrite(full.p, 1, full.len, f);
    }
    buf_free(&full);
    if (hidden)
        fprintf(f,
                "... and %zu more kinds of error (%llu requests): see profile_export_aiperf.json\n",
                hidden, (unsigned long long)hidden_count);
}

/* AIPerf's "Output Sequence Length Mismatch Warning" panel, as plain lines, with its
 * wording and default thresholds (ConsoleOSLMismatchExporter). */
static void print_osl_mismatch(FILE *f, const struct rsummary *s)
{
    if (!s->has_scalar[M_OSL_MISMATCH_COUNT] || s->scalar[M_OSL_MISMATCH_COUNT] <= 0 || !s->n_valid)
        return;
    double n = s->scalar[M_OSL_MISMATCH_COUNT];
    char a[64], b[64], avg[32];
    report_fmt2(n, a, sizeof a);
    report_fmt2((double)s->n_valid, b, sizeof b);
    char *dot;
    if ((dot = strchr(a, '.')))
        *dot = '\0';
    if ((dot = strchr(b, '.')))
        *dot = '\0';
    if (s->m[M_OSL_MISMATCH].count)
        snprintf(avg, sizeof avg, "%.1f%%", s->m[M_OSL_MISMATCH].avg);
    else
        snprintf(avg, sizeof avg, "N/A");
    fprintf(f,
            "\nOutput Sequence Length Mismatch Warning\n"
            "%s of %s requests (%.1f%%) have output length differing from requested by more "
            "than the threshold.\n"
            "Threshold (tokens): min(requested x 5%%, 50)\n"
            "Average mismatch: %s\n"
            "Why: the server stopped before the requested output length (an EOS token, or the "
            "model's context limit).\n"
            "Fix options: --extra-inputs ignore_eos:true (vLLM, TensorRT-LLM); --extra-inputs "
            "min_tokens:<N> (vLLM, TensorRT-LLM, SGLang); a shorter --isl/--osl near the "
            "context limit.\n"
            "Per request: osl_mismatch_diff_pct in profile_export.jsonl.\n",
            a, b, n / (double)s->n_valid * 100.0, avg);
}

static bool shown(const struct run *ru, int m, const struct report_opts *o)
{
    const struct metric_def *md = &metric_defs[m];
    if (m == M_ERR_COUNT || m == M_ERROR_RATE)
        return false;
    if ((md->flags & MF_HIDDEN) && !o->show_internal)
        return false;
    (void)ru;
    return true;
}

static bool sel_phase_c(const struct rrec *r, const void *ctx)
{
    return r->phase == *(const uint8_t *)ctx;
}

/* A table of request counts and key percentiles per phase or per worker. */
static void breakdown(FILE *f, const struct run *ru, const char *title, const char *what,
                      bool phases)
{
    struct table *t = xcalloc(1, sizeof *t);
    t->title = title;
    t->ncol = 8;
    static const char *const h[] = {"",
                                    "Requests",
                                    "Errors",
                                    "TTFT p50 (ms)",
                                    "TTFT p99 (ms)",
                                    "Latency p50 (ms)",
                                    "Latency p99 (ms)",
                                    "Lateness p99 (ms)"};
    for (int c = 0; c < 8; c++)
        t->head[c] = c ? h[c] : what;
    int32_t n = phases ? 2 : ru->nworkers;
    for (int32_t k = 0; k < n && t->nrow < TBL_MAXROW; k++) {
        struct rsummary w;
        uint8_t ph = (uint8_t)k;
        if (phases)
            report_summarize(ru, sel_phase_c, &ph, NULL, NULL, &w);
        else
            report_summarize(ru, report_sel_worker, &k, NULL, NULL, &w);
        if (!w.n_total)
            continue;
        char c[8][64];
        if (phases)
            snprintf(c[0], 64, "%s", k == REC_WARMUP ? "warmup" : "profile");
        else
            snprintf(c[0], 64, "%d", k);
        snprintf(c[1], 64, "%llu", (unsigned long long)w.n_total);
        snprintf(c[2], 64, "%llu", (unsigned long long)w.n_invalid);
        static const struct {
            int m;
            enum verdict_stat st;
        } q[5] = {{M_TTFT, VS_P1 + 4},
                  {M_TTFT, VS_P1 + 8},
                  {M_LATENCY, VS_P1 + 4},
                  {M_LATENCY, VS_P1 + 8},
                  {M_LATENESS, VS_P1 + 8}};
        for (int i = 0; i < 5; i++) {
            double v;
            if (report_stat(&w, q[i].m, q[i].st, &v))
                report_fmt2(v, c[3 + i], 64);
            else
                snprintf(c[3 + i], 64, "N/A");
        }
        const char *cells[8] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]};
        table_row(t, cells);
    }
    table_print(f, t);
    free(t);
}

static void print_run(FILE *f, const struct run *ru, const struct report_opts *o, bool named)
{
    if (named)
        fprintf(f, "\n\n== %s ==", ru->label);
    print_errors(f, ru);
    const struct rsummary *s = &ru->prof;
    if (!s->n_valid) {
        fprintf(f, "\n\nNo records to export (%llu requests, none succeeded)\n",
                (unsigned long long)s->n_total);
    } else {
        struct table *t = xcalloc(1, sizeof *t);
        init_metric_table(
            t, strcmp(ru->endpoint, "embeddings") == 0 ? "NVIDIA AIPerf | Embeddings Metrics"
               : strcmp(ru->endpoint, "rankings") == 0 ? "NVIDIA AIPerf | Rankings Metrics"
                                                       : "NVIDIA AIPerf | LLM Metrics");
        for (int m = 0; m < M_NRECORD; m++)
            if (s->m[m].count && !(metric_defs[m].flags & MF_EXTRA) && shown(ru, m, o))
                metric_row(t, s, m);
        static const int scal[] = {M_OTT, M_REQ_TPUT, M_REQ_COUNT, M_GOODPUT, M_GOOD_COUNT};
        for (size_t i = 0; i < sizeof scal / sizeof scal[0]; i++)
            if (s->has_scalar[scal[i]])
                metric_row(t, s, scal[i]);
        if (o->show_internal)
            for (int m = M_NRECORD; m < M_COUNT; m++) {
                bool listed = false;
                for (size_t i = 0; i < sizeof scal / sizeof scal[0]; i++)
                    listed |= scal[i] == m;
                if (!listed && s->has_scalar[m] && shown(ru, m, o))
                    metric_row(t, s, m);
            }
        table_print(f, t);
        /* --show-trace-timing: AIPerf 0.13's second table, every HTTP trace metric (its
         * HTTP_TRACE_ONLY set: the http_req_* family) that has values */
        if (o->show_trace_timing) {
            init_metric_table(t, "NVIDIA AIPerf | HTTP Trace Timing");
            for (int m = M_HTTP_REUSED; m <= M_HTTP_CHUNKS_RECEIVED; m++)
                if (s->m[m].count)
                    metric_row(t, s, m);
            if (t->nrow)
                table_print(f, t);
        }
        init_metric_table(t, "metronome | Schedule, intended-time latency, reasoning");
        for (int m = 0; m < M_NRECORD; m++)
            if (s->m[m].count && (metric_defs[m].flags & MF_EXTRA))
                metric_row(t, s, m);
        if (t->nrow)
            table_print(f, t);
        free(t);
    }
    if (ru->has_warm)
        breakdown(f, ru, "metronome | Per phase", "Phase", true);
    if (ru->nworkers > 1 && s->n_total)
        breakdown(f, ru, "metronome | Per worker", "Worker", false);
    fputc('\n', f);
    if (ru->osl_tokenizer)
        fprintf(f,
                "Token counts: output of %llu request(s) from tokenizer %s on the response text "
                "(reasoning counted apart), %llu from server usage, %llu from replay chunk "
                "counts; input from %s.\n",
                (unsigned long long)ru->osl_tokenizer, ru->tokenizer ? ru->tokenizer : "?",
                (unsigned long long)ru->osl_usage, (unsigned long long)ru->osl_chunks,
                ru->isl_usage && ru->isl_trace ? "server usage where sent, else the trace"
                : ru->isl_usage                ? "server usage"
                                               : "the trace");
    else if (ru->osl_usage || ru->osl_chunks)
        fprintf(f, "Token counts: output from %s, input from %s.\n",
                ru->osl_usage && ru->osl_chunks ? "server usage where sent, else chunk counts"
                : ru->osl_usage                 ? "server usage"
                                                : "replay chunk counts",
                ru->isl_usage && ru->isl_trace ? "server usage where sent, else the trace"
                : ru->isl_usage                ? "server usage"
                                               : "the trace");
    if (ru->reasoning_counted || ru->osl_counted)
        fprintf(f,
                "Warning: the server's usage contradicted the responses received: "
                "%llu request(s) reported fewer reasoning tokens than the reasoning messages "
                "streamed, %llu fewer completion tokens than the messages with text; "
                "metronome's own counts were used for them "
                "(metronome.token_count_overrides in profile_export_aiperf.json).\n",
                (unsigned long long)ru->reasoning_counted, (unsigned long long)ru->osl_counted);
    print_osl_mismatch(f, &ru->prof);
    const struct rconnect *cn = &ru->conn;
    if (cn->fresh)
        fprintf(f,
                "Connections: %llu request(s) opened one (connect avg %.2f ms, p50 %.2f, p99 "
                "%.2f, max %.2f; inside their latency), %llu ran on one already open.\n",
                (unsigned long long)cn->fresh, cn->connect.avg * 1e-6, cn->connect.pct[4] * 1e-6,
                cn->connect.pct[8] * 1e-6, cn->connect.max * 1e-6, (unsigned long long)cn->reused);
    if (cn->warning[0])
        fprintf(f, "Warning: %s.\n", cn->warning);
    /* AIPerf 0.13 says which RTT its network_adjusted_* metrics subtract */
    if (ru->net_rtt_ns > 0 && ru->net_fixed)
        fprintf(f,
                "Network latency calibration: subtracting a fixed mean RTT of %.3f ms from "
                "latency metrics (network_adjusted_* metrics).\n",
                ru->net_rtt_ns / 1e6);
    else if (ru->net_rtt_ns > 0)
        fprintf(f,
                "Network latency calibration: subtracting measured mean RTT of %.3f ms (over "
                "%zu TCP-handshake probes) from latency metrics (network_adjusted_* metrics).\n",
                ru->net_rtt_ns / 1e6, ru->net_ok);
    /* Only when some reads fell back: then TTFT and ITL may include client delay. */
    if (ru->reads_user > 0)
        fprintf(f,
                "Receive timestamps: %lld of %lld response reads carry the kernel's arrival "
                "time; the rest the time the read returned (--rx-timestamps, "
                "docs/replay.md).\n",
                (long long)(ru->reads_kernel > 0 ? ru->reads_kernel : 0),
                (long long)(ru->reads_kernel + ru->reads_user));
    if (ru->shard_count > 1) {
        fprintf(f, "Shards: %zu of %d (trace sha256 %.12s)", ru->nshards, ru->shard_count,
                ru->shard[0].trace_sha256);
        if (ru->shard_skew >= 0)
            fprintf(f, "; start skew %.3f ms (%s)", (double)ru->shard_skew / 1e6,
                    ru->shard_skew_note);
        fprintf(f, ". Schedule lateness p99 per shard (ms):");
        for (size_t i = 0; i < ru->nshards; i++) {
            fprintf(f, "%s %d: ", i ? "," : "", ru->shard[i].shard_index);
            if (isnan(ru->shard_late_p99[i]))
                fprintf(f, "-");
            else
                fprintf(f, "%.3f", ru->shard_late_p99[i] * 1e-6);
            if (!ru->shard[i].complete || ru->shard[i].cancelled)
                fprintf(f, " (partial)");
        }
        fprintf(f, ".\n");
        if (ru->nshard_missing) {
            fprintf(f, "Partial run: shard(s)");
            for (size_t k = 0; k < ru->nshard_missing; k++)
                fprintf(f, "%s %d/%d", k ? "," : "", ru->shard_missing[k], ru->shard_count);
            fprintf(f, " missing.\n");
        }
        for (size_t i = 0; i < ru->nshards; i++)
            if (!ru->shard[i].complete || ru->shard[i].cancelled)
                fprintf(f, "Partial run: shard %d/%d (%s) did not finish.\n",
                        ru->shard[i].shard_index, ru->shard_count, ru->shard[i].dir);
    }
    if (!ru->complete) {
        bool flagged = false;
        for (size_t i = 0; i < ru->nshards; i++)
            flagged |= !ru->shard[i].complete;
        fprintf(f, "Run incomplete:%s%s; results cover the records written before it stopped.\n",
                flagged ? " run.json says complete=false" : "",
                ru->dropped_bytes ? (flagged ? " and the records file ends inside a zstd frame"
                                             : " the records file ends inside a zstd frame")
                                  : "");
        if (ru->dropped_bytes)
            fprintf(f, "  %llu trailing bytes could not be read.\n",
                    (unsigned long long)ru->dropped_bytes);
        if (ru->missing_records)
            fprintf(f, "  %zu run dir(s) have no records file.\n", ru->missing_records);
    }
    if (ru->cancelled)
        fprintf(f, "Warning: Profile Run Cancelled Early. The profile run was cancelled early. "
                   "Results shown may be incomplete or inaccurate.\n");
}

/* Deltas against the first run (compare.c): on every row where either side has a value,
 * "~" after a delta inside the noise (not a change to act on). */
static void print_compare(FILE *f, struct run *const *runs, size_t nruns,
                          const struct report_opts *o)
{
    struct table *t = xcalloc(1, sizeof *t);
    t->title = "metronome | Comparison (deltas against the first run; ~ inside the noise)";
    size_t nr = nruns > 4 ? 4 : nruns;
    t->ncol = 2 + (int)nr + (int)(nr - 1);
    t->head[0] = "Metric";
    t->head[1] = "stat";
    for (size_t i = 0; i < nr; i++)
        t->head[2 + i] = runs[i]->label;
    char dh[4][96];
    for (size_t i = 1; i < nr; i++) {
        snprintf(dh[i], sizeof dh[i], "Δ %s", runs[i]->label);
        t->head[2 + nr + i - 1] = dh[i];
    }
    static const struct {
        int m;
        enum verdict_stat st;
    } rows[] = {{M_TTFT, VS_AVG},
                {M_TTFT, VS_P1 + 8},
                {M_LATENCY, VS_AVG},
                {M_LATENCY, VS_P1 + 8},
                {M_ITL, VS_AVG},
                {M_ITL, VS_P1 + 8},
                {M_OTT_USER, VS_AVG},
                {M_OSL, VS_AVG},
                {M_ISL, VS_AVG},
                {M_LATENESS, VS_P1 + 8},
                {M_LAT_INTENDED, VS_P1 + 8},
                {M_OTT, VS_AVG},
                {M_REQ_TPUT, VS_AVG},
                {M_REQ_COUNT, VS_AVG},
                {M_GOODPUT, VS_AVG},
                {M_ERROR_RATE, VS_AVG}};
    double noise = o->noise_pct > 0 ? o->noise_pct : REPORT_NOISE_PCT;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        char label[160], vals[4][64], deltas[4][64];
        const char *cells[TBL_MAXCOL];
        report_label(rows[r].m, true, label, sizeof label);
        if (rows[r].m == M_ERROR_RATE)
            snprintf(label, sizeof label, "Error Rate (%%)");
        cells[0] = label;
        cells[1] = verdict_stat_str(rows[r].st);
        double base = NAN;
        bool any = false, hb = report_stat(&runs[0]->prof, rows[r].m, rows[r].st, &base);
        for (size_t i = 0; i < nr; i++) {
            double v = NAN;
            bool hv = report_stat(&runs[i]->prof, rows[r].m, rows[r].st, &v);
            any |= hv;
            report_cmp_value(rows[r].m, hv ? v : NAN, vals[i], sizeof vals[i]);
            cells[2 + i] = vals[i];
            if (!i)
                continue;
            struct report_delta dl;
            report_delta(rows[r].m, hb, base, hv, v, noise,
                         report_ci_half(runs[0], rows[r].m, rows[r].st),
                         report_ci_half(runs[i], rows[r].m, rows[r].st), &dl);
            snprintf(deltas[i], sizeof deltas[i], "%s%s", dl.cls == DELTA_NONE ? "N/A" : dl.text,
                     dl.noise && dl.cls != DELTA_NONE && strcmp(dl.text, "new") &&
                             strcmp(dl.text, "gone")
                         ? " ~"
                         : "");
            cells[2 + nr + i - 1] = deltas[i];
        }
        if (any)
            table_row(t, cells);
    }
    table_print(f, t);
    free(t);
}

bool report_sel_worker(const struct rrec *r, const void *ctx)
{
    return r->phase == REC_PROFILE && r->worker == *(const int32_t *)ctx;
}

void report_print_console(struct run *const *runs, size_t nruns, const struct report_opts *o)
{
    FILE *f = o->console;
    con.width = o->console_width;
    con.ascii = o->console_ascii;
    for (size_t i = 0; i < nruns; i++)
        print_run(f, runs[i], o, nruns > 1);
    if (nruns > 1)
        print_compare(f, runs, nruns, o);
    fflush(f);
}
