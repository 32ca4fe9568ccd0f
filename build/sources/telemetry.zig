//! Sources of the telemetry stage (relative to src/): the Prometheus text parser and the
//! scraper; and its unit tests and fuzz harnesses (relative to tests/).
pub const src = [_][]const u8{ "telemetry/prom.c", "telemetry/scrape.c" };
pub const tests = [_][]const u8{ "unit/test_prom.c", "unit/test_scrape.c", "fuzz/fuzz_prom.c" };
