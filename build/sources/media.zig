//! Synthetic images and audio for pack (relative to src/): our own PNG, JPEG and WAV
//! encoders and the --image-* / --audio-* options; and their unit tests (relative to tests/).
pub const src = [_][]const u8{
    "trace/media.c", "trace/media_png.c", "trace/media_jpeg.c", "trace/media_wav.c",
};
pub const tests = [_][]const u8{"unit/test_media.c"};
