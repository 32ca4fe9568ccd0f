/* Sweeps and repeated runs: Student-t quantiles, list parsing, AIPerf's point names. */
#include "profile_sweep.h"
#include "test.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Student-t CDF for an integer df by the closed forms (Abramowitz & Stegun 26.7.3/4),
 * independent of the incomplete beta function the code uses. */
static double ref_cdf(double t, int df)
{
    double th = atan(t / sqrt((double)df));
    double c2 = cos(th) * cos(th), s = sin(th);
    double a;
    if (df % 2) {
        double sum = 0, term = 1;
        for (int k = 0; k <= (df - 3) / 2 && df >= 3; k++) {
            if (k > 0)
                term *= c2 * (2.0 * k) / (2.0 * k + 1);
            sum += term;
        }
        a = (2 / M_PI) * (th + (df >= 3 ? s * cos(th) * sum : 0));
    } else {
        double sum = 0, term = 1;
        for (int k = 0; k <= (df - 2) / 2; k++) {
            if (k > 0)
                term *= c2 * (2.0 * k - 1) / (2.0 * k);
            sum += term;
        }
        a = s * sum;
    }
    return 0.5 + 0.5 * a; /* a = A(t|df) = P(|T| < t) with sign */
}

static double ref_quantile(double p, int df)
{
    double lo = 0, hi = 1;
    while (ref_cdf(hi, df) < p)
        hi *= 2;
    for (int i = 0; i < 300; i++) {
        double mid = 0.5 * (lo + hi);
        if (ref_cdf(mid, df) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

TEST(sweep_tdist_against_closed_form)
{
    static const double levels[] = {0.5, 0.8, 0.9, 0.95, 0.98, 0.99};
    for (int df = 1; df <= 40; df++)
        for (size_t k = 0; k < sizeof levels / sizeof levels[0]; k++) {
            double p = 1 - (1 - levels[k]) / 2;
            double got = tdist_quantile(p, df), want = ref_quantile(p, df);
            if (!(fabs(got - want) <= 1e-11 * want))
                test_fail(__FILE__, __LINE__, "df %d level %g: %.17g, closed form %.17g", df,
                          levels[k], got, want);
            /* symmetric */
            CHECK(fabs(tdist_quantile(1 - p, df) + got) <= 1e-12 * got);
        }
}

TEST(sweep_tdist_known_values)
{
    /* scipy.stats.t.ppf(1 - (1 - L) / 2, df), scipy 1.x, printed with repr */
    static const struct {
        int df;
        double level, q;
    } v[] = {
        {1, 0.95, 12.706204736174694},  {2, 0.95, 4.302652729749462}, {4, 0.95, 2.7764451051977934},
        {4, 0.99, 4.604094871349992},   {9, 0.90, 1.833112932656237}, {29, 0.95, 2.045229642132703},
        {3, 0.999, 12.923978636687961},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        double got = tdist_quantile(1 - (1 - v[i].level) / 2, v[i].df);
        if (!(fabs(got - v[i].q) <= 1e-12 * v[i].q))
            test_fail(__FILE__, __LINE__, "df %d level %g: %.17g, scipy %.17g", v[i].df, v[i].level,
                      got, v[i].q);
    }
    CHECK(isnan(tdist_quantile(0, 3)));
    CHECK(isnan(tdist_quantile(1, 3)));
    CHECK(isnan(tdist_quantile(0.9, 0)));
    CHECK(tdist_quantile(0.5, 7) == 0);
}

TEST(sweep_agg_compute)
{
    const double x[] = {10, 12, 11, 13, 9};
    struct agg_stat s;
    agg_compute(x, 5, 0.95, &s);
    CHECK(fabs(s.mean - 11) < 1e-12);
    CHECK(fabs(s.std - sqrt(2.5)) < 1e-12);
    CHECK(fabs(s.se - sqrt(2.5) / sqrt(5)) < 1e-12);
    CHECK(fabs(s.ci_high - (11 + 2.7764451051977934 * sqrt(0.5))) < 1e-11);
    CHECK(fabs(s.cv - sqrt(2.5) / 11) < 1e-12);
    agg_compute(x, 1, 0.95, &s);
    CHECK(s.ci_low == 10 && s.ci_high == 10 && s.std == 0 && isnan(s.t_critical));
    const double z[] = {-1, 1};
    agg_compute(z, 2, 0.95, &s);
    CHECK(!s.cv_finite);
}

static int parse(struct sweep_cfg *s, const char *const *args, int n, struct diag *d)
{
    return sweep_cfg_parse(s, n, (char **)args, d);
}

TEST(sweep_point_names_as_aiperf)
{
    struct sweep_cfg s;
    struct diag d = {0};
    const char *a1[] = {"-m", "x", "--concurrency", "1,2,4"};
    REQUIRE(parse(&s, a1, 4, &d) == 0);
    CHECK(sweep_cfg_active(&s));
    CHECK_INT(s.npoints, 3);
    char b[512];
    sweep_point_dir(&s, 2, b, sizeof b);
    CHECK_STR(b, "concurrency_4");
    sweep_run_dir(&s, 0, 0, b, sizeof b);
    CHECK_STR(b, "concurrency_1");
    sweep_cfg_free(&s);

    /* AIPerf's grid: dimensions sorted by config path, the last fastest; floats as Python
     * prints them (checked against AIPerf 0.13.0: mean_16__mean_8__rate_100.0) */
    const char *a2[] = {"--request-rate", "100,200.5", "--osl", "8,16", "--isl", "16,32"};
    REQUIRE(parse(&s, a2, 6, &d) == 0);
    CHECK_INT(s.npoints, 8);
    sweep_point_dir(&s, 0, b, sizeof b);
    CHECK_STR(b, "mean_16__mean_8__rate_100.0");
    sweep_point_dir(&s, 1, b, sizeof b);
    CHECK_STR(b, "mean_16__mean_8__rate_200.5");
    sweep_point_dir(&s, 7, b, sizeof b);
    CHECK_STR(b, "mean_32__mean_16__rate_200.5");
    CHECK_STR(s.dims[0].display, "datasets.main.prompts.isl.mean");
    CHECK_STR(s.dims[2].display, "rate");
    sweep_point_label(&s, 0, b, sizeof b);
    CHECK_STR(b, "datasets.main.prompts.isl.mean=16, datasets.main.prompts.osl.mean=8, rate=100.0");
    sweep_cfg_free(&s);

    /* repeated runs: layout table of AIPerf's _resolve_artifact_dir */
    const char *a3[] = {"--concurrency", "1,2", "--num-profile-runs", "3"};
    REQUIRE(parse(&s, a3, 4, &d) == 0);
    sweep_run_dir(&s, 1, 2, b, sizeof b);
    CHECK_STR(b, "profile_runs/trial_0003/concurrency_2");
    s.independent = true;
    sweep_run_dir(&s, 1, 0, b, sizeof b);
    CHECK_STR(b, "concurrency_2/profile_runs/trial_0001");
    sweep_cfg_free(&s);
    const char *a4[] = {"--num-profile-runs", "2",   "--request-count",     "5,7",
                        "--sweep-type",       "zip", "--num-conversations", "3,4"};
    REQUIRE(parse(&s, a4, 8, &d) == 0);
    CHECK_INT(s.npoints, 2);
    sweep_point_dir(&s, 1, b, sizeof b);
    CHECK_STR(b, "requests_7__sessions_4");
    sweep_cfg_free(&s);
    const char *a5[] = {"--num-profile-runs", "4"};
    REQUIRE(parse(&s, a5, 2, &d) == 0);
    sweep_run_dir(&s, 0, 3, b, sizeof b);
    CHECK_STR(b, "profile_runs/run_0004");
    sweep_cfg_free(&s);
}

TEST(sweep_bad_lists_name_value_and_position)
{
    static const struct {
        const char *args[6];
        int n;
        const char *msg;
    } cases[] = {
        {{"--concurrency", "1,2,x"},
         2,
         "--concurrency: value 'x' (item 3 of '1,2,x'): not a positive integer"},
        {{"--isl", "128,,512"}, 2, "--isl: empty item 2 of '128,,512'"},
        {{"--concurrency", "1,0"},
         2,
         "--concurrency: value '0' (item 2 of '1,0'): not a positive integer"},
        {{"--request-rate", "5,-1"},
         2,
         "--request-rate: value '-1' (item 2 of '5,-1'): not a positive number"},
        {{"--concurrency", "2,4,2"},
         2,
         "--concurrency: value '2' (item 3 of '2,4,2') repeats item 1"},
        {{"--num-profile-runs", "11"}, 2, NULL},
        {{"--confidence-level", "1"}, 2, NULL},
        {{"--convergence-metric", "time_to_first_token"},
         2,
         "--convergence-metric requires --num-profile-runs > 1"},
        {{"--num-profile-runs", "3", "--convergence-mode", "distribution", "--export-level",
          "summary"},
         6,
         "--convergence-mode distribution needs the per-request records (profile_export.jsonl): "
         "not with --export-level summary"},
        {{"--num-profile-runs", "3", "--convergence-mode", "bogus"},
         4,
         "--convergence-mode: 'bogus' is not one of ci-width, cv, distribution"},
        {{"--concurrency", "1,2", "--isl", "3,4,5"}, 4, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sweep_cfg s;
        struct diag d = {0};
        const char *args[8];
        int n = cases[i].n;
        for (int k = 0; k < n; k++)
            args[k] = cases[i].args[k];
        if (i == sizeof cases / sizeof cases[0] - 1) {
            args[n++] = "--sweep-type";
            args[n++] = "zip";
        }
        int rc = parse(&s, args, n, &d);
        if (rc == 0) {
            test_fail(__FILE__, __LINE__, "case %zu accepted", i);
            sweep_cfg_free(&s);
            continue;
        }
        if (cases[i].msg && strcmp(d.msg, cases[i].msg))
            test_fail(__FILE__, __LINE__, "case %zu: '%s'", i, d.msg);
    }
}

/* --convergence-mode distribution's test against scipy.stats.ks_2samp (scipy 1.17.1 in
 * AIPerf 0.13's environment, method "auto"): exact below 10,000 values a side (equal and
 * unequal sizes, heavy ties), asymptotic above. Samples from an LCG both sides share. */
static void ks_lcg(unsigned seed, size_t n, int mod, int shift, double *out)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        out[i] = (double)((int)((seed >> 16) & 0x7fff) % mod + shift);
    }
}

TEST(sweep_ks_2samp_matches_scipy)
{
    static const struct {
        unsigned sa;
        size_t na;
        unsigned sb;
        size_t nb;
        int ma, ha, mb, hb;
        double stat, p;
        double tol; /* relative, on p */
    } c[] = {
        {1, 20, 2, 20, 1000, 0, 1000, 0, 0.35, 0.17453300569806826, 1e-9},
        {3, 30, 4, 45, 1000, 0, 1000, 100, 0.14444444444444443, 0.8136551846350775, 1e-9},
        {5, 50, 6, 40, 7, 0, 7, 1, 0.305, 0.0256282198634028, 1e-9},
        {7, 200, 8, 300, 10000, 0, 10000, 300, 0.09166666666666666, 0.25476533491263975, 1e-9},
        /* asymptotic: scipy's kstwo at round(n1 n2 / (n1 + n2)); ours the limiting form
         * with Stephens' correction */
        {9, 12000, 10, 3000, 30000, 0, 30000, 200, 0.01766666666666672, 0.4371165088437876, 1e-2},
        {11, 12000, 12, 11000, 30000, 0, 30000, 0, 0.016568181818181815, 0.0846856303107032, 1e-2},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        double *a = xmalloc(c[k].na * sizeof *a), *b = xmalloc(c[k].nb * sizeof *b);
        ks_lcg(c[k].sa, c[k].na, c[k].ma, c[k].ha, a);
        ks_lcg(c[k].sb, c[k].nb, c[k].mb, c[k].hb, b);
        double d, p = ks_2samp_pvalue(a, c[k].na, b, c[k].nb, &d);
        CHECK(fabs(d - c[k].stat) <= 1e-12);
        CHECK(fabs(p - c[k].p) <= c[k].tol * c[k].p);
        if (!(fabs(p - c[k].p) <= c[k].tol * c[k].p))
            fprintf(stderr, "case %zu: p %.17g, scipy %.17g\n", k, p, c[k].p);
        free(a);
        free(b);
    }
    double one = 1, d;
    CHECK(isnan(ks_2samp_pvalue(&one, 1, NULL, 0, &d)));
    double x[3] = {1, 2, 3}, y[3] = {3, 2, 1};
    CHECK(ks_2samp_pvalue(x, 3, y, 3, &d) == 1.0 && d == 0);
}
