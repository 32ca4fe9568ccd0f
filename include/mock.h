/*
 * mock: an OpenAI-compatible HTTP/1.1 server with exact timing and injectable faults,
 * startable in-process (metronome demo) or from `metronome mock`.
 *
 * mock_start binds (port 0 picks a free port, reported by mock_port), starts N
 * shared-nothing worker threads, each with its own SO_REUSEPORT listening socket, epoll
 * loop, timerfd and connections, and returns. Tokens go out on absolute CLOCK_MONOTONIC
 * deadlines (one timerfd per worker armed at the earliest deadline). mock_stop stops the
 * workers, closes every connection, flushes the timing log and frees the server.
 *
 * Threads: mock_start and mock_stop are called from one controlling thread; the config is
 * copied (the fault array too), so the caller's may go away after mock_start returns.
 * Signals are left to the caller: the workers block none, so a CLI blocks SIGINT/SIGTERM
 * before mock_start and waits for them (cmd_mock does).
 */
#ifndef METRONOME_MOCK_H
#define METRONOME_MOCK_H

#include "err.h"
#include "mock_fault.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mock_jitter {
    MOCK_JITTER_NORMAL,      /* itl + N(0, jitter), clamped at 0 */
    MOCK_JITTER_UNIFORM,     /* itl + U(-j*sqrt(3), +j*sqrt(3)): stddev j */
    MOCK_JITTER_EXPONENTIAL, /* itl - j + Exp(mean j): mean itl, stddev j, right tail */
};

struct mock_config {
    const char *host; /* numeric IPv4 or IPv6 address, or "localhost"; default 127.0.0.1 */
    int port;         /* 0: any free port */
    int threads;      /* worker threads (>= 1) */
    int64_t ttft_ns;
    int64_t ttft_jitter_ns; /* stddev of the TTFT (same distribution as ITL) */
    int64_t itl_ns;
    int64_t itl_jitter_ns;
    enum mock_jitter jitter;
    int64_t prefill_per_token_ns; /* TTFT grows by this per prompt token */
    long max_concurrency;         /* running requests at once (0: unlimited); others queue */
    int64_t spin_ns;              /* wake this much before a deadline and busy-wait to it */
    double batch_slowdown;        /* ITL *= 1 + batch_slowdown * (running - 1) */
    long osl;                     /* output tokens when the request sets no maximum */
    long eos_tokens;              /* > 0: the "model" stops after this many tokens unless
                                     ignore_eos (then min_tokens still holds) */
    long tokens_per_chunk;
    long reasoning_tokens; /* chat: reasoning_content tokens before the content */
    long embedding_dim;
    uint64_t seed;
    const char *model;      /* name served by /v1/models and echoed when a request has none */
    const char *timing_log; /* JSON Lines path, or NULL */
    size_t max_body;        /* larger request bodies get 413 */
    long max_connections;   /* per worker; more are accepted and closed at once */
    bool kernel_stamps;     /* TTFT counts from the request's kernel arrival (rxstamp.h),
                               not from when a busy worker got round to reading it */
    const struct mock_fault *faults;
    int nfaults;
    /* Faults choose by the index among model-endpoint requests only, in the order their
     * bodies completed, instead of among every request head (metrics scrapes, probes
     * included): demo's faults on fixed indexes, which a scrape landing in its burst
     * otherwise shifted onto the scrape (the stream cut was then lost). */
    bool fault_model_index;
    int64_t created;      /* "created" of responses (Unix s); 0: the clock at mock_start */
    const char *tls_cert; /* PEM chain (leaf first): serve HTTPS; NULL for plain HTTP */
    const char *tls_key;  /* its PEM private key */
    long kv_cache_tokens; /* tokens the modelled KV cache holds (vllm:kv_cache_usage_perc) */
    bool dcgm;            /* serve GET /dcgm/metrics: DCGM exporter names, synthetic values */
};

/* Fills c with the documented defaults (docs/mock.md). */
void mock_config_default(struct mock_config *c);

struct mock_server;

/* 0 or ERR_IO / ERR_INVALID / ERR_TLS with a diag (bind failure, bad host, timing log not
 * writable, unreadable certificate or key). */
int mock_start(const struct mock_config *c, struct mock_server **out, struct diag *d);
/* The bound port (the free one chosen when the config said 0). */
int mock_port(const struct mock_server *s);
/* Requests seen so far (the next request index). Any thread. */
uint64_t mock_requests(const struct mock_server *s);
/* Stops and frees s. */
void mock_stop(struct mock_server *s);

#endif
