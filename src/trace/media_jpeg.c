/*
 * Baseline JPEG (ITU-T T.81, JFIF 1.01) for synthetic images (media.h): 4:4:4 YCbCr, one
 * scan, the example tables of Annex K (quantization scaled to a quality as libjpeg's
 * jpeg_quality_scaling does; the typical Huffman tables), a separable floating-point
 * DCT. No restart markers.
 */
#include "media.h"

#include <math.h>
#include <string.h>

/* Annex K.1, natural (row-major) order. */
static const uint8_t q_luma[64] = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
    14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
    18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
};
static const uint8_t q_chroma[64] = {
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99,
    99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
};

/* zigzag position -> natural index */
static const uint8_t zz[64] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
};

/* Annex K.3: code counts per length 1..16, then the symbols in code order. */
static const uint8_t dc_luma_bits[16] = {0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t dc_chroma_bits[16] = {0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
static const uint8_t dc_vals[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const uint8_t ac_luma_bits[16] = {0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d};
static const uint8_t ac_luma_vals[162] = {
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
    0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52,
    0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
    0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45,
    0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
    0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
    0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
    0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3,
    0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
    0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
};
static const uint8_t ac_chroma_bits[16] = {0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77};
static const uint8_t ac_chroma_vals[162] = {
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
    0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33,
    0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
    0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44,
    0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63,
    0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
    0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
    0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
    0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
    0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
    0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
};

struct huff {
    uint16_t code[256];
    uint8_t size[256];
};

/* Annex C: codes assigned in order of length, counting up. */
static void huff_build(struct huff *h, const uint8_t bits[16], const uint8_t *vals)
{
    memset(h, 0, sizeof *h);
    unsigned code = 0, k = 0;
    for (int len = 1; len <= 16; len++) {
        for (int i = 0; i < bits[len - 1]; i++, k++) {
            h->code[vals[k]] = (uint16_t)code++;
            h->size[vals[k]] = (uint8_t)len;
        }
        code <<= 1;
    }
}

struct bw {
    struct buf *out;
    uint64_t acc; /* pending bits, the oldest highest */
    int n;        /* how many */
    int err;
};

/* Room for one block is reserved before it is coded (code_block), so no check here. */
static inline void put_byte(struct bw *w, uint8_t b)
{
    w->out->p[w->out->len++] = (char)b;
    if (b == 0xff) /* a 0xFF in entropy-coded data is followed by a stuffed 0x00 */
        w->out->p[w->out->len++] = 0;
}

static inline void put_bits(struct bw *w, uint32_t v, int n)
{
    w->acc = (w->acc << n) | (v & ((1u << n) - 1));
    w->n += n;
    while (w->n >= 8) {
        w->n -= 8;
        put_byte(w, (uint8_t)(w->acc >> w->n));
    }
}

static void flush_bits(struct bw *w)
{
    if (w->n > 0) /* pad with 1 bits (F.1.2.3) */
        put_bits(w, 0x7f, 8 - w->n);
}

/* The magnitude category: bits needed for |v| (0 for 0). */
static inline int nbits(int v)
{
    unsigned a = (unsigned)(v < 0 ? -v : v);
    return a ? 32 - __builtin_clz(a) : 0;
}

static inline void put_value(struct bw *w, int v, int n)
{
    if (n)
        put_bits(w, (uint32_t)(v < 0 ? v - 1 : v), n);
}

/* One 8-point DCT-II, c[u][x] = C(u)/2 cos((2x+1) u pi / 16), from stride-apart inputs:
 * cosines are symmetric (even u) or antisymmetric (odd u) about the middle, so the even
 * outputs need the sums x[i] + x[7-i] and the odd ones the differences: 22 multiplies
 * instead of 64 (a noise image spends most of its encoding time here). */
static void dct8(const float *in, size_t is, float *out, size_t os, const float cosm[64])
{
    float s0 = in[0] + in[7 * is], s1 = in[is] + in[6 * is], s2 = in[2 * is] + in[5 * is],
          s3 = in[3 * is] + in[4 * is];
    float d0 = in[0] - in[7 * is], d1 = in[is] - in[6 * is], d2 = in[2 * is] - in[5 * is],
          d3 = in[3 * is] - in[4 * is];
    out[0] = cosm[0] * (s0 + s1 + s2 + s3);
    out[4 * os] = cosm[32] * ((s0 + s3) - (s1 + s2));
    out[2 * os] = cosm[16] * (s0 - s3) + cosm[17] * (s1 - s2);
    out[6 * os] = cosm[48] * (s0 - s3) + cosm[49] * (s1 - s2);
    for (int u = 1; u < 8; u += 2) {
        const float *c = cosm + u * 8;
        out[(size_t)u * os] = c[0] * d0 + c[1] * d1 + c[2] * d2 + c[3] * d3;
    }
}

/* Transforms, quantizes and codes one 8x8 block (level-shifted samples, row-major). */
static void code_block(struct bw *w, const float in[64], const float cosm[64], const float qinv[64],
                       int *pred, const struct huff *dc, const struct huff *ac)
{
    /* A block codes to at most 64 x (16 + 11) bits, 216 bytes, twice that if every byte
     * were a stuffed 0xFF (plus the final flush): 1 KiB of room is always enough. */
    if (w->err || (w->out->cap - w->out->len < 1024 && buf_reserve(w->out, 1 << 16))) {
        w->err = ERR_TOO_LARGE;
        return;
    }
    float t[64], f[64];
    for (int y = 0; y < 8; y++) /* rows: t[y][u] = sum_x in[y][x] c[u][x] */
        dct8(in + y * 8, 1, t + y * 8, 1, cosm);
    for (int u = 0; u < 8; u++) /* columns: f[v][u] = sum_y c[v][y] t[y][u] */
        dct8(t + u, 8, f + u, 8, cosm);
    int q[64];
    for (int k = 0; k < 64; k++) {
        int i = zz[k];
        int v = (int)lrintf(f[i] * qinv[i]);
        /* baseline codes AC magnitudes up to 1023 (category 10); 8-bit input stays below */
        q[k] = v > 1023 ? 1023 : v < -1023 ? -1023 : v;
    }
    int diff = q[0] - *pred;
    *pred = q[0];
    int n = nbits(diff);
    put_bits(w, dc->code[n], dc->size[n]);
    put_value(w, diff, n);
    int run = 0;
    for (int k = 1; k < 64; k++) {
        if (q[k] == 0) {
            run++;
            continue;
        }
        while (run > 15) {
            put_bits(w, ac->code[0xf0], ac->size[0xf0]); /* ZRL: 16 zeros */
            run -= 16;
        }
        n = nbits(q[k]);
        int sym = run << 4 | n;
        put_bits(w, ac->code[sym], ac->size[sym]);
        put_value(w, q[k], n);
        run = 0;
    }
    if (run)
        put_bits(w, ac->code[0], ac->size[0]); /* EOB */
}

static void seg(struct buf *b, uint8_t marker, const uint8_t *p, size_t n)
{
    uint8_t h[4] = {0xff, marker, (uint8_t)((n + 2) >> 8), (uint8_t)(n + 2)};
    buf_append(b, h, 4);
    buf_append(b, p, n);
}

static void dht(struct buf *b, uint8_t cls_id, const uint8_t bits[16], const uint8_t *vals)
{
    uint8_t p[1 + 16 + 162];
    size_t n = 0;
    p[0] = cls_id;
    memcpy(p + 1, bits, 16);
    for (int i = 0; i < 16; i++)
        n += bits[i];
    memcpy(p + 17, vals, n);
    seg(b, 0xc4, p, 17 + n);
}

int media_jpeg(struct buf *out, const uint8_t *rgb, int w, int h, int quality)
{
    if (w < 1 || h < 1 || w > MEDIA_MAX_SIDE || h > MEDIA_MAX_SIDE || quality < 1 || quality > 100)
        return ERR_INVALID;
    if (buf_reserve(out, 1024))
        return ERR_TOO_LARGE;
    int scale = quality < 50 ? 5000 / quality : 200 - quality * 2;
    uint8_t qt[2][64];
    for (int i = 0; i < 64; i++) {
        int a = (q_luma[i] * scale + 50) / 100, c = (q_chroma[i] * scale + 50) / 100;
        qt[0][i] = (uint8_t)(a < 1 ? 1 : a > 255 ? 255 : a);
        qt[1][i] = (uint8_t)(c < 1 ? 1 : c > 255 ? 255 : c);
    }

    static const uint8_t soi[2] = {0xff, 0xd8};
    buf_append(out, soi, 2);
    static const uint8_t jfif[14] = {'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
    seg(out, 0xe0, jfif, sizeof jfif);
    uint8_t dqt[130];
    for (int t = 0; t < 2; t++) {
        dqt[t * 65] = (uint8_t)t; /* 8-bit precision, table t */
        for (int k = 0; k < 64; k++)
            dqt[t * 65 + 1 + k] = qt[t][zz[k]]; /* tables are stored in zigzag order */
    }
    seg(out, 0xdb, dqt, sizeof dqt);
    uint8_t sof[15] = {8,          (uint8_t)(h >> 8),
                       (uint8_t)h, (uint8_t)(w >> 8),
                       (uint8_t)w, 3,
                       1,          0x11,
                       0,          2,
                       0x11,       1,
                       3,          0x11,
                       1};
    seg(out, 0xc0, sof, sizeof sof);
    dht(out, 0x00, dc_luma_bits, dc_vals);
    dht(out, 0x10, ac_luma_bits, ac_luma_vals);
    dht(out, 0x01, dc_chroma_bits, dc_vals);
    dht(out, 0x11, ac_chroma_bits, ac_chroma_vals);
    static const uint8_t sos[10] = {3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0};
    seg(out, 0xda, sos, sizeof sos);

    struct huff hdc[2], hac[2];
    huff_build(&hdc[0], dc_luma_bits, dc_vals);
    huff_build(&hac[0], ac_luma_bits, ac_luma_vals);
    huff_build(&hdc[1], dc_chroma_bits, dc_vals);
    huff_build(&hac[1], ac_chroma_bits, ac_chroma_vals);
    /* c[u][x] = C(u)/2 cos((2x+1) u pi / 16), so the two passes give C(u)C(v)/4 (A.3.3);
     * the quantizer's reciprocal is folded into qinv. */
    float cosm[64], qinv[2][64];
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++)
            cosm[u * 8 + x] = (float)((u ? 0.5 : 0.5 / sqrt(2.0)) *
                                      cos((2 * x + 1) * u * 3.14159265358979323846 / 16));
    for (int i = 0; i < 64; i++) {
        qinv[0][i] = 1.0f / qt[0][i];
        qinv[1][i] = 1.0f / qt[1][i];
    }

    struct bw bw = {.out = out};
    int pred[3] = {0, 0, 0};
    float blk[3][64];
    for (int by = 0; by < h && !bw.err; by += 8)
        for (int bx = 0; bx < w && !bw.err; bx += 8) {
            for (int y = 0; y < 8; y++) {
                int sy = by + y < h ? by + y : h - 1; /* edge blocks repeat the last row */
                for (int x = 0; x < 8; x++) {
                    int sx = bx + x < w ? bx + x : w - 1;
                    const uint8_t *p = rgb + ((size_t)sy * (size_t)w + (size_t)sx) * 3;
                    float r = p[0], g = p[1], b = p[2];
                    /* JFIF's YCbCr, level-shifted by 128 (Cb, Cr are centred on 0) */
                    blk[0][y * 8 + x] = 0.299f * r + 0.587f * g + 0.114f * b - 128;
                    blk[1][y * 8 + x] = -0.168736f * r - 0.331264f * g + 0.5f * b;
                    blk[2][y * 8 + x] = 0.5f * r - 0.418688f * g - 0.081312f * b;
                }
            }
            for (int c = 0; c < 3; c++) {
                int t = c ? 1 : 0;
                code_block(&bw, blk[c], cosm, qinv[t], &pred[c], &hdc[t], &hac[t]);
            }
        }
    if (bw.err)
        return bw.err;
    flush_bits(&bw); /* within the last block's reserved room */
    static const uint8_t eoi[2] = {0xff, 0xd9};
    return buf_append(out, eoi, 2);
}
