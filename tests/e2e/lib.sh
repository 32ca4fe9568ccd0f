# Helpers for e2e cases (source it: . "$E2E_ROOT/tests/e2e/lib.sh").
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_exit CODE CMD...: runs CMD, fails unless it exits with CODE; stderr kept in $E2E_TMP/stderr.
expect_exit() {
    local want=$1; shift
    set +e; "$@" >"$E2E_TMP/stdout" 2>"$E2E_TMP/stderr"; local got=$?; set -e
    [ "$got" = "$want" ] || { cat "$E2E_TMP/stderr" >&2; fail "exit $got, wanted $want: $*"; }
}
# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# wait_port PORT: waits up to 10 s for something to listen on 127.0.0.1:PORT.
wait_port() {
    for _ in $(seq 100); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.1
    done
    fail "nothing listening on port $1"
}
