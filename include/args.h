/*
 * args: command-line options for every subcommand, declared as a table of specs.
 * Accepts --name VALUE, --name=VALUE, -x VALUE, repeated options, and positionals
 * (everything after "--" is positional). An unknown option is one diag line naming it,
 * with "did you mean" when a known name is close; the CLI maps that to exit 2.
 * Values are views into argv (never copied); struct args owns only its arrays.
 */
#ifndef METRONOME_ARGS_H
#define METRONOME_ARGS_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum arg_kind {
    ARG_FLAG,  /* no value; --name=false and --no-name turn it off */
    ARG_VALUE, /* one value; the last occurrence wins */
    ARG_MULTI, /* repeatable; every value kept in order */
};

struct arg_spec {
    const char *name;    /* canonical long name without dashes, e.g. "input-file" */
    const char *aliases; /* other spellings with dashes, space-separated: "-i --input" */
    enum arg_kind kind;
    const char *metavar; /* for help, e.g. "FILE"; NULL for flags */
    const char *def;     /* default shown in help, or NULL */
    const char *help;    /* one line */
};

struct args {
    const struct arg_spec *specs;
    size_t nspecs;
    const char **value;  /* [nspecs]: last value (or "true"/"false" for flags), NULL if unset */
    const char ***multi; /* [nspecs]: for ARG_MULTI, the values */
    size_t *count;       /* [nspecs]: occurrences */
    const char **pos;    /* positionals */
    size_t npos;
};

/* Parses argv[0..argc) (argv[0] is NOT skipped: pass argv+1 for a subcommand's own
 * arguments). On error fills d and returns ERR_INVALID; a is then freed already. */
int args_parse(struct args *a, const struct arg_spec *specs, size_t nspecs, int argc, char **argv,
               struct diag *d);
void args_free(struct args *a);

/* Lookups by canonical name; an unknown name is a programming error (abort). */
const char *args_get(const struct args *a, const char *name);
bool args_has(const struct args *a, const char *name);
bool args_flag(const struct args *a, const char *name);
size_t args_count(const struct args *a, const char *name);
const char *args_multi(const struct args *a, const char *name, size_t i);

/* Typed getters: leave *out untouched when unset; ERR_INVALID with a diag naming the
 * option when the value does not parse or is out of [min, max]. */
int args_long(const struct args *a, const char *name, long min, long max, long *out,
              struct diag *d);
int args_double(const struct args *a, const char *name, double min, double max, double *out,
                struct diag *d);
/* Value must be one of the '|'-separated choices. */
int args_choice(const struct args *a, const char *name, const char *choices, const char **out,
                struct diag *d);

/* Prints "Usage: ..." and one line per option. */
void args_print_help(FILE *f, const char *usage, const char *summary, const struct arg_spec *specs,
                     size_t nspecs);

/* Edit distance, for "did you mean" suggestions. */
size_t args_edit_distance(const char *a, const char *b);

#endif
