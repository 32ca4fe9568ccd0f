/*
 * seqdist: AIPerf 0.13's per-turn (ISL, OSL) samplers for synthetic prompts.
 *
 * --seq-dist / --sequence-distribution: weighted (ISL, OSL) pairs, each with an optional
 * standard deviation, in AIPerf's three spellings:
 *   semicolon  "128,64:25;512|20,128|5:75"
 *   bracket    "[(128,64):25,(512|20,128|5):75]"
 *   JSON       {"pairs":[{"isl":128,"osl":64,"prob":25,"isl_stddev":0,"osl_stddev":0}]}
 * Probabilities are percentages summing to 100 (within 1e-6). A pair is picked by one
 * uniform draw against the cumulative sums (the first whose sum exceeds it); a pair with
 * a stddev draws its length from a normal truncated at 0 and rounded up.
 *
 * --random-range-ratio R (or {"input":R,"output":R}): ISL and OSL drawn independently and
 * uniformly from an integer window around --isl / --osl: vllm style
 * [floor(m(1-r)), ceil(m(1+r))] (OSL at least 1), sglang style [max(1, int(m r)), m].
 *
 * Errors name the option and the value: "--seq-dist '128,64:50': probabilities sum to
 * 50, not 100". Parsing allocates nothing; a seqdist is plain data.
 */
#ifndef METRONOME_SEQDIST_H
#define METRONOME_SEQDIST_H

#include "err.h"
#include "rng.h"

#include <stdbool.h>

#define SEQDIST_MAX_PAIRS 256

struct seq_pair {
    long isl, osl;
    double isl_sd, osl_sd;
    double prob; /* percent */
};

struct seqdist {
    int npairs; /* 0: a range window instead (range = true) */
    struct seq_pair pairs[SEQDIST_MAX_PAIRS];
    double cum[SEQDIST_MAX_PAIRS]; /* cumulative fractions */
    bool range;
    long in_lo, in_hi, out_lo, out_hi;
};

/* Parses a --seq-dist value (opt names the option as typed, for errors). */
int seqdist_parse(struct seqdist *s, const char *opt, const char *v, struct diag *d);
/* A --random-range-ratio window around isl and osl (both >= 1); style "vllm" or
 * "sglang" (which takes only one plain number). */
int seqdist_range(struct seqdist *s, const char *v, const char *style, long isl, long osl,
                  struct diag *d);
/* One (ISL, OSL) draw. */
void seqdist_sample(const struct seqdist *s, struct rng *r, long *isl, long *osl);

#endif
