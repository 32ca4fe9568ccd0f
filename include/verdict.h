/*
 * verdict: the rules a report is judged by, given at report time.
 *   --goodput "time_to_first_token:200 inter_token_latency:20"  (DistServe SLOs: a request
 *     is good when it meets every one; values in the metric's display unit, or with an
 *     explicit unit suffix: 200ms, 0.2s)
 *   --fail-on "time_to_first_token.p99>250ms,error_rate>0.01,request_throughput.avg<10"
 *     (a rule FAILS the run when its comparison is true)
 * Parsing is pure and reports a malformed rule as ERR_INVALID with a diag naming it, which
 * the CLI turns into exit 2. No I/O, no globals.
 */
#ifndef METRONOME_VERDICT_H
#define METRONOME_VERDICT_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

#define VERDICT_MAX 32

enum verdict_stat {
    VS_AVG,
    VS_MIN,
    VS_MAX,
    VS_STD,
    VS_COUNT,
    VS_SUM,
    VS_P1, /* then p5 .. p99 in stats_pct_q order */
    VS_LAST = VS_P1 + 8,
};

enum verdict_op { VO_GT, VO_GE, VO_LT, VO_LE, VO_EQ, VO_NE };

struct slo {
    int metric;   /* enum metric_id */
    double limit; /* in the metric's display unit */
};

struct rule {
    int metric; /* enum metric_id */
    enum verdict_stat stat;
    enum verdict_op op;
    double value;  /* in the metric's display unit */
    char text[96]; /* the rule as written, for messages */
};

struct verdict_spec {
    struct slo slo[VERDICT_MAX];
    size_t nslo;
    struct rule rule[VERDICT_MAX];
    size_t nrule;
};

/* Parses --goodput; appends to v->slo. */
int verdict_parse_goodput(struct verdict_spec *v, const char *s, struct diag *d);
/* Parses --fail-on; appends to v->rule. */
int verdict_parse_fail_on(struct verdict_spec *v, const char *s, struct diag *d);
/* True when the comparison `x OP value` holds (the rule is violated). */
bool verdict_rule_fires(const struct rule *r, double x);
const char *verdict_op_str(enum verdict_op op);
const char *verdict_stat_str(enum verdict_stat s);

#endif
