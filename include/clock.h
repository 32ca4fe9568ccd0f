/*
 * clock: the two clocks metronome reads. Every interval is CLOCK_MONOTONIC nanoseconds;
 * wall time appears only through an anchor pair read together (run.json), so records
 * can be placed on the calendar without ever measuring with the wall clock.
 */
#ifndef METRONOME_CLOCK_H
#define METRONOME_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t clock_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A (monotonic, realtime) pair read back to back; the realtime read is bracketed by two
 * monotonic reads and the midpoint kept, so the pair's skew is at most half the gap. */
struct clock_anchor {
    int64_t mono_ns;
    int64_t real_ns;
};

static inline struct clock_anchor clock_anchor_now(void)
{
    int64_t a = clock_mono_ns();
    int64_t r = clock_real_ns();
    int64_t b = clock_mono_ns();
    struct clock_anchor an = {a + (b - a) / 2, r};
    return an;
}

#endif
