/*
 * The resolver thread: looks a target's name up again after a worker found every address
 * unreachable, so a server that moved is found without restarting the run. getaddrinfo
 * blocks (seconds, when DNS is slow); doing it here keeps it off the workers, whose other
 * streams would wait behind it. Results are published with an atomic pointer swap; a
 * replaced list stays allocated until the run ends, because a worker may be walking it.
 */
#include "engine.h"

#include "clock.h"
#include "xalloc.h"

#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#define RESOLVE_EVERY_NS 1000000000LL /* at most one lookup per target per second */

struct addrinfo *resolver_addrs(struct engine *e, int u)
{
    struct addrinfo *ai = atomic_load_explicit(&e->targets[u].fresh, memory_order_acquire);
    return ai ? ai : e->targets[u].ai;
}

void resolver_request(struct engine *e, int u)
{
    if (atomic_exchange(&e->targets[u].want_resolve, 1) || e->resolve_evfd < 0)
        return;
    uint64_t one = 1;
    ssize_t k = write(e->resolve_evfd, &one, sizeof one);
    (void)k;
}

static void keep_old(struct engine *e, struct addrinfo *ai)
{
    if (!ai)
        return;
    if (e->nold == e->capold) {
        e->capold = e->capold ? e->capold * 2 : 8;
        e->old_ai = xrealloc(e->old_ai, e->capold * sizeof *e->old_ai);
    }
    e->old_ai[e->nold++] = ai;
}

void *resolver_main(void *arg)
{
    struct engine *e = arg;
    while (!atomic_load(&e->finish)) {
        struct pollfd p = {.fd = e->resolve_evfd, .events = POLLIN};
        /* the timeout retries requests that arrived during a target's quiet second */
        if (poll(&p, 1, 250) > 0) {
            uint64_t v;
            ssize_t k = read(e->resolve_evfd, &v, sizeof v);
            (void)k;
        }
        for (int u = 0; u < e->ntargets && !atomic_load(&e->finish); u++) {
            struct target *t = &e->targets[u];
            int64_t now = clock_mono_ns();
            if (!atomic_load(&t->want_resolve) ||
                (t->resolved_at && now - t->resolved_at < RESOLVE_EVERY_NS))
                continue;
            atomic_store(&t->want_resolve, 0);
            t->resolved_at = now;
            struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
            struct addrinfo *ai = NULL;
            if (getaddrinfo(t->url.host, t->url.port, &hints, &ai) == 0 && ai)
                keep_old(e, atomic_exchange_explicit(&t->fresh, ai, memory_order_acq_rel));
        }
    }
    atomic_store(&e->resolver_done, 1);
    return NULL;
}

void resolver_free(struct engine *e)
{
    for (size_t i = 0; i < e->nold; i++)
        freeaddrinfo(e->old_ai[i]);
    free(e->old_ai);
    for (int u = 0; e->targets && u < e->ntargets; u++) {
        struct addrinfo *ai = atomic_load(&e->targets[u].fresh);
        if (ai)
            freeaddrinfo(ai);
    }
}
