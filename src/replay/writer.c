/*
 * writer: the thread that moves serialized records from the workers to
 * records.jsonl.zst. Every COLLECT_MS (or sooner, when a worker's buffer passes
 * OUT_SOFT) it swaps each worker's out buffer for an empty one (the only lock workers
 * take, held for a pointer swap) and appends what it took to the open frame's bytes.
 * The frame is compressed in one pass and written whole when it ends: about every
 * 500 ms, or when it holds FRAME_IN bytes (every ~30 ms at full closed-loop speed), so a
 * kill -9 loses at most about a second of finished records and the file decodes up to
 * its last frame, every line whole (docs/records-format.md).
 *
 * Memory: a worker holds at most OUT_HARD bytes of records before it waits for this
 * thread (engine.h), and this thread holds one swapped-out buffer and one frame of at
 * most FRAME_IN + OUT_HARD bytes (and zstd's output for it): what the records take is
 * bounded by the number of workers, never by the run's length.
 */
#include "engine.h"
#include "zio.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "clock.h"

#define COLLECT_MS 20
#define FRAME_NS   500000000
/* A frame also ends at this many uncompressed bytes: it compresses in about a millisecond,
 * no burst long enough to hold a worker off a shared core, and zstd level 1's window
 * (512 KiB) fits in it twice (8,000 closed-loop records: 414 KB, against 418 KB when one
 * frame held 1 MiB compressed). */
#define FRAME_IN ((size_t)1 << 20)

void writer_kick(struct engine *e)
{
    if (e->writer_evfd < 0)
        return;
    uint64_t one = 1;
    ssize_t k = write(e->writer_evfd, &one, sizeof one);
    (void)k;
}

/* Compresses and writes the frame's bytes (or drops them after a write error: the run
 * reports that error, and workers must never wait on a writer that cannot write). */
static void end_frame(struct engine *e, struct buf *frame)
{
    if (frame->len && !e->zw_err) {
        int rc = zw_write_frame(e->zw, frame->p, frame->len);
        if (rc)
            e->zw_err = rc;
    }
    buf_reset(frame);
}

/* Takes each worker's records into the open frame, ending it at FRAME_IN bytes. */
static void collect(struct engine *e, struct buf *spare, struct buf *frame)
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
        if (spare->len && !e->zw_err)
            (void)buf_append(frame, spare->p, spare->len); /* no cap set: cannot fail */
        buf_reset(spare);
        if (frame->len >= FRAME_IN)
            end_frame(e, frame);
    }
}

void *writer_main(void *arg)
{
    struct engine *e = arg;
    /* A little below the workers: their timestamps come first on a shared core, but
     * not so far below (nice 19 got about 1.5 % of a saturated core) that records pile
     * up; if it still falls behind, the workers wait for it (back-pressure). zstd level 1
     * costs about 1.4 ns per byte of records (700 MB/s here), about 0.8 us per
     * non-streaming record. */
    setpriority(PRIO_PROCESS, (id_t)gettid(), 5);
    struct buf spare, frame;
    buf_init(&spare, 0);
    buf_init(&frame, 0);
    int64_t last_frame = clock_mono_ns();
    for (;;) {
        bool stopping = atomic_load(&e->writer_stop);
        collect(e, &spare, &frame);
        int64_t now = clock_mono_ns();
        if (stopping || now - last_frame >= FRAME_NS) {
            end_frame(e, &frame);
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
    buf_free(&frame);
    return NULL;
}
