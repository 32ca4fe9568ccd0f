"""AIPerf beside us, on prompt lengths: AIPerf 0.13 and `metronome profile` run the same
workload with the same --tokenizer and --isl/--osl against the same server, through the
logging proxy (proxy.py); every prompt each tool sent over the wire is then re-encoded
with the PyPI `tokenizers` package (add_special_tokens=False, as both tools count) and
compared with its target.

  python tokenizer_isl.py --bin METRONOME --aiperf-venv DIR --hf-cache DIR --tokenizer ORG/NAME
                          --upstream-port PORT --model NAME --out DIR [--isl N --osl N --count N]

Two workloads: synthetic prompts of --isl tokens, and a mooncake trace with hash_ids
(shared and partial blocks of --isl-block-size 64) whose prompts should be input_length
tokens. Prints one line per tool and workload (exact / total, tokens minus target) and
exits 0 when every metronome prompt is exact (AIPerf's figures are reported, not
required). Needs the
tokenizer as a Hugging Face cache snapshot (AIPerf resolves it only there offline).
Run by tests/real/checks.py (group "tokenizer") against vLLM; runs against `metronome
mock` as well.
"""
import argparse
import atexit
import glob
import json
import os
import socket
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
for a in ("bin", "aiperf-venv", "hf-cache", "tokenizer", "upstream-port", "model", "out"):
    ap.add_argument("--" + a, required=True)
ap.add_argument("--isl", type=int, default=128)
ap.add_argument("--osl", type=int, default=16)
ap.add_argument("--count", type=int, default=40)
ap.add_argument("--timeout", type=int, default=900)
A = ap.parse_args()

from tokenizers import Tokenizer  # noqa: E402  (the aiperf venv has it)

org, name = A.tokenizer.split("/")
repo = os.path.join(A.hf_cache, f"models--{org}--{name}")
rev = open(os.path.join(repo, "refs", "main")).read().strip()
tj = os.path.join(repo, "snapshots", rev, "tokenizer.json")
tok = Tokenizer.from_file(tj)

env = dict(os.environ, HF_HUB_CACHE=A.hf_cache, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
s_ = socket.socket()
s_.bind(("127.0.0.1", 0))
pport = s_.getsockname()[1]
s_.close()
plog = os.path.join(A.out, "tokenizer-proxy.log")
open(plog, "w").close()
proxy = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                       "proxy.py"), str(pport),
                          str(A.upstream_port), plog])
atexit.register(proxy.terminate)  # stopped on every way out
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", pport), timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
URL = f"http://127.0.0.1:{pport}"
common = ["--model", A.model, "--url", URL, "--endpoint-type", "chat", "--streaming",
          "--request-count", str(A.count), "--concurrency", "2", "--isl", str(A.isl),
          "--osl", str(A.osl), "--random-seed", "1", "--tokenizer", A.tokenizer]


def prompts(start):
    """The user-message texts of every POST the proxy logged from byte `start` on, in the
    order they were sent (the proxy logs a request once relayed: wait briefly for all)."""
    time.sleep(1.0)
    out = []
    with open(plog) as f:
        f.seek(start)
        for line in f:
            j = json.loads(line)
            if j["method"] != "POST" or not isinstance(j["body"], dict):
                continue
            text = []
            for m in j["body"].get("messages", []):
                c = m.get("content")
                if isinstance(c, list):
                    c = "".join(x.get("text", "") for x in c if x.get("type") == "text")
                if m.get("role", "user") == "user" and isinstance(c, str):
                    text.append(c)
            out.append("".join(text))
    return out


# A mooncake trace with hash_ids (shared prefix blocks, partial last blocks), the
# workload where AIPerf's prompts are not re-checked: each line's prompt should re-encode
# to its input_length.
mc = os.path.join(A.out, "tokenizer-mooncake.jsonl")
lengths = []
with open(mc, "w") as f:
    nxt = 100
    for i in range(16):
        nb = 3 + i % 4  # blocks 1 and 2 shared and always whole; the last one partial
        ln = nb * 64 - (i * 7) % 60
        ids = [1, 2] + list(range(nxt, nxt + nb - 2))
        nxt += nb - 2
        lengths.append(ln)
        f.write(json.dumps({"timestamp": i * 50, "input_length": ln, "output_length": A.osl,
                            "hash_ids": ids}) + "\n")
mooncake = ["--model", A.model, "--url", URL, "--endpoint-type", "chat", "--streaming",
            "--input-file", mc, "--custom-dataset-type", "mooncake_trace",
            "--isl-block-size", "64", "--random-seed", "1", "--tokenizer", A.tokenizer]
workloads = [("synthetic", common, None), ("mooncake", mooncake, lengths)]

ok = True
results = {}
for wl, args, targets in workloads:
    for who in ("aiperf 0.13", "metronome"):
        cmd = ([os.path.join(A.aiperf_venv, "bin", "aiperf"), "profile", *args, "--ui", "none"]
               if who.startswith("aiperf") else [A.bin, "profile", *args, "--ui-type", "none"])
        tag = f"tokenizer-{wl}-{who.split()[0]}"
        d = os.path.join(A.out, tag)
        subprocess.run(["rm", "-rf", d])
        start = os.path.getsize(plog)
        try:
            p = subprocess.run(cmd + ["--artifact-dir", d], capture_output=True, text=True,
                               timeout=A.timeout, env=env)
            rc, log = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            rc, log = "timeout", ""
        with open(os.path.join(A.out, tag + ".log"), "w") as f:
            f.write(f"# {' '.join(cmd)}\n# exit {rc}\n{log}")
        texts = prompts(start) if rc == 0 else None
        if not texts:
            print(f"FAIL {who} ({wl}): exit {rc}, no prompts went through the proxy (see {f.name})")
            ok = False
            continue
        n = [len(tok.encode(t, add_special_tokens=False).ids) for t in texts]
        want_ = targets if targets else [A.isl] * len(n)
        if len(want_) != len(n):
            print(f"FAIL {who} ({wl}): {len(n)} prompts for {len(want_)} requests")
            ok = False
            continue
        if targets:  # concurrent sends need not keep the file's order: compare sorted
            n, want_ = sorted(n), sorted(want_)
        off = [x - w for x, w in zip(n, want_)]
        exact = sum(o == 0 for o in off)
        results[f"{wl} {who}"] = dict(exact=exact, total=len(n), mean_off=sum(off) / len(off),
                                      min_off=min(off), max_off=max(off))
        print(f"{wl:9s} {who:12s}: {exact}/{len(n)} prompts exact, tokens minus target: "
              f"mean {sum(off) / len(off):+.2f}, min {min(off):+d}, max {max(off):+d}")
        if who == "metronome":
            ok = ok and exact == len(n)
            cons = os.path.join(d, "profile_export_console.txt")
            if not os.path.exists(cons) or "from tokenizer " + A.tokenizer not in open(cons).read():
                print(f"FAIL metronome ({wl}): the report did not count output tokens with the "
                      "tokenizer")
                ok = False
proxy.terminate()
proxy.wait()
json.dump(results, open(os.path.join(A.out, "tokenizer-isl.json"), "w"), indent=1)
sys.exit(0 if ok else 1)
