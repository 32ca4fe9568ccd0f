# Hostile files and faults (issue 17): run.json and records with numbers past int64 or
# past what the report can subtract, outputs that are not regular files, a full disk,
# signals during pack, truncated and random records under inspect.
. "$E2E_ROOT/tests/e2e/lib.sh"
golden="$E2E_ROOT/testdata/report/golden"

# --- run.json and records numbers out of range: one line naming file and field, exit 1,
# never a trap (exit 132 before).
for edit in 's/"ended_real_ns":[0-9]*/"ended_real_ns":1e19/' \
            's/"real_ns":[0-9]*/"real_ns":9223372036854775807/' \
            's/"index":0/"index":1e300/' 's/"seed":7/"seed":1e19/'; do
    rd="$E2E_TMP/range"
    rm -rf "$rd" && mkdir -p "$rd"
    cp "$golden/records.jsonl" "$rd/"
    sed "$edit" "$golden/run.json" >"$rd/run.json"
    expect_exit 1 "$METRONOME" report -q "$rd" -o "$E2E_TMP/ro"
    grep -q "^metronome: error: $rd/run.json: field '.*': value out of range" "$E2E_TMP/stderr" ||
        fail "range message for $edit: $(cat "$E2E_TMP/stderr")"
done
rd="$E2E_TMP/range"
cp "$golden/run.json" "$rd/run.json"
printf '%s\n' '{"i":0,"t_start":-9223372036854775807,"t_end":9223372036854775807,"status":200}' \
    >"$rd/records.jsonl"
expect_exit 1 "$METRONOME" report -q "$rd" -o "$E2E_TMP/ro"
grep -q "records.jsonl:1: column 18: field 't_start': value out of range" "$E2E_TMP/stderr" ||
    fail "records range message: $(cat "$E2E_TMP/stderr")"

# --- outputs that are not regular files (pack -o): written through or refused, never
# replaced. Fake device nodes live in the scratch dir (mknod needs root; skipped without).
cd "$E2E_TMP"
P=("$METRONOME" pack -m m --conversation-num 5 --isl 8 --osl 2)
mkfifo fifo
(cat fifo >from_fifo) &
expect_exit 0 "${P[@]}" -o fifo
wait
[ -p fifo ] || fail "the FIFO was replaced"
zstd -dc from_fifo | sed -n 1p | grep -q metronome_trace || fail "nothing came through the FIFO"
echo old >real && ln -s real link
expect_exit 0 "${P[@]}" -o link
[ -L link ] || fail "the symlink was replaced instead of followed"
zstd -dc real | sed -n 1p | grep -q metronome_trace || fail "the symlink's target was not written"
ln -s missing dangling
expect_exit 1 "${P[@]}" -o dangling
grep -q "dangling: is a symbolic link to a missing file" "$E2E_TMP/stderr" || fail "dangling message"
mkdir adir
expect_exit 1 "${P[@]}" -o adir
grep -q "adir: is a directory; refusing to write over it" "$E2E_TMP/stderr" || fail "dir message"
expect_exit 0 "${P[@]}" -o -
zstd -dc "$E2E_TMP/stdout" | sed -n 1p | grep -q metronome_trace || fail "-o - is not stdout"
if [ "$(id -u)" = 0 ]; then
    mknod fakenull c 1 3 && mknod fakefull c 1 7 && mknod fakeblk b 7 200
    expect_exit 0 "${P[@]}" -o fakenull
    [ -c fakenull ] || fail "fake /dev/null replaced"
    expect_exit 1 "${P[@]}" -o fakefull
    [ -c fakefull ] || fail "fake /dev/full replaced"
    grep -q "fakefull: cannot write: No space left on device" "$E2E_TMP/stderr" ||
        fail "full device message: $(cat "$E2E_TMP/stderr")"
    expect_exit 1 "${P[@]}" -o fakeblk
    [ -b fakeblk ] || fail "fake block device replaced"
    grep -q "fakeblk: is a block device" "$E2E_TMP/stderr" || fail "block device message"
fi
ls -a | grep -q 'tmp' && fail "temporary file left behind: $(ls -a)"

# --- a signal during pack removes its temporary files (the body alone was 13 MB after 3 s).
for sig in TERM INT; do
    (trap - INT; exec "$METRONOME" pack -m m --conversation-num 2000000 --isl 2000 -o sig.zst) \
        2>/dev/null &
    pid=$!
    for _ in $(seq 100); do ls sig.zst.body.tmp.* >/dev/null 2>&1 && break; sleep 0.05; done
    ls sig.zst.body.tmp.* >/dev/null 2>&1 || fail "pack never started its body file"
    kill -"$sig" "$pid"
    set +e; wait "$pid"; st=$?; set -e
    [ "$st" -gt 128 ] || fail "pack was not killed by SIG$sig (exit $st)"
    ls -a | grep -q 'sig.zst' && fail "SIG$sig left $(ls -a | grep sig.zst)"
done

# --- report: a check that fails late (--slice-duration making 10^7 slices) leaves no export.
rd="$E2E_TMP/slices"
mkdir -p "$rd"
cp "$golden/run.json" "$rd/"
printf '%s\n' '{"i":0,"t_start":1000,"t_first":2000,"t_last":3000,"t_end":4000,"status":200,"chunks":[[2000,1],[3000,1]]}' \
    '{"i":1,"t_start":10000000000,"t_first":10000002000,"t_last":10000003000,"t_end":10000004000,"status":200,"chunks":[[10000002000,1],[10000003000,1]]}' \
    >"$rd/records.jsonl"
expect_exit 1 "$METRONOME" report -q "$rd" -o "$E2E_TMP/so" --slice-duration 1e-06
grep -q "makes 10000000 slices" "$E2E_TMP/stderr" || fail "slice message"
[ ! -e "$E2E_TMP/so" ] || fail "a failed report left $(find "$E2E_TMP/so")"

# --- a full disk names its cause (ENOSPC), for pack, replay and report; nothing half
# written stays. Needs root for mount.
if [ "$(id -u)" = 0 ] && mkdir full && mount -t tmpfs -o size=64k tmpfs full 2>/dev/null; then
    trap 'umount "$E2E_TMP/full" 2>/dev/null || true' EXIT
    expect_exit 1 "$METRONOME" pack -m m --conversation-num 3000 -o full/t.zst
    grep -q "cannot write: No space left on device" "$E2E_TMP/stderr" ||
        fail "pack ENOSPC: $(cat "$E2E_TMP/stderr")"
    [ -z "$(ls -A full)" ] || fail "pack left $(ls -A full)"
    dd if=/dev/zero of=full/fill bs=1k count=200 2>/dev/null || true
    expect_exit 1 "$METRONOME" report -q "$golden" -o full/o
    grep -q "cannot write: No space left on device" "$E2E_TMP/stderr" ||
        fail "report ENOSPC: $(cat "$E2E_TMP/stderr")"
    [ ! -e full/o ] || fail "report left $(find full/o)"
    rm -rf full/o full/fill
    # replay: run.json fits, the records do not.
    port=$(free_port)
    "$METRONOME" mock --port "$port" --ttft 0 --itl 0 --osl 2000 >/dev/null 2>&1 &
    mock=$!
    wait_port "$port"
    "$METRONOME" pack -m m --request-count 400 --isl 8 --osl 2000 -o big.zst 2>/dev/null
    dd if=/dev/zero of=full/fill bs=1k count=44 2>/dev/null || true
    expect_exit 1 "$METRONOME" replay big.zst --url "127.0.0.1:$port" --concurrency 8 -q -o full/run
    kill "$mock"
    grep -q "records.jsonl.zst: cannot write records: No space left on device" "$E2E_TMP/stderr" ||
        fail "replay ENOSPC: $(cat "$E2E_TMP/stderr")"
    umount full
    trap - EXIT
fi

# --- records at the edges of their range go through every export (console, JSON, CSV,
# JSONL, HTML with its time bins, slices): an error or a report, never a trap (a span of
# 2^61 ns made report.html's bin count overflow an int).
rd="$E2E_TMP/edges"
mkdir -p "$rd"
cp "$golden/run.json" "$rd/"
lo=-288230376151711744 hi=288230376151711744
printf '%s\n' "{\"i\":0,\"t_start\":$lo,\"t_first\":$((lo + 1000)),\"t_last\":$((lo + 2000)),\"t_end\":$((lo + 3000)),\"status\":200,\"chunks\":[[$((lo + 1000)),1],[$((lo + 2000)),1]]}" \
    "{\"i\":1,\"t_start\":$((hi - 3000)),\"t_first\":$((hi - 2000)),\"t_last\":$((hi - 1000)),\"t_end\":$hi,\"status\":200,\"chunks\":[[$((hi - 2000)),1],[$((hi - 1000)),1]]}" \
    >"$rd/records.jsonl"
expect_exit 0 "$METRONOME" report "$rd" -o "$E2E_TMP/eo"
[ -s "$E2E_TMP/eo/report.html" ] || fail "no html for edge times"
expect_exit 1 "$METRONOME" report -q "$rd" -o "$E2E_TMP/eo2" --slice-duration 1
grep -q "slices (max 100000)" "$E2E_TMP/stderr" || fail "edge slices: $(cat "$E2E_TMP/stderr")"
