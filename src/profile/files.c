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

/* A request of an interleaved trace, gathered: its body is in the spill file, not in
 * memory, so gathering costs 32 bytes per request whatever the bodies weigh. */
struct input_req {
    uint32_t sess; /* the session's ordinal: the order of its first turn */
    uint64_t seq;  /* its place in the trace (qsort is not stable) */
    uint64_t off;  /* its body in the spill file */
    uint64_t n;
};

static int input_req_cmp(const void *a, const void *b)
{
    const struct input_req *x = a, *y = b;
    if (x->sess != y->sess)
        return x->sess < y->sess ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A session's id, in the spill file too. */
struct input_sess {
    uint64_t off, n;
};

static void entry_open(FILE *f, bool after, const char *session)
{
    struct buf esc;
    buf_init(&esc, 0);
    json_escape(&esc, session, strlen(session));
    fprintf(f, "%s\n{\"session_id\": %s, \"payloads\": [", after ? "]}," : "", esc.p);
    buf_free(&esc);
}

/* AIPerf's inputs.json: one entry per session, its payloads in turn order, the sessions in
 * the order of their first turns. A trace whose sessions are interleaved is gathered
 * first: its bodies and session ids go to a spill file beside the output (unlinked as
 * soon as it is open), and only their places stay in memory; otherwise it streams. */
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
    struct zspill sp = {0};
    if (gather)
        rc = zspill_open(&sp, out_path, d);
    bool open_entry = false;
    struct i64map ord;
    i64map_init(&ord);
    struct input_req *reqs = NULL;
    struct input_sess *names = NULL;
    size_t nreqs = 0, cap = 0, nsess = 0, capsess = 0;
    fputs("{\"data\": [", f.f);
    while (rc == 0) {
        struct trace_request q;
        rc = trace_next(r, &q, d);
        if (rc <= 0)
            break;
        rc = 0;
        if (gather) {
            uint64_t h = hash64_str(q.session);
            uint32_t k = (uint32_t)nsess;
            if (i64map_put(&ord, (int64_t)h, k)) {
                if (nsess == capsess) {
                    capsess = capsess ? capsess * 2 : 256;
                    names = xrealloc(names, capsess * sizeof *names);
                }
                names[nsess].n = strlen(q.session);
                rc = zspill_put(&sp, q.session, names[nsess].n, &names[nsess].off, d);
                nsess++;
            } else {
                i64map_get(&ord, (int64_t)h, &k);
            }
            if (nreqs == cap) {
                cap = cap ? cap * 2 : 1024;
                reqs = xrealloc(reqs, cap * sizeof *reqs);
            }
            reqs[nreqs] = (struct input_req){.sess = k, .seq = nreqs, .n = q.body_len};
            if (!rc)
                rc = zspill_put(&sp, q.body, q.body_len, &reqs[nreqs].off, d);
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
        struct buf body;
        buf_init(&body, 0);
        for (size_t i = 0; i < nreqs && rc >= 0; i++) {
            if (i == 0 || reqs[i].sess != reqs[i - 1].sess) {
                const struct input_sess *ns = &names[reqs[i].sess];
                if ((rc = zspill_get(&sp, ns->off, ns->n, &sid, d)))
                    break;
                entry_open(f.f, open_entry, sid.p);
                open_entry = true;
            } else {
                fputs(", ", f.f);
            }
            if ((rc = zspill_get(&sp, reqs[i].off, reqs[i].n, &body, d)))
                break;
            fwrite(body.p, 1, body.len, f.f);
        }
        buf_free(&body);
    }
    zspill_close(&sp);
    free(reqs);
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
