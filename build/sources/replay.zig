//! Sources of the replay stage (relative to src/) and its unit tests (relative to tests/).
pub const src = [_][]const u8{
    "replay/record.c", "replay/sched.c",   "replay/worker.c",
    "replay/writer.c", "replay/replay.c", "replay/resolver.c",
    "replay/shard.c",    "replay/loadshape.c", "replay/control.c",
    "replay/netprobe.c",
    "cli/cmd_replay.c",
};
pub const tests = [_][]const u8{ "unit/test_record.c", "unit/test_replay.c", "unit/test_sched.c", "unit/test_shard.c", "unit/test_loadshape.c", "fuzz/fuzz_shard_args.c", "fuzz/fuzz_rate_series.c" };
