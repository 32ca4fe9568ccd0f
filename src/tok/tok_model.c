/*
 * tok_model: the three models, each as tokenizers' Model::tokenize on one pre-tokenized
 * piece. BPE merges with a binary heap ordered (rank, position) like the crate's
 * Word::merge_all, and caches whole-word results in the caller's scratch (the crate keeps
 * a cache too; ours is per caller, so a shared struct tok stays immutable).
 */
#include "err.h"
#include "tok_int.h"
#include "xalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct tk_sym {
    uint32_t id;
    int32_t prev, next;
    uint32_t len; /* bytes covered; 0 once merged away */
};

struct hent {
    uint32_t rank, pos, nid;
};

void tk_ids_push(struct tok_ids *ids, uint32_t id)
{
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? ids->cap * 2 : 256;
        ids->v = xrealloc(ids->v, ids->cap * sizeof *ids->v);
    }
    ids->v[ids->n++] = id;
}

static inline bool merge_get(const struct tok *t, uint32_t a, uint32_t b, uint32_t *rank,
                             uint32_t *nid)
{
    uint64_t key = (((uint64_t)a << 32) | b) + 1;
    uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & t->mmask;
    for (;;) {
        uint64_t k = t->merge[i].key;
        if (k == key) {
            *rank = t->merge[i].rank;
            *nid = t->merge[i].nid;
            return true;
        }
        if (!k)
            return false;
        i = (i + 1) & t->mmask;
    }
}

static inline bool h_less(const struct hent *x, const struct hent *y)
{
    return x->rank < y->rank || (x->rank == y->rank && x->pos < y->pos);
}
static void h_push(struct hent *h, size_t *n, struct hent e)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!h_less(&e, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}
static struct hent h_pop(struct hent *h, size_t *n)
{
    struct hent top = h[0], e = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct hent *best = &e;
        if (l < *n && h_less(&h[l], best)) {
            m = l;
            best = &h[l];
        }
        if (r < *n && h_less(&h[r], best))
            m = r;
        if (m == i)
            break;
        h[i] = h[m];
        i = m;
    }
    if (*n)
        h[i] = e;
    return top;
}

static void sym_reserve(struct tok_scratch *sc, size_t n)
{
    if (n > sc->symcap) {
        sc->symcap = n * 2;
        sc->sym = xrealloc(sc->sym, sc->symcap * sizeof *sc->sym);
        sc->heap = xrealloc(sc->heap, sc->symcap * sizeof(struct hent));
    }
}

static void sym_add(struct tok_scratch *sc, size_t *ns, uint32_t id, uint32_t len)
{
    sym_reserve(sc, *ns + 1);
    struct tk_sym *s = &sc->sym[*ns];
    s->id = id;
    s->len = len;
    s->prev = (int32_t)*ns - 1;
    s->next = (int32_t)*ns + 1;
    (*ns)++;
}

static int bpe_word(const struct tok *t, struct tok_scratch *sc, const char *w, size_t n,
                    struct tok_ids *ids, struct diag *d)
{
    if (t->ignore_merges) {
        long id = tk_vocab_get(t, w, n);
        if (id >= 0) {
            tk_ids_push(ids, (uint32_t)id);
            return 0;
        }
    }
    size_t ns = 0;
    bool has_pfx = t->cont_prefix.len != TK_NOSTR, has_sfx = t->eow_suffix.len != TK_NOSTR;
    char tmp[256];
    bool unk = false;
    uint32_t unk_len = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = ucd_utf8_decode(w + i, n - i, &cp);
        bool first = i == 0, last = i + k == n;
        const char *s = w + i;
        size_t sn = k;
        char *heap = NULL;
        if ((has_pfx && !first) || (has_sfx && last)) {
            size_t pl = has_pfx && !first ? t->cont_prefix.len : 0;
            size_t sl = has_sfx && last ? t->eow_suffix.len : 0;
            char *o = pl + k + sl <= sizeof tmp ? tmp : (heap = xmalloc(pl + k + sl));
            memcpy(o, tk_s(t, t->cont_prefix), pl);
            memcpy(o + pl, w + i, k);
            memcpy(o + pl + k, tk_s(t, t->eow_suffix), sl);
            s = o;
            sn = pl + k + sl;
        }
        long id = tk_vocab_get(t, s, sn);
        if (id >= 0) {
            if (unk) {
                sym_add(sc, &ns, (uint32_t)t->unk_id, unk_len);
                unk = false;
            }
            sym_add(sc, &ns, (uint32_t)id, (uint32_t)k);
        } else {
            bool done = false;
            if (t->byte_fallback) {
                bool all = true;
                for (size_t j = 0; j < sn; j++)
                    if (t->byte_id[(unsigned char)s[j]] == UINT32_MAX)
                        all = false;
                if (all) {
                    for (size_t j = 0; j < sn; j++)
                        sym_add(sc, &ns, t->byte_id[(unsigned char)s[j]], 1);
                    done = true;
                }
            }
            if (!done && t->unk_id != -1) {
                if (t->unk_id < 0) {
                    free(heap);
                    return diag_set(d, ERR_INVALID,
                                    "tokenizer: model.unk_token is not in the vocabulary");
                }
                if (unk && t->fuse_unk)
                    unk_len += (uint32_t)k;
                else {
                    if (unk)
                        sym_add(sc, &ns, (uint32_t)t->unk_id, unk_len);
                    unk = true;
                    unk_len = (uint32_t)k;
                }
            }
        }
        free(heap);
        i += k;
    }
    if (unk)
        sym_add(sc, &ns, (uint32_t)t->unk_id, unk_len);
    if (ns == 0)
        return 0;
    sc->sym[ns - 1].next = -1;
    /* Merge, lowest rank first, leftmost on ties; stale entries are skipped. */
    struct hent *h = (struct hent *)sc->heap;
    size_t hn = 0;
    for (size_t i = 0; i + 1 < ns; i++) {
        uint32_t r, nid;
        if (merge_get(t, sc->sym[i].id, sc->sym[i + 1].id, &r, &nid))
            h_push(h, &hn, (struct hent){r, (uint32_t)i, nid});
    }
    struct tk_sym *sy = sc->sym;
    while (hn) {
        struct hent top = h_pop(h, &hn);
        struct tk_sym *a = &sy[top.pos];
        if (a->len == 0 || a->next < 0)
            continue;
        struct tk_sym *b = &sy[a->next];
        uint32_t r, nid;
        if (!merge_get(t, a->id, b->id, &r, &nid) || nid != top.nid)
            continue;
        a->id = top.nid;
        a->len += b->len;
        b->len = 0;
        a->next = b->next;
        if (a->next >= 0)
            sy[a->next].prev = (int32_t)top.pos;
        if (a->prev >= 0 && merge_get(t, sy[a->prev].id, a->id, &r, &nid))
            h_push(h, &hn, (struct hent){r, (uint32_t)a->prev, nid});
        if (a->next >= 0 && merge_get(t, a->id, sy[a->next].id, &r, &nid))
            h_push(h, &hn, (struct hent){r, top.pos, nid});
    }
    for (int32_t i = 0; i >= 0; i = sy[i].next)
        tk_ids_push(ids, sy[i].id);
    return 0;
}

/* The per-caller word cache: direct-mapped slots; the arenas are dropped when full. */
#define CACHE_MAX_WORD  256
#define CACHE_MAX_BYTES (4u << 20)
static int bpe_cached(const struct tok *t, struct tok_scratch *sc, const char *w, size_t n,
                      struct tok_ids *ids, struct diag *d)
{
    if (n > CACHE_MAX_WORD)
        return bpe_word(t, sc, w, n, ids, d);
    if (!sc->cache)
        sc->cache = xcalloc(TK_CACHE_SLOTS, sizeof *sc->cache);
    uint64_t h = tk_hash(w, n) | 1;
    struct tk_cache_ent *e = &sc->cache[h & (TK_CACHE_SLOTS - 1)];
    if (e->h == h && e->klen == n && memcmp(sc->ckeys.p + e->koff, w, n) == 0) {
        for (uint32_t i = 0; i < e->vlen; i++)
            tk_ids_push(ids, sc->cids[e->voff + i]);
        return 0;
    }
    size_t before = ids->n;
    int rc = bpe_word(t, sc, w, n, ids, d);
    if (rc)
        return rc;
    size_t k = ids->n - before;
    if (sc->ckeys.len + n > CACHE_MAX_BYTES || sc->ncids + k > CACHE_MAX_BYTES / 4) {
        memset(sc->cache, 0, TK_CACHE_SLOTS * sizeof *sc->cache);
        buf_reset(&sc->ckeys);
        sc->ncids = 0;
    }
    if (sc->ncids + k > sc->cidcap) {
        sc->cidcap = (sc->ncids + k) * 2 + 1024;
        sc->cids = xrealloc(sc->cids, sc->cidcap * sizeof *sc->cids);
    }
    e->h = h;
    e->koff = (uint32_t)sc->ckeys.len;
    e->klen = (uint32_t)n;
    buf_append(&sc->ckeys, w, n);
    e->voff = (uint32_t)sc->ncids;
    e->vlen = (uint32_t)k;
    if (k)
        memcpy(sc->cids + sc->ncids, ids->v + before, k * sizeof *sc->cids);
    sc->ncids += k;
    return 0;
}

static int wordpiece(const struct tok *t, const char *w, size_t n, struct tok_ids *ids,
                     struct diag *d)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)w[i] & 0xC0) != 0x80;
    if (chars > t->max_chars)
        goto unk;
    size_t before = ids->n, start = 0;
    size_t pl = t->cont_prefix.len;
    char small[256];
    while (start < n) {
        size_t end = n;
        long found = -1;
        while (start < end) {
            long id;
            if (start > 0) {
                size_t m = pl + end - start;
                char *s = m <= sizeof small ? small : xmalloc(m);
                memcpy(s, tk_s(t, t->cont_prefix), pl);
                memcpy(s + pl, w + start, end - start);
                id = tk_vocab_get(t, s, m);
                if (s != small)
                    free(s);
            } else
                id = tk_vocab_get(t, w + start, end - start);
            if (id >= 0) {
                found = id;
                break;
            }
            /* Drop the last character. */
            end--;
            while (end > start && ((unsigned char)w[end] & 0xC0) == 0x80)
                end--;
        }
        if (found < 0) {
            ids->n = before;
            goto unk;
        }
        tk_ids_push(ids, (uint32_t)found);
        start = end;
    }
    return 0;
unk:
    if (t->unk_id < 0)
        return diag_set(d, ERR_INVALID, "tokenizer: WordPiece has no unk_token in its vocabulary");
    tk_ids_push(ids, (uint32_t)t->unk_id);
    return 0;
}

static int unigram(const struct tok *t, struct tok_scratch *sc, const char *w, size_t n,
                   struct tok_ids *ids, struct diag *d)
{
    if (n + 1 > sc->latcap) {
        sc->latcap = (n + 1) * 2;
        sc->best = xrealloc(sc->best, sc->latcap * sizeof *sc->best);
        sc->from = xrealloc(sc->from, sc->latcap * sizeof *sc->from);
        sc->bid = xrealloc(sc->bid, sc->latcap * sizeof *sc->bid);
    }
    double *best = sc->best;
    uint32_t *from = sc->from, *bid = sc->bid;
    const uint32_t NONE = UINT32_MAX;
    for (size_t i = 0; i <= n; i++) {
        from[i] = NONE;
        best[i] = 0;
    }
    double unk_score = t->min_score - 10.0;
    for (size_t s = 0; s < n;) {
        uint32_t cp;
        size_t mblen = ucd_utf8_decode(w + s, n - s, &cp);
        double base = best[s];
        bool single = false;
        /* Every vocabulary piece that is a prefix of w[s..), shortest first (the trie's
         * order: on equal scores the first one found stays). */
        size_t lim = n - s < t->max_piece ? n - s : t->max_piece;
        for (size_t len = mblen; len <= lim;) {
            long id = tk_vocab_get(t, w + s, len);
            if (id >= 0) {
                double sc2 = t->score[id] + base;
                if (from[s + len] == NONE || sc2 > best[s + len]) {
                    best[s + len] = sc2;
                    from[s + len] = (uint32_t)s;
                    bid[s + len] = (uint32_t)id;
                }
                if (len == mblen)
                    single = true;
            }
            if (s + len >= n)
                break;
            uint32_t c2;
            len += ucd_utf8_decode(w + s + len, n - s - len, &c2);
        }
        if (!single) {
            if (t->unk_id < 0)
                return diag_set(d, ERR_INVALID, "tokenizer: Unigram has no unk_id");
            double sc2 = unk_score + base;
            if (from[s + mblen] == NONE || sc2 > best[s + mblen]) {
                best[s + mblen] = sc2;
                from[s + mblen] = (uint32_t)s;
                bid[s + mblen] = (uint32_t)t->unk_id;
            }
        }
        s += mblen;
    }
    /* Walk back; consecutive unknowns fuse into one piece. Collect piece ends in reverse
     * into from[] positions reused as a stack on the symbol array. */
    size_t cnt = 0;
    sym_reserve(sc, n + 1);
    struct tk_sym *st = sc->sym;
    for (size_t e = n; e > 0;) {
        size_t s = from[e];
        bool is_unk = (long)bid[e] == t->unk_id;
        if (is_unk && cnt > 0 && st[cnt - 1].id == (uint32_t)t->unk_id && st[cnt - 1].prev == 1) {
            st[cnt - 1].next = (int32_t)s; /* extend the fused unknown to the left */
        } else {
            st[cnt].id = bid[e];
            st[cnt].prev = is_unk ? 1 : 0;
            st[cnt].next = (int32_t)s;
            st[cnt].len = (uint32_t)e;
            cnt++;
        }
        e = s;
    }
    for (size_t i = cnt; i-- > 0;) {
        size_t s = (size_t)st[i].next, e = st[i].len;
        if (!st[i].prev) {
            tk_ids_push(ids, st[i].id);
            continue;
        }
        long id = tk_vocab_get(t, w + s, e - s);
        if (id >= 0) {
            tk_ids_push(ids, (uint32_t)id);
            continue;
        }
        if (t->byte_fallback) {
            bool all = true;
            for (size_t j = s; j < e; j++)
                if (t->byte_id[(unsigned char)w[j]] == UINT32_MAX)
                    all = false;
            if (all) {
                for (size_t j = s; j < e; j++)
                    tk_ids_push(ids, t->byte_id[(unsigned char)w[j]]);
                continue;
            }
        }
        tk_ids_push(ids, (uint32_t)t->unk_id);
    }
    return 0;
}

int tk_model_encode(const struct tok *t, struct tok_scratch *sc, const char *s, size_t n,
                    struct tok_ids *ids, struct diag *d)
{
    if (n == 0)
        return 0;
    switch (t->model) {
    case TM_BPE:
        return bpe_cached(t, sc, s, n, ids, d);
    case TM_WORDPIECE:
        return wordpiece(t, s, n, ids, d);
    case TM_UNIGRAM:
        return unigram(t, sc, s, n, ids, d);
    }
    return ERR_INVALID;
}
