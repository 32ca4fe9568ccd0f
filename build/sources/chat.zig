//! Sources of `metronome chat` (relative to src/): AIPerf's interactive sanity check.
pub const src = [_][]const u8{"cli/cmd_chat.c"};
pub const tests = [_][]const u8{};
