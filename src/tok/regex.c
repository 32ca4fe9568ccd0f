/*
 * tok_regex: a backtracking regex engine with Oniguruma's semantics for the patterns of
 * tokenizer.json files. See include/tok_regex.h and docs/tokenizers.md ("Regex dialect").
 *
 * Pattern -> tree (parser) -> small program (compiler) -> backtracking VM (tok_re_find).
 * What makes it fast on the real patterns:
 *  - every character class is precomputed into a 64 Ki-bit bitmap for the BMP, so a class
 *    test is one load (only supplementary code points evaluate the class items);
 *  - a quantified single character/class is one STAR instruction that scans greedily and
 *    leaves ONE backtrack entry that gives back one code point per retry (not one entry
 *    per character), so `\s+(?!\S)` over a long space run costs O(run);
 *  - each alternation branch carries the set of bytes it can start with: a branch that
 *    cannot start at the current byte is skipped without pushing a backtrack entry, and the
 *    search skips start positions no match can begin at.
 * The compiled program is never written after compilation; per-call state (backtrack stack,
 * loop-progress slots) lives on the caller's stack, spilling to the heap only if deep.
 */
#include "tok_regex.h"

#include "err.h"
#include "ucd.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Oniguruma's default retry-limit-in-match: a match needing more backtracking gives up. */
#define RETRY_LIMIT 10000000L
#define MAX_NODES   100000
#define MAX_INSTS   200000
#define MAX_REPEAT  100000 /* Oniguruma's ONIG_MAX_REPEAT_NUM */
#define MAX_SLOTS   64
#define MAX_DEPTH   200 /* nesting of groups */
#define INF         UINT32_MAX

/* ---- character classes ---------------------------------------------------------------- */

enum item_kind { IT_RANGE, IT_GC, IT_SPACE, IT_WORD, IT_HEX, IT_ANY_BUT_NL };

struct item {
    uint8_t kind;
    bool neg;
    uint32_t lo, hi; /* IT_RANGE */
    uint32_t gcmask; /* IT_GC */
};

struct cls {
    uint64_t bmp[1024]; /* membership of U+0000..U+FFFF, negation and case folding applied */
    uint64_t lead[4];   /* bytes a member's UTF-8 can start with (superset) */
    struct item *items; /* for code points above U+FFFF */
    size_t nitems, cap;
    bool neg, icase;
};

static bool latin1_word_extra(uint32_t cp)
{
    return cp == 0xB2 || cp == 0xB3 || cp == 0xB9 || (cp >= 0xBC && cp <= 0xBE);
}

static bool item_has(const struct item *it, uint32_t cp)
{
    bool r;
    switch (it->kind) {
    case IT_RANGE:
        r = cp >= it->lo && cp <= it->hi;
        break;
    case IT_GC:
        r = ucd_in(cp, it->gcmask);
        break;
    /* Oniguruma's Unicode \s: 0x09-0x0D, 0x85 and the Z categories (= White_Space). */
    case IT_SPACE:
        r = (cp >= 9 && cp <= 13) || cp == 0x85 || ucd_in(cp, UCD_MASK_Z);
        break;
    /* Oniguruma's Unicode \w (not the "L|M|N|Pc" its doc/RE says: see ucd.h). A bare \w
     * (lo = 1) tests code points below 256 with Oniguruma's ISO-8859-1 table, which also
     * calls superscripts 2, 3, 1 and the fractions 1/4, 1/2, 3/4 word characters; inside
     * brackets \w is the code-range set without them. Both measured on tokenizers. */
    case IT_WORD:
        r = ucd_onig_word(cp) || (it->lo && latin1_word_extra(cp));
        break;
    case IT_HEX:
        r = (cp >= '0' && cp <= '9') || ((cp | 32) >= 'a' && (cp | 32) <= 'f');
        break;
    default:
        r = cp != '\n';
        break;
    }
    return r != it->neg;
}

static bool cls_items_has(const struct cls *c, uint32_t cp)
{
    for (size_t i = 0; i < c->nitems; i++)
        if (item_has(&c->items[i], cp))
            return true;
    return false;
}

/* Membership before negation, with case-insensitive closure when asked. */
static bool cls_eval(const struct cls *c, uint32_t cp)
{
    if (cls_items_has(c, cp))
        return true;
    if (c->icase) {
        for (uint32_t x = ucd_fold_next(cp); x != cp; x = ucd_fold_next(x))
            if (cls_items_has(c, x))
                return true;
    }
    return false;
}

static inline __attribute__((always_inline)) bool cls_has(const struct cls *c, uint32_t cp)
{
    if (cp < 0x10000)
        return (c->bmp[cp >> 6] >> (cp & 63)) & 1;
    return cls_eval(c, cp) != c->neg;
}

static void set_bit(uint64_t *s, unsigned b)
{
    s[b >> 6] |= 1ull << (b & 63);
}

static bool has_bit(const uint64_t *s, unsigned b)
{
    return (s[b >> 6] >> (b & 63)) & 1;
}

/* Fills the bitmap and the lead-byte set once the items are final. */
static void cls_finish(struct cls *c)
{
    /* Items first (ranges by words, properties by one table lookup per code point), then
     * the case-insensitive closure over the code points that have case variants only,
     * then negation: a compile costs well under a millisecond per class. */
    memset(c->bmp, 0, sizeof c->bmp);
    memset(c->lead, 0, sizeof c->lead);
    for (size_t i = 0; i < c->nitems; i++) {
        const struct item *it = &c->items[i];
        if (it->kind == IT_RANGE && !it->neg) {
            for (uint32_t cp = it->lo; cp <= it->hi && cp < 0x10000; cp++)
                set_bit(c->bmp, cp);
            continue;
        }
        for (uint32_t cp = 0; cp < 0x10000; cp++)
            if (item_has(it, cp))
                set_bit(c->bmp, cp);
    }
    if (c->icase) {
        size_t nf;
        const uint32_t *cased = ucd_fold_list(&nf);
        for (size_t i = 0; i < nf && cased[i] < 0x10000; i++) {
            uint32_t cp = cased[i];
            if (has_bit(c->bmp, cp))
                continue;
            for (uint32_t x = ucd_fold_next(cp); x != cp; x = ucd_fold_next(x))
                if (x < 0x10000 ? has_bit(c->bmp, x) : cls_items_has(c, x)) {
                    set_bit(c->bmp, cp);
                    break;
                }
        }
    }
    if (c->neg)
        for (size_t w = 0; w < 1024; w++)
            c->bmp[w] = ~c->bmp[w];
    for (uint32_t cp = 0xD800; cp <= 0xDFFF; cp += 64)
        c->bmp[cp >> 6] = 0; /* surrogates are never text */
    /* Lead bytes of the members: ASCII bits as they are, then per lead byte the range of
     * code points it starts, any member in it. */
    c->lead[0] = c->bmp[0];
    c->lead[1] = c->bmp[1];
    for (unsigned b = 0xC2; b < 0xF0; b++) {
        uint32_t lo = b < 0xE0 ? (b - 0xC0) << 6 : (b - 0xE0) << 12;
        uint32_t hi = b < 0xE0 ? lo + 64 : lo + 4096;
        if (b == 0xE0)
            lo = 0x800;
        for (uint32_t w = lo >> 6; w < hi >> 6; w++)
            if (c->bmp[w]) {
                set_bit(c->lead, b);
                break;
            }
    }
    /* Supplementary planes: lead bytes F0..F4 whenever a member may be there. */
    bool supp = c->neg;
    for (size_t i = 0; i < c->nitems && !supp; i++) {
        const struct item *it = &c->items[i];
        if (it->neg || it->kind == IT_GC || it->kind == IT_WORD || it->kind == IT_ANY_BUT_NL ||
            (it->kind == IT_RANGE && it->hi >= 0x10000))
            supp = true;
    }
    if (supp || c->icase)
        for (unsigned b = 0xF0; b <= 0xF4; b++)
            set_bit(c->lead, b);
}

/* ---- tree ------------------------------------------------------------------------------ */

enum nkind {
    N_EMPTY,
    N_STR,    /* literal UTF-8 bytes str[a..a+b) */
    N_CLASS,  /* one code point of class a */
    N_CAT,    /* children in sequence */
    N_ALT,    /* children as ordered alternatives */
    N_REPEAT, /* child repeated min..max, mode */
    N_LOOK,   /* lookahead, a = negated */
    N_ATOMIC, /* (?>...) */
    N_ASSERT, /* a = enum assert_kind */
};

enum mode { M_GREEDY, M_LAZY, M_POSSESSIVE };
enum assert_kind { A_BOL, A_EOL, A_BOS, A_EOS, A_EOS_NL, A_WORDB, A_NWORDB };

struct node {
    uint8_t kind, mode;
    uint32_t a, b;
    uint32_t min, max;
    int32_t child, next, last; /* first child, next sibling, last child (for appends) */
};

/* ---- program --------------------------------------------------------------------------- */

enum op {
    OP_MATCH,    /* whole match (or end of a lookahead/atomic body) */
    OP_BYTES,    /* literal bytes str[x..x+y) */
    OP_CLASS,    /* one code point in class x */
    OP_STAR,     /* class x repeated min..max, mode */
    OP_SPLIT,    /* try x, then y; set = first bytes of x (index), nullx */
    OP_JMP,      /* goto x */
    OP_ASSERT,   /* x = assert_kind */
    OP_LOOK,     /* lookahead body at pc+1 .. ; continue at y; x = negated */
    OP_ATOMIC,   /* atomic body at pc+1 ..; continue at y */
    OP_MARK,     /* slots[x] = pos (restored on backtrack) */
    OP_PROGRESS, /* pos == slots[x]: an empty iteration ends the loop: goto y */
    OP_LOOKC     /* lookahead of one code point in class x (no recursion); mode = negated */
};

struct inst {
    uint8_t op, mode;
    bool nullx; /* SPLIT: branch x may match without consuming (no filtering) */
    uint32_t x, y;
    uint32_t min, max;
    int32_t set; /* SPLIT: index into first sets of branch x, -1 = no filter */
    int32_t jt;  /* SPLIT: index into jump tables, -1 = none */
};

struct tok_re {
    struct inst *prog;
    size_t nprog;
    char *str;
    size_t nstr;
    struct cls **cls;
    size_t ncls;
    uint64_t (*sets)[4];
    size_t nsets;
    /* Per SPLIT and next byte: the pc of the first SPLIT down its chain of alternatives
     * whose branch can start with that byte (or the chain's last branch). One lookup skips
     * every alternative that cannot match here ('s|'t|'re|... at a letter). */
    uint32_t (*jt)[256];
    uint64_t first[4]; /* bytes a match can start with */
    bool nullable;     /* the whole pattern may match the empty string */
    bool anchored;     /* starts with \A: only position 0 */
    unsigned nslots;
};

/* ---- parser ---------------------------------------------------------------------------- */

struct parser {
    const char *p;
    size_t n, i;
    struct node *nodes;
    size_t nnodes, capnodes;
    struct tok_re *re;
    size_t capstr, capcls;
    char *err;
    size_t errlen;
    int code;
    int depth;
};

static int fail(struct parser *ps, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct parser *ps, int code, const char *fmt, ...)
{
    if (ps->code)
        return -1;
    ps->code = code;
    if (ps->err && ps->errlen) {
        char m[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m, sizeof m, fmt, ap);
        va_end(ap);
        snprintf(ps->err, ps->errlen, "%s at offset %zu", m, ps->i);
    }
    return -1;
}

static int32_t new_node(struct parser *ps, enum nkind k)
{
    if (ps->nnodes == ps->capnodes) {
        if (ps->capnodes >= MAX_NODES)
            return fail(ps, ERR_TOO_LARGE, "pattern too large");
        size_t nc = ps->capnodes ? ps->capnodes * 2 : 64;
        struct node *nn = realloc(ps->nodes, nc * sizeof *nn);
        if (!nn)
            return fail(ps, ERR_TOO_LARGE, "out of memory");
        ps->nodes = nn;
        ps->capnodes = nc;
    }
    struct node *nd = &ps->nodes[ps->nnodes];
    memset(nd, 0, sizeof *nd);
    nd->kind = (uint8_t)k;
    nd->child = nd->next = nd->last = -1;
    return (int32_t)ps->nnodes++;
}

static void add_child(struct parser *ps, int32_t parent, int32_t c)
{
    struct node *pn = &ps->nodes[parent];
    if (pn->child < 0)
        pn->child = c;
    else
        ps->nodes[pn->last].next = c;
    ps->nodes[parent].last = c;
}

static int add_str(struct parser *ps, const char *s, size_t k, uint32_t *off)
{
    struct tok_re *re = ps->re;
    if (re->nstr + k > ps->capstr) {
        size_t nc = (ps->capstr + k) * 2 + 16;
        char *ns = realloc(re->str, nc);
        if (!ns)
            return fail(ps, ERR_TOO_LARGE, "out of memory");
        re->str = ns;
        ps->capstr = nc;
    }
    memcpy(re->str + re->nstr, s, k);
    *off = (uint32_t)re->nstr;
    re->nstr += k;
    return 0;
}

static struct cls *new_cls(struct parser *ps, uint32_t *idx)
{
    struct tok_re *re = ps->re;
    if (re->ncls == ps->capcls) {
        if (ps->capcls >= 4096) {
            fail(ps, ERR_TOO_LARGE, "too many character classes");
            return NULL;
        }
        size_t nc = ps->capcls ? ps->capcls * 2 : 8;
        struct cls **nn = realloc(re->cls, nc * sizeof *nn);
        if (!nn) {
            fail(ps, ERR_TOO_LARGE, "out of memory");
            return NULL;
        }
        re->cls = nn;
        ps->capcls = nc;
    }
    struct cls *c = calloc(1, sizeof *c);
    if (!c) {
        fail(ps, ERR_TOO_LARGE, "out of memory");
        return NULL;
    }
    *idx = (uint32_t)re->ncls;
    re->cls[re->ncls++] = c;
    return c;
}

static int cls_add(struct parser *ps, struct cls *c, struct item it)
{
    /* [\p{Lu}\p{Lt}\p{Lm}...]: one category mask, one table lookup per code point. */
    if (it.kind == IT_GC && !it.neg)
        for (size_t i = 0; i < c->nitems; i++)
            if (c->items[i].kind == IT_GC && !c->items[i].neg) {
                c->items[i].gcmask |= it.gcmask;
                return 0;
            }
    if (c->nitems == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4;
        struct item *ni = realloc(c->items, nc * sizeof *ni);
        if (!ni)
            return fail(ps, ERR_TOO_LARGE, "out of memory");
        c->items = ni;
        c->cap = nc;
    }
    c->items[c->nitems++] = it;
    return 0;
}

static uint32_t peek_cp(struct parser *ps, size_t *len)
{
    uint32_t cp;
    *len = ucd_utf8_decode(ps->p + ps->i, ps->n - ps->i, &cp);
    return cp;
}

/* Property names: the general categories, short and long, compared as Oniguruma does
 * (case, spaces, '_' and '-' ignored). */
static const struct {
    const char *name;
    uint32_t mask;
} props[] = {
    {"l", UCD_MASK_L},
    {"letter", UCD_MASK_L},
    {"lu", UCD_BIT(UCD_Lu)},
    {"uppercaseletter", UCD_BIT(UCD_Lu)},
    {"ll", UCD_BIT(UCD_Ll)},
    {"lowercaseletter", UCD_BIT(UCD_Ll)},
    {"lt", UCD_BIT(UCD_Lt)},
    {"titlecaseletter", UCD_BIT(UCD_Lt)},
    {"lm", UCD_BIT(UCD_Lm)},
    {"modifierletter", UCD_BIT(UCD_Lm)},
    {"lo", UCD_BIT(UCD_Lo)},
    {"otherletter", UCD_BIT(UCD_Lo)},
    {"lc", UCD_MASK_LC},
    {"casedletter", UCD_MASK_LC},
    {"m", UCD_MASK_M},
    {"mark", UCD_MASK_M},
    {"combiningmark", UCD_MASK_M},
    {"mn", UCD_BIT(UCD_Mn)},
    {"nonspacingmark", UCD_BIT(UCD_Mn)},
    {"mc", UCD_BIT(UCD_Mc)},
    {"spacingmark", UCD_BIT(UCD_Mc)},
    {"me", UCD_BIT(UCD_Me)},
    {"enclosingmark", UCD_BIT(UCD_Me)},
    {"n", UCD_MASK_N},
    {"number", UCD_MASK_N},
    {"nd", UCD_BIT(UCD_Nd)},
    {"decimalnumber", UCD_BIT(UCD_Nd)},
    {"nl", UCD_BIT(UCD_Nl)},
    {"letternumber", UCD_BIT(UCD_Nl)},
    {"no", UCD_BIT(UCD_No)},
    {"othernumber", UCD_BIT(UCD_No)},
    {"p", UCD_MASK_P},
    {"punctuation", UCD_MASK_P},
    {"punct", UCD_MASK_P},
    {"pc", UCD_BIT(UCD_Pc)},
    {"connectorpunctuation", UCD_BIT(UCD_Pc)},
    {"pd", UCD_BIT(UCD_Pd)},
    {"dashpunctuation", UCD_BIT(UCD_Pd)},
    {"ps", UCD_BIT(UCD_Ps)},
    {"openpunctuation", UCD_BIT(UCD_Ps)},
    {"pe", UCD_BIT(UCD_Pe)},
    {"closepunctuation", UCD_BIT(UCD_Pe)},
    {"pi", UCD_BIT(UCD_Pi)},
    {"initialpunctuation", UCD_BIT(UCD_Pi)},
    {"pf", UCD_BIT(UCD_Pf)},
    {"finalpunctuation", UCD_BIT(UCD_Pf)},
    {"po", UCD_BIT(UCD_Po)},
    {"otherpunctuation", UCD_BIT(UCD_Po)},
    {"s", UCD_MASK_S},
    {"symbol", UCD_MASK_S},
    {"sm", UCD_BIT(UCD_Sm)},
    {"mathsymbol", UCD_BIT(UCD_Sm)},
    {"sc", UCD_BIT(UCD_Sc)},
    {"currencysymbol", UCD_BIT(UCD_Sc)},
    {"sk", UCD_BIT(UCD_Sk)},
    {"modifiersymbol", UCD_BIT(UCD_Sk)},
    {"so", UCD_BIT(UCD_So)},
    {"othersymbol", UCD_BIT(UCD_So)},
    {"z", UCD_MASK_Z},
    {"separator", UCD_MASK_Z},
    {"zs", UCD_BIT(UCD_Zs)},
    {"spaceseparator", UCD_BIT(UCD_Zs)},
    {"zl", UCD_BIT(UCD_Zl)},
    {"lineseparator", UCD_BIT(UCD_Zl)},
    {"zp", UCD_BIT(UCD_Zp)},
    {"paragraphseparator", UCD_BIT(UCD_Zp)},
    {"c", UCD_MASK_C},
    {"other", UCD_MASK_C},
    {"cc", UCD_BIT(UCD_Cc)},
    {"control", UCD_BIT(UCD_Cc)},
    {"cntrl", UCD_BIT(UCD_Cc)},
    {"cf", UCD_BIT(UCD_Cf)},
    {"format", UCD_BIT(UCD_Cf)},
    {"cs", UCD_BIT(UCD_Cs)},
    {"surrogate", UCD_BIT(UCD_Cs)},
    {"co", UCD_BIT(UCD_Co)},
    {"privateuse", UCD_BIT(UCD_Co)},
    {"cn", UCD_BIT(UCD_Cn)},
    {"unassigned", UCD_BIT(UCD_Cn)},
    {"any", 0xFFFFFFFFu},
};

/* Parses "{Name}" or "{^Name}" after \p / \P into an item. */
static int parse_prop(struct parser *ps, bool neg, struct item *it)
{
    if (ps->i >= ps->n || ps->p[ps->i] != '{')
        return fail(ps, ERR_PARSE, "\\p needs {Name}");
    size_t j = ps->i + 1;
    if (j < ps->n && ps->p[j] == '^') {
        neg = !neg;
        j++;
    }
    char name[48];
    size_t k = 0;
    size_t start = j;
    while (j < ps->n && ps->p[j] != '}') {
        char c = ps->p[j++];
        if (c == ' ' || c == '_' || c == '-')
            continue;
        if (k + 1 < sizeof name)
            name[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    if (j >= ps->n)
        return fail(ps, ERR_PARSE, "unterminated \\p{");
    name[k] = 0;
    ps->i = j + 1;
    for (size_t x = 0; x < sizeof props / sizeof props[0]; x++)
        if (!strcmp(props[x].name, name)) {
            *it = (struct item){.kind = IT_GC, .neg = neg, .gcmask = props[x].mask};
            return 0;
        }
    return fail(ps, ERR_UNSUPPORTED, "unsupported property \\p{%.*s} (general categories only)",
                (int)(j - start), ps->p + start);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 32) >= 'a' && (c | 32) <= 'f')
        return (c | 32) - 'a' + 10;
    return -1;
}

/* Reads exactly (or up to, if braces) hex digits into *cp. */
static int parse_hex(struct parser *ps, size_t digits, uint32_t *cp)
{
    uint32_t v = 0;
    if (ps->i < ps->n && ps->p[ps->i] == '{') {
        ps->i++;
        size_t k = 0;
        while (ps->i < ps->n && ps->p[ps->i] != '}') {
            int h = hexval(ps->p[ps->i]);
            if (h < 0 || ++k > 8)
                return fail(ps, ERR_PARSE, "bad \\x{...} escape");
            v = v * 16 + (uint32_t)h;
            ps->i++;
        }
        if (ps->i >= ps->n || k == 0)
            return fail(ps, ERR_PARSE, "bad \\x{...} escape");
        ps->i++;
    } else {
        size_t k = 0;
        while (k < digits && ps->i < ps->n && hexval(ps->p[ps->i]) >= 0) {
            v = v * 16 + (uint32_t)hexval(ps->p[ps->i++]);
            k++;
        }
        if (k == 0 || (digits == 4 && k != 4))
            return fail(ps, ERR_PARSE, "bad hexadecimal escape");
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return fail(ps, ERR_PARSE, "escape U+%X is not a Unicode scalar value", v);
    *cp = v;
    return 0;
}

/* An escape after '\'. Returns 0 with either *cp set (a single character, *is_item false)
 * or *it set (a class item, *is_item true). Assertions are handled by the caller. */
static int parse_escape(struct parser *ps, uint32_t *cp, struct item *it, bool *is_item)
{
    if (ps->i >= ps->n)
        return fail(ps, ERR_PARSE, "pattern ends with \\");
    char c = ps->p[ps->i++];
    *is_item = false;
    switch (c) {
    case 't':
        *cp = '\t';
        return 0;
    case 'n':
        *cp = '\n';
        return 0;
    case 'r':
        *cp = '\r';
        return 0;
    case 'f':
        *cp = '\f';
        return 0;
    case 'v':
        *cp = '\v';
        return 0;
    case 'a':
        *cp = 7;
        return 0;
    case 'e':
        *cp = 27;
        return 0;
    case 'x':
        return parse_hex(ps, 2, cp);
    case 'u':
        return parse_hex(ps, 4, cp);
    case '0':
        *cp = 0;
        for (int k = 0; k < 2 && ps->i < ps->n && ps->p[ps->i] >= '0' && ps->p[ps->i] <= '7'; k++)
            *cp = *cp * 8 + (uint32_t)(ps->p[ps->i++] - '0');
        return 0;
    case 'd':
    case 'D':
        *is_item = true;
        *it = (struct item){.kind = IT_GC, .neg = c == 'D', .gcmask = UCD_BIT(UCD_Nd)};
        return 0;
    case 's':
    case 'S':
        *is_item = true;
        *it = (struct item){.kind = IT_SPACE, .neg = c == 'S'};
        return 0;
    case 'w':
    case 'W':
        *is_item = true;
        *it = (struct item){.kind = IT_WORD, .neg = c == 'W'};
        return 0;
    case 'h':
    case 'H':
        *is_item = true;
        *it = (struct item){.kind = IT_HEX, .neg = c == 'H'};
        return 0;
    case 'p':
    case 'P':
        *is_item = true;
        return parse_prop(ps, c == 'P', it);
    default:
        break;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '1' && c <= '9')) {
        ps->i--;
        return fail(ps, ERR_UNSUPPORTED, "unsupported escape \\%c", c);
    }
    /* Any other escaped character stands for itself (\., \\, \', \-, UTF-8 too). */
    ps->i--;
    size_t len;
    *cp = peek_cp(ps, &len);
    ps->i += len;
    return 0;
}

static int parse_class(struct parser *ps, bool icase, uint32_t *idx);

/* Class body after '[' (and '^'), up to and including ']'. Items go into c. */
static int parse_class_body(struct parser *ps, struct cls *c)
{
    bool first = true;
    for (;;) {
        if (ps->i >= ps->n)
            return fail(ps, ERR_PARSE, "unterminated character class");
        char ch = ps->p[ps->i];
        if (ch == ']' && !first) {
            ps->i++;
            return 0;
        }
        first = false;
        if (ch == '[') {
            if (ps->i + 1 < ps->n && ps->p[ps->i + 1] == ':')
                return fail(ps, ERR_UNSUPPORTED, "unsupported POSIX bracket [:...:]");
            return fail(ps, ERR_UNSUPPORTED, "unsupported nested character class");
        }
        if (ch == '&' && ps->i + 1 < ps->n && ps->p[ps->i + 1] == '&')
            return fail(ps, ERR_UNSUPPORTED, "unsupported class intersection &&");
        uint32_t lo;
        struct item it;
        bool is_item = false;
        if (ch == '\\') {
            ps->i++;
            if (ps->i < ps->n && ps->p[ps->i] == 'b') {
                ps->i++;
                lo = 8; /* backspace inside a class */
            } else if (parse_escape(ps, &lo, &it, &is_item))
                return -1;
        } else {
            size_t len;
            lo = peek_cp(ps, &len);
            ps->i += len;
        }
        if (is_item) {
            if (cls_add(ps, c, it))
                return -1;
            continue;
        }
        uint32_t hi = lo;
        if (ps->i + 1 < ps->n && ps->p[ps->i] == '-' && ps->p[ps->i + 1] != ']') {
            ps->i++;
            char h = ps->p[ps->i];
            if (h == '[')
                return fail(ps, ERR_UNSUPPORTED, "unsupported nested character class");
            if (h == '\\') {
                ps->i++;
                if (parse_escape(ps, &hi, &it, &is_item))
                    return -1;
                if (is_item)
                    return fail(ps, ERR_PARSE, "character class range ends with a class escape");
            } else {
                size_t len;
                hi = peek_cp(ps, &len);
                ps->i += len;
            }
            if (hi < lo)
                return fail(ps, ERR_PARSE, "empty range in character class");
        }
        if (cls_add(ps, c, (struct item){.kind = IT_RANGE, .lo = lo, .hi = hi}))
            return -1;
    }
}

static int parse_class(struct parser *ps, bool icase, uint32_t *idx)
{
    struct cls *c = new_cls(ps, idx);
    if (!c)
        return -1;
    c->icase = icase;
    if (ps->i < ps->n && ps->p[ps->i] == '^') {
        c->neg = true;
        ps->i++;
    }
    if (parse_class_body(ps, c))
        return -1;
    cls_finish(c);
    return 0;
}

/* A one-item class node (for \d, \p{..}, '.', case-insensitive characters). */
static int32_t item_node(struct parser *ps, struct item it, bool icase)
{
    uint32_t idx;
    struct cls *c = new_cls(ps, &idx);
    if (!c || cls_add(ps, c, it))
        return -1;
    c->icase = icase;
    cls_finish(c);
    int32_t nd = new_node(ps, N_CLASS);
    if (nd >= 0)
        ps->nodes[nd].a = idx;
    return nd;
}

static int32_t char_node(struct parser *ps, uint32_t cp, bool icase)
{
    if (icase && ucd_fold_next(cp) != cp)
        return item_node(ps, (struct item){.kind = IT_RANGE, .lo = cp, .hi = cp}, true);
    char u[4];
    size_t k = ucd_utf8_encode(cp, u);
    uint32_t off;
    if (add_str(ps, u, k, &off))
        return -1;
    int32_t nd = new_node(ps, N_STR);
    if (nd >= 0) {
        ps->nodes[nd].a = off;
        ps->nodes[nd].b = (uint32_t)k;
    }
    return nd;
}

static int32_t parse_alt(struct parser *ps, bool icase);

/* Reads {n}, {n,}, {,m}, {n,m} at ps->i (pointing at '{'). Returns 1 if it was a valid
 * interval (Oniguruma treats anything else as literal text), 0 if not, -1 on error. */
static int parse_interval(struct parser *ps, uint32_t *min, uint32_t *max)
{
    size_t j = ps->i + 1;
    uint64_t a = 0, b = 0;
    bool has_a = false, has_b = false, comma = false;
    while (j < ps->n && ps->p[j] >= '0' && ps->p[j] <= '9') {
        a = a * 10 + (uint64_t)(ps->p[j++] - '0');
        has_a = true;
        if (a > MAX_REPEAT)
            return fail(ps, ERR_TOO_LARGE, "repeat count larger than %d", MAX_REPEAT);
    }
    if (j < ps->n && ps->p[j] == ',') {
        comma = true;
        j++;
        while (j < ps->n && ps->p[j] >= '0' && ps->p[j] <= '9') {
            b = b * 10 + (uint64_t)(ps->p[j++] - '0');
            has_b = true;
            if (b > MAX_REPEAT)
                return fail(ps, ERR_TOO_LARGE, "repeat count larger than %d", MAX_REPEAT);
        }
    }
    if (j >= ps->n || ps->p[j] != '}' || (!has_a && !has_b))
        return 0;
    *min = has_a ? (uint32_t)a : 0;
    *max = comma ? (has_b ? (uint32_t)b : INF) : *min;
    if (*max < *min)
        return fail(ps, ERR_PARSE, "repeat range {%u,%u} is backwards", *min, *max);
    ps->i = j + 1;
    return 1;
}

/* Splits the last code point off a multi-character literal so a quantifier applies to it
 * alone ("ab+" is a, b+). Returns the node the quantifier applies to. */
static int32_t split_last(struct parser *ps, int32_t cat, int32_t nd)
{
    struct node *s = &ps->nodes[nd];
    if (s->kind != N_STR)
        return nd;
    const char *str = ps->re->str + s->a;
    uint32_t k = s->b, last = k - 1;
    while (last > 0 && ((unsigned char)str[last] & 0xC0) == 0x80)
        last--;
    if (last == 0)
        return nd;
    int32_t t = new_node(ps, N_STR);
    if (t < 0)
        return -1;
    ps->nodes[t].a = ps->nodes[nd].a + last;
    ps->nodes[t].b = k - last;
    ps->nodes[nd].b = last;
    add_child(ps, cat, t);
    return t;
}

static int32_t parse_cat(struct parser *ps, bool icase)
{
    int32_t cat = new_node(ps, N_CAT);
    if (cat < 0)
        return -1;
    int32_t prev = -1; /* last atom, target of a quantifier */
    bool prev_quantifiable = false;
    while (ps->i < ps->n) {
        char ch = ps->p[ps->i];
        if (ch == '|' || ch == ')')
            break;
        /* Quantifiers. */
        if (ch == '*' || ch == '+' || ch == '?' || ch == '{') {
            uint32_t min, max;
            if (ch == '{') {
                int r = parse_interval(ps, &min, &max);
                if (r < 0)
                    return -1;
                if (r == 0)
                    goto literal;
            } else {
                ps->i++;
                min = ch == '+' ? 1 : 0;
                max = ch == '?' ? 1 : INF;
            }
            if (prev < 0)
                return fail(ps, ERR_PARSE, "target of repeat operator is not specified");
            if (!prev_quantifiable)
                return fail(ps, ERR_PARSE, "target of repeat operator is invalid");
            uint8_t mode = M_GREEDY;
            if (ps->i < ps->n && ps->p[ps->i] == '?') {
                mode = M_LAZY;
                ps->i++;
            } else if (ps->i < ps->n && ps->p[ps->i] == '+') {
                mode = M_POSSESSIVE;
                ps->i++;
            }
            int32_t target = split_last(ps, cat, prev);
            if (target < 0)
                return -1;
            /* Replace target (the cat's last child) by a REPEAT wrapping it. */
            int32_t rp = new_node(ps, N_REPEAT);
            if (rp < 0)
                return -1;
            struct node *r = &ps->nodes[rp];
            r->min = min;
            r->max = max;
            r->mode = mode;
            struct node *cn = &ps->nodes[cat];
            if (cn->child == target) {
                cn->child = rp;
            } else {
                int32_t x = cn->child;
                while (ps->nodes[x].next != target)
                    x = ps->nodes[x].next;
                ps->nodes[x].next = rp;
            }
            cn->last = rp;
            ps->nodes[target].next = -1;
            ps->nodes[rp].child = target;
            ps->nodes[rp].last = target;
            prev = rp;
            continue;
        }
        int32_t atom = -1;
        prev_quantifiable = true;
        if (ch == '(') {
            ps->i++;
            if (++ps->depth > MAX_DEPTH)
                return fail(ps, ERR_TOO_LARGE, "groups nested deeper than %d", MAX_DEPTH);
            bool gi = icase;
            enum nkind wrap = N_CAT;
            uint32_t neg = 0;
            if (ps->i < ps->n && ps->p[ps->i] == '?') {
                ps->i++;
                char g = ps->i < ps->n ? ps->p[ps->i] : 0;
                if (g == ':') {
                    ps->i++;
                } else if (g == '=' || g == '!') {
                    ps->i++;
                    wrap = N_LOOK;
                    neg = g == '!';
                } else if (g == '>') {
                    ps->i++;
                    wrap = N_ATOMIC;
                } else if (g == '#') {
                    while (ps->i < ps->n && ps->p[ps->i] != ')')
                        ps->i++;
                    if (ps->i >= ps->n)
                        return fail(ps, ERR_PARSE, "unterminated comment (?#");
                    ps->i++;
                    ps->depth--;
                    continue;
                } else if (g == '<' && ps->i + 1 < ps->n &&
                           (ps->p[ps->i + 1] == '=' || ps->p[ps->i + 1] == '!')) {
                    return fail(ps, ERR_UNSUPPORTED, "unsupported lookbehind (?<%c",
                                ps->p[ps->i + 1]);
                } else if (g == '<' || g == '\'') {
                    /* Named group: captures are not reported, so it is a plain group. */
                    char close = g == '<' ? '>' : '\'';
                    ps->i++;
                    while (ps->i < ps->n && ps->p[ps->i] != close)
                        ps->i++;
                    if (ps->i >= ps->n)
                        return fail(ps, ERR_PARSE, "unterminated group name");
                    ps->i++;
                } else {
                    /* Option flags: only i (on or off) is supported. */
                    bool on = true;
                    bool any = false;
                    while (ps->i < ps->n && ps->p[ps->i] != ':' && ps->p[ps->i] != ')') {
                        char f = ps->p[ps->i];
                        if (f == '-')
                            on = false;
                        else if (f == 'i')
                            gi = on;
                        else
                            return fail(ps, ERR_UNSUPPORTED, "unsupported group option (?%c", f);
                        any = true;
                        ps->i++;
                    }
                    if (ps->i >= ps->n || !any)
                        return fail(ps, ERR_PARSE, "unterminated group");
                    if (ps->p[ps->i] == ')') {
                        /* (?i) applies to the rest of the enclosing group, alternatives
                         * included (Oniguruma): parse that rest as one nested group. */
                        ps->i++;
                        ps->depth--;
                        int32_t rest = parse_alt(ps, gi);
                        if (rest < 0)
                            return -1;
                        add_child(ps, cat, rest);
                        return cat;
                    }
                    ps->i++; /* ':' */
                }
            }
            int32_t inner = parse_alt(ps, gi);
            if (inner < 0)
                return -1;
            if (ps->i >= ps->n || ps->p[ps->i] != ')')
                return fail(ps, ERR_PARSE, "missing )");
            ps->i++;
            ps->depth--;
            if (wrap == N_CAT) {
                atom = inner;
            } else {
                atom = new_node(ps, wrap);
                if (atom < 0)
                    return -1;
                ps->nodes[atom].a = neg;
                ps->nodes[atom].child = inner;
                ps->nodes[atom].last = inner;
                if (wrap == N_LOOK)
                    prev_quantifiable = false;
            }
        } else if (ch == '[') {
            ps->i++;
            uint32_t idx;
            if (parse_class(ps, icase, &idx))
                return -1;
            atom = new_node(ps, N_CLASS);
            if (atom < 0)
                return -1;
            ps->nodes[atom].a = idx;
        } else if (ch == '.') {
            ps->i++;
            atom = item_node(ps, (struct item){.kind = IT_ANY_BUT_NL}, false);
        } else if (ch == '^' || ch == '$') {
            ps->i++;
            atom = new_node(ps, N_ASSERT);
            if (atom >= 0)
                ps->nodes[atom].a = ch == '^' ? A_BOL : A_EOL;
            prev_quantifiable = false;
        } else if (ch == '\\') {
            ps->i++;
            char e = ps->i < ps->n ? ps->p[ps->i] : 0;
            int ak = -1;
            switch (e) {
            case 'A':
                ak = A_BOS;
                break;
            case 'z':
                ak = A_EOS;
                break;
            case 'Z':
                ak = A_EOS_NL;
                break;
            case 'b':
                ak = A_WORDB;
                break;
            case 'B':
                ak = A_NWORDB;
                break;
            case 'G':
                return fail(ps, ERR_UNSUPPORTED, "unsupported \\G");
            case 'K':
                return fail(ps, ERR_UNSUPPORTED, "unsupported \\K");
            case 'R':
                return fail(ps, ERR_UNSUPPORTED, "unsupported \\R");
            case 'X':
                return fail(ps, ERR_UNSUPPORTED, "unsupported \\X");
            case 'k':
            case 'g':
                return fail(ps, ERR_UNSUPPORTED,
                            "unsupported backreference or subexpression call \\%c", e);
            default:
                break;
            }
            if (ak >= 0) {
                ps->i++;
                atom = new_node(ps, N_ASSERT);
                if (atom >= 0)
                    ps->nodes[atom].a = (uint32_t)ak;
                prev_quantifiable = false;
            } else {
                uint32_t cp;
                struct item it;
                bool is_item;
                if (parse_escape(ps, &cp, &it, &is_item))
                    return -1;
                if (is_item && it.kind == IT_WORD)
                    it.lo = 1; /* bare \w: Latin-1 table (see item_has) */
                atom = is_item ? item_node(ps, it, icase) : char_node(ps, cp, icase);
            }
        } else {
        literal:;
            size_t len;
            uint32_t cp = peek_cp(ps, &len);
            ps->i += len;
            atom = char_node(ps, cp, icase);
            prev_quantifiable = true;
            /* Merge with a preceding plain literal. */
            if (atom >= 0 && prev >= 0 && ps->nodes[atom].kind == N_STR &&
                ps->nodes[prev].kind == N_STR &&
                ps->nodes[prev].a + ps->nodes[prev].b == ps->nodes[atom].a) {
                ps->nodes[prev].b += ps->nodes[atom].b;
                ps->nnodes--;
                continue;
            }
        }
        if (atom < 0)
            return -1;
        add_child(ps, cat, atom);
        prev = atom;
    }
    return cat;
}

static int32_t parse_alt(struct parser *ps, bool icase)
{
    int32_t first = parse_cat(ps, icase);
    if (first < 0)
        return -1;
    if (ps->i >= ps->n || ps->p[ps->i] != '|')
        return first;
    int32_t alt = new_node(ps, N_ALT);
    if (alt < 0)
        return -1;
    add_child(ps, alt, first);
    while (ps->i < ps->n && ps->p[ps->i] == '|') {
        ps->i++;
        int32_t c = parse_cat(ps, icase);
        if (c < 0)
            return -1;
        add_child(ps, alt, c);
    }
    return alt;
}

/* ---- compiler -------------------------------------------------------------------------- */

struct comp {
    struct parser *ps;
    struct tok_re *re;
    size_t cap;
};

static int32_t emit(struct comp *c, uint8_t op)
{
    struct tok_re *re = c->re;
    if (re->nprog == c->cap) {
        if (c->cap >= MAX_INSTS)
            return fail(c->ps, ERR_TOO_LARGE, "pattern too large once repeats are expanded");
        size_t nc = c->cap ? c->cap * 2 : 64;
        struct inst *np = realloc(re->prog, nc * sizeof *np);
        if (!np)
            return fail(c->ps, ERR_TOO_LARGE, "out of memory");
        re->prog = np;
        c->cap = nc;
    }
    struct inst *in = &re->prog[re->nprog];
    memset(in, 0, sizeof *in);
    in->op = op;
    in->set = -1;
    in->jt = -1;
    return (int32_t)re->nprog++;
}

/* Whether node nd matches exactly one code point (so a repeat can be one STAR). Returns
 * the class index via *cls, creating one for a single-character literal. */
static bool single_char(struct comp *c, int32_t nd, uint32_t *cls)
{
    struct node *n = &c->ps->nodes[nd];
    if (n->kind == N_CLASS) {
        *cls = n->a;
        return true;
    }
    if (n->kind == N_STR) {
        uint32_t cp;
        size_t k = ucd_utf8_decode(c->re->str + n->a, n->b, &cp);
        if (k != n->b)
            return false;
        struct cls *cl = new_cls(c->ps, cls);
        if (!cl || cls_add(c->ps, cl, (struct item){.kind = IT_RANGE, .lo = cp, .hi = cp}))
            return false;
        cls_finish(cl);
        return true;
    }
    if ((n->kind == N_CAT || n->kind == N_ALT) && n->child >= 0 && c->ps->nodes[n->child].next < 0)
        return single_char(c, n->child, cls);
    return false;
}

static bool nullable_node(struct parser *ps, int32_t nd)
{
    struct node *n = &ps->nodes[nd];
    switch (n->kind) {
    case N_STR:
        return n->b == 0;
    case N_CLASS:
        return false;
    case N_CAT:
        for (int32_t x = n->child; x >= 0; x = ps->nodes[x].next)
            if (!nullable_node(ps, x))
                return false;
        return true;
    case N_ALT:
        for (int32_t x = n->child; x >= 0; x = ps->nodes[x].next)
            if (nullable_node(ps, x))
                return true;
        return false;
    case N_REPEAT:
        return n->min == 0 || nullable_node(ps, n->child);
    case N_ATOMIC:
        return nullable_node(ps, n->child);
    default:
        return true;
    }
}

static int compile_node(struct comp *c, int32_t nd);

static int compile_repeat(struct comp *c, int32_t nd)
{
    struct parser *ps = c->ps;
    struct node n = ps->nodes[nd];
    uint32_t cls;
    if (single_char(c, n.child, &cls)) {
        int32_t pc = emit(c, OP_STAR);
        if (pc < 0)
            return -1;
        struct inst *in = &c->re->prog[pc];
        in->x = cls;
        in->min = n.min;
        in->max = n.max;
        in->mode = n.mode;
        return 0;
    }
    if (ps->code)
        return -1;
    if (n.mode == M_POSSESSIVE) {
        /* X*+ == (?>X*) */
        int32_t at = emit(c, OP_ATOMIC);
        if (at < 0)
            return -1;
        ps->nodes[nd].mode = M_GREEDY;
        int r = compile_repeat(c, nd);
        ps->nodes[nd].mode = M_POSSESSIVE;
        if (r || emit(c, OP_MATCH) < 0)
            return -1;
        c->re->prog[at].y = (uint32_t)c->re->nprog;
        return 0;
    }
    for (uint32_t k = 0; k < n.min; k++)
        if (compile_node(c, n.child))
            return -1;
    if (n.max == n.min)
        return 0;
    bool nullable = nullable_node(ps, n.child);
    if (n.max == INF) {
        /* L1: SPLIT L2, L3   L2: [MARK s] X [PROGRESS s, L3] JMP L1   L3: */
        uint32_t slot = 0;
        if (nullable) {
            if (c->re->nslots >= MAX_SLOTS)
                return fail(ps, ERR_TOO_LARGE, "too many loops over empty-matching groups");
            slot = c->re->nslots++;
        }
        int32_t l1 = emit(c, OP_SPLIT);
        if (l1 < 0)
            return -1;
        if (nullable) {
            int32_t mk = emit(c, OP_MARK);
            if (mk < 0)
                return -1;
            c->re->prog[mk].x = slot;
        }
        if (compile_node(c, n.child))
            return -1;
        int32_t pg = -1;
        if (nullable) {
            pg = emit(c, OP_PROGRESS);
            if (pg < 0)
                return -1;
            c->re->prog[pg].x = slot;
        }
        int32_t j = emit(c, OP_JMP);
        if (j < 0)
            return -1;
        c->re->prog[j].x = (uint32_t)l1;
        uint32_t l3 = (uint32_t)c->re->nprog;
        struct inst *sp = &c->re->prog[l1];
        if (n.mode == M_LAZY) {
            sp->x = l3;
            sp->y = (uint32_t)l1 + 1;
        } else {
            sp->x = (uint32_t)l1 + 1;
            sp->y = l3;
        }
        if (pg >= 0)
            c->re->prog[pg].y = l3;
        return 0;
    }
    /* Optional copies, nested: (X(X(X)?)?)? as SPLITs that all exit to the end. */
    int32_t splits[64];
    uint32_t opt = n.max - n.min;
    int32_t *sv = opt <= 64 ? splits : malloc(opt * sizeof *sv);
    if (!sv)
        return fail(ps, ERR_TOO_LARGE, "out of memory");
    int rc = 0;
    for (uint32_t k = 0; k < opt && !rc; k++) {
        sv[k] = emit(c, OP_SPLIT);
        if (sv[k] < 0 || compile_node(c, n.child))
            rc = -1;
    }
    if (!rc) {
        uint32_t end = (uint32_t)c->re->nprog;
        for (uint32_t k = 0; k < opt; k++) {
            struct inst *sp = &c->re->prog[sv[k]];
            if (n.mode == M_LAZY) {
                sp->x = end;
                sp->y = (uint32_t)sv[k] + 1;
            } else {
                sp->x = (uint32_t)sv[k] + 1;
                sp->y = end;
            }
        }
    }
    if (sv != splits)
        free(sv);
    return rc;
}

static int compile_node(struct comp *c, int32_t nd)
{
    struct parser *ps = c->ps;
    struct node n = ps->nodes[nd];
    int32_t pc;
    switch (n.kind) {
    case N_EMPTY:
        return 0;
    case N_STR:
        if (n.b == 0)
            return 0;
        pc = emit(c, OP_BYTES);
        if (pc < 0)
            return -1;
        c->re->prog[pc].x = n.a;
        c->re->prog[pc].y = n.b;
        return 0;
    case N_CLASS:
        pc = emit(c, OP_CLASS);
        if (pc < 0)
            return -1;
        c->re->prog[pc].x = n.a;
        return 0;
    case N_CAT:
        for (int32_t x = n.child; x >= 0; x = ps->nodes[x].next)
            if (compile_node(c, x))
                return -1;
        return 0;
    case N_ALT: {
        /* SPLIT L1, N1; L1: A1; JMP end; N1: SPLIT L2, N2; ...; Ak; end: */
        int32_t jmps[256];
        int nj = 0;
        int32_t *jv = jmps;
        size_t capj = 256;
        int rc = 0;
        for (int32_t x = n.child; x >= 0 && !rc; x = ps->nodes[x].next) {
            bool last = ps->nodes[x].next < 0;
            int32_t sp = -1;
            if (!last && (sp = emit(c, OP_SPLIT)) < 0) {
                rc = -1;
                break;
            }
            if (sp >= 0)
                c->re->prog[sp].x = (uint32_t)sp + 1;
            if (compile_node(c, x)) {
                rc = -1;
                break;
            }
            if (!last) {
                int32_t j = emit(c, OP_JMP);
                if (j < 0) {
                    rc = -1;
                    break;
                }
                if ((size_t)nj == capj) {
                    size_t ncap = capj * 2;
                    int32_t *nv =
                        jv == jmps ? malloc(ncap * sizeof *nv) : realloc(jv, ncap * sizeof *nv);
                    if (!nv) {
                        rc = fail(ps, ERR_TOO_LARGE, "out of memory");
                        break;
                    }
                    if (jv == jmps)
                        memcpy(nv, jmps, sizeof jmps);
                    jv = nv;
                    capj = ncap;
                }
                jv[nj++] = j;
                c->re->prog[sp].y = (uint32_t)c->re->nprog;
            }
        }
        if (!rc)
            for (int k = 0; k < nj; k++)
                c->re->prog[jv[k]].x = (uint32_t)c->re->nprog;
        if (jv != jmps)
            free(jv);
        return rc;
    }
    case N_REPEAT:
        return compile_repeat(c, nd);
    case N_LOOK:
    case N_ATOMIC: {
        uint32_t lc;
        if (n.kind == N_LOOK && single_char(c, n.child, &lc)) {
            pc = emit(c, OP_LOOKC);
            if (pc < 0)
                return -1;
            c->re->prog[pc].x = lc;
            c->re->prog[pc].mode = (uint8_t)n.a;
            return 0;
        }
        if (ps->code)
            return -1;
        pc = emit(c, n.kind == N_LOOK ? OP_LOOK : OP_ATOMIC);
        if (pc < 0)
            return -1;
        c->re->prog[pc].x = n.a;
        if (compile_node(c, n.child) || emit(c, OP_MATCH) < 0)
            return -1;
        c->re->prog[pc].y = (uint32_t)c->re->nprog;
        return 0;
    }
    case N_ASSERT:
        pc = emit(c, OP_ASSERT);
        if (pc < 0)
            return -1;
        c->re->prog[pc].x = n.a;
        return 0;
    default:
        return fail(ps, ERR_INVALID, "internal: bad node");
    }
}

/* First-byte sets: the bytes a match starting at pc can begin with (a superset), and
 * whether it may consume nothing. `seen` breaks cycles (a cycle back to a pc adds no new
 * first byte, since nothing was consumed on the way). */
static void first_of(const struct tok_re *re, uint32_t pc, uint64_t set[4], bool *nullable,
                     uint32_t *seen, uint32_t stamp, int depth)
{
    while (pc < re->nprog) {
        if (seen[pc] == stamp || depth > 2000) {
            if (depth > 2000) {
                memset(set, 0xFF, 32);
                *nullable = true;
            }
            return;
        }
        seen[pc] = stamp;
        const struct inst *in = &re->prog[pc];
        switch (in->op) {
        case OP_MATCH:
            *nullable = true;
            return;
        case OP_BYTES:
            set_bit(set, (unsigned char)re->str[in->x]);
            return;
        case OP_CLASS:
            for (int k = 0; k < 4; k++)
                set[k] |= re->cls[in->x]->lead[k];
            return;
        case OP_STAR:
            for (int k = 0; k < 4; k++)
                set[k] |= re->cls[in->x]->lead[k];
            if (in->min > 0)
                return;
            pc++;
            break;
        case OP_SPLIT:
            first_of(re, in->x, set, nullable, seen, stamp, depth + 1);
            pc = in->y;
            break;
        case OP_JMP:
            pc = in->x;
            break;
        case OP_LOOK:
            pc = in->y;
            break;
        case OP_ATOMIC:
            /* The body ends in MATCH, which here means "continue after it": be
             * conservative. */
            memset(set, 0xFF, 32);
            *nullable = true;
            return;
        case OP_PROGRESS:
            first_of(re, in->y, set, nullable, seen, stamp, depth + 1);
            pc++;
            break;
        default:
            pc++;
            break;
        }
    }
    *nullable = true;
}

static int compute_first_sets(struct parser *ps, struct tok_re *re)
{
    /* seen[pc] == stamp: visited in the current walk (no clearing between walks). */
    uint32_t *seen = calloc(re->nprog + 1, sizeof *seen);
    if (!seen)
        return fail(ps, ERR_TOO_LARGE, "out of memory");
    uint32_t stamp = 1;
    memset(re->first, 0, sizeof re->first);
    re->nullable = false;
    first_of(re, 0, re->first, &re->nullable, seen, stamp, 0);
    size_t nsplit = 0;
    for (size_t i = 0; i < re->nprog; i++)
        nsplit += re->prog[i].op == OP_SPLIT;
    re->sets = calloc(nsplit ? nsplit : 1, sizeof *re->sets);
    if (!re->sets) {
        free(seen);
        return fail(ps, ERR_TOO_LARGE, "out of memory");
    }
    for (size_t i = 0; i < re->nprog; i++) {
        struct inst *in = &re->prog[i];
        if (in->op != OP_SPLIT)
            continue;
        bool nl = false;
        uint64_t *st = re->sets[re->nsets];
        first_of(re, in->x, st, &nl, seen, ++stamp, 0);
        in->nullx = nl;
        in->set = (int32_t)re->nsets++;
    }
    free(seen);
    /* Jump tables (1 KiB each) for up to 4096 alternatives; beyond, the first sets alone
     * filter. Built from the last SPLIT back: a SPLIT's y always lies after it. */
    if (nsplit == 0 || nsplit > 4096)
        return 0;
    re->jt = calloc(nsplit, sizeof *re->jt);
    if (!re->jt)
        return fail(ps, ERR_TOO_LARGE, "out of memory");
    for (size_t i = re->nprog; i-- > 0;) {
        struct inst *in = &re->prog[i];
        if (in->op != OP_SPLIT)
            continue;
        in->jt = in->set;
        const struct inst *y = &re->prog[in->y];
        for (unsigned b = 0; b < 256; b++) {
            if (in->nullx || has_bit(re->sets[in->set], b))
                re->jt[in->jt][b] = (uint32_t)i;
            else if (y->op == OP_SPLIT && y->jt >= 0 && in->y > i)
                re->jt[in->jt][b] = re->jt[y->jt][b];
            else
                re->jt[in->jt][b] = in->y;
        }
    }
    return 0;
}

void tok_re_free(struct tok_re *re)
{
    if (!re)
        return;
    for (size_t i = 0; i < re->ncls; i++) {
        free(re->cls[i]->items);
        free(re->cls[i]);
    }
    free(re->cls);
    free(re->prog);
    free(re->str);
    free(re->sets);
    free(re->jt);
    free(re);
}

int tok_re_compile(const char *pattern, size_t len, unsigned flags, struct tok_re **out, char *err,
                   size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = 0;
    struct tok_re *re = calloc(1, sizeof *re);
    if (!re) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return ERR_TOO_LARGE;
    }
    struct parser ps = {.p = pattern, .n = len, .re = re, .err = err, .errlen = errlen};
    int32_t root;
    bool icase = (flags & TOK_RE_ICASE) != 0;
    if (flags & TOK_RE_LITERAL) {
        root = new_node(&ps, N_CAT);
        size_t i = 0;
        while (root >= 0 && i < len) {
            uint32_t cp;
            i += ucd_utf8_decode(pattern + i, len - i, &cp);
            int32_t c = char_node(&ps, cp, icase);
            if (c < 0) {
                root = -1;
                break;
            }
            add_child(&ps, root, c);
        }
    } else {
        root = parse_alt(&ps, icase);
        if (root >= 0 && ps.i < ps.n)
            root = fail(&ps, ERR_PARSE, "unmatched )");
    }
    struct comp c = {.ps = &ps, .re = re};
    if (root >= 0 && !compile_node(&c, root) && emit(&c, OP_MATCH) >= 0)
        compute_first_sets(&ps, re);
    if (root >= 0 && !ps.code && re->nprog > 0 && re->prog[0].op == OP_ASSERT &&
        re->prog[0].x == A_BOS)
        re->anchored = true;
    free(ps.nodes);
    if (ps.code) {
        tok_re_free(re);
        return ps.code;
    }
    *out = re;
    return 0;
}

/* ---- matcher --------------------------------------------------------------------------- */

enum bt_kind { BT_ALT, BT_STAR, BT_LAZY, BT_RESTORE };

struct bt {
    uint32_t kind, pc;
    size_t pos, aux;
};

struct ctx {
    const struct tok_re *re;
    const unsigned char *t;
    size_t n;
    struct bt *st;
    size_t sp, cap;
    struct bt *heap; /* st when it moved to the heap */
    long steps;
    size_t slots[MAX_SLOTS];
};

static int grow(struct ctx *x)
{
    {
        size_t nc = x->cap * 2;
        struct bt *nb = x->heap ? realloc(x->heap, nc * sizeof *nb) : malloc(nc * sizeof *nb);
        if (!nb)
            return ERR_TOO_LARGE;
        if (!x->heap)
            memcpy(nb, x->st, x->sp * sizeof *nb);
        x->heap = x->st = nb;
        x->cap = nc;
    }
    return 0;
}

static inline __attribute__((always_inline)) int push(struct ctx *x, uint32_t kind, uint32_t pc,
                                                      size_t pos, size_t aux)
{
    if (x->sp == x->cap && grow(x))
        return ERR_TOO_LARGE;
    x->st[x->sp++] = (struct bt){kind, pc, pos, aux};
    return 0;
}

static inline size_t dec(const unsigned char *t, size_t n, size_t pos, uint32_t *cp)
{
    if (t[pos] < 0x80) {
        *cp = t[pos];
        return 1;
    }
    return ucd_utf8_decode((const char *)t + pos, n - pos, cp);
}

static inline bool is_word_at(const struct ctx *x, size_t pos)
{
    uint32_t cp;
    dec(x->t, x->n, pos, &cp);
    return ucd_onig_word(cp) || latin1_word_extra(cp);
}

static bool word_before(const struct ctx *x, size_t pos)
{
    if (pos == 0)
        return false;
    size_t p = pos - 1;
    while (p > 0 && (x->t[p] & 0xC0) == 0x80)
        p--;
    return is_word_at(x, p);
}

static bool check_assert(const struct ctx *x, uint32_t k, size_t pos)
{
    switch (k) {
    case A_BOL:
        return pos == 0 || x->t[pos - 1] == '\n';
    case A_EOL:
        return pos == x->n || x->t[pos] == '\n';
    case A_BOS:
        return pos == 0;
    case A_EOS:
        return pos == x->n;
    case A_EOS_NL:
        return pos == x->n || (pos + 1 == x->n && x->t[pos] == '\n');
    case A_WORDB:
    case A_NWORDB: {
        bool a = word_before(x, pos), b = pos < x->n && is_word_at(x, pos);
        return (a != b) == (k == A_WORDB);
    }
    default:
        return false;
    }
}

/* Runs the program from pc at pos. 1: matched, *end set; 0: no match; ERR_TOO_LARGE: gave
 * up. Backtrack entries pushed here are dropped on return (atomic semantics for nested
 * calls: lookaheads and (?>...) commit to their first match). */
static int run(struct ctx *x, uint32_t pc, size_t pos, size_t *end)
{
    const struct tok_re *re = x->re;
    const struct inst *prog = re->prog;
    const unsigned char *t = x->t;
    const size_t n = x->n;
    const size_t base = x->sp;
    for (;;) {
        const struct inst *in = &prog[pc];
        switch (in->op) {
        case OP_MATCH:
            *end = pos;
            x->sp = base;
            return 1;
        case OP_BYTES:
            if (n - pos >= in->y && memcmp(t + pos, re->str + in->x, in->y) == 0) {
                pos += in->y;
                pc++;
                continue;
            }
            goto fail;
        case OP_CLASS: {
            if (pos >= n)
                goto fail;
            uint32_t cp;
            size_t k = dec(t, n, pos, &cp);
            if (!cls_has(re->cls[in->x], cp))
                goto fail;
            pos += k;
            pc++;
            continue;
        }
        case OP_STAR: {
            const struct cls *cl = re->cls[in->x];
            uint32_t cnt = 0;
            size_t minpos = pos;
            uint32_t lim = in->mode == M_LAZY ? in->min : in->max;
            while (cnt < lim && pos < n) {
                uint32_t cp;
                if (t[pos] < 0x80) {
                    /* ASCII: one bitmap test, no decoding. */
                    if (!((cl->bmp[t[pos] >> 6] >> (t[pos] & 63)) & 1))
                        break;
                    pos++;
                    if (++cnt == in->min)
                        minpos = pos;
                    continue;
                }
                size_t k = dec(t, n, pos, &cp);
                if (!cls_has(cl, cp))
                    break;
                pos += k;
                if (++cnt == in->min)
                    minpos = pos;
            }
            if (cnt < in->min)
                goto fail;
            if (in->mode == M_GREEDY && pos > minpos) {
                if (push(x, BT_STAR, pc + 1, pos, minpos))
                    return ERR_TOO_LARGE;
            } else if (in->mode == M_LAZY && cnt < in->max) {
                if (push(x, BT_LAZY, pc, pos, cnt))
                    return ERR_TOO_LARGE;
            }
            pc++;
            continue;
        }
        case OP_SPLIT:
            if (in->jt >= 0) {
                uint32_t to;
                if (pos < n)
                    to = re->jt[in->jt][t[pos]];
                else
                    to = in->nullx ? pc : in->y;
                if (to != pc) {
                    pc = to;
                    continue;
                }
            } else if (in->set >= 0 && !in->nullx &&
                       (pos >= n || !has_bit(re->sets[in->set], t[pos]))) {
                pc = in->y;
                continue;
            }
            if (push(x, BT_ALT, in->y, pos, 0))
                return ERR_TOO_LARGE;
            pc = in->x;
            continue;
        case OP_LOOKC: {
            bool hit = false;
            if (pos < n) {
                uint32_t cp;
                dec(t, n, pos, &cp);
                hit = cls_has(re->cls[in->x], cp);
            }
            if (hit == (in->mode != 0))
                goto fail;
            pc++;
            continue;
        }
        case OP_JMP:
            pc = in->x;
            continue;
        case OP_ASSERT:
            if (!check_assert(x, in->x, pos))
                goto fail;
            pc++;
            continue;
        case OP_LOOK:
        case OP_ATOMIC: {
            size_t e;
            int r = run(x, pc + 1, pos, &e);
            if (r < 0)
                return r;
            if (in->op == OP_LOOK) {
                if ((r == 1) == (in->x != 0))
                    goto fail;
            } else {
                if (r != 1)
                    goto fail;
                pos = e;
            }
            pc = in->y;
            continue;
        }
        case OP_MARK:
            if (push(x, BT_RESTORE, in->x, x->slots[in->x], 0))
                return ERR_TOO_LARGE;
            x->slots[in->x] = pos;
            pc++;
            continue;
        case OP_PROGRESS:
            pc = pos == x->slots[in->x] ? in->y : pc + 1;
            continue;
        default:
            goto fail;
        }
    fail:
        for (;;) {
            if (x->sp == base)
                return 0;
            if (++x->steps > RETRY_LIMIT)
                return ERR_TOO_LARGE;
            struct bt *b = &x->st[x->sp - 1];
            if (b->kind == BT_ALT) {
                pc = b->pc;
                pos = b->pos;
                x->sp--;
                break;
            }
            if (b->kind == BT_RESTORE) {
                x->slots[b->pc] = b->pos;
                x->sp--;
                continue;
            }
            if (b->kind == BT_STAR) {
                /* Give back one code point. */
                size_t p = b->pos - 1;
                while (p > b->aux && (t[p] & 0xC0) == 0x80)
                    p--;
                pos = p;
                pc = b->pc;
                if (p > b->aux)
                    b->pos = p;
                else
                    x->sp--;
                break;
            }
            /* BT_LAZY: take one more item. */
            {
                const struct inst *li = &prog[b->pc];
                size_t p = b->pos;
                uint32_t cp;
                if (p >= n) {
                    x->sp--;
                    continue;
                }
                size_t k = dec(t, n, p, &cp);
                if (!cls_has(re->cls[li->x], cp)) {
                    x->sp--;
                    continue;
                }
                pos = p + k;
                pc = b->pc + 1;
                if (++b->aux >= li->max)
                    x->sp--;
                else
                    b->pos = pos;
                break;
            }
        }
    }
}

int tok_re_find(const struct tok_re *re, const char *text, size_t n, size_t start, size_t *ms,
                size_t *me)
{
    struct bt local[256];
    struct ctx x;
    x.re = re;
    x.t = (const unsigned char *)text;
    x.n = n;
    x.st = local;
    x.sp = 0;
    x.cap = sizeof local / sizeof local[0];
    x.heap = NULL;
    x.steps = 0;
    int result = 0;
    for (size_t s = start; s <= n;) {
        if (re->anchored && s > 0)
            break;
        if (!re->nullable && s < n && !has_bit(re->first, x.t[s])) {
            /* Skip to the next byte that can start a match (continuation bytes never do). */
            s++;
            while (s < n && !has_bit(re->first, x.t[s]))
                s++;
            continue;
        }
        if (s == n && !re->nullable)
            break;
        size_t e;
        int r = run(&x, 0, s, &e);
        if (r == 1) {
            *ms = s;
            *me = e;
            result = 1;
            break;
        }
        if (r < 0) {
            result = r;
            break;
        }
        if (s == n)
            break;
        s++;
        while (s < n && (x.t[s] & 0xC0) == 0x80)
            s++;
    }
    free(x.heap);
    return result;
}
