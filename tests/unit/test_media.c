#include "media.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- checksums: the published check values, and every split point ---- */

TEST(media_crc32_vectors)
{
    CHECK(media_crc32(0, "", 0) == 0);
    CHECK(media_crc32(0, "123456789", 9) == 0xCBF43926u); /* CRC-32/ISO-HDLC check */
    CHECK(media_crc32(0, "The quick brown fox jumps over the lazy dog", 43) == 0x414FA339u);
    CHECK(media_crc32(0, "IEND", 4) == 0xAE426082u); /* every PNG ends with it */
    uint8_t b[100];
    for (int i = 0; i < 100; i++)
        b[i] = (uint8_t)(i * 37 + 11);
    uint32_t whole = media_crc32(0, b, sizeof b);
    /* a plain bitwise CRC, to check the sliced one against */
    uint32_t c = 0xffffffffu;
    for (int i = 0; i < 100; i++) {
        c ^= b[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    CHECK(whole == ~c);
    for (size_t split = 0; split <= sizeof b; split++)
        CHECK(media_crc32(media_crc32(0, b, split), b + split, sizeof b - split) == whole);
}

TEST(media_adler32_vectors)
{
    CHECK(media_adler32(1, "", 0) == 1);
    CHECK(media_adler32(1, "Wikipedia", 9) == 0x11E60398u);
    CHECK(media_adler32(1, "abc", 3) == 0x024D0127u);
    /* long runs of 0xff are where a missed modulo overflows */
    size_t n = 100000;
    uint8_t *b = malloc(n);
    REQUIRE(b);
    memset(b, 0xff, n);
    uint64_t a = 1, s = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + b[i]) % 65521;
        s = (s + a) % 65521;
    }
    uint32_t whole = media_adler32(1, b, n);
    CHECK(whole == (uint32_t)(s << 16 | a));
    for (size_t split = 0; split <= n; split += 997)
        CHECK(media_adler32(media_adler32(1, b, split), b + split, n - split) == whole);
    free(b);
}

TEST(media_base64_rfc4648)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        struct buf b;
        buf_init(&b, 0);
        CHECK(media_base64(&b, in[i], strlen(in[i])) == 0);
        CHECK(b.len == strlen(out[i]));
        CHECK(b.p && !strcmp(b.p, out[i]));
        buf_free(&b);
    }
    struct buf b; /* all 256 byte values reach all 64 symbols */
    buf_init(&b, 0);
    uint8_t all[3] = {0xfb, 0xff, 0xbf};
    CHECK(media_base64(&b, all, 3) == 0 && !strcmp(b.p, "+/+/"));
    buf_free(&b);
}

/* ---- PNG: parse what we wrote, inflate its stored blocks, compare the pixels ---- */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void png_roundtrip(int w, int h)
{
    size_t n = (size_t)w * (size_t)h * 3;
    uint8_t *px = malloc(n);
    REQUIRE(px);
    for (size_t i = 0; i < n; i++)
        px[i] = (uint8_t)(i * 131 + (i >> 7));
    struct buf b;
    buf_init(&b, 0);
    REQUIRE(media_png(&b, px, w, h) == 0);
    const uint8_t *p = (const uint8_t *)b.p, *end = p + b.len;
    REQUIRE(b.len > 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8));
    p += 8;
    uint8_t *raw = malloc(n + (size_t)h);
    size_t rawn = 0;
    int chunks = 0;
    bool iend = false;
    while (p + 12 <= end && !iend) {
        uint32_t len = rd32(p);
        REQUIRE(p + 12 + len <= end);
        CHECK(media_crc32(0, p + 4, len + 4) == rd32(p + 8 + len));
        const uint8_t *dat = p + 8;
        if (!memcmp(p + 4, "IHDR", 4)) {
            CHECK(chunks == 0 && len == 13);
            CHECK(rd32(dat) == (uint32_t)w && rd32(dat + 4) == (uint32_t)h);
            CHECK(dat[8] == 8 && dat[9] == 2 && dat[10] == 0 && dat[11] == 0 && dat[12] == 0);
        } else if (!memcmp(p + 4, "IDAT", 4)) {
            CHECK(((dat[0] << 8) | dat[1]) % 31 == 0 && (dat[0] & 15) == 8);
            const uint8_t *z = dat + 2, *zend = dat + len - 4;
            bool final = false;
            while (!final && z + 5 <= zend) {
                final = z[0] & 1;
                CHECK((z[0] & 6) == 0); /* stored */
                unsigned bl = z[1] | z[2] << 8, nl = z[3] | z[4] << 8;
                CHECK((bl ^ nl) == 0xffff);
                z += 5;
                REQUIRE(z + bl <= zend && rawn + bl <= n + (size_t)h);
                memcpy(raw + rawn, z, bl);
                rawn += bl;
                z += bl;
            }
            CHECK(final && z == zend);
            CHECK(media_adler32(1, raw, rawn) == rd32(zend));
        } else if (!memcmp(p + 4, "IEND", 4)) {
            CHECK(len == 0);
            iend = true;
        }
        chunks++;
        p += 12 + len;
    }
    CHECK(iend && p == end && chunks == 3);
    CHECK(rawn == n + (size_t)h);
    bool same = rawn == n + (size_t)h;
    for (int y = 0; same && y < h; y++) {
        const uint8_t *row = raw + (size_t)y * ((size_t)w * 3 + 1);
        same = row[0] == 0 && !memcmp(row + 1, px + (size_t)y * (size_t)w * 3, (size_t)w * 3);
    }
    CHECK(same);
    free(raw);
    free(px);
    buf_free(&b);
}

TEST(media_png_roundtrip)
{
    png_roundtrip(1, 1);
    png_roundtrip(3, 2);
    png_roundtrip(200, 120);          /* 72,120 raw bytes: two stored blocks */
    png_roundtrip(7, 65535 / 22 + 1); /* raw size just past one block */
    struct buf b;
    buf_init(&b, 0);
    uint8_t px[3] = {0};
    CHECK(media_png(&b, px, 0, 1) == ERR_INVALID);
    CHECK(media_png(&b, px, 1, MEDIA_MAX_SIDE + 1) == ERR_INVALID);
    buf_free(&b);
}

/* ---- JPEG: the marker layout, and a flat grey block coded bit for bit ---- */

TEST(media_jpeg_layout)
{
    /* 8x8 of RGB 128: Y = Cb = Cr = 0 after the level shift, so every coefficient is 0:
     * luma DC category 0 "00", luma EOB "1010", chroma DC "00" and EOB "00" twice: 14
     * bits, padded with 1s: 0010 1000 0000 0011. */
    uint8_t grey[8 * 8 * 3];
    memset(grey, 128, sizeof grey);
    struct buf b;
    buf_init(&b, 0);
    REQUIRE(media_jpeg(&b, grey, 8, 8, 85) == 0);
    const uint8_t *p = (const uint8_t *)b.p;
    REQUIRE(b.len > 4 && p[0] == 0xff && p[1] == 0xd8);
    CHECK(p[b.len - 2] == 0xff && p[b.len - 1] == 0xd9);
    /* walk the segments up to SOS */
    size_t at = 2;
    int order[16], nseg = 0;
    while (at + 4 <= b.len && nseg < 16) {
        REQUIRE(p[at] == 0xff);
        uint8_t m = p[at + 1];
        size_t len = (size_t)p[at + 2] << 8 | p[at + 3];
        order[nseg++] = m;
        if (m == 0xdb) { /* quality 85: scale 30, luma[0] = (16 * 30 + 50) / 100 = 5 */
            CHECK(len == 132 && p[at + 4] == 0 && p[at + 5] == 5);
            CHECK(p[at + 4 + 65] == 1 && p[at + 5 + 65] == 5); /* (17 * 30 + 50) / 100 */
        }
        if (m == 0xc4) {
            int sum = 0;
            for (int i = 0; i < 16; i++)
                sum += p[at + 5 + (size_t)i];
            CHECK(len == (size_t)(2 + 1 + 16 + sum));
            CHECK(sum == 12 || sum == 162);
        }
        if (m == 0xc0)
            CHECK(p[at + 5] == 0 && p[at + 6] == 8 && p[at + 7] == 0 && p[at + 8] == 8 &&
                  p[at + 9] == 3);
        at += 2 + len;
        if (m == 0xda)
            break;
    }
    static const int want[] = {0xe0, 0xdb, 0xc0, 0xc4, 0xc4, 0xc4, 0xc4, 0xda};
    CHECK_INT(nseg, 8);
    for (int i = 0; i < 8 && i < nseg; i++)
        CHECK_INT(order[i], want[i]);
    CHECK_INT(b.len - at, 4);
    CHECK(p[at] == 0x28 && p[at + 1] == 0x03);
    buf_free(&b);

    /* noise: the scan never holds a marker (every 0xFF is stuffed) */
    size_t n = 37 * 21 * 3;
    uint8_t *px = malloc(n);
    REQUIRE(px);
    struct rng r;
    rng_seed(&r, 5);
    for (size_t i = 0; i < n; i++)
        px[i] = (uint8_t)rng_u64(&r);
    buf_init(&b, 0);
    REQUIRE(media_jpeg(&b, px, 37, 21, 85) == 0);
    p = (const uint8_t *)b.p;
    at = 2;
    while (at + 4 <= b.len && p[at + 1] != 0xda)
        at += 2 + ((size_t)p[at + 2] << 8 | p[at + 3]);
    at += 2 + ((size_t)p[at + 2] << 8 | p[at + 3]);
    bool clean = true;
    for (size_t i = at; i + 2 < b.len; i++)
        if (p[i] == 0xff && p[i + 1] != 0)
            clean = false;
    CHECK(clean);
    free(px);
    buf_free(&b);
    CHECK(media_jpeg(&b, grey, 8, 8, 0) == ERR_INVALID);
    CHECK(media_jpeg(&b, grey, 0, 8, 85) == ERR_INVALID);
}

/* ---- WAV: header fields and AIPerf's sample conversions ---- */

static uint32_t le32at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

TEST(media_wav_format)
{
    static const float s[5] = {0, 1, -1, 0.5f, -0.25f};
    struct buf b;
    buf_init(&b, 0);
    REQUIRE(media_wav(&b, s, 5, 1, 16000, 8) == 0);
    const uint8_t *p = (const uint8_t *)b.p;
    CHECK_INT(b.len, 44 + 5 + 1); /* odd data: one pad byte */
    CHECK(!memcmp(p, "RIFF", 4) && le32at(p + 4) == b.len - 8 && !memcmp(p + 8, "WAVEfmt ", 8));
    CHECK(le32at(p + 16) == 16 && p[20] == 1 && p[22] == 1 && le32at(p + 24) == 16000);
    CHECK(le32at(p + 28) == 16000 && p[32] == 1 && p[34] == 8);
    CHECK(!memcmp(p + 36, "data", 4) && le32at(p + 40) == 5);
    /* 8-bit: trunc(s * 32767), floor-divided by 256, + 128 */
    CHECK(p[44] == 128 && p[45] == 255 && p[46] == 0 && p[47] == 128 + 63 && p[48] == 128 - 32);
    buf_free(&b);

    buf_init(&b, 0);
    REQUIRE(media_wav(&b, s, 2, 2, 44100, 24) == 0); /* 2 frames, stereo */
    p = (const uint8_t *)b.p;
    CHECK_INT(b.len, 44 + 12);
    CHECK(p[22] == 2 && le32at(p + 28) == 44100 * 6 && p[32] == 6 && p[34] == 24);
    CHECK(p[44] == 0 && p[45] == 0 && p[46] == 0);          /* 0 */
    CHECK(p[47] == 0xff && p[48] == 0xff && p[49] == 0x7f); /* 8388607 */
    CHECK(p[50] == 0x01 && p[51] == 0x00 && p[52] == 0x80); /* -8388607 */
    CHECK(p[53] == 0xff && p[54] == 0xff && p[55] == 0x3f); /* trunc(0.5 * 8388607) */
    buf_free(&b);

    buf_init(&b, 0);
    REQUIRE(media_wav(&b, s, 5, 1, 8000, 16) == 0);
    p = (const uint8_t *)b.p;
    CHECK(p[44 + 6] == 0xff && p[44 + 7] == 0x3f); /* 16383 */
    REQUIRE(media_wav(&b, s, 1, 1, 8000, 32) == 0);
    CHECK(media_wav(&b, s, 1, 1, 8000, 12) == ERR_INVALID);
    CHECK(media_wav(&b, s, 1, 3, 8000, 16) == ERR_INVALID);
    buf_free(&b);
}

/* ---- the options, as AIPerf 0.13 resolves them ---- */

static const struct arg_spec mspecs[] = {MEDIA_ARG_SPECS};

static int parse(const char *line, struct media_opts *m, struct diag *d)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s", line);
    char *argv[32];
    int argc = 0;
    for (char *t = copy; *t && argc < 32;) { /* split on spaces */
        argv[argc++] = t;
        char *sp = strchr(t, ' ');
        if (!sp)
            break;
        *sp = '\0';
        t = sp + 1;
    }
    struct args a;
    int rc = args_parse(&a, mspecs, sizeof mspecs / sizeof mspecs[0], argc, argv, d);
    if (rc)
        return rc;
    rc = media_opts_parse(&a, m, d);
    args_free(&a);
    return rc;
}

TEST(media_opts_aiperf_defaults)
{
    struct media_opts m;
    struct diag d = {0};
    REQUIRE(parse("", &m, &d) == 0);
    CHECK(!media_enabled(&m));
    REQUIRE(parse("--image-format png", &m, &d) == 0); /* the format alone turns nothing on */
    CHECK(!media_enabled(&m) && m.image_format == MEDIA_PNG);
    REQUIRE(parse("--image-width-mean 100", &m, &d) == 0);
    CHECK(m.image_batch == 1 && m.image_w_mean == 100 && m.image_h_mean == 512);
    CHECK(m.image_format == MEDIA_JPEG && m.audio_batch == 0);
    REQUIRE(parse("--image-width-mean 100 --batch-size-image 3 --image-format=RANDOM", &m, &d) ==
            0);
    CHECK(m.image_batch == 3 && m.image_format == MEDIA_RANDOM);
    REQUIRE(parse("--image-width-mean 0.5", &m, &d) == 0); /* int(0.5) = 0: images off */
    CHECK(m.image_batch == 0);
    REQUIRE(parse("--audio-batch-size 2", &m, &d) == 0);
    CHECK(m.audio_batch == 2 && m.audio_len_mean == 10 && m.depths[0] == 16 &&
          m.rates_khz[0] == 16 && m.channels == 1);
    REQUIRE(parse("--audio-length-mean 2 --audio-depths 8,24 --audio-depths 32 "
                  "--audio-sample-rates 16000,44.1 --audio-num-channels 2",
                  &m, &d) == 0);
    CHECK(m.audio_batch == 1 && m.audio_len_mean == 2);
    CHECK(m.ndepths == 3 && m.depths[0] == 8 && m.depths[1] == 24 && m.depths[2] == 32);
    CHECK(m.nrates == 2 && m.rates_khz[0] == 16 && fabs(m.rates_khz[1] - 44.1) < 1e-12);
    CHECK(m.channels == 2);
    REQUIRE(parse("--audio-format wav --image-source noise "
                  "--image-source-sampling random-with-replacement",
                  &m, &d) == 0);
    CHECK(m.image_batch == 1 && m.audio_batch == 0);
}

TEST(media_opts_bad_values)
{
    static const struct {
        const char *line, *want1, *want2;
    } bad[] = {
        {"--audio-depths 12", "--audio-depths", "12"},
        {"--audio-depths 16,x", "--audio-depths", "'x'"},
        {"--audio-depths 16,", "--audio-depths", "16,"},
        {"--audio-depths 0", "--audio-depths", "'0'"},
        {"--audio-sample-rates -16", "--audio-sample-rates", "-16"},
        {"--audio-sample-rates 0.0000001", "--audio-sample-rates", "1e-07"},
        {"--audio-format mp3", "--audio-format", "mp3"},
        {"--audio-format ogg", "--audio-format", "ogg"},
        {"--audio-num-channels 3", "--audio-num-channels", "3"},
        {"--audio-length-mean 0.001", "--audio-length-mean", "0.001"},
        {"--audio-length-mean -1", "--audio-length-mean", "-1"},
        {"--image-width-mean 9000", "--image-width-mean", "9000"},
        {"--image-height-stddev abc", "--image-height-stddev", "abc"},
        {"--image-batch-size -1", "--image-batch-size", "-1"},
        {"--image-format gif", "--image-format", "gif"},
        {"--image-source assets", "--image-source", "assets"},
        {"--image-source ./imgs", "--image-source", "./imgs"},
        {"--image-source-sampling shuffle-cycle", "--image-source-sampling", "shuffle-cycle"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct media_opts m;
        struct diag d = {0};
        int rc = parse(bad[i].line, &m, &d);
        CHECK(rc == ERR_INVALID);
        if (!strstr(d.msg, bad[i].want1) || !strstr(d.msg, bad[i].want2) || strchr(d.msg, '\n'))
            test_fail(__FILE__, __LINE__, "%s: message '%s'", bad[i].line, d.msg);
    }
}

/* ---- one turn: determinism and the sampled sizes ---- */

static size_t b64_decode(const char *s, uint8_t *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        const char *p = strchr(tab, *s);
        if (!p)
            return 0;
        acc = acc << 6 | (uint32_t)(p - tab);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}

TEST(media_turn_deterministic)
{
    struct media_opts m;
    struct diag d = {0};
    REQUIRE(parse("--image-width-mean 40 --image-width-stddev 10 --image-height-mean 30 "
                  "--batch-size-image 4 --image-format random --audio-length-mean 0.5 "
                  "--audio-length-stddev 0.2 --audio-depths 8,16,24,32 "
                  "--audio-sample-rates 8,16,44.1 --batch-size-audio 3",
                  &m, &d) == 0);
    struct rng i1, a1, i2, a2;
    rng_seed(&i1, 1);
    rng_seed(&a1, 2);
    rng_seed(&i2, 1);
    rng_seed(&a2, 2);
    struct media_turn t1, t2;
    REQUIRE(media_turn_make(&m, &i1, &a1, &t1, &d) == 0);
    REQUIRE(media_turn_make(&m, &i2, &a2, &t2, &d) == 0);
    CHECK(t1.nimages == 4 && t1.naudios == 3);
    int png = 0, jpeg = 0;
    for (size_t i = 0; i < t1.nimages; i++) {
        CHECK(!strcmp(t1.images[i], t2.images[i]));
        bool is_png = !strncmp(t1.images[i], "data:image/png;base64,", 22);
        bool is_jpeg = !strncmp(t1.images[i], "data:image/jpeg;base64,", 23);
        CHECK(is_png || is_jpeg);
        png += is_png;
        jpeg += is_jpeg;
        /* the height has no stddev: every image is 30 rows */
        uint8_t head[64];
        const char *b64 = strchr(t1.images[i], ',') + 1;
        char part[80];
        snprintf(part, sizeof part, "%.64s", b64);
        size_t hn = b64_decode(part, head);
        if (is_png && hn >= 24)
            CHECK(rd32(head + 20) == 30 && rd32(head + 16) >= 1);
    }
    CHECK(png + jpeg == 4);
    for (size_t i = 0; i < t1.naudios; i++) {
        CHECK(!strcmp(t1.audios[i], t2.audios[i]));
        CHECK(!strncmp(t1.audios[i], "wav,UklGR", 9)); /* "RIFF" */
    }
    /* another stream gives other bytes */
    struct media_turn t3;
    rng_seed(&i2, 3);
    REQUIRE(media_turn_make(&m, &i2, &a2, &t3, &d) == 0);
    CHECK(strcmp(t1.images[0], t3.images[0]) != 0);
    media_turn_free(&t1);
    media_turn_free(&t2);
    media_turn_free(&t3);
    CHECK(t1.nimages == 0 && t1.images == NULL);
}

/* What a dataset's media string is: as written (1), a local file (0: its bytes encoded),
 * or refused (< 0, with the reason). */
TEST(media_from_dataset_table)
{
    char dir[512], png[600], wav[600], txt[600];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(png, sizeof png, "%s/a.png", dir);
    snprintf(wav, sizeof wav, "%s/a.WAV", dir);
    snprintf(txt, sizeof txt, "%s/a.txt", dir);
    FILE *f = fopen(png, "wb");
    REQUIRE(f);
    fwrite("\x89PNG\r\n\x1a\nrest", 1, 12, f);
    fclose(f);
    REQUIRE((f = fopen(wav, "wb")));
    fwrite("RIFF", 1, 4, f);
    fclose(f);
    REQUIRE((f = fopen(txt, "wb")));
    fwrite("\xFF\xD8", 1, 2, f); /* too short for a JPEG */
    fclose(f);
    static const struct {
        const char *s;
        bool audio;
        int want;           /* 1, 0, or -1 for any error */
        const char *out;    /* the converted text (want 0), else NULL */
        const char *reason; /* a part of why (want < 0) */
    } cases[] = {
        {"", false, 1, NULL, NULL},
        {"https://h/x.png", false, 1, NULL, NULL},
        {"s3+x.y-z://bucket", false, 1, NULL, NULL},
        {"data:image/png;base64,QUFB", false, 1, NULL, NULL},
        {"DATA:,x", false, 1, NULL, NULL},
        {"wav,QUFB", true, 1, NULL, NULL},
        {"MP3,QUFB", true, 1, NULL, NULL},
        {"https://h/a.wav", true, 1, NULL, NULL},
        {"http:///x.png", false, -1, NULL, "needs both a scheme and a host"},
        {"://host/x.png", false, -1, NULL, "needs both a scheme and a host"},
        {"1http://h/x", false, -1, NULL, "needs both"},
        {"wav,QUFB", false, -1, NULL, "No such file"},
        {"flac,QUFB", true, -1, NULL, "not a .wav or .mp3"},
        {"nofile.png", false, -1, NULL, "nofile.png: No such file"},
        {"PNG", false, 0, "data:image/png;base64,iVBORw0KGgpyZXN0", NULL},
        {"WAV", true, 0, "wav,UklGRg==", NULL},
        {"TXT", false, -1, NULL, "not a PNG or JPEG image"},
        {"DIR", false, -1, NULL, "Is a directory"},
        {"PNG", true, -1, NULL, "not a .wav or .mp3"},
    };
    struct buf out;
    buf_init(&out, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *s = cases[i].s;
        s = !strcmp(s, "PNG")   ? png
            : !strcmp(s, "WAV") ? wav
            : !strcmp(s, "TXT") ? txt
            : !strcmp(s, "DIR") ? dir
                                : s;
        char why[512] = "";
        buf_reset(&out);
        int rc = media_from_dataset(s, strlen(s), cases[i].audio, &out, why, sizeof why);
        bool ok =
            cases[i].want < 0
                ? rc < 0 && strstr(why, cases[i].reason)
                : rc == cases[i].want && (!cases[i].out || (out.p && !strcmp(out.p, cases[i].out)));
        if (!ok)
            test_fail(__FILE__, __LINE__, "case %zu '%s': rc %d, why '%s', out '%s'", i, s, rc, why,
                      out.p ? out.p : "");
    }
    buf_free(&out);
}
