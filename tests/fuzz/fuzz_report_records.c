/* Fuzzes the records file as `report` reads it, through every export: any bytes as
 * records.jsonl (beside a fixed run.json) end in a report or an error message, never a
 * trap. Numbers at the edges of their ranges reach every sum, difference, time bin and
 * time slice (issue 17: a span of 2^61 ns overflowed report.html's bin count). */
#include "fuzz.h"
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz report_records: could not remove %s\n", dir);
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

FUZZ_TARGET(report_records)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/metronome-fuzz-rec-%ld", (long)getpid());
        char cmd[128];
        snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
        FUZZ_ASSERT(system(cmd) == 0);
        atexit(remove_dir);
        static const char run[] =
            "{\"format\":\"metronome-run\",\"version\":1,\"anchor\":{\"mono_ns\":0,"
            "\"real_ns\":1700000000000000000},\"config\":{\"endpoint_type\":\"chat\","
            "\"streaming\":true,\"seed\":7},\"complete\":false}\n";
        write_file("run.json", run, sizeof run - 1);
    }
    write_file("records.jsonl", data, size);
    const char *dirs[1] = {dir};
    struct report_opts o = {0};
    o.out_dir = dir;
    o.exports = REPORT_ALL & ~(unsigned)REPORT_CONSOLE;
    o.slice_duration_s = 1;
    struct report_result res;
    struct diag d = {0};
    if (report_run(dirs, 1, &o, &res, &d))
        FUZZ_ASSERT(d.msg[0] != '\0');
    report_result_free(&res);
    return 0;
}
