/* --tokenizer lookup: paths, directories and the Hugging Face cache layouts. */
#include "test.h"
#include "tok_lookup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define C1 "0123456789abcdef0123456789abcdef01234567"
#define C2 "89abcdef0123456789abcdef0123456789abcdef"

static void mkdirs(const char *path)
{
    char p[TOK_PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

static void put(const char *dir, const char *rel, const char *text)
{
    char p[TOK_PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    mkdirs(p);
    *slash = '/';
    FILE *f = fopen(p, "wb");
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

/* Two caches: A ($HF_HUB_CACHE) and B ($HOME/.cache/huggingface/hub). */
static void layout(const char *root)
{
    char a[TOK_PATH_MAX], b[TOK_PATH_MAX];
    snprintf(a, sizeof a, "%s/A", root);
    snprintf(b, sizeof b, "%s/home/.cache/huggingface/hub", root);
    /* org/model: main -> C1, v2 -> C2, refs/pr/1 -> C2 */
    put(a, "models--org--model/refs/main", C1 "\n");
    put(a, "models--org--model/refs/v2", C2);
    put(a, "models--org--model/refs/refs/pr/1", C2 "\n");
    put(a, "models--org--model/snapshots/" C1 "/tokenizer.json", "{}");
    put(a, "models--org--model/snapshots/" C2 "/tokenizer.json", "{}");
    /* a ref to a snapshot without tokenizer.json */
    put(a, "models--org--weights/refs/main", C1);
    put(a, "models--org--weights/snapshots/" C1 "/config.json", "{}");
    /* a ref that is not a commit hash */
    put(a, "models--org--badref/refs/main", "not-a-hash\n");
    /* a snapshot named as the revision, without refs (huggingface_hub accepts it) */
    put(a, "models--org--named/snapshots/mybranch/tokenizer.json", "{}");
    /* only in the second cache, and a name without an org */
    put(b, "models--gpt2/refs/main", C2);
    put(b, "models--gpt2/snapshots/" C2 "/tokenizer.json", "{}");
    /* a local directory and file */
    put(root, "dir/tokenizer.json", "{}");
    put(root, "empty/readme.txt", "x");
}

TEST(tok_lookup_table)
{
    const char *root = test_tmpdir();
    layout(root);
    char a[TOK_PATH_MAX], home[TOK_PATH_MAX];
    snprintf(a, sizeof a, "%s/A", root);
    snprintf(home, sizeof home, "%s/home", root);
    char cwd[TOK_PATH_MAX];
    REQUIRE(getcwd(cwd, sizeof cwd) != NULL);
    REQUIRE(chdir(root) == 0);
    struct tok_env env = {.hf_hub_cache = a, .home = home};
    static const struct {
        const char *spec, *rev;
        int rc;
        enum tok_kind kind;
        const char *path_tail; /* the found path ends so; or a piece of the error */
    } cases[] = {
        {"builtin", NULL, 0, TOK_BUILTIN, ""},
        {"org/model", NULL, 0, TOK_HUB, "models--org--model/snapshots/" C1 "/tokenizer.json"},
        {"org/model", "main", 0, TOK_HUB, "snapshots/" C1 "/tokenizer.json"},
        {"org/model", "v2", 0, TOK_HUB, "snapshots/" C2 "/tokenizer.json"},
        {"org/model", "refs/pr/1", 0, TOK_HUB, "snapshots/" C2 "/tokenizer.json"},
        {"org/model", C2, 0, TOK_HUB, "snapshots/" C2 "/tokenizer.json"},
        {"org/named", "mybranch", 0, TOK_HUB, "snapshots/mybranch/tokenizer.json"},
        {"gpt2", NULL, 0, TOK_HUB, "home/.cache/huggingface/hub/models--gpt2/snapshots/" C2},
        {"dir", NULL, 0, TOK_FILE, "dir/tokenizer.json"},
        {"dir/tokenizer.json", NULL, 0, TOK_FILE, "dir/tokenizer.json"},
        {"dir/", "main", 0, TOK_FILE, "dir//tokenizer.json"},
        /* misses: each error names the places looked */
        {"org/model", "v3", ERR_IO, TOK_BUILTIN, "models--org--model/refs/v3 (absent"},
        {"org/model", "ffffffffffffffffffffffffffffffffffffffff", ERR_IO, TOK_BUILTIN,
         "snapshots/ffffffffffffffffffffffffffffffffffffffff/tokenizer.json (absent)"},
        {"org/weights", NULL, ERR_IO, TOK_BUILTIN, "snapshots/" C1 "/tokenizer.json (absent)"},
        {"org/badref", NULL, ERR_IO, TOK_BUILTIN, "refs/main (absent or not a commit hash)"},
        {"org/missing", NULL, ERR_IO, TOK_BUILTIN, "A/models--org--missing (absent)"},
        {"org/missing", NULL, ERR_IO, TOK_BUILTIN,
         "home/.cache/huggingface/hub/models--org--missing (absent)"},
        {"org/missing", NULL, ERR_IO, TOK_BUILTIN, "hf download org/missing tokenizer.json"},
        {"empty", NULL, ERR_IO, TOK_BUILTIN, "a directory without tokenizer.json"},
        {"./nope.json", NULL, ERR_IO, TOK_BUILTIN, "not a Hugging Face name"},
        {"a/b/c", NULL, ERR_IO, TOK_BUILTIN, "not a Hugging Face name"},
        /* usage errors */
        {"", NULL, ERR_INVALID, TOK_BUILTIN, "empty value"},
        {"org/model", "../../etc", ERR_INVALID, TOK_BUILTIN, "not a branch"},
        {"org/model", "/abs", ERR_INVALID, TOK_BUILTIN, "not a branch"},
        {"org/model", "", ERR_INVALID, TOK_BUILTIN, "not a branch"},
        {"dir", "v2", ERR_INVALID, TOK_BUILTIN, "is a local path"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tok_found f;
        struct diag d = {0};
        int rc = tok_lookup(cases[i].spec, cases[i].rev, &env, &f, &d);
        if (rc != cases[i].rc) {
            test_fail(__FILE__, __LINE__, "case %zu (%s @ %s): rc %d, want %d (%s)", i,
                      cases[i].spec, cases[i].rev ? cases[i].rev : "-", rc, cases[i].rc, d.msg);
            continue;
        }
        if (rc) {
            if (!strstr(d.msg, cases[i].path_tail))
                test_fail(__FILE__, __LINE__, "case %zu: error '%s' lacks '%s'", i, d.msg,
                          cases[i].path_tail);
            if (strchr(d.msg, '\n'))
                test_fail(__FILE__, __LINE__, "case %zu: error is not one line", i);
            continue;
        }
        CHECK_INT(f.kind, cases[i].kind);
        if (!strstr(f.path, cases[i].path_tail))
            test_fail(__FILE__, __LINE__, "case %zu: path '%s' lacks '%s'", i, f.path,
                      cases[i].path_tail);
    }
    /* the hub commit and revision are recorded */
    struct tok_found f;
    struct diag d;
    REQUIRE(tok_lookup("org/model", "v2", &env, &f, &d) == 0);
    CHECK_STR(f.commit, C2);
    CHECK_STR(f.revision, "v2");
    CHECK_STR(f.name, "org/model");
    REQUIRE(chdir(cwd) == 0);
}

TEST(tok_lookup_cache_order)
{
    const char *root = test_tmpdir();
    layout(root);
    char a[TOK_PATH_MAX], home[TOK_PATH_MAX], hfhome[TOK_PATH_MAX], xdg[TOK_PATH_MAX];
    snprintf(a, sizeof a, "%s/A", root);
    snprintf(home, sizeof home, "%s/home", root);
    snprintf(hfhome, sizeof hfhome, "%s/hfhome", root);
    snprintf(xdg, sizeof xdg, "%s/xdg", root);
    char p[TOK_PATH_MAX];
    /* the same name in $HF_HOME/hub and $XDG_CACHE_HOME/huggingface/hub: HF_HOME wins */
    put(hfhome, "hub/models--o--m/refs/main", C1);
    put(hfhome, "hub/models--o--m/snapshots/" C1 "/tokenizer.json", "{}");
    put(xdg, "huggingface/hub/models--o--m/refs/main", C2);
    put(xdg, "huggingface/hub/models--o--m/snapshots/" C2 "/tokenizer.json", "{}");
    struct tok_env env = {.hf_home = hfhome, .xdg_cache_home = xdg, .home = home};
    struct tok_found f;
    struct diag d;
    REQUIRE(tok_lookup("o/m", NULL, &env, &f, &d) == 0);
    snprintf(p, sizeof p, "%s/hub/models--o--m/snapshots/" C1 "/tokenizer.json", hfhome);
    CHECK_STR(f.path, p);
    env.hf_home = NULL;
    REQUIRE(tok_lookup("o/m", NULL, &env, &f, &d) == 0);
    CHECK(strstr(f.path, C2) != NULL);
    /* $HF_HUB_CACHE wins over both; a cache given twice is looked in once */
    env.hf_home = hfhome;
    env.hf_hub_cache = a;
    env.huggingface_hub_cache = a;
    REQUIRE(tok_lookup("org/model", NULL, &env, &f, &d) == 0);
    CHECK(strstr(f.path, "/A/models--org--model/") != NULL);
    REQUIRE(tok_lookup("o/none", NULL, &env, &f, &d) == ERR_IO);
    const char *first = strstr(d.msg, "/A/models--o--none");
    CHECK(first && !strstr(first + 1, "/A/models--o--none"));
    CHECK(strstr(d.msg, "hfhome/hub/models--o--none") != NULL);
    CHECK(strstr(d.msg, "xdg/huggingface/hub/models--o--none") != NULL);
    CHECK(strstr(d.msg, "home/.cache/huggingface/hub/models--o--none") != NULL);
    /* nothing set at all */
    struct tok_env none = {0};
    REQUIRE(tok_lookup("o/none", NULL, &none, &f, &d) == ERR_IO);
    CHECK(strstr(d.msg, "no cache") != NULL);
}
