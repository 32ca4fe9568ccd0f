/*
 * tok_encode: Tokenizer::encode as tokenizers runs it: added tokens are split out of the
 * raw text first (those with normalized=false), the rest is normalized and split again on
 * the normalized added tokens, pre-tokenized, run through the model, and the
 * post-processor adds the special tokens.
 */
#include "err.h"
#include "tok_int.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static struct tok_scratch *scratch(const struct tok *t, struct tok_ids *ids)
{
    struct tok_scratch *sc = ids->s;
    if (!sc) {
        sc = ids->s = xcalloc(1, sizeof *sc);
        buf_init(&sc->text, 0);
        buf_init(&sc->t1, 0);
        buf_init(&sc->t2, 0);
        buf_init(&sc->ckeys, 0);
    }
    if (sc->owner != t) {
        /* The word cache belongs to one tokenizer. */
        if (sc->cache)
            memset(sc->cache, 0, TK_CACHE_SLOTS * sizeof *sc->cache);
        buf_reset(&sc->ckeys);
        sc->ncids = 0;
        sc->owner = t;
    }
    return sc;
}

void tok_ids_free(struct tok_ids *ids)
{
    struct tok_scratch *sc = ids->s;
    if (sc) {
        buf_free(&sc->text);
        buf_free(&sc->t1);
        buf_free(&sc->t2);
        buf_free(&sc->ckeys);
        free(sc->p.v);
        free(sc->q.v);
        free(sc->sym);
        free(sc->heap);
        free(sc->best);
        free(sc->from);
        free(sc->bid);
        free(sc->cache);
        free(sc->cids);
        free(sc);
    }
    free(ids->v);
    memset(ids, 0, sizeof *ids);
}

/* Appends text to b with each maximal ill-formed UTF-8 subsequence replaced by U+FFFD
 * (the Unicode "best practice" that Python's decode(errors="replace") follows). */
static int sanitize(const char *s, size_t n, struct buf *b)
{
    int rc = buf_reserve(b, n + 16);
    if (rc)
        return rc;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && (unsigned char)s[j] < 0x80)
            j++;
        if (j > i && (rc = buf_append(b, s + i, j - i)))
            return rc;
        i = j;
        if (i >= n)
            break;
        const unsigned char *p = (const unsigned char *)s + i;
        size_t rem = n - i;
        unsigned c = p[0];
        size_t need = 0;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            if (c == 0xF4)
                hi = 0x8F;
        }
        if (need == 0) {
            rc = buf_append(b, "\xEF\xBF\xBD", 3);
            i++;
        } else {
            /* Count how many bytes form a valid prefix. */
            size_t k = 1;
            if (k < rem && p[1] >= lo && p[1] <= hi) {
                k = 2;
                while (k <= need && k < rem && (p[k] & 0xC0) == 0x80)
                    k++;
                if (k > need + 1)
                    k = need + 1;
            }
            if (k == need + 1)
                rc = buf_append(b, p, k);
            else
                rc = buf_append(b, "\xEF\xBF\xBD", 3);
            i += k;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static bool valid_utf8(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = ucd_utf8_decode(s + i, n - i, &cp);
        if (cp == 0xFFFD && k == 1)
            return false;
        i += k;
    }
    return true;
}

/* Rust regex \w at a UTF-8 position (start of s / end of s[0..n)). */
static bool word_after(const char *s, size_t n)
{
    if (n == 0)
        return false;
    uint32_t cp;
    ucd_utf8_decode(s, n, &cp);
    return tk_is_word(cp);
}
static bool word_before(const char *s, size_t n)
{
    if (n == 0)
        return false;
    size_t j = n - 1;
    while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80)
        j--;
    uint32_t cp;
    ucd_utf8_decode(s + j, n - j, &cp);
    return tk_is_word(cp);
}

/* Splits piece pc (no id yet) on the added tokens of one matcher (AddedVocabulary::
 * find_matches: leftmost-longest, single_word, lstrip, rstrip) into sc->q. */
static void split_added(const struct tok *t, struct tok_scratch *sc, const struct tk_piece *pc,
                        bool normalized)
{
    const uint32_t *idx = normalized ? t->norm_idx : t->raw_idx;
    const uint32_t *st = normalized ? t->norm_start : t->raw_start;
    const char *s = sc->text.p + pc->off;
    size_t n = pc->len, start_off = 0, i = 0;
    if (st[256] == 0) {
        tk_pieces_push(&sc->q, pc->off, pc->len, -1, pc->first);
        return;
    }
    while (i < n) {
        unsigned c = (unsigned char)s[i];
        const struct tk_added *hit = NULL;
        for (uint32_t k = st[c]; k < st[c + 1]; k++) {
            const struct tk_added *a = &t->added[idx[k]];
            if (a->match.len <= n - i && memcmp(tk_s(t, a->match), s + i, a->match.len) == 0) {
                hit = a;
                break;
            }
        }
        if (!hit) {
            i++;
            continue;
        }
        size_t ms = i, me = i + hit->match.len;
        i = me;
        if (hit->single_word && (word_before(s, ms) || word_after(s + me, n - me)))
            continue;
        if (hit->lstrip) {
            size_t ns = ms;
            while (ns > 0) {
                size_t j = ns - 1;
                while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80)
                    j--;
                uint32_t cp;
                ucd_utf8_decode(s + j, ns - j, &cp);
                if (!tk_is_ws(cp))
                    break;
                ns = j;
            }
            ms = ns > start_off ? ns : start_off;
        }
        if (hit->rstrip) {
            while (me < n) {
                uint32_t cp;
                size_t k = ucd_utf8_decode(s + me, n - me, &cp);
                if (!tk_is_ws(cp))
                    break;
                me += k;
            }
            i = me;
        }
        if (start_off < ms)
            tk_pieces_push(&sc->q, pc->off + (uint32_t)start_off, (uint32_t)(ms - start_off), -1,
                           pc->first && start_off == 0);
        tk_pieces_push(&sc->q, pc->off + (uint32_t)ms, (uint32_t)(me - ms), (int32_t)hit->id,
                       false);
        start_off = me;
    }
    if (start_off < n)
        tk_pieces_push(&sc->q, pc->off + (uint32_t)start_off, (uint32_t)(n - start_off), -1,
                       pc->first && start_off == 0);
}

static void swap_pieces(struct tok_scratch *sc)
{
    struct tk_pieces x = sc->p;
    sc->p = sc->q;
    sc->q = x;
    sc->q.n = 0;
}

static void post_apply(const struct tk_post *pp, struct tok_ids *ids, size_t from)
{
    if (pp->kind == TQ_SEQ) {
        for (size_t i = 0; i < pp->nkids; i++)
            post_apply(&pp->kids[i], ids, from);
        return;
    }
    if (pp->kind != TQ_TEMPLATE)
        return;
    /* Rebuild ids[from..) as the template says. */
    size_t n = ids->n - from;
    uint32_t *seq = xmalloc((n ? n : 1) * sizeof *seq);
    if (n)
        memcpy(seq, ids->v + from, n * sizeof *seq);
    ids->n = from;
    for (size_t i = 0; i < pp->ntpl; i++) {
        if (pp->tpl[i].is_seq)
            for (size_t j = 0; j < n; j++)
                tk_ids_push(ids, seq[j]);
        else
            for (size_t j = 0; j < pp->tpl[i].nids; j++)
                tk_ids_push(ids, pp->tpl[i].ids[j]);
    }
    free(seq);
}

int tok_encode(const struct tok *t, const char *text, size_t n, bool add_special_tokens,
               struct tok_ids *ids, struct diag *d)
{
    struct tok_scratch *sc = scratch(t, ids);
    ids->n = 0;
    buf_reset(&sc->text);
    sc->p.n = sc->q.n = 0;
    int rc;
    if (n >= UINT32_MAX / 4)
        return diag_set(d, ERR_TOO_LARGE, "tokenizer: text of %zu bytes is too long", n);
    if (valid_utf8(text, n))
        rc = buf_append(&sc->text, text, n);
    else
        rc = sanitize(text, n, &sc->text);
    if (rc)
        return diag_set(d, rc, "tokenizer: out of memory");
    if (sc->text.len == 0)
        goto post;
    tk_pieces_push(&sc->p, 0, (uint32_t)sc->text.len, -1, true);

    /* 1. Added tokens matched on the raw text. */
    split_added(t, sc, &sc->p.v[0], false);
    swap_pieces(sc);

    /* 2. Normalize the other pieces, then split on the normalized added tokens. */
    for (size_t i = 0; i < sc->p.n; i++) {
        struct tk_piece pc = sc->p.v[i];
        if (pc.id >= 0) {
            tk_pieces_push(&sc->q, pc.off, pc.len, pc.id, pc.first);
            continue;
        }
        if (t->norm) {
            buf_reset(&sc->t1);
            bool lost = false;
            rc = tk_normalize(t, t->norm, sc->text.p + pc.off, pc.len, &sc->t1, &sc->t2, &lost);
            if (rc)
                return diag_set(d, rc, "tokenizer: normalizer failed: %s", err_str(rc));
            pc.off = (uint32_t)sc->text.len;
            pc.len = (uint32_t)sc->t1.len;
            if (lost)
                pc.first = false;
            if ((rc = buf_append(&sc->text, sc->t1.p ? sc->t1.p : "", sc->t1.len)))
                return diag_set(d, rc, "tokenizer: out of memory");
        }
        if (pc.len == 0)
            continue;
        split_added(t, sc, &pc, true);
    }
    swap_pieces(sc);

    /* 3. Pre-tokenize. */
    if (t->pre && (rc = tk_pretokenize(t, t->pre, sc)))
        return diag_set(d, rc, "tokenizer: pre-tokenizer failed: %s", err_str(rc));

    /* 4. The model. */
    for (size_t i = 0; i < sc->p.n; i++) {
        const struct tk_piece *pc = &sc->p.v[i];
        if (pc->id >= 0)
            tk_ids_push(ids, (uint32_t)pc->id);
        else if ((rc = tk_model_encode(t, sc, sc->text.p + pc->off, pc->len, ids, d)))
            return rc;
    }
post:
    if (add_special_tokens)
        post_apply(&t->post, ids, 0);
    return 0;
}

long tok_count(const struct tok *t, const char *text, size_t n, bool add_special_tokens,
               struct tok_ids *scratch_ids, struct diag *d)
{
    int rc = tok_encode(t, text, n, add_special_tokens, scratch_ids, d);
    return rc ? rc : (long)scratch_ids->n;
}
