//! Sources of the cli layer (relative to src/; main.c is listed in sources.zig). Each stage
//! lists its own cli/cmd_<name>.c in its area file.
pub const src = [_][]const u8{"cli/cli.c"};
pub const tests = [_][]const u8{};
