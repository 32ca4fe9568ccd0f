/* WAV (RIFF/WAVE, PCM) for synthetic audio (media.h). */
#include "media.h"

#include <string.h>

static void le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
    le16(p, v);
    le16(p + 2, v >> 16);
}

int media_wav(struct buf *out, const float *samples, size_t frames, int channels, int rate,
              int depth)
{
    if (channels < 1 || channels > 2 || rate < 1 ||
        (depth != 8 && depth != 16 && depth != 24 && depth != 32))
        return ERR_INVALID;
    size_t bytes = (size_t)depth / 8;
    size_t n = frames * (size_t)channels;
    size_t data = n * bytes;
    size_t pad = data & 1; /* RIFF chunks are padded to an even size */
    if (data + pad + 36 > 0xffffffffu)
        return ERR_TOO_LARGE;
    if (buf_reserve(out, 44 + data + pad))
        return ERR_TOO_LARGE;
    uint8_t *h = (uint8_t *)out->p + out->len;
    memcpy(h, "RIFF", 4);
    le32(h + 4, (uint32_t)(36 + data + pad));
    memcpy(h + 8, "WAVEfmt ", 8);
    le32(h + 16, 16);
    le16(h + 20, 1); /* WAVE_FORMAT_PCM: what Python's wave and every player read */
    le16(h + 22, (uint32_t)channels);
    le32(h + 24, (uint32_t)rate);
    le32(h + 28, (uint32_t)((size_t)rate * (size_t)channels * bytes));
    le16(h + 32, (uint32_t)((size_t)channels * bytes));
    le16(h + 34, (uint32_t)depth);
    memcpy(h + 36, "data", 4);
    le32(h + 40, (uint32_t)data);
    uint8_t *o = h + 44;
    /* 8-bit is scaled as 16-bit and shifted: AIPerf hands libsndfile int16 for PCM_U8. */
    double full = depth == 8    ? 32767.0
                  : depth == 16 ? 32767.0
                  : depth == 24 ? 8388607.0
                                : 2147483647.0;
    for (size_t i = 0; i < n; i++) {
        double s = samples[i];
        s = s > 1 ? 1 : s < -1 ? -1 : s;
        long long v = (long long)(s * full); /* truncation toward zero, as numpy's astype */
        switch (depth) {
        case 8:
            *o++ = (uint8_t)((v >= 0 ? v / 256 : -((-v + 255) / 256)) + 128); /* floor(v / 256) */
            break;
        case 16:
            le16(o, (uint32_t)v);
            o += 2;
            break;
        case 24:
            o[0] = (uint8_t)v;
            o[1] = (uint8_t)(v >> 8);
            o[2] = (uint8_t)(v >> 16);
            o += 3;
            break;
        default:
            le32(o, (uint32_t)v);
            o += 4;
        }
    }
    if (pad)
        *o++ = 0;
    out->len += 44 + data + pad;
    out->p[out->len] = '\0';
    return 0;
}
