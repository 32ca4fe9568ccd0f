#include "corpus.h"

#include "buf.h"
#include "embedded.h"
#include "xalloc.h"

#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sha256_hex(const void *data, size_t n, char hex[65])
{
    unsigned char sum[32];
    mbedtls_sha256(data, n, sum, 0);
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[sum[i] >> 4];
        hex[2 * i + 1] = digits[sum[i] & 15];
    }
    hex[64] = '\0';
}

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* AIPerf 0.13's PromptGenerator._initialize_corpus: stripped non-empty lines are grouped
 * into chunks that close once they hold >= 10,000 characters (Python str length, i.e.
 * code points, not counting the joining spaces); each chunk is " ".join(lines) encoded
 * without special tokens, and the chunks' ids are concatenated (so no space token stands
 * between two chunks). Same ids as AIPerf for the same tokenizer. */
static int model_tokenize(struct corpus *c, const char *raw, size_t n, struct diag *d)
{
    const struct tokenizer *tk = c->tk;
    struct buf chunk;
    buf_init(&chunk, 16384);
    size_t cap = 0, len = 0;
    uint32_t *ids = NULL;
    size_t chars = 0;
    const char *p = raw, *end = raw + n;
    while (p < end || chunk.len) {
        if (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *a = p, *b = nl ? nl : end;
            p = nl ? nl + 1 : end;
            while (a < b && blank(*a))
                a++;
            while (b > a && blank(b[-1]))
                b--;
            if (b == a)
                continue;
            if (chunk.len)
                buf_putc(&chunk, ' ');
            buf_append(&chunk, a, (size_t)(b - a));
            for (const char *q = a; q < b; q++)
                chars += ((unsigned char)*q & 0xC0) != 0x80;
            if (chars < 10000)
                continue;
        }
        long k = tk->encode(tk->model, chunk.p, chunk.len, &ids, &len, &cap);
        if (k < 0) {
            free(ids);
            buf_free(&chunk);
            corpus_free(c);
            return diag_set(d, ERR_INVALID, "corpus %s: the tokenizer failed on it", c->name);
        }
        chunk.len = 0;
        chars = 0;
    }
    buf_free(&chunk);
    if (len == 0) {
        free(ids);
        corpus_free(c);
        return diag_set(d, ERR_INVALID, "corpus %s: no tokens", c->name);
    }
    c->ids = ids;
    c->ntok = len;
    return 0;
}

int corpus_load_mem(struct corpus *c, const char *name, const char *raw, size_t n,
                    const struct tokenizer *tk, struct diag *d)
{
    memset(c, 0, sizeof *c);
    if (n >= UINT32_MAX)
        return diag_set(d, ERR_TOO_LARGE, "corpus %s: larger than 4 GiB", name);
    c->tk = tk;
    c->raw_len = n;
    snprintf(c->name, sizeof c->name, "%s", name);
    sha256_hex(raw, n, c->sha256);

    c->text = xmalloc(n + 1);
    size_t len = 0;
    const char *p = raw, *end = raw + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *a = p, *b = le;
        while (a < b && blank(*a))
            a++;
        while (b > a && blank(b[-1]))
            b--;
        if (b > a) {
            if (len > 0)
                c->text[len++] = ' ';
            memcpy(c->text + len, a, (size_t)(b - a));
            len += (size_t)(b - a);
        }
        p = nl ? nl + 1 : end;
    }
    c->text[len] = '\0';
    c->len = len;
    if (len == 0) {
        corpus_free(c);
        return diag_set(d, ERR_INVALID, "corpus %s: no text", name);
    }

    if (!tk->next)
        return model_tokenize(c, raw, n, d);
    size_t cap = len / 3 + 16, k = 0;
    c->tok = xmalloc(cap * sizeof *c->tok);
    size_t off = 0;
    while (off < len) {
        if (k + 2 > cap) {
            cap *= 2;
            c->tok = xrealloc(c->tok, cap * sizeof *c->tok);
        }
        c->tok[k++] = (uint32_t)off;
        off += tk->next(c->text + off, len - off);
    }
    c->tok[k] = (uint32_t)len;
    c->ntok = k;
    return 0;
}

int corpus_load_embedded(struct corpus *c, const struct tokenizer *tk, struct diag *d)
{
    char *raw;
    size_t n;
    int rc = embedded_load("corpus", &raw, &n, d);
    if (rc)
        return rc;
    rc = corpus_load_mem(c, "shakespeare.txt", raw, n, tk, d);
    free(raw);
    return rc;
}

void corpus_free(struct corpus *c)
{
    free(c->text);
    free(c->tok);
    free(c->ids);
    c->text = NULL;
    c->tok = NULL;
    c->ids = NULL;
    c->len = c->ntok = 0;
}

int corpus_window(const struct corpus *c, size_t start, size_t n, struct corpus_slice out[2])
{
    if (n == 0 || n > c->ntok || start >= c->ntok)
        return ERR_INVALID;
    size_t stop = start + n;
    if (stop <= c->ntok) {
        out[0].off = c->tok[start];
        out[0].len = c->tok[stop] - c->tok[start];
        return 1;
    }
    out[0].off = c->tok[start];
    out[0].len = (uint32_t)c->len - c->tok[start];
    out[1].off = 0;
    out[1].len = c->tok[stop - c->ntok];
    return 2;
}
