/*
 * netprobe: the network latency prober of replay (AIPerf 0.13's --network-latency-automatic).
 * One thread opens a fresh TCP connection to each target (host:port) every interval, times
 * the handshake (connect() to writable, CLOCK_MONOTONIC) and closes it; nothing is sent.
 * Each probe, success or failure, is one line of RUN_DIR/network_latency.jsonl (format:
 * docs/records-format.md); report turns them into the mean RTT the network_adjusted_*
 * metrics subtract, and AIPerf's profile_export_network_latency.jsonl.
 *
 * Schedule: the first round at once, then one every interval on absolute CLOCK_MONOTONIC
 * ticks; a probe is abandoned after NETPROBE_TIMEOUT_NS (a failed sample). Rounds never
 * wait for a slow probe: up to NETPROBE_MAX_INFLIGHT handshakes are pending at once, and
 * a round that finds no free slot records a failed sample instead. netprobe_stop tops up
 * to NETPROBE_MIN_OK successful samples with back-to-back probes (at most twice that many
 * attempts per target, NETPROBE_TOPUP_NS in all), as AIPerf does at the end of profiling.
 *
 * Shared nothing: the thread owns its sockets and the file; it never touches the workers'
 * connections, and the targets are copied at start (addresses resolved once, before, so a
 * probe times the handshake, not DNS). A probe that cannot be written is counted, never
 * the run's failure.
 *
 * Threads: netprobe_start / netprobe_stop / netprobe_summary / netprobe_free from one
 * controlling thread.
 */
#ifndef METRONOME_NETPROBE_H
#define METRONOME_NETPROBE_H

#include "err.h"
#include "jsonw.h"

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NETPROBE_TIMEOUT_NS   (5LL * 1000000000LL) /* AIPerf's CONNECT_TIMEOUT */
#define NETPROBE_TOPUP_NS     (3LL * 1000000000LL) /* AIPerf's COMPLETE_TOPUP_TIMEOUT */
#define NETPROBE_MIN_OK       5                    /* AIPerf's MIN_SAMPLES */
#define NETPROBE_MAX_INFLIGHT 64
#define NETPROBE_MAX_TARGETS  64

struct netprobe_target {
    char url[512];  /* credential-free display URL */
    char host[256]; /* the host as the URL names it */
    int port;
    struct sockaddr_storage addr; /* resolved address connected to */
    socklen_t addrlen;
};

struct netprobe_config {
    const struct netprobe_target *targets; /* copied; unique host:port */
    size_t ntargets;                       /* 1..NETPROBE_MAX_TARGETS */
    int64_t interval_ns;                   /* > 0 */
    int64_t anchor_mono_ns;                /* sample times are relative to it */
    const char *out_dir;
};

struct netprobe;

/* Creates out_dir/network_latency.jsonl and starts the thread. ERR_IO (file) or
 * ERR_INVALID (no target, too many) with d filled. */
int netprobe_start(const struct netprobe_config *c, struct netprobe **out, struct diag *d);
/* Tops up (see above), stops the thread and closes the file; pending probes are dropped
 * unrecorded. 0, or ERR_IO with d filled when lines could not be written. */
int netprobe_stop(struct netprobe *p, struct diag *d);
/* The "network_latency" object of run.json: interval, probes, successes, mean RTT. */
void netprobe_summary(const struct netprobe *p, struct jsonw *w);
void netprobe_free(struct netprobe *p);

#endif
