//! Sources of the report stage (relative to src/) and its unit tests (relative to tests/).
pub const src = [_][]const u8{};
pub const tests = [_][]const u8{};
const Template = struct { symbol: []const u8, path: []const u8 };
/// Report templates embedded into the binary (paths relative to the repository root).
pub const templates = [_]Template{};
