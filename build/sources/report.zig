//! Sources of the report stage (relative to src/) and its unit tests (relative to tests/).
pub const src = [_][]const u8{
    "report/stats.c",          "report/numfmt.c",          "report/records_read.c", "report/metrics.c",
    "report/verdict.c",        "report/report.c",       "report/report_files.c",
    "report/report_console.c", "report/report_html.c",  "cli/cmd_report.c",
    "report/svgchart.c",       "report/compare.c",      "report/report_telemetry.c", "report/report_smagg.c",
    "report/report_netlat.c",
};
pub const tests = [_][]const u8{
    "unit/test_stats.c", "unit/test_metrics.c", "unit/test_numfmt.c", "unit/test_records_read.c", "unit/test_report.c", "unit/test_svgchart.c", "unit/test_compare.c", "unit/test_smagg.c", "fuzz/fuzz_records.c", "fuzz/fuzz_verdict.c", "fuzz/fuzz_run_json.c", "fuzz/fuzz_report_records.c",
};
const Template = struct { symbol: []const u8, path: []const u8 };
/// Report templates embedded into the binary (paths relative to the repository root).
pub const templates = [_]Template{
    .{ .symbol = "report_html", .path = "reports/templates/report.html" },
};
