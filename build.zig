//! Builds the fully static `metronome` binary (x86_64-linux-musl, optimize=safe by default),
//! its unit-test runner, the fuzz-regression driver, and the host tool that embeds data
//! (the prompt corpus, report templates) into the binary. Third-party sources come from
//! vendor/src/, filled by vendor/fetch; every source file is listed explicitly.
const std = @import("std");
const deps = @import("build/deps.zig");
const ours = @import("build/sources.zig");

const version = "0.1.0";

/// Warnings are errors for our own code, not for vendored code.
/// The safe build keeps UBSan's traps except pointer-overflow: a check on every `p + n` in
/// the byte scanners that cost 8 % of a closed-loop request's instructions (29.97k → 27.43k,
/// docs/benchmarks.md) for arithmetic that would have to wrap the address space to trip it;
/// scripts/sanitize still runs every unit test under the full -fsanitize=undefined and ASan.
const our_cflags = [_][]const u8{
    "-std=c11",           "-Wall",                 "-Wextra",    "-Werror",
    "-Wshadow",           "-Wmissing-prototypes",  "-Wpedantic", "-Wno-gnu-zero-variadic-macro-arguments",
    "-Wstrict-prototypes", "-fno-strict-aliasing", "-D_GNU_SOURCE", "-fno-sanitize=pointer-overflow",
};

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{ .default_target = .{
        .cpu_arch = .x86_64,
        .os_tag = .linux,
        .abi = .musl,
    } });
    const optimize = b.option(std.builtin.Optimize, "optimize", "debug, safe (default), fast or small") orelse .safe;
    const strip = b.option(bool, "strip", "strip symbols from the binary") orelse false;

    const vendor = deps.addVendored(b, target, optimize);
    const host_zstd = deps.addZstd(b, b.graph.host, .fast, "zstd-host");

    // Host tool: turns a file into a C array, zstd-compressed if asked.
    const embed_mod = b.createModule(.{ .target = b.graph.host, .optimize = .fast, .link_libc = true });
    embed_mod.addCSourceFiles(.{ .root = b.path("tools"), .files = &.{"embed.c"}, .flags = &our_cflags });
    embed_mod.addIncludePath(b.path("vendor/src/zstd/lib"));
    embed_mod.linkLibrary(host_zstd);
    const embed = b.addExecutable(.{ .name = "embed", .root_module = embed_mod });

    const gen = b.addWriteFiles();
    const build_info = gen.add("build_info.h", b.fmt(
        \\#define METRONOME_VERSION "{s}"
        \\#define METRONOME_GIT_HASH "{s}"
        \\#define METRONOME_TARGET "{s}"
        \\#define METRONOME_OPTIMIZE "{s}"
        \\
    , .{ version, gitHash(b), target.result.linuxTriple(b.allocator) catch "unknown", @tagName(optimize) }));
    _ = build_info;

    const embedded = b.addWriteFiles();
    _ = embedded;
    const data_c = embedData(b, embed);
    const ucd_dir = ucdTables(b, embed_mod.resolved_target.?);

    const app = b.createModule(.{ .target = target, .optimize = optimize, .link_libc = true, .strip = strip });
    configureOurs(b, app, gen.getDirectory(), vendor, data_c, ucd_dir);
    app.addCSourceFiles(.{ .root = b.path("src"), .files = &ours.main, .flags = &our_cflags });
    const exe = b.addExecutable(.{ .name = "metronome", .root_module = app });
    b.installArtifact(exe);

    const run_exe = b.addRunArtifact(exe);
    run_exe.addPassthruArgs();
    b.step("run", "run metronome with the given arguments").dependOn(&run_exe.step);

    // Unit tests: one tests/unit/test_<module>.c per module, linked with every module.
    const tmod = b.createModule(.{ .target = target, .optimize = optimize, .link_libc = true });
    configureOurs(b, tmod, gen.getDirectory(), vendor, data_c, ucd_dir);
    tmod.addIncludePath(b.path("tests"));
    tmod.addCSourceFiles(.{ .root = b.path("tests"), .files = &ours.unit_tests, .flags = &our_cflags });
    const tests = b.addExecutable(.{ .name = "metronome-tests", .root_module = tmod });
    b.installArtifact(tests);
    const run_tests = b.addRunArtifact(tests);
    run_tests.setCwd(b.path("."));
    run_tests.addPassthruArgs();
    b.step("test", "run the unit tests and the fuzz-corpus regression").dependOn(&run_tests.step);
}

fn configureOurs(b: *std.Build, m: *std.Build.Module, gen_dir: std.Build.LazyPath, vendor: deps.Vendored, data_c: std.Build.LazyPath, ucd_dir: std.Build.LazyPath) void {
    m.addIncludePath(b.path("include"));
    m.addIncludePath(gen_dir);
    m.addIncludePath(ucd_dir);
    m.addCSourceFile(.{ .file = ucd_dir.path(b, "ucd_tables.c"), .flags = &.{"-std=c11"} });
    vendor.addIncludes(b, m);
    m.addCSourceFiles(.{ .root = b.path("src"), .files = &ours.lib, .flags = &our_cflags });
    m.addCSourceFile(.{ .file = data_c, .flags = &.{"-std=c11"} });
    m.linkLibrary(vendor.mbedtls);
    m.linkLibrary(vendor.zstd);
    m.linkLibrary(vendor.cjson);
    m.linkLibrary(vendor.csv);
}

/// One generated C file holding every embedded blob (see tools/embed.c).
fn embedData(b: *std.Build, embed: *std.Build.Step.Compile) std.Build.LazyPath {
    const run = b.addRunArtifact(embed);
    const out = run.addOutputFileArg("embedded_data.c");
    run.addArgs(&.{ "--zstd", "corpus" });
    run.addFileArg(b.path("vendor/src/corpus/shakespeare.txt"));
    for (ours.templates) |t| {
        run.addArgs(&.{ "--zstd", t.symbol });
        run.addFileArg(b.path(t.path));
    }
    return out;
}

/// The Unicode tables (src/tok/ucd.c): tools/ucdgen.c, built for the host, reads the pinned
/// UCD files and writes ucd_tables.c and ucd_tables.h into the returned directory.
fn ucdTables(b: *std.Build, host: std.Build.ResolvedTarget) std.Build.LazyPath {
    const m = b.createModule(.{ .target = host, .optimize = .fast, .link_libc = true });
    m.addCSourceFiles(.{ .root = b.path("tools"), .files = &.{"ucdgen.c"}, .flags = &our_cflags });
    const gen = b.addExecutable(.{ .name = "ucdgen", .root_module = m });
    const run = b.addRunArtifact(gen);
    const out = run.addOutputDirectoryArg("ucd");
    for ([_][]const u8{ "UnicodeData.txt", "PropList.txt", "DerivedNormalizationProps.txt", "SpecialCasing.txt", "CaseFolding.txt", "DerivedAge.txt", "DerivedCoreProperties.txt" }) |f|
        run.addFileArg(b.path(b.fmt("vendor/src/ucd/{s}", .{f})));
    return out;
}

fn gitHash(b: *std.Build) []const u8 {
    if (b.option([]const u8, "git-hash", "git commit baked into --version (default: asks git)")) |h| return h;
    var code: u8 = 0;
    const out = b.runAllowFail(&.{ "git", "rev-parse", "--short=12", "HEAD" }, &code, .ignore) catch return "unknown";
    return std.mem.trim(u8, out, " \n\r\t");
}
