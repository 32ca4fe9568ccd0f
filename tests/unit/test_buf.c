#include "buf.h"
#include "err.h"
#include "membyte.h"
#include "test.h"

#include <stdlib.h>

TEST(buf_append_and_cap)
{
    struct buf b;
    buf_init(&b, 10);
    CHECK_INT(buf_puts(&b, "hello"), 0);
    CHECK_INT(buf_printf(&b, "%d", 12345), 0);
    CHECK_STR(b.p, "hello12345");
    CHECK_INT(buf_putc(&b, 'x'), ERR_TOO_LARGE);
    CHECK_INT(b.len, 10);
    buf_consume(&b, 5);
    CHECK_STR(b.p, "12345");
    buf_free(&b);
}

TEST(buf_printf_long)
{
    struct buf b;
    buf_init(&b, 0);
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_INT(buf_printf(&b, "<%s>", big), 0);
    CHECK_INT(b.len, 601);
    CHECK(b.p[0] == '<' && b.p[600] == '>');
    char *p = buf_release(&b);
    CHECK(b.p == NULL);
    free(p);
}

/* membyte against memchr's contract: every length up to 40, every start offset within a
 * word, the byte absent or at every position (then again one position later, so the
 * first of two is the answer), among neighbours that a borrow across SWAR lanes could
 * mistake for it (c - 1, c + 1, c ^ 0x80, 0x00, 0xff). */
TEST(membyte_every_length_offset_and_position)
{
    static const int cs[] = {'\n', ':', 0x00, 0x01, 0x7f, 0x80, 0xff};
    unsigned char mem[64];
    long cases = 0;
    for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++) {
        unsigned char c = (unsigned char)cs[ci];
        const unsigned char fill[] = {(unsigned char)(c - 1), (unsigned char)(c + 1),
                                      (unsigned char)(c ^ 0x80), 0x00, 0xff};
        for (size_t off = 0; off < 8; off++)
            for (size_t n = 0; n <= 40; n++)
                for (size_t at = 0; at <= n; at++) { /* at == n: absent */
                    for (size_t i = 0; i < sizeof mem; i++) {
                        unsigned char f = fill[(i * 7 + off) % sizeof fill];
                        mem[i] = f == c ? (unsigned char)(c + 2) : f;
                    }
                    unsigned char *s = mem + off;
                    if (at < n)
                        s[at] = c;
                    if (at + 3 < n)
                        s[at + 3] = c;
                    s[n] = c; /* just past the end: never found */
                    const void *want = at < n ? s + at : NULL;
                    if (membyte(s, c, n) != want) {
                        CHECK(membyte(s, c, n) == want);
                        return;
                    }
                    cases++;
                }
    }
    CHECK(cases > 20000);
}
