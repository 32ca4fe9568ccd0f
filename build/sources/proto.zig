//! Sources of the protocol layer: HTTP/1.1, SSE, TLS (relative to src/), and its tests.
pub const src = [_][]const u8{
    "net/http1.c", "net/sse.c", "net/tls.c",
};
pub const tests = [_][]const u8{
    "unit/test_http1.c",          "unit/test_sse.c",           "unit/test_tls.c",
    "fuzz/fuzz_http1_response.c", "fuzz/fuzz_http1_request.c", "fuzz/fuzz_chunked.c",
    "fuzz/fuzz_sse.c",            "fuzz/fuzz_http1_rx.c",
};
