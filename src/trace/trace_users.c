/* AIPerf 0.13's user-centric rate (--user-centric-rate R --num-users N) as a schedule:
 * the sessions of an untimed trace become the users' conversations, and every send time
 * the definition gives is written into a new, timed trace (dataset.h). */
#include "dataset.h"

#include "buf.h"
#include "rng.h"
#include "xalloc.h"
#include "zio.h"

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRACE_LINE (256u << 20)

/* One conversation of the pool: its request lines, in file order. */
struct uc_conv {
    char *id;
    size_t *lines, n, cap;
};

/* One user: a conversation (cut to `turns`) whose first turn goes at slot `start`; its
 * turn k at start + k*N (slots of 1/R s). */
struct uc_user {
    long id;
    size_t conv, turns;
    int64_t start;
};

/* Python's round(): half to even (AIPerf rounds the mean turn count with it). */
static long round_half_even(double x)
{
    double f = floor(x), r = x - f;
    if (r > 0.5 || (r == 0.5 && fmod(f, 2) != 0))
        f += 1;
    return (long)f;
}

static long gcd_l(long a, long b)
{
    while (b) {
        long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* A min-heap of (slot, user index): the spawns still to come, earliest first. */
struct uc_heap {
    int64_t *t;
    size_t n, cap;
};

static void heap_push(struct uc_heap *h, int64_t t)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->t = xrealloc(h->t, h->cap * sizeof *h->t);
    }
    size_t i = h->n++;
    while (i > 0 && h->t[(i - 1) / 2] > t) {
        h->t[i] = h->t[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->t[i] = t;
}

static int64_t heap_pop(struct uc_heap *h)
{
    int64_t top = h->t[0], last = h->t[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->t[c + 1] < h->t[c])
            c++;
        if (h->t[c] >= last)
            break;
        h->t[i] = h->t[c];
        i = c;
    }
    if (h->n)
        h->t[i] = last;
    return top;
}

/* AIPerf's dataset samplers over the pool, seeded as the synthetic pack and
 * trace_resample draw theirs (one stream, "dataset.sampling"): sequential in order and
 * wrapping, random with replacement, shuffle a new permutation at each pass. */
struct uc_sampler {
    enum ds_sampling how;
    struct rng r;
    size_t n, k; /* pool size, draws so far */
    size_t *perm;
};

static size_t sampler_next(struct uc_sampler *s)
{
    size_t at = s->k++ % s->n;
    if (s->how == SAMPLING_RANDOM)
        return (size_t)rng_below(&s->r, s->n);
    if (s->how == SAMPLING_SHUFFLE) {
        if (at == 0)
            for (size_t i = s->n - 1; i > 0; i--) {
                size_t j = (size_t)rng_below(&s->r, (uint64_t)i + 1), x = s->perm[i];
                s->perm[i] = s->perm[j];
                s->perm[j] = x;
            }
        return s->perm[at];
    }
    return at;
}

/* A request line of the input, set aside in the spill file. */
struct uc_line {
    uint64_t off, n;
};

/* The request line l, parsed (the caller deletes *out). */
static int read_line(struct zspill *sp, const struct uc_line *l, struct buf *b, cJSON **out,
                     struct diag *d)
{
    int rc = zspill_get(sp, l->off, l->n, b, d);
    if (rc)
        return rc;
    if (!(*out = cJSON_ParseWithLength(b->p, b->len)))
        return diag_set(d, ERR_PARSE, "%s: a request line did not parse again", sp->path);
    return 0;
}

/* A send of the schedule, for the request-count cut: (slot, user, turn). */
struct uc_send {
    int64_t slot;
    size_t user, turn;
};

static int send_cmp(const void *a, const void *b)
{
    const struct uc_send *x = a, *y = b;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

int trace_user_centric(const char *in, const char *out, const struct uc_opts *uo, int level,
                       long *nreq, long *nses, struct diag *d)
{
    struct zreader *zr;
    int rc = zr_open(&zr, in, MAX_TRACE_LINE, d);
    if (rc)
        return rc;
    cJSON *hdr = NULL;
    struct buf table;
    buf_init(&table, 0);
    /* every request line, in the spill file: a long schedule over large prompts would not
     * fit in memory parsed (20,000 lines of 3,000 tokens took 340 MB that way) */
    struct zspill sp = {0};
    struct uc_line *reqs = NULL;
    struct buf lb; /* a line read back */
    buf_init(&lb, 0);
    size_t nl = 0, lcap = 0;
    struct uc_conv *cv = NULL;
    size_t ncv = 0, ccap = 0;
    struct uc_user *us = NULL;
    size_t nus = 0, ucap = 0;
    struct uc_send *sends = NULL;
    struct uc_heap heap = {0};
    struct uc_sampler smp = {0};
    size_t *wconv = NULL, *wkept = NULL, nws = 0, nwsend = 0; /* the warmup's sessions */
    const char *line;
    size_t n;
    if ((rc = zspill_open(&sp, out, d))) {
        zr_close(zr);
        goto out;
    }
    while ((rc = zr_getline(zr, &line, &n, d)) == 1) {
        if (!hdr) {
            if (!(hdr = cJSON_ParseWithLength(line, n))) {
                rc = diag_at(d, ERR_PARSE, in, 1, "bad trace header");
                break;
            }
            continue;
        }
        if (n < 12 || memcmp(line, "{\"session\":\"", 12)) {
            buf_append(&table, line, n);
            buf_append(&table, "\n", 1);
            continue;
        }
        cJSON *r = cJSON_ParseWithLength(line, n);
        const cJSON *sid = r ? cJSON_GetObjectItemCaseSensitive(r, "session") : NULL;
        if (!cJSON_IsString(sid)) {
            cJSON_Delete(r);
            rc = diag_at(d, ERR_PARSE, in, 0, "bad request line");
            break;
        }
        if (nl == lcap) {
            lcap = lcap ? lcap * 2 : 1024;
            reqs = xrealloc(reqs, lcap * sizeof *reqs);
        }
        reqs[nl].n = n;
        if ((rc = zspill_put(&sp, line, n, &reqs[nl].off, d))) {
            cJSON_Delete(r);
            break;
        }
        /* sessions in the order they first appear; the pool is small (its conversations,
         * --num-dataset-entries), a linear look-back from the newest is enough */
        size_t c = ncv;
        for (size_t k = ncv; k-- > 0;)
            if (!strcmp(cv[k].id, sid->valuestring)) {
                c = k;
                break;
            }
        if (c == ncv) {
            if (ncv == ccap) {
                ccap = ccap ? ccap * 2 : 64;
                cv = xrealloc(cv, ccap * sizeof *cv);
            }
            cv[ncv++] = (struct uc_conv){.id = xstrdup(sid->valuestring)};
        }
        struct uc_conv *s = &cv[c];
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 4;
            s->lines = xrealloc(s->lines, s->cap * sizeof *s->lines);
        }
        s->lines[s->n++] = nl++;
        cJSON_Delete(r);
    }
    zr_close(zr);
    if (rc < 0)
        goto out;
    rc = 0;
    if (!hdr || ncv == 0) {
        rc = diag_at(d, ERR_INVALID, in, 0, "no requests to schedule");
        goto out;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hdr, "timed"))) {
        rc = diag_set(d, ERR_INVALID,
                      "--user-centric-rate %g: the dataset has timestamps (a fixed schedule; "
                      "user-centric mode needs untimed conversations)",
                      uo->rate);
        goto out;
    }

    /* AIPerf 0.13's UserCentricStrategy, in slots of 1/R seconds (its stagger): every
     * send falls on a whole slot, so the schedule is exact integers. A user's turns are
     * N slots apart (the turn gap N/R), and the user that replaces it starts in the slot
     * after its last turn, so each of the N residues mod N is one chain of users. */
    long N = uo->users;
    size_t total_turns = 0;
    for (size_t i = 0; i < ncv; i++)
        total_turns += cv[i].n;
    long session_turns = round_half_even((double)total_turns / (double)ncv);
    long life = session_turns - 1 > 1 ? session_turns - 1 : 1; /* gaps per session */
    bool alt = gcd_l(N, life) > 1;
    long step = 1;
    if (alt)
        for (long k = 2; k < N; k++)
            if (gcd_l(N, k) == 1) {
                step = k;
                break;
            }
    long next_id = 1;
    smp = (struct uc_sampler){.how = uo->sampling, .n = ncv};
    rng_derive(&smp.r, uo->seed, "dataset.sampling");
    if (smp.how == SAMPLING_SHUFFLE) {
        smp.perm = xmalloc(ncv * sizeof *smp.perm);
        for (size_t i = 0; i < ncv; i++)
            smp.perm[i] = i;
    }

    /* AIPerf's warmup phase runs first and draws from the same sampler: its sessions take
     * the first conversations. A closed loop of C sessions issues round by round (each
     * session's next turn when its reply is in, a new session in the slot of one that
     * ended); a rate warmup, whose replies come before its next tick, sends a session's
     * turns one after the other. Cut to the first W requests, the first S sessions. */
    if (uo->warm_requests > 0 || uo->warm_sessions > 0) {
        long W = uo->warm_requests, S = uo->warm_sessions,
             C = uo->warm_conc > 0 ? uo->warm_conc : 1;
        long sent = 0;
        size_t wcap = 0;
#define ADD_WARM()                                                                                 \
    do {                                                                                           \
        if (nws == wcap) {                                                                         \
            wcap = wcap ? wcap * 2 : 64;                                                           \
            wconv = xrealloc(wconv, wcap * sizeof *wconv);                                         \
            wkept = xrealloc(wkept, wcap * sizeof *wkept);                                         \
        }                                                                                          \
        wconv[nws] = sampler_next(&smp);                                                           \
        wkept[nws++] = 0;                                                                          \
    } while (0)
        if (uo->warm_rate) {
            while ((S <= 0 || (long)nws < S) && (W <= 0 || sent < W)) {
                ADD_WARM();
                for (size_t k = 0; k < cv[wconv[nws - 1]].n && (W <= 0 || sent < W); k++)
                    wkept[nws - 1]++, sent++;
            }
        } else {
            /* no more slots than requests or sessions can fill */
            if (W > 0 && C > W)
                C = W;
            if (S > 0 && C > S)
                C = S;
            long *slot = xmalloc((size_t)C * sizeof *slot); /* its session, -1: none */
            for (long i = 0; i < C; i++)
                slot[i] = -1;
            for (bool any = true; any && (W <= 0 || sent < W);) {
                any = false;
                for (long i = 0; i < C && (W <= 0 || sent < W); i++) {
                    if (slot[i] < 0 || wkept[slot[i]] >= cv[wconv[slot[i]]].n) {
                        if (S > 0 && (long)nws >= S) {
                            slot[i] = -1;
                            continue;
                        }
                        ADD_WARM();
                        slot[i] = (long)nws - 1;
                    }
                    wkept[slot[i]]++, sent++;
                    any = true;
                }
            }
            free(slot);
        }
#undef ADD_WARM
        nwsend = (size_t)sent;
        /* AIPerf's rate loop (its closed loop too) draws the next new session before it
         * needs it: that draw is spent when the warmup ends */
        (void)sampler_next(&smp);
    }
#define ADD_USER(START, TURNS)                                                                     \
    do {                                                                                           \
        if (nus == ucap) {                                                                         \
            ucap = ucap ? ucap * 2 : 64;                                                           \
            us = xrealloc(us, ucap * sizeof *us);                                                  \
        }                                                                                          \
        size_t c_ = sampler_next(&smp);                                                            \
        size_t t_ = (TURNS) > 0 && (size_t)(TURNS) < cv[c_].n ? (size_t)(TURNS) : cv[c_].n;        \
        us[nus++] = (struct uc_user){.id = next_id++, .conv = c_, .turns = t_, .start = START};    \
    } while (0)
    /* the users already part-way through their sessions at t=0 (virtual history) */
    for (long i = 0; i < N; i++) {
        long age = (N - i) * life;
        long left = life - age / N;
        if (left <= 0) { /* done before t=0: its id is used up all the same */
            next_id++;
            continue;
        }
        long slot_index = alt ? (i * step) % N : age % N;
        ADD_USER(N - slot_index, left);
    }
    ADD_USER(0, 0); /* the new user that replaces the one done at t=0 */
    for (size_t i = 0; i < nus; i++)
        heap_push(&heap, us[i].start + (int64_t)us[i].turns * N);

    /* Spawn until the limits are out of reach: every send of a later user comes after
     * its spawn, and spawns come in time order. */
    double slot_ms = 1000.0 / uo->rate;
    int64_t end_slot = INT64_MAX; /* first slot at or after --benchmark-duration */
    if (uo->duration_s > 0)
        end_slot = (int64_t)ceil(uo->duration_s * uo->rate - 1e-9);
    long max_users = uo->sessions > 0 ? uo->sessions : LONG_MAX;
    for (;;) {
        if ((long)nus >= max_users)
            break;
        int64_t t = heap.t[0];
        if (t >= end_slot)
            break;
        /* the N chains cover every slot once (the starts are the N residues), so the
         * first C sends are the slots before C: no user starting later is needed */
        if (uo->requests > 0 && t >= uo->requests)
            break;
        if (uo->requests <= 0 && uo->sessions <= 0 && uo->duration_s <= 0)
            break; /* nothing bounds it: the users of t=0 only (the caller never asks) */
        (void)heap_pop(&heap);
        ADD_USER(t, 0);
        heap_push(&heap, t + (int64_t)us[nus - 1].turns * N);
    }
#undef ADD_USER

    /* Every send, in time order; the first --request-count of them (AIPerf counts
     * requests sent), those before the duration. */
    size_t nsend = 0;
    for (size_t i = 0; i < nus; i++)
        nsend += us[i].turns;
    sends = xmalloc((nsend ? nsend : 1) * sizeof *sends);
    nsend = 0;
    for (size_t i = 0; i < nus; i++)
        for (size_t k = 0; k < us[i].turns; k++) {
            int64_t slot = us[i].start + (int64_t)k * N;
            if (slot >= end_slot)
                continue;
            sends[nsend++] = (struct uc_send){.slot = slot, .user = i, .turn = k};
        }
    qsort(sends, nsend, sizeof *sends, send_cmp);
    if (uo->requests > 0 && (long)nsend > uo->requests)
        nsend = (size_t)uo->requests;
    /* what each user keeps: its turns among the sends kept (a prefix of its turns) */
    size_t *kept = xcalloc(nus ? nus : 1, sizeof *kept);
    for (size_t i = 0; i < nsend; i++)
        kept[sends[i].user]++;
    /* users by start slot: the file is ordered by first-turn time */
    size_t *order = xmalloc((nus ? nus : 1) * sizeof *order), no = 0;
    for (size_t i = 0; i < nsend; i++)
        if (sends[i].turn == 0)
            order[no++] = sends[i].user;

    long written = 0;
    double gap_ms = (double)N * slot_ms;
    cJSON_ReplaceItemInObjectCaseSensitive(hdr, "timed", cJSON_CreateTrue());
    /* the file's counts (the warmup block's lines too); warmup_requests says how many of
     * them are the warmup's */
    cJSON_ReplaceItemInObjectCaseSensitive(hdr, "requests",
                                           cJSON_CreateNumber((double)(nsend + nwsend)));
    cJSON_ReplaceItemInObjectCaseSensitive(hdr, "sessions", cJSON_CreateNumber((double)(no + nws)));
    cJSON_DeleteItemFromObjectCaseSensitive(hdr, "warmup_requests");
    cJSON_DeleteItemFromObjectCaseSensitive(hdr, "warmup_concurrency");
    cJSON_DeleteItemFromObjectCaseSensitive(hdr, "warmup_rate");
    if (nwsend) {
        cJSON_AddNumberToObject(hdr, "warmup_requests", (double)nwsend);
        if (uo->warm_rate > 0)
            cJSON_AddNumberToObject(hdr, "warmup_rate", uo->warm_rate);
        else
            cJSON_AddNumberToObject(hdr, "warmup_concurrency", (double)uo->warm_conc);
    }
    cJSON *opts = cJSON_GetObjectItemCaseSensitive(hdr, "options");
    if (cJSON_IsObject(opts)) {
        cJSON *u = cJSON_CreateObject();
        cJSON_AddNumberToObject(u, "rate", uo->rate);
        cJSON_AddNumberToObject(u, "users", (double)N);
        cJSON_AddNumberToObject(u, "session_turns", (double)session_turns);
        cJSON_AddNumberToObject(u, "turn_gap_ms", gap_ms);
        if (nwsend) {
            cJSON *w = cJSON_CreateObject();
            cJSON_AddStringToObject(w, "load", uo->warm_rate ? "rate" : "concurrency");
            if (!uo->warm_rate)
                cJSON_AddNumberToObject(w, "concurrency", (double)uo->warm_conc);
            cJSON_AddNumberToObject(w, "requests", (double)nwsend);
            cJSON_AddNumberToObject(w, "sessions", (double)nws);
            cJSON_AddItemToObject(u, "warmup", w);
        }
        cJSON_AddItemToObject(opts, "user_centric", u);
    }
    char *h = cJSON_PrintUnformatted(hdr);
    struct zwriter *zw;
    if ((rc = zw_open(&zw, out, ZW_ATOMIC, level, d))) {
        free(h);
        free(kept);
        free(order);
        goto out;
    }
    int wr = zw_write(zw, h, strlen(h)) || zw_write(zw, "\n", 1) ||
             zw_write(zw, table.p ? table.p : "", table.len) || zw_end_frame(zw);
    free(h);
    char idb[32];
    /* the warmup block first: whole conversations, each session's turns in order, their
     * turn delays kept (AIPerf's warmup waits them as any multi-turn load does) */
    for (size_t ws = 0; ws < nws && !wr; ws++) {
        snprintf(idb, sizeof idb, "w%zu", ws + 1);
        for (size_t k = 0; k < wkept[ws] && !wr; k++) {
            cJSON *r = NULL;
            if ((rc = read_line(&sp, &reqs[cv[wconv[ws]].lines[k]], &lb, &r, d))) {
                wr = 2;
                break;
            }
            cJSON_ReplaceItemInObjectCaseSensitive(r, "session", cJSON_CreateString(idb));
            cJSON_DeleteItemFromObjectCaseSensitive(r, "t_ms");
            cJSON_DeleteItemFromObjectCaseSensitive(r, "gap_ms");
            cJSON_DeleteItemFromObjectCaseSensitive(r, "warmup");
            cJSON_AddTrueToObject(r, "warmup");
            char *txt = cJSON_PrintUnformatted(r);
            cJSON_Delete(r);
            wr = zw_write(zw, txt, strlen(txt)) || zw_write(zw, "\n", 1);
            free(txt);
            written++;
        }
    }
    for (size_t o = 0; o < no && !wr; o++) {
        const struct uc_user *u = &us[order[o]];
        snprintf(idb, sizeof idb, "%ld", u->id); /* AIPerf's x_correlation_id */
        for (size_t k = 0; k < kept[order[o]] && !wr; k++) {
            cJSON *r = NULL;
            if ((rc = read_line(&sp, &reqs[cv[u->conv].lines[k]], &lb, &r, d))) {
                wr = 2;
                break;
            }
            cJSON_ReplaceItemInObjectCaseSensitive(r, "session", cJSON_CreateString(idb));
            cJSON_DeleteItemFromObjectCaseSensitive(r, "t_ms");
            cJSON_DeleteItemFromObjectCaseSensitive(r, "delay_ms");
            cJSON_DeleteItemFromObjectCaseSensitive(r, "gap_ms");
            if (k == 0) {
                /* rounded to the µs the trace keeps; the slot itself is exact */
                double t = round((double)u->start * slot_ms * 1000) / 1000;
                cJSON_AddNumberToObject(r, "t_ms", t);
            } else {
                cJSON_AddNumberToObject(r, "gap_ms", gap_ms);
            }
            char *s = cJSON_PrintUnformatted(r);
            cJSON_Delete(r);
            wr = zw_write(zw, s, strlen(s)) || zw_write(zw, "\n", 1);
            free(s);
            written++;
        }
    }
    free(kept);
    free(order);
    if (wr) {
        if (wr != 2) /* 2: reading the spill back failed, and said so */
            rc = diag_set(d, ERR_IO, "%s: %s", out, zw_strerror(zw));
        zw_abort(zw);
        goto out;
    }
    if ((rc = zw_commit(zw, d)))
        goto out;
    *nreq = written;
    *nses = (long)(no + nws);
out:
    cJSON_Delete(hdr);
    buf_free(&table);
    free(reqs);
    buf_free(&lb);
    zspill_close(&sp);
    for (size_t i = 0; i < ncv; i++) {
        free(cv[i].id);
        free(cv[i].lines);
    }
    free(cv);
    free(us);
    free(sends);
    free(heap.t);
    free(smp.perm);
    free(wconv);
    free(wkept);
    return rc;
}
