/* AIPerf 0.13's sequence-length distributions (see seqdist.h). */
#include "seqdist.h"

#include "dataset.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && isspace((unsigned char)*p))
        p++;
    return p;
}

/* \d+ into a long (bounded: more than 9 digits is refused as too large). */
static bool digits(const char **pp, const char *e, long *out)
{
    const char *p = *pp;
    long v = 0;
    int n = 0;
    while (p < e && isdigit((unsigned char)*p)) {
        if (++n > 9)
            return false;
        v = v * 10 + (*p++ - '0');
    }
    if (n == 0)
        return false;
    *out = v;
    *pp = p;
    return true;
}

/* AIPerf's number: \d+(\.\d+)? or \.\d+ (no sign, no exponent). */
static bool number(const char **pp, const char *e, double *out)
{
    const char *p = *pp, *s = p;
    while (p < e && isdigit((unsigned char)*p))
        p++;
    bool intpart = p > s;
    if (p < e && *p == '.') {
        const char *f = ++p;
        while (p < e && isdigit((unsigned char)*p))
            p++;
        if (p == f) {
            if (!intpart)
                return false;
            p--; /* "5." is "5" followed by a stray dot */
        }
    } else if (!intpart) {
        return false;
    }
    if (p - s > 40)
        return false;
    char tmp[48];
    memcpy(tmp, s, (size_t)(p - s));
    tmp[p - s] = '\0';
    *out = strtod(tmp, NULL);
    *pp = p;
    return true;
}

/* "ISL[|SD] , OSL[|SD] : PROB" starting at p (the pair of the semicolon form, the inside
 * of the bracket form's parentheses with close = ')'). Whitespace as AIPerf's pattern
 * allows it: around the comma and the colon, and before a closing parenthesis. */
static bool pair_at(const char **pp, const char *e, char close, struct seq_pair *q)
{
    const char *p = *pp;
    memset(q, 0, sizeof *q);
    if (!digits(&p, e, &q->isl))
        return false;
    if (p < e && *p == '|' && (++p, !number(&p, e, &q->isl_sd)))
        return false;
    p = skip_ws(p, e);
    if (p >= e || *p++ != ',')
        return false;
    p = skip_ws(p, e);
    if (!digits(&p, e, &q->osl))
        return false;
    if (p < e && *p == '|' && (++p, !number(&p, e, &q->osl_sd)))
        return false;
    p = skip_ws(p, e);
    if (close) {
        if (p >= e || *p++ != close)
            return false;
        p = skip_ws(p, e);
    }
    if (p >= e || *p++ != ':')
        return false;
    p = skip_ws(p, e);
    if (!number(&p, e, &q->prob))
        return false;
    *pp = p;
    return true;
}

static int bad(struct diag *d, const char *opt, const char *v, const char *why)
{
    return diag_set(d, ERR_INVALID, "%s '%s': %s", opt, v, why);
}

static int add_pair(struct seqdist *s, const struct seq_pair *q, const char *opt, const char *v,
                    struct diag *d)
{
    if (s->npairs == SEQDIST_MAX_PAIRS)
        return bad(d, opt, v, "more than 256 pairs");
    if (q->isl <= 0 || q->osl <= 0)
        return bad(d, opt, v, "sequence lengths must be positive");
    if (!(q->prob >= 0 && q->prob <= 100))
        return bad(d, opt, v, "a probability must be in [0, 100]");
    if (!(q->isl_sd >= 0 && q->osl_sd >= 0 && isfinite(q->isl_sd) && isfinite(q->osl_sd)))
        return bad(d, opt, v, "a standard deviation must be >= 0");
    s->pairs[s->npairs++] = *q;
    return 0;
}

static int parse_json(struct seqdist *s, const char *opt, const char *v, struct diag *d)
{
    cJSON *root = cJSON_Parse(v);
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(root, "pairs");
    int rc = 0;
    if (!root || !cJSON_IsObject(root)) {
        rc = bad(d, opt, v, "not valid JSON");
        goto out;
    }
    if (!cJSON_IsArray(pairs)) {
        rc = bad(d, opt, v, "JSON form needs a \"pairs\" array");
        goto out;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, pairs)
    {
        const cJSON *isl = cJSON_GetObjectItemCaseSensitive(it, "isl");
        const cJSON *osl = cJSON_GetObjectItemCaseSensitive(it, "osl");
        const cJSON *prob = cJSON_GetObjectItemCaseSensitive(it, "prob");
        const cJSON *isd = cJSON_GetObjectItemCaseSensitive(it, "isl_stddev");
        const cJSON *osd = cJSON_GetObjectItemCaseSensitive(it, "osl_stddev");
        if (!cJSON_IsNumber(isl) || !cJSON_IsNumber(osl) || !cJSON_IsNumber(prob) ||
            (isd && !cJSON_IsNumber(isd)) || (osd && !cJSON_IsNumber(osd))) {
            rc = bad(d, opt, v, "each pair needs numbers isl, osl and prob");
            goto out;
        }
        if (fabs(isl->valuedouble) > 1e9 || fabs(osl->valuedouble) > 1e9) {
            rc = bad(d, opt, v, "sequence length too large");
            goto out;
        }
        struct seq_pair q = {
            .isl = (long)isl->valuedouble, /* Python's int(): toward zero */
            .osl = (long)osl->valuedouble,
            .prob = prob->valuedouble,
            .isl_sd = isd ? isd->valuedouble : 0,
            .osl_sd = osd ? osd->valuedouble : 0,
        };
        if ((rc = add_pair(s, &q, opt, v, d)))
            goto out;
    }
out:
    cJSON_Delete(root);
    return rc;
}

int seqdist_parse(struct seqdist *s, const char *opt, const char *v, struct diag *d)
{
    memset(s, 0, sizeof *s);
    const char *b = skip_ws(v, v + strlen(v)), *e = v + strlen(v);
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    if (b == e)
        return bad(d, opt, v, "empty distribution");
    int rc = 0;
    if (*b == '{') {
        rc = parse_json(s, opt, v, d);
    } else if (*b == '[' && e[-1] == ']') {
        /* pairs found left to right, text between them skipped (AIPerf's finditer) */
        const char *p = b + 1, *end = e - 1;
        while (!rc && p < end) {
            const char *q = p;
            struct seq_pair pr;
            if (*q == '(' && (q = skip_ws(q + 1, end), pair_at(&q, end, ')', &pr))) {
                rc = add_pair(s, &pr, opt, v, d);
                p = q;
            } else {
                p++;
            }
        }
        if (!rc && s->npairs == 0)
            rc = bad(d, opt, v, "no (ISL,OSL):PROB pairs in the bracket form");
    } else {
        const char *p = b;
        while (!rc && p <= e) {
            const char *semi = memchr(p, ';', (size_t)(e - p));
            const char *pe = semi ? semi : e;
            const char *q = skip_ws(p, pe), *qe = pe;
            while (qe > q && isspace((unsigned char)qe[-1]))
                qe--;
            if (q < qe) {
                struct seq_pair pr;
                const char *r = q;
                if (!pair_at(&r, qe, 0, &pr) || r != qe)
                    rc = bad(d, opt, v,
                             "expected ISL[|STDDEV],OSL[|STDDEV]:PROB pairs separated "
                             "by ';'");
                else
                    rc = add_pair(s, &pr, opt, v, d);
            }
            if (!semi)
                break;
            p = semi + 1;
        }
        if (!rc && s->npairs == 0)
            rc = bad(d, opt, v, "no pairs");
    }
    if (rc)
        return rc;
    double total = 0;
    for (int i = 0; i < s->npairs; i++) {
        total += s->pairs[i].prob;
        s->cum[i] = total / 100.0;
    }
    /* numpy.isclose(total, 100, rtol=1e-6, atol=1e-6) */
    if (!(fabs(total - 100.0) <= 1e-6 + 1e-6 * 100.0)) {
        char why[96];
        snprintf(why, sizeof why, "probabilities sum to %g, not 100", total);
        return bad(d, opt, v, why);
    }
    return 0;
}

int seqdist_range(struct seqdist *s, const char *v, const char *style, long isl, long osl,
                  struct diag *d)
{
    static const char opt[] = "--random-range-ratio";
    memset(s, 0, sizeof *s);
    s->range = true;
    bool sglang = !strcmp(style, "sglang");
    double ri, ro;
    char *end = NULL;
    const char *b = v;
    while (isspace((unsigned char)*b))
        b++;
    ri = strtod(b, &end);
    while (end && isspace((unsigned char)*end))
        end++;
    if (end == b || !end || *end) {
        /* not a plain number: {"input": R, "output": R} (vllm style only) */
        if (sglang)
            return bad(d, opt, v, "sglang style takes one plain number for both ISL and OSL");
        cJSON *root = cJSON_Parse(v);
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "input");
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(root, "output");
        bool ok = cJSON_IsObject(root) && cJSON_IsNumber(in) && cJSON_IsNumber(out) &&
                  cJSON_GetArraySize(root) == 2;
        ri = ok ? in->valuedouble : 0;
        ro = ok ? out->valuedouble : 0;
        cJSON_Delete(root);
        if (!ok)
            return bad(d, opt, v,
                       "expected a number or a JSON object with just \"input\" and \"output\"");
    } else {
        ro = ri;
    }
    if (!(isfinite(ri) && ri >= 0 && ri < 1 && isfinite(ro) && ro >= 0 && ro < 1))
        return bad(d, opt, v, "ratios must be in [0, 1)");
    if (isl < 1 || osl < 1)
        return bad(d, opt, v, "needs --isl >= 1 and --osl >= 1 given explicitly");
    if (sglang) {
        s->in_lo = (long)(isl * ri) > 1 ? (long)(isl * ri) : 1;
        s->in_hi = isl;
        s->out_lo = (long)(osl * ro) > 1 ? (long)(osl * ro) : 1;
        s->out_hi = osl;
    } else {
        s->in_lo = (long)floor(isl * (1 - ri));
        s->in_hi = (long)ceil(isl * (1 + ri));
        s->out_lo = (long)floor(osl * (1 - ro));
        s->out_hi = (long)ceil(osl * (1 + ro));
        if (s->out_lo < 1)
            s->out_lo = 1;
        if (s->out_hi < 1)
            s->out_hi = 1;
        /* vLLM's guard: a window reaching 0 tokens would send empty prompts */
        if (s->in_lo < 1) {
            char why[128];
            snprintf(why, sizeof why,
                     "with --isl %ld the smallest prompt is %ld tokens (must be >= 1)", isl,
                     s->in_lo);
            return bad(d, opt, v, why);
        }
    }
    return 0;
}

void seqdist_sample(const struct seqdist *s, struct rng *r, long *isl, long *osl)
{
    if (s->range) {
        *isl = s->in_lo + (long)rng_below(r, (uint64_t)(s->in_hi - s->in_lo + 1));
        *osl = s->out_lo + (long)rng_below(r, (uint64_t)(s->out_hi - s->out_lo + 1));
        return;
    }
    double u = rng_uniform(r);
    int i = 0;
    while (i < s->npairs - 1 && s->cum[i] <= u) /* searchsorted(..., side="right") */
        i++;
    const struct seq_pair *p = &s->pairs[i];
    *isl = p->isl_sd > 0 ? dataset_pos_int(r, (double)p->isl, p->isl_sd) : p->isl;
    *osl = p->osl_sd > 0 ? dataset_pos_int(r, (double)p->osl, p->osl_sd) : p->osl;
}
