/* PNG (stored deflate blocks), CRC-32, Adler-32 and base64 for synthetic images (media.h). */
#include "media.h"

#include <pthread.h>
#include <string.h>

/* Slicing-by-8 tables: a PNG of a 512x512 image is 786 KB to checksum, and a 1,000-image
 * trace checksums most of a gigabyte, so the byte-at-a-time loop would be the pack's cost. */
static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

uint32_t media_crc32(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *s = p;
    uint32_t c = ~crc;
    while (n >= 8) {
        uint32_t lo = c ^ ((uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 |
                           (uint32_t)s[3] << 24);
        c = crc_tab[7][lo & 0xff] ^ crc_tab[6][(lo >> 8) & 0xff] ^ crc_tab[5][(lo >> 16) & 0xff] ^
            crc_tab[4][lo >> 24] ^ crc_tab[3][s[4]] ^ crc_tab[2][s[5]] ^ crc_tab[1][s[6]] ^
            crc_tab[0][s[7]];
        s += 8;
        n -= 8;
    }
    while (n--)
        c = crc_tab[0][(c ^ *s++) & 0xff] ^ (c >> 8);
    return ~c;
}

uint32_t media_adler32(uint32_t adler, const void *p, size_t n)
{
    const uint8_t *s = p;
    uint32_t a = adler & 0xffff, b = adler >> 16;
    while (n) {
        /* 5552 is the most bytes before b can overflow 32 bits (zlib's NMAX) */
        size_t k = n < 5552 ? n : 5552;
        n -= k;
        while (k--) {
            a += *s++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return b << 16 | a;
}

int media_base64(struct buf *out, const void *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = (n + 2) / 3 * 4;
    if (buf_reserve(out, need))
        return ERR_TOO_LARGE;
    const uint8_t *s = p;
    char *o = out->p + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = '=';
    }
    out->len += need;
    out->p[out->len] = '\0';
    return 0;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Appends a chunk whose data is already at out->p[start + 8 ..] (len bytes): fills in
 * the length and type before it and the CRC after it. */
static void chunk_close(struct buf *out, size_t start, const char type[4], uint32_t len)
{
    uint8_t *c = (uint8_t *)out->p + start;
    be32(c, len);
    memcpy(c + 4, type, 4);
    uint32_t crc = media_crc32(0, c + 4, (size_t)len + 4);
    be32(c + 8 + len, crc);
    out->len = start + 12 + len;
    out->p[out->len] = '\0';
}

int media_png(struct buf *out, const uint8_t *rgb, int w, int h)
{
    if (w < 1 || h < 1 || w > MEDIA_MAX_SIDE || h > MEDIA_MAX_SIDE)
        return ERR_INVALID;
    size_t row = (size_t)w * 3 + 1; /* the filter byte (0: none) then the pixels */
    size_t raw = row * (size_t)h;
    size_t nblocks = raw / 65535 + 1; /* the last block may be empty: it carries BFINAL */
    size_t idat = 2 + raw + nblocks * 5 + 4;
    size_t total = 8 + (12 + 13) + (12 + idat) + 12;
    if (idat > 0x7fffffff || buf_reserve(out, total))
        return ERR_TOO_LARGE;

    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(out->p + out->len, sig, 8);
    out->len += 8;

    size_t at = out->len;
    uint8_t *d = (uint8_t *)out->p + at + 8;
    be32(d, (uint32_t)w);
    be32(d + 4, (uint32_t)h);
    d[8] = 8;  /* bits per sample */
    d[9] = 2;  /* colour type: RGB */
    d[10] = 0; /* deflate */
    d[11] = 0; /* adaptive filtering */
    d[12] = 0; /* no interlace */
    chunk_close(out, at, "IHDR", 13);

    at = out->len;
    d = (uint8_t *)out->p + at + 8;
    uint8_t *z = d;
    *z++ = 0x78; /* CMF: deflate, 32 KiB window */
    *z++ = 0x01; /* FLG: no dictionary, fastest; (0x78 * 256 + 0x01) % 31 == 0 */
    uint32_t adler = 1;
    size_t y = 0, x = 0; /* position in the raw stream: row y, byte x of it */
    size_t left = raw;
    for (size_t b = 0; b < nblocks; b++) {
        size_t n = left < 65535 ? left : 65535;
        left -= n;
        *z++ = b + 1 == nblocks ? 1 : 0; /* BFINAL, BTYPE 00 (stored) */
        z[0] = (uint8_t)n;
        z[1] = (uint8_t)(n >> 8);
        z[2] = (uint8_t)~n;
        z[3] = (uint8_t)(~n >> 8);
        z += 4;
        uint8_t *blk = z;
        size_t k = n;
        while (k) {
            if (x == 0) {
                *z++ = 0;
                x = 1;
                k--;
                continue;
            }
            size_t take = row - x < k ? row - x : k;
            memcpy(z, rgb + y * (row - 1) + (x - 1), take);
            z += take;
            x += take;
            k -= take;
            if (x == row) {
                x = 0;
                y++;
            }
        }
        adler = media_adler32(adler, blk, n);
    }
    be32(z, adler);
    z += 4;
    chunk_close(out, at, "IDAT", (uint32_t)(z - d));

    chunk_close(out, out->len, "IEND", 0);
    return 0;
}
