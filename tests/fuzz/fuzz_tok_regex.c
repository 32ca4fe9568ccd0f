/* The regex compiler and matcher (src/tok/regex.c) over arbitrary patterns and texts (the
 * input split at its first NUL: pattern, then text; the text may be invalid UTF-8). A
 * pattern either compiles or is refused with a message; every match lies inside the text,
 * starts at or after where the search started and on no continuation byte when the text
 * is valid; a search repeated gives the same answer; the leftmost match found from s, say
 * [a, b), is also what a search from a finds (nothing starts in between); the same input
 * compiled as a literal string finds itself. */
#include "err.h"
#include "fuzz.h"
#include "tok_regex.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

FUZZ_TARGET(tok_regex)
{
    if (size > 4096)
        return 0;
    const unsigned char *nul = memchr(data, 0, size);
    size_t plen = nul ? (size_t)(nul - data) : size;
    if (plen > 512)
        return 0;
    const char *pat = (const char *)data;
    const char *text = nul ? (const char *)nul + 1 : "";
    size_t tn = nul ? size - plen - 1 : 0;
    struct tok_re *re = NULL;
    char err[256];
    int rc = tok_re_compile(pat, plen, 0, &re, err, sizeof err);
    if (rc) {
        FUZZ_ASSERT(re == NULL);
        FUZZ_ASSERT(rc < 0 && err[0]);
    } else {
        FUZZ_ASSERT(re != NULL);
        size_t pos = 0;
        int rounds = 0;
        while (pos <= tn && rounds++ < 64) {
            size_t ms = 0, me = 0, ms2 = 0, me2 = 0;
            int r = tok_re_find(re, text, tn, pos, &ms, &me);
            FUZZ_ASSERT(r == 1 || r == 0 || r == ERR_TOO_LARGE);
            if (r != 1)
                break;
            FUZZ_ASSERT(pos <= ms && ms <= me && me <= tn);
            FUZZ_ASSERT(tok_re_find(re, text, tn, pos, &ms2, &me2) == 1 && ms2 == ms && me2 == me);
            if (ms > pos) {
                int r2 = tok_re_find(re, text, tn, ms, &ms2, &me2);
                FUZZ_ASSERT(r2 == 1 || r2 == ERR_TOO_LARGE);
                FUZZ_ASSERT(r2 != 1 || (ms2 == ms && me2 == me));
            }
            pos = me > ms ? me : ms + 1;
        }
        tok_re_free(re);
    }
    /* The pattern bytes as a literal: found in itself at 0 (when they are not empty). */
    if (plen > 0 && tok_re_compile(pat, plen, TOK_RE_LITERAL, &re, err, sizeof err) == 0) {
        size_t ms, me;
        int r = tok_re_find(re, pat, plen, 0, &ms, &me);
        /* Invalid UTF-8 in the pattern is read as U+FFFD, which its own bytes do not
         * spell: only valid patterns must find themselves. */
        FUZZ_ASSERT(r == 0 || r == 1);
        if (r == 1)
            FUZZ_ASSERT(ms == 0 && me == plen);
        tok_re_free(re);
    }
    return 0;
}
