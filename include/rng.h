/*
 * rng: a small deterministic PRNG (xoshiro256**, seeded through splitmix64) and the
 * distributions metronome samples from. The same seed gives the same sequence on every
 * host and architecture, which is what makes `pack` reproducible. Each struct rng is
 * owned by one thread; derive independent streams with rng_derive.
 */
#ifndef METRONOME_RNG_H
#define METRONOME_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
/* A new stream for a purpose named by `tag`, independent of r's position. */
void rng_derive(struct rng *out, uint64_t seed, const char *tag);
uint64_t rng_u64(struct rng *r);
/* Uniform in [0, 1). */
double rng_uniform(struct rng *r);
/* Uniform integer in [0, n); n > 0. Unbiased (rejection). */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Normal(mean, stddev); stddev <= 0 returns mean. */
double rng_normal(struct rng *r, double mean, double stddev);
/* Exponential with the given mean (> 0). */
double rng_exponential(struct rng *r, double mean);
/* Gamma(shape k > 0, scale theta > 0): mean k*theta. */
double rng_gamma(struct rng *r, double shape, double scale);
/* A normal sample rounded to an integer and clamped to >= min. */
long rng_normal_int(struct rng *r, double mean, double stddev, long min);

#endif
