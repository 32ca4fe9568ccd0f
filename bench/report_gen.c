/*
 * Benchmark input for bench/report.sh and bench/report_shards.sh: writes a run dir's
 * run.json and, on stdout, N record lines in the records format with ~CHUNKS content
 * chunks each (the shape `metronome replay` writes). Deterministic for a seed; not part of
 * the binary.
 *   report_gen RUN_DIR N CHUNKS SEED > records.jsonl
 *   report_gen RUN_DIR N CHUNKS SEED SHARDS PARENT > records.jsonl
 * The second form also deals the same lines round-robin (line k to shard k mod SHARDS, as
 * replay --shard deals single-turn entries) into PARENT/shard-I/records.jsonl.zst (one
 * `zstd -1` child per shard, so the compression runs beside the generation) with a
 * run.json saying shard I of SHARDS: the shards together hold exactly stdout's records.
 * Writing both in one pass is what makes 16 x 10^6 records take a minute or two, not the
 * hours a line-splitting awk over the decompressed single run took.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static uint64_t s = 88172645463325252ULL;
static uint64_t rnd(void)
{
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

static int write_run_json(const char *dir, long index, long count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/run.json", dir);
    FILE *rj = fopen(path, "w");
    if (!rj)
        return -1;
    fprintf(rj,
            "{\"format\":\"metronome-run\",\"version\":1,\"anchor\":{\"mono_ns\":1000,"
            "\"real_ns\":1760000000000000000},\"host\":{\"hostname\":\"bench\"},"
            "\"shard\":{\"index\":%ld,\"count\":%ld},\"trace\":{\"sha256\":\"bench\"},"
            "\"config\":{\"endpoint_type\":\"chat\",\"streaming\":true,\"workers\":8},"
            "\"complete\":true,\"cancelled\":false}\n",
            index, count);
    return fclose(rj);
}

#define MAX_SHARDS 256

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 7) {
        fprintf(stderr, "usage: report_gen RUN_DIR N CHUNKS SEED [SHARDS PARENT]\n");
        return 2;
    }
    long n = strtol(argv[2], NULL, 10), chunks = strtol(argv[3], NULL, 10);
    s += (uint64_t)strtol(argv[4], NULL, 10);
    long shards = argc == 7 ? strtol(argv[5], NULL, 10) : 0;
    if (shards < 0 || shards > MAX_SHARDS) {
        fprintf(stderr, "report_gen: SHARDS: 1..%d\n", MAX_SHARDS);
        return 2;
    }
    if (write_run_json(argv[1], 0, 1) != 0)
        return 1;
    static FILE *sh[MAX_SHARDS];
    char path[4096], cmd[8192];
    for (long i = 0; i < shards; i++) {
        snprintf(path, sizeof path, "%s/shard-%ld", argv[6], i);
        mkdir(path, 0777);
        if (write_run_json(path, i, shards) != 0)
            return 1;
        snprintf(cmd, sizeof cmd, "zstd -q -1 -f -o '%s/records.jsonl.zst'", path);
        sh[i] = popen(cmd, "w");
        if (!sh[i])
            return 1;
        setvbuf(sh[i], NULL, _IOFBF, 1 << 18);
    }
    static char out[1 << 16];
    setvbuf(stdout, NULL, _IOFBF, 1 << 20);
    int64_t t = 1000000000;
    for (long i = 0; i < n; i++) {
        t += (int64_t)(rnd() % 2000000); /* ~1000 requests/s */
        int64_t late = (int64_t)(rnd() % 200000);
        int64_t st = t + late;
        long nc = chunks / 2 + (long)(rnd() % (uint64_t)(chunks + 1));
        int64_t c = st + 20000000 + (int64_t)(rnd() % 300000000);
        int err = rnd() % 100 == 0;
        size_t cap = sizeof out;
        int len = snprintf(out, cap,
                           "{\"i\":%ld,\"conv\":\"%ld\",\"turn\":0,\"phase\":\"profile\","
                           "\"worker\":%ld,\"conn\":%ld,\"reused\":true,\"url\":0,\"model\":\"m\","
                           "\"stream\":true,\"isl\":%ld,\"osl_req\":%ld,\"t_intended\":%lld,"
                           "\"t_dispatch\":%lld,\"t_start\":%lld,\"t_connected\":%lld,"
                           "\"t_tls\":%lld,\"t_sent\":%lld,\"t_head\":%lld,",
                           i, i, i % 8, i % 64, 100 + (long)(rnd() % 4000), nc, (long long)t,
                           (long long)t, (long long)st, (long long)st, (long long)st,
                           (long long)st + 20000, (long long)c - 1000);
        if (err) {
            len += snprintf(out + len, cap - (size_t)len,
                            "\"t_end\":%lld,\"status\":500,\"chunks\":[],\"error\":{\"code\":500,"
                            "\"type\":\"http\",\"message\":\"overloaded\"},\"cancelled\":false}\n",
                            (long long)c);
        } else {
            /* the chunk times first (t_first/t_last precede them in the line) */
            static char ch[1 << 15];
            int64_t first = c, last = c;
            int cl = snprintf(ch, sizeof ch, "\"chunks\":[");
            for (long k = 0; k < nc; k++) {
                cl += snprintf(ch + cl, sizeof ch - (size_t)cl, "%s[%lld,%d]", k ? "," : "",
                               (long long)c, k ? 1 : 0);
                last = c;
                c += 5000000 + (int64_t)(rnd() % 20000000);
            }
            len += snprintf(out + len, cap - (size_t)len,
                            "\"t_first\":%lld,\"t_last\":%lld,\"t_end\":%lld,\"status\":200,%s"
                            "],\"usage\":{\"prompt_tokens\":512,\"completion_tokens\":%ld},"
                            "\"finish\":\"stop\",\"bad_chunks\":0,\"cancelled\":false}\n",
                            (long long)first, (long long)last, (long long)last + 100000, ch,
                            nc - 1);
        }
        fwrite(out, 1, (size_t)len, stdout);
        if (shards)
            fwrite(out, 1, (size_t)len, sh[i % shards]);
    }
    int rc = fflush(stdout) != 0;
    for (long i = 0; i < shards; i++)
        rc |= pclose(sh[i]) != 0;
    return rc;
}
