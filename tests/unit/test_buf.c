#include "buf.h"
#include "err.h"
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
