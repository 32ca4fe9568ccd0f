#include "err.h"
#include "test.h"
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Waits for what the last TLS call asked for; false on timeout. */
static bool wait_io(int fd, long rc, int ms)
{
    struct pollfd p = {fd, rc == TLS_WANT_WRITE ? POLLOUT : POLLIN, 0};
    return poll(&p, 1, ms) > 0;
}

static int handshake_nb(struct tls_session *s, int fd)
{
    for (int i = 0; i < 1000; i++) {
        int rc = tls_handshake(s);
        if (rc != TLS_WANT_READ && rc != TLS_WANT_WRITE)
            return rc;
        if (!wait_io(fd, rc, 5000))
            return ERR_TIMEOUT;
    }
    return ERR_TIMEOUT;
}

/* Both ends in one thread: step each handshake until both finish. */
static int handshake_pair(struct tls_session *c, struct tls_session *s, int *crc, int *src)
{
    *crc = *src = TLS_WANT_READ;
    for (int i = 0; i < 200; i++) {
        if (*crc == TLS_WANT_READ || *crc == TLS_WANT_WRITE)
            *crc = tls_handshake(c);
        if (*src == TLS_WANT_READ || *src == TLS_WANT_WRITE)
            *src = tls_handshake(s);
        bool cdone = *crc != TLS_WANT_READ && *crc != TLS_WANT_WRITE;
        bool sdone = *src != TLS_WANT_READ && *src != TLS_WANT_WRITE;
        if (cdone && sdone)
            return 0;
        /* One side failed: the other will wait forever for bytes that never come. */
        if ((cdone && *crc < 0) || (sdone && *src < 0))
            return 0;
    }
    return ERR_TIMEOUT;
}

static char pki[512];

static void make_pki(void)
{
    snprintf(pki, sizeof pki, "%s/pki", test_tmpdir());
    mkdir(pki, 0700);
    struct diag d = {0};
    int rc = tls_make_self_signed(pki, "localhost", &d);
    if (rc)
        test_fail(__FILE__, __LINE__, "tls_make_self_signed: %s", d.msg);
}

static void path_in(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

TEST(tls_self_signed_files)
{
    make_pki();
    char p[600];
    struct stat st;
    path_in(p, sizeof p, pki, "server.key");
    REQUIRE(stat(p, &st) == 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    path_in(p, sizeof p, pki, "ca.pem");
    REQUIRE(stat(p, &st) == 0);
    CHECK(st.st_size > 300);
    path_in(p, sizeof p, pki, "server.pem");
    REQUIRE(stat(p, &st) == 0);
    /* No temporary files left behind. */
    char cmd[700];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 3", pki);
    CHECK_INT(system(cmd), 0);
    struct diag d = {0};
    CHECK_INT(tls_make_self_signed("/nonexistent/dir", "localhost", &d), ERR_IO);
    CHECK(strstr(d.msg, "/nonexistent/dir") != NULL);
    CHECK_INT(tls_make_self_signed(pki, "bad,name", &d), ERR_INVALID);
}

struct pair {
    int fds[2];
    struct tls_config *ccfg, *scfg;
    struct tls_session *c, *s;
    size_t heap_configs; /* tls_heap_bytes() once both configs existed */
};

static int pair_open(struct pair *p, const char *ca_file, bool insecure, const char *host)
{
    memset(p, 0, sizeof *p);
    char cert[600], key[600];
    path_in(cert, sizeof cert, pki, "server.pem");
    path_in(key, sizeof key, pki, "server.key");
    struct diag d = {0};
    if (tls_server_config_new(&p->scfg, cert, key, &d)) {
        test_fail(__FILE__, __LINE__, "server config: %s", d.msg);
        return -1;
    }
    struct tls_client_opts o = {ca_file, insecure, NULL};
    if (tls_client_config_new(&p->ccfg, &o, &d)) {
        test_fail(__FILE__, __LINE__, "client config: %s", d.msg);
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fds))
        return -1;
    p->heap_configs = tls_heap_bytes();
    if (tls_session_new(&p->s, p->scfg, p->fds[1], NULL) ||
        tls_session_new(&p->c, p->ccfg, p->fds[0], host))
        return -1;
    return 0;
}

static void pair_close(struct pair *p)
{
    tls_session_free(p->c);
    tls_session_free(p->s);
    tls_config_free(p->ccfg);
    tls_config_free(p->scfg);
    close(p->fds[0]);
    close(p->fds[1]);
}

TEST(tls_socketpair_handshake_and_data)
{
    make_pki();
    char ca[600];
    path_in(ca, sizeof ca, pki, "ca.pem");
    struct pair p;
    size_t heap0 = tls_heap_bytes();
    REQUIRE(pair_open(&p, ca, false, "localhost") == 0);
    size_t heap_cfg = p.heap_configs, heap_setup = tls_heap_bytes();
    int crc, src;
    REQUIRE(handshake_pair(p.c, p.s, &crc, &src) == 0);
    CHECK_INT(crc, 0);
    CHECK_INT(src, 0);
    if (crc)
        test_fail(__FILE__, __LINE__, "client: %s", tls_session_error(p.c));
    CHECK_STR(tls_session_version(p.c), "TLSv1.3");

    /* Client to server, then 64 KB back in 16 KB records, read in small pieces. */
    CHECK_INT(tls_write(p.c, "ping", 4), 4);
    char buf[1024];
    long n = TLS_WANT_READ;
    for (int i = 0; i < 10 && n == TLS_WANT_READ; i++)
        n = tls_read(p.s, buf, sizeof buf);
    CHECK_INT(n, 4);
    CHECK_MEM(buf, 4, "ping", 4);
    static char big[65536];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    size_t sent = 0, got = 0;
    bool same = true;
    for (int iter = 0; iter < 10000 && got < sizeof big; iter++) {
        if (sent < sizeof big) {
            long w = tls_write(p.s, big + sent, sizeof big - sent);
            if (w > 0)
                sent += (size_t)w;
            else
                CHECK(w == TLS_WANT_WRITE || w == TLS_WANT_READ);
        }
        long r;
        while ((r = tls_read(p.c, buf, 300)) > 0) {
            same &= memcmp(buf, big + got, (size_t)r) == 0;
            got += (size_t)r;
        }
        CHECK(r == TLS_WANT_READ);
    }
    CHECK_INT(got, sizeof big);
    CHECK(same);

    /* Memory: the two sessions (client and server) after the handshake, minus configs. */
    size_t both = tls_heap_bytes() - heap_cfg;
    tls_session_free(p.s);
    p.s = NULL;
    size_t client = tls_heap_bytes() - heap_cfg;
    printf("  tls: configs %zu B; two fresh sessions %zu B; after handshake and 64 KB: client "
           "%zu B, server %zu B\n",
           heap_cfg - heap0, heap_setup - heap_cfg, client, both - client);
    CHECK(client <= 64 * 1024);
    CHECK(both - client <= 64 * 1024);

    /* close_notify reaches the peer as a clean 0. */
    CHECK_INT(tls_close_notify(p.c), 0);
    pair_close(&p);
}

/* Blocking sockets work too: a server thread echoes one message. */
struct echo_arg {
    struct tls_session *s;
    int rc;
};

static void *echo_server(void *p)
{
    struct echo_arg *a = p;
    a->rc = tls_handshake(a->s);
    char buf[256];
    long n = a->rc ? -1 : tls_read(a->s, buf, sizeof buf);
    if (n > 0 && tls_write(a->s, buf, (size_t)n) != n)
        a->rc = -2;
    return NULL;
}

TEST(tls_blocking_socketpair_thread)
{
    make_pki();
    char ca[600];
    path_in(ca, sizeof ca, pki, "ca.pem");
    struct pair p;
    REQUIRE(pair_open(&p, ca, false, "localhost") == 0);
    for (int i = 0; i < 2; i++)
        fcntl(p.fds[i], F_SETFL, fcntl(p.fds[i], F_GETFL) & ~O_NONBLOCK);
    struct echo_arg a = {p.s, 0};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, echo_server, &a) == 0);
    CHECK_INT(tls_handshake(p.c), 0);
    CHECK_INT(tls_write(p.c, "hello, tls", 10), 10);
    char buf[64];
    long n = tls_read(p.c, buf, sizeof buf);
    pthread_join(t, NULL);
    CHECK_INT(a.rc, 0);
    CHECK_INT(n, 10);
    CHECK_MEM(buf, 10, "hello, tls", 10);
    pair_close(&p);
}

/* One client config and one server config shared by sessions on several threads at once,
 * as the replay workers and mock workers use them. */
struct shared_arg {
    const struct tls_config *cc, *sc;
    int ok;
};

static void *shared_worker(void *p)
{
    struct shared_arg *a = p;
    for (int i = 0; i < 8; i++) {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds))
            return NULL;
        struct tls_session *c = NULL, *s = NULL;
        int crc = -1, src = -1;
        if (!tls_session_new(&c, a->cc, fds[0], "localhost") &&
            !tls_session_new(&s, a->sc, fds[1], NULL))
            handshake_pair(c, s, &crc, &src);
        long w = crc == 0 ? tls_write(c, "x", 1) : -1;
        char b[4];
        long r = TLS_WANT_READ;
        for (int k = 0; k < 10 && r == TLS_WANT_READ; k++)
            r = tls_read(s, b, sizeof b);
        if (crc == 0 && src == 0 && w == 1 && r == 1)
            a->ok++;
        tls_session_free(c);
        tls_session_free(s);
        close(fds[0]);
        close(fds[1]);
    }
    return NULL;
}

TEST(tls_shared_config_threads)
{
    make_pki();
    char ca[600], cert[600], key[600];
    path_in(ca, sizeof ca, pki, "ca.pem");
    path_in(cert, sizeof cert, pki, "server.pem");
    path_in(key, sizeof key, pki, "server.key");
    struct diag d = {0};
    struct tls_config *cc, *sc;
    struct tls_client_opts o = {ca, false, NULL};
    REQUIRE(tls_client_config_new(&cc, &o, &d) == 0);
    REQUIRE(tls_server_config_new(&sc, cert, key, &d) == 0);
    struct shared_arg args[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct shared_arg){cc, sc, 0};
        REQUIRE(pthread_create(&t[i], NULL, shared_worker, &args[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(args[i].ok, 8);
    }
    tls_config_free(cc);
    tls_config_free(sc);
}

TEST(tls_socketpair_rejects)
{
    make_pki();
    char ca[600];
    path_in(ca, sizeof ca, pki, "ca.pem");
    struct pair p;
    int crc, src;

    /* Right CA, wrong name. */
    REQUIRE(pair_open(&p, ca, false, "metronome.invalid") == 0);
    REQUIRE(handshake_pair(p.c, p.s, &crc, &src) == 0);
    CHECK_INT(crc, ERR_TLS);
    CHECK(strstr(tls_session_error(p.c), "not valid for host name 'metronome.invalid'") != NULL);
    pair_close(&p);

    /* A CA bundle that does not hold our CA: untrusted root. Make a second PKI. */
    char other[600];
    snprintf(other, sizeof other, "%s/other", test_tmpdir());
    mkdir(other, 0700);
    struct diag d = {0};
    REQUIRE(tls_make_self_signed(other, "localhost", &d) == 0);
    char other_ca[700];
    path_in(other_ca, sizeof other_ca, other, "ca.pem");
    REQUIRE(pair_open(&p, other_ca, false, "localhost") == 0);
    REQUIRE(handshake_pair(p.c, p.s, &crc, &src) == 0);
    CHECK_INT(crc, ERR_TLS);
    CHECK(strstr(tls_session_error(p.c), "not signed by a trusted CA") != NULL);
    pair_close(&p);

    /* IP literals, IPv4 and IPv6, against the IP SANs (127.0.0.1 and ::1 for localhost):
     * the exact address bytes, checked by tls.c's callback since no SNI is set. */
    const char *ips[] = {"127.0.0.1", "::1", "127.0.0.2", "::2", "0:0:0:0:0:0:0:1"};
    const int ip_ok[] = {1, 1, 0, 0, 1};
    for (int i = 0; i < 5; i++) {
        REQUIRE(pair_open(&p, ca, false, ips[i]) == 0);
        REQUIRE(handshake_pair(p.c, p.s, &crc, &src) == 0);
        if (ip_ok[i]) {
            CHECK_INT(crc, 0);
        } else {
            CHECK_INT(crc, ERR_TLS);
            char want[80];
            snprintf(want, sizeof want, "not valid for host name '%s'", ips[i]);
            CHECK(strstr(tls_session_error(p.c), want) != NULL);
        }
        pair_close(&p);
    }

    /* Insecure accepts both. */
    REQUIRE(pair_open(&p, NULL, true, "metronome.invalid") == 0);
    REQUIRE(handshake_pair(p.c, p.s, &crc, &src) == 0);
    CHECK_INT(crc, 0);
    CHECK(tls_config_ca_file(p.ccfg) == NULL);
    pair_close(&p);

    /* A client that verifies must say which host it expects. */
    struct tls_config *cc;
    struct tls_client_opts o = {ca, false, NULL};
    REQUIRE(tls_client_config_new(&cc, &o, &d) == 0);
    struct tls_session *s;
    CHECK_INT(tls_session_new(&s, cc, 0, NULL), ERR_TLS);
    tls_config_free(cc);
}

TEST(tls_config_errors)
{
    make_pki();
    struct tls_config *c;
    struct diag d = {0};
    struct tls_client_opts o = {"/nonexistent/ca.pem", false, NULL};
    CHECK_INT(tls_client_config_new(&c, &o, &d), ERR_IO);
    CHECK(strstr(d.msg, "/nonexistent/ca.pem") != NULL);
    char key[600], other[600];
    path_in(key, sizeof key, pki, "server.key");
    CHECK(tls_server_config_new(&c, "/nonexistent/cert.pem", key, &d) < 0);
    CHECK(strstr(d.msg, "/nonexistent/cert.pem") != NULL);
    /* A key that does not match the certificate. */
    snprintf(other, sizeof other, "%s/o", test_tmpdir());
    mkdir(other, 0700);
    REQUIRE(tls_make_self_signed(other, "localhost", &d) == 0);
    char cert[700];
    path_in(cert, sizeof cert, other, "server.pem");
    CHECK_INT(tls_server_config_new(&c, cert, key, &d), ERR_TLS);
    CHECK(strstr(d.msg, "does not match") != NULL);
    /* The system bundle probe honours SSL_CERT_FILE. */
    char ca[600];
    path_in(ca, sizeof ca, pki, "ca.pem");
    setenv("SSL_CERT_FILE", ca, 1);
    struct tls_client_opts sys = {NULL, false, NULL};
    REQUIRE(tls_client_config_new(&c, &sys, &d) == 0);
    CHECK_STR(tls_config_ca_file(c), ca);
    tls_config_free(c);
    unsetenv("SSL_CERT_FILE");
}

/* ---- against openssl s_server, with certificates made by the openssl CLI ---- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &l))
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return fd;
    if (errno == EINPROGRESS) {
        struct pollfd p = {fd, POLLOUT, 0};
        int err = 0;
        socklen_t el = sizeof err;
        if (poll(&p, 1, 2000) > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
            err == 0)
            return fd;
    }
    close(fd);
    return -1;
}

/* Starts `openssl s_server -WWW` (serving files from dir) on a free loopback port. */
static pid_t start_s_server(const char *dir, const char *cert, const char *key, const char *extra,
                            int *port_out)
{
    int port = free_port();
    char accept[32], c[700], k[700];
    snprintf(accept, sizeof accept, "127.0.0.1:%d", port);
    path_in(c, sizeof c, dir, cert);
    path_in(k, sizeof k, dir, key);
    char *argv[32] = {"openssl", "s_server", "-accept", accept, "-cert",
                      c,         "-key",     k,         "-WWW", "-quiet"};
    /* extra: more options, separated by single spaces */
    char more[256];
    snprintf(more, sizeof more, "%s", extra ? extra : "");
    int argc = 10;
    for (char *save = NULL, *w = strtok_r(more, " ", &save); w && argc < 31;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    argv[argc] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    pid_t pid;
    int rc = posix_spawnp(&pid, "openssl", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        return -1;
    for (int i = 0; i < 250; i++) {
        int fd = connect_port(port);
        if (fd >= 0) {
            close(fd);
            *port_out = port;
            return pid;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return -1;
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* try_server knobs: use the TLS 1.2 fallback config; whether the last failure asked for it. */
static bool try_use_tls12;
static bool try_wants_tls12;

/* Handshakes with a fresh s_server for `cert`; on success fetches `path` and returns
 * the bytes received in *got. Returns the handshake result; err gets the reason. */
static int try_server(const char *dir, const char *cert, const char *key, const char *extra,
                      const char *ca, const char *host, const char *path, size_t *got, char *err,
                      size_t errn, char *version, size_t vn)
{
    int port;
    pid_t pid = start_s_server(dir, cert, key, extra, &port);
    if (pid < 0)
        return -1000;
    struct tls_config *cfg;
    struct diag d = {0};
    struct tls_client_opts o = {ca, false, "http/1.1"};
    int rc = tls_client_config_new(&cfg, &o, &d);
    if (rc) {
        stop(pid);
        snprintf(err, errn, "%s", d.msg);
        return rc;
    }
    if (try_use_tls12)
        tls_config_use_tls12(cfg);
    int fd = connect_port(port);
    struct tls_session *s = NULL;
    rc = fd < 0 ? ERR_IO : tls_session_new(&s, cfg, fd, host);
    if (!rc)
        rc = handshake_nb(s, fd);
    try_wants_tls12 = s && rc < 0 && tls_session_retry_tls12(s);
    if (s)
        snprintf(err, errn, "%s", tls_session_error(s));
    if (!rc) {
        snprintf(version, vn, "%s", tls_session_version(s));
        char req[256];
        int n = snprintf(req, sizeof req, "GET /%s HTTP/1.0\r\n\r\n", path);
        long w;
        while ((w = tls_write(s, req, (size_t)n)) == TLS_WANT_WRITE || w == TLS_WANT_READ)
            wait_io(fd, w, 2000);
        static char buf[200000];
        *got = 0;
        for (;;) {
            long r = tls_read(s, buf + *got, sizeof buf - *got);
            if (r > 0) {
                *got += (size_t)r;
                continue;
            }
            if (r != TLS_WANT_READ && r != TLS_WANT_WRITE)
                break;
            if (!wait_io(fd, r, 5000))
                break;
        }
    }
    tls_session_free(s);
    if (fd >= 0)
        close(fd);
    tls_config_free(cfg);
    stop(pid);
    return rc;
}

TEST(tls_against_openssl_s_server)
{
    if (system("command -v openssl >/dev/null 2>&1") != 0) {
        printf("  SKIP tls_against_openssl_s_server: openssl not installed "
               "(scripts/ensure-deb openssl)\n");
        return;
    }
    char dir[600];
    snprintf(dir, sizeof dir, "%s/ossl", test_tmpdir());
    mkdir(dir, 0700);
    /* Two roots; leaves for localhost (good, and expired via `openssl ca` dates), for a
     * wrong name, and one signed by the root the client does not trust. */
    char script[6144];
    snprintf(script, sizeof script,
             "set -e; cd '%s'\n"
             "ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
             "openssl req -x509 $ec -keyout ca.key -out ca.pem -days 30 -subj /CN=root1\n"
             "openssl req -x509 $ec -keyout ca2.key -out ca2.pem -days 30 -subj /CN=root2\n"
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n"
             "extendedKeyUsage=serverAuth\\n' > good.ext\n"
             "printf 'subjectAltName=DNS:wrong.example\\n' > wrong.ext\n"
             "for n in good wrong untrusted expired; do\n"
             "  openssl req $ec -keyout $n.key -out $n.csr -subj /CN=$n\n"
             "done\n"
             "openssl x509 -req -in good.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 30 "
             "-extfile good.ext -out good.pem\n"
             "openssl x509 -req -in wrong.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 30 "
             "-extfile wrong.ext -out wrong.pem\n"
             "openssl x509 -req -in untrusted.csr -CA ca2.pem -CAkey ca2.key -set_serial 3 "
             "-days 30 -extfile good.ext -out untrusted.pem\n"
             "touch index.txt; echo 04 > serial\n"
             "printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\nnew_certs_dir=.\\n"
             "serial=serial\\ndefault_md=sha256\\npolicy=p\\n[p]\\ncommonName=supplied\\n' "
             "> ca.cnf\n"
             "openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr "
             "-out expired.pem -startdate 20200101000000Z -enddate 20200201000000Z "
             "-extfile good.ext -notext\n"
             "head -c 100000 /dev/urandom > big.bin\n"
             /* RSA leaves under the same (ECDSA) root: for both names, IP only, DNS only;
              * and an Ed25519 root. -cert2 is for s_server's SNI check. */
             "for n in rsa ip dns sni2; do\n"
             "  openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=$n\n"
             "done\n"
             "printf 'subjectAltName=IP:127.0.0.1\\n' > ip.ext\n"
             "printf 'subjectAltName=DNS:localhost\\n' > dns.ext\n"
             "openssl x509 -req -in rsa.csr -CA ca.pem -CAkey ca.key -set_serial 5 -days 30 "
             "-extfile good.ext -out rsa.pem\n"
             "openssl x509 -req -in ip.csr -CA ca.pem -CAkey ca.key -set_serial 6 -days 30 "
             "-extfile ip.ext -out ip.pem\n"
             "openssl x509 -req -in dns.csr -CA ca.pem -CAkey ca.key -set_serial 7 -days 30 "
             "-extfile dns.ext -out dns.pem\n"
             "openssl x509 -req -in sni2.csr -CA ca.pem -CAkey ca.key -set_serial 8 -days 30 "
             "-extfile good.ext -out sni2.pem\n"
             "openssl genpkey -algorithm ED25519 -out ed.key\n"
             "openssl req -x509 -key ed.key -out ed.pem -days 30 -subj /CN=ed\n",
             dir);
    char sh[700];
    path_in(sh, sizeof sh, dir, "make.sh");
    FILE *f = fopen(sh, "w");
    REQUIRE(f);
    fputs(script, f);
    fclose(f);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "sh '%s' >/dev/null 2>&1", sh);
    REQUIRE(system(cmd) == 0);

    char ca[700], err[256], ver[32];
    path_in(ca, sizeof ca, dir, "ca.pem");
    size_t got = 0;
    /* A good chain: handshake, then 100 KB in 16 KB records from a server we did not
     * write (TLS 1.3, then forced TLS 1.2). */
    int rc = try_server(dir, "good.pem", "good.key", NULL, ca, "localhost", "big.bin", &got, err,
                        sizeof err, ver, sizeof ver);
    CHECK_INT(rc, 0);
    if (rc)
        test_fail(__FILE__, __LINE__, "good chain: %s", err);
    CHECK(got > 100000); /* the file plus s_server's HTTP/1.0 head */
    CHECK_STR(ver, "TLSv1.3");
    rc = try_server(dir, "good.pem", "good.key", "-tls1_2", ca, "127.0.0.1", "big.bin", &got, err,
                    sizeof err, ver, sizeof ver);
    CHECK_INT(rc, 0);
    CHECK(got > 100000);
    CHECK_STR(ver, "TLSv1.2");

    rc = try_server(dir, "expired.pem", "expired.key", NULL, ca, "localhost", "", &got, err,
                    sizeof err, ver, sizeof ver);
    CHECK_INT(rc, ERR_TLS);
    if (!strstr(err, "certificate has expired"))
        test_fail(__FILE__, __LINE__, "expired: \"%s\"", err);

    rc = try_server(dir, "wrong.pem", "wrong.key", NULL, ca, "localhost", "", &got, err, sizeof err,
                    ver, sizeof ver);
    CHECK_INT(rc, ERR_TLS);
    if (!strstr(err, "not valid for host name 'localhost'"))
        test_fail(__FILE__, __LINE__, "wrong host: \"%s\"", err);

    rc = try_server(dir, "untrusted.pem", "untrusted.key", NULL, ca, "localhost", "", &got, err,
                    sizeof err, ver, sizeof ver);
    CHECK_INT(rc, ERR_TLS);
    if (!strstr(err, "not signed by a trusted CA"))
        test_fail(__FILE__, __LINE__, "untrusted: \"%s\"", err);

    /* RSA under TLS 1.3 (rsa_pss_rsae CertificateVerify) and TLS 1.2 (ECDHE-RSA): with
     * mbedTLS 3.6.6's default signature list the TLS 1.2 server picked rsa_pss_rsae and the
     * client refused its ServerKeyExchange ("A field in a message was incorrect"). */
    rc = try_server(dir, "rsa.pem", "rsa.key", NULL, ca, "localhost", "big.bin", &got, err,
                    sizeof err, ver, sizeof ver);
    if (rc)
        test_fail(__FILE__, __LINE__, "RSA, TLS 1.3: \"%s\"", err);
    CHECK_STR(ver, "TLSv1.3");
    CHECK(got > 100000);
    rc = try_server(dir, "rsa.pem", "rsa.key", "-tls1_2", ca, "localhost", "big.bin", &got, err,
                    sizeof err, ver, sizeof ver);
    if (rc)
        test_fail(__FILE__, __LINE__, "RSA, TLS 1.2: \"%s\"", err);
    CHECK_STR(ver, "TLSv1.2");
    CHECK(got > 100000);
    /* A TLS 1.2 server that signs only with RSA-PSS: refused, flagged for the TLS 1.2
     * config, which offers no PSS; that server then refuses too (handshake_failure), and
     * one that merely prefers PSS (server order) accepts it. */
    rc = try_server(dir, "rsa.pem", "rsa.key", "-tls1_2 -sigalgs rsa_pss_rsae_sha256", ca,
                    "localhost", "", &got, err, sizeof err, ver, sizeof ver);
    CHECK_INT(rc, ERR_TLS);
    CHECK(try_wants_tls12);
    try_use_tls12 = true;
    rc = try_server(dir, "rsa.pem", "rsa.key", "-tls1_2 -sigalgs rsa_pss_rsae_sha256", ca,
                    "localhost", "", &got, err, sizeof err, ver, sizeof ver);
    CHECK_INT(rc, ERR_TLS);
    CHECK(!try_wants_tls12);
    if (!strstr(err, "handshake_failure"))
        test_fail(__FILE__, __LINE__, "PSS only, TLS 1.2 config: \"%s\"", err);
    rc = try_server(dir, "rsa.pem", "rsa.key",
                    "-tls1_2 -serverpref -sigalgs rsa_pss_rsae_sha256:rsa_pkcs1_sha256", ca,
                    "localhost", "", &got, err, sizeof err, ver, sizeof ver);
    CHECK_INT(rc, 0);
    try_use_tls12 = false;
    rc = try_server(dir, "rsa.pem", "rsa.key",
                    "-tls1_2 -serverpref -sigalgs rsa_pss_rsae_sha256:rsa_pkcs1_sha256", ca,
                    "localhost", "", &got, err, sizeof err, ver, sizeof ver);
    CHECK_INT(rc, ERR_TLS);
    CHECK(try_wants_tls12);

    /* IP literals: matched against IP SANs only, never sent as SNI (RFC 6066). The server
     * answers a wrong SNI with a fatal alert (-servername_fatal), no SNI with its default. */
    rc = try_server(dir, "ip.pem", "ip.key", NULL, ca, "127.0.0.1", "", &got, err, sizeof err, ver,
                    sizeof ver);
    if (rc)
        test_fail(__FILE__, __LINE__, "IP SAN: \"%s\"", err);
    rc = try_server(dir, "ip.pem", "ip.key", NULL, ca, "localhost", "", &got, err, sizeof err, ver,
                    sizeof ver);
    CHECK_INT(rc, ERR_TLS);
    CHECK(strstr(err, "not valid for host name 'localhost'") != NULL);
    rc = try_server(dir, "dns.pem", "dns.key", NULL, ca, "127.0.0.1", "", &got, err, sizeof err,
                    ver, sizeof ver);
    CHECK_INT(rc, ERR_TLS);
    if (!strstr(err, "not valid for host name '127.0.0.1'"))
        test_fail(__FILE__, __LINE__, "DNS-only SAN for an IP: \"%s\"", err);
    static const char sni_opts[] =
        "-servername localhost -servername_fatal -cert2 sni2.pem -key2 sni2.key";
    for (int v = 0; v < 2; v++) {
        char opts[200];
        snprintf(opts, sizeof opts, "%s%s", sni_opts, v ? " -tls1_2" : "");
        rc = try_server(dir, "rsa.pem", "rsa.key", opts, ca, "127.0.0.1", "", &got, err, sizeof err,
                        ver, sizeof ver);
        if (rc)
            test_fail(__FILE__, __LINE__, "no SNI for 127.0.0.1 (%s): \"%s\"", opts, err);
        rc = try_server(dir, "rsa.pem", "rsa.key", opts, ca, "localhost", "", &got, err, sizeof err,
                        ver, sizeof ver);
        if (rc)
            test_fail(__FILE__, __LINE__, "SNI localhost (%s): \"%s\"", opts, err);
    }

    /* Ed25519: mbedTLS 3.6 has no EdDSA; the error says so. */
    char ed[700];
    path_in(ed, sizeof ed, dir, "ed.pem");
    struct tls_config *cfg;
    struct diag d = {0};
    struct tls_client_opts o = {ed, false, NULL};
    CHECK_INT(tls_client_config_new(&cfg, &o, &d), ERR_TLS);
    if (!strstr(d.msg, "Ed25519, Ed448 and RSA-PSS-only keys are not"))
        test_fail(__FILE__, __LINE__, "Ed25519 CA: \"%s\"", d.msg);
    char edkey[700];
    path_in(edkey, sizeof edkey, dir, "ed.key");
    CHECK(tls_server_config_new(&cfg, ed, edkey, &d) == ERR_TLS);
    CHECK(strstr(d.msg, "Ed25519") != NULL);
}
