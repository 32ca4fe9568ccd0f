#include "zio.h"

#include "buf.h"
#include "membyte.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

/* ---- temporary files removed on SIGINT/SIGTERM/SIGHUP/SIGPIPE ---- */

/* A fixed table the signal handler can walk without allocating or locking: a slot is
 * claimed (0 -> 2), its path copied, then published (2 -> 1); the handler unlinks the
 * published ones. unlink() is async-signal-safe. */
#define TMP_SLOTS 32
static struct {
    atomic_int state; /* 0 free, 2 being filled, 1 live */
    char path[4096];
} tmp_slots[TMP_SLOTS];

int zio_tmp_track(const char *path)
{
    size_t n = strlen(path);
    if (n >= sizeof tmp_slots[0].path)
        return -1;
    for (int i = 0; i < TMP_SLOTS; i++) {
        int free_ = 0;
        if (atomic_compare_exchange_strong(&tmp_slots[i].state, &free_, 2)) {
            memcpy(tmp_slots[i].path, path, n + 1);
            atomic_store(&tmp_slots[i].state, 1);
            return i;
        }
    }
    return -1; /* more than TMP_SLOTS at once: still removed on every normal path */
}

void zio_tmp_untrack(int slot)
{
    if (slot >= 0 && slot < TMP_SLOTS)
        atomic_store(&tmp_slots[slot].state, 0);
}

static void on_fatal_signal(int sig)
{
    for (int i = 0; i < TMP_SLOTS; i++)
        if (atomic_load(&tmp_slots[i].state) == 1)
            unlink(tmp_slots[i].path);
    /* Die of the same signal, so the parent sees what happened (exit 130 for ^C). */
    signal(sig, SIG_DFL);
    raise(sig);
}

void zio_cleanup_on_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        /* An ignored signal (nohup, a parent's SIG_IGN for SIGPIPE) stays ignored. */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_fatal_signal;
            sigemptyset(&sa.sa_mask);
            sigaction(sigs[i], &sa, NULL);
        }
    }
}

/* ---- where an output goes ---- */

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

/* An output being written: either a temporary file renamed over `path` on commit
 * (tmp != NULL), or a FIFO, character device or stdout written in place. */
struct out {
    int fd;
    char *path; /* owned: the final path (a symlink's target when PATH was one) */
    char *tmp;  /* owned: temporary path, NULL when writing through */
    int slot;   /* signal-cleanup slot of tmp, -1 none */
};

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

/* Applies the output rule of zio.h to path (not "-"): *mode is what will be written (a
 * new name counts as a regular file), *target the resolved path when path is a symlink
 * (else NULL; the caller frees it). 0, or < 0 with d filled for a refused output. */
static int out_classify(const char *path, mode_t *mode, char **target, struct diag *d)
{
    struct stat st;
    *target = NULL;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT)
            return diag_at(d, ERR_IO, path, 0, "cannot create: %s", strerror(errno));
        *mode = S_IFREG; /* a new file */
        return 0;
    }
    if (S_ISLNK(st.st_mode)) {
        if (stat(path, &st) != 0)
            return diag_at(d, ERR_INVALID, path, 0,
                           "is a symbolic link to a missing file; refusing to write through it");
        *target = realpath(path, NULL);
        if (!*target)
            return diag_at(d, ERR_IO, path, 0, "cannot resolve symbolic link: %s", strerror(errno));
    }
    *mode = st.st_mode;
    if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))
        return 0;
    free(*target);
    *target = NULL;
    return diag_at(d, ERR_INVALID, path, 0, "is %s; refusing to write over it",
                   kind_of(st.st_mode));
}

int zio_out_check(const char *path, struct diag *d)
{
    if (strcmp(path, "-") == 0)
        return 0;
    mode_t mode;
    char *target;
    int rc = out_classify(path, &mode, &target, d);
    free(target);
    return rc;
}

/* Opens an output by the rule of zio.h: "-" is stdout; a FIFO or character device is
 * written through (never replaced: `-o /dev/full` used to rename a regular file over
 * the device); a symlink is followed and its target replaced atomically in the target's
 * directory; a regular file or a new name gets temp + rename; a directory, block device
 * or socket is refused. */
static int out_open(struct out *o, const char *path, struct diag *d)
{
    memset(o, 0, sizeof *o);
    o->slot = -1;
    if (strcmp(path, "-") == 0) {
        o->fd = dup(STDOUT_FILENO);
        if (o->fd < 0)
            return diag_at(d, ERR_IO, "(stdout)", 0, "cannot write: %s", strerror(errno));
        o->path = xstrdup(path);
        return 0;
    }
    struct stat st;
    char *target;
    int rc = out_classify(path, &st.st_mode, &target, d);
    if (rc)
        return rc;
    const char *p = target ? target : path;
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        o->fd = open(p, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (o->fd < 0) {
            int e = errno;
            free(target);
            return diag_at(d, ERR_IO, path, 0, "cannot open: %s", strerror(e));
        }
        o->path = target ? target : xstrdup(path);
        return 0;
    }
    o->path = target ? target : xstrdup(path);
    o->tmp = tmp_name(o->path);
    unlink(o->tmp); /* a leftover of a killed process with the same pid */
    o->slot = zio_tmp_track(o->tmp);
    o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (o->fd < 0) {
        int e = errno;
        zio_tmp_untrack(o->slot);
        free(o->path);
        free(o->tmp);
        return diag_at(d, ERR_IO, path, 0, "cannot create: %s", strerror(e));
    }
    return 0;
}

/* The reason for a failed output: strerror, or what out_close's last check found. */
static const char *out_reason(int e)
{
    return e == EEXIST ? "it is no longer a regular file (not replaced)" : strerror(e);
}

/* Renames a finished temporary file into place. Checked again at the last moment: the
 * name may have become a device or a FIFO since the open, and those are never replaced. */
static int out_rename(const char *tmp, const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return EEXIST;
    return rename(tmp, path) ? errno : 0;
}

/* This thread's staged commits (zio_defer_begin): finished temporary files waiting for
 * zio_defer_end to rename them all, or remove them all. */
struct staged {
    char *tmp, *path;
    int slot;
};
static _Thread_local struct {
    bool on;
    struct staged *v;
    size_t n, cap;
    char **dirs; /* directories zio_mkdir_p created meanwhile, removed again on abort */
    size_t ndirs, dirs_cap;
} defer;

/* Closes the output; renames the temporary file into place when err == 0 (or stages the
 * rename while this thread defers). Returns 0 or the errno of the first failure (err
 * itself when non-zero). */
static int out_close(struct out *o, int err)
{
    if (o->fd >= 0 && close(o->fd) && !err)
        err = errno;
    o->fd = -1;
    if (o->tmp && !err && defer.on) {
        if (defer.n == defer.cap) {
            defer.cap = defer.cap ? defer.cap * 2 : 8;
            defer.v = xrealloc(defer.v, defer.cap * sizeof *defer.v);
        }
        defer.v[defer.n++] = (struct staged){o->tmp, o->path, o->slot};
        o->path = o->tmp = NULL;
        return 0;
    }
    if (o->tmp) {
        if (!err)
            err = out_rename(o->tmp, o->path);
        if (err)
            unlink(o->tmp);
        zio_tmp_untrack(o->slot);
    }
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
    return err;
}

void zio_defer_begin(void)
{
    defer.on = true;
}

int zio_defer_end(bool commit, struct diag *d)
{
    int rc = 0;
    for (size_t i = 0; i < defer.n; i++) {
        struct staged *s = &defer.v[i];
        int e = commit && !rc ? out_rename(s->tmp, s->path) : ECANCELED;
        if (e) {
            unlink(s->tmp);
            if (e != ECANCELED)
                rc = diag_at(d, ERR_IO, s->path, 0, "cannot write: %s", out_reason(e));
        }
        zio_tmp_untrack(s->slot);
        free(s->tmp);
        free(s->path);
    }
    /* Newest first, and rmdir only removes a directory that is still empty. */
    for (size_t i = defer.ndirs; i-- > 0;) {
        if (!commit || rc)
            rmdir(defer.dirs[i]);
        free(defer.dirs[i]);
    }
    free(defer.dirs);
    free(defer.v);
    memset(&defer, 0, sizeof defer);
    return rc;
}

/* ---- zstd writer ---- */

struct zwriter {
    struct out o;
    enum zw_mode mode;
    ZSTD_CCtx *cctx;
    char *out;
    size_t out_cap;
    size_t bytes_in;
    bool in_frame; /* data was compressed since the last frame end */
    int err;
    int errnum;       /* errno of the first failed write, or 0 */
    const char *zerr; /* zstd's message when compression failed */
    struct buf held;  /* ZW_FRAMED: the open frame's compressed bytes */
};

int zw_open(struct zwriter **out, const char *path, enum zw_mode mode, int level, struct diag *d)
{
    struct zwriter *w = xcalloc(1, sizeof *w);
    w->mode = mode;
    if (mode == ZW_ATOMIC) {
        int rc = out_open(&w->o, path, d);
        if (rc) {
            free(w);
            return rc;
        }
    } else {
        w->o.slot = -1;
        w->o.path = xstrdup(path);
        w->o.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (w->o.fd < 0) {
            int e = errno;
            free(w->o.path);
            free(w);
            return diag_at(d, ERR_IO, path, 0, "cannot create: %s", strerror(e));
        }
    }
    buf_init(&w->held, 0);
    w->cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
    w->out_cap = ZSTD_CStreamOutSize();
    w->out = xmalloc(w->out_cap);
    *out = w;
    return 0;
}

/* ZW_FRAMED: writes the ended frame at once. */
static int write_held(struct zwriter *w)
{
    int rc = write_full(w->o.fd, w->held.p, w->held.len);
    if (rc)
        w->errnum = errno;
    buf_reset(&w->held);
    return rc ? ERR_IO : 0;
}

/* Runs the compressor over in with the given directive, writing output to the file. */
static int pump(struct zwriter *w, const void *data, size_t n, ZSTD_EndDirective dir)
{
    ZSTD_inBuffer in = {data, n, 0};
    for (;;) {
        ZSTD_outBuffer o = {w->out, w->out_cap, 0};
        size_t left = ZSTD_compressStream2(w->cctx, &o, &in, dir);
        if (ZSTD_isError(left)) {
            w->zerr = ZSTD_getErrorName(left);
            return ERR_IO;
        }
        if (o.pos && w->mode == ZW_FRAMED) {
            if (buf_append(&w->held, w->out, o.pos)) {
                w->errnum = ENOMEM;
                return ERR_IO;
            }
        } else if (o.pos && write_full(w->o.fd, w->out, o.pos)) {
            w->errnum = errno;
            return ERR_IO;
        }
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
    w->err = pump(w, NULL, 0, ZSTD_e_end);
    if (!w->err && w->held.len)
        w->err = write_held(w);
    return w->err;
}

int zw_write_frame(struct zwriter *w, const void *data, size_t n)
{
    if (zw_end_frame(w))
        return w->err;
    if (n == 0)
        return 0;
    size_t cap = ZSTD_compressBound(n);
    if (cap > w->out_cap) {
        free(w->out);
        w->out = xmalloc(cap);
        w->out_cap = cap;
    }
    /* The whole input and room for its bound: zstd compresses in one pass (the parameters
     * set at open stay; only the session is reset). */
    size_t k = ZSTD_compress2(w->cctx, w->out, w->out_cap, data, n);
    if (ZSTD_isError(k)) {
        w->zerr = ZSTD_getErrorName(k);
        return w->err = ERR_IO;
    }
    w->bytes_in += n;
    if (write_full(w->o.fd, w->out, k)) {
        w->errnum = errno;
        return w->err = ERR_IO;
    }
    return 0;
}

size_t zw_frame_held(const struct zwriter *w)
{
    return w->held.len;
}

size_t zw_bytes_in(const struct zwriter *w)
{
    return w->bytes_in;
}

const char *zw_strerror(const struct zwriter *w)
{
    if (w->zerr)
        return w->zerr;
    return strerror(w->errnum ? w->errnum : EIO);
}

static void zw_free(struct zwriter *w)
{
    ZSTD_freeCCtx(w->cctx);
    buf_free(&w->held);
    free(w->out);
    free(w);
}

int zw_commit(struct zwriter *w, struct diag *d)
{
    int rc = zw_end_frame(w);
    if (!rc && w->bytes_in == 0) { /* an empty stream is still one valid (empty) frame */
        rc = pump(w, NULL, 0, ZSTD_e_end);
        if (!rc && w->held.len)
            rc = write_held(w);
    }
    char *path = xstrdup(w->o.path);
    int e = out_close(&w->o, rc ? (w->errnum ? w->errnum : EIO) : 0);
    if (rc && w->zerr)
        diag_at(d, rc, path, 0, "cannot write: %s", w->zerr);
    else if (rc || e)
        diag_at(d, rc = ERR_IO, path, 0, "cannot write: %s", out_reason(e));
    free(path);
    zw_free(w);
    return rc;
}

void zw_abort(struct zwriter *w)
{
    if (!w)
        return;
    out_close(&w->o, ECANCELED);
    zw_free(w);
}

/* ---- plain atomic files through stdio ---- */

/* The FILE of an afile writes through this sink, so the errno of a failed write (ENOSPC,
 * EPIPE, EIO...) is kept for the message: stdio itself only keeps a sticky error flag. */
struct afile_sink {
    int fd;
    int errnum;
    char buf[1 << 16];
};

static ssize_t sink_write(void *cookie, const char *p, size_t n)
{
    struct afile_sink *s = cookie;
    if (s->errnum) {
        errno = s->errnum;
        return -1;
    }
    if (write_full(s->fd, p, n)) {
        s->errnum = errno;
        return -1;
    }
    return (ssize_t)n;
}

int afile_open(struct afile *a, const char *path, struct diag *d)
{
    memset(a, 0, sizeof *a);
    struct out o;
    int rc = out_open(&o, path, d);
    if (rc)
        return rc;
    struct afile_sink *s = xcalloc(1, sizeof *s);
    s->fd = o.fd;
    cookie_io_functions_t io = {NULL, sink_write, NULL, NULL};
    a->f = fopencookie(s, "w", io);
    if (!a->f) {
        int e = errno;
        out_close(&o, e ? e : ENOMEM);
        free(s);
        return diag_at(d, ERR_IO, path, 0, "cannot create: %s", strerror(e));
    }
    setvbuf(a->f, s->buf, _IOFBF, sizeof s->buf);
    a->fd = o.fd;
    a->path = o.path;
    a->tmp = o.tmp;
    a->slot = o.slot;
    a->sink = s;
    return 0;
}

/* The struct out an afile was opened from. */
static struct out afile_out(struct afile *a)
{
    struct out o = {a->fd, a->path, a->tmp, a->slot};
    return o;
}

int afile_commit(struct afile *a, struct diag *d)
{
    int e = 0;
    if (fflush(a->f) || ferror(a->f))
        e = a->sink->errnum ? a->sink->errnum : EIO;
    fclose(a->f);
    if (!e && a->sink->errnum)
        e = a->sink->errnum;
    struct out o = afile_out(a);
    char *path = xstrdup(a->path);
    e = out_close(&o, e);
    free(a->sink);
    memset(a, 0, sizeof *a);
    int rc = 0;
    if (e)
        rc = diag_at(d, ERR_IO, path, 0, "cannot write: %s", out_reason(e));
    free(path);
    return rc;
}

void afile_abort(struct afile *a)
{
    if (!a->f)
        return;
    a->sink->errnum = ECANCELED; /* fclose must not flush half an output into a stream */
    fclose(a->f);
    struct out o = afile_out(a);
    out_close(&o, ECANCELED);
    free(a->sink);
    memset(a, 0, sizeof *a);
}

int afile_errno(const struct afile *a)
{
    return a->sink && a->sink->errnum ? a->sink->errnum : EIO;
}

int afile_write_all(const char *path, const void *data, size_t n, struct diag *d)
{
    struct afile a;
    int rc = afile_open(&a, path, d);
    if (rc)
        return rc;
    if (n && fwrite(data, 1, n, a.f) != n) {
        int e = afile_errno(&a);
        afile_abort(&a);
        return diag_at(d, ERR_IO, path, 0, "cannot write: %s", strerror(e));
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
        char *nl = membyte(start + scanned, '\n', avail - scanned);
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
        if (mkdir(tmp, 0755) == 0) {
            if (defer.on) {
                if (defer.ndirs == defer.dirs_cap) {
                    defer.dirs_cap = defer.dirs_cap ? defer.dirs_cap * 2 : 8;
                    defer.dirs = xrealloc(defer.dirs, defer.dirs_cap * sizeof *defer.dirs);
                }
                defer.dirs[defer.ndirs++] = xstrdup(tmp);
            }
        } else if (errno != EEXIST) {
            return diag_at(d, ERR_IO, tmp, 0, "cannot create directory: %s", strerror(errno));
        }
        if (!c)
            return 0;
        *p = c;
    }
}

int zspill_open(struct zspill *s, const char *near_path, struct diag *d)
{
    struct buf p;
    buf_init(&p, 0);
    buf_printf(&p, "%s.spill.%ld", near_path, (long)getpid());
    *s = (struct zspill){.path = buf_release(&p)};
    int fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || !(s->f = fdopen(fd, "w+"))) {
        int rc = diag_set(d, ERR_IO, "%s: cannot create: %s", s->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(s->path);
        s->path = NULL;
        return rc;
    }
    unlink(s->path);
    return 0;
}

int zspill_put(struct zspill *s, const void *p, size_t n, uint64_t *off, struct diag *d)
{
    /* appends only; back to the end after a read (C requires a seek between the two,
     * and one per write would flush stdio's buffer every time) */
    if ((s->reading && fseeko(s->f, (off_t)s->end, SEEK_SET)) || fwrite(p, 1, n, s->f) != n)
        return diag_set(d, ERR_IO, "%s: cannot write: %s", s->path, strerror(errno));
    s->reading = false;
    *off = s->end;
    s->end += n;
    return 0;
}

int zspill_get(struct zspill *s, uint64_t off, uint64_t n, struct buf *b, struct diag *d)
{
    buf_reset(b);
    if (off + n > s->end || buf_reserve(b, (size_t)n))
        return diag_set(d, ERR_IO, "%s: bad spill read", s->path);
    s->reading = true;
    if (fseeko(s->f, (off_t)off, SEEK_SET) || fread(b->p, 1, (size_t)n, s->f) != n)
        return diag_set(d, ERR_IO, "%s: cannot read back: %s", s->path, strerror(errno));
    b->len = (size_t)n;
    b->p[n] = 0;
    return 0;
}

void zspill_close(struct zspill *s)
{
    if (s->f)
        fclose(s->f);
    free(s->path);
    *s = (struct zspill){0};
}
