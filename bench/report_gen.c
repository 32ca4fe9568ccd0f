/*
 * Benchmark input for bench/report.sh: writes a run dir's run.json and, on stdout, N
 * record lines in the records format with ~CHUNKS content chunks each (the shape
 * `metronome replay` writes). Deterministic for a seed; not part of the binary.
 *   report_gen RUN_DIR N CHUNKS SEED > records.jsonl
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t s = 88172645463325252ULL;
static uint64_t rnd(void)
{
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: report_gen RUN_DIR N CHUNKS SEED\n");
        return 2;
    }
    long n = strtol(argv[2], NULL, 10), chunks = strtol(argv[3], NULL, 10);
    s += (uint64_t)strtol(argv[4], NULL, 10);
    char path[4096];
    snprintf(path, sizeof path, "%s/run.json", argv[1]);
    FILE *rj = fopen(path, "w");
    if (!rj)
        return 1;
    fprintf(rj, "{\"format\":\"metronome-run\",\"version\":1,\"anchor\":{\"mono_ns\":1000,"
                "\"real_ns\":1760000000000000000},\"host\":{\"hostname\":\"bench\"},"
                "\"shard\":{\"index\":0,\"count\":1},\"trace\":{\"sha256\":\"bench\"},"
                "\"config\":{\"endpoint_type\":\"chat\",\"streaming\":true,\"workers\":8},"
                "\"complete\":true,\"cancelled\":false}\n");
    fclose(rj);
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
        int len = snprintf(out, sizeof out,
                           "{\"i\":%ld,\"conv\":\"%ld\",\"turn\":0,\"phase\":\"profile\","
                           "\"worker\":%ld,\"conn\":%ld,\"reused\":true,\"url\":0,\"model\":\"m\","
                           "\"stream\":true,\"isl\":%ld,\"osl_req\":%ld,\"t_intended\":%lld,"
                           "\"t_dispatch\":%lld,\"t_start\":%lld,\"t_connected\":%lld,"
                           "\"t_tls\":%lld,\"t_sent\":%lld,\"t_head\":%lld,",
                           i, i, i % 8, i % 64, 100 + (long)(rnd() % 4000), nc, (long long)t,
                           (long long)t, (long long)st, (long long)st, (long long)st,
                           (long long)st + 20000, (long long)c - 1000);
        fwrite(out, 1, (size_t)len, stdout);
        if (err) {
            printf("\"t_end\":%lld,\"status\":500,\"chunks\":[],\"error\":{\"code\":500,"
                   "\"type\":\"http\",\"message\":\"overloaded\"},\"cancelled\":false}\n",
                   (long long)c);
            continue;
        }
        int64_t first = c, last = c;
        len = 0;
        len += snprintf(out + len, sizeof out - (size_t)len, "\"chunks\":[");
        for (long k = 0; k < nc; k++) {
            len += snprintf(out + len, sizeof out - (size_t)len, "%s[%lld,%d]", k ? "," : "",
                            (long long)c, k ? 1 : 0);
            last = c;
            c += 5000000 + (int64_t)(rnd() % 20000000);
        }
        len += snprintf(out + len, sizeof out - (size_t)len,
                        "],\"usage\":{\"prompt_tokens\":512,\"completion_tokens\":%ld},"
                        "\"finish\":\"stop\",\"bad_chunks\":0,\"cancelled\":false}\n",
                        nc - 1);
        printf("\"t_first\":%lld,\"t_last\":%lld,\"t_end\":%lld,\"status\":200,",
               (long long)first, (long long)last, (long long)last + 100000);
        fwrite(out, 1, (size_t)len, stdout);
    }
    return 0;
}
