/*
 * TLS costs through tls.h (mbedTLS), both ends in one thread over a socketpair, so each
 * figure is client + server work: full handshakes per second (TLS 1.3, ECDSA P-256, as
 * `metronome mock --tls-self-signed` serves), the cost of one SSE-sized record (encrypt,
 * two syscalls, decrypt), bulk throughput in 16 KiB records, and heap per connection.
 * Built and run by bench/tls.sh.
 *   tls_bench DIR [RECORDS]
 */
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool pending(int rc)
{
    return rc == TLS_WANT_READ || rc == TLS_WANT_WRITE;
}

static int handshake(struct tls_session *c, struct tls_session *s)
{
    int crc = TLS_WANT_READ, src = TLS_WANT_READ;
    for (int i = 0; i < 1000 && (pending(crc) || pending(src)); i++) {
        if (pending(crc))
            crc = tls_handshake(c);
        if (pending(src))
            src = tls_handshake(s);
    }
    return crc || src ? -1 : 0;
}

/* Moves n bytes from s to c in writes of `chunk`; returns bytes received. */
static size_t pump(struct tls_session *s, struct tls_session *c, const char *data, size_t n,
                   size_t chunk, char *rbuf, size_t rcap)
{
    size_t sent = 0, got = 0;
    while (got < n) {
        if (sent < n) {
            size_t k = n - sent < chunk ? n - sent : chunk;
            long w = tls_write(s, data + sent % (1 << 20), k);
            if (w > 0)
                sent += (size_t)w;
            else if (!pending((int)w))
                return got;
        }
        long r;
        while ((r = tls_read(c, rbuf, rcap)) > 0)
            got += (size_t)r;
        if (!pending((int)r))
            return got;
    }
    return got;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tls_bench DIR [RECORDS]\n");
        return 2;
    }
    const char *dir = argv[1];
    size_t records = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 200000;
    struct diag d = {0};
    if (tls_make_self_signed(dir, "localhost", &d)) {
        fprintf(stderr, "%s\n", d.msg);
        return 1;
    }
    char ca[4096], cert[4096], key[4096];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(cert, sizeof cert, "%s/server.pem", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    struct tls_config *cc, *sc;
    struct tls_client_opts o = {ca, false, NULL};
    if (tls_client_config_new(&cc, &o, &d) || tls_server_config_new(&sc, cert, key, &d)) {
        fprintf(stderr, "%s\n", d.msg);
        return 1;
    }

    /* Handshakes. */
    int hs = 0;
    double t0 = now_s();
    const char *version = "";
    while (now_s() - t0 < 2.0) {
        int fds[2];
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds);
        struct tls_session *c, *s;
        tls_session_new(&c, cc, fds[0], "localhost");
        tls_session_new(&s, sc, fds[1], NULL);
        if (handshake(c, s) == 0) {
            hs++;
            version = tls_session_version(c);
        }
        tls_session_free(c);
        tls_session_free(s);
        close(fds[0]);
        close(fds[1]);
    }
    double hs_s = (double)hs / (now_s() - t0);
    printf("tls handshakes (%s, ECDSA P-256, client+server in one thread): %.0f /s "
           "(%.2f ms each)\n",
           version, hs_s, 1e3 / hs_s);

    int fds[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds);
    int big = 1 << 20;
    setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    size_t heap0 = tls_heap_bytes();
    struct tls_session *c, *s;
    tls_session_new(&c, cc, fds[0], "localhost");
    tls_session_new(&s, sc, fds[1], NULL);
    if (handshake(c, s)) {
        fprintf(stderr, "handshake failed: %s\n", tls_session_error(c));
        return 1;
    }
    size_t heap_pair = tls_heap_bytes() - heap0;
    printf("tls cipher suite: %s\n", tls_session_cipher(c));
    char *data = malloc((1 << 20) + 65536), *rbuf = malloc(65536);
    memset(data, 'x', (1 << 20) + 65536);

    /* One SSE event per record, as a streaming server sends tokens. */
    size_t rec = 250;
    t0 = now_s();
    size_t got = pump(s, c, data, records * rec, rec, rbuf, 65536);
    double t1 = now_s();
    printf("tls small records (%zu B, encrypt+send+recv+decrypt): %.2f us each, %.0f k "
           "records/s (%zu B moved)\n",
           rec, (t1 - t0) / (double)records * 1e6, (double)records / (t1 - t0) / 1e3, got);

    size_t bulk = (size_t)1 << 30;
    t0 = now_s();
    got = pump(s, c, data, bulk, 16384, rbuf, 65536);
    t1 = now_s();
    printf("tls bulk (16 KiB records): %.0f MB/s (%zu B moved)\n", (double)got / (t1 - t0) / 1e6,
           got);
    printf("tls heap per connection after handshake: %zu B (client and server sessions "
           "together: %zu B)\n",
           heap_pair / 2, heap_pair);
    tls_session_free(c);
    tls_session_free(s);
    tls_config_free(cc);
    tls_config_free(sc);
    free(data);
    free(rbuf);
    return 0;
}
