/* The URL parser and what it feeds the wire (src/net/endpoint.c), over arbitrary --url and
 * endpoint path strings (the input, split at its first NUL): a parsed URL has a host and a
 * port in range, and no byte that would break the request line or the Host header in any
 * part; the request target joined from it is one such token starting with '/'; redaction
 * is idempotent, never changes where a request goes (host, port, path, scheme) and keeps
 * no userinfo; a refusal always comes with a message. */
#include "endpoint.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static void clean(const char *s, bool allow_empty)
{
    FUZZ_ASSERT(allow_empty || *s);
    for (; *s; s++)
        FUZZ_ASSERT((unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f);
}

static char *redact(const char *s, bool words)
{
    struct buf b;
    buf_init(&b, 0);
    if (words)
        url_redact_words(s, &b);
    else
        url_redact(s, strlen(s), &b);
    buf_putc(&b, 0); /* an empty result still gets memory */
    return buf_release(&b);
}

FUZZ_TARGET(url)
{
    if (size > 8192)
        return 0;
    char *in = malloc(size + 2);
    memcpy(in, data, size);
    in[size] = in[size + 1] = '\0';
    const char *url = in, *ep = in + strlen(in) + (strlen(in) < size ? 1 : 0);
    struct url u;
    struct diag d;
    memset(&d, 0, sizeof d);
    int rc = url_parse(url, &u, &d);
    FUZZ_ASSERT(rc == 0 || rc == ERR_INVALID);
    if (rc) {
        FUZZ_ASSERT(d.msg[0] != '\0');
    } else {
        clean(u.host, false);
        clean(u.path, true);
        clean(u.query, true);
        clean(u.authority, false);
        long port = strtol(u.port, NULL, 10);
        FUZZ_ASSERT(port >= 1 && port <= 65535);
        size_t pl = strlen(u.path);
        FUZZ_ASSERT(pl == 0 || (u.path[0] == '/' && u.path[pl - 1] != '/'));
        FUZZ_ASSERT(strchr(u.path, '?') == NULL && strchr(u.path, '#') == NULL);
        FUZZ_ASSERT(strchr(u.query, '#') == NULL);
        if (wire_check("--custom-endpoint", ep, false, &d) == 0) {
            char target[URL_PATH_MAX + URL_QUERY_MAX + 8];
            for (int custom = 0; custom < 2; custom++)
                if (url_join_path(&u, ep, custom, target, sizeof target) == 0) {
                    clean(target, false);
                    FUZZ_ASSERT(target[0] == '/');
                    if (u.query[0])
                        FUZZ_ASSERT(strstr(target, u.query) != NULL);
                }
        }
        /* redaction keeps where requests go, and drops the userinfo */
        char *r = redact(url, false);
        struct url ru;
        if (url_parse(r, &ru, &d) == 0) {
            FUZZ_ASSERT(ru.tls == u.tls && !strcmp(ru.host, u.host) && !strcmp(ru.port, u.port) &&
                        !strcmp(ru.path, u.path));
            FUZZ_ASSERT(!u.has_userinfo || (ru.has_userinfo && !strcmp(ru.userinfo, "<redacted>")));
        } else {
            /* "<redacted>" is longer than a short value: only a length cap may refuse it */
            FUZZ_ASSERT(strlen(r) > strlen(url) && strstr(d.msg, "too long"));
        }
        free(r);
    }
    for (int words = 0; words < 2; words++) {
        char *r1 = redact(url, words);
        char *r2 = redact(r1, words);
        FUZZ_ASSERT(!strcmp(r1, r2));
        free(r1);
        free(r2);
    }
    free(in);
    return 0;
}
