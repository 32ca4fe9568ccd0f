/*
 * writer: the thread that moves serialized records from the workers to
 * records.jsonl.zst. Every COLLECT_NS (or sooner, when a worker's buffer passes
 * OUT_SOFT) it swaps each worker's out buffer for an empty one (the only lock workers
 * take, held for a pointer swap) and compresses what it took straight away, so records
 * never queue in this thread. The compressed frame is held in memory and written whole
 * when it ends, about every 500 ms (or at 1 MiB), so a kill -9 loses at most about a
 * second of finished records and the file decodes up to its last frame, every line
 * whole (docs/records-format.md).
 *
 * Memory: a worker holds at most OUT_HARD bytes of records before it waits for this
 * thread (engine.h), and this thread holds one swapped-out buffer at a time: what the
 * records take is bounded by the number of workers, never by the run's length.
 */
#include "engine.h"
#include "zio.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"

/* Short enough that a period's records (about 0.5 MB at 50,000 req/s) compress in about
 * a millisecond: no burst long enough to hold a worker off a shared core. */
#define COLLECT_MS 20
#define FRAME_NS   500000000
/* The open frame's compressed bytes wait in memory (ZW_FRAMED, so a kill never leaves a
 * cut line): a frame also ends when they reach this. */
#define FRAME_HELD ((size_t)1 << 20)

void writer_kick(struct engine *e)
{
    if (e->writer_evfd < 0)
        return;
    uint64_t one = 1;
    ssize_t k = write(e->writer_evfd, &one, sizeof one);
    (void)k;
}

/* Takes each worker's records and compresses them (or drops them after a write error:
 * the run reports that error, and workers must never wait on a writer that cannot
 * write). */
static void collect(struct engine *e, struct buf *spare)
{
    for (int i = 0; i < e->nw; i++) {
        struct worker *w = &e->w[i];
        pthread_mutex_lock(&w->out_mu);
        struct buf t = w->out;
        w->out = *spare;
        if (w->out_waiting)
            pthread_cond_signal(&w->out_cv);
        pthread_mutex_unlock(&w->out_mu);
        *spare = t;
        if (spare->len && !e->zw_err) {
            int rc = zw_write(e->zw, spare->p, spare->len);
            if (rc)
                e->zw_err = rc;
        }
        buf_reset(spare);
    }
}

void *writer_main(void *arg)
{
    struct engine *e = arg;
    /* A little below the workers: their timestamps come first on a shared core, but
     * not so far below (nice 19 got about 1.5 % of a saturated core) that records pile
     * up; if it still falls behind, the workers wait for it (back-pressure). zstd level 1
     * costs about 1.2 ns per byte, about 0.6 us per non-streaming record. */
    setpriority(PRIO_PROCESS, (id_t)gettid(), 5);
    struct buf spare;
    buf_init(&spare, 0);
    int64_t last_frame = clock_mono_ns();
    for (;;) {
        bool stopping = atomic_load(&e->writer_stop);
        collect(e, &spare);
        int64_t now = clock_mono_ns();
        if ((stopping || now - last_frame >= FRAME_NS || zw_frame_held(e->zw) >= FRAME_HELD) &&
            !e->zw_err) {
            int rc = zw_end_frame(e->zw);
            if (rc)
                e->zw_err = rc;
            last_frame = now;
        }
        if (stopping)
            break;
        struct pollfd p = {.fd = e->writer_evfd, .events = POLLIN};
        if (e->writer_evfd >= 0 && poll(&p, 1, COLLECT_MS) > 0) {
            uint64_t v;
            ssize_t k = read(e->writer_evfd, &v, sizeof v);
            (void)k;
        } else if (e->writer_evfd < 0) {
            usleep(COLLECT_MS * 1000);
        }
    }
    buf_free(&spare);
    return NULL;
}
