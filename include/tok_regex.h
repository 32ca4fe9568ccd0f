/*
 * tok_regex: the regular expressions of Hugging Face tokenizer.json files (Split and
 * ByteLevel pre-tokenizers), with the semantics tokenizers gets from Oniguruma
 * (ONIG_SYNTAX_ONIGURUMA, UTF-8, no options): leftmost match, alternatives tried in order,
 * backtracking quantifiers. docs/tokenizers.md ("Regex dialect") lists what is accepted;
 * anything else is a compile error with a one-line reason.
 *
 * A compiled regex is immutable: tok_re_find is reentrant and thread-safe on a shared
 * regex, and allocates nothing unless a match needs more than its on-stack backtracking
 * room (long runs of nested groups, never the patterns real tokenizers ship).
 */
#ifndef METRONOME_TOK_REGEX_H
#define METRONOME_TOK_REGEX_H

#include <stddef.h>

struct tok_re;

/* Compile flags. */
#define TOK_RE_LITERAL 1u /* the pattern is a plain string (Split's {"String": ...}) */
#define TOK_RE_ICASE   2u /* as if the pattern started with (?i) */

/* Compiles pattern[0..len) (UTF-8) into *out (caller frees with tok_re_free).
 * 0, or ERR_PARSE / ERR_UNSUPPORTED / ERR_TOO_LARGE with a one-line reason in
 * err[0..errlen) such as "unsupported: lookbehind (?<=...) at offset 3". */
int tok_re_compile(const char *pattern, size_t len, unsigned flags, struct tok_re **out, char *err,
                   size_t errlen);
void tok_re_free(struct tok_re *re);

/* Finds the leftmost match in text[0..n) starting at or after byte offset start (which must
 * be on a code point boundary; text is valid UTF-8). Anchors and lookaheads see the whole
 * text[0..n), so ^ at start > 0 matches only after a newline, as in Oniguruma's search.
 * Returns 1 with the match in [*ms, *me) (possibly empty), 0 when there is none, or
 * ERR_TOO_LARGE when the match gave up (more backtracking steps than Oniguruma's default
 * retry limit, 10^7: catastrophic patterns fail instead of hanging). */
int tok_re_find(const struct tok_re *re, const char *text, size_t n, size_t start, size_t *ms,
                size_t *me);

#endif
