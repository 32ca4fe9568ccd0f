/* AIPerf's extra artifact files: inputs.json and the results-ready marker. */
#include "profile_files.h"

#include "buf.h"
#include "hash.h"
#include "i64map.h"
#include "jsonw.h"
#include "report.h"
#include "trace.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether some session's turns are not contiguous in the trace (single_turn rows of a
 * session_id, mooncake lines, interleaved with other sessions'); sessions are told apart
 * by the 64-bit hash of their id. */
static int sessions_interleaved(const char *trace_path, bool *out, struct diag *d)
{
    struct trace_reader *r = NULL;
    int rc = trace_open(&r, trace_path, d);
    if (rc)
        return rc;
    struct i64map seen;
    i64map_init(&seen);
    uint64_t prev = 0;
    bool have = false;
    *out = false;
    struct trace_request q;
    while (!*out && (rc = trace_next(r, &q, d)) == 1) {
        uint64_t h = hash64_str(q.session);
        if (have && h == prev)
            continue;
        *out = !i64map_put(&seen, (int64_t)h, 0);
        prev = h;
        have = true;
    }
    i64map_free(&seen);
    trace_close(r);
    return rc < 0 ? rc : 0;
}

struct input_req {
    uint32_t sess; /* the session's ordinal: the order of its first turn */
    size_t seq;    /* its place in the trace (qsort is not stable) */
    size_t n;
    char *body;
};

static int input_req_cmp(const void *a, const void *b)
{
    const struct input_req *x = a, *y = b;
    if (x->sess != y->sess)
        return x->sess < y->sess ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void entry_open(FILE *f, bool after, const char *session)
{
    struct buf esc;
    buf_init(&esc, 0);
    json_escape(&esc, session, strlen(session));
    fprintf(f, "%s\n{\"session_id\": %s, \"payloads\": [", after ? "]}," : "", esc.p);
    buf_free(&esc);
}

/* AIPerf's inputs.json: one entry per session, its payloads in turn order, the sessions in
 * the order of their first turns. A trace whose sessions are interleaved is gathered in
 * memory first (its bodies, once); otherwise it streams. */
int profile_write_inputs(const char *trace_path, const char *out_path, struct diag *d)
{
    bool gather = false;
    int rc = sessions_interleaved(trace_path, &gather, d);
    if (rc)
        return rc;
    struct trace_reader *r = NULL;
    rc = trace_open(&r, trace_path, d);
    if (rc)
        return rc;
    struct afile f;
    rc = afile_open(&f, out_path, d);
    if (rc) {
        trace_close(r);
        return rc;
    }
    struct buf sid;
    buf_init(&sid, 0);
    bool open_entry = false;
    struct i64map ord;
    i64map_init(&ord);
    struct input_req *reqs = NULL;
    char **names = NULL;
    size_t nreqs = 0, cap = 0, nsess = 0;
    fputs("{\"data\": [", f.f);
    for (;;) {
        struct trace_request q;
        rc = trace_next(r, &q, d);
        if (rc <= 0)
            break;
        if (gather) {
            uint64_t h = hash64_str(q.session);
            uint32_t k = (uint32_t)nsess;
            if (i64map_put(&ord, (int64_t)h, k)) {
                names = xrealloc(names, (nsess + 1) * sizeof *names);
                names[nsess++] = xstrdup(q.session);
            } else {
                i64map_get(&ord, (int64_t)h, &k);
            }
            if (nreqs == cap) {
                cap = cap ? cap * 2 : 1024;
                reqs = xrealloc(reqs, cap * sizeof *reqs);
            }
            reqs[nreqs] = (struct input_req){k, nreqs, q.body_len, xstrndup(q.body, q.body_len)};
            nreqs++;
            continue;
        }
        bool same =
            open_entry && sid.len == strlen(q.session) && !memcmp(sid.p, q.session, sid.len);
        if (!same) {
            entry_open(f.f, open_entry, q.session);
            buf_reset(&sid);
            buf_puts(&sid, q.session);
            open_entry = true;
        } else {
            fputs(", ", f.f);
        }
        fwrite(q.body, 1, q.body_len, f.f);
    }
    trace_close(r);
    if (gather && rc >= 0) {
        qsort(reqs, nreqs, sizeof *reqs, input_req_cmp);
        for (size_t i = 0; i < nreqs; i++) {
            if (i == 0 || reqs[i].sess != reqs[i - 1].sess) {
                entry_open(f.f, open_entry, names[reqs[i].sess]);
                open_entry = true;
            } else {
                fputs(", ", f.f);
            }
            fwrite(reqs[i].body, 1, reqs[i].n, f.f);
        }
    }
    for (size_t i = 0; i < nreqs; i++)
        free(reqs[i].body);
    free(reqs);
    for (size_t i = 0; i < nsess; i++)
        free(names[i]);
    free(names);
    i64map_free(&ord);
    buf_free(&sid);
    if (rc < 0) {
        afile_abort(&f);
        return rc;
    }
    fprintf(f.f, "%s\n]}\n", open_entry ? "]}" : "");
    return afile_commit(&f, d);
}

bool profile_json_flag(const char *path, const char *key, bool dflt)
{
    char *text = NULL;
    size_t len = 0;
    struct diag ignored;
    if (zio_read_all(path, 64u << 20, &text, &len, &ignored))
        return dflt;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *v = j ? cJSON_GetObjectItemCaseSensitive(j, key) : NULL;
    bool out = cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
    cJSON_Delete(j);
    return out;
}

int profile_write_ready(const char *dir, const char *export_prefix, struct diag *d)
{
    char path[4200], nm[512];
    report_export_name(export_prefix, "profile_export_aiperf.json", nm, sizeof nm);
    snprintf(path, sizeof path, "%s/%s", dir, nm);
    bool cancelled = profile_json_flag(path, "was_cancelled", false);
    snprintf(path, sizeof path, "%s/run.json", dir);
    bool complete = profile_json_flag(path, "complete", false);
    char text[128];
    int n = snprintf(text, sizeof text, "{\"ready\":true,\"was_cancelled\":%s,\"partial\":%s}",
                     cancelled ? "true" : "false", complete ? "false" : "true");
    snprintf(path, sizeof path, "%s/.aiperf_results_ready.json", dir);
    return afile_write_all(path, text, (size_t)n, d);
}
