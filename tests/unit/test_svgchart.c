/* svgchart: nice ticks, tick labels, gaps, escaping, the empty chart, standalone files. */
#include "svgchart.h"
#include "test.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

TEST(svg_ticks_linear_nice_steps)
{
    double t[64], lo, hi;
    size_t n = svg_ticks(0, 97, 5, false, t, 64, &lo, &hi);
    CHECK_INT(n, 6);
    CHECK_NEAR(t[0], 0, 1e-12);
    CHECK_NEAR(t[1], 20, 1e-12);
    CHECK_NEAR(t[5], 100, 1e-12);
    CHECK_NEAR(lo, 0, 1e-12);
    CHECK_NEAR(hi, 100, 1e-12);
    n = svg_ticks(0.013, 0.048, 5, false, t, 64, &lo, &hi); /* step 0.005 */
    CHECK_NEAR(t[1] - t[0], 0.005, 1e-12);
    CHECK(lo <= 0.013 && hi >= 0.048);
    n = svg_ticks(5, 5, 5, false, t, 64, &lo, &hi); /* one value: a range around it */
    CHECK(n >= 2 && lo <= 5 && hi > 5);
    n = svg_ticks(-3, 7, 5, false, t, 64, &lo, &hi);
    CHECK_NEAR(t[1] - t[0], 2, 1e-12);
    CHECK(lo <= -3 && hi >= 7);
}

TEST(svg_ticks_log_decades_and_125)
{
    double t[64], lo, hi;
    size_t n = svg_ticks(3, 4000, 5, true, t, 64, &lo, &hi);
    CHECK_INT(n, 5); /* 1 10 100 1000 10000 */
    n = svg_ticks(3, 40000, 5, true, t, 64, &lo, &hi);
    CHECK_INT(n, 6);
    CHECK_NEAR(t[0], 1, 1e-12);
    CHECK_NEAR(t[5], 100000, 1e-9);
    CHECK_NEAR(lo, 1, 1e-12);
    n = svg_ticks(3, 40, 5, true, t, 64, &lo, &hi); /* short range: 2 and 5 too */
    CHECK_NEAR(lo, 2, 1e-12);
    CHECK_NEAR(hi, 50, 1e-12);
    CHECK_INT(n, 5); /* 2 5 10 20 50 */
    CHECK_NEAR(t[1], 5, 1e-12);
}

TEST(svg_tick_labels)
{
    char s[32];
    svg_fmt_tick(0, 20, s, sizeof s);
    CHECK_STR(s, "0");
    svg_fmt_tick(2.5, 0.5, s, sizeof s);
    CHECK_STR(s, "2.5");
    svg_fmt_tick(150, 50, s, sizeof s);
    CHECK_STR(s, "150");
    svg_fmt_tick(12000, 2000, s, sizeof s);
    CHECK_STR(s, "12k");
    svg_fmt_tick(1500000, 500000, s, sizeof s);
    CHECK_STR(s, "1.5M");
    svg_fmt_tick(0.002, 0.001, s, sizeof s);
    CHECK_STR(s, "0.002");
    svg_fmt_tick(1e-5, 1e-5, s, sizeof s); /* log tick */
    CHECK_STR(s, "0.00001");
}

TEST(svg_chart_lines_break_at_gaps)
{
    double x[] = {0, 1, 2, 3, 4}, y[] = {1, 2, NAN, 4, 5};
    struct svg_series s = {.name = "p50 <a&b>", .kind = SVG_LINE, .x = x, .y = y, .n = 5};
    struct buf b;
    buf_init(&b, 1 << 20);
    svg_chart(
        &b,
        &(struct svg_chart){.title = "T \"1\"", .xlabel = "s", .ylabel = "ms", .s = &s, .ns = 1},
        false);
    buf_putc(&b, '\0');
    CHECK(strncmp(b.p, "<svg ", 5) == 0);
    CHECK(strstr(b.p, "xmlns") == NULL); /* inline: the HTML parser supplies it */
    const char *d = strstr(b.p, " d=\"M");
    REQUIRE(d);
    CHECK_INT(count(d, "M"), 2); /* the NaN splits the line in two */
    CHECK(strstr(b.p, "p50 &lt;a&amp;b&gt;"));
    CHECK(strstr(b.p, "T &quot;1&quot;"));
    CHECK(strstr(b.p, "<a&b>") == NULL);
    CHECK(strstr(b.p, "</svg>"));
    buf_free(&b);
}

/* A narrow x range (125.070-125.077, as a Pareto chart of nearly equal runs has): the x
 * tick labels fit side by side in the plot width, with room between them. */
TEST(svg_chart_x_labels_do_not_overlap)
{
    double x[] = {125.0703, 125.0711, 125.0768, 125.0742}, y[] = {400, 420, 1290, 410};
    struct svg_series s = {.name = "runs", .kind = SVG_SCATTER, .x = x, .y = y, .n = 4};
    struct buf b;
    buf_init(&b, 1 << 20);
    svg_chart(&b, &(struct svg_chart){.title = "P", .s = &s, .ns = 1}, false);
    buf_putc(&b, '\0');
    /* x tick labels: the text elements anchored "middle" below the plot */
    size_t n = 0, widest = 0;
    for (const char *p = b.p; (p = strstr(p, "text-anchor=\"middle\"")); p++) {
        const char *gt = strchr(p, '>'), *lt = gt ? strchr(gt, '<') : NULL;
        if (!gt || !lt || !isdigit((unsigned char)gt[1]))
            continue;
        n++;
        widest = (size_t)(lt - gt - 1) > widest ? (size_t)(lt - gt - 1) : widest;
    }
    /* the plot's width: the x axis line */
    const char *ax = strstr(b.p, "<g stroke=\"#8c959f\"><line x1=\"");
    REQUIRE(ax);
    double x1 = 0, x2 = 0;
    REQUIRE(sscanf(ax, "<g stroke=\"#8c959f\"><line x1=\"%lf\" x2=\"%lf\"", &x1, &x2) == 2);
    CHECK(n >= 2);
    /* at ~6.5 px a character (11 px font) and 8 px between labels, all fit across it
     * (it was 8 labels of 7 characters: 428 px on a 386 px axis) */
    CHECK((double)n * ((double)widest * 6.5 + 8) <= x2 - x1);
    buf_free(&b);
}

TEST(svg_chart_empty_and_standalone)
{
    double x[] = {NAN}, y[] = {1};
    struct svg_series s = {.kind = SVG_SCATTER, .x = x, .y = y, .n = 1};
    struct buf b;
    buf_init(&b, 1 << 20);
    svg_chart(&b, &(struct svg_chart){.title = "E", .s = &s, .ns = 1}, true);
    buf_putc(&b, '\0');
    CHECK(strncmp(b.p, "<?xml", 5) == 0);
    CHECK(strstr(b.p, "xmlns=\"http://www.w3.org/2000/svg\""));
    CHECK(strstr(b.p, "no data"));
    CHECK(strstr(b.p, "width=\"460\""));
    buf_free(&b);
}

TEST(svg_chart_log_axis_only_for_positive_data)
{
    double x[] = {1, 10, 100, 1000}, y[] = {1, 2, 3, 4}, y0[] = {0, 2, 3, 4};
    struct svg_series s = {.name = "a", .kind = SVG_SCATTER, .join = true, .x = x, .y = y, .n = 4};
    struct buf b;
    buf_init(&b, 1 << 20);
    svg_chart(&b, &(struct svg_chart){.title = "L", .xlabel = "c", .xlog = true, .s = &s, .ns = 1},
              false);
    buf_putc(&b, '\0');
    CHECK(strstr(b.p, "c (log)"));
    CHECK_INT(count(b.p, "<circle"), 4 + 1); /* the points and the legend's */
    buf_reset(&b);
    s.x = y0; /* a zero: no log axis */
    svg_chart(&b, &(struct svg_chart){.title = "L", .xlabel = "c", .xlog = true, .s = &s, .ns = 1},
              false);
    buf_putc(&b, '\0');
    CHECK(strstr(b.p, "(log)") == NULL);
    buf_free(&b);
}

TEST(svg_colors_fixed)
{
    CHECK_STR(svg_color(0), svg_color(10));
    CHECK(strcmp(svg_color(0), svg_color(1)) != 0);
}
