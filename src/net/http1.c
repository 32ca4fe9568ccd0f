/*
 * HTTP/1.1 heads, chunked bodies and writers. The head parsers work in two passes: first
 * find the blank line that ends the head (resuming at last_len, so a head that trickles in
 * costs O(n) overall), then parse the complete head knowing its bounds. The second pass
 * therefore never needs an "incomplete" path and never looks past the blank line.
 * docs/protocols.md lists what is accepted and rejected, and why.
 */
#include "http1.h"

#include "err.h"
#include "membyte.h"

#include <string.h>

/* Chunk sizes above this are refused: nobody streams 4 EiB, and it keeps sums safe. */
#define CHUNK_SIZE_MAX ((uint64_t)1 << 62)
#define CHUNK_LINE_MAX 4096 /* a size line with extensions */
#define LENGTH_MAX     ((uint64_t)1 << 62)
#define MAX_EMPTY_LEAD 8  /* empty lines tolerated before a request line (RFC 9112 §2.2) */
#define METHOD_MAX     32 /* the longest registered method is 17 bytes */

/* RFC 9110 tchar: the bytes allowed in methods, header names and transfer codings. */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,  ['~'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,  ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,  ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1,  ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,  ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1,  ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,  ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* Field values, reason phrases: HTAB, SP, VCHAR, obs-text. No CR, LF, NUL, DEL. */
static bool is_text(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return false;
    return true;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Finds the end of a head that starts at `start`: the byte after the LF of its first empty
 * line. Lines end in LF with an optional CR before it. The previous call scanned
 * [start, last_len) without finding an end, so an end (at most "\n\r\n") starts no earlier
 * than last_len - 3. Returns the end offset, HTTP1_INCOMPLETE or HTTP1_ERROR (too long).
 */
static long find_head_end(const char *buf, size_t len, size_t start, size_t last_len)
{
    size_t i = last_len >= start + 3 ? last_len - 3 : start;
    while (i < len) {
        const char *nl = membyte(buf + i, '\n', len - i);
        if (!nl)
            break;
        size_t k = (size_t)(nl - buf);
        if (k + 1 < len && buf[k + 1] == '\n')
            return k + 2 <= HTTP1_MAX_HEAD ? (long)(k + 2) : HTTP1_ERROR;
        if (k + 2 < len && buf[k + 1] == '\r' && buf[k + 2] == '\n')
            return k + 3 <= HTTP1_MAX_HEAD ? (long)(k + 3) : HTTP1_ERROR;
        i = k + 1;
    }
    return len >= HTTP1_MAX_HEAD ? HTTP1_ERROR : HTTP1_INCOMPLETE;
}

/* The line starting at p inside a complete head: its content end (before CR LF) and the
 * start of the next line. A CR anywhere but before the LF is left in the content, where
 * the byte checks reject it. */
static const char *line_end(const char *p, const char *end, const char **next)
{
    const char *nl = membyte(p, '\n', (size_t)(end - p));
    /* find_head_end guarantees every line of the head ends in LF. */
    *next = nl + 1;
    return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

/* Parses header lines from p up to the blank line that ends the head. */
static int parse_headers(const char *p, const char *end, struct http1_header *h, size_t *nh)
{
    size_t n = 0;
    for (;;) {
        const char *next;
        const char *e = line_end(p, end, &next);
        if (e == p)
            break; /* the empty line */
        if (*p == ' ' || *p == '\t')
            return HTTP1_ERROR; /* obs-fold: refused (RFC 9112 §5.2) */
        if (n == HTTP1_MAX_HEADERS)
            return HTTP1_ERROR;
        const char *q = p;
        while (q < e && tchar[(unsigned char)*q])
            q++;
        if (q == p || q == e || *q != ':')
            return HTTP1_ERROR; /* empty name, non-token byte, or space before colon */
        h[n].name = p;
        h[n].name_len = (size_t)(q - p);
        q++;
        while (q < e && is_ows(*q))
            q++;
        const char *ve = e;
        while (ve > q && is_ows(ve[-1]))
            ve--;
        for (const char *c = q; c < ve; c++)
            if (!is_text((unsigned char)*c))
                return HTTP1_ERROR;
        h[n].value = q;
        h[n].value_len = (size_t)(ve - q);
        n++;
        p = next;
    }
    *nh = n;
    return 0;
}

/* "HTTP/1.x" at p; returns the minor version or -1. */
static int parse_version(const char *p, const char *e)
{
    if (e - p < 8 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9')
        return -1;
    return p[7] - '0';
}

/* Calls fn on each non-empty element of a comma-separated list, trimmed of OWS. */
static int each_element(const char *v, size_t n, int (*fn)(void *, const char *, size_t), void *ctx)
{
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && is_ows(v[a]))
            a++;
        while (b > a && is_ows(v[b - 1]))
            b--;
        if (b > a) {
            int rc = fn(ctx, v + a, b - a);
            if (rc)
                return rc;
        }
        i = j + 1;
    }
    return 0;
}

/* What the framing headers say, before status and method rules are applied. */
struct framing {
    bool has_length;
    uint64_t length;
    size_t length_elems;
    bool has_te;
    bool chunked;
    bool conn_close;
    bool conn_keep_alive;
    bool expect_continue;
    int hosts;
    const char *content_type;
    size_t content_type_len;
};

static int length_element(void *ctx, const char *v, size_t n)
{
    struct framing *f = ctx;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return HTTP1_ERROR;
        x = x * 10 + (uint64_t)(v[i] - '0');
        if (x > LENGTH_MAX)
            return HTTP1_ERROR;
    }
    if (f->has_length && f->length != x)
        return HTTP1_ERROR;
    f->has_length = true;
    f->length_elems++;
    f->length = x;
    return 0;
}

static int te_element(void *ctx, const char *v, size_t n)
{
    struct framing *f = ctx;
    /* Only chunked, once: we cannot decode other codings, and chunked must be last. */
    if (!ieq(v, n, "chunked") || f->chunked)
        return HTTP1_ERROR;
    f->chunked = true;
    return 0;
}

static int conn_element(void *ctx, const char *v, size_t n)
{
    struct framing *f = ctx;
    if (ieq(v, n, "close"))
        f->conn_close = true;
    else if (ieq(v, n, "keep-alive"))
        f->conn_keep_alive = true;
    return 0;
}

static int read_framing(const struct http1_header *h, size_t n, struct framing *f)
{
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < n; i++) {
        const char *name = h[i].name, *v = h[i].value;
        size_t nl = h[i].name_len, vl = h[i].value_len;
        int rc = 0;
        if (ieq(name, nl, "content-length")) {
            size_t before = f->length_elems;
            rc = each_element(v, vl, length_element, f);
            if (!rc && f->length_elems == before)
                return HTTP1_ERROR; /* empty, or only commas */
        } else if (ieq(name, nl, "transfer-encoding")) {
            f->has_te = true;
            rc = each_element(v, vl, te_element, f);
        } else if (ieq(name, nl, "connection")) {
            rc = each_element(v, vl, conn_element, f);
        } else if (ieq(name, nl, "content-type")) {
            f->content_type = v;
            f->content_type_len = vl;
        } else if (ieq(name, nl, "expect")) {
            f->expect_continue = ieq(v, vl, "100-continue");
        } else if (ieq(name, nl, "host")) {
            f->hosts++;
        }
        if (rc)
            return rc;
    }
    if (f->has_te && !f->chunked)
        return HTTP1_ERROR; /* "Transfer-Encoding:" with an empty list */
    return 0;
}

/* While a head is incomplete, refuse what can never become one, so garbage without a
 * blank line fails now rather than after HTTP1_MAX_HEAD bytes. Only checks the full
 * parse would also make, so the verdict never depends on how the bytes arrived. */
static bool bad_status_prefix(const char *buf, size_t len)
{
    static const char v[] = "HTTP/1.";
    size_t n = len < 7 ? len : 7;
    if (memcmp(buf, v, n) != 0)
        return true;
    return len > 7 && (buf[7] < '0' || buf[7] > '9');
}

static bool bad_method_prefix(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && i <= METHOD_MAX && tchar[(unsigned char)p[i]])
        i++;
    return i > METHOD_MAX || (i < n && (i == 0 || p[i] != ' '));
}

int http1_parse_response(const char *buf, size_t len, size_t last_len, bool head_request,
                         struct http1_response *r)
{
    long end = find_head_end(buf, len, 0, last_len);
    if (end == HTTP1_INCOMPLETE && bad_status_prefix(buf, len))
        return HTTP1_ERROR;
    if (end < 0)
        return (int)end;
    const char *hend = buf + end;
    const char *next;
    const char *e = line_end(buf, hend, &next);

    /* Status line: HTTP/1.x SP 3DIGIT [SP reason] */
    int minor = parse_version(buf, e);
    if (minor < 0 || e - buf < 12 || buf[8] != ' ')
        return HTTP1_ERROR;
    const char *s = buf + 9;
    for (int i = 0; i < 3; i++)
        if (s[i] < '0' || s[i] > '9')
            return HTTP1_ERROR;
    int status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    if (status < 100)
        return HTTP1_ERROR;
    const char *reason = s + 3;
    if (reason < e) {
        if (*reason != ' ')
            return HTTP1_ERROR;
        reason++;
    }
    for (const char *c = reason; c < e; c++)
        if (!is_text((unsigned char)*c))
            return HTTP1_ERROR;
    r->minor_version = minor;
    r->status = status;
    r->reason = reason;
    r->reason_len = (size_t)(e - reason);

    int rc = parse_headers(next, hend, r->headers, &r->nheaders);
    if (rc)
        return rc;
    struct framing f;
    rc = read_framing(r->headers, r->nheaders, &f);
    if (rc)
        return rc;
    if (f.has_te && minor == 0)
        return HTTP1_ERROR; /* RFC 9112 §6.1: faulty framing in HTTP/1.0 */

    r->content_type = f.content_type;
    r->content_type_len = f.content_type_len;
    r->content_length = 0;
    r->keep_alive = minor >= 1 ? !f.conn_close : f.conn_keep_alive && !f.conn_close;
    if (status < 200) {
        /* An interim response: the real one follows on the same connection. */
        r->framing = HTTP1_BODY_NONE;
        r->keep_alive = status != 101;
    } else if (head_request || status == 204 || status == 304) {
        r->framing = HTTP1_BODY_NONE;
    } else if (f.chunked) {
        r->framing = HTTP1_BODY_CHUNKED;
        /* Both headers: chunked wins (RFC 9112 §6.3), but the sender is suspect. */
        if (f.has_length)
            r->keep_alive = false;
    } else if (f.has_length) {
        r->framing = HTTP1_BODY_LENGTH;
        r->content_length = f.length;
    } else {
        r->framing = HTTP1_BODY_CLOSE;
        r->keep_alive = false;
    }
    return (int)end;
}

int http1_parse_request(const char *buf, size_t len, size_t last_len, struct http1_request *r)
{
    /* RFC 9112 §2.2: a server SHOULD ignore empty lines before the request line. */
    size_t start = 0;
    for (int empties = 0; start < len && (buf[start] == '\r' || buf[start] == '\n');) {
        if (buf[start] == '\r') {
            if (start + 1 == len)
                return HTTP1_INCOMPLETE;
            if (buf[start + 1] != '\n')
                return HTTP1_ERROR;
            start++;
        }
        start++;
        if (++empties > MAX_EMPTY_LEAD)
            return HTTP1_ERROR;
    }
    if (start == len)
        return HTTP1_INCOMPLETE;
    long end = find_head_end(buf, len, start, last_len);
    if (end == HTTP1_INCOMPLETE && bad_method_prefix(buf + start, len - start))
        return HTTP1_ERROR;
    if (end < 0)
        return (int)end;
    const char *hend = buf + end;
    const char *p = buf + start;
    const char *next;
    const char *e = line_end(p, hend, &next);

    /* Request line: method SP target SP HTTP/1.x, single spaces. */
    const char *q = p;
    while (q < e && tchar[(unsigned char)*q])
        q++;
    if (q == p || q == e || *q != ' ' || q - p > METHOD_MAX)
        return HTTP1_ERROR;
    r->method = p;
    r->method_len = (size_t)(q - p);
    const char *t = ++q;
    while (q < e && (unsigned char)*q > 0x20 && *q != 0x7f)
        q++;
    if (q == t || q == e || *q != ' ')
        return HTTP1_ERROR;
    r->path = t;
    r->path_len = (size_t)(q - t);
    q++;
    int minor = parse_version(q, e);
    if (minor < 0 || e - q != 8)
        return HTTP1_ERROR;
    r->minor_version = minor;

    int rc = parse_headers(next, hend, r->headers, &r->nheaders);
    if (rc)
        return rc;
    struct framing f;
    rc = read_framing(r->headers, r->nheaders, &f);
    if (rc)
        return rc;
    /* Smuggling guards (RFC 9112 §3.2, §6.1, §6.3): a server refuses these outright. */
    if (f.hosts > 1 || (f.has_te && (f.has_length || minor == 0)))
        return HTTP1_ERROR;
    r->keep_alive = minor >= 1 ? !f.conn_close : f.conn_keep_alive && !f.conn_close;
    r->expect_continue = f.expect_continue && minor >= 1;
    r->content_length = 0;
    if (f.chunked) {
        r->framing = HTTP1_BODY_CHUNKED;
    } else if (f.has_length) {
        r->framing = HTTP1_BODY_LENGTH;
        r->content_length = f.length;
    } else {
        r->framing = HTTP1_BODY_NONE;
    }
    return (int)end;
}

bool http1_content_type_is(const char *value, size_t len, const char *mime)
{
    if (!value)
        return false;
    const char *semi = memchr(value, ';', len);
    size_t n = semi ? (size_t)(semi - value) : len;
    while (n && is_ows(*value)) {
        value++;
        n--;
    }
    while (n && is_ows(value[n - 1]))
        n--;
    return ieq(value, n, mime);
}

const struct http1_header *http1_find_header(const struct http1_header *h, size_t n,
                                             const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (ieq(h[i].name, h[i].name_len, name))
            return &h[i];
    return NULL;
}

/* ---- chunked decoding ---- */

enum {
    CH_SIZE_START, /* first hex digit of a size line */
    CH_SIZE,       /* more hex digits */
    CH_SIZE_WS,    /* whitespace after the digits: only ';' or the line end may follow */
    CH_EXT,        /* chunk extension, skipped */
    CH_SIZE_LF,    /* CR seen at the end of a size line */
    CH_DATA,
    CH_DATA_END,   /* CRLF after chunk data */
    CH_DATA_LF,    /* CR after chunk data seen */
    CH_TRAILER,    /* start of a trailer line (or the final empty line) */
    CH_TRAILER_IN, /* inside a trailer line */
    CH_TRAILER_LF, /* CR at the end of a trailer line */
    CH_END_LF,     /* CR of the final empty line */
    CH_DONE,
};

void http1_chunked_init(struct http1_chunked *c)
{
    memset(c, 0, sizeof *c);
    c->state = CH_SIZE_START;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/*
 * Walks framing bytes one at a time (they are few: a size line per chunk) and returns as
 * soon as a run of chunk data is found, so data is never copied. During trailers,
 * `remaining` counts trailer bytes to bound the whole section.
 */
long http1_chunked_feed(struct http1_chunked *c, const char *buf, size_t len, const char **data,
                        size_t *data_len)
{
    *data = NULL;
    *data_len = 0;
    size_t i = 0;
    while (i < len && c->state != CH_DONE) {
        char ch = buf[i];
        switch (c->state) {
        case CH_SIZE_START:
        case CH_SIZE: {
            int v = hexval(ch);
            if (v >= 0) {
                /* Leading zeros are legal; the line cap bounds how many. */
                if (c->remaining > (CHUNK_SIZE_MAX >> 4))
                    return HTTP1_ERROR;
                c->remaining = (c->remaining << 4) | (uint64_t)v;
                if (c->remaining > CHUNK_SIZE_MAX)
                    return HTTP1_ERROR;
                c->state = CH_SIZE;
                break;
            }
            if (c->state == CH_SIZE_START)
                return HTTP1_ERROR;
            if (ch == ' ' || ch == '\t')
                c->state = CH_SIZE_WS;
            else if (ch == ';')
                c->state = CH_EXT;
            else if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (ch == '\n')
                goto size_done;
            else
                return HTTP1_ERROR;
            break;
        }
        case CH_SIZE_WS:
            if (ch == ';')
                c->state = CH_EXT;
            else if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (ch == '\n')
                goto size_done;
            else if (ch != ' ' && ch != '\t')
                return HTTP1_ERROR;
            break;
        case CH_EXT:
            /* Extensions carry nothing we use; a bare CR or a control byte is refused. */
            if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (ch == '\n')
                goto size_done;
            else if (!is_text((unsigned char)ch))
                return HTTP1_ERROR;
            break;
        case CH_SIZE_LF:
            if (ch != '\n')
                return HTTP1_ERROR;
        size_done:
            c->line_len = 0;
            if (c->remaining == 0) {
                c->state = CH_TRAILER;
            } else {
                c->state = CH_DATA;
            }
            i++;
            continue;
        case CH_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > c->remaining)
                n = (size_t)c->remaining;
            *data = buf + i;
            *data_len = n;
            c->remaining -= n;
            i += n;
            if (c->remaining == 0)
                c->state = CH_DATA_END;
            return (long)i;
        }
        case CH_DATA_END:
            if (ch == '\r')
                c->state = CH_DATA_LF;
            else if (ch == '\n')
                c->state = CH_SIZE_START;
            else
                return HTTP1_ERROR;
            i++;
            continue;
        case CH_DATA_LF:
            if (ch != '\n')
                return HTTP1_ERROR;
            c->state = CH_SIZE_START;
            i++;
            continue;
        case CH_TRAILER:
            if (ch == '\r') {
                c->state = CH_END_LF;
            } else if (ch == '\n') {
                c->state = CH_DONE;
                c->done = true;
            } else if (ch == ' ' || ch == '\t' || !tchar[(unsigned char)ch]) {
                return HTTP1_ERROR; /* obs-fold or not a field name */
            } else {
                c->state = CH_TRAILER_IN;
            }
            c->line_len = 0;
            break;
        case CH_TRAILER_IN:
            if (ch == '\r')
                c->state = CH_TRAILER_LF;
            else if (ch == '\n')
                c->state = CH_TRAILER;
            else if (!is_text((unsigned char)ch))
                return HTTP1_ERROR;
            break;
        case CH_TRAILER_LF:
            if (ch != '\n')
                return HTTP1_ERROR;
            c->state = CH_TRAILER;
            i++;
            continue;
        case CH_END_LF:
            if (ch != '\n')
                return HTTP1_ERROR;
            c->state = CH_DONE;
            c->done = true;
            break;
        default:
            return HTTP1_ERROR;
        }
        /* Bytes of a size or trailer line: keep each line, and all trailers, bounded. */
        if (c->state <= CH_SIZE_LF) {
            if (++c->line_len > CHUNK_LINE_MAX)
                return HTTP1_ERROR;
        } else if (c->state >= CH_TRAILER && c->state != CH_DONE) {
            if (++c->remaining > HTTP1_MAX_HEAD)
                return HTTP1_ERROR;
        }
        i++;
    }
    return (long)i;
}

/* ---- the response reader ---- */

enum { RX_HEAD, RX_BODY, RX_DONE, RX_FAILED };

void http1_rx_init(struct http1_rx *rx, struct buf *head, bool head_request)
{
    memset(rx, 0, sizeof *rx);
    rx->state = RX_HEAD;
    rx->head = head;
    rx->head_request = head_request;
    buf_reset(head);
}

static enum http1_rx_event rx_fail(struct http1_rx *rx, enum http1_rx_error e)
{
    rx->state = RX_FAILED;
    rx->error = e;
    return HTTP1_RX_ERROR;
}

/* Whether the body's framing has ended. Checked before looking at the input, so a body
 * of length 0 ends with its head even when no byte follows it. */
static bool rx_body_over(const struct http1_rx *rx)
{
    switch (rx->framing) {
    case HTTP1_BODY_NONE:
        return true;
    case HTTP1_BODY_LENGTH:
        return rx->remaining == 0;
    case HTTP1_BODY_CHUNKED:
        return rx->chunked.done;
    case HTTP1_BODY_CLOSE:
        break;
    }
    return false;
}

/* Head bytes are copied in steps of this many while a head trickles in, so the copy of
 * body bytes that follow a head is bounded (and so is the head buffer's growth). */
#define RX_STEP 4096

/* A complete head of k bytes in resp: interim heads return false (skip them), the final
 * one sets up the body. */
static bool rx_final(struct http1_rx *rx, const struct http1_response *resp)
{
    if (resp->status < 200)
        return false;
    rx->status = resp->status;
    rx->framing = resp->framing;
    rx->remaining = resp->content_length;
    if (rx->framing == HTTP1_BODY_CHUNKED)
        http1_chunked_init(&rx->chunked);
    rx->state = RX_BODY;
    return true;
}

/*
 * Head bytes. The usual case, a whole head in one input, is parsed where it lies. A head
 * that arrives in pieces is collected in the head buffer RX_STEP bytes at a time; it ends
 * inside the step that completes it (the parse before that step found no end), so the
 * bytes after it are exactly the rest of that step and of the input, and are handed back
 * in *p / *n.
 */
static enum http1_rx_event rx_head(struct http1_rx *rx, struct http1_response *resp, const char **p,
                                   size_t *n)
{
    struct buf *h = rx->head;
    while (*n) {
        int k;
        if (h->len == 0) {
            k = http1_parse_response(*p, *n, 0, rx->head_request, resp);
            if (k == HTTP1_INCOMPLETE) {
                /* all head bytes (no end among them), fewer than HTTP1_MAX_HEAD */
                if (buf_append(h, *p, *n))
                    return rx_fail(rx, HTTP1_RX_HEAD_TOO_LARGE);
                rx->head_last = h->len;
                *p += *n;
                *n = 0;
                return HTTP1_RX_MORE;
            }
            if (k < 0)
                return rx_fail(rx,
                               *n >= HTTP1_MAX_HEAD ? HTTP1_RX_HEAD_TOO_LARGE : HTTP1_RX_BAD_HEAD);
            *p += k;
            *n -= (size_t)k;
        } else {
            size_t room = HTTP1_MAX_HEAD - h->len; /* > 0: a full buffer was an error */
            size_t take = *n < room ? *n : room;
            if (take > RX_STEP)
                take = RX_STEP;
            size_t before = h->len;
            if (buf_append(h, *p, take))
                return rx_fail(rx, HTTP1_RX_HEAD_TOO_LARGE);
            k = http1_parse_response(h->p, h->len, rx->head_last, rx->head_request, resp);
            if (k == HTTP1_INCOMPLETE) {
                rx->head_last = h->len;
                *p += take;
                *n -= take;
                continue;
            }
            if (k < 0)
                return rx_fail(rx, h->len >= HTTP1_MAX_HEAD ? HTTP1_RX_HEAD_TOO_LARGE
                                                            : HTTP1_RX_BAD_HEAD);
            *p += (size_t)k - before;
            *n -= (size_t)k - before;
            h->len = (size_t)k; /* the head stays for resp's views */
        }
        if (resp->status == 101) {
            rx->status = 101; /* what follows is not HTTP any more */
            return rx_fail(rx, HTTP1_RX_UPGRADE);
        }
        if (rx_final(rx, resp))
            return HTTP1_RX_HEAD;
        /* An interim head, skipped: the final one follows on the same connection. */
        buf_reset(h);
        rx->head_last = 0;
    }
    return HTTP1_RX_MORE;
}

enum http1_rx_event http1_rx_feed(struct http1_rx *rx, struct http1_response *resp, const char **p,
                                  size_t *n, const char **data, size_t *data_len)
{
    *data = NULL;
    *data_len = 0;
    if (*n)
        rx->got_bytes = true;
    switch (rx->state) {
    case RX_HEAD:
        return *n ? rx_head(rx, resp, p, n) : HTTP1_RX_MORE;
    case RX_DONE:
        return HTTP1_RX_DONE;
    case RX_FAILED:
        return HTTP1_RX_ERROR;
    default:
        break;
    }
    while (!rx_body_over(rx)) {
        if (*n == 0)
            return HTTP1_RX_MORE;
        size_t take = 0;
        switch (rx->framing) {
        case HTTP1_BODY_LENGTH:
            take = *n < rx->remaining ? *n : (size_t)rx->remaining;
            rx->remaining -= take;
            *data = *p;
            *data_len = take;
            break;
        case HTTP1_BODY_CHUNKED: {
            long k = http1_chunked_feed(&rx->chunked, *p, *n, data, data_len);
            if (k < 0)
                return rx_fail(rx, HTTP1_RX_BAD_CHUNKED);
            take = (size_t)k;
            break;
        }
        default: /* HTTP1_BODY_CLOSE: everything until the connection closes */
            take = *n;
            *data = *p;
            *data_len = take;
            break;
        }
        *p += take;
        *n -= take;
        if (*data_len)
            return HTTP1_RX_DATA;
    }
    rx->state = RX_DONE;
    return HTTP1_RX_DONE;
}

enum http1_rx_event http1_rx_eof(struct http1_rx *rx)
{
    switch (rx->state) {
    case RX_DONE:
        return HTTP1_RX_DONE;
    case RX_FAILED:
        return HTTP1_RX_ERROR;
    case RX_HEAD:
        return rx_fail(rx, rx->got_bytes ? HTTP1_RX_EOF_MID_HEAD : HTTP1_RX_EOF_NO_HEAD);
    default:
        break;
    }
    if (rx->framing == HTTP1_BODY_CLOSE || rx_body_over(rx)) {
        rx->state = RX_DONE;
        return HTTP1_RX_DONE;
    }
    return rx_fail(rx, HTTP1_RX_EOF_MID_BODY);
}

const char *http1_rx_error_text(enum http1_rx_error e)
{
    switch (e) {
    case HTTP1_RX_OK:
        return "no error";
    case HTTP1_RX_HEAD_TOO_LARGE:
        return "response head too large";
    case HTTP1_RX_BAD_HEAD:
        return "malformed response head";
    case HTTP1_RX_UPGRADE:
        return "unrequested 101 Switching Protocols";
    case HTTP1_RX_BAD_CHUNKED:
        return "bad chunked framing";
    case HTTP1_RX_EOF_NO_HEAD:
        return "connection closed by the server before the response";
    case HTTP1_RX_EOF_MID_HEAD:
        return "connection closed by the server mid-head";
    case HTTP1_RX_EOF_MID_BODY:
        return "connection closed by the server mid-body";
    }
    return "?";
}

/* ---- writers ---- */

static void put(struct buf *out, const char *s, size_t n, int *rc)
{
    if (!*rc)
        *rc = buf_append(out, s, n);
}

#define PUTS(out, lit, rc) put(out, lit, sizeof(lit) - 1, rc)

static void put_str(struct buf *out, const char *s, int *rc)
{
    put(out, s, strlen(s), rc);
}

static void put_dec(struct buf *out, unsigned long long v, int *rc)
{
    char tmp[24];
    size_t n = sizeof tmp;
    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(out, tmp + n, sizeof tmp - n, rc);
}

static void put_hex(struct buf *out, size_t v, int *rc)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[20];
    size_t n = sizeof tmp;
    do {
        tmp[--n] = digits[v & 15];
        v >>= 4;
    } while (v);
    put(out, tmp + n, sizeof tmp - n, rc);
}

int http1_write_request(struct buf *out, const char *method, const char *host, const char *path,
                        const char *const *headers, const char *body, size_t body_len)
{
    int rc = 0;
    put_str(out, method, &rc);
    PUTS(out, " ", &rc);
    put_str(out, path, &rc);
    PUTS(out, " HTTP/1.1\r\nHost: ", &rc);
    put_str(out, host, &rc);
    PUTS(out, "\r\n", &rc);
    for (size_t i = 0; headers && headers[i]; i++) {
        put_str(out, headers[i], &rc);
        PUTS(out, "\r\n", &rc);
    }
    if (body) {
        PUTS(out, "Content-Length: ", &rc);
        put_dec(out, body_len, &rc);
        PUTS(out, "\r\n", &rc);
    }
    PUTS(out, "\r\n", &rc);
    if (body)
        put(out, body, body_len, &rc);
    return rc;
}

int http1_write_response_head(struct buf *out, int status, const char *content_type,
                              long long body_len, bool keep_alive, const char *extra_headers)
{
    int rc = 0;
    if (status < 100 || status > 999)
        return ERR_INVALID;
    char line[16] = "HTTP/1.1 ";
    line[9] = (char)('0' + status / 100);
    line[10] = (char)('0' + status / 10 % 10);
    line[11] = (char)('0' + status % 10);
    line[12] = ' ';
    put(out, line, 13, &rc);
    put_str(out, http1_reason(status), &rc);
    PUTS(out, "\r\n", &rc);
    if (content_type) {
        PUTS(out, "Content-Type: ", &rc);
        put_str(out, content_type, &rc);
        PUTS(out, "\r\n", &rc);
    }
    if (body_len < 0) {
        PUTS(out, "Transfer-Encoding: chunked\r\n", &rc);
    } else {
        PUTS(out, "Content-Length: ", &rc);
        put_dec(out, (unsigned long long)body_len, &rc);
        PUTS(out, "\r\n", &rc);
    }
    if (!keep_alive)
        PUTS(out, "Connection: close\r\n", &rc);
    if (extra_headers && *extra_headers) {
        size_t n = strlen(extra_headers);
        put(out, extra_headers, n, &rc);
        if (extra_headers[n - 1] != '\n')
            PUTS(out, "\r\n", &rc);
    }
    PUTS(out, "\r\n", &rc);
    return rc;
}

int http1_write_chunk(struct buf *out, const char *data, size_t len)
{
    int rc = buf_reserve(out, len + 24);
    if (rc)
        return rc;
    if (len == 0) {
        PUTS(out, "0\r\n\r\n", &rc);
        return rc;
    }
    put_hex(out, len, &rc);
    PUTS(out, "\r\n", &rc);
    put(out, data, len, &rc);
    PUTS(out, "\r\n", &rc);
    return rc;
}

const char *http1_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 499:
        return "Client Closed Request";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        break;
    }
    switch (status / 100) {
    case 1:
        return "Informational";
    case 2:
        return "Success";
    case 3:
        return "Redirection";
    case 4:
        return "Client Error";
    default:
        return "Server Error";
    }
}
