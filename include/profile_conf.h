/*
 * profile_conf: configuration files for `metronome profile` (docs/cli-profile.md).
 *
 * The format is a strict subset of YAML: one flat mapping from option names (AIPerf's
 * long names or aliases, without dashes, '-' or '_') to a scalar, a flow list
 * ("[a, b]") or a block list ("- a" lines under the key), with '#' comments. Scalars may
 * be plain, "double-quoted" (\" \\ \n \t escapes) or 'single-quoted'. ${VAR} and
 * ${VAR:default} are replaced from the environment, as in AIPerf's config loader.
 * Anything else (nested mappings, anchors, tabs, multi-line scalars, duplicate keys,
 * unknown options) is an error naming FILE:LINE, never a guess.
 *
 * Loading turns the file into command-line arguments ("--name=value"), so a file and a
 * command line mean exactly the same thing and go through the same checks.
 * Ownership: the caller owns the argv it passed in; strings pushed are owned by it.
 */
#ifndef METRONOME_PROFILE_CONF_H
#define METRONOME_PROFILE_CONF_H

#include "err.h"
#include "profile.h"

#define PROFILE_CONF_MAX (1u << 20) /* a config file larger than 1 MiB is refused */

/* Appends the file's options to out. 0, or ERR_IO (unreadable), ERR_PARSE (syntax),
 * ERR_INVALID (unknown option, bad value), ERR_UNSUPPORTED (a refused option; d->msg is
 * "FILE:LINE: not supported yet: --flag"); d names FILE:LINE. */
int profile_conf_load(const char *path, struct profile_argv *out, struct diag *d);

/* Parses text already in memory (name is used in messages). Same contract. */
int profile_conf_parse(const char *name, const char *text, size_t len, struct profile_argv *out,
                       struct diag *d);

/* Writes the commented template (every supported option with its default) to path,
 * atomically. 0 or ERR_IO. */
int profile_conf_template(const char *path, struct diag *d);

#endif
