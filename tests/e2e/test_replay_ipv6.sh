# IPv6: a bracketed literal URL reaches a server listening on ::1 only.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
"$METRONOME" mock --host ::1 --port 0 --ttft 1ms --itl 1ms >mock.out 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null' EXIT
for _ in $(seq 50); do grep -q listening mock.out && break; sleep 0.1; done
port=$(sed -n 's/.*\]:\([0-9]*\).*/\1/p' mock.out | head -1)
[ -n "$port" ] || fail "mock did not listen on ::1: $(cat mock.out)"
"$METRONOME" pack -m m --streaming --request-count 6 --isl 4 --osl 3 -o t.jsonl.zst 2>/dev/null
expect_exit 0 "$METRONOME" replay t.jsonl.zst --url "http://[::1]:$port" --concurrency 2 -o v6 -q
n=$(zstd -dc v6/records.jsonl.zst | grep -c '"status":200')
[ "$n" = 6 ] || fail "IPv6: $n of 6 requests succeeded"
