/*
 * ucd: Unicode Character Database properties and normalization, for the tokenizer engine.
 * Every table is generated at build time by tools/ucdgen.c from the pinned UCD in
 * vendor/src/ucd (Debian trixie's unicode-data, Unicode UCD_VERSION_STRING); nothing is
 * hand-written. Lookups are two-stage tables: O(1), no allocation, thread-safe.
 *
 * UTF-8 functions take valid UTF-8 (the tokenizer engine replaces invalid sequences before
 * calling them); a malformed byte is treated as U+FFFD and consumes one byte, so nothing
 * reads past n whatever the input.
 */
#ifndef METRONOME_UCD_H
#define METRONOME_UCD_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* General_Category values (UnicodeData.txt field 2). Cn (unassigned) is 0. */
enum ucd_gc {
    UCD_Cn = 0,
    UCD_Lu,
    UCD_Ll,
    UCD_Lt,
    UCD_Lm,
    UCD_Lo,
    UCD_Mn,
    UCD_Mc,
    UCD_Me,
    UCD_Nd,
    UCD_Nl,
    UCD_No,
    UCD_Pc,
    UCD_Pd,
    UCD_Ps,
    UCD_Pe,
    UCD_Pi,
    UCD_Pf,
    UCD_Po,
    UCD_Sm,
    UCD_Sc,
    UCD_Sk,
    UCD_So,
    UCD_Zs,
    UCD_Zl,
    UCD_Zp,
    UCD_Cc,
    UCD_Cf,
    UCD_Cs,
    UCD_Co,
    UCD_GC_COUNT
};

/* Masks over (1u << gc), for "is this code point in \p{L}" style tests. */
#define UCD_BIT(gc) (1u << (gc))
#define UCD_MASK_L                                                                                 \
    (UCD_BIT(UCD_Lu) | UCD_BIT(UCD_Ll) | UCD_BIT(UCD_Lt) | UCD_BIT(UCD_Lm) | UCD_BIT(UCD_Lo))
#define UCD_MASK_LC (UCD_BIT(UCD_Lu) | UCD_BIT(UCD_Ll) | UCD_BIT(UCD_Lt))
#define UCD_MASK_M  (UCD_BIT(UCD_Mn) | UCD_BIT(UCD_Mc) | UCD_BIT(UCD_Me))
#define UCD_MASK_N  (UCD_BIT(UCD_Nd) | UCD_BIT(UCD_Nl) | UCD_BIT(UCD_No))
#define UCD_MASK_P                                                                                 \
    (UCD_BIT(UCD_Pc) | UCD_BIT(UCD_Pd) | UCD_BIT(UCD_Ps) | UCD_BIT(UCD_Pe) | UCD_BIT(UCD_Pi) |     \
     UCD_BIT(UCD_Pf) | UCD_BIT(UCD_Po))
#define UCD_MASK_S (UCD_BIT(UCD_Sm) | UCD_BIT(UCD_Sc) | UCD_BIT(UCD_Sk) | UCD_BIT(UCD_So))
#define UCD_MASK_Z (UCD_BIT(UCD_Zs) | UCD_BIT(UCD_Zl) | UCD_BIT(UCD_Zp))
#define UCD_MASK_C                                                                                 \
    (UCD_BIT(UCD_Cc) | UCD_BIT(UCD_Cf) | UCD_BIT(UCD_Cs) | UCD_BIT(UCD_Co) | UCD_BIT(UCD_Cn))

/* "Unicode 15.1.0": the version of the UCD the tables were generated from. */
extern const char ucd_version[];

/* General category of cp (any value; > U+10FFFF is Cn). */
enum ucd_gc ucd_gc(uint32_t cp);
static inline bool ucd_in(uint32_t cp, uint32_t mask)
{
    return (mask >> ucd_gc(cp)) & 1u;
}
/* White_Space from PropList.txt (== Oniguruma's Unicode \s set). */
bool ucd_white_space(uint32_t cp);
/* Alphabetic from DerivedCoreProperties.txt. */
bool ucd_alphabetic(uint32_t cp);
/* Oniguruma's Unicode word set (its CR_Word, which \w means inside a bracket class):
 * Alphabetic, Mark, Decimal_Number, Connector_Punctuation. Not "Letter|Mark|Number|Pc" as
 * its doc/RE says: measured against tokenizers' Oniguruma on every code point. (A bare \w
 * also takes U+00B2 U+00B3 U+00B9 U+00BC..U+00BE from Oniguruma's Latin-1 table: see
 * src/tok/regex.c.) */
bool ucd_onig_word(uint32_t cp);
/* Canonical_Combining_Class (0 for starters). */
unsigned ucd_ccc(uint32_t cp);

/* Full lowercase mapping as Rust's char::to_lowercase: UnicodeData's simple mapping,
 * replaced by SpecialCasing.txt's unconditional entries (U+0130 -> U+0069 U+0307).
 * Writes 1..3 code points to out, returns how many (cp itself when it has no mapping). */
size_t ucd_to_lower(uint32_t cp, uint32_t out[3]);
/* Simple case folding (CaseFolding.txt statuses C and S), as used for (?i) matching. */
uint32_t ucd_fold(uint32_t cp);
/* Next code point with the same simple case folding, cycling back to cp (cp itself when it
 * has no case variants): walks the set of case-insensitive equivalents of cp. */
uint32_t ucd_fold_next(uint32_t cp);

/* The code points that have case variants (ucd_fold_next(cp) != cp), ascending; *n gets
 * the count. Static storage. */
const uint32_t *ucd_fold_list(size_t *n);

/* Full (recursive) decomposition of cp, canonical only or compatibility too, Hangul
 * syllables algorithmically. Writes up to UCD_DECOMP_MAX code points to out and returns
 * the count; 0 when cp does not decompose. */
#define UCD_DECOMP_MAX 18
size_t ucd_decompose(uint32_t cp, bool compat, uint32_t out[UCD_DECOMP_MAX]);
/* Primary composite of the pair (a, b) (canonical composition, exclusions applied, Hangul
 * algorithmic), or 0 when they do not compose. */
uint32_t ucd_compose(uint32_t a, uint32_t b);

/* A Unicode version as a number: UCD_V(9, 0). */
#define UCD_V(major, minor) ((unsigned)(major) << 8 | (unsigned)(minor))
/* The Unicode version that assigned cp (DerivedAge.txt) as UCD_V(...); 0 if unassigned. */
unsigned ucd_age(uint32_t cp);
/* The normalization data of the PyPI/Rust `tokenizers` library: its
 * unicode-normalization-alignments crate has Unicode 9.0 tables (measured: every
 * decomposition and combining class added in 10.0 or later is missing there). */
#define UCD_NF_TOKENIZERS UCD_V(9, 0)
/* No cap: the full UCD the tables come from. */
#define UCD_NF_LATEST 0xFFFFu

enum ucd_nf { UCD_NFC, UCD_NFD, UCD_NFKC, UCD_NFKD };
/* Appends the normalization form f of the UTF-8 text s[0..n) to out (UAX #15: full
 * decomposition, canonical ordering, canonical composition for NFC/NFKC).
 * 0 or ERR_TOO_LARGE (out's cap). Allocates only for a run of more than 128 combining
 * marks in a row. */
int ucd_normalize(enum ucd_nf f, const char *s, size_t n, struct buf *out);
/* As ucd_normalize with the normalization data of Unicode version `upto` (UCD_V): code
 * points assigned later have no decomposition, combining class 0 and compose with nothing,
 * exactly as in tables of that version (Unicode's normalization stability policy freezes
 * the data of assigned code points). UCD_NF_TOKENIZERS reproduces `tokenizers`. */
int ucd_normalize_upto(enum ucd_nf f, unsigned upto, const char *s, size_t n, struct buf *out);
/* Appends the lowercase of s[0..n) (ucd_to_lower per code point; no final-sigma context,
 * as Rust's char::to_lowercase, which tokenizers' Lowercase normalizer uses). */
int ucd_lowercase(const char *s, size_t n, struct buf *out);

/* Decodes one code point from s[0..n) (n >= 1) into *cp; returns the bytes used (1..4).
 * Malformed input gives U+FFFD and 1. */
static inline size_t ucd_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c < 0xE0 && n >= 2 && (p[1] & 0xC0) == 0x80) {
        *cp = ((uint32_t)(c & 0x1F) << 6) | (p[1] & 0x3Fu);
        return 2;
    }
    if (c >= 0xE0 && c < 0xF0 && n >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
        uint32_t v = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3Fu);
        if (v >= 0x800 && (v < 0xD800 || v > 0xDFFF)) {
            *cp = v;
            return 3;
        }
    }
    if (c >= 0xF0 && c < 0xF5 && n >= 4 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
        (p[3] & 0xC0) == 0x80) {
        uint32_t v = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
                     ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3Fu);
        if (v >= 0x10000 && v <= 0x10FFFF) {
            *cp = v;
            return 4;
        }
    }
    *cp = 0xFFFD;
    return 1;
}
/* Encodes cp (<= U+10FFFF) as UTF-8 into out; returns 1..4. */
size_t ucd_utf8_encode(uint32_t cp, char out[4]);

#endif
