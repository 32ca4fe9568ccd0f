/*
 * ucd: lookups over the generated tables (ucd_tables.c, from tools/ucdgen.c) and the
 * UAX #15 normalization algorithm over UTF-8. See include/ucd.h.
 */
#include "ucd.h"

#include "err.h"
#include "ucd_tables.h"

#include <stdlib.h>
#include <string.h>

/* Record bits, as tools/ucdgen.c packs them. */
#define R_GC(r)  ((r)&31u)
#define R_WS     0x20u
#define R_DEC    0x40u
#define R_COMP2  0x80u
#define R_CCC(r) (((r) >> 8) & 255u)
#define R_BND_C  0x10000u
#define R_BND_K  0x20000u
#define R_ALPHA  0x40000u
#define R_AGE(r) (ucd_age_ver[((r) >> 19) & 31u])

/* Hangul syllable constants (Unicode ch. 3.12). */
#define S_BASE  0xAC00u
#define L_BASE  0x1100u
#define V_BASE  0x1161u
#define T_BASE  0x11A7u
#define L_COUNT 19u
#define V_COUNT 21u
#define T_COUNT 28u
#define N_COUNT (V_COUNT * T_COUNT)
#define S_COUNT (L_COUNT * N_COUNT)

static inline uint32_t rec(uint32_t cp)
{
    if (cp > 0x10FFFF)
        return 0;
    return ucd_rec[ucd_stage2[(uint32_t)ucd_stage1[cp / UCD_BLOCK] * UCD_BLOCK + cp % UCD_BLOCK]];
}

enum ucd_gc ucd_gc(uint32_t cp)
{
    return (enum ucd_gc)R_GC(rec(cp));
}

bool ucd_white_space(uint32_t cp)
{
    return (rec(cp) & R_WS) != 0;
}

unsigned ucd_age(uint32_t cp)
{
    return R_AGE(rec(cp));
}

bool ucd_alphabetic(uint32_t cp)
{
    return (rec(cp) & R_ALPHA) != 0;
}

bool ucd_onig_word(uint32_t cp)
{
    uint32_t r = rec(cp);
    if (r & R_ALPHA)
        return true;
    return ((UCD_MASK_M | UCD_BIT(UCD_Nd) | UCD_BIT(UCD_Pc)) >> R_GC(r) & 1u) != 0;
}

unsigned ucd_ccc(uint32_t cp)
{
    return R_CCC(rec(cp));
}

/* Index of cp in the sorted table keys[0..n), or -1. */
static long bsearch_cp(const uint32_t *keys, uint32_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (keys[mid] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && keys[lo] == cp ? (long)lo : -1;
}

size_t ucd_to_lower(uint32_t cp, uint32_t out[3])
{
    if (cp < 0x80) {
        out[0] = cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
        return 1;
    }
    long i = bsearch_cp(ucd_lower_cp, ucd_lower_n, cp);
    if (i < 0) {
        out[0] = cp;
        return 1;
    }
    size_t k = 0;
    for (; k < 3 && (k == 0 || ucd_lower_to[i][k]); k++)
        out[k] = ucd_lower_to[i][k];
    return k;
}

uint32_t ucd_fold(uint32_t cp)
{
    long i = bsearch_cp(ucd_fold_cp, ucd_fold_n, cp);
    return i < 0 ? cp : ucd_fold_to[i][0];
}

const uint32_t *ucd_fold_list(size_t *n)
{
    *n = ucd_fold_n;
    return ucd_fold_cp;
}

uint32_t ucd_fold_next(uint32_t cp)
{
    long i = bsearch_cp(ucd_fold_cp, ucd_fold_n, cp);
    return i < 0 ? cp : ucd_fold_to[i][1];
}

size_t ucd_decompose(uint32_t cp, bool compat, uint32_t out[UCD_DECOMP_MAX])
{
    if (cp >= S_BASE && cp < S_BASE + S_COUNT) {
        uint32_t s = cp - S_BASE;
        out[0] = L_BASE + s / N_COUNT;
        out[1] = V_BASE + (s % N_COUNT) / T_COUNT;
        if (s % T_COUNT) {
            out[2] = T_BASE + s % T_COUNT;
            return 3;
        }
        return 2;
    }
    if (!(rec(cp) & R_DEC))
        return 0;
    long i = bsearch_cp(ucd_decomp_cp, ucd_decomp_n, cp);
    if (i < 0)
        return 0;
    uint32_t r = ucd_decomp_ref[i][compat ? 1 : 0];
    if (!r)
        return 0;
    size_t n = r & 31u;
    memcpy(out, ucd_decomp_data + (r >> 5), n * sizeof(uint32_t));
    return n;
}

uint32_t ucd_compose(uint32_t a, uint32_t b)
{
    if (a >= L_BASE && a < L_BASE + L_COUNT && b >= V_BASE && b < V_BASE + V_COUNT)
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a >= S_BASE && a < S_BASE + S_COUNT && (a - S_BASE) % T_COUNT == 0 && b > T_BASE &&
        b < T_BASE + T_COUNT)
        return a + (b - T_BASE);
    if (!(rec(b) & R_COMP2))
        return 0;
    uint64_t key = ((uint64_t)a << 21) | b;
    size_t lo = 0, hi = ucd_comp_n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ucd_comp_pair[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ucd_comp_n && ucd_comp_pair[lo] == key ? ucd_comp_to[lo] : 0;
}

size_t ucd_utf8_encode(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A normalization segment being built: decomposed code points since the last boundary.
 * Starts in the on-stack array; grows on the heap for pathological runs of marks. */
struct seg {
    uint32_t *p;
    size_t len, cap;
    uint32_t local[128];
};

static int seg_push(struct seg *s, uint32_t cp)
{
    if (s->len == s->cap) {
        size_t ncap = s->cap * 2;
        uint32_t *np =
            s->p == s->local ? malloc(ncap * sizeof *np) : realloc(s->p, ncap * sizeof *np);
        if (!np)
            return ERR_TOO_LARGE;
        if (s->p == s->local)
            memcpy(np, s->local, s->len * sizeof *np);
        s->p = np;
        s->cap = ncap;
    }
    s->p[s->len++] = cp;
    return 0;
}

/* Combining class as of Unicode version upto (0 for code points assigned later). */
static inline unsigned ccc_upto(uint32_t cp, unsigned upto)
{
    uint32_t r = rec(cp);
    return R_AGE(r) <= upto ? R_CCC(r) : 0;
}

static uint32_t compose_upto(uint32_t a, uint32_t b, unsigned upto)
{
    uint32_t c = ucd_compose(a, b);
    return c && R_AGE(rec(c)) <= upto ? c : 0;
}

/* Canonical ordering (stable by ccc within runs of non-starters), optional composition,
 * then UTF-8 out. Empties the segment. */
static int seg_flush(struct seg *s, bool compose, unsigned upto, struct buf *out)
{
    uint32_t *p = s->p;
    size_t n = s->len;
    /* Insertion sort: runs of marks are short, and it is stable. */
    for (size_t i = 1; i < n; i++) {
        unsigned c = ccc_upto(p[i], upto);
        if (c == 0)
            continue;
        size_t j = i;
        uint32_t x = p[i];
        while (j > 0 && ccc_upto(p[j - 1], upto) > c) {
            p[j] = p[j - 1];
            j--;
        }
        p[j] = x;
    }
    if (compose && n > 1) {
        /* Canonical composition (UAX #15 section 3): each character is combined with the
         * last starter unless blocked by an intervening character of ccc >= its own
         * (or any character, for a starter). */
        size_t starter = SIZE_MAX, w = 0;
        unsigned last_ccc = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t c = p[i];
            unsigned cc = ccc_upto(c, upto);
            if (starter != SIZE_MAX) {
                bool blocked = w > starter + 1 && (last_ccc == 0 || last_ccc >= cc);
                if (!blocked) {
                    uint32_t comp = compose_upto(p[starter], c, upto);
                    if (comp) {
                        p[starter] = comp;
                        continue;
                    }
                }
            }
            if (cc == 0) {
                starter = w;
            }
            last_ccc = cc;
            p[w++] = c;
        }
        n = w;
    }
    for (size_t i = 0; i < n; i++) {
        char u[4];
        size_t k = ucd_utf8_encode(p[i], u);
        int rc = buf_append(out, u, k);
        if (rc)
            return rc;
    }
    s->len = 0;
    return 0;
}

int ucd_normalize(enum ucd_nf f, const char *s, size_t n, struct buf *out)
{
    return ucd_normalize_upto(f, UCD_NF_LATEST, s, n, out);
}

int ucd_normalize_upto(enum ucd_nf f, unsigned upto, const char *s, size_t n, struct buf *out)
{
    bool compat = f == UCD_NFKC || f == UCD_NFKD;
    bool compose = f == UCD_NFC || f == UCD_NFKC;
    uint32_t bnd = compat ? R_BND_K : R_BND_C;
    struct seg sg = {.len = 0, .cap = 128};
    sg.p = sg.local;
    int rc = buf_reserve(out, n);
    size_t i = 0;
    while (rc == 0 && i < n) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x80 && (i + 1 == n || (unsigned char)s[i + 1] < 0x80)) {
            /* A run of ASCII: copied as is, except its last byte when non-ASCII follows
             * (it may compose with what follows, 'e' + U+0301). */
            if (sg.len)
                rc = seg_flush(&sg, compose, upto, out);
            size_t e = i + 1;
            while (e < n && (unsigned char)s[e] < 0x80)
                e++;
            if (e < n)
                e--;
            if (!rc)
                rc = buf_append(out, s + i, e - i);
            i = e;
            continue;
        }
        uint32_t cp;
        i += ucd_utf8_decode(s + i, n - i, &cp);
        uint32_t r = rec(cp);
        if ((r & bnd) && sg.len)
            rc = seg_flush(&sg, compose, upto, out);
        uint32_t d[UCD_DECOMP_MAX];
        size_t k = (r & R_DEC) && R_AGE(r) <= upto ? ucd_decompose(cp, compat, d) : 0;
        if (k == 0) {
            d[0] = cp;
            k = 1;
        }
        for (size_t j = 0; j < k && !rc; j++)
            rc = seg_push(&sg, d[j]);
    }
    if (!rc && sg.len)
        rc = seg_flush(&sg, compose, upto, out);
    if (sg.p != sg.local)
        free(sg.p);
    return rc;
}

int ucd_lowercase(const char *s, size_t n, struct buf *out)
{
    int rc = buf_reserve(out, n);
    size_t i = 0;
    while (rc == 0 && i < n) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x80) {
            char c = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
            rc = buf_append(out, &c, 1);
            i++;
            continue;
        }
        uint32_t cp, l[3];
        i += ucd_utf8_decode(s + i, n - i, &cp);
        size_t k = ucd_to_lower(cp, l);
        for (size_t j = 0; j < k && !rc; j++) {
            char u[4];
            rc = buf_append(out, u, ucd_utf8_encode(l[j], u));
        }
    }
    return rc;
}
