/*
 * rxstamp: when the kernel received the bytes a recv() hands back, on CLOCK_MONOTONIC.
 *
 * A thread that serves many sockets per wakeup reads the last of them late. Stamping
 * bytes with the time recv() returned charges that lateness to whoever sent them: to
 * the server's TTFT in replay, to the client's request in the mock. With SO_TIMESTAMPNS
 * the kernel notes each packet's arrival and TCP reports, with every recvmsg(), the
 * arrival of the newest packet it consumed. That is the time the last of the returned
 * bytes reached this host: never earlier than the truth for any of them, and for a recv
 * that returns one packet (the usual case for a token chunk) exactly its arrival.
 *
 * The kernel stamps CLOCK_REALTIME. Converting with a (realtime, monotonic) pair read
 * just after the recvmsg() keeps every interval on CLOCK_MONOTONIC; NTP slews both
 * clocks alike, and a stamp that a clock step made implausible is dropped (0), so the
 * caller falls back to its own reading. Thread-safe; no state.
 */
#ifndef METRONOME_RXSTAMP_H
#define METRONOME_RXSTAMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Asks the kernel to stamp what arrives on fd. 0, or -1 with errno. */
int rxstamp_enable(int fd);

/* The kernel switches receive stamping on lazily: the first socket that asks only
 * schedules it, so packets in the first instants after (the first responses of a run)
 * carry no stamp, and it goes off again when the last such socket closes. This opens a
 * loopback TCP pair, waits (up to 100 ms) until a byte sent over it arrives stamped, and
 * returns the receiving end: kept open, it holds stamping on. The caller closes it when
 * done; -1 if stamping never came on (reads then fall back, and are counted). */
int rxstamp_warm(void);

/* recv(fd, buf, len, 0) that also sets *mono_ns to the arrival of the returned bytes
 * (CLOCK_MONOTONIC ns, at most the time of return), or to 0 when the kernel gave no
 * usable stamp (not enabled, or nothing read). Same return value and errno as recv(). */
ssize_t rxstamp_recv(int fd, void *buf, size_t len, int64_t *mono_ns);

/* The conversion, exposed for tests: a realtime stamp `rt` seen at (now_mono, now_real).
 * 0 when the stamp lies more than 60 s in the past or more than 1 ms in the future of
 * now_real (a clock step between the two); otherwise min(now_mono, converted). */
int64_t rxstamp_to_mono(int64_t rt, int64_t now_mono, int64_t now_real);

#endif
