#!/usr/bin/env python3
"""Renders the Kubernetes manifests of a sharded replay (docs/scale.md) to stdout:

  * an Indexed Job (completionMode: Indexed) of N pods, pod I running
    `metronome replay TRACE --shard $(JOB_COMPLETION_INDEX)/N --start-at T`, the trace read
    from a volume (PVC, read-only), the run dirs written to a results volume (PVC,
    ReadWriteMany) under RUN/shard-I; required pod anti-affinity on the node name, so no
    two shards share a node, and CPU/memory requests = limits (Guaranteed QoS: no
    neighbour's burst in the shards' timing);
  * a report Job: an init container waits until every shard's run.json says it ended (or
    the deadline after the start passes: a lost shard is then reported missing), then
    `metronome report RESULTS/RUN` writes the merged exports there.

  deploy/k8s/render.py --shards 4 --trace mooncake.jsonl.zst --url http://vllm:8000 \\
      [--image REF] [--name NAME] [--lead 300] [-- REPLAY ARGS...] | kubectl apply -f -

The start is now + --lead seconds (image pulls and scheduling must fit in it: a pod that
starts late fails, nothing sent, and the report names its shard missing). Apply the output
at once. No third-party module needed; the output is YAML (strings JSON-quoted)."""
import argparse
import json
import sys
import time

q = json.dumps  # a JSON string is a YAML scalar


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shards", type=int, required=True)
    p.add_argument("--trace", required=True, help="file name inside the traces volume")
    p.add_argument("--url", action="append", required=True)
    p.add_argument("--image", default="metronome:0.1.0",
                   help="the image scripts/build-image made, pushed to your registry")
    p.add_argument("--name", default="metronome")
    p.add_argument("--namespace", default=None)
    p.add_argument("--lead", type=int, default=300, help="seconds from now to the start")
    p.add_argument("--start-at", type=int, default=None, help="Unix seconds (instead of --lead)")
    p.add_argument("--traces-pvc", default="metronome-traces")
    p.add_argument("--results-pvc", default="metronome-results")
    p.add_argument("--cpu", default="2")
    p.add_argument("--memory", default="2Gi")
    p.add_argument("--report-deadline", type=int, default=3600,
                   help="seconds after the start the report waits for shards at most")
    p.add_argument("--wait-image", default="busybox:1.36",
                   help="image with a shell for the report's wait (the metronome image has none)")
    p.add_argument("replay_args", nargs="*")
    a = p.parse_args(argv)
    if not 1 <= a.shards <= 4096:
        p.error("--shards must be 1 to 4096")
    if not a.name.replace("-", "").isalnum() or a.name != a.name.lower():
        p.error("--name must be a lowercase DNS label")
    start = a.start_at if a.start_at is not None else int(time.time()) + a.lead
    run = "%s-%d" % (a.name, start)
    ns = "  namespace: %s\n" % q(a.namespace) if a.namespace else ""

    def labels(indent, role=None):
        pad = " " * indent
        return "".join("%s%s: %s\n" % (pad, k, q(v)) for k, v in
                       [("app.kubernetes.io/name", "metronome"), ("metronome/run", run)] +
                       ([("metronome/role", role)] if role else []))
    args = ["replay", "/traces/" + a.trace]
    for u in a.url:
        args += ["--url", u]
    args += ["--shard", "$(JOB_COMPLETION_INDEX)/%d" % a.shards, "--start-at", str(start),
             "-o", "/results/%s/shard-$(JOB_COMPLETION_INDEX)" % run, "-q"] + a.replay_args
    res = ("          resources:\n"
           "            requests: {cpu: %s, memory: %s}\n"
           "            limits: {cpu: %s, memory: %s}\n") % (q(a.cpu), q(a.memory), q(a.cpu),
                                                           q(a.memory))
    sec = ("      securityContext:\n"
           "        runAsNonRoot: true\n"
           "        runAsUser: 65532\n"
           "        runAsGroup: 65532\n"
           "        fsGroup: 65532\n")
    csec = ("          securityContext:\n"
            "            allowPrivilegeEscalation: false\n"
            "            readOnlyRootFilesystem: true\n"
            "            capabilities: {drop: [\"ALL\"]}\n")
    vols = ("      volumes:\n"
            "        - name: traces\n"
            "          persistentVolumeClaim: {claimName: %s, readOnly: true}\n"
            "        - name: results\n"
            "          persistentVolumeClaim: {claimName: %s}\n") % (q(a.traces_pvc),
                                                                  q(a.results_pvc))
    out = []
    out.append(
        "# Sharded replay %(run)s: %(n)d shards from %(start)d (Unix seconds).\n"
        "apiVersion: batch/v1\n"
        "kind: Job\n"
        "metadata:\n"
        "  name: %(runq)s\n%(ns)s"
        "  labels:\n%(labels)s"
        "spec:\n"
        "  completionMode: Indexed\n"
        "  completions: %(n)d\n"
        "  parallelism: %(n)d\n"
        "  backoffLimit: 0\n"
        "  template:\n"
        "    metadata:\n"
        "      labels:\n%(labels2)s"
        "    spec:\n"
        "      restartPolicy: Never\n"
        "      affinity:\n"
        "        podAntiAffinity:\n"
        "          requiredDuringSchedulingIgnoredDuringExecution:\n"
        "            - topologyKey: kubernetes.io/hostname\n"
        "              labelSelector:\n"
        "                matchLabels: {metronome/run: %(runq)s, metronome/role: shard}\n"
        "%(sec)s"
        "      containers:\n"
        "        - name: shard\n"
        "          image: %(image)s\n"
        "          args: %(args)s\n"
        "%(res)s%(csec)s"
        "          volumeMounts:\n"
        "            - {name: traces, mountPath: /traces, readOnly: true}\n"
        "            - {name: results, mountPath: /results}\n"
        "%(vols)s" % dict(run=run, runq=q(run), n=a.shards, start=start, ns=ns, labels=labels(4),
                          labels2=labels(8, "shard"),
                          sec=sec, image=q(a.image), args=q(args), res=res, csec=csec,
                          vols=vols))
    deadline = start + a.report_deadline
    wait = ("n=0; until [ \"$n\" -ge %d ] || [ \"$(date +%%s)\" -ge %d ]; do sleep 5; "
            "n=$(grep -l '\"ended_real_ns\":[0-9]' /results/%s/shard-*/run.json 2>/dev/null "
            "| wc -l); done") % (a.shards, deadline, run)
    out.append(
        "---\n"
        "# The merged report of %(run)s, once every shard ended (or at %(deadline)d).\n"
        "apiVersion: batch/v1\n"
        "kind: Job\n"
        "metadata:\n"
        "  name: %(repq)s\n%(ns)s"
        "  labels:\n%(labels)s"
        "spec:\n"
        "  backoffLimit: 2\n"
        "  template:\n"
        "    metadata:\n"
        "      labels:\n%(labels2)s"
        "    spec:\n"
        "      restartPolicy: Never\n"
        "%(sec)s"
        "      initContainers:\n"
        "        - name: wait-for-shards\n"
        "          image: %(wimage)s\n"
        "          command: [\"sh\", \"-c\", %(wait)s]\n"
        "%(csec)s"
        "          volumeMounts:\n"
        "            - {name: results, mountPath: /results, readOnly: true}\n"
        "      containers:\n"
        "        - name: report\n"
        "          image: %(image)s\n"
        "          args: %(args)s\n"
        "          resources:\n"
        "            requests: {cpu: \"1\", memory: 1Gi}\n"
        "            limits: {cpu: \"1\", memory: 2Gi}\n"
        "%(csec)s"
        "          volumeMounts:\n"
        "            - {name: results, mountPath: /results}\n"
        "      volumes:\n"
        "        - name: results\n"
        "          persistentVolumeClaim: {claimName: %(rpvc)s}\n"
        % dict(run=run, deadline=deadline, repq=q(run + "-report"), ns=ns, labels=labels(4),
               labels2=labels(8, "report"),
               sec=sec, wimage=q(a.wait_image), wait=q(wait), csec=csec, image=q(a.image),
               args=q(["report", "/results/" + run]), rpvc=q(a.results_pvc)))
    sys.stdout.write("".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
