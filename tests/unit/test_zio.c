#include "test.h"
#include "buf.h"
#include "zio.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
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

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    return size;
}

/* ZW_FRAMED: nothing of an open frame reaches the file (a kill mid-frame must not leave
 * a decodable cut line), however much was written; each ended frame does, whole. */
TEST(zio_framed_holds_the_open_frame)
{
    char path[512];
    snprintf(path, sizeof path, "%s/f.jsonl.zst", test_tmpdir());
    struct zwriter *w;
    struct diag d;
    REQUIRE(zw_open(&w, path, ZW_FRAMED, 1, &d) == 0);
    unsigned seed = 1;
    for (int i = 0; i < 200000; i++) { /* ~3 MB: past zstd's internal block buffers */
        char line[64];
        seed = seed * 1103515245u + 12345u;
        int k = snprintf(line, sizeof line, "line %d %u\n", i, seed);
        zw_write(w, line, (size_t)k);
    }
    CHECK_INT(file_size(path), 0);
    CHECK(zw_frame_held(w) > 0);
    REQUIRE(zw_end_frame(w) == 0);
    long one = file_size(path);
    CHECK(one > 0);
    CHECK_INT(zw_frame_held(w), 0);
    zw_write(w, "tail\n", 5);
    CHECK_INT(file_size(path), one);
    REQUIRE(zw_commit(w, &d) == 0);
    CHECK(file_size(path) > one);
}

/* zw_write_frame: each call is one whole frame on the file at once (a frame zw_write left
 * open is ended first, its lines before the new ones), and the file decodes in order. */
TEST(zio_write_frame_whole_frames)
{
    char path[512];
    snprintf(path, sizeof path, "%s/w.jsonl.zst", test_tmpdir());
    struct zwriter *w;
    struct diag d;
    REQUIRE(zw_open(&w, path, ZW_FRAMED, 1, &d) == 0);
    struct buf b;
    buf_init(&b, 0);
    long i = 0, sizes[4];
    size_t total = 0;
    for (int f = 0; f < 4; f++) {
        buf_reset(&b);
        /* 1, ~300 KB, ~3 MB (past the output buffer zw_open made), then 1 again */
        long lines = f == 0 || f == 3 ? 1 : f == 1 ? 30000 : 300000;
        for (long k = 0; k < lines; k++) {
            char line[32];
            int n = snprintf(line, sizeof line, "line %ld\n", i++);
            REQUIRE(buf_append(&b, line, (size_t)n) == 0);
        }
        total += b.len;
        if (f == 2) { /* an open frame of zw_write's comes first */
            REQUIRE(zw_write(w, b.p, b.len / 2) == 0);
            CHECK_INT(file_size(path), sizes[1]); /* still open: nothing of it written */
            REQUIRE(zw_write_frame(w, b.p + b.len / 2, b.len - b.len / 2) == 0);
        } else {
            REQUIRE(zw_write_frame(w, b.p, b.len) == 0);
        }
        CHECK_INT(zw_frame_held(w), 0);
        sizes[f] = file_size(path);
        CHECK(sizes[f] > (f ? sizes[f - 1] : 0));
    }
    CHECK_INT(zw_write_frame(w, "", 0), 0);
    CHECK_INT(file_size(path), sizes[3]);
    CHECK_INT((long)zw_bytes_in(w), (long)total);
    REQUIRE(zw_commit(w, &d) == 0);
    CHECK_INT(file_size(path), sizes[3]);
    buf_free(&b);
    long n = 0;
    CHECK_INT(count_lines(path, &n, &d), 0);
    CHECK_INT(n, i);
    /* Cut after the first two frames: the lines of those two, whole. */
    REQUIRE(truncate(path, sizes[1]) == 0);
    CHECK_INT(count_lines(path, &n, &d), 0);
    CHECK_INT(n, 30001);
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

/* Entries of dir other than "." and "..", for "nothing left behind" checks. */
static int count_entries(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "exit $(ls -A '%s' | wc -l)", dir);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Issue 17: an output that is not a regular file is written through or refused, never
 * replaced by a rename (as root, `pack -o /dev/full` replaced /dev/full). Fake device
 * nodes are made with mknod in the scratch dir (skipped when not root). */
TEST(zio_outputs_that_are_not_regular_files)
{
    const char *t = test_tmpdir();
    char p[512], q[512];
    struct diag d = {0};

    /* A FIFO: written through in place, the FIFO stays a FIFO. */
    snprintf(p, sizeof p, "%s/fifo", t);
    REQUIRE(mkfifo(p, 0644) == 0);
    int rfd = open(p, O_RDONLY | O_NONBLOCK);
    REQUIRE(rfd >= 0);
    REQUIRE(afile_write_all(p, "hello\n", 6, &d) == 0);
    char got[16] = {0};
    CHECK_INT(read(rfd, got, sizeof got), 6);
    CHECK_STR(got, "hello\n");
    close(rfd);
    struct stat st;
    REQUIRE(lstat(p, &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));

    /* A symlink: followed; the target is replaced atomically, the link stays a link. */
    snprintf(q, sizeof q, "%s/target", t);
    REQUIRE(afile_write_all(q, "old", 3, &d) == 0);
    snprintf(p, sizeof p, "%s/link", t);
    REQUIRE(symlink("target", p) == 0);
    REQUIRE(afile_write_all(p, "new", 3, &d) == 0);
    REQUIRE(lstat(p, &st) == 0);
    CHECK(S_ISLNK(st.st_mode));
    char *text = NULL;
    size_t len = 0;
    REQUIRE(zio_read_all(q, 100, &text, &len, &d) == 0);
    CHECK_MEM(text, len, "new", 3);
    free(text);
    /* A dangling symlink is refused. */
    snprintf(p, sizeof p, "%s/dangling", t);
    REQUIRE(symlink("nowhere", p) == 0);
    CHECK(afile_write_all(p, "x", 1, &d) == ERR_INVALID);
    CHECK(strstr(d.msg, "symbolic link to a missing file") != NULL);
    snprintf(q, sizeof q, "%s/nowhere", t);
    CHECK(access(q, F_OK) != 0);

    /* A directory is refused, by afile and by the early check. */
    snprintf(p, sizeof p, "%s/dir", t);
    REQUIRE(mkdir(p, 0755) == 0);
    CHECK(afile_write_all(p, "x", 1, &d) == ERR_INVALID);
    CHECK(strstr(d.msg, "is a directory; refusing to write over it") != NULL);
    CHECK(zio_out_check(p, &d) == ERR_INVALID);
    struct zwriter *w = NULL;
    CHECK(zw_open(&w, p, ZW_ATOMIC, 3, &d) == ERR_INVALID);

    if (geteuid() == 0) {
        /* A fake /dev/null (1,3): written through, still a device afterwards. */
        snprintf(p, sizeof p, "%s/null", t);
        REQUIRE(mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0);
        CHECK(afile_write_all(p, "x", 1, &d) == 0);
        REQUIRE(zw_open(&w, p, ZW_ATOMIC, 3, &d) == 0);
        zw_write(w, "abc", 3);
        CHECK(zw_commit(w, &d) == 0);
        REQUIRE(lstat(p, &st) == 0);
        CHECK(S_ISCHR(st.st_mode));
        /* A fake /dev/full (1,7): the write fails with the real cause and the node stays. */
        snprintf(p, sizeof p, "%s/full", t);
        REQUIRE(mknod(p, S_IFCHR | 0666, makedev(1, 7)) == 0);
        CHECK(afile_write_all(p, "x", 1, &d) == ERR_IO);
        CHECK(strstr(d.msg, "No space left on device") != NULL);
        REQUIRE(lstat(p, &st) == 0);
        CHECK(S_ISCHR(st.st_mode));
        /* A fake block device is refused. */
        snprintf(p, sizeof p, "%s/blk", t);
        REQUIRE(mknod(p, S_IFBLK | 0600, makedev(7, 200)) == 0);
        CHECK(afile_write_all(p, "x", 1, &d) == ERR_INVALID);
        CHECK(strstr(d.msg, "is a block device") != NULL);
        REQUIRE(lstat(p, &st) == 0);
        CHECK(S_ISBLK(st.st_mode));
    }
    /* Nothing but what the test made: no temporary file left anywhere. */
    CHECK_INT(count_entries(t), geteuid() == 0 ? 8 : 5);
}

/* Issue 17: a signal while a temporary file is open removes it before the process dies. */
TEST(zio_temporary_files_removed_on_signal)
{
    const char *t = test_tmpdir();
    char p[512];
    snprintf(p, sizeof p, "%s/out.json", t);
    static const int sigs[] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            signal(sigs[i], SIG_DFL);
            zio_cleanup_on_signals();
            struct afile a;
            struct diag d;
            if (afile_open(&a, p, &d))
                _exit(1);
            fputs("half", a.f);
            fflush(a.f);
            raise(sigs[i]);
            _exit(2); /* not reached */
        }
        int st = 0;
        REQUIRE(waitpid(pid, &st, 0) == pid);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == sigs[i]);
        CHECK_INT(count_entries(t), 0);
    }
}

/* The spill test's item i: "i:" and i % 70 letters, empty for every 7th. */
static int spill_item(int i, char *out, size_t n)
{
    static const char abc[] = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
                              "abcdefghijklmnopqrstuvwxyz";
    if (i % 7 == 0) {
        out[0] = 0;
        return 0;
    }
    return snprintf(out, n, "%d:%.*s", i, i % 70, abc);
}

/* A spill file gives back what was put, in any order, between puts too; it leaves no
 * file behind; a read past its end is an error, not garbage. */
TEST(zio_spill_roundtrip)
{
    char near[512];
    snprintf(near, sizeof near, "%s/inputs.json", test_tmpdir());
    struct zspill sp;
    struct diag d;
    REQUIRE(zspill_open(&sp, near, &d) == 0);
    CHECK(access(sp.path, F_OK) != 0); /* unlinked at once */
    enum { N = 3000 };
    uint64_t off[N], len[N];
    struct buf b;
    buf_init(&b, 0);
    char item[80];
    for (int i = 0; i < N; i++) {
        /* sizes 0..77, and every 100th item read back right after the put (a read
         * between two writes) */
        int k = spill_item(i, item, sizeof item);
        len[i] = (uint64_t)k;
        REQUIRE(zspill_put(&sp, item, (size_t)k, &off[i], &d) == 0);
        if (i % 100 == 0) {
            REQUIRE(zspill_get(&sp, off[i], len[i], &b, &d) == 0);
            CHECK_MEM(b.p, b.len, item, (size_t)k);
        }
    }
    for (int i = N; i-- > 0;) { /* backwards */
        int k = spill_item(i, item, sizeof item);
        REQUIRE(zspill_get(&sp, off[i], len[i], &b, &d) == 0);
        CHECK_MEM(b.p, b.len, item, (size_t)k);
        CHECK_INT(b.p[b.len], 0);
    }
    CHECK(zspill_get(&sp, off[N - 1], len[N - 1] + 1, &b, &d) < 0);
    buf_free(&b);
    zspill_close(&sp);
    char dir_has[600];
    snprintf(dir_has, sizeof dir_has, "%s.spill.%ld", near, (long)getpid());
    CHECK(access(dir_has, F_OK) != 0);
}
