/* Fuzzes run.json as `report` reads it: any bytes load or fail with a message; what loads
 * has every number inside the bounds records_read.h promises; and a full report over a
 * run dir holding those bytes (with two fixed records) ends with 0 or an error, never a
 * trap (the 1e19 and INT64_MAX casts of issue 17 were undefined behaviour). */
#include "fuzz.h"
#include "records_read.h"
#include "report.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

/* The scratch run dir goes when the process ends (unit runner or libFuzzer). */
static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz run_json: could not remove %s\n", dir);
}

static void write_file(const char *name, const void *p, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    FUZZ_ASSERT(f != NULL);
    FUZZ_ASSERT(fwrite(p, 1, n, f) == n);
    FUZZ_ASSERT(fclose(f) == 0);
}

FUZZ_TARGET(run_json)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/metronome-fuzz-run-%ld", (long)getpid());
        char cmd[128];
        snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
        FUZZ_ASSERT(system(cmd) == 0);
        atexit(remove_dir);
        static const char recs[] =
            "{\"i\":0,\"t_start\":1000,\"t_first\":2000,\"t_last\":3000,\"t_end\":4000,"
            "\"status\":200,\"chunks\":[[2000,1],[3000,1]]}\n"
            "{\"i\":1,\"t_start\":5,\"status\":503,\"error\":{\"code\":503,\"type\":\"http\","
            "\"message\":\"busy\"}}\n";
        write_file("records.jsonl", recs, sizeof recs - 1);
    }
    struct run_meta m;
    struct diag d = {0};
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    int rc = run_meta_parse(&m, dir, "run.json", text, size, &d);
    free(text);
    if (rc) {
        FUZZ_ASSERT(d.msg[0] != '\0');
        return 0;
    }
    FUZZ_ASSERT(m.anchor_real >= 0 && m.anchor_real <= ((int64_t)1 << 62));
    FUZZ_ASSERT(m.anchor_mono >= 0 && m.anchor_mono <= ((int64_t)1 << 60));
    FUZZ_ASSERT(m.started_real >= 0 && m.ended_real >= 0);
    FUZZ_ASSERT(m.shard_count >= 1 && m.shard_index >= 0 && m.shard_index < m.shard_count);
    FUZZ_ASSERT(m.sent >= -1 && m.reads_kernel >= -1 && m.reads_user >= -1);
    run_meta_free(&m);

    write_file("run.json", data, size);
    const char *dirs[1] = {dir};
    struct report_opts o = {0};
    o.out_dir = dir;
    o.exports = REPORT_JSON | REPORT_CSV;
    struct report_result res;
    d.msg[0] = '\0';
    if (report_run(dirs, 1, &o, &res, &d))
        FUZZ_ASSERT(d.msg[0] != '\0');
    report_result_free(&res);
    return 0;
}
