//! Sources of the cli layer (relative to src/; main.c is listed in sources.zig).
pub const src = [_][]const u8{ "cli/cmd_pack.c", "cli/cmd_inspect.c" };
pub const tests = [_][]const u8{};
