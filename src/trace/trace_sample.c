/* AIPerf 0.13's random and shuffle dataset samplers over a packed dataset file: the
 * sessions of a trace drawn again, in the sampled order, into a new trace. */
#include "dataset.h"

#include "buf.h"
#include "hash.h"
#include "rng.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRACE_LINE (256u << 20)

struct samp_sess {
    size_t first, n; /* its request lines: lines_of[first .. first+n) */
    size_t uses;     /* draws so far (the k-th draw after the first is named "id#k") */
};

/* The end of the JSON string that starts at p (at its opening quote); NULL if none. */
static const char *str_end(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

int trace_resample(const char *in, const char *out, enum ds_sampling how, long request_count,
                   uint64_t seed, int level, long *nreq, long *nses, struct diag *d)
{
    struct zreader *zr;
    int rc = zr_open(&zr, in, MAX_TRACE_LINE, d);
    if (rc)
        return rc;
    const char *line;
    size_t n;
    cJSON *hdr = NULL;
    struct buf table, reqs;
    buf_init(&table, 0);
    buf_init(&reqs, 0);
    size_t *off = NULL, *len = NULL, *sess_of = NULL, nl = 0, cap = 0;
    struct samp_sess *ss = NULL;
    size_t *lines_of = NULL;
    size_t ns = 0, scap = 0;
    /* session ids by first appearance (a session's turns may interleave with others'
     * in an untimed trace): an open-addressing table of session indexes */
    size_t hcap = 1024, *ht = xmalloc(hcap * sizeof *ht), *idoff = NULL, *idlen = NULL;
    for (size_t i = 0; i < hcap; i++)
        ht[i] = SIZE_MAX;
    while ((rc = zr_getline(zr, &line, &n, d)) == 1) {
        if (!hdr) {
            hdr = cJSON_ParseWithLength(line, n);
            if (!hdr) {
                rc = diag_at(d, ERR_PARSE, in, 1, "bad trace header");
                break;
            }
            continue;
        }
        if (n < 12 || memcmp(line, "{\"session\":\"", 12)) {
            buf_append(&table, line, n);
            buf_append(&table, "\n", 1);
            continue;
        }
        const char *e = str_end(line + 11, line + n);
        if (!e) {
            rc = diag_at(d, ERR_PARSE, in, 0, "bad request line");
            break;
        }
        if (nl == cap) {
            cap = cap ? cap * 2 : 1024;
            off = xrealloc(off, cap * sizeof *off);
            len = xrealloc(len, cap * sizeof *len);
            sess_of = xrealloc(sess_of, cap * sizeof *sess_of);
        }
        off[nl] = reqs.len;
        len[nl] = n;
        buf_append(&reqs, line, n);
        size_t idl = (size_t)(e - (line + 11));
        if ((ns + 1) * 2 > hcap) { /* grow and rehash */
            size_t ncap = hcap * 2, *nt = xmalloc(ncap * sizeof *nt);
            for (size_t i = 0; i < ncap; i++)
                nt[i] = SIZE_MAX;
            for (size_t i = 0; i < ns; i++) {
                size_t j = hash64(reqs.p + idoff[i], idlen[i]) & (ncap - 1);
                while (nt[j] != SIZE_MAX)
                    j = (j + 1) & (ncap - 1);
                nt[j] = i;
            }
            free(ht);
            ht = nt;
            hcap = ncap;
        }
        const char *id = reqs.p + off[nl] + 11;
        size_t j = hash64(id, idl) & (hcap - 1);
        while (ht[j] != SIZE_MAX &&
               !(idlen[ht[j]] == idl && !memcmp(reqs.p + idoff[ht[j]], id, idl)))
            j = (j + 1) & (hcap - 1);
        if (ht[j] == SIZE_MAX) {
            if (ns == scap) {
                scap = scap ? scap * 2 : 256;
                ss = xrealloc(ss, scap * sizeof *ss);
                idoff = xrealloc(idoff, scap * sizeof *idoff);
                idlen = xrealloc(idlen, scap * sizeof *idlen);
            }
            ss[ns] = (struct samp_sess){0};
            idoff[ns] = off[nl] + 11;
            idlen[ns] = idl;
            ht[j] = ns++;
        }
        ss[ht[j]].n++;
        sess_of[nl] = ht[j];
        nl++;
    }
    free(ht);
    free(idoff);
    free(idlen);
    /* each session's lines, in file order (its turns are in order) */
    lines_of = xmalloc((nl ? nl : 1) * sizeof *lines_of);
    {
        size_t at = 0;
        for (size_t i = 0; i < ns; i++) {
            ss[i].first = at;
            at += ss[i].n;
            ss[i].uses = 0;
        }
        size_t *fill = xcalloc(ns ? ns : 1, sizeof *fill);
        for (size_t i = 0; i < nl; i++)
            lines_of[ss[sess_of[i]].first + fill[sess_of[i]]++] = i;
        free(fill);
    }
    zr_close(zr);
    if (rc < 0)
        goto out;
    rc = 0;
    if (!hdr || ns == 0) {
        rc = diag_at(d, ERR_INVALID, in, 0, "no requests to sample");
        goto out;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hdr, "timed"))) {
        rc = diag_set(d, ERR_INVALID,
                      "--dataset-sampling-strategy %s: the dataset has timestamps (a fixed "
                      "schedule sends it in their order; AIPerf samples only untimed data)",
                      how == SAMPLING_RANDOM ? "random" : "shuffle");
        goto out;
    }
    /* The draws: one pass over the sessions, or until --request-count requests. */
    struct rng r;
    rng_derive(&r, seed, "dataset.sampling");
    size_t *perm = xmalloc(ns * sizeof *perm), *draws = NULL, nd = 0, dcap = 0;
    for (size_t i = 0; i < ns; i++)
        perm[i] = i;
    long total = 0;
    for (size_t k = 0;; k++) {
        if (request_count > 0 ? total >= request_count : k >= ns)
            break;
        size_t s;
        if (how == SAMPLING_RANDOM) {
            s = (size_t)rng_below(&r, ns);
        } else {
            if (k % ns == 0)
                for (size_t i = ns - 1; i > 0; i--) {
                    size_t j = (size_t)rng_below(&r, (uint64_t)i + 1), x = perm[i];
                    perm[i] = perm[j];
                    perm[j] = x;
                }
            s = perm[k % ns];
        }
        if (nd == dcap) {
            dcap = dcap ? dcap * 2 : 1024;
            draws = xrealloc(draws, dcap * sizeof *draws);
        }
        draws[nd++] = s;
        total += (long)ss[s].n;
    }
    free(perm);
    /* The new trace: its header with the new counts, the tables, the drawn sessions. */
    long sent = 0;
    cJSON_ReplaceItemInObjectCaseSensitive(
        hdr, "requests",
        cJSON_CreateNumber(
            (double)(request_count > 0 && total > request_count ? request_count : total)));
    cJSON_ReplaceItemInObjectCaseSensitive(hdr, "sessions", cJSON_CreateNumber((double)nd));
    cJSON *opts = cJSON_GetObjectItemCaseSensitive(hdr, "options");
    if (cJSON_IsObject(opts))
        cJSON_AddStringToObject(opts, "dataset_sampling_strategy",
                                how == SAMPLING_RANDOM ? "random" : "shuffle");
    char *h = cJSON_PrintUnformatted(hdr);
    struct zwriter *zw;
    if ((rc = zw_open(&zw, out, ZW_ATOMIC, level, d))) {
        free(h);
        free(draws);
        goto out;
    }
    int wr = zw_write(zw, h, strlen(h)) || zw_write(zw, "\n", 1) ||
             zw_write(zw, table.p ? table.p : "", table.len) || zw_end_frame(zw);
    free(h);
    char sfx[32];
    for (size_t k = 0; k < nd && !wr; k++) {
        struct samp_sess *s = &ss[draws[k]];
        size_t use = s->uses++;
        for (size_t i = 0; i < s->n && !wr; i++) {
            if (request_count > 0 && sent >= request_count)
                break;
            size_t li = lines_of[s->first + i];
            const char *p = reqs.p + off[li];
            const char *e = str_end(p + 11, p + len[li]); /* after the id's closing quote */
            if (use == 0) {
                wr = zw_write(zw, p, len[li]);
            } else {
                int m = snprintf(sfx, sizeof sfx, "#%zu\"", use);
                wr = zw_write(zw, p, (size_t)(e - 1 - p)) || zw_write(zw, sfx, (size_t)m) ||
                     zw_write(zw, e, (size_t)(p + len[li] - e));
            }
            wr = wr || zw_write(zw, "\n", 1);
            sent++;
        }
    }
    free(draws);
    if (wr) {
        rc = diag_set(d, ERR_IO, "%s: %s", out, zw_strerror(zw));
        zw_abort(zw);
        goto out;
    }
    if ((rc = zw_commit(zw, d)))
        goto out;
    *nreq = sent;
    *nses = (long)nd;
out:
    cJSON_Delete(hdr);
    buf_free(&table);
    buf_free(&reqs);
    free(off);
    free(len);
    free(sess_of);
    free(lines_of);
    free(ss);
    return rc;
}
