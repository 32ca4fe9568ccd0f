# scripts/build-image: the OCI image is reproducible (two builds, byte-identical layout and
# tar), every blob matches its sha256 digest and size, the config's diff_id is the layer's
# uncompressed digest, and the binary runs from the unpacked image: in a chroot into the
# unpacked root file system (nothing else in it) it packs a trace, serves the mock and
# replays the trace against it.
. "$E2E_ROOT/tests/e2e/lib.sh"
build="$E2E_ROOT/scripts/build-image"
"$build" --binary "$METRONOME" "$E2E_TMP/a" >/dev/null
(cd / && umask 077 && TZ=Asia/Tokyo "$build" --binary "$METRONOME" "$E2E_TMP/b" >/dev/null)
diff -r "$E2E_TMP/a" "$E2E_TMP/b" || fail "layouts differ"
cmp "$E2E_TMP/a.tar" "$E2E_TMP/b.tar" || fail "archives differ"
SOURCE_DATE_EPOCH=1700000000 "$build" --binary "$METRONOME" "$E2E_TMP/c" >/dev/null
cmp -s "$E2E_TMP/a/index.json" "$E2E_TMP/c/index.json" && fail "SOURCE_DATE_EPOCH ignored"
python3 - "$E2E_TMP/a.tar" "$E2E_TMP/rootfs" "$METRONOME" <<'PY' || fail "unpack"
import gzip, hashlib, io, json, os, sys, tarfile
arch, root, binary = sys.argv[1:]
t = tarfile.open(arch)
def blob(d):
    data = t.extractfile("blobs/sha256/" + d["digest"].split(":")[1]).read()
    assert hashlib.sha256(data).hexdigest() == d["digest"].split(":")[1], d
    assert len(data) == d["size"], d
    return data
assert json.loads(t.extractfile("oci-layout").read()) == {"imageLayoutVersion": "1.0.0"}
idx = json.loads(t.extractfile("index.json").read())
man = json.loads(blob(idx["manifests"][0]))
cfg = json.loads(blob(man["config"]))
assert cfg["config"]["Entrypoint"] == ["/metronome"] and cfg["os"] == "linux", cfg
os.makedirs(root)
for d, diff in zip(man["layers"], cfg["rootfs"]["diff_ids"]):
    raw = gzip.decompress(blob(d))
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == diff
    lt = tarfile.open(fileobj=io.BytesIO(raw))
    names = sorted(m.name for m in lt.getmembers())
    assert names == ["metronome", "tmp"], names  # FROM scratch: the binary, nothing else
    assert all(m.uid == 0 and m.gid == 0 and m.mtime == 0 for m in lt.getmembers())
    lt.extractall(root)
assert open(os.path.join(root, "metronome"), "rb").read() == open(binary, "rb").read()
PY
root="$E2E_TMP/rootfs"
if [ "$(id -u)" != 0 ]; then
    echo "not root: running the unpacked binary without a chroot"
    v=$("$root/metronome" --version) || fail "--version"
    [[ "$v" == "metronome "* ]] || fail "--version: $v"
    exit 0
fi
# (captured first: grep -q stops reading at the first line, and the binary's second line
# would then die of SIGPIPE, which pipefail counts as a failure)
v=$(chroot "$root" /metronome --version) || fail "--version in the chroot"
[[ "$v" == "metronome "* ]] || fail "--version in the chroot: $v"
chroot "$root" /metronome pack -m m -o /tmp/t.jsonl.zst --request-count 20 --isl 4 --osl 2 \
    2>/dev/null || fail "pack in the chroot"
port=$(free_port)
chroot "$root" /metronome mock --port "$port" --ttft 1ms --itl 1ms >/dev/null 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
wait_port "$port"
chroot "$root" /metronome replay /tmp/t.jsonl.zst --url "127.0.0.1:$port" -o /tmp/run -q ||
    fail "replay in the chroot"
chroot "$root" /metronome report /tmp/run -q 2>/dev/null || fail "report in the chroot"
[ -s "$root/tmp/run/profile_export_aiperf.json" ] || fail "no report"
