/*
 * Network latency calibration, report side (AIPerf 0.13's --network-latency-*): the mean
 * RTT the network_adjusted_* metrics subtract (report_summarize applies it), taken from
 * --network-latency-mean or from the TCP connect probes replay wrote to
 * RUN_DIR/network_latency.jsonl (netprobe.h), and those probes re-written in AIPerf's
 * profile_export_network_latency.jsonl (its NetworkLatencySample fields, wall-clock
 * timestamps from each shard's clock anchor). docs/metrics.md, *Network latency*.
 */
#include "report_int.h"

#include "jsonw.h"
#include "zio.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A probe line is small (a URL of at most 4 KiB and an error message). */
#define NETLAT_MAX_LINE ((size_t)64 << 10)

static void copy_str(struct jsonw *w, const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (cJSON_IsString(v)) {
        jsonw_key(w, key);
        jsonw_str(w, v->valuestring);
    }
}

/* One shard's probes: counted into ru, their successful RTTs summed, each re-written as
 * an AIPerf sample line into out (NULL: not exported). */
static int read_shard(struct run *ru, const struct run_meta *m, struct buf *out, double *sum,
                      struct diag *d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/network_latency.jsonl", m->dir);
    FILE *probe = fopen(path, "r");
    if (!probe)
        return 0; /* no probing in this run */
    fclose(probe);
    struct zreader *zr;
    int rc = zr_open(&zr, path, NETLAT_MAX_LINE, d);
    if (rc)
        return rc;
    const char *line;
    size_t len;
    while ((rc = zr_getline(zr, &line, &len, d)) == 1) {
        cJSON *j = cJSON_ParseWithLength(line, len);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "t_ns");
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(j, "success");
        const cJSON *rtt = cJSON_GetObjectItemCaseSensitive(j, "rtt_ns");
        const cJSON *port = cJSON_GetObjectItemCaseSensitive(j, "target_port");
        if (!cJSON_IsNumber(t) || !cJSON_IsBool(ok) || !cJSON_IsNumber(port) ||
            (cJSON_IsTrue(ok) && !cJSON_IsNumber(rtt))) {
            /* the last line of a killed run may be cut short: a line that does not parse
             * is skipped, as records are */
            cJSON_Delete(j);
            continue;
        }
        ru->net_probes++;
        if (cJSON_IsTrue(ok)) {
            ru->net_ok++;
            *sum += rtt->valuedouble;
        }
        if (out) {
            struct jsonw w;
            jsonw_init(&w, out);
            jsonw_obj_begin(&w);
            jsonw_key(&w, "timestamp_ns");
            jsonw_int(&w, m->anchor_real + (int64_t)t->valuedouble);
            copy_str(&w, j, "target_url");
            copy_str(&w, j, "target_host");
            jsonw_key(&w, "target_port");
            jsonw_int(&w, (int64_t)port->valuedouble);
            jsonw_key(&w, "probe_type");
            jsonw_str(&w, "tcp_connect");
            if (cJSON_IsTrue(ok)) {
                jsonw_key(&w, "rtt_ns");
                jsonw_int(&w, (int64_t)rtt->valuedouble);
            }
            jsonw_key(&w, "success");
            jsonw_bool(&w, cJSON_IsTrue(ok));
            const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
            if (cJSON_IsObject(err)) { /* AIPerf's ErrorDetails, as replay wrote it */
                char *txt = cJSON_PrintUnformatted(err);
                if (txt) {
                    jsonw_key(&w, "error");
                    jsonw_raw(&w, txt, strlen(txt));
                    free(txt);
                }
            }
            jsonw_obj_end(&w);
            buf_putc(out, '\n');
        }
        cJSON_Delete(j);
    }
    zr_close(zr);
    return rc < 0 ? rc : 0;
}

int report_netlat(struct run *ru, const struct report_opts *o, struct report_result *res,
                  struct diag *d)
{
    struct buf b;
    buf_init(&b, 1u << 28);
    bool exp = (o->exports & (REPORT_JSON | REPORT_CSV | REPORT_JSONL)) != 0;
    double sum = 0;
    int rc = 0;
    for (size_t i = 0; i < ru->nshards && !rc; i++)
        rc = read_shard(ru, &ru->shard[i], exp ? &b : NULL, &sum, d);
    if (!rc && exp && ru->net_probes) {
        char nm[512], path[4096];
        report_export_name(o->export_prefix, "profile_export_network_latency.jsonl", nm, sizeof nm);
        snprintf(path, sizeof path, "%s/%s", ru->out_dir, nm);
        rc = afile_write_all(path, b.p ? b.p : "", b.len, d);
        if (!rc)
            buf_printf(&res->written, "%s\n", path);
    }
    buf_free(&b);
    if (rc)
        return rc;
    /* AIPerf 0.13: a fixed mean wins (it never probes then); a mean of 0, or probing with
     * no successful probe, adjusts nothing and emits no network_adjusted_* metric. */
    if (o->net_mean_set) {
        ru->net_rtt_ns = o->net_mean_ms * 1e6;
        ru->net_fixed = true;
    } else if (ru->net_ok) {
        ru->net_rtt_ns = sum / (double)ru->net_ok;
    } else if (ru->net_probes) {
        buf_printf(&res->warnings,
                   "%s: network latency: none of the %zu TCP connect probes succeeded; no "
                   "network_adjusted_* metrics\n",
                   ru->label, ru->net_probes);
    }
    return 0;
}
