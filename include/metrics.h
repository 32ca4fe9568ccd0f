/*
 * metrics: what one record measures, with AIPerf's definitions (spec/seed-metrics.md §1,
 * §5.1) under AIPerf 0.13's tag names, plus metronome's additions. docs/metrics.md
 * defines every metric with its measurement points.
 *
 * A parsed record (struct rec, times relative to its shard's anchor) becomes a compact
 * struct rrec (times shifted onto the run's common timeline); every per-record metric is
 * then a pure function of the struct rrec (metric_value), so the summary, the per-record
 * export, time slices, breakdowns and goodput all use one definition.
 */
#ifndef METRONOME_METRICS_H
#define METRONOME_METRICS_H

#include "records_read.h"

#include <stdbool.h>
#include <stdint.h>

enum metric_id {
    /* record metrics, in AIPerf's display order */
    M_TTFT,
    M_NA_TTFT, /* network_adjusted_time_to_first_token (run-level RTT: report_summarize) */
    M_TTST,
    M_LATENCY,
    M_NA_LATENCY, /* network_adjusted_request_latency */
    M_NET_RTT,    /* network_rtt: the mean RTT subtracted, one value (count 1) */
    M_ITL,
    M_OTT_USER,
    M_OSL,
    M_ISL,
    /* record metrics shown after them */
    M_ICL,           /* chunk-level: one value per gap between responses */
    M_OUT_COUNT,     /* output_token_count: content tokens (OSL minus reasoning) */
    M_REASONING,     /* reasoning_token_count */
    M_TTFO,          /* time_to_first_output_token: first content after reasoning */
    M_NA_TTFO,       /* network_adjusted_time_to_first_output_token */
    M_INPUT_TPUT,    /* prefill_throughput_per_user: ISL / TTFT (hidden, as in AIPerf) */
    M_TTFT_INTENDED, /* TTFT measured from the intended send time */
    M_LAT_INTENDED,  /* request latency from the intended send time */
    M_LATENESS,      /* t_start - t_intended */
    /* AIPerf 0.13's further record metrics, exported but hidden on the console */
    M_DECODE,               /* decode_duration: latency - TTFT */
    M_E2E_OTT,              /* e2e_output_token_throughput: OSL / latency */
    M_USAGE_PROMPT,         /* usage_prompt_tokens, as the server reported */
    M_USAGE_COMPLETION,     /* usage_completion_tokens */
    M_USAGE_TOTAL,          /* usage_total_tokens: prompt + completion */
    M_USAGE_REASONING,      /* usage_reasoning_tokens */
    M_OSL_MISMATCH,         /* osl_mismatch_diff_pct: (OSL - requested) / requested x 100 */
    M_ERROR_ISL,            /* error_isl: ISL of failed requests only */
    M_HTTP_REUSED,          /* http_req_connection_reused: 1 or 0 */
    M_HTTP_CONNECTING,      /* http_req_connecting: TCP (+TLS) connect, 0 when reused */
    M_HTTP_CONN_OVERHEAD,   /* http_req_connection_overhead: blocked + DNS + connecting */
    M_HTTP_SENDING,         /* http_req_sending: request write */
    M_HTTP_WAITING,         /* http_req_waiting: request sent -> response head */
    M_HTTP_RECEIVING,       /* http_req_receiving: response head -> end */
    M_HTTP_DURATION,        /* http_req_duration: send start -> response end */
    M_HTTP_TOTAL,           /* http_req_total: connecting + sending + waiting + receiving */
    M_HTTP_BLOCKED,         /* http_req_blocked: 0 (no connection pool wait in metronome) */
    M_HTTP_DNS,             /* http_req_dns_lookup: 0 (names resolve once, before the run) */
    M_HTTP_DATA_SENT,       /* http_req_data_sent: request body bytes written */
    M_HTTP_DATA_RECEIVED,   /* http_req_data_received: response body bytes read */
    M_HTTP_CHUNKS_SENT,     /* http_req_chunks_sent: writes that carried body bytes */
    M_HTTP_CHUNKS_RECEIVED, /* http_req_chunks_received: reads that carried body bytes */
    M_CREDIT_TO_START,      /* credit_to_start_latency: t_start - t_intended, every record */
    M_EFFECTIVE_LATENCY,    /* effective_latency: end - t_intended, every record */
    M_NRECORD,
    /* run-level (aggregate / derived) metrics: one value, exported in avg */
    M_OTT = M_NRECORD, /* output_token_throughput */
    M_REQ_TPUT,        /* request_throughput */
    M_REQ_COUNT,       /* request_count */
    M_ERR_COUNT,       /* error_request_count */
    M_GOOD_COUNT,      /* good_request_count (--goodput) */
    M_GOODPUT,         /* goodput (--goodput) */
    M_DURATION,        /* benchmark_duration */
    M_TOTAL_OSL,
    M_TOTAL_ISL,
    M_TOTAL_REASONING,
    M_ERROR_RATE,         /* error_request_count / requests issued in the profile phase */
    M_REQ_ERR_RATE,       /* request_error_rate: the same in % (AIPerf 0.13) */
    M_COMPLETED,          /* completed_request_count: successes + errors */
    M_TOTAL_OUT,          /* total_output_tokens: sum of output_token_count */
    M_INPUT_TOK_TPUT,     /* input_token_throughput: total ISL / duration */
    M_TOTAL_TOK_TPUT,     /* total_token_throughput: (total ISL + total OSL) / duration */
    M_TOTAL_USAGE_PROMPT, /* total_usage_prompt_tokens */
    M_TOTAL_USAGE_COMPLETION,
    M_TOTAL_USAGE_TOTAL,
    M_TOTAL_USAGE_REASONING,
    M_TOTAL_ERROR_ISL,    /* total_error_isl */
    M_OSL_MISMATCH_COUNT, /* osl_mismatch_count: AIPerf's threshold, see report.c */
    M_CTX_OVERFLOW,       /* context_overflow_count: errors whose message says so */
    M_COUNT
};

enum metric_flags {
    MF_STREAM = 1,  /* only for streaming runs */
    MF_TOKENS = 2,  /* only for token-producing endpoints */
    MF_HIDDEN = 4,  /* console only with --show-internal-metrics */
    MF_LARGER = 8,  /* larger is better (goodput SLOs and deltas read it) */
    MF_INT = 16,    /* integer-valued (numpy int64 statistics) */
    MF_TIME = 32,   /* a duration in ns internally, displayed in ms (or sec) */
    MF_EXTRA = 64,  /* metronome's addition: shown in its own console section */
    MF_CHUNK = 128, /* chunk-level: histogram statistics */
    MF_OURS = 256,  /* metronome's own metric: not in AIPerf's CSV */
    MF_KB = 512,    /* bytes internally, displayed in KB (AIPerf's: / 1024) */
};

struct metric_def {
    const char *tag;    /* AIPerf 0.13 tag, e.g. "time_to_first_token" */
    const char *header; /* console/CSV header, e.g. "Time to First Token" */
    const char *unit;   /* display unit, e.g. "ms" */
    unsigned flags;
};

extern const struct metric_def metric_defs[M_COUNT];

/* Tag lookup, also accepting AIPerf's short seed-era tags (ttft, ttst, itl ...). -1 if
 * unknown. */
int metric_find(const char *tag, size_t n);

enum rrec_flags {
    RR_VALID = 1, /* AIPerf's ParsedResponseRecord.valid */
    RR_ERROR = 2, /* carries an error object (error summary) */
    RR_CANCELLED = 4,
    RR_USAGE_OSL = 8,  /* output tokens came from the server's usage */
    RR_USAGE_ISL = 16, /* input tokens came from usage.prompt_tokens */
    RR_STREAM = 32,
    RR_REASONING = 64, /* reasoning chunks or reasoning tokens present */
    RR_REUSED = 128,   /* sent on a kept-alive connection */
};

/* Extra per-record flags (struct rrec.flags2). */
enum rrec_flags2 {
    RR2_REASONING_COUNTED = 1, /* usage's reasoning_tokens contradicted the reasoning
                                * messages received: our count was used */
    RR2_OSL_COUNTED = 2,       /* usage's completion_tokens was below the tokens received:
                                * our count was used */
    RR2_CTX_OVERFLOW = 4,      /* an error whose message reads as a context overflow */
    RR2_OSL_TOKENIZER = 8,     /* output tokens counted by the report's tokenizer on the text */
};

#define RR_NONE INT64_MIN

/* The compact per-record state every report section works from (~130 bytes). */
struct rrec {
    int64_t t_intended, t_start, t_first, t_second, t_last, t_end, t_head;
    int64_t t_first_content;      /* first content chunk (after reasoning) */
    int64_t t_send_start, t_sent; /* request write began / ended (RR_NONE) */
    int64_t t_first_byte;         /* first response body byte (first event) */
    int64_t connect_ns;           /* TCP connect of the new connection it opened, RR_NONE if none */
    int64_t tx_bytes, rx_bytes;   /* request / response body bytes, -1 when not recorded */
    int32_t tx_writes, rx_reads;  /* writes / reads that carried them, -1 when not recorded */
    int64_t index;                /* "i" */
    int32_t osl, isl, reasoning, out_tokens; /* -1 when unknown */
    int32_t osl_req;                         /* max tokens asked for, -1 when unset */
    int32_t usage_prompt, usage_completion, usage_reasoning; /* server usage, -1 absent */
    int32_t first_tok; /* --per-chunk-usage: tokens through the first content chunk, -1 */
    int32_t worker;    /* run-wide worker number (shards numbered apart) */
    int32_t err_group; /* index into the error table, -1 without error */
    uint8_t phase;     /* enum rec_phase */
    uint8_t flags;     /* enum rrec_flags */
    uint8_t flags2;    /* enum rrec_flags2 */
    uint16_t shard;
};

/* Builds the compact record from a parsed one. shift is added to every time (it moves a
 * shard onto the run's timeline); worker_base numbers this shard's workers. count_empty
 * applies the seed's rule that an empty-content message ("", vLLM's opening role chunk)
 * is a response; AIPerf 0.13, and metronome by default, drop it. */
void rrec_from_rec(struct rrec *out, const struct rec *r, int64_t shift, int32_t worker_base,
                   bool streaming_run, bool count_empty);

/* The metric the network-adjusted metric m is its source's max(value - RTT, 0) of
 * (M_NA_TTFT -> M_TTFT ...), or -1 when m is not one. AIPerf 0.13 computes them at
 * summary time from one run-level RTT, so metric_value never has them (nor does the
 * per-record export). */
int metric_network_source(int m);

/* The value of a per-record metric in its internal unit (ns for durations, as AIPerf
 * computes them: integer ns arithmetic, ITL as a float division). Returns false when the
 * metric does not exist for this record (AIPerf omits it, and so do its dependents).
 * M_ICL is chunk-level and never available here. */
bool metric_value(const struct rrec *r, enum metric_id id, double *v);

/* The gaps between consecutive responses (content and reasoning messages merged in time
 * order) of a parsed record, in ns: AIPerf's inter_chunk_latency list. out must hold
 * r->nchunks + r->nrchunks values; returns how many were written. Empty-content messages
 * are skipped unless count_empty (as in rrec_from_rec). */
size_t metric_icl(const struct rec *r, bool stream, bool count_empty, int64_t *out);

/* Internal to display unit, exactly as AIPerf converts: ns x 1e-06 for ms, ns x 1e-09
 * for sec; other units unchanged. Applied to each statistic after it was computed on the
 * internal values. */
double metric_display(enum metric_id id, double v);

#endif
