/*
 * Sweeps and repeated runs of `metronome profile` (docs/cli-profile.md, *Sweeps and
 * repeated runs*), with AIPerf 0.13's semantics and artifact layout, and the aggregate
 * files over them (docs/records-format.md, *Sweeps*).
 *
 * sweep_cfg_parse reads the sweep lists and the multi-run options from profile's merged
 * argv; the driver (cmd_profile.c) runs one ordinary profile run per (point, trial) with
 * the point's values appended to that argv (the last value of an option wins), keeping
 * the manifest metronome_sweep.json up to date; sweep_finalize then writes AIPerf's
 * aggregate files and sweep_summary.json/.csv from the manifest. `metronome report` on a
 * sweep base calls sweep_finalize on the manifest it finds.
 *
 * Ownership: a sweep_cfg owns its strings and arrays (sweep_cfg_free). cJSON trees passed
 * in stay the caller's.
 */
#ifndef METRONOME_PROFILE_SWEEP_H
#define METRONOME_PROFILE_SWEEP_H

#include "err.h"
#include "profile.h"

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

/* Student-t: the quantile q with P(T <= q) = p for df degrees of freedom (df > 0,
 * 0 < p < 1), through the regularized incomplete beta function; about 1e-15 relative.
 * NaN for arguments outside those ranges. */
double tdist_quantile(double p, double df);
/* P(T <= t). */
double tdist_cdf(double t, double df);
/* The regularized incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1. */
double tdist_betainc(double x, double a, double b);
/* Two-sided two-sample Kolmogorov-Smirnov test of a[0..na) against b[0..nb) (AIPerf's
 * distribution convergence: scipy.stats.ks_2samp, method "auto"): the p-value, *stat the
 * statistic D. Exact when neither sample exceeds 10,000 values, else asymptotic
 * (docs/cli-profile.md, *Convergence*). Sorts a and b. NaN when either is empty. */
double ks_2samp_pvalue(double *a, size_t na, double *b, size_t nb, double *stat);

#define SWEEP_MAX_DIMS   7
#define SWEEP_MAX_VALUES 256
#define SWEEP_MAX_POINTS 4096
#define SWEEP_MAX_TRIALS 10

struct sweep_dim {
    int opt;             /* index into profile_opts */
    char option[64];     /* as the user typed it, for messages: "--isl" */
    char canon[64];      /* the canonical name, for the runs' argv: "--prompt-input-tokens-mean" */
    const char *path;    /* AIPerf's config path, e.g. "phases.profiling.concurrency" */
    const char *leaf;    /* its last segment, e.g. "concurrency" */
    const char *display; /* leaf, or path when two dimensions share a leaf (AIPerf) */
    bool is_float;       /* printed as a Python float ("10.0") */
    size_t n;
    double v[SWEEP_MAX_VALUES];
    char text[SWEEP_MAX_VALUES][40]; /* the value as AIPerf prints it */
};

enum sweep_conv { SWEEP_CONV_NONE, SWEEP_CONV_CI_WIDTH, SWEEP_CONV_CV, SWEEP_CONV_DISTRIBUTION };

struct sweep_cfg {
    size_t ndims;
    struct sweep_dim dims[SWEEP_MAX_DIMS]; /* in AIPerf's order (by path) */
    size_t npoints;
    size_t *idx; /* npoints x ndims value indices, run order */
    bool zip;
    int trials;       /* --num-profile-runs */
    bool independent; /* --parameter-sweep-mode independent */
    double trial_cooldown, sweep_cooldown;
    bool same_seed, consistent_seed, warmup_after_first_off;
    bool vary_seed; /* --vary-seed-per-trial: a seed per (point, trial), AIPerf's SHA-256 */
    bool has_seed;
    long long seed;
    double confidence;
    char *conv_metric; /* NULL: no convergence */
    char conv_stat[8];
    enum sweep_conv conv_mode;
    double conv_threshold;
    struct cJSON *recipe; /* --search-recipe's post-process spec (recipe.c), or NULL */
    /* --variant (AIPerf's ScenarioSweep): nscen > 0 makes each point a scenario, with no
     * dimensions; a scenario's options are appended to its runs' argv. */
    size_t nscen;
    struct sweep_scen *scen;
};

struct sweep_scen {
    char dir[128];   /* the variant's name, sanitized as AIPerf's dir_name; "v<i>" unnamed */
    char label[128]; /* the name as given ("v<i>" unnamed) */
    char *params;    /* JSON object text of the overrides, the aggregate's "benchmark" value */
    int argc;
    char **argv; /* "--option" [value] ... (owned) */
};

/* Parses argv (profile's merged argv: the --config file's options first). Returns 0 (and
 * a config that may hold no sweep: sweep_cfg_active), or ERR_INVALID / ERR_UNSUPPORTED
 * with d set (exit 2). */
int sweep_cfg_parse(struct sweep_cfg *s, int argc, char **argv, struct diag *d);
void sweep_cfg_free(struct sweep_cfg *s);
/* More than one run, or a sweep list: the sweep driver runs. */
bool sweep_cfg_active(const struct sweep_cfg *s);
/* AIPerf's variation dir_name ("concurrency_4", "mean_128__mean_64"); "" without a sweep. */
void sweep_point_dir(const struct sweep_cfg *s, size_t point, char *out, size_t cap);
/* "concurrency=4, rate=10.0" (display names). */
void sweep_point_label(const struct sweep_cfg *s, size_t point, char *out, size_t cap);
/* AIPerf's variation label: "phases.profiling.concurrency=4" (paths, ", " joined). */
void sweep_point_vlabel(const struct sweep_cfg *s, size_t point, char *out, size_t cap);
/* A run's directory relative to the base, by AIPerf's layout table (trial 0-based). */
void sweep_run_dir(const struct sweep_cfg *s, size_t point, int trial, char *out, size_t cap);

/* The manifest (metronome_sweep.json) for s, every run "not_run". Caller owns it. */
struct cJSON *sweep_manifest_new(const struct sweep_cfg *s, const char *model);
/* Writes base/metronome_sweep.json atomically. */
int sweep_manifest_write(const char *base, const struct cJSON *m, struct diag *d);
/* Reads and checks base/metronome_sweep.json. */
int sweep_manifest_read(const char *base, struct cJSON **out, struct diag *d);

/* Whether the point's successful trials (status "ok" in the manifest) have converged
 * by s's criterion (AIPerf's CIWidthConvergence / CVConvergence, min_runs 2). */
bool sweep_point_converged(const struct sweep_cfg *s, const char *base, const struct cJSON *point);

/* From the manifest: AIPerf's aggregate files (per point; the sweep aggregate when there
 * is a sweep) under base, and sweep_summary.json/.csv in outdir (base when NULL). A point
 * or run whose files are gone is reported (status "missing", a note), not an error. */
/* The --profile-export-prefix base the runs' exports were written under (NULL: the
 * default names), for the aggregation that reads them. */
void sweep_export_prefix(const char *base);
int sweep_finalize(const char *base, const struct cJSON *manifest, const char *outdir,
                   struct diag *d);

/* sweep_summary.json/.csv in outdir over several run directories, one point per run
 * (labels: the directory names). Different export schema versions are an error. */
int sweep_summary_runs(int n, char **dirs, const char *outdir, double confidence, struct diag *d);

/* AIPerf's search recipes (recipe.c). `lo`..`hi` (lo < hi) in `steps` (>= 2) log-spaced
 * integers, rounded half to even, duplicates dropped, ascending (AIPerf's
 * _logspace_int_steps); returns how many (at most cap) were written to out. */
size_t recipe_logspace(long lo, long hi, int steps, long *out, size_t cap);
struct args;
/* One axis of a recipe's grid: the metronome option each run gets, AIPerf's sweep path,
 * the values. */
struct recipe_dim {
    const char *opt;  /* canonical profile option, e.g. "concurrency" */
    const char *path; /* e.g. "phases.profiling.concurrency" */
    size_t n;
    long v[SWEEP_MAX_VALUES];
};
#define RECIPE_MAX_DIMS 3
/* Checks the recipe options in a; with --search-recipe, *spec (caller owns) is the
 * post-process spec and dims[0..*ndims) (cap RECIPE_MAX_DIMS, sorted by path as AIPerf's
 * grid sorts them) the sweep: their grid, or, when the spec has "points" (pareto-sweep's
 * scenarios), those [v0, v1, ...] value tuples in run order. ERR_INVALID / ERR_UNSUPPORTED with d
 * set. */
int recipe_parse(const struct args *a, struct cJSON **spec, struct recipe_dim *dims, size_t *ndims,
                 struct diag *d);
/* Runs the spec's handler (degradation_knee_detect, sla_breach_knee, ttft_curve_fit,
 * itl_surface_fit) on the sweep
 * aggregate's per_combination_metrics; *out (caller owns) is the artifact's JSON. */
int recipe_post_process(const struct cJSON *spec, const struct cJSON *per_combination,
                        struct cJSON **out, struct diag *d);

/* Whether a per-combination row's metrics pass one SLA filter {metric_tag, stat, op,
 * threshold} (AIPerf's passes_filter: a missing metric fails). */
bool recipe_sla_pass(const struct cJSON *metrics, const struct cJSON *filter);

/* v as Python's repr prints a float ("10.0", "2.5"). */
void sweep_py_float(double v, char *out, size_t cap);

/* One (metric, stat) across runs, AIPerf's ConfidenceAggregation. */
struct agg_stat {
    int n;
    double mean, std, min, max, cv, se, ci_low, ci_high, t_critical;
    bool cv_finite; /* false when the mean is 0 (AIPerf: inf, scrubbed to null) */
};
/* Fills o from values[0..n) (n >= 1) at the confidence level. */
void agg_compute(const double *values, int n, double confidence, struct agg_stat *o);

#endif
