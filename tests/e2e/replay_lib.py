"""Helpers for the replay e2e cases: a mock on a free port, pack, replay, read records."""
import json
import os
import signal
import subprocess
import sys
import time

BIN = os.environ["METRONOME"]
TMP = os.environ["E2E_TMP"]


class Mock:
    """`metronome mock --port 0` with the given flags; .port, .timing (parsed log)."""

    def __init__(self, *args, log=True):
        self.log = os.path.join(TMP, "timing-%d.jsonl" % time.monotonic_ns()) if log else None
        cmd = [BIN, "mock", "--port", "0", *args]
        if self.log:
            cmd += ["--timing-log", self.log]
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, (line, self.p.stderr.read())
        self.port = int(line.split(":")[-1].split()[0])
        self.url = "127.0.0.1:%d" % self.port

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait(10)

    def timing(self):
        self.stop()
        with open(self.log) as f:
            return [json.loads(l) for l in f if l.strip()]

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def pack(name, *args):
    out = os.path.join(TMP, name)
    subprocess.run([BIN, "pack", "-m", "m", "-o", out, *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def replay(trace, url, *args, expect=0, name=None):
    """Runs replay; returns (records sorted by index, run.json, stderr)."""
    out = os.path.join(TMP, name or "run-%d" % time.monotonic_ns())
    p = subprocess.run([BIN, "replay", trace, "--url", url, "-o", out, "-q", "--no-server-metrics", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != expect:
        sys.exit("replay exited %d, wanted %d: %s" % (p.returncode, expect, p.stderr))
    if expect != 0 and not os.path.exists(os.path.join(out, "run.json")):
        return [], None, p.stderr
    return records(out), json.load(open(os.path.join(out, "run.json"))), p.stderr


def records(run_dir):
    z = subprocess.run(["zstd", "-dc", os.path.join(run_dir, "records.jsonl.zst")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    recs = [json.loads(l) for l in z.stdout.decode().splitlines() if l.strip()]
    return sorted(recs, key=lambda r: (r["phase"] != "warmup", r["i"]))


def check(cond, *msg):
    if not cond:
        sys.exit("FAIL: " + " ".join(str(m) for m in msg))


def late_sends(recs, over_ns=20e6):
    """Sends that went out over 20 ms after their intended time: on this shared 2-core VM
    the sign that the host stalled the run (every process at once), which a timing check
    must tell from a failure of its own before it fails."""
    return sum(1 for r in recs if r["t_start"] - r["t_intended"] > over_ns)


def err(r):
    return (r.get("error") or {}).get("type")


def word_tokenizer(path, words):
    """A word-level HuggingFace tokenizer directory at path knowing words (AIPerf needs a
    tokenizer to run; its "builtin" one downloads its encoding). Returns path."""
    os.makedirs(path, exist_ok=True)
    vocab = {w: i for i, w in enumerate(["[UNK]"] + sorted(set(words) - {"[UNK]"}))}
    json.dump({"version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
               "normalizer": None, "pre_tokenizer": {"type": "Whitespace"},
               "post_processor": None, "decoder": None,
               "model": {"type": "WordLevel", "unk_token": "[UNK]", "vocab": vocab}},
              open(os.path.join(path, "tokenizer.json"), "w"))
    json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]"},
              open(os.path.join(path, "tokenizer_config.json"), "w"))
    return path
