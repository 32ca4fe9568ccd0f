/* Runs every registered unit test (or those whose name contains argv[1]) and ends with
 * "N passed, N failed". Exit status 1 when anything failed. */
#include "test.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static struct test_case *head;
static struct test_case *current;
static int current_failures;
static char tmpdir[256];

void test_register(struct test_case *t)
{
    t->next = head;
    head = t;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    current_failures++;
    fprintf(stderr, "  FAIL %s (%s:%d): ", current ? current->name : "?", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        rm_rf(sub);
    }
    closedir(d);
    rmdir(path);
}

const char *test_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/metronome-unit-%ld", base ? base : "/tmp",
                 (long)getpid());
        rm_rf(tmpdir);
        mkdir(tmpdir, 0700);
    }
    return tmpdir;
}

char *test_guard_copy(const void *data, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t span = (n + page - 1) / page * page + page;
    char *base = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        abort();
    mprotect(base + span - page, page, PROT_NONE);
    char *p = base + span - page - n;
    memcpy(p, data, n);
    return p;
}

void test_guard_free(char *p, size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t span = (n + page - 1) / page * page + page;
    munmap(p + n + page - span, span);
}

void test_each_cut_and_subst(const char *s, size_t n, const char *subst,
                             void (*fn)(const char *s, size_t n, void *ctx), void *ctx)
{
    for (size_t cut = 0; cut <= n; cut++)
        fn(s, cut, ctx);
    char *m = malloc(n + 1);
    if (!m)
        abort();
    for (size_t i = 0; i < n; i++)
        for (const char *c = subst; *c; c++) {
            memcpy(m, s, n);
            m[i] = *c;
            fn(m, n, ctx);
        }
    free(m);
}

/* Registration order is reversed; run in file order by reversing once. */
static struct test_case *reverse(struct test_case *t)
{
    struct test_case *r = NULL;
    while (t) {
        struct test_case *n = t->next;
        t->next = r;
        r = t;
        t = n;
    }
    return r;
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (struct test_case *t = reverse(head); t; t = t->next) {
        if (filter && !strstr(t->name, filter))
            continue;
        current = t;
        current_failures = 0;
        t->fn();
        if (tmpdir[0]) {
            rm_rf(tmpdir);
            tmpdir[0] = '\0';
        }
        if (current_failures) {
            failed++;
            printf("not ok %s\n", t->name);
        } else {
            passed++;
            if (getenv("TEST_VERBOSE"))
                printf("ok %s\n", t->name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
