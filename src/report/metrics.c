/*
 * Per-record metric definitions. Every formula mirrors AIPerf's (seed-metrics.md §1.2):
 * integer nanosecond differences, ITL as (latency - ttft) / (osl - 1) in double, and unit
 * conversions as multiplications by 1e-09 / 1e-06, never divisions.
 */
#include "metrics.h"

#include <ctype.h>
#include <string.h>

#define T (MF_INT | MF_TIME)
const struct metric_def metric_defs[M_COUNT] = {
    [M_TTFT] = {"time_to_first_token", "Time to First Token", "ms", MF_STREAM | MF_TOKENS | T},
    [M_NA_TTFT] = {"network_adjusted_time_to_first_token", "Network-Adjusted Time to First Token",
                   "ms", MF_STREAM | MF_TOKENS | MF_TIME},
    [M_TTST] = {"time_to_second_token", "Time to Second Token", "ms", MF_STREAM | MF_TOKENS | T},
    [M_LATENCY] = {"request_latency", "Request Latency", "ms", T},
    [M_NA_LATENCY] = {"network_adjusted_request_latency", "Network-Adjusted Request Latency", "ms",
                      MF_TIME},
    [M_NET_RTT] = {"network_rtt", "Network RTT", "ms", MF_TIME},
    [M_ITL] = {"inter_token_latency", "Inter Token Latency", "ms", MF_STREAM | MF_TOKENS | MF_TIME},
    [M_OTT_USER] = {"output_token_throughput_per_user", "Output Token Throughput Per User\n",
                    "tokens/sec/user", MF_STREAM | MF_TOKENS | MF_LARGER},
    [M_OSL] = {"output_sequence_length", "Output Sequence Length", "tokens",
               MF_TOKENS | MF_LARGER | MF_INT},
    [M_ISL] = {"input_sequence_length", "Input Sequence Length", "tokens",
               MF_TOKENS | MF_LARGER | MF_INT},
    [M_ICL] = {"inter_chunk_latency", "Inter Chunk Latency", "ms",
               MF_STREAM | MF_TOKENS | MF_HIDDEN | MF_TIME | MF_CHUNK | MF_INT},
    [M_OUT_COUNT] = {"output_token_count", "Output Token Count", "tokens",
                     MF_TOKENS | MF_HIDDEN | MF_INT | MF_LARGER},
    [M_REASONING] = {"reasoning_token_count", "Reasoning Token Count", "tokens",
                     MF_TOKENS | MF_INT | MF_EXTRA},
    [M_TTFO] = {"time_to_first_output_token", "Time to First Output Token", "ms",
                MF_STREAM | MF_TOKENS | T | MF_EXTRA},
    [M_NA_TTFO] = {"network_adjusted_time_to_first_output_token",
                   "Network-Adjusted Time to First Output Token", "ms",
                   MF_STREAM | MF_TOKENS | MF_TIME | MF_EXTRA},
    [M_INPUT_TPUT] = {"prefill_throughput_per_user", "Prefill Throughput Per User",
                      "tokens/sec/user", MF_STREAM | MF_TOKENS | MF_HIDDEN | MF_LARGER},
    [M_TTFT_INTENDED] = {"time_to_first_token_from_intended", "TTFT from Intended Send", "ms",
                         MF_STREAM | MF_TOKENS | T | MF_EXTRA | MF_OURS},
    [M_LAT_INTENDED] = {"request_latency_from_intended", "Latency from Intended Send", "ms",
                        T | MF_EXTRA | MF_OURS},
    [M_LATENESS] = {"schedule_lateness", "Schedule Lateness", "ms", T | MF_EXTRA | MF_OURS},
    [M_DECODE] = {"decode_duration", "Decode Duration", "ms",
                  MF_STREAM | MF_TOKENS | T | MF_HIDDEN},
    [M_E2E_OTT] = {"e2e_output_token_throughput", "E2E Output Token Throughput", "tokens/sec/user",
                   MF_TOKENS | MF_LARGER | MF_HIDDEN},
    [M_USAGE_PROMPT] = {"usage_prompt_tokens", "Usage Prompt Tokens", "tokens",
                        MF_INT | MF_LARGER | MF_HIDDEN},
    [M_USAGE_COMPLETION] = {"usage_completion_tokens", "Usage Completion Tokens", "tokens",
                            MF_TOKENS | MF_INT | MF_LARGER | MF_HIDDEN},
    [M_USAGE_TOTAL] = {"usage_total_tokens", "Usage Total Tokens", "tokens",
                       MF_TOKENS | MF_INT | MF_LARGER | MF_HIDDEN},
    [M_USAGE_REASONING] = {"usage_reasoning_tokens", "Usage Reasoning Tokens", "tokens",
                           MF_TOKENS | MF_INT | MF_LARGER | MF_HIDDEN},
    [M_OSL_MISMATCH] = {"osl_mismatch_diff_pct", "OSL Mismatch Diff %", "%", MF_TOKENS | MF_HIDDEN},
    [M_ERROR_ISL] = {"error_isl", "Error Input Sequence Length", "tokens",
                     MF_INT | MF_LARGER | MF_HIDDEN},
    [M_HTTP_REUSED] = {"http_req_connection_reused", "HTTP Connection Reused", "ratio", MF_HIDDEN},
    [M_HTTP_CONNECTING] = {"http_req_connecting", "HTTP Connecting", "ms", T | MF_HIDDEN},
    [M_HTTP_CONN_OVERHEAD] = {"http_req_connection_overhead", "HTTP Connection Overhead", "ms",
                              T | MF_HIDDEN},
    [M_HTTP_SENDING] = {"http_req_sending", "HTTP Sending", "ms", T | MF_HIDDEN},
    [M_HTTP_WAITING] = {"http_req_waiting", "HTTP Waiting (TTFB)", "ms", T | MF_HIDDEN},
    [M_HTTP_RECEIVING] = {"http_req_receiving", "HTTP Receiving", "ms", T | MF_HIDDEN},
    [M_HTTP_DURATION] = {"http_req_duration", "HTTP Duration (excl. conn)", "ms", T | MF_HIDDEN},
    [M_HTTP_TOTAL] = {"http_req_total", "HTTP Total Time", "ms", T | MF_HIDDEN},
    [M_HTTP_BLOCKED] = {"http_req_blocked", "HTTP Blocked", "ms", T | MF_HIDDEN},
    [M_HTTP_DNS] = {"http_req_dns_lookup", "HTTP DNS Lookup", "ms", T | MF_HIDDEN},
    [M_HTTP_DATA_SENT] = {"http_req_data_sent", "HTTP Data Sent", "KB", MF_INT | MF_KB | MF_HIDDEN},
    [M_HTTP_DATA_RECEIVED] = {"http_req_data_received", "HTTP Data Received", "KB",
                              MF_INT | MF_KB | MF_HIDDEN},
    [M_HTTP_CHUNKS_SENT] = {"http_req_chunks_sent", "HTTP Chunks Sent", "count",
                            MF_INT | MF_HIDDEN},
    [M_HTTP_CHUNKS_RECEIVED] = {"http_req_chunks_received", "HTTP Chunks Received", "count",
                                MF_INT | MF_HIDDEN},
    [M_CREDIT_TO_START] = {"credit_to_start_latency", "Credit-to-Start Latency", "ms",
                           T | MF_HIDDEN},
    [M_EFFECTIVE_LATENCY] = {"effective_latency", "Effective Latency (CO-aware)", "ms",
                             T | MF_HIDDEN},
    [M_OTT] = {"output_token_throughput", "Output Token Throughput", "tokens/sec",
               MF_TOKENS | MF_LARGER},
    [M_REQ_TPUT] = {"request_throughput", "Request Throughput", "requests/sec", MF_LARGER},
    [M_REQ_COUNT] = {"request_count", "Request Count", "requests", MF_LARGER | MF_INT},
    [M_ERR_COUNT] = {"error_request_count", "Error Request Count", "requests", MF_INT},
    [M_GOOD_COUNT] = {"good_request_count", "Good Request Count", "requests", MF_LARGER | MF_INT},
    [M_GOODPUT] = {"goodput", "Goodput", "requests/sec", MF_LARGER},
    [M_DURATION] = {"benchmark_duration", "Benchmark Duration", "sec", MF_HIDDEN | MF_TIME},
    [M_TOTAL_OSL] = {"total_osl", "Total Output Sequence Length", "tokens",
                     MF_TOKENS | MF_HIDDEN | MF_INT},
    [M_TOTAL_ISL] = {"total_isl", "Total Input Sequence Length", "tokens",
                     MF_TOKENS | MF_HIDDEN | MF_INT},
    [M_TOTAL_REASONING] = {"total_reasoning_tokens", "Total Reasoning Tokens", "tokens",
                           MF_TOKENS | MF_HIDDEN | MF_INT},
    [M_ERROR_RATE] = {"error_rate", "Error Rate", "ratio", MF_HIDDEN | MF_EXTRA | MF_OURS},
    [M_REQ_ERR_RATE] = {"request_error_rate", "Request Error Rate", "%", MF_HIDDEN},
    [M_COMPLETED] = {"completed_request_count", "Completed Requests (Success + Error)", "requests",
                     MF_HIDDEN | MF_INT},
    [M_TOTAL_OUT] = {"total_output_tokens", "Total Output Tokens", "tokens",
                     MF_TOKENS | MF_HIDDEN | MF_INT},
    [M_INPUT_TOK_TPUT] = {"input_token_throughput", "Input Token Throughput", "tokens/sec",
                          MF_HIDDEN | MF_LARGER},
    [M_TOTAL_TOK_TPUT] = {"total_token_throughput", "Total Token Throughput", "tokens/sec",
                          MF_TOKENS | MF_HIDDEN | MF_LARGER},
    [M_TOTAL_USAGE_PROMPT] = {"total_usage_prompt_tokens", "Total Usage Prompt Tokens", "tokens",
                              MF_HIDDEN | MF_INT},
    [M_TOTAL_USAGE_COMPLETION] = {"total_usage_completion_tokens", "Total Usage Completion Tokens",
                                  "tokens", MF_TOKENS | MF_HIDDEN | MF_INT},
    [M_TOTAL_USAGE_TOTAL] = {"total_usage_total_tokens", "Total Usage Total Tokens", "tokens",
                             MF_TOKENS | MF_HIDDEN | MF_INT},
    [M_TOTAL_USAGE_REASONING] = {"total_usage_reasoning_tokens", "Total Usage Reasoning Tokens",
                                 "tokens", MF_TOKENS | MF_HIDDEN | MF_INT},
    [M_TOTAL_ERROR_ISL] = {"total_error_isl", "Total Error Input Sequence Length", "tokens",
                           MF_HIDDEN | MF_INT},
    [M_OSL_MISMATCH_COUNT] = {"osl_mismatch_count", "OSL Mismatch Count", "requests",
                              MF_TOKENS | MF_HIDDEN | MF_INT},
    [M_CTX_OVERFLOW] = {"context_overflow_count", "Context Overflow Count", "requests",
                        MF_HIDDEN | MF_INT},
};
#undef T

static const struct {
    const char *alias;
    enum metric_id id;
} aliases[] = {
    {"ttft", M_TTFT},
    {"ttst", M_TTST},
    {"itl", M_ITL},
    {"latency", M_LATENCY},
    {"e2e", M_LATENCY},
    {"osl", M_OSL},
    {"isl", M_ISL},
    {"icl", M_ICL},
    {"lateness", M_LATENESS},
    {"benchmark_token_count", M_TOTAL_OSL},
    {"tpot", M_ITL},
    {"input_throughput", M_INPUT_TPUT}, /* this tag's name before AIPerf 0.13's */
};

int metric_find(const char *tag, size_t n)
{
    for (int i = 0; i < M_COUNT; i++)
        if (strlen(metric_defs[i].tag) == n && memcmp(metric_defs[i].tag, tag, n) == 0)
            return i;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strlen(aliases[i].alias) == n && memcmp(aliases[i].alias, tag, n) == 0)
            return (int)aliases[i].id;
    return -1;
}

static int32_t clamp32(int64_t v)
{
    return v < 0 ? 0 : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

void rrec_from_rec(struct rrec *o, const struct rec *r, int64_t shift, int32_t worker_base,
                   bool streaming_run, bool count_empty)
{
    memset(o, 0, sizeof *o);
    o->index = r->i;
    o->phase = (uint8_t)r->phase;
    o->worker = worker_base + (int32_t)(r->worker < 0 ? 0 : r->worker);
    o->err_group = -1;
    /* REC_ABSENT (records written before these fields) reads as "not recorded" */
    o->tx_bytes = r->tx_bytes >= 0 ? r->tx_bytes : -1;
    o->rx_bytes = r->rx_bytes >= 0 ? r->rx_bytes : -1;
    o->tx_writes = r->tx_writes >= 0 && r->tx_writes <= INT32_MAX ? (int32_t)r->tx_writes : -1;
    o->rx_reads = r->rx_reads >= 0 && r->rx_reads <= INT32_MAX ? (int32_t)r->rx_reads : -1;
    bool stream = streaming_run && r->stream;
    if (stream)
        o->flags |= RR_STREAM;
    if (r->has_error)
        o->flags |= RR_ERROR;
    if (r->cancelled)
        o->flags |= RR_CANCELLED;

    /* The responses AIPerf 0.13 keeps: every content message with text and every
     * reasoning message, merged in time order; only the first two and the last matter.
     * An empty-content message (vLLM's opening role chunk, a trailing "") is no response:
     * the seed counted "" and so measured TTFT to the role chunk, which a server can send
     * before any work; AIPerf 0.13 drops it, and so do we unless count_empty asks for the
     * seed's rule (docs/metrics.md). A non-streaming body is always one response. */
    int64_t f1 = RR_NONE, f2 = RR_NONE, last = RR_NONE, first_content = RR_NONE;
    size_t nresp = 0;
    bool times_ok = true;
    size_t a = 0, b = 0;
    int64_t content_tok = 0, reason_tok = 0;
    while (a < r->nchunks || b < r->nrchunks) {
        int64_t t;
        if (b >= r->nrchunks || (a < r->nchunks && r->chunk_t[a] <= r->rchunk_t[b])) {
            t = r->chunk_t[a];
            content_tok += r->chunk_tok[a];
            bool empty = r->chunk_tok[a] == 0; /* replay credits >= 1 to any text */
            if (first_content == RR_NONE && !empty)
                first_content = t;
            a++;
            if (empty && stream && !count_empty)
                continue;
        } else {
            t = r->rchunk_t[b];
            reason_tok += r->rchunk_tok[b];
            b++;
        }
        if (t <= 0)
            times_ok = false;
        if (nresp == 0)
            f1 = t;
        else if (nresp == 1)
            f2 = t;
        if (last == RR_NONE || t > last)
            last = t;
        nresp++;
    }
    if (nresp == 0 && (!stream || (r->nchunks == 0 && r->nrchunks == 0)) &&
        r->t_last != REC_ABSENT && r->t_last > 0 && !r->has_error) {
        /* A non-streaming body: one response, complete at t_last, whatever it held (an
         * embeddings list has no text). A stream whose only messages were empty had no
         * response: it stays invalid. */
        f1 = last = first_content = r->t_last;
        nresp = 1;
    }
    if (!stream && nresp > 1) {
        /* A non-streaming request has one response, the whole body. */
        f1 = first_content = last;
        f2 = RR_NONE;
        nresp = 1;
    }

    /* Each message with text carries at least one token, so a server count below the
     * number of such messages contradicts what was received (vLLM has reported
     * reasoning_tokens 0 beside 32 reasoning messages): then our own count is used and
     * the record says so (flags2; docs/metrics.md "Token counts"). */
    int64_t content_msgs = 0, reason_msgs = 0;
    for (size_t k = 0; k < r->nchunks; k++)
        content_msgs += r->chunk_tok[k] > 0;
    for (size_t k = 0; k < r->nrchunks; k++)
        reason_msgs += r->rchunk_tok[k] > 0;
    int64_t reasoning = -1;
    if (r->usage_reasoning != REC_ABSENT && r->usage_reasoning < reason_msgs) {
        reasoning = reason_tok;
        o->flags2 |= RR2_REASONING_COUNTED;
    } else if (r->usage_reasoning != REC_ABSENT) {
        reasoning = r->usage_reasoning;
    } else if (r->nrchunks) {
        reasoning = reason_tok;
    }
    if (r->usage_completion != REC_ABSENT && r->usage_completion < content_msgs + reason_msgs) {
        o->osl = clamp32(content_tok + reason_tok);
        o->flags2 |= RR2_OSL_COUNTED;
    } else if (r->usage_completion != REC_ABSENT) {
        o->osl = clamp32(r->usage_completion);
        o->flags |= RR_USAGE_OSL;
    } else if (r->nchunks || r->nrchunks) {
        o->osl = clamp32(content_tok + reason_tok);
    } else {
        o->osl = -1;
    }
    o->reasoning = reasoning < 0 ? -1 : clamp32(reasoning);
    o->usage_prompt = r->usage_prompt == REC_ABSENT ? -1 : clamp32(r->usage_prompt);
    o->usage_completion = r->usage_completion == REC_ABSENT ? -1 : clamp32(r->usage_completion);
    o->first_tok = r->first_chunk_tokens == REC_ABSENT ? -1 : clamp32(r->first_chunk_tokens);
    o->usage_reasoning = r->usage_reasoning == REC_ABSENT ? -1 : clamp32(r->usage_reasoning);
    o->osl_req = r->osl_req == REC_ABSENT || r->osl_req < 0 ? -1 : clamp32(r->osl_req);
    if (r->reused)
        o->flags |= RR_REUSED;
    if (r->has_error && r->err_msg.p) {
        /* AIPerf's is_context_overflow_response with its default substrings */
        static const char *const ctx[] = {"context length", "maximum context",
                                          "context_length_exceeded", "prompt is too long"};
        for (size_t k = 0; k < sizeof ctx / sizeof ctx[0]; k++) {
            size_t n = strlen(ctx[k]);
            for (size_t i = 0; i + n <= r->err_msg.n; i++) {
                size_t j = 0;
                while (j < n && tolower((unsigned char)r->err_msg.p[i + j]) == ctx[k][j])
                    j++;
                if (j == n) {
                    o->flags2 |= RR2_CTX_OVERFLOW;
                    break;
                }
            }
        }
    }
    if (r->text_tokens != REC_ABSENT && (!r->prefer_usage || r->usage_completion == REC_ABSENT)) {
        /* AIPerf's default: the response text as the tokenizer counts it, reasoning text
         * counted apart (output_token_count + reasoning_token_count = OSL) */
        int64_t rt = r->rtext_tokens != REC_ABSENT ? r->rtext_tokens : 0;
        o->osl = clamp32(r->text_tokens + rt);
        reasoning = rt > 0 || r->nrchunks ? rt : -1;
        o->flags &= (uint8_t)~RR_USAGE_OSL;
        o->flags2 &= (uint8_t) ~(RR2_OSL_COUNTED | RR2_REASONING_COUNTED);
        o->flags2 |= RR2_OSL_TOKENIZER;
        o->reasoning = reasoning < 0 ? -1 : clamp32(reasoning);
    }
    if (reasoning > 0 || r->nrchunks)
        o->flags |= RR_REASONING;
    o->out_tokens = o->osl < 0 ? -1 : clamp32((int64_t)o->osl - (reasoning > 0 ? reasoning : 0));
    if (r->usage_prompt != REC_ABSENT &&
        !(r->text_tokens != REC_ABSENT && !r->prefer_usage && r->isl != REC_ABSENT)) {
        o->isl = clamp32(r->usage_prompt);
        o->flags |= RR_USAGE_ISL;
    } else {
        o->isl = r->isl == REC_ABSENT ? -1 : clamp32(r->isl);
    }

    int64_t end = r->t_end != REC_ABSENT && r->t_end != 0 ? r->t_end : last;
    bool valid = !r->has_error && nresp > 0 && times_ok && r->t_start != REC_ABSENT &&
                 r->t_start >= 0 && last != RR_NONE && end != RR_NONE && r->t_start < end &&
                 f1 >= r->t_start;
    if (valid)
        o->flags |= RR_VALID;

    /* A connect that counts inside the request's latency: a new connection opened for it
     * (not reused, not opened before the run by --preconnect) that got connected. */
    o->connect_ns = RR_NONE;
    if (!r->reused && r->preconnect_ns == REC_ABSENT && r->t_start != REC_ABSENT &&
        r->t_connected != REC_ABSENT && r->t_connected > 0 && r->t_connected >= r->t_start)
        o->connect_ns = r->t_connected - r->t_start;

#define SH(x) ((x) == REC_ABSENT || (x) == RR_NONE ? RR_NONE : (x) + shift)
    o->t_intended = SH(r->t_intended);
    o->t_start = SH(r->t_start);
    o->t_head = SH(r->t_head);
    o->t_end = SH(r->t_end);
    o->t_first = SH(f1);
    o->t_second = SH(f2);
    o->t_last = SH(last);
    o->t_first_content = SH(first_content);
    /* The request write starts once the connection (and TLS) is up. */
    int64_t send_start = r->t_tls != REC_ABSENT && r->t_tls > 0               ? r->t_tls
                         : r->t_connected != REC_ABSENT && r->t_connected > 0 ? r->t_connected
                                                                              : REC_ABSENT;
    o->t_send_start = SH(send_start);
    o->t_sent = SH(r->t_sent != REC_ABSENT && r->t_sent > 0 ? r->t_sent : REC_ABSENT);
    /* The body's first byte: a stream's first event of any kind (the role chunk too);
     * a whole body arrives with its head. */
    int64_t fb = r->t_head;
    if (stream && (r->nchunks || r->nrchunks)) {
        fb = r->nchunks ? r->chunk_t[0] : r->rchunk_t[0];
        if (r->nrchunks && r->rchunk_t[0] < fb)
            fb = r->rchunk_t[0];
    }
    o->t_first_byte = SH(fb != REC_ABSENT && fb > 0 ? fb : REC_ABSENT);
#undef SH
}

int metric_network_source(int m)
{
    return m == M_NA_TTFT ? M_TTFT : m == M_NA_LATENCY ? M_LATENCY : m == M_NA_TTFO ? M_TTFO : -1;
}

bool metric_value(const struct rrec *r, enum metric_id id, double *v)
{
    bool valid = r->flags & RR_VALID, stream = r->flags & RR_STREAM;
    switch (id) {
    case M_LATENESS:
        if (r->t_start == RR_NONE || r->t_intended == RR_NONE)
            return false;
        *v = (double)(r->t_start - r->t_intended);
        return true;
    case M_CREDIT_TO_START: /* AIPerf: request_start_ns - credit_issued_ns, every record */
        if (r->t_start == RR_NONE || r->t_intended == RR_NONE)
            return false;
        *v = (double)(r->t_start > r->t_intended ? r->t_start - r->t_intended : 0);
        return true;
    case M_EFFECTIVE_LATENCY: { /* AIPerf: end_ns - credit_issued_ns, every record */
        int64_t end = r->t_end != RR_NONE ? r->t_end : r->t_last;
        if (end == RR_NONE || r->t_intended == RR_NONE)
            return false;
        *v = (double)(end > r->t_intended ? end - r->t_intended : 0);
        return true;
    }
    case M_ERROR_ISL: /* AIPerf's ERROR_ONLY metric: failed requests only */
        if (valid || r->isl < 0)
            return false;
        *v = r->isl;
        return true;
    default:
        break;
    }
    if (!valid)
        return false;
    switch (id) {
    case M_TTFT:
        if (!stream)
            return false;
        *v = (double)(r->t_first - r->t_start);
        return true;
    case M_TTST:
        if (!stream || r->t_second == RR_NONE)
            return false;
        *v = (double)(r->t_second - r->t_first);
        return true;
    case M_LATENCY:
        *v = (double)(r->t_last - r->t_start);
        return true;
    case M_ITL:
        if (!stream || r->osl < 2)
            return false;
        {
            /* AIPerf 0.13 divides by the tokens after the first content chunk: its server-
             * reported count under --per-chunk-usage (first_tok), else 1; a count that is not
             * positive or leaves less than one token falls back to osl - 1 */
            int32_t decode = r->osl - 1;
            if (r->first_tok > 0 && r->osl - r->first_tok >= 1)
                decode = r->osl - r->first_tok;
            *v = (double)((r->t_last - r->t_start) - (r->t_first - r->t_start)) / (double)decode;
            return true;
        }
    case M_OTT_USER: {
        double itl;
        if (!metric_value(r, M_ITL, &itl) || itl == 0)
            return false;
        *v = 1.0 / (itl * 1e-09);
        return true;
    }
    case M_OSL:
        if (r->osl < 0)
            return false;
        *v = r->osl;
        return true;
    case M_ISL:
        if (r->isl < 0)
            return false;
        *v = r->isl;
        return true;
    case M_OUT_COUNT:
        if (r->out_tokens < 0)
            return false;
        *v = r->out_tokens;
        return true;
    case M_REASONING:
        if (!(r->flags & RR_REASONING) || r->reasoning < 0)
            return false;
        *v = r->reasoning;
        return true;
    case M_TTFO: /* AIPerf 0.13: every streaming record; equals TTFT without reasoning */
        if (!stream || r->t_first_content == RR_NONE)
            return false;
        *v = (double)(r->t_first_content - r->t_start);
        return true;
    case M_INPUT_TPUT: {
        double ttft;
        if (r->isl < 0 || !metric_value(r, M_TTFT, &ttft) || ttft == 0)
            return false;
        *v = (double)r->isl / (ttft * 1e-09);
        return true;
    }
    case M_DECODE: {
        double ttft;
        if (!metric_value(r, M_TTFT, &ttft))
            return false;
        *v = (double)(r->t_last - r->t_start) - ttft;
        return *v >= 0;
    }
    case M_E2E_OTT:
        if (r->osl < 0 || r->t_last <= r->t_start)
            return false;
        *v = (double)r->osl / ((double)(r->t_last - r->t_start) * 1e-09);
        return true;
    case M_USAGE_PROMPT:
        *v = r->usage_prompt;
        return r->usage_prompt >= 0;
    case M_USAGE_COMPLETION:
        *v = r->usage_completion;
        return r->usage_completion >= 0;
    case M_USAGE_TOTAL:
        /* AIPerf reads usage.total_tokens; servers send prompt + completion there */
        if (r->usage_prompt < 0 || r->usage_completion < 0)
            return false;
        *v = (double)r->usage_prompt + (double)r->usage_completion;
        return true;
    case M_USAGE_REASONING:
        *v = r->usage_reasoning;
        return r->usage_reasoning >= 0;
    case M_OSL_MISMATCH:
        if (r->osl_req <= 0 || r->osl < 0)
            return false;
        *v = ((double)(r->osl - r->osl_req) / (double)r->osl_req) * 100.0;
        return true;
    case M_HTTP_REUSED:
        if (r->t_send_start == RR_NONE)
            return false;
        *v = (r->flags & RR_REUSED) ? 1 : 0;
        return true;
    case M_HTTP_CONNECTING:
    case M_HTTP_CONN_OVERHEAD:
        if (r->t_send_start == RR_NONE)
            return false;
        *v = (r->flags & RR_REUSED) ? 0 : (double)(r->t_send_start - r->t_start);
        return *v >= 0;
    case M_HTTP_SENDING:
        if (r->t_send_start == RR_NONE || r->t_sent == RR_NONE)
            return false;
        *v = (double)(r->t_sent - r->t_send_start);
        return *v >= 0;
    case M_HTTP_WAITING:
        if (r->t_sent == RR_NONE || r->t_first_byte == RR_NONE)
            return false;
        *v = (double)(r->t_first_byte - r->t_sent);
        return *v >= 0;
    case M_HTTP_RECEIVING:
        if (r->t_first_byte == RR_NONE)
            return false;
        *v = (double)((r->t_end != RR_NONE ? r->t_end : r->t_last) - r->t_first_byte);
        return *v >= 0;
    case M_HTTP_DURATION:
        if (r->t_send_start == RR_NONE)
            return false;
        *v = (double)((r->t_end != RR_NONE ? r->t_end : r->t_last) - r->t_send_start);
        return *v >= 0;
    case M_HTTP_BLOCKED:
    case M_HTTP_DNS:
        if (r->t_send_start == RR_NONE)
            return false;
        *v = 0;
        return true;
    case M_HTTP_DATA_SENT:
        *v = (double)r->tx_bytes;
        return r->tx_bytes >= 0;
    case M_HTTP_DATA_RECEIVED:
        *v = (double)r->rx_bytes;
        return r->rx_bytes >= 0;
    case M_HTTP_CHUNKS_SENT:
        *v = r->tx_writes;
        return r->tx_writes >= 0;
    case M_HTTP_CHUNKS_RECEIVED:
        *v = r->rx_reads;
        return r->rx_reads >= 0;
    case M_HTTP_TOTAL: {
        double c, se, w, re;
        if (!metric_value(r, M_HTTP_CONNECTING, &c) || !metric_value(r, M_HTTP_SENDING, &se) ||
            !metric_value(r, M_HTTP_WAITING, &w) || !metric_value(r, M_HTTP_RECEIVING, &re))
            return false;
        *v = c + se + w + re;
        return true;
    }
    case M_TTFT_INTENDED:
        if (!stream || r->t_intended == RR_NONE)
            return false;
        *v = (double)(r->t_first - r->t_intended);
        return true;
    case M_LAT_INTENDED:
        if (r->t_intended == RR_NONE)
            return false;
        *v = (double)(r->t_last - r->t_intended);
        return true;
    default:
        return false;
    }
}

double metric_display(enum metric_id id, double v)
{
    const struct metric_def *m = &metric_defs[id];
    if (m->flags & MF_KB)
        return v / 1024.0; /* MetricSizeUnit.BYTES.convert_to(KILOBYTES) */
    if (!(m->flags & MF_TIME))
        return v;
    return strcmp(m->unit, "sec") == 0 ? v * 1e-09 : v * 1e-06;
}

size_t metric_icl(const struct rec *r, bool stream, bool count_empty, int64_t *out)
{
    if (!stream)
        return 0;
    size_t a = 0, b = 0, n = 0;
    int64_t prev = 0;
    bool have = false;
    while (a < r->nchunks || b < r->nrchunks) {
        int64_t t;
        if (b >= r->nrchunks || (a < r->nchunks && r->chunk_t[a] <= r->rchunk_t[b])) {
            bool empty = r->chunk_tok[a] == 0;
            t = r->chunk_t[a++];
            if (empty && !count_empty)
                continue; /* not a response (see rrec_from_rec) */
        } else {
            t = r->rchunk_t[b++];
        }
        if (have)
            out[n++] = t - prev;
        prev = t;
        have = true;
    }
    return n;
}
