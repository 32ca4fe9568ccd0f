/*
 * profile: `metronome profile`, AIPerf's one-shot command, as a plan over the three
 * stages. The option table holds every AIPerf 0.13 `profile` option name and alias (and
 * the seed's): each is either routed to the stage that implements it (pack, replay,
 * report), handled here, or refused with "not supported yet: --flag", so nothing is
 * silently ignored (docs/aiperf-compatibility.md lists them all).
 *
 * profile_plan_build turns argv (after an optional --config file, see profile_conf.h)
 * into one argument vector per stage, in the stages' own option names, with AIPerf
 * 0.13's defaults filled in where the stages' defaults differ. The stages then run
 * in-process through their cmd_* entry points, so profile accepts exactly what they do.
 *
 * Ownership: a plan owns every string it holds; profile_plan_free releases them.
 * Not thread-safe (one plan per thread; no globals).
 */
#ifndef METRONOME_PROFILE_H
#define METRONOME_PROFILE_H

#include "args.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

/* Where an option goes. */
enum profile_route {
    PROFILE_REFUSE = 0, /* a feature metronome lacks: refused by name */
    PROFILE_PACK = 1,
    PROFILE_REPLAY = 2,
    PROFILE_REPORT = 4,
    PROFILE_SELF = 8, /* handled by profile itself (artifact dir, UI, config, logs) */
};

struct profile_opt {
    struct arg_spec spec;
    unsigned route; /* enum profile_route bits */
};

/* The table, in AIPerf's help order. */
extern const struct profile_opt profile_opts[];
extern const size_t profile_nopts;

/* A growable argv whose strings are owned (NULL-terminated for convenience). */
struct profile_argv {
    char **v;
    int n, cap;
};

void profile_argv_push(struct profile_argv *a, const char *s);
void profile_argv_free(struct profile_argv *a);

enum profile_ui {
    PROFILE_UI_NONE,
    PROFILE_UI_SIMPLE,
};

struct profile_plan {
    struct profile_argv pack, replay, report;
    char *artifact_base; /* e.g. "artifacts" (the name is decided once the trace exists) */
    char *artifact_dir;  /* set when the user gave one; else profile_plan_name fills it */
    bool artifact_explicit;
    char *model;         /* first model, for the directory name */
    bool multi_model;    /* more than one model */
    char *endpoint_type; /* normalized: chat, completions, ... */
    long concurrency;    /* 0 when not given */
    char *request_rate;  /* as typed, NULL when not given */
    bool fixed_forced;   /* --fixed-schedule */
    bool fixed_refused;  /* --no-fixed-schedule */
    bool has_input_file;
    /* --conversation-num with --benchmark-duration: replay sends the packed conversations
     * at most once (the caller adds --request-count = the trace's requests), as AIPerf
     * stops starting sessions after N; without it replay would start the trace over. */
    bool sessions_cap;
    /* --user-centric-rate (as typed) and --num-users: pack writes the schedule, replay
     * sends it as a fixed schedule; NULL / 0 when not given */
    char *user_rate;
    long num_users;
    enum profile_ui ui;
    bool ui_fallback;       /* dashboard was asked for: print a note */
    int log_level;          /* 0 info, 1 debug, 2 trace */
    char *redacted_cmdline; /* the command line with secrets replaced, for logs */
    char *export_prefix;    /* --profile-export-prefix's base (report_export_prefix), or NULL */
};

/* Parses argv (argv[0] is not skipped: pass the subcommand's own arguments; a --config
 * file named in it is read first and the command line overrides it) and builds the
 * plan. Returns 0, or ERR_INVALID (usage: exit 2) / ERR_UNSUPPORTED (a refused flag,
 * d->msg is exactly "not supported yet: --flag"; exit 2) / ERR_IO, ERR_PARSE (config
 * file: d names FILE:LINE; exit 1). *help is set when --help was asked for (nothing
 * else is done then). */
int profile_plan_build(struct profile_plan *p, int argc, char **argv, bool *help, struct diag *d);
/* argv with the --config file's options first (those the command line gives again left
 * out), as profile_plan_build reads it. */
int profile_merged_argv(int argc, char **argv, struct profile_argv *out, struct diag *d);
void profile_plan_free(struct profile_plan *p);

/* The AIPerf 0.13 artifact directory name for the plan: <model>[_multi]-openai-<type>-
 * <stimulus>, '/' in the model replaced by '_'; stimulus "fixed_schedule" when timed,
 * else "concurrency<N>", "request_rate<R>" or both joined with '-'. Writes into out. */
void profile_plan_name(const struct profile_plan *p, bool timed, char *out, size_t cap);

/* AIPerf's endpoint type names (kebab or snake case) to metronome's, or NULL when
 * metronome has no such endpoint. */
const char *profile_endpoint_type(const char *aiperf_name);
/* AIPerf's custom dataset type names to pack's, or NULL when unsupported. */
const char *profile_dataset_type(const char *aiperf_name);

/* Prints the help for `metronome profile`. */
void profile_print_help(FILE *f);

#endif
