#!/bin/bash
# Submits a sharded replay to Slurm: an N-task job array (metronome-shard.sbatch) that
# starts at one instant, and a report job that runs when the array has ended.
#
#   deploy/slurm/submit.sh -n N -t TRACE -u URL -o OUT_DIR [-l LEAD_S] [-b BIN] [-- REPLAY_ARGS...]
#
# TRACE, OUT_DIR and BIN must be on a file system every node sees. LEAD_S (default 120):
# the start is now + LEAD_S; it must cover the array's wait in the queue, or the tasks that
# start late fail with "--start-at: the start passed" and the report names them missing.
# More sbatch options for the array (a partition, --exclusive to put one shard per node,
# --cpus-per-task) go in $SBATCH_SHARD_ARGS; for the report job in $SBATCH_REPORT_ARGS.
# Prints "array JOBID report JOBID".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n= trace= url= out= lead=120 bin=metronome
while getopts "n:t:u:o:l:b:" o; do
    case $o in
    n) n=$OPTARG ;;
    t) trace=$OPTARG ;;
    u) url=$OPTARG ;;
    o) out=$OPTARG ;;
    l) lead=$OPTARG ;;
    b) bin=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ -n "$n" ] && [ -n "$trace" ] && [ -n "$url" ] && [ -n "$out" ] ||
    { echo "usage: $0 -n N -t TRACE -u URL -o OUT_DIR [-l LEAD_S] [-b BIN] [-- REPLAY_ARGS...]" >&2; exit 2; }
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "$0: -n must be a positive integer" >&2; exit 2; }
mkdir -p "$out"
start=$(( $(date +%s) + lead ))
export METRONOME_BIN=$bin METRONOME_TRACE=$trace METRONOME_URL=$url METRONOME_OUT=$out \
    METRONOME_START_AT=$start METRONOME_REPLAY_ARGS="$*"
# shellcheck disable=SC2086 # option lists
array=$(sbatch --parsable --array=0-$((n - 1)) --export=ALL --chdir="$out" \
    ${SBATCH_SHARD_ARGS:-} "$here/metronome-shard.sbatch")
array=${array%%;*}
# shellcheck disable=SC2086
report=$(sbatch --parsable --dependency=afterany:"$array" --export=ALL --chdir="$out" \
    ${SBATCH_REPORT_ARGS:-} "$here/metronome-report.sbatch")
echo "array ${array} report ${report%%;*} start ${start}"
