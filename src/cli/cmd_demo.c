/*
 * metronome demo: the embedded default (docs/cli-demo.md). Starts the mock in-process on
 * a free loopback port, writes a small timed dataset (a steady stream of streaming chat
 * requests with shared prefixes, then a burst, then a tail), profiles it through
 * `metronome profile` with a few injected server errors, and leaves every artifact and
 * report.html behind. Needs nothing but the binary: no network, no files.
 */
#include "args.h"
#include "buf.h"
#include "cli.h"
#include "mock.h"
#include "rng.h"
#include "zio.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const struct arg_spec specs[] = {
    {"output-artifact-dir", "-o --artifact-dir", ARG_VALUE, "DIR", "artifacts/demo",
     "where the artifacts and report.html go"},
    {"ui-type", "--ui", ARG_VALUE, "UI", "simple on a TTY", "none or simple"},
    {"random-seed", NULL, ARG_VALUE, "N", "42", "seed of the workload and the mock"},
    {"help", "-h", ARG_FLAG, NULL, NULL, "this text"},
};
#define NSPECS (sizeof specs / sizeof specs[0])

/* The workload: timestamps in ms. A steady Poisson stream at 8 req/s for 6 s, a burst of
 * 24 requests at the same instant, then 3 s more of the steady stream. Every request
 * shares block 1 (a "system prompt"); half share block 2 too, so a prefix cache would
 * see the reuse. Output lengths vary so the latency distribution has some shape. */
static void make_dataset(struct buf *b, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed);
    double t = 0;
    long n = 0;
    for (int phase = 0; phase < 3; phase++) {
        double end = phase == 0 ? 6000 : 9000;
        if (phase == 1) {
            for (int k = 0; k < 24; k++, n++)
                buf_printf(b,
                           "{\"timestamp\": 6000, \"input_length\": 700, \"output_length\": "
                           "%d, \"hash_ids\": [1, %ld]}\n",
                           16 + k % 8, 1000 + n);
            t = 6000;
            continue;
        }
        for (;;) {
            t += rng_exponential(&r, 1000.0 / 8);
            if (t >= end)
                break;
            long osl = 24 + (long)rng_below(&r, 32);
            if (n % 2)
                buf_printf(b,
                           "{\"timestamp\": %.0f, \"input_length\": 1200, \"output_length\": "
                           "%ld, \"hash_ids\": [1, 2, %ld]}\n",
                           t, osl, 1000 + n);
            else
                buf_printf(b,
                           "{\"timestamp\": %.0f, \"input_length\": 800, \"output_length\": "
                           "%ld, \"hash_ids\": [1, %ld]}\n",
                           t, osl, 1000 + n);
            n++;
        }
    }
}

int cmd_demo(int argc, char **argv)
{
    struct args a;
    struct diag d = {0};
    if (args_parse(&a, specs, NSPECS, argc - 1, argv + 1, &d))
        return cli_fail(&d, 1);
    if (args_flag(&a, "help")) {
        args_print_help(stdout, "metronome demo [-o DIR]",
                        "Start the mock in-process and profile it: a full report in seconds.",
                        specs, NSPECS);
        args_free(&a);
        return EXIT_OK;
    }
    if (a.npos) {
        cli_error("unexpected argument '%s'", a.pos[0]);
        args_free(&a);
        return EXIT_USAGE;
    }
    long seed = 42;
    if (args_long(&a, "random-seed", 0, 0x7fffffffL, &seed, &d)) {
        args_free(&a);
        return cli_fail(&d, 1);
    }
    const char *dir = args_get(&a, "output-artifact-dir");
    if (!dir)
        dir = "artifacts/demo";
    const char *ui = args_get(&a, "ui-type");

    char dataset[4200];
    snprintf(dataset, sizeof dataset, "%s/demo_dataset.jsonl", dir);
    struct buf ds;
    buf_init(&ds, 0);
    make_dataset(&ds, (uint64_t)seed);
    int rc = zio_mkdir_p(dir, &d);
    if (!rc)
        rc = afile_write_all(dataset, ds.p, ds.len, &d);
    buf_free(&ds);
    if (rc) {
        args_free(&a);
        return cli_fail(&d, 0);
    }

    /* The mock: 30 ms TTFT, 4 ms ITL with 1 ms jitter, prefill that grows with the
     * prompt, a queue beyond 16 running requests (so the burst queues), and faults on
     * fixed request indexes: two 500s, one 429, one stream cut after 3 chunks. */
    static const char *const fault_specs[] = {"status=500@idx=7,40", "status=429@idx=33",
                                              "close-after=3@idx=60"};
    struct mock_fault faults[3];
    for (int i = 0; i < 3; i++)
        if (mock_fault_parse(fault_specs[i], &faults[i], &d)) {
            args_free(&a);
            return cli_fail(&d, 0);
        }
    struct mock_config mc;
    mock_config_default(&mc);
    mc.host = "127.0.0.1";
    mc.port = 0;
    mc.threads = 1;
    mc.ttft_ns = 30 * 1000000LL;
    mc.itl_ns = 4 * 1000000LL;
    mc.itl_jitter_ns = 1000000LL;
    mc.prefill_per_token_ns = 10000;
    mc.max_concurrency = 16;
    mc.seed = (uint64_t)seed;
    mc.model = "metronome-demo";
    mc.faults = faults;
    mc.nfaults = 3;
    mc.fault_model_index = true; /* the indexes count chat requests, not the scrapes */

    /* Threads started from here inherit the mask, so Ctrl-C reaches replay's signalfd
     * instead of killing the process from a mock thread. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    struct mock_server *srv = NULL;
    if (mock_start(&mc, &srv, &d)) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        args_free(&a);
        return cli_fail(&d, 0);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    char url[64], seed_s[32];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", mock_port(srv));
    snprintf(seed_s, sizeof seed_s, "%ld", seed);
    fprintf(stderr,
            "metronome demo: mock server on %s (TTFT 30 ms, ITL 4+-1 ms, 16 slots, 4 "
            "injected faults)\nmetronome demo: ~9 s fixed schedule of streaming chat: 8 "
            "req/s with shared prefixes, a burst of 24 at t=6 s\n",
            url);

    char *pv[40];
    int n = 0;
    pv[n++] = "profile";
    pv[n++] = "--model-names";
    pv[n++] = "metronome-demo";
    pv[n++] = "--url";
    pv[n++] = url;
    pv[n++] = "--endpoint-type";
    pv[n++] = "chat";
    pv[n++] = "--streaming";
    pv[n++] = "--input-file";
    pv[n++] = dataset;
    pv[n++] = "--custom-dataset-type";
    pv[n++] = "mooncake_trace";
    pv[n++] = "--fixed-schedule";
    pv[n++] = "--random-seed";
    pv[n++] = seed_s;
    pv[n++] = "--request-timeout-seconds";
    pv[n++] = "10";
    pv[n++] = "--output-artifact-dir";
    pv[n++] = (char *)dir;
    if (ui) {
        pv[n++] = "--ui-type";
        pv[n++] = (char *)ui;
    }
    pv[n] = NULL;
    rc = cmd_profile(n, pv);
    mock_stop(srv);
    args_free(&a);
    return rc;
}
