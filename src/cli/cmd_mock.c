/* metronome mock: a thin CLI over mock_start/mock_stop (docs/cli-mock.md, docs/mock.md). */
#include "args.h"
#include "cli.h"
#include "mock.h"
#include "tls.h"
#include "xalloc.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct arg_spec specs[] = {
    {"host", NULL, ARG_VALUE, "ADDR", "127.0.0.1", "address to listen on (numeric IPv4/IPv6)"},
    {"port", "-p", ARG_VALUE, "PORT", "8000", "port to listen on; 0 picks a free one"},
    {"threads", "-j", ARG_VALUE, "N", "1", "worker threads (one epoll loop each)"},
    {"ttft", NULL, ARG_VALUE, "DUR", "20ms",
     "time to first token (units ns, us, ms, s; bare = ms)"},
    {"ttft-jitter", NULL, ARG_VALUE, "DUR", "0", "standard deviation of the TTFT"},
    {"itl", NULL, ARG_VALUE, "DUR", "5ms", "inter-token latency"},
    {"itl-jitter", NULL, ARG_VALUE, "DUR", "0", "standard deviation of each token's ITL"},
    {"rx-timestamps", NULL, ARG_VALUE, "kernel|user", "kernel",
     "TTFT counts from the request's kernel arrival, or from when it was read"},
    {"jitter", NULL, ARG_VALUE, "DIST", "normal",
     "jitter distribution: normal|uniform|exponential"},
    {"prefill-per-token", NULL, ARG_VALUE, "DUR", "0", "TTFT added per prompt token"},
    {"spin", NULL, ARG_VALUE, "DUR", "0",
     "wake DUR before each deadline and busy-wait to it (exact timing for CPU)"},
    {"max-concurrency", NULL, ARG_VALUE, "N", "0",
     "requests running at once; more wait in a queue"},
    {"batch-slowdown", NULL, ARG_VALUE, "F", "0", "ITL *= 1 + F * (running requests - 1)"},
    {"osl", NULL, ARG_VALUE, "N", "100", "output tokens when a request sets no maximum"},
    {"eos-tokens", NULL, ARG_VALUE, "N", "0", "stop after N tokens unless ignore_eos (0: never)"},
    {"tokens-per-chunk", NULL, ARG_VALUE, "N", "1", "tokens coalesced into one SSE event"},
    {"reasoning-tokens", NULL, ARG_VALUE, "N", "0", "chat: reasoning_content tokens first"},
    {"embedding-dim", NULL, ARG_VALUE, "N", "16", "embedding vector length"},
    {"seed", NULL, ARG_VALUE, "N", "0", "seed of the content, jitter and fault choices"},
    {"model", NULL, ARG_VALUE, "NAME", "metronome-mock", "model name served"},
    {"timing-log", NULL, ARG_VALUE, "FILE", NULL, "per-request server timestamps (JSON Lines)"},
    {"kv-cache-tokens", NULL, ARG_VALUE, "N", "262144",
     "tokens the modelled KV cache holds (vllm:kv_cache_usage_perc)"},
    {"dcgm", NULL, ARG_FLAG, NULL, NULL,
     "also serve GET /dcgm/metrics: a DCGM exporter's metrics with synthetic GPU values"},
    {"max-body", NULL, ARG_VALUE, "BYTES", "16777216", "larger request bodies get 413"},
    {"max-connections", NULL, ARG_VALUE, "N", "100000", "open connections per thread"},
    {"fault", NULL, ARG_MULTI, "SPEC", NULL, "inject a fault: NAME[=ARG][@WHEN] (docs/mock.md)"},
    {"tls", NULL, ARG_FLAG, NULL, NULL, "serve HTTPS with --cert and --key"},
    {"cert", NULL, ARG_VALUE, "FILE", NULL, "TLS certificate chain, leaf first (PEM)"},
    {"key", NULL, ARG_VALUE, "FILE", NULL, "TLS private key (PEM)"},
    {"tls-self-signed", NULL, ARG_VALUE, "DIR", NULL,
     "serve HTTPS with a new CA and certificate written to DIR (clients trust DIR/ca.pem)"},
    {"help", "-h", ARG_FLAG, NULL, NULL, "this text"},
};
#define NSPECS (sizeof specs / sizeof specs[0])

/* A duration: a number with an optional unit (ns, us, ms, s); a bare number is ms. */
static int get_duration(const struct args *a, const char *name, int64_t *out, struct diag *d)
{
    const char *v = args_get(a, name);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    double scale = 1e6;
    if (strcmp(end, "ns") == 0)
        scale = 1.0;
    else if (strcmp(end, "us") == 0)
        scale = 1e3;
    else if (strcmp(end, "ms") == 0 || *end == '\0')
        scale = 1e6;
    else if (strcmp(end, "s") == 0)
        scale = 1e9;
    else
        end = NULL;
    if (!end || end == v || errno || !(x >= 0) || x * scale > 1e15)
        return diag_set(d, ERR_INVALID, "--%s: '%s' is not a duration (e.g. 50ms, 200us, 1.5s)",
                        name, v);
    *out = (int64_t)llround(x * scale);
    return 0;
}

static void usage(FILE *f)
{
    args_print_help(f, "metronome mock [OPTIONS]",
                    "A fast OpenAI-compatible server with exact timing and injectable faults.",
                    specs, NSPECS);
}

int cmd_mock(int argc, char **argv)
{
    struct args a;
    struct diag d = {0};
    if (args_parse(&a, specs, NSPECS, argc - 1, argv + 1, &d) != 0)
        return cli_fail(&d, 1);
    if (args_flag(&a, "help")) {
        usage(stdout);
        args_free(&a);
        return EXIT_OK;
    }
    int code = EXIT_USAGE;
    struct mock_fault *faults = NULL;
    struct mock_config c;
    mock_config_default(&c);
    long port = c.port, threads = c.threads, seed = 0, max_body = (long)c.max_body;
    const char *jitter = "normal";
    const char *rx = "kernel";
    if (a.npos > 0) {
        cli_error("mock takes no positional arguments (got '%s')", a.pos[0]);
        goto out;
    }
    const char *ss_dir = args_get(&a, "tls-self-signed");
    bool tls = args_flag(&a, "tls") || ss_dir;
    if (ss_dir && (args_has(&a, "cert") || args_has(&a, "key"))) {
        cli_error("--tls-self-signed makes its own certificate: drop --cert and --key");
        goto out;
    }
    if (!ss_dir && (tls || args_has(&a, "cert") || args_has(&a, "key")) &&
        !(args_flag(&a, "tls") && args_has(&a, "cert") && args_has(&a, "key"))) {
        cli_error(
            "HTTPS needs --tls with both --cert FILE and --key FILE (or --tls-self-signed DIR)");
        goto out;
    }
    if (args_long(&a, "port", 0, 65535, &port, &d) ||
        args_long(&a, "threads", 1, 256, &threads, &d) ||
        get_duration(&a, "ttft", &c.ttft_ns, &d) ||
        get_duration(&a, "ttft-jitter", &c.ttft_jitter_ns, &d) ||
        get_duration(&a, "itl", &c.itl_ns, &d) ||
        get_duration(&a, "itl-jitter", &c.itl_jitter_ns, &d) ||
        args_choice(&a, "jitter", "normal|uniform|exponential", &jitter, &d) ||
        args_choice(&a, "rx-timestamps", "kernel|user", &rx, &d) ||
        get_duration(&a, "prefill-per-token", &c.prefill_per_token_ns, &d) ||
        get_duration(&a, "spin", &c.spin_ns, &d) ||
        args_long(&a, "max-concurrency", 0, 10000000, &c.max_concurrency, &d) ||
        args_double(&a, "batch-slowdown", 0, 1000, &c.batch_slowdown, &d) ||
        args_long(&a, "osl", 1, 1000000, &c.osl, &d) ||
        args_long(&a, "eos-tokens", 0, 1000000, &c.eos_tokens, &d) ||
        args_long(&a, "tokens-per-chunk", 1, 1000000, &c.tokens_per_chunk, &d) ||
        args_long(&a, "reasoning-tokens", 0, 1000000, &c.reasoning_tokens, &d) ||
        args_long(&a, "embedding-dim", 1, 65536, &c.embedding_dim, &d) ||
        args_long(&a, "seed", 0, 0x7fffffffffffffffL, &seed, &d) ||
        args_long(&a, "max-body", 1, 1L << 34, &max_body, &d) ||
        args_long(&a, "max-connections", 1, 10000000, &c.max_connections, &d) ||
        args_long(&a, "kv-cache-tokens", 1, 1L << 40, &c.kv_cache_tokens, &d)) {
        code = cli_fail(&d, 1);
        goto out;
    }
    c.port = (int)port;
    c.kernel_stamps = strcmp(rx, "kernel") == 0;
    c.threads = (int)threads;
    c.seed = (uint64_t)seed;
    c.max_body = (size_t)max_body;
    c.jitter = strcmp(jitter, "uniform") == 0       ? MOCK_JITTER_UNIFORM
               : strcmp(jitter, "exponential") == 0 ? MOCK_JITTER_EXPONENTIAL
                                                    : MOCK_JITTER_NORMAL;
    if (args_get(&a, "host"))
        c.host = args_get(&a, "host");
    if (args_get(&a, "model"))
        c.model = args_get(&a, "model");
    c.timing_log = args_get(&a, "timing-log");
    c.dcgm = args_flag(&a, "dcgm");
    char cert_path[4096], key_path[4096];
    if (ss_dir) {
        /* a certificate for the name clients will use; a loopback address also gets
         * "localhost" and 127.0.0.1 (tls_make_self_signed) */
        const char *name = strcmp(c.host, "127.0.0.1") == 0 ? "localhost" : c.host;
        /* The folder is made if missing (private: it will hold the server key). */
        if (mkdir(ss_dir, 0700) != 0 && errno != EEXIST) {
            diag_at(&d, ERR_IO, ss_dir, 0, "cannot create: %s", strerror(errno));
            code = cli_fail(&d, 0);
            goto out;
        }
        if (tls_make_self_signed(ss_dir, name, &d)) {
            code = cli_fail(&d, 0);
            goto out;
        }
        snprintf(cert_path, sizeof cert_path, "%s/server.pem", ss_dir);
        snprintf(key_path, sizeof key_path, "%s/server.key", ss_dir);
        c.tls_cert = cert_path;
        c.tls_key = key_path;
    } else if (tls) {
        c.tls_cert = args_get(&a, "cert");
        c.tls_key = args_get(&a, "key");
    }
    size_t nf = args_count(&a, "fault");
    faults = xcalloc(nf ? nf : 1, sizeof *faults);
    for (size_t i = 0; i < nf; i++) {
        if (mock_fault_parse(args_multi(&a, "fault", i), &faults[i], &d)) {
            code = cli_fail(&d, 1);
            goto out;
        }
    }
    c.faults = faults;
    c.nfaults = (int)nf;

    /* Workers inherit this mask, so only sigwait below sees the signals. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct mock_server *s = NULL;
    if (mock_start(&c, &s, &d) != 0) {
        code = cli_fail(&d, 0);
        goto out;
    }
    printf("metronome mock: listening on %s://%s%s%s:%d (%ld thread%s)\n", tls ? "https" : "http",
           strchr(c.host, ':') ? "[" : "", c.host, strchr(c.host, ':') ? "]" : "", mock_port(s),
           threads, threads == 1 ? "" : "s");
    if (ss_dir)
        printf("metronome mock: clients trust %s/ca.pem\n", ss_dir);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    mock_stop(s);
    code = EXIT_OK;
out:
    free(faults);
    args_free(&a);
    return code;
}
