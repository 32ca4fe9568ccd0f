/*
 * report: turns run directories into AIPerf-compatible exports, the HTML report and a CI
 * verdict. `metronome report` and (later) `metronome profile` call report_run in-process.
 *
 * Grouping: directories whose run.json names the same trace (sha256) and shard count > 1
 * are shards of one run and merge into one report as if one process had run them (their
 * clock anchors place every record on one timeline); any other directory is a run of its
 * own, and several runs are rendered side by side with deltas against the first.
 *
 * Output: every file is written atomically (temporary file + rename), so a failure leaves
 * no half-written export. The console table goes to opts->console (NULL: none).
 *
 * Errors: returns 0 when the report was produced (whatever the verdict), < 0 with d filled
 * on bad input or I/O failure. The verdict (rule violations, runs where every request
 * failed) is in struct report_result; the caller chooses the exit code. Not thread-safe
 * (one report at a time per thread; no globals).
 */
#ifndef METRONOME_REPORT_H
#define METRONOME_REPORT_H

#include "buf.h"
#include "err.h"
#include "verdict.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum report_export {
    REPORT_CONSOLE = 1,
    REPORT_JSON = 2,  /* profile_export_aiperf.json */
    REPORT_CSV = 4,   /* profile_export_aiperf.csv */
    REPORT_JSONL = 8, /* profile_export.jsonl */
    REPORT_HTML = 16, /* report.html */
    REPORT_ALL = 31,
    REPORT_OUTPUTS = 32, /* outputs.json (AIPerf's --export-outputs-json; not in "all") */
    REPORT_RAW = 64,     /* profile_export_raw.jsonl (--export-level raw; not in "all") */
};

/* --server-metrics-formats (AIPerf 0.13's ServerMetricsFormat; parquet is not written). */
enum report_sm_format {
    SM_FMT_JSON = 1,  /* server_metrics_export.json */
    SM_FMT_CSV = 2,   /* server_metrics_export.csv */
    SM_FMT_JSONL = 4, /* server_metrics_export.jsonl */
    SM_FMT_DEFAULT = SM_FMT_JSON | SM_FMT_CSV,
};

struct report_opts {
    const char *out_dir;                /* NULL: the run dir (one run) or "metronome-compare" */
    unsigned exports;                   /* enum report_export bits */
    const struct verdict_spec *verdict; /* SLOs and fail-on rules, or NULL */
    double slice_duration_s;            /* > 0: time slices of this length */
    bool merge_all;                     /* every dir is a shard of one run */
    bool show_internal;                 /* hidden metrics on the console */
    bool show_trace_timing;    /* AIPerf's "HTTP Trace Timing" table (the http_req_* metrics) */
    bool allow_all_failed;     /* a run where every request failed is not a failure */
    bool count_empty_chunks;   /* the seed's rule: "" content messages are responses */
    FILE *console;             /* console exports go here (NULL: nowhere) */
    const char *cli_command;   /* run_info.cli_command (redacted), or NULL */
    size_t max_icl;            /* inter-chunk gaps kept for the sweeps; 0: the default (2^20) */
    const char *plots_dir;     /* also write every chart as DIR/NN-name.svg, or NULL */
    const char *const *labels; /* labels[i] names run i (after shard grouping), or NULL */
    size_t nlabels;            /* must equal the number of runs when given */
    double noise_pct;          /* comparison deltas below this are neutral; 0: 2 % */
    int console_width;         /* console tables fit this many columns; 0: no limit */
    bool console_ascii;        /* console tables in ASCII (the locale is not UTF-8) */
    /* A model tokenizer (tokenizer.h) to count recorded response texts with (replay
     * --record-text), as AIPerf counts output tokens by default; NULL: none. Then output
     * and input tokens come from it and the trace unless use_server_token_count, which
     * keeps the server's usage where it was sent. */
    struct tokenizer *tokenizer;
    bool use_server_token_count;
    unsigned sm_formats; /* enum report_sm_format bits; 0: SM_FMT_DEFAULT */
    /* AIPerf 0.13's --profile-export-prefix base (report_export_prefix), or NULL: every
     * export is named report_export_name(export_prefix, its default name). */
    const char *export_prefix;
    /* AIPerf 0.13's --per-chunk-usage: inter-token latency divides by OSL minus the tokens
     * the server reported through the first content chunk (records' first_chunk_tokens) */
    bool per_chunk_usage;
    /* AIPerf 0.13's --network-latency-mean in ms (>= 0), when net_mean_set: subtracted,
     * clamped at 0, from request latency, TTFT and TTFO as the network_adjusted_* metrics
     * (0: no adjustment, as in AIPerf). Unset: the mean of the run's TCP connect probes
     * when replay made any (--network-latency-automatic), else no adjustment. */
    bool net_mean_set;
    double net_mean_ms;
};

/* AIPerf 0.13's name for the export whose default name is def under prefix base (its
 * ArtifactsConfig): profile_export_aiperf.{json,csv} -> BASE.{json,csv},
 * profile_export_aiperf_timeslices.* -> BASE_timeslices.*, profile_export.jsonl ->
 * BASE.jsonl, profile_export_raw.jsonl -> BASE_raw.jsonl, profile_export_console.txt ->
 * BASE_console.txt, gpu_telemetry_export.jsonl -> BASE_gpu_telemetry.jsonl,
 * server_metrics_export.* -> BASE_server_metrics.*; other names, and any name when base is
 * NULL, unchanged. */
void report_export_name(const char *base, const char *def, char *out, size_t cap);
/* The base of a --profile-export-prefix value as AIPerf 0.13 takes it: the file name of an
 * absolute path, then one known export suffix (_raw.jsonl, _timeslices.csv, .json, ...)
 * stripped. An empty result or one with a '/' (a subdirectory) is ERR_INVALID. */
int report_export_prefix(const char *value, char *out, size_t cap, struct diag *d);

/* The console width for output on fd: the terminal's (TIOCGWINSZ) when fd is one, else
 * $COLUMNS when it is a number (20..10000), else 80 (piped output, as rich does). */
int report_console_width(int fd);
/* DIR/sweep_report.html from DIR/sweep_summary.json (docs/records-format.md, *Sweeps*):
 * the sweep table (every point, a gap marked), the Pareto charts and per-metric trends with
 * the confidence band where points were repeated, all inline SVG; with plots_dir each chart
 * also as a standalone .svg. The paths written are appended to written (may be NULL). */
int report_sweep_html(const char *dir, const char *plots_dir, struct buf *written, struct diag *d);
/* Whether the locale (LC_ALL, else LC_CTYPE, else LANG) is UTF-8; unset means C: no. */
bool report_console_utf8(void);

struct report_result {
    size_t nruns;        /* runs after grouping */
    size_t violations;   /* fail-on rules violated, summed over runs */
    size_t all_failed;   /* runs with requests where none succeeded */
    size_t incomplete;   /* runs that did not finish cleanly */
    struct buf messages; /* one line per violation / all-failed run (caller frees) */
    struct buf written;  /* the files written, one path per line (caller frees) */
    struct buf warnings; /* one line per suspect input (records with t_end < t_start) or
                            result a reader must not misread (connects that queued) */
};

/* Reports on dirs[0..ndirs). res is initialised by the call; free it with
 * report_result_free whatever the return value. */
int report_run(const char *const *dirs, size_t ndirs, const struct report_opts *opts,
               struct report_result *res, struct diag *d);
void report_result_free(struct report_result *res);

#endif
