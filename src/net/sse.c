/*
 * SSE framing. The scan is memchr-driven: the positions of the next LF and the next CR in
 * the current feed are found once and reused until passed, so a feed costs O(len) with no
 * per-byte calls. Lines that arrive whole are parsed in place; only a line split across
 * feeds is copied (into p->line). The common event, one `data:` line (maybe after an
 * `event:` line) arriving in one feed, is dispatched as a view into the caller's bytes
 * without copying its data at all; views still pending when a feed ends are copied into
 * p->data / p->type, because the caller's buffer is not ours after we return.
 */
#include "sse.h"

#include "err.h"
#include "membyte.h"

#include <string.h>

/* A line held across feeds also holds its field name ("data: "), so it may exceed the
 * event cap by this much before it is refused; the exact cap applies once it is parsed. */
#define LINE_SLACK 256

void sse_parser_init(struct sse_parser *p, size_t max_event)
{
    memset(p, 0, sizeof *p);
    p->max_event = max_event ? max_event : SIZE_MAX / 4 - LINE_SLACK;
    buf_init(&p->line, p->max_event + LINE_SLACK);
    buf_init(&p->data, p->max_event);
    buf_init(&p->type, p->max_event);
    buf_init(&p->id, p->max_event);
    p->retry = -1;
}

void sse_parser_free(struct sse_parser *p)
{
    buf_free(&p->line);
    buf_free(&p->data);
    buf_free(&p->type);
    buf_free(&p->id);
}

void sse_parser_reset(struct sse_parser *p)
{
    buf_reset(&p->line);
    buf_reset(&p->data);
    buf_reset(&p->type);
    buf_reset(&p->id);
    p->retry = -1;
    p->after_cr = p->bom_checked = p->have_event_bytes = p->have_data = false;
    p->first_byte_ns = 0;
    p->comments = p->events = 0;
}

/* Per-feed state: views into the caller's buffer standing in for p->data / p->type. */
struct feed {
    const char *dv; /* data view, when the event's only data line so far is in this feed */
    size_t dv_len;
    const char *tv; /* event type view */
    size_t tv_len;
    bool has_dv, has_tv;
};

static size_t data_size(const struct sse_parser *p, const struct feed *f)
{
    return f->has_dv ? f->dv_len : p->data.len;
}

static size_t type_size(const struct sse_parser *p, const struct feed *f)
{
    return f->has_tv ? f->tv_len : p->type.len;
}

/* Copies pending views into the parser's buffers. */
static int materialize(struct sse_parser *p, struct feed *f)
{
    int rc = 0;
    if (f->has_dv) {
        buf_reset(&p->data);
        rc = buf_append(&p->data, f->dv, f->dv_len);
        f->has_dv = false;
    }
    if (!rc && f->has_tv) {
        buf_reset(&p->type);
        rc = buf_append(&p->type, f->tv, f->tv_len);
        f->has_tv = false;
    }
    return rc;
}

static void end_event(struct sse_parser *p, struct feed *f)
{
    buf_reset(&p->data);
    buf_reset(&p->type);
    f->has_dv = f->has_tv = false;
    p->have_data = false;
    p->have_event_bytes = false;
    p->retry = -1;
}

static int dispatch(struct sse_parser *p, struct feed *f, sse_event_fn on_event, void *ctx)
{
    if (!p->have_data) {
        end_event(p, f);
        return 0;
    }
    struct sse_event ev;
    if (f->has_tv) {
        ev.type = f->tv;
        ev.type_len = f->tv_len;
    } else {
        ev.type = p->type.len ? p->type.p : "message";
        ev.type_len = p->type.len ? p->type.len : 7;
    }
    if (ev.type_len == 0) {
        ev.type = "message";
        ev.type_len = 7;
    }
    if (f->has_dv) {
        ev.data = f->dv;
        ev.data_len = f->dv_len;
    } else {
        ev.data = p->data.p ? p->data.p : "";
        ev.data_len = p->data.len;
    }
    ev.id = p->id.p ? p->id.p : "";
    ev.id_len = p->id.len;
    ev.retry = p->retry;
    ev.first_byte_ns = p->first_byte_ns;
    p->events++;
    int rc = on_event ? on_event(ctx, &ev) : 0;
    end_event(p, f);
    return rc;
}

static bool field_is(const char *name, size_t n, const char *lit, size_t litn)
{
    return n == litn && memcmp(name, lit, n) == 0;
}

/* One complete line. `in_place`: the line lies in the caller's buffer for this feed (so
 * views into it stay valid until the feed ends), not in p->line. */
static int process_line(struct sse_parser *p, struct feed *f, const char *line, size_t n,
                        bool in_place, sse_event_fn on_event, void *ctx)
{
    if (n == 0)
        return dispatch(p, f, on_event, ctx);
    if (line[0] == ':') {
        p->comments++;
        return 0;
    }
    const char *colon = membyte(line, ':', n);
    size_t name_len = colon ? (size_t)(colon - line) : n;
    const char *v = colon ? colon + 1 : line + n;
    size_t vn = (size_t)(line + n - v);
    if (vn && *v == ' ') {
        v++;
        vn--;
    }
    int rc = 0;
    if (field_is(line, name_len, "data", 4)) {
        size_t have = data_size(p, f) + type_size(p, f);
        if (vn + 1 > p->max_event - have)
            return ERR_TOO_LARGE;
        if (!p->have_data && in_place) {
            f->dv = v;
            f->dv_len = vn;
            f->has_dv = true;
        } else {
            if (f->has_dv)
                rc = materialize(p, f);
            if (!rc && p->have_data)
                rc = buf_putc(&p->data, '\n');
            if (!rc)
                rc = buf_append(&p->data, v, vn);
        }
        p->have_data = true;
    } else if (field_is(line, name_len, "event", 5)) {
        if (vn > p->max_event - data_size(p, f))
            return ERR_TOO_LARGE;
        buf_reset(&p->type);
        f->has_tv = false;
        if (in_place) {
            f->tv = v;
            f->tv_len = vn;
            f->has_tv = true;
        } else {
            rc = buf_append(&p->type, v, vn);
        }
    } else if (field_is(line, name_len, "id", 2)) {
        /* An id containing NUL is ignored (the spec's rule). */
        if (!memchr(v, '\0', vn)) {
            buf_reset(&p->id);
            rc = buf_append(&p->id, v, vn);
        }
    } else if (field_is(line, name_len, "retry", 5)) {
        long r = 0;
        size_t i = 0;
        for (; i < vn && v[i] >= '0' && v[i] <= '9'; i++)
            if (r < 1000000000L)
                r = r * 10 + (v[i] - '0');
        if (vn > 0 && i == vn)
            p->retry = r < 1000000000L ? r : 1000000000L;
    }
    /* Other field names are ignored, as the spec says. */
    return rc;
}

static size_t find_from(const char *buf, size_t len, size_t i, int c)
{
    if (i >= len)
        return len;
    const char *q = membyte(buf + i, c, len - i);
    return q ? (size_t)(q - buf) : len;
}

/* Keeps the unterminated tail of a feed for the next one. */
static int stash(struct sse_parser *p, struct feed *f, const char *s, size_t n)
{
    size_t have = data_size(p, f) + type_size(p, f) + p->line.len;
    if (n > p->max_event + LINE_SLACK - have)
        return ERR_TOO_LARGE;
    return buf_append(&p->line, s, n);
}

int sse_parser_feed(struct sse_parser *p, const char *buf, size_t len, int64_t now_ns,
                    sse_event_fn on_event, void *ctx)
{
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    struct feed f = {0};
    size_t i = 0;
    int rc = 0;

    if (!p->bom_checked) {
        /* Hold bytes that may be a BOM; if they turn out not to be one, they are simply the
         * first bytes of the first line, already in p->line. */
        while (i < len && p->line.len < 3 && (unsigned char)buf[i] == bom[p->line.len]) {
            if (!p->have_event_bytes) {
                p->have_event_bytes = true;
                p->first_byte_ns = now_ns;
            }
            rc = buf_putc(&p->line, buf[i++]);
            if (rc)
                return rc;
        }
        if (p->line.len == 3) {
            buf_reset(&p->line);
            p->have_event_bytes = false;
            p->bom_checked = true;
        } else if (i < len) {
            p->bom_checked = true;
        }
    }
    if (p->after_cr && i < len) {
        if (buf[i] == '\n')
            i++;
        p->after_cr = false;
    }

    size_t nl = find_from(buf, len, i, '\n');
    size_t cr = find_from(buf, len, i, '\r');
    while (i < len) {
        if (nl < i)
            nl = find_from(buf, len, i, '\n');
        if (cr < i)
            cr = find_from(buf, len, i, '\r');
        size_t t = nl < cr ? nl : cr;
        if (t > i && !p->have_event_bytes) {
            p->have_event_bytes = true;
            p->first_byte_ns = now_ns;
        }
        if (t == len) {
            rc = stash(p, &f, buf + i, len - i);
            break;
        }
        if (p->line.len) {
            rc = stash(p, &f, buf + i, t - i);
            if (!rc)
                rc = process_line(p, &f, p->line.p, p->line.len, false, on_event, ctx);
            buf_reset(&p->line);
        } else {
            rc = process_line(p, &f, buf + i, t - i, true, on_event, ctx);
        }
        if (rc)
            break;
        i = t + 1;
        if (buf[t] == '\r') {
            if (i < len) {
                if (buf[i] == '\n')
                    i++;
            } else {
                p->after_cr = true;
            }
        }
    }
    int mrc = materialize(p, &f);
    return rc ? rc : mrc;
}

bool sse_parser_finish(struct sse_parser *p)
{
    bool dropped = p->have_data || p->line.len > 0;
    buf_reset(&p->line);
    buf_reset(&p->data);
    buf_reset(&p->type);
    p->have_data = p->have_event_bytes = p->after_cr = false;
    p->retry = -1;
    return dropped;
}

int sse_write_event(struct buf *out, const char *type, const char *data, size_t len)
{
    size_t tl = type ? strlen(type) : 0;
    if (tl && (memchr(type, '\n', tl) || memchr(type, '\r', tl)))
        return ERR_INVALID;
    size_t nl = find_from(data, len, 0, '\n');
    size_t cr = find_from(data, len, 0, '\r');
    /* The common case, one line: one reservation, three copies. */
    size_t need = (tl ? tl + 8 : 0) + len + 8;
    int rc = buf_reserve(out, need);
    if (rc)
        return rc;
    char *w = out->p + out->len;
    if (tl) {
        memcpy(w, "event: ", 7);
        memcpy(w + 7, type, tl);
        w[7 + tl] = '\n';
        w += tl + 8;
    }
    if (nl == len && cr == len) {
        memcpy(w, "data: ", 6);
        memcpy(w + 6, data, len);
        w[6 + len] = '\n';
        w[7 + len] = '\n';
        out->len = (size_t)(w + 8 + len - out->p);
        out->p[out->len] = '\0';
        return 0;
    }
    out->len = (size_t)(w - out->p);
    /* Several lines: CR, LF and CRLF all end a line, so no byte of data can end the event
     * early; the reader joins the lines with LF. */
    size_t i = 0;
    for (;;) {
        if (nl < i)
            nl = find_from(data, len, i, '\n');
        if (cr < i)
            cr = find_from(data, len, i, '\r');
        size_t t = nl < cr ? nl : cr;
        rc = buf_append(out, "data: ", 6);
        if (!rc)
            rc = buf_append(out, data + i, t - i);
        if (!rc)
            rc = buf_putc(out, '\n');
        if (rc || t == len)
            break;
        i = t + 1;
        if (data[t] == '\r' && i < len && data[i] == '\n')
            i++;
    }
    return rc ? rc : buf_putc(out, '\n');
}
