/*
 * numfmt: fast number-to-text for the per-record export's hot loop. numfmt_double writes
 * the shortest decimal that reads back to exactly v (Python's repr, JSON-compatible:
 * "5.0", "66.66666666666666", "0.30000000000000004"), the same text as
 * json_format_double but without its snprintf/strtod trial loop for values in
 * [1e-4, 1e15) (exact 128-bit integer arithmetic); other values take the slow path.
 * Pure functions, thread-safe.
 */
#ifndef METRONOME_NUMFMT_H
#define METRONOME_NUMFMT_H

/* Writes v into out (>= 32 bytes), returns the length. NaN and infinities: "null". */
int numfmt_double(char *out, double v);

#endif
