/*
 * dataset: every source `pack` turns into a trace (docs/cli-pack.md). Each source reads
 * its input, decides every request (prompt text as corpus slices and hash blocks,
 * models, lengths, timing) and hands it to a trace writer. All randomness comes from
 * named streams derived from one seed, so the same inputs and seed give the same trace
 * on every host.
 *
 * Errors name the input file and line ("data.jsonl:12: field 'input_length': must be an
 * integer >= 0") through the caller's diag. A dataset context is owned by one thread.
 */
#ifndef METRONOME_DATASET_H
#define METRONOME_DATASET_H

#include "corpus.h"
#include "err.h"
#include "media.h"
#include "rng.h"
#include "seqdist.h"
#include "trace_write.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dataset_opts {
    uint64_t seed;
    const char *const *models; /* at least one */
    size_t nmodels;
    bool model_random; /* else round robin over all turns of the dataset */

    /* Synthetic prompts (also the length of prompts made for CSV traces). */
    double isl_mean, isl_stddev;
    long block_size; /* tokens per hash block (mooncake hash_ids) */
    bool osl_set;    /* --osl given: every request gets max_tokens from it */
    double osl_mean, osl_stddev;
    long batch_size; /* prompts per turn */
    long prefix_pool, prefix_len;
    /* --seq-dist / --random-range-ratio: each turn draws its (ISL, OSL) pair here instead
     * of from the means above (NULL: not given). */
    const struct seqdist *seq;
    /* --shared-system-prompt-length: one synthetic system message of this many tokens
     * shared by every conversation; --user-context-prompt-length: a user message of this
     * many tokens, different for each conversation, sent ahead of its first turn (0: none;
     * chat only, synthetic only, as in AIPerf 0.13). */
    long shared_system_len, user_context_len;
    /* --cache-bust on synthetic prompts: AIPerf 0.13 keeps the wire ISL by taking the
     * marker's mean token count off the first turn's prompts (bust_first_tokens) or, when
     * the marker goes on the shared system prompt, off that prompt (bust_system_tokens);
     * each stays at least 1 token. 0: no compensation. */
    long bust_first_tokens, bust_system_tokens;

    /* AIPerf 0.13's trace synthesis (--synthesis-*; mooncake_trace): timestamps divided by
     * speedup, shared hash-id prefixes stretched (prefix_mult), unique prompt parts scaled
     * (prompt_mult), prefixes spread over root_mult trees, outputs scaled; lines whose
     * input_length exceeds max_isl left out, outputs capped at max_osl (0: no limit). */
    double syn_speedup, syn_prefix_mult, syn_prompt_mult, syn_output_mult;
    long syn_root_mult, syn_max_isl, syn_max_osl;

    /* AIPerf 0.13's --inter-turn-delay-cap-seconds: an authored per-turn delay (mooncake
     * and multi_turn "delay", baseten closed-loop think times) above this many seconds
     * becomes this many; < 0: no cap. */
    double delay_cap_s;
    /* baseten_trace replay (AIPerf 0.13's FileDataset knobs): session sample ratio (0 or
     * >= 1: keep all), --replay-speedup (1: real time), --max-idle-gap-cap-seconds (0:
     * none), --open-loop-replay (default on), --open-loop-strict, and the per-turn body
     * fields AIPerf adds (min_tokens unless --no-force-min-tokens, hash_ids/block_size
     * unless --omit-kv-hints). */
    double bt_sample_ratio, bt_speedup, bt_idle_gap_cap_s;
    bool bt_open_loop, bt_open_loop_strict, bt_force_min_tokens, bt_omit_kv_hints;
    /* weka_trace (AIPerf 0.13's FileDataset knobs only its weka loader reads):
     * --ignore-trace-delays (no delays), --use-think-time-only (think_time as the delay),
     * --trace-idle-gap-cap-seconds (< 0: none; else gaps between request starts of one
     * trace above it are compressed to it, and --inter-turn-delay-cap-seconds is off). */
    bool wk_ignore_delays, wk_think_only;
    double wk_idle_gap_cap_s;
    /* --max-context-length (0: none): a trace whose peak recorded context, the largest
     * `in` + max tokens over its requests and its subagents' (AIPerf 0.13's count, see
     * dataset_weka), is above it is left out whole. */
    long wk_max_ctx;
    /* The first this many traces that pass are kept (0: all): AIPerf 0.13 sizes a dataset
     * file's pool from --num-dataset-entries, else --conversation-num (filter, then cap). */
    long wk_entries;
    /* AIPerf 0.13's --uuid-and-strip (single_turn, chat): within a session_id, an image
     * whose cache id an earlier row sent with its bytes is sent with an empty url. */
    bool uuid_strip;

    /* Rankings endpoint types: each synthetic entry is one query and a number of passages
     * (AIPerf 0.13's --rankings-* options; defaults 1 passage, 550 tokens each). */
    bool rankings;
    double rk_passages, rk_passages_sd, rk_passage_tokens, rk_passage_tokens_sd;
    double rk_query_tokens, rk_query_tokens_sd;

    /* Sessions. */
    long conversations; /* sessions to send (synthetic: each once, all turns; random_pool's
                           N); 0: not given */
    long entries;       /* --num-dataset-entries: unique synthetic conversations that
                           --request-count draws from, with replacement; 0: not given */
    long request_count; /* requests; with conversations, the first limit reached ends */
    /* --dataset-sampling-strategy: how each session picks its conversation among the
     * unique ones (AIPerf 0.13's samplers; sequential is its default for every dataset). */
    enum ds_sampling { SAMPLING_SEQUENTIAL, SAMPLING_RANDOM, SAMPLING_SHUFFLE } sampling;
    double turns_mean, turns_stddev;
    double delay_mean, delay_stddev, delay_ratio;

    /* Arrivals for synthetic traces: rate 0 means untimed. */
    double rate;
    const char *arrival; /* constant, poisson, gamma */
    double smoothness;   /* gamma shape */

    /* Synthetic images and audio per turn (media.h); NULL or disabled: none. */
    const struct media_opts *media;

    /* ShareGPT length filters (AIPerf's / vLLM's defaults 4, 1024, 4, 2048). */
    long sg_min_prompt, sg_max_prompt, sg_min_completion, sg_max_total;
};

/* The block id of --shared-system-prompt-length's text (prefix-pool blocks are -1..-N,
 * dataset hash_ids >= 0). */
#define DATASET_SHARED_SYSTEM_BLOCK (-(INT64_C(1) << 40))

/* Fills o with AIPerf's defaults. */
void dataset_opts_default(struct dataset_opts *o);

struct dataset {
    const struct dataset_opts *o;
    const struct corpus *c;
    struct trace_writer *w;
    struct rng len_rng, corpus_rng, prefix_rng, turns_rng, delay_rng, osl_rng, model_rng,
        arrival_rng, pick_rng;
    long turn_counter; /* round-robin position */
    /* The prefix pool: block ids -1 .. -prefix_pool. */
    long nprefix;
    long skipped; /* input records left out (ShareGPT filters, CSV rows with no prompt) */
    const char *skip_why;
    /* weka_trace: traces --max-context-length left out and traces kept, and the smallest
     * and largest peak context seen (the pack note, and the error when none is kept). */
    long wk_dropped, wk_kept, wk_peak_min, wk_peak_max;
    /* Model tokenizers only (synth.c): the decoded texts windows return as TW_LIT parts,
     * owned here until dataset_lits_reset (after each request is written), and the
     * prefix pool's texts (owned until dataset_release). */
    char **lits;
    size_t nlits, lits_cap;
    char **prefix_text;
    size_t *prefix_text_len;
    /* Windows that could not be made exact in tokens (AIPerf accepts them too). */
    long inexact;
};

void dataset_init(struct dataset *ds, const struct dataset_opts *o, const struct corpus *c,
                  struct trace_writer *w);

/* Frees what the dataset owns (never the corpus or the writer). */
void dataset_release(struct dataset *ds);
/* Frees the texts windows returned since the last reset (call after tw_request). */
void dataset_lits_reset(struct dataset *ds);

/* AIPerf's sample_positive_normal_integer: a normal truncated at 0 (by rejection), then
 * rounded up; stddev 0 gives ceil(mean). */
long dataset_pos_int(struct rng *r, double mean, double stddev);
/* One request's max_tokens from --osl / --osl-stddev as AIPerf 0.13 draws it
 * (_set_max_tokens): the mean and the standard deviation truncated to integers (a stddev
 * below 1 draws nothing), then at least 1. Only when o->osl_set. */
long dataset_osl(struct rng *r, const struct dataset_opts *o);
/* The model for the next turn. */
const char *dataset_model(struct dataset *ds);
/* A random window of n tokens as up to two slice parts (returns the count). With a
 * model tokenizer: one literal part, text of exactly n tokens when encoded alone (see
 * synth.c, dataset_exact). */
size_t dataset_window(struct dataset *ds, struct rng *r, long n, struct tw_part out[2]);
/* Defines block id (if new) as n tokens taken deterministically from (seed, id).
 * ERR_INVALID with d set if id exists with another size. */
int dataset_block(struct dataset *ds, int64_t id, long n, const char *file, long line,
                  struct diag *d);

/* Sources. `path` is the input file (or directory for random_pool). */
int dataset_synthetic(struct dataset *ds, struct diag *d);
int dataset_mooncake(struct dataset *ds, const char *path, struct diag *d);
/* AIPerf 0.13's bailian_trace: chat_id / parent_chat_id chains (-1: a root) grouped into
 * sessions named by their root's chat_id, in the order roots first appear, each ordered
 * by "turn"; timestamps in seconds; prompts from hash_ids blocks (the caller sets
 * block_size, 16 unless given). The whole file is read before anything is written. */
int dataset_bailian(struct dataset *ds, const char *path, struct diag *d);
/* AIPerf 0.13's raw_payload: each line a whole request body (an object with a "messages"
 * array) sent verbatim; a file's lines are single-turn sessions, a directory's *.jsonl
 * files are one session each (sorted by name), their lines the turns. */
int dataset_raw_payload(struct dataset *ds, const char *path, struct diag *d);

/* --dataset-sampling-strategy random or shuffle over a dataset file: the sessions of the
 * packed, untimed trace `in` drawn again into the trace `out` (atomic), with replacement
 * (random) or a permutation per pass (shuffle), from seed; one pass over the sessions,
 * or until request_count requests (> 0; the last session cut short). A session drawn
 * again is renamed "ID#k". A timed trace is ERR_INVALID (its timestamps order it). */
int trace_resample(const char *in, const char *out, enum ds_sampling how, long request_count,
                   uint64_t seed, int level, long *nreq, long *nses, struct diag *d);
/* --user-centric-rate R --num-users N (AIPerf 0.13's user-centric mode) over an untimed
 * packed trace: its sessions are the pool the users take their conversations from, drawn
 * by `sampling` (AIPerf's samplers, seeded as trace_resample: sequential in order and
 * wrapping, random with replacement, shuffle a permutation per pass). The schedule is
 * AIPerf's: N users already part-way through sessions of round(mean turns) turns at t=0
 * (virtual history: their first turns 1/R apart in AIPerf's stagger order, each cut to
 * the turns it has left), plus a new user at t=0; each user's turns N/R apart; a new user
 * in the slot after a user's last turn. Written to `out` (atomic) as a timed trace:
 * sessions named by user id, first turns with t_ms, later turns with gap_ms = N/R s (sent
 * that long after the previous turn's intended time, or when its reply ends if later).
 * Limits (any may be 0): the first `requests` sends, the first `sessions` users, sends
 * before duration_s. A timed trace is ERR_INVALID.
 *
 * A warmup (warm_requests or warm_sessions > 0) is AIPerf's warmup phase, which runs
 * first and draws from the same sampler: its sessions (named "w1", "w2", ...; whole
 * conversations) go before the schedule as a block of untimed lines marked "warmup":
 * the requests AIPerf's closed loop of warm_conc sessions issues (round by round, each
 * session's turns one after the other), or, for a rate warmup (warm_rate), sessions one
 * after the other; cut to the first warm_requests requests, the first warm_sessions
 * sessions. The users then draw after the warmup's sessions and the one more draw
 * AIPerf's rate loop makes ahead of need. The header's "warmup_requests" counts the
 * block, its "warmup_concurrency" or "warmup_rate" is the load (replay's default). */
struct uc_opts {
    double rate;       /* > 0, requests per second over all users */
    long users;        /* >= 1 */
    long requests;     /* 0: no count limit */
    long sessions;     /* 0: no session limit */
    double duration_s; /* 0: none */
    enum ds_sampling sampling;
    uint64_t seed;
    long warm_requests, warm_sessions; /* 0: no such limit (both 0: no warmup) */
    long warm_conc;                    /* the warmup's closed-loop sessions (>= 1) */
    double warm_rate; /* > 0: a rate warmup at this many requests/s (sessions one after
                         the other); 0: the closed loop */
};
int trace_user_centric(const char *in, const char *out, const struct uc_opts *uo, int level,
                       long *nreq, long *nses, struct diag *d);
int dataset_single_turn(struct dataset *ds, const char *path, struct diag *d);
int dataset_multi_turn(struct dataset *ds, const char *path, struct diag *d);
int dataset_random_pool(struct dataset *ds, const char *path, struct diag *d);
/* baseten_trace: an Arrow IPC file (Parquet is refused with the reason). */
int dataset_baseten(struct dataset *ds, const char *path, struct diag *d);
int dataset_sharegpt(struct dataset *ds, const char *path, struct diag *d);
/* AIPerf 0.13's weka_trace: one JSON trace file, or a directory of *.json files (sorted
 * by name), each one session named by its "id"; its "n"/"s" requests are the turns, in
 * file order, prompts made from hash_ids in the trace's own block_size (ids local to the
 * trace); "subagent" entries are refused (not supported yet). Untimed: later turns carry
 * the delays AIPerf derives (docs/cli-pack.md). With o->wk_max_ctx, a trace whose peak
 * `in` + max tokens (`out` capped by --synthesis-max-osl, subagents' uncapped; at least 1)
 * is above it is left out before anything else is asked of it; none kept is an error. */
int dataset_weka(struct dataset *ds, const char *path, struct diag *d);
/* CSV traces: kind "azure" (TIMESTAMP, ContextTokens, GeneratedTokens) or "burstgpt"
 * (Timestamp, Model, Request tokens, Response tokens, ...). */
int dataset_csv(struct dataset *ds, const char *path, const char *kind, struct diag *d);

#endif
