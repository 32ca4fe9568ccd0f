/*
 * writer: the thread that moves serialized records from the workers to
 * records.jsonl.zst. It swaps each worker's out buffer (the only lock workers ever
 * take, held for a pointer swap) every 100 ms and writes one whole zstd frame about
 * every 500 ms, so a kill -9 loses at most about a second of finished records and the
 * file still decodes up to its last frame (docs/records-format.md).
 */
#include "engine.h"
#include "zio.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

#include "clock.h"

#define COLLECT_NS 100000000
#define FRAME_NS   500000000

static void collect(struct engine *e, struct buf *batch, struct buf *spare)
{
    for (int i = 0; i < e->nw; i++) {
        struct worker *w = &e->w[i];
        pthread_mutex_lock(&w->out_mu);
        struct buf t = w->out;
        w->out = *spare;
        pthread_mutex_unlock(&w->out_mu);
        *spare = t;
        if (spare->len) {
            buf_append(batch, spare->p, spare->len);
            buf_reset(spare);
        }
    }
}

static void flush(struct engine *e, struct buf *batch)
{
    if (!batch->len || e->zw_err)
        return;
    int rc = zw_write(e->zw, batch->p, batch->len);
    if (!rc)
        rc = zw_end_frame(e->zw);
    if (rc)
        e->zw_err = rc;
    buf_reset(batch);
}

void *writer_main(void *arg)
{
    struct engine *e = arg;
    /* Compression comes in bursts; the workers' timestamps matter more. */
    setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
    struct buf batch, spare;
    buf_init(&batch, 0);
    buf_init(&spare, 0);
    int64_t last_frame = clock_mono_ns();
    for (;;) {
        bool stopping = atomic_load(&e->writer_stop);
        collect(e, &batch, &spare);
        int64_t now = clock_mono_ns();
        if (stopping || now - last_frame >= FRAME_NS) {
            flush(e, &batch);
            last_frame = now;
        }
        if (stopping)
            break;
        struct timespec ts = {0, COLLECT_NS};
        nanosleep(&ts, NULL);
    }
    buf_free(&batch);
    buf_free(&spare);
    return NULL;
}
