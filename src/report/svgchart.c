/* SVG charts drawn in C (include/svgchart.h). */
#include "svgchart.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Tableau 10: distinct in hue and lightness, readable on white, and none of them is the
 * report's red/green for worse/better. */
static const char *const palette[10] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#7f7f7f"};

const char *svg_color(int k)
{
    if (k < 0)
        k = -k;
    return palette[k % 10];
}

void svg_escape(struct buf *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            buf_puts(out, "&amp;");
            break;
        case '<':
            buf_puts(out, "&lt;");
            break;
        case '>':
            buf_puts(out, "&gt;");
            break;
        case '"':
            buf_puts(out, "&quot;");
            break;
        case '\'':
            buf_puts(out, "&#39;");
            break;
        default:
            buf_putc(out, *s);
        }
    }
}

void svg_fmt_tick(double v, double step, char *out, size_t cap)
{
    if (!isfinite(v)) {
        snprintf(out, cap, "%s", "");
        return;
    }
    if (v == 0 || fabs(v) < fabs(step) * 1e-9) {
        snprintf(out, cap, "0");
        return;
    }
    double a = fabs(v), st = fabs(step) > 0 ? fabs(step) : a;
    const char *suffix = "";
    double div = 1;
    if (a >= 1e6 && st >= 1e5) {
        div = 1e6;
        suffix = "M";
    } else if (a >= 1e4 && st >= 1e3) {
        div = 1e3;
        suffix = "k";
    }
    double s = st / div;
    int dec = s >= 1 ? 0 : (int)ceil(-log10(s) - 1e-9);
    if (dec > 9)
        dec = 9;
    snprintf(out, cap, "%.*f%s", dec, v / div, suffix);
}

size_t svg_ticks(double lo, double hi, int target, bool log, double *out, size_t cap, double *alo,
                 double *ahi)
{
    if (target < 2)
        target = 2;
    size_t n = 0;
    if (log) {
        if (!(lo > 0))
            lo = hi > 0 ? hi / 10 : 1;
        if (!(hi >= lo))
            hi = lo;
        int dlo = (int)floor(log10(lo) + 1e-12), dhi = (int)ceil(log10(hi) - 1e-12);
        if (dhi <= dlo)
            dhi = dlo + 1;
        if (dhi - dlo <= 2) {
            static const double m[3] = {1, 2, 5};
            double best_lo = pow(10, dlo), best_hi = pow(10, dhi);
            for (int k = dlo; k <= dhi; k++)
                for (int j = 0; j < 3; j++) {
                    double t = m[j] * pow(10, k);
                    if (t <= lo * (1 + 1e-12) && t > best_lo)
                        best_lo = t;
                    if (t >= hi * (1 - 1e-12) && t < best_hi)
                        best_hi = t;
                }
            for (int k = dlo; k <= dhi; k++)
                for (int j = 0; j < 3; j++) {
                    double t = m[j] * pow(10, k);
                    if (t >= best_lo * (1 - 1e-12) && t <= best_hi * (1 + 1e-12) && n < cap)
                        out[n++] = t;
                }
            *alo = best_lo;
            *ahi = best_hi;
        } else {
            int every = (dhi - dlo + 7) / 8; /* at most ~8 labelled decades */
            for (int k = dlo; k <= dhi; k += every)
                if (n < cap)
                    out[n++] = pow(10, k);
            *alo = pow(10, dlo);
            *ahi = pow(10, dhi);
        }
        return n;
    }
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = 0;
        hi = 1;
    }
    if (hi < lo) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (hi == lo) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.5 : 1;
        if (lo >= 0 && lo - pad < 0)
            lo = 0;
        else
            lo -= pad;
        hi += pad;
    }
    double raw = (hi - lo) / target;
    double mag = pow(10, floor(log10(raw)));
    double r = raw / mag;
    double step = (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
    double a = floor(lo / step + 1e-9), b = ceil(hi / step - 1e-9);
    *alo = a * step;
    *ahi = b * step;
    if (*ahi <= *alo)
        *ahi = *alo + step;
    for (double k = a; k <= b + 1e-9 && n < cap; k += 1)
        out[n++] = k * step;
    return n;
}

struct frame {
    double W, H, L, R, T, B;
    double xlo, xhi, ylo, yhi;
    bool xlog, ylog;
};

static double fx(const struct frame *f, double v)
{
    double a = f->xlog ? log10(v) : v, lo = f->xlog ? log10(f->xlo) : f->xlo,
           hi = f->xlog ? log10(f->xhi) : f->xhi;
    return f->L + (a - lo) / (hi - lo) * (f->W - f->L - f->R);
}

static double fy(const struct frame *f, double v)
{
    double a = f->ylog ? log10(v) : v, lo = f->ylog ? log10(f->ylo) : f->ylo,
           hi = f->ylog ? log10(f->yhi) : f->yhi;
    return f->H - f->B - (a - lo) / (hi - lo) * (f->H - f->T - f->B);
}

static bool okx(const struct frame *f, double v)
{
    return isfinite(v) && (!f->xlog || v > 0);
}

static bool oky(const struct frame *f, double v)
{
    return isfinite(v) && (!f->ylog || v > 0);
}

static const char *dash_attr(enum svg_dash d)
{
    return d == SVG_DASHED   ? " stroke-dasharray=\"6 3\""
           : d == SVG_DOTTED ? " stroke-dasharray=\"1.5 2.5\""
                             : "";
}

/* Data range of every plottable value; false when there is none. */
static bool data_range(const struct svg_chart *c, bool xlog, bool ylog, double *xl, double *xh,
                       double *yl, double *yh)
{
    struct frame f = {.xlog = xlog, .ylog = ylog};
    *xl = *yl = INFINITY;
    *xh = *yh = -INFINITY;
    for (size_t k = 0; k < c->ns; k++) {
        const struct svg_series *s = &c->s[k];
        for (size_t i = 0; i < s->n; i++) {
            double x = s->x[i], y = s->y[i];
            if (!okx(&f, x) || !oky(&f, y))
                continue;
            double xe = s->kind == SVG_BAR ? x + s->bar_w : x;
            *xl = fmin(*xl, x);
            *xh = fmax(*xh, xe);
            *yl = fmin(*yl, y);
            *yh = fmax(*yh, y);
            if (s->kind == SVG_BAND && s->y2 && oky(&f, s->y2[i])) {
                *yl = fmin(*yl, s->y2[i]);
                *yh = fmax(*yh, s->y2[i]);
            }
            if (s->kind == SVG_BAR && !ylog)
                *yl = fmin(*yl, 0);
        }
    }
    return *xl <= *xh;
}

static bool all_positive(const struct svg_chart *c, bool x)
{
    for (size_t k = 0; k < c->ns; k++)
        for (size_t i = 0; i < c->s[k].n; i++) {
            double v = x ? c->s[k].x[i] : c->s[k].y[i];
            if (isfinite(v) && v <= 0)
                return false;
        }
    return true;
}

static void text(struct buf *o, double x, double y, const char *anchor, const char *extra,
                 const char *s)
{
    buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>", x, y, anchor, extra);
    svg_escape(o, s);
    buf_puts(o, "</text>");
}

static void line_path(struct buf *o, const struct frame *f, const struct svg_series *s)
{
    buf_printf(o, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s d=\"",
               svg_color(s->color), dash_attr(s->dash));
    bool pen = false;
    for (size_t i = 0; i < s->n; i++) {
        if (!okx(f, s->x[i]) || !oky(f, s->y[i])) {
            pen = false;
            continue;
        }
        buf_printf(o, "%s%.1f %.1f", pen ? "L" : "M", fx(f, s->x[i]), fy(f, s->y[i]));
        pen = true;
    }
    buf_puts(o, "\">");
    if (s->name) {
        buf_puts(o, "<title>");
        svg_escape(o, s->name);
        buf_puts(o, "</title>");
    }
    buf_puts(o, "</path>");
}

static void band_path(struct buf *o, const struct frame *f, const struct svg_series *s)
{
    buf_printf(o, "<path fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\" d=\"",
               svg_color(s->color));
    size_t i = 0;
    while (i < s->n) {
        while (i < s->n && !(okx(f, s->x[i]) && oky(f, s->y[i]) && s->y2 && oky(f, s->y2[i])))
            i++;
        size_t a = i;
        while (i < s->n && okx(f, s->x[i]) && oky(f, s->y[i]) && s->y2 && oky(f, s->y2[i]))
            i++;
        if (i == a)
            continue;
        for (size_t k = a; k < i; k++)
            buf_printf(o, "%s%.1f %.1f", k == a ? "M" : "L", fx(f, s->x[k]), fy(f, s->y2[k]));
        for (size_t k = i; k-- > a;)
            buf_printf(o, "L%.1f %.1f", fx(f, s->x[k]), fy(f, s->y[k]));
        buf_puts(o, "Z");
    }
    buf_puts(o, "\">");
    if (s->name) {
        buf_puts(o, "<title>");
        svg_escape(o, s->name);
        buf_puts(o, "</title>");
    }
    buf_puts(o, "</path>");
}

static void fmt_val(double v, char *out, size_t cap)
{
    double a = fabs(v);
    int d = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : a >= 0.01 ? 4 : 6;
    snprintf(out, cap, "%.*f", d, v);
}

static void scatter(struct buf *o, const struct frame *f, const struct svg_series *s)
{
    if (s->join) {
        struct svg_series l = *s;
        l.kind = SVG_LINE;
        line_path(o, f, &l);
    }
    for (size_t i = 0; i < s->n; i++) {
        if (!okx(f, s->x[i]) || !oky(f, s->y[i]))
            continue;
        buf_printf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>",
                   fx(f, s->x[i]), fy(f, s->y[i]), svg_color(s->color));
        if (s->point && s->point[i])
            svg_escape(o, s->point[i]);
        else {
            char a[32], b[32];
            fmt_val(s->x[i], a, sizeof a);
            fmt_val(s->y[i], b, sizeof b);
            if (s->name) {
                svg_escape(o, s->name);
                buf_puts(o, ": ");
            }
            buf_printf(o, "%s, %s", a, b);
        }
        buf_puts(o, "</title></circle>");
    }
}

static void bars(struct buf *o, const struct frame *f, const struct svg_series *s)
{
    int slots = s->bar_slots > 0 ? s->bar_slots : 1;
    double base = f->ylog ? f->ylo : fmax(f->ylo, 0);
    for (size_t i = 0; i < s->n; i++) {
        double x = s->x[i], y = s->y[i];
        if (!okx(f, x) || !oky(f, y) || y == 0)
            continue;
        double x0 = fx(f, x), x1 = fx(f, x + s->bar_w);
        double w = (x1 - x0) / slots;
        double y0 = fy(f, y), yb = fy(f, base);
        buf_printf(o,
                   "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                   "fill-opacity=\"0.85\"><title>",
                   x0 + w * s->bar_slot, fmin(y0, yb), fmax(0.5, w - 0.4), fabs(yb - y0),
                   svg_color(s->color));
        char a[32], b[32], c[32];
        fmt_val(x, a, sizeof a);
        fmt_val(x + s->bar_w, b, sizeof b);
        fmt_val(y, c, sizeof c);
        if (s->name) {
            svg_escape(o, s->name);
            buf_puts(o, ": ");
        }
        buf_printf(o, "%s to %s: %s", a, b, c);
        buf_puts(o, "</title></rect>");
    }
}

/* Legend rows under the plot: items laid left to right, wrapped at the chart's width
 * (text measured at ~6.2 px per character of the 11 px font). */
static int legend(struct buf *o, const struct svg_chart *c, double W, double y0, bool draw)
{
    double x = 10, y = y0;
    int rows = 0;
    for (size_t k = 0; k < c->ns; k++) {
        const struct svg_series *s = &c->s[k];
        if (!s->name)
            continue;
        double w = 26 + 6.2 * (double)strlen(s->name) + 14;
        if (rows == 0)
            rows = 1;
        if (x + w > W - 6 && x > 10) {
            x = 10;
            y += 16;
            rows++;
        }
        if (draw) {
            const char *col = svg_color(s->color);
            if (s->kind == SVG_BAR || s->kind == SVG_BAND)
                buf_printf(o,
                           "<rect x=\"%.1f\" y=\"%.1f\" width=\"16\" height=\"9\" fill=\"%s\" "
                           "fill-opacity=\"%s\"/>",
                           x, y - 8, col, s->kind == SVG_BAND ? "0.3" : "0.85");
            else if (s->kind == SVG_SCATTER)
                buf_printf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>", x + 8,
                           y - 4, col);
            if (s->kind == SVG_LINE || (s->kind == SVG_SCATTER && s->join))
                buf_printf(o,
                           "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                           "stroke-width=\"1.8\"%s/>",
                           x, x + 16, y - 4, y - 4, col, dash_attr(s->dash));
            text(o, x + 22, y, "start", "", s->name);
        }
        x += w;
    }
    return rows;
}

void svg_chart(struct buf *o, const struct svg_chart *c, bool standalone)
{
    struct frame f = {.W = c->width > 0 ? c->width : 460,
                      .H = c->height > 0 ? c->height : 260,
                      .L = 60,
                      .R = 14,
                      .T = 28,
                      .B = 42};
    f.xlog = c->xlog && all_positive(c, true);
    f.ylog = c->ylog && all_positive(c, false);
    int rows = legend(o, c, f.W, 0, false);
    double total_h = f.H + rows * 16 + (rows ? 4 : 0);
    if (standalone)
        buf_printf(o,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "
                   "xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" ",
                   f.W, total_h);
    else
        buf_puts(o, "<svg ");
    buf_printf(o,
               "viewBox=\"0 0 %.0f %.0f\" role=\"img\" font-family=\"system-ui,-apple-system,"
               "'Segoe UI',Roboto,sans-serif\" font-size=\"11\" aria-label=\"",
               f.W, total_h);
    svg_escape(o, c->title);
    buf_puts(o, "\">");
    if (standalone)
        buf_printf(o, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>", f.W, total_h);
    buf_puts(o, "<g fill=\"#1b1f24\" font-weight=\"600\" font-size=\"12\">");
    text(o, 10, 16, "start", "", c->title ? c->title : "");
    buf_puts(o, "</g>");
    double xl, xh, yl, yh;
    if (!data_range(c, f.xlog, f.ylog, &xl, &xh, &yl, &yh)) {
        buf_printf(o,
                   "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
                   "stroke=\"#d6dbe0\"/><g fill=\"#5b6570\">",
                   f.L, f.T, f.W - f.L - f.R, f.H - f.T - f.B);
        text(o, (f.L + f.W - f.R) / 2, (f.T + f.H - f.B) / 2, "middle", "", "no data");
        buf_puts(o, "</g></svg>");
        if (standalone)
            buf_putc(o, '\n');
        return;
    }
    if (c->y_zero && !f.ylog) {
        yl = fmin(yl, 0);
        yh = fmax(yh, 0);
    }
    double xt[64], yt[64];
    /* fewer x ticks when their labels would run into each other (a narrow range such as
     * 125.070-125.077 tokens/s has long labels): about 6.5 px a character at 11 px */
    size_t nxt = 0;
    for (int target = 6; target >= 2; target--) {
        nxt = svg_ticks(xl, xh, target, f.xlog, xt, 64, &f.xlo, &f.xhi);
        size_t widest = 0;
        for (size_t i = 0; i < nxt; i++) {
            char s[32];
            svg_fmt_tick(xt[i], f.xlog ? xt[i] : nxt > 1 ? xt[1] - xt[0] : xt[i], s, sizeof s);
            widest = strlen(s) > widest ? strlen(s) : widest;
        }
        if ((double)nxt * ((double)widest * 6.5 + 8) <= f.W - f.L - f.R)
            break;
    }
    size_t nyt = svg_ticks(yl, yh, 5, f.ylog, yt, 64, &f.ylo, &f.yhi);
    /* grid and tick labels */
    buf_puts(o, "<g stroke=\"#d6dbe0\" stroke-dasharray=\"2 3\">");
    for (size_t i = 0; i < nyt; i++)
        buf_printf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", f.L, f.W - f.R,
                   fy(&f, yt[i]), fy(&f, yt[i]));
    for (size_t i = 0; i < nxt; i++)
        buf_printf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", fx(&f, xt[i]),
                   fx(&f, xt[i]), f.T, f.H - f.B);
    buf_puts(o, "</g><g fill=\"#5b6570\">");
    for (size_t i = 0; i < nyt; i++) {
        char s[32];
        svg_fmt_tick(yt[i], f.ylog ? yt[i] : nyt > 1 ? yt[1] - yt[0] : yt[i], s, sizeof s);
        text(o, f.L - 5, fy(&f, yt[i]) + 3.5, "end", "", s);
    }
    for (size_t i = 0; i < nxt; i++) {
        char s[32];
        svg_fmt_tick(xt[i], f.xlog ? xt[i] : nxt > 1 ? xt[1] - xt[0] : xt[i], s, sizeof s);
        text(o, fx(&f, xt[i]), f.H - f.B + 14, "middle", "", s);
    }
    char xlab[300], ylab[300];
    snprintf(xlab, sizeof xlab, "%s%s", c->xlabel ? c->xlabel : "", f.xlog ? " (log)" : "");
    snprintf(ylab, sizeof ylab, "%s%s", c->ylabel ? c->ylabel : "", f.ylog ? " (log)" : "");
    text(o, (f.L + f.W - f.R) / 2, f.H - 8, "middle", "", xlab);
    char rot[96];
    double my = (f.T + f.H - f.B) / 2;
    snprintf(rot, sizeof rot, " transform=\"rotate(-90 14 %.1f)\"", my);
    text(o, 14, my, "middle", rot, ylab);
    buf_puts(o, "</g>");
    buf_printf(o,
               "<g stroke=\"#8c959f\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
               "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/></g>",
               f.L, f.W - f.R, f.H - f.B, f.H - f.B, f.L, f.L, f.T, f.H - f.B);
    /* bands under lines, bars under points */
    for (int pass = 0; pass < 4; pass++)
        for (size_t k = 0; k < c->ns; k++) {
            const struct svg_series *s = &c->s[k];
            if (pass == 0 && s->kind == SVG_BAND)
                band_path(o, &f, s);
            else if (pass == 1 && s->kind == SVG_BAR)
                bars(o, &f, s);
            else if (pass == 2 && s->kind == SVG_LINE)
                line_path(o, &f, s);
            else if (pass == 3 && s->kind == SVG_SCATTER)
                scatter(o, &f, s);
        }
    if (rows) {
        buf_puts(o, "<g fill=\"#1b1f24\">");
        legend(o, c, f.W, f.H + 12, true);
        buf_puts(o, "</g>");
    }
    buf_puts(o, "</svg>");
    if (standalone)
        buf_putc(o, '\n');
}
