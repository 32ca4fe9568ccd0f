/*
 * scrape: the telemetry collector. One thread that scrapes Prometheus text endpoints (the
 * server's /metrics, DCGM exporters) at a fixed interval during a replay and writes what
 * it read to RUN_DIR/server_metrics.jsonl.zst (format: docs/server-metrics.md).
 *
 * Timing: scrapes start on absolute CLOCK_MONOTONIC ticks (the first at once, then every
 * interval, and one last round when the run stops); every sample line is stamped in ns
 * relative to the records' anchor (run.json anchor.mono_ns), so samples and records share
 * one time axis. A target whose previous scrape is still running when its tick comes is
 * skipped for that tick and counted (never queued); a scrape is abandoned after
 * SCRAPE_TIMEOUT_NS (counted as failed).
 *
 * Robustness: a target that refuses, hangs, answers non-200, sends garbage, an endless
 * body, too many series or a huge line costs one warning line on stderr (its first
 * failure; later ones are only counted) and a note in run.json ("telemetry"), never the
 * run. Memory is fixed per target: the parser's 3 x 64 KiB, a 64 KiB head buffer, and the
 * scrape's encoded samples, capped at SCRAPE_MAX_OUT bytes; a body longer than
 * SCRAPE_MAX_BODY bytes, a line over 64 KiB or more than PROM_DEFAULT_MAX_SAMPLES samples
 * fail that scrape.
 *
 * Secrets: server targets are sent the requests' auth (api key, --header, URL userinfo);
 * URLs are written redacted and headers are never written.
 *
 * Crash safety: the file is written like records.jsonl.zst (ZW_FRAMED): each scrape round
 * ends a zstd frame, so a kill -9 loses at most the round in progress.
 *
 * Threads: scrape_start/scrape_stop/scrape_summary from one controlling thread.
 */
#ifndef METRONOME_SCRAPE_H
#define METRONOME_SCRAPE_H

#include "err.h"
#include "jsonw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCRAPE_TIMEOUT_NS (10LL * 1000000000LL)
#define SCRAPE_MAX_BODY   ((size_t)16 << 20)
#define SCRAPE_MAX_OUT    ((size_t)16 << 20)

enum scrape_kind { SCRAPE_SERVER, SCRAPE_GPU };

struct scrape_config {
    const char *const *server_urls; /* full URLs of /metrics pages */
    size_t nserver;
    const char *const *gpu_urls; /* DCGM exporter URLs ("/metrics" appended when missing) */
    size_t ngpu;
    int64_t interval_ns; /* 0: 1 s */
    int64_t anchor_mono_ns;
    const char *out_dir;
    int zstd_level;
    const char *api_key; /* server targets only; never written */
    const char *const *headers;
    size_t nheaders;
    const char *ca_file;
    bool insecure;
    const char *warn_prefix; /* "replay" or "profile": the program part of warnings */
};

struct scraper;

/* Checks the URLs, opens the file, writes its header line and starts the thread. A bad URL
 * is ERR_INVALID with d filled (the run should not start); nothing else here fails the run. */
int scrape_start(const struct scrape_config *c, struct scraper **out, struct diag *d);
/* Scrapes every idle target once more (bounded by 2 s), stops the thread and commits the
 * file. 0, or ERR_IO with d filled when the file could not be written. */
int scrape_stop(struct scraper *s, struct diag *d);
/* Writes the "telemetry" object of run.json (after scrape_stop; counts so far before). */
void scrape_summary(const struct scraper *s, struct jsonw *w);
void scrape_free(struct scraper *s);

/* Ensures a DCGM URL ends with "/metrics" as AIPerf does; "host:port" gets "http://".
 * Writes into out (cap bytes); ERR_TOO_LARGE when it does not fit. */
int scrape_normalize_url(const char *in, bool add_metrics, char *out, size_t cap);

/* A normalized, deduplicated target list: each request URL + "/metrics" (its query and
 * fragment dropped; when from_requests) and then each of `more`, as AIPerf 0.13 builds its
 * server-metrics endpoints; add_metrics false for none appended (unused by AIPerf). A heap
 * array of heap strings in *out (free with scrape_urls_free); ERR_TOO_LARGE for a URL
 * over 4 KiB. */
int scrape_target_list(const char *const *req_urls, size_t nreq, bool from_requests,
                       const char *const *more, size_t nmore, char ***out, size_t *n);
void scrape_urls_free(char **v, size_t n);

#endif
