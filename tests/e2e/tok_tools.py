"""Helpers for the --tokenizer tests, run with the PyPI `tokenizers` package (the
reference metronome's counts are checked against).

  tok_tools.py train OUT.json CORPUS [bytelevel|metaspace]  train a small tokenizer.json
  tok_tools.py counts TOKENIZER.json < bodies.jsonl          one line per body: the token
        count of each prompt text it holds (chat message contents, prompt, input),
        space-separated, encoded alone with add_special_tokens=False (as AIPerf counts)
  tok_tools.py blocks TOKENIZER.json < trace.jsonl           "id tokens count" per block line
        whose text is all literal
"""
import json
import sys

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers


def train(out, corpus, kind):
    lines = [l.strip() for l in open(corpus, encoding="utf-8") if l.strip()]
    if kind == "metaspace":
        tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first")
        tok.decoder = decoders.Sequence([decoders.Metaspace(replacement="\u2581", prepend_scheme="first"),
                                         decoders.ByteFallback(), decoders.Fuse()])
        special = ["<unk>", "<s>", "</s>"]
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        special = ["<|endoftext|>"]
    trainer = trainers.BpeTrainer(vocab_size=3000, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
                                  if kind != "metaspace" else [])
    tok.train_from_iterator(lines[:40000], trainer=trainer)
    tok.save(out)


def texts(body):
    """Every prompt string a body holds."""
    out = []
    for m in body.get("messages", []):
        c = m.get("content")
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, list):
            out.extend(p["text"] for p in c if p.get("type") == "text")
    for k in ("prompt", "input"):
        v = body.get(k)
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, list):
            out.extend(x for x in v if isinstance(x, str))
    return out


def main():
    cmd = sys.argv[1]
    if cmd == "train":
        train(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "bytelevel")
        return
    tok = Tokenizer.from_file(sys.argv[2])
    for line in sys.stdin:
        j = json.loads(line)
        if cmd == "counts":
            print(" ".join(str(len(tok.encode(t, add_special_tokens=False).ids)) for t in texts(j)))
        elif cmd == "blocks" and "block" in j and all(isinstance(p, str) for p in j["text"]):
            text = "".join(j["text"])
            print(j["block"], j["tokens"], len(tok.encode(text, add_special_tokens=False).ids))


if __name__ == "__main__":
    main()
