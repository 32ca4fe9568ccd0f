/*
 * tls: TLS 1.2/1.3 over mbedTLS for the replay client and the mock server, nonblocking on a
 * caller-owned socket and driven by the caller's epoll loop.
 *
 * Two kinds of objects:
 *  - struct tls_config: built once (CA chain, or server certificate and key; verification
 *    mode; ALPN) and then only read. One config may be used by any number of sessions on
 *    any number of threads at once; it must outlive them and must not be changed after the
 *    first session exists. Creating and freeing configs is thread-safe (PSA, mbedTLS's
 *    crypto core, is initialised once, process-wide, by the first config).
 *  - struct tls_session: one per connection, owned by the one thread that drives it.
 *
 * Verification (client): on by default against a CA bundle: `ca_file` if given, else the
 * first readable of $SSL_CERT_FILE, /etc/ssl/certs/ca-certificates.crt (Debian/Ubuntu),
 * /etc/pki/tls/certs/ca-bundle.crt (RHEL/Fedora), /etc/ssl/cert.pem (Alpine),
 * /etc/ssl/ca-bundle.pem (SUSE). The host name is checked against the certificate's SAN
 * and sent as SNI; an IP literal (IPv4 or IPv6) is checked against the IP SANs and, as
 * RFC 6066 requires, not sent as SNI. `insecure` turns the checks off.
 *
 * Certificates: RSA (2048 bits and up; PKCS#1 v1.5 and PSS signatures) and ECDSA on
 * P-256, P-384 and P-521, in TLS 1.2 and 1.3. Ed25519/Ed448 are not supported (mbedTLS 3.6
 * has no EdDSA); such a server refuses the handshake with an alert the error names.
 *
 * Nonblocking driving: tls_handshake, tls_read and tls_write return TLS_WANT_READ or
 * TLS_WANT_WRITE when the socket would block; wait for that readiness and call the same
 * function again (tls_write with the same bytes). Errors are negative enum err values
 * (ERR_TLS, ERR_IO) with a one-line reason from tls_session_error. Secrets never reach
 * logs: the error strings carry no key material or application data.
 *
 * The first config installs a counting allocator into mbedTLS (tls_heap_bytes); it counts
 * the C library's usable sizes, so mbedTLS use elsewhere (hashing) stays safe before and
 * after.
 */
#ifndef METRONOME_TLS_H
#define METRONOME_TLS_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_WANT_READ  (-100)
#define TLS_WANT_WRITE (-101)

struct tls_config;
struct tls_session;

struct tls_client_opts {
    const char *ca_file; /* PEM bundle; NULL probes the system bundle (above) */
    bool insecure;       /* no certificate or host-name verification */
    const char *alpn;    /* e.g. "http/1.1"; NULL sends no ALPN */
};

/* Client configuration. ERR_IO when no CA bundle can be read (diag names what was tried),
 * ERR_TLS when the bundle holds no usable certificate. With `insecure`, no bundle is read. */
int tls_client_config_new(struct tls_config **out, const struct tls_client_opts *o, struct diag *d);
/* Server configuration from PEM files: a certificate (chain, leaf first) and its key.
 * Fails if either cannot be read or parsed, or the key does not match the certificate. */
int tls_server_config_new(struct tls_config **out, const char *cert_file, const char *key_file,
                          struct diag *d);
/* From now on, sessions of this client config speak TLS 1.2 only and offer no RSA-PSS
 * signatures: for a TLS 1.2 server that signs with RSA-PSS whatever the client prefers,
 * which mbedTLS 3.6.6 cannot verify in TLS 1.2 (tls_session_retry_tls12 says when). Call
 * before any session of c exists (the config is otherwise read-only). */
void tls_config_use_tls12(struct tls_config *c);
/* The CA bundle a client config loaded (NULL for insecure or server configs). */
const char *tls_config_ca_file(const struct tls_config *c);
void tls_config_free(struct tls_config *c);

/*
 * A session on a connected socket `fd` (nonblocking or not; the session never closes it).
 * `host` (client only) is the name to send as SNI and verify; it must be non-NULL for a
 * client config unless insecure. Returns 0 or ERR_TLS.
 */
int tls_session_new(struct tls_session **out, const struct tls_config *c, int fd, const char *host);
void tls_session_free(struct tls_session *s);

/* 0 when the handshake is complete, TLS_WANT_READ/WRITE, or ERR_TLS / ERR_IO (the reason,
 * e.g. "certificate has expired", from tls_session_error). */
int tls_handshake(struct tls_session *s);
/*
 * Reads decrypted bytes: > 0 bytes, 0 when the peer closed (close_notify or plain EOF;
 * tls_session_error tells which), TLS_WANT_READ/WRITE, or a negative error. One record
 * may hold more than len bytes: call again while it returns > 0 (or tls_pending() > 0)
 * before waiting on the socket, or buffered plaintext will sit unseen.
 */
long tls_read(struct tls_session *s, void *buf, size_t len);
/* Writes up to len bytes: > 0 bytes taken, TLS_WANT_READ/WRITE (call again with the same
 * bytes), or a negative error. */
long tls_write(struct tls_session *s, const void *buf, size_t len);
/* After a failed tls_handshake: whether the failure is the one a TLS 1.2 server signing
 * with RSA-PSS causes (see tls_config_use_tls12), so a new connection with a TLS 1.2
 * config may succeed. */
bool tls_session_retry_tls12(const struct tls_session *s);
/* Sends close_notify: 0, TLS_WANT_WRITE, or a negative error. Optional before close(). */
int tls_close_notify(struct tls_session *s);
/* Decrypted bytes buffered inside the session. */
size_t tls_pending(const struct tls_session *s);
/* Reads the socket with kernel receive timestamps from now on (the caller has enabled
 * them with rxstamp_enable). tls_session_rx_ns: the arrival (CLOCK_MONOTONIC) of the
 * bytes the session's last socket read returned, 0 when unknown. */
void tls_session_rx_stamps(struct tls_session *s);
int64_t tls_session_rx_ns(const struct tls_session *s);
/* The last error's reason, one line ("" when none). Valid until the next call on s. */
const char *tls_session_error(const struct tls_session *s);
/* Negotiated protocol ("TLSv1.3") and cipher suite, after the handshake. */
const char *tls_session_version(const struct tls_session *s);
const char *tls_session_cipher(const struct tls_session *s);

/*
 * Makes a test PKI in `dir` (which must exist): a CA (ECDSA P-256, 10 years) and a server
 * certificate for `hostname` (ECDSA P-256, SAN = the DNS name or IP address, plus
 * "localhost" and 127.0.0.1 when hostname is a loopback name, valid from one day ago for
 * 825 days), written as ca.pem, server.pem (leaf then CA) and server.key (mode 0600),
 * each atomically. The CA key is not kept. Returns 0 or a negative enum err with d filled.
 */
int tls_make_self_signed(const char *dir, const char *hostname, struct diag *d);

/* Bytes currently allocated by mbedTLS across the process (all threads), as the C library
 * sized the blocks (malloc_usable_size); 0 before the first config. */
size_t tls_heap_bytes(void);

#endif
