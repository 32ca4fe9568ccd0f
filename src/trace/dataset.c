/* Dataset loaders: AIPerf's four JSONL formats, ShareGPT, and CSV traces. */
#include "dataset.h"

#include "hash.h"
#include "i64map.h"
#include "buf.h"
#include "jscan.h"
#include "media.h"
#include "xalloc.h"
#include "zio.h"

#include <csv.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINE  (64u << 20)
#define MAX_PARTS 4096

/* ---- sessions by id (multi_turn, mooncake session_id) ---- */

struct sess {
    char *id;
    long turns;
    double last_ts;
    double first_ts; /* t_ms of turn 0: orders the session in a timed trace */
    bool has_ts;
};

struct sessmap {
    struct sess *slots;
    size_t cap, count;
};

static struct sess *sess_get(struct sessmap *m, const char *id, size_t n)
{
    if ((m->count + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 256;
        struct sess *ns = xcalloc(ncap, sizeof *ns);
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slots[i].id)
                continue;
            size_t j = hash64_str(m->slots[i].id) & (ncap - 1);
            while (ns[j].id)
                j = (j + 1) & (ncap - 1);
            ns[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
    }
    size_t j = hash64(id, n) & (m->cap - 1);
    for (; m->slots[j].id; j = (j + 1) & (m->cap - 1))
        if (strlen(m->slots[j].id) == n && !memcmp(m->slots[j].id, id, n))
            return &m->slots[j];
    m->slots[j].id = xstrndup(id, n);
    m->count++;
    return &m->slots[j];
}

/* The entry for id, or NULL: nothing is added. */
static struct sess *sess_find(const struct sessmap *m, const char *id, size_t n)
{
    if (!m->cap)
        return NULL;
    size_t j = hash64(id, n) & (m->cap - 1);
    for (; m->slots[j].id; j = (j + 1) & (m->cap - 1))
        if (strlen(m->slots[j].id) == n && !memcmp(m->slots[j].id, id, n))
            return &m->slots[j];
    return NULL;
}

static void sess_free(struct sessmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].id);
    free(m->slots);
}

/* ---- one turn's content, as AIPerf's media fields give it ---- */

struct strs {
    size_t *off, *len;
    size_t n, cap;
};

/* iuuids.off of an image without a cache id */
#define NO_UUID SIZE_MAX

struct turn_in {
    struct buf arena; /* decoded strings */
    struct strs texts, images, audios;
    /* AIPerf 0.13's image cache ids, one per image (off NO_UUID: none; the list may trail
     * images, pad_uuids fills it). An image with an id keeps an empty url: a reference to
     * an image the server has cached. */
    struct strs iuuids;
    bool any_uuid;
    /* "images" and single_turn's "image_uuids" are held until the object is read (they
     * may come in either order) and then taken by turn_media. read_image_uuids: the
     * loader's rows have the field (single_turn, multi_turn turns; AIPerf's random_pool
     * entries do not, so there it is an unknown key). */
    bool read_image_uuids, has_images_v, has_uuids_v, image_given;
    struct jval images_v, uuids_v;
    bool has_ts, has_delay, has_role;
    double ts, delay;
    size_t role_off, role_len;
    bool text_truthy, texts_truthy, image_truthy, images_truthy, audio_truthy, audios_truthy;
    size_t images_done, audios_done; /* entries turn_files has looked at */
};

static void strs_push(struct strs *s, size_t off, size_t len)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->off = xrealloc(s->off, s->cap * sizeof *s->off);
        s->len = xrealloc(s->len, s->cap * sizeof *s->len);
    }
    s->off[s->n] = off;
    s->len[s->n] = len;
    s->n++;
}

static void turn_reset(struct turn_in *t)
{
    buf_reset(&t->arena);
    t->texts.n = t->images.n = t->audios.n = t->iuuids.n = 0;
    t->images_done = t->audios_done = 0;
    t->any_uuid = t->has_images_v = t->has_uuids_v = t->image_given = false;
    t->has_ts = t->has_delay = t->has_role = false;
    t->text_truthy = t->texts_truthy = t->image_truthy = t->images_truthy = false;
    t->audio_truthy = t->audios_truthy = false;
}

static void turn_free(struct turn_in *t)
{
    buf_free(&t->arena);
    free(t->texts.off);
    free(t->texts.len);
    free(t->images.off);
    free(t->images.len);
    free(t->audios.off);
    free(t->audios.len);
    free(t->iuuids.off);
    free(t->iuuids.len);
}

struct src {
    const char *path;
    long line;
    struct diag *d;
};

static int bad(const struct src *s, const char *fmt, const char *a, const char *b)
{
    return diag_at(s->d, ERR_INVALID, s->path, s->line, fmt, a, b);
}

/* Decodes string v into the arena and records it in list (empty strings are dropped, as
 * AIPerf's payload builders skip them, unless keep). */
static int add_str_keep(struct turn_in *t, struct strs *list, const struct jval *v,
                        const struct src *s, const char *key, bool keep)
{
    size_t off = t->arena.len;
    if (jval_str(v, &t->arena))
        return bad(s, "field '%s': %s", key, "invalid string escape");
    if (t->arena.len > off || keep)
        strs_push(list, off, t->arena.len - off);
    return 0;
}

static int add_str(struct turn_in *t, struct strs *list, const struct jval *v, const struct src *s,
                   const char *key)
{
    return add_str_keep(t, list, v, s, key, false);
}

/* Gives every image so far an entry in iuuids (none for those added without one). */
static void pad_uuids(struct turn_in *t)
{
    while (t->iuuids.n < t->images.n)
        strs_push(&t->iuuids, NO_UUID, 0);
}

/* Counts the elements of array v; -1 if one is not a non-empty string (AIPerf refuses
 * empty ids). */
static long uuid_count(const struct jval *v)
{
    struct jiter it;
    struct jval e;
    long n = 0;
    jscan_enter(&it, v);
    while (jscan_elem(&it, &e) == 1) {
        if (e.type != JT_STRING || e.n == 0)
            return -1;
        n++;
    }
    return n;
}

/* Adds images with their cache ids, pairwise: contents (an array of strings, or NULL for
 * id-only references) and uuids, both n long (checked by the caller). */
static int add_uuid_images(struct turn_in *t, const struct jval *contents, const struct jval *uuids,
                           const struct src *s, const char *key)
{
    struct jiter ci, ui;
    struct jval c, u;
    int rc;
    pad_uuids(t);
    if (contents)
        jscan_enter(&ci, contents);
    jscan_enter(&ui, uuids);
    while (jscan_elem(&ui, &u) == 1) {
        if (contents) {
            if (jscan_elem(&ci, &c) != 1 || c.type != JT_STRING)
                return bad(s, "field '%s': %s", key, "must hold only strings");
            if ((rc = add_str_keep(t, &t->images, &c, s, key, true)))
                return rc;
        } else {
            strs_push(&t->images, t->arena.len, 0);
        }
        if ((rc = add_str_keep(t, &t->iuuids, &u, s, key, true)))
            return rc;
    }
    t->any_uuid = true;
    return 0;
}

/* "texts": a list of strings, or a list of {"name","contents":[...]} objects. */
static int add_plural(struct turn_in *t, struct strs *list, const struct jval *v,
                      const struct src *s, const char *key, bool *truthy)
{
    if (v->type == JT_NULL)
        return 0;
    if (v->type != JT_ARRAY)
        return bad(s, "field '%s': must be an array, not %s", key, jval_type_name(v->type));
    struct jiter it;
    struct jval e;
    int rc, kind = 0; /* 1 strings, 2 objects */
    jscan_enter(&it, v);
    while ((rc = jscan_elem(&it, &e)) == 1) {
        *truthy = true;
        int k = e.type == JT_STRING ? 1 : e.type == JT_OBJECT ? 2 : 0;
        if (k == 0 || (kind && k != kind))
            return bad(s, "field '%s': %s", key,
                       "must hold only strings or only {\"name\",\"contents\"} objects");
        kind = k;
        if (k == 1) {
            if ((rc = add_str(t, list, &e, s, key)))
                return rc;
            continue;
        }
        struct jiter ot;
        struct jval ok, ov;
        if (list == &t->images) {
            /* AIPerf 0.13's Image.uuids: one cache id per content; with ids and no
             * contents, id-only references */
            struct jval cv = {0}, uv = {0};
            bool has_c = false, has_u = false;
            jscan_enter(&ot, &e);
            while (jscan_member(&ot, &ok, &ov) == 1) {
                if (jval_is(&ok, "contents") && ov.type != JT_NULL) {
                    cv = ov;
                    has_c = true;
                } else if (jval_is(&ok, "uuids")) {
                    uv = ov;
                    has_u = true;
                }
            }
            long nu = has_u && uv.type == JT_ARRAY ? uuid_count(&uv) : 0;
            if (has_u && (uv.type != JT_ARRAY || nu < 0))
                return bad(s, "field '%s': %s", key,
                           "'uuids' must be an array of non-empty strings");
            if (nu > 0) {
                if (has_c && cv.type != JT_ARRAY)
                    return bad(s, "field '%s': %s", key, "'contents' must be an array of strings");
                long nc = 0;
                if (has_c) {
                    struct jiter ct;
                    struct jval c;
                    jscan_enter(&ct, &cv);
                    while (jscan_elem(&ct, &c) == 1)
                        nc++;
                }
                if (nc > 0 && nc != nu)
                    return bad(s, "field '%s': %s", key,
                               "'uuids' must have one id per 'contents' entry");
                if ((rc = add_uuid_images(t, nc > 0 ? &cv : NULL, &uv, s, key)))
                    return rc;
                continue;
            }
        }
        jscan_enter(&ot, &e);
        while ((rc = jscan_member(&ot, &ok, &ov)) == 1) {
            if (!jval_is(&ok, "contents") || ov.type == JT_NULL)
                continue;
            if (ov.type != JT_ARRAY)
                return bad(s, "field '%s': %s", key, "'contents' must be an array of strings");
            struct jiter ct;
            struct jval c;
            jscan_enter(&ct, &ov);
            while ((rc = jscan_elem(&ct, &c)) == 1) {
                if (c.type != JT_STRING)
                    return bad(s, "field '%s': %s", key, "'contents' must be an array of strings");
                if ((rc = add_str(t, list, &c, s, key)))
                    return rc;
            }
        }
    }
    return 0;
}

static int number_field(const struct jval *v, const struct src *s, const char *key, double *out)
{
    int64_t i;
    /* Integers (the common case) skip strtod. */
    if (jval_int(v, &i) == 0 && i >= 0 && i < ((int64_t)1 << 53)) {
        *out = (double)i;
        return 0;
    }
    if (jval_double(v, out) || *out < 0)
        return bad(s, "field '%s': must be a number >= 0%s", key, "");
    return 0;
}

/* Handles one member of a single_turn-style object: 1 if it was a known key, 0 if not. */
static int turn_member(struct turn_in *t, const struct jval *k, const struct jval *v,
                       const struct src *s)
{
    int rc;
    if (jval_is(k, "text") || jval_is(k, "image") || jval_is(k, "audio")) {
        bool is_text = k->p[0] == 't', is_image = k->p[0] == 'i';
        const char *key = is_text ? "text" : is_image ? "image" : "audio";
        if (v->type == JT_NULL)
            return 1;
        if (v->type != JT_STRING)
            return bad(s, "field '%s': must be a string, not %s", key, jval_type_name(v->type));
        if (is_image)
            t->image_given = true;
        struct strs *list = is_text ? &t->texts : is_image ? &t->images : &t->audios;
        bool *truthy = is_text ? &t->text_truthy : is_image ? &t->image_truthy : &t->audio_truthy;
        *truthy = v->n > 0;
        rc = add_str(t, list, v, s, key);
        return rc ? rc : 1;
    }
    if (jval_is(k, "texts"))
        return (rc = add_plural(t, &t->texts, v, s, "texts", &t->texts_truthy)) ? rc : 1;
    if (jval_is(k, "images")) {
        t->images_v = *v;
        t->has_images_v = true;
        return 1;
    }
    if (jval_is(k, "image_uuids") && t->read_image_uuids) {
        t->uuids_v = *v;
        t->has_uuids_v = v->type != JT_NULL;
        return 1;
    }
    if (jval_is(k, "audios"))
        return (rc = add_plural(t, &t->audios, v, s, "audios", &t->audios_truthy)) ? rc : 1;
    if (jval_is(k, "timestamp")) {
        if (v->type == JT_NULL)
            return 1;
        t->has_ts = true;
        return (rc = number_field(v, s, "timestamp", &t->ts)) ? rc : 1;
    }
    if (jval_is(k, "delay")) {
        if (v->type == JT_NULL)
            return 1;
        t->has_delay = true;
        return (rc = number_field(v, s, "delay", &t->delay)) ? rc : 1;
    }
    if (jval_is(k, "role")) {
        if (v->type == JT_NULL)
            return 1;
        if (v->type != JT_STRING)
            return bad(s, "field '%s': must be a string, not %s", "role", jval_type_name(v->type));
        t->role_off = t->arena.len;
        jval_str(v, &t->arena);
        t->role_len = t->arena.len - t->role_off;
        t->has_role = t->role_len > 0;
        return 1;
    }
    return 0;
}

/* Takes the held "images" and "image_uuids" of one object (AIPerf 0.13's SingleTurn
 * validator: ids pair with string images one to one, or stand alone as id-only
 * references; not with the singular "image", nor with image objects, which carry their
 * own "uuids"). Call it after each object's members, before turn_check. */
static int turn_media(struct turn_in *t, const struct src *s)
{
    int rc = 0;
    bool held = t->has_images_v, ids = t->has_uuids_v;
    struct jval iv = t->images_v, uv = t->uuids_v;
    t->has_images_v = t->has_uuids_v = false;
    if (!ids)
        return held ? add_plural(t, &t->images, &iv, s, "images", &t->images_truthy) : 0;
    long nu = uv.type == JT_ARRAY ? uuid_count(&uv) : -1;
    if (nu < 0)
        return bad(s, "field '%s': %s", "image_uuids", "must be an array of non-empty strings");
    if (t->image_given)
        return bad(s, "field '%s': %s", "image_uuids",
                   "cannot be used with the singular 'image' field (use 'images')");
    long ni = 0;
    if (held && iv.type != JT_NULL) {
        if (iv.type != JT_ARRAY)
            return bad(s, "field '%s': must be an array, not %s", "images",
                       jval_type_name(iv.type));
        struct jiter it;
        struct jval e;
        jscan_enter(&it, &iv);
        while (jscan_elem(&it, &e) == 1) {
            if (e.type == JT_OBJECT)
                return bad(s, "field '%s': %s", "image_uuids",
                           "cannot be used when 'images' holds objects (give each its 'uuids')");
            if (e.type != JT_STRING)
                return bad(s, "field '%s': %s", "images",
                           "must hold only strings or only {\"name\",\"contents\"} objects");
            ni++;
        }
        t->images_truthy = ni > 0;
    }
    if (ni > 0 && ni != nu) {
        char why[96];
        snprintf(why, sizeof why, "%ld ids for %ld images (one id per image)", nu, ni);
        return bad(s, "field '%s': %s", "image_uuids", why);
    }
    if (nu > 0)
        rc = add_uuid_images(t, ni > 0 ? &iv : NULL, &uv, s, "image_uuids");
    return rc;
}

/* AIPerf's validators: not both singular and plural, at least one modality, not both a
 * timestamp and a delay (truthiness, so timestamp 0 with a delay passes). */
static int turn_check(const struct turn_in *t, const struct src *s, bool timing)
{
    if (t->text_truthy && t->texts_truthy)
        return bad(s, "fields '%s' and '%s' cannot both be set", "text", "texts");
    if (t->image_truthy && t->images_truthy)
        return bad(s, "fields '%s' and '%s' cannot both be set", "image", "images");
    if (t->audio_truthy && t->audios_truthy)
        return bad(s, "fields '%s' and '%s' cannot both be set", "audio", "audios");
    if (!t->texts.n && !t->images.n && !t->audios.n)
        return bad(s, "at least one modality must be provided (%s%s)",
                   "text, texts, image, images, audio or audios", "");
    if (timing && t->has_ts && t->ts != 0 && t->has_delay && t->delay != 0)
        return bad(s, "fields '%s' and '%s' cannot both be set", "timestamp", "delay");
    return 0;
}

static int check_type(const struct jval *v, const struct src *s, const char *want)
{
    size_t n = strlen(want);
    if (v->type != JT_STRING || v->n != n || memcmp(v->p, want, n))
        return bad(s, "field 'type': must be \"%s\" for this loader%s", want, "");
    return 0;
}

/* AIPerf 0.13's media conversion, once a turn's fields have passed validation: a local
 * image or audio file named by one of the images or audios added since the last call
 * goes as its bytes, base64-encoded (media_from_dataset); the new text goes at the end of
 * the arena and the entry points at it. A singular "audio" must then be
 * "format,base64". */
static int turn_files(struct turn_in *t, const struct src *s)
{
    struct buf url;
    buf_init(&url, 0);
    int rc = 0;
    for (int audio = 0; audio < 2 && !rc; audio++) {
        struct strs *l = audio ? &t->audios : &t->images;
        size_t *done = audio ? &t->audios_done : &t->images_done;
        for (; *done < l->n && !rc; (*done)++) {
            size_t j = *done;
            char why[512];
            rc =
                media_from_dataset(t->arena.p + l->off[j], l->len[j], audio, &url, why, sizeof why);
            if (rc == 0) {
                l->off[j] = t->arena.len;
                l->len[j] = url.len;
                rc = buf_append(&t->arena, url.p, url.len);
                if (rc)
                    snprintf(why, sizeof why, "%s", err_str(rc));
            }
            if (rc < 0) {
                rc = bad(s, "field '%s': %s",
                         audio ? (t->audio_truthy ? "audio" : "audios")
                               : (t->image_truthy ? "image" : "images"),
                         why);
            } else {
                rc = 0;
                if (audio && t->audio_truthy && !memchr(t->arena.p + l->off[j], ',', l->len[j]))
                    rc = bad(s, "field '%s': %s", "audio",
                             "must be \"format,base64\" (e.g. \"wav,UklG...\") or a .wav or .mp3 "
                             "file");
            }
        }
    }
    buf_free(&url);
    return rc;
}

/* Builds the tw_text/pointer arrays for a turn and writes it. history: a later turn
 * carries the conversation so far (multi_turn); else it is sent on its own. */
static int emit_turn(struct dataset *ds, struct turn_in *t, const char *session, int turn,
                     bool timed, double t_ms, double delay_ms, double start_ms, bool history,
                     struct diag *d)
{
    pad_uuids(t);
    size_t nt = t->texts.n, ni = t->images.n, na = t->audios.n;
    struct tw_part *parts = xmalloc((nt + 1) * sizeof *parts);
    struct tw_text *texts = xmalloc((nt + 1) * sizeof *texts);
    const char **images = xmalloc((ni + 1) * sizeof *images);
    const char **audios = xmalloc((na + 1) * sizeof *audios);
    const char **uuids = xmalloc((ni + 1) * sizeof *uuids);
    struct buf z; /* NUL-terminated copies for the media URLs and image ids */
    buf_init(&z, 0);
    for (size_t i = 0; i < nt; i++) {
        parts[i].kind = TW_LIT;
        parts[i].s = t->arena.p + t->texts.off[i];
        parts[i].n = t->texts.len[i];
        texts[i].parts = &parts[i];
        texts[i].nparts = 1;
    }
    size_t *zoff = xmalloc((2 * ni + na + 1) * sizeof *zoff);
    for (size_t i = 0; i < 2 * ni + na; i++) {
        const struct strs *l = i < ni ? &t->images : i < ni + na ? &t->audios : &t->iuuids;
        size_t j = i < ni ? i : i < ni + na ? i - ni : i - ni - na;
        zoff[i] = z.len;
        if (l->off[j] != NO_UUID)
            buf_append(&z, t->arena.p + l->off[j], l->len[j]);
        buf_putc(&z, '\0');
    }
    for (size_t i = 0; i < ni; i++) {
        images[i] = z.p + zoff[i];
        uuids[i] = t->iuuids.off[i] != NO_UUID ? z.p + zoff[ni + na + i] : NULL;
    }
    for (size_t i = 0; i < na; i++)
        audios[i] = z.p + zoff[ni + i];
    char role[64];
    snprintf(role, sizeof role, "%.*s", (int)t->role_len,
             t->has_role ? t->arena.p + t->role_off : "");
    struct tw_request q = {0};
    q.session = session;
    q.turn = turn;
    q.timed = timed && turn == 0;
    q.t_ms = t_ms;
    q.delay_ms = turn > 0 ? delay_ms : -1;
    q.start_ms = start_ms;
    q.model = dataset_model(ds);
    q.role = t->has_role ? role : NULL;
    q.texts = texts;
    q.ntexts = nt;
    q.images = images;
    q.nimages = ni;
    q.image_uuids = t->any_uuid ? uuids : NULL;
    q.audios = audios;
    q.naudios = na;
    q.isl = -1;
    q.max_tokens = ds->o->osl_set ? dataset_osl(&ds->osl_rng, ds->o) : -1;
    q.live_history = history && turn > 0;
    int rc = tw_request(ds->w, &q, d);
    free(parts);
    free(texts);
    free(images);
    free(uuids);
    free(audios);
    free(zoff);
    buf_free(&z);
    return rc;
}

/* Timing rules shared by the JSONL loaders: the first timed-or-not first turn decides the
 * trace, and first turns must then all agree. Order does not matter: the writer sorts. */
struct timing {
    int mode; /* 0 undecided, 1 timed, 2 untimed */
    double last;
};

static int timing_first_turn(struct timing *tm, bool has_ts, double ts, const struct src *s)
{
    if (tm->mode == 0)
        tm->mode = has_ts ? 1 : 2;
    if (tm->mode == 1 && !has_ts)
        return bad(s,
                   "field '%s' is missing (earlier lines have one; a trace is timed "
                   "throughout or not at all)%s",
                   "timestamp", "");
    if (tm->mode == 2 && has_ts)
        return bad(s,
                   "field '%s' appears but earlier lines have none (a trace is timed "
                   "throughout or not at all)%s",
                   "timestamp", "");
    if (has_ts)
        tm->last = ts;
    return 0;
}

/* AIPerf 0.13's --inter-turn-delay-cap-seconds (its DelayCapTracker): an authored delay
 * (ms) above the cap becomes the cap. Delays derived from timestamps are not authored and
 * are not capped (AIPerf sends those turns at their timestamps). */
static double delay_capped(const struct dataset_opts *o, double ms)
{
    if (o->delay_cap_s >= 0 && ms > o->delay_cap_s * 1000.0)
        return o->delay_cap_s * 1000.0;
    return ms;
}

/* Opens a JSONL input and iterates its non-blank lines. */
struct lines {
    struct zreader *zr;
    struct src s;
};

static int lines_open(struct lines *l, const char *path, struct diag *d)
{
    l->s.path = path;
    l->s.line = 0;
    l->s.d = d;
    return zr_open(&l->zr, path, MAX_LINE, d);
}

/* 1 with a line, 0 at the end, < 0 on error. Blank lines are skipped. */
static int lines_next(struct lines *l, const char **p, size_t *n)
{
    for (;;) {
        int rc = zr_getline(l->zr, p, n, l->s.d);
        if (rc <= 0)
            return rc;
        l->s.line = zr_lineno(l->zr);
        const char *a = *p, *b = *p + *n;
        if (l->s.line == 1 && b - a >= 3 && !memcmp(a, "\xEF\xBB\xBF", 3))
            a += 3; /* a UTF-8 byte order mark, as spreadsheet exports write */
        while (a < b && (*a == ' ' || *a == '\t' || *a == '\r'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
            b--;
        if (a == b)
            continue;
        *p = a;
        *n = (size_t)(b - a);
        return 1;
    }
}

static int json_line_err(const struct src *s, const struct jiter *it)
{
    return diag_at(s->d, ERR_PARSE, s->path, s->line, "malformed JSON at byte %zu: %s",
                   it->err_off + 1, it->err ? it->err : "bad value");
}

static bool enough(const struct dataset *ds)
{
    return ds->o->request_count > 0 && tw_requests(ds->w) >= ds->o->request_count;
}

/* "line-N": a session id for an input line that names none (no printf: hot path). */
static void line_id(char *out, size_t n, long line)
{
    char t[24];
    size_t i = sizeof t;
    unsigned long u = (unsigned long)line;
    do {
        t[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t k = sizeof t - i;
    if (k + 6 > n)
        k = n - 6;
    memcpy(out, "line-", 5);
    memcpy(out + 5, t + i, k);
    out[5 + k] = '\0';
}

/* ---- single_turn ---- */

/* --uuid-and-strip (AIPerf 0.13's single_turn dedup): an image whose id this session
 * already sent with its bytes in an earlier row goes with an empty url, the id alone.
 * Ids first sent in this row keep their bytes even when repeated in it (the server
 * resolves a request's own misses before caching them), and an id-only reference marks
 * nothing as sent. seen holds "LEN:SESSION" + id keys. */
static void strip_seen(struct sessmap *seen, struct buf *key, const char *sid, size_t sn,
                       struct turn_in *t)
{
    pad_uuids(t);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < t->images.n; i++) {
            if (t->iuuids.off[i] == NO_UUID)
                continue;
            buf_reset(key);
            buf_printf(key, "%zu:", sn);
            buf_append(key, sid, sn);
            buf_append(key, t->arena.p + t->iuuids.off[i], t->iuuids.len[i]);
            if (pass == 0) {
                if (sess_find(seen, key->p, key->len))
                    t->images.len[i] = 0;
            } else if (t->images.len[i] > 0) {
                sess_get(seen, key->p, key->len);
            }
        }
}

/* Line numbers of rows without a session_id (one bit each): their sessions are named
 * "line-N", which a session_id of that form must not take. */
struct bits {
    uint64_t *w;
    size_t n; /* words */
};

static void bits_set(struct bits *b, long i)
{
    size_t k = (size_t)i / 64;
    if (k >= b->n) {
        size_t nn = b->n ? b->n : 1024;
        while (nn <= k)
            nn *= 2;
        b->w = xrealloc(b->w, nn * sizeof *b->w);
        memset(b->w + b->n, 0, (nn - b->n) * sizeof *b->w);
        b->n = nn;
    }
    b->w[k] |= UINT64_C(1) << (i % 64);
}

static bool bits_get(const struct bits *b, long i)
{
    size_t k = (size_t)i / 64;
    return k < b->n && ((b->w[k] >> (i % 64)) & 1);
}

/* The line number N of a session id spelled "line-N" (as line_id writes it), else 0. */
static long line_id_number(const char *id, size_t n)
{
    if (n < 6 || n > 5 + 18 || memcmp(id, "line-", 5) || id[5] == '0') /* 18 digits fit a long */
        return 0;
    long v = 0;
    for (size_t i = 5; i < n; i++) {
        if (id[i] < '0' || id[i] > '9')
            return 0;
        v = v * 10 + (id[i] - '0');
    }
    return v;
}

/* AIPerf 0.13 groups the rows that share a session_id into one conversation, in file
 * order, each row a turn sent on its own (no history: its context mode
 * message_array_with_responses), after the previous turn's reply plus its delay (or its
 * timestamp's gap, as multi_turn). A row without one is a session of its own. */
int dataset_single_turn(struct dataset *ds, const char *path, struct diag *d)
{
    struct lines l;
    int rc = lines_open(&l, path, d);
    if (rc)
        return rc;
    struct turn_in t = {0};
    buf_init(&t.arena, 0);
    t.read_image_uuids = true;
    struct timing tm = {0};
    struct sessmap sm = {0}, seen = {0};
    struct bits anon = {0};
    struct buf sid, key;
    buf_init(&sid, 256);
    buf_init(&key, 256);
    const char *line;
    size_t n;
    char lid[48];
    while (!enough(ds) && (rc = lines_next(&l, &line, &n)) == 1) {
        struct jiter it;
        struct jval k, v;
        turn_reset(&t);
        buf_reset(&sid);
        if (jscan_object(&it, line, n)) {
            rc = json_line_err(&l.s, &it);
            break;
        }
        while ((rc = jscan_member(&it, &k, &v)) == 1) {
            if (jval_is(&k, "type")) {
                if ((rc = check_type(&v, &l.s, "single_turn")))
                    break;
                continue;
            }
            if (jval_is(&k, "session_id")) {
                buf_reset(&sid);
                if (v.type == JT_NULL)
                    continue;
                if (v.type != JT_STRING) {
                    rc = bad(&l.s, "field '%s': must be a string, not %s", "session_id",
                             jval_type_name(v.type));
                    break;
                }
                if (jval_str(&v, &sid)) {
                    rc = bad(&l.s, "field '%s': %s", "session_id", "invalid string escape");
                    break;
                }
                continue;
            }
            if ((rc = turn_member(&t, &k, &v, &l.s)) < 0)
                break;
        }
        if (rc == ERR_PARSE)
            rc = json_line_err(&l.s, &it);
        if (rc < 0 || (rc = turn_media(&t, &l.s)) || (rc = turn_check(&t, &l.s, true)) ||
            (rc = turn_files(&t, &l.s)))
            break;
        struct sess *se = NULL;
        const char *id = lid;
        if (sid.len) {
            se = sess_get(&sm, sid.p, sid.len);
            long ln = se->turns == 0 ? line_id_number(sid.p, sid.len) : 0;
            if (ln > 0 && bits_get(&anon, ln)) {
                char why[128];
                snprintf(why, sizeof why,
                         "'%.40s' is the name of line %ld's session (it has no session_id)", se->id,
                         ln);
                rc = bad(&l.s, "field '%s': %s", "session_id", why);
                break;
            }
            id = se->id;
        } else {
            line_id(lid, sizeof lid, l.s.line);
            if (sess_find(&sm, lid, strlen(lid))) {
                rc = bad(&l.s, "field '%s': %s", "session_id",
                         "missing, and an earlier row's session_id is this line's name");
                break;
            }
            bits_set(&anon, l.s.line);
        }
        int turn = se ? (int)se->turns : 0;
        double delay = 0;
        if (turn == 0) {
            if ((rc = timing_first_turn(&tm, t.has_ts, t.ts, &l.s)))
                break;
            if (se)
                se->first_ts = t.ts;
        } else if (t.has_delay) {
            delay = delay_capped(ds->o, t.delay);
        } else if (t.has_ts && se->has_ts) {
            delay = t.ts > se->last_ts ? t.ts - se->last_ts : 0;
        }
        if (ds->o->uuid_strip && se && t.any_uuid)
            strip_seen(&seen, &key, se->id, strlen(se->id), &t);
        if ((rc = emit_turn(ds, &t, id, turn, tm.mode == 1, t.ts, delay, se ? se->first_ts : t.ts,
                            false, d)))
            break;
        if (se) {
            se->turns++;
            if (t.has_ts) {
                se->last_ts = t.ts;
                se->has_ts = true;
            }
        }
    }
    turn_free(&t);
    sess_free(&sm);
    sess_free(&seen);
    free(anon.w);
    buf_free(&sid);
    buf_free(&key);
    zr_close(l.zr);
    return rc < 0 ? rc : 0;
}

/* ---- multi_turn ---- */

int dataset_multi_turn(struct dataset *ds, const char *path, struct diag *d)
{
    struct lines l;
    int rc = lines_open(&l, path, d);
    if (rc)
        return rc;
    struct turn_in t = {0};
    buf_init(&t.arena, 0);
    t.read_image_uuids = true;
    struct timing tm = {0};
    struct sessmap sm = {0};
    struct buf sid;
    buf_init(&sid, 1 << 16);
    const char *line;
    size_t n;
    while (!enough(ds) && (rc = lines_next(&l, &line, &n)) == 1) {
        struct jiter it;
        struct jval k, v, turns = {0};
        bool has_turns = false;
        buf_reset(&sid);
        if (jscan_object(&it, line, n)) {
            rc = json_line_err(&l.s, &it);
            break;
        }
        while ((rc = jscan_member(&it, &k, &v)) == 1) {
            rc = 0;
            if (jval_is(&k, "type") && (rc = check_type(&v, &l.s, "multi_turn")))
                break;
            if (jval_is(&k, "session_id") && v.type != JT_NULL) {
                if (v.type != JT_STRING) {
                    rc = bad(&l.s, "field '%s': must be a string, not %s", "session_id",
                             jval_type_name(v.type));
                    break;
                }
                jval_str(&v, &sid);
            }
            if (jval_is(&k, "turns")) {
                turns = v;
                has_turns = true;
            }
        }
        if (rc == ERR_PARSE)
            rc = json_line_err(&l.s, &it);
        if (rc < 0)
            break;
        size_t nturns = 0;
        if (has_turns && turns.type == JT_ARRAY) {
            struct jiter ct;
            struct jval ce;
            jscan_enter(&ct, &turns);
            while (jscan_elem(&ct, &ce) == 1)
                nturns++;
        }
        if (nturns == 0) {
            rc = bad(&l.s, "field '%s': %s", "turns", "a non-empty array of turns is required");
            break;
        }
        if (sid.len == 0)
            buf_printf(&sid, "line-%ld", l.s.line);
        struct sess *se = sess_get(&sm, sid.p, sid.len);
        struct jiter ti;
        struct jval e;
        jscan_enter(&ti, &turns);
        while (!enough(ds) && (rc = jscan_elem(&ti, &e)) == 1) {
            if (e.type != JT_OBJECT) {
                rc = bad(&l.s, "field '%s': %s", "turns", "every turn must be an object");
                break;
            }
            turn_reset(&t);
            struct jiter ot;
            jscan_enter(&ot, &e);
            while ((rc = jscan_member(&ot, &k, &v)) == 1)
                if ((rc = turn_member(&t, &k, &v, &l.s)) < 0)
                    break;
            if (rc < 0 || (rc = turn_media(&t, &l.s)) || (rc = turn_check(&t, &l.s, true)) ||
                (rc = turn_files(&t, &l.s)))
                break;
            double delay = 0;
            if (se->turns == 0) {
                if ((rc = timing_first_turn(&tm, t.has_ts, t.ts, &l.s)))
                    break;
            } else if (t.has_delay) {
                delay = delay_capped(ds->o, t.delay);
            } else if (t.has_ts && se->has_ts) {
                /* Absolute times on later turns become the gap since the previous
                 * turn was scheduled: the closest a delay can come. */
                delay = t.ts > se->last_ts ? t.ts - se->last_ts : 0;
            }
            if (se->turns == 0)
                se->first_ts = t.ts;
            rc = emit_turn(ds, &t, se->id, (int)se->turns, tm.mode == 1, t.ts, delay, se->first_ts,
                           true, d);
            if (rc)
                break;
            se->turns++;
            if (t.has_ts) {
                se->last_ts = t.ts;
                se->has_ts = true;
            }
        }
        if (rc < 0)
            break;
    }
    turn_free(&t);
    sess_free(&sm);
    buf_free(&sid);
    zr_close(l.zr);
    return rc < 0 ? rc : 0;
}

/* ---- random_pool ---- */

struct pool {
    char *name;
    char **lines;
    size_t *lens;
    long *lineno;
    size_t n, cap;
};

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_pool(struct pool *p, const char *path, struct diag *d)
{
    struct lines l;
    int rc = lines_open(&l, path, d);
    if (rc)
        return rc;
    const char *line;
    size_t n;
    struct turn_in t = {0};
    buf_init(&t.arena, 0);
    while ((rc = lines_next(&l, &line, &n)) == 1) {
        /* Validate every entry now, so a bad line fails the pack even if never drawn. */
        struct jiter it;
        struct jval k, v;
        turn_reset(&t);
        if (jscan_object(&it, line, n)) {
            rc = json_line_err(&l.s, &it);
            break;
        }
        while ((rc = jscan_member(&it, &k, &v)) == 1) {
            if (jval_is(&k, "type")) {
                if ((rc = check_type(&v, &l.s, "random_pool")))
                    break;
                continue;
            }
            if (jval_is(&k, "timestamp") || jval_is(&k, "delay") || jval_is(&k, "role"))
                continue; /* not part of a pool entry; ignored like any unknown key */
            if ((rc = turn_member(&t, &k, &v, &l.s)) < 0)
                break;
        }
        if (rc == ERR_PARSE)
            rc = json_line_err(&l.s, &it);
        if (rc < 0 || (rc = turn_media(&t, &l.s)) || (rc = turn_check(&t, &l.s, false)) ||
            (rc = turn_files(&t, &l.s)))
            break;
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 64;
            p->lines = xrealloc(p->lines, p->cap * sizeof *p->lines);
            p->lens = xrealloc(p->lens, p->cap * sizeof *p->lens);
            p->lineno = xrealloc(p->lineno, p->cap * sizeof *p->lineno);
        }
        p->lines[p->n] = xstrndup(line, n);
        p->lens[p->n] = n;
        p->lineno[p->n] = l.s.line;
        p->n++;
    }
    turn_free(&t);
    zr_close(l.zr);
    if (rc < 0)
        return rc;
    if (p->n == 0)
        return diag_at(d, ERR_INVALID, path, 0, "empty pool: no entries to sample from");
    return 0;
}

int dataset_random_pool(struct dataset *ds, const char *path, struct diag *d)
{
    struct stat st;
    if (stat(path, &st))
        return diag_at(d, ERR_IO, path, 0, "%s", strerror(errno));
    char **files = NULL;
    size_t nfiles = 0;
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        if (!dir)
            return diag_at(d, ERR_IO, path, 0, "%s", strerror(errno));
        struct dirent *e;
        size_t cap = 0;
        while ((e = readdir(dir))) {
            if (e->d_name[0] == '.')
                continue;
            struct buf fp;
            buf_init(&fp, 0);
            buf_printf(&fp, "%s/%s", path, e->d_name);
            struct stat fs;
            if (stat(fp.p, &fs) || !S_ISREG(fs.st_mode)) {
                buf_free(&fp);
                continue;
            }
            if (nfiles == cap) {
                cap = cap ? cap * 2 : 16;
                files = xrealloc(files, cap * sizeof *files);
            }
            files[nfiles++] = buf_release(&fp);
        }
        closedir(dir);
        /* Sorted, unlike AIPerf's iterdir order, so the same directory packs the same. */
        qsort(files, nfiles, sizeof *files, name_cmp);
        if (nfiles == 0)
            return diag_at(d, ERR_INVALID, path, 0, "no pool files in the directory");
    } else {
        files = xmalloc(sizeof *files);
        files[0] = xstrdup(path);
        nfiles = 1;
    }
    struct pool *pools = xcalloc(nfiles, sizeof *pools);
    int rc = 0;
    for (size_t i = 0; i < nfiles && !rc; i++)
        rc = load_pool(&pools[i], files[i], d);
    long n = ds->o->conversations > 0 ? ds->o->conversations
             : ds->o->entries > 0     ? ds->o->entries
                                      : 100;
    struct turn_in t = {0};
    buf_init(&t.arena, 0);
    char sid[32];
    for (long c = 0; c < n && !rc && !enough(ds); c++) {
        turn_reset(&t);
        /* One turn per conversation: one draw from every pool, merged in pool order. */
        for (size_t i = 0; i < nfiles && !rc; i++) {
            size_t k = (size_t)rng_below(&ds->pick_rng, pools[i].n);
            struct src s = {files[i], pools[i].lineno[k], d};
            struct jiter it;
            struct jval key, v;
            jscan_object(&it, pools[i].lines[k], pools[i].lens[k]);
            while ((rc = jscan_member(&it, &key, &v)) == 1)
                if (!jval_is(&key, "timestamp") && !jval_is(&key, "delay") &&
                    !jval_is(&key, "role") && (rc = turn_member(&t, &key, &v, &s)) < 0)
                    break;
            if (rc >= 0)
                rc = turn_media(&t, &s);
            if (rc >= 0)
                rc = turn_files(&t, &s);
        }
        if (rc < 0)
            break;
        snprintf(sid, sizeof sid, "pool-%ld", c);
        rc = emit_turn(ds, &t, sid, 0, false, 0, -1, 0, false, d);
    }
    turn_free(&t);
    for (size_t i = 0; i < nfiles; i++) {
        for (size_t k = 0; k < pools[i].n; k++)
            free(pools[i].lines[k]);
        free(pools[i].lines);
        free(pools[i].lens);
        free(pools[i].lineno);
        free(files[i]);
    }
    free(pools);
    free(files);
    return rc < 0 ? rc : 0;
}

/* ---- mooncake_trace ---- */

/* Input tokens of a verbatim "messages" or "payload": the text of every "content",
 * "text", "prompt" and "input" string inside it (roles, names and numbers are not
 * prompt text). */
static long json_text_tokens(const struct tokenizer *tk, const struct jval *v, int depth)
{
    struct jiter it;
    struct jval k, e;
    long n = 0;
    if (depth > 32 || jscan_enter(&it, v))
        return 0;
    struct buf tmp;
    buf_init(&tmp, 0);
    if (v->type == JT_OBJECT) {
        while (jscan_member(&it, &k, &e) == 1) {
            if (e.type == JT_STRING && (jval_is(&k, "content") || jval_is(&k, "text") ||
                                        jval_is(&k, "prompt") || jval_is(&k, "input"))) {
                buf_reset(&tmp);
                jval_str(&e, &tmp);
                n += (long)tokenizer_count(tk, tmp.p ? tmp.p : "", tmp.len);
            } else if (e.type == JT_OBJECT || e.type == JT_ARRAY) {
                n += json_text_tokens(tk, &e, depth + 1);
            }
        }
    } else {
        while (jscan_elem(&it, &e) == 1)
            if (e.type == JT_OBJECT || e.type == JT_ARRAY)
                n += json_text_tokens(tk, &e, depth + 1);
    }
    buf_free(&tmp);
    return n;
}

/* What a verbatim payload says about itself: model, streaming, requested output. */
static void raw_payload_fields(const struct jval *payload, struct tw_request *q, long out,
                               struct dataset *ds)
{
    struct jiter it;
    struct jval k, v;
    static char model[256];
    int64_t x;
    q->model = NULL;
    q->raw_stream = 0;
    q->max_tokens = out;
    jscan_enter(&it, payload);
    while (jscan_member(&it, &k, &v) == 1) {
        if (jval_is(&k, "model") && v.type == JT_STRING && !v.esc && v.n < sizeof model) {
            memcpy(model, v.p, v.n);
            model[v.n] = '\0';
            q->model = model;
        } else if (jval_is(&k, "stream")) {
            q->raw_stream = v.type == JT_TRUE;
        } else if ((jval_is(&k, "max_tokens") || jval_is(&k, "max_completion_tokens") ||
                    jval_is(&k, "max_output_tokens")) &&
                   jval_int(&v, &x) == 0 && x >= 0) {
            q->max_tokens = (long)x;
        }
    }
    (void)ds;
}

/* A prompt of `len` tokens over hash blocks, in AIPerf 0.13's three layouts: exact tile,
 * last block partial, or blocks as a cached prefix followed by uncached tokens. */
/* A prompt of len tokens made of blocks ids[0..m) (the last one shorter when len ends
 * inside it) and a fresh window for tokens past the blocks. */
static int hash_prompt_ids(struct dataset *ds, const int64_t *ids, size_t m, long len,
                           const struct src *s, struct tw_part *parts, size_t *np)
{
    long bs = ds->o->block_size;
    if (m == 0) {
        *np = dataset_window(ds, &ds->corpus_rng, len, parts);
        return 0;
    }
    if (m + 2 > MAX_PARTS)
        return bad(s, "field '%s': %s", "hash_ids", "too many ids (limit 4094)");
    long last = bs;
    if ((long)m * bs > len) {
        last = len - (long)(m - 1) * bs;
        if (last <= 0 || last > bs)
            return diag_at(s->d, ERR_INVALID, s->path, s->line,
                           "input_length %ld does not fit %zu hash_ids of %ld tokens (needs "
                           "%ld < input_length <= %ld, or more tokens than the blocks hold)",
                           len, m, bs, (long)(m - 1) * bs, (long)m * bs);
    }
    for (size_t i = 0; i < m; i++) {
        long size = i == m - 1 ? last : bs;
        int rc = dataset_block(ds, ids[i], size, s->path, s->line, s->d);
        if (rc)
            return rc;
        parts[i].kind = TW_BLOCK;
        parts[i].id = ids[i];
    }
    *np = m;
    long tail = len - (long)(m - 1) * bs - last;
    if (tail > 0)
        *np += dataset_window(ds, &ds->corpus_rng, tail, parts + m);
    return 0;
}

/* ---- AIPerf 0.13's trace synthesis (its Synthesizer over mooncake traces) ---- */

struct synth {
    bool on;            /* a multiplier or the speedup differs from 1 */
    struct i64map seen; /* hash id -> index into count[] */
    uint32_t *count;    /* uses of each id over the kept lines (saturates at 2) */
    size_t ncount, cap;
    int64_t next_id;     /* the last id handed out (AIPerf's running max_hash_id) */
    int64_t root_offset; /* distance between the root_mult trees */
    struct rng root_rng;
    int64_t *ids; /* one line's new ids (MAX_PARTS) */
};

static bool synth_shared(const struct synth *sy, int64_t id)
{
    uint32_t k;
    return i64map_get(&sy->seen, id, &k) && sy->count[k] > 1;
}

/* The first pass: how often each hash id occurs over the lines synthesis will see (those
 * max_isl keeps), the largest shared one, and a bound on how many ids the lines can add
 * (the trees of --synthesis-prefix-root-multiplier start past it). */
static int synth_scan(struct dataset *ds, struct synth *sy, const char *path, struct diag *d)
{
    const struct dataset_opts *o = ds->o;
    struct lines l;
    int rc = lines_open(&l, path, d);
    if (rc)
        return rc;
    i64map_init(&sy->seen);
    double added = 0;
    const char *line;
    size_t n;
    while ((rc = lines_next(&l, &line, &n)) == 1) {
        const char *ids_path[] = {"hash_ids"}, *len_path[] = {"input_length"};
        struct jval ids, lv;
        int64_t len = 0;
        if (jscan_find(line, n, len_path, 1, &lv) == 1 && jval_int(&lv, &len) == 0 &&
            o->syn_max_isl > 0 && len > o->syn_max_isl)
            continue;
        if (jscan_find(line, n, ids_path, 1, &ids) != 1 || ids.type != JT_ARRAY)
            continue; /* the main pass reports malformed lines */
        struct jiter it;
        struct jval e;
        size_t m = 0;
        jscan_enter(&it, &ids);
        while (jscan_elem(&it, &e) == 1) {
            int64_t id;
            if (jval_int(&e, &id))
                break;
            uint32_t k;
            if (!i64map_get(&sy->seen, id, &k)) {
                if (sy->ncount == sy->cap) {
                    sy->cap = sy->cap ? sy->cap * 2 : 4096;
                    sy->count = xrealloc(sy->count, sy->cap * sizeof *sy->count);
                }
                k = (uint32_t)sy->ncount;
                sy->count[sy->ncount++] = 0;
                i64map_put(&sy->seen, id, k);
            }
            if (sy->count[k] < 2)
                sy->count[k]++;
            m++;
        }
        added += ceil((double)m * (o->syn_prefix_mult > 1 ? o->syn_prefix_mult : 1)) + 1 +
                 ceil((double)len * o->syn_prompt_mult / (double)o->block_size) + 1;
    }
    zr_close(l.zr);
    if (rc < 0)
        return rc;
    int64_t max_shared = 0;
    for (size_t i = 0; i < sy->seen.cap; i++)
        if (sy->seen.vals[i] != UINT32_MAX && sy->count[sy->seen.vals[i]] > 1 &&
            sy->seen.keys[i] > max_shared)
            max_shared = sy->seen.keys[i];
    int64_t mult = o->syn_prefix_mult > 1 ? (int64_t)o->syn_prefix_mult : 1;
    if (max_shared > (INT64_MAX / 4) / (mult + 1) || added > 1e15)
        return diag_at(d, ERR_INVALID, path, 0, "hash_ids too large to synthesize from");
    sy->next_id = (max_shared + 1) * mult;
    sy->root_offset = sy->next_id + (int64_t)added + 1;
    if (o->syn_root_mult > 1 && sy->root_offset > INT64_MAX / (o->syn_root_mult + 1))
        return diag_at(d, ERR_INVALID, path, 0, "hash_ids too large to synthesize from");
    rng_derive(&sy->root_rng, o->seed, "dataset.synthesis.root");
    sy->ids = xmalloc(MAX_PARTS * sizeof *sy->ids);
    return 0;
}

static void synth_free(struct synth *sy)
{
    if (sy->seen.keys)
        i64map_free(&sy->seen);
    free(sy->count);
    free(sy->ids);
}

/* One line's hash ids and input length through AIPerf 0.13's multipliers: the leading run
 * of shared ids is the prefix (stretched: id h becomes h*k .. h*k+k-1 plus fresh ids for a
 * fractional k; squeezed: cut to max(1, int(n k)) blocks, the prefix length counted as
 * that many blocks even when none was shared, as AIPerf counts it); the rest of the prompt
 * is scaled and given fresh ids; then the line moves to one of root_mult trees. *m = 0:
 * no ids (the prompt keeps its length and gets none). */
static int synth_ids(struct dataset *ds, struct synth *sy, const struct jval *ids, long len,
                     const struct src *s, size_t *m, long *new_len)
{
    const struct dataset_opts *o = ds->o;
    long bs = o->block_size;
    struct jiter it;
    struct jval e;
    size_t n = 0, shared = 0;
    bool in_prefix = true;
    jscan_enter(&it, ids);
    while (jscan_elem(&it, &e) == 1) {
        int64_t id;
        if (jval_int(&e, &id))
            return bad(s, "field '%s': %s", "hash_ids", "must be an array of integers");
        if (in_prefix && synth_shared(sy, id)) {
            if (shared >= MAX_PARTS - 2)
                return bad(s, "field '%s': %s", "hash_ids", "too many ids (limit 4094)");
            sy->ids[shared++] = id;
        } else {
            in_prefix = false;
        }
        n++;
    }
    *m = 0;
    *new_len = len;
    if (n == 0)
        return 0;
    long prefix_len = (long)shared * bs, prompt_len = len - prefix_len;
    if (prompt_len < 0)
        return diag_at(s->d, ERR_INVALID, s->path, s->line,
                       "input_length %ld is shorter than its %zu shared prefix blocks of %ld "
                       "tokens (synthesis)",
                       len, shared, bs);
    size_t k = shared;
    long new_prefix_len = prefix_len;
    double pm = o->syn_prefix_mult;
    if (pm > 1) {
        int64_t mi = (int64_t)pm;
        size_t target = (size_t)ceil((double)shared * pm);
        if (target + 2 > MAX_PARTS)
            return bad(s, "field '%s': %s", "hash_ids", "too many ids after synthesis");
        /* in place from the end: h -> h*mi .. h*mi+mi-1 */
        size_t out = shared * (size_t)mi;
        for (size_t i = shared; i-- > 0;)
            for (int64_t j = mi; j-- > 0;)
                sy->ids[i * (size_t)mi + (size_t)j] = sy->ids[i] * mi + j;
        k = out;
        while (k < target)
            sy->ids[k++] = ++sy->next_id;
        new_prefix_len = (long)k * bs;
    } else if (pm < 1) {
        long blocks = (long)((double)shared * pm);
        if (blocks < 1)
            blocks = 1;
        k = (size_t)blocks < shared ? (size_t)blocks : shared;
        new_prefix_len = blocks * bs;
    }
    long new_prompt = (long)((double)prompt_len * o->syn_prompt_mult);
    long blocks = (new_prompt + bs - 1) / bs;
    if (k + (size_t)blocks + 2 > MAX_PARTS)
        return bad(s, "field '%s': %s", "hash_ids", "too many ids after synthesis");
    for (long i = 0; i < blocks; i++)
        sy->ids[k++] = ++sy->next_id;
    if (k == 0)
        return 0; /* AIPerf drops the ids and keeps the line's length */
    *new_len = new_prefix_len + new_prompt;
    if (o->syn_root_mult > 1) {
        int64_t tree = (int64_t)rng_below(&sy->root_rng, (uint64_t)o->syn_root_mult);
        for (size_t i = 0; tree > 0 && i < k; i++)
            sy->ids[i] += tree * sy->root_offset;
    }
    *m = k;
    return 0;
}

static int hash_prompt(struct dataset *ds, const struct jval *ids, long len, const struct src *s,
                       struct tw_part *parts, size_t *np)
{
    long bs = ds->o->block_size;
    size_t m = 0;
    struct jiter it;
    struct jval e;
    int rc;
    jscan_enter(&it, ids);
    while ((rc = jscan_elem(&it, &e)) == 1)
        m++;
    if (m == 0) {
        *np = dataset_window(ds, &ds->corpus_rng, len, parts);
        return 0;
    }
    if (m + 2 > MAX_PARTS)
        return bad(s, "field '%s': %s", "hash_ids", "too many ids (limit 4094)");
    long last = bs;
    if ((long)m * bs > len) {
        last = len - (long)(m - 1) * bs;
        if (last <= 0 || last > bs) {
            return diag_at(s->d, ERR_INVALID, s->path, s->line,
                           "input_length %ld does not fit %zu hash_ids of %ld tokens (needs "
                           "%ld < input_length <= %ld, or more tokens than the blocks hold)",
                           len, m, bs, (long)(m - 1) * bs, (long)m * bs);
        }
    }
    jscan_enter(&it, ids);
    size_t i = 0;
    while ((rc = jscan_elem(&it, &e)) == 1) {
        int64_t id;
        if (jval_int(&e, &id))
            return bad(s, "field '%s': %s", "hash_ids", "must be an array of integers");
        long size = i == m - 1 ? last : bs;
        if ((rc = dataset_block(ds, id, size, s->path, s->line, s->d)))
            return rc;
        parts[i].kind = TW_BLOCK;
        parts[i].id = id;
        i++;
    }
    *np = m;
    long tail = len - (long)(m - 1) * bs - last;
    if (tail > 0)
        *np += dataset_window(ds, &ds->corpus_rng, tail, parts + m);
    return 0;
}

int dataset_mooncake(struct dataset *ds, const char *path, struct diag *d)
{
    struct lines l;
    int rc = lines_open(&l, path, d);
    if (rc)
        return rc;
    struct timing tm = {0};
    struct sessmap sm = {0};
    struct buf text, sid;
    buf_init(&text, 0);
    buf_init(&sid, 1 << 16);
    struct tw_part *parts = xmalloc(MAX_PARTS * sizeof *parts);
    const char *line;
    size_t n;
    char gen[48];
    const struct dataset_opts *o = ds->o;
    struct synth sy = {0};
    sy.on = o->syn_speedup != 1 || o->syn_prefix_mult != 1 || o->syn_prompt_mult != 1 ||
            o->syn_output_mult != 1 || o->syn_root_mult != 1;
    if (sy.on && (rc = synth_scan(ds, &sy, path, d))) {
        synth_free(&sy);
        free(parts);
        buf_free(&text);
        buf_free(&sid);
        zr_close(l.zr);
        return rc;
    }
    while (!enough(ds) && (rc = lines_next(&l, &line, &n)) == 1) {
        struct jiter it;
        struct jval k, v, ids = {0};
        bool has_ts = false, has_len = false, has_out = false, has_text = false, has_ids = false;
        bool has_delay = false;
        struct jval msgs = {0}, payload = {0}, tools = {0}, extra = {0};
        double ts = 0, delay = 0;
        int64_t len = 0, out = 0;
        buf_reset(&sid);
        if (jscan_object(&it, line, n)) {
            rc = json_line_err(&l.s, &it);
            break;
        }
        while ((rc = jscan_member(&it, &k, &v)) == 1) {
            rc = 0;
            if (v.type == JT_NULL)
                continue;
            if (jval_is(&k, "timestamp")) {
                has_ts = true;
                rc = number_field(&v, &l.s, "timestamp", &ts);
            } else if (jval_is(&k, "input_length")) {
                has_len = true;
                if (jval_int(&v, &len) || len < 0)
                    rc = bad(&l.s, "field '%s': must be an integer >= 0%s", "input_length", "");
            } else if (jval_is(&k, "output_length")) {
                has_out = true;
                if (jval_int(&v, &out) || out < 0)
                    rc = bad(&l.s, "field '%s': must be an integer >= 0%s", "output_length", "");
            } else if (jval_is(&k, "hash_ids")) {
                if (v.type != JT_ARRAY)
                    rc = bad(&l.s, "field '%s': must be an array of integers, not %s", "hash_ids",
                             jval_type_name(v.type));
                ids = v;
                has_ids = true;
            } else if (jval_is(&k, "text_input")) {
                if (v.type != JT_STRING) {
                    rc = bad(&l.s, "field '%s': must be a string, not %s", "text_input",
                             jval_type_name(v.type));
                } else {
                    buf_reset(&text);
                    has_text = true;
                    if (jval_str(&v, &text))
                        rc = bad(&l.s, "field '%s': %s", "text_input", "invalid string escape");
                }
            } else if (jval_is(&k, "session_id")) {
                if (v.type != JT_STRING)
                    rc = bad(&l.s, "field '%s': must be a string, not %s", "session_id",
                             jval_type_name(v.type));
                else
                    jval_str(&v, &sid);
            } else if (jval_is(&k, "messages")) {
                if (v.type != JT_ARRAY || v.n <= 2)
                    rc = bad(&l.s, "field '%s': must be a non-empty array of messages%s",
                             "messages", "");
                msgs = v;
            } else if (jval_is(&k, "tools")) {
                if (v.type != JT_ARRAY)
                    rc = bad(&l.s, "field '%s': must be an array, not %s", "tools",
                             jval_type_name(v.type));
                tools = v;
            } else if (jval_is(&k, "extra")) {
                if (v.type != JT_OBJECT)
                    rc = bad(&l.s, "field '%s': must be an object, not %s", "extra",
                             jval_type_name(v.type));
                extra = v;
            } else if (jval_is(&k, "payload")) {
                if (v.type != JT_OBJECT)
                    rc = bad(&l.s, "field '%s': must be an object, not %s", "payload",
                             jval_type_name(v.type));
                payload = v;
            } else if (jval_is(&k, "delay")) {
                has_delay = true;
                rc = number_field(&v, &l.s, "delay", &delay);
            } else if (jval_is(&k, "type")) {
                rc = check_type(&v, &l.s, "mooncake_trace");
            }
            if (rc)
                break;
        }
        if (rc == ERR_PARSE)
            rc = json_line_err(&l.s, &it);
        if (rc < 0)
            break;
        if (tools.p && !msgs.p) {
            rc = bad(&l.s, "field '%s' is only allowed with '%s'", "tools", "messages");
            break;
        }
        int modes = (has_text || has_len) + (msgs.p != NULL) + (payload.p != NULL);
        if (modes == 0) {
            rc = bad(&l.s, "one of '%s' is required%s",
                     "input_length', 'text_input', 'messages' or 'payload", "");
            break;
        }
        if (modes > 1) {
            rc =
                bad(&l.s, "'%s' cannot be combined with another input (%s)",
                    msgs.p ? "messages" : "payload", "input_length, text_input, messages, payload");
            break;
        }
        if (!has_text && has_ids && !has_len) {
            rc = bad(&l.s, "field '%s' needs '%s'", "hash_ids", "input_length");
            break;
        }
        /* --synthesis-max-isl leaves out longer lines before anything else sees them */
        if (has_len && o->syn_max_isl > 0 && len > o->syn_max_isl) {
            ds->skipped++;
            ds->skip_why = "with an input_length above --synthesis-max-isl";
            continue;
        }
        if (sy.on) {
            if (has_ts && o->syn_speedup > 0)
                ts = trunc(ts / o->syn_speedup); /* Python's int(): toward zero */
            if (has_out) {
                double x = nearbyint((double)out * o->syn_output_mult); /* round half even */
                out = x > 1e15 ? (int64_t)1e15 : (int64_t)x;
                if (o->syn_max_osl > 0 && out > o->syn_max_osl)
                    out = o->syn_max_osl;
                if (out < 1)
                    out = 1;
            }
        } else if (has_out && o->syn_max_osl > 0 && out > o->syn_max_osl) {
            out = o->syn_max_osl;
        }
        size_t np = 0;
        long isl = -1;
        if (msgs.p || payload.p) {
            isl = json_text_tokens(ds->c->tk, msgs.p ? &msgs : &payload, 0);
        } else if (has_text) {
            if (text.len == 0) {
                rc = bad(&l.s, "field '%s': %s", "text_input", "must not be empty");
                break;
            }
            parts[0].kind = TW_LIT;
            parts[0].s = text.p;
            parts[0].n = text.len;
            np = 1;
            isl = -1;
        } else {
            if (len == 0) {
                rc = bad(&l.s, "field '%s': must be > 0 to make a prompt%s", "input_length", "");
                break;
            }
            if (has_ids && sy.on) {
                size_t m;
                long nl;
                rc = synth_ids(ds, &sy, &ids, (long)len, &l.s, &m, &nl);
                if (!rc) {
                    len = nl;
                    if (o->syn_max_isl > 0 && len > o->syn_max_isl)
                        len = o->syn_max_isl; /* AIPerf caps the synthesized length too */
                    rc = hash_prompt_ids(ds, sy.ids, m, (long)len, &l.s, parts, &np);
                }
            } else if (has_ids)
                rc = hash_prompt(ds, &ids, (long)len, &l.s, parts, &np);
            else
                np = dataset_window(ds, &ds->corpus_rng, (long)len, parts);
            if (rc)
                break;
            isl = (long)len;
        }
        struct sess *se = NULL;
        if (sid.len)
            se = sess_get(&sm, sid.p, sid.len);
        else
            line_id(gen, sizeof gen, l.s.line);
        long turn = se ? se->turns : 0;
        double dms = -1;
        if (turn == 0) {
            if ((rc = timing_first_turn(&tm, has_ts, ts, &l.s)))
                break;
        } else {
            dms = has_delay                                    ? delay_capped(o, delay)
                  : (has_ts && se->has_ts && ts > se->last_ts) ? ts - se->last_ts
                                                               : 0;
        }
        struct tw_text t = {parts, np};
        struct tw_request q = {0};
        q.session = se ? se->id : gen;
        q.turn = (int)turn;
        q.timed = turn == 0 && has_ts;
        q.t_ms = ts;
        q.delay_ms = dms;
        if (se && turn == 0)
            se->first_ts = ts;
        q.start_ms = se ? se->first_ts : ts;
        q.model = dataset_model(ds);
        q.texts = &t;
        q.ntexts = 1;
        q.isl = isl;
        q.max_tokens = ds->o->osl_set ? dataset_osl(&ds->osl_rng, ds->o) : has_out ? (long)out : -1;
        /* A line's own `messages` (or whole `payload`) is the complete conversation, sent
         * as it is (AIPerf 0.13's message_array_with_responses, the default for mooncake
         * messages): recorded, nothing prepended. Text lines carry only the new turn. */
        q.live_history = turn > 0 && !msgs.p && !payload.p;
        if (msgs.p) {
            q.raw_messages = msgs.p;
            q.raw_messages_len = msgs.n;
            q.raw_tools = tools.p;
            q.raw_tools_len = tools.n;
            q.ntexts = 0;
        }
        q.raw_extra = extra.p;
        q.raw_extra_len = extra.n;
        if (payload.p) {
            raw_payload_fields(&payload, &q, has_out ? (long)out : -1, ds);
            q.raw_body = payload.p;
            q.raw_body_len = payload.n;
            q.ntexts = 0;
        }
        rc = tw_request(ds->w, &q, d);
        dataset_lits_reset(ds);
        if (rc) {
            char why[DIAG_MAX];
            snprintf(why, sizeof why, "%s", d->msg);
            diag_at(d, rc, l.s.path, l.s.line, "%s", why);
            break;
        }
        if (se) {
            se->turns++;
            if (has_ts) {
                se->last_ts = ts;
                se->has_ts = true;
            }
        }
    }
    synth_free(&sy);
    free(parts);
    buf_free(&text);
    buf_free(&sid);
    sess_free(&sm);
    zr_close(l.zr);
    return rc < 0 ? rc : 0;
}

/* ---- bailian_trace (Alibaba's Qwen serving traces, AIPerf 0.13's bailian_trace) ---- */

/* One line: a request of a chain linked by chat_id -> parent_chat_id (-1: a root). */
struct bl_rec {
    int64_t chat, parent;
    int64_t root; /* the chat_id of its chain's root: the session id */
    double ts_ms;
    long in, out, turn, line;
    size_t ids_off, nids; /* into the loader's id arena */
    uint32_t group;       /* the session, numbered by first appearance of its root */
};

/* A bailian field that must be an integer (AIPerf's model: no null, no fraction). */
static int bl_int(const struct jval *v, const struct src *s, const char *key, int64_t lo,
                  int64_t *out)
{
    if (jval_int(v, out) || *out < lo)
        return bad(s,
                   lo == 0 ? "field '%s': must be an integer >= 0%s"
                           : "field '%s': must be an integer%s",
                   key, "");
    return 0;
}

static int bl_parse(const struct jval *k, const struct jval *v, const struct src *s,
                    struct bl_rec *r, unsigned *have, int64_t **ids, size_t *nids, size_t *cap)
{
    int64_t x;
    int rc = 0;
    if (jval_is(k, "chat_id")) {
        *have |= 1;
        rc = bl_int(v, s, "chat_id", INT64_MIN, &r->chat);
    } else if (jval_is(k, "parent_chat_id")) {
        rc = bl_int(v, s, "parent_chat_id", INT64_MIN, &r->parent);
    } else if (jval_is(k, "timestamp")) {
        *have |= 2;
        if (!(rc = number_field(v, s, "timestamp", &r->ts_ms)))
            r->ts_ms *= 1000; /* seconds in the file */
    } else if (jval_is(k, "input_length")) {
        *have |= 4;
        if (!(rc = bl_int(v, s, "input_length", 0, &x)))
            r->in = (long)(x > (1L << 40) ? (1L << 40) : x);
    } else if (jval_is(k, "output_length")) {
        *have |= 8;
        if (!(rc = bl_int(v, s, "output_length", 0, &x)))
            r->out = (long)(x > (1L << 40) ? (1L << 40) : x);
    } else if (jval_is(k, "turn")) {
        if (!(rc = bl_int(v, s, "turn", INT64_MIN, &x)))
            r->turn = (long)(x < -(1L << 40) ? -(1L << 40) : x > (1L << 40) ? (1L << 40) : x);
    } else if (jval_is(k, "type")) { /* the request's kind (text, search, image, file) */
        if (v->type != JT_STRING)
            rc = bad(s, "field '%s': must be a string, not %s", "type", jval_type_name(v->type));
    } else if (jval_is(k, "hash_ids")) {
        if (v->type != JT_ARRAY)
            return bad(s, "field '%s': must be an array of integers, not %s", "hash_ids",
                       jval_type_name(v->type));
        struct jiter it;
        struct jval e;
        jscan_enter(&it, v);
        while ((rc = jscan_elem(&it, &e)) == 1) {
            if (jval_int(&e, &x))
                return bad(s, "field '%s': %s", "hash_ids", "must be an array of integers");
            if (r->nids + 2 >= MAX_PARTS)
                return bad(s, "field '%s': %s", "hash_ids", "too many ids (limit 4094)");
            if (*nids == *cap) {
                *cap = *cap ? *cap * 2 : 1024;
                *ids = xrealloc(*ids, *cap * sizeof **ids);
            }
            (*ids)[(*nids)++] = x;
            r->nids++;
        }
        if (rc < 0)
            return rc;
        rc = 0;
    }
    return rc;
}

/* The chain root of record i (an index), as AIPerf's find_root walks it: from the last
 * line with i's chat_id, follow parent_chat_id while the parent is a chat_id of the file
 * (its last line), stopping at a root (-1), at a parent that is missing or the record
 * itself, or at a cycle; every record walked through keeps the answer (its cache, which
 * decides where a cycle is cut). */
static uint32_t bl_root(const struct bl_rec *r, const struct i64map *by_chat, uint32_t i,
                        uint32_t *cache, uint32_t *seen, uint32_t stamp, uint32_t **path,
                        size_t *pcap)
{
    uint32_t start, cur, j;
    i64map_get(by_chat, r[i].chat, &start);
    if (cache[start] != UINT32_MAX)
        return cache[start];
    size_t np = 0;
    cur = start;
    while (r[cur].parent != -1) {
        if (seen[cur] == stamp)
            break;
        seen[cur] = stamp;
        if (r[cur].parent == r[cur].chat || !i64map_get(by_chat, r[cur].parent, &j))
            break;
        if (np == *pcap) {
            *pcap = *pcap ? *pcap * 2 : 64;
            *path = xrealloc(*path, *pcap * sizeof **path);
        }
        (*path)[np++] = cur;
        cur = j;
    }
    for (size_t k = 0; k < np; k++)
        cache[(*path)[k]] = cur;
    cache[start] = cur;
    return cur;
}

static const struct bl_rec *bl_sort_base;
static int bl_cmp(const void *a, const void *b)
{
    const struct bl_rec *x = &bl_sort_base[*(const uint32_t *)a],
                        *y = &bl_sort_base[*(const uint32_t *)b];
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    if (x->turn != y->turn)
        return x->turn < y->turn ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1; /* stable: file order */
}

int dataset_bailian(struct dataset *ds, const char *path, struct diag *d)
{
    struct lines l;
    int rc = lines_open(&l, path, d);
    if (rc)
        return rc;
    struct bl_rec *recs = NULL;
    size_t nr = 0, rcap = 0, nids = 0, icap = 0;
    int64_t *ids = NULL;
    const char *line;
    size_t n;
    const struct dataset_opts *o = ds->o;
    /* Pass 1: every line (sessions are chains that can span the file, ordered by turn). */
    while ((rc = lines_next(&l, &line, &n)) == 1) {
        struct jiter it;
        struct jval k, v;
        struct bl_rec r = {.parent = -1, .turn = 1, .line = l.s.line, .ids_off = nids};
        unsigned have = 0;
        if (jscan_object(&it, line, n)) {
            rc = json_line_err(&l.s, &it);
            break;
        }
        while ((rc = jscan_member(&it, &k, &v)) == 1)
            if ((rc = bl_parse(&k, &v, &l.s, &r, &have, &ids, &nids, &icap)))
                break;
        if (rc == ERR_PARSE)
            rc = json_line_err(&l.s, &it);
        if (rc < 0)
            break;
        static const char *const req[] = {"chat_id", "timestamp", "input_length", "output_length"};
        for (int b = 0; b < 4 && !rc; b++)
            if (!(have & (1u << b)))
                rc = bad(&l.s, "field '%s' is missing%s", req[b], "");
        if (rc)
            break;
        /* --synthesis-max-isl leaves out longer lines before they are grouped (AIPerf) */
        if (o->syn_max_isl > 0 && r.in > o->syn_max_isl) {
            ds->skipped++;
            ds->skip_why = "with an input_length above --synthesis-max-isl";
            nids = r.ids_off;
            continue;
        }
        if (nr >= UINT32_MAX - 1) {
            rc = bad(&l.s, "%s%s", "more than 2^32 - 2 lines", "");
            break;
        }
        if (nr == rcap) {
            rcap = rcap ? rcap * 2 : 1024;
            recs = xrealloc(recs, rcap * sizeof *recs);
        }
        recs[nr++] = r;
    }
    zr_close(l.zr);
    struct i64map by_chat;
    i64map_init(&by_chat);
    uint32_t *order = NULL, *seen = NULL, *root_group = NULL, *cache = NULL, *walk = NULL;
    size_t pcap = 0;
    struct tw_part *parts = NULL;
    if (rc < 0)
        goto out;
    rc = 0;
    /* Pass 2: chains to sessions. A repeated chat_id names its last line (a Python dict
     * built in file order): filled from the end, as the map keeps the first put. */
    for (uint32_t i = (uint32_t)nr; i-- > 0;)
        i64map_put(&by_chat, recs[i].chat, i);
    seen = xcalloc(nr ? nr : 1, sizeof *seen);
    cache = xmalloc((nr ? nr : 1) * sizeof *cache);
    root_group = xmalloc((nr ? nr : 1) * sizeof *root_group);
    for (uint32_t i = 0; i < nr; i++)
        cache[i] = root_group[i] = UINT32_MAX;
    uint32_t ngroups = 0;
    for (uint32_t i = 0; i < nr; i++) {
        uint32_t root = bl_root(recs, &by_chat, i, cache, seen, i + 1, &walk, &pcap);
        if (root_group[root] == UINT32_MAX) /* sessions in the order their roots appear */
            root_group[root] = ngroups++;
        recs[i].group = root_group[root];
        recs[i].root = recs[root].chat;
    }
    order = xmalloc((nr ? nr : 1) * sizeof *order);
    for (uint32_t i = 0; i < nr; i++)
        order[i] = i;
    bl_sort_base = recs;
    qsort(order, nr, sizeof *order, bl_cmp);
    /* Pass 3: the requests, session by session (the writer orders timed sessions). */
    parts = xmalloc(MAX_PARTS * sizeof *parts);
    char sid[32];
    long turn = 0;
    double first_ts = 0, last_ts = 0;
    for (size_t x = 0; x < nr && !enough(ds); x++) {
        const struct bl_rec *r = &recs[order[x]];
        struct src s = {path, r->line, d};
        if (x == 0 || recs[order[x - 1]].group != r->group) {
            turn = 0; /* the session is named by its root's chat_id, as AIPerf names it */
            snprintf(sid, sizeof sid, "%lld", (long long)r->root);
        }
        if (r->in == 0) {
            rc = bad(&s, "field '%s': must be > 0 to make a prompt%s", "input_length", "");
            break;
        }
        size_t np = 0;
        if ((rc = hash_prompt_ids(ds, r->nids ? ids + r->ids_off : NULL, r->nids, r->in, &s, parts,
                                  &np)))
            break;
        long out = r->out;
        if (o->syn_max_osl > 0 && out > o->syn_max_osl)
            out = o->syn_max_osl;
        struct tw_text t = {parts, np};
        struct tw_request q = {0};
        q.session = sid;
        q.turn = (int)turn;
        q.timed = turn == 0;
        q.t_ms = r->ts_ms;
        if (turn == 0)
            first_ts = r->ts_ms;
        /* later turns: the recorded gap after the previous one, as for mooncake_trace */
        q.delay_ms = turn == 0 ? -1 : r->ts_ms > last_ts ? r->ts_ms - last_ts : 0;
        q.start_ms = first_ts;
        q.model = dataset_model(ds);
        q.texts = &t;
        q.ntexts = 1;
        q.isl = r->in;
        q.max_tokens = o->osl_set ? dataset_osl(&ds->osl_rng, o) : out;
        q.live_history = turn > 0;
        rc = tw_request(ds->w, &q, d);
        dataset_lits_reset(ds);
        if (rc) {
            char why[DIAG_MAX];
            snprintf(why, sizeof why, "%s", d->msg);
            diag_at(d, rc, path, r->line, "%s", why);
            break;
        }
        last_ts = r->ts_ms;
        turn++;
    }
out:
    free(parts);
    free(order);
    free(seen);
    free(cache);
    free(walk);
    free(root_group);
    i64map_free(&by_chat);
    free(recs);
    free(ids);
    return rc < 0 ? rc : 0;
}

/* ---- raw_payload (AIPerf 0.13: whole request bodies sent verbatim) ---- */

/* The lines of one raw_payload file as the turns of sessions: each line its own session
 * (sid NULL: "line-N"), or every line a turn of session sid (a file of a directory). */
static int raw_payload_file(struct dataset *ds, const char *path, const char *sid, struct diag *d)
{
    struct lines l;
    int rc = lines_open(&l, path, d);
    if (rc)
        return rc;
    const char *line;
    size_t n;
    char gen[48];
    int turn = 0;
    while (!enough(ds) && (rc = lines_next(&l, &line, &n)) == 1) {
        struct jiter it;
        struct jval k, v, msgs = {0};
        if (line[0] != '{') {
            rc = bad(&l.s, "raw_payload line must be a JSON object%s%s", "", "");
            break;
        }
        if (jscan_object(&it, line, n)) {
            rc = json_line_err(&l.s, &it);
            break;
        }
        while ((rc = jscan_member(&it, &k, &v)) == 1)
            if (jval_is(&k, "messages") && !msgs.p)
                msgs = v; /* the first, as a JSON parser that keeps the first would */
        if (rc == ERR_PARSE)
            rc = json_line_err(&l.s, &it);
        if (rc < 0)
            break;
        if (!msgs.p || msgs.type != JT_ARRAY) {
            rc =
                bad(&l.s, "field '%s': raw_payload line missing required 'messages' array (got %s)",
                    "messages", msgs.p ? jval_type_name(msgs.type) : "nothing");
            break;
        }
        struct jval body = {.type = JT_OBJECT, .p = line, .n = n};
        struct tw_request q = {0};
        if (!sid)
            line_id(gen, sizeof gen, l.s.line);
        q.session = sid ? sid : gen;
        q.turn = turn;
        q.delay_ms = turn > 0 ? 0 : -1;
        q.isl = json_text_tokens(ds->c->tk, &body, 0);
        raw_payload_fields(&body, &q, -1, ds);
        q.raw_body = line;
        q.raw_body_len = n;
        if ((rc = tw_request(ds->w, &q, d))) {
            char why[DIAG_MAX];
            snprintf(why, sizeof why, "%s", d->msg);
            diag_at(d, rc, l.s.path, l.s.line, "%s", why);
            break;
        }
        if (sid)
            turn++;
    }
    zr_close(l.zr);
    return rc < 0 ? rc : 0;
}

int dataset_raw_payload(struct dataset *ds, const char *path, struct diag *d)
{
    struct stat st;
    if (stat(path, &st))
        return diag_at(d, ERR_IO, path, 0, "%s", strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return raw_payload_file(ds, path, NULL, d);
    /* A directory: each *.jsonl file (sorted by name, as AIPerf's sorted glob) is one
     * conversation, its lines the turns, named by the file's stem. */
    DIR *dir = opendir(path);
    if (!dir)
        return diag_at(d, ERR_IO, path, 0, "%s", strerror(errno));
    char **files = NULL;
    size_t nfiles = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 6, ".jsonl"))
            continue;
        if (nfiles == cap) {
            cap = cap ? cap * 2 : 16;
            files = xrealloc(files, cap * sizeof *files);
        }
        files[nfiles++] = xstrdup(e->d_name);
    }
    closedir(dir);
    qsort(files, nfiles, sizeof *files, name_cmp);
    int rc = 0;
    if (nfiles == 0)
        rc = diag_at(d, ERR_INVALID, path, 0, "no .jsonl files in the directory");
    for (size_t i = 0; i < nfiles && !rc && !enough(ds); i++) {
        struct buf fp;
        buf_init(&fp, 0);
        buf_printf(&fp, "%s/%s", path, files[i]);
        files[i][strlen(files[i]) - 6] = '\0'; /* the stem names the session */
        rc = raw_payload_file(ds, fp.p, files[i], d);
        buf_free(&fp);
    }
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    return rc;
}

/* ---- weka_trace (kv-cache-tester agentic traces, AIPerf 0.13's weka_trace) ---- */

/* One "n" (normal) or "s" (streaming) request of a trace. */
struct wk_req {
    double t, api, think; /* seconds; api/think < 0 when null or absent */
    bool has_think;
    long in, out, line;
    size_t ids_off, nids; /* into the loader's id arena */
    size_t model;         /* index into the trace's distinct models */
};

struct wk_trace {
    struct buf id;
    long block_size, line;
    struct wk_req *req;
    size_t nreq, rcap;
    int64_t *ids;
    size_t nids, icap;
    char **models; /* distinct request models, in order of first appearance */
    size_t nmodels;
    /* "subagent" entries: the line of the first (0: none; refused unless the trace is
     * left out by --max-context-length) and the peak context of their requests. */
    long sub_line, sub_peak;
};

/* The 1-based line of byte p of the file text (errors name it). */
static long wk_line(const char *text, const char *p)
{
    long line = 1;
    for (const char *q = text; q < p; q++)
        line += *q == '\n';
    return line;
}

static int wk_num(const struct jval *v, const struct src *s, const char *key, bool nullable,
                  double *out)
{
    if (nullable && v->type == JT_NULL) {
        *out = -1;
        return 1;
    }
    if (v->type != JT_NUMBER || jval_double(v, out) || !isfinite(*out))
        return bad(s, "field '%s': must be a number%s", key, nullable ? " or null" : "");
    return 0;
}

static int wk_strings(const struct jval *v, const struct src *s, const char *key)
{
    if (v->type != JT_ARRAY)
        return bad(s, "field '%s': must be an array of strings, not %s", key,
                   jval_type_name(v->type));
    struct jiter it;
    struct jval e;
    int rc;
    jscan_enter(&it, v);
    while ((rc = jscan_elem(&it, &e)) == 1)
        if (e.type != JT_STRING)
            return bad(s, "field '%s': %s", key, "must be an array of strings");
    return rc < 0 ? rc : 0;
}

static int wk_subagent(struct wk_trace *tr, const struct jval *obj, const struct src *s);
static void wk_free(struct wk_trace *tr);

/* One request object (AIPerf's models forbid unknown fields; so does this). A subagent's
 * own requests (child) are "n" or "s" only. */
static int wk_request(struct wk_trace *tr, const struct jval *obj, const struct src *s, bool child)
{
    struct jiter it;
    struct jval k, v, type = {0};
    int rc;
    /* the type first: a subagent entry is refused whatever else it holds */
    jscan_enter(&it, obj);
    while ((rc = jscan_member(&it, &k, &v)) == 1)
        if (jval_is(&k, "type"))
            type = v;
    if (rc < 0)
        return rc;
    if (type.type != JT_STRING)
        return bad(s, "field '%s': %s", "type",
                   type.p ? "must be \"n\", \"s\" or \"subagent\"" : "is missing");
    bool streaming = jval_is(&type, "s");
    if (!child && jval_is(&type, "subagent"))
        return wk_subagent(tr, obj, s);
    if (!streaming && !jval_is(&type, "n"))
        return bad(s, "field '%s': %s", "type",
                   child ? "must be \"n\" or \"s\" in a subagent's requests"
                         : "must be \"n\", \"s\" or \"subagent\"");
    struct wk_req r = {.api = -1, .think = -1, .line = s->line, .ids_off = tr->nids};
    unsigned have = 0;
    struct buf model;
    buf_init(&model, 4096);
    int64_t x;
    jscan_enter(&it, obj);
    while (!rc && (rc = jscan_member(&it, &k, &v)) == 1) {
        rc = 0;
        if (jval_is(&k, "type"))
            continue;
        if (jval_is(&k, "t")) {
            have |= 1;
            rc = wk_num(&v, s, "t", false, &r.t);
        } else if (jval_is(&k, "model")) {
            have |= 2;
            if (v.type != JT_STRING || jval_str(&v, &model))
                rc = bad(s, "field '%s': %s", "model", "must be a string");
        } else if (jval_is(&k, "in") || jval_is(&k, "out")) {
            bool in = jval_is(&k, "in");
            have |= in ? 4 : 8;
            if (jval_int(&v, &x) || x < 0)
                rc = bad(s, "field '%s': must be an integer >= 0%s", in ? "in" : "out", "");
            else
                *(in ? &r.in : &r.out) = (long)(x > (1L << 40) ? (1L << 40) : x);
        } else if (jval_is(&k, "hash_ids")) {
            if (v.type != JT_ARRAY) {
                rc = bad(s, "field '%s': must be an array of integers, not %s", "hash_ids",
                         jval_type_name(v.type));
                break;
            }
            struct jiter ai;
            struct jval e;
            jscan_enter(&ai, &v);
            while ((rc = jscan_elem(&ai, &e)) == 1) {
                rc = 0;
                /* ids are local to the trace: kept below 2^40 so each trace gets its own
                 * block namespace (negative ids are metronome's prefix pool) */
                if (jval_int(&e, &x) || x < 0 || x >= ((int64_t)1 << 40)) {
                    rc = bad(s, "field '%s': %s", "hash_ids",
                             "must be an array of integers in 0..2^40-1");
                    break;
                }
                if (r.nids + 2 >= MAX_PARTS) {
                    rc = bad(s, "field '%s': %s", "hash_ids", "too many ids (limit 4094)");
                    break;
                }
                if (tr->nids == tr->icap) {
                    tr->icap = tr->icap ? tr->icap * 2 : 1024;
                    tr->ids = xrealloc(tr->ids, tr->icap * sizeof *tr->ids);
                }
                tr->ids[tr->nids++] = x;
                r.nids++;
            }
        } else if (jval_is(&k, "input_types") || jval_is(&k, "output_types")) {
            rc = wk_strings(&v, s, jval_is(&k, "input_types") ? "input_types" : "output_types");
        } else if (jval_is(&k, "stop")) {
            if (v.type != JT_STRING)
                rc = bad(s, "field '%s': %s", "stop", "must be a string");
        } else if (jval_is(&k, "api_time")) {
            rc = wk_num(&v, s, "api_time", true, &r.api);
            rc = rc > 0 ? 0 : rc;
        } else if (jval_is(&k, "think_time")) {
            rc = wk_num(&v, s, "think_time", true, &r.think);
            r.has_think = rc == 0;
            rc = rc > 0 ? 0 : rc;
        } else if (streaming && jval_is(&k, "ttft")) {
            double ttft;
            rc = wk_num(&v, s, "ttft", true, &ttft);
            rc = rc > 0 ? 0 : rc;
        } else {
            buf_reset(&model);
            jval_str(&k, &model);
            buf_putc(&model, '\0');
            rc = bad(s, "field '%s': %s", model.p ? model.p : "",
                     "not a field of a weka_trace request");
        }
    }
    static const char *const req[] = {"t", "model", "in", "out"};
    for (int b = 0; b < 4 && !rc; b++)
        if (!(have & (1u << b)))
            rc = bad(s, "field '%s' is missing%s", req[b], "");
    if (!rc) {
        buf_putc(&model, '\0');
        size_t m = 0;
        while (m < tr->nmodels && strcmp(tr->models[m], model.p))
            m++;
        if (m == tr->nmodels) {
            tr->models = xrealloc(tr->models, (m + 1) * sizeof *tr->models);
            tr->models[tr->nmodels++] = xstrdup(model.p);
        }
        r.model = m;
        if (tr->nreq == tr->rcap) {
            tr->rcap = tr->rcap ? tr->rcap * 2 : 64;
            tr->req = xrealloc(tr->req, tr->rcap * sizeof *tr->req);
        }
        tr->req[tr->nreq++] = r;
    } else {
        tr->nids = r.ids_off;
    }
    buf_free(&model);
    return rc;
}

/* The max tokens a request asks for, as AIPerf 0.13 sends it: `out`, capped by max_osl
 * when > 0, and 1 for a recorded 0 (a request must ask for one). */
static long wk_max_tokens(long out, long max_osl)
{
    if (max_osl > 0 && out > max_osl)
        out = max_osl;
    return out < 1 ? 1 : out;
}

/* A "subagent" entry. Its requests are checked as a trace's are and their peak context
 * kept (AIPerf's --max-context-length counts them, their max tokens not capped by
 * --synthesis-max-osl, as AIPerf sends a subagent's); the entry itself is refused after
 * the trace is read, unless --max-context-length leaves the whole trace out (wk_file). */
static int wk_subagent(struct wk_trace *tr, const struct jval *obj, const struct src *s)
{
    struct jiter it, ri;
    struct jval k, v, e;
    struct wk_trace sub = {0};
    int rc;
    jscan_enter(&it, obj);
    while ((rc = jscan_member(&it, &k, &v)) == 1) {
        rc = 0;
        if (!jval_is(&k, "requests"))
            continue;
        if (v.type != JT_ARRAY) {
            rc = bad(s, "field '%s': must be an array, not %s", "requests", jval_type_name(v.type));
            break;
        }
        jscan_enter(&ri, &v);
        while ((rc = jscan_elem(&ri, &e)) == 1) {
            rc = e.type == JT_OBJECT
                     ? wk_request(&sub, &e, s, true)
                     : bad(s, "field '%s': %s", "requests", "every entry must be an object");
            if (rc)
                break;
        }
        if (rc)
            break;
    }
    for (size_t i = 0; !rc && i < sub.nreq; i++) {
        long peak = sub.req[i].in + wk_max_tokens(sub.req[i].out, 0);
        tr->sub_peak = peak > tr->sub_peak ? peak : tr->sub_peak;
    }
    if (!rc && !tr->sub_line)
        tr->sub_line = s->line;
    wk_free(&sub);
    return rc;
}

/* AIPerf 0.13's peak context of a trace (what --max-context-length compares): the largest
 * recorded `in` plus max tokens over all its requests, those --synthesis-max-isl leaves
 * out included, and its subagents'. */
static long wk_peak(const struct wk_trace *tr, long max_osl)
{
    long peak = tr->sub_peak;
    for (size_t i = 0; i < tr->nreq; i++) {
        long p = tr->req[i].in + wk_max_tokens(tr->req[i].out, max_osl);
        peak = p > peak ? p : peak;
    }
    return peak;
}

/* Parses one trace file into tr. */
static int wk_parse(struct wk_trace *tr, const char *path, const char *text, size_t n,
                    struct diag *d)
{
    struct src s = {path, 1, d};
    struct jiter it, ri;
    struct jval k, v, e;
    int rc;
    size_t i = 0;
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    s.line = wk_line(text, text + i);
    if (jscan_object(&it, text, n))
        return bad(&s, "%s%s", "not a weka_trace file: the file must be one JSON object", "");
    unsigned have = 0;
    int64_t x;
    while ((rc = jscan_member(&it, &k, &v)) == 1) {
        s.line = wk_line(text, k.p);
        rc = 0;
        if (jval_is(&k, "id")) {
            have |= 1;
            if (v.type != JT_STRING || jval_str(&v, &tr->id))
                return bad(&s, "field '%s': %s", "id", "must be a string");
        } else if (jval_is(&k, "models")) {
            have |= 2;
            rc = wk_strings(&v, &s, "models");
        } else if (jval_is(&k, "block_size")) {
            have |= 4;
            if (jval_int(&v, &x) || x <= 0 || x > (1 << 20))
                return bad(&s, "field '%s': %s", "block_size", "must be an integer in 1..2^20");
            tr->block_size = (long)x;
        } else if (jval_is(&k, "hash_id_scope")) {
            have |= 8;
            if (!jval_is(&v, "local"))
                return bad(&s, "field '%s': %s", "hash_id_scope",
                           "must be \"local\" (AIPerf 0.13 supports no other scope)");
        } else if (jval_is(&k, "tool_tokens") || jval_is(&k, "system_tokens")) {
            if (jval_int(&v, &x) || x < 0)
                return bad(&s, "field '%s': must be an integer >= 0%s",
                           jval_is(&k, "tool_tokens") ? "tool_tokens" : "system_tokens", "");
        } else if (jval_is(&k, "totals")) {
            if (v.type != JT_OBJECT && v.type != JT_NULL)
                return bad(&s, "field '%s': %s", "totals", "must be an object or null");
        } else if (jval_is(&k, "requests")) {
            have |= 16;
            if (v.type != JT_ARRAY)
                return bad(&s, "field '%s': must be an array, not %s", "requests",
                           jval_type_name(v.type));
            jscan_enter(&ri, &v);
            const char *at = text;
            long line = 1;
            while ((rc = jscan_elem(&ri, &e)) == 1) {
                line += (long)(wk_line(at, e.p) - 1); /* counted once, forward */
                at = e.p;
                s.line = line;
                if (e.type != JT_OBJECT)
                    return bad(&s, "field '%s': %s", "requests", "every entry must be an object");
                if ((rc = wk_request(tr, &e, &s, false)))
                    return rc;
            }
            if (rc < 0)
                return rc;
        } else {
            struct buf kb;
            buf_init(&kb, 4096);
            jval_str(&k, &kb);
            buf_putc(&kb, '\0');
            rc = bad(&s, "field '%s': %s", kb.p ? kb.p : "", "not a field of a weka_trace file");
            buf_free(&kb);
            return rc;
        }
        if (rc)
            return rc;
    }
    if (rc < 0) {
        s.line = wk_line(text, text + it.err_off);
        return bad(&s, "malformed JSON: %s%s", it.err ? it.err : "bad value", "");
    }
    static const char *const req[] = {"id", "models", "block_size", "hash_id_scope", "requests"};
    s.line = 1;
    for (int b = 0; b < 5; b++)
        if (!(have & (1u << b)))
            return bad(&s, "field '%s' is missing%s", req[b], "");
    buf_putc(&tr->id, '\0');
    return 0;
}

/* AIPerf's _IdleGapTimeWarp over one trace's request starts: each gap between
 * consecutive starts (sorted) above cap keeps cap seconds; later starts shift left by
 * the excess. Requests are the only events here (no subagents), so each maps to its
 * start minus the excess of the gaps that end at or before it. */
static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void wk_warp(const struct wk_trace *tr, const bool *keep, double cap, double *mapped)
{
    double *st = xmalloc((tr->nreq ? tr->nreq : 1) * sizeof *st);
    size_t n = 0;
    for (size_t i = 0; i < tr->nreq; i++)
        if (keep[i])
            st[n++] = tr->req[i].t;
    qsort(st, n, sizeof *st, dbl_cmp);
    for (size_t i = 0; i < tr->nreq; i++) {
        double t = tr->req[i].t, shift = 0;
        for (size_t g = 1; g < n && st[g] <= t; g++)
            if (st[g] - st[g - 1] > cap)
                shift += st[g] - st[g - 1] - cap;
        mapped[i] = t - shift;
    }
    free(st);
}

/* Writes one parsed trace as a session. */
static int wk_emit(struct dataset *ds, struct wk_trace *tr, uint32_t index, const char *path,
                   struct tw_part *parts, struct diag *d)
{
    const struct dataset_opts *o = ds->o;
    bool *keep = xmalloc((tr->nreq ? tr->nreq : 1) * sizeof *keep);
    double *mapped = xmalloc((tr->nreq ? tr->nreq : 1) * sizeof *mapped);
    /* --synthesis-max-isl leaves requests out before anything is timed (AIPerf's
     * _request_passes_filters) */
    for (size_t i = 0; i < tr->nreq; i++) {
        keep[i] = !(o->syn_max_isl > 0 && tr->req[i].in > o->syn_max_isl);
        if (!keep[i]) {
            ds->skipped++;
            ds->skip_why = "with an 'in' above --synthesis-max-isl";
        }
    }
    /* AIPerf 0.13 splits a trace into agent chains (weka_agent_chains): a request that
     * does not extend the chain so far (same model, its hash_ids starting with all of the
     * previous request's, sent after that one ended) becomes another conversation,
     * spawned and joined by the parent. metronome replays one chain per trace: anything
     * else is refused rather than replayed with the wrong shape. */
    const struct wk_req *last = NULL;
    for (size_t i = 0; i < tr->nreq; i++) {
        if (!keep[i])
            continue;
        const struct wk_req *r = &tr->req[i];
        struct src s = {path, r->line, d};
        const char *why = NULL;
        if (last && last->model != r->model)
            why = "'model' differs from the previous request's";
        else if (last && (last->nids == 0 || r->nids < last->nids ||
                          memcmp(tr->ids + last->ids_off, tr->ids + r->ids_off,
                                 last->nids * sizeof *tr->ids)))
            why = "'hash_ids' do not start with all of the previous request's";
        else if (last && r->t + 1e-6 < last->t + (last->api > 0 ? last->api : 0))
            why = "'t' is before the previous request ended (its t + api_time)";
        if (why) {
            free(keep);
            free(mapped);
            return diag_at(d, ERR_UNSUPPORTED, s.path, s.line,
                           "not supported yet: %s; AIPerf 0.13 replays such a request as "
                           "another agent conversation spawned by this trace",
                           why);
        }
        last = r;
    }
    bool warp = o->wk_idle_gap_cap_s >= 0;
    if (warp)
        wk_warp(tr, keep, o->wk_idle_gap_cap_s, mapped);
    int rc = 0;
    int turn = 0;
    const struct wk_req *prev = NULL;
    double prev_t = 0;
    long bs = tr->block_size;
    for (size_t i = 0; i < tr->nreq && !rc && !enough(ds); i++) {
        if (!keep[i])
            continue;
        const struct wk_req *r = &tr->req[i];
        struct src s = {path, r->line, d};
        if (r->in == 0) {
            rc = bad(&s, "field '%s': must be > 0 to make a prompt%s", "in", "");
            break;
        }
        /* The delay after the previous reply, in ms (AIPerf's Turn.delay): the idle gap
         * t_k - (t_{k-1} + api_{k-1}), at least 0; --use-think-time-only takes the recorded
         * think_time instead where there is one; --trace-idle-gap-cap-seconds takes the
         * gap on the compressed timeline (think times and the per-turn cap then unused). */
        double t = warp ? mapped[i] : r->t, delay = -1;
        if (prev && !o->wk_ignore_delays) {
            double api = prev->api > 0 ? prev->api * 1000.0 : 0;
            if (!warp && o->wk_think_only && r->has_think)
                delay = r->think * 1000.0;
            else
                delay = (t - prev_t) * 1000.0 - api > 0 ? (t - prev_t) * 1000.0 - api : 0;
            if (!warp)
                delay = delay_capped(o, delay);
            if (delay < 0)
                delay = 0;
        }
        /* The prompt: the blocks the request's hash_ids cover (at most in / block_size of
         * them), then corpus text for the rest of its `in` tokens. */
        size_t cover = (size_t)(r->in / bs) < r->nids ? (size_t)(r->in / bs) : r->nids;
        size_t np = 0;
        for (size_t b = 0; b < cover && !rc; b++) {
            int64_t id = ((int64_t)index << 40) | tr->ids[r->ids_off + b];
            rc = dataset_block(ds, id, bs, path, r->line, d);
            parts[np].kind = TW_BLOCK;
            parts[np++].id = id;
        }
        if (rc)
            break;
        long tail = r->in - (long)cover * bs;
        if (tail > 0)
            np += dataset_window(ds, &ds->corpus_rng, tail, parts + np);
        /* AIPerf's model map: the trace's first request model is --model-names' first,
         * the others follow in order of first appearance, wrapping around */
        const char *model = o->models[r->model % o->nmodels];
        long out = r->out;
        if (o->syn_max_osl > 0 && out > o->syn_max_osl)
            out = o->syn_max_osl;
        struct tw_text txt = {parts, np};
        struct tw_request q = {0};
        q.session = tr->id.p;
        q.turn = turn;
        q.delay_ms = delay;
        q.model = model;
        q.texts = &txt;
        q.ntexts = 1;
        q.isl = r->in;
        q.max_tokens = o->osl_set ? dataset_osl(&ds->osl_rng, o)
                       : out < 1  ? 1 /* AIPerf sends 1 for a recorded 0 */
                                  : out;
        rc = tw_request(ds->w, &q, d);
        dataset_lits_reset(ds);
        if (rc) {
            char why[DIAG_MAX];
            snprintf(why, sizeof why, "%s", d->msg);
            diag_at(d, rc, path, r->line, "%s", why);
            break;
        }
        prev = r;
        prev_t = t;
        turn++;
    }
    free(keep);
    free(mapped);
    return rc;
}

static void wk_free(struct wk_trace *tr)
{
    buf_free(&tr->id);
    free(tr->req);
    free(tr->ids);
    for (size_t i = 0; i < tr->nmodels; i++)
        free(tr->models[i]);
    free(tr->models);
    memset(tr, 0, sizeof *tr);
}

static int wk_file(struct dataset *ds, const char *path, uint32_t index, struct buf *seen,
                   struct tw_part *parts, struct diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return diag_at(d, ERR_IO, path, 0, "%s", strerror(errno));
    struct buf text;
    buf_init(&text, (size_t)1 << 30);
    char chunk[65536];
    size_t got;
    int rc = 0;
    while (!rc && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(&text, chunk, got))
            rc = diag_at(d, ERR_INVALID, path, 0, "larger than 1 GiB");
    if (!rc && ferror(f))
        rc = diag_at(d, ERR_IO, path, 0, "%s", strerror(errno));
    fclose(f);
    struct wk_trace tr = {0};
    buf_init(&tr.id, 4096);
    if (!rc)
        rc = wk_parse(&tr, path, text.p ? text.p : "", text.len, d);
    if (!rc) {
        /* AIPerf refuses a trace id that a previous file of the directory used */
        for (size_t off = 0; off < seen->len; off += strlen(seen->p + off) + 1)
            if (!strcmp(seen->p + off, tr.id.p)) {
                rc = diag_at(d, ERR_INVALID, path, 1, "field 'id': duplicate trace id '%s'",
                             tr.id.p);
                break;
            }
        buf_append(seen, tr.id.p, strlen(tr.id.p) + 1);
    }
    /* --max-context-length: a trace over it is left out whole, before it is asked to be
     * one agent chain (AIPerf filters the traces it loaded, then converts the rest) */
    bool drop = false;
    if (!rc) {
        long peak = wk_peak(&tr, ds->o->syn_max_osl);
        if (ds->wk_dropped + ds->wk_kept == 0 || peak < ds->wk_peak_min)
            ds->wk_peak_min = peak;
        if (peak > ds->wk_peak_max)
            ds->wk_peak_max = peak;
        drop = ds->o->wk_max_ctx > 0 && peak > ds->o->wk_max_ctx;
        *(drop ? &ds->wk_dropped : &ds->wk_kept) += 1;
    }
    if (!rc && !drop && tr.sub_line)
        rc = diag_at(d, ERR_UNSUPPORTED, path, tr.sub_line,
                     "field 'type': \"subagent\" entries are not supported yet (AIPerf 0.13 "
                     "replays them as child conversations spawned and joined by the parent)");
    if (!rc && !drop)
        rc = wk_emit(ds, &tr, index, path, parts, d);
    wk_free(&tr);
    buf_free(&text);
    return rc;
}

int dataset_weka(struct dataset *ds, const char *path, struct diag *d)
{
    struct stat st;
    if (stat(path, &st))
        return diag_at(d, ERR_IO, path, 0, "%s", strerror(errno));
    struct tw_part *parts = xmalloc(MAX_PARTS * sizeof *parts);
    struct buf seen;
    buf_init(&seen, 0);
    int rc = 0;
    if (!S_ISDIR(st.st_mode)) {
        rc = wk_file(ds, path, 0, &seen, parts, d);
    } else {
        /* a directory: its *.json files, sorted by name (AIPerf's sorted glob) */
        DIR *dir = opendir(path);
        if (!dir) {
            free(parts);
            return diag_at(d, ERR_IO, path, 0, "%s", strerror(errno));
        }
        char **files = NULL;
        size_t nfiles = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(dir))) {
            size_t len = strlen(e->d_name);
            if (len < 5 || strcmp(e->d_name + len - 5, ".json"))
                continue;
            if (nfiles == cap) {
                cap = cap ? cap * 2 : 16;
                files = xrealloc(files, cap * sizeof *files);
            }
            files[nfiles++] = xstrdup(e->d_name);
        }
        closedir(dir);
        qsort(files, nfiles, sizeof *files, name_cmp);
        if (nfiles == 0)
            rc = diag_at(d, ERR_INVALID, path, 0, "no .json files in the directory");
        if (nfiles >= ((size_t)1 << 22))
            rc = diag_at(d, ERR_INVALID, path, 0, "more than 2^22 trace files");
        /* --num-dataset-entries: the first N traces that pass (AIPerf's filter-then-cap:
         * a trace left out takes no place) */
        for (size_t i = 0; i < nfiles && !rc && !enough(ds) &&
                           !(ds->o->wk_entries > 0 && ds->wk_kept >= ds->o->wk_entries);
             i++) {
            struct buf fp;
            buf_init(&fp, 0);
            buf_printf(&fp, "%s/%s", path, files[i]);
            rc = wk_file(ds, fp.p, (uint32_t)i, &seen, parts, d);
            buf_free(&fp);
        }
        for (size_t i = 0; i < nfiles; i++)
            free(files[i]);
        free(files);
    }
    buf_free(&seen);
    free(parts);
    /* AIPerf 0.13 stops with an error when no trace is left, naming the smallest peak */
    if (!rc && ds->wk_kept == 0 && ds->wk_dropped > 0)
        rc = diag_at(d, ERR_INVALID, path, 0,
                     "no trace left: the peak context (in + max tokens) of %s%ld trace%s is "
                     "above --max-context-length %ld; the smallest is %ld "
                     "(--max-context-length %ld keeps that trace)",
                     ds->wk_dropped > 1 ? "each of the " : "the ", ds->wk_dropped,
                     ds->wk_dropped > 1 ? "s" : "", ds->o->wk_max_ctx, ds->wk_peak_min,
                     ds->wk_peak_min);
    return rc;
}

/* ---- ShareGPT ---- */

static long line_of(const char *base, size_t off)
{
    long line = 1;
    for (size_t i = 0; i < off; i++)
        if (base[i] == '\n')
            line++;
    return line;
}

/* The whole ShareGPT file (hundreds of MB, one JSON array): a plain file is mapped, so its
 * pages are the page cache's and not copied; a compressed one is read into memory. */
static int map_input(const char *path, char **data, size_t *len, bool *mapped, struct diag *d)
{
    *mapped = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return diag_at(d, ERR_IO, path, 0, "%s", strerror(errno));
    struct stat st;
    unsigned char magic[4] = {0};
    bool zstd = pread(fd, magic, 4, 0) == 4 && magic[0] == 0x28 && magic[1] == 0xB5 &&
                magic[2] == 0x2F && magic[3] == 0xFD;
    if (!zstd && fstat(fd, &st) == 0 && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p == MAP_FAILED)
            return diag_at(d, ERR_IO, path, 0, "cannot map: %s", strerror(errno));
        *data = p;
        *len = (size_t)st.st_size;
        *mapped = true;
        return 0;
    }
    close(fd);
    return zio_read_all(path, (size_t)4 << 30, data, len, d);
}

int dataset_sharegpt(struct dataset *ds, const char *path, struct diag *d)
{
    char *data;
    size_t len;
    bool mapped;
    int rc = map_input(path, &data, &len, &mapped, d);
    if (rc)
        return rc;
    struct jiter it;
    struct jval e;
    struct buf prompt, completion;
    buf_init(&prompt, 0);
    buf_init(&completion, 0);
    const struct tokenizer *tk = ds->c->tk;
    const struct dataset_opts *o = ds->o;
    char sid[48];
    long index = 0;
    if (jscan_array(&it, data, len)) {
        rc = diag_at(d, ERR_PARSE, path, line_of(data, it.err_off),
                     "not a ShareGPT file: the top level must be a JSON array");
        goto out;
    }
    while (!enough(ds) && (rc = jscan_elem(&it, &e)) == 1) {
        rc = 0;
        /* Lines are counted only for a message: counting them per entry would rescan the
         * file from its start every time. */
        long line = 0;
        if (e.type != JT_OBJECT) {
            line = line_of(data, (size_t)(e.p - data));
            rc = diag_at(d, ERR_INVALID, path, line, "entry %ld: must be an object, not %s", index,
                         jval_type_name(e.type));
            break;
        }
        struct jiter ot, ct;
        struct jval k, v, conv = {0}, m;
        bool has_conv = false;
        jscan_enter(&ot, &e);
        while (jscan_member(&ot, &k, &v) == 1)
            if (jval_is(&k, "conversations")) {
                conv = v;
                has_conv = true;
            }
        index++;
        if (!has_conv || conv.type != JT_ARRAY) {
            line = line_of(data, (size_t)(e.p - data));
            rc = diag_at(d, ERR_INVALID, path, line, "entry %ld: '%s' must be an array", index - 1,
                         "conversations");
            break;
        }
        /* Only the first exchange is used and roles are not checked, as AIPerf does. */
        buf_reset(&prompt);
        buf_reset(&completion);
        int got = 0;
        jscan_enter(&ct, &conv);
        while (got < 2 && jscan_elem(&ct, &m) == 1) {
            struct jiter mt;
            struct jval mk, mv;
            bool found = false;
            if (m.type == JT_OBJECT) {
                jscan_enter(&mt, &m);
                while (jscan_member(&mt, &mk, &mv) == 1)
                    if (jval_is(&mk, "value") && mv.type == JT_STRING) {
                        jval_str(&mv, got == 0 ? &prompt : &completion);
                        found = true;
                    }
            }
            if (!found) {
                rc = diag_at(d, ERR_INVALID, path, line_of(data, (size_t)(m.p - data)),
                             "entry %ld: every message needs a string 'value'", index - 1);
                break;
            }
            got++;
        }
        if (rc)
            break;
        if (got < 2) {
            ds->skipped++;
            continue;
        }
        long pl = (long)tokenizer_count(tk, prompt.p, prompt.len);
        long cl = (long)tokenizer_count(tk, completion.p, completion.len);
        if (pl < o->sg_min_prompt || pl > o->sg_max_prompt ||
            (!o->osl_set && cl < o->sg_min_completion) || pl + cl > o->sg_max_total) {
            ds->skipped++;
            continue;
        }
        struct tw_part p = {.kind = TW_LIT, .s = prompt.p, .n = prompt.len};
        struct tw_text t = {&p, 1};
        struct tw_request q = {0};
        snprintf(sid, sizeof sid, "sharegpt-%ld", index - 1);
        q.session = sid;
        q.delay_ms = -1;
        q.model = dataset_model(ds);
        q.texts = &t;
        q.ntexts = 1;
        q.isl = pl;
        q.max_tokens = o->osl_set ? dataset_osl(&ds->osl_rng, o) : cl;
        if ((rc = tw_request(ds->w, &q, d)))
            break;
    }
    if (rc == ERR_PARSE)
        rc = diag_at(d, ERR_PARSE, path, line_of(data, it.err_off), "malformed JSON: %s",
                     it.err ? it.err : "bad value");
    ds->skip_why = "outside the ShareGPT length filters or with fewer than 2 messages";
out:
    buf_free(&prompt);
    buf_free(&completion);
    if (mapped)
        munmap(data, len);
    else
        free(data);
    return rc < 0 ? rc : 0;
}

/* ---- CSV traces ---- */

enum csv_col { COL_TS, COL_IN, COL_OUT, NCOLS };

struct csvstate {
    struct dataset *ds;
    const char *path;
    bool azure;
    struct diag *d;
    int rc;
    long line; /* rows seen, 1-based: the header is line 1 */
    int col[NCOLS];
    struct buf fields; /* current row's fields, NUL-separated */
    size_t *foff;
    size_t nf, fcap;
    bool have_first;
    double first_ms, last_ms;
    struct tw_part parts[2];
};

static const char *const azure_names[NCOLS] = {"TIMESTAMP", "ContextTokens", "GeneratedTokens"};
static const char *const burst_names[NCOLS] = {"Timestamp", "Request tokens", "Response tokens"};

static void csv_field(void *s, size_t n, void *data)
{
    struct csvstate *c = data;
    if (c->nf == c->fcap) {
        c->fcap = c->fcap ? c->fcap * 2 : 16;
        c->foff = xrealloc(c->foff, c->fcap * sizeof *c->foff);
    }
    c->foff[c->nf++] = c->fields.len;
    buf_append(&c->fields, s ? s : "", s ? n : 0);
    buf_putc(&c->fields, '\0');
}

static const char *field(const struct csvstate *c, int i)
{
    return c->fields.p + c->foff[i];
}

/* "2023-11-16 18:15:46.6805900" (Azure's format; a 'T' separator works too) -> ms since
 * the epoch, UTC. */
static int parse_datetime(const char *s, double *ms)
{
    int y, mo, dd, h, mi, n = 0;
    double sec;
    char sep;
    if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%lf%n", &y, &mo, &dd, &sep, &h, &mi, &sec, &n) != 7 ||
        (sep != ' ' && sep != 'T') || mo < 1 || mo > 12 || dd < 1 || dd > 31 || h > 23 || mi > 59 ||
        sec < 0 || sec >= 61)
        return ERR_INVALID;
    while (s[n] == ' ' || s[n] == 'Z')
        n++;
    if (s[n])
        return ERR_INVALID;
    /* Days from civil (proleptic Gregorian). */
    int yy = mo <= 2 ? y - 1 : y;
    long era = (yy >= 0 ? yy : yy - 399) / 400;
    long yoe = yy - era * 400;
    long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long days = era * 146097 + doe - 719468;
    *ms = ((double)days * 86400 + h * 3600 + mi * 60 + sec) * 1000;
    return 0;
}

static int parse_count(const char *s, long *out)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (errno || end == s || *end || x < 0 || x != floor(x) || x > 1e12)
        return ERR_INVALID;
    *out = (long)x;
    return 0;
}

/* BurstGPT's Timestamp: seconds (a number >= 0) -> ms. */
static int parse_seconds(const char *s, double *ms)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (errno || end == s || *end || !(x >= 0) || !isfinite(x))
        return ERR_INVALID;
    *ms = x * 1000;
    return 0;
}

static void csv_row(int term, void *data)
{
    (void)term;
    struct csvstate *c = data;
    c->line++;
    if (c->rc) {
        c->nf = 0;
        buf_reset(&c->fields);
        return;
    }
    const char *const *names = c->azure ? azure_names : burst_names;
    if (c->line == 1) {
        for (int k = 0; k < NCOLS; k++) {
            c->col[k] = -1;
            for (size_t i = 0; i < c->nf; i++) {
                const char *f = field(c, (int)i);
                if (i == 0 && !strncmp(f, "\xEF\xBB\xBF", 3))
                    f += 3; /* a UTF-8 byte order mark */
                while (*f == ' ')
                    f++;
                size_t fl = strlen(f);
                while (fl && f[fl - 1] == ' ')
                    fl--;
                if (fl == strlen(names[k]) && !strncasecmp(f, names[k], fl))
                    c->col[k] = (int)i;
            }
            if (c->col[k] < 0) {
                c->rc = diag_at(c->d, ERR_INVALID, c->path, 1,
                                "missing column '%s' (%s needs %s, %s, %s)", names[k],
                                c->azure ? "azure_trace" : "burst_gpt_trace", names[0], names[1],
                                names[2]);
                break;
            }
        }
    } else if (!(c->nf == 1 && field(c, 0)[0] == '\0')) {
        struct dataset *ds = c->ds;
        long in = 0, out = 0;
        double ms = 0;
        int need = c->col[COL_TS] > c->col[COL_IN] ? c->col[COL_TS] : c->col[COL_IN];
        if (c->col[COL_OUT] > need)
            need = c->col[COL_OUT];
        if ((int)c->nf <= need) {
            c->rc = diag_at(c->d, ERR_INVALID, c->path, c->line,
                            "row has %zu columns, the header has more", c->nf);
        } else if (c->azure ? parse_datetime(field(c, c->col[COL_TS]), &ms)
                            : parse_seconds(field(c, c->col[COL_TS]), &ms)) {
            c->rc = diag_at(c->d, ERR_INVALID, c->path, c->line, "column '%s': '%s' is not a %s",
                            names[COL_TS], field(c, c->col[COL_TS]),
                            c->azure ? "date-time (YYYY-MM-DD HH:MM:SS.fff)" : "number >= 0");
        } else if (parse_count(field(c, c->col[COL_IN]), &in)) {
            c->rc = diag_at(c->d, ERR_INVALID, c->path, c->line,
                            "column '%s': '%s' is not an integer >= 0", names[COL_IN],
                            field(c, c->col[COL_IN]));
        } else if (parse_count(field(c, c->col[COL_OUT]), &out)) {
            c->rc = diag_at(c->d, ERR_INVALID, c->path, c->line,
                            "column '%s': '%s' is not an integer >= 0", names[COL_OUT],
                            field(c, c->col[COL_OUT]));
        } else {
            if (!c->have_first) {
                c->have_first = true;
                c->first_ms = c->last_ms = ms;
            }
            /* BurstGPT's seconds already count from the trace start (AIPerf keeps them);
             * Azure's are dates, so they count from the first row, which must then be the
             * earliest. Later rows may be out of order: the writer sorts them. */
            double t0 = c->azure ? c->first_ms : 0;
            if (ms < t0) {
                c->rc = diag_at(c->d, ERR_INVALID, c->path, c->line,
                                "%s is earlier than the first row's; times count from the first "
                                "row, so it must be the earliest (sort the file by %s)",
                                names[COL_TS], names[COL_TS]);
            } else if (in == 0) {
                ds->skipped++; /* nothing to send: failed requests in BurstGPT have no prompt */
            } else if (!enough(ds)) {
                c->last_ms = ms;
                size_t np = dataset_window(ds, &ds->corpus_rng, in, c->parts);
                struct tw_text t = {c->parts, np};
                char sid[48];
                snprintf(sid, sizeof sid, "row-%ld", c->line);
                struct tw_request q = {0};
                q.session = sid;
                q.timed = true;
                q.t_ms = round((ms - t0) * 1000) / 1000;
                q.start_ms = q.t_ms;
                q.delay_ms = -1;
                q.model = dataset_model(ds);
                q.texts = &t;
                q.ntexts = 1;
                q.isl = in;
                q.max_tokens = ds->o->osl_set ? dataset_osl(&ds->osl_rng, ds->o)
                               : out > 0      ? out
                                              : -1;
                c->rc = tw_request(ds->w, &q, c->d);
                dataset_lits_reset(ds);
            }
        }
    }
    c->nf = 0;
    buf_reset(&c->fields);
}

int dataset_csv(struct dataset *ds, const char *path, const char *kind, struct diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return diag_at(d, ERR_IO, path, 0, "%s", strerror(errno));
    struct csv_parser p;
    if (csv_init(&p, CSV_APPEND_NULL)) {
        fclose(f);
        return diag_at(d, ERR_IO, path, 0, "cannot start the CSV parser");
    }
    struct csvstate c = {0};
    c.ds = ds;
    c.path = path;
    c.azure = !strcmp(kind, "azure");
    c.d = d;
    buf_init(&c.fields, 1 << 20);
    char *chunk = xmalloc(1 << 16);
    size_t k;
    while (!c.rc && (k = fread(chunk, 1, 1 << 16, f)) > 0) {
        if (csv_parse(&p, chunk, k, csv_field, csv_row, &c) != k && !c.rc)
            c.rc = diag_at(d, ERR_PARSE, path, c.line + 1, "malformed CSV: %s",
                           csv_strerror(csv_error(&p)));
    }
    if (!c.rc && ferror(f))
        c.rc = diag_at(d, ERR_IO, path, 0, "read error: %s", strerror(errno));
    if (!c.rc)
        csv_fini(&p, csv_field, csv_row, &c);
    if (!c.rc && c.line == 0)
        c.rc = diag_at(d, ERR_INVALID, path, 0, "empty file: no CSV header");
    csv_free(&p);
    fclose(f);
    free(chunk);
    free(c.foff);
    buf_free(&c.fields);
    ds->skip_why = "with no prompt tokens";
    return c.rc;
}
