/*
 * Fuzz regression: every harness in tests/fuzz/fuzz_*.c exports a `fuzz_<name>` entry with
 * libFuzzer's signature and registers itself with FUZZ_TARGET. This test replays each
 * saved input under testdata/fuzz/<name>/ through its harness. Real fuzzing builds the
 * same harnesses with clang -fsanitize=fuzzer (see docs/testing.md).
 */
#include "fuzz.h"
#include "test.h"

#include <dirent.h>
#include <stdlib.h>

static struct fuzz_target *targets;

void fuzz_register(struct fuzz_target *t)
{
    t->next = targets;
    targets = t;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *p = malloc(cap);
    size_t k;
    while (p && (k = fread(p + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap)
            p = realloc(p, cap *= 2);
    }
    fclose(f);
    *n = len;
    return p;
}

TEST(fuzz_corpus_regression)
{
    for (struct fuzz_target *t = targets; t; t = t->next) {
        char dir[512];
        snprintf(dir, sizeof dir, "testdata/fuzz/%s", t->name);
        DIR *d = opendir(dir);
        if (!d) {
            test_fail(__FILE__, __LINE__, "fuzz target %s has no corpus at %s", t->name, dir);
            continue;
        }
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            size_t len = 0;
            char *data = slurp(path, &len);
            if (!data)
                continue;
            char *g = test_guard_copy(data, len);
            t->fn((const unsigned char *)g, len);
            test_guard_free(g, len);
            free(data);
            n++;
        }
        closedir(d);
        if (n == 0)
            test_fail(__FILE__, __LINE__, "fuzz target %s: empty corpus", t->name);
    }
}
