/* The dataset core (streams, lengths, windows, blocks, models) and synthetic traces. */
#include "dataset.h"

#include "buf.h"
#include "xalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dataset_opts_default(struct dataset_opts *o)
{
    memset(o, 0, sizeof *o);
    o->isl_mean = 550;
    o->block_size = 512;
    o->batch_size = 1;
    o->turns_mean = 1;
    o->delay_ratio = 1;
    o->arrival = "poisson";
    o->smoothness = 1;
    o->syn_speedup = 1;
    o->syn_prefix_mult = 1;
    o->wk_idle_gap_cap_s = -1;
    o->syn_prompt_mult = 1;
    o->syn_output_mult = 1;
    o->syn_root_mult = 1;
    o->rk_passages = 1;
    o->rk_passage_tokens = 550;
    o->rk_query_tokens = 550;
    o->sg_min_prompt = 4;
    o->sg_max_prompt = 1024;
    o->sg_min_completion = 4;
    o->sg_max_total = 2048;
    o->delay_cap_s = -1;
    o->bt_speedup = 1;
    o->bt_open_loop = true;
    o->bt_force_min_tokens = true;
}

void dataset_init(struct dataset *ds, const struct dataset_opts *o, const struct corpus *c,
                  struct trace_writer *w)
{
    memset(ds, 0, sizeof *ds);
    ds->o = o;
    ds->c = c;
    ds->w = w;
    rng_derive(&ds->len_rng, o->seed, "dataset.prompt.length");
    rng_derive(&ds->corpus_rng, o->seed, "dataset.prompt.corpus");
    rng_derive(&ds->prefix_rng, o->seed, "dataset.prompt.prefix");
    rng_derive(&ds->turns_rng, o->seed, "dataset.conversation.turns");
    rng_derive(&ds->delay_rng, o->seed, "dataset.conversation.delay");
    rng_derive(&ds->osl_rng, o->seed, "dataset.output.length");
    rng_derive(&ds->model_rng, o->seed, "dataset.model");
    rng_derive(&ds->arrival_rng, o->seed, "timing.arrival");
    rng_derive(&ds->pick_rng, o->seed, "dataset.sampling");
}

long dataset_pos_int(struct rng *r, double mean, double stddev)
{
    if (stddev <= 0)
        return mean > 0 ? (long)ceil(mean) : 0;
    double x;
    int tries = 0;
    do {
        x = rng_normal(r, mean, stddev);
    } while (x < 0 && ++tries < 10000);
    return x < 0 ? 0 : (long)ceil(x);
}

long dataset_osl(struct rng *r, const struct dataset_opts *o)
{
    long v = dataset_pos_int(r, trunc(o->osl_mean), trunc(o->osl_stddev));
    return v < 1 ? 1 : v;
}

const char *dataset_model(struct dataset *ds)
{
    const struct dataset_opts *o = ds->o;
    if (o->nmodels == 0)
        return NULL;
    if (o->model_random)
        return o->models[rng_below(&ds->model_rng, o->nmodels)];
    return o->models[(size_t)(ds->turn_counter++ % (long)o->nmodels)];
}

/* ---- Model tokenizers: windows of token ids, decoded and made exact. ---- */

static bool model_tk(const struct dataset *ds)
{
    return ds->c->tk->next == NULL;
}

void dataset_lits_reset(struct dataset *ds)
{
    for (size_t i = 0; i < ds->nlits; i++)
        free(ds->lits[i]);
    ds->nlits = 0;
}

void dataset_release(struct dataset *ds)
{
    dataset_lits_reset(ds);
    free(ds->lits);
    ds->lits = NULL;
    ds->lits_cap = 0;
    for (long i = 0; ds->prefix_text && i < ds->nprefix; i++)
        free(ds->prefix_text[i]);
    free(ds->prefix_text);
    free(ds->prefix_text_len);
    ds->prefix_text = NULL;
    ds->prefix_text_len = NULL;
}

static const char *keep_lit(struct dataset *ds, char *s)
{
    if (ds->nlits == ds->lits_cap) {
        ds->lits_cap = ds->lits_cap ? ds->lits_cap * 2 : 16;
        ds->lits = xrealloc(ds->lits, ds->lits_cap * sizeof *ds->lits);
    }
    ds->lits[ds->nlits++] = s;
    return s;
}

/* Appends corpus ids [start, start + n) to *v, wrapping around the end (n <= ntok). */
static void id_window(const struct corpus *c, size_t start, size_t n, uint32_t **v, size_t *len,
                      size_t *cap)
{
    if (*len + n > *cap) {
        *cap = (*len + n) * 2;
        *v = xrealloc(*v, *cap * sizeof **v);
    }
    for (size_t i = 0; i < n; i++)
        (*v)[(*len)++] = c->ids[(start + i) % c->ntok];
}

/* Whether corpus token i begins a word: the text it adds after its predecessor starts
 * with white space. Decoding the pair and comparing with the first alone works for
 * byte-level and Metaspace decoders alike (a Metaspace decoder drops the leading space of
 * a text's first token, so one token alone would not tell). */
static bool word_start(const struct corpus *c, size_t i, struct buf *sc)
{
    const struct tokenizer *tk = c->tk;
    uint32_t two[2] = {c->ids[(i + c->ntok - 1) % c->ntok], c->ids[i]};
    sc->len = 0;
    if (tk->decode(tk->model, two, 1, sc))
        return false;
    size_t a = sc->len;
    if (tk->decode(tk->model, two, 2, sc))
        return false;
    size_t b = sc->len - a;
    if (b <= a || memcmp(sc->p, sc->p + a, a))
        return false;
    char ch = sc->p[a + a];
    return ch == ' ' || ch == '\n' || ch == '\t';
}

/* Most rounds of decode / re-encode / trim or top up (AIPerf stops after 10 and keeps
 * what it has; more rounds make an exact text more likely, and each costs little). */
#define EXACT_ROUNDS 32

/* AIPerf 0.13's _decode_to_exact_len over an aligned window of n corpus ids: decode,
 * re-encode, and while the count is off trim the re-encoded ids or top them up with a
 * fresh random window. With a prefix (a prefix-pool prompt the text will follow), the
 * count is taken on prefix + text against target, so the seam is paid for here, as
 * AIPerf 0.13 joins a prefix at the token level. The window starts at a word start (up
 * to 64 tokens after a uniform draw) so that texts joined end to end (hash blocks, a
 * prefix and its prompt) meet where the pre-tokenizer splits anyway and do not merge.
 * Returns a malloc'd text (*len bytes); ds->inexact counts texts left off target. */
static char *dataset_exact(struct dataset *ds, struct rng *r, const char *prefix, size_t plen,
                           long n, long target, size_t *len)
{
    const struct corpus *c = ds->c;
    const struct tokenizer *tk = c->tk;
    uint32_t *ids = NULL, *re = NULL;
    size_t nid = 0, idcap = 0, nre = 0, recap = 0;
    struct buf txt, sc;
    buf_init(&txt, 0);
    buf_init(&sc, 0);
    if ((size_t)n > c->ntok)
        n = (long)c->ntok;
    size_t start = (size_t)rng_below(r, c->ntok);
    bool aligned = word_start(c, start, &sc);
    for (int k = 0; k < 64 && !aligned; k++) {
        start = (start + 1) % c->ntok;
        aligned = word_start(c, start, &sc);
    }
    id_window(c, start, (size_t)n, &ids, &nid, &idcap);
    for (int round = 0;; round++) {
        txt.len = 0;
        /* A Metaspace decoder drops the space a text's first word carries; put it back so
         * that the text, joined after another, still starts a word there (it counts here
         * as it will count there). Byte-level decoders keep it. */
        size_t mark = 0;
        if (aligned) {
            buf_putc(&txt, ' ');
            mark = 1;
        }
        tk->decode(tk->model, ids, nid, &txt);
        if (mark && txt.len > 1 && (txt.p[1] == ' ' || txt.p[1] == '\n' || txt.p[1] == '\t')) {
            memmove(txt.p, txt.p + 1, txt.len - 1);
            txt.len--;
            txt.p[txt.len] = '\0';
        }
        long cnt;
        if (plen) {
            sc.len = 0;
            buf_append(&sc, prefix, plen);
            buf_append(&sc, txt.p ? txt.p : "", txt.len);
            cnt = (long)tokenizer_count(tk, sc.p, sc.len);
        } else {
            nre = 0;
            cnt = tk->encode(tk->model, txt.p ? txt.p : "", txt.len, &re, &nre, &recap);
        }
        if (cnt == target)
            break;
        if (round == EXACT_ROUNDS) {
            ds->inexact++;
            break;
        }
        if (plen) {
            nre = 0;
            tk->encode(tk->model, txt.p ? txt.p : "", txt.len, &re, &nre, &recap);
        }
        long off = cnt - target;
        if (off > 0)
            nre = nre > (size_t)off ? nre - (size_t)off : 0;
        else
            id_window(c, (size_t)rng_below(r, c->ntok), (size_t)-off, &re, &nre, &recap);
        uint32_t *t = ids;
        ids = re, re = t;
        size_t tc = idcap;
        idcap = recap, recap = tc;
        nid = nre;
    }
    free(ids);
    free(re);
    buf_free(&sc);
    *len = txt.len;
    if (!txt.p)
        return xstrdup("");
    return buf_release(&txt);
}

size_t dataset_window(struct dataset *ds, struct rng *r, long n, struct tw_part out[2])
{
    if (model_tk(ds)) {
        size_t len;
        char *t =
            dataset_exact(ds, r, NULL, 0, n, n > (long)ds->c->ntok ? (long)ds->c->ntok : n, &len);
        out[0].kind = TW_LIT;
        out[0].s = keep_lit(ds, t);
        out[0].n = len;
        return 1;
    }
    struct corpus_slice s[2];
    size_t start = (size_t)rng_below(r, ds->c->ntok);
    /* Longer than the corpus: AIPerf wraps once and comes up short; so do we. */
    if ((size_t)n > ds->c->ntok)
        n = (long)ds->c->ntok;
    int k = corpus_window(ds->c, start, (size_t)n, s);
    for (int i = 0; i < k; i++) {
        out[i].kind = TW_SLICE;
        out[i].off = s[i].off;
        out[i].len = s[i].len;
    }
    return k > 0 ? (size_t)k : 0;
}

int dataset_block(struct dataset *ds, int64_t id, long n, const char *file, long line,
                  struct diag *d)
{
    long have;
    if (tw_block_find(ds->w, id, &have)) {
        if (have != n)
            return diag_at(d, ERR_INVALID, file, line,
                           "hash_id %lld is a %ld-token block but is used here as %ld tokens "
                           "(check --isl-block-size)",
                           (long long)id, have, n);
        return 0;
    }
    /* A block's text depends only on the seed and its id, never on which line used it
     * first, so traces cut from the same file share blocks. */
    struct rng r;
    char tag[48];
    snprintf(tag, sizeof tag, "dataset.block.%lld", (long long)id);
    rng_derive(&r, ds->o->seed, tag);
    if (model_tk(ds)) {
        size_t len;
        char *t = dataset_exact(ds, &r, NULL, 0, n, n, &len);
        struct tw_part lit = {.kind = TW_LIT, .s = t, .n = len};
        tw_block(ds->w, id, &lit, 1, n, NULL); /* copies the text */
        free(t);
        return 0;
    }
    struct tw_part parts[2];
    size_t np = dataset_window(ds, &r, n, parts);
    tw_block(ds->w, id, parts, np, n, NULL);
    return 0;
}

/* Per-conversation streams: a conversation drawn twice comes out byte-identical. */
static void conv_rng(const struct dataset *ds, struct rng *r, const char *what, long k)
{
    char tag[64];
    snprintf(tag, sizeof tag, "dataset.conversation.%ld.%s", k, what);
    rng_derive(r, ds->o->seed, tag);
}

#define MAX_BATCH 1024

/* Emits conversation k (at most max_turns turns) as session `sid`. */
static int emit_conversation(struct dataset *ds, long k, const char *sid, bool timed, double t_ms,
                             long max_turns, long *emitted, struct diag *d)
{
    const struct dataset_opts *o = ds->o;
    struct rng lr, cr, pr, tr, dr, orng;
    conv_rng(ds, &lr, "length", k);
    conv_rng(ds, &cr, "corpus", k);
    conv_rng(ds, &pr, "prefix", k);
    conv_rng(ds, &tr, "turns", k);
    conv_rng(ds, &dr, "delay", k);
    conv_rng(ds, &orng, "osl", k);
    /* media streams per conversation too, so a conversation drawn twice is identical */
    struct rng ir, ar;
    conv_rng(ds, &ir, "image", k);
    conv_rng(ds, &ar, "audio", k);
    bool media = o->media && media_enabled(o->media);
    long turns = dataset_pos_int(&tr, o->turns_mean, o->turns_stddev);
    if (turns < 1)
        turns = 1;
    if (max_turns > 0 && turns > max_turns)
        turns = max_turns;
    long nb = o->isl_mean > 0 || o->seq ? o->batch_size : 0; /* --isl 0: media-only turns */
    struct tw_part *parts = xmalloc((size_t)(nb ? nb : 1) * 3 * sizeof *parts);
    struct tw_text *texts = xmalloc((size_t)(nb ? nb : 1) * sizeof *texts);
    /* AIPerf 0.13's conversation-level messages: the shared system prompt (one block for
     * all) and this conversation's own user context (the same for a conversation drawn
     * twice: it is keyed by k). */
    struct tw_part sys_part = {.kind = TW_BLOCK, .id = DATASET_SHARED_SYSTEM_BLOCK};
    struct tw_text sys_text = {.parts = &sys_part, .nparts = 1};
    struct tw_part ctx_parts[2];
    struct tw_text ctx_text = {.parts = ctx_parts, .nparts = 0};
    if (o->user_context_len > 0) {
        struct rng xr;
        conv_rng(ds, &xr, "context", k);
        ctx_text.nparts = dataset_window(ds, &xr, o->user_context_len, ctx_parts);
    }
    int rc = 0;
    for (long t = 0; t < turns && !rc; t++) {
        long isl = 0;
        long seq_isl = 0, seq_osl = -1;
        if (o->seq) {
            /* one (ISL, OSL) pair per turn: every prompt of the batch has that length */
            seqdist_sample(o->seq, &orng, &seq_isl, &seq_osl);
            if (seq_isl < 1)
                seq_isl = 1;
            if (seq_osl < 1)
                seq_osl = 1;
        }
        for (long b = 0; b < nb; b++) {
            struct tw_part *p = parts + b * 3;
            size_t np = 0;
            if (t == 0 && o->prefix_len > 0) {
                long which = (long)rng_below(&pr, (uint64_t)o->prefix_pool);
                p[np].kind = TW_BLOCK;
                p[np].id = -1 - which;
                np++;
                isl += o->prefix_len;
            }
            long n = o->seq ? seq_isl : dataset_pos_int(&lr, o->isl_mean, o->isl_stddev);
            if (n < 1)
                n = 1;
            if (t == 0 && o->bust_first_tokens > 0) /* the marker rides in this budget */
                n = n - o->bust_first_tokens < 1 ? 1 : n - o->bust_first_tokens;
            if (np && model_tk(ds)) {
                /* the prompt is made exact together with its prefix (AIPerf 0.13) */
                long which = -1 - p[0].id;
                size_t len;
                char *body = dataset_exact(ds, &cr, ds->prefix_text[which],
                                           ds->prefix_text_len[which], n, o->prefix_len + n, &len);
                p[np].kind = TW_LIT;
                p[np].s = keep_lit(ds, body);
                p[np].n = len;
                np++;
            } else {
                np += dataset_window(ds, &cr, n, p + np);
            }
            isl += n;
            texts[b].parts = p;
            texts[b].nparts = np;
        }
        struct tw_request q = {0};
        q.session = sid;
        q.turn = (int)t;
        q.timed = timed && t == 0;
        q.t_ms = t_ms;
        q.start_ms = t_ms;
        q.delay_ms = -1;
        if (t > 0)
            q.delay_ms =
                (double)dataset_pos_int(&dr, o->delay_mean, o->delay_stddev) * o->delay_ratio;
        q.model = dataset_model(ds);
        q.texts = texts;
        q.ntexts = (size_t)nb;
        q.isl = isl;
        q.max_tokens = o->seq ? seq_osl : o->osl_set ? dataset_osl(&orng, o) : -1;
        if (t == 0 && o->shared_system_len > 0)
            q.system_text = &sys_text;
        if (t == 0 && ctx_text.nparts > 0)
            q.context_text = &ctx_text;
        q.live_history = t > 0;
        struct media_turn mt = {0};
        if (media && (rc = media_turn_make(o->media, &ir, &ar, &mt, d)))
            break;
        q.images = (const char *const *)mt.images;
        q.nimages = mt.nimages;
        q.audios = (const char *const *)mt.audios;
        q.naudios = mt.naudios;
        rc = tw_request(ds->w, &q, d);
        media_turn_free(&mt);
        dataset_lits_reset(ds);
        (*emitted)++;
    }
    free(parts);
    free(texts);
    return rc;
}

/* Most passages one rankings request carries. */
#define MAX_PASSAGES 4096

/* Rankings entry k as session `sid`: one turn of a query and its passages (AIPerf 0.13's
 * SyntheticRankingsDatasetComposer: the passage count, then the query, then each passage
 * drawn from normals truncated at 0 and rounded up). */
static int emit_rankings(struct dataset *ds, long k, const char *sid, bool timed, double t_ms,
                         long *emitted, struct diag *d)
{
    const struct dataset_opts *o = ds->o;
    struct rng pr, cr, lr, qr;
    conv_rng(ds, &pr, "passages", k);
    conv_rng(ds, &cr, "corpus", k);
    conv_rng(ds, &lr, "length", k);
    conv_rng(ds, &qr, "query", k);
    long np = dataset_pos_int(&pr, o->rk_passages, o->rk_passages_sd);
    if (np > MAX_PASSAGES)
        return diag_set(d, ERR_INVALID, "a rankings request drew %ld passages (at most %d)", np,
                        MAX_PASSAGES);
    struct tw_part *parts = xmalloc((size_t)(np + 1) * 2 * sizeof *parts);
    struct tw_text *texts = xmalloc((size_t)(np + 1) * sizeof *texts);
    long isl = 0;
    for (long i = 0; i <= np; i++) {
        long n = i == 0 ? dataset_pos_int(&qr, o->rk_query_tokens, o->rk_query_tokens_sd)
                        : dataset_pos_int(&lr, o->rk_passage_tokens, o->rk_passage_tokens_sd);
        if (n < 1)
            n = 1;
        texts[i].parts = parts + i * 2;
        texts[i].nparts = dataset_window(ds, &cr, n, parts + i * 2);
        isl += n;
    }
    struct tw_request q = {0};
    q.session = sid;
    q.timed = timed;
    q.t_ms = t_ms;
    q.start_ms = t_ms;
    q.delay_ms = -1;
    q.model = dataset_model(ds);
    q.texts = texts;
    q.ntexts = (size_t)np + 1;
    q.isl = isl;
    q.max_tokens = -1; /* rankings take no output limit */
    int rc = tw_request(ds->w, &q, d);
    dataset_lits_reset(ds);
    (*emitted)++;
    free(parts);
    free(texts);
    return rc;
}

static double next_gap(struct dataset *ds)
{
    const struct dataset_opts *o = ds->o;
    double mean = 1000.0 / o->rate;
    if (!strcmp(o->arrival, "constant"))
        return mean;
    if (!strcmp(o->arrival, "gamma"))
        return rng_gamma(&ds->arrival_rng, o->smoothness, mean / o->smoothness);
    return rng_exponential(&ds->arrival_rng, mean);
}

int dataset_synthetic(struct dataset *ds, struct diag *d)
{
    const struct dataset_opts *o = ds->o;
    if (o->isl_mean <= 0 && !(o->media && media_enabled(o->media)))
        return diag_set(d, ERR_INVALID,
                        "all synthetic data is disabled: give --isl > 0, or images or audio "
                        "(--image-width-mean, --audio-length-mean...)");
    if (o->batch_size < 1 || o->batch_size > MAX_BATCH)
        return diag_set(d, ERR_INVALID, "--batch-size must be in 1..%d", MAX_BATCH);
    if (o->prefix_len > 0 && o->prefix_pool <= 0)
        return diag_set(d, ERR_INVALID,
                        "--prefix-prompt-length needs --num-prefix-prompts > 0 (the pool size)");
    if (o->prefix_len > 0 && model_tk(ds)) {
        ds->prefix_text = xcalloc((size_t)o->prefix_pool, sizeof *ds->prefix_text);
        ds->prefix_text_len = xcalloc((size_t)o->prefix_pool, sizeof *ds->prefix_text_len);
    }
    for (long i = 0; o->prefix_len > 0 && i < o->prefix_pool; i++) {
        if (model_tk(ds)) {
            size_t len;
            char *t =
                dataset_exact(ds, &ds->prefix_rng, NULL, 0, o->prefix_len, o->prefix_len, &len);
            ds->prefix_text[i] = t;
            ds->prefix_text_len[i] = len;
            ds->nprefix = i + 1;
            struct tw_part lit = {.kind = TW_LIT, .s = t, .n = len};
            tw_block(ds->w, -1 - i, &lit, 1, o->prefix_len, NULL);
            continue;
        }
        struct tw_part parts[2];
        size_t np = dataset_window(ds, &ds->prefix_rng, o->prefix_len, parts);
        tw_block(ds->w, -1 - i, parts, np, o->prefix_len, NULL);
    }
    if (o->shared_system_len > 0) {
        struct tw_part parts[2];
        long sl = o->shared_system_len - o->bust_system_tokens; /* the marker's share */
        if (sl < 1)
            sl = 1;
        size_t np = dataset_window(ds, &ds->prefix_rng, sl, parts);
        tw_block(ds->w, DATASET_SHARED_SYSTEM_BLOCK, parts, np, sl, NULL);
        dataset_lits_reset(ds); /* the block holds its own copy of a literal */
    }
    /* AIPerf 0.13: the unique conversations are --num-dataset-entries, else
     * --conversation-num, else --request-count, else 100 (its _resolve_entries);
     * --conversation-num N sends N sessions, --request-count N requests (with both, the
     * first limit reached ends the trace); neither sends each unique one once. Each session
     * takes its conversation from the sampler --dataset-sampling-strategy names. */
    long uniq = o->entries > 0         ? o->entries
                : o->conversations > 0 ? o->conversations
                : o->request_count > 0 ? o->request_count
                                       : 100;
    long *perm = NULL; /* shuffle: the current permutation of 0..uniq-1 */
    if (o->sampling == SAMPLING_SHUFFLE) {
        perm = xmalloc((size_t)uniq * sizeof *perm);
        for (long i = 0; i < uniq; i++)
            perm[i] = i;
    }
    bool timed = o->rate > 0;
    double t = 0;
    long emitted = 0, seq = 0;
    char sid[32];
    int rc = 0;
    for (;; seq++) {
        if (o->conversations > 0 && seq >= o->conversations)
            break;
        if (o->request_count > 0 && emitted >= o->request_count)
            break;
        if (o->conversations <= 0 && o->request_count <= 0 && seq >= uniq)
            break;
        long k, at = seq % uniq;
        if (o->sampling == SAMPLING_RANDOM) { /* with replacement */
            k = (long)rng_below(&ds->pick_rng, (uint64_t)uniq);
        } else if (perm) { /* without replacement; a new permutation at each pass */
            if (at == 0)
                for (long i = uniq - 1; i > 0; i--) {
                    long j = (long)rng_below(&ds->pick_rng, (uint64_t)i + 1), x = perm[i];
                    perm[i] = perm[j];
                    perm[j] = x;
                }
            k = perm[at];
        } else { /* sequential: in order, from the start again after the last */
            k = at;
        }
        if (timed && seq > 0)
            t += next_gap(ds);
        snprintf(sid, sizeof sid, "s%ld", seq);
        long left = o->request_count > 0 ? o->request_count - emitted : 0;
        rc = o->rankings
                 ? emit_rankings(ds, k, sid, timed, round(t * 1000) / 1000, &emitted, d)
                 : emit_conversation(ds, k, sid, timed, round(t * 1000) / 1000, left, &emitted, d);
        if (rc)
            break;
    }
    free(perm);
    return rc;
}
