//! Sources of the util layer (relative to src/) and its unit tests (relative to tests/).
pub const src = [_][]const u8{
    "util/xalloc.c", "util/err.c",  "util/buf.c",  "util/rng.c",
    "util/jsonw.c",  "util/zio.c",  "util/args.c", "util/embedded.c",
};
pub const tests = [_][]const u8{
    "unit/test_buf.c", "unit/test_jsonw.c", "unit/test_rng.c", "unit/test_zio.c", "unit/test_args.c",
};
