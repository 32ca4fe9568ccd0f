/*
 * The unit-test harness. A test is `TEST(name) { ... }` in tests/unit/test_<module>.c;
 * it registers itself before main() runs. CHECK* records a failure and continues;
 * REQUIRE* records and returns from the test. The runner (tests/unit/runner.c) runs
 * every test whose name contains argv[1] (all without arguments) and ends with the line
 * "N passed, N failed".
 */
#ifndef METRONOME_TEST_H
#define METRONOME_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

struct test_case {
    const char *name;
    const char *file;
    void (*fn)(void);
    struct test_case *next;
};

void test_register(struct test_case *t);
/* Records a failure of the running test and prints where. */
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Path of a scratch directory for the running test (created, emptied per test). */
const char *test_tmpdir(void);
/* Guard-page buffer: n bytes placed right before an unmapped page, so reading past the
 * end faults. Returns the copy; release with test_guard_free. */
char *test_guard_copy(const void *data, size_t n);
void test_guard_free(char *p, size_t n);
/* Calls fn on every prefix of s[0..n) (every split point, the whole included), then on
 * every copy of it with one byte replaced by one of the bytes of subst (a C string). */
void test_each_cut_and_subst(const char *s, size_t n, const char *subst,
                             void (*fn)(const char *s, size_t n, void *ctx), void *ctx);

#define TEST(tname)                                                                                \
    static void test_fn_##tname(void);                                                             \
    static struct test_case test_case_##tname = {#tname, __FILE__, test_fn_##tname, NULL};         \
    __attribute__((constructor)) static void test_reg_##tname(void)                                \
    {                                                                                              \
        test_register(&test_case_##tname);                                                         \
    }                                                                                              \
    static void test_fn_##tname(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                     \
    } while (0)

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);                                   \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        if (va_ != vb_)                                                                            \
            test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, va_, vb_);             \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                                                 \
            test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,                    \
                      sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                                 \
    } while (0)

#define CHECK_MEM(a, alen, b, blen)                                                                \
    do {                                                                                           \
        size_t la_ = (alen), lb_ = (blen);                                                         \
        if (la_ != lb_ || memcmp((a), (b), la_) != 0)                                              \
            test_fail(__FILE__, __LINE__, "%s == %s: \"%.*s\" != \"%.*s\"", #a, #b, (int)la_,      \
                      (const char *)(a), (int)lb_, (const char *)(b));                             \
    } while (0)

#define CHECK_NEAR(a, b, eps)                                                                      \
    do {                                                                                           \
        double da_ = (double)(a), db_ = (double)(b);                                               \
        if (!(da_ - db_ <= (eps) && db_ - da_ <= (eps)))                                           \
            test_fail(__FILE__, __LINE__, "%s ~= %s: %.17g vs %.17g", #a, #b, da_, db_);           \
    } while (0)

#endif
