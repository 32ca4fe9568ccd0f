/* loadshape: AIPerf 0.13's ramp schedules as pure functions (loadshape.h). */
#include "loadshape.h"

int64_t ramp_level_at_ns(long level, long target, int64_t ramp_ns)
{
    if (level <= 1 || target <= 1 || ramp_ns <= 0)
        return 0;
    if (level >= target)
        return ramp_ns;
    /* exact in integers: D * (L - 1) / (C - 1), rounded down to the ns */
    return (int64_t)((__int128)ramp_ns * (level - 1) / (target - 1));
}

long ramp_level_now(long target, int64_t ramp_ns, int64_t t_ns)
{
    if (target <= 1 || ramp_ns <= 0 || t_ns >= ramp_ns)
        return target < 1 ? 1 : target;
    if (t_ns < 0)
        return 1;
    long l = 1 + (long)((__int128)t_ns * (target - 1) / ramp_ns);
    /* the same rounding as ramp_level_at_ns: level l is open iff its instant has come */
    while (l < target && ramp_level_at_ns(l + 1, target, ramp_ns) <= t_ns)
        l++;
    while (l > 1 && ramp_level_at_ns(l, target, ramp_ns) > t_ns)
        l--;
    return l;
}

long ramp_worker_share(long level, int nw, int id)
{
    if (nw <= 0 || level <= 0)
        return 0;
    return level / nw + (id < level % nw ? 1 : 0);
}

long ramp_slot_level(long j, int nw, int id)
{
    /* worker id's share first exceeds j when level = j * nw + id + 1 */
    return j * nw + id + 1;
}

void rate_ramp_init(struct rate_ramp *r, double target, int64_t ramp_ns)
{
    r->target = target;
    r->ramp_ns = ramp_ns;
    r->start = target * ((double)RATE_RAMP_UI_NS / (double)ramp_ns);
    r->k = 0;
    r->done = ramp_ns <= 0;
}

double rate_ramp_rate_at(const struct rate_ramp *r, long k)
{
    int64_t t = (int64_t)k * RATE_RAMP_UI_NS;
    if (r->ramp_ns <= 0 || t >= r->ramp_ns)
        return r->target;
    return r->start + (r->target - r->start) * ((double)t / (double)r->ramp_ns);
}

static int64_t gap_ns(gap_fn gap, void *ctx, double rate)
{
    return (int64_t)(gap(ctx, rate) * 1e9);
}

int64_t rate_ramp_next(struct rate_ramp *r, double *rate, int64_t prev_ns, gap_fn gap, void *ctx)
{
    int64_t p;
    if (prev_ns < 0) {
        /* update 0 comes with the phase start: the first gap is drawn at s */
        if (!r->done) {
            *rate = rate_ramp_rate_at(r, 0);
            r->k = 1;
            r->done = r->ramp_ns <= 0;
        }
        p = gap_ns(gap, ctx, *rate);
    } else {
        p = prev_ns + gap_ns(gap, ctx, *rate);
    }
    /* every update before the pending send: the new rate, and the send pulled in when a
     * gap at the new rate from the update ends sooner */
    while (!r->done) {
        int64_t tk = (int64_t)r->k * RATE_RAMP_UI_NS;
        if (tk >= p)
            break;
        *rate = rate_ramp_rate_at(r, r->k);
        int64_t q = tk + gap_ns(gap, ctx, *rate);
        if (q < p)
            p = q;
        if (tk >= r->ramp_ns)
            r->done = true;
        r->k++;
    }
    return p;
}
