//! Sources of the protocol layer: HTTP/1.1, SSE, TLS (relative to src/), and its tests.
pub const src = [_][]const u8{};
pub const tests = [_][]const u8{};
