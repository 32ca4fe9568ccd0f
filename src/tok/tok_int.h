/*
 * tok_int: the tokenizer engine's private structures, shared by its source files
 * (tok_load.c builds them, tok_encode.c, tok_model.c, tok_text.c and tok_decode.c read
 * them). Everything hangs off struct tok and is immutable after tok_load; the per-caller
 * mutable state is struct tok_scratch, owned by a struct tok_ids.
 */
#ifndef METRONOME_TOK_INT_H
#define METRONOME_TOK_INT_H

#include "buf.h"
#include "tok.h"
#include "tok_regex.h"
#include "ucd.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* A BPE merge: key (left << 32 | right) + 1 (0 empty), its rank and the merged id. */
struct tk_merge {
    uint64_t key;
    uint32_t rank, nid;
};

/* A string in the tokenizer's arena. */
struct tk_str {
    uint32_t off, len;
};
#define TK_NOSTR UINT32_MAX /* len of an absent string / a hole in the vocabulary */

/* Pattern of Split / Replace: a literal or a regex (both compiled by tok_regex). */
struct tk_pat {
    struct tok_re *re;
};

enum tk_behavior { TB_REMOVED, TB_ISOLATED, TB_PREV, TB_NEXT, TB_CONTIGUOUS };

enum tk_norm_kind {
    TN_SEQ,
    TN_NFC,
    TN_NFD,
    TN_NFKC,
    TN_NFKD,
    TN_LOWER,
    TN_STRIP,
    TN_STRIP_ACCENTS,
    TN_REPLACE,
    TN_PREPEND,
    TN_BERT,
};
struct tk_norm {
    enum tk_norm_kind kind;
    bool left, right;                          /* Strip */
    bool clean, chinese, strip_accents, lower; /* BertNormalizer */
    struct tk_pat pat;                         /* Replace */
    struct tk_str content;                     /* Replace content, Prepend text */
    struct tk_norm *kids;                      /* Sequence; owned */
    size_t nkids;
};

enum tk_pre_kind {
    TP_SEQ,
    TP_BYTELEVEL,
    TP_SPLIT,
    TP_METASPACE,
    TP_WHITESPACE,
    TP_WSSPLIT,
    TP_DIGITS,
    TP_PUNCT,
    TP_BERT,
};
enum tk_prepend { TK_PREPEND_ALWAYS, TK_PREPEND_FIRST, TK_PREPEND_NEVER };
struct tk_pre {
    enum tk_pre_kind kind;
    bool add_prefix_space, use_regex; /* ByteLevel */
    struct tk_pat pat;                /* Split */
    enum tk_behavior behavior;        /* Split, Punctuation */
    bool invert;                      /* Split */
    uint32_t repl;                    /* Metaspace replacement code point */
    enum tk_prepend prepend;          /* Metaspace */
    bool split;                       /* Metaspace */
    bool individual;                  /* Digits */
    struct tk_pre *kids;              /* Sequence; owned */
    size_t nkids;
};

enum tk_dec_kind {
    TD_SEQ,
    TD_BYTELEVEL,
    TD_METASPACE,
    TD_BYTEFALLBACK,
    TD_FUSE,
    TD_STRIP,
    TD_REPLACE,
    TD_WORDPIECE,
    TD_BPE,
    TD_CTC,
};
struct tk_dec {
    enum tk_dec_kind kind;
    uint32_t repl;           /* Metaspace replacement; Strip content */
    enum tk_prepend prepend; /* Metaspace */
    size_t start, stop;      /* Strip */
    struct tk_pat pat;       /* Replace */
    struct tk_str a, b;      /* Replace content; WordPiece prefix; BPE suffix; CTC pad, delim */
    bool cleanup;            /* WordPiece, CTC */
    struct tk_dec *kids;
    size_t nkids;
};

/* One piece of a post-processor template: a special token's ids or the sequence. */
struct tk_tpl {
    bool is_seq;
    uint32_t *ids; /* owned */
    size_t nids;
};
enum tk_post_kind { TQ_NONE, TQ_TEMPLATE, TQ_SEQ };
struct tk_post {
    enum tk_post_kind kind;
    struct tk_tpl *tpl; /* TQ_TEMPLATE (Bert and Roberta become templates too) */
    size_t ntpl;
    struct tk_post *kids;
    size_t nkids;
};

enum tk_model_kind { TM_BPE, TM_WORDPIECE, TM_UNIGRAM };

struct tk_added {
    struct tk_str content; /* as written */
    struct tk_str match;   /* what is searched: content, or its normalized form */
    uint32_t id;
    bool special, lstrip, rstrip, single_word, normalized;
};

struct tok {
    char *arena; /* every string; owned */
    size_t arena_len;

    enum tk_model_kind model;
    /* Model vocabulary: id -> string, and a hash of strings -> id. */
    struct tk_str *vocab; /* [nvocab]; len TK_NOSTR for holes */
    uint32_t nvocab;      /* one past the largest model id */
    uint32_t vocab_count; /* distinct entries (get_vocab_size of the model) */
    uint64_t *vslot;      /* open addressing: (hash tag << 32) | (id + 1), 0 empty */
    uint32_t vmask;

    /* BPE */
    struct tk_merge *merge; /* open addressing over (left, right); one cache line per probe */
    uint32_t mmask;
    size_t nmerges;
    bool byte_fallback, ignore_merges, fuse_unk;
    long unk_id;               /* -1: none (BPE: dropped; WordPiece/Unigram: error) */
    struct tk_str cont_prefix; /* continuing_subword_prefix (BPE, WordPiece) */
    struct tk_str eow_suffix;  /* end_of_word_suffix */
    uint32_t byte_id[256];     /* <0xXX> ids for byte_fallback, UINT32_MAX if absent */
    /* WordPiece */
    size_t max_chars;
    /* Unigram */
    double *score;
    double min_score;
    uint32_t max_piece; /* longest piece in bytes */

    struct tk_norm *norm; /* NULL: none */
    struct tk_pre *pre;
    struct tk_post post;
    struct tk_dec *dec;

    struct tk_added *added;
    size_t nadded;
    /* For each first byte, the added tokens (indices) that may start with it, longest
     * first: raw (not normalized) and normalized matchers. */
    uint32_t *raw_idx, *norm_idx;
    uint32_t raw_start[257], norm_start[257];
    int32_t *added_of_id; /* [total] index into added, or -1 */
    uint32_t total;       /* vocab size with added tokens */

    char blmap[256][2]; /* byte-level alphabet: UTF-8 of each byte's character */
    unsigned char bln[256];
    int16_t blrev[324]; /* code point -> byte, -1 */

    size_t mem; /* heap bytes held */
    char sha[65];
    char desc[96];
};

/* A piece of text during encoding: bytes at scratch text[off..off+len). id >= 0 when it is
 * an added token already. first: its first character is at the input's offset 0
 * (Metaspace prepend_scheme "first"). */
struct tk_piece {
    uint32_t off, len;
    int32_t id;
    bool first;
};
struct tk_pieces {
    struct tk_piece *v;
    size_t n, cap;
};

#define TK_CACHE_SLOTS 16384u /* per-caller BPE word cache (power of two) */
struct tk_cache_ent {
    uint64_t h;
    uint32_t koff, klen; /* key bytes in cache arena */
    uint32_t voff, vlen; /* ids in cache id arena */
};

struct tok_scratch {
    const struct tok *owner;
    struct buf text;       /* all piece bytes, appended stage by stage */
    struct buf t1, t2;     /* normalizer ping-pong */
    struct tk_pieces p, q; /* current and next piece lists */
    /* BPE word state */
    struct tk_sym *sym;
    size_t symcap;
    uint64_t *heap;
    size_t heapcap;
    /* Unigram lattice */
    double *best;
    uint32_t *from, *bid;
    size_t latcap;
    /* BPE cache */
    struct tk_cache_ent *cache;
    struct buf ckeys;
    uint32_t *cids;
    size_t ncids, cidcap;
    size_t cache_used;
};

/* Hash of a byte string for the vocabulary table and the word cache. */
static inline uint64_t tk_hash(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xff51afd7ed558ccdULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x94d049bb133111ebULL;
    h ^= h >> 29;
    return h;
}

static inline const char *tk_s(const struct tok *t, struct tk_str s)
{
    return t->arena + s.off;
}

/* Model vocabulary lookup: id or -1. */
long tk_vocab_get(const struct tok *t, const char *s, size_t n);

/* Appends the pieces that encode bytes s[0..n) (valid UTF-8) under the model to ids. */
int tk_model_encode(const struct tok *t, struct tok_scratch *sc, const char *s, size_t n,
                    struct tok_ids *ids, struct diag *d);
/* Appends one id to ids. */
void tk_ids_push(struct tok_ids *ids, uint32_t id);

/* Applies normalizer nz to s[0..n) (not inside out), appending the result to out.
 * *lost_first: leading characters were removed (the result no longer starts at the
 * input's first character). */
int tk_normalize(const struct tok *t, const struct tk_norm *nz, const char *s, size_t n,
                 struct buf *out, struct buf *tmp, bool *lost_first);
/* Runs pre-tokenizer pt over the pieces sc->p (only those with id < 0), leaving the
 * result in sc->p. */
int tk_pretokenize(const struct tok *t, const struct tk_pre *pt, struct tok_scratch *sc);
void tk_pieces_push(struct tk_pieces *p, uint32_t off, uint32_t len, int32_t id, bool first);

/* Finds the matches of a pattern in s[0..n) as tokenizers' Pattern::find_matches does,
 * calling cb(off, len, is_match) in order over a cover of s. Returns 0 or a negative err. */
typedef void (*tk_match_cb)(void *ctx, size_t off, size_t len, bool is_match);
int tk_pat_matches(const struct tk_pat *p, const char *s, size_t n, tk_match_cb cb, void *ctx);

/* The byte-level alphabet: byte -> code point, and the reverse (-1 when not one). */
uint32_t tk_byte_char(unsigned b);
int tk_char_byte(uint32_t cp);

/* Unicode predicates as Rust's char methods and regex classes define them. */
static inline bool tk_is_ws(uint32_t c)
{
    return c < 128 ? (c == ' ' || (c >= 9 && c <= 13)) : ucd_white_space(c);
}
static inline bool tk_is_numeric(uint32_t c)
{
    return c < 128 ? (c >= '0' && c <= '9') : ucd_in(c, UCD_MASK_N);
}
/* Rust regex \w: Alphabetic, marks, Nd, Pc, Join_Control. */
static inline bool tk_is_word(uint32_t c)
{
    if (c < 128)
        return ((c | 32) >= 'a' && (c | 32) <= 'z') || (c >= '0' && c <= '9') || c == '_';
    /* Alphabetic is L + Nl + Other_Alphabetic; the Other_Alphabetic entries of the pinned
     * PropList.txt (15.1) that are not marks are these four So ranges (circled and
     * squared Latin letters). The marks are all in \p{M} already. */
    return ucd_in(c,
                  UCD_MASK_L | UCD_MASK_M | UCD_BIT(UCD_Nd) | UCD_BIT(UCD_Nl) | UCD_BIT(UCD_Pc)) ||
           c == 0x200C || c == 0x200D || (c >= 0x24B6 && c <= 0x24E9) ||
           (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) ||
           (c >= 0x1F170 && c <= 0x1F189);
}
static inline bool tk_is_punct(uint32_t c)
{
    if (c < 128)
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
               (c >= 123 && c <= 126);
    return ucd_in(c, UCD_MASK_P);
}

#endif
