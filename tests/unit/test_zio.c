#include "test.h"
#include "zio.h"

#include <stdlib.h>
#include <unistd.h>

static int count_lines(const char *path, long *n, struct diag *d)
{
    struct zreader *r;
    int rc = zr_open(&r, path, 1 << 20, d);
    if (rc)
        return rc;
    const char *line;
    size_t len;
    *n = 0;
    while ((rc = zr_getline(r, &line, &len, d)) == 1) {
        char want[32];
        int k = snprintf(want, sizeof want, "line %ld", *n);
        if ((size_t)k != len || memcmp(want, line, len))
            rc = -100;
        if (rc < 0)
            break;
        (*n)++;
    }
    zr_close(r);
    return rc;
}

TEST(zio_roundtrip_frames_and_truncation)
{
    char path[512];
    snprintf(path, sizeof path, "%s/t.jsonl.zst", test_tmpdir());
    struct zwriter *w;
    struct diag d;
    REQUIRE(zw_open(&w, path, ZW_ATOMIC, 3, &d) == 0);
    CHECK(access(path, F_OK) != 0); /* nothing under the final name before commit */
    for (int i = 0; i < 100000; i++) {
        char line[32];
        int k = snprintf(line, sizeof line, "line %d\n", i);
        zw_write(w, line, (size_t)k);
        if (i % 20000 == 0)
            zw_end_frame(w);
    }
    REQUIRE(zw_commit(w, &d) == 0);
    long n = 0;
    CHECK_INT(count_lines(path, &n, &d), 0);
    CHECK_INT(n, 100000);

    /* Truncate mid-frame: the reader must fail, naming the file. */
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    REQUIRE(truncate(path, size - 7) == 0);
    CHECK(count_lines(path, &n, &d) < 0);
    CHECK(strstr(d.msg, "truncated") != NULL || strstr(d.msg, "corrupt") != NULL);
}

TEST(zio_plain_and_last_line)
{
    char path[512];
    snprintf(path, sizeof path, "%s/p.txt", test_tmpdir());
    struct diag d;
    REQUIRE(afile_write_all(path, "line 0\nline 1", 13, &d) == 0);
    long n = 0;
    CHECK_INT(count_lines(path, &n, &d), 0);
    CHECK_INT(n, 2);
    char *all;
    size_t len;
    REQUIRE(zio_read_all(path, 100, &all, &len, &d) == 0);
    CHECK_INT(len, 13);
    free(all);
    CHECK_INT(zio_read_all(path, 5, &all, &len, &d), ERR_TOO_LARGE);
}

TEST(zio_long_line_capped)
{
    char path[512];
    snprintf(path, sizeof path, "%s/long.txt", test_tmpdir());
    size_t n = 1 << 20;
    char *big = malloc(n);
    memset(big, 'x', n);
    big[n - 1] = '\n';
    struct diag d;
    REQUIRE(afile_write_all(path, big, n, &d) == 0);
    free(big);
    struct zreader *r;
    REQUIRE(zr_open(&r, path, 1000, &d) == 0);
    const char *line;
    size_t len;
    CHECK_INT(zr_getline(r, &line, &len, &d), ERR_TOO_LARGE);
    CHECK(strstr(d.msg, ":1: line longer than 1000 bytes") != NULL);
    zr_close(r);
}
