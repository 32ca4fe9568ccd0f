#!/usr/bin/env bash
# Runs every replay benchmark at the issue's sizes and keeps the output in
# bench/out/replay_all.txt:   bench/replay_all.sh [BINARY]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../zig-out/bin/metronome}
mkdir -p "$here/out"
{
    bash "$here/replay_lateness.sh" "$bin" 5000 30
    bash "$here/replay_wrk.sh" "$bin" 64 10
    bash "$here/replay_ttft.sh" "$bin" 1000
    bash "$here/replay_scale.sh" "$bin" 10000 1000
} 2>&1 | tee "$here/out/replay_all.txt"
