/* Dataset loaders (JSONL formats, ShareGPT, CSV traces). */
#include "dataset.h"

int dataset_mooncake(struct dataset *ds, const char *path, struct diag *d)
{
    (void)ds;
    return diag_at(d, ERR_UNSUPPORTED, path, 0, "mooncake_trace: not implemented yet");
}
int dataset_single_turn(struct dataset *ds, const char *path, struct diag *d)
{
    (void)ds;
    return diag_at(d, ERR_UNSUPPORTED, path, 0, "single_turn: not implemented yet");
}
int dataset_multi_turn(struct dataset *ds, const char *path, struct diag *d)
{
    (void)ds;
    return diag_at(d, ERR_UNSUPPORTED, path, 0, "multi_turn: not implemented yet");
}
int dataset_random_pool(struct dataset *ds, const char *path, struct diag *d)
{
    (void)ds;
    return diag_at(d, ERR_UNSUPPORTED, path, 0, "random_pool: not implemented yet");
}
int dataset_sharegpt(struct dataset *ds, const char *path, struct diag *d)
{
    (void)ds;
    return diag_at(d, ERR_UNSUPPORTED, path, 0, "sharegpt: not implemented yet");
}
int dataset_csv(struct dataset *ds, const char *path, const char *kind, struct diag *d)
{
    (void)ds;
    return diag_at(d, ERR_UNSUPPORTED, path, 0, "%s CSV: not implemented yet", kind);
}
