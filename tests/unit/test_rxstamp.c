/* Kernel receive timestamps: the conversion table, and on a real loopback TCP pair that a
 * late read still gets the bytes' arrival time. */
#include "clock.h"
#include "rxstamp.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

TEST(rxstamp_to_mono_table)
{
    const int64_t S = 1000000000;
    static const struct {
        int64_t rt, now_mono, now_real, want;
    } cases[] = {
        {100 * S, 5 * S, 100 * S + 2000, 5 * S - 2000}, /* 2 us old */
        {100 * S, 5 * S, 100 * S, 5 * S},               /* this instant */
        {100 * S + 500000, 5 * S, 100 * S, 5 * S},      /* 0.5 ms ahead: read skew, now */
        {100 * S + 2000000, 5 * S, 100 * S, 0},         /* 2 ms ahead: a clock step */
        {40 * S, 70 * S, 100 * S, 10 * S},              /* 60 s old: still kept */
        {40 * S - 1, 70 * S, 100 * S, 0},               /* older: a clock step */
        {0, 5 * S, 100 * S, 0},                         /* no stamp */
        {-7, 5 * S, 100 * S, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_INT(rxstamp_to_mono(cases[i].rt, cases[i].now_mono, cases[i].now_real),
                  cases[i].want);
}

/* A connected loopback pair: *a the client end, *b the accepted end. */
static int tcp_pair(int *a, int *b)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&sa, &len))
        return -1;
    *a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*a < 0 || connect(*a, (struct sockaddr *)&sa, sizeof sa))
        return -1;
    *b = accept(l, NULL, NULL);
    close(l);
    return *b < 0 ? -1 : 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000};
    nanosleep(&ts, NULL);
}

TEST(rxstamp_late_read_gets_arrival_time)
{
    int warm = rxstamp_warm(); /* without it the first packets may go unstamped */
    REQUIRE(warm >= 0);
    int a, b;
    REQUIRE(tcp_pair(&a, &b) == 0);
    REQUIRE(rxstamp_enable(b) == 0);
    int64_t before = clock_mono_ns();
    REQUIRE(write(a, "data: x\n\n", 9) == 9);
    int64_t after = clock_mono_ns();
    sleep_ms(30); /* the reader is busy elsewhere */
    char buf[64];
    int64_t t = -1;
    ssize_t n = rxstamp_recv(b, buf, sizeof buf, &t);
    int64_t read_at = clock_mono_ns();
    CHECK_INT(n, 9);
    /* loopback delivers inside write(): arrival lies between the two reads around it
     * (the conversion may put it a few hundred ns late) */
    CHECK(t >= before);
    CHECK(t <= after + 200000);
    CHECK(read_at - t >= 25000000);

    /* Two writes 20 ms apart read together: the stamp is the newer one's arrival. */
    REQUIRE(write(a, "1", 1) == 1);
    sleep_ms(20);
    int64_t before2 = clock_mono_ns();
    REQUIRE(write(a, "2", 1) == 1);
    sleep_ms(10);
    n = rxstamp_recv(b, buf, sizeof buf, &t);
    CHECK_INT(n, 2);
    CHECK(t >= before2);

    /* EOF: no bytes, no stamp */
    close(a);
    n = rxstamp_recv(b, buf, sizeof buf, &t);
    CHECK_INT(n, 0);
    CHECK_INT(t, 0);
    close(b);
    close(warm);
}

TEST(rxstamp_not_enabled_gives_zero)
{
    int a, b;
    REQUIRE(tcp_pair(&a, &b) == 0);
    REQUIRE(write(a, "x", 1) == 1);
    char buf[8];
    int64_t t = -1;
    CHECK_INT(rxstamp_recv(b, buf, sizeof buf, &t), 1);
    CHECK_INT(t, 0);
    close(a);
    close(b);
}
