//! Sources of the mock stage (relative to src/) and its unit tests (relative to tests/).
pub const src = [_][]const u8{
    "mock/req.c", "mock/gen.c", "mock/fault.c", "mock/server.c", "cli/cmd_mock.c",
};
pub const tests = [_][]const u8{ "unit/test_mock.c", "unit/test_mock_server.c", "fuzz/fuzz_mock_req.c" };
