/*
 * tok_load: tokenizer.json -> struct tok. The file is parsed with cJSON once, every string
 * the engine needs is copied into one arena, the vocabulary and merges go into open
 * addressing tables, and the parse tree is freed before returning (the loaded tokenizer
 * is a small multiple of the vocabulary's bytes, not of the JSON tree's). Every refusal
 * names the JSON path it could not handle.
 */
#include "cJSON.h"
#include "err.h"
#include "jscan.h"
#include "tok_int.h"
#include "xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <mbedtls/sha256.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ld {
    struct tok *t;
    /* model.vocab and model.merges, the bulk of a file, are walked in place with jscan
     * (no parse tree); everything else goes through cJSON. */
    struct jval vocab, merges;
    bool has_vocab, has_merges;
    struct buf key; /* a decoded string with escapes */
    struct buf arena;
    const char *label;
    struct diag *d;
};

static int bad(struct ld *L, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(struct ld *L, int code, const char *path, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return diag_set(L->d, code, "%s: %s%s%s", L->label, path, *path ? " " : "", msg);
}

static int unsupported_type(struct ld *L, const char *path, const char *type)
{
    return bad(L, ERR_UNSUPPORTED, path, "\"%.64s\" is not supported", type);
}

static int put_str(struct ld *L, const char *s, size_t n, struct tk_str *out)
{
    if (L->arena.len + n + 1 > UINT32_MAX)
        return diag_set(L->d, ERR_TOO_LARGE, "%s: more than 4 GiB of strings", L->label);
    out->off = (uint32_t)L->arena.len;
    out->len = (uint32_t)n;
    if (buf_append(&L->arena, s, n) || buf_putc(&L->arena, '\0'))
        return diag_set(L->d, ERR_TOO_LARGE, "%s: out of memory for strings", L->label);
    L->t->arena = L->arena.p; /* the arena may have moved */
    return 0;
}

/* Child accessors: a missing key or JSON null is "absent". */
static const cJSON *get(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return (v && !cJSON_IsNull(v)) ? v : NULL;
}

static int get_bool(struct ld *L, const cJSON *o, const char *k, bool dflt, bool *out,
                    const char *path)
{
    const cJSON *v = get(o, k);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsBool(v))
        return bad(L, ERR_INVALID, path, "field \"%s\" must be a boolean", k);
    *out = cJSON_IsTrue(v);
    return 0;
}

/* A string field: *s NULL when absent (and not required). */
static int get_string(struct ld *L, const cJSON *o, const char *k, bool required, const char **s,
                      const char *path)
{
    const cJSON *v = get(o, k);
    *s = NULL;
    if (!v) {
        if (required)
            return bad(L, ERR_INVALID, path, "field \"%s\" is missing", k);
        return 0;
    }
    if (!cJSON_IsString(v))
        return bad(L, ERR_INVALID, path, "field \"%s\" must be a string", k);
    *s = v->valuestring;
    return 0;
}

static int get_uint(struct ld *L, const cJSON *v, uint64_t max, uint64_t *out, const char *path)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > (double)max ||
        v->valuedouble != floor(v->valuedouble))
        return bad(L, ERR_INVALID, path, "must be an integer in [0, %llu]",
                   (unsigned long long)max);
    *out = (uint64_t)v->valuedouble;
    return 0;
}

/* The one character of a Metaspace replacement / Strip content. */
static int one_char(struct ld *L, const char *s, uint32_t *cp, const char *path)
{
    size_t n = strlen(s);
    if (n == 0)
        return bad(L, ERR_INVALID, path, "must be one character");
    size_t k = ucd_utf8_decode(s, n, cp);
    if (k != n)
        return bad(L, ERR_INVALID, path, "must be one character");
    return 0;
}

static const char *type_of(const cJSON *o)
{
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
    return (ty && cJSON_IsString(ty)) ? ty->valuestring : NULL;
}

static int need_type(struct ld *L, const cJSON *o, const char *path, const char **ty)
{
    if (!cJSON_IsObject(o))
        return bad(L, ERR_INVALID, path, "must be an object");
    *ty = type_of(o);
    if (!*ty)
        return bad(L, ERR_INVALID, path, "has no \"type\"");
    return 0;
}

/* Split / Replace pattern: {"String": "..."} or {"Regex": "..."}. */
static int load_pat(struct ld *L, const cJSON *o, struct tk_pat *p, const char *path)
{
    char sub[256];
    snprintf(sub, sizeof sub, "%s.pattern", path);
    const cJSON *pat = get(o, "pattern");
    if (!pat || !cJSON_IsObject(pat))
        return bad(L, ERR_INVALID, sub, "must be {\"String\": ...} or {\"Regex\": ...}");
    const cJSON *s = get(pat, "String"), *r = get(pat, "Regex");
    if ((!s && !r) || (s && !cJSON_IsString(s)) || (r && !cJSON_IsString(r)))
        return bad(L, ERR_INVALID, sub, "must be {\"String\": ...} or {\"Regex\": ...}");
    const char *src = s ? s->valuestring : r->valuestring;
    char why[200];
    int rc = tok_re_compile(src, strlen(src), s ? TOK_RE_LITERAL : 0, &p->re, why, sizeof why);
    if (rc) {
        p->re = NULL;
        return bad(L, rc == ERR_UNSUPPORTED ? ERR_UNSUPPORTED : ERR_INVALID, sub,
                   "regex cannot be compiled: %s", why);
    }
    return 0;
}

static int behavior(struct ld *L, const cJSON *o, enum tk_behavior dflt, enum tk_behavior *b,
                    const char *path)
{
    const char *s;
    char sub[256];
    snprintf(sub, sizeof sub, "%s.behavior", path);
    int rc = get_string(L, o, "behavior", false, &s, path);
    if (rc)
        return rc;
    if (!s)
        *b = dflt;
    else if (!strcmp(s, "Removed"))
        *b = TB_REMOVED;
    else if (!strcmp(s, "Isolated"))
        *b = TB_ISOLATED;
    else if (!strcmp(s, "MergedWithPrevious"))
        *b = TB_PREV;
    else if (!strcmp(s, "MergedWithNext"))
        *b = TB_NEXT;
    else if (!strcmp(s, "Contiguous"))
        *b = TB_CONTIGUOUS;
    else
        return bad(L, ERR_UNSUPPORTED, sub, "\"%.64s\" is not supported", s);
    return 0;
}

static int prepend_scheme(struct ld *L, const cJSON *o, enum tk_prepend *out, const char *path)
{
    const char *s;
    int rc = get_string(L, o, "prepend_scheme", false, &s, path);
    if (rc)
        return rc;
    if (!s) {
        /* Files from before prepend_scheme carry add_prefix_space instead. */
        bool aps;
        if ((rc = get_bool(L, o, "add_prefix_space", true, &aps, path)))
            return rc;
        *out = aps ? TK_PREPEND_ALWAYS : TK_PREPEND_NEVER;
        return 0;
    }
    if (!strcmp(s, "always"))
        *out = TK_PREPEND_ALWAYS;
    else if (!strcmp(s, "first"))
        *out = TK_PREPEND_FIRST;
    else if (!strcmp(s, "never"))
        *out = TK_PREPEND_NEVER;
    else {
        char sub[256];
        snprintf(sub, sizeof sub, "%s.prepend_scheme", path);
        return bad(L, ERR_UNSUPPORTED, sub, "\"%.64s\" is not supported", s);
    }
    return 0;
}

static int replacement(struct ld *L, const cJSON *o, uint32_t *cp, const char *path)
{
    const char *s;
    int rc = get_string(L, o, "replacement", false, &s, path);
    if (rc)
        return rc;
    if (!s) {
        *cp = 0x2581;
        return 0;
    }
    char sub[256];
    snprintf(sub, sizeof sub, "%s.replacement", path);
    return one_char(L, s, cp, sub);
}

/* Children of a Sequence: o[key] must be an array of objects. */
static int seq_items(struct ld *L, const cJSON *o, const char *key, const char *path,
                     const cJSON **arr, size_t *n)
{
    *arr = get(o, key);
    if (!*arr || !cJSON_IsArray(*arr))
        return bad(L, ERR_INVALID, path, "field \"%s\" must be an array", key);
    *n = (size_t)cJSON_GetArraySize(*arr);
    return 0;
}

/* ---- normalizers ---- */

static int load_norm(struct ld *L, const cJSON *o, struct tk_norm *nz, const char *path)
{
    const char *ty;
    int rc = need_type(L, o, path, &ty);
    if (rc)
        return rc;
    char tpath[256];
    snprintf(tpath, sizeof tpath, "%s.type", path);
    memset(nz, 0, sizeof *nz);
    if (!strcmp(ty, "Sequence")) {
        const cJSON *arr;
        size_t n;
        if ((rc = seq_items(L, o, "normalizers", path, &arr, &n)))
            return rc;
        nz->kind = TN_SEQ;
        nz->kids = xcalloc(n ? n : 1, sizeof *nz->kids);
        const cJSON *it;
        size_t i = 0;
        cJSON_ArrayForEach(it, arr)
        {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.normalizers[%zu]", path, i);
            nz->nkids = i + 1;
            if ((rc = load_norm(L, it, &nz->kids[i], sub)))
                return rc;
            i++;
        }
        nz->nkids = i;
        return 0;
    }
    if (!strcmp(ty, "NFC"))
        nz->kind = TN_NFC;
    else if (!strcmp(ty, "NFD"))
        nz->kind = TN_NFD;
    else if (!strcmp(ty, "NFKC"))
        nz->kind = TN_NFKC;
    else if (!strcmp(ty, "NFKD"))
        nz->kind = TN_NFKD;
    else if (!strcmp(ty, "Lowercase"))
        nz->kind = TN_LOWER;
    else if (!strcmp(ty, "StripAccents"))
        nz->kind = TN_STRIP_ACCENTS;
    else if (!strcmp(ty, "Strip")) {
        nz->kind = TN_STRIP;
        if ((rc = get_bool(L, o, "strip_left", true, &nz->left, path)) ||
            (rc = get_bool(L, o, "strip_right", true, &nz->right, path)))
            return rc;
    } else if (!strcmp(ty, "Replace")) {
        nz->kind = TN_REPLACE;
        const char *c;
        if ((rc = load_pat(L, o, &nz->pat, path)) ||
            (rc = get_string(L, o, "content", true, &c, path)) ||
            (rc = put_str(L, c, strlen(c), &nz->content)))
            return rc;
    } else if (!strcmp(ty, "Prepend")) {
        nz->kind = TN_PREPEND;
        const char *c;
        if ((rc = get_string(L, o, "prepend", true, &c, path)) ||
            (rc = put_str(L, c, strlen(c), &nz->content)))
            return rc;
    } else if (!strcmp(ty, "BertNormalizer")) {
        nz->kind = TN_BERT;
        bool sa_set = get(o, "strip_accents") != NULL, sa = false;
        if ((rc = get_bool(L, o, "clean_text", true, &nz->clean, path)) ||
            (rc = get_bool(L, o, "handle_chinese_chars", true, &nz->chinese, path)) ||
            (rc = get_bool(L, o, "lowercase", true, &nz->lower, path)) ||
            (rc = get_bool(L, o, "strip_accents", false, &sa, path)))
            return rc;
        nz->strip_accents = sa_set ? sa : nz->lower;
    } else
        return unsupported_type(L, tpath, ty);
    return 0;
}

static void free_norm(struct tk_norm *nz)
{
    for (size_t i = 0; i < nz->nkids; i++)
        free_norm(&nz->kids[i]);
    free(nz->kids);
    tok_re_free(nz->pat.re);
}

/* ---- pre-tokenizers ---- */

static int load_pre(struct ld *L, const cJSON *o, struct tk_pre *pt, const char *path)
{
    const char *ty;
    int rc = need_type(L, o, path, &ty);
    if (rc)
        return rc;
    char tpath[256];
    snprintf(tpath, sizeof tpath, "%s.type", path);
    memset(pt, 0, sizeof *pt);
    if (!strcmp(ty, "Sequence")) {
        const cJSON *arr;
        size_t n;
        if ((rc = seq_items(L, o, "pretokenizers", path, &arr, &n)))
            return rc;
        pt->kind = TP_SEQ;
        pt->kids = xcalloc(n ? n : 1, sizeof *pt->kids);
        const cJSON *it;
        size_t i = 0;
        cJSON_ArrayForEach(it, arr)
        {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.pretokenizers[%zu]", path, i);
            pt->nkids = i + 1;
            if ((rc = load_pre(L, it, &pt->kids[i], sub)))
                return rc;
            i++;
        }
        pt->nkids = i;
    } else if (!strcmp(ty, "ByteLevel")) {
        pt->kind = TP_BYTELEVEL;
        if ((rc = get_bool(L, o, "add_prefix_space", true, &pt->add_prefix_space, path)) ||
            (rc = get_bool(L, o, "use_regex", true, &pt->use_regex, path)))
            return rc;
    } else if (!strcmp(ty, "Split")) {
        pt->kind = TP_SPLIT;
        if ((rc = load_pat(L, o, &pt->pat, path)) ||
            (rc = behavior(L, o, TB_ISOLATED, &pt->behavior, path)) ||
            (rc = get_bool(L, o, "invert", false, &pt->invert, path)))
            return rc;
        if (!get(o, "behavior"))
            return bad(L, ERR_INVALID, path, "field \"behavior\" is missing");
    } else if (!strcmp(ty, "Metaspace")) {
        pt->kind = TP_METASPACE;
        if ((rc = replacement(L, o, &pt->repl, path)) ||
            (rc = prepend_scheme(L, o, &pt->prepend, path)) ||
            (rc = get_bool(L, o, "split", true, &pt->split, path)))
            return rc;
    } else if (!strcmp(ty, "Whitespace"))
        pt->kind = TP_WHITESPACE;
    else if (!strcmp(ty, "WhitespaceSplit"))
        pt->kind = TP_WSSPLIT;
    else if (!strcmp(ty, "BertPreTokenizer"))
        pt->kind = TP_BERT;
    else if (!strcmp(ty, "Digits")) {
        pt->kind = TP_DIGITS;
        if ((rc = get_bool(L, o, "individual_digits", false, &pt->individual, path)))
            return rc;
    } else if (!strcmp(ty, "Punctuation")) {
        pt->kind = TP_PUNCT;
        if ((rc = behavior(L, o, TB_ISOLATED, &pt->behavior, path)))
            return rc;
    } else
        return unsupported_type(L, tpath, ty);
    return 0;
}

static void free_pre(struct tk_pre *pt)
{
    for (size_t i = 0; i < pt->nkids; i++)
        free_pre(&pt->kids[i]);
    free(pt->kids);
    tok_re_free(pt->pat.re);
}

/* ---- decoders ---- */

static int load_dec(struct ld *L, const cJSON *o, struct tk_dec *dc, const char *path)
{
    const char *ty;
    int rc = need_type(L, o, path, &ty);
    if (rc)
        return rc;
    char tpath[256];
    snprintf(tpath, sizeof tpath, "%s.type", path);
    memset(dc, 0, sizeof *dc);
    const char *s;
    if (!strcmp(ty, "Sequence")) {
        const cJSON *arr;
        size_t n;
        if ((rc = seq_items(L, o, "decoders", path, &arr, &n)))
            return rc;
        dc->kind = TD_SEQ;
        dc->kids = xcalloc(n ? n : 1, sizeof *dc->kids);
        const cJSON *it;
        size_t i = 0;
        cJSON_ArrayForEach(it, arr)
        {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.decoders[%zu]", path, i);
            dc->nkids = i + 1;
            if ((rc = load_dec(L, it, &dc->kids[i], sub)))
                return rc;
            i++;
        }
        dc->nkids = i;
    } else if (!strcmp(ty, "ByteLevel"))
        dc->kind = TD_BYTELEVEL;
    else if (!strcmp(ty, "ByteFallback"))
        dc->kind = TD_BYTEFALLBACK;
    else if (!strcmp(ty, "Fuse"))
        dc->kind = TD_FUSE;
    else if (!strcmp(ty, "Metaspace")) {
        dc->kind = TD_METASPACE;
        if ((rc = replacement(L, o, &dc->repl, path)) ||
            (rc = prepend_scheme(L, o, &dc->prepend, path)))
            return rc;
    } else if (!strcmp(ty, "Strip")) {
        dc->kind = TD_STRIP;
        uint64_t a = 0, b = 0;
        const cJSON *st = get(o, "start"), *sp = get(o, "stop");
        char sub[256];
        if ((rc = get_string(L, o, "content", true, &s, path)))
            return rc;
        snprintf(sub, sizeof sub, "%s.content", path);
        if ((rc = one_char(L, s, &dc->repl, sub)))
            return rc;
        snprintf(sub, sizeof sub, "%s.start", path);
        if (st && (rc = get_uint(L, st, 1u << 20, &a, sub)))
            return rc;
        snprintf(sub, sizeof sub, "%s.stop", path);
        if (sp && (rc = get_uint(L, sp, 1u << 20, &b, sub)))
            return rc;
        dc->start = (size_t)a;
        dc->stop = (size_t)b;
    } else if (!strcmp(ty, "Replace")) {
        dc->kind = TD_REPLACE;
        if ((rc = load_pat(L, o, &dc->pat, path)) ||
            (rc = get_string(L, o, "content", true, &s, path)) ||
            (rc = put_str(L, s, strlen(s), &dc->a)))
            return rc;
    } else if (!strcmp(ty, "WordPiece")) {
        dc->kind = TD_WORDPIECE;
        if ((rc = get_string(L, o, "prefix", false, &s, path)) ||
            (rc = put_str(L, s ? s : "##", strlen(s ? s : "##"), &dc->a)) ||
            (rc = get_bool(L, o, "cleanup", true, &dc->cleanup, path)))
            return rc;
    } else if (!strcmp(ty, "BPEDecoder")) {
        dc->kind = TD_BPE;
        if ((rc = get_string(L, o, "suffix", false, &s, path)) ||
            (rc = put_str(L, s ? s : "</w>", strlen(s ? s : "</w>"), &dc->a)))
            return rc;
    } else if (!strcmp(ty, "CTC")) {
        dc->kind = TD_CTC;
        const char *w;
        if ((rc = get_string(L, o, "pad_token", false, &s, path)) ||
            (rc = get_string(L, o, "word_delimiter_token", false, &w, path)) ||
            (rc = put_str(L, s ? s : "<pad>", strlen(s ? s : "<pad>"), &dc->a)) ||
            (rc = put_str(L, w ? w : "|", strlen(w ? w : "|"), &dc->b)) ||
            (rc = get_bool(L, o, "cleanup", true, &dc->cleanup, path)))
            return rc;
    } else
        return unsupported_type(L, tpath, ty);
    return 0;
}

static void free_dec(struct tk_dec *dc)
{
    for (size_t i = 0; i < dc->nkids; i++)
        free_dec(&dc->kids[i]);
    free(dc->kids);
    tok_re_free(dc->pat.re);
}

/* ---- vocabulary tables ---- */

long tk_vocab_get(const struct tok *t, const char *s, size_t n)
{
    if (!t->vslot)
        return -1;
    uint64_t h = tk_hash(s, n);
    uint32_t i = (uint32_t)h & t->vmask, tag = (uint32_t)(h >> 32);
    for (;;) {
        uint64_t v = t->vslot[i];
        if (!v)
            return -1;
        /* The tag spares the two dependent loads (entry, then bytes) on a collision. */
        if ((uint32_t)(v >> 32) == tag) {
            uint32_t id = (uint32_t)v - 1;
            const struct tk_str *e = &t->vocab[id];
            if (e->len == n && memcmp(t->arena + e->off, s, n) == 0)
                return (long)id;
        }
        i = (i + 1) & t->vmask;
    }
}

static uint32_t pow2_for(size_t n)
{
    uint32_t c = 16;
    while (c < n * 2 + 1)
        c <<= 1;
    return c;
}

/* Builds the string -> id table over t->vocab (ids are the indices). A later duplicate
 * string takes the slot, as a Rust HashMap filled in order would. */
static void build_vocab_hash(struct tok *t)
{
    uint32_t cap = pow2_for(t->nvocab);
    t->vslot = xcalloc(cap, sizeof *t->vslot);
    t->vmask = cap - 1;
    t->vocab_count = 0;
    for (uint32_t id = 0; id < t->nvocab; id++) {
        const struct tk_str *e = &t->vocab[id];
        if (e->len == TK_NOSTR)
            continue;
        const char *s = t->arena + e->off;
        uint64_t h = tk_hash(s, e->len);
        uint64_t slot = (h & 0xFFFFFFFF00000000ULL) | (id + 1u);
        uint32_t i = (uint32_t)h & t->vmask;
        for (;;) {
            uint64_t v = t->vslot[i];
            if (!v) {
                t->vslot[i] = slot;
                t->vocab_count++;
                break;
            }
            const struct tk_str *o = &t->vocab[(uint32_t)v - 1];
            if ((v >> 32) == (slot >> 32) && o->len == e->len &&
                memcmp(t->arena + o->off, s, e->len) == 0) {
                t->vslot[i] = slot;
                break;
            }
            i = (i + 1) & t->vmask;
        }
    }
    t->mem += (size_t)cap * sizeof *t->vslot;
}

static void merge_put(struct tok *t, uint32_t a, uint32_t b, uint32_t rank, uint32_t nid)
{
    uint64_t key = (((uint64_t)a << 32) | b) + 1;
    uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & t->mmask;
    while (t->merge[i].key && t->merge[i].key != key)
        i = (i + 1) & t->mmask;
    t->merge[i] = (struct tk_merge){key, rank, nid};
}

/* A JSON string's bytes: in place when it has no escapes, else decoded into L->key. */
static int jstr(struct ld *L, const struct jval *v, const char **p, size_t *n)
{
    if (!v->esc) {
        *p = v->p;
        *n = v->n;
        return 0;
    }
    buf_reset(&L->key);
    if (jval_str(v, &L->key))
        return ERR_INVALID;
    *p = L->key.p ? L->key.p : "";
    *n = L->key.len;
    return 0;
}

/* JSON object {token: id} -> t->vocab, in two passes over the text. */
static int load_vocab_object(struct ld *L, const char *path)
{
    struct tok *t = L->t;
    if (!L->has_vocab || L->vocab.type != JT_OBJECT)
        return bad(L, ERR_INVALID, path, "must be an object of token: id");
    uint64_t maxid = 0;
    size_t n = 0;
    struct jiter it;
    struct jval k, v;
    int r;
    jscan_enter(&it, &L->vocab);
    while ((r = jscan_member(&it, &k, &v)) == 1) {
        int64_t id;
        if (jval_int_in(&v, 0, (int64_t)UINT32_MAX - 2, &id)) {
            const char *kp;
            size_t kn;
            if (jstr(L, &k, &kp, &kn))
                kp = "", kn = 0;
            return bad(L, ERR_INVALID, path, "[\"%.*s\"] must be an integer in [0, %u]",
                       (int)(kn > 40 ? 40 : kn), kp, UINT32_MAX - 2);
        }
        if ((uint64_t)id + 1 > maxid)
            maxid = (uint64_t)id + 1;
        n++;
    }
    if (r < 0)
        return bad(L, ERR_PARSE, path, "malformed JSON");
    if (maxid > (uint64_t)n * 4 + 1024)
        return bad(L, ERR_INVALID, path, "ids are too sparse (largest %llu for %zu tokens)",
                   (unsigned long long)(maxid - 1), n);
    t->nvocab = (uint32_t)maxid;
    t->vocab = xmalloc((maxid ? maxid : 1) * sizeof *t->vocab);
    for (uint64_t i = 0; i < maxid; i++)
        t->vocab[i].len = TK_NOSTR;
    jscan_enter(&it, &L->vocab);
    while (jscan_member(&it, &k, &v) == 1) {
        int64_t id;
        const char *kp;
        size_t kn;
        jval_int_in(&v, 0, (int64_t)UINT32_MAX - 2, &id);
        if (jstr(L, &k, &kp, &kn))
            return bad(L, ERR_INVALID, path, "has a key that is not valid JSON text");
        int rc = put_str(L, kp, kn, &t->vocab[id]);
        if (rc)
            return rc;
    }
    t->mem += (size_t)maxid * sizeof *t->vocab;
    build_vocab_hash(t);
    return 0;
}

static void byte_ids(struct tok *t)
{
    for (unsigned b = 0; b < 256; b++) {
        char s[8];
        snprintf(s, sizeof s, "<0x%02X>", b);
        long id = tk_vocab_get(t, s, 6);
        t->byte_id[b] = id < 0 ? UINT32_MAX : (uint32_t)id;
    }
}

static int load_bpe(struct ld *L, const cJSON *m)
{
    struct tok *t = L->t;
    int rc;
    const cJSON *dv = get(m, "dropout");
    if (dv && !(cJSON_IsNumber(dv) && dv->valuedouble == 0.0))
        return bad(L, ERR_UNSUPPORTED, "model.dropout",
                   "is not supported (must be null: dropout makes encoding random)");
    if ((rc = load_vocab_object(L, "model.vocab")))
        return rc;
    const char *s;
    if ((rc = get_bool(L, m, "byte_fallback", false, &t->byte_fallback, "model")) ||
        (rc = get_bool(L, m, "ignore_merges", false, &t->ignore_merges, "model")) ||
        (rc = get_bool(L, m, "fuse_unk", false, &t->fuse_unk, "model")))
        return rc;
    t->cont_prefix.len = t->eow_suffix.len = TK_NOSTR;
    if ((rc = get_string(L, m, "continuing_subword_prefix", false, &s, "model")))
        return rc;
    if (s && (rc = put_str(L, s, strlen(s), &t->cont_prefix)))
        return rc;
    if ((rc = get_string(L, m, "end_of_word_suffix", false, &s, "model")))
        return rc;
    if (s && (rc = put_str(L, s, strlen(s), &t->eow_suffix)))
        return rc;
    t->unk_id = -1;
    if ((rc = get_string(L, m, "unk_token", false, &s, "model")))
        return rc;
    if (s) {
        t->unk_id = tk_vocab_get(t, s, strlen(s));
        /* tokenizers fails only when the unknown token is needed; so do we. */
        if (t->unk_id < 0)
            t->unk_id = -2;
    }
    byte_ids(t);

    if (L->has_merges && L->merges.type != JT_ARRAY)
        return bad(L, ERR_INVALID, "model.merges", "must be an array");
    size_t n = 0;
    struct jiter it;
    struct jval e;
    if (L->has_merges) {
        jscan_enter(&it, &L->merges);
        int r;
        while ((r = jscan_elem(&it, &e)) == 1)
            n++;
        if (r < 0)
            return bad(L, ERR_PARSE, "model.merges", "malformed JSON");
    }
    /* Load factor up to 3/4: the merges table is the largest part of a loaded BPE. */
    uint32_t cap = 16;
    while (cap < n + n / 3 + 1)
        cap <<= 1;
    t->merge = xcalloc(cap, sizeof *t->merge);
    t->mmask = cap - 1;
    t->mem += (size_t)cap * 16;
    t->nmerges = n;
    size_t plen = t->cont_prefix.len == TK_NOSTR ? 0 : t->cont_prefix.len;
    struct buf cat, two;
    buf_init(&cat, 1u << 20);
    buf_init(&two, 1u << 20);
    uint32_t rank = 0;
    if (L->has_merges)
        jscan_enter(&it, &L->merges);
    while (L->has_merges && jscan_elem(&it, &e) == 1) {
        char sub[64];
        sub[0] = 0;
#define MERGE_PATH() (snprintf(sub, sizeof sub, "model.merges[%u]", rank), sub)
        const char *a, *b;
        size_t an, bn;
        struct jiter pi;
        struct jval x, y, z;
        buf_reset(&two);
        if (e.type == JT_STRING) {
            const char *sp, *str;
            size_t sn;
            if (jstr(L, &e, &str, &sn)) {
                buf_free(&cat);
                buf_free(&two);
                return bad(L, ERR_INVALID, MERGE_PATH(), "is not a valid string");
            }
            sp = memchr(str, ' ', sn);
            if (!sp || memchr(sp + 1, ' ', sn - (size_t)(sp + 1 - str))) {
                buf_free(&cat);
                buf_free(&two);
                return bad(L, ERR_INVALID, MERGE_PATH(), "must be \"left right\" (one space)");
            }
            buf_append(&two, str, sn);
            a = two.p;
            an = (size_t)(sp - str);
            b = two.p + an + 1;
            bn = sn - an - 1;
        } else if (e.type == JT_ARRAY && jscan_enter(&pi, &e) == 0 && jscan_elem(&pi, &x) == 1 &&
                   x.type == JT_STRING && jscan_elem(&pi, &y) == 1 && y.type == JT_STRING &&
                   jscan_elem(&pi, &z) == 0) {
            const char *xp, *yp;
            size_t xn, yn;
            if (jstr(L, &x, &xp, &xn) || buf_append(&two, xp, xn) || jstr(L, &y, &yp, &yn) ||
                buf_append(&two, yp, yn)) {
                buf_free(&cat);
                buf_free(&two);
                return bad(L, ERR_INVALID, MERGE_PATH(), "is not a valid pair of strings");
            }
            a = two.p;
            an = xn;
            b = two.p + xn;
            bn = yn;
        } else {
            buf_free(&cat);
            buf_free(&two);
            return bad(L, ERR_INVALID, MERGE_PATH(), "must be a string or a pair of strings");
        }
        long ia = tk_vocab_get(t, a, an), ib = tk_vocab_get(t, b, bn);
        if (ia < 0 || ib < 0) {
            buf_free(&cat);
            buf_free(&two);
            return bad(L, ERR_INVALID, MERGE_PATH(), "token \"%.*s\" is not in the vocabulary",
                       (int)(ia < 0 ? (an > 40 ? 40 : an) : (bn > 40 ? 40 : bn)), ia < 0 ? a : b);
        }
        buf_reset(&cat);
        buf_append(&cat, a, an);
        const char *pfx = plen ? tk_s(t, t->cont_prefix) : "";
        if (plen && bn >= plen && memcmp(b, pfx, plen) == 0)
            buf_append(&cat, b + plen, bn - plen);
        else
            buf_append(&cat, b, bn);
        long nid = tk_vocab_get(t, cat.p, cat.len);
        if (nid < 0) {
            buf_free(&cat);
            buf_free(&two);
            return bad(L, ERR_INVALID, MERGE_PATH(),
                       "merged token \"%.40s\" is not in the vocabulary", cat.p);
        }
        merge_put(t, (uint32_t)ia, (uint32_t)ib, rank, (uint32_t)nid);
        rank++;
    }
#undef MERGE_PATH
    buf_free(&cat);
    buf_free(&two);
    return 0;
}

static int load_wordpiece(struct ld *L, const cJSON *m)
{
    struct tok *t = L->t;
    int rc;
    if ((rc = load_vocab_object(L, "model.vocab")))
        return rc;
    const char *s;
    if ((rc = get_string(L, m, "unk_token", false, &s, "model")))
        return rc;
    t->unk_id = s ? tk_vocab_get(t, s, strlen(s)) : -1;
    if (t->unk_id < 0)
        t->unk_id = -2;
    if ((rc = get_string(L, m, "continuing_subword_prefix", false, &s, "model")))
        return rc;
    if ((rc = put_str(L, s ? s : "##", strlen(s ? s : "##"), &t->cont_prefix)))
        return rc;
    t->eow_suffix.len = TK_NOSTR;
    const cJSON *mx = get(m, "max_input_chars_per_word");
    uint64_t v = 100;
    if (mx && (rc = get_uint(L, mx, UINT32_MAX, &v, "model.max_input_chars_per_word")))
        return rc;
    t->max_chars = (size_t)v;
    return 0;
}

/* A JSON number as serde_json parses it without its float_roundtrip feature (which
 * tokenizers does not enable): the decimal digits into a u64 significand (digits past
 * u64 ignored), then one multiplication or division by a power of ten. That is off by one
 * unit in the last place for about one score in five, and Viterbi ties between equal sums
 * in another order depend on it, so Unigram scores must be read exactly this way. */
static double pow10_exact(int e)
{
    if (e <= 22) {
        double p = 1.0;
        for (int i = 0; i < e; i++)
            p *= 10.0; /* exact: every power up to 1e22 is a double */
        return p;
    }
    char s[8];
    snprintf(s, sizeof s, "1e%d", e);
    return strtod(s, NULL);
}
static double serde_f64(const char *p, size_t n)
{
    size_t i = 0;
    bool neg = i < n && p[i] == '-';
    if (neg)
        i++;
    uint64_t sig = 0;
    int exp = 0;
    bool over = false;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        unsigned dgt = (unsigned)(p[i] - '0');
        if (over || sig > (UINT64_MAX - dgt) / 10) {
            over = true;
            exp++;
        } else
            sig = sig * 10 + dgt;
    }
    if (i < n && p[i] == '.')
        for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
            unsigned dgt = (unsigned)(p[i] - '0');
            if (over || sig > (UINT64_MAX - dgt) / 10)
                over = true;
            else {
                sig = sig * 10 + dgt;
                exp--;
            }
        }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        bool eneg = i < n && p[i] == '-';
        if (i < n && (p[i] == '-' || p[i] == '+'))
            i++;
        long e = 0;
        for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
            if (e < 100000)
                e = e * 10 + (p[i] - '0');
        exp += (int)(eneg ? -e : e);
    }
    double f = (double)sig;
    for (;;) {
        int a = exp < 0 ? -exp : exp;
        if (a <= 308) {
            double pw = pow10_exact(a);
            f = exp >= 0 ? f * pw : f / pw;
            break;
        }
        if (f == 0.0 || exp >= 0)
            break;
        f /= 1e308;
        exp += 308;
    }
    return neg ? -f : f;
}

static int load_unigram(struct ld *L, const cJSON *m)
{
    struct tok *t = L->t;
    int rc;
    if (!L->has_vocab || L->vocab.type != JT_ARRAY)
        return bad(L, ERR_INVALID, "model.vocab", "must be an array of [piece, score]");
    size_t n = 0;
    struct jiter it, pi;
    struct jval e, x, y, z;
    int r;
    jscan_enter(&it, &L->vocab);
    while ((r = jscan_elem(&it, &e)) == 1)
        n++;
    if (r < 0)
        return bad(L, ERR_PARSE, "model.vocab", "malformed JSON");
    if (n >= UINT32_MAX)
        return bad(L, ERR_TOO_LARGE, "model.vocab", "has too many pieces");
    t->nvocab = (uint32_t)n;
    t->vocab = xmalloc((n ? n : 1) * sizeof *t->vocab);
    t->score = xmalloc((n ? n : 1) * sizeof *t->score);
    t->mem += n * (sizeof *t->vocab + sizeof *t->score);
    t->min_score = INFINITY;
    t->max_piece = 0;
    size_t i = 0;
    jscan_enter(&it, &L->vocab);
    while (jscan_elem(&it, &e) == 1) {
        char sub[64];
        snprintf(sub, sizeof sub, "model.vocab[%zu]", i);
        const char *p;
        size_t pn;
        if (e.type != JT_ARRAY || jscan_enter(&pi, &e) || jscan_elem(&pi, &x) != 1 ||
            x.type != JT_STRING || jscan_elem(&pi, &y) != 1 || y.type != JT_NUMBER ||
            jscan_elem(&pi, &z) != 0 || jstr(L, &x, &p, &pn))
            return bad(L, ERR_INVALID, sub, "must be [piece, score]");
        if ((rc = put_str(L, p, pn, &t->vocab[i])))
            return rc;
        t->score[i] = serde_f64(y.p, y.n);
        if (t->score[i] < t->min_score)
            t->min_score = t->score[i];
        if (pn > t->max_piece)
            t->max_piece = (uint32_t)pn;
        i++;
    }
    build_vocab_hash(t);
    const cJSON *u = get(m, "unk_id");
    t->unk_id = -1;
    if (u) {
        uint64_t id;
        if ((rc = get_uint(L, u, UINT32_MAX, &id, "model.unk_id")))
            return rc;
        if (id >= n)
            return bad(L, ERR_INVALID, "model.unk_id", "is not in the vocabulary");
        t->unk_id = (long)id;
    }
    if ((rc = get_bool(L, m, "byte_fallback", false, &t->byte_fallback, "model")))
        return rc;
    byte_ids(t);
    return 0;
}

static int load_model(struct ld *L, const cJSON *m)
{
    if (!m || !cJSON_IsObject(m))
        return bad(L, ERR_INVALID, "model", "must be an object");
    const char *ty = type_of(m);
    if (!ty) {
        /* Old files without "type": a BPE has merges, a WordPiece has none. */
        if (L->has_merges)
            ty = "BPE";
        else if (L->has_vocab && L->vocab.type == JT_ARRAY)
            ty = "Unigram";
        else
            ty = "WordPiece";
    }
    if (!strcmp(ty, "BPE")) {
        L->t->model = TM_BPE;
        return load_bpe(L, m);
    }
    if (!strcmp(ty, "WordPiece")) {
        L->t->model = TM_WORDPIECE;
        return load_wordpiece(L, m);
    }
    if (!strcmp(ty, "Unigram")) {
        L->t->model = TM_UNIGRAM;
        return load_unigram(L, m);
    }
    return unsupported_type(L, "model.type", ty);
}

/* ---- post-processors ---- */

static int tpl_special(struct ld *L, struct tk_tpl *p, const cJSON *pair, const char *path)
{
    /* ["[CLS]", 101] */
    uint64_t id;
    if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || !cJSON_IsString(pair->child))
        return bad(L, ERR_INVALID, path, "must be [token, id]");
    if (get_uint(L, pair->child->next, UINT32_MAX, &id, path))
        return L->d->code;
    p->is_seq = false;
    p->ids = xmalloc(sizeof *p->ids);
    p->ids[0] = (uint32_t)id;
    p->nids = 1;
    return 0;
}

static int load_post(struct ld *L, const cJSON *o, struct tk_post *pp, const char *path)
{
    const char *ty;
    int rc = need_type(L, o, path, &ty);
    if (rc)
        return rc;
    char tpath[256], sub[256];
    snprintf(tpath, sizeof tpath, "%s.type", path);
    memset(pp, 0, sizeof *pp);
    if (!strcmp(ty, "Sequence")) {
        const cJSON *arr;
        size_t n;
        if ((rc = seq_items(L, o, "processors", path, &arr, &n)))
            return rc;
        pp->kind = TQ_SEQ;
        pp->kids = xcalloc(n ? n : 1, sizeof *pp->kids);
        const cJSON *it;
        size_t i = 0;
        cJSON_ArrayForEach(it, arr)
        {
            snprintf(sub, sizeof sub, "%s.processors[%zu]", path, i);
            pp->nkids = i + 1;
            if ((rc = load_post(L, it, &pp->kids[i], sub)))
                return rc;
            i++;
        }
        pp->nkids = i;
    } else if (!strcmp(ty, "ByteLevel")) {
        pp->kind = TQ_NONE;
    } else if (!strcmp(ty, "BertProcessing") || !strcmp(ty, "RobertaProcessing")) {
        pp->kind = TQ_TEMPLATE;
        pp->tpl = xcalloc(3, sizeof *pp->tpl);
        pp->ntpl = 3;
        snprintf(sub, sizeof sub, "%s.cls", path);
        if ((rc = tpl_special(L, &pp->tpl[0], get(o, "cls"), sub)))
            return rc;
        pp->tpl[1].is_seq = true;
        snprintf(sub, sizeof sub, "%s.sep", path);
        if ((rc = tpl_special(L, &pp->tpl[2], get(o, "sep"), sub)))
            return rc;
    } else if (!strcmp(ty, "TemplateProcessing")) {
        pp->kind = TQ_TEMPLATE;
        const cJSON *single = get(o, "single"), *sp = get(o, "special_tokens");
        snprintf(sub, sizeof sub, "%s.single", path);
        if (!single || !cJSON_IsArray(single))
            return bad(L, ERR_INVALID, sub, "must be an array");
        size_t n = (size_t)cJSON_GetArraySize(single);
        pp->tpl = xcalloc(n ? n : 1, sizeof *pp->tpl);
        const cJSON *it;
        size_t i = 0;
        cJSON_ArrayForEach(it, single)
        {
            snprintf(sub, sizeof sub, "%s.single[%zu]", path, i);
            pp->ntpl = i + 1;
            const cJSON *sq = get(it, "Sequence"), *st = get(it, "SpecialToken");
            if (sq) {
                pp->tpl[i].is_seq = true;
            } else if (st) {
                const char *id;
                if ((rc = get_string(L, st, "id", true, &id, sub)))
                    return rc;
                const cJSON *e = sp ? cJSON_GetObjectItemCaseSensitive(sp, id) : NULL;
                const cJSON *ids = e ? get(e, "ids") : NULL;
                if (!ids || !cJSON_IsArray(ids))
                    return bad(L, ERR_INVALID, sub,
                               "special token \"%.40s\" is not in special_tokens", id);
                size_t k = (size_t)cJSON_GetArraySize(ids), j = 0;
                pp->tpl[i].ids = xmalloc((k ? k : 1) * sizeof(uint32_t));
                const cJSON *x;
                cJSON_ArrayForEach(x, ids)
                {
                    uint64_t v;
                    if ((rc = get_uint(L, x, UINT32_MAX, &v, sub)))
                        return rc;
                    pp->tpl[i].ids[j++] = (uint32_t)v;
                }
                pp->tpl[i].nids = j;
            } else
                return bad(L, ERR_INVALID, sub, "must be {\"Sequence\"} or {\"SpecialToken\"}");
            i++;
        }
        pp->ntpl = i;
    } else
        return unsupported_type(L, tpath, ty);
    return 0;
}

static void free_post(struct tk_post *pp)
{
    for (size_t i = 0; i < pp->ntpl; i++)
        free(pp->tpl[i].ids);
    free(pp->tpl);
    for (size_t i = 0; i < pp->nkids; i++)
        free_post(&pp->kids[i]);
    free(pp->kids);
}

/* ---- added tokens ---- */

/* Longer match text first; equal lengths keep file order. Insertion sort: buckets are
 * small, and qsort would need global state to reach the tokens. */
static void sort_bucket(const struct tok *t, uint32_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t x = v[i];
        size_t j = i;
        while (j > 0 && t->added[v[j - 1]].match.len < t->added[x].match.len) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* Index of added tokens by first byte, longest first, for one matcher. */
static void build_matcher(struct tok *t, bool normalized, uint32_t **idx, uint32_t start[257])
{
    uint32_t cnt[257] = {0};
    size_t n = 0;
    for (size_t i = 0; i < t->nadded; i++)
        if (t->added[i].normalized == normalized && t->added[i].match.len > 0) {
            cnt[(unsigned char)t->arena[t->added[i].match.off]]++;
            n++;
        }
    *idx = xmalloc((n ? n : 1) * sizeof **idx);
    start[0] = 0;
    for (int b = 0; b < 256; b++)
        start[b + 1] = start[b] + cnt[b];
    uint32_t fill[256];
    memcpy(fill, start, sizeof fill);
    for (size_t i = 0; i < t->nadded; i++)
        if (t->added[i].normalized == normalized && t->added[i].match.len > 0)
            (*idx)[fill[(unsigned char)t->arena[t->added[i].match.off]]++] = (uint32_t)i;
    for (int b = 0; b < 256; b++)
        sort_bucket(t, *idx + start[b], start[b + 1] - start[b]);
    t->mem += n * sizeof **idx;
}

static int load_added(struct ld *L, const cJSON *arr)
{
    struct tok *t = L->t;
    if (!arr) {
        t->added = NULL;
        t->nadded = 0;
        return 0;
    }
    if (!cJSON_IsArray(arr))
        return bad(L, ERR_INVALID, "added_tokens", "must be an array");
    size_t n = (size_t)cJSON_GetArraySize(arr);
    t->added = xcalloc(n ? n : 1, sizeof *t->added);
    t->mem += n * sizeof *t->added;
    /* Ids as tokenizers assigns them: a token already in the model keeps the model's id,
     * any other gets the next id after the model's vocabulary, in file order. */
    uint32_t next = t->vocab_count;
    const cJSON *it;
    size_t i = 0;
    int rc;
    cJSON_ArrayForEach(it, arr)
    {
        char path[64];
        snprintf(path, sizeof path, "added_tokens[%zu]", i);
        if (!cJSON_IsObject(it))
            return bad(L, ERR_INVALID, path, "must be an object");
        const char *c;
        bool special, lstrip, rstrip, sw, norm;
        if ((rc = get_string(L, it, "content", true, &c, path)) ||
            (rc = get_bool(L, it, "special", false, &special, path)) ||
            (rc = get_bool(L, it, "lstrip", false, &lstrip, path)) ||
            (rc = get_bool(L, it, "rstrip", false, &rstrip, path)) ||
            (rc = get_bool(L, it, "single_word", false, &sw, path)) ||
            (rc = get_bool(L, it, "normalized", !special, &norm, path)))
            return rc;
        size_t cn = strlen(c);
        if (cn == 0)
            continue;
        /* A repeated content updates the earlier token (same id). */
        size_t k;
        for (k = 0; k < t->nadded; k++)
            if (t->added[k].content.len == cn && !memcmp(tk_s(t, t->added[k].content), c, cn))
                break;
        struct tk_added *a = &t->added[k];
        if (k == t->nadded) {
            if ((rc = put_str(L, c, cn, &a->content)))
                return rc;
            long mid = tk_vocab_get(t, c, cn);
            a->id = mid >= 0 ? (uint32_t)mid : next++;
            t->nadded++;
        }
        a->special = special;
        a->lstrip = lstrip;
        a->rstrip = rstrip;
        a->single_word = sw;
        a->normalized = norm;
        a->match = a->content;
        i++;
    }
    return 0;
}

/* Normalized added tokens are searched for in their normalized form. */
static int normalize_added(struct ld *L)
{
    struct tok *t = L->t;
    if (!t->norm)
        return 0;
    struct buf out, tmp;
    buf_init(&out, 0);
    buf_init(&tmp, 0);
    for (size_t i = 0; i < t->nadded; i++) {
        struct tk_added *a = &t->added[i];
        if (!a->normalized)
            continue;
        buf_reset(&out);
        bool lost;
        /* The arena may move while we append: copy the content first. */
        char *c = xstrndup(tk_s(t, a->content), a->content.len);
        int rc = tk_normalize(t, t->norm, c, a->content.len, &out, &tmp, &lost);
        free(c);
        if (!rc && out.len)
            rc = put_str(L, out.p, out.len, &a->match);
        if (rc) {
            buf_free(&out);
            buf_free(&tmp);
            return rc < 0 ? rc : ERR_INVALID;
        }
        if (!out.len)
            a->match.len = 0;
        t->arena = L->arena.p;
    }
    buf_free(&out);
    buf_free(&tmp);
    return 0;
}

/* ---- top level ---- */

static void describe(struct tok *t)
{
    const char *m = t->model == TM_BPE ? "BPE" : t->model == TM_WORDPIECE ? "WordPiece" : "Unigram";
    if (t->model == TM_BPE)
        snprintf(t->desc, sizeof t->desc, "%s vocab=%u merges=%zu added=%zu", m, t->vocab_count,
                 t->nmerges, t->nadded);
    else
        snprintf(t->desc, sizeof t->desc, "%s vocab=%u added=%zu", m, t->vocab_count, t->nadded);
}

static int malformed(struct ld *L, const char *json, size_t off)
{
    long line = 1;
    for (size_t i = 0; i < off; i++)
        line += json[i] == '\n';
    return diag_set(L->d, ERR_PARSE, "%s:%ld: malformed JSON (byte %zu)", L->label, line, off);
}

/* One member's value parsed by cJSON, added to obj under the key. */
static int add_parsed(struct ld *L, cJSON *obj, const struct jval *k, const struct jval *v,
                      const char *json)
{
    const char *kp;
    size_t kn;
    if (jstr(L, k, &kp, &kn))
        return malformed(L, json, (size_t)(k->p - json));
    /* A string's span excludes its quotes. */
    const char *vp = v->type == JT_STRING ? v->p - 1 : v->p;
    size_t vn = v->type == JT_STRING ? v->n + 2 : v->n;
    cJSON *item = cJSON_ParseWithLength(vp, vn);
    if (!item) {
        const char *e = cJSON_GetErrorPtr();
        return malformed(L, json, (size_t)((e && e >= v->p && e <= v->p + v->n ? e : v->p) - json));
    }
    char *key = xstrndup(kp, kn);
    cJSON_AddItemToObject(obj, key, item);
    free(key);
    return 0;
}

/* The file's top level into a cJSON tree without model.vocab and model.merges, which stay
 * as spans in L for the table builders (a parse tree of a 150k-entry vocabulary would
 * cost more time than everything else together). */
static int split_json(struct ld *L, const char *json, size_t n, cJSON **out)
{
    struct jiter it, mi;
    struct jval k, v, mk, mv;
    buf_init(&L->key, 0);
    if (jscan_object(&it, json, n))
        return buf_free(&L->key), malformed(L, json, it.err_off);
    cJSON *root = cJSON_CreateObject();
    int r, rc = 0;
    while ((r = jscan_member(&it, &k, &v)) == 1) {
        if (jval_is(&k, "model") && v.type == JT_OBJECT) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddItemToObject(root, "model", m);
            jscan_enter(&mi, &v);
            while ((r = jscan_member(&mi, &mk, &mv)) == 1) {
                if (jval_is(&mk, "vocab")) {
                    L->vocab = mv;
                    L->has_vocab = mv.type != JT_NULL;
                } else if (jval_is(&mk, "merges")) {
                    L->merges = mv;
                    L->has_merges = mv.type != JT_NULL;
                } else if ((rc = add_parsed(L, m, &mk, &mv, json)))
                    break;
            }
            if (!rc && r < 0)
                rc = malformed(L, json, (size_t)(mi.base - json) + mi.err_off);
            if (rc)
                break;
        } else if ((rc = add_parsed(L, root, &k, &v, json)))
            break;
    }
    if (!rc && r < 0)
        rc = malformed(L, json, it.err_off);
    buf_free(&L->key);
    if (rc) {
        cJSON_Delete(root);
        return rc;
    }
    *out = root;
    return 0;
}

/* The file's sha256 is computed on a second thread while the tables are built: hashing
 * 10 MB in software is a third of the load time otherwise. */
struct sha_job {
    const char *p;
    size_t n;
    unsigned char sum[32];
};
static void *sha_thread(void *arg)
{
    struct sha_job *j = arg;
    mbedtls_sha256((const unsigned char *)j->p, j->n, j->sum, 0);
    return NULL;
}

int tok_load_mem(const char *json, size_t n, const char *label, struct tok **out, struct diag *d)
{
    *out = NULL;
    if (!label)
        label = "tokenizer.json";
    struct ld L = {.label = label, .d = d};
    struct sha_job sj = {.p = json, .n = n};
    pthread_t th;
    bool threaded = n > (1u << 20) && pthread_create(&th, NULL, sha_thread, &sj) == 0;
    cJSON *root = NULL;
    int prc = split_json(&L, json, n, &root);
    if (prc) {
        if (threaded)
            pthread_join(th, NULL);
        return prc;
    }
    struct tok *t = xcalloc(1, sizeof *t);
    for (int i = 0; i < 324; i++)
        t->blrev[i] = (int16_t)tk_char_byte((uint32_t)i);
    for (unsigned b = 0; b < 256; b++) {
        char u[4];
        t->bln[b] = (unsigned char)ucd_utf8_encode(tk_byte_char(b), u);
        memcpy(t->blmap[b], u, 2);
    }
    L.t = t;
    buf_init(&L.key, 0);
    buf_init(&L.arena, (size_t)UINT32_MAX - 1);
    buf_putc(&L.arena, '\0');
    int rc = 0;
    const cJSON *x;
    if (!cJSON_IsObject(root)) {
        rc = bad(&L, ERR_INVALID, "", "top level must be an object");
        goto out;
    }
    if ((x = get(root, "version")) && !(cJSON_IsString(x) && !strcmp(x->valuestring, "1.0"))) {
        rc = bad(&L, ERR_UNSUPPORTED, "version", "is not \"1.0\"");
        goto out;
    }
    if ((rc = load_model(&L, get(root, "model"))))
        goto out;
    t->arena = L.arena.p;
    if ((x = get(root, "normalizer"))) {
        t->norm = xcalloc(1, sizeof *t->norm);
        if ((rc = load_norm(&L, x, t->norm, "normalizer")))
            goto out;
    }
    if ((x = get(root, "pre_tokenizer"))) {
        t->pre = xcalloc(1, sizeof *t->pre);
        if ((rc = load_pre(&L, x, t->pre, "pre_tokenizer")))
            goto out;
    }
    if ((x = get(root, "post_processor")) && (rc = load_post(&L, x, &t->post, "post_processor")))
        goto out;
    if ((x = get(root, "decoder"))) {
        t->dec = xcalloc(1, sizeof *t->dec);
        if ((rc = load_dec(&L, x, t->dec, "decoder")))
            goto out;
    }
    t->arena = L.arena.p;
    if ((rc = load_added(&L, get(root, "added_tokens"))))
        goto out;
    t->arena = L.arena.p;
    if ((rc = normalize_added(&L)))
        goto out;
    t->arena = L.arena.p;
    build_matcher(t, false, &t->raw_idx, t->raw_start);
    build_matcher(t, true, &t->norm_idx, t->norm_start);
    t->total = t->nvocab;
    for (size_t i = 0; i < t->nadded; i++)
        if (t->added[i].id + 1 > t->total)
            t->total = t->added[i].id + 1;
    t->added_of_id = xmalloc((t->total ? t->total : 1) * sizeof *t->added_of_id);
    for (uint32_t i = 0; i < t->total; i++)
        t->added_of_id[i] = -1;
    for (size_t i = 0; i < t->nadded; i++)
        t->added_of_id[t->added[i].id] = (int32_t)i;
    t->mem += (size_t)t->total * sizeof *t->added_of_id;
out:
    cJSON_Delete(root);
    buf_free(&L.key);
    t->arena = L.arena.p;
    t->arena_len = L.arena.len;
    t->mem += L.arena.cap + sizeof *t;
    if (rc) {
        if (threaded)
            pthread_join(th, NULL);
        tok_free(t);
        return rc;
    }
    if (threaded)
        pthread_join(th, NULL);
    else
        sha_thread(&sj);
    for (int i = 0; i < 32; i++)
        snprintf(t->sha + 2 * i, 3, "%02x", sj.sum[i]);
    describe(t);
    *out = t;
    return 0;
}

int tok_load(const char *path, const char *label, struct tok **out, struct diag *d)
{
    *out = NULL;
    if (!label) {
        const char *s = strrchr(path, '/');
        label = s ? s + 1 : path;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return diag_set(d, ERR_IO, "%s: %s", path, strerror(errno));
    struct buf b;
    buf_init(&b, (size_t)1 << 31);
    char chunk[65536];
    size_t k;
    int rc = 0;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = buf_append(&b, chunk, k)))
            break;
    bool ioerr = ferror(f);
    fclose(f);
    if (rc || ioerr) {
        buf_free(&b);
        return rc ? diag_set(d, rc, "%s: larger than 2 GiB", path)
                  : diag_set(d, ERR_IO, "%s: read error", path);
    }
    rc = tok_load_mem(b.p ? b.p : "", b.len, label, out, d);
    buf_free(&b);
    return rc;
}

void tok_free(struct tok *t)
{
    if (!t)
        return;
    free(t->arena);
    free(t->vocab);
    free(t->vslot);
    free(t->merge);
    free(t->score);
    if (t->norm) {
        free_norm(t->norm);
        free(t->norm);
    }
    if (t->pre) {
        free_pre(t->pre);
        free(t->pre);
    }
    free_post(&t->post);
    if (t->dec) {
        free_dec(t->dec);
        free(t->dec);
    }
    free(t->added);
    free(t->raw_idx);
    free(t->norm_idx);
    free(t->added_of_id);
    free(t);
}

const char *tok_sha256(const struct tok *t)
{
    return t->sha;
}
const char *tok_describe(const struct tok *t)
{
    return t->desc;
}
size_t tok_memory(const struct tok *t)
{
    return t->mem;
}
size_t tok_vocab_size(const struct tok *t)
{
    return t->total;
}
bool tok_is_special(const struct tok *t, uint32_t id)
{
    return id < t->total && t->added_of_id[id] >= 0 && t->added[t->added_of_id[id]].special;
}
const char *tok_id_to_token(const struct tok *t, uint32_t id, size_t *len)
{
    if (id < t->total && t->added_of_id[id] >= 0) {
        /* A normalized added token reads back in its normalized form, as tokenizers'
         * id_to_token does. */
        const struct tk_added *a = &t->added[t->added_of_id[id]];
        struct tk_str s = a->normalized && a->match.len ? a->match : a->content;
        *len = s.len;
        return tk_s(t, s);
    }
    if (id < t->nvocab && t->vocab[id].len != TK_NOSTR) {
        *len = t->vocab[id].len;
        return tk_s(t, t->vocab[id]);
    }
    *len = 0;
    return NULL;
}
long tok_token_to_id(const struct tok *t, const char *s, size_t n)
{
    for (size_t i = 0; i < t->nadded; i++)
        if (t->added[i].content.len == n && !memcmp(tk_s(t, t->added[i].content), s, n))
            return t->added[i].id;
    return tk_vocab_get(t, s, n);
}
