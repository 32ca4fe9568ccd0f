/*
 * prom: a Prometheus text-format parser (exposition format 0.0.4 and the OpenMetrics 1.0
 * text subset that inference servers and the DCGM exporter emit). Pure: no I/O, no
 * threads; used by the telemetry scraper and by its tests.
 *
 * Accepted: sample lines `name{label="value",...} value [timestamp]` (labels optional, a
 * trailing comma allowed, spaces/tabs between tokens, "\r\n" line ends tolerated),
 * `# HELP name text` (escapes \\ and \n), `# TYPE name counter|gauge|histogram|summary|
 * untyped|unknown|info|stateset|gaugehistogram`, `# UNIT` (ignored), `# EOF` (anything
 * but blank space after it is an error), other `#` comments and blank lines (ignored).
 * Label values unescape \\, \" and \n; any other escape is an error. Values are decimal
 * floats or NaN / Inf / +Inf / -Inf (case-insensitive, as Prometheus reads them).
 * Timestamps are int64 milliseconds in 0.0.4 and float seconds in OpenMetrics (the
 * caller picks the dialect, normally from the Content-Type); both are reported in ms.
 * OpenMetrics exemplars (` # {labels} value [ts]` after a sample) are checked and dropped.
 *
 * Incremental: bytes may be fed in pieces split anywhere; the outcome (samples, their
 * order, any error and the line it names) does not depend on the split. A line complete
 * inside one piece is parsed in place; only a line split across pieces is copied.
 *
 * Bounded: memory is fixed at init and never grows. Caps (ERR_TOO_LARGE past them):
 *   max_line     bytes in one line, "\n" excluded              (PROM_DEFAULT_MAX_LINE)
 *   max_labels   labels on one sample                          (PROM_DEFAULT_MAX_LABELS)
 *   max_samples  sample lines in one exposition (one scrape)   (PROM_DEFAULT_MAX_SAMPLES)
 * The parser holds 3 * max_line bytes (line copy, unescaped labels, family name + help)
 * plus max_labels label views.
 *
 * Errors: feed/finish return 0, ERR_PARSE, ERR_TOO_LARGE or the callback's nonzero value;
 * after an error the parser stays failed (further feeds return the same error) until
 * prom_parser_reset. p->error_line (1-based) and p->error_msg say where and why.
 * Owned by one thread.
 */
#ifndef METRONOME_PROM_H
#define METRONOME_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROM_DEFAULT_MAX_LINE    (64u * 1024u)
#define PROM_DEFAULT_MAX_LABELS  64u
#define PROM_DEFAULT_MAX_SAMPLES 50000u

enum prom_type {
    PROM_UNTYPED = 0, /* no TYPE line, "untyped" or OpenMetrics "unknown" */
    PROM_COUNTER,
    PROM_GAUGE,
    PROM_HISTOGRAM,
    PROM_SUMMARY,
    PROM_INFO,
    PROM_STATESET,
    PROM_GAUGE_HISTOGRAM,
};

/* Static lower-case name ("counter", ...; "untyped" for PROM_UNTYPED). */
const char *prom_type_name(enum prom_type t);

enum prom_dialect {
    PROM_TEXT_004 = 0, /* text/plain; version=0.0.4 */
    PROM_OPENMETRICS,  /* application/openmetrics-text */
};

struct prom_label {
    const char *name; /* views valid only during the callback */
    size_t name_len;
    const char *value; /* unescaped */
    size_t value_len;
};

struct prom_sample {
    const char *name; /* the sample's own name, e.g. "x_bucket" */
    size_t name_len;
    /* The family it belongs to: the last TYPE/HELP name if the sample is that name or
     * that name plus a suffix its type allows (_bucket/_sum/_count/_created for
     * histograms, _sum/_count/_created for summaries, _total/_created for counters,
     * _gcount/_gsum/_bucket for gauge histograms, _info for info); else the sample's name
     * and type PROM_UNTYPED. */
    const char *family;
    size_t family_len;
    enum prom_type type;
    const char *help; /* the family's HELP text, unescaped ("" when none) */
    size_t help_len;
    const struct prom_label *labels;
    size_t nlabels;
    double value;
    bool has_timestamp;
    double timestamp_ms;
    uint64_t line; /* 1-based line number in the exposition */
};

/* Called for each sample; views valid only during the call. Nonzero stops the feed and
 * becomes its return value (the parser is then failed, see above). */
typedef int (*prom_sample_fn)(void *ctx, const struct prom_sample *s);

struct prom_parser {
    enum prom_dialect dialect;
    size_t max_line, max_labels, max_samples;
    char *line; /* owned, max_line bytes: a line split across feeds */
    size_t line_len;
    char *scratch; /* owned, max_line bytes: unescaped label values */
    char *fam;     /* owned, 2 * max_line bytes: family name then help text */
    size_t fam_len, help_len;
    enum prom_type fam_type;
    struct prom_label *labels; /* owned, max_labels entries */
    uint64_t lineno;           /* lines completed so far */
    uint64_t samples;          /* sample lines accepted */
    bool eof;                  /* "# EOF" seen */
    int failed;                /* sticky error code, 0 when fine */
    uint64_t error_line;
    char error_msg[128];
};

/* Allocates the fixed buffers; 0 for a cap means its default. 0 or ERR_TOO_LARGE (out of
 * memory). prom_parser_free releases them (safe on a zeroed or freed parser). */
int prom_parser_init(struct prom_parser *p, enum prom_dialect dialect, size_t max_line,
                     size_t max_labels, size_t max_samples);
void prom_parser_free(struct prom_parser *p);
/* A new exposition (next scrape): counters, family state and errors cleared; memory kept. */
void prom_parser_reset(struct prom_parser *p, enum prom_dialect dialect);
int prom_parser_feed(struct prom_parser *p, const char *buf, size_t len, prom_sample_fn fn,
                     void *ctx);
/* End of the body: a last line without "\n" is parsed. Returns as feed. */
int prom_parser_finish(struct prom_parser *p, prom_sample_fn fn, void *ctx);

/* The dialect a Content-Type value names (OpenMetrics if it says openmetrics). */
enum prom_dialect prom_dialect_of(const char *content_type, size_t len);

#endif
