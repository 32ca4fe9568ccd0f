#include "zio.h"

#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

/* ---- writing ---- */

struct zwriter {
    int fd;
    enum zw_mode mode;
    char *path;
    char *tmp;
    ZSTD_CCtx *cctx;
    char *out;
    size_t out_cap;
    size_t bytes_in;
    bool in_frame; /* data was compressed since the last frame end */
    int err;
};

static int write_full(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return ERR_IO;
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

static char *tmp_name(const char *path)
{
    size_t n = strlen(path) + 32;
    char *t = xmalloc(n);
    snprintf(t, n, "%s.tmp.%ld", path, (long)getpid());
    return t;
}

int zw_open(struct zwriter **out, const char *path, enum zw_mode mode, int level, struct diag *d)
{
    struct zwriter *w = xcalloc(1, sizeof *w);
    w->mode = mode;
    w->path = xstrdup(path);
    w->tmp = mode == ZW_ATOMIC ? tmp_name(path) : NULL;
    const char *target = mode == ZW_ATOMIC ? w->tmp : path;
    w->fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int e = errno;
        free(w->path);
        free(w->tmp);
        free(w);
        return diag_at(d, ERR_IO, path, 0, "cannot create: %s", strerror(e));
    }
    w->cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
    w->out_cap = ZSTD_CStreamOutSize();
    w->out = xmalloc(w->out_cap);
    *out = w;
    return 0;
}

/* Runs the compressor over in with the given directive, writing output to the file. */
static int pump(struct zwriter *w, const void *data, size_t n, ZSTD_EndDirective dir)
{
    ZSTD_inBuffer in = {data, n, 0};
    for (;;) {
        ZSTD_outBuffer o = {w->out, w->out_cap, 0};
        size_t left = ZSTD_compressStream2(w->cctx, &o, &in, dir);
        if (ZSTD_isError(left))
            return ERR_IO;
        if (o.pos && write_full(w->fd, w->out, o.pos))
            return ERR_IO;
        if (dir == ZSTD_e_continue ? in.pos == in.size : left == 0)
            return 0;
    }
}

int zw_write(struct zwriter *w, const void *data, size_t n)
{
    if (w->err)
        return w->err;
    if (n == 0)
        return 0;
    w->bytes_in += n;
    w->in_frame = true;
    return w->err = pump(w, data, n, ZSTD_e_continue);
}

int zw_end_frame(struct zwriter *w)
{
    if (w->err)
        return w->err;
    if (!w->in_frame)
        return 0;
    w->in_frame = false;
    return w->err = pump(w, NULL, 0, ZSTD_e_end);
}

size_t zw_bytes_in(const struct zwriter *w)
{
    return w->bytes_in;
}

static void zw_free(struct zwriter *w)
{
    ZSTD_freeCCtx(w->cctx);
    free(w->out);
    free(w->path);
    free(w->tmp);
    free(w);
}

int zw_commit(struct zwriter *w, struct diag *d)
{
    int rc = zw_end_frame(w);
    if (!rc && w->bytes_in == 0) /* an empty stream is still one valid (empty) frame */
        rc = pump(w, NULL, 0, ZSTD_e_end);
    int e = errno;
    if (close(w->fd) && !rc) {
        e = errno;
        rc = ERR_IO;
    }
    if (!rc && w->mode == ZW_ATOMIC && rename(w->tmp, w->path)) {
        e = errno;
        rc = ERR_IO;
    }
    if (rc) {
        diag_at(d, rc, w->path, 0, "cannot write: %s", strerror(e));
        if (w->mode == ZW_ATOMIC)
            unlink(w->tmp);
    }
    zw_free(w);
    return rc;
}

void zw_abort(struct zwriter *w)
{
    if (!w)
        return;
    close(w->fd);
    if (w->mode == ZW_ATOMIC)
        unlink(w->tmp);
    zw_free(w);
}

int afile_open(struct afile *a, const char *path, struct diag *d)
{
    a->path = xstrdup(path);
    a->tmp = tmp_name(path);
    a->f = fopen(a->tmp, "we");
    if (!a->f) {
        int e = errno;
        free(a->path);
        free(a->tmp);
        return diag_at(d, ERR_IO, path, 0, "cannot create: %s", strerror(e));
    }
    return 0;
}

int afile_commit(struct afile *a, struct diag *d)
{
    int rc = 0, e = 0;
    if (ferror(a->f))
        rc = ERR_IO, e = EIO;
    if (fclose(a->f) && !rc)
        rc = ERR_IO, e = errno;
    if (!rc && rename(a->tmp, a->path))
        rc = ERR_IO, e = errno;
    if (rc) {
        diag_at(d, rc, a->path, 0, "cannot write: %s", strerror(e));
        unlink(a->tmp);
    }
    free(a->path);
    free(a->tmp);
    return rc;
}

void afile_abort(struct afile *a)
{
    fclose(a->f);
    unlink(a->tmp);
    free(a->path);
    free(a->tmp);
}

int afile_write_all(const char *path, const void *data, size_t n, struct diag *d)
{
    struct afile a;
    int rc = afile_open(&a, path, d);
    if (rc)
        return rc;
    if (n && fwrite(data, 1, n, a.f) != n) {
        afile_abort(&a);
        return diag_at(d, ERR_IO, path, 0, "cannot write: %s", strerror(errno));
    }
    return afile_commit(&a, d);
}

/* ---- reading ---- */

struct zreader {
    int fd;
    bool own_fd;
    char *path;
    bool zstd;
    ZSTD_DCtx *dctx;
    char *in; /* raw bytes from the file */
    size_t in_cap, in_pos, in_len;
    char *buf; /* decompressed bytes; lines are views into it */
    size_t buf_cap, buf_start, buf_len;
    size_t max_line;
    long lineno;
    size_t bytes_in, bytes_out;
    bool eof;        /* the file is exhausted */
    bool frame_open; /* zstd: a frame started and has not ended */
};

int zr_open(struct zreader **out, const char *path, size_t max_line, struct diag *d)
{
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return diag_at(d, ERR_IO, path, 0, "cannot open: %s", strerror(errno));
    struct zreader *r = xcalloc(1, sizeof *r);
    r->fd = fd;
    r->own_fd = fd != 0;
    r->path = xstrdup(path);
    r->max_line = max_line;
    r->in_cap = 1 << 17;
    r->in = xmalloc(r->in_cap);
    r->buf_cap = 1 << 18;
    r->buf = xmalloc(r->buf_cap);
    /* Sniff the zstd magic (28 b5 2f fd) from the first read. */
    ssize_t k;
    do
        k = read(fd, r->in, r->in_cap);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
        int e = errno;
        zr_close(r);
        return diag_at(d, ERR_IO, path, 0, "cannot read: %s", strerror(e));
    }
    r->in_len = (size_t)k;
    r->bytes_in = (size_t)k;
    r->eof = k == 0;
    static const unsigned char magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    r->zstd = k >= 4 && memcmp(r->in, magic, 4) == 0;
    if (r->zstd)
        r->dctx = ZSTD_createDCtx();
    *out = r;
    return 0;
}

/* Reads more raw input; returns 0, or ERR_IO. */
static int fill_in(struct zreader *r)
{
    if (r->in_pos < r->in_len || r->eof)
        return 0;
    ssize_t k;
    do
        k = read(r->fd, r->in, r->in_cap);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return ERR_IO;
    r->in_pos = 0;
    r->in_len = (size_t)k;
    r->bytes_in += (size_t)k;
    if (k == 0)
        r->eof = true;
    return 0;
}

/* Appends more decompressed bytes to buf. Returns >0 bytes added, 0 at a clean end,
 * < 0 on error. */
static int produce(struct zreader *r, struct diag *d)
{
    if (r->buf_start > 0 && (r->buf_start > r->buf_cap / 2 || r->buf_len == r->buf_start)) {
        memmove(r->buf, r->buf + r->buf_start, r->buf_len - r->buf_start);
        r->buf_len -= r->buf_start;
        r->buf_start = 0;
    }
    if (r->buf_cap - r->buf_len < 4096) {
        size_t want = r->buf_cap * 2;
        if (r->buf_len - r->buf_start > r->max_line)
            return diag_at(d, ERR_TOO_LARGE, r->path, r->lineno + 1, "line longer than %zu bytes",
                           r->max_line);
        r->buf = xrealloc(r->buf, want);
        r->buf_cap = want;
    }
    for (;;) {
        if (fill_in(r))
            return diag_at(d, ERR_IO, r->path, 0, "cannot read: %s", strerror(errno));
        if (r->in_pos == r->in_len && r->eof) {
            if (r->zstd && r->frame_open)
                return diag_at(d, ERR_PARSE, r->path, r->lineno + 1,
                               "truncated zstd stream (the file ends inside a frame)");
            return 0;
        }
        if (!r->zstd) {
            size_t n = r->in_len - r->in_pos;
            if (n > r->buf_cap - r->buf_len)
                n = r->buf_cap - r->buf_len;
            memcpy(r->buf + r->buf_len, r->in + r->in_pos, n);
            r->in_pos += n;
            r->buf_len += n;
            r->bytes_out += n;
            return n > 0 ? 1 : 0;
        }
        ZSTD_inBuffer in = {r->in, r->in_len, r->in_pos};
        ZSTD_outBuffer o = {r->buf + r->buf_len, r->buf_cap - r->buf_len, 0};
        size_t ret = ZSTD_decompressStream(r->dctx, &o, &in);
        r->in_pos = in.pos;
        if (ZSTD_isError(ret))
            return diag_at(d, ERR_PARSE, r->path, r->lineno + 1, "corrupt zstd data: %s",
                           ZSTD_getErrorName(ret));
        r->frame_open = ret != 0;
        r->buf_len += o.pos;
        r->bytes_out += o.pos;
        if (o.pos)
            return 1;
    }
}

int zr_getline(struct zreader *r, const char **line, size_t *len, struct diag *d)
{
    size_t scanned = 0;
    for (;;) {
        char *start = r->buf + r->buf_start;
        size_t avail = r->buf_len - r->buf_start;
        char *nl = memchr(start + scanned, '\n', avail - scanned);
        if (nl) {
            size_t n = (size_t)(nl - start);
            if (n > r->max_line)
                return diag_at(d, ERR_TOO_LARGE, r->path, r->lineno + 1,
                               "line longer than %zu bytes", r->max_line);
            r->lineno++;
            *line = start;
            *len = n;
            *nl = '\0';
            r->buf_start += n + 1;
            return 1;
        }
        scanned = avail;
        if (avail > r->max_line)
            return diag_at(d, ERR_TOO_LARGE, r->path, r->lineno + 1, "line longer than %zu bytes",
                           r->max_line);
        /* produce may move the unconsumed window to the front; `scanned` is relative to
         * the window, so it stays valid. */
        int rc = produce(r, d);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            avail = r->buf_len - r->buf_start;
            if (avail == 0)
                return 0;
            /* A last line without '\n'. */
            if (r->buf_len == r->buf_cap) {
                r->buf = xrealloc(r->buf, r->buf_cap + 1);
                r->buf_cap++;
            }
            r->lineno++;
            *line = r->buf + r->buf_start;
            *len = avail;
            r->buf[r->buf_len] = '\0';
            r->buf_start = r->buf_len;
            return 1;
        }
    }
}

long zr_lineno(const struct zreader *r)
{
    return r->lineno;
}

size_t zr_bytes_in(const struct zreader *r)
{
    return r->bytes_in;
}

size_t zr_bytes_out(const struct zreader *r)
{
    return r->bytes_out;
}

bool zr_is_zstd(const struct zreader *r)
{
    return r->zstd;
}

void zr_close(struct zreader *r)
{
    if (!r)
        return;
    if (r->own_fd)
        close(r->fd);
    ZSTD_freeDCtx(r->dctx);
    free(r->in);
    free(r->buf);
    free(r->path);
    free(r);
}

int zio_read_all(const char *path, size_t max, char **out, size_t *len, struct diag *d)
{
    struct zreader *r;
    int rc = zr_open(&r, path, max, d);
    if (rc)
        return rc;
    struct {
        char *p;
        size_t n, cap;
    } acc = {xmalloc(1 << 16), 0, 1 << 16};
    for (;;) {
        rc = produce(r, d);
        if (rc < 0)
            break;
        size_t n = r->buf_len - r->buf_start;
        if (acc.n + n > max) {
            rc = diag_at(d, ERR_TOO_LARGE, path, 0, "larger than %zu bytes", max);
            break;
        }
        if (acc.n + n + 1 > acc.cap) {
            while (acc.n + n + 1 > acc.cap)
                acc.cap *= 2;
            acc.p = xrealloc(acc.p, acc.cap);
        }
        memcpy(acc.p + acc.n, r->buf + r->buf_start, n);
        acc.n += n;
        r->buf_start = r->buf_len = 0;
        if (rc == 0)
            break;
    }
    zr_close(r);
    if (rc < 0) {
        free(acc.p);
        return rc;
    }
    acc.p[acc.n] = '\0';
    *out = acc.p;
    *len = acc.n;
    return 0;
}

int zio_mkdir_p(const char *dir, struct diag *d)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof tmp)
        return diag_set(d, ERR_INVALID, "%s: not a usable directory path", dir);
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(tmp, 0755) && errno != EEXIST)
            return diag_at(d, ERR_IO, tmp, 0, "cannot create directory: %s", strerror(errno));
        if (!c)
            return 0;
        *p = c;
    }
}
