//! Sources of the mock stage (relative to src/) and its unit tests (relative to tests/).
pub const src = [_][]const u8{};
pub const tests = [_][]const u8{};
