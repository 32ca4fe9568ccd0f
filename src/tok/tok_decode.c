/*
 * tok_decode: Tokenizer::decode. Ids become token strings (added tokens first, then the
 * model's vocabulary; unknown ids are skipped, special ones too when asked), the decoder
 * chain rewrites the list, and the result is the concatenation (or, with no decoder, the
 * tokens joined by spaces).
 */
#include "err.h"
#include "tok_int.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

/* A list of strings in one buffer. */
struct slist {
    struct buf b;
    size_t *off, *len;
    size_t n, cap;
};
static void sl_init(struct slist *l)
{
    memset(l, 0, sizeof *l);
    buf_init(&l->b, 0);
}
static void sl_free(struct slist *l)
{
    buf_free(&l->b);
    free(l->off);
    free(l->len);
}
static void sl_reset(struct slist *l)
{
    buf_reset(&l->b);
    l->n = 0;
}
/* Starts a new string at the end of the buffer. */
static void sl_begin(struct slist *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->off = xrealloc(l->off, l->cap * sizeof *l->off);
        l->len = xrealloc(l->len, l->cap * sizeof *l->len);
    }
    l->off[l->n] = l->b.len;
    l->len[l->n] = 0;
    l->n++;
}
static void sl_app(struct slist *l, const void *p, size_t n)
{
    buf_append(&l->b, p, n);
    l->len[l->n - 1] += n;
}
static void sl_add(struct slist *l, const void *p, size_t n)
{
    sl_begin(l);
    sl_app(l, p, n);
}
static const char *sl_s(const struct slist *l, size_t i)
{
    return l->b.p ? l->b.p + l->off[i] : "";
}

/* Appends bytes, replacing invalid UTF-8 as String::from_utf8_lossy does (one U+FFFD per
 * maximal ill-formed subsequence, the same rule as the encoder's input). */
static void lossy_app(struct slist *l, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = ucd_utf8_decode(s + i, n - i, &cp);
        if (cp == 0xFFFD && k == 1 && !(n - i >= 3 && !memcmp(s + i, "\xEF\xBF\xBD", 3))) {
            /* Skip the maximal prefix of a valid sequence. */
            const unsigned char *p = (const unsigned char *)s + i;
            unsigned c = p[0];
            size_t need = 0, j = 1;
            unsigned lo = 0x80, hi = 0xBF;
            if (c >= 0xC2 && c <= 0xDF)
                need = 1;
            else if (c >= 0xE0 && c <= 0xEF) {
                need = 2;
                lo = c == 0xE0 ? 0xA0 : 0x80;
                hi = c == 0xED ? 0x9F : 0xBF;
            } else if (c >= 0xF0 && c <= 0xF4) {
                need = 3;
                lo = c == 0xF0 ? 0x90 : 0x80;
                hi = c == 0xF4 ? 0x8F : 0xBF;
            }
            if (need && i + 1 < n && p[1] >= lo && p[1] <= hi) {
                j = 2;
                while (j <= need && i + j < n && (p[j] & 0xC0) == 0x80)
                    j++;
            }
            sl_app(l, "\xEF\xBF\xBD", 3);
            i += j;
            continue;
        }
        sl_app(l, s + i, k);
        i += k;
    }
}

static bool valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = ucd_utf8_decode(s + i, n - i, &cp);
        if (cp == 0xFFFD && k == 1)
            return false;
        i += k;
    }
    return true;
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Replaces every occurrence of a literal in s, appending to the current string of l. */
static void replace_app(struct slist *l, const char *s, size_t n, const char *pat, size_t pn,
                        const char *rep, size_t rn)
{
    if (pn == 0) {
        sl_app(l, s, n);
        return;
    }
    size_t i = 0;
    while (i < n) {
        if (n - i >= pn && memcmp(s + i, pat, pn) == 0) {
            sl_app(l, rep, rn);
            i += pn;
        } else
            sl_app(l, s + i++, 1);
    }
}

static void cleanup(struct slist *out, const char *s, size_t n)
{
    static const char *const pairs[][2] = {
        {" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},
        {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},   {" do not", " don't"},
        {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };
    struct slist a, b;
    sl_init(&a);
    sl_init(&b);
    sl_add(&a, s, n);
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        sl_reset(&b);
        sl_begin(&b);
        replace_app(&b, sl_s(&a, 0), a.len[0], pairs[k][0], strlen(pairs[k][0]), pairs[k][1],
                    strlen(pairs[k][1]));
        struct slist x = a;
        a = b;
        b = x;
    }
    sl_app(out, sl_s(&a, 0), a.len[0]);
    sl_free(&a);
    sl_free(&b);
}

struct re_ctx {
    struct slist *l;
    const char *s;
    const char *rep;
    size_t rn;
};
static void re_cb(void *v, size_t off, size_t len, bool m)
{
    struct re_ctx *x = v;
    if (m)
        sl_app(x->l, x->rep, x->rn);
    else
        sl_app(x->l, x->s + off, len);
}

/* One decoder step: in -> out (out is reset). */
static void dec_step(const struct tok *t, const struct tk_dec *dc, struct slist *in,
                     struct slist *out)
{
    sl_reset(out);
    switch (dc->kind) {
    case TD_SEQ:
        break; /* handled by the caller */
    case TD_BYTELEVEL: {
        struct buf raw;
        buf_init(&raw, 0);
        for (size_t i = 0; i < in->n; i++) {
            const char *s = sl_s(in, i);
            size_t n = in->len[i], j = 0;
            bool ok = true;
            size_t mark = raw.len;
            while (j < n) {
                uint32_t cp;
                size_t k = ucd_utf8_decode(s + j, n - j, &cp);
                int b = cp < 324 ? t->blrev[cp] : -1;
                if (b < 0 || (cp == 0xFFFD && k == 1)) {
                    ok = false;
                    break;
                }
                buf_putc(&raw, (char)b);
                j += k;
            }
            if (!ok) {
                raw.len = mark;
                buf_append(&raw, s, n);
            }
        }
        sl_begin(out);
        lossy_app(out, raw.p ? raw.p : "", raw.len);
        buf_free(&raw);
        break;
    }
    case TD_METASPACE:
        for (size_t i = 0; i < in->n; i++) {
            sl_begin(out);
            const char *s = sl_s(in, i);
            for (size_t j = 0; j < in->len[i];) {
                uint32_t cp;
                size_t k = ucd_utf8_decode(s + j, in->len[i] - j, &cp);
                if (cp == dc->repl) {
                    if (!(i == 0 && dc->prepend != TK_PREPEND_NEVER))
                        sl_app(out, " ", 1);
                } else
                    sl_app(out, s + j, k);
                j += k;
            }
        }
        break;
    case TD_BYTEFALLBACK: {
        struct buf bytes;
        buf_init(&bytes, 0);
        size_t nb = 0;
        for (size_t i = 0; i <= in->n; i++) {
            const char *s = i < in->n ? sl_s(in, i) : NULL;
            int hi = -1, lo = -1;
            if (s && in->len[i] == 6 && !memcmp(s, "<0x", 3) && s[5] == '>') {
                hi = hexv(s[3]);
                lo = hexv(s[4]);
            }
            if (hi >= 0 && lo >= 0) {
                buf_putc(&bytes, (char)(hi * 16 + lo));
                nb++;
                continue;
            }
            if (nb) {
                if (valid_utf8(bytes.p, bytes.len))
                    sl_add(out, bytes.p, bytes.len);
                else
                    for (size_t k = 0; k < nb; k++)
                        sl_add(out, "\xEF\xBF\xBD", 3);
                buf_reset(&bytes);
                nb = 0;
            }
            if (s)
                sl_add(out, s, in->len[i]);
        }
        buf_free(&bytes);
        break;
    }
    case TD_FUSE:
        sl_begin(out);
        for (size_t i = 0; i < in->n; i++)
            sl_app(out, sl_s(in, i), in->len[i]);
        break;
    case TD_STRIP:
        for (size_t i = 0; i < in->n; i++) {
            /* Characters of the token. */
            const char *s = sl_s(in, i);
            size_t n = in->len[i];
            size_t cnt = 0;
            for (size_t j = 0; j < n;) {
                uint32_t cp;
                j += ucd_utf8_decode(s + j, n - j, &cp);
                cnt++;
            }
            size_t a = 0, b = n, taken = 0;
            for (size_t j = 0; j < n && taken < dc->start;) {
                uint32_t cp;
                size_t k = ucd_utf8_decode(s + j, n - j, &cp);
                if (cp != dc->repl)
                    break;
                j += k;
                a = j;
                taken++;
            }
            taken = 0;
            while (b > a && taken < dc->stop && taken < cnt) {
                size_t j = b - 1;
                while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80)
                    j--;
                uint32_t cp;
                ucd_utf8_decode(s + j, b - j, &cp);
                if (cp != dc->repl)
                    break;
                b = j;
                taken++;
            }
            sl_add(out, s + a, b - a);
        }
        break;
    case TD_REPLACE:
        for (size_t i = 0; i < in->n; i++) {
            sl_begin(out);
            struct re_ctx x = {out, sl_s(in, i), tk_s(t, dc->a), dc->a.len};
            if (tk_pat_matches(&dc->pat, sl_s(in, i), in->len[i], re_cb, &x))
                sl_app(out, sl_s(in, i), in->len[i]);
        }
        break;
    case TD_WORDPIECE: {
        const char *pfx = tk_s(t, dc->a);
        size_t pn = dc->a.len;
        for (size_t i = 0; i < in->n; i++) {
            const char *s = sl_s(in, i);
            size_t n = in->len[i];
            struct slist tmp;
            sl_init(&tmp);
            sl_begin(&tmp);
            if (i != 0) {
                if (n >= pn && !memcmp(s, pfx, pn))
                    sl_app(&tmp, s + pn, n - pn);
                else {
                    sl_app(&tmp, " ", 1);
                    sl_app(&tmp, s, n);
                }
            } else
                sl_app(&tmp, s, n);
            sl_begin(out);
            if (dc->cleanup)
                cleanup(out, sl_s(&tmp, 0), tmp.len[0]);
            else
                sl_app(out, sl_s(&tmp, 0), tmp.len[0]);
            sl_free(&tmp);
        }
        break;
    }
    case TD_BPE:
        for (size_t i = 0; i < in->n; i++) {
            sl_begin(out);
            replace_app(out, sl_s(in, i), in->len[i], tk_s(t, dc->a), dc->a.len,
                        i + 1 == in->n ? "" : " ", i + 1 == in->n ? 0 : 1);
        }
        break;
    case TD_CTC:
        for (size_t i = 0; i < in->n; i++) {
            if (i > 0 && in->len[i] == in->len[i - 1] &&
                !memcmp(sl_s(in, i), sl_s(in, i - 1), in->len[i]))
                continue;
            struct slist a;
            sl_init(&a);
            sl_begin(&a);
            replace_app(&a, sl_s(in, i), in->len[i], tk_s(t, dc->a), dc->a.len, "", 0);
            struct slist b;
            sl_init(&b);
            sl_begin(&b);
            if (dc->cleanup) {
                struct slist c;
                sl_init(&c);
                sl_begin(&c);
                cleanup(&c, sl_s(&a, 0), a.len[0]);
                replace_app(&b, sl_s(&c, 0), c.len[0], tk_s(t, dc->b), dc->b.len, " ", 1);
                sl_free(&c);
            } else
                sl_app(&b, sl_s(&a, 0), a.len[0]);
            if (b.len[0])
                sl_add(out, sl_s(&b, 0), b.len[0]);
            sl_free(&a);
            sl_free(&b);
        }
        break;
    }
}

static void dec_run(const struct tok *t, const struct tk_dec *dc, struct slist **cur,
                    struct slist **spare)
{
    if (dc->kind == TD_SEQ) {
        for (size_t i = 0; i < dc->nkids; i++)
            dec_run(t, &dc->kids[i], cur, spare);
        return;
    }
    dec_step(t, dc, *cur, *spare);
    struct slist *x = *cur;
    *cur = *spare;
    *spare = x;
}

int tok_decode(const struct tok *t, const uint32_t *ids, size_t n, bool skip_special_tokens,
               struct buf *out)
{
    struct slist a, b;
    sl_init(&a);
    sl_init(&b);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *s = tok_id_to_token(t, ids[i], &len);
        if (!s || (skip_special_tokens && tok_is_special(t, ids[i])))
            continue;
        sl_add(&a, s, len);
    }
    struct slist *cur = &a, *spare = &b;
    int rc = 0;
    if (t->dec) {
        dec_run(t, t->dec, &cur, &spare);
        for (size_t i = 0; i < cur->n && !rc; i++)
            rc = buf_append(out, sl_s(cur, i), cur->len[i]);
    } else {
        for (size_t i = 0; i < cur->n && !rc; i++) {
            if (i)
                rc = buf_putc(out, ' ');
            if (!rc)
                rc = buf_append(out, sl_s(cur, i), cur->len[i]);
        }
    }
    if (!rc && !out->p)
        rc = buf_append(out, "", 0);
    sl_free(&a);
    sl_free(&b);
    return rc;
}
