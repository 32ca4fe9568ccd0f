/*
 * TLS over mbedTLS 3.6. Randomness comes from PSA (mbedtls_psa_get_random), which is
 * thread-safe in 3.6 with MBEDTLS_THREADING_PTHREAD, so configs need no RNG of their own
 * and no lock of ours. Socket I/O is two small callbacks over send()/recv() that map
 * EAGAIN to mbedTLS's WANT_READ/WANT_WRITE.
 */
#include "tls.h"

#include "rxstamp.h"
#include "xalloc.h"
#include "zio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

struct tls_config {
    mbedtls_ssl_config conf;
    /* client only: TLS 1.2 alone, where mbedTLS offers no RSA-PSS (client_sig_algs) */
    mbedtls_ssl_config conf12;
    bool use_tls12;         /* set before sessions exist (tls_config_use_tls12) */
    mbedtls_x509_crt chain; /* client: trusted CAs; server: own chain */
    mbedtls_pk_context key; /* server only */
    bool server;
    bool insecure;
    char *ca_file;
    const char *alpn[2];
    char *alpn_copy;
};

struct tls_session {
    mbedtls_ssl_context ssl;
    int fd;
    int sys_errno;  /* errno of the last failed send/recv */
    bool rx_stamps; /* read with rxstamp_recv */
    int64_t rx_ns;  /* kernel arrival of the bytes the last socket read returned, or 0 */
    bool insecure;
    bool offered_pss; /* the ClientHello offered RSA-PSS with TLS 1.2 (not conf12) */
    bool retry_tls12; /* failed as a TLS 1.2 server signing with RSA-PSS would make it */
    bool ip_host;     /* host is an IP literal: no SNI, checked against IP SANs here */
    unsigned char ip[16];
    size_t ip_len; /* 4 or 16 */
    char err[320];
    char host[256]; /* for error messages */
};

/* ---- process-wide setup ---- */

/* Counts what the C library really handed out (malloc_usable_size), with no header of our
 * own: a block that mbedTLS allocated before this allocator was installed (hashing needs
 * none, but someone may call mbedTLS directly first) can still be freed here safely. */
static atomic_size_t heap_bytes;

static void *count_calloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p)
        atomic_fetch_add_explicit(&heap_bytes, malloc_usable_size(p), memory_order_relaxed);
    return p;
}

static void count_free(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub_explicit(&heap_bytes, malloc_usable_size(p), memory_order_relaxed);
    free(p);
}

size_t tls_heap_bytes(void)
{
    return atomic_load_explicit(&heap_bytes, memory_order_relaxed);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static psa_status_t init_status;

static void global_init(void)
{
    mbedtls_platform_set_calloc_free(count_calloc, count_free);
    init_status = psa_crypto_init();
}

static int ensure_init(struct diag *d)
{
    pthread_once(&init_once, global_init);
    if (init_status != PSA_SUCCESS)
        return diag_set(d, ERR_TLS, "TLS: crypto initialisation failed (%d)", (int)init_status);
    return 0;
}

static void mbed_reason(int ret, char *out, size_t n)
{
    mbedtls_strerror(ret, out, n);
}

/* ---- configs ---- */

/* AES-GCM first: both targets have AES instructions (AES-NI, ARMv8 AES), where mbedTLS's
 * AES-GCM is several times faster than its ChaCha20-Poly1305, which mbedTLS's own default
 * order puts first for the benefit of small devices. Only AEAD suites, forward secret. */
static const int suites[] = {
    MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
    MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
    MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    0,
};

/*
 * Signature schemes the client offers, in order of preference. mbedTLS 3.6.6's default list
 * puts rsa_pss_rsae_* ahead of rsa_pkcs1_*, and one ClientHello offers them for TLS 1.2 and
 * 1.3 alike; but its TLS 1.2 client then refuses a ServerKeyExchange signed with
 * rsa_pss_rsae_* ("A field in a message was incorrect", a regression of 3.6.6, fixed
 * upstream after it). OpenSSL (nginx, Apache, HAProxy) and Go pick the first scheme of
 * the client's list their key can make, so with the default list every TLS 1.2 server
 * with an RSA key chose PSS and the handshake failed. PKCS#1 v1.5 first makes those
 * servers sign ServerKeyExchange the classic TLS 1.2 way; TLS 1.3 forbids PKCS#1 v1.5 in
 * CertificateVerify, so a TLS 1.3 server still picks PSS, which mbedTLS verifies there.
 * PKCS#1 v1.5 entries also cover the signatures on the certificates themselves
 * (sha256WithRSAEncryption). A TLS 1.2 server that insists on its own order and on PSS
 * gets a second try without PSS (tls_session_retry_tls12).
 */
static const uint16_t client_sig_algs[] = {
    MBEDTLS_TLS1_3_SIG_ECDSA_SECP256R1_SHA256, MBEDTLS_TLS1_3_SIG_ECDSA_SECP384R1_SHA384,
    MBEDTLS_TLS1_3_SIG_ECDSA_SECP521R1_SHA512, MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA256,
    MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA384,       MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA512,
    MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA256,    MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA384,
    MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA512,    MBEDTLS_TLS1_3_SIG_NONE,
};

static const char *const ca_paths[] = {
    "/etc/ssl/certs/ca-certificates.crt", /* Debian, Ubuntu */
    "/etc/pki/tls/certs/ca-bundle.crt",   /* RHEL, Fedora */
    "/etc/ssl/cert.pem",                  /* Alpine */
    "/etc/ssl/ca-bundle.pem",             /* SUSE */
};

static struct tls_config *config_alloc(void)
{
    struct tls_config *c = xcalloc(1, sizeof *c);
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_ssl_config_init(&c->conf12);
    mbedtls_x509_crt_init(&c->chain);
    mbedtls_pk_init(&c->key);
    return c;
}

void tls_config_free(struct tls_config *c)
{
    if (!c)
        return;
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_ssl_config_free(&c->conf12);
    mbedtls_x509_crt_free(&c->chain);
    mbedtls_pk_free(&c->key);
    free(c->ca_file);
    free(c->alpn_copy);
    free(c);
}

const char *tls_config_ca_file(const struct tls_config *c)
{
    return c->ca_file;
}

/* Whether an X.509/PK parse error is a key or signature algorithm mbedTLS does not know:
 * in practice Ed25519 or Ed448, or an RSA-PSS-only key (id-RSASSA-PSS), which mbedTLS 3.6
 * lacks. The high-level part of the code
 * says which stage failed (the low-level part names the OID lookup). */
static bool unsupported_alg(int ret)
{
    int high = -((-ret) & 0xff80);
    return high == MBEDTLS_ERR_X509_UNKNOWN_SIG_ALG || high == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG ||
           ret == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG;
}

static const char unsupported_alg_why[] =
    "its key or signature algorithm is not supported (RSA and ECDSA P-256/P-384/P-521 are; "
    "Ed25519, Ed448 and RSA-PSS-only keys are not: mbedTLS 3.6 has no EdDSA and no "
    "id-RSASSA-PSS keys)";

static int load_cas(struct tls_config *c, const char *ca_file, struct diag *d)
{
    const char *env = getenv("SSL_CERT_FILE");
    const char *path = ca_file;
    if (!path && env && *env && access(env, R_OK) == 0)
        path = env;
    for (size_t i = 0; !path && i < sizeof ca_paths / sizeof ca_paths[0]; i++)
        if (access(ca_paths[i], R_OK) == 0)
            path = ca_paths[i];
    if (!path)
        return diag_set(d, ERR_IO,
                        "no CA bundle found (tried $SSL_CERT_FILE, %s, %s, %s, %s); "
                        "pass --ca-file FILE, or --insecure to skip verification",
                        ca_paths[0], ca_paths[1], ca_paths[2], ca_paths[3]);
    if (access(path, R_OK) != 0)
        return diag_at(d, ERR_IO, path, 0, "cannot read CA file: %s", strerror(errno));
    /* A system bundle may hold a few certificates mbedTLS cannot parse (a positive
     * return counts them); what matters is that some parsed. */
    int ret = mbedtls_x509_crt_parse_file(&c->chain, path);
    if (ret < 0 || c->chain.version == 0) {
        char why[160];
        if (unsupported_alg(ret))
            snprintf(why, sizeof why, "%s", unsupported_alg_why);
        else
            mbed_reason(ret, why, sizeof why);
        return diag_at(d, ERR_TLS, path, 0, "no usable CA certificate: %s", why);
    }
    c->ca_file = xstrdup(path);
    return 0;
}

static void set_alpn(struct tls_config *c, mbedtls_ssl_config *conf, const char *alpn)
{
    if (!alpn)
        return;
    if (!c->alpn_copy) {
        c->alpn_copy = xstrdup(alpn);
        c->alpn[0] = c->alpn_copy;
        c->alpn[1] = NULL;
    }
    mbedtls_ssl_conf_alpn_protocols(conf, c->alpn);
}

/* One client mbedtls_ssl_config: TLS 1.2 up to max_version. */
static int client_conf(struct tls_config *c, mbedtls_ssl_config *conf,
                       mbedtls_ssl_protocol_version max_version, const struct tls_client_opts *o)
{
    int ret = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                          MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret)
        return ret;
    mbedtls_ssl_conf_rng(conf, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
    mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_max_tls_version(conf, max_version);
    mbedtls_ssl_conf_ciphersuites(conf, suites);
    mbedtls_ssl_conf_sig_algs(conf, client_sig_algs);
    if (o->insecure) {
        mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE);
    } else {
        mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(conf, &c->chain, NULL);
    }
    set_alpn(c, conf, o->alpn);
    return 0;
}

int tls_client_config_new(struct tls_config **out, const struct tls_client_opts *o, struct diag *d)
{
    *out = NULL;
    int rc = ensure_init(d);
    if (rc)
        return rc;
    struct tls_config *c = config_alloc();
    c->insecure = o->insecure;
    if (!o->insecure) {
        rc = load_cas(c, o->ca_file, d);
        if (rc) {
            tls_config_free(c);
            return rc;
        }
    }
    int ret = client_conf(c, &c->conf, MBEDTLS_SSL_VERSION_TLS1_3, o);
    if (!ret)
        ret = client_conf(c, &c->conf12, MBEDTLS_SSL_VERSION_TLS1_2, o);
    if (ret) {
        tls_config_free(c);
        return diag_set(d, ERR_TLS, "TLS: client defaults failed (-0x%04x)", (unsigned)-ret);
    }
    *out = c;
    return 0;
}

void tls_config_use_tls12(struct tls_config *c)
{
    c->use_tls12 = true;
}

int tls_server_config_new(struct tls_config **out, const char *cert_file, const char *key_file,
                          struct diag *d)
{
    *out = NULL;
    int rc = ensure_init(d);
    if (rc)
        return rc;
    struct tls_config *c = config_alloc();
    c->server = true;
    char why[160];
    int ret = mbedtls_x509_crt_parse_file(&c->chain, cert_file);
    if (ret != 0) {
        if (unsupported_alg(ret))
            snprintf(why, sizeof why, "%s", unsupported_alg_why);
        else
            mbed_reason(ret, why, sizeof why);
        tls_config_free(c);
        return diag_at(d, ret == MBEDTLS_ERR_PK_FILE_IO_ERROR ? ERR_IO : ERR_TLS, cert_file, 0,
                       "cannot load certificate: %s", why);
    }
    ret = mbedtls_pk_parse_keyfile(&c->key, key_file, NULL, mbedtls_psa_get_random,
                                   MBEDTLS_PSA_RANDOM_STATE);
    if (ret != 0) {
        if (unsupported_alg(ret))
            snprintf(why, sizeof why, "%s", unsupported_alg_why);
        else
            mbed_reason(ret, why, sizeof why);
        tls_config_free(c);
        return diag_at(d, ret == MBEDTLS_ERR_PK_FILE_IO_ERROR ? ERR_IO : ERR_TLS, key_file, 0,
                       "cannot load private key: %s", why);
    }
    if (mbedtls_pk_check_pair(&c->chain.pk, &c->key, mbedtls_psa_get_random,
                              MBEDTLS_PSA_RANDOM_STATE) != 0) {
        tls_config_free(c);
        return diag_at(d, ERR_TLS, key_file, 0, "private key does not match certificate %s",
                       cert_file);
    }
    ret = mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT);
    if (!ret)
        ret = mbedtls_ssl_conf_own_cert(&c->conf, &c->chain, &c->key);
    if (ret) {
        mbed_reason(ret, why, sizeof why);
        tls_config_free(c);
        return diag_set(d, ERR_TLS, "TLS: server setup failed: %s", why);
    }
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
    mbedtls_ssl_conf_min_tls_version(&c->conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_ciphersuites(&c->conf, suites);
    *out = c;
    return 0;
}

/* ---- sessions ---- */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct tls_session *s = ctx;
    for (;;) {
        ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return MBEDTLS_ERR_SSL_WANT_WRITE;
        s->sys_errno = errno;
        return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
                                                     : MBEDTLS_ERR_NET_SEND_FAILED;
    }
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct tls_session *s = ctx;
    for (;;) {
        int64_t t = 0;
        ssize_t n = s->rx_stamps ? rxstamp_recv(s->fd, buf, len, &t) : recv(s->fd, buf, len, 0);
        if (n > 0) /* a read that found nothing keeps the stamp of the last that did */
            s->rx_ns = t;
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return MBEDTLS_ERR_SSL_WANT_READ;
        s->sys_errno = errno;
        return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
    }
}

/*
 * Verification callback for IP-literal hosts, called for each certificate of the chain.
 * mbedTLS checks the name against the certificate only through the SNI host name, and
 * RFC 6066 forbids an IP literal as SNI; so for an IP host the name is not set and the
 * leaf's IP SANs are compared here (exact bytes: 4 for IPv4, 16 for IPv6). A certificate
 * with no matching IP SAN fails as a name mismatch, as a DNS name would.
 */
static int verify_ip(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    const struct tls_session *s = ctx;
    if (depth != 0)
        return 0;
    for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; san && san->buf.p;
         san = san->next) {
        int type = san->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK;
        if (type == MBEDTLS_X509_SAN_IP_ADDRESS && san->buf.len == s->ip_len &&
            memcmp(san->buf.p, s->ip, s->ip_len) == 0)
            return 0;
    }
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

int tls_session_new(struct tls_session **out, const struct tls_config *c, int fd, const char *host)
{
    *out = NULL;
    struct tls_session *s = xcalloc(1, sizeof *s);
    s->fd = fd;
    s->insecure = c->insecure;
    mbedtls_ssl_init(&s->ssl);
    bool tls12 = !c->server && c->use_tls12;
    s->offered_pss = !c->server && !tls12;
    int ret = mbedtls_ssl_setup(&s->ssl, tls12 ? &c->conf12 : &c->conf);
    if (!ret && !c->server && host) {
        snprintf(s->host, sizeof s->host, "%s", host);
        if (inet_pton(AF_INET, host, s->ip) == 1)
            s->ip_len = 4;
        else if (inet_pton(AF_INET6, host, s->ip) == 1)
            s->ip_len = 16;
        s->ip_host = s->ip_len > 0;
        if (s->ip_host) {
            /* NULL: no SNI, and mbedTLS leaves the name check to verify_ip. */
            ret = mbedtls_ssl_set_hostname(&s->ssl, NULL);
            if (!c->insecure)
                mbedtls_ssl_set_verify(&s->ssl, verify_ip, s);
        } else {
            ret = mbedtls_ssl_set_hostname(&s->ssl, host);
        }
    }
    if (!ret && !c->server && !host && !c->insecure)
        ret = MBEDTLS_ERR_SSL_CERTIFICATE_VERIFICATION_WITHOUT_HOSTNAME;
    if (ret) {
        mbedtls_ssl_free(&s->ssl);
        free(s);
        return ERR_TLS;
    }
    mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
    *out = s;
    return 0;
}

void tls_session_free(struct tls_session *s)
{
    if (!s)
        return;
    mbedtls_ssl_free(&s->ssl);
    free(s);
}

/* Appends "; what" (or "what" first) to the session's error line. */
static void err_add(struct tls_session *s, const char *what)
{
    size_t n = strlen(s->err);
    snprintf(s->err + n, sizeof s->err - n, "%s%s", n ? "; " : "", what);
}

static void describe_verify(struct tls_session *s)
{
    uint32_t f = mbedtls_ssl_get_verify_result(&s->ssl);
    s->err[0] = '\0';
    if (f & MBEDTLS_X509_BADCERT_EXPIRED)
        err_add(s, "certificate has expired");
    if (f & MBEDTLS_X509_BADCERT_FUTURE)
        err_add(s, "certificate is not yet valid");
    if (f & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
        char m[200];
        snprintf(m, sizeof m, "certificate is not valid for host name '%s'", s->host);
        err_add(s, m);
    }
    if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
        err_add(s, "certificate is not signed by a trusted CA (untrusted root; use --ca-file, "
                   "or --insecure to skip verification)");
    if (f & MBEDTLS_X509_BADCERT_REVOKED)
        err_add(s, "certificate is revoked");
    if (f & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE))
        err_add(s, "certificate is not allowed for TLS servers (key usage)");
    if (f &
        (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY))
        err_add(s, "certificate uses an unacceptable algorithm or key size");
    if (!s->err[0]) {
        char m[64];
        snprintf(m, sizeof m, "certificate verification failed (flags 0x%x)", (unsigned)f);
        err_add(s, m);
    }
}

/* The server's fatal alert, in words. mbedTLS returns only "a fatal alert was received";
 * the alert's code is the second byte of the record it just read (in_msg, a private field
 * of 3.6, read only here and only for this message). The common handshake refusals say
 * what to check, since the server gives no other reason. */
static void describe_alert(struct tls_session *s)
{
    unsigned code = s->ssl.MBEDTLS_PRIVATE(in_msg)[1];
    const char *what;
    switch (code) {
    case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE:
        /* Short enough for a record's error field (the worker's line is 256 bytes). */
        what = "handshake_failure: nothing in common; metronome offers TLS 1.2/1.3 with RSA or "
               "ECDSA P-256/384/521 certificates, not Ed25519, Ed448 or RSA-PSS-only keys";
        break;
    case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION:
        what = "protocol_version: the server speaks neither TLS 1.2 nor TLS 1.3";
        break;
    case MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY:
        what = "insufficient_security: no cipher suite strong enough for the server in common";
        break;
    case MBEDTLS_SSL_ALERT_MSG_UNRECOGNIZED_NAME:
        what = "unrecognized_name: the server has no certificate for this host name";
        break;
    case MBEDTLS_SSL_ALERT_MSG_NO_APPLICATION_PROTOCOL:
        what = "no_application_protocol: the server does not speak HTTP/1.1 (ALPN)";
        break;
    case MBEDTLS_SSL_ALERT_MSG_BAD_CERT:
        what = "bad_certificate";
        break;
    case MBEDTLS_SSL_ALERT_MSG_CERT_REQUIRED:
        what = "certificate_required: the server asks for a client certificate, which "
               "metronome does not send";
        break;
    case MBEDTLS_SSL_ALERT_MSG_ILLEGAL_PARAMETER:
        what = "illegal_parameter";
        break;
    case MBEDTLS_SSL_ALERT_MSG_DECODE_ERROR:
        what = "decode_error";
        break;
    case MBEDTLS_SSL_ALERT_MSG_INTERNAL_ERROR:
        what = "internal_error";
        break;
    default:
        what = NULL;
        break;
    }
    if (what)
        snprintf(s->err, sizeof s->err, "the server refused the handshake (alert %s)", what);
    else
        snprintf(s->err, sizeof s->err, "the server sent fatal TLS alert %u", code);
}

/* Maps an mbedTLS result to ours and records why it failed. */
static int map_error(struct tls_session *s, int ret)
{
    if (ret == MBEDTLS_ERR_SSL_WANT_READ)
        return TLS_WANT_READ;
    if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_ASYNC_IN_PROGRESS ||
        ret == MBEDTLS_ERR_SSL_CRYPTO_IN_PROGRESS)
        return TLS_WANT_WRITE;
    if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        describe_verify(s);
        return ERR_TLS;
    }
    if (ret == MBEDTLS_ERR_NET_CONN_RESET || ret == MBEDTLS_ERR_NET_SEND_FAILED ||
        ret == MBEDTLS_ERR_NET_RECV_FAILED) {
        snprintf(s->err, sizeof s->err, "%s",
                 s->sys_errno ? strerror(s->sys_errno) : "connection reset by peer");
        return ERR_IO;
    }
    if (ret == MBEDTLS_ERR_SSL_CONN_EOF) {
        snprintf(s->err, sizeof s->err, "connection closed by peer during TLS");
        return ERR_IO;
    }
    if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
        describe_alert(s);
        return ERR_TLS;
    }
    char why[160];
    mbed_reason(ret, why, sizeof why);
    snprintf(s->err, sizeof s->err, "TLS error: %s", why);
    return ERR_TLS;
}

int tls_handshake(struct tls_session *s)
{
    int ret = mbedtls_ssl_handshake(&s->ssl);
    if (ret == 0)
        return 0;
    int rc = map_error(s, ret);
    /* mbedTLS 3.6.6 refuses rsa_pss_rsae_* in a TLS 1.2 ServerKeyExchange (see
     * client_sig_algs) with exactly this error; its TLS 1.2-only config does not offer
     * PSS, so a second connection with it succeeds. */
    if (ret == MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER && s->offered_pss &&
        mbedtls_ssl_get_version_number(&s->ssl) == MBEDTLS_SSL_VERSION_TLS1_2) {
        s->retry_tls12 = true;
        snprintf(s->err, sizeof s->err,
                 "TLS error: the TLS 1.2 server rejected or sent an inconsistent handshake "
                 "field (likely an RSA-PSS signature, which mbedTLS 3.6.6 cannot verify in "
                 "TLS 1.2)");
    }
    return rc;
}

bool tls_session_retry_tls12(const struct tls_session *s)
{
    return s->retry_tls12;
}

long tls_read(struct tls_session *s, void *buf, size_t len)
{
    for (;;) {
        int ret = mbedtls_ssl_read(&s->ssl, buf, len);
        if (ret > 0)
            return ret;
        if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            snprintf(s->err, sizeof s->err, "%s",
                     ret ? "peer sent close_notify" : "peer closed without close_notify");
            return 0;
        }
        if (ret == MBEDTLS_ERR_SSL_CONN_EOF) {
            snprintf(s->err, sizeof s->err, "peer closed without close_notify");
            return 0;
        }
        /* TLS 1.3 post-handshake messages surface here; nothing to do but read on. */
        if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            continue;
        return map_error(s, ret);
    }
}

long tls_write(struct tls_session *s, const void *buf, size_t len)
{
    int ret = mbedtls_ssl_write(&s->ssl, buf, len);
    return ret >= 0 ? ret : map_error(s, ret);
}

int tls_close_notify(struct tls_session *s)
{
    int ret = mbedtls_ssl_close_notify(&s->ssl);
    return ret == 0 ? 0 : map_error(s, ret);
}

void tls_session_rx_stamps(struct tls_session *s)
{
    s->rx_stamps = true;
}

int64_t tls_session_rx_ns(const struct tls_session *s)
{
    return s->rx_ns;
}

size_t tls_pending(const struct tls_session *s)
{
    return mbedtls_ssl_get_bytes_avail(&s->ssl);
}

const char *tls_session_error(const struct tls_session *s)
{
    return s->err;
}

const char *tls_session_version(const struct tls_session *s)
{
    return mbedtls_ssl_get_version(&s->ssl);
}

const char *tls_session_cipher(const struct tls_session *s)
{
    const char *c = mbedtls_ssl_get_ciphersuite(&s->ssl);
    return c ? c : "";
}

/* ---- self-signed PKI ---- */

static int gen_key(mbedtls_pk_context *k)
{
    int ret = mbedtls_pk_setup(k, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (!ret)
        ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*k),
                                  mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
    return ret;
}

static void fmt_time(char out[15], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 15, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A distinguished-name value may not carry ',' '=' '+' etc. unescaped; host names and
 * IP literals never do, but refuse anything else rather than mint a surprising subject. */
static bool plain_host(const char *h)
{
    if (!*h || strlen(h) > 253)
        return false;
    for (const char *p = h; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.' || ch == ':' || ch == '_' || ch == '*'))
            return false;
    }
    return true;
}

struct san_set {
    mbedtls_x509_san_list node[4];
    unsigned char ip[4][16];
    size_t n;
};

static void san_add(struct san_set *s, const char *name)
{
    mbedtls_x509_san_list *l = &s->node[s->n];
    memset(l, 0, sizeof *l);
    unsigned char *ip = s->ip[s->n];
    if (inet_pton(AF_INET, name, ip) == 1) {
        l->node.type = MBEDTLS_X509_SAN_IP_ADDRESS;
        l->node.san.unstructured_name.p = ip;
        l->node.san.unstructured_name.len = 4;
    } else if (inet_pton(AF_INET6, name, ip) == 1) {
        l->node.type = MBEDTLS_X509_SAN_IP_ADDRESS;
        l->node.san.unstructured_name.p = ip;
        l->node.san.unstructured_name.len = 16;
    } else {
        l->node.type = MBEDTLS_X509_SAN_DNS_NAME;
        l->node.san.unstructured_name.p = (unsigned char *)(uintptr_t)name;
        l->node.san.unstructured_name.len = strlen(name);
    }
    if (s->n > 0)
        s->node[s->n - 1].next = l;
    s->n++;
}

/* Writes one certificate as PEM into out (capacity n). */
static int write_cert(mbedtls_pk_context *subject_key, mbedtls_pk_context *issuer_key,
                      const char *subject, const char *issuer, bool ca, unsigned char serial,
                      int days, const struct san_set *san, unsigned char *out, size_t n)
{
    mbedtls_x509write_cert w;
    mbedtls_x509write_crt_init(&w);
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, subject_key);
    mbedtls_x509write_crt_set_issuer_key(&w, issuer_key);
    unsigned char sn[16];
    int ret = mbedtls_psa_get_random(MBEDTLS_PSA_RANDOM_STATE, sn, sizeof sn);
    sn[0] = (unsigned char)((sn[0] & 0x3f) | 0x40); /* positive, full length */
    sn[15] = serial;
    char nb[15], na[15];
    time_t now = time(NULL);
    fmt_time(nb, now - 86400);
    fmt_time(na, now + (time_t)days * 86400);
    if (!ret)
        ret = mbedtls_x509write_crt_set_serial_raw(&w, sn, sizeof sn);
    if (!ret)
        ret = mbedtls_x509write_crt_set_validity(&w, nb, na);
    if (!ret)
        ret = mbedtls_x509write_crt_set_subject_name(&w, subject);
    if (!ret)
        ret = mbedtls_x509write_crt_set_issuer_name(&w, issuer);
    if (!ret)
        ret = mbedtls_x509write_crt_set_basic_constraints(&w, ca, ca ? 0 : -1);
    if (!ret)
        ret = mbedtls_x509write_crt_set_subject_key_identifier(&w);
    if (!ret)
        ret = mbedtls_x509write_crt_set_authority_key_identifier(&w);
    if (!ret)
        ret = mbedtls_x509write_crt_set_key_usage(&w, ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN |
                                                               MBEDTLS_X509_KU_CRL_SIGN
                                                         : MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    mbedtls_asn1_sequence eku;
    memset(&eku, 0, sizeof eku);
    if (!ret && !ca) {
        eku.buf.tag = MBEDTLS_ASN1_OID;
        eku.buf.p = (unsigned char *)(uintptr_t)MBEDTLS_OID_SERVER_AUTH;
        eku.buf.len = MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH);
        ret = mbedtls_x509write_crt_set_ext_key_usage(&w, &eku);
    }
    if (!ret && san && san->n)
        ret = mbedtls_x509write_crt_set_subject_alternative_name(&w, &san->node[0]);
    if (!ret)
        ret =
            mbedtls_x509write_crt_pem(&w, out, n, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
    mbedtls_x509write_crt_free(&w);
    return ret;
}

static int write_file(const char *dir, const char *name, const void *data, size_t n, bool secret,
                      struct diag *d)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return diag_at(d, ERR_INVALID, dir, 0, "directory path too long");
    struct afile a;
    int rc = afile_open(&a, path, d);
    if (rc)
        return rc;
    /* The key is made private before a byte of it is written. */
    if (fchmod(a.fd, secret ? 0600 : 0644) != 0 || fwrite(data, 1, n, a.f) != n) {
        int e = errno;
        afile_abort(&a);
        return diag_at(d, ERR_IO, path, 0, "cannot write: %s", strerror(e));
    }
    return afile_commit(&a, d);
}

int tls_make_self_signed(const char *dir, const char *hostname, struct diag *d)
{
    int rc = ensure_init(d);
    if (rc)
        return rc;
    if (!plain_host(hostname))
        return diag_set(d, ERR_INVALID, "'%s' is not a host name or IP address", hostname);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return diag_at(d, ERR_IO, dir, 0, "not a directory");

    struct san_set san = {0};
    san_add(&san, hostname);
    if (strcmp(hostname, "localhost") == 0) {
        san_add(&san, "127.0.0.1");
        san_add(&san, "::1");
    } else if (strcmp(hostname, "127.0.0.1") == 0 || strcmp(hostname, "::1") == 0) {
        san_add(&san, "localhost");
    }
    char subject[300];
    snprintf(subject, sizeof subject, "CN=%s,O=metronome", hostname);

    mbedtls_pk_context ca_key, srv_key;
    mbedtls_pk_init(&ca_key);
    mbedtls_pk_init(&srv_key);
    size_t cap = 4096;
    unsigned char *ca_pem = xcalloc(1, cap), *srv_pem = xcalloc(1, cap * 2),
                  *key_pem = xcalloc(1, cap);
    int ret = gen_key(&ca_key);
    if (!ret)
        ret = gen_key(&srv_key);
    if (!ret)
        ret = write_cert(&ca_key, &ca_key, "CN=metronome test CA,O=metronome",
                         "CN=metronome test CA,O=metronome", true, 1, 3650, NULL, ca_pem, cap);
    if (!ret)
        ret = write_cert(&srv_key, &ca_key, subject, "CN=metronome test CA,O=metronome", false, 2,
                         825, &san, srv_pem, cap);
    if (!ret)
        ret = mbedtls_pk_write_key_pem(&srv_key, key_pem, cap);
    if (ret) {
        char why[128];
        mbed_reason(ret, why, sizeof why);
        rc = diag_set(d, ERR_TLS, "cannot make a self-signed certificate: %s", why);
    } else {
        /* server.pem carries the chain (leaf, then CA) so servers can send both. */
        size_t leaf = strlen((char *)srv_pem), cal = strlen((char *)ca_pem);
        memcpy(srv_pem + leaf, ca_pem, cal + 1);
        rc = write_file(dir, "server.key", key_pem, strlen((char *)key_pem), true, d);
        if (!rc)
            rc = write_file(dir, "server.pem", srv_pem, leaf + cal, false, d);
        if (!rc)
            rc = write_file(dir, "ca.pem", ca_pem, cal, false, d);
    }
    mbedtls_platform_zeroize(key_pem, cap);
    free(ca_pem);
    free(srv_pem);
    free(key_pem);
    mbedtls_pk_free(&ca_key);
    mbedtls_pk_free(&srv_key);
    return rc;
}
