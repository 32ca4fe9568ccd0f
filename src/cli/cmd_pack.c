/* metronome pack: a dataset or synthetic options -> trace.jsonl.zst (docs/cli-pack.md). */
#include "args.h"
#include "buf.h"
#include "cli.h"
#include "corpus.h"
#include "dataset.h"
#include "hash.h"
#include "endpoint.h"
#include "jscan.h"
#include "jsonw.h"
#include "media.h"
#include "seqdist.h"
#include "trace_write.h"
#include "xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static const struct arg_spec specs[] = {
    {"help", "-h", ARG_FLAG, NULL, NULL, "this text"},
    {"output", "-o", ARG_VALUE, "FILE", "trace.jsonl.zst", "the trace to write"},
    {"input-file", NULL, ARG_VALUE, "PATH", NULL,
     "dataset file (a directory for random_pool); without it the trace is synthetic"},
    {"custom-dataset-type", NULL, ARG_VALUE, "TYPE", "mooncake_trace",
     "single_turn, multi_turn, random_pool, mooncake_trace, bailian_trace, raw_payload, "
     "burst_gpt_trace (or burstgpt_trace), azure_trace, baseten_trace (Arrow IPC; the default for "
     ".arrow/.ipc/.parquet), weka_trace"},
    {"public-dataset", NULL, ARG_VALUE, "NAME", NULL,
     "sharegpt (read from the local --input-file, never downloaded)"},
    {"model-names", "--model -m", ARG_MULTI, "NAMES", NULL,
     "model name(s), comma-separated or repeated (required)"},
    {"model-selection-strategy", NULL, ARG_VALUE, "S", "round_robin", "round_robin or random"},
    {"endpoint-type", NULL, ARG_VALUE, "TYPE", "chat", "chat, completions, embeddings, responses"},
    {"custom-endpoint", "--endpoint", ARG_VALUE, "PATH", NULL,
     "request path instead of the type's default"},
    {"streaming", NULL, ARG_FLAG, NULL, NULL, "ask for streamed (SSE) responses"},
    {"extra-inputs", NULL, ARG_MULTI, "K:V|JSON", NULL,
     "fields merged last into every body: a JSON object, or k:v pairs (values typed as JSON)"},
    {"random-seed", NULL, ARG_VALUE, "N", "0", "seed of every random draw"},
    {"prompt-input-tokens-mean", "--synthetic-input-tokens-mean --isl", ARG_VALUE, "N", "550",
     "mean prompt length in tokens"},
    {"prompt-input-tokens-stddev", "--synthetic-input-tokens-stddev --isl-stddev", ARG_VALUE, "N",
     "0", "prompt length standard deviation"},
    {"prompt-input-tokens-block-size", "--synthetic-input-tokens-block-size --isl-block-size",
     ARG_VALUE, "N", "512", "tokens per mooncake hash_ids block"},
    {"prompt-output-tokens-mean", "--output-tokens-mean --osl", ARG_VALUE, "N", NULL,
     "mean output length, an integer: the output limit (max_completion_tokens; overrides dataset "
     "lengths)"},
    {"prompt-output-tokens-stddev", "--output-tokens-stddev --osl-stddev", ARG_VALUE, "N", "0",
     "output length standard deviation (truncated to an integer, as AIPerf)"},
    {"prompt-batch-size", "--batch-size-text --batch-size -b", ARG_VALUE, "N", "1",
     "prompts per request"},
    {"prompt-prefix-pool-size", "--prefix-prompt-pool-size --num-prefix-prompts", ARG_VALUE, "N",
     "0", "number of shared prefix prompts"},
    {"prompt-prefix-length", "--prefix-prompt-length", ARG_VALUE, "N", "0",
     "tokens per prefix prompt (first turns only)"},
    {"conversation-num", "--num-conversations --num-sessions", ARG_VALUE, "N", "100",
     "synthetic conversations, every turn of each (random_pool: conversations to draw)"},
    {"num-dataset-entries", "--num-prompts", ARG_VALUE, "N", NULL,
     "unique synthetic conversations the sessions are drawn from (weka_trace: the first N "
     "traces)"},
    {"dataset-sampling-strategy", NULL, ARG_VALUE, "S", "sequential",
     "how each session picks its conversation: sequential (in order, wrapping), random "
     "(with replacement) or shuffle (without, reshuffled each pass)"},
    {"request-count", "--num-requests", ARG_VALUE, "N", NULL,
     "requests in the trace (synthetic: conversations drawn until reached)"},
    {"conversation-turn-mean", "--session-turns-mean", ARG_VALUE, "N", "1", "mean turns"},
    {"conversation-turn-stddev", "--session-turns-stddev", ARG_VALUE, "N", "0", "turns stddev"},
    {"conversation-turn-delay-mean", "--session-turn-delay-mean", ARG_VALUE, "MS", "0",
     "mean delay before later turns"},
    {"conversation-turn-delay-stddev", "--session-turn-delay-stddev", ARG_VALUE, "MS", "0",
     "delay standard deviation"},
    {"conversation-turn-delay-ratio", "--session-delay-ratio", ARG_VALUE, "R", "1",
     "scales every turn delay"},
    {"request-rate", NULL, ARG_VALUE, "R", NULL,
     "synthetic arrivals per second: makes the trace timed"},
    {"user-centric-rate", NULL, ARG_VALUE, "R", NULL,
     "AIPerf's user-centric schedule at R req/s over --num-users users (a timed trace; the "
     "packed conversations are the pool they take theirs from)"},
    {"num-users", NULL, ARG_VALUE, "N", NULL, "with --user-centric-rate: the users"},
    {"benchmark-duration", NULL, ARG_VALUE, "S", NULL,
     "with --user-centric-rate: no send at or after S seconds"},
    {"warmup-request-count", "--num-warmup-requests", ARG_VALUE, "N", NULL,
     "with --user-centric-rate: a warmup block of AIPerf's first N warmup requests"},
    {"num-warmup-sessions", NULL, ARG_VALUE, "N", NULL,
     "with --user-centric-rate: a warmup block of N whole sessions (with a count: first)"},
    {"warmup-concurrency", NULL, ARG_VALUE, "N", "1",
     "with a warmup block: the closed-loop sessions it is issued by"},
    {"warmup-request-rate", NULL, ARG_VALUE, "R", NULL,
     "with a warmup block: a rate warmup (its sessions one after the other)"},
    {"arrival-pattern", "--request-rate-mode", ARG_VALUE, "P", "poisson",
     "constant, poisson or gamma"},
    {"arrival-smoothness", "--vllm-burstiness", ARG_VALUE, "S", "1",
     "gamma shape (1 = poisson, < 1 burstier)"},
    {"tokenizer", NULL, ARG_VALUE, "NAME|PATH", "builtin",
     "tokenizer.json (or its directory), or a Hugging Face name found in the local cache; "
     "builtin = the approximation approx-words-v1 (docs/tokenizers.md)"},
    {"tokenizer-revision", NULL, ARG_VALUE, "REV", "main",
     "branch, tag or commit of a Hugging Face name"},
    {"tokenizer-trust-remote-code", NULL, ARG_FLAG, NULL, NULL,
     "refused: metronome runs no remote code"},
    {"seq-dist", "--sequence-distribution", ARG_VALUE, "DIST", NULL,
     "per-turn (ISL,OSL) pairs with percentages, e.g. \"128,64:25;512|20,128:75\" "
     "(also [(ISL,OSL):P,...] and {\"pairs\":[...]})"},
    {"random-range-ratio", NULL, ARG_VALUE, "R", NULL,
     "ISL and OSL uniform in a window around --isl/--osl (R or {\"input\":R,\"output\":R})"},
    {"random-corpus-style", NULL, ARG_VALUE, "S", "vllm",
     "vllm or sglang: the --random-range-ratio window"},
    {"prompt-corpus", NULL, ARG_VALUE, "C", "sonnet", "sonnet (the only corpus)"},
    {"system-prompt", NULL, ARG_VALUE, "TEXT", NULL,
     "verbatim system message of every conversation (chat, responses)"},
    {"system-prompt-file", NULL, ARG_VALUE, "FILE", NULL, "the same, read from a UTF-8 file"},
    {"shared-system-prompt-length", NULL, ARG_VALUE, "N", NULL,
     "a synthetic system message of N tokens shared by every conversation (chat)"},
    {"user-context-prompt-length", NULL, ARG_VALUE, "N", NULL,
     "a synthetic user message of N tokens, unique per conversation, before its first "
     "turn (chat)"},
    {"use-legacy-max-tokens", NULL, ARG_FLAG, NULL, NULL,
     "chat: ask with max_tokens instead of max_completion_tokens"},
    {"per-chunk-usage", NULL, ARG_FLAG, NULL, NULL,
     "streamed chat: also ask for stream_options.continuous_usage_stats"},
    {"synthesis-speedup-ratio", NULL, ARG_VALUE, "X", "1",
     "mooncake_trace: timestamps divided by X"},
    {"synthesis-prefix-len-multiplier", NULL, ARG_VALUE, "X", "1",
     "mooncake_trace: shared hash-id prefixes X times as long"},
    {"synthesis-prefix-root-multiplier", NULL, ARG_VALUE, "N", "1",
     "mooncake_trace: lines spread over N independent prefix trees"},
    {"synthesis-prompt-len-multiplier", NULL, ARG_VALUE, "X", "1",
     "mooncake_trace: unshared prompt parts X times as long"},
    {"synthesis-output-len-multiplier", NULL, ARG_VALUE, "X", "1",
     "mooncake_trace: output lengths times X"},
    {"synthesis-max-isl", NULL, ARG_VALUE, "N", NULL,
     "mooncake_trace: leave out lines with input_length > N"},
    {"synthesis-max-osl", NULL, ARG_VALUE, "N", NULL, "mooncake_trace: cap output lengths at N"},
    {"trace-session-sample-ratio", NULL, ARG_VALUE, "X", NULL,
     "baseten_trace: keep this fraction (0..1] of the sessions, whole (seeded)"},
    {"replay-speedup", NULL, ARG_VALUE, "X", NULL,
     "baseten_trace: timestamps and think times divided by X (hash ids untouched)"},
    {"max-idle-gap-cap-seconds", NULL, ARG_VALUE, "S", NULL,
     "baseten_trace: gaps between consecutive requests (all sessions) cut to S"},
    {"open-loop-replay", NULL, ARG_FLAG, NULL, "on",
     "baseten_trace: later turns at max(own time, previous reply); --no-open-loop-replay: "
     "a think time after the previous reply"},
    {"open-loop-strict", NULL, ARG_FLAG, NULL, NULL,
     "baseten_trace, open loop: every row its own single-turn session at its time"},
    {"omit-kv-hints", NULL, ARG_FLAG, NULL, NULL,
     "baseten_trace: no hash_ids / block_size in the bodies"},
    {"force-min-tokens", NULL, ARG_FLAG, NULL, "on",
     "baseten_trace: min_tokens = the recorded output length (--no-force-min-tokens: none)"},
    {"ignore-trace-delays", NULL, ARG_FLAG, NULL, NULL,
     "weka_trace: no delays between turns (each turn right after the previous reply)"},
    {"use-think-time-only", NULL, ARG_FLAG, NULL, NULL,
     "weka_trace: a later turn waits its recorded think_time (else the idle gap)"},
    {"trace-idle-gap-cap-seconds", NULL, ARG_VALUE, "S", NULL,
     "weka_trace: gaps between request starts of one trace above S cut to S"},
    {"max-context-length", NULL, ARG_VALUE, "N", NULL,
     "weka_trace: traces whose peak in + max tokens is above N left out whole"},
    {"uuid-and-strip", NULL, ARG_FLAG, NULL, NULL,
     "chat, single_turn: an image whose image_uuids/uuids id an earlier row of the same "
     "session_id sent with its bytes goes with an empty url (vLLM's multimodal cache)"},
    {"inter-turn-delay-cap-seconds", NULL, ARG_VALUE, "S", NULL,
     "authored turn delays (mooncake/multi_turn delay, baseten think times) capped at S"},
    {"rankings-passages-mean", NULL, ARG_VALUE, "N", "1", "rankings: passages per request"},
    {"rankings-passages-stddev", NULL, ARG_VALUE, "N", "0", "rankings: passages stddev"},
    {"rankings-passages-prompt-token-mean", NULL, ARG_VALUE, "N", "550",
     "rankings: tokens per passage"},
    {"rankings-passages-prompt-token-stddev", NULL, ARG_VALUE, "N", "0",
     "rankings: tokens per passage, stddev"},
    {"rankings-query-prompt-token-mean", NULL, ARG_VALUE, "N", "550", "rankings: query tokens"},
    {"rankings-query-prompt-token-stddev", NULL, ARG_VALUE, "N", "0",
     "rankings: query tokens, stddev"},
    {"cache-bust", NULL, ARG_VALUE, "T", "none",
     "chat/responses: a per-session [rid:...] marker, system_prefix, system_suffix, "
     "first_turn_prefix or first_turn_suffix"},
    {"allow-dataset-wrap", NULL, ARG_FLAG, NULL, NULL,
     "accepted, no effect: AIPerf reads it in agentic replay only (--no-allow-dataset-wrap)"},
    {"compression-level", NULL, ARG_VALUE, "N", "1",
     "zstd level 1..19 of the request lines (the text frame uses at least 6)"},
    MEDIA_ARG_SPECS,
};

#define NSPECS (sizeof specs / sizeof specs[0])

static const char *trim(const char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

/* Merges every --extra-inputs into one JSON object (the parser replay shares). */
static int extra_inputs(const struct args *a, struct buf *out, struct diag *d)
{
    size_t n = args_count(a, "extra-inputs");
    if (n == 0)
        return 0;
    const char **v = xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = args_multi(a, "extra-inputs", i);
    int rc = tw_extra_inputs(v, n, out, d);
    free(v);
    return rc;
}

/* sha256 of a file, streamed. */
static int file_sha256(const char *path, char hex[65], size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ERR_IO;
    mbedtls_sha256_context ctx;
    mbedtls_sha256_init(&ctx);
    mbedtls_sha256_starts(&ctx, 0);
    unsigned char *chunk = xmalloc(1 << 20);
    size_t k, total = 0;
    while ((k = fread(chunk, 1, 1 << 20, f)) > 0) {
        mbedtls_sha256_update(&ctx, chunk, k);
        total += k;
    }
    int bad = ferror(f);
    fclose(f);
    free(chunk);
    unsigned char sum[32];
    mbedtls_sha256_finish(&ctx, sum);
    mbedtls_sha256_free(&ctx);
    if (bad)
        return ERR_IO;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", sum[i]);
    *size = total;
    return 0;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Splits every --model-names value on commas into models[] (pointers into storage). */
static size_t split_models(const struct args *a, char ***models, char **storage)
{
    struct buf all;
    buf_init(&all, 0);
    for (size_t i = 0; i < args_count(a, "model-names"); i++) {
        if (i)
            buf_putc(&all, ',');
        buf_puts(&all, args_multi(a, "model-names", i));
    }
    size_t n = 0;
    *models = xmalloc((all.len + 1) * sizeof **models);
    char *s = all.p;
    while (s && *s) {
        char *comma = strchr(s, ',');
        if (comma)
            *comma = '\0';
        size_t len = strlen(s);
        const char *t = trim(s, &len);
        ((char *)t)[len] = '\0';
        if (len)
            (*models)[n++] = (char *)t;
        if (!comma)
            break;
        s = comma + 1;
    }
    *storage = buf_release(&all);
    return n;
}

static void header_options(struct buf *b, const struct dataset_opts *o, const char *source)
{
    struct jsonw j;
    jsonw_init(&j, b);
    jsonw_obj_begin(&j);
    jsonw_key(&j, "source");
    jsonw_str(&j, source);
    jsonw_key(&j, "models");
    jsonw_arr_begin(&j);
    for (size_t i = 0; i < o->nmodels; i++)
        jsonw_str(&j, o->models[i]);
    jsonw_arr_end(&j);
    jsonw_key(&j, "model_selection");
    jsonw_str(&j, o->model_random ? "random" : "round_robin");
    jsonw_key(&j, "isl");
    jsonw_double(&j, o->isl_mean);
    jsonw_key(&j, "isl_stddev");
    jsonw_double(&j, o->isl_stddev);
    jsonw_key(&j, "block_size");
    jsonw_int(&j, o->block_size);
    if (o->osl_set) {
        jsonw_key(&j, "osl");
        jsonw_double(&j, o->osl_mean);
        jsonw_key(&j, "osl_stddev");
        jsonw_double(&j, o->osl_stddev);
    }
    jsonw_key(&j, "batch_size");
    jsonw_int(&j, o->batch_size);
    jsonw_key(&j, "prefix_pool");
    jsonw_int(&j, o->prefix_pool);
    jsonw_key(&j, "prefix_length");
    jsonw_int(&j, o->prefix_len);
    jsonw_key(&j, "conversations");
    jsonw_int(&j, o->conversations);
    jsonw_key(&j, "request_count");
    jsonw_int(&j, o->request_count);
    if (o->entries > 0) { /* only when given: older traces stay byte-identical */
        jsonw_key(&j, "dataset_entries");
        jsonw_int(&j, o->entries);
    }
    if (o->sampling != SAMPLING_SEQUENTIAL) { /* the default is left out, as above */
        jsonw_key(&j, "dataset_sampling_strategy");
        jsonw_str(&j, o->sampling == SAMPLING_RANDOM ? "random" : "shuffle");
    }
    jsonw_key(&j, "turns");
    jsonw_double(&j, o->turns_mean);
    jsonw_key(&j, "turns_stddev");
    jsonw_double(&j, o->turns_stddev);
    jsonw_key(&j, "turn_delay_ms");
    jsonw_double(&j, o->delay_mean);
    jsonw_key(&j, "turn_delay_stddev_ms");
    jsonw_double(&j, o->delay_stddev);
    jsonw_key(&j, "turn_delay_ratio");
    jsonw_double(&j, o->delay_ratio);
    if (o->rate > 0) {
        jsonw_key(&j, "request_rate");
        jsonw_double(&j, o->rate);
        jsonw_key(&j, "arrival_pattern");
        jsonw_str(&j, o->arrival);
        jsonw_key(&j, "arrival_smoothness");
        jsonw_double(&j, o->smoothness);
    }
    jsonw_obj_end(&j);
}

/* The most requests one trace holds: replay indexes sessions and hash blocks with 32-bit
 * slots and turns with an int, so 2^31 - 1; `--conversation-num 1e12` used to be accepted
 * and run for days. */
#define PACK_MAX_REQUESTS 2147483647L
/* What a synthetic trace costs at the least, per request: 8 bytes of schedule key held in
 * memory until the trace is written, and about 8 bytes of compressed request line on disk
 * (a measured 11 bytes a request for 10^6 synthetic requests of 1000 tokens). */
#define PACK_MEM_PER_REQUEST  8.0
#define PACK_DISK_PER_REQUEST 8.0

/* Refuses a synthetic trace that cannot fit: more requests than a trace holds, or than
 * this host's memory or the output's file system can take at the least, before an hour of
 * packing finds out. Datasets are bounded by their file. */
static int check_fits(const struct dataset_opts *o, const char *outp, struct diag *d)
{
    double turns = o->turns_mean + 3 * o->turns_stddev;
    double n = o->request_count > 0 ? (double)o->request_count
                                    : (double)(o->conversations > 0 ? o->conversations : 100) *
                                          (turns > 1 ? turns : 1);
    if (n > (double)PACK_MAX_REQUESTS)
        return diag_set(d, ERR_INVALID,
                        "--conversation-num x --conversation-turn-mean makes about %.3g requests: "
                        "more than a trace holds (%ld)",
                        n, PACK_MAX_REQUESTS);
    double mem = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (mem > 0 && n * PACK_MEM_PER_REQUEST > mem)
        return diag_set(d, ERR_INVALID,
                        "%.3g requests need at least %.1f GiB of memory to pack; this host has "
                        "%.1f GiB",
                        n, n * PACK_MEM_PER_REQUEST / 1073741824.0, mem / 1073741824.0);
    if (strcmp(outp, "-") != 0) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", outp);
        char *slash = strrchr(dir, '/');
        if (!slash)
            snprintf(dir, sizeof dir, ".");
        else
            slash[slash == dir ? 1 : 0] = '\0';
        struct statvfs fs;
        if (statvfs(dir, &fs) == 0) {
            double avail = (double)fs.f_bavail * (double)fs.f_frsize;
            /* the body is written once as a temporary file and once into the trace */
            if (n * PACK_DISK_PER_REQUEST * 2 > avail)
                return diag_set(d, ERR_INVALID,
                                "%.3g requests need at least %.1f MiB of disk; %s has %.1f MiB "
                                "free",
                                n, n * PACK_DISK_PER_REQUEST * 2 / 1048576.0, dir,
                                avail / 1048576.0);
        }
    }
    return 0;
}

static int parse_opts(const struct args *a, struct dataset_opts *o, struct diag *d)
{
    long seed = 0, level = 1;
    double v;
    int rc = 0;
    rc = rc ? rc : args_long(a, "random-seed", 0, 0x7fffffffffffffffL, &seed, d);
    rc = rc ? rc : args_double(a, "prompt-input-tokens-mean", 0, 1e8, &o->isl_mean, d);
    rc = rc ? rc : args_double(a, "prompt-input-tokens-stddev", 0, 1e8, &o->isl_stddev, d);
    rc = rc ? rc : args_long(a, "prompt-input-tokens-block-size", 1, 1 << 24, &o->block_size, d);
    if (!rc && args_has(a, "prompt-output-tokens-mean")) {
        long osl = 0; /* an integer, as AIPerf 0.13 parses it (20.5 is refused there too) */
        rc = args_long(a, "prompt-output-tokens-mean", 0, 100000000L, &osl, d);
        o->osl_mean = (double)osl;
        o->osl_set = osl > 0;
    }
    rc = rc ? rc : args_double(a, "prompt-output-tokens-stddev", 0, 1e8, &o->osl_stddev, d);
    rc = rc ? rc : args_long(a, "prompt-batch-size", 1, 1024, &o->batch_size, d);
    rc = rc ? rc : args_long(a, "prompt-prefix-pool-size", 0, 1 << 20, &o->prefix_pool, d);
    rc = rc ? rc : args_long(a, "prompt-prefix-length", 0, 1 << 24, &o->prefix_len, d);
    rc = rc ? rc : args_long(a, "conversation-num", 1, PACK_MAX_REQUESTS, &o->conversations, d);
    rc = rc ? rc : args_long(a, "request-count", 1, PACK_MAX_REQUESTS, &o->request_count, d);
    rc = rc ? rc : args_long(a, "num-dataset-entries", 1, PACK_MAX_REQUESTS, &o->entries, d);
    rc = rc ? rc : args_double(a, "conversation-turn-mean", 1, 1e6, &o->turns_mean, d);
    rc = rc ? rc : args_double(a, "conversation-turn-stddev", 0, 1e6, &o->turns_stddev, d);
    rc = rc ? rc : args_double(a, "conversation-turn-delay-mean", 0, 1e9, &o->delay_mean, d);
    rc = rc ? rc : args_double(a, "conversation-turn-delay-stddev", 0, 1e9, &o->delay_stddev, d);
    rc = rc ? rc : args_double(a, "conversation-turn-delay-ratio", 0, 1e6, &o->delay_ratio, d);
    v = 0;
    rc = rc ? rc : args_double(a, "request-rate", 1e-9, 1e9, &v, d);
    o->rate = v;
    rc = rc ? rc : args_choice(a, "arrival-pattern", "constant|poisson|gamma", &o->arrival, d);
    rc = rc ? rc : args_double(a, "arrival-smoothness", 1e-6, 1e6, &o->smoothness, d);
    rc = rc ? rc : args_long(a, "compression-level", 1, 19, &level, d);
    /* AIPerf's enum values match case-insensitively */
    const char *samp = args_get(a, "dataset-sampling-strategy");
    o->sampling = SAMPLING_SEQUENTIAL;
    if (!rc && samp) {
        if (!strcasecmp(samp, "random"))
            o->sampling = SAMPLING_RANDOM;
        else if (!strcasecmp(samp, "shuffle"))
            o->sampling = SAMPLING_SHUFFLE;
        else if (strcasecmp(samp, "sequential"))
            rc = diag_set(d, ERR_INVALID,
                          "--dataset-sampling-strategy: '%s' is not one of sequential|random|"
                          "shuffle",
                          samp);
    }
    const char *strat = "round_robin";
    rc = rc ? rc : args_choice(a, "model-selection-strategy", "round_robin|random", &strat, d);
    o->model_random = !strcmp(strat, "random");
    o->seed = (uint64_t)seed;
    if (!rc && !args_has(a, "conversation-num"))
        o->conversations = 0;
    o->wk_entries = o->entries > 0 ? o->entries : o->conversations;
    rc = rc ? rc : args_double(a, "synthesis-speedup-ratio", 0, 1e9, &o->syn_speedup, d);
    rc =
        rc ? rc : args_double(a, "synthesis-prefix-len-multiplier", 0, 1e4, &o->syn_prefix_mult, d);
    rc = rc ? rc
            : args_long(a, "synthesis-prefix-root-multiplier", 1, 1 << 20, &o->syn_root_mult, d);
    rc =
        rc ? rc : args_double(a, "synthesis-prompt-len-multiplier", 0, 1e4, &o->syn_prompt_mult, d);
    rc =
        rc ? rc : args_double(a, "synthesis-output-len-multiplier", 0, 1e6, &o->syn_output_mult, d);
    rc = rc ? rc : args_long(a, "synthesis-max-isl", 1, 1L << 40, &o->syn_max_isl, d);
    rc = rc ? rc : args_long(a, "synthesis-max-osl", 1, 1L << 40, &o->syn_max_osl, d);
    rc = rc ? rc : args_double(a, "trace-session-sample-ratio", 0, 1, &o->bt_sample_ratio, d);
    rc = rc ? rc : args_double(a, "replay-speedup", 0, 1e9, &o->bt_speedup, d);
    rc = rc ? rc : args_double(a, "max-idle-gap-cap-seconds", 0, 1e9, &o->bt_idle_gap_cap_s, d);
    rc = rc ? rc : args_double(a, "inter-turn-delay-cap-seconds", 0, 1e9, &o->delay_cap_s, d);
    rc = rc ? rc : args_double(a, "trace-idle-gap-cap-seconds", 0, 1e9, &o->wk_idle_gap_cap_s, d);
    o->wk_ignore_delays = args_flag(a, "ignore-trace-delays");
    o->uuid_strip = args_flag(a, "uuid-and-strip");
    o->wk_think_only = args_flag(a, "use-think-time-only");
    rc = rc ? rc : args_long(a, "max-context-length", 1, LONG_MAX, &o->wk_max_ctx, d);
    if (!rc)
        for (const char *const *p =
                 (const char *const[]){"trace-session-sample-ratio", "replay-speedup",
                                       "max-idle-gap-cap-seconds", NULL};
             *p; p++) {
            double x = 1;
            args_double(a, *p, 0, 1e9, &x, d);
            if (x <= 0) /* AIPerf: gt=0 */
                return diag_set(d, ERR_INVALID, "--%s: must be > 0, not %s", *p, args_get(a, *p));
        }
    o->bt_open_loop = !args_has(a, "open-loop-replay") || args_flag(a, "open-loop-replay");
    o->bt_open_loop_strict = args_flag(a, "open-loop-strict");
    o->bt_omit_kv_hints = args_flag(a, "omit-kv-hints");
    o->bt_force_min_tokens = !args_has(a, "force-min-tokens") || args_flag(a, "force-min-tokens");
    rc = rc ? rc : args_double(a, "rankings-passages-mean", 1, 4096, &o->rk_passages, d);
    rc = rc ? rc : args_double(a, "rankings-passages-stddev", 0, 4096, &o->rk_passages_sd, d);
    rc = rc ? rc
            : args_double(a, "rankings-passages-prompt-token-mean", 1, 1e7, &o->rk_passage_tokens,
                          d);
    rc = rc ? rc
            : args_double(a, "rankings-passages-prompt-token-stddev", 0, 1e7,
                          &o->rk_passage_tokens_sd, d);
    rc = rc ? rc
            : args_double(a, "rankings-query-prompt-token-mean", 1, 1e7, &o->rk_query_tokens, d);
    rc = rc ? rc
            : args_double(a, "rankings-query-prompt-token-stddev", 0, 1e7, &o->rk_query_tokens_sd,
                          d);
    rc =
        rc ? rc : args_long(a, "shared-system-prompt-length", 1, 1 << 24, &o->shared_system_len, d);
    rc = rc ? rc : args_long(a, "user-context-prompt-length", 1, 1 << 24, &o->user_context_len, d);
    return rc;
}

/* A --system-prompt-file's text (malloc'd), refused when unreadable, not a regular file,
 * too large or blank. */
static int read_system_file(const char *path, char **out, struct diag *d)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return diag_set(d, ERR_INVALID, "--system-prompt-file %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return diag_set(d, ERR_INVALID, "--system-prompt-file %s: not a regular file", path);
    if (st.st_size > (16 << 20))
        return diag_set(d, ERR_INVALID, "--system-prompt-file %s: larger than 16 MiB", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return diag_set(d, ERR_INVALID, "--system-prompt-file %s: %s", path, strerror(errno));
    char *t = xmalloc((size_t)st.st_size + 1);
    size_t n = fread(t, 1, (size_t)st.st_size, f);
    bool err = ferror(f);
    fclose(f);
    t[n] = '\0';
    if (err || strlen(t) != n) {
        free(t);
        return diag_set(d, ERR_INVALID, "--system-prompt-file %s: %s", path,
                        err ? "read error" : "contains a NUL byte");
    }
    *out = t;
    return 0;
}

static bool blank_text(const char *s)
{
    for (; *s; s++)
        if (!strchr(" \t\r\n\f\v", *s))
            return false;
    return true;
}

/* The input options (AIPerf 0.13's prompt, system prompt and sequence-length options),
 * checked together: each refusal names the option and the value. *sys gets the system
 * prompt (malloc'd) or NULL; *seq is filled when one of the two samplers is given. */
/* AIPerf 0.13's guards around its baseten_trace loader: the replay knobs only with it;
 * with it, no synthesis that reshapes hash ids or timestamps (--replay-speedup paces
 * replay), and no --extra-inputs key the loader overwrites per turn. */
static int baseten_opts(const struct args *a, bool baseten, const char *extra, size_t nextra,
                        struct diag *d)
{
    static const char *const only[] = {"trace-session-sample-ratio",
                                       "replay-speedup",
                                       "max-idle-gap-cap-seconds",
                                       "open-loop-replay",
                                       "open-loop-strict",
                                       "omit-kv-hints",
                                       "force-min-tokens"};
    for (size_t i = 0; i < sizeof only / sizeof only[0]; i++)
        if (args_has(a, only[i]) && !baseten)
            return diag_set(d, ERR_INVALID,
                            "--%s is only supported by the baseten_trace loader; provide "
                            "--input-file and --custom-dataset-type baseten_trace",
                            only[i]);
    if (!baseten)
        return 0;
    if (args_has(a, "synthesis-speedup-ratio"))
        return diag_set(d, ERR_INVALID,
                        "--synthesis-speedup-ratio is not supported with --custom-dataset-type "
                        "baseten_trace; use --replay-speedup to scale replay pacing");
    static const char *const reshape[] = {"synthesis-prefix-len-multiplier",
                                          "synthesis-prefix-root-multiplier",
                                          "synthesis-prompt-len-multiplier"};
    for (size_t i = 0; i < sizeof reshape / sizeof reshape[0]; i++)
        if (args_has(a, reshape[i]))
            return diag_set(d, ERR_INVALID,
                            "--%s is not supported with --custom-dataset-type baseten_trace: it "
                            "replays recorded prompts verbatim",
                            reshape[i]);
    if (args_has(a, "synthesis-output-len-multiplier"))
        return diag_set(d, ERR_UNSUPPORTED,
                        "--synthesis-output-len-multiplier: not supported yet with "
                        "baseten_trace");
    if (!extra)
        return 0;
    struct jiter it;
    struct jval k, v;
    if (jscan_object(&it, extra, nextra))
        return 0;
    while (jscan_member(&it, &k, &v) == 1) {
        const char *key = jval_is(&k, "min_tokens")   ? "min_tokens"
                          : jval_is(&k, "hash_ids")   ? "hash_ids"
                          : jval_is(&k, "block_size") ? "block_size"
                                                      : NULL;
        bool force_min = !args_has(a, "force-min-tokens") || args_flag(a, "force-min-tokens");
        if (key && (!strcmp(key, "min_tokens") ? !force_min : args_flag(a, "omit-kv-hints")))
            continue; /* the loader does not set it: the user's value goes through */
        if (key)
            return diag_set(
                d, ERR_INVALID,
                "--extra-inputs %s is overwritten per-turn by the baseten_trace "
                "loader; pass %s to send your value instead",
                key, !strcmp(key, "min_tokens") ? "--no-force-min-tokens" : "--omit-kv-hints");
    }
    return 0;
}

/* The three FileDataset knobs only AIPerf 0.13's weka_trace loader reads. AIPerf accepts
 * them with every other dataset and they change nothing there: so here too, with a
 * warning that says so. --ignore-trace-delays with --use-think-time-only is refused with
 * any dataset file, as AIPerf's FileDataset validator refuses the pair (a synthetic run,
 * which has no FileDataset, takes it). */
static int weka_opts(const struct args *a, bool weka, const char *dtype, bool input, struct diag *d)
{
    if (input && args_flag(a, "ignore-trace-delays") && args_flag(a, "use-think-time-only"))
        return diag_set(d, ERR_INVALID,
                        "--ignore-trace-delays and --use-think-time-only are mutually exclusive "
                        "(each sets the turn delay differently)");
    static const char *const only[] = {"ignore-trace-delays", "use-think-time-only",
                                       "trace-idle-gap-cap-seconds"};
    for (size_t i = 0; i < sizeof only / sizeof only[0] && !weka; i++)
        if (args_has(a, only[i]))
            cli_warn("--%s has no effect with %s (AIPerf 0.13 reads it only in its weka_trace "
                     "loader)",
                     only[i], input ? dtype : "a synthetic dataset");
    /* --max-context-length: AIPerf 0.13 refuses it with every dataset that is surely not
     * weka (synthetic data, another --custom-dataset-type, a non-weka --public-dataset);
     * a file with no --custom-dataset-type it lets through (its content might be a weka
     * trace), and its loader then ignores it, so that is a warning here */
    const char *mcl = args_get(a, "max-context-length");
    if (mcl && !weka) {
        if (!input || args_has(a, "custom-dataset-type") || args_has(a, "public-dataset"))
            return diag_set(d, ERR_INVALID,
                            "--max-context-length %s: only the weka_trace loader reads it "
                            "(AIPerf 0.13 refuses it with %s%s)",
                            mcl, input ? "" : "synthetic data", input ? dtype : "");
        cli_warn("--max-context-length has no effect with %s (AIPerf 0.13 reads it only in its "
                 "weka_trace loader)",
                 dtype);
    }
    return 0;
}

/* --uuid-and-strip as AIPerf 0.13 validates it: chat only (its endpoint config), and
 * refused with multi_turn (its loader raises); with any other source it changes nothing,
 * as in AIPerf, whose single_turn loader alone strips (source NULL: synthetic). */
static int uuid_opts(const struct args *a, const char *etype, const char *source, struct diag *d)
{
    if (!args_flag(a, "uuid-and-strip"))
        return 0;
    if (strcmp(etype, "chat"))
        return diag_set(d, ERR_INVALID,
                        "--uuid-and-strip requires --endpoint-type chat (not %s): only chat "
                        "bodies carry image ids",
                        etype);
    if (source && !strcmp(source, "multi_turn"))
        return diag_set(d, ERR_INVALID,
                        "--uuid-and-strip: not with --custom-dataset-type multi_turn (AIPerf "
                        "0.13 refuses it too): give single_turn rows grouped by session_id");
    if (!source || strcmp(source, "single_turn"))
        cli_warn("--uuid-and-strip has no effect with %s (AIPerf 0.13 strips repeated images "
                 "in single_turn datasets only)",
                 source ? source : "a synthetic dataset");
    return 0;
}

static int input_opts(const struct args *a, struct dataset_opts *o, const char *etype, bool input,
                      bool mooncake, struct seqdist *seq, char **sys, struct diag *d)
{
    const char *v;
    *sys = NULL;
    const char *corpus = "sonnet", *style = "vllm";
    int rc = args_choice(a, "prompt-corpus", "sonnet", &corpus, d);
    rc = rc ? rc : args_choice(a, "random-corpus-style", "vllm|sglang", &style, d);
    if (rc)
        return rc;
    bool chat = !strcmp(etype, "chat");
    if (args_has(a, "system-prompt") && args_has(a, "system-prompt-file"))
        return diag_set(d, ERR_INVALID,
                        "--system-prompt and --system-prompt-file are mutually "
                        "exclusive; give one");
    if ((v = args_get(a, "system-prompt"))) {
        if (blank_text(v))
            return diag_set(d, ERR_INVALID, "--system-prompt '%s': empty or white space only", v);
        *sys = xstrdup(v);
    } else if ((v = args_get(a, "system-prompt-file"))) {
        if ((rc = read_system_file(v, sys, d)))
            return rc;
        if (blank_text(*sys)) {
            free(*sys);
            *sys = NULL;
            return diag_set(d, ERR_INVALID, "--system-prompt-file %s: empty or white space only",
                            v);
        }
    }
    const char *sysopt = args_has(a, "system-prompt") ? "--system-prompt" : "--system-prompt-file";
    if (*sys && !chat && strcmp(etype, "responses"))
        rc = diag_set(d, ERR_INVALID,
                      "%s: the %s endpoint sends no system message (chat and "
                      "responses do)",
                      sysopt, etype);
    else if (*sys && o->shared_system_len > 0)
        rc = diag_set(d, ERR_INVALID,
                      "%s and --shared-system-prompt-length are mutually "
                      "exclusive: both fill the system message",
                      sysopt);
    else if (*sys && (o->prefix_pool > 0 || o->prefix_len > 0))
        rc = diag_set(d, ERR_INVALID,
                      "%s and --num-prefix-prompts/--prefix-prompt-length are "
                      "mutually exclusive",
                      sysopt);
    else if ((o->shared_system_len > 0 || o->user_context_len > 0) && !chat)
        rc = diag_set(d, ERR_INVALID, "--%s: only chat bodies carry it (endpoint type %s)",
                      o->shared_system_len > 0 ? "shared-system-prompt-length"
                                               : "user-context-prompt-length",
                      etype);
    else if ((o->shared_system_len > 0 || o->user_context_len > 0) && input)
        rc = diag_set(d, ERR_INVALID,
                      "--%s: applies to synthetic prompts only, not to an "
                      "--input-file",
                      o->shared_system_len > 0 ? "shared-system-prompt-length"
                                               : "user-context-prompt-length");
    else if (args_flag(a, "per-chunk-usage") && (!chat || !args_flag(a, "streaming")))
        rc = diag_set(d, ERR_INVALID,
                      "--per-chunk-usage needs the chat endpoint type and "
                      "--streaming");
    if (rc) {
        free(*sys);
        *sys = NULL;
        return rc;
    }
    o->rankings = strstr(etype, "_rankings") != NULL;
    if (o->rankings && input)
        return diag_set(d, ERR_INVALID,
                        "--endpoint-type %s: rankings requests are synthetic "
                        "(query and passages); an --input-file is not read "
                        "for them yet",
                        etype);
    if (o->rankings && args_flag(a, "streaming"))
        cli_warn("--streaming: the %s endpoint does not stream; streaming is off", etype);
    static const char *const rk_opts[] = {
        "rankings-passages-mean",
        "rankings-passages-stddev",
        "rankings-passages-prompt-token-mean",
        "rankings-passages-prompt-token-stddev",
        "rankings-query-prompt-token-mean",
        "rankings-query-prompt-token-stddev",
    };
    for (size_t i = 0; i < sizeof rk_opts / sizeof rk_opts[0]; i++)
        if (args_has(a, rk_opts[i]) && !o->rankings)
            return diag_set(d, ERR_INVALID,
                            "--%s: applies to the rankings endpoint types (nim_rankings, "
                            "cohere_rankings, hf_tei_rankings)",
                            rk_opts[i]);
    static const char *const synth_opts[] = {
        "synthesis-speedup-ratio",
        "synthesis-prefix-len-multiplier",
        "synthesis-prefix-root-multiplier",
        "synthesis-prompt-len-multiplier",
        "synthesis-output-len-multiplier",
        "synthesis-max-isl",
        "synthesis-max-osl",
    };
    for (size_t i = 0; i < sizeof synth_opts / sizeof synth_opts[0]; i++)
        if (args_has(a, synth_opts[i]) && !mooncake)
            return diag_set(d, ERR_INVALID,
                            "--%s: applies to a mooncake_trace --input-file (AIPerf's trace "
                            "synthesis)",
                            synth_opts[i]);
    const char *sd = args_get(a, "seq-dist"), *rr = args_get(a, "random-range-ratio");
    if (sd && rr)
        rc = diag_set(d, ERR_INVALID, "--random-range-ratio cannot be combined with --seq-dist");
    else if ((sd || rr) && input)
        rc = diag_set(d, ERR_INVALID,
                      "--%s: applies to synthetic prompts only, not to an "
                      "--input-file",
                      sd ? "seq-dist" : "random-range-ratio");
    else if (sd)
        rc = seqdist_parse(seq, "--seq-dist", sd, d);
    else if (rr) {
        if (!args_has(a, "prompt-input-tokens-mean") || !args_has(a, "prompt-output-tokens-mean"))
            rc = diag_set(d, ERR_INVALID,
                          "--random-range-ratio '%s': needs --isl and --osl given "
                          "explicitly",
                          rr);
        else if (o->isl_stddev > 0 || o->osl_stddev > 0)
            rc = diag_set(d, ERR_INVALID,
                          "--random-range-ratio '%s': cannot be combined with "
                          "--isl-stddev or --osl-stddev",
                          rr);
        else
            rc = seqdist_range(seq, rr, style, (long)o->isl_mean, (long)o->osl_mean, d);
    }
    if (!rc && (sd || rr))
        o->seq = seq;
    if (rc) {
        free(*sys);
        *sys = NULL;
    }
    return rc;
}

/* A fresh run id, as AIPerf 0.13's uuid4().hex benchmark id: never derived from the seed,
 * so that two runs of the same trace options do not share markers (and so warm caches). */
static void new_run_id(char out[33])
{
    unsigned char u[16];
    size_t got = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        while (got < sizeof u) {
            ssize_t n = read(fd, u + got, sizeof u - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        close(fd);
    }
    if (got < sizeof u) { /* no /dev/urandom: the clock and the pid, hashed */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t h = hash64_more(HASH64_INIT, &ts, sizeof ts);
        pid_t pid = getpid();
        h = hash64_more(h, &pid, sizeof pid);
        uint64_t h2 = hash64_more(h, "2", 1);
        memcpy(u, &h, 8);
        memcpy(u + 8, &h2, 8);
    }
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", u[i]);
}

/* --cache-bust (AIPerf 0.13's CacheBustTarget, case-insensitive): its RID targets; the
 * warmup-isolation targets are refused with the reason, as are the endpoints AIPerf does
 * not bust and redrawn dataset sessions (a redrawn copy would repeat its marker). */
static int cache_bust_opt(const struct args *a, const char *etype, bool resample, enum tw_bust *out,
                          char run_id[33], struct diag *d)
{
    static const struct {
        const char *name;
        enum tw_bust t;
    } names[] = {{"none", TW_BUST_NONE},
                 {"system_prefix", TW_BUST_SYSTEM_PREFIX},
                 {"system_suffix", TW_BUST_SYSTEM_SUFFIX},
                 {"first_turn_prefix", TW_BUST_FIRST_PREFIX},
                 {"first_turn_suffix", TW_BUST_FIRST_SUFFIX}};
    const char *v = args_get(a, "cache-bust");
    *out = TW_BUST_NONE;
    if (!v)
        return 0;
    size_t i = 0;
    for (; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(v, names[i].name))
            break;
    if (i == sizeof names / sizeof names[0]) {
        if (!strcasecmp(v, "warmup_isolation_system") ||
            !strcasecmp(v, "warmup_isolation_first_turn"))
            return diag_set(d, ERR_UNSUPPORTED,
                            "--cache-bust %s: not supported yet: its [warmup] marker goes on "
                            "warmup requests only, and a trace fixes every body before replay "
                            "picks the warmup requests",
                            v);
        return diag_set(d, ERR_INVALID,
                        "--cache-bust: '%s' is not one of none|system_prefix|system_suffix|"
                        "first_turn_prefix|first_turn_suffix",
                        v);
    }
    if (names[i].t == TW_BUST_NONE)
        return 0;
    if (strcmp(etype, "chat") && strcmp(etype, "responses"))
        return diag_set(d, ERR_INVALID,
                        "--cache-bust %s: not supported by endpoint type %s (AIPerf 0.13 busts "
                        "chat, responses and messages only)",
                        v, etype);
    if (resample)
        return diag_set(d, ERR_UNSUPPORTED,
                        "--cache-bust %s: not supported yet with --dataset-sampling-strategy "
                        "random or shuffle over a dataset file (a redrawn session would repeat "
                        "its marker)",
                        v);
    *out = names[i].t;
    new_run_id(run_id);
    return 0;
}

/* AIPerf 0.13's estimate of a marker's token cost: the mean token count of the 8 markers
 * it builds for run "estimator", passes and indexes 0..7, traces "estimator-I", rounded
 * half to even (Python's round). */
static long bust_marker_tokens(const struct tokenizer *tk, enum tw_bust t)
{
    bool pre = t == TW_BUST_SYSTEM_PREFIX || t == TW_BUST_FIRST_PREFIX;
    long total = 0;
    for (int i = 0; i < 8; i++) {
        char in[64], hex[65], m[32];
        int n = snprintf(in, sizeof in, "estimator:%d:%d:estimator-%d", i, i, i);
        sha256_hex(in, (size_t)n, hex);
        n = snprintf(m, sizeof m, pre ? "[rid:%.12s]\n\n" : "\n\n[rid:%.12s]", hex);
        total += (long)tokenizer_count(tk, m, (size_t)n);
    }
    long q = total / 8, r = total % 8;
    return r > 4 || (r == 4 && (q & 1)) ? q + 1 : q;
}

int cmd_pack(int argc, char **argv)
{
    struct args a;
    struct diag d = {0};
    if (args_parse(&a, specs, NSPECS, argc - 1, argv + 1, &d))
        return cli_fail(&d, 1);
    if (args_flag(&a, "help")) {
        args_print_help(stdout, "metronome pack [OPTIONS] [-o trace.jsonl.zst]",
                        "Turn a dataset or synthetic options into a trace.", specs, NSPECS);
        args_free(&a);
        return EXIT_OK;
    }
    int code = EXIT_ERROR;
    struct dataset_opts o;
    dataset_opts_default(&o);
    char **models = NULL, *model_store = NULL;
    struct buf extra, hopt;
    buf_init(&extra, 1 << 20);
    buf_init(&hopt, 0);
    struct corpus corpus = {0};
    bool have_corpus = false;
    struct tokenizer tk = {0};
    bool have_tk = false;
    struct trace_writer *w = NULL;
    const char *etype = "chat", *dtype = "mooncake_trace", *pub = NULL;
    static struct seqdist seq; /* ~16 KiB: kept off the stack */
    char *sysp = NULL;
    long level = 1;

    if (a.npos) {
        diag_set(&d, ERR_INVALID, "unexpected argument '%s'", a.pos[0]);
        code = cli_fail(&d, 1);
        goto out;
    }
    struct media_opts media;
    if (parse_opts(&a, &o, &d) || media_opts_parse(&a, &media, &d) ||
        args_long(&a, "compression-level", 1, 19, &level, &d) ||
        args_choice(&a, "endpoint-type",
                    "chat|completions|embeddings|responses|nim_rankings|cohere_rankings|"
                    "hf_tei_rankings",
                    &etype, &d) ||
        extra_inputs(&a, &extra, &d)) {
        code = cli_fail(&d, 1);
        goto out;
    }
    /* An unknown dataset is bad input, not a usage slip: exit 1 like every other. */
    if (args_choice(&a, "custom-dataset-type",
                    "single_turn|multi_turn|random_pool|mooncake_trace|bailian_trace|"
                    "raw_payload|burst_gpt_trace|burstgpt_trace|azure_trace|baseten_trace|"
                    "weka_trace",
                    &dtype, &d) ||
        args_choice(&a, "public-dataset", "sharegpt", &pub, &d)) {
        code = cli_fail(&d, 0);
        goto out;
    }
    if (!strcmp(dtype, "burstgpt_trace")) /* an earlier spelling; AIPerf 0.13's name wins */
        dtype = "burst_gpt_trace";
    {
        /* AIPerf 0.13 reads an .arrow/.ipc/.parquet --input-file as baseten_trace (its
         * loader claims those suffixes) */
        const char *in = args_get(&a, "input-file");
        size_t il = in ? strlen(in) : 0;
        if (in && !args_has(&a, "custom-dataset-type") && !args_has(&a, "public-dataset") &&
            ((il > 6 && !strcmp(in + il - 6, ".arrow")) ||
             (il > 4 && !strcmp(in + il - 4, ".ipc")) ||
             (il > 8 && !strcmp(in + il - 8, ".parquet"))))
            dtype = "baseten_trace";
    }
    o.nmodels = split_models(&a, &models, &model_store);
    o.models = (const char *const *)models;
    if (o.nmodels == 0) {
        diag_set(&d, ERR_INVALID, "--model-names is required (the model every request names)");
        code = cli_fail(&d, 1);
        goto out;
    }
    const char *input = args_get(&a, "input-file");
    if (pub && !input) {
        diag_set(&d, ERR_INVALID,
                 "--public-dataset %s reads a local copy: give it with --input-file", pub);
        code = cli_fail(&d, 1);
        goto out;
    }
    if (input && args_has(&a, "request-rate")) {
        diag_set(&d, ERR_INVALID,
                 "--request-rate makes synthetic timestamps; a dataset file "
                 "keeps its own (replay chooses the rate)");
        code = cli_fail(&d, 1);
        goto out;
    }
    /* --user-centric-rate (AIPerf 0.13): the bounds AIPerf validates, before packing */
    struct uc_opts uco = {0};
    bool users = args_has(&a, "user-centric-rate");
    static const char *const uc_only[] = {
        "num-users",           "benchmark-duration", "warmup-request-count",
        "num-warmup-sessions", "warmup-concurrency", "warmup-request-rate"};
    const char *uc_on = NULL;
    for (size_t k = 0; k < sizeof uc_only / sizeof uc_only[0] && !uc_on; k++)
        if (args_has(&a, uc_only[k]))
            uc_on = uc_only[k];
    if (users || uc_on) {
        int urc = 0;
        const char *uv;
        if (!users) {
            urc = diag_set(&d, ERR_INVALID, "--%s %s: needs --user-centric-rate", uc_on,
                           args_get(&a, uc_on));
        } else if (!(uv = args_get(&a, "num-users"))) {
            urc = diag_set(&d, ERR_INVALID, "--user-centric-rate %s: needs --num-users",
                           args_get(&a, "user-centric-rate"));
        }
        urc = urc ? urc : args_double(&a, "user-centric-rate", 1e-9, 1e9, &uco.rate, &d);
        urc = urc ? urc : args_long(&a, "num-users", 1, 100000000, &uco.users, &d);
        urc = urc ? urc : args_double(&a, "benchmark-duration", 1e-6, 1e9, &uco.duration_s, &d);
        /* pack's --request-rate makes a synthetic schedule: the users' replaces it */
        if (!urc && args_has(&a, "request-rate"))
            urc = diag_set(&d, ERR_INVALID, "--user-centric-rate %s: not with --request-rate",
                           args_get(&a, "user-centric-rate"));
        /* AIPerf's warmup phase before it: its sessions go first, from the same sampler */
        double wrate = 0;
        urc = urc ? urc
                  : args_long(&a, "warmup-request-count", 0, PACK_MAX_REQUESTS, &uco.warm_requests,
                              &d);
        urc = urc ? urc
                  : args_long(&a, "num-warmup-sessions", 1, PACK_MAX_REQUESTS, &uco.warm_sessions,
                              &d);
        uco.warm_conc = 1;
        urc = urc ? urc : args_long(&a, "warmup-concurrency", 1, 100000000, &uco.warm_conc, &d);
        urc = urc ? urc : args_double(&a, "warmup-request-rate", 1e-9, 1e9, &wrate, &d);
        uco.warm_rate = wrate;
        /* the conversations users (and the warmup) take are drawn by the sampler, as
         * AIPerf's are; the pool itself is packed once, in order */
        uco.sampling = o.sampling;
        uco.seed = o.seed;
        o.sampling = SAMPLING_SEQUENTIAL;
        /* the warmup's sessions are held in memory while its block is written: at most 10^7
         * warmup requests (a warmup that long is a run of its own) */
        double wspan = uco.warm_requests > 0
                           ? (double)uco.warm_requests
                           : (double)uco.warm_sessions * (o.turns_mean > 1 ? o.turns_mean : 1);
        if (!urc && wspan > 1e7)
            urc =
                diag_set(&d, ERR_INVALID, "%s %s: about %.3g warmup requests, more than 10^7",
                         uco.warm_requests > 0 ? "--warmup-request-count" : "--num-warmup-sessions",
                         args_get(&a, uco.warm_requests > 0 ? "warmup-request-count"
                                                            : "num-warmup-sessions"),
                         wspan);
        /* the schedule is written out whole: bounded as a synthetic trace is */
        double span = uco.rate * uco.duration_s;
        if (!urc && span > (double)PACK_MAX_REQUESTS &&
            !(o.request_count > 0 && o.request_count <= PACK_MAX_REQUESTS))
            urc = diag_set(&d, ERR_INVALID,
                           "--benchmark-duration %s: %.3g requests at --user-centric-rate %s, "
                           "more than %ld",
                           args_get(&a, "benchmark-duration"), span,
                           args_get(&a, "user-centric-rate"), (long)PACK_MAX_REQUESTS);
        double sspan = (double)o.conversations * o.turns_mean;
        if (!urc && sspan > (double)PACK_MAX_REQUESTS && o.request_count <= 0 && span <= 0)
            urc = diag_set(&d, ERR_INVALID,
                           "--conversation-num %ld: about %.3g requests, more than %ld",
                           o.conversations, sspan, (long)PACK_MAX_REQUESTS);
        /* AIPerf: each user needs a session and a request */
        if (!urc && o.request_count > 0 && o.request_count < uco.users)
            urc = diag_set(&d, ERR_INVALID, "--request-count %ld: fewer than --num-users %ld",
                           o.request_count, uco.users);
        if (!urc && o.conversations > 0 && o.conversations < uco.users)
            urc = diag_set(&d, ERR_INVALID, "--conversation-num %ld: fewer than --num-users %ld",
                           o.conversations, uco.users);
        if (urc) {
            code = cli_fail(&d, 1);
            goto out;
        }
        /* the limits go to the schedule; the pack makes the pool (AIPerf sizes it from
         * --num-dataset-entries, else --conversation-num, else --request-count, else 100) */
        uco.requests = o.request_count;
        uco.sessions = o.conversations;
        if (o.entries <= 0)
            o.entries = o.conversations > 0   ? o.conversations
                        : o.request_count > 0 ? o.request_count
                                              : 100;
        o.request_count = 0;
        o.conversations = 0;
    }
    if (!input && args_has(&a, "custom-dataset-type")) {
        diag_set(&d, ERR_INVALID, "--custom-dataset-type %s needs --input-file", dtype);
        code = cli_fail(&d, 1);
        goto out;
    }
    if (media_enabled(&media)) {
        /* AIPerf puts images and audio in chat bodies only (completions and embeddings drop
         * them); metronome refuses rather than generate what is never sent */
        const char *why = input                   ? "synthetic traces (no --input-file)"
                          : strcmp(etype, "chat") ? "--endpoint-type chat"
                                                  : NULL;
        if (why) {
            diag_set(&d, ERR_INVALID, "--%s: synthetic images and audio need %s",
                     media.image_batch > 0 ? "image-batch-size" : "audio-batch-size", why);
            code = cli_fail(&d, 1);
            goto out;
        }
        o.media = &media;
    }
    const char *source = pub ? pub : input ? dtype : "synthetic";
    struct stat st;
    if (input && stat(input, &st) != 0) {
        cli_error("%s: %s", input, strerror(errno));
        goto out;
    }
    if (input && S_ISREG(st.st_mode) && st.st_size == 0) {
        cli_error("%s: empty file, nothing to pack", input);
        goto out;
    }
    if (input && S_ISDIR(st.st_mode) && strcmp(dtype, "random_pool") &&
        strcmp(dtype, "raw_payload") && strcmp(dtype, "weka_trace")) {
        cli_error("%s: is a directory (only random_pool, raw_payload and weka_trace read a "
                  "directory)",
                  input);
        goto out;
    }
    bool bailian = input && !pub && !strcmp(dtype, "bailian_trace");
    bool baseten = input && !pub && !strcmp(dtype, "baseten_trace");
    bool weka = input && !pub && !strcmp(dtype, "weka_trace");
    if (baseten_opts(&a, baseten, extra.len ? extra.p : NULL, extra.len, &d) ||
        weka_opts(&a, weka, pub ? pub : dtype, input != NULL, &d)) {
        code = cli_fail(&d, 1);
        goto out;
    }
    if (uuid_opts(&a, etype, pub ? pub : input ? dtype : NULL, &d)) {
        code = cli_fail(&d, 1);
        goto out;
    }
    if (input_opts(&a, &o, etype, input != NULL,
                   input && !pub &&
                       (!strcmp(dtype, "mooncake_trace") || bailian || baseten || weka),
                   &seq, &sysp, &d)) {
        code = cli_fail(&d, 1);
        goto out;
    }
    if (weka && args_has(&a, "prompt-input-tokens-block-size")) {
        /* AIPerf 0.13 refuses it too: each weka trace declares its own block_size */
        diag_set(&d, ERR_INVALID,
                 "--isl-block-size is not supported with weka_trace: each trace declares its "
                 "own block_size");
        code = cli_fail(&d, 1);
        goto out;
    }
    if (bailian || weka) {
        /* AIPerf's Synthesizer also runs on bailian traces; metronome's runs on mooncake
         * lines only, so the multipliers are refused here rather than ignored (weka: AIPerf
         * reads only the two caps) */
        static const char *const mult[] = {
            "synthesis-speedup-ratio", "synthesis-prefix-len-multiplier",
            "synthesis-prefix-root-multiplier", "synthesis-prompt-len-multiplier",
            "synthesis-output-len-multiplier"};
        for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++)
            if (args_has(&a, mult[i])) {
                diag_set(&d, ERR_INVALID,
                         "--%s: not supported yet with %s (only --synthesis-max-isl and "
                         "--synthesis-max-osl are)",
                         mult[i], dtype);
                code = cli_fail(&d, 1);
                goto out;
            }
        /* AIPerf's declared block size for bailian: 16-token SipHash blocks */
        if (bailian && !args_has(&a, "prompt-input-tokens-block-size"))
            o.block_size = 16;
    }
    if (args_flag(&a, "tokenizer-trust-remote-code")) {
        tokenizer_refuse_remote_code(&d);
        code = cli_fail(&d, 1);
        goto out;
    }
    {
        const char *spec = args_get(&a, "tokenizer");
        int trc =
            tokenizer_open(&tk, spec ? spec : "builtin", args_get(&a, "tokenizer-revision"), &d);
        if (trc) {
            code = cli_fail(&d, trc == ERR_INVALID);
            goto out;
        }
        have_tk = true;
    }
    if (corpus_load_embedded(&corpus, &tk, &d)) {
        code = cli_fail(&d, 0);
        goto out;
    }
    have_corpus = true;

    const char *outp = args_get(&a, "output");
    if (!outp)
        outp = "trace.jsonl.zst";
    if (!input && check_fits(&o, outp, &d)) {
        code = cli_fail(&d, 0);
        goto out;
    }
    /* the path reaches every request line replay sends from this trace */
    const char *epath = args_get(&a, "custom-endpoint");
    if (epath && wire_check("--custom-endpoint", epath, false, &d)) {
        code = cli_fail(&d, 1);
        goto out;
    }
    enum tw_bust bust = TW_BUST_NONE;
    char run_id[33] = "";
    /* a user-centric schedule draws sessions with uco.sampling (o.sampling is sequential then) */
    bool redraws =
        o.sampling != SAMPLING_SEQUENTIAL || (users && uco.sampling != SAMPLING_SEQUENTIAL);
    if (cache_bust_opt(&a, etype, input && redraws, &bust, run_id, &d)) {
        code = cli_fail(&d, 1);
        goto out;
    }
    if (bust != TW_BUST_NONE && !input) {
        /* AIPerf 0.13's ISL compensation for synthetic prompts */
        bool on_system = (bust == TW_BUST_SYSTEM_PREFIX || bust == TW_BUST_SYSTEM_SUFFIX) &&
                         (sysp || o.shared_system_len > 0);
        long cost = bust_marker_tokens(&tk, bust);
        if (!on_system)
            o.bust_first_tokens = cost;
        else if (o.shared_system_len > 0)
            o.bust_system_tokens = cost; /* a verbatim system prompt's marker is additive */
    }
    struct tw_config cfg = {
        .endpoint_type = etype,
        .endpoint_path = args_get(&a, "custom-endpoint"),
        .streaming = args_flag(&a, "streaming"),
        .extra_json = extra.len ? extra.p : NULL,
        .corpus = &corpus,
        .level = (int)level,
        .legacy_max_tokens = args_flag(&a, "use-legacy-max-tokens"),
        .per_chunk_usage = args_flag(&a, "per-chunk-usage"),
        .system_prompt = sysp,
        .cache_bust = bust,
        .bust_run_id = run_id,
    };
    /* random / shuffle over a dataset file: the whole file is packed to a temporary trace
     * first, then its sessions are drawn into the output (trace_resample) */
    bool resample = input && o.sampling != SAMPLING_SEQUENTIAL;
    long want_requests = o.request_count;
    char unsampled[4096];
    if (resample || users) {
        const char *tmpdir = getenv("TMPDIR");
        snprintf(unsampled, sizeof unsampled, "%s/metronome-pack-unsampled-%ld.jsonl.zst",
                 tmpdir && *tmpdir ? tmpdir : "/tmp", (long)getpid());
        o.request_count = 0;
    }
    if (tw_open(&w, resample || users ? unsampled : outp, &cfg, &d)) {
        code = cli_fail(&d, 0);
        goto out;
    }
    if (input) {
        struct buf src;
        buf_init(&src, 0);
        struct jsonw j;
        jsonw_init(&j, &src);
        jsonw_obj_begin(&j);
        jsonw_key(&j, "type");
        jsonw_str(&j, source);
        jsonw_key(&j, "file");
        jsonw_str(&j, base_name(input));
        char hex[65];
        size_t size;
        if (!S_ISDIR(st.st_mode) && file_sha256(input, hex, &size) == 0) {
            jsonw_key(&j, "sha256");
            jsonw_str(&j, hex);
            jsonw_key(&j, "bytes");
            jsonw_uint(&j, size);
        }
        jsonw_obj_end(&j);
        tw_header_raw(w, "source", src.p);
        buf_free(&src);
    } else {
        tw_header_raw(w, "source", "{\"type\":\"synthetic\"}");
    }
    header_options(&hopt, &o, source);
    tw_header_raw(w, "options", hopt.p);
    if (o.media) {
        struct buf mj;
        buf_init(&mj, 0);
        media_opts_json(o.media, &mj);
        tw_header_raw(w, "media", mj.p);
        buf_free(&mj);
    }
    char seedbuf[32];
    snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)o.seed);
    tw_header_raw(w, "seed", seedbuf);
    if (bust != TW_BUST_NONE) {
        char bj[160];
        snprintf(bj, sizeof bj, "{\"target\":\"%s\",\"run_id\":\"%s\"}", args_get(&a, "cache-bust"),
                 run_id);
        for (char *c = bj; *c; c++) /* AIPerf's enum is case-insensitive; the header lowercase */
            *c = (char)tolower((unsigned char)*c);
        tw_header_raw(w, "cache_bust", bj);
    }

    struct dataset ds;
    dataset_init(&ds, &o, &corpus, w);
    int rc;
    if (pub)
        rc = dataset_sharegpt(&ds, input, &d);
    else if (!input)
        rc = dataset_synthetic(&ds, &d);
    else if (!strcmp(dtype, "mooncake_trace"))
        rc = dataset_mooncake(&ds, input, &d);
    else if (!strcmp(dtype, "bailian_trace"))
        rc = dataset_bailian(&ds, input, &d);
    else if (!strcmp(dtype, "raw_payload"))
        rc = dataset_raw_payload(&ds, input, &d);
    else if (!strcmp(dtype, "single_turn"))
        rc = dataset_single_turn(&ds, input, &d);
    else if (!strcmp(dtype, "multi_turn"))
        rc = dataset_multi_turn(&ds, input, &d);
    else if (!strcmp(dtype, "random_pool"))
        rc = dataset_random_pool(&ds, input, &d);
    else if (!strcmp(dtype, "baseten_trace"))
        rc = dataset_baseten(&ds, input, &d);
    else if (!strcmp(dtype, "weka_trace"))
        rc = dataset_weka(&ds, input, &d);
    else
        rc = dataset_csv(&ds, input, !strcmp(dtype, "azure_trace") ? "azure" : "burstgpt", &d);
    dataset_release(&ds);
    if (!rc && tw_requests(w) == 0)
        rc = diag_at(&d, ERR_INVALID, input ? input : "synthetic", 0, "no requests to pack");
    long nreq = tw_requests(w), nses = tw_sessions(w);
    if (rc) {
        tw_abort(w);
        w = NULL;
        code = cli_fail(&d, 0);
        goto out;
    }
    rc = tw_commit(w, &d);
    w = NULL;
    if (rc) {
        code = cli_fail(&d, 0);
        goto out;
    }
    if (resample) {
        rc = trace_resample(unsampled, outp, o.sampling, want_requests, o.seed, (int)level, &nreq,
                            &nses, &d);
        unlink(unsampled);
        if (rc) {
            code = cli_fail(&d, rc == ERR_INVALID);
            goto out;
        }
    }
    if (users) {
        rc = trace_user_centric(unsampled, outp, &uco, (int)level, &nreq, &nses, &d);
        unlink(unsampled);
        if (rc) {
            code = cli_fail(&d, rc == ERR_INVALID);
            goto out;
        }
    }
    if (ds.skipped)
        fprintf(stderr, "metronome: left out %ld input records %s\n", ds.skipped,
                ds.skip_why ? ds.skip_why : "");
    if (ds.wk_dropped) /* AIPerf 0.13 logs the same tally once per load */
        fprintf(stderr,
                "metronome: left out %ld of %ld weka traces with a peak context (in + max "
                "tokens) above --max-context-length %ld (peaks %ld to %ld)\n",
                ds.wk_dropped, ds.wk_dropped + ds.wk_kept, o.wk_max_ctx, ds.wk_peak_min,
                ds.wk_peak_max);
    if (ds.inexact)
        cli_warn("%ld prompt texts could not be made exactly their token length with %s "
                 "(their isl is the true count; docs/tokenizers.md)",
                 ds.inexact, tk.name);
    fprintf(stderr, "metronome: packed %ld requests in %ld sessions into %s\n", nreq, nses, outp);
    code = EXIT_OK;
out:
    if (w)
        tw_abort(w);
    if (have_corpus)
        corpus_free(&corpus);
    if (have_tk)
        tokenizer_close(&tk);
    free(sysp);
    free(models);
    free(model_store);
    buf_free(&extra);
    buf_free(&hopt);
    args_free(&a);
    return code;
}
