/*
 * Fuzz harness registration. A harness file tests/fuzz/fuzz_<name>.c defines
 * FUZZ_TARGET(name) { ... data, size ... }. Built into the unit runner it registers for
 * the corpus regression; built with -DFUZZ_LIBFUZZER (clang -fsanitize=fuzzer) it
 * becomes LLVMFuzzerTestOneInput. Harnesses assert invariants with FUZZ_ASSERT (abort).
 */
#ifndef METRONOME_FUZZ_H
#define METRONOME_FUZZ_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

struct fuzz_target {
    const char *name;
    int (*fn)(const unsigned char *data, size_t size);
    struct fuzz_target *next;
};
void fuzz_register(struct fuzz_target *t);

#define FUZZ_ASSERT(c)                                                                             \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#ifdef FUZZ_LIBFUZZER
#define FUZZ_TARGET(fname)                                                                         \
    int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);                            \
    int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
#else
#define FUZZ_TARGET(fname)                                                                         \
    static int fuzz_fn_##fname(const unsigned char *data, size_t size);                            \
    static struct fuzz_target fuzz_t_##fname = {#fname, fuzz_fn_##fname, NULL};                    \
    __attribute__((constructor)) static void fuzz_reg_##fname(void)                                \
    {                                                                                              \
        fuzz_register(&fuzz_t_##fname);                                                            \
    }                                                                                              \
    static int fuzz_fn_##fname(const unsigned char *data, size_t size)
#endif

#endif
