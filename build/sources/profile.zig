//! Sources of `metronome profile` and `metronome demo` (relative to src/) and their unit
//! tests (relative to tests/).
pub const src = [_][]const u8{
    "profile/options.c", "profile/conf.c", "profile/plan.c", "profile/files.c",
    "profile/sweep.c",   "profile/aggregate.c", "profile/tdist.c", "profile/recipe.c",
    "cli/cmd_profile.c",
    "cli/cmd_demo.c",
};
pub const tests = [_][]const u8{ "unit/test_profile.c", "unit/test_sweep.c", "unit/test_recipe.c" };
