//! Sources of the tokenizer foundations (relative to src/): Unicode data and the regex
//! engine, and their unit tests (relative to tests/). The engine's files are added here too.
pub const src = [_][]const u8{
    "tok/ucd.c",        "tok/regex.c",
    "tok/tok_load.c",   "tok/tok_text.c",   "tok/tok_model.c", "tok/tok_encode.c", "tok/tok_decode.c",
    "cli/cmd_tokenize.c",
};
pub const tests = [_][]const u8{
    "unit/test_ucd.c", "unit/test_regex.c", "fuzz/fuzz_tok_regex.c",
    "unit/test_tok.c", "fuzz/fuzz_tok_load.c", "fuzz/fuzz_tok_encode.c",
};
