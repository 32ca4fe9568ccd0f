/*
 * baseten_trace: AIPerf 0.13's Baseten completion-trace loader, for Arrow IPC files
 * (arrow.h). One row is one request: timestamp_start_unix_ms, the literal prompt,
 * input_tokens, output_tokens, and optionally total_hashes / block_size (sent as KV-cache
 * hints), duration_e2e_ms and a session column (provided_session_id, else
 * poor_man_session_id). The schedule transformations are AIPerf's, in its order:
 *
 *   sample whole sessions (--trace-session-sample-ratio) -> timestamps relative to the
 *   file's first -> leave out rows above --synthesis-max-isl -> divide by
 *   --replay-speedup -> [open loop] collapse idle gaps (--max-idle-gap-cap-seconds) ->
 *   group into sessions -> [strict] every row its own session, or [closed loop] later
 *   turns become think times (start-to-start gap minus the previous turn's recorded
 *   duration, capped by --inter-turn-delay-cap-seconds) and the session starts are
 *   reflowed.
 *
 * Open-loop later turns keep their absolute time: the trace gives them t_ms and replay
 * sends them at max(t_ms, previous reply) as AIPerf's fixed schedule does. Errors name the
 * file and the 1-based row.
 */
#include "arrow.h"
#include "buf.h"
#include "dataset.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct row {
    int64_t rowno; /* 1-based, across batches */
    double ts;     /* ms from the first row, after speedup and gap cap */
    int64_t out;   /* output_length: max(1, output_tokens), capped */
    int64_t e2e;   /* duration_e2e_ms, -1 when absent */
    int64_t block; /* block_size, -1 when absent */
    size_t h0, nh; /* total_hashes in the hash pool */
    const char *prompt;
    size_t prompt_len;
    const char *sid; /* session key text (into the file or the sid pool), NULL: none */
    size_t sid_len;
    size_t sid_off; /* into the sid pool when the key was an integer */
    bool sid_pooled;
    bool keyed;   /* has a session key (sid is it) */
    double delay; /* closed loop later turns; < 0 none */
    bool timed;
};

struct bt {
    const char *path;
    const struct dataset_opts *o;
    struct arrow_file a;
    int c_ts, c_prompt, c_in, c_out, c_hash, c_block, c_e2e, c_sid;
    struct row *rows;
    size_t nrows, cap;
    int64_t *hashes;
    size_t nhash, hcap;
    struct buf sidpool;
};

static int row_err(struct bt *b, int64_t rowno, struct diag *d, const char *field, const char *why)
{
    return diag_at(d, ERR_INVALID, b->path, (long)rowno, "field '%s': %s", field, why);
}

/* The session key of a row as text (AIPerf's str(id)); false when null. */
static bool sid_text(struct bt *b, const struct arrow_batch *ba, int64_t r, struct row *out)
{
    if (b->c_sid < 0 || arrow_null(&b->a, ba, b->c_sid, r))
        return false;
    const char *s;
    size_t n;
    int64_t v;
    out->keyed = true;
    if (arrow_str(&b->a, ba, b->c_sid, r, &s, &n) == 0) {
        out->sid = s;
        out->sid_len = n;
        out->sid_pooled = false;
        return true;
    }
    if (arrow_int(&b->a, ba, b->c_sid, r, &v) == 0) {
        char tmp[32];
        int k = snprintf(tmp, sizeof tmp, "%" PRId64, v);
        out->sid_off = b->sidpool.len;
        out->sid_len = (size_t)k;
        out->sid_pooled = true;
        buf_append(&b->sidpool, tmp, (size_t)k);
        return true;
    }
    out->keyed = false;
    return false;
}

static const char *sid_ptr(const struct bt *b, const struct row *r)
{
    return r->sid_pooled ? b->sidpool.p + r->sid_off : r->sid;
}

static int sid_cmp(const struct bt *b, const struct row *x, const struct row *y)
{
    if (!x->keyed || !y->keyed) /* rows without a key come after keyed ones, in row order */
        return x->keyed != y->keyed ? (x->keyed ? -1 : 1)
                                    : (x->rowno > y->rowno) - (x->rowno < y->rowno);
    size_t n = x->sid_len < y->sid_len ? x->sid_len : y->sid_len;
    int c = memcmp(sid_ptr(b, x), sid_ptr(b, y), n);
    return c ? c : (x->sid_len > y->sid_len) - (x->sid_len < y->sid_len);
}

static const struct bt *sort_bt; /* qsort has no context argument; one thread packs */

/* Sessions by key, then by row (file order). */
static int by_sid(const void *pa, const void *pb)
{
    const struct row *x = *(const struct row *const *)pa, *y = *(const struct row *const *)pb;
    int c = sid_cmp(sort_bt, x, y);
    return c ? c : (x->rowno > y->rowno) - (x->rowno < y->rowno);
}

static int by_sid_only(const void *pa, const void *pb)
{
    return sid_cmp(sort_bt, *(const struct row *const *)pa, *(const struct row *const *)pb);
}

/* (first timestamp, key) for sampling; then row for a total order. */
struct sfirst {
    double ts;
    struct row *r;
};

static int by_first(const void *pa, const void *pb)
{
    const struct sfirst *x = pa, *y = pb;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return sid_cmp(sort_bt, x->r, y->r);
}

static int column(struct bt *b, const char *name, bool required, struct diag *d)
{
    int c = arrow_find(&b->a, name);
    if (c < 0 && required)
        return diag_at(d, ERR_INVALID, b->path, 0,
                       "baseten_trace: column '%s' is required (needs %s)", name,
                       "timestamp_start_unix_ms, prompt, input_tokens, output_tokens");
    return c;
}

/* Reads one field as an integer >= lo, or null (returns 1). */
static int int_field(struct bt *b, const struct arrow_batch *ba, int c, int64_t r, int64_t rowno,
                     const char *name, int64_t lo, bool nullable, int64_t *v, struct diag *d)
{
    if (c < 0 || arrow_null(&b->a, ba, c, r)) {
        if (nullable)
            return 1;
        return row_err(b, rowno, d, name, "must not be null");
    }
    if (arrow_int(&b->a, ba, c, r, v) || *v < lo)
        return row_err(b, rowno, d, name,
                       lo > 0 ? "must be an integer > 0" : "must be an integer >= 0");
    return 0;
}

/* AIPerf's reflow_idle_gaps: timestamps (truncated to whole ms) walked in time order,
 * each gap above ceil(cap) shortened to it; the earliest keeps its value. */
static int by_ts_row(const void *pa, const void *pb)
{
    const struct row *x = *(const struct row *const *)pa, *y = *(const struct row *const *)pb;
    double a = trunc(x->ts), c = trunc(y->ts);
    if (a != c)
        return a < c ? -1 : 1;
    return (x->rowno > y->rowno) - (x->rowno < y->rowno);
}

static void reflow(struct row **v, size_t n, double cap_ms)
{
    if (n == 0)
        return;
    qsort(v, n, sizeof *v, by_ts_row);
    double cap = ceil(cap_ms);
    double prev_old = trunc(v[0]->ts), prev_new = prev_old;
    v[0]->ts = prev_old;
    for (size_t i = 1; i < n; i++) {
        double t = trunc(v[i]->ts);
        double gap = t - prev_old;
        prev_new += gap < cap ? gap : cap;
        v[i]->ts = prev_new;
        prev_old = t;
    }
}

static int by_ts_in_session(const void *pa, const void *pb)
{
    return by_ts_row(pa, pb);
}

struct group {
    struct row **r;
    size_t n;
    double first;
};

static int by_group(const void *pa, const void *pb)
{
    const struct group *x = pa, *y = pb;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return sid_cmp(sort_bt, x->r[0], y->r[0]);
}

/* Reads, validates and samples every row (first pass: minimum and session starts). */
static int read_rows(struct bt *b, struct diag *d)
{
    const struct dataset_opts *o = b->o;
    struct arrow_batch *ba = xmalloc(sizeof *ba);
    int rc = 0;
    bool have_min = false;
    int64_t mn = 0, rowno = 0;
    bool sampling = o->bt_sample_ratio > 0 && o->bt_sample_ratio < 1;
    /* pass 1: the minimum timestamp (of every row) and each session's first */
    struct sfirst *first = NULL;
    size_t nfirst = 0, fcap = 0;
    long nullrows = 0;
    struct row tmp;
    for (size_t i = 0; i < b->a.nbatches && !rc; i++) {
        if ((rc = arrow_batch(&b->a, i, ba, d))) {
            char why[DIAG_MAX];
            snprintf(why, sizeof why, "%s", d->msg);
            rc = diag_at(d, rc, b->path, 0, "%s", why);
            break;
        }
        for (int64_t r = 0; r < ba->rows; r++) {
            rowno++;
            int64_t ts;
            if ((rc = int_field(b, ba, b->c_ts, r, rowno, "timestamp_start_unix_ms", 0, false, &ts,
                                d)))
                break;
            if (!have_min || ts < mn)
                mn = ts;
            have_min = true;
            if (!sampling)
                continue;
            if (!sid_text(b, ba, r, &tmp)) {
                nullrows++;
                continue;
            }
            /* sessions are few next to rows: a linear probe over a sorted-later array
             * would be quadratic, so collect per row and merge after sorting */
            if (nfirst == fcap) {
                fcap = fcap ? fcap * 2 : 256;
                first = xrealloc(first, fcap * sizeof *first);
            }
            struct row *keep = xmalloc(sizeof *keep);
            *keep = tmp;
            keep->rowno = rowno;
            first[nfirst].ts = (double)ts;
            first[nfirst].r = keep;
            nfirst++;
        }
    }
    /* The sampled session keys, in a sorted array of row pointers (the first row of each). */
    struct row **kept = NULL;
    size_t nkept = 0;
    bool *null_keep = NULL;
    if (!rc && sampling && b->c_sid < 0) {
        fprintf(stderr,
                "metronome: warning: --trace-session-sample-ratio given, but %s has neither "
                "provided_session_id nor poor_man_session_id; every row is kept (as AIPerf "
                "0.13 does)\n",
                b->path);
        sampling = false;
    }
    if (!rc && sampling) {
        sort_bt = b;
        /* one entry per session: its earliest timestamp */
        struct row **keys = xmalloc((nfirst ? nfirst : 1) * sizeof *keys);
        for (size_t i = 0; i < nfirst; i++)
            keys[i] = first[i].r, keys[i]->ts = first[i].ts;
        qsort(keys, nfirst, sizeof *keys, by_sid);
        size_t ns = 0;
        for (size_t i = 0; i < nfirst; i++) {
            if (ns && sid_cmp(b, keys[ns - 1], keys[i]) == 0) {
                if (keys[i]->ts < keys[ns - 1]->ts)
                    keys[ns - 1]->ts = keys[i]->ts;
                continue;
            }
            keys[ns++] = keys[i];
        }
        struct sfirst *ent = xmalloc((ns ? ns : 1) * sizeof *ent);
        for (size_t i = 0; i < ns; i++)
            ent[i].ts = keys[i]->ts, ent[i].r = keys[i];
        qsort(ent, ns, sizeof *ent, by_first);
        struct rng rg;
        rng_derive(&rg, o->seed, "dataset.loader.baseten_trace.session_sampling");
        kept = xmalloc((ns ? ns : 1) * sizeof *kept);
        for (size_t i = 0; i < ns; i++)
            if (rng_uniform(&rg) < o->bt_sample_ratio)
                kept[nkept++] = ent[i].r;
        if (nkept == 0 && ns > 0)
            kept[nkept++] = ent[rng_below(&rg, ns)].r;
        null_keep = xcalloc((size_t)nullrows + 1, 1);
        for (long i = 0; i < nullrows; i++)
            null_keep[i] = rng_uniform(&rg) < o->bt_sample_ratio;
        qsort(kept, nkept, sizeof *kept, by_sid);
        fprintf(stderr,
                "metronome: sampled %zu of %zu sessions and some of %ld null-session rows "
                "(--trace-session-sample-ratio %g)\n",
                nkept, ns, nullrows, o->bt_sample_ratio);
        free(ent);
        free(keys);
    }
    /* pass 2: the rows */
    long nullord = 0;
    rowno = 0;
    for (size_t i = 0; i < b->a.nbatches && !rc; i++) {
        if ((rc = arrow_batch(&b->a, i, ba, d)))
            break;
        for (int64_t r = 0; r < ba->rows && !rc; r++) {
            rowno++;
            struct row x = {0};
            x.rowno = rowno;
            x.delay = -1;
            bool has_sid = sid_text(b, ba, r, &x);
            if (sampling) {
                if (!has_sid) {
                    if (!null_keep[nullord++])
                        continue;
                } else {
                    struct row *px = &x;
                    sort_bt = b;
                    if (!bsearch(&px, kept, nkept, sizeof *kept, by_sid_only))
                        continue;
                }
            }
            int64_t ts, in, out, v;
            if ((rc = int_field(b, ba, b->c_ts, r, rowno, "timestamp_start_unix_ms", 0, false, &ts,
                                d)))
                break;
            if (arrow_null(&b->a, ba, b->c_prompt, r) ||
                arrow_str(&b->a, ba, b->c_prompt, r, &x.prompt, &x.prompt_len)) {
                rc = row_err(b, rowno, d, "prompt", "must be a string");
                break;
            }
            if ((rc = int_field(b, ba, b->c_in, r, rowno, "input_tokens", 0, false, &in, d)) ||
                (rc = int_field(b, ba, b->c_out, r, rowno, "output_tokens", 0, false, &out, d)))
                break;
            x.e2e = -1;
            x.block = -1;
            rc = int_field(b, ba, b->c_e2e, r, rowno, "duration_e2e_ms", 0, true, &v, d);
            if (rc < 0)
                break;
            if (rc == 0)
                x.e2e = v;
            rc = int_field(b, ba, b->c_block, r, rowno, "block_size", 1, true, &v, d);
            if (rc < 0)
                break;
            if (rc == 0)
                x.block = v;
            rc = 0;
            x.h0 = b->nhash;
            if (b->c_hash >= 0 && !arrow_null(&b->a, ba, b->c_hash, r)) {
                int64_t lo, hi;
                int ch = b->a.f[b->c_hash].child;
                if (arrow_list(&b->a, ba, b->c_hash, r, &lo, &hi) || ch < 0) {
                    rc = row_err(b, rowno, d, "total_hashes", "must be a list of integers");
                    break;
                }
                for (int64_t k = lo; k < hi; k++) {
                    if (arrow_int(&b->a, ba, ch, k, &v) || v < 0) {
                        rc = row_err(b, rowno, d, "total_hashes", "must hold integers >= 0");
                        break;
                    }
                    if (b->nhash == b->hcap) {
                        b->hcap = b->hcap ? b->hcap * 2 : 1024;
                        b->hashes = xrealloc(b->hashes, b->hcap * sizeof *b->hashes);
                    }
                    b->hashes[b->nhash++] = v;
                }
                if (rc)
                    break;
            }
            x.nh = b->nhash - x.h0;
            /* relative to the first row; the window filters see recorded time */
            double t = (double)(ts - mn);
            if (o->syn_max_isl > 0 && in > o->syn_max_isl) {
                b->nhash = x.h0;
                continue;
            }
            if (o->bt_speedup > 0 && o->bt_speedup != 1)
                t = t / o->bt_speedup;
            x.ts = t;
            x.out = out < 1 ? 1 : out;
            if (o->syn_max_osl > 0 && x.out > o->syn_max_osl)
                x.out = o->syn_max_osl;
            x.timed = true;
            if (b->nrows == b->cap) {
                b->cap = b->cap ? b->cap * 2 : 1024;
                b->rows = xrealloc(b->rows, b->cap * sizeof *b->rows);
            }
            b->rows[b->nrows++] = x;
        }
    }
    for (size_t i = 0; i < nfirst; i++)
        free((void *)first[i].r);
    free(first);
    free(kept);
    free(null_keep);
    free(ba);
    return rc;
}

/* The JSON object appended to a row's body: AIPerf's per-turn request_body (min_tokens
 * from the recorded output length, the KV-cache hints). */
static void row_extra(const struct bt *b, const struct row *r, struct buf *x)
{
    char tmp[40];
    buf_reset(x);
    buf_append(x, "{", 1);
    bool comma = false;
    if (b->o->bt_force_min_tokens) {
        int k = snprintf(tmp, sizeof tmp, "\"min_tokens\":%" PRId64, r->out);
        buf_append(x, tmp, (size_t)k);
        comma = true;
    }
    if (!b->o->bt_omit_kv_hints) {
        if (r->nh) {
            if (comma)
                buf_append(x, ",", 1);
            buf_append(x, "\"hash_ids\":[", 12);
            for (size_t i = 0; i < r->nh; i++) {
                int k = snprintf(tmp, sizeof tmp, "%s%" PRId64, i ? "," : "", b->hashes[r->h0 + i]);
                buf_append(x, tmp, (size_t)k);
            }
            buf_append(x, "]", 1);
            comma = true;
        }
        if (r->block >= 0) {
            int k =
                snprintf(tmp, sizeof tmp, "%s\"block_size\":%" PRId64, comma ? "," : "", r->block);
            buf_append(x, tmp, (size_t)k);
        }
    }
    buf_append(x, "}", 1);
}

/* AIPerf's DelayCapTracker.clamp on a value >= 0. */
static double cap_delay(const struct dataset_opts *o, double ms)
{
    if (o->delay_cap_s >= 0 && ms > o->delay_cap_s * 1000.0)
        return o->delay_cap_s * 1000.0;
    return ms;
}

static int emit(struct dataset *ds, struct bt *b, struct group *g, size_t ng, struct diag *d)
{
    const struct dataset_opts *o = ds->o;
    bool strict = o->bt_open_loop && o->bt_open_loop_strict;
    struct buf extra, name;
    buf_init(&extra, 0);
    buf_init(&name, 0);
    int rc = 0;
    for (size_t gi = 0; gi < ng && !rc; gi++) {
        for (size_t k = 0; k < g[gi].n && !rc; k++) {
            const struct row *r = g[gi].r[k];
            buf_reset(&name);
            if (r->keyed)
                buf_append(&name, sid_ptr(b, r), r->sid_len);
            else {
                char tmp[40];
                int n = snprintf(tmp, sizeof tmp, "row-%" PRId64, r->rowno);
                buf_append(&name, tmp, (size_t)n);
            }
            if (strict) { /* AIPerf: f"{session_id}#{index}" */
                char tmp[32];
                int n = snprintf(tmp, sizeof tmp, "#%zu", k);
                buf_append(&name, tmp, (size_t)n);
            }
            buf_append(&name, "", 1);
            int turn = strict ? 0 : (int)k;
            struct tw_part part = {.kind = TW_LIT, .s = r->prompt, .n = r->prompt_len};
            struct tw_text t = {&part, 1};
            row_extra(b, r, &extra);
            struct tw_request q = {0};
            q.session = name.p;
            q.turn = turn;
            q.timed = r->timed;
            q.t_ms = r->timed ? r->ts : 0;
            q.delay_ms = turn > 0 ? (r->delay >= 0 ? r->delay : -1) : -1;
            q.start_ms = strict ? r->ts : g[gi].r[0]->ts;
            q.model = dataset_model(ds);
            q.texts = &t;
            q.ntexts = 1;
            q.isl = -1;
            q.max_tokens = (long)r->out;
            /* AIPerf 0.13 sends a Baseten row as it was recorded (its context mode
             * message_array_with_responses: the prompt already holds the conversation),
             * nothing prepended */
            q.live_history = false;
            q.raw_extra = extra.p;
            q.raw_extra_len = extra.len;
            if (!r->prompt_len) {
                rc = row_err(b, r->rowno, d, "prompt", "must not be empty");
                break;
            }
            rc = tw_request(ds->w, &q, d);
            dataset_lits_reset(ds);
            if (rc) {
                char why[DIAG_MAX];
                snprintf(why, sizeof why, "%s", d->msg);
                diag_at(d, rc, b->path, (long)r->rowno, "%s", why);
            }
        }
    }
    buf_free(&extra);
    buf_free(&name);
    return rc;
}

int dataset_baseten(struct dataset *ds, const char *path, struct diag *d)
{
    const struct dataset_opts *o = ds->o;
    struct bt *b = xcalloc(1, sizeof *b);
    b->path = path;
    b->o = o;
    buf_init(&b->sidpool, 0);
    int rc = 0;
    void *map = MAP_FAILED;
    size_t mlen = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        rc = diag_set(d, ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    mlen = (size_t)st.st_size;
    if (mlen == 0 || (map = mmap(NULL, mlen, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
        rc = mlen == 0 ? diag_at(d, ERR_PARSE, path, 0, "empty file")
                       : diag_set(d, ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (mlen >= 4 && !memcmp(map, "PAR1", 4)) {
        rc = diag_at(d, ERR_UNSUPPORTED, path, 0,
                     "baseten_trace: Parquet is not supported yet, only Arrow IPC files (convert "
                     "with pyarrow: pyarrow.ipc.new_file(out, table.schema) and write_table)");
        goto out;
    }
    if ((rc = arrow_open(&b->a, map, mlen, d))) {
        char why[DIAG_MAX];
        snprintf(why, sizeof why, "%s", d->msg);
        rc = diag_at(d, rc, path, 0, "%s", why);
        goto out;
    }
    b->c_ts = column(b, "timestamp_start_unix_ms", true, d);
    b->c_prompt = b->c_ts < 0 ? -1 : column(b, "prompt", true, d);
    b->c_in = b->c_prompt < 0 ? -1 : column(b, "input_tokens", true, d);
    b->c_out = b->c_in < 0 ? -1 : column(b, "output_tokens", true, d);
    if (b->c_out < 0) {
        rc = ERR_INVALID;
        goto out;
    }
    b->c_hash = o->bt_omit_kv_hints ? -1 : arrow_find(&b->a, "total_hashes");
    b->c_block = o->bt_omit_kv_hints ? -1 : arrow_find(&b->a, "block_size");
    b->c_e2e = arrow_find(&b->a, "duration_e2e_ms");
    b->c_sid = arrow_find(&b->a, "provided_session_id");
    if (b->c_sid < 0)
        b->c_sid = arrow_find(&b->a, "poor_man_session_id");
    if ((rc = read_rows(b, d)))
        goto out;

    struct row **v = xmalloc((b->nrows ? b->nrows : 1) * sizeof *v);
    for (size_t i = 0; i < b->nrows; i++)
        v[i] = &b->rows[i];
    bool open_loop = o->bt_open_loop;
    /* open loop: the gap cap reflows every row before grouping */
    if (open_loop && o->bt_idle_gap_cap_s > 0)
        reflow(v, b->nrows, o->bt_idle_gap_cap_s * 1000.0);
    /* group: by session key (rows without one are sessions of their own), each in time
     * order, sessions by (first time, key) */
    for (size_t i = 0; i < b->nrows; i++)
        v[i] = &b->rows[i];
    sort_bt = b;
    qsort(v, b->nrows, sizeof *v, by_sid);
    struct group *g = xmalloc((b->nrows ? b->nrows : 1) * sizeof *g);
    size_t ng = 0;
    for (size_t i = 0; i < b->nrows;) {
        size_t j = i + 1;
        bool keyed = v[i]->keyed;
        while (keyed && j < b->nrows && v[j]->keyed && sid_cmp(b, v[i], v[j]) == 0)
            j++;
        if (!keyed) /* no key: one row per session */
            j = i + 1;
        qsort(v + i, j - i, sizeof *v, by_ts_in_session);
        g[ng].r = v + i;
        g[ng].n = j - i;
        g[ng].first = trunc(v[i]->ts);
        ng++;
        i = j;
    }
    qsort(g, ng, sizeof *g, by_group);
    if (!open_loop) {
        /* closed loop: later turns wait a think time after the previous reply */
        size_t nstart = 0;
        for (size_t gi = 0; gi < ng; gi++) {
            double prev_ts = 0, prev_e2e = 0;
            for (size_t k = 0; k < g[gi].n; k++) {
                struct row *r = g[gi].r[k];
                double ts = trunc(r->ts);
                double e2e = r->e2e > 0 ? (double)r->e2e : 0;
                if (o->bt_speedup > 0)
                    e2e /= o->bt_speedup;
                if (k > 0) {
                    double gap = ts - prev_ts > 0 ? ts - prev_ts : 0;
                    double dl = gap - prev_e2e > 0 ? gap - prev_e2e : 0;
                    r->delay = cap_delay(o, dl);
                    r->timed = false;
                }
                prev_ts = ts;
                prev_e2e = e2e;
            }
            g[gi].r[0]->timed = true;
            nstart++;
        }
        if (o->bt_idle_gap_cap_s > 0) {
            struct row **s = xmalloc((ng ? ng : 1) * sizeof *s);
            for (size_t gi = 0; gi < ng; gi++)
                s[gi] = g[gi].r[0];
            reflow(s, ng, o->bt_idle_gap_cap_s * 1000.0);
            free(s);
            for (size_t gi = 0; gi < ng; gi++)
                g[gi].first = g[gi].r[0]->ts;
        }
        (void)nstart;
    }
    rc = emit(ds, b, g, ng, d);
    free(g);
    free(v);
out:
    if (map != MAP_FAILED)
        munmap(map, mlen);
    if (fd >= 0)
        close(fd);
    free(b->rows);
    free(b->hashes);
    buf_free(&b->sidpool);
    free(b);
    return rc;
}
