"""tokenizers' side of tests/tok/bench_regex.sh: the Split pre-tokenizer (isolated) on each
line of CORPUS, single-threaded, for the GPT-2, cl100k and o200k patterns. Process CPU
time, as the C side uses thread CPU time (the machine may be shared).

Two figures per pattern: pre_tokenize_str per line (a Python call and result list per
line: an upper bound on tokenizers' cost), and encode_batch of a WordLevel tokenizer with
only that pre-tokenizer under RAYON_NUM_THREADS=1 (one Python call for all lines; the Rust
side also builds an Encoding per line).
"""
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
from tokenizers import Regex, Tokenizer, models, pre_tokenizers  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
PATS = {
    "gpt2": r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    "cl100k": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "o200k": r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
}
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
nbytes = sum(len(x.encode()) + 1 for x in lines) - 1
for name, p in PATS.items():
    sp = pre_tokenizers.Split(Regex(p), behavior="isolated")
    best = 1e9
    for _ in range(3):
        t0 = time.process_time()
        for x in lines:
            sp.pre_tokenize_str(x)
        best = min(best, time.process_time() - t0)
    tk = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tk.pre_tokenizer = sp
    best2 = 1e9
    for _ in range(3):
        t0 = time.process_time()
        tk.encode_batch(lines, add_special_tokens=False)
        best2 = min(best2, time.process_time() - t0)
    print("tokenizers %s: pre_tokenize_str %.1f MB/s, encode_batch(1 thread) %.1f MB/s (%d bytes)"
          % (name, nbytes / best / 1e6, nbytes / best2 / 1e6, nbytes))
