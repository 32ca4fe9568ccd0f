/*
 * svgchart: one chart as SVG text, drawn when the report is written so that it reads with
 * JavaScript disabled (CI viewers block inline scripts). A chart has axes with "nice"
 * ticks (1-2-5 steps on a linear axis, decades with 2 and 5 on a log10 axis), a dashed
 * grid, and any number of series: lines, bands (a shaded low..high area, e.g. a CI),
 * scatter points (optionally joined, for Pareto curves) and bars. A legend sits under the
 * plot; scatter points and bars carry a <title> the browser shows on hover.
 *
 * Colours: svg_color(k) is a fixed palette; the report gives run k colour k in every chart
 * so a colour means the same run everywhere. The dash pattern tells statistics of one
 * run apart (p50 solid, p99 dashed, mean dotted).
 *
 * Output: presentation attributes only (no CSS class, no script), so the same text is
 * valid inline in HTML and, with standalone set, as a .svg file of its own. Non-finite
 * values are gaps (a line breaks, a point or bar is skipped). A log axis is used only
 * when every value on it is > 0 (else the axis stays linear). No globals; the caller owns every
 * pointer in the structs.
 */
#ifndef METRONOME_SVGCHART_H
#define METRONOME_SVGCHART_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

enum svg_kind {
    SVG_LINE,    /* x[i], y[i] joined in order */
    SVG_BAND,    /* area between y[i] (low) and y2[i] (high), lightly filled */
    SVG_SCATTER, /* a dot per point, joined when `join` */
    SVG_BAR,     /* bar from 0 (or the axis floor) to y[i], x[i] .. x[i] + bar_w */
};

enum svg_dash { SVG_SOLID, SVG_DASHED, SVG_DOTTED };

struct svg_series {
    const char *name; /* legend text; NULL: not in the legend */
    enum svg_kind kind;
    int color; /* palette index (svg_color) */
    enum svg_dash dash;
    const double *x, *y; /* n values each */
    const double *y2;    /* SVG_BAND: the high edge */
    size_t n;
    double bar_w;             /* SVG_BAR: width in x units */
    int bar_slot, bar_slots;  /* SVG_BAR: side-by-side position among bar series (0 of 1) */
    bool join;                /* SVG_SCATTER: also draw the line through the points */
    const char *const *point; /* SVG_SCATTER: per point hover text (may be NULL) */
};

struct svg_chart {
    const char *title, *xlabel, *ylabel;
    const char *name;  /* short stable name (file names); NULL: the title */
    bool xlog, ylog;   /* log10 axes (used only when every plotted value is > 0) */
    bool y_zero;       /* a linear y axis reaches down to 0 */
    int width, height; /* viewBox size; 0: 460 x 260 */
    const struct svg_series *s;
    size_t ns;
};

/* Appends the chart to out (an <svg> element; with standalone, the XML declaration and
 * the namespace attributes a file needs, and width/height). A chart with no finite point
 * is drawn as an empty frame saying "no data". */
void svg_chart(struct buf *out, const struct svg_chart *c, bool standalone);

/* Tick values for an axis covering [lo, hi] with about `target` ticks (log: decades, and
 * 2 and 5 multiples when the range is short). Writes at most cap values in increasing
 * order and returns how many; *alo and *ahi receive the axis range (linear: extended to
 * whole steps; log: to whole decades or the 1-2-5 ticks around the data). */
size_t svg_ticks(double lo, double hi, int target, bool log, double *out, size_t cap, double *alo,
                 double *ahi);

/* Tick label: "0", "2.5", "150", "12k", "1.5M", "0.002"; the shortest of those forms that
 * tells neighbouring ticks apart given the tick step. */
void svg_fmt_tick(double v, double step, char *out, size_t cap);

/* Palette colour k (wraps after 10) as "#rrggbb". */
const char *svg_color(int k);

/* Appends s with & < > " ' escaped for XML/HTML text and attribute values. */
void svg_escape(struct buf *out, const char *s);

#endif
