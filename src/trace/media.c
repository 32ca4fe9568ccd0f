/* The --image-* / --audio-* options and one turn's synthetic media (media.h). */
#include "media.h"

#include "jsonw.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The most one request's media may take once base64-encoded: a trace line holds at most
 * 1 GiB (trace_read's TRACE_MAX_LINE), and the prompt text needs room too. */
#define MEDIA_MAX_REQUEST_BYTES (768u << 20)

/* Splits every value of a repeatable option on commas into numbers (AIPerf's
 * parse_str_or_list_of_positive_values: "16,24" or the option repeated). */
static int num_list(const struct args *a, const char *name, bool integer, double *out, size_t *n,
                    struct diag *d)
{
    *n = 0;
    for (size_t i = 0; i < args_count(a, name); i++) {
        const char *v = args_multi(a, name, i);
        const char *s = v;
        for (;;) {
            const char *e = strchr(s, ',');
            size_t len = e ? (size_t)(e - s) : strlen(s);
            char tok[64];
            while (len && (*s == ' ' || *s == '\t' || *s == '[')) {
                s++;
                len--;
            }
            while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == ']'))
                len--;
            if (len == 0 || len >= sizeof tok)
                return diag_set(d, ERR_INVALID, "--%s: '%s' is not a comma-separated list of %s",
                                name, v, integer ? "integers" : "numbers");
            memcpy(tok, s, len);
            tok[len] = '\0';
            char *end;
            double x = integer ? (double)strtol(tok, &end, 10) : strtod(tok, &end);
            if (*end || !(x > 0) || !isfinite(x))
                return diag_set(d, ERR_INVALID, "--%s: '%s' is not a positive %s", name, tok,
                                integer ? "integer" : "number");
            if (*n == MEDIA_MAX_LIST)
                return diag_set(d, ERR_INVALID, "--%s: more than %d values", name, MEDIA_MAX_LIST);
            out[(*n)++] = x;
            if (!e)
                break;
            s = e + 1;
        }
    }
    return 0;
}

int media_opts_parse(const struct args *a, struct media_opts *m, struct diag *d)
{
    memset(m, 0, sizeof *m);
    int rc = 0;
    /* AIPerf 0.13: any image shape option (or --image-batch-size, --image-source*) turns
     * images on with one per request unless --image-batch-size says otherwise; sizes not
     * given are 512. --image-format alone changes nothing. Audio likewise, from
     * --audio-length-* or --audio-batch-size, 10 s long by default. */
    static const char *const img_trig[] = {
        "image-width-mean", "image-width-stddev", "image-height-mean",    "image-height-stddev",
        "image-batch-size", "image-source",       "image-source-sampling"};
    static const char *const aud_trig[] = {"audio-length-mean", "audio-length-stddev",
                                           "audio-batch-size"};
    bool img = false, aud = false;
    for (size_t i = 0; i < sizeof img_trig / sizeof img_trig[0]; i++)
        img = img || args_has(a, img_trig[i]);
    for (size_t i = 0; i < sizeof aud_trig / sizeof aud_trig[0]; i++)
        aud = aud || args_has(a, aud_trig[i]);
    m->image_batch = img ? 1 : 0;
    m->image_w_mean = m->image_h_mean = 512;
    m->image_format = MEDIA_JPEG;
    m->audio_batch = aud ? 1 : 0;
    m->audio_len_mean = 10;
    m->channels = 1;
    rc = rc ? rc : args_long(a, "image-batch-size", 0, 1024, &m->image_batch, d);
    rc = rc ? rc : args_double(a, "image-width-mean", 0, MEDIA_MAX_SIDE, &m->image_w_mean, d);
    rc = rc ? rc : args_double(a, "image-width-stddev", 0, MEDIA_MAX_SIDE, &m->image_w_std, d);
    rc = rc ? rc : args_double(a, "image-height-mean", 0, MEDIA_MAX_SIDE, &m->image_h_mean, d);
    rc = rc ? rc : args_double(a, "image-height-stddev", 0, MEDIA_MAX_SIDE, &m->image_h_std, d);
    const char *f = "jpeg";
    rc = rc ? rc : args_choice(a, "image-format", "jpeg|png|random|JPEG|PNG|RANDOM", &f, d);
    m->image_format = (f[0] | 0x20) == 'p'   ? MEDIA_PNG
                      : (f[0] | 0x20) == 'r' ? MEDIA_RANDOM
                                             : MEDIA_JPEG;
    const char *src = args_get(a, "image-source");
    if (!rc && src && strcmp(src, "noise") && strcmp(src, "NOISE"))
        rc = diag_set(d, ERR_INVALID,
                      "--image-source: '%s' is not supported: metronome bundles no sample images "
                      "and decodes none; only 'noise' (AIPerf's default) is generated",
                      src);
    const char *smp = args_get(a, "image-source-sampling");
    if (!rc && smp && strcmp(smp, "random-with-replacement") &&
        strcmp(smp, "random_with_replacement"))
        rc = diag_set(d, ERR_INVALID,
                      "--image-source-sampling: '%s' needs a finite source pool; the noise source "
                      "has only random-with-replacement",
                      smp);

    rc = rc ? rc : args_long(a, "audio-batch-size", 0, 1024, &m->audio_batch, d);
    rc = rc ? rc : args_double(a, "audio-length-mean", 0, MEDIA_MAX_SECONDS, &m->audio_len_mean, d);
    rc =
        rc ? rc : args_double(a, "audio-length-stddev", 0, MEDIA_MAX_SECONDS, &m->audio_len_std, d);
    const char *af = args_get(a, "audio-format");
    if (!rc && af && strcmp(af, "wav") && strcmp(af, "WAV")) {
        if (!strcmp(af, "mp3") || !strcmp(af, "MP3"))
            rc = diag_set(d, ERR_INVALID,
                          "--audio-format: 'mp3' is not supported: it needs an MP3 encoder "
                          "(a codec library metronome does not link); use wav");
        else
            rc = diag_set(d, ERR_INVALID, "--audio-format: '%s' is not one of wav, mp3", af);
    }
    long ch = 1;
    rc = rc ? rc : args_long(a, "audio-num-channels", 1, 2, &ch, d);
    m->channels = (int)ch;
    double v[MEDIA_MAX_LIST];
    size_t n = 0;
    if (!rc && args_has(a, "audio-depths")) {
        rc = num_list(a, "audio-depths", true, v, &n, d);
        for (size_t i = 0; !rc && i < n; i++) {
            if (v[i] != 8 && v[i] != 16 && v[i] != 24 && v[i] != 32)
                rc = diag_set(d, ERR_INVALID,
                              "--audio-depths: %g is not a supported bit depth (8, 16, 24 or 32)",
                              v[i]);
            m->depths[i] = (long)v[i];
        }
        m->ndepths = n;
    } else {
        m->depths[0] = 16;
        m->ndepths = 1;
    }
    if (!rc && args_has(a, "audio-sample-rates")) {
        rc = num_list(a, "audio-sample-rates", false, v, &n, d);
        for (size_t i = 0; !rc && i < n; i++) {
            /* AIPerf 0.13 reads values above 96 as Hz (16000 is 16 kHz) */
            double khz = v[i] > 96.0 ? v[i] / 1000.0 : v[i];
            if ((long)(khz * 1000.0) < 1)
                rc = diag_set(d, ERR_INVALID, "--audio-sample-rates: %g is below 1 Hz", v[i]);
            m->rates_khz[i] = khz;
        }
        m->nrates = n;
    } else {
        m->rates_khz[0] = 16;
        m->nrates = 1;
    }
    if (!rc && m->audio_batch > 0 && m->audio_len_mean > 0 && m->audio_len_mean < 0.01)
        rc = diag_set(d, ERR_INVALID,
                      "--audio-length-mean: %g is below 0.01 s (AIPerf's shortest audio)",
                      m->audio_len_mean);
    /* AIPerf leaves a modality out when its mean size is 0 (width or height below 1 px
     * after truncation, or no length) */
    if ((long)m->image_w_mean < 1 || (long)m->image_h_mean < 1)
        m->image_batch = 0;
    if (m->audio_len_mean <= 0)
        m->audio_batch = 0;
    return rc;
}

bool media_enabled(const struct media_opts *m)
{
    return m->image_batch > 0 || m->audio_batch > 0;
}

void media_opts_json(const struct media_opts *m, struct buf *out)
{
    struct jsonw j;
    jsonw_init(&j, out);
    jsonw_obj_begin(&j);
    if (m->image_batch > 0) {
        jsonw_key(&j, "image_batch_size");
        jsonw_int(&j, m->image_batch);
        jsonw_key(&j, "image_width");
        jsonw_double(&j, m->image_w_mean);
        jsonw_key(&j, "image_width_stddev");
        jsonw_double(&j, m->image_w_std);
        jsonw_key(&j, "image_height");
        jsonw_double(&j, m->image_h_mean);
        jsonw_key(&j, "image_height_stddev");
        jsonw_double(&j, m->image_h_std);
        jsonw_key(&j, "image_format");
        jsonw_str(&j, m->image_format == MEDIA_PNG    ? "png"
                      : m->image_format == MEDIA_JPEG ? "jpeg"
                                                      : "random");
        jsonw_key(&j, "image_source");
        jsonw_str(&j, "noise");
    }
    if (m->audio_batch > 0) {
        jsonw_key(&j, "audio_batch_size");
        jsonw_int(&j, m->audio_batch);
        jsonw_key(&j, "audio_length_s");
        jsonw_double(&j, m->audio_len_mean);
        jsonw_key(&j, "audio_length_stddev_s");
        jsonw_double(&j, m->audio_len_std);
        jsonw_key(&j, "audio_format");
        jsonw_str(&j, "wav");
        jsonw_key(&j, "audio_depths");
        jsonw_arr_begin(&j);
        for (size_t i = 0; i < m->ndepths; i++)
            jsonw_int(&j, m->depths[i]);
        jsonw_arr_end(&j);
        jsonw_key(&j, "audio_sample_rates_khz");
        jsonw_arr_begin(&j);
        for (size_t i = 0; i < m->nrates; i++)
            jsonw_double(&j, m->rates_khz[i]);
        jsonw_arr_end(&j);
        jsonw_key(&j, "audio_channels");
        jsonw_int(&j, m->channels);
    }
    jsonw_obj_end(&j);
}

/* AIPerf's sample_positive_normal_integer over int(mean), int(stddev): stddev 0 gives
 * max(1, mean); else a normal truncated at 0 by rejection, rounded up, at least 1. */
static long side(struct rng *r, double mean, double stddev)
{
    long m = (long)mean, s = (long)stddev, v;
    if (s <= 0) {
        v = m;
    } else {
        double x;
        int tries = 0;
        do {
            x = rng_normal(r, (double)m, (double)s);
        } while (x < 0 && ++tries < 10000);
        v = x < 0 ? m : (long)ceil(x);
    }
    return v < 1 ? 1 : v > MEDIA_MAX_SIDE ? MEDIA_MAX_SIDE : v;
}

/* AIPerf's sample_normal(mean, stddev, lower=0.01): rejection, then the clamped mean. */
static double seconds(struct rng *r, double mean, double stddev)
{
    for (int i = 0; i < 10000; i++) {
        double x = rng_normal(r, mean, stddev);
        if (x >= 0.01)
            return x > MEDIA_MAX_SECONDS ? MEDIA_MAX_SECONDS : x;
    }
    return mean < 0.01 ? 0.01 : mean;
}

/* Uniform random bytes, taken from each 64-bit draw lowest byte first on every host. */
static void fill_noise(struct rng *r, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint64_t v = rng_u64(r);
        for (int k = 0; k < 8 && i < n; k++, v >>= 8)
            p[i++] = (uint8_t)v;
    }
}

static char *image_url(const struct media_opts *m, struct rng *r, size_t *bytes, struct diag *d)
{
    long w = side(r, m->image_w_mean, m->image_w_std);
    long h = side(r, m->image_h_mean, m->image_h_std);
    bool png =
        m->image_format == MEDIA_PNG || (m->image_format == MEDIA_RANDOM && rng_below(r, 2) == 0);
    size_t n = (size_t)w * (size_t)h * 3;
    uint8_t *px = xmalloc(n);
    fill_noise(r, px, n);
    struct buf file, url;
    buf_init(&file, 0);
    buf_init(&url, 0);
    int rc = png ? media_png(&file, px, (int)w, (int)h) : media_jpeg(&file, px, (int)w, (int)h, 85);
    free(px);
    if (!rc)
        rc = buf_puts(&url, png ? "data:image/png;base64," : "data:image/jpeg;base64,");
    if (!rc)
        rc = media_base64(&url, file.p, file.len);
    buf_free(&file);
    if (rc) {
        buf_free(&url);
        diag_set(d, ERR_INVALID, "a %ldx%ld image could not be encoded (%s)", w, h, err_str(rc));
        return NULL;
    }
    *bytes = url.len;
    return buf_release(&url);
}

static char *audio_clip(const struct media_opts *m, struct rng *r, size_t *bytes, struct diag *d)
{
    double len = seconds(r, m->audio_len_mean, m->audio_len_std);
    double khz = m->rates_khz[m->nrates > 1 ? rng_below(r, m->nrates) : 0];
    long depth = m->depths[m->ndepths > 1 ? rng_below(r, m->ndepths) : 0];
    long rate = (long)(khz * 1000.0); /* int(), as AIPerf converts kHz */
    size_t frames = (size_t)(len * (double)rate);
    size_t n = frames * (size_t)m->channels;
    if ((double)n * (double)depth / 8 * 4 / 3 > MEDIA_MAX_REQUEST_BYTES) {
        diag_set(d, ERR_INVALID,
                 "a %.3g s clip at %ld Hz, %ld-bit, %d channel(s) is larger than a request can "
                 "carry (%u MiB)",
                 len, rate, depth, m->channels, MEDIA_MAX_REQUEST_BYTES >> 20);
        return NULL;
    }
    float *s = xmalloc((n ? n : 1) * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = (float)rng_normal(r, 0, 0.3); /* media_wav clips to [-1, 1] */
    struct buf file, out;
    buf_init(&file, 0);
    buf_init(&out, 0);
    int rc = media_wav(&file, s, frames, m->channels, (int)rate, (int)depth);
    free(s);
    if (!rc)
        rc = buf_puts(&out, "wav,");
    if (!rc)
        rc = media_base64(&out, file.p, file.len);
    buf_free(&file);
    if (rc) {
        buf_free(&out);
        diag_set(d, ERR_INVALID, "a %.3g s clip could not be encoded (%s)", len, err_str(rc));
        return NULL;
    }
    *bytes = out.len;
    return buf_release(&out);
}

int media_turn_make(const struct media_opts *m, struct rng *img_rng, struct rng *aud_rng,
                    struct media_turn *t, struct diag *d)
{
    memset(t, 0, sizeof *t);
    size_t total = 0, b = 0;
    if (m->image_batch > 0) {
        t->images = xcalloc((size_t)m->image_batch, sizeof *t->images);
        for (long i = 0; i < m->image_batch; i++) {
            if (!(t->images[t->nimages] = image_url(m, img_rng, &b, d)))
                goto fail;
            t->nimages++;
            total += b;
        }
    }
    if (m->audio_batch > 0) {
        t->audios = xcalloc((size_t)m->audio_batch, sizeof *t->audios);
        for (long i = 0; i < m->audio_batch; i++) {
            if (!(t->audios[t->naudios] = audio_clip(m, aud_rng, &b, d)))
                goto fail;
            t->naudios++;
            total += b;
        }
    }
    if (total > MEDIA_MAX_REQUEST_BYTES) {
        diag_set(d, ERR_INVALID,
                 "one request's images and audio take %.0f MiB once encoded; a request can carry "
                 "%u MiB (lower the sizes or batch sizes)",
                 (double)total / 1048576.0, MEDIA_MAX_REQUEST_BYTES >> 20);
        goto fail;
    }
    return 0;
fail:
    media_turn_free(t);
    return ERR_INVALID;
}

void media_turn_free(struct media_turn *t)
{
    for (size_t i = 0; i < t->nimages; i++)
        free(t->images[i]);
    for (size_t i = 0; i < t->naudios; i++)
        free(t->audios[i]);
    free(t->images);
    free(t->audios);
    memset(t, 0, sizeof *t);
}

/* urlparse's scheme: letters, digits, "+-." after a first letter, before the first ':'. */
static size_t url_scheme(const char *s, size_t n)
{
    size_t i = 0;
    if (!n || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
        return 0;
    while (i < n && s[i] != ':') {
        char c = s[i];
        bool ok = ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                  c == '-' || c == '.';
        if (!ok)
            return 0;
        i++;
    }
    return i < n ? i : 0;
}

/* The whole file at path, at most max bytes; 0, or -errno (-EFBIG when larger). */
static int read_file(const char *path, size_t max, struct buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st))
        rc = -errno;
    else if (!S_ISREG(st.st_mode))
        rc = -EISDIR;
    else if ((uint64_t)st.st_size > max)
        rc = -EFBIG;
    else if (buf_reserve(b, (size_t)st.st_size))
        rc = -ENOMEM;
    while (!rc) {
        ssize_t k = read(fd, b->p + b->len, (size_t)st.st_size - b->len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            rc = -errno;
        else if (k == 0)
            break;
        else
            b->len += (size_t)k;
        if (b->len == (size_t)st.st_size)
            break;
    }
    close(fd);
    return rc;
}

int media_from_dataset(const char *s, size_t n, bool audio, struct buf *out, char *why,
                       size_t whylen)
{
    if (!n)
        return 1;
    size_t sc = url_scheme(s, n);
    /* already encoded: a data: URL (image), "wav,..." or "mp3,..." without a scheme */
    if (!audio && sc == 4 && !strncasecmp(s, "data", 4))
        return 1;
    if (audio && !sc) {
        const char *comma = memchr(s, ',', n);
        size_t k = comma ? (size_t)(comma - s) : 0;
        if (comma && k == 3 && (!strncasecmp(s, "wav", 3) || !strncasecmp(s, "mp3", 3)))
            return 1;
    }
    /* a URL: "://" with a scheme before it and a host after it; one without the other is
     * refused (AIPerf's ValueError) */
    const char *sep = NULL;
    for (size_t i = 0; i + 3 <= n && !sep; i++)
        if (!memcmp(s + i, "://", 3))
            sep = s + i;
    if (sep) {
        bool scheme = sc && s + sc == sep;
        size_t h = (size_t)(sep + 3 - s), e = h;
        while (e < n && s[e] != '/' && s[e] != '?' && s[e] != '#')
            e++;
        bool host = e > h;
        if (scheme && host)
            return 1;
        if (scheme || host) {
            snprintf(why, whylen, "'%.*s': a URL needs both a scheme and a host",
                     n > 200 ? 200 : (int)n, s);
            return ERR_INVALID;
        }
    }
    /* a local file */
    char path[4096];
    if (n >= sizeof path || memchr(s, 0, n)) {
        snprintf(why, whylen, "'%.*s...': not a file name", 60, s);
        return ERR_INVALID;
    }
    memcpy(path, s, n);
    path[n] = 0;
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    const char *ext = dot && (!slash || dot > slash) ? dot : "";
    if (audio && strcasecmp(ext, ".wav") && strcasecmp(ext, ".mp3")) {
        snprintf(why, whylen, "%s: not a .wav or .mp3 file (AIPerf 0.13 takes those two)", path);
        return ERR_INVALID;
    }
    struct buf file;
    buf_init(&file, 0);
    /* base64 grows it by 4/3: the file may take 3/4 of what a request can carry */
    int rc = read_file(path, MEDIA_MAX_REQUEST_BYTES / 4 * 3, &file);
    if (rc) {
        snprintf(why, whylen, "%s: %s", path,
                 rc == -EFBIG ? "too large for a request (768 MiB once base64-encoded)"
                              : strerror(-rc));
        buf_free(&file);
        return ERR_INVALID;
    }
    const unsigned char *b = (const unsigned char *)file.p;
    const char *prefix;
    if (audio) {
        prefix = !strcasecmp(ext, ".wav") ? "wav," : "mp3,";
    } else if (file.len >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) {
        prefix = "data:image/png;base64,";
    } else if (file.len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) {
        prefix = "data:image/jpeg;base64,";
    } else {
        snprintf(why, whylen, "%s: not a PNG or JPEG image (AIPerf 0.13 takes those two)", path);
        buf_free(&file);
        return ERR_INVALID;
    }
    buf_reset(out);
    rc = buf_puts(out, prefix);
    if (!rc)
        rc = media_base64(out, file.p, file.len);
    buf_free(&file);
    if (rc) {
        snprintf(why, whylen, "%s: %s", path, err_str(rc));
        return rc;
    }
    return 0;
}
