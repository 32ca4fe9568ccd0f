//! Sources of the trace stage (relative to src/) and its unit tests (relative to tests/).
pub const src = [_][]const u8{
    "trace/jscan.c",       "trace/tokenizer.c",  "trace/corpus.c", "trace/i64map.c", "trace/tok_lookup.c", "trace/tok_open.c",
    "trace/trace_write.c", "trace/trace_read.c", "trace/trace_cache.c", "trace/synth.c",  "trace/dataset.c", "trace/seqdist.c", "trace/arrow.c", "trace/baseten.c",
    "trace/trace_sample.c", "trace/trace_users.c",
    "cli/cmd_pack.c",      "cli/cmd_inspect.c",
};
pub const tests = [_][]const u8{
    "unit/test_trace_jscan.c", "unit/test_trace_corpus.c", "unit/test_trace.c",
    "unit/test_trace_dataset.c", "unit/test_tok_lookup.c", "unit/test_seqdist.c",
    "fuzz/fuzz_trace_jscan.c",
    "fuzz/fuzz_trace_reader.c",
    "fuzz/fuzz_dataset_bailian.c",
    "unit/test_arrow.c",
    "fuzz/fuzz_arrow.c",
};
