/*
 * tok_text: normalizers and pre-tokenizers, as tokenizers' NormalizedString and
 * PreTokenizedString apply them, reduced to what decides the ids: offsets into the
 * original text are not tracked (metronome needs ids, counts and decoded text), except
 * whether a piece still begins at the input's first character (Metaspace "first").
 */
#include "err.h"
#include "tok_int.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* ---- the byte-level alphabet (GPT-2's bytes_to_unicode) ---- */

uint32_t tk_byte_char(unsigned b)
{
    /* Printable Latin-1 bytes map to themselves; the other 68 map to U+0100.. in order. */
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
        return b;
    unsigned k = 0;
    for (unsigned x = 0; x < b; x++)
        if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF)))
            k++;
    return 256 + k;
}

int tk_char_byte(uint32_t cp)
{
    if ((cp >= '!' && cp <= '~') || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp < 256 || cp >= 256 + 68)
        return -1;
    unsigned k = cp - 256;
    for (unsigned x = 0; x < 256; x++)
        if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF)) &&
            k-- == 0)
            return (int)x;
    return -1;
}

void tk_pieces_push(struct tk_pieces *p, uint32_t off, uint32_t len, int32_t id, bool first)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->v = xrealloc(p->v, p->cap * sizeof *p->v);
    }
    p->v[p->n++] = (struct tk_piece){off, len, id, first};
}

/* ---- patterns ---- */

int tk_pat_matches(const struct tk_pat *p, const char *s, size_t n, tk_match_cb cb, void *ctx)
{
    if (n == 0) {
        cb(ctx, 0, 0, false);
        return 0;
    }
    size_t prev = 0, pos = 0;
    bool have_last = false;
    size_t last_end = 0;
    while (pos <= n) {
        size_t ms, me;
        int rc = tok_re_find(p->re, s, n, pos, &ms, &me);
        if (rc < 0)
            return rc;
        if (rc == 0)
            break;
        /* Oniguruma's iterator: an empty match right where the last one ended is skipped
         * by stepping one character. */
        if (ms == me && have_last && last_end == me) {
            if (pos >= n)
                break;
            uint32_t cp;
            pos += ucd_utf8_decode(s + pos, n - pos, &cp);
            continue;
        }
        if (prev != ms)
            cb(ctx, prev, ms - prev, false);
        cb(ctx, ms, me - ms, true);
        prev = me;
        have_last = true;
        last_end = me;
        if (me == ms) {
            if (me >= n)
                break;
            uint32_t cp;
            pos = me + ucd_utf8_decode(s + me, n - me, &cp);
        } else
            pos = me;
    }
    if (prev != n)
        cb(ctx, prev, n - prev, false);
    return 0;
}

/* ---- normalizers ---- */

struct repl_ctx {
    const char *s;
    struct buf *out;
    const char *c;
    size_t cn;
    int rc;
};
static void repl_cb(void *vctx, size_t off, size_t len, bool is_match)
{
    struct repl_ctx *r = vctx;
    if (r->rc)
        return;
    r->rc = is_match ? buf_append(r->out, r->c, r->cn) : buf_append(r->out, r->s + off, len);
}

static bool is_chinese(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static int put_cp(struct buf *b, uint32_t cp)
{
    char u[4];
    return buf_append(b, u, ucd_utf8_encode(cp, u));
}

/* Drops the marks in `mask` (StripAccents: every mark, as unicode-normalization's
 * is_combining_mark; BertNormalizer: nonspacing marks only). */
static int filter_marks(const char *s, size_t n, uint32_t mask, struct buf *out, bool *lost_first)
{
    size_t i = 0;
    bool first = true;
    while (i < n) {
        uint32_t cp;
        size_t k = ucd_utf8_decode(s + i, n - i, &cp);
        if (!ucd_in(cp, mask)) {
            int rc = buf_append(out, s + i, k);
            if (rc)
                return rc;
            first = false;
        } else if (first)
            *lost_first = true;
        i += k;
    }
    return 0;
}

static int bert_norm(const struct tk_norm *nz, const char *s, size_t n, struct buf *out,
                     struct buf *tmp, bool *lost_first)
{
    struct buf a;
    buf_init(&a, 0);
    int rc = 0;
    bool first = true;
    for (size_t i = 0; i < n && !rc;) {
        uint32_t cp;
        size_t k = ucd_utf8_decode(s + i, n - i, &cp);
        i += k;
        if (nz->clean) {
            /* unicode_categories' is_other(): Cc, Cf, Co, Cs, but not unassigned code
             * points (tokenizers keeps those). */
            bool ctl =
                cp != '\t' && cp != '\n' && cp != '\r' &&
                ucd_in(cp, UCD_BIT(UCD_Cc) | UCD_BIT(UCD_Cf) | UCD_BIT(UCD_Co) | UCD_BIT(UCD_Cs));
            if (cp == 0 || cp == 0xFFFD || ctl) {
                if (first)
                    *lost_first = true;
                continue;
            }
            if (cp == '\t' || cp == '\n' || cp == '\r' || tk_is_ws(cp))
                cp = ' ';
        }
        first = false;
        if (nz->chinese && is_chinese(cp)) {
            rc = buf_putc(&a, ' ');
            if (!rc)
                rc = put_cp(&a, cp);
            if (!rc)
                rc = buf_putc(&a, ' ');
        } else
            rc = put_cp(&a, cp);
    }
    const char *cur = a.p ? a.p : "";
    size_t cn = a.len;
    struct buf b;
    buf_init(&b, 0);
    if (!rc && nz->strip_accents) {
        buf_reset(tmp);
        rc = ucd_normalize(UCD_NFD, cur, cn, tmp);
        if (!rc)
            rc = filter_marks(tmp->p ? tmp->p : "", tmp->len, UCD_BIT(UCD_Mn), &b, lost_first);
        cur = b.p ? b.p : "";
        cn = b.len;
    }
    if (!rc)
        rc = nz->lower ? ucd_lowercase(cur, cn, out) : buf_append(out, cur, cn);
    buf_free(&a);
    buf_free(&b);
    return rc;
}

int tk_normalize(const struct tok *t, const struct tk_norm *nz, const char *s, size_t n,
                 struct buf *out, struct buf *tmp, bool *lost_first)
{
    switch (nz->kind) {
    case TN_SEQ: {
        if (nz->nkids == 0)
            return buf_append(out, s, n);
        struct buf a, b;
        buf_init(&a, 0);
        buf_init(&b, 0);
        int rc = buf_append(&a, s, n);
        for (size_t i = 0; i < nz->nkids && !rc; i++) {
            buf_reset(&b);
            rc = tk_normalize(t, &nz->kids[i], a.p ? a.p : "", a.len, &b, tmp, lost_first);
            struct buf x = a;
            a = b;
            b = x;
        }
        if (!rc)
            rc = buf_append(out, a.p ? a.p : "", a.len);
        buf_free(&a);
        buf_free(&b);
        return rc;
    }
    case TN_NFC:
        return ucd_normalize(UCD_NFC, s, n, out);
    case TN_NFD:
        return ucd_normalize(UCD_NFD, s, n, out);
    case TN_NFKC:
        return ucd_normalize(UCD_NFKC, s, n, out);
    case TN_NFKD:
        return ucd_normalize(UCD_NFKD, s, n, out);
    case TN_LOWER:
        return ucd_lowercase(s, n, out);
    case TN_STRIP: {
        size_t a = 0, b = n;
        if (nz->left)
            while (a < b) {
                uint32_t cp;
                size_t k = ucd_utf8_decode(s + a, b - a, &cp);
                if (!tk_is_ws(cp))
                    break;
                a += k;
            }
        if (nz->right)
            while (b > a) {
                size_t j = b - 1;
                while (j > a && ((unsigned char)s[j] & 0xC0) == 0x80)
                    j--;
                uint32_t cp;
                ucd_utf8_decode(s + j, b - j, &cp);
                if (!tk_is_ws(cp))
                    break;
                b = j;
            }
        if (a > 0)
            *lost_first = true;
        return buf_append(out, s + a, b - a);
    }
    case TN_STRIP_ACCENTS:
        return filter_marks(s, n, UCD_MASK_M, out, lost_first);
    case TN_REPLACE: {
        struct repl_ctx r = {s, out, tk_s(t, nz->content), nz->content.len, 0};
        int rc = tk_pat_matches(&nz->pat, s, n, repl_cb, &r);
        return rc ? rc : r.rc;
    }
    case TN_PREPEND:
        if (n == 0)
            return 0;
        {
            int rc = buf_append(out, tk_s(t, nz->content), nz->content.len);
            return rc ? rc : buf_append(out, s, n);
        }
    case TN_BERT:
        return bert_norm(nz, s, n, out, tmp, lost_first);
    }
    return ERR_INVALID;
}

/* ---- pre-tokenizers ---- */

/* Splitting one parent piece: the parent's bytes are sc->text[base..base+n) and the
 * cover of (offset, length, is_match) entries collects in sc->q's tail first. */
struct cover {
    size_t *off, *len;
    bool *m;
    size_t n, cap;
};
static void cover_push(struct cover *c, size_t off, size_t len, bool m)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->off = xrealloc(c->off, c->cap * sizeof *c->off);
        c->len = xrealloc(c->len, c->cap * sizeof *c->len);
        c->m = xrealloc(c->m, c->cap * sizeof *c->m);
    }
    c->off[c->n] = off;
    c->len[c->n] = len;
    c->m[c->n] = m;
    c->n++;
}
static void cover_free(struct cover *c)
{
    free(c->off);
    free(c->len);
    free(c->m);
}
struct cover_ctx {
    struct cover *c;
    bool invert;
};
static void cover_cb(void *vctx, size_t off, size_t len, bool is_match)
{
    struct cover_ctx *x = vctx;
    cover_push(x->c, off, len, is_match != x->invert);
}

/* Applies a split behaviour to the cover and emits the non-empty pieces. */
static void emit_behavior(struct cover *c, enum tk_behavior b, const struct tk_piece *parent,
                          struct tk_pieces *q)
{
    size_t n = c->n;
    /* Merge in place into (off, len) runs, as tokenizers' NormalizedString::split. */
    size_t w = 0;
    bool prev = false;
    switch (b) {
    case TB_REMOVED:
        for (size_t i = 0; i < n; i++)
            if (!c->m[i]) {
                c->off[w] = c->off[i];
                c->len[w] = c->len[i];
                w++;
            }
        break;
    case TB_ISOLATED:
        w = n;
        break;
    case TB_PREV:
        for (size_t i = 0; i < n; i++) {
            if (c->m[i] && !prev && w > 0)
                c->len[w - 1] = c->off[i] + c->len[i] - c->off[w - 1];
            else {
                c->off[w] = c->off[i];
                c->len[w] = c->len[i];
                w++;
            }
            prev = c->m[i];
        }
        break;
    case TB_CONTIGUOUS:
        for (size_t i = 0; i < n; i++) {
            if (c->m[i] == prev && w > 0)
                c->len[w - 1] = c->off[i] + c->len[i] - c->off[w - 1];
            else {
                c->off[w] = c->off[i];
                c->len[w] = c->len[i];
                w++;
            }
            prev = c->m[i];
        }
        break;
    case TB_NEXT: {
        /* Walk backwards, merging a match into the piece after it. */
        size_t r = n; /* output grows downwards from n */
        for (size_t i = n; i-- > 0;) {
            if (c->m[i] && !prev && r < n) {
                size_t end = c->off[r] + c->len[r];
                c->off[r] = c->off[i];
                c->len[r] = end - c->off[i];
            } else {
                r--;
                c->off[r] = c->off[i];
                c->len[r] = c->len[i];
            }
            prev = c->m[i];
        }
        for (size_t i = r; i < n; i++) {
            c->off[w] = c->off[i];
            c->len[w] = c->len[i];
            w++;
        }
        break;
    }
    }
    for (size_t i = 0; i < w; i++)
        if (c->len[i])
            tk_pieces_push(q, parent->off + (uint32_t)c->off[i], (uint32_t)c->len[i], -1,
                           parent->first && c->off[i] == 0);
}

/* tokenizers' Pattern for a char predicate: each matching character is one match. */
typedef bool (*char_pred)(uint32_t cp);
static void char_cover(const char *s, size_t n, char_pred f, struct cover *c)
{
    size_t last = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = ucd_utf8_decode(s + i, n - i, &cp);
        if (f(cp)) {
            if (last < i)
                cover_push(c, last, i - last, false);
            cover_push(c, i, k, true);
            last = i + k;
        }
        i += k;
    }
    if (last < n)
        cover_push(c, last, n - last, false);
}

static bool pred_ws(uint32_t c)
{
    return tk_is_ws(c);
}
static bool pred_punct(uint32_t c)
{
    return tk_is_punct(c);
}
static bool pred_num(uint32_t c)
{
    return tk_is_numeric(c);
}

/* GPT-2's pattern, 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * with Oniguruma's semantics (\s is White_Space), hand-coded: it covers every character,
 * so the match at i always starts at i. Returns the match's end. */
enum { CL_L, CL_N, CL_S, CL_O };
static inline int cls_at(const char *s, size_t n, size_t i, size_t *k)
{
    uint32_t cp;
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) {
        *k = 1;
        if ((c | 32) >= 'a' && (c | 32) <= 'z')
            return CL_L;
        if (c >= '0' && c <= '9')
            return CL_N;
        if (c == ' ' || (c >= 9 && c <= 13))
            return CL_S;
        return CL_O;
    }
    *k = ucd_utf8_decode(s + i, n - i, &cp);
    if (ucd_white_space(cp))
        return CL_S;
    enum ucd_gc g = ucd_gc(cp);
    if ((UCD_MASK_L >> g) & 1u)
        return CL_L;
    if ((UCD_MASK_N >> g) & 1u)
        return CL_N;
    return CL_O;
}
static size_t run_of(const char *s, size_t n, size_t i, int cls)
{
    size_t k;
    while (i < n && cls_at(s, n, i, &k) == cls)
        i += k;
    return i;
}
static size_t gpt2_next(const char *s, size_t n, size_t i)
{
    char c = s[i];
    if (c == '\'' && i + 1 < n) {
        char d = s[i + 1];
        if (d == 's' || d == 't' || d == 'm' || d == 'd')
            return i + 2;
        if (i + 2 < n && ((d == 'r' && s[i + 2] == 'e') || (d == 'v' && s[i + 2] == 'e') ||
                          (d == 'l' && s[i + 2] == 'l')))
            return i + 3;
    }
    size_t k, k2;
    int cl = cls_at(s, n, i, &k);
    if (c == ' ' && i + 1 < n) {
        int nx = cls_at(s, n, i + 1, &k2);
        if (nx != CL_S)
            return run_of(s, n, i + 1, nx);
    }
    if (cl != CL_S)
        return run_of(s, n, i, cl);
    /* Whitespace: \s+(?!\S) then \s+. */
    size_t j = i, last = i, cnt = 0;
    while (j < n && cls_at(s, n, j, &k2) == CL_S) {
        last = j;
        j += k2;
        cnt++;
    }
    if (j == n || cnt == 1)
        return j;
    return last;
}

/* Appends s[0..n) mapped to the byte-level alphabet to sc->text; returns the new offset. */
static uint32_t bl_append(struct tok_scratch *sc, const struct tok *bm, uint32_t off, size_t n,
                          bool prefix_space)
{
    buf_reserve(&sc->text, 2 * n + 2);
    const unsigned char *s = (const unsigned char *)sc->text.p + off;
    char *o = sc->text.p + sc->text.len;
    uint32_t start = (uint32_t)sc->text.len;
    if (prefix_space) {
        memcpy(o, bm->blmap[' '], 2);
        o += bm->bln[' '];
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(o, bm->blmap[s[i]], 2);
        o += bm->bln[s[i]];
    }
    sc->text.len = (size_t)(o - sc->text.p);
    sc->text.p[sc->text.len] = '\0';
    return start;
}

static int pre_one(const struct tok *t, const struct tk_pre *pt, struct tok_scratch *sc,
                   const struct tk_piece *pc, struct cover *cv)
{
    struct tk_pieces *q = &sc->q;
    cv->n = 0;
    switch (pt->kind) {
    case TP_SEQ:
        return ERR_INVALID; /* handled by the caller */
    case TP_BYTELEVEL: {
        /* Optional prefix space, then GPT-2's regex, then the byte map. The prefix is
         * mapped along with the first match (no copy of the piece is made). */
        bool pfx = pt->add_prefix_space && sc->text.p[pc->off] != ' ';
        if (!pt->use_regex) {
            uint32_t o = bl_append(sc, t, pc->off, pc->len, pfx);
            tk_pieces_push(q, o, (uint32_t)(sc->text.len - o), -1, pc->first);
            return 0;
        }
        if (pfx) {
            /* The regex sees " " + text: build it once. */
            buf_reserve(&sc->text, pc->len + 1);
            uint32_t o = (uint32_t)sc->text.len;
            sc->text.p[sc->text.len++] = ' ';
            memcpy(sc->text.p + sc->text.len, sc->text.p + pc->off, pc->len);
            sc->text.len += pc->len;
            sc->text.p[sc->text.len] = '\0';
            struct tk_piece np = {o, pc->len + 1, -1, pc->first};
            return pre_one(t, &(struct tk_pre){.kind = TP_BYTELEVEL, .use_regex = true}, sc, &np,
                           cv);
        }
        size_t n = pc->len, i = 0;
        bool first = pc->first;
        while (i < n) {
            size_t e = gpt2_next(sc->text.p + pc->off, n, i);
            uint32_t o = bl_append(sc, t, pc->off + (uint32_t)i, e - i, false);
            tk_pieces_push(q, o, (uint32_t)(sc->text.len - o), -1, first);
            first = false;
            i = e;
        }
        return 0;
    }
    case TP_SPLIT: {
        struct cover_ctx x = {cv, pt->invert};
        int rc = tk_pat_matches(&pt->pat, sc->text.p + pc->off, pc->len, cover_cb, &x);
        if (rc)
            return rc;
        emit_behavior(cv, pt->behavior, pc, q);
        return 0;
    }
    case TP_METASPACE: {
        char rep[4];
        size_t rn = ucd_utf8_encode(pt->repl, rep);
        /* Replace ' ' with the replacement, prepending it per the scheme. */
        buf_reserve(&sc->text, pc->len * rn + rn);
        const char *s = sc->text.p + pc->off;
        uint32_t o = (uint32_t)sc->text.len;
        char *w = sc->text.p + sc->text.len;
        /* After the replacement the text starts with it iff it began with ' ' or with the
         * replacement itself. */
        bool starts = pc->len > 0 && (s[0] == ' ' || (pc->len >= rn && memcmp(s, rep, rn) == 0));
        bool add = !starts && (pt->prepend == TK_PREPEND_ALWAYS ||
                               (pt->prepend == TK_PREPEND_FIRST && pc->first));
        if (add) {
            memcpy(w, rep, rn);
            w += rn;
        }
        for (size_t i = 0; i < pc->len; i++) {
            if (s[i] == ' ') {
                memcpy(w, rep, rn);
                w += rn;
            } else
                *w++ = s[i];
        }
        sc->text.len = (size_t)(w - sc->text.p);
        sc->text.p[sc->text.len] = '\0';
        struct tk_piece np = {o, (uint32_t)(sc->text.len - o), -1, pc->first};
        if (!pt->split) {
            if (np.len)
                tk_pieces_push(q, np.off, np.len, -1, np.first);
            return 0;
        }
        /* Split on the replacement character, MergedWithNext. */
        const char *ns = sc->text.p + np.off;
        size_t last = 0, i = 0;
        while (i < np.len) {
            uint32_t cp;
            size_t k = ucd_utf8_decode(ns + i, np.len - i, &cp);
            if (cp == pt->repl) {
                if (last < i)
                    cover_push(cv, last, i - last, false);
                cover_push(cv, i, k, true);
                last = i + k;
            }
            i += k;
        }
        if (last < np.len)
            cover_push(cv, last, np.len - last, false);
        emit_behavior(cv, TB_NEXT, &np, q);
        return 0;
    }
    case TP_WHITESPACE: {
        /* \w+|[^\w\s]+ kept, the rest removed. */
        const char *s = sc->text.p + pc->off;
        size_t n = pc->len, i = 0;
        while (i < n) {
            uint32_t cp;
            size_t k = ucd_utf8_decode(s + i, n - i, &cp);
            if (tk_is_word(cp)) {
                size_t j = i + k;
                while (j < n) {
                    size_t k2 = ucd_utf8_decode(s + j, n - j, &cp);
                    if (!tk_is_word(cp))
                        break;
                    j += k2;
                }
                tk_pieces_push(q, pc->off + (uint32_t)i, (uint32_t)(j - i), -1,
                               pc->first && i == 0);
                i = j;
            } else if (!tk_is_ws(cp)) {
                size_t j = i + k;
                while (j < n) {
                    size_t k2 = ucd_utf8_decode(s + j, n - j, &cp);
                    if (tk_is_word(cp) || tk_is_ws(cp))
                        break;
                    j += k2;
                }
                tk_pieces_push(q, pc->off + (uint32_t)i, (uint32_t)(j - i), -1,
                               pc->first && i == 0);
                i = j;
            } else
                i += k;
        }
        return 0;
    }
    case TP_WSSPLIT:
        char_cover(sc->text.p + pc->off, pc->len, pred_ws, cv);
        emit_behavior(cv, TB_REMOVED, pc, q);
        return 0;
    case TP_PUNCT:
        char_cover(sc->text.p + pc->off, pc->len, pred_punct, cv);
        emit_behavior(cv, pt->behavior, pc, q);
        return 0;
    case TP_DIGITS:
        char_cover(sc->text.p + pc->off, pc->len, pred_num, cv);
        emit_behavior(cv, pt->individual ? TB_ISOLATED : TB_CONTIGUOUS, pc, q);
        return 0;
    case TP_BERT: {
        char_cover(sc->text.p + pc->off, pc->len, pred_ws, cv);
        size_t from = q->n;
        emit_behavior(cv, TB_REMOVED, pc, q);
        /* Then each piece splits on punctuation, isolated. */
        size_t to = q->n;
        for (size_t i = from; i < to; i++) {
            struct tk_piece sub = q->v[i];
            cv->n = 0;
            char_cover(sc->text.p + sub.off, sub.len, pred_punct, cv);
            emit_behavior(cv, TB_ISOLATED, &sub, q);
        }
        /* Drop the intermediate pieces [from, to). */
        memmove(q->v + from, q->v + to, (q->n - to) * sizeof *q->v);
        q->n -= to - from;
        return 0;
    }
    }
    return ERR_INVALID;
}

int tk_pretokenize(const struct tok *t, const struct tk_pre *pt, struct tok_scratch *sc)
{
    if (pt->kind == TP_SEQ) {
        for (size_t i = 0; i < pt->nkids; i++) {
            int rc = tk_pretokenize(t, &pt->kids[i], sc);
            if (rc)
                return rc;
        }
        return 0;
    }
    struct cover cv = {0};
    sc->q.n = 0;
    int rc = 0;
    for (size_t i = 0; i < sc->p.n && !rc; i++) {
        struct tk_piece pc = sc->p.v[i];
        if (pc.id >= 0 || pc.len == 0) {
            if (pc.id >= 0)
                tk_pieces_push(&sc->q, pc.off, pc.len, pc.id, pc.first);
            continue;
        }
        rc = pre_one(t, pt, sc, &pc, &cv);
    }
    cover_free(&cv);
    struct tk_pieces x = sc->p;
    sc->p = sc->q;
    sc->q = x;
    return rc;
}
