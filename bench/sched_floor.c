/*
 * sched_floor: the schedule accuracy a perfect sender could have on this machine. One
 * thread spins on CLOCK_MONOTONIC for SECONDS and, for each instant of a constant RATE
 * schedule, notes how late it first saw the clock pass it: no system call, no socket,
 * no other thread of ours, so what it reports is what the machine (hypervisor, interrupts,
 * other tasks) takes from a thread that never sleeps. bench/replay_arrival.sh prints it
 * beside metronome's server-seen lateness: no client can beat this floor here.
 *   sched_floor RATE SECONDS   ->  one JSON line
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    double rate = argc > 1 ? atof(argv[1]) : 10000, secs = argc > 2 ? atof(argv[2]) : 10;
    if (rate <= 0 || secs <= 0 || rate * secs > 1e8) {
        fprintf(stderr, "usage: sched_floor RATE SECONDS (RATE x SECONDS <= 10^8)\n");
        return 2;
    }
    size_t n = (size_t)(rate * secs);
    int64_t *late = malloc(n * sizeof *late);
    if (!late)
        return 1;
    /* stalls: gaps between two clock reads of the spinning loop, by size */
    long gaps[4] = {0}; /* > 50 us, > 100 us, > 500 us, > 1 ms */
    int64_t lost = 0, maxgap = 0;
    int64_t t0 = now_ns() + 1000000, prev = now_ns();
    for (size_t k = 0; k < n;) {
        int64_t t = now_ns(), g = t - prev;
        prev = t;
        if (g > 50000) {
            lost += g;
            gaps[0]++;
            gaps[1] += g > 100000;
            gaps[2] += g > 500000;
            gaps[3] += g > 1000000;
            if (g > maxgap)
                maxgap = g;
        }
        /* every instant that passed since the last look is sent now */
        while (k < n) {
            int64_t due = t0 + (int64_t)((double)k * 1e9 / rate);
            if (due > t)
                break;
            late[k++] = t - due;
        }
    }
    qsort(late, n, sizeof *late, cmp_i64);
#define Q(p) (late[(size_t)((double)(n - 1) * (p))] / 1e3)
    printf(
        "{\"rate\": %g, \"seconds\": %g, \"p50_us\": %.1f, \"p99_us\": %.1f, \"p99.9_us\": %.1f, "
        "\"max_us\": %.1f, \"stalls_over_50us\": %ld, \"over_100us\": %ld, \"over_500us\": %ld, "
        "\"over_1ms\": %ld, \"max_stall_us\": %.1f, \"lost_ms\": %.2f}\n",
        rate, secs, Q(0.5), Q(0.99), Q(0.999), late[n - 1] / 1e3, gaps[0], gaps[1], gaps[2],
        gaps[3], maxgap / 1e3, lost / 1e6);
    free(late);
    return 0;
}
