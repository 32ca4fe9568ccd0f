//! Every source file of ours, by pipeline stage. One file per area under build/sources/
//! so work on one stage does not touch another's list.
const util = @import("sources/util.zig");
const trace = @import("sources/trace.zig");
const proto = @import("sources/proto.zig");
const net = @import("sources/net.zig");
const mock = @import("sources/mock.zig");
const replay = @import("sources/replay.zig");
const report = @import("sources/report.zig");
const cli = @import("sources/cli.zig");
const profile = @import("sources/profile.zig");
const telemetry = @import("sources/telemetry.zig");
const tok = @import("sources/tok.zig");
const media = @import("sources/media.zig");
const chat = @import("sources/chat.zig");

/// Library sources (relative to src/), linked into the binary and the test runner.
pub const lib = util.src ++ proto.src ++ trace.src ++ net.src ++ mock.src ++ replay.src ++ report.src ++ cli.src ++ profile.src ++ telemetry.src ++ tok.src ++ media.src ++ chat.src;
/// The binary's entry point (relative to src/).
pub const main = [_][]const u8{"cli/main.c"};
/// Unit tests and the fuzz regression driver (relative to tests/).
pub const unit_tests = [_][]const u8{ "unit/runner.c", "fuzz/regression.c" } ++
    util.tests ++ proto.tests ++ trace.tests ++ net.tests ++ mock.tests ++ replay.tests ++ report.tests ++ cli.tests ++ profile.tests ++ telemetry.tests ++ tok.tests ++ media.tests;

/// Files compiled into the binary as zstd-compressed blobs (besides the corpus).
pub const templates = report.templates;
