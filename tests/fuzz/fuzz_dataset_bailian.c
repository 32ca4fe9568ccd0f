/* Fuzzes the bailian_trace loader (pack --custom-dataset-type bailian_trace) on whole
 * input files: whatever the bytes, it packs a trace or fails with a message naming the
 * file, never both, and a packed trace reads back with every request in a session. */
#include "corpus.h"
#include "dataset.h"
#include "fuzz.h"
#include "tokenizer.h"
#include "trace.h"
#include "trace_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

FUZZ_TARGET(dataset_bailian)
{
    static struct corpus corpus;
    static bool ready;
    struct diag d = {0};
    if (!ready) {
        if (corpus_load_embedded(&corpus, tokenizer_approx(), &d))
            abort();
        ready = true;
    }
    int fd = memfd_create("bailian", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char in[64], out[256];
    snprintf(in, sizeof in, "/proc/self/fd/%d", fd);
    snprintf(out, sizeof out, "/tmp/metronome-fuzz-bailian-%d.jsonl.zst", (int)getpid());
    static const char *const models[] = {"m"};
    struct dataset_opts o;
    dataset_opts_default(&o);
    o.models = models;
    o.nmodels = 1;
    o.block_size = 16;
    o.request_count = 64; /* bounded work per input */
    struct trace_writer *w;
    struct tw_config cfg = {"chat", NULL,  false, NULL,         &corpus, 1,
                            false,  false, NULL,  TW_BUST_NONE, NULL};
    if (tw_open(&w, out, &cfg, &d)) {
        close(fd);
        return 0;
    }
    struct dataset ds;
    dataset_init(&ds, &o, &corpus, w);
    int rc = dataset_bailian(&ds, in, &d);
    dataset_release(&ds);
    close(fd);
    if (rc) {
        FUZZ_ASSERT(strstr(d.msg, "/proc/self/fd/") != NULL);
        tw_abort(w);
        return 0;
    }
    if (tw_commit(w, &d)) {
        FUZZ_ASSERT(d.msg[0] != '\0');
        return 0;
    }
    struct trace_reader *r;
    FUZZ_ASSERT(trace_open(&r, out, &d) == 0);
    struct trace_request q;
    while ((rc = trace_next(r, &q, &d)) == 1)
        FUZZ_ASSERT(q.session && *q.session && q.turn >= 0 && q.isl > 0);
    FUZZ_ASSERT(rc == 0);
    trace_close(r);
    unlink(out);
    return 0;
}
