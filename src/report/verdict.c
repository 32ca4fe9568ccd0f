/* Parsing of --goodput and --fail-on (see include/verdict.h). */
#include "verdict.h"

#include "metrics.h"

#include <ctype.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const stat_names[VS_LAST + 1] = {"avg", "min", "max", "std", "count",
                                                    "sum", "p1",  "p5",  "p10", "p25",
                                                    "p50", "p75", "p90", "p95", "p99"};

const char *verdict_stat_str(enum verdict_stat s)
{
    return stat_names[s];
}

const char *verdict_op_str(enum verdict_op op)
{
    static const char *const ops[] = {">", ">=", "<", "<=", "==", "!="};
    return ops[op];
}

/* Parses NUMBER[UNIT] and converts it to metric m's display unit. */
static int parse_value(const char *s, size_t n, int m, double *out, const char **why)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp) {
        *why = "expected a number";
        return ERR_INVALID;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end == tmp || errno || !isfinite(v)) {
        *why = "expected a number";
        return ERR_INVALID;
    }
    const char *u = end;
    const struct metric_def *md = &metric_defs[m];
    bool time = md->flags & MF_TIME;
    bool sec = time && strcmp(md->unit, "sec") == 0;
    if (*u == '\0') {
        *out = v;
        return 0;
    }
    if (strcmp(u, "%") == 0) {
        *out = v / 100.0;
        return 0;
    }
    static const struct {
        const char *u;
        double ms;
    } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"ms", 1.0}, {"s", 1e3}, {"sec", 1e3}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(u, units[i].u) == 0) {
            if (!time) {
                *why = "a time unit on a metric that is not a duration";
                return ERR_INVALID;
            }
            *out = sec ? v * units[i].ms / 1e3 : v * units[i].ms;
            return 0;
        }
    }
    *why = "unknown unit (use ns, us, ms, s or %)";
    return ERR_INVALID;
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && isspace((unsigned char)**b))
        (*b)++;
    while (*e > *b && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

int verdict_parse_goodput(struct verdict_spec *v, const char *s, struct diag *d)
{
    const char *p = s;
    while (*p) {
        while (*p && (isspace((unsigned char)*p) || *p == ','))
            p++;
        if (!*p)
            break;
        const char *b = p;
        while (*p && !isspace((unsigned char)*p) && *p != ',')
            p++;
        const char *colon = memchr(b, ':', (size_t)(p - b));
        if (!colon)
            return diag_set(d, ERR_INVALID, "--goodput '%.*s': expected METRIC:VALUE", (int)(p - b),
                            b);
        int m = metric_find(b, (size_t)(colon - b));
        if (m < 0 || m >= M_NRECORD || m == M_ICL)
            return diag_set(d, ERR_INVALID, "--goodput '%.*s': unknown per-request metric '%.*s'",
                            (int)(p - b), b, (int)(colon - b), b);
        /* no per-request value: AIPerf 0.13 derives them after aggregation */
        if (m == M_NET_RTT || metric_network_source(m) >= 0)
            return diag_set(d, ERR_INVALID,
                            "--goodput '%.*s': %.*s is computed over the whole run, not per "
                            "request",
                            (int)(p - b), b, (int)(colon - b), b);
        const char *why = NULL;
        double lim;
        if (parse_value(colon + 1, (size_t)(p - colon - 1), m, &lim, &why))
            return diag_set(d, ERR_INVALID, "--goodput '%.*s': %s", (int)(p - b), b, why);
        if (v->nslo >= VERDICT_MAX)
            return diag_set(d, ERR_INVALID, "--goodput: more than %d SLOs", VERDICT_MAX);
        v->slo[v->nslo].metric = m;
        v->slo[v->nslo].limit = lim;
        v->nslo++;
    }
    if (v->nslo == 0)
        return diag_set(d, ERR_INVALID, "--goodput: no SLO given (METRIC:VALUE ...)");
    return 0;
}

int verdict_parse_fail_on(struct verdict_spec *v, const char *s, struct diag *d)
{
    const char *p = s;
    size_t before = v->nrule;
    while (*p) {
        const char *b = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        if (*p)
            p++;
        trim(&b, &e);
        if (b == e)
            continue;
        int len = (int)(e - b);
        /* Find the operator. */
        const char *op = b;
        while (op < e && !strchr("<>=!", *op))
            op++;
        if (op == e)
            return diag_set(d, ERR_INVALID,
                            "--fail-on '%.*s': expected METRIC[.STAT]OP VALUE (OP one of > >= < "
                            "<= == !=)",
                            len, b);
        enum verdict_op o;
        size_t oplen = 1;
        if (op + 1 < e && op[1] == '=') {
            oplen = 2;
            o = op[0] == '>' ? VO_GE : op[0] == '<' ? VO_LE : op[0] == '=' ? VO_EQ : VO_NE;
        } else if (op[0] == '>') {
            o = VO_GT;
        } else if (op[0] == '<') {
            o = VO_LT;
        } else {
            return diag_set(d, ERR_INVALID, "--fail-on '%.*s': unknown operator", len, b);
        }
        const char *nb = b, *ne = op;
        trim(&nb, &ne);
        const char *dot = memchr(nb, '.', (size_t)(ne - nb));
        const char *mend = dot ? dot : ne;
        int m = metric_find(nb, (size_t)(mend - nb));
        if (m < 0)
            return diag_set(d, ERR_INVALID, "--fail-on '%.*s': unknown metric '%.*s'", len, b,
                            (int)(mend - nb), nb);
        enum verdict_stat st = VS_AVG;
        if (dot) {
            size_t sn = (size_t)(ne - dot - 1);
            int found = -1;
            for (int i = 0; i <= VS_LAST; i++)
                if (strlen(stat_names[i]) == sn && memcmp(stat_names[i], dot + 1, sn) == 0)
                    found = i;
            if (found < 0)
                return diag_set(d, ERR_INVALID,
                                "--fail-on '%.*s': unknown statistic '%.*s' (avg min max std count "
                                "sum p1 p5 p10 p25 p50 p75 p90 p95 p99)",
                                len, b, (int)sn, dot + 1);
            if (m >= M_NRECORD && found != VS_AVG)
                return diag_set(d, ERR_INVALID,
                                "--fail-on '%.*s': '%s' is a single value; only .avg applies", len,
                                b, metric_defs[m].tag);
            st = (enum verdict_stat)found;
        }
        const char *vb = op + oplen, *ve = e;
        trim(&vb, &ve);
        const char *why = NULL;
        double val;
        if (parse_value(vb, (size_t)(ve - vb), m, &val, &why))
            return diag_set(d, ERR_INVALID, "--fail-on '%.*s': %s", len, b, why);
        if (st == VS_COUNT)
            val = strtod(vb, NULL);
        if (v->nrule >= VERDICT_MAX)
            return diag_set(d, ERR_INVALID, "--fail-on: more than %d rules", VERDICT_MAX);
        struct rule *r = &v->rule[v->nrule++];
        r->metric = m;
        r->stat = st;
        r->op = o;
        r->value = val;
        snprintf(r->text, sizeof r->text, "%.*s", len, b);
    }
    if (v->nrule == before)
        return diag_set(d, ERR_INVALID, "--fail-on: no rule given");
    return 0;
}

bool verdict_rule_fires(const struct rule *r, double x)
{
    switch (r->op) {
    case VO_GT:
        return x > r->value;
    case VO_GE:
        return x >= r->value;
    case VO_LT:
        return x < r->value;
    case VO_LE:
        return x <= r->value;
    case VO_EQ:
        return x == r->value;
    case VO_NE:
        return x != r->value;
    }
    return false;
}
