#!/usr/bin/env bash
# What one closed-loop request costs the client, in counts that a shared machine does not
# blur: system calls per request (strace -c -f, every thread) and user-space instructions
# per request (valgrind --tool=callgrind), metronome replay beside wrk, same mock, same
# body, 64 connections, one I/O thread each (the setup of bench/replay_wrk.sh).
# Instructions are the marginal cost: metronome runs N and 2N requests and the difference
# is divided by N, so the trace validation and start-up do not count; wrk runs D and 2D
# seconds and the difference is divided by the difference in requests. Kernel work per
# syscall is not counted here (no hardware counters on this VM): the CPU-time ratio comes
# from bench/replay_wrk.sh on an idle machine.
#   bench/replay_cost.sh [BINARY] [N] [D]
. "$(dirname "$0")/replay_common.sh"
n=${2:-4000} d=${3:-2}
command -v wrk >/dev/null || "$root/scripts/ensure-deb" wrk
command -v strace >/dev/null || "$root/scripts/ensure-deb" strace
command -v valgrind >/dev/null || "$root/scripts/ensure-deb" valgrind
"$bin" pack -m m --request-count 20000 --isl 16 --osl 1 -o "$out/t.jsonl.zst" 2>/dev/null
body=$("$bin" inspect --bodies "$out/t.jsonl.zst" 2>/dev/null | head -1 || true)
python3 -c "import json,sys; b=sys.argv[1]; print('wrk.method = \"POST\"\nwrk.body = ' + json.dumps(b) + '\nwrk.headers[\"Content-Type\"] = \"application/json\"')" "$body" >"$out/post.lua"
start_mock mock --ttft 0 --itl 0 --osl 1
url="http://127.0.0.1:$port/v1/chat/completions"
replay() { # COUNT OUTDIR: one closed-loop run of COUNT requests
    "$bin" replay "$out/t.jsonl.zst" --url "127.0.0.1:$port" --concurrency 64 --workers 1 \
        --request-count "$1" -o "$2" -q --overwrite
}
# syscalls: "calls" column of strace's summary, every syscall, all threads
strace -f -c -o "$out/m.strace" "$bin" replay "$out/t.jsonl.zst" --url "127.0.0.1:$port" --concurrency 64 \
    --workers 1 --request-count "$n" -o "$out/run_s" -q --overwrite
strace -f -c -o "$out/w.strace" wrk -t1 -c64 -d"${d}s" -s "$out/post.lua" "$url" >"$out/w.strace.out"
wn=$(awk '/requests in/ {print $1}' "$out/w.strace.out")
# instructions: callgrind's total (Ir), marginal over the second half
ir() { sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$1"; }
valgrind --tool=callgrind --callgrind-out-file="$out/m1.cg" "$bin" replay "$out/t.jsonl.zst" --url "127.0.0.1:$port" \
    --concurrency 64 --workers 1 --request-count "$n" -o "$out/run_1" -q --overwrite 2>"$out/m1.vg"
valgrind --tool=callgrind --callgrind-out-file="$out/m2.cg" "$bin" replay "$out/t.jsonl.zst" --url "127.0.0.1:$port" \
    --concurrency 64 --workers 1 --request-count $((2 * n)) -o "$out/run_2" -q --overwrite 2>"$out/m2.vg"
valgrind --tool=callgrind --callgrind-out-file="$out/w1.cg" wrk -t1 -c64 -d"${d}s" -s "$out/post.lua" "$url" \
    >"$out/w1.out" 2>"$out/w1.vg"
valgrind --tool=callgrind --callgrind-out-file="$out/w2.cg" wrk -t1 -c64 -d"$((2 * d))s" -s "$out/post.lua" "$url" \
    >"$out/w2.out" 2>"$out/w2.vg"
w1=$(awk '/requests in/ {print $1}' "$out/w1.out") w2=$(awk '/requests in/ {print $1}' "$out/w2.out")
for f in run_s run_1 run_2; do # every request answered and recorded
    got=$(zstd -dcq "$out/$f/records.jsonl.zst" | grep -vc '"error"' || true)
    want=$([ $f = run_2 ] && echo $((2 * n)) || echo "$n")
    [ "$got" = "$want" ] || echo "warning: $f: $got of $want requests succeeded" >&2
done
python3 - "$out" "$n" "$wn" "$w1" "$w2" "$(ir "$out/m1.vg")" "$(ir "$out/m2.vg")" "$(ir "$out/w1.vg")" "$(ir "$out/w2.vg")" <<'EOF'
import re, sys
out, n, wn, w1, w2, m1, m2, i1, i2 = sys.argv[1], *map(int, sys.argv[2:])
def calls(path):
    per = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and f[-1] != 'total' and re.match(r'^[\d.]+$', f[0]) and f[3].isdigit():
            per[f[-1]] = int(f[3])
    return per
m, w = calls(f'{out}/m.strace'), calls(f'{out}/w.strace')
def top(per, count):
    return ', '.join(f'{k} {v / count:.2f}' for k, v in sorted(per.items(), key=lambda kv: -kv[1])[:4])
ms, ws = sum(m.values()) / n, sum(w.values()) / wn
mi, wi = (m2 - m1) / n, (i2 - i1) / (w2 - w1)
print(f'syscalls per request: metronome {ms:.2f} ({top(m, n)}), wrk {ws:.2f} ({top(w, wn)})')
print(f'user instructions per request: metronome {mi:,.0f}, wrk {wi:,.0f} (callgrind, marginal)')
with open(f'{out}/figures', 'w') as f:
    print(ms, ws, mi, wi, file=f)
EOF
read -r ms ws mi wi <"$out/figures"
result metronome_syscalls_per_request "$ms"
result wrk_syscalls_per_request "$ws"
result metronome_instructions_per_request "$mi"
result wrk_instructions_per_request "$wi"
