/* AIPerf's extra artifact files: inputs.json and the results-ready marker. */
#include "profile_files.h"

#include "buf.h"
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

int profile_write_inputs(const char *trace_path, const char *out_path, struct diag *d)
{
    struct trace_reader *r = NULL;
    int rc = trace_open(&r, trace_path, d);
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
    fputs("{\"data\": [", f.f);
    for (;;) {
        struct trace_request q;
        rc = trace_next(r, &q, d);
        if (rc <= 0)
            break;
        bool same =
            open_entry && sid.len == strlen(q.session) && !memcmp(sid.p, q.session, sid.len);
        if (!same) {
            struct buf esc;
            buf_init(&esc, 0);
            json_escape(&esc, q.session, strlen(q.session));
            fprintf(f.f, "%s\n{\"session_id\": %s, \"payloads\": [", open_entry ? "]}," : "",
                    esc.p);
            buf_free(&esc);
            buf_reset(&sid);
            buf_puts(&sid, q.session);
            open_entry = true;
        } else {
            fputs(", ", f.f);
        }
        fwrite(q.body, 1, q.body_len, f.f);
    }
    buf_free(&sid);
    trace_close(r);
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
