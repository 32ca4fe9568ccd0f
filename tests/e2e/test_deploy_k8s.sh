# deploy/k8s/render.py: the manifests of a 4-shard (and a 7-shard) run pass strict schema
# validation offline (PyPI kubernetes-validate, Kubernetes 1.30 schemas, in an ignored venv
# under .cache/) and Debian's kubectl's `apply --dry-run=client --validate=false` against a stand-in
# discovery server (kubectl needs an API server even for client dry runs), carry the Indexed
# Job's shape (completionMode, JOB_COMPLETION_INDEX in --shard, volumes, anti-affinity,
# resources), and the commands they hold work: each pod's args (the index substituted as
# Kubernetes does, /traces and /results mapped to local dirs) run against a mock, the report
# Job's wait script ends, and its report merges the four shards.
. "$E2E_ROOT/tests/e2e/lib.sh"
venv="$E2E_ROOT/.cache/k8s-venv"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    python3 -m venv "$venv" && "$venv/bin/pip" install -q kubernetes-validate==1.37.0 ||
        fail "cannot install kubernetes-validate into $venv"
fi
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 1ms --itl 1ms >/dev/null 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null || true' EXIT
wait_port "$port"
mkdir -p "$E2E_TMP/traces" "$E2E_TMP/results"
"$METRONOME" pack -m m -o "$E2E_TMP/traces/t.jsonl.zst" --request-count 120 --isl 4 --osl 2 \
    2>/dev/null
for n in 7 4; do
    "$E2E_ROOT/deploy/k8s/render.py" --shards "$n" --trace t.jsonl.zst \
        --url "http://127.0.0.1:$port" --lead 3 --name mt --cpu 500m --memory 256Mi \
        -- --request-rate 200 --arrival-pattern constant >"$E2E_TMP/k8s-$n.yaml"
    "$venv/bin/kubernetes-validate" --strict --quiet -k 1.30.0 "$E2E_TMP/k8s-$n.yaml" ||
        fail "$n shards: manifests do not validate"
done
# kubectl itself, offline: `apply --dry-run=client --validate=false` decodes every object and
# maps its kind through discovery, answered by a stand-in server (tests/e2e/k8s_discovery.py);
# kubectl's schema validation would need the server's OpenAPI documents, hence the above.
# Debian's kubectl (kubernetes-client, 1.20): installed when no kubectl is; when the machine's
# kubectl is another one (a cloud SDK's owns /usr/bin/kubectl), Debian's is unpacked beside.
if dpkg-query -W -f='${Status}' kubernetes-client 2>/dev/null | grep -q "install ok installed" ||
    ! command -v kubectl >/dev/null; then
    "$E2E_ROOT/scripts/ensure-deb" kubernetes-client >/dev/null
    kubectl=/usr/bin/kubectl
else
    "$E2E_ROOT/scripts/ensure-deb" --extract "$E2E_ROOT/.cache/deb-kubernetes-client" \
        kubernetes-client 2>/dev/null || fail "cannot unpack Debian's kubernetes-client"
    kubectl=$E2E_ROOT/.cache/deb-kubernetes-client/usr/bin/kubectl
fi
"$kubectl" version --client 2>&1 | grep -q 'GitVersion:"v1.20' || fail "not Debian's kubectl: $("$kubectl" version --client 2>&1)"
python3 "$E2E_ROOT/tests/e2e/k8s_discovery.py" >"$E2E_TMP/kport" &
kd=$!
trap 'kill $mock $kd 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$E2E_TMP/kport" ] && break; sleep 0.1; done
KUBECONFIG=/dev/null "$kubectl" --server "http://127.0.0.1:$(cat "$E2E_TMP/kport")" apply \
    --dry-run=client --validate=false -f "$E2E_TMP/k8s-4.yaml" >"$E2E_TMP/kubectl.out" 2>&1 ||
    fail "kubectl: $(cat "$E2E_TMP/kubectl.out")"
[ "$(grep -c "created (dry run)" "$E2E_TMP/kubectl.out")" = 2 ] ||
    fail "kubectl: $(cat "$E2E_TMP/kubectl.out")"
# ... and it does refuse a broken manifest (the check can fail)
sed 's/^kind: Job/kind: Jobb/' "$E2E_TMP/k8s-4.yaml" >"$E2E_TMP/bad.yaml"
if KUBECONFIG=/dev/null "$kubectl" --server "http://127.0.0.1:$(cat "$E2E_TMP/kport")" apply \
    --dry-run=client --validate=false -f "$E2E_TMP/bad.yaml" >/dev/null 2>&1; then
    fail "kubectl accepted kind Jobb"
fi
# Bad shard counts are refused by the renderer.
for bad in 0 4097 x; do
    if "$E2E_ROOT/deploy/k8s/render.py" --shards "$bad" --trace t --url u >/dev/null 2>&1; then
        fail "render.py accepted --shards $bad"
    fi
done
"$venv/bin/python" - "$E2E_TMP/k8s-4.yaml" "$E2E_TMP" "$METRONOME" --shards 4 --trace t.jsonl.zst \
    --url "http://127.0.0.1:$port" --lead 2 --name mt -- --request-rate 200 \
    --arrival-pattern constant <<'PY' || fail "k8s shape/run"
import os, re, subprocess, sys, yaml
path, tmp, binary = sys.argv[1:4]
docs = list(yaml.safe_load_all(open(path)))
job, rep = docs
s = job["spec"]
assert s["completionMode"] == "Indexed" and s["completions"] == 4 and s["parallelism"] == 4, s
pod = s["template"]["spec"]
c = pod["containers"][0]
args = c["args"]
assert args[args.index("--shard") + 1] == "$(JOB_COMPLETION_INDEX)/4", args
assert c["resources"]["requests"] == c["resources"]["limits"] == {"cpu": "500m", "memory": "256Mi"}
aa = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
assert aa["topologyKey"] == "kubernetes.io/hostname", aa
assert aa["labelSelector"]["matchLabels"].items() <= s["template"]["metadata"]["labels"].items()
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
assert mounts["/traces"]["readOnly"] and "/results" in mounts, mounts
claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
assert claims == {"traces": "metronome-traces", "results": "metronome-results"}, claims

def local(a, i=None):
    a = a.replace("/traces/", tmp + "/traces/").replace("/results/", tmp + "/results/")
    return a.replace("$(JOB_COMPLETION_INDEX)", str(i)) if i is not None else a
# The four pods, as the Job controller would start them (the image's entrypoint is the binary),
# from a rendering made now with a 2 s lead (validation above may take longer than a lead).
again = subprocess.run([os.environ["E2E_ROOT"] + "/deploy/k8s/render.py"] +
                       sys.argv[4:], capture_output=True, text=True, check=True).stdout
job, rep = list(yaml.safe_load_all(again))
args = job["spec"]["template"]["spec"]["containers"][0]["args"]
procs = [subprocess.Popen([binary] + [local(a, i) for a in args]) for i in range(4)]
assert all(p.wait(60) == 0 for p in procs)
# The report Job: its init container's wait ends, then its report merges the shards.
rp = rep["spec"]["template"]["spec"]
wait = rp["initContainers"][0]["command"]
subprocess.run([local(x) for x in wait], check=True, timeout=30)
subprocess.run([binary] + [local(a) for a in rp["containers"][0]["args"]] + ["-q"], check=True)
import json, glob
out = glob.glob(tmp + "/results/mt-*/profile_export_aiperf.json")
assert len(out) == 1, out
j = json.load(open(out[0]))
assert j["request_count"]["avg"] == 120 and j["metronome"]["shard_set"]["count"] == 4
assert not j["metronome"]["shard_set"]["partial"]
PY
