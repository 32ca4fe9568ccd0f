/*
 * zio: files as metronome writes and reads them.
 *
 * Writers never leave half a file under the final name: an atomic writer writes
 * PATH.tmp.PID and renames it over PATH on commit (abort unlinks it). A direct writer
 * (records during a run) appends to PATH itself and ends a zstd frame on every
 * zw_end_frame, so a crash loses only the open frame and the file still decodes.
 *
 * Outputs that are not regular files are never replaced (docs/reliability.md): "-" is
 * stdout and a FIFO or character device (/dev/null, /dev/stdout) is written through in
 * place; a symbolic link is followed and its target replaced atomically in the target's
 * directory (a dangling link is refused); a directory, block device or socket is refused
 * with "PATH: is a block device; refusing to write over it". Temporary files are
 * registered with zio_tmp_track, so a SIGINT/SIGTERM/SIGHUP/SIGPIPE removes them before
 * the process dies (zio_cleanup_on_signals). Write errors name the real cause (ENOSPC:
 * "No space left on device"), from write(), close() and zstd alike.
 *
 * Readers stream: zr_getline hands out one line at a time from an internal buffer bounded
 * by max_line, over zstd-compressed or plain input (sniffed from the magic number).
 * Every object here is owned by one thread.
 */
#ifndef METRONOME_ZIO_H
#define METRONOME_ZIO_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct zwriter;

enum zw_mode {
    ZW_ATOMIC, /* write PATH.tmp.PID, rename on commit */
    ZW_DIRECT, /* write PATH in place (crash-safe frames) */
    ZW_FRAMED, /* as ZW_DIRECT, and the open frame's compressed bytes stay in memory until
                  zw_end_frame writes them at once: a crash never leaves a part of a frame
                  that decodes to a cut line (records.jsonl.zst) */
};

/* Opens a zstd writer at compression `level` (1..19). On failure fills d. */
int zw_open(struct zwriter **out, const char *path, enum zw_mode mode, int level, struct diag *d);
/* Buffers and compresses n bytes; nothing reaches the file before the frame ends or the
 * internal buffer fills. */
int zw_write(struct zwriter *w, const void *data, size_t n);
/* Ends the current zstd frame and writes it to the file (a crash-safe point). */
int zw_end_frame(struct zwriter *w);
/* Compresses the n bytes at data as one whole frame and writes it (ending a frame that
 * zw_write left open first). One pass straight over data: zstd neither copies it into its
 * window buffer nor, when that buffer wraps, matches across two segments (records: about
 * 9 % fewer instructions than the same bytes through zw_write). */
int zw_write_frame(struct zwriter *w, const void *data, size_t n);
/* Why the writer failed (strerror of the write's errno, or zstd's message). */
const char *zw_strerror(const struct zwriter *w);
/* ZW_FRAMED: compressed bytes of the open frame held in memory (end the frame to bound
 * them); 0 in the other modes. */
size_t zw_frame_held(const struct zwriter *w);
/* Uncompressed bytes written so far. */
size_t zw_bytes_in(const struct zwriter *w);
/* Ends the frame, closes, renames (atomic mode) and frees w. On failure the temporary
 * file is removed, d is filled and w is freed all the same. */
int zw_commit(struct zwriter *w, struct diag *d);
/* Closes and frees w; an atomic writer's temporary file is removed. */
void zw_abort(struct zwriter *w);

struct afile_sink;

/* A plain file written atomically (tmp + rename) through stdio, by the output rule above. */
struct afile {
    FILE *f;    /* write here (a stdio stream over fd that remembers write errors) */
    int fd;     /* the descriptor under f (for fchmod before the first byte) */
    char *path; /* owned: final path (a symlink's target) */
    char *tmp;  /* owned: temporary path, NULL when written through */
    int slot;   /* signal-cleanup slot */
    struct afile_sink *sink;
};
int afile_open(struct afile *a, const char *path, struct diag *d);
/* Checks path against the output rule without writing anything (a command calls it
 * before its work, so `-o /some/dir` fails at once, not after an hour of packing). */
int zio_out_check(const char *path, struct diag *d);
/* Flushes, closes, renames into place. On failure: "PATH: cannot write: REASON" with the
 * real errno (ENOSPC included), the temporary file removed. a is released either way. */
int afile_commit(struct afile *a, struct diag *d);
void afile_abort(struct afile *a);
/* errno of the first failed write through a->f (EIO when unknown). */
int afile_errno(const struct afile *a);
/* Writes the whole of data to path atomically. */
int afile_write_all(const char *path, const void *data, size_t n, struct diag *d);

struct zreader;

/* Opens path ("-" is stdin) for line reading. Lines longer than max_line fail with
 * ERR_TOO_LARGE naming the line. */
int zr_open(struct zreader **out, const char *path, size_t max_line, struct diag *d);
/* Next line without its '\n' (a trailing '\r' is kept). The view stays valid until the
 * next call. Returns 1 with a line, 0 at the end, < 0 on error (d filled, naming the
 * file and the line; a truncated zstd stream is an error). */
int zr_getline(struct zreader *r, const char **line, size_t *len, struct diag *d);
/* 1-based number of the line last returned. */
long zr_lineno(const struct zreader *r);
/* Compressed (or plain) bytes read so far, and decompressed bytes produced. */
size_t zr_bytes_in(const struct zreader *r);
size_t zr_bytes_out(const struct zreader *r);
bool zr_is_zstd(const struct zreader *r);
void zr_close(struct zreader *r);

/* Staged commits, for a command whose outputs must appear all together or not at all
 * (report: a check that fails after two exports were written must leave none). Between
 * begin and end, this thread's atomic commits (afile_commit, zw_commit of ZW_ATOMIC) keep
 * their finished temporary files; zio_defer_end renames them all into place (commit) or
 * removes them all, with the directories zio_mkdir_p created meanwhile (if still empty).
 * Returns 0, or < 0 with d filled when a rename failed (the ones not yet renamed are
 * removed). Outputs written through (stdout, FIFOs) cannot be staged. */
void zio_defer_begin(void);
int zio_defer_end(bool commit, struct diag *d);

/* Registers a temporary file to be unlinked if the process dies of SIGINT, SIGTERM,
 * SIGHUP or SIGPIPE; returns a slot for zio_tmp_untrack (-1: table full, not tracked).
 * Thread-safe; the handler is async-signal-safe. */
int zio_tmp_track(const char *path);
void zio_tmp_untrack(int slot);
/* Installs the handler for those signals where their disposition is the default (an
 * ignored signal stays ignored; replay blocks them and reads a signalfd instead). */
void zio_cleanup_on_signals(void);

/* mkdir -p: creates dir and its missing parents (0755). On failure fills d with
 * "PATH: cannot create directory: reason", naming the component that failed. */
int zio_mkdir_p(const char *dir, struct diag *d);

/* Reads a whole file (max bytes at most) into a NUL-terminated heap buffer the caller
 * frees; decompresses zstd input. */
int zio_read_all(const char *path, size_t max, char **out, size_t *len, struct diag *d);

/* A spill file: bytes set aside while a whole input is read, so that what is kept in
 * memory is their place (16 bytes), not their size. It is created beside near_path
 * (NEAR.spill.PID, in a directory the caller writes anyway) and unlinked at once: the
 * kernel frees it on close or when the process dies. */
struct zspill {
    FILE *f;
    char *path; /* for messages */
    uint64_t end;
    bool reading; /* the last operation was a read (a write must seek back first) */
};
int zspill_open(struct zspill *s, const char *near_path, struct diag *d);
/* Appends n bytes; their offset in *off. */
int zspill_put(struct zspill *s, const void *p, size_t n, uint64_t *off, struct diag *d);
/* Reads back n bytes at off into b (replacing what it held; NUL-terminated). */
struct buf;
int zspill_get(struct zspill *s, uint64_t off, uint64_t n, struct buf *b, struct diag *d);
void zspill_close(struct zspill *s);

#endif
