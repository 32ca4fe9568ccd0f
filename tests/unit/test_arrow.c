/* The Arrow IPC reader (src/trace/arrow.c) on the synthetic Baseten traces in
 * testdata/baseten (written by make.py with pyarrow): values as pyarrow wrote them, and no
 * truncation or corrupted byte of them reads outside the buffer. */
#include "arrow.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *p = malloc(1 << 20);
    *n = fread(p, 1, 1 << 20, f);
    fclose(f);
    return p;
}

/* Reads every value of every field the way the loader does; returns rows seen. */
static long walk(const struct arrow_file *a, struct arrow_batch *b)
{
    struct diag d;
    long rows = 0;
    for (size_t i = 0; i < a->nbatches; i++) {
        if (arrow_batch(a, i, b, &d))
            continue;
        rows += (long)b->rows;
        for (int f = 0; f < a->nf; f++)
            for (int64_t r = 0; r < b->c[f].len; r++) {
                int64_t v, l0, l1;
                const char *s;
                size_t n;
                (void)arrow_int(a, b, f, r, &v);
                if (arrow_str(a, b, f, r, &s, &n) == 0)
                    CHECK((const uint8_t *)s >= a->p && (const uint8_t *)s + n <= a->p + a->n);
                if (arrow_list(a, b, f, r, &l0, &l1) == 0)
                    CHECK(l0 <= l1 && l1 <= b->c[a->f[f].child].len);
            }
    }
    return rows;
}

struct want {
    const char *file, *col;
    int batch;
    int64_t row;
    const char *kind; /* "int", "str", "null", "list" */
    int64_t i;        /* int value; list length */
    const char *s;    /* string value */
};

static const struct want wants[] = {
    {"sessions.arrow", "timestamp_start_unix_ms", 0, 0, "int", 1700000000000, NULL},
    {"sessions.arrow", "timestamp_start_unix_ms", 1, 3, "int", 1700000021500, NULL},
    {"sessions.arrow", "prompt", 0, 1, "str", 0, "row 2 of session b"},
    {"sessions.arrow", "prompt", 1, 3, "str", 0, "row 8 of session c"},
    {"sessions.arrow", "provided_session_id", 0, 3, "null", 0, NULL},
    {"sessions.arrow", "provided_session_id", 1, 0, "str", 0, "b"},
    {"sessions.arrow", "total_hashes", 0, 2, "list", 3, NULL},
    {"sessions.arrow", "total_hashes", 0, 3, "list", 0, NULL},
    {"sessions.arrow", "total_hashes", 1, 0, "null", 0, NULL},
    {"sessions.arrow", "block_size", 1, 2, "int", 16, NULL},
    {"sessions.arrow", "output_tokens", 0, 1, "int", 0, NULL},
    {"sessions.arrow", "duration_ttft_ms", 0, 0, "null-int", 0, NULL}, /* 1.5: not integral */
    {"rows.arrow", "timestamp_start_unix_ms", 0, 0, "int", 1700000000040, NULL},
    {"rows.arrow", "prompt", 1, 1, "str", 0, "second"},
    {"rows.arrow", "input_tokens", 1, 0, "int", 1, NULL},
    {"rows.arrow", "output_tokens", 1, 1, "int", 20, NULL},
    {"bad_osl.arrow", "output_tokens", 1, 1, "int", -1, NULL},
};

TEST(arrow_reads_pyarrow_files)
{
    static struct arrow_file a;
    static struct arrow_batch b;
    struct diag d;
    for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++) {
        const struct want *w = &wants[i];
        char path[256];
        snprintf(path, sizeof path, "testdata/baseten/%s", w->file);
        size_t n;
        char *p = slurp(path, &n);
        CHECK(p != NULL);
        if (!p)
            continue;
        CHECK_INT(arrow_open(&a, p, n, &d), 0);
        CHECK_INT((long)a.nbatches, 2);
        int f = arrow_find(&a, w->col);
        CHECK(f >= 0);
        CHECK_INT(arrow_batch(&a, (size_t)w->batch, &b, &d), 0);
        int64_t v = 0, l0 = 0, l1 = 0;
        const char *s = NULL;
        size_t sn = 0;
        if (!strcmp(w->kind, "int")) {
            CHECK_INT(arrow_int(&a, &b, f, w->row, &v), 0);
            CHECK(v == w->i);
        } else if (!strcmp(w->kind, "str")) {
            CHECK_INT(arrow_str(&a, &b, f, w->row, &s, &sn), 0);
            CHECK_MEM(s, sn, w->s, strlen(w->s));
        } else if (!strcmp(w->kind, "list")) {
            CHECK_INT(arrow_list(&a, &b, f, w->row, &l0, &l1), 0);
            CHECK(l1 - l0 == w->i);
        } else if (!strcmp(w->kind, "null")) {
            CHECK(arrow_null(&a, &b, f, w->row));
            CHECK_INT(arrow_str(&a, &b, f, w->row, &s, &sn), ERR_INVALID);
        } else {
            CHECK(!arrow_null(&a, &b, f, w->row));
            CHECK_INT(arrow_int(&a, &b, f, w->row, &v), ERR_INVALID);
        }
        CHECK_INT(arrow_find(&a, "no_such_column"), -1);
        free(p);
    }
}

/* Every truncation (each split point of the file) is refused, and every single corrupted
 * byte either is refused or reads inside the buffer (the guard page catches overreads). */
TEST(arrow_truncations_and_corruptions)
{
    static struct arrow_file a;
    static struct arrow_batch b;
    struct diag d;
    size_t n;
    char *p = slurp("testdata/baseten/sessions.arrow", &n);
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK_INT(arrow_open(&a, p, n, &d), 0);
    CHECK_INT(walk(&a, &b), 8);
    for (size_t k = 0; k < n; k++) {
        char *g = test_guard_copy(p, k);
        CHECK(arrow_open(&a, g, k, &d) != 0);
        test_guard_free(g, k);
    }
    int opened = 0;
    for (size_t k = 0; k < n; k++) {
        for (int x = 0; x < 2; x++) {
            char *g = test_guard_copy(p, n);
            g[k] = (char)(x ? g[k] ^ 0xff : g[k] + 1);
            if (arrow_open(&a, g, n, &d) == 0) {
                opened++;
                walk(&a, &b);
            }
            test_guard_free(g, n);
        }
    }
    CHECK(opened > 0);
    free(p);
}
