/*
 * zio: files as metronome writes and reads them.
 *
 * Writers never leave half a file under the final name: an atomic writer writes
 * PATH.tmp.PID and renames it over PATH on commit (abort unlinks it). A direct writer
 * (records during a run) appends to PATH itself and ends a zstd frame on every
 * zw_end_frame, so a crash loses only the open frame and the file still decodes.
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
#include <stdio.h>

struct zwriter;

enum zw_mode {
    ZW_ATOMIC, /* write PATH.tmp.PID, rename on commit */
    ZW_DIRECT, /* write PATH in place (crash-safe frames) */
};

/* Opens a zstd writer at compression `level` (1..19). On failure fills d. */
int zw_open(struct zwriter **out, const char *path, enum zw_mode mode, int level, struct diag *d);
/* Buffers and compresses n bytes; nothing reaches the file before the frame ends or the
 * internal buffer fills. */
int zw_write(struct zwriter *w, const void *data, size_t n);
/* Ends the current zstd frame and writes it to the file (a crash-safe point). */
int zw_end_frame(struct zwriter *w);
/* Uncompressed bytes written so far. */
size_t zw_bytes_in(const struct zwriter *w);
/* Ends the frame, closes, renames (atomic mode) and frees w. On failure the temporary
 * file is removed, d is filled and w is freed all the same. */
int zw_commit(struct zwriter *w, struct diag *d);
/* Closes and frees w; an atomic writer's temporary file is removed. */
void zw_abort(struct zwriter *w);

/* A plain file written atomically (tmp + rename) through stdio. */
struct afile {
    FILE *f;    /* write here */
    char *path; /* owned: final path */
    char *tmp;  /* owned: temporary path */
};
int afile_open(struct afile *a, const char *path, struct diag *d);
int afile_commit(struct afile *a, struct diag *d);
void afile_abort(struct afile *a);
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

/* mkdir -p: creates dir and its missing parents (0755). On failure fills d with
 * "PATH: cannot create directory: reason", naming the component that failed. */
int zio_mkdir_p(const char *dir, struct diag *d);

/* Reads a whole file (max bytes at most) into a NUL-terminated heap buffer the caller
 * frees; decompresses zstd input. */
int zio_read_all(const char *path, size_t max, char **out, size_t *len, struct diag *d);

#endif
