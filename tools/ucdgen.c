/*
 * ucdgen: host tool run by build.zig. Reads the pinned Unicode Character Database
 * (vendor/src/ucd, see vendor/manifest) and writes OUT-DIR/ucd_tables.c and .h, the tables
 * behind include/ucd.h. Usage: ucdgen OUT-DIR UnicodeData.txt PropList.txt
 * DerivedNormalizationProps.txt SpecialCasing.txt CaseFolding.txt DerivedAge.txt
 * DerivedCoreProperties.txt
 * (each file named on the command line, so the build system tracks them).
 *
 * Tables: a two-stage lookup (128-code-point blocks, identical blocks shared) from code
 * point to a small property record (general category, White_Space, canonical combining
 * class, flags); sorted arrays for the rarer mappings (full canonical and compatibility
 * decompositions computed recursively here, composition pairs without the
 * Full_Composition_Exclusion ones, lowercase with SpecialCasing's unconditional entries,
 * simple case folding and its equivalence orbits).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCP   0x110000
#define BLOCK 128

static const char *gc_names[] = {"Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd",
                                 "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm",
                                 "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co"};

static uint8_t gc[NCP], ccc[NCP], ws[NCP], excl[NCP], comp2[NCP], alpha[NCP];
/* Age (DerivedAge.txt) as an index into vers[] (major << 8 | minor); 0 = unassigned. */
static uint8_t agei[NCP];
static unsigned vers[32];
static int nvers = 1;
/* Single-level decomposition from UnicodeData (before recursion). */
static uint32_t *dmap[NCP];
static uint8_t dlen[NCP], dcompat[NCP];
static uint32_t lower1[NCP]; /* simple lowercase, 0 = none */
static uint32_t lowerfull[NCP][3];
static uint8_t lowerfull_n[NCP];
static uint32_t fold[NCP];

static void die(const char *m, const char *a)
{
    fprintf(stderr, "ucdgen: error: %s %s\n", m, a ? a : "");
    exit(1);
}

static const char *const *inputs;
static const char *const input_names[] = {
    "UnicodeData.txt", "PropList.txt",   "DerivedNormalizationProps.txt", "SpecialCasing.txt",
    "CaseFolding.txt", "DerivedAge.txt", "DerivedCoreProperties.txt"};

/* Opens the input given on the command line for the UCD file `name`. */
static FILE *open_in(const char *dir, const char *name)
{
    (void)dir;
    const char *path = NULL;
    for (int i = 0; i < 7; i++)
        if (!strcmp(input_names[i], name))
            path = inputs[i];
    if (!path)
        die("no input for", name);
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open", path);
    return f;
}

/* Splits line at ';' into at most max fields (trimmed); returns count. Cuts at '#'. */
static int split(char *line, char **f, int max)
{
    char *h = strchr(line, '#');
    if (h)
        *h = 0;
    int n = 0;
    char *p = line;
    while (n < max) {
        char *e = strchr(p, ';');
        if (e)
            *e = 0;
        while (isspace((unsigned char)*p))
            p++;
        char *t = p + strlen(p);
        while (t > p && isspace((unsigned char)t[-1]))
            *--t = 0;
        f[n++] = p;
        if (!e)
            break;
        p = e + 1;
    }
    return n;
}

static int parse_cps(const char *s, uint32_t *out, int max)
{
    int n = 0;
    while (*s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        char *e;
        unsigned long v = strtoul(s, &e, 16);
        if (e == s)
            die("bad code point list", s);
        if (n == max)
            die("code point list too long", s);
        out[n++] = (uint32_t)v;
        s = e;
    }
    return n;
}

static int gc_index(const char *s)
{
    for (int i = 0; i < (int)(sizeof gc_names / sizeof gc_names[0]); i++)
        if (!strcmp(gc_names[i], s))
            return i;
    die("unknown general category", s);
    return 0;
}

static void read_unicode_data(const char *dir)
{
    FILE *f = open_in(dir, "UnicodeData.txt");
    char line[1024];
    uint32_t first = 0;
    while (fgets(line, sizeof line, f)) {
        char *fl[16];
        if (split(line, fl, 15) < 15)
            continue;
        uint32_t cp = (uint32_t)strtoul(fl[0], NULL, 16);
        int g = gc_index(fl[2]);
        int c = (int)strtol(fl[3], NULL, 10);
        if (strstr(fl[1], ", First>")) {
            first = cp;
            continue;
        }
        uint32_t lo = strstr(fl[1], ", Last>") ? first : cp;
        for (uint32_t x = lo; x <= cp; x++) {
            gc[x] = (uint8_t)g;
            ccc[x] = (uint8_t)c;
        }
        if (fl[5][0]) {
            const char *d = fl[5];
            int compat = 0;
            if (d[0] == '<') {
                compat = 1;
                d = strchr(d, '>');
                if (!d)
                    die("bad decomposition", fl[0]);
                d++;
            }
            uint32_t tmp[32];
            int n = parse_cps(d, tmp, 32);
            dmap[cp] = malloc(sizeof(uint32_t) * (size_t)n);
            memcpy(dmap[cp], tmp, sizeof(uint32_t) * (size_t)n);
            dlen[cp] = (uint8_t)n;
            dcompat[cp] = (uint8_t)compat;
        }
        if (fl[13][0])
            lower1[cp] = (uint32_t)strtoul(fl[13], NULL, 16);
    }
    fclose(f);
}

/* Reads "XXXX..YYYY ; Prop" lines, setting flag[x] = 1 for the property named prop. */
static void read_prop(const char *dir, const char *file, const char *prop, uint8_t *flag)
{
    FILE *f = open_in(dir, file);
    char line[1024];
    int seen = 0;
    while (fgets(line, sizeof line, f)) {
        char *fl[4];
        if (split(line, fl, 3) < 2 || !fl[0][0] || strcmp(fl[1], prop))
            continue;
        uint32_t a = (uint32_t)strtoul(fl[0], NULL, 16), b = a;
        const char *dd = strstr(fl[0], "..");
        if (dd)
            b = (uint32_t)strtoul(dd + 2, NULL, 16);
        for (uint32_t x = a; x <= b; x++)
            flag[x] = 1;
        seen++;
    }
    fclose(f);
    if (!seen)
        die("property not found:", prop);
}

static void read_ages(const char *dir)
{
    FILE *f = open_in(dir, "DerivedAge.txt");
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *fl[4];
        if (split(line, fl, 3) < 2 || !fl[0][0])
            continue;
        unsigned maj = 0, min = 0;
        if (sscanf(fl[1], "%u.%u", &maj, &min) != 2)
            die("bad age", fl[1]);
        unsigned v = maj << 8 | min;
        int k;
        for (k = 1; k < nvers; k++)
            if (vers[k] == v)
                break;
        if (k == nvers) {
            if (nvers == 32)
                die("too many Unicode versions", NULL);
            vers[nvers++] = v;
        }
        uint32_t a = (uint32_t)strtoul(fl[0], NULL, 16), b = a;
        const char *dd = strstr(fl[0], "..");
        if (dd)
            b = (uint32_t)strtoul(dd + 2, NULL, 16);
        for (uint32_t x = a; x <= b; x++)
            agei[x] = (uint8_t)k;
    }
    fclose(f);
}

static void read_special_casing(const char *dir)
{
    FILE *f = open_in(dir, "SpecialCasing.txt");
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *fl[6];
        int n = split(line, fl, 6);
        if (n < 4 || !fl[0][0])
            continue;
        /* A fifth non-empty field is a condition (Final_Sigma, a language): skipped, as
         * Rust's char::to_lowercase skips it. */
        if (n >= 5 && fl[4][0])
            continue;
        uint32_t cp = (uint32_t)strtoul(fl[0], NULL, 16);
        uint32_t tmp[3];
        int k = parse_cps(fl[1], tmp, 3);
        if (k == 0)
            continue;
        memcpy(lowerfull[cp], tmp, sizeof(uint32_t) * (size_t)k);
        lowerfull_n[cp] = (uint8_t)k;
    }
    fclose(f);
}

static void read_case_folding(const char *dir)
{
    FILE *f = open_in(dir, "CaseFolding.txt");
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *fl[5];
        if (split(line, fl, 4) < 3 || !fl[0][0])
            continue;
        if (strcmp(fl[1], "C") && strcmp(fl[1], "S"))
            continue;
        fold[strtoul(fl[0], NULL, 16)] = (uint32_t)strtoul(fl[2], NULL, 16);
    }
    fclose(f);
}

/* Recursive full decomposition of cp into out; returns the count. */
static int full_decomp(uint32_t cp, int compat, uint32_t *out)
{
    if (cp >= 0xAC00 && cp < 0xAC00 + 11172)
        die("Hangul is algorithmic", NULL);
    if (!dlen[cp] || (dcompat[cp] && !compat)) {
        out[0] = cp;
        return 1;
    }
    int n = 0;
    for (int i = 0; i < dlen[cp]; i++)
        n += full_decomp(dmap[cp][i], compat, out + n);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 9)
        die("usage: ucdgen OUT-DIR UnicodeData.txt PropList.txt DerivedNormalizationProps.txt "
            "SpecialCasing.txt CaseFolding.txt DerivedAge.txt DerivedCoreProperties.txt",
            NULL);
    const char *dir = NULL;
    inputs = (const char *const *)argv + 2;
    read_unicode_data(dir);
    read_prop(dir, "PropList.txt", "White_Space", ws);
    read_prop(dir, "DerivedCoreProperties.txt", "Alphabetic", alpha);
    read_prop(dir, "DerivedNormalizationProps.txt", "Full_Composition_Exclusion", excl);
    read_special_casing(dir);
    read_case_folding(dir);
    read_ages(dir);

    char version[64] = "unknown";
    {
        FILE *f = open_in(dir, "DerivedAge.txt");
        char line[256];
        if (fgets(line, sizeof line, f)) {
            char *p = strstr(line, "DerivedAge-");
            if (p) {
                p += strlen("DerivedAge-");
                size_t k = strcspn(p, ".t");
                /* "15.1.0.txt" -> "15.1.0" */
                char *e = strstr(p, ".txt");
                k = e ? (size_t)(e - p) : k;
                if (k < sizeof version) {
                    memcpy(version, p, k);
                    version[k] = 0;
                }
            }
        }
        fclose(f);
    }

    char opath[4096];
    snprintf(opath, sizeof opath, "%s/ucd_tables.c", argv[1]);
    FILE *o = fopen(opath, "w");
    if (!o)
        die("cannot write", opath);
    fprintf(o, "/* Generated by tools/ucdgen.c from UCD %s. Do not edit. */\n", version);
    fprintf(o, "#include <stdint.h>\n#include \"ucd_tables.h\"\n\n");
    fprintf(o, "const char ucd_version[] = \"%s\";\n\n", version);

    /* Composition pairs: canonical decompositions of length 2, not excluded. */
    static uint64_t pairs[4096];
    static uint32_t pair_to[4096];
    int npairs = 0;
    for (uint32_t cp = 0; cp < NCP; cp++) {
        if (dlen[cp] == 2 && !dcompat[cp] && !excl[cp]) {
            if (npairs == 4096)
                die("too many composition pairs", NULL);
            pairs[npairs] = ((uint64_t)dmap[cp][0] << 21) | dmap[cp][1];
            pair_to[npairs++] = cp;
            comp2[dmap[cp][1]] = 1;
        }
    }
    /* Hangul V and T jamo compose algorithmically with what precedes them. */
    for (uint32_t cp = 0x1161; cp < 0x1161 + 21; cp++)
        comp2[cp] = 1;
    for (uint32_t cp = 0x11A8; cp < 0x11A7 + 28; cp++)
        comp2[cp] = 1;
    /* Sort pairs (insertion sort is fine for ~1000). */
    for (int i = 1; i < npairs; i++) {
        uint64_t k = pairs[i];
        uint32_t v = pair_to[i];
        int j = i - 1;
        while (j >= 0 && pairs[j] > k) {
            pairs[j + 1] = pairs[j];
            pair_to[j + 1] = pair_to[j];
            j--;
        }
        pairs[j + 1] = k;
        pair_to[j + 1] = v;
    }

    /* Decompositions: for each cp with one, canonical and compat full forms. */
    static uint32_t ddata[1 << 17];
    int nd = 0, ndec = 0;
    fprintf(o, "const uint32_t ucd_decomp_cp[] = {\n");
    for (uint32_t cp = 0; cp < NCP; cp++)
        if (dlen[cp]) {
            fprintf(o, "0x%X,%s", cp, (++ndec % 12) ? "" : "\n");
        }
    fprintf(o, "};\nconst uint32_t ucd_decomp_n = %d;\n", ndec);
    /* ucd_decomp_ref[i] = canonical off (16) | canon len (5) << 16 ... packed as two u32 */
    fprintf(o, "const uint32_t ucd_decomp_ref[][2] = {\n");
    int col = 0;
    for (uint32_t cp = 0; cp < NCP; cp++) {
        if (!dlen[cp])
            continue;
        uint32_t tmp[64];
        uint32_t refs[2];
        for (int compat = 0; compat < 2; compat++) {
            int n = full_decomp(cp, compat, tmp);
            if (n == 1 && tmp[0] == cp) {
                refs[compat] = 0;
                continue;
            }
            if (n > 18)
                die("decomposition longer than UCD_DECOMP_MAX", NULL);
            if (nd + n > (1 << 17))
                die("decomposition data overflow", NULL);
            memcpy(ddata + nd, tmp, sizeof(uint32_t) * (size_t)n);
            refs[compat] = ((uint32_t)nd << 5) | (uint32_t)n;
            nd += n;
        }
        fprintf(o, "{0x%X,0x%X},%s", refs[0], refs[1], (++col % 6) ? "" : "\n");
    }
    fprintf(o, "};\nconst uint32_t ucd_decomp_data[] = {\n");
    for (int i = 0; i < nd; i++)
        fprintf(o, "0x%X,%s", ddata[i], ((i + 1) % 12) ? "" : "\n");
    fprintf(o, "};\n\n");

    fprintf(o, "const uint64_t ucd_comp_pair[] = {\n");
    for (int i = 0; i < npairs; i++)
        fprintf(o, "0x%llXull,%s", (unsigned long long)pairs[i], ((i + 1) % 6) ? "" : "\n");
    fprintf(o, "};\nconst uint32_t ucd_comp_to[] = {\n");
    for (int i = 0; i < npairs; i++)
        fprintf(o, "0x%X,%s", pair_to[i], ((i + 1) % 12) ? "" : "\n");
    fprintf(o, "};\nconst uint32_t ucd_comp_n = %d;\n\n", npairs);

    /* Lowercase: simple mapping unless SpecialCasing gives an unconditional one. */
    int nl = 0;
    fprintf(o, "const uint32_t ucd_lower_cp[] = {\n");
    for (uint32_t cp = 0; cp < NCP; cp++) {
        if (!lowerfull_n[cp] && lower1[cp]) {
            lowerfull[cp][0] = lower1[cp];
            lowerfull_n[cp] = 1;
        }
        if (lowerfull_n[cp] == 1 && lowerfull[cp][0] == cp)
            lowerfull_n[cp] = 0;
        if (lowerfull_n[cp])
            fprintf(o, "0x%X,%s", cp, (++nl % 12) ? "" : "\n");
    }
    fprintf(o, "};\nconst uint32_t ucd_lower_to[][3] = {\n");
    col = 0;
    for (uint32_t cp = 0; cp < NCP; cp++)
        if (lowerfull_n[cp])
            fprintf(o, "{0x%X,0x%X,0x%X},%s", lowerfull[cp][0],
                    lowerfull_n[cp] > 1 ? lowerfull[cp][1] : 0,
                    lowerfull_n[cp] > 2 ? lowerfull[cp][2] : 0, (++col % 4) ? "" : "\n");
    fprintf(o, "};\nconst uint32_t ucd_lower_n = %d;\n\n", nl);

    /* Case folding orbits: for each cp with case variants, the next member of its class. */
    static uint32_t next[NCP];
    {
        /* Members of a class: the fold target and every code point folding to it, linked
         * in code point order (chain[] holds the next member, 0 = end) then closed into a
         * cycle. */
        static uint32_t head[NCP], tail[NCP], chain[NCP];
        for (uint32_t cp = 0; cp < NCP; cp++) {
            uint32_t t = fold[cp];
            if (!t || t == cp)
                continue;
            if (!head[t])
                head[t] = tail[t] = t;
            chain[tail[t]] = cp;
            tail[t] = cp;
        }
        for (uint32_t t = 0; t < NCP; t++) {
            if (!head[t])
                continue;
            uint32_t x = t;
            while (chain[x]) {
                next[x] = chain[x];
                x = chain[x];
            }
            next[x] = t;
        }
    }
    int nf = 0;
    fprintf(o, "const uint32_t ucd_fold_cp[] = {\n");
    for (uint32_t cp = 0; cp < NCP; cp++)
        if (next[cp])
            fprintf(o, "0x%X,%s", cp, (++nf % 12) ? "" : "\n");
    fprintf(o, "};\nconst uint32_t ucd_fold_to[][2] = {\n");
    col = 0;
    for (uint32_t cp = 0; cp < NCP; cp++)
        if (next[cp])
            fprintf(o, "{0x%X,0x%X},%s", fold[cp] ? fold[cp] : cp, next[cp],
                    (++col % 6) ? "" : "\n");
    fprintf(o, "};\nconst uint32_t ucd_fold_n = %d;\n\n", nf);

    /* Property records: gc(5) | ws(1)<<5 | decomposes(1)<<6 | comp2(1)<<7 | ccc(8)<<8 |
     * nfc boundary(1)<<16 | nfkc boundary(1)<<17 | Alphabetic(1)<<18 | age index(5)<<19.
     * A "boundary" code point starts a new normalization segment: ccc 0, its first
     * decomposed character ccc 0 and not the second of any composition pair. */
    static uint32_t recs[4096];
    /* Open-addressing index of recs (value + 1; 0 = empty). */
    static uint16_t hidx[16384];
    int nrec = 0;
    static uint16_t cprec[NCP];
    for (uint32_t cp = 0; cp < NCP; cp++) {
        uint32_t bnd[2];
        for (int compat = 0; compat < 2; compat++) {
            uint32_t first = cp;
            if (cp >= 0xAC00 && cp < 0xAC00 + 11172)
                first = 0x1100;
            else if (dlen[cp]) {
                uint32_t tmp[64];
                full_decomp(cp, compat, tmp);
                first = tmp[0];
            }
            bnd[compat] = ccc[cp] == 0 && ccc[first] == 0 && !comp2[first] && !comp2[cp];
        }
        int dec = dlen[cp] || (cp >= 0xAC00 && cp < 0xAC00 + 11172);
        uint32_t r = gc[cp] | (uint32_t)ws[cp] << 5 | (uint32_t)dec << 6 |
                     (uint32_t)comp2[cp] << 7 | (uint32_t)ccc[cp] << 8 | bnd[0] << 16 |
                     bnd[1] << 17 | (uint32_t)alpha[cp] << 18 | (uint32_t)agei[cp] << 19;
        uint32_t h = (r * 2654435761u) >> 18;
        while (hidx[h] && recs[hidx[h] - 1] != r)
            h = (h + 1) & 16383;
        if (!hidx[h]) {
            if (nrec == 4096)
                die("too many property records", NULL);
            recs[nrec++] = r;
            hidx[h] = (uint16_t)nrec;
        }
        cprec[cp] = (uint16_t)(hidx[h] - 1);
    }
    fprintf(o, "const uint16_t ucd_age_ver[32] = {");
    for (int k = 0; k < nvers; k++)
        fprintf(o, "0x%X,", vers[k]);
    fprintf(o, "};\n");
    fprintf(o, "const uint32_t ucd_rec[] = {\n");
    for (int i = 0; i < nrec; i++)
        fprintf(o, "0x%X,%s", recs[i], ((i + 1) % 8) ? "" : "\n");
    fprintf(o, "};\n");
    /* Two stages over 128-code-point blocks. */
    int nblocks = NCP / BLOCK, nuniq = 0;
    static int blk_of[NCP / BLOCK];
    static int uniq_first[NCP / BLOCK];
    for (int b = 0; b < nblocks; b++) {
        int u;
        for (u = 0; u < nuniq; u++)
            if (!memcmp(cprec + uniq_first[u] * BLOCK, cprec + b * BLOCK, BLOCK * sizeof(uint16_t)))
                break;
        if (u == nuniq)
            uniq_first[nuniq++] = b;
        blk_of[b] = u;
    }
    const char *t2 = nrec <= 256 ? "uint8_t" : "uint16_t";
    fprintf(o, "const uint16_t ucd_stage1[%d] = {\n", nblocks);
    for (int b = 0; b < nblocks; b++)
        fprintf(o, "%d,%s", blk_of[b], ((b + 1) % 16) ? "" : "\n");
    fprintf(o, "};\nconst %s ucd_stage2[%d] = {\n", t2, nuniq * BLOCK);
    for (int u = 0; u < nuniq; u++)
        for (int i = 0; i < BLOCK; i++)
            fprintf(o, "%d,%s", cprec[uniq_first[u] * BLOCK + i], ((i + 1) % 32) ? "" : "\n");
    fprintf(o, "};\n");
    fclose(o);

    /* The header matching the chosen stage-2 width. */
    char hpath[4096];
    snprintf(hpath, sizeof hpath, "%s/ucd_tables.h", argv[1]);
    FILE *h = fopen(hpath, "w");
    if (!h)
        die("cannot write", hpath);
    fprintf(h, "/* Generated by tools/ucdgen.c. Do not edit. */\n#include <stdint.h>\n");
    fprintf(h, "#define UCD_BLOCK %d\n", BLOCK);
    fprintf(h, "extern const uint16_t ucd_stage1[%d];\nextern const %s ucd_stage2[%d];\n", nblocks,
            t2, nuniq * BLOCK);
    fprintf(h, "extern const uint32_t ucd_rec[];\nextern const uint16_t ucd_age_ver[32];\n");
    fprintf(h, "extern const uint32_t ucd_decomp_cp[], ucd_decomp_ref[][2], ucd_decomp_data[], "
               "ucd_decomp_n;\n");
    fprintf(h, "extern const uint64_t ucd_comp_pair[];\nextern const uint32_t ucd_comp_to[], "
               "ucd_comp_n;\n");
    fprintf(h, "extern const uint32_t ucd_lower_cp[], ucd_lower_to[][3], ucd_lower_n;\n");
    fprintf(h, "extern const uint32_t ucd_fold_cp[], ucd_fold_to[][2], ucd_fold_n;\n");
    fclose(h);
    return 0;
}
