/*
 * Student-t quantiles for the confidence intervals of repeated runs (AIPerf computes
 * them with scipy.stats.t.ppf; we need the same numbers without Python).
 *
 * P(T <= t) for t > 0 is 1 - I_x(df/2, 1/2) / 2 with x = df / (df + t^2), I the
 * regularized incomplete beta function, evaluated by its continued fraction (modified
 * Lentz) on the side where it converges fast. The quantile is found on the tail
 * probability itself (not 1 - p, which would lose digits), by bisection on a bracket
 * that is then polished with Newton steps.
 */
#include "profile_sweep.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* The continued fraction of I_x(a, b) / (x^a (1-x)^b / (a B(a, b))); converges quickly
 * for x < (a + 1) / (a + b + 2). */
static double betacf(double x, double a, double b)
{
    const double tiny = 1e-300;
    double c = 1.0;
    double dd = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(dd) < tiny)
        dd = tiny;
    dd = 1.0 / dd;
    double f = dd;
    for (int m = 1; m <= 10000; m++) {
        double m2 = 2.0 * m;
        /* even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)) */
        double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        dd = 1.0 + num * dd;
        if (fabs(dd) < tiny)
            dd = tiny;
        c = 1.0 + num / c;
        if (fabs(c) < tiny)
            c = tiny;
        dd = 1.0 / dd;
        f *= dd * c;
        /* odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)) */
        num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        dd = 1.0 + num * dd;
        if (fabs(dd) < tiny)
            dd = tiny;
        c = 1.0 + num / c;
        if (fabs(c) < tiny)
            c = tiny;
        dd = 1.0 / dd;
        double delta = dd * c;
        f *= delta;
        if (fabs(delta - 1.0) < 1e-16)
            break;
    }
    return f;
}

double tdist_betainc(double x, double a, double b)
{
    if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1))
        return NAN;
    if (x == 0 || x == 1)
        return x;
    double lfront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1.0) / (a + b + 2.0))
        return exp(lfront) * betacf(x, a, b) / a;
    return 1.0 - exp(lfront) * betacf(1.0 - x, b, a) / b;
}

/* P(T > t) for t >= 0, computed directly (no 1 - small). */
static double upper_tail(double t, double df)
{
    double x = df / (df + t * t);
    return 0.5 * tdist_betainc(x, df / 2.0, 0.5);
}

double tdist_cdf(double t, double df)
{
    if (!(df > 0) || isnan(t))
        return NAN;
    if (t >= 0)
        return 1.0 - upper_tail(t, df);
    return upper_tail(-t, df);
}

static double tdist_pdf(double t, double df)
{
    double l = lgamma((df + 1.0) / 2.0) - lgamma(df / 2.0) - 0.5 * log(df * M_PI) -
               (df + 1.0) / 2.0 * log1p(t * t / df);
    return exp(l);
}

double tdist_quantile(double p, double df)
{
    if (!(df > 0) || !(p > 0) || !(p < 1))
        return NAN;
    if (p == 0.5)
        return 0.0;
    /* Solve upper_tail(t) = q for t > 0, q the smaller tail; the sign comes from p. */
    double q = p > 0.5 ? 1.0 - p : p;
    double sign = p > 0.5 ? 1.0 : -1.0;
    double lo = 0.0, hi = 1.0;
    while (upper_tail(hi, df) > q && hi < 1e300)
        hi *= 2.0;
    for (int i = 0; i < 2000 && hi - lo > 4 * DBL_EPSILON * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (upper_tail(mid, df) > q)
            lo = mid;
        else
            hi = mid;
    }
    double t = 0.5 * (lo + hi);
    /* Newton on the tail: d/dt upper_tail = -pdf; kept inside the bracket. */
    for (int i = 0; i < 3; i++) {
        double pdf = tdist_pdf(t, df);
        if (!(pdf > 0))
            break;
        double nt = t + (upper_tail(t, df) - q) / pdf;
        if (!(nt >= lo && nt <= hi))
            break;
        t = nt;
    }
    return sign * t;
}

/* ---- two-sample Kolmogorov-Smirnov test (--convergence-mode distribution) ---- */

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* P(K > lambda) for the limiting Kolmogorov distribution: the alternating series for
 * large lambda, the theta-function form for small lambda (where the first converges
 * slowly). */
static double kolmogorov_sf(double lambda)
{
    if (!(lambda > 0))
        return 1.0;
    if (lambda < 1.0) {
        double s = 0, l2 = lambda * lambda;
        for (int k = 1; k < 60; k += 2)
            s += exp(-(double)k * k * M_PI * M_PI / (8 * l2));
        double cdf = sqrt(2 * M_PI) / lambda * s;
        return cdf >= 1 ? 0 : 1 - cdf;
    }
    double s = 0;
    for (int k = 1; k < 100; k++) {
        double t = exp(-2.0 * k * k * lambda * lambda);
        s += (k & 1 ? 2 : -2) * t;
        if (t < 1e-300)
            break;
    }
    return s < 0 ? 0 : s > 1 ? 1 : s;
}

double ks_2samp_pvalue(double *a, size_t na, double *b, size_t nb, double *stat)
{
    *stat = NAN;
    if (!na || !nb)
        return NAN;
    qsort(a, na, sizeof *a, cmp_double);
    qsort(b, nb, sizeof *b, cmp_double);
    /* D = max |F_a(x) - F_b(x)| over every value (right-continuous ECDFs, so ties count
     * whole), kept as the integer |i nb - j na| = D na nb: the band below is then exact */
    int64_t num = 0;
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        double x = j >= nb || (i < na && a[i] <= b[j]) ? a[i] : b[j];
        while (i < na && a[i] == x)
            i++;
        while (j < nb && b[j] == x)
            j++;
        int64_t dd = (int64_t)i * (int64_t)nb - (int64_t)j * (int64_t)na;
        dd = dd < 0 ? -dd : dd;
        num = dd > num ? dd : num;
    }
    *stat = (double)num / ((double)na * (double)nb);
    if (num == 0)
        return 1.0;
    if (na > 10000 || nb > 10000) {
        /* scipy's "auto" switches to the asymptotic distribution here (kstwo.sf of D at
         * n = round(na nb / (na + nb))); the limiting form with Stephens' finite-n
         * correction approximates that one-sample distribution */
        double en = (double)na * (double)nb / (double)(na + nb), se = sqrt(en);
        return kolmogorov_sf((se + 0.12 + 0.11 / se) * *stat);
    }
    /* Exact: the merged sample's order is a uniformly random lattice path from (0, 0) to
     * (na, nb) under H0; D >= observed iff the path touches |i nb - j na| >= num. p[j] is
     * the probability of reaching (i, j) without touching it, row by row. */
    double *p = malloc((nb + 1) * sizeof *p);
    if (!p)
        return NAN;
    for (size_t r = 0; r <= na; r++) {
        for (size_t c = 0; c <= nb; c++) {
            int64_t dd = (int64_t)r * (int64_t)nb - (int64_t)c * (int64_t)na;
            if ((dd < 0 ? -dd : dd) >= num) {
                p[c] = 0;
                continue;
            }
            if (r == 0 && c == 0) {
                p[c] = 1;
                continue;
            }
            double v = 0;
            if (r > 0) /* from (r - 1, c): an a step, chosen with (na - r + 1) / left */
                v += p[c] * (double)(na - r + 1) / (double)(na - r + 1 + nb - c);
            if (c > 0) /* from (r, c - 1): a b step */
                v += p[c - 1] * (double)(nb - c + 1) / (double)(na - r + nb - c + 1);
            p[c] = v;
        }
    }
    double inside = p[nb];
    free(p);
    double pv = 1 - inside;
    return pv < 0 ? 0 : pv > 1 ? 1 : pv;
}
