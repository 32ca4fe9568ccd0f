/* Where --tokenizer's file comes from: a path, or the local Hugging Face caches. */
#include "tok_lookup.h"

#include "buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void tok_env_from_process(struct tok_env *env)
{
    env->hf_hub_cache = getenv("HF_HUB_CACHE");
    env->huggingface_hub_cache = getenv("HUGGINGFACE_HUB_CACHE");
    env->hf_home = getenv("HF_HOME");
    env->xdg_cache_home = getenv("XDG_CACHE_HOME");
    env->home = getenv("HOME");
}

static bool set(const char *s)
{
    return s && *s;
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A Hugging Face repository id as the hub allows them: NAME or ORG/NAME, each of
 * [A-Za-z0-9._-], not starting with '.' or '-', no "..", no "--" (the cache uses "--" as
 * its separator). */
static bool hub_name(const char *s)
{
    if (strlen(s) > 200)
        return false;
    int slashes = 0;
    size_t seg = 0;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '/') {
            if (seg == 0 || ++slashes > 1)
                return false;
            seg = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok || (seg == 0 && (c == '.' || c == '-')))
            return false;
        if ((c == '.' || c == '-') && p > s && p[-1] == c)
            return false;
        seg++;
    }
    return seg > 0;
}

/* A revision: a branch, tag, "refs/pr/N" or commit; no "..", no leading '/', no control
 * bytes, no empty path component (it becomes a path under refs/ and snapshots/). */
static bool revision_ok(const char *r)
{
    if (!*r || *r == '/' || strstr(r, "..") || strstr(r, "//") || r[strlen(r) - 1] == '/')
        return false;
    for (const unsigned char *p = (const unsigned char *)r; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            return false;
    return strlen(r) < 200;
}

static bool is_commit(const char *s)
{
    if (strlen(s) != 40)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* Reads the commit a refs/ file names (one line of 40 hex digits). */
static bool read_ref(const char *path, char commit[64])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char line[128];
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    if (!is_commit(line))
        return false;
    snprintf(commit, 64, "%s", line);
    return true;
}

/* Looks in one cache: 1 found (out->path, out->commit), 0 not there with *why saying
 * what was missing. */
static int look_in(const char *cache, const char *name, const char *rev, struct tok_found *out,
                   struct buf *why)
{
    char repo[TOK_PATH_MAX], p[TOK_PATH_MAX];
    /* models--ORG--NAME: huggingface_hub's repo_folder_name */
    char folder[600];
    size_t fl = (size_t)snprintf(folder, sizeof folder, "models--");
    for (const char *c = name; *c && fl + 3 < sizeof folder; c++) {
        if (*c == '/')
            folder[fl++] = '-', folder[fl++] = '-';
        else
            folder[fl++] = *c;
    }
    folder[fl] = '\0';
    if ((size_t)snprintf(repo, sizeof repo, "%s/%s", cache, folder) >= sizeof repo) {
        buf_printf(why, "%s/%s (path too long)", cache, folder);
        return 0;
    }
    if (!is_dir(repo)) {
        buf_printf(why, "%s (absent)", repo);
        return 0;
    }
    char commit[64] = "";
    if (is_commit(rev)) {
        snprintf(commit, sizeof commit, "%s", rev);
    } else {
        snprintf(p, sizeof p, "%s/refs/%s", repo, rev);
        if (!read_ref(p, commit)) {
            /* huggingface_hub also takes a snapshot directory named as asked */
            snprintf(p, sizeof p, "%s/snapshots/%s", repo, rev);
            if (!is_dir(p)) {
                buf_printf(why, "%s/refs/%s (absent or not a commit hash)", repo, rev);
                return 0;
            }
            snprintf(commit, sizeof commit, "%.63s", rev);
        }
    }
    if ((size_t)snprintf(p, sizeof p, "%s/snapshots/%s/tokenizer.json", repo, commit) >= sizeof p) {
        buf_printf(why, "%s/snapshots/%s (path too long)", repo, commit);
        return 0;
    }
    if (!is_file(p)) {
        buf_printf(why, "%s (absent)", p);
        return 0;
    }
    snprintf(out->path, sizeof out->path, "%s", p);
    snprintf(out->commit, sizeof out->commit, "%s", commit);
    return 1;
}

int tok_lookup(const char *spec, const char *revision, const struct tok_env *env,
               struct tok_found *out, struct diag *d)
{
    memset(out, 0, sizeof *out);
    const char *rev = revision ? revision : "main";
    if (!spec || !*spec)
        return diag_set(d, ERR_INVALID,
                        "--tokenizer: empty value (a tokenizer.json, a "
                        "directory holding one, a Hugging Face name or builtin)");
    if (!revision_ok(rev))
        return diag_set(d, ERR_INVALID,
                        "--tokenizer-revision '%s': not a branch, tag or commit name", rev);
    if (!strcmp(spec, "builtin")) {
        out->kind = TOK_BUILTIN;
        snprintf(out->name, sizeof out->name, "builtin");
        return 0;
    }
    snprintf(out->name, sizeof out->name, "%s", spec);
    snprintf(out->revision, sizeof out->revision, "%s", rev);

    /* A path on disk wins over a hub name of the same spelling, as in transformers. */
    struct stat st;
    if (stat(spec, &st) == 0) {
        if (revision && strcmp(revision, "main"))
            return diag_set(d, ERR_INVALID,
                            "--tokenizer-revision %s: only for a Hugging Face name, and %s is a "
                            "local path",
                            revision, spec);
        out->kind = TOK_FILE;
        out->revision[0] = '\0';
        if (S_ISDIR(st.st_mode)) {
            if ((size_t)snprintf(out->path, sizeof out->path, "%s/tokenizer.json", spec) >=
                sizeof out->path)
                return diag_set(d, ERR_INVALID, "--tokenizer: path too long");
            if (!is_file(out->path))
                return diag_set(d, ERR_IO,
                                "--tokenizer %s: a directory without tokenizer.json (only "
                                "tokenizer.json files are read; no tokenizer.model, vocab.txt or "
                                "Python code)",
                                spec);
            return 0;
        }
        if (!S_ISREG(st.st_mode))
            return diag_set(d, ERR_IO, "--tokenizer %s: not a regular file", spec);
        snprintf(out->path, sizeof out->path, "%s", spec);
        return 0;
    }
    int path_errno = errno;
    if (!hub_name(spec))
        return diag_set(d, ERR_IO, "--tokenizer %s: %s (and not a Hugging Face name ORG/NAME)",
                        spec, strerror(path_errno));

    /* The caches, in huggingface_hub's order of precedence, each once. */
    char cands[5][TOK_PATH_MAX];
    int nc = 0;
    char tmp[TOK_PATH_MAX];
    const char *c[5] = {NULL, NULL, NULL, NULL, NULL};
    if (set(env->hf_hub_cache))
        c[0] = env->hf_hub_cache;
    if (set(env->huggingface_hub_cache))
        c[1] = env->huggingface_hub_cache;
    if (set(env->hf_home)) {
        snprintf(cands[2], sizeof cands[2], "%s/hub", env->hf_home);
        c[2] = cands[2];
    }
    if (set(env->xdg_cache_home)) {
        snprintf(cands[3], sizeof cands[3], "%s/huggingface/hub", env->xdg_cache_home);
        c[3] = cands[3];
    }
    if (set(env->home)) {
        snprintf(cands[4], sizeof cands[4], "%s/.cache/huggingface/hub", env->home);
        c[4] = cands[4];
    }
    struct buf why;
    buf_init(&why, 0);
    char seen[5][TOK_PATH_MAX];
    for (int i = 0; i < 5; i++) {
        if (!c[i])
            continue;
        /* strip trailing slashes so "/x/" and "/x" count once */
        snprintf(tmp, sizeof tmp, "%s", c[i]);
        for (size_t n = strlen(tmp); n > 1 && tmp[n - 1] == '/'; n--)
            tmp[n - 1] = '\0';
        bool dup = false;
        for (int k = 0; k < nc; k++)
            dup = dup || !strcmp(seen[k], tmp);
        if (dup)
            continue;
        snprintf(seen[nc++], sizeof seen[0], "%s", tmp);
        if (why.len)
            buf_puts(&why, "; ");
        if (look_in(tmp, spec, rev, out, &why)) {
            buf_free(&why);
            out->kind = TOK_HUB;
            return 0;
        }
    }
    int rc = diag_set(d, ERR_IO,
                      "--tokenizer %s (revision %s): no tokenizer.json in the local Hugging Face "
                      "cache and no such file; looked in: %s; copy it in with `hf download %s "
                      "tokenizer.json --revision %s` on a connected host and bring over its "
                      "models--* directory into $HF_HUB_CACHE, or pass --tokenizer "
                      "/path/to/tokenizer.json",
                      spec, rev, nc ? why.p : "(no cache: HF_HUB_CACHE, HF_HOME and HOME unset)",
                      spec, rev);
    buf_free(&why);
    return rc;
}
