//! Sources of the net stage (relative to src/) and its unit tests (relative to tests/).
//! http1.c, sse.c and tls.c are listed by proto.zig.
pub const src = [_][]const u8{ "net/endpoint.c", "net/conn.c", "net/rxstamp.c" };
pub const tests = [_][]const u8{ "unit/test_endpoint.c", "unit/test_rxstamp.c", "fuzz/fuzz_endpoint.c", "fuzz/fuzz_url.c" };
