/* loadshape: AIPerf 0.13's ramp schedules as pure functions (loadshape.h). */
#include "loadshape.h"
#include "err.h"
#include "xalloc.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t ramp_level_at_ns(long level, long target, int64_t ramp_ns)
{
    if (level <= 1 || target <= 1 || ramp_ns <= 0)
        return 0;
    if (level >= target)
        return ramp_ns;
    /* exact in integers: D * (L - 1) / (C - 1), rounded down to the ns */
    return (int64_t)((__int128)ramp_ns * (level - 1) / (target - 1));
}

long ramp_level_now(long target, int64_t ramp_ns, int64_t t_ns)
{
    if (target <= 1 || ramp_ns <= 0 || t_ns >= ramp_ns)
        return target < 1 ? 1 : target;
    if (t_ns < 0)
        return 1;
    long l = 1 + (long)((__int128)t_ns * (target - 1) / ramp_ns);
    /* the same rounding as ramp_level_at_ns: level l is open iff its instant has come */
    while (l < target && ramp_level_at_ns(l + 1, target, ramp_ns) <= t_ns)
        l++;
    while (l > 1 && ramp_level_at_ns(l, target, ramp_ns) > t_ns)
        l--;
    return l;
}

long ramp_worker_share(long level, int nw, int id)
{
    if (nw <= 0 || level <= 0)
        return 0;
    return level / nw + (id < level % nw ? 1 : 0);
}

long ramp_slot_level(long j, int nw, int id)
{
    /* worker id's share first exceeds j when level = j * nw + id + 1 */
    return j * nw + id + 1;
}

void rate_ramp_init(struct rate_ramp *r, double target, int64_t ramp_ns)
{
    r->target = target;
    r->ramp_ns = ramp_ns;
    r->start = target * ((double)RATE_RAMP_UI_NS / (double)ramp_ns);
    r->k = 0;
    r->done = ramp_ns <= 0;
}

double rate_ramp_rate_at(const struct rate_ramp *r, long k)
{
    int64_t t = (int64_t)k * RATE_RAMP_UI_NS;
    if (r->ramp_ns <= 0 || t >= r->ramp_ns)
        return r->target;
    return r->start + (r->target - r->start) * ((double)t / (double)r->ramp_ns);
}

static int64_t gap_ns(gap_fn gap, void *ctx, double rate)
{
    return (int64_t)(gap(ctx, rate) * 1e9);
}

int64_t rate_ramp_next(struct rate_ramp *r, double *rate, int64_t prev_ns, gap_fn gap, void *ctx)
{
    int64_t p;
    if (prev_ns < 0) {
        /* update 0 comes with the phase start: the first gap is drawn at s */
        if (!r->done) {
            *rate = rate_ramp_rate_at(r, 0);
            r->k = 1;
            r->done = r->ramp_ns <= 0;
        }
        p = gap_ns(gap, ctx, *rate);
    } else {
        p = prev_ns + gap_ns(gap, ctx, *rate);
    }
    /* every update before the pending send: the new rate, and the send pulled in when a
     * gap at the new rate from the update ends sooner */
    while (!r->done) {
        int64_t tk = (int64_t)r->k * RATE_RAMP_UI_NS;
        if (tk >= p)
            break;
        *rate = rate_ramp_rate_at(r, r->k);
        int64_t q = tk + gap_ns(gap, ctx, *rate);
        if (q < p)
            p = q;
        if (tk >= r->ramp_ns)
            r->done = true;
        r->k++;
    }
    return p;
}

void rate_series_init(struct rate_series *s, const double *t, const double *qps, int n,
                      int64_t start_ns)
{
    s->t = t;
    s->qps = qps;
    s->n = n;
    s->start_ns = start_ns > 0 ? start_ns : 0;
    s->j = 0;
    s->done = n <= 0;
}

double rate_series_value(const struct rate_series *s, double e_s)
{
    if (e_s <= s->t[0])
        return s->qps[0];
    if (e_s >= s->t[s->n - 1])
        return s->qps[s->n - 1];
    int right = 1; /* the first point after e_s */
    while (s->t[right] <= e_s)
        right++;
    int left = right - 1;
    double progress = (e_s - s->t[left]) / (s->t[right] - s->t[left]);
    return s->qps[left] + (s->qps[right] - s->qps[left]) * progress;
}

int64_t rate_shape_next(struct rate_ramp *r, struct rate_series *s, double *rate, int64_t prev_ns,
                        gap_fn gap, void *ctx)
{
    int64_t p;
    if (prev_ns < 0) {
        if (!r->done) { /* the ramp's update 0 comes with the phase start */
            *rate = rate_ramp_rate_at(r, 0);
            r->k = 1;
            r->done = r->ramp_ns <= 0;
        }
        p = gap_ns(gap, ctx, *rate);
    } else {
        p = prev_ns + gap_ns(gap, ctx, *rate);
    }
    for (;;) {
        int64_t tr = !r->done ? (int64_t)r->k * RATE_RAMP_UI_NS : INT64_MAX;
        int64_t ts = !s->done ? s->start_ns + (int64_t)s->j * RATE_RAMP_UI_NS : INT64_MAX;
        int64_t tu = tr <= ts ? tr : ts;
        if (tu == INT64_MAX || tu >= p)
            break;
        double v;
        if (tr <= ts) {
            v = rate_ramp_rate_at(r, r->k);
            if (tr >= r->ramp_ns)
                r->done = true;
            r->k++;
        } else {
            double e = (double)(s->j * RATE_RAMP_UI_NS) / 1e9;
            v = rate_series_value(s, e);
            if (e >= s->t[s->n - 1])
                s->done = true;
            s->j++;
        }
        if (v == *rate) /* AIPerf: the same rate is no update */
            continue;
        *rate = v;
        int64_t q = tu + gap_ns(gap, ctx, v);
        if (q < p)
            p = q;
    }
    return p;
}

static int series_num(const cJSON *o, const char *key, const char *path, int i, double *out,
                      struct diag *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        return diag_set(d, ERR_INVALID, "--request-rate-series %s: point %d: %s: expected a number",
                        path, i, key);
    *out = v->valuedouble;
    if (!isfinite(*out))
        return diag_set(d, ERR_INVALID, "--request-rate-series %s: point %d: %s: not finite", path,
                        i, key);
    return 0;
}

int rate_series_load(const char *path, double **t, double **qps, int *n, struct diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return diag_set(d, ERR_IO, "--request-rate-series %s: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *txt = xmalloc(cap);
    size_t k;
    while ((k = fread(txt + len, 1, cap - len - 1, f)) > 0) {
        len += k;
        if (len + 1 >= cap) {
            if (cap >= ((size_t)64 << 20)) {
                fclose(f);
                free(txt);
                return diag_set(d, ERR_INVALID, "--request-rate-series %s: larger than 64 MiB",
                                path);
            }
            cap *= 2;
            txt = xrealloc(txt, cap);
        }
    }
    bool rerr = ferror(f);
    fclose(f);
    txt[len] = '\0';
    if (rerr) {
        free(txt);
        return diag_set(d, ERR_IO, "--request-rate-series %s: cannot read it", path);
    }
    int rc = rate_series_parse(txt, len, path, t, qps, n, d);
    free(txt);
    return rc;
}

int rate_series_parse(const char *txt, size_t len, const char *path, double **t, double **qps,
                      int *n, struct diag *d)
{
    cJSON *root = cJSON_ParseWithLength(txt, len);
    int rc = 0;
    const cJSON *pts = root;
    if (!root) {
        rc = diag_set(d, ERR_INVALID, "--request-rate-series %s: not valid JSON", path);
        goto out;
    }
    if (cJSON_IsObject(root)) {
        pts = cJSON_GetObjectItemCaseSensitive(root, "points");
        if (!pts || cJSON_GetArraySize(root) != 1) {
            rc = diag_set(d, ERR_INVALID,
                          "--request-rate-series %s: an object must hold exactly one key, points",
                          path);
            goto out;
        }
    }
    if (!cJSON_IsArray(pts)) {
        rc = diag_set(d, ERR_INVALID,
                      "--request-rate-series %s: expected an array of points (or {\"points\": "
                      "[...]})",
                      path);
        goto out;
    }
    int m = cJSON_GetArraySize(pts);
    if (m < 2) {
        rc = diag_set(d, ERR_INVALID, "--request-rate-series %s: needs at least two points, got %d",
                      path, m);
        goto out;
    }
    double *tt = xcalloc((size_t)m, sizeof *tt), *qq = xcalloc((size_t)m, sizeof *qq);
    int i = 0;
    const cJSON *pt;
    cJSON_ArrayForEach(pt, pts)
    {
        const cJSON *kv;
        if (!cJSON_IsObject(pt)) {
            rc = diag_set(d, ERR_INVALID,
                          "--request-rate-series %s: point %d: expected an object "
                          "{\"time_s\", \"qps\"}",
                          path, i);
            break;
        }
        cJSON_ArrayForEach(kv, pt) if (strcmp(kv->string, "time_s") && strcmp(kv->string, "qps"))
        {
            rc = diag_set(d, ERR_INVALID, "--request-rate-series %s: point %d: unknown key %s",
                          path, i, kv->string);
            break;
        }
        if (rc || (rc = series_num(pt, "time_s", path, i, &tt[i], d)) ||
            (rc = series_num(pt, "qps", path, i, &qq[i], d)))
            break;
        if (tt[i] < 0) {
            rc = diag_set(d, ERR_INVALID,
                          "--request-rate-series %s: point %d: time_s %g is negative", path, i,
                          tt[i]);
            break;
        }
        if (qq[i] <= 0) {
            rc = diag_set(d, ERR_INVALID, "--request-rate-series %s: point %d: qps %g is not > 0",
                          path, i, qq[i]);
            break;
        }
        if (i > 0 && tt[i] <= tt[i - 1]) {
            rc = diag_set(d, ERR_INVALID,
                          "--request-rate-series %s: point %d: time_s %g is not after %g (time_s "
                          "must be strictly increasing)",
                          path, i, tt[i], tt[i - 1]);
            break;
        }
        i++;
    }
    if (rc) {
        free(tt);
        free(qq);
        goto out;
    }
    *t = tt;
    *qps = qq;
    *n = m;
out:
    cJSON_Delete(root);
    return rc;
}
