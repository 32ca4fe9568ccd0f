/*
 * profile_files: the files AIPerf 0.13 writes into an artifact directory that metronome's
 * stages do not: inputs.json (every request payload, grouped by session) and
 * .aiperf_results_ready.json (the marker tools poll for). Both are written atomically.
 * Not thread-safe; no globals.
 */
#ifndef METRONOME_PROFILE_FILES_H
#define METRONOME_PROFILE_FILES_H

#include "err.h"

#include <stdbool.h>

/* Writes out_path as AIPerf's inputs.json: {"data": [{"session_id": S, "payloads": [BODY,
 * ...]}, ...]}, the bodies byte for byte as the trace holds them. Streams the trace:
 * consecutive requests of one session share an entry (a session whose turns are not
 * contiguous in the trace gets one entry per run of turns). 0 or the trace reader's /
 * ERR_IO error with d filled. */
int profile_write_inputs(const char *trace_path, const char *out_path, struct diag *d);

/* Writes DIR/.aiperf_results_ready.json from DIR/profile_export_aiperf.json's (its name
 * under export_prefix, report_export_name; NULL: the default)
 * was_cancelled and run.json's complete flag. 0 or ERR_IO / ERR_PARSE with d filled. */
int profile_write_ready(const char *dir, const char *export_prefix, struct diag *d);

/* A top-level boolean of a JSON file (run.json, an export), or dflt when the file or the
 * member is absent or the file does not parse. */
bool profile_json_flag(const char *path, const char *key, bool dflt);

#endif
