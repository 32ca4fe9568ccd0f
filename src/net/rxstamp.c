#include "rxstamp.h"

#include "clock.h"

#include <string.h>
#include <sys/socket.h>
#include <time.h>

int rxstamp_enable(int fd)
{
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
}

int64_t rxstamp_to_mono(int64_t rt, int64_t now_mono, int64_t now_real)
{
    int64_t age = now_real - rt;
    if (rt <= 0 || age > 60 * 1000000000LL || age < -1000000)
        return 0;
    return age > 0 ? now_mono - age : now_mono;
}

ssize_t rxstamp_recv(int fd, void *buf, size_t len, int64_t *mono_ns)
{
    union {
        char b[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b};
    *mono_ns = 0;
    ssize_t n = recvmsg(fd, &mh, 0);
    if (n <= 0)
        return n;
    /* SO_TIMESTAMPNS is the only control message we ask for, so it is the first one. */
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_TIMESTAMPNS ||
        cm->cmsg_len < CMSG_LEN(sizeof(struct timespec)))
        return n;
    struct timespec ts;
    memcpy(&ts, CMSG_DATA(cm), sizeof ts);
    /* realtime first: the gap between the two reads then makes the stamp a few
     * nanoseconds late, never early */
    int64_t real = clock_real_ns();
    int64_t mono = clock_mono_ns();
    *mono_ns = rxstamp_to_mono((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, mono, real);
    return n;
}
