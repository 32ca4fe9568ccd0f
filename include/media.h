/*
 * media: synthetic images and audio for `pack` (AIPerf 0.13's --image-* and --audio-*
 * options, docs/cli-pack.md), made by our own encoders with no codec library:
 *
 *   - PNG: 8-bit RGB, zlib stream of stored (uncompressed) deflate blocks, our own CRC-32
 *     and Adler-32. Noise does not compress, so deflating it would only cost time.
 *   - JPEG: baseline (SOF0), 4:4:4 YCbCr, the standard Annex K tables scaled to a quality
 *     as libjpeg does (AIPerf saves quality 85, subsampling 4:4:4), our own DCT and
 *     Huffman coder.
 *   - WAV: RIFF/WAVE PCM, 8-bit unsigned or 16/24/32-bit signed little-endian.
 *
 * Content is noise, as AIPerf's default image source ("noise": uniform random pixels) and
 * its audio (Gaussian noise, sigma 0.3 of full scale, clipped) are: servers cannot dedupe
 * it. Every byte comes from a caller's struct rng, so one seed gives one file.
 *
 * Encoders append to a caller-owned struct buf and return 0 or ERR_INVALID (bad sizes)
 * or ERR_TOO_LARGE (the buf's cap). No globals beyond constant tables; thread-safe.
 */
#ifndef METRONOME_MEDIA_H
#define METRONOME_MEDIA_H

#include "args.h"
#include "buf.h"
#include "err.h"
#include "rng.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest image side accepted (a mean above it is refused; samples are clamped). */
#define MEDIA_MAX_SIDE 8192
/* The longest audio accepted, in seconds (mean refused above, samples clamped). */
#define MEDIA_MAX_SECONDS 3600.0
#define MEDIA_MAX_LIST    16 /* values in --audio-depths / --audio-sample-rates */

/* ---- checksums (zlib's definitions) ---- */
/* CRC-32 (ISO-HDLC, reflected 0xEDB88320) continued from crc (start with 0). */
uint32_t media_crc32(uint32_t crc, const void *p, size_t n);
/* Adler-32 continued from a (start with 1). */
uint32_t media_adler32(uint32_t a, const void *p, size_t n);

/* ---- encoders; rgb is w*h*3 bytes, row-major, top row first ---- */
int media_png(struct buf *out, const uint8_t *rgb, int w, int h);
/* quality 1..100 (libjpeg's scaling of the standard tables). */
int media_jpeg(struct buf *out, const uint8_t *rgb, int w, int h, int quality);
/* frames * channels samples, interleaved, each in [-1, 1]; depth 8, 16, 24 or 32. A
 * sample s becomes trunc(s * (2^(d-1) - 1)) (8-bit: the 16-bit value >> 8, + 128). */
int media_wav(struct buf *out, const float *samples, size_t frames, int channels, int rate,
              int depth);

/* Standard base64 (RFC 4648, padded) of p[0..n) appended to out. */
int media_base64(struct buf *out, const void *p, size_t n);

/* ---- media named in a dataset (AIPerf 0.13's MediaConversionMixin) ----
 * What a dataset's image or audio string becomes in the request. Returns 1 when it goes
 * as written (an http(s)-style URL with a scheme and a host, a data: URL for an image,
 * "wav,..."/"mp3,..." for audio, or empty), 0 when it named a local file, whose bytes
 * are then in out as a data URL (image: "data:image/png;base64,..." or jpeg, the file's
 * own bytes, which AIPerf re-encodes with Pillow: the same pixels for PNG) or AIPerf's
 * "wav,<base64>" (the file's bytes, as AIPerf sends them). A negative error with the
 * reason in why: a URL missing its scheme or host, a missing or unreadable file, an
 * image that is not PNG or JPEG, audio not named .wav or .mp3, a file too large for a
 * request. Paths are taken as given (relative to the working directory, as AIPerf). */
int media_from_dataset(const char *s, size_t n, bool audio, struct buf *out, char *why,
                       size_t whylen);

/* ---- the options, as AIPerf 0.13 resolves them ---- */
enum media_image_format { MEDIA_JPEG, MEDIA_PNG, MEDIA_RANDOM };

struct media_opts {
    long image_batch; /* images per turn; 0: none */
    double image_w_mean, image_w_std, image_h_mean, image_h_std;
    enum media_image_format image_format;
    long audio_batch;                     /* audio clips per turn; 0: none */
    double audio_len_mean, audio_len_std; /* seconds */
    long depths[MEDIA_MAX_LIST];
    size_t ndepths;
    double rates_khz[MEDIA_MAX_LIST];
    size_t nrates;
    int channels;
};

/* pack's option specs for the struct above (spliced into its table). */
/* clang-format off */
#define MEDIA_ARG_SPECS                                                                        \
    {"image-batch-size", "--batch-size-image", ARG_VALUE, "N", "1 if any --image-* is given",  \
     "images per request (chat)"},                                                             \
        {"image-width-mean", NULL, ARG_VALUE, "PX", "512", "mean image width"},                \
        {"image-width-stddev", NULL, ARG_VALUE, "PX", "0", "image width standard deviation"},   \
        {"image-height-mean", NULL, ARG_VALUE, "PX", "512", "mean image height"},              \
        {"image-height-stddev", NULL, ARG_VALUE, "PX", "0", "image height standard deviation"}, \
        {"image-format", NULL, ARG_VALUE, "F", "jpeg", "png, jpeg or random (per image)"},     \
        {"image-source", NULL, ARG_VALUE, "S", "noise",                                         \
         "noise (random pixels; the only source: no sample images are bundled)"},              \
        {"image-source-sampling", NULL, ARG_VALUE, "S", "random-with-replacement",             \
         "random-with-replacement (the only strategy noise has)"},                             \
        {"audio-batch-size", "--batch-size-audio", ARG_VALUE, "N",                             \
         "1 if --audio-length-* is given", "audio clips per request (chat)"},                  \
        {"audio-length-mean", NULL, ARG_VALUE, "S", "10", "mean audio length in seconds"},     \
        {"audio-length-stddev", NULL, ARG_VALUE, "S", "0", "audio length standard deviation"}, \
        {"audio-format", NULL, ARG_VALUE, "F", "wav", "wav (mp3 is refused: it needs a codec)"}, \
        {"audio-depths", NULL, ARG_MULTI, "BITS", "16",                                         \
         "bit depths drawn from per clip: 8, 16, 24, 32 (comma-separated or repeated)"},       \
        {"audio-sample-rates", NULL, ARG_MULTI, "KHZ", "16",                                    \
         "sample rates in kHz drawn from per clip (values > 96 are Hz)"},                      \
        {"audio-num-channels", NULL, ARG_VALUE, "N", "1", "1 (mono) or 2 (stereo)"}
/* clang-format on */

/* Reads the options above. 0, or ERR_INVALID with d naming the option and the value
 * ("--audio-depths: 12 is not a supported bit depth (8, 16, 24 or 32)"). */
int media_opts_parse(const struct args *a, struct media_opts *m, struct diag *d);
bool media_enabled(const struct media_opts *m);
/* The options as one JSON object for the trace header (nothing when media is off). */
void media_opts_json(const struct media_opts *m, struct buf *out);

/* One turn's media, drawn in AIPerf's order (each image's width, height, format, pixels;
 * then each clip's length, rate, depth, samples). images[i] are data URLs
 * ("data:image/png;base64,..."), audios[i] are "wav,BASE64" (AIPerf's internal shape,
 * which the trace writer renders as an input_audio part). Owned by the struct: free with
 * media_turn_free. */
struct media_turn {
    char **images;
    size_t nimages;
    char **audios;
    size_t naudios;
};
int media_turn_make(const struct media_opts *m, struct rng *img_rng, struct rng *aud_rng,
                    struct media_turn *t, struct diag *d);
void media_turn_free(struct media_turn *t);

#endif
